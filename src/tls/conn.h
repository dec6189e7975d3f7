/*
 * conn.h: TLS 1.2 client and server connections on BearSSL's engine.
 *
 * Policy (DESIGN.md section 2), not configurable: TLS 1.2 only; ECDHE key
 * exchange with AES-GCM or ChaCha20-Poly1305 (ECDSA and RSA server keys);
 * no renegotiation; the server's suite order wins.  Peers are verified by
 * tls/verify.h (chain, time, host name, pins, EKU, revocation, identity).
 *
 * Objects:
 *   struct tls_creds    our certificate chain and private key (EC P-256 or RSA)
 *   struct tls_client   client configuration + the session kept for resumption
 *   struct tls_server   server configuration + the session cache (LRU) and the
 *                       session-id -> authenticated identity map
 *   struct tls_conn     one connection (heap; ~TLS_CONN_IOBUF + contexts)
 *
 * Drivers: the non-blocking one (tls_conn_pump / tls_conn_want /
 * tls_conn_read / tls_conn_write) works on a non-blocking socket from an
 * epoll loop; the blocking convenience (tls_conn_handshake, tls_conn_read_some,
 * tls_conn_write_all, tls_conn_close) polls with deadlines on top of it.
 *
 * Buffers: one bidirectional buffer of BR_SSL_BUFSIZE_BIDI (33,178 bytes) per
 * connection on both roles.  The input half cannot be smaller: OpenSSL and
 * other peers send full 16 KiB records and BearSSL 0.6 does not negotiate
 * max_fragment_length as a server.  See docs/tls.md for the per-connection
 * memory figure (tls_conn_memory()).
 *
 * Not thread-safe: a struct tls_server (its cache) is used by one thread.
 */
#ifndef STAVILY_TLS_CONN_H
#define STAVILY_TLS_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <bearssl.h>
#include "base/util.h"
#include "crypto/x509.h"
#include "tls/verify.h"

#define TLS_CONN_IOBUF      BR_SSL_BUFSIZE_BIDI
#define TLS_MAX_SERVER_NAME 253
#define TLS_MAX_KEY_FILE    (64 * 1024)
/* Default session cache: 256 sessions (BearSSL's LRU uses ~100 bytes each). */
#define TLS_SESSION_CACHE_DEFAULT 256
#define TLS_SESSION_CACHE_MAX     65536

/* ---- credentials ------------------------------------------------------- */

struct tls_creds {
	struct x509_chain chain;       /* leaf first */
	int key_type;                  /* BR_KEYTYPE_EC or BR_KEYTYPE_RSA */
	br_ec_private_key ec;          /* x -> ec_x */
	unsigned char ec_x[66];
	br_rsa_private_key rsa;        /* components malloc'd in rsa_buf */
	unsigned char *rsa_buf;
	size_t rsa_buf_len;
};

/*
 * Load a PEM certificate chain file (leaf first) and a PEM private key file
 * ("PRIVATE KEY", "EC PRIVATE KEY" or "RSA PRIVATE KEY").  EC keys must be
 * on P-256, P-384 or P-521.  Returns 0 or a negative x509_err / -errno /
 * -EINVAL (unusable key).  tls_creds_free wipes the key.
 */
int tls_creds_load(struct tls_creds *c, const char *chain_path, const char *key_path) WARN_UNUSED;
/* Same from PEM text in memory. */
int tls_creds_from_pem(struct tls_creds *c, const char *chain_pem, size_t chain_len,
    const char *key_pem, size_t key_len) WARN_UNUSED;
void tls_creds_free(struct tls_creds *c);

/* ---- failure report ---------------------------------------------------- */

/* Why a connection failed, for tls_handshake_failed and
 * certificate_validation_failed events. */
struct tls_failure {
	int br_err;                    /* BearSSL's (or TLS_ERR_*) code, 0 if none */
	char br_err_name[64];
	int verify_reason;             /* enum tls_verify_reason, TLS_VR_OK if the
	                                  chain was not the problem */
	int sys_errno;                 /* socket error / ETIMEDOUT, 0 if none */
	int in_handshake;              /* failed before the handshake completed */
};

/* 1 if the failure is a certificate_validation_failed (peer chain, pin,
 * host name, EKU, dates, revocation), else 0. */
int tls_failure_is_cert(const struct tls_failure *f);

/* ---- client ------------------------------------------------------------ */

struct tls_client {
	struct tls_trust *trust;       /* peer_role TLS_PEER_SERVER; caller-owned */
	const struct tls_creds *creds; /* client certificate, may be NULL */
	char server_name[TLS_MAX_SERVER_NAME + 1]; /* for SNI and the host check */
	int resume;                    /* try session resumption (default 1) */
	br_ssl_session_parameters session;
	int have_session;
	/* SHA-256 of what the saved session was verified against (server
	 * name, trust anchors, pins, our certificate): a session is offered
	 * only while they are unchanged, since a resumed handshake skips the
	 * certificate checks on both sides. */
	unsigned char session_ctx[32];
	unsigned connect_timeout_ms, handshake_timeout_ms, io_timeout_ms;
};

/* Defaults: resume on, timeouts 10 s / 10 s / 30 s.  `trust` and `creds`
 * must outlive the client; server_name may be NULL (then set it). */
void tls_client_init(struct tls_client *c, struct tls_trust *trust,
    const struct tls_creds *creds, const char *server_name);
/* Drop the saved session.  (Not needed after a change of server name, trust,
 * pins or our certificate: such a session is no longer offered anyway.) */
void tls_client_forget_session(struct tls_client *c);
/* Wipe the saved session's master secret. */
void tls_client_free(struct tls_client *c);

/* ---- server ------------------------------------------------------------ */

struct tls_session_identity;       /* private to conn.c */
struct tls_server;

/* Our session cache class: BearSSL's LRU plus the identity map (conn.c). */
struct tls_session_cache {
	const br_ssl_session_cache_class *vtable;
	struct tls_server *owner;
};

struct tls_server {
	struct tls_trust *trust;       /* peer_role TLS_PEER_CLIENT; NULL: no client auth
	                                  (the enrollment listener) */
	const struct tls_creds *creds;
	br_ssl_session_cache_lru lru;
	struct tls_session_cache cache;    /* what the engines use: wraps lru */
	unsigned char *lru_store;
	struct tls_session_identity *ids;  /* same capacity as the LRU */
	size_t n_ids_cap;
	uint64_t id_clock;
	unsigned handshake_timeout_ms, io_timeout_ms;
};

/*
 * Prepare a server.  `trust` NULL means no client certificates are asked
 * for; otherwise every handshake must present a valid client certificate.
 * `cache_sessions` (0 = TLS_SESSION_CACHE_DEFAULT, at most
 * TLS_SESSION_CACHE_MAX) bounds both the BearSSL LRU and the identity map.
 * With client authentication a session is resumed only while its identity
 * is in the map, its certificate has not expired and the revocation
 * callback does not refuse its serial; otherwise the client gets a full
 * handshake (and a full verification).  The struct must not move after
 * this call (the engines point into it).  Returns 0 or -ENOMEM / -EINVAL
 * (also for a trust whose peer_role is not TLS_PEER_CLIENT).
 */
int tls_server_init(struct tls_server *s, struct tls_trust *trust,
    const struct tls_creds *creds, size_t cache_sessions) WARN_UNUSED;
void tls_server_free(struct tls_server *s);
/* Drop every cached session whose identity is `identity` (e.g. after a
 * revocation or quarantine).  Returns how many were dropped. */
size_t tls_server_forget_identity(struct tls_server *s, const char *identity);

/* ---- connections ------------------------------------------------------- */

struct tls_conn;

/* Want flags from tls_conn_want(). */
#define TLS_WANT_READ   1
#define TLS_WANT_WRITE  2
#define TLS_CLOSED      4

/*
 * A client connection over the connected socket `fd` (made non-blocking
 * here; the connection owns it from now on, also on error).  Returns 0 and
 * *out, -EINVAL without a server name or trust, or with a trust whose
 * peer_role is not TLS_PEER_SERVER (the host name check cannot be skipped),
 * -ENOMEM, or -EIO (engine refused the configuration, *fail
 * says why; fail may be NULL).
 */
int tls_conn_client(struct tls_client *cl, int fd, struct tls_conn **out,
    struct tls_failure *fail) WARN_UNUSED;
/* A server connection over an accepted socket (owned from now on). */
int tls_conn_server(struct tls_server *sv, int fd, struct tls_conn **out,
    struct tls_failure *fail) WARN_UNUSED;

/* Close the socket and free everything (no close_notify: see
 * tls_conn_close for the polite way).  NULL is fine. */
void tls_conn_free(struct tls_conn *c);

/* The socket (for epoll registration). */
int tls_conn_fd(const struct tls_conn *c);

/* TLS_WANT_READ / TLS_WANT_WRITE / TLS_CLOSED from the engine state. */
unsigned tls_conn_want(const struct tls_conn *c);

/*
 * Move records between the engine and the socket without blocking.
 * Returns 0 when progress was made or nothing was possible (-EAGAIN is
 * folded into 0), -EPIPE when the peer closed cleanly, or another negative
 * errno / -EPROTO (TLS error: tls_conn_failure() says which).
 */
int tls_conn_pump(struct tls_conn *c) WARN_UNUSED;

/* 1 once the handshake completed and the peer is verified. */
int tls_conn_established(const struct tls_conn *c);
/* 1 if the completed handshake resumed a session. */
int tls_conn_resumed(const struct tls_conn *c);
/* The peer's identity (URI SAN of its certificate, "" if none; on a resumed
 * server session the identity stored with the session). */
const char *tls_conn_identity(const struct tls_conn *c);
/* Server side: the server name the client sent (SNI), "" if none; "" on
 * client connections. */
const char *tls_conn_sni(const struct tls_conn *c);
/* The last verification result (reason, serial, expiry). */
const struct tls_verify_result *tls_conn_verify_result(const struct tls_conn *c);
/* The failure, valid after a -EPROTO/-ETIMEDOUT/... return. */
const struct tls_failure *tls_conn_failure(const struct tls_conn *c);
/* The negotiated cipher suite (0 before the handshake). */
unsigned tls_conn_suite(const struct tls_conn *c);

/* Non-blocking application I/O: copy out / in what the engine allows.
 * Return bytes moved, -EAGAIN (pump and retry), -EPIPE (closed) or -EPROTO. */
long tls_conn_read(struct tls_conn *c, void *buf, size_t len) WARN_UNUSED;
long tls_conn_write(struct tls_conn *c, const void *buf, size_t len) WARN_UNUSED;
/* Ask the engine to send buffered application data now. */
void tls_conn_flush(struct tls_conn *c);

/* ---- blocking convenience (poll with deadlines) --------------------------- */

/* Complete the handshake within the configured handshake timeout.
 * Returns 0, -ETIMEDOUT, -EPROTO (see tls_conn_failure), -EPIPE or -errno. */
int tls_conn_handshake(struct tls_conn *c) WARN_UNUSED;
/* Read at least one byte (up to len) within the I/O timeout.  Returns the
 * count, 0 at a clean close by the peer, or a negative errno. */
long tls_conn_read_some(struct tls_conn *c, void *buf, size_t len) WARN_UNUSED;
/* Same with an absolute deadline (time_mono_ms() clock) instead of the I/O
 * timeout: lets a caller bound a whole request, not only each read. */
long tls_conn_read_until(struct tls_conn *c, void *buf, size_t len,
    uint64_t deadline_ms) WARN_UNUSED;
/* Write and flush everything within the I/O timeout.  0 or -errno. */
int tls_conn_write_all(struct tls_conn *c, const void *buf, size_t len) WARN_UNUSED;
/* Send close_notify (best effort, bounded by the I/O timeout), then free. */
void tls_conn_close(struct tls_conn *c);

/* TCP connect to host:port with a timeout (getaddrinfo, non-blocking
 * connect, poll).  Returns the socket or -errno (-ETIMEDOUT, -EHOSTUNREACH,
 * -ENOENT for a name that does not resolve). */
int tls_tcp_connect(const char *host, unsigned port, unsigned timeout_ms) WARN_UNUSED;

/* Connect and handshake as a client: tls_tcp_connect + tls_conn_client +
 * tls_conn_handshake.  On failure *fail (may be NULL) says why. */
int tls_client_connect(struct tls_client *cl, const char *host, unsigned port,
    struct tls_conn **out, struct tls_failure *fail) WARN_UNUSED;

/* Bytes one connection object takes (struct + I/O buffer), for docs. */
size_t tls_conn_memory(int server);

#endif
