/* Unit tests for src/crypto/x509.c: pins, issuing, parsing, verification. */
#include "harness.h"

#include <time.h>

#include "base/util.h"
#include "crypto/der.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "crypto/x509.h"
#include "crypto/x509_internal.h"

static struct key_p256 ca_key, leaf_key;
static unsigned char *ca_der;
static size_t ca_len;
static int64_t now;

static void
setup(void)
{
	struct x509_issue_req req;

	now = (int64_t)time(NULL);
	if (key_generate(&ca_key) != 0 || key_generate(&leaf_key) != 0)
		abort();
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_CA;
	req.cn = "Unit CA";
	req.org = "Stavily";
	x509_validity(now, 3650, &req.not_before, &req.not_after);
	if (x509_issue_ca(&ca_key, &req, &ca_der, &ca_len) != 0)
		abort();
}

static int
issue_leaf(int profile, int64_t nb, int64_t na, const struct x509_sans *sans, unsigned char **der,
    size_t *len)
{
	struct x509_issue_req req;

	memset(&req, 0, sizeof(req));
	req.profile = profile;
	req.cn = "agent-7";
	req.pub = leaf_key.pub;
	req.sans = sans;
	req.not_before = nb;
	req.not_after = na;
	return x509_issue_leaf(&ca_key, ca_der, ca_len, &req, der, len);
}

static void
test_pin_format_parse(void)
{
	unsigned char pin[32], back[32];
	char s[X509_PIN_STR_LEN];
	size_t i;

	for (i = 0; i < 32; i++)
		pin[i] = (unsigned char)(i * 9 + 1);
	CHECK_EQ_INT(x509_pin_format(pin, s), 0);
	CHECK_EQ_INT(strlen(s), 7 + 64);
	CHECK(strncmp(s, "sha256:", 7) == 0);
	CHECK_EQ_INT(x509_pin_parse(s, back), 0);
	CHECK(memcmp(pin, back, 32) == 0);
	for (i = 7; s[i]; i++)
		if (s[i] >= 'a' && s[i] <= 'f')
			s[i] = (char)(s[i] - 32);
	CHECK_EQ_INT(x509_pin_parse(s, back), 0);     /* upper-case hex accepted */
	CHECK(memcmp(pin, back, 32) == 0);
	CHECK_EQ_INT(x509_pin_parse("sha1:00", back), X509_E_PIN);
	CHECK_EQ_INT(x509_pin_parse("sha256:abcd", back), X509_E_PIN);
	CHECK_EQ_INT(x509_pin_parse(NULL, back), X509_E_PIN);
	{
		char longer[X509_PIN_STR_LEN + 8];
		x509_pin_format(pin, longer);
		strcat(longer, "0");
		CHECK_EQ_INT(x509_pin_parse(longer, back), X509_E_PIN);
	}
	x509_pin_format(pin, s);
	s[20] = 'g';
	CHECK_EQ_INT(x509_pin_parse(s, back), X509_E_PIN);
}

static void
test_ca_profile(void)
{
	struct x509_info ci;
	unsigned char pin[32];

	CHECK_EQ_INT(x509_parse(ca_der, ca_len, &ci), 0);
	CHECK_EQ_INT(ci.version, 3);
	CHECK(ci.has_bc && ci.bc_critical && ci.is_ca);
	CHECK_EQ_INT(ci.pathlen, 0);
	CHECK(ci.has_ku && ci.ku_critical);
	CHECK_EQ_INT(ci.ku, X509_KU_KEY_CERT_SIGN | X509_KU_CRL_SIGN);
	CHECK(!ci.has_eku);
	CHECK(ci.has_ski && ci.ski_len == 20);
	CHECK(ci.key_p256 && memcmp(ci.pub, ca_key.pub, 65) == 0);
	CHECK(ci.sig_ecdsa_sha256);
	CHECK_EQ_STR(ci.subject, "O=Stavily, CN=Unit CA");
	CHECK_EQ_STR(ci.issuer, ci.subject);
	CHECK_EQ_STR(ci.subject_cn, "Unit CA");
	CHECK_EQ_INT(ci.not_before, now - X509_BACKDATE_SECONDS);
	CHECK_EQ_INT(ci.not_after, now + 3650LL * 86400);
	CHECK_EQ_INT(x509_check_signature(&ci, ca_key.pub), 0);
	CHECK_EQ_INT(x509_check_signature(&ci, leaf_key.pub), X509_E_SIG);
	CHECK_EQ_INT(x509_spki_pin(ca_der, ca_len, pin), 0);
	CHECK(memcmp(pin, ci.pin, 32) == 0);
}

static void
test_leaf_profiles(void)
{
	struct x509_sans sans;
	struct x509_info ca, li;
	unsigned char *der = NULL;
	size_t len = 0;
	char uri[200];

	memset(&sans, 0, sizeof(sans));
	CHECK_EQ_INT(x509_agent_uri("stavily.test", "acme", "agent-7", uri, sizeof(uri)), 0);
	CHECK_EQ_STR(uri, "spiffe://stavily.test/tenant/acme/agent/agent-7");
	CHECK_EQ_INT(x509_sans_add_uri(&sans, uri), 0);
	CHECK_EQ_INT(x509_sans_add_dns(&sans, "agent7.example"), 0);
	CHECK_EQ_INT(x509_sans_add_ip(&sans, "10.1.2.3"), 0);
	CHECK_EQ_INT(x509_sans_add_ip(&sans, "2001:db8::1"), 0);
	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now - 300, now + 90 * 86400, &sans, &der, &len), 0);
	CHECK_EQ_INT(x509_parse(ca_der, ca_len, &ca), 0);
	CHECK_EQ_INT(x509_parse(der, len, &li), 0);
	CHECK(li.has_bc && li.bc_critical && !li.is_ca);
	CHECK(li.has_ku && li.ku_critical && li.ku == X509_KU_DIGITAL_SIGNATURE);
	CHECK(li.has_eku && !li.eku_critical && li.eku == X509_EKU_CLIENT_AUTH);
	CHECK(li.has_aki && li.aki_len == 20 && memcmp(li.aki, ca.ski, 20) == 0);
	CHECK(li.has_ski && memcmp(li.ski, ca.ski, 20) != 0);
	CHECK(li.issuer_der_len == ca.subject_der_len &&
	    memcmp(li.issuer_der, ca.subject_der, ca.subject_der_len) == 0);
	CHECK_EQ_INT(li.sans.n, 4);
	CHECK_EQ_INT(li.sans.san[0].type, X509_SAN_URI);
	CHECK_EQ_STR(li.sans.san[0].val, uri);
	CHECK_EQ_INT(li.sans.san[2].type, X509_SAN_IP);
	CHECK_EQ_INT(li.sans.san[2].len, 4);
	CHECK_EQ_INT(li.sans.san[3].len, 16);
	CHECK(li.serial_len >= 14 && li.serial_len <= 16);
	CHECK_EQ_INT(x509_check_signature(&li, ca_key.pub), 0);
	CHECK(memcmp(li.pub, leaf_key.pub, 65) == 0);
	free(der);

	CHECK_EQ_INT(issue_leaf(X509_PROFILE_SERVER, now - 300, now + 86400, NULL, &der, &len), 0);
	CHECK_EQ_INT(x509_parse(der, len, &li), 0);
	CHECK_EQ_INT(li.eku, X509_EKU_SERVER_AUTH);
	CHECK(!li.has_san);
	free(der);
}

static void
test_serials_differ(void)
{
	unsigned char *a = NULL, *b = NULL;
	size_t al = 0, bl = 0;
	struct x509_info ai, bi;

	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now - 300, now + 86400, NULL, &a, &al), 0);
	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now - 300, now + 86400, NULL, &b, &bl), 0);
	CHECK_EQ_INT(x509_parse(a, al, &ai), 0);
	CHECK_EQ_INT(x509_parse(b, bl, &bi), 0);
	CHECK(ai.serial_len != bi.serial_len || memcmp(ai.serial, bi.serial, ai.serial_len) != 0);
	free(a);
	free(b);
}

static void
test_generalized_time_after_2050(void)
{
	unsigned char *der = NULL;
	size_t len = 0;
	struct x509_info li;
	int64_t na = 2600000000LL;     /* 2052 */

	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now, na, NULL, &der, &len), 0);
	CHECK_EQ_INT(x509_parse(der, len, &li), 0);
	CHECK_EQ_INT(li.not_after, na);
	CHECK(memmem(der, len, "\x18\x0f" "2052", 6) != NULL);
	free(der);
}

static void
test_issue_argument_checks(void)
{
	struct key_p256 other;
	struct x509_issue_req req;
	unsigned char *der = NULL;
	size_t len = 0;

	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now, now - 1, NULL, &der, &len), X509_E_ARG);
	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CA, now, now + 1, NULL, &der, &len), X509_E_ARG);
	CHECK_EQ_INT(key_generate(&other), 0);
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_CLIENT;
	req.cn = "x";
	req.pub = leaf_key.pub;
	req.not_before = now;
	req.not_after = now + 10;
	/* a key that is not the CA's */
	CHECK_EQ_INT(x509_issue_leaf(&other, ca_der, ca_len, &req, &der, &len), X509_E_KEY);
	req.cn = "";
	CHECK_EQ_INT(x509_issue_leaf(&ca_key, ca_der, ca_len, &req, &der, &len), X509_E_ARG);
	{
		/* SANs filled by hand are checked too: a NUL inside a DNS name
		 * and an IP of the wrong size are refused. */
		struct x509_sans bad;

		memset(&bad, 0, sizeof(bad));
		bad.n = 1;
		bad.san[0].type = X509_SAN_DNS;
		memcpy(bad.san[0].val, "a\0b", 3);
		bad.san[0].len = 3;
		req.cn = "x";
		req.sans = &bad;
		CHECK_EQ_INT(x509_issue_leaf(&ca_key, ca_der, ca_len, &req, &der, &len), X509_E_ARG);
		bad.san[0].type = X509_SAN_IP;
		CHECK_EQ_INT(x509_issue_leaf(&ca_key, ca_der, ca_len, &req, &der, &len), X509_E_ARG);
		bad.san[0].type = 1;    /* rfc822Name: not issued */
		CHECK_EQ_INT(x509_issue_leaf(&ca_key, ca_der, ca_len, &req, &der, &len), X509_E_ARG);
	}
}

static void
test_san_validation(void)
{
	struct x509_sans s;
	char out[300];
	size_t i;

	memset(&s, 0, sizeof(s));
	CHECK_EQ_INT(x509_sans_add_dns(&s, "a.b-c.example"), 0);
	CHECK_EQ_INT(x509_sans_add_dns(&s, "*.example.com"), 0);
	CHECK_EQ_INT(x509_sans_add_dns(&s, "-bad.example"), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_dns(&s, "bad..example"), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_dns(&s, "bad_.example"), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_dns(&s, "a.*.example"), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_dns(&s, ""), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_ip(&s, "300.1.1.1"), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_uri(&s, "no scheme"), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_uri(&s, "://x"), X509_E_ARG);
	CHECK_EQ_INT(x509_sans_add_ip(&s, "::1"), 0);
	x509_san_format(&s.san[2], out, sizeof(out));
	CHECK_EQ_STR(out, "IP:::1");
	CHECK_EQ_INT(x509_agent_uri("td", "ten/ant", "a", out, sizeof(out)), X509_E_ARG);
	CHECK_EQ_INT(x509_agent_uri("td", "..", "a", out, sizeof(out)), X509_E_ARG);
	CHECK_EQ_INT(x509_agent_uri("td", "t", "", out, sizeof(out)), X509_E_ARG);
	for (i = s.n; i < X509_MAX_SANS; i++)
		CHECK_EQ_INT(x509_sans_add_dns(&s, "x.example"), 0);
	CHECK_EQ_INT(x509_sans_add_dns(&s, "x.example"), X509_E_TOO_MANY);
}

static int
verify(const unsigned char *der, size_t len, int64_t at, unsigned eku)
{
	struct x509_chain chain, cac;
	struct x509_anchors ta;
	int r;

	memset(&chain, 0, sizeof(chain));
	memset(&cac, 0, sizeof(cac));
	chain.certs[0].data = (unsigned char *)der;
	chain.certs[0].data_len = len;
	chain.n = 1;
	cac.certs[0].data = ca_der;
	cac.certs[0].data_len = ca_len;
	cac.n = 1;
	if (x509_anchors_from_chain(&cac, &ta) != 0)
		return -100;
	r = x509_verify_chain(&chain, &ta, at, eku, NULL);
	x509_anchors_free(&ta);
	return r;
}

static void
test_verify_reasons(void)
{
	unsigned char *der = NULL, *other_der = NULL;
	size_t len = 0, olen = 0;
	struct key_p256 saved;
	struct x509_issue_req req;

	CHECK_EQ_INT(issue_leaf(X509_PROFILE_SERVER, now - 300, now + 86400, NULL, &der, &len), 0);
	CHECK_EQ_INT(verify(der, len, now, 0), X509_V_OK);
	CHECK_EQ_INT(verify(der, len, now, X509_EKU_SERVER_AUTH), X509_V_OK);
	CHECK_EQ_INT(verify(der, len, now, X509_EKU_CLIENT_AUTH), X509_V_WRONG_EKU);
	CHECK_EQ_INT(verify(der, len, now + 2 * 86400, 0), X509_V_EXPIRED);
	CHECK_EQ_INT(verify(der, len, now - 3600, 0), X509_V_NOT_YET_VALID);
	der[len - 1] ^= 1;
	CHECK_EQ_INT(verify(der, len, now, 0), X509_V_BAD_SIGNATURE);
	der[len - 1] ^= 1;
	CHECK_EQ_INT(verify(der, len - 1, now, 0), X509_V_MALFORMED);
	free(der);

	/* A leaf from another CA (different name and key). */
	key_copy(&saved, &ca_key);
	CHECK_EQ_INT(key_generate(&ca_key), 0);
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_CA;
	req.cn = "Other CA";
	x509_validity(now, 10, &req.not_before, &req.not_after);
	CHECK_EQ_INT(x509_issue_ca(&ca_key, &req, &other_der, &olen), 0);
	{
		unsigned char *keep = ca_der;
		size_t keep_len = ca_len;

		ca_der = other_der;
		ca_len = olen;
		CHECK_EQ_INT(issue_leaf(X509_PROFILE_SERVER, now - 300, now + 86400, NULL, &der, &len), 0);
		ca_der = keep;
		ca_len = keep_len;
	}
	key_copy(&ca_key, &saved);
	CHECK_EQ_INT(verify(der, len, now, 0), X509_V_UNKNOWN_CA);
	free(der);
	free(other_der);
	CHECK_EQ_STR(x509_verify_name(X509_V_NOT_YET_VALID), "not_yet_valid");
	CHECK_EQ_STR(x509_br_err_name(BR_ERR_X509_EXPIRED), "BR_ERR_X509_EXPIRED");
}

static void
test_chain_pem(void)
{
	unsigned char *leaf = NULL;
	size_t len = 0, p1l = 0, p2l = 0;
	char *p1 = NULL, *p2 = NULL, *both;
	struct x509_chain c;
	struct x509_anchors ta;

	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now - 300, now + 86400, NULL, &leaf, &len), 0);
	CHECK_EQ_INT(pem_encode("CERTIFICATE", leaf, len, &p1, &p1l), 0);
	CHECK_EQ_INT(pem_encode("CERTIFICATE", ca_der, ca_len, &p2, &p2l), 0);
	both = malloc(p1l + p2l + 1);
	memcpy(both, p1, p1l);
	memcpy(both + p1l, p2, p2l + 1);
	CHECK_EQ_INT(x509_chain_from_pem(both, p1l + p2l, &c), 0);
	CHECK_EQ_INT(c.n, 2);
	CHECK_EQ_INT(c.certs[0].data_len, len);
	CHECK(memcmp(c.certs[0].data, leaf, len) == 0);
	CHECK_EQ_INT(x509_anchors_from_chain(&c, &ta), 0);
	CHECK_EQ_INT(ta.n, 2);
	CHECK_EQ_INT(ta.ta[0].flags & BR_X509_TA_CA, 0);
	CHECK(ta.ta[1].flags & BR_X509_TA_CA);
	CHECK_EQ_INT(ta.ta[1].pkey.key_type, BR_KEYTYPE_EC);
	CHECK(ta.ta[1].pkey.key.ec.qlen == 65 && memcmp(ta.ta[1].pkey.key.ec.q, ca_key.pub, 65) == 0);
	x509_anchors_free(&ta);
	x509_chain_free(&c);
	CHECK_EQ_INT(x509_chain_from_pem("junk", 4, &c), X509_E_PEM);
	free(both);
	free(p1);
	free(p2);
	free(leaf);
}

static void
test_parse_truncations_fail_cleanly(void)
{
	struct x509_info ci;
	size_t i;
	int fails = 0;

	for (i = 0; i < ca_len; i++)
		fails += x509_parse(ca_der, i, &ci) < 0;
	CHECK_EQ_INT(fails, ca_len);
}

static void
test_unknown_critical_extension(void)
{
	/* Rewrite the OID of the (critical) keyUsage extension to an unknown
	 * one: RFC 5280 4.2 says such a certificate must be rejected. */
	unsigned char *copy = malloc(ca_len);
	struct x509_info ci;
	unsigned char *p;

	memcpy(copy, ca_der, ca_len);
	p = memmem(copy, ca_len, "\x06\x03\x55\x1d\x0f\x01\x01\xff", 8);
	CHECK(p != NULL);
	if (p != NULL) {
		p[4] = 0x7e;
		CHECK_EQ_INT(x509_parse(copy, ca_len, &ci), X509_E_CRITICAL);
	}
	free(copy);
}

/* A negative serial is refused: as magnitude octets it would collide with a
 * positive serial (revocation is keyed on them).  The signature is not
 * involved: x509_parse refuses the structure. */
static void
test_negative_serial_refused(void)
{
	struct der_cursor top, cert, tbs;
	struct der_tlv t, tb, ver, serial;
	struct x509_info *info = calloc(1, sizeof(*info));
	unsigned char *der = NULL, *v;
	size_t len = 0;

	CHECK(info != NULL);
	if (info == NULL)
		return;
	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now - 60, now + 86400, NULL, &der, &len), 0);
	CHECK_EQ_INT(x509_parse(der, len, info), 0);
	der_cursor_init(&top, der, len);
	CHECK_EQ_INT(der_expect(&top, DER_SEQUENCE, &t), 0);
	CHECK_EQ_INT(der_enter(&top, &t, &cert), 0);
	CHECK_EQ_INT(der_expect(&cert, DER_SEQUENCE, &tb), 0);
	CHECK_EQ_INT(der_enter(&cert, &tb, &tbs), 0);
	CHECK_EQ_INT(der_expect(&tbs, DER_CTX_C(0), &ver), 0);
	CHECK_EQ_INT(der_expect(&tbs, DER_INTEGER, &serial), 0);
	v = der + (serial.val - der);
	if (serial.len == 17) {
		CHECK_EQ_INT(v[0], 0);
		v[0] = 0xfe;            /* still minimal (v[1] has its top bit set) */
	} else {
		CHECK_EQ_INT(serial.len, 16);
		v[0] |= 0x80;
	}
	CHECK_EQ_INT(x509_parse(der, len, info), X509_E_DER);
	/* zero is not positive either, but it cannot collide: accepted for
	 * inspection of other CAs' certificates */
	free(der);
	free(info);
}

/* GeneralNames from a peer: a NUL (or any control/non-ASCII byte) inside a
 * dNSName or URI is refused, not truncated; iPAddress must be 4 or 16
 * octets; other name types are skipped. */
static int
gn_parse(const unsigned char *content, size_t clen, struct x509_sans *sans)
{
	unsigned char buf[300];
	struct der_cursor c;
	struct der_tlv t;

	buf[0] = DER_SEQUENCE;
	buf[1] = (unsigned char)clen;
	memcpy(buf + 2, content, clen);
	memset(sans, 0, sizeof(*sans));
	der_cursor_init(&c, buf, clen + 2);
	if (der_next(&c, &t) != DER_OK)
		return -100;
	return x509_parse_general_names(&c, &t, sans);
}

static void
test_general_names_from_peer(void)
{
	static const unsigned char dns_ok[] = { 0x82, 3, 'a', '.', 'b' };
	static const unsigned char dns_nul[] = { 0x82, 7, 'a', '.', 'b', 0, '.', 'c', 'd' };
	static const unsigned char dns_high[] = { 0x82, 3, 'a', 0xc3, 'b' };
	static const unsigned char uri_nl[] = { 0x86, 4, 'a', ':', '\n', 'b' };
	static const unsigned char ip4[] = { 0x87, 4, 10, 0, 0, 1 };
	static const unsigned char ip5[] = { 0x87, 5, 10, 0, 0, 1, 0 };
	static const unsigned char ip8[] = { 0x87, 8, 10, 0, 0, 1, 255, 255, 255, 0 };
	static const unsigned char ip16[] = { 0x87, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 1 };
	static const unsigned char email_then_dns[] = { 0x81, 3, 'a', '@', 'b', 0x82, 1, 'x' };
	static const unsigned char empty_dns[] = { 0x82, 0 };
	struct x509_sans s;

	CHECK_EQ_INT(gn_parse(dns_ok, sizeof(dns_ok), &s), 0);
	CHECK(s.n == 1 && s.san[0].type == X509_SAN_DNS && strcmp(s.san[0].val, "a.b") == 0);
	CHECK_EQ_INT(gn_parse(dns_nul, sizeof(dns_nul), &s), X509_E_EXT);
	CHECK_EQ_INT(gn_parse(dns_high, sizeof(dns_high), &s), X509_E_EXT);
	CHECK_EQ_INT(gn_parse(uri_nl, sizeof(uri_nl), &s), X509_E_EXT);
	CHECK_EQ_INT(gn_parse(ip4, sizeof(ip4), &s), 0);
	CHECK(s.n == 1 && s.san[0].type == X509_SAN_IP && s.san[0].len == 4);
	CHECK_EQ_INT(gn_parse(ip5, sizeof(ip5), &s), X509_E_EXT);
	/* 8 and 32 octets are name-constraint forms (address + mask) */
	CHECK_EQ_INT(gn_parse(ip8, sizeof(ip8), &s), X509_E_EXT);
	CHECK_EQ_INT(gn_parse(ip16, sizeof(ip16), &s), 0);
	CHECK(s.n == 1 && s.san[0].len == 16);
	CHECK_EQ_INT(gn_parse(email_then_dns, sizeof(email_then_dns), &s), 0);
	CHECK(s.n == 1 && strcmp(s.san[0].val, "x") == 0);
	CHECK(gn_parse(empty_dns, sizeof(empty_dns), &s) < 0);
	CHECK(gn_parse(dns_ok, 0, &s) < 0);                /* SIZE (1..MAX) */
}

/* A malformed OID inside extKeyUsage makes the extension malformed rather
 * than an "unknown purpose" (the TLS verifier then refuses the leaf). */
static void
test_malformed_eku_oid(void)
{
	static const unsigned char client[] = { 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07,
		0x03, 0x02 };
	struct x509_info *info = calloc(1, sizeof(*info));
	unsigned char *der = NULL, *p;
	size_t len = 0;

	CHECK(info != NULL);
	if (info == NULL)
		return;
	CHECK_EQ_INT(issue_leaf(X509_PROFILE_CLIENT, now - 60, now + 86400, NULL, &der, &len), 0);
	CHECK_EQ_INT(x509_parse(der, len, info), 0);
	CHECK_EQ_INT(info->eku, X509_EKU_CLIENT_AUTH);
	p = memmem(der, len, client, sizeof(client));
	CHECK(p != NULL);
	if (p != NULL) {
		p[9] = 0x82;            /* last subidentifier left unterminated */
		CHECK_EQ_INT(x509_parse(der, len, info), X509_E_EXT);
		p[9] = 0x02;
		p[4] = 0x80;            /* 1.3.6.1.5.(0x80 0x05): non-minimal */
		p[5] = 0x05;
		CHECK_EQ_INT(x509_parse(der, len, info), X509_E_EXT);
	}
	free(der);
	free(info);
}

int
main(void)
{
	setup();
	RUN(test_pin_format_parse);
	RUN(test_ca_profile);
	RUN(test_leaf_profiles);
	RUN(test_serials_differ);
	RUN(test_generalized_time_after_2050);
	RUN(test_issue_argument_checks);
	RUN(test_san_validation);
	RUN(test_verify_reasons);
	RUN(test_chain_pem);
	RUN(test_parse_truncations_fail_cleanly);
	RUN(test_unknown_critical_extension);
	RUN(test_negative_serial_refused);
	RUN(test_general_names_from_peer);
	RUN(test_malformed_eku_oid);
	key_wipe(&ca_key);
	free(ca_der);
	return HARNESS_EXIT();
}
