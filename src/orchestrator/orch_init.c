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

#include "base/fileio.h"
#include "crypto/ca.h"
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
	if (r == 0)
		x509_pin_format(ca.pin, pin);
	ca_free(&ca);
	return r;
}
