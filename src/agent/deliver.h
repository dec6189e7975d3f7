/*
 * deliver.h: what the worker owes the orchestrator, through the spool
 * (store/spool.h, DESIGN §5): job results and the agent's own events are
 * appended first, then sent, then what is still unacknowledged is fsync'd
 * (the worker's loop), and deleted only once acknowledged.
 *
 *   job result     record body {"job_id": "<id>", "result": {...}} (class
 *                  SPOOL_JOB_RESULT) -> POST /v1/agent/jobs/{id}/result; a
 *                  200 (also "duplicate": true) or a 404 (the job is gone:
 *                  retrying cannot help) acknowledges it.
 *   event          record body = the event's JSON line (class
 *                  SPOOL_SECURITY_EVENT) -> POST /v1/agent/events in batches
 *                  of at most DELIVER_BATCH, each event with "id" = its spool
 *                  id (unique for ever: 128 random bits), so a resend after
 *                  a crash is stored once; the ids in "acked" are acked.
 *   sensor event   the same, class SPOOL_SENSOR_EVENT (dropped first at the
 *                  spool's cap), sent in the same batches.
 * Delivery is at-least-once; nothing is deleted on a failed send.
 */
#ifndef STAVILY_AGENT_DELIVER_H
#define STAVILY_AGENT_DELIVER_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "agent/link.h"
#include "base/util.h"
#include "store/spool.h"

#define DELIVER_BATCH 200
#define DELIVER_BATCH_BYTES (48 * 1024)   /* the orchestrator takes 64 KiB bodies */

/* Append a job result.  Not synced: the worker posts it first and then
 * calls spool_sync (a result the orchestrator acknowledged is durable there;
 * any other is made durable by that sync, before anything is acknowledged
 * to anyone).  0 or -errno. */
int deliver_job_result(struct spool *s, const char *job_id, const cJSON *result) WARN_UNUSED;

/* Append one event line (not synced: the caller syncs per loop).  0 or -errno. */
int deliver_event(struct spool *s, const char *line, size_t len) WARN_UNUSED;

/* Append one sensor event line (class SPOOL_SENSOR_EVENT: the first data
 * dropped, oldest first, when the spool reaches its cap; sent like events).
 * Not synced.  0 or -errno (-ENOBUFS refused at the cap, -ENOSPC disk full). */
int deliver_sensor_event(struct spool *s, const char *line, size_t len) WARN_UNUSED;

/* Send what is waiting (one batch of each kind per call).  Returns the
 * number of records acknowledged, or <0 when sending failed (records kept). */
int deliver_flush(struct spool *s, struct link *l) WARN_UNUSED;

#endif
