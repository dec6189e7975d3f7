/*
 * test_sensor_settings.c: the sensor settings of agent/sensor.h: the
 * agent's defaults, a manifest's stricter-only "sensor" object, the JSON the
 * spawner sends to the worker, and the manifest check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/manifest.h"
#include "agent/msg.h"
#include "agent/sensor.h"
#include "config/config.h"
#include "harness.h"

static int
tighten(struct sensor_settings *s, const char *json, char err[128])
{
	cJSON *o = cJSON_Parse(json);
	int r = sensor_settings_tighten(s, o, err);

	cJSON_Delete(o);
	return r;
}

static void
test_defaults(void)
{
	struct sensor_settings s;
	struct config_sensor c;
	char *redact[] = { "secret", "user.password" }, *pseudo[] = { "user.email" };
	char err[128];

	CHECK_EQ_INT(sensor_settings_defaults(&s, NULL, err), 0);
	CHECK(s.mode == SENSOR_MODE_INTERVAL);
	CHECK(s.rate_limit == 5000 && s.burst == 20000 && s.max_event_size == 16384);
	CHECK(s.report_window_ms == 10000 && s.n_redact == 0 && s.n_pseudonymize == 0);
	sensor_settings_free(&s);

	memset(&c, 0, sizeof(c));
	c.interval_ms = 2000;
	c.rate_limit = 10;
	c.burst = 5;
	c.max_event_size = 300;
	c.report_window_ms = 1000;
	c.redact_fields.v = redact;
	c.redact_fields.n = 2;
	c.pseudonymize_fields.v = pseudo;
	c.pseudonymize_fields.n = 1;
	CHECK_EQ_INT(sensor_settings_defaults(&s, &c, err), 0);
	CHECK(s.interval_ms == 2000 && s.rate_limit == 10 && s.burst == 5);
	CHECK(s.max_event_size == 300 && s.report_window_ms == 1000);
	CHECK_EQ_INT((int)s.n_redact, 2);
	CHECK_EQ_STR(s.redact[1], "user.password");
	CHECK_EQ_INT((int)s.n_pseudonymize, 1);
	sensor_settings_free(&s);
	redact[1] = "user..password";
	CHECK_EQ_INT(sensor_settings_defaults(&s, &c, err), -EINVAL);
	CHECK(strstr(err, "field path") != NULL);
}

static void
test_tighten(void)
{
	struct sensor_settings s;
	char err[128];

	CHECK_EQ_INT(sensor_settings_defaults(&s, NULL, err), 0);
	s.interval_ms = 60000;
	CHECK_EQ_INT(tighten(&s, "{\"mode\":\"stream\",\"rate_limit\":10,\"burst\":3,"
	    "\"max_event_size\":\"1KiB\",\"interval\":\"5m\",\"redact_fields\":[\"a.b\"],"
	    "\"pseudonymize_fields\":[\"c\"]}", err), 0);
	CHECK(s.mode == SENSOR_MODE_STREAM);
	CHECK(s.rate_limit == 10 && s.burst == 3 && s.max_event_size == 1024);
	CHECK(s.interval_ms == 300000);
	CHECK(s.n_redact == 1 && strcmp(s.redact[0], "a.b") == 0);
	CHECK(s.n_pseudonymize == 1 && strcmp(s.pseudonymize[0], "c") == 0);
	/* looser values are ignored; fields only add (no duplicates) */
	CHECK_EQ_INT(tighten(&s, "{\"rate_limit\":0,\"burst\":100,\"max_event_size\":65536,"
	    "\"interval\":1000,\"redact_fields\":[\"a.b\",\"d\"]}", err), 0);
	CHECK(s.rate_limit == 10 && s.burst == 3 && s.max_event_size == 1024);
	CHECK(s.interval_ms == 300000);
	CHECK_EQ_INT((int)s.n_redact, 2);
	/* a rate on an agent without one (0 = none) applies */
	s.rate_limit = 0;
	CHECK_EQ_INT(tighten(&s, "{\"rate_limit\":7}", err), 0);
	CHECK(s.rate_limit == 7);
	/* errors leave the settings as they were */
	CHECK_EQ_INT(tighten(&s, "{\"rate_limit\":1,\"nope\":1}", err), -EINVAL);
	CHECK(strstr(err, "unknown key") != NULL);
	CHECK(s.rate_limit == 7 && s.n_redact == 2);
	CHECK_EQ_INT(tighten(&s, "{\"mode\":\"sometimes\"}", err), -EINVAL);
	CHECK_EQ_INT(tighten(&s, "{\"burst\":0}", err), -EINVAL);
	CHECK_EQ_INT(tighten(&s, "{\"rate_limit\":1.5}", err), -EINVAL);
	CHECK_EQ_INT(tighten(&s, "{\"rate_limit\":-1}", err), -EINVAL);
	CHECK_EQ_INT(tighten(&s, "{\"max_event_size\":\"2MB\"}", err), -EINVAL);
	CHECK_EQ_INT(tighten(&s, "{\"redact_fields\":\"x\"}", err), -EINVAL);
	CHECK_EQ_INT(tighten(&s, "{\"redact_fields\":[\".x\"]}", err), -EINVAL);
	CHECK_EQ_INT(tighten(&s, "{\"rate_limit\":1,\"rate_limit\":2}", err), -EINVAL);
	CHECK(strstr(err, "duplicate") != NULL);
	CHECK_EQ_INT(tighten(&s, "[]", err), -EINVAL);
	CHECK(s.rate_limit == 7 && s.n_redact == 2 && s.mode == SENSOR_MODE_STREAM);
	sensor_settings_free(&s);
}

static void
test_json_roundtrip(void)
{
	struct sensor_settings s, t;
	char err[128], *a, *b;

	CHECK_EQ_INT(sensor_settings_defaults(&s, NULL, err), 0);
	CHECK_EQ_INT(tighten(&s, "{\"mode\":\"stream\",\"rate_limit\":9,\"redact_fields\":[\"x.y\"],"
	    "\"pseudonymize_fields\":[\"z\"]}", err), 0);
	a = sensor_settings_to_json(&s);
	CHECK(a != NULL);
	CHECK_EQ_INT(sensor_settings_from_json(&t, a, err), 0);
	b = sensor_settings_to_json(&t);
	CHECK(b != NULL && strcmp(a, b) == 0);
	CHECK(t.mode == SENSOR_MODE_STREAM && t.rate_limit == 9 && t.n_redact == 1);
	free(a);
	free(b);
	sensor_settings_free(&t);
	sensor_settings_free(&s);
	CHECK_EQ_INT(sensor_settings_from_json(&t, "{\"mode\":\"stream\"}", err), -EINVAL);
	CHECK_EQ_INT(sensor_settings_from_json(&t, "nope", err), -EINVAL);
	CHECK(sensor_manifest_mode("{\"mode\":\"stream\"}") == SENSOR_MODE_STREAM);
	CHECK(sensor_manifest_mode(NULL) == SENSOR_MODE_INTERVAL);
	CHECK(sensor_manifest_mode("garbage") == SENSOR_MODE_INTERVAL);
}

static void
test_manifest(void)
{
	static const char head[] = "{\"name\":\"s\",\"version\":\"1\",\"executable\":\"s\","
	    "\"sha256\":\"0000000000000000000000000000000000000000000000000000000000000000\",";
	char text[1024], err[MANIFEST_ERR_LEN];
	struct manifest m;

	snprintf(text, sizeof(text), "%s\"type\":\"sensor\",\"sensor\":{\"mode\":\"stream\",\"burst\":4}}", head);
	CHECK_EQ_INT(manifest_parse(text, strlen(text), "s", &m, err), MANIFEST_OK);
	CHECK(m.sensor != NULL && sensor_manifest_mode(m.sensor) == SENSOR_MODE_STREAM);
	manifest_free(&m);
	snprintf(text, sizeof(text), "%s\"type\":\"sensor\"}", head);
	CHECK_EQ_INT(manifest_parse(text, strlen(text), "s", &m, err), MANIFEST_OK);
	CHECK(m.sensor == NULL);
	manifest_free(&m);
	snprintf(text, sizeof(text), "%s\"type\":\"sensor\",\"sensor\":{\"rate\":1}}", head);
	CHECK_EQ_INT(manifest_parse(text, strlen(text), "s", &m, err), MANIFEST_E_MALFORMED);
	CHECK(strstr(err, "unknown key") != NULL);
	snprintf(text, sizeof(text), "%s\"type\":\"action\",\"sensor\":{\"burst\":1}}", head);
	CHECK_EQ_INT(manifest_parse(text, strlen(text), "s", &m, err), MANIFEST_E_MALFORMED);
	CHECK(strstr(err, "only for plugins of type sensor") != NULL);
}

/* collects forwarded lines of one sensor */
static char last[512];
static void
on_emit(void *ctx, const char *line, size_t len)
{
	(void)ctx;
	snprintf(last, sizeof(last), "%.*s", (int)len, line);
}

static void
on_report(void *ctx, const char *event, cJSON *d)
{
	(void)ctx;
	(void)event;
	cJSON_Delete(d);
}

static void
test_apply(void)
{
	struct sensor_settings s;
	struct sensor_config c;
	struct sensor *sn;
	char err[128];
	const char line[] = "{\"secret\":\"x\",\"u\":{\"mail\":\"a@b\"}}\n";

	CHECK_EQ_INT(sensor_settings_defaults(&s, NULL, err), 0);
	CHECK_EQ_INT(tighten(&s, "{\"redact_fields\":[\"secret\"],\"pseudonymize_fields\":[\"u.mail\"],"
	    "\"burst\":1,\"rate_limit\":1}", err), 0);
	memset(&c, 0, sizeof(c));
	c.agent_id = "a1";
	c.tenant = "t";
	c.plugin = "p";
	c.emit = on_emit;
	c.report = on_report;
	c.first_sequence = 41;
	sensor_settings_apply(&s, &c);
	sn = sensor_new(&c, 0, err);
	sensor_settings_free(&s);   /* sensor_new copied what it needs */
	CHECK(sn != NULL);
	if (sn == NULL)
		return;
	sensor_feed(sn, line, strlen(line), 0);
	CHECK(strstr(last, "\"secret\":\"[REDACTED]\"") != NULL);
	CHECK(strstr(last, "\"mail\":\"hmac-sha256:") != NULL);
	CHECK(strstr(last, "\"sequence\":42") != NULL);
	CHECK(sensor_sequence(sn) == 42);
	sensor_feed(sn, line, strlen(line), 10);   /* burst 1, rate 1/s: dropped */
	CHECK(sensor_counters(sn).dropped_rate == 1);
	sensor_free(sn);
}

/* SENSOR_CONFIG (msg.h): plugin name + settings text, round trip; the
 * name is checked like a job id. */
static void
test_msg(void)
{
	static uint8_t buf[MSG_MAX];
	struct msg m, d;
	size_t len;

	msg_init(&m, MSG_SENSOR_CONFIG);
	snprintf(m.job_id, sizeof(m.job_id), "strm-1");
	m.text = strdup("{\"mode\":\"stream\"}");
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	CHECK_EQ_INT(msg_decode(buf, len, &d), MSG_OK);
	CHECK(d.type == MSG_SENSOR_CONFIG);
	CHECK_EQ_STR(d.job_id, "strm-1");
	CHECK(d.text != NULL && strcmp(d.text, m.text) == 0);
	msg_free(&d);
	snprintf(m.job_id, sizeof(m.job_id), "../x");
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_E_FIELD);
	msg_free(&m);
}

int
main(void)
{
	RUN(test_defaults);
	RUN(test_tighten);
	RUN(test_json_roundtrip);
	RUN(test_manifest);
	RUN(test_apply);
	RUN(test_msg);
	return HARNESS_EXIT();
}
