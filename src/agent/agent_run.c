/*
 * agent_run.c: `stavily agent run` (agent_run.h).
 */
#include "agent/agent_run.h"

#include <errno.h>
#include <ftw.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent/backoff.h"
#include "agent/deliver.h"
#include "agent/detect.h"
#include "agent/link.h"
#include "agent/msg.h"
#include "agent/privsep.h"
#include "agent/sensor.h"
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

/* Jobs in flight and remembered job ids. */
#define WORKER_MAX_RUNNING SPAWNER_MAX_JOBS
#define WORKER_SEEN 256

/* While jobs run, the worker asks the orchestrator for more at most this
 * often (it waits on the spawner for their results meanwhile). */
#define RUNNING_POLL_MS 50

/* Least time between two renewal attempts. */
#define RENEW_MIN_GAP_MS 10000

static char g_last_error[640];
static volatile sig_atomic_t g_stop;
static volatile pid_t g_worker_pid;
static volatile sig_atomic_t g_hup;
/* The worker's live orchestrator connection (link_set_cancel): SIGTERM shuts
 * it down so a long poll ends at once instead of after up to 10 s. */
static volatile sig_atomic_t g_conn_fd = -1;

const char *agent_last_error(void)
{
	return g_last_error;
}

static void on_hup(int sig)
{
	(void)sig;
	g_hup = 1;
	if (g_worker_pid > 0)
		kill(g_worker_pid, SIGHUP);
}

static void on_term(int sig)
{
	(void)sig;
	g_stop = 1;
	if (g_worker_pid > 0)
		kill(g_worker_pid, SIGTERM);
	else if (g_conn_fd >= 0)    /* in the worker: end a blocked request now */
		(void)shutdown(g_conn_fd, SHUT_RDWR);
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

/* Sensor plugins followed by one worker; limits applied to each (sensor.h). */
#define WORKER_SENSORS 32
#define SENSOR_RATE_PER_SEC 5000.0
#define SENSOR_BURST 20000.0
#define SENSOR_MAX_EVENT_BYTES (16 * 1024)
#define SENSOR_WINDOW_MS 10000

struct worker_ctx {
	const struct config *cfg;
	struct agent_ident id;
	int64_t renew_at;              /* with jitter; 0 = unknown yet */
	uint64_t last_renew_ms;        /* time_mono_ms of the last attempt */
	int quarantined;
	int lockdown;                  /* STATE/lockdown exists */
	int spawner_locked;            /* LOCKDOWN 1 sent */
	char acked[16][40];            /* command ids carried out, to ack next time */
	size_t n_acked;
	struct spool *spool;           /* results and events, NULL if unusable */
	int spool_cb;
	int pending;                   /* something may wait in the spool */
	char running[WORKER_MAX_RUNNING][MSG_ID_MAX + 1];   /* "" = free */
	size_t n_running;
	char seen[WORKER_SEEN][MSG_ID_MAX + 1];   /* recent job ids: never run twice */
	size_t seen_next;
	struct detect det;             /* agent-side detection rules (detect.h) */
	struct event_log *log;         /* the worker's log (for detect_raise) */
	unsigned long seen_connects, seen_failures;
	struct {                       /* sensor agents: one stream per plugin */
		char name[MSG_ID_MAX + 1];
		struct sensor *s;
		char *settings;            /* its SENSOR_CONFIG text, NULL = config defaults */
	} sensors[WORKER_SENSORS];
	uint8_t sensor_key[SENSOR_KEY_LEN];   /* pseudonymization key of this run */
	uint64_t sensor_lost;          /* sensor events not spooled since the last report */
	int sensor_lost_err;           /* -errno of the last such append */
	uint64_t last_overflow_ms;     /* time of the last spool_overflow event */
	uint64_t events_lost;          /* own events the spool refused since the last report */
	uint64_t spool_cap;            /* agent.spool_max_size */
	uint64_t last_poll_ms;         /* time of the last job poll */
	int backpressure;              /* critical data alone fills the cap: no new jobs */
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
	{
		/* the answer's CA and backup CA replace the stored bundle: after
		 * a CA rollover the next backup CA reaches us this way (a failure
		 * keeps the old bundle, which still works) */
		cJSON *jca = cJSON_GetObjectItemCaseSensitive(ans, "ca");
		cJSON *jb = cJSON_GetObjectItemCaseSensitive(ans, "ca_backup");
		char *both = NULL, *pinned = NULL;
		if (cJSON_IsString(jca) && asprintf(&both, "%s%s", jca->valuestring,
		    cJSON_IsString(jb) ? jb->valuestring : "") < 0)
			both = NULL;
		if (both)
			pinned = link_pinned_ca_pem(both, strlen(both),
			    (const char *const *)ac->ca_pins.v, ac->ca_pins.n);
		/* stored whole, as at registration (the pins pick the anchors at
		 * load time), but only when it still holds a pinned CA */
		if (pinned && ident_path(ac->state_dir, IDENT_CA_FILE, path) == 0 &&
		    file_write_atomic(path, both, strlen(both), 0600) < 0)
			emit(log, EVENT_WARN, "ca_bundle_not_saved", NULL);
		free(pinned);
		free(both);
	}
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

/* The spawner refuses jobs (and has killed running ones) while the agent is
 * quarantined by the orchestrator or locked down locally. */
static void sync_spawner_lock(struct worker_ctx *w, int sock)
{
	int want = w->quarantined || w->lockdown;
	struct msg m;

	if (want == w->spawner_locked)
		return;
	msg_init(&m, MSG_LOCKDOWN);
	m.flag = want ? 1 : 0;
	if (msg_send(sock, &m) == 0)
		w->spawner_locked = want;
}

static void set_quarantine(struct worker_ctx *w, int sock, struct event_log *log, int on)
{
	const struct config_agent *ac = config_get_agent(w->cfg);
	char path[IDENT_MAX_PATH];

	if (on == w->quarantined)
		return;
	w->quarantined = on;
	if (ident_path(ac->state_dir, IDENT_QUARANTINE, path) == 0) {
		if (on)
			ignore_rc(file_write_atomic(path, "1\n", 2, 0600));
		else
			(void)unlink(path);
	}
	sync_spawner_lock(w, sock);
	emit(log, EVENT_WARN, on ? "agent_quarantined" : "agent_released", cJSON_CreateObject());
}

/* The local incident switch (`agent lockdown`): STATE/lockdown exists. */
static void check_lockdown(struct worker_ctx *w, int sock, struct event_log *log)
{
	const struct config_agent *ac = config_get_agent(w->cfg);
	char path[IDENT_MAX_PATH];
	int on;
	cJSON *d;

	if (ident_path(ac->state_dir, IDENT_LOCKDOWN, path) < 0)
		return;
	on = access(path, F_OK) == 0;
	if (on == w->lockdown)
		return;
	w->lockdown = on;
	sync_spawner_lock(w, sock);
	d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "engaged", on);
	emit(log, EVENT_WARN, on ? "agent_lockdown" : "agent_lockdown_released", d);
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

/* ---- jobs ---------------------------------------------------------------- */

static int job_running(const struct worker_ctx *w, const char *id)
{
	for (size_t i = 0; i < WORKER_MAX_RUNNING; i++)
		if (w->running[i][0] && strcmp(w->running[i], id) == 0)
			return (int)i;
	return -1;
}

static int job_seen(struct worker_ctx *w, const char *id, int remember)
{
	for (size_t i = 0; i < WORKER_SEEN; i++)
		if (strcmp(w->seen[i], id) == 0)
			return 1;
	if (remember) {
		snprintf(w->seen[w->seen_next], sizeof(w->seen[0]), "%s", id);
		w->seen_next = (w->seen_next + 1) % WORKER_SEEN;
	}
	return 0;
}

static void job_finished(struct worker_ctx *w, const char *id)
{
	int i = job_running(w, id);

	if (i >= 0) {
		w->running[i][0] = 0;
		w->n_running--;
	}
}

/* The result is durable in the spool before anything else happens. */
static void job_result(struct worker_ctx *w, struct event_log *log, const char *id, cJSON *res)
{
	int r = w->spool ? deliver_job_result(w->spool, id, res) : -ENOSYS;

	if (r < 0) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "job_id", id);
		cJSON_AddNumberToObject(d, "error", r);
		emit(log, EVENT_ERROR, "job_result_not_spooled", d);
	}
	w->pending = 1;
}

static void job_refused_locally(struct worker_ctx *w, struct event_log *log, const char *id,
    const char *why)
{
	cJSON *res = cJSON_CreateObject();

	cJSON_AddStringToObject(res, "status", "refused");
	cJSON_AddStringToObject(res, "error", why);
	job_result(w, log, id, res);
	cJSON_Delete(res);
}

/*
 * The job's pinned digest ("sha256") and sandbox limits ("policy") into the
 * RUN_JOB message.  The worker only translates: the spawner checks the pin
 * against the plugin it hashes and refuses any limit that loosens the local
 * policy.  Returns 0, or -1 with `why` for a refusal.
 */
static int job_pin_and_policy(const cJSON *job, struct msg *m, char why[MANIFEST_ERR_LEN])
{
	const cJSON *dig = cJSON_GetObjectItemCaseSensitive(job, "sha256");
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(job, "policy"), *v;

	if (dig) {
		if (!cJSON_IsString(dig) || strlen(dig->valuestring) >= sizeof(m->digest)) {
			snprintf(why, MANIFEST_ERR_LEN, "bad sha256 pin");
			return -1;
		}
		snprintf(m->digest, sizeof(m->digest), "%s", dig->valuestring);
	}
	if (!pol)
		return 0;
	if (!cJSON_IsObject(pol)) {
		snprintf(why, MANIFEST_ERR_LEN, "policy must be a JSON object");
		return -1;
	}
	cJSON_ArrayForEach(v, pol) {
		char *kv;
		if (m->n_limits >= MSG_LIMITS_MAX - 1) {   /* one left for wall_timeout */
			snprintf(why, MANIFEST_ERR_LEN, "policy: too many keys");
			return -1;
		}
		kv = manifest_policy_entry(v, why);
		if (!kv)
			return -1;
		m->limits[m->n_limits++] = kv;
	}
	return 0;
}

static void start_job(struct worker_ctx *w, int sock, struct event_log *log, cJSON *job)
{
	cJSON *id = cJSON_GetObjectItemCaseSensitive(job, "id");
	cJSON *pl = cJSON_GetObjectItemCaseSensitive(job, "plugin");
	cJSON *args = cJSON_GetObjectItemCaseSensitive(job, "args");
	cJSON *to = cJSON_GetObjectItemCaseSensitive(job, "timeout");
	char lim[64], why[MANIFEST_ERR_LEN];
	struct msg m;
	int slot = -1;

	if (!cJSON_IsString(id) || !msg_id_valid(id->valuestring))
		return;     /* cannot even be answered */
	if (job_seen(w, id->valuestring, 1) || job_running(w, id->valuestring) >= 0)
		return;     /* handed out again after a restart: the spool re-posts */
	if (!cJSON_IsString(pl) || !msg_id_valid(pl->valuestring)) {
		job_refused_locally(w, log, id->valuestring, "bad plugin name");
		return;
	}
	if (w->quarantined || w->lockdown) {
		job_refused_locally(w, log, id->valuestring, w->quarantined ? "agent quarantined" :
		    "agent in local lockdown");
		return;
	}
	if (args && !cJSON_IsObject(args)) {
		job_refused_locally(w, log, id->valuestring, "args must be a JSON object");
		return;
	}
	for (size_t i = 0; i < WORKER_MAX_RUNNING; i++)
		if (!w->running[i][0]) {
			slot = (int)i;
			break;
		}
	if (slot < 0) {
		job_refused_locally(w, log, id->valuestring, "too many jobs in flight");
		return;
	}
	msg_init(&m, MSG_RUN_JOB);
	snprintf(m.job_id, sizeof(m.job_id), "%s", id->valuestring);
	snprintf(m.plugin, sizeof(m.plugin), "%s", pl->valuestring);
	m.args = args ? cJSON_PrintUnformatted(args) : strdup("{}");
	if (job_pin_and_policy(job, &m, why) < 0) {
		msg_free(&m);
		job_refused_locally(w, log, id->valuestring, why);
		return;
	}
	if (cJSON_IsNumber(to) && to->valuedouble >= 1 && to->valuedouble < 1e7 &&
	    m.n_limits < MSG_LIMITS_MAX) {
		snprintf(lim, sizeof(lim), "wall_timeout=%.0fs", to->valuedouble);
		m.limits[m.n_limits++] = strdup(lim);
	}
	if (!m.args || strlen(m.args) > MSG_ARGS_MAX || msg_send(sock, &m) != 0) {
		msg_free(&m);
		job_refused_locally(w, log, id->valuestring, "arguments too large or spawner gone");
		return;
	}
	msg_free(&m);
	snprintf(w->running[slot], sizeof(w->running[0]), "%s", id->valuestring);
	w->n_running++;
}

static const char *job_status(const cJSON *res)
{
	const cJSON *ec = cJSON_GetObjectItemCaseSensitive(res, "exit_code");
	const cJSON *lim = cJSON_GetObjectItemCaseSensitive(res, "limits_hit"), *it;

	cJSON_ArrayForEach(it, lim)
		if (cJSON_IsString(it) && strcmp(it->valuestring, "wall_time") == 0)
			return "timeout";
	return cJSON_IsNumber(ec) && ec->valuedouble == 0 ? "succeeded" : "failed";
}

static void sensor_emit(void *ctx, const char *line, size_t len)
{
	struct worker_ctx *w = ctx;
	int r = w->spool ? deliver_sensor_event(w->spool, line, len) : -ENOSYS;

	if (r < 0) {
		/* counted, reported once per SENSOR_WINDOW_MS (spool_report) */
		w->sensor_lost++;
		w->sensor_lost_err = r;
	}
	w->pending = 1;
}

/* Spool overflow (the cap) and a full disk become events, at most once per
 * SENSOR_WINDOW_MS; the counts say how much was lost in between. */
static void spool_report(struct worker_ctx *w)
{
	uint64_t dropped = 0, refused = 0, crit = 0, now = time_mono_ms();

	if (!w->spool || (w->last_overflow_ms && now - w->last_overflow_ms < SENSOR_WINDOW_MS))
		return;
	if (spool_overflow_take(w->spool, &dropped, &refused, &crit) || w->sensor_lost ||
	    w->events_lost) {
		uint64_t lost = w->events_lost;
		cJSON *d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "sensor_dropped", (double)dropped);
		cJSON_AddNumberToObject(d, "sensor_refused", (double)refused);
		cJSON_AddNumberToObject(d, "critical_refused", (double)crit);
		cJSON_AddNumberToObject(d, "sensor_not_spooled", (double)w->sensor_lost);
		if (w->sensor_lost)
			cJSON_AddStringToObject(d, "error", strerror(-w->sensor_lost_err));
		/* an event raised while the disk is full is itself lost: it
		 * counts, and the next window reports again */
		cJSON_AddNumberToObject(d, "events_not_spooled", (double)lost);
		w->sensor_lost = 0;
		w->events_lost = 0;
		w->last_overflow_ms = now;
		emit(w->log, EVENT_ERROR, "spool_overflow", d);
		w->pending = 1;
	}
}

static void sensor_report(void *ctx, const char *event, cJSON *details)
{
	struct worker_ctx *w = ctx;

	emit(w->log, EVENT_WARN, event, details);
	w->pending = 1;
}

/* The stream of plugin `name` (created on first use); NULL if none left.
 * `settings` (SENSOR_CONFIG text from the spawner, NULL = the config's
 * `sensor` section) replaces the stream's settings when it differs: the
 * old stream is finished (its pending reports sent) and the sequence goes
 * on. */
static struct sensor *sensor_setup(struct worker_ctx *w, const char *name, const char *settings)
{
	struct sensor_settings st;
	struct sensor_config c;
	char err[128];
	size_t i, fr = WORKER_SENSORS;
	uint64_t seq = 0;
	int r;

	for (i = 0; i < WORKER_SENSORS; i++) {
		if (w->sensors[i].s && strcmp(w->sensors[i].name, name) == 0) {
			const char *old = w->sensors[i].settings;
			if (settings == NULL || (old != NULL && strcmp(old, settings) == 0))
				return w->sensors[i].s;
			/* new settings: start over, keep counting */
			seq = sensor_sequence(w->sensors[i].s);
			sensor_finish(w->sensors[i].s, time_mono_ms());
			sensor_free(w->sensors[i].s);
			free(w->sensors[i].settings);
			w->sensors[i].s = NULL;
			w->sensors[i].settings = NULL;
			fr = i;
			break;
		}
		if (!w->sensors[i].s && fr == WORKER_SENSORS)
			fr = i;
	}
	if (fr == WORKER_SENSORS)
		return NULL;
	r = settings ? sensor_settings_from_json(&st, settings, err)
	    : sensor_settings_defaults(&st, &config_get_agent(w->cfg)->sensor, err);
	if (r != 0) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "plugin", name);
		cJSON_AddStringToObject(d, "error", err);
		emit(w->log, EVENT_ERROR, "sensor_settings_invalid", d);
		return NULL;
	}
	memset(&c, 0, sizeof(c));
	c.agent_id = w->id.agent_id;
	c.tenant = config_get_agent(w->cfg)->tenant;
	c.plugin = name;
	sensor_settings_apply(&st, &c);
	c.first_sequence = seq;
	memcpy(c.key, w->sensor_key, sizeof(c.key));
	c.emit = sensor_emit;
	c.report = sensor_report;
	c.ctx = w;
	w->sensors[fr].s = sensor_new(&c, time_mono_ms(), err);
	explicit_bzero(c.key, sizeof(c.key));
	sensor_settings_free(&st);
	if (!w->sensors[fr].s)
		return NULL;
	w->sensors[fr].settings = settings ? strdup(settings) : NULL;
	snprintf(w->sensors[fr].name, sizeof(w->sensors[fr].name), "%s", name);
	return w->sensors[fr].s;
}

static struct sensor *sensor_of(struct worker_ctx *w, const char *name)
{
	return sensor_setup(w, name, NULL);
}

/* Send the drop reports of windows that ended while a stream was quiet
 * (otherwise they would wait for its next output). */
static void sensor_ticks(struct worker_ctx *w)
{
	uint64_t now = time_mono_ms();

	for (size_t i = 0; i < WORKER_SENSORS; i++)
		if (w->sensors[i].s)
			sensor_tick(w->sensors[i].s, now);
}

/* A stream's run ended (spawner.h): sensor_exited says why and when it
 * comes back; an interval run that failed: sensor_plugin_failed. */
static void sensor_ended(struct worker_ctx *w, const char *plugin, cJSON *res)
{
	static const char *const keep[] = { "job_id", "exit_code", "signal", "limits_hit",
		"uptime_ms", "restarts", "restart_in_ms", "stopped" };
	const cJSON *ec = cJSON_GetObjectItemCaseSensitive(res, "exit_code");
	cJSON *d;
	size_t i;

	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(res, "stream"))) {
		if (cJSON_IsNumber(ec) && ec->valuedouble == 0)
			return;
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "plugin", plugin);
		cJSON_AddItemToObject(d, "result_exit_code", cJSON_Duplicate(ec, 1));
		cJSON_AddItemToObject(d, "limits_hit", cJSON_Duplicate(
		    cJSON_GetObjectItemCaseSensitive(res, "limits_hit"), 1));
		emit(w->log, EVENT_WARN, "sensor_plugin_failed", d);
		return;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "plugin", plugin);
	for (i = 0; i < ARRAY_SIZE(keep); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(res, keep[i]);
		if (v != NULL)
			cJSON_AddItemToObject(d, strcmp(keep[i], "job_id") == 0 ? "run" : keep[i],
			    cJSON_Duplicate(v, 1));
	}
	emit(w->log, EVENT_WARN, "sensor_exited", d);
}

/* A sensor run ended: its stdout lines go through sensor.h into the spool. */
static void sensor_done(struct worker_ctx *w, cJSON *res)
{
	const cJSON *pl = cJSON_GetObjectItemCaseSensitive(res, "plugin");
	const cJSON *out = cJSON_GetObjectItemCaseSensitive(res, "stdout");
	struct sensor *s;
	char *text = NULL;
	uint64_t now = time_mono_ms();

	if (!cJSON_IsString(pl) || !(s = sensor_of(w, pl->valuestring)))
		return;
	/* the lines came as JOB_OUTPUT; stdout here only from an older spawner */
	if (cJSON_IsString(out))
		sensor_feed(s, out->valuestring, strlen(out->valuestring), now);
	else if (out && !cJSON_IsNull(out) && (text = cJSON_PrintUnformatted(out)) != NULL)
		sensor_feed(s, text, strlen(text), now);
	free(text);
	sensor_finish(s, now);
	sensor_ended(w, pl->valuestring, res);
	w->pending = 1;
}

static int is_sensor_id(const char *id)
{
	return strncmp(id, "sensor.", 7) == 0;
}

/* "sensor.NAME.N" -> NAME (the spawner makes these ids; 0 or -EINVAL). */
static int sensor_name(const char *id, char name[MSG_ID_MAX + 1])
{
	const char *dot = strrchr(id, '.');

	if (!is_sensor_id(id) || dot == NULL || dot <= id + 7 || (size_t)(dot - id - 7) > MSG_ID_MAX)
		return -EINVAL;
	memcpy(name, id + 7, (size_t)(dot - id - 7));
	name[dot - id - 7] = '\0';
	return 0;
}

/* A chunk of a sensor run's stdout. */
static void sensor_output(struct worker_ctx *w, const struct msg *m)
{
	char name[MSG_ID_MAX + 1];
	struct sensor *s;

	if (m->stream != MSG_STREAM_STDOUT || sensor_name(m->job_id, name) != 0 ||
	    !(s = sensor_of(w, name)))
		return;
	sensor_feed(s, (const char *)m->data, m->data_len, time_mono_ms());
}

/*
 * One event of the spawner's own log (MSG_EVENT: blocked_syscall_attempt,
 * unauthorized_filesystem_access, resource_limit_exceeded, job_refused...):
 * into the spool as a security event (never dropped at the cap), sent like
 * the worker's events with a fresh spool id.  The spawner already wrote it
 * to the local log, so it does not go through the worker's log again.
 * Anything that is not one event object is dropped and counted.
 */
static void spawner_event(struct worker_ctx *w, const char *text)
{
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	int ok = cJSON_IsObject(o) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "event"));

	cJSON_Delete(o);
	if (!ok || !w->spool || deliver_event(w->spool, text, strlen(text)) != 0) {
		w->events_lost++;   /* reported by spool_report (events_not_spooled) */
		return;
	}
	w->pending = 1;
}

/* Read every message the spawner has queued (non-blocking). */
static void drain_spawner(struct worker_ctx *w, int sock, struct event_log *log, int *gone)
{
	for (int n = 0; n < 256; n++) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		struct msg m;
		enum msg_error why;
		cJSON *res;

		if (poll(&p, 1, 0) <= 0)
			return;
		if (!(p.revents & POLLIN)) {
			*gone = 1;
			return;
		}
		msg_init(&m, MSG_STATUS);
		if (msg_recv(sock, &m, &why) != 0) {
			if (p.revents & POLLHUP)
				*gone = 1;
			return;
		}
		switch (m.type) {
		case MSG_JOB_DONE:
			res = cJSON_Parse(m.text ? m.text : "");
			if (!cJSON_IsObject(res)) {
				cJSON_Delete(res);
				res = cJSON_CreateObject();
				cJSON_AddStringToObject(res, "error", "unreadable result from the spawner");
			}
			if (is_sensor_id(m.job_id)) {
				sensor_done(w, res);
				cJSON_Delete(res);
				break;
			}
			cJSON_DeleteItemFromObjectCaseSensitive(res, "status");
			cJSON_AddStringToObject(res, "status", job_status(res));
			job_result(w, log, m.job_id, res);
			cJSON_Delete(res);
			job_finished(w, m.job_id);
			break;
		case MSG_JOB_OUTPUT:
			if (is_sensor_id(m.job_id))
				sensor_output(w, &m);
			break;
		case MSG_SENSOR_CONFIG:
			/* the settings of the sensor run that follows (spawner.h) */
			(void)sensor_setup(w, m.job_id, m.text);
			break;
		case MSG_JOB_REFUSED:
			if (is_sensor_id(m.job_id)) {
				cJSON *d = cJSON_CreateObject();
				cJSON_AddStringToObject(d, "run", m.job_id);
				cJSON_AddStringToObject(d, "reason", m.text ? m.text : "refused");
				emit(log, EVENT_WARN, "sensor_refused", d);
				break;
			}
			job_refused_locally(w, log, m.job_id, m.text ? m.text : "refused");
			job_finished(w, m.job_id);
			break;
		case MSG_EVENT:
			spawner_event(w, m.text);
			break;
		default:
			break;
		}
		msg_free(&m);
	}
}

/* GET /v1/agent/jobs?wait=N; starts what arrives.  0 or <0. */
static int poll_jobs(struct worker_ctx *w, struct link *l, int sock, struct event_log *log,
    unsigned wait_s)
{
	struct http_client_response resp;
	char path[64];
	cJSON *ans, *jobs, *it;
	int r;

	snprintf(path, sizeof(path), "/v1/agent/jobs?wait=%u", wait_s);
	r = link_request(l, "GET", path, NULL, 0, NULL, 0, &resp);
	w->last_poll_ms = time_mono_ms();
	if (r < 0) {
		snprintf(g_last_error, sizeof(g_last_error), "%s", l->last_error);
		return r;
	}
	if (resp.resp.status == 204 || resp.resp.status == 404) {
		http_client_response_free(&resp);
		return 0;
	}
	if (resp.resp.status != 200) {
		snprintf(g_last_error, sizeof(g_last_error), "jobs: HTTP %d", resp.resp.status);
		http_client_response_free(&resp);
		return -EPROTO;
	}
	ans = cJSON_ParseWithLength((const char *)resp.resp.body, resp.resp.body_len);
	http_client_response_free(&resp);
	jobs = cJSON_GetObjectItemCaseSensitive(ans, "jobs");
	cJSON_ArrayForEach(it, jobs)
		start_job(w, sock, log, it);
	cJSON_Delete(ans);
	return 0;
}

/*
 * Backpressure at the spool's cap: sensor data is dropped first (store/
 * spool.h), but job results and security events never are.  When they alone
 * fill agent.spool_max_size, the worker stops asking for new jobs (they stay
 * queued at the orchestrator) until deliveries free room; the results of
 * jobs already running still fit in the spool's critical reserve (a quarter
 * of the cap).  Raises spool_backpressure {engaged} on each change.
 * Returns 1 while engaged.
 */
static int spool_backpressure(struct worker_ctx *w)
{
	struct spool_stats st;
	int on;

	if (!w->spool)
		return 0;
	spool_stats(w->spool, &st);
	on = st.critical_bytes >= w->spool_cap;
	if (on != w->backpressure) {
		cJSON *d = cJSON_CreateObject();
		w->backpressure = on;
		cJSON_AddBoolToObject(d, "engaged", on);
		cJSON_AddNumberToObject(d, "critical_bytes", (double)st.critical_bytes);
		cJSON_AddNumberToObject(d, "spool_max_size", (double)w->spool_cap);
		emit(w->log, on ? EVENT_ERROR : EVENT_INFO, "spool_backpressure", d);
		w->pending = 1;
	}
	return on;
}

/* Wait up to ms for SIGTERM or a message of the spawner; 1 if we must stop. */
static int idle(int sock, uint64_t ms)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };

	if (g_stop)
		return 1;
	if (ms)
		(void)poll(&p, 1, ms > 600000 ? 600000 : (int)ms);
	return g_stop != 0;
}

/* Events of the worker go to the spool (and so to the orchestrator). */
static void spool_sink(void *ctx, enum event_level level, const char *event, const char *line,
    size_t len)
{
	struct worker_ctx *w = ctx;

	(void)level;
	(void)event;
	if (w->spool && deliver_event(w->spool, line, len) == 0)
		w->pending = 1;
	else if (w->spool)
		w->events_lost++;   /* e.g. a full disk: spool_report says so later */
}

static void write_runtime(struct worker_ctx *w, int reachable)
{
	const struct config_agent *ac = config_get_agent(w->cfg);
	char path[IDENT_MAX_PATH], *txt;
	struct spool_stats st;
	cJSON *o = cJSON_CreateObject();

	memset(&st, 0, sizeof(st));
	if (w->spool)
		spool_stats(w->spool, &st);
	cJSON_AddNumberToObject(o, "time", (double)time(NULL));
	cJSON_AddBoolToObject(o, "orchestrator_reachable", reachable);
	cJSON_AddNumberToObject(o, "spool_depth", (double)(st.unacked_critical + st.unacked_sensor));
	cJSON_AddNumberToObject(o, "spool_bytes", (double)st.bytes);
	cJSON_AddNumberToObject(o, "running_jobs", (double)w->n_running);
	cJSON_AddBoolToObject(o, "quarantined", w->quarantined);
	cJSON_AddBoolToObject(o, "lockdown", w->lockdown);
	txt = cJSON_PrintUnformatted(o);
	if (txt && ident_path(ac->state_dir, IDENT_RUNTIME, path) == 0)
		ignore_rc(file_write_atomic(path, txt, strlen(txt), 0600));
	cJSON_free(txt);
	cJSON_Delete(o);
}

static void detect_raise(void *ctx, const char *event, int severity, cJSON *details)
{
	struct worker_ctx *w = ctx;

	emit(w->log, severity >= 2 ? EVENT_ERROR : EVENT_WARN, event, details);
}

static void detect_setup(struct worker_ctx *w)
{
	static const struct { enum detect_kind k; enum config_rule c; } map[] = {
		{ DETECT_TLS_HANDSHAKE_FAILED, CONFIG_RULE_TLS_HANDSHAKE_FAILED },
		{ DETECT_CERT_VALIDATION_FAILED, CONFIG_RULE_CERTIFICATE_VALIDATION_FAILED },
		{ DETECT_CONNECTION_TIMEOUT, CONFIG_RULE_CONNECTION_TIMEOUT_PATTERN },
		{ DETECT_RECONNECT, CONFIG_RULE_UNUSUAL_CONNECTION_PATTERN },
	};

	detect_init(&w->det, detect_raise, w);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!config_rule_enabled(w->cfg, map[i].c))
			ignore_rc(detect_set_rule(&w->det, map[i].k, false,
			    w->det.rules[map[i].k].threshold, w->det.rules[map[i].k].window_ms));
	w->det.expiry_enabled = config_rule_enabled(w->cfg, CONFIG_RULE_CERTIFICATE_EXPIRING);
}

/* Feed the link's connection attempts and failures to the rules. */
static void detect_link(struct worker_ctx *w, const struct link *l)
{
	uint64_t now = time_mono_ms();

	/* the first connection is not a reconnect */
	for (; w->seen_connects < l->connects; w->seen_connects++)
		if (w->seen_connects > 0)
			(void)detect_record(&w->det, DETECT_RECONNECT, now, NULL);
	if (w->seen_failures < l->connect_failures) {
		const struct tls_failure *f = &l->last_fail;
		w->seen_failures = l->connect_failures;
		if (f->sys_errno == ETIMEDOUT)
			(void)detect_record(&w->det, DETECT_CONNECTION_TIMEOUT, now, "ETIMEDOUT");
		else if (tls_failure_is_cert(f))
			(void)detect_record(&w->det, DETECT_CERT_VALIDATION_FAILED, now,
			    tls_verify_reason_name(f->verify_reason));
		else if (f->in_handshake && !f->sys_errno)
			(void)detect_record(&w->det, DETECT_TLS_HANDSHAKE_FAILED, now, f->br_err_name);
	}
	(void)detect_cert_expiry(&w->det, w->id.not_after, time(NULL));
}

/* How long the worker waits for the killed jobs' results, then for the last
 * delivery, when it stops (SIGTERM, revocation): about a second in all. */
#define STOP_JOBS_MS 1000
#define STOP_FLUSH_MS 1000

/*
 * Stopping: SHUTDOWN to the spawner (it kills every running plugin and
 * still reports each JOB_DONE), wait for those results (bounded), spool
 * them, then send what the spool holds over a fresh connection (the
 * SIGTERM handler shut the live one down), bounded too.  What cannot be
 * sent stays in the spool for the next start.
 */
static void worker_stop(struct worker_ctx *w, int sock, struct event_log *log, struct link *l,
    int *gone)
{
	uint64_t now = time_mono_ms(), until = now + STOP_JOBS_MS;
	struct msg m;

	msg_init(&m, MSG_SHUTDOWN);
	if (!*gone && msg_send(sock, &m) != 0)
		*gone = 1;
	while (w->n_running > 0 && !*gone && now < until) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		if (poll(&p, 1, (int)(until - now)) > 0)
			drain_spawner(w, sock, log, gone);
		now = time_mono_ms();
	}
	if (w->n_running > 0) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "running_jobs", (double)w->n_running);
		emit(log, EVENT_WARN, "job_results_missing_at_stop", d);
	}
	spool_report(w);
	if (!w->spool || !l)
		return;
	ignore_rc(spool_sync(w->spool));
	g_conn_fd = -1;     /* a second SIGTERM must not cut the last delivery */
	link_set_cancel(l, NULL, NULL);
	until = time_mono_ms() + STOP_FLUSH_MS;
	for (int i = 0; i < 8 && w->pending && time_mono_ms() < until; i++) {
		struct spool_stats st;
		int r = deliver_flush(w->spool, l);
		if (r < 0)
			break;
		spool_stats(w->spool, &st);
		w->pending = st.unacked_critical + st.unacked_sensor > 0;
		ignore_rc(spool_sync(w->spool));   /* events raised while sending */
	}
}

static int worker_main(int sock, const int *fds, size_t n_fds, void *arg)
{
	struct worker_ctx *w = arg;
	const struct config_agent *ac = config_get_agent(w->cfg);
	struct event_log *log;
	struct spool_options so;
	struct backoff bo;
	struct link l;
	char path[IDENT_MAX_PATH];
	uint64_t next_hb = 0, hb_ms = ac->heartbeat_interval_ms ? ac->heartbeat_interval_ms : 30000;
	int rc = 0, linked = 0, gone = 0, reachable = 0, flush_failed = 0, flush_progress = 0;
	size_t max_jobs = ac->max_concurrent_jobs ? ac->max_concurrent_jobs : 1;

	(void)fds;
	(void)n_fds;
	log = agent_open_log(w->cfg, w->id.agent_id);
	w->log = log;
	if (rng_bytes(w->sensor_key, sizeof(w->sensor_key)) != 0)
		return 1;
	detect_setup(w);
	/* a quarantine survives a restart (the orchestrator may be unreachable) */
	if (ident_path(ac->state_dir, IDENT_QUARANTINE, path) == 0 && access(path, F_OK) == 0) {
		w->quarantined = 1;
		sync_spawner_lock(w, sock);
	}
	memset(&so, 0, sizeof(so));
	so.flags = JOURNAL_CREATE;
	/* agent.spool_max_size; a record may take at most an eighth of it */
	so.max_bytes = ac->spool_max_size ? ac->spool_max_size : SPOOL_DEF_MAX_BYTES;
	so.max_record = so.max_bytes / 8 < SPOOL_DEF_MAX_RECORD ? (uint32_t)(so.max_bytes / 8) :
	    SPOOL_DEF_MAX_RECORD;
	w->spool_cap = so.max_bytes;
	if (ident_path(ac->state_dir, "spool", path) == 0 &&
	    spool_open(path, &so, &w->spool, NULL) == 0) {
		if (log && event_log_add_callback(log, spool_sink, w) < 0)
			w->spool_cb = 0;
	} else {
		w->spool = NULL;
		emit(log, EVENT_ERROR, "spool_unavailable", cJSON_CreateObject());
	}
	w->pending = 1;
	if (backoff_init(&bo, 500, 60000) != 0)
		return 1;
	while (!g_stop && !gone) {
		cJSON *ans = NULL, *st;
		uint64_t now = time_mono_ms();
		int r;

		if (g_hup) {    /* log rotation: reopen logging.file */
			g_hup = 0;
			if (log)
				ignore_rc(event_log_reopen(log));
		}
		if (!linked) {
			r = open_link(w->cfg, log, &w->id, &l);
			if (r < 0) {
				link_free(&l);
				rc = 1;
				break;
			}
			linked = 1;
			link_set_cancel(&l, &g_stop, &g_conn_fd);
		}
		if (now >= next_hb) {
			st = status_body(w);
			r = heartbeat(&l, st, &ans);
			cJSON_Delete(st);
			detect_link(w, &l);
			if (r < 0) {
				cJSON *d = cJSON_CreateObject();
				reachable = 0;
				cJSON_AddStringToObject(d, "error", g_last_error);
				emit(log, EVENT_WARN, "heartbeat_failed", d);
				write_runtime(w, reachable);
				/* keep taking results and sensor output into the spool
				 * while the orchestrator is away; the backoff delay is
				 * kept whatever the spawner sends meanwhile */
				uint64_t until = time_mono_ms() + backoff_next(&bo);
				int stop = 0;
				for (;;) {
					drain_spawner(w, sock, log, &gone);
					sensor_ticks(w);
					spool_report(w);
					if (w->spool)
						ignore_rc(spool_sync(w->spool));
					now = time_mono_ms();
					if (gone || now >= until)
						break;
					if ((stop = idle(sock, until - now)) != 0)
						break;
				}
				if (stop)
					break;
				continue;
			}
			reachable = 1;
			w->n_acked = 0;
			backoff_reset(&bo);
			next_hb = time_mono_ms() + hb_ms;
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
			write_runtime(w, reachable);
		}
		check_lockdown(w, sock, log);
		drain_spawner(w, sock, log, &gone);
		sensor_ticks(w);
		spool_report(w);
		if (w->spool && w->pending) {
			struct spool_stats sst;
			/* send first, then fsync what is left: a record the
			 * orchestrator acknowledged is durable there; one it did
			 * not is made durable here a send later (a process crash
			 * in between loses nothing: the page cache keeps it).
			 * Nothing is acknowledged to anyone before either. */
			r = deliver_flush(w->spool, &l);
			ignore_rc(spool_sync(w->spool));
			flush_failed = r < 0;
			flush_progress = r > 0;
			/* more may wait after a full batch, or events raised while
			 * sending (they were appended during the flush) */
			spool_stats(w->spool, &sst);
			w->pending = r != 0 || sst.unacked_critical + sst.unacked_sensor > 0;
		}
		now = time_mono_ms();
		if (ac->type == CONFIG_AGENT_ACTION) {
			/* long-poll until the next heartbeat is due (at most 10 s, so
			 * SIGTERM is honoured quickly); while jobs run, do not park:
			 * their results must be picked up from the spawner */
			uint64_t left = next_hb > now ? next_hb - now : 0;
			unsigned wait_s = w->n_running ? 0 : (unsigned)(left / 1000);
			if (wait_s > 10)
				wait_s = 10;
			/* while jobs run, ask for more at most every RUNNING_POLL_MS
			 * (and never at max_concurrent_jobs): a results-bound wait
			 * on the spawner is not delayed by a round trip */
			if (w->n_running && (w->n_running >= max_jobs ||
			    now - w->last_poll_ms < RUNNING_POLL_MS)) {
				uint64_t gap = RUNNING_POLL_MS - (now - w->last_poll_ms);
				if (now - w->last_poll_ms >= RUNNING_POLL_MS)
					gap = RUNNING_POLL_MS;
				if (idle(sock, gap < left ? gap : left))
					break;
				continue;
			}
			if (spool_backpressure(w)) {
				/* no new jobs: keep delivering while that works,
				 * else retry within a second */
				if ((!flush_progress || !w->pending) &&
				    idle(sock, left < 1000 ? left : 1000))
					break;
				continue;
			}
			if (poll_jobs(w, &l, sock, log, wait_s) < 0) {
				cJSON *d = cJSON_CreateObject();
				cJSON_AddStringToObject(d, "error", g_last_error);
				emit(log, EVENT_WARN, "job_poll_failed", d);
				if (idle(sock, backoff_next(&bo)))
					break;
				continue;
			}
			if (w->n_running || wait_s == 0) {
				now = time_mono_ms();
				left = next_hb > now ? next_hb - now : 0;
				if (idle(sock, left < RUNNING_POLL_MS ? left : RUNNING_POLL_MS))
					break;
			}
		} else {
			/* sensor agent: while the spool holds more than one batch,
			 * keep sending; after a failed send retry within a second */
			uint64_t left;
			now = time_mono_ms();
			left = next_hb > now ? next_hb - now : 0;
			if (w->pending)
				left = flush_failed ? (left < 1000 ? left : 1000) : 0;
			if (idle(sock, left))
				break;
		}
	}
	worker_stop(w, sock, log, linked ? &l : NULL, &gone);
	if (linked)
		link_free(&l);
	if (w->spool) {
		ignore_rc(spool_sync(w->spool));
		spool_close(w->spool);
		w->spool = NULL;
	}
	for (size_t i = 0; i < WORKER_SENSORS; i++) {
		sensor_free(w->sensors[i].s);
		free(w->sensors[i].settings);
	}
	explicit_bzero(w->sensor_key, sizeof(w->sensor_key));
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

static uid_t g_chown_uid;
static gid_t g_chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	ignore_rc(lchown(path, g_chown_uid, g_chown_gid));
	return 0;
}

/* chown -R without following symlinks (bounded depth: the spool is 2 deep). */
static void chown_tree(const char *dir, uid_t uid, gid_t gid)
{
	g_chown_uid = uid;
	g_chown_gid = gid;
	ignore_rc(nftw(dir, chown_one, 8, FTW_PHYS));
}

/* The worker (another uid when we are root) owns the state directory. */
static void hand_state_to(const char *dir, const char *logfile, uid_t uid, gid_t gid)
{
	const char *names[] = { IDENT_FILE, IDENT_CA_FILE, IDENT_QUARANTINE, IDENT_RUNTIME };
	char path[IDENT_MAX_PATH];

	if (geteuid() != 0)
		return;
	(void)chown(dir, uid, gid);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (ident_path(dir, names[i], path) == 0)
			(void)lchown(path, uid, gid);
	if (ident_path(dir, "spool", path) == 0)
		chown_tree(path, uid, gid);
	/* the worker reopens the event log after dropping root */
	if (logfile)
		(void)lchown(logfile, uid, gid);
}

/* ---- the spawner's events, forwarded to the worker (MSG_EVENT) ------------- */

/* How long the spawner waits for room in the socket before it gives up on
 * one event (the event stays in the local log; the loss is counted). */
#define FORWARD_WAIT_MS 500

struct forward {
	int sock;                       /* the worker's socket, -1 = off */
	const struct spawner *sp;       /* to name the job of a plugin's event */
	uint64_t lost;                  /* events not forwarded since the last report */
};

static struct forward g_forward = { -1, NULL, 0 };

/* The job a sandbox event belongs to: the only running job of that plugin
 * (the supervisor names the plugin's program path, not the job or the
 * manifest).  NULL if not exactly one. */
static const struct spawner_job *forward_job_of(const struct spawner *sp, const char *plugin)
{
	const struct spawner_job *found = NULL;

	for (size_t i = 0; sp && i < SPAWNER_MAX_JOBS; i++) {
		const struct spawner_job *j = &sp->jobs[i];
		if (!j->used || (strcmp(j->plan.manifest.name, plugin) != 0 &&
		    strcmp(j->plan.program, plugin) != 0))
			continue;
		if (found)
			return NULL;
		found = j;
	}
	return found;
}

/* One MSG_EVENT to the worker, waiting at most FORWARD_WAIT_MS for room.
 * Returns 1 when sent. */
static int forward_send(int sock, char *text)
{
	struct msg m;
	uint8_t *buf = malloc(MSG_MAX);
	size_t n = 0;
	int sent = 0;

	msg_init(&m, MSG_EVENT);
	m.text = text;
	if (text && buf && msg_encode(&m, buf, MSG_MAX, &n) == MSG_OK) {
		for (int tries = 0; tries < 2 && !sent; tries++) {
			struct pollfd p = { .fd = sock, .events = POLLOUT };
			if (send(sock, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n)
				sent = 1;
			else if ((errno != EAGAIN && errno != EWOULDBLOCK) ||
			    poll(&p, 1, FORWARD_WAIT_MS) <= 0)
				break;
		}
	}
	free(buf);
	return sent;
}

/*
 * Sink on the spawner's log: every event it emits (its own and the
 * sandbox supervisor's) also goes to the worker, which spools it as a
 * security event for the orchestrator.  Non-blocking with a short bounded
 * wait: a stuck worker must not stall the supervisor (which holds a
 * plugin's seccomp notification while it reports).
 */
static void forward_sink(void *ctx, enum event_level level, const char *event, const char *line,
    size_t len)
{
	struct forward *f = ctx;
	cJSON *o = NULL, *d, *pl;
	char *text;

	(void)level;
	(void)event;
	if (f->sock < 0)
		return;
	o = cJSON_ParseWithLength(line, len);
	d = cJSON_GetObjectItemCaseSensitive(o, "details");
	pl = cJSON_GetObjectItemCaseSensitive(d, "plugin");
	if (cJSON_IsString(pl) && !cJSON_GetObjectItemCaseSensitive(d, "job_id")) {
		const struct spawner_job *j = forward_job_of(f->sp, pl->valuestring);
		if (j) {
			/* the manifest's name, as in job results; the path stays */
			if (strcmp(pl->valuestring, j->plan.manifest.name) != 0) {
				cJSON_AddStringToObject(d, "program", pl->valuestring);
				cJSON_ReplaceItemInObjectCaseSensitive(d, "plugin",
				    cJSON_CreateString(j->plan.manifest.name));
			}
			cJSON_AddStringToObject(d, "job_id", j->id);
		}
	}
	text = o ? cJSON_PrintUnformatted(o) : NULL;
	if (!forward_send(f->sock, text)) {
		f->lost++;
	} else if (f->lost) {
		/* say what could not be forwarded (formatted here, not emitted:
		 * the local log has every one of those events already) */
		cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "component");
		cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "agent_id");
		cJSON *dd = cJSON_CreateObject();
		char *l2;
		cJSON_AddNumberToObject(dd, "not_forwarded", (double)f->lost);
		l2 = event_format(NULL, EVENT_WARN, cJSON_IsString(c) ? c->valuestring : "agent",
		    cJSON_IsString(a) ? a->valuestring : NULL, "spawner_events_not_forwarded", dd);
		if (forward_send(f->sock, l2))
			f->lost = 0;
		free(l2);
		cJSON_Delete(dd);
	}
	cJSON_free(text);
	cJSON_Delete(o);
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
		if (!have) {
			explicit_bzero(tok, sizeof(tok));
			cli_error("not registered and no installation token available: run `stavily "
			    "agent register` or set STAVILY_INSTALLATION_TOKEN");
			goto out;
		}
		r = agent_register(cfg, log, NULL, tok, 1);
		explicit_bzero(tok, sizeof(tok));
		if (r != EXIT_OK)
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
	/* interval sensor plugins run every sensor.interval, by default once per
	 * heartbeat interval; streams run all along (docs/agent.md) */
	if (ac->type == CONFIG_AGENT_SENSOR) {
		sp.sensor_interval_ms = ac->sensor.interval_ms ? ac->sensor.interval_ms
		    : ac->heartbeat_interval_ms ? ac->heartbeat_interval_ms : 30000;
		sp.sensor_cfg = &ac->sensor;
	}

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
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
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
	/* from here the spawner's events reach the orchestrator too */
	g_forward.sock = pw.sock;
	g_forward.sp = &sp;
	if (event_log_add_callback(log, forward_sink, &g_forward) < 0)
		cli_error("warning: the spawner's events will reach the local log only");
	/* the spawner never needs the agent's key: only the worker keeps it */
	ident_free(&w.id);
	if (privsep_restrict_spawner(err) != 0)
		cli_error("warning: spawner restriction: %s", err);
	r = spawner_run(&sp, pw.sock);
	g_forward.sock = -1;
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
