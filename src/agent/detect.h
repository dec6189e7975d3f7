/*
 * detect.h: the agent-side detection rules of DESIGN §6.
 *
 * Counting rules (sliding windows): the agent records each occurrence with
 * detect_record(); when the occurrences within the last window_ms reach
 * threshold, the rule's event is raised, then held back for one window
 * (cooldown = window_ms) so a storm yields one event per window, not one per
 * failure.  The event's details: count, threshold, window_ms and the last
 * occurrence's note (e.g. BearSSL's error name).
 *   DETECT_TLS_HANDSHAKE_FAILED    tls_handshake_failed        default 3 in 5 min
 *   DETECT_CERT_VALIDATION_FAILED  certificate_validation_failed default 1 in 1 min
 *   DETECT_CONNECTION_TIMEOUT      connection_timeout_pattern  default 3 in 5 min
 *   DETECT_RECONNECT               unusual_connection_pattern  default 10 in 1 min
 *                                  (a reconnect storm; details say "reconnect_storm")
 * (The per-failure events themselves, e.g. one certificate_validation_failed
 * per refused handshake, are emitted by the connection code; these rules
 * are the aggregate patterns.)
 *
 * certificate_expiring: detect_cert_expiry() with the certificate's
 * notAfter; the event is raised when days_remaining (rounded down) reaches
 * 30, 14, 7, 3 and 1, each threshold at most once per certificate (a new
 * notAfter re-arms them).  Jumping past several thresholds raises one event
 * for the lowest one crossed.  An expired certificate reports
 * days_remaining 0 or less.
 *
 * Clock: every call passes now (ms of a monotonic clock, or unix seconds for
 * notAfter): tests inject it.  No allocation after detect_init.
 */
#ifndef STAVILY_AGENT_DETECT_H
#define STAVILY_AGENT_DETECT_H

#include <stdbool.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "base/util.h"

enum detect_kind {
	DETECT_TLS_HANDSHAKE_FAILED,
	DETECT_CERT_VALIDATION_FAILED,
	DETECT_CONNECTION_TIMEOUT,
	DETECT_RECONNECT,
	DETECT_KIND_COUNT
};

#define DETECT_MAX_THRESHOLD 1024     /* occurrences kept per rule */
#define DETECT_NOTE_MAX 64

struct detect_rule {
	bool enabled;
	uint32_t threshold;               /* 1..DETECT_MAX_THRESHOLD */
	uint64_t window_ms;               /* > 0 */
};

/* Receives each raised event.  `severity`: 1 = WARN, 2 = ERROR (callers
 * map it onto event.h's levels).  `details` is consumed by the callee. */
typedef void (*detect_raise_fn)(void *ctx, const char *event, int severity, cJSON *details);

struct detect {
	struct detect_rule rules[DETECT_KIND_COUNT];
	bool expiry_enabled;
	detect_raise_fn raise;
	void *ctx;
	/* state */
	uint64_t times[DETECT_KIND_COUNT][DETECT_MAX_THRESHOLD]; /* ring of occurrence times */
	uint32_t head[DETECT_KIND_COUNT], count[DETECT_KIND_COUNT];
	uint64_t last_raise[DETECT_KIND_COUNT];
	bool raised_once[DETECT_KIND_COUNT];
	char note[DETECT_KIND_COUNT][DETECT_NOTE_MAX];
	int64_t cert_not_after;           /* unix seconds of the armed certificate */
	unsigned expiry_raised;           /* bit i: threshold i raised */
};

/* The snake_case event name of a rule. */
const char *detect_event_name(enum detect_kind k);

/* Defaults above, every rule enabled.  `raise` receives events (details
 * consumed by the callee). */
void detect_init(struct detect *d, detect_raise_fn raise, void *ctx);

/* Change a rule.  Returns 0 or -EINVAL (threshold/window out of range). */
int detect_set_rule(struct detect *d, enum detect_kind k, bool enabled, uint32_t threshold,
    uint64_t window_ms) WARN_UNUSED;

/* One occurrence at `now_ms`; `note` (may be NULL) is copied, truncated.
 * Returns true if this occurrence raised the rule's event. */
bool detect_record(struct detect *d, enum detect_kind k, uint64_t now_ms, const char *note);

/* Occurrences of `k` within its window ending at now_ms. */
uint32_t detect_count(struct detect *d, enum detect_kind k, uint64_t now_ms);

/* Check the certificate's expiry at unix time `now_s`.  Returns the
 * threshold raised (30/14/7/3/1), or 0 if none. */
int detect_cert_expiry(struct detect *d, int64_t not_after_s, int64_t now_s);

#endif
