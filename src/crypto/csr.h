/*
 * csr.h: PKCS#10 certification requests (RFC 2986) for EC P-256 keys.
 *
 * Build: subject CN, optional SAN extension request (RFC 2985
 * extensionRequest), signed ECDSA-with-SHA256.  Parse: any well-formed
 * PKCS#10 with a P-256 key and an ecdsa-with-SHA256 self-signature (what
 * `openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256` writes); the
 * self-signature is verified as part of parsing, so a parsed request always
 * proves possession of its key.  The requested SANs are informational: the
 * CA decides what goes into the certificate.
 */
#ifndef STAVILY_CRYPTO_CSR_H
#define STAVILY_CRYPTO_CSR_H

#include <stddef.h>
#include "base/util.h"
#include "crypto/key.h"
#include "crypto/x509.h"

/* Largest CSR we accept (DER). */
#define CSR_MAX_DER  (16u * 1024)

enum csr_err {
	CSR_E_DER = -6001,       /* not a well-formed PKCS#10 structure */
	CSR_E_VERSION = -6002,   /* version other than 0 (v1) */
	CSR_E_KEY = -6003,       /* key is not EC P-256 */
	CSR_E_SIGALG = -6004,    /* signature algorithm is not ecdsa-with-SHA256 */
	CSR_E_SIGNATURE = -6005, /* self-signature does not verify */
	CSR_E_PEM = -6006,       /* no CERTIFICATE REQUEST in the PEM text */
	CSR_E_ARG = -6007,       /* invalid CN or SANs when building */
	CSR_E_TOO_BIG = -6008,   /* over CSR_MAX_DER */
};

struct csr_info {
	char subject[X509_MAX_NAME_STR];
	char cn[65];
	unsigned char pub[65];            /* uncompressed P-256 point */
	struct x509_sans sans;            /* requested DNS/IP/URI SANs */
};

/* Build and sign a request.  `sans` may be NULL.  *der is malloc'd. */
int csr_build(const struct key_p256 *key, const char *cn, const struct x509_sans *sans,
    unsigned char **der, size_t *len) WARN_UNUSED;

/* Parse DER and verify the self-signature.  Returns 0 or a csr_err. */
int csr_parse(const unsigned char *der, size_t len, struct csr_info *out) WARN_UNUSED;

/* Extract the DER of the first "CERTIFICATE REQUEST" (or "NEW CERTIFICATE
 * REQUEST") PEM object; *der is malloc'd.  Returns 0, CSR_E_PEM or
 * CSR_E_TOO_BIG. */
int csr_der_from_pem(const char *text, size_t len, unsigned char **der, size_t *dlen) WARN_UNUSED;

const char *csr_strerror(int err);

#endif
