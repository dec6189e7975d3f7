/* Unit tests for src/crypto/csr.c: build, parse, self-signature. */
#include "harness.h"

#include "base/util.h"
#include "crypto/csr.h"
#include "crypto/key.h"
#include "crypto/pem.h"
#include "crypto/der.h"
#include "crypto/x509_internal.h"

static struct key_p256 key;

static void
test_build_parse_roundtrip(void)
{
	struct x509_sans sans;
	struct csr_info ci;
	unsigned char *der = NULL;
	size_t len = 0;

	memset(&sans, 0, sizeof(sans));
	CHECK_EQ_INT(x509_sans_add_dns(&sans, "agent.example"), 0);
	CHECK_EQ_INT(x509_sans_add_ip(&sans, "192.0.2.1"), 0);
	CHECK_EQ_INT(x509_sans_add_uri(&sans, "spiffe://td/tenant/t/agent/a"), 0);
	CHECK_EQ_INT(csr_build(&key, "agent-a", &sans, &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), 0);
	CHECK_EQ_STR(ci.cn, "agent-a");
	CHECK_EQ_STR(ci.subject, "CN=agent-a");
	CHECK(memcmp(ci.pub, key.pub, 65) == 0);
	CHECK_EQ_INT(ci.sans.n, 3);
	CHECK_EQ_STR(ci.sans.san[0].val, "agent.example");
	CHECK_EQ_INT(ci.sans.san[1].type, X509_SAN_IP);
	CHECK_EQ_STR(ci.sans.san[2].val, "spiffe://td/tenant/t/agent/a");
	free(der);

	CHECK_EQ_INT(csr_build(&key, "no-sans", NULL, &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), 0);
	CHECK_EQ_INT(ci.sans.n, 0);
	free(der);
}

static void
test_tampering_detected(void)
{
	unsigned char *der = NULL, *p;
	size_t len = 0;
	struct csr_info ci;

	CHECK_EQ_INT(csr_build(&key, "agent-a", NULL, &der, &len), 0);
	/* Change the CN: the signature no longer covers the content. */
	p = memmem(der, len, "agent-a", 7);
	CHECK(p != NULL);
	if (p != NULL) {
		p[6] = 'b';
		CHECK_EQ_INT(csr_parse(der, len, &ci), CSR_E_SIGNATURE);
		p[6] = 'a';
	}
	CHECK_EQ_INT(csr_parse(der, len, &ci), 0);
	der[len - 1] ^= 0x40;
	CHECK(csr_parse(der, len, &ci) < 0);
	free(der);
}

static void
test_truncations_and_garbage(void)
{
	unsigned char *der = NULL, junk[64];
	size_t len = 0, i;
	struct csr_info ci;
	int fails = 0;

	CHECK_EQ_INT(csr_build(&key, "agent-a", NULL, &der, &len), 0);
	for (i = 0; i < len; i++)
		fails += csr_parse(der, i, &ci) < 0;
	CHECK_EQ_INT(fails, len);
	memset(junk, 0x30, sizeof(junk));
	CHECK(csr_parse(junk, sizeof(junk), &ci) < 0);
	CHECK_EQ_INT(csr_parse(der, CSR_MAX_DER + 1, &ci), CSR_E_TOO_BIG);
	free(der);
}

static void
test_bad_arguments(void)
{
	unsigned char *der = NULL;
	size_t len = 0;

	CHECK_EQ_INT(csr_build(&key, "", NULL, &der, &len), CSR_E_ARG);
	CHECK_EQ_INT(csr_build(&key, "bad\ncn", NULL, &der, &len), CSR_E_ARG);
	CHECK(der == NULL);
}

/* A request made by `openssl req -new -newkey ec -pkeyopt
 * ec_paramgen_curve:P-256 -subj /CN=openssl -addext subjectAltName=DNS:o.example`. */
static const char openssl_csr[] =
    "-----BEGIN CERTIFICATE REQUEST-----\n"
    "MIHzMIGbAgEAMBIxEDAOBgNVBAMMB29wZW5zc2wwWTATBgcqhkjOPQIBBggqhkjO\n"
    "PQMBBwNCAASpGRhTfvHsA8qMAxSAudSadtRm+t8C9uZjFjHE9G+zAbHUsEkGbxSm\n"
    "Ze4yzy7rD98Sg8trYQu7xHzeYbLUIHHToCcwJQYJKoZIhvcNAQkOMRgwFjAUBgNV\n"
    "HREEDTALgglvLmV4YW1wbGUwCgYIKoZIzj0EAwIDRwAwRAIgIMpSQaSJogzQVXiZ\n"
    "F7TmU0HcHaJFUX7Cb0a/6l/Wbh8CIAxaj1nM/nQDwKfzucvJTgiVARV0bNgx23A3\n"
    "gtM5ocuW\n"
    "-----END CERTIFICATE REQUEST-----\n";

static void
test_pem_extraction(void)
{
	unsigned char *der = NULL, *d2 = NULL;
	size_t len = 0, l2 = 0, plen = 0;
	char *pem = NULL;

	CHECK_EQ_INT(csr_build(&key, "agent-a", NULL, &der, &len), 0);
	CHECK_EQ_INT(pem_encode("CERTIFICATE REQUEST", der, len, &pem, &plen), 0);
	CHECK_EQ_INT(csr_der_from_pem(pem, plen, &d2, &l2), 0);
	CHECK(l2 == len && memcmp(d2, der, len) == 0);
	CHECK_EQ_INT(csr_der_from_pem("x", 1, &d2, &l2), CSR_E_PEM);
	free(pem);
	free(der);
	free(d2);
}

static void
test_openssl_request(void)
{
	unsigned char *der = NULL;
	size_t len = 0;
	struct csr_info ci;

	CHECK_EQ_INT(csr_der_from_pem(openssl_csr, strlen(openssl_csr), &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), 0);
	CHECK_EQ_STR(ci.cn, "openssl");
	CHECK_EQ_INT(ci.sans.n, 1);
	CHECK_EQ_STR(ci.sans.san[0].val, "o.example");
	free(der);
}

/* A signed request whose extensionRequest holds `n_san` SAN extensions, the
 * first one with an explicit critical flag `crit` (-1: absent), and
 * `n_req` extensionRequest attributes. */
static int
odd_request(int n_san, int crit, int n_req, unsigned char **der, size_t *len)
{
	static const unsigned char oid_ext_req[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
		0x09, 0x0e };
	static const unsigned char oid_san[] = { 0x55, 0x1d, 0x11 };
	struct x509_sans s1, s2;
	struct der_buf b;
	unsigned char *cri = NULL;
	size_t cri_len = 0, m, a;
	int r;

	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	if (x509_sans_add_dns(&s1, "good.example") || x509_sans_add_dns(&s2, "evil.example"))
		return -1;
	der_buf_init(&b);
	m = der_begin(&b, DER_SEQUENCE);
	der_put_uint(&b, 0);
	x509_put_name(&b, NULL, "agent-a");
	x509_put_spki(&b, key.pub);
	a = der_begin(&b, DER_CTX_C(0));
	for (int q = 0; q < n_req; q++) {
		size_t at = der_begin(&b, DER_SEQUENCE), set, exts;
		der_put_oid(&b, oid_ext_req, sizeof(oid_ext_req));
		set = der_begin(&b, DER_SET);
		exts = der_begin(&b, DER_SEQUENCE);
		for (int i = 0; i < n_san; i++) {
			size_t ext = der_begin(&b, DER_SEQUENCE), oct;
			der_put_oid(&b, oid_san, sizeof(oid_san));
			if (i == 0 && crit >= 0)
				der_put_bool(&b, crit);
			oct = der_begin(&b, DER_OCTET_STRING);
			x509_put_sans(&b, i == 0 ? &s1 : &s2);
			der_end(&b, oct);
			der_end(&b, ext);
		}
		der_end(&b, exts);
		der_end(&b, set);
		der_end(&b, at);
	}
	der_end(&b, a);
	der_end(&b, m);
	if (der_buf_finish(&b, &cri, &cri_len) != DER_OK)
		return -1;
	r = x509_sign_wrap(&key, cri, cri_len, der, len);
	free(cri);
	return r;
}

/* The extension request must be DER and unambiguous: one SAN extension,
 * one extensionRequest, "critical" only ever encoded as TRUE. */
static void
test_ambiguous_extension_request(void)
{
	unsigned char *der = NULL;
	size_t len = 0;
	struct csr_info ci;

	CHECK_EQ_INT(odd_request(1, -1, 1, &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), 0);           /* the control */
	CHECK_EQ_INT(ci.sans.n, 1);
	free(der);
	CHECK_EQ_INT(odd_request(1, 1, 1, &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), 0);           /* critical TRUE is fine */
	free(der);
	CHECK_EQ_INT(odd_request(2, -1, 1, &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), CSR_E_DER);   /* two SAN extensions */
	free(der);
	CHECK_EQ_INT(odd_request(1, -1, 2, &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), CSR_E_DER);   /* two extensionRequests */
	free(der);
	CHECK_EQ_INT(odd_request(1, 0, 1, &der, &len), 0);
	CHECK_EQ_INT(csr_parse(der, len, &ci), CSR_E_DER);   /* DEFAULT FALSE encoded */
	free(der);
}

/* The self-signature must be strict DER: the same (r, s) with a redundant
 * zero octet in r still verifies with BearSSL's lenient decoder. */
static void
test_signature_must_be_der(void)
{
	unsigned char *der = NULL, *out = NULL, nsig[80];
	size_t len = 0, olen = 0, m;
	struct der_cursor top, req, sc;
	struct der_tlv t, cri, alg, bits, seq, r, sv;
	const unsigned char *sp;
	size_t sl;
	struct csr_info ci;
	struct der_buf b;

	CHECK_EQ_INT(csr_build(&key, "agent-a", NULL, &der, &len), 0);
	der_cursor_init(&top, der, len);
	CHECK_EQ_INT(der_expect(&top, DER_SEQUENCE, &t), 0);
	CHECK_EQ_INT(der_enter(&top, &t, &req), 0);
	CHECK_EQ_INT(der_expect(&req, DER_SEQUENCE, &cri), 0);
	CHECK_EQ_INT(der_expect(&req, DER_SEQUENCE, &alg), 0);
	CHECK_EQ_INT(der_expect(&req, DER_BIT_STRING, &bits), 0);
	CHECK_EQ_INT(der_get_bitstring_bytes(&bits, &sp, &sl), 0);
	der_cursor_init(&sc, sp, sl);
	CHECK_EQ_INT(der_expect(&sc, DER_SEQUENCE, &seq), 0);
	CHECK_EQ_INT(der_enter(&sc, &seq, &sc), 0);
	CHECK_EQ_INT(der_expect(&sc, DER_INTEGER, &r), 0);
	CHECK_EQ_INT(der_expect(&sc, DER_INTEGER, &sv), 0);
	/* SEQUENCE { INTEGER 00 || r, INTEGER s } with short lengths */
	size_t inner = 2 + r.len + 1 + 2 + sv.len, n = 0;
	CHECK(inner < 0x80);
	nsig[n++] = 0x30;
	nsig[n++] = (unsigned char)inner;
	nsig[n++] = 0x02;
	nsig[n++] = (unsigned char)(r.len + 1);
	nsig[n++] = 0x00;
	memcpy(nsig + n, r.val, r.len);
	n += r.len;
	nsig[n++] = 0x02;
	nsig[n++] = (unsigned char)sv.len;
	memcpy(nsig + n, sv.val, sv.len);
	n += sv.len;
	der_buf_init(&b);
	m = der_begin(&b, DER_SEQUENCE);
	der_put_raw(&b, cri.raw, cri.raw_len);
	der_put_raw(&b, alg.raw, alg.raw_len);
	der_put_bitstring(&b, nsig, n);
	der_end(&b, m);
	CHECK_EQ_INT(der_buf_finish(&b, &out, &olen), DER_OK);
	CHECK_EQ_INT(csr_parse(der, len, &ci), 0);
	CHECK_EQ_INT(csr_parse(out, olen, &ci), CSR_E_SIGNATURE);
	free(out);
	free(der);
}

int
main(void)
{
	if (key_generate(&key) != 0)
		return 1;
	RUN(test_build_parse_roundtrip);
	RUN(test_tampering_detected);
	RUN(test_truncations_and_garbage);
	RUN(test_bad_arguments);
	RUN(test_pem_extraction);
	RUN(test_openssl_request);
	RUN(test_ambiguous_extension_request);
	RUN(test_signature_must_be_der);
	key_wipe(&key);
	return HARNESS_EXIT();
}
