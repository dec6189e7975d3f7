/*
 * x509_internal.h: pieces of x509.c shared with csr.c (PKCS#10 reuses the
 * SubjectPublicKeyInfo, AlgorithmIdentifier, GeneralNames and signing code).
 * Not for other subsystems.
 */
#ifndef STAVILY_CRYPTO_X509_INTERNAL_H
#define STAVILY_CRYPTO_X509_INTERNAL_H

#include "crypto/der.h"
#include "crypto/x509.h"

/* SubjectPublicKeyInfo: *is_p256 set and pub filled for EC P-256 keys;
 * other key types parse with *is_p256 = 0.  Returns 0 or X509_E_DER/KEY. */
int x509_parse_spki(const struct der_cursor *parent, const struct der_tlv *spki,
    int *is_p256, unsigned char pub[65]) WARN_UNUSED;

/* AlgorithmIdentifier: *is_ecdsa256 when ecdsa-with-SHA256 without
 * parameters.  Returns 0 or X509_E_DER. */
int x509_parse_sigalg(const struct der_cursor *parent, const struct der_tlv *alg,
    int *is_ecdsa256) WARN_UNUSED;

/* GeneralNames SEQUENCE -> DNS/URI/IP entries (others skipped). */
int x509_parse_general_names(const struct der_cursor *parent, const struct der_tlv *seq,
    struct x509_sans *sans) WARN_UNUSED;

/* True when every entry is DNS/URI (printable ASCII) or IP (4/16 octets)
 * of a sane length: callers may fill struct x509_sans by hand. */
int x509_sans_valid(const struct x509_sans *sans);

/* Write GeneralNames for `sans` (check x509_sans_valid first). */
void x509_put_sans(struct der_buf *b, const struct x509_sans *sans);
/* Write SubjectPublicKeyInfo for a P-256 point / a Name with optional O. */
void x509_put_spki(struct der_buf *b, const unsigned char pub[65]);
void x509_put_name(struct der_buf *b, const char *org, const char *cn);

/* Name -> text (see x509_info.subject) and the first CN. */
int x509_parse_name(const struct der_cursor *parent, const struct der_tlv *name, char *out,
    size_t cap, char *cn, size_t cncap) WARN_UNUSED;

/* SHA-256 + ECDSA P-256 over `tbs`, wrapped as SEQUENCE { tbs,
 * ecdsa-with-SHA256, BIT STRING sig }.  *der malloc'd. */
int x509_sign_wrap(const struct key_p256 *key, const unsigned char *tbs, size_t tbs_len,
    unsigned char **der, size_t *len) WARN_UNUSED;

/* Verify an ECDSA-SHA256 DER signature over `data` with a P-256 point.  The
 * signature must be strict DER (no second encoding of one signature). */
int x509_ecdsa_verify(const unsigned char *data, size_t len, const unsigned char *sig,
    size_t siglen, const unsigned char pub[65]) WARN_UNUSED;

/* Name-part check used for CN and O: 1..64 bytes, no control characters. */
int x509_name_part_ok(const char *s, int required);

#endif
