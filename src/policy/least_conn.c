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
 * A group of more than LC_BLOCK members is cut in blocks of LC_BLOCK, and
 * each block has a floor in the segment (pool_words): a lower bound of the
 * requests per weight of its members that are up and not drained, counting
 * this generation's requests and the full weight (a previous generation's
 * requests and a slow start only add to a member's load). A pick looks at the
 * block with the lowest floor first, then only at blocks whose floor is below
 * the lightest member found so far; the tie that decides is then settled by
 * the rotation, which looks at the members of the other blocks one at a time
 * (pool_view's bar) and skips those of a block whose floor is above it. With
 * 256 idle backends a pick reads 16 floors, one block and one member, where a
 * plain scan would read all 256.
 *
 * A floor only has to be low enough. What lowers a member's load lowers its
 * block's floor at once: a request that finishes (done), a backend that comes
 * up or back from a drain or gets a higher weight (changed: the floor goes to
 * 0). What raises it (a request taken, a backend going down) leaves the floor
 * low, and the next pick that looks at the block raises the floor to what it
 * saw. Each floor word carries a version that every lowering moves on, so that
 * a raise computed from what a pick saw before a lowering fails rather than
 * undoing it.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>

#include "policy/policies.h"
#include "pool.h"
#include "shm.h"

#define LC_BLOCK	16			/* members per floor */
#define LC_UNIT		65536u			/* a floor counts requests per weight in 1/LC_UNIT */
#define LC_FLOOR_BITS	40			/* the floor; the version above it */
#define LC_FLOOR_MASK	((UINT64_C(1) << LC_FLOOR_BITS) - 1)
#define LC_ACTIVE_MAX	((UINT64_C(1) << 24) - 1)	/* so that a floor fits its bits */
/* A floor f is at least the lightest load a/w (w = weight * POOL_RAMP_ONE) when f * w >= a * LC_SCALE. */
#define LC_SCALE	((uint64_t)LC_UNIT * POOL_RAMP_ONE)

_Static_assert(POOL_MAX / LC_BLOCK <= POOL_GROUP_WORDS, "a word for every block");

/* The lightest member seen: a requests in flight for a weight of w (pool_weight * pool_ramp). */
struct lc_best {
	int i;
	uint64_t a, w;
};

static uint64_t
lc_floor(uint64_t word)
{
	return word & LC_FLOOR_MASK;
}

/* The same floor with the next version. */
static uint64_t
lc_word(uint64_t old, uint64_t floor)
{
	return (((old >> LC_FLOOR_BITS) + 1) << LC_FLOOR_BITS) | floor;
}

/* What backend i alone allows its block's floor: this generation's requests per run-time weight. */
static uint64_t
lc_floor_of(const struct pool *p, const struct shm_seg *seg, unsigned i)
{
	int64_t a = atomic_load_explicit(&seg->backends[i].active, memory_order_relaxed);

	if (a < 0)
		a = 0;
	if ((uint64_t)a > LC_ACTIVE_MAX)
		a = (int64_t)LC_ACTIVE_MAX;
	return (uint64_t)a * LC_UNIT / pool_weight(p, seg, i);
}

/* Lowers the floor of *word to at most <floor>, and always moves its version on. */
static void
lc_lower(_Atomic uint64_t *word, uint64_t floor)
{
	uint64_t old = atomic_load(word);

	while (!atomic_compare_exchange_weak(word, &old,
	    lc_word(old, lc_floor(old) < floor ? lc_floor(old) : floor)))
		;
}

/* One past the last member of block b of g. */
static uint32_t
lc_block_end(const struct pool_group *g, unsigned b)
{
	return (b + 1) * LC_BLOCK < g->n ? (b + 1) * LC_BLOCK : g->n;
}

/* Of the blocks in todo, the one with the lowest floor (the first of equals). */
static unsigned
lc_lowest(const uint64_t *word, uint32_t todo)
{
	unsigned b, best = 0;
	int found = 0;

	for (b = 0; todo != 0; b++, todo >>= 1)
		if ((todo & 1) && (!found || lc_floor(word[b]) < lc_floor(word[best]))) {
			best = b;
			found = 1;
		}
	return best;
}

/*
 * Looks at members k0 to k1 (excluded) of g: the lightest eligible ones go
 * to best and v->ok, and *floor is lowered to what the members up and not
 * drained allow.
 */
static void
lc_visit(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx, struct pool_view *v, struct lc_best *best, uint32_t k0,
    uint32_t k1, uint64_t *floor)
{
	uint64_t a, w, f;
	uint32_t k;
	unsigned i;

	for (k = k0; k < k1; k++) {
		i = g->member[k];
		pick_tried_add(&v->known, (int)i);
		if (shm_backend_up(seg, i) &&
		    !atomic_load_explicit(&seg->backends[i].drain, memory_order_relaxed) &&
		    (f = lc_floor_of(p, seg, i)) < *floor)
			*floor = f;
		if (!pool_eligible(p, seg, ctx, i, &v->seen))
			continue;
		if (pick_tried_has(&v->lost, (int)i)) {
			v->seen.full++;
			continue;
		}
		a = (uint64_t)pool_active(p, seg, i);
		w = (uint64_t)pool_weight(p, seg, i) * pool_ramp(p, seg, i);
		if (best->i == -1 || a * best->w < best->a * w) {
			best->i = (int)i;
			best->a = a;
			best->w = w;
			memset(&v->ok, 0, sizeof(v->ok));
		}
		if (a * best->w == best->a * w)
			pick_tried_add(&v->ok, (int)i);
	}
}

static int
least_conn_pick(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx)
{
	_Atomic uint64_t *words = pool_words(p, g, seg);
	uint64_t word[POOL_GROUP_WORDS], floor;
	int floors = g->n > LC_BLOCK;
	uint32_t nb = floors ? (g->n + LC_BLOCK - 1) / LC_BLOCK : 1;
	uint32_t all = (UINT32_C(1) << nb) - 1;
	uint32_t todo, k, k1, round;
	struct lc_best best;
	struct pool_view v;
	unsigned b;
	int i;

	/* Read before any member is: a lowering after this makes the raise below fail. */
	for (b = 0; b < nb; b++)
		word[b] = floors ? atomic_load(&words[b]) : 0;
	memset(&v, 0, sizeof(v));
	for (round = 0; round <= g->n; round++) {
		memset(&v.known, 0, sizeof(v.known));
		memset(&v.ok, 0, sizeof(v.ok));
		memset(&v.seen, 0, sizeof(v.seen));
		v.bar_weight = 0;
		best.i = -1;
		for (todo = all; todo != 0; todo &= ~(UINT32_C(1) << b)) {
			b = lc_lowest(word, todo);
			if (best.i != -1 && lc_floor(word[b]) * best.w >= best.a * LC_SCALE)
				break;	/* no block left can hold a lighter member */
			k1 = lc_block_end(g, b);
			floor = LC_FLOOR_MASK;
			lc_visit(p, g, seg, ctx, &v, &best, b * LC_BLOCK, k1, &floor);
			/* Raise it to what was seen, unless lowered meanwhile (word[b] then is that). */
			if (floors && floor != lc_floor(word[b]) &&
			    atomic_compare_exchange_strong(&words[b], &word[b], lc_word(word[b], floor)))
				word[b] = lc_word(word[b], floor);
		}
		if (best.i == -1)
			break;	/* every block was looked at: v.seen says why */
		/* Blocks above the lightest hold no tie: the rotation need not look there. */
		for (b = 0; b < nb; b++) {
			if (!(todo & (UINT32_C(1) << b)) ||
			    lc_floor(word[b]) * best.w <= best.a * LC_SCALE)
				continue;
			k1 = lc_block_end(g, b);
			for (k = b * LC_BLOCK; k < k1; k++)
				pick_tried_add(&v.known, g->member[k]);
		}
		v.bar_load = best.a;
		v.bar_weight = best.w;
		if ((i = pool_rotate(p, g, g->seq, g->nseq, seg, ctx, &v)) >= 0)
			return i;
	}
	return pool_nothing(&v.seen);
}

/* A request on backend i finished: its block's floor comes down to what i allows now. */
static void
least_conn_done(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    unsigned i)
{
	if (g->n > LC_BLOCK)
		lc_lower(&pool_words(p, g, seg)[p->pos[i] / LC_BLOCK], lc_floor_of(p, seg, i));
}

/* Backend i may be lighter than its block's floor says: the floor goes to 0 until looked at. */
static void
least_conn_changed(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    unsigned i)
{
	if (g->n > LC_BLOCK)
		lc_lower(&pool_words(p, g, seg)[p->pos[i] / LC_BLOCK], 0);
}

const struct lb_policy policy_least_conn = {
	.name = "least-connections",
	.flags = LB_WEIGHTED | LB_RAMPS,
	.pick = least_conn_pick,
	.done = least_conn_done,
	.changed = least_conn_changed,
};
