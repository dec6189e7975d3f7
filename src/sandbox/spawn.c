/* see spawn.h */
#include "sandbox/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/timefmt.h"
#include "sandbox/landlock.h"
#include "sandbox/rootfs.h"

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

/* <linux/seccomp.h> of Linux 6.6, newer than our 6.1 headers. */
#define SANDBOX_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#define SANDBOX_USER_NOTIF_FD_SYNC_WAKE_UP 1UL

/* Fixed descriptor numbers in the child before exec. */
#define CHILD_STATUS_FD 3
#define CHILD_LANDLOCK_FD 4
#define CHILD_FIRST_FREE 5

#define ENV_MAX 4
#define MAP_LEN 64
/* The #! line as the kernel reads it (BINPRM_BUF_SIZE). */
#define SHEBANG_MAX 256
#ifndef AT_EMPTY_PATH
#define AT_EMPTY_PATH 0x1000
#endif
#define SPAWN_EXEC_TIMEOUT_MS 10000
/* spawn_once: namespaces (auto) failed to set up, try without. */
#define SPAWN_RETRY_WITHOUT_NS (-2)

/* In MSG_NS's value, beside the enum sandbox_ns bits: the network namespace
 * was joined (sandbox_spawn_netns), not created. */
#define MSG_NS_NET_REUSED (1 << 30)

/* Messages on the status pipe: one write each (atomic, < PIPE_BUF). */
enum msg_kind {
	MSG_LISTENER = 1,    /* value: listener fd number in the child */
	MSG_NS,              /* value: enum sandbox_ns bits applied */
	MSG_CAPS,            /* value: 1 if the bounding set could be emptied */
	MSG_LANDLOCK,        /* value: 1 if restrict_self worked */
	MSG_FAIL_SETUP,      /* value: errno; a setup step failed */
	MSG_FAIL_EXEC,       /* value: errno of execve */
};
struct msg {
	int32_t kind;
	int32_t value;
	int32_t stage;       /* for MSG_FAIL_SETUP: which step (enum stage) */
};
enum stage {
	ST_SESSION, ST_FDS, ST_RLIMIT, ST_NS, ST_UIDMAP, ST_IDS, ST_CAPS, ST_NNP,
	ST_LANDLOCK, ST_SECCOMP, ST_ROOTFS,
};
static const char *const stage_names[] = {
	"setsid", "descriptors", "setrlimit", "namespaces", "uid/gid map", "setresuid/setresgid",
	"capabilities", "PR_SET_NO_NEW_PRIVS", "landlock", "seccomp", "minimal root (mounts)",
};

/* Everything the child needs, prepared by the parent: no allocation after
 * fork. */
struct child_plan {
	const struct sandbox_policy *p;
	const struct sandbox_filter *f;
	const char *program;
	const char *exec_path;           /* absolute: valid inside the minimal root too */
	int exec_src;                    /* the program (or its #! interpreter), opened by the
	                                  * parent: moved to SANDBOX_EXEC_FD and exec'd from there */
	char *const *argv;
	void *fbuf;                      /* prepared filter: the program arrives here, on the
	                                  * status socket (SANDBOX_BPF_MAX_BYTES) */
	char *envp[ENV_MAX + 1];
	int src_fds[CHILD_FIRST_FREE];   /* stdin, stdout, stderr, status, landlock (-1 = none) */
	int park;                        /* first fd above every source and target */
	struct rlimit rl[RLIM_NLIMITS];
	bool rl_set[RLIM_NLIMITS];
	int ns_flags;                    /* CLONE_NEW* to unshare in the plugin process */
	bool pidns;                      /* an init process runs in a new pid namespace */
	bool userns_in_clone;            /* CLONE_NEWUSER given with CLONE_NEWPID */
	int exit_fd;                     /* init -> parent: the plugin's wait status */
	int netns_fd;                    /* join it in init_main instead of CLONE_NEWNET; -1 = none */
	bool netns_joined;               /* set by init_main in its copy of the plan */
	const struct sandbox_rootfs *rootfs; /* minimal root, with CLONE_NEWNS */
	bool ns_required;
	bool drop_ids;                   /* setresuid to policy uid (started as root) */
	char uid_map[MAP_LEN], gid_map[MAP_LEN];
	int cap_last;
	bool landlock_required;
	unsigned landlock_flags;
	pid_t parent;
};

static void
child_msg(int kind, int value, int stage)
{
	struct msg m = { kind, value, stage };

	(void)!write(CHILD_STATUS_FD, &m, sizeof(m));
}

/* The capability and Landlock reports in one syscall: each message wakes
 * the parent, and when it shares our CPU every wake-up costs a pair of
 * context switches in the middle of the setup.  `landlock` < 0: none. */
static void
child_msg_layers(int caps_ok, int landlock)
{
	struct msg m[2] = { { MSG_CAPS, caps_ok, 0 }, { MSG_LANDLOCK, landlock, 0 } };
	struct iovec iov[2] = { { &m[0], sizeof(m[0]) }, { &m[1], sizeof(m[1]) } };
	struct mmsghdr mh[2];

	memset(mh, 0, sizeof(mh));
	mh[0].msg_hdr.msg_iov = &iov[0];
	mh[0].msg_hdr.msg_iovlen = 1;
	mh[1].msg_hdr.msg_iov = &iov[1];
	mh[1].msg_hdr.msg_iovlen = 1;
	(void)sendmmsg(CHILD_STATUS_FD, mh, landlock < 0 ? 1 : 2, MSG_NOSIGNAL);
}

static _Noreturn void
child_fail(int stage, int err)
{
	child_msg(MSG_FAIL_SETUP, err, stage);
	_exit(SANDBOX_SPAWN_SETUP);
}

static int
write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	size_t len = strlen(s);

	if (fd < 0)
		return -errno;
	n = write(fd, s, len);
	close(fd);
	return n == (ssize_t)len ? 0 : -EIO;
}

int
sandbox_loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		r = -errno;
	else if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
			r = -errno;
		else if (!(ifr.ifr_flags & IFF_UP))
			r = -ENETDOWN;
	}
	close(s);
	return r;
}

bool
sandbox_netns_joinable(const struct sandbox_policy *p, const struct sandbox_probe *pr)
{
	return geteuid() == 0 && pr->namespaces && p->namespaces != SANDBOX_NS_OFF &&
	    p->network != SANDBOX_NET_FULL && p->uid != 0 && sandbox_filter_denies(p, SYS_socket);
}

static int write_maps(const struct child_plan *pl);

static _Noreturn void
child_main(const struct child_plan *pl, bool under_init)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	struct sigaction sa;
	sigset_t all;
	int i, r, caps_ok = 1, listener;

	/* 1. new session: no controlling terminal, own process group.  Under
	 * our init the session is the init's (so that the supervisor stops and
	 * kills both through one process group). */
	if (!under_init && setsid() < 0)
		_exit(SANDBOX_SPAWN_SETUP);
	/* 2. die with the supervisor (or our init); if it already died, stop. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 ||
	    getppid() != (under_init ? 1 : pl->parent))
		_exit(SANDBOX_SPAWN_SETUP);
	/* 3. descriptors: park the sources above every target, then place them
	 * at 0..4 and the program at SANDBOX_EXEC_FD, then close everything
	 * else.  The soft RLIMIT_NOFILE may be below those numbers: raise it
	 * to the hard limit for now (step 6 sets the plugin's). */
	{
		struct rlimit nofile;

		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &nofile);
		}
	}
	for (i = 0; i < CHILD_FIRST_FREE; i++)
		if (pl->src_fds[i] >= 0 && dup2(pl->src_fds[i], pl->park + i) < 0)
			_exit(SANDBOX_SPAWN_SETUP);
	if (dup2(pl->exec_src, pl->park + CHILD_FIRST_FREE) < 0)
		_exit(SANDBOX_SPAWN_SETUP);
	for (i = 0; i < CHILD_FIRST_FREE; i++)
		if (pl->src_fds[i] >= 0 && dup2(pl->park + i, i) < 0)
			_exit(SANDBOX_SPAWN_SETUP);
	/* dup2 clears FD_CLOEXEC: set it again, so that the plugin never
	 * holds the descriptor (the exec closes it). */
	if (dup2(pl->park + CHILD_FIRST_FREE, SANDBOX_EXEC_FD) < 0 ||
	    fcntl(SANDBOX_EXEC_FD, F_SETFD, FD_CLOEXEC) != 0)
		child_fail(ST_FDS, errno); /* e.g. a hard RLIMIT_NOFILE <= 1000 */
	if (syscall(SYS_close_range, CHILD_FIRST_FREE, SANDBOX_EXEC_FD - 1, 0) != 0 ||
	    syscall(SYS_close_range, SANDBOX_EXEC_FD + 1, ~0U, 0) != 0)
		_exit(SANDBOX_SPAWN_SETUP);
	/* The status pipe and the ruleset must not survive exec. */
	if (fcntl(CHILD_STATUS_FD, F_SETFD, FD_CLOEXEC) != 0)
		_exit(SANDBOX_SPAWN_SETUP);
	if (pl->src_fds[CHILD_LANDLOCK_FD] >= 0)
		(void)fcntl(CHILD_LANDLOCK_FD, F_SETFD, FD_CLOEXEC);
	/* 4. signal dispositions and mask back to defaults. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (i = 1; i < _NSIG; i++)
		(void)sigaction(i, &sa, NULL);
	sigfillset(&all);
	(void)sigprocmask(SIG_UNBLOCK, &all, NULL);
	/* 5. the environment is pl->envp, passed to execve. */
	/* 6. rlimits (RLIMIT_NPROC after the uid change, step 8). */
	for (i = 0; i < RLIM_NLIMITS; i++)
		if (i != RLIMIT_NPROC && pl->rl_set[i] && setrlimit(i, &pl->rl[i]) != 0)
			child_fail(ST_RLIMIT, errno);
	/* 7. namespaces. */
	if (pl->ns_flags != 0) {
		int applied = 0;

		if (unshare(pl->ns_flags) == 0) {
			if (pl->ns_flags & CLONE_NEWUSER) {
				if (write_maps(pl) != 0)
					child_fail(ST_UIDMAP, errno);
				applied |= SANDBOX_NS_USER;
			}
			if (pl->ns_flags & CLONE_NEWNS) {
				/* Nothing we do here may propagate to the host;
				 * then the minimal root (rootfs.h). */
				if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
					child_fail(ST_NS, errno);
				if (pl->rootfs != NULL && (r = sandbox_rootfs_apply(pl->rootfs,
				    pl->src_fds[CHILD_LANDLOCK_FD] >= 0 ? CHILD_LANDLOCK_FD : -1)) != 0)
					child_fail(ST_ROOTFS, -r);
				applied |= SANDBOX_NS_MOUNT;
			}
			if (pl->ns_flags & CLONE_NEWIPC)
				applied |= SANDBOX_NS_IPC;
			if (pl->ns_flags & CLONE_NEWUTS) {
				(void)sethostname("sandbox", 7);
				applied |= SANDBOX_NS_UTS;
			}
			if (pl->ns_flags & CLONE_NEWNET) {
				/* best effort: without lo the plugin has no network */
				(void)sandbox_loopback_up();
				applied |= SANDBOX_NS_NET;
			}
		} else if (pl->ns_required) {
			child_fail(ST_NS, errno);
		}
		if (pl->pidns)
			applied |= SANDBOX_NS_PID;
		if (pl->netns_joined)
			applied |= SANDBOX_NS_NET | MSG_NS_NET_REUSED;
		if (pl->userns_in_clone)
			applied |= SANDBOX_NS_USER;
		child_msg(MSG_NS, applied, 0);
	}
	/* 8. capability bounding set, while we still hold CAP_SETPCAP (root, or
	 * owner of the new user namespace); then ids; then the rest. */
	for (i = 0; i <= pl->cap_last; i++)
		if (prctl(PR_CAPBSET_DROP, i, 0, 0, 0) != 0)
			caps_ok = 0;
	if (pl->drop_ids) {
		/* Raw syscalls: libc's set*id may try to synchronise threads,
		 * and this child has exactly one. */
		if (syscall(SYS_setgroups, 0, NULL) != 0)
			child_fail(ST_IDS, errno);
		if (syscall(SYS_setresgid, pl->p->gid, pl->p->gid, pl->p->gid) != 0)
			child_fail(ST_IDS, errno);
		if (syscall(SYS_setresuid, pl->p->uid, pl->p->uid, pl->p->uid) != 0)
			child_fail(ST_IDS, errno);
	}
	/* RLIMIT_NPROC counts every process of the real uid, system-wide, and
	 * the uid is shared (65534 runs other sandboxes and other software).
	 * Set before setresuid, a uid already over it would make the kernel
	 * fail our execve with EAGAIN (PF_NPROC_EXCEEDED): anyone running
	 * enough processes as that uid could stop every sandbox from
	 * starting.  Set now, it only bounds later forks. */
	if (pl->rl_set[RLIMIT_NPROC] && setrlimit(RLIMIT_NPROC, &pl->rl[RLIMIT_NPROC]) != 0)
		child_fail(ST_RLIMIT, errno);
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) != 0)
		child_fail(ST_CAPS, errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0)
		caps_ok = 0;
	/* 9. no new privileges: setuid binaries and file caps are inert. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail(ST_NNP, errno);
	/* 10. Landlock.  Then both reports at once (child_msg_layers). */
	if (pl->src_fds[CHILD_LANDLOCK_FD] >= 0) {
		r = sandbox_landlock_restrict(CHILD_LANDLOCK_FD, pl->landlock_flags);
		if (r != 0 && pl->landlock_required)
			child_fail(ST_LANDLOCK, -r);
		child_msg_layers(caps_ok, r == 0);
		close(CHILD_LANDLOCK_FD);
	} else {
		child_msg_layers(caps_ok, -1);
	}
	/* 11. seccomp, last: from here on every syscall is filtered.  A
	 * prepared filter's program is compiled by the parent meanwhile and
	 * arrives as one message on the status socket. */
	if (pl->fbuf != NULL) {
		struct sandbox_filter lf = *pl->f;
		ssize_t n;

		do
			n = read(CHILD_STATUS_FD, pl->fbuf, SANDBOX_BPF_MAX_BYTES);
		while (n < 0 && errno == EINTR);
		if (n <= 0 || n % (ssize_t)sizeof(struct sock_filter) != 0)
			child_fail(ST_SECCOMP, n == 0 ? EPIPE : EPROTO);
		lf.prog.filter = pl->fbuf;
		lf.prog.len = (unsigned short)(n / (ssize_t)sizeof(struct sock_filter));
		listener = sandbox_filter_load(&lf);
	} else {
		listener = sandbox_filter_load(pl->f);
	}
	if (listener < 0)
		child_fail(ST_SECCOMP, -listener);
	if (pl->f->user_notif) {
		char ack;
		ssize_t n;

		/* The listener is O_CLOEXEC: wait until the parent has taken
		 * it (pidfd_getfd) before the exec closes it.  Any answer
		 * means it has (even an EPERM for this read, which only the
		 * listener's holder can give); EOF means the parent is gone. */
		child_msg(MSG_LISTENER, listener, 0);
		do
			n = read(CHILD_STATUS_FD, &ack, 1);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			_exit(SANDBOX_SPAWN_SETUP);
	}
	/* 12. exec, from the descriptor the parent opened (and the agent
	 * hashed): the one exec shape the filter allows (filter.c).  The
	 * listener is O_CLOEXEC (kernel), as are the status pipe and
	 * SANDBOX_EXEC_FD: EOF on the pipe tells the parent the exec
	 * succeeded. */
	syscall(SYS_execveat, SANDBOX_EXEC_FD, "", pl->argv, pl->envp, AT_EMPTY_PATH);
	r = errno;
	child_msg(MSG_FAIL_EXEC, r, 0);
	_exit(r == ENOENT ? SANDBOX_SPAWN_NOTFOUND : SANDBOX_SPAWN_NOEXEC);
}

static int
write_maps(const struct child_plan *pl)
{
	int r;

	if ((r = write_file("/proc/self/setgroups", "deny")) != 0 ||
	    (r = write_file("/proc/self/uid_map", pl->uid_map)) != 0 ||
	    (r = write_file("/proc/self/gid_map", pl->gid_map)) != 0) {
		errno = -r;
		return r;
	}
	return 0;
}

/*
 * Pid 1 of the sandbox's pid namespace.  A plugin must not be pid 1: the
 * kernel ignores signals without a handler sent to an init from inside its
 * namespace (SIGXFSZ, SIGXCPU, SIGPIPE...), so limits would stop working.
 * This init forks the plugin, reaps orphans, and when the plugin exits
 * sends its wait status and rusage to the supervisor and exits, which
 * kills everything left in the namespace.  It runs none of the plugin's
 * code and holds only the exit pipe.
 */
static _Noreturn void
init_main(const struct child_plan *pl)
{
	struct sandbox_init_report rep;
	struct child_plan local;
	long pid;
	int status;

	if (setsid() < 0)
		_exit(SANDBOX_SPAWN_SETUP);
	/* Our parent is outside the namespace, so getppid() says 0 and cannot
	 * tell whether it died before the prctl; the supervisor's pidfd and
	 * the closed status pipe end the sandbox in that case anyway. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		_exit(SANDBOX_SPAWN_SETUP);
	if (pl->userns_in_clone && write_maps(pl) != 0) {
		struct msg m = { MSG_FAIL_SETUP, errno, ST_UIDMAP };

		(void)!write(pl->src_fds[3], &m, sizeof(m));
		_exit(SANDBOX_SPAWN_SETUP);
	}
	/* A network namespace to join (sandbox_spawn_netns): here, before the
	 * plugin process exists, so that it and everything it forks is in it
	 * from the start.  If the join fails the plugin unshares a fresh one,
	 * as without a namespace to join; the plan is our own copy now. */
	if (pl->netns_fd >= 0) {
		local = *pl;
		if (syscall(SYS_setns, pl->netns_fd, CLONE_NEWNET) == 0)
			local.netns_joined = true;
		else
			local.ns_flags |= CLONE_NEWNET;
		pl = &local;
	}
	pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
	if (pid < 0)
		_exit(SANDBOX_SPAWN_SETUP);
	if (pid == 0)
		child_main(pl, true);
	/* Keep only the exit pipe, as fd 0. */
	if (dup2(pl->exit_fd, 0) < 0)
		_exit(SANDBOX_SPAWN_SETUP);
	(void)syscall(SYS_close_range, 1, ~0U, 0);
	for (;;) {
		long w = syscall(SYS_wait4, -1, &status, __WALL, &rep.ru);

		if (w == pid) {
			rep.status = status;
			(void)!write(0, &rep, sizeof(rep));
			_exit(0);
		}
		if (w < 0 && errno != EINTR)
			_exit(SANDBOX_SPAWN_SETUP);
	}
}

/* The host pid of the init's only child (the plugin), from
 * /proc/INIT/task/INIT/children.  Returns it, or -errno. */
static pid_t
init_child_pid(pid_t init)
{
	char path[64], *s = NULL;
	size_t len;
	long v;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)init, (int)init);
	if ((r = file_read_all(path, 64, &s, &len)) != 0)
		return r;
	v = strtol(s, NULL, 10);
	free(s);
	return v > 0 ? (pid_t)v : -ESRCH;
}

/* The highest capability this kernel knows (what
 * /proc/sys/kernel/cap_last_cap says): PR_CAPBSET_READ fails with EINVAL
 * past it.  A binary search of a few prctl calls, once per process,
 * instead of a file read per spawn. */
static int
read_cap_last(void)
{
	static int cached;
	int lo = 0, hi = 63;

	if (cached > 0)
		return cached;
	while (lo < hi) {
		int mid = (lo + hi + 1) / 2;

		if (prctl(PR_CAPBSET_READ, mid, 0, 0, 0) >= 0)
			lo = mid;
		else
			hi = mid - 1;
	}
	cached = lo > 0 ? lo : 40;
	return cached;
}

static void
set_rl(struct child_plan *pl, int res, uint64_t v)
{
	pl->rl[res].rlim_cur = pl->rl[res].rlim_max = (rlim_t)v;
	pl->rl_set[res] = true;
}

void
sandbox_child_close(struct sandbox_child *c)
{
	if (c == NULL)
		return;
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->plugin_pidfd >= 0)
		close(c->plugin_pidfd);
	if (c->exit_fd >= 0)
		close(c->exit_fd);
	if (c->notify_fd >= 0)
		close(c->notify_fd);
	if (c->stdout_fd >= 0)
		close(c->stdout_fd);
	if (c->stderr_fd >= 0)
		close(c->stderr_fd);
	c->pidfd = c->plugin_pidfd = c->exit_fd = c->notify_fd = c->stdout_fd = c->stderr_fd = -1;
	(void)sandbox_cgroup_destroy(&c->cgroup);
}

/* Answer a notification that arrives before the exec completed.  Our own
 * pre-exec code makes no notified call (its execveat is the shape the
 * filter allows), so nothing is ever continued here. */
static void
answer_pre_exec(int notify_fd)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;

	memset(&req, 0, sizeof(req));
	if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
		return;
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	resp.error = -EPERM;
	(void)ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

/* Landlock rule for the inode `fd` names: the executed file stays
 * readable and executable even if its path now names another file. */
static int
landlock_rule_fd(int ruleset, int fd)
{
	struct {
		uint64_t allowed_access;
		int32_t parent_fd;
	} __attribute__((packed)) pb;

	pb.allowed_access = (1ull << 0) /* EXECUTE */ | (1ull << 2) /* READ_FILE */;
	pb.parent_fd = fd;
	return syscall(445 /* landlock_add_rule */, ruleset, 1 /* PATH_BENEATH */, &pb, 0) == 0 ? 0 :
	    -errno;
}

/*
 * A program that starts with "#!": the kernel would open the interpreter by
 * path and hand it the script's path, and a script cannot be exec'd from an
 * O_CLOEXEC descriptor at all (the interpreter would need /dev/fd/N).  We do
 * what the kernel does, in the parent: parse the line (interpreter, at most
 * one argument, as binfmt_script), open the interpreter, and exec *it* from
 * the descriptor with argv = { interpreter, [arg,] script path, argv[1..] }.
 * Returns 0 with *interp_fd and *new_argv set (free the argv), 1 if `fd` is
 * not a script, or one of enum sandbox_spawn_error with `err` set.
 */
static int
shebang(int fd, const char *script_path, char *const argv[], char line[SHEBANG_MAX + 1],
    int *interp_fd, char ***new_argv, char err[SANDBOX_ERR_LEN])
{
	char *s, *name, *arg = NULL, **av, head[2];
	ssize_t n = pread(fd, line, SHEBANG_MAX, 0);
	size_t argc = 0, k = 0, i;
	int ifd;

	if (n < 2 || line[0] != '#' || line[1] != '!')
		return 1;
	line[n] = '\0';
	if ((s = memchr(line, '\n', (size_t)n)) == NULL) {
		snprintf(err, SANDBOX_ERR_LEN, "%.100s: #! line longer than %d bytes", script_path, SHEBANG_MAX);
		return SANDBOX_SPAWN_NOEXEC;
	}
	*s = '\0';
	for (s = line + 2; *s == ' ' || *s == '\t'; s++)
		;
	name = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0') {
		*s++ = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		if (*s != '\0') {
			char *e = s + strlen(s);

			while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				*--e = '\0';
			arg = s;
		}
	}
	if (*name == '\0') {
		snprintf(err, SANDBOX_ERR_LEN, "%.100s: empty #! line", script_path);
		return SANDBOX_SPAWN_NOEXEC;
	}
	ifd = open(name, O_RDONLY | O_CLOEXEC);
	if (ifd < 0) {
		snprintf(err, SANDBOX_ERR_LEN, "%.100s: interpreter %.100s: %s", script_path, name, strerror(errno));
		return errno == ENOENT || errno == ENOTDIR ? SANDBOX_SPAWN_NOTFOUND : SANDBOX_SPAWN_NOEXEC;
	}
	if (pread(ifd, head, 2, 0) == 2 && head[0] == '#' && head[1] == '!') {
		snprintf(err, SANDBOX_ERR_LEN, "%.100s: interpreter %.100s is itself a script", script_path, name);
		close(ifd);
		return SANDBOX_SPAWN_NOEXEC;
	}
	while (argv[argc] != NULL)
		argc++;
	av = calloc(argc + 4, sizeof(*av));
	if (av == NULL) {
		snprintf(err, SANDBOX_ERR_LEN, "out of memory");
		close(ifd);
		return SANDBOX_SPAWN_SETUP;
	}
	av[k++] = name;
	if (arg != NULL)
		av[k++] = arg;
	av[k++] = (char *)script_path;
	for (i = 1; i < argc; i++)
		av[k++] = argv[i];
	av[k] = NULL;
	*interp_fd = ifd;
	*new_argv = av;
	return 0;
}

/* ---- cgroup v2 limits and their fallbacks (cgroup.h) ---- */

/* The rlimits that stand in for what the cgroup does not limit. */
static void
fallback_rlimits(struct child_plan *pl, const struct sandbox_policy *p,
    const struct sandbox_limits_how *how)
{
	pl->rl_set[RLIMIT_AS] = pl->rl_set[RLIMIT_DATA] = pl->rl_set[RLIMIT_NPROC] = false;
	/* RLIMIT_AS bounds what can be mapped, RLIMIT_DATA what brk/private
	 * mappings can take. */
	if (how->memory.by == SANDBOX_BY_RLIMIT) {
		set_rl(pl, RLIMIT_AS, p->memory_limit);
		set_rl(pl, RLIMIT_DATA, p->memory_limit);
	}
	/* RLIMIT_NPROC only where the policy allows fork (the plan says
	 * "seccomp" otherwise): it also counts threads, and the uid's other
	 * processes (see child_main), so under a policy without fork it would
	 * only stop a threaded plugin because someone else runs processes as
	 * the same uid. */
	if (how->processes.by == SANDBOX_BY_RLIMIT)
		set_rl(pl, RLIMIT_NPROC, p->max_processes);
}

/* Decide how each limit is enforced and create the run's cgroup where a
 * delegated one exists.  Returns 0, or SANDBOX_SPAWN_SETUP with `err` set
 * when `require: [cgroup]` cannot be met. */
static int
spawn_cgroup(const struct sandbox_policy *p, struct sandbox_child *c, char err[SANDBOX_ERR_LEN])
{
	const struct sandbox_cgroup_site *s = NULL;
	char why[SANDBOX_CGROUP_WHY_LEN];
	const char *missing, *mwhy = "";
	bool fork_ok = sandbox_filter_fork_allowed(p);

	if (strcmp(p->cgroup, "off") != 0)
		s = sandbox_cgroup_site_get(p->cgroup);
	sandbox_cgroup_plan(s, p, fork_ok, s == NULL ? "sandbox.cgroup is off" : NULL, &c->limits);
	why[0] = '\0';
	if (s != NULL && s->dir[0] != '\0' &&
	    sandbox_cgroup_create(s, p, &c->limits, &c->cgroup, why) != 0)
		sandbox_cgroup_plan(s, p, fork_ok, why, &c->limits);
	if (!(p->require & SANDBOX_LAYER_CGROUP))
		return 0;
	if (c->cgroup.dirfd < 0) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: cgroup (%.200s)",
		    why[0] != '\0' ? why : s != NULL ? s->why : "sandbox.cgroup is off");
		return SANDBOX_SPAWN_SETUP;
	}
	if ((missing = sandbox_cgroup_missing(p, &c->limits, &mwhy)) != NULL) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: cgroup (no %s controller: %.180s)",
		    missing, mwhy);
		(void)sandbox_cgroup_destroy(&c->cgroup);
		return SANDBOX_SPAWN_SETUP;
	}
	return 0;
}

/* clone() with CLONE_PIDFD, into the run's cgroup when there is one (the
 * child never runs outside it).  When the kernel refuses the cgroup part
 * (see sandbox_cgroup_clone_error) and the policy does not require it, the
 * run goes on without a cgroup: the limits fall back to rlimits and the
 * duty cycle, with the reason in c->limits. */
static long
spawn_clone(struct child_plan *pl, const struct sandbox_policy *p, struct sandbox_child *c,
    unsigned long flags, int *pidfd)
{
	char why[SANDBOX_CGROUP_WHY_LEN];
	long pid;

	if (c->cgroup.dirfd < 0)
		return syscall(SYS_clone, CLONE_PIDFD | SIGCHLD | flags, 0, pidfd, 0, 0);
	pid = sandbox_cgroup_clone(flags, pidfd, c->cgroup.dirfd);
	if (pid >= 0 || !sandbox_cgroup_clone_error(errno, flags) || (p->require & SANDBOX_LAYER_CGROUP))
		return pid;
	snprintf(why, sizeof(why), "clone3 into %.200s: %s", c->cgroup.path, strerror(errno));
	(void)sandbox_cgroup_destroy(&c->cgroup);
	sandbox_cgroup_plan(NULL, p, sandbox_filter_fork_allowed(p), why, &c->limits);
	fallback_rlimits(pl, p, &c->limits);
	return syscall(SYS_clone, CLONE_PIDFD | SIGCHLD | flags, 0, pidfd, 0, 0);
}

int
sandbox_spawn(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, char *const argv[], int stdin_fd,
    struct sandbox_child *c, char err[SANDBOX_ERR_LEN])
{
	return sandbox_spawn_fd(p, f, pr, program, -1, argv, stdin_fd, c, err);
}

/* One attempt of sandbox_spawn_fd; `no_ns`: without namespaces.  Returns
 * what sandbox_spawn_fd does, or SPAWN_RETRY_WITHOUT_NS. */
static int
spawn_once(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, int program_fd, int netns_fd,
    char *const argv[], int stdin_fd, struct sandbox_child *c, char err[SANDBOX_ERR_LEN],
    bool no_ns)
{
	struct child_plan pl;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, st[2] = { -1, -1 };
	int devnull = -1, ruleset = -1, pidfd = -1, ret = SANDBOX_SPAWN_SETUP;
	int exitp[2] = { -1, -1 }, own_fd = -1, interp_fd = -1, r;
	struct sandbox_rootfs *rootfs = NULL;
	bool root = geteuid() == 0, exec_done = false;
	char **script_argv = NULL, line[SHEBANG_MAX + 1];
	uint64_t deadline;
	struct stat sb;
	long pid;

	memset(c, 0, sizeof(*c));
	c->pidfd = c->plugin_pidfd = c->exit_fd = c->notify_fd = c->stdout_fd = c->stderr_fd = -1;
	c->cgroup.dirfd = -1;
	memset(&pl, 0, sizeof(pl));
	pl.netns_fd = -1;
	err[0] = '\0';

	/* The program: never searched in PATH (a name without '/' is relative
	 * to the working directory, like execve). */
	if (realpath(program, c->program) == NULL) {
		snprintf(err, SANDBOX_ERR_LEN, "%s: not found", program);
		return errno == ENOENT || errno == ENOTDIR ? SANDBOX_SPAWN_NOTFOUND : SANDBOX_SPAWN_NOEXEC;
	}
	/* What runs is what this descriptor reads: the caller's (the agent
	 * hashed exactly it), else ours, opened once here. */
	if (program_fd < 0) {
		program_fd = own_fd = open(c->program, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (own_fd < 0) {
			snprintf(err, SANDBOX_ERR_LEN, "%s: %s", program, strerror(errno));
			return errno == ENOENT ? SANDBOX_SPAWN_NOTFOUND : SANDBOX_SPAWN_NOEXEC;
		}
	}
	if (fstat(program_fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, SANDBOX_ERR_LEN, "%s: not a regular file", program);
		ret = SANDBOX_SPAWN_NOEXEC;
		goto out;
	}
	pl.exec_src = program_fd;
	pl.argv = argv;
	r = shebang(program_fd, c->program, argv, line, &interp_fd, &script_argv, err);
	if (r == 0 && own_fd < 0) {
		/* The caller vouches for these bytes (e.g. a digest): the
		 * interpreter would read the script again by path. */
		snprintf(err, SANDBOX_ERR_LEN, "%s: a #! script cannot be started from a verified "
		    "descriptor; make its interpreter the program", program);
		ret = SANDBOX_SPAWN_NOEXEC;
		goto out;
	}
	if (r == 0) {
		pl.exec_src = interp_fd;
		pl.argv = script_argv;
	} else if (r != 1) {
		ret = r;
		goto out;
	}
	if (p->require & SANDBOX_LAYER_USER_NOTIF && !f->user_notif) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: seccomp_user_notif");
		goto out;
	}

	pl.p = p;
	pl.f = f;
	pl.program = program;
	pl.exec_path = c->program;
	pl.envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	pl.envp[1] = "HOME=/tmp";
	pl.envp[2] = "TMPDIR=/tmp";
	pl.envp[3] = NULL;
	pl.parent = getpid();
	pl.cap_last = read_cap_last();
	pl.drop_ids = root;

	/* Memory, CPU share and processes: the run's cgroup where we have
	 * one, else the fallbacks (fallback_rlimits, the duty cycle). */
	if ((r = spawn_cgroup(p, c, err)) != 0) {
		ret = r;
		goto out;
	}
	/* rlimits: memory and processes where no cgroup limits them
	 * (fallback_rlimits), descriptors, file size, no core dumps, and CPU
	 * seconds as a backstop behind the wall timeout. */
	fallback_rlimits(&pl, p, &c->limits);
	/* Always, and never above SANDBOX_EXEC_FD (policy.h): the plugin can
	 * then never create the descriptor its start exec is allowed from. */
	set_rl(&pl, RLIMIT_NOFILE, p->max_open_files && p->max_open_files < SANDBOX_MAX_OPEN_FILES ?
	    p->max_open_files : SANDBOX_MAX_OPEN_FILES);
	if (p->max_file_size)
		set_rl(&pl, RLIMIT_FSIZE, p->max_file_size);
	set_rl(&pl, RLIMIT_CORE, 0);
	if (p->wall_timeout_ms) {
		pl.rl[RLIMIT_CPU].rlim_cur = p->wall_timeout_ms / 1000 + 1;
		pl.rl[RLIMIT_CPU].rlim_max = p->wall_timeout_ms / 1000 + 2;
		pl.rl_set[RLIMIT_CPU] = true;
	}

	/* Namespaces: user (unprivileged only: it is what lets us empty the
	 * bounding set), ipc, uts, and net unless network is full. */
	if (p->namespaces != SANDBOX_NS_OFF && !no_ns &&
	    (pr->namespaces || p->namespaces == SANDBOX_NS_REQUIRED)) {
		pl.ns_flags = CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
		if (p->network != SANDBOX_NET_FULL)
			pl.ns_flags |= CLONE_NEWNET;
		pl.pidns = true;
		pl.userns_in_clone = !root;
		snprintf(pl.uid_map, MAP_LEN, "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
		snprintf(pl.gid_map, MAP_LEN, "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
		pl.ns_required = p->namespaces == SANDBOX_NS_REQUIRED ||
		    (p->require & SANDBOX_LAYER_NAMESPACES);
		/* Join the caller's network namespace instead (the rules:
		 * spawn.h, sandbox_spawn_netns; the pid namespace is checked
		 * again where its clone may fail, below). */
		if (netns_fd >= 0 && sandbox_netns_joinable(p, pr)) {
			pl.netns_fd = netns_fd;
			pl.ns_flags &= ~CLONE_NEWNET;
		}
	} else if (p->namespaces == SANDBOX_NS_REQUIRED || (p->require & SANDBOX_LAYER_NAMESPACES)) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: namespaces (not permitted here)");
		goto out;
	}

	/* Landlock ruleset, with the plugin's own file readable+executable. */
	pl.landlock_required = p->require & SANDBOX_LAYER_LANDLOCK;
	pl.landlock_flags = sandbox_landlock_restrict_flags(pr->landlock_abi);
	if (pr->landlock_abi > 0) {
		ruleset = sandbox_landlock_build(p, pr->landlock_abi, c->program, err);
		if (ruleset < 0) {
			ruleset = -1;
			goto out;
		}
		/* The executed inode itself (not for a script: there it would be
		 * the interpreter, which the policy must allow). */
		if (interp_fd < 0 && (r = landlock_rule_fd(ruleset, program_fd)) != 0) {
			snprintf(err, SANDBOX_ERR_LEN, "landlock: rule for the program: %s", strerror(-r));
			goto out;
		}
	} else if (pl.landlock_required) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: landlock (kernel has none)");
		goto out;
	}

	if (pl.ns_flags & CLONE_NEWNS) {
		char cwd[PATH_MAX];
		uint64_t proc_rights = 0, tmp_rights = 0;
		size_t k;

		/* Filesystems created in the child need their own rules; the
		 * private /tmp gets exactly what a listed "/tmp" grants. */
		for (k = 0; k < p->n_fs && ruleset >= 0; k++) {
			if (strcmp(p->fs[k].path, "/proc") == 0)
				proc_rights = sandbox_landlock_dir_rights(p->fs[k].write, pr->landlock_abi);
			if (strcmp(p->fs[k].path, "/tmp") == 0)
				tmp_rights = sandbox_landlock_dir_rights(p->fs[k].write, pr->landlock_abi);
		}
		if (sandbox_rootfs_plan(p, c->program, getcwd(cwd, sizeof(cwd)), proc_rights,
		    tmp_rights, &rootfs, err) != 0)
			goto out;
		pl.rootfs = rootfs;
	}
	/* The status channel is a socketpair: messages one way, and the
	 * parent's "listener taken" acknowledgement the other (child_main). */
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, st) != 0) {
		snprintf(err, SANDBOX_ERR_LEN, "pipe: %s", strerror(errno));
		goto out;
	}
	{
		int one = 1;

		(void)setsockopt(st[0], SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
	}
	/* A closed stdin (e.g. started with fd 0 closed) becomes /dev/null
	 * rather than a setup failure. */
	if (stdin_fd >= 0 && fcntl(stdin_fd, F_GETFD) < 0)
		stdin_fd = -1;
	if (stdin_fd < 0) {
		devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (devnull < 0) {
			snprintf(err, SANDBOX_ERR_LEN, "/dev/null: %s", strerror(errno));
			goto out;
		}
		stdin_fd = devnull;
	}
	pl.src_fds[0] = stdin_fd;
	pl.src_fds[1] = outp[1];
	pl.src_fds[2] = errp[1];
	pl.src_fds[3] = st[1];
	pl.src_fds[4] = ruleset;
	pl.park = SANDBOX_EXEC_FD + 1;
	{
		int i;

		for (i = 0; i < CHILD_FIRST_FREE; i++)
			if (pl.src_fds[i] >= pl.park)
				pl.park = pl.src_fds[i] + 1;
		if (pl.exec_src >= pl.park)
			pl.park = pl.exec_src + 1;
	}
	/* The child needs descriptors up to park + CHILD_FIRST_FREE (it
	 * raises its soft limit to the hard one): say so instead of failing
	 * silently there. */
	{
		struct rlimit nofile;

		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_max != RLIM_INFINITY &&
		    nofile.rlim_max <= (rlim_t)(pl.park + CHILD_FIRST_FREE)) {
			snprintf(err, SANDBOX_ERR_LEN, "RLIMIT_NOFILE hard limit %llu is too low: the "
			    "sandbox needs descriptor numbers up to %d", (unsigned long long)nofile.rlim_max,
			    pl.park + CHILD_FIRST_FREE);
			goto out;
		}
	}

	if (f->lazy != NULL && f->prog.filter == NULL) {
		pl.fbuf = malloc(SANDBOX_BPF_MAX_BYTES);
		if (pl.fbuf == NULL) {
			snprintf(err, SANDBOX_ERR_LEN, "out of memory");
			goto out;
		}
	}
	c->start_ns = time_mono_ns();
	/* Raw clone with CLONE_PIDFD: fork semantics plus a pidfd, atomically
	 * (no pid-reuse window).  The child only makes syscalls, so skipping
	 * libc's fork handlers is fine. */
	if (pl.pidns) {
		if (pipe2(exitp, O_CLOEXEC) != 0) {
			snprintf(err, SANDBOX_ERR_LEN, "pipe: %s", strerror(errno));
			goto out;
		}
		pl.exit_fd = exitp[1];
		pid = spawn_clone(&pl, p, c, CLONE_NEWPID | (pl.userns_in_clone ? CLONE_NEWUSER : 0),
		    &pidfd);
		if (pid < 0 && !pl.ns_required) {
			/* No pid namespace here: the other namespaces may still
			 * work, unshared by the plugin process itself. */
			pl.pidns = false;
			pl.ns_flags &= ~CLONE_NEWNS;
			/* Without a pid namespace nothing ends every process of
			 * the run with it: never join a shared namespace then. */
			if (pl.netns_fd >= 0) {
				pl.netns_fd = -1;
				pl.ns_flags |= CLONE_NEWNET;
			}
			if (pl.userns_in_clone)
				pl.ns_flags |= CLONE_NEWUSER;
			pl.userns_in_clone = false;
			close(exitp[0]);
			close(exitp[1]);
			exitp[0] = exitp[1] = -1;
		}
	}
	if (!pl.pidns)
		pid = spawn_clone(&pl, p, c, 0, &pidfd);
	if (pid < 0) {
		snprintf(err, SANDBOX_ERR_LEN, "clone: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		if (pl.pidns)
			init_main(&pl);
		child_main(&pl, false);
	}
	c->pid = c->init_pid = (pid_t)pid;
	c->pidfd = pidfd;
	if (exitp[1] >= 0) {
		close(exitp[1]);
		exitp[1] = -1;
		c->exit_fd = exitp[0];
		exitp[0] = -1;
	}
	/* A prepared filter: compile it now, while the child sets up its
	 * namespaces, and send it (the child waits for it before seccomp). */
	if (pl.fbuf != NULL) {
		struct sandbox_filter cf;

		if (sandbox_filter_compile(f, &cf, err) != 0)
			goto kill_out;
		r = (int)send(st[0], cf.prog.filter, (size_t)cf.prog.len * sizeof(struct sock_filter),
		    MSG_NOSIGNAL);
		sandbox_filter_free(&cf);
		/* A child that already failed reports why on the status socket. */
		(void)r;
	}
	c->uid = root ? p->uid : geteuid();
	c->uid_dropped = root;
	close(outp[1]);
	close(errp[1]);
	close(st[1]);
	outp[1] = errp[1] = st[1] = -1;
	c->layers.rlimits = true;
	c->layers.cgroup = c->cgroup.dirfd >= 0;
	c->layers.no_new_privs = true;

	/* Follow the child's setup until the exec completed or failed. */
	deadline = time_mono_ms() + SPAWN_EXEC_TIMEOUT_MS;
	while (!exec_done) {
		struct pollfd pf[2] = { { st[0], POLLIN, 0 }, { c->notify_fd, POLLIN, 0 } };
		uint64_t now = time_mono_ms();
		struct msg m;
		pid_t sender;
		ssize_t n;

		if (now >= deadline) {
			snprintf(err, SANDBOX_ERR_LEN, "child did not exec within %d ms", SPAWN_EXEC_TIMEOUT_MS);
			goto kill_out;
		}
		if (poll(pf, c->notify_fd >= 0 ? 2 : 1, (int)(deadline - now)) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, SANDBOX_ERR_LEN, "poll: %s", strerror(errno));
			goto kill_out;
		}
		/* The status pipe first: it reaches EOF during the execve, before
		 * the plugin can make a syscall, so a notification that is
		 * pending while the pipe is readable may be the plugin's and
		 * belongs to the supervisor. */
		if (!(pf[0].revents & (POLLIN | POLLHUP))) {
			if (c->notify_fd >= 0 && (pf[1].revents & POLLIN))
				answer_pre_exec(c->notify_fd);
			continue;
		}
		{
			/* SO_PASSCRED: each message carries its sender's pid,
			 * translated by the kernel into our pid namespace. */
			union {
				struct cmsghdr h;
				char buf[CMSG_SPACE(sizeof(struct ucred))];
			} cb;
			struct iovec iov = { &m, sizeof(m) };
			struct msghdr mh;
			struct cmsghdr *cm;

			memset(&mh, 0, sizeof(mh));
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = cb.buf;
			mh.msg_controllen = sizeof(cb.buf);
			n = recvmsg(st[0], &mh, MSG_CMSG_CLOEXEC);
			sender = 0;
			for (cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm != NULL; cm = CMSG_NXTHDR(&mh, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
					struct ucred uc;

					memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
					sender = uc.pid;
				}
		}
		/* ECONNRESET: the child's end closed with our filter unread in
		 * it (a setup step failed first).  The kernel reports that
		 * error once, before the messages still queued for us (the
		 * failure's reason among them): read on. */
		if (n < 0 && (errno == EINTR || errno == ECONNRESET))
			continue;
		if (n == 0) {
			exec_done = true;
			break;
		}
		if (n != (ssize_t)sizeof(m)) {
			snprintf(err, SANDBOX_ERR_LEN, "status pipe: short read (%zd: %s)", n,
			    n < 0 ? strerror(errno) : "partial message");
			goto kill_out;
		}
		switch (m.kind) {
		case MSG_LISTENER:
			if (pl.pidns) {
				/* The listener lives in the plugin process, the
				 * init's child: find its host pid, open a pidfd. */
				pid_t b = sender > 0 ? sender : init_child_pid(c->init_pid);

				if (b < 0) {
					snprintf(err, SANDBOX_ERR_LEN, "plugin pid under init: %s", strerror(-b));
					goto kill_out;
				}
				c->pid = b;
				c->plugin_pidfd = (int)syscall(SYS_pidfd_open, b, 0);
				if (c->plugin_pidfd < 0) {
					c->plugin_pidfd = -1;
					snprintf(err, SANDBOX_ERR_LEN, "pidfd_open: %s", strerror(errno));
					goto kill_out;
				}
			}
			c->notify_fd = (int)syscall(SYS_pidfd_getfd,
			    c->plugin_pidfd >= 0 ? c->plugin_pidfd : c->pidfd, m.value, 0);
			if (c->notify_fd < 0) {
				c->notify_fd = -1;
				snprintf(err, SANDBOX_ERR_LEN, "pidfd_getfd(seccomp listener): %s", strerror(errno));
				goto kill_out;
			}
			(void)fcntl(c->notify_fd, F_SETFD, FD_CLOEXEC);
			/* Linux >= 6.6: the plugin and the supervisor hand the CPU
			 * to each other directly, which roughly halves a
			 * notification round trip; older kernels refuse it. */
			(void)ioctl(c->notify_fd, SANDBOX_IOCTL_NOTIF_SET_FLAGS,
			    SANDBOX_USER_NOTIF_FD_SYNC_WAKE_UP);
			if (send(st[0], "k", 1, MSG_NOSIGNAL) != 1) {
				snprintf(err, SANDBOX_ERR_LEN, "status channel: %s", strerror(errno));
				goto kill_out;
			}
			c->layers.seccomp = true;
			c->layers.seccomp_user_notif = true;
			break;
		case MSG_NS:
			c->layers.namespaces = (unsigned)m.value & ~(unsigned)MSG_NS_NET_REUSED;
			c->layers.netns_reused = (m.value & MSG_NS_NET_REUSED) != 0;
			break;
		case MSG_CAPS:
			c->layers.capabilities_dropped = m.value != 0;
			break;
		case MSG_LANDLOCK:
			c->layers.landlock = m.value ? pr->landlock_abi : 0;
			break;
		case MSG_FAIL_SETUP:
			snprintf(err, SANDBOX_ERR_LEN, "sandbox setup failed at %s: %s",
			    m.stage >= 0 && m.stage <= ST_ROOTFS ? stage_names[m.stage] : "?",
			    strerror(m.value));
			ret = SANDBOX_SPAWN_SETUP;
			/* namespaces: auto, and their setup failed: once more
			 * without them (sandbox_spawn_fd). */
			if (!pl.ns_required && (pl.ns_flags != 0 || pl.pidns) &&
			    (m.stage == ST_NS || m.stage == ST_ROOTFS || m.stage == ST_UIDMAP))
				ret = SPAWN_RETRY_WITHOUT_NS;
			goto reap_out;
		case MSG_FAIL_EXEC:
			snprintf(err, SANDBOX_ERR_LEN, "%s: %s", program, strerror(m.value));
			ret = m.value == ENOENT ? SANDBOX_SPAWN_NOTFOUND : SANDBOX_SPAWN_NOEXEC;
			goto reap_out;
		default:
			break;
		}
	}
	if (!f->user_notif)
		c->layers.seccomp = true;
	if ((p->require & SANDBOX_LAYER_LANDLOCK) && c->layers.landlock == 0) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: landlock");
		goto kill_out;
	}
	if ((p->require & SANDBOX_LAYER_CAPS) && !c->layers.capabilities_dropped) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: capabilities (bounding set)");
		goto kill_out;
	}
	(void)fcntl(outp[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(errp[0], F_SETFL, O_NONBLOCK);
	c->stdout_fd = outp[0];
	c->stderr_fd = errp[0];
	outp[0] = errp[0] = -1;
	ret = 0;
	goto out;

kill_out:
	ret = SANDBOX_SPAWN_SETUP;
	(void)syscall(SYS_kill, c->init_pid, SIGKILL);
reap_out:
	while (waitpid(c->init_pid, NULL, 0) < 0 && errno == EINTR)
		;
	/* Reaped: the pid may be reused from now on, forget it. */
	c->pid = c->init_pid = 0;
	sandbox_child_close(c);
out:
	if (st[0] >= 0)
		close(st[0]);
	if (st[1] >= 0)
		close(st[1]);
	if (outp[0] >= 0)
		close(outp[0]);
	if (outp[1] >= 0)
		close(outp[1]);
	if (errp[0] >= 0)
		close(errp[0]);
	if (errp[1] >= 0)
		close(errp[1]);
	if (exitp[0] >= 0)
		close(exitp[0]);
	if (exitp[1] >= 0)
		close(exitp[1]);
	if (devnull >= 0)
		close(devnull);
	if (ruleset >= 0)
		close(ruleset);
	if (own_fd >= 0)
		close(own_fd);
	if (interp_fd >= 0)
		close(interp_fd);
	free(script_argv);
	free(pl.fbuf);
	sandbox_rootfs_free(rootfs);
	if (ret != 0)
		(void)sandbox_cgroup_destroy(&c->cgroup);
	return ret;
}

/*
 * namespaces: auto means "where they work".  Whether they work is only
 * known once the child tried: e.g. in a container whose runtime masks
 * /proc paths (podman's default), the kernel refuses a fresh proc mount
 * in the new pid namespace (EPERM), which no probe short of trying
 * predicts.  Then the run is started again without namespaces (Landlock,
 * seccomp and rlimits still apply) and the result says why
 * (layers.namespaces_fallback, and the supervisor's
 * sandbox_layer_unavailable event).  With namespaces: required the
 * failure stands.
 */
int
sandbox_spawn_fd(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, int program_fd, char *const argv[],
    int stdin_fd, struct sandbox_child *c, char err[SANDBOX_ERR_LEN])
{
	return sandbox_spawn_netns(p, f, pr, program, program_fd, -1, argv, stdin_fd, c, err);
}

int
sandbox_spawn_netns(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, int program_fd, int netns_fd,
    char *const argv[], int stdin_fd, struct sandbox_child *c, char err[SANDBOX_ERR_LEN])
{
	char why[SANDBOX_ERR_LEN];
	int r = spawn_once(p, f, pr, program, program_fd, netns_fd, argv, stdin_fd, c, err, false);

	if (r != SPAWN_RETRY_WITHOUT_NS)
		return r;
	snprintf(why, sizeof(why), "%s", err);
	r = spawn_once(p, f, pr, program, program_fd, -1, argv, stdin_fd, c, err, true);
	if (r == 0)
		snprintf(c->layers.ns_fallback, sizeof(c->layers.ns_fallback), "%s", why);
	return r == SPAWN_RETRY_WITHOUT_NS ? SANDBOX_SPAWN_SETUP : r;
}
