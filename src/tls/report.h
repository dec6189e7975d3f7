/*
 * report.h: turning a TLS failure into security events (DESIGN.md section 6).
 *
 * Every failed handshake raises `tls_handshake_failed` (WARN) with BearSSL's
 * error code and name; when the peer's certificate was the cause (chain, pin,
 * host name, EKU, dates, revocation, identity) `certificate_validation_failed`
 * (WARN) is raised as well, with the verifier's reason.  Details:
 *   {"peer": "127.0.0.1:4711", "server_name": "orch.example" (client side),
 *    "reason": "pin_mismatch", "br_err": 96, "br_err_name": "TLS_ERR_PIN_MISMATCH",
 *    "errno": 0, "errno_name": "ETIMEDOUT" (only when errno != 0)}
 * Failures after the handshake (I/O errors, truncation) are not reported
 * here: they are not handshake failures.
 */
#ifndef STAVILY_TLS_REPORT_H
#define STAVILY_TLS_REPORT_H

#include <cjson/cJSON.h>
#include "event/event.h"
#include "tls/conn.h"

/* The details object above (caller owns it), or NULL on allocation failure.
 * `peer` and `server_name` may be NULL (then omitted). */
cJSON *tls_failure_details(const struct tls_failure *f, const char *peer,
    const char *server_name);

/* Emit the events above for a failure `f` (nothing when it is not a
 * handshake failure).  Returns the number of events emitted. */
int tls_failure_emit(struct event_log *log, const struct tls_failure *f, const char *peer,
    const char *server_name);

#endif
