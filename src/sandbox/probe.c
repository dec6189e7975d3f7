/* see probe.h */
#include "sandbox/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "sandbox/landlock.h"

#define CGROUP_FILE_MAX 4096
/* An integer sysctl's text ("96365\n"). */
#define SYSCTL_TEXT_MAX 64

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

/* Child side of try_namespaces: write "s" into /proc/self/`name`. */
static int
write_self(const char *name, const char *s)
{
	char path[64];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * Whether a run's namespaces work here, asked the way a run uses them
 * (spawn.c, rootfs.c): in a throwaway child, unshare mount/pid/ipc/uts/net
 * (plus user when not root, with our ids mapped), then in the new pid
 * namespace mount a fresh proc.  The mount is the question unshare alone
 * does not answer: under a container runtime's /proc masks (paths
 * bind-mounted over /proc/kcore, /proc/sys...) the kernel refuses a new
 * proc instance (EPERM), and namespaces: auto then runs without
 * namespaces (spawn.c).  The fresh proc lands on /proc of the throwaway
 * mount namespace only.
 */
static bool
try_namespaces(bool root)
{
	int status, flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
	pid_t pid;

	if (!root)
		flags |= CLONE_NEWUSER;
	pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		char map[64];
		uid_t uid = geteuid();
		gid_t gid = getegid();
		pid_t g;

		if (unshare(flags) != 0)
			_exit(1);
		if (!root) {
			if (write_self("setgroups", "deny") != 0)
				_exit(1);
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
			if (write_self("uid_map", map) != 0)
				_exit(1);
			snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
			if (write_self("gid_map", map) != 0)
				_exit(1);
		}
		g = fork(); /* the first process of the new pid namespace */
		if (g < 0)
			_exit(1);
		if (g == 0) {
			if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
				_exit(1);
			_exit(mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0 ? 0 : 1);
		}
		while (waitpid(g, &status, 0) < 0)
			if (errno != EINTR)
				_exit(1);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* cgroup v2: the site sandbox.cgroup=auto would use (no side effects) and
 * the controllers our own cgroup offers. */
static void
probe_cgroup(struct sandbox_probe *pr)
{
	struct sandbox_cgroup_site *s = &pr->cgroup_site;
	char path[SANDBOX_CGROUP_PATH_MAX * 2 + 32], *ctl = NULL, *tok, *save = NULL;
	size_t len;

	sandbox_cgroup_locate("auto", false, s);
	pr->cgroup_v2_mounted = s->mounted;
	pr->cgroup_v2_writable = s->self_writable;
	if (!s->mounted || s->self[0] == '\0')
		return;
	snprintf(path, sizeof(path), "%s%s/cgroup.controllers", s->mount,
	    strcmp(s->self, "/") == 0 ? "" : s->self);
	if (file_read_all(path, CGROUP_FILE_MAX, &ctl, &len) == 0)
		for (tok = strtok_r(ctl, " \n", &save); tok != NULL &&
		    pr->n_controllers < SANDBOX_PROBE_MAX_CONTROLLERS; tok = strtok_r(NULL, " \n", &save))
			snprintf(pr->cgroup_v2_controllers[pr->n_controllers++], 32, "%s", tok);
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
	pr->namespaces = try_namespaces(pr->root);
	probe_cgroup(pr);
}

/* A sysctl holding an integer; `dflt` when absent or unreadable.  One
 * read into a stack buffer: `sandbox run` asks on every start, and a heap
 * buffer would be this process's first malloc (setting up its arena). */
static long
sysctl_long(const char *path, long dflt)
{
	char s[SYSCTL_TEXT_MAX];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return dflt;
	do
		n = read(fd, s, sizeof(s) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0)
		return dflt;
	s[n] = '\0';
	return strtol(s, NULL, 10);
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

/* Our bits as a JSON array of controller names. */
static cJSON *
ctl_array(unsigned bits)
{
	static const char *const names[] = { "memory", "cpu", "pids" };
	cJSON *a = cJSON_CreateArray();
	unsigned i;

	for (i = 0; a != NULL && i < ARRAY_SIZE(names); i++)
		if (bits & (1u << i))
			cJSON_AddItemToArray(a, cJSON_CreateString(names[i]));
	return a;
}

/* The site sandbox.cgroup=auto would use, and how the default policy's
 * limits would be enforced there (a run also enables the available
 * controllers the site has not enabled yet; the probe only looks). */
static int
cgroup_site_json(const struct sandbox_probe *pr, cJSON *cg)
{
	struct sandbox_cgroup_site would = pr->cgroup_site;
	const struct sandbox_cgroup_site *s = &pr->cgroup_site;
	struct sandbox_policy p;
	struct sandbox_limits_how how;
	cJSON *lim, *l;
	const struct sandbox_limit_how *hs[3];
	static const char *const names[3] = { "memory", "cpu", "processes" };
	int i;

	cJSON_AddStringToObject(cg, "mount", s->mount);
	cJSON_AddStringToObject(cg, "self", s->self);
	cJSON_AddBoolToObject(cg, "delegated", s->delegated);
	if (s->dir[0] != '\0')
		cJSON_AddStringToObject(cg, "dir", s->dir);
	else
		cJSON_AddNullToObject(cg, "dir");
	cJSON_AddItemToObject(cg, "dir_controllers", ctl_array(s->available));
	cJSON_AddItemToObject(cg, "dir_enabled", ctl_array(s->enabled));
	if (s->why[0] != '\0')
		cJSON_AddStringToObject(cg, "why", s->why);
	/* The brief's default policy, with fork allowed (so that processes
	 * shows its real fallback rather than "seccomp"). */
	memset(&p, 0, sizeof(p));
	p.memory_limit = 256ull << 20;
	p.cpu_limit = 0.5;
	p.max_processes = 32;
	would.enabled |= would.available;
	sandbox_cgroup_plan(s->dir[0] != '\0' ? &would : s, &p, true, NULL, &how);
	hs[0] = &how.memory;
	hs[1] = &how.cpu;
	hs[2] = &how.processes;
	lim = cJSON_AddObjectToObject(cg, "limits");
	if (lim == NULL)
		return -1;
	for (i = 0; i < 3; i++) {
		if ((l = cJSON_AddObjectToObject(lim, names[i])) == NULL)
			return -1;
		cJSON_AddStringToObject(l, "by", sandbox_limit_by_name(hs[i]->by));
		cJSON_AddStringToObject(l, "why", hs[i]->why);
	}
	return 0;
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
	if (cgroup_site_json(pr, cg) != 0)
		goto fail;
	cJSON_AddBoolToObject(o, "no_new_privs", pr->no_new_privs);
	cJSON_AddBoolToObject(o, "root", pr->root);
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}
