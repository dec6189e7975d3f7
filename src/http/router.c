/* see router.h */
#include "http/router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

const char *http_ctx_param(const struct http_ctx *ctx, const char *name)
{
	size_t nl = strlen(name);

	for (size_t i = 0; i < ctx->n_params; i++)
		if (ctx->param_name_len[i] == nl && memcmp(ctx->param_names[i], name, nl) == 0)
			return ctx->params[i];
	return NULL;
}

static int param_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-';
}

/* Match path[0..plen) against pattern; fill params on success. */
static int path_match(const char *pat, const char *path, size_t plen, struct http_ctx *ctx)
{
	size_t i = 0;

	ctx->n_params = 0;
	while (*pat) {
		if (i >= plen || path[i] != '/' || *pat != '/')
			return 0;
		pat++;
		i++;
		if (*pat == '{') {
			const char *ne = strchr(pat, '}');
			if (!ne || ctx->n_params >= HTTP_ROUTE_MAX_PARAMS)
				return 0;
			size_t s = i;
			while (i < plen && path[i] != '/') {
				if (!param_char(path[i]))
					return 0;
				i++;
			}
			size_t vl = i - s;
			if (vl == 0 || vl > HTTP_ROUTE_MAX_PARAM)
				return 0;
			if ((vl == 1 && path[s] == '.') || (vl == 2 && path[s] == '.' && path[s + 1] == '.'))
				return 0;
			size_t k = ctx->n_params++;
			ctx->param_names[k] = pat + 1;
			ctx->param_name_len[k] = (size_t)(ne - pat - 1);
			memcpy(ctx->params[k], path + s, vl);
			ctx->params[k][vl] = '\0';
			pat = ne + 1;
		} else {
			while (*pat && *pat != '/') {
				if (i >= plen || path[i] != *pat)
					return 0;
				pat++;
				i++;
			}
			if (i < plen && path[i] != '/')
				return 0;
		}
	}
	return i == plen;
}

int http_route_match(const struct http_route *routes, size_t n, struct http_ctx *ctx)
{
	const struct http_request *req = ctx->req;
	int path_seen = 0;

	for (size_t r = 0; r < n; r++) {
		if (!path_match(routes[r].pattern, req->path, req->path_len, ctx))
			continue;
		if (strcmp(routes[r].method, req->method) == 0)
			return (int)r;
		path_seen = 1;
	}
	ctx->n_params = 0;
	return path_seen ? -405 : -404;
}

void http_reply_free(struct http_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->body_len = 0;
}

int http_reply_json(struct http_reply *r, int status, const char *s)
{
	size_t n = strlen(s);

	http_reply_free(r);
	r->body = malloc(n + 1);
	if (!r->body) {
		r->status = 500;
		r->content_type = NULL;
		r->close = 1;
		return -ENOMEM;
	}
	memcpy(r->body, s, n + 1);
	r->body_len = n;
	r->status = status;
	r->content_type = "application/json";
	return 0;
}

void http_reply_error(struct http_reply *r, int status, const char *msg)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (o && cJSON_AddStringToObject(o, "error", msg))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (!s || http_reply_json(r, status, s) != 0) {
		http_reply_free(r);
		r->status = status;
	}
	cJSON_free(s);
}

void http_dispatch(const struct http_route *routes, size_t n, struct http_ctx *ctx,
    struct http_reply *reply)
{
	memset(reply, 0, sizeof(*reply));
	int r = http_route_match(routes, n, ctx);
	if (r == -404) {
		http_reply_error(reply, 404, "no such resource");
		return;
	}
	if (r == -405) {
		http_reply_error(reply, 405, "method not allowed");
		return;
	}
	reply->status = 200;
	routes[r].fn(ctx, reply);
}
