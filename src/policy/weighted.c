/*
 * "weighted-round-robin": the shared counter goes through the smooth
 * sequence (balance.c builds it: weights 5,1,1 give a a b a c a a). The
 * entries of a backend that cannot be taken are passed over, so the others
 * keep the order and the proportions of their weights.
 */
#include "config.h"

#include <string.h>

#include "policy/policies.h"
#include "pool.h"

static int
weighted_pick(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx)
{
	struct pool_view v;
	int b;

	memset(&v, 0, sizeof(v));
	b = pool_rotate(p, g, g->seq, g->nseq, seg, ctx, &v);
	return b >= 0 ? b : pool_nothing(&v.seen);
}

const struct lb_policy policy_weighted = {
	.name = "weighted-round-robin",
	.flags = LB_WEIGHTED | LB_RAMPS,
	.pick = weighted_pick,
};
