/*
 * Unit tests of the HTTP/1.1 parser (src/http.c).
 *
 * Every table entry is fed whole and as each of its prefixes: the parser keeps
 * no state between calls, so a head split at byte k is the prefix of length k
 * followed by the whole. Prefixes are copied to buffers of exactly their size
 * so that AddressSanitizer catches any read past the end. Chunked bodies are
 * fed whole, a byte at a time and split in two at every byte.
 */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define MAX_HEAD	8192
#define LIT(s)		s, sizeof(s) - 1	/* a literal and its length, NULs included */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* ---- requests ---------------------------------------------------------- */

struct req_ok {
	const char *raw;
	size_t len;
	const char *method;
	const char *target;
	const char *host;	/* NULL: no Host field */
	int minor;
	enum http_body body;
	uint64_t cl;
	unsigned flags;
	size_t nheaders;
	size_t tail;		/* bytes after the head (body, next request) */
	size_t hidx;		/* header to check when hname is set */
	const char *hname;
	const char *hvalue;
};

static const struct req_ok req_ok[] = {
	{ LIT("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "example.com", .minor = 1, .nheaders = 1,
	    .hidx = 0, .hname = "Host", .hvalue = "example.com" },
	{ LIT("GET /a/b?c=d&e HTTP/1.0\r\n\r\n"),
	    .method = "GET", .target = "/a/b?c=d&e", .minor = 0, .flags = HTTP_F_CONN_CLOSE },
	{ LIT("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"),
	    .method = "GET", .target = "/", .minor = 0, .flags = HTTP_F_CONN_KEEPALIVE,
	    .nheaders = 1 },
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .flags = HTTP_F_CONN_CLOSE,
	    .nheaders = 2 },
	{ LIT("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "HEAD", .target = "/x", .host = "a", .minor = 1, .flags = HTTP_F_METHOD_HEAD,
	    .nheaders = 1 },
	/* Content-Length; 0 is reported as no body */
	{ LIT("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"),
	    .method = "POST", .target = "/p", .host = "a", .minor = 1, .body = HTTP_BODY_LENGTH,
	    .cl = 5, .nheaders = 2, .tail = 5 },
	{ LIT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_NONE,
	    .cl = 0, .nheaders = 2 },
	{ LIT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 007\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_LENGTH,
	    .cl = 7, .nheaders = 2 },
	{ LIT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_LENGTH,
	    .cl = 5, .nheaders = 2 },
	{ LIT("POST / HTTP/1.1\r\nContent-Length: 5\r\nHost: a\r\ncontent-length:5\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_LENGTH,
	    .cl = 5, .nheaders = 3 },
	{ LIT("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_LENGTH,
	    .cl = UINT64_C(4611686018427387904), .nheaders = 2 },
	{ LIT("POST / HTTP/1.0\r\nContent-Length: 2\r\n\r\nhi"),
	    .method = "POST", .target = "/", .minor = 0, .body = HTTP_BODY_LENGTH, .cl = 2,
	    .flags = HTTP_F_CONN_CLOSE, .nheaders = 1, .tail = 2 },
	/* chunked, with the spellings a request may use */
	{ LIT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_CHUNKED,
	    .nheaders = 2, .tail = 5,
	    .hidx = 1, .hname = "Transfer-Encoding", .hvalue = "chunked" },
	{ LIT("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\tchunked\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_CHUNKED,
	    .nheaders = 2 },
	{ LIT("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:  CHUNKED \t\r\n\r\n"),
	    .method = "POST", .target = "/", .host = "a", .minor = 1, .body = HTTP_BODY_CHUNKED,
	    .nheaders = 2, .hidx = 1, .hname = "transfer-encoding", .hvalue = "CHUNKED" },
	/* connection management */
	{ LIT("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n"
	      "Upgrade: websocket\r\n\r\n"),
	    .method = "GET", .target = "/ws", .host = "a", .minor = 1,
	    .flags = HTTP_F_CONN_KEEPALIVE | HTTP_F_CONN_UPGRADE | HTTP_F_UPGRADE, .nheaders = 3 },
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\nConnection: x-foo,,\r\nConnection: CLOSE\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .flags = HTTP_F_CONN_CLOSE,
	    .nheaders = 3 },
	{ LIT("PUT /u HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx"),
	    .method = "PUT", .target = "/u", .host = "a", .minor = 1, .body = HTTP_BODY_LENGTH,
	    .cl = 1, .flags = HTTP_F_EXPECT_CONTINUE, .nheaders = 3, .tail = 1 },
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\nExpect: something-else\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 2 },
	/* leading empty lines are skipped, at most four */
	{ LIT("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 1 },
	{ LIT("\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 1 },
	/* targets */
	{ LIT("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "OPTIONS", .target = "*", .host = "a", .minor = 1, .nheaders = 1 },
	{ LIT("GET http://example.com/x?y HTTP/1.1\r\nHost: example.com\r\n\r\n"),
	    .method = "GET", .target = "http://example.com/x?y", .host = "example.com", .minor = 1,
	    .nheaders = 1 },
	{ LIT("GET HTTPS://a:8443 HTTP/1.1\r\nHost: a:8443\r\n\r\n"),
	    .method = "GET", .target = "HTTPS://a:8443", .host = "a:8443", .minor = 1,
	    .nheaders = 1 },
	{ LIT("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "GET", .target = "/caf\xc3\xa9", .host = "a", .minor = 1, .nheaders = 1 },
	/* unknown and lowercase methods are forwarded */
	{ LIT("PURGE /x HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "PURGE", .target = "/x", .host = "a", .minor = 1, .nheaders = 1 },
	{ LIT("get / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "get", .target = "/", .host = "a", .minor = 1, .nheaders = 1 },
	{ LIT("connect / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "connect", .target = "/", .host = "a", .minor = 1, .nheaders = 1 },
	/* hosts */
	{ LIT("GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "[::1]:8080", .minor = 1, .nheaders = 1 },
	{ LIT("GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "127.0.0.1:80", .minor = 1, .nheaders = 1 },
	{ LIT("GET / HTTP/1.1\r\nHost: my-host_1.example.%41\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "my-host_1.example.%41", .minor = 1,
	    .nheaders = 1 },
	{ LIT("GET / HTTP/1.1\r\nHost:\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "", .minor = 1, .nheaders = 1 },
	{ LIT("GET / HTTP/1.1\r\nHOST:   a.b  \r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a.b", .minor = 1, .nheaders = 1 },
	/* field values: OWS trimmed, inner whitespace and obs-text kept */
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\nX-A: \t one  two \t \r\nX-B:\r\n"
	      "X-C: caf\xc3\xa9\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 4,
	    .hidx = 1, .hname = "X-A", .hvalue = "one  two" },
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\nX-B:\r\nX-C: caf\xc3\xa9\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 4,
	    .hidx = 2, .hname = "X-B", .hvalue = "" },
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\nX-C: caf\xc3\xa9\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 2,
	    .hidx = 1, .hname = "X-C", .hvalue = "caf\xc3\xa9" },
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\n!#$%&'*+-.^_`|~09azAZ: \"v\" (c) {x}\r\n\r\n"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 2,
	    .hidx = 1, .hname = "!#$%&'*+-.^_`|~09azAZ", .hvalue = "\"v\" (c) {x}" },
	/* pipelining: the head ends at the first empty line */
	{ LIT("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .method = "GET", .target = "/1", .host = "a", .minor = 1, .nheaders = 1, .tail = 28 },
	{ LIT("GET / HTTP/1.1\r\nHost: a\r\n\r\n\n\x01garbage"),
	    .method = "GET", .target = "/", .host = "a", .minor = 1, .nheaders = 1, .tail = 9 },
};

#define GET_A	"GET / HTTP/1.1\r\nHost: a\r\n"
#define POST_A	"POST / HTTP/1.1\r\nHost: a\r\n"

struct req_bad {
	const char *raw;
	size_t len;
	int err;
	size_t max_head;	/* 0: MAX_HEAD */
};

static const struct req_bad req_bad[] = {
	/* request smuggling: framing two parsers could read differently */
	{ LIT(POST_A "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	    .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
	    .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding : chunked\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A " Transfer-Encoding: chunked\r\n\r\n"), .err = HTTP_E_BAD },
	/* RFC 9112 6.3: chunked not last (or twice, or with parameters) is a 400 */
	{ LIT(POST_A "Transfer-Encoding: xchunked\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked, chunked\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked\r\n"
	      "Transfer-Encoding: chunked\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked, gzip\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked\r\n"
	      "Transfer-Encoding: gzip\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: gzip\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: identity\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked;x=1\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked ; q=\"a,b\"\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: gzip, chunked;x=1\r\n\r\n"), .err = HTTP_E_BAD },
	/* chunked last after codings rondo does not implement: 501 (RFC 9112 6.1) */
	{ LIT(POST_A "Transfer-Encoding: gzip, chunked\r\n\r\n"), .err = HTTP_E_NOT_IMPLEMENTED },
	{ LIT(POST_A "Transfer-Encoding: gzip\r\n"
	      "Transfer-Encoding: chunked\r\n\r\n"), .err = HTTP_E_NOT_IMPLEMENTED },
	{ LIT(POST_A "Transfer-Encoding: identity, chunked\r\n\r\n"),
	    .err = HTTP_E_NOT_IMPLEMENTED },
	{ LIT(POST_A "Transfer-Encoding:\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked,\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: ,chunked\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked;\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked;x\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked;x=\"y\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: \"chunked\"\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked chunked\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked\x0b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: \x0b" "chunked\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Transfer-Encoding: chunked\r\n"
	      " , identity\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), .err = HTTP_E_BAD },
	/* Content-Length */
	{ LIT(POST_A "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 5, 6\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 5,\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: +5\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: -5\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 5 5\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 0x5\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 5a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 5.0\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length:\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 4611686018427387905\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 18446744073709551616\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length: 99999999999999999999999\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(POST_A "Content-Length : 5\r\n\r\n"), .err = HTTP_E_BAD },
	/* control bytes */
	{ LIT(GET_A "X: a\0b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X\0: ab\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X: \x01\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X: a\x7f\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X: a\x1b[0m\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET /\t HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	/* line ends */
	{ LIT("GET / HTTP/1.1\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a\nX: y\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\nHost: a\n\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "\r\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\rHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a\rX: y\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\rHost: a\r\r"),
	    .err = HTTP_E_BAD, .max_head = 24 },	/* no LF: found at the limit */
	{ LIT("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	/* field lines */
	{ LIT(GET_A "X: a\r\n b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X: a\r\n\tb\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\n Host: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A ": b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X(y): b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X/y: b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "NoColon\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "X\xc3\xa9: b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "Connection: close;x\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "Connection: close close\r\n\r\n"), .err = HTTP_E_BAD },
	/* request line */
	{ LIT("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / x HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET /\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / \r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / http/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/11\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.x\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), .err = HTTP_E_VERSION },
	{ LIT("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), .err = HTTP_E_VERSION },
	{ LIT("GET / HTTP/0.9\r\nHost: a\r\n\r\n"), .err = HTTP_E_VERSION },
	{ LIT("GET / HTTP/3.0\r\n\r\n"), .err = HTTP_E_VERSION },
	{ LIT("CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n"),
	    .err = HTTP_E_NOT_IMPLEMENTED },
	/* targets */
	{ LIT("GET foo HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET * HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http:// HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	/* fragments: never in a request target; an authority ends where it ends for all */
	{ LIT("GET http://good.test#\"<svg>,evil.test@x/p HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .err = HTTP_E_BAD },
	{ LIT("GET http://good.test#x HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://good.test/p#x HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET /a/b?c=d&e#f HTTP/1.0\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://a:8x/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://a:123456/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://a,b/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://u:p@a?x HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://a\"b/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	/* Host */
	{ LIT("GET / HTTP/1.1\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "Host: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT(GET_A "host: b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a,b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: []\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a:123456\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a:65536\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET http://a:70000/ HTTP/1.1\r\nHost: a\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a%4\r\n\r\n"), .err = HTTP_E_BAD },
	{ LIT("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"), .err = HTTP_E_BAD },
	/* limits, decided before the head is over */
	{ LIT("GET /0123456789012345678901234567890123456789 HTTP/1.1\r\nHost: a\r\n\r\n"),
	    .err = HTTP_E_URI_TOO_LONG, .max_head = 32 },
	{ LIT(GET_A "X: 01234567890123456789\r\n\r\n"), .err = HTTP_E_TOO_LARGE, .max_head = 32 },
	{ LIT(GET_A "\r\n"), .err = HTTP_E_URI_TOO_LONG, .max_head = 15 },	/* CR in, LF out */
	{ LIT(GET_A "\r\n"), .err = HTTP_E_TOO_LARGE, .max_head = 16 },	/* line just fits */
	{ LIT(GET_A "\r\n"), .err = HTTP_E_TOO_LARGE, .max_head = 26 },	/* one byte short */
	{ LIT("\r\n\r\n"), .err = HTTP_E_URI_TOO_LONG, .max_head = 4 },
	/* the first error wins over the limit */
	{ LIT(GET_A "X: \x01 01234567890123456789\r\n\r\n"), .err = HTTP_E_BAD, .max_head = 32 },
};

/*
 * Whether m (parsed from b) and ref (parsed from raw) say the same, comparing
 * strings by their offsets in their buffers.
 */
static void
msg_same(const struct http_msg *m, const char *b, const struct http_msg *ref, const char *raw)
{
	size_t i;

#define SAME_STR(f) do {							\
	ck_assert_uint_eq(m->f.len, ref->f.len);				\
	if (ref->f.p != NULL)							\
		ck_assert_uint_eq((size_t)(m->f.p - b), (size_t)(ref->f.p - raw)); \
	else								\
		ck_assert_ptr_null(m->f.p);					\
} while (0)
	SAME_STR(method);
	SAME_STR(target);
	SAME_STR(reason);
	SAME_STR(host);
	ck_assert_int_eq(m->status, ref->status);
	ck_assert_int_eq(m->minor, ref->minor);
	ck_assert_uint_eq(m->head_len, ref->head_len);
	ck_assert_uint_eq(m->nheaders, ref->nheaders);
	for (i = 0; i < ref->nheaders; i++) {
		SAME_STR(headers[i].name);
		SAME_STR(headers[i].value);
	}
	ck_assert_int_eq(m->body, ref->body);
	ck_assert_uint_eq(m->content_length, ref->content_length);
	ck_assert_uint_eq(m->flags, ref->flags);
#undef SAME_STR
}

/* Parses raw[0..len) from a buffer of exactly len bytes, as a request or a response. */
static int
parse_copy(struct http_msg *m, char **copy, const char *raw, size_t len, size_t max_head,
    int response, unsigned req_flags)
{
	*copy = malloc(len > 0 ? len : 1);
	ck_assert_ptr_nonnull(*copy);
	memcpy(*copy, raw, len);
	if (response)
		return http_parse_response(m, *copy, len, max_head, req_flags);
	return http_parse_request(m, *copy, len, max_head);
}

/*
 * Feeds every prefix of raw[0..len), then raw whole. With want == HTTP_OK:
 * HTTP_AGAIN before the head ends at len - tail, then HTTP_OK and the same
 * message as the whole parse (returned in ref). Otherwise: HTTP_AGAIN, then
 * want from the first prefix that shows it on.
 */
static void
check_prefixes(struct http_msg *ref, const char *raw, size_t len, size_t max_head, int response,
    unsigned req_flags, int want, size_t tail)
{
	static struct http_msg m;
	char *copy;
	size_t l;
	int rc, seen = 0;

	rc = response ? http_parse_response(ref, raw, len, max_head, req_flags) :
	    http_parse_request(ref, raw, len, max_head);
	ck_assert_msg(rc == want, "whole: got %d, want %d", rc, want);
	if (want == HTTP_OK)
		ck_assert_uint_eq(ref->head_len, len - tail);
	for (l = 0; l <= len; l++) {
		rc = parse_copy(&m, &copy, raw, l, max_head, response, req_flags);
		if (want == HTTP_OK && l < len - tail)
			ck_assert_msg(rc == HTTP_AGAIN, "prefix %zu: got %d, want AGAIN", l, rc);
		else if (want == HTTP_OK) {
			ck_assert_msg(rc == HTTP_OK, "prefix %zu: got %d, want OK", l, rc);
			msg_same(&m, copy, ref, raw);
		} else if (seen)
			ck_assert_msg(rc == want, "prefix %zu: got %d after an error", l, rc);
		else {
			ck_assert_msg(rc == HTTP_AGAIN || rc == want, "prefix %zu: got %d, want %d",
			    l, rc, want);
			seen = rc == want;
		}
		free(copy);
	}
}

static void
check_str(struct http_str s, const char *want)
{
	if (want == NULL) {
		ck_assert_uint_eq(s.len, 0);
		return;
	}
	ck_assert_uint_eq(s.len, strlen(want));
	ck_assert(memcmp(s.p, want, s.len) == 0);
}

START_TEST(test_request_ok)
{
	static struct http_msg m;
	const struct req_ok *t = &req_ok[_i];

	check_prefixes(&m, t->raw, t->len, MAX_HEAD, 0, 0, HTTP_OK, t->tail);
	check_str(m.method, t->method);
	check_str(m.target, t->target);
	check_str(m.host, t->host);
	ck_assert_int_eq(m.minor, t->minor);
	ck_assert_int_eq(m.body, t->body);
	ck_assert_uint_eq(m.content_length, t->cl);
	ck_assert_uint_eq(m.flags, t->flags);
	ck_assert_uint_eq(m.nheaders, t->nheaders);
	if (t->hname != NULL) {
		check_str(m.headers[t->hidx].name, t->hname);
		check_str(m.headers[t->hidx].value, t->hvalue);
	}
}
END_TEST

START_TEST(test_request_bad)
{
	static struct http_msg m;
	const struct req_bad *t = &req_bad[_i];

	check_prefixes(&m, t->raw, t->len, t->max_head ? t->max_head : MAX_HEAD, 0, 0, t->err, 0);
}
END_TEST

/* A request with a Host field and nfields - 1 more fields. */
static char *
many_fields(size_t nfields, size_t *len)
{
	char *b = malloc(32 + nfields * 16);
	size_t i, n;

	ck_assert_ptr_nonnull(b);
	n = (size_t)sprintf(b, "GET / HTTP/1.1\r\nHost: a\r\n");
	for (i = 1; i < nfields; i++)
		n += (size_t)sprintf(b + n, "X-%zu: v\r\n", i);
	n += (size_t)sprintf(b + n, "\r\n");
	*len = n;
	return b;
}

START_TEST(test_request_max_headers)
{
	static struct http_msg m;
	size_t len;
	char *b;

	b = many_fields(HTTP_MAX_HEADERS, &len);
	check_prefixes(&m, b, len, MAX_HEAD, 0, 0, HTTP_OK, 0);
	ck_assert_uint_eq(m.nheaders, HTTP_MAX_HEADERS);
	check_str(m.headers[HTTP_MAX_HEADERS - 1].name, "X-99");
	free(b);
	b = many_fields(HTTP_MAX_HEADERS + 1, &len);
	check_prefixes(&m, b, len, MAX_HEAD, 0, 0, HTTP_E_TOO_LARGE, 0);
	free(b);
}
END_TEST

START_TEST(test_request_max_head)
{
	static const char req[] = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n";
	static struct http_msg m;
	char big[300];
	size_t len = sizeof(req) - 1;

	/* a head of exactly max_head bytes fits, with or without bytes after it */
	ck_assert_int_eq(http_parse_request(&m, req, len, len), HTTP_OK);
	ck_assert_uint_eq(m.head_len, len);
	check_prefixes(&m, "GET /x HTTP/1.1\r\nHost: a\r\n\r\nGET", len + 3, len, 0, 0, HTTP_OK, 3);
	ck_assert_int_eq(http_parse_request(&m, req, len, len - 1), HTTP_E_TOO_LARGE);
	ck_assert_int_eq(http_parse_request(&m, req, len - 1, len - 1), HTTP_E_TOO_LARGE);
	ck_assert_int_eq(http_parse_request(&m, req, len - 2, len - 1), HTTP_AGAIN);

	/* a long target without any line end: 414 as soon as max_head bytes are in */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	ck_assert_int_eq(http_parse_request(&m, big, 199, 200), HTTP_AGAIN);
	ck_assert_int_eq(http_parse_request(&m, big, 200, 200), HTTP_E_URI_TOO_LONG);
	ck_assert_int_eq(http_parse_request(&m, big, sizeof(big), 200), HTTP_E_URI_TOO_LONG);
	/* a long field value: 431 */
	memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
	ck_assert_int_eq(http_parse_request(&m, big, 199, 200), HTTP_AGAIN);
	ck_assert_int_eq(http_parse_request(&m, big, sizeof(big), 200), HTTP_E_TOO_LARGE);
}
END_TEST

/* ---- responses --------------------------------------------------------- */

struct resp {
	const char *raw;
	size_t len;
	unsigned req_flags;
	int rc;
	int status;
	int minor;
	const char *reason;
	enum http_body body;
	uint64_t cl;
	unsigned flags;
	size_t tail;
	size_t max_head;	/* 0: MAX_HEAD */
};

static const struct resp resp[] = {
	{ LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"), .status = 200, .minor = 1,
	    .reason = "OK", .body = HTTP_BODY_LENGTH, .cl = 5, .tail = 5 },
	{ LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), HTTP_F_METHOD_HEAD, .status = 200,
	    .minor = 1, .reason = "OK", .body = HTTP_BODY_NONE, .cl = 5 },
	{ LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), .status = 200, .minor = 1,
	    .reason = "OK", .body = HTTP_BODY_NONE },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), .status = 200,
	    .minor = 1, .reason = "OK", .body = HTTP_BODY_CHUNKED, .tail = 5 },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), .status = 200,
	    .minor = 1, .reason = "OK", .body = HTTP_BODY_CHUNKED },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: Chunked\r\n\r\n"),
	    .status = 200, .minor = 1, .reason = "OK", .body = HTTP_BODY_CHUNKED },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"), .status = 200,
	    .minor = 1, .reason = "OK", .body = HTTP_BODY_EOF },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n"), .status = 200, .minor = 1,
	    .reason = "OK", .body = HTTP_BODY_EOF },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), HTTP_F_METHOD_HEAD,
	    .status = 200, .minor = 1, .reason = "OK", .body = HTTP_BODY_NONE },
	{ LIT("HTTP/1.1 200 OK\r\nServer: x\r\n\r\nbody until close"), .status = 200, .minor = 1,
	    .reason = "OK", .body = HTTP_BODY_EOF, .tail = 16 },
	{ LIT("HTTP/1.0 200 OK\r\n\r\n"), .status = 200, .minor = 0, .reason = "OK",
	    .body = HTTP_BODY_EOF, .flags = HTTP_F_CONN_CLOSE },
	{ LIT("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx"),
	    .status = 200, .minor = 0, .reason = "OK", .body = HTTP_BODY_LENGTH, .cl = 1,
	    .flags = HTTP_F_CONN_KEEPALIVE, .tail = 1 },
	{ LIT("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"), .status = 204, .minor = 1,
	    .reason = "No Content", .body = HTTP_BODY_NONE, .cl = 10 },
	{ LIT("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"), .status = 304,
	    .minor = 1, .reason = "Not Modified", .body = HTTP_BODY_NONE },
	{ LIT("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n"), .status = 100, .minor = 1,
	    .reason = "Continue", .body = HTTP_BODY_NONE, .tail = 17 },
	{ LIT("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
	      "Upgrade: websocket\r\n\r\n"),
	    .status = 101, .minor = 1, .reason = "Switching Protocols", .body = HTTP_BODY_NONE,
	    .flags = HTTP_F_CONN_UPGRADE | HTTP_F_UPGRADE },
	{ LIT("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno!"),
	    .status = 404, .minor = 1, .reason = "Not Found", .body = HTTP_BODY_LENGTH, .cl = 3,
	    .flags = HTTP_F_CONN_CLOSE, .tail = 3 },
	{ LIT("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n"), .status = 200, .minor = 1, .reason = "",
	    .body = HTTP_BODY_LENGTH, .cl = 1 },
	{ LIT("HTTP/1.1 599 \r\n\r\n"), .status = 599, .minor = 1, .reason = "",
	    .body = HTTP_BODY_EOF },
	{ LIT("HTTP/1.1 200 All \tgood \xe2\x9c\x93\r\n\r\n"), .status = 200, .minor = 1,
	    .reason = "All \tgood \xe2\x9c\x93", .body = HTTP_BODY_EOF },
	{ LIT("\r\nHTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\nHost: a b\r\n\r\n"), .status = 200,
	    .minor = 1, .reason = "OK", .body = HTTP_BODY_LENGTH, .cl = 5 },
	/* refused */
	{ LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"),
	    .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n"),
	    .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
	    .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked,\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"), .rc = HTTP_E_BAD },
	/* chunked twice or with parameters: no reading of the body is safe */
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	      "Transfer-Encoding: chunked\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;a=b\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 099 Low\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 600 High\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 20 OK\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 2000 OK\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 2x0 OK\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1  200 OK\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\x01\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nX : a\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/1.1 200 OK\r\nX: a\0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("http/1.1 200 OK\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/2 200 OK\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("HTTP/2.0 200 OK\r\n\r\n"), .rc = HTTP_E_VERSION },
	{ LIT("HTTP/1.1 200 A long reason phrase\r\n\r\n"), .rc = HTTP_E_TOO_LARGE,
	    .max_head = 20 },
	{ LIT("HTTP/1.1 200 OK\r\nServer: a long one\r\n\r\n"), .rc = HTTP_E_TOO_LARGE,
	    .max_head = 30 },
};

START_TEST(test_response)
{
	static struct http_msg m;
	const struct resp *t = &resp[_i];

	check_prefixes(&m, t->raw, t->len, t->max_head ? t->max_head : MAX_HEAD, 1, t->req_flags,
	    t->rc, t->tail);
	if (t->rc != HTTP_OK)
		return;
	ck_assert_int_eq(m.status, t->status);
	ck_assert_int_eq(m.minor, t->minor);
	check_str(m.reason, t->reason);
	ck_assert_int_eq(m.body, t->body);
	ck_assert_uint_eq(m.content_length, t->cl);
	ck_assert_uint_eq(m.flags, t->flags);
	ck_assert_uint_eq(m.host.len, 0);
}
END_TEST

/* ---- chunked bodies ---------------------------------------------------- */

struct chunked {
	const char *raw;
	size_t len;
	int rc;		/* the result once everything was fed */
};

static const struct chunked chunked[] = {
	{ LIT("5\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("000\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("1\r\na\r\n2\r\n\r\n\r\n1a\r\n0123456789abcdef0123456789\r\n0\r\n\r\n"),
	    .rc = HTTP_OK },
	{ LIT("1A\r\n0123456789abcdef0123456789\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("0000000000000000000000005\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("5;ext\r\nhello\r\n0;last\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("5;a=1;b=two\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("5 ; a = 1 ;\tb\t;c=\"x\"\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("5;q=\"a \\\"quoted\\\" ;=, value\\\\\"\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("5;q=\"\"\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("5;q=\"\xc3\xa9\"  ;r\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("3\r\n\0\r\n\r\n0\r\n\r\n"), .rc = HTTP_OK },		/* data is not looked at */
	{ LIT("0\r\nX-Trailer: v\r\nY:\r\nZ:  a b \t\r\n\r\n"), .rc = HTTP_OK },
	{ LIT("4\r\nwiki\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n"), .rc = HTTP_OK },
	/* refused */
	{ LIT("-1\r\n"), .rc = HTTP_E_BAD },
	{ LIT("+1\r\nx\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0x10\r\n"), .rc = HTTP_E_BAD },
	{ LIT(" 5\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("\t5\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5 \r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\t\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("\r\n5\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("g\r\n"), .rc = HTTP_E_BAD },
	{ LIT("fffffffffffffffffff\r\n"), .rc = HTTP_E_BAD },
	{ LIT("4000000000000001\r\n"), .rc = HTTP_E_BAD },
	{ LIT("10000000000000000\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhelloX\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhello\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhello\r0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhello\rx0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhello0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\rhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\rxhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhello\r\n0\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhello\r\n0\r\n\n"), .rc = HTTP_E_BAD },
	{ LIT("5\r\nhello\r\n0\r\n\rX"), .rc = HTTP_E_BAD },
	{ LIT("5;\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;=1\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a b\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a \r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=b c\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=b \r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=\"x\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=\"\x01\"\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=\"\\\x7f\"\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5;a=(b)\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("5,6\r\nhello\r\n0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\n X: y\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX: y\r\n\tz\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX y: z\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX : z\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\n: z\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX: \x01\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX: a\0\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX: y\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX: y\rxZ: 1\r\n\r\n"), .rc = HTTP_E_BAD },
	{ LIT("0\r\nX: y\r\n\n"), .rc = HTTP_E_BAD },
	/* incomplete */
	{ LIT("5\r\nhello\r\n0\r\n"), .rc = HTTP_AGAIN },
	{ LIT("5\r\nhel"), .rc = HTTP_AGAIN },
	{ LIT("5;a=\"x"), .rc = HTTP_AGAIN },
	{ LIT(""), .rc = HTTP_AGAIN },
};

/*
 * Feeds raw[0..len) in pieces: first bytes, then pieces of step bytes, each
 * copied to a buffer of its exact size. Returns what the decoder last said
 * and in *at the offset where it stopped (len when it wants more).
 */
static int
chunked_run(const char *raw, size_t len, size_t first, size_t step, size_t *at)
{
	struct http_chunked c;
	size_t off = 0, n, used;
	char *piece;
	int rc = HTTP_AGAIN;

	http_chunked_init(&c);
	for (n = first; ; n = step) {
		if (n > len - off)
			n = len - off;
		piece = malloc(n > 0 ? n : 1);
		ck_assert_ptr_nonnull(piece);
		memcpy(piece, raw + off, n);
		rc = http_chunked_feed(&c, piece, n, &used);
		free(piece);
		ck_assert_uint_le(used, n);
		if (rc == HTTP_AGAIN)
			ck_assert_uint_eq(used, n);
		off += used;
		if (rc != HTTP_AGAIN || off == len)
			break;
	}
	*at = off;
	return rc;
}

START_TEST(test_chunked)
{
	static const char next[] = "GET / HTTP/1.1\r\n\r\n";
	const struct chunked *t = &chunked[_i];
	size_t len = t->len + sizeof(next) - 1, at, at0, k;
	char *raw;
	int rc;

	/* trailing bytes: the next message, left alone after a complete body */
	raw = malloc(len);
	ck_assert_ptr_nonnull(raw);
	memcpy(raw, t->raw, t->len);
	memcpy(raw + t->len, next, sizeof(next) - 1);
	if (t->rc == HTTP_AGAIN)
		len = t->len;

	rc = chunked_run(raw, len, len, len, &at0);
	ck_assert_msg(rc == t->rc, "whole: got %d, want %d", rc, t->rc);
	if (rc == HTTP_OK || rc == HTTP_AGAIN)
		ck_assert_uint_eq(at0, t->len);
	else
		ck_assert_uint_lt(at0, t->len);
	rc = chunked_run(raw, len, 0, 1, &at);
	ck_assert_msg(rc == t->rc, "byte by byte: got %d, want %d", rc, t->rc);
	ck_assert_uint_eq(at, at0);
	for (k = 0; k <= len; k++) {
		rc = chunked_run(raw, len, k, len, &at);
		ck_assert_msg(rc == t->rc, "split at %zu: got %d, want %d", k, rc, t->rc);
		ck_assert_uint_eq(at, at0);
	}
	free(raw);
}
END_TEST

START_TEST(test_chunked_limits)
{
	static char buf[20000];
	struct http_chunked c;
	size_t used, n, i;

	/* a size line of 8 KiB fits, one byte more does not */
	memset(buf, '0', 8190);
	memcpy(buf + 8190, "\r\n\r\n", 4);
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, buf, 8194, &used), HTTP_OK);
	ck_assert_uint_eq(used, 8194);
	memset(buf, '0', 8191);
	memcpy(buf + 8191, "\r\n\r\n", 4);
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, buf, 8195, &used), HTTP_E_TOO_LARGE);
	ck_assert_uint_eq(used, 8192);
	ck_assert_int_eq(http_chunked_feed(&c, "\r\n", 2, &used), HTTP_E_TOO_LARGE);
	ck_assert_uint_eq(used, 0);

	/* long extensions on every line, counted per line */
	for (n = 0, i = 0; i < 3; i++) {
		memcpy(buf + n, "1;a=", 4);
		memset(buf + n + 4, 'x', 6000);
		memcpy(buf + n + 6004, "\r\nz\r\n", 5);
		n += 6009;
	}
	memcpy(buf + n, "0\r\n\r\n", 5);
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, buf, n + 5, &used), HTTP_OK);
	ck_assert_uint_eq(used, n + 5);

	/* 8 KiB of trailers at most, the final CRLF included */
	memcpy(buf, "0\r\n", 3);
	for (n = 0; n < 8190 / 10; n++)
		memcpy(buf + 3 + n * 10, "X-T: 123\r\n", 10);
	memcpy(buf + 3 + n * 10, "\r\n", 2);
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, buf, 3 + n * 10 + 2, &used), HTTP_OK);
	memcpy(buf + 3 + n * 10, "X-T: 123\r\n\r\n", 12);
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, buf, 3 + n * 10 + 12, &used), HTTP_E_TOO_LARGE);
}
END_TEST

START_TEST(test_chunked_resume)
{
	static const char body[] = "3\r\nabc\r\n0\r\n\r\n";
	struct http_chunked c;
	size_t used;

	/* a huge chunk is skipped in bulk across feeds */
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, "4000000000000000\r\n", 18, &used), HTTP_AGAIN);
	ck_assert_int_eq(http_chunked_feed(&c, body, sizeof(body) - 1, &used), HTTP_AGAIN);
	ck_assert_uint_eq(used, sizeof(body) - 1);

	/* after the end: nothing more is consumed, the answer stays HTTP_OK */
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, body, sizeof(body) - 1, &used), HTTP_OK);
	ck_assert_int_eq(http_chunked_feed(&c, body, sizeof(body) - 1, &used), HTTP_OK);
	ck_assert_uint_eq(used, 0);

	/* after an error: it stays */
	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, "x", 1, &used), HTTP_E_BAD);
	ck_assert_int_eq(http_chunked_feed(&c, body, sizeof(body) - 1, &used), HTTP_E_BAD);
	ck_assert_uint_eq(used, 0);
}
END_TEST

/* ---- helpers ----------------------------------------------------------- */

START_TEST(test_hop)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close, X-Foo\r\n"
	    "connection: x-bar ,, \r\nX-Foo: 1\r\nX-Bar: 2\r\nX-Baz: 3\r\nKeep-Alive: 5\r\n"
	    "TE: trailers\r\nTrailer: X-T\r\nProxy-Connection: x\r\nUpgrade: h2c\r\n"
	    "Proxy-Authorization: Basic x\r\nAccept: */*\r\n\r\n";
	static const char *const hop[] = {
		"Connection", "connection", "X-Foo", "X-Bar", "Keep-Alive", "TE", "Trailer",
		"Proxy-Connection", "Upgrade", "Proxy-Authorization",
	};
	static struct http_msg m;
	size_t i, j;
	int want;

	ck_assert_int_eq(http_parse_request(&m, req, sizeof(req) - 1, MAX_HEAD), HTTP_OK);
	ck_assert_uint_eq(m.nheaders, 13);
	for (i = 0; i < m.nheaders; i++) {
		for (want = 0, j = 0; j < NELEM(hop); j++)
			want |= http_str_eq(m.headers[i].name, hop[j]);
		ck_assert_msg(http_header_is_hop(&m, &m.headers[i]) == want, "%.*s",
		    (int)m.headers[i].name.len, m.headers[i].name.p);
	}

	/* Transfer-Encoding and Content-Length: one is hop-by-hop, the other is not */
	ck_assert_int_eq(http_parse_request(&m, LIT("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), MAX_HEAD), HTTP_OK);
	ck_assert(http_header_is_hop(&m, &m.headers[1]));
	ck_assert(!http_header_is_hop(&m, &m.headers[0]));
	ck_assert_int_eq(http_parse_request(&m, LIT("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 1\r\n\r\n"), MAX_HEAD), HTTP_OK);
	ck_assert(!http_header_is_hop(&m, &m.headers[1]));
}
END_TEST

/* Trailers lose what frames, routes or controls the connection; the rest stays in order. */
START_TEST(test_trailers_strip)
{
	static const char body[] = "5\r\nhello\r\n0\r\nX-Sum: 1\r\nContent-Length: 50\r\n"
	    "transfer-encoding: chunked\r\nHost: evil\r\nConnection: close\r\nUpgrade: x\r\n"
	    "Trailer: X\r\nKeep-Alive: 1\r\nTE: trailers\r\nX-Forwarded-For: 6.6.6.6\r\n"
	    "Expect: 100-continue\r\nX-Request-Id: z\r\nServer-Timing: a;dur=1\r\n\r\n";
	static const char want[] = "X-Sum: 1\r\nServer-Timing: a;dur=1\r\n\r\n";
	struct http_chunked c;
	char copy[sizeof(body)];
	size_t used, tl, n;

	http_chunked_init(&c);
	ck_assert_int_eq(http_chunked_feed(&c, body, 20, &used), HTTP_AGAIN);
	ck_assert_uint_eq(http_chunked_trailer_len(&c), 20 - 13);	/* "X-Sum: " so far */
	ck_assert_int_eq(http_chunked_feed(&c, body + 20, sizeof(body) - 21, &used), HTTP_OK);
	tl = http_chunked_trailer_len(&c);
	ck_assert_uint_eq(tl, sizeof(body) - 1 - 13);
	memcpy(copy, body, sizeof(body));
	n = http_trailers_strip(copy + 13, tl);
	ck_assert_uint_eq(n, sizeof(want) - 1);
	ck_assert_int_eq(memcmp(copy + 13, want, n), 0);
	memcpy(copy, "\r\n", 2);
	ck_assert_uint_eq(http_trailers_strip(copy, 2), 2);	/* no trailers: the CRLF stays */
}
END_TEST

/* Connection cannot make Host or Content-Length hop-by-hop, in a request or a response. */
START_TEST(test_hop_framing_kept)
{
	static struct http_msg m;
	size_t i;

	ck_assert_int_eq(http_parse_response(&m, LIT("HTTP/1.1 200 OK\r\n"
	    "Connection: Content-Length, Host, X-A\r\nContent-Length: 5\r\nHost: h\r\n"
	    "X-A: 1\r\n\r\n"), MAX_HEAD, 0), HTTP_OK);
	ck_assert(!http_header_is_hop(&m, &m.headers[1]));
	ck_assert(!http_header_is_hop(&m, &m.headers[2]));
	ck_assert(http_header_is_hop(&m, &m.headers[3]));
	ck_assert_int_eq(http_parse_request(&m, LIT("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: content-length, host\r\nContent-Length: 1\r\n\r\n"), MAX_HEAD), HTTP_OK);
	for (i = 0; i < m.nheaders; i++)
		ck_assert(http_header_is_hop(&m, &m.headers[i]) ==
		    (m.headers[i].id == HTTP_H_CONNECTION));
}
END_TEST

/*
 * A Connection list of thousands of names, repeated and mixed: each field is
 * hop-by-hop exactly when some element names it (case aside).
 */
START_TEST(test_hop_long_connection)
{
	static char head[65536];
	static struct http_msg m;
	size_t n, i;
	int k;

	n = (size_t)snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: a\r\nConnection: ");
	for (k = 0; k < 3700; k++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "a,");
	n += (size_t)snprintf(head + n, sizeof(head) - n, "X-b, x-D,a\r\n");
	for (k = 0; k < 30; k++)
		n += (size_t)snprintf(head + n, sizeof(head) - n, "A: %d\r\nX-B: %d\r\n"
		    "X-C: %d\r\n", k, k, k);
	n += (size_t)snprintf(head + n, sizeof(head) - n, "X-D: 1\r\nX-E: 2\r\n\r\n");
	ck_assert_uint_lt(n, sizeof(head) - 1);
	ck_assert_int_eq(http_parse_request(&m, head, n, sizeof(head)), HTTP_OK);
	ck_assert_uint_eq(m.nheaders, 94);
	for (i = 0; i < m.nheaders; i++) {
		struct http_str nm = m.headers[i].name;
		int want = http_str_eq(nm, "a") || http_str_eq(nm, "x-b") ||
		    http_str_eq(nm, "x-d") || http_str_eq(nm, "connection");

		ck_assert_msg(http_header_is_hop(&m, &m.headers[i]) == want, "%zu: %.*s", i,
		    (int)nm.len, nm.p);
	}
}
END_TEST

START_TEST(test_upgrade_offered)
{
	static struct http_msg m;
	static const struct http_str offer = { "websocket, h2c ,HTTP/2.0", 24 };

	ck_assert_int_eq(http_parse_response(&m, LIT("HTTP/1.1 101 S\r\nUpgrade: WebSocket\r\n"
	    "Connection: upgrade\r\n\r\n"), MAX_HEAD, 0), HTTP_OK);
	ck_assert(http_upgrade_offered(&m, offer));
	ck_assert(!http_upgrade_offered(&m, (struct http_str){ "h2c", 3 }));
	ck_assert(!http_upgrade_offered(&m, (struct http_str){ "websocketx", 10 }));
	ck_assert(!http_upgrade_offered(&m, (struct http_str){ "", 0 }));
	ck_assert_int_eq(http_parse_response(&m, LIT("HTTP/1.1 101 S\r\nUpgrade: h2c\r\n"
	    "Upgrade: http/2.0, evil\r\n\r\n"), MAX_HEAD, 0), HTTP_OK);
	ck_assert(!http_upgrade_offered(&m, offer));
	ck_assert_int_eq(http_parse_response(&m, LIT("HTTP/1.1 101 S\r\nUpgrade: h2c\r\n"
	    "Upgrade: http/2.0\r\n\r\n"), MAX_HEAD, 0), HTTP_OK);
	ck_assert(http_upgrade_offered(&m, offer));
	ck_assert_int_eq(http_parse_response(&m, LIT("HTTP/1.1 101 S\r\n\r\n"), MAX_HEAD, 0),
	    HTTP_OK);
	ck_assert(!http_upgrade_offered(&m, offer));	/* a 101 names what it switches to */
}
END_TEST

/* Whether a Content-Length came is kept apart from the body it frames: "0" is no body. */
START_TEST(test_has_content_length)
{
	static struct http_msg m;

	ck_assert_int_eq(http_parse_request(&m, LIT("POST / HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 0\r\n\r\n"), MAX_HEAD), HTTP_OK);
	ck_assert_int_eq(m.body, HTTP_BODY_NONE);
	ck_assert_int_eq(m.has_content_length, 1);
	ck_assert_int_eq(http_parse_request(&m, LIT("POST / HTTP/1.1\r\nHost: a\r\n\r\n"),
	    MAX_HEAD), HTTP_OK);
	ck_assert_int_eq(m.has_content_length, 0);
}
END_TEST

START_TEST(test_field_id)
{
	static const struct {
		const char *name;
		enum http_field_id id;
	} names[] = {
		{ "Host", HTTP_H_HOST }, { "HOST", HTTP_H_HOST }, { "hosts", HTTP_H_OTHER },
		{ "te", HTTP_H_TE }, { "Tf", HTTP_H_OTHER }, { "Expect", HTTP_H_EXPECT },
		{ "Referer", HTTP_H_REFERER }, { "upgrade", HTTP_H_UPGRADE },
		{ "TRAILER", HTTP_H_TRAILER }, { "Trailers", HTTP_H_OTHER },
		{ "User-Agent", HTTP_H_USER_AGENT }, { "Connection", HTTP_H_CONNECTION },
		{ "Keep-Alive", HTTP_H_KEEP_ALIVE }, { "Keep-Alivf", HTTP_H_OTHER },
		{ "X-Request-ID", HTTP_H_X_REQUEST_ID }, { "Content-Length", HTTP_H_CONTENT_LENGTH },
		{ "Content-Type", HTTP_H_OTHER }, { "x-forwarded-for", HTTP_H_X_FORWARDED_FOR },
		{ "X-Forwarded-Host", HTTP_H_X_FORWARDED_HOST },
		{ "Proxy-Connection", HTTP_H_PROXY_CONNECTION },
		{ "Transfer-Encoding", HTTP_H_TRANSFER_ENCODING },
		{ "X-Forwarded-Proto", HTTP_H_X_FORWARDED_PROTO },
		{ "Proxy-Authenticate", HTTP_H_PROXY_AUTHENTICATE },
		{ "Proxy-Authorization", HTTP_H_PROXY_AUTHORIZATION }, { "X", HTTP_H_OTHER },
	};
	static struct http_msg m;
	char head[256];
	size_t i;
	int n;

	for (i = 0; i < NELEM(names); i++) {
		n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: a\r\n%s: 1\r\n\r\n",
		    names[i].name);
		if (names[i].id == HTTP_H_HOST)
			n = snprintf(head, sizeof(head), "GET / HTTP/1.1\r\n%s: a\r\n\r\n",
			    names[i].name);
		if (names[i].id == HTTP_H_TRANSFER_ENCODING)
			n = snprintf(head, sizeof(head), "POST / HTTP/1.1\r\nHost: a\r\n"
			    "%s: chunked\r\n\r\n", names[i].name);
		ck_assert_int_eq(http_parse_request(&m, head, (size_t)n, MAX_HEAD), HTTP_OK);
		ck_assert_uint_eq(m.nheaders, names[i].id == HTTP_H_HOST ? 1 : 2);
		ck_assert_msg(m.headers[m.nheaders - 1].id == names[i].id, "%s: id %d, want %d",
		    names[i].name, (int)m.headers[m.nheaders - 1].id, (int)names[i].id);
	}
}
END_TEST

/* "close" is a connection option too: a field of that name goes; without it, stays. */
START_TEST(test_hop_close_option)
{
	static struct http_msg m;

	ck_assert_int_eq(http_parse_request(&m, LIT("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: close\r\nClose: 1\r\n\r\n"), MAX_HEAD), HTTP_OK);
	ck_assert(http_header_is_hop(&m, &m.headers[2]));
	ck_assert_int_eq(http_parse_request(&m, LIT("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: keep-alive\r\nClose: 1\r\n\r\n"), MAX_HEAD), HTTP_OK);
	ck_assert(!http_header_is_hop(&m, &m.headers[2]));
	ck_assert_int_eq(http_parse_request(&m, LIT("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Close: 1\r\n\r\n"), MAX_HEAD), HTTP_OK);
	ck_assert(!http_header_is_hop(&m, &m.headers[1]));
}
END_TEST

START_TEST(test_status_code)
{
	ck_assert_int_eq(http_status_code(HTTP_E_BAD), 400);
	ck_assert_int_eq(http_status_code(HTTP_E_TOO_LARGE), 431);
	ck_assert_int_eq(http_status_code(HTTP_E_URI_TOO_LONG), 414);
	ck_assert_int_eq(http_status_code(HTTP_E_NOT_IMPLEMENTED), 501);
	ck_assert_int_eq(http_status_code(HTTP_E_VERSION), 505);
}
END_TEST

START_TEST(test_reason)
{
	static const int codes[] = {
		100, 101, 200, 201, 202, 204, 206, 301, 302, 303, 304, 307, 308, 400, 401, 403,
		404, 405, 408, 409, 411, 413, 414, 415, 417, 421, 429, 431, 500, 501, 502, 503,
		504, 505,
	};
	size_t i;

	for (i = 0; i < NELEM(codes); i++)
		ck_assert_str_ne(http_reason(codes[i]), "Unknown");
	ck_assert_str_eq(http_reason(200), "OK");
	ck_assert_str_eq(http_reason(404), "Not Found");
	ck_assert_str_eq(http_reason(431), "Request Header Fields Too Large");
	ck_assert_str_eq(http_reason(502), "Bad Gateway");
	ck_assert_str_eq(http_reason(299), "Unknown");
	ck_assert_str_eq(http_reason(-1), "Unknown");
}
END_TEST

START_TEST(test_str_eq)
{
	struct http_str s = { "Content-Length", 14 };

	ck_assert(http_str_eq(s, "content-length"));
	ck_assert(http_str_eq(s, "CONTENT-LENGTH"));
	ck_assert(!http_str_eq(s, "content-lengt"));
	ck_assert(!http_str_eq(s, "content-lengthx"));
	s.len = 7;
	ck_assert(http_str_eq(s, "content"));
	s.len = 0;
	ck_assert(http_str_eq(s, ""));
	ck_assert(!http_str_eq(s, "c"));
	s.p = "\xc3\xa9";
	s.len = 2;
	ck_assert(!http_str_eq(s, "\xc3\x89"));
}
END_TEST

static Suite *
http_suite(void)
{
	Suite *s = suite_create("http");
	TCase *tc;

	tc = tcase_create("request");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_request_ok, 0, NELEM(req_ok));
	tcase_add_loop_test(tc, test_request_bad, 0, NELEM(req_bad));
	tcase_add_test(tc, test_request_max_headers);
	tcase_add_test(tc, test_request_max_head);
	suite_add_tcase(s, tc);

	tc = tcase_create("response");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_response, 0, NELEM(resp));
	suite_add_tcase(s, tc);

	tc = tcase_create("chunked");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_chunked, 0, NELEM(chunked));
	tcase_add_test(tc, test_chunked_limits);
	tcase_add_test(tc, test_chunked_resume);
	suite_add_tcase(s, tc);

	tc = tcase_create("helpers");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_hop);
	tcase_add_test(tc, test_trailers_strip);
	tcase_add_test(tc, test_hop_framing_kept);
	tcase_add_test(tc, test_hop_long_connection);
	tcase_add_test(tc, test_upgrade_offered);
	tcase_add_test(tc, test_has_content_length);
	tcase_add_test(tc, test_field_id);
	tcase_add_test(tc, test_hop_close_option);
	tcase_add_test(tc, test_status_code);
	tcase_add_test(tc, test_reason);
	tcase_add_test(tc, test_str_eq);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(http_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
