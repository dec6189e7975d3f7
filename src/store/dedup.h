/*
 * dedup.h: a bounded, persistent set of event ids already stored, for the
 * orchestrator's idempotent event ingestion (DESIGN §5: the agent resends
 * until acknowledged; the store must see each event once).
 *
 * Each (agent, event id) pair is reduced to a 16-byte key: the first half of
 * SHA-256(u16 agent length, agent, id).  The set holds the last `capacity`
 * keys added (FIFO: the oldest is forgotten first).  An id older than that
 * window would be stored twice; size the window to cover what an agent can
 * have in flight (its spool batches between two acks), which is far smaller.
 * One set per tenant (a directory each) keeps tenants apart.
 *
 * Persistence: every new key is appended to a journal (store/journal.h) in
 * `dir`; dedup_open replays it, and old segments are deleted once their keys
 * have left the window.  Order matters for exactly-once: make the event
 * durable first, then its key (dedup_sync after the event store's sync, or
 * one group commit covering both).  A crash between the two can only cause a
 * duplicate, never a loss; after kill -9 (not power loss) even unsynced keys
 * survive in the page cache.  The alternative — rebuilding the set from the
 * event journal on start with dedup_open(NULL, ...) and dedup_add — is also
 * supported: a NULL dir keeps the set in memory only.
 *
 * Not thread-safe.  Functions return 0 / 1 or -errno.
 */
#ifndef STAVILY_STORE_DEDUP_H
#define STAVILY_STORE_DEDUP_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

#define DEDUP_KEY_BYTES    16
#define DEDUP_AGENT_MAX    256
#define DEDUP_ID_MAX       256
#define DEDUP_DEF_CAPACITY (1u << 20)
#define DEDUP_MAX_CAPACITY (1u << 24)

struct dedup;

/*
 * Open the set (creating `dir`, mode 0700, if missing; NULL = memory only)
 * holding at most `capacity` keys (0 = DEDUP_DEF_CAPACITY).  `journal_flags`
 * is passed to journal_open (JOURNAL_REPAIR may be wanted: the set can be
 * rebuilt, losing it costs only possible duplicates).  *loaded (may be NULL)
 * receives the number of keys read back.  Errors of journal_open, -EINVAL.
 */
int dedup_open(const char *dir, size_t capacity, unsigned journal_flags, struct dedup **out,
    uint64_t *loaded) WARN_UNUSED;
void dedup_close(struct dedup *d);

/*
 * Record (agent, id): 1 if it was new (now recorded; not durable until
 * dedup_sync), 0 if already in the set, -EINVAL for an empty or too long
 * agent or id, or the journal's -errno (then it is not recorded).
 */
int dedup_add(struct dedup *d, const char *agent, const void *id, size_t idlen) WARN_UNUSED;

/* 1 if (agent, id) is in the set, 0 if not, -EINVAL. */
int dedup_contains(const struct dedup *d, const char *agent, const void *id, size_t idlen) WARN_UNUSED;

/* Make every added key durable (a no-op in memory mode). */
int dedup_sync(struct dedup *d) WARN_UNUSED;

/* Keys in the set. */
size_t dedup_count(const struct dedup *d);

#endif
