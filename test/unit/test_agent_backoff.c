/*
 * test_agent_backoff.c: exponential backoff with full jitter, capped, reset.
 */
#include <stdint.h>
#include <string.h>

#include "agent/backoff.h"
#include "harness.h"

static uint64_t fixed_value;

static uint64_t
fixed_rand(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void
test_ceiling_doubles_and_caps(void)
{
	struct backoff b;
	uint64_t want[] = { 100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000 };
	size_t i;

	CHECK_EQ_INT(backoff_init(&b, 100, 5000), 0);
	b.rand = fixed_rand;
	fixed_value = UINT64_MAX - 1; /* near the top of each range */
	b.rand_ctx = &fixed_value;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		CHECK_EQ_INT(backoff_ceiling(&b), want[i]);
		CHECK(backoff_next(&b) <= want[i]);
	}
	/* many failures: no overflow, stays at the cap */
	for (i = 0; i < 200; i++)
		(void)backoff_next(&b);
	CHECK_EQ_INT(backoff_ceiling(&b), 5000);
	backoff_reset(&b);
	CHECK_EQ_INT(backoff_ceiling(&b), 100);
}

static void
test_full_jitter_range(void)
{
	struct backoff b;
	uint64_t min = UINT64_MAX, max = 0, v;
	int i;

	CHECK_EQ_INT(backoff_init(&b, 1000, 1000), 0);
	/* the real random source: values spread over [0, 1000] */
	for (i = 0; i < 2000; i++) {
		v = backoff_next(&b);
		CHECK(v <= 1000);
		if (v < min) min = v;
		if (v > max) max = v;
	}
	CHECK(min < 100);
	CHECK(max > 900);
	/* a zero from the source gives a zero delay (full, not "equal", jitter) */
	b.rand = fixed_rand;
	fixed_value = 0;
	b.rand_ctx = &fixed_value;
	CHECK_EQ_INT(backoff_next(&b), 0);
	fixed_value = 1000;
	CHECK_EQ_INT(backoff_next(&b), 1000);
	fixed_value = 1001;
	CHECK_EQ_INT(backoff_next(&b), 0);
}

static void
test_invalid(void)
{
	struct backoff b;

	CHECK(backoff_init(&b, 0, 10) != 0);
	CHECK(backoff_init(&b, 10, 5) != 0);
	CHECK_EQ_INT(backoff_init(&b, UINT64_MAX / 2 + 1, UINT64_MAX), 0);
	b.attempt = 5;
	CHECK(backoff_ceiling(&b) == UINT64_MAX);
}

int
main(void)
{
	RUN(test_ceiling_doubles_and_caps);
	RUN(test_full_jitter_range);
	RUN(test_invalid);
	return HARNESS_EXIT();
}
