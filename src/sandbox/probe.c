/* see probe.h */
#include "sandbox/probe.h"

#include <errno.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "sandbox/landlock.h"

#define MOUNTINFO_MAX (256 * 1024)
#define CGROUP_FILE_MAX 4096

/* Run `flags` unshare in a child; true if it worked. */
static bool
try_unshare(int flags)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return false;
	if (pid == 0)
		_exit(unshare(flags) == 0 ? 0 : 1);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
probe_cgroup(struct sandbox_probe *pr)
{
	char *mi = NULL, *cg = NULL, *ctl = NULL, *line, *save = NULL;
	char mnt[1024] = "", path[2048], *rel = NULL;
	size_t len;

	if (file_read_all("/proc/self/mountinfo", MOUNTINFO_MAX, &mi, &len) != 0)
		goto out;
	for (line = strtok_r(mi, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
		char *dash = strstr(line, " - cgroup2 ");
		char point[1024];

		if (dash == NULL)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %1023s", point) == 1) {
			snprintf(mnt, sizeof(mnt), "%s", point);
			break;
		}
	}
	if (mnt[0] == '\0')
		goto out;
	pr->cgroup_v2_mounted = true;
	/* Our own v2 cgroup: the "0::" line of /proc/self/cgroup. */
	if (file_read_all("/proc/self/cgroup", CGROUP_FILE_MAX, &cg, &len) != 0)
		goto out;
	save = NULL;
	for (line = strtok_r(cg, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save))
		if (strncmp(line, "0::", 3) == 0)
			rel = line + 3;
	if (rel == NULL)
		goto out;
	snprintf(path, sizeof(path), "%s%s", mnt, strcmp(rel, "/") == 0 ? "" : rel);
	pr->cgroup_v2_writable = access(path, W_OK) == 0;
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "/cgroup.controllers");
	if (file_read_all(path, CGROUP_FILE_MAX, &ctl, &len) == 0) {
		char *tok;

		save = NULL;
		for (tok = strtok_r(ctl, " \n", &save); tok != NULL && pr->n_controllers < SANDBOX_PROBE_MAX_CONTROLLERS;
		    tok = strtok_r(NULL, " \n", &save))
			snprintf(pr->cgroup_v2_controllers[pr->n_controllers++], 32, "%s", tok);
	}
out:
	free(mi);
	free(cg);
	free(ctl);
}

void
sandbox_probe_run(struct sandbox_probe *pr)
{
	unsigned action = SECCOMP_RET_USER_NOTIF;

	memset(pr, 0, sizeof(*pr));
	pr->root = geteuid() == 0;
	pr->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	pr->seccomp_user_notif = pr->seccomp &&
	    syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
	pr->landlock_abi = sandbox_landlock_abi();
	pr->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) >= 0;
	/* Ask as the unprivileged user would: a root probe answers the same
	 * question for the unprivileged runs it may start later. */
	pr->user_namespaces = try_unshare(CLONE_NEWUSER);
	pr->namespaces = pr->root ?
	    try_unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET) :
	    try_unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
		CLONE_NEWNET);
	probe_cgroup(pr);
}

/* A sysctl holding an integer; `dflt` when absent or unreadable. */
static long
sysctl_long(const char *path, long dflt)
{
	char *s = NULL;
	size_t len;
	long v = dflt;

	if (file_read_all(path, 64, &s, &len) == 0)
		v = strtol(s, NULL, 10);
	free(s);
	return v;
}

void
sandbox_probe_quick(struct sandbox_probe *pr)
{
	unsigned action = SECCOMP_RET_USER_NOTIF;

	memset(pr, 0, sizeof(*pr));
	pr->root = geteuid() == 0;
	pr->seccomp = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
	pr->seccomp_user_notif = pr->seccomp &&
	    syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) == 0;
	pr->landlock_abi = sandbox_landlock_abi();
	pr->no_new_privs = true;
	pr->user_namespaces = sysctl_long("/proc/sys/user/max_user_namespaces", 1) > 0 &&
	    sysctl_long("/proc/sys/kernel/unprivileged_userns_clone", 1) != 0;
	pr->namespaces = pr->root || pr->user_namespaces;
}

cJSON *
sandbox_probe_json(const struct sandbox_probe *pr)
{
	cJSON *o = cJSON_CreateObject(), *cg, *ctl;
	int i;

	if (o == NULL)
		return NULL;
	cJSON_AddBoolToObject(o, "seccomp", pr->seccomp);
	cJSON_AddBoolToObject(o, "seccomp_user_notif", pr->seccomp_user_notif);
	cJSON_AddNumberToObject(o, "landlock_abi", pr->landlock_abi);
	cJSON_AddBoolToObject(o, "user_namespaces", pr->user_namespaces);
	cJSON_AddBoolToObject(o, "namespaces", pr->namespaces);
	cg = cJSON_AddObjectToObject(o, "cgroup_v2");
	if (cg == NULL)
		goto fail;
	cJSON_AddBoolToObject(cg, "mounted", pr->cgroup_v2_mounted);
	cJSON_AddBoolToObject(cg, "writable", pr->cgroup_v2_writable);
	ctl = cJSON_AddArrayToObject(cg, "controllers");
	if (ctl == NULL)
		goto fail;
	for (i = 0; i < pr->n_controllers; i++)
		cJSON_AddItemToArray(ctl, cJSON_CreateString(pr->cgroup_v2_controllers[i]));
	cJSON_AddBoolToObject(o, "no_new_privs", pr->no_new_privs);
	cJSON_AddBoolToObject(o, "root", pr->root);
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}
