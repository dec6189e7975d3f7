/*
 * good.c: a well-behaved plugin.  It reads its input from stdin (capped),
 * writes it to a file under /tmp, reads the file back and prints one JSON
 * line {"ok":true,"bytes":N,"checksum":N,"file":"..."}.  It only uses read,
 * write, open, close, stat and exit, the brief's allowlist, so it must work
 * under the default policy.  Output through write(2), never stdio.
 *
 * Exit status: 0 ok, 1 a step failed (the line names the step and errno).
 */
#define _GNU_SOURCE /* CLONE_*, syscall numbers, F_* */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define GOOD_MAX_INPUT 65536

static void
out(const char *s, int n)
{
	(void)!write(1, s, (size_t)n);
}

static int
failed(const char *step)
{
	char buf[160];
	int n = snprintf(buf, sizeof(buf), "{\"ok\":false,\"step\":\"%s\",\"errno\":%d}\n", step, errno);

	out(buf, n);
	return 1;
}

int
main(int argc, char **argv)
{
	static char in[GOOD_MAX_INPUT], back[GOOD_MAX_INPUT];
	char path[128], line[256];
	size_t len = 0, i;
	unsigned long sum = 0;
	ssize_t n;
	struct stat st;
	int fd;

	while (len < sizeof(in) && (n = read(0, in + len, sizeof(in) - len)) > 0)
		len += (size_t)n;
	/* a fixed name: getpid is not among the brief's allowed syscalls */
	snprintf(path, sizeof(path), "%s/good-plugin.out", argc > 1 ? argv[1] : "/tmp");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return failed("open for writing");
	if (write(fd, in, len) != (ssize_t)len)
		return failed("write");
	if (close(fd) != 0)
		return failed("close");
	if (stat(path, &st) != 0)
		return failed("stat");
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return failed("open for reading");
	n = read(fd, back, sizeof(back));
	close(fd);
	if (n != (ssize_t)len || (size_t)st.st_size != len || memcmp(in, back, len) != 0) {
		errno = EIO;
		return failed("read back");
	}
	for (i = 0; i < len; i++)
		sum = sum * 31 + (unsigned char)in[i];
	n = snprintf(line, sizeof(line), "{\"ok\":true,\"bytes\":%zu,\"checksum\":%lu,\"file\":\"%s\"}\n",
	             len, sum, path);
	out(line, (int)n);
	return 0;
}
