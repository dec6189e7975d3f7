/*
 * ident.h: the agent's identity on disk (state_dir, mode 0700).
 *
 *   STATE/identity.pem  the private key (PKCS#8) followed by the certificate
 *                       chain (leaf first), mode 0600.  Key and certificate
 *                       live in ONE file so that replacing them is one
 *                       atomic rename: a crash can never pair a new key with
 *                       an old certificate.
 *   STATE/ca.pem        the orchestrator CA bundle from the enrollment
 *                       answer (mode 0600); used as the trust anchor of the
 *                       mTLS listener together with agent.ca_pins.
 *   STATE/quarantine    present while the orchestrator has quarantined us.
 *   STATE/lockdown      present while the local incident switch is on.
 *   STATE/runtime.json  the running worker's view (reachability, spool depth,
 *                       jobs), rewritten after every heartbeat; `agent
 *                       status` reads it because the spool is locked by the
 *                       running agent.
 *   STATE/spool/        the outgoing spool (store/spool.h).
 */
#ifndef STAVILY_AGENT_IDENT_H
#define STAVILY_AGENT_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "crypto/key.h"

#define IDENT_FILE       "identity.pem"
#define IDENT_CA_FILE    "ca.pem"
#define IDENT_QUARANTINE "quarantine"
#define IDENT_LOCKDOWN   "lockdown"       /* `agent lockdown`: the local incident switch */
#define IDENT_RUNTIME    "runtime.json"   /* written by the running worker */
#define IDENT_MAX_PATH   4096
#define IDENT_MAX_FILE   (64 * 1024)

struct agent_ident {
	char *pem;                  /* whole identity.pem (key + chain); wiped when freed */
	size_t pem_len;
	char uri[256];              /* URI SAN of the leaf */
	char trust_domain[128];
	char tenant[65];
	char agent_id[65];
	char serial[41];            /* lower-case hex */
	int64_t not_before, not_after;
};

/* STATE/name into out.  Returns 0 or -ENAMETOOLONG. */
int ident_path(const char *state_dir, const char *name, char out[IDENT_MAX_PATH]) WARN_UNUSED;

/* Split "spiffe://<td>/tenant/<t>/agent/<id>".  Returns 0 or -EINVAL. */
int ident_parse_uri(const char *uri, struct agent_ident *out) WARN_UNUSED;

/*
 * Parse identity PEM text (key + chain): the key must be P-256 and match
 * the leaf's public key; the leaf must carry a spiffe URI SAN.  Copies the
 * text into out->pem.  Returns 0, -EINVAL (mismatch, no identity) or a
 * negative key/x509 error.
 */
int ident_from_pem(const char *pem, size_t len, struct agent_ident *out) WARN_UNUSED;

/* Load STATE/identity.pem.  -ENOENT when the agent is not registered. */
int ident_load(const char *state_dir, struct agent_ident *out) WARN_UNUSED;

/*
 * Store key + certificate chain (+ CA bundle when ca_pem is not NULL)
 * atomically, mode 0600, in STATE (created 0700 if missing; an existing
 * directory is chmod'ed to 0700).  Returns 0 or -errno.
 */
int ident_save(const char *state_dir, const struct key_p256 *key, const char *chain_pem,
    const char *ca_pem) WARN_UNUSED;

/* Build the identity.pem text (key PEM + chain PEM); *out malloc'd, caller
 * wipes and frees. */
int ident_compose(const struct key_p256 *key, const char *chain_pem, char **out,
    size_t *len) WARN_UNUSED;

/* Overwrite identity.pem with zeros, fsync, unlink (revocation).  0 or -errno. */
int ident_wipe(const char *state_dir) WARN_UNUSED;

void ident_free(struct agent_ident *id);

#endif
