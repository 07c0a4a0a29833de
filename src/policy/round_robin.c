/* "round-robin": the members in config order, one turn of the shared counter each. */
#include "config.h"

#include <string.h>

#include "policy/policies.h"
#include "pool.h"

int
policy_round_robin_pick(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx)
{
	struct pool_view v;
	int b;

	memset(&v, 0, sizeof(v));
	b = pool_rotate(p, g, g->member, g->n, seg, ctx, &v);
	return b >= 0 ? b : pool_nothing(&v.seen);
}

const struct lb_policy policy_round_robin = {
	.name = "round-robin",
	.flags = LB_RAMPS,
	.pick = policy_round_robin_pick,
};
