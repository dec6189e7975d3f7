/*
 * journal.h: an append-only record log in a directory of segment files.
 *
 * Layout (docs/storage.md has the full description):
 *
 *   DIR/000000000001.seg   records 1 .. 57
 *   DIR/000000000058.seg   records 58 .. (active segment, the only one written)
 *
 * A segment is named after the sequence number of its first record (decimal,
 * at least 12 digits) and holds nothing but records, each framed as
 *
 *   u32 magic   JOURNAL_MAGIC: the bytes "SJR" and the version (1)
 *   u32 length  payload bytes, <= the journal's max_record
 *   u32 crc     CRC32C (Castagnoli) of the 4 length bytes and the payload
 *   payload
 *
 * Sequence numbers start at 1, grow by one per record and never repeat, also
 * across deletion of old segments.  Appends go to the page cache; a record is
 * durable once journal_sync() (or the group commit of journal_commit_*) that
 * covers its sequence number has returned 0.
 *
 * Recovery (journal_open) reads every record of every segment and checks its
 * frame and checksum:
 *   - a torn or corrupt *tail* of the last segment (nothing valid after the
 *     first bad byte) is what a crash during an append leaves: it is cut off
 *     (ftruncate) and reported in struct journal_recovery;
 *   - anything else that is wrong (a bad record followed by good ones, a bad
 *     record or partial record in an earlier segment, segments whose record
 *     counts do not match their names) is corruption: journal_open fails
 *     with -EBADMSG and fills journal_recovery.bad_segment/bad_offset.  With
 *     JOURNAL_REPAIR the last segment is cut at the first bad record instead
 *     (records after it are counted in records_dropped); earlier segments are
 *     never repaired automatically.
 *
 * One process at a time: journal_open takes an exclusive flock(2) on the
 * directory (-EBUSY if another holds it).  Not thread-safe; one event loop
 * owns a journal.  Every fallible function returns 0 (or a count) or -errno.
 * After a failed fsync the journal is "broken" (the kernel may have dropped
 * the dirty pages, so what is on disk is unknown): every later call returns
 * that error until the journal is closed and reopened, which recovers.
 */
#ifndef STAVILY_STORE_JOURNAL_H
#define STAVILY_STORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

/* On disk the bytes "SJR" and then the version byte (1). */
#define JOURNAL_MAGIC            0x01524a53u
#define JOURNAL_VERSION          1u
#define JOURNAL_HDR_SIZE         12u
/* Defaults and hard limits of the named caps. */
#define JOURNAL_DEF_MAX_RECORD   (1u << 20)
#define JOURNAL_LIMIT_MAX_RECORD (64u << 20)
#define JOURNAL_DEF_MAX_SEGMENT  (64u << 20)
#define JOURNAL_MIN_SEGMENT      4096u
#define JOURNAL_LIMIT_MAX_SEGMENT (1ull << 32)
/* Segments in one journal (bounds the in-memory segment table). */
#define JOURNAL_MAX_SEGMENTS     1000000u
/* Waiters one group commit can hold before it flushes on its own. */
#define JOURNAL_MAX_WAITERS      4096u

/* journal_open flags */
#define JOURNAL_CREATE 0x1 /* create the directory (mode 0700) if missing */
#define JOURNAL_REPAIR 0x2 /* cut the last segment at its first bad record */

struct journal;

struct journal_options {
	uint32_t max_record;  /* payload cap; 0 = JOURNAL_DEF_MAX_RECORD */
	uint64_t max_segment; /* rotate before a segment would exceed this; 0 = default */
	unsigned flags;
};

/* What journal_open found.  bad_* name the first corrupt record (for the
 * error message, and for what JOURNAL_REPAIR cut). */
struct journal_recovery {
	uint64_t segments;        /* segment files read */
	uint64_t records;         /* records kept */
	uint64_t bytes_dropped;   /* bytes cut off the tail of the last segment */
	uint64_t records_dropped; /* valid-looking records after a repaired cut */
	int corrupt;              /* 1 if bad_segment/bad_offset are set */
	char bad_segment[32];     /* file name, e.g. "000000000001.seg" */
	uint64_t bad_offset;      /* byte offset of the bad record in it */
	char why[64];             /* "bad magic", "checksum mismatch", ... */
};

/*
 * Open (recovering) the journal in `dir`.  `opt` may be NULL for defaults.
 * `rec` (may be NULL) receives the recovery report, also on -EBADMSG.
 * Errors: -EINVAL bad options, -ENOENT no directory without JOURNAL_CREATE,
 * -EBUSY locked by another process, -EBADMSG corruption (see above),
 * -EFBIG too many segments, other -errno from the file system.
 * The caller owns *out and closes it with journal_close.
 */
int journal_open(const char *dir, const struct journal_options *opt,
    struct journal **out, struct journal_recovery *rec) WARN_UNUSED;

/* Close (without syncing: call journal_sync first if that matters).  NULL ok. */
void journal_close(struct journal *j);

/*
 * Append one record of `len` bytes.  On success *seq (may be NULL) receives
 * its sequence number.  Rotates to a new segment first when the record would
 * not fit (the full segment is fsync'd before the new one is created, so only
 * the last segment can ever have a torn tail).  -EMSGSIZE if len > max_record.
 * On a failed write (-ENOSPC, -EIO ...) the partial record is cut off again
 * and nothing changes; a later append works once the cause is gone.
 */
int journal_append(struct journal *j, const void *data, size_t len, uint64_t *seq) WARN_UNUSED;

/* Make every appended record durable (fdatasync of the active segment; the
 * directory was already synced when the segment was created).  A no-op when
 * nothing is pending. */
int journal_sync(struct journal *j) WARN_UNUSED;

/* Close the active segment (fsync) and start a new empty one, so that every
 * record so far is in a segment journal_drop_before can delete. */
int journal_rotate(struct journal *j) WARN_UNUSED;

/* Sequence number the next append gets; the last record is next_seq - 1. */
uint64_t journal_next_seq(const struct journal *j);
/* Sequence number of the oldest record still stored (== next_seq if none). */
uint64_t journal_first_seq(const struct journal *j);
/* Highest sequence number known to be durable (0 if none). */
uint64_t journal_synced_seq(const struct journal *j);
/* Bytes in all segment files. */
uint64_t journal_size(const struct journal *j);
/* Number of segment files. */
size_t journal_segments(const struct journal *j);
/* Sequence number of the first record of segment `i` (0 = oldest); the
 * active segment is journal_segments() - 1.  `i` must be in range. */
uint64_t journal_segment_first(const struct journal *j, size_t i);
/* Bytes in the active segment. */
uint64_t journal_active_size(const struct journal *j);

/*
 * Delete every whole segment whose records all have sequence numbers below
 * `seq` (the active segment is never deleted; rotate first to include it).
 * Oldest first, then an fsync of the directory.  Returns the number of
 * records deleted (>= 0) or -errno.
 */
long long journal_drop_before(struct journal *j, uint64_t seq) WARN_UNUSED;

/*
 * Iteration.  The iterator reads records with sequence numbers from `from`
 * (clamped to the first stored record) up to the last record appended when
 * journal_iter_next is called.  It must not outlive the journal, and
 * journal_drop_before invalidates it (next returns -ESTALE).
 */
struct journal_iter {
	struct journal *j;
	uint64_t seq;       /* sequence number of the next record */
	uint64_t seg_first; /* first_seq of the segment being read */
	uint64_t off;       /* its byte offset in that segment */
	int fd;             /* that segment, or -1 */
	uint64_t target;    /* first sequence number to return */
	unsigned char *buf; /* record buffer (max_record bytes), owned */
};

/* Position an iterator.  Returns 0 or -errno.  Free it with journal_iter_done. */
int journal_iter_init(struct journal *j, uint64_t from, struct journal_iter *it) WARN_UNUSED;

/*
 * Next record: returns 1 and sets *seq, *data (valid until the next call) and
 * *len; 0 at the end; -EBADMSG if a record no longer checks out (bit rot
 * after open), -ESTALE after journal_drop_before, other -errno.
 */
int journal_iter_next(struct journal_iter *it, uint64_t *seq, const void **data, size_t *len) WARN_UNUSED;

/* Release the iterator's buffer and descriptor.  Safe to call twice. */
void journal_iter_done(struct journal_iter *it);

/*
 * Group commit: many requests handled in one pass of an event loop append
 * their records, register a callback with journal_commit_wait, and the loop
 * calls journal_commit_flush once at the end of the pass: one fsync for all
 * of them, then each callback with 0 or the sync error.  A callback must not
 * call journal_commit_wait/flush itself.  If JOURNAL_MAX_WAITERS are already
 * queued, journal_commit_wait flushes first.  Waiters whose records are
 * already durable are answered at the next flush without an fsync.
 */
typedef void (*journal_commit_cb)(void *arg, uint64_t seq, int err);
int journal_commit_wait(struct journal *j, uint64_t seq, journal_commit_cb cb, void *arg) WARN_UNUSED;
/* Returns the sync result (the same value every callback got). */
int journal_commit_flush(struct journal *j) WARN_UNUSED;
/* Number of waiters queued. */
size_t journal_commit_pending(const struct journal *j);

/* CRC32C (Castagnoli, reflected, as in iSCSI/ext4) of a buffer, continuing
 * from `crc` (start with 0).  Exposed for tests and the spool. */
uint32_t journal_crc32c(uint32_t crc, const void *data, size_t len);

#endif
