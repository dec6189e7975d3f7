/*
 * link.c: the agent's TLS connection to the orchestrator (link.h).
 */
#include "agent/link.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bearssl.h>

#include "base/timefmt.h"
#include "crypto/pem.h"
#include "crypto/x509.h"
#include "tls/errname.h"
#include "tls/report.h"

/* Bootstrap capture caps: certificates recorded and bytes per certificate. */
#define CAP_MAX_CERTS 8
#define CAP_MAX_CERT  (16 * 1024)
#define CAP_TIMEOUT_MS 10000

__attribute__((format(printf, 2, 3)))
static void set_err(struct link *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->last_error, sizeof(l->last_error), fmt, ap);
	va_end(ap);
}


int link_init(struct link *l, const char *url, const char *server_name,
    const char *const *pins, size_t n_pins, struct event_log *log)
{
	const char *msg = NULL;

	memset(l, 0, sizeof(*l));
	l->log = log;
	if (!url || https_url_parse(url, &l->url, &msg) != 0) {
		set_err(l, "bad orchestrator URL: %s", msg ? msg : "missing");
		return -EINVAL;
	}
	if (n_pins == 0) {
		set_err(l, "%s", "no CA pin configured (agent.ca_pins): `stavily orchestrator init` "
		    "prints it, `stavily cert pin STATE/ca.pem` shows it again");
		return -EINVAL;
	}
	if (n_pins > LINK_MAX_PINS)
		n_pins = LINK_MAX_PINS;
	for (size_t i = 0; i < n_pins; i++) {
		unsigned char p[32];
		if (x509_pin_parse(pins[i], p) != 0) {
			set_err(l, "malformed pin '%s' (want sha256:<64 hex>)", pins[i]);
			return -EINVAL;
		}
		l->pins[i] = pins[i];
	}
	l->n_pins = n_pins;
	snprintf(l->server_name, sizeof(l->server_name), "%s",
	    server_name && *server_name ? server_name : l->url.host);
	return 0;
}

static int pin_listed(const struct link *l, const unsigned char pin[32])
{
	for (size_t i = 0; i < l->n_pins; i++) {
		unsigned char p[32];
		if (x509_pin_parse(l->pins[i], p) == 0 && memcmp(p, pin, 32) == 0)
			return 1;
	}
	return 0;
}

char *link_pinned_ca_pem(const char *pem, size_t len, const char *const *pins, size_t n_pins)
{
	struct pem_list pl;
	struct link tmp;
	char *out = NULL;

	memset(&tmp, 0, sizeof(tmp));
	for (size_t i = 0; i < n_pins && i < LINK_MAX_PINS; i++)
		tmp.pins[i] = pins[i];
	tmp.n_pins = n_pins < LINK_MAX_PINS ? n_pins : LINK_MAX_PINS;
	if (pem_decode(pem, len, &pl) != 0)
		return NULL;
	/* every pinned CA certificate, not only the first: with the backup
	 * CA's pin listed too, a CA rollover needs no change on the agent
	 * (docs/operations.md, "CA pin rollover") */
	for (size_t i = 0; i < pl.n; i++) {
		struct x509_info info;
		char *one = NULL, *nb;
		size_t ol = 0, cur = out ? strlen(out) : 0;
		if (strcmp(pl.obj[i].label, "CERTIFICATE") != 0 ||
		    x509_parse(pl.obj[i].der, pl.obj[i].len, &info) != 0)
			continue;
		if (!info.is_ca || !pin_listed(&tmp, info.pin) ||
		    pem_encode("CERTIFICATE", pl.obj[i].der, pl.obj[i].len, &one, &ol) != 0)
			continue;
		nb = realloc(out, cur + ol + 1);
		if (!nb) {
			free(one);
			continue;
		}
		out = nb;
		memcpy(out + cur, one, ol);
		out[cur + ol] = '\0';
		free(one);
	}
	pem_list_free(&pl);
	return out;
}

static int load_anchor(struct link *l, const char *ca_pem, size_t len)
{
	int r;

	if (l->have_trust) {
		tls_trust_free(&l->trust);
		l->have_trust = 0;
	}
	memset(&l->trust, 0, sizeof(l->trust));
	r = tls_trust_load_ca_pem(&l->trust, ca_pem, len, TLS_PEER_SERVER);
	if (r < 0)
		return r;
	l->have_trust = 1;
	for (size_t i = 0; i < l->n_pins; i++) {
		r = tls_trust_add_pin(&l->trust, l->pins[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

int link_set_ca_pem(struct link *l, const char *pem, size_t len)
{
	char *ca = link_pinned_ca_pem(pem, len, l->pins, l->n_pins);
	int r;

	if (!ca) {
		set_err(l, "%s", "the stored CA bundle has no certificate matching agent.ca_pins");
		return LINK_E_PIN;
	}
	link_close(l);
	r = load_anchor(l, ca, strlen(ca));
	free(ca);
	return r;
}

/* ---- bootstrap: record the server's chain ------------------------------- */

struct capture {
	const br_x509_class *vtable;   /* first: BearSSL passes &vtable */
	unsigned char *cert[CAP_MAX_CERTS];
	size_t len[CAP_MAX_CERTS];
	size_t n;
	unsigned char *cur;
	size_t cur_len;
	int skip;
};

static void cap_start_chain(const br_x509_class **ctx, const char *server_name)
{
	(void)ctx;
	(void)server_name;
}

static void cap_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct capture *c = (struct capture *)ctx;

	c->skip = c->n >= CAP_MAX_CERTS || length > CAP_MAX_CERT;
	c->cur_len = 0;
	c->cur = c->skip ? NULL : malloc(length ? length : 1);
	if (!c->cur)
		c->skip = 1;
}

static void cap_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct capture *c = (struct capture *)ctx;

	if (c->skip || c->cur_len + len > CAP_MAX_CERT) {
		c->skip = 1;
		return;
	}
	memcpy(c->cur + c->cur_len, buf, len);
	c->cur_len += len;
}

static void cap_end_cert(const br_x509_class **ctx)
{
	struct capture *c = (struct capture *)ctx;

	if (!c->skip && c->cur) {
		c->cert[c->n] = c->cur;
		c->len[c->n++] = c->cur_len;
	} else {
		free(c->cur);
	}
	c->cur = NULL;
}

static unsigned cap_end_chain(const br_x509_class **ctx)
{
	(void)ctx;
	/* Never trust anything from this handshake: it only fetches the chain. */
	return BR_ERR_X509_NOT_TRUSTED;
}

static const br_x509_pkey *cap_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	(void)ctx;
	(void)usages;
	return NULL;
}

static const br_x509_class capture_vtable = {
	sizeof(struct capture),
	cap_start_chain, cap_start_cert, cap_append, cap_end_cert, cap_end_chain, cap_get_pkey,
};

static int wait_fd(int fd, short ev, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	uint64_t now = time_mono_ms();
	int r;

	if (now >= deadline)
		return -ETIMEDOUT;
	r = poll(&p, 1, (int)(deadline - now));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

/* Drive the client engine until it fails or (never, here) completes. */
static void capture_run(int fd, br_ssl_engine_context *eng, uint64_t deadline)
{
	for (;;) {
		unsigned st = br_ssl_engine_current_state(eng);
		size_t len;
		unsigned char *buf;
		ssize_t n;

		if (st & BR_SSL_CLOSED)
			return;
		if (st & BR_SSL_SENDAPP)
			return;     /* cannot happen: end_chain refuses every chain */
		if (st & BR_SSL_SENDREC) {
			buf = br_ssl_engine_sendrec_buf(eng, &len);
			n = send(fd, buf, len, MSG_NOSIGNAL);
			if (n < 0) {
				if (errno == EAGAIN && wait_fd(fd, POLLOUT, deadline) == 0)
					continue;
				if (errno == EINTR)
					continue;
				return;
			}
			br_ssl_engine_sendrec_ack(eng, (size_t)n);
			continue;
		}
		if (st & BR_SSL_RECVREC) {
			if (wait_fd(fd, POLLIN, deadline) < 0)
				return;
			buf = br_ssl_engine_recvrec_buf(eng, &len);
			n = recv(fd, buf, len, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				continue;
			if (n <= 0)
				return;
			br_ssl_engine_recvrec_ack(eng, (size_t)n);
			continue;
		}
		return;
	}
}

static void emit_pin_failure(struct link *l, int br_err, int reason)
{
	struct tls_failure f;
	char peer[URL_MAX_HOST + 16];

	memset(&f, 0, sizeof(f));
	f.br_err = br_err;
	tls_err_name(br_err, f.br_err_name);
	f.verify_reason = reason;
	f.in_handshake = 1;
	l->last_fail = f;
	snprintf(peer, sizeof(peer), "%s:%u", l->url.host, l->url.port);
	if (l->log)
		(void)tls_failure_emit(l->log, &f, peer, l->server_name);
}

int link_bootstrap_ca(struct link *l)
{
	br_ssl_client_context *cc = NULL;
	br_x509_minimal_context *xc = NULL;
	unsigned char *iobuf = NULL;
	struct capture cap;
	char *ca = NULL;
	size_t calen = 0;
	int fd, r = LINK_E_PIN;

	memset(&cap, 0, sizeof(cap));
	cap.vtable = &capture_vtable;
	fd = tls_tcp_connect(l->url.host, l->url.port, CAP_TIMEOUT_MS);
	if (fd < 0) {
		snprintf(l->last_error, sizeof(l->last_error), "connect %s:%u: %s", l->url.host,
		    l->url.port, strerror(-fd));
		return fd;
	}
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	cc = calloc(1, sizeof(*cc));
	xc = calloc(1, sizeof(*xc));
	iobuf = malloc(BR_SSL_BUFSIZE_BIDI);
	if (!cc || !xc || !iobuf) {
		r = -ENOMEM;
		goto out;
	}
	br_ssl_client_init_full(cc, xc, NULL, 0);
	br_ssl_engine_set_versions(&cc->eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_x509(&cc->eng, &cap.vtable);
	br_ssl_engine_set_buffer(&cc->eng, iobuf, BR_SSL_BUFSIZE_BIDI, 1);
	if (!br_ssl_client_reset(cc, l->url.host_is_ip ? NULL : l->server_name, 0)) {
		r = -EIO;
		goto out;
	}
	capture_run(fd, &cc->eng, time_mono_ms() + CAP_TIMEOUT_MS);
	if (cap.n == 0) {
		snprintf(l->last_error, sizeof(l->last_error),
		    "%s:%u sent no certificate (TLS error %d)", l->url.host, l->url.port,
		    br_ssl_engine_last_error(&cc->eng));
		r = -EPROTO;
		goto out;
	}
	for (size_t i = 0; i < cap.n && !ca; i++) {
		struct x509_info info;
		if (x509_parse(cap.cert[i], cap.len[i], &info) != 0 || !info.is_ca ||
		    !pin_listed(l, info.pin))
			continue;
		if (pem_encode("CERTIFICATE", cap.cert[i], cap.len[i], &ca, &calen) != 0)
			ca = NULL;
	}
	if (!ca) {
		snprintf(l->last_error, sizeof(l->last_error),
		    "no certificate sent by %s:%u matches agent.ca_pins (pin mismatch): "
		    "check the pin `stavily orchestrator init` printed", l->url.host, l->url.port);
		emit_pin_failure(l, TLS_ERR_PIN_MISMATCH, TLS_VR_PIN_MISMATCH);
		r = LINK_E_PIN;
		goto out;
	}
	r = load_anchor(l, ca, calen);
out:
	close(fd);
	for (size_t i = 0; i < cap.n; i++)
		free(cap.cert[i]);
	free(cap.cur);
	free(ca);
	free(cc);
	free(xc);
	free(iobuf);
	return r;
}

int link_set_creds(struct link *l, const char *chain_pem, size_t chain_len,
    const char *key_pem, size_t key_len)
{
	struct tls_creds c;
	int r;

	memset(&c, 0, sizeof(c));
	r = tls_creds_from_pem(&c, chain_pem, chain_len, key_pem, key_len);
	if (r < 0)
		return r;
	link_close(l);
	if (l->have_client) {
		tls_client_free(&l->client);
		l->have_client = 0;
	}
	if (l->have_creds)
		tls_creds_free(&l->creds);
	/* tls_creds holds pointers into itself (ec.x -> ec_x): move by reload */
	memset(&l->creds, 0, sizeof(l->creds));
	r = tls_creds_from_pem(&l->creds, chain_pem, chain_len, key_pem, key_len);
	tls_creds_free(&c);
	if (r < 0) {
		l->have_creds = 0;
		return r;
	}
	l->have_creds = 1;
	return 0;
}

static int do_connect(struct link *l)
{
	struct tls_failure f;
	char peer[URL_MAX_HOST + 16];
	int r;

	if (!l->have_trust) {
		set_err(l, "%s", "no trust anchor (internal: bootstrap or stored CA missing)");
		return -EINVAL;
	}
	if (!l->have_client) {
		tls_client_init(&l->client, &l->trust, l->have_creds ? &l->creds : NULL,
		    l->server_name);
		l->have_client = 1;
	}
	l->connects++;
	r = tls_client_connect(&l->client, l->url.host, l->url.port, &l->conn, &f);
	if (r == 0)
		return 0;
	l->conn = NULL;
	l->connect_failures++;
	l->last_fail = f;
	snprintf(peer, sizeof(peer), "%s:%u", l->url.host, l->url.port);
	if (l->log && f.in_handshake && !(f.sys_errno && f.br_err == BR_ERR_IO))
		(void)tls_failure_emit(l->log, &f, peer, l->server_name);
	if (tls_failure_is_cert(&f))
		snprintf(l->last_error, sizeof(l->last_error),
		    "%s: certificate refused: %s (%s)", peer,
		    tls_verify_reason_name(f.verify_reason), f.br_err_name);
	else if (f.sys_errno)
		snprintf(l->last_error, sizeof(l->last_error), "%s: %s", peer,
		    strerror(f.sys_errno));
	else
		snprintf(l->last_error, sizeof(l->last_error), "%s: TLS handshake failed: %s",
		    peer, f.br_err_name);
	return r < 0 ? r : -EPROTO;
}

int link_request(struct link *l, const char *method, const char *path,
    const struct http_field *extra, size_t n_extra, const void *body, size_t len,
    struct http_client_response *out)
{
	struct http_field f[8];
	struct http_limits lim;
	size_t n = 0;
	int r, attempt;

	memset(out, 0, sizeof(*out));
	if (n_extra > 6)
		return -EINVAL;
	if (body) {
		f[n].name = "Content-Type";
		f[n++].value = "application/json";
	}
	for (size_t i = 0; i < n_extra; i++)
		f[n++] = extra[i];
	http_limits_default(&lim);
	lim.max_body = LINK_MAX_BODY;
	/* A kept-alive connection may have been closed by the server's idle
	 * timer: one retry on a fresh connection when a reused one fails. */
	for (attempt = 0; attempt < 2; attempt++) {
		int reused = l->conn != NULL;
		if (l->cancel && *l->cancel)
			return -ECANCELED;
		if (!l->conn) {
			r = do_connect(l);
			if (r < 0)
				return r;
		}
		if (l->fd_slot)
			*l->fd_slot = tls_conn_fd(l->conn);
		if (l->cancel && *l->cancel) {   /* the signal came before the fd was published */
			link_close(l);
			return -ECANCELED;
		}
		r = http_client_do(l->conn, l->url.host, method, path ? path : l->url.path, f, n,
		    body, len, &lim, out);
		if (r == 0) {
			if (!out->resp.keep_alive)
				link_close(l);
			return 0;
		}
		http_client_response_free(out);
		memset(out, 0, sizeof(*out));
		link_close(l);
		snprintf(l->last_error, sizeof(l->last_error), "request %s failed (%d)", method, r);
		if (l->cancel && *l->cancel) {
			snprintf(l->last_error, sizeof(l->last_error), "request %s cancelled (stopping)",
			    method);
			return -ECANCELED;
		}
		if (!reused)
			break;
	}
	return r;
}

void link_set_cancel(struct link *l, volatile sig_atomic_t *cancel, volatile sig_atomic_t *fd_slot)
{
	l->cancel = cancel;
	l->fd_slot = fd_slot;
	if (fd_slot)
		*fd_slot = l->conn ? tls_conn_fd(l->conn) : -1;
}

void link_close(struct link *l)
{
	if (l->fd_slot)
		*l->fd_slot = -1;   /* before the close: the number may be reused */
	if (l->conn) {
		tls_conn_close(l->conn);
		l->conn = NULL;
	}
}

void link_free(struct link *l)
{
	link_close(l);
	if (l->have_client)
		tls_client_free(&l->client);
	if (l->have_creds)
		tls_creds_free(&l->creds);
	if (l->have_trust)
		tls_trust_free(&l->trust);
	l->have_client = l->have_creds = l->have_trust = 0;
}
