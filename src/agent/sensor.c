/* see sensor.h */
#include "agent/sensor.h"

#include <bearssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"

struct sensor {
	char *agent_id, *tenant, *plugin;
	double rate, burst, tokens;
	uint64_t last_refill_ms;
	size_t max_event;
	uint64_t window_ms, window_start;
	char *redact[SENSOR_MAX_FIELDS];
	size_t n_redact;
	char *pseudo[SENSOR_MAX_FIELDS];
	size_t n_pseudo;
	uint8_t key[SENSOR_KEY_LEN];
	sensor_emit_fn emit;
	sensor_report_fn report;
	void *ctx;
	uint64_t seq;
	struct sensor_counters total;
	uint64_t win_rate, win_size, win_invalid;   /* drops in the current window */
	char *line;                                 /* max_event + 1 bytes */
	size_t line_len;
	int skipping;                               /* inside an over-long line */
};

void
sensor_pseudonym(const uint8_t key[SENSOR_KEY_LEN], const char *value, size_t len,
    char out[SENSOR_PSEUDONYM_LEN])
{
	br_hmac_key_context kc;
	br_hmac_context hc;
	uint8_t mac[32];

	br_hmac_key_init(&kc, &br_sha256_vtable, key, SENSOR_KEY_LEN);
	br_hmac_init(&hc, &kc, 0);
	br_hmac_update(&hc, value, len);
	br_hmac_out(&hc, mac);
	memcpy(out, "hmac-sha256:", 12);
	hex_encode(mac, 16, out + 12);
	out[SENSOR_PSEUDONYM_LEN - 1] = '\0';
	WIPE(&kc, sizeof(kc));
	WIPE(&hc, sizeof(hc));
}

static int
copy_fields(char **dst, size_t *n_dst, const char *const *src, size_t n, char err[128])
{
	size_t i;

	if (n > SENSOR_MAX_FIELDS) {
		snprintf(err, 128, "more than %d fields", SENSOR_MAX_FIELDS);
		return -1;
	}
	for (i = 0; i < n; i++) {
		size_t l = src[i] ? strlen(src[i]) : 0;
		if (l == 0 || l > SENSOR_FIELD_MAX || src[i][0] == '.' || src[i][l - 1] == '.' ||
		    strstr(src[i], "..") != NULL) {
			snprintf(err, 128, "invalid field path");
			return -1;
		}
		if ((dst[i] = strdup(src[i])) == NULL) {
			snprintf(err, 128, "out of memory");
			return -1;
		}
		*n_dst = i + 1;
	}
	return 0;
}

struct sensor *
sensor_new(const struct sensor_config *c, uint64_t now_ms, char err[128])
{
	struct sensor *s;

	err[0] = '\0';
	if (c->agent_id == NULL || c->tenant == NULL || c->plugin == NULL || c->emit == NULL ||
	    c->report == NULL || c->max_event_bytes == 0 || c->max_event_bytes > SENSOR_EVENT_MAX ||
	    c->report_window_ms == 0 || c->rate_per_sec < 0 ||
	    (c->rate_per_sec > 0 && c->burst < 1)) {
		snprintf(err, 128, "invalid sensor configuration");
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto nomem;
	s->agent_id = strdup(c->agent_id);
	s->tenant = strdup(c->tenant);
	s->plugin = strdup(c->plugin);
	s->line = malloc(c->max_event_bytes + 1);
	if (s->agent_id == NULL || s->tenant == NULL || s->plugin == NULL || s->line == NULL)
		goto nomem;
	if (copy_fields(s->redact, &s->n_redact, c->redact, c->n_redact, err) != 0 ||
	    copy_fields(s->pseudo, &s->n_pseudo, c->pseudonymize, c->n_pseudonymize, err) != 0) {
		sensor_free(s);
		return NULL;
	}
	s->rate = c->rate_per_sec;
	s->burst = c->burst;
	s->tokens = c->burst;
	s->last_refill_ms = now_ms;
	s->max_event = c->max_event_bytes;
	s->window_ms = c->report_window_ms;
	s->window_start = now_ms;
	memcpy(s->key, c->key, SENSOR_KEY_LEN);
	s->emit = c->emit;
	s->report = c->report;
	s->ctx = c->ctx;
	return s;
nomem:
	snprintf(err, 128, "out of memory");
	sensor_free(s);
	return NULL;
}

void
sensor_free(struct sensor *s)
{
	size_t i;

	if (s == NULL)
		return;
	WIPE(s->key, sizeof(s->key));
	for (i = 0; i < s->n_redact; i++)
		free(s->redact[i]);
	for (i = 0; i < s->n_pseudo; i++)
		free(s->pseudo[i]);
	free(s->agent_id);
	free(s->tenant);
	free(s->plugin);
	free(s->line);
	free(s);
}

struct sensor_counters
sensor_counters(const struct sensor *s)
{
	return s->total;
}

static void
report_limit(struct sensor *s, const char *limit, uint64_t n)
{
	cJSON *d = cJSON_CreateObject();

	if (d == NULL)
		return;
	cJSON_AddStringToObject(d, "plugin", s->plugin);
	cJSON_AddStringToObject(d, "limit", limit);
	cJSON_AddNumberToObject(d, "dropped", (double)n);
	cJSON_AddNumberToObject(d, "window_ms", (double)s->window_ms);
	s->report(s->ctx, "resource_limit_exceeded", d);
}

static void
flush_reports(struct sensor *s)
{
	if (s->win_rate)
		report_limit(s, "event_rate", s->win_rate);
	if (s->win_size)
		report_limit(s, "event_size", s->win_size);
	if (s->win_invalid) {
		cJSON *d = cJSON_CreateObject();
		if (d != NULL) {
			cJSON_AddStringToObject(d, "plugin", s->plugin);
			cJSON_AddNumberToObject(d, "invalid_lines", (double)s->win_invalid);
			cJSON_AddNumberToObject(d, "window_ms", (double)s->window_ms);
			s->report(s->ctx, "sensor_output_invalid", d);
		}
	}
	s->win_rate = s->win_size = s->win_invalid = 0;
}

void
sensor_tick(struct sensor *s, uint64_t now_ms)
{
	if (now_ms - s->window_start < s->window_ms)
		return;
	flush_reports(s);
	/* Windows are aligned to the first one, so a quiet period does not
	 * shift them. */
	s->window_start += (now_ms - s->window_start) / s->window_ms * s->window_ms;
}

static int
take_token(struct sensor *s, uint64_t now_ms)
{
	if (s->rate <= 0)
		return 1;
	if (now_ms > s->last_refill_ms) {
		s->tokens += (double)(now_ms - s->last_refill_ms) * s->rate / 1000.0;
		if (s->tokens > s->burst)
			s->tokens = s->burst;
		s->last_refill_ms = now_ms;
	}
	if (s->tokens < 1.0)
		return 0;
	s->tokens -= 1.0;
	return 1;
}

/* The item at a dotted path, or NULL. */
static cJSON *
find_path(cJSON *root, const char *path)
{
	char seg[SENSOR_FIELD_MAX + 1];
	const char *p = path, *dot;
	cJSON *cur = root;

	while (cur != NULL) {
		size_t n;

		dot = strchr(p, '.');
		n = dot ? (size_t)(dot - p) : strlen(p);
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (!cJSON_IsObject(cur))
			return NULL;
		cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
		if (dot == NULL)
			return cur;
		p = dot + 1;
	}
	return NULL;
}

/* Replace `item`'s value by a string, in place (keeps its key and position). */
static int
set_string(cJSON *parent_unused, cJSON *item, const char *text)
{
	char *copy = strdup(text);

	(void)parent_unused;
	if (copy == NULL)
		return -1;
	if (item->child != NULL) {
		cJSON_Delete(item->child);
		item->child = NULL;
	}
	if (!(item->type & cJSON_IsReference))
		free(item->valuestring);
	item->valuestring = copy;
	item->type = cJSON_String;
	item->valueint = 0;
	item->valuedouble = 0;
	return 0;
}

static int
minimise(struct sensor *s, cJSON *ev)
{
	char pseud[SENSOR_PSEUDONYM_LEN];
	size_t i;
	cJSON *it;

	for (i = 0; i < s->n_redact; i++)
		if ((it = find_path(ev, s->redact[i])) != NULL && set_string(NULL, it, "[REDACTED]") != 0)
			return -1;
	for (i = 0; i < s->n_pseudo; i++) {
		if ((it = find_path(ev, s->pseudo[i])) == NULL)
			continue;
		if (cJSON_IsString(it)) {
			sensor_pseudonym(s->key, it->valuestring, strlen(it->valuestring), pseud);
		} else {
			char *txt = cJSON_PrintUnformatted(it);
			if (txt == NULL)
				return -1;
			sensor_pseudonym(s->key, txt, strlen(txt), pseud);
			free(txt);
		}
		if (set_string(NULL, it, pseud) != 0)
			return -1;
	}
	return 0;
}

static void
set_key(cJSON *ev, const char *key, cJSON *val)
{
	cJSON_DeleteItemFromObjectCaseSensitive(ev, key);
	cJSON_AddItemToObject(ev, key, val);
}

static void
process_line(struct sensor *s, const char *line, size_t len, uint64_t now_ms)
{
	cJSON *ev;
	const char *end = NULL;
	char *out;

	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len == 0)
		return; /* blank lines separate nothing and carry nothing */
	s->total.lines++;
	ev = cJSON_ParseWithLengthOpts(line, len, &end, 0);
	if (ev == NULL || !cJSON_IsObject(ev) || (size_t)(end - line) != len) {
		/* trailing garbage after the object counts as invalid too; only
		 * whitespace may follow */
		int only_ws = ev != NULL && cJSON_IsObject(ev);
		if (only_ws)
			for (const char *c = end; c < line + len; c++)
				if (*c != ' ' && *c != '\t')
					only_ws = 0;
		if (!only_ws) {
			cJSON_Delete(ev);
			s->total.invalid++;
			s->win_invalid++;
			return;
		}
	}
	if (!take_token(s, now_ms)) {
		cJSON_Delete(ev);
		s->total.dropped_rate++;
		s->win_rate++;
		return;
	}
	if (minimise(s, ev) != 0) {
		/* out of memory: never forward an event that was not minimised */
		cJSON_Delete(ev);
		s->total.invalid++;
		s->win_invalid++;
		return;
	}
	s->seq++;
	set_key(ev, "agent_id", cJSON_CreateString(s->agent_id));
	set_key(ev, "tenant", cJSON_CreateString(s->tenant));
	set_key(ev, "plugin", cJSON_CreateString(s->plugin));
	set_key(ev, "sequence", cJSON_CreateNumber((double)s->seq));
	out = cJSON_PrintUnformatted(ev);
	cJSON_Delete(ev);
	if (out == NULL)
		return;
	s->total.forwarded++;
	s->emit(s->ctx, out, strlen(out));
	free(out);
}

static void
size_drop(struct sensor *s)
{
	s->total.lines++;
	s->total.dropped_size++;
	s->win_size++;
}

void
sensor_feed(struct sensor *s, const char *data, size_t len, uint64_t now_ms)
{
	size_t i = 0;

	sensor_tick(s, now_ms);
	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (data + i)) : len - i;

		if (s->skipping) {
			if (nl != NULL)
				s->skipping = 0;
		} else if (s->line_len + n > s->max_event) {
			/* Too long: drop now, skip to the newline, never buffer it. */
			size_drop(s);
			s->line_len = 0;
			s->skipping = nl == NULL;
		} else {
			memcpy(s->line + s->line_len, data + i, n);
			s->line_len += n;
			if (nl != NULL) {
				s->line[s->line_len] = '\0';
				process_line(s, s->line, s->line_len, now_ms);
				s->line_len = 0;
			}
		}
		i += n + (nl != NULL);
	}
}

void
sensor_finish(struct sensor *s, uint64_t now_ms)
{
	if (!s->skipping && s->line_len > 0) {
		s->line[s->line_len] = '\0';
		process_line(s, s->line, s->line_len, now_ms);
	}
	s->line_len = 0;
	s->skipping = 0;
	flush_reports(s);
}
