/* see privsep.h */
#include "agent/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <poll.h>
#include <unistd.h>

#include "base/timefmt.h"
#include "sandbox/landlock.h"
#include "sandbox/policy.h"

#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* ---- capabilities -------------------------------------------------------- */

/* Empty the bounding set.  Needs CAP_SETPCAP (in the current user
 * namespace).  The loop ends at the first capability the kernel does not
 * know (EINVAL), so newer kernels with more capabilities are covered. */
static int
drop_bounding(void)
{
	int cap;

	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				return 0;
			return -errno;
		}
		if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) != 0)
			return -errno;
	}
	return 0;
}

static int
clear_caps(void)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	/* Ambient first: it cannot hold what permitted lacks, but clear it
	 * explicitly so the result does not depend on the order of events. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL)
		return -errno;
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) != 0)
		return -errno;
	/* Read back: trust what the kernel says, not what we asked. */
	if (syscall(SYS_capget, &h, d) != 0)
		return -errno;
	if (d[0].effective | d[0].permitted | d[0].inheritable |
	    d[1].effective | d[1].permitted | d[1].inheritable)
		return -EPERM;
	return 0;
}

static int
write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int r = 0;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	if (n < 0)
		r = -errno;
	else if ((size_t)n != strlen(text))
		r = -EIO;
	close(fd);
	return r;
}

/* Unprivileged start: a user namespace that maps only our own ids gives us
 * capabilities *inside it*, which is what emptying the bounding set needs;
 * the host sees the same uid as before.  Returns 0 or -errno (the caller
 * continues without it: "with what the kernel allows"). */
static int
enter_own_userns(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();
	char line[64];
	int r;

	/* A process that changed uid (e.g. root dropping to nobody before
	 * starting us) is not dumpable, which makes /proc/self/uid_map
	 * root-owned and unwritable; dumpable is cleared again in step 4. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0)
		return -errno;
	if (unshare(CLONE_NEWUSER) != 0)
		return -errno;
	if ((r = write_proc("/proc/self/setgroups", "deny")) != 0)
		return r;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	if ((r = write_proc("/proc/self/uid_map", line)) != 0)
		return r;
	snprintf(line, sizeof(line), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	return write_proc("/proc/self/gid_map", line);
}

/* ---- seccomp --------------------------------------------------------------- */

/* What the worker may call.  Measured with strace -f over the unit tests of
 * the code the worker runs (store: spool, journal; tls; http; event), minus
 * what only those tests' harnesses use (fork, wait4, pipe, mount, unshare,
 * socketpair, execve), plus what musl needs on error and idle paths
 * (tkill for abort, restart_syscall, clock_nanosleep).  docs/agent.md. */
static const int worker_allow[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv), SCMP_SYS(pwritev),
	SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(truncate), SCMP_SYS(fstatfs), SCMP_SYS(statfs),
	SCMP_SYS(fstat), SCMP_SYS(stat), SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(rename), SCMP_SYS(renameat), SCMP_SYS(renameat2),
	SCMP_SYS(rmdir), SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(ftruncate),
	SCMP_SYS(fallocate), SCMP_SYS(getdents64), SCMP_SYS(fcntl), SCMP_SYS(flock),
	SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3), SCMP_SYS(fchmod), SCMP_SYS(umask),
	SCMP_SYS(getcwd), SCMP_SYS(readlink),
	SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(brk), SCMP_SYS(madvise),
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(getsockopt), SCMP_SYS(setsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername), SCMP_SYS(sendto), SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(shutdown),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(timerfd_create), SCMP_SYS(timerfd_settime),
	SCMP_SYS(timerfd_gettime),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres), SCMP_SYS(gettimeofday),
	SCMP_SYS(time), SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid), SCMP_SYS(getresuid),
	SCMP_SYS(getresgid), SCMP_SYS(getgroups), SCMP_SYS(uname), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask), SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigtimedwait), SCMP_SYS(sigaltstack),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(set_tid_address),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/* Kernel surface whose use by the worker can only mean compromise: the
 * process dies instead of getting an error it could probe with. */
static const int worker_kill[] = {
	SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(fork), SCMP_SYS(vfork),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv),
	SCMP_SYS(process_vm_writev), SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter),
	SCMP_SYS(io_uring_register), SCMP_SYS(bpf), SCMP_SYS(mount), SCMP_SYS(umount2),
	SCMP_SYS(pivot_root), SCMP_SYS(chroot), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(unshare),
	SCMP_SYS(setns), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
	SCMP_SYS(open_by_handle_at), SCMP_SYS(name_to_handle_at), SCMP_SYS(memfd_create),
};

int
privsep_worker_filter(void)
{
	scmp_filter_ctx ctx;
	size_t i;
	int r = 0;
	pid_t pid = getpid(), tid = (pid_t)syscall(SYS_gettid);

	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (ctx == NULL)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(worker_allow) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, worker_allow[i], 0);
	for (i = 0; i < ARRAY_SIZE(worker_kill) && r == 0; i++)
		r = seccomp_rule_add(ctx, SCMP_ACT_KILL_PROCESS, worker_kill[i], 0);
	if (r != 0)
		goto out;
	/* W^X: no executable mappings, so injected code cannot be made runnable. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) != 0)
		goto out;
	/* Only the socket families the worker speaks: TCP/UDP to the
	 * orchestrator (and DNS), unix for local sockets.  No netlink, packet,
	 * vsock, alg, ... (the usual kernel attack surface). */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0))) != 0)
		goto out;
	/* musl's stdio asks TIOCGWINSZ (isatty); FIONREAD/FIONBIO for sockets. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, TIOCGWINSZ, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONREAD, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
	    SCMP_A1(SCMP_CMP_EQ, FIONBIO, 0))) != 0)
		goto out;
	/* Signals only to itself (abort() raises SIGABRT with tkill). */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)tid, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pid, 0))) != 0 ||
	    (r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pid, 0))) != 0)
		goto out;
	/* getrlimit through prlimit64 (musl), never setting one. */
	if ((r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
	    SCMP_A2(SCMP_CMP_EQ, 0, 0))) != 0)
		goto out;
	r = seccomp_load(ctx);
out:
	seccomp_release(ctx);
	return r;
}

/* ---- restriction ------------------------------------------------------------ */

static int
apply_landlock(const struct privsep_spec *spec, char err[PRIVSEP_ERR_LEN])
{
	struct sandbox_policy p;
	char lerr[SANDBOX_ERR_LEN];
	size_t i;
	int abi = sandbox_landlock_abi(), fd, r;

	if (abi < 1) {
		if (spec->require_landlock) {
			snprintf(err, PRIVSEP_ERR_LEN, "landlock required but not available");
			return -EOPNOTSUPP;
		}
		return 0;
	}
	/* A policy used only as the list of paths (not owned: never freed).
	 * network FULL: the worker must reach the orchestrator by TCP; its
	 * socket families are limited by seccomp instead. */
	memset(&p, 0, sizeof(p));
	p.network = SANDBOX_NET_FULL;
	p.fs[p.n_fs].path = (char *)spec->state_dir;
	p.fs[p.n_fs++].write = true;
	if (spec->log_dir != NULL) {
		p.fs[p.n_fs].path = (char *)spec->log_dir;
		p.fs[p.n_fs++].write = true;
	}
	for (i = 0; i < spec->n_ro_paths && i < PRIVSEP_MAX_RO_PATHS; i++) {
		p.fs[p.n_fs].path = (char *)spec->ro_paths[i];
		p.fs[p.n_fs++].write = false;
	}
	fd = sandbox_landlock_build(&p, abi, NULL, lerr);
	if (fd < 0) {
		snprintf(err, PRIVSEP_ERR_LEN, "%s", lerr);
		return fd;
	}
	r = sandbox_landlock_restrict(fd, 0);
	close(fd);
	if (r != 0)
		snprintf(err, PRIVSEP_ERR_LEN, "landlock_restrict_self: %s", strerror(-r));
	return r;
}

int
privsep_restrict_self(const struct privsep_spec *spec, char err[PRIVSEP_ERR_LEN])
{
	int r;

	err[0] = '\0';
	if (spec->state_dir == NULL || spec->state_dir[0] != '/' ||
	    (spec->log_dir != NULL && spec->log_dir[0] != '/') ||
	    spec->n_ro_paths > PRIVSEP_MAX_RO_PATHS) {
		snprintf(err, PRIVSEP_ERR_LEN, "state_dir and log_dir must be absolute paths");
		return -EINVAL;
	}
	if (geteuid() == 0) {
		if (spec->uid == 0 || spec->gid == 0) {
			snprintf(err, PRIVSEP_ERR_LEN, "the worker must not run as uid or gid 0");
			return -EINVAL;
		}
		/* Bounding set while CAP_SETPCAP is still held, then identity
		 * (setresuid from 0 clears permitted/effective: no KEEPCAPS). */
		if ((r = drop_bounding()) != 0) {
			snprintf(err, PRIVSEP_ERR_LEN, "dropping the bounding set: %s", strerror(-r));
			return r;
		}
		if (setgroups(0, NULL) != 0 || setresgid(spec->gid, spec->gid, spec->gid) != 0 ||
		    setresuid(spec->uid, spec->uid, spec->uid) != 0) {
			r = -errno;
			snprintf(err, PRIVSEP_ERR_LEN, "switching to %u:%u: %s", (unsigned)spec->uid,
			    (unsigned)spec->gid, strerror(errno));
			return r;
		}
		if (setresuid(0, 0, 0) == 0) { /* must be impossible now */
			snprintf(err, PRIVSEP_ERR_LEN, "uid 0 could be regained");
			return -EPERM;
		}
	} else if (enter_own_userns() == 0) {
		if ((r = drop_bounding()) != 0) {
			snprintf(err, PRIVSEP_ERR_LEN, "dropping the bounding set: %s", strerror(-r));
			return r;
		}
	}
	if ((r = clear_caps()) != 0) {
		snprintf(err, PRIVSEP_ERR_LEN, "clearing capabilities: %s", strerror(-r));
		return r;
	}
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		r = -errno;
		snprintf(err, PRIVSEP_ERR_LEN, "prctl: %s", strerror(errno));
		return r;
	}
	if ((r = apply_landlock(spec, err)) != 0)
		return r;
	if ((r = privsep_worker_filter()) != 0) {
		snprintf(err, PRIVSEP_ERR_LEN, "loading the worker's seccomp filter: %s", strerror(-r));
		return r;
	}
	return 0;
}

int
privsep_restrict_spawner(char err[PRIVSEP_ERR_LEN])
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	uint64_t eff, prm, inh, keep = PRIVSEP_SPAWNER_CAPS;
	int cap;

	err[0] = '\0';
	if (syscall(SYS_capget, &h, d) != 0) {
		snprintf(err, PRIVSEP_ERR_LEN, "capget: %s", strerror(errno));
		return -errno;
	}
	prm = (uint64_t)d[0].permitted | (uint64_t)d[1].permitted << 32;
	if (prm & (1ull << 8)) { /* CAP_SETPCAP: we can shape the bounding set */
		for (cap = 0; cap < 64; cap++) {
			if (keep & (1ull << cap))
				continue;
			if (prctl(PR_CAPBSET_READ, (unsigned long)cap, 0, 0, 0) < 0)
				break; /* EINVAL: past the last capability */
			if (prctl(PR_CAPBSET_DROP, (unsigned long)cap, 0, 0, 0) != 0) {
				snprintf(err, PRIVSEP_ERR_LEN, "dropping capability %d: %s", cap, strerror(errno));
				return -errno;
			}
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) {
		snprintf(err, PRIVSEP_ERR_LEN, "clearing ambient capabilities: %s", strerror(errno));
		return -errno;
	}
	eff = ((uint64_t)d[0].effective | (uint64_t)d[1].effective << 32) & keep;
	prm &= keep;
	inh = 0;
	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = d[1].inheritable = (uint32_t)inh;
	if (syscall(SYS_capset, &h, d) != 0) {
		snprintf(err, PRIVSEP_ERR_LEN, "capset: %s", strerror(errno));
		return -errno;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		snprintf(err, PRIVSEP_ERR_LEN, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- fork --------------------------------------------------------------- */

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Close every descriptor >= 3 except those in keep[] (n <= PRIVSEP_MAX_FILES + 1). */
static int
close_others(const int *keep, size_t n)
{
	int sorted[PRIVSEP_MAX_FILES + 1];
	unsigned lo = 3;
	size_t i, m = 0;

	for (i = 0; i < n; i++)
		if (keep[i] >= 3)
			sorted[m++] = keep[i];
	qsort(sorted, m, sizeof(sorted[0]), cmp_int);
	for (i = 0; i <= m; i++) {
		unsigned hi = i < m ? (unsigned)sorted[i] : ~0u;
		if (hi > lo && syscall(SYS_close_range, lo, hi - 1, 0) != 0)
			return -errno;
		if (i < m)
			lo = (unsigned)sorted[i] + 1;
	}
	return 0;
}

/*
 * Make descriptors 0-2 valid, so that no file opened later lands there:
 * stdin always becomes an empty source, 1 and 2 only if they are closed.
 * /dev/null when it exists; in an empty root (initramfs, FROM scratch, a
 * chroot without /dev) the read end of a pipe whose write end is closed
 * instead: reads give EOF at once, and writes to it (1 and 2, when they were
 * closed) fail with EBADF, which is what a closed stream should do.  Says on
 * stderr (if it is open) that /dev/null was missing.  Returns 0 or -errno.
 */
static int
std_fds_valid(void)
{
	int src = open("/dev/null", O_RDWR | O_CLOEXEC), pv[2], fd, e = 0;
	int from_pipe = src < 0;

	if (from_pipe) {
		e = errno;
		if (pipe2(pv, O_CLOEXEC) != 0)
			return -errno;
		close(pv[1]);
		src = pv[0];
	}
	for (fd = 0; fd < 3; fd++)
		if ((fd == 0 || fcntl(fd, F_GETFD) < 0) && fd != src && dup2(src, fd) < 0) {
			int r = -errno;
			close(src);
			return r;
		}
	if (src >= 3)
		close(src);
	if (from_pipe)
		dprintf(2, "stavily worker: /dev/null: %s; stdin is an empty pipe instead\n",
		    strerror(e));
	return 0;
}

static void
worker_child(const struct privsep_spec *spec, int sock)
{
	int fds[PRIVSEP_MAX_FILES], keep[PRIVSEP_MAX_FILES + 1];
	char err[PRIVSEP_ERR_LEN];
	size_t i, n = spec->n_read_files;
	int devnull, fd;

	/* If the spawner was started with 0-2 closed, the socket may sit there
	 * and a file opened below could land there: move the socket up and make
	 * 0-2 valid first (stdin /dev/null; 1 and 2 /dev/null only if closed). */
	if (sock < 3) {
		fd = fcntl(sock, F_DUPFD_CLOEXEC, 3);
		if (fd < 0)
			_exit(PRIVSEP_EXIT_RESTRICT);
		close(sock);
		sock = fd;
	}
	devnull = std_fds_valid();
	if (devnull < 0) {
		dprintf(2, "stavily worker: cannot make descriptors 0-2 valid: %s\n",
		    strerror(-devnull));
		_exit(PRIVSEP_EXIT_RESTRICT);
	}
	/* Acquire: everything to read later is opened while we still may. */
	for (i = 0; i < n; i++) {
		fds[i] = open(spec->read_files[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
		keep[i] = fds[i];
	}
	keep[n] = sock;
	if (close_others(keep, n + 1) != 0) {
		dprintf(2, "stavily worker: closing inherited descriptors: %s\n", strerror(errno));
		_exit(PRIVSEP_EXIT_RESTRICT);
	}
	/* Die with the spawner: an orphaned worker must not keep talking. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		_exit(PRIVSEP_EXIT_RESTRICT);
	/* Restrict, before any byte from the network. */
	if (privsep_restrict_self(spec, err) != 0) {
		dprintf(2, "stavily worker: cannot restrict itself: %s\n", err);
		_exit(PRIVSEP_EXIT_RESTRICT);
	}
	_exit(spec->main(sock, fds, n, spec->arg) & 0xff);
}

int
privsep_start_worker(const struct privsep_spec *spec, struct privsep_worker *w,
    char err[PRIVSEP_ERR_LEN])
{
	int sv[2];
	pid_t pid;
	int r;

	w->pid = 0;
	w->sock = -1;
	err[0] = '\0';
	if (spec->main == NULL || spec->n_read_files > PRIVSEP_MAX_FILES ||
	    spec->n_ro_paths > PRIVSEP_MAX_RO_PATHS || spec->state_dir == NULL) {
		snprintf(err, PRIVSEP_ERR_LEN, "invalid worker specification");
		return -EINVAL;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
		r = -errno;
		snprintf(err, PRIVSEP_ERR_LEN, "socketpair: %s", strerror(errno));
		return r;
	}
	fflush(NULL); /* no stdio buffer is written twice */
	pid = fork();
	if (pid < 0) {
		r = -errno;
		snprintf(err, PRIVSEP_ERR_LEN, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	if (pid == 0) {
		close(sv[0]);
		worker_child(spec, sv[1]);
	}
	close(sv[1]);
	w->pid = pid;
	w->sock = sv[0];
	return 0;
}

int
privsep_stop_worker(struct privsep_worker *w, unsigned grace_ms)
{
	uint64_t deadline = time_mono_ms() + grace_ms;
	int status = 0;
	pid_t r;

	if (w->sock >= 0)
		close(w->sock);
	w->sock = -1;
	if (w->pid <= 0)
		return -ECHILD;
	for (;;) {
		r = waitpid(w->pid, &status, WNOHANG);
		if (r == w->pid)
			break;
		if (r < 0 && errno != EINTR) {
			r = -errno;
			w->pid = 0;
			return r;
		}
		if (time_mono_ms() >= deadline) {
			kill(w->pid, SIGKILL);
			while ((r = waitpid(w->pid, &status, 0)) < 0 && errno == EINTR)
				;
			break;
		}
		poll(NULL, 0, 5);
	}
	w->pid = 0;
	return status;
}
