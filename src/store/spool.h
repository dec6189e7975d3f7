/*
 * spool.h: the agent's outgoing spool (DESIGN §5), on top of store/journal.
 *
 * Job results and events are appended here first, sent in batches, and
 * deleted only after the orchestrator acknowledged them by id.
 *
 *   DIR/critical/NNN.seg job results and security events (never dropped)
 *   DIR/sensor/NNN.seg   sensor events (dropped oldest-first at the cap)
 *   DIR/acked            "stavily-spool-acked 1 critical=N sensor=M\n":
 *                        every record up to N (M) is acknowledged
 *
 * Record payload (inside the journal's frame): u8 version (1), u8 class,
 * 16 bytes of id, then the caller's body.  Ids are 128-bit random values
 * written as 32 lower-case hex digits; the orchestrator de-duplicates by
 * (agent, id).
 *
 * Delivery is at-least-once.  spool_peek returns the oldest unacknowledged
 * records, critical ones first; spool_ack marks ids; the contiguous
 * acknowledged prefix of each journal is persisted (atomic rewrite of
 * "acked", at most once per SPOOL_ACK_PERSIST_MS from spool_ack or
 * spool_sync, and at spool_close) and whole segments below it are
 * deleted.  Acks that arrive out of order are remembered in memory only, and a restart, a failed ack write or
 * an ack for a record not in the last peek can make records be sent again.
 *
 * Overflow policy (max_bytes counts both journals):
 *   - a sensor event that does not fit first makes room by deleting the
 *     oldest sensor segments (acknowledged or not); if all sensor data is
 *     gone and it still does not fit it is refused (-ENOBUFS);
 *   - a job result or security event that does not fit also deletes sensor
 *     segments first; it is refused only when even then it would push the
 *     spool past max_bytes + critical_reserve.  Critical records are never
 *     deleted before they are acknowledged;
 *   - every dropped or refused record is counted; spool_overflow_take hands
 *     the counts to the caller, which raises the overflow event.
 * A full disk (-ENOSPC) leaves the spool intact (the journal cuts the
 * partial record off) and appends work again once there is space; acks
 * delete segments and so free space themselves.
 *
 * Not thread-safe.  Functions return 0 or -errno.
 */
#ifndef STAVILY_STORE_SPOOL_H
#define STAVILY_STORE_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"
#include "store/journal.h"

#define SPOOL_ID_BYTES     16
#define SPOOL_ID_HEX_LEN   (2 * SPOOL_ID_BYTES + 1)
#define SPOOL_REC_HDR      (2 + SPOOL_ID_BYTES)
#define SPOOL_DEF_MAX_BYTES   (64ull << 20)
#define SPOOL_DEF_MAX_RECORD  (256u << 10)
/* Records one peek returns at most (also bounds the in-flight table). */
#define SPOOL_MAX_BATCH    4096u
#define SPOOL_ACK_FILE_MAX 256
/* the "acked" file is rewritten at most this often (plus once at close): a
 * rewrite lost to a crash only makes records be sent again, stored once */
#define SPOOL_ACK_PERSIST_MS 1000

enum spool_class {
	SPOOL_JOB_RESULT = 1,
	SPOOL_SECURITY_EVENT = 2,
	SPOOL_SENSOR_EVENT = 3,
};

/* Name for logs: "job_result", "security_event", "sensor_event" or "?". */
const char *spool_class_name(int cls);

struct spool_options {
	uint64_t max_bytes;        /* 0 = SPOOL_DEF_MAX_BYTES */
	uint64_t critical_reserve; /* room past max_bytes for critical data; 0 = max_bytes / 4 */
	uint32_t max_record;       /* body cap; 0 = SPOOL_DEF_MAX_RECORD; at most max_bytes / 8 */
	unsigned flags;            /* JOURNAL_CREATE / JOURNAL_REPAIR, passed on */
};

struct spool_recovery {
	struct journal_recovery critical, sensor;
	uint64_t unacked_critical, unacked_sensor; /* records waiting to be sent */
};

struct spool;

/* Open (creating with JOURNAL_CREATE) and recover the spool in `dir`.
 * Errors as journal_open, plus -EINVAL for options, -EBADMSG for a bad
 * "acked" file.  `rec` may be NULL.  Close with spool_close. */
int spool_open(const char *dir, const struct spool_options *opt, struct spool **out,
    struct spool_recovery *rec) WARN_UNUSED;
void spool_close(struct spool *s);

/*
 * Append one record.  `id_out` (may be NULL) receives its id as hex.
 * -EINVAL bad class, -EMSGSIZE body over max_record, -ENOBUFS over the cap
 * (see the policy above; counted), -ENOSPC disk full, other -errno.  Not
 * durable until spool_sync.
 */
int spool_append(struct spool *s, int cls, const void *body, size_t len,
    char id_out[SPOOL_ID_HEX_LEN]) WARN_UNUSED;

/* fsync both journals: only those with pending appends, and only when they
 * hold a record not yet acknowledged (an acknowledged one is durable at the
 * orchestrator).  Also rewrites "acked" when it is due. */
int spool_sync(struct spool *s) WARN_UNUSED;

struct spool_record {
	int cls;
	char id[SPOOL_ID_HEX_LEN];
	const unsigned char *body; /* points into the batch */
	size_t len;
};

struct spool_batch {
	struct spool_record *recs;
	size_t n;
	size_t bytes; /* sum of body lengths */
};

/*
 * The oldest unacknowledged records, job results and security events first,
 * at most `max_records` (<= SPOOL_MAX_BATCH) and about `max_bytes` of bodies
 * (at least one record when any is waiting, whatever its size).  Peeking
 * again without acks returns the same records.  Free with spool_batch_free
 * (an empty batch, n == 0, owns nothing, but freeing it is harmless).
 */
int spool_peek(struct spool *s, size_t max_records, size_t max_bytes, struct spool_batch *out) WARN_UNUSED;
void spool_batch_free(struct spool_batch *b);

/*
 * Acknowledge records of the last peek by id (hex).  *matched (may be NULL)
 * receives how many ids were found; unknown ids are ignored (an old ack
 * after a restart is harmless).  Persists the acknowledged positions and
 * deletes fully acknowledged segments.  On an error writing "acked" the acks
 * still count in memory (the records may be resent after a restart).
 */
int spool_ack(struct spool *s, const char *const *ids, size_t n, size_t *matched) WARN_UNUSED;

struct spool_stats {
	uint64_t bytes;              /* on disk, both journals */
	uint64_t critical_bytes, sensor_bytes;
	uint64_t unacked_critical;   /* records not yet acknowledged */
	uint64_t unacked_sensor;
	uint64_t sensor_dropped;     /* since open: deleted unacknowledged at the cap */
	uint64_t sensor_refused;     /* since open: refused at the cap */
	uint64_t critical_refused;   /* since open: refused past the reserve */
};
void spool_stats(const struct spool *s, struct spool_stats *st);

/* Overflow counts since the previous call (zero when nothing overflowed):
 * the caller raises one event from them.  Returns 1 if any is non-zero. */
int spool_overflow_take(struct spool *s, uint64_t *sensor_dropped, uint64_t *sensor_refused,
    uint64_t *critical_refused);

#endif
