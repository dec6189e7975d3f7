/*
 * verify.h: our X.509 verifier for TLS peers, a br_x509_class that wraps
 * br_x509_minimal.
 *
 * br_x509_minimal validates the chain (signatures, names, basicConstraints,
 * keyUsage, dates against the time we pass it explicitly) and, on the client
 * side, the server name.  Around it we add what BearSSL does not do:
 *   - extendedKeyUsage: the leaf must list serverAuth (when we are the
 *     client) or clientAuth (when we are the server); the extension must be
 *     present and anyExtendedKeyUsage does not count (our CA always writes
 *     explicit purposes, DESIGN.md section 3);
 *   - SPKI pins: with a non-empty pin set, a handshake passes only if a
 *     certificate of the validated path, or the trust anchor that path ends
 *     at, has one of the pins.  Certificates a peer appends after the one
 *     BearSSL anchored are ignored (BearSSL ignores them too), so appending
 *     the pinned CA's public certificate to a chain from another trusted CA
 *     does not satisfy the pin.  The anchor is identified as BearSSL does (the
 *     issuer DN) and, for P-256 anchors, by checking the signature with the
 *     pinned anchor's key, so two anchors with one DN (a CA key rollover) are
 *     told apart;
 *   - a revocation callback on the leaf's serial;
 *   - extraction of the leaf's URI SAN (the agent identity);
 *   - one distinct, named reason per failure (BearSSL reports expired and
 *     not-yet-valid with the same code; we tell them apart from the dates);
 *   - the server name check (client side), instead of BearSSL's, which
 *     falls back to the subject CN when a certificate has no SAN extension,
 *     lets "*.com" match and knows no iPAddress SANs.  Ours (RFC 6125 6.4): dNSName SANs
 *     only, ASCII case-insensitive, one trailing dot ignored, a wildcard only
 *     as the whole left-most label of a name with at least three labels and
 *     matching exactly one non-empty label; an IP literal (https://10.0.0.5/)
 *     matches only an iPAddress SAN with the same octets, never a dNSName
 *     spelled "10.0.0.5" (RFC 6125 6.2.1, RFC 5280 4.2.1.6);
 *   - fail closed: the peer's key (get_pkey) is handed to the engine only
 *     after end_chain() has decided OK for this very chain.
 *
 * Each certificate is buffered (up to TLS_VERIFY_MAX_CERT bytes, heap,
 * freed at end_cert) so that it can be parsed with crypto/x509.h.  Nothing is
 * held between handshakes, so an idle connection pays only for the struct.
 */
#ifndef STAVILY_TLS_VERIFY_H
#define STAVILY_TLS_VERIFY_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <bearssl.h>
#include "base/util.h"
#include "crypto/x509.h"

#define TLS_VERIFY_MAX_CERT     (16 * 1024)
/* Certificates of a peer chain we validate before an anchor is reached;
 * longer chains fail (BR_ERR_X509_LIMIT_EXCEEDED) and the excess is not
 * given to br_x509_minimal, which would check one signature per
 * certificate: a cheap way for an anonymous peer to burn our CPU. */
#define TLS_VERIFY_MAX_CHAIN    10
#define TLS_VERIFY_MAX_PINS     8
#define TLS_MAX_IDENTITY        255
#define TLS_MAX_SERIAL          20

enum tls_verify_reason {
	TLS_VR_OK = 0,
	TLS_VR_EXPIRED,
	TLS_VR_NOT_YET_VALID,
	TLS_VR_UNKNOWN_CA,
	TLS_VR_PIN_MISMATCH,
	TLS_VR_HOSTNAME_MISMATCH,
	TLS_VR_WRONG_EKU,
	TLS_VR_REVOKED,
	TLS_VR_NO_CERTIFICATE,
	TLS_VR_NO_IDENTITY,
	TLS_VR_BAD_CERTIFICATE,   /* unparsable, too large, bad signature, ... */
};

/* Stable names for events: "ok", "expired", "not_yet_valid", "unknown_ca",
 * "pin_mismatch", "hostname_mismatch", "wrong_eku", "revoked",
 * "no_certificate", "no_identity", "bad_certificate". */
const char *tls_verify_reason_name(int reason);

/* Which purpose the peer's certificate must carry. */
enum tls_peer_role { TLS_PEER_SERVER = 1, TLS_PEER_CLIENT = 2 };

/* Return non-zero if the serial (big-endian, as in the certificate) is
 * revoked. */
typedef int (*tls_revoked_fn)(void *arg, const unsigned char *serial, size_t len);

/*
 * What to trust; shared by many connections, owned by the caller and
 * immutable while connections use it.
 */
struct tls_trust {
	struct x509_anchors anchors;
	/* Per anchor: its SPKI pin and subject DN (for the anchor pin check). */
	unsigned char anchor_pin[X509_MAX_CHAIN][32];
	unsigned char *anchor_dn[X509_MAX_CHAIN];
	size_t anchor_dn_len[X509_MAX_CHAIN];
	unsigned char pins[TLS_VERIFY_MAX_PINS][32];
	size_t n_pins;                     /* 0: no pin check */
	enum tls_peer_role peer_role;
	int require_identity;              /* fail without a URI SAN */
	tls_revoked_fn revoked;            /* may be NULL */
	void *revoked_arg;
	/* Validation time; NULL means time(NULL).  Tests fix it. */
	time_t (*now)(void);
};

/*
 * Load the CA bundle (PEM, one or more certificates) as trust anchors.
 * Returns 0 or a negative x509_err / -errno.  Free with tls_trust_free.
 */
int tls_trust_load_ca_file(struct tls_trust *t, const char *path,
    enum tls_peer_role peer_role) WARN_UNUSED;
/* Same from PEM text. */
int tls_trust_load_ca_pem(struct tls_trust *t, const char *pem, size_t len,
    enum tls_peer_role peer_role) WARN_UNUSED;
/* Add a pin ("sha256:<64 hex>").  Returns 0, X509_E_PIN or -ENOSPC. */
int tls_trust_add_pin(struct tls_trust *t, const char *pin) WARN_UNUSED;
void tls_trust_free(struct tls_trust *t);

/* The outcome of one chain validation. */
struct tls_verify_result {
	int reason;                        /* enum tls_verify_reason */
	int br_err;                        /* code end_chain returned (0 = ok) */
	char identity[TLS_MAX_IDENTITY + 1];   /* leaf URI SAN, "" if none */
	unsigned char serial[TLS_MAX_SERIAL];
	size_t serial_len;
	int64_t not_after;                 /* leaf expiry (Unix seconds) */
};

/* One per connection.  `vtable` must stay first (BearSSL passes
 * &v->vtable around as the context). */
struct tls_verifier {
	const br_x509_class *vtable;
	br_x509_minimal_context minimal;
	const struct tls_trust *trust;
	int invoked;                       /* a chain was seen this handshake */
	struct tls_verify_result res;
	/* per-chain state */
	unsigned char *cert;               /* buffered certificate (heap) */
	size_t cert_len, cert_cap;
	int cert_overflow;
	size_t n_certs;
	int pin_ok, leaf_eku_ok, leaf_bad, any_not_yet, any_expired;
	int cert_extra;                    /* sent after the chain reached an anchor:
	                                      ignored by BearSSL, so by us too */
	int64_t now;
	int decided;                       /* end_chain ran for the current chain */
	unsigned char expect_ip[16];       /* IP-literal server name, raw octets */
	size_t expect_ip_len;              /* 0: the name (if any) is a DNS name */
	char expect_dns[254];              /* DNS server name for this chain, "" if none */
	int host_ok;                       /* the leaf carries the expected name */
	size_t n_path;                     /* certificates given to br_x509_minimal */
	int too_long;                      /* over TLS_VERIFY_MAX_CHAIN: rest skipped */
};

/* Prepare `v` for use with `trust` (which must outlive it). */
void tls_verifier_init(struct tls_verifier *v, const struct tls_trust *trust);

/*
 * Tell the verifier which server name the client expects (client side; the
 * engine passes the same name to start_chain).  Returns 1 if `name` is an
 * IPv4/IPv6 literal: the caller must then give the engine NULL as the server
 * name (no SNI: RFC 6066 3 forbids literal addresses there), and the
 * verifier matches iPAddress SANs itself.  Returns 0 for a DNS name.
 */
int tls_verifier_set_server_name(struct tls_verifier *v, const char *name);

/*
 * Does dNSName SAN `pat` (plen bytes, as in the certificate) match server
 * name `name`?  The rules are in the comment at the top.  1 or 0.
 */
int tls_dns_name_match(const char *pat, size_t plen, const char *name);

/* Release what a handshake interrupted mid-certificate left behind. */
void tls_verifier_release(struct tls_verifier *v);

#endif
