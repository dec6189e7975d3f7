/* Unit tests for sandbox/cgroup.c: parsing /proc/self/cgroup and mountinfo
 * lines, the cpu.max / memory.max / pids.max text we write, the key-value
 * files we read, and the per-limit plan (which mechanism, and why). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/fileio.h"
#include "harness.h"
#include "sandbox/cgroup.h"
#include "sandbox/policy.h"

static void
test_parse_self(void)
{
	char out[64];

	/* Hybrid hierarchy, as on the test machine: v1 lines, then "0::". */
	CHECK_EQ_INT(sandbox_cgroup_parse_self("9:name=systemd:/\n4:memory:/a/b\n0::/\n", out,
	    sizeof(out)), 0);
	CHECK_EQ_STR(out, "/");
	CHECK_EQ_INT(sandbox_cgroup_parse_self("0::/system.slice/stavily-agent.service\n", out,
	    sizeof(out)), 0);
	CHECK_EQ_STR(out, "/system.slice/stavily-agent.service");
	/* Last line without a newline; a space in the name is kept. */
	CHECK_EQ_INT(sandbox_cgroup_parse_self("1:cpu:/x\n0::/a b", out, sizeof(out)), 0);
	CHECK_EQ_STR(out, "/a b");
	/* v1 only, removed cgroup, relative path, empty: no usable answer. */
	CHECK_EQ_INT(sandbox_cgroup_parse_self("1:cpu:/x\n2:memory:/y\n", out, sizeof(out)), -ENOENT);
	CHECK_EQ_INT(sandbox_cgroup_parse_self("0::/gone (deleted)\n", out, sizeof(out)), -ENOENT);
	CHECK_EQ_INT(sandbox_cgroup_parse_self("0::relative\n", out, sizeof(out)), -ENOENT);
	CHECK_EQ_INT(sandbox_cgroup_parse_self("", out, sizeof(out)), -ENOENT);
	/* "10::" is not "0::". */
	CHECK_EQ_INT(sandbox_cgroup_parse_self("10::/x\n", out, sizeof(out)), -ENOENT);
	CHECK_EQ_INT(sandbox_cgroup_parse_self("0::/a-very-long-path\n", out, 8), -ENAMETOOLONG);
}

static void
test_mountinfo(void)
{
	char pt[64];

	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line(
	    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw", pt, sizeof(pt)), 1);
	CHECK_EQ_STR(pt, "/sys/fs/cgroup/unified");
	/* Optional fields before the separator. */
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line(
	    "35 24 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 master:2 - cgroup2 cgroup2 rw,nsdelegate",
	    pt, sizeof(pt)), 1);
	CHECK_EQ_STR(pt, "/sys/fs/cgroup");
	/* Octal escapes in the mount point. */
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line(
	    "50 24 0:40 / /mnt/my\\040cg rw - cgroup2 none rw\n", pt, sizeof(pt)), 1);
	CHECK_EQ_STR(pt, "/mnt/my cg");
	/* v1 and other types are not ours; a type merely starting with
	 * "cgroup2" is not cgroup2. */
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line(
	    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory", pt, sizeof(pt)), 0);
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line(
	    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755", pt, sizeof(pt)), 0);
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line(
	    "31 23 0:28 / /x rw - cgroup2x none rw", pt, sizeof(pt)), 0);
	/* Malformed: too few fields, no separator. */
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line("41 31 0:38 /", pt, sizeof(pt)), -EINVAL);
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line("41 31 0:38 / /sys rw cgroup2", pt, sizeof(pt)), -EINVAL);
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line("", pt, sizeof(pt)), -EINVAL);
	CHECK_EQ_INT(sandbox_cgroup_mountinfo_line(
	    "41 31 0:38 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw", pt, 8), -ENAMETOOLONG);
}

static void
test_texts(void)
{
	char b[64];

	sandbox_cgroup_cpu_max(0.5, b, sizeof(b));
	CHECK_EQ_STR(b, "50000 100000");
	sandbox_cgroup_cpu_max(2.0, b, sizeof(b));
	CHECK_EQ_STR(b, "200000 100000");
	sandbox_cgroup_cpu_max(0.333, b, sizeof(b));
	CHECK_EQ_STR(b, "33300 100000");
	/* Below the kernel's 1 ms minimum quota: raised to it. */
	sandbox_cgroup_cpu_max(0.001, b, sizeof(b));
	CHECK_EQ_STR(b, "1000 100000");
	sandbox_cgroup_cpu_max(0.0001, b, sizeof(b));
	CHECK_EQ_STR(b, "1000 100000");
	sandbox_cgroup_cpu_max(0, b, sizeof(b));
	CHECK_EQ_STR(b, "max 100000");
	sandbox_cgroup_max_text(256000000ull, b, sizeof(b));
	CHECK_EQ_STR(b, "256000000");
	sandbox_cgroup_max_text(32, b, sizeof(b));
	CHECK_EQ_STR(b, "32");
	sandbox_cgroup_max_text(0, b, sizeof(b));
	CHECK_EQ_STR(b, "max");
}

static void
test_kv_and_controllers(void)
{
	const char *events = "low 0\nhigh 0\nmax 3\noom 1\noom_kill 2\noom_group_kill 0\n";
	const char *stat = "usage_usec 1586\nuser_usec 800\nsystem_usec 786\nnr_periods 0\n"
	    "nr_throttled 0\nthrottled_usec 42";
	uint64_t v = 99;

	CHECK_EQ_INT(sandbox_cgroup_kv(events, "oom_kill", &v), 0);
	CHECK_EQ_INT(v, 2);
	CHECK_EQ_INT(sandbox_cgroup_kv(events, "oom", &v), 0);  /* not "oom_kill" */
	CHECK_EQ_INT(v, 1);
	CHECK_EQ_INT(sandbox_cgroup_kv(events, "max", &v), 0);
	CHECK_EQ_INT(v, 3);
	CHECK_EQ_INT(sandbox_cgroup_kv(stat, "throttled_usec", &v), 0); /* last line, no newline */
	CHECK_EQ_INT(v, 42);
	CHECK_EQ_INT(sandbox_cgroup_kv(stat, "usage_usec", &v), 0);
	CHECK_EQ_INT(v, 1586);
	CHECK_EQ_INT(sandbox_cgroup_kv(events, "missing", &v), -ENOENT);
	CHECK_EQ_INT(sandbox_cgroup_kv("max abc\n", "max", &v), -ENOENT);
	CHECK_EQ_INT(sandbox_cgroup_kv("", "max", &v), -ENOENT);

	CHECK_EQ_INT(sandbox_cgroup_ctl_bits("cpuset cpu io memory hugetlb pids rdma misc\n"),
	    SANDBOX_CG_MEMORY | SANDBOX_CG_CPU | SANDBOX_CG_PIDS);
	/* This machine's v2 root: hugetlb only.  "cpuset" is not "cpu". */
	CHECK_EQ_INT(sandbox_cgroup_ctl_bits("hugetlb\n"), 0);
	CHECK_EQ_INT(sandbox_cgroup_ctl_bits("cpuset io"), 0);
	CHECK_EQ_INT(sandbox_cgroup_ctl_bits("pids"), SANDBOX_CG_PIDS);
	CHECK_EQ_INT(sandbox_cgroup_ctl_bits(""), 0);
}

static void
test_plan(void)
{
	struct sandbox_cgroup_site s;
	struct sandbox_policy p;
	struct sandbox_limits_how how;
	const char *why = NULL;

	memset(&p, 0, sizeof(p));
	p.memory_limit = 256000000ull;
	p.cpu_limit = 0.5;
	p.max_processes = 32;

	/* A site with memory enabled, cpu available but refused, no pids. */
	memset(&s, 0, sizeof(s));
	strcpy(s.dir, "/sys/fs/cgroup/x");
	s.available = SANDBOX_CG_MEMORY | SANDBOX_CG_CPU;
	s.enabled = SANDBOX_CG_MEMORY;
	strcpy(s.why, "EBUSY here");
	sandbox_cgroup_plan(&s, &p, true, NULL, &how);
	CHECK_EQ_INT(how.memory.by, SANDBOX_BY_CGROUP);
	CHECK_EQ_INT(how.cpu.by, SANDBOX_BY_DUTY_CYCLE);
	CHECK(strstr(how.cpu.why, "cpu controller not enabled in /sys/fs/cgroup/x: EBUSY here") != NULL);
	CHECK_EQ_INT(how.processes.by, SANDBOX_BY_RLIMIT);
	CHECK(strstr(how.processes.why, "no pids controller in /sys/fs/cgroup/x") != NULL);
	CHECK_EQ_STR(sandbox_cgroup_missing(&p, &how, &why), "cpu");
	CHECK(why == how.cpu.why);

	/* Without fork, processes are the filter's business. */
	sandbox_cgroup_plan(&s, &p, false, NULL, &how);
	CHECK_EQ_INT(how.processes.by, SANDBOX_BY_SECCOMP);
	CHECK(strncmp(how.processes.why, "fork is blocked by the seccomp filter; ", 39) == 0);

	/* Everything enabled: every configured limit is the cgroup's. */
	s.available = s.enabled = SANDBOX_CG_MEMORY | SANDBOX_CG_CPU | SANDBOX_CG_PIDS;
	sandbox_cgroup_plan(&s, &p, true, NULL, &how);
	CHECK_EQ_INT(how.memory.by, SANDBOX_BY_CGROUP);
	CHECK_EQ_INT(how.cpu.by, SANDBOX_BY_CGROUP);
	CHECK_EQ_INT(how.processes.by, SANDBOX_BY_CGROUP);
	CHECK(sandbox_cgroup_missing(&p, &how, &why) == NULL);

	/* A failure of the run's own cgroup overrides the site. */
	sandbox_cgroup_plan(&s, &p, true, "clone3 into /x: Permission denied", &how);
	CHECK_EQ_INT(how.memory.by, SANDBOX_BY_RLIMIT);
	CHECK_EQ_STR(how.memory.why, "clone3 into /x: Permission denied");
	CHECK_EQ_STR(sandbox_cgroup_missing(&p, &how, &why), "memory");

	/* No site: its reason is given. */
	memset(&s, 0, sizeof(s));
	strcpy(s.why, "sandbox.cgroup is off");
	sandbox_cgroup_plan(&s, &p, true, NULL, &how);
	CHECK_EQ_INT(how.memory.by, SANDBOX_BY_RLIMIT);
	CHECK_EQ_STR(how.memory.why, "no cgroup: sandbox.cgroup is off");

	/* Limits that are 0 are not limited at all, and not "missing". */
	p.memory_limit = 0;
	p.cpu_limit = 0;
	p.max_processes = 0;
	sandbox_cgroup_plan(&s, &p, true, NULL, &how);
	CHECK_EQ_INT(how.memory.by, SANDBOX_BY_NONE);
	CHECK_EQ_INT(how.cpu.by, SANDBOX_BY_NONE);
	CHECK_EQ_INT(how.processes.by, SANDBOX_BY_NONE);
	CHECK_EQ_STR(how.cpu.why, "cpu_limit is 0");
	CHECK(sandbox_cgroup_missing(&p, &how, &why) == NULL);

	CHECK_EQ_STR(sandbox_limit_by_name(SANDBOX_BY_CGROUP), "cgroup");
	CHECK_EQ_STR(sandbox_limit_by_name(SANDBOX_BY_RLIMIT), "rlimit");
	CHECK_EQ_STR(sandbox_limit_by_name(SANDBOX_BY_DUTY_CYCLE), "duty_cycle");
	CHECK_EQ_STR(sandbox_limit_by_name(SANDBOX_BY_SECCOMP), "seccomp");
	CHECK_EQ_STR(sandbox_limit_by_name(SANDBOX_BY_NONE), "none");
}

static void
test_locate_settings(void)
{
	struct sandbox_cgroup_site s;

	sandbox_cgroup_locate("off", false, &s);
	CHECK_EQ_STR(s.dir, "");
	CHECK_EQ_STR(s.why, "sandbox.cgroup is off");
	sandbox_cgroup_locate("relative/path", false, &s);
	CHECK_EQ_STR(s.dir, "");
	CHECK(strstr(s.why, "auto, off or an absolute path") != NULL);
	/* A directory that is not on cgroup2 is refused, whatever our rights. */
	sandbox_cgroup_locate("/tmp", false, &s);
	CHECK_EQ_STR(s.dir, "");
	CHECK_EQ_STR(s.why, "/tmp is not a cgroup v2 directory");
}

/*
 * The site lookup reads the well-known mount points before mountinfo
 * (cgroup.c, find_mount): it must find a cgroup2 mount that mountinfo lists
 * (the first one, as before, on any host with one cgroup2 mount), and the
 * "0::" path of /proc/self/cgroup, exactly as parsing the files does here.
 */
static void
test_locate_matches_proc(void)
{
	struct sandbox_cgroup_site s;
	char *mi = NULL, *cg = NULL, *line, *save = NULL, first[SANDBOX_CGROUP_PATH_MAX] = "";
	char self[SANDBOX_CGROUP_PATH_MAX] = "";
	size_t len, n = 0;
	bool listed = false;

	sandbox_cgroup_locate("auto", false, &s);
	CHECK(file_read_all("/proc/self/mountinfo", 1 << 20, &mi, &len) == 0);
	for (line = mi != NULL ? strtok_r(mi, "\n", &save) : NULL; line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		char point[SANDBOX_CGROUP_PATH_MAX];

		if (sandbox_cgroup_mountinfo_line(line, point, sizeof(point)) != 1)
			continue;
		if (n++ == 0)
			snprintf(first, sizeof(first), "%s", point);
		if (strcmp(point, s.mount) == 0)
			listed = true;
	}
	free(mi);
	CHECK_EQ_INT(s.mounted, n > 0);
	if (n > 0) {
		CHECK(listed);
		if (n == 1)
			CHECK_EQ_STR(s.mount, first);
	}
	CHECK(file_read_all("/proc/self/cgroup", 8192, &cg, &len) == 0);
	if (cg != NULL && sandbox_cgroup_parse_self(cg, self, sizeof(self)) != 0)
		self[0] = '\0';
	free(cg);
	CHECK_EQ_STR(s.self, self);
}

int
main(void)
{
	RUN(test_parse_self);
	RUN(test_mountinfo);
	RUN(test_texts);
	RUN(test_kv_and_controllers);
	RUN(test_plan);
	RUN(test_locate_settings);
	RUN(test_locate_matches_proc);
	return HARNESS_EXIT();
}
