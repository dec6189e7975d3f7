/* see event.h */
#include "event/event.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/timefmt.h"

/* A log rarely has more than three sinks (stderr, a file, the spool). */
#define EVENT_MAX_SINKS 8

enum sink_kind { SINK_FD, SINK_FILE, SINK_CALLBACK };

struct sink {
	enum sink_kind kind;
	int fd;
	char *path;          /* SINK_FILE */
	event_sink_fn fn;    /* SINK_CALLBACK */
	void *ctx;
};

struct event_log {
	char *component;
	char *agent_id;
	enum event_level min_level;
	struct sink sinks[EVENT_MAX_SINKS];
	size_t n_sinks;
	uint64_t dropped;
};

static const char *const level_names[] = { "DEBUG", "INFO", "WARN", "ERROR", "CRITICAL" };

const char *
event_level_name(enum event_level level)
{
	if ((unsigned)level >= ARRAY_SIZE(level_names))
		return "ERROR";
	return level_names[level];
}

int
event_level_parse(const char *s, enum event_level *out)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum event_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "WARNING") == 0) {
		*out = EVENT_WARN;
		return 0;
	}
	return -1;
}

struct event_log *
event_log_new(const char *component, const char *agent_id, enum event_level min_level)
{
	struct event_log *log = calloc(1, sizeof(*log));

	if (log == NULL)
		return NULL;
	log->component = strdup(component);
	log->agent_id = agent_id ? strdup(agent_id) : NULL;
	log->min_level = min_level;
	if (log->component == NULL || (agent_id != NULL && log->agent_id == NULL)) {
		event_log_free(log);
		return NULL;
	}
	return log;
}

void
event_log_free(struct event_log *log)
{
	size_t i;

	if (log == NULL)
		return;
	for (i = 0; i < log->n_sinks; i++) {
		if (log->sinks[i].kind == SINK_FILE) {
			if (log->sinks[i].fd >= 0)
				close(log->sinks[i].fd);
			free(log->sinks[i].path);
		}
	}
	free(log->component);
	free(log->agent_id);
	free(log);
}

int
event_log_set_agent_id(struct event_log *log, const char *agent_id)
{
	char *copy = NULL;

	if (agent_id != NULL && (copy = strdup(agent_id)) == NULL)
		return -ENOMEM;
	free(log->agent_id);
	log->agent_id = copy;
	return 0;
}

void
event_log_set_min_level(struct event_log *log, enum event_level min_level)
{
	log->min_level = min_level;
}

static struct sink *
new_sink(struct event_log *log)
{
	if (log->n_sinks >= EVENT_MAX_SINKS)
		return NULL;
	struct sink *s = &log->sinks[log->n_sinks];
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	return s;
}

int
event_log_add_fd(struct event_log *log, int fd)
{
	struct sink *s = new_sink(log);

	if (s == NULL)
		return -ENOSPC;
	s->kind = SINK_FD;
	s->fd = fd;
	log->n_sinks++;
	return 0;
}

static int
open_append(const char *path)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);

	return fd < 0 ? -errno : fd;
}

int
event_log_add_file(struct event_log *log, const char *path)
{
	struct sink *s = new_sink(log);
	int fd;

	if (s == NULL)
		return -ENOSPC;
	if ((s->path = strdup(path)) == NULL)
		return -ENOMEM;
	if ((fd = open_append(path)) < 0) {
		free(s->path);
		s->path = NULL;
		return fd;
	}
	s->kind = SINK_FILE;
	s->fd = fd;
	log->n_sinks++;
	return 0;
}

int
event_log_add_callback(struct event_log *log, event_sink_fn fn, void *ctx)
{
	struct sink *s = new_sink(log);

	if (s == NULL)
		return -ENOSPC;
	s->kind = SINK_CALLBACK;
	s->fn = fn;
	s->ctx = ctx;
	log->n_sinks++;
	return 0;
}

int
event_log_reopen(struct event_log *log)
{
	size_t i;
	int first = 0;

	for (i = 0; i < log->n_sinks; i++) {
		struct sink *s = &log->sinks[i];
		if (s->kind != SINK_FILE)
			continue;
		int fd = open_append(s->path);
		if (fd < 0) {
			/* Keep writing to the old file rather than losing events. */
			if (first == 0)
				first = fd;
			continue;
		}
		if (s->fd >= 0)
			close(s->fd);
		s->fd = fd;
	}
	return first;
}

uint64_t
event_log_dropped(const struct event_log *log)
{
	return log->dropped;
}

char *
event_format(const char *timestamp, enum event_level level, const char *component,
    const char *agent_id, const char *event, const cJSON *details)
{
	char now[TIMEFMT_RFC3339_LEN];
	cJSON *o = NULL, *d = NULL;
	char *line = NULL;

	if (timestamp == NULL) {
		timefmt_now(now);
		timestamp = now;
	}
	if ((o = cJSON_CreateObject()) == NULL)
		goto out;
	/* cJSON keeps insertion order, which is the documented key order. */
	if (!cJSON_AddStringToObject(o, "timestamp", timestamp) ||
	    !cJSON_AddStringToObject(o, "level", event_level_name(level)) ||
	    !cJSON_AddStringToObject(o, "component", component) ||
	    (agent_id != NULL && !cJSON_AddStringToObject(o, "agent_id", agent_id)) ||
	    !cJSON_AddStringToObject(o, "event", event))
		goto out;
	d = details ? cJSON_Duplicate(details, 1) : cJSON_CreateObject();
	if (d == NULL)
		goto out;
	if (!cJSON_AddItemToObject(o, "details", d)) {
		cJSON_Delete(d);
		goto out;
	}
	line = cJSON_PrintUnformatted(o);
	if (line != NULL && strlen(line) > EVENT_MAX_LINE) {
		free(line);
		line = NULL;
	}
out:
	cJSON_Delete(o);
	return line;
}

void
event_emit(struct event_log *log, enum event_level level, const char *event, cJSON *details)
{
	char *line = NULL;
	size_t i, len;

	if (log == NULL || level < log->min_level)
		goto out;
	line = event_format(NULL, level, log->component, log->agent_id, event, details);
	if (line == NULL) {
		log->dropped++;
		goto out;
	}
	len = strlen(line);
	for (i = 0; i < log->n_sinks; i++) {
		struct sink *s = &log->sinks[i];
		if (s->kind == SINK_CALLBACK) {
			s->fn(s->ctx, level, event, line, len);
			continue;
		}
		/* One write per line: with O_APPEND, concurrent writers (agent
		 * worker, spawner) never interleave inside a line. */
		line[len] = '\n';
		if (s->fd < 0 || fd_write_all(s->fd, line, len + 1) < 0)
			log->dropped++;
		line[len] = '\0';
	}
out:
	free(line);
	cJSON_Delete(details);
}
