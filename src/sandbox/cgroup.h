/*
 * cgroup.h: cgroup v2 limits for sandboxes (memory.max, cpu.max, pids.max).
 *
 * A "site" is the delegated cgroup v2 directory we may create children in,
 * found once per process from the policy's `cgroup` setting:
 *   - "off": never used;
 *   - "auto" (default): the cgroup2 mount (statfs magic CGROUP2_SUPER_MAGIC,
 *     found in /proc/self/mountinfo) + our own cgroup (the "0::" line of
 *     /proc/self/cgroup), used only when it is delegated to us: not the root
 *     of the hierarchy, writable, and either owned by our (non-root) uid or
 *     marked by systemd's "trusted.delegate"/"user.delegate" xattr
 *     (Delegate=yes).  A root-owned cgroup without that mark belongs to the
 *     machine, and we never write into it;
 *   - an absolute path: the operator's statement that this cgroup2 directory
 *     is ours; it must be on a cgroup2 filesystem and writable.
 * Setting the site up (setup = true) enables, in the site directory only,
 * the controllers of memory/cpu/pids that its cgroup.controllers offers.
 * cgroup v2 forbids controllers in the subtree of a cgroup that holds
 * processes ("no internal processes"): when the write fails with EBUSY and
 * the site is our own cgroup (auto, or a path equal to our cgroup), we move
 * this process into a leaf "<site>/supervisor" and retry; otherwise the
 * controllers stay off and the reason is reported.
 *
 * Each run gets a child "<site>/stavily-<pid>-<n>" holding the limits; the
 * plugin is cloned straight into it (clone3 CLONE_INTO_CGROUP, so no code of
 * ours or the plugin's ever runs outside it).  At the end the usage is read
 * and the child removed (cgroup.kill first when something remains).
 *
 * Every limit says which mechanism applied and why (struct
 * sandbox_limits_how): cgroup when the controller works, else the fallback
 * (rlimit for memory and processes, the supervisor's duty cycle for CPU).
 */
#ifndef STAVILY_SANDBOX_CGROUP_H
#define STAVILY_SANDBOX_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "sandbox/policy.h"

#define SANDBOX_CGROUP_PATH_MAX 512
#define SANDBOX_CGROUP_WHY_LEN 320
/* cpu.max period (microseconds): the kernel's default. */
#define SANDBOX_CGROUP_CPU_PERIOD_US 100000
/* Smallest quota the kernel accepts (microseconds). */
#define SANDBOX_CGROUP_CPU_MIN_QUOTA_US 1000

/* The controllers we use (bits). */
enum sandbox_cgroup_ctl {
	SANDBOX_CG_MEMORY = 1 << 0,
	SANDBOX_CG_CPU = 1 << 1,
	SANDBOX_CG_PIDS = 1 << 2,
};

/* The delegated directory and what it offers. */
struct sandbox_cgroup_site {
	bool mounted;                           /* a cgroup2 filesystem is mounted */
	char mount[SANDBOX_CGROUP_PATH_MAX];    /* its mount point, "" if none */
	char self[SANDBOX_CGROUP_PATH_MAX];     /* our cgroup, relative ("/..."), "" if unknown */
	bool self_writable;                     /* mount+self is writable by us */
	bool delegated;                         /* mount+self is delegated to us (see above) */
	char dir[SANDBOX_CGROUP_PATH_MAX];      /* the directory runs use, "" = none */
	unsigned available;                     /* of ours, listed in dir/cgroup.controllers */
	unsigned enabled;                       /* of ours, in dir/cgroup.subtree_control */
	bool moved_self;                        /* we moved into dir/supervisor (setup only) */
	char why[SANDBOX_CGROUP_WHY_LEN];       /* why dir is "" or a controller is off */
};

/* How one limit is enforced. */
enum sandbox_limit_by {
	SANDBOX_BY_NONE,        /* no limit configured */
	SANDBOX_BY_CGROUP,      /* memory.max / cpu.max / pids.max */
	SANDBOX_BY_RLIMIT,      /* RLIMIT_AS+RLIMIT_DATA / RLIMIT_NPROC */
	SANDBOX_BY_DUTY_CYCLE,  /* supervisor's SIGSTOP/SIGCONT (cpu) */
	SANDBOX_BY_SECCOMP,     /* processes: fork is blocked by the filter */
};
struct sandbox_limit_how {
	enum sandbox_limit_by by;
	char why[SANDBOX_CGROUP_WHY_LEN];
};
struct sandbox_limits_how {
	struct sandbox_limit_how memory, cpu, processes;
};

/* One run's cgroup. */
struct sandbox_cgroup {
	int dirfd;                              /* O_DIRECTORY fd (CLONE_INTO_CGROUP), -1 = none */
	char path[SANDBOX_CGROUP_PATH_MAX + 64];
	unsigned limited;                       /* controllers whose limit was written */
};

/* What a run used, read from its cgroup at the end (0 = not available). */
struct sandbox_cgroup_usage {
	char path[SANDBOX_CGROUP_PATH_MAX + 64]; /* the run's cgroup, "" = none */
	bool memory, pids, cpu;                 /* which files could be read */
	uint64_t memory_peak;                   /* bytes (memory.peak) */
	uint64_t oom_kill;                      /* memory.events oom_kill */
	uint64_t memory_max_events;             /* memory.events max */
	uint64_t pids_max_events;               /* pids.events max */
	uint64_t cpu_usage_usec;                /* cpu.stat usage_usec */
	uint64_t cpu_throttled_usec;            /* cpu.stat throttled_usec */
};

/*
 * Find the site for `setting` ("auto", "off" or a path; NULL = "auto").
 * With `setup`, also enable controllers as described above (side effects:
 * writes to the site's cgroup.subtree_control, maybe moving this process
 * into <site>/supervisor); without, only look (probe).  Never fails: an
 * unusable site has dir "" and a reason in `why`.
 */
void sandbox_cgroup_locate(const char *setting, bool setup, struct sandbox_cgroup_site *s);

/* sandbox_cgroup_locate(setting, true) once per process and setting (the
 * result is cached; thread-safe).  Returns a pointer to the cached site. */
const struct sandbox_cgroup_site *sandbox_cgroup_site_get(const char *setting);

/* Decide per limit of `p` how it is enforced at site `s` (NULL = no site),
 * `fork_allowed` as the filter says.  `extra_why`, when not NULL, replaces
 * the reason for every limit that could have used the cgroup (e.g. the run's
 * cgroup could not be created).  Pure. */
void sandbox_cgroup_plan(const struct sandbox_cgroup_site *s, const struct sandbox_policy *p,
    bool fork_allowed, const char *extra_why, struct sandbox_limits_how *how);

/* For `require: [cgroup]`: the first configured limit of `p` that `how`
 * does not enforce by cgroup ("memory", "cpu", "processes"), its reason in
 * *why; NULL when every configured limit is by cgroup. */
const char *sandbox_cgroup_missing(const struct sandbox_policy *p,
    const struct sandbox_limits_how *how, const char **why);

/* Create this run's child under `s` and write the limits `how` assigns to
 * the cgroup.  Returns 0 (cg->dirfd open) or -errno with a reason in `why`
 * (nothing left behind). */
int sandbox_cgroup_create(const struct sandbox_cgroup_site *s, const struct sandbox_policy *p,
    const struct sandbox_limits_how *how, struct sandbox_cgroup *cg,
    char why[SANDBOX_CGROUP_WHY_LEN]) WARN_UNUSED;

/* clone3() with `flags` | CLONE_PIDFD | CLONE_INTO_CGROUP and SIGCHLD as
 * exit signal, into the cgroup open at `cgroup_fd`: fork semantics (0 in
 * the child, the pid in the parent, -1 with errno set on failure); *pidfd
 * receives the pidfd.  `flags` holds CLONE_* bits only (no signal). */
long sandbox_cgroup_clone(uint64_t flags, int *pidfd, int cgroup_fd);

/* Whether clone errno `e` (of sandbox_cgroup_clone with `flags`) comes from
 * the cgroup part (permission on cgroup.procs, clone3 missing or filtered,
 * a cgroup that cannot take processes) rather than from the namespaces. */
bool sandbox_cgroup_clone_error(int e, uint64_t flags);

/* Read the usage files of `cg` (missing files leave their fields 0). */
void sandbox_cgroup_read_usage(const struct sandbox_cgroup *cg, struct sandbox_cgroup_usage *u);

/* Kill what remains (cgroup.kill, else SIGKILL to each pid listed), remove
 * the directory (bounded wait for exiting tasks), close the fd.  Returns 0
 * or -errno of the last rmdir; cg is reset either way.  No-op when unused. */
int sandbox_cgroup_destroy(struct sandbox_cgroup *cg);

/* Name of a mechanism ("cgroup", "rlimit", "duty_cycle", "seccomp", "none"). */
const char *sandbox_limit_by_name(enum sandbox_limit_by by);

/* ---- text helpers (unit-tested) ---- */

/* The path of the "0::" line of /proc/self/cgroup text `text` into `out`.
 * Returns 0, -ENOENT without such a line, -ENAMETOOLONG. */
int sandbox_cgroup_parse_self(const char *text, char *out, size_t cap) WARN_UNUSED;

/* One /proc/self/mountinfo line: 1 and the (unescaped) mount point in
 * `point` when its filesystem type is cgroup2, 0 for another type,
 * -EINVAL when malformed, -ENAMETOOLONG. */
int sandbox_cgroup_mountinfo_line(const char *line, char *point, size_t cap) WARN_UNUSED;

/* cpu.max text for `share` of one core: "<quota> <period>", quota rounded
 * and at least SANDBOX_CGROUP_CPU_MIN_QUOTA_US; "max <period>" for
 * share <= 0. */
void sandbox_cgroup_cpu_max(double share, char *buf, size_t cap);

/* memory.max / pids.max text: the number, or "max" for 0. */
void sandbox_cgroup_max_text(uint64_t v, char *buf, size_t cap);

/* Value of `key` in "key value\n" text (memory.events, cpu.stat, ...).
 * Returns 0, or -ENOENT. */
int sandbox_cgroup_kv(const char *text, const char *key, uint64_t *out) WARN_UNUSED;

/* Parse a cgroup.controllers / subtree_control list into our bits. */
unsigned sandbox_cgroup_ctl_bits(const char *text);

#endif
