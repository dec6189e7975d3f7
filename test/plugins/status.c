/*
 * status.c: reports what the plugin sees of its own confinement, one fact a
 * line, for the tests to match:
 *
 *   CapEff:\t<16 hex>   CapPrm  CapBnd  CapAmb   (capability sets)
 *   NoNewPrivs:\t<0|1>
 *   Seccomp:\t<0|1|2>
 *   fd: N                                    (one line per open descriptor)
 *   env: NAME=VALUE                          (one line per variable)
 *   source: proc|syscalls
 *   uid: R E S   gid: R E S   groups: N      (real/effective/saved ids, supplementary count)
 *
 * It reads /proc/self/status when /proc is there and otherwise computes the
 * same lines from capget, prctl(PR_CAPBSET_READ / PR_CAP_AMBIENT /
 * PR_GET_NO_NEW_PRIVS / PR_GET_SECCOMP) and fcntl(F_GETFD) on 0..1023, so the
 * report does not depend on the sandbox mounting /proc.  Exit 0; 1 when
 * nothing could be determined.
 */
#define _GNU_SOURCE /* CLONE_*, syscall numbers, F_* */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#define STATUS_MAX 16384
#define FD_SCAN_MAX 1024

extern char **environ;

static void
out(const char *s)
{
	(void)!write(1, s, strlen(s));
}

static int
from_proc(void)
{
	static char buf[STATUS_MAX];
	static const char *const keys[] = { "CapEff:", "CapPrm:", "CapBnd:", "CapAmb:",
	                                    "NoNewPrivs:", "Seccomp:" };
	ssize_t n, len = 0;
	char *line, *save = NULL;
	size_t i;
	int fd = open("/proc/self/status", O_RDONLY);

	if (fd < 0)
		return -1;
	while (len < (ssize_t)sizeof(buf) - 1 && (n = read(fd, buf + len, sizeof(buf) - 1 - (size_t)len)) > 0)
		len += n;
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0) {
				out(line);
				out("\n");
			}
	out("source: proc\n");
	return 0;
}

static void
from_syscalls(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t eff = 0, prm = 0, bnd = 0, amb = 0;
	char line[64];
	int c;

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) == 0) {
		eff = (uint64_t)d[1].effective << 32 | d[0].effective;
		prm = (uint64_t)d[1].permitted << 32 | d[0].permitted;
	} else {
		eff = prm = ~0ULL; /* unknown: never report "0" by accident */
	}
	for (c = 0; c < 64; c++) {
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
			bnd |= 1ULL << c;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0) == 1)
			amb |= 1ULL << c;
	}
	snprintf(line, sizeof(line), "CapEff:\t%016llx\n", (unsigned long long)eff); out(line);
	snprintf(line, sizeof(line), "CapPrm:\t%016llx\n", (unsigned long long)prm); out(line);
	snprintf(line, sizeof(line), "CapBnd:\t%016llx\n", (unsigned long long)bnd); out(line);
	snprintf(line, sizeof(line), "CapAmb:\t%016llx\n", (unsigned long long)amb); out(line);
	snprintf(line, sizeof(line), "NoNewPrivs:\t%d\n", prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0)); out(line);
	snprintf(line, sizeof(line), "Seccomp:\t%d\n", prctl(PR_GET_SECCOMP, 0, 0, 0, 0)); out(line);
	out("source: syscalls\n");
}

int
main(void)
{
	char line[4200];
	char **e;
	int fd;

	if (from_proc() != 0)
		from_syscalls();
	{
		uid_t r, eu, sv;
		gid_t gr, ge, gs;

		if (getresuid(&r, &eu, &sv) == 0) {
			snprintf(line, sizeof(line), "uid: %u %u %u\n", (unsigned)r, (unsigned)eu, (unsigned)sv);
			out(line);
		}
		if (getresgid(&gr, &ge, &gs) == 0) {
			snprintf(line, sizeof(line), "gid: %u %u %u\n", (unsigned)gr, (unsigned)ge, (unsigned)gs);
			out(line);
		}
		snprintf(line, sizeof(line), "groups: %d\n", getgroups(0, NULL));
		out(line);
	}
	/* fcntl instead of listing /proc/self/fd: works without /proc and does
	 * not open a descriptor of its own while counting */
	for (fd = 0; fd < FD_SCAN_MAX; fd++)
		if (fcntl(fd, F_GETFD) >= 0) {
			snprintf(line, sizeof(line), "fd: %d\n", fd);
			out(line);
		}
	for (e = environ; e && *e; e++) {
		snprintf(line, sizeof(line), "env: %.4096s\n", *e);
		out(line);
	}
	return 0;
}
