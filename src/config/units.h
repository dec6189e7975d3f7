/*
 * units.h: the typed scalar values of the configuration.
 *
 * Every function parses the whole NUL-terminated string (no leading or
 * trailing junk) and returns 0, -EINVAL for malformed text or -ERANGE when
 * the value does not fit (overflow is always detected, never wrapped).
 *
 *   bool      true false yes no on off (any case)
 *   integer   decimal digits, no sign: 0 .. 2^64-1
 *   size      integer + optional unit, optional space between:
 *             B; decimal (SI) k K kB KB = 1000, M MB = 1000^2, G GB, T TB;
 *             binary (IEC) Ki KiB = 1024, Mi MiB = 1024^2, Gi GiB, Ti TiB.
 *             Units are case-insensitive (mb = MB = megabytes, never bits).
 *   duration  one or more integer+unit groups ("90d", "1h30m"): ms, s, m, h,
 *             d, w; a unit is required; result in milliseconds.
 *   fraction  decimal "0.5", ".25", "2" (at most 9 decimals) or a percentage
 *             "50%"; result as a double.
 */
#ifndef STAVILY_CONFIG_UNITS_H
#define STAVILY_CONFIG_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "base/util.h"

int units_parse_bool(const char *s, bool *out) WARN_UNUSED;
int units_parse_uint(const char *s, uint64_t *out) WARN_UNUSED;
int units_parse_size(const char *s, uint64_t *out) WARN_UNUSED;
int units_parse_duration(const char *s, uint64_t *ms) WARN_UNUSED;
int units_parse_fraction(const char *s, double *out) WARN_UNUSED;

/* Format a size as the largest exact binary unit ("256MiB", "1000B") and a
 * duration as the largest exact unit ("90d", "500ms") into buf. */
void units_format_size(uint64_t v, char *buf, size_t len);
void units_format_duration(uint64_t ms, char *buf, size_t len);

#endif
