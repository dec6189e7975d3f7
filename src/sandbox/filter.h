/*
 * filter.h: the seccomp BPF program of a policy.
 *
 * Compiled once per policy with libseccomp in the parent (allocation is
 * fine there) and exported as a plain sock_fprog, so the child only calls
 * seccomp(2) on memory it inherited: no allocation between fork and exec.
 *
 * Actions: a syscall the policy forbids returns SECCOMP_RET_USER_NOTIF (the
 * supervisor answers EPERM or kills, and reports).  Without user
 * notification (kernel < 5.0) it is SECCOMP_RET_ERRNO(EPERM) with
 * SECCOMP_FILTER_FLAG_LOG.  clone3 returns ENOSYS.  A foreign architecture
 * (i386 int 0x80, x32) kills the process.  The open family is notified for
 * reporting only when report_fs_denials is set; big mmap/mremap requests
 * are notified to report the memory limit.
 */
#ifndef STAVILY_SANDBOX_FILTER_H
#define STAVILY_SANDBOX_FILTER_H

#include <linux/filter.h>
#include <stdbool.h>

#include "base/util.h"
#include "sandbox/policy.h"
#include "sandbox/scalloc.h"

struct sandbox_filter {
	struct sock_fprog prog;      /* prog.filter owned (free with sandbox_filter_free) */
	bool user_notif;             /* filter uses SECCOMP_RET_USER_NOTIF */
	unsigned flags;              /* seccomp(2) flags to load it with */
	const struct sandbox_policy *lazy; /* prepared, not compiled (prog.filter NULL):
	                              * sandbox_spawn compiles it (borrowed policy) */
	void *ctx;                   /* libseccomp context kept by sandbox_filter_compile,
	                              * released by sandbox_filter_free */
	struct sandbox_scarena *arena; /* where ctx's memory lives (scalloc.h), owned:
	                              * freed with ctx by sandbox_filter_free */
};

/* Largest BPF program the kernel loads (BPF_MAXINSNS instructions). */
#define SANDBOX_BPF_MAX_BYTES (4096 * 8)

/* Build the filter of `p`.  `user_notif` says whether the kernel has user
 * notification (see probe.h).  Returns 0, -EINVAL (policy cannot be expressed,
 * message in err) or -ENOMEM. */
int sandbox_filter_build(const struct sandbox_policy *p, bool user_notif, struct sandbox_filter *f,
    char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/*
 * Check `p` and decide the mechanism now, compile later: sandbox_spawn()
 * compiles a prepared filter right after its clone, while the child sets
 * up its namespaces on another CPU, and hands the program to the child
 * (the libseccomp compile is the largest user-space cost of a start).
 * For one run per filter (`sandbox run`); `p` must outlive `f`.  Fails
 * like sandbox_filter_build for a policy that cannot be expressed.
 */
int sandbox_filter_prepare(const struct sandbox_policy *p, bool user_notif, struct sandbox_filter *f,
    char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* Compile a prepared filter into `out` (as sandbox_filter_build). */
int sandbox_filter_compile(const struct sandbox_filter *prepared, struct sandbox_filter *out,
    char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* Free the program, and the libseccomp context a compile of a prepared
 * filter keeps (sandbox_filter_compile) with its arena: cheap, because
 * libseccomp's memory is an arena (scalloc.h), dropped in one piece. */
void sandbox_filter_free(struct sandbox_filter *f);

/* Async-signal-safe, allocation-free: load `f` into the calling thread.
 * Returns the listener descriptor (user_notif), 0, or -errno. */
int sandbox_filter_load(const struct sandbox_filter *f);

/* Classification used by the supervisor for a notified syscall. */
enum sandbox_notif_kind {
	SANDBOX_NOTIF_VIOLATION,     /* forbidden by policy: deny/kill and report */
	SANDBOX_NOTIF_FOREIGN_ARCH,  /* i386 or x32 entry: kill and report */
	SANDBOX_NOTIF_EXEC,          /* exec the policy allows (always notified, so
	                              * the supervisor sees our own first exec) */
	SANDBOX_NOTIF_CLONE3,        /* clone3 while fork is blocked: ENOSYS + report */
	SANDBOX_NOTIF_FORK,          /* allowed fork: count against max_processes */
	SANDBOX_NOTIF_DUP,           /* allowed dup*: count against max_open_files */
	SANDBOX_NOTIF_FS_REPORT,     /* allowed open family, notified for reporting */
	SANDBOX_NOTIF_MEMORY,        /* mmap/mremap larger than memory_limit */
	SANDBOX_NOTIF_ALLOWED,       /* allowed after a check of register arguments */
	SANDBOX_NOTIF_SESSION,       /* setsid/setpgid the policy allows: continued
	                              * only under a pid namespace (elsewhere a process
	                              * leaving the sandbox's process group would
	                              * outlive the final kill): the supervisor decides */
};
struct seccomp_data;
enum sandbox_notif_kind sandbox_filter_classify(const struct sandbox_policy *p,
    const struct seccomp_data *d);

/* True if the policy lets the plugin create processes (fork alias). */
bool sandbox_filter_fork_allowed(const struct sandbox_policy *p);

/* True if `nr` is forbidden under `p` (always-denied, blocked, or outside the
 * allowlist).  Argument rules (clone, prctl, ioctl, personality) are not
 * considered. */
bool sandbox_filter_denies(const struct sandbox_policy *p, int nr);

#endif
