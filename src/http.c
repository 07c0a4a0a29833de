/*
 * HTTP/1.1 heads and chunked bodies (RFC 9112), parsed in place; see http.h.
 *
 * A head is parsed in one pass over the caller's buffer, each line scanned
 * with the byte classes of http_ctype. The parser keeps no state between
 * calls: while the head is incomplete, a memchr over the line ends tells
 * whether a full parse could conclude, so a client dribbling a byte at a time
 * costs a scan per read, not a parse. Every decision depends only on the bytes
 * before it, which is why a head gives the same answer whole or in pieces.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http.h"

#define HTTP_MAX_EMPTY_LINES	4		/* CRLFs skipped before the start line */
#define HTTP_NUM_MAX	(UINT64_C(1) << 62)	/* largest Content-Length or chunk size */
#define HTTP_CHUNK_LINE_MAX	8192		/* a chunk-size line, with extensions and CRLF */
#define HTTP_TRAILERS_MAX	8192		/* the trailer section, final CRLF included */

/* Byte classes, bits of http_ctype[]. */
#define C_TOKEN	0x01	/* tchar (RFC 9110 5.6.2) */
#define C_VCHAR	0x02	/* VCHAR or obs-text: request target, version */
#define C_FIELD	0x04	/* field-content byte: VCHAR, obs-text, SP, HTAB */
#define C_HOST	0x08	/* reg-name byte: unreserved, sub-delims but ',', and '%' */
#define C_HEX	0x10	/* HEXDIG */
#define C_DIGIT	0x20	/* DIGIT */

#define Z 0
#define W C_FIELD		/* SP, HTAB */
#define P (C_VCHAR | C_FIELD)	/* other VCHAR, obs-text */
#define S (P | C_HOST)		/* sub-delims that are no tchar */
#define K (P | C_TOKEN)		/* tchar not allowed in a host */
#define N (K | C_HOST)		/* tchar allowed in a host */
#define A (N | C_HEX)		/* hex letters */
#define D (A | C_DIGIT)		/* digits */
static const unsigned char http_ctype[256] = {
	Z, Z, Z, Z, Z, Z, Z, Z, Z, W, Z, Z, Z, Z, Z, Z,	/* 00 */
	Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z, Z,	/* 10 */
	W, N, P, K, N, N, N, N, S, S, N, N, P, N, N, P,	/* 20  !"#$%&'()*+,-./ */
	D, D, D, D, D, D, D, D, D, D, P, S, P, S, P, P,	/* 30 0123456789:;<=>? */
	P, A, A, A, A, A, A, N, N, N, N, N, N, N, N, N,	/* 40 @ABCDEFGHIJKLMNO */
	N, N, N, N, N, N, N, N, N, N, N, P, P, P, K, N,	/* 50 PQRSTUVWXYZ[\]^_ */
	K, A, A, A, A, A, A, N, N, N, N, N, N, N, N, N,	/* 60 `abcdefghijklmno */
	N, N, N, N, N, N, N, N, N, N, N, P, K, P, N, Z,	/* 70 pqrstuvwxyz{|}~ DEL */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 80 obs-text */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* 90 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* a0 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* b0 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* c0 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* d0 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* e0 */
	P, P, P, P, P, P, P, P, P, P, P, P, P, P, P, P,	/* f0 */
};
#undef Z
#undef W
#undef P
#undef S
#undef K
#undef N
#undef A
#undef D

#define IS(c, cls)	(http_ctype[(unsigned char)(c)] & (cls))
#define IS_WS(c)	((c) == ' ' || (c) == '\t')

/* SWAR on 64-bit words: whether any byte of x is below b (b <= 128), or is DEL. */
#define SWAR_ONES	UINT64_C(0x0101010101010101)
#define SWAR_LESS(x, b)	(((x) - SWAR_ONES * (b)) & ~(x) & (SWAR_ONES * 0x80))
#define SWAR_DEL(x)	SWAR_LESS((x) ^ (SWAR_ONES * 0x7f), 1)

/* What the field lines of one head say about its framing, decided at its end. */
struct http_head {
	uint64_t cl;		/* the Content-Length value, when ncl > 0 */
	unsigned ncl;		/* Content-Length fields seen */
	unsigned nhost;		/* Host fields seen (requests) */
	unsigned nte;		/* transfer codings seen, over all fields */
	unsigned nchunked;	/* of which "chunked" */
	int te_chunked_params;	/* a "chunked" came with parameters (it has none) */
	int te_last_chunked;	/* the last coding seen is "chunked" */
};

static int
http_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of a[0..len) with b[0..len). */
static int
http_mem_caseeq(const char *a, const char *b, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (http_lower((unsigned char)a[i]) != http_lower((unsigned char)b[i]))
			return 0;
	return 1;
}

int
http_method_is(struct http_str m, const char *lit)
{
	return strlen(lit) == m.len && memcmp(m.p, lit, m.len) == 0;
}

int
http_str_eq(struct http_str s, const char *lit)
{
	return strlen(lit) == s.len && http_mem_caseeq(s.p, lit, s.len);
}

/* http_str_eq for a string literal, without strlen; STR_SAME is case-sensitive (methods). */
#define STR_EQ(s, lit)	((s).len == sizeof(lit) - 1 && http_mem_caseeq((s).p, lit, (s).len))
#define STR_SAME(s, lit) ((s).len == sizeof(lit) - 1 && memcmp((s).p, lit, (s).len) == 0)

/* Whether every byte of s has one of the classes cls; an empty s has not. */
static int
http_str_all(struct http_str s, int cls)
{
	size_t i;

	for (i = 0; i < s.len; i++)
		if (!IS(s.p[i], cls))
			return 0;
	return s.len > 0;
}

/*
 * Takes the next element of the comma-separated list v from *i, OWS trimmed
 * (possibly empty): 1, or 0 once the list is exhausted. Only for lists whose
 * elements cannot hold a quoted comma.
 */
static int
http_list_next(struct http_str v, size_t *i, struct http_str *e)
{
	size_t s, end;

	if (*i > v.len)
		return 0;
	for (s = *i; s < v.len && IS_WS(v.p[s]); s++)
		;
	for (end = s; end < v.len && v.p[end] != ','; end++)
		;
	*i = end + 1;
	while (end > s && IS_WS(v.p[end - 1]))
		end--;
	e->p = v.p + s;
	e->len = end - s;
	return 1;
}

/*
 * Skips the bytes of class cls, C_VCHAR or C_FIELD, from buf[p]: returns the
 * offset of the first other byte, or n. Targets and field values are most of
 * a head: they go eight bytes at a time while there is no control byte, DEL,
 * or (for C_VCHAR) space among them; a byte at a time from the word with one.
 */
static size_t
http_span(const char *buf, size_t p, size_t n, int cls)
{
	uint64_t x, lo = cls == C_VCHAR ? 0x21 : 0x20;

	for (; n - p >= 8; p += 8) {
		memcpy(&x, buf + p, 8);
		if (SWAR_LESS(x, lo) | SWAR_DEL(x))
			break;
	}
	while (p < n && IS(buf[p], cls))
		p++;
	return p;
}

/*
 * Checks that buf[p] starts a CRLF (p < n): HTTP_OK, HTTP_AGAIN when the CR is
 * the last byte available, HTTP_E_BAD for anything else (bare LF, bare CR,
 * any other byte that ended a scan).
 */
static int
http_eol(const char *buf, size_t n, size_t p)
{
	if (buf[p] != '\r')
		return HTTP_E_BAD;
	if (p + 1 == n)
		return HTTP_AGAIN;
	return buf[p + 1] == '\n' ? HTTP_OK : HTTP_E_BAD;
}

/*
 * Skips the empty lines allowed before a start line, at most
 * HTTP_MAX_EMPTY_LINES of them. HTTP_OK with *pos on the start line,
 * HTTP_AGAIN, or HTTP_E_BAD for a bare CR or LF or too many empty lines.
 */
static int
http_skip_empty(const char *buf, size_t n, size_t *pos)
{
	size_t p = 0;
	int i, rc;

	for (i = 0; ; i++) {
		if (p == n)
			return HTTP_AGAIN;
		if (buf[p] != '\r' && buf[p] != '\n')
			break;
		if (i == HTTP_MAX_EMPTY_LINES || (rc = http_eol(buf, n, p)) == HTTP_E_BAD)
			return HTTP_E_BAD;
		if (rc == HTTP_AGAIN)
			return HTTP_AGAIN;
		p += 2;
	}
	*pos = p;
	return HTTP_OK;
}

/*
 * Cheap test of an incomplete head: whether buf[from..n) holds an LF followed
 * by another or by a CR and one more byte: an empty line or a broken one, at
 * which a full parse ends in HTTP_OK or an error. Without one, a full parse
 * could only say HTTP_AGAIN.
 */
static int
http_head_ended(const char *buf, size_t n, size_t from)
{
	const char *q = buf + from, *end = buf + n;

	if (n - from >= 4 && memcmp(end - 4, "\r\n\r\n", 4) == 0)
		return 1;
	while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
		if (++q == end)
			return 0;
		if (*q == '\n' || (*q == '\r' && q + 1 < end))
			return 1;
	}
	return 0;
}

/*
 * Reads an HTTP-version: HTTP_OK with *minor set for "HTTP/1.0" and "HTTP/1.1",
 * HTTP_E_VERSION for another "HTTP/d.d", HTTP_E_BAD for anything else.
 */
static int
http_version(const char *s, size_t len, int *minor)
{
	if (len != 8 || memcmp(s, "HTTP/", 5) != 0 || !IS(s[5], C_DIGIT) || s[6] != '.' ||
	    !IS(s[7], C_DIGIT))
		return HTTP_E_BAD;
	if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
		return HTTP_E_VERSION;
	*minor = s[7] - '0';
	return HTTP_OK;
}

/*
 * Whether s[0..len) is uri-host [":" port] (RFC 9110 7.2), or empty as RFC
 * 9112 3.2 allows. The host is a reg-name (an IPv4 address is one) without
 * commas, or a bracketed IPv6 address; the port at most 5 digits. User info,
 * whitespace and slashes are refused.
 */
static int
http_host_ok(const char *s, size_t len)
{
	size_t i = 0, port;

	if (len == 0)
		return 1;
	if (s[0] == '[') {
		for (i = 1; i < len && (IS(s[i], C_HEX) || s[i] == ':' || s[i] == '.'); i++)
			;
		if (i == len || s[i] != ']' || i < 3)
			return 0;
		i++;
	} else {
		for (; i < len && IS(s[i], C_HOST); i++)
			if (s[i] == '%') {
				if (i + 2 >= len || !IS(s[i + 1], C_HEX) || !IS(s[i + 2], C_HEX))
					return 0;
				i += 2;
			}
		if (i == 0)
			return 0;
	}
	if (i == len)
		return 1;
	if (s[i++] != ':' || len - i > 5)
		return 0;
	for (port = 0; i < len; i++) {
		if (!IS(s[i], C_DIGIT))
			return 0;
		port = port * 10 + (size_t)(s[i] - '0');
	}
	return port <= 65535;	/* an empty port is allowed (RFC 3986) */
}

int
http_target_authority(struct http_str t, struct http_str *authority, struct http_str *rest)
{
	size_t s, e;

	authority->p = t.p;
	authority->len = 0;
	*rest = t;
	if (t.len > 7 && http_mem_caseeq(t.p, "http://", 7))
		s = 7;
	else if (t.len > 8 && http_mem_caseeq(t.p, "https://", 8))
		s = 8;
	else
		return 0;
	for (e = s; e < t.len && t.p[e] != '/' && t.p[e] != '?' && t.p[e] != '#'; e++)
		;
	authority->p = t.p + s;
	authority->len = e - s;
	rest->p = t.p + e;
	rest->len = t.len - e;
	return 1;
}

/*
 * Whether t is a request target this method may use: origin-form, "*" for
 * OPTIONS, or an absolute-form http or https URI with a valid authority.
 * Authority-form belongs to CONNECT, refused before. A fragment is never
 * part of a request target (RFC 9112 3.2): a '#' is refused wherever it is,
 * so that nothing after it can be read as part of a path or an authority.
 */
static int
http_target_ok(struct http_str method, struct http_str t)
{
	struct http_str authority, rest;

	if (memchr(t.p, '#', t.len) != NULL)
		return 0;
	if (t.p[0] == '/')
		return 1;
	if (t.len == 1 && t.p[0] == '*')
		return STR_SAME(method, "OPTIONS");
	if (!http_target_authority(t, &authority, &rest))
		return 0;
	return authority.len > 0 && http_host_ok(authority.p, authority.len);
}

/* Parses "method SP request-target SP HTTP-version CRLF" at *pos. */
static int
http_request_line(struct http_msg *m, const char *buf, size_t n, size_t *pos)
{
	size_t p = *pos, s;
	int rc;

	for (s = p; p < n && IS(buf[p], C_TOKEN); p++)
		;
	if (p == n)
		return HTTP_AGAIN;
	if (buf[p] != ' ' || p == s)
		return HTTP_E_BAD;
	m->method.p = buf + s;
	m->method.len = p - s;
	if (STR_SAME(m->method, "CONNECT"))
		return HTTP_E_NOT_IMPLEMENTED;
	if (STR_SAME(m->method, "HEAD"))
		m->flags |= HTTP_F_METHOD_HEAD;

	s = ++p;
	p = http_span(buf, p, n, C_VCHAR);
	if (p == n)
		return HTTP_AGAIN;
	if (buf[p] != ' ' || p == s)
		return HTTP_E_BAD;
	m->target.p = buf + s;
	m->target.len = p - s;
	if (!http_target_ok(m->method, m->target))
		return HTTP_E_BAD;

	for (s = ++p; p < n && IS(buf[p], C_VCHAR); p++)
		;
	if (p == n)
		return HTTP_AGAIN;
	if ((rc = http_eol(buf, n, p)) != HTTP_OK)
		return rc;
	if ((rc = http_version(buf + s, p - s, &m->minor)) != HTTP_OK)
		return rc;
	*pos = p + 2;
	return HTTP_OK;
}

/* Parses "HTTP-version SP 3DIGIT [SP reason] CRLF" at *pos; the reason may be empty. */
static int
http_status_line(struct http_msg *m, const char *buf, size_t n, size_t *pos)
{
	size_t p = *pos, s;
	int i, rc;

	for (s = p; p < n && IS(buf[p], C_VCHAR); p++)
		;
	if (p == n)
		return HTTP_AGAIN;
	if (buf[p] != ' ')
		return HTTP_E_BAD;
	if ((rc = http_version(buf + s, p - s, &m->minor)) != HTTP_OK)
		return rc;
	p++;
	for (i = 0; i < 3; i++, p++) {
		if (p == n)
			return HTTP_AGAIN;
		if (!IS(buf[p], C_DIGIT))
			return HTTP_E_BAD;
		m->status = m->status * 10 + (buf[p] - '0');
	}
	if (m->status < 100 || m->status > 599)
		return HTTP_E_BAD;
	if (p == n)
		return HTTP_AGAIN;
	s = p;
	if (buf[p] == ' ') {
		s = ++p;
		p = http_span(buf, p, n, C_FIELD);
		if (p == n)
			return HTTP_AGAIN;
	}
	if ((rc = http_eol(buf, n, p)) != HTTP_OK)
		return rc;
	m->reason.p = buf + s;
	m->reason.len = p - s;
	*pos = p + 2;
	return HTTP_OK;
}

/*
 * Reads a Content-Length value: a list of 1*DIGIT, all equal, and equal to
 * the value of any earlier field. Refuses signs, inner spaces, empty
 * elements and values over HTTP_NUM_MAX.
 */
static int
http_content_length(struct http_head *hd, struct http_str v)
{
	struct http_str e;
	uint64_t cl;
	size_t i = 0, j;
	unsigned d;

	while (http_list_next(v, &i, &e)) {
		if (!http_str_all(e, C_DIGIT))
			return HTTP_E_BAD;
		for (cl = 0, j = 0; j < e.len; j++) {
			d = (unsigned)(e.p[j] - '0');
			if (cl > (HTTP_NUM_MAX - d) / 10)
				return HTTP_E_BAD;
			cl = cl * 10 + d;
		}
		if (hd->ncl > 0 && cl != hd->cl)
			return HTTP_E_BAD;
		hd->cl = cl;
		hd->ncl++;
	}
	return HTTP_OK;
}

/*
 * Reads a Transfer-Encoding value, 1#transfer-coding where a coding is
 * token *( OWS ";" OWS token BWS "=" BWS ( token / quoted-string ) ), and
 * counts its codings in hd. HTTP_E_BAD when it strays from that grammar:
 * empty, an empty element, a parameter without a value, a stray byte.
 * (The value's bytes were checked already: no control byte but HTAB.)
 */
static int
http_transfer_encoding(struct http_head *hd, struct http_str v)
{
	const char *p = v.p, *end = v.p + v.len, *s;
	struct http_str coding;
	int params;

	for (;;) {
		while (p < end && IS_WS(*p))
			p++;
		for (coding.p = p; p < end && IS(*p, C_TOKEN); p++)
			;
		if ((coding.len = (size_t)(p - coding.p)) == 0)
			return HTTP_E_BAD;
		for (params = 0; ; params++) {
			while (p < end && IS_WS(*p))
				p++;
			if (p == end || *p != ';')
				break;
			for (p++; p < end && IS_WS(*p); p++)
				;
			for (s = p; p < end && IS(*p, C_TOKEN); p++)
				;
			if (p == s)
				return HTTP_E_BAD;
			while (p < end && IS_WS(*p))
				p++;
			if (p == end || *p++ != '=')
				return HTTP_E_BAD;
			while (p < end && IS_WS(*p))
				p++;
			if (p < end && *p == '"') {
				for (p++; p < end && *p != '"'; p++)
					if (*p == '\\' && ++p == end)
						return HTTP_E_BAD;
				if (p++ == end)
					return HTTP_E_BAD;
			} else {
				for (s = p; p < end && IS(*p, C_TOKEN); p++)
					;
				if (p == s)
					return HTTP_E_BAD;
			}
		}
		hd->te_last_chunked = STR_EQ(coding, "chunked");
		hd->nchunked += (unsigned)hd->te_last_chunked;
		if (hd->te_last_chunked && params > 0)
			hd->te_chunked_params = 1;
		hd->nte++;
		if (p == end)
			return HTTP_OK;
		if (*p++ != ',')
			return HTTP_E_BAD;
	}
}

/* Reads a Connection value: a list of tokens (empty elements allowed) setting HTTP_F_CONN_*. */
static int
http_connection(struct http_msg *m, struct http_str v)
{
	struct http_str e;
	size_t i = 0;

	while (http_list_next(v, &i, &e)) {
		if (e.len == 0)
			continue;
		if (!http_str_all(e, C_TOKEN))
			return HTTP_E_BAD;
		if (STR_EQ(e, "close"))
			m->flags |= HTTP_F_CONN_CLOSE;
		else if (STR_EQ(e, "keep-alive"))
			m->flags |= HTTP_F_CONN_KEEPALIVE;
		else if (STR_EQ(e, "upgrade"))
			m->flags |= HTTP_F_CONN_UPGRADE;
		/* "keep-alive" and "upgrade" name fields that are hop-by-hop anyway. */
		if (!STR_EQ(e, "keep-alive") && !STR_EQ(e, "upgrade"))
			m->conn_names = 1;
	}
	return HTTP_OK;
}

/* Which known field a name is (see enum http_field_id): one comparison or two. */
static enum http_field_id
http_field_id(struct http_str n)
{
#define IS_NAME(lit, id)	if (STR_EQ(n, lit)) return id
	switch (n.len) {
	case 2:
		IS_NAME("te", HTTP_H_TE);
		break;
	case 4:
		IS_NAME("host", HTTP_H_HOST);
		break;
	case 6:
		IS_NAME("expect", HTTP_H_EXPECT);
		break;
	case 7:
		IS_NAME("referer", HTTP_H_REFERER);
		IS_NAME("upgrade", HTTP_H_UPGRADE);
		IS_NAME("trailer", HTTP_H_TRAILER);
		break;
	case 10:
		IS_NAME("user-agent", HTTP_H_USER_AGENT);
		IS_NAME("connection", HTTP_H_CONNECTION);
		IS_NAME("keep-alive", HTTP_H_KEEP_ALIVE);
		break;
	case 12:
		IS_NAME("x-request-id", HTTP_H_X_REQUEST_ID);
		break;
	case 14:
		IS_NAME("content-length", HTTP_H_CONTENT_LENGTH);
		break;
	case 15:
		IS_NAME("x-forwarded-for", HTTP_H_X_FORWARDED_FOR);
		break;
	case 16:
		IS_NAME("x-forwarded-host", HTTP_H_X_FORWARDED_HOST);
		IS_NAME("proxy-connection", HTTP_H_PROXY_CONNECTION);
		break;
	case 17:
		IS_NAME("transfer-encoding", HTTP_H_TRANSFER_ENCODING);
		IS_NAME("x-forwarded-proto", HTTP_H_X_FORWARDED_PROTO);
		break;
	case 18:
		IS_NAME("proxy-authenticate", HTTP_H_PROXY_AUTHENTICATE);
		break;
	case 19:
		IS_NAME("proxy-authorization", HTTP_H_PROXY_AUTHORIZATION);
		break;
	}
	return HTTP_H_OTHER;
#undef IS_NAME
}

/* Takes note of the field lines that matter to rondo; others pass untouched. */
static int
http_field(struct http_msg *m, struct http_head *hd, struct http_header *h, int response)
{
	switch ((h->id = http_field_id(h->name))) {
	case HTTP_H_HOST:
		if (response)
			break;
		if (hd->nhost++ > 0 || !http_host_ok(h->value.p, h->value.len))
			return HTTP_E_BAD;
		m->host = h->value;
		break;
	case HTTP_H_EXPECT:
		if (!response && STR_EQ(h->value, "100-continue"))
			m->flags |= HTTP_F_EXPECT_CONTINUE;
		break;
	case HTTP_H_UPGRADE:
		m->flags |= HTTP_F_UPGRADE;
		break;
	case HTTP_H_CONNECTION:
		return http_connection(m, h->value);
	case HTTP_H_CONTENT_LENGTH:
		return http_content_length(hd, h->value);
	case HTTP_H_TRANSFER_ENCODING:
		return http_transfer_encoding(hd, h->value);
	default:
		break;
	}
	return HTTP_OK;
}

/* Orders two field names case-insensitively, shorter first on a common prefix. */
static int
http_name_cmp(struct http_str a, struct http_str b)
{
	size_t i, n = a.len < b.len ? a.len : b.len;
	int d;

	for (i = 0; i < n; i++)
		if ((d = http_lower((unsigned char)a.p[i]) - http_lower((unsigned char)b.p[i])) != 0)
			return d;
	return a.len < b.len ? -1 : a.len > b.len;
}

/*
 * Sets conn_named on the fields that m's Connection fields name. The names
 * that may be marked are sorted once and every Connection element is looked
 * up by binary search, a name already marked ending the search: a long list
 * costs its length times log(fields), never the number of fields times its
 * length. Host and Content-Length are never marked (see http_header_is_hop),
 * nor the fields that are hop-by-hop anyway.
 */
static void
http_mark_connection(struct http_msg *m)
{
	unsigned char idx[HTTP_MAX_HEADERS];
	struct http_header *h;
	struct http_str e;
	size_t i, j, k, n = 0, lo, hi, mid;

	for (i = 0; i < m->nheaders; i++) {
		h = &m->headers[i];
		if ((h->id != HTTP_H_OTHER && h->id <= HTTP_H_HOP_LAST) || h->id == HTTP_H_HOST ||
		    h->id == HTTP_H_CONTENT_LENGTH)
			continue;
		/* insertion sort: at most HTTP_MAX_HEADERS names, and only when needed */
		for (j = n++; j > 0 && http_name_cmp(m->headers[idx[j - 1]].name, h->name) > 0; j--)
			idx[j] = idx[j - 1];
		idx[j] = (unsigned char)i;
	}
	for (i = 0; i < m->nheaders && n > 0; i++) {
		if (m->headers[i].id != HTTP_H_CONNECTION)
			continue;
		k = 0;
		while (http_list_next(m->headers[i].value, &k, &e)) {
			for (lo = 0, hi = n; lo < hi; ) {	/* first name >= e */
				mid = lo + (hi - lo) / 2;
				if (http_name_cmp(m->headers[idx[mid]].name, e) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			for (; lo < n && !m->headers[idx[lo]].conn_named &&
			    http_name_cmp(m->headers[idx[lo]].name, e) == 0; lo++)
				m->headers[idx[lo]].conn_named = 1;
		}
	}
}

/*
 * Parses the field lines from *pos through the empty line, into m->headers.
 * Each is 1*tchar ":" OWS value OWS CRLF; a line starting with whitespace
 * (obs-fold) has an empty name and is refused with the others.
 */
static int
http_fields(struct http_msg *m, struct http_head *hd, const char *buf, size_t n, size_t *pos,
    int response)
{
	struct http_header *h;
	size_t p = *pos, s, ne, vs, ve;
	int rc;

	for (;;) {
		if (p == n)
			return HTTP_AGAIN;
		if (buf[p] == '\r')
			break;
		for (s = p; p < n && IS(buf[p], C_TOKEN); p++)
			;
		if (p == n)
			return HTTP_AGAIN;
		if (buf[p] != ':' || p == s)
			return HTTP_E_BAD;
		ne = p;
		for (p++; p < n && IS_WS(buf[p]); p++)
			;
		vs = p;
		p = http_span(buf, p, n, C_FIELD);
		if (p == n)
			return HTTP_AGAIN;
		if ((rc = http_eol(buf, n, p)) != HTTP_OK)
			return rc;
		for (ve = p; ve > vs && IS_WS(buf[ve - 1]); ve--)
			;
		p += 2;
		if (m->nheaders == HTTP_MAX_HEADERS)
			return HTTP_E_TOO_LARGE;
		h = &m->headers[m->nheaders++];
		h->name.p = buf + s;
		h->name.len = ne - s;
		h->value.p = buf + vs;
		h->value.len = ve - vs;
		h->conn_named = 0;
		if ((rc = http_field(m, hd, h, response)) != HTTP_OK)
			return rc;
	}
	if ((rc = http_eol(buf, n, p)) != HTTP_OK)
		return rc;
	*pos = p + 2;
	return HTTP_OK;
}

/*
 * Decides how the body of a request is framed once its head is complete:
 * chunked, a Content-Length over 0, or none (Content-Length: 0 included).
 */
static int
http_frame_request(struct http_msg *m, const struct http_head *hd)
{
	if (m->minor == 1 && hd->nhost == 0)
		return HTTP_E_BAD;
	if (hd->nte > 0) {
		if (m->minor == 0 || hd->ncl > 0)
			return HTTP_E_BAD;
		/*
		 * RFC 9112 6.3: without chunked last the length of the body cannot
		 * be known (400); chunked twice or with parameters is no chunked
		 * body either. Chunked last after codings rondo does not apply or
		 * remove is understood but not implemented (6.1: 501).
		 */
		if (!hd->te_last_chunked || hd->nchunked != 1 || hd->te_chunked_params)
			return HTTP_E_BAD;
		if (hd->nte != 1)
			return HTTP_E_NOT_IMPLEMENTED;
		m->body = HTTP_BODY_CHUNKED;
	} else if (hd->cl > 0)
		m->body = HTTP_BODY_LENGTH;
	return HTTP_OK;
}

/* Decides how the body of a response is framed (RFC 9112 6.3), once its head is complete. */
static int
http_frame_response(struct http_msg *m, const struct http_head *hd, unsigned req_flags)
{
	if (hd->nte > 0 && (m->minor == 0 || hd->ncl > 0 || hd->nchunked > 1 ||
	    hd->te_chunked_params))
		return HTTP_E_BAD;
	if ((req_flags & HTTP_F_METHOD_HEAD) || m->status < 200 || m->status == 204 ||
	    m->status == 304)
		m->body = HTTP_BODY_NONE;
	else if (hd->nte > 0)
		m->body = hd->te_last_chunked ? HTTP_BODY_CHUNKED : HTTP_BODY_EOF;
	else if (hd->ncl > 0)
		m->body = hd->cl > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
	else
		m->body = HTTP_BODY_EOF;
	return HTTP_OK;
}

/* The common part of http_parse_request and http_parse_response. */
static int
http_parse(struct http_msg *m, const char *buf, size_t len, size_t max_head, int response,
    unsigned req_flags)
{
	struct http_head hd = { 0 };
	size_t n = len < max_head ? len : max_head, p = 0;
	int rc, in_start = 1;

	m->method.p = m->target.p = m->reason.p = m->host.p = NULL;
	m->method.len = m->target.len = m->reason.len = m->host.len = 0;
	m->status = m->minor = 0;
	m->head_len = m->nheaders = 0;
	m->body = HTTP_BODY_NONE;
	m->content_length = 0;
	m->has_content_length = 0;
	m->flags = 0;
	m->conn_names = 0;

	rc = http_skip_empty(buf, n, &p);
	if (rc == HTTP_OK && len < max_head && !http_head_ended(buf, n, p))
		return HTTP_AGAIN;
	if (rc == HTTP_OK)
		rc = response ? http_status_line(m, buf, n, &p) : http_request_line(m, buf, n, &p);
	if (rc == HTTP_OK) {
		in_start = 0;
		rc = http_fields(m, &hd, buf, n, &p, response);
	}
	if (rc == HTTP_AGAIN && len >= max_head)
		return in_start && !response ? HTTP_E_URI_TOO_LONG : HTTP_E_TOO_LARGE;
	if (rc != HTTP_OK)
		return rc;
	m->head_len = p;
	m->content_length = hd.cl;
	m->has_content_length = hd.ncl > 0;
	if (m->conn_names)
		http_mark_connection(m);
	if (m->minor == 0 && !(m->flags & HTTP_F_CONN_KEEPALIVE))
		m->flags |= HTTP_F_CONN_CLOSE;
	return response ? http_frame_response(m, &hd, req_flags) : http_frame_request(m, &hd);
}

int
http_parse_request(struct http_msg *m, const char *buf, size_t len, size_t max_head)
{
	return http_parse(m, buf, len, max_head, 0, 0);
}

int
http_parse_response(struct http_msg *m, const char *buf, size_t len, size_t max_head,
    unsigned req_flags)
{
	return http_parse(m, buf, len, max_head, 1, req_flags);
}

/* States of http_chunked; the size line ones first, then data, then trailers. */
enum {
	CH_SIZE0,		/* the first hex digit of a chunk size */
	CH_SIZE,		/* more hex digits, ';', whitespace or CR */
	CH_BWS,			/* whitespace after the size or a value: ';' must follow */
	CH_EXT_NAME0,		/* after ';': whitespace, then the extension name */
	CH_EXT_NAME,		/* in the name */
	CH_EXT_NAME_BWS,	/* whitespace after a name: '=' or ';' must follow */
	CH_EXT_VALUE0,		/* after '=': whitespace, then a token or a quoted-string */
	CH_EXT_TOKEN,		/* in a token value */
	CH_EXT_QUOTED,		/* in a quoted-string value */
	CH_EXT_QPAIR,		/* after a backslash in it */
	CH_EXT_QEND,		/* after its closing quote */
	CH_SIZE_LF,		/* the LF ending a size line */
	CH_DATA,		/* chunk data, remaining bytes of it */
	CH_DATA_CR,		/* the CRLF after chunk data */
	CH_DATA_LF,
	CH_TRAILER,		/* the start of a trailer field line, or the final CRLF */
	CH_TR_NAME,		/* in a trailer field name */
	CH_TR_VALUE,		/* in its value */
	CH_TR_LF,		/* the LF ending it */
	CH_FINAL_LF,		/* the LF of the final CRLF */
	CH_DONE,		/* the body is over */
	CH_ERR_BAD,		/* the body was refused: HTTP_E_BAD, then... */
	CH_ERR_TOO_LARGE,	/* ... HTTP_E_TOO_LARGE from now on */
};

void
http_chunked_init(struct http_chunked *c)
{
	c->state = CH_SIZE0;
	c->remaining = 0;
	c->line_len = 0;
	c->trailer_len = 0;
}

/* The value of a hex digit, or -1. */
static int
http_hex(unsigned char ch)
{
	if (!IS(ch, C_HEX))
		return -1;
	return ch <= '9' ? ch - '0' : http_lower(ch) - 'a' + 10;
}

/*
 * The transition from state st (any but CH_DATA and those from CH_DONE on) on
 * byte ch: the next state, or CH_ERR_BAD for a byte the grammar does not allow
 * there. Accumulates the chunk size in c->remaining.
 */
static int
http_chunked_step(struct http_chunked *c, int st, unsigned char ch)
{
	int d;

	switch (st) {
	case CH_SIZE0:
	case CH_SIZE:
		if ((d = http_hex(ch)) >= 0) {
			if (c->remaining > (HTTP_NUM_MAX - (unsigned)d) / 16)
				return CH_ERR_BAD;
			c->remaining = c->remaining * 16 + (unsigned)d;
			return CH_SIZE;
		}
		if (st == CH_SIZE0)
			return CH_ERR_BAD;
		/* FALLTHROUGH */
	case CH_EXT_TOKEN:
		if (st == CH_EXT_TOKEN && IS(ch, C_TOKEN))
			return CH_EXT_TOKEN;
		/* FALLTHROUGH */
	case CH_EXT_QEND:
		if (ch == '\r')
			return CH_SIZE_LF;
		/* FALLTHROUGH */
	case CH_BWS:
		if (IS_WS(ch))
			return CH_BWS;
		return ch == ';' ? CH_EXT_NAME0 : CH_ERR_BAD;
	case CH_EXT_NAME0:
		if (IS_WS(ch))
			return CH_EXT_NAME0;
		return IS(ch, C_TOKEN) ? CH_EXT_NAME : CH_ERR_BAD;
	case CH_EXT_NAME:
		if (IS(ch, C_TOKEN))
			return CH_EXT_NAME;
		if (ch == '\r')
			return CH_SIZE_LF;
		/* FALLTHROUGH */
	case CH_EXT_NAME_BWS:
		if (IS_WS(ch))
			return CH_EXT_NAME_BWS;
		if (ch == '=')
			return CH_EXT_VALUE0;
		return ch == ';' ? CH_EXT_NAME0 : CH_ERR_BAD;
	case CH_EXT_VALUE0:
		if (IS_WS(ch))
			return CH_EXT_VALUE0;
		if (ch == '"')
			return CH_EXT_QUOTED;
		return IS(ch, C_TOKEN) ? CH_EXT_TOKEN : CH_ERR_BAD;
	case CH_EXT_QUOTED:
		if (ch == '"')
			return CH_EXT_QEND;
		if (ch == '\\')
			return CH_EXT_QPAIR;
		return IS(ch, C_FIELD) ? CH_EXT_QUOTED : CH_ERR_BAD;
	case CH_EXT_QPAIR:
		return IS(ch, C_FIELD) ? CH_EXT_QUOTED : CH_ERR_BAD;
	case CH_SIZE_LF:
		if (ch != '\n')
			return CH_ERR_BAD;
		c->line_len = 0;
		return c->remaining > 0 ? CH_DATA : CH_TRAILER;
	case CH_DATA_CR:
		return ch == '\r' ? CH_DATA_LF : CH_ERR_BAD;
	case CH_DATA_LF:
		return ch == '\n' ? CH_SIZE0 : CH_ERR_BAD;
	case CH_TRAILER:
		if (ch == '\r')
			return CH_FINAL_LF;
		return IS(ch, C_TOKEN) ? CH_TR_NAME : CH_ERR_BAD;
	case CH_TR_NAME:
		if (IS(ch, C_TOKEN))
			return CH_TR_NAME;
		return ch == ':' ? CH_TR_VALUE : CH_ERR_BAD;
	case CH_TR_VALUE:
		if (IS(ch, C_FIELD))
			return CH_TR_VALUE;
		return ch == '\r' ? CH_TR_LF : CH_ERR_BAD;
	case CH_TR_LF:
		return ch == '\n' ? CH_TRAILER : CH_ERR_BAD;
	case CH_FINAL_LF:
		return ch == '\n' ? CH_DONE : CH_ERR_BAD;
	}
	return CH_ERR_BAD;
}

int
http_chunked_feed(struct http_chunked *c, const char *buf, size_t len, size_t *consumed)
{
	size_t i = 0;
	uint64_t n;
	int st = c->state;

	*consumed = 0;
	if (st == CH_DONE)
		return HTTP_OK;
	while (i < len && st < CH_DONE) {
		if (st == CH_DATA) {
			n = len - i < c->remaining ? len - i : c->remaining;
			i += (size_t)n;
			if ((c->remaining -= n) == 0)
				st = CH_DATA_CR;
			continue;
		}
		if (st <= CH_SIZE_LF && ++c->line_len > HTTP_CHUNK_LINE_MAX)
			st = CH_ERR_TOO_LARGE;
		else if (st >= CH_TRAILER && ++c->trailer_len > HTTP_TRAILERS_MAX)
			st = CH_ERR_TOO_LARGE;
		else
			st = http_chunked_step(c, st, (unsigned char)buf[i]);
		if (st < CH_ERR_BAD)
			i++;
	}
	c->state = st;
	*consumed = i;
	switch (st) {
	case CH_DONE:
		return HTTP_OK;
	case CH_ERR_BAD:
		return HTTP_E_BAD;
	case CH_ERR_TOO_LARGE:
		return HTTP_E_TOO_LARGE;
	}
	return HTTP_AGAIN;
}

size_t
http_chunked_trailer_len(const struct http_chunked *c)
{
	return c->trailer_len;
}

size_t
http_trailers_strip(char *p, size_t len)
{
	struct http_str name;
	const char *colon, *eol;
	size_t in = 0, out = 0, n;
	enum http_field_id id;

	while (in < len && (eol = memchr(p + in, '\n', len - in)) != NULL) {
		n = (size_t)(eol - (p + in)) + 1;
		colon = memchr(p + in, ':', n);
		id = HTTP_H_OTHER;
		if (colon != NULL) {
			name.p = p + in;
			name.len = (size_t)(colon - name.p);
			id = http_field_id(name);
		}
		if (colon == NULL || id == HTTP_H_OTHER || id == HTTP_H_REFERER ||
		    id == HTTP_H_USER_AGENT) {
			memmove(p + out, p + in, n);	/* kept, or the final CRLF */
			out += n;
		}
		in += n;
	}
	return out;
}

int
http_status_code(int err)
{
	switch (err) {
	case HTTP_E_BAD:
		return 400;
	case HTTP_E_TOO_LARGE:
		return 431;
	case HTTP_E_URI_TOO_LONG:
		return 414;
	case HTTP_E_NOT_IMPLEMENTED:
		return 501;
	case HTTP_E_VERSION:
		return 505;
	}
	return 500;
}

const char *
http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 421: return "Misdirected Request";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	}
	return "Unknown";
}

int
http_upgrade_offered(const struct http_msg *m, struct http_str offer)
{
	struct http_str e, o;
	size_t i, j, k;
	int found, n = 0;

	for (i = 0; i < m->nheaders; i++) {
		if (m->headers[i].id != HTTP_H_UPGRADE)
			continue;
		j = 0;
		while (http_list_next(m->headers[i].value, &j, &e)) {
			if (e.len == 0)
				continue;
			for (found = 0, k = 0; !found && http_list_next(offer, &k, &o); )
				found = o.len == e.len && http_mem_caseeq(o.p, e.p, e.len);
			if (!found)
				return 0;
			n++;
		}
	}
	return n > 0;
}

int
http_header_is_hop(const struct http_msg *m, const struct http_header *h)
{
	(void)m;	/* the parser marked the fields m's Connection names */
	return (h->id != HTTP_H_OTHER && h->id <= HTTP_H_HOP_LAST) || h->conn_named;
}
