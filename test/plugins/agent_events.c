/*
 * agent_events.c: sensor plugin for test/integration/agent_sensor.py.  Its
 * name (argv[0], the manifest name) says what to print: "evN" or "evNxM"
 * prints N JSON event lines {"event":"sensor_test","n":I,...} (I = 0..N-1)
 * followed by M lines that are not JSON objects.  Each event carries
 * "agent_id": "spoofed" so the test can see the agent overwrite it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
main(int argc, char **argv)
{
	const char *name = argc > 0 && argv[0] ? argv[0] : "";
	const char *base = strrchr(name, '/');
	unsigned long n = 0, bad = 0;
	char *end;

	base = base ? base + 1 : name;
	if (strncmp(base, "ev", 2) == 0) {
		n = strtoul(base + 2, &end, 10);
		if (*end == 'x')
			bad = strtoul(end + 1, NULL, 10);
	}
	if (n > 100000)
		n = 100000;
	if (bad > 1000)
		bad = 1000;
	for (unsigned long i = 0; i < n; i++)
		printf("{\"event\":\"sensor_test\",\"n\":%lu,\"agent_id\":\"spoofed\"}\n", i);
	for (unsigned long i = 0; i < bad; i++)
		printf("not json %lu\n", i);
	return fflush(stdout) == 0 ? 0 : 1;
}
