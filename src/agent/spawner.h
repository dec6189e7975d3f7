/*
 * spawner.h: the privileged half of `agent run` (privsep.h): it reads
 * requests from the worker, checks them (request.h), runs accepted jobs in
 * sandboxes (sandbox/supervisor.h) and reports back.  It never parses
 * anything from the network: only msg.h datagrams from the worker, which it
 * treats as hostile.
 *
 * Messages handled (worker -> spawner):
 *   RUN_JOB   refused with JOB_REFUSED {reason} when in lockdown, when
 *             max_jobs run already, when the job id is already running, or
 *             when request_check() refuses it; else JOB_STARTED {pid}, and
 *             later JOB_DONE {result JSON}.
 *   KILL_JOB  kills that job (its JOB_DONE follows, with signal 9).
 *   LOCKDOWN  1: kills every running job and refuses new ones; 0: ends it.
 *   STATUS    answered with STATUS {"lockdown":bool,"running":N,"refused":N,
 *             "protocol_errors":N}.
 *   SHUTDOWN  kills every job; spawner_run() returns.
 * Anything else, or an undecodable datagram, counts as a protocol error
 * (reported in STATUS) and is otherwise ignored.
 *
 * Job I/O: the arguments JSON is the plugin's stdin; stdout and stderr are
 * captured (at most the policy's max_output, enforced by the supervisor).
 * The result is the supervisor's result object plus "job_id", "plugin",
 * "version", "stdout" (the JSON value the plugin printed, or a string with
 * "stdout_valid_json": false) and "stderr" (array of lines); outputs that
 * would not fit in one message are replaced by {"truncated": true}.
 * Sensor spawners (type MANIFEST_SENSOR) send a run's stdout raw in
 * JOB_OUTPUT chunks (stream stdout, up to 64 MiB) before JOB_DONE, whose
 * "stdout" is then null and "stdout_bytes" the size sent; a streaming
 * sensor's chunks are sent while it runs (spawner_sensor_round).
 *
 * Network namespaces: a root spawner lends its jobs loopback-only network
 * namespaces from a pool, one per job slot (netns.h), where the rules
 * allow; the result's layers.netns says "reused", "fresh" or "host".
 */
#ifndef STAVILY_AGENT_SPAWNER_H
#define STAVILY_AGENT_SPAWNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/backoff.h"
#include "agent/manifest.h"
#include "agent/msg.h"
#include "agent/netns.h"
#include "agent/request.h"
#include "base/util.h"
#include "event/event.h"
#include "sandbox/filter.h"
#include "sandbox/probe.h"
#include "sandbox/supervisor.h"

#define SPAWNER_MAX_JOBS 64

struct config_sensor;   /* config/config.h */

struct spawner_job {
	bool used;
	char id[MSG_ID_MAX + 1];
	struct request_plan plan;
	struct sandbox_filter filter;
	bool have_filter;
	struct sandbox_run run;
	bool running;
	int out_fd, err_fd;               /* capture files (memfd) */
	bool stream;                      /* a streaming sensor (see spawner_sensor_round) */
	uint64_t streamed;                /* stdout bytes already sent while it ran */
	uint64_t started_ms;              /* monotonic start time */
	struct netns_pool *netns;         /* the pool lending it netns_slot, NULL = none */
	int netns_slot;                   /* given back by job_clear, after the reaping */
};

/* One installed sensor plugin the spawner runs (sensor agents). */
struct spawner_sensor {
	bool used;
	bool seen;                        /* found by the last directory scan */
	bool stream;                      /* manifest "sensor": {"mode": "stream"} */
	bool restart_pending;             /* stream: exited, restart at due_ms */
	uint64_t due_ms;                  /* interval: next run; stream: restart time */
	uint64_t restarts;                /* stream restarts so far */
	struct backoff bo;                /* stream restart delays (jittered) */
	char name[MSG_ID_MAX + 1];
};

struct spawner {
	const struct sandbox_policy *local;  /* borrowed */
	const char *plugins_dir;             /* borrowed */
	enum manifest_type type;
	struct sandbox_probe probe;
	struct event_log *log;               /* borrowed, may be NULL */
	size_t max_jobs;                     /* 1..SPAWNER_MAX_JOBS */
	bool lockdown;
	uint64_t refused, protocol_errors;
	uint64_t sensor_interval_ms;         /* sensor agents: 0 = no sensor runs */
	uint64_t next_sensor_ms;             /* monotonic time of the next round */
	uint64_t sensor_runs;                /* numbers the synthetic job ids */
	const struct config_sensor *sensor_cfg; /* borrowed; NULL = sensor.h built-in defaults */
	struct spawner_sensor sensors[SPAWNER_MAX_JOBS];
	struct spawner_job jobs[SPAWNER_MAX_JOBS];
	/* Loopback-only network namespaces the jobs join, one per job slot,
	 * created at the first job that needs one (netns.h, docs/agent.md). */
	struct netns_pool netns;
};

/* Initialise (probes the sandbox layers, no fork).  Returns 0 or -EINVAL. */
int spawner_init(struct spawner *sp, const struct sandbox_policy *local, const char *plugins_dir,
    enum manifest_type type, size_t max_jobs, struct event_log *log) WARN_UNUSED;

/*
 * Handle one decoded message from the worker on `sock`.  Returns 1 after
 * SHUTDOWN, 0 otherwise, or -errno if replying failed.
 */
int spawner_handle(struct spawner *sp, int sock, const struct msg *m) WARN_UNUSED;

/* Advance running jobs (non-blocking); finished ones send JOB_DONE on
 * `sock`.  Returns 0 or -errno of the send. */
int spawner_step(struct spawner *sp, int sock) WARN_UNUSED;

/*
 * Sensor agents (type MANIFEST_SENSOR and sensor_interval_ms > 0): every
 * sensor_interval_ms the plugins directory is scanned; each installed sensor
 * plugin (PLUGINS_DIR/NAME.json of type sensor) that is not running already
 * and is due is started like a job with the id "sensor.NAME.N" and
 * arguments {} under the local (sensor.sandbox) policy; the worker receives
 * SENSOR_CONFIG {its settings, agent/sensor.h: sensor_cfg made stricter by
 * the manifest}, then JOB_STARTED/JOB_OUTPUT/JOB_DONE/JOB_REFUSED as for a
 * job and recognises the "sensor." prefix.
 *   - interval plugins (default): due every sensor_interval_ms, or the
 *     manifest's longer "interval"; wall_timeout and max_output apply.
 *   - stream plugins (manifest "sensor": {"mode": "stream"}): started once
 *     and kept running: no wall_timeout, no max_output (the worker's
 *     per-event size and rate limits bound what it sends; memory, CPU share,
 *     processes and violations still apply); stdout is relayed in
 *     JOB_OUTPUT chunks as it arrives; when it exits (or cannot start) it
 *     is restarted after 250 ms + a full-jitter backoff (1 s doubling to
 *     60 s, reset after a run of 60 s or more).  Its JOB_DONE result carries
 *     "stream": true, "uptime_ms", "restarts" and "restart_in_ms" (null when
 *     it was stopped by lockdown/quarantine: restarted when that ends).
 * Lockdown stops every sensor and starts none.  Returns 0 or -errno of a send.
 */
int spawner_sensor_round(struct spawner *sp, int sock, uint64_t now_ms) WARN_UNUSED;

/* Number of running jobs. */
size_t spawner_running(const struct spawner *sp);

/*
 * The spawner's loop: poll the socket and the running jobs, until SHUTDOWN
 * or EOF from the worker (or a send that finds it gone).  Kills and reaps
 * every job before returning.  Returns 0 (SHUTDOWN, EOF) or -errno.
 */
int spawner_run(struct spawner *sp, int sock) WARN_UNUSED;

/* Kill and forget every job (no messages). */
void spawner_free(struct spawner *sp);

#endif
