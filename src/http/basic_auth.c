/* see basic_auth.h */
#include "http/basic_auth.h"
#include "crypto/base64.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* Well-formed UTF-8 (RFC 3629 4): no overlong forms, no surrogates, nothing
 * above U+10FFFF.  RFC 7617 2.1 lets the server declare UTF-8; we require
 * it, so a credential has one spelling and the user name can go into JSON
 * events without producing invalid text. */
static int utf8_ok(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned c = s[i], need, min, cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			need = 1;
			min = 0x80;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			min = 0x800;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			min = 0x10000;
			cp = c & 0x07;
		} else {
			return 0;       /* continuation byte, 0xc0/0xc1, 0xf5.. */
		}
		if (n - i - 1 < need)
			return 0;
		for (size_t k = 1; k <= need; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += need + 1;
	}
	return 1;
}

void basic_auth_wipe(struct basic_auth *a)
{
	WIPE(a, sizeof(*a));
}

int basic_auth_parse(const char *value, size_t len, struct basic_auth *out)
{
	unsigned char dec[BASIC_AUTH_MAX_USER + 1 + BASIC_AUTH_MAX_PASS + 3];
	size_t n;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (len < 7 || len > BASIC_AUTH_MAX_VALUE || strncasecmp(value, "Basic ", 6) != 0)
		return -EINVAL;
	/* BASIC_AUTH_MAX_VALUE bounds the decoded size to sizeof(dec). */
	if (BASE64_DECODED_MAX(len - 6) > sizeof(dec) ||
	    base64_decode(value + 6, len - 6, dec, &n) != 0 || n == 0)
		goto out;
	unsigned char *colon = memchr(dec, ':', (size_t)n);
	if (!colon)
		goto out;
	size_t ul = (size_t)(colon - dec), pl = n - ul - 1;
	if (ul == 0 || ul > BASIC_AUTH_MAX_USER || pl > BASIC_AUTH_MAX_PASS)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (dec[i] < 0x20 || dec[i] == 0x7f)
			goto out;
	if (!utf8_ok(dec, n))
		goto out;
	memcpy(out->user, dec, ul);
	memcpy(out->pass, colon + 1, pl);
	rc = 0;
out:
	WIPE(dec, sizeof(dec));
	if (rc)
		basic_auth_wipe(out);
	return rc;
}
