/*
 * agent_cmd.c: the `stavily agent` command: register, status, run.
 *
 * register  key generated here (never leaves the host), CSR, POST
 *           /v1/enroll over pinned TLS with Basic tenant:token, key and
 *           chain stored atomically (ident.h).
 * status    identity, certificate, reachability (one heartbeat), spool,
 *           quarantine, sandbox layers; --json.
 * run       registers if needed, then heartbeats on heartbeat_interval with
 *           backoff on errors, renews at ~2/3 of the lifetime, obeys
 *           revoke/quarantine commands, stops on SIGTERM (agent_run.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "agent/agent_run.h"
#include "agent/ident.h"
#include "agent/link.h"
#include "base/cli.h"
#include "base/fileio.h"
#include "config/config.h"
#include "crypto/base64.h"
#include "crypto/csr.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "event/event.h"
#include "sandbox/probe.h"
#include "store/spool.h"

static const char usage[] =
    "usage: stavily agent register -c agent.yaml [--token-file FILE] [--set KEY=VALUE]...\n"
    "       stavily agent status -c agent.yaml [--json] [--set KEY=VALUE]...\n"
    "       stavily agent run -c agent.yaml [--set KEY=VALUE]...\n"
    "       stavily agent lockdown -c agent.yaml [--release]\n"
    "\n"
    "  register  generate the agent's key on this host and enroll it with the\n"
    "            orchestrator (pinned TLS, HTTP Basic tenant:installation token).\n"
    "            The token is read from --token-file, agent.token_file, or the\n"
    "            STAVILY_INSTALLATION_TOKEN environment variable: never from\n"
    "            the command line.\n"
    "  status    identity, certificate expiry, orchestrator reachability, spool\n"
    "            depth, quarantine state and sandbox layers.\n"
    "  run       the long-running agent (registers first when it has no\n"
    "            certificate and a token is available); SIGTERM stops it.\n"
    "  lockdown  local incident switch: the running agent kills its running\n"
    "            plugins and refuses new jobs, but keeps reporting, until\n"
    "            `lockdown --release`.\n"
    "  -c, --config FILE  the agent's configuration (.yaml, .yml or .ini)\n";

#define AGENT_MAX_SET 32
#define TOKEN_MAX 512

struct opts {
	const char *cfg_path;
	const char *token_file;
	const char *sets[AGENT_MAX_SET];
	size_t n_sets;
	int json;
};

static int parse_opts(int argc, char **argv, struct opts *o, int allow_token, int allow_json)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			o->cfg_path = argv[++i];
		else if (allow_token && strcmp(argv[i], "--token-file") == 0 && i + 1 < argc)
			o->token_file = argv[++i];
		else if (allow_json && strcmp(argv[i], "--json") == 0)
			o->json = 1;
		else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
			if (o->n_sets >= AGENT_MAX_SET)
				return cli_usage_error(usage, "agent: too many --set");
			if (strncmp(argv[i + 1], "agent.token=", 12) == 0)
				return cli_usage_error(usage, "agent: the token is never taken from the "
				    "command line (other users can read it): use --token-file or "
				    "STAVILY_INSTALLATION_TOKEN");
			o->sets[o->n_sets++] = argv[++i];
		} else if (strcmp(argv[i], "--token") == 0) {
			return cli_usage_error(usage, "agent: the token is never taken from the command "
			    "line (other users can read it): use --token-file or "
			    "STAVILY_INSTALLATION_TOKEN");
		} else
			return cli_usage_error(usage, "agent %s: unknown argument '%s'", argv[0], argv[i]);
	}
	if (!o->cfg_path)
		return cli_usage_error(usage, "agent %s: -c agent.yaml is required", argv[0]);
	return 0;
}

int agent_load_config(const char *path, const char *const *sets, size_t n, struct config **cfg)
{
	struct config_errors errs = { 0 };

	if (config_load(path, sets, n, cfg, &errs) != 0) {
		config_errors_print(&errs, stderr);
		config_errors_free(&errs);
		return EXIT_CONFIG;
	}
	config_errors_free(&errs);
	return 0;
}

struct event_log *agent_open_log(const struct config *cfg, const char *agent_id)
{
	const struct config_logging *lg = config_get_logging(cfg);
	struct event_log *log;
	int r;

	log = event_log_new(config_get_agent(cfg)->type == CONFIG_AGENT_SENSOR ? "sensor-agent" :
	    "action-agent", agent_id, (enum event_level)lg->level);
	if (!log)
		return NULL;
	r = lg->file ? event_log_add_file(log, lg->file) : event_log_add_fd(log, 2);
	if (r < 0) {
		cli_error("%s: %s", lg->file ? lg->file : "stderr", strerror(-r));
		event_log_free(log);
		return NULL;
	}
	return log;
}

/* Trim trailing whitespace in place; returns the length. */
static size_t trim(char *s, size_t n)
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
	return n;
}

int agent_read_token(const struct config_agent *ac, const char *token_file, char *tok)
{
	const char *file = token_file ? token_file : ac->token_file;
	char *env = getenv("STAVILY_INSTALLATION_TOKEN");
	size_t n = 0;

	tok[0] = 0;
	if (file) {
		char *buf = NULL;
		int r = file_read_all(file, TOKEN_MAX - 1, &buf, &n);
		if (r < 0) {
			if (token_file || !env)
				return r;
		} else {
			memcpy(tok, buf, n + 1);
			explicit_bzero(buf, n);
			free(buf);
		}
	}
	if (!tok[0] && env && *env) {
		n = strlen(env);
		if (n >= TOKEN_MAX)
			return -E2BIG;
		memcpy(tok, env, n + 1);
		explicit_bzero(env, n);   /* nothing else in this process needs it */
	}
	if (!tok[0] && ac->token) {
		n = strlen(ac->token);
		if (n >= TOKEN_MAX)
			return -E2BIG;
		memcpy(tok, ac->token, n + 1);
	}
	n = trim(tok, strlen(tok));
	for (size_t i = 0; i < n; i++)
		if (tok[i] < 0x21 || tok[i] > 0x7e)
			return -EINVAL;
	return n ? 0 : -ENOENT;
}

static const char *const *pins_of(const struct config_agent *ac)
{
	return (const char *const *)ac->ca_pins.v;
}

/* Post the enrollment; on success stores key + chain + CA.  Returns an exit code. */
int agent_register(const struct config *cfg, struct event_log *log, const char *token_file,
    char *token_in, int quiet)
{
	const struct config_agent *ac = config_get_agent(cfg);
	char tok[TOKEN_MAX], cred[TOKEN_MAX + 80], *auth = NULL, *csr_pem = NULL, *body = NULL;
	char agent_id[65];
	struct key_p256 key;
	struct link l;
	struct http_client_response resp;
	struct http_field f[1];
	unsigned char *csr = NULL;
	size_t csr_len = 0, cl, al;
	cJSON *req = NULL, *ans = NULL;
	int rc = EXIT_FAIL, r;

	memset(&key, 0, sizeof(key));
	memset(&resp, 0, sizeof(resp));
	memset(&l, 0, sizeof(l));
	if (ac->ca_pins.n == 0) {
		cli_error("agent.ca_pins is empty: registration needs the orchestrator CA's pin.\n"
		    "stavily: `stavily orchestrator init` prints it (`stavily cert pin "
		    "ORCH_STATE/ca.pem` shows it again); put it into agent.ca_pins");
		return EXIT_CONFIG;
	}
	if (!ac->enroll_url || !ac->tenant) {
		cli_error("agent.enroll_url and agent.tenant are required to register");
		return EXIT_CONFIG;
	}
	if (ac->id)
		snprintf(agent_id, sizeof(agent_id), "%s", ac->id);
	else if (gethostname(agent_id, sizeof(agent_id)) != 0 || !agent_id[0]) {
		cli_error("agent.id is not set and the host name is unusable");
		return EXIT_CONFIG;
	}
	agent_id[sizeof(agent_id) - 1] = 0;
	if (token_in) {
		/* read by the caller (agent run): take it over and wipe its copy */
		snprintf(tok, sizeof(tok), "%s", token_in);
		explicit_bzero(token_in, strlen(token_in));
		r = tok[0] ? 0 : -ENOENT;
	} else
		r = agent_read_token(ac, token_file, tok);
	if (r < 0) {
		explicit_bzero(tok, sizeof(tok));
		cli_error("no installation token: %s (give --token-file FILE, agent.token_file, or "
		    "STAVILY_INSTALLATION_TOKEN; `stavily ctl token create` makes one)",
		    r == -ENOENT ? "none given" : strerror(-r));
		return EXIT_FAIL;
	}
	cl = (size_t)snprintf(cred, sizeof(cred), "%s:%s", ac->tenant, tok);
	explicit_bzero(tok, sizeof(tok));
	al = 6 + BASE64_ENCODED_LEN(cl) + 1;
	auth = malloc(al);
	if (!auth || cl >= sizeof(cred))
		goto out;
	memcpy(auth, "Basic ", 6);
	auth[6 + base64_encode(cred, cl, auth + 6)] = 0;
	explicit_bzero(cred, sizeof(cred));

	if (link_init(&l, ac->enroll_url, ac->server_name, pins_of(ac), ac->ca_pins.n, log) < 0) {
		cli_error("%s", l.last_error);
		rc = EXIT_CONFIG;
		goto out;
	}
	r = link_bootstrap_ca(&l);
	if (r < 0) {
		cli_error("registration refused: %s", l.last_error);
		goto out;
	}
	r = key_generate(&key);
	if (r == 0)
		r = csr_build(&key, agent_id, NULL, &csr, &csr_len);
	if (r == 0)
		r = pem_encode("CERTIFICATE REQUEST", csr, csr_len, &csr_pem, &cl);
	if (r < 0) {
		cli_error("cannot build the key and CSR (%d)", r);
		goto out;
	}
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "agent_id", agent_id) ||
	    !cJSON_AddStringToObject(req, "csr", csr_pem) ||
	    !(body = cJSON_PrintUnformatted(req)))
		goto out;
	f[0].name = "Authorization";
	f[0].value = auth;
	r = link_request(&l, "POST", "/v1/enroll", f, 1, body, strlen(body), &resp);
	explicit_bzero(auth, strlen(auth));
	if (r < 0) {
		cli_error("registration failed: %s", l.last_error);
		goto out;
	}
	if (resp.resp.status != 201) {
		const char *why = resp.resp.status == 401 ? "the token or tenant was refused" :
		    resp.resp.status == 429 ? "too many failed attempts from this host: locked out "
		    "for a while" : resp.resp.status == 409 ? "this agent id is already enrolled in "
		    "the tenant" : "see the orchestrator's log";
		cli_error("registration refused: HTTP %d (%s)", resp.resp.status, why);
		cJSON *d = cJSON_CreateObject();
		if (d) {
			cJSON_AddNumberToObject(d, "status", resp.resp.status);
			cJSON_AddStringToObject(d, "tenant", ac->tenant);
		}
		if (log)
			event_emit(log, EVENT_WARN, "registration_failed", d);
		else
			cJSON_Delete(d);
		goto out;
	}
	ans = cJSON_ParseWithLength((const char *)resp.resp.body, resp.resp.body_len);
	{
		cJSON *jc = cJSON_GetObjectItemCaseSensitive(ans, "certificate");
		cJSON *jca = cJSON_GetObjectItemCaseSensitive(ans, "ca");
		char *pinned = NULL, *chain = NULL;
		struct agent_ident id;
		size_t il = 0;

		if (!cJSON_IsString(jc) || !cJSON_IsString(jca)) {
			cli_error("registration: the orchestrator's answer has no certificate");
			goto out;
		}
		/* The CA we will trust on the mTLS listener must be the pinned one. */
		pinned = link_pinned_ca_pem(jca->valuestring, strlen(jca->valuestring), pins_of(ac),
		    ac->ca_pins.n);
		if (!pinned) {
			cli_error("registration: the CA in the answer does not match agent.ca_pins");
			goto out;
		}
		free(pinned);
		r = ident_compose(&key, jc->valuestring, &chain, &il);
		if (r == 0) {
			r = ident_from_pem(chain, il, &id);
			explicit_bzero(chain, il);
			free(chain);
		}
		if (r < 0) {
			cli_error("registration: the certificate received is not for our key or "
			    "has no identity (%d)", r);
			goto out;
		}
		{
			/* the backup CA ("ca_backup") is stored with the CA: with its
			 * pin in agent.ca_pins a CA rollover needs no change here */
			cJSON *jb = cJSON_GetObjectItemCaseSensitive(ans, "ca_backup");
			char *both = NULL;
			if (cJSON_IsString(jb) && asprintf(&both, "%s%s", jca->valuestring, jb->valuestring) < 0)
				both = NULL;
			r = ident_save(ac->state_dir, &key, jc->valuestring, both ? both : jca->valuestring);
			free(both);
		}
		if (r < 0) {
			cli_error("%s: cannot store the identity: %s", ac->state_dir, strerror(-r));
			ident_free(&id);
			goto out;
		}
		cJSON *d = cJSON_CreateObject();
		if (d) {
			cJSON_AddStringToObject(d, "identity", id.uri);
			cJSON_AddStringToObject(d, "serial", id.serial);
			cJSON_AddNumberToObject(d, "not_after", (double)id.not_after);
		}
		if (log) {
			if (event_log_set_agent_id(log, id.agent_id) < 0)
				{ /* keep the old id in the log lines */ }
			event_emit(log, EVENT_INFO, "agent_registered", d);
		} else
			cJSON_Delete(d);
		if (!quiet)
			printf("registered %s\nserial %s, certificate valid %lld days; stored in %s/%s\n",
			    id.uri, id.serial, (long long)((id.not_after - time(NULL)) / 86400),
			    ac->state_dir, IDENT_FILE);
		ident_free(&id);
	}
	rc = EXIT_OK;
out:
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	explicit_bzero(cred, sizeof(cred));
	explicit_bzero(tok, sizeof(tok));
	key_wipe(&key);
	free(csr);
	free(csr_pem);
	if (body)
		cJSON_free(body);
	cJSON_Delete(req);
	cJSON_Delete(ans);
	http_client_response_free(&resp);
	link_free(&l);
	return rc;
}

static int cmd_register(int argc, char **argv)
{
	struct opts o;
	struct config *cfg = NULL;
	struct event_log *log;
	int rc = parse_opts(argc, argv, &o, 1, 0);

	if (rc)
		return rc;
	rc = agent_load_config(o.cfg_path, o.sets, o.n_sets, &cfg);
	if (rc)
		return rc;
	log = agent_open_log(cfg, config_get_agent(cfg)->id);
	if (!log) {
		config_free(cfg);
		return EXIT_FAIL;
	}
	rc = agent_register(cfg, log, o.token_file, NULL, 0);
	event_log_free(log);
	config_free(cfg);
	return rc;
}

static int cmd_status(int argc, char **argv)
{
	struct opts o;
	struct config *cfg = NULL;
	const struct config_agent *ac;
	struct agent_ident id;
	struct sandbox_probe pr;
	struct event_log *log = NULL;
	cJSON *j = NULL, *hb = NULL;
	char path[IDENT_MAX_PATH];
	int rc = parse_opts(argc, argv, &o, 0, 1), r, registered;

	if (rc)
		return rc;
	rc = agent_load_config(o.cfg_path, o.sets, o.n_sets, &cfg);
	if (rc)
		return rc;
	ac = config_get_agent(cfg);
	j = cJSON_CreateObject();
	r = ident_load(ac->state_dir, &id);
	registered = r == 0;
	cJSON_AddBoolToObject(j, "registered", registered);
	if (registered) {
		int64_t now = time(NULL);
		cJSON_AddStringToObject(j, "identity", id.uri);
		cJSON_AddStringToObject(j, "tenant", id.tenant);
		cJSON_AddStringToObject(j, "agent_id", id.agent_id);
		cJSON_AddStringToObject(j, "serial", id.serial);
		cJSON_AddNumberToObject(j, "not_after", (double)id.not_after);
		cJSON_AddNumberToObject(j, "days_remaining",
		    (double)((id.not_after - now) / 86400));
		log = agent_open_log(cfg, id.agent_id);
		r = log ? agent_heartbeat_once(cfg, log, &id, &hb) : -ENOMEM;
		cJSON_AddBoolToObject(j, "orchestrator_reachable", r == 0);
		if (r != 0)
			cJSON_AddStringToObject(j, "orchestrator_error", agent_last_error());
	} else {
		cJSON_AddStringToObject(j, "error", r == -ENOENT ? "not registered" : strerror(-r));
		cJSON_AddBoolToObject(j, "orchestrator_reachable", 0);
	}
	{
		struct spool_stats st;
		struct spool *sp = NULL;
		char *rt = NULL;
		size_t rl = 0;
		int locked = 0;
		memset(&st, 0, sizeof(st));
		if (ident_path(ac->state_dir, "spool", path) == 0 && access(path, F_OK) == 0) {
			r = spool_open(path, NULL, &sp, NULL);
			if (r == 0) {
				spool_stats(sp, &st);
				spool_close(sp);
			} else
				locked = 1;   /* a running agent holds the spool's lock */
		}
		if (locked && ident_path(ac->state_dir, IDENT_RUNTIME, path) == 0 &&
		    file_read_all(path, 4096, &rt, &rl) == 0) {
			cJSON *rto = cJSON_Parse(rt), *v;
			cJSON_AddItemToObject(j, "running_agent", rto ? rto : cJSON_CreateNull());
			v = cJSON_GetObjectItemCaseSensitive(rto, "spool_depth");
			if (cJSON_IsNumber(v))
				st.unacked_critical = (uint64_t)v->valuedouble;
			v = cJSON_GetObjectItemCaseSensitive(rto, "spool_bytes");
			if (cJSON_IsNumber(v))
				st.bytes = (uint64_t)v->valuedouble;
			free(rt);
		}
		cJSON_AddNumberToObject(j, "spool_depth", (double)(st.unacked_critical +
		    st.unacked_sensor));
		cJSON_AddNumberToObject(j, "spool_bytes", (double)st.bytes);
	}
	cJSON_AddBoolToObject(j, "quarantined", ident_path(ac->state_dir, IDENT_QUARANTINE,
	    path) == 0 && access(path, F_OK) == 0);
	cJSON_AddBoolToObject(j, "lockdown", ident_path(ac->state_dir, IDENT_LOCKDOWN,
	    path) == 0 && access(path, F_OK) == 0);
	sandbox_probe_quick(&pr);
	cJSON_AddItemToObject(j, "sandbox", sandbox_probe_json(&pr));
	if (o.json) {
		char *s = cJSON_Print(j);
		if (s)
			puts(s);
		cJSON_free(s);
	} else {
		cJSON *it;
		cJSON_ArrayForEach(it, j) {
			if (cJSON_IsString(it))
				printf("%-24s %s\n", it->string, it->valuestring);
			else if (cJSON_IsBool(it))
				printf("%-24s %s\n", it->string, cJSON_IsTrue(it) ? "yes" : "no");
			else if (cJSON_IsNumber(it))
				printf("%-24s %.0f\n", it->string, it->valuedouble);
			else if (cJSON_IsObject(it)) {
				cJSON *s;
				printf("%s:\n", it->string);
				cJSON_ArrayForEach(s, it) {
					char *v = cJSON_PrintUnformatted(s);
					printf("  %-22s %s\n", s->string, v ? v : "?");
					cJSON_free(v);
				}
			}
		}
	}
	rc = registered ? EXIT_OK : EXIT_FAIL;
	cJSON_Delete(j);
	cJSON_Delete(hb);
	if (registered)
		ident_free(&id);
	event_log_free(log);
	config_free(cfg);
	return rc;
}

static int cmd_lockdown(int argc, char **argv)
{
	struct config *cfg = NULL;
	const struct config_agent *ac;
	char path[IDENT_MAX_PATH];
	const char *cfg_path = NULL;
	int release = 0, rc, r;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			cfg_path = argv[++i];
		else if (strcmp(argv[i], "--release") == 0)
			release = 1;
		else
			return cli_usage_error(usage, "agent lockdown: unknown argument '%s'", argv[i]);
	}
	if (!cfg_path)
		return cli_usage_error(usage, "agent lockdown: -c agent.yaml is required");
	rc = agent_load_config(cfg_path, NULL, 0, &cfg);
	if (rc)
		return rc;
	ac = config_get_agent(cfg);
	r = ident_path(ac->state_dir, IDENT_LOCKDOWN, path);
	if (r == 0 && release)
		r = unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
	else if (r == 0)
		r = file_write_atomic(path, "1\n", 2, 0600);
	if (r < 0) {
		cli_error("%s: %s", path, strerror(-r));
		rc = EXIT_FAIL;
	} else {
		printf("%s\n", release ? "lockdown released: the agent runs jobs again" :
		    "lockdown engaged: the running agent kills its plugins and refuses jobs "
		    "(it keeps reporting); `stavily agent lockdown --release` ends it");
		rc = EXIT_OK;
	}
	config_free(cfg);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, &o, 0, 0);

	if (rc)
		return rc;
	return agent_run_main(o.cfg_path, o.sets, o.n_sets);
}

int
agent_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(usage, "agent: register, status, run or lockdown expected");
	if (strcmp(argv[1], "register") == 0)
		return cmd_register(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "lockdown") == 0)
		return cmd_lockdown(argc - 1, argv + 1);
	return cli_usage_error(usage, "agent: unknown command '%s'", argv[1]);
}
