/*
 * orchestrator_cmd.c: the `stavily orchestrator` command.  Placeholder until its issue lands:
 * it says so and fails rather than pretend to work.
 */
#include <stdio.h>

#include "base/cli.h"

static const char usage[] =
    "usage: stavily orchestrator init|run ...\n";

int
orchestrator_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	return cli_not_implemented("orchestrator");
}
