/* Unit tests for src/crypto/csr.c: build, parse, self-signature. */
#include "harness.h"

#include "base/util.h"
#include "crypto/csr.h"
#include "crypto/key.h"
#include "crypto/pem.h"

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
	key_wipe(&key);
	return HARNESS_EXIT();
}
