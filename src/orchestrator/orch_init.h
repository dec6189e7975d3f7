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
 *   STATE/ca-backup.key  the backup CA's key (0600): the operator moves it
 *                     offline; its pin goes into agent.ca_pins next to the
 *                     primary's, so that a CA rollover needs no agent change
 *   STATE/ca-backup.pem  the backup CA's certificate (self-signed, 0644):
 *                     stays, and is sent to agents with the CA bundle
 *
 * CA pin rollover (orch_rollover, docs/operations.md "CA pin rollover"):
 * the backup CA becomes the CA (ca.key, ca.pem), the server certificate is
 * reissued under it, the old CA certificate becomes STATE/ca-previous.pem
 * (still trusted for agents' client certificates until the operator
 * removes it), the old CA key is replaced (gone), and a new backup CA is
 * created.
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
#define ORCH_CA_BACKUP_KEY_FILE  "ca-backup.key"
#define ORCH_CA_BACKUP_CERT_FILE "ca-backup.pem"
#define ORCH_CA_PREVIOUS_FILE    "ca-previous.pem"
#define ORCH_BUNDLE_MAX      (64 * 1024)   /* a CA bundle file we read */

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

/*
 * Create the backup CA in `dir`: ca-backup.pem (certificate first) then
 * ca-backup.key; refuses with -EEXIST when ca-backup.key exists and with
 * -ENOENT when `dir` holds no ca.pem (not a state directory).  Its pin
 * goes to `pin`.  (orch_init does this; exposed for orch_rollover and for
 * state directories made before backups existed.)
 */
int orch_backup_create(const char *dir, char pin[X509_PIN_STR_LEN]) WARN_UNUSED;

struct orch_rollover_opts {
	const char *state_dir;          /* required; the orchestrator must be stopped */
	const char *backup_key;         /* the backup CA key brought back from offline */
};

/* What orch_rollover did (pins "sha256:<hex>"). */
struct orch_rollover_result {
	char previous_pin[X509_PIN_STR_LEN];   /* the retired CA */
	char pin[X509_PIN_STR_LEN];            /* the new CA (the former backup) */
	char next_backup_pin[X509_PIN_STR_LEN];   /* the new backup CA */
};

/*
 * Roll the CA over to the backup CA (see the top of this file).  Refuses
 * (nothing changed) with -EBUSY when the orchestrator runs (it holds the
 * audit log), -EEXIST when STATE/ca-previous.pem exists (the last rollover
 * is not finished), -EINVAL when the key is not the backup CA's (`why` says
 * which), other -errno / crypto errors.  Writes an audit record
 * "ca_rolled_over".
 */
int orch_rollover(const struct orch_rollover_opts *o, struct orch_rollover_result *res,
    char *why, size_t why_len) WARN_UNUSED;

/*
 * Concatenate the PEM files dir/names[0..n) that exist (each at most
 * ORCH_BUNDLE_MAX bytes) into one NUL-terminated malloc'd string; a
 * missing file other than the first is skipped.  0 or -errno.
 */
int orch_pem_bundle(const char *dir, const char *const *names, size_t n, char **out,
    size_t *len) WARN_UNUSED;

#endif
