/* see spawner.h */
#include "agent/spawner.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/sensor.h"
#include "base/fileio.h"
#include "base/timefmt.h"

#define SPAWNER_STDERR_LINES 256
#define SPAWNER_SENSOR_OUTPUT_MAX ((int64_t)64 << 20)

/* sensor plugins (spawner_sensor_round, below) */
static void sensor_plan(struct spawner *sp, struct spawner_job *j);
static void sensor_stream_result(struct spawner *sp, struct spawner_job *j, cJSON *res);
static int sensor_pump(int sock, struct spawner_job *j);

int
spawner_init(struct spawner *sp, const struct sandbox_policy *local, const char *plugins_dir,
    enum manifest_type type, size_t max_jobs, struct event_log *log)
{
	size_t i;

	memset(sp, 0, sizeof(*sp));
	if (local == NULL || plugins_dir == NULL || max_jobs == 0 || max_jobs > SPAWNER_MAX_JOBS)
		return -EINVAL;
	sp->local = local;
	sp->plugins_dir = plugins_dir;
	sp->type = type;
	sp->max_jobs = max_jobs;
	sp->log = log;
	for (i = 0; i < SPAWNER_MAX_JOBS; i++)
		sp->jobs[i].out_fd = sp->jobs[i].err_fd = -1;
	sandbox_probe_quick(&sp->probe);
	netns_pool_init(&sp->netns, max_jobs);
	return 0;
}

size_t
spawner_running(const struct spawner *sp)
{
	size_t i, n = 0;

	for (i = 0; i < SPAWNER_MAX_JOBS; i++)
		n += sp->jobs[i].used;
	return n;
}

static void
job_clear(struct spawner_job *j)
{
	if (j->running)
		sandbox_run_free(&j->run);
	if (j->have_filter)
		sandbox_filter_free(&j->filter);
	request_plan_free(&j->plan);
	if (j->out_fd >= 0)
		close(j->out_fd);
	if (j->err_fd >= 0)
		close(j->err_fd);
	/* The run is reaped (sandbox_run_free above, or the failed spawn
	 * did it): no process of it is left in the namespace. */
	if (j->netns != NULL)
		netns_pool_put(j->netns, j->netns_slot);
	memset(j, 0, sizeof(*j));
	j->out_fd = j->err_fd = -1;
}

static int
send_refused(struct spawner *sp, int sock, const char *job_id, const char *reason)
{
	struct msg r;
	cJSON *d;

	sp->refused++;
	if (sp->log != NULL && (d = cJSON_CreateObject()) != NULL) {
		cJSON_AddStringToObject(d, "job_id", job_id);
		cJSON_AddStringToObject(d, "reason", reason);
		event_emit(sp->log, EVENT_WARN, "job_refused", d);
	}
	msg_init(&r, MSG_JOB_REFUSED);
	snprintf(r.job_id, sizeof(r.job_id), "%s", job_id);
	r.text = (char *)reason;
	return msg_send(sock, &r);
}

static int
capture_fd(const char *name)
{
	return (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);
}

/* A pooled network namespace for job `j` where the rules allow one
 * (netns.h); the job holds the slot until job_clear.  Returns its
 * descriptor (borrowed), or -1: the sandbox makes a fresh one.  A pool
 * that cannot be built is reported once and never fails a job. */
static int
job_netns(struct spawner *sp, struct spawner_job *j)
{
	int slot, cerr;

	if (!sandbox_netns_joinable(&j->plan.policy, &sp->probe))
		return -1;
	slot = netns_pool_take(&sp->netns, &cerr);
	if (cerr != 0 && sp->log != NULL) {
		cJSON *d = cJSON_CreateObject();

		cJSON_AddNumberToObject(d, "errno", -cerr);
		cJSON_AddStringToObject(d, "error", strerror(-cerr));
		cJSON_AddStringToObject(d, "fallback", "a fresh network namespace per job");
		event_emit(sp->log, EVENT_WARN, "sandbox_netns_pool_unavailable", d);
	}
	if (slot < 0)
		return -1;
	j->netns = &sp->netns;
	j->netns_slot = slot;
	return netns_pool_fd(&sp->netns, slot);
}

static int
start_job(struct spawner *sp, int sock, const struct msg *m)
{
	char err[REQUEST_ERR_LEN], serr[SANDBOX_ERR_LEN];
	struct spawner_job *j = NULL;
	enum request_status st;
	char *argv[2];
	struct msg r;
	size_t i;
	int in_fd = -1, rc;

	if (sp->lockdown)
		return send_refused(sp, sock, m->job_id, "agent is in lockdown");
	for (i = 0; i < SPAWNER_MAX_JOBS; i++)
		if (sp->jobs[i].used && strcmp(sp->jobs[i].id, m->job_id) == 0)
			return send_refused(sp, sock, m->job_id, "a job with this id is running");
	if (spawner_running(sp) >= sp->max_jobs)
		return send_refused(sp, sock, m->job_id, "max_concurrent_jobs reached");
	for (i = 0; i < SPAWNER_MAX_JOBS && j == NULL; i++)
		if (!sp->jobs[i].used)
			j = &sp->jobs[i];
	if (j == NULL)
		return send_refused(sp, sock, m->job_id, "max_concurrent_jobs reached");
	st = request_check(sp->local, sp->plugins_dir, sp->type, m, &j->plan, err);
	if (st != REQUEST_OK) {
		char reason[REQUEST_ERR_LEN + 40];

		snprintf(reason, sizeof(reason), "%s: %s", request_status_name(st), err);
		return send_refused(sp, sock, m->job_id, reason);
	}
	j->used = true;
	snprintf(j->id, sizeof(j->id), "%s", m->job_id);
	sensor_plan(sp, j);
	/* prepared, not compiled: sandbox_spawn compiles it right after its
	 * clone, while the child sets up its namespaces (filter.h); the
	 * policy it borrows lives in the job until job_clear */
	if (sandbox_filter_prepare(&j->plan.policy, sp->probe.seccomp_user_notif, &j->filter, serr) != 0)
		goto fail;
	j->have_filter = true;
	in_fd = capture_fd("stavily-job-args");
	j->out_fd = capture_fd("stavily-job-stdout");
	j->err_fd = capture_fd("stavily-job-stderr");
	if (in_fd < 0 || j->out_fd < 0 || j->err_fd < 0) {
		snprintf(serr, sizeof(serr), "memfd_create: %s", strerror(errno));
		goto fail;
	}
	if (fd_write_all(in_fd, m->args, strlen(m->args)) != 0 || lseek(in_fd, 0, SEEK_SET) != 0) {
		snprintf(serr, sizeof(serr), "cannot write the job's arguments");
		goto fail;
	}
	argv[0] = j->plan.manifest.name;
	argv[1] = NULL;
	/* request_check hashed plan.exec_fd: the sandbox execs from that very
	 * descriptor, so what runs is exactly what was hashed (manifest.h). */
	rc = sandbox_run_start_netns(&j->run, &j->plan.policy, &j->filter, &sp->probe,
	    j->plan.program, j->plan.exec_fd, job_netns(sp, j), argv, in_fd, sp->log, j->out_fd,
	    j->err_fd, serr);
	close(j->plan.exec_fd);
	j->plan.have_exec_fd = false;
	if (rc != 0)
		goto fail;
	j->running = true;
	close(in_fd);
	msg_init(&r, MSG_JOB_STARTED);
	snprintf(r.job_id, sizeof(r.job_id), "%s", j->id);
	r.pid = (uint32_t)j->run.c.pid;
	return msg_send(sock, &r);
fail:
	if (in_fd >= 0)
		close(in_fd);
	job_clear(j);
	{
		char reason[SANDBOX_ERR_LEN + 16];

		snprintf(reason, sizeof(reason), "sandbox: %s", serr);
		return send_refused(sp, sock, m->job_id, reason);
	}
}

/* Replace bytes that would make the JSON text invalid UTF-8 or unreadable
 * (output is untrusted and is only shown to people). */
static void
sanitize(char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80 || (s[i] < 0x20 && s[i] != '\t'))
			s[i] = '?';
}

static cJSON *
read_capture(int fd, bool as_lines)
{
	char *buf = NULL, *p, *nl;
	size_t len = 0, lines = 0;
	cJSON *v = NULL;
	int r;

	if (lseek(fd, 0, SEEK_SET) != 0)
		return NULL;
	r = fd_read_all(fd, MSG_TEXT_MAX, &buf, &len);
	if (r == -EFBIG) {
		v = cJSON_CreateObject();
		cJSON_AddBoolToObject(v, "truncated", 1);
		return v;
	}
	if (r != 0)
		return NULL;
	if (!as_lines) {
		const char *end = NULL;

		v = len ? cJSON_ParseWithLengthOpts(buf, len, &end, 0) : NULL;
		if (v != NULL) {
			for (; (size_t)(end - buf) < len; end++)
				if (*end != ' ' && *end != '\n' && *end != '\r' && *end != '\t')
					break;
			if ((size_t)(end - buf) != len) {
				cJSON_Delete(v);
				v = NULL;
			}
		}
		if (v == NULL) {
			sanitize(buf, len);
			v = cJSON_CreateString(buf);
		}
		free(buf);
		return v;
	}
	v = cJSON_CreateArray();
	for (p = buf; v != NULL && p < buf + len && lines < SPAWNER_STDERR_LINES; p = nl + 1, lines++) {
		nl = memchr(p, '\n', (size_t)(buf + len - p));
		if (nl == NULL)
			nl = buf + len;
		*nl = '\0';
		sanitize(p, (size_t)(nl - p));
		cJSON_AddItemToArray(v, cJSON_CreateString(p));
	}
	free(buf);
	return v;
}

/* A sensor run's stdout, raw, in JOB_OUTPUT chunks (the worker cuts it into
 * lines).  At most SPAWNER_SENSOR_OUTPUT_MAX bytes (the supervisor's
 * max_output limits it first).  Returns the bytes sent or -errno. */
static int64_t
send_output(int sock, struct spawner_job *j)
{
	uint8_t *buf = malloc(MSG_DATA_MAX);
	int64_t off = 0;
	int rc = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (off < SPAWNER_SENSOR_OUTPUT_MAX) {
		ssize_t n = pread(j->out_fd, buf, MSG_DATA_MAX, (off_t)off);
		struct msg m;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		msg_init(&m, MSG_JOB_OUTPUT);
		snprintf(m.job_id, sizeof(m.job_id), "%s", j->id);
		m.stream = MSG_STREAM_STDOUT;
		m.data = buf;
		m.data_len = (size_t)n;
		rc = msg_send(sock, &m);
		if (rc != 0)
			break;
		off += n;
	}
	free(buf);
	return rc != 0 ? rc : off;
}

static int
finish_job(struct spawner *sp, int sock, struct spawner_job *j)
{
	cJSON *res = sandbox_run_result(&j->run), *out, *errl;
	char *text = NULL;
	struct msg r;
	int rc;

	if (res == NULL)
		res = cJSON_CreateObject();
	if (res == NULL)
		return -ENOMEM;
	cJSON_AddStringToObject(res, "job_id", j->id);
	cJSON_AddStringToObject(res, "plugin", j->plan.manifest.name);
	cJSON_AddStringToObject(res, "version", j->plan.manifest.version);
	if (sp->type == MANIFEST_SENSOR) {
		int64_t n = send_output(sock, j);

		if (n < 0) {
			cJSON_Delete(res);
			job_clear(j);
			return (int)n;
		}
		cJSON_AddNumberToObject(res, "stdout_bytes", (double)((uint64_t)n + j->streamed));
		if (j->stream)
			sensor_stream_result(sp, j, res);
		out = cJSON_CreateNull();
	} else
		out = read_capture(j->out_fd, false);
	errl = read_capture(j->err_fd, true);
	cJSON_AddBoolToObject(res, "stdout_valid_json", out != NULL && !cJSON_IsString(out));
	cJSON_AddItemToObject(res, "stdout", out ? out : cJSON_CreateNull());
	cJSON_AddItemToObject(res, "stderr", errl ? errl : cJSON_CreateArray());
	text = cJSON_PrintUnformatted(res);
	if (text != NULL && strlen(text) > MSG_TEXT_MAX) {
		free(text);
		cJSON_ReplaceItemInObject(res, "stdout", cJSON_CreateRaw("{\"truncated\":true}"));
		cJSON_ReplaceItemInObject(res, "stderr", cJSON_CreateRaw("{\"truncated\":true}"));
		text = cJSON_PrintUnformatted(res);
	}
	cJSON_Delete(res);
	if (text == NULL)
		return -ENOMEM;
	msg_init(&r, MSG_JOB_DONE);
	snprintf(r.job_id, sizeof(r.job_id), "%s", j->id);
	r.text = text;
	rc = msg_send(sock, &r);
	free(text);
	job_clear(j);
	return rc;
}

int
spawner_step(struct spawner *sp, int sock)
{
	size_t i;
	int rc = 0, r;

	for (i = 0; i < SPAWNER_MAX_JOBS; i++) {
		struct spawner_job *j = &sp->jobs[i];

		if (!j->used || !j->running)
			continue;
		if (sandbox_run_step(&j->run, 0) == 1) {
			if ((r = finish_job(sp, sock, j)) != 0 && rc == 0)
				rc = r;
		} else if (j->stream && (r = sensor_pump(sock, j)) != 0 && rc == 0) {
			rc = r;
		}
	}
	return rc;
}

static void
kill_all(struct spawner *sp)
{
	size_t i;

	for (i = 0; i < SPAWNER_MAX_JOBS; i++)
		if (sp->jobs[i].used && sp->jobs[i].running)
			sandbox_run_kill(&sp->jobs[i].run);
}

static int
send_status(struct spawner *sp, int sock)
{
	char text[256];
	struct msg r;

	snprintf(text, sizeof(text),
	    "{\"lockdown\":%s,\"running\":%zu,\"refused\":%llu,\"protocol_errors\":%llu}",
	    sp->lockdown ? "true" : "false", spawner_running(sp), (unsigned long long)sp->refused,
	    (unsigned long long)sp->protocol_errors);
	msg_init(&r, MSG_STATUS);
	r.text = text;
	return msg_send(sock, &r);
}

int
spawner_handle(struct spawner *sp, int sock, const struct msg *m)
{
	size_t i;

	switch (m->type) {
	case MSG_RUN_JOB:
		return start_job(sp, sock, m);
	case MSG_KILL_JOB:
		for (i = 0; i < SPAWNER_MAX_JOBS; i++)
			if (sp->jobs[i].used && sp->jobs[i].running && strcmp(sp->jobs[i].id, m->job_id) == 0)
				sandbox_run_kill(&sp->jobs[i].run);
		return 0;
	case MSG_LOCKDOWN:
		sp->lockdown = m->flag != 0;
		if (sp->lockdown)
			kill_all(sp);
		else
			sp->next_sensor_ms = 0;   /* sensors start again at once */
		if (sp->log != NULL)
			event_emit(sp->log, EVENT_WARN, sp->lockdown ? "lockdown_engaged" : "lockdown_released", NULL);
		return 0;
	case MSG_STATUS:
		return send_status(sp, sock);
	case MSG_SHUTDOWN:
		kill_all(sp);
		return 1;
	default:
		/* spawner->worker types coming the wrong way */
		sp->protocol_errors++;
		return 0;
	}
}

void
spawner_free(struct spawner *sp)
{
	size_t i;

	for (i = 0; i < SPAWNER_MAX_JOBS; i++) {
		struct spawner_job *j = &sp->jobs[i];

		if (!j->used)
			continue;
		if (j->running) {
			sandbox_run_kill(&j->run);
			sandbox_run_wait(&j->run);
		}
		job_clear(j);
	}
	/* every job is reaped: nothing else holds the pooled namespaces */
	netns_pool_close(&sp->netns);
}

/* After SHUTDOWN: the jobs were killed; wait (bounded) for each to be
 * reaped so its JOB_DONE still reaches the worker. */
static int
drain(struct spawner *sp, int sock)
{
	int i, rc = 0;

	for (i = 0; i < 500 && spawner_running(sp) > 0 && rc == 0; i++) {
		rc = spawner_step(sp, sock);
		if (spawner_running(sp) > 0)
			poll(NULL, 0, 10);
	}
	return rc;
}

/* ---- sensor plugins (sensor agents) ------------------------------------------ */

#define SENSOR_RESTART_MIN_MS 250
#define SENSOR_RESTART_BASE_MS 1000
#define SENSOR_RESTART_CAP_MS 60000

/* Streams: no wall_timeout, no max_output (spawner.h). */
static void
sensor_plan(struct spawner *sp, struct spawner_job *j)
{
	j->stream = sp->type == MANIFEST_SENSOR &&
	    sensor_manifest_mode(j->plan.manifest.sensor) == SENSOR_MODE_STREAM;
	j->streamed = 0;
	j->started_ms = time_mono_ms();
	if (j->stream) {
		j->plan.policy.wall_timeout_ms = 0;
		j->plan.policy.max_output = 0;
	}
}

static struct spawner_sensor *
sensor_entry(struct spawner *sp, const char *name, bool create)
{
	struct spawner_sensor *free_e = NULL;
	size_t i;

	for (i = 0; i < SPAWNER_MAX_JOBS; i++) {
		if (sp->sensors[i].used && strcmp(sp->sensors[i].name, name) == 0)
			return &sp->sensors[i];
		if (!sp->sensors[i].used && free_e == NULL)
			free_e = &sp->sensors[i];
	}
	if (!create || free_e == NULL)
		return NULL;
	memset(free_e, 0, sizeof(*free_e));
	if (backoff_init(&free_e->bo, SENSOR_RESTART_BASE_MS, SENSOR_RESTART_CAP_MS) != 0)
		return NULL;
	free_e->used = true;
	snprintf(free_e->name, sizeof(free_e->name), "%s", name);
	return free_e;
}

static uint64_t
restart_delay(struct spawner_sensor *e, uint64_t uptime_ms)
{
	/* a stream that ran a while was healthy: start over from base */
	if (uptime_ms >= SENSOR_RESTART_CAP_MS)
		backoff_reset(&e->bo);
	return SENSOR_RESTART_MIN_MS + backoff_next(&e->bo);
}

/* A stream's JOB_DONE: why it ended and when it comes back. */
static void
sensor_stream_result(struct spawner *sp, struct spawner_job *j, cJSON *res)
{
	struct spawner_sensor *e = sensor_entry(sp, j->plan.manifest.name, false);
	uint64_t now = time_mono_ms(), uptime = now - j->started_ms;

	cJSON_AddBoolToObject(res, "stream", 1);
	cJSON_AddNumberToObject(res, "uptime_ms", (double)uptime);
	if (e == NULL) {
		cJSON_AddNullToObject(res, "restart_in_ms");
		return;
	}
	if (sp->lockdown) {
		/* stopped by lockdown/quarantine: the first scan after it ends
		 * starts it again, without a delay */
		e->restart_pending = false;
		cJSON_AddNullToObject(res, "restart_in_ms");
		cJSON_AddStringToObject(res, "stopped", "lockdown");
	} else {
		uint64_t d = restart_delay(e, uptime);

		e->restart_pending = true;
		e->due_ms = now + d;
		e->restarts++;
		cJSON_AddNumberToObject(res, "restart_in_ms", (double)d);
	}
	cJSON_AddNumberToObject(res, "restarts", (double)e->restarts);
}

/* Send what a running stream wrote since the last call, then empty the
 * capture file (the supervisor writes to it only inside sandbox_run_step,
 * so nothing is lost between the read and the truncation). */
static int
sensor_pump(int sock, struct spawner_job *j)
{
	struct stat st;
	int64_t n;

	if (j->out_fd < 0 || fstat(j->out_fd, &st) != 0 || st.st_size == 0)
		return 0;
	n = send_output(sock, j);
	if (n < 0)
		return (int)n;
	j->streamed += (uint64_t)n;
	if (ftruncate(j->out_fd, 0) != 0 || lseek(j->out_fd, 0, SEEK_SET) != 0)
		return -errno;
	return 0;
}

static bool
sensor_running(const struct spawner *sp, const char *name)
{
	char prefix[MSG_ID_MAX + 1];
	size_t i;

	snprintf(prefix, sizeof(prefix), "sensor.%.36s.", name);
	for (i = 0; i < SPAWNER_MAX_JOBS; i++)
		if (sp->jobs[i].used && strncmp(sp->jobs[i].id, prefix, strlen(prefix)) == 0)
			return true;
	return false;
}

/* Settings of plugin `name` for the worker, then the run.  A stream that
 * could not start is tried again after a backoff delay. */
static int
start_sensor(struct spawner *sp, int sock, struct spawner_sensor *e, const struct manifest *mf,
    uint64_t now)
{
	struct sensor_settings st;
	char err[128];
	cJSON *o = NULL;
	struct msg m;
	int rc;

	if (sensor_settings_defaults(&st, sp->sensor_cfg, err) != 0)
		return -ENOMEM;
	if (mf->sensor != NULL && ((o = cJSON_Parse(mf->sensor)) == NULL ||
	    sensor_settings_tighten(&st, o, err) != 0)) {
		/* manifest_parse checked it: only allocation can fail here */
		cJSON_Delete(o);
		sensor_settings_free(&st);
		return -ENOMEM;
	}
	cJSON_Delete(o);
	/* the scan runs every sensor_interval_ms: a longer interval of the
	 * manifest is honoured at the first scan after it is over */
	if (st.interval_ms < sp->sensor_interval_ms)
		st.interval_ms = sp->sensor_interval_ms;
	e->stream = st.mode == SENSOR_MODE_STREAM;
	if (!e->stream)
		e->due_ms = now + st.interval_ms;
	msg_init(&m, MSG_SENSOR_CONFIG);
	snprintf(m.job_id, sizeof(m.job_id), "%s", e->name);
	m.text = sensor_settings_to_json(&st);
	sensor_settings_free(&st);
	if (m.text == NULL)
		return -ENOMEM;
	rc = msg_send(sock, &m);
	msg_free(&m);
	if (rc != 0)
		return rc;
	msg_init(&m, MSG_RUN_JOB);
	snprintf(m.job_id, sizeof(m.job_id), "sensor.%.36s.%llu", e->name,
	    (unsigned long long)++sp->sensor_runs);
	snprintf(m.plugin, sizeof(m.plugin), "%s", e->name);
	m.args = strdup("{}");
	rc = m.args ? start_job(sp, sock, &m) : -ENOMEM;
	msg_free(&m);
	e->restart_pending = false;
	if (rc == 0 && e->stream && !sensor_running(sp, e->name)) {
		e->restart_pending = true;
		e->due_ms = now + restart_delay(e, 0);
	}
	return rc;
}

/* Load the manifest of `name` and start it if it is a due sensor.  0, or
 * -errno of a send. */
static int
consider_sensor(struct spawner *sp, int sock, const char *name, bool scan, uint64_t now)
{
	struct spawner_sensor *e;
	struct manifest mf;
	char err[MANIFEST_ERR_LEN];
	int rc = 0;

	if (sensor_running(sp, name))
		return 0;
	e = sensor_entry(sp, name, scan);
	if (e == NULL)
		return 0;
	if (scan)
		e->seen = true;
	if (e->restart_pending ? now < e->due_ms : (!scan || (!e->stream && now < e->due_ms)))
		return 0;
	if (manifest_load(sp->plugins_dir, name, &mf, err) != MANIFEST_OK) {
		e->used = false;    /* gone or broken: forgotten until it is back */
		return 0;
	}
	if (mf.type == MANIFEST_SENSOR) {
		e->stream = sensor_manifest_mode(mf.sensor) == SENSOR_MODE_STREAM;
		rc = start_sensor(sp, sock, e, &mf, now);
	} else {
		e->used = false;
	}
	manifest_free(&mf);
	return rc;
}

int
spawner_sensor_round(struct spawner *sp, int sock, uint64_t now_ms)
{
	DIR *d;
	struct dirent *e;
	size_t i;
	int rc = 0;

	if (sp->type != MANIFEST_SENSOR || sp->sensor_interval_ms == 0 || sp->lockdown)
		return 0;
	if (now_ms < sp->next_sensor_ms) {
		/* between scans: only streams whose restart delay is over */
		for (i = 0; rc == 0 && i < SPAWNER_MAX_JOBS; i++)
			if (sp->sensors[i].used && sp->sensors[i].restart_pending &&
			    now_ms >= sp->sensors[i].due_ms)
				rc = consider_sensor(sp, sock, sp->sensors[i].name, false, now_ms);
		return rc;
	}
	sp->next_sensor_ms = now_ms + sp->sensor_interval_ms;
	d = opendir(sp->plugins_dir);
	if (d == NULL)
		return 0;
	for (i = 0; i < SPAWNER_MAX_JOBS; i++)
		sp->sensors[i].seen = false;
	/* bounded: at most 4096 entries looked at per scan */
	for (size_t seen = 0; rc == 0 && seen < 4096 && (e = readdir(d)) != NULL; seen++) {
		/* "sensor." + name + "." + a 20-digit counter must fit an id */
		char name[MSG_ID_MAX - 27];
		size_t len = strlen(e->d_name);

		if (len <= 5 || len - 5 >= sizeof(name) || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		memcpy(name, e->d_name, len - 5);
		name[len - 5] = '\0';
		if (!msg_id_valid(name))
			continue;
		rc = consider_sensor(sp, sock, name, true, now_ms);
	}
	closedir(d);
	/* plugins removed since: forget them (a running one ends on its own) */
	for (i = 0; i < SPAWNER_MAX_JOBS; i++)
		if (sp->sensors[i].used && !sp->sensors[i].seen && !sensor_running(sp, sp->sensors[i].name))
			sp->sensors[i].used = false;
	return rc;
}

/* The worker closed its end: not an error of ours, the loop just ends. */
static bool
gone(int r)
{
	return r == -EPIPE || r == -ECONNRESET;
}

int
spawner_run(struct spawner *sp, int sock)
{
	struct pollfd pfd[SPAWNER_MAX_JOBS + 1];
	struct msg m;
	size_t i, n;
	int r, rc = 0;

	for (;;) {
		n = 0;
		pfd[n].fd = sock;
		pfd[n++].events = POLLIN;
		for (i = 0; i < SPAWNER_MAX_JOBS; i++)
			if (sp->jobs[i].used && sp->jobs[i].running) {
				pfd[n].fd = sandbox_run_fd(&sp->jobs[i].run);
				pfd[n++].events = POLLIN;
			}
		/* The timeout bounds how late a timer-only step can be. */
		if (poll(pfd, n, 100) < 0 && errno != EINTR) {
			rc = -errno;
			break;
		}
		if ((r = spawner_step(sp, sock)) != 0 ||
		    (r = spawner_sensor_round(sp, sock, time_mono_ms())) != 0) {
			rc = gone(r) ? 0 : r;
			break;
		}
		if (!(pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		r = msg_recv(sock, &m, NULL);
		if (r == -EBADMSG) {
			sp->protocol_errors++;
			continue;
		}
		if (r == -EPIPE)
			break;
		if (r != 0) {
			rc = r;
			break;
		}
		r = spawner_handle(sp, sock, &m);
		msg_free(&m);
		if (r == 1) {
			rc = drain(sp, sock);
			rc = gone(rc) ? 0 : rc;
			break;
		}
		if (r < 0) {
			rc = gone(r) ? 0 : r;
			break;
		}
	}
	spawner_free(sp);
	return rc;
}
