/*
 * message.h: strict, bounded HTTP/1.1 request and response parsing and
 * writing (RFC 9110 / RFC 9112).
 *
 * The parser works on a caller-owned buffer that holds everything read from
 * the connection so far.  Call it again each time more bytes arrive: it
 * returns HTTP_INCOMPLETE until the header section and the whole body are
 * present, then HTTP_OK with `*consumed` set to the length of the message
 * (bytes after it belong to the next request on a keep-alive connection).
 * Parsed fields point into the buffer; nothing is allocated.
 *
 * Everything the smuggling literature exploits is refused rather than
 * interpreted: more than one Content-Length (even equal ones), a list or a
 * sign in Content-Length, Transfer-Encoding (501 alone, 400 next to a
 * Content-Length), obs-fold, whitespace before the colon, bare CR or bare LF,
 * NUL and other control bytes, non-ASCII bytes, requests without exactly one
 * Host.  Every error carries the status the server must answer with; after
 * any error the connection must be closed (the framing is unknown).
 */
#ifndef STAVILY_HTTP_MESSAGE_H
#define STAVILY_HTTP_MESSAGE_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

/* Hard ceilings; struct http_limits may only lower them. */
#define HTTP_MAX_HEADERS        64          /* header fields per message */
#define HTTP_MAX_HEADER_BYTES   (16 * 1024) /* start line + fields + CRLFCRLF */
#define HTTP_MAX_METHOD         16
#define HTTP_MAX_TARGET         2048        /* request-target bytes */
#define HTTP_MAX_REASON         128

/* Default limits: see http_limits_default(). */
#define HTTP_DEFAULT_HEADER_BYTES (8 * 1024)
#define HTTP_DEFAULT_HEADERS      32
#define HTTP_DEFAULT_BODY         (1024 * 1024)

struct http_limits {
	size_t max_header_bytes;  /* <= HTTP_MAX_HEADER_BYTES */
	size_t max_headers;       /* <= HTTP_MAX_HEADERS */
	uint64_t max_body;        /* Content-Length above this -> 413 */
};

/* Parse results.  Errors are negative. */
enum http_result {
	HTTP_OK = 0,
	HTTP_INCOMPLETE = 1,      /* need more bytes */
	HTTP_E_BAD = -1,          /* malformed or ambiguous: 400 */
	HTTP_E_TOO_LARGE = -2,    /* body over max_body: 413 */
	HTTP_E_HEADERS_TOO_LARGE = -3, /* header section or field count: 431 */
	HTTP_E_NOT_IMPLEMENTED = -4,   /* Transfer-Encoding: 501 */
	HTTP_E_VERSION = -5,      /* not HTTP/1.1: 505 */
	HTTP_E_URI_TOO_LONG = -6, /* request-target over HTTP_MAX_TARGET: 414 */
};

/* Why parsing failed, for logs and tests (static strings). */
struct http_error {
	int status;               /* HTTP status to answer with (requests) */
	const char *msg;
	size_t offset;            /* byte offset in the buffer where it was found */
};

struct http_header {
	const char *name;         /* not NUL-terminated */
	size_t name_len;
	const char *value;        /* OWS trimmed; not NUL-terminated */
	size_t value_len;
};

struct http_request {
	char method[HTTP_MAX_METHOD + 1];
	char target[HTTP_MAX_TARGET + 1];   /* origin-form, NUL-terminated */
	const char *path;         /* = target; path ends at path_len */
	size_t path_len;
	const char *query;        /* after '?', or NULL */
	size_t query_len;
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	int has_content_length;
	uint64_t content_length;
	int keep_alive;           /* 0 if the client sent Connection: close */
	const unsigned char *body; /* points into the buffer */
	size_t body_len;
};

struct http_response {
	int status;               /* 100..599 */
	char reason[HTTP_MAX_REASON + 1];
	struct http_header headers[HTTP_MAX_HEADERS];
	size_t n_headers;
	int has_content_length;
	uint64_t content_length;
	int keep_alive;
	const unsigned char *body;
	size_t body_len;
};

/* Fill `l` with the HTTP_DEFAULT_* values. */
void http_limits_default(struct http_limits *l);

/*
 * Parse one request from buf[0..len).  Returns HTTP_OK (and *consumed),
 * HTTP_INCOMPLETE, or a negative http_result with `err` filled (err may be
 * NULL).  Total: any bytes give one of these.
 */
int http_parse_request(const void *buf, size_t len, const struct http_limits *lim,
    struct http_request *req, size_t *consumed, struct http_error *err) WARN_UNUSED;

/*
 * Parse one response.  `head_request` says the request was HEAD (no body
 * whatever Content-Length says).  A response that may carry a body must
 * have exactly one Content-Length: reading until close is not supported
 * (a truncated body would be indistinguishable from a complete one).
 */
int http_parse_response(const void *buf, size_t len, const struct http_limits *lim,
    int head_request, struct http_response *resp, size_t *consumed,
    struct http_error *err) WARN_UNUSED;

/*
 * Find a header by case-insensitive name.  Returns the first match or NULL.
 * (The parser already refused duplicates of Content-Length and Host.)
 */
const struct http_header *http_find_header(const struct http_header *h, size_t n,
    const char *name);

/* Status text for the codes we use ("Bad Request"), "Unknown" otherwise. */
const char *http_status_text(int status);

/* Status code for a negative http_result (400 for unknown values). */
int http_result_status(int result);

/*
 * Extra header lines for the writers: "Name: value" pairs.  Names and values
 * are checked (token name, no CR/LF/NUL in values); a bad one makes the
 * writer fail with -EINVAL rather than emit a header injection.
 */
struct http_field {
	const char *name;
	const char *value;
};

/*
 * Write a request head and body into out[0..cap).  Adds Host, Content-Length
 * (always, also 0, so the server never has to guess) and, when !keep_alive,
 * "Connection: close".  Returns the number of bytes written, -ENOSPC if
 * `cap` is too small, -EINVAL on a bad method, target, host or field.
 */
long http_write_request(char *out, size_t cap, const char *method, const char *host,
    const char *target, const struct http_field *fields, size_t n_fields,
    const void *body, size_t body_len, int keep_alive) WARN_UNUSED;

/*
 * Write a response; Content-Length always, "Connection: close" when
 * !keep_alive.  Same returns as http_write_request.
 */
long http_write_response(char *out, size_t cap, int status,
    const struct http_field *fields, size_t n_fields,
    const void *body, size_t body_len, int keep_alive) WARN_UNUSED;

#endif
