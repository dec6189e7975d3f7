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
    "  agent list\n"
    "  agent revoke --tenant T ID            (its certificates are refused from then on)\n"
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
	} else
		return cli_usage_error(usage, "ctl tenant: add NAME | list");
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

	if (argc == 4 && strcmp(argv[1], "revoke") == 0 && strcmp(argv[2], "--tenant") != 0)
		return cli_usage_error(usage, "ctl agent revoke: --tenant T ID");
	if (argc == 5 && strcmp(argv[1], "revoke") == 0 && strcmp(argv[2], "--tenant") == 0) {
		char target[512];
		const char *tenant = argv[3], *id = argv[4];
		/* names are path segments: refuse anything the server's router
		 * would not match rather than escape it */
		if (strlen(tenant) > 64 || strlen(id) > 64 || !tenant[0] || !id[0] ||
		    strspn(tenant, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(tenant) ||
		    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(id))
			return cli_usage_error(usage, "ctl agent revoke: tenant and id are 1..64 of A-Z a-z 0-9 . _ -");
		snprintf(target, sizeof(target), "/v1/admin/agents/%s/%s/revoke", tenant, id);
		st = run(c, "POST", target, NULL, &body);
		if (st == EXIT_OK && !c->json)
			printf("agent %s/%s revoked\n", jstr(body, "tenant"), jstr(body, "agent_id"));
		cJSON_Delete(body);
		return st;
	}
	if (argc != 2 || strcmp(argv[1], "list") != 0)
		return cli_usage_error(usage, "ctl agent: list | revoke --tenant T ID");
	st = run(c, "GET", "/v1/admin/agents", NULL, &body);
	if (st == EXIT_OK && !c->json) {
		const cJSON *e;
		printf("%-20s %-24s %-20s %-8s %s\n", "TENANT", "AGENT", "CERT_EXPIRES", "STATE", "SERIAL");
		cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(body, "agents")) {
			when(jnum(e, "not_after"), t);
			printf("%-20s %-24s %-20s %-8s %s\n", jstr(e, "tenant"), jstr(e, "agent_id"), t,
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(e, "revoked")) ? "revoked" : "active",
			    jstr(e, "serial"));
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
	else
		st = cli_usage_error(usage, "ctl: unknown command '%s'", args[0]);
	config_free(cfg);
	return st;
}
