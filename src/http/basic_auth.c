/* see basic_auth.h */
#include "http/basic_auth.h"
#include "crypto/base64.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

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
	memcpy(out->user, dec, ul);
	memcpy(out->pass, colon + 1, pl);
	rc = 0;
out:
	WIPE(dec, sizeof(dec));
	if (rc)
		basic_auth_wipe(out);
	return rc;
}
