/*
 * The shared-memory segment: the backend table every rondo process sees.
 *
 * The master maps it (MAP_SHARED | MAP_ANONYMOUS) before it forks, so the
 * workers and the health child inherit the same pages. It is flat: fixed-size
 * names and integers, no pointers, so any process can read it as is.
 *
 * One writer per field:
 *   up, checks, last_*         the health child (release stores; readers acquire)
 *   rr                         every worker, atomic fetch-add or compare-and-swap (the global rotation)
 *   requests, failures, active every worker, relaxed atomic adds
 *   check_*                    the health child (stats_health_probe)
 *   wactive[w]                 worker slot w (and the master once w died)
 *   responses, latency         every worker, relaxed atomic adds
 *   drain, weight, accept      the master (admin requests)
 *   monitor                    the master (admin requests, SIGQUIT with stopGrace)
 *   fails, down_until_ms       workers (passive health); the health child clears down_until_ms
 *   workers[i]                 worker i+1 alone (relaxed stores; readers sum or compare);
 *                              its q_* fields also the master, once it died
 *   q_tickets, q_len           every worker, atomic adds (the queue, queue.h)
 *   pick[]                     the balancing policy (pool.h), in any process: atomic
 *                              read-modify-writes only
 *   base                       the master, before the workers start (stats_carry)
 *   generation                 the master
 *
 * Layout (bump SHM_LAYOUT_VERSION on any change):
 *
 *   struct shm_seg        header: magic, version, size, generation, nbackends, nworkers,
 *                         alone in the first page, which shm_seal makes read-only
 *     rr                  own cache line: the round-robin counter
 *     monitor             own cache line: why the monitor path answers 503
 *     pick[32]            the policy's shared words (least-connections: pool.h), zero at start
 *     workers[64]         one cache line per worker: its open connections and totals
 *     base                the worker totals of the generations before
 *   struct shm_backend[n] one cache-line-aligned slot per backend, in config order
 */
#ifndef RONDO_SHM_H
#define RONDO_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "stats.h"

#define SHM_MAGIC 0x524f4e44u		/* "ROND" */
#define SHM_LAYOUT_VERSION 7
#define SHM_HEADER_SIZE 4096		/* the header's own page, read-only once sealed */
#define SHM_NAME_MAX 256
#define SHM_MAX_WORKERS 64
#define SHM_LATENCY_BUCKETS 12		/* see shm_latency_bounds_ms */
#define SHM_RAMP_ONE 1024		/* shm_backend_ramp: the whole weight */
#define SHM_RAMP_MIN 102		/* about 10%: where a slow start begins */
#define SHM_PICK_WORDS 32		/* words a balancing policy shares between processes */

/* Bits of shm_seg.monitor: why this instance tells the layer in front it is not ready. */
#define SHM_MONITOR_DRAIN	0x1u	/* POST /instance/drain (until /instance/ready) */
#define SHM_MONITOR_STOPPING	0x2u	/* SIGQUIT: the "stopGrace" before the stop */

struct conf;

struct shm_backend {
	char name[SHM_NAME_MAX];	/* the URL as written in the config: the slot's key */
	_Atomic uint32_t up;		/* 1 when healthy (health child) */
	_Atomic uint32_t checked;	/* 1 once the first probe finished (health child) */
	_Atomic uint64_t last_check_us;	/* latency of the last probe (health child) */
	_Atomic int64_t active;		/* requests in flight, all workers */
	_Atomic int32_t wactive[SHM_MAX_WORKERS];	/* the same per worker slot, for the master's cleanup */
	_Atomic uint32_t drain;		/* 1: no new requests (admin, in the master) */
	_Atomic uint64_t latency[SHM_LATENCY_BUCKETS];	/* response head times, per bucket (workers) */
	_Atomic uint64_t latency_sum_us;	/* sum of those times (workers) */
	_Atomic uint32_t fails;		/* failures in a row, for maxFails (workers) */
	_Atomic uint64_t down_until_ms;	/* passive health: out until then, shm_now_ms (workers, health) */
	_Atomic uint64_t up_since_ms;	/* came back up then (shm_now_ms), for slowStart; 0: never
					   went (health, master) */
	uint32_t conf_weight;		/* its weight in the configuration (1..1000) */
	_Atomic uint32_t weight;	/* set at run time (admin), 0: conf_weight (master) */
	_Atomic uint32_t accept;	/* of its rotation turns, those it takes, in 1/SHM_RAMP_ONE:
					   its run-time weight against the others' (master) */
	STATS_BACKEND_COUNTERS(STATS_FIELD)	/* stats.h: requests, failures (workers), checks... (health) */
	STATS_BACKEND_CLASSES(STATS_CLASS_FIELD)	/* responses by class (workers) */
} __attribute__((aligned(64)));

struct shm_worker {
	_Atomic uint32_t sessions;	/* client connections open now */
	_Atomic uint32_t incoming;	/* connections handed to it, not yet taken (others add, it subtracts) */
	_Atomic uint32_t quitting;	/* it drains: hand it nothing more (seq_cst with incoming) */
	_Atomic uint64_t q_first;	/* ticket of its first queued request, 0: none (queue.h) */
	_Atomic uint32_t q_waiting;	/* its requests in the queue (the master clears them) */
	STATS_WORKER_COUNTERS(STATS_FIELD)	/* stats.h: accepted, requests */
	STATS_WORKER_TLS(STATS_FIELD)		/* stats.h: TLS handshakes and failures */
	STATS_WORKER_QUEUE(STATS_FIELD)		/* stats.h: the queue */
	STATS_WORKER_CLASSES(STATS_CLASS_FIELD)	/* local responses by class */
} __attribute__((aligned(64)));

struct shm_seg {
	uint32_t magic;			/* SHM_MAGIC */
	uint32_t layout_version;	/* SHM_LAYOUT_VERSION */
	size_t size;			/* bytes mapped */
	_Atomic uint64_t generation;	/* config generation (master) */
	uint32_t nbackends;
	uint32_t nworkers;		/* workers of this generation */
	_Atomic uint64_t rr __attribute__((aligned(SHM_HEADER_SIZE)));	/* round-robin counter */
	_Atomic uint64_t q_tickets __attribute__((aligned(64)));	/* queue tickets given (queue.h) */
	_Atomic uint32_t q_len;		/* requests in the queue, all workers */
	_Atomic uint32_t monitor __attribute__((aligned(64)));	/* SHM_MONITOR_* (master) */
	_Atomic uint64_t pick[SHM_PICK_WORDS] __attribute__((aligned(64)));	/* the policy's (pool.h) */
	struct shm_worker workers[SHM_MAX_WORKERS];
	struct shm_worker base;		/* counters of the generations before (carried; master) */
	struct shm_backend backends[] __attribute__((aligned(64)));
};

/*
 * Maps a new segment sized for c's backends, every backend up and unchecked,
 * for nworkers workers (at most SHM_MAX_WORKERS).
 * Returns NULL with err filled when mmap fails. Call before fork(); free with
 * shm_destroy (in each process that wants to drop the mapping).
 */
struct shm_seg *shm_create(const struct conf *c, unsigned nworkers, char *err, size_t errlen);
void shm_destroy(struct shm_seg *seg);

/*
 * Makes the header read-only, in this process and every process forked after:
 * the master frees the mapping by its size and walks its backends by count,
 * so no child may change them. Call once the master has set "generation".
 */
void shm_seal(struct shm_seg *seg);

/*
 * Carries health state (and passive health), the admin's drain flags (of the
 * backends, and of the instance in seg->monitor) and every
 * counter (stats_carry) from old to seg for every backend whose name is in
 * both. Call before any process uses seg, so no request reaches a drained backend.
 */
void shm_carry_health(struct shm_seg *seg, const struct shm_seg *old);

/* Upper bounds in ms of the latency buckets; the last one is +Inf. */
extern const double shm_latency_bounds_ms[SHM_LATENCY_BUCKETS];

/* Counts one response of backend i: its status and how long its head took. */
void shm_backend_response(struct shm_seg *seg, unsigned i, int status, double seconds);

/* CLOCK_MONOTONIC in ms: the same clock in every process. */
uint64_t shm_now_ms(void);

/*
 * Passive health. A failure (connect error, reset, timeout, malformed or 5xx
 * response) of backend i: after max_fails in a row (0: never) the backend is
 * out for fail_timeout_ms for every worker. Returns 1 for the one call that
 * took it out (that caller logs it).
 */
int shm_backend_failed(struct shm_seg *seg, unsigned i, unsigned max_fails,
    uint64_t fail_timeout_ms);

/* A good response: the run of failures is over. */
static inline void
shm_backend_ok(struct shm_seg *seg, unsigned i)
{
	if (atomic_load_explicit(&seg->backends[i].fails, memory_order_relaxed) != 0)
		atomic_store_explicit(&seg->backends[i].fails, 0, memory_order_relaxed);
}

/* 1 while passive health keeps backend i out. */
static inline int
shm_backend_passive_down(const struct shm_seg *seg, unsigned i)
{
	uint64_t until = atomic_load_explicit(&seg->backends[i].down_until_ms, memory_order_relaxed);

	return until != 0 && shm_now_ms() < until;
}

static inline int
shm_backend_up(const struct shm_seg *seg, unsigned i)
{
	return atomic_load_explicit(&seg->backends[i].up, memory_order_acquire) != 0;
}

static inline void
shm_backend_set_up(struct shm_seg *seg, unsigned i, int up)
{
	atomic_store_explicit(&seg->backends[i].up, up ? 1u : 0u, memory_order_release);
}

/*
 * Sets the run-time weight of backend i (1..1000, or 0: back to its
 * configured weight) and what every backend takes of its rotation turns
 * (accept): its run-time weight over its configured one, against the
 * largest such ratio, so that rotations built from the configured weights
 * share requests by the run-time ones. Master only.
 */
void shm_backend_set_weight(struct shm_seg *seg, unsigned i, unsigned weight);

/* The weight backend i has now: set at run time, else configured. */
static inline unsigned
shm_backend_weight(const struct shm_seg *seg, unsigned i)
{
	unsigned w = atomic_load_explicit(&seg->backends[i].weight, memory_order_relaxed);

	return w != 0 ? w : seg->backends[i].conf_weight;
}

/*
 * How much of its weight backend i has at <now> (shm_now_ms) under a slow
 * start of slow_ms, in 1/SHM_RAMP_ONE: from SHM_RAMP_MIN when it came back
 * (up_since_ms, or the end of its passive-health timeout, whichever is
 * later) to SHM_RAMP_ONE. A backend that never came back does not ramp.
 */
static inline unsigned
shm_backend_ramp(const struct shm_seg *seg, unsigned i, uint64_t slow_ms, uint64_t now)
{
	uint64_t start, until;

	if (slow_ms == 0)
		return SHM_RAMP_ONE;
	start = atomic_load_explicit(&seg->backends[i].up_since_ms, memory_order_relaxed);
	until = atomic_load_explicit(&seg->backends[i].down_until_ms, memory_order_relaxed);
	if (until <= now && until > start)
		start = until;
	if (start == 0 || now >= start + slow_ms)
		return SHM_RAMP_ONE;
	return SHM_RAMP_MIN + (unsigned)((SHM_RAMP_ONE - SHM_RAMP_MIN) *
	    (now > start ? now - start : 0) / slow_ms);
}

/* Backend i comes back into service now: its slow start begins (pool_ramp). */
static inline void
shm_backend_ramp_from_now(struct shm_seg *seg, unsigned i)
{
	atomic_store_explicit(&seg->backends[i].up_since_ms, shm_now_ms(), memory_order_relaxed);
}

/* The SHM_MONITOR_* bits set now (workers read them on each monitor request). */
static inline uint32_t
shm_monitor(const struct shm_seg *seg)
{
	return atomic_load_explicit(&seg->monitor, memory_order_acquire);
}

/* Sets (on) or clears the SHM_MONITOR_* bit (the master). */
static inline void
shm_monitor_set(struct shm_seg *seg, uint32_t bit, int on)
{
	if (on)
		atomic_fetch_or_explicit(&seg->monitor, bit, memory_order_release);
	else
		atomic_fetch_and_explicit(&seg->monitor, ~bit, memory_order_release);
}

static inline void
shm_counter_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

#endif
