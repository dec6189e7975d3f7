/*
 * fuzz_orch_record: the orchestrator's journal records and agent identities
 * over arbitrary bytes.
 *
 * registry_apply (one tenant journal record, JSON) must accept or refuse any
 * input without crashing, and whatever it accepted must leave the tenant
 * consistent (agent ids valid and unique, token tenants equal to the
 * tenant's name, job ids unique, command queues bounded).  identity_parse (a client certificate's URI SAN) must give
 * a valid tenant and agent id or -EINVAL.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "orchestrator/identity.h"
#include "orchestrator/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct registry_tenant t;
	struct agent_identity id;
	char *s;
	const char *p = (const char *)data;
	size_t n = size, off = 0;

	memset(&t, 0, sizeof(t));
	memcpy(t.name, "acme", 5);
	/* records separated by newlines, applied in order */
	while (off <= n) {
		const char *nl = memchr(p + off, '\n', n - off);
		size_t len = nl ? (size_t)(nl - (p + off)) : n - off;
		(void)registry_apply(&t, p + off, len);
		off += len + 1;
		if (!nl)
			break;
	}
	for (size_t i = 0; i < t.n_agents; i++) {
		if (!registry_agent_id_valid(t.agents[i].id))
			abort();
		for (size_t k = i + 1; k < t.n_agents; k++)
			if (strcmp(t.agents[i].id, t.agents[k].id) == 0)
				abort();
	}
	for (size_t i = 0; i < t.n_tokens; i++)
		if (strcmp(t.tokens[i].tenant, "acme") != 0)
			abort();
	for (size_t i = 0; i < t.n_agents; i++)
		if (t.agents[i].n_cmds > REGISTRY_MAX_COMMANDS)
			abort();
	for (size_t i = 0; i < t.n_jobs; i++) {
		if (!registry_agent_id_valid(t.jobs[i].agent_id) || !registry_plugin_valid(t.jobs[i].plugin) ||
		    strlen(t.jobs[i].id) != REGISTRY_JOB_ID_SIZE - 1 || !t.jobs[i].args)
			abort();
		for (size_t k = i + 1; k < t.n_jobs; k++)
			if (strcmp(t.jobs[i].id, t.jobs[k].id) == 0)
				abort();
		free(t.jobs[i].args);
		free(t.jobs[i].result);
	}
	free(t.jobs);
	free(t.tokens);
	free(t.agents);

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (identity_parse(s, "corp.example", &id) == 0) {
		if (!token_tenant_valid(id.tenant) || !registry_agent_id_valid(id.agent))
			abort();
	}
	free(s);
	return 0;
}
