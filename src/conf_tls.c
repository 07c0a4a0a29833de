/*
 * "tls": the TLS listener (its port and certificates, chosen by SNI), the
 * protocol versions and ciphers, session ticket rotation, the redirect from
 * plain HTTP, client certificates, and the CA for https:// backends; then
 * the checks of all this against the rest of the configuration. Only file
 * names are stored: tls.c reads the files and checks the cipher lists.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "conf.h"
#include "conf_int.h"

static conf_set_fn conf_set_tls_listen, conf_set_tls_certs, conf_set_tls_protocols,
    conf_set_pem, conf_set_string;

/* One of "tls.certificates"; base is its struct conf_tls_cert. */
static const struct conf_key conf_tls_cert_keys[] = {
	{ "cert",		conf_set_pem,		offsetof(struct conf_tls_cert, cert),		0, 0, 1, NULL },
	{ "key",		conf_set_pem,		offsetof(struct conf_tls_cert, key),		0, 0, 1, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

/* "tls"; base is the struct conf_tls. */
const struct conf_key conf_tls_keys[] = {
	{ "port",		conf_set_tls_listen,	0,						0, 0, 0, NULL },
	{ "certificates",	conf_set_tls_certs,	0,						1, CONF_TLS_CERTS_MAX, 0, NULL },
	{ "protocols",		conf_set_tls_protocols,	offsetof(struct conf_tls, protocols),		0, 0, 0, NULL },
	{ "ciphers",		conf_set_string,	offsetof(struct conf_tls, ciphers),		0, 0, 0, NULL },
	{ "ciphersuites",	conf_set_string,	offsetof(struct conf_tls, ciphersuites),	0, 0, 0, NULL },
	{ "sessionTicketRotation", conf_set_duration,	offsetof(struct conf_tls, ticket_rotation_ms),	0, 0, 0, NULL },
	{ "redirectHttp",	conf_set_bool,		offsetof(struct conf_tls, redirect_http),	0, 0, 0, NULL },
	{ "clientCA",		conf_set_pem,		offsetof(struct conf_tls, client_ca),		0, 0, 0, NULL },
	{ "backendCA",		conf_set_pem,		offsetof(struct conf_tls, backend_ca),		0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

_Static_assert(CONF_NKEYS(conf_tls_keys) <= 64, "too many keys in conf_tls_keys");

/* "tls": an object of conf_tls_keys; base is the struct conf. */
void
conf_set_tls(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	if (!json_object_is_type(v, json_type_object))
		conf_err(e, jpath, "expected an object such as {\"port\": \":8443\", \"certificates\": [...]}");
	else
		conf_walk(e, k->sub, v, (char *)base + k->off, jpath);
}

/* "tls.port": the TLS listener; base is the struct conf_tls. */
static void
conf_set_tls_listen(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf_tls *t = base;
	unsigned before = e->count;

	(void)k;
	conf_listen_value(e, v, jpath, &t->listen, t->listen_name, sizeof(t->listen_name),
	    "\":8443\" or \"127.0.0.1:8443\"");
	t->enabled = e->count == before;
}

/* "tls.certificates": objects {"cert", "key"}; base is the struct conf_tls. */
static void
conf_set_tls_certs(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf_tls *t = base;
	struct json_object *item;
	char ipath[CONF_JPATH_MAX];
	size_t i, n;

	if (!json_object_is_type(v, json_type_array)) {
		conf_err(e, jpath, "expected an array of {\"cert\": FILE, \"key\": FILE}");
		return;
	}
	n = json_object_array_length(v);
	if (n < (size_t)k->min || n > (size_t)k->max) {
		conf_err(e, jpath, "must list from %lld to %lld certificates",
		    (long long)k->min, (long long)k->max);
		return;
	}
	if ((t->certs = calloc(n, sizeof(*t->certs))) == NULL) {
		conf_err(e, jpath, "out of memory");
		return;
	}
	t->ncerts = n;
	for (i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", jpath, i);
		item = json_object_array_get_idx(v, i);
		if (!json_object_is_type(item, json_type_object))
			conf_err(e, ipath, "expected an object such as "
			    "{\"cert\": \"/etc/rondo/example.com.pem\", \"key\": \"/etc/rondo/example.com.key\"}");
		else
			conf_walk(e, conf_tls_cert_keys, item, &t->certs[i], ipath);
	}
}

/* "tls.protocols": "TLSv1.2" and/or "TLSv1.3"; older versions are refused by name. */
static void
conf_set_tls_protocols(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	unsigned *dst = (unsigned *)(void *)((char *)base + k->off), mask = 0;
	char ipath[CONF_JPATH_MAX];
	const char *s;
	size_t i, n;

	if (!json_object_is_type(v, json_type_array) || (n = json_object_array_length(v)) == 0) {
		conf_err(e, jpath, "expected a list such as [\"TLSv1.2\", \"TLSv1.3\"]");
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", jpath, i);
		s = conf_string(json_object_array_get_idx(v, i));
		if (s != NULL && strcmp(s, "TLSv1.2") == 0)
			mask |= CONF_TLS_V1_2;
		else if (s != NULL && strcmp(s, "TLSv1.3") == 0)
			mask |= CONF_TLS_V1_3;
		else if (s != NULL && (strcmp(s, "TLSv1") == 0 || strcmp(s, "TLSv1.0") == 0 ||
		    strcmp(s, "TLSv1.1") == 0 || strncmp(s, "SSLv", 4) == 0))
			conf_err(e, ipath, "%s is not secure and not supported: "
			    "use \"TLSv1.2\" and/or \"TLSv1.3\"", s);
		else
			conf_err(e, ipath, "must be \"TLSv1.2\" or \"TLSv1.3\"");
	}
	*dst = mask;
}

/* A PEM file name ("cert", "key", "clientCA", "backendCA"); read by tls.c, not here. */
static void
conf_set_pem(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_nonempty(e, v, jpath, "a PEM file name such as \"/etc/rondo/example.com.pem\"")) != NULL)
		conf_store_string(e, k, base, jpath, s);
}

/* "tls.ciphers", "tls.ciphersuites": OpenSSL lists, checked when tls.c uses them. */
static void
conf_set_string(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_nonempty(e, v, jpath, "a string in OpenSSL's cipher list syntax")) != NULL)
		conf_store_string(e, k, base, jpath, s);
}

/*
 * The "tls" object against the rest: certificates for a listener and a
 * listener for certificates, addresses of their own, https-only keys on
 * https servers, and nothing of it in a build without OpenSSL.
 */
void
conf_check_tls(struct conf_errs *e, const struct conf *c)
{
	const struct conf_tls *t = &c->tls;
	char jpath[CONF_JPATH_MAX];
	size_t i;

	if (t->enabled && t->ncerts == 0)
		conf_err(e, "tls.certificates", "required with tls.port: at least one certificate");
	if (!t->enabled && (t->ncerts > 0 || t->client_ca != NULL || t->ciphers != NULL ||
	    t->ciphersuites != NULL || t->redirect_http))
		conf_err(e, "tls.port", "required key is missing (only backendCA may be "
		    "given without a TLS listener)");
	if (t->redirect_http && c->listen.len == 0)
		conf_err(e, "tls.redirectHttp", "needs port: the plain HTTP listener to redirect from");
	if (t->ticket_rotation_ms < 1000)
		conf_err(e, "tls.sessionTicketRotation", "must be at least 1s");
	if (t->enabled && c->listen.len != 0 && conf_addr_overlap(&t->listen, &c->listen))
		conf_err(e, "tls.port", "%s is also where port (%s) listens: "
		    "the TLS listener needs a port of its own", t->listen_name, c->listen_name);
	if (t->enabled && c->admin && conf_addr_overlap(&t->listen, &c->admin_listen))
		conf_err(e, "tls.port", "%s is also where admin.listen (%s) listens",
		    t->listen_name, c->admin_name);
	for (i = 0; i < c->nbackends; i++) {
		if (c->backends[i].no_verify && !c->backends[i].tls) {
			snprintf(jpath, sizeof(jpath), "servers[%zu].verify", i);
			conf_err(e, jpath, "applies to https:// servers only");
		}
#ifndef HAVE_TLS
		if (c->backends[i].tls) {
			snprintf(jpath, sizeof(jpath), "servers[%zu]", i);
			conf_err(e, jpath, "https:// needs TLS: rondo was built without TLS");
		}
#endif
	}
#ifndef HAVE_TLS
	if (t->enabled || t->ncerts > 0 || t->client_ca != NULL || t->backend_ca != NULL)
		conf_err(e, "tls", "rondo was built without TLS (./configure --without-tls)");
#endif
}
