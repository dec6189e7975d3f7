/* see scalloc.h */
#include "sandbox/scalloc.h"

#include <errno.h>
#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Every block starts on 16 bytes (what malloc promises on x86-64), after a
 * 16-byte header that holds its size, so that realloc knows what to copy. */
#define SC_ALIGN 16u
#define SC_HDR 16u
#define SC_ROUND(n) (((n) + (SC_ALIGN - 1)) & ~(size_t)(SC_ALIGN - 1))

struct scchunk {
	struct scchunk *next;        /* older chunk */
	unsigned char *base;         /* SC_ALIGN-aligned */
	size_t size;
	size_t used;
};

struct sandbox_scarena {
	struct scchunk *head;        /* chunk being filled; older ones behind it */
	struct scchunk st;           /* descriptor of the static buffer, when ours */
	size_t reserved;             /* bytes of all chunks */
	size_t cap;
	size_t heap_chunks;
};

/* The static first chunk: BSS costs only the pages a compile touches.
 * Taken by one arena at a time. */
static alignas(SC_ALIGN) unsigned char static_buf[SANDBOX_SCARENA_STATIC];
static atomic_flag static_busy = ATOMIC_FLAG_INIT;

/* The sandbox code compiles filters on one thread per process, but the
 * current arena is per thread so that another thread's libseccomp calls
 * (none today) could never land in it. */
static _Thread_local struct sandbox_scarena *current;

/* sandbox_scalloc_tune */
static size_t default_cap = SANDBOX_SCARENA_CAP;
static bool bypass;

void
sandbox_scalloc_tune(size_t cap, bool bypass_arena)
{
	default_cap = cap != 0 ? cap : SANDBOX_SCARENA_CAP;
	bypass = bypass_arena;
}

/* The arena the sandbox_sc_* functions use now, or NULL. */
static struct sandbox_scarena *
active(void)
{
	return bypass ? NULL : current;
}

struct sandbox_scarena *
sandbox_scarena_new(size_t cap)
{
	struct sandbox_scarena *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->cap = cap != 0 ? cap : default_cap;
	if (a->cap >= SANDBOX_SCARENA_STATIC && !atomic_flag_test_and_set(&static_busy)) {
		a->st.base = static_buf;
		a->st.size = SANDBOX_SCARENA_STATIC;
		a->head = &a->st;
		a->reserved = SANDBOX_SCARENA_STATIC;
	}
	return a;
}

void
sandbox_scarena_free(struct sandbox_scarena *a)
{
	struct scchunk *c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		if (c == &a->st)
			atomic_flag_clear(&static_busy);
		else
			free(c);
	}
	free(a);
}

struct sandbox_scarena *
sandbox_scarena_enter(struct sandbox_scarena *a)
{
	struct sandbox_scarena *prev = current;

	current = a;
	return prev;
}

void
sandbox_scarena_stats(const struct sandbox_scarena *a, struct sandbox_scarena_stats *st)
{
	const struct scchunk *c;

	memset(st, 0, sizeof(*st));
	for (c = a->head; c != NULL; c = c->next) {
		st->used += c->used;
		if (c == &a->st)
			st->static_chunk = 1;
	}
	st->reserved = a->reserved;
	st->heap_chunks = a->heap_chunks;
}

static bool
owns(const struct sandbox_scarena *a, const void *p)
{
	const struct scchunk *c;
	uintptr_t u = (uintptr_t)p;

	for (c = a->head; c != NULL; c = c->next)
		if (u >= (uintptr_t)c->base && u < (uintptr_t)c->base + c->used)
			return true;
	return false;
}

static size_t
block_size(const void *p)
{
	size_t n;

	memcpy(&n, (const unsigned char *)p - SC_HDR, sizeof(n));
	return n;
}

/* A new chunk able to hold `need` bytes, within the cap. */
static int
grow(struct sandbox_scarena *a, size_t need)
{
	size_t desc = SC_ROUND(sizeof(struct scchunk));
	size_t size = need > SANDBOX_SCARENA_CHUNK ? need : SANDBOX_SCARENA_CHUNK;
	struct scchunk *c;

	if (a->reserved > a->cap || need > a->cap - a->reserved)
		return -ENOMEM;
	if (size > a->cap - a->reserved)
		size = a->cap - a->reserved; /* a last, smaller chunk up to the cap */
	c = malloc(desc + size);
	if (c == NULL)
		return -ENOMEM;
	c->base = (unsigned char *)c + desc;
	c->size = size;
	c->used = 0;
	c->next = a->head;
	a->head = c;
	a->reserved += size;
	a->heap_chunks++;
	return 0;
}

static void *
arena_alloc(struct sandbox_scarena *a, size_t n)
{
	size_t need;
	unsigned char *p;

	if (n > a->cap) {
		errno = ENOMEM;
		return NULL;
	}
	need = SC_HDR + SC_ROUND(n);
	if ((a->head == NULL || a->head->size - a->head->used < need) && grow(a, need) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	p = a->head->base + a->head->used + SC_HDR;
	memcpy(p - SC_HDR, &n, sizeof(n));
	a->head->used += need;
	return p;
}

void *
sandbox_sc_malloc(size_t n)
{
	struct sandbox_scarena *a = active();

	return a != NULL ? arena_alloc(a, n) : malloc(n);
}

void *
sandbox_sc_calloc(size_t nmemb, size_t size)
{
	struct sandbox_scarena *a = active();
	void *p;

	if (a == NULL)
		return calloc(nmemb, size);
	if (size != 0 && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	/* The static buffer is reused: never assume zeroed memory. */
	p = arena_alloc(a, nmemb * size);
	if (p != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

void *
sandbox_sc_realloc(void *p, size_t n)
{
	struct sandbox_scarena *a = active();
	struct scchunk *h;
	size_t old;
	void *q;

	if (p == NULL)
		return sandbox_sc_malloc(n);
	if (a == NULL || !owns(a, p))
		return realloc(p, n); /* the real allocator's block stays its own */
	old = block_size(p);
	h = a->head;
	/* The newest block of the chunk being filled grows in place: the
	 * generated BPF program is grown this way block after block. */
	if (n <= a->cap && (unsigned char *)p + SC_ROUND(old) == h->base + h->used &&
	    SC_ROUND(n) - SC_ROUND(old) <= h->size - h->used && n >= old) {
		h->used += SC_ROUND(n) - SC_ROUND(old);
		memcpy((unsigned char *)p - SC_HDR, &n, sizeof(n));
		return p;
	}
	if (n <= old) {
		memcpy((unsigned char *)p - SC_HDR, &n, sizeof(n));
		return p;
	}
	q = arena_alloc(a, n);
	if (q != NULL)
		memcpy(q, p, old);
	return q;
}

void
sandbox_sc_free(void *p)
{
	struct sandbox_scarena *a = active();

	/* Arena blocks go with their arena. */
	if (p == NULL || (a != NULL && owns(a, p)))
		return;
	free(p);
}

char *
sandbox_sc_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = sandbox_sc_malloc(n);

	if (d != NULL)
		memcpy(d, s, n);
	return d;
}
