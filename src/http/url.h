/*
 * url.h: parsing of the orchestrator URLs agents are configured with.
 *
 * Only "https://host[:port][/path]" is accepted.  There is no plaintext code
 * path in Stavily (DESIGN.md section 2), so "http://" is refused with a
 * message that says so; userinfo, fragments and other schemes are refused
 * too.  Host is a DNS name, an IPv4 address or a bracketed IPv6 address.
 */
#ifndef STAVILY_HTTP_URL_H
#define STAVILY_HTTP_URL_H

#include <stddef.h>
#include "base/util.h"

#define URL_MAX_LEN   2048
#define URL_MAX_HOST  253   /* RFC 1035 name length */

struct https_url {
	char host[URL_MAX_HOST + 1];  /* without brackets for IPv6 */
	unsigned port;                /* 443 by default */
	char path[URL_MAX_LEN + 1];   /* "/" by default; includes a query */
	int host_is_ip;               /* IPv4 or IPv6 literal */
};

/*
 * Parse `s`.  Returns 0, or -EINVAL with *msg set to a static explanation
 * (msg may be NULL).
 */
int https_url_parse(const char *s, struct https_url *out, const char **msg) WARN_UNUSED;

#endif
