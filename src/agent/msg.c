/* see msg.h */
#include "agent/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void
msg_init(struct msg *m, enum msg_type type)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
}

void
msg_free(struct msg *m)
{
	size_t i;

	if (m == NULL)
		return;
	free(m->args);
	free(m->data);
	free(m->text);
	for (i = 0; i < m->n_limits && i < MSG_LIMITS_MAX; i++)
		free(m->limits[i]);
	memset(m, 0, sizeof(*m));
}

const char *
msg_error_name(enum msg_error e)
{
	switch (e) {
	case MSG_OK: return "ok";
	case MSG_E_SHORT: return "truncated message";
	case MSG_E_LENGTH: return "bad message length";
	case MSG_E_TYPE: return "unknown message type";
	case MSG_E_FIELD: return "invalid field";
	case MSG_E_TRAILING: return "trailing bytes";
	case MSG_E_NOMEM: return "out of memory";
	}
	return "unknown error";
}

int
msg_id_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > MSG_ID_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

int
msg_digest_valid(const char *s)
{
	size_t i;

	if (strlen(s) != MSG_DIGEST_LEN || strncmp(s, "sha256:", 7) != 0)
		return 0;
	for (i = 7; i < MSG_DIGEST_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- decoding: a cursor over the payload -------------------------------- */

struct rd {
	const uint8_t *p;
	size_t left;
};

static enum msg_error
rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
	if (r->left < n)
		return MSG_E_SHORT;
	*out = r->p;
	r->p += n;
	r->left -= n;
	return MSG_OK;
}

static enum msg_error
rd_u32(struct rd *r, uint32_t *v)
{
	const uint8_t *b;
	enum msg_error e = rd_bytes(r, 4, &b);

	if (e == MSG_OK)
		*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return e;
}

static enum msg_error
rd_u8(struct rd *r, uint8_t *v)
{
	const uint8_t *b;
	enum msg_error e = rd_bytes(r, 1, &b);

	if (e == MSG_OK)
		*v = b[0];
	return e;
}

/* A length-prefixed field of at most `max` bytes; *out points into the
 * datagram (not terminated). */
static enum msg_error
rd_field(struct rd *r, size_t max, const uint8_t **out, size_t *n)
{
	uint32_t len;
	enum msg_error e = rd_u32(r, &len);

	if (e != MSG_OK)
		return e;
	if (len > max)
		return MSG_E_FIELD;
	*n = len;
	return rd_bytes(r, len, out);
}

/* A text field: no NUL inside, copied into `buf` of size max+1. */
static enum msg_error
rd_str_fixed(struct rd *r, size_t max, char *buf)
{
	const uint8_t *b;
	size_t n;
	enum msg_error e = rd_field(r, max, &b, &n);

	if (e != MSG_OK)
		return e;
	if (memchr(b, 0, n) != NULL)
		return MSG_E_FIELD;
	memcpy(buf, b, n);
	buf[n] = '\0';
	return MSG_OK;
}

static enum msg_error
rd_str_heap(struct rd *r, size_t max, char **out)
{
	const uint8_t *b;
	size_t n;
	enum msg_error e = rd_field(r, max, &b, &n);

	if (e != MSG_OK)
		return e;
	if (memchr(b, 0, n) != NULL)
		return MSG_E_FIELD;
	*out = malloc(n + 1);
	if (*out == NULL)
		return MSG_E_NOMEM;
	memcpy(*out, b, n);
	(*out)[n] = '\0';
	return MSG_OK;
}

static enum msg_error
rd_job_id(struct rd *r, struct msg *m)
{
	enum msg_error e = rd_str_fixed(r, MSG_ID_MAX, m->job_id);

	if (e == MSG_OK && !msg_id_valid(m->job_id))
		e = MSG_E_FIELD;
	return e;
}

/* A "key=value" limit: printable ASCII, one '=' at least, key non-empty. */
static int
limit_valid(const char *s)
{
	const char *eq = strchr(s, '=');
	const char *c;

	if (eq == NULL || eq == s)
		return 0;
	for (c = s; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			return 0;
	return 1;
}

static enum msg_error
decode_payload(struct rd *r, struct msg *m)
{
	enum msg_error e = MSG_OK;
	const uint8_t *b;
	uint32_t n;
	size_t len, i;

	switch (m->type) {
	case MSG_RUN_JOB:
		if ((e = rd_job_id(r, m)) != MSG_OK)
			return e;
		if ((e = rd_str_fixed(r, MSG_ID_MAX, m->plugin)) != MSG_OK)
			return e;
		if (!msg_id_valid(m->plugin))
			return MSG_E_FIELD;
		if ((e = rd_str_fixed(r, MSG_DIGEST_LEN, m->digest)) != MSG_OK)
			return e;
		if (m->digest[0] != '\0' && !msg_digest_valid(m->digest))
			return MSG_E_FIELD;
		if ((e = rd_str_heap(r, MSG_ARGS_MAX, &m->args)) != MSG_OK)
			return e;
		if ((e = rd_u32(r, &n)) != MSG_OK)
			return e;
		if (n > MSG_LIMITS_MAX)
			return MSG_E_FIELD;
		for (i = 0; i < n; i++) {
			if ((e = rd_str_heap(r, MSG_LIMIT_LEN_MAX, &m->limits[i])) != MSG_OK)
				return e;
			m->n_limits = i + 1;
			if (!limit_valid(m->limits[i]))
				return MSG_E_FIELD;
		}
		return MSG_OK;
	case MSG_JOB_STARTED:
		if ((e = rd_job_id(r, m)) != MSG_OK)
			return e;
		return rd_u32(r, &m->pid);
	case MSG_JOB_OUTPUT:
		if ((e = rd_job_id(r, m)) != MSG_OK)
			return e;
		if ((e = rd_u8(r, &m->stream)) != MSG_OK)
			return e;
		if (m->stream != MSG_STREAM_STDOUT && m->stream != MSG_STREAM_STDERR)
			return MSG_E_FIELD;
		if ((e = rd_field(r, MSG_DATA_MAX, &b, &len)) != MSG_OK)
			return e;
		m->data = malloc(len ? len : 1);
		if (m->data == NULL)
			return MSG_E_NOMEM;
		memcpy(m->data, b, len);
		m->data_len = len;
		return MSG_OK;
	case MSG_JOB_DONE:
	case MSG_JOB_REFUSED:
		if ((e = rd_job_id(r, m)) != MSG_OK)
			return e;
		return rd_str_heap(r, MSG_TEXT_MAX, &m->text);
	case MSG_KILL_JOB:
		return rd_job_id(r, m);
	case MSG_LOCKDOWN:
		if ((e = rd_u8(r, &m->flag)) != MSG_OK)
			return e;
		return m->flag <= 1 ? MSG_OK : MSG_E_FIELD;
	case MSG_SHUTDOWN:
		return MSG_OK;
	case MSG_STATUS:
	case MSG_EVENT:
		return rd_str_heap(r, MSG_TEXT_MAX, &m->text);
	case MSG_SENSOR_CONFIG:
		if ((e = rd_job_id(r, m)) != MSG_OK)
			return e;
		return rd_str_heap(r, MSG_TEXT_MAX, &m->text);
	}
	return MSG_E_TYPE;
}

enum msg_error
msg_decode(const uint8_t *buf, size_t len, struct msg *m)
{
	struct rd r = { buf, len };
	uint32_t type_word, plen;
	enum msg_error e;

	msg_init(m, 0);
	if (len < MSG_HEADER_LEN)
		return MSG_E_SHORT;
	if (len > MSG_MAX)
		return MSG_E_LENGTH;
	if ((e = rd_u32(&r, &type_word)) != MSG_OK || (e = rd_u32(&r, &plen)) != MSG_OK)
		return e;
	if ((type_word >> 16) != 0 || (type_word & 0xffff) < MSG_RUN_JOB ||
	    (type_word & 0xffff) > MSG_SENSOR_CONFIG)
		return MSG_E_TYPE;
	if (plen != len - MSG_HEADER_LEN)
		return MSG_E_LENGTH;
	m->type = (enum msg_type)(type_word & 0xffff);
	e = decode_payload(&r, m);
	if (e == MSG_OK && r.left != 0)
		e = MSG_E_TRAILING;
	if (e != MSG_OK)
		msg_free(m);
	return e;
}

/* ---- encoding ------------------------------------------------------------ */

struct wr {
	uint8_t *p;
	size_t cap, len;
	int overflow;
};

static void
wr_bytes(struct wr *w, const void *b, size_t n)
{
	if (w->overflow || w->cap - w->len < n) {
		w->overflow = 1;
		return;
	}
	if (n != 0)
		memcpy(w->p + w->len, b, n);
	w->len += n;
}

static void
wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	wr_bytes(w, b, 4);
}

static void
wr_field(struct wr *w, const void *b, size_t n)
{
	wr_u32(w, (uint32_t)n);
	wr_bytes(w, b, n);
}

static void
wr_str(struct wr *w, const char *s)
{
	wr_field(w, s ? s : "", s ? strlen(s) : 0);
}

/* Re-check what the decoder would check, so a bad message never leaves. */
static int
encodable(const struct msg *m)
{
	size_t i;

	switch (m->type) {
	case MSG_RUN_JOB:
		if (!msg_id_valid(m->job_id) || !msg_id_valid(m->plugin) ||
		    (m->digest[0] != '\0' && !msg_digest_valid(m->digest)) ||
		    (m->args != NULL && strlen(m->args) > MSG_ARGS_MAX) || m->n_limits > MSG_LIMITS_MAX)
			return 0;
		for (i = 0; i < m->n_limits; i++)
			if (m->limits[i] == NULL || strlen(m->limits[i]) > MSG_LIMIT_LEN_MAX ||
			    !limit_valid(m->limits[i]))
				return 0;
		return 1;
	case MSG_JOB_OUTPUT:
		if (m->stream != MSG_STREAM_STDOUT && m->stream != MSG_STREAM_STDERR)
			return 0;
		return msg_id_valid(m->job_id) && m->data_len <= MSG_DATA_MAX;
	case MSG_JOB_DONE:
	case MSG_JOB_REFUSED:
	case MSG_SENSOR_CONFIG:
		if (!msg_id_valid(m->job_id))
			return 0;
		/* fall through */
	case MSG_STATUS:
	case MSG_EVENT:
		return m->text == NULL || strlen(m->text) <= MSG_TEXT_MAX;
	case MSG_JOB_STARTED:
	case MSG_KILL_JOB:
		return msg_id_valid(m->job_id);
	case MSG_LOCKDOWN:
		return m->flag <= 1;
	case MSG_SHUTDOWN:
		return 1;
	}
	return 0;
}

enum msg_error
msg_encode(const struct msg *m, uint8_t *out, size_t cap, size_t *len)
{
	struct wr w = { out, cap, 0, 0 };
	uint8_t u8;
	size_t i;

	if (!encodable(m))
		return MSG_E_FIELD;
	wr_u32(&w, (uint32_t)m->type);
	wr_u32(&w, 0); /* patched below */
	switch (m->type) {
	case MSG_RUN_JOB:
		wr_str(&w, m->job_id);
		wr_str(&w, m->plugin);
		wr_str(&w, m->digest);
		wr_str(&w, m->args);
		wr_u32(&w, (uint32_t)m->n_limits);
		for (i = 0; i < m->n_limits; i++)
			wr_str(&w, m->limits[i]);
		break;
	case MSG_JOB_STARTED:
		wr_str(&w, m->job_id);
		wr_u32(&w, m->pid);
		break;
	case MSG_JOB_OUTPUT:
		wr_str(&w, m->job_id);
		u8 = m->stream;
		wr_bytes(&w, &u8, 1);
		wr_field(&w, m->data, m->data_len);
		break;
	case MSG_JOB_DONE:
	case MSG_JOB_REFUSED:
	case MSG_SENSOR_CONFIG:
		wr_str(&w, m->job_id);
		wr_str(&w, m->text);
		break;
	case MSG_KILL_JOB:
		wr_str(&w, m->job_id);
		break;
	case MSG_LOCKDOWN:
		u8 = m->flag;
		wr_bytes(&w, &u8, 1);
		break;
	case MSG_SHUTDOWN:
		break;
	case MSG_STATUS:
	case MSG_EVENT:
		wr_str(&w, m->text);
		break;
	}
	if (w.overflow || w.len > MSG_MAX)
		return MSG_E_LENGTH;
	i = w.len - MSG_HEADER_LEN;
	out[4] = (uint8_t)i;
	out[5] = (uint8_t)(i >> 8);
	out[6] = (uint8_t)(i >> 16);
	out[7] = (uint8_t)(i >> 24);
	*len = w.len;
	return MSG_OK;
}

int
msg_send(int fd, const struct msg *m)
{
	uint8_t *buf = malloc(MSG_MAX);
	size_t len;
	ssize_t n;
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	if (msg_encode(m, buf, MSG_MAX, &len) != MSG_OK) {
		r = -EINVAL;
		goto out;
	}
	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO; /* SEQPACKET sends whole datagrams; a short send is a bug */
out:
	free(buf);
	return r;
}

int
msg_recv(int fd, struct msg *m, enum msg_error *why)
{
	/* One byte more than the maximum: MSG_TRUNC tells the real size. */
	uint8_t *buf = malloc(MSG_MAX + 1);
	enum msg_error e;
	ssize_t n;
	int r = 0;

	msg_init(m, 0);
	if (buf == NULL)
		return -ENOMEM;
	do
		n = recv(fd, buf, MSG_MAX + 1, MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	if (n == 0) {
		r = -EPIPE;
		goto out;
	}
	if ((size_t)n > MSG_MAX)
		e = MSG_E_LENGTH;
	else
		e = msg_decode(buf, (size_t)n, m);
	if (why != NULL)
		*why = e;
	if (e != MSG_OK)
		r = e == MSG_E_NOMEM ? -ENOMEM : -EBADMSG;
out:
	free(buf);
	return r;
}
