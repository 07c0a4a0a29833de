/*
 * "random-two-choices": two distinct members drawn at random, the one with
 * fewer requests in flight taken. Members that cannot take the request are
 * drawn again; should that not give two, the eligible members are listed and
 * the two drawn among them (a single one is taken as is).
 */
#include "config.h"

#include <string.h>

#include "policy/policies.h"
#include "pool.h"

#define TWO_DRAWS	16	/* members drawn for two eligible ones before a full scan */

/* Of backends a and b, the one with fewer requests in flight (a on a tie). */
static unsigned
two_lighter(const struct pool *p, const struct shm_seg *seg, unsigned a, unsigned b)
{
	return pool_active(p, seg, b) < pool_active(p, seg, a) ? b : a;
}

static int
two_pick(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx)
{
	struct pool_seen seen;
	uint8_t cand[POOL_MAX];
	uint32_t ncand, k, x, y;
	uint64_t r;
	unsigned a = 0, b = 0, i, t, have, pick;

	/*
	 * Members drawn until two distinct eligible ones come up: the same as
	 * drawing among the eligible ones, without listing them (which only
	 * happens when most are out, or the pick lost a race).
	 */
	for (t = 0, have = 0; g->n >= 2 && t < TWO_DRAWS && have < 2; t++) {
		i = g->member[pool_random(ctx->worker) % g->n];
		if ((have == 1 && i == a) || !pool_eligible(p, seg, ctx, i, &seen))
			continue;
		if (have++ == 0)
			a = i;
		else
			b = i;
	}
	if (have == 2) {
		pick = two_lighter(p, seg, a, b);
		if (pool_ramp_skip(p, seg, ctx, pick))
			pick = pick == a ? b : a;	/* slow start: the other, this time */
		if (pool_acquire_capped(p, seg, ctx->worker, pick))
			return (int)pick;
	}
	memset(&seen, 0, sizeof(seen));
	for (ncand = 0, k = 0; k < g->n; k++)
		if (pool_eligible(p, seg, ctx, g->member[k], &seen))
			cand[ncand++] = g->member[k];
	while (ncand > 0) {
		r = pool_random(ctx->worker);
		x = (uint32_t)((r & 0xffffffffu) % ncand);
		pick = cand[x];
		if (ncand >= 2) {
			y = (uint32_t)((r >> 32) % (ncand - 1));
			y += y >= x;
			if (two_lighter(p, seg, pick, cand[y]) != pick ||
			    pool_ramp_skip(p, seg, ctx, pick)) {
				pick = cand[y];
				x = y;
			}
		}
		if (pool_acquire_capped(p, seg, ctx->worker, pick))
			return (int)pick;
		seen.full++;
		cand[x] = cand[--ncand];
	}
	return pool_nothing(&seen);
}

const struct lb_policy policy_two_choices = {
	.name = "random-two-choices",
	.flags = LB_RAMPS,
	.pick = two_pick,
};
