/*
 * test_tls_peer: src/tls unit tests and an interop peer.
 *
 * Without arguments: self-contained checks.  Certificates come from our own
 * CA code (crypto/x509.h); our client and our server talk over a socketpair,
 * both driven by the non-blocking driver from one thread.  Time is faked
 * through tls_trust.now for the expiry cases.
 *
 * With arguments it is a peer for the interop tests
 * (test/integration/tls_interop.sh):
 *   test_tls_peer server --cert F --key F [--ca F] --port-file F [--accept N]
 *       listen on 127.0.0.1 (port chosen by the kernel, written to F), serve
 *       N connections one after the other: handshake, read a line, answer
 *       "hello <identity>\n".  One result line per connection on stdout:
 *       "server: ok identity=... resumed=0|1" or "server: fail reason=R br_err=NAME".
 *   test_tls_peer client --ca F --host H --port P [--name SNI] [--pin P]
 *       [--cert F --key F] [--connects N] [--read]
 *       connect N times with the same client (session resumption), send
 *       "ping\n" (and with --read print the answer), print "client: ok resumed=0|1 suite=0x...." or
 *       "client: fail reason=R br_err=NAME"; exit 0 if all succeeded.
 *   test_tls_peer bench --cert F --key F --ca F --client-cert F --client-key F
 *       [--seconds S]   handshakes/s and P-256 operations/s (bench/tls.sh)
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include "harness.h"
#include "base/timefmt.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "crypto/x509.h"
#include "http/client.h"
#include "http/server.h"
#include "tls/conn.h"
#include "tls/errname.h"
#include "tls/report.h"
#include "tls/verify.h"

/* ---- interop peer ------------------------------------------------------- */

static const char *arg(int argc, char **argv, const char *name)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static void print_fail(const char *who, const struct tls_failure *f, int rc)
{
	printf("%s: fail reason=%s br_err=%s errno=%d rc=%d\n", who,
	    tls_verify_reason_name(f->verify_reason), f->br_err_name[0] ? f->br_err_name : "none",
	    f->sys_errno, rc);
	fflush(stdout);
}

static int peer_server(int argc, char **argv)
{
	const char *cert = arg(argc, argv, "--cert"), *key = arg(argc, argv, "--key");
	const char *ca = arg(argc, argv, "--ca"), *pf = arg(argc, argv, "--port-file");
	const char *acc = arg(argc, argv, "--accept");
	int n = acc ? atoi(acc) : 1;
	static struct tls_creds creds;
	static struct tls_trust trust;
	static struct tls_server sv;
	int rc, ls;

	if (!cert || !key || !pf) {
		fprintf(stderr, "usage: test_tls_peer server --cert F --key F [--ca F] --port-file F\n");
		return 64;
	}
	if ((rc = tls_creds_load(&creds, cert, key)) != 0) {
		fprintf(stderr, "creds: %d\n", rc);
		return 1;
	}
	if (ca && (rc = tls_trust_load_ca_file(&trust, ca, TLS_PEER_CLIENT)) != 0) {
		fprintf(stderr, "ca: %d\n", rc);
		return 1;
	}
	if (tls_server_init(&sv, ca ? &trust : NULL, &creds, 0) != 0)
		return 1;
	sv.handshake_timeout_ms = 5000;
	sv.io_timeout_ms = 5000;
	ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0) {
		perror("listen");
		return 1;
	}
	FILE *f = fopen(pf, "w");
	if (!f)
		return 1;
	fprintf(f, "%u\n", ntohs(sa.sin_port));
	fclose(f);
	for (int i = 0; i < n; i++) {
		int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		struct tls_conn *c = NULL;
		struct tls_failure fail;
		if (fd < 0)
			return 1;
		if ((rc = tls_conn_server(&sv, fd, &c, &fail)) != 0) {
			print_fail("server", &fail, rc);
			continue;
		}
		rc = tls_conn_handshake(c);
		if (rc) {
			print_fail("server", tls_conn_failure(c), rc);
			tls_conn_free(c);
			continue;
		}
		printf("server: ok identity=%s resumed=%d suite=0x%04x\n",
		    tls_conn_identity(c)[0] ? tls_conn_identity(c) : "-", tls_conn_resumed(c),
		    tls_conn_suite(c));
		fflush(stdout);
		char buf[512];
		size_t got = 0;
		/* read one line (bounded) then answer */
		while (got < sizeof(buf) - 1) {
			long r = tls_conn_read_some(c, buf + got, sizeof(buf) - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			if (memchr(buf, '\n', got))
				break;
		}
		char out[600];
		int m = snprintf(out, sizeof(out), "hello %s\n",
		    tls_conn_identity(c)[0] ? tls_conn_identity(c) : "anonymous");
		if (got > 0 && tls_conn_write_all(c, out, (size_t)m) != 0)
			printf("server: write failed\n");
		tls_conn_close(c);
	}
	close(ls);
	tls_server_free(&sv);
	tls_trust_free(&trust);
	tls_creds_free(&creds);
	return 0;
}

static int peer_client(int argc, char **argv)
{
	const char *ca = arg(argc, argv, "--ca"), *host = arg(argc, argv, "--host");
	const char *port = arg(argc, argv, "--port"), *pin = arg(argc, argv, "--pin");
	const char *cert = arg(argc, argv, "--cert"), *key = arg(argc, argv, "--key");
	const char *name = arg(argc, argv, "--name"), *nc = arg(argc, argv, "--connects");
	static struct tls_creds creds;
	static struct tls_trust trust;
	static struct tls_client cl;
	int n = nc ? atoi(nc) : 1, rc, failures = 0, want_reply = 0;

	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], "--read") == 0)
			want_reply = 1;

	if (!ca || !host || !port) {
		fprintf(stderr, "usage: test_tls_peer client --ca F --host H --port P ...\n");
		return 64;
	}
	if ((rc = tls_trust_load_ca_file(&trust, ca, TLS_PEER_SERVER)) != 0) {
		fprintf(stderr, "ca: %d\n", rc);
		return 1;
	}
	if (pin && (rc = tls_trust_add_pin(&trust, pin)) != 0) {
		fprintf(stderr, "pin: %d\n", rc);
		return 1;
	}
	if (cert && key && (rc = tls_creds_load(&creds, cert, key)) != 0) {
		fprintf(stderr, "creds: %d\n", rc);
		return 1;
	}
	tls_client_init(&cl, &trust, cert ? &creds : NULL, name ? name : host);
	cl.connect_timeout_ms = cl.handshake_timeout_ms = cl.io_timeout_ms = 5000;
	for (int i = 0; i < n; i++) {
		struct tls_conn *c = NULL;
		struct tls_failure fail;
		rc = tls_client_connect(&cl, host, (unsigned)atoi(port), &c, &fail);
		if (rc) {
			print_fail("client", &fail, rc);
			failures++;
			continue;
		}
		printf("client: ok resumed=%d suite=0x%04x\n", tls_conn_resumed(c), tls_conn_suite(c));
		fflush(stdout);
		if (tls_conn_write_all(c, "ping\n", 5) != 0)
			failures++;
		char buf[256];
		long r = 0;
		if (want_reply)
			r = tls_conn_read_some(c, buf, sizeof(buf) - 1);
		if (r > 0) {
			buf[r] = '\0';
			printf("client: got %s", buf);
		}
		tls_conn_close(c);
	}
	tls_client_free(&cl);
	tls_trust_free(&trust);
	tls_creds_free(&creds);
	return failures ? 1 : 0;
}

/* ---- benchmark (bench/tls.sh) -------------------------------------------- */

static double now_s(void)
{
	return (double)time_mono_ns() / 1e9;
}

/* Handshakes per second, our client against our server (a forked child)
 * over loopback TCP; full ones (session forgotten each time) or resumed. */
static double bench_handshakes(struct tls_client *cl, unsigned port, int resumed, double secs)
{
	unsigned long n = 0;
	double t0s = now_s(), t;
	tls_client_forget_session(cl);
	do {
		struct tls_conn *c = NULL;
		if (!resumed)
			tls_client_forget_session(cl);
		struct tls_failure f;
		int rc = tls_client_connect(cl, "127.0.0.1", port, &c, &f);
		if (rc != 0) {
			print_fail("bench client", &f, rc);
			return -1;
		}
		if (resumed && n > 0 && !tls_conn_resumed(c)) {
			tls_conn_free(c);
			return -2;
		}
		tls_conn_close(c);
		n++;
		t = now_s();
	} while (t - t0s < secs);
	return (double)n / (t - t0s);
}

static int peer_bench(int argc, char **argv)
{
	const char *cert = arg(argc, argv, "--cert"), *key = arg(argc, argv, "--key");
	const char *ca = arg(argc, argv, "--ca"), *ccert = arg(argc, argv, "--client-cert");
	const char *ckey = arg(argc, argv, "--client-key"), *sec = arg(argc, argv, "--seconds");
	double secs = sec ? atof(sec) : 2.0;
	static struct tls_creds screds, ccreds;
	static struct tls_trust strust, ctrust;
	static struct tls_server sv;
	static struct tls_client cl;

	if (!cert || !key || !ca || !ccert || !ckey)
		return 64;
	if (tls_creds_load(&screds, cert, key) || tls_creds_load(&ccreds, ccert, ckey) ||
	    tls_trust_load_ca_file(&strust, ca, TLS_PEER_CLIENT) ||
	    tls_trust_load_ca_file(&ctrust, ca, TLS_PEER_SERVER) ||
	    tls_server_init(&sv, &strust, &screds, 1024))
		return 1;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 64) < 0 ||
	    getsockname(ls, (struct sockaddr *)&sa, &sl) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		/* server: until the parent kills us (bounded by an alarm) */
		alarm((unsigned)(secs * 4 + 10));
		for (;;) {
			struct tls_conn *c = NULL;
			int fd = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			if (tls_conn_server(&sv, fd, &c, NULL) == 0) {
				if (tls_conn_handshake(c) == 0)
					tls_conn_close(c);
				else
					tls_conn_free(c);
			}
		}
	}
	tls_client_init(&cl, &ctrust, &ccreds, "localhost");
	double full = bench_handshakes(&cl, ntohs(sa.sin_port), 0, secs);
	double res = bench_handshakes(&cl, ntohs(sa.sin_port), 1, secs);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	printf("bench full_handshakes_per_s %.0f\n", full);
	printf("bench resumed_handshakes_per_s %.0f\n", res);

	/* P-256 primitives of the BearSSL we link */
	struct key_p256 k;
	unsigned char hash[32] = { 1, 2, 3 }, sig[80], pt[65];
	size_t siglen = 0;
	const br_ec_impl *ec = br_ec_get_default();
	br_ecdsa_sign sign = br_ecdsa_sign_asn1_get_default();
	br_ecdsa_vrfy vrfy = br_ecdsa_vrfy_asn1_get_default();
	if (key_generate(&k))
		return 1;
	unsigned long n = 0;
	double t0s = now_s(), t;
	do {
		siglen = sign(ec, &br_sha256_vtable, hash, &k.sk, sig);
		n++;
	} while ((t = now_s()) - t0s < secs / 2);
	printf("bench p256_sign_per_s %.0f\n", (double)n / (t - t0s));
	n = 0;
	t0s = now_s();
	do {
		if (!vrfy(ec, hash, 32, &k.pk, sig, siglen))
			return 1;
		n++;
	} while ((t = now_s()) - t0s < secs / 2);
	printf("bench p256_verify_per_s %.0f\n", (double)n / (t - t0s));
	n = 0;
	t0s = now_s();
	do {
		memcpy(pt, k.pub, 65);
		if (!ec->mul(pt, 65, k.priv, 32, BR_EC_secp256r1))
			return 1;
		n++;
	} while ((t = now_s()) - t0s < secs / 2);
	printf("bench p256_ecdh_per_s %.0f\n", (double)n / (t - t0s));
	printf("bench ec_impl %s\n", ec == &br_ec_all_m31 ? "ec_all_m31 (p256_m31)" :
	    ec == &br_ec_all_m15 ? "ec_all_m15" : "other");
	key_wipe(&k);
	return 0;
}

/* ---- self-contained checks ----------------------------------------------- */

struct pemkey {
	char *cert;          /* PEM */
	size_t cert_len;
	char *key;
	size_t key_len;
	unsigned char *der;
	size_t der_len;
	struct key_p256 k;
};

static struct pemkey ca1, ca2, srv, srv_wrong_eku, cli, cli_ca2, cli_noid, srv_ca2;
static int64_t t0;
static int64_t fake_now;
static time_t now_fn(void)
{
	return (time_t)fake_now;
}

static int make_ca(struct pemkey *p, const char *cn)
{
	struct x509_issue_req req = { .profile = X509_PROFILE_CA, .cn = cn };
	x509_validity(t0, 3650, &req.not_before, &req.not_after);
	if (key_generate(&p->k) || x509_issue_ca(&p->k, &req, &p->der, &p->der_len) ||
	    pem_encode("CERTIFICATE", p->der, p->der_len, &p->cert, &p->cert_len) ||
	    key_to_pem(&p->k, &p->key, &p->key_len))
		return -1;
	return 0;
}

static int make_leaf(struct pemkey *p, const struct pemkey *ca, int profile, const char *cn,
    const char *dns, const char *uri)
{
	struct x509_sans sans;
	memset(&sans, 0, sizeof(sans));
	if (dns && x509_sans_add_dns(&sans, dns))
		return -1;
	if (uri && x509_sans_add_uri(&sans, uri))
		return -1;
	if (key_generate(&p->k))
		return -1;
	struct x509_issue_req req = { .profile = profile, .cn = cn, .pub = p->k.pub, .sans = &sans };
	x509_validity(t0, 90, &req.not_before, &req.not_after);
	if (x509_issue_leaf(&ca->k, ca->der, ca->der_len, &req, &p->der, &p->der_len) ||
	    pem_encode("CERTIFICATE", p->der, p->der_len, &p->cert, &p->cert_len) ||
	    key_to_pem(&p->k, &p->key, &p->key_len))
		return -1;
	return 0;
}

static int creds_of(struct tls_creds *c, const struct pemkey *p)
{
	return tls_creds_from_pem(c, p->cert, p->cert_len, p->key, p->key_len);
}

/* A client/server pair over a socketpair, pumped from this thread. */
struct pair {
	struct tls_conn *c, *s;
	int rc_c, rc_s;
};

static int pair_run(struct tls_client *cl, struct tls_server *sv, struct pair *p)
{
	int sp[2];
	memset(p, 0, sizeof(*p));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return -1;
	if (tls_conn_client(cl, sp[0], &p->c, NULL) || tls_conn_server(sv, sp[1], &p->s, NULL))
		return -1;
	for (int i = 0; i < 2000; i++) {
		if (!p->rc_c)
			p->rc_c = tls_conn_pump(p->c);
		if (!p->rc_s)
			p->rc_s = tls_conn_pump(p->s);
		if (p->rc_c || p->rc_s) {
			/* let the other side see the alert / close */
			for (int k = 0; k < 8; k++) {
				if (!p->rc_c)
					p->rc_c = tls_conn_pump(p->c);
				if (!p->rc_s)
					p->rc_s = tls_conn_pump(p->s);
			}
			break;
		}
		if (tls_conn_established(p->c) && tls_conn_established(p->s))
			break;
	}
	return 0;
}

static void pair_free(struct pair *p)
{
	tls_conn_free(p->c);
	tls_conn_free(p->s);
	p->c = p->s = NULL;
}

static int ok_pair(struct pair *p)
{
	return p->c && p->s && tls_conn_established(p->c) && tls_conn_established(p->s);
}

static struct tls_creds c_srv, c_srv_eku, c_cli, c_cli_ca2, c_cli_noid;
static struct tls_trust tr_client, tr_server, tr_client_ca2;
static struct tls_server server;
static int revoke_all;
static int revoked_cb(void *arg, const unsigned char *serial, size_t len)
{
	(void)arg;
	return revoke_all && len > 0;
}

static char ca1_pin[X509_PIN_STR_LEN], srv_pin[X509_PIN_STR_LEN];

static int setup(void)
{
	unsigned char pin[32];
	t0 = (int64_t)time(NULL);
	fake_now = t0;
	if (make_ca(&ca1, "Test CA 1") || make_ca(&ca2, "Test CA 2") ||
	    make_leaf(&srv, &ca1, X509_PROFILE_SERVER, "orchestrator", "localhost", NULL) ||
	    make_leaf(&srv_wrong_eku, &ca1, X509_PROFILE_CLIENT, "orchestrator", "localhost", NULL) ||
	    make_leaf(&cli, &ca1, X509_PROFILE_CLIENT, "a1", NULL,
	        "spiffe://stavily.test/tenant/t1/agent/a1") ||
	    make_leaf(&cli_ca2, &ca2, X509_PROFILE_CLIENT, "a1", NULL,
	        "spiffe://stavily.test/tenant/t1/agent/a1") ||
	    make_leaf(&cli_noid, &ca1, X509_PROFILE_CLIENT, "a2", "a2.example", NULL) ||
	    make_leaf(&srv_ca2, &ca2, X509_PROFILE_SERVER, "orchestrator", "localhost", NULL))
		return -1;
	if (creds_of(&c_srv, &srv) || creds_of(&c_srv_eku, &srv_wrong_eku) || creds_of(&c_cli, &cli) ||
	    creds_of(&c_cli_ca2, &cli_ca2) || creds_of(&c_cli_noid, &cli_noid))
		return -2;
	if (tls_trust_load_ca_pem(&tr_client, ca1.cert, ca1.cert_len, TLS_PEER_SERVER) ||
	    tls_trust_load_ca_pem(&tr_client_ca2, ca2.cert, ca2.cert_len, TLS_PEER_SERVER) ||
	    tls_trust_load_ca_pem(&tr_server, ca1.cert, ca1.cert_len, TLS_PEER_CLIENT))
		return -3;
	if (x509_spki_pin(ca1.der, ca1.der_len, pin))
		return -4;
	x509_pin_format(pin, ca1_pin);
	if (x509_spki_pin(srv.der, srv.der_len, pin))
		return -4;
	x509_pin_format(pin, srv_pin);
	if (tls_trust_add_pin(&tr_client, ca1_pin))
		return -5;
	tr_client.now = now_fn;
	tr_client_ca2.now = now_fn;
	tr_server.now = now_fn;
	tr_server.require_identity = 1;
	tr_server.revoked = revoked_cb;
	if (tls_server_init(&server, &tr_server, &c_srv, 4))
		return -6;
	return 0;
}

static void test_err_names(void)
{
	char b[TLS_ERRNAME_MAX];
	CHECK_EQ_STR(tls_err_name(0, b), "BR_ERR_OK");
	CHECK_EQ_STR(tls_err_name(BR_ERR_BAD_MAC, b), "BR_ERR_BAD_MAC");
	CHECK_EQ_STR(tls_err_name(BR_ERR_NO_CLIENT_AUTH, b), "BR_ERR_NO_CLIENT_AUTH");
	CHECK_EQ_STR(tls_err_name(BR_ERR_X509_EXPIRED, b), "BR_ERR_X509_EXPIRED");
	CHECK_EQ_STR(tls_err_name(BR_ERR_X509_NOT_TRUSTED, b), "BR_ERR_X509_NOT_TRUSTED");
	CHECK_EQ_STR(tls_err_name(TLS_ERR_PIN_MISMATCH, b), "TLS_ERR_PIN_MISMATCH");
	CHECK_EQ_STR(tls_err_name(BR_ERR_RECV_FATAL_ALERT + 40, b),
	    "BR_ERR_RECV_FATAL_ALERT(handshake_failure)");
	CHECK_EQ_STR(tls_err_name(BR_ERR_SEND_FATAL_ALERT + 48, b), "BR_ERR_SEND_FATAL_ALERT(unknown_ca)");
	CHECK_EQ_STR(tls_err_name(12345, b), "BR_ERR_UNKNOWN(12345)");
	CHECK_EQ_STR(tls_verify_reason_name(TLS_VR_NOT_YET_VALID), "not_yet_valid");
}

static void test_mtls_and_resumption(void)
{
	static struct tls_client cl;
	struct pair p;
	tls_client_init(&cl, &tr_client, &c_cli, "localhost");
	fake_now = t0;
	revoke_all = 0;
	CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
	CHECK(ok_pair(&p));
	if (!ok_pair(&p)) {
		printf("  rc_c=%d %s rc_s=%d %s\n", p.rc_c, p.c ? tls_conn_failure(p.c)->br_err_name : "",
		    p.rc_s, p.s ? tls_conn_failure(p.s)->br_err_name : "");
		pair_free(&p);
		return;
	}
	CHECK_EQ_STR(tls_conn_identity(p.s), "spiffe://stavily.test/tenant/t1/agent/a1");
	CHECK_EQ_INT(tls_conn_resumed(p.c), 0);
	CHECK_EQ_INT(tls_conn_resumed(p.s), 0);
	unsigned suite = tls_conn_suite(p.c);
	CHECK_EQ_INT(suite, BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256);
	/* application data both ways through the non-blocking driver */
	long w = tls_conn_write(p.c, "ping", 4);
	CHECK_EQ_INT(w, 4);
	tls_conn_flush(p.c);
	char buf[16];
	long r = -EAGAIN;
	for (int i = 0; i < 50 && r == -EAGAIN; i++) {
		CHECK_EQ_INT(tls_conn_pump(p.c), 0);
		CHECK_EQ_INT(tls_conn_pump(p.s), 0);
		r = tls_conn_read(p.s, buf, sizeof(buf));
	}
	CHECK_EQ_INT(r, 4);
	CHECK(memcmp(buf, "ping", 4) == 0);
	pair_free(&p);
	CHECK(cl.have_session);

	/* second connection: resumed on both sides, identity from the map */
	CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
	CHECK(ok_pair(&p));
	if (ok_pair(&p)) {
		CHECK_EQ_INT(tls_conn_resumed(p.c), 1);
		CHECK_EQ_INT(tls_conn_resumed(p.s), 1);
		CHECK_EQ_STR(tls_conn_identity(p.s), "spiffe://stavily.test/tenant/t1/agent/a1");
	}
	pair_free(&p);

	/* forgetting an identity (quarantine, revocation) ends its sessions:
	 * the next connection is a full handshake */
	CHECK(tls_server_forget_identity(&server, "spiffe://stavily.test/tenant/t1/agent/a1") >= 1);
	CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
	CHECK(ok_pair(&p));
	if (ok_pair(&p)) {
		CHECK_EQ_INT(tls_conn_resumed(p.c), 0);
		CHECK_EQ_INT(tls_conn_resumed(p.s), 0);
	}
	pair_free(&p);

	/* a revoked serial is not resumed: the full handshake refuses it */
	revoke_all = 1;
	CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
	CHECK(!ok_pair(&p));
	CHECK(p.s && tls_conn_failure(p.s)->verify_reason == TLS_VR_REVOKED);
	pair_free(&p);
	revoke_all = 0;

	/* without resumption: a full handshake again */
	tls_client_forget_session(&cl);
	CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
	CHECK(ok_pair(&p) && !tls_conn_resumed(p.c) && !tls_conn_resumed(p.s));
	pair_free(&p);
	tls_client_free(&cl);
}

/* Expect the client to refuse with `reason` (and the named BearSSL code). */
static void expect_client_refusal(struct tls_trust *tr, const struct tls_creds *srv_creds,
    const char *name, int64_t now, int reason, int br_err)
{
	static struct tls_client cl;
	static struct tls_server sv;
	struct pair p;
	fake_now = now;
	tls_client_init(&cl, tr, &c_cli, name);
	if (tls_server_init(&sv, &tr_server, srv_creds, 4) != 0) {
		CHECK(0);
		return;
	}
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(!ok_pair(&p));
	CHECK_EQ_INT(p.rc_c, -EPROTO);
	if (p.c) {
		const struct tls_failure *f = tls_conn_failure(p.c);
		CHECK_EQ_STR(tls_verify_reason_name(f->verify_reason), tls_verify_reason_name(reason));
		CHECK_EQ_INT(f->br_err, br_err);
		CHECK(tls_failure_is_cert(f));
		CHECK(f->in_handshake);
	}
	/* BearSSL sends no alert on a verification failure; the server sees
	 * the connection end (EOF before the handshake completed). */
	tls_conn_free(p.c);
	p.c = NULL;
	for (int i = 0; i < 4 && p.rc_s == 0; i++)
		p.rc_s = tls_conn_pump(p.s);
	CHECK_EQ_INT(p.rc_s, -ECONNRESET);
	if (p.s)
		CHECK(!tls_conn_established(p.s) && tls_conn_failure(p.s)->in_handshake);
	pair_free(&p);
	tls_server_free(&sv);
	tls_client_free(&cl);
	fake_now = t0;
}

static void test_client_refusals(void)
{
	static struct tls_trust wrongpin, srvpin;
	/* pin of another key: refused */
	CHECK_EQ_INT(tls_trust_load_ca_pem(&wrongpin, ca1.cert, ca1.cert_len, TLS_PEER_SERVER), 0);
	wrongpin.now = now_fn;
	CHECK_EQ_INT(tls_trust_add_pin(&wrongpin,
	    "sha256:0000000000000000000000000000000000000000000000000000000000000000"), 0);
	expect_client_refusal(&wrongpin, &c_srv, "localhost", t0, TLS_VR_PIN_MISMATCH,
	    TLS_ERR_PIN_MISMATCH);
	/* a leaf pin also satisfies the pin set */
	CHECK_EQ_INT(tls_trust_load_ca_pem(&srvpin, ca1.cert, ca1.cert_len, TLS_PEER_SERVER), 0);
	CHECK_EQ_INT(tls_trust_add_pin(&srvpin, srv_pin), 0);
	{
		static struct tls_client cl;
		struct pair p;
		tls_client_init(&cl, &srvpin, &c_cli, "localhost");
		CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
		CHECK(ok_pair(&p));
		pair_free(&p);
	}
	expect_client_refusal(&tr_client, &c_srv, "other.example", t0, TLS_VR_HOSTNAME_MISMATCH,
	    BR_ERR_X509_BAD_SERVER_NAME);
	expect_client_refusal(&tr_client, &c_srv, "localhost", t0 + 100 * 86400LL, TLS_VR_EXPIRED,
	    BR_ERR_X509_EXPIRED);
	expect_client_refusal(&tr_client, &c_srv, "localhost", t0 - 86400, TLS_VR_NOT_YET_VALID,
	    TLS_ERR_NOT_YET_VALID);
	expect_client_refusal(&tr_client_ca2, &c_srv, "localhost", t0, TLS_VR_UNKNOWN_CA,
	    BR_ERR_X509_NOT_TRUSTED);
	expect_client_refusal(&tr_client, &c_srv_eku, "localhost", t0, TLS_VR_WRONG_EKU,
	    TLS_ERR_WRONG_EKU);
	tls_trust_free(&wrongpin);
	tls_trust_free(&srvpin);
}

/* Pins count only for the validated path: a certificate appended after the
 * one a trust anchor verified is ignored, as BearSSL ignores it. */
static void test_pin_only_validated_path(void)
{
	static struct tls_trust both;
	static struct tls_creds forged, honest;
	static char bundle[16384], chain[16384];
	snprintf(bundle, sizeof(bundle), "%s%s", ca1.cert, ca2.cert);
	CHECK_EQ_INT(tls_trust_load_ca_pem(&both, bundle, strlen(bundle), TLS_PEER_SERVER), 0);
	CHECK_EQ_INT(tls_trust_add_pin(&both, ca1_pin), 0);
	both.now = now_fn;
	/* CA2's server with CA1's (public) certificate appended */
	snprintf(chain, sizeof(chain), "%s%s", srv_ca2.cert, ca1.cert);
	CHECK_EQ_INT(tls_creds_from_pem(&forged, chain, strlen(chain), srv_ca2.key, srv_ca2.key_len), 0);
	CHECK_EQ_INT((int)forged.chain.n, 2);
	expect_client_refusal(&both, &forged, "localhost", t0, TLS_VR_PIN_MISMATCH,
	    TLS_ERR_PIN_MISMATCH);
	/* CA1's server sending its CA too: the pin matches */
	snprintf(chain, sizeof(chain), "%s%s", srv.cert, ca1.cert);
	CHECK_EQ_INT(tls_creds_from_pem(&honest, chain, strlen(chain), srv.key, srv.key_len), 0);
	{
		static struct tls_client cl;
		struct pair p;
		tls_client_init(&cl, &both, &c_cli, "localhost");
		CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
		CHECK(ok_pair(&p));
		pair_free(&p);
		/* and CA2's server alone (trusted, not pinned) is refused */
	}
	{
		static struct tls_creds plain2;
		CHECK_EQ_INT(tls_creds_from_pem(&plain2, srv_ca2.cert, srv_ca2.cert_len, srv_ca2.key,
		    srv_ca2.key_len), 0);
		expect_client_refusal(&both, &plain2, "localhost", t0, TLS_VR_PIN_MISMATCH,
		    TLS_ERR_PIN_MISMATCH);
		tls_creds_free(&plain2);
	}
	tls_creds_free(&forged);
	tls_creds_free(&honest);
	tls_trust_free(&both);

	/* CA key rollover: old and new CA share one DN; only the new is pinned.
	 * A server certificate from the old key must not pass. */
	static struct pemkey oldca, newca, oldsrv, newsrv;
	static struct tls_trust roll;
	static struct tls_creds c_old, c_new;
	unsigned char pin[32];
	char newpin[X509_PIN_STR_LEN];
	CHECK_EQ_INT(make_ca(&oldca, "Rollover CA"), 0);
	CHECK_EQ_INT(make_ca(&newca, "Rollover CA"), 0);
	CHECK_EQ_INT(make_leaf(&oldsrv, &oldca, X509_PROFILE_SERVER, "o", "localhost", NULL), 0);
	CHECK_EQ_INT(make_leaf(&newsrv, &newca, X509_PROFILE_SERVER, "o", "localhost", NULL), 0);
	snprintf(bundle, sizeof(bundle), "%s%s", oldca.cert, newca.cert);
	CHECK_EQ_INT(tls_trust_load_ca_pem(&roll, bundle, strlen(bundle), TLS_PEER_SERVER), 0);
	CHECK_EQ_INT(x509_spki_pin(newca.der, newca.der_len, pin), 0);
	x509_pin_format(pin, newpin);
	CHECK_EQ_INT(tls_trust_add_pin(&roll, newpin), 0);
	roll.now = now_fn;
	CHECK_EQ_INT(creds_of(&c_old, &oldsrv), 0);
	CHECK_EQ_INT(creds_of(&c_new, &newsrv), 0);
	expect_client_refusal(&roll, &c_old, "localhost", t0, TLS_VR_PIN_MISMATCH, TLS_ERR_PIN_MISMATCH);
	{
		static struct tls_client cl;
		static struct tls_server sv;
		struct pair p;
		tls_client_init(&cl, &roll, &c_cli, "localhost");
		CHECK_EQ_INT(tls_server_init(&sv, &tr_server, &c_new, 4), 0);
		CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
		CHECK(ok_pair(&p));
		pair_free(&p);
		tls_server_free(&sv);
	}
	tls_creds_free(&c_old);
	tls_creds_free(&c_new);
	tls_trust_free(&roll);
}

static void expect_server_refusal(const struct tls_creds *cc, int reason, int br_err)
{
	static struct tls_client cl;
	struct pair p;
	tls_client_init(&cl, &tr_client, cc, "localhost");
	CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
	CHECK(!ok_pair(&p));
	CHECK_EQ_INT(p.rc_s, -EPROTO);
	if (p.s) {
		const struct tls_failure *f = tls_conn_failure(p.s);
		CHECK_EQ_STR(tls_verify_reason_name(f->verify_reason), tls_verify_reason_name(reason));
		CHECK_EQ_INT(f->br_err, br_err);
		if (f->br_err != br_err)
			printf("  got %s\n", f->br_err_name);
	}
	pair_free(&p);
	tls_client_free(&cl);
}

static char ev_lines[4][2048];
static int ev_n;
static void ev_sink(void *ctx, enum event_level level, const char *event, const char *line,
    size_t len)
{
	(void)ctx;
	(void)level;
	(void)event;
	if (ev_n < 4)
		snprintf(ev_lines[ev_n++], sizeof(ev_lines[0]), "%.*s", (int)len, line);
}

static void test_failure_events(void)
{
	static struct tls_trust wrongpin;
	static struct tls_client cl;
	struct pair p;
	struct event_log *log = event_log_new("action-agent", "a1", EVENT_DEBUG);
	CHECK(log != NULL);
	if (!log)
		return;
	CHECK_EQ_INT(event_log_add_callback(log, ev_sink, NULL), 0);
	CHECK_EQ_INT(tls_trust_load_ca_pem(&wrongpin, ca1.cert, ca1.cert_len, TLS_PEER_SERVER), 0);
	CHECK_EQ_INT(tls_trust_add_pin(&wrongpin,
	    "sha256:2222222222222222222222222222222222222222222222222222222222222222"), 0);
	tls_client_init(&cl, &wrongpin, &c_cli, "localhost");
	CHECK_EQ_INT(pair_run(&cl, &server, &p), 0);
	CHECK(p.c && p.rc_c == -EPROTO);
	ev_n = 0;
	if (p.c)
		CHECK_EQ_INT(tls_failure_emit(log, tls_conn_failure(p.c), "127.0.0.1:8443", "localhost"), 2);
	CHECK_EQ_INT(ev_n, 2);
	CHECK(strstr(ev_lines[0], "\"event\":\"tls_handshake_failed\"") != NULL);
	CHECK(strstr(ev_lines[1], "\"event\":\"certificate_validation_failed\"") != NULL);
	CHECK(strstr(ev_lines[1], "\"reason\":\"pin_mismatch\"") != NULL);
	CHECK(strstr(ev_lines[1], "\"br_err\":96") != NULL);
	CHECK(strstr(ev_lines[1], "\"br_err_name\":\"TLS_ERR_PIN_MISMATCH\"") != NULL);
	CHECK(strstr(ev_lines[1], "\"peer\":\"127.0.0.1:8443\"") != NULL);
	pair_free(&p);
	/* a non-certificate handshake failure: only tls_handshake_failed */
	struct tls_failure f;
	memset(&f, 0, sizeof(f));
	f.in_handshake = 1;
	f.br_err = BR_ERR_IO;
	f.sys_errno = ETIMEDOUT;
	tls_err_name(f.br_err, f.br_err_name);
	ev_n = 0;
	CHECK_EQ_INT(tls_failure_emit(log, &f, NULL, NULL), 1);
	CHECK(ev_n == 1 && strstr(ev_lines[0], "\"errno_name\":\"ETIMEDOUT\"") != NULL);
	f.in_handshake = 0;
	CHECK_EQ_INT(tls_failure_emit(log, &f, NULL, NULL), 0);
	event_log_free(log);
	tls_trust_free(&wrongpin);
	tls_client_free(&cl);
}

static void test_server_refusals(void)
{
	fake_now = t0;
	/* no client certificate at all */
	expect_server_refusal(NULL, TLS_VR_OK, BR_ERR_NO_CLIENT_AUTH);
	/* a certificate from another CA */
	expect_server_refusal(&c_cli_ca2, TLS_VR_UNKNOWN_CA, BR_ERR_X509_NOT_TRUSTED);
	/* a server certificate used as a client certificate */
	expect_server_refusal(&c_srv, TLS_VR_WRONG_EKU, TLS_ERR_WRONG_EKU);
	/* a client certificate without a URI identity */
	expect_server_refusal(&c_cli_noid, TLS_VR_NO_IDENTITY, TLS_ERR_NO_IDENTITY);
	/* revoked serial */
	revoke_all = 1;
	expect_server_refusal(&c_cli, TLS_VR_REVOKED, TLS_ERR_REVOKED);
	revoke_all = 0;
	/* expired client certificate */
	fake_now = t0 + 100 * 86400LL;
	tr_client.now = NULL; /* the client side keeps the real time */
	expect_server_refusal(&c_cli, TLS_VR_EXPIRED, BR_ERR_X509_EXPIRED);
	tr_client.now = now_fn;
	fake_now = t0;
}

static void test_no_client_auth_listener(void)
{
	/* The enrollment listener: no client certificate asked for. */
	static struct tls_server sv;
	static struct tls_client cl;
	struct pair p;
	CHECK_EQ_INT(tls_server_init(&sv, NULL, &c_srv, 0), 0);
	tls_client_init(&cl, &tr_client, NULL, "localhost");
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(ok_pair(&p));
	if (p.s)
		CHECK_EQ_STR(tls_conn_identity(p.s), "");
	pair_free(&p);
	tls_server_free(&sv);
	tls_client_free(&cl);
}

static void test_creds_and_config(void)
{
	static struct tls_creds c;
	static struct tls_server sv;
	CHECK(tls_creds_from_pem(&c, srv.cert, srv.cert_len, "junk", 4) != 0);
	CHECK(tls_creds_from_pem(&c, "junk", 4, srv.key, srv.key_len) != 0);
	CHECK_EQ_INT(tls_server_init(&sv, NULL, &c_srv, TLS_SESSION_CACHE_MAX + 1), -EINVAL);
	static struct tls_trust t;
	CHECK(tls_trust_load_ca_pem(&t, "nothing", 7, TLS_PEER_SERVER) != 0);
	CHECK_EQ_INT(tls_trust_load_ca_pem(&t, ca1.cert, ca1.cert_len, TLS_PEER_SERVER), 0);
	CHECK(tls_trust_add_pin(&t, "sha256:zz") != 0);
	CHECK(tls_trust_add_pin(&t, "md5:00") != 0);
	tls_trust_free(&t);
	/* a client without a server name would skip the host name check */
	static struct tls_client noname;
	struct tls_conn *nc = NULL;
	int sp[2];
	tls_client_init(&noname, &tr_client, &c_cli, NULL);
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	CHECK_EQ_INT(tls_conn_client(&noname, sp[0], &nc, NULL), -EINVAL);
	CHECK(nc == NULL);
	close(sp[1]);
	/* nor one whose trust was set up for checking clients (no host name
	 * check, clientAuth purpose), and the same the other way round */
	static struct tls_client wrongrole;
	tls_client_init(&wrongrole, &tr_server, &c_cli, "localhost");
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	CHECK_EQ_INT(tls_conn_client(&wrongrole, sp[0], &nc, NULL), -EINVAL);
	CHECK(nc == NULL);
	close(sp[1]);
	CHECK_EQ_INT(tls_server_init(&sv, &tr_client, &c_srv, 0), -EINVAL);
	printf("  memory per connection: %zu bytes\n", tls_conn_memory(1));
	CHECK(tls_conn_memory(1) > TLS_CONN_IOBUF);
}

static void test_timeouts(void)
{
	static struct tls_client cl;
	struct tls_conn *c = NULL;
	int sp[2];
	tls_client_init(&cl, &tr_client, &c_cli, "localhost");
	cl.handshake_timeout_ms = 200;
	cl.io_timeout_ms = 200;
	/* a peer that accepts the bytes but never answers */
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	CHECK_EQ_INT(tls_conn_client(&cl, sp[0], &c, NULL), 0);
	uint64_t t = time_mono_ms();
	CHECK_EQ_INT(tls_conn_handshake(c), -ETIMEDOUT);
	t = time_mono_ms() - t;
	CHECK(t >= 190 && t < 2000);
	CHECK_EQ_INT(tls_conn_failure(c)->sys_errno, ETIMEDOUT);
	CHECK(tls_conn_failure(c)->in_handshake);
	tls_conn_free(c);
	close(sp[1]);
	/* a peer that closes: the handshake fails at once, no hang */
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	close(sp[1]);
	CHECK_EQ_INT(tls_conn_client(&cl, sp[0], &c, NULL), 0);
	int r = tls_conn_handshake(c);
	CHECK(r == -ECONNRESET || r == -EPIPE);
	tls_conn_free(c);
	/* read timeout on an established connection that stays silent */
	static struct tls_client cl2;
	struct pair p;
	tls_client_init(&cl2, &tr_client, &c_cli, "localhost");
	cl2.io_timeout_ms = 150;
	fake_now = t0;
	CHECK_EQ_INT(pair_run(&cl2, &server, &p), 0);
	CHECK(ok_pair(&p));
	if (ok_pair(&p)) {
		char b[8];
		CHECK_EQ_INT(tls_conn_read_some(p.c, b, sizeof(b)), -ETIMEDOUT);
	}
	pair_free(&p);
	/* TCP connect to a closed loopback port is refused quickly */
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	CHECK_EQ_INT(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	CHECK_EQ_INT(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd); /* bound, never listened: the port is now closed */
	CHECK_EQ_INT(tls_tcp_connect("127.0.0.1", ntohs(sa.sin_port), 1000), -ECONNREFUSED);
	CHECK_EQ_INT(tls_tcp_connect("no-such-host.invalid", 443, 1000) < 0, 1);
	tls_client_free(&cl);
	tls_client_free(&cl2);
}

/* ---- HTTP over our TLS ---------------------------------------------------- */

static void h_whoami(struct http_ctx *ctx, struct http_reply *r)
{
	char body[400];
	snprintf(body, sizeof(body), "{\"identity\":\"%s\",\"len\":%zu}",
	    ctx->identity ? ctx->identity : "", ctx->req->body_len);
	if (http_reply_json(r, 200, body) != 0)
		return;
}

static void test_http_over_tls(void)
{
	static const struct http_route routes[] = {
		{ "POST", "/v1/agent/heartbeat", h_whoami },
	};
	static struct tls_client cl;
	struct http_limits lim;
	int sp[2];
	http_limits_default(&lim);
	fake_now = t0;
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct tls_conn *sc = NULL;
		struct http_server_opts o = { routes, 1, lim, 0, NULL, NULL, 0 };
		close(sp[0]);
		if (tls_conn_server(&server, sp[1], &sc, NULL) || tls_conn_handshake(sc))
			_exit(2);
		int r = http_serve_conn(sc, &o, "test");
		tls_conn_close(sc);
		_exit(r == -400 ? 0 : 3);
	}
	close(sp[1]);
	tls_client_init(&cl, &tr_client, &c_cli, "localhost");
	struct tls_conn *c = NULL;
	CHECK_EQ_INT(tls_conn_client(&cl, sp[0], &c, NULL), 0);
	if (!c)
		return;
	CHECK_EQ_INT(tls_conn_handshake(c), 0);
	struct http_client_response resp;
	struct http_field f[] = { { "Content-Type", "application/json" } };
	for (int i = 0; i < 2; i++) {  /* keep-alive: two requests, one connection */
		CHECK_EQ_INT(http_client_do(c, "localhost", "POST", "/v1/agent/heartbeat", f, 1,
		    "{}", 2, &lim, &resp), 0);
		CHECK_EQ_INT(resp.resp.status, 200);
		CHECK(resp.resp.keep_alive);
		CHECK(resp.resp.body_len > 0 && memmem(resp.resp.body, resp.resp.body_len,
		    "spiffe://stavily.test/tenant/t1/agent/a1", 40) != NULL);
		http_client_response_free(&resp);
	}
	CHECK_EQ_INT(http_client_do(c, "localhost", "GET", "/nope", NULL, 0, NULL, 0, &lim, &resp), 0);
	CHECK_EQ_INT(resp.resp.status, 404);
	http_client_response_free(&resp);
	/* a smuggling shape: 400 and the server closes */
	const char *bad = "POST /v1/agent/heartbeat HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx";
	CHECK_EQ_INT(tls_conn_write_all(c, bad, strlen(bad)), 0);
	char buf[1024];
	size_t got = 0;
	for (int i = 0; i < 20 && got < sizeof(buf); i++) {
		long r = tls_conn_read_some(c, buf + got, sizeof(buf) - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	struct http_response hr;
	size_t used;
	CHECK_EQ_INT(http_parse_response(buf, got, &lim, 0, &hr, &used, NULL), HTTP_OK);
	CHECK_EQ_INT(hr.status, 400);
	CHECK(!hr.keep_alive);
	tls_conn_free(c);
	int st = -1;
	CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
	CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	tls_client_free(&cl);
}

/* ---- review fixes ----------------------------------------------------------- */

/* A server leaf with exactly the SANs given ("ip:" or "dns:" prefixed). */
static int make_server_sans(struct pemkey *p, const char *const *names, size_t n)
{
	struct x509_sans sans;
	memset(&sans, 0, sizeof(sans));
	for (size_t i = 0; i < n; i++) {
		int r = strncmp(names[i], "ip:", 3) == 0 ? x509_sans_add_ip(&sans, names[i] + 3) :
		    x509_sans_add_dns(&sans, names[i] + 4);
		if (r)
			return -1;
	}
	if (key_generate(&p->k))
		return -1;
	struct x509_issue_req req = { .profile = X509_PROFILE_SERVER, .cn = "orchestrator",
		.pub = p->k.pub, .sans = &sans };
	x509_validity(t0, 90, &req.not_before, &req.not_after);
	if (x509_issue_leaf(&ca1.k, ca1.der, ca1.der_len, &req, &p->der, &p->der_len) ||
	    pem_encode("CERTIFICATE", p->der, p->der_len, &p->cert, &p->cert_len) ||
	    key_to_pem(&p->k, &p->key, &p->key_len))
		return -1;
	return 0;
}

/* The client connects to `name`; returns 1 if both sides completed. */
static int connect_named(const struct tls_creds *srv_creds, const char *name, char *sni,
    size_t sni_len, int *reason)
{
	static struct tls_client cl;
	static struct tls_server sv;
	struct pair p;
	int ok;
	fake_now = t0;
	tls_client_init(&cl, &tr_client, &c_cli, name);
	if (tls_server_init(&sv, &tr_server, srv_creds, 4) != 0 || pair_run(&cl, &sv, &p) != 0)
		return -1;
	ok = ok_pair(&p);
	*reason = p.c ? tls_conn_failure(p.c)->verify_reason : -1;
	if (sni)
		snprintf(sni, sni_len, "%s", p.s ? tls_conn_sni(p.s) : "?");
	pair_free(&p);
	tls_server_free(&sv);
	tls_client_free(&cl);
	return ok;
}

/* An IP-literal server name must match an iPAddress SAN (BearSSL matches
 * dNSName only), must not match a dNSName spelled like the address, and is
 * not sent as SNI (RFC 6066 3). */
static void test_ip_literal_server_name(void)
{
	static struct pemkey ip4, ip6, dnsip;
	static struct tls_creds c_ip4, c_ip6, c_dnsip;
	static const char *const n4[] = { "ip:127.0.0.1", "dns:localhost" };
	static const char *const n6[] = { "ip:::1" };
	static const char *const nd[] = { "dns:127.0.0.1" };
	char sni[300];
	int reason = -1;
	CHECK_EQ_INT(make_server_sans(&ip4, n4, 2), 0);
	CHECK_EQ_INT(make_server_sans(&ip6, n6, 1), 0);
	CHECK_EQ_INT(make_server_sans(&dnsip, nd, 1), 0);
	CHECK_EQ_INT(creds_of(&c_ip4, &ip4), 0);
	CHECK_EQ_INT(creds_of(&c_ip6, &ip6), 0);
	CHECK_EQ_INT(creds_of(&c_dnsip, &dnsip), 0);

	CHECK_EQ_INT(connect_named(&c_ip4, "127.0.0.1", sni, sizeof(sni), &reason), 1);
	CHECK_EQ_STR(sni, "");
	CHECK_EQ_INT(connect_named(&c_ip4, "localhost", sni, sizeof(sni), &reason), 1);
	CHECK_EQ_STR(sni, "localhost");
	CHECK_EQ_INT(connect_named(&c_ip4, "127.0.0.2", NULL, 0, &reason), 0);
	CHECK_EQ_STR(tls_verify_reason_name(reason), "hostname_mismatch");
	CHECK_EQ_INT(connect_named(&c_ip6, "::1", NULL, 0, &reason), 1);
	CHECK_EQ_INT(connect_named(&c_ip6, "::2", NULL, 0, &reason), 0);
	CHECK_EQ_STR(tls_verify_reason_name(reason), "hostname_mismatch");
	/* the v4 address does not match a v6 SAN and vice versa */
	CHECK_EQ_INT(connect_named(&c_ip6, "127.0.0.1", NULL, 0, &reason), 0);
	CHECK_EQ_INT(connect_named(&c_ip4, "::1", NULL, 0, &reason), 0);
	/* dNSName "127.0.0.1" is not an address (RFC 6125 6.2.1) */
	CHECK_EQ_INT(connect_named(&c_dnsip, "127.0.0.1", NULL, 0, &reason), 0);
	CHECK_EQ_STR(tls_verify_reason_name(reason), "hostname_mismatch");
	/* DNS names: case-insensitive, a trailing dot is the same name */
	CHECK_EQ_INT(connect_named(&c_ip4, "LocalHost", NULL, 0, &reason), 1);
	CHECK_EQ_INT(connect_named(&c_ip4, "localhost.", NULL, 0, &reason), 1);
	CHECK_EQ_INT(connect_named(&c_ip4, "localhost..", NULL, 0, &reason), 0);
	tls_creds_free(&c_ip4);
	tls_creds_free(&c_ip6);
	tls_creds_free(&c_dnsip);
}

/* Drive the verifier by hand as the engine would. */
static void feed_cert(struct tls_verifier *v, const unsigned char *der, size_t len)
{
	v->vtable->start_cert(&v->vtable, (uint32_t)len);
	v->vtable->append(&v->vtable, der, len);
	v->vtable->end_cert(&v->vtable);
}

/* The peer key is released only after end_chain() accepted the chain:
 * BearSSL's own get_pkey answers as soon as an anchor verified a certificate
 * (and after NOT_TRUSTED), before our pin, EKU and revocation checks. */
static void test_verifier_decides_before_key(void)
{
	static struct tls_verifier v;
	static struct tls_trust wrongpin;
	unsigned usages = 0;
	fake_now = t0;
	tls_verifier_init(&v, &tr_client);
	v.vtable->start_chain(&v.vtable, "localhost");
	feed_cert(&v, srv.der, srv.der_len);
	CHECK(v.vtable->get_pkey(&v.vtable, &usages) == NULL);   /* no decision yet */
	CHECK_EQ_INT((int)v.vtable->end_chain(&v.vtable), 0);
	CHECK(v.vtable->get_pkey(&v.vtable, &usages) != NULL);
	/* a new chain starts undecided again */
	v.vtable->start_chain(&v.vtable, "localhost");
	feed_cert(&v, srv.der, srv.der_len);
	CHECK(v.vtable->get_pkey(&v.vtable, &usages) == NULL);
	tls_verifier_release(&v);

	/* a refused chain never yields the key */
	CHECK_EQ_INT(tls_trust_load_ca_pem(&wrongpin, ca1.cert, ca1.cert_len, TLS_PEER_SERVER), 0);
	CHECK_EQ_INT(tls_trust_add_pin(&wrongpin,
	    "sha256:1111111111111111111111111111111111111111111111111111111111111111"), 0);
	wrongpin.now = now_fn;
	tls_verifier_init(&v, &wrongpin);
	v.vtable->start_chain(&v.vtable, "localhost");
	feed_cert(&v, srv.der, srv.der_len);
	CHECK_EQ_INT((int)v.vtable->end_chain(&v.vtable), TLS_ERR_PIN_MISMATCH);
	CHECK(v.vtable->get_pkey(&v.vtable, &usages) == NULL);
	/* an unknown-CA chain: BearSSL would still hand out the key */
	tls_verifier_init(&v, &tr_client_ca2);
	v.vtable->start_chain(&v.vtable, "localhost");
	feed_cert(&v, srv.der, srv.der_len);
	CHECK_EQ_INT((int)v.vtable->end_chain(&v.vtable), BR_ERR_X509_NOT_TRUSTED);
	CHECK(v.vtable->get_pkey(&v.vtable, &usages) == NULL);
	/* a server certificate checked without any name is refused */
	tls_verifier_init(&v, &tr_client);
	v.vtable->start_chain(&v.vtable, NULL);
	feed_cert(&v, srv.der, srv.der_len);
	CHECK_EQ_INT((int)v.vtable->end_chain(&v.vtable), BR_ERR_X509_BAD_SERVER_NAME);
	CHECK_EQ_STR(tls_verify_reason_name(v.res.reason), "hostname_mismatch");
	CHECK(v.vtable->get_pkey(&v.vtable, &usages) == NULL);
	/* zero certificates */
	tls_verifier_init(&v, &tr_client);
	v.vtable->start_chain(&v.vtable, "localhost");
	CHECK(v.vtable->end_chain(&v.vtable) != 0);
	CHECK_EQ_STR(tls_verify_reason_name(v.res.reason), "no_certificate");
	CHECK(v.vtable->get_pkey(&v.vtable, &usages) == NULL);
	tls_verifier_release(&v);
	tls_trust_free(&wrongpin);
}

/* A client that drips a request one byte at a time, each within the I/O
 * timeout, is cut off by the whole-request deadline. */
static void test_http_request_deadline(void)
{
	static const struct http_route routes[] = {
		{ "POST", "/v1/agent/heartbeat", h_whoami },
	};
	static struct tls_client cl;
	struct http_limits lim;
	int sp[2];
	http_limits_default(&lim);
	fake_now = t0;
	unsigned saved_io = server.io_timeout_ms;
	server.io_timeout_ms = 2000;
	CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct tls_conn *sc = NULL;
		struct http_server_opts o = { routes, 1, lim, 0, NULL, NULL, 400 };
		close(sp[0]);
		alarm(20);
		if (tls_conn_server(&server, sp[1], &sc, NULL) || tls_conn_handshake(sc))
			_exit(2);
		uint64_t t = time_mono_ms();
		int r = http_serve_conn(sc, &o, "test");
		t = time_mono_ms() - t;
		tls_conn_free(sc);
		/* the I/O timeout (2 s) never expires between the drips */
		_exit(r == -ETIMEDOUT && t >= 350 && t < 1800 ? 0 : 3);
	}
	close(sp[1]);
	server.io_timeout_ms = saved_io;
	tls_client_init(&cl, &tr_client, &c_cli, "localhost");
	struct tls_conn *c = NULL;
	CHECK_EQ_INT(tls_conn_client(&cl, sp[0], &c, NULL), 0);
	if (!c)
		return;
	CHECK_EQ_INT(tls_conn_handshake(c), 0);
	const char *req = "POST /v1/agent/heartbeat HTTP/1.1\r\nHost: a\r\nX-Slow: ";
	CHECK_EQ_INT(tls_conn_write_all(c, req, strlen(req)), 0);
	for (int i = 0; i < 30; i++) {   /* 3 s of drip at most */
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		nanosleep(&ts, NULL);
		if (tls_conn_write_all(c, "a", 1) != 0)
			break;
		int st;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
			pid = -1;
			break;
		}
	}
	if (pid > 0) {
		int st = -1;
		CHECK_EQ_INT(waitpid(pid, &st, 0), pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	tls_conn_free(c);
	tls_client_free(&cl);
}

/* An unanchored chain longer than TLS_VERIFY_MAX_CHAIN is refused without
 * BearSSL checking a signature per certificate; shorter ones keep their
 * reason, and certificates after the anchor do not count. */
static void test_chain_length_cap(void)
{
	static struct tls_verifier v;
	fake_now = t0;
	/* leaf + its CA, the CA not trusted: unknown_ca.  (More copies of our
	 * CA would hit its pathLenConstraint 0, which BearSSL enforces; an
	 * attacker's own CAs have none.) */
	tls_verifier_init(&v, &tr_client_ca2);
	v.vtable->start_chain(&v.vtable, "localhost");
	feed_cert(&v, srv.der, srv.der_len);
	feed_cert(&v, ca1.der, ca1.der_len);
	CHECK_EQ_INT((int)v.vtable->end_chain(&v.vtable), BR_ERR_X509_NOT_TRUSTED);
	CHECK_EQ_STR(tls_verify_reason_name(v.res.reason), "unknown_ca");
	/* leaf + 40 copies: over the cap */
	v.vtable->start_chain(&v.vtable, "localhost");
	feed_cert(&v, srv.der, srv.der_len);
	for (int i = 0; i < 40; i++)
		feed_cert(&v, ca1.der, ca1.der_len);
	CHECK_EQ_INT((int)v.vtable->end_chain(&v.vtable), BR_ERR_X509_LIMIT_EXCEEDED);
	CHECK_EQ_STR(tls_verify_reason_name(v.res.reason), "bad_certificate");
	CHECK(v.n_path <= TLS_VERIFY_MAX_CHAIN);
	tls_verifier_release(&v);
	/* trusted CA: copies after the anchored leaf are ignored, not counted */
	tls_verifier_init(&v, &tr_client);
	v.vtable->start_chain(&v.vtable, "localhost");
	feed_cert(&v, srv.der, srv.der_len);
	for (int i = 0; i < 40; i++)
		feed_cert(&v, ca1.der, ca1.der_len);
	CHECK_EQ_INT((int)v.vtable->end_chain(&v.vtable), 0);
	tls_verifier_release(&v);
}

/* Server name rules (RFC 6125 6.4): SANs only, never the subject CN (BearSSL
 * falls back to the CN when there is no SAN extension); wildcards only as a whole
 * left-most label, over at least two more labels, for exactly one label. */
static void test_dns_name_rules(void)
{
	static const struct { const char *pat, *name; int want; } cases[] = {
		{ "orch.example.test", "orch.example.test", 1 },
		{ "ORCH.example.test", "orch.EXAMPLE.test", 1 },
		{ "orch.example.test.", "orch.example.test", 1 },
		{ "orch.example.test", "orch.example.test.", 1 },
		{ "orch.example.test", "orch.example.tes", 0 },
		{ "orch.example.test", "xorch.example.test", 0 },
		{ "*.example.test", "a.example.test", 1 },
		{ "*.example.test", "A-1.Example.Test", 1 },
		{ "*.example.test", "example.test", 0 },
		{ "*.example.test", "a.b.example.test", 0 },
		{ "*.example.test", ".example.test", 0 },
		{ "*.example.test", "*.example.test", 0 },
		{ "*.test", "a.test", 0 },
		{ "*.", "a.", 0 },
		{ "*", "a", 0 },
		{ "o*.example.test", "orch.example.test", 0 },
		{ "*o.example.test", "o.example.test", 0 },
		{ "", "a", 0 },
		{ "a", "", 0 },
		{ "a", ".", 0 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = tls_dns_name_match(cases[i].pat, strlen(cases[i].pat), cases[i].name);
		if (got != cases[i].want) {
			printf("  %s vs %s: got %d\n", cases[i].pat, cases[i].name, got);
			harness_cur_failed = 1;
		}
	}
	/* a certificate with the name only as its CN (no SAN extension) */
	static struct pemkey cnonly, wild;
	static struct tls_creds c_cnonly, c_wild;
	static const char *const n_w[] = { "dns:*.example.test" };
	int reason = -1;
	CHECK_EQ_INT(make_server_sans(&cnonly, NULL, 0), 0);   /* CN is "orchestrator" */
	CHECK_EQ_INT(make_server_sans(&wild, n_w, 1), 0);
	CHECK_EQ_INT(creds_of(&c_cnonly, &cnonly), 0);
	CHECK_EQ_INT(creds_of(&c_wild, &wild), 0);
	CHECK_EQ_INT(connect_named(&c_cnonly, "orchestrator", NULL, 0, &reason), 0);
	CHECK_EQ_STR(tls_verify_reason_name(reason), "hostname_mismatch");
	CHECK_EQ_INT(connect_named(&c_wild, "orch.example.test", NULL, 0, &reason), 1);
	CHECK_EQ_INT(connect_named(&c_wild, "example.test", NULL, 0, &reason), 0);
	/* "*.test" would cover every name under a suffix: not a match */
	static struct pemkey broad;
	static struct tls_creds c_broad;
	static const char *const n_b[] = { "dns:*.test" };
	CHECK_EQ_INT(make_server_sans(&broad, n_b, 1), 0);
	CHECK_EQ_INT(creds_of(&c_broad, &broad), 0);
	CHECK_EQ_INT(connect_named(&c_broad, "a.test", NULL, 0, &reason), 0);
	CHECK_EQ_STR(tls_verify_reason_name(reason), "hostname_mismatch");
	tls_creds_free(&c_broad);
	tls_creds_free(&c_cnonly);
	tls_creds_free(&c_wild);
}

/* A saved client session is offered only to the same server name, trust
 * and client certificate: a resumed handshake skips every certificate
 * check, on both sides. */
static void test_session_bound_to_context(void)
{
	static struct tls_client cl;
	static struct tls_server sv;
	struct pair p;
	fake_now = t0;
	revoke_all = 0;
	CHECK_EQ_INT(tls_server_init(&sv, &tr_server, &c_srv, 8), 0);
	tls_client_init(&cl, &tr_client, &c_cli, "localhost");
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(ok_pair(&p));
	pair_free(&p);
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(ok_pair(&p) && tls_conn_resumed(p.c));                 /* the control */
	pair_free(&p);
	/* another server name: full handshake, and the name is checked */
	snprintf(cl.server_name, sizeof(cl.server_name), "other.example");
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(!ok_pair(&p));
	CHECK(p.c && tls_conn_failure(p.c)->verify_reason == TLS_VR_HOSTNAME_MISMATCH);
	pair_free(&p);
	/* back to the right name: a session again, then our certificate
	 * changes (rotation): the server must see the new one */
	snprintf(cl.server_name, sizeof(cl.server_name), "localhost");
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(ok_pair(&p));
	pair_free(&p);
	CHECK(cl.have_session);
	cl.creds = &c_cli_noid;                        /* no URI identity: refused */
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(!ok_pair(&p));
	CHECK(p.s && tls_conn_failure(p.s)->verify_reason == TLS_VR_NO_IDENTITY);
	pair_free(&p);
	/* other pins: full handshake under the new pin set */
	static struct tls_trust other;
	cl.creds = &c_cli;
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(ok_pair(&p));
	pair_free(&p);
	CHECK_EQ_INT(tls_trust_load_ca_pem(&other, ca1.cert, ca1.cert_len, TLS_PEER_SERVER), 0);
	CHECK_EQ_INT(tls_trust_add_pin(&other,
	    "sha256:3333333333333333333333333333333333333333333333333333333333333333"), 0);
	other.now = now_fn;
	cl.trust = &other;
	CHECK_EQ_INT(pair_run(&cl, &sv, &p), 0);
	CHECK(!ok_pair(&p));
	CHECK(p.c && tls_conn_failure(p.c)->verify_reason == TLS_VR_PIN_MISMATCH);
	pair_free(&p);
	tls_trust_free(&other);
	tls_server_free(&sv);
	tls_client_free(&cl);
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "server") == 0)
		return peer_server(argc, argv);
	if (argc > 1 && strcmp(argv[1], "client") == 0)
		return peer_client(argc, argv);
	if (argc > 1 && strcmp(argv[1], "bench") == 0)
		return peer_bench(argc, argv);
	int rc = setup();
	if (rc) {
		printf("FAIL - setup (%d)\n", rc);
		return 1;
	}
	RUN(test_err_names);
	RUN(test_mtls_and_resumption);
	RUN(test_client_refusals);
	RUN(test_pin_only_validated_path);
	RUN(test_server_refusals);
	RUN(test_failure_events);
	RUN(test_no_client_auth_listener);
	RUN(test_creds_and_config);
	RUN(test_timeouts);
	RUN(test_http_over_tls);
	RUN(test_ip_literal_server_name);
	RUN(test_verifier_decides_before_key);
	RUN(test_http_request_deadline);
	RUN(test_chain_length_cap);
	RUN(test_dns_name_rules);
	RUN(test_session_bound_to_context);
	return HARNESS_EXIT();
}
