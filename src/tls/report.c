/* see report.h */
#include "tls/report.h"

#include <errno.h>
#include <string.h>
#include "tls/verify.h"

/* musl has no strerrorname_np: the errnos the TLS layer reports. */
static const char *errno_name(int e)
{
	switch (e) {
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNRESET: return "ECONNRESET";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EPIPE: return "EPIPE";
	case EIO: return "EIO";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case ENOENT: return "ENOENT";
	case ENOMEM: return "ENOMEM";
	default: return "other";
	}
}

cJSON *tls_failure_details(const struct tls_failure *f, const char *peer,
    const char *server_name)
{
	cJSON *d = cJSON_CreateObject();

	if (!d)
		return NULL;
	if ((peer && !cJSON_AddStringToObject(d, "peer", peer)) ||
	    (server_name && server_name[0] &&
	        !cJSON_AddStringToObject(d, "server_name", server_name)) ||
	    !cJSON_AddStringToObject(d, "reason", tls_verify_reason_name(f->verify_reason)) ||
	    !cJSON_AddNumberToObject(d, "br_err", f->br_err) ||
	    !cJSON_AddStringToObject(d, "br_err_name", f->br_err_name[0] ? f->br_err_name : "BR_ERR_OK") ||
	    !cJSON_AddNumberToObject(d, "errno", f->sys_errno) ||
	    (f->sys_errno && !cJSON_AddStringToObject(d, "errno_name", errno_name(f->sys_errno)))) {
		cJSON_Delete(d);
		return NULL;
	}
	return d;
}

int tls_failure_emit(struct event_log *log, const struct tls_failure *f, const char *peer,
    const char *server_name)
{
	int n = 0;

	if (!f->in_handshake)
		return 0;
	event_emit(log, EVENT_WARN, "tls_handshake_failed", tls_failure_details(f, peer, server_name));
	n++;
	if (tls_failure_is_cert(f)) {
		event_emit(log, EVENT_WARN, "certificate_validation_failed",
		    tls_failure_details(f, peer, server_name));
		n++;
	}
	return n;
}
