/*
 * The balancer: a struct pool built from the configuration, and the entry
 * point of every pick; see balance.h.
 *
 * balance_new splits the backends in two groups, primaries and backups (a
 * backup group is consulted only when no primary is up), and precomputes
 * what never changes: the smooth weighted sequence of each group (weighted
 * round robin, and the order ties are broken in by least connections) and
 * whatever the policy's init builds (the Maglev table of hash). A pick then
 * reads only the shared segment besides these tables: no lock, no
 * allocation, any number of processes at once. The policies are reached
 * through their struct lb_policy alone.
 */
#include "config.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "balance.h"
#include "conf.h"
#include "policy.h"
#include "pool.h"
#include "shm.h"

_Static_assert(BALANCE_MAX == CONF_MAX_BACKENDS, "one limit for both");

struct lb {
	struct pool pool;
	uint64_t id_sorted[BALANCE_MAX];	/* the backends' ids, in increasing order */
	uint8_t id_index[BALANCE_MAX];		/* the backend of each */
};

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

/*
 * Builds g->seq, the smooth weighted round robin of its members (weights
 * divided by their greatest common divisor): at each step every member gains
 * its weight, the richest (the first on a tie) is chosen and pays the total.
 * Weights 5,1,1 give a a b a c a a. Returns 0, or -1 when out of memory.
 */
static int
balance_build_seq(const struct pool *p, struct pool_group *g)
{
	uint32_t w[BALANCE_MAX], k, best, step;
	int64_t cur[BALANCE_MAX], total = 0;
	uint64_t d = 0;

	for (k = 0; k < g->n; k++)
		d = balance_gcd(p->weight[g->member[k]], d);
	for (k = 0; k < g->n; k++) {
		w[k] = p->weight[g->member[k]] / (uint32_t)d;
		total += w[k];
	}
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
 * The URL of backend b as every instance writes it, whatever the
 * configuration says: scheme, lower-case host, explicit port
 * ("http://Example.COM" -> "http://example.com:80").
 */
static void
balance_normal_url(const struct conf_backend *b, char *buf, size_t len)
{
	size_t i;
	int n;

	n = snprintf(buf, len, "%s://%s%s%s:%u", b->tls ? "https" : "http",
	    strchr(b->host, ':') != NULL ? "[" : "", b->host,
	    strchr(b->host, ':') != NULL ? "]" : "", (unsigned)b->port);
	for (i = 0; n > 0 && i < (size_t)n && i < len; i++)
		if (buf[i] >= 'A' && buf[i] <= 'Z')
			buf[i] = (char)(buf[i] - 'A' + 'a');
}

/* The 16-byte key of every hash from the "hashSeed" string (NULL: ""). */
static void
balance_seed_key(const char *seed, uint8_t key[16])
{
	static const uint8_t zero[16];
	uint64_t h[2];

	if (seed == NULL)
		seed = "";
	h[0] = pool_hash(zero, 1, seed, strlen(seed));
	h[1] = pool_hash(zero, 2, seed, strlen(seed));
	memcpy(key, h, 16);
}

/* Fills id_sorted and id_index, for balance_backend_by_id (insertion sort: load time). */
static void
balance_sort_ids(struct lb *lb)
{
	uint32_t k, j;
	uint64_t x;
	uint8_t i;

	for (k = 0; k < lb->pool.nbackends; k++) {
		x = lb->pool.id[k];
		i = (uint8_t)k;
		for (j = k; j > 0 && lb->id_sorted[j - 1] > x; j--) {
			lb->id_sorted[j] = lb->id_sorted[j - 1];
			lb->id_index[j] = lb->id_index[j - 1];
		}
		lb->id_sorted[j] = x;
		lb->id_index[j] = i;
	}
}

struct lb *
balance_new(const struct conf *c, char *err, size_t errlen)
{
	char url[CONF_URL_MAX + 16];
	struct pool_group *g;
	struct pool *p;
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
	p = &lb->pool;
	p->policy = c->policy != NULL ? c->policy : policy_default();
	p->slow_start_ms = (p->policy->flags & LB_RAMPS) ? c->slow_start_ms : 0;
	p->now_ms = shm_now_ms;
	balance_seed_key(c->hash_seed, p->key);
	p->nbackends = (uint32_t)c->nbackends;
	for (i = 0; i < c->nbackends; i++) {
		/* 0 is a conf_backend nobody defaulted (tests build them by hand). */
		p->weight[i] = c->backends[i].weight != 0 ? c->backends[i].weight : 1;
		p->max_conns[i] = c->backends[i].max_connections;
		balance_normal_url(&c->backends[i], url, sizeof(url));
		p->id[i] = pool_hash(p->key, 0, url, strlen(url));
		g = &p->group[c->backends[i].backup ? POOL_BACKUP : POOL_PRIMARY];
		p->pos[i] = (uint8_t)g->n;
		p->group_of[i] = c->backends[i].backup ? POOL_BACKUP : POOL_PRIMARY;
		g->member[g->n++] = (uint8_t)i;
	}
	balance_sort_ids(lb);
	for (id = 0; id < POOL_NGROUPS; id++) {
		g = &p->group[id];
		if (g->n == 0)
			continue;
		if (balance_build_seq(p, g) == -1)
			goto nomem;
		if (p->policy->init != NULL && p->policy->init(p, g, err, errlen) == -1) {
			balance_free(lb);
			return NULL;
		}
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
	for (id = 0; id < POOL_NGROUPS; id++) {
		if (lb->pool.group[id].data != NULL && lb->pool.policy->fini != NULL)
			lb->pool.policy->fini(&lb->pool.group[id]);
		free(lb->pool.group[id].seq);
	}
	free(lb);
}

uint64_t
balance_client_key(const struct lb *lb, const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET6)
		return pool_hash(lb->pool.key, 0,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	return pool_hash(lb->pool.key, 0, &((const struct sockaddr_in *)sa)->sin_addr, 4);
}

uint64_t
balance_key(const struct lb *lb, const void *p, size_t n)
{
	return pool_hash(lb->pool.key, 0, p, n);
}

void
balance_set_clock(struct lb *lb, uint64_t (*now_ms)(void))
{
	lb->pool.now_ms = now_ms;
}

unsigned
balance_effective_weight(const struct lb *lb, const struct shm_seg *seg, int i)
{
	return (unsigned)(((uint64_t)pool_weight(&lb->pool, seg, (unsigned)i) *
	    pool_ramp(&lb->pool, seg, (unsigned)i) *
	    1000 + POOL_RAMP_ONE / 2) / POOL_RAMP_ONE);
}

uint64_t
balance_backend_id(const struct lb *lb, int i)
{
	return lb->pool.id[i];
}

int
balance_backend_by_id(const struct lb *lb, uint64_t id)
{
	uint32_t lo = 0, hi = lb->pool.nbackends, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (lb->id_sorted[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < lb->pool.nbackends && lb->id_sorted[lo] == id ? lb->id_index[lo] : -1;
}

void
balance_acquire(struct shm_seg *seg, unsigned w, int i)
{
	pool_acquire(seg, w, i);
}

void
balance_release(const struct lb *lb, struct shm_seg *seg, unsigned w, int i)
{
	const struct pool *p = &lb->pool;

	pool_release(seg, w, i);
	if (p->policy->done != NULL)
		p->policy->done(p, &p->group[p->group_of[i]], seg, (unsigned)i);
}

void
balance_backend_changed(const struct lb *lb, struct shm_seg *seg, int i)
{
	const struct pool *p = &lb->pool;

	if (i >= 0 && (uint32_t)i < p->nbackends && p->policy->changed != NULL)
		p->policy->changed(p, &p->group[p->group_of[i]], seg, (unsigned)i);
}

void
balance_worker_reset(const struct lb *lb, struct shm_seg *seg, unsigned w)
{
	uint32_t i;
	int32_t n;

	for (i = 0; i < seg->nbackends; i++) {
		n = atomic_exchange(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 0);
		if (n != 0) {
			atomic_fetch_sub(&seg->backends[i].active, n);
			balance_backend_changed(lb, seg, (int)i);
		}
	}
}

void
balance_set_previous(struct lb *lb, const struct shm_seg *seg, const struct shm_seg *prev)
{
	struct pool *p = &lb->pool;
	uint32_t i, j;

	p->prev = prev;
	for (i = 0; i < p->nbackends && i < BALANCE_MAX; i++) {
		p->prev_index[i] = -1;
		for (j = 0; prev != NULL && j < prev->nbackends; j++) {
			if (strcmp(seg->backends[i].name, prev->backends[j].name) == 0) {
				p->prev_index[i] = (int32_t)j;
				break;
			}
		}
	}
}

static int
balance_pick_group(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    struct pick_ctx *ctx)
{
	if (g->n == 0)
		return PICK_NONE_HEALTHY;
	return p->policy->pick(p, g, seg, ctx);
}

/* Whether any member of g is up: usually the first one says so. */
static int
balance_group_up(const struct pool_group *g, const struct shm_seg *seg)
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
 * A sticky cookie's backend comes first, whatever the policy, when it can
 * take the request.
 */
int
balance_pick(const struct lb *lb, struct shm_seg *seg, struct pick_ctx *ctx)
{
	const struct pool *p = &lb->pool;
	const struct pool_group *primaries = &p->group[POOL_PRIMARY];
	const struct pool_group *backups = &p->group[POOL_BACKUP];
	struct pool_seen seen = { 0, 0 };
	int b;

	assert(seg->nbackends == p->nbackends);
	ctx->stuck = 0;
	if (ctx->has_sticky && ctx->sticky < p->nbackends) {
		if (pool_eligible(p, seg, ctx, ctx->sticky, &seen)) {
			if (pool_acquire_capped(p, seg, ctx->worker, ctx->sticky)) {
				ctx->stuck = 1;
				return (int)ctx->sticky;
			}
			seen.full++;	/* filled up in between */
		}
		if (seen.full > 0 && ctx->sticky_wait)
			return PICK_ALL_FULL;
	}
	if (backups->n > 0 && !balance_group_up(primaries, seg))
		return balance_pick_group(p, backups, seg, ctx);
	b = balance_pick_group(p, primaries, seg, ctx);
	if (b == PICK_NONE_HEALTHY && backups->n > 0)
		b = balance_pick_group(p, backups, seg, ctx);
	return b;
}
