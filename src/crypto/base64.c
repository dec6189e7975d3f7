/* see base64.h */
#include "crypto/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t
base64_encode(const void *in, size_t n, char *out)
{
	const unsigned char *p = in;
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

static int
value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int
base64_decode(const char *in, size_t n, void *out, size_t *outlen)
{
	const unsigned char *s = (const unsigned char *)in;
	unsigned char *o = out;
	size_t i, w = 0;

	if (n % 4 != 0)
		return -1;
	for (i = 0; i < n; i += 4) {
		int a = value(s[i]), b = value(s[i + 1]), c, d;
		int last = i + 4 == n;

		if (a < 0 || b < 0)
			return -1;
		if (last && s[i + 2] == '=') {
			/* "xx==": one byte; the four low bits of b must be 0. */
			if (s[i + 3] != '=' || (b & 15))
				return -1;
			o[w++] = (unsigned char)(a << 2 | b >> 4);
			break;
		}
		c = value(s[i + 2]);
		if (c < 0)
			return -1;
		if (last && s[i + 3] == '=') {
			if (c & 3)
				return -1;
			o[w++] = (unsigned char)(a << 2 | b >> 4);
			o[w++] = (unsigned char)((b & 15) << 4 | c >> 2);
			break;
		}
		d = value(s[i + 3]);
		if (d < 0)
			return -1;
		o[w++] = (unsigned char)(a << 2 | b >> 4);
		o[w++] = (unsigned char)((b & 15) << 4 | c >> 2);
		o[w++] = (unsigned char)((c & 3) << 6 | d);
	}
	*outlen = w;
	return 0;
}
