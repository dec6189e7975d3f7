/* see audit.h */
#include "event/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bearssl.h>

#include "base/fileio.h"
#include "base/hex.h"

/* An audit line is an event line plus ',"seq":N,"prev":"<64 hex>"'. */
#define AUDIT_MAX_LINE (EVENT_MAX_LINE + 128)

struct audit_log {
	int fd;
	char *component;
	uint64_t seq;
	char prev[AUDIT_HASH_HEX];
	bool unsynced;       /* records written since the last fdatasync */
	int broken;          /* sticky -errno of a failed fdatasync: see audit_sync */
};

static void
line_hash(const char *line, size_t len, char out[AUDIT_HASH_HEX])
{
	br_sha256_context c;
	unsigned char h[32];

	br_sha256_init(&c);
	br_sha256_update(&c, line, len);
	br_sha256_out(&c, h);
	hex_encode(h, sizeof(h), out);
}

static const char zero_hash[AUDIT_HASH_HEX] =
    "0000000000000000000000000000000000000000000000000000000000000000";

/*
 * Parse one record: it must be a JSON object with the event keys and an
 * integral "seq" >= 1 and a 64-hex "prev".  Returns 0 or -1.
 */
static int
parse_record(const char *line, size_t len, uint64_t *seq, char prev[AUDIT_HASH_HEX])
{
	cJSON *o = cJSON_ParseWithLength(line, len);
	const cJSON *s, *p, *e;
	unsigned char tmp[32];
	int rc = -1;

	if (o == NULL || !cJSON_IsObject(o))
		goto out;
	s = cJSON_GetObjectItemCaseSensitive(o, "seq");
	p = cJSON_GetObjectItemCaseSensitive(o, "prev");
	e = cJSON_GetObjectItemCaseSensitive(o, "event");
	if (!cJSON_IsNumber(s) || !cJSON_IsString(p) || !cJSON_IsString(e))
		goto out;
	/* 2^53 records is beyond any audit log; the bound keeps the double exact. */
	if (s->valuedouble < 1 || s->valuedouble > 9007199254740992.0 ||
	    s->valuedouble != (double)(uint64_t)s->valuedouble)
		goto out;
	if (hex_decode(p->valuestring, tmp, sizeof(tmp)) < 0)
		goto out;
	*seq = (uint64_t)s->valuedouble;
	memcpy(prev, p->valuestring, AUDIT_HASH_HEX);
	rc = 0;
out:
	cJSON_Delete(o);
	return rc;
}

/*
 * Find the last complete line of the file by reading backwards from its end.
 * Returns the offset just past the last '\n' (0 if none) in *complete_end, and
 * that line's bytes in a fresh buffer (NULL for an empty log).
 */
static int
read_tail(int fd, off_t size, off_t *complete_end, char **last, size_t *last_len)
{
	size_t want = AUDIT_MAX_LINE + 2;
	off_t start = size > (off_t)want ? size - (off_t)want : 0;
	size_t n = (size_t)(size - start), i, end;
	char *buf;
	ssize_t r;

	*last = NULL;
	*last_len = 0;
	*complete_end = 0;
	if (size == 0)
		return 0;
	if ((buf = malloc(n + 1)) == NULL)
		return -ENOMEM;
	r = pread(fd, buf, n, start);
	if (r < 0 || (size_t)r != n) {
		free(buf);
		return r < 0 ? -errno : -EIO;
	}
	/* end = index just past the last newline in the window */
	for (end = n; end > 0 && buf[end - 1] != '\n'; end--)
		;
	if (end == 0) {
		free(buf);
		/* No newline in the last window: the file is one torn line, or a
		 * line longer than any record (not ours). */
		return start == 0 ? 0 : -EBADMSG;
	}
	*complete_end = start + (off_t)end;
	for (i = end - 1; i > 0 && buf[i - 1] != '\n'; i--)
		;
	if (i == 0 && start != 0) {
		free(buf);
		return -EBADMSG;
	}
	*last_len = end - 1 - i;
	memmove(buf, buf + i, *last_len);
	buf[*last_len] = '\0';
	*last = buf;
	return 0;
}

int
audit_open(const char *path, const char *component, struct audit_log **out,
    struct audit_recovery *rec)
{
	struct audit_log *log = NULL;
	struct stat st;
	char *last = NULL;
	size_t last_len;
	off_t complete_end;
	int rc, fd = -1;

	*out = NULL;
	memset(rec, 0, sizeof(*rec));
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if ((rc = read_tail(fd, st.st_size, &complete_end, &last, &last_len)) < 0)
		goto out;
	if ((log = calloc(1, sizeof(*log))) == NULL || (log->component = strdup(component)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(log->prev, zero_hash, AUDIT_HASH_HEX);
	if (last != NULL) {
		char prev[AUDIT_HASH_HEX];
		if (parse_record(last, last_len, &log->seq, prev) < 0) {
			rc = -EBADMSG;
			goto out;
		}
		line_hash(last, last_len, log->prev);
		rec->records = log->seq;
	}
	log->fd = fd;
	if (complete_end < st.st_size) {
		/* A torn last line: keep evidence of it (its hash and size), then
		 * cut it so the next record starts on a line of its own. */
		size_t torn = (size_t)(st.st_size - complete_end);
		char *frag = malloc(torn);
		char fh[AUDIT_HASH_HEX];
		cJSON *d;

		if (frag == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		if (pread(fd, frag, torn, complete_end) != (ssize_t)torn) {
			free(frag);
			rc = -EIO;
			goto out;
		}
		line_hash(frag, torn, fh);
		free(frag);
		if (ftruncate(fd, complete_end) < 0 || fsync(fd) < 0) {
			rc = -errno;
			goto out;
		}
		rec->torn_bytes = torn;
		d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "bytes", (double)torn);
		cJSON_AddStringToObject(d, "sha256", fh);
		rc = audit_append(log, EVENT_WARN, "audit_torn_record_dropped", d);
		cJSON_Delete(d);
		if (rc < 0)
			goto out;
	}
	*out = log;
	log = NULL;
	fd = -1;
	rc = 0;
out:
	free(last);
	if (log != NULL) {
		log->fd = -1;
		audit_close(log);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int
audit_write(struct audit_log *log, enum event_level level, const char *event,
    const cJSON *details)
{
	char *ev = NULL, *line = NULL;
	size_t evlen, len;
	int rc;

	if (log->broken)
		return log->broken;
	ev = event_format(NULL, level, log->component, NULL, event, details);
	if (ev == NULL)
		return -ENOMEM;
	evlen = strlen(ev);
	/* ev ends with '}': splice the chain fields in before it. */
	len = evlen - 1 + 96;
	if ((line = malloc(len + 2)) == NULL) {
		free(ev);
		return -ENOMEM;
	}
	memcpy(line, ev, evlen - 1);
	len = evlen - 1 + (size_t)snprintf(line + evlen - 1, 96 + 2, ",\"seq\":%" PRIu64 ",\"prev\":\"%s\"}",
	    log->seq + 1, log->prev);
	line[len] = '\n';
	if ((rc = fd_write_all(log->fd, line, len + 1)) < 0)
		goto out;
	/* The line is in the file: the chain goes on from it whether or not
	 * the next fdatasync succeeds (a later record must chain to what the
	 * file holds). */
	log->unsynced = true;
	log->seq++;
	line_hash(line, len, log->prev);
	rc = 0;
out:
	free(ev);
	free(line);
	return rc;
}

int
audit_sync(struct audit_log *log)
{
	if (log->broken)
		return log->broken;
	if (!log->unsynced)
		return 0;
	/* Linux reports a writeback error once: a retry would return 0 for
	 * records that never reached the disk.  So a failure is final until
	 * the log is reopened (and its tail checked) by a restart. */
	if (fdatasync(log->fd) < 0) {
		log->broken = -errno;
		return log->broken;
	}
	log->unsynced = false;
	return 0;
}

bool
audit_unsynced(const struct audit_log *log)
{
	return log->unsynced;
}

int
audit_append(struct audit_log *log, enum event_level level, const char *event,
    const cJSON *details)
{
	int rc = audit_write(log, level, event, details);

	return rc < 0 ? rc : audit_sync(log);
}

uint64_t
audit_seq(const struct audit_log *log)
{
	return log->seq;
}

void
audit_close(struct audit_log *log)
{
	if (log == NULL)
		return;
	if (log->fd >= 0)
		close(log->fd);
	free(log->component);
	free(log);
}

static enum audit_status
verdict(struct audit_verify_result *res, enum audit_status st, uint64_t line, const char *fmt, ...)
    PRINTF_LIKE(4, 5);

static enum audit_status
verdict(struct audit_verify_result *res, enum audit_status st, uint64_t line, const char *fmt, ...)
{
	va_list ap;

	res->status = st;
	res->line = line;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return st;
}

enum audit_status
audit_verify_file(const char *path, uint64_t expect_seq, const char *expect_hash,
    struct audit_verify_result *res)
{
	FILE *f;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	uint64_t lineno = 0, seq;
	char prev[AUDIT_HASH_HEX], expect_prev[AUDIT_HASH_HEX];
	enum audit_status st = AUDIT_OK;

	memset(res, 0, sizeof(*res));
	memcpy(res->head, zero_hash, AUDIT_HASH_HEX);
	memcpy(expect_prev, zero_hash, AUDIT_HASH_HEX);
	if ((f = fopen(path, "re")) == NULL)
		return verdict(res, AUDIT_IO, 0, "%s: %s", path, strerror(errno));
	while ((n = getline(&buf, &cap, f)) > 0) {
		size_t len = (size_t)n;
		lineno++;
		if (buf[len - 1] != '\n') {
			st = verdict(res, AUDIT_TORN_TAIL, lineno,
			    "record at line %" PRIu64 " is incomplete (torn last line, e.g. a crash during a write); "
			    "the %" PRIu64 " records before it verify", lineno, res->records);
			break;
		}
		len--;
		if (len > AUDIT_MAX_LINE || memchr(buf, '\0', len) != NULL ||
		    parse_record(buf, len, &seq, prev) < 0) {
			st = verdict(res, AUDIT_MALFORMED, lineno, "line %" PRIu64 " is not a valid audit record", lineno);
			break;
		}
		if (seq != res->records + 1) {
			st = verdict(res, AUDIT_BROKEN, lineno,
			    "line %" PRIu64 ": sequence number %" PRIu64 ", expected %" PRIu64
			    " (records deleted, inserted or reordered)", lineno, seq, res->records + 1);
			break;
		}
		if (strcmp(prev, expect_prev) != 0) {
			st = verdict(res, AUDIT_BROKEN, lineno,
			    "line %" PRIu64 " (seq %" PRIu64 "): hash of the previous record does not match "
			    "(record %" PRIu64 " was modified or replaced)", lineno, seq, seq - 1);
			break;
		}
		line_hash(buf, len, expect_prev);
		memcpy(res->head, expect_prev, AUDIT_HASH_HEX);
		res->records++;
	}
	if (st == AUDIT_OK && ferror(f))
		st = verdict(res, AUDIT_IO, lineno, "%s: read error", path);
	if (st == AUDIT_OK && expect_seq != 0 &&
	    (res->records != expect_seq || expect_hash == NULL || strcmp(expect_hash, res->head) != 0))
		st = verdict(res, AUDIT_HEAD_MISMATCH, 0,
		    "chain holds for %" PRIu64 " records but does not end at the expected record %" PRIu64
		    " (records removed from the end, or the anchor is wrong)", res->records, expect_seq);
	if (st == AUDIT_OK)
		snprintf(res->msg, sizeof(res->msg), "%" PRIu64 " records, chain intact", res->records);
	free(buf);
	fclose(f);
	res->status = st;
	return st;
}
