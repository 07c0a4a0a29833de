/*
 * "hash" (and "ip-hash", the same on the client address): the request's key
 * indexes a Maglev lookup table. When that backend cannot take the request,
 * the key is hashed again with the attempt number, so the keys of a down
 * backend spread over the others by weight (and the others' keys stay where
 * they are); after HASH_TRIES (most of the weight down) the key spreads them
 * over the eligible ones, by weight too. A request without the key goes
 * round robin.
 *
 * The table depends only on the backends' ids (their normalised URLs keyed
 * with "hashSeed") and weights: members are taken in the order of their ids,
 * not of the configuration, so two instances, or two generations, with the
 * same servers in any order build the same table.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/policies.h"
#include "pool.h"

#define HASH_TRIES		16		/* re-hashes of a key before it spreads */
#define HASH_TABLE_MIN		65537		/* a prime, > 256 * POOL_MAX */
#define HASH_TABLE_PER_WEIGHT	32		/* table entries per unit of (reduced) weight */
#define HASH_TABLE_MAX		(1u << 21)	/* 2 MiB of uint8_t per group at most */
#define HASH_GOLDEN		0x9e3779b97f4a7c15ull

struct hash_table {
	uint32_t n;		/* entries (a prime) */
	uint8_t entry[];	/* key hash % n -> backend index */
};

static int
hash_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2 || n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

static uint64_t
hash_gcd(uint64_t a, uint64_t b)
{
	uint64_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

/* Sorts the backend indexes in m[0..n) by id (insertion sort: n <= 256, load time). */
static void
hash_sort(const struct pool *p, uint8_t *m, uint32_t n)
{
	uint32_t k, j;
	uint8_t x;

	for (k = 1; k < n; k++) {
		x = m[k];
		for (j = k; j > 0 && p->id[m[j - 1]] > p->id[x]; j--)
			m[j] = m[j - 1];
		m[j] = x;
	}
}

/*
 * Each member walks its own permutation of the table (offset and skip from
 * its id, so they do not depend on its place in the list) and, in the turns
 * of a smooth weighted sequence over the members sorted by id (as often as
 * its weight), takes the next entry still free. Removing a member leaves the
 * others' preferences as they were: only about its own share of the entries
 * changes hands.
 */
static int
hash_init(struct pool *p, struct pool_group *g, char *err, size_t errlen)
{
	uint64_t offset[POOL_MAX], skip[POOL_MAX], next[POOL_MAX];
	uint32_t w[POOL_MAX], m, k, best;
	int64_t cur[POOL_MAX], total = 0;
	uint64_t target, d = 0, slot, filled;
	uint8_t sorted[POOL_MAX], *taken;
	struct hash_table *t;

	memcpy(sorted, g->member, g->n);
	hash_sort(p, sorted, g->n);
	for (k = 0; k < g->n; k++)
		d = hash_gcd(p->weight[sorted[k]], d);
	for (k = 0; k < g->n; k++) {
		w[k] = p->weight[sorted[k]] / (uint32_t)d;
		total += w[k];
	}
	target = (uint64_t)total * HASH_TABLE_PER_WEIGHT;
	if (target < HASH_TABLE_MIN)
		target = HASH_TABLE_MIN;
	if (target > HASH_TABLE_MAX)
		target = HASH_TABLE_MAX;
	for (m = (uint32_t)target; !hash_is_prime(m); m++)
		;
	if ((t = malloc(sizeof(*t) + m)) == NULL || (taken = calloc(m, 1)) == NULL) {
		free(t);
		snprintf(err, errlen, "balancer: out of memory");
		return -1;
	}
	t->n = m;
	for (k = 0; k < g->n; k++) {
		offset[k] = pool_mix(p->id[sorted[k]]) % m;
		skip[k] = pool_mix(p->id[sorted[k]] ^ HASH_GOLDEN) % (m - 1) + 1;
		next[k] = 0;
		cur[k] = 0;
	}
	for (filled = 0; filled < m; filled++) {
		/* The next turn of the smooth weighted sequence: the richest member. */
		for (best = 0, k = 0; k < g->n; k++) {
			cur[k] += w[k];
			if (cur[k] > cur[best])
				best = k;
		}
		cur[best] -= total;
		do {
			slot = (offset[best] + next[best] * skip[best]) % m;
			next[best]++;
		} while (taken[slot]);
		taken[slot] = 1;
		t->entry[slot] = sorted[best];
	}
	free(taken);
	g->data = t;
	return 0;
}

static void
hash_fini(struct pool_group *g)
{
	free(g->data);
	g->data = NULL;
}

static int
hash_pick(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx)
{
	const struct hash_table *t = g->data;
	struct pool_view v;
	uint64_t h = 0;
	unsigned i, n;
	int b;

	if (!ctx->has_key)
		return policy_round_robin_pick(p, g, seg, ctx);
	memset(&v, 0, sizeof(v));
	for (n = 0; n < HASH_TRIES; n++) {
		h = pool_mix(ctx->key + n * HASH_GOLDEN);
		i = t->entry[h % t->n];
		if (!pool_view_ok(p, seg, ctx, &v, i))
			continue;
		if (pool_acquire_capped(p, seg, ctx->worker, i))
			return (int)i;
		pool_view_lose(&v, i);
	}
	b = pool_spread(p, g, seg, ctx, &v, pool_mix(h));
	return b >= 0 ? b : pool_nothing(&v.seen);
}

const struct lb_policy policy_hash = {
	.name = "hash",
	.flags = LB_WEIGHTED | LB_NEEDS_KEY,
	.init = hash_init,
	.fini = hash_fini,
	.pick = hash_pick,
};
