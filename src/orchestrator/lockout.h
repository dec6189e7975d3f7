/*
 * lockout.h: brute-force protection for enrollment (DESIGN §3, issue 5).
 *
 * Failed authentications are counted per source address and per tenant in a
 * sliding window of window_ms: the failure that makes max_failed_attempts
 * within the window locks the source out for lockout_ms (the Nth failure
 * locks).  The tenant count works the same with its own threshold and locks
 * the tenant's enrollment for everyone (a distributed guess at one tenant's
 * tokens); it is off when tenant_max_failed is 0, since anyone can use it to
 * keep a tenant from enrolling.
 *
 * The caller asks lockout_check before looking at the token at all (a locked
 * source gets 429 with Retry-After and no token comparison), and reports
 * each failure with lockout_fail, which says when this failure started a
 * lockout (raise authentication_failures_exceeded then, once).  A success
 * changes nothing: it neither ends a lockout early nor clears the failures
 * counted in the window (an attacker who shares an address with a
 * legitimate agent must not be able to reset the count by its enrollment).
 *
 * Memory is bounded: each table has max_entries slots (least recently used
 * evicted, preferring entries that are not locked) and each slot remembers
 * at most LOCKOUT_MAX_ATTEMPTS failure times.  Keys longer than
 * LOCKOUT_KEY_MAX bytes are cut to that length (addresses and tenant names
 * are shorter).  Callers that want IPv6 sources counted per /64 pass the
 * prefix as the key.  Time comes from the caller (milliseconds of a
 * monotonic clock, e.g. time_mono_ms()), so tests inject it.  Not
 * thread-safe: one table per event loop, or a lock around it.
 */
#ifndef STAVILY_ORCHESTRATOR_LOCKOUT_H
#define STAVILY_ORCHESTRATOR_LOCKOUT_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

#define LOCKOUT_MAX_ATTEMPTS 64u
#define LOCKOUT_KEY_MAX      64u
#define LOCKOUT_DEF_ENTRIES  4096u
#define LOCKOUT_MAX_ENTRIES  (1u << 20)
/* Unlocked slots looked at, from the LRU end, before a locked one is evicted. */
#define LOCKOUT_EVICT_SCAN   8u

struct lockout_config {
	unsigned max_failed_attempts; /* per source, 1..LOCKOUT_MAX_ATTEMPTS */
	unsigned tenant_max_failed;   /* per tenant, 0 = off, else up to LOCKOUT_MAX_ATTEMPTS */
	uint64_t window_ms;           /* sliding window, > 0 */
	uint64_t lockout_ms;          /* lockout duration, > 0 */
	size_t max_entries;           /* slots per table; 0 = LOCKOUT_DEF_ENTRIES */
};

/* What is locked (bit flags). */
#define LOCKOUT_SOURCE 1u
#define LOCKOUT_TENANT 2u

struct lockout;

/* -EINVAL for a bad config, -ENOMEM.  Free with lockout_free. */
int lockout_new(const struct lockout_config *cfg, struct lockout **out) WARN_UNUSED;
void lockout_free(struct lockout *lo);

/*
 * Before any token comparison: 0 if the attempt may proceed, else
 * LOCKOUT_SOURCE and/or LOCKOUT_TENANT, with *retry_after (may be NULL) set
 * to the whole seconds until every lock involved ends (at least 1), for
 * Retry-After.  `tenant` may be NULL (not known yet).
 */
unsigned lockout_check(struct lockout *lo, const char *source, const char *tenant, uint64_t now_ms,
    uint32_t *retry_after);

/*
 * Count one failed attempt.  Returns the locks this failure started (0,
 * LOCKOUT_SOURCE, LOCKOUT_TENANT or both): the caller raises its event for
 * those.  Failures reported while a key is locked are ignored (the caller
 * should not have compared a token).  `tenant` may be NULL.
 */
unsigned lockout_fail(struct lockout *lo, const char *source, const char *tenant, uint64_t now_ms);

/* Failures of `key` in the window ending at now_ms (for tests and status);
 * `kind` is LOCKOUT_SOURCE or LOCKOUT_TENANT. */
unsigned lockout_failures(struct lockout *lo, unsigned kind, const char *key, uint64_t now_ms);

/* Slots in use in a table (for tests of the bound). */
size_t lockout_entries(const struct lockout *lo, unsigned kind);

#endif
