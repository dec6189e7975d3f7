/*
 * syscalls.h: syscall names, aliases and groups accepted in sandbox policies.
 *
 * CONTRACT NOTE: config/ calls sandbox_syscall_name_valid() to reject unknown
 * names at configuration time (FILE:LINE).  The sandbox subsystem owns the
 * alias table below.
 *
 * Names are x86-64 syscall names as libseccomp knows them, plus:
 *   exec      execve, execveat
 *   fork      fork, vfork, clone without CLONE_THREAD, clone3
 *             (clone3 always answers ENOSYS: its flags live in memory the
 *             filter cannot read, so libcs fall back to clone)
 *   open      open, openat, openat2, creat
 *   stat      stat, lstat, fstat, newfstatat, statx
 *   @default  what any program needs to start and exit (always allowed in
 *             allowlist mode; listed in docs/sandbox.md)
 *   @network  socket, socketpair, bind, connect, listen, accept, accept4,
 *             sendto/recvfrom/sendmsg/recvmsg/sendmmsg/recvmmsg, get/setsockopt,
 *             getsockname, getpeername, shutdown
 *   @io       reads, writes, seeks, dup, pipes, poll/select/epoll
 *   @file     open and stat aliases plus directory and metadata calls
 */
#ifndef STAVILY_SANDBOX_SYSCALLS_H
#define STAVILY_SANDBOX_SYSCALLS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"

/* x86-64 syscall numbers are below 512 (x32 ones carry bit 30 and are killed
 * by the architecture check before any set is consulted). */
#define SANDBOX_NR_MAX 512

/* A set of syscall numbers, as resolved from names, aliases and groups. */
struct sandbox_sysset {
	uint64_t bits[SANDBOX_NR_MAX / 64];
	/* `fork` was named: clone *without* CLONE_THREAD belongs to the set
	 * (the clone bit itself stays clear, threads remain possible). */
	bool clone_fork;
};

/* True if `name` is a syscall libseccomp knows on x86-64, an alias, or a
 * @group. */
bool sandbox_syscall_name_valid(const char *name);

/* Add every syscall that `name` (real name, alias or @group) stands for.
 * Returns 0, or -EINVAL for an unknown name (set unchanged). */
int sandbox_sysset_add(struct sandbox_sysset *set, const char *name) WARN_UNUSED;

/* Add / test one number.  Out-of-range numbers are ignored / false. */
void sandbox_sysset_add_nr(struct sandbox_sysset *set, int nr);
bool sandbox_sysset_has(const struct sandbox_sysset *set, int nr);

/* The syscalls denied (and reported) whatever the policy says: io_uring_*,
 * bpf, perf_event_open, ptrace, module and kexec calls, mount family,
 * unshare/setns, seccomp, ...  prctl(PR_SET_SECCOMP), ioctl(TIOCSTI) and
 * personality(non-default) are handled by argument rules in filter.c and are
 * not in this set. */
void sandbox_syscalls_always_denied(struct sandbox_sysset *set);

/* Name of x86-64 syscall `nr` copied into `out` (at most `len` bytes with
 * NUL); "nr_N" when unknown.  No allocation that outlives the call. */
void sandbox_syscall_name(int nr, char *out, unsigned len);

#endif
