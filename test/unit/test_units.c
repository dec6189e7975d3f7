/* Unit tests of the typed values (src/config/units.c): every unit, every
 * rejection, and overflow at the exact boundary. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "config/units.h"

static uint64_t
size_of(const char *s, int *r)
{
	uint64_t v = 12345;

	*r = units_parse_size(s, &v);
	return v;
}

static void
test_sizes(void)
{
	static const struct { const char *s; uint64_t v; } ok[] = {
		{ "0", 0 }, { "17", 17 }, { "17B", 17 }, { "256MB", 256000000ULL },
		{ "256 MB", 256000000ULL }, { "1k", 1000 }, { "1KB", 1000 }, { "1kB", 1000 },
		{ "1KiB", 1024 }, { "1Ki", 1024 }, { "1GiB", 1ULL << 30 }, { "1GB", 1000000000ULL },
		{ "2TiB", 2ULL << 40 }, { "1mb", 1000000 }, { "1mib", 1 << 20 },
		{ "18446744073709551615", UINT64_MAX }, { "16777215TiB", 16777215ULL << 40 },
	};
	static const char *const bad[] = {
		"", "MB", "-1", "1.5GB", "1 GB extra", "1  MB", "1XB", " 1", "1e3", "0x10", "1PB",
	};
	size_t i;
	int r;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		uint64_t v = size_of(ok[i].s, &r);

		if (r != 0 || v != ok[i].v)
			printf("  size '%s': r=%d v=%llu\n", ok[i].s, r, (unsigned long long)v);
		CHECK(r == 0 && v == ok[i].v);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		size_of(bad[i], &r);
		if (r != -EINVAL)
			printf("  size '%s' accepted or wrong error (%d)\n", bad[i], r);
		CHECK_EQ_INT(r, -EINVAL);
	}
	size_of("18446744073709551616", &r);
	CHECK_EQ_INT(r, -ERANGE);
	size_of("16777216TiB", &r);           /* 2^24 * 2^40 = 2^64 */
	CHECK_EQ_INT(r, -ERANGE);
	size_of("18446744073709551615KB", &r);
	CHECK_EQ_INT(r, -ERANGE);
	size_of("99999999999999999999999999999999MB", &r);
	CHECK_EQ_INT(r, -ERANGE);
}

static void
test_durations(void)
{
	static const struct { const char *s; uint64_t ms; } ok[] = {
		{ "500ms", 500 }, { "30s", 30000 }, { "5m", 300000 }, { "2h", 7200000 },
		{ "90d", 90ULL * 86400000 }, { "1w", 604800000 }, { "1h30m", 5400000 },
		{ "0s", 0 }, { "1m1ms", 60001 },
	};
	static const char *const bad[] = { "", "30", "s", "5 m", "5M", "1.5h", "-1s", "1y", "5mss", "1h 2m" };
	size_t i;
	uint64_t v;
	int r;

	for (i = 0; i < ARRAY_SIZE(ok); i++) {
		v = 0;
		r = units_parse_duration(ok[i].s, &v);
		if (r != 0 || v != ok[i].ms)
			printf("  duration '%s': r=%d v=%llu\n", ok[i].s, r, (unsigned long long)v);
		CHECK(r == 0 && v == ok[i].ms);
	}
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		r = units_parse_duration(bad[i], &v);
		if (r != -EINVAL)
			printf("  duration '%s' accepted (%d)\n", bad[i], r);
		CHECK_EQ_INT(r, -EINVAL);
	}
	/* 2^64 ms is 213503982334.6 days: the last whole day fits, the next not. */
	CHECK_EQ_INT(units_parse_duration("213503982334d", &v), 0);
	CHECK_EQ_INT(units_parse_duration("213503982335d", &v), -ERANGE);
	CHECK_EQ_INT(units_parse_duration("213503982334d1d", &v), -ERANGE);
	CHECK_EQ_INT(units_parse_duration("18446744073709551615ms1ms", &v), -ERANGE);
	CHECK_EQ_INT(units_parse_duration("18446744073709551616ms", &v), -ERANGE);
	CHECK_EQ_INT(units_parse_duration("18446744073709551615ms", &v), 0);
	CHECK(v == UINT64_MAX);
}

static void
test_fractions_bools_ints(void)
{
	double f;
	bool b;
	uint64_t u;

	CHECK(units_parse_fraction("0.5", &f) == 0 && f == 0.5);
	CHECK(units_parse_fraction(".25", &f) == 0 && f == 0.25);
	CHECK(units_parse_fraction("2", &f) == 0 && f == 2.0);
	CHECK(units_parse_fraction("50%", &f) == 0 && f == 0.5);
	CHECK_EQ_INT(units_parse_fraction("", &f), -EINVAL);
	CHECK_EQ_INT(units_parse_fraction(".", &f), -EINVAL);
	CHECK_EQ_INT(units_parse_fraction("0.1234567891", &f), -EINVAL);
	CHECK_EQ_INT(units_parse_fraction("1e3", &f), -EINVAL);
	CHECK_EQ_INT(units_parse_fraction("-0.5", &f), -EINVAL);
	CHECK_EQ_INT(units_parse_fraction("nan", &f), -EINVAL);
	CHECK_EQ_INT(units_parse_fraction("99999999999999999999", &f), -ERANGE);
	CHECK(units_parse_bool("true", &b) == 0 && b);
	CHECK(units_parse_bool("False", &b) == 0 && !b);
	CHECK(units_parse_bool("on", &b) == 0 && b);
	CHECK_EQ_INT(units_parse_bool("1", &b), -EINVAL);
	CHECK_EQ_INT(units_parse_bool("", &b), -EINVAL);
	CHECK(units_parse_uint("42", &u) == 0 && u == 42);
	CHECK_EQ_INT(units_parse_uint("42x", &u), -EINVAL);
	CHECK_EQ_INT(units_parse_uint("+1", &u), -EINVAL);
	CHECK_EQ_INT(units_parse_uint("18446744073709551616", &u), -ERANGE);
}

static void
test_format(void)
{
	char buf[32];

	units_format_duration(90ULL * 86400000, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "90d");
	units_format_duration(60000, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1m");
	units_format_duration(1500, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1500ms");
	units_format_duration(0, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "0ms");
	units_format_size(1ULL << 30, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1GiB");
	units_format_size(1000, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "1000B");
}

int
main(void)
{
	RUN(test_sizes);
	RUN(test_durations);
	RUN(test_fractions_bools_ints);
	RUN(test_format);
	return HARNESS_EXIT();
}
