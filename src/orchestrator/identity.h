/*
 * identity.h: the agent identity of a client certificate,
 * spiffe://<trust-domain>/tenant/<tenant>/agent/<agent-id> (DESIGN §2).
 *
 * The agent-API listener authorizes every request by this identity alone;
 * tenant and agent fields inside request bodies are never trusted.
 */
#ifndef STAVILY_ORCHESTRATOR_IDENTITY_H
#define STAVILY_ORCHESTRATOR_IDENTITY_H

#include <stddef.h>
#include "base/util.h"
#include "orchestrator/registry.h"
#include "orchestrator/token.h"

struct agent_identity {
	char tenant[TOKEN_TENANT_MAX + 1];
	char agent[REGISTRY_AGENT_ID_MAX + 1];
};

/*
 * Split `uri` into tenant and agent id.  The scheme and the trust domain
 * must match exactly (`trust_domain` compared case-sensitively, as we write
 * it), the path must be exactly /tenant/<t>/agent/<a> with a valid tenant
 * name (token_tenant_valid) and agent id (registry_agent_id_valid), nothing
 * before or after.  Returns 0 or -EINVAL.
 */
int identity_parse(const char *uri, const char *trust_domain, struct agent_identity *out) WARN_UNUSED;

#endif
