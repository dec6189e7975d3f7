/* see netloop.h */
#include "orchestrator/netloop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bearssl.h>

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
/* Buckets of the per-source connection table (chained; a power of two). */
#define NL_SRC_BUCKETS    1024

/* PH_PARKED: a long-poll request waits (still buffered in `in`) for
 * netloop_wake or its deadline; the socket is only watched for hang-up. */
enum phase { PH_HANDSHAKE, PH_READ, PH_WRITE, PH_CLOSE, PH_PARKED };

struct loop;

struct listener {
	const char *name;
	size_t n_conns;                 /* open connections of this listener (in its loop) */
	int fd;
	struct tls_server *tls;
	const struct http_route *routes;
	size_t n_routes;
	struct http_limits hlim;
	void *user;
};

struct conn {
	struct conn *prev, *next;
	/* parked list of the loop (park lock); wnext: run_woken's batch */
	struct conn *pprev, *pnext, *wnext;
	int in_park_list;
	int counted;                    /* holds a slot in the global caps */
	struct loop *lp;
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
	/* park_key and park_woken of a parked connection: park lock */
	char park_key[NETLOOP_PARK_KEY_MAX];
	uint64_t park_end;              /* monotonic ms; 0 = not parked in this request */
	int park_woken, park_expired;
};

/* One source address's open network connections (caps lock). */
struct srcent {
	struct srcent *next;
	size_t n;
	char src[NETLOOP_SOURCE_MAX];
};

/* One event loop: everything here but the park-locked part belongs to the
 * loop's thread. */
struct loop {
	struct netloop *nl;
	unsigned idx;
	int ep;
	int efd;                        /* eventfd: wake-ups and stop from other loops */
	pthread_t th;
	int started;
	int rc;                         /* what the loop ended with */
	struct listener ls[NETLOOP_MAX_LISTENERS];
	size_t n_ls;
	struct conn *conns;
	_Atomic size_t n_conns;
	int draining;
	uint64_t drain_end;
	uint64_t next_tick;
	/* park lock */
	pthread_mutex_t pmu;
	struct conn *parked;
	int wake_pending;               /* some parked connection was woken */
	_Atomic size_t n_parked;
	/* counters */
	_Atomic uint64_t accepted, requests;
};

struct netloop {
	struct netloop_limits lim;
	struct netloop_hooks hooks;
	unsigned n_loops;
	struct loop *loops;
	pthread_mutex_t app;            /* the app lock (recursive) */
	/* caps lock: network connections over all loops, per source */
	pthread_mutex_t capmu;
	size_t n_net;
	struct srcent *src_tab[NL_SRC_BUCKETS];
	atomic_int stop;                /* loop 0 saw *stop: every loop drains */
};

/* The loop this thread runs (NULL outside the loops). */
static _Thread_local struct loop *tl_loop;

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
	l->workers = 1;
}

unsigned netloop_cpus(void)
{
	cpu_set_t set;
	int n;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	n = CPU_COUNT(&set);
	if (n < 1)
		n = 1;
	if (n > NETLOOP_MAX_WORKERS)
		n = NETLOOP_MAX_WORKERS;
	return (unsigned)n;
}

void netloop_lock(struct netloop *nl)
{
	(void)pthread_mutex_lock(&nl->app);
}

void netloop_unlock(struct netloop *nl)
{
	(void)pthread_mutex_unlock(&nl->app);
}

/* ---- the TLS session cache under a mutex ---------------------------------- */

/*
 * A tls_server's session cache (BearSSL's LRU plus our identity map) is
 * changed by every full handshake and read by every resumption, from the
 * loop of the connection, outside the app lock.  tls_server exposes the
 * cache class its engines are given (cache.vtable, next to the owner
 * pointer the class finds its state by), so we put a class in front of it
 * that runs the real one under g_cache_mu.  The real class is the same
 * static object for every tls_server (conn.c's), remembered once.
 */
static pthread_mutex_t g_cache_mu = PTHREAD_MUTEX_INITIALIZER;
static const br_ssl_session_cache_class *g_cache_inner;

static void locked_cache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
    const br_ssl_session_parameters *params)
{
	(void)pthread_mutex_lock(&g_cache_mu);
	g_cache_inner->save(ctx, sc, params);
	(void)pthread_mutex_unlock(&g_cache_mu);
}

static int locked_cache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
    br_ssl_session_parameters *params)
{
	int r;

	(void)pthread_mutex_lock(&g_cache_mu);
	r = g_cache_inner->load(ctx, sc, params);
	(void)pthread_mutex_unlock(&g_cache_mu);
	return r;
}

static const br_ssl_session_cache_class locked_cache_vtable = {
	sizeof(struct tls_session_cache),
	locked_cache_save,
	locked_cache_load,
};

static int wrap_cache(struct tls_server *s)
{
	int r = 0;

	(void)pthread_mutex_lock(&g_cache_mu);
	if (s->cache.vtable == &locked_cache_vtable)
		goto out;
	if (!s->cache.vtable || (g_cache_inner && g_cache_inner != s->cache.vtable)) {
		r = -EINVAL;    /* not the cache class we know how to wrap */
		goto out;
	}
	g_cache_inner = s->cache.vtable;
	s->cache.vtable = &locked_cache_vtable;
out:
	(void)pthread_mutex_unlock(&g_cache_mu);
	return r;
}

/* ---- global connection caps --------------------------------------------------- */

static size_t src_hash(const char *s)
{
	uint32_t h = 2166136261u;   /* FNV-1a */

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h & (NL_SRC_BUCKETS - 1);
}

/* Take one network connection slot for `src`: NULL, or the cap that
 * refuses it ("total" / "per_source"). */
static const char *caps_take(struct netloop *nl, const char *src)
{
	size_t b = src_hash(src);
	struct srcent *e;
	const char *why = NULL;

	(void)pthread_mutex_lock(&nl->capmu);
	for (e = nl->src_tab[b]; e && strcmp(e->src, src) != 0; e = e->next)
		;
	if (nl->n_net >= nl->lim.max_conns) {
		why = "total";
		goto out;
	}
	if ((e ? e->n : 0) >= nl->lim.max_per_source) {
		why = "per_source";
		goto out;
	}
	if (!e) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			why = "total";
			goto out;
		}
		snprintf(e->src, sizeof(e->src), "%s", src);
		e->next = nl->src_tab[b];
		nl->src_tab[b] = e;
	}
	e->n++;
	nl->n_net++;
out:
	(void)pthread_mutex_unlock(&nl->capmu);
	return why;
}

static void caps_release(struct netloop *nl, const char *src)
{
	struct srcent **pe = &nl->src_tab[src_hash(src)];

	(void)pthread_mutex_lock(&nl->capmu);
	while (*pe && strcmp((*pe)->src, src) != 0)
		pe = &(*pe)->next;
	if (*pe) {
		struct srcent *e = *pe;
		if (--e->n == 0) {
			*pe = e->next;
			free(e);
		}
	}
	if (nl->n_net > 0)
		nl->n_net--;
	(void)pthread_mutex_unlock(&nl->capmu);
}

/* ---- hooks, under the app lock ----------------------------------------------- */

static void emit_refused(struct netloop *nl, const char *src, const char *why)
{
	if (!nl->hooks.on_refused)
		return;
	netloop_lock(nl);
	nl->hooks.on_refused(nl->hooks.arg, src, why);
	netloop_unlock(nl);
}

static void emit_timeout(struct netloop *nl, const char *peer, const char *what)
{
	if (!nl->hooks.on_timeout)
		return;
	netloop_lock(nl);
	nl->hooks.on_timeout(nl->hooks.arg, peer, what);
	netloop_unlock(nl);
}

static void emit_tls_failure(struct netloop *nl, const char *listener, const char *peer,
    const struct tls_failure *f)
{
	if (!nl->hooks.on_tls_failure)
		return;
	netloop_lock(nl);
	nl->hooks.on_tls_failure(nl->hooks.arg, listener, peer, f);
	netloop_unlock(nl);
}

/* ---- loops -------------------------------------------------------------------- */

static void kick(struct loop *lp)
{
	uint64_t one = 1;
	/* EAGAIN: the counter is already non-zero, the loop will wake */
	ssize_t w = write(lp->efd, &one, sizeof(one));

	(void)w;
}

/* Every loop drains (loop 0 saw SIGTERM, or a loop failed). */
static void stop_all(struct netloop *nl)
{
	atomic_store(&nl->stop, 1);
	for (unsigned i = 0; i < nl->n_loops; i++)
		if (nl->loops[i].efd >= 0)
			kick(&nl->loops[i]);
}

static void park_unlink_locked(struct loop *lp, struct conn *c)
{
	if (c->pprev)
		c->pprev->pnext = c->pnext;
	else
		lp->parked = c->pnext;
	if (c->pnext)
		c->pnext->pprev = c->pprev;
	c->pprev = c->pnext = NULL;
	c->in_park_list = 0;
	lp->n_parked--;
}

static void park_add(struct loop *lp, struct conn *c)
{
	(void)pthread_mutex_lock(&lp->pmu);
	c->pprev = NULL;
	c->pnext = lp->parked;
	if (lp->parked)
		lp->parked->pprev = c;
	lp->parked = c;
	c->in_park_list = 1;
	lp->n_parked++;
	(void)pthread_mutex_unlock(&lp->pmu);
}

/* Mark a parked connection of this loop woken (deadline, drain). */
static void park_wake_own(struct loop *lp, struct conn *c, int expired)
{
	(void)pthread_mutex_lock(&lp->pmu);
	if (expired)
		c->park_expired = 1;
	c->park_woken = 1;
	lp->wake_pending = 1;
	(void)pthread_mutex_unlock(&lp->pmu);
}

static int wake_pending(struct loop *lp)
{
	int w;

	(void)pthread_mutex_lock(&lp->pmu);
	w = lp->wake_pending;
	(void)pthread_mutex_unlock(&lp->pmu);
	return w;
}

int netloop_new(const struct netloop_limits *lim, const struct netloop_hooks *hooks,
    struct netloop **out)
{
	struct netloop *nl;
	pthread_mutexattr_t ma;
	unsigned n = lim->workers ? lim->workers : 1;
	int r;

	*out = NULL;
	if (n > NETLOOP_MAX_WORKERS)
		return -EINVAL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->loops = calloc(n, sizeof(*nl->loops));
	if (!nl->loops) {
		free(nl);
		return -ENOMEM;
	}
	nl->lim = *lim;
	nl->lim.workers = n;
	if (!nl->lim.max_requests)
		nl->lim.max_requests = 1000;
	if (hooks)
		nl->hooks = *hooks;
	/* recursive: a callback that takes it may run where a caller up the
	 * stack already holds it (the session cache's revocation check) */
	if (pthread_mutexattr_init(&ma) != 0) {
		free(nl->loops);
		free(nl);
		return -ENOMEM;
	}
	(void)pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	r = pthread_mutex_init(&nl->app, &ma);
	(void)pthread_mutexattr_destroy(&ma);
	if (r != 0) {
		free(nl->loops);
		free(nl);
		return -r;
	}
	(void)pthread_mutex_init(&nl->capmu, NULL);
	for (unsigned i = 0; i < n; i++) {
		struct loop *lp = &nl->loops[i];
		lp->nl = nl;
		lp->idx = i;
		lp->ep = lp->efd = -1;
		(void)pthread_mutex_init(&lp->pmu, NULL);
	}
	nl->n_loops = n;
	for (unsigned i = 0; i < n; i++) {
		struct loop *lp = &nl->loops[i];
		struct epoll_event ev;
		lp->ep = epoll_create1(EPOLL_CLOEXEC);
		if (lp->ep < 0)
			goto fail;
		lp->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (lp->efd < 0)
			goto fail;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.ptr = &lp->efd;
		if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->efd, &ev) < 0)
			goto fail;
	}
	*out = nl;
	return 0;
fail:
	r = -errno;
	netloop_free(nl);
	return r;
}

static int conn_fd(const struct conn *c)
{
	return c->tls ? tls_conn_fd(c->tls) : c->fd;
}

static void conn_free(struct loop *lp, struct conn *c)
{
	(void)epoll_ctl(lp->ep, EPOLL_CTL_DEL, conn_fd(c), NULL);
	if (c->in_park_list) {
		(void)pthread_mutex_lock(&lp->pmu);
		park_unlink_locked(lp, c);
		(void)pthread_mutex_unlock(&lp->pmu);
	}
	if (c->tls)
		tls_conn_free(c->tls);
	else if (c->fd >= 0)
		close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		lp->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	lp->n_conns--;
	c->l->n_conns--;
	if (c->counted)
		caps_release(lp->nl, c->source);
	/* requests may carry credentials (Authorization) */
	if (c->in)
		explicit_bzero(c->in, c->in_cap);
	if (c->out)
		explicit_bzero(c->out, c->out_len);
	free(c->in);
	free(c->out);
	free(c);
}

static void close_listeners(struct loop *lp)
{
	for (size_t i = 0; i < lp->n_ls; i++)
		if (lp->ls[i].fd >= 0) {
			(void)epoll_ctl(lp->ep, EPOLL_CTL_DEL, lp->ls[i].fd, NULL);
			close(lp->ls[i].fd);
			lp->ls[i].fd = -1;
		}
}

void netloop_free(struct netloop *nl)
{
	if (!nl)
		return;
	for (unsigned i = 0; i < nl->n_loops; i++) {
		struct loop *lp = &nl->loops[i];
		while (lp->conns)
			conn_free(lp, lp->conns);
		close_listeners(lp);
		if (lp->ep >= 0)
			close(lp->ep);
		if (lp->efd >= 0)
			close(lp->efd);
		(void)pthread_mutex_destroy(&lp->pmu);
	}
	for (size_t b = 0; b < NL_SRC_BUCKETS; b++)
		while (nl->src_tab[b]) {
			struct srcent *e = nl->src_tab[b];
			nl->src_tab[b] = e->next;
			free(e);
		}
	(void)pthread_mutex_destroy(&nl->capmu);
	(void)pthread_mutex_destroy(&nl->app);
	free(nl->loops);
	free(nl);
}

size_t netloop_conns(const struct netloop *nl)
{
	size_t n = 0;

	for (unsigned i = 0; i < nl->n_loops; i++)
		n += atomic_load(&nl->loops[i].n_conns);
	return n;
}

size_t netloop_parked(const struct netloop *nl)
{
	size_t n = 0;

	for (unsigned i = 0; i < nl->n_loops; i++)
		n += atomic_load(&nl->loops[i].n_parked);
	return n;
}

size_t netloop_net_conns(struct netloop *nl)
{
	size_t n;

	(void)pthread_mutex_lock(&nl->capmu);
	n = nl->n_net;
	(void)pthread_mutex_unlock(&nl->capmu);
	return n;
}

unsigned netloop_workers(const struct netloop *nl)
{
	return nl->n_loops;
}

void netloop_loop_stats(const struct netloop *nl, unsigned i, struct netloop_loop_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (i >= nl->n_loops)
		return;
	out->accepted = atomic_load(&nl->loops[i].accepted);
	out->requests = atomic_load(&nl->loops[i].requests);
	out->conns = atomic_load(&nl->loops[i].n_conns);
	out->parked = atomic_load(&nl->loops[i].n_parked);
}

static int loop_add_listener(struct loop *lp, const char *name, int fd, struct tls_server *tls,
    const struct http_route *routes, size_t n_routes, const struct http_limits *hlim,
    void *user)
{
	struct listener *l;
	struct epoll_event ev;

	if (lp->n_ls >= NETLOOP_MAX_LISTENERS) {
		close(fd);
		return -ENOSPC;
	}
	l = &lp->ls[lp->n_ls];
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
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int e = -errno;
		close(fd);
		l->fd = -1;
		return e;
	}
	lp->n_ls++;
	return 0;
}

/* Another listening socket on the address `fd` is bound to (SO_REUSEPORT:
 * both must have it).  The descriptor or -errno. */
static int listen_clone(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss), ol;
	int one = 1, v6only = 0, nfd, r;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	nfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (nfd < 0)
		return -errno;
	ol = sizeof(v6only);
	if (ss.ss_family == AF_INET6 &&
	    getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &ol) == 0)
		(void)setsockopt(nfd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
	(void)setsockopt(nfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(nfd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(nfd, (struct sockaddr *)&ss, sl) < 0 || listen(nfd, 512) < 0) {
		r = -errno;
		close(nfd);
		return r;
	}
	return nfd;
}

int netloop_add_listener(struct netloop *nl, const char *name, int fd, struct tls_server *tls,
    const struct http_route *routes, size_t n_routes, const struct http_limits *hlim,
    void *user)
{
	int fds[NETLOOP_MAX_WORKERS];
	unsigned n = tls ? nl->n_loops : 1, i;
	int r;

	if (tls && (r = wrap_cache(tls)) < 0) {
		close(fd);
		return r;
	}
	fds[0] = fd;
	for (i = 1; i < n; i++) {
		fds[i] = listen_clone(fd);
		if (fds[i] < 0) {
			r = fds[i];
			while (i-- > 0)
				close(fds[i]);
			return r;
		}
	}
	for (i = 0; i < n; i++) {
		r = loop_add_listener(&nl->loops[i], name, fds[i], tls, routes, n_routes, hlim, user);
		if (r < 0) {
			/* fds[i] is closed; those already added go with netloop_free */
			for (unsigned k = i + 1; k < n; k++)
				close(fds[k]);
			return r;
		}
	}
	return 0;
}

static int is_listener(const struct loop *lp, const void *p)
{
	return p >= (const void *)&lp->ls[0] && p < (const void *)&lp->ls[NETLOOP_MAX_LISTENERS];
}

static void set_deadline(struct conn *c, unsigned ms, const char *what)
{
	c->deadline = time_mono_ms() + ms;
	c->deadline_what = what;
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

static void update_events(struct loop *lp, struct conn *c)
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
	if (epoll_ctl(lp->ep, EPOLL_CTL_MOD, conn_fd(c), &ev) == 0)
		c->ev = want;
}

static void accept_one(struct loop *lp, struct listener *l)
{
	struct netloop *nl = lp->nl;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char src[NETLOOP_SOURCE_MAX], peer[NETLOOP_PEER_MAX];
	const char *why;
	struct conn *c;
	struct epoll_event ev;
	int fd = accept4(l->fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

	if (fd < 0)
		return;
	atomic_fetch_add(&lp->accepted, 1);
	addr_text(&ss, src, sizeof(src), peer, sizeof(peer));
	/* the network listeners share max_conns and max_per_source over all
	 * loops; the admin socket (one "source") has its own small cap, so
	 * that a flood from the network cannot lock the operator out */
	if (l->tls)
		why = caps_take(nl, src);
	else
		why = l->n_conns >= NETLOOP_ADMIN_MAX_CONNS ? "total" : NULL;
	if (why) {
		close(fd);
		emit_refused(nl, src, why);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		if (l->tls)
			caps_release(nl, src);
		return;
	}
	c->lp = lp;
	c->l = l;
	c->fd = fd;
	c->counted = l->tls != NULL;
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
			caps_release(nl, src);
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
	if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, conn_fd(c), &ev) < 0) {
		if (c->tls)
			tls_conn_free(c->tls);
		else
			close(fd);
		if (c->counted)
			caps_release(nl, src);
		free(c);
		return;
	}
	c->ev = EPOLLIN;
	c->next = lp->conns;
	if (lp->conns)
		lp->conns->prev = c;
	lp->conns = c;
	lp->n_conns++;
	l->n_conns++;
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

static void start_write(struct loop *lp, struct conn *c)
{
	set_deadline(c, lp->nl->lim.write_ms, "write");
}

/* Parse what is buffered; dispatch one complete request.  Returns 1 if a
 * response was queued, 0 if more input is needed (or the request parked),
 * -1 to close now.  Parsing runs outside the app lock, the handler under
 * it. */
static int handle_input(struct loop *lp, struct conn *c)
{
	struct netloop *nl = lp->nl;
	struct http_request *req;
	struct http_error err = { 0, NULL, 0 };
	size_t consumed = 0;
	int pr, parking;

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
		if (nl->hooks.on_bad_request) {
			netloop_lock(nl);
			nl->hooks.on_bad_request(nl->hooks.arg, c->peer, err.status, err.msg);
			netloop_unlock(nl);
		}
		pr = queue_reply(c, &rep, 0);
		http_reply_free(&rep);
		free(req);
		if (pr < 0)
			return -1;
		c->in_len = 0;
		atomic_fetch_add(&lp->requests, 1);
		start_write(lp, c);
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
	env.park_expired = c->park_expired || lp->draining;
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
	netloop_lock(nl);
	http_dispatch(c->l->routes, c->l->n_routes, &ctx, &rep);
	c->park_woken = 0;
	parking = env.park_ms > 0 && !env.park_expired;
	if (!parking && nl->hooks.on_handled)
		nl->hooks.on_handled(nl->hooks.arg, req, &rep);
	if (parking) {
		/* the request stays in the buffer for the next run of its
		 * handler; it joins the parked list before the app lock goes,
		 * so that no wake-up from another loop can slip in between */
		uint64_t now = time_mono_ms();
		unsigned ms = env.park_ms > NETLOOP_MAX_PARK_MS ? NETLOOP_MAX_PARK_MS : env.park_ms;
		if (c->park_end == 0)
			c->park_end = now + ms;
		snprintf(c->park_key, sizeof(c->park_key), "%s", env.park_key);
		c->phase = PH_PARKED;
		c->deadline = c->park_end;
		c->deadline_what = "park";
		park_add(lp, c);
	}
	netloop_unlock(nl);
	if (parking) {
		http_reply_free(&rep);
		free(req);
		return 0;
	}
	c->park_end = 0;
	c->park_expired = 0;
	c->served++;
	atomic_fetch_add(&lp->requests, 1);
	int keep = req->keep_alive && !rep.close && c->served < nl->lim.max_requests &&
	    !lp->draining;
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
	start_write(lp, c);
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
static int conn_step(struct loop *lp, struct conn *c)
{
	struct netloop *nl = lp->nl;

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
			/* the BearSSL engine: this loop's thread, no app lock */
			r = tls_conn_pump(c->tls);
			if (r < 0) {
				if (c->phase == PH_HANDSHAKE)
					emit_tls_failure(nl, c->l->name, c->peer,
					    tls_conn_failure(c->tls));
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
			if (lp->draining && c->in_len == 0)
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
			r = handle_input(lp, c);
			if (r < 0)
				return -1;
			progress |= r;
		}
		if (!progress)
			break;
	}
	update_events(lp, c);
	return 0;
}

static void expire(struct loop *lp)
{
	uint64_t now = time_mono_ms();
	struct conn *c = lp->conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (now >= c->deadline && c->phase == PH_PARKED) {
			park_wake_own(lp, c, 1);
			c->deadline = now + 1000;   /* answered in run_woken below */
			continue;
		}
		if (now >= c->deadline) {
			/* the end of a linger is no timeout worth reporting */
			if (c->phase != PH_CLOSE)
				emit_timeout(lp->nl, c->peer, c->deadline_what);
			conn_free(lp, c);
		}
	}
}

static int next_timeout(const struct loop *lp)
{
	uint64_t now = time_mono_ms(), best = now + 1000;

	for (const struct conn *c = lp->conns; c; c = c->next)
		if (c->deadline < best)
			best = c->deadline;
	return best <= now ? 0 : (int)(best - now);
}

size_t netloop_wake(struct netloop *nl, const char *key)
{
	size_t total = 0;

	for (unsigned i = 0; i < nl->n_loops; i++) {
		struct loop *lp = &nl->loops[i];
		size_t n = 0;
		/* a request parks under the app lock, which our caller holds:
		 * a loop whose count reads 0 here has nothing parked */
		if (atomic_load(&lp->n_parked) == 0)
			continue;
		(void)pthread_mutex_lock(&lp->pmu);
		for (struct conn *c = lp->parked; c; c = c->pnext)
			if (!c->park_woken && strcmp(c->park_key, key) == 0) {
				c->park_woken = 1;
				n++;
			}
		if (n) {
			lp->wake_pending = 1;
			/* our own loop runs run_woken at the end of its pass */
			if (lp != tl_loop)
				kick(lp);
		}
		(void)pthread_mutex_unlock(&lp->pmu);
		total += n;
	}
	return total;
}

/* Run the handlers of woken parked requests again (outside any handler, so
 * a handler that wakes others never recurses).  The woken ones leave the
 * parked list under the park lock first; their handlers run after it is
 * released (the app lock is never taken under a park lock). */
static void run_woken(struct loop *lp)
{
	struct conn *batch = NULL, *c, *next;

	(void)pthread_mutex_lock(&lp->pmu);
	if (lp->wake_pending) {
		lp->wake_pending = 0;
		for (c = lp->parked; c; c = next) {
			next = c->pnext;
			if (!c->park_woken)
				continue;
			park_unlink_locked(lp, c);
			c->wnext = batch;
			batch = c;
		}
	}
	(void)pthread_mutex_unlock(&lp->pmu);
	for (c = batch; c; c = next) {
		next = c->wnext;
		c->wnext = NULL;
		c->phase = PH_READ;
		int r = handle_input(lp, c);
		if (r < 0) {
			conn_free(lp, c);
			continue;
		}
		if (c->phase == PH_WRITE && conn_step(lp, c) < 0) {
			conn_free(lp, c);
			continue;
		}
		update_events(lp, c);
	}
}

static void loop_drain_start(struct loop *lp)
{
	struct conn *c = lp->conns, *next;

	lp->draining = 1;
	close_listeners(lp);
	lp->drain_end = time_mono_ms() + lp->nl->lim.drain_ms;
	/* idle connections end now; busy ones after their reply */
	for (; c; c = next) {
		next = c->next;
		if (c->phase == PH_HANDSHAKE || c->phase == PH_CLOSE ||
		    (c->phase == PH_READ && c->in_len == 0))
			conn_free(lp, c);
		else if (c->phase == PH_PARKED)
			park_wake_own(lp, c, 1);   /* long-polls are answered (empty) at once */
	}
}

static int loop_run(struct loop *lp, volatile sig_atomic_t *stop, volatile sig_atomic_t *reopen,
    void (*on_reopen)(void *arg), void *arg)
{
	struct netloop *nl = lp->nl;
	struct epoll_event evs[NL_MAX_EVENTS];

	tl_loop = lp;
	for (;;) {
		if (stop && *stop && !atomic_load(&nl->stop))
			stop_all(nl);
		if (atomic_load(&nl->stop) && !lp->draining)
			loop_drain_start(lp);
		if (lp->draining && (lp->n_conns == 0 || time_mono_ms() >= lp->drain_end))
			return 0;
		if (reopen && *reopen) {
			*reopen = 0;
			if (on_reopen) {
				netloop_lock(nl);
				on_reopen(arg);
				netloop_unlock(nl);
			}
		}
		int n = epoll_wait(lp->ep, evs, NL_MAX_EVENTS, next_timeout(lp));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			if (p == &lp->efd) {
				uint64_t v;
				ssize_t rr = read(lp->efd, &v, sizeof(v));
				(void)rr;     /* the wake-up itself is the message */
				continue;
			}
			if (is_listener(lp, p)) {
				struct listener *l = p;
				/* a bounded batch per wake-up keeps accept fair */
				for (int k = 0; k < 16 && l->fd >= 0 && !lp->draining; k++)
					accept_one(lp, l);
				continue;
			}
			struct conn *c = p;
			if (c->phase == PH_PARKED) {
				/* the peer hung up on its long-poll */
				if (evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
					conn_free(lp, c);
				continue;
			}
			/* a connection freed earlier in this batch cannot be here:
			 * we free only in conn_step/expire below, after which its
			 * pending events are not looked at (epoll returns each fd
			 * once per wait) */
			if (conn_step(lp, c) < 0)
				conn_free(lp, c);
		}
		/* group commit: what the requests of this pass appended (and
		 * what other loops appended meanwhile) shares one fsync;
		 * bounded rounds */
		for (int round = 0; round < 4 && nl->hooks.on_pass_end; round++) {
			netloop_lock(nl);
			nl->hooks.on_pass_end(nl->hooks.arg);
			netloop_unlock(nl);
			if (!wake_pending(lp))
				break;
			run_woken(lp);
		}
		expire(lp);
		run_woken(lp);
		if (lp->idx == 0 && nl->hooks.on_tick && time_mono_ms() >= lp->next_tick) {
			lp->next_tick = time_mono_ms() + 1000;
			netloop_lock(nl);
			nl->hooks.on_tick(nl->hooks.arg);
			netloop_unlock(nl);
			run_woken(lp);
		}
	}
}

static void *loop_thread(void *arg)
{
	struct loop *lp = arg;

	lp->rc = loop_run(lp, NULL, NULL, NULL, NULL);
	if (lp->rc < 0)
		stop_all(lp->nl);     /* one loop failing stops the server */
	return NULL;
}

/* Handlers and BearSSL want more than musl's 128 KiB default thread stack;
 * give the loops what the main thread has. */
#define NL_THREAD_STACK (8u * 1024 * 1024)

int netloop_run(struct netloop *nl, volatile sig_atomic_t *stop, volatile sig_atomic_t *reopen,
    void (*on_reopen)(void *arg), void *arg)
{
	sigset_t all, old;
	pthread_attr_t ta;
	int r = 0, e;

	/* the loop threads inherit a mask with every signal blocked: SIGTERM
	 * and SIGHUP reach the calling thread (loop 0), whose epoll_wait
	 * they interrupt */
	sigfillset(&all);
	if (pthread_attr_init(&ta) != 0)
		return -ENOMEM;
	(void)pthread_attr_setstacksize(&ta, NL_THREAD_STACK);
	(void)pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 1; i < nl->n_loops; i++) {
		e = pthread_create(&nl->loops[i].th, &ta, loop_thread, &nl->loops[i]);
		if (e != 0) {
			r = -e;
			break;
		}
		nl->loops[i].started = 1;
	}
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	(void)pthread_attr_destroy(&ta);
	if (r == 0)
		r = loop_run(&nl->loops[0], stop, reopen, on_reopen, arg);
	/* loop 0 ended: the others have been told (or are told now) */
	stop_all(nl);
	for (unsigned i = 1; i < nl->n_loops; i++) {
		if (!nl->loops[i].started)
			continue;
		(void)pthread_join(nl->loops[i].th, NULL);
		nl->loops[i].started = 0;
		if (r == 0 && nl->loops[i].rc < 0)
			r = nl->loops[i].rc;
	}
	tl_loop = NULL;
	return r;
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
	/* SO_REUSEPORT (for the other loops' sockets) would also let a second
	 * orchestrator of the same uid bind this port and take a share of
	 * the connections: a probe bind without it comes first, and fails
	 * when anything listens here (a tiny window remains between the
	 * probe and the real bind) */
	if (strcmp(colon + 1, "0") != 0) {
		int pfd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (pfd >= 0) {
			(void)setsockopt(pfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			r = bind(pfd, ai->ai_addr, ai->ai_addrlen) < 0 ? -errno : 0;
			close(pfd);
			if (r == -EADDRINUSE)
				goto out;
		}
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 512) < 0) {
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
