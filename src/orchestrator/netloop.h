/*
 * netloop.h: the orchestrator's epoll event loop: listeners, connections,
 * HTTP/1.1 framing, timeouts and connection caps.
 *
 * One thread, level-triggered epoll, every socket non-blocking.  A listener
 * is either TLS (a struct tls_server: BearSSL engines driven from the loop
 * with tls_conn_pump / tls_conn_read / tls_conn_write) or plain (the admin
 * unix socket, where the socket permissions are the authentication).
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
 * Caps: limits.max_conns over the TLS listeners and limits.max_per_source
 * per source address; the plain (admin) listener has its own cap,
 * NETLOOP_ADMIN_MAX_CONNS, so that a flood on the network listeners never
 * locks the operator out.  A connection over a cap is accepted and closed
 * at once (before any TLS or HTTP work) and reported through on_refused.
 *
 * Handlers (router.h) run synchronously in the loop; ctx->user points to a
 * struct netloop_req that gives the listener's user pointer and the source
 * address.  A handler that does a durable write fsyncs before it returns,
 * so the response is only sent after the data is on disk, or parks the
 * request (below) until hooks.on_pass_end has made it durable for all the
 * requests of the pass at once (group commit) and woken it.
 *
 * Parking (long-polls, group commit): a parked request stays in the
 * connection's input buffer, the connection is watched only for hang-up
 * (EPOLLRDHUP), and its handler is run again on the same request when
 * netloop_wake names its key or its park time is over; there is no thread
 * and no per-request state outside the connection.
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

struct netloop;

struct netloop_limits {
	size_t max_conns;
	size_t max_per_source;
	unsigned handshake_ms, idle_ms, header_ms, body_ms, write_ms;
	unsigned max_requests;         /* per connection, 0 = 1000 */
	unsigned drain_ms;             /* how long SIGTERM waits for requests in flight */
};

/* Defaults: 1024 / 32 connections; 10 s handshake, 60 s idle, 10 s header,
 * 30 s body, 30 s write; 10 s drain. */
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
	struct netloop *nl;                  /* the loop (for netloop_wake) */
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
	/* after each pass over the ready connections (group commit: one
	 * fsync for the requests of the pass, then netloop_wake) */
	void (*on_pass_end)(void *arg);
	/* about once a second, from the loop (periodic work such as pruning) */
	void (*on_tick)(void *arg);
};

struct netloop;

/* New loop (epoll instance).  0 or -errno. */
int netloop_new(const struct netloop_limits *lim, const struct netloop_hooks *hooks,
    struct netloop **out) WARN_UNUSED;
/* Close every connection and listener, free the loop. */
void netloop_free(struct netloop *nl);

/*
 * Add a listening socket (owned from now on) named `name` (static string,
 * for events).  `tls` NULL: plain HTTP (unix socket).  Routes, limits and
 * user must outlive the loop.  0 or -errno
 * (-ENOSPC over NETLOOP_MAX_LISTENERS).
 */
int netloop_add_listener(struct netloop *nl, const char *name, int fd, struct tls_server *tls,
    const struct http_route *routes, size_t n_routes, const struct http_limits *hlim,
    void *user) WARN_UNUSED;

/*
 * Run until *stop becomes non-zero (set it from a SIGTERM handler: the loop
 * wakes up, stops accepting, lets requests in flight finish for at most
 * drain_ms, then returns 0).  *reopen is checked too: when non-zero it is
 * reset and `on_reopen` called (SIGHUP).  Returns 0 or -errno of epoll.
 */
int netloop_run(struct netloop *nl, volatile sig_atomic_t *stop, volatile sig_atomic_t *reopen,
    void (*on_reopen)(void *arg), void *arg) WARN_UNUSED;

/* Re-run the handlers of every request parked under `key` (after the
 * current pass of the loop).  Returns how many were woken. */
size_t netloop_wake(struct netloop *nl, const char *key);

/* Parked requests now. */
size_t netloop_parked(const struct netloop *nl);

/* Open connections now (for tests and status). */
size_t netloop_conns(const struct netloop *nl);

/*
 * Listening sockets: "host:port" (IPv4 literal, [IPv6] literal or a name)
 * with SO_REUSEADDR, non-blocking, close-on-exec; and a unix socket created
 * with mode 0600 (a stale socket file at `path` is replaced, any other file
 * is refused with -EEXIST).  Return the descriptor or -errno.
 */
int netloop_listen_tcp(const char *hostport) WARN_UNUSED;
int netloop_listen_unix(const char *path) WARN_UNUSED;

#endif
