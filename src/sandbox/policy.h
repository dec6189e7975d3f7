/*
 * policy.h: a sandbox policy, resolved and ready to build a sandbox from.
 *
 * Built from the brief's defaults (sandbox_policy_init_default), from a
 * config section (sandbox_policy_from_config) and adjusted by --set style
 * KEY=VALUE strings (sandbox_policy_set).  Syscall names are resolved here,
 * so an unknown name is an error before anything runs.
 */
#ifndef STAVILY_SANDBOX_POLICY_H
#define STAVILY_SANDBOX_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/util.h"
#include "config/config.h"
#include "sandbox/syscalls.h"

/* Caps on what a policy may hold (policies come from files and --set). */
#define SANDBOX_MAX_FS_RULES 64
#define SANDBOX_MAX_PATH 4096
#define SANDBOX_ERR_LEN 256
#define SANDBOX_CGROUP_SETTING_MAX 480

/* The descriptor number the plugin is started from (execveat(SANDBOX_EXEC_FD,
 * "", ..., AT_EMPTY_PATH), see spawn.h).  The plugin's RLIMIT_NOFILE (soft
 * and hard) never exceeds it, so the plugin can never create a descriptor
 * with that number: max_open_files is capped at it, and 0 means it. */
#define SANDBOX_EXEC_FD 1000
#define SANDBOX_MAX_OPEN_FILES SANDBOX_EXEC_FD

/* One filesystem_access entry. */
struct sandbox_fs_rule {
	char *path;   /* absolute, owned */
	bool write;   /* ":rw" (default) or ":ro" */
};

/* Layers that `require` can name (bit mask). */
enum sandbox_layer {
	SANDBOX_LAYER_SECCOMP = 1 << 0,
	SANDBOX_LAYER_USER_NOTIF = 1 << 1,
	SANDBOX_LAYER_LANDLOCK = 1 << 2,
	SANDBOX_LAYER_NAMESPACES = 1 << 3,
	SANDBOX_LAYER_NNP = 1 << 4,
	SANDBOX_LAYER_CAPS = 1 << 5,
	SANDBOX_LAYER_RLIMITS = 1 << 6,
	SANDBOX_LAYER_CGROUP = 1 << 7,
};

struct sandbox_policy {
	uint64_t memory_limit;       /* bytes, 0 = none */
	double cpu_limit;            /* share of one core, 0 = none */
	enum sandbox_net network;
	struct sandbox_fs_rule fs[SANDBOX_MAX_FS_RULES];
	size_t n_fs;
	bool allowlist;              /* allowed_syscalls non-empty */
	struct sandbox_sysset allowed; /* allowed names + @default when allowlist */
	struct sandbox_sysset blocked; /* always wins */
	uint64_t wall_timeout_ms;
	uint64_t max_output;
	uint64_t max_processes;
	uint64_t max_open_files;
	uint64_t max_file_size;
	enum sandbox_on_violation on_violation;
	uint64_t max_violations;
	uid_t uid;                   /* used when started as root */
	gid_t gid;
	enum sandbox_ns_mode namespaces;
	unsigned require;            /* enum sandbox_layer bits */
	bool report_fs_denials;
	uint64_t tmp_size;
	/* cgroup v2 (cgroup.h): "auto" (default), "off" or an absolute path
	 * of a delegated directory.  Local configuration only: not settable
	 * through sandbox_policy_set (a job must not pick a cgroup). */
	char cgroup[SANDBOX_CGROUP_SETTING_MAX];
	bool user_notif_off;         /* sandbox.user_notification: off (test and
	                              * diagnostic switch): build the filter as if
	                              * the kernel had no user notification */
};

/* The brief's sandbox block plus the documented defaults of the added keys
 * (docs/sandbox.md).  Cannot fail. */
void sandbox_policy_init_default(struct sandbox_policy *p);

/* Replace `p` by the policy of a config section.  Returns 0, or -EINVAL with
 * a message in `err` (e.g. an unknown syscall name).  Free with
 * sandbox_policy_free even on failure. */
int sandbox_policy_from_config(struct sandbox_policy *p, const struct config_sandbox *cs,
    char err[SANDBOX_ERR_LEN]) WARN_UNUSED;

/* Apply one "KEY=VALUE" (keys relative to the section: memory_limit,
 * wall_timeout, filesystem_access, allowed_syscalls, ...).  Lists are
 * comma-separated; an empty value is the empty list.  Returns 0, or -EINVAL
 * with a message in `err`. */
int sandbox_policy_set(struct sandbox_policy *p, const char *kv, char err[SANDBOX_ERR_LEN])
    WARN_UNUSED;

/* Free the paths a policy owns; `p` may then be re-initialised. */
void sandbox_policy_free(struct sandbox_policy *p);

/* Parsers shared with the tests: "256MB", "64k", "1048576" -> bytes;
 * "60s", "500ms", "2m", "1h" -> milliseconds.  Return 0 or -EINVAL. */
int sandbox_parse_size(const char *s, uint64_t *out) WARN_UNUSED;
int sandbox_parse_duration_ms(const char *s, uint64_t *out) WARN_UNUSED;

/* Name of a layer bit ("seccomp", "landlock", ...). */
const char *sandbox_layer_name(unsigned bit);

#endif
