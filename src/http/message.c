/* see message.h */
#include "http/message.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Content-Length values with more digits than this are over every body cap
 * we could configure; refusing them early keeps the arithmetic overflow-free. */
#define CL_MAX_DIGITS 15

void http_limits_default(struct http_limits *l)
{
	l->max_header_bytes = HTTP_DEFAULT_HEADER_BYTES;
	l->max_headers = HTTP_DEFAULT_HEADERS;
	l->max_body = HTTP_DEFAULT_BODY;
}

static int fail(struct http_error *err, int result, const char *msg, size_t off)
{
	if (err) {
		err->status = http_result_status(result);
		err->msg = msg;
		err->offset = off;
	}
	return result;
}

int http_result_status(int result)
{
	switch (result) {
	case HTTP_E_TOO_LARGE: return 413;
	case HTTP_E_HEADERS_TOO_LARGE: return 431;
	case HTTP_E_NOT_IMPLEMENTED: return 501;
	case HTTP_E_VERSION: return 505;
	case HTTP_E_URI_TOO_LONG: return 414;
	default: return 400;
	}
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* tchar, RFC 9110 5.6.2. */
static int is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Field value bytes we accept: VCHAR, SP, HTAB.  obs-text (>= 0x80) is
 * refused: nothing in our protocol needs it and intermediaries disagree on
 * its meaning. */
static int is_vchar_or_ws(unsigned char c)
{
	return (c >= 0x21 && c <= 0x7e) || c == ' ' || c == '\t';
}

static int is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Request-target bytes in origin-form (RFC 3986 pchar plus '/', '?'). */
static int is_target_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("-._~!$&'()*+,;=:@/?%", c) != NULL;
}

const struct http_header *http_find_header(const struct http_header *h, size_t n,
    const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (h[i].name_len == nl && strncasecmp(h[i].name, name, nl) == 0)
			return &h[i];
	return NULL;
}

/*
 * Locate the end of the header section (CRLFCRLF), validating line endings
 * and control bytes on the way so that garbage is refused before the whole
 * section has arrived.  Returns HTTP_OK with *end = offset just past the
 * blank line, HTTP_INCOMPLETE, or an error.
 */
static int find_head_end(const unsigned char *b, size_t len, size_t cap, size_t *end,
    struct http_error *err)
{
	size_t n = len < cap ? len : cap;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = b[i];
		if (c == '\n') {
			if (i == 0 || b[i - 1] != '\r')
				return fail(err, HTTP_E_BAD, "bare LF", i);
			if (i >= 3 && b[i - 2] == '\n' && b[i - 3] == '\r') {
				*end = i + 1;
				return HTTP_OK;
			}
			continue;
		}
		if (c == '\r') {
			if (i + 1 < len && b[i + 1] != '\n')
				return fail(err, HTTP_E_BAD, "bare CR", i);
			continue;
		}
		if (c == '\t')
			continue;
		if (c < 0x20 || c >= 0x7f)
			return fail(err, HTTP_E_BAD, "control or non-ASCII byte in header section", i);
	}
	if (len >= cap)
		return fail(err, HTTP_E_HEADERS_TOO_LARGE, "header section too large", cap);
	return HTTP_INCOMPLETE;
}

/* Does the comma-separated token list `v` contain `tok` (case-insensitive)? */
static int list_has_token(const char *v, size_t len, const char *tok)
{
	size_t tl = strlen(tok), i = 0;

	while (i < len) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t s = i;
		while (i < len && v[i] != ',')
			i++;
		size_t e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		if (e - s == tl && strncasecmp(v + s, tok, tl) == 0)
			return 1;
	}
	return 0;
}

struct head_info {
	int n_cl, n_te, n_host;
	uint64_t cl;
	int close;
};

/*
 * Parse the header field lines in b[start..end) (end points at the final
 * CRLF of the blank line).  Fills hdrs/n and the framing summary.
 */
static int parse_fields(const unsigned char *b, size_t start, size_t end,
    const struct http_limits *lim, struct http_header *hdrs, size_t *n,
    struct head_info *hi, struct http_error *err)
{
	size_t max_h = lim->max_headers < HTTP_MAX_HEADERS ? lim->max_headers : HTTP_MAX_HEADERS;
	size_t p = start;

	*n = 0;
	memset(hi, 0, sizeof(*hi));
	while (p < end) {
		size_t eol = p;
		while (eol < end && b[eol] != '\r')
			eol++;
		/* find_head_end() guaranteed every CR is followed by LF. */
		if (eol == p)
			break; /* the blank line */
		if (b[p] == ' ' || b[p] == '\t')
			return fail(err, HTTP_E_BAD, "obs-fold (line starts with whitespace)", p);
		size_t colon = p;
		while (colon < eol && b[colon] != ':')
			colon++;
		if (colon == eol)
			return fail(err, HTTP_E_BAD, "header line without colon", p);
		if (colon == p)
			return fail(err, HTTP_E_BAD, "empty header name", p);
		for (size_t i = p; i < colon; i++)
			if (!is_tchar(b[i]))
				return fail(err, HTTP_E_BAD, "invalid byte in header name "
				    "(whitespace before colon?)", i);
		size_t vs = colon + 1, ve = eol;
		while (vs < ve && (b[vs] == ' ' || b[vs] == '\t'))
			vs++;
		while (ve > vs && (b[ve - 1] == ' ' || b[ve - 1] == '\t'))
			ve--;
		for (size_t i = vs; i < ve; i++)
			if (!is_vchar_or_ws(b[i]))
				return fail(err, HTTP_E_BAD, "invalid byte in header value", i);
		if (*n >= max_h)
			return fail(err, HTTP_E_HEADERS_TOO_LARGE, "too many header fields", p);
		struct http_header *h = &hdrs[(*n)++];
		h->name = (const char *)b + p;
		h->name_len = colon - p;
		h->value = (const char *)b + vs;
		h->value_len = ve - vs;

		if (h->name_len == 14 && strncasecmp(h->name, "content-length", 14) == 0) {
			if (++hi->n_cl > 1)
				return fail(err, HTTP_E_BAD, "more than one Content-Length", p);
			if (h->value_len == 0)
				return fail(err, HTTP_E_BAD, "empty Content-Length", vs);
			uint64_t v = 0;
			for (size_t i = 0; i < h->value_len; i++) {
				char c = h->value[i];
				if (c < '0' || c > '9')
					return fail(err, HTTP_E_BAD, "Content-Length is not a "
					    "plain decimal number", vs + i);
				if (i >= CL_MAX_DIGITS)
					return fail(err, HTTP_E_TOO_LARGE, "Content-Length too large", vs);
				v = v * 10 + (uint64_t)(c - '0');
			}
			hi->cl = v;
		} else if (h->name_len == 17 && strncasecmp(h->name, "transfer-encoding", 17) == 0) {
			hi->n_te++;
		} else if (h->name_len == 4 && strncasecmp(h->name, "host", 4) == 0) {
			hi->n_host++;
		} else if (h->name_len == 10 && strncasecmp(h->name, "connection", 10) == 0) {
			if (list_has_token(h->value, h->value_len, "close"))
				hi->close = 1;
		}
		p = eol + 2;
	}
	if (hi->n_te > 0 && hi->n_cl > 0)
		return fail(err, HTTP_E_BAD, "both Content-Length and Transfer-Encoding", start);
	if (hi->n_te > 0)
		return fail(err, HTTP_E_NOT_IMPLEMENTED, "Transfer-Encoding is not supported", start);
	if (hi->cl > lim->max_body)
		return fail(err, HTTP_E_TOO_LARGE, "body larger than the limit", start);
	return HTTP_OK;
}

int http_parse_request(const void *buf, size_t len, const struct http_limits *lim,
    struct http_request *req, size_t *consumed, struct http_error *err)
{
	const unsigned char *b = buf;
	size_t cap = lim->max_header_bytes < HTTP_MAX_HEADER_BYTES ?
	    lim->max_header_bytes : HTTP_MAX_HEADER_BYTES;
	size_t end, p = 0, i;
	struct head_info hi;
	int r;

	memset(req, 0, sizeof(*req));
	r = find_head_end(b, len, cap, &end, err);
	if (r != HTTP_OK) {
		/* A long first line is a 414 rather than a 431 when it is the
		 * target that is long. */
		return r;
	}
	/* method */
	for (i = 0; p + i < end && b[p + i] != ' '; i++) {
		if (b[p + i] < 'A' || b[p + i] > 'Z')
			return fail(err, HTTP_E_BAD, "invalid method", p + i);
		if (i >= HTTP_MAX_METHOD)
			return fail(err, HTTP_E_BAD, "method too long", p);
	}
	if (i == 0)
		return fail(err, HTTP_E_BAD, "empty method", p);
	memcpy(req->method, b + p, i);
	p += i + 1;
	/* target: origin-form only (we are not a proxy, RFC 9112 3.2.1) */
	if (p >= end || b[p] != '/')
		return fail(err, HTTP_E_BAD, "request-target must start with /", p);
	for (i = 0; p + i < end && b[p + i] != ' '; i++) {
		unsigned char c = b[p + i];
		if (c == '\r')
			return fail(err, HTTP_E_BAD, "request line without version", p + i);
		if (!is_target_char(c))
			return fail(err, HTTP_E_BAD, "invalid byte in request-target", p + i);
		if (c == '%' && (p + i + 2 >= end || !is_hex(b[p + i + 1]) || !is_hex(b[p + i + 2])))
			return fail(err, HTTP_E_BAD, "bad percent-encoding", p + i);
		if (i >= HTTP_MAX_TARGET)
			return fail(err, HTTP_E_URI_TOO_LONG, "request-target too long", p);
	}
	memcpy(req->target, b + p, i);
	req->target[i] = '\0';
	p += i;
	if (p >= end || b[p] != ' ')
		return fail(err, HTTP_E_BAD, "request line without version", p);
	p++;
	if (end - p < 10 || memcmp(b + p, "HTTP/", 5) != 0)
		return fail(err, HTTP_E_BAD, "bad HTTP version", p);
	if (!(b[p + 5] >= '0' && b[p + 5] <= '9' && b[p + 6] == '.' &&
	    b[p + 7] >= '0' && b[p + 7] <= '9' && b[p + 8] == '\r'))
		return fail(err, HTTP_E_BAD, "bad HTTP version", p);
	if (b[p + 5] != '1' || b[p + 7] != '1')
		return fail(err, HTTP_E_VERSION, "only HTTP/1.1 is supported", p);
	p += 10;

	r = parse_fields(b, p, end, lim, req->headers, &req->n_headers, &hi, err);
	if (r != HTTP_OK)
		return r;
	if (hi.n_host != 1)
		return fail(err, HTTP_E_BAD, "request needs exactly one Host", p);

	req->path = req->target;
	char *q = strchr(req->target, '?');
	req->path_len = q ? (size_t)(q - req->target) : strlen(req->target);
	if (q) {
		req->query = q + 1;
		req->query_len = strlen(q + 1);
	}
	req->has_content_length = hi.n_cl == 1;
	req->content_length = hi.cl;
	req->keep_alive = !hi.close;
	if (len - end < hi.cl)
		return HTTP_INCOMPLETE;
	req->body = b + end;
	req->body_len = (size_t)hi.cl;
	*consumed = end + (size_t)hi.cl;
	return HTTP_OK;
}

int http_parse_response(const void *buf, size_t len, const struct http_limits *lim,
    int head_request, struct http_response *resp, size_t *consumed,
    struct http_error *err)
{
	const unsigned char *b = buf;
	size_t cap = lim->max_header_bytes < HTTP_MAX_HEADER_BYTES ?
	    lim->max_header_bytes : HTTP_MAX_HEADER_BYTES;
	size_t end, p, i;
	struct head_info hi;
	int r;

	memset(resp, 0, sizeof(*resp));
	r = find_head_end(b, len, cap, &end, err);
	if (r != HTTP_OK)
		return r;
	if (end < 14 || memcmp(b, "HTTP/1.1 ", 9) != 0)
		return fail(err, end >= 14 && memcmp(b, "HTTP/", 5) == 0 ? HTTP_E_VERSION :
		    HTTP_E_BAD, "bad status line", 0);
	p = 9;
	for (i = 0; i < 3; i++)
		if (b[p + i] < '0' || b[p + i] > '9')
			return fail(err, HTTP_E_BAD, "bad status code", p + i);
	resp->status = (b[p] - '0') * 100 + (b[p + 1] - '0') * 10 + (b[p + 2] - '0');
	if (resp->status < 200 || resp->status > 599)
		return fail(err, HTTP_E_BAD, "status code out of range (1xx not expected)", p);
	p += 3;
	if (b[p] == ' ') {
		p++;
		for (i = 0; b[p + i] != '\r'; i++) {
			if (!is_vchar_or_ws(b[p + i]))
				return fail(err, HTTP_E_BAD, "bad reason phrase", p + i);
			if (i >= HTTP_MAX_REASON)
				return fail(err, HTTP_E_BAD, "reason phrase too long", p);
		}
		memcpy(resp->reason, b + p, i);
		p += i;
	}
	if (b[p] != '\r')
		return fail(err, HTTP_E_BAD, "bad status line", p);
	p += 2;

	r = parse_fields(b, p, end, lim, resp->headers, &resp->n_headers, &hi, err);
	if (r != HTTP_OK)
		return r;
	resp->has_content_length = hi.n_cl == 1;
	resp->content_length = hi.cl;
	resp->keep_alive = !hi.close;
	uint64_t body = hi.cl;
	if (head_request || resp->status == 204 || resp->status == 304) {
		body = 0;
	} else if (!resp->has_content_length) {
		return fail(err, HTTP_E_BAD, "response without Content-Length", p);
	}
	if (len - end < body)
		return HTTP_INCOMPLETE;
	resp->body = b + end;
	resp->body_len = (size_t)body;
	*consumed = end + (size_t)body;
	return HTTP_OK;
}

/* ---- writers -------------------------------------------------------------- */

struct wbuf {
	char *p;
	size_t cap, len;
	int err;
};

static void wput(struct wbuf *w, const void *d, size_t n)
{
	if (w->err)
		return;
	if (w->cap - w->len < n) {
		w->err = -ENOSPC;
		return;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void wstr(struct wbuf *w, const char *s)
{
	wput(w, s, strlen(s));
}

static void wu64(struct wbuf *w, uint64_t v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	wput(w, tmp, (size_t)n);
}

static int token_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!is_tchar((unsigned char)*s))
			return 0;
	return 1;
}

static int value_ok(const char *s)
{
	if (!s)
		return 0;
	for (; *s; s++)
		if (!is_vchar_or_ws((unsigned char)*s))
			return 0;
	return 1;
}

static int reserved_field(const char *name)
{
	return strcasecmp(name, "content-length") == 0 ||
	    strcasecmp(name, "transfer-encoding") == 0 ||
	    strcasecmp(name, "host") == 0 || strcasecmp(name, "connection") == 0;
}

static void wfields(struct wbuf *w, const struct http_field *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!token_ok(f[i].name) || !value_ok(f[i].value) || reserved_field(f[i].name)) {
			w->err = -EINVAL;
			return;
		}
		wstr(w, f[i].name);
		wput(w, ": ", 2);
		wstr(w, f[i].value);
		wput(w, "\r\n", 2);
	}
}

static long wfinish(struct wbuf *w, const void *body, size_t body_len, int keep_alive)
{
	wstr(w, "Content-Length: ");
	wu64(w, body_len);
	wput(w, "\r\n", 2);
	if (!keep_alive)
		wstr(w, "Connection: close\r\n");
	wput(w, "\r\n", 2);
	if (body_len)
		wput(w, body, body_len);
	return w->err ? w->err : (long)w->len;
}

long http_write_request(char *out, size_t cap, const char *method, const char *host,
    const char *target, const struct http_field *fields, size_t n_fields,
    const void *body, size_t body_len, int keep_alive)
{
	struct wbuf w = { out, cap, 0, 0 };

	if (!method || !*method || strlen(method) > HTTP_MAX_METHOD)
		return -EINVAL;
	for (const char *m = method; *m; m++)
		if (*m < 'A' || *m > 'Z')
			return -EINVAL;
	if (!target || target[0] != '/' || strlen(target) > HTTP_MAX_TARGET)
		return -EINVAL;
	for (const char *t = target; *t; t++)
		if (!is_target_char((unsigned char)*t))
			return -EINVAL;
	if (!host || !*host || !value_ok(host) || strchr(host, ' ') || strchr(host, '\t'))
		return -EINVAL;
	wstr(&w, method);
	wput(&w, " ", 1);
	wstr(&w, target);
	wstr(&w, " HTTP/1.1\r\nHost: ");
	wstr(&w, host);
	wput(&w, "\r\n", 2);
	wfields(&w, fields, n_fields);
	return wfinish(&w, body, body_len, keep_alive);
}

long http_write_response(char *out, size_t cap, int status,
    const struct http_field *fields, size_t n_fields,
    const void *body, size_t body_len, int keep_alive)
{
	struct wbuf w = { out, cap, 0, 0 };
	char line[64];

	if (status < 200 || status > 599)
		return -EINVAL;
	int n = snprintf(line, sizeof(line), "HTTP/1.1 %d %s\r\n", status, http_status_text(status));
	wput(&w, line, (size_t)n);
	wfields(&w, fields, n_fields);
	return wfinish(&w, body, body_len, keep_alive);
}
