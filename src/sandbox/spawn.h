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
 * execve.
 *
 * The initial execve: the seccomp filter is loaded *before* our own execve,
 * so under a policy that blocks exec our own exec is notified like any
 * other.  sandbox_spawn() itself answers exactly that notification: it
 * receives the listener (pidfd_getfd) before the exec can proceed, and
 * answers CONTINUE only to an execve/execveat notification from the child's
 * pid while the status pipe shows the child has not exec'd yet (no plugin
 * code exists then; the pointers are ours).  Once the status pipe reaches
 * EOF (closed on exec), the child is the plugin and every later exec is a
 * violation, answered by the supervisor.  sandbox_spawn() therefore returns
 * only after the exec succeeded or failed (a few hundred microseconds).
 */
#ifndef STAVILY_SANDBOX_SPAWN_H
#define STAVILY_SANDBOX_SPAWN_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "base/util.h"
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
	bool cgroup;
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

/* Close the child's descriptors (does not kill or reap it). */
void sandbox_child_close(struct sandbox_child *c);

#endif
