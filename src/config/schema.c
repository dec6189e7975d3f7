/* see schema.h */
#include "config/schema.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/units.h"
#include "sandbox/syscalls.h"

#define OFF(field) offsetof(struct config, field)
#define FIELD(cfg, k, type) ((type *)(void *)((char *)(cfg) + (k)->off))
#define CFIELD(cfg, k, type) ((const type *)(const void *)((const char *)(cfg) + (k)->off))

/* ---- detection rules (DESIGN §6) --------------------------------------- */

static const char *const rule_groups[] = {
	"authentication_anomalies", "sandbox_violations", "communication_anomalies",
};

static const struct {
	const char *id;
	const char *sentence;
	int group;
} rules[CONFIG_RULE_COUNT] = {
	{ "authentication_failures_exceeded", "Multiple failed authentication attempts", 0 },
	{ "certificate_validation_failed", "Certificate validation failures", 0 },
	{ "unusual_connection_pattern", "Unusual connection patterns", 0 },
	{ "resource_limit_exceeded", "Resource limit exceedances", 1 },
	{ "blocked_syscall_attempt", "Blocked system call attempts", 1 },
	{ "unauthorized_filesystem_access", "Unauthorized filesystem access", 1 },
	{ "tls_handshake_failed", "TLS handshake failures", 2 },
	{ "certificate_expiring", "Certificate expiry warnings", 2 },
	{ "connection_timeout_pattern", "Connection timeout patterns", 2 },
};

int
schema_rule_lookup(const char *text, int *group)
{
	int i;

	for (i = 0; i < CONFIG_RULE_COUNT; i++) {
		if (strcmp(text, rules[i].id) == 0 || strcasecmp(text, rules[i].sentence) == 0) {
			*group = rules[i].group;
			return i;
		}
	}
	return -1;
}

const char *
config_rule_name(enum config_rule rule)
{
	return (unsigned)rule < CONFIG_RULE_COUNT ? rules[rule].id : "unknown";
}

/* ---- value checks: NULL when fine, else a message ---------------------- */

static bool
all_of(const char *s, const char *set, size_t min, size_t max)
{
	size_t n = strlen(s);

	return n >= min && n <= max && strspn(s, set) == n;
}

#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

static const char *
check_ident(const char *v)
{
	return all_of(v, ALNUM "._-", 1, 64) ? NULL
	    : "expected 1 to 64 characters from A-Z a-z 0-9 . _ -";
}

static const char *
check_hostname(const char *v)
{
	return all_of(v, ALNUM ".-", 1, 253) ? NULL : "expected a DNS name (A-Z a-z 0-9 . -)";
}

static const char *
check_path(const char *v)
{
	return v[0] != '\0' ? NULL : "empty path";
}

static const char *
check_uidgid(const char *v)
{
	const char *colon = strchr(v, ':');
	uint64_t uid, gid;
	char buf[24];

	if (colon == NULL || colon == v || (size_t)(colon - v) >= sizeof(buf))
		return "expected \"uid:gid\" (numbers)";
	memcpy(buf, v, (size_t)(colon - v));
	buf[colon - v] = '\0';
	/* (uid_t)-1 means "unchanged" to setresuid(2): never a real id. */
	if (units_parse_uint(buf, &uid) < 0 || uid >= 0xffffffffULL ||
	    units_parse_uint(colon + 1, &gid) < 0 || gid >= 0xffffffffULL)
		return "expected \"uid:gid\" (numbers below 4294967295)";
	/* These identities exist to shed root; root would defeat them. */
	if (uid == 0 || gid == 0)
		return "insecure value: uid and gid must not be 0 (root)";
	return NULL;
}

static const char *
check_hostport(const char *v)
{
	const char *colon = strrchr(v, ':');
	uint64_t port;

	if (colon == NULL || colon == v)
		return "expected \"host:port\"";
	if (v[0] == '[' && colon[-1] != ']')
		return "expected \"[ipv6]:port\"";
	if (units_parse_uint(colon + 1, &port) < 0 || port == 0 || port > 65535)
		return "port must be 1 to 65535";
	return NULL;
}

/* orchestrator.workers: "auto" or 1..64 (NETLOOP_MAX_WORKERS) */
static const char *
check_workers(const char *v)
{
	uint64_t n;

	if (strcmp(v, "auto") == 0)
		return NULL;
	if (units_parse_uint(v, &n) < 0 || n < 1 || n > 64)
		return "expected \"auto\" or a number of event loops from 1 to 64";
	return NULL;
}

static const char *
check_https(const char *v)
{
	if (strncasecmp(v, "http://", 7) == 0)
		return "insecure value: plaintext http:// is not supported (use https://)";
	if (strncasecmp(v, "https://", 8) != 0 || v[8] == '\0' || v[8] == '/')
		return "expected an https:// URL with a host";
	return NULL;
}

static const char *
check_pin(const char *v)
{
	if (strncmp(v, "sha256:", 7) != 0 || !all_of(v + 7, "0123456789abcdefABCDEF", 64, 64))
		return "expected an SPKI pin \"sha256:<64 hex digits>\"";
	return NULL;
}

/* A sensor event field: a dotted path of keys ("user.email"), as
 * agent/sensor.h takes them (at most 128 characters, no empty component). */
static const char *
check_field_path(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > 128 || v[0] == '.' || v[n - 1] == '.' || strstr(v, "..") != NULL)
		return "expected a dotted field path (1 to 128 characters, e.g. user.email)";
	return NULL;
}

static const char *
check_fs_entry(const char *v)
{
	const char *colon = strchr(v, ':');
	size_t n = colon ? (size_t)(colon - v) : strlen(v);
	const char *p;

	if (v[0] != '/')
		return "expected an absolute path, optionally with :ro or :rw";
	if (colon != NULL && strcmp(colon, ":ro") != 0 && strcmp(colon, ":rw") != 0)
		return "the only suffixes are :ro and :rw";
	/* ".." would let an allowlist entry name a place it does not spell. */
	for (p = v; (p = strstr(p, "..")) != NULL && (size_t)(p - v) < n; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p + 2 == v + n))
			return "'..' components are not allowed";
	return NULL;
}

static const char *
check_syscall(const char *v)
{
	return sandbox_syscall_name_valid(v) ? NULL
	    : "unknown system call (not a libseccomp x86-64 name, an alias or a @group)";
}

static const char *const layer_names[] = {
	"seccomp", "landlock", "namespaces", "no_new_privs", "rlimits", "cgroup", "seccomp_user_notif", NULL,
};

static const char *
check_layer(const char *v)
{
	size_t i;

	for (i = 0; layer_names[i] != NULL; i++)
		if (strcmp(v, layer_names[i]) == 0)
			return NULL;
	return "unknown layer (seccomp, landlock, namespaces, no_new_privs, rlimits, cgroup, seccomp_user_notif)";
}

/* sandbox.cgroup: auto, off or an absolute path (no ".." components). */
static const char *
check_cgroup(const char *v)
{
	const char *p;

	if (strcmp(v, "auto") == 0 || strcmp(v, "off") == 0)
		return NULL;
	if (v[0] != '/')
		return "expected auto, off or the absolute path of a cgroup v2 directory";
	for (p = v; (p = strstr(p, "..")) != NULL; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return "'..' components are not allowed";
	if (strlen(v) >= 480)
		return "path too long";
	return NULL;
}

/* ---- enums and choices -------------------------------------------------- */

static const char *const net_names[] = { "none", "restricted", "full", NULL };
static const char *const violation_names[] = { "deny", "kill", NULL };
static const char *const ns_names[] = { "auto", "off", "required", NULL };
static const char *const user_notif_names[] = { "on", "off", NULL };
static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", NULL };
static const char *const agent_type_names[] = { "action", "sensor", NULL };

static const struct schema_choice primary_choices[] = {
	{ "mtls", "mTLS with client certificates" }, { NULL, NULL },
};
static const struct schema_choice secondary_choices[] = {
	{ "basic", "Basic auth for initial registration" }, { NULL, NULL },
};
static const struct schema_choice validation_choices[] = {
	{ "pinning", "Certificate pinning and validation" }, { NULL, NULL },
};
static const struct schema_choice format_choices[] = {
	{ "json", "JSON lines" }, { NULL, NULL },
};
static const struct schema_choice fallback_choices[] = {
	{ "none", "No fallback to unencrypted communication" }, { NULL, NULL },
};

/* ---- the table ------------------------------------------------------------ */

#define DUR_MAX (100ULL * 365 * 86400000ULL)  /* 100 years: beyond that it is a typo */

/* Both sandbox sections share these rows; only a few defaults differ. */
#define SANDBOX_KEYS(S, F, NET, FS) \
	{ .section = S, .name = "memory_limit", .type = ST_SIZE, .off = OFF(F.memory_limit), .def = "256MB", .max = UINT64_MAX, .desc = "address-space/memory cap of a plugin (0 = none)" }, \
	{ .section = S, .name = "cpu_limit", .type = ST_FRACTION, .off = OFF(F.cpu_limit), .def = "0.5", .max = 1024, .desc = "share of one CPU core (0.5 = half a core; 0 = none)" }, \
	{ .section = S, .name = "network_access", .type = ST_ENUM, .off = OFF(F.network_access), .def = NET, .names = net_names, .desc = "none: no network; restricted: connect only where policy allows; full: unrestricted" }, \
	{ .section = S, .name = "filesystem_access", .type = ST_LIST, .off = OFF(F.filesystem_access), .def = FS, .check = check_fs_entry, .desc = "absolute paths the plugin may reach, each optionally :ro or :rw (without a suffix: read-write in sandbox, read-only in sensor.sandbox); '..' components are refused" }, \
	{ .section = S, .name = "allowed_syscalls", .type = ST_LIST, .off = OFF(F.allowed_syscalls), .def = "read,write,open,close,stat", .check = check_syscall, .desc = "system calls allowed in addition to the sandbox's base set: libseccomp x86-64 names, aliases (exec, fork, open, stat) or @groups; unknown names are errors" }, \
	{ .section = S, .name = "blocked_syscalls", .type = ST_LIST, .off = OFF(F.blocked_syscalls), .def = "exec,fork,socket,bind", .check = check_syscall, .desc = "system calls that are always denied and reported (wins over allowed_syscalls)" }, \
	{ .section = S, .name = "wall_timeout", .type = ST_DURATION, .off = OFF(F.wall_timeout_ms), .def = "60s", .max = DUR_MAX, .desc = "wall-clock limit of one plugin run (0 = none)" }, \
	{ .section = S, .name = "max_output", .type = ST_SIZE, .off = OFF(F.max_output), .def = "1MB", .max = UINT64_MAX, .desc = "cap on stdout+stderr bytes kept (0 = none)" }, \
	{ .section = S, .name = "max_processes", .type = ST_UINT, .off = OFF(F.max_processes), .def = "32", .max = 65536, .desc = "processes/threads (0 = none)" }, \
	{ .section = S, .name = "max_open_files", .type = ST_UINT, .off = OFF(F.max_open_files), .def = "64", .max = 1000, .desc = "open file descriptors (at most 1000, below the descriptor the plugin is started from; 0 = that maximum)" }, \
	{ .section = S, .name = "max_file_size", .type = ST_SIZE, .off = OFF(F.max_file_size), .def = "64MB", .max = UINT64_MAX, .desc = "largest file a plugin may write (0 = none)" }, \
	{ .section = S, .name = "on_violation", .type = ST_ENUM, .off = OFF(F.on_violation), .def = "deny", .names = violation_names, .desc = "blocked system call: deny (EPERM, reported) or kill the plugin" }, \
	{ .section = S, .name = "max_violations", .type = ST_UINT, .off = OFF(F.max_violations), .def = "100", .max = UINT64_MAX, .desc = "kill the plugin after this many reported violations (0 = never)" }, \
	{ .section = S, .name = "user", .type = ST_STRING, .off = OFF(F.user), .def = NULL, .check = check_uidgid, .desc = "\"uid:gid\" plugins run as when the agent is root (unset = 65534:65534)" }, \
	{ .section = S, .name = "namespaces", .type = ST_ENUM, .off = OFF(F.namespaces), .def = "auto", .names = ns_names, .desc = "auto: use namespaces where the kernel allows; off; required: fail if unavailable" }, \
	{ .section = S, .name = "require", .type = ST_LIST, .off = OFF(F.require), .def = NULL, .check = check_layer, .desc = "layers that must apply or the run fails (seccomp, landlock, namespaces, no_new_privs, rlimits, cgroup, seccomp_user_notif)" }, \
	{ .section = S, .name = "report_fs_denials", .type = ST_BOOL, .off = OFF(F.report_fs_denials), .def = "true", .desc = "report unauthorized_filesystem_access events (one notification round trip per open)" }, \
	{ .section = S, .name = "tmp_size", .type = ST_SIZE, .off = OFF(F.tmp_size), .def = "64MB", .max = UINT64_MAX, .desc = "size of the plugin's private /tmp" }, \
	{ .section = S, .name = "user_notification", .type = ST_ENUM, .off = OFF(F.user_notification), .def = "on", .names = user_notif_names, .desc = "test/diagnostic switch: off forces the fallback without seccomp user notification (violations denied with EPERM and logged by the kernel, not reported)" }, \
	{ .section = S, .name = "cgroup", .type = ST_STRING, .off = OFF(F.cgroup), .def = "auto", .check = check_cgroup, .desc = "cgroup v2 for memory.max/cpu.max/pids.max: auto (our own cgroup when delegated to us, e.g. systemd Delegate=yes), off, or the absolute path of a delegated cgroup2 directory; missing controllers fall back to rlimits and the duty cycle" }

const struct schema_key schema_keys[] = {
	{ .section = "authentication_methods.agents", .name = "primary", .type = ST_CHOICE, .off = OFF(authentication.primary), .def = "mtls", .choices = primary_choices, .bad = "unsupported: agents authenticate only with mTLS client certificates", .desc = "how agents authenticate to the orchestrator" },
	{ .section = "authentication_methods.agents", .name = "secondary", .type = ST_CHOICE, .off = OFF(authentication.secondary), .def = "basic", .choices = secondary_choices, .bad = "unsupported: the only secondary method is Basic auth for initial registration", .desc = "how an agent proves its tenant once, to enroll" },
	{ .section = "authentication_methods.agents", .name = "certificate_rotation", .type = ST_ROTATION, .off = OFF(authentication.cert_lifetime_ms), .def = "90d", .min = 60000, .max = 825ULL * 86400000ULL, .desc = "client certificate lifetime: \"Automatic N-day rotation\" or a duration; renewed at about 2/3 of it" },
	{ .section = "security.agent_auth", .name = "require_tls", .type = ST_BOOL, .off = OFF(agent_auth.require_tls), .def = "true", .flags = SK_MUST_TRUE, .bad = "insecure value: require_tls cannot be false (there is no plaintext mode)", .desc = "must be true" },
	{ .section = "security.agent_auth", .name = "validate_hostname", .type = ST_BOOL, .off = OFF(agent_auth.validate_hostname), .def = "true", .flags = SK_MUST_TRUE, .bad = "insecure value: validate_hostname cannot be false (set agent.server_name instead)", .desc = "must be true" },
	{ .section = "security.agent_auth", .name = "max_failed_attempts", .type = ST_UINT, .off = OFF(agent_auth.max_failed_attempts), .def = "5", .min = 1, .max = 1000, .desc = "failed authentications per source (within orchestrator.failure_window) before a lockout and an authentication_failures_exceeded event" },
	SANDBOX_KEYS("sandbox", sandbox, "restricted", "/tmp,/var/log/stavily"),
	SANDBOX_KEYS("sensor.sandbox", sensor_sandbox, "none", "/var/log:ro"),
	{ .section = "encryption_in_transit.agent_communication", .name = "protocol", .type = ST_CHOICE, .off = OFF(transit.protocol), .def = "mtls", .choices = primary_choices, .bad = "unsupported: agent communication is always mTLS with client certificates", .desc = "transport between agent and orchestrator" },
	{ .section = "encryption_in_transit.agent_communication", .name = "validation", .type = ST_CHOICE, .off = OFF(transit.validation), .def = "pinning", .choices = validation_choices, .bad = "unsupported: validation is always certificate pinning and chain/hostname validation", .desc = "chain, hostname and SPKI pin checks" },
	{ .section = "encryption_in_transit.agent_communication", .name = "fallback", .type = ST_CHOICE, .off = OFF(transit.fallback), .def = "none", .choices = fallback_choices, .bad = "insecure value: fallback to unencrypted communication is not allowed (use \"No fallback to unencrypted communication\" or none)", .desc = "must be none" },
	{ .section = "detection_rules", .name = "authentication_anomalies", .type = ST_RULES, .off = OFF(detection), .min = 0, .desc = "rules enabled in this group (sentences of the brief or snake_case ids); absent group = all enabled" },
	{ .section = "detection_rules", .name = "sandbox_violations", .type = ST_RULES, .off = OFF(detection), .min = 1, .desc = "as above" },
	{ .section = "detection_rules", .name = "communication_anomalies", .type = ST_RULES, .off = OFF(detection), .min = 2, .desc = "as above" },
	{ .section = "logging", .name = "level", .type = ST_ENUM, .off = OFF(logging.level), .def = "INFO", .names = level_names, .desc = "minimum event level: DEBUG, INFO, WARN, ERROR, CRITICAL" },
	{ .section = "logging", .name = "file", .type = ST_PATH, .off = OFF(logging.file), .def = NULL, .check = check_path, .desc = "append events to this file (unset = stderr only)" },
	{ .section = "logging", .name = "format", .type = ST_CHOICE, .off = OFF(logging.format), .def = "json", .choices = format_choices, .bad = "unsupported format (the only one is json)", .desc = "json lines (the only format)" },
	{ .section = "agent", .name = "type", .type = ST_ENUM, .off = OFF(agent.type), .def = "action", .names = agent_type_names, .desc = "action (runs jobs) or sensor (streams monitoring output)" },
	{ .section = "agent", .name = "id", .type = ST_STRING, .off = OFF(agent.id), .def = NULL, .check = check_ident, .desc = "agent id requested at enrollment" },
	{ .section = "agent", .name = "tenant", .type = ST_STRING, .off = OFF(agent.tenant), .def = NULL, .check = check_ident, .desc = "tenant the installation token belongs to" },
	{ .section = "agent", .name = "state_dir", .type = ST_PATH, .off = OFF(agent.state_dir), .def = "/var/lib/stavily/agent", .check = check_path, .desc = "key, certificates and spool (created 0700)" },
	{ .section = "agent", .name = "plugins_dir", .type = ST_PATH, .off = OFF(agent.plugins_dir), .def = "/usr/lib/stavily/plugins", .check = check_path, .desc = "where plugins are looked up" },
	{ .section = "agent", .name = "orchestrator_url", .type = ST_STRING, .off = OFF(agent.orchestrator_url), .def = NULL, .check = check_https, .desc = "mTLS agent API (https:// only)" },
	{ .section = "agent", .name = "enroll_url", .type = ST_STRING, .off = OFF(agent.enroll_url), .def = NULL, .check = check_https, .desc = "enrollment listener (https:// only)" },
	{ .section = "agent", .name = "ca_pins", .type = ST_LIST, .off = OFF(agent.ca_pins), .def = NULL, .check = check_pin, .desc = "SPKI pins of the orchestrator CA (sha256:<hex>), several for rollover" },
	{ .section = "agent", .name = "server_name", .type = ST_STRING, .off = OFF(agent.server_name), .def = NULL, .check = check_hostname, .desc = "name the orchestrator certificate must carry (unset = URL host)" },
	{ .section = "agent", .name = "token_file", .type = ST_PATH, .off = OFF(agent.token_file), .def = NULL, .check = check_path, .desc = "file holding the installation token" },
	{ .section = "agent", .name = "token", .type = ST_STRING, .off = OFF(agent.token), .def = NULL, .flags = SK_SECRET, .desc = "installation token inline (secret: never printed; prefer token_file)" },
	{ .section = "agent", .name = "max_concurrent_jobs", .type = ST_UINT, .off = OFF(agent.max_concurrent_jobs), .def = "4", .min = 1, .max = 1024, .desc = "plugins run at the same time" },
	{ .section = "agent", .name = "heartbeat_interval", .type = ST_DURATION, .off = OFF(agent.heartbeat_interval_ms), .def = "30s", .min = 1000, .max = 86400000, .desc = "time between heartbeats" },
	{ .section = "agent", .name = "user", .type = ST_STRING, .off = OFF(agent.user), .def = NULL, .check = check_uidgid, .desc = "\"uid:gid\" of the unprivileged network worker (unset = 65534:65534)" },
	{ .section = "agent", .name = "spool_max_size", .type = ST_SIZE, .off = OFF(agent.spool_max_size), .def = "64MB", .min = 256 * 1024, .max = 1ULL << 40, .desc = "cap of the outgoing spool: past it the oldest sensor events are dropped (spool_overflow); job results and security events may use a quarter more, then new jobs wait (docs/storage.md)" },
	/* sensor controls (agent/sensor.h, docs/agent.md "Sensor agents") */
	{ .section = "sensor", .name = "interval", .type = ST_DURATION, .off = OFF(agent.sensor.interval_ms), .def = "0s", .max = 86400000, .desc = "time between runs of interval sensor plugins (0 = agent.heartbeat_interval)" },
	{ .section = "sensor", .name = "rate_limit", .type = ST_UINT, .off = OFF(agent.sensor.rate_limit), .def = "5000", .max = 10000000, .desc = "events per second one sensor plugin may send (excess dropped and reported; 0 = none)" },
	{ .section = "sensor", .name = "burst", .type = ST_UINT, .off = OFF(agent.sensor.burst), .def = "20000", .min = 1, .max = 100000000, .desc = "events a sensor plugin may send at once above rate_limit (token bucket size)" },
	{ .section = "sensor", .name = "max_event_size", .type = ST_SIZE, .off = OFF(agent.sensor.max_event_size), .def = "16KiB", .min = 2, .max = 1048576, .desc = "largest event line (bytes); longer ones are dropped and reported" },
	{ .section = "sensor", .name = "report_window", .type = ST_DURATION, .off = OFF(agent.sensor.report_window_ms), .def = "10s", .min = 100, .max = 86400000, .desc = "drops and invalid lines are reported at most once per window per plugin" },
	{ .section = "sensor", .name = "redact_fields", .type = ST_LIST, .off = OFF(agent.sensor.redact_fields), .def = NULL, .check = check_field_path, .desc = "event fields (dotted paths, e.g. user.email) replaced by \"[REDACTED]\" before events leave the host" },
	{ .section = "sensor", .name = "pseudonymize_fields", .type = ST_LIST, .off = OFF(agent.sensor.pseudonymize_fields), .def = NULL, .check = check_field_path, .desc = "event fields (dotted paths) replaced by a keyed hash (hmac-sha256) before events leave the host" },
	{ .section = "orchestrator", .name = "name", .type = ST_STRING, .off = OFF(orchestrator.name), .def = "orchestrator", .check = check_ident, .desc = "name of this orchestrator in events" },
	{ .section = "orchestrator", .name = "state_dir", .type = ST_PATH, .off = OFF(orchestrator.state_dir), .def = "/var/lib/stavily/orchestrator", .check = check_path, .desc = "CA, tenants, event store, audit log (0700)" },
	{ .section = "orchestrator", .name = "listen_enroll", .type = ST_STRING, .off = OFF(orchestrator.listen_enroll), .def = "0.0.0.0:8443", .check = check_hostport, .desc = "enrollment listener (server-authenticated TLS + Basic auth)" },
	{ .section = "orchestrator", .name = "listen_agent", .type = ST_STRING, .off = OFF(orchestrator.listen_agent), .def = "0.0.0.0:8444", .check = check_hostport, .desc = "mTLS agent listener ([::1]:8444 for IPv6)" },
	{ .section = "orchestrator", .name = "admin_socket", .type = ST_PATH, .off = OFF(orchestrator.admin_socket), .def = "/run/stavily/admin.sock", .check = check_path, .desc = "local admin API socket (0600)" },
	{ .section = "orchestrator", .name = "trust_domain", .type = ST_STRING, .off = OFF(orchestrator.trust_domain), .def = "stavily.local", .check = check_hostname, .desc = "SPIFFE trust domain in agent certificates" },
	{ .section = "orchestrator", .name = "events_retention", .type = ST_DURATION, .off = OFF(orchestrator.events_retention_ms), .def = "30d", .min = 3600000, .max = DUR_MAX, .desc = "how long stored events are kept" },
	{ .section = "orchestrator", .name = "lockout_duration", .type = ST_DURATION, .off = OFF(orchestrator.lockout_duration_ms), .def = "15m", .min = 1000, .max = 30ULL * 86400000ULL, .desc = "how long a source is locked out after max_failed_attempts" },
	{ .section = "orchestrator", .name = "failure_window", .type = ST_DURATION, .off = OFF(orchestrator.failure_window_ms), .def = "15m", .min = 1000, .max = 30ULL * 86400000ULL, .desc = "window in which failed attempts are counted" },
	{ .section = "orchestrator", .name = "max_connections", .type = ST_UINT, .off = OFF(orchestrator.max_connections), .def = "1024", .min = 1, .max = 1000000, .desc = "concurrent connections over all listeners" },
	{ .section = "orchestrator", .name = "max_connections_per_source", .type = ST_UINT, .off = OFF(orchestrator.max_connections_per_source), .def = "32", .min = 1, .max = 1000000, .desc = "concurrent connections from one address" },
	{ .section = "orchestrator", .name = "workers", .type = ST_STRING, .off = OFF(orchestrator.workers), .def = "auto", .check = check_workers, .desc = "event loops (threads): auto = one per CPU the process may use (max 64), or 1 to 64" },
	{ .section = "privacy", .name = "pseudonymize_addresses", .type = ST_BOOL, .off = OFF(privacy.pseudonymize_addresses), .def = "false", .desc = "replace peer addresses in events by keyed hashes" },
};
const size_t schema_n_keys = ARRAY_SIZE(schema_keys);

/* ---- storing values ------------------------------------------------------- */

static void
strlist_clear(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
set_string(char **field, const char *v, bool secret)
{
	char *s = strdup(v);

	if (s == NULL)
		return -ENOMEM;
	if (*field != NULL && secret)
		WIPE(*field, strlen(*field));
	free(*field);
	*field = s;
	return 0;
}

static void
fmt_bound(const struct schema_key *k, uint64_t v, char *buf, size_t len)
{
	if (k->type == ST_DURATION || k->type == ST_ROTATION)
		units_format_duration(v, buf, len);
	else if (k->type == ST_SIZE)
		units_format_size(v, buf, len);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* "Automatic 90-day rotation" (any case), else a duration. */
static int
parse_rotation(const char *v, uint64_t *ms)
{
	static const char pre[] = "automatic ", post[] = "-day rotation";
	char num[24];
	const char *p;
	size_t n;
	uint64_t days;
	int r;

	if (strncasecmp(v, pre, sizeof(pre) - 1) != 0)
		return units_parse_duration(v, ms);
	p = v + sizeof(pre) - 1;
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof(num) || strcasecmp(p + n, post) != 0)
		return -EINVAL;
	memcpy(num, p, n);
	num[n] = '\0';
	if ((r = units_parse_uint(num, &days)) < 0)
		return r;
	if (days > UINT64_MAX / 86400000ULL)
		return -ERANGE;
	*ms = days * 86400000ULL;
	return 0;
}

/* Store a scalar.  0, or -1 with msg (which never quotes a secret). */
static int
set_scalar(const struct schema_key *k, struct config *cfg, const char *v, char *msg, size_t len)
{
	uint64_t u = 0;
	double f;
	bool b;
	int r = 0;
	size_t i;
	const char *why;
	char lo[32], hi[32];

	switch (k->type) {
	case ST_BOOL:
		if (units_parse_bool(v, &b) < 0) {
			snprintf(msg, len, "expected true or false, not '%.60s'", v);
			return -1;
		}
		if ((k->flags & SK_MUST_TRUE) && !b) {
			snprintf(msg, len, "%s", k->bad);
			return -1;
		}
		*FIELD(cfg, k, bool) = b;
		return 0;
	case ST_UINT:
	case ST_SIZE:
	case ST_DURATION:
	case ST_ROTATION:
		r = k->type == ST_UINT ? units_parse_uint(v, &u)
		    : k->type == ST_SIZE ? units_parse_size(v, &u)
		    : k->type == ST_DURATION ? units_parse_duration(v, &u)
		    : parse_rotation(v, &u);
		if (r == -ERANGE) {
			snprintf(msg, len, "value '%.60s' overflows (too large)", v);
			return -1;
		}
		if (r < 0) {
			snprintf(msg, len, "invalid %s '%.60s'%s", k->type == ST_UINT ? "integer"
			    : k->type == ST_SIZE ? "size" : k->type == ST_DURATION ? "duration"
			    : "rotation", v,
			    k->type == ST_SIZE ? " (e.g. 256MB, 1GiB)"
			    : k->type == ST_DURATION ? " (e.g. 500ms, 30s, 5m, 90d)"
			    : k->type == ST_ROTATION ? " (e.g. \"Automatic 90-day rotation\" or 90d)" : "");
			return -1;
		}
		if (u < k->min || (k->max != 0 && u > k->max)) {
			fmt_bound(k, k->min, lo, sizeof(lo));
			fmt_bound(k, k->max, hi, sizeof(hi));
			snprintf(msg, len, "'%.60s' is out of range (%s to %s)", v, lo, hi);
			return -1;
		}
		*FIELD(cfg, k, uint64_t) = u;
		return 0;
	case ST_FRACTION:
		r = units_parse_fraction(v, &f);
		if (r < 0) {
			snprintf(msg, len, "invalid fraction '%.60s' (e.g. 0.5 or 50%%)", v);
			return -1;
		}
		if (f > (double)k->max) {
			snprintf(msg, len, "'%.60s' is out of range (0 to %llu)", v, (unsigned long long)k->max);
			return -1;
		}
		*FIELD(cfg, k, double) = f;
		return 0;
	case ST_ENUM:
		for (i = 0; k->names[i] != NULL; i++) {
			if (strcasecmp(v, k->names[i]) == 0) {
				*FIELD(cfg, k, int) = (int)i;
				return 0;
			}
		}
		r = snprintf(msg, len, "'%.60s' is not one of:", v);
		for (i = 0; k->names[i] != NULL && r > 0 && (size_t)r < len; i++)
			r += snprintf(msg + r, len - (size_t)r, " %s", k->names[i]);
		return -1;
	case ST_CHOICE:
		for (i = 0; k->choices[i].id != NULL; i++) {
			if (strcasecmp(v, k->choices[i].id) == 0 || strcasecmp(v, k->choices[i].sentence) == 0) {
				if (set_string(FIELD(cfg, k, char *), k->choices[i].id, false) < 0)
					goto nomem;
				return 0;
			}
		}
		snprintf(msg, len, "%s", k->bad);
		return -1;
	case ST_STRING:
	case ST_PATH:
		if (k->check != NULL && (why = k->check(v)) != NULL) {
			if (k->flags & SK_SECRET)
				snprintf(msg, len, "%s", why);
			else
				snprintf(msg, len, "'%.60s': %s", v, why);
			return -1;
		}
		if (set_string(FIELD(cfg, k, char *), v, k->flags & SK_SECRET) < 0)
			goto nomem;
		return 0;
	case ST_LIST:
	case ST_RULES:
		break;
	}
	snprintf(msg, len, "expected a list");
	return -1;
nomem:
	snprintf(msg, len, "out of memory");
	return -1;
}

/* Store a list (items already split).  Every bad item is reported through
 * `report`; returns the number of errors. */
typedef void (*report_fn)(void *ctx, size_t item, const char *msg);
#define NO_ITEM SIZE_MAX  /* the message is about the whole value */

static int
set_list(const struct schema_key *k, struct config *cfg, char **items, size_t n,
    report_fn report, void *ctx)
{
	char msg[300];
	const char *why;
	int errors = 0, rule, group;
	size_t i;

	if (k->type == ST_RULES) {
		bool on[CONFIG_RULE_COUNT] = { false };

		for (i = 0; i < n; i++) {
			rule = schema_rule_lookup(items[i], &group);
			if (rule < 0) {
				snprintf(msg, sizeof(msg), "unknown detection rule '%.80s'", items[i]);
				report(ctx, i, msg);
				errors++;
			} else if ((uint64_t)group != k->min) {
				snprintf(msg, sizeof(msg), "rule '%.80s' belongs to group %s, not %s",
				    items[i], rule_groups[group], rule_groups[k->min]);
				report(ctx, i, msg);
				errors++;
			} else {
				on[rule] = true;
			}
		}
		if (errors == 0) {
			struct config_detection *d = FIELD(cfg, k, struct config_detection);

			for (i = 0; i < CONFIG_RULE_COUNT; i++)
				if ((uint64_t)rules[i].group == k->min)
					d->enabled[i] = on[i];
		}
		return errors;
	}
	for (i = 0; i < n; i++) {
		if (k->check != NULL && (why = k->check(items[i])) != NULL) {
			snprintf(msg, sizeof(msg), "item '%.80s': %s", items[i], why);
			report(ctx, i, msg);
			errors++;
		}
	}
	if (errors == 0) {
		struct strlist *l = FIELD(cfg, k, struct strlist), nl = { NULL, 0 };

		if (n > 0 && (nl.v = calloc(n, sizeof(char *))) == NULL)
			goto nomem;
		for (nl.n = 0; nl.n < n; nl.n++)
			if ((nl.v[nl.n] = strdup(items[nl.n])) == NULL) {
				strlist_clear(&nl);
				goto nomem;
			}
		strlist_clear(l);
		*l = nl;
	}
	return errors;
nomem:
	report(ctx, NO_ITEM, "out of memory");
	return errors + 1;
}

/* Split "a, b ,c" into trimmed items (in place in `buf`).  Returns the item
 * count, or -1 for an empty item ("a,,b").  "" is the empty list. */
static int
split_commas(char *buf, char **items, size_t max)
{
	size_t n = 0;
	char *p = buf, *e;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	for (;;) {
		char *comma = strchr(p, ',');

		if (comma != NULL)
			*comma = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (*p == '\0' || n == max)
			return -1;
		items[n++] = p;
		if (comma == NULL)
			return (int)n;
		p = comma + 1;
	}
}

/* ---- defaults ------------------------------------------------------------- */

static void
ignore_report(void *ctx, size_t item, const char *msg)
{
	(void)item;
	(void)msg;
	*(int *)ctx = 1;
}

int
schema_defaults(struct config *cfg)
{
	char *items[16], buf[256], msg[200];
	size_t i;
	int n, bad = 0;

	schema_free_values(cfg);
	memset(cfg, 0, sizeof(*cfg));
	for (i = 0; i < CONFIG_RULE_COUNT; i++)
		cfg->detection.enabled[i] = true;
	cfg->sensor_sandbox.fs_default_ro = true;
	for (i = 0; i < schema_n_keys; i++) {
		const struct schema_key *k = &schema_keys[i];

		if (k->def == NULL)
			continue;
		if (k->type == ST_LIST) {
			snprintf(buf, sizeof(buf), "%s", k->def);
			n = split_commas(buf, items, ARRAY_SIZE(items));
			if (n < 0 || set_list(k, cfg, items, (size_t)n, ignore_report, &bad) != 0)
				return -ENOMEM; /* defaults are constants: only allocation can fail */
		} else if (set_scalar(k, cfg, k->def, msg, sizeof(msg)) < 0) {
			return -ENOMEM;
		}
	}
	return bad ? -ENOMEM : 0;
}

void
schema_free_values(struct config *cfg)
{
	size_t i;

	for (i = 0; i < schema_n_keys; i++) {
		const struct schema_key *k = &schema_keys[i];

		switch (k->type) {
		case ST_STRING:
		case ST_PATH:
		case ST_CHOICE: {
			char **s = FIELD(cfg, k, char *);

			if (*s != NULL && (k->flags & SK_SECRET))
				WIPE(*s, strlen(*s));
			free(*s);
			*s = NULL;
			break;
		}
		case ST_LIST:
			strlist_clear(FIELD(cfg, k, struct strlist));
			break;
		default:
			break;
		}
	}
}

/* ---- walking the tree ------------------------------------------------------- */

struct walk {
	const char *file;
	struct config *cfg;
	struct config_errors *errs;
	const struct cfg_node *node;   /* for report() */
	const char *path;
};

/* Report at the node's line, or at the line of item `item` of a block
 * sequence (so that a bad syscall name points at its own line). */
static void
report_item(void *ctx, size_t item, const char *msg)
{
	struct walk *w = ctx;
	int line = w->node->line;

	if (w->node->kind == CFG_SEQ && item < w->node->n)
		line = w->node->kids[item]->line;
	config_errors_add(w->errs, line ? w->file : NULL, line, "%s: %s", w->path, msg);
}

static void
report(struct walk *w, const char *msg)
{
	report_item(w, NO_ITEM, msg);
}

static const struct schema_key *
find_key(const char *section, const char *name)
{
	size_t i;

	for (i = 0; i < schema_n_keys; i++)
		if (strcmp(schema_keys[i].section, section) == 0 && strcmp(schema_keys[i].name, name) == 0)
			return &schema_keys[i];
	return NULL;
}

/* True if `path` names a section (a mapping of the schema). */
static bool
is_section(const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < schema_n_keys; i++) {
		const char *s = schema_keys[i].section;

		if (strncmp(s, path, n) == 0 && (s[n] == '\0' || s[n] == '.'))
			return true;
	}
	return false;
}

size_t
schema_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t prev[65], cur[65];

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		prev[j] = j;
	for (i = 1; i <= la; i++) {
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;

			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, (lb + 1) * sizeof(prev[0]));
	}
	return prev[lb];
}

/* Closest key or subsection name under `section` within a small distance. */
static bool
suggest(const char *section, const char *name, char *out, size_t len)
{
	size_t i, best = SIZE_MAX, n = strlen(section), limit = strlen(name) / 3;
	char cand[64];

	if (limit < 2)
		limit = 2;
	for (i = 0; i < schema_n_keys; i++) {
		const struct schema_key *k = &schema_keys[i];
		const char *s = k->section, *c;
		size_t d, cl;

		if (strcmp(s, section) == 0) {
			c = k->name;
			cl = strlen(c);
		} else if (n == 0 || (strncmp(s, section, n) == 0 && s[n] == '.')) {
			c = n == 0 ? s : s + n + 1;  /* first component below `section` */
			cl = strcspn(c, ".");
		} else {
			continue;
		}
		if (cl >= sizeof(cand))
			continue;
		memcpy(cand, c, cl);
		cand[cl] = '\0';
		d = schema_edit_distance(name, cand);
		if (d <= limit && d < best) {
			best = d;
			snprintf(out, len, "%s%s%s", section, n ? "." : "", cand);
		}
	}
	return best != SIZE_MAX;
}

#define LIST_MAX CFG_MAX_ENTRIES

static void
apply_key(struct walk *w, const struct schema_key *k, const struct cfg_node *node)
{
	char msg[300];
	char *buf = NULL;
	char **items = NULL;
	int n = 0;
	size_t i;

	if (k->type != ST_LIST && k->type != ST_RULES) {
		if (node->kind != CFG_SCALAR)
			report(w, node->kind == CFG_MAP ? "expected a value, found a mapping"
			    : "expected a single value, found a list");
		else if (node->null)
			report(w, "missing value");
		else if (set_scalar(k, w->cfg, node->value, msg, sizeof(msg)) < 0)
			report(w, msg);
		return;
	}
	items = calloc(LIST_MAX, sizeof(char *));
	if (items == NULL) {
		report(w, "out of memory");
		return;
	}
	if (node->kind == CFG_MAP) {
		report(w, "expected a list, found a mapping");
		goto out;
	} else if (node->kind == CFG_SEQ) {
		for (i = 0; i < node->n; i++)
			items[i] = node->kids[i]->value;
		n = (int)node->n;
	} else if (node->null) {
		n = 0;
	} else if (node->split_list) {
		if ((buf = strdup(node->value)) == NULL) {
			report(w, "out of memory");
			goto out;
		}
		if ((n = split_commas(buf, items, LIST_MAX)) < 0) {
			report(w, "empty item in comma-separated list");
			goto out;
		}
	} else {
		report(w, "expected a list (write [a, b] or one \"- item\" per line)");
		goto out;
	}
	(void)set_list(k, w->cfg, items, (size_t)n, report_item, w);
out:
	free(buf);
	free(items);
}

static void
walk_map(struct walk *w, const struct cfg_node *map, const char *section)
{
	char path[256], sug[256];
	size_t i;

	for (i = 0; i < map->n; i++) {
		const struct cfg_node *kid = map->kids[i];
		const struct schema_key *k;
		int r = snprintf(path, sizeof(path), "%s%s%s", section, section[0] ? "." : "", kid->key);
		bool fits = r > 0 && (size_t)r < sizeof(path);

		w->node = kid;
		w->path = fits ? path : kid->key;
		if (fits && (k = find_key(section, kid->key)) != NULL) {
			apply_key(w, k, kid);
		} else if (fits && is_section(path)) {
			if (kid->kind != CFG_MAP)
				report(w, "this is a section: expected a mapping of keys");
			else
				walk_map(w, kid, path);
		} else if (suggest(section, kid->key, sug, sizeof(sug))) {
			config_errors_add(w->errs, kid->line ? w->file : NULL, kid->line,
			    "unknown key '%.100s' (did you mean '%s'?)", w->path, sug);
		} else {
			config_errors_add(w->errs, kid->line ? w->file : NULL, kid->line,
			    "unknown key '%.100s'", w->path);
		}
	}
}

void
schema_apply(const struct cfg_node *root, const char *file, struct config *cfg,
    struct config_errors *errs)
{
	struct walk w = { .file = file, .cfg = cfg, .errs = errs };

	if (root != NULL && root->kind == CFG_MAP)
		walk_map(&w, root, "");
}

/* ---- JSON ------------------------------------------------------------------------ */

static cJSON *
section_object(cJSON *root, const char *section)
{
	char part[64];
	const char *p = section;
	cJSON *obj = root, *kid;

	while (*p != '\0') {
		size_t n = strcspn(p, ".");

		if (n >= sizeof(part))
			return NULL;
		memcpy(part, p, n);
		part[n] = '\0';
		kid = cJSON_GetObjectItemCaseSensitive(obj, part);
		if (kid == NULL && (kid = cJSON_AddObjectToObject(obj, part)) == NULL)
			return NULL;
		obj = kid;
		p += n;
		if (*p == '.')
			p++;
	}
	return obj;
}

static cJSON *
value_json(const struct schema_key *k, const struct config *cfg)
{
	char buf[64];
	const char *s;
	cJSON *arr;
	size_t i;

	switch (k->type) {
	case ST_BOOL:
		return cJSON_CreateBool(*CFIELD(cfg, k, bool));
	case ST_UINT:
	case ST_SIZE:
		return cJSON_CreateNumber((double)*CFIELD(cfg, k, uint64_t));
	case ST_DURATION:
	case ST_ROTATION:
		units_format_duration(*CFIELD(cfg, k, uint64_t), buf, sizeof(buf));
		return cJSON_CreateString(buf);
	case ST_FRACTION:
		return cJSON_CreateNumber(*CFIELD(cfg, k, double));
	case ST_ENUM:
		return cJSON_CreateString(k->names[*CFIELD(cfg, k, int)]);
	case ST_STRING:
	case ST_PATH:
	case ST_CHOICE:
		s = *CFIELD(cfg, k, char *);
		if (s == NULL)
			return cJSON_CreateNull();
		return cJSON_CreateString((k->flags & SK_SECRET) ? "<redacted>" : s);
	case ST_LIST: {
		const struct strlist *l = CFIELD(cfg, k, struct strlist);

		if ((arr = cJSON_CreateArray()) == NULL)
			return NULL;
		for (i = 0; i < l->n; i++)
			if (!cJSON_AddItemToArray(arr, cJSON_CreateString(l->v[i]))) {
				cJSON_Delete(arr);
				return NULL;
			}
		return arr;
	}
	case ST_RULES: {
		const struct config_detection *d = CFIELD(cfg, k, struct config_detection);

		if ((arr = cJSON_CreateArray()) == NULL)
			return NULL;
		for (i = 0; i < CONFIG_RULE_COUNT; i++)
			if ((uint64_t)rules[i].group == k->min && d->enabled[i] &&
			    !cJSON_AddItemToArray(arr, cJSON_CreateString(rules[i].id))) {
				cJSON_Delete(arr);
				return NULL;
			}
		return arr;
	}
	}
	return NULL;
}

cJSON *
schema_to_json(const struct config *cfg)
{
	cJSON *root = cJSON_CreateObject(), *obj, *v;
	size_t i;

	if (root == NULL)
		return NULL;
	for (i = 0; i < schema_n_keys; i++) {
		const struct schema_key *k = &schema_keys[i];

		obj = section_object(root, k->section);
		v = value_json(k, cfg);
		if (obj == NULL || v == NULL || !cJSON_AddItemToObject(obj, k->name, v)) {
			cJSON_Delete(v);
			cJSON_Delete(root);
			return NULL;
		}
	}
	return root;
}
