/*
 * probe.h: which sandbox layers this kernel and our privileges offer.
 *
 * Every answer comes from asking the kernel (a syscall or a throw-away
 * child), never from version numbers, so `stavily sandbox probe` tells the
 * truth on kernels with backports or with features disabled by sysctl/LSM.
 */
#ifndef STAVILY_SANDBOX_PROBE_H
#define STAVILY_SANDBOX_PROBE_H

#include <stdbool.h>

#include <cjson/cJSON.h>

#include "base/util.h"
#include "sandbox/cgroup.h"

#define SANDBOX_PROBE_MAX_CONTROLLERS 16

struct sandbox_probe {
	bool seccomp;
	bool seccomp_user_notif;
	int landlock_abi;            /* 0 = none */
	bool user_namespaces;        /* an unprivileged user namespace can be created */
	bool namespaces;             /* we can create mount/pid/ipc/uts/net namespaces now */
	bool cgroup_v2_mounted;
	bool cgroup_v2_writable;     /* our own cgroup directory is writable */
	char cgroup_v2_controllers[SANDBOX_PROBE_MAX_CONTROLLERS][32];
	int n_controllers;
	struct sandbox_cgroup_site cgroup_site; /* sandbox.cgroup: auto, looked up
	                                         * without side effects (probe only) */
	bool no_new_privs;
	bool root;
};

/* Fill `pr`.  Forks short-lived children for the namespace questions.
 * Never fails: an unanswerable question is answered "no". */
void sandbox_probe_run(struct sandbox_probe *pr);

/* What `sandbox run` needs, without forking: seccomp, user notification,
 * Landlock, root, and whether namespaces are worth trying (root, or user
 * namespaces not disabled by sysctl).  A namespace that then fails under
 * namespaces=auto is simply not applied. */
void sandbox_probe_quick(struct sandbox_probe *pr);

/* The probe as the JSON object `stavily sandbox probe` prints (caller
 * frees), NULL on allocation failure. */
cJSON *sandbox_probe_json(const struct sandbox_probe *pr) WARN_UNUSED;

#endif
