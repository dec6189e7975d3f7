/*
 * sandbox_cmd.c: the `stavily sandbox` command.  Placeholder until its issue lands:
 * it says so and fails rather than pretend to work.
 */
#include <stdio.h>

#include "base/cli.h"

static const char usage[] =
    "usage: stavily sandbox probe | run [-c CONFIG] -- PROGRAM [ARGS...]\n";

int
sandbox_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	return cli_not_implemented("sandbox");
}
