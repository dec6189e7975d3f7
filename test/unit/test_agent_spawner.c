/*
 * test_agent_spawner.c: the spawner/worker split end to end.  The worker
 * (restricted, as in `agent run`) sends requests over the socketpair; the
 * spawner checks them and runs accepted jobs in the sandbox.  The plugin is
 * this test binary itself, copied into a plugins_dir (argv[0] selects the
 * plugin mode), so no other program is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/manifest.h"
#include "agent/msg.h"
#include "agent/privsep.h"
#include "agent/spawner.h"
#include "base/hex.h"
#include "harness.h"

static char dir[64], state[64], digest[80];
static int spawner_root;  /* set before the worker forks; it inherits it */

/* Plugin mode: echo the arguments inside a result object. */
static int
plugin_main(void)
{
	char buf[4096];
	ssize_t n = read(0, buf, sizeof(buf) - 1);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	dprintf(1, "{\"echo\":%s}\n", n ? buf : "null");
	dprintf(2, "plugin log line\nsecond line\n");
	return 0;
}

/* The plugin: a copy of this (static) test binary, or, in the sanitizer
 * build (dynamic, glibc: it could not start inside the sandbox's Landlock
 * rules), the static test plugin $PLUGINS/agent_echo built by `make`. */
static int
copy_self(const char *to)
{
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#endif
#ifdef TEST_ASAN
	const char *plugins = getenv("PLUGINS");
	char src[512];

	if (plugins == NULL) {
		printf("  the sanitizer build needs PLUGINS=<build>/plugins (make builds agent_echo)\n");
		return -1;
	}
	snprintf(src, sizeof(src), "%s/agent_echo", plugins);
#define SELF src
#endif
#ifndef SELF
#define SELF "/proc/self/exe"
#endif
	int in = open(SELF, O_RDONLY | O_CLOEXEC), out;
	char buf[65536];
	ssize_t n;

	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (in < 0 || out < 0)
		return -1;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n)
			return -1;
	close(in);
	fchmod(out, 0755);
	close(out);
	return 0;
}

static int
setup(void)
{
	char path[256], text[512];
	uint8_t d[32];
	int fd;

	snprintf(dir, sizeof(dir), "/tmp/stavily-plugins.XXXXXX");
	snprintf(state, sizeof(state), "/tmp/stavily-state.XXXXXX");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) != 0 || mkdtemp(state) == NULL)
		return -1;
	if (geteuid() == 0 && chown(state, 65534, 65534) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/echo-plugin", dir);
	if (copy_self(path) != 0)
		return -1;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || manifest_hash_fd(fd, MANIFEST_EXEC_SIZE_MAX, d) != 0)
		return -1;
	close(fd);
	memcpy(digest, "sha256:", 7);
	hex_encode(d, 32, digest + 7);
	snprintf(text, sizeof(text), "{\"name\":\"echo-plugin\",\"version\":\"0.1\",\"type\":\"action\","
	    "\"executable\":\"echo-plugin\",\"sha256\":\"%s\",\"policy\":{\"wall_timeout\":\"20s\"}}",
	    digest + 7);
	snprintf(path, sizeof(path), "%s/echo-plugin.json", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	close(fd);
	return 0;
}

/* ---- the worker side (restricted) ---- */

static int failures;
static char last_text[MSG_TEXT_MAX + 1];

#define WCHECK(expr) do { if (!(expr)) { printf("  worker: %s:%d: %s\n", __FILE__, __LINE__, #expr); failures++; } } while (0)

static void
run_job(int sock, const char *id, const char *plugin, const char *pin, const char *limit)
{
	struct msg m;

	msg_init(&m, MSG_RUN_JOB);
	snprintf(m.job_id, sizeof(m.job_id), "%s", id);
	snprintf(m.plugin, sizeof(m.plugin), "%s", plugin);
	snprintf(m.digest, sizeof(m.digest), "%s", pin ? pin : "");
	m.args = "{\"x\":1}";
	if (limit != NULL) {
		m.limits[0] = (char *)limit;
		m.n_limits = 1;
	}
	WCHECK(msg_send(sock, &m) == 0);
}

/* Next message that is not JOB_OUTPUT; its text must contain `needle`. */
static void
expect(int sock, enum msg_type type, const char *id, const char *needle)
{
	struct msg m;
	int r = msg_recv(sock, &m, NULL);

	WCHECK(r == 0);
	if (r != 0)
		return;
	if (m.type != type)
		printf("  worker: got type %d, wanted %d (%s)\n", m.type, type, m.text ? m.text : "");
	WCHECK(m.type == type);
	if (id != NULL)
		WCHECK(strcmp(m.job_id, id) == 0);
	if (needle != NULL) {
		WCHECK(m.text != NULL && strstr(m.text, needle) != NULL);
		if (m.text == NULL || strstr(m.text, needle) == NULL)
			printf("  worker: \"%s\" lacks \"%s\"\n", m.text ? m.text : "(null)", needle);
	}
	if (type == MSG_JOB_STARTED)
		WCHECK(m.pid > 1);
	if (getenv("AGENT_TEST_VERBOSE") != NULL && m.text != NULL)
		printf("  %s\n", m.text);
	snprintf(last_text, sizeof(last_text), "%s", m.text ? m.text : "");
	msg_free(&m);
}

static int
client_main(int sock, const int *fds, size_t n, void *arg)
{
	struct msg m;
	char badpin[80];

	/* an accepted job: started, then its result */
	run_job(sock, "job-1", "echo-plugin", NULL, "memory_limit=128MB");
	expect(sock, MSG_JOB_STARTED, "job-1", NULL);
	expect(sock, MSG_JOB_DONE, "job-1", "\"stdout\":{\"echo\":{\"x\":1}}");
	/* every layer applied although the spawner itself is restricted */
	WCHECK(strstr(last_text, "\"seccomp\":true,\"seccomp_user_notif\":true") != NULL);
	WCHECK(strstr(last_text, "\"no_new_privs\":true,\"capabilities_dropped\":true") != NULL);
	WCHECK(strstr(last_text, "\"exit_code\":0") != NULL);
	if (spawner_root) /* namespaces need privilege here */
		WCHECK(strstr(last_text, "\"namespaces\":[\"ipc\",\"uts\",\"net\",\"mount\",\"pid\"]") != NULL);
	/* a request that loosens the local policy */
	run_job(sock, "job-2", "echo-plugin", NULL, "memory_limit=4GB");
	expect(sock, MSG_JOB_REFUSED, "job-2", "memory_limit would loosen");
	run_job(sock, "job-3", "echo-plugin", NULL, "network_access=full");
	expect(sock, MSG_JOB_REFUSED, "job-3", "policy_loosening_refused");
	/* unknown plugin, wrong pin */
	run_job(sock, "job-4", "no-such-plugin", NULL, NULL);
	expect(sock, MSG_JOB_REFUSED, "job-4", "not installed");
	snprintf(badpin, sizeof(badpin), "%s", (const char *)arg);
	badpin[7] = badpin[7] == 'a' ? 'b' : 'a';
	run_job(sock, "job-5", "echo-plugin", badpin, NULL);
	expect(sock, MSG_JOB_REFUSED, "job-5", "digest_mismatch");
	/* the right pin runs */
	run_job(sock, "job-6", "echo-plugin", (const char *)arg, NULL);
	expect(sock, MSG_JOB_STARTED, "job-6", NULL);
	expect(sock, MSG_JOB_DONE, "job-6", "\"stderr\":[\"plugin log line\",\"second line\"");
	/* garbage and wrong-direction messages are counted, not fatal */
	WCHECK(send(sock, "\x01\x00\x00\x00\xff\xff\xff\xff", 8, 0) == 8);
	msg_init(&m, MSG_JOB_DONE);
	strcpy(m.job_id, "forged");
	m.text = "{}";
	WCHECK(msg_send(sock, &m) == 0);
	/* lockdown refuses, release runs again */
	msg_init(&m, MSG_LOCKDOWN);
	m.flag = 1;
	WCHECK(msg_send(sock, &m) == 0);
	run_job(sock, "job-7", "echo-plugin", NULL, NULL);
	expect(sock, MSG_JOB_REFUSED, "job-7", "lockdown");
	msg_init(&m, MSG_STATUS);
	WCHECK(msg_send(sock, &m) == 0);
	expect(sock, MSG_STATUS, NULL, "{\"lockdown\":true,\"running\":0,\"refused\":5,\"protocol_errors\":2}");
	msg_init(&m, MSG_LOCKDOWN);
	m.flag = 0;
	WCHECK(msg_send(sock, &m) == 0);
	run_job(sock, "job-8", "echo-plugin", NULL, NULL);
	expect(sock, MSG_JOB_STARTED, "job-8", NULL);
	expect(sock, MSG_JOB_DONE, "job-8", "\"exit_code\":0");
	msg_init(&m, MSG_SHUTDOWN);
	WCHECK(msg_send(sock, &m) == 0);
	fflush(stdout);
	return failures ? 1 : 0;
}

static void
test_split_end_to_end(void)
{
	struct sandbox_policy local;
	struct spawner sp;
	struct privsep_spec s;
	struct privsep_worker w;
	char err[PRIVSEP_ERR_LEN];
	int st;

	sandbox_policy_init_default(&local);
	CHECK_EQ_INT(spawner_init(&sp, &local, dir, MANIFEST_ACTION, 4, NULL), 0);
	memset(&s, 0, sizeof(s));
	s.state_dir = state;
	s.uid = s.gid = 65534;
	s.main = client_main;
	s.arg = digest;
	fflush(stdout);
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	CHECK_EQ_INT(spawner_run(&sp, w.sock), 0);
	CHECK_EQ_INT(spawner_running(&sp), 0);
	st = privsep_stop_worker(&w, 5000);
	CHECK(WIFEXITED(st));
	CHECK_EQ_INT(WIFEXITED(st) ? WEXITSTATUS(st) : -1, 0);
	CHECK_EQ_INT(sp.refused, 5);
	CHECK_EQ_INT(sp.protocol_errors, 2);
	sandbox_policy_free(&local);
}

/* The worker dies (EOF): the spawner's loop ends and nothing keeps running. */
static int
die_main(int sock, const int *fds, size_t n, void *arg)
{
	run_job(sock, "job-x", "echo-plugin", NULL, NULL);
	return 0;
}

static void
test_worker_eof(void)
{
	struct sandbox_policy local;
	struct spawner sp;
	struct privsep_spec s;
	struct privsep_worker w;
	char err[PRIVSEP_ERR_LEN];

	sandbox_policy_init_default(&local);
	CHECK_EQ_INT(spawner_init(&sp, &local, dir, MANIFEST_ACTION, 1, NULL), 0);
	memset(&s, 0, sizeof(s));
	s.state_dir = state;
	s.uid = s.gid = 65534;
	s.main = die_main;
	CHECK_EQ_INT(privsep_start_worker(&s, &w, err), 0);
	CHECK_EQ_INT(spawner_run(&sp, w.sock), 0);
	CHECK_EQ_INT(spawner_running(&sp), 0);
	(void)privsep_stop_worker(&w, 2000);
	sandbox_policy_free(&local);
	CHECK(spawner_init(&sp, &local, dir, MANIFEST_ACTION, 0, NULL) != 0);
	CHECK(spawner_init(&sp, &local, dir, MANIFEST_ACTION, SPAWNER_MAX_JOBS + 1, NULL) != 0);
}

/* The spawner restricted itself (main() did, before the other tests, so
 * they ran in the production shape): read back from /proc/self/status. */
static void
test_spawner_restricted(void)
{
	char line[256], v[64] = "", bnd[64] = "", eff[64] = "";
	FILE *f = fopen("/proc/self/status", "r");
	unsigned long long b = 0, e = 0;

	CHECK(f != NULL);
	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (sscanf(line, "NoNewPrivs: %63s", v) == 1)
			continue;
		if (sscanf(line, "CapBnd: %63s", bnd) == 1)
			continue;
		(void)sscanf(line, "CapEff: %63s", eff);
	}
	if (f != NULL)
		fclose(f);
	CHECK_EQ_STR(v, "1");
	b = strtoull(bnd, NULL, 16);
	e = strtoull(eff, NULL, 16);
	if (geteuid() == 0) {
		CHECK(b != 0);
		CHECK_EQ_INT(b & ~(unsigned long long)PRIVSEP_SPAWNER_CAPS, 0);
		CHECK_EQ_INT(e & ~(unsigned long long)PRIVSEP_SPAWNER_CAPS, 0);
		CHECK(e & (1ull << 21)); /* CAP_SYS_ADMIN kept for sandboxes */
	} else {
		CHECK_EQ_INT(e, 0);
	}
}

int
main(int argc, char **argv)
{
	char perr[PRIVSEP_ERR_LEN];
	char cmd[200];

	(void)argc;
	if (argv[0] != NULL && strcmp(argv[0], "echo-plugin") == 0)
		return plugin_main();
	spawner_root = geteuid() == 0;
	if (setup() != 0) {
		printf("FAIL - setup\n");
		return 1;
	}
	/* the production shape: the spawner keeps only what sandboxes need */
	if (privsep_restrict_spawner(perr) != 0) {
		printf("FAIL - restrict spawner: %s\n", perr);
		return 1;
	}
	RUN(test_spawner_restricted);
	RUN(test_split_end_to_end);
	RUN(test_worker_eof);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", dir, state);
	if (system(cmd) != 0)
		return 1;
	return HARNESS_EXIT();
}
