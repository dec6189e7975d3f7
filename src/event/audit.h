/*
 * audit.h: the append-only, tamper-evident audit log (DESIGN §5).
 *
 * Each record is one event line (event.h shape) with two more keys at the
 * end: "seq" (1, 2, 3, ...) and "prev", the hex SHA-256 of the previous
 * record's line (without its newline; 64 zeros for the first record).  An
 * edit, deletion, insertion or reordering anywhere before the last record
 * breaks the chain.  The last record itself can only be vouched for by an
 * anchor kept elsewhere: audit_verify_file() returns the head (seq and hash
 * of the last record) so an operator can keep it, and accepts one to check.
 *
 * Records are fsync'd before audit_append() returns: an operation is
 * acknowledged only after its audit record is durable.  A caller that
 * writes several records for one operation may audit_write() each and
 * audit_sync() once before it acknowledges (one fdatasync, not one per
 * record).
 */
#ifndef STAVILY_EVENT_AUDIT_H
#define STAVILY_EVENT_AUDIT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/util.h"
#include "event/event.h"

#define AUDIT_HASH_HEX 65   /* 64 hex digits + NUL */

struct audit_log;

/* What audit_open() found and repaired. */
struct audit_recovery {
	uint64_t records;        /* complete records in the file */
	uint64_t torn_bytes;     /* bytes of an incomplete last line that was cut off */
};

/*
 * Open (creating with mode 0600) the audit log at `path` for appending, as
 * the only writer (an exclusive lock is held until audit_close; -EBUSY if
 * another process holds it).  The chain is resumed from the last complete
 * record.  An incomplete last line (a crash during a write) is cut off, and an
 * "audit_torn_record_dropped" record saying so, with the SHA-256 of the cut
 * bytes, is appended.  Returns 0 or -errno; -EBADMSG if the last complete
 * record is not a valid audit record (the file needs `audit verify`).
 */
int audit_open(const char *path, const char *component, struct audit_log **out,
    struct audit_recovery *rec) WARN_UNUSED;

/* Append one record and fsync it.  `details` is not consumed (may be NULL).
 * Returns 0 or -errno (then nothing was acknowledged). */
int audit_append(struct audit_log *log, enum event_level level, const char *event,
    const cJSON *details) WARN_UNUSED;

/* Write one record without fsync (it is in the file and the chain goes on
 * from it; audit_sync makes it durable).  Returns 0 or -errno (then nothing
 * was written: a failed write is not part of the chain). */
int audit_write(struct audit_log *log, enum event_level level, const char *event,
    const cJSON *details) WARN_UNUSED;

/* fdatasync what audit_write wrote since the last sync; 0 at once when
 * nothing is pending.  0 or -errno.  A failed fdatasync is final: from then
 * on audit_write and audit_sync return that error (the kernel reports a
 * writeback error once, so a retry could claim durability it does not
 * have); a restart reopens the log and checks its tail. */
int audit_sync(struct audit_log *log) WARN_UNUSED;

/* Whether records are written but not yet synced. */
bool audit_unsynced(const struct audit_log *log);

/* Sequence number of the last record written (0 for an empty log). */
uint64_t audit_seq(const struct audit_log *log);

void audit_close(struct audit_log *log);

enum audit_status {
	AUDIT_OK = 0,
	AUDIT_BROKEN,        /* a record does not chain: edited, deleted, reordered */
	AUDIT_MALFORMED,     /* a line is not a valid record (cut in the middle, garbage) */
	AUDIT_TORN_TAIL,     /* the last line is incomplete (a crash during a write) */
	AUDIT_HEAD_MISMATCH, /* the chain holds but does not end at the expected anchor */
	AUDIT_IO,            /* the file could not be read */
};

struct audit_verify_result {
	enum audit_status status;
	uint64_t records;            /* records that verified */
	uint64_t line;               /* 1-based line of the first problem, 0 if none */
	char head[AUDIT_HASH_HEX];   /* hash of the last verified record */
	char msg[256];               /* human-readable reason */
};

/*
 * Verify the whole chain of `path`.  If `expect_seq` is non-zero the chain
 * must end at record `expect_seq` whose line hashes to `expect_hash`.
 * Returns the status (also in res->status).
 */
enum audit_status audit_verify_file(const char *path, uint64_t expect_seq,
    const char *expect_hash, struct audit_verify_result *res);

#endif
