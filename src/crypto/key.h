/*
 * key.h: EC P-256 key pairs: generation, PEM read/write, files.
 *
 * A struct key_p256 holds the 32-byte private scalar, the 65-byte
 * uncompressed public point and BearSSL views of both (`sk`, `pk`), whose
 * pointers refer into the struct itself: never copy a struct key_p256 by
 * assignment (use key_copy).  key_wipe() erases everything.
 */
#ifndef STAVILY_CRYPTO_KEY_H
#define STAVILY_CRYPTO_KEY_H

#include <stddef.h>
#include <bearssl.h>
#include "base/util.h"

#define KEY_P256_PRIV_LEN 32
#define KEY_P256_PUB_LEN  65
/* Largest key file we read. */
#define KEY_MAX_FILE      (16u * 1024)

struct key_p256 {
	unsigned char priv[KEY_P256_PRIV_LEN];
	unsigned char pub[KEY_P256_PUB_LEN];
	br_ec_private_key sk;      /* sk.x -> priv */
	br_ec_public_key pk;       /* pk.q -> pub */
};

/* Errors of the parsing functions (negative; file functions also return
 * -errno, which never collides: these are below -4000). */
enum key_err {
	KEY_E_PEM = -4001,         /* no usable PEM object / bad PEM */
	KEY_E_FORMAT = -4002,      /* not a PKCS#8 or SEC1 EC key */
	KEY_E_CURVE = -4003,       /* EC key on another curve than P-256 */
	KEY_E_RANGE = -4004,       /* private scalar 0 or >= the group order */
};

/* A fresh key pair from rng.h.  Returns 0 or -errno (no entropy). */
int key_generate(struct key_p256 *k) WARN_UNUSED;

/* Set `k` from a raw 32-byte scalar (checks the range, computes the public
 * point).  Returns 0 or KEY_E_RANGE. */
int key_from_scalar(struct key_p256 *k, const unsigned char *x, size_t xlen) WARN_UNUSED;

/* Parse PEM text holding a "PRIVATE KEY" (PKCS#8) or "EC PRIVATE KEY" (SEC1)
 * object; other objects in the text (certificates) are ignored.  The public
 * point is recomputed from the scalar, never trusted from the file. */
int key_from_pem(struct key_p256 *k, const char *pem, size_t len) WARN_UNUSED;

/* Same, from DER (PKCS#8 or SEC1). */
int key_from_der(struct key_p256 *k, const unsigned char *der, size_t len) WARN_UNUSED;

/* Read a key file (capped at KEY_MAX_FILE; the buffer is wiped). */
int key_load_file(struct key_p256 *k, const char *path) WARN_UNUSED;

/* PKCS#8 "PRIVATE KEY" PEM (what `openssl genpkey` writes).  *out is
 * malloc'd and NUL-terminated: the caller wipes and frees it. */
int key_to_pem(const struct key_p256 *k, char **out, size_t *outlen) WARN_UNUSED;

/* Write the key as PKCS#8 PEM to `path`: mode 0600, atomically
 * (file_write_atomic).  Returns 0 or -errno. */
int key_save_file(const struct key_p256 *k, const char *path) WARN_UNUSED;

/* Deep copy (re-points sk/pk at dst's own buffers). */
void key_copy(struct key_p256 *dst, const struct key_p256 *src);

/* Erase the key. */
void key_wipe(struct key_p256 *k);

const char *key_strerror(int err);

#endif
