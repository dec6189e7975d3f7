/* see orch_init.h */
#include "orchestrator/orch_init.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/fileio.h"
#include "base/hex.h"
#include "crypto/ca.h"
#include "event/audit.h"
#include "crypto/key.h"
#include "crypto/pem.h"

#define INIT_PATH_MAX 4096
#define INIT_YAML_MAX 8192

static void say(char *why, size_t n, const char *msg)
{
	if (why && n)
		snprintf(why, n, "%s", msg);
}

/* A name for a SAN: an IP literal becomes an IP SAN, anything else a DNS
 * name (validated by x509_sans_add_dns). */
static int add_san(struct x509_sans *s, const char *v)
{
	if (x509_sans_add_ip(s, v) == 0)
		return 0;
	return x509_sans_add_dns(s, v);
}

/* Characters we put between double quotes in YAML without escaping. */
static int yaml_safe(const char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

static int ident_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 64)
		return 0;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

static int path_join(char *out, const char *dir, const char *file)
{
	int n = snprintf(out, INIT_PATH_MAX, "%s/%s", dir, file);

	return n < 0 || n >= INIT_PATH_MAX ? -ENAMETOOLONG : 0;
}

static int write_server(const struct orch_init_opts *o, const char *dir, const struct ca *ca,
    char *why, size_t why_len)
{
	struct key_p256 key;
	struct x509_sans sans;
	struct x509_issue_req req;
	unsigned char *der = NULL;
	size_t len = 0, l1 = 0, l2 = 0;
	char *p1 = NULL, *p2 = NULL, *chain = NULL;
	char path[INIT_PATH_MAX];
	int r;

	memset(&sans, 0, sizeof(sans));
	memset(&key, 0, sizeof(key));
	if (add_san(&sans, o->name) != 0) {
		say(why, why_len, "--name is neither a DNS name nor an IP address");
		return -EINVAL;
	}
	for (size_t i = 0; i < o->n_sans; i++)
		if (add_san(&sans, o->sans[i]) != 0) {
			say(why, why_len, "a --san is neither a DNS name nor an IP address");
			return -EINVAL;
		}
	r = key_generate(&key);
	if (r < 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_SERVER;
	req.cn = o->name;
	req.pub = key.pub;
	req.sans = &sans;
	x509_validity((int64_t)time(NULL), ORCH_SERVER_DAYS, &req.not_before, &req.not_after);
	r = x509_issue_leaf(&ca->key, ca->cert_der, ca->cert_len, &req, &der, &len);
	if (r < 0)
		goto out;
	r = pem_encode("CERTIFICATE", der, len, &p1, &l1);
	if (r == 0)
		r = ca_cert_pem(ca, &p2, &l2);
	if (r < 0)
		goto out;
	chain = malloc(l1 + l2 + 1);
	if (!chain) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(chain, p1, l1);
	memcpy(chain + l1, p2, l2);
	r = path_join(path, dir, ORCH_SERVER_KEY_FILE);
	if (r == 0)
		r = key_save_file(&key, path);
	if (r == 0)
		r = path_join(path, dir, ORCH_SERVER_CERT_FILE);
	if (r == 0)
		r = file_write_atomic(path, chain, l1 + l2, 0644);
out:
	key_wipe(&key);
	free(der);
	free(p1);
	free(p2);
	free(chain);
	return r;
}

static int write_config(const struct orch_init_opts *o, const char *dir, const char *td)
{
	char path[INIT_PATH_MAX];
	char *y = malloc(INIT_YAML_MAX);
	int n, r;

	if (!y)
		return -ENOMEM;
	n = snprintf(y, INIT_YAML_MAX,
	    "# Written by `stavily orchestrator init`.  Every key: docs/config.md.\n"
	    "# Check with: stavily config check %s/" ORCH_CONFIG_FILE "\n"
	    "authentication_methods:\n"
	    "  agents:\n"
	    "    primary: \"mTLS with client certificates\"\n"
	    "    secondary: \"Basic auth for initial registration\"\n"
	    "    certificate_rotation: \"Automatic 90-day rotation\"\n"
	    "security:\n"
	    "  agent_auth:\n"
	    "    require_tls: true\n"
	    "    validate_hostname: true\n"
	    "    max_failed_attempts: 5\n"
	    "encryption_in_transit:\n"
	    "  agent_communication:\n"
	    "    protocol: \"mTLS with client certificates\"\n"
	    "    validation: \"Certificate pinning and validation\"\n"
	    "    fallback: \"No fallback to unencrypted communication\"\n"
	    "orchestrator:\n"
	    "  name: \"%s\"\n"
	    "  state_dir: \"%s\"\n"
	    "  listen_enroll: \"0.0.0.0:8443\"\n"
	    "  listen_agent: \"0.0.0.0:8444\"\n"
	    "  admin_socket: \"%s/admin.sock\"\n"
	    "  trust_domain: \"%s\"\n"
	    "  lockout_duration: 15m\n"
	    "  failure_window: 15m\n"
	    "  max_connections: 1024\n"
	    "  max_connections_per_source: 32\n"
	    "logging:\n"
	    "  level: INFO\n"
	    "  format: json\n"
	    "privacy:\n"
	    "  pseudonymize_addresses: false\n",
	    dir, ident_ok(o->name) ? o->name : "orchestrator", dir, dir, td);
	if (n < 0 || n >= INIT_YAML_MAX) {
		free(y);
		return -ENAMETOOLONG;
	}
	r = path_join(path, dir, ORCH_CONFIG_FILE);
	if (r == 0)
		r = file_write_atomic(path, y, (size_t)n, 0600);
	free(y);
	return r;
}

int orch_init(const struct orch_init_opts *o, char pin[X509_PIN_STR_LEN], char *why,
    size_t why_len)
{
	const char *td = o->trust_domain ? o->trust_domain : "stavily.local";
	char dir[PATH_MAX], path[INIT_PATH_MAX], probe[320];
	struct ca ca;
	int r;

	memset(&ca, 0, sizeof(ca));
	say(why, why_len, "");
	if (!o->state_dir || !o->state_dir[0] || !o->name) {
		say(why, why_len, "state directory and name are required");
		return -EINVAL;
	}
	/* the trust domain must make valid identities */
	if (x509_agent_uri(td, "t", "a", probe, sizeof(probe)) != 0) {
		say(why, why_len, "--trust-domain must be a DNS-style name (A-Z a-z 0-9 . -)");
		return -EINVAL;
	}
	/* every name is checked before anything is created */
	{
		struct x509_sans chk;
		memset(&chk, 0, sizeof(chk));
		if (add_san(&chk, o->name) != 0) {
			say(why, why_len, "--name is neither a DNS name nor an IP address");
			return -EINVAL;
		}
		for (size_t i = 0; i < o->n_sans; i++)
			if (add_san(&chk, o->sans[i]) != 0) {
				say(why, why_len, "a --san is neither a DNS name nor an IP address");
				return -EINVAL;
			}
	}
	if (path_join(path, o->state_dir, CA_KEY_FILE) != 0)
		return -ENAMETOOLONG;
	if (access(path, F_OK) == 0)
		return -EEXIST;
	r = mkdir_p(o->state_dir, 0700);
	if (r < 0)
		return r;
	if (!realpath(o->state_dir, dir))
		return -errno;
	/* an existing directory may have been created with a looser mode */
	if (chmod(dir, 0700) < 0)
		return -errno;
	if (!yaml_safe(dir)) {
		say(why, why_len, "the state directory path holds quotes, backslashes or control characters");
		return -EINVAL;
	}
	r = ca_create(dir, "Stavily orchestrator CA", ORCH_CA_DAYS, (int64_t)time(NULL), &ca);
	if (r < 0)
		return r;
	r = write_server(o, dir, &ca, why, why_len);
	if (r == 0)
		r = write_config(o, dir, td);
	if (r == 0) {
		char bpin[X509_PIN_STR_LEN];
		r = orch_backup_create(dir, bpin);
	}
	if (r == 0)
		r = x509_pin_format(ca.pin, pin);
	ca_free(&ca);
	return r;
}

/* ---- backup CA and rollover ------------------------------------------------------ */

/* A new self-signed CA: key and certificate (DER, malloc'd).  Its CN names
 * the key ("Stavily orchestrator CA k<8 hex of the pin>"), so that two
 * generations never share a subject DN (BearSSL picks anchors by DN). */
static int new_ca(struct key_p256 *key, unsigned char **der, size_t *len, unsigned char pin[32])
{
	struct x509_issue_req req;
	char cn[96], hex[65];
	unsigned char p0[32];
	int r;

	*der = NULL;
	r = key_generate(key);
	if (r < 0)
		return r;
	/* the pin of the key alone: issue once to learn it, then with the name */
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_CA;
	req.cn = "Stavily orchestrator CA";
	x509_validity((int64_t)time(NULL), ORCH_CA_DAYS, &req.not_before, &req.not_after);
	r = x509_issue_ca(key, &req, der, len);
	if (r == 0)
		r = x509_spki_pin(*der, *len, p0);
	free(*der);
	*der = NULL;
	if (r < 0)
		goto fail;
	hex_encode(p0, 4, hex);
	snprintf(cn, sizeof(cn), "Stavily orchestrator CA k%s", hex);
	req.cn = cn;
	r = x509_issue_ca(key, &req, der, len);
	if (r == 0)
		r = x509_spki_pin(*der, *len, pin);
	if (r == 0)
		return 0;
	free(*der);
	*der = NULL;
fail:
	key_wipe(key);
	return r;
}

int orch_backup_create(const char *dir, char pin[X509_PIN_STR_LEN])
{
	char path[INIT_PATH_MAX];
	struct key_p256 key;
	unsigned char *der = NULL, p[32];
	size_t len = 0;
	int r;

	memset(&key, 0, sizeof(key));
	r = path_join(path, dir, CA_CERT_FILE);
	if (r < 0)
		return r;
	if (access(path, F_OK) != 0)
		return -ENOENT;        /* not an orchestrator state directory */
	r = path_join(path, dir, ORCH_CA_BACKUP_KEY_FILE);
	if (r < 0)
		return r;
	if (access(path, F_OK) == 0)
		return -EEXIST;
	r = new_ca(&key, &der, &len, p);
	if (r < 0)
		return r;
	/* certificate first: a crash in between leaves no key without it */
	r = path_join(path, dir, ORCH_CA_BACKUP_CERT_FILE);
	if (r == 0)
		r = ca_save_cert_pem(path, der, len);
	if (r == 0)
		r = path_join(path, dir, ORCH_CA_BACKUP_KEY_FILE);
	if (r == 0)
		r = key_save_file(&key, path);
	if (r == 0)
		r = x509_pin_format(p, pin);
	key_wipe(&key);
	free(der);
	return r;
}

int orch_pem_bundle(const char *dir, const char *const *names, size_t n, char **out, size_t *len)
{
	char path[INIT_PATH_MAX], *buf = NULL;
	size_t total = 0;
	int r = 0;

	*out = NULL;
	*len = 0;
	for (size_t i = 0; i < n; i++) {
		char *f = NULL, *nb;
		size_t fl = 0;
		r = path_join(path, dir, names[i]);
		if (r == 0)
			r = file_read_all(path, ORCH_BUNDLE_MAX, &f, &fl);
		if (r == -ENOENT && i > 0) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		nb = realloc(buf, total + fl + 2);
		if (!nb) {
			free(f);
			r = -ENOMEM;
			break;
		}
		buf = nb;
		memcpy(buf + total, f, fl);
		total += fl;
		if (fl && buf[total - 1] != '\n')
			buf[total++] = '\n';
		buf[total] = '\0';
		free(f);
	}
	if (r < 0 || !buf) {
		free(buf);
		return r < 0 ? r : -ENOENT;
	}
	*out = buf;
	*len = total;
	return 0;
}

/* The first certificate of a PEM file, parsed (DER malloc'd in *der). */
static int load_first_cert(const char *path, unsigned char **der, size_t *len, struct x509_info *info)
{
	struct x509_chain ch;
	int r = x509_chain_load_file(path, &ch);

	if (r < 0)
		return r;
	*der = ch.certs[0].data;
	*len = ch.certs[0].data_len;
	ch.certs[0].data = NULL;
	x509_chain_free(&ch);
	r = x509_parse(*der, *len, info);
	if (r < 0) {
		free(*der);
		*der = NULL;
	}
	return r;
}

/* Write `data` to dir/name.new (atomically, fsync'd): staged for the renames. */
static int stage(const char *dir, const char *name, const void *data, size_t len, mode_t mode)
{
	char path[INIT_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s.new", dir, name);

	if (n < 0 || n >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return file_write_atomic(path, data, len, mode);
}

static int stage_key(const char *dir, const char *name, const struct key_p256 *k)
{
	char path[INIT_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s.new", dir, name);

	if (n < 0 || n >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return key_save_file(k, path);
}

static int stage_cert(const char *dir, const char *name, const unsigned char *der, size_t len,
    const unsigned char *der2, size_t len2)
{
	char *p1 = NULL, *p2 = NULL, *both = NULL;
	size_t l1 = 0, l2 = 0;
	int r = pem_encode("CERTIFICATE", der, len, &p1, &l1);

	if (r == 0 && der2)
		r = pem_encode("CERTIFICATE", der2, len2, &p2, &l2);
	if (r == 0) {
		both = malloc(l1 + l2 + 1);
		if (!both)
			r = -ENOMEM;
	}
	if (r == 0) {
		memcpy(both, p1, l1);
		if (p2)
			memcpy(both + l1, p2, l2);
		r = stage(dir, name, both, l1 + l2, 0644);
	}
	free(p1);
	free(p2);
	free(both);
	return r;
}

static int commit_staged(const char *dir, const char *name)
{
	char from[INIT_PATH_MAX], to[INIT_PATH_MAX];
	int n = snprintf(from, sizeof(from), "%s/%s.new", dir, name);

	if (n < 0 || n >= (int)sizeof(from) || path_join(to, dir, name) != 0)
		return -ENAMETOOLONG;
	return rename(from, to) == 0 ? 0 : -errno;
}

static void unstage(const char *dir, const char *name)
{
	char path[INIT_PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s.new", dir, name);

	if (n > 0 && n < (int)sizeof(path))
		(void)unlink(path);
}

/* The rollover's new server certificate: the old one's CN and SANs, a new
 * key, issued by the new CA. */
static int reissue_server(const char *dir, const struct key_p256 *ca_key,
    const unsigned char *ca_der, size_t ca_len, struct key_p256 *skey, unsigned char **der,
    size_t *len, char *why, size_t why_len)
{
	char path[INIT_PATH_MAX];
	struct x509_info *old = malloc(sizeof(*old));
	struct x509_issue_req req;
	unsigned char *oder = NULL;
	size_t olen = 0;
	int r;

	if (!old)
		return -ENOMEM;
	r = path_join(path, dir, ORCH_SERVER_CERT_FILE);
	if (r == 0)
		r = load_first_cert(path, &oder, &olen, old);
	if (r < 0) {
		say(why, why_len, "cannot read the current server certificate (server.pem)");
		goto out;
	}
	r = key_generate(skey);
	if (r < 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.profile = X509_PROFILE_SERVER;
	req.cn = old->subject_cn[0] ? old->subject_cn : NULL;
	req.pub = skey->pub;
	req.sans = &old->sans;
	x509_validity((int64_t)time(NULL), ORCH_SERVER_DAYS, &req.not_before, &req.not_after);
	r = x509_issue_leaf(ca_key, ca_der, ca_len, &req, der, len);
out:
	free(oder);
	free(old);
	return r;
}

int orch_rollover(const struct orch_rollover_opts *o, struct orch_rollover_result *res,
    char *why, size_t why_len)
{
	static const char *const staged[] = { CA_CERT_FILE, CA_KEY_FILE, ORCH_SERVER_CERT_FILE,
	    ORCH_SERVER_KEY_FILE, ORCH_CA_BACKUP_CERT_FILE, ORCH_CA_BACKUP_KEY_FILE,
	    ORCH_CA_PREVIOUS_FILE };
	char dir[PATH_MAX], path[INIT_PATH_MAX];
	struct audit_log *al = NULL;
	struct audit_recovery arec;
	struct ca cur;
	struct key_p256 bk, sk, nk;
	struct x509_info *bi = NULL;
	unsigned char *bder = NULL, *sder = NULL, *nder = NULL, npin[32];
	size_t blen = 0, slen = 0, nlen = 0;
	cJSON *d = NULL;
	int r, staged_any = 0;

	memset(res, 0, sizeof(*res));
	memset(&cur, 0, sizeof(cur));
	memset(&bk, 0, sizeof(bk));
	memset(&sk, 0, sizeof(sk));
	memset(&nk, 0, sizeof(nk));
	say(why, why_len, "");
	if (!o->state_dir || !o->backup_key) {
		say(why, why_len, "state directory and backup key are required");
		return -EINVAL;
	}
	if (!realpath(o->state_dir, dir))
		return -errno;
	/* the running orchestrator holds the audit log: refuse under it */
	r = path_join(path, dir, ORCH_AUDIT_FILE);
	if (r == 0)
		r = audit_open(path, "orchestrator", &al, &arec);
	if (r == -EBUSY) {
		say(why, why_len, "the orchestrator is running (it holds audit.log): stop it first");
		return r;
	}
	if (r < 0)
		return r;
	r = path_join(path, dir, ORCH_CA_PREVIOUS_FILE);
	if (r == 0 && access(path, F_OK) == 0) {
		say(why, why_len, "ca-previous.pem exists: the last rollover is not finished (remove "
		    "it once every agent renewed, see docs/operations.md)");
		r = -EEXIST;
		goto out;
	}
	r = ca_load(dir, &cur);
	if (r < 0) {
		say(why, why_len, "cannot load the current CA (ca.key, ca.pem)");
		goto out;
	}
	r = key_load_file(&bk, o->backup_key);
	if (r < 0) {
		say(why, why_len, "cannot read the backup CA key");
		goto out;
	}
	bi = malloc(sizeof(*bi));
	r = bi ? path_join(path, dir, ORCH_CA_BACKUP_CERT_FILE) : -ENOMEM;
	if (r == 0)
		r = load_first_cert(path, &bder, &blen, bi);
	if (r < 0) {
		say(why, why_len, "cannot read the backup CA certificate (ca-backup.pem)");
		goto out;
	}
	if (!bi->is_ca || !bi->key_p256 || memcmp(bi->pub, bk.pub, 65) != 0) {
		say(why, why_len, "the key is not the backup CA's key (ca-backup.pem)");
		r = -EINVAL;
		goto out;
	}
	if (memcmp(bk.pub, cur.key.pub, 65) == 0) {
		say(why, why_len, "the backup key is the current CA key");
		r = -EINVAL;
		goto out;
	}
	r = reissue_server(dir, &bk, bder, blen, &sk, &sder, &slen, why, why_len);
	if (r < 0)
		goto out;
	r = new_ca(&nk, &nder, &nlen, npin);
	if (r < 0)
		goto out;
	/* everything staged (each file written and fsync'd), then renamed */
	staged_any = 1;
	r = stage_cert(dir, ORCH_CA_PREVIOUS_FILE, cur.cert_der, cur.cert_len, NULL, 0);
	if (r == 0)
		r = stage_cert(dir, CA_CERT_FILE, bder, blen, NULL, 0);
	if (r == 0)
		r = stage_key(dir, CA_KEY_FILE, &bk);
	if (r == 0)
		r = stage_cert(dir, ORCH_SERVER_CERT_FILE, sder, slen, bder, blen);
	if (r == 0)
		r = stage_key(dir, ORCH_SERVER_KEY_FILE, &sk);
	if (r == 0)
		r = stage_cert(dir, ORCH_CA_BACKUP_CERT_FILE, nder, nlen, NULL, 0);
	if (r == 0)
		r = stage_key(dir, ORCH_CA_BACKUP_KEY_FILE, &nk);
	if (r < 0)
		goto out;
	/* previous first: from then on the old agents' certificates stay
	 * trusted whatever happens to the rest */
	for (size_t i = 0; i < sizeof(staged) / sizeof(staged[0]) && r == 0; i++)
		r = commit_staged(dir, staged[(i + 6) % 7]);
	if (r == 0)
		r = path_join(path, dir, CA_CERT_FILE);
	if (r == 0)
		r = fsync_parent_dir(path);
	if (r < 0) {
		say(why, why_len, "renaming the new files failed midway: restore the state "
		    "directory from the backup taken before the rollover");
		goto out;
	}
	staged_any = 0;
	r = x509_pin_format(cur.pin, res->previous_pin);
	if (r == 0)
		r = x509_pin_format(bi->pin, res->pin);
	if (r == 0)
		r = x509_pin_format(npin, res->next_backup_pin);
	if (r < 0)
		goto out;
	d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "previous_pin", res->previous_pin);
	cJSON_AddStringToObject(d, "pin", res->pin);
	cJSON_AddStringToObject(d, "next_backup_pin", res->next_backup_pin);
	r = audit_append(al, EVENT_WARN, "ca_rolled_over", d);
	if (r < 0)
		say(why, why_len, "the rollover is done but its audit record could not be written");
out:
	if (staged_any)
		for (size_t i = 0; i < sizeof(staged) / sizeof(staged[0]); i++)
			unstage(dir, staged[i]);
	cJSON_Delete(d);
	audit_close(al);
	ca_free(&cur);
	key_wipe(&bk);
	key_wipe(&sk);
	key_wipe(&nk);
	free(bi);
	free(bder);
	free(sder);
	free(nder);
	return r;
}
