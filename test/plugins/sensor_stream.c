/*
 * sensor_stream.c: sensor plugin for test/integration/agent_sensor_stream.py
 * and agent_sensor_config.py.  Its name (argv[0], the manifest name) says
 * what to do: "PREFIX-N-G-B-H" prints N JSON event lines G milliseconds
 * apart, then B lines longer than 300 bytes, then, when H is 1, stays alive
 * (sleeping, at most 10 minutes) until it is killed; with H 0 it exits.
 * Each event line is
 *   {"event":"sensor_stream_test","run":"<start time in ns>","n":I,
 *    "secret":"s3cret-I","host":"h1",
 *    "user":{"email":"alice@example.com","name":"alice"}}
 * "run" tells the runs apart (a pid is not unique inside a pid namespace).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void
sleep_ms(unsigned long ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

int
main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? argv[0] : "";
	const char *p = strchr(name, '-');
	unsigned long v[4] = { 0, 0, 0, 0 };
	unsigned long long run;
	struct timespec now;
	char big[400];
	size_t i;

	for (i = 0; i < 4 && p != NULL; i++) {
		char *end;

		v[i] = strtoul(p + 1, &end, 10);
		p = *end == '-' ? end : NULL;
	}
	if (v[0] > 100000)
		v[0] = 100000;
	if (v[1] > 10000)
		v[1] = 10000;
	if (v[2] > 1000)
		v[2] = 1000;
	clock_gettime(CLOCK_REALTIME, &now);
	run = (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
	for (i = 0; i < v[0]; i++) {
		printf("{\"event\":\"sensor_stream_test\",\"run\":\"%llu\",\"n\":%zu,"
		    "\"secret\":\"s3cret-%zu\",\"host\":\"h1\","
		    "\"user\":{\"email\":\"alice@example.com\",\"name\":\"alice\"}}\n", run, i, i);
		if (fflush(stdout) != 0)
			return 1;
		if (v[1] != 0)
			sleep_ms(v[1]);
	}
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < v[2]; i++)
		printf("{\"event\":\"sensor_stream_test\",\"run\":\"%llu\",\"big\":\"%s\"}\n", run, big);
	if (fflush(stdout) != 0)
		return 1;
	for (i = 0; v[3] == 1 && i < 600; i++)
		sleep_ms(1000);
	return 0;
}
