/*
 * config.h: the typed configuration of agent and orchestrator.
 *
 * One schema, two syntaxes (DESIGN §7): YAML (a strict subset, yaml.c) and
 * INI (inih).  Both are parsed into the same tree of keys with line numbers,
 * then checked against the schema (schema.c) and turned into `struct config`.
 *
 * CONTRACT NOTE: other subsystems (sandbox, agent, orchestrator) code against
 * this header.  Field names and the functions below are stable; new fields
 * may be added.
 */
#ifndef STAVILY_CONFIG_CONFIG_H
#define STAVILY_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/util.h"

/* A list of strings as written (each NUL-terminated, owned by the config). */
struct strlist {
	char **v;
	size_t n;
};

enum sandbox_net { SANDBOX_NET_NONE, SANDBOX_NET_RESTRICTED, SANDBOX_NET_FULL };
enum sandbox_on_violation { SANDBOX_VIOLATION_DENY, SANDBOX_VIOLATION_KILL };
enum sandbox_ns_mode { SANDBOX_NS_AUTO, SANDBOX_NS_OFF, SANDBOX_NS_REQUIRED };
/* sandbox.user_notification: a test/diagnostic switch (docs/sandbox.md). */
enum sandbox_user_notif_mode { SANDBOX_USER_NOTIF_ON, SANDBOX_USER_NOTIF_OFF };

/*
 * One sandbox policy section ("sandbox" for actions, "sensor.sandbox" for
 * sensors).  Defaults: the brief's block (256MB, 0.5 core, restricted
 * network, /tmp and /var/log/stavily, the brief's syscall lists) plus the
 * documented defaults of the added keys.  Zero means "no limit" where noted.
 */
struct config_sandbox {
	uint64_t memory_limit;             /* bytes, 0 = none */
	double cpu_limit;                  /* share of one core (0.5); 0 = none */
	enum sandbox_net network_access;
	struct strlist filesystem_access;  /* "PATH", "PATH:ro" or "PATH:rw", as written */
	struct strlist allowed_syscalls;   /* names/aliases/@groups; empty = no allowlist */
	struct strlist blocked_syscalls;   /* names/aliases/@groups; always wins */
	uint64_t wall_timeout_ms;          /* 0 = none */
	uint64_t max_output;               /* stdout+stderr bytes, 0 = none */
	uint64_t max_processes;            /* 0 = none */
	uint64_t max_open_files;           /* 0 = none */
	uint64_t max_file_size;            /* bytes, 0 = none */
	enum sandbox_on_violation on_violation;
	uint64_t max_violations;           /* kill after N reported violations, 0 = never */
	char *user;                        /* "uid:gid" used when started as root; NULL = 65534:65534 */
	enum sandbox_ns_mode namespaces;
	struct strlist require;            /* layers that must apply: seccomp, landlock, namespaces, ... */
	bool report_fs_denials;            /* report unauthorized_filesystem_access (costs a notify round trip per open) */
	uint64_t tmp_size;                 /* size cap of the private /tmp tmpfs, bytes */
	char *cgroup;                      /* cgroup v2 site: "auto" (default), "off" or an absolute path (sandbox/cgroup.h) */
	enum sandbox_user_notif_mode user_notification; /* off: force the ERRNO+LOG fallback (tests) */
	/* Added by the config subsystem: */
	bool fs_default_ro;                /* filesystem_access entries without :ro/:rw are read-only
	                                      (true for sensor.sandbox, false for sandbox) */
};

/* authentication_methods.agents (the brief's block). */
struct config_authentication {
	char *primary;             /* canonical id: "mtls" */
	char *secondary;           /* canonical id: "basic" (token enrollment over pinned TLS) */
	uint64_t cert_lifetime_ms; /* certificate_rotation: "Automatic 90-day rotation" = 90d */
};

/* security.agent_auth */
struct config_agent_auth {
	bool require_tls;              /* always true: false is rejected as insecure */
	bool validate_hostname;        /* always true: false is rejected as insecure */
	uint64_t max_failed_attempts;  /* failures per source before a lockout */
};

/* encryption_in_transit.agent_communication, as canonical ids. */
struct config_transit {
	char *protocol;    /* "mtls" */
	char *validation;  /* "pinning" (chain + hostname + SPKI pin) */
	char *fallback;    /* "none": there is no plaintext path */
};

/* Detection rules of DESIGN §6 (order = this enum). */
enum config_rule {
	CONFIG_RULE_AUTHENTICATION_FAILURES_EXCEEDED,
	CONFIG_RULE_CERTIFICATE_VALIDATION_FAILED,
	CONFIG_RULE_UNUSUAL_CONNECTION_PATTERN,
	CONFIG_RULE_RESOURCE_LIMIT_EXCEEDED,
	CONFIG_RULE_BLOCKED_SYSCALL_ATTEMPT,
	CONFIG_RULE_UNAUTHORIZED_FILESYSTEM_ACCESS,
	CONFIG_RULE_TLS_HANDSHAKE_FAILED,
	CONFIG_RULE_CERTIFICATE_EXPIRING,
	CONFIG_RULE_CONNECTION_TIMEOUT_PATTERN,
	CONFIG_RULE_COUNT
};

struct config_detection {
	bool enabled[CONFIG_RULE_COUNT];
};

enum config_log_level {  /* same order as enum event_level in event/event.h */
	CONFIG_LOG_DEBUG, CONFIG_LOG_INFO, CONFIG_LOG_WARN, CONFIG_LOG_ERROR, CONFIG_LOG_CRITICAL
};

/* logging */
struct config_logging {
	enum config_log_level level;  /* minimum level, default INFO */
	char *file;                   /* event log file, NULL = stderr only */
	char *format;                 /* "json" (the only format) */
};

enum config_agent_type { CONFIG_AGENT_ACTION, CONFIG_AGENT_SENSOR };

/* sensor (sensor agents): the monitoring-focused controls applied to every
 * sensor plugin's output (agent/sensor.h); a plugin's manifest may only make
 * them stricter (docs/agent.md "Sensor agents"). */
struct config_sensor {
	uint64_t interval_ms;            /* between runs of interval sensors; 0 = agent.heartbeat_interval */
	uint64_t rate_limit;             /* events per second per plugin, 0 = none */
	uint64_t burst;                  /* token bucket size (>= 1) */
	uint64_t max_event_size;         /* bytes of one event line */
	uint64_t report_window_ms;       /* drops are reported at most once per window */
	struct strlist redact_fields;    /* dotted paths replaced by "[REDACTED]" */
	struct strlist pseudonymize_fields; /* dotted paths replaced by keyed hashes */
};

/* agent */
struct config_agent {
	enum config_agent_type type;
	char *id;                        /* agent id ([A-Za-z0-9._-], <= 64), NULL = unset */
	char *tenant;                    /* same syntax, NULL = unset */
	char *state_dir;                 /* keys, certificates, spool (0700) */
	char *plugins_dir;
	char *orchestrator_url;          /* https:// only, NULL = unset */
	char *enroll_url;                /* https:// only, NULL = unset */
	struct strlist ca_pins;          /* "sha256:<64 hex>" SPKI pins */
	char *server_name;               /* name checked against the orchestrator certificate; NULL = URL host */
	char *token_file;                /* file holding the installation token */
	char *token;                     /* SECRET: installation token inline; never printed */
	uint64_t max_concurrent_jobs;
	uint64_t heartbeat_interval_ms;
	char *user;                      /* "uid:gid" of the network worker; NULL = 65534:65534 */
	uint64_t spool_max_size;         /* agent.spool_max_size: the spool's cap (store/spool.h), bytes */
	struct config_sensor sensor;     /* section "sensor" (sensor agents) */
};

/* orchestrator */
struct config_orchestrator {
	char *name;
	char *state_dir;
	char *listen_enroll;             /* "host:port" of the enrollment listener */
	char *listen_agent;              /* "host:port" of the mTLS agent listener */
	char *admin_socket;              /* unix socket path (0600) */
	char *trust_domain;              /* SPIFFE trust domain in agent certificates */
	uint64_t events_retention_ms;
	uint64_t lockout_duration_ms;
	uint64_t failure_window_ms;
	uint64_t max_connections;
	uint64_t max_connections_per_source;
	char *workers;                   /* event loops: "auto" (one per CPU) or "1".."64" */
};

/* privacy */
struct config_privacy {
	bool pseudonymize_addresses;     /* replace peer addresses in events by keyed hashes */
};

/* One configuration error, reported as "FILE:LINE: message". */
struct config_error {
	char *file;
	int line;        /* 0 when the error has no line (e.g. --set) */
	char *msg;
};

struct config_errors {
	struct config_error *v;
	size_t n;
};

struct cJSON;  /* <cjson/cJSON.h>, needed only by config_to_json() callers */
struct config; /* opaque to most callers; see config_*() accessors, or include config_impl.h */

/*
 * Load `path` (syntax chosen by extension: .yaml/.yml or .ini; NULL = the
 * defaults alone), apply `overrides` ("dotted.key=value" strings, as from
 * --set, applied after the file and checked by the same schema), validate
 * everything.  On success returns 0 and *out is a new config (free with
 * config_free).  On failure returns -1, *out is NULL and `errs` holds every
 * error found (not only the first).  `errs` must start zeroed ({0}) or hold
 * earlier errors (new ones are appended); free with config_errors_free.
 */
int config_load(const char *path, const char *const *overrides, size_t n_overrides,
    struct config **out, struct config_errors *errs) WARN_UNUSED;

/* Free a config (NULL is fine); secret values are wiped first. */
void config_free(struct config *cfg);

/* Accessors for the other sections (never NULL for a loaded config; owned
 * by cfg).  config_impl.h has the whole struct for code that wants it. */
const struct config_authentication *config_get_authentication(const struct config *cfg);
const struct config_agent_auth *config_get_agent_auth(const struct config *cfg);
const struct config_transit *config_get_transit(const struct config *cfg);
const struct config_detection *config_get_detection(const struct config *cfg);
const struct config_logging *config_get_logging(const struct config *cfg);
const struct config_agent *config_get_agent(const struct config *cfg);
const struct config_orchestrator *config_get_orchestrator(const struct config *cfg);
const struct config_privacy *config_get_privacy(const struct config *cfg);

/* The snake_case id of a detection rule ("blocked_syscall_attempt"). */
const char *config_rule_name(enum config_rule rule);
bool config_rule_enabled(const struct config *cfg, enum config_rule rule);

/*
 * The effective configuration as a new cJSON object (caller frees with
 * cJSON_Delete): every key of the schema with defaults filled in, sizes in
 * bytes (numbers), durations as strings ("90d"), secrets as "<redacted>"
 * (or null when unset).  NULL on allocation failure.
 */
struct cJSON *config_to_json(const struct config *cfg) WARN_UNUSED;

/*
 * The sandbox policy named `section` ("sandbox" when NULL; "sensor.sandbox"
 * for the stricter sensor default).  NULL if there is no such sandbox section.
 * Owned by `cfg`.
 */
const struct config_sandbox *config_sandbox(const struct config *cfg, const char *section);

/* Print every error as "FILE:LINE: message" (or "FILE: message" when the
 * error has no line; errors of --set overrides print as "--set: message"). */
void config_errors_print(const struct config_errors *errs, FILE *f);
void config_errors_free(struct config_errors *errs);

#endif
