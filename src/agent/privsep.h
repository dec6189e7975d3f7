/*
 * privsep.h: the agent's privilege separation (DESIGN §2, issue 6).
 *
 * `agent run` is two processes joined by a SOCK_SEQPACKET socketpair that
 * carries msg.h messages:
 *   spawner  the parent.  Keeps what building sandboxes needs (root when
 *            started as root), never parses network input, validates every
 *            request of the worker (spawner.h) before running anything.
 *   worker   forked by privsep_start_worker().  Does TLS, HTTP, JSON and the
 *            spool.  Right after the fork, before it reads a byte from the
 *            network, it restricts itself ("acquire, restrict, then parse"):
 *              1. opens the files it must read later (config, certificates:
 *                 spec->read_files, handed to its main as descriptors) and
 *                 closes every other inherited descriptor;
 *              2. when root: setgroups(0), setresgid/setresuid to spec->uid/gid;
 *                 when not root: a new user namespace mapping only its own
 *                 uid/gid (if the kernel allows), so it can empty its
 *                 bounding set without any privilege on the host;
 *              3. empties the bounding set, clears the ambient set and
 *                 capset()s effective/permitted/inheritable to zero;
 *              4. PR_SET_DUMPABLE 0 (plugins run under the same default uid:
 *                 they must not ptrace or read the worker's memory) and
 *                 PR_SET_NO_NEW_PRIVS;
 *              5. Landlock: read/write only beneath state_dir and log_dir,
 *                 read-only on spec->ro_paths, nothing else; abstract unix
 *                 sockets and signals scoped (ABI >= 6);
 *              6. its own seccomp allowlist (privsep_worker_filter()).
 *            Steps 2-4 and 6 are mandatory: if one fails the worker exits
 *            with PRIVSEP_EXIT_RESTRICT before running its main.  Landlock
 *            is best effort unless spec->require_landlock.
 */
#ifndef STAVILY_AGENT_PRIVSEP_H
#define STAVILY_AGENT_PRIVSEP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/util.h"

#define PRIVSEP_MAX_FILES 16
#define PRIVSEP_MAX_RO_PATHS 16
#define PRIVSEP_ERR_LEN 256
/* Exit status of a worker that could not restrict itself. */
#define PRIVSEP_EXIT_RESTRICT 125

/*
 * The worker's entry point, called once restricted.  `sock` is its end of
 * the socketpair; `fds[i]` is spec->read_files[i] opened O_RDONLY (or -1 if
 * it could not be opened; errno lost: the worker reports it).  The return
 * value becomes the worker's exit status.
 */
typedef int (*privsep_main_fn)(int sock, const int *fds, size_t n_fds, void *arg);

struct privsep_spec {
	const char *state_dir;           /* required: read/write beneath it */
	const char *log_dir;             /* read/write beneath it, or NULL */
	const char *read_files[PRIVSEP_MAX_FILES]; /* opened before restricting */
	size_t n_read_files;
	const char *ro_paths[PRIVSEP_MAX_RO_PATHS]; /* read-only Landlock grants (e.g. /etc/hosts) */
	size_t n_ro_paths;
	uid_t uid;                       /* worker identity when started as root */
	gid_t gid;
	bool require_landlock;           /* fail instead of running without Landlock */
	privsep_main_fn main;
	void *arg;
};

/* A running worker, as the spawner sees it. */
struct privsep_worker {
	pid_t pid;
	int sock;                        /* spawner's end (SOCK_SEQPACKET, CLOEXEC) */
};

/*
 * Fork the worker.  On success returns 0, fills `w` and the child runs
 * spec->main restricted (it never returns into the caller's code).  On
 * failure returns -errno with a message in `err` and nothing runs.
 * The caller must be single-threaded (the child continues without exec).
 */
int privsep_start_worker(const struct privsep_spec *spec, struct privsep_worker *w,
    char err[PRIVSEP_ERR_LEN]) WARN_UNUSED;

/*
 * Stop a worker: closes our end of the socket (the worker sees EOF), waits
 * up to `grace_ms` for it to exit, then SIGKILLs and reaps it.  Returns its
 * wait status (>= 0) or -errno.  `w` is reset (pid 0, sock -1).
 */
int privsep_stop_worker(struct privsep_worker *w, unsigned grace_ms);

/*
 * Restrict the calling process exactly as the worker does (steps 2-6 of
 * the list above; descriptors are the caller's business).  Exposed for the
 * tests and for a worker started another way.  Irreversible.  Returns 0 or
 * -errno with a message in `err`.
 */
int privsep_restrict_self(const struct privsep_spec *spec, char err[PRIVSEP_ERR_LEN]) WARN_UNUSED;

/*
 * Restrict the spawner (the parent, after forking the worker) to what
 * building sandboxes needs.  When it holds capabilities, every capability
 * outside PRIVSEP_SPAWNER_CAPS is removed from the bounding, effective,
 * permitted and inheritable sets (and the ambient set is cleared), so a
 * compromised spawner cannot load modules, use raw sockets, bpf, raw I/O,
 * change the clock, etc.  Always sets PR_SET_NO_NEW_PRIVS (the spawner only
 * execs plugins, which must never gain privileges).  Irreversible.
 * Returns 0 or -errno with a message in `err`.
 */
int privsep_restrict_spawner(char err[PRIVSEP_ERR_LEN]) WARN_UNUSED;

/* What the spawner keeps (capability numbers, see capabilities(7)):
 * CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID (state and plugin
 * files, scratch directories), KILL (plugins under another uid), SETGID,
 * SETUID, SETPCAP (drop to the plugin's ids and bounding set), NET_ADMIN
 * (loopback in a new network namespace), SYS_CHROOT (pivot_root), SYS_PTRACE
 * (pidfd_getfd of the seccomp listener, /proc/PID/mem of a notified
 * plugin), SYS_ADMIN (namespaces, mounts, Landlock/seccomp setup),
 * SYS_RESOURCE (rlimits above the soft limits). */
#define PRIVSEP_SPAWNER_CAPS ((1ull << 0) | (1ull << 1) | (1ull << 2) | (1ull << 3) | \
    (1ull << 4) | (1ull << 5) | (1ull << 6) | (1ull << 7) | (1ull << 8) | (1ull << 12) | \
    (1ull << 18) | (1ull << 19) | (1ull << 21) | (1ull << 24))

/*
 * Load the worker's seccomp filter into the calling thread: an allowlist of
 * what TLS/HTTP/JSON/spool code needs (measured with strace; docs/agent.md),
 * socket() only for AF_UNIX/AF_INET/AF_INET6, mmap/mprotect never with
 * PROT_EXEC, ioctl only FIONREAD/FIONBIO/TIOCGWINSZ.  Exec, fork/clone,
 * ptrace, io_uring, bpf, mount, kexec, keyctl and the like kill the process;
 * anything else not allowed fails with EPERM.  Returns 0 or -errno.
 */
int privsep_worker_filter(void) WARN_UNUSED;

#endif
