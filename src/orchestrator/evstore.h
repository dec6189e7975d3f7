/*
 * evstore.h: the orchestrator's store of agents' events, per tenant.
 *
 *   STATE/tenants/<tenant>/events/NNN.seg   append-only journal (store/journal.h),
 *                                           one stored event (JSON object) per record
 *
 * A stored event is the object the agent sent with "tenant" and "agent_id"
 * overwritten from the certificate and "received" (Unix seconds) added.
 * Deduplication by (agent, event id) uses an in-memory store/dedup.h set
 * per tenant that is rebuilt from the event journal when the tenant is
 * first used: the journal is the only truth, so an event that is durable is
 * never stored again, and one that is not durable was never acknowledged
 * (exactly once across kill -9, at the price of reading the journal once
 * per start).  An id older than the set's window (DEDUP_DEF_CAPACITY ids
 * per tenant) or pruned by retention could be stored again.
 *
 * Not thread-safe (one event loop).  Functions return 0 / counts or -errno.
 */
#ifndef STAVILY_ORCHESTRATOR_EVSTORE_H
#define STAVILY_ORCHESTRATOR_EVSTORE_H

#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "base/util.h"

#define EVSTORE_MAX_BATCH     500
#define EVSTORE_ID_MAX        128
#define EVSTORE_MAX_RECORD    (128u * 1024)
/* Small segments so that retention frees space in steps. */
#define EVSTORE_SEGMENT_BYTES (8u << 20)
#define EVSTORE_QUERY_MAX     100000u

struct evstore;

/* `tenants_dir` is STATE/tenants (it must exist).  0 or -ENOMEM. */
int evstore_new(const char *tenants_dir, struct evstore **out) WARN_UNUSED;
void evstore_free(struct evstore *es);

/* 1 if `id` is a valid event id (1..128 of [A-Za-z0-9._:-]). */
int evstore_id_valid(const char *id);

/* What one batch did. */
struct evstore_batch_result {
	cJSON *acked;      /* array of ids durably stored now or before (owned by caller) */
	cJSON *rejected;   /* array of {"index":i,"error":"..."} (owned by caller) */
	size_t stored, duplicates;
};

/*
 * Store the elements of `events` (a JSON array, modified: identity members
 * are overwritten) for `agent` of `tenant`, fsync, and fill *res (arrays
 * created here; the caller deletes them also on error).  -EINVAL when
 * `events` is not an array of 1..EVSTORE_MAX_BATCH elements, or the
 * journal's -errno (then nothing is acknowledged).
 */
int evstore_add_batch(struct evstore *es, const char *tenant, const char *agent, cJSON *events,
    int64_t now, struct evstore_batch_result *res) WARN_UNUSED;

/*
 * The same without the fsync, for a group commit: *j and *seq name the
 * journal and the last sequence number that must be durable before the
 * batch may be acknowledged (journal_commit_wait / journal_commit_flush,
 * or journal_sync).  Ids are remembered at once, so a batch in the same
 * loop pass that repeats them is acknowledged only after the same flush.
 */
struct journal;
int evstore_append_batch(struct evstore *es, const char *tenant, const char *agent, cJSON *events,
    int64_t now, struct evstore_batch_result *res, struct journal **j, uint64_t *seq) WARN_UNUSED;

struct evstore_filter {
	const char *agent;     /* NULL = any */
	const char *event;     /* NULL = any */
	int64_t since;         /* received >= since */
	size_t limit;          /* 1..EVSTORE_QUERY_MAX */
	int tail;              /* the last `limit` matches instead of the first */
};

/* Append the matching events of `tenant` (oldest first) to the array
 * `out`.  *truncated is set when more matched than `limit` (first mode).
 * Returns the number appended or -errno (-ENOENT: no such tenant dir). */
long evstore_query(struct evstore *es, const char *tenant, const struct evstore_filter *f,
    cJSON *out, int *truncated) WARN_UNUSED;

/* Delete the segments of `tenant` whose events all have received <
 * `cutoff`.  Returns the number of events deleted or -errno. */
long long evstore_prune(struct evstore *es, const char *tenant, int64_t cutoff) WARN_UNUSED;

/* Close the tenant's journal (before its directory is purged). */
void evstore_forget(struct evstore *es, const char *tenant);

#endif
