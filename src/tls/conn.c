/* see conn.h */
#include "tls/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "base/fileio.h"
#include "base/timefmt.h"
#include "crypto/pem.h"
#include "crypto/rng.h"
#include "tls/errname.h"

/* BearSSL's LRU cache uses this many bytes per session (ssl_lru.c). */
#define LRU_ENTRY_BYTES 100
/* Bound on the engine <-> socket loop per pump call (progress is made in
 * each iteration; this only keeps one connection from starving others). */
#define PUMP_MAX_STEPS 64

struct tls_session_identity {
	unsigned char sid[32];
	size_t sid_len;                     /* 0: free slot */
	char identity[TLS_MAX_IDENTITY + 1];
	unsigned char serial[TLS_MAX_SERIAL];
	size_t serial_len;
	int64_t not_after;
	uint64_t used;
};

struct tls_conn {
	union {
		br_ssl_client_context cl;
		br_ssl_server_context sv;
	} u;
	br_ssl_engine_context *eng;
	struct tls_verifier ver;
	struct tls_client *client;
	struct tls_server *server;
	int fd;
	int established, resumed, failed;
	int resumed_identity;              /* cache_load filled ver.res */
	unsigned handshake_timeout_ms, io_timeout_ms;
	struct tls_failure fail;
	unsigned char iobuf[TLS_CONN_IOBUF];
};

/* Our session cache class (defined with its functions below). */
static const br_ssl_session_cache_class cache_vtable;

/* Server preference order: ECDSA before RSA, AES-128-GCM (AES-NI) first,
 * then ChaCha20-Poly1305 (fast without AES-NI), then AES-256-GCM. */
static const uint16_t suites[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};

/* ---- credentials -------------------------------------------------------- */

static int creds_key_from_pem(struct tls_creds *c, const char *pem, size_t len)
{
	struct pem_list pl;
	br_skey_decoder_context *dc = NULL;
	int rc;

	rc = pem_decode(pem, len, &pl);
	if (rc)
		return -EINVAL;
	rc = -EINVAL;
	dc = malloc(sizeof(*dc));
	if (!dc) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < pl.n; i++) {
		const char *lb = pl.obj[i].label;
		if (strcmp(lb, "PRIVATE KEY") && strcmp(lb, "EC PRIVATE KEY") &&
		    strcmp(lb, "RSA PRIVATE KEY"))
			continue;
		br_skey_decoder_init(dc);
		br_skey_decoder_push(dc, pl.obj[i].der, pl.obj[i].len);
		if (br_skey_decoder_last_error(dc) != 0)
			goto out;
		if (br_skey_decoder_key_type(dc) == BR_KEYTYPE_EC) {
			const br_ec_private_key *k = br_skey_decoder_get_ec(dc);
			if (k->xlen > sizeof(c->ec_x) || (k->curve != BR_EC_secp256r1 &&
			    k->curve != BR_EC_secp384r1 && k->curve != BR_EC_secp521r1))
				goto out;
			memcpy(c->ec_x, k->x, k->xlen);
			c->ec.curve = k->curve;
			c->ec.x = c->ec_x;
			c->ec.xlen = k->xlen;
			c->key_type = BR_KEYTYPE_EC;
			rc = 0;
		} else if (br_skey_decoder_key_type(dc) == BR_KEYTYPE_RSA) {
			const br_rsa_private_key *k = br_skey_decoder_get_rsa(dc);
			size_t tot = k->plen + k->qlen + k->dplen + k->dqlen + k->iqlen;
			if (k->n_bitlen < 2048) /* weaker keys are refused by peers anyway */
				goto out;
			c->rsa_buf = malloc(tot);
			if (!c->rsa_buf) {
				rc = -ENOMEM;
				goto out;
			}
			c->rsa_buf_len = tot;
			unsigned char *p = c->rsa_buf;
			c->rsa.n_bitlen = k->n_bitlen;
#define CP(f) do { memcpy(p, k->f, k->f##len); c->rsa.f = p; c->rsa.f##len = k->f##len; \
		p += k->f##len; } while (0)
			CP(p); CP(q); CP(dp); CP(dq); CP(iq);
#undef CP
			c->key_type = BR_KEYTYPE_RSA;
			rc = 0;
		}
		goto out;
	}
out:
	if (dc) {
		WIPE(dc, sizeof(*dc));
		free(dc);
	}
	pem_list_free(&pl);
	return rc;
}

int tls_creds_from_pem(struct tls_creds *c, const char *chain_pem, size_t chain_len,
    const char *key_pem, size_t key_len)
{
	int rc;

	memset(c, 0, sizeof(*c));
	rc = x509_chain_from_pem(chain_pem, chain_len, &c->chain);
	if (rc)
		return rc;
	rc = creds_key_from_pem(c, key_pem, key_len);
	if (rc)
		tls_creds_free(c);
	return rc;
}

int tls_creds_load(struct tls_creds *c, const char *chain_path, const char *key_path)
{
	char *key = NULL;
	size_t klen = 0;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = x509_chain_load_file(chain_path, &c->chain);
	if (rc)
		return rc;
	rc = file_read_all(key_path, TLS_MAX_KEY_FILE, &key, &klen);
	if (rc == 0)
		rc = creds_key_from_pem(c, key, klen);
	if (key) {
		WIPE(key, klen);
		free(key);
	}
	if (rc)
		tls_creds_free(c);
	return rc;
}

void tls_creds_free(struct tls_creds *c)
{
	x509_chain_free(&c->chain);
	if (c->rsa_buf) {
		WIPE(c->rsa_buf, c->rsa_buf_len);
		free(c->rsa_buf);
	}
	WIPE(c, sizeof(*c));
}

/* ---- failures ----------------------------------------------------------- */

int tls_failure_is_cert(const struct tls_failure *f)
{
	return f->verify_reason != TLS_VR_OK;
}

static void set_failure(struct tls_conn *c, int br_err, int sys_errno)
{
	struct tls_failure *f = &c->fail;

	f->br_err = br_err;
	tls_err_name(br_err, f->br_err_name);
	f->sys_errno = sys_errno;
	f->in_handshake = !c->established;
	f->verify_reason = TLS_VR_OK;
	if (c->ver.invoked && c->ver.res.reason != TLS_VR_OK && c->ver.res.br_err == br_err)
		f->verify_reason = c->ver.res.reason;
	c->failed = 1;
}

const struct tls_failure *tls_conn_failure(const struct tls_conn *c)
{
	return &c->fail;
}

/* ---- client / server configuration ---------------------------------------- */

void tls_client_init(struct tls_client *c, struct tls_trust *trust,
    const struct tls_creds *creds, const char *server_name)
{
	memset(c, 0, sizeof(*c));
	c->trust = trust;
	c->creds = creds;
	if (server_name)
		snprintf(c->server_name, sizeof(c->server_name), "%s", server_name);
	c->resume = 1;
	c->connect_timeout_ms = 10000;
	c->handshake_timeout_ms = 10000;
	c->io_timeout_ms = 30000;
}

/* What a client session was verified against.  Resuming it under another
 * server name would skip the host name check, under other anchors or pins
 * the chain and pin checks, and with another certificate of ours would let
 * the server keep the identity of the old one. */
static void client_session_ctx(const struct tls_client *cl, unsigned char out[32])
{
	br_sha256_context h;
	const struct tls_trust *t = cl->trust;
	unsigned char n[8];

	br_sha256_init(&h);
	br_sha256_update(&h, cl->server_name, strlen(cl->server_name) + 1);
	n[0] = (unsigned char)t->peer_role;
	n[1] = (unsigned char)t->require_identity;
	n[2] = (unsigned char)t->anchors.n;
	n[3] = (unsigned char)t->n_pins;
	br_sha256_update(&h, n, 4);
	for (size_t i = 0; i < t->anchors.n && i < X509_MAX_CHAIN; i++)
		br_sha256_update(&h, t->anchor_pin[i], 32);
	for (size_t i = 0; i < t->n_pins && i < TLS_VERIFY_MAX_PINS; i++)
		br_sha256_update(&h, t->pins[i], 32);
	if (cl->creds && cl->creds->chain.n > 0)
		br_sha256_update(&h, cl->creds->chain.certs[0].data, cl->creds->chain.certs[0].data_len);
	else
		br_sha256_update(&h, "-", 1);
	br_sha256_out(&h, out);
}

void tls_client_forget_session(struct tls_client *c)
{
	WIPE(&c->session, sizeof(c->session));
	c->have_session = 0;
}

void tls_client_free(struct tls_client *c)
{
	tls_client_forget_session(c);
}

int tls_server_init(struct tls_server *s, struct tls_trust *trust,
    const struct tls_creds *creds, size_t cache_sessions)
{
	memset(s, 0, sizeof(*s));
	if (cache_sessions == 0)
		cache_sessions = TLS_SESSION_CACHE_DEFAULT;
	if (cache_sessions > TLS_SESSION_CACHE_MAX || !creds ||
	    (trust && trust->peer_role != TLS_PEER_CLIENT))
		return -EINVAL;
	s->trust = trust;
	s->creds = creds;
	s->lru_store = malloc(cache_sessions * LRU_ENTRY_BYTES);
	s->ids = calloc(cache_sessions, sizeof(*s->ids));
	if (!s->lru_store || !s->ids) {
		tls_server_free(s);
		return -ENOMEM;
	}
	s->n_ids_cap = cache_sessions;
	br_ssl_session_cache_lru_init(&s->lru, s->lru_store, cache_sessions * LRU_ENTRY_BYTES);
	s->cache.vtable = &cache_vtable;
	s->cache.owner = s;
	s->handshake_timeout_ms = 10000;
	s->io_timeout_ms = 30000;
	return 0;
}

void tls_server_free(struct tls_server *s)
{
	if (s->lru_store) {
		/* the cache holds master secrets */
		WIPE(s->lru_store, s->n_ids_cap * LRU_ENTRY_BYTES);
		free(s->lru_store);
	}
	free(s->ids);
	memset(s, 0, sizeof(*s));
}

/* Identity map: the BearSSL cache does not keep the peer's certificate, so
 * on a resumed session we would not know who the client is.  We keep the
 * identity here, keyed by session id, with the same capacity, evicting the
 * least recently used.  A session BearSSL resumes but we no longer know is
 * refused (fail closed): the client's next attempt is a full handshake. */
static void ids_put(struct tls_server *s, const br_ssl_session_parameters *sp,
    const struct tls_verify_result *r)
{
	struct tls_session_identity *slot = NULL;

	if (sp->session_id_len == 0 || sp->session_id_len > 32)
		return;
	for (size_t i = 0; i < s->n_ids_cap; i++) {
		struct tls_session_identity *e = &s->ids[i];
		if (e->sid_len == sp->session_id_len &&
		    memcmp(e->sid, sp->session_id, e->sid_len) == 0) {
			slot = e;
			break;
		}
		if (!slot || (slot->sid_len != 0 && (e->sid_len == 0 || e->used < slot->used)))
			slot = e;
	}
	memset(slot, 0, sizeof(*slot));
	memcpy(slot->sid, sp->session_id, sp->session_id_len);
	slot->sid_len = sp->session_id_len;
	memcpy(slot->identity, r->identity, sizeof(slot->identity));
	memcpy(slot->serial, r->serial, sizeof(slot->serial));
	slot->serial_len = r->serial_len;
	slot->not_after = r->not_after;
	slot->used = ++s->id_clock;
}

static struct tls_session_identity *ids_get(struct tls_server *s,
    const br_ssl_session_parameters *sp)
{
	for (size_t i = 0; i < s->n_ids_cap; i++) {
		struct tls_session_identity *e = &s->ids[i];
		if (e->sid_len != 0 && e->sid_len == sp->session_id_len &&
		    memcmp(e->sid, sp->session_id, e->sid_len) == 0) {
			e->used = ++s->id_clock;
			return e;
		}
	}
	return NULL;
}

static void ids_forget(struct tls_server *s, struct tls_session_identity *e)
{
	br_ssl_session_cache_lru_forget(&s->lru, e->sid);
	memset(e, 0, sizeof(*e));
}

size_t tls_server_forget_identity(struct tls_server *s, const char *identity)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_ids_cap; i++)
		if (s->ids[i].sid_len != 0 && strcmp(s->ids[i].identity, identity) == 0) {
			ids_forget(s, &s->ids[i]);
			n++;
		}
	return n;
}

/* The engine's server context is the first member of struct tls_conn. */
static struct tls_conn *conn_of(br_ssl_server_context *sc)
{
	return (struct tls_conn *)(void *)sc;
}

static struct tls_server *cache_owner(const br_ssl_session_cache_class **ctx)
{
	return ((const struct tls_session_cache *)(const void *)ctx)->owner;
}

/* BearSSL calls save() once a full handshake completed: the verifier's
 * result is the identity to keep with the session. */
static void cache_save(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
    const br_ssl_session_parameters *params)
{
	struct tls_server *s = cache_owner(ctx);
	struct tls_conn *c = conn_of(sc);

	if (s->trust) {
		if (!c->ver.invoked || c->ver.res.reason != TLS_VR_OK)
			return;
		ids_put(s, params, &c->ver.res);
	}
	s->lru.vtable->save(&s->lru.vtable, sc, params);
}

/* load(): resume only what we can still attribute and still trust. */
static int cache_load(const br_ssl_session_cache_class **ctx, br_ssl_server_context *sc,
    br_ssl_session_parameters *params)
{
	struct tls_server *s = cache_owner(ctx);
	struct tls_conn *c = conn_of(sc);
	struct tls_session_identity *e = NULL;

	if (s->trust) {
		const struct tls_trust *t = s->trust;
		e = ids_get(s, params);
		if (!e)
			return 0;
		int64_t now = t->now ? (int64_t)t->now() : (int64_t)time(NULL);
		if (now > e->not_after ||
		    (t->revoked && t->revoked(t->revoked_arg, e->serial, e->serial_len))) {
			ids_forget(s, e);
			return 0;   /* full handshake: the verifier says why */
		}
	}
	if (!s->lru.vtable->load(&s->lru.vtable, sc, params))
		return 0;
	if (e) {
		memset(&c->ver.res, 0, sizeof(c->ver.res));
		memcpy(c->ver.res.identity, e->identity, sizeof(e->identity));
		memcpy(c->ver.res.serial, e->serial, sizeof(e->serial));
		c->ver.res.serial_len = e->serial_len;
		c->ver.res.not_after = e->not_after;
		c->resumed_identity = 1;
	}
	return 1;
}

static const br_ssl_session_cache_class cache_vtable = {
	sizeof(struct tls_session_cache),
	cache_save,
	cache_load,
};

/* ---- connection setup ---------------------------------------------------- */

static void engine_common(br_ssl_engine_context *eng, unsigned char *buf, size_t len)
{
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites, sizeof(suites) / sizeof(suites[0]));
	br_ssl_engine_set_hash(eng, br_sha1_ID, &br_sha1_vtable);
	br_ssl_engine_set_hash(eng, br_sha224_ID, &br_sha224_vtable);
	br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_hash(eng, br_sha512_ID, &br_sha512_vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(eng);
	br_ssl_engine_set_default_chapol(eng);
	br_ssl_engine_set_default_ec(eng);
	br_ssl_engine_set_default_ecdsa(eng);
	br_ssl_engine_set_default_rsavrfy(eng);
	br_ssl_engine_add_flags(eng, BR_OPT_ENFORCE_SERVER_PREFERENCES | BR_OPT_NO_RENEGOTIATION);
	br_ssl_engine_set_buffer(eng, buf, len, 1);
}

/* BearSSL 0.6 seeds itself from /dev/urandom, which a scratch container
 * may not have: give it getrandom(2) bytes ourselves, fail closed. */
static int inject_entropy(br_ssl_engine_context *eng)
{
	unsigned char seed[32];
	int rc = rng_kernel_bytes(seed, sizeof(seed));

	if (rc == 0)
		br_ssl_engine_inject_entropy(eng, seed, sizeof(seed));
	WIPE(seed, sizeof(seed));
	return rc;
}

static struct tls_conn *conn_new(int fd)
{
	struct tls_conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	/* The engine drivers need a non-blocking socket. */
	int fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		(void)fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	/* BearSSL hands out one record at a time, so a handshake flight is
	 * several small send()s: with Nagle and delayed ACKs every flight
	 * would stall ~40 ms.  (Fails harmlessly on non-TCP sockets.) */
	int one = 1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return c;
}

int tls_conn_client(struct tls_client *cl, int fd, struct tls_conn **out,
    struct tls_failure *fail)
{
	struct tls_conn *c;
	br_ssl_engine_context *eng;
	int resume, is_ip;

	*out = NULL;
	if (fail)
		memset(fail, 0, sizeof(*fail));
	/* No name would mean no host name check (BearSSL skips it): refuse.
	 * So would a trust set up for checking clients (no host name, the
	 * clientAuth purpose). */
	if (!cl->server_name[0] || !cl->trust || cl->trust->peer_role != TLS_PEER_SERVER) {
		close(fd);
		return -EINVAL;
	}
	c = conn_new(fd);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->client = cl;
	c->handshake_timeout_ms = cl->handshake_timeout_ms;
	c->io_timeout_ms = cl->io_timeout_ms;
	br_ssl_client_zero(&c->u.cl);
	eng = c->eng = &c->u.cl.eng;
	engine_common(eng, c->iobuf, sizeof(c->iobuf));
	tls_verifier_init(&c->ver, cl->trust);
	br_ssl_engine_set_x509(eng, &c->ver.vtable);
	if (cl->creds && cl->creds->key_type == BR_KEYTYPE_EC)
		br_ssl_client_set_single_ec(&c->u.cl, cl->creds->chain.certs, cl->creds->chain.n,
		    &cl->creds->ec, BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
		    br_ecdsa_sign_asn1_get_default());
	else if (cl->creds && cl->creds->key_type == BR_KEYTYPE_RSA)
		br_ssl_client_set_single_rsa(&c->u.cl, cl->creds->chain.certs, cl->creds->chain.n,
		    &cl->creds->rsa, br_rsa_pkcs1_sign_get_default());
	if (inject_entropy(eng) != 0) {
		set_failure(c, BR_ERR_NO_RANDOM, EIO);
		goto fail;
	}
	if (cl->have_session) {
		unsigned char ctx[32];
		client_session_ctx(cl, ctx);
		if (memcmp(ctx, cl->session_ctx, sizeof(ctx)) != 0)
			tls_client_forget_session(cl);
	}
	resume = cl->resume && cl->have_session;
	if (resume)
		br_ssl_engine_set_session_parameters(eng, &cl->session);
	/* An IP literal is neither sent as SNI nor matched by BearSSL (which
	 * knows dNSName SANs only): the verifier matches iPAddress SANs. */
	is_ip = tls_verifier_set_server_name(&c->ver, cl->server_name);
	if (!br_ssl_client_reset(&c->u.cl, is_ip ? NULL : cl->server_name, resume)) {
		set_failure(c, br_ssl_engine_last_error(eng), EIO);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (fail)
		*fail = c->fail;
	tls_conn_free(c);
	return -EIO;
}

int tls_conn_server(struct tls_server *sv, int fd, struct tls_conn **out,
    struct tls_failure *fail)
{
	struct tls_conn *c;
	br_ssl_engine_context *eng;
	const struct tls_creds *cr = sv->creds;

	*out = NULL;
	if (fail)
		memset(fail, 0, sizeof(*fail));
	c = conn_new(fd);
	if (!c) {
		close(fd);
		return -ENOMEM;
	}
	c->server = sv;
	c->handshake_timeout_ms = sv->handshake_timeout_ms;
	c->io_timeout_ms = sv->io_timeout_ms;
	br_ssl_server_zero(&c->u.sv);
	eng = c->eng = &c->u.sv.eng;
	engine_common(eng, c->iobuf, sizeof(c->iobuf));
	if (cr->key_type == BR_KEYTYPE_EC)
		br_ssl_server_set_single_ec(&c->u.sv, cr->chain.certs, cr->chain.n, &cr->ec,
		    BR_KEYTYPE_SIGN, BR_KEYTYPE_EC, br_ec_get_default(),
		    br_ecdsa_sign_asn1_get_default());
	else
		br_ssl_server_set_single_rsa(&c->u.sv, cr->chain.certs, cr->chain.n, &cr->rsa,
		    BR_KEYTYPE_SIGN, br_rsa_private_get_default(), br_rsa_pkcs1_sign_get_default());
	if (sv->trust) {
		/* Sending CertificateRequest makes the client certificate
		 * mandatory: without BR_OPT_TOLERATE_NO_CLIENT_AUTH BearSSL fails
		 * an empty Certificate with BR_ERR_NO_CLIENT_AUTH. */
		tls_verifier_init(&c->ver, sv->trust);
		br_ssl_server_set_trust_anchor_names_alt(&c->u.sv, sv->trust->anchors.ta,
		    sv->trust->anchors.n);
		br_ssl_engine_set_x509(eng, &c->ver.vtable);
	}
	br_ssl_server_set_cache(&c->u.sv, &sv->cache.vtable);
	if (inject_entropy(eng) != 0) {
		set_failure(c, BR_ERR_NO_RANDOM, EIO);
		goto fail;
	}
	if (!br_ssl_server_reset(&c->u.sv)) {
		set_failure(c, br_ssl_engine_last_error(eng), EIO);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	if (fail)
		*fail = c->fail;
	tls_conn_free(c);
	return -EIO;
}

void tls_conn_free(struct tls_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	tls_verifier_release(&c->ver);
	/* contexts and buffers hold session keys */
	WIPE(c, sizeof(*c));
	free(c);
}

int tls_conn_fd(const struct tls_conn *c)
{
	return c->fd;
}

/* ---- non-blocking driver --------------------------------------------------- */

unsigned tls_conn_want(const struct tls_conn *c)
{
	unsigned st = br_ssl_engine_current_state(c->eng), w = 0;

	if (c->failed || st == BR_SSL_CLOSED)
		return TLS_CLOSED;
	if (st & BR_SSL_SENDREC)
		w |= TLS_WANT_WRITE;
	if (st & BR_SSL_RECVREC)
		w |= TLS_WANT_READ;
	return w;
}

/* Engine is closed: clean close (-EPIPE) or a TLS error (-EPROTO). */
static int closed_result(struct tls_conn *c)
{
	int err;

	if (c->failed)
		return -EPROTO;
	err = br_ssl_engine_last_error(c->eng);
	if (err == BR_ERR_OK)
		return -EPIPE;
	set_failure(c, err, 0);
	return -EPROTO;
}

/* Called once the engine allows application data for the first time. */
static int on_established(struct tls_conn *c)
{
	br_ssl_session_parameters sp;

	c->established = 1;
	/* A handshake in which the verifier saw no chain resumed a session.
	 * Without a verifier (no client auth) we cannot tell: report 0. */
	c->resumed = c->ver.trust ? !c->ver.invoked : 0;
	if (c->client && c->client->resume) {
		br_ssl_engine_get_session_parameters(c->eng, &sp);
		c->client->session = sp;
		c->client->have_session = 1;
		client_session_ctx(c->client, c->client->session_ctx);
		explicit_bzero(&sp, sizeof(sp));
	}
	if (c->server && c->server->trust && c->resumed && !c->resumed_identity) {
		/* cache_load() only resumes sessions it can attribute; this is
		 * a belt-and-braces check: never serve an anonymous peer. */
		c->established = 0;
		set_failure(c, TLS_ERR_RESUME_UNKNOWN, 0);
		br_ssl_engine_close(c->eng);
		return -EPROTO;
	}
	return 0;
}

int tls_conn_pump(struct tls_conn *c)
{
	br_ssl_engine_context *eng = c->eng;

	int no_recv = 0;

	if (c->failed)
		return -EPROTO;
	for (int step = 0; step < PUMP_MAX_STEPS; step++) {
		unsigned st = br_ssl_engine_current_state(eng);
		int progress = 0;
		unsigned char *buf;
		size_t len;
		ssize_t n;

		if (st == BR_SSL_CLOSED)
			return closed_result(c);
		if (!c->established && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP))) {
			if (on_established(c) != 0)
				return -EPROTO;
			/* Stop reading in this call: a peer may send close_notify
			 * right after its Finished (OpenSSL's s_client -reconnect
			 * does), and the caller must see the established
			 * connection before it sees the close. */
			no_recv = 1;
		}
		/* Unread application data first: reading further records could
		 * process a close_notify behind it. */
		if (st & BR_SSL_RECVAPP)
			no_recv = 1;
		if (st & BR_SSL_SENDREC) {
			buf = br_ssl_engine_sendrec_buf(eng, &len);
			n = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (n > 0) {
				br_ssl_engine_sendrec_ack(eng, (size_t)n);
				progress = 1;
			} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				int e = errno;
				set_failure(c, BR_ERR_IO, e);
				return -e;
			}
		}
		if (!progress && !no_recv && (st & BR_SSL_RECVREC)) {
			buf = br_ssl_engine_recvrec_buf(eng, &len);
			n = recv(c->fd, buf, len, 0);
			if (n > 0) {
				br_ssl_engine_recvrec_ack(eng, (size_t)n);
				progress = 1;
			} else if (n == 0) {
				/* EOF without close_notify: a truncation, not a clean
				 * close (RFC 5246 7.2.1); during the handshake it is
				 * usually the peer refusing us. */
				set_failure(c, BR_ERR_IO, ECONNRESET);
				return -ECONNRESET;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				int e = errno;
				set_failure(c, BR_ERR_IO, e);
				return -e;
			}
		}
		if (!progress) {
			st = br_ssl_engine_current_state(eng);
			if (st == BR_SSL_CLOSED)
				return closed_result(c);
			if (!c->established && (st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)))
				return on_established(c) ? -EPROTO : 0;
			return 0;
		}
	}
	return 0;
}

int tls_conn_established(const struct tls_conn *c)
{
	return c->established && !c->failed;
}

int tls_conn_resumed(const struct tls_conn *c)
{
	return c->resumed;
}

const char *tls_conn_sni(const struct tls_conn *c)
{
	return c->server ? br_ssl_engine_get_server_name(c->eng) : "";
}

const char *tls_conn_identity(const struct tls_conn *c)
{
	return c->ver.res.identity;
}

const struct tls_verify_result *tls_conn_verify_result(const struct tls_conn *c)
{
	return &c->ver.res;
}

unsigned tls_conn_suite(const struct tls_conn *c)
{
	return c->established ? c->eng->session.cipher_suite : 0;
}

long tls_conn_read(struct tls_conn *c, void *buf, size_t len)
{
	unsigned st;
	unsigned char *p;
	size_t n;

	if (c->failed)
		return -EPROTO;
	/* Data the peer sent before its close_notify is still delivered. */
	p = c->established ? br_ssl_engine_recvapp_buf(c->eng, &n) : NULL;
	if (!p) {
		st = br_ssl_engine_current_state(c->eng);
		return st == BR_SSL_CLOSED ? closed_result(c) : -EAGAIN;
	}
	if (n > len)
		n = len;
	memcpy(buf, p, n);
	br_ssl_engine_recvapp_ack(c->eng, n);
	return (long)n;
}

long tls_conn_write(struct tls_conn *c, const void *buf, size_t len)
{
	unsigned st;
	unsigned char *p;
	size_t n;

	if (c->failed)
		return -EPROTO;
	st = br_ssl_engine_current_state(c->eng);
	if (st == BR_SSL_CLOSED)
		return closed_result(c);
	if (!c->established || !(st & BR_SSL_SENDAPP))
		return -EAGAIN;
	p = br_ssl_engine_sendapp_buf(c->eng, &n);
	if (n > len)
		n = len;
	memcpy(p, buf, n);
	br_ssl_engine_sendapp_ack(c->eng, n);
	return (long)n;
}

void tls_conn_flush(struct tls_conn *c)
{
	br_ssl_engine_flush(c->eng, 0);
}

/* ---- blocking convenience ------------------------------------------------- */

/* Wait for the socket as the engine wants it, until `deadline` (ms). */
static int wait_io(struct tls_conn *c, uint64_t deadline)
{
	unsigned w = tls_conn_want(c);
	struct pollfd pfd = { .fd = c->fd, .events = 0 };
	uint64_t now = time_mono_ms();
	int r;

	if (w & TLS_CLOSED)
		return 0; /* the next pump reports it */
	if (w & TLS_WANT_WRITE)
		pfd.events |= POLLOUT;
	if (w & TLS_WANT_READ)
		pfd.events |= POLLIN;
	if (pfd.events == 0) {
		set_failure(c, BR_ERR_BAD_STATE, EIO);
		return -EIO;
	}
	if (now >= deadline) {
		set_failure(c, BR_ERR_IO, ETIMEDOUT);
		return -ETIMEDOUT;
	}
	r = poll(&pfd, 1, (int)(deadline - now > 0x7fffffff ? 0x7fffffff : deadline - now));
	if (r < 0 && errno != EINTR)
		return -errno;
	if (r == 0) {
		set_failure(c, BR_ERR_IO, ETIMEDOUT);
		return -ETIMEDOUT;
	}
	return 0;
}

int tls_conn_handshake(struct tls_conn *c)
{
	uint64_t deadline = time_mono_ms() + c->handshake_timeout_ms;
	int r;

	/* Bounded by the deadline: every iteration either makes progress or
	 * waits in poll until the deadline. */
	for (;;) {
		r = tls_conn_pump(c);
		if (r < 0)
			return r;
		if (c->established)
			return 0;
		r = wait_io(c, deadline);
		if (r < 0)
			return r;
	}
}

long tls_conn_read_some(struct tls_conn *c, void *buf, size_t len)
{
	return tls_conn_read_until(c, buf, len, time_mono_ms() + c->io_timeout_ms);
}

long tls_conn_read_until(struct tls_conn *c, void *buf, size_t len, uint64_t deadline)
{
	for (;;) {
		long n = tls_conn_read(c, buf, len);
		if (n != -EAGAIN)
			return n == -EPIPE ? 0 : n;
		int r = tls_conn_pump(c);
		if (r == -EPIPE)
			return 0;
		if (r < 0)
			return r;
		if (c->established && (br_ssl_engine_current_state(c->eng) & BR_SSL_RECVAPP))
			continue;
		r = wait_io(c, deadline);
		if (r < 0)
			return r;
	}
}

int tls_conn_write_all(struct tls_conn *c, const void *buf, size_t len)
{
	uint64_t deadline = time_mono_ms() + c->io_timeout_ms;
	const unsigned char *p = buf;
	int r;

	while (len > 0) {
		long n = tls_conn_write(c, p, len);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n != -EAGAIN)
			return (int)n;
		r = tls_conn_pump(c);
		if (r < 0)
			return r;
		if (br_ssl_engine_current_state(c->eng) & BR_SSL_SENDAPP)
			continue;
		r = wait_io(c, deadline);
		if (r < 0)
			return r;
	}
	tls_conn_flush(c);
	for (;;) {
		r = tls_conn_pump(c);
		if (r < 0)
			return r;
		if (!(br_ssl_engine_current_state(c->eng) & BR_SSL_SENDREC))
			return 0;
		r = wait_io(c, deadline);
		if (r < 0)
			return r;
	}
}

void tls_conn_close(struct tls_conn *c)
{
	if (!c)
		return;
	if (!c->failed) {
		unsigned ms = c->io_timeout_ms < 1000 ? c->io_timeout_ms : 1000;
		uint64_t deadline = time_mono_ms() + ms;
		br_ssl_engine_close(c->eng);
		/* Send our close_notify; do not wait long for the peer's. */
		for (int i = 0; i < 16; i++) {
			if (tls_conn_pump(c) < 0)
				break;
			if (!(br_ssl_engine_current_state(c->eng) & BR_SSL_SENDREC))
				break;
			if (wait_io(c, deadline) < 0)
				break;
		}
	}
	tls_conn_free(c);
}

int tls_tcp_connect(const char *host, unsigned port, unsigned timeout_ms)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL, *ai;
	char ps[8];
	uint64_t deadline = time_mono_ms() + timeout_ms;
	int rc = -EHOSTUNREACH, fd = -1;

	snprintf(ps, sizeof(ps), "%u", port);
	int g = getaddrinfo(host, ps, &hints, &res);
	if (g != 0)
		return g == EAI_SYSTEM ? -errno : -ENOENT;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			goto done;
		if (errno != EINPROGRESS) {
			rc = -errno;
			goto next;
		}
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			uint64_t now = time_mono_ms();
			if (now >= deadline) {
				rc = -ETIMEDOUT;
				goto next;
			}
			int r = poll(&pfd, 1, (int)(deadline - now));
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) {
				rc = r == 0 ? -ETIMEDOUT : -errno;
				goto next;
			}
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				soerr = errno;
			if (soerr == 0)
				goto done;
			rc = -soerr;
			goto next;
		}
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return rc;
done:
	freeaddrinfo(res);
	return fd;
}

int tls_client_connect(struct tls_client *cl, const char *host, unsigned port,
    struct tls_conn **out, struct tls_failure *fail)
{
	struct tls_conn *c = NULL;
	int fd, rc;

	*out = NULL;
	if (fail)
		memset(fail, 0, sizeof(*fail));
	fd = tls_tcp_connect(host, port, cl->connect_timeout_ms);
	if (fd < 0) {
		if (fail) {
			fail->sys_errno = -fd;
			fail->br_err = BR_ERR_IO;
			tls_err_name(BR_ERR_IO, fail->br_err_name);
			fail->in_handshake = 1;
		}
		return fd;
	}
	rc = tls_conn_client(cl, fd, &c, fail);
	if (rc)
		return rc;
	rc = tls_conn_handshake(c);
	if (rc) {
		if (fail)
			*fail = c->fail;
		/* A resumption the server refused must not be retried forever. */
		tls_client_forget_session(cl);
		tls_conn_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

size_t tls_conn_memory(int server)
{
	(void)server;
	return sizeof(struct tls_conn);
}
