/*
 * cert_cmd.c: the `stavily cert` command.  Placeholder until its issue lands:
 * it says so and fails rather than pretend to work.
 */
#include <stdio.h>

#include "base/cli.h"

static const char usage[] =
    "usage: stavily cert show|pin|verify FILE\n";

int
cert_main(int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return EXIT_OK;
	}
	return cli_not_implemented("cert");
}
