/* see service.h */
#include "orchestrator/service.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>
#include <cjson/cJSON.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "base/hex.h"
#include "base/timefmt.h"
#include "config/config.h"
#include "crypto/ca.h"
#include "crypto/csr.h"
#include "crypto/pem.h"
#include "crypto/rng.h"
#include "crypto/x509.h"
#include "event/audit.h"
#include "event/event.h"
#include "http/basic_auth.h"
#include "http/json_body.h"
#include "orchestrator/evstore.h"
#include "orchestrator/identity.h"
#include "orchestrator/lockout.h"
#include "orchestrator/netloop.h"
#include "orchestrator/orch_init.h"
#include "orchestrator/registry.h"
#include "orchestrator/token.h"
#include "store/journal.h"
#include "tls/conn.h"

#define SVC_PATH_MAX 4096
/* Event batches waiting for the group commit of their loop pass. */
#define SVC_COMMIT_SLOTS 1024
#define SVC_COMMIT_DIRTY 256
#define SVC_COMMIT_PARK_MS 30000

struct orch;

/* One batch waiting for its fsync: the answer is ready, sent after it. */
struct commit_slot {
	uint64_t id;              /* 0 = free */
	int done, err;
	char *body;               /* the 200 answer (JSON), owned */
	uint64_t created;         /* monotonic ms */
	struct orch *o;
};

struct orch {
	struct config *cfg;
	const struct config_orchestrator *oc;
	char state[PATH_MAX];
	struct ca ca;
	char *ca_pem;
	size_t ca_pem_len;
	char *ca_backup_pem;               /* STATE/ca-backup.pem or NULL (orchfix) */
	struct tls_creds creds;
	struct tls_server tls;             /* enrollment: no client certificates */
	int tls_ready;
	struct tls_trust trust;            /* agent API: our CA, clientAuth, identity, revocation */
	int trust_ready;
	struct tls_server agent_tls;
	int agent_tls_ready;
	struct registry *reg;
	struct evstore *es;
	struct netloop *nl;
	struct commit_slot *slots;        /* SVC_COMMIT_SLOTS */
	uint64_t next_slot;
	struct journal *dirty[SVC_COMMIT_DIRTY];   /* journals with waiters */
	size_t n_dirty;
	uint64_t retention_s;             /* events_retention */
	uint64_t next_prune;              /* monotonic ms */
	uint64_t next_seen_flush;         /* monotonic ms: last_seen snapshots (orchfix) */
	struct lockout *lo;
	struct event_log *ev;
	struct audit_log *audit;
	uint64_t cert_lifetime_s;
	int pseudonymize;
	unsigned char pseudo_key[32];
};

static volatile sig_atomic_t g_stop, g_reopen;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		g_reopen = 1;
	else
		g_stop = 1;
}

static void flush_dirty(struct orch *o);

/* ---- small helpers --------------------------------------------------------- */

static struct orch *orch_of(struct http_ctx *ctx)
{
	return ((struct netloop_req *)ctx->user)->user;
}

/* The source address as events and audit records show it: the address, or
 * with privacy.pseudonymize_addresses a keyed hash (HMAC-SHA256 with a
 * per-process random key, first 8 bytes): stable within one run, so
 * repeated failures from one source still correlate. */
static void source_label(const struct orch *o, const char *src, char *out, size_t n)
{
	if (!o->pseudonymize) {
		snprintf(out, n, "%s", src);
		return;
	}
	br_hmac_key_context kc;
	br_hmac_context hc;
	unsigned char mac[32];
	char hex[17];
	br_hmac_key_init(&kc, &br_sha256_vtable, o->pseudo_key, sizeof(o->pseudo_key));
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, src, strlen(src));
	br_hmac_out(&hc, mac);
	hex_encode(mac, 8, hex);
	snprintf(out, n, "anon-%s", hex);
}

static void rfc3339(int64_t t, char out[TIMEFMT_RFC3339_LEN])
{
	struct timespec ts = { .tv_sec = (time_t)t, .tv_nsec = 0 };

	if (timefmt_rfc3339_ms(&ts, out) != 0)
		snprintf(out, TIMEFMT_RFC3339_LEN, "1970-01-01T00:00:00.000Z");
}

static void audit_failed(struct orch *o, const char *record_name, int err)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "record", record_name);
	cJSON_AddStringToObject(e, "error", strerror(-err));
	event_emit(o->ev, EVENT_CRITICAL, "audit_write_failed", e);
}

/* Audit record and the same as an event.  `d` is consumed.  The record is
 * written now and synced before the answer of the request that wrote it
 * leaves (hook_handled: one fdatasync for all of a request's records), or,
 * for a read (GET) or outside any request, at the end of the loop pass
 * (flush_dirty). */
static void record(struct orch *o, enum event_level lvl, const char *name, cJSON *d)
{
	int r = audit_write(o->audit, lvl, name, d);

	if (r < 0)
		audit_failed(o, name, r);
	event_emit(o->ev, lvl, name, d);
}

static void audit_flush(struct orch *o)
{
	int r = audit_sync(o->audit);

	if (r < 0)
		audit_failed(o, "(sync)", r);
}

static void reply_json(struct http_reply *rep, int status, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	if (!s || http_reply_json(rep, status, s) != 0)
		http_reply_error(rep, 500, "out of memory");
	cJSON_free(s);
	cJSON_Delete(o);
}

/* Parse the body as a JSON object; on failure fill a 400 and return NULL. */
static cJSON *body_object(struct http_ctx *ctx, struct http_reply *rep, size_t max)
{
	cJSON *j = NULL;
	int r = json_body_parse(ctx->req->body, ctx->req->body_len, max, ORCH_JSON_MAX_DEPTH, &j);

	if (r != JSON_BODY_OK) {
		http_reply_error(rep, r == JSON_BODY_E_SIZE ? 413 : 400, json_body_strerror(r));
		return NULL;
	}
	return j;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A non-negative integer member: 1 found, 0 absent, -1 wrong type/range. */
static int juint(const cJSON *o, const char *k, uint64_t max, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > (double)max ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return -1;
	*out = (uint64_t)v->valuedouble;
	return 1;
}

static void admin_audit(struct orch *o, struct http_ctx *ctx, int status)
{
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "method", ctx->req->method);
	cJSON_AddStringToObject(d, "path", ctx->req->target);
	cJSON_AddNumberToObject(d, "status", status);
	record(o, EVENT_INFO, "admin_command", d);
}

/* ---- admin API -------------------------------------------------------------- */

static void h_tenant_add(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	cJSON *j = body_object(ctx, rep, ORCH_ADMIN_MAX_BODY), *res, *d;
	const char *name;
	int64_t now = (int64_t)time(NULL);
	int r;

	if (!j)
		goto out;
	name = jstr(j, "name");
	if (!name || !token_tenant_valid(name)) {
		http_reply_error(rep, 400, "name: 1 to 64 characters of A-Z a-z 0-9 . _ - (not starting with .)");
		goto out;
	}
	r = registry_tenant_add(o->reg, name, now);
	if (r == -EEXIST) {
		http_reply_error(rep, 409, "tenant exists");
		goto out;
	}
	if (r < 0) {
		http_reply_error(rep, r == -ENOSPC ? 409 : 503, "tenant could not be stored");
		goto out;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", name);
	record(o, EVENT_INFO, "tenant_created", d);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "name", name);
	cJSON_AddNumberToObject(res, "created", (double)now);
	reply_json(rep, 201, res);
out:
	cJSON_Delete(j);
	admin_audit(o, ctx, rep->status);
}

static void h_tenant_list(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	cJSON *res = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(res, "tenants");

	for (size_t i = 0; a && i < o->reg->n; i++) {
		const struct registry_tenant *t = o->reg->t[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", t->name);
		cJSON_AddNumberToObject(e, "created", (double)t->created);
		cJSON_AddNumberToObject(e, "tokens", (double)t->n_tokens);
		cJSON_AddNumberToObject(e, "agents", (double)t->n_agents);
		cJSON_AddItemToArray(a, e);
	}
	reply_json(rep, 200, res);
	admin_audit(o, ctx, rep->status);
}

static const char *token_state(const struct token_record *t, int64_t now)
{
	if (t->revoked)
		return "revoked";
	if (now >= t->expires)
		return "expired";
	if (t->uses_left == 0)
		return "used_up";
	return "active";
}

static cJSON *token_obj(const struct token_record *t, int64_t now)
{
	char id[TOKEN_ID_SIZE];
	cJSON *e = cJSON_CreateObject();

	token_id(t, id);
	cJSON_AddStringToObject(e, "id", id);
	cJSON_AddStringToObject(e, "tenant", t->tenant);
	cJSON_AddNumberToObject(e, "created", (double)t->created);
	cJSON_AddNumberToObject(e, "expires", (double)t->expires);
	cJSON_AddNumberToObject(e, "uses_left", (double)t->uses_left);
	cJSON_AddBoolToObject(e, "revoked", t->revoked);
	cJSON_AddStringToObject(e, "state", token_state(t, now));
	return e;
}

static void h_token_create(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	cJSON *j = body_object(ctx, rep, ORCH_ADMIN_MAX_BODY), *res, *d;
	char plain[TOKEN_PLAIN_SIZE], id[TOKEN_ID_SIZE];
	struct token_record rec;
	uint64_t ttl = ORCH_DEFAULT_TOKEN_TTL, uses = 1;
	int64_t now = (int64_t)time(NULL);
	const char *tenant;
	int r;

	memset(plain, 0, sizeof(plain));
	if (!j)
		goto out;
	tenant = jstr(j, "tenant");
	if (!tenant || !registry_tenant(o->reg, tenant)) {
		http_reply_error(rep, tenant ? 404 : 400, tenant ? "no such tenant" : "tenant required");
		goto out;
	}
	if (juint(j, "ttl", TOKEN_MAX_TTL, &ttl) < 0 || ttl == 0 ||
	    juint(j, "uses", TOKEN_MAX_USES, &uses) < 0 || uses == 0) {
		http_reply_error(rep, 400, "ttl: 1..315532800 seconds, uses: 1..1000000");
		goto out;
	}
	r = token_create(tenant, now, (int64_t)ttl, (uint32_t)uses, &rec, plain);
	if (r == 0)
		r = registry_token_add(o->reg, &rec);
	if (r < 0) {
		http_reply_error(rep, r == -ENOSPC ? 409 : 503, "token could not be stored");
		goto out;
	}
	token_id(&rec, id);
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", tenant);
	cJSON_AddStringToObject(d, "token_id", id);
	cJSON_AddNumberToObject(d, "ttl", (double)ttl);
	cJSON_AddNumberToObject(d, "uses", (double)uses);
	record(o, EVENT_INFO, "token_created", d);
	res = token_obj(&rec, now);
	/* the only place the plaintext ever leaves the process; every copy
	 * made on the way is wiped */
	{
		cJSON *tk = cJSON_AddStringToObject(res, "token", plain);
		char *s = cJSON_PrintUnformatted(res);
		if (tk && tk->valuestring)
			explicit_bzero(tk->valuestring, strlen(tk->valuestring));
		cJSON_Delete(res);
		if (!s || http_reply_json(rep, 201, s) != 0)
			http_reply_error(rep, 500, "out of memory");
		if (s) {
			explicit_bzero(s, strlen(s));
			cJSON_free(s);
		}
	}
out:
	explicit_bzero(plain, sizeof(plain));
	cJSON_Delete(j);
	admin_audit(o, ctx, rep->status);
}

static void h_token_list(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	int64_t now = (int64_t)time(NULL);
	cJSON *res = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(res, "tokens");

	for (size_t i = 0; a && i < o->reg->n; i++)
		for (size_t k = 0; k < o->reg->t[i]->n_tokens; k++)
			cJSON_AddItemToArray(a, token_obj(&o->reg->t[i]->tokens[k], now));
	reply_json(rep, 200, res);
	admin_audit(o, ctx, rep->status);
}

static void h_token_revoke(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	const char *id = http_ctx_param(ctx, "id");
	struct registry_tenant *t = NULL;
	size_t idx = 0;
	int r = registry_token_lookup(o->reg, id ? id : "", &t, &idx);
	cJSON *d;

	if (r == -ENOENT || r == -EINVAL) {
		http_reply_error(rep, 404, "no such token");
		goto out;
	}
	if (r == -EEXIST) {
		http_reply_error(rep, 409, "ambiguous token id");
		goto out;
	}
	if (r == 0)
		r = registry_token_revoke(o->reg, t, idx);
	if (r < 0) {
		http_reply_error(rep, 503, "revocation could not be stored");
		goto out;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", t->name);
	cJSON_AddStringToObject(d, "token_id", id);
	record(o, EVENT_INFO, "token_revoked", d);
	reply_json(rep, 200, token_obj(&t->tokens[idx], (int64_t)time(NULL)));
out:
	admin_audit(o, ctx, rep->status);
}

static cJSON *agent_obj(const struct registry_tenant *t, const struct registry_agent *g)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "tenant", t->name);
	cJSON_AddStringToObject(e, "agent_id", g->id);
	cJSON_AddStringToObject(e, "identity", g->identity);
	cJSON_AddStringToObject(e, "serial", g->serial);
	cJSON_AddStringToObject(e, "token_id", g->token_id);
	cJSON_AddNumberToObject(e, "enrolled", (double)g->enrolled);
	cJSON_AddNumberToObject(e, "renewed", (double)g->renewed);
	cJSON_AddNumberToObject(e, "not_after", (double)g->not_after);
	cJSON_AddBoolToObject(e, "revoked", g->revoked);
	cJSON_AddNumberToObject(e, "revoked_at", (double)g->revoked_at);
	return e;
}

static cJSON *agent_obj_full(const struct registry_tenant *t, const struct registry_agent *g);

static void h_agent_list(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	cJSON *res = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(res, "agents");

	for (size_t i = 0; a && i < o->reg->n; i++) {
		const struct registry_tenant *t = o->reg->t[i];
		for (size_t k = 0; k < t->n_agents; k++)
			cJSON_AddItemToArray(a, agent_obj_full(t, &t->agents[k]));
	}
	reply_json(rep, 200, res);
	admin_audit(o, ctx, rep->status);
}

static void h_agent_revoke(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	struct registry_tenant *t = registry_tenant(o->reg, http_ctx_param(ctx, "tenant"));
	const char *id = http_ctx_param(ctx, "id");
	long k = t && id ? registry_agent_find(t, id) : -ENOENT;
	int64_t now = (int64_t)time(NULL);
	cJSON *d;

	if (k < 0) {
		http_reply_error(rep, 404, "no such agent");
		goto out;
	}
	if (t->agents[k].revoked) {
		reply_json(rep, 200, agent_obj(t, &t->agents[k]));
		goto out;
	}
	if (registry_agent_revoke(o->reg, t, (size_t)k, now) < 0) {
		http_reply_error(rep, 503, "revocation could not be stored");
		goto out;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", t->name);
	cJSON_AddStringToObject(d, "agent_id", t->agents[k].id);
	cJSON_AddStringToObject(d, "serial", t->agents[k].serial);
	cJSON_AddStringToObject(d, "by", "admin_socket");
	cJSON_AddNumberToObject(d, "by_uid", (double)env->peer_uid);
	cJSON_AddNumberToObject(d, "at", (double)now);
	record(o, EVENT_WARN, "agent_revoked", d);
	reply_json(rep, 200, agent_obj(t, &t->agents[k]));
out:
	admin_audit(o, ctx, rep->status);
}

/* ---- query strings ---------------------------------------------------------- */

/* Value of query parameter `name` (no percent-decoding: every value we
 * accept is made of unreserved characters; one with '%' is refused).
 * 1 found, 0 absent, -1 malformed or too long. */
static int qparam(const struct http_request *req, const char *name, char *out, size_t cap)
{
	const char *q = req->query, *end = q ? q + req->query_len : NULL;
	size_t nl = strlen(name);

	if (!q)
		return 0;
	while (q < end) {
		const char *amp = memchr(q, '&', (size_t)(end - q));
		const char *stop = amp ? amp : end;
		if ((size_t)(stop - q) > nl && memcmp(q, name, nl) == 0 && q[nl] == '=') {
			size_t vl = (size_t)(stop - q - nl - 1);
			if (vl >= cap || memchr(q + nl + 1, '%', vl))
				return -1;
			memcpy(out, q + nl + 1, vl);
			out[vl] = '\0';
			return 1;
		}
		q = stop + 1;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > max)
			return -1;
	}
	*out = v;
	return 0;
}

/* ---- jobs (admin) --------------------------------------------------------------- */

static cJSON *job_obj(const struct registry_tenant *t, const struct registry_job *j, int full)
{
	cJSON *e = cJSON_CreateObject();

	cJSON_AddStringToObject(e, "id", j->id);
	cJSON_AddStringToObject(e, "tenant", t->name);
	cJSON_AddStringToObject(e, "agent_id", j->agent_id);
	cJSON_AddStringToObject(e, "plugin", j->plugin);
	if (full) {
		cJSON *a = cJSON_Parse(j->args);
		cJSON_AddItemToObject(e, "args", a ? a : cJSON_CreateObject());
	}
	if (j->sha256[0])
		cJSON_AddStringToObject(e, "sha256", j->sha256);
	if (j->policy) {
		cJSON *p = cJSON_Parse(j->policy);
		cJSON_AddItemToObject(e, "policy", p ? p : cJSON_CreateObject());
	}
	cJSON_AddNumberToObject(e, "timeout", (double)j->timeout);
	cJSON_AddStringToObject(e, "state", j->result ? "done" : j->delivered ? "delivered" : "queued");
	cJSON_AddNumberToObject(e, "created", (double)j->created);
	cJSON_AddNumberToObject(e, "delivered", (double)j->delivered);
	cJSON_AddNumberToObject(e, "attempts", (double)j->attempts);      /* orchfix */
	cJSON_AddNumberToObject(e, "completed", (double)j->completed);
	if (full) {
		cJSON *r = j->result ? cJSON_Parse(j->result) : NULL;
		cJSON_AddItemToObject(e, "result", r ? r : cJSON_CreateNull());
	}
	return e;
}

static void park_key(const char *tenant, const char *agent, char out[NETLOOP_PARK_KEY_MAX])
{
	snprintf(out, NETLOOP_PARK_KEY_MAX, "%s/%s", tenant, agent);
}

/*
 * The optional "sha256" (the plugin digest the job pins: "sha256:<hex>" or
 * 64 hex digits) and "policy" (sandbox limits the job asks for) of a job
 * submission, checked for shape only: whether a policy tightens the agent's
 * local one is decided by the agent's spawner, which refuses any loosening.
 * Returns 0, or -1 with a 400 reply.
 */
static int job_pin_and_policy(const cJSON *body, struct registry_job *job, struct http_reply *rep)
{
	const cJSON *dig = cJSON_GetObjectItemCaseSensitive(body, "sha256");
	const cJSON *pol = cJSON_GetObjectItemCaseSensitive(body, "policy"), *v, *e;
	size_t n = 0;

	if (dig) {
		const char *h = cJSON_IsString(dig) ? dig->valuestring : "";
		if (strncmp(h, "sha256:", 7) == 0)
			h += 7;
		if (strlen(h) != 64 || strspn(h, "0123456789abcdefABCDEF") != 64) {
			http_reply_error(rep, 400, "sha256: expected \"sha256:<64 hex digits>\"");
			return -1;
		}
		snprintf(job->sha256, sizeof(job->sha256), "sha256:%s", h);
		for (char *c = job->sha256 + 7; *c; c++)
			*c = (char)tolower((unsigned char)*c);
	}
	if (!pol)
		return 0;
	if (!cJSON_IsObject(pol))
		goto bad;
	cJSON_ArrayForEach(v, pol) {
		size_t kl = strlen(v->string);
		if (++n > ORCH_JOB_POLICY_MAX || kl == 0 || kl > 32 ||
		    strspn(v->string, "abcdefghijklmnopqrstuvwxyz_") != kl)
			goto bad;
		if (cJSON_IsString(v) && strlen(v->valuestring) <= ORCH_JOB_POLICY_VALUE_MAX)
			continue;
		if (cJSON_IsNumber(v) || cJSON_IsBool(v))
			continue;
		if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) > 64)
			goto bad;
		cJSON_ArrayForEach(e, v)
			if (!cJSON_IsString(e) || strlen(e->valuestring) > 64)
				goto bad;
	}
	job->policy = cJSON_PrintUnformatted(pol);
	if (job->policy)
		return 0;
	http_reply_error(rep, 500, "out of memory");
	return -1;
bad:
	http_reply_error(rep, 400, "policy: expected an object of at most 32 sandbox keys "
	    "(strings, numbers, booleans or lists of strings)");
	return -1;
}

static void h_job_submit(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	cJSON *j = NULL, *d;
	struct registry_tenant *t;
	struct registry_job job;
	unsigned char rnd[16];
	const char *tenant, *agent, *plugin;
	const cJSON *args;
	uint64_t timeout = 0;
	char key[NETLOOP_PARK_KEY_MAX];
	long k;
	int r;

	memset(&job, 0, sizeof(job));
	r = json_body_parse(ctx->req->body, ctx->req->body_len, ORCH_ADMIN_MAX_BODY,
	    ORCH_JSON_DEEP_DEPTH, &j);
	if (r != JSON_BODY_OK) {
		http_reply_error(rep, r == JSON_BODY_E_SIZE ? 413 : 400, json_body_strerror(r));
		goto out;
	}
	tenant = jstr(j, "tenant");
	agent = jstr(j, "agent_id");
	plugin = jstr(j, "plugin");
	args = cJSON_GetObjectItemCaseSensitive(j, "args");
	if (!tenant || !agent || !registry_plugin_valid(plugin) ||
	    juint(j, "timeout", ORCH_JOB_MAX_TIMEOUT, &timeout) < 0) {
		http_reply_error(rep, 400, "tenant, agent_id, plugin (1..64 of A-Z a-z 0-9 . _ -) "
		    "required; timeout 0..86400");
		goto out;
	}
	t = registry_tenant(o->reg, tenant);
	k = t ? registry_agent_find(t, agent) : -ENOENT;
	if (k < 0) {
		http_reply_error(rep, 404, "no such agent");
		goto out;
	}
	if (rng_bytes(rnd, sizeof(rnd)) != 0) {
		http_reply_error(rep, 500, "no entropy");
		goto out;
	}
	hex_encode(rnd, sizeof(rnd), job.id);
	snprintf(job.agent_id, sizeof(job.agent_id), "%s", agent);
	snprintf(job.plugin, sizeof(job.plugin), "%s", plugin);
	job.args = args ? cJSON_PrintUnformatted(args) : strdup("{}");
	if (job_pin_and_policy(j, &job, rep) < 0)
		goto out;
	job.timeout = (int64_t)timeout;
	job.created = (int64_t)time(NULL);
	if (!job.args) {
		http_reply_error(rep, 500, "out of memory");
		goto out;
	}
	r = registry_job_add(o->reg, t, &job);
	if (r == -EPERM || r == -ENOSPC) {
		http_reply_error(rep, 409, r == -EPERM ? "agent is revoked" : "too many jobs");
		goto out;
	}
	if (r < 0) {
		http_reply_error(rep, 503, "job could not be stored");
		goto out;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", t->name);
	cJSON_AddStringToObject(d, "agent_id", agent);
	cJSON_AddStringToObject(d, "job_id", job.id);
	cJSON_AddStringToObject(d, "plugin", plugin);
	cJSON_AddNumberToObject(d, "by_uid", (double)env->peer_uid);
	record(o, EVENT_INFO, "job_submitted", d);
	park_key(t->name, agent, key);
	(void)netloop_wake(env->nl, key);
	reply_json(rep, 201, job_obj(t, &t->jobs[t->n_jobs - 1], 1));
out:
	free(job.args);
	free(job.policy);
	cJSON_Delete(j);
	admin_audit(o, ctx, rep->status);
}

/* The park key of an admin request waiting for a job's result. */
static void job_wait_key(const char *job_id, char out[NETLOOP_PARK_KEY_MAX])
{
	snprintf(out, NETLOOP_PARK_KEY_MAX, "result:%s", job_id);
}

/* GET /v1/admin/jobs/{id}[?wait=SECONDS]: with wait, a job without a result
 * parks the request (no thread) until the result is stored or the wait is
 * over, so `ctl job submit --wait` learns the result at once instead of
 * polling.  The admin record is written when the request is answered. */
static void h_job_get(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	const char *id = http_ctx_param(ctx, "id");
	char num[16];
	uint64_t wait = 0;

	if (qparam(ctx->req, "wait", num, sizeof(num)) > 0 && parse_u64(num, 1u << 30, &wait) != 0)
		wait = 0;
	if (wait > ORCH_MAX_POLL_WAIT)
		wait = ORCH_MAX_POLL_WAIT;
	for (size_t i = 0; id && i < o->reg->n; i++) {
		long k = registry_job_find(o->reg->t[i], id);
		if (k >= 0) {
			if (!o->reg->t[i]->jobs[k].result && wait > 0 && !env->park_expired) {
				env->park_ms = (unsigned)wait * 1000u;
				job_wait_key(id, env->park_key);
				return;
			}
			reply_json(rep, 200, job_obj(o->reg->t[i], &o->reg->t[i]->jobs[k], 1));
			goto out;
		}
	}
	http_reply_error(rep, 404, "no such job");
out:
	admin_audit(o, ctx, rep->status);
}

static void h_job_list(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	char tenant[TOKEN_TENANT_MAX + 1], agent[REGISTRY_AGENT_ID_MAX + 1];
	int ht = qparam(ctx->req, "tenant", tenant, sizeof(tenant));
	int ha = qparam(ctx->req, "agent", agent, sizeof(agent));
	cJSON *res, *a;

	if (ht < 0 || ha < 0) {
		http_reply_error(rep, 400, "bad query parameter");
		goto out;
	}
	res = cJSON_CreateObject();
	a = cJSON_AddArrayToObject(res, "jobs");
	for (size_t i = 0; a && i < o->reg->n; i++) {
		const struct registry_tenant *t = o->reg->t[i];
		if (ht > 0 && strcmp(t->name, tenant) != 0)
			continue;
		for (size_t k = 0; k < t->n_jobs; k++)
			if (ha <= 0 || strcmp(t->jobs[k].agent_id, agent) == 0)
				cJSON_AddItemToArray(a, job_obj(t, &t->jobs[k], 0));
	}
	reply_json(rep, 200, res);
out:
	admin_audit(o, ctx, rep->status);
}

/* ---- agent commands, purge, events (admin) ----------------------------------------- */

static cJSON *agent_obj_full(const struct registry_tenant *t, const struct registry_agent *g)
{
	cJSON *e = agent_obj(t, g), *c = cJSON_CreateArray();

	cJSON_AddBoolToObject(e, "quarantined", g->quarantined);
	/* 0: no heartbeat since the orchestrator started */
	cJSON_AddNumberToObject(e, "last_seen", (double)g->last_seen);
	for (size_t i = 0; c && i < g->n_cmds; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "id", g->cmds[i].id);
		cJSON_AddStringToObject(x, "type", g->cmds[i].type);
		cJSON_AddNumberToObject(x, "issued", (double)g->cmds[i].issued);
		cJSON_AddItemToArray(c, x);
	}
	cJSON_AddItemToObject(e, "pending_commands", c);
	return e;
}

static void h_agent_command(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	struct registry_tenant *t = registry_tenant(o->reg, http_ctx_param(ctx, "tenant"));
	const char *id = http_ctx_param(ctx, "id"), *cmd = http_ctx_param(ctx, "cmd");
	long k = t && id ? registry_agent_find(t, id) : -ENOENT;
	struct registry_command c;
	const char *name;
	cJSON *d;
	int r;

	if (!cmd || (strcmp(cmd, "quarantine") != 0 && strcmp(cmd, "release") != 0 &&
	    strcmp(cmd, "rotate") != 0)) {
		http_reply_error(rep, 404, "no such command");
		goto out;
	}
	if (k < 0) {
		http_reply_error(rep, 404, "no such agent");
		goto out;
	}
	r = registry_command_add(o->reg, t, (size_t)k, cmd, (int64_t)time(NULL), &c);
	if (r == -EPERM) {
		http_reply_error(rep, 409, "agent is revoked");
		goto out;
	}
	if (r < 0) {
		http_reply_error(rep, 503, "command could not be stored");
		goto out;
	}
	name = cmd[0] == 'q' ? "agent_quarantined" : cmd[0] == 'r' && cmd[1] == 'e' ?
	    "agent_released" : "agent_rotation_requested";
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", t->name);
	cJSON_AddStringToObject(d, "agent_id", t->agents[k].id);
	cJSON_AddStringToObject(d, "command_id", c.id);
	cJSON_AddStringToObject(d, "by", "admin_socket");
	cJSON_AddNumberToObject(d, "by_uid", (double)env->peer_uid);
	record(o, cmd[0] == 'q' ? EVENT_WARN : EVENT_INFO, name, d);
	reply_json(rep, 200, agent_obj_full(t, &t->agents[k]));
out:
	admin_audit(o, ctx, rep->status);
}

static void h_agent_show(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct registry_tenant *t = registry_tenant(o->reg, http_ctx_param(ctx, "tenant"));
	const char *id = http_ctx_param(ctx, "id");
	long k = t && id ? registry_agent_find(t, id) : -ENOENT;

	if (k < 0)
		http_reply_error(rep, 404, "no such agent");
	else
		reply_json(rep, 200, agent_obj_full(t, &t->agents[k]));
	admin_audit(o, ctx, rep->status);
}

static void h_tenant_purge(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	const char *name = http_ctx_param(ctx, "name");
	int known, r;
	cJSON *d, *res;

	if (!name || !token_tenant_valid(name)) {
		http_reply_error(rep, 404, "no such tenant");
		goto out;
	}
	known = registry_tenant(o->reg, name) != NULL;
	flush_dirty(o);     /* no waiter may point into the journal closed here */
	evstore_forget(o->es, name);
	r = registry_tenant_purge(o->reg, name);
	if (r == -ENOENT) {
		http_reply_error(rep, 404, "no such tenant");
		goto out;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", name);
	cJSON_AddBoolToObject(d, "was_known", known);
	cJSON_AddStringToObject(d, "result", r == 0 ? "ok" : strerror(-r));
	cJSON_AddStringToObject(d, "by", "admin_socket");
	cJSON_AddNumberToObject(d, "by_uid", (double)env->peer_uid);
	record(o, r == 0 ? EVENT_WARN : EVENT_ERROR, "tenant_purged", d);
	if (r < 0) {
		http_reply_error(rep, 500, "tenant directory not removed completely");
		goto out;
	}
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "name", name);
	cJSON_AddBoolToObject(res, "purged", 1);
	reply_json(rep, 200, res);
out:
	admin_audit(o, ctx, rep->status);
}

static void h_events_query(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	char tenant[TOKEN_TENANT_MAX + 1], agent[REGISTRY_AGENT_ID_MAX + 1], event[129], num[24];
	struct evstore_filter f;
	uint64_t v;
	int ht, ha, he, truncated = 0, r;
	cJSON *res = NULL, *arr;

	memset(&f, 0, sizeof(f));
	f.limit = 1000;
	ht = qparam(ctx->req, "tenant", tenant, sizeof(tenant));
	ha = qparam(ctx->req, "agent", agent, sizeof(agent));
	he = qparam(ctx->req, "event", event, sizeof(event));
	if (ht < 0 || ha < 0 || he < 0)
		goto bad;
	if (ha > 0)
		f.agent = agent;
	if (he > 0)
		f.event = event;
	r = qparam(ctx->req, "since", num, sizeof(num));
	if (r < 0 || (r > 0 && parse_u64(num, (uint64_t)1 << 40, &v) != 0))
		goto bad;
	if (r > 0)
		f.since = (int64_t)v;
	r = qparam(ctx->req, "limit", num, sizeof(num));
	if (r < 0 || (r > 0 && (parse_u64(num, EVSTORE_QUERY_MAX, &v) != 0 || v == 0)))
		goto bad;
	if (r > 0)
		f.limit = (size_t)v;
	r = qparam(ctx->req, "tail", num, sizeof(num));
	if (r < 0)
		goto bad;
	f.tail = r > 0 && strcmp(num, "1") == 0;
	if (ht > 0 && !registry_tenant(o->reg, tenant)) {
		http_reply_error(rep, 404, "no such tenant");
		goto out;
	}
	res = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(res, "events");
	for (size_t i = 0; arr && i < o->reg->n; i++) {
		const char *name = o->reg->t[i]->name;
		if (ht > 0 && strcmp(name, tenant) != 0)
			continue;
		if (!f.tail && f.limit == 0) {
			truncated = 1;    /* the limit is over all tenants */
			break;
		}
		long n = evstore_query(o->es, name, &f, arr, &truncated);
		if (n > 0 && !f.tail)
			f.limit -= (size_t)n;
		if (n < 0 && n != -ENOENT) {
			cJSON_Delete(res);
			http_reply_error(rep, 500, "event store unreadable");
			goto out;
		}
	}
	if (truncated)
		cJSON_AddBoolToObject(res, "truncated", 1);
	reply_json(rep, 200, res);
	goto out;
bad:
	http_reply_error(rep, 400, "bad query parameter");
out:
	admin_audit(o, ctx, rep->status);
}

/* GET /v1/admin/status: the event loops (netloop.h), for operators and
 * tests: how many, and per loop the connections accepted, requests
 * answered, connections open and requests parked now. */
static void h_status(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	cJSON *res = cJSON_CreateObject(), *a;

	cJSON_AddNumberToObject(res, "workers", (double)netloop_workers(o->nl));
	cJSON_AddNumberToObject(res, "connections", (double)netloop_conns(o->nl));
	cJSON_AddNumberToObject(res, "network_connections", (double)netloop_net_conns(o->nl));
	cJSON_AddNumberToObject(res, "parked", (double)netloop_parked(o->nl));
	a = cJSON_AddArrayToObject(res, "loops");
	for (unsigned i = 0; a && i < netloop_workers(o->nl); i++) {
		struct netloop_loop_stats st;
		cJSON *x = cJSON_CreateObject();
		netloop_loop_stats(o->nl, i, &st);
		cJSON_AddNumberToObject(x, "accepted", (double)st.accepted);
		cJSON_AddNumberToObject(x, "requests", (double)st.requests);
		cJSON_AddNumberToObject(x, "connections", (double)st.conns);
		cJSON_AddNumberToObject(x, "parked", (double)st.parked);
		cJSON_AddItemToArray(a, x);
	}
	reply_json(rep, 200, res);
	admin_audit(o, ctx, rep->status);
}

static const struct http_route admin_routes[] = {
	{ "GET", "/v1/admin/status", h_status },
	{ "POST", "/v1/admin/agents/{tenant}/{id}/revoke", h_agent_revoke },
	{ "POST", "/v1/admin/tenants", h_tenant_add },
	{ "GET", "/v1/admin/tenants", h_tenant_list },
	{ "POST", "/v1/admin/tokens", h_token_create },
	{ "GET", "/v1/admin/tokens", h_token_list },
	{ "POST", "/v1/admin/tokens/{id}/revoke", h_token_revoke },
	{ "GET", "/v1/admin/agents", h_agent_list },
	{ "GET", "/v1/admin/agents/{tenant}/{id}", h_agent_show },
	{ "POST", "/v1/admin/agents/{tenant}/{id}/{cmd}", h_agent_command },
	{ "POST", "/v1/admin/tenants/{name}/purge", h_tenant_purge },
	{ "POST", "/v1/admin/jobs", h_job_submit },
	{ "GET", "/v1/admin/jobs", h_job_list },
	{ "GET", "/v1/admin/jobs/{id}", h_job_get },
	{ "GET", "/v1/admin/events", h_events_query },
};

/* ---- certificates ------------------------------------------------------------ */

struct issued {
	struct x509_info *xi;      /* malloc'd; views into nothing after der is freed */
	char *pem;                 /* malloc'd */
	char uri[REGISTRY_IDENTITY_MAX + 1];
};

/*
 * Issue the client certificate of tenant/agent_id for a PEM CSR: identity
 * URI SAN, CN = agent id, lifetime from certificate_rotation.  Returns 0,
 * -EINVAL (the names make no identity), -EBADMSG (CSR unparsable or its
 * self-signature does not verify), -ENOMEM / other.
 */
static int issue_cert(struct orch *o, const char *tenant, const char *agent_id,
    const char *csr_pem, int64_t now, struct issued *out)
{
	struct x509_sans sans;
	struct x509_issue_req req;
	unsigned char *csr = NULL, *der = NULL;
	size_t csr_len = 0, der_len = 0, pem_len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&sans, 0, sizeof(sans));
	if (x509_agent_uri(o->oc->trust_domain, tenant, agent_id, out->uri, sizeof(out->uri)) != 0 ||
	    x509_sans_add_uri(&sans, out->uri) != 0)
		return -EINVAL;
	r = csr_der_from_pem(csr_pem, strlen(csr_pem), &csr, &csr_len);
	if (r == 0) {
		memset(&req, 0, sizeof(req));
		req.profile = X509_PROFILE_CLIENT;
		req.cn = agent_id;
		req.sans = &sans;
		req.not_before = now - X509_BACKDATE_SECONDS;
		req.not_after = now + (int64_t)o->cert_lifetime_s;
		/* parses the CSR and verifies its self-signature */
		r = ca_issue_csr(&o->ca, csr, csr_len, &req, NULL, &der, &der_len);
	}
	free(csr);
	if (r < 0)
		return -EBADMSG;
	out->xi = malloc(sizeof(*out->xi));
	if (!out->xi || x509_parse(der, der_len, out->xi) != 0 || out->xi->serial_len > 20 ||
	    pem_encode("CERTIFICATE", der, der_len, &out->pem, &pem_len) != 0) {
		free(out->xi);
		free(out->pem);
		free(der);
		memset(out, 0, sizeof(*out));
		return -ENOMEM;
	}
	/* the views of x509_info point into der: clear them before it goes */
	out->xi->tbs = out->xi->sig = out->xi->spki = NULL;
	out->xi->subject_der = out->xi->issuer_der = NULL;
	free(der);
	return 0;
}

/* ---- enrollment ------------------------------------------------------------- */

static void enroll_failed(struct orch *o, const char *src, const char *tenant, const char *why)
{
	char lab[NETLOOP_SOURCE_MAX + 8];
	cJSON *d = cJSON_CreateObject();

	source_label(o, src, lab, sizeof(lab));
	cJSON_AddStringToObject(d, "source", lab);
	if (tenant && token_tenant_valid(tenant))
		cJSON_AddStringToObject(d, "tenant", tenant);
	cJSON_AddStringToObject(d, "reason", why);
	record(o, EVENT_WARN, "enrollment_failed", d);
}

/* An authentication failure: counted, maybe a lockout (event raised once). */
static void auth_failed(struct orch *o, struct http_ctx *ctx, struct http_reply *rep,
    const char *tenant, const char *why)
{
	const char *src = ((struct netloop_req *)ctx->user)->source;
	unsigned locks = lockout_fail(o->lo, src, tenant, time_mono_ms());

	enroll_failed(o, src, tenant, why);
	if (locks) {
		char lab[NETLOOP_SOURCE_MAX + 8];
		cJSON *d = cJSON_CreateObject();
		source_label(o, src, lab, sizeof(lab));
		cJSON_AddStringToObject(d, "source", lab);
		if (tenant && token_tenant_valid(tenant))
			cJSON_AddStringToObject(d, "tenant", tenant);
		cJSON_AddNumberToObject(d, "max_failed_attempts",
		    (double)config_get_agent_auth(o->cfg)->max_failed_attempts);
		cJSON_AddNumberToObject(d, "lockout_seconds", (double)(o->oc->lockout_duration_ms / 1000));
		cJSON_AddStringToObject(d, "locked", (locks & LOCKOUT_SOURCE) ? "source" : "tenant");
		record(o, EVENT_WARN, "authentication_failures_exceeded", d);
	}
	http_reply_error(rep, 401, "authentication failed");
	rep->fields[rep->n_fields++] = (struct http_field){ "WWW-Authenticate",
	    "Basic realm=\"stavily-enroll\", charset=\"UTF-8\"" };
}

static void h_enroll(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	const struct http_header *h;
	struct basic_auth ba;
	struct registry_tenant *t;
	struct registry_agent ag;
	struct issued is;
	struct x509_info *xi = NULL;
	char *pem = NULL, uri[REGISTRY_IDENTITY_MAX + 1], nafter[TIMEFMT_RFC3339_LEN];
	const char *tenant = NULL, *agent_id, *csr_pem;
	cJSON *j = NULL, *res, *d;
	uint32_t retry = 0;
	size_t idx = 0;
	int64_t now = (int64_t)time(NULL);
	int have_auth, r;
	enum token_verdict v;

	memset(&ba, 0, sizeof(ba));
	h = http_find_header(ctx->req->headers, ctx->req->n_headers, "Authorization");
	have_auth = h && h->value_len <= BASIC_AUTH_MAX_VALUE &&
	    basic_auth_parse(h->value, h->value_len, &ba) == 0;
	if (have_auth)
		tenant = ba.user;
	/* lockout first: a locked source gets no token comparison at all */
	if (lockout_check(o->lo, env->source, tenant, time_mono_ms(), &retry)) {
		enroll_failed(o, env->source, tenant, "locked_out");
		http_reply_error(rep, 429, "too many failed attempts");
		snprintf(env->retry_after, sizeof(env->retry_after), "%u", (unsigned)retry);
		rep->fields[rep->n_fields++] = (struct http_field){ "Retry-After", env->retry_after };
		goto out;
	}
	if (!have_auth) {
		auth_failed(o, ctx, rep, NULL, "no_credentials");
		goto out;
	}
	t = registry_tenant(o->reg, ba.user);
	/* an unknown tenant answers exactly like a wrong token */
	v = token_find(t ? t->tokens : NULL, t ? t->n_tokens : 0, ba.user, ba.pass,
	    strlen(ba.pass), now, &idx);
	if (!t || v != TOKEN_OK) {
		auth_failed(o, ctx, rep, tenant, t ? token_verdict_name(v) : "bad");
		goto out;
	}
	/* authenticated from here on: errors are the request's, not counted */
	j = body_object(ctx, rep, ORCH_ENROLL_MAX_BODY);
	if (!j) {
		enroll_failed(o, env->source, tenant, "bad_body");
		goto out;
	}
	agent_id = jstr(j, "agent_id");
	csr_pem = jstr(j, "csr");
	if (!registry_agent_id_valid(agent_id) || !csr_pem) {
		http_reply_error(rep, 400, "agent_id (1..64 of A-Z a-z 0-9 . _ -) and csr (PEM) required");
		enroll_failed(o, env->source, tenant, "bad_body");
		goto out;
	}
	if (registry_agent_find(t, agent_id) >= 0) {
		http_reply_error(rep, 409, "agent id already enrolled in this tenant");
		enroll_failed(o, env->source, tenant, "agent_id_taken");
		goto out;
	}
	memset(&is, 0, sizeof(is));
	/* the CSR check and the signature, the costly part, run without the
	 * app lock (issue_cert reads only the CA and the configuration, which
	 * do not change while running), so that enrollments in several event
	 * loops use several cores; the tenant and the token are looked up
	 * and checked again afterwards, so the answer is the one a serial
	 * run would give (netloop.h, LOCKING RULES) */
	netloop_unlock(env->nl);
	r = issue_cert(o, tenant, agent_id, csr_pem, now, &is);
	netloop_lock(env->nl);
	t = registry_tenant(o->reg, ba.user);
	v = token_find(t ? t->tokens : NULL, t ? t->n_tokens : 0, ba.user, ba.pass,
	    strlen(ba.pass), now, &idx);
	if (!t || v != TOKEN_OK) {
		/* used up (or revoked, or the tenant purged) meanwhile */
		free(is.xi);
		free(is.pem);
		auth_failed(o, ctx, rep, tenant, t ? token_verdict_name(v) : "bad");
		goto out;
	}
	if (r == -EINVAL) {
		http_reply_error(rep, 400, "agent id not usable in an identity");
		enroll_failed(o, env->source, tenant, "bad_body");
		goto out;
	}
	if (r == -EBADMSG) {
		http_reply_error(rep, 400, "invalid certificate request");
		enroll_failed(o, env->source, tenant, "bad_csr");
		goto out;
	}
	if (r < 0) {
		http_reply_error(rep, 500, "certificate could not be encoded");
		goto out;
	}
	xi = is.xi;
	pem = is.pem;
	memcpy(uri, is.uri, sizeof(uri));
	memset(&ag, 0, sizeof(ag));
	memcpy(ag.id, agent_id, strlen(agent_id) + 1);
	memcpy(ag.identity, uri, strlen(uri) + 1);
	hex_encode(xi->serial, xi->serial_len, ag.serial);
	token_id(&t->tokens[idx], ag.token_id);
	ag.enrolled = now;
	ag.not_after = xi->not_after;
	registry_agent_key_push(&ag, xi->pin);      /* renewals must change it */
	/* durable before the certificate leaves: agent + token use, one record */
	r = registry_enroll(o->reg, t, &ag, idx);
	if (r == -EEXIST) {
		http_reply_error(rep, 409, "agent id already enrolled in this tenant");
		enroll_failed(o, env->source, tenant, "agent_id_taken");
		goto out;
	}
	if (r < 0) {
		http_reply_error(rep, 503, "enrollment could not be stored");
		enroll_failed(o, env->source, tenant, "store_failed");
		goto out;
	}
	{
		char lab[NETLOOP_SOURCE_MAX + 8];
		source_label(o, env->source, lab, sizeof(lab));
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "source", lab);
		cJSON_AddStringToObject(d, "tenant", tenant);
		cJSON_AddStringToObject(d, "agent_id", agent_id);
		cJSON_AddStringToObject(d, "identity", uri);
		cJSON_AddStringToObject(d, "serial", ag.serial);
		cJSON_AddStringToObject(d, "token_id", ag.token_id);
		record(o, EVENT_INFO, "agent_enrolled", d);
	}
	rfc3339(xi->not_after, nafter);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "agent_id", agent_id);
	cJSON_AddStringToObject(res, "tenant", tenant);
	cJSON_AddStringToObject(res, "identity", uri);
	cJSON_AddStringToObject(res, "serial", ag.serial);
	cJSON_AddStringToObject(res, "not_after", nafter);
	cJSON_AddStringToObject(res, "certificate", pem);
	cJSON_AddStringToObject(res, "ca", o->ca_pem);
	if (o->ca_backup_pem)
		cJSON_AddStringToObject(res, "ca_backup", o->ca_backup_pem);
	reply_json(rep, 201, res);
out:
	basic_auth_wipe(&ba);
	cJSON_Delete(j);
	free(pem);
	free(xi);
}

static const struct http_route enroll_routes[] = {
	{ "POST", "/v1/enroll", h_enroll },
};

/* ---- agent API (mutual TLS) -------------------------------------------------------- */

/* The handshake's revocation callback. */
static int serial_revoked(void *arg, const unsigned char *serial, size_t len)
{
	struct orch *o = arg;
	char hex[2 * TLS_MAX_SERIAL + 1];
	int r;

	if (len == 0 || len > TLS_MAX_SERIAL)
		return 1;
	hex_encode(serial, len, hex);
	/* runs in a loop's handshake, outside any handler: the registry is
	 * only read under the app lock (netloop.h, LOCKING RULES) */
	netloop_lock(o->nl);
	r = registry_serial_revoked(o->reg, hex);
	netloop_unlock(o->nl);
	return r;
}

static void agent_refused(struct orch *o, struct http_ctx *ctx, struct http_reply *rep,
    const char *why)
{
	cJSON *d = cJSON_CreateObject();
	char lab[NETLOOP_SOURCE_MAX + 8];

	source_label(o, ((struct netloop_req *)ctx->user)->source, lab, sizeof(lab));
	cJSON_AddStringToObject(d, "source", lab);
	cJSON_AddStringToObject(d, "identity", ctx->identity ? ctx->identity : "");
	cJSON_AddStringToObject(d, "path", ctx->req->target);
	cJSON_AddStringToObject(d, "reason", why);
	record(o, EVENT_WARN, "agent_request_refused", d);
	http_reply_error(rep, 403, "certificate not authorized");
}

/*
 * The agent behind a request, from the verified client certificate alone:
 * its identity names tenant and agent, the agent must exist and not be
 * revoked, and the certificate must be its current one or the one before
 * (the agent keeps that until the new one works).  On refusal a 403 is
 * filled in and NULL returned.
 */
static struct registry_agent *agent_lookup(struct orch *o, struct http_ctx *ctx,
    struct http_reply *rep, struct registry_tenant **tp, size_t *idx, int allow_revoked)
{
	struct netloop_req *env = ctx->user;
	struct agent_identity id;
	struct registry_tenant *t;
	struct registry_agent *a;
	char serial[2 * TLS_MAX_SERIAL + 1];
	long k;

	if (!ctx->identity || identity_parse(ctx->identity, o->oc->trust_domain, &id) != 0) {
		agent_refused(o, ctx, rep, "bad_identity");
		return NULL;
	}
	t = registry_tenant(o->reg, id.tenant);
	k = t ? registry_agent_find(t, id.agent) : -ENOENT;
	if (k < 0) {
		agent_refused(o, ctx, rep, "unknown_agent");
		return NULL;
	}
	a = &t->agents[k];
	if (a->revoked && !allow_revoked) {
		agent_refused(o, ctx, rep, "revoked");
		return NULL;
	}
	if (env->serial_len == 0 || env->serial_len > TLS_MAX_SERIAL) {
		agent_refused(o, ctx, rep, "no_serial");
		return NULL;
	}
	hex_encode(env->serial, env->serial_len, serial);
	if (strcmp(serial, a->serial) != 0 && (!a->prev_serial[0] || strcmp(serial, a->prev_serial) != 0)) {
		agent_refused(o, ctx, rep, "superseded_certificate");
		return NULL;
	}
	*tp = t;
	*idx = (size_t)k;
	return a;
}

static struct registry_agent *agent_of(struct orch *o, struct http_ctx *ctx,
    struct http_reply *rep, struct registry_tenant **tp, size_t *idx)
{
	return agent_lookup(o, ctx, rep, tp, idx, 0);
}

/* A body that must be one JSON object with deeper nesting allowed (event
 * details, job results). */
static cJSON *body_object_deep(struct http_ctx *ctx, struct http_reply *rep)
{
	cJSON *j = NULL;
	int r = json_body_parse(ctx->req->body, ctx->req->body_len, ORCH_ENROLL_MAX_BODY,
	    ORCH_JSON_DEEP_DEPTH, &j);

	if (r != JSON_BODY_OK) {
		http_reply_error(rep, r == JSON_BODY_E_SIZE ? 413 : 400, json_body_strerror(r));
		return NULL;
	}
	return j;
}

static void h_jobs_poll(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	struct registry_tenant *t;
	struct registry_agent *a;
	char num[24];
	uint64_t wait = 0;
	size_t idx, n = 0, picked[ORCH_POLL_MAX_JOBS];
	int64_t now = (int64_t)time(NULL);
	cJSON *res, *arr;

	a = agent_of(o, ctx, rep, &t, &idx);
	if (!a)
		return;
	if (qparam(ctx->req, "wait", num, sizeof(num)) > 0 && parse_u64(num, 1u << 30, &wait) != 0)
		wait = 0;
	if (wait > ORCH_MAX_POLL_WAIT)
		wait = ORCH_MAX_POLL_WAIT;
	res = cJSON_CreateObject();
	arr = cJSON_AddArrayToObject(res, "jobs");
	/* only this agent's jobs of this tenant: the identity picks the tenant;
	 * a delivered job without a result again only after its lease */
	for (size_t i = 0; arr && i < t->n_jobs && n < ORCH_POLL_MAX_JOBS; i++) {
		struct registry_job *j = &t->jobs[i];
		if (j->result || (j->delivered && now < registry_job_lease_end(j)) ||
		    strcmp(j->agent_id, a->id) != 0)
			continue;
		cJSON *e = cJSON_CreateObject();
		cJSON *args = cJSON_Parse(j->args);
		cJSON_AddStringToObject(e, "id", j->id);
		cJSON_AddStringToObject(e, "plugin", j->plugin);
		cJSON_AddItemToObject(e, "args", args ? args : cJSON_CreateObject());
		if (j->sha256[0])
			cJSON_AddStringToObject(e, "sha256", j->sha256);
		if (j->policy) {
			cJSON *pol = cJSON_Parse(j->policy);
			cJSON_AddItemToObject(e, "policy", pol ? pol : cJSON_CreateObject());
		}
		cJSON_AddNumberToObject(e, "timeout", (double)j->timeout);
		cJSON_AddNumberToObject(e, "created", (double)j->created);
		cJSON_AddNumberToObject(e, "attempt", (double)j->attempts + 1);
		cJSON_AddItemToArray(arr, e);
		picked[n++] = i;
	}
	if (n > 0) {
		/* the lease is durable before the jobs leave (orchfix) */
		if (registry_job_deliver(o->reg, t, picked, n, now) < 0) {
			cJSON_Delete(res);
			http_reply_error(rep, 503, "delivery could not be stored");
			return;
		}
		for (size_t i = 0; i < n; i++) {
			const struct registry_job *j = &t->jobs[picked[i]];
			cJSON *d;
			if (j->attempts < 2)
				continue;
			d = cJSON_CreateObject();
			cJSON_AddStringToObject(d, "tenant", t->name);
			cJSON_AddStringToObject(d, "agent_id", a->id);
			cJSON_AddStringToObject(d, "job_id", j->id);
			cJSON_AddNumberToObject(d, "attempt", (double)j->attempts);
			event_emit(o->ev, EVENT_WARN, "job_redelivered", d);
		}
		reply_json(rep, 200, res);
		return;
	}
	cJSON_Delete(res);
	if (wait > 0 && !env->park_expired) {
		env->park_ms = (unsigned)wait * 1000u;
		park_key(t->name, a->id, env->park_key);
		return;
	}
	rep->status = 204;
}

static void h_job_result(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	struct registry_tenant *t;
	struct registry_agent *a;
	const char *id = http_ctx_param(ctx, "id");
	cJSON *j = NULL, *res, *d;
	const cJSON *st;
	char *s = NULL;
	size_t idx;
	long k;
	int r, dup = 0;

	a = agent_of(o, ctx, rep, &t, &idx);
	if (!a)
		return;
	/* another agent's job, of this tenant or not, is "no such job" */
	k = id ? registry_job_find(t, id) : -ENOENT;
	if (k < 0 || strcmp(t->jobs[k].agent_id, a->id) != 0) {
		http_reply_error(rep, 404, "no such job");
		return;
	}
	j = body_object_deep(ctx, rep);
	if (!j)
		return;
	s = cJSON_PrintUnformatted(j);
	if (!s) {
		http_reply_error(rep, 500, "out of memory");
		goto out;
	}
	r = registry_job_result(o->reg, t, (size_t)k, s, (int64_t)time(NULL));
	if (r == -EALREADY) {
		dup = 1;
	} else if (r < 0) {
		http_reply_error(rep, 503, "result could not be stored");
		goto out;
	} else {
		st = cJSON_GetObjectItemCaseSensitive(j, "status");
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "tenant", t->name);
		cJSON_AddStringToObject(d, "agent_id", a->id);
		cJSON_AddStringToObject(d, "job_id", t->jobs[k].id);
		cJSON_AddStringToObject(d, "plugin", t->jobs[k].plugin);
		cJSON_AddStringToObject(d, "status", cJSON_IsString(st) && strlen(st->valuestring) < 32 ?
		    st->valuestring : "unknown");
		record(o, EVENT_INFO, "job_completed", d);
		{
			char key[NETLOOP_PARK_KEY_MAX];   /* admin requests waiting for it */
			job_wait_key(t->jobs[k].id, key);
			(void)netloop_wake(env->nl, key);
		}
	}
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "id", t->jobs[k].id);
	cJSON_AddStringToObject(res, "state", "done");
	cJSON_AddBoolToObject(res, "duplicate", dup);
	reply_json(rep, 200, res);
out:
	cJSON_free(s);
	cJSON_Delete(j);
}

/* ---- group commit of event batches -------------------------------------------- */

static void commit_key(uint64_t id, char out[NETLOOP_PARK_KEY_MAX])
{
	snprintf(out, NETLOOP_PARK_KEY_MAX, "commit:%llu", (unsigned long long)id);
}

static void commit_done(void *arg, uint64_t seq, int err)
{
	struct commit_slot *sl = arg;
	char key[NETLOOP_PARK_KEY_MAX];

	(void)seq;
	sl->done = 1;
	sl->err = err;
	commit_key(sl->id, key);
	if (sl->o->nl)
		(void)netloop_wake(sl->o->nl, key);
}

/* One fsync per journal for everything appended in this pass; the
 * callbacks wake the parked requests.  Also called before anything that
 * could close a journal (purge, pruning, exit). */
static void flush_dirty(struct orch *o)
{
	for (size_t i = 0; i < o->n_dirty; i++)
		if (journal_commit_flush(o->dirty[i]) < 0) {
			/* each waiter got the error and answers 503 */
		}
	o->n_dirty = 0;
	/* job deliveries (registry_job_deliver) and read audit records, after
	 * their answers went out */
	if (o->reg && registry_sync(o->reg) < 0)
		event_emit(o->ev, EVENT_ERROR, "registry_sync_failed", NULL);
	if (o->audit)
		audit_flush(o);
}

/* Before an answer leaves: a request that changed something has its audit
 * records durable first; a read's records wait for the pass end. */
static void hook_handled(void *arg, const struct http_request *req, struct http_reply *rep)
{
	struct orch *o = arg;

	(void)rep;
	if (!o->audit || !audit_unsynced(o->audit) || strcmp(req->method, "GET") == 0 ||
	    strcmp(req->method, "HEAD") == 0)
		return;
	audit_flush(o);
}

static void hook_pass_end(void *arg)
{
	flush_dirty(arg);
}

static struct commit_slot *slot_find(struct orch *o, uint64_t id)
{
	for (size_t i = 0; o->slots && i < SVC_COMMIT_SLOTS; i++)
		if (o->slots[i].id == id && id != 0)
			return &o->slots[i];
	return NULL;
}

static void slot_free(struct commit_slot *sl)
{
	cJSON_free(sl->body);
	memset(sl, 0, sizeof(*sl));
}

/* Answers nobody came for (the peer hung up while waiting). */
static void slots_sweep(struct orch *o)
{
	uint64_t now = time_mono_ms();

	for (size_t i = 0; o->slots && i < SVC_COMMIT_SLOTS; i++)
		if (o->slots[i].id && o->slots[i].done &&
		    now - o->slots[i].created > 2 * SVC_COMMIT_PARK_MS)
			slot_free(&o->slots[i]);
}

/* The second run of a parked batch: its commit is over. */
static int events_collect(struct orch *o, struct http_ctx *ctx, struct http_reply *rep)
{
	struct netloop_req *env = ctx->user;
	struct commit_slot *sl;
	unsigned long long id;

	if (!env->parked_key || sscanf(env->parked_key, "commit:%llu", &id) != 1)
		return 0;
	sl = slot_find(o, (uint64_t)id);
	if (sl && !sl->done && !env->park_expired) {
		env->park_ms = SVC_COMMIT_PARK_MS;
		snprintf(env->park_key, sizeof(env->park_key), "%s", env->parked_key);
		return 1;
	}
	if (!sl || !sl->done || sl->err) {
		http_reply_error(rep, 503, "events could not be stored");
		if (sl && sl->done)
			slot_free(sl);
		return 1;
	}
	if (http_reply_json(rep, 200, sl->body) != 0)
		http_reply_error(rep, 500, "out of memory");
	slot_free(sl);
	return 1;
}

static void h_events_post(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct netloop_req *env = ctx->user;
	struct registry_tenant *t;
	struct registry_agent *a;
	struct evstore_batch_result br;
	struct commit_slot *sl = NULL;
	struct journal *jn = NULL;
	uint64_t seq = 0;
	cJSON *j, *evs, *res;
	char *body = NULL;
	size_t idx;
	int r, n;

	memset(&br, 0, sizeof(br));
	if (events_collect(o, ctx, rep))
		return;
	a = agent_of(o, ctx, rep, &t, &idx);
	if (!a)
		return;
	j = body_object_deep(ctx, rep);
	if (!j)
		return;
	evs = cJSON_GetObjectItemCaseSensitive(j, "events");
	n = cJSON_GetArraySize(evs);
	if (!cJSON_IsArray(evs) || n < 1 || n > (int)EVSTORE_MAX_BATCH) {
		http_reply_error(rep, 400, "events: an array of 1..500 objects");
		goto out;
	}
	r = evstore_append_batch(o->es, t->name, a->id, evs, (int64_t)time(NULL), &br, &jn, &seq);
	if (r == 0) {
		res = cJSON_CreateObject();
		cJSON_AddItemToObject(res, "acked", br.acked);
		cJSON_AddNumberToObject(res, "stored", (double)br.stored);
		cJSON_AddNumberToObject(res, "duplicates", (double)br.duplicates);
		cJSON_AddItemToObject(res, "rejected", br.rejected);
		br.acked = br.rejected = NULL;
		body = cJSON_PrintUnformatted(res);
		cJSON_Delete(res);
		if (!body)
			r = -ENOMEM;
	}
	/* a free slot and room in the dirty list: wait for the pass's group
	 * commit; otherwise sync now */
	for (size_t i = 0; r == 0 && o->slots && i < SVC_COMMIT_SLOTS; i++)
		if (o->slots[i].id == 0) {
			sl = &o->slots[i];
			break;
		}
	if (r == 0 && sl) {
		size_t k = 0;
		while (k < o->n_dirty && o->dirty[k] != jn)
			k++;
		if (k == o->n_dirty && o->n_dirty == SVC_COMMIT_DIRTY)
			sl = NULL;
	}
	if (r == 0 && !sl)
		r = journal_sync(jn);
	if (r == 0 && sl) {
		sl->id = ++o->next_slot;
		sl->o = o;
		sl->created = time_mono_ms();
		sl->body = body;
		body = NULL;
		r = journal_commit_wait(jn, seq, commit_done, sl);
		if (r < 0) {
			slot_free(sl);
		} else {
			size_t k = 0;
			while (k < o->n_dirty && o->dirty[k] != jn)
				k++;
			if (k == o->n_dirty)
				o->dirty[o->n_dirty++] = jn;
			env->park_ms = SVC_COMMIT_PARK_MS;
			commit_key(sl->id, env->park_key);
			goto out;
		}
	}
	if (r < 0) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "tenant", t->name);
		cJSON_AddStringToObject(d, "error", strerror(-r));
		event_emit(o->ev, EVENT_ERROR, "event_store_failed", d);
		http_reply_error(rep, 503, "events could not be stored");
		goto out;
	}
	if (http_reply_json(rep, 200, body) != 0)
		http_reply_error(rep, 500, "out of memory");
out:
	cJSON_free(body);
	cJSON_Delete(br.acked);
	cJSON_Delete(br.rejected);
	cJSON_Delete(j);
}

static void h_heartbeat(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct registry_tenant *t;
	struct registry_agent *a;
	cJSON *j = NULL, *res, *cmds;
	size_t idx;
	int64_t now = (int64_t)time(NULL), issued;

	/* a revoked agent on a connection opened before the revocation
	 * learns it here (new handshakes already fail) */
	a = agent_lookup(o, ctx, rep, &t, &idx, 1);
	if (!a)
		return;
	/* the body (status report) is optional; when present it must be an
	 * object, and nothing in it is trusted for authorization */
	if (ctx->req->body_len) {
		j = body_object_deep(ctx, rep);
		if (!j)
			return;
	}
	if (!a->revoked && j) {
		const cJSON *acks = cJSON_GetObjectItemCaseSensitive(j, "acked_commands"), *e;
		const char *ids[ORCH_MAX_ACKS];
		size_t n = 0;
		if (!cJSON_IsArray(acks))
			acks = NULL;
		cJSON_ArrayForEach(e, acks)
			if (cJSON_IsString(e) && n < ORCH_MAX_ACKS)
				ids[n++] = e->valuestring;
		if (n > 0 && registry_command_ack(o->reg, t, idx, ids, n) < 0) {
			http_reply_error(rep, 503, "acknowledgement could not be stored");
			cJSON_Delete(j);
			return;
		}
	}
	if (!a->revoked)
		registry_agent_seen(t, idx, now);
	issued = a->renewed ? a->renewed : a->enrolled;
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "agent_id", a->id);
	cJSON_AddStringToObject(res, "tenant", t->name);
	cJSON_AddStringToObject(res, "identity", a->identity);
	cJSON_AddNumberToObject(res, "time", (double)now);
	cJSON_AddNumberToObject(res, "certificate_not_after", (double)a->not_after);
	/* renew at 2/3 of the lifetime (the agent adds jitter) */
	cJSON_AddNumberToObject(res, "renew_after", (double)(issued + (a->not_after - issued) * 2 / 3));
	cJSON_AddBoolToObject(res, "quarantined", a->quarantined);
	cJSON_AddBoolToObject(res, "revoked", a->revoked);
	cmds = cJSON_AddArrayToObject(res, "commands");
	if (a->revoked) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", "revoke");
		cJSON_AddStringToObject(c, "type", "revoke");
		cJSON_AddNumberToObject(c, "issued", (double)a->revoked_at);
		cJSON_AddItemToArray(cmds, c);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "tenant", t->name);
		cJSON_AddStringToObject(d, "agent_id", a->id);
		record(o, EVENT_WARN, "revocation_delivered", d);
		rep->close = 1;
	}
	for (size_t i = 0; cmds && !a->revoked && i < a->n_cmds; i++) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "id", a->cmds[i].id);
		cJSON_AddStringToObject(c, "type", a->cmds[i].type);
		cJSON_AddNumberToObject(c, "issued", (double)a->cmds[i].issued);
		cJSON_AddItemToArray(cmds, c);
	}
	reply_json(rep, 200, res);
	cJSON_Delete(j);
}

static void h_renew(struct http_ctx *ctx, struct http_reply *rep)
{
	struct orch *o = orch_of(ctx);
	struct registry_tenant *t;
	struct registry_agent *a;
	struct issued is;
	char nafter[TIMEFMT_RFC3339_LEN], serial[REGISTRY_SERIAL_HEX_MAX], old[REGISTRY_SERIAL_HEX_MAX];
	const char *csr_pem;
	cJSON *j = NULL, *res, *d;
	size_t idx;
	int64_t now = (int64_t)time(NULL);
	int r;

	memset(&is, 0, sizeof(is));
	a = agent_of(o, ctx, rep, &t, &idx);
	if (!a)
		return;
	j = body_object(ctx, rep, ORCH_ENROLL_MAX_BODY);
	if (!j)
		return;
	csr_pem = jstr(j, "csr");
	if (!csr_pem) {
		http_reply_error(rep, 400, "csr (PEM) required");
		goto out;
	}
	/* the same identity as the certificate presented, never a new one */
	r = issue_cert(o, t->name, a->id, csr_pem, now, &is);
	if (r == -EBADMSG || r == -EINVAL) {
		http_reply_error(rep, 400, "invalid certificate request");
		goto out;
	}
	if (r < 0) {
		http_reply_error(rep, 500, "certificate could not be encoded");
		goto out;
	}
	/* a renewal must bring a new key (orchfix): the current one or any
	 * earlier one we know of is refused (the issued certificate is dropped) */
	if (registry_agent_key_used(a, is.xi->pin)) {
		char kp[X509_PIN_STR_LEN];
		if (x509_pin_format(is.xi->pin, kp) != 0)
			kp[0] = '\0';
		d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "tenant", t->name);
		cJSON_AddStringToObject(d, "agent_id", a->id);
		cJSON_AddStringToObject(d, "reason", "key_reused");
		cJSON_AddStringToObject(d, "key", kp);
		record(o, EVENT_WARN, "certificate_renewal_refused", d);
		http_reply_error(rep, 409, "key reused: a renewal needs a new key pair");
		goto out;
	}
	hex_encode(is.xi->serial, is.xi->serial_len, serial);
	memcpy(old, a->serial, sizeof(old));
	r = registry_agent_renew_key(o->reg, t, idx, serial, is.xi->not_after, now, is.xi->pin);
	if (r < 0) {
		http_reply_error(rep, 503, "renewal could not be stored");
		goto out;
	}
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "tenant", t->name);
	cJSON_AddStringToObject(d, "agent_id", a->id);
	cJSON_AddStringToObject(d, "serial", serial);
	cJSON_AddStringToObject(d, "previous_serial", old);
	record(o, EVENT_INFO, "certificate_renewed", d);
	rfc3339(is.xi->not_after, nafter);
	res = cJSON_CreateObject();
	cJSON_AddStringToObject(res, "agent_id", a->id);
	cJSON_AddStringToObject(res, "tenant", t->name);
	cJSON_AddStringToObject(res, "identity", is.uri);
	cJSON_AddStringToObject(res, "serial", serial);
	cJSON_AddStringToObject(res, "not_after", nafter);
	cJSON_AddStringToObject(res, "certificate", is.pem);
	cJSON_AddStringToObject(res, "ca", o->ca_pem);
	if (o->ca_backup_pem)
		cJSON_AddStringToObject(res, "ca_backup", o->ca_backup_pem);
	reply_json(rep, 201, res);
out:
	free(is.xi);
	free(is.pem);
	cJSON_Delete(j);
}

static const struct http_route agent_routes[] = {
	{ "POST", "/v1/agent/heartbeat", h_heartbeat },
	{ "POST", "/v1/agent/renew", h_renew },
	{ "GET", "/v1/agent/jobs", h_jobs_poll },
	{ "POST", "/v1/agent/jobs/{id}/result", h_job_result },
	{ "POST", "/v1/agent/events", h_events_post },
};

/* ---- loop hooks --------------------------------------------------------------- */

static void peer_label(const struct orch *o, const char *peer, char *out, size_t n)
{
	/* strip the port before hashing so one host keeps one label */
	char a[NETLOOP_PEER_MAX];
	const char *colon = strrchr(peer, ':');
	size_t l = colon ? (size_t)(colon - peer) : strlen(peer);

	if (l >= sizeof(a))
		l = sizeof(a) - 1;
	memcpy(a, peer, l);
	a[l] = '\0';
	source_label(o, a, out, n);
}

static void hook_tls(void *arg, const char *listener, const char *peer,
    const struct tls_failure *f)
{
	struct orch *o = arg;
	char lab[NETLOOP_PEER_MAX + 8];
	cJSON *d = cJSON_CreateObject();
	int cert = f && tls_failure_is_cert(f);

	peer_label(o, peer, lab, sizeof(lab));
	cJSON_AddStringToObject(d, "source", lab);
	cJSON_AddStringToObject(d, "listener", listener);
	if (cert)
		cJSON_AddStringToObject(d, "reason", tls_verify_reason_name(f->verify_reason));
	cJSON_AddNumberToObject(d, "error_code", f ? f->br_err : 0);
	cJSON_AddStringToObject(d, "error", f && f->br_err_name[0] ? f->br_err_name : "io");
	event_emit(o->ev, EVENT_WARN, cert ? "certificate_validation_failed" : "tls_handshake_failed", d);
}

static void hook_bad(void *arg, const char *peer, int status, const char *msg)
{
	struct orch *o = arg;
	char lab[NETLOOP_PEER_MAX + 8];
	cJSON *d = cJSON_CreateObject();

	peer_label(o, peer, lab, sizeof(lab));
	cJSON_AddStringToObject(d, "source", lab);
	cJSON_AddNumberToObject(d, "status", status);
	cJSON_AddStringToObject(d, "reason", msg ? msg : "malformed");
	event_emit(o->ev, EVENT_INFO, "http_request_refused", d);
}

static void hook_refused(void *arg, const char *src, const char *why)
{
	struct orch *o = arg;
	char lab[NETLOOP_SOURCE_MAX + 8];
	cJSON *d = cJSON_CreateObject();

	source_label(o, src, lab, sizeof(lab));
	cJSON_AddStringToObject(d, "source", lab);
	cJSON_AddStringToObject(d, "cap", why);
	event_emit(o->ev, EVENT_WARN, "connection_refused", d);
}

static void hook_timeout(void *arg, const char *peer, const char *phase)
{
	struct orch *o = arg;
	char lab[NETLOOP_PEER_MAX + 8];
	cJSON *d = cJSON_CreateObject();

	peer_label(o, peer, lab, sizeof(lab));
	cJSON_AddStringToObject(d, "source", lab);
	cJSON_AddStringToObject(d, "phase", phase ? phase : "?");
	event_emit(o->ev, EVENT_INFO, "connection_timeout", d);
}

/* Retention: events older than events_retention go, per segment, at
 * start and then hourly. */
static void prune_events(struct orch *o)
{
	int64_t cutoff = (int64_t)time(NULL) - (int64_t)o->retention_s;

	if (o->retention_s == 0)
		return;
	for (size_t i = 0; i < o->reg->n; i++) {
		long long n = evstore_prune(o->es, o->reg->t[i]->name, cutoff);
		if (n != 0) {
			cJSON *d = cJSON_CreateObject();
			cJSON_AddStringToObject(d, "tenant", o->reg->t[i]->name);
			if (n > 0)
				cJSON_AddNumberToObject(d, "events_deleted", (double)n);
			else
				cJSON_AddStringToObject(d, "error", strerror((int)-n));
			event_emit(o->ev, n > 0 ? EVENT_INFO : EVENT_ERROR, "events_pruned", d);
		}
	}
}

static void hook_tick(void *arg)
{
	struct orch *o = arg;

	flush_dirty(o);
	slots_sweep(o);
	if (time_mono_ms() >= o->next_seen_flush) {
		/* last_seen: at most one snapshot per tenant per interval */
		o->next_seen_flush = time_mono_ms() + ORCH_SEEN_FLUSH_MS;
		if (registry_seen_flush(o->reg) < 0)
			event_emit(o->ev, EVENT_WARN, "last_seen_not_saved", NULL);
	}
	if (time_mono_ms() < o->next_prune)
		return;
	o->next_prune = time_mono_ms() + ORCH_PRUNE_INTERVAL_MS;
	prune_events(o);
}

static void on_reopen(void *arg)
{
	struct orch *o = arg;
	int r = event_log_reopen(o->ev);
	cJSON *d = cJSON_CreateObject();

	cJSON_AddStringToObject(d, "result", r == 0 ? "ok" : strerror(-r));
	event_emit(o->ev, r == 0 ? EVENT_INFO : EVENT_ERROR, "logs_reopened", d);
}

/* ---- start-up ------------------------------------------------------------------- */

static int state_path(const struct orch *o, const char *file, char *out)
{
	int n = snprintf(out, SVC_PATH_MAX, "%s/%s", o->state, file);

	return n < 0 || n >= SVC_PATH_MAX ? -ENAMETOOLONG : 0;
}

static int load_pki(struct orch *o)
{
	char c[SVC_PATH_MAX], k[SVC_PATH_MAX];
	int r = ca_load(o->state, &o->ca);

	if (r < 0) {
		cli_error("%s: CA: %s (run `stavily orchestrator init` first)", o->state,
		    r < 0 && r > -4000 ? strerror(-r) : ca_strerror(r));
		return r;
	}
	r = ca_cert_pem(&o->ca, &o->ca_pem, &o->ca_pem_len);
	if (r < 0)
		return r;
	{
		/* the backup CA's certificate goes to agents as "ca_backup": with
		 * its pin listed they follow a CA rollover (orchfix) */
		char p[SVC_PATH_MAX];
		size_t bl = 0;
		if (state_path(o, ORCH_CA_BACKUP_CERT_FILE, p))
			return -ENAMETOOLONG;
		r = file_read_all(p, ORCH_BUNDLE_MAX, &o->ca_backup_pem, &bl);
		if (r < 0 && r != -ENOENT) {
			cli_error("%s: %s", p, strerror(-r));
			return r;
		}
	}
	if (state_path(o, ORCH_SERVER_CERT_FILE, c) || state_path(o, ORCH_SERVER_KEY_FILE, k))
		return -ENAMETOOLONG;
	r = tls_creds_load(&o->creds, c, k);
	if (r < 0) {
		cli_error("%s, %s: cannot load the server certificate and key (%d)", c, k, r);
		return r;
	}
	r = tls_server_init(&o->tls, NULL, &o->creds, 0);
	if (r < 0)
		return r;
	o->tls_ready = 1;
	/* agent API: only certificates of our CA, with clientAuth and an
	 * identity, and not revoked (checked in the handshake) */
	{
		/* after a CA rollover the old CA stays trusted for the agents'
		 * client certificates while STATE/ca-previous.pem exists */
		static const char *const anchors[] = { CA_CERT_FILE, ORCH_CA_PREVIOUS_FILE };
		char *pem = NULL;
		size_t plen = 0;
		r = orch_pem_bundle(o->state, anchors, 2, &pem, &plen);
		if (r == 0)
			r = tls_trust_load_ca_pem(&o->trust, pem, plen, TLS_PEER_CLIENT);
		free(pem);
		if (r < 0) {
			cli_error("%s: cannot load the CA as trust anchor (%d)", o->state, r);
			return r;
		}
	}
	o->trust_ready = 1;
	o->trust.require_identity = 1;
	o->trust.revoked = serial_revoked;
	o->trust.revoked_arg = o;
	r = tls_server_init(&o->agent_tls, &o->trust, &o->creds, 0);
	if (r < 0)
		return r;
	o->agent_tls_ready = 1;
	return 0;
}

static void orch_free(struct orch *o)
{
	if (o->tls_ready)
		tls_server_free(&o->tls);
	if (o->agent_tls_ready)
		tls_server_free(&o->agent_tls);
	if (o->trust_ready)
		tls_trust_free(&o->trust);
	tls_creds_free(&o->creds);
	ca_free(&o->ca);
	free(o->ca_pem);
	free(o->ca_backup_pem);
	flush_dirty(o);
	for (size_t i = 0; o->slots && i < SVC_COMMIT_SLOTS; i++)
		slot_free(&o->slots[i]);
	free(o->slots);
	evstore_free(o->es);
	registry_close(o->reg);
	lockout_free(o->lo);
	audit_close(o->audit);
	event_log_free(o->ev);
	config_free(o->cfg);
	explicit_bzero(o->pseudo_key, sizeof(o->pseudo_key));
}

int orch_run(const char *config_path, const char *const *overrides, size_t n_overrides)
{
	struct orch o;
	struct config_errors errs = { 0 };
	struct netloop *nl = NULL;
	struct netloop_limits nlim;
	struct netloop_hooks hooks;
	struct http_limits hl_enroll, hl_admin;
	struct registry_report rep;
	struct audit_recovery arec;
	struct lockout_config lc;
	struct sigaction sa;
	const struct config_logging *lg;
	char path[SVC_PATH_MAX];
	int fd, r, status = EXIT_FAIL;
	enum event_level min;

	memset(&o, 0, sizeof(o));
	if (config_load(config_path, overrides, n_overrides, &o.cfg, &errs) != 0) {
		config_errors_print(&errs, stderr);
		config_errors_free(&errs);
		return EXIT_CONFIG;
	}
	config_errors_free(&errs);
	o.oc = config_get_orchestrator(o.cfg);
	o.cert_lifetime_s = config_get_authentication(o.cfg)->cert_lifetime_ms / 1000;
	o.pseudonymize = config_get_privacy(o.cfg)->pseudonymize_addresses;
	if (o.pseudonymize && rng_bytes(o.pseudo_key, sizeof(o.pseudo_key)) != 0) {
		cli_error("no entropy for the pseudonymization key");
		goto out;
	}
	if (!realpath(o.oc->state_dir, o.state)) {
		cli_error("%s: %s", o.oc->state_dir, strerror(errno));
		goto out;
	}

	/* events: the configured file, else stderr */
	lg = config_get_logging(o.cfg);
	min = (enum event_level)lg->level;
	o.ev = event_log_new("orchestrator", NULL, min);
	if (!o.ev)
		goto out;
	r = lg->file ? event_log_add_file(o.ev, lg->file) : event_log_add_fd(o.ev, 2);
	if (r < 0) {
		cli_error("%s: %s", lg->file ? lg->file : "stderr", strerror(-r));
		goto out;
	}

	if (load_pki(&o) < 0)
		goto out;
	r = registry_open(o.state, &o.reg, &rep);
	if (r < 0) {
		cli_error("%s/tenants: %s%s", o.state, strerror(-r),
		    r == -EBADMSG ? " (a tenant journal is corrupt: see docs/operations.md)" : "");
		goto out;
	}
	if (state_path(&o, "tenants", path) != 0 || evstore_new(path, &o.es) != 0)
		goto out;
	o.retention_s = o.oc->events_retention_ms / 1000;
	if (state_path(&o, ORCH_AUDIT_FILE, path) != 0)
		goto out;
	r = audit_open(path, "orchestrator", &o.audit, &arec);
	if (r < 0) {
		cli_error("%s: %s", path, strerror(-r));
		goto out;
	}
	memset(&lc, 0, sizeof(lc));
	lc.max_failed_attempts = (unsigned)config_get_agent_auth(o.cfg)->max_failed_attempts;
	if (lc.max_failed_attempts > LOCKOUT_MAX_ATTEMPTS)
		lc.max_failed_attempts = LOCKOUT_MAX_ATTEMPTS;
	lc.window_ms = o.oc->failure_window_ms;
	lc.lockout_ms = o.oc->lockout_duration_ms;
	r = lockout_new(&lc, &o.lo);
	if (r < 0)
		goto out;

	netloop_limits_default(&nlim);
	nlim.max_conns = (size_t)o.oc->max_connections;
	nlim.max_per_source = (size_t)o.oc->max_connections_per_source;
	/* one event loop per CPU ("auto") or as configured (1..64) */
	nlim.workers = !o.oc->workers || strcmp(o.oc->workers, "auto") == 0 ?
	    netloop_cpus() : (unsigned)strtoul(o.oc->workers, NULL, 10);
	memset(&hooks, 0, sizeof(hooks));
	hooks.arg = &o;
	hooks.on_tls_failure = hook_tls;
	hooks.on_bad_request = hook_bad;
	hooks.on_refused = hook_refused;
	hooks.on_timeout = hook_timeout;
	hooks.on_tick = hook_tick;
	hooks.on_pass_end = hook_pass_end;
	hooks.on_handled = hook_handled;
	r = netloop_new(&nlim, &hooks, &nl);
	if (r < 0)
		goto out;
	o.nl = nl;
	o.slots = calloc(SVC_COMMIT_SLOTS, sizeof(*o.slots));
	if (!o.slots)
		goto out;
	http_limits_default(&hl_enroll);
	hl_enroll.max_body = ORCH_ENROLL_MAX_BODY;
	http_limits_default(&hl_admin);
	hl_admin.max_body = ORCH_ADMIN_MAX_BODY;

	fd = netloop_listen_tcp(o.oc->listen_enroll);
	if (fd < 0) {
		cli_error("listen %s: %s", o.oc->listen_enroll, strerror(-fd));
		goto out;
	}
	r = netloop_add_listener(nl, "enroll", fd, &o.tls, enroll_routes, ARRAY_SIZE(enroll_routes),
	    &hl_enroll, &o);
	if (r < 0)
		goto out;
	fd = netloop_listen_tcp(o.oc->listen_agent);
	if (fd < 0) {
		cli_error("listen %s: %s", o.oc->listen_agent, strerror(-fd));
		goto out;
	}
	r = netloop_add_listener(nl, "agent", fd, &o.agent_tls, agent_routes, ARRAY_SIZE(agent_routes),
	    &hl_enroll, &o);
	if (r < 0)
		goto out;
	{
		/* the socket's directory: created 0700 if missing */
		char dir[SVC_PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", o.oc->admin_socket);
		char *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir_p(dir, 0700) < 0) {
				cli_error("%s: cannot create the admin socket directory", dir);
				goto out;
			}
		}
	}
	fd = netloop_listen_unix(o.oc->admin_socket);
	if (fd < 0) {
		cli_error("admin socket %s: %s", o.oc->admin_socket, strerror(-fd));
		goto out;
	}
	r = netloop_add_listener(nl, "admin", fd, NULL, admin_routes, ARRAY_SIZE(admin_routes),
	    &hl_admin, &o);
	if (r < 0)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: epoll_wait must return EINTR to notice */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	{
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "state_dir", o.state);
		cJSON_AddStringToObject(d, "listen_enroll", o.oc->listen_enroll);
		cJSON_AddStringToObject(d, "listen_agent", o.oc->listen_agent);
		cJSON_AddStringToObject(d, "admin_socket", o.oc->admin_socket);
		cJSON_AddNumberToObject(d, "tenants", (double)rep.tenants);
		cJSON_AddNumberToObject(d, "tokens", (double)rep.tokens);
		cJSON_AddNumberToObject(d, "agents", (double)rep.agents);
		cJSON_AddNumberToObject(d, "last_seen_restored", (double)rep.seen_restored);   /* orchfix */
		cJSON_AddNumberToObject(d, "records", (double)rep.records);
		cJSON_AddNumberToObject(d, "torn_bytes_dropped", (double)rep.torn_bytes);
		if (rep.torn_bytes)
			cJSON_AddStringToObject(d, "torn_tenant", rep.torn_tenant);
		cJSON_AddNumberToObject(d, "audit_records", (double)arec.records);
		cJSON_AddNumberToObject(d, "workers", (double)netloop_workers(nl));
		record(&o, rep.torn_bytes ? EVENT_WARN : EVENT_INFO, "orchestrator_started", d);
	}
	r = netloop_run(nl, &g_stop, &g_reopen, on_reopen, &o);
	{
		cJSON *d = cJSON_CreateObject();
		cJSON_AddStringToObject(d, "result", r == 0 ? "ok" : strerror(-r));
		/* per event loop: connections accepted, requests answered */
		cJSON *lps = cJSON_AddArrayToObject(d, "loops");
		for (unsigned i = 0; lps && i < netloop_workers(nl); i++) {
			struct netloop_loop_stats st;
			cJSON *x = cJSON_CreateObject();
			netloop_loop_stats(nl, i, &st);
			cJSON_AddNumberToObject(x, "accepted", (double)st.accepted);
			cJSON_AddNumberToObject(x, "requests", (double)st.requests);
			cJSON_AddItemToArray(lps, x);
		}
		record(&o, EVENT_INFO, "orchestrator_stopped", d);
	}
	status = r == 0 ? EXIT_OK : EXIT_FAIL;
	/* the socket file goes with the process that made it */
	(void)unlink(o.oc->admin_socket);
out:
	/* waiters still queued are answered into the void: no loop to wake */
	o.nl = NULL;
	netloop_free(nl);
	orch_free(&o);
	return status;
}
