/*
 * rng.h: the process's cryptographic random generator.
 *
 * BearSSL's HMAC-DRBG (SHA-256) seeded with 48 bytes from getrandom(2), called
 * through syscall(2) so that neither /dev/urandom nor a libc wrapper is
 * needed (a scratch container or an initramfs may have no /dev).  getrandom
 * blocks until the kernel's pool is initialised, which is what we want.
 * Fail closed: if the kernel cannot give entropy, every call fails and no
 * bytes are produced.  The generator reseeds from the kernel every
 * RNG_RESEED_BYTES bytes and whenever the process id changes (a forked child
 * must not replay its parent's stream).  Thread-safe (one mutex).
 */
#ifndef STAVILY_CRYPTO_RNG_H
#define STAVILY_CRYPTO_RNG_H

#include <stddef.h>
#include <bearssl.h>
#include "base/util.h"

#define RNG_RESEED_BYTES (1u << 20)
/* Largest single request (BearSSL's HMAC-DRBG has no limit of its own; the
 * cap keeps a caller's bug from spinning). */
#define RNG_MAX_REQUEST  (1u << 16)

/* Fill `out` with `n` random bytes.  Returns 0, -EINVAL when n is over
 * RNG_MAX_REQUEST, or the -errno of getrandom (out is then zeroed). */
int rng_bytes(void *out, size_t n) WARN_UNUSED;

/* Read `n` (<= 256) bytes straight from getrandom(2), retrying on EINTR and
 * short reads.  For seeding other generators (e.g. br_ssl_engine_inject_entropy). */
int rng_kernel_bytes(void *out, size_t n) WARN_UNUSED;

/* Seed a caller-owned HMAC-DRBG (for BearSSL APIs that want a
 * br_prng_class **, such as br_ec_keygen) from rng_bytes().  The caller wipes
 * the context after use.  Returns 0 or -errno. */
int rng_seed_drbg(br_hmac_drbg_context *ctx) WARN_UNUSED;

#endif
