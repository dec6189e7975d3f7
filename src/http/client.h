/*
 * client.h: one HTTP/1.1 exchange over an established TLS connection (the
 * agent's side of the wire protocol, DESIGN.md section 4).
 *
 * No pipelining: one request, then exactly one response; bytes after the
 * response are a protocol error.  The response is parsed by
 * http_parse_response with the caller's limits (body cap included), so a
 * hostile or broken orchestrator cannot make the agent buffer more than
 * max_header_bytes + max_body.
 */
#ifndef STAVILY_HTTP_CLIENT_H
#define STAVILY_HTTP_CLIENT_H

#include <stddef.h>
#include "base/util.h"
#include "http/message.h"
#include "tls/conn.h"

/* Largest request head we build (request line, Host, caller's fields). */
#define HTTP_CLIENT_MAX_HEAD 4096

struct http_client_response {
	struct http_response resp;   /* fields point into buf */
	char *buf;                   /* owned; free with http_client_response_free */
	size_t len;
	size_t cap;                  /* allocated size of buf (wiped when freed) */
};

enum http_client_err {
	HTTP_CLIENT_E_PROTO = -10001,  /* unparsable or oversized response, extra bytes */
	HTTP_CLIENT_E_CLOSED = -10002, /* connection closed before a full response */
};

/*
 * Send the request and read the response (timeouts are the connection's
 * I/O timeout).  Returns 0, a negative errno from the TLS layer (-ETIMEDOUT,
 * -EPROTO: see tls_conn_failure), -EINVAL for a bad request, or an
 * http_client_err.  After any error the connection must be closed; after
 * success too when out->resp.keep_alive is 0.
 */
int http_client_do(struct tls_conn *c, const char *host, const char *method,
    const char *target, const struct http_field *fields, size_t n_fields,
    const void *body, size_t body_len, const struct http_limits *lim,
    struct http_client_response *out) WARN_UNUSED;

void http_client_response_free(struct http_client_response *r);

#endif
