/* Unit tests for orchestrator/evstore.c: batches, deduplication rebuilt
 * from the journal, identity overwrite, queries, retention pruning. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "harness.h"
#include "orchestrator/evstore.h"

static char tmpdir[] = "/tmp/stavily-evstore.XXXXXX";

static cJSON *batch(const char *json)
{
	cJSON *o = cJSON_Parse(json);
	cJSON *e = cJSON_DetachItemFromObject(o, "events");

	cJSON_Delete(o);
	return e;
}

static void test_ids(void)
{
	CHECK(evstore_id_valid("web-01:000042"));
	CHECK(evstore_id_valid("a.b_c"));
	CHECK(!evstore_id_valid(""));
	CHECK(!evstore_id_valid(NULL));
	CHECK(!evstore_id_valid("a b"));
	CHECK(!evstore_id_valid("a/b"));
	char l[200];
	memset(l, 'x', 128);
	l[128] = '\0';
	CHECK(evstore_id_valid(l));
	l[128] = 'x';
	l[129] = '\0';
	CHECK(!evstore_id_valid(l));
}

static size_t query_count(struct evstore *es, const char *tenant, const char *agent, int64_t since)
{
	struct evstore_filter f = { agent, NULL, since, 1000, 0 };
	cJSON *arr = cJSON_CreateArray();
	long n = evstore_query(es, tenant, &f, arr, NULL);
	cJSON_Delete(arr);
	return n < 0 ? (size_t)-1 : (size_t)n;
}

static void test_store(void)
{
	char dir[512], p[600];
	struct evstore *es = NULL;
	struct evstore_batch_result br;
	cJSON *ev;

	snprintf(dir, sizeof(dir), "%s/tenants", tmpdir);
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
	snprintf(p, sizeof(p), "%s/acme", dir);
	CHECK_EQ_INT(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/beta", dir);
	CHECK_EQ_INT(mkdir(p, 0700), 0);
	CHECK_EQ_INT(evstore_new(dir, &es), 0);
	if (!es)
		return;

	ev = batch("{\"events\":[{\"id\":\"e1\",\"tenant\":\"beta\",\"agent_id\":\"zz\",\"event\":\"x\"},"
	    "{\"id\":\"e2\"},{\"id\":\"e1\"},{\"noid\":1},7]}");
	CHECK_EQ_INT(evstore_add_batch(es, "acme", "a1", ev, 1000, &br), 0);
	CHECK_EQ_INT(br.stored, 2);
	CHECK_EQ_INT(br.duplicates, 1);        /* the repeat inside the batch */
	CHECK_EQ_INT(cJSON_GetArraySize(br.acked), 3);
	CHECK_EQ_INT(cJSON_GetArraySize(br.rejected), 2);
	/* identity from the caller, not the body */
	CHECK_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "tenant")->valuestring, "acme");
	CHECK_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(ev, 0), "agent_id")->valuestring, "a1");
	cJSON_Delete(br.acked);
	cJSON_Delete(br.rejected);
	cJSON_Delete(ev);

	/* the same id from another agent or tenant is another event */
	ev = batch("{\"events\":[{\"id\":\"e1\"}]}");
	CHECK_EQ_INT(evstore_add_batch(es, "acme", "a2", ev, 1000, &br), 0);
	CHECK_EQ_INT(br.stored, 1);
	cJSON_Delete(br.acked);
	cJSON_Delete(br.rejected);
	CHECK_EQ_INT(evstore_add_batch(es, "beta", "a1", ev, 5000, &br), 0);
	CHECK_EQ_INT(br.stored, 1);
	cJSON_Delete(br.acked);
	cJSON_Delete(br.rejected);
	cJSON_Delete(ev);

	/* empty and oversized batches are refused */
	ev = cJSON_CreateArray();
	CHECK_EQ_INT(evstore_add_batch(es, "acme", "a1", ev, 1000, &br), -EINVAL);
	cJSON_Delete(br.acked);
	cJSON_Delete(br.rejected);
	cJSON_Delete(ev);

	CHECK_EQ_INT(query_count(es, "acme", NULL, 0), 3);
	CHECK_EQ_INT(query_count(es, "acme", "a1", 0), 2);
	CHECK_EQ_INT(query_count(es, "beta", NULL, 0), 1);
	CHECK_EQ_INT(query_count(es, "beta", NULL, 5001), 0);
	evstore_free(es);

	/* reopened: the dedup set comes back from the journal */
	es = NULL;
	CHECK_EQ_INT(evstore_new(dir, &es), 0);
	if (!es)
		return;
	ev = batch("{\"events\":[{\"id\":\"e1\"},{\"id\":\"e2\"},{\"id\":\"e3\"}]}");
	CHECK_EQ_INT(evstore_add_batch(es, "acme", "a1", ev, 9000, &br), 0);
	CHECK_EQ_INT(br.stored, 1);
	CHECK_EQ_INT(br.duplicates, 2);
	cJSON_Delete(br.acked);
	cJSON_Delete(br.rejected);
	cJSON_Delete(ev);
	CHECK_EQ_INT(query_count(es, "acme", NULL, 0), 4);

	/* tail: the last two, oldest first */
	{
		struct evstore_filter f = { NULL, NULL, 0, 2, 1 };
		cJSON *arr = cJSON_CreateArray();
		CHECK_EQ_INT(evstore_query(es, "acme", &f, arr, NULL), 2);
		CHECK_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "id")->valuestring, "e1");
		CHECK_EQ_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "id")->valuestring, "e3");
		cJSON_Delete(arr);
	}

	/* retention: nothing is older than 500; everything older than 10000 goes */
	CHECK_EQ_INT(evstore_prune(es, "acme", 500), 0);
	CHECK_EQ_INT(query_count(es, "acme", NULL, 0), 4);
	CHECK_EQ_INT(evstore_prune(es, "acme", 10000), 4);
	CHECK_EQ_INT(query_count(es, "acme", NULL, 0), 0);
	CHECK_EQ_INT(query_count(es, "beta", NULL, 0), 1);
	ev = batch("{\"events\":[{\"id\":\"e9\"}]}");
	CHECK_EQ_INT(evstore_add_batch(es, "acme", "a1", ev, 20000, &br), 0);
	CHECK_EQ_INT(br.stored, 1);
	cJSON_Delete(br.acked);
	cJSON_Delete(br.rejected);
	cJSON_Delete(ev);
	CHECK_EQ_INT(query_count(es, "acme", NULL, 0), 1);
	/* an unknown tenant has nothing (and gets no directory from a query) */
	CHECK(evstore_query(es, "nosuch", &(struct evstore_filter){ 0 }, NULL, NULL) < 0);
	snprintf(p, sizeof(p), "%s/nosuch", dir);
	CHECK(access(p, F_OK) != 0);
	evstore_forget(es, "acme");
	CHECK_EQ_INT(query_count(es, "acme", NULL, 0), 1);
	evstore_free(es);
}

int main(void)
{
	char cmd[128];

	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_ids);
	RUN(test_store);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		printf("  cleanup failed\n");
	return HARNESS_EXIT();
}
