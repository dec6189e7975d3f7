/* Unit tests for orchestrator/token.c: format, hashing, verdicts, constant
 * time table search, JSON round trip and strict parsing. */
#include <bearssl.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "base/hex.h"
#include "orchestrator/token.h"

static void
test_create_format(void)
{
	struct token_record r, r2;
	char plain[TOKEN_PLAIN_SIZE], plain2[TOKEN_PLAIN_SIZE];
	unsigned char d[32];
	char hex[65];

	CHECK_EQ_INT(token_create("acme", 1000, 3600, 2, &r, plain), 0);
	CHECK_EQ_INT(strlen(plain), 68);
	CHECK(strncmp(plain, "stv_", 4) == 0);
	for (int i = 4; i < 68; i++)
		CHECK((plain[i] >= '0' && plain[i] <= '9') || (plain[i] >= 'a' && plain[i] <= 'f'));
	/* Stored: SHA-256 of the whole string, never the secret. */
	br_sha256_context sc;
	br_sha256_init(&sc);
	br_sha256_update(&sc, plain, 68);
	br_sha256_out(&sc, d);
	hex_encode(d, 32, hex);
	CHECK_EQ_STR(r.hash, hex);
	CHECK(strstr(r.hash, plain + 4) == NULL);
	CHECK_EQ_STR(r.tenant, "acme");
	CHECK_EQ_INT(r.created, 1000);
	CHECK_EQ_INT(r.expires, 4600);
	CHECK_EQ_INT(r.uses_left, 2);
	CHECK_EQ_INT(r.revoked, 0);
	/* Two tokens differ. */
	CHECK_EQ_INT(token_create("acme", 1000, 3600, 2, &r2, plain2), 0);
	CHECK(strcmp(plain, plain2) != 0);
	CHECK(strcmp(r.hash, r2.hash) != 0);
	char *js = token_to_json(&r);
	CHECK(js != NULL && strstr(js, plain + 4) == NULL);
	free(js);

	/* Bad arguments. */
	CHECK_EQ_INT(token_create("", 0, 10, 1, &r, plain), -EINVAL);
	CHECK_EQ_INT(token_create("../x", 0, 10, 1, &r, plain), -EINVAL);
	CHECK_EQ_INT(token_create(".hidden", 0, 10, 1, &r, plain), -EINVAL);
	CHECK_EQ_INT(token_create("a b", 0, 10, 1, &r, plain), -EINVAL);
	CHECK_EQ_INT(token_create("acme", 0, 0, 1, &r, plain), -EINVAL);
	CHECK_EQ_INT(token_create("acme", 0, TOKEN_MAX_TTL + 1, 1, &r, plain), -EINVAL);
	CHECK_EQ_INT(token_create("acme", 0, 10, 0, &r, plain), -EINVAL);
	char longname[80];
	memset(longname, 'a', 65);
	longname[65] = '\0';
	CHECK_EQ_INT(token_create(longname, 0, 10, 1, &r, plain), -EINVAL);
	longname[64] = '\0';
	CHECK_EQ_INT(token_create(longname, 0, 10, 1, &r, plain), 0);
}

static void
test_verdicts(void)
{
	struct token_record t[4];
	char p[4][TOKEN_PLAIN_SIZE];
	size_t idx = 99;

	CHECK_EQ_INT(token_create("acme", 1000, 100, 1, &t[0], p[0]), 0);
	CHECK_EQ_INT(token_create("acme", 1000, 100, 3, &t[1], p[1]), 0);
	CHECK_EQ_INT(token_create("other", 1000, 100, 1, &t[2], p[2]), 0);
	CHECK_EQ_INT(token_create("acme", 1000, 100, 1, &t[3], p[3]), 0);
	t[3].revoked = 1;

	CHECK_EQ_INT(token_find(t, 4, "acme", p[1], 68, 1050, &idx), TOKEN_OK);
	CHECK_EQ_INT(idx, 1);
	CHECK_EQ_INT(token_find(t, 4, "acme", p[0], 68, 1050, &idx), TOKEN_OK);
	CHECK_EQ_INT(idx, 0);
	/* Another tenant's token does not work for this tenant. */
	CHECK_EQ_INT(token_find(t, 4, "acme", p[2], 68, 1050, &idx), TOKEN_BAD);
	CHECK_EQ_INT(token_find(t, 4, "other", p[2], 68, 1050, &idx), TOKEN_OK);
	CHECK_EQ_INT(idx, 2);
	/* One wrong digit, a prefix, an extension, garbage. */
	char w[TOKEN_PLAIN_SIZE + 1];
	memcpy(w, p[1], TOKEN_PLAIN_SIZE);
	w[40] = w[40] == 'a' ? 'b' : 'a';
	CHECK_EQ_INT(token_find(t, 4, "acme", w, 68, 1050, NULL), TOKEN_BAD);
	CHECK_EQ_INT(token_find(t, 4, "acme", p[1], 67, 1050, NULL), TOKEN_BAD);
	memcpy(w, p[1], 68);
	w[68] = 'x';
	CHECK_EQ_INT(token_find(t, 4, "acme", w, 69, 1050, NULL), TOKEN_BAD);
	CHECK_EQ_INT(token_find(t, 4, "acme", "", 0, 1050, NULL), TOKEN_BAD);
	CHECK_EQ_INT(token_find(t, 4, "acme", p[1] + 4, 64, 1050, NULL), TOKEN_BAD);
	char big[TOKEN_PRESENTED_MAX + 2];
	memset(big, 'a', sizeof(big));
	CHECK_EQ_INT(token_find(t, 4, "acme", big, sizeof(big), 1050, NULL), TOKEN_BAD);
	CHECK_EQ_INT(token_find(t, 0, "acme", p[1], 68, 1050, NULL), TOKEN_BAD);

	/* Expiry: valid before `expires`, not at it. */
	CHECK_EQ_INT(token_find(t, 4, "acme", p[1], 68, 1099, NULL), TOKEN_OK);
	CHECK_EQ_INT(token_find(t, 4, "acme", p[1], 68, 1100, &idx), TOKEN_EXPIRED);
	CHECK_EQ_INT(idx, 1);
	/* Revoked. */
	CHECK_EQ_INT(token_find(t, 4, "acme", p[3], 68, 1050, &idx), TOKEN_REVOKED);
	CHECK_EQ_INT(idx, 3);
	/* Uses. */
	CHECK_EQ_INT(token_consume(&t[0]), 0);
	CHECK_EQ_INT(token_find(t, 4, "acme", p[0], 68, 1050, &idx), TOKEN_USED_UP);
	CHECK_EQ_INT(token_consume(&t[0]), -EINVAL);
	for (int i = 0; i < 3; i++) {
		CHECK_EQ_INT(token_find(t, 4, "acme", p[1], 68, 1050, &idx), TOKEN_OK);
		CHECK_EQ_INT(token_consume(&t[idx]), 0);
	}
	CHECK_EQ_INT(token_find(t, 4, "acme", p[1], 68, 1050, NULL), TOKEN_USED_UP);
	CHECK_EQ_STR(token_verdict_name(TOKEN_USED_UP), "used_up");
	CHECK_EQ_STR(token_verdict_name(TOKEN_BAD), "bad");

	/* Public ids. */
	char id[TOKEN_ID_SIZE];
	token_id(&t[2], id);
	CHECK_EQ_INT(strlen(id), 12);
	CHECK(strncmp(id, t[2].hash, 12) == 0);
	CHECK_EQ_INT(token_lookup_id(t, 4, id), 2);
	CHECK_EQ_INT(token_lookup_id(t, 4, t[1].hash), 1);
	CHECK_EQ_INT(token_lookup_id(t, 4, "0123"), -EINVAL);
	CHECK_EQ_INT(token_lookup_id(t, 4, "zzzzzzzzzzzz"), -EINVAL);
	struct token_record dup[2] = { t[0], t[0] };
	token_id(&t[0], id);
	CHECK_EQ_INT(token_lookup_id(dup, 2, id), -EEXIST);
	id[0] = id[0] == 'a' ? 'b' : 'a';
	CHECK_EQ_INT(token_lookup_id(t, 4, id), -ENOENT);
}

static void
test_json(void)
{
	struct token_record r, back;
	char plain[TOKEN_PLAIN_SIZE];

	CHECK_EQ_INT(token_create("tenant-1.x_y", 1700000000, 86400, 5, &r, plain), 0);
	r.revoked = 1;
	r.uses_left = 4;
	char *js = token_to_json(&r);
	CHECK(js != NULL);
	if (js == NULL)
		return;
	CHECK(strchr(js, '\n') == NULL);
	CHECK_EQ_INT(token_from_json(js, strlen(js), &back), 0);
	CHECK_EQ_STR(back.hash, r.hash);
	CHECK_EQ_STR(back.tenant, r.tenant);
	CHECK_EQ_INT(back.created, 1700000000);
	CHECK_EQ_INT(back.expires, 1700086400);
	CHECK_EQ_INT(back.uses_left, 4);
	CHECK_EQ_INT(back.revoked, 1);
	/* The parsed record still verifies the token. */
	CHECK_EQ_INT(token_find(&back, 1, "tenant-1.x_y", plain, 68, 1700000001, NULL), TOKEN_REVOKED);
	free(js);

	const char *ok = "{\"op\":\"create\",\"hash\":\"" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	    "\",\"tenant\":\"a\",\"created\":1,\"expires\":2,\"uses_left\":0,\"revoked\":false}";
	CHECK_EQ_INT(token_from_json(ok, strlen(ok), &back), 0);
	const char *bad[] = {
		"",
		"[]",
		"{}",
		"{\"hash\":\"0123\",\"tenant\":\"a\",\"created\":1,\"expires\":2,\"uses_left\":0,\"revoked\":false}",
		"{\"hash\":\"0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"a\",\"created\":1,\"expires\":2,\"uses_left\":0,\"revoked\":false}",
		"{\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"..\",\"created\":1,\"expires\":2,\"uses_left\":0,\"revoked\":false}",
		"{\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"a\",\"created\":-1,\"expires\":2,\"uses_left\":0,\"revoked\":false}",
		"{\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"a\",\"created\":1.5,\"expires\":2,\"uses_left\":0,\"revoked\":false}",
		"{\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"a\",\"created\":1,\"expires\":2,\"uses_left\":1e9,\"revoked\":false}",
		"{\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"a\",\"created\":1,\"expires\":2,\"uses_left\":0,\"revoked\":0}",
		"{\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"a\",\"created\":\"1\",\"expires\":2,\"uses_left\":0,\"revoked\":false}",
		"{\"hash\":\"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\",\"tenant\":\"a\",\"created\":1,\"expires\":2,\"uses_left\":0}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = token_from_json(bad[i], strlen(bad[i]), &back);
		if (rc != -EINVAL)
			printf("  accepted bad line %zu\n", i);
		CHECK_EQ_INT(rc, -EINVAL);
	}
	char *huge = malloc(TOKEN_JSON_MAX + 2);
	memset(huge, ' ', TOKEN_JSON_MAX + 1);
	huge[TOKEN_JSON_MAX + 1] = '\0';
	CHECK_EQ_INT(token_from_json(huge, TOKEN_JSON_MAX + 1, &back), -EMSGSIZE);
	free(huge);
}

int
main(void)
{
	RUN(test_create_format);
	RUN(test_verdicts);
	RUN(test_json);
	return HARNESS_EXIT();
}
