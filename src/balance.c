/*
 * Backend selection policies over the shared segment; see balance.h.
 *
 * balance_new splits the backends in two groups, primaries and backups (a
 * backup group is consulted only when no primary is up), and precomputes
 * what never changes: the smooth weighted sequence of each group (weighted
 * round robin, and the order ties are broken in by least connections) and,
 * for ip-hash, a Maglev lookup table. balance_pick then reads only the
 * shared segment (health, active counts, the rotation counter) besides
 * these tables: no lock, no allocation, any number of processes at once.
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

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "balance.h"
#include "conf.h"
#include "shm.h"

_Static_assert(BALANCE_MAX <= 256, "backend indexes are stored in a uint8_t");
_Static_assert(BALANCE_MAX == CONF_MAX_BACKENDS, "one limit for both");

#define BALANCE_HASH_TRIES	16		/* re-hashes of a key before ip-hash scans */
#define BALANCE_TWO_TRIES	4		/* random pairs drawn before a full scan */
#define BALANCE_ROTATE_REACH	16		/* turns a rotation looks ahead, or one per member */
#define BALANCE_TABLE_MIN	65537		/* Maglev table: a prime, > 256 * BALANCE_MAX */
#define BALANCE_TABLE_PER_WEIGHT 32		/* table entries per unit of (reduced) weight */
#define BALANCE_TABLE_MAX	(1u << 21)	/* 2 MiB of uint8_t per group at most */
#define BALANCE_GOLDEN		0x9e3779b97f4a7c15ull

enum balance_group_id {
	BALANCE_PRIMARY,
	BALANCE_BACKUP,
	BALANCE_NGROUPS
};

/* The primaries, or the backups: what a pick chooses among. */
struct balance_group {
	uint32_t n;				/* members */
	uint8_t member[BALANCE_MAX];		/* their backend indexes, in config order */
	uint32_t nseq;				/* entries in seq: the sum of reduced weights */
	uint8_t *seq;				/* smooth weighted order of backend indexes */
	uint32_t ntable;			/* entries in table (a prime), 0 unless ip-hash */
	uint8_t *table;				/* Maglev: hash % ntable -> backend index */
};

struct lb {
	enum conf_algorithm algorithm;
	uint8_t hash_key[16];
	uint32_t nbackends;
	uint32_t weight[BALANCE_MAX];		/* 1..CONF_WEIGHT_MAX */
	uint32_t max_conns[BALANCE_MAX];	/* 0: unlimited */
	uint8_t pos[BALANCE_MAX];		/* index of each backend in its group's member[] */
	struct balance_group group[BALANCE_NGROUPS];
	const struct shm_seg *prev;		/* the previous generation's segment, or NULL */
	int32_t prev_index[BALANCE_MAX];	/* each backend's slot there, -1 if none */
};

/* Why a scan found nothing, when it did not. */
struct balance_seen {
	unsigned up;		/* backends up */
	unsigned full;		/* up, untried, at their limit */
};

/*
 * What one pick has learnt of the backends, so that a backend that comes up
 * many times in a weighted sequence is looked at once.
 */
struct balance_view {
	struct balance_tried known;	/* looked at */
	struct balance_tried ok;	/* looked at, and may be taken */
	struct balance_tried lost;	/* looked fine, but filled up before it was acquired */
	struct balance_seen seen;	/* why the others may not */
};

/* Per process: the master never picks, so each worker seeds its own after fork. */
static uint64_t balance_rng;

/* A 64-bit finalizer (the one of MurmurHash3): every input bit moves every output bit. */
static uint64_t
balance_mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/* Keyed hash of <n> bytes at <p>, <salt> telling apart the uses of one key. */
static uint64_t
balance_hash(const uint8_t key[16], uint64_t salt, const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 0xcbf29ce484222325ull ^ salt;
	size_t i;

	for (i = 0; i < 16; i++)
		h = (h ^ key[i]) * 0x100000001b3ull;
	for (i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return balance_mix(h);
}

static uint64_t
balance_gcd(uint64_t a, uint64_t b)
{
	uint64_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static int
balance_is_prime(uint32_t n)
{
	uint32_t d;

	if (n < 2 || n % 2 == 0)
		return n == 2;
	for (d = 3; (uint64_t)d * d <= n; d += 2)
		if (n % d == 0)
			return 0;
	return 1;
}

/* The weights of g's members divided by their greatest common divisor, into w[]. */
static uint64_t
balance_reduced_weights(const struct lb *lb, const struct balance_group *g, uint32_t *w)
{
	uint64_t d = 0, sum = 0;
	uint32_t k;

	for (k = 0; k < g->n; k++)
		d = balance_gcd(lb->weight[g->member[k]], d);
	for (k = 0; k < g->n; k++) {
		w[k] = lb->weight[g->member[k]] / (uint32_t)d;
		sum += w[k];
	}
	return sum;
}

/*
 * Builds g->seq, the smooth weighted round robin of its members: at each step
 * every member gains its weight, the richest (the first on a tie) is chosen
 * and pays the total. Weights 5,1,1 give a a b a c a a. Returns 0, or -1 when
 * out of memory.
 */
static int
balance_build_seq(const struct lb *lb, struct balance_group *g)
{
	uint32_t w[BALANCE_MAX], k, best, step;
	int64_t cur[BALANCE_MAX], total;

	total = (int64_t)balance_reduced_weights(lb, g, w);
	if ((g->seq = malloc((size_t)total)) == NULL)
		return -1;
	g->nseq = (uint32_t)total;
	memset(cur, 0, sizeof(cur));
	for (step = 0; step < g->nseq; step++) {
		best = 0;
		for (k = 0; k < g->n; k++) {
			cur[k] += w[k];
			if (cur[k] > cur[best])
				best = k;
		}
		cur[best] -= total;
		g->seq[step] = g->member[best];
	}
	return 0;
}

/*
 * Builds g->table, a Maglev lookup table. Each member walks its own
 * permutation of the table (offset and skip from a keyed hash of its URL, so
 * they do not depend on its place in the list) and, in the turns given by
 * g->seq (as often as its weight), takes the next entry still free. Removing
 * a member leaves the others' preferences as they were: only about its own
 * share of the entries changes hands. Returns 0, or -1 when out of memory.
 */
static int
balance_build_table(const struct lb *lb, const struct conf *c, struct balance_group *g)
{
	uint64_t offset[BALANCE_MAX], skip[BALANCE_MAX], next[BALANCE_MAX];
	uint64_t target, h, slot, filled, step;
	uint32_t m, k;
	uint8_t *taken;
	const char *url;

	target = (uint64_t)g->nseq * BALANCE_TABLE_PER_WEIGHT;
	if (target < BALANCE_TABLE_MIN)
		target = BALANCE_TABLE_MIN;
	if (target > BALANCE_TABLE_MAX)
		target = BALANCE_TABLE_MAX;
	for (m = (uint32_t)target; !balance_is_prime(m); m++)
		;
	if ((g->table = malloc(m)) == NULL || (taken = calloc(m, 1)) == NULL) {
		free(g->table);
		g->table = NULL;
		return -1;
	}
	g->ntable = m;
	for (k = 0; k < g->n; k++) {
		url = c->backends[g->member[k]].url;
		h = balance_hash(lb->hash_key, 0, url, strlen(url));
		offset[k] = h % m;
		h = balance_hash(lb->hash_key, BALANCE_GOLDEN, url, strlen(url));
		skip[k] = h % (m - 1) + 1;
		next[k] = 0;
	}
	for (filled = 0, step = 0; filled < m; step++) {
		k = lb->pos[g->seq[step % g->nseq]];
		do {
			slot = (offset[k] + next[k] * skip[k]) % m;
			next[k]++;
		} while (taken[slot]);
		taken[slot] = 1;
		g->table[slot] = g->member[k];
		filled++;
	}
	free(taken);
	return 0;
}

struct lb *
balance_new(const struct conf *c, const uint8_t hash_key[16], char *err, size_t errlen)
{
	struct balance_group *g;
	struct lb *lb;
	size_t i;
	int id;

	if (c->nbackends > BALANCE_MAX) {
		snprintf(err, errlen, "balancer: %zu backends (at most %d)", c->nbackends,
		    BALANCE_MAX);
		return NULL;
	}
	if ((lb = calloc(1, sizeof(*lb))) == NULL)
		goto nomem;
	lb->algorithm = c->algorithm;
	memcpy(lb->hash_key, hash_key, sizeof(lb->hash_key));
	lb->nbackends = (uint32_t)c->nbackends;
	for (i = 0; i < c->nbackends; i++) {
		/* 0 is a conf_backend nobody defaulted (tests build them by hand). */
		lb->weight[i] = c->backends[i].weight != 0 ? c->backends[i].weight : 1;
		lb->max_conns[i] = c->backends[i].max_connections;
		g = &lb->group[c->backends[i].backup ? BALANCE_BACKUP : BALANCE_PRIMARY];
		lb->pos[i] = (uint8_t)g->n;
		g->member[g->n++] = (uint8_t)i;
	}
	for (id = 0; id < BALANCE_NGROUPS; id++) {
		g = &lb->group[id];
		if (g->n == 0)
			continue;
		if (balance_build_seq(lb, g) == -1)
			goto nomem;
		if (lb->algorithm == CONF_ALGO_IP_HASH && balance_build_table(lb, c, g) == -1)
			goto nomem;
	}
	return lb;
nomem:
	balance_free(lb);
	snprintf(err, errlen, "balancer: out of memory");
	return NULL;
}

void
balance_free(struct lb *lb)
{
	int id;

	if (lb == NULL)
		return;
	for (id = 0; id < BALANCE_NGROUPS; id++) {
		free(lb->group[id].seq);
		free(lb->group[id].table);
	}
	free(lb);
}

uint64_t
balance_client_key(const struct lb *lb, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return balance_hash(lb->hash_key, 0,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	return balance_hash(lb->hash_key, 0, &((const struct sockaddr_in *)sa)->sin_addr, 4);
}

void
balance_acquire(struct shm_seg *seg, unsigned w, int i)
{
	atomic_fetch_add_explicit(&seg->backends[i].active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
	    memory_order_relaxed);
}

void
balance_release(struct shm_seg *seg, unsigned w, int i)
{
	atomic_fetch_sub_explicit(&seg->backends[i].active, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
	    memory_order_relaxed);
}

void
balance_worker_reset(struct shm_seg *seg, unsigned w)
{
	uint32_t i;
	int32_t n;

	for (i = 0; i < seg->nbackends; i++) {
		n = atomic_exchange(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 0);
		if (n != 0)
			atomic_fetch_sub(&seg->backends[i].active, n);
	}
}

/* Requests in flight on backend i in the previous generation (still draining). */
static int64_t
balance_active_prev(const struct lb *lb, unsigned i)
{
	int64_t n;

	if (lb->prev == NULL || lb->prev_index[i] < 0)
		return 0;
	n = atomic_load_explicit(&lb->prev->backends[lb->prev_index[i]].active,
	    memory_order_relaxed);
	return n < 0 ? 0 : n;
}

/* Requests in flight on backend i: this generation's and the previous one's. */
static int64_t
balance_active(const struct lb *lb, const struct shm_seg *seg, unsigned i)
{
	int64_t n = atomic_load_explicit(&seg->backends[i].active, memory_order_relaxed);

	return (n < 0 ? 0 : n) + balance_active_prev(lb, i);
}

void
balance_set_previous(struct lb *lb, const struct shm_seg *seg, const struct shm_seg *prev)
{
	uint32_t i, j;

	lb->prev = prev;
	for (i = 0; i < lb->nbackends && i < BALANCE_MAX; i++) {
		lb->prev_index[i] = -1;
		for (j = 0; prev != NULL && j < prev->nbackends; j++) {
			if (strcmp(seg->backends[i].name, prev->backends[j].name) == 0) {
				lb->prev_index[i] = (int32_t)j;
				break;
			}
		}
	}
}

/*
 * Acquires backend i for worker slot w unless that would take it over its
 * limit: the increment comes first and is undone when it went over, so two
 * workers racing for the last place cannot both get it. Returns 1 if
 * acquired, 0 if full.
 */
static int
balance_acquire_capped(const struct lb *lb, struct shm_seg *seg, unsigned w, unsigned i)
{
	uint32_t max = lb->max_conns[i];

	if (max != 0) {
		if (balance_active(lb, seg, i) >= max)
			return 0;	/* the common refusal, without touching the line */
		/* The previous generation's count only goes down: checking it after is safe. */
		if (atomic_fetch_add_explicit(&seg->backends[i].active, 1,
		    memory_order_relaxed) + balance_active_prev(lb, i) >= (int64_t)max) {
			atomic_fetch_sub_explicit(&seg->backends[i].active, 1,
			    memory_order_relaxed);
			return 0;
		}
		atomic_fetch_add_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
		    memory_order_relaxed);
		return 1;
	}
	balance_acquire(seg, w, (int)i);
	return 1;
}

/*
 * Whether backend i can take this request, without acquiring it; counts in
 * <seen> why not. Full means at its limit now (a later acquire may still lose).
 */
static int
balance_eligible(const struct lb *lb, const struct shm_seg *seg, const struct balance_ctx *ctx,
    unsigned i, struct balance_seen *seen)
{
	/* Down, or drained by the admin: no new requests either way. */
	if (!shm_backend_up(seg, i) ||
	    atomic_load_explicit(&seg->backends[i].drain, memory_order_relaxed) ||
	    shm_backend_passive_down(seg, i))
		return 0;
	seen->up++;
	if (balance_tried_has(&ctx->tried, (int)i))
		return 0;
	if (lb->max_conns[i] != 0 && balance_active(lb, seg, i) >= lb->max_conns[i]) {
		seen->full++;
		return 0;
	}
	return 1;
}

/* Whether backend i may be taken, looking at it only the first time this pick asks. */
static int
balance_view_ok(const struct lb *lb, const struct shm_seg *seg, const struct balance_ctx *ctx,
    struct balance_view *v, unsigned i)
{
	if (!balance_tried_has(&v->known, (int)i)) {
		balance_tried_add(&v->known, (int)i);
		if (balance_eligible(lb, seg, ctx, i, &v->seen))
			balance_tried_add(&v->ok, (int)i);
	}
	return balance_tried_has(&v->ok, (int)i);
}

/* Backend i was eligible but full by the time it was acquired: not for this pick. */
static void
balance_view_lose(struct balance_view *v, unsigned i)
{
	v->ok.bits[i / 64] &= ~(UINT64_C(1) << (i % 64));
	balance_tried_add(&v->lost, (int)i);
	v->seen.full++;
}

/* The result of a pick that found nothing, from what the last full scan saw. */
static int
balance_nothing(const struct balance_seen *seen)
{
	if (seen->up == 0)
		return BALANCE_NONE_HEALTHY;
	return seen->full > 0 ? BALANCE_ALL_FULL : BALANCE_ALL_TRIED;
}

/*
 * Of the members of g that v accepts, the one at r in their weights laid end
 * to end (r modulo the sum): an evenly spread r gives each its share by
 * weight, and a member left out shares its part among all the others. Looks
 * at every member. Returns a backend index, acquired, or -1 when v accepts
 * none (v->seen says why).
 */
static int
balance_spread(const struct lb *lb, const struct balance_group *g, struct shm_seg *seg,
    const struct balance_ctx *ctx, struct balance_view *v, uint64_t r)
{
	uint64_t total, at;
	uint32_t k;
	unsigned i;

	/* Each round takes a backend or loses one: at most g->n rounds. */
	for (;;) {
		for (total = 0, k = 0; k < g->n; k++)
			if (balance_view_ok(lb, seg, ctx, v, g->member[k]))
				total += lb->weight[g->member[k]];
		if (total == 0)
			return -1;
		at = r % total;
		for (k = 0;; k++) {
			i = g->member[k];
			if (!balance_tried_has(&v->ok, (int)i))
				continue;
			if (at < lb->weight[i])
				break;
			at -= lb->weight[i];
		}
		if (balance_acquire_capped(lb, seg, ctx->worker, i))
			return (int)i;
		balance_view_lose(v, i);
	}
}

/*
 * The rotation shared by round robin, weighted round robin and the ties of
 * least connections: order[] (norder entries, members of g) is read from the
 * shared counter's place on, and the first entry that v accepts is taken.
 *
 * Each turn of the counter is used once, by one pick in one worker: a pick
 * draws a turn; if its backend cannot be taken, the pick claims the turns up
 * to the next one that can, in one compare-and-swap, so the turns passed over
 * are used up too and the next pick, in any worker, starts after them. With
 * k of n takeable the rotation thus goes through the k in order, each getting
 * one pick in k, instead of a down backend's turns all falling to the one
 * after it. A swap fails only when another pick claimed turns meanwhile: the
 * look starts again from there.
 *
 * A look ahead stops after BALANCE_ROTATE_REACH entries or one per member,
 * whichever is more, so that a pick costs no more than a look at each member
 * (a long weighted sequence whose heavy members are all down would take
 * thousands); the pick is then spread by the turn drawn instead. Returns a backend index, acquired, or -1 when v accepts
 * no member (v->seen says why).
 */
static int
balance_rotate(const struct lb *lb, const struct balance_group *g, const uint8_t *order,
    uint32_t norder, struct shm_seg *seg, const struct balance_ctx *ctx, struct balance_view *v)
{
	uint32_t d, j, reach = g->n > BALANCE_ROTATE_REACH ? g->n : BALANCE_ROTATE_REACH;
	uint64_t drawn, c;
	unsigned i;

	if (reach > norder)
		reach = norder;

	drawn = atomic_fetch_add_explicit(&seg->rr, 1, memory_order_relaxed);
	i = order[drawn % norder];
	if (balance_view_ok(lb, seg, ctx, v, i)) {
		if (balance_acquire_capped(lb, seg, ctx->worker, i))
			return (int)i;
		balance_view_lose(v, i);
	}
	/* Each round claims turns (or loses a backend), or another pick did: lock-free. */
	for (c = drawn + 1;;) {
		for (d = 0, j = (uint32_t)(c % norder); d < reach; d++, j = j + 1 == norder ? 0 : j + 1)
			if (balance_view_ok(lb, seg, ctx, v, order[j]))
				break;
		if (d == norder)
			return -1;
		if (d == reach)
			return balance_spread(lb, g, seg, ctx, v, drawn);
		if (!atomic_compare_exchange_strong_explicit(&seg->rr, &c, c + d + 1,
		    memory_order_relaxed, memory_order_relaxed))
			continue;	/* c is where the counter is now */
		i = order[j];
		if (balance_acquire_capped(lb, seg, ctx->worker, i))
			return (int)i;
		balance_view_lose(v, i);
		c += d + 1;
	}
}

/* round-robin: the members in config order, one turn of the shared counter each. */
static int
balance_pick_rr(const struct lb *lb, const struct balance_group *g, struct shm_seg *seg,
    const struct balance_ctx *ctx)
{
	struct balance_view v;
	int b;

	memset(&v, 0, sizeof(v));
	b = balance_rotate(lb, g, g->member, g->n, seg, ctx, &v);
	return b >= 0 ? b : balance_nothing(&v.seen);
}

/*
 * weighted-round-robin: the shared counter goes through the smooth sequence.
 * The entries of a backend that cannot be taken are passed over, so the
 * others keep the order and the proportions of their weights.
 */
static int
balance_pick_wrr(const struct lb *lb, const struct balance_group *g, struct shm_seg *seg,
    const struct balance_ctx *ctx)
{
	struct balance_view v;
	int b;

	memset(&v, 0, sizeof(v));
	b = balance_rotate(lb, g, g->seq, g->nseq, seg, ctx, &v);
	return b >= 0 ? b : balance_nothing(&v.seen);
}

/*
 * least-connections: the fewest requests in flight over all workers per unit
 * of weight. The eligible members with that fewest are tied, and the tie is
 * broken by the rotation through the smooth sequence, so ties go round (in
 * proportion to weight) among the tied ones alone: idle backends share evenly
 * however many others are down. A tied backend that fills up between the look
 * and the acquire is set aside and the look done again.
 */
static int
balance_pick_leastconn(const struct lb *lb, const struct balance_group *g, struct shm_seg *seg,
    const struct balance_ctx *ctx)
{
	struct balance_view v;
	uint32_t k, round;
	int64_t a, best_a = 0;
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
			balance_tried_add(&v.known, (int)i);
			if (!balance_eligible(lb, seg, ctx, i, &v.seen))
				continue;
			if (balance_tried_has(&v.lost, (int)i)) {
				v.seen.full++;
				continue;
			}
			a = balance_active(lb, seg, i);
			if (best == -1 || a * lb->weight[best] < best_a * lb->weight[i]) {
				best = (int)i;
				best_a = a;
				memset(&v.ok, 0, sizeof(v.ok));
			}
			if (a * lb->weight[best] == best_a * lb->weight[i])
				balance_tried_add(&v.ok, (int)i);
		}
		if (best == -1)
			break;
		if ((best = balance_rotate(lb, g, g->seq, g->nseq, seg, ctx, &v)) >= 0)
			return best;
	}
	return balance_nothing(&v.seen);
}

/* The next number of this process's generator (splitmix64), seeded on first use. */
static uint64_t
balance_random(const struct lb *lb, unsigned worker)
{
	struct timespec ts;
	uint64_t seed[3];

	if (balance_rng == 0) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		seed[0] = worker;
		seed[1] = (uint64_t)getpid();
		seed[2] = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
		balance_rng = balance_hash(lb->hash_key, worker, seed, sizeof(seed)) | 1;
	}
	balance_rng += BALANCE_GOLDEN;
	return balance_mix(balance_rng);
}

/* Of backends a and b, the one with fewer requests in flight (a on a tie). */
static unsigned
balance_lighter(const struct lb *lb, const struct shm_seg *seg, unsigned a, unsigned b)
{
	return balance_active(lb, seg, b) < balance_active(lb, seg, a) ? b : a;
}

/*
 * random-two-choices: two distinct members drawn at random, the one with
 * fewer requests in flight taken. Pairs are drawn a few times while one of
 * them cannot take the request; then the eligible members are listed and the
 * two drawn among them (a single one is taken as is).
 */
static int
balance_pick_two(const struct lb *lb, const struct balance_group *g, struct shm_seg *seg,
    const struct balance_ctx *ctx)
{
	struct balance_seen seen;
	uint8_t cand[BALANCE_MAX];
	uint32_t ncand, k, x, y;
	uint64_t r;
	unsigned a, b, t, pick;

	if (g->n >= 2) {
		for (t = 0; t < BALANCE_TWO_TRIES; t++) {
			memset(&seen, 0, sizeof(seen));
			r = balance_random(lb, ctx->worker);
			x = (uint32_t)((r & 0xffffffffu) % g->n);
			y = (uint32_t)((r >> 32) % (g->n - 1));
			y += y >= x;
			a = g->member[x];
			b = g->member[y];
			if (!balance_eligible(lb, seg, ctx, a, &seen) ||
			    !balance_eligible(lb, seg, ctx, b, &seen))
				continue;
			pick = balance_lighter(lb, seg, a, b);
			if (balance_acquire_capped(lb, seg, ctx->worker, pick))
				return (int)pick;
		}
	}
	memset(&seen, 0, sizeof(seen));
	for (ncand = 0, k = 0; k < g->n; k++)
		if (balance_eligible(lb, seg, ctx, g->member[k], &seen))
			cand[ncand++] = g->member[k];
	while (ncand > 0) {
		r = balance_random(lb, ctx->worker);
		x = (uint32_t)((r & 0xffffffffu) % ncand);
		pick = cand[x];
		if (ncand >= 2) {
			y = (uint32_t)((r >> 32) % (ncand - 1));
			y += y >= x;
			if (balance_lighter(lb, seg, pick, cand[y]) != pick) {
				pick = cand[y];
				x = y;
			}
		}
		if (balance_acquire_capped(lb, seg, ctx->worker, pick))
			return (int)pick;
		seen.full++;
		cand[x] = cand[--ncand];
	}
	return balance_nothing(&seen);
}

/*
 * ip-hash: the client's key indexes the Maglev table. When that backend
 * cannot take the request, the key is hashed again with the attempt number,
 * so the clients of a down backend spread over the others by weight (and the
 * others' clients stay where they are); after BALANCE_HASH_TRIES (most of the
 * weight down) the key spreads them over the eligible ones, by weight too.
 */
static int
balance_pick_hash(const struct lb *lb, const struct balance_group *g, struct shm_seg *seg,
    const struct balance_ctx *ctx)
{
	struct balance_view v;
	uint64_t h = 0;
	unsigned i, t;
	int b;

	memset(&v, 0, sizeof(v));
	for (t = 0; t < BALANCE_HASH_TRIES; t++) {
		h = balance_mix(ctx->key + t * BALANCE_GOLDEN);
		i = g->table[h % g->ntable];
		if (!balance_view_ok(lb, seg, ctx, &v, i))
			continue;
		if (balance_acquire_capped(lb, seg, ctx->worker, i))
			return (int)i;
		balance_view_lose(&v, i);
	}
	b = balance_spread(lb, g, seg, ctx, &v, balance_mix(h));
	return b >= 0 ? b : balance_nothing(&v.seen);
}

static int
balance_pick_group(const struct lb *lb, const struct balance_group *g, struct shm_seg *seg,
    struct balance_ctx *ctx)
{
	if (g->n == 0)
		return BALANCE_NONE_HEALTHY;
	switch (lb->algorithm) {
	case CONF_ALGO_WEIGHTED_ROUND_ROBIN:
		return balance_pick_wrr(lb, g, seg, ctx);
	case CONF_ALGO_LEAST_CONNECTIONS:
		return balance_pick_leastconn(lb, g, seg, ctx);
	case CONF_ALGO_IP_HASH:
		return balance_pick_hash(lb, g, seg, ctx);
	case CONF_ALGO_RANDOM_TWO_CHOICES:
		return balance_pick_two(lb, g, seg, ctx);
	case CONF_ALGO_ROUND_ROBIN:
	default:
		return balance_pick_rr(lb, g, seg, ctx);
	}
}

/* Whether any member of g is up: usually the first one says so. */
static int
balance_group_up(const struct balance_group *g, const struct shm_seg *seg)
{
	uint32_t k;

	for (k = 0; k < g->n; k++)
		if (shm_backend_up(seg, g->member[k]))
			return 1;
	return 0;
}

/*
 * The group is chosen before the policy runs, so that a pick draws from the
 * shared counter once whichever group serves it (drawing for the primaries
 * and again for the backups would step the backups' rotation by two). Should
 * the last primary go down in between, the backups are asked after all.
 */
int
balance_pick(const struct lb *lb, struct shm_seg *seg, struct balance_ctx *ctx)
{
	const struct balance_group *primaries = &lb->group[BALANCE_PRIMARY];
	const struct balance_group *backups = &lb->group[BALANCE_BACKUP];
	int b;

	assert(seg->nbackends == lb->nbackends);
	if (backups->n > 0 && !balance_group_up(primaries, seg))
		return balance_pick_group(lb, backups, seg, ctx);
	b = balance_pick_group(lb, primaries, seg, ctx);
	if (b == BALANCE_NONE_HEALTHY && backups->n > 0)
		b = balance_pick_group(lb, backups, seg, ctx);
	return b;
}
