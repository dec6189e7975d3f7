/* Unit tests for src/crypto/base64.c and pem.c: strict decoding. */
#include "harness.h"

#include "base/util.h"
#include "crypto/base64.h"
#include "crypto/pem.h"

static int
b64(const char *s, unsigned char *out, size_t *n)
{
	return base64_decode(s, strlen(s), out, n);
}

static void
test_base64_rfc4648_vectors(void)
{
	static const char *const plain[] = { "", "f", "fo", "foo", "foob", "fooba", "foobar" };
	static const char *const enc[] = { "", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy" };
	unsigned char out[16];
	char e[16];
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(plain); i++) {
		CHECK_EQ_INT(base64_encode(plain[i], strlen(plain[i]), e), strlen(enc[i]));
		CHECK_EQ_STR(e, enc[i]);
		CHECK_EQ_INT(b64(enc[i], out, &n), 0);
		CHECK_EQ_INT(n, strlen(plain[i]));
		CHECK(memcmp(out, plain[i], n) == 0);
	}
}

static void
test_base64_rejects(void)
{
	unsigned char out[16];
	size_t n;

	CHECK_EQ_INT(b64("Zm9", out, &n), -1);        /* not a multiple of 4 */
	CHECK_EQ_INT(b64("Zm9v!A==", out, &n), -1);   /* bad character */
	CHECK_EQ_INT(b64("Zm 9v", out, &n), -1);      /* whitespace */
	CHECK_EQ_INT(b64("Zm9-", out, &n), -1);       /* base64url alphabet */
	CHECK_EQ_INT(b64("Zg=a", out, &n), -1);       /* padding then data */
	CHECK_EQ_INT(b64("Zg==Zg==", out, &n), -1);   /* padding in the middle */
	CHECK_EQ_INT(b64("Zh==", out, &n), -1);       /* non-zero pad bits */
	CHECK_EQ_INT(b64("Zm9=", out, &n), -1);       /* non-zero pad bits */
	CHECK_EQ_INT(b64("Z===", out, &n), -1);
	CHECK_EQ_INT(b64("====", out, &n), -1);
	CHECK_EQ_INT(b64("Zg", out, &n), -1);         /* missing padding */
}

static const char cert_pem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "Zm9vYmFy\n"
    "-----END CERTIFICATE-----\n";

static void
test_pem_basic(void)
{
	struct pem_list l;
	char *enc = NULL;
	size_t elen = 0;

	CHECK_EQ_INT(pem_decode(cert_pem, strlen(cert_pem), &l), PEM_OK);
	CHECK_EQ_INT(l.n, 1);
	CHECK_EQ_STR(l.obj[0].label, "CERTIFICATE");
	CHECK_EQ_INT(l.obj[0].len, 6);
	CHECK(memcmp(l.obj[0].der, "foobar", 6) == 0);
	pem_list_free(&l);
	CHECK_EQ_INT(pem_encode("CERTIFICATE", "foobar", 6, &enc, &elen), 0);
	CHECK_EQ_STR(enc, cert_pem);
	CHECK_EQ_INT(elen, strlen(cert_pem));
	free(enc);
}

static void
test_pem_multi_with_text_and_crlf(void)
{
	const char *t =
	    "subject=CN = x\r\n"
	    "-----BEGIN CERTIFICATE-----\r\n"
	    "Zm9v\r\n"
	    "YmFy  \r\n"
	    "-----END CERTIFICATE-----\r\n"
	    "some text between\n"
	    "-----BEGIN PRIVATE KEY-----\n"
	    "Zg==\n"
	    "-----END PRIVATE KEY-----";
	struct pem_list l;

	CHECK_EQ_INT(pem_decode(t, strlen(t), &l), PEM_OK);
	CHECK_EQ_INT(l.n, 2);
	CHECK_EQ_STR(l.obj[0].label, "CERTIFICATE");
	CHECK_EQ_INT(l.obj[0].len, 6);
	CHECK_EQ_STR(l.obj[1].label, "PRIVATE KEY");
	CHECK_EQ_INT(l.obj[1].len, 1);
	pem_list_free(&l);
}

static void
test_pem_long_body_roundtrip(void)
{
	unsigned char data[1000];
	struct pem_list l;
	char *enc = NULL;
	size_t elen = 0, i;

	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	CHECK_EQ_INT(pem_encode("X", data, sizeof(data), &enc, &elen), 0);
	/* 64-character lines */
	CHECK(strchr(enc, '\n') - enc == (long)strlen("-----BEGIN X-----"));
	CHECK(strchr(strchr(enc, '\n') + 1, '\n') - strchr(enc, '\n') == 65);
	CHECK_EQ_INT(pem_decode(enc, elen, &l), PEM_OK);
	CHECK_EQ_INT(l.obj[0].len, sizeof(data));
	CHECK(memcmp(l.obj[0].der, data, sizeof(data)) == 0);
	pem_list_free(&l);
	free(enc);
}

static void
test_pem_rejects(void)
{
	struct pem_list l;
	const char *cases[] = {
		"no pem here\n",
		"-----BEGIN CERTIFICATE-----\nZm9v\n",                          /* no END */
		"-----BEGIN CERTIFICATE-----\nZm9v\n-----END PRIVATE KEY-----\n", /* label mismatch */
		"-----BEGIN CERTIFICATE-----\nZm9*\n-----END CERTIFICATE-----\n", /* bad char */
		"-----BEGIN CERTIFICATE-----\nZm9\n-----END CERTIFICATE-----\n",  /* bad length */
		"-----BEGIN CERTIFICATE-----\nZg==\nZg==\n-----END CERTIFICATE-----\n", /* pad inside */
		"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",      /* empty */
		"-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nZg==\n-----END EC PRIVATE KEY-----\n",
		"-----BEGIN -----\nZg==\n-----END -----\n",                       /* empty label */
		"-----BEGIN A-----\n-----BEGIN A-----\nZg==\n-----END A-----\n",  /* nested */
	};
	int want[] = { PEM_E_NONE, PEM_E_SYNTAX, PEM_E_SYNTAX, PEM_E_BASE64, PEM_E_BASE64,
		PEM_E_BASE64, PEM_E_BASE64, PEM_E_SYNTAX, PEM_E_SYNTAX, PEM_E_SYNTAX };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		int r = pem_decode(cases[i], strlen(cases[i]), &l);
		if (r != want[i])
			printf("  case %zu: got %d want %d\n", i, r, want[i]);
		CHECK_EQ_INT(r, want[i]);
		CHECK_EQ_INT(l.n, 0);
	}
}

static void
test_pem_object_cap(void)
{
	char buf[64 * (PEM_MAX_OBJECTS + 2)];
	struct pem_list l;
	size_t i, o = 0;

	for (i = 0; i < PEM_MAX_OBJECTS + 1; i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "-----BEGIN A-----\nZg==\n-----END A-----\n");
	CHECK_EQ_INT(pem_decode(buf, o, &l), PEM_E_TOO_BIG);
	CHECK_EQ_INT(l.n, 0);
}

int
main(void)
{
	RUN(test_base64_rfc4648_vectors);
	RUN(test_base64_rejects);
	RUN(test_pem_basic);
	RUN(test_pem_multi_with_text_and_crlf);
	RUN(test_pem_long_body_roundtrip);
	RUN(test_pem_rejects);
	RUN(test_pem_object_cap);
	return HARNESS_EXIT();
}
