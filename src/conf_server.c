/*
 * "servers": the backends, each a URL string or an object of
 * conf_server_keys (url, weight, maxConnections, backup, verify, sendProxy),
 * a server written twice refused. Weights are defaulted and checked against
 * the algorithm by conf.c's second pass, "verify" against the scheme with
 * the TLS checks.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_int.h"

static conf_set_fn conf_set_server_url, conf_set_verify, conf_set_send_proxy;

/* A server written as an object; base is its struct conf_backend. */
static const struct conf_key conf_server_keys[] = {
	{ "url",		conf_set_server_url,	0,						0, 0, 1, NULL },
	{ "weight",		conf_set_uint,		offsetof(struct conf_backend, weight),		1, CONF_WEIGHT_MAX, 0, NULL },
	{ "maxConnections",	conf_set_uint,		offsetof(struct conf_backend, max_connections),	0, CONF_MAX_CONNECTIONS_MAX, 0, NULL },
	{ "backup",		conf_set_bool,		offsetof(struct conf_backend, backup),		0, 0, 0, NULL },
	{ "verify",		conf_set_verify,	offsetof(struct conf_backend, no_verify),	0, 0, 0, NULL },
	{ "sendProxy",		conf_set_send_proxy,	offsetof(struct conf_backend, send_proxy),	0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

_Static_assert(CONF_NKEYS(conf_server_keys) <= 64, "too many keys in conf_server_keys");

/*
 * "url" of a server object: the URL fields of the struct conf_backend at
 * <base>, leaving its other keys (which may come first) as they are.
 */
static void
conf_set_server_url(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf_backend *b = base, parsed;
	char msg[CONF_MSG_MAX];
	const char *s;

	(void)k;
	if ((s = conf_string(v)) == NULL) {
		conf_err(e, jpath, "expected an http:// URL");
		return;
	}
	if (conf_parse_url(s, &parsed, msg, sizeof(msg)) == -1) {
		conf_err(e, jpath, "%s", msg);
		return;
	}
	memcpy(b->url, parsed.url, sizeof(b->url));
	memcpy(b->host, parsed.host, sizeof(b->host));
	memcpy(b->hostport, parsed.hostport, sizeof(b->hostport));
	b->port = parsed.port;
	b->addr = parsed.addr;
	b->tls = parsed.tls;
}

/* "verify" of a server object: false turns off the check of its certificate. */
static void
conf_set_verify(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	if (!json_object_is_type(v, json_type_boolean))
		conf_err(e, jpath, "expected true or false");
	else
		*(int *)((char *)base + k->off) = json_object_get_boolean(v) ? 0 : 1;
}

/* "sendProxy" of a server object: "v1" or "v2" (the PROXY protocol version). */
static void
conf_set_send_proxy(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s = conf_string(v);
	int *dst = (int *)((char *)base + k->off);

	if (s != NULL && strcmp(s, "v1") == 0)
		*dst = 1;
	else if (s != NULL && strcmp(s, "v2") == 0)
		*dst = 2;
	else
		conf_err(e, jpath, "must be \"v1\" or \"v2\"");
}

/*
 * "servers": fills c->backends. Each entry is a URL string, or an object
 * with "url" and optional "weight", "maxConnections" and "backup" (left 0
 * for conf_defaults). A server written twice (same host and port) is refused;
 * an entry whose URL is bad leaves its url empty, out of that comparison.
 */
void
conf_set_servers(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf *c = base;
	struct json_object *item;
	char ipath[CONF_JPATH_MAX], msg[CONF_MSG_MAX];
	const char *s;
	size_t i, j, n;

	if (!json_object_is_type(v, json_type_array)) {
		conf_err(e, jpath, "expected an array of http:// URLs");
		return;
	}
	n = json_object_array_length(v);
	if (n < (size_t)k->min) {
		conf_err(e, jpath, "must list at least one server");
		return;
	}
	if (n > (size_t)k->max) {
		conf_err(e, jpath, "at most %lld servers are allowed", (long long)k->max);
		return;
	}
	if ((c->backends = calloc(n, sizeof(*c->backends))) == NULL) {
		conf_err(e, jpath, "out of memory");
		return;
	}
	c->nbackends = n;
	for (i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", jpath, i);
		item = json_object_array_get_idx(v, i);
		if (json_object_is_type(item, json_type_object)) {
			conf_walk(e, conf_server_keys, item, &c->backends[i], ipath);
		} else if ((s = conf_string(item)) == NULL) {
			conf_err(e, ipath, "expected an http:// URL%s",
			    json_object_is_type(item, json_type_string) ? "" :
			    " or an object such as {\"url\": \"http://10.0.0.5:8080\", \"weight\": 2}");
			continue;
		} else if (conf_parse_url(s, &c->backends[i], msg, sizeof(msg)) == -1) {
			conf_err(e, ipath, "%s", msg);
			c->backends[i].url[0] = '\0';
			continue;
		}
		if (c->backends[i].url[0] == '\0')
			continue;
		for (j = 0; j < i; j++)
			if (c->backends[j].url[0] != '\0' &&
			    c->backends[j].port == c->backends[i].port &&
			    strcasecmp(c->backends[j].host, c->backends[i].host) == 0)
				break;
		if (j < i) {
			conf_err(e, ipath, "duplicate of %s[%zu]", jpath, j);
			c->backends[i].url[0] = '\0';
		}
	}
}
