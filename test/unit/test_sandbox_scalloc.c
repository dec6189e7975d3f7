/* Unit tests for sandbox/scalloc.c, the arena libseccomp allocates from,
 * and its use by sandbox/filter.c: the arena's rules (alignment, realloc,
 * free, the static chunk, the cap), the same BPF program with and without
 * the arena, and a compile that hits the cap failing with ENOMEM. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "base/timefmt.h"
#include "sandbox/filter.h"
#include "sandbox/policy.h"
#include "sandbox/scalloc.h"

/* The static first chunk is free again: a new arena gets it. */
static void
check_static_chunk_free(void)
{
	struct sandbox_scarena *a = sandbox_scarena_new(0);
	struct sandbox_scarena_stats st;

	CHECK(a != NULL);
	if (a != NULL) {
		sandbox_scarena_stats(a, &st);
		CHECK_EQ_INT(st.static_chunk, 1);
	}
	sandbox_scarena_free(a);
}

static void
test_arena_rules(void)
{
	struct sandbox_scarena *a = sandbox_scarena_new(0), *prev;
	struct sandbox_scarena_stats st;
	unsigned char *p, *q, *r;
	char *s, *real;
	size_t i;

	CHECK(a != NULL);
	if (a == NULL)
		return;
	/* Allocated before the arena: the real allocator's, freed there. */
	real = sandbox_sc_strdup("before");
	CHECK(real != NULL);
	prev = sandbox_scarena_enter(a);
	CHECK(prev == NULL);
	p = sandbox_sc_malloc(3);
	q = sandbox_sc_malloc(1);
	CHECK(p != NULL && q != NULL);
	CHECK(((uintptr_t)p & 15) == 0);
	CHECK(((uintptr_t)q & 15) == 0);
	CHECK(q >= p + 16);
	memcpy(p, "ab", 3);
	/* Not the newest block: realloc copies. */
	r = sandbox_sc_realloc(p, 100);
	CHECK(r != NULL && r != p);
	CHECK_EQ_STR((char *)r, "ab");
	/* The newest block grows in place. */
	CHECK(sandbox_sc_realloc(r, 1000) == r);
	CHECK_EQ_STR((char *)r, "ab");
	/* Shrinking keeps the block. */
	CHECK(sandbox_sc_realloc(r, 10) == r);
	s = sandbox_sc_strdup("seccomp");
	CHECK(s != NULL);
	CHECK_EQ_STR(s, "seccomp");
	/* free of arena blocks: no-op (the bytes stay readable until the
	 * arena goes); free of the real allocator's block: the real free
	 * (ASan would report a bad free or a leak otherwise). */
	sandbox_sc_free(s);
	CHECK_EQ_STR(s, "seccomp");
	sandbox_sc_free(real);
	sandbox_sc_free(NULL);
	/* calloc zeroes even reused memory; overflow is refused. */
	memset(q, 0xa5, 1);
	p = sandbox_sc_calloc(64, 4);
	CHECK(p != NULL);
	for (i = 0; p != NULL && i < 256; i++)
		if (p[i] != 0)
			break;
	CHECK_EQ_INT((int)i, 256);
	errno = 0;
	CHECK(sandbox_sc_calloc(SIZE_MAX / 2, 4) == NULL);
	CHECK_EQ_INT(errno, ENOMEM);
	/* A block bigger than a chunk gets a chunk of its own. */
	p = sandbox_sc_malloc(SANDBOX_SCARENA_STATIC + 1);
	CHECK(p != NULL);
	if (p != NULL)
		memset(p, 1, SANDBOX_SCARENA_STATIC + 1);
	sandbox_scarena_stats(a, &st);
	CHECK_EQ_INT(st.static_chunk, 1);
	CHECK_EQ_INT((int)st.heap_chunks, 1);
	CHECK(st.used > SANDBOX_SCARENA_STATIC);
	CHECK(sandbox_scarena_enter(prev) == a);

	/* A second arena while the first holds the static buffer: heap only. */
	{
		struct sandbox_scarena *b = sandbox_scarena_new(0);

		CHECK(b != NULL);
		if (b != NULL) {
			sandbox_scarena_stats(b, &st);
			CHECK_EQ_INT(st.static_chunk, 0);
			CHECK_EQ_INT((int)st.reserved, 0);
		}
		sandbox_scarena_free(b);
	}
	sandbox_scarena_free(a);
	/* ... and free again once the first one is gone. */
	check_static_chunk_free();
}

/* The cap: past it NULL and ENOMEM, never more chunk memory than the cap. */
static void
test_arena_cap(void)
{
	struct sandbox_scarena *a = sandbox_scarena_new(4096), *prev;
	struct sandbox_scarena_stats st;
	int n = 0;

	CHECK(a != NULL);
	if (a == NULL)
		return;
	prev = sandbox_scarena_enter(a);
	while (n < 1000 && sandbox_sc_malloc(100) != NULL)
		n++;
	CHECK(n > 10 && n < 1000);
	errno = 0;
	CHECK(sandbox_sc_malloc(100) == NULL);
	CHECK_EQ_INT(errno, ENOMEM);
	CHECK(sandbox_sc_malloc(5000) == NULL);
	sandbox_scarena_enter(prev);
	sandbox_scarena_stats(a, &st);
	CHECK(st.reserved <= 4096);
	CHECK_EQ_INT(st.static_chunk, 0);
	sandbox_scarena_free(a);
}

/* Compile `p` (prepared, then compiled: the spawn's path, which keeps the
 * context and its arena); copies the program into `out`. */
static size_t
compile(const struct sandbox_policy *p, bool user_notif, unsigned char *out, size_t cap,
    struct sandbox_scarena_stats *st, uint64_t ns[2])
{
	struct sandbox_filter lazy, f;
	char err[SANDBOX_ERR_LEN] = "";
	size_t len = 0;
	uint64_t t0;

	memset(st, 0, sizeof(*st));
	CHECK_EQ_INT(sandbox_filter_prepare(p, user_notif, &lazy, err), 0);
	t0 = time_mono_ns();
	if (sandbox_filter_compile(&lazy, &f, err) != 0) {
		printf("  compile: %s\n", err);
		CHECK(0);
		return 0;
	}
	ns[0] = time_mono_ns() - t0;
	len = (size_t)f.prog.len * sizeof(struct sock_filter);
	CHECK(len > 0 && len <= cap);
	if (len <= cap)
		memcpy(out, f.prog.filter, len);
	CHECK(f.arena != NULL);
	if (f.arena != NULL)
		sandbox_scarena_stats(f.arena, st);
	t0 = time_mono_ns();
	sandbox_filter_free(&f);
	ns[1] = time_mono_ns() - t0;
	CHECK(f.arena == NULL && f.ctx == NULL);
	return len;
}

/* The same program byte for byte, with the arena and with libseccomp on
 * the real allocator, for several policies. */
static void
test_same_program(void)
{
	static const char *const variants[][4] = {
		{ NULL },
		{ "allowed_syscalls=", "report_fs_denials=true", NULL },
		{ "blocked_syscalls=socket,fork,ptrace,mount", "max_open_files=16", "memory_limit=64M" },
	};
	static unsigned char with[SANDBOX_BPF_MAX_BYTES], without[SANDBOX_BPF_MAX_BYTES];
	size_t v, i, lw, lo;
	int un;

	for (v = 0; v < ARRAY_SIZE(variants); v++) {
		for (un = 0; un < 2; un++) {
			struct sandbox_policy p;
			struct sandbox_scarena_stats st, st2;
			char err[SANDBOX_ERR_LEN] = "";
			uint64_t ns_with[2], ns_without[2];

			sandbox_policy_init_default(&p);
			for (i = 0; variants[v][i] != NULL; i++)
				CHECK_EQ_INT(sandbox_policy_set(&p, variants[v][i], err), 0);
			sandbox_scalloc_tune(0, true);
			lo = compile(&p, un != 0, without, sizeof(without), &st2, ns_without);
			sandbox_scalloc_tune(0, false);
			lw = compile(&p, un != 0, with, sizeof(with), &st, ns_with);
			CHECK(lw == lo);
			CHECK(lw == lo && memcmp(with, without, lw) == 0);
			/* The arena was used (and not with bypass), within the
			 * static buffer: no chunk from malloc. */
			CHECK(st.used > 0);
			CHECK_EQ_INT((int)st2.used, 0);
			CHECK_EQ_INT(st.static_chunk, 1);
			CHECK_EQ_INT((int)st.heap_chunks, 0);
			printf("  policy %zu user_notif=%d: %zu instructions, arena %zu bytes, "
			    "compile %llu us, free %llu us (real malloc: %llu us, %llu us)\n", v, un,
			    lw / sizeof(struct sock_filter), st.used,
			    (unsigned long long)(ns_with[0] / 1000), (unsigned long long)(ns_with[1] / 1000),
			    (unsigned long long)(ns_without[0] / 1000),
			    (unsigned long long)(ns_without[1] / 1000));
			sandbox_policy_free(&p);
		}
	}
}

/* A compile that needs more than the cap fails cleanly with ENOMEM, and
 * everything is released (the static buffer is free again). */
static void
test_compile_cap(void)
{
	struct sandbox_policy p;
	struct sandbox_filter f, lazy;
	char err[SANDBOX_ERR_LEN] = "";
	size_t caps[] = { 1024, 16 << 10, 64 << 10 };
	size_t i;

	sandbox_policy_init_default(&p);
	for (i = 0; i < ARRAY_SIZE(caps); i++) {
		err[0] = '\0';
		sandbox_scalloc_tune(caps[i], false);
		CHECK_EQ_INT(sandbox_filter_build(&p, true, &f, err), -ENOMEM);
		CHECK(strstr(err, "seccomp filter: ") == err);
		CHECK(f.prog.filter == NULL);
		err[0] = '\0';
		CHECK_EQ_INT(sandbox_filter_prepare(&p, false, &lazy, err), 0);
		CHECK_EQ_INT(sandbox_filter_compile(&lazy, &f, err), -ENOMEM);
		CHECK(f.ctx == NULL && f.arena == NULL);
		sandbox_filter_free(&f);
	}
	sandbox_scalloc_tune(0, false);
	check_static_chunk_free();
	/* And the default cap compiles again. */
	err[0] = '\0';
	CHECK_EQ_INT(sandbox_filter_build(&p, true, &f, err), 0);
	sandbox_filter_free(&f);
	sandbox_policy_free(&p);
}

int
main(void)
{
	RUN(test_arena_rules);
	RUN(test_arena_cap);
	RUN(test_same_program);
	RUN(test_compile_cap);
	return HARNESS_EXIT();
}
