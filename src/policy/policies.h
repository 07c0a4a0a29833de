/*
 * The balancing policies, one file each in src/policy/. Each implements
 * struct lb_policy (pool.h) over a struct pool; the registry (policy.c)
 * lists them by name.
 */
#ifndef RONDO_POLICY_POLICIES_H
#define RONDO_POLICY_POLICIES_H

#include "pool.h"

extern const struct lb_policy policy_round_robin;	/* round_robin.c */
extern const struct lb_policy policy_weighted;		/* weighted.c */
extern const struct lb_policy policy_least_conn;	/* least_conn.c */
extern const struct lb_policy policy_hash;		/* hash.c */
extern const struct lb_policy policy_two_choices;	/* two_choices.c */

/* Round robin over g's members, for hash when a request has no key (round_robin.c). */
int policy_round_robin_pick(const struct pool *p, const struct pool_group *g, struct shm_seg *seg,
    const struct pick_ctx *ctx);

#endif
