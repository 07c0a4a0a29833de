/*
 * "random-two-choices": two distinct members drawn at random, the one with
 * fewer requests in flight taken. Pairs are drawn a few times while one of
 * them cannot take the request; then the eligible members are listed and the
 * two drawn among them (a single one is taken as is).
 */
#include "config.h"

#include <string.h>

#include "policy/policies.h"
#include "pool.h"

#define TWO_TRIES	4	/* random pairs drawn before a full scan */

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
	unsigned a, b, t, pick;

	if (g->n >= 2) {
		for (t = 0; t < TWO_TRIES; t++) {
			memset(&seen, 0, sizeof(seen));
			r = pool_random(ctx->worker);
			x = (uint32_t)((r & 0xffffffffu) % g->n);
			y = (uint32_t)((r >> 32) % (g->n - 1));
			y += y >= x;
			a = g->member[x];
			b = g->member[y];
			if (!pool_eligible(p, seg, ctx, a, &seen) ||
			    !pool_eligible(p, seg, ctx, b, &seen))
				continue;
			pick = two_lighter(p, seg, a, b);
			if (pool_ramp_skip(p, seg, ctx, pick))
				pick = pick == a ? b : a;	/* slow start: the other, this time */
			if (pool_acquire_capped(p, seg, ctx->worker, pick))
				return (int)pick;
		}
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
