/*
 * ctl_cmd.c: `stavily ctl`, the operator's client of the admin socket
 * (HTTP/1.1 + JSON over a unix socket; see docs/protocol.md).  Tables for
 * people by default, the server's JSON with --json.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/cli.h"
#include "base/timefmt.h"
#include "config/config.h"
#include "config/units.h"
#include "http/message.h"

#define CTL_TIMEOUT_MS    30000
#define CTL_MAX_RESPONSE  (8u * 1024 * 1024)
#define CTL_MAX_REQUEST   (64u * 1024)

static const char usage[] =
    "usage: stavily ctl [-c orchestrator.yaml | -S SOCKET] [--json] COMMAND\n"
    "\n"
    "commands:\n"
    "  tenant add NAME\n"
    "  tenant list\n"
    "  token create --tenant T [--ttl DURATION] [--uses N]   (default 24h, 1 use;\n"
    "                                        the token is shown once)\n"
    "  token list\n"
    "  token revoke ID\n"
    "  tenant purge NAME                     (erases ALL data of the tenant)\n"
    "  agent list\n"
    "  agent show|revoke|quarantine|release|rotate --tenant T ID   (or T/ID)\n"
    "  job submit --agent T/ID --plugin NAME [--args JSON] [--timeout D] [--wait]\n"
    "             [--sha256 HEX] [--policy KEY=VALUE]...   (pin the plugin's digest;\n"
    "                                        sandbox limits the job asks for: the agent\n"
    "                                        refuses any that loosen its local policy)\n"
    "  job get ID\n"
    "  job list [--tenant T] [--agent ID]\n"
    "  events tail|query [--tenant T] [--agent ID] [--event NAME] [--since D|UNIX]\n"
    "                    [--limit N]        (tail: the last N, default 20)\n"
    "\n"
    "The admin socket is orchestrator.admin_socket of the configuration (-c) or SOCKET\n"
    "(-S).  Tables by default; --json prints the orchestrator's JSON answer.\n";

struct ctl {
	const char *sock;
	int json;
};

static int connect_unix(const char *path)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	return fd;
}

/*
 * One request; on success *status and *body (parsed JSON object, caller
 * deletes).  Returns 0 or -errno / -EPROTO.
 */
static int call(const struct ctl *c, const char *method, const char *target, cJSON *req_body,
    int *status, cJSON **body)
{
	char *payload = req_body ? cJSON_PrintUnformatted(req_body) : NULL;
	char *req = malloc(CTL_MAX_REQUEST), *buf = NULL;
	struct http_field f[1] = { { "Content-Type", "application/json" } };
	struct http_response *resp = malloc(sizeof(*resp));
	struct http_limits lim;
	size_t used = 0, consumed = 0;
	long n;
	int fd = -1, r;
	uint64_t deadline = time_mono_ms() + CTL_TIMEOUT_MS;

	*body = NULL;
	if (!req || !resp || (req_body && !payload)) {
		r = -ENOMEM;
		goto out;
	}
	n = http_write_request(req, CTL_MAX_REQUEST, method, "localhost", target, f,
	    payload ? 1 : 0, payload, payload ? strlen(payload) : 0, 0);
	if (n < 0) {
		r = (int)n;
		goto out;
	}
	fd = connect_unix(c->sock);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	for (long off = 0; off < n;) {
		ssize_t w = send(fd, req + off, (size_t)(n - off), MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = -errno;
			goto out;
		}
		off += w;
	}
	buf = malloc(CTL_MAX_RESPONSE);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	lim.max_header_bytes = HTTP_MAX_HEADER_BYTES;
	lim.max_headers = HTTP_MAX_HEADERS;
	lim.max_body = CTL_MAX_RESPONSE - HTTP_MAX_HEADER_BYTES;
	for (;;) {
		r = http_parse_response(buf, used, &lim, 0, resp, &consumed, NULL);
		if (r == HTTP_OK)
			break;
		if (r != HTTP_INCOMPLETE || used == CTL_MAX_RESPONSE) {
			r = -EPROTO;
			goto out;
		}
		uint64_t now = time_mono_ms();
		if (now >= deadline) {
			r = -ETIMEDOUT;
			goto out;
		}
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		ssize_t got = recv(fd, buf + used, CTL_MAX_RESPONSE - used, 0);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0) {
			r = -EPROTO;
			goto out;
		}
		used += (size_t)got;
	}
	*status = resp->status;
	*body = resp->body_len ? cJSON_ParseWithLength((const char *)resp->body, resp->body_len) : NULL;
	if (resp->body_len && !cJSON_IsObject(*body)) {
		cJSON_Delete(*body);
		*body = NULL;
		r = -EPROTO;
		goto out;
	}
	r = 0;
out:
	if (fd >= 0)
		close(fd);
	cJSON_free(payload);
	free(req);
	free(buf);
	free(resp);
	return r;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void when(double t, char out[TIMEFMT_RFC3339_LEN])
{
	struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = 0 };

	if (timefmt_rfc3339_ms(&ts, out) != 0)
		snprintf(out, TIMEFMT_RFC3339_LEN, "-");
	else
		snprintf(out + 19, TIMEFMT_RFC3339_LEN - 19, "Z");   /* seconds are enough here */
}

/* Do the call; print errors; 0 on 2xx with *body set. */
static int run(const struct ctl *c, const char *method, const char *target, cJSON *rb,
    cJSON **body)
{
	int status = 0, r = call(c, method, target, rb, &status, body);

	cJSON_Delete(rb);
	if (r < 0) {
		cli_error("ctl: %s: %s", c->sock, strerror(-r));
		return EXIT_FAIL;
	}
	if (status < 200 || status > 299) {
		cli_error("ctl: %s (HTTP %d)", *body ? jstr(*body, "error") : "error", status);
		cJSON_Delete(*body);
		*body = NULL;
		return EXIT_FAIL;
	}
	if (c->json) {
		char *s = cJSON_PrintUnformatted(*body);
		if (s)
			printf("%s\n", s);
		cJSON_free(s);
	}
	return EXIT_OK;
}

/* A name that can be a path segment or query value as it is. */
static int name_ok(const char *s)
{
	return s && s[0] && strlen(s) <= 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == strlen(s);
}

/* "T/ID" or (tenant given separately) "ID" into tenant and id. */
static int split_agent(const char *tenant_opt, const char *arg, char *tenant, char *id)
{
	const char *slash = strchr(arg, '/');

	if (slash && !tenant_opt) {
		size_t l = (size_t)(slash - arg);
		if (l == 0 || l > 64)
			return -1;
		memcpy(tenant, arg, l);
		tenant[l] = '\0';
		snprintf(id, 65, "%s", slash + 1);
	} else if (!slash && tenant_opt && strlen(tenant_opt) <= 64 && strlen(arg) <= 64) {
		snprintf(tenant, 65, "%s", tenant_opt);
		snprintf(id, 65, "%s", arg);
	} else {
		return -1;
	}
	return name_ok(tenant) && name_ok(id) ? 0 : -1;
}

static int tenant_cmd(const struct ctl *c, int argc, char **argv)
{
	cJSON *body = NULL, *rb;
	int st;

	if (argc == 3 && strcmp(argv[1], "add") == 0) {
		rb = cJSON_CreateObject();
		cJSON_AddStringToObject(rb, "name", argv[2]);
		st = run(c, "POST", "/v1/admin/tenants", rb, &body);
		if (st == EXIT_OK && !c->json)
			printf("tenant %s created\n", jstr(body, "name"));
	} else if (argc == 2 && strcmp(argv[1], "list") == 0) {
		st = run(c, "GET", "/v1/admin/tenants", NULL, &body);
		if (st == EXIT_OK && !c->json) {
			const cJSON *e;
			char t[TIMEFMT_RFC3339_LEN];
			printf("%-24s %-20s %8s %8s\n", "TENANT", "CREATED", "TOKENS", "AGENTS");
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body, "tenants")) {
				when(jnum(e, "created"), t);
				printf("%-24s %-20s %8.0f %8.0f\n", jstr(e, "name"), t, jnum(e, "tokens"),
				    jnum(e, "agents"));
			}
		}
	} else if (argc == 3 && strcmp(argv[1], "purge") == 0) {
		char target[256];
		if (!name_ok(argv[2]))
			return cli_usage_error(usage, "ctl tenant purge: NAME is 1..64 of A-Z a-z 0-9 . _ -");
		snprintf(target, sizeof(target), "/v1/admin/tenants/%s/purge", argv[2]);
		st = run(c, "POST", target, NULL, &body);
		if (st == EXIT_OK && !c->json)
			printf("tenant %s purged\n", argv[2]);
	} else
		return cli_usage_error(usage, "ctl tenant: add NAME | list | purge NAME");
	cJSON_Delete(body);
	return st;
}

static int token_cmd(const struct ctl *c, int argc, char **argv)
{
	cJSON *body = NULL, *rb;
	char t[TIMEFMT_RFC3339_LEN];
	int st;

	if (argc >= 2 && strcmp(argv[1], "create") == 0) {
		const char *tenant = NULL;
		uint64_t ttl_ms = (uint64_t)86400 * 1000, uses = 1;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
				tenant = argv[++i];
			else if (strcmp(argv[i], "--ttl") == 0 && i + 1 < argc) {
				if (units_parse_duration(argv[++i], &ttl_ms) != 0 || ttl_ms < 1000)
					return cli_usage_error(usage, "ctl token create: --ttl is a duration such as 30m, 24h, 7d");
			} else if (strcmp(argv[i], "--uses") == 0 && i + 1 < argc) {
				if (units_parse_uint(argv[++i], &uses) != 0 || uses == 0 || uses > 1000000)
					return cli_usage_error(usage, "ctl token create: --uses is 1..1000000");
			} else
				return cli_usage_error(usage, "ctl token create: unexpected '%s'", argv[i]);
		}
		if (!tenant)
			return cli_usage_error(usage, "ctl token create: --tenant T required");
		rb = cJSON_CreateObject();
		cJSON_AddStringToObject(rb, "tenant", tenant);
		cJSON_AddNumberToObject(rb, "ttl", (double)(ttl_ms / 1000));
		cJSON_AddNumberToObject(rb, "uses", (double)uses);
		st = run(c, "POST", "/v1/admin/tokens", rb, &body);
		if (st == EXIT_OK && !c->json) {
			when(jnum(body, "expires"), t);
			printf("TOKEN    %s\nID       %s\nTENANT   %s\nEXPIRES  %s\nUSES     %.0f\n",
			    jstr(body, "token"), jstr(body, "id"), jstr(body, "tenant"), t,
			    jnum(body, "uses_left"));
			fprintf(stderr, "stavily: the token is shown only this once; the orchestrator keeps its hash\n");
		}
	} else if (argc == 2 && strcmp(argv[1], "list") == 0) {
		st = run(c, "GET", "/v1/admin/tokens", NULL, &body);
		if (st == EXIT_OK && !c->json) {
			const cJSON *e;
			printf("%-12s %-24s %-20s %9s %s\n", "ID", "TENANT", "EXPIRES", "USES_LEFT", "STATE");
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body, "tokens")) {
				when(jnum(e, "expires"), t);
				printf("%-12s %-24s %-20s %9.0f %s\n", jstr(e, "id"), jstr(e, "tenant"), t,
				    jnum(e, "uses_left"), jstr(e, "state"));
			}
		}
	} else if (argc == 3 && strcmp(argv[1], "revoke") == 0) {
		char target[256];
		if (strlen(argv[2]) == 0 || strlen(argv[2]) > 64 ||
		    strspn(argv[2], "0123456789abcdefABCDEF") != strlen(argv[2]))
			return cli_usage_error(usage, "ctl token revoke: ID is the hex id from 'token list'");
		snprintf(target, sizeof(target), "/v1/admin/tokens/%s/revoke", argv[2]);
		st = run(c, "POST", target, NULL, &body);
		if (st == EXIT_OK && !c->json)
			printf("token %s revoked\n", jstr(body, "id"));
	} else
		return cli_usage_error(usage, "ctl token: create --tenant T [--ttl D] [--uses N] | list | revoke ID");
	cJSON_Delete(body);
	return st;
}

static int agent_cmd(const struct ctl *c, int argc, char **argv)
{
	cJSON *body = NULL;
	char t[TIMEFMT_RFC3339_LEN];
	int st;

	if (argc >= 3 && (strcmp(argv[1], "revoke") == 0 || strcmp(argv[1], "quarantine") == 0 ||
	    strcmp(argv[1], "release") == 0 || strcmp(argv[1], "rotate") == 0 ||
	    strcmp(argv[1], "show") == 0)) {
		char target[512], tenant[65], id[65];
		const char *topt = NULL, *arg = NULL;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
				topt = argv[++i];
			else if (!arg)
				arg = argv[i];
			else
				return cli_usage_error(usage, "ctl agent %s: unexpected '%s'", argv[1], argv[i]);
		}
		/* names are path segments: refuse anything the server's router
		 * would not match rather than escape it */
		if (!arg || split_agent(topt, arg, tenant, id) != 0)
			return cli_usage_error(usage, "ctl agent %s: --tenant T ID or T/ID (1..64 of A-Z a-z 0-9 . _ -)",
			    argv[1]);
		if (strcmp(argv[1], "show") == 0)
			snprintf(target, sizeof(target), "/v1/admin/agents/%s/%s", tenant, id);
		else
			snprintf(target, sizeof(target), "/v1/admin/agents/%s/%s/%s", tenant, id, argv[1]);
		st = run(c, strcmp(argv[1], "show") == 0 ? "GET" : "POST", target, NULL, &body);
		if (st == EXIT_OK && !c->json) {
			if (strcmp(argv[1], "show") == 0) {
				char *p = cJSON_Print(body);
				if (p)
					printf("%s\n", p);
				cJSON_free(p);
			} else {
				printf("agent %s/%s: %s%s\n", jstr(body, "tenant"), jstr(body, "agent_id"),
				    argv[1], strcmp(argv[1], "revoke") == 0 ? "d" :
				    " queued for the next heartbeat");
			}
		}
		cJSON_Delete(body);
		return st;
	}
	if (argc != 2 || strcmp(argv[1], "list") != 0)
		return cli_usage_error(usage, "ctl agent: list | show|revoke|quarantine|release|rotate --tenant T ID");
	st = run(c, "GET", "/v1/admin/agents", NULL, &body);
	if (st == EXIT_OK && !c->json) {
		const cJSON *e;
		char seen[TIMEFMT_RFC3339_LEN];
		printf("%-20s %-24s %-20s %-20s %-8s %s\n", "TENANT", "AGENT", "LAST_SEEN", "CERT_EXPIRES",
		    "STATE", "SERIAL");
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body, "agents")) {
			when(jnum(e, "not_after"), t);
			if (jnum(e, "last_seen") > 0)
				when(jnum(e, "last_seen"), seen);
			else
				snprintf(seen, sizeof(seen), "never");
			printf("%-20s %-24s %-20s %-20s %-8s %s\n", jstr(e, "tenant"), jstr(e, "agent_id"), seen, t,
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "revoked")) ? "revoked" :
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "quarantined")) ? "quarant." : "active",
			    jstr(e, "serial"));
		}
	}
	cJSON_Delete(body);
	return st;
}

static void print_job(const cJSON *e)
{
	char t[TIMEFMT_RFC3339_LEN];

	when(jnum(e, "created"), t);
	printf("%-32s %-16s %-20s %-16s %-9s %s\n", jstr(e, "id"), jstr(e, "tenant"), jstr(e, "agent_id"),
	    jstr(e, "plugin"), jstr(e, "state"), t);
}

static int job_cmd(const struct ctl *c, int argc, char **argv)
{
	cJSON *body = NULL, *rb;
	char target[512];
	int st;

	if (argc >= 2 && strcmp(argv[1], "submit") == 0) {
		const char *topt = NULL, *agent = NULL, *plugin = NULL, *args = NULL, *pin = NULL;
		const char *pol[32];
		size_t npol = 0;
		char tenant[65], id[65];
		uint64_t timeout_ms = 0;
		int wait = 0;
		cJSON *aj = NULL;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc)
				topt = argv[++i];
			else if (strcmp(argv[i], "--agent") == 0 && i + 1 < argc)
				agent = argv[++i];
			else if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc)
				plugin = argv[++i];
			else if (strcmp(argv[i], "--args") == 0 && i + 1 < argc)
				args = argv[++i];
			else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
				if (units_parse_duration(argv[++i], &timeout_ms) != 0 ||
				    timeout_ms > 86400ull * 1000)
					return cli_usage_error(usage, "ctl job submit: --timeout is a duration up to 1d");
			} else if (strcmp(argv[i], "--wait") == 0)
				wait = 1;
			else if (strcmp(argv[i], "--sha256") == 0 && i + 1 < argc)
				pin = argv[++i];
			else if (strcmp(argv[i], "--policy") == 0 && i + 1 < argc) {
				const char *kv = argv[++i], *eq = strchr(kv, '=');
				if (!eq || eq == kv || npol == ARRAY_SIZE(pol))
					return cli_usage_error(usage, "ctl job submit: --policy KEY=VALUE "
					    "(at most %zu)", ARRAY_SIZE(pol));
				pol[npol++] = kv;
			} else
				return cli_usage_error(usage, "ctl job submit: unexpected '%s'", argv[i]);
		}
		if (!agent || split_agent(topt, agent, tenant, id) != 0 || !name_ok(plugin))
			return cli_usage_error(usage, "ctl job submit: --agent T/ID (or --tenant T --agent ID) "
			    "and --plugin NAME required");
		if (args) {
			aj = cJSON_Parse(args);
			if (!aj)
				return cli_usage_error(usage, "ctl job submit: --args is not JSON");
		}
		rb = cJSON_CreateObject();
		cJSON_AddStringToObject(rb, "tenant", tenant);
		cJSON_AddStringToObject(rb, "agent_id", id);
		cJSON_AddStringToObject(rb, "plugin", plugin);
		if (aj)
			cJSON_AddItemToObject(rb, "args", aj);
		if (pin)
			cJSON_AddStringToObject(rb, "sha256", pin);
		if (npol) {
			cJSON *po = cJSON_AddObjectToObject(rb, "policy");
			for (size_t k = 0; po && k < npol; k++) {
				const char *eq = strchr(pol[k], '=');
				char key[64];
				snprintf(key, sizeof(key), "%.*s", (int)(eq - pol[k]), pol[k]);
				cJSON_DeleteItemFromObjectCaseSensitive(po, key);  /* the last one wins */
				cJSON_AddStringToObject(po, key, eq + 1);
			}
		}
		cJSON_AddNumberToObject(rb, "timeout", (double)(timeout_ms / 1000));
		if (!wait) {
			st = run(c, "POST", "/v1/admin/jobs", rb, &body);
			if (st == EXIT_OK && !c->json)
				printf("job %s queued\n", jstr(body, "id"));
			cJSON_Delete(body);
			return st;
		}
		/* --wait: submit quietly, then poll until done (bounded by the
		 * job's timeout plus a margin, at least 5 minutes) */
		struct ctl quiet = *c;
		quiet.json = 0;
		st = run(&quiet, "POST", "/v1/admin/jobs", rb, &body);
		if (st != EXIT_OK)
			return st;
		snprintf(target, sizeof(target), "/v1/admin/jobs/%s", jstr(body, "id"));
		cJSON_Delete(body);
		body = NULL;
		uint64_t end = time_mono_ms() + timeout_ms + 300000;
		size_t base = strlen(target);
		/* Long-poll: the orchestrator answers as soon as the result is
		 * stored, or after `wait` seconds with the job still running. */
		for (;;) {
			uint64_t left = end - time_mono_ms();
			snprintf(target + base, sizeof(target) - base, "?wait=%llu",
			    (unsigned long long)(left / 1000 > 20 ? 20 : left / 1000 + 1));   /* < CTL_TIMEOUT_MS */
			st = run(&quiet, "GET", target, NULL, &body);
			if (st != EXIT_OK)
				return st;
			if (strcmp(jstr(body, "state"), "done") == 0)
				break;
			cJSON_Delete(body);
			body = NULL;
			if (time_mono_ms() >= end) {
				cli_error("ctl job submit: no result before the wait ended");
				return EXIT_FAIL;
			}
		}
		{
			char *p = c->json ? cJSON_PrintUnformatted(body) :
			    cJSON_Print(cJSON_GetObjectItemCaseSensitive(body, "result"));
			if (p)
				printf("%s\n", p);
			cJSON_free(p);
		}
		cJSON_Delete(body);
		return EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "get") == 0) {
		if (strlen(argv[2]) != 32 || strspn(argv[2], "0123456789abcdef") != 32)
			return cli_usage_error(usage, "ctl job get: ID is the 32 hex digits 'job submit' printed");
		snprintf(target, sizeof(target), "/v1/admin/jobs/%s", argv[2]);
		st = run(c, "GET", target, NULL, &body);
		if (st == EXIT_OK && !c->json) {
			char *p = cJSON_Print(body);
			if (p)
				printf("%s\n", p);
			cJSON_free(p);
		}
		cJSON_Delete(body);
		return st;
	}
	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		const char *tenant = NULL, *agent = NULL;
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--tenant") == 0 && i + 1 < argc && name_ok(argv[i + 1]))
				tenant = argv[++i];
			else if (strcmp(argv[i], "--agent") == 0 && i + 1 < argc && name_ok(argv[i + 1]))
				agent = argv[++i];
			else
				return cli_usage_error(usage, "ctl job list: [--tenant T] [--agent ID]");
		}
		snprintf(target, sizeof(target), "/v1/admin/jobs?tenant=%s&agent=%s", tenant ? tenant : "",
		    agent ? agent : "");
		if (!tenant && !agent)
			snprintf(target, sizeof(target), "/v1/admin/jobs");
		else if (!tenant)
			snprintf(target, sizeof(target), "/v1/admin/jobs?agent=%s", agent);
		else if (!agent)
			snprintf(target, sizeof(target), "/v1/admin/jobs?tenant=%s", tenant);
		st = run(c, "GET", target, NULL, &body);
		if (st == EXIT_OK && !c->json) {
			const cJSON *e;
			printf("%-32s %-16s %-20s %-16s %-9s %s\n", "ID", "TENANT", "AGENT", "PLUGIN", "STATE",
			    "CREATED");
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body, "jobs"))
				print_job(e);
		}
		cJSON_Delete(body);
		return st;
	}
	return cli_usage_error(usage, "ctl job: submit ... | get ID | list [--tenant T] [--agent ID]");
}

static int events_cmd(const struct ctl *c, int argc, char **argv)
{
	cJSON *body = NULL;
	char target[1024];
	size_t off;
	uint64_t limit = 0, since = 0;
	int tail, st;

	if (argc < 2 || (strcmp(argv[1], "tail") != 0 && strcmp(argv[1], "query") != 0))
		return cli_usage_error(usage, "ctl events: tail|query [--tenant T] [--agent ID] [--event NAME] "
		    "[--since D|UNIX] [--limit N]");
	tail = strcmp(argv[1], "tail") == 0;
	off = (size_t)snprintf(target, sizeof(target), "/v1/admin/events?tail=%d", tail);
	for (int i = 2; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return cli_usage_error(usage, "ctl events: %s needs a value", k);
		i++;
		if (strcmp(k, "--tenant") == 0 || strcmp(k, "--agent") == 0 ||
		    strcmp(k, "--event") == 0) {
			if (!name_ok(v))
				return cli_usage_error(usage, "ctl events: bad %s", k);
			off += (size_t)snprintf(target + off, sizeof(target) - off, "&%s=%s", k + 2, v);
		} else if (strcmp(k, "--since") == 0) {
			uint64_t ms;
			if (units_parse_uint(v, &since) == 0 && since > 1000000000ull) {
				/* a Unix time */
			} else if (units_parse_duration(v, &ms) == 0) {
				since = (uint64_t)time(NULL) - ms / 1000;
			} else {
				return cli_usage_error(usage, "ctl events: --since is a duration (1h) or Unix seconds");
			}
		} else if (strcmp(k, "--limit") == 0) {
			if (units_parse_uint(v, &limit) != 0 || limit == 0 || limit > 100000)
				return cli_usage_error(usage, "ctl events: --limit 1..100000");
		} else {
			return cli_usage_error(usage, "ctl events: unexpected '%s'", k);
		}
		if (off >= sizeof(target))
			return cli_usage_error(usage, "ctl events: arguments too long");
	}
	if (!limit)
		limit = tail ? 20 : 10000;
	off += (size_t)snprintf(target + off, sizeof(target) - off, "&limit=%llu",
	    (unsigned long long)limit);
	if (since)
		snprintf(target + off, sizeof(target) - off, "&since=%llu", (unsigned long long)since);
	st = run(c, "GET", target, NULL, &body);
	if (st == EXIT_OK && !c->json) {
		const cJSON *e;
		char t[TIMEFMT_RFC3339_LEN];
		printf("%-20s %-16s %-20s %-5s %-32s %s\n", "RECEIVED", "TENANT", "AGENT", "LEVEL", "EVENT", "ID");
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body, "events")) {
			when(jnum(e, "received"), t);
			printf("%-20s %-16s %-20s %-5s %-32s %s\n", t, jstr(e, "tenant"), jstr(e, "agent_id"),
			    jstr(e, "level"), jstr(e, "event"), jstr(e, "id"));
		}
	}
	cJSON_Delete(body);
	return st;
}

int
ctl_main(int argc, char **argv)
{
	struct ctl c = { NULL, 0 };
	const char *cfg_path = NULL;
	struct config *cfg = NULL;
	char *args[64];
	int n = 0, st;

	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (n == 0 && strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			cfg_path = argv[++i];
		else if (n == 0 && strcmp(argv[i], "-S") == 0 && i + 1 < argc)
			c.sock = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			c.json = 1;
		else if (n < (int)ARRAY_SIZE(args))
			args[n++] = argv[i];
		else
			return cli_usage_error(usage, "ctl: too many arguments");
	}
	if (n == 0)
		return cli_usage_error(usage, "ctl: a command is required");
	if (!c.sock) {
		struct config_errors errs = { 0 };
		if (!cfg_path)
			return cli_usage_error(usage, "ctl: -c orchestrator.yaml or -S SOCKET required");
		if (config_load(cfg_path, NULL, 0, &cfg, &errs) != 0) {
			config_errors_print(&errs, stderr);
			config_errors_free(&errs);
			return EXIT_CONFIG;
		}
		config_errors_free(&errs);
		c.sock = config_get_orchestrator(cfg)->admin_socket;
	}
	if (strcmp(args[0], "tenant") == 0)
		st = tenant_cmd(&c, n, args);
	else if (strcmp(args[0], "token") == 0)
		st = token_cmd(&c, n, args);
	else if (strcmp(args[0], "agent") == 0)
		st = agent_cmd(&c, n, args);
	else if (strcmp(args[0], "job") == 0)
		st = job_cmd(&c, n, args);
	else if (strcmp(args[0], "events") == 0)
		st = events_cmd(&c, n, args);
	else
		st = cli_usage_error(usage, "ctl: unknown command '%s'", args[0]);
	config_free(cfg);
	return st;
}
