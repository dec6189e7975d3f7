/*
 * hex.h: lower-case hexadecimal encoding and strict decoding.
 */
#ifndef STAVILY_BASE_HEX_H
#define STAVILY_BASE_HEX_H

#include <stddef.h>
#include <sys/types.h>

/* Encode `n` bytes into `out`, which must hold 2n+1 bytes (NUL-terminated). */
void hex_encode(const void *in, size_t n, char *out);

/* Value of one hex digit (either case), or -1. */
int hex_digit(char c);

/* Decode exactly 2*`n` hex digits (either case) from `in` into `n` bytes.
 * Returns 0, or -1 on a non-hex digit or a string of the wrong length. */
int hex_decode(const char *in, void *out, size_t n);

#endif
