/*
 * test_agent_msg.c: the spawner/worker message codec is strict and total.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent/msg.h"
#include "harness.h"

static uint8_t buf[MSG_MAX + 64];

static void
fill_run(struct msg *m)
{
	msg_init(m, MSG_RUN_JOB);
	strcpy(m->job_id, "job-1");
	strcpy(m->plugin, "hello");
	strcpy(m->digest, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
	m->args = strdup("{\"x\":1}");
	m->limits[0] = strdup("memory_limit=64MB");
	m->limits[1] = strdup("wall_timeout=5s");
	m->n_limits = 2;
}

static void
test_roundtrip_run_job(void)
{
	struct msg m, d;
	size_t len;

	fill_run(&m);
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	CHECK_EQ_INT(msg_decode(buf, len, &d), MSG_OK);
	CHECK_EQ_INT(d.type, MSG_RUN_JOB);
	CHECK_EQ_STR(d.job_id, "job-1");
	CHECK_EQ_STR(d.plugin, "hello");
	CHECK_EQ_STR(d.digest, m.digest);
	CHECK_EQ_STR(d.args, "{\"x\":1}");
	CHECK_EQ_INT(d.n_limits, 2);
	CHECK_EQ_STR(d.limits[1], "wall_timeout=5s");
	msg_free(&d);
	msg_free(&m);
}

static void
test_roundtrip_others(void)
{
	struct msg m, d;
	size_t len;
	uint8_t data[3] = { 0, 1, 2 };

	msg_init(&m, MSG_JOB_OUTPUT);
	strcpy(m.job_id, "j");
	m.stream = MSG_STREAM_STDERR;
	m.data = data;
	m.data_len = 3;
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	CHECK_EQ_INT(msg_decode(buf, len, &d), MSG_OK);
	CHECK_EQ_INT(d.data_len, 3);
	CHECK(d.data != NULL && memcmp(d.data, data, 3) == 0);
	CHECK_EQ_INT(d.stream, MSG_STREAM_STDERR);
	msg_free(&d);

	msg_init(&m, MSG_JOB_STARTED);
	strcpy(m.job_id, "j2");
	m.pid = 4242;
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	CHECK_EQ_INT(msg_decode(buf, len, &d), MSG_OK);
	CHECK_EQ_INT(d.pid, 4242);
	msg_free(&d);

	msg_init(&m, MSG_LOCKDOWN);
	m.flag = 1;
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	CHECK_EQ_INT(len, MSG_HEADER_LEN + 1);
	CHECK_EQ_INT(msg_decode(buf, len, &d), MSG_OK);
	CHECK_EQ_INT(d.flag, 1);
	msg_free(&d);

	msg_init(&m, MSG_SHUTDOWN);
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	CHECK_EQ_INT(len, MSG_HEADER_LEN);
	CHECK_EQ_INT(msg_decode(buf, len, &d), MSG_OK);
	CHECK_EQ_INT(d.type, MSG_SHUTDOWN);

	msg_init(&m, MSG_JOB_DONE);
	strcpy(m.job_id, "j3");
	m.text = "{\"exit\":0}";
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	CHECK_EQ_INT(msg_decode(buf, len, &d), MSG_OK);
	CHECK_EQ_STR(d.text, "{\"exit\":0}");
	msg_free(&d);
}

/* Every truncation of a valid message is rejected, never read past. */
static void
test_truncations_rejected(void)
{
	struct msg m, d;
	size_t len, i;
	int bad = 0;

	fill_run(&m);
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	msg_free(&m);
	for (i = 0; i < len; i++) {
		uint8_t *copy = malloc(i ? i : 1); /* exact size: ASan sees overreads */
		memcpy(copy, buf, i);
		if (msg_decode(copy, i, &d) == MSG_OK) {
			bad++;
			msg_free(&d);
		}
		free(copy);
	}
	CHECK_EQ_INT(bad, 0);
	/* same bytes with the header length patched to match: still rejected */
	for (i = MSG_HEADER_LEN; i < len; i++) {
		size_t pl = i - MSG_HEADER_LEN;
		buf[4] = (uint8_t)pl; buf[5] = (uint8_t)(pl >> 8); buf[6] = buf[7] = 0;
		if (msg_decode(buf, i, &d) == MSG_OK) {
			bad++;
			msg_free(&d);
		}
	}
	CHECK_EQ_INT(bad, 0);
}

static enum msg_error
decode_patched(size_t off, uint8_t val)
{
	struct msg m, d;
	size_t len;
	enum msg_error e;

	fill_run(&m);
	if (msg_encode(&m, buf, sizeof(buf), &len) != MSG_OK)
		return MSG_E_NOMEM;
	msg_free(&m);
	buf[off] = val;
	e = msg_decode(buf, len, &d);
	msg_free(&d);
	return e;
}

static void
test_malformed_fields(void)
{
	struct msg m, d;
	size_t len;

	/* unknown type, reserved bits, zero type */
	CHECK_EQ_INT(decode_patched(0, 99), MSG_E_TYPE);
	CHECK_EQ_INT(decode_patched(0, 0), MSG_E_TYPE);
	CHECK_EQ_INT(decode_patched(2, 1), MSG_E_TYPE);
	/* header length disagrees */
	CHECK_EQ_INT(decode_patched(4, 1), MSG_E_LENGTH);
	/* job id length huge: field cap, before any allocation */
	CHECK_EQ_INT(decode_patched(11, 0x7f), MSG_E_FIELD);
	/* a '/' in the job id ("job-1" starts at offset 12) */
	CHECK_EQ_INT(decode_patched(13, '/'), MSG_E_FIELD);
	/* NUL inside a string */
	CHECK_EQ_INT(decode_patched(13, 0), MSG_E_FIELD);

	/* trailing byte */
	fill_run(&m);
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_OK);
	msg_free(&m);
	buf[len] = 0;
	buf[4]++;
	CHECK_EQ_INT(msg_decode(buf, len + 1, &d), MSG_E_TRAILING);

	/* bad digest, bad plugin names, too many limits, bad limit: the encoder
	 * refuses them too, so craft by hand via a valid message + edits */
	fill_run(&m);
	strcpy(m.digest, "sha256:XYZ");
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_E_FIELD);
	strcpy(m.digest, "");
	strcpy(m.plugin, "../etc");
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_E_FIELD);
	strcpy(m.plugin, ".hidden");
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_E_FIELD);
	strcpy(m.plugin, "ok");
	free(m.limits[1]);
	m.limits[1] = strdup("novalue");
	CHECK_EQ_INT(msg_encode(&m, buf, sizeof(buf), &len), MSG_E_FIELD);
	msg_free(&m);

	/* a LOCKDOWN flag other than 0/1; a bad stream */
	{
		uint8_t l[9] = { MSG_LOCKDOWN, 0, 0, 0, 1, 0, 0, 0, 2 };
		uint8_t o[8 + 4 + 1 + 1 + 4] = { MSG_JOB_OUTPUT, 0, 0, 0, 10, 0, 0, 0,
		    1, 0, 0, 0, 'j', 3, 0, 0, 0, 0 };
		CHECK_EQ_INT(msg_decode(l, sizeof(l), &d), MSG_E_FIELD);
		CHECK_EQ_INT(msg_decode(o, sizeof(o), &d), MSG_E_FIELD);
		o[13] = 1;
		CHECK_EQ_INT(msg_decode(o, sizeof(o), &d), MSG_OK);
		msg_free(&d);
	}
	/* oversized args are refused by the decoder before allocating */
	{
		uint8_t h[8 + 4 + 1 + 4 + 1 + 4 + 4] = { MSG_RUN_JOB, 0, 0, 0, 18, 0, 0, 0,
		    1, 0, 0, 0, 'j', 1, 0, 0, 0, 'p', 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x0f };
		CHECK_EQ_INT(msg_decode(h, sizeof(h), &d), MSG_E_FIELD);
	}
}

/* Random bytes: the decoder returns, and anything it accepts re-encodes. */
static void
test_random_total(void)
{
	unsigned seed = 7;
	struct msg d;
	size_t len, i, n;
	int accepted = 0;

	for (i = 0; i < 20000; i++) {
		len = (size_t)(rand_r(&seed) % 64);
		for (n = 0; n < len; n++)
			buf[n] = (uint8_t)(rand_r(&seed) % 8 == 0 ? 0 : rand_r(&seed));
		if (len >= 8) {
			buf[0] = (uint8_t)(1 + rand_r(&seed) % 9);
			buf[1] = buf[2] = buf[3] = 0;
			buf[4] = (uint8_t)(len - 8);
			buf[5] = buf[6] = buf[7] = 0;
		}
		if (msg_decode(buf, len, &d) == MSG_OK) {
			uint8_t out[256];
			size_t ol;
			accepted++;
			CHECK_EQ_INT(msg_encode(&d, out, sizeof(out), &ol), MSG_OK);
			CHECK_EQ_INT(ol, len);
			CHECK(memcmp(out, buf, len) == 0);
			msg_free(&d);
		}
	}
	CHECK(accepted > 0); /* SHUTDOWN/LOCKDOWN-shaped inputs do decode */
}

static void
test_socket_send_recv(void)
{
	int sv[2];
	struct msg m, d;
	enum msg_error why;

	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	fill_run(&m);
	CHECK_EQ_INT(msg_send(sv[0], &m), 0);
	CHECK_EQ_INT(msg_recv(sv[1], &d, &why), 0);
	CHECK_EQ_STR(d.plugin, "hello");
	msg_free(&d);
	msg_free(&m);
	/* garbage, then a valid message: the first is rejected, the second read */
	CHECK_EQ_INT(send(sv[0], "garbage!!", 9, 0), 9);
	msg_init(&m, MSG_SHUTDOWN);
	CHECK_EQ_INT(msg_send(sv[0], &m), 0);
	CHECK_EQ_INT(msg_recv(sv[1], &d, &why), -EBADMSG);
	CHECK_EQ_INT(why, MSG_E_TYPE);
	CHECK_EQ_INT(msg_recv(sv[1], &d, &why), 0);
	CHECK_EQ_INT(d.type, MSG_SHUTDOWN);
	/* an over-long datagram is refused as a whole */
	memset(buf, 0, sizeof(buf));
	buf[0] = MSG_STATUS;
	CHECK_EQ_INT(send(sv[0], buf, MSG_MAX + 10, 0), MSG_MAX + 10);
	CHECK_EQ_INT(msg_recv(sv[1], &d, &why), -EBADMSG);
	CHECK_EQ_INT(why, MSG_E_LENGTH);
	close(sv[0]);
	CHECK_EQ_INT(msg_recv(sv[1], &d, &why), -EPIPE);
	close(sv[1]);
}

int
main(void)
{
	RUN(test_roundtrip_run_job);
	RUN(test_roundtrip_others);
	RUN(test_truncations_rejected);
	RUN(test_malformed_fields);
	RUN(test_random_total);
	RUN(test_socket_send_recv);
	return HARNESS_EXIT();
}
