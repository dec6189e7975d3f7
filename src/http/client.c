/* see client.h */
#include "http/client.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* First read buffer; grows by doubling up to the limits. */
#define CLIENT_BUF_START 4096

void http_client_response_free(struct http_client_response *r)
{
	if (r->buf)
		WIPE(r->buf, r->cap);       /* responses may carry secrets */
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int http_client_do(struct tls_conn *c, const char *host, const char *method,
    const char *target, const struct http_field *fields, size_t n_fields,
    const void *body, size_t body_len, const struct http_limits *lim,
    struct http_client_response *out)
{
	char *req = NULL;
	size_t req_cap = 0, cap_total, cap, used = 0;
	long n;
	int rc;

	memset(out, 0, sizeof(*out));
	if (body_len > (size_t)1 << 30)
		return -EINVAL;
	req_cap = HTTP_CLIENT_MAX_HEAD + body_len;
	req = malloc(req_cap);
	if (!req)
		return -ENOMEM;
	n = http_write_request(req, HTTP_CLIENT_MAX_HEAD + body_len, method, host, target,
	    fields, n_fields, body, body_len, 1);
	if (n < 0) {
		rc = (int)n == -ENOSPC ? -EINVAL : (int)n;
		goto out;
	}
	rc = tls_conn_write_all(c, req, (size_t)n);
	if (rc)
		goto out;

	cap_total = lim->max_header_bytes + (size_t)lim->max_body;
	cap = CLIENT_BUF_START < cap_total ? CLIENT_BUF_START : cap_total;
	out->buf = malloc(cap);
	out->cap = cap;
	if (!out->buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (;;) {
		size_t consumed = 0;
		int pr = http_parse_response(out->buf, used, lim, strcmp(method, "HEAD") == 0,
		    &out->resp, &consumed, NULL);
		if (pr == HTTP_OK) {
			rc = consumed == used ? 0 : HTTP_CLIENT_E_PROTO;
			out->len = used;
			goto out;
		}
		if (pr < 0) {
			rc = HTTP_CLIENT_E_PROTO;
			goto out;
		}
		if (used == cap) {
			if (cap >= cap_total) {
				rc = HTTP_CLIENT_E_PROTO;
				goto out;
			}
			size_t ncap = cap * 2 < cap_total ? cap * 2 : cap_total;
			/* copy and wipe rather than realloc (see the free) */
			char *nb = malloc(ncap);
			if (!nb) {
				rc = -ENOMEM;
				goto out;
			}
			memcpy(nb, out->buf, used);
			WIPE(out->buf, cap);
			free(out->buf);
			out->buf = nb;
			out->cap = cap = ncap;
		}
		long r = tls_conn_read_some(c, out->buf + used, cap - used);
		if (r == 0) {
			rc = HTTP_CLIENT_E_CLOSED;
			goto out;
		}
		if (r < 0) {
			rc = (int)r;
			goto out;
		}
		used += (size_t)r;
	}
out:
	if (req) {
		WIPE(req, req_cap);         /* the Authorization header */
		free(req);
	}
	if (rc)
		http_client_response_free(out);
	return rc;
}
