/* see netloop.h */
#include "orchestrator/netloop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/timefmt.h"

#define NL_MAX_EVENTS     64
#define NL_IN_START       4096
#define NL_REPLY_HEAD_MAX 1024
/* After a response with "Connection: close" the write side is shut and
 * what the peer still sends is read and dropped for this long, so that
 * closing with unread input does not make the kernel send a RST that could
 * destroy the response before the peer read it (RFC 9112 9.6). */
#define NL_LINGER_MS      2000
/* Steps of one connection's state machine per wake-up (a bound, not a
 * tuning knob: a step that makes no progress ends the turn anyway). */
#define NL_MAX_STEPS      64

/* PH_PARKED: a long-poll request waits (still buffered in `in`) for
 * netloop_wake or its deadline; the socket is only watched for hang-up. */
enum phase { PH_HANDSHAKE, PH_READ, PH_WRITE, PH_CLOSE, PH_PARKED };

struct listener {
	const char *name;
	size_t n_conns;                 /* open connections of this listener */
	int fd;
	struct tls_server *tls;
	const struct http_route *routes;
	size_t n_routes;
	struct http_limits hlim;
	void *user;
};

struct conn {
	struct conn *prev, *next;
	struct listener *l;
	int fd;                         /* plain connections; TLS ones: tls_conn_fd */
	struct tls_conn *tls;
	char peer[NETLOOP_PEER_MAX];
	char source[NETLOOP_SOURCE_MAX];
	enum phase phase;
	unsigned char *in;
	size_t in_len, in_cap;
	char *out;
	size_t out_len, out_off;
	int close_after;
	unsigned served;
	uint64_t deadline;
	const char *deadline_what;
	int header_seen;                /* deadline switched to the body phase */
	uint32_t ev;                    /* events registered with epoll */
	long peer_uid;                  /* unix peers: SO_PEERCRED uid, else -1 */
	char park_key[NETLOOP_PARK_KEY_MAX];
	uint64_t park_end;              /* monotonic ms; 0 = not parked in this request */
	int park_woken, park_expired;
};

struct netloop {
	int ep;
	struct netloop_limits lim;
	struct netloop_hooks hooks;
	struct listener ls[NETLOOP_MAX_LISTENERS];
	size_t n_ls;
	struct conn *conns;
	size_t n_conns;
	size_t n_net;                   /* connections of the TLS (network) listeners */
	int draining;
	int wake_pending;               /* some parked connection was woken */
	size_t n_parked;
	uint64_t next_tick;
};

void netloop_limits_default(struct netloop_limits *l)
{
	memset(l, 0, sizeof(*l));
	l->max_conns = 1024;
	l->max_per_source = 32;
	l->handshake_ms = 10000;
	l->idle_ms = 60000;
	l->header_ms = 10000;
	l->body_ms = 30000;
	l->write_ms = 30000;
	l->drain_ms = 10000;
}

int netloop_new(const struct netloop_limits *lim, const struct netloop_hooks *hooks,
    struct netloop **out)
{
	struct netloop *nl = calloc(1, sizeof(*nl));

	*out = NULL;
	if (!nl)
		return -ENOMEM;
	nl->ep = epoll_create1(EPOLL_CLOEXEC);
	if (nl->ep < 0) {
		int e = -errno;
		free(nl);
		return e;
	}
	nl->lim = *lim;
	if (!nl->lim.max_requests)
		nl->lim.max_requests = 1000;
	if (hooks)
		nl->hooks = *hooks;
	*out = nl;
	return 0;
}

static int conn_fd(const struct conn *c)
{
	return c->tls ? tls_conn_fd(c->tls) : c->fd;
}

static void conn_free(struct netloop *nl, struct conn *c)
{
	(void)epoll_ctl(nl->ep, EPOLL_CTL_DEL, conn_fd(c), NULL);
	if (c->tls)
		tls_conn_free(c->tls);
	else if (c->fd >= 0)
		close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		nl->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nl->n_conns--;
	if (c->phase == PH_PARKED)
		nl->n_parked--;
	c->l->n_conns--;
	if (c->l->tls)
		nl->n_net--;
	/* requests may carry credentials (Authorization) */
	if (c->in)
		explicit_bzero(c->in, c->in_cap);
	if (c->out)
		explicit_bzero(c->out, c->out_len);
	free(c->in);
	free(c->out);
	free(c);
}

static void close_listeners(struct netloop *nl)
{
	for (size_t i = 0; i < nl->n_ls; i++)
		if (nl->ls[i].fd >= 0) {
			(void)epoll_ctl(nl->ep, EPOLL_CTL_DEL, nl->ls[i].fd, NULL);
			close(nl->ls[i].fd);
			nl->ls[i].fd = -1;
		}
}

void netloop_free(struct netloop *nl)
{
	if (!nl)
		return;
	while (nl->conns)
		conn_free(nl, nl->conns);
	close_listeners(nl);
	close(nl->ep);
	free(nl);
}

size_t netloop_conns(const struct netloop *nl)
{
	return nl->n_conns;
}

int netloop_add_listener(struct netloop *nl, const char *name, int fd, struct tls_server *tls,
    const struct http_route *routes, size_t n_routes, const struct http_limits *hlim,
    void *user)
{
	struct listener *l;
	struct epoll_event ev;

	if (nl->n_ls >= NETLOOP_MAX_LISTENERS) {
		close(fd);
		return -ENOSPC;
	}
	l = &nl->ls[nl->n_ls];
	l->name = name;
	l->fd = fd;
	l->tls = tls;
	l->routes = routes;
	l->n_routes = n_routes;
	l->hlim = *hlim;
	l->user = user;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = l;
	if (epoll_ctl(nl->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	nl->n_ls++;
	return 0;
}

static int is_listener(const struct netloop *nl, const void *p)
{
	return p >= (const void *)&nl->ls[0] && p < (const void *)&nl->ls[NETLOOP_MAX_LISTENERS];
}

static void set_deadline(struct conn *c, unsigned ms, const char *what)
{
	c->deadline = time_mono_ms() + ms;
	c->deadline_what = what;
}

static size_t per_source(const struct netloop *nl, const char *src)
{
	size_t n = 0;

	for (const struct conn *c = nl->conns; c; c = c->next)
		if (strcmp(c->source, src) == 0)
			n++;
	return n;
}

static void addr_text(const struct sockaddr_storage *ss, char *src, size_t slen, char *peer,
    size_t plen)
{
	char a[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, a, sizeof(a));
		port = ntohs(s4->sin_port);
		snprintf(src, slen, "%s", a);
		snprintf(peer, plen, "%s:%u", a, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, a, sizeof(a));
		port = ntohs(s6->sin6_port);
		snprintf(src, slen, "%s", a);
		snprintf(peer, plen, "[%s]:%u", a, port);
	} else {
		snprintf(src, slen, "unix");
		snprintf(peer, plen, "unix");
	}
}

static void update_events(struct netloop *nl, struct conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (c->phase == PH_CLOSE) {
		want = EPOLLIN;
	} else if (c->phase == PH_PARKED) {
		/* only a hang-up; a pipelined request waits in the kernel */
		want = EPOLLRDHUP;
	} else if (c->tls) {
		unsigned w = tls_conn_want(c->tls);
		if (w & TLS_WANT_READ)
			want |= EPOLLIN;
		if (w & TLS_WANT_WRITE)
			want |= EPOLLOUT;
	} else {
		if (c->phase == PH_WRITE)
			want = EPOLLOUT;
		else
			want = EPOLLIN;
	}
	/* while a response is pending the request side is not read: the
	 * peer cannot make us buffer more than one request ahead */
	if (want == c->ev)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = want;
	ev.data.ptr = c;
	if (epoll_ctl(nl->ep, EPOLL_CTL_MOD, conn_fd(c), &ev) == 0)
		c->ev = want;
}

static void accept_one(struct netloop *nl, struct listener *l)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char src[NETLOOP_SOURCE_MAX], peer[NETLOOP_PEER_MAX];
	struct conn *c;
	struct epoll_event ev;
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	addr_text(&ss, src, sizeof(src), peer, sizeof(peer));
	/* the network listeners share max_conns; the admin socket has its own
	 * small cap, so that a flood from the network cannot lock the
	 * operator out */
	if (l->tls ? nl->n_net >= nl->lim.max_conns : l->n_conns >= NETLOOP_ADMIN_MAX_CONNS) {
		close(fd);
		if (nl->hooks.on_refused)
			nl->hooks.on_refused(nl->hooks.arg, src, "total");
		return;
	}
	/* the admin socket has one "source"; its cap is the total one */
	if (l->tls && per_source(nl, src) >= nl->lim.max_per_source) {
		close(fd);
		if (nl->hooks.on_refused)
			nl->hooks.on_refused(nl->hooks.arg, src, "per_source");
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->l = l;
	c->fd = fd;
	c->peer_uid = -1;
	if (ss.ss_family == AF_UNIX) {
		struct ucred uc;
		socklen_t ul = sizeof(uc);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0)
			c->peer_uid = (long)uc.uid;
	}
	memcpy(c->source, src, sizeof(src));
	memcpy(c->peer, peer, sizeof(peer));
	if (l->tls) {
		struct tls_failure f;
		if (tls_conn_server(l->tls, fd, &c->tls, &f) != 0) {   /* owns fd, also on error */
			free(c);
			return;
		}
		c->fd = -1;
		c->phase = PH_HANDSHAKE;
		set_deadline(c, nl->lim.handshake_ms, "handshake");
	} else {
		c->phase = PH_READ;
		set_deadline(c, nl->lim.idle_ms, "idle");
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(nl->ep, EPOLL_CTL_ADD, conn_fd(c), &ev) < 0) {
		if (c->tls)
			tls_conn_free(c->tls);
		else
			close(fd);
		free(c);
		return;
	}
	c->ev = EPOLLIN;
	c->next = nl->conns;
	if (nl->conns)
		nl->conns->prev = c;
	nl->conns = c;
	nl->n_conns++;
	l->n_conns++;
	if (l->tls)
		nl->n_net++;
}

/* Serialize a reply into c->out. */
static int queue_reply(struct conn *c, const struct http_reply *r, int keep)
{
	struct http_field f[HTTP_REPLY_MAX_FIELDS + 1];
	size_t nf = 0, cap = NL_REPLY_HEAD_MAX + r->body_len;
	long n;

	if (r->content_type)
		f[nf++] = (struct http_field){ "Content-Type", r->content_type };
	for (size_t i = 0; i < r->n_fields && i < HTTP_REPLY_MAX_FIELDS; i++)
		f[nf++] = r->fields[i];
	if (c->out)
		explicit_bzero(c->out, c->out_len);
	free(c->out);
	c->out = malloc(cap);
	if (!c->out)
		return -ENOMEM;
	n = http_write_response(c->out, cap, r->status, f, nf, r->body, r->body_len, keep);
	if (n < 0) {
		/* a handler produced a bad header: answer 500 instead */
		static const char body[] = "{\"error\":\"internal error\"}";
		n = http_write_response(c->out, cap, 500, NULL, 0, body, sizeof(body) - 1, 0);
		keep = 0;
		if (n < 0)
			return (int)n;
	}
	c->out_len = (size_t)n;
	c->out_off = 0;
	c->close_after = !keep;
	c->phase = PH_WRITE;
	return 0;
}

static void start_write(struct netloop *nl, struct conn *c)
{
	set_deadline(c, nl->lim.write_ms, "write");
}

/* Parse what is buffered; dispatch one complete request.  Returns 1 if a
 * response was queued, 0 if more input is needed, -1 to close now. */
static int handle_input(struct netloop *nl, struct conn *c)
{
	struct http_request *req;
	struct http_error err = { 0, NULL, 0 };
	size_t consumed = 0;
	int pr;

	if (c->in_len == 0)
		return 0;
	req = malloc(sizeof(*req));
	if (!req)
		return -1;
	pr = http_parse_request(c->in, c->in_len, &c->l->hlim, req, &consumed, &err);
	if (pr == HTTP_INCOMPLETE) {
		free(req);
		if (!c->header_seen && memmem(c->in, c->in_len, "\r\n\r\n", 4)) {
			c->header_seen = 1;
			set_deadline(c, nl->lim.body_ms, "body");
		}
		return 0;
	}
	if (pr < 0) {
		struct http_reply rep;
		memset(&rep, 0, sizeof(rep));
		http_reply_error(&rep, err.status, err.msg ? err.msg : "bad request");
		if (nl->hooks.on_bad_request)
			nl->hooks.on_bad_request(nl->hooks.arg, c->peer, err.status, err.msg);
		pr = queue_reply(c, &rep, 0);
		http_reply_free(&rep);
		free(req);
		if (pr < 0)
			return -1;
		c->in_len = 0;
		start_write(nl, c);
		return 1;
	}
	struct netloop_req env;
	struct http_ctx ctx;
	struct http_reply rep;
	memset(&env, 0, sizeof(env));
	env.user = c->l->user;
	env.listener = c->l->name;
	env.source = c->source;
	env.peer_uid = c->peer_uid;
	env.nl = nl;
	env.park_expired = c->park_expired || nl->draining;
	env.parked_key = c->park_end ? c->park_key : NULL;
	if (c->tls && c->l->tls->trust) {
		const struct tls_verify_result *vr = tls_conn_verify_result(c->tls);
		env.serial = vr->serial;
		env.serial_len = vr->serial_len;
	}
	memset(&ctx, 0, sizeof(ctx));
	ctx.req = req;
	ctx.identity = (c->tls && tls_conn_identity(c->tls)[0]) ? tls_conn_identity(c->tls) : NULL;
	ctx.peer = c->peer;
	ctx.user = &env;
	http_dispatch(c->l->routes, c->l->n_routes, &ctx, &rep);
	c->park_woken = 0;
	if (env.park_ms > 0 && !env.park_expired) {
		/* the request stays in the buffer for the next run of its handler */
		uint64_t now = time_mono_ms();
		unsigned ms = env.park_ms > NETLOOP_MAX_PARK_MS ? NETLOOP_MAX_PARK_MS : env.park_ms;
		if (c->park_end == 0)
			c->park_end = now + ms;
		http_reply_free(&rep);
		free(req);
		snprintf(c->park_key, sizeof(c->park_key), "%s", env.park_key);
		c->phase = PH_PARKED;
		nl->n_parked++;
		c->deadline = c->park_end;
		c->deadline_what = "park";
		return 0;
	}
	c->park_end = 0;
	c->park_expired = 0;
	c->served++;
	int keep = req->keep_alive && !rep.close && c->served < nl->lim.max_requests &&
	    !nl->draining;
	pr = queue_reply(c, &rep, keep);
	/* replies may carry secrets (a new token, shown once) */
	if (rep.body)
		explicit_bzero(rep.body, rep.body_len);
	http_reply_free(&rep);
	free(req);
	/* the request (possibly holding a credential) leaves the buffer */
	explicit_bzero(c->in, consumed);
	memmove(c->in, c->in + consumed, c->in_len - consumed);
	c->in_len -= consumed;
	explicit_bzero(c->in + c->in_len, consumed);
	c->header_seen = 0;
	if (pr < 0)
		return -1;
	start_write(nl, c);
	return 1;
}

/* Read what is available.  1 progress, 0 nothing, -1 closed/error. */
static int read_some(struct conn *c)
{
	size_t cap_total = c->l->hlim.max_header_bytes + (size_t)c->l->hlim.max_body;
	long n;

	if (c->in_len == c->in_cap) {
		size_t nc = c->in_cap ? c->in_cap * 2 : NL_IN_START;
		if (nc > cap_total)
			nc = cap_total;
		if (nc <= c->in_cap)
			return 0;    /* full: the parser will have answered 413/431 */
		unsigned char *p = malloc(nc);
		if (!p)
			return -1;
		if (c->in) {
			memcpy(p, c->in, c->in_len);
			explicit_bzero(c->in, c->in_cap);
			free(c->in);
		}
		c->in = p;
		c->in_cap = nc;
	}
	if (c->tls) {
		n = tls_conn_read(c->tls, c->in + c->in_len, c->in_cap - c->in_len);
		if (n == -EAGAIN)
			return 0;
	} else {
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		if (n == 0)
			return -1;
	}
	if (n <= 0)
		return -1;
	c->in_len += (size_t)n;
	return 1;
}

/* Move the queued response out.  1 progress, 0 nothing, -1 error. */
static int write_some(struct conn *c)
{
	long n;

	if (c->out_off >= c->out_len)
		return 0;
	if (c->tls) {
		n = tls_conn_write(c->tls, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -EAGAIN)
			return 0;
		if (n > 0)
			tls_conn_flush(c->tls);
	} else {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
	}
	if (n <= 0)
		return -1;
	c->out_off += (size_t)n;
	return 1;
}

/* Everything written has left the TLS engine (or there is no engine). */
static int output_drained(const struct conn *c)
{
	return !c->tls || !(tls_conn_want(c->tls) & TLS_WANT_WRITE);
}

static void start_linger(struct conn *c)
{
	(void)shutdown(conn_fd(c), SHUT_WR);
	c->phase = PH_CLOSE;
	set_deadline(c, NL_LINGER_MS, NULL);
}

/* Read and drop what the peer still sends; -1 at its EOF or an error. */
static int linger_read(struct conn *c)
{
	char scratch[4096];

	for (int i = 0; i < NL_MAX_STEPS; i++) {
		ssize_t n = recv(conn_fd(c), scratch, sizeof(scratch), 0);
		if (n > 0)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return 0;
		return -1;
	}
	return 0;
}

/* Run the connection's state machine.  Returns -1 when it must be freed. */
static int conn_step(struct netloop *nl, struct conn *c)
{
	for (int step = 0; step < NL_MAX_STEPS; step++) {
		int progress = 0, r;

		if (c->phase == PH_CLOSE) {
			if (linger_read(c) < 0)
				return -1;
			break;
		}
		if (c->phase == PH_PARKED)
			break;
		if (c->tls) {
			r = tls_conn_pump(c->tls);
			if (r < 0) {
				if (c->phase == PH_HANDSHAKE && nl->hooks.on_tls_failure)
					nl->hooks.on_tls_failure(nl->hooks.arg, c->l->name,
					    c->peer, tls_conn_failure(c->tls));
				return -1;
			}
			if (c->phase == PH_HANDSHAKE) {
				if (!tls_conn_established(c->tls))
					break;    /* epoll interest follows the engine */
				c->phase = PH_READ;
				set_deadline(c, nl->lim.idle_ms, "idle");
				progress = 1;
			}
		}
		if (c->phase == PH_WRITE) {
			r = write_some(c);
			if (r < 0)
				return -1;
			progress |= r;
			if (c->out_off >= c->out_len) {
				if (c->close_after) {
					if (c->tls && tls_conn_pump(c->tls) < 0)
						return -1;
					if (output_drained(c)) {
						start_linger(c);
						progress = 1;
					}
					/* else wait for the engine to send the last records */
				} else {
					explicit_bzero(c->out, c->out_len);
					free(c->out);
					c->out = NULL;
					c->out_len = c->out_off = 0;
					c->phase = PH_READ;
					set_deadline(c, nl->lim.idle_ms, "idle");
					progress = 1;
				}
			}
		}
		if (c->phase == PH_READ) {
			if (nl->draining && c->in_len == 0)
				return -1;    /* idle between requests: nothing to drain */
			size_t before = c->in_len;
			r = read_some(c);
			if (r < 0)
				return -1;
			if (r > 0) {
				progress = 1;
				if (before == 0 && !c->header_seen)
					set_deadline(c, nl->lim.header_ms, "headers");
			}
			r = handle_input(nl, c);
			if (r < 0)
				return -1;
			progress |= r;
		}
		if (!progress)
			break;
	}
	update_events(nl, c);
	return 0;
}

static void expire(struct netloop *nl)
{
	uint64_t now = time_mono_ms();
	struct conn *c = nl->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (now >= c->deadline && c->phase == PH_PARKED) {
			c->park_expired = 1;
			c->park_woken = 1;
			nl->wake_pending = 1;
			c->deadline = now + 1000;   /* answered in run_woken below */
			continue;
		}
		if (now >= c->deadline) {
			/* the end of a linger is no timeout worth reporting */
			if (nl->hooks.on_timeout && c->phase != PH_CLOSE)
				nl->hooks.on_timeout(nl->hooks.arg, c->peer, c->deadline_what);
			conn_free(nl, c);
		}
	}
}

static int next_timeout(const struct netloop *nl)
{
	uint64_t now = time_mono_ms(), best = now + 1000;

	for (const struct conn *c = nl->conns; c; c = c->next)
		if (c->deadline < best)
			best = c->deadline;
	return best <= now ? 0 : (int)(best - now);
}

size_t netloop_wake(struct netloop *nl, const char *key)
{
	size_t n = 0;

	for (struct conn *c = nl->conns; c; c = c->next)
		if (c->phase == PH_PARKED && !c->park_woken && strcmp(c->park_key, key) == 0) {
			c->park_woken = 1;
			n++;
		}
	if (n)
		nl->wake_pending = 1;
	return n;
}

size_t netloop_parked(const struct netloop *nl)
{
	return nl->n_parked;
}

/* Run the handlers of woken parked requests again (outside any handler, so
 * a handler that wakes others never recurses). */
static void run_woken(struct netloop *nl)
{
	struct conn *c, *next;

	if (!nl->wake_pending)
		return;
	nl->wake_pending = 0;
	for (c = nl->conns; c; c = next) {
		next = c->next;
		if (c->phase != PH_PARKED || !c->park_woken)
			continue;
		c->phase = PH_READ;
		nl->n_parked--;
		int r = handle_input(nl, c);
		if (r < 0) {
			conn_free(nl, c);
			continue;
		}
		if (c->phase == PH_WRITE && conn_step(nl, c) < 0) {
			conn_free(nl, c);
			continue;
		}
		update_events(nl, c);
	}
}

int netloop_run(struct netloop *nl, volatile sig_atomic_t *stop, volatile sig_atomic_t *reopen,
    void (*on_reopen)(void *arg), void *arg)
{
	struct epoll_event evs[NL_MAX_EVENTS];
	uint64_t drain_end = 0;

	for (;;) {
		if (*stop && !nl->draining) {
			nl->draining = 1;
			close_listeners(nl);
			drain_end = time_mono_ms() + nl->lim.drain_ms;
			/* idle connections end now; busy ones after their reply */
			struct conn *c = nl->conns, *next;
			for (; c; c = next) {
				next = c->next;
				if (c->phase == PH_HANDSHAKE || c->phase == PH_CLOSE ||
				    (c->phase == PH_READ && c->in_len == 0))
					conn_free(nl, c);
				else if (c->phase == PH_PARKED) {
					/* long-polls are answered (empty) at once */
					c->park_expired = 1;
					c->park_woken = 1;
					nl->wake_pending = 1;
				}
			}
		}
		if (nl->draining && (nl->n_conns == 0 || time_mono_ms() >= drain_end))
			return 0;
		if (reopen && *reopen) {
			*reopen = 0;
			if (on_reopen)
				on_reopen(arg);
		}
		int n = epoll_wait(nl->ep, evs, NL_MAX_EVENTS, next_timeout(nl));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (is_listener(nl, p)) {
				struct listener *l = p;
				/* a bounded batch per wake-up keeps accept fair */
				for (int k = 0; k < 16 && l->fd >= 0 && !nl->draining; k++)
					accept_one(nl, l);
				continue;
			}
			struct conn *c = p;
			if (c->phase == PH_PARKED) {
				/* the peer hung up on its long-poll */
				if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					conn_free(nl, c);
				continue;
			}
			/* a connection freed earlier in this batch cannot be here:
			 * we free only in conn_step/expire below, after which its
			 * pending events are not looked at (epoll returns each fd
			 * once per wait) */
			if (conn_step(nl, c) < 0)
				conn_free(nl, c);
		}
		/* group commit: requests of this pass (and those their answers
		 * let through) share one fsync; bounded rounds */
		for (int round = 0; round < 4 && nl->hooks.on_pass_end; round++) {
			nl->hooks.on_pass_end(nl->hooks.arg);
			if (!nl->wake_pending)
				break;
			run_woken(nl);
		}
		expire(nl);
		run_woken(nl);
		if (nl->hooks.on_tick && time_mono_ms() >= nl->next_tick) {
			nl->next_tick = time_mono_ms() + 1000;
			nl->hooks.on_tick(nl->hooks.arg);
			run_woken(nl);
		}
	}
}

int netloop_listen_tcp(const char *hostport)
{
	char host[256];
	const char *colon = strrchr(hostport, ':'), *h = hostport;
	size_t hl;
	struct addrinfo hints, *ai = NULL;
	int fd = -1, one = 1, r;

	if (!colon || colon == hostport)
		return -EINVAL;
	hl = (size_t)(colon - hostport);
	if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
		h = hostport + 1;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	r = getaddrinfo(host, colon + 1, &hints, &ai);
	if (r != 0)
		return -EADDRNOTAVAIL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
		r = -errno;
		close(fd);
		goto out;
	}
	r = fd;
out:
	freeaddrinfo(ai);
	return r;
}

int netloop_listen_unix(const char *path)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		if (unlink(path) < 0)
			return -errno;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* created 0600 from the start: no window in which others may connect */
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
