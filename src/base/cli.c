/* see cli.h */
#include "base/cli.h"

#include <stdarg.h>
#include <string.h>

int
cli_wants_help(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
	}
	return argc > 1 && strcmp(argv[1], "help") == 0;
}

void
cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("stavily: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fputs("stavily: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	fputs(usage, stderr);
	return EXIT_USAGE;
}

int
cli_not_implemented(const char *what)
{
	fprintf(stderr, "stavily: %s: not implemented yet\n", what);
	return EXIT_FAIL;
}
