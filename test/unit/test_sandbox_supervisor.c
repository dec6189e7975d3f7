/* Unit tests for the in-process sandbox API the agent uses
 * (sandbox/supervisor.h): spawn, supervise, events, result, limits.
 * Runs /bin/sh and /bin/true from the host under a policy listing /bin,
 * /usr and /lib read-only, as root or not (namespaces auto). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "event/event.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "sandbox/supervisor.h"

#define MAX_SEEN 32

static char seen[MAX_SEEN][EVENT_MAX_LINE / 64];
static int n_seen;

static void
sink(void *ctx, enum event_level level, const char *event, const char *line, size_t len)
{
	(void)ctx;
	(void)level;
	(void)event;
	if (n_seen < MAX_SEEN) {
		snprintf(seen[n_seen], sizeof(seen[0]), "%.*s", (int)len, line);
		n_seen++;
	}
}

static int
count_seen(const char *needle)
{
	int i, n = 0;

	for (i = 0; i < n_seen; i++)
		if (strstr(seen[i], needle) != NULL)
			n++;
	return n;
}

/* Run argv under `sets` (KEY=VALUE strings); returns the exit status and
 * leaves the output in `out`. */
static int
run(const char *const *sets, size_t n_sets, char *const argv[], struct sandbox_run *r,
    char *out, size_t out_cap)
{
	struct sandbox_policy p;
	struct sandbox_probe pr;
	struct sandbox_filter f;
	struct event_log *log;
	char err[SANDBOX_ERR_LEN] = "";
	int pfd[2], st = -1;
	size_t i;
	ssize_t n;

	n_seen = 0;
	sandbox_policy_init_default(&p);
	for (i = 0; i < n_sets; i++)
		CHECK_EQ_INT(sandbox_policy_set(&p, sets[i], err), 0);
	sandbox_probe_quick(&pr);
	CHECK_EQ_INT(sandbox_filter_build(&p, pr.seccomp_user_notif, &f, err), 0);
	log = event_log_new("sandbox", NULL, EVENT_DEBUG);
	CHECK(log != NULL);
	CHECK_EQ_INT(event_log_add_callback(log, sink, NULL), 0);
	CHECK_EQ_INT(pipe2(pfd, O_CLOEXEC), 0);
	if (sandbox_run_start(r, &p, &f, &pr, argv[0], argv, -1, log, pfd[1], -1, err) == 0) {
		sandbox_run_wait(r);
		st = sandbox_run_exit_status(r);
		sandbox_run_free(r);
	} else {
		printf("  spawn failed: %s\n", err);
	}
	close(pfd[1]);
	n = read(pfd[0], out, out_cap - 1);
	out[n > 0 ? n : 0] = '\0';
	close(pfd[0]);
	event_log_free(log);
	sandbox_filter_free(&f);
	sandbox_policy_free(&p);
	return st;
}

static const char *const shpol[] = {
	"filesystem_access=/tmp,/bin:ro,/usr:ro,/lib:ro,/lib64:ro",
	"allowed_syscalls=",
	"blocked_syscalls=exec,socket,bind",
	"wall_timeout=10s",
};

static void
test_exit_status_and_output(void)
{
	char *argv[] = { "/bin/sh", "-c", "echo in-sandbox; exit 7", NULL };
	struct sandbox_run r;
	char out[256];

	CHECK_EQ_INT(run(shpol, ARRAY_SIZE(shpol), argv, &r, out, sizeof(out)), 7);
	CHECK_EQ_STR(out, "in-sandbox\n");
	CHECK_EQ_INT(r.exit_code, 7);
	CHECK_EQ_INT(r.signal, 0);
	CHECK(r.c.layers.seccomp);
	CHECK(r.c.layers.no_new_privs);
}

static void
test_blocked_exec_reported(void)
{
	/* sh forks (allowed here) and the child's exec is refused */
	char *argv[] = { "/bin/sh", "-c", "/bin/true; echo after=$?", NULL };
	struct sandbox_run r;
	char out[256];

	CHECK_EQ_INT(run(shpol, ARRAY_SIZE(shpol), argv, &r, out, sizeof(out)), 0);
	CHECK(strstr(out, "after=126") != NULL || strstr(out, "after=127") != NULL);
	CHECK(count_seen("\"event\":\"blocked_syscall_attempt\"") >= 1);
	CHECK(count_seen("\"syscall\":\"execve\"") >= 1);
	CHECK(r.violations >= 1);
}

static void
test_wall_timeout_kills(void)
{
	const char *sets[] = { shpol[0], shpol[1], shpol[2], "wall_timeout=300ms" };
	char *argv[] = { "/bin/sh", "-c", "while :; do :; done", NULL };
	struct sandbox_run r;
	char out[64];

	CHECK_EQ_INT(run(sets, ARRAY_SIZE(sets), argv, &r, out, sizeof(out)), 128 + 9);
	CHECK(r.limits_hit & SANDBOX_LIMIT_WALL_TIME);
	CHECK(r.wall_ms >= 300 && r.wall_ms < 5000);
	CHECK_EQ_INT(count_seen("\"limit\":\"wall_time\""), 1);
}

static void
test_output_cap(void)
{
	const char *sets[] = { shpol[0], shpol[1], shpol[2], shpol[3], "max_output=1000" };
	char *argv[] = { "/bin/sh", "-c", "while :; do echo 0123456789; done", NULL };
	struct sandbox_run r;
	char out[4096];

	CHECK_EQ_INT(run(sets, ARRAY_SIZE(sets), argv, &r, out, sizeof(out)), 128 + 9);
	CHECK_EQ_INT(strlen(out), 1000);
	CHECK(r.limits_hit & SANDBOX_LIMIT_OUTPUT);
}

static void
test_not_found(void)
{
	char *argv[] = { "/nonexistent/plugin", NULL };
	struct sandbox_policy p;
	struct sandbox_probe pr;
	struct sandbox_filter f;
	struct sandbox_run r;
	char err[SANDBOX_ERR_LEN] = "";

	sandbox_policy_init_default(&p);
	sandbox_probe_quick(&pr);
	CHECK_EQ_INT(sandbox_filter_build(&p, pr.seccomp_user_notif, &f, err), 0);
	CHECK_EQ_INT(sandbox_run_start(&r, &p, &f, &pr, argv[0], argv, -1, NULL, -1, -1, err),
	    SANDBOX_SPAWN_NOTFOUND);
	CHECK(strstr(err, "not found") != NULL);
	sandbox_filter_free(&f);
	sandbox_policy_free(&p);
}

int
main(void)
{
	RUN(test_exit_status_and_output);
	RUN(test_blocked_exec_reported);
	RUN(test_wall_timeout_kills);
	RUN(test_output_cap);
	RUN(test_not_found);
	return HARNESS_EXIT();
}
