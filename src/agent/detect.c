/* see detect.h */
#include "agent/detect.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const int expiry_days[] = { 30, 14, 7, 3, 1 };

const char *
detect_event_name(enum detect_kind k)
{
	switch (k) {
	case DETECT_TLS_HANDSHAKE_FAILED: return "tls_handshake_failed";
	case DETECT_CERT_VALIDATION_FAILED: return "certificate_validation_failed";
	case DETECT_CONNECTION_TIMEOUT: return "connection_timeout_pattern";
	case DETECT_RECONNECT: return "unusual_connection_pattern";
	case DETECT_KIND_COUNT: break;
	}
	return "unknown";
}

void
detect_init(struct detect *d, detect_raise_fn raise, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->raise = raise;
	d->ctx = ctx;
	d->rules[DETECT_TLS_HANDSHAKE_FAILED] = (struct detect_rule){ true, 3, 300000 };
	d->rules[DETECT_CERT_VALIDATION_FAILED] = (struct detect_rule){ true, 1, 60000 };
	d->rules[DETECT_CONNECTION_TIMEOUT] = (struct detect_rule){ true, 3, 300000 };
	d->rules[DETECT_RECONNECT] = (struct detect_rule){ true, 10, 60000 };
	d->expiry_enabled = true;
}

int
detect_set_rule(struct detect *d, enum detect_kind k, bool enabled, uint32_t threshold,
    uint64_t window_ms)
{
	if ((unsigned)k >= DETECT_KIND_COUNT || threshold == 0 || threshold > DETECT_MAX_THRESHOLD ||
	    window_ms == 0)
		return -EINVAL;
	d->rules[k] = (struct detect_rule){ enabled, threshold, window_ms };
	d->head[k] = d->count[k] = 0;
	d->raised_once[k] = false;
	return 0;
}

/* Forget occurrences older than the window.  The ring holds them oldest
 * first starting at head. */
static void
expire(struct detect *d, enum detect_kind k, uint64_t now_ms)
{
	uint64_t w = d->rules[k].window_ms;

	while (d->count[k] > 0) {
		uint64_t t = d->times[k][d->head[k]];
		if (now_ms >= t && now_ms - t < w)
			break;
		d->head[k] = (d->head[k] + 1) % DETECT_MAX_THRESHOLD;
		d->count[k]--;
	}
}

uint32_t
detect_count(struct detect *d, enum detect_kind k, uint64_t now_ms)
{
	if ((unsigned)k >= DETECT_KIND_COUNT)
		return 0;
	expire(d, k, now_ms);
	return d->count[k];
}

bool
detect_record(struct detect *d, enum detect_kind k, uint64_t now_ms, const char *note)
{
	const struct detect_rule *r;
	cJSON *det;
	uint32_t idx;

	if ((unsigned)k >= DETECT_KIND_COUNT)
		return false;
	r = &d->rules[k];
	if (!r->enabled)
		return false;
	expire(d, k, now_ms);
	if (d->count[k] == DETECT_MAX_THRESHOLD) { /* full: drop the oldest */
		d->head[k] = (d->head[k] + 1) % DETECT_MAX_THRESHOLD;
		d->count[k]--;
	}
	idx = (d->head[k] + d->count[k]) % DETECT_MAX_THRESHOLD;
	d->times[k][idx] = now_ms;
	d->count[k]++;
	snprintf(d->note[k], DETECT_NOTE_MAX, "%s", note != NULL ? note : "");
	if (d->count[k] < r->threshold)
		return false;
	if (d->raised_once[k] && now_ms - d->last_raise[k] < r->window_ms)
		return false; /* cooldown: one event per window */
	d->raised_once[k] = true;
	d->last_raise[k] = now_ms;
	if (d->raise == NULL)
		return true;
	det = cJSON_CreateObject();
	if (det == NULL)
		return true;
	cJSON_AddNumberToObject(det, "count", d->count[k]);
	cJSON_AddNumberToObject(det, "threshold", r->threshold);
	cJSON_AddNumberToObject(det, "window_ms", (double)r->window_ms);
	if (k == DETECT_RECONNECT)
		cJSON_AddStringToObject(det, "pattern", "reconnect_storm");
	if (d->note[k][0] != '\0')
		cJSON_AddStringToObject(det, "last_error", d->note[k]);
	d->raise(d->ctx, detect_event_name(k), k == DETECT_CERT_VALIDATION_FAILED ? 2 : 1, det);
	return true;
}

int
detect_cert_expiry(struct detect *d, int64_t not_after_s, int64_t now_s)
{
	int64_t secs = not_after_s - now_s, days;
	int raised = 0;
	size_t i;
	cJSON *det;

	if (!d->expiry_enabled)
		return 0;
	if (not_after_s != d->cert_not_after) { /* a new certificate re-arms */
		d->cert_not_after = not_after_s;
		d->expiry_raised = 0;
	}
	/* floor division, also for an expired certificate */
	days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
	for (i = 0; i < sizeof(expiry_days) / sizeof(expiry_days[0]); i++) {
		if (days <= expiry_days[i] && !(d->expiry_raised & (1u << i))) {
			d->expiry_raised |= 1u << i;
			raised = expiry_days[i];
		}
	}
	if (raised == 0 || d->raise == NULL)
		return raised;
	det = cJSON_CreateObject();
	if (det == NULL)
		return raised;
	cJSON_AddNumberToObject(det, "days_remaining", (double)days);
	cJSON_AddNumberToObject(det, "threshold_days", raised);
	cJSON_AddNumberToObject(det, "not_after", (double)not_after_s);
	d->raise(d->ctx, "certificate_expiring", raised <= 3 ? 2 : 1, det);
	return raised;
}
