/* see spool.h */
#include "store/spool.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "base/hex.h"
#include "base/timefmt.h"
#include "crypto/rng.h"

#define SPOOL_VERSION 1
/* A fully acknowledged active segment at least this big is closed so that
 * it can be deleted (smaller ones wait, to spare a file per ack). */
#define SPOOL_ROTATE_ACKED (64u << 10)
#define CRIT 0
#define SENS 1

struct inflight {
	uint64_t seq;
	unsigned char jr;    /* CRIT or SENS */
	unsigned char acked;
	unsigned char id[SPOOL_ID_BYTES];
};

struct spool {
	char *ack_path;
	struct journal *j[2];
	uint64_t acked[2];     /* every seq <= acked[i] is acknowledged */
	uint64_t persisted[2]; /* what "acked" on disk says */
	uint64_t ack_written_ms; /* CLOCK_MONOTONIC of the last "acked" rewrite */
	uint64_t max_bytes, reserve;
	uint32_t max_record;
	uint64_t seg_size;
	int disk_full; /* the last append failed with -ENOSPC */
	struct inflight *inf;
	size_t ninf;
	uint64_t dropped, refused_s, refused_c;       /* since open */
	uint64_t t_dropped, t_refused_s, t_refused_c; /* since the last take */
};

const char *
spool_class_name(int cls)
{
	switch (cls) {
	case SPOOL_JOB_RESULT: return "job_result";
	case SPOOL_SECURITY_EVENT: return "security_event";
	case SPOOL_SENSOR_EVENT: return "sensor_event";
	default: return "?";
	}
}

static int
class_journal(int cls)
{
	return cls == SPOOL_SENSOR_EVENT ? SENS : CRIT;
}

static uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* ---- the "acked" file ----------------------------------------------------- */

static int
read_acked(struct spool *s)
{
	char *buf = NULL;
	size_t len;
	unsigned long long c, n;
	int rc, used = 0;

	rc = file_read_all(s->ack_path, SPOOL_ACK_FILE_MAX, &buf, &len);
	if (rc == -ENOENT)
		return 0;
	if (rc == -EFBIG)
		return -EBADMSG;
	if (rc != 0)
		return rc;
	if (sscanf(buf, "stavily-spool-acked 1 critical=%llu sensor=%llu\n%n", &c, &n, &used) != 2 ||
	    (size_t)used != len) {
		free(buf);
		return -EBADMSG;
	}
	free(buf);
	s->acked[CRIT] = s->persisted[CRIT] = c;
	s->acked[SENS] = s->persisted[SENS] = n;
	return 0;
}

static int
write_acked(struct spool *s, bool force)
{
	char buf[SPOOL_ACK_FILE_MAX];
	uint64_t now;
	int n, rc;

	if (s->acked[CRIT] == s->persisted[CRIT] && s->acked[SENS] == s->persisted[SENS])
		return 0;
	/* An atomic rewrite costs two fsyncs; a lost one only means records
	 * are sent again, which the orchestrator stores once (by id).  So at
	 * most one rewrite per SPOOL_ACK_PERSIST_MS, plus one at close. */
	now = time_mono_ms();
	if (!force && s->ack_written_ms != 0 && now - s->ack_written_ms < SPOOL_ACK_PERSIST_MS)
		return 0;
	n = snprintf(buf, sizeof(buf), "stavily-spool-acked 1 critical=%" PRIu64 " sensor=%" PRIu64 "\n",
	    s->acked[CRIT], s->acked[SENS]);
	rc = file_write_atomic(s->ack_path, buf, (size_t)n, 0600);
	if (rc == 0) {
		s->persisted[CRIT] = s->acked[CRIT];
		s->persisted[SENS] = s->acked[SENS];
		s->ack_written_ms = now;
	}
	return rc;
}

/* Keep acked[] within what the journals hold: records deleted (a crash after
 * dropping segments but before rewriting "acked", or sensor data deleted at
 * the cap) count as handled; a position past the end (a torn tail cut off
 * after the orchestrator had acknowledged it) cannot exceed the end. */
static void
clamp_acked(struct spool *s, int jr)
{
	uint64_t first = journal_first_seq(s->j[jr]), next = journal_next_seq(s->j[jr]);
	s->acked[jr] = max64(s->acked[jr], first - 1);
	if (s->acked[jr] > next - 1)
		s->acked[jr] = next - 1;
}

/* ---- open / close ------------------------------------------------------------ */

int
spool_open(const char *dir, const struct spool_options *opt, struct spool **out,
    struct spool_recovery *recp)
{
	struct spool_recovery dummy;
	struct spool_recovery *rec = recp ? recp : &dummy;
	struct spool *s = NULL;
	char path[PATH_MAX];
	unsigned flags = opt ? opt->flags : 0;
	int rc = 0;

	*out = NULL;
	memset(rec, 0, sizeof(*rec));
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->max_bytes = opt && opt->max_bytes ? opt->max_bytes : SPOOL_DEF_MAX_BYTES;
	s->reserve = opt && opt->critical_reserve ? opt->critical_reserve : s->max_bytes / 4;
	s->max_record = opt && opt->max_record ? opt->max_record : SPOOL_DEF_MAX_RECORD;
	if (s->max_bytes < 8ull * JOURNAL_MIN_SEGMENT || s->max_record > s->max_bytes / 8 ||
	    s->max_record > JOURNAL_LIMIT_MAX_RECORD - SPOOL_REC_HDR) {
		rc = -EINVAL;
		goto out;
	}
	/* Segments of an eighth of the cap: dropping sensor data at the cap
	 * then frees space in steps of about 12%, not all of it at once. */
	struct journal_options jo = {
		.max_record = s->max_record + SPOOL_REC_HDR,
		.max_segment = s->max_bytes / 8,
		.flags = flags & (JOURNAL_CREATE | JOURNAL_REPAIR),
	};
	if (jo.max_segment > JOURNAL_DEF_MAX_SEGMENT)
		jo.max_segment = JOURNAL_DEF_MAX_SEGMENT;
	if (jo.max_segment < (uint64_t)jo.max_record + JOURNAL_HDR_SIZE)
		jo.max_segment = (uint64_t)jo.max_record + JOURNAL_HDR_SIZE;
	s->seg_size = jo.max_segment;
	if ((flags & JOURNAL_CREATE) && mkdir(dir, 0700) != 0 && errno != EEXIST) {
		rc = -errno;
		goto out;
	}
	if (snprintf(path, sizeof(path), "%s/critical", dir) >= (int)sizeof(path)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	if ((rc = journal_open(path, &jo, &s->j[CRIT], &rec->critical)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/sensor", dir);
	if ((rc = journal_open(path, &jo, &s->j[SENS], &rec->sensor)) != 0)
		goto out;
	snprintf(path, sizeof(path), "%s/acked", dir);
	if ((s->ack_path = strdup(path)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = read_acked(s)) != 0)
		goto out;
	for (int jr = 0; jr < 2; jr++)
		clamp_acked(s, jr);
	rec->unacked_critical = journal_next_seq(s->j[CRIT]) - 1 - s->acked[CRIT];
	rec->unacked_sensor = journal_next_seq(s->j[SENS]) - 1 - s->acked[SENS];
	*out = s;
	s = NULL;
out:
	spool_close(s);
	return rc;
}

void
spool_close(struct spool *s)
{
	if (s == NULL)
		return;
	/* best effort: an "acked" not written only means records sent again */
	(void)write_acked(s, true);
	journal_close(s->j[CRIT]);
	journal_close(s->j[SENS]);
	free(s->ack_path);
	free(s->inf);
	free(s);
}

/* ---- append and the overflow policy ---------------------------------------------- */

static uint64_t
total_bytes(const struct spool *s)
{
	return journal_size(s->j[CRIT]) + journal_size(s->j[SENS]);
}

static void
forget_inflight_below(struct spool *s, int jr, uint64_t seq)
{
	size_t k = 0;
	for (size_t i = 0; i < s->ninf; i++)
		if (!(s->inf[i].jr == jr && s->inf[i].seq < seq))
			s->inf[k++] = s->inf[i];
	s->ninf = k;
}

/* Delete the oldest sensor segment (rotating first if only the active one is
 * left).  Returns 1 if something was deleted, 0 if there is no sensor data,
 * or -errno. */
static int
drop_oldest_sensor(struct spool *s)
{
	struct journal *j = s->j[SENS];
	uint64_t f0 = journal_first_seq(j);
	long long r;
	int rc;

	if (journal_size(j) == 0)
		return 0;
	if (journal_segments(j) == 1 && (rc = journal_rotate(j)) != 0)
		return rc;
	if ((r = journal_drop_before(j, journal_segment_first(j, 1))) < 0)
		return (int)r;
	uint64_t f1 = journal_first_seq(j);
	/* Records gone that were never acknowledged are the loss we count. */
	uint64_t from = max64(s->acked[SENS], f0 - 1);
	if (f1 - 1 > from) {
		s->dropped += f1 - 1 - from;
		s->t_dropped += f1 - 1 - from;
	}
	s->acked[SENS] = max64(s->acked[SENS], f1 - 1);
	forget_inflight_below(s, SENS, f1);
	return 1;
}

int
spool_append(struct spool *s, int cls, const void *body, size_t len, char id_out[SPOOL_ID_HEX_LEN])
{
	unsigned char *rec = NULL;
	int jr, rc;

	if (cls != SPOOL_JOB_RESULT && cls != SPOOL_SECURITY_EVENT && cls != SPOOL_SENSOR_EVENT)
		return -EINVAL;
	if (len > s->max_record)
		return -EMSGSIZE;
	jr = class_journal(cls);
	uint64_t need = JOURNAL_HDR_SIZE + SPOOL_REC_HDR + len;
	uint64_t limit = jr == CRIT ? s->max_bytes + s->reserve : s->max_bytes;
	/* Either class makes room at the cost of the oldest sensor data. */
	while (total_bytes(s) + need > s->max_bytes) {
		if ((rc = drop_oldest_sensor(s)) < 0)
			return rc;
		if (rc == 0)
			break;
	}
	if (total_bytes(s) + need > limit) {
		if (jr == CRIT) {
			s->refused_c++;
			s->t_refused_c++;
		} else {
			s->refused_s++;
			s->t_refused_s++;
		}
		return -ENOBUFS;
	}
	if ((rec = malloc(SPOOL_REC_HDR + len)) == NULL)
		return -ENOMEM;
	rec[0] = SPOOL_VERSION;
	rec[1] = (unsigned char)cls;
	if ((rc = rng_bytes(rec + 2, SPOOL_ID_BYTES)) != 0)
		goto out;
	if (len)
		memcpy(rec + SPOOL_REC_HDR, body, len);
	rc = journal_append(s->j[jr], rec, SPOOL_REC_HDR + len, NULL);
	s->disk_full = rc == -ENOSPC;
	if (rc != 0)
		goto out;
	if (id_out)
		hex_encode(rec + 2, SPOOL_ID_BYTES, id_out);
out:
	free(rec);
	return rc;
}

int
spool_sync(struct spool *s)
{
	int rc = 0, rc2 = 0;

	/* A journal whose every record is acknowledged needs no fsync: the
	 * orchestrator holds those records durably, and a crash that cut them
	 * here would only leave a torn tail to cut off on reopen. */
	if (s->acked[CRIT] + 1 != journal_next_seq(s->j[CRIT]))
		rc = journal_sync(s->j[CRIT]);
	if (s->acked[SENS] + 1 != journal_next_seq(s->j[SENS]))
		rc2 = journal_sync(s->j[SENS]);

	/* "acked" left behind by the rate limit, when it is due (its failure
	 * is not the journals': it only means records sent again) */
	(void)write_acked(s, false);
	return rc ? rc : rc2;
}

/* ---- peek / ack ------------------------------------------------------------------ */

static int
cmp_inflight(const void *a, const void *b)
{
	const struct inflight *x = a, *y = b;
	if (x->jr != y->jr)
		return x->jr < y->jr ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The table is kept sorted by (journal, seq). */
static struct inflight *
find_inflight(struct spool *s, int jr, uint64_t seq)
{
	struct inflight key = { .seq = seq, .jr = (unsigned char)jr };
	if (s->ninf == 0)
		return NULL;
	return bsearch(&key, s->inf, s->ninf, sizeof(*s->inf), cmp_inflight);
}

void
spool_batch_free(struct spool_batch *b)
{
	if (b == NULL)
		return;
	if (b->recs) {
		for (size_t i = 0; i < b->n; i++)
			free((void *)b->recs[i].body);
	}
	free(b->recs);
	memset(b, 0, sizeof(*b));
}

int
spool_peek(struct spool *s, size_t max_records, size_t max_bytes, struct spool_batch *out)
{
	struct inflight *ninf = NULL;
	size_t nn = 0, keep = 0;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (max_records == 0 || max_records > SPOOL_MAX_BATCH)
		max_records = SPOOL_MAX_BATCH;
	/* New in-flight table: acked-out-of-order entries we carry over (they
	 * are skipped below), then this batch. */
	if ((ninf = malloc(2 * SPOOL_MAX_BATCH * sizeof(*ninf))) == NULL ||
	    (out->recs = calloc(max_records, sizeof(*out->recs))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < s->ninf && keep < SPOOL_MAX_BATCH; i++)
		if (s->inf[i].acked && s->inf[i].seq > s->acked[s->inf[i].jr])
			ninf[keep++] = s->inf[i];
	nn = keep;
	for (int jr = 0; jr < 2 && out->n < max_records; jr++) {
		struct journal_iter it;
		uint64_t seq;
		const void *data;
		size_t len;
		if ((rc = journal_iter_init(s->j[jr], s->acked[jr] + 1, &it)) != 0)
			goto out;
		while (out->n < max_records && (out->n == 0 || out->bytes < max_bytes)) {
			rc = journal_iter_next(&it, &seq, &data, &len);
			if (rc <= 0)
				break;
			rc = 0;
			const unsigned char *p = data;
			if (len < SPOOL_REC_HDR || p[0] != SPOOL_VERSION || class_journal(p[1]) != jr ||
			    (p[1] != SPOOL_JOB_RESULT && p[1] != SPOOL_SECURITY_EVENT &&
				p[1] != SPOOL_SENSOR_EVENT)) {
				rc = -EBADMSG;
				break;
			}
			struct inflight *old = find_inflight(s, jr, seq);
			if (old && old->acked)
				continue;
			size_t blen = len - SPOOL_REC_HDR;
			if (out->n > 0 && out->bytes + blen > max_bytes)
				break;
			unsigned char *body = malloc(blen ? blen : 1);
			if (body == NULL) {
				rc = -ENOMEM;
				break;
			}
			memcpy(body, p + SPOOL_REC_HDR, blen);
			struct spool_record *r = &out->recs[out->n++];
			r->cls = p[1];
			hex_encode(p + 2, SPOOL_ID_BYTES, r->id);
			r->body = body;
			r->len = blen;
			out->bytes += blen;
			ninf[nn].seq = seq;
			ninf[nn].jr = (unsigned char)jr;
			ninf[nn].acked = 0;
			memcpy(ninf[nn].id, p + 2, SPOOL_ID_BYTES);
			nn++;
		}
		journal_iter_done(&it);
		if (rc < 0)
			goto out;
	}
	qsort(ninf, nn, sizeof(*ninf), cmp_inflight);
	free(s->inf);
	s->inf = ninf;
	s->ninf = nn;
	ninf = NULL;
out:
	free(ninf);
	if (rc < 0 || out->n == 0)
		spool_batch_free(out); /* an empty batch holds nothing to free */
	return rc;
}

int
spool_ack(struct spool *s, const char *const *ids, size_t n, size_t *matched)
{
	size_t m = 0;
	int rc = 0, rc2;

	for (size_t i = 0; i < n; i++) {
		unsigned char id[SPOOL_ID_BYTES];
		if (ids[i] == NULL || strlen(ids[i]) != 2 * SPOOL_ID_BYTES ||
		    hex_decode(ids[i], id, SPOOL_ID_BYTES) != 0)
			continue;
		for (size_t k = 0; k < s->ninf; k++) {
			if (!s->inf[k].acked && memcmp(s->inf[k].id, id, SPOOL_ID_BYTES) == 0) {
				s->inf[k].acked = 1;
				m++;
				break;
			}
		}
	}
	if (matched)
		*matched = m;
	/* Advance each watermark over the contiguous acknowledged run (the
	 * table is sorted by journal, then sequence number). */
	for (size_t k = 0; k < s->ninf; k++) {
		struct inflight *e = &s->inf[k];
		if (e->seq == s->acked[e->jr] + 1 && e->acked)
			s->acked[e->jr] = e->seq;
	}
	forget_inflight_below(s, CRIT, s->acked[CRIT] + 1);
	forget_inflight_below(s, SENS, s->acked[SENS] + 1);
	rc = write_acked(s, false);
	/* Delete acknowledged segments even if "acked" could not be written:
	 * on reopen, deleted records count as acknowledged (clamp_acked).
	 * When everything is acknowledged and the active segment has grown
	 * (or the disk is full), start a new one so that it can go too. */
	for (int jr = 0; jr < 2; jr++) {
		struct journal *j = s->j[jr];
		if (s->acked[jr] + 1 == journal_next_seq(j) &&
		    journal_active_size(j) > 0 &&
		    (journal_active_size(j) >= SPOOL_ROTATE_ACKED || s->disk_full) &&
		    (rc2 = journal_rotate(j)) != 0 && rc == 0)
			rc = rc2;
		long long r = journal_drop_before(j, s->acked[jr] + 1);
		if (r < 0 && rc == 0)
			rc = (int)r;
	}
	return rc;
}

void
spool_stats(const struct spool *s, struct spool_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->critical_bytes = journal_size(s->j[CRIT]);
	st->sensor_bytes = journal_size(s->j[SENS]);
	st->bytes = st->critical_bytes + st->sensor_bytes;
	st->unacked_critical = journal_next_seq(s->j[CRIT]) - 1 - s->acked[CRIT];
	st->unacked_sensor = journal_next_seq(s->j[SENS]) - 1 - s->acked[SENS];
	st->sensor_dropped = s->dropped;
	st->sensor_refused = s->refused_s;
	st->critical_refused = s->refused_c;
}

int
spool_overflow_take(struct spool *s, uint64_t *sensor_dropped, uint64_t *sensor_refused,
    uint64_t *critical_refused)
{
	*sensor_dropped = s->t_dropped;
	*sensor_refused = s->t_refused_s;
	*critical_refused = s->t_refused_c;
	s->t_dropped = s->t_refused_s = s->t_refused_c = 0;
	return (*sensor_dropped | *sensor_refused | *critical_refused) != 0;
}
