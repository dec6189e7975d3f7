/* Unit tests for event/audit.c: the hash chain and its verifier. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "base/fileio.h"
#include "event/audit.h"

static char dir[] = "/tmp/stavily-audit-XXXXXX";
static char path[256];

static void
write_log(int n)
{
	struct audit_log *log;
	struct audit_recovery rec;
	int i;

	unlink(path);
	CHECK(audit_open(path, "orchestrator", &log, &rec) == 0);
	for (i = 0; i < n; i++) {
		cJSON *d = cJSON_CreateObject();
		cJSON_AddNumberToObject(d, "i", i);
		cJSON_AddStringToObject(d, "tenant", "acme");
		CHECK(audit_append(log, EVENT_INFO, "token_created", d) == 0);
		cJSON_Delete(d);
	}
	CHECK_EQ_INT(audit_seq(log), n);
	audit_close(log);
}

static char *
slurp(size_t *len)
{
	char *buf;
	CHECK(file_read_all(path, 1 << 26, &buf, len) == 0);
	return buf;
}

static void
spit(const char *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK(fd_write_all(fd, buf, len) == 0);
	close(fd);
}

/* Offset of the start of 1-based line `n`. */
static size_t
line_off(const char *buf, int n)
{
	size_t off = 0;
	while (--n > 0)
		off = (size_t)(strchr(buf + off, '\n') - buf) + 1;
	return off;
}

static void
test_chain_verifies(void)
{
	struct audit_verify_result r;
	struct stat st;

	write_log(1000);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_OK);
	CHECK_EQ_INT(r.records, 1000);
	/* the head anchor printed by one run is accepted by the next */
	char head[AUDIT_HASH_HEX];
	memcpy(head, r.head, sizeof(head));
	CHECK_EQ_INT(audit_verify_file(path, 1000, head, &r), AUDIT_OK);
	CHECK_EQ_INT(audit_verify_file(path, 999, head, &r), AUDIT_HEAD_MISMATCH);
}

static void
test_one_byte_edit_in_middle(void)
{
	struct audit_verify_result r;
	size_t len;
	char *buf;

	write_log(1000);
	buf = slurp(&len);
	/* change a digit inside details of record 500: still valid JSON */
	size_t off = line_off(buf, 500);
	char *p = strstr(buf + off, "\"i\":499");
	CHECK(p != NULL);
	if (p) {
		p[4] = '8';
		spit(buf, len);
		CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_BROKEN);
		CHECK_EQ_INT(r.line, 501);   /* the record after the edit names it */
		CHECK(strstr(r.msg, "record 500") != NULL);
	}
	free(buf);
}

static void
test_deleted_record(void)
{
	struct audit_verify_result r;
	size_t len;
	char *buf;

	write_log(50);
	buf = slurp(&len);
	size_t a = line_off(buf, 20), b = line_off(buf, 21);
	memmove(buf + a, buf + b, len - b);
	spit(buf, len - (b - a));
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_BROKEN);
	CHECK_EQ_INT(r.line, 20);
	free(buf);
}

static void
test_reordered_records(void)
{
	struct audit_verify_result r;
	size_t len;
	char *buf, *out;

	write_log(50);
	buf = slurp(&len);
	out = malloc(len);
	size_t a = line_off(buf, 10), b = line_off(buf, 11), c = line_off(buf, 12);
	memcpy(out, buf, a);
	memcpy(out + a, buf + b, c - b);
	memcpy(out + a + (c - b), buf + a, b - a);
	memcpy(out + c, buf + c, len - c);
	spit(out, len);
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_BROKEN);
	CHECK_EQ_INT(r.line, 10);
	free(out);
	free(buf);
}

static void
test_cut_in_the_middle(void)
{
	struct audit_verify_result r;
	size_t len;
	char *buf;

	write_log(50);
	buf = slurp(&len);
	/* record 30 loses its second half */
	size_t a = line_off(buf, 30), b = line_off(buf, 31);
	size_t half = (b - a) / 2;
	memmove(buf + a + half, buf + b - 1, len - (b - 1));
	spit(buf, len - (b - 1 - (a + half)));
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_MALFORMED);
	CHECK_EQ_INT(r.line, 30);
	free(buf);
}

static void
test_torn_tail_reported_and_repaired(void)
{
	struct audit_verify_result r;
	struct audit_log *log;
	struct audit_recovery rec;
	size_t len;
	char *buf;

	write_log(20);
	buf = slurp(&len);
	spit(buf, len - 17);   /* a crash in the middle of the last write */
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_TORN_TAIL);
	CHECK_EQ_INT(r.line, 20);
	CHECK_EQ_INT(r.records, 19);
	CHECK(strstr(r.msg, "torn") != NULL);
	/* reopening cuts the torn line, records that it did, and chains on */
	CHECK(audit_open(path, "orchestrator", &log, &rec) == 0);
	CHECK_EQ_INT(rec.records, 19);
	CHECK(rec.torn_bytes > 0);
	CHECK(audit_append(log, EVENT_INFO, "after_crash", NULL) == 0);
	audit_close(log);
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_OK);
	CHECK_EQ_INT(r.records, 21);
	free(buf);
	buf = slurp(&len);
	CHECK(strstr(buf, "audit_torn_record_dropped") != NULL);
	free(buf);
}

static void
test_single_writer(void)
{
	struct audit_log *a, *b;
	struct audit_recovery rec;

	write_log(1);
	CHECK(audit_open(path, "x", &a, &rec) == 0);
	CHECK_EQ_INT(audit_open(path, "x", &b, &rec), -EBUSY);
	audit_close(a);
}

static void
test_garbage_file(void)
{
	struct audit_verify_result r;
	struct audit_log *log;
	struct audit_recovery rec;

	spit("not json at all\n", 16);
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_MALFORMED);
	CHECK_EQ_INT(r.line, 1);
	CHECK_EQ_INT(audit_open(path, "x", &log, &rec), -EBADMSG);
	spit("", 0);
	CHECK_EQ_INT(audit_verify_file(path, 0, NULL, &r), AUDIT_OK);
	CHECK_EQ_INT(r.records, 0);
	CHECK_EQ_INT(audit_verify_file("/nonexistent/x", 0, NULL, &r), AUDIT_IO);
}

int
main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	RUN(test_chain_verifies);
	RUN(test_one_byte_edit_in_middle);
	RUN(test_deleted_record);
	RUN(test_reordered_records);
	RUN(test_cut_in_the_middle);
	RUN(test_torn_tail_reported_and_repaired);
	RUN(test_single_writer);
	RUN(test_garbage_file);
	unlink(path);
	rmdir(dir);
	return HARNESS_EXIT();
}
