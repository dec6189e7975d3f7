/*
 * hostile.c: a test plugin that tries, on purpose, what a malicious plugin
 * would try once it is running inside the sandbox.  One program, many modes:
 *
 *   hostile MODE [ARGS...]
 *
 * Every attempt prints one line "NAME: RESULT" on stdout, where RESULT is
 * the errno name when the attempt failed (e.g. "execve: EPERM") or
 * "SUCCEEDED" when it worked.  Exit status (distinct on purpose):
 *
 *   0  every attempt failed (the sandbox held, or the mode just ran)
 *   2  usage error (unknown mode, bad argument)
 *   3  an attempt succeeded: the plugin escaped the policy
 *   4  a setup step the mode needs failed (not a verdict on the sandbox)
 *   5  a resource mode was stopped by a limit (ENOMEM, EMFILE, EAGAIN, EFBIG)
 *
 * Output goes through write(2) only, never stdio: under the brief's
 * allowlist (read/write/open/close/stat + @default) writev, ioctl and
 * friends may themselves be blocked, and a test must see the line about
 * the attempt, not a side effect of printf.  Syscalls are issued raw where
 * the libc wrapper would add or change syscalls (fork -> clone, vfork, ...),
 * so that each mode reaches exactly the syscall it names.
 *
 * Modes: exec-sh exec-memfd fork vfork clone clone3 socket FAMILY bind
 * io_uring ptrace-traceme ptrace-attach [PID] pvm-read [PID] pvm-write [PID]
 * read PATH write PATH symlink DIR hardlink DIR mount unshare setns chroot
 * bpf perf_event_open userfaultfd keyctl kexec_load init_module personality
 * connect ADDR PORT modify_ldt seccomp prctl-seccomp kill [PID...] tiocsti int80 x32
 * alloc MB spin forkbomb flood [MB] bigfile MB [PATH] fds parent-proc [PID]
 * orphan MS undumpable-read PATH badptr-open open_tree_attr spin-kids N MS [setsid] clone-ns [user|mnt|net|pid|ipc|uts|cgroup|all]
 * scratch PATH (well-behaved: write, read back, "scratch: ok") symlink-rel DIR
 * exit N segv escaped-exec bench KIND N.
 */
#define _GNU_SOURCE /* CLONE_*, syscall numbers, F_* */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sched.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#define EXIT_HELD     0
#define EXIT_USAGE    2
#define EXIT_ESCAPED  3
#define EXIT_SETUP    4
#define EXIT_LIMITED  5

#define FORKBOMB_MAX  4096     /* bounded: a loop in a test never runs away */
#define FDS_MAX       100000
#define FLOOD_CHUNK   65536

#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_memfd_create
#define SYS_memfd_create 319
#endif
#ifndef SYS_execveat
#define SYS_execveat 322
#endif
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#define X32_SYSCALL_BIT 0x40000000
#define UFFD_USER_MODE_ONLY_FLAG 1

extern char **environ;
static int escaped;     /* set when any attempt succeeded */
static const char *self_path;

static void
say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(1, buf, (size_t)n);
}

static const char *
errname(int e)
{
	static const struct { int e; const char *n; } t[] = {
		{ EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
		{ EINTR, "EINTR" }, { EIO, "EIO" }, { ENXIO, "ENXIO" },
		{ E2BIG, "E2BIG" }, { ENOEXEC, "ENOEXEC" }, { EBADF, "EBADF" },
		{ ECHILD, "ECHILD" }, { EAGAIN, "EAGAIN" }, { ENOMEM, "ENOMEM" },
		{ EACCES, "EACCES" }, { EFAULT, "EFAULT" }, { EBUSY, "EBUSY" },
		{ EEXIST, "EEXIST" }, { EXDEV, "EXDEV" }, { ENODEV, "ENODEV" },
		{ ENOTDIR, "ENOTDIR" }, { EISDIR, "EISDIR" }, { EINVAL, "EINVAL" },
		{ ENFILE, "ENFILE" }, { EMFILE, "EMFILE" }, { ENOTTY, "ENOTTY" },
		{ EFBIG, "EFBIG" }, { ENOSPC, "ENOSPC" }, { EROFS, "EROFS" },
		{ ENOSYS, "ENOSYS" }, { ENOTSOCK, "ENOTSOCK" },
		{ EPROTONOSUPPORT, "EPROTONOSUPPORT" }, { EOPNOTSUPP, "EOPNOTSUPP" },
		{ EAFNOSUPPORT, "EAFNOSUPPORT" }, { EADDRNOTAVAIL, "EADDRNOTAVAIL" },
		{ ESOCKTNOSUPPORT, "ESOCKTNOSUPPORT" }, { EPROTOTYPE, "EPROTOTYPE" },
		{ ECONNREFUSED, "ECONNREFUSED" }, { ENETUNREACH, "ENETUNREACH" },
		{ ETIMEDOUT, "ETIMEDOUT" }, { EHOSTUNREACH, "EHOSTUNREACH" },
	};
	static char other[24];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (t[i].e == e)
			return t[i].n;
	snprintf(other, sizeof(other), "errno %d", e);
	return other;
}

/* Report one attempt: rc < 0 means it failed with errno. */
static void
verdict(const char *what, long rc)
{
	if (rc < 0) {
		say("%s: %s", what, errname(errno));
	} else {
		say("%s: SUCCEEDED (returned %ld)", what, rc);
		escaped = 1;
	}
}

static int
finish(void)
{
	return escaped ? EXIT_ESCAPED : EXIT_HELD;
}

static pid_t
target_pid(int argc, char **argv, int i)
{
	if (argc > i)
		return (pid_t)atoi(argv[i]);
	if (getppid() > 0)
		return getppid();
	return 1;
}

/* In the child of a successful fork-like call: leave without touching the
 * parent's stdio or atexit state. */
static void
child_exit(void)
{
	syscall(SYS_exit, 0);
	for (;;)
		;
}

static void
reap(long pid)
{
	if (pid > 0)
		waitpid((pid_t)pid, NULL, 0);
}

/* --- exec ------------------------------------------------------------------ */

static int
mode_exec_sh(void)
{
	char *const av[] = { "/bin/sh", "-c", "echo 'ESCAPED: /bin/sh ran'; exit 3", NULL };

	verdict("execve", syscall(SYS_execve, "/bin/sh", av, environ));
	return finish();
}

/* execveat of a memfd holding a copy of this program.  What is tested is
 * the execveat attempt itself, so the setup is best effort: when the copy
 * cannot be made the memfd is executed anyway (the filter decides before
 * the kernel looks at the content: EPERM = blocked, ENOEXEC = it got
 * through), and when memfd_create is blocked too, our own file or fd 0 is
 * the fd executed. */
static int
mode_exec_memfd(void)
{
	char *const av[] = { (char *)self_path, "escaped-exec", NULL };
	char buf[65536];
	long fd, src;
	ssize_t n;

	fd = syscall(SYS_memfd_create, "payload", 0);
	if (fd >= 0) {
		say("memfd_create: created (not an escape by itself)");
		src = open(self_path, O_RDONLY);
		if (src < 0) {
			say("copy self to memfd: open: %s (executing the empty memfd)", errname(errno));
		} else {
			while ((n = read((int)src, buf, sizeof(buf))) > 0)
				if (write((int)fd, buf, (size_t)n) != n)
					break;
			close((int)src);
		}
	} else {
		say("memfd_create: %s", errname(errno));
		fd = open(self_path, O_RDONLY);
		if (fd < 0) {
			say("open self: %s (executing fd 0)", errname(errno));
			fd = 0;
		}
	}
	verdict("execveat", syscall(SYS_execveat, fd, "", av, environ, AT_EMPTY_PATH));
	return finish();
}

/* --- process creation ------------------------------------------------------ */

static int
mode_fork(void)
{
	long r = syscall(SYS_fork);

	if (r == 0)
		child_exit();
	verdict("fork", r);
	reap(r);
	return finish();
}

/* vfork by inline syscall: the child shares our stack, so it must not return
 * through a libc function frame that the parent still needs. */
static int
mode_vfork(void)
{
	long r;

	__asm__ volatile ("syscall" : "=a"(r) : "a"((long)SYS_vfork) : "rcx", "r11", "memory");
	if (r == 0) {
		__asm__ volatile ("syscall" : : "a"((long)SYS_exit), "D"(0L) : "rcx", "r11", "memory");
		for (;;)
			;
	}
	if (r < 0) {
		errno = (int)-r;
		r = -1;
	}
	verdict("vfork", r);
	reap(r);
	return finish();
}

static int
mode_clone(void)
{
	/* fork-style clone: no CLONE_VM, no CLONE_THREAD, new stack = same */
	long r = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);

	if (r == 0)
		child_exit();
	verdict("clone", r);
	reap(r);
	return finish();
}

/* fork-style clone that also creates a namespace (CLONE_NEW*): unshare(2)
 * by another name, so it must fail even where fork is allowed */
static int
mode_clone_ns(int argc, char **argv)
{
	static const struct { const char *name; long flag; } ns[] = {
		{ "user", CLONE_NEWUSER }, { "mnt", CLONE_NEWNS }, { "net", CLONE_NEWNET },
		{ "pid", CLONE_NEWPID }, { "ipc", CLONE_NEWIPC }, { "uts", CLONE_NEWUTS },
		{ "cgroup", CLONE_NEWCGROUP },
	};
	const char *which = argc > 2 ? argv[2] : "user";
	char w[64];
	size_t i;
	long r;

	for (i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		if (strcmp(which, "all") != 0 && strcmp(which, ns[i].name) != 0)
			continue;
		r = syscall(SYS_clone, (long)SIGCHLD | ns[i].flag, 0L, 0L, 0L, 0L);
		if (r == 0)
			child_exit();
		snprintf(w, sizeof(w), "clone(CLONE_NEW%s)", ns[i].name);
		verdict(w, r);
		reap(r);
	}
	return finish();
}

struct clone3_args {    /* CLONE_ARGS_SIZE_VER0 = 64 bytes */
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
};

static int
mode_clone3(void)
{
	struct clone3_args a;
	long r;

	memset(&a, 0, sizeof(a));
	a.exit_signal = SIGCHLD;
	r = syscall(SYS_clone3, &a, sizeof(a));
	if (r == 0)
		child_exit();
	verdict("clone3", r);
	reap(r);
	return finish();
}

static int
mode_forkbomb(void)
{
	static pid_t kids[FORKBOMB_MAX];
	int n = 0, err = 0, i;
	long r;

	while (n < FORKBOMB_MAX) {
		r = syscall(SYS_fork);
		if (r == 0) {
			/* bounded life even if nobody cleans up: SIGALRM kills */
			syscall(SYS_alarm, 10L);
			for (;;)
				syscall(SYS_pause);
		}
		if (r < 0) {
			err = errno;
			break;
		}
		kids[n++] = (pid_t)r;
	}
	for (i = 0; i < n; i++)
		kill(kids[i], SIGKILL);
	for (i = 0; i < n; i++)
		waitpid(kids[i], NULL, 0);
	if (n == FORKBOMB_MAX) {
		say("forkbomb: %d processes created, never stopped (escaped)", n);
		return EXIT_ESCAPED;
	}
	say("forkbomb: %d processes created, then %s", n, errname(err));
	return EXIT_LIMITED;
}

/* --- network --------------------------------------------------------------- */

static const struct { const char *name; int family; int type; } families[] = {
	{ "unix", AF_UNIX, SOCK_STREAM }, { "inet", AF_INET, SOCK_STREAM },
	{ "inet6", AF_INET6, SOCK_STREAM }, { "netlink", AF_NETLINK, SOCK_RAW },
	{ "packet", AF_PACKET, SOCK_RAW }, { "inet-udp", AF_INET, SOCK_DGRAM },
	{ "inet-raw", AF_INET, SOCK_RAW }, { "ax25", AF_AX25, SOCK_SEQPACKET },
	{ "ipx", AF_IPX, SOCK_DGRAM }, { "appletalk", AF_APPLETALK, SOCK_DGRAM },
	{ "x25", AF_X25, SOCK_SEQPACKET }, { "key", AF_KEY, SOCK_RAW },
	{ "rds", AF_RDS, SOCK_SEQPACKET }, { "llc", AF_LLC, SOCK_DGRAM },
	{ "can", AF_CAN, SOCK_RAW }, { "tipc", AF_TIPC, SOCK_RDM },
	{ "bluetooth", AF_BLUETOOTH, SOCK_RAW }, { "alg", AF_ALG, SOCK_SEQPACKET },
	{ "vsock", AF_VSOCK, SOCK_STREAM }, { "xdp", AF_XDP, SOCK_RAW },
	{ "qipcrtr", AF_QIPCRTR, SOCK_DGRAM }, { "smc", AF_SMC, SOCK_STREAM },
};
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

static int
mode_socket(int argc, char **argv)
{
	char what[64];
	size_t i;
	int any = 0;

	if (argc < 3) {
		say("usage: hostile socket FAMILY|all");
		return EXIT_USAGE;
	}
	for (i = 0; i < NFAMILIES; i++) {
		if (strcmp(argv[2], "all") != 0 && strcmp(argv[2], families[i].name) != 0)
			continue;
		any = 1;
		snprintf(what, sizeof(what), "socket(%s)", families[i].name);
		verdict(what, syscall(SYS_socket, (long)families[i].family, (long)families[i].type, 0L));
	}
	if (!any) {
		say("unknown family %s", argv[2]);
		return EXIT_USAGE;
	}
	return finish();
}

static int
mode_bind(void)
{
	struct sockaddr_in sa;
	long fd;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = syscall(SYS_socket, (long)AF_INET, (long)SOCK_STREAM, 0L);
	if (fd < 0) {
		say("socket(inet): %s (binding fd 0 instead, the filter sees bind either way)",
		    errname(errno));
		fd = 0;
	}
	verdict("bind", syscall(SYS_bind, fd, &sa, (long)sizeof(sa)));
	return finish();
}

/* connect ADDR PORT: a TCP connection to an IPv4 address (the tests use a
 * listener on the host's loopback, which a restricted/none policy must not
 * reach). */
static int
mode_connect(int argc, char **argv)
{
	struct sockaddr_in sa;
	char what[80];
	long fd;

	if (argc < 4) {
		say("usage: hostile connect ADDR PORT");
		return EXIT_USAGE;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)atoi(argv[3]));
	if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) {
		say("bad address %s", argv[2]);
		return EXIT_USAGE;
	}
	fd = syscall(SYS_socket, (long)AF_INET, (long)SOCK_STREAM, 0L);
	if (fd < 0) {
		say("socket(inet): %s", errname(errno));
		return EXIT_SETUP;
	}
	snprintf(what, sizeof(what), "connect(%s:%s)", argv[2], argv[3]);
	verdict(what, syscall(SYS_connect, fd, &sa, (long)sizeof(sa)));
	close((int)fd);
	return finish();
}

/* --- kernel attack surface --------------------------------------------------- */

static int
mode_io_uring(void)
{
	unsigned char params[120];

	memset(params, 0, sizeof(params));
	verdict("io_uring_setup", syscall(SYS_io_uring_setup, 8L, params));
	return finish();
}

static int
mode_ptrace_traceme(void)
{
	verdict("ptrace(PTRACE_TRACEME)", syscall(SYS_ptrace, 0L /* TRACEME */, 0L, 0L, 0L));
	return finish();
}

static int
mode_ptrace_attach(int argc, char **argv)
{
	pid_t p = target_pid(argc, argv, 2);
	char what[64];

	long r;

	snprintf(what, sizeof(what), "ptrace(PTRACE_ATTACH, %d)", (int)p);
	r = syscall(SYS_ptrace, 16L /* ATTACH */, (long)p, 0L, 0L);
	verdict(what, r);
	if (r == 0) {
		/* escaped: do not leave the victim stopped (it may be the test's
		 * own timeout(1)); wait for its attach-stop, detach, continue */
		waitpid(p, NULL, __WALL);
		syscall(SYS_ptrace, 17L /* DETACH */, (long)p, 0L, 0L);
		kill(p, SIGCONT);
	}
	return finish();
}

static int
mode_pvm(int argc, char **argv, int write_it)
{
	pid_t p = target_pid(argc, argv, 2);
	char buf[64], what[64];
	struct iovec local = { buf, sizeof(buf) };
	struct iovec remote = { (void *)0x400000, sizeof(buf) };
	long sysno = write_it ? SYS_process_vm_writev : SYS_process_vm_readv;

	memset(buf, 0, sizeof(buf));
	snprintf(what, sizeof(what), "%s(%d)", write_it ? "process_vm_writev" : "process_vm_readv", (int)p);
	verdict(what, syscall(sysno, (long)p, &local, 1L, &remote, 1L, 0L));
	return finish();
}

static int
mode_mount(void)
{
	verdict("mount", syscall(SYS_mount, "none", "/tmp", "tmpfs", 0L, NULL));
	return finish();
}

static int
mode_unshare(void)
{
	/* a user namespace is what an unprivileged process could get */
	verdict("unshare(CLONE_NEWUSER)", syscall(SYS_unshare, (long)CLONE_NEWUSER));
	return finish();
}

static int
mode_setns(void)
{
	long fd = open("/proc/1/ns/net", O_RDONLY);

	if (fd < 0)
		fd = 0; /* the filter decides before the kernel looks at the fd */
	verdict("setns", syscall(SYS_setns, fd, 0L));
	return finish();
}

static int
mode_chroot(void)
{
	verdict("chroot", syscall(SYS_chroot, "/tmp"));
	return finish();
}

static int
mode_bpf(void)
{
	unsigned char attr[128];

	memset(attr, 0, sizeof(attr));
	attr[0] = 2;    /* map_type ARRAY */
	attr[4] = 4;    /* key_size */
	attr[8] = 4;    /* value_size */
	attr[12] = 1;   /* max_entries */
	verdict("bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, 0L, attr, (long)sizeof(attr)));
	return finish();
}

static int
mode_perf_event_open(void)
{
	unsigned char attr[128];
	uint32_t v;

	memset(attr, 0, sizeof(attr));
	v = 1;          /* PERF_TYPE_SOFTWARE */
	memcpy(attr, &v, 4);
	v = sizeof(attr);
	memcpy(attr + 4, &v, 4);
	/* config 0 = PERF_COUNT_SW_CPU_CLOCK; pid 0 (self), cpu -1 */
	verdict("perf_event_open", syscall(SYS_perf_event_open, attr, 0L, -1L, -1L, 0L));
	return finish();
}

static int
mode_userfaultfd(void)
{
	verdict("userfaultfd", syscall(SYS_userfaultfd, (long)UFFD_USER_MODE_ONLY_FLAG));
	return finish();
}

static int
mode_keyctl(void)
{
	/* KEYCTL_GET_KEYRING_ID of the session keyring, creating it: allowed
	 * to any process without a sandbox */
	verdict("keyctl", syscall(SYS_keyctl, 0L, -3L, 1L));
	verdict("add_key", syscall(SYS_add_key, "user", "stavily-test", "x", 1L, -3L));
	return finish();
}

static int
mode_kexec_load(void)
{
	verdict("kexec_load", syscall(SYS_kexec_load, 0L, 0L, NULL, 0L));
	return finish();
}

static int
mode_init_module(void)
{
	static const char image[64];

	verdict("init_module", syscall(SYS_init_module, image, (long)sizeof(image), ""));
	return finish();
}

static int
mode_personality(void)
{
	long r = syscall(SYS_personality, 0x0008L /* PER_LINUX32 */);

	verdict("personality(PER_LINUX32)", r);
	if (r >= 0)
		syscall(SYS_personality, 0L);
	return finish();
}

static int
mode_modify_ldt(void)
{
	unsigned char buf[16];

	verdict("modify_ldt", syscall(SYS_modify_ldt, 0L, buf, (long)sizeof(buf)));
	return finish();
}

/* An allow-all filter: harmless by itself, but a plugin's own filter (and
 * above all one with a listener) must never be installed. */
static int
mode_seccomp(void)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { 1, f };

	verdict("seccomp(SECCOMP_SET_MODE_FILTER)",
	        syscall(SYS_seccomp, (long)SECCOMP_SET_MODE_FILTER, 0L, &prog));
	verdict("seccomp(SECCOMP_SET_MODE_FILTER, NEW_LISTENER)",
	        syscall(SYS_seccomp, (long)SECCOMP_SET_MODE_FILTER,
	                (long)SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
	return finish();
}

static int
mode_prctl_seccomp(void)
{
	struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
	struct sock_fprog prog = { 1, f };

	verdict("prctl(PR_SET_SECCOMP)",
	        syscall(SYS_prctl, (long)PR_SET_SECCOMP, (long)SECCOMP_MODE_FILTER, &prog, 0L, 0L));
	return finish();
}

/* --- the supervisor and the terminal --------------------------------------- */

static int
mode_kill(int argc, char **argv)
{
	char what[64];
	int i;

	if (getppid() > 0) {
		snprintf(what, sizeof(what), "kill(parent %d, SIGKILL)", (int)getppid());
		verdict(what, syscall(SYS_kill, (long)getppid(), (long)SIGKILL));
	}
	if (getpid() != 1) {
		snprintf(what, sizeof(what), "kill(1, SIGKILL)");
		verdict(what, syscall(SYS_kill, 1L, (long)SIGKILL));
	}
	for (i = 2; i < argc; i++) {
		snprintf(what, sizeof(what), "kill(%d, SIGKILL)", atoi(argv[i]));
		verdict(what, syscall(SYS_kill, (long)atoi(argv[i]), (long)SIGKILL));
	}
	return finish();
}

static int
mode_tiocsti(void)
{
	char c = ' ';   /* harmless even if it got through */
	char what[64];
	long fd;
	int i;

	for (i = 0; i <= 2; i++) {
		snprintf(what, sizeof(what), "ioctl(%d, TIOCSTI)", i);
		verdict(what, syscall(SYS_ioctl, (long)i, (long)TIOCSTI, &c));
	}
	fd = open("/dev/tty", O_RDWR);
	if (fd < 0) {
		say("open(/dev/tty): %s", errname(errno));
	} else {
		verdict("ioctl(/dev/tty, TIOCSTI)", syscall(SYS_ioctl, fd, (long)TIOCSTI, &c));
		close((int)fd);
	}
	return finish();
}

/* getpid through the i386 entry point: the filter must kill, not answer */
static int
mode_int80(void)
{
	long r;

	say("int80: calling getpid (i386 nr 20) through int 0x80");
	__asm__ volatile ("int $0x80" : "=a"(r) : "a"(20L) : "memory");
	say("int80: returned %ld: SUCCEEDED (not killed)", r);
	return EXIT_ESCAPED;
}

static int
mode_x32(void)
{
	long r;

	say("x32: calling getpid (nr 39 | X32_SYSCALL_BIT)");
	r = syscall((long)(39 | X32_SYSCALL_BIT));
	if (r < 0) {
		say("x32: returned %s (refused, but not killed)", errname(errno));
		return EXIT_HELD;
	}
	say("x32: returned %ld: SUCCEEDED (not killed)", r);
	return EXIT_ESCAPED;
}

/* --- files ------------------------------------------------------------------ */

/* Open and read PATH; reading any byte is an escape.  Never prints content. */
static void
try_read(const char *what, const char *path)
{
	char buf[4096], w[300];
	long fd;
	ssize_t n;

	snprintf(w, sizeof(w), "%s open(%s)", what, path);
	fd = open(path, O_RDONLY);
	if (fd < 0) {
		verdict(w, -1);
		return;
	}
	n = read((int)fd, buf, sizeof(buf));
	close((int)fd);
	snprintf(w, sizeof(w), "%s read(%s)", what, path);
	if (n <= 0) {
		say("%s: opened, read returned %ld%s%s", w, (long)n, n < 0 ? " " : "",
		    n < 0 ? errname(errno) : "");
		return;
	}
	say("%s: SUCCEEDED (%ld bytes)", w, (long)n);
	escaped = 1;
}

static int
mode_read(int argc, char **argv)
{
	if (argc < 3) {
		say("usage: hostile read PATH");
		return EXIT_USAGE;
	}
	try_read("read", argv[2]);
	return finish();
}

static int
mode_write(int argc, char **argv)
{
	char w[300];
	long fd;

	if (argc < 3) {
		say("usage: hostile write PATH");
		return EXIT_USAGE;
	}
	snprintf(w, sizeof(w), "write open(%s)", argv[2]);
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	verdict(w, fd);
	if (fd >= 0) {
		(void)!write((int)fd, "pwned\n", 6);
		close((int)fd);
	}
	return finish();
}

static int
mode_link(int argc, char **argv, int hard)
{
	char path[256];
	long r;

	if (argc < 3) {
		say("usage: hostile %s DIR", hard ? "hardlink" : "symlink");
		return EXIT_USAGE;
	}
	snprintf(path, sizeof(path), "%s/sb-%slink-%d", argv[2], hard ? "hard" : "sym", (int)getpid());
	if (hard)
		r = syscall(SYS_link, "/etc/passwd", path);
	else
		r = syscall(SYS_symlink, "/etc/passwd", path);
	/* creating a symlink is not an escape by itself; reading through it is */
	if (r < 0)
		say("%s(/etc/passwd, %s): %s", hard ? "link" : "symlink", path, errname(errno));
	else
		say("%s(/etc/passwd, %s): created", hard ? "link" : "symlink", path);
	try_read(hard ? "via hardlink" : "via symlink", path);
	if (r >= 0)
		unlink(path);
	return finish();
}

/* The link escape through a *relative* path: the supervisor must resolve it
 * from the plugin's working directory in the plugin's own root. */
static int
mode_symlink_rel(int argc, char **argv)
{
	char name[64];
	long r;

	if (argc < 3) {
		say("usage: hostile symlink-rel DIR");
		return EXIT_USAGE;
	}
	if (chdir(argv[2]) != 0) {
		say("symlink-rel: chdir(%s): %s", argv[2], errname(errno));
		return EXIT_SETUP;
	}
	snprintf(name, sizeof(name), "sb-rellink-%d", (int)getpid());
	r = syscall(SYS_symlink, "/etc/passwd", name);
	say("symlink(/etc/passwd, %s): %s", name, r < 0 ? errname(errno) : "created");
	try_read("via relative symlink", name);
	if (r >= 0)
		unlink(name);
	return finish();
}

/* Well-behaved: create PATH, write, read it back (the private /tmp works). */
static int
mode_scratch(int argc, char **argv)
{
	char buf[32];
	ssize_t n;
	int fd;

	if (argc < 3) {
		say("usage: hostile scratch PATH");
		return EXIT_USAGE;
	}
	fd = open(argv[2], O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, "scratch\n", 8) != 8 || lseek(fd, 0, SEEK_SET) != 0 ||
	    (n = read(fd, buf, sizeof(buf))) != 8 || memcmp(buf, "scratch\n", 8) != 0) {
		say("scratch: %s: %s", argv[2], errname(errno));
		return EXIT_SETUP;
	}
	close(fd);
	say("scratch: ok");
	return EXIT_HELD;
}

static int
mode_parent_proc(int argc, char **argv)
{
	static const char *const files[] = { "environ", "cmdline", "maps" };
	pid_t p = target_pid(argc, argv, 2);
	char path[64];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "/proc/%d/%s", (int)p, files[i]);
		try_read("parent", path);
	}
	return finish();
}

/* --- resources ---------------------------------------------------------------- */

static int
mode_alloc(int argc, char **argv)
{
	size_t mb, len, off;
	char *p;

	if (argc < 3 || (mb = (size_t)strtoul(argv[2], NULL, 10)) == 0) {
		say("usage: hostile alloc MB");
		return EXIT_USAGE;
	}
	len = mb << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		say("alloc: mmap %zu MB: %s", mb, errname(errno));
		return errno == EPERM ? EXIT_SETUP : EXIT_LIMITED;
	}
	for (off = 0; off < len; off += 4096)
		p[off] = 1;
	say("alloc: %zu MB allocated and touched", mb);
	return EXIT_HELD;
}

static int
mode_spin(void)
{
	volatile unsigned long n = 0;

	for (;;)
		n++;
	return EXIT_HELD;
}

static uint64_t
mono_ms_hostile(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t
cpu_ms_self(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* CPU share with children: N children (each in its own session when
 * "setsid" is given, out of the plugin's process group) and the plugin
 * spin for MS milliseconds of wall time; each child exits with its CPU
 * time, the parent prints "spin-kids: total cpu_ms=X wall_ms=Y". */
static int
mode_spin_kids(int argc, char **argv)
{
	int n = argc > 2 ? atoi(argv[2]) : 2, ms = argc > 3 ? atoi(argv[3]) : 3000, i;
	int own_session = argc > 4 && !strcmp(argv[4], "setsid");
	int pfd[2];
	uint64_t total = 0, t0 = mono_ms_hostile();
	volatile unsigned long spin = 0;

	if (n < 1 || n > 16 || ms < 100 || ms > 20000 || pipe(pfd) != 0) {
		say("usage: hostile spin-kids N(1-16) MS(100-20000) [setsid]");
		return EXIT_USAGE;
	}
	for (i = 0; i < n; i++) {
		long r = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);

		if (r < 0) {
			say("spin-kids: clone: %s", errname(errno));
			return EXIT_SETUP;
		}
		if (r == 0) {
			uint64_t c;

			if (own_session)
				(void)setsid();
			while (mono_ms_hostile() - t0 < (uint64_t)ms)
				spin++;
			c = cpu_ms_self();
			(void)!write(pfd[1], &c, sizeof(c));
			syscall(SYS_exit, 0);
		}
	}
	close(pfd[1]);
	while (mono_ms_hostile() - t0 < (uint64_t)ms)
		spin++;
	for (i = 0; i < n; i++) {
		uint64_t c;

		if (read(pfd[0], &c, sizeof(c)) == (ssize_t)sizeof(c))
			total += c;
		wait(NULL);
	}
	total += cpu_ms_self();
	say("spin-kids: total cpu_ms=%llu wall_ms=%llu", (unsigned long long)total,
	    (unsigned long long)(mono_ms_hostile() - t0));
	return EXIT_HELD;
}

/* Leave the sandbox behind: a child calls setsid(2) and double-forks a
 * grandchild that sleeps MS milliseconds, orphaned, in its own session. */
static int
mode_orphan(int argc, char **argv)
{
	int ms = argc > 2 ? atoi(argv[2]) : 5000;
	long r;

	if (ms < 100 || ms > 60000) {
		say("usage: hostile orphan MS(100-60000)");
		return EXIT_USAGE;
	}
	r = syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L);
	if (r < 0) {
		say("orphan: clone: %s", errname(errno));
		return EXIT_SETUP;
	}
	if (r == 0) {
		long s = syscall(SYS_setsid);

		say("orphan: setsid: %s", s < 0 ? errname(errno) : "ok");
		if (syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L) == 0) {
			struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

			nanosleep(&ts, NULL);
		}
		syscall(SYS_exit, 0);
	}
	reap(r);
	say("orphan: left a grandchild behind");
	return EXIT_HELD;
}

static int
mode_flood(int argc, char **argv)
{
	static char buf[FLOOD_CHUNK];
	unsigned long long total = 0, cap;
	ssize_t n;

	cap = (argc > 2 ? strtoull(argv[2], NULL, 10) : 64ULL) << 20;
	memset(buf, 'A', sizeof(buf));
	buf[sizeof(buf) - 1] = '\n';
	while (total < cap) {
		n = write(1, buf, sizeof(buf));
		if (n < 0) {
			say("flood: write after %llu bytes: %s", total, errname(errno));
			return EXIT_LIMITED;
		}
		total += (unsigned long long)n;
	}
	(void)!write(2, "flood: wrote everything\n", 24);
	return EXIT_HELD;
}

static int
mode_bigfile(int argc, char **argv)
{
	static char buf[FLOOD_CHUNK];
	const char *path = argc > 3 ? argv[3] : "/tmp/sb-bigfile";
	unsigned long long total = 0, cap;
	ssize_t n;
	int fd;

	if (argc < 3 || (cap = strtoull(argv[2], NULL, 10) << 20) == 0) {
		say("usage: hostile bigfile MB [PATH]");
		return EXIT_USAGE;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0) {
		say("bigfile: open(%s): %s", path, errname(errno));
		return EXIT_SETUP;
	}
	memset(buf, 'B', sizeof(buf));
	while (total < cap) {
		n = write(fd, buf, sizeof(buf));
		if (n <= 0) {
			say("bigfile: write after %llu bytes: %s", total, n < 0 ? errname(errno) : "0");
			unlink(path);
			return EXIT_LIMITED;
		}
		total += (unsigned long long)n;
	}
	say("bigfile: wrote %llu bytes", total);
	unlink(path);
	return EXIT_HELD;
}

static int
mode_fds(void)
{
	long n = 0, r;

	while (n < FDS_MAX) {
		r = syscall(SYS_dup, 0L);
		if (r < 0) {
			say("fds: %ld descriptors opened, then %s", n, errname(errno));
			return EXIT_LIMITED;
		}
		n++;
	}
	say("fds: %ld descriptors opened, never stopped", n);
	return EXIT_ESCAPED;
}

/* --- benchmark helper ---------------------------------------------------------- */

/* Time N calls of one syscall kind inside the sandbox: getpid (allowed, the
 * baseline), socket (blocked: one user-notification round trip each),
 * open-allowed (open+close of a file under /tmp) and open-denied (open of
 * /etc/passwd, refused).  clock_gettime goes through the vDSO, no syscall. */
static int
mode_bench(int argc, char **argv)
{
	struct timespec a, b;
	const char *kind;
	long i, n, r;
	double ns;
	int fd;

	if (argc < 4 || (n = atol(argv[3])) <= 0 || n > 10000000) {
		say("usage: hostile bench getpid|socket|open-allowed|open-denied N");
		return EXIT_USAGE;
	}
	kind = argv[2];
	if (!strcmp(kind, "open-allowed")) {
		fd = open("/tmp/sb-bench-file", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd < 0) {
			say("bench: create /tmp/sb-bench-file: %s", errname(errno));
			return EXIT_SETUP;
		}
		close(fd);
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++) {
		if (!strcmp(kind, "getpid")) {
			r = syscall(SYS_getpid);
		} else if (!strcmp(kind, "socket")) {
			r = syscall(SYS_socket, (long)AF_INET, (long)SOCK_STREAM, 0L);
		} else if (!strcmp(kind, "open-allowed")) {
			r = open("/tmp/sb-bench-file", O_RDONLY);
		} else if (!strcmp(kind, "open-denied")) {
			r = open("/etc/passwd", O_RDONLY);
		} else {
			say("bench: unknown kind %s", kind);
			return EXIT_USAGE;
		}
		if (r >= 0 && strcmp(kind, "getpid") != 0)
			close((int)r);
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
	say("bench %s: %ld calls, last %s, %.0f ns/call", kind, n,
	    r >= 0 ? "succeeded" : errname(errno), ns);
	if (!strcmp(kind, "open-allowed"))
		unlink("/tmp/sb-bench-file");
	return EXIT_HELD;
}

/* ------------------------------------------------------------------------------ */

int
main(int argc, char **argv)
{
	const char *m;

	self_path = argv[0];
	if (argc < 2) {
		say("usage: hostile MODE [ARGS...] (see hostile.c)");
		return EXIT_USAGE;
	}
	m = argv[1];
	if (!strcmp(m, "exec-sh")) return mode_exec_sh();
	if (!strcmp(m, "exec-memfd")) return mode_exec_memfd();
	if (!strcmp(m, "fork")) return mode_fork();
	if (!strcmp(m, "vfork")) return mode_vfork();
	if (!strcmp(m, "clone")) return mode_clone();
	if (!strcmp(m, "clone3")) return mode_clone3();
	if (!strcmp(m, "forkbomb")) return mode_forkbomb();
	if (!strcmp(m, "socket")) return mode_socket(argc, argv);
	if (!strcmp(m, "bind")) return mode_bind();
	if (!strcmp(m, "connect")) return mode_connect(argc, argv);
	if (!strcmp(m, "io_uring")) return mode_io_uring();
	if (!strcmp(m, "ptrace-traceme")) return mode_ptrace_traceme();
	if (!strcmp(m, "ptrace-attach")) return mode_ptrace_attach(argc, argv);
	if (!strcmp(m, "pvm-read")) return mode_pvm(argc, argv, 0);
	if (!strcmp(m, "pvm-write")) return mode_pvm(argc, argv, 1);
	if (!strcmp(m, "read")) return mode_read(argc, argv);
	if (!strcmp(m, "write")) return mode_write(argc, argv);
	if (!strcmp(m, "symlink")) return mode_link(argc, argv, 0);
	if (!strcmp(m, "hardlink")) return mode_link(argc, argv, 1);
	if (!strcmp(m, "symlink-rel")) return mode_symlink_rel(argc, argv);
	if (!strcmp(m, "scratch")) return mode_scratch(argc, argv);
	if (!strcmp(m, "clone-ns")) return mode_clone_ns(argc, argv);
	if (!strcmp(m, "undumpable-read") && argc > 2) {
		/* hide our memory from an unprivileged supervisor, then read
		 * outside the policy: the attempt must still be reported */
		verdict("prctl(PR_SET_DUMPABLE, 0)", prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 ? 0 : -1);
		escaped = 0; /* not an escape by itself */
		try_read("undumpable read", argv[2]);
		return finish();
	}
	if (!strcmp(m, "badptr-open")) {
		/* a path the supervisor cannot read: fail closed, reported */
		verdict("open(unmapped pointer)", syscall(SYS_open, (long)0x10, (long)O_RDONLY, 0L));
		return finish();
	}
	if (!strcmp(m, "open_tree_attr")) {
		/* Linux 6.15, newer than libseccomp 2.6's table: open_tree(2)
		 * plus mount attributes (OPEN_TREE_CLONE = 1) */
		verdict("open_tree_attr", syscall(467, AT_FDCWD, "/", 1L, 0L, 0L));
		return finish();
	}
	if (!strcmp(m, "mount")) return mode_mount();
	if (!strcmp(m, "unshare")) return mode_unshare();
	if (!strcmp(m, "setns")) return mode_setns();
	if (!strcmp(m, "chroot")) return mode_chroot();
	if (!strcmp(m, "bpf")) return mode_bpf();
	if (!strcmp(m, "perf_event_open")) return mode_perf_event_open();
	if (!strcmp(m, "userfaultfd")) return mode_userfaultfd();
	if (!strcmp(m, "keyctl")) return mode_keyctl();
	if (!strcmp(m, "kexec_load")) return mode_kexec_load();
	if (!strcmp(m, "init_module")) return mode_init_module();
	if (!strcmp(m, "personality")) return mode_personality();
	if (!strcmp(m, "modify_ldt")) return mode_modify_ldt();
	if (!strcmp(m, "seccomp")) return mode_seccomp();
	if (!strcmp(m, "prctl-seccomp")) return mode_prctl_seccomp();
	if (!strcmp(m, "kill")) return mode_kill(argc, argv);
	if (!strcmp(m, "tiocsti")) return mode_tiocsti();
	if (!strcmp(m, "int80")) return mode_int80();
	if (!strcmp(m, "x32")) return mode_x32();
	if (!strcmp(m, "alloc")) return mode_alloc(argc, argv);
	if (!strcmp(m, "spin")) return mode_spin();
	if (!strcmp(m, "spin-kids")) return mode_spin_kids(argc, argv);
	if (!strcmp(m, "orphan")) return mode_orphan(argc, argv);
	if (!strcmp(m, "flood")) return mode_flood(argc, argv);
	if (!strcmp(m, "bigfile")) return mode_bigfile(argc, argv);
	if (!strcmp(m, "fds")) return mode_fds();
	if (!strcmp(m, "parent-proc")) return mode_parent_proc(argc, argv);
	if (!strcmp(m, "bench")) return mode_bench(argc, argv);
	if (!strcmp(m, "exit") && argc > 2) return atoi(argv[2]);
	if (!strcmp(m, "segv")) { volatile int *volatile bad = NULL; *bad = 1; return EXIT_SETUP; }
	if (!strcmp(m, "escaped-exec")) { say("ESCAPED: exec succeeded"); return EXIT_ESCAPED; }
	say("unknown mode %s", m);
	return EXIT_USAGE;
}
