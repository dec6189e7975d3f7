/*
 * deliver.c: spool-backed delivery of job results and events (deliver.h).
 */
#include "agent/deliver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/msg.h"

int deliver_job_result(struct spool *s, const char *job_id, const cJSON *result)
{
	cJSON *o = cJSON_CreateObject();
	char *txt = NULL;
	int r = -ENOMEM;

	if (!o || !cJSON_AddStringToObject(o, "job_id", job_id) ||
	    !cJSON_AddItemToObject(o, "result", cJSON_Duplicate(result, 1)))
		goto out;
	txt = cJSON_PrintUnformatted(o);
	if (!txt)
		goto out;
	r = spool_append(s, SPOOL_JOB_RESULT, txt, strlen(txt), NULL);
out:
	cJSON_free(txt);
	cJSON_Delete(o);
	return r;
}

int deliver_event(struct spool *s, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return spool_append(s, SPOOL_SECURITY_EVENT, line, len, NULL);
}

int deliver_sensor_event(struct spool *s, const char *line, size_t len)
{
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	return spool_append(s, SPOOL_SENSOR_EVENT, line, len, NULL);
}

static int post_result(struct link *l, const struct spool_record *rec, int *acked)
{
	struct http_client_response resp;
	cJSON *o = cJSON_ParseWithLength((const char *)rec->body, rec->len);
	cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "job_id");
	cJSON *res = cJSON_GetObjectItemCaseSensitive(o, "result");
	char path[128], *body = NULL;
	int r;

	*acked = 0;
	if (!cJSON_IsString(id) || !msg_id_valid(id->valuestring) || !cJSON_IsObject(res)) {
		cJSON_Delete(o);
		*acked = 1;    /* unreadable record: sending it can never succeed */
		return 0;
	}
	snprintf(path, sizeof(path), "/v1/agent/jobs/%s/result", id->valuestring);
	body = cJSON_PrintUnformatted(res);
	cJSON_Delete(o);
	if (!body)
		return -ENOMEM;
	r = link_request(l, "POST", path, NULL, 0, body, strlen(body), &resp);
	cJSON_free(body);
	if (r < 0)
		return r;
	if (resp.resp.status == 200 || resp.resp.status == 404 || resp.resp.status == 400)
		*acked = 1;
	else
		r = -EAGAIN;
	http_client_response_free(&resp);
	return r;
}

static int post_events(struct spool *s, struct link *l, const struct spool_batch *b, int *n_acked)
{
	struct http_client_response resp;
	cJSON *root = cJSON_CreateObject(), *arr, *ans = NULL, *acked, *it;
	const char *ids[2 * DELIVER_BATCH], *sent[DELIVER_BATCH];
	char *body = NULL;
	size_t n = 0, matched = 0;
	int r = -ENOMEM;

	*n_acked = 0;
	arr = root ? cJSON_AddArrayToObject(root, "events") : NULL;
	if (!arr)
		goto out;
	for (size_t i = 0; i < b->n && n < DELIVER_BATCH; i++) {
		cJSON *e;
		if (b->recs[i].cls != SPOOL_SECURITY_EVENT && b->recs[i].cls != SPOOL_SENSOR_EVENT)
			continue;
		e = cJSON_ParseWithLength((const char *)b->recs[i].body, b->recs[i].len);
		if (!cJSON_IsObject(e)) {
			cJSON_Delete(e);
			e = cJSON_CreateObject();   /* keep the id: acked, dropped */
			cJSON_AddStringToObject(e, "event", "unreadable_spool_record");
		}
		cJSON_DeleteItemFromObjectCaseSensitive(e, "id");
		cJSON_AddStringToObject(e, "id", b->recs[i].id);
		cJSON_AddItemToArray(arr, e);
		sent[n++] = b->recs[i].id;
	}
	if (n == 0) {
		r = 0;
		goto out;
	}
	body = cJSON_PrintUnformatted(root);
	if (!body)
		goto out;
	r = link_request(l, "POST", "/v1/agent/events", NULL, 0, body, strlen(body), &resp);
	if (r < 0)
		goto out;
	if (resp.resp.status == 200)
		ans = cJSON_ParseWithLength((const char *)resp.resp.body, resp.resp.body_len);
	else
		r = -EAGAIN;
	http_client_response_free(&resp);
	{
		size_t n_sent = n;
		n = 0;
		acked = cJSON_GetObjectItemCaseSensitive(ans, "acked");
		cJSON_ArrayForEach(it, acked) {
			if (cJSON_IsString(it) && n < DELIVER_BATCH)
				ids[n++] = it->valuestring;
		}
		/* elements the orchestrator can never accept are dropped, not
		 * resent for ever (it says which by index) */
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(ans, "rejected")) {
			cJSON *ix = cJSON_GetObjectItemCaseSensitive(it, "index");
			if (cJSON_IsNumber(ix) && ix->valuedouble >= 0 &&
			    ix->valuedouble < (double)n_sent && n < 2 * DELIVER_BATCH)
				ids[n++] = sent[(size_t)ix->valuedouble];
		}
	}
	if (n && spool_ack(s, ids, n, &matched) == 0)
		*n_acked = (int)matched;
out:
	cJSON_free(body);
	cJSON_Delete(ans);
	cJSON_Delete(root);
	return r;
}

int deliver_flush(struct spool *s, struct link *l)
{
	struct spool_batch b;
	int r, total = 0, n_ev = 0;

	memset(&b, 0, sizeof(b));
	r = spool_peek(s, DELIVER_BATCH, DELIVER_BATCH_BYTES, &b);
	if (r < 0)
		return r;
	for (size_t i = 0; i < b.n; i++) {
		int acked = 0;
		const char *id = b.recs[i].id;
		if (b.recs[i].cls != SPOOL_JOB_RESULT)
			continue;
		r = post_result(l, &b.recs[i], &acked);
		if (r < 0)
			goto out;
		if (acked && spool_ack(s, &id, 1, NULL) == 0)
			total++;
	}
	r = post_events(s, l, &b, &n_ev);
	if (r < 0)
		goto out;
	total += n_ev;
	r = total;
out:
	spool_batch_free(&b);
	return r;
}
