/* see sensor.h */
#include "agent/sensor.h"

#include <bearssl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "config/config.h"
#include "config/units.h"

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
	s->seq = c->first_sequence;
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

uint64_t
sensor_sequence(const struct sensor *s)
{
	return s->seq;
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

/* ---- settings ---------------------------------------------------------------- */

#define DEF_RATE 5000
#define DEF_BURST 20000
#define DEF_EVENT (16 * 1024)
#define DEF_WINDOW_MS 10000
#define INTERVAL_MAX_MS 86400000ull

void
sensor_settings_free(struct sensor_settings *s)
{
	size_t i;

	for (i = 0; i < s->n_redact; i++)
		free(s->redact[i]);
	for (i = 0; i < s->n_pseudonymize; i++)
		free(s->pseudonymize[i]);
	memset(s, 0, sizeof(*s));
}

static int
path_ok(const char *p)
{
	size_t l = strlen(p);

	return l > 0 && l <= SENSOR_FIELD_MAX && p[0] != '.' && p[l - 1] != '.' &&
	    strstr(p, "..") == NULL;
}

/* Add `p` to a field list unless it is there already. */
static int
add_field(char **v, size_t *n, const char *p, char err[128])
{
	size_t i;

	if (!path_ok(p)) {
		snprintf(err, 128, "invalid field path \"%.64s\"", p);
		return -EINVAL;
	}
	for (i = 0; i < *n; i++)
		if (strcmp(v[i], p) == 0)
			return 0;
	if (*n >= SENSOR_MAX_FIELDS) {
		snprintf(err, 128, "more than %d fields", SENSOR_MAX_FIELDS);
		return -EINVAL;
	}
	if ((v[*n] = strdup(p)) == NULL) {
		snprintf(err, 128, "out of memory");
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

int
sensor_settings_defaults(struct sensor_settings *s, const struct config_sensor *c, char err[128])
{
	size_t i;
	int r = 0;

	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	s->mode = SENSOR_MODE_INTERVAL;
	s->rate_limit = DEF_RATE;
	s->burst = DEF_BURST;
	s->max_event_size = DEF_EVENT;
	s->report_window_ms = DEF_WINDOW_MS;
	if (c == NULL)
		return 0;
	s->interval_ms = c->interval_ms;
	s->rate_limit = c->rate_limit;
	s->burst = c->burst ? c->burst : 1;
	s->max_event_size = c->max_event_size;
	if (s->max_event_size == 0 || s->max_event_size > SENSOR_EVENT_MAX)
		s->max_event_size = s->max_event_size ? SENSOR_EVENT_MAX : DEF_EVENT;
	s->report_window_ms = c->report_window_ms ? c->report_window_ms : DEF_WINDOW_MS;
	for (i = 0; r == 0 && i < c->redact_fields.n; i++)
		r = add_field(s->redact, &s->n_redact, c->redact_fields.v[i], err);
	for (i = 0; r == 0 && i < c->pseudonymize_fields.n; i++)
		r = add_field(s->pseudonymize, &s->n_pseudonymize, c->pseudonymize_fields.v[i], err);
	if (r != 0)
		sensor_settings_free(s);
	return r;
}

/* A count: a non-negative integral JSON number. */
static int
json_count(const cJSON *v, uint64_t max, uint64_t *out)
{
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= (double)max) ||
	    v->valuedouble != (double)(uint64_t)v->valuedouble)
		return -EINVAL;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

/* A size or duration: a count, or a string with a unit ("4KB", "5m"). */
static int
json_unit(const cJSON *v, int is_size, uint64_t max, uint64_t *out)
{
	if (cJSON_IsString(v)) {
		uint64_t x;
		int r = is_size ? units_parse_size(v->valuestring, &x)
		    : units_parse_duration(v->valuestring, &x);

		if (r < 0 || x > max)
			return -EINVAL;
		*out = x;
		return 0;
	}
	return json_count(v, max, out);
}

/* Stricter of two limits where 0 means "none". */
static uint64_t
stricter(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

static int
field_list(const cJSON *v, char **dst, size_t *n, char err[128])
{
	const cJSON *e;
	int r;
	const char *k = v != NULL && v->string != NULL ? v->string : "fields";

	if (!cJSON_IsArray(v)) {
		snprintf(err, 128, "sensor: \"%.64s\" must be a list of field paths", k);
		return -EINVAL;
	}
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e)) {
			snprintf(err, 128, "sensor: \"%.64s\" must be a list of field paths", k);
			return -EINVAL;
		}
		if ((r = add_field(dst, n, e->valuestring, err)) != 0)
			return r;
	}
	return 0;
}

int
sensor_settings_tighten(struct sensor_settings *s, const cJSON *o, char err[128])
{
	struct sensor_settings t;
	const cJSON *v;
	size_t i;
	int r = 0;

	err[0] = '\0';
	if (o == NULL)
		return 0;
	if (!cJSON_IsObject(o)) {
		snprintf(err, 128, "\"sensor\" must be an object");
		return -EINVAL;
	}
	/* work on a copy, so that `s` is untouched on error */
	t = *s;
	t.n_redact = t.n_pseudonymize = 0;
	for (i = 0; r == 0 && i < s->n_redact; i++)
		r = add_field(t.redact, &t.n_redact, s->redact[i], err);
	for (i = 0; r == 0 && i < s->n_pseudonymize; i++)
		r = add_field(t.pseudonymize, &t.n_pseudonymize, s->pseudonymize[i], err);
	cJSON_ArrayForEach(v, o) {
		uint64_t x = 0;
		const char *k = v->string ? v->string : "";

		if (r != 0)
			break;
		for (const cJSON *w = v->next; w != NULL; w = w->next)
			if (w->string != NULL && strcmp(w->string, k) == 0) {
				snprintf(err, 128, "sensor: duplicate key \"%.64s\"", k);
				r = -EINVAL;
			}
		if (r != 0)
			break;
		if (strcmp(k, "mode") == 0) {
			if (cJSON_IsString(v) && strcmp(v->valuestring, "stream") == 0)
				t.mode = SENSOR_MODE_STREAM;
			else if (cJSON_IsString(v) && strcmp(v->valuestring, "interval") == 0)
				t.mode = SENSOR_MODE_INTERVAL;
			else
				r = -EINVAL;
		} else if (strcmp(k, "interval") == 0) {
			if ((r = json_unit(v, 0, INTERVAL_MAX_MS, &x)) == 0 && x > t.interval_ms)
				t.interval_ms = x;   /* only less often than the agent's */
		} else if (strcmp(k, "rate_limit") == 0) {
			if ((r = json_count(v, 10000000, &x)) == 0)
				t.rate_limit = stricter(t.rate_limit, x);
		} else if (strcmp(k, "burst") == 0) {
			if ((r = json_count(v, 100000000, &x)) == 0 && x == 0)
				r = -EINVAL;
			if (r == 0 && x < t.burst)
				t.burst = x;
		} else if (strcmp(k, "max_event_size") == 0) {
			if ((r = json_unit(v, 1, SENSOR_EVENT_MAX, &x)) == 0 && x < 2)
				r = -EINVAL;
			if (r == 0 && x < t.max_event_size)
				t.max_event_size = x;
		} else if (strcmp(k, "redact_fields") == 0) {
			r = field_list(v, t.redact, &t.n_redact, err);
		} else if (strcmp(k, "pseudonymize_fields") == 0) {
			r = field_list(v, t.pseudonymize, &t.n_pseudonymize, err);
		} else {
			snprintf(err, 128, "sensor: unknown key \"%.64s\"", k);
			r = -EINVAL;
		}
		if (r != 0 && err[0] == '\0')
			snprintf(err, 128, "sensor: \"%.64s\" has an invalid value", k);
	}
	if (r != 0) {
		sensor_settings_free(&t);
		return r;
	}
	for (i = 0; i < s->n_redact; i++)
		free(s->redact[i]);
	for (i = 0; i < s->n_pseudonymize; i++)
		free(s->pseudonymize[i]);
	*s = t;
	return 0;
}

int
sensor_manifest_check(const cJSON *o, char err[128])
{
	struct sensor_settings s;
	int r;

	if (sensor_settings_defaults(&s, NULL, err) != 0)
		return -ENOMEM;
	r = sensor_settings_tighten(&s, o, err);
	sensor_settings_free(&s);
	return r;
}

enum sensor_mode
sensor_manifest_mode(const char *json)
{
	cJSON *o = json != NULL ? cJSON_Parse(json) : NULL;
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "mode");
	enum sensor_mode r = cJSON_IsString(m) && strcmp(m->valuestring, "stream") == 0
	    ? SENSOR_MODE_STREAM : SENSOR_MODE_INTERVAL;

	cJSON_Delete(o);
	return r;
}

char *
sensor_settings_to_json(const struct sensor_settings *s)
{
	cJSON *o = cJSON_CreateObject(), *a;
	char *text = NULL;
	size_t i;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "mode", s->mode == SENSOR_MODE_STREAM ? "stream" : "interval");
	cJSON_AddNumberToObject(o, "interval_ms", (double)s->interval_ms);
	cJSON_AddNumberToObject(o, "rate_limit", (double)s->rate_limit);
	cJSON_AddNumberToObject(o, "burst", (double)s->burst);
	cJSON_AddNumberToObject(o, "max_event_size", (double)s->max_event_size);
	cJSON_AddNumberToObject(o, "report_window_ms", (double)s->report_window_ms);
	a = cJSON_AddArrayToObject(o, "redact_fields");
	for (i = 0; a != NULL && i < s->n_redact; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->redact[i]));
	a = cJSON_AddArrayToObject(o, "pseudonymize_fields");
	for (i = 0; a != NULL && i < s->n_pseudonymize; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(s->pseudonymize[i]));
	text = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return text;
}

int
sensor_settings_from_json(struct sensor_settings *s, const char *text, char err[128])
{
	cJSON *o = cJSON_Parse(text ? text : "");
	const cJSON *v;
	int r = 0;

	memset(s, 0, sizeof(*s));
	err[0] = '\0';
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		snprintf(err, 128, "sensor settings: not a JSON object");
		return -EINVAL;
	}
	v = cJSON_GetObjectItemCaseSensitive(o, "mode");
	s->mode = cJSON_IsString(v) && strcmp(v->valuestring, "stream") == 0 ? SENSOR_MODE_STREAM
	    : SENSOR_MODE_INTERVAL;
	if (json_count(cJSON_GetObjectItemCaseSensitive(o, "interval_ms"), INTERVAL_MAX_MS,
	    &s->interval_ms) != 0 ||
	    json_count(cJSON_GetObjectItemCaseSensitive(o, "rate_limit"), 10000000, &s->rate_limit) != 0 ||
	    json_count(cJSON_GetObjectItemCaseSensitive(o, "burst"), 100000000, &s->burst) != 0 ||
	    s->burst == 0 ||
	    json_count(cJSON_GetObjectItemCaseSensitive(o, "max_event_size"), SENSOR_EVENT_MAX,
	    &s->max_event_size) != 0 || s->max_event_size == 0 ||
	    json_count(cJSON_GetObjectItemCaseSensitive(o, "report_window_ms"), INTERVAL_MAX_MS,
	    &s->report_window_ms) != 0 || s->report_window_ms == 0) {
		snprintf(err, 128, "sensor settings: invalid limits");
		r = -EINVAL;
	}
	if (r == 0)
		r = field_list(cJSON_GetObjectItemCaseSensitive(o, "redact_fields"), s->redact,
		    &s->n_redact, err);
	if (r == 0)
		r = field_list(cJSON_GetObjectItemCaseSensitive(o, "pseudonymize_fields"),
		    s->pseudonymize, &s->n_pseudonymize, err);
	cJSON_Delete(o);
	if (r != 0)
		sensor_settings_free(s);
	return r;
}

void
sensor_settings_apply(const struct sensor_settings *s, struct sensor_config *c)
{
	size_t i;

	c->rate_per_sec = (double)s->rate_limit;
	c->burst = (double)s->burst;
	c->max_event_bytes = (size_t)s->max_event_size;
	c->report_window_ms = s->report_window_ms;
	for (i = 0; i < s->n_redact; i++)
		c->redact[i] = s->redact[i];
	c->n_redact = s->n_redact;
	for (i = 0; i < s->n_pseudonymize; i++)
		c->pseudonymize[i] = s->pseudonymize[i];
	c->n_pseudonymize = s->n_pseudonymize;
}
