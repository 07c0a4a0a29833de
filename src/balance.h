/*
 * Backend selection, one balancer across all workers.
 *
 * The master builds a struct lb from the configuration before it forks (the
 * tables that never change: the smooth weighted sequence, the consistent-hash
 * table); workers inherit it read-only. Everything that changes (health, the
 * rotation counter, active requests) lives in the shared segment, so every
 * policy sees the same state in every worker.
 *
 * A pick also acquires: the chosen backend's active count is already raised
 * when balance_pick returns (that is how maxConnections holds across workers
 * without a lock). Each successful pick is paired with one balance_release.
 *
 * The policies themselves are in src/policy/, each behind struct lb_policy
 * (pool.h), found by name in the registry (policy.h); they never touch
 * sockets: tests drive them with a plain segment.
 */
#ifndef RONDO_BALANCE_H
#define RONDO_BALANCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "pool.h"

struct conf;
struct lb;
struct shm_seg;

#define BALANCE_MAX POOL_MAX

/*
 * Builds the balancer for configuration c (c->policy, and each backend's
 * weight, max_connections and backup; a weight of 0 counts as 1). Whatever
 * is hashed (client addresses, hash keys, the backends' ids) is keyed with
 * c->hash_seed, and a backend's id comes from its normalised URL (scheme,
 * lower-case host, explicit port): two instances, or two generations, with
 * the same servers and seed hash alike, whatever the order of the servers.
 * Precomputes the smooth weighted sequence and what the policy's init builds
 * (for hash, a Maglev table of 64 KiB to 2 MiB): call it before forking,
 * not in a worker. Refuses more than BALANCE_MAX backends. Returns NULL with
 * err filled on failure. Free with balance_free; c may be freed before.
 */
struct lb *balance_new(const struct conf *c, char *err, size_t errlen);
void balance_free(struct lb *lb);

/*
 * After a reload: requests still in flight on the previous generation's
 * workers (in prev, matched to seg's backends by URL) count towards
 * least-connections, random-two-choices and maxConnections, until
 * balance_set_previous(lb, seg, NULL). prev must stay mapped in every
 * process that picks with lb: call it in the master before forking, and
 * clear it before prev is unmapped there.
 */
void balance_set_previous(struct lb *lb, const struct shm_seg *seg, const struct shm_seg *prev);

/* The keyed hash of a request's hash key, <n> bytes at <p> (pick_ctx.key). */
uint64_t balance_key(const struct lb *lb, const void *p, size_t n);

/*
 * The id of backend i: a hash of its normalised URL keyed with "hashSeed",
 * the same in every instance and generation (sticky cookies carry it).
 */
uint64_t balance_backend_id(const struct lb *lb, int i);

/* The backend whose id is <id>, or -1 (a forged or outdated id). */
int balance_backend_by_id(const struct lb *lb, uint64_t id);

/* Tests: the clock of slow starts, shm_now_ms unless set (a fake one). */
void balance_set_clock(struct lb *lb, uint64_t (*now_ms)(void));

/*
 * The weight backend i has now, in thousandths: its weight times the part a
 * slow start gives it (weight * 1000 once the ramp is over or without one).
 */
unsigned balance_effective_weight(const struct lb *lb, const struct shm_seg *seg, int i);

/* The keyed hash of a client address (IPv4 or IPv6, port ignored). */
uint64_t balance_client_key(const struct lb *lb, const struct sockaddr *sa);

/*
 * Picks a backend for one request by the configured policy among backends that
 * are up, not in ctx->tried and below their maxConnections (backups only when
 * no primary is up), and acquires it. Returns its index, or one of the
 * PICK_* codes (pool.h). With ctx->has_sticky the backend ctx->sticky comes
 * first when it can take the request (ctx->stuck says whether it did); when
 * it is up but full, PICK_ALL_FULL with ctx->sticky_wait (the request waits
 * for it), else the policy picks another.
 * PICK_ALL_FULL as soon as one backend up and untried was
 * passed over for its limit, PICK_ALL_TRIED when every one up was tried.
 * Safe to call from any number of processes at once; no allocation, no lock.
 */
int balance_pick(const struct lb *lb, struct shm_seg *seg, struct pick_ctx *ctx);

/* Counts one more request on backend i for worker slot w, ignoring its limit (a retry). */
void balance_acquire(struct shm_seg *seg, unsigned w, int i);

/* Gives back what balance_pick(…) = i (or balance_acquire) acquired for worker slot w. */
void balance_release(const struct lb *lb, struct shm_seg *seg, unsigned w, int i);

/*
 * Tells the policy that backend i went up or down, was drained or made
 * ready, or had its weight set: call it after changing the segment (any
 * process: the health child, the master's admin).
 */
void balance_backend_changed(const struct lb *lb, struct shm_seg *seg, int i);

/*
 * Master only, after worker slot w died: subtracts its active requests from
 * every backend and zeroes its counts, so no phantom connection stays.
 */
void balance_worker_reset(const struct lb *lb, struct shm_seg *seg, unsigned w);

#endif
