/*
 * landlock.h: the filesystem, network and scope rules of a sandbox
 * (Landlock, Linux >= 5.13, best effort by ABI).
 *
 * The ruleset is built in the parent (paths opened O_PATH, rules added),
 * and the child only calls landlock_restrict_self() on the inherited
 * descriptor, after PR_SET_NO_NEW_PRIVS.  What each ABI adds:
 *   1 filesystem rights, 2 REFER (links/renames cannot move files out),
 *   3 TRUNCATE, 4 TCP bind/connect, 5 IOCTL_DEV, 6 scoping of abstract unix
 *   sockets and signals, 7 audit-log flags of restrict_self.
 * The Linux 6.1 UAPI headers we build against stop at ABI 2; the newer
 * constants are defined here from the kernel's documented UAPI.
 */
#ifndef STAVILY_SANDBOX_LANDLOCK_H
#define STAVILY_SANDBOX_LANDLOCK_H

#include <stdint.h>

#include "base/util.h"
#include "sandbox/policy.h"

/* Highest Landlock ABI of the running kernel, 0 when Landlock is missing
 * or disabled. */
int sandbox_landlock_abi(void);

/*
 * Build the ruleset of `p` for ABI `abi` (>= 1): rights under every
 * filesystem_access entry (rw: all, ro: read+execute), read+execute on
 * `program` (the plugin's own file, resolved by the caller), read/write on
 * /dev/null and /dev/full, read on /dev/zero, /dev/random and /dev/urandom
 * (no ioctl), TCP denied
 * unless network is full (ABI >= 4), scoping (ABI >= 6).  Missing paths are
 * skipped (an absent /var/log/stavily grants nothing).  Returns a ruleset
 * descriptor (O_CLOEXEC, caller closes) or -errno with a message in `err`.
 */
int sandbox_landlock_build(const struct sandbox_policy *p, int abi, const char *program,
    char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* The directory rights a `write` (rw) or read-only entry gets under ABI
 * `abi` (what sandbox_landlock_build grants), for rules added later. */
uint64_t sandbox_landlock_dir_rights(bool write, int abi);

/* landlock_restrict_self() flags for ABI `abi`: from ABI 7, denials of the
 * plugin (after exec) go to the kernel audit log and our own pre-exec code's
 * do not. */
unsigned sandbox_landlock_restrict_flags(int abi);

/* Async-signal-safe: restrict the calling thread to `ruleset_fd` with
 * `flags` (see above).  Needs NO_NEW_PRIVS (or CAP_SYS_ADMIN).  Returns 0 or
 * -errno. */
int sandbox_landlock_restrict(int ruleset_fd, unsigned flags);

/* True if `path` (absolute, normalised) lies under an entry of `p` that grants
 * `write` (or any access when !write).  Used only to *report* denials;
 * Landlock is what enforces. */
bool sandbox_landlock_path_allowed(const struct sandbox_policy *p, const char *program,
    const char *path, bool write);

/* True if `path` is `dir` or lies below it (component-wise: "/tmpx" is not
 * under "/tmp"; everything is under "/").  Both must be normalised. */
bool sandbox_path_under(const char *path, const char *dir);

#endif
