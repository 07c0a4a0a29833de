/*
 * The steps every balancing policy is built from; see pool.h.
 *
 * A backend is "eligible" for a pick when it is up, not yet tried by this
 * request and below its maxConnections. Every policy looks for one in its
 * own order; when none is left the reason is the result: nobody up, all
 * full, or all tried. A backend that is not eligible never hands its share
 * to the one next to it in the list (a failure must not double a
 * neighbour's load): the rotations pass over its turns, and the other
 * policies spread what it would have had over all the eligible ones.
 */
#include "config.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pool.h"
#include "shm.h"

#define POOL_ROTATE_REACH	16		/* turns a rotation looks ahead, or one per member */
#define POOL_GOLDEN		0x9e3779b97f4a7c15ull

_Static_assert(POOL_MAX <= 256, "backend indexes are stored in a uint8_t");
_Static_assert(POOL_RAMP_ONE == SHM_RAMP_ONE, "one scale for ramps");
_Static_assert(POOL_GROUP_WORDS * POOL_NGROUPS == SHM_PICK_WORDS, "each group its words");

/* Per process: the master never picks, so each worker seeds its own after fork. */
static uint64_t pool_rng;

/* The finalizer of MurmurHash3. */
uint64_t
pool_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

uint64_t
pool_hash(const uint8_t key[16], uint64_t salt, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ salt;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return pool_mix(h);
}

/* splitmix64, seeded from the worker slot, the pid and the time. */
uint64_t
pool_random(unsigned worker)
{
	static const uint8_t zero[16];
	struct timespec ts;
	uint64_t seed[3];

	if (pool_rng == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed[0] = worker;
		seed[1] = (uint64_t)getpid();
		seed[2] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		pool_rng = pool_hash(zero, worker, seed, sizeof(seed)) | 1;
	}
	pool_rng += POOL_GOLDEN;
	return pool_mix(pool_rng);
}

void
pool_acquire(struct shm_seg *seg, unsigned w, int i)
{
	atomic_fetch_add_explicit(&seg->backends[i].active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
	    memory_order_relaxed);
}

void
pool_release(struct shm_seg *seg, unsigned w, int i)
{
	atomic_fetch_sub_explicit(&seg->backends[i].active, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
	    memory_order_relaxed);
}

/* Requests in flight on backend i in the previous generation (still draining). */
static int64_t
pool_active_prev(const struct pool *p, unsigned i)
{
	int64_t n;

	if (p->prev == NULL || p->prev_index[i] < 0)
		return 0;
	n = atomic_load_explicit(&p->prev->backends[p->prev_index[i]].active,
	    memory_order_relaxed);
	return n < 0 ? 0 : n;
}

int64_t
pool_active(const struct pool *p, const struct shm_seg *seg, unsigned i)
{
	int64_t n = atomic_load_explicit(&seg->backends[i].active, memory_order_relaxed);

	return (n < 0 ? 0 : n) + pool_active_prev(p, i);
}

/*
 * A compare-and-swap from a count below the limit, so that two workers racing
 * for the last place cannot both get it and the count is never over the
 * limit, not even for an instant: least-connections' floors (the done hook)
 * may read it at any time. The previous generation's count only goes down:
 * reading it once, first, can only refuse a place that just came free.
 */
int
pool_acquire_capped(const struct pool *p, struct shm_seg *seg, unsigned w, unsigned i)
{
	uint32_t max = p->max_conns[i];
	int64_t n, prev;

	if (max != 0) {
		prev = pool_active_prev(p, i);
		n = atomic_load_explicit(&seg->backends[i].active, memory_order_relaxed);
		do {
			if ((n < 0 ? 0 : n) + prev >= (int64_t)max)
				return 0;
		} while (!atomic_compare_exchange_weak_explicit(&seg->backends[i].active, &n, n + 1,
		    memory_order_relaxed, memory_order_relaxed));
		atomic_fetch_add_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
		    memory_order_relaxed);
		return 1;
	}
	pool_acquire(seg, w, (int)i);
	return 1;
}

/* Full means at its limit now (a later acquire may still lose). */
int
pool_eligible(const struct pool *p, const struct shm_seg *seg, const struct pick_ctx *ctx,
    unsigned i, struct pool_seen *seen)
{
	/* Down, or drained by the admin: no new requests either way. */
	if (!shm_backend_up(seg, i) ||
	    atomic_load_explicit(&seg->backends[i].drain, memory_order_relaxed) ||
	    shm_backend_passive_down(seg, i))
		return 0;
	seen->up++;
	if (pick_tried_has(&ctx->tried, (int)i))
		return 0;
	if (p->max_conns[i] != 0 && pool_active(p, seg, i) >= p->max_conns[i]) {
		seen->full++;
		return 0;
	}
	return 1;
}

unsigned
pool_ramp(const struct pool *p, const struct shm_seg *seg, unsigned i)
{
	if (p->slow_start_ms == 0)
		return POOL_RAMP_ONE;
	return shm_backend_ramp(seg, i, p->slow_start_ms, p->now_ms());
}

unsigned
pool_weight(const struct pool *p, const struct shm_seg *seg, unsigned i)
{
	unsigned w = atomic_load_explicit(&seg->backends[i].weight, memory_order_relaxed);

	return w != 0 ? w : p->weight[i];
}

int
pool_load_at_most(const struct pool *p, const struct shm_seg *seg, unsigned i, uint64_t load,
    uint64_t weight)
{
	uint64_t a = (uint64_t)pool_active(p, seg, i);
	uint64_t w = (uint64_t)pool_weight(p, seg, i) * pool_ramp(p, seg, i);

	return a * weight <= load * w;
}

_Atomic uint64_t *
pool_words(const struct pool *p, const struct pool_group *g, struct shm_seg *seg)
{
	return &seg->pick[(size_t)(g - p->group) * POOL_GROUP_WORDS];
}

int
pool_ramp_skip(const struct pool *p, const struct shm_seg *seg, const struct pick_ctx *ctx,
    unsigned i)
{
	uint64_t r = atomic_load_explicit(&seg->backends[i].accept, memory_order_relaxed);

	if (p->slow_start_ms != 0)
		r = r * pool_ramp(p, seg, i) / POOL_RAMP_ONE;
	if (r >= POOL_RAMP_ONE)
		return 0;
	return (pool_random(ctx->worker) % POOL_RAMP_ONE) >= r;
}

int
pool_view_ok(const struct pool *p, const struct shm_seg *seg, const struct pick_ctx *ctx,
    struct pool_view *v, unsigned i)
{
	if (!pick_tried_has(&v->known, (int)i)) {
		pick_tried_add(&v->known, (int)i);
		if (pool_eligible(p, seg, ctx, i, &v->seen) && (v->bar_weight == 0 ||
		    pool_load_at_most(p, seg, i, v->bar_load, v->bar_weight)))
			pick_tried_add(&v->ok, (int)i);
	}
	return pick_tried_has(&v->ok, (int)i);
}

/*
 * Whether the turn that came to backend i (which may be taken) is passed
 * over, for its slow start or a run-time weight below the configured one:
 * each turn is tested on its own, so that a backend takes its turns in
 * proportion of the part of its weight it has. After as many skips as the
 * rotation has turns (and a few), nothing is passed over any more: a pick
 * ends even if only slow-starting backends are left.
 */
static int
pool_turn_skipped(const struct pool *p, const struct shm_seg *seg, const struct pick_ctx *ctx,
    struct pool_view *v, unsigned i, uint32_t norder)
{
	if (v->skipped > norder + POOL_ROTATE_REACH || !pool_ramp_skip(p, seg, ctx, i))
		return 0;
	v->skipped++;
	return 1;
}

void
pool_view_lose(struct pool_view *v, unsigned i)
{
	v->ok.bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
	pick_tried_add(&v->lost, (int)i);
	v->seen.full++;
}

int
pool_nothing(const struct pool_seen *seen)
{
	if (seen->up == 0)
		return PICK_NONE_HEALTHY;
	return seen->full > 0 ? PICK_ALL_FULL : PICK_ALL_TRIED;
}

/* A member left out shares its part among all the others. Looks at every member. */
int
pool_spread(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx, struct pool_view *v, uint64_t r)
{
	uint64_t total, at;
	uint32_t k;
	unsigned i;

	/* Each round takes a backend or loses one: at most g->n rounds. */
	for (;;) {
		for (total = 0, k = 0; k < g->n; k++)
			if (pool_view_ok(p, seg, ctx, v, g->member[k]))
				total += pool_weight(p, seg, g->member[k]);
		if (total == 0)
			return -1;
		at = r % total;
		for (k = 0;; k++) {
			i = g->member[k];
			if (!pick_tried_has(&v->ok, (int)i))
				continue;
			if (at < pool_weight(p, seg, i))
				break;
			at -= pool_weight(p, seg, i);
		}
		if (pool_acquire_capped(p, seg, ctx->worker, i))
			return (int)i;
		pool_view_lose(v, i);
	}
}

/*
 * Each turn of the counter is used once, by one pick in one worker: a pick
 * draws a turn; if its backend cannot be taken, the pick claims the turns up
 * to the next one that can, in one compare-and-swap, so the turns passed over
 * are used up too and the next pick, in any worker, starts after them. With
 * k of n takeable the rotation thus goes through the k in order, each getting
 * one pick in k, instead of a down backend's turns all falling to the one
 * after it. A swap fails only when another pick claimed turns meanwhile: the
 * look starts again from there.
 *
 * A look ahead stops after POOL_ROTATE_REACH entries or one per member,
 * whichever is more, so that a pick costs no more than a look at each member
 * (a long weighted sequence whose heavy members are all down would take
 * thousands); the pick is then spread by the turn drawn instead.
 */
int
pool_rotate(const struct pool *p, const struct pool_group *g, const uint8_t *order,
    uint32_t norder, struct shm_seg *seg, const struct pick_ctx *ctx, struct pool_view *v)
{
	uint32_t d, j, reach = g->n > POOL_ROTATE_REACH ? g->n : POOL_ROTATE_REACH;
	uint64_t drawn, c;
	unsigned i;

	if (reach > norder)
		reach = norder;

	drawn = atomic_fetch_add_explicit(&seg->rr, 1, memory_order_relaxed);
	i = order[drawn % norder];
	if (pool_view_ok(p, seg, ctx, v, i) && !pool_turn_skipped(p, seg, ctx, v, i, norder)) {
		if (pool_acquire_capped(p, seg, ctx->worker, i))
			return (int)i;
		pool_view_lose(v, i);
	}
	/* Each round claims turns (or loses a backend), or another pick did: lock-free. */
	for (c = drawn + 1;;) {
		for (d = 0, j = (uint32_t)(c % norder); d < reach; d++, j = j + 1 == norder ? 0 : j + 1)
			if (pool_view_ok(p, seg, ctx, v, order[j]))
				break;
		if (d == norder)
			return -1;
		if (d == reach)
			return pool_spread(p, g, seg, ctx, v, drawn);
		if (!atomic_compare_exchange_strong_explicit(&seg->rr, &c, c + d + 1,
		    memory_order_relaxed, memory_order_relaxed))
			continue;	/* c is where the counter is now */
		i = order[j];
		c += d + 1;
		if (pool_turn_skipped(p, seg, ctx, v, i, norder))
			continue;	/* its turn is used up: look on from the next */
		if (pool_acquire_capped(p, seg, ctx->worker, i))
			return (int)i;
		pool_view_lose(v, i);
	}
}
