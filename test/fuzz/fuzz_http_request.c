/* libFuzzer target: the HTTP/1.1 request parser and the router must be total
 * (any bytes: a result or an error, never a crash, never a read outside the
 * input), and a parsed request must be self-consistent. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "http/basic_auth.h"
#include "http/message.h"
#include "http/router.h"

static void h_noop(struct http_ctx *ctx, struct http_reply *r)
{
	(void)ctx;
	r->status = 204;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct http_route routes[] = {
		{ "GET", "/v1/agent/jobs", h_noop },
		{ "POST", "/v1/agent/jobs/{id}/result", h_noop },
		{ "POST", "/v1/enroll", h_noop },
	};
	static struct http_request req;
	struct http_limits lim;
	size_t consumed = 0;
	/* an exact-size heap copy so ASan sees any overread */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	http_limits_default(&lim);
	lim.max_body = 4096;
	int r = http_parse_request(buf, size, &lim, &req, &consumed, NULL);
	if (r == HTTP_OK) {
		if (consumed > size || req.body_len != req.content_length ||
		    req.body + req.body_len != buf + consumed)
			abort();
		struct http_ctx ctx;
		struct http_reply rep;
		memset(&ctx, 0, sizeof(ctx));
		ctx.req = &req;
		http_dispatch(routes, 3, &ctx, &rep);
		http_reply_free(&rep);
		/* Basic credentials: total, NUL-terminated, user without ':' */
		const struct http_header *h = http_find_header(req.headers, req.n_headers,
		    "authorization");
		struct basic_auth a;
		if (h && basic_auth_parse(h->value, h->value_len, &a) == 0) {
			if (a.user[0] == '\0' || strchr(a.user, ':') ||
			    strlen(a.user) > BASIC_AUTH_MAX_USER || strlen(a.pass) > BASIC_AUTH_MAX_PASS)
				abort();
			basic_auth_wipe(&a);
		}
	}
	free(buf);
	return 0;
}
