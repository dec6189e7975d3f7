/*
 * request.h: the spawner's check of a RUN_JOB request from the worker.
 *
 * The worker parses the network, so the spawner trusts nothing it says.  A
 * request is accepted only if:
 *   - the plugin is installed (a valid manifest in plugins_dir) and of the
 *     agent's type (action agents run action plugins, sensors sensors);
 *   - the arguments are a JSON object (<= MSG_ARGS_MAX bytes, enforced by
 *     msg.h);
 *   - the manifest's policy and then the job's limits, applied on top of the
 *     local policy, only *tighten* it: every field is compared
 *     (request_policy_within), and the keys "user" and unknown keys are
 *     refused.  List keys replace the list, except blocked_syscalls, whose
 *     local entries are always kept (a job can add, never remove);
 *   - the executable's SHA-256 matches the manifest, and the job's pin when
 *     it gives one (manifest_verify).
 */
#ifndef STAVILY_AGENT_REQUEST_H
#define STAVILY_AGENT_REQUEST_H

#include <limits.h>
#include <stdbool.h>

#include "agent/manifest.h"
#include "agent/msg.h"
#include "base/util.h"
#include "sandbox/policy.h"

#define REQUEST_ERR_LEN 320

enum request_status {
	REQUEST_OK = 0,
	REQUEST_E_PLUGIN,     /* unknown, malformed, unsafe or wrong-type plugin */
	REQUEST_E_DIGEST,     /* digest mismatch or pin mismatch */
	REQUEST_E_ARGS,       /* arguments are not a JSON object */
	REQUEST_E_LIMITS,     /* a limit is invalid or would loosen the policy */
	REQUEST_E_NOMEM,
};

/* What the spawner needs to run an accepted job. */
struct request_plan {
	struct manifest manifest;
	struct sandbox_policy policy;   /* effective policy (owned; request_plan_free) */
	char program[PATH_MAX];         /* verified executable */
	bool have_exec_fd;              /* exec_fd is open (request_plan_free closes it) */
	int exec_fd;                    /* the descriptor whose bytes matched the digest:
	                                 * start the sandbox from it (sandbox_run_start_fd) */
};

/*
 * Check `run` (a decoded MSG_RUN_JOB) against `local` and the plugins in
 * `plugins_dir`; `type` is the agent's type.  On REQUEST_OK `plan` is filled
 * (free with request_plan_free); otherwise `err` says why (safe to send back
 * to the orchestrator: no secrets) and `plan` holds nothing.
 */
enum request_status request_check(const struct sandbox_policy *local, const char *plugins_dir,
    enum manifest_type type, const struct msg *run, struct request_plan *plan,
    char err[REQUEST_ERR_LEN]) WARN_UNUSED;

void request_plan_free(struct request_plan *plan);

/*
 * True if `cand` is at least as strict as `local` in every field.  On
 * false, `field` names the first field that is looser.
 */
bool request_policy_within(const struct sandbox_policy *local, const struct sandbox_policy *cand,
    char field[64]);

/* Deep copy of a policy (paths duplicated).  Returns 0 or -ENOMEM (then
 * `dst` holds nothing to free). */
int request_policy_copy(struct sandbox_policy *dst, const struct sandbox_policy *src) WARN_UNUSED;

const char *request_status_name(enum request_status s);

#endif
