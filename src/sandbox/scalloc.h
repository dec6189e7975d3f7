/*
 * scalloc.h: an arena for libseccomp's allocations.
 *
 * A filter compile makes thousands of small allocations inside libseccomp;
 * with musl's malloc (mallocng) about 70% of the compile went to mapping
 * and unmapping memory for them.  vendor/build.sh renames libseccomp's
 * malloc, calloc, realloc, free and strdup to the sandbox_sc_* functions
 * below (objcopy --redefine-sym, in libseccomp.a only: our code and musl
 * keep the real allocator).  While an arena is current in the calling
 * thread they allocate from it by bumping a pointer; otherwise they forward
 * to the real allocator.  (The archive also carries weak definitions that
 * only forward, for programs linked without this module.)
 *
 * Ownership is decided by address: a pointer inside one of the current
 * arena's chunks belongs to the arena (free is a no-op, realloc grows the
 * newest block in place or copies), any other pointer belongs to the real
 * allocator.  So every libseccomp call on a context must run with the arena
 * that context allocated from current (filter.c does this), and the arena
 * is freed after the context has been released.
 *
 * The first arena taken while no other one holds it uses a static buffer
 * (SANDBOX_SCARENA_STATIC bytes of BSS): a one-shot `sandbox run` compiles
 * without a single mmap.  Further chunks come from the real malloc.  An
 * arena never grows past its cap: an allocation past it returns NULL
 * (ENOMEM), which libseccomp reports as -ENOMEM.
 */
#ifndef STAVILY_SANDBOX_SCALLOC_H
#define STAVILY_SANDBOX_SCALLOC_H

#include <stdbool.h>
#include <stddef.h>

#include "base/util.h"

/* Default cap on the chunk memory of one arena: ~45 times what a compile
 * of our policies needs, so that only a runaway compile reaches it. */
#define SANDBOX_SCARENA_CAP (8u << 20)
/* The static first chunk, and the size of each further chunk (a request
 * larger than a chunk gets a chunk of its own size).  A compile of the
 * default policy and its variants uses 140-180 KiB (test_sandbox_scalloc
 * prints it): one static chunk holds it with room to spare. */
#define SANDBOX_SCARENA_STATIC (256u << 10)
#define SANDBOX_SCARENA_CHUNK (128u << 10)

struct sandbox_scarena;

/* A new, empty arena whose chunks never total more than `cap` bytes
 * (0: SANDBOX_SCARENA_CAP).  Returns NULL (errno ENOMEM) when out of
 * memory.  Free with sandbox_scarena_free. */
struct sandbox_scarena *sandbox_scarena_new(size_t cap) WARN_UNUSED;

/* Free the arena and every chunk (every pointer it handed out becomes
 * invalid).  NULL is fine.  `a` must not be current in any thread. */
void sandbox_scarena_free(struct sandbox_scarena *a);

/* Make `a` (or NULL: none) the calling thread's current arena.  Returns
 * the previous one, to give back to sandbox_scarena_enter when done. */
struct sandbox_scarena *sandbox_scarena_enter(struct sandbox_scarena *a);

/* Bytes handed out (headers and alignment included), chunk bytes reserved,
 * and how many chunks came from the real malloc (0: only the static
 * buffer, or nothing yet).  For tests and for sizing the chunks. */
struct sandbox_scarena_stats {
	size_t used;
	size_t reserved;
	size_t heap_chunks;
	int static_chunk;            /* 1: the static buffer is one of the chunks */
};
void sandbox_scarena_stats(const struct sandbox_scarena *a, struct sandbox_scarena_stats *st);

/* For tests: the cap of arenas made with cap 0 (0: SANDBOX_SCARENA_CAP),
 * and `bypass`: the sandbox_sc_* functions ignore the current arena and use
 * the real allocator, as before the arena existed.  Process-wide; call it
 * while no arena is in use. */
void sandbox_scalloc_tune(size_t default_cap, bool bypass);

/* libseccomp's allocator (the renamed symbols): the C library's contract,
 * with the arena rules above.  Not for our own code. */
void *sandbox_sc_malloc(size_t n);
void *sandbox_sc_calloc(size_t nmemb, size_t size);
void *sandbox_sc_realloc(void *p, size_t n);
void sandbox_sc_free(void *p);
char *sandbox_sc_strdup(const char *s);

#endif
