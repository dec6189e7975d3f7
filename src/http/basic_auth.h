/*
 * basic_auth.h: strict parsing of "Authorization: Basic ..." (RFC 7617).
 *
 * Used by the enrollment listener (tenant : installation token).  The
 * base64 is decoded strictly by crypto/base64.h (canonical encoding:
 * padding required, no whitespace, unused bits zero), so one credential has
 * exactly one spelling and nothing can be smuggled around a filter.
 */
#ifndef STAVILY_HTTP_BASIC_AUTH_H
#define STAVILY_HTTP_BASIC_AUTH_H

#include <stddef.h>
#include "base/util.h"

#define BASIC_AUTH_MAX_USER  128
#define BASIC_AUTH_MAX_PASS  256
/* Longest header value we decode: base64 of user ':' pass. */
#define BASIC_AUTH_MAX_VALUE (6 + 4 * ((BASIC_AUTH_MAX_USER + 1 + BASIC_AUTH_MAX_PASS + 2) / 3))

struct basic_auth {
	char user[BASIC_AUTH_MAX_USER + 1];
	char pass[BASIC_AUTH_MAX_PASS + 1];
};

/*
 * Parse a header value ("Basic dGVuYW50OnRva2Vu"); the scheme name is
 * case-insensitive and followed by exactly one space.  The user must be
 * non-empty and free of ':' (the password may hold ':'); neither part may
 * hold control bytes, and both must be well-formed UTF-8.  Returns
 * 0 or -EINVAL.  The caller wipes `out` (it holds a secret) with
 * basic_auth_wipe().
 */
int basic_auth_parse(const char *value, size_t len, struct basic_auth *out) WARN_UNUSED;

void basic_auth_wipe(struct basic_auth *a);

#endif
