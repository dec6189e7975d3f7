/* Unit tests for the registry's remembered keys (renewals need a new key),
 * journaled job deliveries (leases) and the last_seen snapshot: each
 * survives a reopen; malformed records are refused; an unreadable snapshot
 * is ignored and counted. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"
#include "orchestrator/registry.h"
#include "orchestrator/token.h"
#include "registry_fixture.h"

/* The fixture's agent, remembering the key whose hash is 32 x keyfill. */
static struct registry_agent mk_keyed_agent(const char *id, unsigned char keyfill)
{
	struct registry_agent a = mk_agent(id);
	unsigned char pin[32];

	memset(pin, keyfill, sizeof(pin));
	registry_agent_key_push(&a, pin);
	return a;
}

/* A registry in tmpdir/name with tenant acme, agents a1 (key 0x11) and a2
 * (key 0x22). */
static struct registry *setup(const char *name, char *dir, size_t n)
{
	struct registry *r = NULL;
	struct token_record rec;
	char plain[TOKEN_PLAIN_SIZE];
	struct registry_agent a1 = mk_keyed_agent("a1", 0x11), a2 = mk_keyed_agent("a2", 0x22);
	struct registry_tenant *t;

	fresh(dir, n, name);
	CHECK_EQ_INT(registry_open(dir, &r, NULL), 0);
	if (!r)
		return NULL;
	CHECK_EQ_INT(registry_tenant_add(r, "acme", 1700000000), 0);
	t = registry_tenant(r, "acme");
	CHECK_EQ_INT(token_create("acme", 1700000000, 3600, 5, &rec, plain), 0);
	CHECK_EQ_INT(registry_token_add(r, &rec), 0);
	CHECK_EQ_INT(registry_enroll(r, t, &a1, 0), 0);
	CHECK_EQ_INT(registry_enroll(r, t, &a2, 0), 0);
	return r;
}

static void test_keys(void)
{
	char dir[256];
	unsigned char k[32];
	struct registry *r = setup("keys", dir, sizeof(dir));
	struct registry_tenant *t;

	if (!r)
		return;
	t = registry_tenant(r, "acme");
	memset(k, 0x11, sizeof(k));
	CHECK_EQ_INT(registry_agent_key_used(&t->agents[0], k), 1);
	CHECK_EQ_INT(registry_agent_key_used(&t->agents[1], k), 0);   /* per agent */
	/* renewals with keys 0x30..0x39: only the last REGISTRY_MAX_KEYS stay */
	for (int i = 0; i < 10; i++) {
		char serial[8];
		memset(k, 0x30 + i, sizeof(k));
		snprintf(serial, sizeof(serial), "0a%02x", i);
		CHECK_EQ_INT(registry_agent_renew_key(r, t, 0, serial, 1900000000, 1700000100 + i, k), 0);
	}
	CHECK_EQ_INT(t->agents[0].n_keys, REGISTRY_MAX_KEYS);
	memset(k, 0x39, sizeof(k));
	CHECK_EQ_INT(registry_agent_key_used(&t->agents[0], k), 1);
	memset(k, 0x11, sizeof(k));
	CHECK_EQ_INT(registry_agent_key_used(&t->agents[0], k), 0);   /* dropped: the oldest */
	/* a renewal without a key (NULL) remembers nothing new */
	CHECK_EQ_INT(registry_agent_renew(r, t, 1, "0b0b", 1900000000, 1700000200), 0);
	CHECK_EQ_INT(t->agents[1].n_keys, 1);
	registry_close(r);

	/* reopen: the keys come back from the enroll and renew records */
	r = NULL;
	CHECK_EQ_INT(registry_open(dir, &r, NULL), 0);
	if (!r)
		return;
	t = registry_tenant(r, "acme");
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(t->agents[0].n_keys, REGISTRY_MAX_KEYS);
		memset(k, 0x32, sizeof(k));
		CHECK_EQ_INT(registry_agent_key_used(&t->agents[0], k), 1);
		memset(k, 0x31, sizeof(k));
		CHECK_EQ_INT(registry_agent_key_used(&t->agents[0], k), 0);
		memset(k, 0x22, sizeof(k));
		CHECK_EQ_INT(registry_agent_key_used(&t->agents[1], k), 1);
		CHECK_EQ_STR(t->agents[0].serial, "0a09");
	}
	/* malformed key fields are refused on replay */
	if (t) {
		const char *bad1 = "{\"op\":\"renew\",\"agent_id\":\"a1\",\"serial\":\"0c\",\"not_after\":1,\"at\":1,\"key\":\"zz\"}";
		const char *bad2 = "{\"op\":\"renew\",\"agent_id\":\"a1\",\"serial\":\"0c\",\"not_after\":1,\"at\":1,\"key\":7}";
		CHECK_EQ_INT(registry_apply(t, bad1, strlen(bad1)), -EINVAL);
		CHECK_EQ_INT(registry_apply(t, bad2, strlen(bad2)), -EINVAL);
	}
	registry_close(r);
}

static void test_deliver(void)
{
	char dir[256];
	struct registry *r = setup("deliver", dir, sizeof(dir));
	struct registry_tenant *t;
	struct registry_job j;
	size_t idx[2] = { 0, 1 }, bad[1] = { 7 };

	if (!r)
		return;
	t = registry_tenant(r, "acme");
	memset(&j, 0, sizeof(j));
	strcpy(j.id, "0123456789abcdef0123456789abcdef");
	strcpy(j.agent_id, "a1");
	strcpy(j.plugin, "uptime");
	j.args = (char *)"{}";
	j.timeout = 30;
	j.created = 1700000100;
	CHECK_EQ_INT(registry_job_add(r, t, &j), 0);
	j.id[0] = '1';
	j.timeout = 0;          /* no timeout: the default lease */
	CHECK_EQ_INT(registry_job_add(r, t, &j), 0);
	CHECK_EQ_INT(registry_job_lease_end(&t->jobs[0]), 0);   /* never delivered */
	CHECK_EQ_INT(registry_job_deliver(r, t, bad, 1, 1700000200), -EINVAL);
	CHECK_EQ_INT(t->jobs[0].attempts, 0);
	CHECK_EQ_INT(registry_job_deliver(r, t, idx, 2, 1700000200), 0);
	CHECK_EQ_INT(registry_job_deliver(r, t, idx, 1, 1700000500), 0);   /* a redelivery of job 0 */
	CHECK_EQ_INT(t->jobs[0].attempts, 2);
	CHECK_EQ_INT(t->jobs[0].delivered, 1700000500);
	CHECK_EQ_INT(registry_job_lease_end(&t->jobs[0]), 1700000500 + 30 + REGISTRY_LEASE_GRACE);
	CHECK_EQ_INT(registry_job_lease_end(&t->jobs[1]),
	    1700000200 + REGISTRY_LEASE_DEFAULT + REGISTRY_LEASE_GRACE);
	registry_close(r);

	r = NULL;
	CHECK_EQ_INT(registry_open(dir, &r, NULL), 0);
	if (!r)
		return;
	t = registry_tenant(r, "acme");
	CHECK(t != NULL && t->n_jobs == 2);
	if (t && t->n_jobs == 2) {
		CHECK_EQ_INT(t->jobs[0].attempts, 2);
		CHECK_EQ_INT(t->jobs[0].delivered, 1700000500);
		CHECK_EQ_INT(t->jobs[1].attempts, 1);
		CHECK_EQ_INT(t->jobs[1].delivered, 1700000200);
		/* a delivery naming an unknown job, or without "at", is corrupt */
		const char *bad1 = "{\"op\":\"deliver\",\"ids\":[\"ffffffffffffffffffffffffffffffff\"],\"at\":1}";
		const char *bad2 = "{\"op\":\"deliver\",\"ids\":[\"0123456789abcdef0123456789abcdef\"]}";
		CHECK_EQ_INT(registry_apply(t, bad1, strlen(bad1)), -EINVAL);
		CHECK_EQ_INT(registry_apply(t, bad2, strlen(bad2)), -EINVAL);
	}
	registry_close(r);
}

static void test_seen(void)
{
	char dir[256], path[512];
	struct registry *r = setup("seen", dir, sizeof(dir));
	struct registry_report rep;
	struct registry_tenant *t;
	struct stat st;
	FILE *f;

	if (!r)
		return;
	t = registry_tenant(r, "acme");
	snprintf(path, sizeof(path), "%s/tenants/acme/%s", dir, REGISTRY_SEEN_FILE);
	CHECK_EQ_INT(registry_seen_flush(r), 0);
	CHECK(stat(path, &st) != 0);          /* nothing seen: nothing written */
	registry_agent_seen(t, 0, 1700000300);
	CHECK_EQ_INT(t->agents[0].last_seen, 1700000300);
	CHECK_EQ_INT(t->seen_dirty, 1);
	CHECK_EQ_INT(registry_seen_flush(r), 0);
	CHECK_EQ_INT(t->seen_dirty, 0);
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	registry_agent_seen(t, 1, 1700000400);
	registry_agent_seen(t, 0, 1700000500);
	registry_close(r);                    /* flushes the rest */

	r = NULL;
	CHECK_EQ_INT(registry_open(dir, &r, &rep), 0);
	if (!r)
		return;
	CHECK_EQ_INT(rep.seen_restored, 2);
	CHECK_EQ_INT(rep.seen_unreadable, 0);
	t = registry_tenant(r, "acme");
	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(t->agents[0].last_seen, 1700000500);
		CHECK_EQ_INT(t->agents[1].last_seen, 1700000400);
		CHECK_EQ_INT(t->seen_dirty, 0);
	}
	registry_close(r);

	/* unknown agents and bad values are skipped; garbage is ignored (counted) */
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs("{\"a1\":1700000600,\"ghost\":5,\"a2\":\"x\"}", f);
		fclose(f);
	}
	r = NULL;
	CHECK_EQ_INT(registry_open(dir, &r, &rep), 0);
	if (r) {
		t = registry_tenant(r, "acme");
		CHECK_EQ_INT(rep.seen_restored, 1);
		CHECK(t && t->agents[0].last_seen == 1700000600 && t->agents[1].last_seen == 0);
		registry_close(r);
	}
	f = fopen(path, "w");
	if (f) {
		fputs("{not json", f);
		fclose(f);
	}
	r = NULL;
	CHECK_EQ_INT(registry_open(dir, &r, &rep), 0);   /* a hint: the start goes on */
	if (r) {
		CHECK_EQ_INT(rep.seen_unreadable, 1);
		CHECK_EQ_INT(rep.agents, 2);
		registry_close(r);
	}
}

int main(void)
{
	if (fixture_begin() < 0)
		return 1;
	RUN(test_keys);
	RUN(test_deliver);
	RUN(test_seen);
	return fixture_end();
}
