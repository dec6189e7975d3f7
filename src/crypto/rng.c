/* see rng.h */
#include "crypto/rng.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t rng_lock = PTHREAD_MUTEX_INITIALIZER;
static br_hmac_drbg_context rng_ctx;
static int rng_seeded;
static pid_t rng_pid;
static size_t rng_since_seed;

int
rng_kernel_bytes(void *out, size_t n)
{
	unsigned char *p = out;
	size_t got = 0;

	if (n > 256)
		return -EINVAL;
	while (got < n) {
		long r = syscall(SYS_getrandom, p + got, n - got, 0);
		if (r < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			WIPE(out, n);
			return -e;
		}
		if (r == 0) {
			WIPE(out, n);
			return -EIO;
		}
		got += (size_t)r;
	}
	return 0;
}

/* Called with the lock held. */
static int
reseed(void)
{
	unsigned char seed[48];
	int r = rng_kernel_bytes(seed, sizeof(seed));

	if (r < 0)
		return r;
	if (!rng_seeded)
		br_hmac_drbg_init(&rng_ctx, &br_sha256_vtable, seed, sizeof(seed));
	else
		br_hmac_drbg_update(&rng_ctx, seed, sizeof(seed));
	WIPE(seed, sizeof(seed));
	rng_seeded = 1;
	rng_pid = getpid();
	rng_since_seed = 0;
	return 0;
}

int
rng_bytes(void *out, size_t n)
{
	int r = 0;

	if (n > RNG_MAX_REQUEST)
		return -EINVAL;
	pthread_mutex_lock(&rng_lock);
	if (!rng_seeded || rng_pid != getpid() || rng_since_seed + n > RNG_RESEED_BYTES)
		r = reseed();
	if (r == 0) {
		br_hmac_drbg_generate(&rng_ctx, out, n);
		rng_since_seed += n;
	} else {
		memset(out, 0, n);
	}
	pthread_mutex_unlock(&rng_lock);
	return r;
}

int
rng_seed_drbg(br_hmac_drbg_context *ctx)
{
	unsigned char seed[48];
	int r = rng_bytes(seed, sizeof(seed));

	if (r < 0)
		return r;
	br_hmac_drbg_init(ctx, &br_sha256_vtable, seed, sizeof(seed));
	WIPE(seed, sizeof(seed));
	return 0;
}
