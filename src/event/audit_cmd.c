/*
 * audit_cmd.c: `stavily audit verify FILE [--head SEQ:HASH] [--json]`.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "event/audit.h"

static const char usage[] =
    "usage: stavily audit verify FILE [--head SEQ:SHA256] [--json]\n"
    "\n"
    "Checks the hash chain of a tamper-evident audit log: every record's \"seq\"\n"
    "follows the previous one and its \"prev\" is the SHA-256 of the previous line.\n"
    "Edited, deleted, inserted, reordered and cut records are detected.  Removing\n"
    "records from the END of the log can only be detected against an anchor kept\n"
    "elsewhere: pass the head printed by an earlier run with --head.\n"
    "\n"
    "Exit status: 0 the chain holds; 1 it does not (the first broken record is\n"
    "named; a torn last line after a crash is reported as such); 64 usage.\n";

static const char *const status_names[] = {
	[AUDIT_OK] = "ok", [AUDIT_BROKEN] = "broken", [AUDIT_MALFORMED] = "malformed",
	[AUDIT_TORN_TAIL] = "torn_tail", [AUDIT_HEAD_MISMATCH] = "head_mismatch", [AUDIT_IO] = "io_error",
};

int
audit_main(int argc, char **argv)
{
	struct audit_verify_result res;
	const char *file = NULL, *head = NULL;
	uint64_t head_seq = 0;
	char head_hash[AUDIT_HASH_HEX] = "";
	int json = 0, i;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2 || strcmp(argv[1], "verify") != 0)
		return cli_usage_error(usage, argc < 2 ? NULL : "unknown audit command '%s'", argv[1]);
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--head") == 0 && i + 1 < argc)
			head = argv[++i];
		else if (argv[i][0] == '-')
			return cli_usage_error(usage, "unknown option '%s'", argv[i]);
		else if (file == NULL)
			file = argv[i];
		else
			return cli_usage_error(usage, "only one FILE");
	}
	if (file == NULL)
		return cli_usage_error(usage, "FILE missing");
	if (head != NULL) {
		char *end;
		const char *colon = strchr(head, ':');
		errno = 0;
		head_seq = strtoull(head, &end, 10);
		if (colon == NULL || end != colon || errno != 0 || head_seq == 0 ||
		    strlen(colon + 1) != AUDIT_HASH_HEX - 1)
			return cli_usage_error(usage, "--head must be SEQ:SHA256 (64 hex digits)");
		memcpy(head_hash, colon + 1, AUDIT_HASH_HEX);
	}
	audit_verify_file(file, head_seq, head_seq ? head_hash : NULL, &res);
	if (json) {
		char hs[AUDIT_HASH_HEX + 24];
		char *out;
		cJSON *o = cJSON_CreateObject();
		snprintf(hs, sizeof(hs), "%" PRIu64 ":%s", res.records, res.head);
		cJSON_AddStringToObject(o, "file", file);
		cJSON_AddStringToObject(o, "status", status_names[res.status]);
		cJSON_AddNumberToObject(o, "records", (double)res.records);
		cJSON_AddNumberToObject(o, "line", (double)res.line);
		cJSON_AddStringToObject(o, "head", hs);
		cJSON_AddStringToObject(o, "message", res.msg);
		out = cJSON_PrintUnformatted(o);
		if (out != NULL)
			puts(out);
		free(out);
		cJSON_Delete(o);
	} else if (res.status == AUDIT_OK) {
		printf("%s: %s\nhead %" PRIu64 ":%s\n", file, res.msg, res.records, res.head);
	} else {
		fprintf(stderr, "%s: %s\n", file, res.msg);
	}
	return res.status == AUDIT_OK ? EXIT_OK : EXIT_FAIL;
}
