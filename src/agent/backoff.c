/* see backoff.h */
#include "agent/backoff.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "base/timefmt.h"

int
backoff_init(struct backoff *b, uint64_t base_ms, uint64_t cap_ms)
{
	memset(b, 0, sizeof(*b));
	if (base_ms == 0 || cap_ms < base_ms)
		return -EINVAL;
	b->base_ms = base_ms;
	b->cap_ms = cap_ms;
	return 0;
}

uint64_t
backoff_ceiling(const struct backoff *b)
{
	uint64_t c = b->base_ms;
	unsigned i;

	for (i = 0; i < b->attempt && c < b->cap_ms; i++)
		c = c > b->cap_ms / 2 ? b->cap_ms : c * 2;
	return c < b->cap_ms ? c : b->cap_ms;
}

static uint64_t
kernel_rand(void)
{
	uint64_t v = 0;

	/* Jitter is not a secret; if getrandom fails (it does not for 8
	 * bytes once the pool is up) the clock still spreads agents. */
	if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
		v = time_mono_ns() * 0x9e3779b97f4a7c15ull;
	return v;
}

uint64_t
backoff_next(struct backoff *b)
{
	uint64_t ceil = backoff_ceiling(b);
	uint64_t r = b->rand != NULL ? b->rand(b->rand_ctx) : kernel_rand();

	if (b->attempt < 64)
		b->attempt++;
	/* Modulo bias is at most ceil/2^64: irrelevant for delays. */
	return ceil == UINT64_MAX ? r : r % (ceil + 1);
}

void
backoff_reset(struct backoff *b)
{
	b->attempt = 0;
}
