/* see lockout.h */
#include "orchestrator/lockout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"

#define NIL UINT32_MAX

struct slot {
	char key[LOCKOUT_KEY_MAX];
	uint8_t keylen;
	uint8_t used;
	uint16_t nfail;        /* failure times held in the ring */
	uint16_t head;         /* ring index of the next write */
	uint64_t locked_until; /* 0 = not locked */
	uint32_t hnext;        /* bucket chain */
	uint32_t prev, next;   /* LRU list: head = most recent */
};

struct table {
	unsigned max_fail;     /* 0 = table off */
	struct slot *slots;
	uint64_t *rings;       /* max_fail times per slot */
	uint32_t *buckets;
	uint32_t nbuckets;     /* power of two */
	uint32_t nslots, used;
	uint32_t lru_head, lru_tail;
	uint64_t seed;
};

struct lockout {
	struct lockout_config cfg;
	struct table t[2]; /* [0] sources, [1] tenants */
};

/* FNV-1a with a random per-table seed, so that an attacker cannot predict
 * which addresses share a bucket. */
static uint32_t
hash_key(const struct table *t, const char *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull ^ t->seed;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)k[i];
		h *= 0x100000001b3ull;
	}
	h ^= h >> 29;
	return (uint32_t)h & (t->nbuckets - 1);
}

static int
table_init(struct table *t, unsigned max_fail, size_t n)
{
	memset(t, 0, sizeof(*t));
	t->max_fail = max_fail;
	t->lru_head = t->lru_tail = NIL;
	if (max_fail == 0)
		return 0;
	t->nslots = (uint32_t)n;
	t->nbuckets = 1;
	while (t->nbuckets < 2 * n)
		t->nbuckets <<= 1;
	t->slots = calloc(n, sizeof(*t->slots));
	t->rings = calloc(n * max_fail, sizeof(*t->rings));
	t->buckets = malloc(t->nbuckets * sizeof(*t->buckets));
	if (t->slots == NULL || t->rings == NULL || t->buckets == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nbuckets; i++)
		t->buckets[i] = NIL;
	if (rng_bytes(&t->seed, sizeof(t->seed)) != 0)
		t->seed = 0; /* still correct, only predictable */
	return 0;
}

static void
table_free(struct table *t)
{
	free(t->slots);
	free(t->rings);
	free(t->buckets);
}

static void
lru_unlink(struct table *t, uint32_t i)
{
	struct slot *s = &t->slots[i];
	if (s->prev != NIL)
		t->slots[s->prev].next = s->next;
	else
		t->lru_head = s->next;
	if (s->next != NIL)
		t->slots[s->next].prev = s->prev;
	else
		t->lru_tail = s->prev;
	s->prev = s->next = NIL;
}

static void
lru_push_front(struct table *t, uint32_t i)
{
	struct slot *s = &t->slots[i];
	s->prev = NIL;
	s->next = t->lru_head;
	if (t->lru_head != NIL)
		t->slots[t->lru_head].prev = i;
	t->lru_head = i;
	if (t->lru_tail == NIL)
		t->lru_tail = i;
}

static size_t
key_len(const char *k)
{
	size_t n = strnlen(k, LOCKOUT_KEY_MAX);
	return n;
}

static uint32_t
table_find(struct table *t, const char *k, size_t n)
{
	for (uint32_t i = t->buckets[hash_key(t, k, n)]; i != NIL; i = t->slots[i].hnext)
		if (t->slots[i].keylen == n && memcmp(t->slots[i].key, k, n) == 0)
			return i;
	return NIL;
}

static void
bucket_remove(struct table *t, uint32_t i)
{
	struct slot *s = &t->slots[i];
	uint32_t *p = &t->buckets[hash_key(t, s->key, s->keylen)];
	while (*p != NIL && *p != i)
		p = &t->slots[*p].hnext;
	if (*p == i)
		*p = s->hnext;
}

/* Find or create the slot for a key (evicting if full) and mark it most
 * recently used. */
static uint32_t
table_get(struct table *t, const char *k, size_t n, uint64_t now)
{
	uint32_t i = table_find(t, k, n);
	if (i != NIL) {
		lru_unlink(t, i);
		lru_push_front(t, i);
		return i;
	}
	if (t->used < t->nslots) {
		i = t->used++;
	} else {
		/* Prefer evicting a slot that is not locked, so that spraying
		 * new keys does not easily lift a lockout. */
		uint32_t c = t->lru_tail;
		i = c;
		for (unsigned k2 = 0; c != NIL && k2 < LOCKOUT_EVICT_SCAN; k2++, c = t->slots[c].prev) {
			if (t->slots[c].locked_until <= now) {
				i = c;
				break;
			}
		}
		bucket_remove(t, i);
		lru_unlink(t, i);
	}
	struct slot *s = &t->slots[i];
	memset(s, 0, sizeof(*s));
	memcpy(s->key, k, n);
	s->keylen = (uint8_t)n;
	s->used = 1;
	uint32_t b = hash_key(t, k, n);
	s->hnext = t->buckets[b];
	t->buckets[b] = i;
	lru_push_front(t, i);
	return i;
}

static unsigned
count_recent(const struct table *t, uint32_t i, uint64_t now, uint64_t window)
{
	const struct slot *s = &t->slots[i];
	const uint64_t *ring = t->rings + (size_t)i * t->max_fail;
	unsigned c = 0;
	for (unsigned k = 0; k < s->nfail; k++)
		if (ring[k] + window > now) /* inside (now - window, now] */
			c++;
	return c;
}

int
lockout_new(const struct lockout_config *cfg, struct lockout **out)
{
	struct lockout *lo;
	size_t n = cfg->max_entries ? cfg->max_entries : LOCKOUT_DEF_ENTRIES;
	int rc;

	*out = NULL;
	if (cfg->max_failed_attempts == 0 || cfg->max_failed_attempts > LOCKOUT_MAX_ATTEMPTS ||
	    cfg->tenant_max_failed > LOCKOUT_MAX_ATTEMPTS || cfg->window_ms == 0 ||
	    cfg->lockout_ms == 0 || cfg->window_ms > UINT64_MAX / 4 || cfg->lockout_ms > UINT64_MAX / 4 ||
	    n > LOCKOUT_MAX_ENTRIES)
		return -EINVAL;
	if ((lo = calloc(1, sizeof(*lo))) == NULL)
		return -ENOMEM;
	lo->cfg = *cfg;
	lo->cfg.max_entries = n;
	if ((rc = table_init(&lo->t[0], cfg->max_failed_attempts, n)) != 0 ||
	    (rc = table_init(&lo->t[1], cfg->tenant_max_failed, n)) != 0) {
		lockout_free(lo);
		return rc;
	}
	*out = lo;
	return 0;
}

void
lockout_free(struct lockout *lo)
{
	if (lo == NULL)
		return;
	table_free(&lo->t[0]);
	table_free(&lo->t[1]);
	free(lo);
}

/* Remaining lock of `key` in ms (0 if none); does not create a slot. */
static uint64_t
locked_for(struct table *t, const char *key, uint64_t now)
{
	if (t->max_fail == 0 || key == NULL)
		return 0;
	uint32_t i = table_find(t, key, key_len(key));
	if (i == NIL || t->slots[i].locked_until <= now)
		return 0;
	return t->slots[i].locked_until - now;
}

unsigned
lockout_check(struct lockout *lo, const char *source, const char *tenant, uint64_t now_ms,
    uint32_t *retry_after)
{
	uint64_t a = locked_for(&lo->t[0], source, now_ms);
	uint64_t b = locked_for(&lo->t[1], tenant, now_ms);
	uint64_t ms = a > b ? a : b;
	unsigned what = (a ? LOCKOUT_SOURCE : 0) | (b ? LOCKOUT_TENANT : 0);

	if (retry_after) {
		uint64_t s = (ms + 999) / 1000;
		*retry_after = what == 0 ? 0 : s == 0 ? 1 : s > UINT32_MAX ? UINT32_MAX : (uint32_t)s;
	}
	return what;
}

static unsigned
table_fail(struct lockout *lo, struct table *t, const char *key, uint64_t now)
{
	if (t->max_fail == 0 || key == NULL)
		return 0;
	uint32_t i = table_get(t, key, key_len(key), now);
	struct slot *s = &t->slots[i];
	uint64_t *ring = t->rings + (size_t)i * t->max_fail;
	if (s->locked_until > now)
		return 0;
	ring[s->head] = now;
	s->head = (uint16_t)((s->head + 1) % t->max_fail);
	if (s->nfail < t->max_fail)
		s->nfail++;
	if (count_recent(t, i, now, lo->cfg.window_ms) < t->max_fail)
		return 0;
	/* The Nth failure in the window: lock, and start counting afresh
	 * once the lock ends. */
	s->locked_until = now + lo->cfg.lockout_ms;
	s->nfail = 0;
	s->head = 0;
	return 1;
}

unsigned
lockout_fail(struct lockout *lo, const char *source, const char *tenant, uint64_t now_ms)
{
	unsigned r = 0;
	if (table_fail(lo, &lo->t[0], source, now_ms))
		r |= LOCKOUT_SOURCE;
	if (table_fail(lo, &lo->t[1], tenant, now_ms))
		r |= LOCKOUT_TENANT;
	return r;
}

unsigned
lockout_failures(struct lockout *lo, unsigned kind, const char *key, uint64_t now_ms)
{
	struct table *t = &lo->t[kind == LOCKOUT_TENANT ? 1 : 0];
	if (t->max_fail == 0 || key == NULL)
		return 0;
	uint32_t i = table_find(t, key, key_len(key));
	return i == NIL ? 0 : count_recent(t, i, now_ms, lo->cfg.window_ms);
}

size_t
lockout_entries(const struct lockout *lo, unsigned kind)
{
	return lo->t[kind == LOCKOUT_TENANT ? 1 : 0].used;
}
