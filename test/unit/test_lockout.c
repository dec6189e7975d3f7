/* Unit tests for orchestrator/lockout.c with an injected clock: the Nth
 * failure locks, locked even with the right token, unlocked after the
 * lockout, the sliding window, per-tenant counting and the memory bound. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "harness.h"
#include "orchestrator/lockout.h"

static struct lockout *
mk(unsigned max, unsigned tmax, uint64_t window, uint64_t lock, size_t entries)
{
	struct lockout_config c = { .max_failed_attempts = max, .tenant_max_failed = tmax,
		.window_ms = window, .lockout_ms = lock, .max_entries = entries };
	struct lockout *lo = NULL;
	CHECK_EQ_INT(lockout_new(&c, &lo), 0);
	return lo;
}

static void
test_exactly_at_max(void)
{
	struct lockout *lo = mk(5, 0, 60000, 300000, 0);
	uint32_t ra = 77;
	uint64_t t = 1000000;

	if (lo == NULL)
		return;
	for (int i = 1; i <= 4; i++) {
		CHECK_EQ_INT(lockout_check(lo, "10.0.0.1", "acme", t, &ra), 0);
		CHECK_EQ_INT(ra, 0);
		CHECK_EQ_INT(lockout_fail(lo, "10.0.0.1", "acme", t), 0);
		CHECK_EQ_INT(lockout_failures(lo, LOCKOUT_SOURCE, "10.0.0.1", t), i);
		t += 1000;
	}
	/* Still allowed after 4 of 5: the fifth attempt happens... */
	CHECK_EQ_INT(lockout_check(lo, "10.0.0.1", "acme", t, &ra), 0);
	/* ...and its failure locks. */
	CHECK_EQ_INT(lockout_fail(lo, "10.0.0.1", "acme", t), LOCKOUT_SOURCE);
	uint64_t locked_at = t;
	CHECK_EQ_INT(lockout_check(lo, "10.0.0.1", "acme", t, &ra), LOCKOUT_SOURCE);
	CHECK_EQ_INT(ra, 300);
	/* Locked is checked before any token comparison: the caller answers
	 * 429 even with the right token.  Failures reported meanwhile (a buggy
	 * caller) neither extend the lock nor start a second event, and the
	 * lock holds until its end however the attempts go. */
	CHECK_EQ_INT(lockout_fail(lo, "10.0.0.1", "acme", t + 1), 0);
	CHECK_EQ_INT(lockout_check(lo, "10.0.0.1", "acme", locked_at + 299001, &ra), LOCKOUT_SOURCE);
	CHECK_EQ_INT(ra, 1);
	CHECK_EQ_INT(lockout_check(lo, "10.0.0.1", "acme", locked_at + 1500, &ra), LOCKOUT_SOURCE);
	CHECK_EQ_INT(ra, 299); /* rounded up: 298.5 s */
	/* Other sources are not affected. */
	CHECK_EQ_INT(lockout_check(lo, "10.0.0.2", "acme", t, &ra), 0);
	/* Unlocked exactly when the lockout ends, with a fresh count. */
	CHECK_EQ_INT(lockout_check(lo, "10.0.0.1", "acme", locked_at + 300000, &ra), 0);
	CHECK_EQ_INT(lockout_failures(lo, LOCKOUT_SOURCE, "10.0.0.1", locked_at + 300000), 0);
	t = locked_at + 300000;
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(lockout_fail(lo, "10.0.0.1", "acme", t + (uint64_t)i), 0);
	CHECK_EQ_INT(lockout_fail(lo, "10.0.0.1", "acme", t + 4), LOCKOUT_SOURCE);
	lockout_free(lo);
}

static void
test_window_slides(void)
{
	struct lockout *lo = mk(3, 0, 10000, 60000, 0);
	if (lo == NULL)
		return;
	/* Failures at 0, 6 s, 12 s: never 3 within 10 s. */
	CHECK_EQ_INT(lockout_fail(lo, "s", NULL, 0), 0);
	CHECK_EQ_INT(lockout_fail(lo, "s", NULL, 6000), 0);
	CHECK_EQ_INT(lockout_failures(lo, LOCKOUT_SOURCE, "s", 9999), 2);
	CHECK_EQ_INT(lockout_failures(lo, LOCKOUT_SOURCE, "s", 10000), 1); /* first left the window */
	CHECK_EQ_INT(lockout_fail(lo, "s", NULL, 12000), 0);
	CHECK_EQ_INT(lockout_check(lo, "s", NULL, 12000, NULL), 0);
	/* 14 s: failures at 6, 12, 14 are within 10 s: locked. */
	CHECK_EQ_INT(lockout_fail(lo, "s", NULL, 14000), LOCKOUT_SOURCE);
	CHECK_EQ_INT(lockout_check(lo, "s", NULL, 14000, NULL), LOCKOUT_SOURCE);
	/* A slow trickle never locks. */
	for (uint64_t k = 0; k < 50; k++)
		CHECK_EQ_INT(lockout_fail(lo, "slow", NULL, k * 5001), 0);
	CHECK_EQ_INT(lockout_check(lo, "slow", NULL, 50 * 5001, NULL), 0);
	lockout_free(lo);
}

static void
test_tenant(void)
{
	struct lockout *lo = mk(5, 10, 60000, 120000, 0);
	char src[32];
	uint32_t ra;
	unsigned r = 0;

	if (lo == NULL)
		return;
	/* Ten sources, one failure each, all at one tenant. */
	for (int i = 0; i < 10; i++) {
		snprintf(src, sizeof(src), "192.0.2.%d", i);
		CHECK_EQ_INT(lockout_check(lo, src, "acme", 1000 + (uint64_t)i, NULL), 0);
		r = lockout_fail(lo, src, "acme", 1000 + (uint64_t)i);
	}
	CHECK_EQ_INT(r, LOCKOUT_TENANT);
	CHECK_EQ_INT(lockout_check(lo, "198.51.100.1", "acme", 2000, &ra), LOCKOUT_TENANT);
	CHECK_EQ_INT(ra, 120);
	CHECK_EQ_INT(lockout_check(lo, "198.51.100.1", "other", 2000, &ra), 0);
	/* Both at once: the later end is reported. */
	for (int i = 0; i < 5; i++)
		r = lockout_fail(lo, "203.0.113.9", "other", 3000);
	CHECK_EQ_INT(r, LOCKOUT_SOURCE);
	CHECK_EQ_INT(lockout_check(lo, "203.0.113.9", "acme", 3000, &ra), LOCKOUT_SOURCE | LOCKOUT_TENANT);
	CHECK_EQ_INT(ra, 120);
	lockout_free(lo);

	/* Tenant counting off. */
	lo = mk(2, 0, 60000, 1000, 0);
	for (int i = 0; i < 100; i++) {
		snprintf(src, sizeof(src), "s%d", i);
		CHECK_EQ_INT(lockout_fail(lo, src, "acme", 5), 0);
	}
	CHECK_EQ_INT(lockout_check(lo, "new", "acme", 5, NULL), 0);
	lockout_free(lo);
}

static void
test_bounded(void)
{
	struct lockout *lo = mk(2, 0, 60000, 600000, 64);
	char src[32];

	if (lo == NULL)
		return;
	/* Lock one source, then spray many others. */
	CHECK_EQ_INT(lockout_fail(lo, "attacker", NULL, 0), 0);
	CHECK_EQ_INT(lockout_fail(lo, "attacker", NULL, 1), LOCKOUT_SOURCE);
	for (int i = 0; i < 10000; i++) {
		snprintf(src, sizeof(src), "spray-%d", i);
		CHECK_EQ_INT(lockout_fail(lo, src, NULL, 10 + (uint64_t)i), 0);
	}
	CHECK_EQ_INT(lockout_entries(lo, LOCKOUT_SOURCE), 64);
	/* Locked entries are evicted last: the lock holds. */
	CHECK_EQ_INT(lockout_check(lo, "attacker", NULL, 20000, NULL), LOCKOUT_SOURCE);
	/* Recently used keys keep their counts; old ones were evicted. */
	CHECK_EQ_INT(lockout_failures(lo, LOCKOUT_SOURCE, "spray-9999", 20000), 1);
	CHECK_EQ_INT(lockout_failures(lo, LOCKOUT_SOURCE, "spray-0", 20000), 0);
	/* Long keys are cut, not overflowed. */
	char longkey[300];
	memset(longkey, 'k', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	CHECK_EQ_INT(lockout_fail(lo, longkey, NULL, 30000), 0);
	CHECK_EQ_INT(lockout_failures(lo, LOCKOUT_SOURCE, longkey, 30000), 1);
	lockout_free(lo);

	/* Bad configurations. */
	struct lockout_config c = { .max_failed_attempts = 0, .window_ms = 1, .lockout_ms = 1 };
	struct lockout *x = NULL;
	CHECK_EQ_INT(lockout_new(&c, &x), -EINVAL);
	c.max_failed_attempts = LOCKOUT_MAX_ATTEMPTS + 1;
	CHECK_EQ_INT(lockout_new(&c, &x), -EINVAL);
	c.max_failed_attempts = 3;
	c.window_ms = 0;
	CHECK_EQ_INT(lockout_new(&c, &x), -EINVAL);
	c.window_ms = 1;
	c.max_entries = LOCKOUT_MAX_ENTRIES + 1;
	CHECK_EQ_INT(lockout_new(&c, &x), -EINVAL);
}

int
main(void)
{
	RUN(test_exactly_at_max);
	RUN(test_window_slides);
	RUN(test_tenant);
	RUN(test_bounded);
	return HARNESS_EXIT();
}
