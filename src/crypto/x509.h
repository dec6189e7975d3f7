/*
 * x509.h: X.509 v3 certificates: SPKI pins, PEM chains for BearSSL, parsing
 * and inspection, issuing (CA and leaf), chain verification.
 *
 * Only what Stavily's PKI uses is supported for issuing: EC P-256 keys and
 * ECDSA-with-SHA256 signatures.  The parser reads any well-formed v1/v3
 * certificate (RSA or EC keys), so that `stavily cert show` and pins work on
 * other CAs' certificates too.  The profile written is in docs/pki.md.
 *
 * Errors: functions return 0 or a negative enum x509_err (or -errno for
 * file and allocation failures; x509 errors are below -5000).
 */
#ifndef STAVILY_CRYPTO_X509_H
#define STAVILY_CRYPTO_X509_H

#include <stddef.h>
#include <stdint.h>
#include <bearssl.h>
#include "base/util.h"
#include "crypto/key.h"

/* ---- pins ---------------------------------------------------------------
 * A pin is SHA-256 over the DER SubjectPublicKeyInfo (as kubeadm's
 * --discovery-token-ca-cert-hash), written "sha256:<64 lower-case hex>". */
#define X509_PIN_LEN      32
#define X509_PIN_STR_LEN  72   /* "sha256:" + 64 + NUL fits */

enum x509_err {
	X509_E_DER = -5001,        /* not DER / not a certificate structure */
	X509_E_VERSION = -5002,    /* version other than v1 or v3 */
	X509_E_EXT = -5003,        /* malformed or duplicate extension */
	X509_E_CRITICAL = -5004,   /* unknown critical extension (RFC 5280 4.2) */
	X509_E_TOO_MANY = -5005,   /* over a cap (SANs, chain length, name size) */
	X509_E_PIN = -5006,        /* malformed pin string */
	X509_E_PEM = -5007,        /* no CERTIFICATE in the PEM text / bad PEM */
	X509_E_KEY = -5008,        /* public key not EC P-256 where one is required */
	X509_E_SIG = -5009,        /* signature algorithm not ECDSA-SHA256, or bad */
	X509_E_ARG = -5010,        /* invalid argument (SAN text, validity, ...) */
};

/* SHA-256 of the SubjectPublicKeyInfo of a DER certificate.  Returns 0 or
 * X509_E_DER. */
int x509_spki_pin(const unsigned char *cert_der, size_t len, unsigned char pin[32]) WARN_UNUSED;

/* Writes "sha256:<64 hex>" and a NUL.  Returns 0. */
int x509_pin_format(const unsigned char pin[32], char out[72]);

/* Parses "sha256:<64 hex>" (hex in either case, nothing else around it).
 * Returns 0 or X509_E_PIN. */
int x509_pin_parse(const char *s, unsigned char pin[32]) WARN_UNUSED;

/* ---- chains for BearSSL -------------------------------------------------- */
#define X509_MAX_CHAIN      8
#define X509_MAX_PEM_FILE   (256u * 1024)

/* Certificates in file order (leaf first for a chain file).  data pointers
 * are malloc'd and owned by the struct. */
struct x509_chain {
	br_x509_certificate certs[X509_MAX_CHAIN];
	size_t n;
};

/* Every CERTIFICATE object of PEM text (other labels ignored; at least one
 * required).  Returns 0, X509_E_PEM, X509_E_TOO_MANY or -ENOMEM. */
int x509_chain_from_pem(const char *text, size_t len, struct x509_chain *out) WARN_UNUSED;
/* Same from a file (capped at X509_MAX_PEM_FILE); also -errno. */
int x509_chain_load_file(const char *path, struct x509_chain *out) WARN_UNUSED;
void x509_chain_free(struct x509_chain *c);

/* Trust anchors for br_x509_minimal built from certificates (usually the CA
 * file): subject DN and public key are copied (malloc'd); BR_X509_TA_CA is
 * set for certificates with basicConstraints CA:TRUE. */
struct x509_anchors {
	br_x509_trust_anchor ta[X509_MAX_CHAIN];
	size_t n;
};
int x509_anchors_from_chain(const struct x509_chain *c, struct x509_anchors *out) WARN_UNUSED;
int x509_anchors_load_file(const char *path, struct x509_anchors *out) WARN_UNUSED;
void x509_anchors_free(struct x509_anchors *a);

/* ---- subject alternative names ----------------------------------------- */
enum x509_san_type { X509_SAN_DNS = 2, X509_SAN_URI = 6, X509_SAN_IP = 7 };
#define X509_MAX_SANS     16
#define X509_MAX_SAN_LEN  255

struct x509_san {
	int type;                          /* enum x509_san_type */
	size_t len;
	char val[X509_MAX_SAN_LEN + 1];    /* text (NUL-terminated), or 4/16 raw IP bytes */
};
struct x509_sans {
	size_t n;
	struct x509_san san[X509_MAX_SANS];
};

/* Add a DNS name (LDH labels, optional leading "*."), a URI (printable
 * ASCII with a scheme) or an IP address (IPv4 or IPv6 text).  Returns 0,
 * X509_E_ARG or X509_E_TOO_MANY. */
int x509_sans_add_dns(struct x509_sans *s, const char *name) WARN_UNUSED;
int x509_sans_add_uri(struct x509_sans *s, const char *uri) WARN_UNUSED;
int x509_sans_add_ip(struct x509_sans *s, const char *ip) WARN_UNUSED;
/* "DNS:name", "IP:1.2.3.4", "URI:spiffe://..." into out (truncated to outlen). */
void x509_san_format(const struct x509_san *san, char *out, size_t outlen);

/* The agent identity URI: spiffe://<td>/tenant/<tenant>/agent/<id>.  Each
 * part must be non-empty [A-Za-z0-9._-] (the trust domain may also hold
 * '-' and '.').  Returns 0 or X509_E_ARG. */
int x509_agent_uri(const char *trust_domain, const char *tenant, const char *agent_id,
    char *out, size_t outlen) WARN_UNUSED;

/* ---- parsing ------------------------------------------------------------ */
#define X509_MAX_NAME_STR 512

/* keyUsage bits (RFC 5280 4.2.1.3, bit 0 first). */
#define X509_KU_DIGITAL_SIGNATURE  (1u << 0)
#define X509_KU_NON_REPUDIATION    (1u << 1)
#define X509_KU_KEY_ENCIPHERMENT   (1u << 2)
#define X509_KU_DATA_ENCIPHERMENT  (1u << 3)
#define X509_KU_KEY_AGREEMENT      (1u << 4)
#define X509_KU_KEY_CERT_SIGN      (1u << 5)
#define X509_KU_CRL_SIGN           (1u << 6)
/* extKeyUsage purposes we know. */
#define X509_EKU_SERVER_AUTH  (1u << 0)
#define X509_EKU_CLIENT_AUTH  (1u << 1)
#define X509_EKU_ANY          (1u << 2)
#define X509_EKU_OTHER        (1u << 3)

struct x509_info {
	int version;                       /* 1 or 3 */
	unsigned char serial[20];
	size_t serial_len;
	char subject[X509_MAX_NAME_STR];   /* "CN=x, O=y" (RFC 4514-ish, our order) */
	char issuer[X509_MAX_NAME_STR];
	char subject_cn[65];               /* empty if none */
	int64_t not_before, not_after;     /* Unix seconds */
	int sig_ecdsa_sha256;              /* signatureAlgorithm is ecdsa-with-SHA256 */
	int key_p256;                      /* SPKI is id-ecPublicKey / prime256v1 */
	unsigned char pub[65];             /* the point, when key_p256 */
	int has_bc, bc_critical, is_ca, pathlen;   /* pathlen -1 when absent */
	int has_ku, ku_critical;
	unsigned ku;
	int has_eku, eku_critical;
	unsigned eku;
	int has_ski, has_aki;
	unsigned char ski[20], aki[20];    /* first 20 bytes (ours are 20) */
	size_t ski_len, aki_len;
	int has_san, san_critical;
	struct x509_sans sans;
	unsigned char pin[32];
	/* Views into the parsed input (valid while it lives). */
	const unsigned char *tbs, *sig, *spki, *subject_der, *issuer_der;
	size_t tbs_len, sig_len, spki_len, subject_der_len, issuer_der_len;
};

/* Parse a DER certificate.  A negative serial number (RFC 5280 4.1.2.2
 * requires a positive one) is X509_E_DER.  Unknown non-critical extensions are skipped;
 * unknown critical ones fail with X509_E_CRITICAL.  SAN entries of other
 * types than DNS/IP/URI are skipped. */
int x509_parse(const unsigned char *der, size_t len, struct x509_info *out) WARN_UNUSED;

/* Check `cert`'s signature with an issuer's P-256 public point.  Returns 0 or
 * X509_E_SIG. */
int x509_check_signature(const struct x509_info *cert, const unsigned char pub[65]) WARN_UNUSED;

/* ---- issuing ------------------------------------------------------------ */
enum x509_profile { X509_PROFILE_CA = 0, X509_PROFILE_CLIENT = 1, X509_PROFILE_SERVER = 2 };

/* notBefore is backdated this much to tolerate clock skew between hosts. */
#define X509_BACKDATE_SECONDS 300

struct x509_issue_req {
	int profile;                  /* enum x509_profile */
	const char *cn;               /* subject CN (1..64 bytes, UTF-8) */
	const char *org;              /* optional subject O, or NULL */
	const unsigned char *pub;     /* 65-byte uncompressed P-256 point (leaf) */
	const struct x509_sans *sans; /* leaf SANs, may be NULL */
	int64_t not_before;           /* Unix seconds: use x509_validity() */
	int64_t not_after;
};

/* not_before = now - X509_BACKDATE_SECONDS, not_after = now + days. */
void x509_validity(int64_t now, unsigned days, int64_t *not_before, int64_t *not_after);

/* Self-signed CA certificate for `key` (req->profile must be
 * X509_PROFILE_CA; req->pub and sans are ignored).  *der is malloc'd. */
int x509_issue_ca(const struct key_p256 *key, const struct x509_issue_req *req,
    unsigned char **der, size_t *len) WARN_UNUSED;

/* Leaf certificate (client or server profile) signed by the CA whose
 * certificate is `ca_der` and key `ca_key` (they must match: X509_E_KEY).
 * The issuer DN is copied byte for byte from the CA's subject, AKI is the
 * CA's SKI.  *der is malloc'd. */
int x509_issue_leaf(const struct key_p256 *ca_key, const unsigned char *ca_der,
    size_t ca_len, const struct x509_issue_req *req, unsigned char **der,
    size_t *len) WARN_UNUSED;

/* ---- verification -------------------------------------------------------- */
enum x509_verify_result {
	X509_V_OK = 0,
	X509_V_EXPIRED,          /* now > notAfter */
	X509_V_NOT_YET_VALID,    /* now < notBefore */
	X509_V_UNKNOWN_CA,       /* chain does not end at a trust anchor */
	X509_V_BAD_SIGNATURE,    /* a signature in the chain does not verify */
	X509_V_WRONG_EKU,        /* leaf lacks the required extendedKeyUsage */
	X509_V_NOT_CA,           /* an intermediate is not a CA */
	X509_V_MALFORMED,        /* a certificate does not parse */
	X509_V_OTHER,            /* another BearSSL error (see br_err) */
};

/* Validate `chain` (leaf first) against `anchors` at time `now` (Unix
 * seconds) with br_x509_minimal, then require every bit of `want_eku`
 * (X509_EKU_*; 0 for none) in the leaf's extendedKeyUsage (anyExtendedKeyUsage
 * does not count: we only issue explicit purposes).  *br_err (may be NULL)
 * receives BearSSL's error code.  Returns an enum x509_verify_result. */
int x509_verify_chain(const struct x509_chain *chain, const struct x509_anchors *anchors,
    int64_t now, unsigned want_eku, int *br_err);

/* Stable names: "ok", "expired", "not_yet_valid", "unknown_ca",
 * "bad_signature", "wrong_eku", "not_ca", "malformed", "other". */
const char *x509_verify_name(int result);

/* BearSSL X.509 error code name ("BR_ERR_X509_EXPIRED", ...), or NULL. */
const char *x509_br_err_name(int err);

/* Days since 0000-01-01 and seconds in the day, as br_x509_minimal_set_time
 * wants them. */
void x509_br_time(int64_t unix_seconds, uint32_t *days, uint32_t *seconds);

const char *x509_strerror(int err);

#endif
