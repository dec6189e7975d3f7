/*
 * orch_init.h: `stavily orchestrator init`: the orchestrator's PKI and a
 * starter configuration in a new state directory.
 *
 *   STATE/            0700
 *   STATE/ca.key      CA private key, PKCS#8 PEM, 0600 (crypto/ca.h)
 *   STATE/ca.pem      CA certificate (EC P-256, self-signed, 10 years), 0644
 *   STATE/server.key  enrollment/agent listener key, 0600
 *   STATE/server.pem  server certificate (serverAuth, SANs: --name and every
 *                     --san) followed by the CA certificate, 0644
 *   STATE/orchestrator.yaml  starter configuration, 0600
 */
#ifndef STAVILY_ORCHESTRATOR_ORCH_INIT_H
#define STAVILY_ORCHESTRATOR_ORCH_INIT_H

#include <stddef.h>
#include "base/util.h"
#include "crypto/x509.h"

#define ORCH_INIT_MAX_SANS   14
#define ORCH_SERVER_DAYS     825      /* the CA/Browser Forum's old ceiling */
#define ORCH_CA_DAYS         3650
#define ORCH_SERVER_KEY_FILE "server.key"
#define ORCH_SERVER_CERT_FILE "server.pem"
#define ORCH_CONFIG_FILE     "orchestrator.yaml"
#define ORCH_AUDIT_FILE      "audit.log"

struct orch_init_opts {
	const char *state_dir;          /* required */
	const char *name;               /* host name or IP the agents connect to */
	const char *sans[ORCH_INIT_MAX_SANS];   /* more DNS names / IPs */
	size_t n_sans;
	const char *trust_domain;       /* NULL = "stavily.local" */
};

/*
 * Create everything above.  On success writes the CA pin ("sha256:<hex>")
 * into `pin` and returns 0.  Errors: -EEXIST when STATE/ca.key exists
 * (nothing is touched), -EINVAL for a bad name/SAN/trust domain/path (`why`
 * says which), other -errno or crypto errors (ca_strerror names them).
 */
int orch_init(const struct orch_init_opts *o, char pin[X509_PIN_STR_LEN], char *why,
    size_t why_len) WARN_UNUSED;

#endif
