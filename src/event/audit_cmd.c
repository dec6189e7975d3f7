/*
 * audit_cmd.c: the `stavily audit` command.  Placeholder until its issue lands:
 * it says so and fails rather than pretend to work.
 */
#include <stdio.h>

#include "base/cli.h"

static const char usage[] =
    "usage: stavily audit verify FILE\n";

int
audit_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	return cli_not_implemented("audit");
}
