/* Unit tests for src/http: the strict HTTP/1.1 parser and writer (including
 * request-smuggling shapes), Basic auth, https URLs, JSON caps, routing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "harness.h"
#include "http/basic_auth.h"
#include "http/json_body.h"
#include "http/message.h"
#include "http/router.h"
#include "http/url.h"

static struct http_limits lim;

/* Parse `s` as a request; return the result, fill status. */
static int preq(const char *s, struct http_request *req, size_t *consumed, int *status)
{
	struct http_error err = { 0, NULL, 0 };
	size_t c = 0;
	int r = http_parse_request(s, strlen(s), &lim, req, &c, &err);
	if (consumed)
		*consumed = c;
	if (status)
		*status = r < 0 ? err.status : 0;
	return r;
}

static int req_status(const char *s)
{
	static struct http_request req;
	int st = 0;
	int r = preq(s, &req, NULL, &st);
	if (r == HTTP_OK)
		return 200;
	if (r == HTTP_INCOMPLETE)
		return 0;
	return st;
}

static void test_request_ok(void)
{
	static struct http_request req;
	size_t used = 0;
	const char *s = "POST /v1/agent/events?x=1 HTTP/1.1\r\nHost: orch:8443\r\n"
	    "Content-Type: application/json\r\nContent-Length: 5\r\n\r\nhelloGET";
	CHECK_EQ_INT(preq(s, &req, &used, NULL), HTTP_OK);
	CHECK_EQ_STR(req.method, "POST");
	CHECK_EQ_STR(req.target, "/v1/agent/events?x=1");
	CHECK_EQ_INT(req.path_len, 16);
	CHECK(req.query && strncmp(req.query, "x=1", req.query_len) == 0);
	CHECK_EQ_INT(req.body_len, 5);
	CHECK(memcmp(req.body, "hello", 5) == 0);
	CHECK_EQ_INT(used, strlen(s) - 3);    /* "GET" belongs to the next request */
	CHECK(req.keep_alive);
	const struct http_header *h = http_find_header(req.headers, req.n_headers, "content-TYPE");
	CHECK(h && h->value_len == 16 && memcmp(h->value, "application/json", 16) == 0);

	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"), 200);
	CHECK_EQ_INT(preq("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n",
	    &req, NULL, NULL), HTTP_OK);
	CHECK(!req.keep_alive);
	/* value whitespace trimmed */
	CHECK_EQ_INT(preq("GET / HTTP/1.1\r\nHost: a\r\nX-A: \t v v \t\r\n\r\n", &req, NULL, NULL), HTTP_OK);
	h = http_find_header(req.headers, req.n_headers, "x-a");
	CHECK(h && h->value_len == 3 && memcmp(h->value, "v v", 3) == 0);
}

static void test_request_incomplete(void)
{
	const char *s = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n0123456789";
	size_t n = strlen(s);
	static struct http_request req;
	size_t used;
	/* every strict prefix is incomplete, never an error */
	int bad = 0;
	for (size_t i = 0; i < n; i++)
		if (http_parse_request(s, i, &lim, &req, &used, NULL) != HTTP_INCOMPLETE)
			bad++;
	CHECK_EQ_INT(bad, 0);
	CHECK_EQ_INT(http_parse_request(s, n, &lim, &req, &used, NULL), HTTP_OK);
	CHECK_EQ_INT(used, n);
}

static void test_smuggling(void)
{
	/* CL + CL, even equal */
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 2\r\n\r\nxx"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx"), 400);
	/* CL + TE in both orders: 400; TE alone: 501 */
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "Content-Length: 3\r\n\r\n0\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "0\r\n\r\n"), 501);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding: identity\r\n\r\n"), 501);
	/* space or tab before the colon */
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length : 1\r\n\r\nx"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding\t: chunked\r\n\r\n"), 400);
	/* obs-fold */
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n\tb\r\n\r\n"), 400);
	/* bare LF, bare CR */
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\nHost: a\n\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"), 400);
	/* signed, negative, hex, empty, huge Content-Length */
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\nx"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x1\r\n\r\nx"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "99999999999999999999999999\r\n\r\n"), 413);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551617\r\n\r\n"), 413);
	CHECK_EQ_INT(req_status("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n"), 413);
	/* Host: none or two */
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nX: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
}

static void test_request_bad_shapes(void)
{
	/* NUL and other control bytes */
	const char nul[] = "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n";
	static struct http_request req;
	size_t used;
	struct http_error err;
	CHECK_EQ_INT(http_parse_request(nul, sizeof(nul) - 1, &lim, &req, &used, &err), HTTP_E_BAD);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\r\nX: \x01\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n"), 400);
	/* methods, targets, versions */
	CHECK_EQ_INT(req_status("get / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("G@T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET http://x/ HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET /a b HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET /a%zz HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET /a\"<> HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.0\r\nHost: a\r\n\r\n"), 505);
	CHECK_EQ_INT(req_status("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), 505);
	CHECK_EQ_INT(req_status("GET / HTTX/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET /\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nNoColon\r\nHost: a\r\n\r\n"), 400);
	CHECK_EQ_INT(req_status("GET / HTTP/1.1\r\nX(y): a\r\nHost: a\r\n\r\n"), 400);
}

static void test_request_caps(void)
{
	static char big[40000];
	/* overlong header line: 431 once the cap is reached, even unterminated */
	strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
	size_t n = strlen(big);
	memset(big + n, 'a', 9000);
	big[n + 9000] = '\0';
	CHECK_EQ_INT(req_status(big), 431);
	/* overlong target: 414 */
	strcpy(big, "GET /");
	memset(big + 5, 'a', 3000);
	strcpy(big + 3005, " HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ_INT(req_status(big), 414);
	/* header count cap */
	strcpy(big, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (int i = 0; i < 40; i++)
		strcat(big, "X-A: b\r\n");
	strcat(big, "\r\n");
	CHECK_EQ_INT(req_status(big), 431);
	struct http_limits l2 = lim;
	l2.max_headers = 64;
	static struct http_request req;
	size_t used;
	CHECK_EQ_INT(http_parse_request(big, strlen(big), &l2, &req, &used, NULL), HTTP_OK);
	/* body cap from the caller */
	l2.max_body = 4;
	const char *s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello";
	CHECK_EQ_INT(http_parse_request(s, strlen(s), &l2, &req, &used, NULL), HTTP_E_TOO_LARGE);
	l2.max_body = 5;
	CHECK_EQ_INT(http_parse_request(s, strlen(s), &l2, &req, &used, NULL), HTTP_OK);
}

static void test_response(void)
{
	static struct http_response r;
	size_t used;
	const char *s = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: x\r\n\r\n{}";
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL), HTTP_OK);
	CHECK_EQ_INT(r.status, 200);
	CHECK_EQ_STR(r.reason, "OK");
	CHECK_EQ_INT(r.body_len, 2);
	CHECK_EQ_INT(used, strlen(s));
	s = "HTTP/1.1 204 No Content\r\n\r\n";
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL), HTTP_OK);
	s = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n";
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 1, &r, &used, NULL), HTTP_OK);
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL), HTTP_INCOMPLETE);
	/* no Content-Length: no read-until-close */
	s = "HTTP/1.1 200 OK\r\n\r\nabc";
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL), HTTP_E_BAD);
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	CHECK(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL) < 0);
	s = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx";
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL), HTTP_E_BAD);
	s = "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n";
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL), HTTP_E_BAD);
	s = "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n";
	CHECK(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL) < 0);
	s = "HTTP/1.1 100 Continue\r\n\r\n";
	CHECK(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL) < 0);
	s = "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n";
	CHECK_EQ_INT(http_parse_response(s, strlen(s), &lim, 0, &r, &used, NULL), HTTP_E_BAD);
	/* found by fuzz_http_response: a header section shorter than "HTTP/"
	 * was compared past its end (heap overread) */
	char *tiny = malloc(4);
	memcpy(tiny, "\r\n\r\n", 4);
	CHECK_EQ_INT(http_parse_response(tiny, 4, &lim, 0, &r, &used, NULL), HTTP_E_BAD);
	free(tiny);
}

static void test_writer_roundtrip(void)
{
	char buf[1024];
	struct http_field f[] = { { "Content-Type", "application/json" } };
	static struct http_request req;
	static struct http_response resp;
	size_t used;

	long n = http_write_request(buf, sizeof(buf), "POST", "orch.example:8443",
	    "/v1/agent/heartbeat", f, 1, "{}", 2, 1);
	CHECK(n > 0);
	CHECK_EQ_INT(http_parse_request(buf, (size_t)n, &lim, &req, &used, NULL), HTTP_OK);
	CHECK_EQ_INT(used, n);
	CHECK_EQ_INT(req.body_len, 2);
	n = http_write_response(buf, sizeof(buf), 404, f, 1, "{\"a\":1}", 7, 0);
	CHECK(n > 0);
	CHECK_EQ_INT(http_parse_response(buf, (size_t)n, &lim, 0, &resp, &used, NULL), HTTP_OK);
	CHECK_EQ_INT(resp.status, 404);
	CHECK(!resp.keep_alive);
	/* header injection refused */
	struct http_field bad[] = { { "X", "a\r\nContent-Length: 0" } };
	CHECK_EQ_INT(http_write_response(buf, sizeof(buf), 200, bad, 1, NULL, 0, 1), -EINVAL);
	struct http_field bad2[] = { { "Content-Length", "5" } };
	CHECK_EQ_INT(http_write_response(buf, sizeof(buf), 200, bad2, 1, NULL, 0, 1), -EINVAL);
	CHECK_EQ_INT(http_write_request(buf, sizeof(buf), "GET", "h", "/a b", NULL, 0, NULL, 0, 1), -EINVAL);
	CHECK_EQ_INT(http_write_request(buf, sizeof(buf), "GET", "h\r\nX: y", "/", NULL, 0, NULL, 0, 1), -EINVAL);
	CHECK_EQ_INT(http_write_request(buf, 10, "GET", "h", "/", NULL, 0, NULL, 0, 1), -ENOSPC);
}

static void test_basic_auth(void)
{
	struct basic_auth a;
	/* "tenant-a:tok:en" */
	const char *v = "Basic dGVuYW50LWE6dG9rOmVu";
	CHECK_EQ_INT(basic_auth_parse(v, strlen(v), &a), 0);
	CHECK_EQ_STR(a.user, "tenant-a");
	CHECK_EQ_STR(a.pass, "tok:en");
	v = "basic dGVuYW50LWE6dG9rOmVu";
	CHECK_EQ_INT(basic_auth_parse(v, strlen(v), &a), 0);
	basic_auth_wipe(&a);
	CHECK_EQ_INT(a.user[0], 0);
	const char *bad[] = {
		"Basic  dGVuYW50LWE6dG9rOmVu",   /* two spaces */
		"Bearer dGVuYW50LWE6dG9rOmVu",
		"Basic dGVuYW50LWE6dG9rOmVu=",   /* bad padding */
		"Basic dGVuYW50LWE6dG9rOmV",     /* not a multiple of 4 */
		"Basic dGVu YW50LWE6dG9rOmVu",   /* inner space */
		"Basic dGVuYW50",                /* "tenant": no colon */
		"Basic OnRvaw==",                /* ":tok": empty user */
		"Basic YTpi\x01",
		"Basic YR==",                    /* non-zero pad bits (not canonical) */
		"Basic ",
		"Basic",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (basic_auth_parse(bad[i], strlen(bad[i]), &a) != -EINVAL)
			printf("  accepted: %s\n", bad[i]), harness_cur_failed = 1;
	}
	/* UTF-8 is accepted, malformed UTF-8 is not: "t\u00e9:tok\u00e9" */
	v = "Basic dMOpOnRva8Op";
	CHECK_EQ_INT(basic_auth_parse(v, strlen(v), &a), 0);
	CHECK_EQ_STR(a.user, "t\xc3\xa9");
	const char *bad_utf8[] = {
		"Basic dP86dG9r",        /* "t\xff:tok" */
		"Basic dDp0b2vArw==",    /* overlong "/" (c0 af) in the password */
		"Basic dDrtoIA=",        /* a UTF-16 surrogate (ed a0 80) */
		"Basic dDrigg==",        /* truncated sequence (e2 82) */
		"Basic dDr0kICA",        /* above U+10FFFF (f4 90 80 80) */
	};
	for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		if (basic_auth_parse(bad_utf8[i], strlen(bad_utf8[i]), &a) != -EINVAL)
			printf("  accepted: %s\n", bad_utf8[i]), harness_cur_failed = 1;
	}
	/* control byte inside: "a:b\n" */
	v = "Basic YTpiCg==";
	CHECK_EQ_INT(basic_auth_parse(v, strlen(v), &a), -EINVAL);
	/* oversized value */
	static char longv[2000];
	strcpy(longv, "Basic ");
	memset(longv + 6, 'A', 1200);
	CHECK_EQ_INT(basic_auth_parse(longv, strlen(longv), &a), -EINVAL);
}

static void test_url(void)
{
	struct https_url u;
	const char *msg = NULL;
	CHECK_EQ_INT(https_url_parse("https://orch.example.com:8443/api", &u, &msg), 0);
	CHECK_EQ_STR(u.host, "orch.example.com");
	CHECK_EQ_INT(u.port, 8443);
	CHECK_EQ_STR(u.path, "/api");
	CHECK_EQ_INT(https_url_parse("HTTPS://10.0.0.1", &u, &msg), 0);
	CHECK_EQ_STR(u.host, "10.0.0.1");
	CHECK_EQ_INT(u.port, 443);
	CHECK_EQ_STR(u.path, "/");
	CHECK(u.host_is_ip);
	CHECK_EQ_INT(https_url_parse("https://[::1]:9/x?y=1", &u, &msg), 0);
	CHECK_EQ_STR(u.host, "::1");
	CHECK_EQ_STR(u.path, "/x?y=1");
	msg = NULL;
	CHECK_EQ_INT(https_url_parse("http://orch:8080/", &u, &msg), -EINVAL);
	CHECK(msg && strstr(msg, "http://") && strstr(msg, "https://"));
	const char *bad[] = { "", "orch:443", "ftp://x", "https://", "https://:443",
		"https://a:0", "https://a:65536", "https://a:12x", "https://user@a/",
		"https://a/#frag", "https://a b/", "https://-a/", "https://a..b/",
		"https://[::1/", "https://[zz]/", "https://a:/" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (https_url_parse(bad[i], &u, &msg) != -EINVAL)
			printf("  accepted: %s\n", bad[i]), harness_cur_failed = 1;
}

static void test_json(void)
{
	cJSON *j = NULL;
	const char *s = "{\"a\":[1,{\"b\":\"]]]]\"}]}";
	CHECK_EQ_INT(json_body_depth(s, strlen(s), 100), 3);
	CHECK_EQ_INT(json_body_parse(s, strlen(s), 1000, 3, &j), JSON_BODY_OK);
	CHECK(j != NULL);
	cJSON_Delete(j);
	CHECK_EQ_INT(json_body_parse(s, strlen(s), 1000, 2, &j), JSON_BODY_E_DEPTH);
	CHECK_EQ_INT(json_body_parse(s, strlen(s), 10, 8, &j), JSON_BODY_E_SIZE);
	CHECK_EQ_INT(json_body_parse("[1]", 3, 100, 8, &j), JSON_BODY_E_TYPE);
	CHECK_EQ_INT(json_body_parse("{} x", 4, 100, 8, &j), JSON_BODY_E_SYNTAX);
	CHECK_EQ_INT(json_body_parse("{\"a\":1,}", 8, 100, 8, &j), JSON_BODY_E_SYNTAX);
	CHECK_EQ_INT(json_body_parse("{\"a\":\"\0\"}", 9, 100, 8, &j), JSON_BODY_E_SYNTAX);
	CHECK(j == NULL);
	/* 100000 nested brackets: refused by the scan, cJSON never sees them */
	static char deep[200001];
	memset(deep, '[', 100000);
	memset(deep + 100000, ']', 100000);
	CHECK_EQ_INT(json_body_parse(deep, 200000, 1 << 20, 16, &j), JSON_BODY_E_DEPTH);
	/* escaped quote inside a string does not end it */
	s = "{\"a\":\"\\\"[[[[\"}";
	CHECK_EQ_INT(json_body_depth(s, strlen(s), 100), 1);
}

static int handled;
static void h_result(struct http_ctx *ctx, struct http_reply *r)
{
	handled++;
	if (http_reply_json(r, 200, http_ctx_param(ctx, "id")) != 0)
		return;
}
static void h_jobs(struct http_ctx *ctx, struct http_reply *r)
{
	handled += 10;
	r->status = 204;
}

static void test_router(void)
{
	static const struct http_route routes[] = {
		{ "GET", "/v1/agent/jobs", h_jobs },
		{ "POST", "/v1/agent/jobs/{id}/result", h_result },
	};
	static struct http_request req;
	struct http_ctx ctx;
	struct http_reply rep;
	const char *s;

#define ROUTE(text) do { memset(&ctx, 0, sizeof(ctx)); ctx.req = &req; s = (text); \
	CHECK_EQ_INT(preq(s, &req, NULL, NULL), HTTP_OK); \
	http_dispatch(routes, 2, &ctx, &rep); } while (0)

	handled = 0;
	ROUTE("GET /v1/agent/jobs?wait=30 HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ_INT(rep.status, 204);
	CHECK_EQ_INT(handled, 10);
	http_reply_free(&rep);
	ROUTE("POST /v1/agent/jobs/job-42/result HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n");
	CHECK_EQ_INT(rep.status, 200);
	CHECK(rep.body && strcmp(rep.body, "job-42") == 0);
	http_reply_free(&rep);
	ROUTE("GET /v1/agent/jobs/job-42/result HTTP/1.1\r\nHost: a\r\n\r\n");
	CHECK_EQ_INT(rep.status, 405);
	http_reply_free(&rep);
	const char *nf[] = {
		"POST /v1/agent/jobs/../result HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /v1/agent/jobs/./result HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /v1/agent/jobs/a%2Fb/result HTTP/1.1\r\nHost: a\r\n\r\n",
		"POST /v1/agent/jobs//result HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /v1/agent/jobs/ HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /v1/agent/jobsX HTTP/1.1\r\nHost: a\r\n\r\n",
		"GET /v1/agent HTTP/1.1\r\nHost: a\r\n\r\n",
	};
	for (size_t i = 0; i < sizeof(nf) / sizeof(nf[0]); i++) {
		ROUTE(nf[i]);
		if (rep.status != 404)
			printf("  status %d for %s", rep.status, nf[i]), harness_cur_failed = 1;
		http_reply_free(&rep);
	}
	CHECK_EQ_INT(handled, 11);
}

int main(void)
{
	http_limits_default(&lim);
	RUN(test_request_ok);
	RUN(test_request_incomplete);
	RUN(test_smuggling);
	RUN(test_request_bad_shapes);
	RUN(test_request_caps);
	RUN(test_response);
	RUN(test_writer_roundtrip);
	RUN(test_basic_auth);
	RUN(test_url);
	RUN(test_json);
	RUN(test_router);
	return HARNESS_EXIT();
}
