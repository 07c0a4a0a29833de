/*
 * How a backend is picked: "algorithm" (a name in the policy registry),
 * "hashKey" and "hashSeed" for the hashing policies, "sticky" sessions by
 * cookie, and the "queue" of requests waiting for a backend; then the check
 * of hashKey against the algorithm.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_int.h"
#include "hashkey.h"
#include "policy.h"
#include "pool.h"

#define CONF_QUEUE_MAX		100000	/* "queue.max" */

static conf_set_fn conf_set_sticky_cookie, conf_set_cookie_attr;

/* "sticky"; base is its struct conf_sticky. */
const struct conf_key conf_sticky_keys[] = {
	{ "cookie",		conf_set_sticky_cookie,	offsetof(struct conf_sticky, cookie),		0, 0, 1, NULL },
	{ "maxAge",		conf_set_duration,	offsetof(struct conf_sticky, max_age_ms),	0, 0, 0, NULL },
	{ "path",		conf_set_cookie_attr,	offsetof(struct conf_sticky, path),		0, 0, 0, NULL },
	{ "domain",		conf_set_cookie_attr,	offsetof(struct conf_sticky, domain),		0, 0, 0, NULL },
	{ "keepInRequest",	conf_set_bool,		offsetof(struct conf_sticky, keep_in_request),	0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

/* "queue"; base is its struct conf_queue. */
const struct conf_key conf_queue_keys[] = {
	{ "max",		conf_set_uint,		offsetof(struct conf_queue, max),		1, CONF_QUEUE_MAX, 1, NULL },
	{ "timeout",		conf_set_duration,	offsetof(struct conf_queue, timeout_ms),	0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

/* "algorithm": a name in the policy registry (policy.h); base is the struct conf. */
void
conf_set_algorithm(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf *c = base;
	char names[256];
	const char *s;

	if ((s = conf_string(v)) != NULL && (c->policy = policy_find(s, NULL)) != NULL) {
		snprintf(c->algorithm, sizeof(c->algorithm), "%s", s);
		return;
	}
	policy_names(names, sizeof(names));
	conf_err(e, jpath, "must be one of %s", names);
}

/* "hashKey": what "hash" hashes on (hashkey.h). */
void
conf_set_hash_key(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	char msg[CONF_MSG_MAX];
	const char *s;

	if ((s = conf_nonempty(e, v, jpath, "a string such as \"header:X-User\"")) == NULL)
		return;
	if (hashkey_parse((struct hashkey *)((char *)base + k->off), s, msg, sizeof(msg)) == -1)
		conf_err(e, jpath, "%s", msg);
}

/* "hashSeed": any string; the same one gives the same tables everywhere. */
void
conf_set_hash_seed(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_nonempty(e, v, jpath, "a string")) != NULL)
		conf_store_string(e, k, base, jpath, s);
}

/* "sticky.cookie": a cookie name (an RFC 9110 token), at most 64 bytes. */
static void
conf_set_sticky_cookie(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;
	size_t i;

	if ((s = conf_nonempty(e, v, jpath, "a cookie name such as \"RONDOSRV\"")) == NULL)
		return;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') || strchr("!#$%&'*+-.^_`|~", s[i]) != NULL))
			break;
	if (s[i] != '\0' || i > 64) {
		conf_err(e, jpath, "must be a cookie name of 1 to 64 letters, digits or !#$%%&'*+-.^_`|~");
		return;
	}
	conf_store_string(e, k, base, jpath, s);
}

/* "sticky.path", "sticky.domain": visible ASCII but ';', at most 200 bytes. */
static void
conf_set_cookie_attr(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;
	size_t i;

	if ((s = conf_nonempty(e, v, jpath, "a string")) == NULL)
		return;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f || s[i] == ';')
			break;
	if (s[i] != '\0' || i > 200) {
		conf_err(e, jpath, "must be 1 to 200 visible characters, without ';'");
		return;
	}
	conf_store_string(e, k, base, jpath, s);
}

/*
 * "hashKey" only with a policy that hashes on it (LB_NEEDS_KEY), and not with
 * an alias that implies its own ("ip-hash" is "hash" on "clientIp"). A policy
 * that needs a key and has none hashes on the client address.
 */
void
conf_check_hash_key(struct conf_errs *e, struct conf *c)
{
	const char *implied = NULL;

	(void)policy_find(c->algorithm, &implied);
	if (c->hash_key.kind != 0 && !(c->policy->flags & LB_NEEDS_KEY))
		conf_err(e, "hashKey", "has no effect with algorithm %s", c->algorithm);
	else if (c->hash_key.kind != 0 && c->hash_key.kind != HASHKEY_CLIENT_IP && implied != NULL)
		conf_err(e, "hashKey", "algorithm %s always hashes on %s; use \"hash\"",
		    c->algorithm, implied);
	if ((c->policy->flags & LB_NEEDS_KEY) && c->hash_key.kind == 0)
		c->hash_key.kind = HASHKEY_CLIENT_IP;
}
