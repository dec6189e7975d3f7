/*
 * registry.h: the orchestrator's durable state of tenants, installation
 * tokens and enrolled agents.
 *
 * Layout under the state directory (docs/operations.md):
 *
 *   STATE/tenants/<tenant>/journal/NNN.seg   one append-only journal per tenant
 *
 * Each journal record is one JSON object (store/journal.h frames and
 * checksums it):
 *   {"op":"tenant","name":"acme","created":1700000000}        first record
 *   {"op":"token",<token_to_json fields>}                     create / revoke:
 *                                                             the token's whole state
 *   {"op":"enroll","agent":{...},"token":{<token fields>}}    an enrollment and the
 *                                                             token's state after it
 *   {"op":"renew","agent_id":"a","serial":"<hex>","not_after":N,"at":N,"key":"<64 hex>"}
 *                                                             a new certificate ("key":
 *                                                             SPKI SHA-256, optional; the
 *                                                             enroll "agent" may carry one too)
 *   {"op":"agent_revoke","agent_id":"a","at":N}              revocation
 *   {"op":"job","job":{"id","agent_id","plugin","args":<any>,"timeout","created"}}
 *                                                             a submitted job
 *   {"op":"job_result","id":"<32 hex>","at":N,"result":{...}} its result (first wins)
 *   {"op":"command","agent_id":"a","id":"<16 hex>","type":"quarantine","issued":N}
 *                                                             a queued heartbeat command;
 *                                                             quarantine/release also set
 *                                                             the agent's state
 *   {"op":"command_ack","agent_id":"a","ids":["..."]}        commands carried out
 *   {"op":"deliver","ids":["<32 hex>",...],"at":N}           jobs handed out (lease)
 *
 * Besides the journal, STATE/tenants/<tenant>/last_seen.json is a snapshot
 * {"<agent id>":<unix seconds>,...} of the last heartbeats, replaced
 * atomically by registry_seen_flush; unreadable, it is ignored (a hint).
 * The last "token" state of a hash wins on replay.  An enrollment is one
 * record, so the agent and the use it took from the token become durable
 * together (no crash can leave one without the other).
 *
 * Every mutating function appends, then fsyncs (journal_sync) before it
 * changes memory and returns 0: the caller acknowledges only after that.  On
 * an error nothing in memory changed (a record that was appended but not
 * synced is rolled back on the next successful reopen only if the kernel
 * lost it; in practice the fsync error makes the journal "broken" and every
 * later mutation of that tenant fails until restart: fail closed).
 *
 * Tenant isolation: each tenant has its own directory and journal; no
 * record names another tenant.  Not thread-safe (one event loop).
 */
#ifndef STAVILY_ORCHESTRATOR_REGISTRY_H
#define STAVILY_ORCHESTRATOR_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"
#include "orchestrator/token.h"

#define REGISTRY_MAX_TENANTS      10000u
#define REGISTRY_MAX_TOKENS       100000u    /* per tenant */
#define REGISTRY_MAX_AGENTS       1000000u   /* per tenant */
#define REGISTRY_AGENT_ID_MAX     64
#define REGISTRY_IDENTITY_MAX     255
#define REGISTRY_SERIAL_HEX_MAX   41
/* Largest journal record: a job's args or result (a request body of at
 * most 64 KiB, so re-encoded well under this). */
#define REGISTRY_MAX_RECORD       (256u * 1024)
#define REGISTRY_MAX_JOBS         100000u    /* per tenant */
#define REGISTRY_MAX_COMMANDS     16         /* queued per agent */
#define REGISTRY_JOB_ID_SIZE      33         /* 32 hex + NUL: 128 random bits */
#define REGISTRY_CMD_ID_SIZE      17         /* 16 hex + NUL */
#define REGISTRY_PLUGIN_MAX       64

struct registry_command {
	char id[REGISTRY_CMD_ID_SIZE];
	char type[12];                             /* quarantine, release, rotate */
	int64_t issued;
};

#define REGISTRY_DIGEST_SIZE 72  /* "sha256:" + 64 hex + NUL, rounded */

struct registry_job {
	char id[REGISTRY_JOB_ID_SIZE];
	char agent_id[REGISTRY_AGENT_ID_MAX + 1];
	char plugin[REGISTRY_PLUGIN_MAX + 1];
	char *args;                                /* JSON text, owned */
	char *policy;                              /* the job's sandbox limits: JSON object text or NULL, owned */
	char sha256[REGISTRY_DIGEST_SIZE];         /* pinned plugin digest "sha256:<64 hex>" or "" */
	char *result;                              /* JSON text or NULL, owned */
	int64_t timeout, created, completed;
	/* last time handed out to the agent (journaled: "deliver" records), 0
	 * if never; a job without a result is handed out again only after
	 * registry_job_lease_end (the agent also skips ids it has run) */
	int64_t delivered;
	unsigned attempts;                         /* times handed out */
};

/* Grace added to a job's timeout before a delivered job without a result
 * is handed out again (covers the result's way back through the agent's
 * spool and reconnect backoff). */
#define REGISTRY_LEASE_GRACE     120
/* Jobs without a timeout get this lease before the grace. */
#define REGISTRY_LEASE_DEFAULT   600
/* SPKI pins of an agent's keys remembered (current and earlier): a renewal
 * with any of them is refused. */
#define REGISTRY_MAX_KEYS        8
/* last_seen snapshot file in each tenant directory and its size cap. */
#define REGISTRY_SEEN_FILE       "last_seen.json"
#define REGISTRY_SEEN_MAX        (64u * 1024 * 1024)

struct registry_agent {
	char id[REGISTRY_AGENT_ID_MAX + 1];
	char identity[REGISTRY_IDENTITY_MAX + 1];  /* spiffe://... URI SAN */
	char serial[REGISTRY_SERIAL_HEX_MAX];     /* hex of the certificate serial */
	char token_id[TOKEN_ID_SIZE];             /* token it enrolled with */
	int64_t enrolled;                         /* Unix seconds */
	int64_t not_after;                        /* certificate expiry */
	/* after a renewal: the certificate before the current one, still
	 * accepted until the agent has switched (empty if none) */
	char prev_serial[REGISTRY_SERIAL_HEX_MAX];
	int64_t renewed;                          /* last renewal, 0 if never */
	int revoked;                              /* 0 or 1 */
	int64_t revoked_at;
	int quarantined;                          /* 0 or 1 */
	/* last accepted heartbeat (Unix seconds), 0 if never: set in memory
	 * per heartbeat and saved with the tenant's last_seen snapshot
	 * (registry_seen_flush: periodically and at close), not journaled,
	 * because an fsync per heartbeat is too much for a monitoring hint */
	int64_t last_seen;
	int64_t seen_saved;                       /* value in the snapshot */
	/* SHA-256 pins of the SPKI of the agent's keys, oldest first (known
	 * from enrollment/renewals recorded with a "key" field) */
	unsigned char keys[REGISTRY_MAX_KEYS][32];
	size_t n_keys;
	struct registry_command cmds[REGISTRY_MAX_COMMANDS];  /* oldest first */
	size_t n_cmds;
};

struct registry_tenant {
	char name[TOKEN_TENANT_MAX + 1];
	int64_t created;
	struct token_record *tokens;
	size_t n_tokens, cap_tokens;
	struct registry_agent *agents;
	size_t n_agents, cap_agents;
	struct registry_job *jobs;
	size_t n_jobs, cap_jobs;
	struct journal *j;
	int seen_dirty;                /* a last_seen changed since the snapshot */
	int sync_pending;              /* a record appended, not yet synced (registry_sync) */
};

struct registry {
	char *dir;                     /* STATE/tenants */
	struct registry_tenant **t;
	size_t n, cap;
	int sync_pending;              /* some tenant has sync_pending */
};

/* What registry_open found (for the start-up event). */
struct registry_report {
	size_t tenants, tokens, agents;
	uint64_t records;
	uint64_t torn_bytes;           /* cut off torn tails, summed over tenants */
	char torn_tenant[TOKEN_TENANT_MAX + 1];   /* one tenant that had a torn tail */
	size_t seen_restored;          /* agents whose last_seen came from a snapshot */
	size_t seen_unreadable;        /* tenants whose snapshot was unreadable (ignored) */
};

/* 1 if `id` is a valid agent id: 1..REGISTRY_AGENT_ID_MAX of [A-Za-z0-9._-],
 * not starting with '.'. */
int registry_agent_id_valid(const char *id);

/*
 * Open STATE/tenants (created 0700 if missing) and replay every tenant's
 * journal.  Errors: -errno, -EBADMSG (a journal is corrupt or holds a record
 * we cannot read: the operator must look; nothing starts).  `rep` may be NULL.
 */
int registry_open(const char *state_dir, struct registry **out, struct registry_report *rep) WARN_UNUSED;
void registry_close(struct registry *r);

/* The tenant or NULL. */
struct registry_tenant *registry_tenant(struct registry *r, const char *name);

/* Create a tenant (directory, journal, first record, fsync).  -EINVAL bad
 * name, -EEXIST, -ENOSPC over REGISTRY_MAX_TENANTS, -errno. */
int registry_tenant_add(struct registry *r, const char *name, int64_t now) WARN_UNUSED;

/* Store a new token record (its tenant must exist: -ENOENT).  -EEXIST if
 * the hash is already known, -ENOSPC over the cap. */
int registry_token_add(struct registry *r, const struct token_record *rec) WARN_UNUSED;

/* Find a token by public id over all tenants: 0 and *t, *idx; -ENOENT,
 * -EEXIST (ambiguous prefix), -EINVAL. */
int registry_token_lookup(struct registry *r, const char *id, struct registry_tenant **t,
    size_t *idx) WARN_UNUSED;

/* Mark token `idx` of `t` revoked (durably).  Revoking twice is fine. */
int registry_token_revoke(struct registry *r, struct registry_tenant *t, size_t idx) WARN_UNUSED;

/* Index of agent `id` in `t`, or -ENOENT. */
long registry_agent_find(const struct registry_tenant *t, const char *id);

/*
 * Record an enrollment: agent `a` joins `t` and token `token_idx` loses one
 * use, in one durable record.  -EEXIST if the agent id is taken, -EINVAL if
 * the token has no use left or `a` is malformed, -ENOSPC over the cap.
 */
int registry_enroll(struct registry *r, struct registry_tenant *t, const struct registry_agent *a,
    size_t token_idx) WARN_UNUSED;

/* A new certificate for agent `idx` (the current serial becomes
 * prev_serial).  -EINVAL bad serial, -EPERM revoked agent. */
int registry_agent_renew(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *serial_hex, int64_t not_after, int64_t now) WARN_UNUSED;

/* The same with the SPKI pin (SHA-256, 32 bytes) of the new certificate's
 * key, remembered for registry_agent_key_used; `key_pin` may be NULL. */
int registry_agent_renew_key(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *serial_hex, int64_t not_after, int64_t now, const unsigned char *key_pin)
    WARN_UNUSED;

/* 1 if `pin` (SHA-256 of an SPKI) is the current or a remembered earlier
 * key of agent `a`, else 0. */
int registry_agent_key_used(const struct registry_agent *a, const unsigned char pin[32]);

/* Remember `pin` as the newest key of `a` (memory only; for building the
 * agent of registry_enroll, whose record then carries it). */
void registry_agent_key_push(struct registry_agent *a, const unsigned char pin[32]);

/* A heartbeat of agent `idx` at `now`: sets last_seen (memory) and marks
 * the tenant's snapshot dirty. */
void registry_agent_seen(struct registry_tenant *t, size_t idx, int64_t now);

/*
 * Write STATE/tenants/<t>/last_seen.json (atomically: temp file, fsync,
 * rename) for every tenant whose last_seen values changed since the last
 * snapshot.  Returns 0 or the first -errno (the others are still tried; a
 * failed tenant stays dirty).  registry_close calls it too.
 */
int registry_seen_flush(struct registry *r) WARN_UNUSED;

/* Revoke agent `idx` (durably).  Revoking twice is fine (the first time
 * stays recorded). */
int registry_agent_revoke(struct registry *r, struct registry_tenant *t, size_t idx,
    int64_t now) WARN_UNUSED;

/* 1 if `serial_hex` is a current or previous serial of a revoked agent of
 * any tenant (the handshake's revocation callback), else 0.  Linear in the
 * number of agents. */
int registry_serial_revoked(const struct registry *r, const char *serial_hex);

/* 1 if `s` is a valid plugin name (1..64 of [A-Za-z0-9._-], not '.' first). */
int registry_plugin_valid(const char *s);

/* 1 if d is a pinned plugin digest: "sha256:" and 64 lower-case hex digits. */
int registry_digest_valid(const char *d);

/*
 * Submit a job for agent `j->agent_id` of `t` (id, agent_id, plugin, args,
 * timeout, created filled by the caller; args is copied).  Durable before
 * it returns 0.  -ENOENT no such agent, -EPERM revoked agent, -EINVAL,
 * -ENOSPC over REGISTRY_MAX_JOBS, -EEXIST id taken, -errno.
 */
int registry_job_add(struct registry *r, struct registry_tenant *t, const struct registry_job *j)
    WARN_UNUSED;

/* Index of job `id` in `t` or -ENOENT. */
long registry_job_find(const struct registry_tenant *t, const char *id);

/* Store the result (JSON text) of job `idx`, durably.  -EALREADY if it has
 * one (the first stays), -EINVAL. */
int registry_job_result(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *result_json, int64_t now) WARN_UNUSED;

/*
 * Jobs idx[0..n) of `t` are handed out now: one "deliver" record (then
 * delivered = now, attempts + 1 each).  -EINVAL for a bad index, -errno.
 * The record is appended but not synced before this returns: the caller
 * answers the agent at once and registry_sync() makes it durable later
 * (the service: at the end of the loop pass, after the answer was sent).
 * A delivery lost to a crash in between only means the job is queued
 * again after the restart and handed out once more; the agent runs a job
 * id it has seen at most once (docs/agent.md), and delivery is at least
 * once anyway.
 */
int registry_job_deliver(struct registry *r, struct registry_tenant *t, const size_t *idx,
    size_t n, int64_t now) WARN_UNUSED;

/* Make durable what registry_job_deliver appended (fdatasync of each tenant
 * journal with pending records; nothing when none is pending).  0 or the
 * first -errno (a failed sync leaves that journal broken: journal.h). */
int registry_sync(struct registry *r) WARN_UNUSED;

/* Until when a delivered job without a result is not handed out again:
 * delivered + (timeout or REGISTRY_LEASE_DEFAULT) + REGISTRY_LEASE_GRACE;
 * 0 if it was never delivered. */
int64_t registry_job_lease_end(const struct registry_job *j);

/*
 * Queue command `type` ("quarantine", "release", "rotate") for agent `idx`
 * with a fresh random id (copied to *out, may be NULL), durably; the oldest
 * is dropped when REGISTRY_MAX_COMMANDS are queued.  -EINVAL, -EPERM revoked.
 */
int registry_command_add(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *type, int64_t now, struct registry_command *out) WARN_UNUSED;

/* Remove the queued commands of agent `idx` whose ids are among `ids`
 * (durably, only if any matched).  Returns the number removed or -errno. */
int registry_command_ack(struct registry *r, struct registry_tenant *t, size_t idx,
    const char *const *ids, size_t n) WARN_UNUSED;

/* Path of the tenant's directory (STATE/tenants/<name>).  0 or -ENAMETOOLONG. */
int registry_tenant_dir(const struct registry *r, const char *name, char *out, size_t cap)
    WARN_UNUSED;

/*
 * Erase tenant `name`: forget it in memory (pointers to it become invalid)
 * and delete STATE/tenants/<name> recursively (then fsync STATE/tenants).
 * Also removes a leftover directory of a tenant no longer known.  0,
 * -ENOENT (neither known nor on disk), -EINVAL, or the -errno of the first
 * file that could not be removed (the tenant is forgotten anyway).
 */
int registry_tenant_purge(struct registry *r, const char *name) WARN_UNUSED;

/* Parse and apply one journal record to `t` (exposed for the unit tests).
 * -EINVAL for anything malformed. */
int registry_apply(struct registry_tenant *t, const char *rec, size_t len) WARN_UNUSED;

#endif
