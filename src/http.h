/*
 * HTTP/1.1 message heads and chunked bodies (RFC 9112), parsed in place.
 *
 * The parser never allocates and never copies: every string it returns points
 * into the caller's buffer, which must stay put while the message is in use.
 * It is strict on purpose: anything two implementations could read two ways
 * (conflicting framing, obs-fold, bare LF, control bytes) is an error, so that
 * rondo never forwards a message a backend could frame differently.
 *
 * No I/O, no libev: the module is tested on plain byte arrays.
 */
#ifndef RONDO_HTTP_H
#define RONDO_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 100	/* more header fields than this: HTTP_E_TOO_LARGE */

/* Results. Errors are negative and each maps to one status code (http_status_code). */
enum {
	HTTP_OK = 0,		/* a complete head (or body) was parsed */
	HTTP_AGAIN = 1,		/* need more bytes; nothing is wrong yet */
	HTTP_E_BAD = -1,		/* malformed: 400 (request) or 502 (response) */
	HTTP_E_TOO_LARGE = -2,		/* head over the limit or too many fields: 431 */
	HTTP_E_URI_TOO_LONG = -3,	/* request line over the limit: 414 */
	HTTP_E_NOT_IMPLEMENTED = -4,	/* unknown transfer coding, CONNECT: 501 */
	HTTP_E_VERSION = -5,		/* HTTP/2.0, HTTP/1.2, HTTP/3.x ...: 505 */
};

/* How the body of a message is delimited. */
enum http_body {
	HTTP_BODY_NONE,		/* no body at all */
	HTTP_BODY_LENGTH,	/* exactly content_length bytes */
	HTTP_BODY_CHUNKED,	/* chunked transfer coding, ends with the last chunk + trailers */
	HTTP_BODY_EOF,		/* response only: until the server closes */
};

/* Flags of a parsed message (http_msg.flags). */
#define HTTP_F_CONN_CLOSE	0x01	/* Connection: close (or HTTP/1.0 without keep-alive) */
#define HTTP_F_CONN_KEEPALIVE	0x02	/* Connection: keep-alive token present */
#define HTTP_F_CONN_UPGRADE	0x04	/* Connection: upgrade token present */
#define HTTP_F_UPGRADE		0x08	/* an Upgrade header field is present */
#define HTTP_F_EXPECT_CONTINUE	0x10	/* Expect: 100-continue */
#define HTTP_F_METHOD_HEAD	0x20	/* request method is HEAD */

struct http_str {
	const char *p;		/* into the caller's buffer; not NUL-terminated */
	size_t len;
};

/*
 * Field names rondo acts on, recognised once by the parser so that later
 * steps (hop-by-hop removal, head rewriting) switch on a number instead of
 * comparing strings. Every other name is HTTP_H_OTHER.
 */
enum http_field_id {
	HTTP_H_OTHER = 0,
	/* hop-by-hop (RFC 9110 7.6.1, plus the widespread Keep-Alive and Proxy-Connection) */
	HTTP_H_CONNECTION, HTTP_H_KEEP_ALIVE, HTTP_H_PROXY_AUTHENTICATE,
	HTTP_H_PROXY_AUTHORIZATION, HTTP_H_PROXY_CONNECTION, HTTP_H_TE, HTTP_H_TRAILER,
	HTTP_H_TRANSFER_ENCODING, HTTP_H_UPGRADE,
	/* end-to-end */
	HTTP_H_HOST, HTTP_H_CONTENT_LENGTH, HTTP_H_EXPECT, HTTP_H_REFERER, HTTP_H_USER_AGENT,
	HTTP_H_X_FORWARDED_FOR, HTTP_H_X_FORWARDED_HOST, HTTP_H_X_FORWARDED_PROTO,
	HTTP_H_X_REQUEST_ID,
};
#define HTTP_H_HOP_LAST	HTTP_H_UPGRADE	/* ids 1..HTTP_H_HOP_LAST are always hop-by-hop */

struct http_header {
	struct http_str name;	/* token, as sent (case preserved) */
	struct http_str value;	/* leading and trailing whitespace removed */
	enum http_field_id id;	/* which known field this is, HTTP_H_OTHER if none */
	int conn_named;		/* a Connection field of the message names it */
};

struct http_msg {
	/* request line (requests only) */
	struct http_str method;
	struct http_str target;
	/* status line (responses only) */
	int status;			/* 100..599 */
	struct http_str reason;
	/* both */
	int minor;			/* HTTP/1.<minor>: 0 or 1 */
	size_t head_len;		/* bytes from the first byte through the empty line */
	size_t nheaders;
	struct http_header headers[HTTP_MAX_HEADERS];
	struct http_str host;		/* the Host field value (requests), len 0 if none */
	enum http_body body;
	uint64_t content_length;	/* the Content-Length value, 0 without one; frames the
					   body only when body == HTTP_BODY_LENGTH */
	int has_content_length;		/* a Content-Length field came (even "0") */
	unsigned flags;			/* HTTP_F_* */
	int conn_names;			/* Connection lists a name other than keep-alive and
					   upgrade (which are always hop-by-hop), "close" included */
};

/*
 * Parses a request head from buf[0..len). max_head bounds the whole head
 * (request line included): past it, HTTP_E_URI_TOO_LONG while still in the
 * request line, HTTP_E_TOO_LARGE after; decided as soon as len >= max_head,
 * without waiting for the end of the head. Returns HTTP_OK with *m filled
 * (m->head_len tells where the body starts), HTTP_AGAIN when the head is
 * incomplete, or an HTTP_E_* code; *m means nothing unless HTTP_OK. Keeps no
 * state: call again with the whole buffer when more bytes came; the answer
 * is the same whatever the pieces were. Up to four leading empty lines (RFC
 * 9112 2.2) are skipped and counted in head_len.
 *
 * Body: HTTP_BODY_CHUNKED, HTTP_BODY_LENGTH for a Content-Length over 0, else
 * HTTP_BODY_NONE (Content-Length: 0 included). Equal repeated Content-Length
 * values are one. HTTP/1.0 without a keep-alive token gets HTTP_F_CONN_CLOSE;
 * with both close and keep-alive tokens, both flags are set: close wins.
 * m->host is the Host field as sent; for an absolute-form target, RFC 9112
 * 3.2.2 says the target's authority is the one to use.
 *
 * Rejected: bare LF or CR, control bytes, obs-fold, whitespace before a colon,
 * an empty or non-token field name, a missing or repeated Host in HTTP/1.1,
 * Content-Length that is not 1*DIGIT, overflows or disagrees with another,
 * Content-Length together with Transfer-Encoding, Transfer-Encoding in
 * HTTP/1.0, Transfer-Encoding whose final coding is not "chunked" or that
 * names chunked twice or with parameters (RFC 9112 6.3: 400), other codings
 * before a final chunked (501), CONNECT (501), a version other than HTTP/1.0
 * or HTTP/1.1 (505 for a well-formed HTTP/x.y, 400 otherwise), a target that
 * is not origin-form ("/..."), absolute-form ("http://" or "https://" and a
 * valid uri-host [":" port], no user info) or "*" with OPTIONS, a target with
 * a fragment ('#' anywhere).
 */
int http_parse_request(struct http_msg *m, const char *buf, size_t len, size_t max_head);

/*
 * Parses a response head. req_flags are the flags of the request it answers
 * (HTTP_F_METHOD_HEAD makes the body HTTP_BODY_NONE). 1xx, 204 and 304 have
 * no body; Transfer-Encoding ending in chunked gives HTTP_BODY_CHUNKED, other
 * codings last HTTP_BODY_EOF (RFC 9112 6.3); Content-Length gives
 * HTTP_BODY_LENGTH; otherwise HTTP_BODY_EOF. Chunked applied twice or with
 * parameters, Transfer-Encoding with Content-Length, or in an HTTP/1.0 response,
 * conflicting Content-Length and malformed lines are HTTP_E_BAD; a version
 * other than 1.0 and 1.1 is HTTP_E_VERSION; past max_head, HTTP_E_TOO_LARGE.
 * Content-Length: 0 gives HTTP_BODY_NONE. Host is not looked at, and the
 * reason phrase may be empty or missing ("HTTP/1.1 200\r\n"). Otherwise as
 * http_parse_request.
 */
int http_parse_response(struct http_msg *m, const char *buf, size_t len, size_t max_head,
    unsigned req_flags);

/* Chunked body decoder: a byte-level state machine that resumes anywhere. */
struct http_chunked {
	int state;		/* private */
	uint64_t remaining;	/* private: data bytes left in the current chunk */
	size_t line_len;	/* private: length of the current size/trailer line */
	size_t trailer_len;	/* private: bytes of trailers so far */
};

void http_chunked_init(struct http_chunked *c);

/*
 * Feeds buf[0..len) of a chunked body to the decoder. *consumed is set to how
 * many bytes belong to the body (sizes, extensions, data, trailers and the
 * final CRLF included): the caller may forward exactly those bytes as they
 * are. Returns HTTP_OK once the final CRLF was consumed (bytes after it are
 * the next message's), HTTP_AGAIN when it needs more (all of buf consumed),
 * HTTP_E_BAD on a chunk size that is not hex, overflows 2^62, a bad
 * extension, a bare LF, a missing CRLF after data, or a malformed trailer
 * field; HTTP_E_TOO_LARGE when the trailers or one size line exceed 8 KiB.
 * On an error *consumed is the offset of the offending byte. Once it said
 * HTTP_OK or an error, it says it again, consuming nothing.
 */
int http_chunked_feed(struct http_chunked *c, const char *buf, size_t len, size_t *consumed);

/*
 * Bytes of the trailer section http_chunked_feed consumed so far: the field
 * lines after the last chunk and, once it said HTTP_OK, the final CRLF. They
 * are the last bytes it consumed, so a caller can hold them back until the
 * section is whole and then pass it through http_trailers_strip.
 */
size_t http_chunked_trailer_len(const struct http_chunked *c);

/*
 * Removes from a whole trailer section p[0..len) (field lines and the final
 * CRLF, as http_chunked_feed accepted them) the fields that must not come
 * after a body (RFC 9110 6.5.1): framing (Content-Length, Transfer-Encoding,
 * Trailer), routing (Host), the connection's own (Connection, Keep-Alive,
 * Upgrade, TE, Proxy-*), Expect, and the fields rondo sets itself
 * (X-Forwarded-*, X-Request-Id). A recipient that merges trailers into the
 * head would otherwise read them there. Moves the kept lines down; returns
 * the new length.
 */
size_t http_trailers_strip(char *p, size_t len);

/*
 * The status code to send for an HTTP_E_* result of http_parse_request (400,
 * 414, 431, 501, 505); 500 for anything else. A proxy answers 502 for any
 * error in a response.
 */
int http_status_code(int err);

/* Standard reason phrase for a status code, "Unknown" when there is none. */
const char *http_reason(int status);

/*
 * True when header h must not be forwarded by a proxy: a hop-by-hop field
 * (Connection, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
 * Upgrade, Proxy-Authenticate, Proxy-Authorization; RFC 9110 7.6.1, RFC 2616
 * 13.5.1) or one named in a Connection field of m. Connection never makes
 * Host or Content-Length hop-by-hop: a sender could otherwise strip the
 * framing or the routing of its own message on the way through. A proxy that
 * relays a chunked body as it came must then send its own
 * "Transfer-Encoding: chunked", and its own Connection/Upgrade to pass an
 * upgrade on. Constant time: the parser marked the named fields once.
 */
int http_header_is_hop(const struct http_msg *m, const struct http_header *h);

/*
 * Splits an absolute-form target ("http://host:port/p?q") into its authority
 * ("host:port") and the rest ("/p?q", which may be empty or start with '?'):
 * returns 1. Any other target gives 0, an empty authority and *rest = t. The
 * parser validates the authority of every target it accepts with this very
 * split, so whoever rewrites the target sees the authority that was checked.
 */
int http_target_authority(struct http_str t, struct http_str *authority, struct http_str *rest);

/*
 * Whether a 101 response m switches to protocols the client offered: its
 * Upgrade fields name at least one protocol, and each is an element of the
 * client's Upgrade list offer (compared without regard to case). A server
 * must not switch to anything else (RFC 9110 7.8): rondo would tunnel bytes
 * neither side agreed on.
 */
int http_upgrade_offered(const struct http_msg *m, struct http_str offer);

/* Case-insensitive comparison of s with the NUL-terminated lit: 1 if equal. */
int http_str_eq(struct http_str s, const char *lit);

/* Whether method m is lit: methods are case-sensitive (RFC 9110 9.1), "get" is not GET. */
int http_method_is(struct http_str m, const char *lit);

#endif
