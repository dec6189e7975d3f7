/*
 * cli.h: conventions shared by every subcommand.
 *
 * Exit statuses are fixed across the program (STYLE.md): 0 ok, 1 failure,
 * 64 usage, 78 configuration.  Only *_main functions print and choose an
 * exit status; library code returns errors.
 */
#ifndef STAVILY_BASE_CLI_H
#define STAVILY_BASE_CLI_H

#include <stdio.h>
#include "base/util.h"

#define EXIT_OK      0
#define EXIT_FAIL    1
#define EXIT_USAGE   64
#define EXIT_CONFIG  78

/* Every subcommand's entry point: argv[0] is the subcommand's name. */
typedef int (*cli_main_fn)(int argc, char **argv);

int agent_main(int argc, char **argv);
int orchestrator_main(int argc, char **argv);
int ctl_main(int argc, char **argv);
int sandbox_main(int argc, char **argv);
int cert_main(int argc, char **argv);
int config_main(int argc, char **argv);
int audit_main(int argc, char **argv);
int demo_main(int argc, char **argv);
int demo_plugin_main(int argc, char **argv);

/* True when argv[1..] asks for help ("--help", "-h" or "help"), in which case
 * the command prints its usage on stdout and exits 0. */
int cli_wants_help(int argc, char **argv);

/* Print "stavily: " + message on stderr. */
void cli_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* Print `usage` to stderr and return EXIT_USAGE, after an optional message. */
int cli_usage_error(const char *usage, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* For subcommands whose issue is not done yet: say so honestly, exit 1. */
int cli_not_implemented(const char *what);

#endif
