/* see units.h */
#include "config/units.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
units_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Leading decimal digits into *v; *end after them.  -EINVAL if none. */
static int
digits(const char *s, uint64_t *v, const char **end)
{
	uint64_t x = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	*end = p;
	return 0;
}

int
units_parse_uint(const char *s, uint64_t *out)
{
	const char *end;
	uint64_t v;
	int r = digits(s, &v, &end);

	if (r < 0)
		return r;
	if (*end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

static int
mul_ok(uint64_t a, uint64_t b, uint64_t *out)
{
	if (b != 0 && a > UINT64_MAX / b)
		return -ERANGE;
	*out = a * b;
	return 0;
}

int
units_parse_size(const char *s, uint64_t *out)
{
	static const struct { const char *name; uint64_t mul; } units[] = {
		{ "", 1 }, { "b", 1 },
		{ "k", 1000ULL }, { "kb", 1000ULL }, { "ki", 1ULL << 10 }, { "kib", 1ULL << 10 },
		{ "m", 1000000ULL }, { "mb", 1000000ULL }, { "mi", 1ULL << 20 }, { "mib", 1ULL << 20 },
		{ "g", 1000000000ULL }, { "gb", 1000000000ULL }, { "gi", 1ULL << 30 }, { "gib", 1ULL << 30 },
		{ "t", 1000000000000ULL }, { "tb", 1000000000000ULL }, { "ti", 1ULL << 40 }, { "tib", 1ULL << 40 },
	};
	const char *end;
	uint64_t v;
	size_t i;
	int r = digits(s, &v, &end);

	if (r < 0)
		return r;
	if (*end == ' ')
		end++;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (strcasecmp(end, units[i].name) == 0)
			return mul_ok(v, units[i].mul, out);
	return -EINVAL;
}

int
units_parse_duration(const char *s, uint64_t *ms)
{
	static const struct { const char *name; uint64_t mul; } units[] = {
		{ "ms", 1 }, { "s", 1000ULL }, { "m", 60000ULL }, { "h", 3600000ULL },
		{ "d", 86400000ULL }, { "w", 604800000ULL },
	};
	const char *p = s;
	uint64_t total = 0;

	if (*p == '\0')
		return -EINVAL;
	while (*p != '\0') {
		uint64_t v, part;
		const char *end;
		size_t i, best = ARRAY_SIZE(units);
		int r = digits(p, &v, &end);

		if (r < 0)
			return r;
		/* Longest unit that matches ("ms" before "m"). */
		for (i = 0; i < ARRAY_SIZE(units); i++) {
			size_t n = units[i].name[1] ? 2 : 1;

			if (strncmp(end, units[i].name, n) == 0 &&
			    (best == ARRAY_SIZE(units) || n > (units[best].name[1] ? 2u : 1u)))
				best = i;
		}
		if (best == ARRAY_SIZE(units))
			return -EINVAL;
		if (mul_ok(v, units[best].mul, &part) < 0 || total > UINT64_MAX - part)
			return -ERANGE;
		total += part;
		p = end + (units[best].name[1] ? 2 : 1);
	}
	*ms = total;
	return 0;
}

int
units_parse_fraction(const char *s, double *out)
{
	const char *p = s;
	uint64_t ip = 0, fp = 0, scale = 1;
	int r, nd = 0;
	bool have_int = false;

	if (*p >= '0' && *p <= '9') {
		if ((r = digits(p, &ip, &p)) < 0)
			return r;
		if (ip > (1ULL << 40))
			return -ERANGE;
		have_int = true;
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++, nd++) {
			if (nd == 9)
				return -EINVAL;
			fp = fp * 10 + (uint64_t)(*p - '0');
			scale *= 10;
		}
		if (nd == 0)
			return -EINVAL;
	} else if (!have_int) {
		return -EINVAL;
	}
	*out = (double)ip + (double)fp / (double)scale;
	if (*p == '%') {
		p++;
		*out /= 100.0;
	}
	if (*p != '\0')
		return -EINVAL;
	return 0;
}

void
units_format_size(uint64_t v, char *buf, size_t len)
{
	static const char *const names[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t i = 0;

	while (i + 1 < ARRAY_SIZE(names) && v != 0 && v % 1024 == 0) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, "%llu%s", (unsigned long long)v, names[i]);
}

void
units_format_duration(uint64_t ms, char *buf, size_t len)
{
	static const struct { const char *name; uint64_t mul; } units[] = {
		{ "w", 604800000ULL }, { "d", 86400000ULL }, { "h", 3600000ULL },
		{ "m", 60000ULL }, { "s", 1000ULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (ms != 0 && ms % units[i].mul == 0) {
			/* Days read better than weeks for lifetimes such as 90d. */
			if (units[i].mul == 604800000ULL)
				continue;
			snprintf(buf, len, "%llu%s", (unsigned long long)(ms / units[i].mul), units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%llums", (unsigned long long)ms);
}
