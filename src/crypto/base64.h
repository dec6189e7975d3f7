/*
 * base64.h: RFC 4648 section 4 base64, strict.
 *
 * The decoder accepts only the standard alphabet, requires '=' padding to a
 * multiple of four characters, rejects padding anywhere but the end and
 * non-zero bits in the final partial group (so every byte string has exactly
 * one accepted encoding).  No whitespace is skipped: callers that read
 * line-wrapped text (PEM) remove line breaks themselves.
 */
#ifndef STAVILY_CRYPTO_BASE64_H
#define STAVILY_CRYPTO_BASE64_H

#include <stddef.h>
#include "base/util.h"

/* Characters base64_encode writes for `n` bytes, without the NUL. */
#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
/* Upper bound of bytes base64_decode writes for `n` characters. */
#define BASE64_DECODED_MAX(n) (((n) / 4) * 3)

/* Encode `n` bytes; `out` holds BASE64_ENCODED_LEN(n) + 1 bytes (NUL added).
 * Returns the number of characters written. */
size_t base64_encode(const void *in, size_t n, char *out);

/* Decode `n` characters into `out` (room for BASE64_DECODED_MAX(n) bytes);
 * *outlen receives the byte count.  Returns 0, or -1 on any deviation from
 * the strict form above. */
int base64_decode(const char *in, size_t n, void *out, size_t *outlen) WARN_UNUSED;

#endif
