/* see registry.h */
#include "orchestrator/registry.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/hex.h"
#include "crypto/rng.h"
#include "store/journal.h"

#define REG_PATH_MAX 4096

int registry_agent_id_valid(const char *id)
{
	size_t n = 0;

	if (!id || id[0] == '.' || id[0] == '\0')
		return 0;
	for (; id[n]; n++) {
		char c = id[n];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
		if (n >= REGISTRY_AGENT_ID_MAX)
			return 0;
	}
	return 1;
}

/* Bounded copy that always terminates (names were validated before). */
static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int fit(const char *s, size_t cap)
{
	return s && strlen(s) < cap;
}

static int hex_ok(const char *s)
{
	if (!s || !s[0])
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

static int num_field(const cJSON *o, const char *k, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 9.0e15 ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return -EINVAL;
	*out = (int64_t)v->valuedouble;
	return 0;
}

static const char *str_field(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int grow(void **v, size_t *cap, size_t n, size_t elem, size_t max)
{
	size_t nc;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return -ENOSPC;
	nc = *cap ? *cap * 2 : 16;
	if (nc > max)
		nc = max;
	p = realloc(*v, nc * elem);
	if (!p)
		return -ENOMEM;
	*v = p;
	*cap = nc;
	return 0;
}

/* Put a token state into the table: replace the record of the same hash or
 * append. */
static int put_token(struct registry_tenant *t, const struct token_record *rec)
{
	int r;

	for (size_t i = 0; i < t->n_tokens; i++)
		if (strcmp(t->tokens[i].hash, rec->hash) == 0) {
			t->tokens[i] = *rec;
			return 0;
		}
	r = grow((void **)&t->tokens, &t->cap_tokens, t->n_tokens, sizeof(*t->tokens),
	    REGISTRY_MAX_TOKENS);
	if (r < 0)
		return r;
	t->tokens[t->n_tokens++] = *rec;
	return 0;
}

static int put_agent(struct registry_tenant *t, const struct registry_agent *a)
{
	int r;

	if (registry_agent_find(t, a->id) >= 0)
		return -EEXIST;
	r = grow((void **)&t->agents, &t->cap_agents, t->n_agents, sizeof(*t->agents),
	    REGISTRY_MAX_AGENTS);
	if (r < 0)
		return r;
	t->agents[t->n_agents++] = *a;
	return 0;
}

static int token_from_obj(const cJSON *o, const char *tenant, struct token_record *rec)
{
	char *s = cJSON_PrintUnformatted(o);
	int r;

	if (!s)
		return -ENOMEM;
	r = token_from_json(s, strlen(s), rec);
	cJSON_free(s);
	if (r == 0 && strcmp(rec->tenant, tenant) != 0)
		r = -EINVAL;     /* a record never names another tenant */
	return r;
}

/* An optional "key" field (64 lower-case hex: an SPKI SHA-256) into `pin`:
 * 1 if present and valid, 0 if absent, -EINVAL if malformed. */
static int key_field(const cJSON *o, unsigned char pin[32])
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "key");

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || strlen(v->valuestring) != 64 || !hex_ok(v->valuestring) ||
	    hex_decode(v->valuestring, pin, 32) != 0)
		return -EINVAL;
	return 1;
}

static int add_key_field(cJSON *o, const unsigned char pin[32])
{
	char hex[65];

	hex_encode(pin, 32, hex);
	return cJSON_AddStringToObject(o, "key", hex) ? 0 : -ENOMEM;
}

void registry_agent_key_push(struct registry_agent *a, const unsigned char pin[32])
{
	if (registry_agent_key_used(a, pin))
		return;
	if (a->n_keys == REGISTRY_MAX_KEYS) {
		memmove(a->keys[0], a->keys[1], (REGISTRY_MAX_KEYS - 1) * sizeof(a->keys[0]));
		a->n_keys--;
	}
	memcpy(a->keys[a->n_keys++], pin, 32);
}

int registry_agent_key_used(const struct registry_agent *a, const unsigned char pin[32])
{
	for (size_t i = 0; i < a->n_keys; i++)
		if (memcmp(a->keys[i], pin, 32) == 0)
			return 1;
	return 0;
}

static int agent_from_obj(const cJSON *o, struct registry_agent *a)
{
	const char *id = str_field(o, "id"), *ident = str_field(o, "identity");
	const char *serial = str_field(o, "serial"), *tok = str_field(o, "token_id");
	unsigned char pin[32];
	int k;

	memset(a, 0, sizeof(*a));
	if (!registry_agent_id_valid(id) || !fit(ident, sizeof(a->identity)) ||
	    !fit(serial, sizeof(a->serial)) || !hex_ok(serial) || !fit(tok, sizeof(a->token_id)) ||
	    num_field(o, "enrolled", &a->enrolled) || num_field(o, "not_after", &a->not_after))
		return -EINVAL;
	strcpy(a->id, id);
	strcpy(a->identity, ident);
	strcpy(a->serial, serial);
	strcpy(a->token_id, tok);
	k = key_field(o, pin);
	if (k < 0)
		return k;
	if (k == 1)
		registry_agent_key_push(a, pin);
	return 0;
}

static cJSON *agent_to_obj(const struct registry_agent *a)
{
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddStringToObject(o, "id", a->id) ||
	    !cJSON_AddStringToObject(o, "identity", a->identity) ||
	    !cJSON_AddStringToObject(o, "serial", a->serial) ||
	    !cJSON_AddStringToObject(o, "token_id", a->token_id) ||
	    !cJSON_AddNumberToObject(o, "enrolled", (double)a->enrolled) ||
	    !cJSON_AddNumberToObject(o, "not_after", (double)a->not_after) ||
	    (a->n_keys > 0 && add_key_field(o, a->keys[a->n_keys - 1]) != 0)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static cJSON *token_to_obj(const struct token_record *rec)
{
	char *s = token_to_json(rec);
	cJSON *o;

	if (!s)
		return NULL;
	o = cJSON_Parse(s);
	free(s);
	return o;
}

int registry_plugin_valid(const char *s)
{
	/* the same alphabet as agent ids (it names a file on the agent) */
	return s && strlen(s) <= REGISTRY_PLUGIN_MAX && registry_agent_id_valid(s);
}

static int cmd_type_valid(const char *t)
{
	return t && (strcmp(t, "quarantine") == 0 || strcmp(t, "release") == 0 ||
	    strcmp(t, "rotate") == 0);
}

/* Queue a command (the oldest goes when full) and apply its state. */
static void push_command(struct registry_agent *a, const struct registry_command *c)
{
	if (a->n_cmds == REGISTRY_MAX_COMMANDS) {
		memmove(&a->cmds[0], &a->cmds[1], (REGISTRY_MAX_COMMANDS - 1) * sizeof(a->cmds[0]));
		a->n_cmds--;
	}
	a->cmds[a->n_cmds++] = *c;
	if (strcmp(c->type, "quarantine") == 0)
		a->quarantined = 1;
	else if (strcmp(c->type, "release") == 0)
		a->quarantined = 0;
}

static int drop_command(struct registry_agent *a, const char *id)
{
	for (size_t i = 0; i < a->n_cmds; i++)
		if (strcmp(a->cmds[i].id, id) == 0) {
			memmove(&a->cmds[i], &a->cmds[i + 1], (a->n_cmds - i - 1) * sizeof(a->cmds[0]));
			a->n_cmds--;
			return 1;
		}
	return 0;
}

int registry_digest_valid(const char *d)
{
	return d && strlen(d) == 7 + 64 && strncmp(d, "sha256:", 7) == 0 &&
	    strspn(d + 7, "0123456789abcdef") == 64;
}

static int job_id_valid(const char *id)
{
	return id && strlen(id) == REGISTRY_JOB_ID_SIZE - 1 && hex_ok(id);
}

static void job_free(struct registry_job *j)
{
	free(j->args);
	free(j->policy);
	free(j->result);
}

static int set_result(struct registry_job *j, const cJSON *res, int64_t at)
{
	char *s;

	if (j->result)
		return 0;     /* the first result stays (replay of a duplicate) */
	s = cJSON_PrintUnformatted(res);
	if (!s)
		return -ENOMEM;
	j->result = s;
	j->completed = at;
	return 0;
}

/* A "job" object of the journal into the table. */
static int apply_job(struct registry_tenant *t, const cJSON *jo)
{
	struct registry_job j;
	const char *id = str_field(jo, "id"), *agent = str_field(jo, "agent_id");
	const char *plugin = str_field(jo, "plugin");
	const cJSON *args = cJSON_GetObjectItemCaseSensitive(jo, "args"), *pol, *dig;
	int e;

	memset(&j, 0, sizeof(j));
	if (!job_id_valid(id) || !registry_agent_id_valid(agent) || !registry_plugin_valid(plugin) ||
	    !args || num_field(jo, "timeout", &j.timeout) || num_field(jo, "created", &j.created))
		return -EINVAL;
	if (registry_job_find(t, id) >= 0)
		return -EEXIST;
	e = grow((void **)&t->jobs, &t->cap_jobs, t->n_jobs, sizeof(*t->jobs), REGISTRY_MAX_JOBS);
	if (e < 0)
		return e;
	strcpy(j.id, id);
	strcpy(j.agent_id, agent);
	strcpy(j.plugin, plugin);
	/* optional (journals written before these fields existed lack them) */
	pol = cJSON_GetObjectItemCaseSensitive(jo, "policy");
	dig = cJSON_GetObjectItemCaseSensitive(jo, "sha256");
	if ((pol && !cJSON_IsObject(pol)) || (dig && (!cJSON_IsString(dig) ||
	    !registry_digest_valid(dig->valuestring))))
		return -EINVAL;
	if (dig)
		snprintf(j.sha256, sizeof(j.sha256), "%s", dig->valuestring);
	j.args = cJSON_PrintUnformatted(args);
	j.policy = pol ? cJSON_PrintUnformatted(pol) : NULL;
	if (!j.args || (pol && !j.policy)) {
		job_free(&j);
		return -ENOMEM;
	}
	t->jobs[t->n_jobs++] = j;
	return 0;
}

int registry_apply(struct registry_tenant *t, const char *rec, size_t len)
{
	cJSON *o = NULL;
	const char *op;
	int r = -EINVAL;

	if (len > REGISTRY_MAX_RECORD)
		return -EINVAL;
	o = cJSON_ParseWithLength(rec, len);
	if (!cJSON_IsObject(o))
		goto out;
	op = str_field(o, "op");
	if (!op)
		goto out;
	if (strcmp(op, "tenant") == 0) {
		const char *name = str_field(o, "name");
		int64_t created;
		if (!name || strcmp(name, t->name) != 0 || num_field(o, "created", &created))
			goto out;
		t->created = created;
		r = 0;
	} else if (strcmp(op, "token") == 0) {
		struct token_record tr;
		r = token_from_obj(o, t->name, &tr);
		if (r == 0)
			r = put_token(t, &tr);
	} else if (strcmp(op, "renew") == 0 || strcmp(op, "agent_revoke") == 0) {
		const char *id = str_field(o, "agent_id");
		int64_t at, na = 0;
		long k = id ? registry_agent_find(t, id) : -ENOENT;
		if (k < 0 || num_field(o, "at", &at))
			goto out;
		struct registry_agent *a = &t->agents[k];
		if (op[0] == 'r') {
			const char *serial = str_field(o, "serial");
			unsigned char pin[32];
			int kf = key_field(o, pin);
			if (!fit(serial, sizeof(a->serial)) || !hex_ok(serial) ||
			    num_field(o, "not_after", &na) || kf < 0)
				goto out;
			if (kf == 1)
				registry_agent_key_push(a, pin);
			memcpy(a->prev_serial, a->serial, sizeof(a->serial));
			copy_str(a->serial, sizeof(a->serial), serial);
			a->not_after = na;
			a->renewed = at;
		} else if (!a->revoked) {
			a->revoked = 1;
			a->revoked_at = at;
		}
		r = 0;
	} else if (strcmp(op, "enroll") == 0) {
		struct token_record tr;
		struct registry_agent a;
		const cJSON *ao = cJSON_GetObjectItemCaseSensitive(o, "agent");
		const cJSON *to = cJSON_GetObjectItemCaseSensitive(o, "token");
		if (!cJSON_IsObject(ao) || !cJSON_IsObject(to))
			goto out;
		r = agent_from_obj(ao, &a);
		if (r == 0)
			r = token_from_obj(to, t->name, &tr);
		if (r == 0)
			r = put_agent(t, &a);
		if (r == 0)
			r = put_token(t, &tr);
	} else if (strcmp(op, "job") == 0) {
		const cJSON *jo = cJSON_GetObjectItemCaseSensitive(o, "job");
		r = cJSON_IsObject(jo) ? apply_job(t, jo) : -EINVAL;
	} else if (strcmp(op, "job_result") == 0) {
		const char *id = str_field(o, "id");
		const cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "result");
		long k = id ? registry_job_find(t, id) : -ENOENT;
		int64_t at;
		if (k < 0 || !res || num_field(o, "at", &at))
			goto out;
		r = set_result(&t->jobs[k], res, at);
	} else if (strcmp(op, "command") == 0) {
		const char *id = str_field(o, "agent_id");
		long k = id ? registry_agent_find(t, id) : -ENOENT;
		struct registry_command c;
		const char *cid = str_field(o, "id"), *type = str_field(o, "type");
		memset(&c, 0, sizeof(c));
		if (k < 0 || !fit(cid, sizeof(c.id)) || !hex_ok(cid) || !cmd_type_valid(type) ||
		    num_field(o, "issued", &c.issued))
			goto out;
		strcpy(c.id, cid);
		strcpy(c.type, type);
		push_command(&t->agents[k], &c);
		r = 0;
	} else if (strcmp(op, "deliver") == 0) {
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "ids"), *e;
		int64_t at;
		if (!cJSON_IsArray(ids) || num_field(o, "at", &at))
			goto out;
		cJSON_ArrayForEach(e, ids) {
			long k = cJSON_IsString(e) ? registry_job_find(t, e->valuestring) : -ENOENT;
			if (k < 0)
				goto out;     /* a delivery names only jobs recorded before it */
			t->jobs[k].delivered = at;
			t->jobs[k].attempts++;
		}
		r = 0;
	} else if (strcmp(op, "command_ack") == 0) {
		const char *id = str_field(o, "agent_id");
		long k = id ? registry_agent_find(t, id) : -ENOENT;
		const cJSON *ids = cJSON_GetObjectItemCaseSensitive(o, "ids"), *e;
		if (k < 0 || !cJSON_IsArray(ids))
			goto out;
		cJSON_ArrayForEach(e, ids)
			if (cJSON_IsString(e))
				(void)drop_command(&t->agents[k], e->valuestring);
		r = 0;
	}
out:
	cJSON_Delete(o);
	return r;
}

/* Append one record and make it durable. */
static int commit(struct registry_tenant *t, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	int r;

	if (!s)
		return -ENOMEM;
	r = journal_append(t->j, s, strlen(s), NULL);
	if (r == 0)
		r = journal_sync(t->j);
	cJSON_free(s);
	return r;
}

/* Append one record, to be synced by registry_sync (or by the next commit:
 * a journal sync covers every record appended before it). */
static int commit_deferred(struct registry *r, struct registry_tenant *t, cJSON *o)
{
	char *s = cJSON_PrintUnformatted(o);
	int e;

	if (!s)
		return -ENOMEM;
	e = journal_append(t->j, s, strlen(s), NULL);
	cJSON_free(s);
	if (e == 0) {
		t->sync_pending = 1;
		r->sync_pending = 1;
	}
	return e;
}

int registry_sync(struct registry *r)
{
	int first = 0;

	if (!r->sync_pending)
		return 0;
	for (size_t i = 0; i < r->n; i++) {
		struct registry_tenant *t = r->t[i];
		int e;

		if (!t->sync_pending)
			continue;
		e = journal_sync(t->j);
		if (e < 0 && first == 0)
			first = e;
		t->sync_pending = 0;
	}
	r->sync_pending = 0;
	return first;
}

static void tenant_free(struct registry_tenant *t)
{
	if (!t)
		return;
	journal_close(t->j);
	if (t->tokens)
		explicit_bzero(t->tokens, t->cap_tokens * sizeof(*t->tokens));
	free(t->tokens);
	free(t->agents);
	for (size_t i = 0; i < t->n_jobs; i++)
		job_free(&t->jobs[i]);
	free(t->jobs);
	free(t);
}

static int tenant_path(const struct registry *r, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s/journal", r->dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int add_tenant_struct(struct registry *r, struct registry_tenant *t)
{
	int e = grow((void **)&r->t, &r->cap, r->n, sizeof(*r->t), REGISTRY_MAX_TENANTS);

	if (e < 0)
		return e;
	r->t[r->n++] = t;
	return 0;
}

static int seen_load(const struct registry *r, struct registry_tenant *t, size_t *restored);

static int load_tenant(struct registry *r, const char *name, struct registry_report *rep)
{
	char path[REG_PATH_MAX];
	struct journal_options opt = { .max_record = REGISTRY_MAX_RECORD };
	struct journal_recovery jr;
	struct journal_iter it;
	struct registry_tenant *t = calloc(1, sizeof(*t));
	int e, seen_header = 0;

	if (!t)
		return -ENOMEM;
	copy_str(t->name, sizeof(t->name), name);
	e = tenant_path(r, name, path, sizeof(path));
	if (e == 0)
		e = journal_open(path, &opt, &t->j, &jr);
	if (e < 0)
		goto fail;
	if (rep && jr.bytes_dropped) {
		rep->torn_bytes += jr.bytes_dropped;
		copy_str(rep->torn_tenant, sizeof(rep->torn_tenant), name);
	}
	e = journal_iter_init(t->j, 1, &it);
	if (e < 0)
		goto fail;
	for (;;) {
		uint64_t seq;
		const void *data;
		size_t len;
		int n = journal_iter_next(&it, &seq, &data, &len);
		if (n < 0) {
			e = n;
			break;
		}
		if (n == 0)
			break;
		e = registry_apply(t, data, len);
		if (e < 0) {
			e = -EBADMSG;
			break;
		}
		seen_header = 1;
		if (rep)
			rep->records++;
	}
	journal_iter_done(&it);
	if (e < 0)
		goto fail;
	if (!seen_header || t->created == 0) {
		/* a crash between creating the journal and syncing the tenant
		 * record: the tenant was never acknowledged; ignore it */
		tenant_free(t);
		return 0;
	}
	{
		size_t restored = 0;
		if (seen_load(r, t, &restored) < 0) {
			if (rep)
				rep->seen_unreadable++;
		} else if (rep) {
			rep->seen_restored += restored;
		}
	}
	e = add_tenant_struct(r, t);
	if (e < 0)
		goto fail;
	if (rep) {
		rep->tenants++;
		rep->tokens += t->n_tokens;
		rep->agents += t->n_agents;
	}
	return 0;
fail:
	tenant_free(t);
	return e;
}

int registry_open(const char *state_dir, struct registry **out, struct registry_report *rep)
{
	struct registry *r = calloc(1, sizeof(*r));
	char path[REG_PATH_MAX];
	DIR *d = NULL;
	struct dirent *de;
	int e;

	*out = NULL;
	if (rep)
		memset(rep, 0, sizeof(*rep));
	if (!r)
		return -ENOMEM;
	if (snprintf(path, sizeof(path), "%s/tenants", state_dir) >= (int)sizeof(path)) {
		e = -ENAMETOOLONG;
		goto fail;
	}
	r->dir = strdup(path);
	if (!r->dir) {
		e = -ENOMEM;
		goto fail;
	}
	e = mkdir_p(path, 0700);
	if (e < 0)
		goto fail;
	d = opendir(path);
	if (!d) {
		e = -errno;
		goto fail;
	}
	while ((de = readdir(d)) != NULL) {
		if (!token_tenant_valid(de->d_name))
			continue;    /* ".", "..", and anything we never create */
		e = load_tenant(r, de->d_name, rep);
		if (e < 0)
			goto fail;
	}
	closedir(d);
	*out = r;
	return 0;
fail:
	if (d)
		closedir(d);
	registry_close(r);
	return e;
}

void registry_close(struct registry *r)
{
	if (!r)
		return;
	if (registry_sync(r) < 0) {
		/* a broken journal: its tenant is recovered at the next open */
	}
	/* the last heartbeats survive a clean stop (best effort: a hint) */
	if (registry_seen_flush(r) < 0) {
		/* nothing to do at close: the previous snapshot stays */
	}
	for (size_t i = 0; i < r->n; i++)
		tenant_free(r->t[i]);
	free(r->t);
	free(r->dir);
	free(r);
}

struct registry_tenant *registry_tenant(struct registry *r, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->t[i]->name, name) == 0)
			return r->t[i];
	return NULL;
}

int registry_tenant_add(struct registry *r, const char *name, int64_t now)
{
	char path[REG_PATH_MAX];
	struct journal_options opt = { .max_record = REGISTRY_MAX_RECORD, .flags = JOURNAL_CREATE };
	struct registry_tenant *t = NULL;
	cJSON *o = NULL;
	int e;

	if (!token_tenant_valid(name))
		return -EINVAL;
	if (registry_tenant(r, name))
		return -EEXIST;
	if (r->n >= REGISTRY_MAX_TENANTS)
		return -ENOSPC;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	copy_str(t->name, sizeof(t->name), name);
	t->created = now;
	e = tenant_path(r, name, path, sizeof(path));
	if (e < 0)
		goto fail;
	/* the tenant directory first (0700), then the journal inside it */
	*strrchr(path, '/') = '\0';
	e = mkdir_p(path, 0700);
	if (e < 0)
		goto fail;
	e = fsync_parent_dir(path);
	if (e < 0)
		goto fail;
	strcat(path, "/journal");
	e = journal_open(path, &opt, &t->j, NULL);
	if (e < 0)
		goto fail;
	if (journal_next_seq(t->j) != 1) {
		/* left over from a tenant that was never acknowledged?  The
		 * journal holds records: refuse rather than merge. */
		e = -EEXIST;
		goto fail;
	}
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "op", "tenant") ||
	    !cJSON_AddStringToObject(o, "name", name) ||
	    !cJSON_AddNumberToObject(o, "created", (double)now)) {
		e = -ENOMEM;
		goto fail;
	}
	e = commit(t, o);
	if (e < 0)
		goto fail;
	e = add_tenant_struct(r, t);
	if (e < 0)
		goto fail;
	cJSON_Delete(o);
	return 0;
fail:
	cJSON_Delete(o);
	tenant_free(t);
	return e;
}

/* {"op":"token", ...fields of rec} */
static cJSON *token_record_obj(const struct token_record *rec)
{
	cJSON *o = token_to_obj(rec);

	if (o && !cJSON_AddStringToObject(o, "op", "token")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int registry_token_add(struct registry *r, const struct token_record *rec)
{
	struct registry_tenant *t = registry_tenant(r, rec->tenant);
	cJSON *o;
	int e;

	if (!t)
		return -ENOENT;
	for (size_t i = 0; i < t->n_tokens; i++)
		if (strcmp(t->tokens[i].hash, rec->hash) == 0)
			return -EEXIST;
	/* room first: after the commit nothing may fail */
	e = grow((void **)&t->tokens, &t->cap_tokens, t->n_tokens, sizeof(*t->tokens),
	    REGISTRY_MAX_TOKENS);
	if (e < 0)
		return e;
	o = token_record_obj(rec);
	if (!o)
		return -ENOMEM;
	e = commit(t, o);
	cJSON_Delete(o);
	if (e == 0)
		e = put_token(t, rec);
	return e;
}

int registry_token_lookup(struct registry *r, const char *id, struct registry_tenant **t,
    size_t *idx)
{
	int found = 0;

	for (size_t i = 0; i < r->n; i++) {
		long k = token_lookup_id(r->t[i]->tokens, r->t[i]->n_tokens, id);
		if (k == -EINVAL || k == -EEXIST)
			return (int)k;
		if (k >= 0) {
			if (found)
				return -EEXIST;
			found = 1;
			*t = r->t[i];
			*idx = (size_t)k;
		}
	}
	return found ? 0 : -ENOENT;
}

int registry_token_revoke(struct registry *r, struct registry_tenant *t, size_t idx)
{
	struct token_record rec;
	cJSON *o;
	int e;

	(void)r;
	if (idx >= t->n_tokens)
		return -EINVAL;
	rec = t->tokens[idx];
	rec.revoked = 1;
	o = token_record_obj(&rec);
	if (!o)
		return -ENOMEM;
	e = commit(t, o);
	cJSON_Delete(o);
	if (e == 0)
		t->tokens[idx] = rec;
	return e;
}

long registry_agent_find(const struct registry_tenant *t, const char *id)
{
	for (size_t i = 0; i < t->n_agents; i++)
		if (strcmp(t->agents[i].id, id) == 0)
			return (long)i;
	return -ENOENT;
}

int registry_enroll(struct registry *r, struct registry_tenant *t, const struct registry_agent *a,
    size_t token_idx)
{
	struct token_record rec;
	cJSON *o = NULL, *ao, *to;
	int e;

	(void)r;
	if (token_idx >= t->n_tokens || !registry_agent_id_valid(a->id))
		return -EINVAL;
	if (registry_agent_find(t, a->id) >= 0)
		return -EEXIST;
	if (t->n_agents >= REGISTRY_MAX_AGENTS)
		return -ENOSPC;
	/* room first: after the commit nothing may fail */
	e = grow((void **)&t->agents, &t->cap_agents, t->n_agents, sizeof(*t->agents),
	    REGISTRY_MAX_AGENTS);
	if (e < 0)
		return e;
	rec = t->tokens[token_idx];
	if (token_consume(&rec) != 0)
		return -EINVAL;
	o = cJSON_CreateObject();
	ao = agent_to_obj(a);
	to = token_to_obj(&rec);
	if (!o || !ao || !to || !cJSON_AddStringToObject(o, "op", "enroll")) {
		cJSON_Delete(ao);
		cJSON_Delete(to);
		e = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(o, "agent", ao);
	cJSON_AddItemToObject(o, "token", to);
	e = commit(t, o);
	if (e < 0)
		goto out;
	e = put_agent(t, a);
	if (e == 0)
		t->tokens[token_idx] = rec;
out:
	cJSON_Delete(o);
	explicit_bzero(&rec, sizeof(rec));
	return e;
}

int registry_agent_renew(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *serial_hex, int64_t not_after, int64_t now)
{
	return registry_agent_renew_key(r, t, idx, serial_hex, not_after, now, NULL);
}

int registry_agent_renew_key(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *serial_hex, int64_t not_after, int64_t now, const unsigned char *key_pin)
{
	struct registry_agent *a;
	cJSON *o;
	int e;

	(void)r;
	if (idx >= t->n_agents || !fit(serial_hex, sizeof(a->serial)) || !hex_ok(serial_hex))
		return -EINVAL;
	a = &t->agents[idx];
	if (a->revoked)
		return -EPERM;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "op", "renew") ||
	    !cJSON_AddStringToObject(o, "agent_id", a->id) ||
	    !cJSON_AddStringToObject(o, "serial", serial_hex) ||
	    !cJSON_AddNumberToObject(o, "not_after", (double)not_after) ||
	    !cJSON_AddNumberToObject(o, "at", (double)now) ||
	    (key_pin && add_key_field(o, key_pin) != 0)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	e = commit(t, o);
	cJSON_Delete(o);
	if (e < 0)
		return e;
	if (key_pin)
		registry_agent_key_push(a, key_pin);
	memcpy(a->prev_serial, a->serial, sizeof(a->serial));
	copy_str(a->serial, sizeof(a->serial), serial_hex);
	a->not_after = not_after;
	a->renewed = now;
	return 0;
}

int registry_agent_revoke(struct registry *r, struct registry_tenant *t, size_t idx, int64_t now)
{
	struct registry_agent *a;
	cJSON *o;
	int e;

	(void)r;
	if (idx >= t->n_agents)
		return -EINVAL;
	a = &t->agents[idx];
	if (a->revoked)
		return 0;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "op", "agent_revoke") ||
	    !cJSON_AddStringToObject(o, "agent_id", a->id) ||
	    !cJSON_AddNumberToObject(o, "at", (double)now)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	e = commit(t, o);
	cJSON_Delete(o);
	if (e < 0)
		return e;
	a->revoked = 1;
	a->revoked_at = now;
	return 0;
}

int registry_serial_revoked(const struct registry *r, const char *serial_hex)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct registry_tenant *t = r->t[i];
		for (size_t k = 0; k < t->n_agents; k++) {
			const struct registry_agent *a = &t->agents[k];
			if (a->revoked && (strcmp(a->serial, serial_hex) == 0 ||
			    (a->prev_serial[0] && strcmp(a->prev_serial, serial_hex) == 0)))
				return 1;
		}
	}
	return 0;
}

/* ---- jobs --------------------------------------------------------------------- */

long registry_job_find(const struct registry_tenant *t, const char *id)
{
	for (size_t i = 0; i < t->n_jobs; i++)
		if (strcmp(t->jobs[i].id, id) == 0)
			return (long)i;
	return -ENOENT;
}

int registry_job_add(struct registry *r, struct registry_tenant *t, const struct registry_job *j)
{
	cJSON *o = NULL, *jo, *args;
	long k;
	int e;

	(void)r;
	if (!job_id_valid(j->id) || !registry_plugin_valid(j->plugin) || !j->args ||
	    j->timeout < 0 || j->created < 0)
		return -EINVAL;
	k = registry_agent_find(t, j->agent_id);
	if (k < 0)
		return -ENOENT;
	if (t->agents[k].revoked)
		return -EPERM;
	if (registry_job_find(t, j->id) >= 0)
		return -EEXIST;
	e = grow((void **)&t->jobs, &t->cap_jobs, t->n_jobs, sizeof(*t->jobs), REGISTRY_MAX_JOBS);
	if (e < 0)
		return e;
	args = cJSON_Parse(j->args);
	if (!args)
		return -EINVAL;
	o = cJSON_CreateObject();
	jo = cJSON_CreateObject();
	if (!o || !jo || !cJSON_AddStringToObject(o, "op", "job")) {
		cJSON_Delete(jo);
		cJSON_Delete(args);
		e = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(o, "job", jo);
	if (!cJSON_AddStringToObject(jo, "id", j->id) ||
	    !cJSON_AddStringToObject(jo, "agent_id", j->agent_id) ||
	    !cJSON_AddStringToObject(jo, "plugin", j->plugin) ||
	    !cJSON_AddNumberToObject(jo, "timeout", (double)j->timeout) ||
	    !cJSON_AddNumberToObject(jo, "created", (double)j->created)) {
		cJSON_Delete(args);
		e = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(jo, "args", args);
	if (j->sha256[0] && (!registry_digest_valid(j->sha256) ||
	    !cJSON_AddStringToObject(jo, "sha256", j->sha256))) {
		e = -EINVAL;
		goto out;
	}
	if (j->policy) {
		cJSON *pol = cJSON_Parse(j->policy);
		if (!cJSON_IsObject(pol)) {
			cJSON_Delete(pol);
			e = -EINVAL;
			goto out;
		}
		cJSON_AddItemToObject(jo, "policy", pol);
	}
	e = commit(t, o);
	if (e < 0)
		goto out;
	/* memory after the commit: the replay of the same record */
	e = apply_job(t, jo);
out:
	cJSON_Delete(o);
	return e;
}

int registry_job_result(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *result_json, int64_t now)
{
	cJSON *o = NULL, *res;
	int e;

	(void)r;
	if (idx >= t->n_jobs)
		return -EINVAL;
	if (t->jobs[idx].result)
		return -EALREADY;
	res = cJSON_Parse(result_json);
	if (!res)
		return -EINVAL;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "op", "job_result") ||
	    !cJSON_AddStringToObject(o, "id", t->jobs[idx].id) ||
	    !cJSON_AddNumberToObject(o, "at", (double)now)) {
		cJSON_Delete(res);
		e = -ENOMEM;
		goto out;
	}
	cJSON_AddItemToObject(o, "result", res);
	e = commit(t, o);
	if (e == 0)
		e = set_result(&t->jobs[idx], res, now);
out:
	cJSON_Delete(o);
	return e;
}

int registry_job_deliver(struct registry *r, struct registry_tenant *t, const size_t *idx,
    size_t n, int64_t now)
{
	cJSON *o, *ids;
	int e;

	if (n == 0)
		return 0;
	o = cJSON_CreateObject();
	ids = o ? cJSON_AddArrayToObject(o, "ids") : NULL;
	if (!ids || !cJSON_AddStringToObject(o, "op", "deliver") ||
	    !cJSON_AddNumberToObject(o, "at", (double)now)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		cJSON *s;
		if (idx[i] >= t->n_jobs) {
			cJSON_Delete(o);
			return -EINVAL;
		}
		s = cJSON_CreateString(t->jobs[idx[i]].id);
		if (!s) {
			cJSON_Delete(o);
			return -ENOMEM;
		}
		cJSON_AddItemToArray(ids, s);
	}
	e = commit_deferred(r, t, o);
	cJSON_Delete(o);
	if (e < 0)
		return e;
	for (size_t i = 0; i < n; i++) {
		t->jobs[idx[i]].delivered = now;
		t->jobs[idx[i]].attempts++;
	}
	return 0;
}

int64_t registry_job_lease_end(const struct registry_job *j)
{
	if (!j->delivered)
		return 0;
	return j->delivered + (j->timeout > 0 ? j->timeout : REGISTRY_LEASE_DEFAULT) +
	    REGISTRY_LEASE_GRACE;
}

/* ---- last_seen snapshot ----------------------------------------------------------- */

void registry_agent_seen(struct registry_tenant *t, size_t idx, int64_t now)
{
	if (idx >= t->n_agents)
		return;
	t->agents[idx].last_seen = now;
	t->seen_dirty = 1;
}

static int seen_path(const struct registry *r, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s/%s", r->dir, name, REGISTRY_SEEN_FILE);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int seen_save(const struct registry *r, struct registry_tenant *t)
{
	char path[REG_PATH_MAX], *s = NULL;
	cJSON *o = cJSON_CreateObject();
	int e = -ENOMEM;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_agents; i++)
		if (t->agents[i].last_seen > 0 &&
		    !cJSON_AddNumberToObject(o, t->agents[i].id, (double)t->agents[i].last_seen))
			goto out;
	s = cJSON_PrintUnformatted(o);
	if (!s)
		goto out;
	e = seen_path(r, t->name, path, sizeof(path));
	if (e == 0)
		e = file_write_atomic(path, s, strlen(s), 0600);
	if (e < 0)
		goto out;
	for (size_t i = 0; i < t->n_agents; i++)
		t->agents[i].seen_saved = t->agents[i].last_seen;
	t->seen_dirty = 0;
out:
	cJSON_free(s);
	cJSON_Delete(o);
	return e;
}

int registry_seen_flush(struct registry *r)
{
	int first = 0;

	for (size_t i = 0; r && i < r->n; i++) {
		int e;
		if (!r->t[i]->seen_dirty)
			continue;
		e = seen_save(r, r->t[i]);
		if (e < 0 && first == 0)
			first = e;
	}
	return first;
}

/* Apply the snapshot of `t` (after the journal replay: agents unknown to
 * the journal are skipped).  0, or -EBADMSG/-errno when it is unreadable
 * (the caller ignores it: it is a hint). */
static int seen_load(const struct registry *r, struct registry_tenant *t, size_t *restored)
{
	char path[REG_PATH_MAX], *buf = NULL;
	size_t len = 0;
	cJSON *o = NULL, *e;
	int rc;

	rc = seen_path(r, t->name, path, sizeof(path));
	if (rc == 0)
		rc = file_read_all(path, REGISTRY_SEEN_MAX, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	o = cJSON_ParseWithLength(buf, len);
	free(buf);
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		return -EBADMSG;
	}
	cJSON_ArrayForEach(e, o) {
		long k;
		if (!e->string || !cJSON_IsNumber(e) || e->valuedouble <= 0 || e->valuedouble > 9.0e15)
			continue;
		k = registry_agent_find(t, e->string);
		if (k < 0)
			continue;
		t->agents[k].last_seen = t->agents[k].seen_saved = (int64_t)e->valuedouble;
		(*restored)++;
	}
	cJSON_Delete(o);
	return 0;
}

/* ---- heartbeat commands --------------------------------------------------------- */

int registry_command_add(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *type, int64_t now, struct registry_command *out)
{
	struct registry_command c;
	unsigned char rnd[8];
	cJSON *o;
	int e;

	(void)r;
	if (idx >= t->n_agents || !cmd_type_valid(type))
		return -EINVAL;
	if (t->agents[idx].revoked)
		return -EPERM;
	memset(&c, 0, sizeof(c));
	e = rng_bytes(rnd, sizeof(rnd));
	if (e < 0)
		return e;
	hex_encode(rnd, sizeof(rnd), c.id);
	copy_str(c.type, sizeof(c.type), type);
	c.issued = now;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "op", "command") ||
	    !cJSON_AddStringToObject(o, "agent_id", t->agents[idx].id) ||
	    !cJSON_AddStringToObject(o, "id", c.id) ||
	    !cJSON_AddStringToObject(o, "type", c.type) ||
	    !cJSON_AddNumberToObject(o, "issued", (double)now)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	e = commit(t, o);
	cJSON_Delete(o);
	if (e < 0)
		return e;
	push_command(&t->agents[idx], &c);
	if (out)
		*out = c;
	return 0;
}

int registry_command_ack(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *const *ids, size_t n)
{
	struct registry_agent *a;
	cJSON *o, *arr;
	size_t hits = 0;
	int e;

	(void)r;
	if (idx >= t->n_agents)
		return -EINVAL;
	a = &t->agents[idx];
	o = cJSON_CreateObject();
	arr = cJSON_CreateArray();
	if (!o || !arr) {
		cJSON_Delete(o);
		cJSON_Delete(arr);
		return -ENOMEM;
	}
	cJSON_AddItemToObject(o, "ids", arr);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < a->n_cmds; k++)
			if (ids[i] && strcmp(ids[i], a->cmds[k].id) == 0) {
				cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
				hits++;
				break;
			}
	if (hits == 0) {
		cJSON_Delete(o);
		return 0;
	}
	if (!cJSON_AddStringToObject(o, "op", "command_ack") ||
	    !cJSON_AddStringToObject(o, "agent_id", a->id)) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	e = commit(t, o);
	if (e == 0) {
		cJSON *it;
		cJSON_ArrayForEach(it, arr)
			(void)drop_command(a, it->valuestring);
	}
	cJSON_Delete(o);
	return e < 0 ? e : (int)hits;
}

/* ---- purge ------------------------------------------------------------------------ */

int registry_tenant_dir(const struct registry *r, const char *name, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", r->dir, name);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Remove `name` inside the directory `dfd` and everything below it (no
 * symlinks followed: unlinkat never follows, and directories are opened
 * with O_NOFOLLOW).  Bounded depth: our tenant trees are 3 levels deep. */
static int rm_tree_at(int dfd, const char *name, int depth)
{
	int fd, e = 0, first = 0;
	DIR *d;
	struct dirent *de;

	if (unlinkat(dfd, name, 0) == 0)
		return 0;
	if (errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > 16)
		return -ELOOP;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		e = -errno;
		close(fd);
		return e;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		e = rm_tree_at(fd, de->d_name, depth + 1);
		if (e < 0 && !first)
			first = e;
	}
	closedir(d);
	if (first)
		return first;
	if (unlinkat(dfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int registry_tenant_purge(struct registry *r, const char *name)
{
	char path[REG_PATH_MAX];
	struct stat st;
	int known = 0, e, dfd;

	if (!token_tenant_valid(name))
		return -EINVAL;
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->t[i]->name, name) == 0) {
			tenant_free(r->t[i]);
			memmove(&r->t[i], &r->t[i + 1], (r->n - i - 1) * sizeof(r->t[0]));
			r->n--;
			known = 1;
			break;
		}
	e = registry_tenant_dir(r, name, path, sizeof(path));
	if (e < 0)
		return e;
	if (lstat(path, &st) != 0)
		return known ? 0 : -ENOENT;
	dfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	e = rm_tree_at(dfd, name, 0);
	if (e == 0 && fsync(dfd) != 0)
		e = -errno;
	close(dfd);
	return e;
}
