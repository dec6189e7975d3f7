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
#define SPAWN_EXEC_TIMEOUT_MS 10000

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
	char *const *argv;
	char *envp[ENV_MAX + 1];
	int src_fds[CHILD_FIRST_FREE];   /* stdin, stdout, stderr, status, landlock (-1 = none) */
	int park;                        /* first fd above every source and target */
	struct rlimit rl[RLIM_NLIMITS];
	bool rl_set[RLIM_NLIMITS];
	int ns_flags;                    /* CLONE_NEW* to unshare in the plugin process */
	bool pidns;                      /* an init process runs in a new pid namespace */
	bool userns_in_clone;            /* CLONE_NEWUSER given with CLONE_NEWPID */
	int exit_fd;                     /* init -> parent: the plugin's wait status */
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

/* In a new network namespace: bring loopback up (restricted/none keep
 * loopback only).  Best effort: without lo the plugin simply has no network. */
static void
loopback_up(void)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		(void)ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	close(s);
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
	 * at 0..4, then close everything else. */
	for (i = 0; i < CHILD_FIRST_FREE; i++)
		if (pl->src_fds[i] >= 0 && dup2(pl->src_fds[i], pl->park + i) < 0)
			_exit(SANDBOX_SPAWN_SETUP);
	for (i = 0; i < CHILD_FIRST_FREE; i++)
		if (pl->src_fds[i] >= 0 && dup2(pl->park + i, i) < 0)
			_exit(SANDBOX_SPAWN_SETUP);
	if (syscall(SYS_close_range, CHILD_FIRST_FREE, ~0U, 0) != 0)
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
				loopback_up();
				applied |= SANDBOX_NS_NET;
			}
		} else if (pl->ns_required) {
			child_fail(ST_NS, errno);
		}
		if (pl->pidns)
			applied |= SANDBOX_NS_PID;
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
	child_msg(MSG_CAPS, caps_ok, 0);
	/* 9. no new privileges: setuid binaries and file caps are inert. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		child_fail(ST_NNP, errno);
	/* 10. Landlock. */
	if (pl->src_fds[CHILD_LANDLOCK_FD] >= 0) {
		r = sandbox_landlock_restrict(CHILD_LANDLOCK_FD, pl->landlock_flags);
		if (r != 0 && pl->landlock_required)
			child_fail(ST_LANDLOCK, -r);
		child_msg(MSG_LANDLOCK, r == 0, 0);
		close(CHILD_LANDLOCK_FD);
	}
	/* 11. seccomp, last: from here on every syscall is filtered. */
	listener = sandbox_filter_load(pl->f);
	if (listener < 0)
		child_fail(ST_SECCOMP, -listener);
	if (pl->f->user_notif)
		child_msg(MSG_LISTENER, listener, 0);
	/* 12. exec.  The listener is O_CLOEXEC (kernel), as is the status pipe:
	 * EOF on the pipe tells the parent the exec succeeded. */
	execve(pl->exec_path, pl->argv, pl->envp);
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

static int
read_cap_last(void)
{
	char *s = NULL;
	size_t len;
	int v = 40; /* CAP_CHECKPOINT_RESTORE on 5.9+ */

	if (file_read_all("/proc/sys/kernel/cap_last_cap", 32, &s, &len) == 0)
		v = atoi(s);
	free(s);
	return v > 0 && v < 64 ? v : 40;
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
}

/* Answer the notifications that arrive before the exec completed: the
 * child's own execve (once) is continued, anything else is refused. */
static void
answer_pre_exec(int notify_fd, pid_t pid, bool *exec_seen)
{
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;

	memset(&req, 0, sizeof(req));
	if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_RECV, &req) != 0)
		return;
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	if (!*exec_seen && (pid_t)req.pid == pid &&
	    (req.data.nr == SYS_execve || req.data.nr == SYS_execveat)) {
		*exec_seen = true;
		/* Safe: no plugin code exists yet, the arguments are ours. */
		resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	} else {
		resp.error = -EPERM;
	}
	(void)ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SEND, &resp);
}

int
sandbox_spawn(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, char *const argv[], int stdin_fd,
    struct sandbox_child *c, char err[SANDBOX_ERR_LEN])
{
	struct child_plan pl;
	int outp[2] = { -1, -1 }, errp[2] = { -1, -1 }, st[2] = { -1, -1 };
	int devnull = -1, ruleset = -1, pidfd = -1, ret = SANDBOX_SPAWN_SETUP;
	int exitp[2] = { -1, -1 };
	struct sandbox_rootfs *rootfs = NULL;
	bool root = geteuid() == 0, exec_seen = false, exec_done = false;
	uint64_t deadline;
	struct stat sb;
	long pid;

	memset(c, 0, sizeof(*c));
	c->pidfd = c->plugin_pidfd = c->exit_fd = c->notify_fd = c->stdout_fd = c->stderr_fd = -1;
	memset(&pl, 0, sizeof(pl));
	err[0] = '\0';

	/* The program: never searched in PATH (a name without '/' is relative
	 * to the working directory, like execve). */
	if (realpath(program, c->program) == NULL) {
		snprintf(err, SANDBOX_ERR_LEN, "%s: not found", program);
		return errno == ENOENT || errno == ENOTDIR ? SANDBOX_SPAWN_NOTFOUND : SANDBOX_SPAWN_NOEXEC;
	}
	if (stat(c->program, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, SANDBOX_ERR_LEN, "%s: not a regular file", program);
		return SANDBOX_SPAWN_NOEXEC;
	}

	pl.p = p;
	pl.f = f;
	pl.program = program;
	pl.exec_path = c->program;
	pl.argv = argv;
	pl.envp[0] = "PATH=/usr/local/bin:/usr/bin:/bin";
	pl.envp[1] = "HOME=/tmp";
	pl.envp[2] = "TMPDIR=/tmp";
	pl.envp[3] = NULL;
	pl.parent = getpid();
	pl.cap_last = read_cap_last();
	pl.drop_ids = root;

	/* rlimits: memory (no cgroup here: RLIMIT_AS bounds what can be mapped,
	 * RLIMIT_DATA what brk/private mappings can take), descriptors,
	 * processes, file size, no core dumps, and CPU seconds as a backstop
	 * behind the wall timeout. */
	if (p->memory_limit) {
		set_rl(&pl, RLIMIT_AS, p->memory_limit);
		set_rl(&pl, RLIMIT_DATA, p->memory_limit);
	}
	if (p->max_open_files)
		set_rl(&pl, RLIMIT_NOFILE, p->max_open_files);
	/* RLIMIT_NPROC only where the policy allows fork: it also counts
	 * threads, and the uid's other processes (see child_main), so under a
	 * policy without fork it would only stop a threaded plugin because
	 * someone else runs processes as the same uid. */
	if (p->max_processes && sandbox_filter_fork_allowed(p))
		set_rl(&pl, RLIMIT_NPROC, p->max_processes);
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
	if (p->namespaces != SANDBOX_NS_OFF && (pr->namespaces || p->namespaces == SANDBOX_NS_REQUIRED)) {
		pl.ns_flags = CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS;
		if (p->network != SANDBOX_NET_FULL)
			pl.ns_flags |= CLONE_NEWNET;
		pl.pidns = true;
		pl.userns_in_clone = !root;
		snprintf(pl.uid_map, MAP_LEN, "%u %u 1\n", (unsigned)geteuid(), (unsigned)geteuid());
		snprintf(pl.gid_map, MAP_LEN, "%u %u 1\n", (unsigned)getegid(), (unsigned)getegid());
		pl.ns_required = p->namespaces == SANDBOX_NS_REQUIRED ||
		    (p->require & SANDBOX_LAYER_NAMESPACES);
	} else if (p->namespaces == SANDBOX_NS_REQUIRED || (p->require & SANDBOX_LAYER_NAMESPACES)) {
		snprintf(err, SANDBOX_ERR_LEN, "required layer missing: namespaces (not permitted here)");
		return SANDBOX_SPAWN_SETUP;
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
	if (pipe2(outp, O_CLOEXEC) != 0 || pipe2(errp, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0) {
		snprintf(err, SANDBOX_ERR_LEN, "pipe: %s", strerror(errno));
		goto out;
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
	pl.park = CHILD_FIRST_FREE;
	{
		int i;

		for (i = 0; i < CHILD_FIRST_FREE; i++)
			if (pl.src_fds[i] >= pl.park)
				pl.park = pl.src_fds[i] + 1;
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
		pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD | CLONE_NEWPID |
		    (pl.userns_in_clone ? CLONE_NEWUSER : 0), 0, &pidfd, 0, 0);
		if (pid < 0 && !pl.ns_required) {
			/* No pid namespace here: the other namespaces may still
			 * work, unshared by the plugin process itself. */
			pl.pidns = false;
			pl.ns_flags &= ~CLONE_NEWNS;
			if (pl.userns_in_clone)
				pl.ns_flags |= CLONE_NEWUSER;
			pl.userns_in_clone = false;
			close(exitp[0]);
			close(exitp[1]);
			exitp[0] = exitp[1] = -1;
		}
	}
	if (!pl.pidns)
		pid = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
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
	c->uid = root ? p->uid : geteuid();
	c->uid_dropped = root;
	close(outp[1]);
	close(errp[1]);
	close(st[1]);
	outp[1] = errp[1] = st[1] = -1;
	c->layers.rlimits = true;
	c->layers.no_new_privs = true;

	/* Follow the child's setup until the exec completed or failed. */
	deadline = time_mono_ms() + SPAWN_EXEC_TIMEOUT_MS;
	while (!exec_done) {
		struct pollfd pf[2] = { { st[0], POLLIN, 0 }, { c->notify_fd, POLLIN, 0 } };
		uint64_t now = time_mono_ms();
		struct msg m;
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
				answer_pre_exec(c->notify_fd, c->pid, &exec_seen);
			continue;
		}
		n = read(st[0], &m, sizeof(m));
		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0) {
			exec_done = true;
			break;
		}
		if (n != (ssize_t)sizeof(m)) {
			snprintf(err, SANDBOX_ERR_LEN, "status pipe: short read");
			goto kill_out;
		}
		switch (m.kind) {
		case MSG_LISTENER:
			if (pl.pidns) {
				/* The listener lives in the plugin process, the
				 * init's child: find its host pid, open a pidfd. */
				pid_t b = init_child_pid(c->init_pid);

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
			c->layers.seccomp = true;
			c->layers.seccomp_user_notif = true;
			break;
		case MSG_NS:
			c->layers.namespaces = (unsigned)m.value;
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
	sandbox_rootfs_free(rootfs);
	return ret;
}
