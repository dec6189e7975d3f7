/* see identity.h */
#include "orchestrator/identity.h"

#include <errno.h>
#include <string.h>

/* Copy the segment up to the next '/' (or the end) into out; advance *p. */
static int segment(const char **p, char *out, size_t cap)
{
	const char *s = *p, *e = strchr(s, '/');
	size_t n = e ? (size_t)(e - s) : strlen(s);

	if (n == 0 || n >= cap)
		return -EINVAL;
	memcpy(out, s, n);
	out[n] = '\0';
	*p = s + n;
	return 0;
}

static int literal(const char **p, const char *lit)
{
	size_t n = strlen(lit);

	if (strncmp(*p, lit, n) != 0)
		return -EINVAL;
	*p += n;
	return 0;
}

int identity_parse(const char *uri, const char *trust_domain, struct agent_identity *out)
{
	const char *p = uri;

	memset(out, 0, sizeof(*out));
	if (!uri || !trust_domain || !trust_domain[0] || strchr(trust_domain, '/'))
		return -EINVAL;
	if (literal(&p, "spiffe://") || literal(&p, trust_domain) || literal(&p, "/tenant/") ||
	    segment(&p, out->tenant, sizeof(out->tenant)) || literal(&p, "/agent/") ||
	    segment(&p, out->agent, sizeof(out->agent)) || *p != '\0' ||
	    !token_tenant_valid(out->tenant) || !registry_agent_id_valid(out->agent)) {
		memset(out, 0, sizeof(*out));
		return -EINVAL;
	}
	return 0;
}
