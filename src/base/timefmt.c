/* see timefmt.h */
#include "base/timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int
timefmt_rfc3339_ms(const struct timespec *ts, char out[TIMEFMT_RFC3339_LEN])
{
	struct tm tm;
	time_t t = ts->tv_sec;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
		return -EOVERFLOW;
	/* The range check above bounds every field; the wide buffer only keeps
	 * the compiler's truncation analysis quiet. */
	char tmp[96];
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (long)(ts->tv_nsec / 1000000));
	memcpy(out, tmp, TIMEFMT_RFC3339_LEN - 1);
	out[TIMEFMT_RFC3339_LEN - 1] = '\0';
	return 0;
}

void
timefmt_now(char out[TIMEFMT_RFC3339_LEN])
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (timefmt_rfc3339_ms(&ts, out) < 0) {
		ts.tv_sec = 0;
		ts.tv_nsec = 0;
		(void)timefmt_rfc3339_ms(&ts, out);
	}
}

uint64_t
time_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
time_mono_ms(void)
{
	return time_mono_ns() / 1000000u;
}
