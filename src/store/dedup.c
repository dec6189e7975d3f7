/* see dedup.h */
#include "store/dedup.h"

#include <bearssl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/rng.h"
#include "store/journal.h"

#define EMPTY UINT32_MAX

struct entry {
	unsigned char key[DEDUP_KEY_BYTES];
	uint64_t seq; /* journal sequence number of the key (0 in memory mode) */
};

struct dedup {
	struct journal *j;        /* NULL in memory mode */
	struct entry *ring;       /* FIFO of `cap` keys */
	size_t cap, head, count;  /* head: index of the oldest */
	uint32_t *slots;          /* open addressing (linear probing): ring index or EMPTY */
	size_t nslots;            /* power of two >= 2 * cap */
	uint64_t seed;
};

static int
make_key(const char *agent, const void *id, size_t idlen, unsigned char key[DEDUP_KEY_BYTES])
{
	unsigned char digest[32], lenb[2];
	br_sha256_context sc;
	size_t alen = agent ? strnlen(agent, DEDUP_AGENT_MAX + 1) : 0;

	if (alen == 0 || alen > DEDUP_AGENT_MAX || id == NULL || idlen == 0 || idlen > DEDUP_ID_MAX)
		return -EINVAL;
	/* The length prefix keeps ("ab", "c") and ("a", "bc") apart. */
	lenb[0] = (unsigned char)(alen >> 8);
	lenb[1] = (unsigned char)alen;
	br_sha256_init(&sc);
	br_sha256_update(&sc, lenb, 2);
	br_sha256_update(&sc, agent, alen);
	br_sha256_update(&sc, id, idlen);
	br_sha256_out(&sc, digest);
	memcpy(key, digest, DEDUP_KEY_BYTES);
	return 0;
}

/* Keys are SHA-256 output, which a client can still steer by choosing ids;
 * the secret seed keeps it from aiming at one probe sequence. */
static size_t
slot_of(const struct dedup *d, const unsigned char key[DEDUP_KEY_BYTES])
{
	uint64_t h;
	memcpy(&h, key, sizeof(h));
	h ^= d->seed;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return (size_t)h & (d->nslots - 1);
}

/* Slot holding `key`, or the empty slot where it would go. */
static size_t
probe(const struct dedup *d, const unsigned char key[DEDUP_KEY_BYTES], int *found)
{
	size_t s = slot_of(d, key);
	for (;;) {
		uint32_t r = d->slots[s];
		if (r == EMPTY) {
			*found = 0;
			return s;
		}
		if (memcmp(d->ring[r].key, key, DEDUP_KEY_BYTES) == 0) {
			*found = 1;
			return s;
		}
		s = (s + 1) & (d->nslots - 1);
	}
}

/* Linear-probing deletion by backward shift (no tombstones). */
static void
slot_delete(struct dedup *d, size_t s)
{
	size_t mask = d->nslots - 1, i = s, jx = s;
	for (;;) {
		jx = (jx + 1) & mask;
		uint32_t r = d->slots[jx];
		if (r == EMPTY)
			break;
		size_t home = slot_of(d, d->ring[r].key);
		/* Move r back into the hole at i unless its home lies in (i, jx]. */
		if ((i <= jx) ? (i < home && home <= jx) : (i < home || home <= jx))
			continue;
		d->slots[i] = r;
		i = jx;
	}
	d->slots[i] = EMPTY;
}

/* Insert a key known not to be present; forgets the oldest when full. */
static void
insert(struct dedup *d, const unsigned char key[DEDUP_KEY_BYTES], uint64_t seq)
{
	size_t pos;
	int found;

	if (d->count == d->cap) {
		size_t s = probe(d, d->ring[d->head].key, &found);
		if (found)
			slot_delete(d, s);
		pos = d->head;
		d->head = (d->head + 1) % d->cap;
		d->count--;
	} else {
		pos = (d->head + d->count) % d->cap;
	}
	memcpy(d->ring[pos].key, key, DEDUP_KEY_BYTES);
	d->ring[pos].seq = seq;
	d->count++;
	size_t s = probe(d, key, &found);
	d->slots[s] = (uint32_t)pos;
}

int
dedup_open(const char *dir, size_t capacity, unsigned journal_flags, struct dedup **out,
    uint64_t *loaded)
{
	struct dedup *d = NULL;
	struct journal_iter it = { .fd = -1 };
	uint64_t n = 0;
	int rc = 0;

	*out = NULL;
	if (loaded)
		*loaded = 0;
	if (capacity == 0)
		capacity = DEDUP_DEF_CAPACITY;
	if (capacity > DEDUP_MAX_CAPACITY)
		return -EINVAL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -ENOMEM;
	d->cap = capacity;
	d->nslots = 1;
	while (d->nslots < 2 * capacity)
		d->nslots <<= 1;
	d->ring = malloc(capacity * sizeof(*d->ring));
	d->slots = malloc(d->nslots * sizeof(*d->slots));
	if (d->ring == NULL || d->slots == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memset(d->slots, 0xff, d->nslots * sizeof(*d->slots));
	if (rng_bytes(&d->seed, sizeof(d->seed)) != 0)
		d->seed = 0x9e3779b97f4a7c15ull; /* still correct, only predictable */
	if (dir == NULL)
		goto done;

	/* Segments of about a quarter of the window: old keys leave the disk
	 * in steps once they have left the window. */
	uint64_t seg = (uint64_t)capacity * (DEDUP_KEY_BYTES + JOURNAL_HDR_SIZE) / 4;
	if (seg < 65536)
		seg = 65536;
	if (seg > JOURNAL_DEF_MAX_SEGMENT)
		seg = JOURNAL_DEF_MAX_SEGMENT;
	struct journal_options jo = { .max_record = DEDUP_KEY_BYTES, .max_segment = seg,
		.flags = journal_flags | JOURNAL_CREATE };
	if ((rc = journal_open(dir, &jo, &d->j, NULL)) != 0)
		goto out;
	if ((rc = journal_iter_init(d->j, 0, &it)) != 0)
		goto out;
	for (;;) {
		uint64_t seq;
		const void *data;
		size_t len;
		int found;
		rc = journal_iter_next(&it, &seq, &data, &len);
		if (rc <= 0)
			break;
		if (len != DEDUP_KEY_BYTES) {
			rc = -EBADMSG;
			break;
		}
		probe(d, data, &found);
		if (!found)
			insert(d, data, seq);
		n++;
	}
	journal_iter_done(&it);
	if (rc < 0)
		goto out;
	rc = 0;
done:
	if (loaded)
		*loaded = n;
	*out = d;
	d = NULL;
out:
	dedup_close(d);
	return rc;
}

void
dedup_close(struct dedup *d)
{
	if (d == NULL)
		return;
	journal_close(d->j);
	free(d->ring);
	free(d->slots);
	free(d);
}

int
dedup_contains(const struct dedup *d, const char *agent, const void *id, size_t idlen)
{
	unsigned char key[DEDUP_KEY_BYTES];
	int found, rc;

	if ((rc = make_key(agent, id, idlen, key)) != 0)
		return rc;
	probe(d, key, &found);
	return found;
}

int
dedup_add(struct dedup *d, const char *agent, const void *id, size_t idlen)
{
	unsigned char key[DEDUP_KEY_BYTES];
	uint64_t seq = 0;
	int found, rc;

	if ((rc = make_key(agent, id, idlen, key)) != 0)
		return rc;
	probe(d, key, &found);
	if (found)
		return 0;
	if (d->j && (rc = journal_append(d->j, key, sizeof(key), &seq)) != 0)
		return rc;
	insert(d, key, seq);
	/* Keys older than the window's oldest are no longer needed on disk. */
	if (d->j && d->count == d->cap) {
		/* A failure here only leaves old keys on disk a while longer
		 * (the next add tries again); the key itself is recorded. */
		long long r = journal_drop_before(d->j, d->ring[d->head].seq);
		(void)r;
	}
	return 1;
}

int
dedup_sync(struct dedup *d)
{
	return d->j ? journal_sync(d->j) : 0;
}

size_t
dedup_count(const struct dedup *d)
{
	return d->count;
}
