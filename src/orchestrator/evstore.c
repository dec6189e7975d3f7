/* see evstore.h */
#include "orchestrator/evstore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/dedup.h"
#include "store/journal.h"

#define EVS_PATH_MAX 4096
#define EVS_MAX_TENANTS 10000u

struct evs_tenant {
	char name[65];
	struct journal *j;
	struct dedup *seen;
};

struct evstore {
	char *dir;
	struct evs_tenant *t;
	size_t n, cap;
};

int evstore_id_valid(const char *id)
{
	size_t n = 0;

	if (!id || !id[0])
		return 0;
	for (; id[n]; n++) {
		char c = id[n];
		if (n >= EVSTORE_ID_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

int evstore_new(const char *tenants_dir, struct evstore **out)
{
	struct evstore *es = calloc(1, sizeof(*es));

	*out = NULL;
	if (!es)
		return -ENOMEM;
	es->dir = strdup(tenants_dir);
	if (!es->dir) {
		free(es);
		return -ENOMEM;
	}
	*out = es;
	return 0;
}

static void tenant_close(struct evs_tenant *t)
{
	journal_close(t->j);
	dedup_close(t->seen);
	t->j = NULL;
	t->seen = NULL;
}

void evstore_free(struct evstore *es)
{
	if (!es)
		return;
	for (size_t i = 0; i < es->n; i++)
		tenant_close(&es->t[i]);
	free(es->t);
	free(es->dir);
	free(es);
}

void evstore_forget(struct evstore *es, const char *tenant)
{
	for (size_t i = 0; i < es->n; i++)
		if (strcmp(es->t[i].name, tenant) == 0) {
			tenant_close(&es->t[i]);
			es->t[i] = es->t[es->n - 1];
			es->n--;
			return;
		}
}

/* Rebuild the dedup set from the journal (the source of truth). */
static int rebuild(struct evs_tenant *t)
{
	struct journal_iter it;
	int e = journal_iter_init(t->j, 1, &it);

	if (e < 0)
		return e;
	for (;;) {
		uint64_t seq;
		const void *data;
		size_t len;
		int n = journal_iter_next(&it, &seq, &data, &len);
		if (n <= 0) {
			e = n;
			break;
		}
		cJSON *o = cJSON_ParseWithLength(data, len);
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
		const cJSON *ag = cJSON_GetObjectItemCaseSensitive(o, "agent_id");
		if (cJSON_IsString(id) && cJSON_IsString(ag)) {
			int r = dedup_add(t->seen, ag->valuestring, id->valuestring,
			    strlen(id->valuestring));
			if (r < 0 && r != -EINVAL) {
				cJSON_Delete(o);
				e = r;
				break;
			}
		}
		cJSON_Delete(o);
	}
	journal_iter_done(&it);
	return e;
}

/* The tenant's open store, opening (and creating) it on first use.
 * `create` 0: -ENOENT when the tenant has no events directory yet. */
static int get_tenant(struct evstore *es, const char *tenant, int create, struct evs_tenant **out)
{
	char path[EVS_PATH_MAX];
	struct journal_options opt = { .max_record = EVSTORE_MAX_RECORD,
		.max_segment = EVSTORE_SEGMENT_BYTES, .flags = create ? JOURNAL_CREATE : 0 };
	struct evs_tenant t;
	int e;

	for (size_t i = 0; i < es->n; i++)
		if (strcmp(es->t[i].name, tenant) == 0) {
			*out = &es->t[i];
			return 0;
		}
	if (strlen(tenant) >= sizeof(t.name))
		return -EINVAL;
	if (es->n == es->cap) {
		size_t nc = es->cap ? es->cap * 2 : 16;
		if (nc > EVS_MAX_TENANTS)
			return -ENOSPC;
		void *p = realloc(es->t, nc * sizeof(*es->t));
		if (!p)
			return -ENOMEM;
		es->t = p;
		es->cap = nc;
	}
	memset(&t, 0, sizeof(t));
	strcpy(t.name, tenant);
	if (snprintf(path, sizeof(path), "%s/%s/events", es->dir, tenant) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* a torn tail is what kill -9 during an append leaves: cut it */
	e = journal_open(path, &opt, &t.j, NULL);
	if (e < 0)
		return e;
	e = dedup_open(NULL, 0, 0, &t.seen, NULL);
	if (e == 0)
		e = rebuild(&t);
	if (e < 0) {
		tenant_close(&t);
		return e;
	}
	es->t[es->n] = t;
	*out = &es->t[es->n++];
	return 0;
}

static void reject(cJSON *arr, int index, const char *why)
{
	cJSON *r = cJSON_CreateObject();

	cJSON_AddNumberToObject(r, "index", index);
	cJSON_AddStringToObject(r, "error", why);
	cJSON_AddItemToArray(arr, r);
}

static void set_member(cJSON *o, const char *k, cJSON *v)
{
	if (cJSON_GetObjectItemCaseSensitive(o, k))
		cJSON_ReplaceItemInObjectCaseSensitive(o, k, v);
	else
		cJSON_AddItemToObject(o, k, v);
}

int evstore_add_batch(struct evstore *es, const char *tenant, const char *agent, cJSON *events,
    int64_t now, struct evstore_batch_result *res)
{
	struct journal *j = NULL;
	uint64_t seq = 0;
	int e = evstore_append_batch(es, tenant, agent, events, now, res, &j, &seq);

	return e < 0 ? e : journal_sync(j);
}

int evstore_append_batch(struct evstore *es, const char *tenant, const char *agent, cJSON *events,
    int64_t now, struct evstore_batch_result *res, struct journal **jp, uint64_t *seq)
{
	struct evs_tenant *t;
	cJSON *ev;
	int e, index = 0, n = cJSON_GetArraySize(events);

	memset(res, 0, sizeof(*res));
	res->acked = cJSON_CreateArray();
	res->rejected = cJSON_CreateArray();
	if (!res->acked || !res->rejected)
		return -ENOMEM;
	if (!cJSON_IsArray(events) || n < 1 || n > (int)EVSTORE_MAX_BATCH)
		return -EINVAL;
	e = get_tenant(es, tenant, 1, &t);
	if (e < 0)
		return e;
	cJSON_ArrayForEach(ev, events) {
		const cJSON *idv = cJSON_GetObjectItemCaseSensitive(ev, "id");
		const char *id;
		char *s;
		int c;

		index++;
		if (!cJSON_IsObject(ev)) {
			reject(res->rejected, index - 1, "not an object");
			continue;
		}
		if (!cJSON_IsString(idv) || !evstore_id_valid(idv->valuestring)) {
			reject(res->rejected, index - 1, "bad id");
			continue;
		}
		id = idv->valuestring;
		c = dedup_contains(t->seen, agent, id, strlen(id));
		if (c < 0)
			return c;
		if (c == 1) {
			res->duplicates++;
			cJSON_AddItemToArray(res->acked, cJSON_CreateString(id));
			continue;
		}
		/* who sent it is decided by the certificate, never the body */
		set_member(ev, "tenant", cJSON_CreateString(tenant));
		set_member(ev, "agent_id", cJSON_CreateString(agent));
		set_member(ev, "received", cJSON_CreateNumber((double)now));
		s = cJSON_PrintUnformatted(ev);
		if (!s)
			return -ENOMEM;
		e = journal_append(t->j, s, strlen(s), NULL);
		cJSON_free(s);
		if (e == -EMSGSIZE) {
			reject(res->rejected, index - 1, "too large");
			continue;
		}
		if (e < 0)
			return e;
		/* in memory only until the sync below; if that fails the
		 * journal is broken and the set is rebuilt at the next start */
		e = dedup_add(t->seen, agent, id, strlen(id));
		if (e < 0)
			return e;
		res->stored++;
		cJSON_AddItemToArray(res->acked, cJSON_CreateString(id));
	}
	/* everything appended so far, also by earlier batches whose events
	 * this one acknowledged as duplicates */
	*jp = t->j;
	*seq = journal_next_seq(t->j) - 1;
	return 0;
}

static int matches(const cJSON *o, const struct evstore_filter *f)
{
	const cJSON *v;

	if (f->agent) {
		v = cJSON_GetObjectItemCaseSensitive(o, "agent_id");
		if (!cJSON_IsString(v) || strcmp(v->valuestring, f->agent) != 0)
			return 0;
	}
	if (f->event) {
		v = cJSON_GetObjectItemCaseSensitive(o, "event");
		if (!cJSON_IsString(v) || strcmp(v->valuestring, f->event) != 0)
			return 0;
	}
	if (f->since > 0) {
		v = cJSON_GetObjectItemCaseSensitive(o, "received");
		if (!cJSON_IsNumber(v) || v->valuedouble < (double)f->since)
			return 0;
	}
	return 1;
}

long evstore_query(struct evstore *es, const char *tenant, const struct evstore_filter *f,
    cJSON *out, int *truncated)
{
	struct evs_tenant *t;
	struct journal_iter it;
	cJSON **ring = NULL;
	size_t limit = f->limit ? f->limit : 1000, n = 0, total = 0;
	long got = 0;
	int e;

	e = get_tenant(es, tenant, 0, &t);
	if (e < 0)
		return e;
	if (f->tail) {
		ring = calloc(limit, sizeof(*ring));
		if (!ring)
			return -ENOMEM;
	}
	e = journal_iter_init(t->j, 1, &it);
	if (e < 0) {
		free(ring);
		return e;
	}
	for (;;) {
		uint64_t seq;
		const void *data;
		size_t len;
		int r = journal_iter_next(&it, &seq, &data, &len);
		if (r <= 0) {
			e = r;
			break;
		}
		cJSON *o = cJSON_ParseWithLength(data, len);
		if (!o || !matches(o, f)) {
			cJSON_Delete(o);
			continue;
		}
		total++;
		if (f->tail) {
			cJSON_Delete(ring[n % limit]);
			ring[n % limit] = o;
			n++;
		} else if ((size_t)got < limit) {
			cJSON_AddItemToArray(out, o);
			got++;
		} else {
			cJSON_Delete(o);
			if (truncated)
				*truncated = 1;
			break;
		}
	}
	journal_iter_done(&it);
	if (f->tail) {
		size_t start = n > limit ? n % limit : 0, cnt = n > limit ? limit : n;
		for (size_t i = 0; i < cnt; i++) {
			cJSON_AddItemToArray(out, ring[(start + i) % limit]);
			ring[(start + i) % limit] = NULL;
		}
		got = (long)cnt;
		for (size_t i = 0; i < limit; i++)
			cJSON_Delete(ring[i]);
		free(ring);
	}
	(void)total;
	return e < 0 ? e : got;
}

long long evstore_prune(struct evstore *es, const char *tenant, int64_t cutoff)
{
	struct evs_tenant *t;
	struct journal_iter it;
	uint64_t keep_from = 0;
	int e = get_tenant(es, tenant, 0, &t);

	if (e == -ENOENT)
		return 0;
	if (e < 0)
		return e;
	if (journal_first_seq(t->j) == journal_next_seq(t->j))
		return 0;
	e = journal_iter_init(t->j, 1, &it);
	if (e < 0)
		return e;
	for (;;) {
		uint64_t seq;
		const void *data;
		size_t len;
		int r = journal_iter_next(&it, &seq, &data, &len);
		if (r <= 0) {
			e = r;
			break;
		}
		cJSON *o = cJSON_ParseWithLength(data, len);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "received");
		int old = cJSON_IsNumber(v) && v->valuedouble < (double)cutoff;
		cJSON_Delete(o);
		if (!old) {
			keep_from = seq;
			break;
		}
	}
	journal_iter_done(&it);
	if (e < 0)
		return e;
	if (keep_from == 0) {
		/* everything is old: close the active segment so it can go too */
		keep_from = journal_next_seq(t->j);
		e = journal_rotate(t->j);
		if (e < 0)
			return e;
	}
	return journal_drop_before(t->j, keep_from);
}
