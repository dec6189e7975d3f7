/*
 * spawn.h: start a program inside a sandbox.
 *
 * sandbox_spawn() prepares everything that allocates or opens files in the
 * parent (environment, rlimits, uid/gid maps, the Landlock ruleset; the
 * seccomp program comes compiled from filter.h), then forks.  The child runs
 * only async-signal-safe syscalls, in the order issue 3 gives: new session,
 * parent-death signal, descriptors (only 0-2 survive exec), signal
 * dispositions reset, rlimits, namespaces, capability bounding set dropped
 * (while still privileged), setgroups/setresgid/setresuid, remaining
 * capabilities and ambient set cleared, NO_NEW_PRIVS, Landlock, seccomp,
 * exec.
 *
 * The initial exec is by descriptor: the parent opens the program
 * (O_RDONLY|O_CLOEXEC, or takes the caller's descriptor, which the agent
 * hashed), the child moves it to SANDBOX_EXEC_FD (policy.h) before the
 * rlimits, and runs execveat(SANDBOX_EXEC_FD, "", argv, envp,
 * AT_EMPTY_PATH).  The seccomp filter allows exactly that shape
 * (filter.c), so the start needs no supervisor and works without user
 * notification; the plugin's RLIMIT_NOFILE (<= SANDBOX_EXEC_FD, hard limit
 * too) means it can never create that descriptor, so every later exec is a
 * violation (reported by the supervisor, or ERRNO+LOG without user
 * notification).  A #! script is started as its interpreter, by descriptor
 * (see shebang() in spawn.c); from a caller's descriptor it is refused.
 * The exec's bytes are what the descriptor reads, whatever the path names
 * by then.  sandbox_spawn() returns after the exec succeeded or failed.
 */
#ifndef STAVILY_SANDBOX_SPAWN_H
#define STAVILY_SANDBOX_SPAWN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "base/util.h"
#include "sandbox/cgroup.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"

/* Namespaces (bits of result "namespaces"). */
enum sandbox_ns {
	SANDBOX_NS_USER = 1 << 0,
	SANDBOX_NS_IPC = 1 << 1,
	SANDBOX_NS_UTS = 1 << 2,
	SANDBOX_NS_NET = 1 << 3,
	SANDBOX_NS_MOUNT = 1 << 4,
	SANDBOX_NS_PID = 1 << 5,
};

/* Which layers actually applied to one child. */
struct sandbox_layers {
	bool seccomp;
	bool seccomp_user_notif;
	int landlock;                /* ABI applied, 0 = none */
	bool no_new_privs;
	bool capabilities_dropped;   /* effective..ambient and bounding all empty */
	bool rlimits;
	unsigned namespaces;         /* enum sandbox_ns bits */
	bool cgroup;                 /* the plugin runs in its own cgroup (cgroup.h) */
	/* SANDBOX_NS_NET applied by joining the caller's namespace
	 * (sandbox_spawn_netns) rather than creating a fresh one. */
	bool netns_reused;
	/* namespaces: auto, and setting them up failed (e.g. no fresh /proc
	 * under a container's /proc masks): the run went on without any, and
	 * this says why ("" = no fallback). */
	char ns_fallback[SANDBOX_ERR_LEN];
};

/* What the pid-namespace init sends when the plugin exited. */
struct sandbox_init_report {
	int32_t status;              /* wait status of the plugin */
	struct rusage ru;            /* its rusage (children included) */
};

/* A started sandboxed program. */
struct sandbox_child {
	pid_t pid;                   /* the plugin process (host pid) */
	pid_t init_pid;              /* our direct child: the plugin itself, or the
	                              * pid-namespace init that runs it; also the
	                              * process group and session of the sandbox */
	int pidfd;                   /* of init_pid: readable when it exits */
	int plugin_pidfd;            /* of pid when it differs from init_pid, else -1 */
	int exit_fd;                 /* init's report pipe (struct sandbox_init_report), or -1 */
	int notify_fd;               /* seccomp listener, -1 without user notification */
	int stdout_fd;               /* read ends of the output pipes (non-blocking) */
	int stderr_fd;
	bool uid_dropped;            /* ran as policy uid (started as root) */
	uid_t uid;                   /* real uid of the plugin (for process counting) */
	struct sandbox_layers layers;
	struct sandbox_cgroup cgroup;       /* the run's cgroup (dirfd -1: none) */
	struct sandbox_limits_how limits;   /* how memory/cpu/processes are enforced */
	uint64_t start_ns;           /* CLOCK_MONOTONIC at spawn */
	char program[PATH_MAX];      /* resolved absolute path of the program */
};

/* Why a spawn failed (maps onto the CLI's exit statuses). */
enum sandbox_spawn_error {
	SANDBOX_SPAWN_SETUP = 125,   /* sandbox could not be set up / required layer missing */
	SANDBOX_SPAWN_NOEXEC = 126,  /* found but cannot be executed */
	SANDBOX_SPAWN_NOTFOUND = 127,
};

/*
 * Start `program` with `argv` (argv[0] as given) under `p`.  `f` is the
 * compiled filter of `p`; `pr` the probe of this host.  `stdin_fd` becomes the
 * child's stdin (-1: /dev/null).  On success returns 0 and fills `c` (free
 * with sandbox_child_close).  On failure returns one of enum
 * sandbox_spawn_error with a message in `err`; nothing is left running.
 * The child's parent-death signal follows the calling *thread*: call this
 * from a thread that outlives the sandbox.
 */
int sandbox_spawn(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, char *const argv[], int stdin_fd,
    struct sandbox_child *c, char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* The same, exec'ing what `program_fd` reads (a regular file opened
 * O_RDONLY by the caller, e.g. the descriptor whose digest was checked; -1:
 * open `program`).  The descriptor is borrowed: the caller closes it.
 * `program` is still used for argv, Landlock's path rule and the minimal
 * root.  A #! script from a caller's descriptor fails with
 * SANDBOX_SPAWN_NOEXEC (its interpreter would read it again by path). */
int sandbox_spawn_fd(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, int program_fd, char *const argv[],
    int stdin_fd, struct sandbox_child *c, char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/*
 * Whether a run under `p` may join a lent network namespace (sandbox_spawn_netns)
 * instead of creating one: a network namespace applies at all
 * (network_access is not full, namespaces apply: `pr`), we are root (no user
 * namespace: the namespace must be one the plugin holds no capability
 * over), the plugin's uid is not 0 (euid 0 owns /proc/sys/net files of the
 * namespace even without capabilities) and the filter denies socket() (a
 * plugin that cannot create a socket can leave nothing in the namespace: no
 * port, no abstract name, no IPv6 flow label, which can outlive their
 * process by up to 150 s).  The agent's pool asks the same question before
 * it lends one (agent/netns.h).
 */
bool sandbox_netns_joinable(const struct sandbox_policy *p, const struct sandbox_probe *pr);

/*
 * The same as sandbox_spawn_fd, joining the network namespace `netns_fd`
 * (setns, in the sandbox's init before it forks the plugin) instead of
 * creating a fresh one; -1 = as sandbox_spawn_fd.  Borrowed: the caller
 * keeps it open.  It is joined only when sandbox_netns_joinable() holds and
 * the run gets a new pid namespace (when its init is reaped, no process of
 * the run is left in the namespace), else a fresh namespace is made as
 * usual; a failed setns falls back to a fresh namespace too.
 * c->layers.netns_reused says which happened.  The caller must not hand the
 * same namespace to two runs at once, nor to the next run before this one's
 * init was reaped.
 */
int sandbox_spawn_netns(const struct sandbox_policy *p, const struct sandbox_filter *f,
    const struct sandbox_probe *pr, const char *program, int program_fd, int netns_fd,
    char *const argv[], int stdin_fd, struct sandbox_child *c, char err[SANDBOX_ERR_LEN])
    WARN_UNUSED;

/* Bring `lo` up in the calling thread's network namespace (it starts
 * down in a new one).  0, or -errno (-ENETDOWN: it would not come up).
 * Only syscalls: safe in a child between clone and exec. */
int sandbox_loopback_up(void);

/* Close the child's descriptors (does not kill or reap it) and remove its
 * cgroup, if any (killing what is left inside: call after reaping). */
void sandbox_child_close(struct sandbox_child *c);

#endif
