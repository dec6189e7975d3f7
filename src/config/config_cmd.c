/*
 * config_cmd.c: `stavily config check|show|schema`, the operator's view of
 * the schema: check reports every error as FILE:LINE: message (exit 78), show
 * prints the effective configuration with defaults and secrets redacted,
 * schema prints the reference generated from the schema table (the key
 * tables of docs/config.md, `make docs`).
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cli.h"
#include "config/config.h"
#include "config/schema_doc.h"

/* Overrides accepted on one command line. */
#define CONFIG_CMD_MAX_SETS 64

static const char usage[] =
    "usage: stavily config check [--set KEY=VALUE]... FILE\n"
    "       stavily config show [--set KEY=VALUE]... [FILE]\n"
    "       stavily config schema [--markdown | --json]\n"
    "\n"
    "  check   validate FILE (.yaml, .yml or .ini); prints \"FILE: ok\" and exits 0,\n"
    "          or prints every error as FILE:LINE: message and exits 78\n"
    "  show    print the effective configuration as JSON (defaults filled in,\n"
    "          secrets redacted); without FILE, the defaults\n"
    "  --set KEY=VALUE   override a dotted key after the file (lists: a,b,c);\n"
    "          its errors are reported as \"--set: message\"\n"
    "  schema  print the reference of every section and key (type, default,\n"
    "          allowed values, refused insecure values, meaning), generated\n"
    "          from the schema: --markdown (default) as in docs/config.md,\n"
    "          --json for programs\n"
    "See docs/config.md for every key.\n";

/* `config schema [--markdown | --json]` */
static int
schema_cmd(int argc, char **argv)
{
	bool json = false;
	int i, r;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--markdown") == 0)
			json = false;
		else
			return cli_usage_error(usage, "config schema: unknown argument '%s'", argv[i]);
	}
	r = json ? schema_doc_json(stdout) : schema_doc_markdown(stdout);
	if (r < 0) {
		cli_error("config schema: %s", r == -ENOMEM ? "out of memory" : "cannot write output");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int
config_main(int argc, char **argv)
{
	const char *sets[CONFIG_CMD_MAX_SETS];
	const char *file = NULL, *cmd;
	struct config_errors errs = { 0 };
	struct config *cfg = NULL;
	size_t n_sets = 0;
	int i, rc;
	bool show;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(usage, "config: missing command");
	cmd = argv[1];
	if (strcmp(cmd, "schema") == 0)
		return schema_cmd(argc, argv);
	if (strcmp(cmd, "check") == 0)
		show = false;
	else if (strcmp(cmd, "show") == 0)
		show = true;
	else
		return cli_usage_error(usage, "config: unknown command '%s'", cmd);
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = NULL;

		if (strcmp(a, "--set") == 0) {
			if (i + 1 >= argc)
				return cli_usage_error(usage, "config: --set needs KEY=VALUE");
			v = argv[++i];
		} else if (strncmp(a, "--set=", 6) == 0) {
			v = a + 6;
		} else if (strcmp(a, "--") == 0 && i + 1 < argc && file == NULL && i + 2 == argc) {
			file = argv[++i];
			continue;
		} else if (a[0] == '-' && a[1] != '\0') {
			return cli_usage_error(usage, "config: unknown option '%s'", a);
		} else if (file == NULL) {
			file = a;
			continue;
		} else {
			return cli_usage_error(usage, "config: only one FILE");
		}
		if (n_sets == CONFIG_CMD_MAX_SETS)
			return cli_usage_error(usage, "config: at most %d --set", CONFIG_CMD_MAX_SETS);
		sets[n_sets++] = v;
	}
	if (file == NULL && !show)
		return cli_usage_error(usage, "config check: missing FILE");

	if (config_load(file, sets, n_sets, &cfg, &errs) < 0) {
		config_errors_print(&errs, stderr);
		config_errors_free(&errs);
		return EXIT_CONFIG;
	}
	rc = EXIT_OK;
	if (show) {
		cJSON *j = config_to_json(cfg);
		char *text = j ? cJSON_Print(j) : NULL;

		if (text == NULL) {
			cli_error("config show: out of memory");
			rc = EXIT_FAIL;
		} else if (printf("%s\n", text) < 0 || fflush(stdout) != 0) {
			cli_error("config show: cannot write output");
			rc = EXIT_FAIL;
		}
		free(text);
		cJSON_Delete(j);
	} else {
		printf("%s: ok\n", file);
	}
	config_free(cfg);
	return rc;
}
