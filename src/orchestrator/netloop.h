/*
 * netloop.h: the orchestrator's epoll event loops: listeners, connections,
 * HTTP/1.1 framing, timeouts and connection caps.
 *
 * One event loop per worker thread (limits.workers, normally one per CPU),
 * each with its own level-triggered epoll instance; every socket is
 * non-blocking.  A listener is either TLS (a struct tls_server: BearSSL
 * engines driven from the loop with tls_conn_pump / tls_conn_read /
 * tls_conn_write) or plain (the admin unix socket, where the socket
 * permissions are the authentication).  Each loop has its own listening
 * socket for every TLS listener (SO_REUSEPORT: the kernel spreads new
 * connections over the loops); the plain listener is served by loop 0
 * only.  A connection lives in the loop that accepted it until it closes.
 * Loop 0 runs in the thread that called netloop_run (the one that receives
 * the signals); loops 1..N-1 are threads started by netloop_run with every
 * signal blocked.
 *
 * LOCKING RULES (read before touching this file or a handler):
 *   app lock   netloop_lock(): one process-wide recursive mutex.  Held
 *              around every handler (http_dispatch), hooks.on_pass_end,
 *              hooks.on_tick, every other hook (on_tls_failure,
 *              on_bad_request, on_refused, on_timeout) and on_reopen.  The
 *              application state behind the handlers (registry, journals,
 *              token and lockout tables, event store, audit and event log)
 *              is therefore only ever touched by one thread at a time.
 *              A handler may drop it (netloop_unlock/netloop_lock, once:
 *              it holds it once) around work that reads nothing of that
 *              state, and must look up again whatever it found before:
 *              the enrollment handler does so around the CSR check and
 *              the certificate signature, the costly part of enrolling.
 *              Code the loop calls OUTSIDE a handler that reads that state
 *              must take it itself: the TLS verifier's revocation callback
 *              (it runs inside tls_conn_pump, at the handshake) does.
 *   TLS work   BearSSL engines, HTTP parsing and response writing run in
 *              the connection's own loop WITHOUT the app lock, so that
 *              handshakes (the CPU-heavy part) use every core.  What they
 *              share is read-only after start-up (credentials, trust
 *              anchors), except the server's session cache: netloop wraps
 *              the cache of every TLS listener so that its save/load run
 *              under a cache mutex (order: cache mutex, then app lock, as
 *              the cache's load may ask the revocation callback).
 *   park lock  one mutex per loop: its list of parked requests and their
 *              wake flags.  netloop_wake (called with the app lock held)
 *              marks matching parked requests of any loop and kicks that
 *              loop's eventfd; a request parks (joins the list) before its
 *              handler's app-lock section ends, so a wake-up issued by
 *              another loop right after cannot be missed.  A loop never
 *              takes the app lock while holding its park lock.
 *   caps lock  one mutex: the count of network connections (max_conns)
 *              and the per-source hash table (max_per_source), updated at
 *              accept and close; a leaf lock.
 *   order      cache mutex -> app lock -> park lock | caps lock.
 *
 * Per connection: one request at a time (pipelined requests wait in the
 * input buffer), the input buffer grows up to the listener's header + body
 * caps (the per-connection memory budget), and one deadline that depends on
 * the phase:
 *   handshake  TLS handshake not finished           NETLOOP limits.handshake_ms
 *   idle       keep-alive, no byte of a request yet  limits.idle_ms
 *   headers    request started, header incomplete    limits.header_ms (from its first byte)
 *   body       header complete, body incomplete      limits.body_ms (from the header's end)
 *   write      response not yet accepted by the peer limits.write_ms
 * A connection past its deadline is closed (slowloris-safe: a byte at a
 * time does not extend the header or body deadline).  After a response
 * with "Connection: close" the write side is shut down and the peer's
 * remaining input is read and dropped for up to 2 s before the close, so
 * that unread input does not turn the close into a reset that could destroy
 * the response (RFC 9112 section 9.6).
 *
 * Caps: limits.max_conns over the TLS listeners of all loops together and
 * limits.max_per_source per source address, also over all loops (a hash
 * table, O(1) per accept); the plain (admin) listener has its own cap,
 * NETLOOP_ADMIN_MAX_CONNS, so that a flood on the network listeners never
 * locks the operator out.  A connection over a cap is accepted and closed
 * at once (before any TLS or HTTP work) and reported through on_refused.
 *
 * Handlers (router.h) run synchronously in their connection's loop, under
 * the app lock; ctx->user points to a struct netloop_req that gives the
 * listener's user pointer and the source address.  A handler that does a
 * durable write fsyncs before it returns (itself, or in hooks.on_handled,
 * which runs after every handler that answered, before the answer is
 * queued), so the response is only sent after the data is on disk, or
 * parks the request (below) until
 * hooks.on_pass_end has made it durable for all the requests appended so
 * far at once (group commit; any loop's pass end may do it) and woken it.
 *
 * Parking (long-polls, group commit): a parked request stays in the
 * connection's input buffer, the connection is watched only for hang-up
 * (EPOLLRDHUP), and its handler is run again on the same request, in the
 * same loop, when netloop_wake names its key (from any loop) or its park
 * time is over; there is no thread and no per-request state outside the
 * connection.
 *
 * Signals: SIGTERM sets *stop: loop 0 sees it, tells every loop (eventfd),
 * and each one stops accepting, drains and ends; netloop_run returns once
 * every loop has ended.  SIGHUP's *reopen is handled by loop 0 only (once).
 * hooks.on_tick runs in loop 0 only, about once a second.
 */
#ifndef STAVILY_ORCHESTRATOR_NETLOOP_H
#define STAVILY_ORCHESTRATOR_NETLOOP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "base/util.h"
#include "http/message.h"
#include "http/router.h"
#include "tls/conn.h"

#define NETLOOP_MAX_LISTENERS 4
#define NETLOOP_SOURCE_MAX    64     /* address text without port */
#define NETLOOP_PEER_MAX      80     /* "addr:port" / "[v6]:port" / "unix" */
#define NETLOOP_ADMIN_MAX_CONNS 64   /* per plain (admin) listener */
#define NETLOOP_PARK_KEY_MAX  160
#define NETLOOP_MAX_PARK_MS   (60u * 1000)
#define NETLOOP_MAX_WORKERS   64     /* event loops (threads) at most */

struct netloop;

struct netloop_limits {
	size_t max_conns;
	size_t max_per_source;
	unsigned handshake_ms, idle_ms, header_ms, body_ms, write_ms;
	unsigned max_requests;         /* per connection, 0 = 1000 */
	unsigned drain_ms;             /* how long SIGTERM waits for requests in flight */
	unsigned workers;              /* event loops (threads), 1..NETLOOP_MAX_WORKERS; 0 = 1 */
};

/* Defaults: 1024 / 32 connections; 10 s handshake, 60 s idle, 10 s header,
 * 30 s body, 30 s write; 10 s drain; 1 worker. */
void netloop_limits_default(struct netloop_limits *l);

/* What a handler finds in ctx->user. */
struct netloop_req {
	void *user;                          /* the listener's user pointer */
	const char *listener;                /* the listener's name */
	const char *source;                  /* peer address without port ("unix" for the socket) */
	/* mutual TLS: the verified client certificate's serial (big-endian,
	 * as in the certificate); serial_len 0 otherwise */
	const unsigned char *serial;
	size_t serial_len;
	long peer_uid;                       /* unix socket: SO_PEERCRED uid; -1 otherwise */
	char retry_after[16];                /* storage a handler may point a reply field at */
	/*
	 * Long-poll parking.  A handler that has nothing to answer yet sets
	 * park_ms (> 0) and park_key (e.g. "tenant/agent") and leaves the
	 * reply empty: the request stays buffered, the connection waits
	 * without a thread, and the same handler runs again on the same
	 * request when netloop_wake(key) is called or when park_ms (counted
	 * from the first park) has passed; in the latter case (and while the
	 * loop drains) park_expired is 1 and the handler must answer.
	 */
	struct netloop *nl;                  /* the loops (for netloop_wake) */
	const char *parked_key;              /* in: the key of this request's last park, or NULL */
	int park_expired;                    /* in: the wait is over, answer now */
	unsigned park_ms;                    /* out: park for this long */
	char park_key[NETLOOP_PARK_KEY_MAX]; /* out: wake-up key */
};

/* Notifications (all optional). */
struct netloop_hooks {
	void *arg;
	/* a TLS handshake failed (peer = "addr:port", listener = its name) */
	void (*on_tls_failure)(void *arg, const char *listener, const char *peer,
	    const struct tls_failure *f);
	/* the parser refused a request (status sent, parser message) */
	void (*on_bad_request)(void *arg, const char *peer, int status, const char *msg);
	/* a connection was closed at accept because of a cap ("total"/"per_source") */
	void (*on_refused)(void *arg, const char *source, const char *why);
	/* a connection hit its deadline (phase name) */
	void (*on_timeout)(void *arg, const char *peer, const char *phase);
	/* after each pass of a loop over its ready connections (group
	 * commit: one fsync for what was appended so far, then netloop_wake);
	 * every loop calls it, under the app lock */
	void (*on_pass_end)(void *arg);
	/* after a handler answered (not when it parked), before the answer
	 * is queued, under the app lock: the place to make durable what the
	 * handler wrote (it may replace the answer, e.g. by an error) */
	void (*on_handled)(void *arg, const struct http_request *req, struct http_reply *rep);
	/* about once a second, from loop 0 (periodic work such as pruning) */
	void (*on_tick)(void *arg);
};

/* Per-loop counters (for status and tests). */
struct netloop_loop_stats {
	uint64_t accepted;     /* connections accepted by this loop (refused ones too) */
	uint64_t requests;     /* requests answered by this loop */
	uint64_t conns;        /* connections open in this loop now */
	uint64_t parked;       /* requests parked in this loop now */
};

struct netloop;

/* New set of lim->workers loops (epoll instances and eventfds; the threads
 * start in netloop_run).  0 or -errno. */
int netloop_new(const struct netloop_limits *lim, const struct netloop_hooks *hooks,
    struct netloop **out) WARN_UNUSED;
/* Close every connection and listener, free the loops (after netloop_run
 * returned, or instead of it). */
void netloop_free(struct netloop *nl);

/*
 * Add a listening socket (owned from now on) named `name` (static string,
 * for events).  `tls` NULL: plain HTTP (unix socket), served by loop 0.
 * With `tls`, `fd` must come from netloop_listen_tcp (SO_REUSEPORT): loop 0
 * serves it and every other loop gets its own socket bound to the same
 * address (so call this before dropping any privilege the bind needs), and
 * the server's session cache is wrapped with the cache mutex (see above;
 * `tls` must stay put and be used by this netloop only).  Routes, limits
 * and user must outlive the loops.  0 or -errno (-ENOSPC over
 * NETLOOP_MAX_LISTENERS; every socket made here is closed on error).
 */
int netloop_add_listener(struct netloop *nl, const char *name, int fd, struct tls_server *tls,
    const struct http_route *routes, size_t n_routes, const struct http_limits *hlim,
    void *user) WARN_UNUSED;

/*
 * Start loops 1..N-1 as threads (all signals blocked in them) and run loop
 * 0 in the calling thread until *stop becomes non-zero (set it from a
 * SIGTERM handler: the loops wake up, stop accepting, let requests in
 * flight finish for at most drain_ms, then end; this returns 0 once all
 * have ended).  *reopen is checked by loop 0: when non-zero it is reset and
 * `on_reopen` called under the app lock (SIGHUP).  Returns 0, or -errno of
 * epoll or of pthread_create (then the loops already started are stopped
 * and joined).  Call it once.
 */
int netloop_run(struct netloop *nl, volatile sig_atomic_t *stop, volatile sig_atomic_t *reopen,
    void (*on_reopen)(void *arg), void *arg) WARN_UNUSED;

/* Re-run the handlers of every request parked under `key`, in whichever
 * loop it is (after the current pass of that loop).  Call it with the app
 * lock held (from a handler or hook).  Returns how many were woken. */
size_t netloop_wake(struct netloop *nl, const char *key);

/* Parked requests now (all loops). */
size_t netloop_parked(const struct netloop *nl);

/* Open connections now (all loops; for tests and status). */
size_t netloop_conns(const struct netloop *nl);

/* Network (TLS listener) connections now, as counted against
 * limits.max_conns (all loops; takes the caps lock). */
size_t netloop_net_conns(struct netloop *nl);

/* The app lock (see LOCKING RULES): for code that reads the application
 * state from outside a handler, e.g. a TLS verifier callback.  Recursive. */
void netloop_lock(struct netloop *nl);
void netloop_unlock(struct netloop *nl);

/* Number of loops, and one loop's counters (i < netloop_workers). */
unsigned netloop_workers(const struct netloop *nl);
void netloop_loop_stats(const struct netloop *nl, unsigned i, struct netloop_loop_stats *out);

/* CPUs this process may run on (sched_getaffinity), 1..NETLOOP_MAX_WORKERS:
 * the `auto` worker count. */
unsigned netloop_cpus(void);

/*
 * Listening sockets: "host:port" (IPv4 literal, [IPv6] literal or a name)
 * with SO_REUSEADDR and SO_REUSEPORT (for the other loops' sockets),
 * non-blocking, close-on-exec; -EADDRINUSE when something already listens
 * there, even another process of ours (a probe bind without SO_REUSEPORT
 * comes first, so two orchestrators never share a port); and a unix socket created
 * with mode 0600 (a stale socket file at `path` is replaced, any other file
 * is refused with -EEXIST).  Return the descriptor or -errno.
 */
int netloop_listen_tcp(const char *hostport) WARN_UNUSED;
int netloop_listen_unix(const char *path) WARN_UNUSED;

#endif
