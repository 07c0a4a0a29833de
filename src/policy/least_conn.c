/*
 * "least-connections": the fewest requests in flight over all workers per
 * unit of weight. The eligible members with that fewest are tied, and the tie
 * is broken by the rotation through the smooth sequence, so ties go round (in
 * proportion to weight) among the tied ones alone: idle backends share evenly
 * however many others are down. A tied backend that fills up between the look
 * and the acquire is set aside and the look done again.
 *
 * A slow-starting backend counts with the part of its weight it has, and
 * the rotation among ties passes over its turns as often as it lacks.
 *
 * The look reads every member's count: one pick costs a pass over the group
 * (about 1 µs for 256 backends, see check_balance's test_cost_256).
 */
#include "config.h"

#include <string.h>

#include "policy/policies.h"
#include "pool.h"

static int
least_conn_pick(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx)
{
	struct pool_view v;
	uint32_t k, round;
	int64_t a, w, best_a = 0, best_w = 1;
	unsigned i;
	int best;

	memset(&v, 0, sizeof(v));
	for (round = 0; round <= g->n; round++) {
		memset(&v.known, 0, sizeof(v.known));
		memset(&v.ok, 0, sizeof(v.ok));
		memset(&v.seen, 0, sizeof(v.seen));
		best = -1;
		for (k = 0; k < g->n; k++) {
			i = g->member[k];
			pick_tried_add(&v.known, (int)i);
			if (!pool_eligible(p, seg, ctx, i, &v.seen))
				continue;
			if (pick_tried_has(&v.lost, (int)i)) {
				v.seen.full++;
				continue;
			}
			a = pool_active(p, seg, i);
			w = (int64_t)pool_weight(p, seg, i) * pool_ramp(p, seg, i);
			if (best == -1 || a * best_w < best_a * w) {
				best = (int)i;
				best_a = a;
				best_w = w;
				memset(&v.ok, 0, sizeof(v.ok));
			}
			if (a * best_w == best_a * w)
				pick_tried_add(&v.ok, (int)i);
		}
		if (best == -1)
			break;
		if ((best = pool_rotate(p, g, g->seq, g->nseq, seg, ctx, &v)) >= 0)
			return best;
	}
	return pool_nothing(&v.seen);
}

const struct lb_policy policy_least_conn = {
	.name = "least-connections",
	.flags = LB_WEIGHTED | LB_RAMPS,
	.pick = least_conn_pick,
};
