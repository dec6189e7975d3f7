/* see url.h */
#include "http/url.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

static int bad(const char **msg, const char *m)
{
	if (msg)
		*msg = m;
	return -EINVAL;
}

/* LDH labels, 1..63 bytes each (RFC 1123 2.1). */
static int dns_name_ok(const char *h, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > URL_MAX_HOST)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-'))
			return 0;
		if (c == '-' && label == 0)
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0 && h[n - 1] != '-';
}

int https_url_parse(const char *s, struct https_url *out, const char **msg)
{
	const char *p, *hs, *he;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!s)
		return bad(msg, "empty URL");
	n = strlen(s);
	if (n == 0)
		return bad(msg, "empty URL");
	if (n > URL_MAX_LEN)
		return bad(msg, "URL too long");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return bad(msg, "URL contains whitespace, control or non-ASCII bytes");
	if (strncasecmp(s, "http://", 7) == 0)
		return bad(msg, "plaintext http:// URLs are not supported: use https://");
	if (strncasecmp(s, "https://", 8) != 0)
		return bad(msg, "URL must start with https://");
	p = s + 8;
	if (strchr(s, '#'))
		return bad(msg, "URL must not contain a fragment");
	/* authority ends at '/', '?' or the end */
	const char *ae = p + strcspn(p, "/?");
	if (memchr(p, '@', (size_t)(ae - p)))
		return bad(msg, "URL must not contain user information");
	if (*p == '[') {
		hs = p + 1;
		he = memchr(hs, ']', (size_t)(ae - hs));
		if (!he)
			return bad(msg, "unterminated IPv6 address");
		p = he + 1;
		char tmp[64];
		unsigned char a6[16];
		if ((size_t)(he - hs) >= sizeof(tmp))
			return bad(msg, "bad IPv6 address");
		memcpy(tmp, hs, (size_t)(he - hs));
		tmp[he - hs] = '\0';
		if (inet_pton(AF_INET6, tmp, a6) != 1)
			return bad(msg, "bad IPv6 address");
		out->host_is_ip = 1;
	} else {
		hs = p;
		he = hs + strcspn(hs, ":/?");
		if (he > ae)
			he = ae;
		p = he;
		if (he == hs)
			return bad(msg, "URL has no host");
		if ((size_t)(he - hs) > URL_MAX_HOST)
			return bad(msg, "host name too long");
		char tmp[URL_MAX_HOST + 1];
		unsigned char a4[4];
		memcpy(tmp, hs, (size_t)(he - hs));
		tmp[he - hs] = '\0';
		if (inet_pton(AF_INET, tmp, a4) == 1)
			out->host_is_ip = 1;
		else if (!dns_name_ok(hs, (size_t)(he - hs)))
			return bad(msg, "bad host name");
	}
	memcpy(out->host, hs, (size_t)(he - hs));
	out->host[he - hs] = '\0';
	out->port = 443;
	if (*p == ':') {
		unsigned long v = 0;
		p++;
		if (p == ae)
			return bad(msg, "empty port");
		for (; p < ae; p++) {
			if (*p < '0' || *p > '9')
				return bad(msg, "bad port");
			v = v * 10 + (unsigned long)(*p - '0');
			if (v > 65535)
				return bad(msg, "port out of range");
		}
		if (v == 0)
			return bad(msg, "port out of range");
		out->port = (unsigned)v;
	}
	if (p != ae)
		return bad(msg, "bad authority");
	if (*p == '\0') {
		strcpy(out->path, "/");
	} else if (*p == '?') {
		out->path[0] = '/';
		strcpy(out->path + 1, p);
	} else {
		strcpy(out->path, p);
	}
	return 0;
}
