/*
 * server.h: serving HTTP/1.1 requests on one established TLS connection
 * (the orchestrator's listeners).
 *
 * Requests are parsed strictly (message.h), routed (router.h) with the TLS
 * peer identity in the context, answered, and the connection is kept alive
 * until the client asks to close, a handler sets reply.close, the request
 * count cap is reached, the idle/read timeout (the connection's I/O timeout)
 * expires, a request takes longer than request_timeout_ms from its first
 * byte to its last (a slow-drip client that keeps each read under the I/O
 * timeout would otherwise hold the connection for hours), or anything is
 * malformed: then a 4xx/5xx with
 * "Connection: close" is sent and the connection ends.  Pipelined requests
 * are served in order.
 */
#ifndef STAVILY_HTTP_SERVER_H
#define STAVILY_HTTP_SERVER_H

#include <stddef.h>
#include "http/message.h"
#include "http/router.h"
#include "tls/conn.h"

#define HTTP_SERVER_DEFAULT_MAX_REQUESTS 1000
#define HTTP_SERVER_DEFAULT_REQUEST_TIMEOUT_MS 30000

struct http_server_opts {
	const struct http_route *routes;
	size_t n_routes;
	struct http_limits lim;
	unsigned max_requests;     /* per connection; 0 = default */
	void *user;                /* passed to handlers in ctx.user */
	/* Called for every request refused by the parser (may be NULL):
	 * the status sent and the parser's message, for logs/events. */
	void (*on_bad_request)(void *user, const char *peer, int status, const char *msg);
	/* Whole-request deadline from its first byte, in ms; 0 = default
	 * (HTTP_SERVER_DEFAULT_REQUEST_TIMEOUT_MS).  Expiry ends the
	 * connection (-ETIMEDOUT). */
	unsigned request_timeout_ms;
};

/*
 * Serve requests until the connection ends.  Returns 0 when it ended
 * normally (client close, Connection: close, request cap) or a negative
 * errno / HTTP status of the refusal (as -status, e.g. -400) otherwise.
 * Does not free the connection.
 */
int http_serve_conn(struct tls_conn *c, const struct http_server_opts *o, const char *peer);

/* Send a reply (adds Content-Type when set).  0 or -errno. */
int http_send_reply(struct tls_conn *c, const struct http_reply *r, int keep_alive) WARN_UNUSED;

#endif
