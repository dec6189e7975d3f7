/*
 * hostile_execfd.c: a test plugin that attacks the way the sandbox starts
 * plugins (execveat(SANDBOX_EXEC_FD = 1000, "", ..., AT_EMPTY_PATH) is the
 * one exec shape the seccomp filter allows, docs/sandbox.md "Starting the
 * plugin by descriptor").  It tries to get a descriptor numbered 1000 and
 * exec from it, to raise RLIMIT_NOFILE above it, and the plain exec forms.
 *
 *   hostile_execfd [PROGRAM]     PROGRAM: what to exec (default /bin/sh)
 *
 * Every attempt prints "NAME: RESULT" (errno name, or SUCCEEDED) through
 * write(2).  First line: "started" (the plugin's own first exec worked).
 * Exit status: 0 every attempt failed, 3 one succeeded (escape).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXEC_FD 1000
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif

extern char **environ;
static int escaped;

static void
say(const char *s)
{
	(void)!write(1, s, strlen(s));
}

static const char *
errname(int e)
{
	switch (e) {
	case EPERM: return "EPERM";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	case ENOENT: return "ENOENT";
	case EACCES: return "EACCES";
	case ENOSYS: return "ENOSYS";
	default: return "OTHER";
	}
}

static void
verdict(const char *name, long r)
{
	say(name);
	say(": ");
	if (r >= 0) {
		say("SUCCEEDED\n");
		escaped = 1;
	} else {
		say(errname(errno));
		say("\n");
	}
}

int
main(int argc, char **argv)
{
	const char *prog = argc > 1 ? argv[1] : "/bin/sh";
	char *const av[] = { (char *)prog, "-c", "echo ESCAPED", NULL };
	struct rlimit rl;
	int fd;

	say("started\n");
	/* The start descriptor did not survive the exec. */
	verdict("fcntl-getfd-1000", fcntl(EXEC_FD, F_GETFD));
	fd = open(prog, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fd = 0;
	/* Get a descriptor numbered 1000: dup2, dup3, F_DUPFD. */
	verdict("dup2-1000", dup2(fd, EXEC_FD));
	verdict("dup3-1000", syscall(SYS_dup3, fd, EXEC_FD, O_CLOEXEC));
	{
		long r = fcntl(fd, F_DUPFD, EXEC_FD);

		/* F_DUPFD gives the lowest free number >= 1000: any success is
		 * an escape only if it is 1000, but a number >= 1000 at all
		 * means the limit did not hold. */
		verdict("fcntl-dupfd-1000", r);
	}
	/* Raise RLIMIT_NOFILE past 1000 (hard limit is <= 1000). */
	rl.rlim_cur = rl.rlim_max = EXEC_FD + 10;
	verdict("setrlimit-nofile", setrlimit(RLIMIT_NOFILE, &rl));
	verdict("prlimit-nofile", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, NULL));
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max <= EXEC_FD)
		say("nofile-hard: <=1000\n");
	else
		say("nofile-hard: ABOVE\n");
	/* The allowed shape, from a descriptor we do not have. */
	verdict("execveat-1000", syscall(SYS_execveat, EXEC_FD, "", av, environ, AT_EMPTY_PATH));
	/* Shapes the filter denies. */
	verdict("execveat-fd", syscall(SYS_execveat, fd, "", av, environ, AT_EMPTY_PATH));
	/* fd 1000 in the low 32 bits, a high bit set: the kernel sees 1000
	 * (EBADF), the filter must not let a *different* shape through. */
	verdict("execveat-1000-path", syscall(SYS_execveat, EXEC_FD, prog, av, environ, 0));
	verdict("execveat-cwd", syscall(SYS_execveat, AT_FDCWD, prog, av, environ, 0));
	verdict("execve", syscall(SYS_execve, prog, av, environ));
	return escaped ? 3 : 0;
}
