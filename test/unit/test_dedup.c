/* Unit tests for store/dedup.c: membership, the FIFO window, persistence
 * across reopen, bounded disk use, memory mode. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "store/dedup.h"

static char top[] = "/tmp/stavily-dedup-XXXXXX";

static int
add_id(struct dedup *d, const char *agent, int i)
{
	char id[40];
	int n = snprintf(id, sizeof(id), "event-%08d", i);
	return dedup_add(d, agent, id, (size_t)n);
}

static int
has_id(struct dedup *d, const char *agent, int i)
{
	char id[40];
	int n = snprintf(id, sizeof(id), "event-%08d", i);
	return dedup_contains(d, agent, id, (size_t)n);
}

static uint64_t
dir_bytes(const char *path)
{
	DIR *dp = opendir(path);
	struct dirent *de;
	uint64_t sum = 0;
	char p[1024];
	struct stat st;

	if (dp == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL) {
		snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
		if (de->d_name[0] != '.' && stat(p, &st) == 0)
			sum += (uint64_t)st.st_size;
	}
	closedir(dp);
	return sum;
}

static void
test_membership(void)
{
	struct dedup *d = NULL;
	CHECK_EQ_INT(dedup_open(NULL, 1000, 0, &d, NULL), 0);
	if (d == NULL)
		return;
	CHECK_EQ_INT(add_id(d, "agent-1", 1), 1);
	CHECK_EQ_INT(add_id(d, "agent-1", 1), 0);
	CHECK_EQ_INT(add_id(d, "agent-2", 1), 1); /* per agent */
	CHECK_EQ_INT(has_id(d, "agent-1", 1), 1);
	CHECK_EQ_INT(has_id(d, "agent-1", 2), 0);
	/* Agent and id cannot be re-split to collide. */
	CHECK_EQ_INT(dedup_add(d, "ab", "c", 1), 1);
	CHECK_EQ_INT(dedup_add(d, "a", "bc", 2), 1);
	CHECK_EQ_INT(dedup_count(d), 4);
	/* Bad input. */
	CHECK_EQ_INT(dedup_add(d, "", "x", 1), -EINVAL);
	CHECK_EQ_INT(dedup_add(d, "a", "x", 0), -EINVAL);
	CHECK_EQ_INT(dedup_add(d, NULL, "x", 1), -EINVAL);
	char big[DEDUP_ID_MAX + 1];
	memset(big, 'x', sizeof(big));
	CHECK_EQ_INT(dedup_add(d, "a", big, sizeof(big)), -EINVAL);
	CHECK_EQ_INT(dedup_add(d, "a", big, DEDUP_ID_MAX), 1);
	CHECK_EQ_INT(dedup_sync(d), 0);
	dedup_close(d);
	CHECK_EQ_INT(dedup_open(NULL, DEDUP_MAX_CAPACITY + 1, 0, &d, NULL), -EINVAL);
}

static void
test_window(void)
{
	struct dedup *d = NULL;
	CHECK_EQ_INT(dedup_open(NULL, 100, 0, &d, NULL), 0);
	if (d == NULL)
		return;
	for (int i = 0; i < 250; i++)
		CHECK_EQ_INT(add_id(d, "a", i), 1);
	CHECK_EQ_INT(dedup_count(d), 100);
	int oldest_in = 0, newest_in = 0;
	for (int i = 0; i < 150; i++)
		oldest_in += has_id(d, "a", i);
	for (int i = 150; i < 250; i++)
		newest_in += has_id(d, "a", i);
	CHECK_EQ_INT(oldest_in, 0);
	CHECK_EQ_INT(newest_in, 100);
	/* Many insertions and evictions keep the table consistent. */
	for (int i = 250; i < 20000; i++)
		CHECK_EQ_INT(add_id(d, "a", i), 1);
	newest_in = 0;
	for (int i = 19900; i < 20000; i++)
		newest_in += add_id(d, "a", i) == 0;
	CHECK_EQ_INT(newest_in, 100);
	dedup_close(d);
}

static void
test_persistent(void)
{
	char dir[300];
	struct dedup *d = NULL;
	uint64_t loaded = 99;

	snprintf(dir, sizeof(dir), "%s/d", top);
	CHECK_EQ_INT(dedup_open(dir, 1000, 0, &d, &loaded), 0);
	if (d == NULL)
		return;
	CHECK_EQ_INT(loaded, 0);
	for (int i = 0; i < 600; i++)
		CHECK_EQ_INT(add_id(d, "agent-7", i), 1);
	CHECK_EQ_INT(dedup_sync(d), 0);
	dedup_close(d);

	CHECK_EQ_INT(dedup_open(dir, 1000, 0, &d, &loaded), 0);
	if (d == NULL)
		return;
	CHECK_EQ_INT(loaded, 600);
	CHECK_EQ_INT(dedup_count(d), 600);
	/* A resent batch after restart is recognised. */
	int dup = 0;
	for (int i = 0; i < 600; i++)
		dup += add_id(d, "agent-7", i) == 0;
	CHECK_EQ_INT(dup, 600);
	/* 100k more: the window moves, the disk stays bounded. */
	for (int i = 600; i < 100600; i++)
		CHECK_EQ_INT(add_id(d, "agent-7", i), 1);
	CHECK_EQ_INT(dedup_sync(d), 0);
	uint64_t bytes = dir_bytes(dir);
	CHECK(bytes <= 4 * 65536);
	dedup_close(d);

	CHECK_EQ_INT(dedup_open(dir, 1000, 0, &d, &loaded), 0);
	if (d == NULL)
		return;
	CHECK(loaded >= 1000 && loaded <= 4 * 65536 / 28);
	CHECK_EQ_INT(dedup_count(d), 1000);
	CHECK_EQ_INT(has_id(d, "agent-7", 100599), 1);
	CHECK_EQ_INT(has_id(d, "agent-7", 99600), 1);
	CHECK_EQ_INT(has_id(d, "agent-7", 99599), 0);
	dedup_close(d);
}

int
main(void)
{
	if (mkdtemp(top) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_membership);
	RUN(test_window);
	RUN(test_persistent);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
	if (system(cmd) != 0)
		printf("  could not remove %s\n", top);
	return HARNESS_EXIT();
}
