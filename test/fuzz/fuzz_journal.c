/*
 * fuzz_journal: journal recovery over arbitrary bytes.
 *
 * The input becomes one or two segment files (the first byte chooses the
 * split point and the options); journal_open must either fail cleanly or
 * recover, every record it then iterates must check out, and an append after
 * recovery must work.  Runs in a private temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/journal.h"

static char dir[64];

static void
put_file(const char *name, const uint8_t *data, size_t len)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	while (len > 0) {
		ssize_t k = write(fd, data, len);
		if (k <= 0)
			abort();
		data += k;
		len -= (size_t)k;
	}
	close(fd);
}

static void
clear_dir(void)
{
	char p[128];
	/* Only the names this target creates (recovery may create a segment). */
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%012d.seg", dir, i == 0 ? 1 : i == 1 ? 3 : i == 2 ? 2 : 4);
		unlink(p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct journal_options o = { .max_record = 4096, .max_segment = 65536 };
	struct journal_recovery rec;
	struct journal *j = NULL;

	if (dir[0] == '\0') {
		snprintf(dir, sizeof(dir), "/tmp/fuzz-journal-XXXXXX");
		if (mkdtemp(dir) == NULL)
			abort();
	}
	clear_dir();
	if (size > 0) {
		uint8_t ctl = data[0];
		data++;
		size--;
		o.flags = (ctl & 0x80) ? JOURNAL_REPAIR : 0;
		size_t split = (ctl & 0x40) ? (size * (ctl & 0x3f)) / 64 : size;
		put_file("000000000001.seg", data, split);
		if (split < size)
			put_file("000000000003.seg", data + split, size - split);
	}
	int rc = journal_open(dir, &o, &j, &rec);
	if (rc != 0) {
		if (j != NULL)
			abort();
		return 0;
	}
	struct journal_iter it;
	uint64_t seq, n = 0;
	const void *p;
	size_t len;
	if (journal_iter_init(j, 0, &it) != 0)
		abort();
	while ((rc = journal_iter_next(&it, &seq, &p, &len)) == 1)
		n++;
	if (rc != 0 || n != rec.records)
		abort(); /* what recovery kept must read back */
	journal_iter_done(&it);
	uint64_t s;
	if (journal_append(j, "x", 1, &s) != 0 || s != journal_next_seq(j) - 1)
		abort();
	journal_close(j);
	return 0;
}
