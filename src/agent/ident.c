/*
 * ident.c: the agent's key, certificate and CA bundle on disk (ident.h).
 */
#include "agent/ident.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fileio.h"
#include "base/hex.h"
#include "crypto/x509.h"

int ident_path(const char *state_dir, const char *name, char out[IDENT_MAX_PATH])
{
	int n = snprintf(out, IDENT_MAX_PATH, "%s/%s", state_dir, name);

	return n < 0 || n >= IDENT_MAX_PATH ? -ENAMETOOLONG : 0;
}

/* Copy the path segment starting at s (up to '/' or end) into out. */
static const char *segment(const char *s, char *out, size_t cap)
{
	size_t n = strcspn(s, "/");

	if (n == 0 || n >= cap)
		return NULL;
	memcpy(out, s, n);
	out[n] = 0;
	for (size_t i = 0; i < n; i++) {
		char c = out[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return NULL;
	}
	return s + n;
}

int ident_parse_uri(const char *uri, struct agent_ident *out)
{
	const char *p;

	if (strncmp(uri, "spiffe://", 9) != 0 || strlen(uri) >= sizeof(out->uri))
		return -EINVAL;
	snprintf(out->uri, sizeof(out->uri), "%s", uri);
	p = segment(uri + 9, out->trust_domain, sizeof(out->trust_domain));
	if (!p || strncmp(p, "/tenant/", 8) != 0)
		return -EINVAL;
	p = segment(p + 8, out->tenant, sizeof(out->tenant));
	if (!p || strncmp(p, "/agent/", 7) != 0)
		return -EINVAL;
	p = segment(p + 7, out->agent_id, sizeof(out->agent_id));
	return p && *p == 0 ? 0 : -EINVAL;
}

int ident_from_pem(const char *pem, size_t len, struct agent_ident *out)
{
	struct key_p256 key;
	struct x509_chain ch;
	struct x509_info info;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&ch, 0, sizeof(ch));
	r = key_from_pem(&key, pem, len);
	if (r < 0)
		return r;
	r = x509_chain_from_pem(pem, len, &ch);
	if (r < 0)
		goto out;
	r = x509_parse(ch.certs[0].data, ch.certs[0].data_len, &info);
	if (r < 0)
		goto out;
	if (!info.key_p256 || memcmp(info.pub, key.pub, sizeof(key.pub)) != 0) {
		r = -EINVAL;    /* the certificate is not for our key */
		goto out;
	}
	r = -EINVAL;
	for (size_t i = 0; i < info.sans.n; i++)
		if (info.sans.san[i].type == X509_SAN_URI &&
		    ident_parse_uri(info.sans.san[i].val, out) == 0) {
			r = 0;
			break;
		}
	if (r < 0)
		goto out;
	hex_encode(info.serial, info.serial_len, out->serial);
	out->not_before = info.not_before;
	out->not_after = info.not_after;
	out->pem = malloc(len + 1);
	if (!out->pem) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(out->pem, pem, len);
	out->pem[len] = 0;
	out->pem_len = len;
out:
	key_wipe(&key);
	x509_chain_free(&ch);
	return r;
}

int ident_load(const char *state_dir, struct agent_ident *out)
{
	char path[IDENT_MAX_PATH], *buf = NULL;
	size_t len = 0;
	int r;

	memset(out, 0, sizeof(*out));
	r = ident_path(state_dir, IDENT_FILE, path);
	if (r < 0)
		return r;
	r = file_read_all(path, IDENT_MAX_FILE, &buf, &len);
	if (r < 0)
		return r;
	r = ident_from_pem(buf, len, out);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

int ident_compose(const struct key_p256 *key, const char *chain_pem, char **out, size_t *len)
{
	char *kp = NULL, *buf;
	size_t kl = 0, cl = strlen(chain_pem);
	int r = key_to_pem(key, &kp, &kl);

	if (r < 0)
		return r;
	buf = malloc(kl + cl + 2);
	if (!buf) {
		explicit_bzero(kp, kl);
		free(kp);
		return -ENOMEM;
	}
	memcpy(buf, kp, kl);
	if (kl && kp[kl - 1] != '\n')
		buf[kl++] = '\n';
	memcpy(buf + kl, chain_pem, cl);
	buf[kl + cl] = 0;
	*out = buf;
	*len = kl + cl;
	explicit_bzero(kp, kl);
	free(kp);
	return 0;
}

int ident_save(const char *state_dir, const struct key_p256 *key, const char *chain_pem,
    const char *ca_pem)
{
	char path[IDENT_MAX_PATH], *buf = NULL;
	size_t len = 0;
	int r;

	r = mkdir_p(state_dir, 0700);
	if (r < 0)
		return r;
	if (chmod(state_dir, 0700) != 0)
		return -errno;
	if (ca_pem) {
		r = ident_path(state_dir, IDENT_CA_FILE, path);
		if (r == 0)
			r = file_write_atomic(path, ca_pem, strlen(ca_pem), 0600);
		if (r < 0)
			return r;
	}
	r = ident_compose(key, chain_pem, &buf, &len);
	if (r < 0)
		return r;
	r = ident_path(state_dir, IDENT_FILE, path);
	if (r == 0)
		r = file_write_atomic(path, buf, len, 0600);
	explicit_bzero(buf, len);
	free(buf);
	return r;
}

int ident_wipe(const char *state_dir)
{
	char path[IDENT_MAX_PATH], zero[4096];
	struct stat st;
	int fd, r;

	r = ident_path(state_dir, IDENT_FILE, path);
	if (r < 0)
		return r;
	fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	memset(zero, 0, sizeof(zero));
	if (fstat(fd, &st) == 0)
		for (off_t done = 0; done < st.st_size; done += (off_t)sizeof(zero))
			if (fd_write_all(fd, zero, sizeof(zero)) < 0)
				break;
	(void)fsync(fd);
	close(fd);
	if (unlink(path) != 0)
		return -errno;
	return fsync_parent_dir(path);
}

void ident_free(struct agent_ident *id)
{
	if (id->pem) {
		explicit_bzero(id->pem, id->pem_len);
		free(id->pem);
	}
	memset(id, 0, sizeof(*id));
}
