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
    "       stavily orchestrator rollover -d STATE_DIR --key BACKUP_CA_KEY\n"
    "       stavily orchestrator backup-ca -d STATE_DIR\n"
    "\n"
    "init  creates the CA (EC P-256, STATE_DIR/ca.key 0600), the server certificate for\n"
    "      HOSTNAME and every --san, and STATE_DIR/orchestrator.yaml; prints the CA pin\n"
    "      (sha256:<hex>) for agent configs.  Refuses to overwrite an existing CA.\n"
    "run   serves the enrollment listener, the mTLS agent listener and the admin socket\n"
    "      until SIGTERM (SIGHUP reopens the event log file).  --set overrides a\n"
    "      configuration key.  -c is also --config, -d also --state-dir.\n"
    "rollover  (orchestrator stopped) makes the backup CA (init wrote ca-backup.*; its key\n"
    "      was moved offline) the CA: reissues the server certificate under it, keeps the\n"
    "      old CA trusted for agent certificates (ca-previous.pem) and creates the next\n"
    "      backup CA.  Prints the new CA pin and the next backup pin.\n"
    "backup-ca  creates the backup CA (ca-backup.key, ca-backup.pem) in a state directory\n"
    "      made before init did so; prints its pin.  Refuses when one exists.\n";

/* `orchestrator backup-ca`: the backup CA for a state directory that has none */
static int cmd_backup_ca(int argc, char **argv)
{
	const char *dir = NULL;
	char pin[X509_PIN_STR_LEN];
	int r;

	if (argc == 3 && (strcmp(argv[1], "-d") == 0 || strcmp(argv[1], "--state-dir") == 0))
		dir = argv[2];
	else
		return cli_usage_error(usage, "orchestrator backup-ca: -d STATE_DIR is required");
	r = orch_backup_create(dir, pin);
	if (r == -EEXIST) {
		cli_error("%s: a backup CA already exists there (ca-backup.key)", dir);
		return EXIT_FAIL;
	}
	if (r == -ENOENT) {
		cli_error("%s: not an orchestrator state directory (no ca.pem)", dir);
		return EXIT_FAIL;
	}
	if (r < 0) {
		cli_error("%s: %s", dir, r > -4000 ? strerror(-r) : ca_strerror(r));
		return EXIT_FAIL;
	}
	printf("%s\n", pin);
	fprintf(stderr, "stavily: backup CA pin above: add it to agent.ca_pins, then move "
	    "%s/" ORCH_CA_BACKUP_KEY_FILE " offline; restart the orchestrator so that agents receive "
	    "the backup CA (ca_backup) with their next renewal\n", dir);
	return EXIT_OK;
}

/* `orchestrator rollover` (orch_init.h; docs/operations.md "CA pin rollover") */
static int cmd_rollover(int argc, char **argv)
{
	struct orch_rollover_opts o;
	struct orch_rollover_result res;
	char why[240];
	int r;

	memset(&o, 0, sizeof(o));
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			return cli_usage_error(usage, "orchestrator rollover: '%s' needs a value or is unknown", argv[i]);
		if (strcmp(argv[i], "-d") == 0 || strcmp(argv[i], "--state-dir") == 0)
			o.state_dir = argv[++i];
		else if (strcmp(argv[i], "--key") == 0)
			o.backup_key = argv[++i];
		else
			return cli_usage_error(usage, "orchestrator rollover: unknown option '%s'", argv[i]);
	}
	if (!o.state_dir || !o.backup_key)
		return cli_usage_error(usage, "orchestrator rollover: -d STATE_DIR and --key BACKUP_CA_KEY are required");
	r = orch_rollover(&o, &res, why, sizeof(why));
	if (r < 0) {
		cli_error("orchestrator rollover: %s%s%s", why[0] ? why : "",
		    why[0] ? ": " : "", r > -4000 ? strerror(-r) : ca_strerror(r));
		return EXIT_FAIL;
	}
	printf("%s\n", res.pin);
	fprintf(stderr, "stavily: the CA is now %s (was %s); the server certificate was reissued\n"
	    "stavily: agents' certificates of the old CA stay accepted while %s/" ORCH_CA_PREVIOUS_FILE " exists\n"
	    "stavily: next backup CA pin %s: add it to agent.ca_pins, then move %s/" ORCH_CA_BACKUP_KEY_FILE " offline\n",
	    res.pin, res.previous_pin, o.state_dir, res.next_backup_pin, o.state_dir);
	return EXIT_OK;
}

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
	{
		/* the backup pin (orch_init made ca-backup.*): agents list it too */
		char bp[X509_PIN_STR_LEN + 16], cp[4200];
		struct x509_chain ch;
		unsigned char p[32];
		snprintf(cp, sizeof(cp), "%s/" ORCH_CA_BACKUP_CERT_FILE, o.state_dir);
		if (x509_chain_load_file(cp, &ch) == 0) {
			if (x509_spki_pin(ch.certs[0].data, ch.certs[0].data_len, p) == 0 &&
			    x509_pin_format(p, bp) == 0)
				fprintf(stderr, "stavily: backup CA pin %s: add it to agent.ca_pins too, then "
				    "move %s/" ORCH_CA_BACKUP_KEY_FILE " offline (docs/operations.md, CA pin rollover)\n",
				    bp, o.state_dir);
			x509_chain_free(&ch);
		}
	}
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
	if (strcmp(argv[1], "rollover") == 0)
		return cmd_rollover(argc - 1, argv + 1);
	if (strcmp(argv[1], "backup-ca") == 0)
		return cmd_backup_ca(argc - 1, argv + 1);
	return cli_usage_error(usage, "orchestrator: unknown command '%s'", argv[1]);
}
