/*
 * What every balancing policy shares: the backends as a policy sees them (a
 * struct pool, split in primaries and backups), the context of one pick, the
 * interface a policy implements (struct lb_policy), and the steps policies
 * are built from: eligibility, acquiring and releasing a backend, the shared
 * rotation counter, the spread by weight.
 *
 * This is the layer below the policies (the files of src/policy/); balance.c, above
 * them, builds a pool from the configuration and reaches the policies through
 * the registry (policy.h). Nothing here touches a socket or an event loop:
 * tests drive a pool over a plain segment.
 */
#ifndef RONDO_POOL_H
#define RONDO_POOL_H

#include <stddef.h>
#include <stdint.h>

struct shm_seg;

#define POOL_MAX 256		/* backends: == CONF_MAX_BACKENDS */

/* Pick results when no backend is given. */
#define PICK_NONE_HEALTHY	(-1)	/* no backend is up: 503 "No healthy server available" */
#define PICK_ALL_FULL		(-2)	/* some are up but all at maxConnections: 503 */
#define PICK_ALL_TRIED		(-3)	/* the healthy ones were tried and failed: 502 */

/* A set of backends: those already tried for one request, so a retry goes elsewhere. */
struct pick_tried {
	uint64_t bits[POOL_MAX / 64];
};

static inline void
pick_tried_add(struct pick_tried *t, int i)
{
	t->bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static inline int
pick_tried_has(const struct pick_tried *t, int i)
{
	return (t->bits[i / 64] >> (i % 64)) & 1;
}

/* One request's view: what was tried, who asks, what it hashes on. */
struct pick_ctx {
	struct pick_tried tried;
	uint64_t key;		/* the keyed hash of the request's hash key (LB_NEEDS_KEY) */
	int has_key;		/* 0: the request has no such key (hash falls back to a rotation) */
	unsigned worker;	/* 0-based worker slot doing the pick */
	int has_sticky;		/* a sticky cookie named backend <sticky> */
	unsigned sticky;
	int sticky_wait;	/* when that backend is full, PICK_ALL_FULL: wait for it */
	int stuck;		/* out: the pick went to that backend */
};

/* struct lb_policy.flags */
#define LB_WEIGHTED	0x1	/* a server's "weight" changes what it gets */
#define LB_NEEDS_KEY	0x2	/* picks by the request's "hashKey" */
#define LB_RAMPS	0x4	/* honours "slowStart" */

#define POOL_GROUP_WORDS 16	/* pool_words: SHM_PICK_WORDS / POOL_NGROUPS */
#define POOL_RAMP_ONE	1024	/* pool_ramp: a backend's whole weight (SHM_RAMP_ONE) */

/* The primaries, or the backups: what a pick chooses among. */
struct pool_group {
	uint32_t n;				/* members */
	uint8_t member[POOL_MAX];		/* their backend indexes, in config order */
	uint32_t nseq;				/* entries in seq: the sum of reduced weights */
	uint8_t *seq;				/* smooth weighted order of backend indexes */
	void *data;				/* the policy's own tables (init/fini) */
};

enum pool_group_id {
	POOL_PRIMARY,
	POOL_BACKUP,
	POOL_NGROUPS
};

struct lb_policy;

/*
 * The backends as the policies see them. Built by balance_new before the
 * workers fork and read-only afterwards (but for prev, set by the master).
 */
struct pool {
	const struct lb_policy *policy;
	uint32_t nbackends;
	uint32_t weight[POOL_MAX];		/* 1..CONF_WEIGHT_MAX */
	uint32_t max_conns[POOL_MAX];		/* 0: unlimited */
	uint8_t pos[POOL_MAX];			/* index of each backend in its group's member[] */
	uint8_t group_of[POOL_MAX];		/* the group of each backend: enum pool_group_id */
	uint64_t id[POOL_MAX];			/* pool_backend_id of each backend's URL */
	uint8_t key[16];			/* from "hashSeed": the same in every instance */
	struct pool_group group[POOL_NGROUPS];
	const struct shm_seg *prev;		/* the previous generation's segment, or NULL */
	int32_t prev_index[POOL_MAX];		/* each backend's slot there, -1 if none */
	uint64_t slow_start_ms;			/* "slowStart" if the policy ramps (LB_RAMPS), else 0 */
	uint64_t (*now_ms)(void);		/* the clock of the ramps: shm_now_ms (tests: a fake) */
};

/*
 * A balancing policy. init runs in the master when the configuration is
 * loaded (it may allocate: its tables go in g->data, freed by fini); pick
 * runs in the workers for each request and must neither allocate nor lock.
 * pick returns a backend index of g, acquired (pool_acquire_capped), or one
 * of the PICK_* codes. Requests are acquired and released by the layer
 * below (pool_acquire_capped, pool_release). A policy that keeps shared
 * state of its own (pool_words) hears of what changes it through the
 * optional hooks, which may run in any process (a worker, the health child,
 * the master) and must neither allocate nor lock either:
 *   done     a request on backend i finished (called after pool_release)
 *   changed  backend i went up or down (health check), was drained or made
 *            ready, had its weight set at run time, or had the requests of a
 *            worker that died taken off its count
 * Everything else a pick needs (health, counts, weights) is in the segment.
 */
struct lb_policy {
	const char *name;			/* as in the configuration */
	unsigned flags;				/* LB_* */
	int (*init)(struct pool *p, struct pool_group *g, char *err, size_t errlen);
	void (*fini)(struct pool_group *g);
	int (*pick)(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
	    const struct pick_ctx *ctx);
	void (*done)(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
	    unsigned i);
	void (*changed)(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
	    unsigned i);
};

/* Why a scan found nothing, when it did not. */
struct pool_seen {
	unsigned up;		/* backends up */
	unsigned full;		/* up, untried, at their limit */
};

/*
 * What one pick has learnt of the backends, so that a backend that comes up
 * many times in a weighted sequence is looked at once.
 */
struct pool_view {
	struct pick_tried known;	/* looked at */
	struct pick_tried ok;		/* looked at, and may be taken */
	struct pick_tried lost;		/* looked fine, but filled up before it was acquired */
	unsigned skipped;		/* turns passed over by pool_ramp_skip in this pick */
	struct pool_seen seen;		/* why the others may not */
	uint64_t bar_load;		/* bar_weight != 0: a member not looked at yet may be */
	uint64_t bar_weight;		/* taken only if pool_load_at_most(bar_load, bar_weight) */
};

/* A 64-bit finalizer: every input bit moves every output bit. */
uint64_t pool_mix(uint64_t h);

/* Keyed hash of <n> bytes at <p>, <salt> telling apart the uses of one key. */
uint64_t pool_hash(const uint8_t key[16], uint64_t salt, const void *p, size_t n);

/* The next number of this process's generator, seeded on first use. */
uint64_t pool_random(unsigned worker);

/* Requests in flight on backend i: this generation's and the previous one's. */
int64_t pool_active(const struct pool *p, const struct shm_seg *seg, unsigned i);

/* Counts one more request on backend i for worker slot w, ignoring its limit (a retry). */
void pool_acquire(struct shm_seg *seg, unsigned w, int i);

/* Gives back what pool_acquire or pool_acquire_capped acquired for worker slot w. */
void pool_release(struct shm_seg *seg, unsigned w, int i);

/*
 * Acquires backend i for worker slot w unless that would take it over its
 * limit. Returns 1 if acquired, 0 if full.
 */
int pool_acquire_capped(const struct pool *p, struct shm_seg *seg, unsigned w, unsigned i);

/*
 * Whether backend i can take this request (up, not drained, not out by
 * passive health, not tried, below its limit), without acquiring it; counts
 * in <seen> why not.
 */
int pool_eligible(const struct pool *p, const struct shm_seg *seg, const struct pick_ctx *ctx,
    unsigned i, struct pool_seen *seen);

/*
 * pool_eligible (and, with a bar set, pool_load_at_most the bar), asked of
 * the segment only the first time this pick looks at i.
 */
int pool_view_ok(const struct pool *p, const struct shm_seg *seg, const struct pick_ctx *ctx,
    struct pool_view *v, unsigned i);

/*
 * How much of its weight backend i has now, in 1/POOL_RAMP_ONE: from about
 * 10% when it came up (health check, end of a passive-health timeout,
 * "ready", added by a reload) to POOL_RAMP_ONE after slowStart.
 */
unsigned pool_ramp(const struct pool *p, const struct shm_seg *seg, unsigned i);

/* The weight of backend i now: set at run time (admin), else configured. */
unsigned pool_weight(const struct pool *p, const struct shm_seg *seg, unsigned i);

/*
 * Whether backend i has at most <load> requests in flight per <weight>, its
 * own weight being pool_weight * pool_ramp (so <weight> is in that unit).
 */
int pool_load_at_most(const struct pool *p, const struct shm_seg *seg, unsigned i,
    uint64_t load, uint64_t weight);

/*
 * The POOL_GROUP_WORDS words of the segment (SHM_PICK_WORDS in all) where
 * g's policy may keep what it shares between processes: zero in a new
 * segment, changed only with atomic operations.
 */
_Atomic uint64_t *pool_words(const struct pool *p, const struct pool_group *g,
    struct shm_seg *seg);

/*
 * Whether a rotation passes over backend i this time: with the probability
 * of what it lacks of its weight, slow-starting, or of what its run-time
 * weight takes from the configured one the rotation was built with.
 */
int pool_ramp_skip(const struct pool *p, const struct shm_seg *seg, const struct pick_ctx *ctx,
    unsigned i);

/* Backend i was eligible but full by the time it was acquired: not for this pick. */
void pool_view_lose(struct pool_view *v, unsigned i);

/* The result of a pick that found nothing, from what the scan saw. */
int pool_nothing(const struct pool_seen *seen);

/*
 * Of the members of g that v accepts, the one at r in their weights laid end
 * to end: an evenly spread r gives each its share by weight. Returns a
 * backend index, acquired, or -1 when v accepts none (v->seen says why).
 */
int pool_spread(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx, struct pool_view *v, uint64_t r);

/*
 * The rotation over order[] (norder members of g) driven by the shared
 * counter: the first entry v accepts from the counter's place on, each turn
 * used by one pick in one worker, so that with k of n takeable each gets one
 * pick in k. Returns a backend index, acquired, or -1 (v->seen says why).
 */
int pool_rotate(const struct pool *p, const struct pool_group *g, const uint8_t *order,
    uint32_t norder, struct shm_seg *seg, const struct pick_ctx *ctx, struct pool_view *v);

#endif
