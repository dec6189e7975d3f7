/* Unit tests for src/crypto/ca.c: CA directory create/load/issue. */
#include "harness.h"

#include <errno.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/util.h"
#include "crypto/ca.h"

static char dir[] = "/tmp/stavily-catest.XXXXXX";
static char cadir[128], otherdir[128];

static void
test_create_and_load(void)
{
	struct ca a, b;
	struct stat st;
	char path[256];

	CHECK_EQ_INT(ca_create(cadir, "Test CA", 365, (int64_t)time(NULL), &a), 0);
	CHECK_EQ_INT(stat(cadir, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0700);
	snprintf(path, sizeof(path), "%s/" CA_KEY_FILE, cadir);
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 0777, 0600);
	CHECK_EQ_INT(ca_load(cadir, &b), 0);
	CHECK(memcmp(a.pin, b.pin, 32) == 0);
	CHECK(a.cert_len == b.cert_len && memcmp(a.cert_der, b.cert_der, a.cert_len) == 0);
	CHECK(memcmp(a.key.priv, b.key.priv, 32) == 0);
	ca_free(&a);
	ca_free(&b);
	CHECK(a.cert_der == NULL && a.key.priv[0] == 0);
}

static void
test_never_overwritten(void)
{
	struct ca a;

	CHECK_EQ_INT(ca_create(cadir, "Again", 365, (int64_t)time(NULL), &a), -EEXIST);
}

static void
test_issue_uses_callers_sans_only(void)
{
	struct ca ca;
	struct key_p256 k;
	struct x509_sans want, asked;
	struct x509_issue_req req;
	struct x509_info li;
	struct csr_info ci;
	unsigned char *csr = NULL, *der = NULL;
	size_t csr_len = 0, len = 0;

	CHECK_EQ_INT(ca_load(cadir, &ca), 0);
	CHECK_EQ_INT(key_generate(&k), 0);
	memset(&asked, 0, sizeof(asked));
	memset(&want, 0, sizeof(want));
	CHECK_EQ_INT(x509_sans_add_uri(&asked, "spiffe://td/tenant/other/agent/evil"), 0);
	CHECK_EQ_INT(x509_sans_add_uri(&want, "spiffe://td/tenant/acme/agent/a1"), 0);
	CHECK_EQ_INT(csr_build(&k, "a1", &asked, &csr, &csr_len), 0);
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_CLIENT;
	req.sans = &want;
	x509_validity((int64_t)time(NULL), 90, &req.not_before, &req.not_after);
	CHECK_EQ_INT(ca_issue_csr(&ca, csr, csr_len, &req, &ci, &der, &len), 0);
	CHECK_EQ_INT(ci.sans.n, 1);      /* what was asked is reported ... */
	CHECK_EQ_INT(x509_parse(der, len, &li), 0);
	CHECK_EQ_STR(li.subject_cn, "a1");
	CHECK_EQ_INT(li.sans.n, 1);      /* ... but only what we chose is issued */
	CHECK_EQ_STR(li.sans.san[0].val, "spiffe://td/tenant/acme/agent/a1");
	CHECK(memcmp(li.pub, k.pub, 65) == 0);
	free(der);
	der = NULL;
	csr[csr_len - 1] ^= 1;
	CHECK(ca_issue_csr(&ca, csr, csr_len, &req, NULL, &der, &len) < 0);
	CHECK(der == NULL);
	free(csr);
	ca_free(&ca);
}

static void
test_mismatched_key_refused(void)
{
	struct ca a, b;
	char src[256], dst[256];
	char *buf = NULL;
	size_t len = 0;

	CHECK_EQ_INT(ca_create(otherdir, "Other", 365, (int64_t)time(NULL), &a), 0);
	ca_free(&a);
	/* Put the other CA's certificate next to our key. */
	snprintf(src, sizeof(src), "%s/" CA_CERT_FILE, otherdir);
	snprintf(dst, sizeof(dst), "%s/" CA_CERT_FILE, cadir);
	CHECK_EQ_INT(file_read_all(src, 65536, &buf, &len), 0);
	CHECK_EQ_INT(file_write_atomic(dst, buf, len, 0644), 0);
	free(buf);
	CHECK_EQ_INT(ca_load(cadir, &b), X509_E_KEY);
	CHECK(b.cert_der == NULL);
	CHECK_EQ_INT(ca_load("/nonexistent-stavily", &b), -ENOENT);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(cadir, sizeof(cadir), "%s/ca/sub", dir);
	snprintf(otherdir, sizeof(otherdir), "%s/other", dir);
	RUN(test_create_and_load);
	RUN(test_never_overwritten);
	RUN(test_issue_uses_callers_sans_only);
	RUN(test_mismatched_key_refused);
	{
		char cmd[200];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			printf("  could not remove %s\n", dir);
	}
	return HARNESS_EXIT();
}
