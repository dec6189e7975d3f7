/* Unit tests for orchestrator/identity.c: the SPIFFE agent identity of a
 * client certificate, parsed strictly. */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "orchestrator/identity.h"

static void test_good(void)
{
	struct agent_identity id;

	CHECK_EQ_INT(identity_parse("spiffe://corp.example/tenant/acme/agent/web-01", "corp.example", &id), 0);
	CHECK_EQ_STR(id.tenant, "acme");
	CHECK_EQ_STR(id.agent, "web-01");
	CHECK_EQ_INT(identity_parse("spiffe://t/tenant/a.b_c/agent/x.Y-9", "t", &id), 0);
	CHECK_EQ_STR(id.tenant, "a.b_c");
	CHECK_EQ_STR(id.agent, "x.Y-9");
}

static void test_bad(void)
{
	struct agent_identity id;
	const char *bad[] = {
		"",
		"spiffe://corp.example/tenant/acme/agent/",
		"spiffe://corp.example/tenant//agent/a",
		"spiffe://other.example/tenant/acme/agent/a",      /* another trust domain */
		"spiffe://corp.example.evil/tenant/acme/agent/a",  /* prefix of a longer domain */
		"spiffe://corp.exampl/tenant/acme/agent/a",
		"https://corp.example/tenant/acme/agent/a",
		"spiffe://corp.example/tenant/acme/agent/a/",
		"spiffe://corp.example/tenant/acme/agent/a/b",
		"spiffe://corp.example/tenant/acme/agent/a?x",
		"spiffe://corp.example/tenant/../agent/a",
		"spiffe://corp.example/tenant/.acme/agent/a",
		"spiffe://corp.example/tenant/acme/agent/.a",
		"spiffe://corp.example/tenants/acme/agent/a",
		"spiffe://corp.example/tenant/acme/agents/a",
		"spiffe://corp.example//tenant/acme/agent/a",
		"SPIFFE://corp.example/tenant/acme/agent/a",
		"spiffe://corp.example/tenant/ac me/agent/a",
		"spiffe://corp.example/tenant/acme/agent/a%2Fb",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = identity_parse(bad[i], "corp.example", &id);
		if (r != -EINVAL)
			printf("  accepted: %s\n", bad[i]);
		CHECK_EQ_INT(r, -EINVAL);
		CHECK_EQ_STR(id.tenant, "");
	}
	/* overlong parts */
	char uri[400], longname[80];
	memset(longname, 'a', 65);
	longname[65] = '\0';
	snprintf(uri, sizeof(uri), "spiffe://corp.example/tenant/%s/agent/a", longname);
	CHECK_EQ_INT(identity_parse(uri, "corp.example", &id), -EINVAL);
	snprintf(uri, sizeof(uri), "spiffe://corp.example/tenant/a/agent/%s", longname);
	CHECK_EQ_INT(identity_parse(uri, "corp.example", &id), -EINVAL);
	CHECK_EQ_INT(identity_parse(NULL, "corp.example", &id), -EINVAL);
	CHECK_EQ_INT(identity_parse("spiffe://a/b/tenant/t/agent/a", "a/b", &id), -EINVAL);
	CHECK_EQ_INT(identity_parse("spiffe:///tenant/t/agent/a", "", &id), -EINVAL);
}

int main(void)
{
	RUN(test_good);
	RUN(test_bad);
	return HARNESS_EXIT();
}
