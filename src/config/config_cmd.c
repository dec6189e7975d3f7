/*
 * config_cmd.c: the `stavily config` command.  Placeholder until its issue lands:
 * it says so and fails rather than pretend to work.
 */
#include <stdio.h>

#include "base/cli.h"

static const char usage[] =
    "usage: stavily config check|show FILE\n";

int
config_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	return cli_not_implemented("config");
}
