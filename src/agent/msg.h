/*
 * msg.h: the typed messages between the agent's spawner and its network
 * worker (privsep.h), one message per SOCK_SEQPACKET datagram.
 *
 * Wire format (little-endian, fixed by us, not by the host):
 *   header  u16 type, u16 reserved (must be 0), u32 payload length
 *   payload the fields of that type, in order, nothing after them:
 *     str  u32 length + bytes (no NUL inside; each field has its own cap)
 *     u8 / u32 / u64 as written
 * The spawner treats the worker as hostile (it parses the network), so
 * msg_decode() is total: every length is checked against its named cap
 * before anything is allocated, every identifier against its character set,
 * unknown types, reserved bits, short and trailing bytes are errors.
 *
 * Types and fields (direction):
 *   RUN_JOB      worker->spawner  job_id, plugin, digest ("" or "sha256:<hex>"),
 *                                 args (JSON text), limits[] ("key=value")
 *   JOB_STARTED  spawner->worker  job_id, pid (u32)
 *   JOB_OUTPUT   spawner->worker  job_id, stream (u8: 1 stdout, 2 stderr), data
 *   JOB_DONE     spawner->worker  job_id, text (result JSON)
 *   JOB_REFUSED  spawner->worker  job_id, text (reason, human readable)
 *   KILL_JOB     worker->spawner  job_id
 *   LOCKDOWN     worker->spawner  flag (u8 0 release / 1 engage)
 *   SHUTDOWN     either           (empty)
 *   STATUS       either           text (JSON object; "" asks for the other side's status)
 *   EVENT        spawner->worker  text (one security event line, event.h shape, of the
 *                                 spawner's own log: forwarded to the orchestrator)
 *   SENSOR_CONFIG spawner->worker job_id (the sensor plugin's name), text (its
 *                                 effective settings, agent/sensor.h JSON), sent
 *                                 before each JOB_STARTED of a sensor run
 */
#ifndef STAVILY_AGENT_MSG_H
#define STAVILY_AGENT_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

enum msg_type {
	MSG_RUN_JOB = 1,
	MSG_JOB_STARTED = 2,
	MSG_JOB_OUTPUT = 3,
	MSG_JOB_DONE = 4,
	MSG_JOB_REFUSED = 5,
	MSG_KILL_JOB = 6,
	MSG_LOCKDOWN = 7,
	MSG_SHUTDOWN = 8,
	MSG_STATUS = 9,
	MSG_EVENT = 10,
	MSG_SENSOR_CONFIG = 11,
};

#define MSG_HEADER_LEN 8
#define MSG_MAX (64 * 1024)        /* whole datagram, header included */
#define MSG_ID_MAX 64              /* job id and plugin name: [A-Za-z0-9._-], not starting with '.' */
#define MSG_DIGEST_LEN 71          /* "sha256:" + 64 lower-case hex */
#define MSG_ARGS_MAX (32 * 1024)   /* job arguments, JSON text */
#define MSG_TEXT_MAX (48 * 1024)   /* result/status JSON, refusal reason */
#define MSG_DATA_MAX (48 * 1024)   /* one chunk of plugin output */
#define MSG_LIMITS_MAX 32          /* requested limit entries per job */
#define MSG_LIMIT_LEN_MAX 512      /* one "key=value" */

enum msg_stream { MSG_STREAM_STDOUT = 1, MSG_STREAM_STDERR = 2 };

/* A decoded message.  Only the fields of its type are meaningful.  Heap
 * fields are owned by the message (msg_free); strings are NUL-terminated. */
struct msg {
	enum msg_type type;
	char job_id[MSG_ID_MAX + 1];
	char plugin[MSG_ID_MAX + 1];
	char digest[MSG_DIGEST_LEN + 1];
	char *args;                      /* RUN_JOB */
	char *limits[MSG_LIMITS_MAX];    /* RUN_JOB */
	size_t n_limits;
	uint32_t pid;                    /* JOB_STARTED */
	uint8_t stream;                  /* JOB_OUTPUT */
	uint8_t flag;                    /* LOCKDOWN */
	uint8_t *data;                   /* JOB_OUTPUT */
	size_t data_len;
	char *text;                      /* JOB_DONE, JOB_REFUSED, STATUS, EVENT, SENSOR_CONFIG */
};

/* Why a message was rejected. */
enum msg_error {
	MSG_OK = 0,
	MSG_E_SHORT,        /* truncated header or field */
	MSG_E_LENGTH,       /* header length disagrees with the datagram, or too big */
	MSG_E_TYPE,         /* unknown type or reserved bits set */
	MSG_E_FIELD,        /* a field exceeds its cap or breaks its syntax */
	MSG_E_TRAILING,     /* bytes after the last field */
	MSG_E_NOMEM,
};

/* Zero a message (all pointers NULL) before filling or decoding it. */
void msg_init(struct msg *m, enum msg_type type);
/* Free the heap fields and zero the message.  NULL is fine. */
void msg_free(struct msg *m);

/* Text of an error ("field exceeds its cap"). */
const char *msg_error_name(enum msg_error e);

/*
 * Decode one datagram `buf`/`len` into `m` (which is initialised here).  On
 * error `m` holds nothing that needs freeing (it is freed already) and the
 * error says why.
 */
enum msg_error msg_decode(const uint8_t *buf, size_t len, struct msg *m) WARN_UNUSED;

/*
 * Encode `m` into `out` (capacity `cap`, at least MSG_MAX is always enough).
 * The same checks as msg_decode apply, so nothing is sent that the peer
 * would refuse.  Returns MSG_OK and the length in *len.
 */
enum msg_error msg_encode(const struct msg *m, uint8_t *out, size_t cap, size_t *len) WARN_UNUSED;

/* Encode and send one datagram.  Returns 0, -EINVAL (message invalid),
 * or -errno of send(2). */
int msg_send(int fd, const struct msg *m) WARN_UNUSED;

/*
 * Receive and decode one datagram (blocking unless the descriptor is
 * non-blocking).  Returns 0 with *m filled, -EPIPE on orderly EOF (an empty
 * datagram reads the same; no valid message is empty), -EBADMSG
 * when the datagram was rejected (the reason in *why if non-NULL; the
 * datagram is consumed, the connection stays usable), or -errno.
 */
int msg_recv(int fd, struct msg *m, enum msg_error *why) WARN_UNUSED;

/* Syntax checks shared with the spawner: a job id / plugin name, and a
 * pinned digest ("sha256:" + 64 lower-case hex). */
int msg_id_valid(const char *s);
int msg_digest_valid(const char *s);

#endif
