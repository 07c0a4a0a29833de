/*
 * PROXY protocol headers, versions 1 and 2; see proxyproto.h.
 *
 * Version 1 is read left to right, one byte at a time, and every decision
 * about a byte depends only on the bytes before it: that is what makes the
 * answer on a prefix either PP_AGAIN or the answer on the whole, and lets a
 * bad line be refused at its first bad byte instead of after 107 bytes or a
 * timeout. Version 2 is checked field by field as its bytes arrive.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proxyproto.h"

#define V2_HEAD		16	/* signature, version/command, family, length */
#define V2_LOCAL	0x0
#define V2_PROXY	0x1

static const unsigned char v2_sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* ---- version 1 ---------------------------------------------------------- */

struct v1 {
	const unsigned char *p;
	size_t len;
	size_t i;		/* the next byte to read */
};

/*
 * The byte at s->i in *c. A byte the line may not reach is an error even
 * before it arrives: the CRLF must lie within the first PROXYPROTO_V1_MAX.
 */
static int
v1_byte(const struct v1 *s, int *c)
{
	if (s->i >= PROXYPROTO_V1_MAX)
		return PP_E_V1_TOO_LONG;
	if (s->i >= s->len)
		return PP_AGAIN;
	*c = s->p[s->i];
	return PP_OK;
}

/* What ends a field: the caller then checks that it is the one expected. */
static int
v1_sep(int c)
{
	return c == ' ' || c == '\r' || c == '\n';
}

/* Consumes the byte want, else PP_E_V1_SYNTAX. */
static int
v1_expect(struct v1 *s, int want)
{
	int c, rc;

	if ((rc = v1_byte(s, &c)) != PP_OK)
		return rc;
	if (c != want)
		return PP_E_V1_SYNTAX;
	s->i++;
	return PP_OK;
}

/*
 * The protocol field: TCP4, TCP6 or UNKNOWN, checked as a prefix at every
 * byte so that "UDP4" fails at its 'D'. Stops at the separator, unread.
 */
static int
v1_proto(struct v1 *s, const char **proto)
{
	static const char *const names[] = { "TCP4", "TCP6", "UNKNOWN" };
	size_t start = s->i, n, k;
	int c, rc, prefix;

	for (;;) {
		if ((rc = v1_byte(s, &c)) != PP_OK)
			return rc;
		n = s->i - start;
		if (v1_sep(c)) {
			if (n == 0)
				return PP_E_V1_SYNTAX;
			for (k = 0; k < 3; k++)
				if (strlen(names[k]) == n && memcmp(names[k], s->p + start, n) == 0) {
					*proto = names[k];
					return PP_OK;
				}
			return PP_E_FAMILY;
		}
		for (prefix = 0, k = 0; k < 3 && !prefix; k++)
			prefix = strlen(names[k]) > n && memcmp(names[k], s->p + start, n) == 0 &&
			    names[k][n] == c;
		if (!prefix)
			return PP_E_FAMILY;
		s->i++;
	}
}

/*
 * A dotted quad as the spec writes it: four decimal numbers 0..255, no
 * leading zeros (they would read as octal elsewhere), nothing else. Done by
 * hand because inet_pton's leniency varies between C libraries.
 */
static int
v1_ipv4(struct v1 *s, struct in_addr *a)
{
	unsigned char q[4];
	unsigned parts = 0, val = 0, digits = 0;
	size_t start = s->i;
	int c, rc;

	for (;;) {
		if ((rc = v1_byte(s, &c)) != PP_OK)
			return rc;
		if (c >= '0' && c <= '9') {
			if (digits > 0 && val == 0)
				return PP_E_ADDRESS;
			val = val * 10 + (unsigned)(c - '0');
			if (val > 255)
				return PP_E_ADDRESS;
			digits++;
		} else if (c == '.') {
			if (digits == 0 || parts == 3)
				return PP_E_ADDRESS;
			q[parts++] = (unsigned char)val;
			val = digits = 0;
		} else if (v1_sep(c)) {
			if (s->i == start)
				return PP_E_V1_SYNTAX;
			if (parts != 3 || digits == 0)
				return PP_E_ADDRESS;
			q[3] = (unsigned char)val;
			memcpy(a, q, 4);
			return PP_OK;
		} else {
			return PP_E_ADDRESS;
		}
		s->i++;
	}
}

/*
 * An IPv6 address, as inet_pton reads it. Its bytes are limited to the
 * ones an address may hold, so that a line of garbage fails early; the
 * dotted tail ("::ffff:10.0.0.1") is allowed as senders print it with
 * inet_ntop.
 */
static int
v1_ipv6(struct v1 *s, struct in6_addr *a)
{
	char text[INET6_ADDRSTRLEN];
	size_t start = s->i, n;
	int c, rc;

	for (;;) {
		if ((rc = v1_byte(s, &c)) != PP_OK)
			return rc;
		n = s->i - start;
		if (v1_sep(c)) {
			if (n == 0)
				return PP_E_V1_SYNTAX;
			memcpy(text, s->p + start, n);
			text[n] = '\0';
			return inet_pton(AF_INET6, text, a) == 1 ? PP_OK : PP_E_ADDRESS;
		}
		if (n == sizeof(text) - 1 || !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F') || c == ':' || c == '.'))
			return PP_E_ADDRESS;
		s->i++;
	}
}

/* A port: 0..65535 in decimal, no leading zeros. */
static int
v1_port(struct v1 *s, uint16_t *port)
{
	unsigned val = 0, digits = 0;
	int c, rc;

	for (;;) {
		if ((rc = v1_byte(s, &c)) != PP_OK)
			return rc;
		if (v1_sep(c)) {
			if (digits == 0)
				return PP_E_V1_SYNTAX;
			*port = (uint16_t)val;
			return PP_OK;
		}
		if (c < '0' || c > '9' || (digits > 0 && val == 0))
			return PP_E_PORT;
		val = val * 10 + (unsigned)(c - '0');
		if (val > 65535)
			return PP_E_PORT;
		digits++;
		s->i++;
	}
}

/* The rest of an UNKNOWN line, ignored as the spec asks, but still printable ASCII. */
static int
v1_skip_line(struct v1 *s)
{
	int c, rc;

	for (;;) {
		if ((rc = v1_byte(s, &c)) != PP_OK)
			return rc;
		if (c == '\r')
			return PP_OK;
		if (c < 0x20 || c > 0x7e)
			return PP_E_V1_SYNTAX;
		s->i++;
	}
}

static void
v1_fill(struct proxyproto_hdr *out, int six, const void *src, const void *dst,
    uint16_t sport, uint16_t dport)
{
	if (six) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&out->src;
		struct sockaddr_in6 *d6 = (struct sockaddr_in6 *)&out->dst;

		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, src, 16);
		memcpy(&d6->sin6_addr, dst, 16);
		s6->sin6_port = htons(sport);
		d6->sin6_port = htons(dport);
		out->srclen = out->dstlen = sizeof(struct sockaddr_in6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&out->src;
		struct sockaddr_in *d4 = (struct sockaddr_in *)&out->dst;

		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, src, 4);
		memcpy(&d4->sin_addr, dst, 4);
		s4->sin_port = htons(sport);
		d4->sin_port = htons(dport);
		out->srclen = out->dstlen = sizeof(struct sockaddr_in);
	}
}

/* "PROXY" proto SP src SP dst SP sport SP dport CRLF, or "PROXY UNKNOWN" [SP ...] CRLF. */
static int
v1_parse(const unsigned char *p, size_t len, struct proxyproto_hdr *out)
{
	struct v1 s = { p, len, 5 };	/* "PROXY" matched by the caller */
	struct in6_addr src, dst;	/* big enough for either family */
	const char *proto;
	uint16_t sport, dport;
	int rc, six;

	if ((rc = v1_expect(&s, ' ')) != PP_OK || (rc = v1_proto(&s, &proto)) != PP_OK)
		return rc;
	if (strcmp(proto, "UNKNOWN") == 0) {
		if (s.p[s.i] == ' ') {	/* v1_proto stopped there: the byte is in */
			s.i++;
			if ((rc = v1_skip_line(&s)) != PP_OK)
				return rc;
		}
	} else {
		six = proto[3] == '6';
		if ((rc = v1_expect(&s, ' ')) != PP_OK)
			return rc;
		if ((rc = six ? v1_ipv6(&s, &src) : v1_ipv4(&s, (struct in_addr *)&src)) != PP_OK ||
		    (rc = v1_expect(&s, ' ')) != PP_OK)
			return rc;
		if ((rc = six ? v1_ipv6(&s, &dst) : v1_ipv4(&s, (struct in_addr *)&dst)) != PP_OK ||
		    (rc = v1_expect(&s, ' ')) != PP_OK)
			return rc;
		if ((rc = v1_port(&s, &sport)) != PP_OK || (rc = v1_expect(&s, ' ')) != PP_OK ||
		    (rc = v1_port(&s, &dport)) != PP_OK)
			return rc;
		v1_fill(out, six, &src, &dst, sport, dport);
	}
	if ((rc = v1_expect(&s, '\r')) != PP_OK || (rc = v1_expect(&s, '\n')) != PP_OK)
		return rc;
	out->version = 1;
	out->local = strcmp(proto, "UNKNOWN") == 0;
	out->len = s.i;
	return PP_OK;
}

/* ---- version 2 ---------------------------------------------------------- */

/*
 * Bytes of addresses a family/transport byte announces, or -1 for a byte the
 * spec does not list (which receivers must reject). UNSPEC (0x00) has none
 * that can be located, so its block, like a LOCAL one, is skipped whole.
 */
static int
v2_addr_len(unsigned fam)
{
	switch (fam) {
	case 0x00:
		return 0;
	case 0x11: case 0x12:		/* TCP, UDP over IPv4 */
		return 12;
	case 0x21: case 0x22:		/* TCP, UDP over IPv6 */
		return 36;
	case 0x31: case 0x32:		/* UNIX stream, datagram */
		return 216;
	default:
		return -1;
	}
}

static int
v2_parse(const unsigned char *p, size_t len, struct proxyproto_hdr *out)
{
	size_t total, avail, q, vlen;
	unsigned cmd, fam;
	int alen, walk;

	if (len < 13)
		return PP_AGAIN;
	if (p[12] >> 4 != 2)
		return PP_E_VERSION;
	cmd = p[12] & 0x0f;
	if (cmd != V2_LOCAL && cmd != V2_PROXY)
		return PP_E_COMMAND;
	if (len < 14)
		return PP_AGAIN;
	fam = p[13];
	if ((alen = v2_addr_len(fam)) < 0)
		return PP_E_FAMILY;
	if (len < V2_HEAD)
		return PP_AGAIN;
	/* Decided on the fixed part, so that a huge length is refused before any of it is read. */
	total = V2_HEAD + ((size_t)p[14] << 8 | p[15]);
	if (total > PROXYPROTO_V2_MAX)
		return PP_E_V2_TOO_LONG;
	walk = cmd == V2_PROXY && fam != 0x00;
	if (walk && total - V2_HEAD < (size_t)alen)
		return PP_E_V2_SHORT;

	/*
	 * TLVs after the addresses: each one's length is checked against the
	 * header's end as soon as its 3 first bytes are in. Their contents are
	 * not needed (not even CRC32C, which the spec leaves optional).
	 */
	avail = len < total ? len : total;
	q = V2_HEAD + (size_t)alen;
	if (walk)
		for (; q + 3 <= avail; q += 3 + vlen) {
			vlen = (size_t)p[q + 1] << 8 | p[q + 2];
			if (vlen > total - q - 3)
				return PP_E_TLV;
		}
	if (len < total)
		return PP_AGAIN;
	if (walk && q != total)
		return PP_E_TLV;	/* 1 or 2 bytes left: too few for a TLV */

	out->version = 2;
	out->len = total;
	/* DGRAM and UNIX are valid but not TCP: the spec's fallback is UNSPEC. */
	out->local = !(cmd == V2_PROXY && (fam == 0x11 || fam == 0x21));
	if (!out->local) {
		const unsigned char *a = p + V2_HEAD;
		size_t n = fam == 0x11 ? 4 : 16;

		v1_fill(out, fam == 0x21, a, a + n, (uint16_t)(a[2 * n] << 8 | a[2 * n + 1]),
		    (uint16_t)(a[2 * n + 2] << 8 | a[2 * n + 3]));
	}
	return PP_OK;
}

/* ---- both --------------------------------------------------------------- */

int
proxyproto_parse(const char *buf, size_t len, struct proxyproto_hdr *out)
{
	const unsigned char *p = (const unsigned char *)buf;

	memset(out, 0, sizeof(*out));
	/* Both signatures are matched as prefixes: a byte that differs decides at once. */
	if (len == 0)
		return PP_AGAIN;
	if (p[0] == 'P') {
		if (memcmp(p, "PROXY", len < 5 ? len : 5) != 0)
			return PP_E_NOT_PROXY;
		return len < 5 ? PP_AGAIN : v1_parse(p, len, out);
	}
	if (memcmp(p, v2_sig, len < sizeof(v2_sig) ? len : sizeof(v2_sig)) != 0)
		return PP_E_NOT_PROXY;
	return len < sizeof(v2_sig) ? PP_AGAIN : v2_parse(p, len, out);
}

const char *
proxyproto_strerror(int rc)
{
	switch (rc) {
	case PP_OK:		return "ok";
	case PP_AGAIN:		return "incomplete header";
	case PP_E_NOT_PROXY:	return "not a PROXY protocol header";
	case PP_E_V1_SYNTAX:	return "bad v1 header syntax";
	case PP_E_V1_TOO_LONG:	return "v1 header line too long";
	case PP_E_ADDRESS:	return "bad address";
	case PP_E_PORT:		return "bad v1 port";
	case PP_E_VERSION:	return "unsupported v2 version";
	case PP_E_COMMAND:	return "unsupported v2 command";
	case PP_E_FAMILY:	return "unsupported protocol or address family";
	case PP_E_V2_TOO_LONG:	return "v2 header too long";
	case PP_E_V2_SHORT:	return "v2 header shorter than its addresses";
	case PP_E_TLV:		return "v2 TLV past the end of the header";
	default:		return "unknown PROXY protocol error";
	}
}

/* ---- writers ------------------------------------------------------------ */

struct pp_addr {
	unsigned char a[16];	/* IPv6, IPv4 as ::ffff:a.b.c.d */
	uint16_t port;		/* host order */
	int v4;			/* IPv4 or IPv4-mapped */
};

static int
pp_addr_get(const struct sockaddr *sa, struct pp_addr *out)
{
	if (sa == NULL)
		return -1;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;

		memset(out->a, 0, 10);
		out->a[10] = out->a[11] = 0xff;
		memcpy(out->a + 12, &s4->sin_addr, 4);
		out->port = ntohs(s4->sin_port);
		out->v4 = 1;
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

		memcpy(out->a, &s6->sin6_addr, 16);
		out->port = ntohs(s6->sin6_port);
		out->v4 = IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr);
		return 0;
	}
	return -1;
}

static int
pp_copy(char *buf, size_t cap, const void *src, size_t n)
{
	if (n > cap)
		return -1;
	memcpy(buf, src, n);
	return (int)n;
}

int
proxyproto_write_v1(char *buf, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	char line[PROXYPROTO_WRITE_MAX + 1], s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
	struct pp_addr a, b;
	int four, n;

	if (pp_addr_get(src, &a) == -1 || pp_addr_get(dst, &b) == -1)
		return -1;
	four = a.v4 && b.v4;
	if (four) {
		inet_ntop(AF_INET, a.a + 12, s, sizeof(s));
		inet_ntop(AF_INET, b.a + 12, d, sizeof(d));
	} else {
		inet_ntop(AF_INET6, a.a, s, sizeof(s));
		inet_ntop(AF_INET6, b.a, d, sizeof(d));
	}
	n = snprintf(line, sizeof(line), "PROXY TCP%c %s %s %u %u\r\n", four ? '4' : '6', s, d,
	    (unsigned)a.port, (unsigned)b.port);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return pp_copy(buf, cap, line, (size_t)n);
}

int
proxyproto_write_v2(char *buf, size_t cap, const struct sockaddr *src,
    const struct sockaddr *dst)
{
	unsigned char h[V2_HEAD + 36], *a = h + V2_HEAD;
	struct pp_addr s, d;
	size_t n;

	if (pp_addr_get(src, &s) == -1 || pp_addr_get(dst, &d) == -1)
		return -1;
	n = s.v4 && d.v4 ? 4 : 16;
	memcpy(h, v2_sig, sizeof(v2_sig));
	h[12] = 0x20 | V2_PROXY;
	h[13] = n == 4 ? 0x11 : 0x21;
	h[14] = 0;
	h[15] = (unsigned char)(2 * n + 4);
	memcpy(a, s.a + 16 - n, n);
	memcpy(a + n, d.a + 16 - n, n);
	a[2 * n] = (unsigned char)(s.port >> 8);
	a[2 * n + 1] = (unsigned char)s.port;
	a[2 * n + 2] = (unsigned char)(d.port >> 8);
	a[2 * n + 3] = (unsigned char)d.port;
	return pp_copy(buf, cap, h, V2_HEAD + 2 * n + 4);
}

int
proxyproto_write_v1_unknown(char *buf, size_t cap)
{
	return pp_copy(buf, cap, "PROXY UNKNOWN\r\n", 15);
}

int
proxyproto_write_v2_local(char *buf, size_t cap)
{
	unsigned char h[V2_HEAD];

	memcpy(h, v2_sig, sizeof(v2_sig));
	h[12] = 0x20 | V2_LOCAL;
	h[13] = 0x00;		/* UNSPEC: a LOCAL header carries no address */
	h[14] = h[15] = 0;
	return pp_copy(buf, cap, h, sizeof(h));
}
