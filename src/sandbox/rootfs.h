/*
 * rootfs.h: the minimal root of a sandbox's mount namespace.
 *
 * Inside a new mount namespace (private propagation), the plugin gets a
 * fresh tmpfs as `/` holding only: every existing filesystem_access entry
 * bind-mounted at its own path (read-only for `:ro`), the harmless devices
 * (/dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom), the
 * plugin's own file when no entry already shows it, a fresh /proc of the
 * sandbox's pid namespace (not the host's) and, when tmp_size is not 0, a
 * fresh tmpfs as the job's private /tmp (size = tmp_size, mode 1777, nosuid,
 * nodev; a listed "/tmp" entry is this tmpfs, not the host's /tmp; entries
 * below /tmp are still bound from the host on top of it).  The old root is detached.  The
 * working directory is kept when it lies under an entry, else `/`.
 *
 * The plan (every path and flag) is computed in the parent; applying it in
 * the child is a list of mkdir/open/mount syscalls: no allocation between
 * fork and exec.  Landlock rules are bound to inodes, so they keep working
 * through the bind mounts; the fresh /proc gets its own rule when /proc is
 * listed (sandbox_rootfs_apply adds it), and so does the private /tmp.
 */
#ifndef STAVILY_SANDBOX_ROOTFS_H
#define STAVILY_SANDBOX_ROOTFS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"
#include "sandbox/policy.h"

struct sandbox_rootfs;

/* Plan the root for `p`, the resolved `program`, working directory `cwd`
 * (may be NULL), Landlock rights `proc_rights` for a listed /proc and
 * `tmp_rights` for the private /tmp (0 if not listed or no Landlock).
 * Returns 0 and *out (free with sandbox_rootfs_free), or -errno with a
 * message in `err`. */
int sandbox_rootfs_plan(const struct sandbox_policy *p, const char *program, const char *cwd,
    uint64_t proc_rights, uint64_t tmp_rights, struct sandbox_rootfs **out,
    char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* Child side, async-signal-safe: build the root and pivot into it.
 * `landlock_fd` (or -1) receives the rules for the fresh /proc and /tmp.  Must run in
 * a new mount namespace with CAP_SYS_ADMIN over it.  Returns 0 or -errno. */
int sandbox_rootfs_apply(const struct sandbox_rootfs *rf, int landlock_fd);

void sandbox_rootfs_free(struct sandbox_rootfs *rf);

#endif
