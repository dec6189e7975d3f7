/*
 * harness.h: the in-tree unit-test harness (redis's habit: tiny, no deps).
 *
 * A test file defines test functions and lists them in main() with RUN().
 * Each CHECK that fails prints "FAIL - test: file:line: expression" and
 * marks the current test failed; each test prints one "ok - name" or
 * "FAIL - name" line, which test/run.sh counts.  Include this file once, in
 * the test's only translation unit.
 */
#ifndef STAVILY_TEST_HARNESS_H
#define STAVILY_TEST_HARNESS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int harness_failed_tests;
static int harness_cur_failed;
static const char *harness_cur_name;

#define CHECK(expr) do { \
	if (!(expr)) { \
		printf("  %s:%d: check failed: %s\n", __FILE__, __LINE__, #expr); \
		harness_cur_failed = 1; \
	} \
} while (0)

#define CHECK_EQ_INT(a, b) do { \
	long long a_ = (long long)(a), b_ = (long long)(b); \
	if (a_ != b_) { \
		printf("  %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, __LINE__, #a, a_, #b, b_); \
		harness_cur_failed = 1; \
	} \
} while (0)

#define CHECK_EQ_STR(a, b) do { \
	const char *a_ = (a), *b_ = (b); \
	if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) { \
		printf("  %s:%d: %s == \"%s\", expected \"%s\"\n", __FILE__, __LINE__, #a, \
		    a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
		harness_cur_failed = 1; \
	} \
} while (0)

#define RUN(fn) do { \
	harness_cur_name = #fn; \
	harness_cur_failed = 0; \
	fn(); \
	if (harness_cur_failed) { \
		harness_failed_tests++; \
		printf("FAIL - %s\n", harness_cur_name); \
	} else { \
		printf("ok - %s\n", harness_cur_name); \
	} \
	fflush(stdout); \
} while (0)

#define HARNESS_EXIT() (harness_failed_tests ? 1 : 0)

#endif
