/* Unit tests for sandbox/policy.c: the default policy, --set parsing,
 * sizes and durations, and the Landlock path check used for reporting. */
#include <errno.h>
#include <sys/syscall.h>

#include "harness.h"
#include "sandbox/landlock.h"
#include "sandbox/policy.h"
#include "config/config.h"

static void
test_defaults(void)
{
	struct sandbox_policy p;

	sandbox_policy_init_default(&p);
	CHECK_EQ_INT(p.memory_limit, 256000000ull);   /* "256MB": SI, as the schema */
	CHECK(p.cpu_limit > 0.49 && p.cpu_limit < 0.51);
	CHECK_EQ_INT(p.network, SANDBOX_NET_RESTRICTED);
	CHECK_EQ_INT(p.n_fs, 2);
	CHECK_EQ_STR(p.fs[0].path, "/tmp");
	CHECK(p.fs[0].write);
	CHECK_EQ_STR(p.fs[1].path, "/var/log/stavily");
	CHECK(p.allowlist);
	CHECK(sandbox_sysset_has(&p.allowed, SYS_read));
	CHECK(sandbox_sysset_has(&p.allowed, SYS_openat));
	CHECK(sandbox_sysset_has(&p.allowed, SYS_exit_group)); /* @default */
	CHECK(sandbox_sysset_has(&p.blocked, SYS_execve));
	CHECK(sandbox_sysset_has(&p.blocked, SYS_socket));
	CHECK(sandbox_sysset_has(&p.blocked, SYS_bind));
	CHECK(p.blocked.clone_fork);
	CHECK_EQ_INT(p.wall_timeout_ms, 60000);
	CHECK_EQ_INT(p.max_output, 1000000);
	CHECK_EQ_INT(p.max_processes, 32);
	CHECK_EQ_INT(p.max_open_files, 64);
	CHECK_EQ_INT(p.max_file_size, 64000000ull);
	CHECK_EQ_INT(p.on_violation, SANDBOX_VIOLATION_DENY);
	CHECK_EQ_INT(p.max_violations, 100);
	CHECK_EQ_INT(p.uid, 65534);
	CHECK_EQ_INT(p.gid, 65534);
	CHECK_EQ_INT(p.namespaces, SANDBOX_NS_AUTO);
	CHECK(p.report_fs_denials);
	sandbox_policy_free(&p);
}

static void
test_sizes_durations(void)
{
	uint64_t v;

	/* the configuration's grammar (config/units.h): SI and IEC units */
	CHECK_EQ_INT(sandbox_parse_size("256MB", &v), 0);
	CHECK_EQ_INT(v, 256000000ull);
	CHECK_EQ_INT(sandbox_parse_size("256MiB", &v), 0);
	CHECK_EQ_INT(v, 256ull << 20);
	CHECK_EQ_INT(sandbox_parse_size("64k", &v), 0);
	CHECK_EQ_INT(v, 64000);
	CHECK_EQ_INT(sandbox_parse_size("64KiB", &v), 0);
	CHECK_EQ_INT(v, 65536);
	CHECK_EQ_INT(sandbox_parse_size("1G", &v), 0);
	CHECK_EQ_INT(v, 1000000000ull);
	CHECK_EQ_INT(sandbox_parse_size("12", &v), 0);
	CHECK_EQ_INT(v, 12);
	CHECK_EQ_INT(sandbox_parse_size("12XB", &v), -EINVAL);
	CHECK_EQ_INT(sandbox_parse_size("-1", &v), -EINVAL);
	CHECK_EQ_INT(sandbox_parse_size("", &v), -EINVAL);
	CHECK_EQ_INT(sandbox_parse_size("99999999999999999999G", &v), -EINVAL);
	CHECK_EQ_INT(sandbox_parse_duration_ms("2s", &v), 0);
	CHECK_EQ_INT(v, 2000);
	CHECK_EQ_INT(sandbox_parse_duration_ms("500ms", &v), 0);
	CHECK_EQ_INT(v, 500);
	CHECK_EQ_INT(sandbox_parse_duration_ms("1m", &v), 0);
	CHECK_EQ_INT(v, 60000);
	CHECK_EQ_INT(sandbox_parse_duration_ms("3x", &v), -EINVAL);
}

static void
test_set(void)
{
	struct sandbox_policy p;
	char err[SANDBOX_ERR_LEN];

	sandbox_policy_init_default(&p);
	CHECK_EQ_INT(sandbox_policy_set(&p, "memory_limit=200MB", err), 0);
	CHECK_EQ_INT(p.memory_limit, 200000000ull);
	CHECK_EQ_INT(sandbox_policy_set(&p, "wall_timeout=2s", err), 0);
	CHECK_EQ_INT(p.wall_timeout_ms, 2000);
	CHECK_EQ_INT(sandbox_policy_set(&p, "network_access=none", err), 0);
	CHECK_EQ_INT(p.network, SANDBOX_NET_NONE);
	CHECK_EQ_INT(sandbox_policy_set(&p, "filesystem_access=/tmp,/bin:ro,/usr/:ro", err), 0);
	CHECK_EQ_INT(p.n_fs, 3);
	CHECK_EQ_STR(p.fs[1].path, "/bin");
	CHECK(!p.fs[1].write);
	CHECK_EQ_STR(p.fs[2].path, "/usr");
	CHECK_EQ_INT(sandbox_policy_set(&p, "allowed_syscalls=", err), 0);
	CHECK(!p.allowlist);
	CHECK_EQ_INT(sandbox_policy_set(&p, "blocked_syscalls=exec,socket", err), 0);
	CHECK(sandbox_sysset_has(&p.blocked, SYS_execveat));
	CHECK(!sandbox_sysset_has(&p.blocked, SYS_bind));
	CHECK(!p.blocked.clone_fork);
	CHECK_EQ_INT(sandbox_policy_set(&p, "sandbox.on_violation=kill", err), 0);
	CHECK_EQ_INT(p.on_violation, SANDBOX_VIOLATION_KILL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "user=1000:1001", err), 0);
	CHECK_EQ_INT(p.uid, 1000);
	CHECK_EQ_INT(p.gid, 1001);
	CHECK_EQ_INT(sandbox_policy_set(&p, "require=seccomp,landlock", err), 0);
	CHECK_EQ_INT(p.require, SANDBOX_LAYER_SECCOMP | SANDBOX_LAYER_LANDLOCK);
	CHECK_EQ_INT(sandbox_policy_set(&p, "namespaces=off", err), 0);
	CHECK_EQ_INT(p.namespaces, SANDBOX_NS_OFF);
	CHECK_EQ_INT(sandbox_policy_set(&p, "report_fs_denials=false", err), 0);
	CHECK(!p.report_fs_denials);
	CHECK_EQ_INT(sandbox_policy_set(&p, "allowed_syscalls=[read, write]", err), 0);
	CHECK(p.allowlist);
	CHECK(sandbox_sysset_has(&p.allowed, SYS_write));
	CHECK(sandbox_sysset_has(&p.allowed, SYS_exit_group));

	/* errors name the problem */
	CHECK_EQ_INT(sandbox_policy_set(&p, "allowed_syscalls=read,frobnicate", err), -EINVAL);
	CHECK(strstr(err, "frobnicate") != NULL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "no_such_key=1", err), -EINVAL);
	CHECK(strstr(err, "no_such_key") != NULL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "memory_limit=lots", err), -EINVAL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "filesystem_access=relative/path", err), -EINVAL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "user=nobody", err), -EINVAL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "require=teleport", err), -EINVAL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "network_access=some", err), -EINVAL);
	CHECK_EQ_INT(sandbox_policy_set(&p, "novalue", err), -EINVAL);
	sandbox_policy_free(&p);
}

static void
test_from_config(void)
{
	char *fs[] = { "/srv/data:ro", "/tmp" };
	char *allowed[] = { "read", "write" };
	char *blocked[] = { "fork" };
	char *req[] = { "landlock" };
	struct config_sandbox cs;
	struct sandbox_policy p;
	char err[SANDBOX_ERR_LEN];

	memset(&cs, 0, sizeof(cs));
	cs.memory_limit = 128ull << 20;
	cs.cpu_limit = 0.25;
	cs.network_access = SANDBOX_NET_FULL;
	cs.filesystem_access.v = fs;
	cs.filesystem_access.n = 2;
	cs.allowed_syscalls.v = allowed;
	cs.allowed_syscalls.n = 2;
	cs.blocked_syscalls.v = blocked;
	cs.blocked_syscalls.n = 1;
	cs.require.v = req;
	cs.require.n = 1;
	cs.user = "123:456";
	cs.wall_timeout_ms = 5000;
	sandbox_policy_init_default(&p);
	CHECK_EQ_INT(sandbox_policy_from_config(&p, &cs, err), 0);
	CHECK_EQ_INT(p.memory_limit, 128ull << 20);
	CHECK_EQ_INT(p.network, SANDBOX_NET_FULL);
	CHECK_EQ_INT(p.n_fs, 2);
	CHECK(!p.fs[0].write);
	CHECK(p.allowlist);
	CHECK(p.blocked.clone_fork);
	CHECK_EQ_INT(p.require, SANDBOX_LAYER_LANDLOCK);
	CHECK_EQ_INT(p.uid, 123);
	CHECK_EQ_INT(p.wall_timeout_ms, 5000);
	allowed[1] = "nonsense_call";
	CHECK_EQ_INT(sandbox_policy_from_config(&p, &cs, err), -EINVAL);
	CHECK(strstr(err, "nonsense_call") != NULL);
	sandbox_policy_free(&p);
}

static void
test_path_allowed(void)
{
	struct sandbox_policy p;
	char err[SANDBOX_ERR_LEN];

	sandbox_policy_init_default(&p);
	CHECK_EQ_INT(sandbox_policy_set(&p, "filesystem_access=/tmp,/usr:ro", err), 0);
	CHECK(sandbox_landlock_path_allowed(&p, NULL, "/tmp/x", true));
	CHECK(sandbox_landlock_path_allowed(&p, NULL, "/tmp", false));
	CHECK(!sandbox_landlock_path_allowed(&p, NULL, "/tmpfoo", false));
	CHECK(sandbox_landlock_path_allowed(&p, NULL, "/usr/lib/x", false));
	CHECK(!sandbox_landlock_path_allowed(&p, NULL, "/usr/lib/x", true));
	CHECK(!sandbox_landlock_path_allowed(&p, NULL, "/etc/shadow", false));
	CHECK(sandbox_landlock_path_allowed(&p, "/opt/plugin", "/opt/plugin", false));
	CHECK(!sandbox_landlock_path_allowed(&p, "/opt/plugin", "/opt/plugin", true));
	CHECK(sandbox_landlock_path_allowed(&p, NULL, "/dev/null", true));
	CHECK(!sandbox_landlock_path_allowed(&p, NULL, "/dev/urandom", true));
	sandbox_policy_free(&p);
}

static void
test_path_under(void)
{
	CHECK(sandbox_path_under("/tmp", "/tmp"));
	CHECK(sandbox_path_under("/tmp/a/b", "/tmp"));
	CHECK(!sandbox_path_under("/tmpx", "/tmp"));
	CHECK(!sandbox_path_under("/tm", "/tmp"));
	CHECK(sandbox_path_under("/etc/passwd", "/"));
	CHECK(!sandbox_path_under("/var/log", "/var/log/stavily"));
}

/* The built-in default policy is the configuration schema's default
 * sandbox section: the two must never drift apart. */
static void
test_defaults_match_schema(void)
{
	struct sandbox_policy d, c;
	struct config *cfg = NULL;
	struct config_errors errs = { 0 };
	char err[SANDBOX_ERR_LEN];
	size_t i;

	sandbox_policy_init_default(&d);
	sandbox_policy_init_default(&c);
	CHECK_EQ_INT(config_load(NULL, NULL, 0, &cfg, &errs), 0);
	if (cfg == NULL)
		return;
	CHECK_EQ_INT(sandbox_policy_from_config(&c, config_sandbox(cfg, "sandbox"), err), 0);
	CHECK_EQ_INT(c.memory_limit, d.memory_limit);
	CHECK(c.cpu_limit == d.cpu_limit);
	CHECK_EQ_INT(c.network, d.network);
	CHECK_EQ_INT(c.n_fs, d.n_fs);
	for (i = 0; i < c.n_fs && i < d.n_fs; i++) {
		CHECK_EQ_STR(c.fs[i].path, d.fs[i].path);
		CHECK_EQ_INT(c.fs[i].write, d.fs[i].write);
	}
	CHECK_EQ_INT(c.allowlist, d.allowlist);
	CHECK(memcmp(&c.allowed, &d.allowed, sizeof(c.allowed)) == 0);
	CHECK(memcmp(&c.blocked, &d.blocked, sizeof(c.blocked)) == 0);
	CHECK_EQ_INT(c.wall_timeout_ms, d.wall_timeout_ms);
	CHECK_EQ_INT(c.max_output, d.max_output);
	CHECK_EQ_INT(c.max_processes, d.max_processes);
	CHECK_EQ_INT(c.max_open_files, d.max_open_files);
	CHECK_EQ_INT(c.max_file_size, d.max_file_size);
	CHECK_EQ_INT(c.on_violation, d.on_violation);
	CHECK_EQ_INT(c.max_violations, d.max_violations);
	CHECK_EQ_INT(c.uid, d.uid);
	CHECK_EQ_INT(c.gid, d.gid);
	CHECK_EQ_INT(c.namespaces, d.namespaces);
	CHECK_EQ_INT(c.require, d.require);
	CHECK_EQ_INT(c.report_fs_denials, d.report_fs_denials);
	CHECK_EQ_INT(c.tmp_size, d.tmp_size);
	sandbox_policy_free(&c);
	sandbox_policy_free(&d);
	config_free(cfg);
	config_errors_free(&errs);
}

int
main(void)
{
	RUN(test_defaults);
	RUN(test_defaults_match_schema);
	RUN(test_path_under);
	RUN(test_sizes_durations);
	RUN(test_set);
	RUN(test_from_config);
	RUN(test_path_allowed);
	return HARNESS_EXIT();
}
