/*
 * timefmt.h: timestamps as the event format wants them.
 */
#ifndef STAVILY_BASE_TIMEFMT_H
#define STAVILY_BASE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Length of "2025-01-15T10:30:00.000Z" plus NUL. */
#define TIMEFMT_RFC3339_LEN 25

/* Format `ts` (UTC) as RFC 3339 with milliseconds and a 'Z'.  `out` must hold
 * TIMEFMT_RFC3339_LEN bytes.  Returns 0, or -EOVERFLOW for years outside
 * 0000..9999. */
int timefmt_rfc3339_ms(const struct timespec *ts, char out[TIMEFMT_RFC3339_LEN]);

/* CLOCK_REALTIME now, formatted as above (cannot fail for sane clocks; on a
 * clock outside the range it writes the epoch). */
void timefmt_now(char out[TIMEFMT_RFC3339_LEN]);

/* Milliseconds of CLOCK_MONOTONIC, for timeouts and measurements. */
uint64_t time_mono_ms(void);
/* Nanoseconds of CLOCK_MONOTONIC. */
uint64_t time_mono_ns(void);

#endif
