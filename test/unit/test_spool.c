/* Unit tests for store/spool.c: classes and priority, acks and their
 * persistence, at-least-once resend, the overflow policy, ENOSPC, and kill -9
 * of an appending process. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "base/fileio.h"
#include "store/spool.h"

static char top[] = "/tmp/stavily-spool-XXXXXX";
static char sdir[256];
static int dircount;

static void
fresh_dir(void)
{
	snprintf(sdir, sizeof(sdir), "%s/s%d", top, dircount++);
}

static struct spool *
open_ok(const struct spool_options *opt, struct spool_recovery *rec)
{
	struct spool *s = NULL;
	CHECK_EQ_INT(spool_open(sdir, opt, &s, rec), 0);
	return s;
}

static void
add(struct spool *s, int cls, const char *body, char id[SPOOL_ID_HEX_LEN])
{
	CHECK_EQ_INT(spool_append(s, cls, body, strlen(body), id), 0);
}

static int
body_is(const struct spool_record *r, const char *want)
{
	return r->len == strlen(want) && memcmp(r->body, want, r->len) == 0;
}

static void
test_basic(void)
{
	struct spool_options o = { .flags = JOURNAL_CREATE };
	struct spool_recovery rec;
	struct spool_batch b;
	struct spool_stats st;
	char ids[4][SPOOL_ID_HEX_LEN];
	struct spool *s;

	fresh_dir();
	s = open_ok(&o, &rec);
	add(s, SPOOL_SENSOR_EVENT, "{\"sensor\":1}", ids[0]);
	add(s, SPOOL_JOB_RESULT, "{\"job\":1}", ids[1]);
	add(s, SPOOL_SENSOR_EVENT, "{\"sensor\":2}", ids[2]);
	add(s, SPOOL_SECURITY_EVENT, "{\"sec\":1}", ids[3]);
	CHECK_EQ_INT(spool_append(s, 7, "x", 1, NULL), -EINVAL);
	CHECK_EQ_INT(strlen(ids[0]), 32);
	CHECK(strcmp(ids[0], ids[1]) != 0);
	CHECK_EQ_INT(spool_sync(s), 0);

	/* Critical records first, each class in order. */
	CHECK_EQ_INT(spool_peek(s, 10, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 4);
	if (b.n == 4) {
		CHECK_EQ_STR(b.recs[0].id, ids[1]);
		CHECK_EQ_INT(b.recs[0].cls, SPOOL_JOB_RESULT);
		CHECK(body_is(&b.recs[0], "{\"job\":1}"));
		CHECK_EQ_STR(b.recs[1].id, ids[3]);
		CHECK_EQ_INT(b.recs[1].cls, SPOOL_SECURITY_EVENT);
		CHECK_EQ_STR(b.recs[2].id, ids[0]);
		CHECK_EQ_INT(b.recs[2].cls, SPOOL_SENSOR_EVENT);
		CHECK(body_is(&b.recs[3], "{\"sensor\":2}"));
	}
	spool_batch_free(&b);

	/* A byte budget still returns at least one record. */
	CHECK_EQ_INT(spool_peek(s, 10, 1, &b), 0);
	CHECK_EQ_INT(b.n, 1);
	spool_batch_free(&b);
	CHECK_EQ_INT(spool_peek(s, 2, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 2);
	spool_batch_free(&b);

	CHECK_EQ_INT(spool_peek(s, 10, 1 << 20, &b), 0);
	const char *all[5] = { ids[0], ids[1], ids[2], ids[3], "00000000000000000000000000000000" };
	size_t matched = 99;
	CHECK_EQ_INT(spool_ack(s, all, 5, &matched), 0);
	CHECK_EQ_INT(matched, 4);
	spool_batch_free(&b);
	spool_stats(s, &st);
	CHECK_EQ_INT(st.unacked_critical, 0);
	CHECK_EQ_INT(st.unacked_sensor, 0);
	CHECK_EQ_INT(spool_peek(s, 10, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 0);
	spool_batch_free(&b);
	spool_close(s);

	/* Acks survive a restart: nothing is resent. */
	s = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.unacked_critical, 0);
	CHECK_EQ_INT(rec.unacked_sensor, 0);
	CHECK_EQ_INT(spool_peek(s, 10, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 0);
	spool_batch_free(&b);
	spool_close(s);

	/* A damaged "acked" file is an error, not a silent resend of all. */
	char p[300];
	snprintf(p, sizeof(p), "%s/acked", sdir);
	CHECK_EQ_INT(file_write_atomic(p, "garbage\n", 8, 0600), 0);
	CHECK_EQ_INT(spool_open(sdir, NULL, &s, NULL), -EBADMSG);
}

static void
test_partial_ack_and_resend(void)
{
	struct spool_options o = { .flags = JOURNAL_CREATE };
	struct spool_recovery rec;
	struct spool_batch b;
	char ids[10][SPOOL_ID_HEX_LEN], body[32];
	struct spool *s;

	fresh_dir();
	s = open_ok(&o, &rec);
	for (int i = 0; i < 10; i++) {
		snprintf(body, sizeof(body), "e%d", i);
		add(s, SPOOL_SENSOR_EVENT, body, ids[i]);
	}
	CHECK_EQ_INT(spool_sync(s), 0);
	CHECK_EQ_INT(spool_peek(s, 100, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 10);
	spool_batch_free(&b);
	/* Out of order: 0, 1 and 3 acknowledged. */
	const char *acks[3] = { ids[3], ids[0], ids[1] };
	CHECK_EQ_INT(spool_ack(s, acks, 3, NULL), 0);
	CHECK_EQ_INT(spool_peek(s, 100, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 7);
	if (b.n == 7) {
		CHECK(body_is(&b.recs[0], "e2"));
		CHECK(body_is(&b.recs[1], "e4"));
	}
	spool_batch_free(&b);
	spool_close(s);

	/* Restart: 3 was acknowledged only in memory, so it comes again
	 * (at-least-once); 0 and 1 do not. */
	s = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.unacked_sensor, 8);
	CHECK_EQ_INT(spool_peek(s, 100, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 8);
	if (b.n == 8) {
		CHECK(body_is(&b.recs[0], "e2"));
		CHECK(body_is(&b.recs[1], "e3"));
		CHECK_EQ_STR(b.recs[1].id, ids[3]);
	}
	/* Ack the lot, in reverse. */
	const char *rest[8];
	for (size_t i = 0; i < b.n && i < 8; i++)
		rest[i] = b.recs[b.n - 1 - i].id;
	size_t matched = 0;
	CHECK_EQ_INT(spool_ack(s, rest, b.n, &matched), 0);
	CHECK_EQ_INT(matched, 8);
	spool_batch_free(&b);
	CHECK_EQ_INT(spool_peek(s, 100, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 0);
	spool_batch_free(&b);
	spool_close(s);
}

static void
test_overflow_policy(void)
{
	/* 64 KiB cap, 8 KiB segments, 16 KiB reserve for critical data. */
	struct spool_options o = { .flags = JOURNAL_CREATE, .max_bytes = 65536, .max_record = 4096,
		.critical_reserve = 16384 };
	struct spool_stats st;
	struct spool_batch b;
	struct spool *s;
	char body[1001];
	uint64_t d, rs, rc_;
	int ncrit = 0, rc = 0;

	memset(body, 's', 1000);
	body[1000] = '\0';
	fresh_dir();
	s = open_ok(&o, NULL);
	/* 200 KiB of sensor data through a 64 KiB spool: oldest dropped. */
	for (int i = 0; i < 200; i++)
		add(s, SPOOL_SENSOR_EVENT, body, NULL);
	spool_stats(s, &st);
	CHECK(st.bytes <= 65536);
	CHECK(st.sensor_dropped > 100);
	CHECK_EQ_INT(st.sensor_refused, 0);
	CHECK_EQ_INT(st.sensor_dropped + st.unacked_sensor, 200);
	CHECK_EQ_INT(spool_overflow_take(s, &d, &rs, &rc_), 1);
	CHECK_EQ_INT(d, st.sensor_dropped);
	CHECK_EQ_INT(spool_overflow_take(s, &d, &rs, &rc_), 0);
	CHECK_EQ_INT(d, 0);

	/* Critical data pushes sensor data out, then fills the reserve, then
	 * is refused; none of it is ever dropped. */
	memset(body, 'c', 1000);
	for (int i = 0; i < 200; i++) {
		rc = spool_append(s, SPOOL_JOB_RESULT, body, 1000, NULL);
		if (rc != 0)
			break;
		ncrit++;
	}
	CHECK_EQ_INT(rc, -ENOBUFS);
	spool_stats(s, &st);
	CHECK_EQ_INT(st.sensor_bytes, 0);
	CHECK_EQ_INT(st.unacked_critical, ncrit);
	CHECK(st.bytes > 65536 && st.bytes <= 65536 + 16384);
	CHECK(ncrit > 60);
	CHECK_EQ_INT(st.critical_refused, 1);
	/* Now sensor data is refused and counted. */
	CHECK_EQ_INT(spool_append(s, SPOOL_SENSOR_EVENT, "x", 1, NULL), -ENOBUFS);
	CHECK_EQ_INT(spool_overflow_take(s, &d, &rs, &rc_), 1);
	CHECK_EQ_INT(rs, 1);
	CHECK_EQ_INT(rc_, 1);
	CHECK_EQ_INT(spool_sync(s), 0);
	spool_close(s);

	/* Every critical record survived, in order. */
	s = open_ok(&o, NULL);
	CHECK_EQ_INT(spool_peek(s, 1000, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, ncrit);
	int all_crit = 1;
	for (size_t i = 0; i < b.n; i++)
		all_crit &= b.recs[i].cls == SPOOL_JOB_RESULT && b.recs[i].len == 1000;
	CHECK(all_crit);
	/* Acknowledging frees the space: sensor data is accepted again. */
	const char **ids = calloc(b.n + 1, sizeof(*ids));
	for (size_t i = 0; i < b.n; i++)
		ids[i] = b.recs[i].id;
	CHECK_EQ_INT(spool_ack(s, ids, b.n, NULL), 0);
	free(ids);
	spool_batch_free(&b);
	spool_stats(s, &st);
	CHECK(st.bytes < 8192);
	CHECK_EQ_INT(spool_append(s, SPOOL_SENSOR_EVENT, "x", 1, NULL), 0);
	spool_close(s);

	/* Caps. */
	s = open_ok(&o, NULL);
	char *big = calloc(1, 4097);
	CHECK_EQ_INT(spool_append(s, SPOOL_JOB_RESULT, big, 4096, NULL), 0);
	CHECK_EQ_INT(spool_append(s, SPOOL_JOB_RESULT, big, 4097, NULL), -EMSGSIZE);
	free(big);
	spool_close(s);
	struct spool_options bad = { .max_bytes = 65536, .max_record = 65536 / 8 + 1 };
	CHECK_EQ_INT(spool_open(sdir, &bad, &s, NULL), -EINVAL);
}

/* ---- ENOSPC: a 256 KiB tmpfs in a private mount namespace ----------------- */

static void
write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		printf("  %s: %s\n", path, strerror(errno));
		_exit(2);
	}
	close(fd);
}

static int
in_small_tmpfs(const char *mnt, void (*fn)(const char *))
{
	pid_t pid = fork();
	if (pid == 0) {
		uid_t uid = geteuid();
		gid_t gid = getegid();
		if (unshare(CLONE_NEWNS | (uid != 0 ? CLONE_NEWUSER : 0)) != 0) {
			printf("  unshare: %s\n", strerror(errno));
			_exit(2);
		}
		if (uid != 0) {
			char map[64];
			snprintf(map, sizeof(map), "%u %u 1", (unsigned)uid, (unsigned)uid);
			write_file("/proc/self/uid_map", map);
			write_file("/proc/self/setgroups", "deny");
			snprintf(map, sizeof(map), "%u %u 1", (unsigned)gid, (unsigned)gid);
			write_file("/proc/self/gid_map", map);
		}
		if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
		    mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0700") != 0) {
			printf("  mount: %s\n", strerror(errno));
			_exit(2);
		}
		fn(mnt);
		fflush(stdout);
		_exit(harness_cur_failed ? 1 : 0);
	}
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	return status;
}

static void
enospc_body(const char *mnt)
{
	/* The cap (4 MiB) is far above the disk (256 KiB): the disk fills first. */
	struct spool_options o = { .flags = JOURNAL_CREATE, .max_bytes = 4 << 20, .max_record = 8192 };
	struct spool *s;
	struct spool_batch b;
	char body[2000];
	int n = 0, rc = 0;

	memset(body, 'r', sizeof(body));
	snprintf(sdir, sizeof(sdir), "%s/spool", mnt);
	s = open_ok(&o, NULL);
	if (s == NULL)
		return;
	for (int i = 0; i < 1000; i++) {
		rc = spool_append(s, i % 2 ? SPOOL_SECURITY_EVENT : SPOOL_SENSOR_EVENT, body, sizeof(body), NULL);
		if (rc != 0)
			break;
		n++;
	}
	CHECK_EQ_INT(rc, -ENOSPC);
	CHECK(n > 50);
	CHECK_EQ_INT(spool_sync(s), 0);
	/* Still full: refused again, nothing half-written. */
	CHECK_EQ_INT(spool_append(s, SPOOL_JOB_RESULT, body, sizeof(body), NULL), -ENOSPC);
	/* The orchestrator acknowledges a batch: segments go, space is back. */
	CHECK_EQ_INT(spool_peek(s, 100, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, 100);
	const char *ids[100];
	for (size_t i = 0; i < b.n && i < 100; i++)
		ids[i] = b.recs[i].id;
	rc = spool_ack(s, ids, b.n, NULL);
	/* Rewriting "acked" may itself hit ENOSPC before segments are freed;
	 * the acks count in memory either way. */
	CHECK(rc == 0 || rc == -ENOSPC);
	spool_batch_free(&b);
	struct spool_stats st;
	spool_stats(s, &st);
	CHECK_EQ_INT(st.unacked_critical + st.unacked_sensor, (uint64_t)n - 100);
	CHECK_EQ_INT(spool_append(s, SPOOL_JOB_RESULT, body, sizeof(body), NULL), 0);
	CHECK_EQ_INT(spool_sync(s), 0);
	spool_close(s);
	struct spool_recovery rec;
	s = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.critical.bytes_dropped + rec.sensor.bytes_dropped, 0);
	/* 100 acked, one more appended; if "acked" could not be written, the
	 * acked records of segments not deleted come again. */
	CHECK(rec.unacked_critical + rec.unacked_sensor >= (uint64_t)n - 100 + 1);
	CHECK(rec.unacked_critical + rec.unacked_sensor <= (uint64_t)n + 1);
	spool_close(s);
}

static void
test_enospc(void)
{
	char mnt[300];
	snprintf(mnt, sizeof(mnt), "%s/small", top);
	CHECK(mkdir(mnt, 0700) == 0);
	CHECK_EQ_INT(in_small_tmpfs(mnt, enospc_body), 0);
}

/* Ack the oldest `n` unacknowledged records. */
static void
ack_oldest(struct spool *s, size_t n)
{
	struct spool_batch b;
	const char *ids[8];

	CHECK_EQ_INT(spool_peek(s, n, 1 << 20, &b), 0);
	CHECK_EQ_INT(b.n, n);
	for (size_t i = 0; i < b.n && i < 8; i++)
		ids[i] = b.recs[i].id;
	CHECK_EQ_INT(spool_ack(s, ids, b.n < 8 ? b.n : 8, NULL), 0);
	spool_batch_free(&b);
}

static int
acked_file_says(const char *want)
{
	char p[300], *txt = NULL;
	size_t len = 0;
	int ok;

	snprintf(p, sizeof(p), "%s/acked", sdir);
	if (file_read_all(p, SPOOL_ACK_FILE_MAX, &txt, &len) != 0)
		return 0;
	ok = strstr(txt, want) != NULL;
	free(txt);
	return ok;
}

/* "acked" is rewritten at most once per SPOOL_ACK_PERSIST_MS (and at close):
 * a crash in between leaves acknowledged records to be sent again, and
 * loses none. */
static void
test_ack_rate(void)
{
	struct spool_options o = { .flags = JOURNAL_CREATE };
	struct spool_recovery rec;
	struct spool *s;
	char id[SPOOL_ID_HEX_LEN];
	int st = -1;
	pid_t pid;

	fresh_dir();
	pid = fork();
	if (pid == 0) {
		/* appends 4, acks 2 (written at once: the first ack), then 2
		 * more within the second (kept in memory), and dies */
		struct spool *cs = NULL;
		if (spool_open(sdir, &o, &cs, NULL) != 0)
			_exit(2);
		for (int i = 0; i < 4; i++)
			if (spool_append(cs, SPOOL_JOB_RESULT, "{}", 2, NULL) != 0)
				_exit(3);
		if (spool_sync(cs) != 0)
			_exit(4);
		ack_oldest(cs, 2);
		ack_oldest(cs, 2);
		if (spool_sync(cs) != 0)
			_exit(5);
		_exit(0);   /* no spool_close: a crash */
	}
	CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK(acked_file_says("critical=2 "));
	s = open_ok(NULL, &rec);
	if (s == NULL)
		return;
	/* the last two come again (the orchestrator stores them once) */
	CHECK_EQ_INT(rec.unacked_critical, 2);
	ack_oldest(s, 2);             /* the first ack after open: written */
	CHECK(acked_file_says("critical=4 "));
	add(s, SPOOL_JOB_RESULT, "{}", id);
	add(s, SPOOL_JOB_RESULT, "{}", id);
	CHECK_EQ_INT(spool_sync(s), 0);
	ack_oldest(s, 1);             /* within the second: in memory */
	CHECK(acked_file_says("critical=4 "));
	struct timespec ts = { .tv_sec = SPOOL_ACK_PERSIST_MS / 1000,
	    .tv_nsec = (SPOOL_ACK_PERSIST_MS % 1000) * 1000000L + 50 * 1000000L };
	nanosleep(&ts, NULL);
	CHECK_EQ_INT(spool_sync(s), 0);   /* due now */
	CHECK(acked_file_says("critical=5 "));
	ack_oldest(s, 1);
	CHECK(acked_file_says("critical=5 "));
	spool_close(s);               /* and at close */
	CHECK(acked_file_says("critical=6 "));
}

/* ---- kill -9 of an appending agent --------------------------------------- */

static int
cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
test_kill9(void)
{
	struct spool_options o = { .flags = JOURNAL_CREATE, .max_bytes = 64 << 20 };
	struct spool *s;
	char (*acked)[SPOOL_ID_HEX_LEN] = calloc(200000, SPOOL_ID_HEX_LEN);
	size_t nacked = 0;

	fresh_dir();
	s = open_ok(&o, NULL);
	spool_close(s);
	srand((unsigned)time(NULL) ^ 0x5eed);
	for (int r = 0; r < 5; r++) {
		int pfd[2];
		CHECK(pipe(pfd) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			struct spool *cs;
			if (spool_open(sdir, NULL, &cs, NULL) != 0)
				_exit(3);
			for (int k = 0; k < 100000; k++) {
				char ids[8][SPOOL_ID_HEX_LEN];
				int n = 1 + k % 8;
				for (int i = 0; i < n; i++)
					if (spool_append(cs, (k + i) % 3 + 1, "{\"e\":1}", 7, ids[i]) != 0)
						_exit(4);
				if (spool_sync(cs) != 0)
					_exit(5);
				for (int i = 0; i < n; i++)
					if (write(pfd[1], ids[i], 32) != 32)
						_exit(6);
			}
			_exit(0);
		}
		close(pfd[1]);
		struct timespec ts = { 0, (long)(20 + rand() % 60) * 1000000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		CHECK(waitpid(pid, NULL, 0) == pid);
		char id[33];
		while (read(pfd[0], id, 32) == 32 && nacked < 200000) {
			id[32] = '\0';
			memcpy(acked[nacked++], id, 33);
		}
		close(pfd[0]);
	}
	/* Every acknowledged id is in the spool exactly once. */
	struct spool_batch b;
	s = open_ok(NULL, NULL);
	if (s == NULL)
		return;
	size_t total = 0, cap = 1 << 20;
	char (*got)[SPOOL_ID_HEX_LEN] = calloc(cap, SPOOL_ID_HEX_LEN);
	for (int round = 0; round < 10000; round++) {
		CHECK_EQ_INT(spool_peek(s, SPOOL_MAX_BATCH, 1 << 24, &b), 0);
		if (b.n == 0)
			break;
		const char **ids = calloc(b.n, sizeof(*ids));
		for (size_t i = 0; i < b.n; i++) {
			ids[i] = b.recs[i].id;
			if (total < cap)
				memcpy(got[total++], b.recs[i].id, SPOOL_ID_HEX_LEN);
		}
		CHECK_EQ_INT(spool_ack(s, ids, b.n, NULL), 0);
		free(ids);
		spool_batch_free(&b);
	}
	spool_close(s);
	qsort(acked, nacked, SPOOL_ID_HEX_LEN, cmp_id);
	qsort(got, total, SPOOL_ID_HEX_LEN, cmp_id);
	size_t dups = 0, found = 0;
	for (size_t i = 1; i < total; i++)
		dups += strcmp(got[i - 1], got[i]) == 0;
	for (size_t i = 0; i < nacked; i++)
		found += bsearch(acked[i], got, total, SPOOL_ID_HEX_LEN, cmp_id) != NULL;
	CHECK(nacked > 0);
	CHECK_EQ_INT(found, nacked);
	CHECK_EQ_INT(dups, 0);
	CHECK(total >= nacked);
	printf("  kill -9: %zu synced ids, %zu records in the spool\n", nacked, total);
	free(got);
	free(acked);
}

int
main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_basic);
	RUN(test_partial_ack_and_resend);
	RUN(test_overflow_policy);
	RUN(test_enospc);
	RUN(test_ack_rate);
	RUN(test_kill9);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("  could not remove %s\n", top);
	return HARNESS_EXIT();
}
