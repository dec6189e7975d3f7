/*
 * errname.h: names for BearSSL's error codes and for the codes our X.509
 * verifier adds, as they appear in tls_handshake_failed and
 * certificate_validation_failed events ("br_err": 54, "br_err_name":
 * "BR_ERR_X509_EXPIRED").
 *
 * BearSSL's ranges (bearssl_ssl.h, bearssl_x509.h): 0..31 engine errors,
 * 32..63 X.509 errors, 256 + alert for a fatal alert received from the peer,
 * 512 + alert for a fatal alert we sent.  Our verifier's own refusals use
 * 96..111 (TLS_ERR_*), a range BearSSL leaves unused: the engine stores any
 * non-zero end_chain() result as its error and aborts the handshake.
 */
#ifndef STAVILY_TLS_ERRNAME_H
#define STAVILY_TLS_ERRNAME_H

#include <stddef.h>

#define TLS_ERR_PIN_MISMATCH   96   /* no certificate of the chain matches a pin */
#define TLS_ERR_WRONG_EKU      97   /* leaf lacks serverAuth / clientAuth */
#define TLS_ERR_REVOKED        98   /* revocation callback refused the serial */
#define TLS_ERR_NOT_YET_VALID  99   /* BearSSL says EXPIRED for both directions */
#define TLS_ERR_BAD_CERT      100   /* a certificate we could not parse or too big */
#define TLS_ERR_NO_IDENTITY   101   /* client certificate without a URI SAN */
#define TLS_ERR_RESUME_UNKNOWN 102  /* resumed session whose identity we lost */

/* TLS alert description names (RFC 5246 7.2), or NULL. */
const char *tls_alert_name(int alert);

/*
 * Name of an error code: "BR_ERR_OK", "BR_ERR_BAD_MAC", "BR_ERR_X509_EXPIRED",
 * "TLS_ERR_PIN_MISMATCH", ...  Alert codes are written into `buf` as
 * "BR_ERR_RECV_FATAL_ALERT(handshake_failure)" or "...SEND_FATAL_ALERT(..)";
 * unknown codes as "BR_ERR_UNKNOWN(n)".  Returns `buf`, which must hold
 * TLS_ERRNAME_MAX bytes.
 */
#define TLS_ERRNAME_MAX 64
const char *tls_err_name(int err, char buf[TLS_ERRNAME_MAX]);

#endif
