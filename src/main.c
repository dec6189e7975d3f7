/*
 * main.c: subcommand dispatch only.  Each subcommand lives in its subsystem
 * (see base/cli.h for the entry points).
 */
#include <stdio.h>
#include <string.h>

#include "base/cli.h"
#include "version.h"

static const struct command {
	const char *name;
	cli_main_fn fn;
	const char *summary;     /* NULL: hidden from the command list */
} commands[] = {
	{ "agent", agent_main, "run, register and inspect an agent" },
	{ "orchestrator", orchestrator_main, "initialise and run the orchestrator" },
	{ "ctl", ctl_main, "operate a running orchestrator over its admin socket" },
	{ "sandbox", sandbox_main, "probe the kernel's sandbox layers, run a program sandboxed" },
	{ "cert", cert_main, "show, pin and verify certificates" },
	{ "config", config_main, "check and show configuration files" },
	{ "audit", audit_main, "verify a tamper-evident audit log" },
	{ "demo", demo_main, "run orchestrator and agents on loopback and show the whole flow" },
	/* the demo's sandboxed plugin is this binary itself */
	{ "demo-plugin", demo_plugin_main, NULL },
};

static void
usage(FILE *f)
{
	size_t i;

	fputs("usage: stavily COMMAND [ARGS...]\n"
	      "       stavily help [COMMAND]\n"
	      "       stavily --version\n\n"
	      "commands:\n", f);
	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (commands[i].summary != NULL)
			fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].summary);
	fputs("\nRun 'stavily COMMAND --help' for a command's options.\n", f);
}

static void
version(void)
{
	printf("stavily %s (commit %s)\n", STAVILY_VERSION, STAVILY_GIT_COMMIT);
	printf("  musl       %s (Debian musl-dev)\n", STAVILY_DEP_MUSL);
	printf("  bearssl    %s\n", STAVILY_DEP_BEARSSL);
	printf("  libseccomp %s\n", STAVILY_DEP_LIBSECCOMP);
	printf("  inih       %s\n", STAVILY_DEP_LIBINIH);
	printf("  cjson      %s\n", STAVILY_DEP_CJSON);
}

static const struct command *
lookup(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/* Multi-call names: the demo installs this binary as its sample plugin, and
 * the agent starts a plugin with argv[0] = the manifest's name. */
static const struct command *
lookup_by_name(const char *argv0)
{
	const char *base = strrchr(argv0, '/');

	base = base ? base + 1 : argv0;
	if (strcmp(base, "stavily-demo-plugin") == 0 || strcmp(base, "stavily-demo-sensor") == 0)
		return lookup("demo-plugin");
	return NULL;
}

int
main(int argc, char **argv)
{
	const struct command *c;

	if (argc >= 1 && (c = lookup_by_name(argv[0])) != NULL)
		return c->fn(argc, argv);

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		version();
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "help") == 0) {
		char *hargv[3];
		if (argc == 2) {
			usage(stdout);
			return EXIT_OK;
		}
		if ((c = lookup(argv[2])) == NULL) {
			fprintf(stderr, "stavily: unknown command '%s'\n", argv[2]);
			usage(stderr);
			return EXIT_USAGE;
		}
		hargv[0] = argv[2];
		hargv[1] = (char *)"--help";
		hargv[2] = NULL;
		return c->fn(2, hargv);
	}
	if ((c = lookup(argv[1])) == NULL) {
		fprintf(stderr, "stavily: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return EXIT_USAGE;
	}
	return c->fn(argc - 1, argv + 1);
}
