/*
 * hello.c: the smallest well-behaved plugin, used by the start-latency
 * benchmark: one write(2) and exit, nothing a sandbox policy could object to.
 */
#include <unistd.h>

int
main(void)
{
	static const char msg[] = "hello\n";

	return write(1, msg, sizeof(msg) - 1) == (ssize_t)(sizeof(msg) - 1) ? 0 : 1;
}
