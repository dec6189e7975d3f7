/*
 * sandbox_cmd.c: `stavily sandbox probe` and `stavily sandbox run`, thin CLIs
 * over probe.h and supervisor.h (docs/sandbox.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/cli.h"
#include "base/fileio.h"
#include "base/timefmt.h"
#include "config/config.h"
#include "event/event.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "sandbox/supervisor.h"

#define MAX_SETS 64

static const char usage[] =
    "usage: stavily sandbox probe\n"
    "       stavily sandbox run [-c CONFIG] [--section NAME] [--set KEY=VALUE]...\n"
    "                           [--events FILE|-] [--result FILE] [--exec-fd N]\n"
    "                           -- PROGRAM [ARGS...]\n"
    "\n"
    "probe  print which sandbox layers this kernel offers (JSON)\n"
    "run    run PROGRAM under the sandbox policy (default: the built-in `sandbox`\n"
    "       policy; -c CONFIG (or --config) takes section NAME, default \"sandbox\"),\n"
    "       relaying stdin/stdout/stderr; security events go to stderr as JSON lines\n"
    "       (--events FILE appends them to FILE; '-' is stderr); --result FILE\n"
    "       receives the result JSON.  PROGRAM is not searched in PATH.\n"
    "       Exit status: the program's, 128+N if killed by signal N, 125 if the\n"
    "       sandbox could not be set up, 126 cannot execute, 127 not found,\n"
    "       78 invalid policy.  --exec-fd N: run what the already open\n"
    "       descriptor N reads (e.g. 3<FILE, opened and checked beforehand);\n"
    "       PROGRAM still names it (argv, Landlock).  No #! scripts then.\n"
    "bench-spawn -n N [--set KEY=VALUE]... -- PROGRAM [ARGS...]\n"
    "       start PROGRAM N times through the in-process API the agent uses\n"
    "       (policy and filter built once) and print p50/p99 of spawn-to-exit\n"
    "       latency: runs=N p50_us=X p99_us=Y.\n";

static int
probe_main(void)
{
	struct sandbox_probe pr;
	cJSON *o;
	char *s;

	sandbox_probe_run(&pr);
	o = sandbox_probe_json(&pr);
	s = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	if (s == NULL) {
		cli_error("sandbox probe: out of memory");
		return EXIT_FAIL;
	}
	printf("%s\n", s);
	free(s);
	return EXIT_OK;
}

/* Build the policy from -c/--section or the defaults, then apply every
 * --set (our own parser, same keys as the config section).  Returns 0 or EXIT_CONFIG. */
static int
load_policy(struct sandbox_policy *p, const char *config, const char *section,
    char **sets, size_t n_sets)
{
	char err[SANDBOX_ERR_LEN] = "";
	size_t i;

	sandbox_policy_init_default(p);
	if (config != NULL) {
		struct config *cfg = NULL;
		struct config_errors errs = { NULL, 0 };
		const struct config_sandbox *cs;

		if (config_load(config, NULL, 0, &cfg, &errs) != 0) {
			config_errors_print(&errs, stderr);
			config_errors_free(&errs);
			return EXIT_CONFIG;
		}
		cs = config_sandbox(cfg, section);
		if (cs == NULL) {
			cli_error("%s: no sandbox section '%s'", config, section != NULL ? section : "sandbox");
			config_free(cfg);
			return EXIT_CONFIG;
		}
		if (sandbox_policy_from_config(p, cs, err) != 0) {
			cli_error("%s: %s", config, err);
			config_free(cfg);
			return EXIT_CONFIG;
		}
		config_free(cfg);
	}
	for (i = 0; i < n_sets; i++)
		if (sandbox_policy_set(p, sets[i], err) != 0) {
			cli_error("--set %s: %s", sets[i], err);
			return EXIT_CONFIG;
		}
	return 0;
}

/* Layers named in `require` that this host cannot give at all. */
static int
check_required(const struct sandbox_policy *p, const struct sandbox_probe *pr)
{
	static const struct { unsigned bit; } order[] = {
		{ SANDBOX_LAYER_SECCOMP }, { SANDBOX_LAYER_USER_NOTIF }, { SANDBOX_LAYER_LANDLOCK },
		{ SANDBOX_LAYER_NAMESPACES }, { SANDBOX_LAYER_CGROUP },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(order); i++) {
		unsigned b = order[i].bit;
		bool have = b == SANDBOX_LAYER_SECCOMP ? pr->seccomp :
		    b == SANDBOX_LAYER_USER_NOTIF ? pr->seccomp_user_notif :
		    b == SANDBOX_LAYER_LANDLOCK ? pr->landlock_abi > 0 :
		    b == SANDBOX_LAYER_NAMESPACES ? (pr->namespaces && p->namespaces != SANDBOX_NS_OFF) :
		    true; /* cgroup: decided per run (spawn.c, cgroup.h), naming the missing controller */
		if ((p->require & b) && !have) {
			cli_error("sandbox run: required layer missing: %s", sandbox_layer_name(b));
			return 125;
		}
	}
	return 0;
}

static int
run_main(int argc, char **argv)
{
	const char *config = NULL, *section = NULL, *events = NULL, *result = NULL;
	char *sets[MAX_SETS], err[SANDBOX_ERR_LEN] = "";
	struct sandbox_policy p;
	struct sandbox_probe pr;
	struct sandbox_filter f;
	struct sandbox_run run;
	struct event_log *log = NULL;
	size_t n_sets = 0;
	int i, ret, exec_fd = -1;
	bool have_filter = false;

	memset(&f, 0, sizeof(f));
	memset(&p, 0, sizeof(p));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (i + 1 >= argc)
			return cli_usage_error(usage, "sandbox run: %s needs a value", a);
		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
			config = argv[++i];
		else if (strcmp(a, "--section") == 0)
			section = argv[++i];
		else if (strcmp(a, "--events") == 0)
			events = argv[++i];
		else if (strcmp(a, "--result") == 0)
			result = argv[++i];
		else if (strcmp(a, "--exec-fd") == 0) {
			char *end;
			long v = strtol(argv[++i], &end, 10);

			if (*end != '\0' || end == argv[i] || v < 0 || v >= SANDBOX_EXEC_FD ||
			    fcntl((int)v, F_GETFD) < 0)
				return cli_usage_error(usage, "sandbox run: --exec-fd %s: not an open descriptor", argv[i]);
			exec_fd = (int)v;
		} else if (strcmp(a, "--set") == 0) {
			if (n_sets == MAX_SETS)
				return cli_usage_error(usage, "sandbox run: more than %d --set", MAX_SETS);
			sets[n_sets++] = argv[++i];
		} else
			return cli_usage_error(usage, "sandbox run: unknown option %s", a);
	}
	if (i >= argc)
		return cli_usage_error(usage, "sandbox run: no PROGRAM given");

	if ((ret = load_policy(&p, config, section, sets, n_sets)) != 0)
		goto out;
	sandbox_probe_quick(&pr);
	if ((ret = check_required(&p, &pr)) != 0)
		goto out;
	/* One run: compiled by the spawn, in parallel with the child's
	 * namespace setup (filter.h). */
	if (sandbox_filter_prepare(&p, pr.seccomp_user_notif, &f, err) != 0) {
		cli_error("sandbox run: %s", err);
		ret = strstr(err, "cannot be blocked") != NULL ? EXIT_CONFIG : 125;
		goto out;
	}
	have_filter = true;

	log = event_log_new("sandbox", NULL, EVENT_INFO);
	if (log == NULL) {
		cli_error("sandbox run: out of memory");
		ret = 125;
		goto out;
	}
	if (events == NULL || strcmp(events, "-") == 0) {
		/* stdout belongs to the plugin: events never mix into it. */
		ret = event_log_add_fd(log, STDERR_FILENO);
	} else {
		ret = event_log_add_file(log, events);
	}
	if (ret != 0) {
		cli_error("sandbox run: events %s: %s", events != NULL ? events : "stderr", strerror(-ret));
		ret = 125;
		goto out;
	}
	/* A reader of our stdout going away must not kill the supervisor. */
	signal(SIGPIPE, SIG_IGN);

	ret = sandbox_run_start_fd(&run, &p, &f, &pr, argv[i], exec_fd, &argv[i], STDIN_FILENO, log,
	    STDOUT_FILENO, STDERR_FILENO, err);
	if (ret != 0)
		cli_error("sandbox run: %s", err);
	else {
		sandbox_run_wait(&run);
		ret = sandbox_run_exit_status(&run);
	}
	if (result != NULL) {
		cJSON *o = sandbox_run_result(&run);
		char *s;
		int w;

		/* A run that never started still gets a result: exit_code null
		 * and the reason, so that callers need not parse stderr. */
		if (o != NULL && run.c.init_pid <= 0) {
			cJSON_AddStringToObject(o, "error", err);
			cJSON_AddNumberToObject(o, "setup_status", ret);
		}
		s = o != NULL ? cJSON_PrintUnformatted(o) : NULL;
		cJSON_Delete(o);
		if (s == NULL) {
			cli_error("sandbox run: result: out of memory");
		} else {
			size_t len = strlen(s);

			s[len] = '\n';
			w = file_write_atomic(result, s, len + 1, 0644);
			s[len] = '\0';
			if (w != 0)
				cli_error("sandbox run: result %s: %s", result, strerror(-w));
			free(s);
		}
	}
	sandbox_run_free(&run);
out:
	if (have_filter)
		sandbox_filter_free(&f);
	sandbox_policy_free(&p);
	event_log_free(log);
	return ret;
}

#define BENCH_MAX_RUNS 100000

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The agent's path, measured: one policy, one filter, N sandboxes. */
static int
bench_main(int argc, char **argv)
{
	char *sets[MAX_SETS], err[SANDBOX_ERR_LEN] = "";
	struct sandbox_policy p;
	struct sandbox_probe pr;
	struct sandbox_filter f;
	uint64_t *lat = NULL;
	size_t n_sets = 0;
	long runs = 0, k;
	int i, ret = EXIT_FAIL, devnull = -1;

	memset(&p, 0, sizeof(p));
	memset(&f, 0, sizeof(f));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			return cli_usage_error(usage, "sandbox bench-spawn: %s needs a value", argv[i]);
		if (strcmp(argv[i], "-n") == 0)
			runs = strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--set") == 0 && n_sets < MAX_SETS)
			sets[n_sets++] = argv[++i];
		else
			return cli_usage_error(usage, "sandbox bench-spawn: unknown option %s", argv[i]);
	}
	if (i >= argc || runs <= 0 || runs > BENCH_MAX_RUNS)
		return cli_usage_error(usage, "sandbox bench-spawn: need -n 1..%d and a PROGRAM",
		    BENCH_MAX_RUNS);
	if ((ret = load_policy(&p, NULL, NULL, sets, n_sets)) != 0)
		goto out;
	ret = EXIT_FAIL;
	sandbox_probe_quick(&pr);
	if (sandbox_filter_build(&p, pr.seccomp_user_notif, &f, err) != 0) {
		cli_error("sandbox bench-spawn: %s", err);
		goto out;
	}
	lat = calloc((size_t)runs, sizeof(*lat));
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (lat == NULL || devnull < 0) {
		cli_error("sandbox bench-spawn: out of memory");
		goto out;
	}
	for (k = 0; k < runs; k++) {
		struct sandbox_run run;
		uint64_t t0 = time_mono_ns();

		if (sandbox_run_start(&run, &p, &f, &pr, argv[i], &argv[i], devnull, NULL, devnull,
		    devnull, err) != 0) {
			cli_error("sandbox bench-spawn: %s", err);
			goto out;
		}
		sandbox_run_wait(&run);
		lat[k] = time_mono_ns() - t0;
		sandbox_run_free(&run);
	}
	qsort(lat, (size_t)runs, sizeof(*lat), cmp_u64);
	printf("runs=%ld p50_us=%llu p99_us=%llu\n", runs,
	    (unsigned long long)(lat[runs / 2] / 1000),
	    (unsigned long long)(lat[(runs * 99) / 100 < runs ? (runs * 99) / 100 : runs - 1] / 1000));
	ret = EXIT_OK;
out:
	free(lat);
	if (devnull >= 0)
		close(devnull);
	sandbox_filter_free(&f);
	sandbox_policy_free(&p);
	return ret;
}

int
sandbox_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(usage, "sandbox: missing subcommand");
	if (strcmp(argv[1], "probe") == 0) {
		if (argc != 2)
			return cli_usage_error(usage, "sandbox probe takes no arguments");
		return probe_main();
	}
	if (strcmp(argv[1], "run") == 0)
		return run_main(argc - 1, argv + 1);
	if (strcmp(argv[1], "bench-spawn") == 0)
		return bench_main(argc - 1, argv + 1);
	return cli_usage_error(usage, "sandbox: unknown subcommand '%s'", argv[1]);
}
