/*
 * orchestrator_cmd.c: `stavily orchestrator init|run` (argument handling
 * only: orch_init.h and service.h do the work).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "crypto/ca.h"
#include "orchestrator/orch_init.h"
#include "orchestrator/service.h"

#define ORCH_MAX_SET 64

static const char usage[] =
    "usage: stavily orchestrator init -d STATE_DIR --name HOSTNAME [--san DNS-or-IP]...\n"
    "                                 [--trust-domain NAME]\n"
    "       stavily orchestrator run -c orchestrator.yaml [--set KEY=VALUE]...\n"
    "\n"
    "init  creates the CA (EC P-256, STATE_DIR/ca.key 0600), the server certificate for\n"
    "      HOSTNAME and every --san, and STATE_DIR/orchestrator.yaml; prints the CA pin\n"
    "      (sha256:<hex>) for agent configs.  Refuses to overwrite an existing CA.\n"
    "run   serves the enrollment listener and the admin socket until SIGTERM\n"
    "      (SIGHUP reopens the event log file).  --set overrides a configuration key.\n";

static int cmd_init(int argc, char **argv)
{
	struct orch_init_opts o;
	char pin[X509_PIN_STR_LEN], why[200];
	int r;

	memset(&o, 0, sizeof(o));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (i + 1 >= argc)
			return cli_usage_error(usage, "orchestrator init: '%s' needs a value or is unknown", a);
		if (strcmp(a, "-d") == 0 || strcmp(a, "--state-dir") == 0)
			o.state_dir = argv[++i];
		else if (strcmp(a, "--name") == 0)
			o.name = argv[++i];
		else if (strcmp(a, "--trust-domain") == 0)
			o.trust_domain = argv[++i];
		else if (strcmp(a, "--san") == 0) {
			if (o.n_sans >= ORCH_INIT_MAX_SANS)
				return cli_usage_error(usage, "orchestrator init: at most %d --san", ORCH_INIT_MAX_SANS);
			o.sans[o.n_sans++] = argv[++i];
		} else
			return cli_usage_error(usage, "orchestrator init: unknown option '%s'", a);
	}
	if (!o.state_dir || !o.name)
		return cli_usage_error(usage, "orchestrator init: -d STATE_DIR and --name HOSTNAME are required");
	r = orch_init(&o, pin, why, sizeof(why));
	if (r == -EEXIST) {
		cli_error("%s: a CA already exists there (ca.key); refusing to overwrite it", o.state_dir);
		return EXIT_FAIL;
	}
	if (r == -EINVAL && why[0]) {
		cli_error("orchestrator init: %s", why);
		return EXIT_USAGE;
	}
	if (r < 0) {
		cli_error("%s: %s", o.state_dir, r > -4000 ? strerror(-r) : ca_strerror(r));
		return EXIT_FAIL;
	}
	printf("%s\n", pin);
	fprintf(stderr, "stavily: orchestrator state in %s; configuration %s/orchestrator.yaml\n"
	    "stavily: put the CA pin above into every agent's agent.ca_pins\n", o.state_dir, o.state_dir);
	return EXIT_OK;
}

static int cmd_run(int argc, char **argv)
{
	const char *cfg = NULL, *sets[ORCH_MAX_SET];
	size_t n = 0;

	for (int i = 1; i < argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) && i + 1 < argc)
			cfg = argv[++i];
		else if (strcmp(argv[i], "--set") == 0 && i + 1 < argc) {
			if (n >= ORCH_MAX_SET)
				return cli_usage_error(usage, "orchestrator run: too many --set");
			sets[n++] = argv[++i];
		} else
			return cli_usage_error(usage, "orchestrator run: unknown argument '%s'", argv[i]);
	}
	if (!cfg)
		return cli_usage_error(usage, "orchestrator run: -c orchestrator.yaml is required");
	return orch_run(cfg, sets, n);
}

int
orchestrator_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	if (argc < 2)
		return cli_usage_error(usage, "orchestrator: init or run expected");
	if (strcmp(argv[1], "init") == 0)
		return cmd_init(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	return cli_usage_error(usage, "orchestrator: unknown command '%s'", argv[1]);
}
