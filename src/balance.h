/*
 * Backend selection. Policies read health from the shared segment and never
 * touch sockets, so the tests drive them with a plain segment.
 *
 * Round robin is global: every worker advances the one atomic counter in the
 * segment, so N workers rotate as one balancer.
 */
#ifndef RONDO_BALANCE_H
#define RONDO_BALANCE_H

#include <stdint.h>

struct shm_seg;

#define BALANCE_MAX 256		/* == CONF_MAX_BACKENDS */

/* Backends already tried for one request, so a retry goes elsewhere. */
struct balance_tried {
	uint64_t bits[BALANCE_MAX / 64];
};

static inline void
balance_tried_add(struct balance_tried *t, int i)
{
	t->bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline int
balance_tried_has(const struct balance_tried *t, int i)
{
	return (t->bits[i / 64] >> (i % 64)) & 1;
}

/*
 * Picks the next healthy backend not in tried, in round-robin order. Returns
 * its index, or -1 when every backend is down or already tried. Safe to call
 * from any number of processes at once.
 */
int balance_pick(struct shm_seg *seg, const struct balance_tried *tried);

/* Number of healthy backends right now. */
unsigned balance_healthy(const struct shm_seg *seg);

#endif
