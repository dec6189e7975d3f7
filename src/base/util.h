/*
 * util.h: small macros shared by every module.
 *
 * No functions live here; anything with a body belongs to a noun module.
 */
#ifndef STAVILY_BASE_UTIL_H
#define STAVILY_BASE_UTIL_H

#include <stddef.h>

/* Fallible functions: the caller must look at the result (curl's habit). */
#define WARN_UNUSED __attribute__((warn_unused_result))
/* printf-style checking for our own formatting functions. */
#define PRINTF_LIKE(fmt, args) __attribute__((format(printf, fmt, args)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wipe secrets in a way the compiler may not elide (musl and glibc both
 * provide explicit_bzero). */
void explicit_bzero(void *, size_t);
#define WIPE(p, n) explicit_bzero((p), (n))

#endif
