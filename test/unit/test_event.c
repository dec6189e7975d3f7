/* Unit tests for event/event.c: the JSON line shape, levels and sinks. */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "base/fileio.h"
#include "event/event.h"

static void
test_exact_shape(void)
{
	cJSON *d = cJSON_CreateObject();
	char *line;

	cJSON_AddNumberToObject(d, "days_remaining", 7);
	cJSON_AddStringToObject(d, "certificate_id", "cert-123");
	line = event_format("2025-01-15T10:30:00.000Z", EVENT_WARN, "action-agent", "action-001",
	    "certificate_expiring", d);
	CHECK_EQ_STR(line, "{\"timestamp\":\"2025-01-15T10:30:00.000Z\",\"level\":\"WARN\","
	    "\"component\":\"action-agent\",\"agent_id\":\"action-001\",\"event\":\"certificate_expiring\","
	    "\"details\":{\"days_remaining\":7,\"certificate_id\":\"cert-123\"}}");
	free(line);
	/* no agent id: the key is absent; no details: {} */
	line = event_format("2025-01-15T10:30:00.000Z", EVENT_INFO, "orchestrator", NULL, "started", NULL);
	CHECK_EQ_STR(line, "{\"timestamp\":\"2025-01-15T10:30:00.000Z\",\"level\":\"INFO\","
	    "\"component\":\"orchestrator\",\"event\":\"started\",\"details\":{}}");
	free(line);
	cJSON_Delete(d);
}

static void
test_timestamp_now_is_rfc3339_ms(void)
{
	char *line = event_format(NULL, EVENT_INFO, "x", NULL, "e", NULL);
	cJSON *o = cJSON_Parse(line);
	const char *ts = cJSON_GetStringValue(cJSON_GetObjectItem(o, "timestamp"));

	CHECK(ts != NULL && strlen(ts) == 24);
	if (ts) {
		CHECK(ts[4] == '-' && ts[7] == '-' && ts[10] == 'T' && ts[13] == ':' && ts[16] == ':');
		CHECK(ts[19] == '.' && ts[23] == 'Z');
	}
	cJSON_Delete(o);
	free(line);
}

static void
test_escaping(void)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "path", "a\"b\n\x01");
	char *line = event_format("2025-01-15T10:30:00.000Z", EVENT_INFO, "x", NULL, "e", d);
	CHECK(line != NULL && strchr(line, '\n') == NULL);
	cJSON *o = cJSON_Parse(line);
	CHECK_EQ_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "details"), "path")),
	    "a\"b\n\x01");
	cJSON_Delete(o);
	cJSON_Delete(d);
	free(line);
}

static int cb_count;
static char cb_last[256];
static void
cb(void *ctx, enum event_level level, const char *event, const char *line, size_t len)
{
	cb_count++;
	snprintf(cb_last, sizeof(cb_last), "%s", event);
	CHECK(strlen(line) == len);
}

static void
test_levels_and_sinks(void)
{
	char dir[] = "/tmp/stavily-ev-XXXXXX", path[128], *buf;
	size_t len;
	struct event_log *log;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/events.log", dir);
	log = event_log_new("sandbox", NULL, EVENT_INFO);
	CHECK(log != NULL);
	CHECK(event_log_add_file(log, path) == 0);
	CHECK(event_log_add_callback(log, cb, NULL) == 0);
	event_emit(log, EVENT_DEBUG, "too_low", NULL);
	event_emit(log, EVENT_WARN, "blocked_syscall_attempt", cJSON_CreateObject());
	event_emit(log, EVENT_CRITICAL, "second", NULL);
	CHECK_EQ_INT(cb_count, 2);
	CHECK_EQ_STR(cb_last, "second");
	CHECK(file_read_all(path, 1 << 20, &buf, &len) == 0);
	CHECK(strstr(buf, "too_low") == NULL);
	CHECK(strstr(buf, "\"level\":\"WARN\",\"component\":\"sandbox\",\"event\":\"blocked_syscall_attempt\"") != NULL);
	/* two lines, each ending in a newline */
	CHECK(len > 0 && buf[len - 1] == '\n');
	CHECK(strchr(buf, '\n') != buf + len - 1);
	free(buf);
	/* rotation: the old file is renamed away, reopen starts a new one */
	char rotated[160];
	snprintf(rotated, sizeof(rotated), "%s.1", path);
	CHECK(rename(path, rotated) == 0);
	CHECK(event_log_reopen(log) == 0);
	event_emit(log, EVENT_ERROR, "after_rotate", NULL);
	CHECK(file_read_all(path, 1 << 20, &buf, &len) == 0);
	CHECK(strstr(buf, "after_rotate") != NULL && strstr(buf, "second") == NULL);
	free(buf);
	CHECK_EQ_INT(event_log_dropped(log), 0);
	event_log_free(log);
	unlink(path);
	unlink(rotated);
	rmdir(dir);
}

static void
test_broken_sink_counts_drops(void)
{
	struct event_log *log = event_log_new("x", "a1", EVENT_DEBUG);
	int p[2];

	CHECK(pipe(p) == 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK(event_log_add_fd(log, p[1]) == 0);
	CHECK(event_log_add_callback(log, cb, NULL) == 0);
	cb_count = 0;
	event_emit(log, EVENT_INFO, "lost_on_pipe", NULL);
	CHECK_EQ_INT(event_log_dropped(log), 1);
	CHECK_EQ_INT(cb_count, 1);   /* the other sink still got it */
	close(p[1]);
	event_log_free(log);
}

static void
test_oversized_details_dropped(void)
{
	struct event_log *log = event_log_new("x", NULL, EVENT_DEBUG);
	char *big = malloc(EVENT_MAX_LINE + 10);
	cJSON *d = cJSON_CreateObject();

	memset(big, 'a', EVENT_MAX_LINE + 9);
	big[EVENT_MAX_LINE + 9] = '\0';
	cJSON_AddStringToObject(d, "blob", big);
	CHECK(event_log_add_callback(log, cb, NULL) == 0);
	cb_count = 0;
	event_emit(log, EVENT_INFO, "huge", d);
	CHECK_EQ_INT(cb_count, 0);
	CHECK_EQ_INT(event_log_dropped(log), 1);
	free(big);
	event_log_free(log);
}

static void
test_level_parse(void)
{
	enum event_level l;
	CHECK(event_level_parse("warn", &l) == 0 && l == EVENT_WARN);
	CHECK(event_level_parse("CRITICAL", &l) == 0 && l == EVENT_CRITICAL);
	CHECK(event_level_parse("loud", &l) == -1);
	CHECK_EQ_STR(event_level_name(EVENT_DEBUG), "DEBUG");
}

int
main(void)
{
	RUN(test_exact_shape);
	RUN(test_timestamp_now_is_rfc3339_ms);
	RUN(test_escaping);
	RUN(test_levels_and_sinks);
	RUN(test_broken_sink_counts_drops);
	RUN(test_oversized_details_dropped);
	RUN(test_level_parse);
	return HARNESS_EXIT();
}
