/*
 * agent_run.c: `stavily agent run` (agent_run.h).
 */
#include "agent/agent_run.h"

#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/backoff.h"
#include "agent/link.h"
#include "agent/msg.h"
#include "agent/privsep.h"
#include "agent/spawner.h"
#include "base/cli.h"
#include "base/fileio.h"
#include "base/timefmt.h"
#include "crypto/csr.h"
#include "crypto/pem.h"
#include "crypto/rng.h"
#include "sandbox/policy.h"

/* Best-effort calls whose failure changes nothing here (WARN_UNUSED). */
static void ignore_rc(int r)
{
	(void)r;
}

/* Least time between two renewal attempts. */
#define RENEW_MIN_GAP_MS 10000

static char g_last_error[640];
static volatile sig_atomic_t g_stop;
static volatile pid_t g_worker_pid;

const char *agent_last_error(void)
{
	return g_last_error;
}

static void on_term(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_worker_pid > 0)
		kill(g_worker_pid, SIGTERM);
}

/* A link to the mTLS listener with the stored CA and identity. */
static int open_link(const struct config *cfg, struct event_log *log,
    const struct agent_ident *id, struct link *l)
{
	const struct config_agent *ac = config_get_agent(cfg);
	char path[IDENT_MAX_PATH], *ca = NULL;
	size_t calen = 0;
	int r;

	r = link_init(l, ac->orchestrator_url, ac->server_name,
	    (const char *const *)ac->ca_pins.v, ac->ca_pins.n, log);
	if (r < 0) {
		snprintf(g_last_error, sizeof(g_last_error), "%s", l->last_error);
		return r;
	}
	r = ident_path(ac->state_dir, IDENT_CA_FILE, path);
	if (r == 0)
		r = file_read_all(path, IDENT_MAX_FILE, &ca, &calen);
	if (r == 0)
		r = link_set_ca_pem(l, ca, calen);
	free(ca);
	if (r == 0)
		r = link_set_creds(l, id->pem, id->pem_len, id->pem, id->pem_len);
	if (r < 0)
		snprintf(g_last_error, sizeof(g_last_error), "%s: cannot load CA or identity (%d)",
		    ac->state_dir, r);
	return r;
}

static int heartbeat(struct link *l, cJSON *status, cJSON **answer)
{
	struct http_client_response resp;
	char *body = status ? cJSON_PrintUnformatted(status) : NULL;
	int r;

	if (answer)
		*answer = NULL;
	r = link_request(l, "POST", "/v1/agent/heartbeat", NULL, 0, body ? body : "{}",
	    body ? strlen(body) : 2, &resp);
	cJSON_free(body);
	if (r < 0) {
		snprintf(g_last_error, sizeof(g_last_error), "%s", l->last_error);
		return r;
	}
	if (resp.resp.status != 200) {
		snprintf(g_last_error, sizeof(g_last_error), "heartbeat: HTTP %d", resp.resp.status);
		r = resp.resp.status == 403 ? -EACCES : -EPROTO;
	} else if (answer) {
		*answer = cJSON_ParseWithLength((const char *)resp.resp.body, resp.resp.body_len);
		if (!cJSON_IsObject(*answer)) {
			cJSON_Delete(*answer);
			*answer = NULL;
			snprintf(g_last_error, sizeof(g_last_error), "heartbeat: bad answer");
			r = -EPROTO;
		}
	}
	http_client_response_free(&resp);
	return r;
}

int agent_heartbeat_once(const struct config *cfg, struct event_log *log,
    const struct agent_ident *id, cJSON **answer)
{
	struct link l;
	int r = open_link(cfg, log, id, &l);

	if (r == 0)
		r = heartbeat(&l, NULL, answer);
	link_free(&l);
	return r;
}

/* ---- the worker ------------------------------------------------------------ */

struct worker_ctx {
	const struct config *cfg;
	struct agent_ident id;
	int64_t renew_at;              /* with jitter; 0 = unknown yet */
	uint64_t last_renew_ms;        /* time_mono_ms of the last attempt */
	int quarantined;
	char acked[16][40];            /* command ids carried out, to ack next time */
	size_t n_acked;
};

static void emit(struct event_log *log, enum event_level lv, const char *name, cJSON *d)
{
	if (log)
		event_emit(log, lv, name, d);
	else
		cJSON_Delete(d);
}

/* Renew over mTLS: new key, CSR, POST /v1/agent/renew; the new identity is
 * tried with a heartbeat on a fresh link before it replaces the old file. */
static int renew(struct worker_ctx *w, struct link *l, struct event_log *log)
{
	const struct config_agent *ac = config_get_agent(w->cfg);
	struct key_p256 key;
	unsigned char *csr = NULL;
	char *csr_pem = NULL, *body = NULL, *pem = NULL;
	size_t csr_len = 0, pl = 0, il = 0;
	struct http_client_response resp;
	struct agent_ident nid;
	struct link nl;
	cJSON *req = NULL, *ans = NULL, *jc;
	char path[IDENT_MAX_PATH];
	int r;

	memset(&resp, 0, sizeof(resp));
	memset(&nid, 0, sizeof(nid));
	memset(&nl, 0, sizeof(nl));
	r = key_generate(&key);
	if (r == 0)
		r = csr_build(&key, w->id.agent_id, NULL, &csr, &csr_len);
	if (r == 0)
		r = pem_encode("CERTIFICATE REQUEST", csr, csr_len, &csr_pem, &pl);
	if (r < 0)
		goto out;
	r = -ENOMEM;
	req = cJSON_CreateObject();
	if (!req || !cJSON_AddStringToObject(req, "csr", csr_pem) ||
	    !(body = cJSON_PrintUnformatted(req)))
		goto out;
	r = link_request(l, "POST", "/v1/agent/renew", NULL, 0, body, strlen(body), &resp);
	if (r < 0)
		goto out;
	r = -EPROTO;
	if (resp.resp.status != 201)
		goto out;
	ans = cJSON_ParseWithLength((const char *)resp.resp.body, resp.resp.body_len);
	jc = cJSON_GetObjectItemCaseSensitive(ans, "certificate");
	if (!cJSON_IsString(jc))
		goto out;
	r = ident_compose(&key, jc->valuestring, &pem, &il);
	if (r == 0)
		r = ident_from_pem(pem, il, &nid);
	if (r < 0)
		goto out;
	/* keep the old certificate until the new one works */
	r = open_link(w->cfg, log, &nid, &nl);
	if (r == 0)
		r = heartbeat(&nl, NULL, NULL);
	if (r < 0)
		goto out;
	r = ident_path(ac->state_dir, IDENT_FILE, path);
	if (r == 0)
		r = file_write_atomic(path, pem, il, 0600);
	if (r < 0)
		goto out;
	r = link_set_creds(l, nid.pem, nid.pem_len, nid.pem, nid.pem_len);
	{
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "serial", nid.serial);
		cJSON_AddStringToObject(d, "previous_serial", w->id.serial);
		cJSON_AddNumberToObject(d, "not_after", (double)nid.not_after);
		emit(log, EVENT_INFO, "certificate_renewed", d);
	}
	ident_free(&w->id);
	w->id = nid;
	memset(&nid, 0, sizeof(nid));
	w->renew_at = 0;
out:
	if (r < 0) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "error", r);
		cJSON_AddNumberToObject(d, "http_status", resp.resp.status);
		emit(log, EVENT_WARN, "certificate_renewal_failed", d);
	}
	key_wipe(&key);
	free(csr);
	free(csr_pem);
	cJSON_free(body);
	if (pem) {
		explicit_bzero(pem, il);
		free(pem);
	}
	cJSON_Delete(req);
	cJSON_Delete(ans);
	http_client_response_free(&resp);
	ident_free(&nid);
	link_free(&nl);
	return r;
}

static void set_quarantine(struct worker_ctx *w, int sock, struct event_log *log, int on)
{
	const struct config_agent *ac = config_get_agent(w->cfg);
	char path[IDENT_MAX_PATH];
	struct msg m;

	if (on == w->quarantined)
		return;
	w->quarantined = on;
	if (ident_path(ac->state_dir, IDENT_QUARANTINE, path) == 0) {
		if (on)
			ignore_rc(file_write_atomic(path, "1\n", 2, 0600));
		else
			(void)unlink(path);
	}
	msg_init(&m, MSG_LOCKDOWN);
	m.flag = on ? 1 : 0;
	ignore_rc(msg_send(sock, &m));
	emit(log, EVENT_WARN, on ? "agent_quarantined" : "agent_released", cJSON_CreateObject());
}

/* Returns 1 when the agent must stop (revoked), 0 otherwise. */
static int obey(struct worker_ctx *w, int sock, struct link *l, struct event_log *log,
    cJSON *ans)
{
	cJSON *cmds = cJSON_GetObjectItemCaseSensitive(ans, "commands"), *c;
	cJSON *q = cJSON_GetObjectItemCaseSensitive(ans, "quarantined");
	cJSON *ra = cJSON_GetObjectItemCaseSensitive(ans, "renew_after");
	cJSON *rv = cJSON_GetObjectItemCaseSensitive(ans, "revoked");

	if (cJSON_IsNumber(ra) && w->renew_at == 0) {
		/* jitter: up to 1/10 of the remaining time before renew_after */
		int64_t now = time(NULL), base = (int64_t)ra->valuedouble, span = 0;
		uint64_t rnd = 0;
		if (base > now)
			span = (base - now) / 10;
		if (span > 0 && rng_bytes(&rnd, sizeof(rnd)) == 0)
			base += (int64_t)(rnd % (uint64_t)span);
		w->renew_at = base;
	}
	if (cJSON_IsTrue(rv)) {
		const struct config_agent *ac = config_get_agent(w->cfg);
		cJSON *d = cJSON_CreateObject();
		int r = ident_wipe(ac->state_dir);
		cJSON_AddStringToObject(d, "identity", w->id.uri);
		cJSON_AddStringToObject(d, "serial", w->id.serial);
		cJSON_AddBoolToObject(d, "key_wiped", r == 0);
		cJSON_AddStringToObject(d, "way_out", "re-register with a new installation token "
		    "(stavily agent register)");
		emit(log, EVENT_CRITICAL, "agent_revoked", d);
		return 1;
	}
	if (cJSON_IsBool(q))
		set_quarantine(w, sock, log, cJSON_IsTrue(q));
	cJSON_ArrayForEach(c, cmds) {
		cJSON *id = cJSON_GetObjectItemCaseSensitive(c, "id");
		cJSON *ty = cJSON_GetObjectItemCaseSensitive(c, "type");
		if (!cJSON_IsString(id) || !cJSON_IsString(ty) || strlen(id->valuestring) >= 40)
			continue;
		if (strcmp(ty->valuestring, "quarantine") == 0)
			set_quarantine(w, sock, log, 1);
		else if (strcmp(ty->valuestring, "release") == 0)
			set_quarantine(w, sock, log, 0);
		else if (strcmp(ty->valuestring, "rotate") == 0)
			(void)renew(w, l, log);
		if (w->n_acked < 16)
			snprintf(w->acked[w->n_acked++], sizeof(w->acked[0]), "%s", id->valuestring);
	}
	return 0;
}

static cJSON *status_body(struct worker_ctx *w)
{
	cJSON *s = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(s, "acked_commands");

	for (size_t i = 0; i < w->n_acked; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(w->acked[i]));
	cJSON_AddStringToObject(s, "type", config_get_agent(w->cfg)->type == CONFIG_AGENT_SENSOR ?
	    "sensor" : "action");
	cJSON_AddBoolToObject(s, "quarantined", w->quarantined);
	cJSON_AddNumberToObject(s, "certificate_not_after", (double)w->id.not_after);
	return s;
}

/* Wait up to ms for SIGTERM or the spawner; returns 1 if we must stop. */
static int idle(int sock, uint64_t ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	if (g_stop)
		return 1;
	if (poll(&p, 1, ms > 600000 ? 600000 : (int)ms) > 0) {
		struct msg m;
		enum msg_error why;
		msg_init(&m, MSG_STATUS);
		if (p.revents & (POLLHUP | POLLERR))
			return 1;
		if (msg_recv(sock, &m, &why) == 0)
			msg_free(&m);   /* job messages: no job path yet */
	}
	return g_stop != 0;
}

static int worker_main(int sock, const int *fds, size_t n_fds, void *arg)
{
	struct worker_ctx *w = arg;
	const struct config_agent *ac = config_get_agent(w->cfg);
	struct event_log *log;
	struct backoff bo;
	struct link l;
	struct msg m;
	int rc = 0, linked = 0;

	(void)fds;
	(void)n_fds;
	log = agent_open_log(w->cfg, w->id.agent_id);
	if (backoff_init(&bo, 500, 60000) != 0)
		return 1;
	while (!g_stop) {
		cJSON *ans = NULL, *st;
		int r;

		if (!linked) {
			r = open_link(w->cfg, log, &w->id, &l);
			if (r < 0) {
				link_free(&l);
				rc = 1;
				break;
			}
			linked = 1;
		}
		st = status_body(w);
		r = heartbeat(&l, st, &ans);
		cJSON_Delete(st);
		if (r == 0) {
			w->n_acked = 0;
			backoff_reset(&bo);
			if (obey(w, sock, &l, log, ans)) {
				cJSON_Delete(ans);
				rc = AGENT_EXIT_REVOKED;
				break;
			}
			cJSON_Delete(ans);
			/* at most one attempt per RENEW_MIN_GAP_MS: a lifetime so short
			 * that renew_after is already past must not become a storm */
			if (w->renew_at && time(NULL) >= w->renew_at &&
			    (w->last_renew_ms == 0 ||
			    time_mono_ms() - w->last_renew_ms >= RENEW_MIN_GAP_MS)) {
				w->last_renew_ms = time_mono_ms();
				if (renew(w, &l, log) < 0)
					w->renew_at = 0;   /* ask again, retry after the gap */
			}
			if (idle(sock, ac->heartbeat_interval_ms))
				break;
		} else {
			cJSON *d = cJSON_CreateObject();
			cJSON_AddStringToObject(d, "error", g_last_error);
			emit(log, EVENT_WARN, "heartbeat_failed", d);
			if (idle(sock, backoff_next(&bo)))
				break;
		}
	}
	if (linked)
		link_free(&l);
	msg_init(&m, MSG_SHUTDOWN);
	ignore_rc(msg_send(sock, &m));
	event_log_free(log);
	ident_free(&w->id);
	return rc;
}

static int parse_user(const char *s, uid_t *uid, gid_t *gid)
{
	unsigned long u, g;
	char *e;

	*uid = 65534;
	*gid = 65534;
	if (!s)
		return 0;
	u = strtoul(s, &e, 10);
	if (*e != ':')
		return -EINVAL;
	g = strtoul(e + 1, &e, 10);
	if (*e)
		return -EINVAL;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	return 0;
}

/* The worker (another uid when we are root) owns the state directory. */
static void hand_state_to(const char *dir, const char *logfile, uid_t uid, gid_t gid)
{
	const char *names[] = { IDENT_FILE, IDENT_CA_FILE, IDENT_QUARANTINE };
	char path[IDENT_MAX_PATH];

	if (geteuid() != 0)
		return;
	(void)chown(dir, uid, gid);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ident_path(dir, names[i], path) == 0)
			(void)lchown(path, uid, gid);
	/* the worker reopens the event log after dropping root */
	if (logfile)
		(void)lchown(logfile, uid, gid);
}

int agent_run_main(const char *cfg_path, const char *const *sets, size_t n_sets)
{
	struct config *cfg = NULL;
	const struct config_agent *ac;
	struct event_log *log = NULL;
	struct worker_ctx w;
	struct privsep_spec spec;
	struct privsep_worker pw = { 0, -1 };
	struct sandbox_policy pol;
	struct spawner sp;
	struct sigaction sa;
	char err[PRIVSEP_ERR_LEN], serr[SANDBOX_ERR_LEN], logdir[IDENT_MAX_PATH];
	int rc, r, st, have_pol = 0, have_sp = 0;

	memset(&w, 0, sizeof(w));
	rc = agent_load_config(cfg_path, sets, n_sets, &cfg);
	if (rc)
		return rc;
	rc = EXIT_FAIL;
	ac = config_get_agent(cfg);
	w.cfg = cfg;
	log = agent_open_log(cfg, ac->id);
	if (!log)
		goto out;
	r = ident_load(ac->state_dir, &w.id);
	if (r == -ENOENT) {
		char tok[512];
		int have = agent_read_token(ac, NULL, tok) == 0;
		explicit_bzero(tok, sizeof(tok));
		if (!have) {
			cli_error("not registered and no installation token available: run `stavily "
			    "agent register` or set STAVILY_INSTALLATION_TOKEN");
			goto out;
		}
		if (agent_register(cfg, log, NULL, 1) != EXIT_OK)
			goto out;
		r = ident_load(ac->state_dir, &w.id);
	}
	if (r < 0) {
		cli_error("%s/%s: %s", ac->state_dir, IDENT_FILE, r > -4000 ? strerror(-r) :
		    "unusable identity");
		goto out;
	}
	ignore_rc(event_log_set_agent_id(log, w.id.agent_id));
	if (time(NULL) >= w.id.not_after) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "not_after", (double)w.id.not_after);
		cJSON_AddStringToObject(d, "way_out", "re-register with a new installation token");
		emit(log, EVENT_CRITICAL, "certificate_expired", d);
		cli_error("the agent certificate has expired: re-register with a new token");
		goto out;
	}
	if (!ac->orchestrator_url) {
		cli_error("agent.orchestrator_url is required");
		rc = EXIT_CONFIG;
		goto out;
	}
	sandbox_policy_init_default(&pol);
	have_pol = 1;
	if (config_sandbox(cfg, ac->type == CONFIG_AGENT_SENSOR ? "sensor.sandbox" : NULL) &&
	    sandbox_policy_from_config(&pol, config_sandbox(cfg, ac->type == CONFIG_AGENT_SENSOR ?
	    "sensor.sandbox" : NULL), serr) != 0) {
		cli_error("sandbox policy: %s", serr);
		rc = EXIT_CONFIG;
		goto out;
	}
	if (spawner_init(&sp, &pol, ac->plugins_dir, ac->type == CONFIG_AGENT_SENSOR ?
	    MANIFEST_SENSOR : MANIFEST_ACTION, ac->max_concurrent_jobs ? ac->max_concurrent_jobs : 1,
	    log) != 0) {
		cli_error("cannot initialise the spawner");
		goto out;
	}
	have_sp = 1;

	memset(&spec, 0, sizeof(spec));
	spec.state_dir = ac->state_dir;
	if (config_get_logging(cfg)->file) {
		snprintf(logdir, sizeof(logdir), "%s", config_get_logging(cfg)->file);
		spec.log_dir = dirname(logdir);
	}
	if (parse_user(ac->user, &spec.uid, &spec.gid) < 0) {
		cli_error("agent.user: want uid:gid");
		rc = EXIT_CONFIG;
		goto out;
	}
	hand_state_to(ac->state_dir, config_get_logging(cfg)->file, spec.uid, spec.gid);
	spec.main = worker_main;
	spec.arg = &w;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = privsep_start_worker(&spec, &pw, err);
	if (r < 0) {
		cli_error("cannot start the network worker: %s", err);
		goto out;
	}
	g_worker_pid = pw.pid;
	if (g_stop)
		kill(pw.pid, SIGTERM);
	{
		cJSON *d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "spawner_pid", getpid());
		cJSON_AddNumberToObject(d, "worker_pid", pw.pid);
		cJSON_AddStringToObject(d, "identity", w.id.uri);
		emit(log, EVENT_INFO, "agent_started", d);
	}
	if (privsep_restrict_spawner(err) != 0)
		cli_error("warning: spawner restriction: %s", err);
	r = spawner_run(&sp, pw.sock);
	st = privsep_stop_worker(&pw, 5000);
	g_worker_pid = 0;
	if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == AGENT_EXIT_REVOKED) {
		cli_error("the orchestrator revoked this agent: key and certificate wiped; "
		    "re-register with a new installation token");
		rc = AGENT_EXIT_REVOKED;
	} else if (st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0 && r == 0) {
		rc = EXIT_OK;
	} else {
		cli_error("network worker ended (status 0x%x)", st);
	}
	emit(log, EVENT_INFO, "agent_stopped", cJSON_CreateObject());
out:
	if (have_sp)
		spawner_free(&sp);
	if (have_pol)
		sandbox_policy_free(&pol);
	ident_free(&w.id);
	event_log_free(log);
	config_free(cfg);
	return rc;
}
