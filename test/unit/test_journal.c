/* Unit tests for store/journal.c: framing, recovery, rotation, deletion,
 * group commit, ENOSPC, and kill -9 in the middle of a stream of appends. */
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
#include "store/journal.h"

static char top[] = "/tmp/stavily-journal-XXXXXX";
static char jdir[256];
static int dircount;

static void
fresh_dir(void)
{
	snprintf(jdir, sizeof(jdir), "%s/j%d", top, dircount++);
}

static void
segpath(uint64_t first, char *out, size_t n)
{
	snprintf(out, n, "%s/%012" PRIu64 ".seg", jdir, first);
}

/* Payload for record `i`: "rec <i> " padded with a pattern to `len` bytes. */
static size_t
make_payload(uint64_t i, size_t len, unsigned char *buf)
{
	int k = snprintf((char *)buf, len + 1 > 32 ? 32 : len + 1, "rec %" PRIu64 " ", i);
	size_t p = (size_t)k < len ? (size_t)k : len;
	for (; p < len; p++)
		buf[p] = (unsigned char)('a' + (i + p) % 26);
	return len;
}

static int
payload_ok(uint64_t i, const void *data, size_t len)
{
	unsigned char want[4096];
	if (len > sizeof(want))
		len = sizeof(want); /* compare the prefix of big records */
	make_payload(i, len, want);
	return memcmp(want, data, len) == 0;
}

static struct journal *
open_ok(const struct journal_options *opt, struct journal_recovery *rec)
{
	struct journal *j = NULL;
	int rc = journal_open(jdir, opt, &j, rec);
	CHECK_EQ_INT(rc, 0);
	return j;
}

static void
append_n(struct journal *j, uint64_t from, int n, size_t len)
{
	unsigned char buf[4096];
	for (int i = 0; i < n; i++) {
		uint64_t seq = 0;
		make_payload(from + (uint64_t)i, len, buf);
		CHECK_EQ_INT(journal_append(j, buf, len, &seq), 0);
		CHECK_EQ_INT(seq, from + (uint64_t)i);
	}
}

/* Iterate from `from` and check sequence numbers and payloads; returns count. */
static uint64_t
verify_all(struct journal *j, uint64_t from)
{
	struct journal_iter it;
	uint64_t seq, expect = from, n = 0;
	const void *data;
	size_t len;
	int rc;

	CHECK_EQ_INT(journal_iter_init(j, from, &it), 0);
	if (expect < journal_first_seq(j))
		expect = journal_first_seq(j);
	while ((rc = journal_iter_next(&it, &seq, &data, &len)) == 1) {
		CHECK_EQ_INT(seq, expect);
		CHECK(payload_ok(seq, data, len));
		expect++;
		n++;
	}
	CHECK_EQ_INT(rc, 0);
	journal_iter_done(&it);
	return n;
}

static void
flip_byte(const char *path, off_t off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;
	CHECK(fd >= 0);
	CHECK(pread(fd, &c, 1, off) == 1);
	c ^= 0x40;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

static void
test_basic(void)
{
	struct journal_recovery rec;
	struct journal *j;

	fresh_dir();
	CHECK_EQ_INT(journal_open(jdir, NULL, &j, NULL), -ENOENT);
	struct journal_options o = { .flags = JOURNAL_CREATE };
	j = open_ok(&o, &rec);
	CHECK_EQ_INT(rec.records, 0);
	CHECK_EQ_INT(journal_next_seq(j), 1);
	append_n(j, 1, 100, 50);
	CHECK_EQ_INT(journal_size(j), 100 * (50 + JOURNAL_HDR_SIZE));
	CHECK_EQ_INT(journal_synced_seq(j), 0);
	CHECK_EQ_INT(journal_sync(j), 0);
	CHECK_EQ_INT(journal_synced_seq(j), 100);
	CHECK_EQ_INT(verify_all(j, 1), 100);
	CHECK_EQ_INT(verify_all(j, 42), 59);
	CHECK_EQ_INT(verify_all(j, 101), 0);
	/* Readers that resume (from the position the last one reached, past
	 * it, or before it) all see the right records. */
	struct journal_iter it;
	uint64_t seq;
	const void *d;
	size_t len;
	CHECK_EQ_INT(journal_iter_init(j, 10, &it), 0);
	for (int i = 0; i < 40; i++)
		CHECK_EQ_INT(journal_iter_next(&it, &seq, &d, &len), 1);
	CHECK_EQ_INT(seq, 49);
	journal_iter_done(&it);
	CHECK_EQ_INT(verify_all(j, 50), 51);
	CHECK_EQ_INT(verify_all(j, 77), 24);
	CHECK_EQ_INT(verify_all(j, 30), 71);

	/* A second opener is refused while the first holds the lock. */
	struct journal *j2 = NULL;
	CHECK_EQ_INT(journal_open(jdir, NULL, &j2, NULL), -EBUSY);
	journal_close(j);

	j = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.records, 100);
	CHECK_EQ_INT(rec.bytes_dropped, 0);
	CHECK_EQ_INT(rec.corrupt, 0);
	CHECK_EQ_INT(journal_next_seq(j), 101);
	CHECK_EQ_INT(journal_synced_seq(j), 100);
	append_n(j, 101, 5, 0); /* empty records are records too */
	CHECK_EQ_INT(verify_all(j, 1), 105);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);

	/* Bad options. */
	struct journal_options bad = { .max_record = 8192, .max_segment = 8192 };
	CHECK_EQ_INT(journal_open(jdir, &bad, &j, NULL), -EINVAL);
}

/* The documented on-disk format, byte for byte (docs/storage.md). */
static void
test_format(void)
{
	struct journal_options o = { .flags = JOURNAL_CREATE };
	struct journal *j;
	char p[300], *buf = NULL;
	size_t len = 0;

	/* The CRC32C check value of RFC 3720 (iSCSI), appendix B.4. */
	CHECK_EQ_INT(journal_crc32c(0, "123456789", 9), 0xe3069283u);
	fresh_dir();
	j = open_ok(&o, NULL);
	CHECK_EQ_INT(journal_append(j, "abc", 3, NULL), 0);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);
	segpath(1, p, sizeof(p));
	CHECK_EQ_INT(file_read_all(p, 1000, &buf, &len), 0);
	CHECK_EQ_INT(len, 15);
	if (len == 15) {
		const unsigned char *b = (const unsigned char *)buf;
		CHECK(memcmp(b, "SJR\x01\x03\0\0\0", 8) == 0);
		uint32_t crc = journal_crc32c(journal_crc32c(0, "\x03\0\0\0", 4), "abc", 3);
		CHECK_EQ_INT(b[8] | b[9] << 8 | b[10] << 16 | (uint32_t)b[11] << 24, crc);
		CHECK(memcmp(b + 12, "abc", 3) == 0);
	}
	free(buf);
}

static void
test_rotation_and_drop(void)
{
	struct journal_options o = { .flags = JOURNAL_CREATE, .max_record = 1000, .max_segment = 4096 };
	struct journal_recovery rec;
	struct journal *j;

	fresh_dir();
	j = open_ok(&o, &rec);
	append_n(j, 1, 100, 200); /* 212 bytes a record: 19 per segment */
	CHECK_EQ_INT(journal_segments(j), 6);
	CHECK_EQ_INT(verify_all(j, 1), 100);
	CHECK_EQ_INT(verify_all(j, 77), 24);
	char p[300];
	segpath(20, p, sizeof(p));
	CHECK(access(p, F_OK) == 0);

	/* Nothing to drop below the end of the first segment. */
	CHECK_EQ_INT(journal_drop_before(j, 19), 0);
	CHECK_EQ_INT(journal_drop_before(j, 45), 38);
	CHECK_EQ_INT(journal_first_seq(j), 39);
	CHECK_EQ_INT(journal_segments(j), 4);
	CHECK(access(p, F_OK) != 0);
	CHECK_EQ_INT(verify_all(j, 1), 62); /* clamps to the first stored record */

	/* An iterator on a dropped segment says so. */
	struct journal_iter it;
	uint64_t seq;
	const void *d;
	size_t len;
	CHECK_EQ_INT(journal_iter_init(j, 40, &it), 0);
	CHECK_EQ_INT(journal_iter_next(&it, &seq, &d, &len), 1);
	CHECK_EQ_INT(journal_drop_before(j, 60), 19);
	CHECK_EQ_INT(journal_iter_next(&it, &seq, &d, &len), -ESTALE);
	journal_iter_done(&it);

	/* The active segment is never dropped; rotation makes it droppable. */
	CHECK_EQ_INT(journal_drop_before(j, 1000), 38);
	CHECK_EQ_INT(journal_segments(j), 1);
	CHECK_EQ_INT(journal_first_seq(j), 96);
	CHECK_EQ_INT(journal_rotate(j), 0);
	CHECK_EQ_INT(journal_rotate(j), 0); /* empty active: no-op */
	CHECK_EQ_INT(journal_segments(j), 2);
	CHECK_EQ_INT(journal_drop_before(j, 1000), 5);
	CHECK_EQ_INT(journal_size(j), 0);
	CHECK_EQ_INT(journal_first_seq(j), 101);
	journal_close(j);

	j = open_ok(&o, &rec);
	CHECK_EQ_INT(journal_next_seq(j), 101);
	CHECK_EQ_INT(journal_first_seq(j), 101);
	append_n(j, 101, 3, 10);
	CHECK_EQ_INT(verify_all(j, 0), 3);
	journal_close(j);
}

static void
test_torn_tail(void)
{
	struct journal_recovery rec;
	struct journal *j;
	struct journal_options o = { .flags = JOURNAL_CREATE };
	char p[300];

	fresh_dir();
	j = open_ok(&o, &rec);
	append_n(j, 1, 10, 100);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);
	segpath(1, p, sizeof(p));

	/* Cut inside the last record's payload. */
	CHECK(truncate(p, 10 * 112 - 30) == 0);
	j = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.records, 9);
	CHECK_EQ_INT(rec.bytes_dropped, 112 - 30);
	CHECK_EQ_INT(rec.corrupt, 0);
	CHECK_EQ_INT(journal_next_seq(j), 10);
	append_n(j, 10, 1, 100);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);

	/* Cut inside a header. */
	CHECK(truncate(p, 10 * 112 - 105) == 0);
	j = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.records, 9);
	CHECK_EQ_INT(rec.bytes_dropped, 7);
	CHECK_EQ_INT(verify_all(j, 1), 9);
	journal_close(j);

	/* Zeros after the end (what a crash with delayed allocation leaves). */
	CHECK(truncate(p, 9 * 112 + 4096) == 0);
	j = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.records, 9);
	CHECK_EQ_INT(rec.bytes_dropped, 4096);
	CHECK_EQ_INT(rec.corrupt, 0);
	journal_close(j);

	/* A checksum error in the very last record is a torn tail too. */
	flip_byte(p, 9 * 112 - 5);
	j = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.records, 8);
	CHECK_EQ_INT(rec.bytes_dropped, 112);
	CHECK_EQ_INT(verify_all(j, 1), 8);
	journal_close(j);
}

static void
test_corrupt_middle(void)
{
	struct journal_recovery rec;
	struct journal *j = NULL;
	struct journal_options o = { .flags = JOURNAL_CREATE, .max_record = 1000, .max_segment = 4096 };
	char p[300];
	int rc;

	/* In the last segment, with good records after the damage. */
	fresh_dir();
	j = open_ok(&o, &rec);
	append_n(j, 1, 5, 100);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);
	segpath(1, p, sizeof(p));
	flip_byte(p, 112 + 50); /* payload of record 2 */
	o.flags = 0;
	rc = journal_open(jdir, &o, &j, &rec);
	CHECK_EQ_INT(rc, -EBADMSG);
	CHECK_EQ_INT(rec.corrupt, 1);
	CHECK_EQ_STR(rec.bad_segment, "000000000001.seg");
	CHECK_EQ_INT(rec.bad_offset, 112);
	CHECK_EQ_STR(rec.why, "checksum mismatch");
	/* Nothing was cut: the file is untouched. */
	struct stat st;
	CHECK(stat(p, &st) == 0);
	CHECK_EQ_INT(st.st_size, 5 * 112);
	/* The operator's explicit repair cuts it and counts what was lost. */
	o.flags = JOURNAL_REPAIR;
	j = open_ok(&o, &rec);
	CHECK_EQ_INT(rec.records, 1);
	CHECK_EQ_INT(rec.records_dropped, 3);
	CHECK_EQ_INT(rec.bytes_dropped, 4 * 112);
	CHECK_EQ_INT(rec.corrupt, 1);
	journal_close(j);

	/* Bad magic in an earlier segment: an error naming segment and offset,
	 * even with JOURNAL_REPAIR. */
	fresh_dir();
	o.flags = JOURNAL_CREATE;
	j = open_ok(&o, &rec);
	append_n(j, 1, 60, 200);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);
	segpath(20, p, sizeof(p));
	flip_byte(p, 3 * 212 + 1);
	o.flags = JOURNAL_REPAIR;
	CHECK_EQ_INT(journal_open(jdir, &o, &j, &rec), -EBADMSG);
	CHECK_EQ_STR(rec.bad_segment, "000000000020.seg");
	CHECK_EQ_INT(rec.bad_offset, 3 * 212);
	CHECK_EQ_STR(rec.why, "bad record magic");
	flip_byte(p, 3 * 212 + 1);
	j = open_ok(&o, &rec);
	CHECK_EQ_INT(rec.records, 60);
	journal_close(j);

	/* A truncated earlier segment (a tail missing anywhere but at the end). */
	CHECK(truncate(p, 18 * 212 + 5) == 0);
	CHECK_EQ_INT(journal_open(jdir, &o, &j, &rec), -EBADMSG);
	CHECK_EQ_STR(rec.bad_segment, "000000000020.seg");
	CHECK_EQ_INT(rec.bad_offset, 18 * 212);
	CHECK(truncate(p, 18 * 212) == 0);
	/* Whole record gone: the counts no longer match the next name. */
	CHECK_EQ_INT(journal_open(jdir, &o, &j, &rec), -EBADMSG);
	CHECK_EQ_STR(rec.why, "record count does not match next segment's name");

	/* A missing segment in the middle. */
	fresh_dir();
	o.flags = JOURNAL_CREATE;
	j = open_ok(&o, &rec);
	append_n(j, 1, 60, 200);
	journal_close(j);
	segpath(20, p, sizeof(p));
	CHECK(unlink(p) == 0);
	CHECK_EQ_INT(journal_open(jdir, &o, &j, &rec), -EBADMSG);
	CHECK_EQ_STR(rec.bad_segment, "000000000001.seg");
}

static void
test_record_caps(void)
{
	struct journal_options o = { .flags = JOURNAL_CREATE, .max_record = 3000, .max_segment = 4096 };
	struct journal_recovery rec;
	struct journal *j;
	unsigned char buf[3001];
	uint64_t seq;

	fresh_dir();
	j = open_ok(&o, &rec);
	make_payload(1, 3000, buf);
	CHECK_EQ_INT(journal_append(j, buf, 3000, &seq), 0);
	CHECK_EQ_INT(seq, 1);
	CHECK_EQ_INT(journal_append(j, buf, 3001, &seq), -EMSGSIZE);
	make_payload(2, 3000, buf);
	CHECK_EQ_INT(journal_append(j, buf, 3000, &seq), 0);
	CHECK_EQ_INT(seq, 2);
	CHECK_EQ_INT(journal_segments(j), 2);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);
	j = open_ok(&o, &rec);
	CHECK_EQ_INT(rec.records, 2);
	CHECK_EQ_INT(verify_all(j, 1), 2);
	journal_close(j);

	/* Reopened with a smaller cap, a stored record over it is corruption
	 * (its length field cannot be trusted), not silently skipped. */
	o.max_record = 2000;
	o.flags = 0;
	CHECK_EQ_INT(journal_open(jdir, &o, &j, &rec), -EBADMSG);
	CHECK_EQ_STR(rec.why, "record length over max_record");
}

static int cb_calls, cb_errs;
static void
commit_cb(void *arg, uint64_t seq, int err)
{
	(void)arg;
	(void)seq;
	cb_calls++;
	if (err)
		cb_errs++;
}

static void
test_group_commit(void)
{
	struct journal_options o = { .flags = JOURNAL_CREATE };
	struct journal *j;
	uint64_t seqs[5];
	unsigned char b[8] = "payload";

	fresh_dir();
	j = open_ok(&o, NULL);
	for (int i = 0; i < 5; i++) {
		CHECK_EQ_INT(journal_append(j, b, sizeof(b), &seqs[i]), 0);
		CHECK_EQ_INT(journal_commit_wait(j, seqs[i], commit_cb, NULL), 0);
	}
	CHECK_EQ_INT(journal_commit_wait(j, 99, commit_cb, NULL), -EINVAL);
	CHECK_EQ_INT(journal_commit_pending(j), 5);
	CHECK_EQ_INT(cb_calls, 0);
	CHECK_EQ_INT(journal_synced_seq(j), 0);
	CHECK_EQ_INT(journal_commit_flush(j), 0);
	CHECK_EQ_INT(cb_calls, 5);
	CHECK_EQ_INT(cb_errs, 0);
	CHECK_EQ_INT(journal_synced_seq(j), 5);
	CHECK_EQ_INT(journal_commit_pending(j), 0);
	CHECK_EQ_INT(journal_commit_flush(j), 0);
	CHECK_EQ_INT(cb_calls, 5);
	journal_close(j);
}

/* ---- ENOSPC in a private mount namespace with a 256 KiB tmpfs ------------- */

/* Run `fn` in a child that has its own mount namespace with a small tmpfs
 * mounted on `mnt`.  As root a plain mount namespace; unprivileged, a user
 * namespace first (tmpfs may be mounted there).  Returns the child's status. */
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
			/* Map ourselves so that files we create have an owner. */
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
	struct journal_options o = { .flags = JOURNAL_CREATE, .max_record = 60000, .max_segment = 1 << 20 };
	struct journal *j;
	unsigned char *buf = malloc(50000);
	char fill[300];
	uint64_t seq = 0, n = 0;
	int rc = 0;

	snprintf(jdir, sizeof(jdir), "%s/j", mnt);
	j = open_ok(&o, NULL);
	if (j == NULL)
		return;
	for (int i = 0; i < 20; i++) {
		make_payload(n + 1, 50000, buf);
		rc = journal_append(j, buf, 50000, &seq);
		if (rc != 0)
			break;
		n++;
	}
	CHECK_EQ_INT(rc, -ENOSPC);
	CHECK(n >= 3);
	CHECK_EQ_INT(journal_sync(j), 0);
	CHECK_EQ_INT(journal_next_seq(j), n + 1);
	/* Small records still fit in what is left? Fill the rest up. */
	snprintf(fill, sizeof(fill), "%s/filler", mnt);
	int fd = open(fill, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	while (write(fd, buf, 4096) > 0)
		;
	close(fd);
	/* 5000 bytes: more than the rest of the last page the file has. */
	make_payload(n + 1, 5000, buf);
	CHECK_EQ_INT(journal_append(j, buf, 5000, &seq), -ENOSPC);
	CHECK_EQ_INT(journal_size(j), n * (50000 + JOURNAL_HDR_SIZE));
	/* Space comes back: appends work again, numbering continues. */
	CHECK(unlink(fill) == 0);
	CHECK_EQ_INT(journal_append(j, buf, 5000, &seq), 0);
	CHECK_EQ_INT(seq, n + 1);
	CHECK_EQ_INT(journal_sync(j), 0);
	journal_close(j);
	struct journal_recovery rec;
	j = open_ok(NULL, &rec);
	CHECK_EQ_INT(rec.records, n + 1);
	CHECK_EQ_INT(rec.bytes_dropped, 0);
	CHECK_EQ_INT(verify_all(j, 1), n + 1);
	journal_close(j);
	free(buf);
}

static void
test_enospc(void)
{
	char mnt[300];
	snprintf(mnt, sizeof(mnt), "%s/small", top);
	CHECK(mkdir(mnt, 0700) == 0);
	CHECK_EQ_INT(in_small_tmpfs(mnt, enospc_body), 0);
}

/* ---- kill -9 during a stream of appends ----------------------------------- */

/* Child: open, then append records (sizes vary, some large so that a kill
 * can land inside one write) and sync in batches; after each sync, report
 * the synced sequence number on the pipe.  Runs until killed. */
static void
appender(int wfd, unsigned seed)
{
	struct journal_options o = { .max_record = 300000, .max_segment = 1 << 20 };
	struct journal *j = NULL;
	unsigned char *buf = malloc(300000);

	srand(seed);
	if (buf == NULL || journal_open(jdir, &o, &j, NULL) != 0)
		_exit(3);
	for (;;) {
		int batch = 1 + rand() % 8;
		for (int i = 0; i < batch; i++) {
			size_t len = rand() % 10 == 0 ? 100000 + (size_t)(rand() % 200000) : (size_t)(rand() % 300);
			uint64_t next = journal_next_seq(j), seq;
			make_payload(next, len, buf);
			if (journal_append(j, buf, len, &seq) != 0)
				_exit(4);
		}
		if (journal_sync(j) != 0)
			_exit(5);
		uint64_t acked = journal_synced_seq(j);
		if (write(wfd, &acked, sizeof(acked)) != sizeof(acked))
			_exit(6);
	}
}

static void
test_kill9(void)
{
	struct journal_options o = { .flags = JOURNAL_CREATE, .max_record = 300000, .max_segment = 1 << 20 };
	struct journal *j;
	uint64_t max_acked = 0, dropped_total = 0;
	int rounds = 8;

	fresh_dir();
	j = open_ok(&o, NULL);
	journal_close(j);
	srand((unsigned)time(NULL));
	for (int r = 0; r < rounds; r++) {
		int pfd[2];
		CHECK(pipe(pfd) == 0);
		pid_t pid = fork();
		if (pid == 0) {
			close(pfd[0]);
			appender(pfd[1], (unsigned)rand());
		}
		close(pfd[1]);
		struct timespec ts = { 0, (long)(20 + rand() % 60) * 1000000L };
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int status;
		CHECK(waitpid(pid, &status, 0) == pid);
		CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
		uint64_t v;
		while (read(pfd[0], &v, sizeof(v)) == sizeof(v)) {
			CHECK(v >= max_acked);
			max_acked = v;
		}
		close(pfd[0]);

		struct journal_recovery rec;
		o.flags = 0;
		j = open_ok(&o, &rec);
		if (j == NULL)
			return;
		CHECK_EQ_INT(rec.corrupt, 0);
		dropped_total += rec.bytes_dropped;
		/* Every acknowledged record is there, once, in order, intact. */
		CHECK(journal_next_seq(j) > max_acked);
		CHECK_EQ_INT(verify_all(j, 1), journal_next_seq(j) - 1);
		CHECK_EQ_INT(rec.records, journal_next_seq(j) - 1);
		journal_close(j);
	}
	CHECK(max_acked > 0);
	printf("  kill -9: %d rounds, %" PRIu64 " records acknowledged, %" PRIu64
	    " torn bytes cut\n", rounds, max_acked, dropped_total);
}

int
main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_basic);
	RUN(test_format);
	RUN(test_rotation_and_drop);
	RUN(test_torn_tail);
	RUN(test_corrupt_middle);
	RUN(test_record_caps);
	RUN(test_group_commit);
	RUN(test_enospc);
	RUN(test_kill9);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("  could not remove %s\n", top);
	return HARNESS_EXIT();
}
