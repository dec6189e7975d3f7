/* see errname.h */
#include "tls/errname.h"

#include <stdio.h>
#include <bearssl.h>

#define E(x) { x, #x }

static const struct {
	int code;
	const char *name;
} names[] = {
	E(BR_ERR_OK),
	E(BR_ERR_BAD_PARAM),
	E(BR_ERR_BAD_STATE),
	E(BR_ERR_UNSUPPORTED_VERSION),
	E(BR_ERR_BAD_VERSION),
	E(BR_ERR_BAD_LENGTH),
	E(BR_ERR_TOO_LARGE),
	E(BR_ERR_BAD_MAC),
	E(BR_ERR_NO_RANDOM),
	E(BR_ERR_UNKNOWN_TYPE),
	E(BR_ERR_UNEXPECTED),
	E(BR_ERR_BAD_CCS),
	E(BR_ERR_BAD_ALERT),
	E(BR_ERR_BAD_HANDSHAKE),
	E(BR_ERR_OVERSIZED_ID),
	E(BR_ERR_BAD_CIPHER_SUITE),
	E(BR_ERR_BAD_COMPRESSION),
	E(BR_ERR_BAD_FRAGLEN),
	E(BR_ERR_BAD_SECRENEG),
	E(BR_ERR_EXTRA_EXTENSION),
	E(BR_ERR_BAD_SNI),
	E(BR_ERR_BAD_HELLO_DONE),
	E(BR_ERR_LIMIT_EXCEEDED),
	E(BR_ERR_BAD_FINISHED),
	E(BR_ERR_RESUME_MISMATCH),
	E(BR_ERR_INVALID_ALGORITHM),
	E(BR_ERR_BAD_SIGNATURE),
	E(BR_ERR_WRONG_KEY_USAGE),
	E(BR_ERR_NO_CLIENT_AUTH),
	E(BR_ERR_IO),
	E(BR_ERR_X509_OK),
	E(BR_ERR_X509_INVALID_VALUE),
	E(BR_ERR_X509_TRUNCATED),
	E(BR_ERR_X509_EMPTY_CHAIN),
	E(BR_ERR_X509_INNER_TRUNC),
	E(BR_ERR_X509_BAD_TAG_CLASS),
	E(BR_ERR_X509_BAD_TAG_VALUE),
	E(BR_ERR_X509_INDEFINITE_LENGTH),
	E(BR_ERR_X509_EXTRA_ELEMENT),
	E(BR_ERR_X509_UNEXPECTED),
	E(BR_ERR_X509_NOT_CONSTRUCTED),
	E(BR_ERR_X509_NOT_PRIMITIVE),
	E(BR_ERR_X509_PARTIAL_BYTE),
	E(BR_ERR_X509_BAD_BOOLEAN),
	E(BR_ERR_X509_OVERFLOW),
	E(BR_ERR_X509_BAD_DN),
	E(BR_ERR_X509_BAD_TIME),
	E(BR_ERR_X509_UNSUPPORTED),
	E(BR_ERR_X509_LIMIT_EXCEEDED),
	E(BR_ERR_X509_WRONG_KEY_TYPE),
	E(BR_ERR_X509_BAD_SIGNATURE),
	E(BR_ERR_X509_TIME_UNKNOWN),
	E(BR_ERR_X509_EXPIRED),
	E(BR_ERR_X509_DN_MISMATCH),
	E(BR_ERR_X509_BAD_SERVER_NAME),
	E(BR_ERR_X509_CRITICAL_EXTENSION),
	E(BR_ERR_X509_NOT_CA),
	E(BR_ERR_X509_FORBIDDEN_KEY_USAGE),
	E(BR_ERR_X509_WEAK_PUBLIC_KEY),
	E(BR_ERR_X509_NOT_TRUSTED),
	E(TLS_ERR_PIN_MISMATCH),
	E(TLS_ERR_WRONG_EKU),
	E(TLS_ERR_REVOKED),
	E(TLS_ERR_NOT_YET_VALID),
	E(TLS_ERR_BAD_CERT),
	E(TLS_ERR_NO_IDENTITY),
	E(TLS_ERR_RESUME_UNKNOWN),
};

static const struct {
	int code;
	const char *name;
} alerts[] = {
	{ 0, "close_notify" }, { 10, "unexpected_message" }, { 20, "bad_record_mac" },
	{ 22, "record_overflow" }, { 30, "decompression_failure" }, { 40, "handshake_failure" },
	{ 42, "bad_certificate" }, { 43, "unsupported_certificate" },
	{ 44, "certificate_revoked" }, { 45, "certificate_expired" },
	{ 46, "certificate_unknown" }, { 47, "illegal_parameter" }, { 48, "unknown_ca" },
	{ 49, "access_denied" }, { 50, "decode_error" }, { 51, "decrypt_error" },
	{ 70, "protocol_version" }, { 71, "insufficient_security" }, { 80, "internal_error" },
	{ 90, "user_canceled" }, { 100, "no_renegotiation" }, { 110, "unsupported_extension" },
	{ 112, "unrecognized_name" }, { 116, "certificate_required" },
	{ 120, "no_application_protocol" },
};

const char *tls_alert_name(int alert)
{
	for (size_t i = 0; i < sizeof(alerts) / sizeof(alerts[0]); i++)
		if (alerts[i].code == alert)
			return alerts[i].name;
	return NULL;
}

const char *tls_err_name(int err, char buf[TLS_ERRNAME_MAX])
{
	if (err >= BR_ERR_RECV_FATAL_ALERT && err < BR_ERR_RECV_FATAL_ALERT + 256) {
		const char *a = tls_alert_name(err - BR_ERR_RECV_FATAL_ALERT);
		if (a)
			snprintf(buf, TLS_ERRNAME_MAX, "BR_ERR_RECV_FATAL_ALERT(%s)", a);
		else
			snprintf(buf, TLS_ERRNAME_MAX, "BR_ERR_RECV_FATAL_ALERT(%d)",
			    err - BR_ERR_RECV_FATAL_ALERT);
		return buf;
	}
	if (err >= BR_ERR_SEND_FATAL_ALERT && err < BR_ERR_SEND_FATAL_ALERT + 256) {
		const char *a = tls_alert_name(err - BR_ERR_SEND_FATAL_ALERT);
		if (a)
			snprintf(buf, TLS_ERRNAME_MAX, "BR_ERR_SEND_FATAL_ALERT(%s)", a);
		else
			snprintf(buf, TLS_ERRNAME_MAX, "BR_ERR_SEND_FATAL_ALERT(%d)",
			    err - BR_ERR_SEND_FATAL_ALERT);
		return buf;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (names[i].code == err) {
			snprintf(buf, TLS_ERRNAME_MAX, "%s", names[i].name);
			return buf;
		}
	}
	snprintf(buf, TLS_ERRNAME_MAX, "BR_ERR_UNKNOWN(%d)", err);
	return buf;
}
