/*
 * The registry of balancing policies: the names "algorithm" accepts, each
 * with its struct lb_policy (pool.h). conf.c checks a configuration against a
 * policy's flags; balance.c reaches the policies only through here.
 */
#ifndef RONDO_POLICY_H
#define RONDO_POLICY_H

#include <stddef.h>

struct lb_policy;

/*
 * The policy called <name> in the configuration, or NULL. An alias that
 * implies a hash key ("ip-hash": "hash" on "clientIp") sets *key to that key
 * as "hashKey" would spell it; else *key is NULL. key may be NULL.
 */
const struct lb_policy *policy_find(const char *name, const char **key);

/* The default policy: round robin. */
const struct lb_policy *policy_default(void);

/* Writes the accepted names, quoted and comma-separated, into buf (for messages). */
void policy_names(char *buf, size_t len);

#endif
