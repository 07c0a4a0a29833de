/*
 * The heads rondo sends: a request head for the backend and a response head
 * for the client, written from a parsed message into a buffer.
 *
 * Requests go out in origin-form (HTTP/1.1, or 1.0 for a 1.0 client) with one framing field, hop-by-hop
 * fields dropped (Host never is, whatever Connection names), fields with '_'
 * in their name dropped when asked, one X-Request-Id, and X-Forwarded-For,
 * -Proto and -Host set: what the client sent of them is kept (and its
 * X-Forwarded-For appended to) only when it is a trusted proxy, as anyone
 * else could write any address there.
 * Responses keep their framing (the body is relayed as it came) and lose
 * their hop-by-hop fields. No I/O, no libev: tested on plain buffers.
 */
#ifndef RONDO_REWRITE_H
#define RONDO_REWRITE_H

#include <stddef.h>
#include <stdint.h>

struct buf;
struct http_msg;
struct http_str;

#define REWRITE_ID_MAX	64	/* longest X-Request-Id kept from a client */
#define REWRITE_ID_LEN	24	/* length of the ids rondo makes */

struct rewrite_request {
	/* in */
	const char *client_ip;		/* X-Forwarded-For, or appended to it when trusted */
	int trusted;			/* the client is a trusted proxy ("trustedProxies") */
	int upgrade;			/* pass the client's Upgrade offer on */
	int tls;			/* the client came over TLS: X-Forwarded-Proto https */
	const char *fresh_id;		/* the X-Request-Id when the client sent none usable */
	int drop_underscore;		/* drop fields whose name has a '_' (dropUnderscoreHeaders) */
	/* out */
	char *id;			/* REWRITE_ID_MAX + 1 bytes: the X-Request-Id sent */
	size_t referer_off, referer_len;	/* Referer value in the buffer (len 0: none) */
	size_t agent_off, agent_len;	/* User-Agent value in the buffer */
	size_t upgrade_off, upgrade_len;	/* the Upgrade offer sent, in the buffer (len 0: none) */
};

struct rewrite_response {
	const char *server;		/* X-Forwarded-Server value; NULL: none */
	int close;			/* the client connection closes after this response */
	int client_minor;		/* 0: an HTTP/1.0 client, told keep-alive when kept */
};

/*
 * Appends the request head for the backend, built from m (whose strings must
 * still be valid), to b. Returns 0, or -1 when it does not fit (b is then
 * partly written: reset it).
 */
int rewrite_request(struct buf *b, const struct http_msg *m, struct rewrite_request *rq);

/* Appends the client's view of the response head m to b. 0, or -1 when it does not fit. */
int rewrite_response(struct buf *b, const struct http_msg *m, const struct rewrite_response *rs);

/*
 * Appends a whole 308 response sending the request m to the same host, path
 * and query over https, on port (left out when 443), and closing. The host
 * is the request's (its absolute-form authority, else Host) without its
 * port. Returns 0, or -1 when m names no host or it does not fit.
 */
int rewrite_redirect(struct buf *b, const struct http_msg *m, unsigned port);

/* 1 if v may be kept as an X-Request-Id: 1..REWRITE_ID_MAX of [A-Za-z0-9._:-]. */
int rewrite_request_id_valid(struct http_str v);

/* Writes a new id, REWRITE_ID_LEN hex digits and a NUL: the prefix, then seq. */
void rewrite_request_id_make(uint32_t prefix, uint64_t seq, char *out);

#endif
