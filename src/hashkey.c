/* "hashKey" parsing and extraction; see hashkey.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hashkey.h"
#include "http.h"

static const struct {
	const char *prefix;
	enum hashkey_kind kind;
	int named;			/* NAME follows the prefix */
} hashkey_kinds[] = {
	{ "clientIp",	HASHKEY_CLIENT_IP,	0 },
	{ "path",	HASHKEY_PATH,		0 },
	{ "uri",	HASHKEY_URI,		0 },
	{ "header:",	HASHKEY_HEADER,		1 },
	{ "cookie:",	HASHKEY_COOKIE,		1 },
	{ "query:",	HASHKEY_QUERY,		1 },
};

/* RFC 9110 tchar, for field and cookie names. */
static int
hashkey_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

int
hashkey_parse(struct hashkey *k, const char *s, char *err, size_t errlen)
{
	const char *name;
	size_t i, plen, j;

	memset(k, 0, sizeof(*k));
	for (i = 0; i < sizeof(hashkey_kinds) / sizeof(hashkey_kinds[0]); i++) {
		plen = strlen(hashkey_kinds[i].prefix);
		if (!hashkey_kinds[i].named) {
			if (strcmp(s, hashkey_kinds[i].prefix) != 0)
				continue;
			k->kind = hashkey_kinds[i].kind;
			return 0;
		}
		if (strncmp(s, hashkey_kinds[i].prefix, plen) != 0)
			continue;
		name = s + plen;
		if (*name == '\0' || strlen(name) >= sizeof(k->name)) {
			snprintf(err, errlen, "%s needs a name of 1 to %zu bytes",
			    hashkey_kinds[i].prefix, sizeof(k->name) - 1);
			return -1;
		}
		for (j = 0; name[j] != '\0'; j++) {
			if (hashkey_kinds[i].kind == HASHKEY_QUERY ?
			    (name[j] == '&' || name[j] == '=' || name[j] == '#' ||
			    (unsigned char)name[j] <= ' ' || name[j] == 0x7f) :
			    !hashkey_tchar((unsigned char)name[j])) {
				snprintf(err, errlen, "%s\"%s\": not a valid name",
				    hashkey_kinds[i].prefix, name);
				return -1;
			}
		}
		k->kind = hashkey_kinds[i].kind;
		k->len = strlen(name);
		memcpy(k->name, name, k->len + 1);
		return 0;
	}
	snprintf(err, errlen, "must be \"clientIp\", \"header:NAME\", \"cookie:NAME\", \"path\", "
	    "\"uri\" or \"query:NAME\"");
	return -1;
}

int
hashkey_cookie(const struct http_msg *m, const char *name, size_t len, struct http_str *out)
{
	const char *p, *end, *eq, *semi;
	size_t h;

	for (h = 0; h < m->nheaders; h++) {
		if (m->headers[h].name.len != 6 ||
		    strncasecmp(m->headers[h].name.p, "cookie", 6) != 0)
			continue;
		p = m->headers[h].value.p;
		end = p + m->headers[h].value.len;
		/* cookie-string: name=value pairs separated by ";" and optional spaces. */
		while (p < end) {
			while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
				p++;
			if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
				semi = end;
			eq = memchr(p, '=', (size_t)(semi - p));
			if (eq != NULL && (size_t)(eq - p) == len && memcmp(p, name, len) == 0) {
				out->p = eq + 1;
				out->len = (size_t)(semi - eq - 1);
				while (out->len > 0 && (out->p[out->len - 1] == ' ' ||
				    out->p[out->len - 1] == '\t'))
					out->len--;
				return 1;
			}
			p = semi;
		}
	}
	return 0;
}

/* The origin-form part of the target: an absolute-form target loses its scheme and authority. */
static struct http_str
hashkey_target(const struct http_msg *m)
{
	struct http_str authority, rest;

	(void)http_target_authority(m->target, &authority, &rest);
	return rest;
}

/* The first parameter <name> of a query string q ("a=1&b=2"): 1 with *out set, or 0. */
static int
hashkey_query(struct http_str q, const char *name, size_t len, struct http_str *out)
{
	const char *p = q.p, *end = q.p + q.len, *amp;

	while (p < end) {
		if ((amp = memchr(p, '&', (size_t)(end - p))) == NULL)
			amp = end;
		if ((size_t)(amp - p) >= len && memcmp(p, name, len) == 0 &&
		    (p + len == amp || p[len] == '=')) {
			out->p = p + len == amp ? amp : p + len + 1;
			out->len = (size_t)(amp - out->p);
			return 1;
		}
		p = amp + 1;
	}
	return 0;
}

int
hashkey_get(const struct hashkey *k, const struct http_msg *m, struct http_str *out)
{
	struct http_str t;
	const char *q;
	size_t h;

	switch (k->kind) {
	case HASHKEY_HEADER:
		for (h = 0; h < m->nheaders; h++) {
			if (m->headers[h].name.len == k->len &&
			    strncasecmp(m->headers[h].name.p, k->name, k->len) == 0) {
				*out = m->headers[h].value;
				return 1;
			}
		}
		return 0;
	case HASHKEY_COOKIE:
		return hashkey_cookie(m, k->name, k->len, out);
	case HASHKEY_PATH:
	case HASHKEY_URI:
	case HASHKEY_QUERY:
		t = hashkey_target(m);
		q = t.len > 0 ? memchr(t.p, '?', t.len) : NULL;
		if (k->kind == HASHKEY_URI) {
			*out = t;
			return 1;
		}
		if (k->kind == HASHKEY_PATH) {
			out->p = t.p;
			out->len = q != NULL ? (size_t)(q - t.p) : t.len;
			return 1;
		}
		if (q == NULL)
			return 0;
		t.len -= (size_t)(q + 1 - t.p);
		t.p = q + 1;
		return hashkey_query(t, k->name, k->len, out);
	case HASHKEY_CLIENT_IP:
	default:
		return 0;
	}
}
