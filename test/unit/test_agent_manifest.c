/*
 * test_agent_manifest.c: plugin manifests, the digest check before a run,
 * and the spawner's check that a job can only tighten the local policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bearssl.h>

#include "agent/manifest.h"
#include "agent/request.h"
#include "base/hex.h"
#include "harness.h"

static char dir[64];
static char exe_hex[65];
static const char exe_body[] = "#!/bin/sh\necho '{\"ok\":true}'\n";

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		abort();
	fchmod(fd, mode);
	close(fd);
}

static void
write_manifest(const char *name, const char *type, const char *policy)
{
	char text[2048], file[128];

	snprintf(text, sizeof(text),
	    "{\"name\":\"%s\",\"version\":\"1.0\",\"type\":\"%s\",\"executable\":\"hello.sh\","
	    "\"sha256\":\"%s\"%s%s}", name, type, exe_hex, policy ? ",\"policy\":" : "",
	    policy ? policy : "");
	snprintf(file, sizeof(file), "%s.json", name);
	write_file(file, text, 0644);
}

static void
setup(void)
{
	uint8_t d[32];
	br_sha256_context c;

	snprintf(dir, sizeof(dir), "/tmp/stavily-manifest.XXXXXX");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0)
		abort();
	br_sha256_init(&c);
	br_sha256_update(&c, exe_body, strlen(exe_body));
	br_sha256_out(&c, d);
	hex_encode(d, 32, exe_hex);
	write_file("hello.sh", exe_body, 0755);
	write_manifest("hello", "action", NULL);
	write_manifest("tight", "action", "{\"memory_limit\":\"32MB\",\"blocked_syscalls\":[\"ptrace\",\"mount\"],\"max_processes\":4}");
	write_manifest("greedy", "action", "{\"memory_limit\":\"1GB\"}");
	write_manifest("watcher", "sensor", NULL);
}

static void
test_parse_valid(void)
{
	struct manifest m;
	char err[MANIFEST_ERR_LEN];
	char text[1024];

	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"2\",\"type\":\"sensor\","
	    "\"executable\":\"x.bin\",\"sha256\":\"sha256:%s\",\"policy\":{\"network_access\":\"none\","
	    "\"report_fs_denials\":true,\"cpu_limit\":0.25,\"filesystem_access\":[\"/tmp:ro\",\"/var/log\"]}}",
	    exe_hex);
	CHECK_EQ_INT(manifest_parse(text, strlen(text), "x", &m, err), MANIFEST_OK);
	CHECK_EQ_STR(m.executable, "x.bin");
	CHECK_EQ_INT(m.type, MANIFEST_SENSOR);
	CHECK_EQ_INT(m.n_policy, 4);
	CHECK_EQ_STR(m.policy[0], "network_access=none");
	CHECK_EQ_STR(m.policy[1], "report_fs_denials=true");
	CHECK_EQ_STR(m.policy[2], "cpu_limit=0.25");
	CHECK_EQ_STR(m.policy[3], "filesystem_access=/tmp:ro,/var/log");
	manifest_free(&m);
}

static void
expect_malformed(const char *text, const char *needle)
{
	struct manifest m;
	char err[MANIFEST_ERR_LEN];

	CHECK_EQ_INT(manifest_parse(text, strlen(text), "x", &m, err), MANIFEST_E_MALFORMED);
	if (strstr(err, needle) == NULL) {
		printf("  error \"%s\" lacks \"%s\"\n", err, needle);
		harness_cur_failed = 1;
	}
}

static void
test_parse_malformed(void)
{
	char text[1024];
	const char *h = exe_hex;

	expect_malformed("", "not a JSON object");
	expect_malformed("[1,2]", "not a JSON object");
	expect_malformed("{\"name\":\"x\"", "not a JSON object");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\"}");
	expect_malformed(text, "\"sha256\" must be a string");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"daemon\",\"executable\":\"x\",\"sha256\":\"%s\"}", h);
	expect_malformed(text, "\"type\" must be action or sensor");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"../x\",\"sha256\":\"%s\"}", h);
	expect_malformed(text, "\"executable\" must be a file name");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\",\"sha256\":\"abc\"}");
	expect_malformed(text, "64 hex");
	snprintf(text, sizeof(text), "{\"name\":\"y\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\",\"sha256\":\"%s\"}", h);
	expect_malformed(text, "file name");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\",\"sha256\":\"%s\"}", h);
	expect_malformed(text, "duplicate key");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\",\"sha256\":\"%s\",\"extra\":1}", h);
	expect_malformed(text, "unknown key \"extra\"");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\",\"sha256\":\"%s\",\"policy\":{\"user\":\"0:0\"}}", h);
	expect_malformed(text, "policy: unknown key \"user\"");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\",\"sha256\":\"%s\",\"policy\":{\"blocked_syscalls\":[\"a,b\"]}}", h);
	expect_malformed(text, "invalid value");
	snprintf(text, sizeof(text), "{\"name\":\"x\",\"version\":\"1\",\"type\":\"action\",\"executable\":\"x\",\"sha256\":\"%s\",\"policy\":{\"max_output\":{}}}", h);
	expect_malformed(text, "invalid value");
	{
		char *big = malloc(MANIFEST_MAX + 2);
		memset(big, ' ', MANIFEST_MAX + 1);
		big[MANIFEST_MAX + 1] = '\0';
		expect_malformed(big, "larger than");
		free(big);
	}
}

static void
test_load(void)
{
	struct manifest m;
	char err[MANIFEST_ERR_LEN], path[256];

	CHECK_EQ_INT(manifest_load(dir, "hello", &m, err), MANIFEST_OK);
	CHECK_EQ_STR(m.name, "hello");
	manifest_free(&m);
	CHECK_EQ_INT(manifest_load(dir, "nosuch", &m, err), MANIFEST_E_UNKNOWN);
	CHECK(strstr(err, "not installed") != NULL);
	CHECK_EQ_INT(manifest_load(dir, "../hello", &m, err), MANIFEST_E_UNKNOWN);
	/* malformed file: the error names the file */
	write_file("broken.json", "{\"name\": \"broken\",", 0644);
	CHECK_EQ_INT(manifest_load(dir, "broken", &m, err), MANIFEST_E_MALFORMED);
	CHECK(strstr(err, "broken.json") != NULL && strstr(err, "not a JSON object") != NULL);
	/* writable by others */
	write_file("open.json", "{}", 0666);
	CHECK_EQ_INT(manifest_load(dir, "open", &m, err), MANIFEST_E_UNSAFE);
	/* symlink */
	snprintf(path, sizeof(path), "%s/link.json", dir);
	CHECK_EQ_INT(symlink("hello.json", path), 0);
	CHECK_EQ_INT(manifest_load(dir, "link", &m, err), MANIFEST_E_UNSAFE);
	/* world-writable plugins_dir */
	CHECK_EQ_INT(chmod(dir, 0777), 0);
	CHECK_EQ_INT(manifest_load(dir, "hello", &m, err), MANIFEST_E_UNSAFE);
	CHECK_EQ_INT(chmod(dir, 0755), 0);
}

static void
test_verify_digest(void)
{
	struct manifest m;
	char err[MANIFEST_ERR_LEN], path[PATH_MAX], pin[80];

	CHECK_EQ_INT(manifest_load(dir, "hello", &m, err), MANIFEST_OK);
	CHECK_EQ_INT(manifest_verify(dir, &m, NULL, path, err), MANIFEST_OK);
	CHECK(strstr(path, "/hello.sh") != NULL);
	snprintf(pin, sizeof(pin), "sha256:%s", exe_hex);
	CHECK_EQ_INT(manifest_verify(dir, &m, pin, path, err), MANIFEST_OK);
	/* the job pins another digest */
	pin[7] = pin[7] == '0' ? '1' : '0';
	CHECK_EQ_INT(manifest_verify(dir, &m, pin, path, err), MANIFEST_E_PIN);
	CHECK_EQ_INT(manifest_verify(dir, &m, "sha256:zz", path, err), MANIFEST_E_PIN);
	/* the executable changed after installation */
	write_file("hello.sh", "#!/bin/sh\necho evil\n", 0755);
	CHECK_EQ_INT(manifest_verify(dir, &m, NULL, path, err), MANIFEST_E_DIGEST);
	CHECK(strstr(err, "digest") != NULL || strstr(err, "sha256:") != NULL);
	/* group-writable executable */
	write_file("hello.sh", exe_body, 0775);
	CHECK_EQ_INT(manifest_verify(dir, &m, NULL, path, err), MANIFEST_E_UNSAFE);
	write_file("hello.sh", exe_body, 0755);
	CHECK_EQ_INT(manifest_verify(dir, &m, NULL, path, err), MANIFEST_OK);
	manifest_free(&m);
}

/* ---- request checks ---- */

static struct sandbox_policy local;

/* Some syscall the local policy blocks. */
static int
local_first_blocked(void)
{
	int nr;

	for (nr = 0; nr < SANDBOX_NR_MAX; nr++)
		if (sandbox_sysset_has(&local.blocked, nr))
			return nr;
	return -1;
}

static enum request_status
check_req(const char *plugin, const char *args, const char *digest, const char *l1, const char *l2,
    char err[REQUEST_ERR_LEN], struct request_plan *plan)
{
	struct msg m;
	enum request_status s;

	msg_init(&m, MSG_RUN_JOB);
	strcpy(m.job_id, "j1");
	snprintf(m.plugin, sizeof(m.plugin), "%s", plugin);
	snprintf(m.digest, sizeof(m.digest), "%s", digest ? digest : "");
	m.args = strdup(args);
	if (l1)
		m.limits[m.n_limits++] = strdup(l1);
	if (l2)
		m.limits[m.n_limits++] = strdup(l2);
	s = request_check(&local, dir, MANIFEST_ACTION, &m, plan, err);
	msg_free(&m);
	return s;
}

static void
expect_refused(const char *l1, const char *field)
{
	struct request_plan plan;
	char err[REQUEST_ERR_LEN];

	CHECK_EQ_INT(check_req("hello", "{}", NULL, l1, NULL, err, &plan), REQUEST_E_LIMITS);
	if (field != NULL && strstr(err, field) == NULL) {
		printf("  %s: error \"%s\" lacks \"%s\"\n", l1, err, field);
		harness_cur_failed = 1;
	}
}

static void
test_request_tighten_ok(void)
{
	struct request_plan plan;
	char err[REQUEST_ERR_LEN];

	CHECK_EQ_INT(check_req("hello", "{\"a\":1}", NULL, "memory_limit=64MB", "wall_timeout=5s", err, &plan), REQUEST_OK);
	CHECK_EQ_INT(plan.policy.memory_limit, 64000000ull);
	CHECK_EQ_INT(plan.policy.wall_timeout_ms, 5000);
	CHECK_EQ_INT(plan.policy.max_processes, local.max_processes);
	request_plan_free(&plan);
	/* narrower filesystem, fewer syscalls, extra blocked ones, stricter modes */
	CHECK_EQ_INT(check_req("hello", "{}", NULL, "filesystem_access=/tmp/job:ro", "allowed_syscalls=read,write", err, &plan), REQUEST_OK);
	request_plan_free(&plan);
	CHECK_EQ_INT(check_req("hello", "{}", NULL, "blocked_syscalls=ptrace", "network_access=none", err, &plan), REQUEST_OK);
	/* the local blocked entries stay even though the list was replaced */
	CHECK(sandbox_sysset_has(&plan.policy.blocked, local_first_blocked()));
	request_plan_free(&plan);
	CHECK_EQ_INT(check_req("hello", "{}", NULL, "on_violation=kill", "namespaces=required", err, &plan), REQUEST_OK);
	request_plan_free(&plan);
	/* a manifest policy that tightens */
	CHECK_EQ_INT(check_req("tight", "{}", NULL, NULL, NULL, err, &plan), REQUEST_OK);
	CHECK_EQ_INT(plan.policy.memory_limit, 32000000ull);
	CHECK_EQ_INT(plan.policy.max_processes, 4);
	request_plan_free(&plan);
}

static void
test_request_loosen_refused(void)
{
	struct request_plan plan;
	char err[REQUEST_ERR_LEN];

	expect_refused("memory_limit=1GB", "memory_limit");
	expect_refused("memory_limit=0", "memory_limit");
	expect_refused("cpu_limit=2", "cpu_limit");
	expect_refused("network_access=full", "network_access");
	expect_refused("filesystem_access=/etc", "filesystem_access");
	expect_refused("filesystem_access=/tmp/../etc", "filesystem_access");
	expect_refused("filesystem_access=/", "filesystem_access");
	expect_refused("allowed_syscalls=read,ptrace", "allowed_syscalls");
	expect_refused("allowed_syscalls=", "allowed_syscalls");
	expect_refused("wall_timeout=0", "wall_timeout");
	expect_refused("wall_timeout=2h", "wall_timeout");
	expect_refused("max_output=100MB", "max_output");
	expect_refused("max_processes=1000", "max_processes");
	expect_refused("max_open_files=100000", "max_open_files");
	expect_refused("max_file_size=1GB", "max_file_size");
	expect_refused("max_violations=0", "max_violations");
	expect_refused("namespaces=off", "namespaces");
	expect_refused("report_fs_denials=false", "report_fs_denials");
	expect_refused("user=0:0", "user");
	expect_refused("sandbox.user=1000:1000", "user");
	expect_refused("no_such_key=1", "unknown");
	expect_refused("memory_limit=lots", "memory_limit");
	/* kill stays kill; an allowlist stays an allowlist */
	{
		char serr[SANDBOX_ERR_LEN];
		CHECK_EQ_INT(sandbox_policy_set(&local, "on_violation=kill", serr), 0);
		expect_refused("on_violation=deny", "on_violation");
		CHECK_EQ_INT(sandbox_policy_set(&local, "on_violation=deny", serr), 0);
	}
	/* a manifest cannot loosen either */
	CHECK_EQ_INT(check_req("greedy", "{}", NULL, NULL, NULL, err, &plan), REQUEST_E_LIMITS);
	CHECK(strstr(err, "memory_limit") != NULL);
}

static void
test_request_other_refusals(void)
{
	struct request_plan plan;
	char err[REQUEST_ERR_LEN], pin[80];

	CHECK_EQ_INT(check_req("nosuch", "{}", NULL, NULL, NULL, err, &plan), REQUEST_E_PLUGIN);
	CHECK(strstr(err, "not installed") != NULL);
	CHECK_EQ_INT(check_req("watcher", "{}", NULL, NULL, NULL, err, &plan), REQUEST_E_PLUGIN);
	CHECK(strstr(err, "sensor plugin") != NULL);
	CHECK_EQ_INT(check_req("hello", "[1]", NULL, NULL, NULL, err, &plan), REQUEST_E_ARGS);
	CHECK_EQ_INT(check_req("hello", "{", NULL, NULL, NULL, err, &plan), REQUEST_E_ARGS);
	CHECK_EQ_INT(check_req("hello", "{} x", NULL, NULL, NULL, err, &plan), REQUEST_E_ARGS);
	snprintf(pin, sizeof(pin), "sha256:%s", exe_hex);
	CHECK_EQ_INT(check_req("hello", "{}", pin, NULL, NULL, err, &plan), REQUEST_OK);
	request_plan_free(&plan);
	pin[70] = pin[70] == 'a' ? 'b' : 'a';
	CHECK_EQ_INT(check_req("hello", "{}", pin, NULL, NULL, err, &plan), REQUEST_E_DIGEST);
	/* executable replaced after install: refused before any run */
	write_file("hello.sh", "#!/bin/sh\nrm -rf /\n", 0755);
	CHECK_EQ_INT(check_req("hello", "{}", NULL, NULL, NULL, err, &plan), REQUEST_E_DIGEST);
	write_file("hello.sh", exe_body, 0755);
	CHECK_EQ_INT(check_req("hello", "{}", NULL, NULL, NULL, err, &plan), REQUEST_OK);
	request_plan_free(&plan);
}

static void
cleanup(void)
{
	const char *files[] = { "hello.sh", "hello.json", "tight.json", "greedy.json", "watcher.json",
		"broken.json", "open.json", "link.json" };
	char path[256];
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
}

int
main(void)
{
	char err[SANDBOX_ERR_LEN];

	setup();
	sandbox_policy_init_default(&local);
	/* a local policy with every limit set, kill on violation off */
	if (sandbox_policy_set(&local, "filesystem_access=/tmp,/var/log/stavily", err) != 0)
		return 2;
	RUN(test_parse_valid);
	RUN(test_parse_malformed);
	RUN(test_load);
	RUN(test_verify_digest);
	RUN(test_request_tighten_ok);
	RUN(test_request_loosen_refused);
	RUN(test_request_other_refusals);
	sandbox_policy_free(&local);
	cleanup();
	return HARNESS_EXIT();
}
