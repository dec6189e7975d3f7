/*
 * event.h: security and operational events as JSON lines (DESIGN §5).
 *
 * Every event is one line in exactly this shape (keys in this order):
 *   {"timestamp":"2025-01-15T10:30:00.000Z","level":"WARN",
 *    "component":"action-agent","agent_id":"action-001",
 *    "event":"certificate_expiring","details":{...}}
 * A log has a component, an optional agent id, a minimum level and any number
 * of sinks (descriptors such as stderr/stdout, append-only files, callbacks).
 * Emitting never fails from the caller's point of view: a sink that cannot be
 * written counts the loss (event_log_dropped) and the others still receive
 * the line.
 *
 * Secrets: details must never carry tokens or key material; callers pass
 * only what an operator may read.  Tests grep every sink for the secrets
 * they used.
 */
#ifndef STAVILY_EVENT_EVENT_H
#define STAVILY_EVENT_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/util.h"

enum event_level {
	EVENT_DEBUG,
	EVENT_INFO,
	EVENT_WARN,
	EVENT_ERROR,
	EVENT_CRITICAL,
};

/* Maximum size of one formatted event line, details included. */
#define EVENT_MAX_LINE (64 * 1024)

struct event_log;

/* Callback sink: receives each formatted line (no trailing newline). */
typedef void (*event_sink_fn)(void *ctx, enum event_level level, const char *event,
    const char *line, size_t len);

/* New log.  `component` is required ("action-agent", "orchestrator",
 * "sandbox", ...); `agent_id` may be NULL (then the key is omitted).
 * Returns NULL on allocation failure. */
struct event_log *event_log_new(const char *component, const char *agent_id,
    enum event_level min_level) WARN_UNUSED;
void event_log_free(struct event_log *log);

/* Change the agent id (after registration). */
int event_log_set_agent_id(struct event_log *log, const char *agent_id) WARN_UNUSED;
void event_log_set_min_level(struct event_log *log, enum event_level min_level);

/* Sinks.  A descriptor sink does not own the descriptor; a file sink opens
 * `path` with O_APPEND|O_CREAT (mode 0600) and can be reopened (SIGHUP). */
int event_log_add_fd(struct event_log *log, int fd) WARN_UNUSED;
int event_log_add_file(struct event_log *log, const char *path) WARN_UNUSED;
int event_log_add_callback(struct event_log *log, event_sink_fn fn, void *ctx) WARN_UNUSED;
/* Reopen every file sink (log rotation).  Returns 0 or the first -errno. */
int event_log_reopen(struct event_log *log) WARN_UNUSED;

/*
 * Emit one event.  `details` (an object, may be NULL for {}) is consumed.
 * Events below the minimum level are dropped silently.
 */
void event_emit(struct event_log *log, enum event_level level, const char *event, cJSON *details);

/* Lines that some sink failed to take since the log was created. */
uint64_t event_log_dropped(const struct event_log *log);

/*
 * Format one event line into a fresh string (no newline).  `timestamp` NULL
 * means now.  Returns NULL on allocation failure or if the line would exceed
 * EVENT_MAX_LINE.  `details` is not consumed.  The caller frees.
 */
char *event_format(const char *timestamp, enum event_level level, const char *component,
    const char *agent_id, const char *event, const cJSON *details) WARN_UNUSED;

const char *event_level_name(enum event_level level);
/* Parse "DEBUG".."CRITICAL" (case-insensitive).  Returns 0 or -1. */
int event_level_parse(const char *s, enum event_level *out) WARN_UNUSED;

#endif
