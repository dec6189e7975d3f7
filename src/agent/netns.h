/*
 * netns.h: a pool of loopback-only network namespaces that the spawner's
 * jobs join (setns) instead of creating one each.
 *
 * Why: a fresh network namespace costs ~0.4 ms in unshare() and about 1 ms
 * of kernel worker time (cleanup_net) when its last user is gone, which on a
 * small machine competes with the job round trip itself (docs/agent.md,
 * "Reused network namespaces").  The pool holds at most one namespace per
 * job slot (agent.max_concurrent_jobs), created lazily when a job first
 * needs one, and keeps each alive by an O_CLOEXEC descriptor of
 * /proc/PID/ns/net.
 *
 * A slot is busy from the job's start until its sandbox init was reaped
 * (netns_pool_put after sandbox_run_free): under a pid namespace that
 * reaping means no process of the job is left, so no socket of the job
 * either.  Who may join a slot is sandbox_netns_joinable's decision
 * (sandbox/spawn.h), asked by the spawner before it takes one and by the
 * sandbox again before it joins.
 *
 * Not thread-safe: the spawner is single-threaded.
 */
#ifndef STAVILY_AGENT_NETNS_H
#define STAVILY_AGENT_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/util.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"

/* At most this many slots (the spawner's SPAWNER_MAX_JOBS). */
#define NETNS_POOL_MAX 64

struct netns_pool {
	size_t size;                  /* slots allowed, 0..NETNS_POOL_MAX */
	int fd[NETNS_POOL_MAX];       /* namespace descriptor, -1 = not created yet */
	bool busy[NETNS_POOL_MAX];
	bool unavailable;             /* creating a slot failed: fresh namespaces from now on */
	uint64_t created, taken, fresh; /* counters: slots made, joins handed out, no slot free */
};

/* An empty pool of `size` slots (capped at NETNS_POOL_MAX); creates
 * nothing.  Cannot fail. */
void netns_pool_init(struct netns_pool *np, size_t size);

/*
 * Take a free slot, creating its namespace if it has none yet.  Returns the
 * slot (>= 0; netns_pool_fd gives its descriptor, borrowed), or -1: no slot
 * (all busy, size 0, or the pool is unavailable): use a fresh namespace.
 * When this call's attempt to create a namespace failed, *create_err is set
 * to -errno (else 0): the pool is then unavailable for good, and the caller
 * reports it once.
 */
int netns_pool_take(struct netns_pool *np, int *create_err) WARN_UNUSED;

/* Descriptor of a taken slot (borrowed), or -1 for a bad slot. */
int netns_pool_fd(const struct netns_pool *np, int slot);

/* Give a slot back.  Only after the job's sandbox init was reaped. */
void netns_pool_put(struct netns_pool *np, int slot);

/* Close every namespace descriptor (the kernel then frees the namespaces).
 * The pool is empty and unavailable afterwards; safe to call twice. */
void netns_pool_close(struct netns_pool *np);

/*
 * Create one loopback-only network namespace: a short-lived child is
 * cloned into a new network namespace, brings `lo` up and stops itself;
 * the parent opens /proc/CHILD/ns/net (O_CLOEXEC), then kills and reaps the
 * child.  Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root).  Returns the
 * descriptor (caller closes), or -errno (-ENETDOWN: lo could not be
 * brought up).
 */
int netns_create(void) WARN_UNUSED;

#endif
