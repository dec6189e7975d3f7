/* see token.h */
#include "orchestrator/token.h"

#include <bearssl.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hex.h"
#include "crypto/rng.h"

const char *
token_verdict_name(enum token_verdict v)
{
	switch (v) {
	case TOKEN_OK: return "ok";
	case TOKEN_BAD: return "bad";
	case TOKEN_EXPIRED: return "expired";
	case TOKEN_USED_UP: return "used_up";
	case TOKEN_REVOKED: return "revoked";
	}
	return "?";
}

int
token_tenant_valid(const char *t)
{
	size_t n;

	if (t == NULL || t[0] == '\0' || t[0] == '.')
		return 0;
	for (n = 0; t[n]; n++) {
		char c = t[n];
		if (n >= TOKEN_TENANT_MAX)
			return 0;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
hash_valid(const char *h)
{
	for (int i = 0; i < 64; i++)
		if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return h[64] == '\0';
}

int
token_create(const char *tenant, int64_t now, int64_t ttl, uint32_t uses,
    struct token_record *rec, char plain[TOKEN_PLAIN_SIZE])
{
	unsigned char secret[TOKEN_SECRET_BYTES], digest[32];
	br_sha256_context sc;
	int rc;

	if (!token_tenant_valid(tenant) || ttl <= 0 || ttl > TOKEN_MAX_TTL || uses == 0 ||
	    uses > TOKEN_MAX_USES || now < 0 || now > INT64_MAX - TOKEN_MAX_TTL)
		return -EINVAL;
	if ((rc = rng_bytes(secret, sizeof(secret))) != 0)
		return rc;
	memcpy(plain, TOKEN_PREFIX, 4);
	hex_encode(secret, sizeof(secret), plain + 4);
	br_sha256_init(&sc);
	br_sha256_update(&sc, plain, TOKEN_PLAIN_SIZE - 1);
	br_sha256_out(&sc, digest);
	memset(rec, 0, sizeof(*rec));
	hex_encode(digest, sizeof(digest), rec->hash);
	snprintf(rec->tenant, sizeof(rec->tenant), "%s", tenant);
	rec->created = now;
	rec->expires = now + ttl;
	rec->uses_left = uses;
	rec->revoked = 0;
	WIPE(secret, sizeof(secret));
	WIPE(&sc, sizeof(sc));
	return 0;
}

/* 1 if equal, without branches on the data. */
static unsigned
ct_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
	unsigned d = 0;
	for (size_t i = 0; i < n; i++)
		d |= (unsigned)(a[i] ^ b[i]);
	return 1u & ((d - 1u) >> 8);
}

enum token_verdict
token_find(const struct token_record *recs, size_t n, const char *tenant,
    const char *presented, size_t len, int64_t now, size_t *idx)
{
	unsigned char digest[32];
	br_sha256_context sc;
	size_t found = 0;
	unsigned any = 0;

	if (presented == NULL || len > TOKEN_PRESENTED_MAX || tenant == NULL)
		return TOKEN_BAD;
	br_sha256_init(&sc);
	br_sha256_update(&sc, presented, len);
	br_sha256_out(&sc, digest);
	WIPE(&sc, sizeof(sc));
	/* The tenant is not secret; the digest comparison is.  Every record
	 * is compared in full so that the time does not depend on where (or
	 * whether) the match is. */
	for (size_t i = 0; i < n; i++) {
		unsigned char stored[32];
		unsigned m;
		if (hex_decode(recs[i].hash, stored, sizeof(stored)) != 0)
			continue; /* unusable record: never matches */
		m = ct_eq(stored, digest, sizeof(digest)) & (unsigned)(strcmp(recs[i].tenant, tenant) == 0);
		/* Select without a branch on m. */
		size_t mask = (size_t)0 - (size_t)(m & (any ^ 1u));
		found = (found & ~mask) | (i & mask);
		any |= m;
	}
	WIPE(digest, sizeof(digest));
	if (!any)
		return TOKEN_BAD;
	if (idx)
		*idx = found;
	const struct token_record *r = &recs[found];
	if (r->revoked)
		return TOKEN_REVOKED;
	if (now >= r->expires)
		return TOKEN_EXPIRED;
	if (r->uses_left == 0)
		return TOKEN_USED_UP;
	return TOKEN_OK;
}

int
token_consume(struct token_record *rec)
{
	if (rec->uses_left == 0)
		return -EINVAL;
	rec->uses_left--;
	return 0;
}

void
token_id(const struct token_record *rec, char out[TOKEN_ID_SIZE])
{
	memcpy(out, rec->hash, TOKEN_ID_SIZE - 1);
	out[TOKEN_ID_SIZE - 1] = '\0';
}

long
token_lookup_id(const struct token_record *recs, size_t n, const char *id)
{
	size_t len = id ? strlen(id) : 0;
	long hit = -ENOENT;

	if (len < TOKEN_ID_SIZE - 1 || len > 64)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(recs[i].hash, id, len) != 0)
			continue;
		if (hit >= 0)
			return -EEXIST; /* ambiguous prefix */
		hit = (long)i;
	}
	return hit;
}

char *
token_to_json(const struct token_record *rec)
{
	cJSON *o = cJSON_CreateObject();
	char *s = NULL;

	if (o == NULL)
		return NULL;
	if (cJSON_AddStringToObject(o, "hash", rec->hash) &&
	    cJSON_AddStringToObject(o, "tenant", rec->tenant) &&
	    cJSON_AddNumberToObject(o, "created", (double)rec->created) &&
	    cJSON_AddNumberToObject(o, "expires", (double)rec->expires) &&
	    cJSON_AddNumberToObject(o, "uses_left", (double)rec->uses_left) &&
	    cJSON_AddBoolToObject(o, "revoked", rec->revoked != 0))
		s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* A JSON number that is an integer in [0, max] (2^53 keeps doubles exact). */
static int
get_uint(const cJSON *o, const char *key, double max, int64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	/* Written so that NaN fails too. */
	if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0 && v->valuedouble <= max) ||
	    (double)(int64_t)v->valuedouble != v->valuedouble)
		return -EINVAL;
	*out = (int64_t)v->valuedouble;
	return 0;
}

int
token_from_json(const char *line, size_t len, struct token_record *out)
{
	cJSON *o = NULL;
	const cJSON *h, *t, *r;
	int64_t created, expires, uses;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (len > TOKEN_JSON_MAX)
		return -EMSGSIZE;
	if ((o = cJSON_ParseWithLength(line, len)) == NULL || !cJSON_IsObject(o))
		goto out;
	h = cJSON_GetObjectItemCaseSensitive(o, "hash");
	t = cJSON_GetObjectItemCaseSensitive(o, "tenant");
	r = cJSON_GetObjectItemCaseSensitive(o, "revoked");
	if (!cJSON_IsString(h) || strlen(h->valuestring) != 64 || !hash_valid(h->valuestring) ||
	    !cJSON_IsString(t) || !token_tenant_valid(t->valuestring) || !cJSON_IsBool(r))
		goto out;
	if (get_uint(o, "created", 9007199254740991.0, &created) != 0 ||
	    get_uint(o, "expires", 9007199254740991.0, &expires) != 0 ||
	    get_uint(o, "uses_left", TOKEN_MAX_USES, &uses) != 0)
		goto out;
	memcpy(out->hash, h->valuestring, 65);
	snprintf(out->tenant, sizeof(out->tenant), "%s", t->valuestring);
	out->created = created;
	out->expires = expires;
	out->uses_left = (uint32_t)uses;
	out->revoked = cJSON_IsTrue(r);
	rc = 0;
out:
	cJSON_Delete(o);
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	return rc;
}
