/*
 * Sticky sessions ("sticky"): a cookie naming the backend that answered, so
 * that a client's next requests go back to it.
 *
 * The cookie holds an opaque id of the backend (balance_backend_id: a hash
 * of its normalised URL keyed with "hashSeed", 16 hex digits), never its
 * address. This module reads the cookie from a parsed request, takes it out
 * of the request before it is forwarded, and writes the Set-Cookie field;
 * balance_pick honours the backend it names. No I/O, no allocation.
 */
#ifndef RONDO_STICKY_H
#define RONDO_STICKY_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct http_msg;

#define STICKY_ID_LEN 16	/* hex digits of a cookie value */

/* "sticky" (conf.h holds it; cookie NULL: off). */
struct conf_sticky {
	char *cookie;			/* "cookie" (required): the cookie's name, a token */
	uint64_t max_age_ms;		/* "maxAge": 0 = a session cookie */
	char *path;			/* "path": NULL = "/" */
	char *domain;			/* "domain": NULL = none (the host the client asked) */
	int keep_in_request;		/* "keepInRequest": forward the cookie to the backend */
};

/*
 * The backend id in the request's sticky cookie: 1 with *id set when the
 * cookie is there and well formed (STICKY_ID_LEN lower-case hex digits), 0
 * otherwise (absent, or a forged or mangled value, which is ignored).
 */
int sticky_get(const struct conf_sticky *st, const struct http_msg *m, uint64_t *id);

/*
 * Takes every st->cookie pair out of m's Cookie fields, in place (the values
 * shrink within the request buffer; a field left empty is dropped from m),
 * so that rewriting m forwards the others only.
 */
void sticky_strip(const struct conf_sticky *st, struct http_msg *m);

/*
 * Appends "Set-Cookie: <name>=<id>" with Path, Max-Age, Domain, HttpOnly,
 * SameSite=Lax and, when tls, Secure, to the response head that b ends with
 * (just before its empty line). Returns 0, or -1 when it does not fit (b is
 * then unchanged).
 */
int sticky_set_cookie(struct buf *b, const struct conf_sticky *st, uint64_t id, int tls);

#endif
