/*
 * registry_fixture.h: the fixture test_registry.c and test_registry_lease.c
 * share: a temporary directory, a fresh registry directory in it per test,
 * and registry_agent records to enroll.  Include it once, after harness.h,
 * in the test's only translation unit; the functions are static inline so
 * that a test need not use them all.
 */
#ifndef STAVILY_TEST_REGISTRY_FIXTURE_H
#define STAVILY_TEST_REGISTRY_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "orchestrator/registry.h"

/* Created by fixture_begin(), removed with everything in it by fixture_end(). */
static char tmpdir[] = "/tmp/stavily-registry.XXXXXX";

static inline void rm_rf(const char *p)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", p);
	if (system(cmd) != 0)
		printf("  cleanup of %s failed\n", p);
}

/* dir = tmpdir/name (n bytes), created empty (mode 0700): a CHECK. */
static inline void fresh(char *dir, size_t n, const char *name)
{
	snprintf(dir, n, "%s/%s", tmpdir, name);
	rm_rf(dir);
	CHECK_EQ_INT(mkdir(dir, 0700), 0);
}

/* Agent `id` of tenant acme, serial 0102, enrolled 1700000000, valid until
 * 1800000000, no remembered key. */
static inline struct registry_agent mk_agent(const char *id)
{
	struct registry_agent a;

	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.identity, sizeof(a.identity), "spiffe://t.d/tenant/acme/agent/%s", id);
	snprintf(a.serial, sizeof(a.serial), "0102");
	snprintf(a.token_id, sizeof(a.token_id), "0123456789ab");
	a.enrolled = 1700000000;
	a.not_after = 1800000000;
	return a;
}

/* 0, or -1 (said on stderr) when the temporary directory cannot be made. */
static inline int fixture_begin(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/* Removes the temporary directory; returns the harness's exit status. */
static inline int fixture_end(void)
{
	rm_rf(tmpdir);
	return HARNESS_EXIT();
}

#endif
