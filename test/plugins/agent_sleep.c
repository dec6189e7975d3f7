/*
 * agent_sleep.c: action plugin for the agent's integration tests: reads its
 * arguments, then sleeps 30 s before answering {"slept": true}, so that a
 * test can kill it while it runs (lockdown, quarantine, SIGTERM).
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int
main(void)
{
	char buf[4096];
	struct timespec ts = { 30, 0 };

	(void)read(0, buf, sizeof(buf));
	while (nanosleep(&ts, &ts) != 0)
		;
	dprintf(1, "{\"slept\":true}\n");
	return 0;
}
