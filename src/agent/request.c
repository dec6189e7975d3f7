/* see request.h */
#include "agent/request.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
request_status_name(enum request_status s)
{
	switch (s) {
	case REQUEST_OK: return "ok";
	case REQUEST_E_PLUGIN: return "plugin_refused";
	case REQUEST_E_DIGEST: return "digest_mismatch";
	case REQUEST_E_ARGS: return "invalid_arguments";
	case REQUEST_E_LIMITS: return "policy_loosening_refused";
	case REQUEST_E_NOMEM: return "out_of_memory";
	}
	return "unknown";
}

int
request_policy_copy(struct sandbox_policy *dst, const struct sandbox_policy *src)
{
	size_t i;

	*dst = *src;
	for (i = 0; i < src->n_fs; i++)
		dst->fs[i].path = NULL;
	for (i = 0; i < src->n_fs; i++) {
		dst->fs[i].path = strdup(src->fs[i].path);
		if (dst->fs[i].path == NULL) {
			sandbox_policy_free(dst);
			return -ENOMEM;
		}
	}
	return 0;
}

/* A numeric limit where 0 means "none" (the loosest value). */
static bool
limit_within(uint64_t local, uint64_t cand)
{
	return local == 0 || (cand != 0 && cand <= local);
}

/* `path` equal to or beneath `dir` (both absolute). */
static bool
beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (strcmp(dir, "/") == 0)
		return path[0] == '/';
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static bool
path_clean(const char *p)
{
	return p[0] == '/' && strstr(p, "/../") == NULL && strstr(p, "/./") == NULL &&
	    (strlen(p) < 3 || strcmp(p + strlen(p) - 3, "/..") != 0) &&
	    (strlen(p) < 2 || strcmp(p + strlen(p) - 2, "/.") != 0);
}

static bool
sysset_subset(const struct sandbox_sysset *a, const struct sandbox_sysset *b)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(a->bits); i++)
		if (a->bits[i] & ~b->bits[i])
			return false;
	return !a->clone_fork || b->clone_fork;
}

static int
ns_rank(enum sandbox_ns_mode m)
{
	return m == SANDBOX_NS_OFF ? 0 : m == SANDBOX_NS_AUTO ? 1 : 2;
}

#define LOOSER(name) do { snprintf(field, 64, "%s", name); return false; } while (0)

bool
request_policy_within(const struct sandbox_policy *local, const struct sandbox_policy *cand,
    char field[64])
{
	size_t i, j;

	field[0] = '\0';
	if (!limit_within(local->memory_limit, cand->memory_limit))
		LOOSER("memory_limit");
	if (!(local->cpu_limit == 0 || (cand->cpu_limit > 0 && cand->cpu_limit <= local->cpu_limit)))
		LOOSER("cpu_limit");
	if (cand->network > local->network)
		LOOSER("network_access");
	for (i = 0; i < cand->n_fs; i++) {
		bool covered = false;

		if (!path_clean(cand->fs[i].path))
			LOOSER("filesystem_access");
		for (j = 0; j < local->n_fs && !covered; j++)
			covered = beneath(cand->fs[i].path, local->fs[j].path) &&
			    (!cand->fs[i].write || local->fs[j].write);
		if (!covered)
			LOOSER("filesystem_access");
	}
	if (local->allowlist &&
	    (!cand->allowlist || !sysset_subset(&cand->allowed, &local->allowed)))
		LOOSER("allowed_syscalls");
	if (!sysset_subset(&local->blocked, &cand->blocked))
		LOOSER("blocked_syscalls");
	if (!limit_within(local->wall_timeout_ms, cand->wall_timeout_ms))
		LOOSER("wall_timeout");
	if (!limit_within(local->max_output, cand->max_output))
		LOOSER("max_output");
	if (!limit_within(local->max_processes, cand->max_processes))
		LOOSER("max_processes");
	if (!limit_within(local->max_open_files, cand->max_open_files))
		LOOSER("max_open_files");
	if (!limit_within(local->max_file_size, cand->max_file_size))
		LOOSER("max_file_size");
	if (local->on_violation == SANDBOX_VIOLATION_KILL && cand->on_violation != SANDBOX_VIOLATION_KILL)
		LOOSER("on_violation");
	if (!limit_within(local->max_violations, cand->max_violations))
		LOOSER("max_violations");
	if (cand->uid != local->uid || cand->gid != local->gid)
		LOOSER("user");
	if (ns_rank(cand->namespaces) < ns_rank(local->namespaces))
		LOOSER("namespaces");
	if ((local->require & ~cand->require) != 0)
		LOOSER("require");
	if (local->report_fs_denials && !cand->report_fs_denials)
		LOOSER("report_fs_denials");
	if (!limit_within(local->tmp_size, cand->tmp_size))
		LOOSER("tmp_size");
	return true;
}

/* Apply "key=value" entries (manifest or job) to `p`, keeping the local
 * blocked list.  `who` names the source in messages. */
static enum request_status
apply_limits(struct sandbox_policy *p, const struct sandbox_policy *local, char *const *kv,
    size_t n, const char *who, char err[REQUEST_ERR_LEN])
{
	char serr[SANDBOX_ERR_LEN];
	size_t i, j;

	for (i = 0; i < n; i++) {
		const char *k = kv[i];

		if (strncmp(k, "sandbox.", 8) == 0)
			k += 8;
		if (strncmp(k, "user=", 5) == 0) {
			snprintf(err, REQUEST_ERR_LEN, "%s may not set the sandbox user", who);
			return REQUEST_E_LIMITS;
		}
		if (sandbox_policy_set(p, kv[i], serr) != 0) {
			snprintf(err, REQUEST_ERR_LEN, "%s: %s", who, serr);
			return REQUEST_E_LIMITS;
		}
	}
	/* A job adds blocked syscalls; it never removes the local ones. */
	for (j = 0; j < ARRAY_SIZE(p->blocked.bits); j++)
		p->blocked.bits[j] |= local->blocked.bits[j];
	p->blocked.clone_fork |= local->blocked.clone_fork;
	return REQUEST_OK;
}

enum request_status
request_check(const struct sandbox_policy *local, const char *plugins_dir, enum manifest_type type,
    const struct msg *run, struct request_plan *plan, char err[REQUEST_ERR_LEN])
{
	char merr[MANIFEST_ERR_LEN], field[64];
	enum manifest_status ms;
	enum request_status st;
	cJSON *args = NULL;
	const char *end = NULL;
	bool have_policy = false;

	memset(plan, 0, sizeof(*plan));
	err[0] = '\0';
	if (run->type != MSG_RUN_JOB) {
		snprintf(err, REQUEST_ERR_LEN, "not a job request");
		return REQUEST_E_ARGS;
	}
	ms = manifest_load(plugins_dir, run->plugin, &plan->manifest, merr);
	if (ms != MANIFEST_OK) {
		snprintf(err, REQUEST_ERR_LEN, "%s", merr);
		return REQUEST_E_PLUGIN;
	}
	if (plan->manifest.type != type) {
		snprintf(err, REQUEST_ERR_LEN, "plugin '%s' is a %s plugin", run->plugin,
		    plan->manifest.type == MANIFEST_ACTION ? "action" : "sensor");
		st = REQUEST_E_PLUGIN;
		goto fail;
	}
	args = cJSON_ParseWithOpts(run->args != NULL ? run->args : "", &end, 1);
	if (args == NULL || !cJSON_IsObject(args)) {
		snprintf(err, REQUEST_ERR_LEN, "job arguments must be a JSON object");
		st = REQUEST_E_ARGS;
		goto fail;
	}
	if (request_policy_copy(&plan->policy, local) != 0) {
		st = REQUEST_E_NOMEM;
		goto fail;
	}
	have_policy = true;
	st = apply_limits(&plan->policy, local, plan->manifest.policy, plan->manifest.n_policy,
	    "manifest policy", err);
	if (st == REQUEST_OK)
		st = apply_limits(&plan->policy, local, run->limits, run->n_limits, "job limits", err);
	if (st != REQUEST_OK)
		goto fail;
	if (!request_policy_within(local, &plan->policy, field)) {
		snprintf(err, REQUEST_ERR_LEN, "refused: %s would loosen the local policy", field);
		st = REQUEST_E_LIMITS;
		goto fail;
	}
	ms = manifest_verify_open(plugins_dir, &plan->manifest, run->digest, plan->program,
	    &plan->exec_fd, merr);
	plan->have_exec_fd = ms == MANIFEST_OK;
	if (ms != MANIFEST_OK) {
		snprintf(err, REQUEST_ERR_LEN, "%s", merr);
		st = ms == MANIFEST_E_DIGEST || ms == MANIFEST_E_PIN ? REQUEST_E_DIGEST : REQUEST_E_PLUGIN;
		goto fail;
	}
	cJSON_Delete(args);
	return REQUEST_OK;
fail:
	cJSON_Delete(args);
	if (have_policy)
		sandbox_policy_free(&plan->policy);
	manifest_free(&plan->manifest);
	memset(plan, 0, sizeof(*plan));
	return st;
}

void
request_plan_free(struct request_plan *plan)
{
	if (plan == NULL)
		return;
	sandbox_policy_free(&plan->policy);
	manifest_free(&plan->manifest);
	if (plan->have_exec_fd)
		close(plan->exec_fd);
	memset(plan, 0, sizeof(*plan));
}
