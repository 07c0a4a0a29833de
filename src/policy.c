/* The registry of balancing policies; see policy.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "policy.h"
#include "policy/policies.h"
#include "pool.h"

static const struct {
	const char *name;			/* as in "algorithm" */
	const struct lb_policy *policy;
	const char *key;			/* the hashKey an alias implies, or NULL */
} policy_table[] = {
	{ "round-robin",		&policy_round_robin,	NULL },
	{ "weighted-round-robin",	&policy_weighted,	NULL },
	{ "least-connections",		&policy_least_conn,	NULL },
	{ "hash",			&policy_hash,		NULL },
	{ "ip-hash",			&policy_hash,		"clientIp" },
	{ "random-two-choices",		&policy_two_choices,	NULL },
};

#define POLICY_COUNT (sizeof(policy_table) / sizeof(policy_table[0]))

const struct lb_policy *
policy_find(const char *name, const char **key)
{
	size_t i;

	for (i = 0; i < POLICY_COUNT; i++) {
		if (strcmp(name, policy_table[i].name) != 0)
			continue;
		if (key != NULL)
			*key = policy_table[i].key;
		return policy_table[i].policy;
	}
	return NULL;
}

const struct lb_policy *
policy_default(void)
{
	return &policy_round_robin;
}

void
policy_names(char *buf, size_t len)
{
	size_t i, used = 0;
	int n;

	if (len > 0)
		buf[0] = '\0';
	for (i = 0; i < POLICY_COUNT && used < len; i++) {
		n = snprintf(buf + used, len - used, "%s\"%s\"", i == 0 ? "" :
		    i + 1 == POLICY_COUNT ? " or " : ", ", policy_table[i].name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}
