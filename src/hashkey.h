/*
 * "hashKey": what of a request the hash policy hashes on, and reading it
 * from a parsed request head. The key is taken as received: the path is
 * neither decoded nor normalised, so /a%2Fb and /a/b are two keys.
 *
 * Leaf module: no I/O, no allocation; the values point into the head.
 */
#ifndef RONDO_HASHKEY_H
#define RONDO_HASHKEY_H

#include <stddef.h>

#include "http.h"

#define HASHKEY_NAME_MAX 128

enum hashkey_kind {
	HASHKEY_CLIENT_IP = 1,	/* "clientIp": the client's address (ip-hash); read by the caller */
	HASHKEY_HEADER,		/* "header:NAME": the first field NAME (any case) */
	HASHKEY_COOKIE,		/* "cookie:NAME": the cookie NAME (exact case) */
	HASHKEY_PATH,		/* "path": the target up to '?' */
	HASHKEY_URI,		/* "uri": path and query */
	HASHKEY_QUERY,		/* "query:NAME": the first parameter NAME of the query */
};

struct hashkey {
	enum hashkey_kind kind;		/* 0: none configured */
	char name[HASHKEY_NAME_MAX];	/* NAME of header:, cookie:, query:; "" for the others */
	size_t len;			/* strlen(name) */
};

/*
 * Parses a "hashKey" value into *k. Refuses an unknown kind, a NAME missing,
 * too long or (for header:) not a token. Returns 0, or -1 with err filled.
 */
int hashkey_parse(struct hashkey *k, const char *s, char *err, size_t errlen);

/*
 * The key of request m, which must have been parsed (HTTP_OK): 1 with *out
 * pointing into m's buffer (it may be empty: an empty value is a key), or 0
 * when the request has none. Not for HASHKEY_CLIENT_IP (returns 0).
 */
int hashkey_get(const struct hashkey *k, const struct http_msg *m, struct http_str *out);

/*
 * The value of cookie <name> (<len> bytes, exact case) in m's Cookie fields:
 * 1 with *out set, or 0.
 */
int hashkey_cookie(const struct http_msg *m, const char *name, size_t len, struct http_str *out);

#endif
