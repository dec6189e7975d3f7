/* see journal.h */
#include "store/journal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

struct segment {
	uint64_t first; /* sequence number of its first record (= its name) */
	uint64_t bytes; /* valid bytes */
};

struct waiter {
	uint64_t seq;
	journal_commit_cb cb;
	void *arg;
};

struct journal {
	int dirfd;
	int fd;            /* active (last) segment, opened for writing */
	uint32_t max_record;
	uint64_t max_segment;
	struct segment *segs;
	size_t nsegs, segcap;
	uint64_t next_seq;
	uint64_t synced_seq;
	int broken;        /* sticky -errno after a failed fsync */
	int tail_dirty;    /* a failed append may have left bytes past segs[last].bytes */
	struct waiter *waiters;
	size_t nwaiters;
	/* Where the last iterator stopped: a reader that comes back for the
	 * next batch (the spool's peek) starts there instead of scanning its
	 * segment from the beginning. */
	uint64_t hint_seq, hint_seg, hint_off;
};

/* ---- CRC32C ------------------------------------------------------------ */

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t
journal_crc32c(uint32_t crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	pthread_once(&crc_once, crc_init);
	crc = ~crc;
	while (len--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The checksum covers the length field too, so that a flipped length bit is
 * caught even when the wrong length happens to stay inside the file. */
static uint32_t
record_crc(const unsigned char lenbytes[4], const void *payload, size_t len)
{
	return journal_crc32c(journal_crc32c(0, lenbytes, 4), payload, len);
}

static void
seg_name(uint64_t first, char out[32])
{
	snprintf(out, 32, "%012" PRIu64 ".seg", first);
}

/* ---- buffered reader used by recovery ----------------------------------- */

#define READER_CHUNK (256u * 1024)

struct reader {
	int fd;
	uint64_t size;
	unsigned char *buf;
	size_t cap;
	uint64_t boff; /* file offset of buf[0] */
	size_t blen;
};

/* Make [off, off+n) available; n <= cap.  Returns a pointer or NULL with *err. */
static const unsigned char *
reader_get(struct reader *r, uint64_t off, size_t n, int *err)
{
	if (off >= r->boff && off + n <= r->boff + r->blen)
		return r->buf + (off - r->boff);
	size_t want = r->cap;
	if (off + want > r->size)
		want = (size_t)(r->size - off);
	size_t got = 0;
	while (got < want) {
		ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			*err = -errno;
			return NULL;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->boff = off;
	r->blen = got;
	if (got < n) {
		*err = -EIO; /* file shrank under us */
		return NULL;
	}
	return r->buf;
}

enum rec_state { REC_OK, REC_TORN, REC_BAD };

/* Check the record at `off`.  REC_TORN: not enough bytes left for a header or
 * for the payload the header announces; REC_BAD: wrong magic, length over the
 * cap or checksum mismatch.  *err is set (and REC_BAD returned) on I/O error. */
static enum rec_state
check_record(struct reader *r, uint64_t off, uint32_t max_record, uint32_t *lenp,
    const char **why, int *err)
{
	const unsigned char *h;
	uint32_t len;

	*err = 0;
	if (r->size - off < JOURNAL_HDR_SIZE) {
		*why = "partial record header";
		return REC_TORN;
	}
	if ((h = reader_get(r, off, JOURNAL_HDR_SIZE, err)) == NULL)
		return REC_BAD;
	if (get32(h) != JOURNAL_MAGIC) {
		*why = "bad record magic";
		return REC_BAD;
	}
	len = get32(h + 4);
	if (len > max_record) {
		*why = "record length over max_record";
		return REC_BAD;
	}
	if (r->size - off - JOURNAL_HDR_SIZE < len) {
		*why = "partial record payload";
		return REC_TORN;
	}
	uint32_t want = get32(h + 8);
	unsigned char lenbytes[4];
	memcpy(lenbytes, h + 4, 4);
	if ((h = reader_get(r, off, JOURNAL_HDR_SIZE + (size_t)len, err)) == NULL)
		return REC_BAD;
	if (record_crc(lenbytes, h + JOURNAL_HDR_SIZE, len) != want) {
		*why = "checksum mismatch";
		return REC_BAD;
	}
	*lenp = len;
	return REC_OK;
}

/* After a bad record at `off` in the last segment: count the well-formed
 * records that still follow (resynchronising byte by byte).  Zero means the
 * damage is a torn tail; anything else means data after the damage. */
static int
count_valid_after(struct reader *r, uint64_t off, uint32_t max_record, uint64_t *count)
{
	uint64_t n = 0;
	uint64_t p = off + 1;
	while (p + JOURNAL_HDR_SIZE <= r->size) {
		uint32_t len;
		const char *why;
		int err;
		enum rec_state st = check_record(r, p, max_record, &len, &why, &err);
		if (err)
			return err;
		if (st == REC_OK) {
			n++;
			p += JOURNAL_HDR_SIZE + len;
		} else {
			p++;
		}
	}
	*count = n;
	return 0;
}

/* ---- open / recovery ------------------------------------------------------ */

static int
parse_seg_name(const char *name, uint64_t *first)
{
	size_t n = strlen(name), digits;
	uint64_t v = 0;

	if (n < 5 || strcmp(name + n - 4, ".seg") != 0)
		return -1;
	digits = n - 4;
	if (digits < 12 || digits > 20)
		return -1;
	for (size_t i = 0; i < digits; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -1;
		unsigned d = (unsigned)(name[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	/* Only the canonical spelling: two names for one number would be
	 * ambiguous. */
	char canon[32];
	seg_name(v, canon);
	if (strcmp(canon, name) != 0 || v == 0)
		return -1;
	*first = v;
	return 0;
}

static int
cmp_seg(const void *a, const void *b)
{
	const struct segment *x = a, *y = b;
	return x->first < y->first ? -1 : x->first > y->first;
}

static int
segs_push(struct journal *j, uint64_t first)
{
	if (j->nsegs == j->segcap) {
		if (j->segcap >= JOURNAL_MAX_SEGMENTS)
			return -EFBIG;
		size_t ncap = j->segcap ? j->segcap * 2 : 16;
		if (ncap > JOURNAL_MAX_SEGMENTS)
			ncap = JOURNAL_MAX_SEGMENTS;
		struct segment *ns = realloc(j->segs, ncap * sizeof(*ns));
		if (ns == NULL)
			return -ENOMEM;
		j->segs = ns;
		j->segcap = ncap;
	}
	j->segs[j->nsegs].first = first;
	j->segs[j->nsegs].bytes = 0;
	j->nsegs++;
	return 0;
}

static int
list_segments(struct journal *j)
{
	int fd = dup(j->dirfd), rc = 0;
	DIR *d;
	struct dirent *de;

	if (fd < 0)
		return -errno;
	if ((d = fdopendir(fd)) == NULL) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rewinddir(d);
	while ((errno = 0, de = readdir(d)) != NULL) {
		uint64_t first;
		if (parse_seg_name(de->d_name, &first) != 0)
			continue;
		if ((rc = segs_push(j, first)) != 0)
			goto out;
	}
	if (errno != 0)
		rc = -errno;
	if (j->nsegs > 1)
		qsort(j->segs, j->nsegs, sizeof(*j->segs), cmp_seg);
out:
	closedir(d);
	return rc;
}

static void
set_bad(struct journal_recovery *rec, uint64_t first, uint64_t off, const char *why)
{
	rec->corrupt = 1;
	seg_name(first, rec->bad_segment);
	rec->bad_offset = off;
	snprintf(rec->why, sizeof(rec->why), "%s", why);
}

/* Scan segment i; on return segs[i].bytes holds its valid length and *nrec
 * its record count.  May truncate the last segment (torn tail, or repair). */
static int
recover_segment(struct journal *j, size_t i, unsigned flags, unsigned char *buf, size_t bufcap,
    uint64_t *nrec, struct journal_recovery *rec)
{
	char name[32];
	struct reader r = { .fd = -1, .buf = buf, .cap = bufcap };
	struct stat st;
	int last = i + 1 == j->nsegs;
	uint64_t off = 0, n = 0;
	int rc = 0, err;

	seg_name(j->segs[i].first, name);
	r.fd = openat(j->dirfd, name, (last ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
	if (r.fd < 0)
		return -errno;
	if (fstat(r.fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_bad(rec, j->segs[i].first, 0, "not a regular file");
		rc = -EBADMSG;
		goto out;
	}
	r.size = (uint64_t)st.st_size;
	while (off < r.size) {
		uint32_t len;
		const char *why = "";
		enum rec_state s = check_record(&r, off, j->max_record, &len, &why, &err);
		if (err) {
			rc = err;
			goto out;
		}
		if (s == REC_OK) {
			n++;
			off += JOURNAL_HDR_SIZE + len;
			continue;
		}
		/* Damage.  Only the last segment may have a tail cut off: every
		 * earlier one was fsync'd complete before its successor existed. */
		set_bad(rec, j->segs[i].first, off, why);
		if (!last) {
			rc = -EBADMSG;
			goto out;
		}
		uint64_t after = 0;
		if ((rc = count_valid_after(&r, off, j->max_record, &after)) != 0)
			goto out;
		if (after > 0 && !(flags & JOURNAL_REPAIR)) {
			rc = -EBADMSG;
			goto out;
		}
		if (after == 0)
			rec->corrupt = 0; /* a plain torn tail is not corruption */
		rec->records_dropped += after;
		rec->bytes_dropped += r.size - off;
		if (ftruncate(r.fd, (off_t)off) != 0 || fsync(r.fd) != 0) {
			rc = -errno;
			goto out;
		}
		break;
	}
	if (last && fdatasync(r.fd) != 0) {
		/* After a kill -9 the records may still be only in the page cache:
		 * make "recovered" mean "durable". */
		rc = -errno;
		goto out;
	}
	j->segs[i].bytes = off;
	*nrec = n;
out:
	if (r.fd >= 0)
		close(r.fd);
	return rc;
}

static int
create_segment(struct journal *j, uint64_t first, int *fdp)
{
	char name[32];
	int fd;

	seg_name(first, name);
	fd = openat(j->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	/* The new name must be durable before records in it are acknowledged. */
	if (fsync(j->dirfd) != 0) {
		int rc = -errno;
		close(fd);
		unlinkat(j->dirfd, name, 0);
		return rc;
	}
	*fdp = fd;
	return 0;
}

int
journal_open(const char *dir, const struct journal_options *opt, struct journal **out,
    struct journal_recovery *recp)
{
	struct journal_recovery dummy;
	struct journal_recovery *rec = recp ? recp : &dummy;
	struct journal *j = NULL;
	unsigned char *buf = NULL;
	unsigned flags = opt ? opt->flags : 0;
	int rc = 0;

	*out = NULL;
	memset(rec, 0, sizeof(*rec));
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -ENOMEM;
	j->dirfd = -1;
	j->fd = -1;
	j->max_record = opt && opt->max_record ? opt->max_record : JOURNAL_DEF_MAX_RECORD;
	j->max_segment = opt && opt->max_segment ? opt->max_segment : JOURNAL_DEF_MAX_SEGMENT;
	if (j->max_record > JOURNAL_LIMIT_MAX_RECORD || j->max_segment < JOURNAL_MIN_SEGMENT ||
	    j->max_segment > JOURNAL_LIMIT_MAX_SEGMENT ||
	    (uint64_t)j->max_record + JOURNAL_HDR_SIZE > j->max_segment) {
		rc = -EINVAL;
		goto out;
	}
	if ((flags & JOURNAL_CREATE) && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		rc = -errno;
		goto out;
	}
	if (flock(j->dirfd, LOCK_EX | LOCK_NB) != 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out;
	}
	if ((rc = list_segments(j)) != 0)
		goto out;

	size_t bufcap = (size_t)j->max_record + JOURNAL_HDR_SIZE + READER_CHUNK;
	if ((buf = malloc(bufcap)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < j->nsegs; i++) {
		uint64_t n = 0;
		if ((rc = recover_segment(j, i, flags, buf, bufcap, &n, rec)) != 0)
			goto out;
		rec->segments++;
		rec->records += n;
		if (j->segs[i].first > UINT64_MAX - n) {
			set_bad(rec, j->segs[i].first, 0, "sequence overflow");
			rc = -EBADMSG;
			goto out;
		}
		if (i + 1 < j->nsegs && j->segs[i].first + n != j->segs[i + 1].first) {
			/* A missing segment or records gone from the middle. */
			set_bad(rec, j->segs[i].first, j->segs[i].bytes,
			    "record count does not match next segment's name");
			rc = -EBADMSG;
			goto out;
		}
		j->next_seq = j->segs[i].first + n;
	}
	if (j->nsegs == 0) {
		j->next_seq = 1;
		if ((rc = segs_push(j, 1)) != 0 || (rc = create_segment(j, 1, &j->fd)) != 0)
			goto out;
	} else {
		char name[32];
		seg_name(j->segs[j->nsegs - 1].first, name);
		j->fd = openat(j->dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (j->fd < 0) {
			rc = -errno;
			goto out;
		}
	}
	j->synced_seq = j->next_seq - 1;
	*out = j;
	j = NULL;
out:
	free(buf);
	journal_close(j);
	return rc;
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	free(j->segs);
	free(j->waiters);
	free(j);
}

/* ---- writing ------------------------------------------------------------ */

int
journal_rotate(struct journal *j)
{
	struct segment *last;
	int fd = -1, rc;

	if (j->broken)
		return j->broken;
	last = &j->segs[j->nsegs - 1];
	if (last->bytes == 0)
		return 0;
	if (j->tail_dirty) {
		if (ftruncate(j->fd, (off_t)last->bytes) != 0)
			return -errno;
		j->tail_dirty = 0;
	}
	/* The closed segment must be complete on disk before its successor
	 * exists: recovery relies on only the last segment having a torn tail. */
	if (fsync(j->fd) != 0) {
		j->broken = -errno;
		return j->broken;
	}
	j->synced_seq = j->next_seq - 1;
	if (j->nsegs >= JOURNAL_MAX_SEGMENTS)
		return -EFBIG;
	if ((rc = create_segment(j, j->next_seq, &fd)) != 0)
		return rc;
	if ((rc = segs_push(j, j->next_seq)) != 0) {
		char name[32];
		seg_name(j->next_seq, name);
		close(fd);
		unlinkat(j->dirfd, name, 0);
		return rc;
	}
	close(j->fd);
	j->fd = fd;
	return 0;
}

int
journal_append(struct journal *j, const void *data, size_t len, uint64_t *seq)
{
	unsigned char hdr[JOURNAL_HDR_SIZE];
	struct segment *last;
	int rc;

	if (j->broken)
		return j->broken;
	if (len > j->max_record)
		return -EMSGSIZE;
	if (j->next_seq == UINT64_MAX)
		return -EOVERFLOW;
	last = &j->segs[j->nsegs - 1];
	if (last->bytes > 0 && last->bytes + JOURNAL_HDR_SIZE + len > j->max_segment) {
		if ((rc = journal_rotate(j)) != 0)
			return rc;
		last = &j->segs[j->nsegs - 1];
	}
	if (j->tail_dirty) {
		if (ftruncate(j->fd, (off_t)last->bytes) != 0)
			return -errno;
		j->tail_dirty = 0;
	}
	put32(hdr, JOURNAL_MAGIC);
	put32(hdr + 4, (uint32_t)len);
	put32(hdr + 8, record_crc(hdr + 4, data, len));

	size_t total = JOURNAL_HDR_SIZE + len, done = 0;
	while (done < total) {
		struct iovec iov[2];
		int n = 0;
		if (done < JOURNAL_HDR_SIZE) {
			iov[n].iov_base = hdr + done;
			iov[n++].iov_len = JOURNAL_HDR_SIZE - done;
			if (len > 0) {
				iov[n].iov_base = (void *)data;
				iov[n++].iov_len = len;
			}
		} else {
			iov[n].iov_base = (unsigned char *)data + (done - JOURNAL_HDR_SIZE);
			iov[n++].iov_len = total - done;
		}
		ssize_t k = pwritev(j->fd, iov, n, (off_t)(last->bytes + done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			rc = k < 0 ? -errno : -EIO;
			/* Cut the partial record off now if we can, else before
			 * the next append: a half record must never stay in
			 * front of a later whole one. */
			j->tail_dirty = 1;
			if (ftruncate(j->fd, (off_t)last->bytes) == 0)
				j->tail_dirty = 0;
			return rc;
		}
		done += (size_t)k;
	}
	last->bytes += total;
	if (seq)
		*seq = j->next_seq;
	j->next_seq++;
	return 0;
}

int
journal_sync(struct journal *j)
{
	if (j->broken)
		return j->broken;
	if (j->synced_seq + 1 == j->next_seq)
		return 0;
	if (fdatasync(j->fd) != 0) {
		/* Linux may have dropped the dirty pages and cleared the error
		 * (fsyncgate): the only safe answer is to stop and recover. */
		j->broken = -errno;
		return j->broken;
	}
	j->synced_seq = j->next_seq - 1;
	return 0;
}

uint64_t journal_next_seq(const struct journal *j) { return j->next_seq; }
uint64_t journal_first_seq(const struct journal *j) { return j->segs[0].first; }
uint64_t journal_synced_seq(const struct journal *j) { return j->synced_seq; }
size_t journal_segments(const struct journal *j) { return j->nsegs; }
uint64_t journal_segment_first(const struct journal *j, size_t i) { return j->segs[i].first; }
uint64_t journal_active_size(const struct journal *j) { return j->segs[j->nsegs - 1].bytes; }

uint64_t
journal_size(const struct journal *j)
{
	uint64_t s = 0;
	for (size_t i = 0; i < j->nsegs; i++)
		s += j->segs[i].bytes;
	return s;
}

long long
journal_drop_before(struct journal *j, uint64_t seq)
{
	size_t k = 0;
	int rc = 0;

	if (j->broken)
		return j->broken;
	while (k + 1 < j->nsegs && j->segs[k + 1].first <= seq) {
		char name[32];
		seg_name(j->segs[k].first, name);
		/* Oldest first: a crash leaves a contiguous run of segments. */
		if (unlinkat(j->dirfd, name, 0) != 0 && errno != ENOENT) {
			rc = -errno;
			break;
		}
		k++;
	}
	if (k == 0)
		return rc;
	uint64_t dropped = j->segs[k].first - j->segs[0].first;
	memmove(j->segs, j->segs + k, (j->nsegs - k) * sizeof(*j->segs));
	j->nsegs -= k;
	if (rc == 0 && fsync(j->dirfd) != 0)
		rc = -errno;
	return rc ? rc : (long long)dropped;
}

/* ---- iteration ------------------------------------------------------------ */

static long
find_segment(const struct journal *j, uint64_t first)
{
	size_t lo = 0, hi = j->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (j->segs[mid].first == first)
			return (long)mid;
		if (j->segs[mid].first < first)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
journal_iter_init(struct journal *j, uint64_t from, struct journal_iter *it)
{
	size_t i = 0;

	memset(it, 0, sizeof(*it));
	it->fd = -1;
	it->j = j;
	if (from < j->segs[0].first)
		from = j->segs[0].first;
	/* Last segment that starts at or before `from`. */
	while (i + 1 < j->nsegs && j->segs[i + 1].first <= from)
		i++;
	it->seg_first = j->segs[i].first;
	it->seq = j->segs[i].first;
	it->off = 0;
	it->target = from;
	if (j->hint_seg == j->segs[i].first && j->hint_seq <= from && j->hint_seq > it->seq) {
		it->seq = j->hint_seq;
		it->off = j->hint_off;
	}
	if ((it->buf = malloc(j->max_record ? j->max_record : 1)) == NULL)
		return -ENOMEM;
	return 0;
}

static int
pread_full(int fd, void *buf, size_t n, uint64_t off)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = pread(fd, (char *)buf + got, n - got, (off_t)(off + got));
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EBADMSG; /* shorter than recovery said */
		got += (size_t)k;
	}
	return 0;
}

int
journal_iter_next(struct journal_iter *it, uint64_t *seq, const void **data, size_t *len)
{
	struct journal *j = it->j;
	int rc;

	if (it->buf == NULL)
		return -EINVAL;
	for (;;) {
		if (it->seq >= j->next_seq)
			return 0;
		long i = find_segment(j, it->seg_first);
		if (i < 0)
			return -ESTALE;
		if (it->off >= j->segs[i].bytes) {
			if ((size_t)i + 1 >= j->nsegs)
				return 0;
			if (it->fd >= 0)
				close(it->fd);
			it->fd = -1;
			it->seg_first = j->segs[i + 1].first;
			it->off = 0;
			continue;
		}
		if (it->fd < 0) {
			char name[32];
			seg_name(it->seg_first, name);
			it->fd = openat(j->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			if (it->fd < 0)
				return -errno;
		}
		unsigned char hdr[JOURNAL_HDR_SIZE];
		if ((rc = pread_full(it->fd, hdr, sizeof(hdr), it->off)) != 0)
			return rc;
		uint32_t n = get32(hdr + 4);
		if (get32(hdr) != JOURNAL_MAGIC || n > j->max_record ||
		    it->off + JOURNAL_HDR_SIZE + n > j->segs[i].bytes)
			return -EBADMSG;
		uint64_t off = it->off;
		it->off += JOURNAL_HDR_SIZE + n;
		uint64_t s = it->seq++;
		if (s < it->target)
			continue; /* skipping to the start position */
		if ((rc = pread_full(it->fd, it->buf, n, off + JOURNAL_HDR_SIZE)) != 0)
			return rc;
		if (record_crc(hdr + 4, it->buf, n) != get32(hdr + 8))
			return -EBADMSG;
		*seq = s;
		*data = it->buf;
		*len = n;
		j->hint_seq = it->seq;
		j->hint_seg = it->seg_first;
		j->hint_off = it->off;
		return 1;
	}
}

void
journal_iter_done(struct journal_iter *it)
{
	if (it->fd >= 0)
		close(it->fd);
	it->fd = -1;
	free(it->buf);
	it->buf = NULL;
}

/* ---- group commit --------------------------------------------------------- */

int
journal_commit_wait(struct journal *j, uint64_t seq, journal_commit_cb cb, void *arg)
{
	if (cb == NULL || seq == 0 || seq >= j->next_seq)
		return -EINVAL;
	if (j->waiters == NULL &&
	    (j->waiters = malloc(JOURNAL_MAX_WAITERS * sizeof(*j->waiters))) == NULL)
		return -ENOMEM;
	if (j->nwaiters == JOURNAL_MAX_WAITERS) {
		/* The queued callbacks learn the result; the list is empty after. */
		int frc = journal_commit_flush(j);
		(void)frc;
	}
	j->waiters[j->nwaiters].seq = seq;
	j->waiters[j->nwaiters].cb = cb;
	j->waiters[j->nwaiters].arg = arg;
	j->nwaiters++;
	return 0;
}

int
journal_commit_flush(struct journal *j)
{
	int rc = journal_sync(j);
	size_t n = j->nwaiters;

	/* Reset first: the list is ours again before any callback runs. */
	j->nwaiters = 0;
	for (size_t i = 0; i < n; i++) {
		struct waiter w = j->waiters[i];
		w.cb(w.arg, w.seq, w.seq <= j->synced_seq ? 0 : rc ? rc : -EIO);
	}
	return rc;
}

size_t
journal_commit_pending(const struct journal *j)
{
	return j->nwaiters;
}
