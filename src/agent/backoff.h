/*
 * backoff.h: reconnect delays, exponential with "full jitter" (a uniform
 * random delay in [0, min(cap, base * 2^attempt)]), reset on success.
 * Full jitter spreads a fleet of agents that lost the orchestrator at the
 * same moment, so they do not reconnect in lockstep.
 */
#ifndef STAVILY_AGENT_BACKOFF_H
#define STAVILY_AGENT_BACKOFF_H

#include <stdint.h>

#include "base/util.h"

/* Source of randomness: a uniform 64-bit value.  Tests inject their own. */
typedef uint64_t (*backoff_rand_fn)(void *ctx);

struct backoff {
	uint64_t base_ms;       /* > 0 */
	uint64_t cap_ms;        /* >= base_ms */
	unsigned attempt;       /* failures since the last success */
	backoff_rand_fn rand;   /* NULL: the kernel's getrandom() */
	void *rand_ctx;
};

/* Initialise.  Returns 0 or -EINVAL (base 0 or cap < base). */
int backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms) WARN_UNUSED;

/* The ceiling of the next delay: min(cap, base * 2^attempt), no overflow. */
uint64_t backoff_ceiling(const struct backoff *b);

/* Delay before the next attempt (a failure happened): uniform in
 * [0, backoff_ceiling()], then attempt++. */
uint64_t backoff_next(struct backoff *b);

/* A success: the next failure starts from base again. */
void backoff_reset(struct backoff *b);

#endif
