/* see ca.h */
#include "crypto/ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/fileio.h"
#include "crypto/pem.h"

#define CA_PATH_MAX 4096

void
ca_free(struct ca *ca)
{
	key_wipe(&ca->key);
	free(ca->cert_der);
	memset(ca, 0, sizeof(*ca));
}

static int
join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, CA_PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= CA_PATH_MAX ? -ENAMETOOLONG : 0;
}

int
ca_save_cert_pem(const char *path, const unsigned char *der, size_t len)
{
	char *pem = NULL;
	size_t plen = 0;
	int r;

	r = pem_encode("CERTIFICATE", der, len, &pem, &plen);
	if (r < 0)
		return r;
	r = file_write_atomic(path, pem, plen, 0644);
	free(pem);
	return r;
}

int
ca_cert_pem(const struct ca *ca, char **pem, size_t *len)
{
	return pem_encode("CERTIFICATE", ca->cert_der, ca->cert_len, pem, len);
}

int
ca_create(const char *dir, const char *cn, unsigned days, int64_t now, struct ca *out)
{
	char path[CA_PATH_MAX];
	struct x509_issue_req req;
	int r;

	memset(out, 0, sizeof(*out));
	r = mkdir_p(dir, 0700);
	if (r < 0)
		return r;
	r = join(path, dir, CA_KEY_FILE);
	if (r < 0)
		return r;
	if (access(path, F_OK) == 0)
		return -EEXIST;
	r = key_generate(&out->key);
	if (r < 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_CA;
	req.cn = cn;
	x509_validity(now, days, &req.not_before, &req.not_after);
	r = x509_issue_ca(&out->key, &req, &out->cert_der, &out->cert_len);
	if (r < 0)
		goto out;
	r = x509_spki_pin(out->cert_der, out->cert_len, out->pin);
	if (r < 0)
		goto out;
	/* Certificate first: a crash between the two writes leaves no key,
	 * so a retry starts over instead of finding a key without its
	 * certificate. */
	r = join(path, dir, CA_CERT_FILE);
	if (r == 0)
		r = ca_save_cert_pem(path, out->cert_der, out->cert_len);
	if (r < 0)
		goto out;
	r = join(path, dir, CA_KEY_FILE);
	if (r == 0)
		r = key_save_file(&out->key, path);
out:
	if (r < 0)
		ca_free(out);
	return r;
}

int
ca_load(const char *dir, struct ca *out)
{
	char path[CA_PATH_MAX];
	struct x509_chain ch;
	struct x509_info *info = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	r = join(path, dir, CA_KEY_FILE);
	if (r == 0)
		r = key_load_file(&out->key, path);
	if (r < 0)
		goto out;
	r = join(path, dir, CA_CERT_FILE);
	if (r == 0)
		r = x509_chain_load_file(path, &ch);
	if (r < 0)
		goto out;
	/* Take the first certificate; the chain struct owns the buffer. */
	out->cert_der = ch.certs[0].data;
	out->cert_len = ch.certs[0].data_len;
	ch.certs[0].data = NULL;
	x509_chain_free(&ch);
	info = malloc(sizeof(*info));
	if (info == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = x509_parse(out->cert_der, out->cert_len, info);
	if (r < 0)
		goto out;
	if (!info->key_p256 || memcmp(info->pub, out->key.pub, 65) != 0 || !info->is_ca) {
		r = X509_E_KEY;
		goto out;
	}
	memcpy(out->pin, info->pin, sizeof(out->pin));
out:
	free(info);
	if (r < 0)
		ca_free(out);
	return r;
}

int
ca_issue_csr(const struct ca *ca, const unsigned char *csr_der, size_t csr_len,
    const struct x509_issue_req *req, struct csr_info *csr_out, unsigned char **der, size_t *len)
{
	struct csr_info *ci = malloc(sizeof(*ci));
	struct x509_issue_req r2;
	int r;

	if (ci == NULL)
		return -ENOMEM;
	r = csr_parse(csr_der, csr_len, ci);
	if (r < 0)
		goto out;
	r2 = *req;
	r2.pub = ci->pub;
	if (r2.cn == NULL)
		r2.cn = ci->cn;
	r = x509_issue_leaf(&ca->key, ca->cert_der, ca->cert_len, &r2, der, len);
	if (r == 0 && csr_out != NULL)
		*csr_out = *ci;
out:
	free(ci);
	return r;
}

const char *
ca_strerror(int err)
{
	if (err <= -6001 && err >= -6999)
		return csr_strerror(err);
	if (err <= -5001 && err >= -5999)
		return x509_strerror(err);
	if (err <= -4001 && err >= -4999)
		return key_strerror(err);
	if (err < 0)
		return strerror(-err);
	return "ok";
}
