/*
 * token.h: installation tokens for enrollment (DESIGN §3).
 *
 * A token is 256 bits from the process CSPRNG (crypto/rng.h, getrandom(2)),
 * shown once to the operator as "stv_" followed by 64 lower-case hex digits.
 * The orchestrator keeps only SHA-256 of that whole string (hex), with the
 * tenant, creation and expiry times, remaining uses and a revoked flag.  A
 * plain (unsalted) hash is enough: 256 random bits cannot be guessed, so the
 * stored hash does not need to slow down a dictionary attack.
 *
 * Checking a presented token hashes it and compares the digest in constant
 * time with every record of the table (no early exit), so neither timing nor
 * order leaks which record matched or how much of it.  The plaintext is never
 * stored and never logged: functions here do not log at all, and the token
 * id shown by `ctl token list` is the first 12 hex digits of the hash.
 *
 * Tenant names: 1..TOKEN_TENANT_MAX of [A-Za-z0-9._-], not starting with '.'
 * (they name directories), as config/config.h specifies for agent.tenant.
 */
#ifndef STAVILY_ORCHESTRATOR_TOKEN_H
#define STAVILY_ORCHESTRATOR_TOKEN_H

#include <stddef.h>
#include <stdint.h>
#include "base/util.h"

#define TOKEN_PREFIX        "stv_"
#define TOKEN_SECRET_BYTES  32
/* "stv_" + 64 hex + NUL */
#define TOKEN_PLAIN_SIZE    (4 + 2 * TOKEN_SECRET_BYTES + 1)
#define TOKEN_HASH_HEX_SIZE 65
#define TOKEN_ID_SIZE       13
#define TOKEN_TENANT_MAX    64
/* Longest presented credential we hash (anything longer is simply wrong). */
#define TOKEN_PRESENTED_MAX 256
/* Longest JSON line token_from_json accepts. */
#define TOKEN_JSON_MAX      1024
#define TOKEN_MAX_USES      1000000u
/* Longest TTL (10 years), so that expiry arithmetic cannot overflow. */
#define TOKEN_MAX_TTL       (10ll * 366 * 86400)

struct token_record {
	char hash[TOKEN_HASH_HEX_SIZE];       /* hex SHA-256 of the plaintext */
	char tenant[TOKEN_TENANT_MAX + 1];
	int64_t created;                      /* Unix seconds */
	int64_t expires;                      /* Unix seconds; invalid from then on */
	uint32_t uses_left;                   /* 0 = used up */
	int revoked;                          /* 0 or 1 */
};

enum token_verdict {
	TOKEN_OK = 0,
	TOKEN_BAD,      /* no record of this tenant with this token */
	TOKEN_EXPIRED,  /* right token, past its expiry */
	TOKEN_USED_UP,  /* right token, no uses left */
	TOKEN_REVOKED,  /* right token, revoked */
};

/* "ok", "bad", "expired", "used_up", "revoked" (for events; never the token). */
const char *token_verdict_name(enum token_verdict v);

/* 1 if `tenant` is a valid tenant name, else 0. */
int token_tenant_valid(const char *tenant);

/*
 * Create a token for `tenant` valid for `ttl` seconds from `now` and `uses`
 * enrollments.  Fills *rec and writes the plaintext into `plain` (SECRET: the
 * caller shows it once and wipes it with explicit_bzero).  Returns 0,
 * -EINVAL (tenant, ttl <= 0 or > TOKEN_MAX_TTL, uses 0 or > TOKEN_MAX_USES)
 * or the rng's -errno (then nothing is written).
 */
int token_create(const char *tenant, int64_t now, int64_t ttl, uint32_t uses,
    struct token_record *rec, char plain[TOKEN_PLAIN_SIZE]) WARN_UNUSED;

/*
 * Check the presented credential (`len` bytes, need not be NUL-terminated)
 * for `tenant` against the `n` records.  Every record is compared, each in
 * constant time.  On TOKEN_OK, TOKEN_EXPIRED, TOKEN_USED_UP and
 * TOKEN_REVOKED *idx (may be NULL) names the matching record.  Does not
 * consume a use: call token_consume after the enrollment succeeded.
 */
enum token_verdict token_find(const struct token_record *recs, size_t n, const char *tenant,
    const char *presented, size_t len, int64_t now, size_t *idx);

/* One use taken (after a successful enrollment).  -EINVAL if none left. */
int token_consume(struct token_record *rec) WARN_UNUSED;

/* The public id: first 12 hex digits of the hash. */
void token_id(const struct token_record *rec, char out[TOKEN_ID_SIZE]);

/* Find a record by its public id (or a longer prefix of the hash); returns
 * its index, -ENOENT, -EEXIST if the prefix names several records, or
 * -EINVAL for a malformed id. */
long token_lookup_id(const struct token_record *recs, size_t n, const char *id);

/*
 * One JSON object on one line (no newline):
 *   {"hash":"<64 hex>","tenant":"acme","created":1700000000,
 *    "expires":1700086400,"uses_left":1,"revoked":false}
 * The caller frees the string; NULL when out of memory.
 */
char *token_to_json(const struct token_record *rec);

/* Parse such a line (keys other than these are ignored so that a journal
 * record may wrap or extend it).  -EMSGSIZE over TOKEN_JSON_MAX, -EINVAL for
 * anything malformed (missing or mistyped field, bad hash or tenant, a
 * number that is not a non-negative integer). */
int token_from_json(const char *line, size_t len, struct token_record *out) WARN_UNUSED;

#endif
