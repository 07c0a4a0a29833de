/*
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): the
 * header a layer-4 balancer puts before the first byte of a connection to
 * tell the client's address, read here from the start of a buffer, and
 * written for the connections rondo opens.
 *
 * The parser is as strict as the specification allows: a header announces
 * the client address that logs, X-Forwarded-For and ip-hash will trust, so
 * anything malformed is an error, never a guess. It keeps no state, never
 * allocates and never reads past len. No I/O, no libev.
 */
#ifndef RONDO_PROXYPROTO_H
#define RONDO_PROXYPROTO_H

#include <stddef.h>
#include <sys/socket.h>

#define PROXYPROTO_V1_MAX	107	/* longest version 1 line, CRLF included (spec 2.1) */
#define PROXYPROTO_V2_MAX	1024	/* longest version 2 header rondo reads (16 + length) */
#define PROXYPROTO_WRITE_MAX	108	/* room enough for any header the writers produce */

/* Results of proxyproto_parse. Errors are negative, one per reason. */
enum {
	PP_OK = 0,		/* a whole header; hdr->len bytes of it */
	PP_AGAIN = 1,		/* a header so far, not whole yet */
	PP_E_NOT_PROXY = -1,	/* starts with neither signature */
	PP_E_V1_SYNTAX = -2,	/* v1: a missing, empty or extra field, a bad separator, bare CR
				   or LF, a control or non-ASCII byte in an UNKNOWN line */
	PP_E_V1_TOO_LONG = -3,	/* v1: no CRLF within PROXYPROTO_V1_MAX bytes */
	PP_E_ADDRESS = -4,	/* an address that is not in its family's form */
	PP_E_PORT = -5,		/* a v1 port that is not 0..65535 without leading zeros */
	PP_E_VERSION = -6,	/* v2: version nibble other than 2 */
	PP_E_COMMAND = -7,	/* v2: command other than LOCAL or PROXY */
	PP_E_FAMILY = -8,	/* v1: protocol other than TCP4, TCP6, UNKNOWN; v2: unassigned
				   family/transport byte */
	PP_E_V2_TOO_LONG = -9,	/* v2: 16 + length over PROXYPROTO_V2_MAX */
	PP_E_V2_SHORT = -10,	/* v2: length shorter than the addresses of its family */
	PP_E_TLV = -11,		/* v2: a TLV running past the end of the header */
};

struct proxyproto_hdr {
	int version;			/* 1 or 2 */
	int local;			/* 1: no client address given (v2 LOCAL, v1 UNKNOWN, v2
					   UNSPEC, UNIX or DGRAM): use the connection's own */
	size_t len;			/* bytes of the header; the request starts there */
	struct sockaddr_storage src;	/* the client, when !local (AF_INET or AF_INET6) */
	struct sockaddr_storage dst;	/* the address the client connected to */
	socklen_t srclen, dstlen;	/* 0 when local */
};

/*
 * Reads a PROXY header at the start of buf[0..len). Returns PP_OK with *out
 * filled, PP_AGAIN while buf holds the beginning of a header that is not
 * whole yet (nothing is wrong with the bytes so far), or a PP_E_* code as
 * soon as some byte rules a header out. *out means nothing unless PP_OK.
 * Keeps no state: call again with the whole buffer once more bytes came;
 * the answer on any prefix of a buffer is PP_AGAIN or the answer on the
 * whole. Version 2 TLVs are checked to lie within the header, then skipped;
 * a LOCAL header's address block is skipped unread, as the spec asks.
 */
int proxyproto_parse(const char *buf, size_t len, struct proxyproto_hdr *out);

/* A short fixed text for a PP_* result, for logs ("bad v1 port"). */
const char *proxyproto_strerror(int rc);

/*
 * Write the header for a connection from src to dst (each AF_INET or
 * AF_INET6) into buf[0..cap): "TCP4"/AF_INET when both are IPv4 or
 * IPv4-mapped IPv6, else "TCP6"/AF_INET6 with IPv4 mapped. Return the
 * length (no NUL is written), or -1 when cap is too small or a family is
 * neither (nothing useful is in buf then). PROXYPROTO_WRITE_MAX is enough.
 */
int proxyproto_write_v1(char *buf, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst);
int proxyproto_write_v2(char *buf, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst);

/*
 * The headers that carry no address: "PROXY UNKNOWN\r\n" and a v2 LOCAL.
 * For health checks, v2 LOCAL is what the spec intends; for v1 it rather
 * recommends a real line from getsockname()/getpeername(), as some servers
 * refuse UNKNOWN. Return the length, or -1 when cap is too small.
 */
int proxyproto_write_v1_unknown(char *buf, size_t cap);
int proxyproto_write_v2_local(char *buf, size_t cap);

#endif
