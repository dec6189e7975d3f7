/* see server.h */
#include "http/server.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "base/timefmt.h"

#define SERVER_BUF_START 8192

/* Grow a buffer that may hold credentials (an Authorization header with an
 * installation token): copy and wipe instead of realloc, which would leave
 * the old copy in freed memory.  Returns the new buffer or NULL. */
static char *grow_wiped(char *old, size_t used, size_t oldcap, size_t ncap)
{
	char *nb = malloc(ncap);

	if (!nb)
		return NULL;
	memcpy(nb, old, used);
	WIPE(old, oldcap);
	free(old);
	return nb;
}
#define REPLY_HEAD_MAX   1024

int http_send_reply(struct tls_conn *c, const struct http_reply *r, int keep_alive)
{
	struct http_field f[HTTP_REPLY_MAX_FIELDS + 1];
	size_t nf = 0;
	char *out;
	long n;
	int rc;

	if (r->content_type)
		f[nf++] = (struct http_field){ "Content-Type", r->content_type };
	for (size_t i = 0; i < r->n_fields && i < HTTP_REPLY_MAX_FIELDS; i++)
		f[nf++] = r->fields[i];
	out = malloc(REPLY_HEAD_MAX + r->body_len);
	if (!out)
		return -ENOMEM;
	n = http_write_response(out, REPLY_HEAD_MAX + r->body_len, r->status, f, nf,
	    r->body, r->body_len, keep_alive);
	rc = n < 0 ? (int)n : tls_conn_write_all(c, out, (size_t)n);
	WIPE(out, REPLY_HEAD_MAX + r->body_len);     /* replies may carry secrets */
	free(out);
	return rc;
}

int http_serve_conn(struct tls_conn *c, const struct http_server_opts *o, const char *peer)
{
	size_t cap_total = o->lim.max_header_bytes + (size_t)o->lim.max_body;
	size_t cap = SERVER_BUF_START < cap_total ? SERVER_BUF_START : cap_total;
	unsigned max_req = o->max_requests ? o->max_requests : HTTP_SERVER_DEFAULT_MAX_REQUESTS;
	unsigned req_ms = o->request_timeout_ms ? o->request_timeout_ms :
	    HTTP_SERVER_DEFAULT_REQUEST_TIMEOUT_MS;
	uint64_t req_start = 0;        /* when the current request's first byte came */
	struct http_request *req = malloc(sizeof(*req));
	char *buf = malloc(cap);
	size_t used = 0;
	unsigned served = 0;
	int rc = 0;

	if (!req || !buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (served < max_req) {
		size_t consumed = 0;
		struct http_error err = { 0, NULL, 0 };
		int pr = http_parse_request(buf, used, &o->lim, req, &consumed, &err);
		if (pr == HTTP_INCOMPLETE) {
			if (used == cap) {
				if (cap >= cap_total) {
					/* cannot happen: the parser reports caps itself */
					rc = -EPROTO;
					goto out;
				}
				size_t ncap = cap * 2 < cap_total ? cap * 2 : cap_total;
				char *nb = grow_wiped(buf, used, cap, ncap);
				if (!nb) {
					rc = -ENOMEM;
					goto out;
				}
				buf = nb;
				cap = ncap;
			}
			long r;
			if (used > 0) {
				/* Inside a request: each read waits at most the I/O
				 * timeout, and the request as a whole req_ms. */
				uint64_t now = time_mono_ms(), dl;
				if (req_start == 0)
					req_start = now;
				dl = req_start + req_ms;
				if (now >= dl) {
					rc = -ETIMEDOUT;
					goto out;
				}
				r = tls_conn_read_until(c, buf + used, cap - used, dl);
			} else {
				r = tls_conn_read_some(c, buf + used, cap - used);
			}
			if (r == 0) {
				/* clean close between requests is normal; mid-request not */
				rc = used == 0 ? 0 : -EPROTO;
				goto out;
			}
			if (r < 0) {
				rc = (int)r;
				goto out;
			}
			used += (size_t)r;
			continue;
		}
		if (pr < 0) {
			struct http_reply rep;
			memset(&rep, 0, sizeof(rep));
			http_reply_error(&rep, err.status, err.msg ? err.msg : "bad request");
			if (o->on_bad_request)
				o->on_bad_request(o->user, peer, err.status, err.msg);
			/* best effort: the connection is closed either way */
			if (http_send_reply(c, &rep, 0) != 0)
				rc = 0;
			http_reply_free(&rep);
			rc = -err.status;
			goto out;
		}
		struct http_ctx ctx;
		struct http_reply rep;
		memset(&ctx, 0, sizeof(ctx));
		ctx.req = req;
		ctx.identity = tls_conn_identity(c)[0] ? tls_conn_identity(c) : NULL;
		ctx.peer = peer;
		ctx.user = o->user;
		http_dispatch(o->routes, o->n_routes, &ctx, &rep);
		served++;
		int keep = req->keep_alive && !rep.close && served < max_req;
		rc = http_send_reply(c, &rep, keep);
		http_reply_free(&rep);
		if (rc || !keep)
			goto out;
		memmove(buf, buf + consumed, used - consumed);
		used -= consumed;
		/* A pipelined request already started arriving. */
		req_start = used > 0 ? time_mono_ms() : 0;
	}
out:
	free(req);
	if (buf) {
		WIPE(buf, cap);             /* requests carry Basic credentials */
		free(buf);
	}
	return rc;
}
