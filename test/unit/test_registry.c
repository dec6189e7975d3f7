/* Unit tests for orchestrator/registry.c: record replay, durability across
 * reopen, torn tails, corruption, uniqueness and token use accounting. */
#include <errno.h>
#include <fcntl.h>
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
#include "store/journal.h"

static void test_agent_id(void)
{
	CHECK(registry_agent_id_valid("agent-1"));
	CHECK(registry_agent_id_valid("a.b_c-D9"));
	CHECK(!registry_agent_id_valid(""));
	CHECK(!registry_agent_id_valid(NULL));
	CHECK(!registry_agent_id_valid(".hidden"));
	CHECK(!registry_agent_id_valid("a/b"));
	CHECK(!registry_agent_id_valid("a b"));
	CHECK(!registry_agent_id_valid("a:b"));
	char l[80];
	memset(l, 'a', 64);
	l[64] = '\0';
	CHECK(registry_agent_id_valid(l));
	l[64] = 'a';
	l[65] = '\0';
	CHECK(!registry_agent_id_valid(l));
}

static void test_apply(void)
{
	struct registry_tenant t;
	struct token_record rec;
	char plain[TOKEN_PLAIN_SIZE], *tj, buf[2048];

	memset(&t, 0, sizeof(t));
	strcpy(t.name, "acme");
	const char *hdr = "{\"op\":\"tenant\",\"name\":\"acme\",\"created\":1700000000}";
	CHECK_EQ_INT(registry_apply(&t, hdr, strlen(hdr)), 0);
	CHECK_EQ_INT(t.created, 1700000000);
	/* a record naming another tenant is refused */
	const char *other = "{\"op\":\"tenant\",\"name\":\"beta\",\"created\":1}";
	CHECK_EQ_INT(registry_apply(&t, other, strlen(other)), -EINVAL);

	CHECK_EQ_INT(token_create("acme", 1700000000, 3600, 2, &rec, plain), 0);
	tj = token_to_json(&rec);
	snprintf(buf, sizeof(buf), "{\"op\":\"token\",%s", tj + 1);
	CHECK_EQ_INT(registry_apply(&t, buf, strlen(buf)), 0);
	CHECK_EQ_INT(t.n_tokens, 1);
	CHECK_EQ_INT(t.tokens[0].uses_left, 2);
	/* the last state of a hash wins */
	rec.revoked = 1;
	free(tj);
	tj = token_to_json(&rec);
	snprintf(buf, sizeof(buf), "{\"op\":\"token\",%s", tj + 1);
	CHECK_EQ_INT(registry_apply(&t, buf, strlen(buf)), 0);
	CHECK_EQ_INT(t.n_tokens, 1);
	CHECK_EQ_INT(t.tokens[0].revoked, 1);
	free(tj);

	/* a token of another tenant inside acme's journal is refused */
	struct token_record rb;
	CHECK_EQ_INT(token_create("beta", 1700000000, 3600, 1, &rb, plain), 0);
	tj = token_to_json(&rb);
	snprintf(buf, sizeof(buf), "{\"op\":\"token\",%s", tj + 1);
	CHECK_EQ_INT(registry_apply(&t, buf, strlen(buf)), -EINVAL);
	free(tj);

	/* enroll: agent + token state */
	rec.revoked = 0;
	rec.uses_left = 1;
	tj = token_to_json(&rec);
	snprintf(buf, sizeof(buf), "{\"op\":\"enroll\",\"agent\":{\"id\":\"a1\",\"identity\":\"spiffe://x/tenant/acme/agent/a1\","
	    "\"serial\":\"0a1b\",\"token_id\":\"abcdef012345\",\"enrolled\":1700000001,\"not_after\":1800000000},"
	    "\"token\":%s}", tj);
	CHECK_EQ_INT(registry_apply(&t, buf, strlen(buf)), 0);
	CHECK_EQ_INT(t.n_agents, 1);
	CHECK_EQ_STR(t.agents[0].id, "a1");
	CHECK_EQ_INT(t.agents[0].not_after, 1800000000);
	CHECK_EQ_INT(t.tokens[0].uses_left, 1);
	CHECK_EQ_INT(registry_agent_find(&t, "a1"), 0);
	CHECK_EQ_INT(registry_agent_find(&t, "a2"), -ENOENT);
	/* the same agent twice is corruption, not a second agent */
	CHECK(registry_apply(&t, buf, strlen(buf)) < 0);
	CHECK_EQ_INT(t.n_agents, 1);
	free(tj);

	/* malformed records */
	const char *bad[] = {
		"", "{", "[]", "{\"op\":\"nope\"}", "{\"name\":\"acme\"}",
		"{\"op\":\"tenant\",\"name\":\"acme\",\"created\":-1}",
		"{\"op\":\"tenant\",\"name\":\"acme\",\"created\":1.5}",
		"{\"op\":\"enroll\",\"agent\":{\"id\":\"../x\"},\"token\":{}}",
		("{\"op\":\"enroll\",\"agent\":{\"id\":\"a3\",\"identity\":\"u\",\"serial\":\"XYZ\",\"token_id\":\"a\","
		"\"enrolled\":1,\"not_after\":2},\"token\":{}}"),
		"{\"op\":\"token\",\"hash\":\"00\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(registry_apply(&t, bad[i], strlen(bad[i])), -EINVAL);
	CHECK_EQ_INT(t.n_agents, 1);
	free(t.tokens);
	free(t.agents);
}

static void test_persist(void)
{
	char dir[256], plain[TOKEN_PLAIN_SIZE];
	struct registry *r = NULL;
	struct registry_report rep;
	struct registry_tenant *t;
	struct token_record rec, rec2;
	struct registry_agent a1 = mk_agent("a1"), a2 = mk_agent("a2"), a3 = mk_agent("a3");

	fresh(dir, sizeof(dir), "persist");
	CHECK_EQ_INT(registry_open(dir, &r, &rep), 0);
	if (!r)
		return;
	CHECK_EQ_INT(rep.tenants, 0);
	CHECK_EQ_INT(registry_tenant_add(r, "acme", 1700000000), 0);
	CHECK_EQ_INT(registry_tenant_add(r, "acme", 1700000000), -EEXIST);
	CHECK_EQ_INT(registry_tenant_add(r, "../evil", 1700000000), -EINVAL);
	CHECK_EQ_INT(registry_tenant_add(r, "beta", 1700000000), 0);
	CHECK_EQ_INT(token_create("acme", 1700000000, 3600, 2, &rec, plain), 0);
	CHECK_EQ_INT(registry_token_add(r, &rec), 0);
	CHECK_EQ_INT(registry_token_add(r, &rec), -EEXIST);
	CHECK_EQ_INT(token_create("nosuch", 1700000000, 3600, 2, &rec2, plain), 0);
	CHECK_EQ_INT(registry_token_add(r, &rec2), -ENOENT);
	CHECK_EQ_INT(token_create("beta", 1700000000, 3600, 1, &rec2, plain), 0);
	CHECK_EQ_INT(registry_token_add(r, &rec2), 0);
	t = registry_tenant(r, "acme");
	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_EQ_INT(registry_enroll(r, t, &a1, 0), 0);
	CHECK_EQ_INT(registry_enroll(r, t, &a1, 0), -EEXIST);
	CHECK_EQ_INT(t->tokens[0].uses_left, 1);
	CHECK_EQ_INT(registry_enroll(r, t, &a2, 0), 0);
	CHECK_EQ_INT(t->tokens[0].uses_left, 0);
	CHECK_EQ_INT(registry_enroll(r, t, &a3, 0), -EINVAL);   /* used up */
	CHECK_EQ_INT(t->n_agents, 2);
	/* lookup by public id across tenants, then revoke */
	char id[TOKEN_ID_SIZE];
	struct registry_tenant *ft = NULL;
	size_t idx = 99;
	token_id(&rec2, id);
	CHECK_EQ_INT(registry_token_lookup(r, id, &ft, &idx), 0);
	CHECK(ft == registry_tenant(r, "beta"));
	CHECK_EQ_INT(idx, 0);
	CHECK_EQ_INT(registry_token_lookup(r, "zz", &ft, &idx), -EINVAL);
	CHECK_EQ_INT(registry_token_revoke(r, ft, 0), 0);
	/* renewal keeps the previous serial; revocation covers both */
	CHECK_EQ_INT(registry_agent_renew(r, t, 0, "0a0b", 1900000000, 1700000100), 0);
	CHECK_EQ_STR(t->agents[0].serial, "0a0b");
	CHECK_EQ_STR(t->agents[0].prev_serial, "0102");
	CHECK_EQ_INT(registry_agent_renew(r, t, 0, "XYZ", 1900000000, 1700000100), -EINVAL);
	CHECK_EQ_INT(registry_serial_revoked(r, "0a0b"), 0);
	CHECK_EQ_INT(registry_agent_revoke(r, t, 0, 1700000200), 0);
	CHECK_EQ_INT(registry_agent_revoke(r, t, 0, 1700000300), 0);   /* twice: first time stays */
	CHECK_EQ_INT(t->agents[0].revoked_at, 1700000200);
	CHECK_EQ_INT(registry_serial_revoked(r, "0a0b"), 1);
	CHECK_EQ_INT(registry_serial_revoked(r, "0102"), 1);   /* a2 has 0102 too, but a1's old one counts */
	CHECK_EQ_INT(registry_agent_renew(r, t, 0, "0c0d", 1900000000, 1700000400), -EPERM);
	registry_close(r);
	r = NULL;

	/* reopen: the same state */
	CHECK_EQ_INT(registry_open(dir, &r, &rep), 0);
	if (!r)
		goto out;
	CHECK_EQ_INT(rep.tenants, 2);
	CHECK_EQ_INT(rep.tokens, 2);
	CHECK_EQ_INT(rep.agents, 2);
	CHECK_EQ_INT(rep.torn_bytes, 0);
	t = registry_tenant(r, "acme");
	CHECK(t && t->n_agents == 2 && t->tokens[0].uses_left == 0);
	CHECK(t && registry_agent_find(t, "a2") == 1);
	CHECK(t && t->created == 1700000000);
	CHECK(t && t->agents[0].revoked == 1 && t->agents[0].revoked_at == 1700000200);
	CHECK(t && strcmp(t->agents[0].serial, "0a0b") == 0 && strcmp(t->agents[0].prev_serial, "0102") == 0);
	CHECK(t && t->agents[0].renewed == 1700000100 && t->agents[0].not_after == 1900000000);
	CHECK(t && t->agents[1].revoked == 0);
	CHECK_EQ_INT(registry_serial_revoked(r, "0a0b"), 1);
	CHECK_EQ_INT(registry_serial_revoked(r, "ffff"), 0);
	t = registry_tenant(r, "beta");
	CHECK(t && t->n_tokens == 1 && t->tokens[0].revoked == 1 && t->n_agents == 0);
	registry_close(r);
	r = NULL;

	/* a torn tail (crash during an append) is cut off and reported */
	char seg[512];
	snprintf(seg, sizeof(seg), "%s/tenants/acme/journal/000000000001.seg", dir);
	int fd = open(seg, O_WRONLY | O_APPEND);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ_INT(write(fd, "SJR\001\377\000", 6), 6);
		close(fd);
	}
	CHECK_EQ_INT(registry_open(dir, &r, &rep), 0);
	CHECK_EQ_INT(rep.torn_bytes, 6);
	CHECK_EQ_STR(rep.torn_tenant, "acme");
	CHECK_EQ_INT(rep.agents, 2);
	registry_close(r);
	r = NULL;

	/* a record we cannot read (valid frame, bad content) stops the start */
	struct journal *j = NULL;
	snprintf(seg, sizeof(seg), "%s/tenants/beta/journal", dir);
	CHECK_EQ_INT(journal_open(seg, NULL, &j, NULL), 0);
	if (j) {
		CHECK_EQ_INT(journal_append(j, "not json", 8, NULL), 0);
		CHECK_EQ_INT(journal_sync(j), 0);
		journal_close(j);
	}
	CHECK_EQ_INT(registry_open(dir, &r, &rep), -EBADMSG);
	CHECK(r == NULL);
out:
	registry_close(r);
}

static void test_unacknowledged_tenant(void)
{
	char dir[256], p[512];
	struct registry *r = NULL;
	struct registry_report rep;
	struct journal *j = NULL;
	struct journal_options opt = { .flags = JOURNAL_CREATE };

	fresh(dir, sizeof(dir), "unack");
	/* a tenant directory whose first record never made it: ignored */
	snprintf(p, sizeof(p), "%s/tenants/ghost/journal", dir);
	CHECK_EQ_INT(mkdir(dir, 0700) == 0 || errno == EEXIST, 1);
	snprintf(p, sizeof(p), "%s/tenants", dir);
	CHECK_EQ_INT(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tenants/ghost", dir);
	CHECK_EQ_INT(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tenants/ghost/journal", dir);
	CHECK_EQ_INT(journal_open(p, &opt, &j, NULL), 0);
	journal_close(j);
	CHECK_EQ_INT(registry_open(dir, &r, &rep), 0);
	CHECK_EQ_INT(rep.tenants, 0);
	CHECK(r && registry_tenant(r, "ghost") == NULL);
	registry_close(r);
}

/* Jobs, heartbeat commands and purge: durable, replayed, tenant-scoped. */
static void test_jobs_commands_purge(void)
{
	char dir[512], p[600], plain[TOKEN_PLAIN_SIZE];
	struct registry *r = NULL;
	struct registry_tenant *t;
	struct token_record rec;
	struct registry_agent a = mk_agent("a1"), b = mk_agent("a2");
	struct registry_job j;
	struct registry_command c, first;
	struct stat st;

	fresh(dir, sizeof(dir), "jobs");
	CHECK_EQ_INT(registry_open(dir, &r, NULL), 0);
	if (!r)
		return;
	CHECK_EQ_INT(registry_tenant_add(r, "acme", 1700000000), 0);
	CHECK_EQ_INT(registry_tenant_add(r, "beta", 1700000000), 0);
	t = registry_tenant(r, "acme");
	CHECK_EQ_INT(token_create("acme", 1700000000, 3600, 5, &rec, plain), 0);
	CHECK_EQ_INT(registry_token_add(r, &rec), 0);
	CHECK_EQ_INT(registry_enroll(r, t, &a, 0), 0);
	CHECK_EQ_INT(registry_enroll(r, t, &b, 0), 0);

	memset(&j, 0, sizeof(j));
	strcpy(j.id, "0123456789abcdef0123456789abcdef");
	strcpy(j.agent_id, "a1");
	strcpy(j.plugin, "uptime");
	j.args = (char *)"{\"n\":[1,{\"x\":2}]}";
	j.timeout = 30;
	j.created = 1700000100;
	CHECK_EQ_INT(registry_job_add(r, t, &j), 0);
	CHECK_EQ_INT(registry_job_add(r, t, &j), -EEXIST);
	strcpy(j.agent_id, "nobody");
	j.id[0] = '1';
	CHECK_EQ_INT(registry_job_add(r, t, &j), -ENOENT);
	/* the job of acme is not in beta */
	CHECK_EQ_INT(registry_job_find(registry_tenant(r, "beta"), "0123456789abcdef0123456789abcdef"), -ENOENT);
	strcpy(j.agent_id, "a1");
	strcpy(j.plugin, "../x");
	CHECK_EQ_INT(registry_job_add(r, t, &j), -EINVAL);
	CHECK_EQ_INT(registry_job_find(t, "0123456789abcdef0123456789abcdef"), 0);
	CHECK_EQ_INT(registry_job_result(r, t, 0, "{\"status\":\"succeeded\"}", 1700000200), 0);
	CHECK_EQ_INT(registry_job_result(r, t, 0, "{\"status\":\"failed\"}", 1700000300), -EALREADY);

	/* commands: 17 queued, the oldest dropped; quarantine state follows */
	CHECK_EQ_INT(registry_command_add(r, t, 0, "quarantine", 1700000400, &first), 0);
	CHECK_EQ_INT(t->agents[0].quarantined, 1);
	for (int i = 0; i < REGISTRY_MAX_COMMANDS; i++)
		CHECK_EQ_INT(registry_command_add(r, t, 0, "rotate", 1700000401 + i, &c), 0);
	CHECK_EQ_INT(t->agents[0].n_cmds, REGISTRY_MAX_COMMANDS);
	CHECK(strcmp(t->agents[0].cmds[0].id, first.id) != 0);
	CHECK_EQ_INT(registry_command_add(r, t, 0, "revoke", 1, &c), -EINVAL);
	const char *ids[] = { t->agents[0].cmds[0].id, "ffffffffffffffff" };
	char keep[REGISTRY_CMD_ID_SIZE];
	strcpy(keep, t->agents[0].cmds[1].id);
	CHECK_EQ_INT(registry_command_ack(r, t, 0, ids, 2), 1);
	CHECK_EQ_INT(t->agents[0].n_cmds, REGISTRY_MAX_COMMANDS - 1);
	CHECK_EQ_STR(t->agents[0].cmds[0].id, keep);
	CHECK_EQ_INT(registry_command_ack(r, t, 0, ids + 1, 1), 0);
	CHECK_EQ_INT(registry_agent_revoke(r, t, 1, 1700000500), 0);
	CHECK_EQ_INT(registry_command_add(r, t, 1, "quarantine", 1, &c), -EPERM);
	registry_close(r);

	/* everything replays */
	r = NULL;
	CHECK_EQ_INT(registry_open(dir, &r, NULL), 0);
	if (!r)
		return;
	t = registry_tenant(r, "acme");
	CHECK(t != NULL);
	if (!t)
		goto out;
	CHECK_EQ_INT(t->n_jobs, 1);
	CHECK_EQ_STR(t->jobs[0].plugin, "uptime");
	CHECK_EQ_STR(t->jobs[0].args, "{\"n\":[1,{\"x\":2}]}");
	CHECK(t->jobs[0].result && strcmp(t->jobs[0].result, "{\"status\":\"succeeded\"}") == 0);
	CHECK_EQ_INT(t->jobs[0].completed, 1700000200);
	CHECK_EQ_INT(t->jobs[0].delivered, 0);
	CHECK_EQ_INT(t->agents[0].quarantined, 1);
	CHECK_EQ_INT(t->agents[0].n_cmds, REGISTRY_MAX_COMMANDS - 1);
	CHECK_EQ_STR(t->agents[0].cmds[0].id, keep);

	/* purge: memory and directory gone, beta untouched */
	snprintf(p, sizeof(p), "%s/tenants/acme", dir);
	CHECK_EQ_INT(stat(p, &st), 0);
	CHECK_EQ_INT(registry_tenant_purge(r, "acme"), 0);
	CHECK(registry_tenant(r, "acme") == NULL);
	CHECK(stat(p, &st) != 0 && errno == ENOENT);
	CHECK(registry_tenant(r, "beta") != NULL);
	CHECK_EQ_INT(registry_tenant_purge(r, "acme"), -ENOENT);
	CHECK_EQ_INT(registry_tenant_purge(r, "../x"), -EINVAL);
	/* a leftover directory of an unknown tenant is removed too */
	CHECK_EQ_INT(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tenants/acme/junk", dir);
	CHECK_EQ_INT(mkdir(p, 0700), 0);
	CHECK_EQ_INT(registry_tenant_purge(r, "acme"), 0);
	snprintf(p, sizeof(p), "%s/tenants/acme", dir);
	CHECK(stat(p, &st) != 0);
	registry_close(r);
	r = NULL;
	CHECK_EQ_INT(registry_open(dir, &r, NULL), 0);
	CHECK(r && registry_tenant(r, "acme") == NULL && registry_tenant(r, "beta") != NULL);
	/* the name can be used again */
	CHECK(r && registry_tenant_add(r, "acme", 1700000600) == 0);
out:
	registry_close(r);
}

int main(void)
{
	if (fixture_begin() < 0)
		return 1;
	RUN(test_agent_id);
	RUN(test_apply);
	RUN(test_persist);
	RUN(test_unacknowledged_tenant);
	RUN(test_jobs_commands_purge);
	return fixture_end();
}
