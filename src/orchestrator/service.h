/*
 * service.h: `stavily orchestrator run`: the orchestrator process.
 *
 * Loads the configuration, the CA and server credentials of the state
 * directory (orch_init.h), recovers the registry (registry.h), opens the
 * audit log (STATE/audit.log) and the event log (logging.file or stderr),
 * binds the enrollment listener (TLS, no client certificates) and the admin
 * unix socket (0600), and serves them from orchestrator.workers epoll loops
 * (threads; netloop.h, whose LOCKING RULES the handlers here rely on) until
 * SIGTERM/SIGINT (drain, exit 0).  SIGHUP reopens the event log file.
 * The endpoints are documented in docs/protocol.md.
 */
#ifndef STAVILY_ORCHESTRATOR_SERVICE_H
#define STAVILY_ORCHESTRATOR_SERVICE_H

#include <stddef.h>

/* Enrollment request bodies: a CSR is ~1 KiB of PEM. */
#define ORCH_ENROLL_MAX_BODY  (64 * 1024)
#define ORCH_ADMIN_MAX_BODY   (64 * 1024)
#define ORCH_JSON_MAX_DEPTH   4
/* Event batches, job args and results, heartbeat status: deeper objects. */
#define ORCH_JSON_DEEP_DEPTH  8
#define ORCH_JOB_MAX_TIMEOUT  86400
#define ORCH_JOB_POLICY_MAX   32     /* keys in a job's "policy" */
#define ORCH_JOB_POLICY_VALUE_MAX 256 /* bytes of one string value */
#define ORCH_MAX_POLL_WAIT    50        /* seconds a job long-poll may wait */
#define ORCH_POLL_MAX_JOBS    16        /* jobs per long-poll answer */
#define ORCH_MAX_ACKS         64        /* acked_commands read per heartbeat */
#define ORCH_PRUNE_INTERVAL_MS (3600u * 1000)
/* last_seen snapshots (registry_seen_flush): at most this often (orchfix) */
#define ORCH_SEEN_FLUSH_MS    (60u * 1000)
#define ORCH_DEFAULT_TOKEN_TTL 86400

/* Run until SIGTERM.  Returns an exit status (0, 1, 78 for configuration
 * errors); prints its own errors on stderr. */
int orch_run(const char *config_path, const char *const *overrides, size_t n_overrides);

#endif
