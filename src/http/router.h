/*
 * router.h: the orchestrator's routing table and per-request context.
 *
 * A route is method + path pattern -> handler.  Patterns are literal
 * segments and "{name}" segments; a "{name}" matches one path segment of
 * [A-Za-z0-9._-] (1..HTTP_ROUTE_MAX_PARAM bytes, never "." or "..") so that
 * a parameter can be used as a file name component without further escaping.
 * Matching is exact (no prefix matches, no trailing-slash folding, no
 * percent-decoding: an encoded path simply does not match).
 */
#ifndef STAVILY_HTTP_ROUTER_H
#define STAVILY_HTTP_ROUTER_H

#include <stddef.h>
#include "http/message.h"

#define HTTP_ROUTE_MAX_PARAMS 4
#define HTTP_ROUTE_MAX_PARAM  128
#define HTTP_REPLY_MAX_FIELDS 4

/* What a handler sees. */
struct http_ctx {
	const struct http_request *req;
	/* Authenticated peer identity (URI SAN of the client certificate), or
	 * NULL on a listener without client certificates. */
	const char *identity;
	const char *peer;                  /* "addr:port" for logs, may be NULL */
	size_t n_params;
	const char *param_names[HTTP_ROUTE_MAX_PARAMS]; /* point into the pattern, '}'-terminated */
	size_t param_name_len[HTTP_ROUTE_MAX_PARAMS];
	char params[HTTP_ROUTE_MAX_PARAMS][HTTP_ROUTE_MAX_PARAM + 1];
	void *user;                        /* the server's state */
};

/* What a handler produces.  `body` is malloc'ed (or NULL) and owned by the
 * reply; http_reply_free releases it. */
struct http_reply {
	int status;
	const char *content_type;          /* static string or NULL */
	char *body;
	size_t body_len;
	int close;                         /* close the connection after it */
	struct http_field fields[HTTP_REPLY_MAX_FIELDS]; /* static strings */
	size_t n_fields;
};

typedef void (*http_handler_fn)(struct http_ctx *ctx, struct http_reply *reply);

struct http_route {
	const char *method;
	const char *pattern;
	http_handler_fn fn;
};

/* Value of parameter `name` or NULL. */
const char *http_ctx_param(const struct http_ctx *ctx, const char *name);

/*
 * Find the route for ctx->req and fill ctx's parameters.  Returns the route
 * index, -404 when no pattern matches the path, -405 when a pattern matches
 * but not with this method.
 */
int http_route_match(const struct http_route *routes, size_t n, struct http_ctx *ctx);

/*
 * Match and run the handler; on no match fill a 404/405 JSON error reply.
 * `reply` is initialised here.
 */
void http_dispatch(const struct http_route *routes, size_t n, struct http_ctx *ctx,
    struct http_reply *reply);

/* Set a JSON error body {"error": msg} with `status` (msg is a static
 * string of safe characters; it is escaped anyway). */
void http_reply_error(struct http_reply *r, int status, const char *msg);

/* Set the body to a copy of `s` with content type application/json.
 * Returns 0 or -ENOMEM (then the reply becomes a 500). */
int http_reply_json(struct http_reply *r, int status, const char *s) WARN_UNUSED;

void http_reply_free(struct http_reply *r);

#endif
