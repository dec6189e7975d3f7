/*
 * link.h: the agent's connection to the orchestrator (DESIGN §2-§4).
 *
 * Two kinds of connection, both TLS 1.2 with the chain, the host name
 * (agent.server_name, else the URL's host) and an SPKI pin (agent.ca_pins)
 * checked on every handshake:
 *   enrollment  server-authenticated only (POST /v1/enroll);
 *   agent API   mutual TLS with the agent's certificate (heartbeat, renew).
 *
 * Pin bootstrap.  Before registration the agent has only the pin, not the
 * CA certificate that BearSSL needs as a trust anchor.  link_bootstrap_ca()
 * makes a first handshake that records the certificates the server sends
 * and then aborts it (nothing is sent over it); the certificate whose SPKI
 * hash equals a configured pin and that is a CA becomes the anchor.  The
 * real connection is then verified in full (chain to that anchor, dates,
 * EKU, host name, pin), so a server that does not hold a key certified by
 * the pinned CA is refused.  No pin, no connection: there is no
 * trust-on-first-use path.
 *
 * Failures are never silent: every refused handshake raises
 * tls_handshake_failed and, when the certificate was the cause,
 * certificate_validation_failed with the reason (tls/report.h), on the
 * event log given to link_init (may be NULL).
 */
#ifndef STAVILY_AGENT_LINK_H
#define STAVILY_AGENT_LINK_H

#include <signal.h>
#include <stddef.h>

#include "base/util.h"
#include "event/event.h"
#include "http/client.h"
#include "http/url.h"
#include "tls/conn.h"

#define LINK_MAX_PINS 8
#define LINK_MAX_BODY (256 * 1024)   /* cap on any response body we accept */
/* Error for "no certificate of the server matches a pin" (below -20000,
 * distinct from errno and the other layers' codes). */
#define LINK_E_PIN (-20001)

struct link {
	struct https_url url;
	char server_name[TLS_MAX_SERVER_NAME + 1];
	const char *pins[LINK_MAX_PINS];   /* borrowed */
	size_t n_pins;
	struct tls_trust trust;
	int have_trust;
	struct tls_creds creds;
	int have_creds;
	struct tls_client client;
	int have_client;
	struct tls_conn *conn;             /* kept alive between requests */
	struct event_log *log;             /* borrowed, may be NULL */
	struct tls_failure last_fail;      /* of the last failed connect */
	unsigned long connects;            /* connection attempts (for detection rules) */
	unsigned long connect_failures;    /* failed ones; last_fail is the latest */
	char last_error[640];              /* for people */
	/* Cancellation from a signal handler (link_set_cancel), may be NULL. */
	volatile sig_atomic_t *cancel;     /* non-zero: give up at once */
	volatile sig_atomic_t *fd_slot;    /* the live connection's socket, or -1 */
};

/*
 * Prepare a link to `url` (https:// only).  `server_name` NULL or "" means
 * the URL's host.  `pins` (borrowed, at least one) are "sha256:<hex>".
 * Returns 0, -EINVAL (bad URL, no pin: last_error says which).
 */
int link_init(struct link *l, const char *url, const char *server_name,
    const char *const *pins, size_t n_pins, struct event_log *log) WARN_UNUSED;

/*
 * Trust anchors from a CA bundle (PEM) we stored earlier (mTLS use).  The
 * bundle must contain a certificate matching a pin.  Returns 0 or <0.
 */
int link_set_ca_pem(struct link *l, const char *pem, size_t len) WARN_UNUSED;

/* Fetch the server's chain and set the pinned CA as the anchor (above).
 * Returns 0, LINK_E_PIN (event emitted) or -errno. */
int link_bootstrap_ca(struct link *l) WARN_UNUSED;

/* Our client certificate (chain + key PEM; may be the same text).  Replaces
 * earlier credentials and closes the connection.  Returns 0 or <0. */
int link_set_creds(struct link *l, const char *chain_pem, size_t chain_len,
    const char *key_pem, size_t key_len) WARN_UNUSED;

/*
 * One request: connects (with events on failure) unless a kept-alive
 * connection exists, sends, reads the response (body capped at
 * LINK_MAX_BODY).  `path` NULL means the URL's path.  `extra` fields may be
 * NULL.  Returns 0 and *out (free with http_client_response_free), or <0:
 * the connection is closed and last_error says why.
 */
int link_request(struct link *l, const char *method, const char *path,
    const struct http_field *extra, size_t n_extra, const void *body, size_t len,
    struct http_client_response *out) WARN_UNUSED;

/*
 * Let a signal handler interrupt a request (SIGTERM during a long poll).
 * The link keeps *fd_slot equal to the live connection's socket (-1 when
 * there is none; set to -1 before the socket is closed, so the handler
 * never sees a reused number).  The handler sets *cancel and then calls
 * shutdown(*fd_slot, SHUT_RDWR) (async-signal-safe): the blocked read ends
 * at once.  link_request checks *cancel after publishing the socket and
 * before any retry, so a signal between connect and the publication is not
 * lost either; while *cancel is set it returns -ECANCELED.  Both NULL
 * (the default) turns this off, e.g. for a last flush after the stop.
 */
void link_set_cancel(struct link *l, volatile sig_atomic_t *cancel, volatile sig_atomic_t *fd_slot);

/* Close the connection (if any). */
void link_close(struct link *l);

/* Close and free everything (creds wiped). */
void link_free(struct link *l);

/* "pinned CA certificates" helper: the PEM of every CA certificate in
 * `pem` that matches one of the pins (all of them become trust anchors, so
 * a backup CA's pin lets the agent follow a CA rollover), or NULL if none.
 * Malloc'd. */
char *link_pinned_ca_pem(const char *pem, size_t len, const char *const *pins, size_t n_pins);

#endif
