/*
 * sensor.h: what the agent does with a sensor plugin's stdout before any of
 * it leaves the host (issue 6, "monitoring-focused controls").
 *
 * The plugin's output is cut into lines.  Each line, in this order:
 *   1. longer than max_event_bytes -> dropped, counted as event_size
 *      (an over-long line is skipped up to its newline, never buffered);
 *   2. not a JSON object -> dropped, counted as invalid (never forwarded);
 *   3. no token left in the plugin's bucket (rate_per_sec, burst) ->
 *      dropped, counted as event_rate;
 *   4. configured fields redacted ("[REDACTED]") or pseudonymized
 *      ("hmac-sha256:<32 hex>", HMAC-SHA256 with the agent's key over the
 *      value's text, truncated to 128 bits: equal inputs stay linkable on
 *      the orchestrator, the input is not revealed); fields are top-level
 *      keys or dotted paths into nested objects ("user.email");
 *   5. enriched: "agent_id", "tenant", "plugin" and "sequence" (per plugin,
 *      from 1, counting forwarded events) are set at the top level,
 *      replacing whatever the plugin wrote under those names (a plugin
 *      cannot spoof its origin);
 *   6. handed to the emit callback as one compact JSON line.
 * Drops are reported at most once per report window per kind, through the
 * report callback: `resource_limit_exceeded` {plugin, limit: "event_rate" |
 * "event_size", dropped, window_ms} and `sensor_output_invalid` {plugin,
 * invalid_lines, window_ms}.
 *
 * Time is passed in (now_ms, any monotonic clock) so tests inject it.
 */
#ifndef STAVILY_AGENT_SENSOR_H
#define STAVILY_AGENT_SENSOR_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/util.h"

#define SENSOR_MAX_FIELDS 32          /* redacted + pseudonymized paths each */
#define SENSOR_FIELD_MAX 128          /* one dotted path */
#define SENSOR_EVENT_MAX (1024 * 1024) /* hard cap on max_event_bytes */
#define SENSOR_KEY_LEN 32

/* A forwarded event line (compact JSON, NUL-terminated, no newline). */
typedef void (*sensor_emit_fn)(void *ctx, const char *line, size_t len);
/* A report: `details` is consumed. */
typedef void (*sensor_report_fn)(void *ctx, const char *event, cJSON *details);

struct sensor_config {
	const char *agent_id;            /* copied */
	const char *tenant;
	const char *plugin;
	double rate_per_sec;             /* token refill; 0 = no rate limit */
	double burst;                    /* bucket size (>= 1 when rate is set) */
	size_t max_event_bytes;          /* per line, 1..SENSOR_EVENT_MAX */
	uint64_t report_window_ms;       /* > 0 */
	const char *redact[SENSOR_MAX_FIELDS];
	size_t n_redact;
	const char *pseudonymize[SENSOR_MAX_FIELDS];
	size_t n_pseudonymize;
	uint8_t key[SENSOR_KEY_LEN];     /* per-agent pseudonymization key (copied, wiped on free) */
	uint64_t first_sequence;         /* "sequence" of the first event minus 1 (a
	                                  * stream reconfigured keeps counting) */
	sensor_emit_fn emit;
	sensor_report_fn report;
	void *ctx;
};

struct sensor_counters {
	uint64_t lines, forwarded, invalid, dropped_rate, dropped_size;
};

struct sensor;

/* New sensor stream at time `now_ms`.  Returns NULL and a message in `err`
 * (invalid configuration) or on allocation failure. */
struct sensor *sensor_new(const struct sensor_config *c, uint64_t now_ms, char err[128]) WARN_UNUSED;
/* Free (the key is wiped).  NULL is fine. */
void sensor_free(struct sensor *s);

/* Feed output bytes; complete lines are processed now. */
void sensor_feed(struct sensor *s, const char *data, size_t len, uint64_t now_ms);
/* End of output: a last line without newline is processed, pending
 * reports are sent. */
void sensor_finish(struct sensor *s, uint64_t now_ms);
/* Send the reports of a window that has ended (call it from the event loop). */
void sensor_tick(struct sensor *s, uint64_t now_ms);

/* Totals since creation. */
struct sensor_counters sensor_counters(const struct sensor *s);
/* The "sequence" of the last forwarded event. */
uint64_t sensor_sequence(const struct sensor *s);

/* The pseudonym of `value` under `key` ("hmac-sha256:" + 32 hex + NUL). */
#define SENSOR_PSEUDONYM_LEN 45
void sensor_pseudonym(const uint8_t key[SENSOR_KEY_LEN], const char *value, size_t len,
    char out[SENSOR_PSEUDONYM_LEN]);

/*
 * ---- settings: what the configuration and a plugin's manifest ask for ----
 *
 * The agent's `sensor` config section gives the defaults for every sensor
 * plugin.  A plugin's manifest may carry a "sensor" object that can only
 * make them stricter (a looser value is ignored, the agent's applies):
 *   "mode":                "interval" (default: run every interval, output
 *                          handled as it arrives, wall_timeout applies) or
 *                          "stream" (long-lived: started once, restarted with
 *                          backoff when it exits, no wall_timeout)
 *   "interval":            "5m" or milliseconds; only longer than the agent's
 *   "rate_limit":          events/s (0 = none: never looser than the agent's)
 *   "burst":               events
 *   "max_event_size":      "4KB" or bytes
 *   "redact_fields":       [dotted paths], added to the agent's
 *   "pseudonymize_fields": [dotted paths], added to the agent's
 * The spawner merges the two (it reads manifests) and sends the result to
 * the worker (msg.h SENSOR_CONFIG) as the JSON of sensor_settings_to_json.
 */
enum sensor_mode { SENSOR_MODE_INTERVAL, SENSOR_MODE_STREAM };

struct sensor_settings {
	enum sensor_mode mode;
	uint64_t interval_ms;             /* 0 = the agent's heartbeat interval */
	uint64_t rate_limit;              /* events/s, 0 = none */
	uint64_t burst;                   /* >= 1 */
	uint64_t max_event_size;          /* 1..SENSOR_EVENT_MAX */
	uint64_t report_window_ms;        /* > 0 */
	char *redact[SENSOR_MAX_FIELDS];  /* owned */
	size_t n_redact;
	char *pseudonymize[SENSOR_MAX_FIELDS];
	size_t n_pseudonymize;
};

struct config_sensor;

/* The agent's defaults (config section `sensor`; NULL = built-in defaults:
 * 5000/s, burst 20000, 16 KiB, 10 s window, no redaction).  Returns 0, or
 * -EINVAL (more than SENSOR_MAX_FIELDS fields, invalid path) / -ENOMEM with
 * `err` filled; `s` then holds nothing to free. */
int sensor_settings_defaults(struct sensor_settings *s, const struct config_sensor *c,
    char err[128]) WARN_UNUSED;

/* Make `s` stricter with a manifest's "sensor" object (see above).  Unknown
 * keys, wrong types and invalid values are errors (-EINVAL, `err` says
 * which); `s` is unchanged then. */
int sensor_settings_tighten(struct sensor_settings *s, const cJSON *manifest_sensor,
    char err[128]) WARN_UNUSED;

/* The mode a manifest's "sensor" object (compact JSON as in struct
 * manifest; NULL = none) asks for; anything unreadable is "interval". */
enum sensor_mode sensor_manifest_mode(const char *manifest_sensor_json);

/* Check a manifest's "sensor" object alone (what manifest_parse calls). */
int sensor_manifest_check(const cJSON *manifest_sensor, char err[128]) WARN_UNUSED;

/* To and from the JSON sent from spawner to worker.  to_json returns a new
 * string (free()) or NULL; from_json returns 0 or -EINVAL/-ENOMEM. */
char *sensor_settings_to_json(const struct sensor_settings *s);
int sensor_settings_from_json(struct sensor_settings *s, const char *text, char err[128]) WARN_UNUSED;

/* Fill the limits and fields of `c` from `s` (borrowed pointers: `s` must
 * outlive sensor_new, which copies them). */
void sensor_settings_apply(const struct sensor_settings *s, struct sensor_config *c);

void sensor_settings_free(struct sensor_settings *s);

#endif
