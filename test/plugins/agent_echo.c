/*
 * agent_echo.c: action plugin for the agent's spawner tests: prints the
 * job's arguments (its stdin) inside {"echo": ...} and two stderr lines.
 * test_agent_spawner uses it when the test itself is not a static binary
 * (the ASan build); otherwise that test runs a copy of itself, which
 * behaves the same.
 */
#include <stdio.h>
#include <unistd.h>

int
main(void)
{
	char buf[4096];
	ssize_t n = read(0, buf, sizeof(buf) - 1);

	if (n < 0)
		n = 0;
	buf[n] = '\0';
	dprintf(1, "{\"echo\":%s}\n", n ? buf : "null");
	dprintf(2, "plugin log line\nsecond line\n");
	return 0;
}
