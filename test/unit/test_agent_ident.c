/*
 * test_agent_ident.c: the agent's identity files (ident.h) and the link's
 * configuration checks and pinned-CA selection (link.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/ident.h"
#include "agent/link.h"
#include "crypto/pem.h"
#include "crypto/x509.h"
#include "harness.h"

static void
test_parse_uri(void)
{
	struct agent_ident id;
	static const char *const bad[] = {
		"https://td/tenant/a/agent/b", "spiffe://td/tenant/a/agent/", "spiffe://td/tenant//agent/b",
		"spiffe://td/tenant/a/agent/b/c", "spiffe://td/agent/b", "spiffe://td/tenant/a b/agent/b",
		"spiffe:///tenant/a/agent/b", "spiffe://td/tenant/a/agents/b", "",
	};

	memset(&id, 0, sizeof(id));
	CHECK_EQ_INT(ident_parse_uri("spiffe://corp.example/tenant/acme/agent/web-01", &id), 0);
	CHECK_EQ_STR(id.trust_domain, "corp.example");
	CHECK_EQ_STR(id.tenant, "acme");
	CHECK_EQ_STR(id.agent_id, "web-01");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK_EQ_INT(ident_parse_uri(bad[i], &id), -EINVAL);
}

/* A CA and a client certificate for `key` with identity `uri`. */
static int
make_cert(const struct key_p256 *ca, const struct key_p256 *key, const char *uri, char **ca_pem,
    char **leaf_pem)
{
	struct x509_issue_req req;
	struct x509_sans sans;
	unsigned char *cder = NULL, *lder = NULL;
	size_t clen = 0, llen = 0, n;
	int r;

	memset(&req, 0, sizeof(req));
	memset(&sans, 0, sizeof(sans));
	req.profile = X509_PROFILE_CA;
	req.cn = "test CA";
	x509_validity(time(NULL), 10, &req.not_before, &req.not_after);
	r = x509_issue_ca(ca, &req, &cder, &clen);
	if (r == 0 && uri)
		r = x509_sans_add_uri(&sans, uri);
	if (r == 0) {
		req.profile = X509_PROFILE_CLIENT;
		req.cn = "agent";
		req.pub = key->pub;
		req.sans = &sans;
		r = x509_issue_leaf(ca, cder, clen, &req, &lder, &llen);
	}
	if (r == 0)
		r = pem_encode("CERTIFICATE", cder, clen, ca_pem, &n);
	if (r == 0)
		r = pem_encode("CERTIFICATE", lder, llen, leaf_pem, &n);
	free(cder);
	free(lder);
	return r;
}

static void
test_save_load_wipe(void)
{
	char dir[] = "/tmp/stavily-ident.XXXXXX", state[256], path[IDENT_MAX_PATH];
	struct key_p256 ca, key, other;
	char *ca_pem = NULL, *leaf = NULL, *ca2 = NULL, *leaf2 = NULL, *pin_ca = NULL;
	struct agent_ident id;
	struct stat st;
	unsigned char pin[32];
	char pinstr[X509_PIN_STR_LEN];
	const char *pins[1];
	struct pem_list pl;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(state, sizeof(state), "%s/state", dir);
	CHECK_EQ_INT(key_generate(&ca), 0);
	CHECK_EQ_INT(key_generate(&key), 0);
	CHECK_EQ_INT(key_generate(&other), 0);
	CHECK_EQ_INT(make_cert(&ca, &key, "spiffe://td/tenant/acme/agent/a1", &ca_pem, &leaf), 0);

	CHECK_EQ_INT(ident_load(state, &id), -ENOENT);
	CHECK_EQ_INT(ident_save(state, &key, leaf, ca_pem), 0);
	CHECK_EQ_INT(stat(state, &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0700);
	CHECK_EQ_INT(ident_path(state, IDENT_FILE, path), 0);
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(ident_path(state, IDENT_CA_FILE, path), 0);
	CHECK_EQ_INT(stat(path, &st), 0);
	CHECK_EQ_INT(st.st_mode & 07777, 0600);
	CHECK_EQ_INT(ident_load(state, &id), 0);
	CHECK_EQ_STR(id.uri, "spiffe://td/tenant/acme/agent/a1");
	CHECK_EQ_STR(id.tenant, "acme");
	CHECK_EQ_STR(id.agent_id, "a1");
	CHECK(strlen(id.serial) > 0);
	CHECK(id.not_after > time(NULL) + 9 * 86400);
	ident_free(&id);

	/* a certificate for another key is refused */
	CHECK_EQ_INT(ident_save(state, &other, leaf, NULL), 0);
	CHECK_EQ_INT(ident_load(state, &id), -EINVAL);
	/* a certificate without an identity is refused */
	CHECK_EQ_INT(make_cert(&other, &key, NULL, &ca2, &leaf2), 0);  /* another CA key */
	CHECK_EQ_INT(ident_save(state, &key, leaf2, NULL), 0);
	CHECK_EQ_INT(ident_load(state, &id), -EINVAL);

	/* pinned CA selection: only the certificate with the pin, and only a CA */
	CHECK_EQ_INT(pem_decode(ca_pem, strlen(ca_pem), &pl), 0);
	CHECK_EQ_INT(x509_spki_pin(pl.obj[0].der, pl.obj[0].len, pin), 0);
	pem_list_free(&pl);
	CHECK_EQ_INT(x509_pin_format(pin, pinstr), 0);
	pins[0] = pinstr;
	{
		size_t n = strlen(leaf) + strlen(ca_pem) + 1;
		char *bundle = malloc(n);
		CHECK(bundle != NULL);
		snprintf(bundle, n, "%s%s", leaf, ca_pem);
		pin_ca = link_pinned_ca_pem(bundle, strlen(bundle), pins, 1);
		CHECK(pin_ca != NULL && strcmp(pin_ca, ca_pem) == 0);
		free(pin_ca);
		CHECK(link_pinned_ca_pem(ca2, strlen(ca2), pins, 1) == NULL);  /* other CA */
		free(bundle);
	}

	/* wipe */
	CHECK_EQ_INT(ident_save(state, &key, leaf, NULL), 0);
	CHECK_EQ_INT(ident_wipe(state), 0);
	CHECK_EQ_INT(ident_path(state, IDENT_FILE, path), 0);
	CHECK(access(path, F_OK) != 0);
	CHECK_EQ_INT(ident_load(state, &id), -ENOENT);
	CHECK_EQ_INT(ident_wipe(state), 0);   /* nothing to wipe is fine */

	key_wipe(&ca);
	key_wipe(&key);
	key_wipe(&other);
	free(ca_pem);
	free(leaf);
	free(ca2);
	free(leaf2);
	ident_path(state, IDENT_CA_FILE, path) == 0 ? (void)unlink(path) : (void)0;
	rmdir(state);
	rmdir(dir);
}

static void
test_link_init(void)
{
	struct link l;
	const char *good[] = { "sha256:0000000000000000000000000000000000000000000000000000000000000000" };
	const char *bad[] = { "sha256:00" };

	CHECK_EQ_INT(link_init(&l, "https://127.0.0.1:8443", "localhost", good, 1, NULL), 0);
	CHECK_EQ_STR(l.server_name, "localhost");
	CHECK_EQ_INT(l.url.port, 8443);
	link_free(&l);
	CHECK_EQ_INT(link_init(&l, "https://orch.example:8443", NULL, good, 1, NULL), 0);
	CHECK_EQ_STR(l.server_name, "orch.example");
	link_free(&l);
	/* no pin: refused, and the message says where the pin comes from */
	CHECK_EQ_INT(link_init(&l, "https://127.0.0.1:8443", NULL, good, 0, NULL), -EINVAL);
	CHECK(strstr(l.last_error, "orchestrator init") != NULL);
	CHECK_EQ_INT(link_init(&l, "https://127.0.0.1:8443", NULL, bad, 1, NULL), -EINVAL);
	CHECK_EQ_INT(link_init(&l, "http://127.0.0.1:8443", NULL, good, 1, NULL), -EINVAL);
	CHECK_EQ_INT(link_init(&l, NULL, NULL, good, 1, NULL), -EINVAL);
}

int
main(void)
{
	RUN(test_parse_uri);
	RUN(test_save_load_wipe);
	RUN(test_link_init);
	return HARNESS_EXIT();
}
