/*
 * ca.h: the issuing CA as the orchestrator uses it: a directory holding
 * ca.key (PKCS#8, 0600) and ca.pem (self-signed certificate), creation,
 * loading (key and certificate must match), and issuing from a CSR.
 *
 * Errors: 0, -errno (files), or the key_err / x509_err / csr_err codes of
 * the modules below (all negative and disjoint); ca_strerror names any.
 */
#ifndef STAVILY_CRYPTO_CA_H
#define STAVILY_CRYPTO_CA_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"
#include "crypto/csr.h"
#include "crypto/key.h"
#include "crypto/x509.h"

#define CA_KEY_FILE   "ca.key"
#define CA_CERT_FILE  "ca.pem"

struct ca {
	struct key_p256 key;
	unsigned char *cert_der;      /* malloc'd */
	size_t cert_len;
	unsigned char pin[X509_PIN_LEN];   /* of the CA certificate's SPKI */
};

/* Create `dir` (0700, parents too) with a new P-256 key and a self-signed
 * certificate (CN `cn`, valid `days` from `now`, backdated).  Refuses with
 * -EEXIST when dir/ca.key exists: a CA is never silently replaced.  On
 * success `out` holds the CA (ca_free it). */
int ca_create(const char *dir, const char *cn, unsigned days, int64_t now, struct ca *out) WARN_UNUSED;

/* Load dir/ca.key and dir/ca.pem; X509_E_KEY if the certificate is not a
 * CA certificate for that key. */
int ca_load(const char *dir, struct ca *out) WARN_UNUSED;

/* Issue a leaf for a PKCS#10 request (DER).  The request is parsed and its
 * self-signature verified (csr_err codes); the certificate gets the
 * request's public key, req->cn if set or else the request's CN, and
 * exactly req->sans (the request's own SAN wishes are ignored: the caller
 * decides identities).  req->pub is ignored; profile and validity as in
 * x509_issue_leaf.  If `csr_out` is not NULL it receives the parsed request. */
int ca_issue_csr(const struct ca *ca, const unsigned char *csr_der, size_t csr_len,
    const struct x509_issue_req *req, struct csr_info *csr_out, unsigned char **der,
    size_t *len) WARN_UNUSED;

/* Write one DER certificate as PEM to `path` atomically, mode 0644. */
int ca_save_cert_pem(const char *path, const unsigned char *der, size_t len) WARN_UNUSED;

/* PEM text of the CA certificate (malloc'd, NUL-terminated). */
int ca_cert_pem(const struct ca *ca, char **pem, size_t *len) WARN_UNUSED;

/* Wipe the key, free the certificate. */
void ca_free(struct ca *ca);

/* Message for any error code returned above. */
const char *ca_strerror(int err);

#endif
