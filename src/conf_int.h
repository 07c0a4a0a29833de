/*
 * What the conf_*.c files share, and nothing else includes: the error list
 * problems are collected in, the tables of known keys conf_walk reads, and
 * the readers of the kinds of values every area uses (conf_value.c). The
 * public struct conf and its API stay in conf.h.
 */
#ifndef RONDO_CONF_INT_H
#define RONDO_CONF_INT_H

#include <stddef.h>
#include <stdint.h>

struct conf;
struct json_object;
struct net_addr;

#define CONF_JPATH_MAX		256			/* "healthCheck.expectStatus", "servers[255]" */
#define CONF_MSG_MAX		512			/* one problem, before the file name */

/* Where problems are collected: the caller's buffer, one line per problem. */
struct conf_errs {
	char		*buf;		/* NUL-terminated whenever len > 0 */
	size_t		 len;
	size_t		 used;		/* bytes written, NUL excluded */
	const char	*name;		/* file name, or conf_load_string's name */
	unsigned	 count;		/* problems found, even those cut off */
};

struct conf_key;

/*
 * Checks value <v> found at <jpath> against key <k> and stores it at
 * base + k->off, or records a problem in <e>. <base> is the struct the key
 * table describes (struct conf, struct conf_health).
 */
typedef void conf_set_fn(struct conf_errs *e, const struct conf_key *k,
    struct json_object *v, void *base, const char *jpath);

struct conf_key {
	const char		*name;		/* as in the JSON */
	conf_set_fn		*set;
	size_t			 off;		/* offsetof the field in base */
	int64_t			 min, max;	/* bounds for integers */
	int			 required;
	const struct conf_key	*sub;		/* keys of a nested object */
};

/* conf_walk marks the keys it has seen in a 64-bit mask. */
#define CONF_NKEYS(t)	(sizeof(t) / sizeof((t)[0]) - 1)

/* conf.c: the error list and the walk. */

/* Records one problem: "name: jpath: message", or "name: message" when jpath is NULL. */
void conf_err(struct conf_errs *e, const char *jpath, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/*
 * Records a syntax problem at byte <off> of <buf> as "name:line:col: what",
 * <bom> bytes of byte order mark not counted.
 */
void conf_err_at(struct conf_errs *e, const char *buf, size_t off, size_t bom, const char *what);
/*
 * Walks the members of <obj> in file order against the NULL-terminated table
 * <keys>, into <base>: each known key's setter runs, each unknown key is a
 * problem, and so is each required key left out.
 */
void conf_walk(struct conf_errs *e, const struct conf_key *keys, struct json_object *obj,
    void *base, const char *jpath);

/* conf_value.c: the kinds of values. */

/* Whether listeners on <a> and <b> would take the same port of one address. */
int conf_addr_overlap(const struct net_addr *a, const struct net_addr *b);
/* Whether <a> is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x.y.z). */
int conf_addr_is_loopback(const struct net_addr *a);

/* The string in <v>, or NULL when <v> is no string or holds a NUL byte. */
const char *conf_string(struct json_object *v);
/* The non-empty string in <v>, short enough to be a path, or NULL with a problem recorded. */
const char *conf_nonempty(struct conf_errs *e, struct json_object *v, const char *jpath,
    const char *what);
/* A copy of <s> (NULL: NULL) into the char * at base + k->off, freeing what was there. */
void conf_store_string(struct conf_errs *e, const struct conf_key *k, void *base,
    const char *jpath, const char *s);
/* A listen address or bare port number at <jpath> into <a> and <name>. */
void conf_listen_value(struct conf_errs *e, struct json_object *v, const char *jpath,
    struct net_addr *a, char *name, size_t namelen, const char *example);

/*
 * Setters for key tables: a duration string (in milliseconds), true or false,
 * an integer in k->min..k->max, one HTTP status code (0: any 2xx or 3xx), a
 * list of status codes as a bitmap, a request path for probes, a list of
 * address ranges (struct conf_cidrs; at least k->min).
 */
conf_set_fn conf_set_duration, conf_set_bool, conf_set_uint, conf_set_status,
    conf_set_statuses, conf_set_http_path, conf_set_cidrs;

/* conf_admin.c: "admin" (base is the struct conf, k->sub conf_admin_keys). */
extern const struct conf_key conf_admin_keys[];
conf_set_fn conf_set_admin;

/*
 * conf_balance.c: "algorithm" (base is the struct conf), "hashKey",
 * "hashSeed", and the key tables of "sticky" and "queue".
 */
extern const struct conf_key conf_sticky_keys[], conf_queue_keys[];
conf_set_fn conf_set_algorithm, conf_set_hash_key, conf_set_hash_seed;
/*
 * "hashKey" only with an algorithm that hashes on it, and not with one that
 * implies its own; one that needs a key and has none gets "clientIp".
 */
void conf_check_hash_key(struct conf_errs *e, struct conf *c);

/* conf_server.c: "servers" into c->backends (base is the struct conf). */
conf_set_fn conf_set_servers;

/* conf_tls.c: "tls" (base is the struct conf, k->sub conf_tls_keys). */
extern const struct conf_key conf_tls_keys[];
conf_set_fn conf_set_tls;
/*
 * The "tls" object against the rest, once every key has its value: a
 * listener with certificates and certificates with a listener, addresses of
 * their own, "verify" on https:// servers only, none of it without OpenSSL.
 */
void conf_check_tls(struct conf_errs *e, const struct conf *c);

/* conf_text.c: what json-c lets through in the text. */

/* The offset of the first single quote outside a string in <buf>, or <len>. */
size_t conf_find_squote(const char *buf, size_t len);
/* Records each member name written twice in one object: their number, or -1 (out of memory). */
int conf_dup_keys(struct conf_errs *e, const char *buf, size_t len, size_t bom);

#endif
