/*
 * launcher.c: the floor of the sandbox start-latency benchmark
 * (bench/sandbox.sh compiles it with musl-gcc -static -O2).
 *
 *   launcher PROGRAM [ARGS...]
 *       fork, execv PROGRAM, wait; exits with the child's status (128+N when
 *       killed by signal N).  Nothing else: this is "bare fork+exec".
 *   launcher -n N [-t SECONDS] PROGRAM [ARGS...]
 *       runs PROGRAM N times the same way (stdin, stdout and stderr on
 *       /dev/null), timing each run from just before fork to the end of
 *       waitpid on CLOCK_MONOTONIC, stops early when SECONDS (default 60)
 *       have passed, and prints one line:
 *         runs=R fails=F p50_us=X p99_us=Y min_us=A max_us=B status=S
 *       (S = the exit status of the first failed run, 0 when none failed).
 *
 * Exit status: the child's (single run), 0 (measured), 64 usage, 1 failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LAUNCHER_MAX_RUNS 100000

static double
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* One fork+exec+wait; returns the exit status as a shell would (128+sig),
 * or -1 when fork/wait failed. */
static int
run_once(char **argv, int devnull)
{
	int st;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (devnull >= 0) {
			dup2(devnull, 0);
			dup2(devnull, 1);
			dup2(devnull, 2);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return WEXITSTATUS(st);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* nearest-rank percentile of a sorted array */
static double
pct(const double *v, long n, int p)
{
	long i = (long)((double)p / 100.0 * (double)n + 0.999999) - 1;

	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

int
main(int argc, char **argv)
{
	long n = 0, runs = 0, fails = 0, i;
	double budget = 60e6, start, t0, *lat;
	int devnull, first_status = 0, st, opt;

	if (argc > 1 && argv[1][0] != '-') {
		st = run_once(argv + 1, -1);
		return st < 0 ? 1 : st;
	}
	while ((opt = getopt(argc, argv, "+n:t:")) != -1) {
		switch (opt) {
		case 'n': n = atol(optarg); break;
		case 't': budget = atof(optarg) * 1e6; break;
		default: goto usage;
		}
	}
	if (n <= 0 || n > LAUNCHER_MAX_RUNS || optind >= argc)
		goto usage;
	lat = calloc((size_t)n, sizeof(*lat));
	devnull = open("/dev/null", O_RDWR);
	if (lat == NULL || devnull < 0) {
		perror("launcher");
		return 1;
	}
	start = now_us();
	for (i = 0; i < n && now_us() - start < budget; i++) {
		t0 = now_us();
		st = run_once(argv + optind, devnull);
		lat[runs++] = now_us() - t0;
		if (st != 0) {
			if (fails++ == 0)
				first_status = st;
		}
	}
	qsort(lat, (size_t)runs, sizeof(*lat), cmp_double);
	printf("runs=%ld fails=%ld p50_us=%.0f p99_us=%.0f min_us=%.0f max_us=%.0f status=%d\n",
	       runs, fails, pct(lat, runs, 50), pct(lat, runs, 99), lat[0], lat[runs - 1], first_status);
	free(lat);
	return 0;
usage:
	fprintf(stderr, "usage: launcher [-n N [-t SECONDS]] PROGRAM [ARGS...]\n");
	return 64;
}
