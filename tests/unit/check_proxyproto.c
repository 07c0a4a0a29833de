/*
 * Unit tests of the PROXY protocol parser and writers (src/proxyproto.c).
 *
 * The parser keeps no state, so a header split at byte k is its prefix of
 * length k followed by the whole: every prefix of a valid header must be
 * PP_AGAIN, every prefix of an invalid one PP_AGAIN or the whole's error.
 * Prefixes are copied to buffers of exactly their size so that
 * AddressSanitizer catches a read past the end.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ppin.h"
#include "proxyproto.h"

#define LIT(s)		s, sizeof(s) - 1	/* a literal and its length, NULs included */
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))
#define SIG		"\r\n\r\n\0\r\nQUIT\n"	/* the v2 signature */
#define REQ		"GET / HTTP/1.1\r\nHost: a\r\n\r\n"

/* proxyproto_parse on a copy of buf[0..len) in a block of exactly len bytes. */
static int
parse_copy(const char *buf, size_t len, struct proxyproto_hdr *h)
{
	char *p = malloc(len > 0 ? len : 1);
	int rc;

	ck_assert_ptr_nonnull(p);
	memcpy(p, buf, len);
	rc = proxyproto_parse(p, len, h);
	free(p);
	return rc;
}

/* "addr port" of a parsed address, for comparisons. */
static const char *
addr_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(out, outlen, "%s %u", host, ntohs(s4->sin_port));
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, outlen, "[%s] %u", host, ntohs(s6->sin6_port));
	} else {
		snprintf(out, outlen, "family %d", ss->ss_family);
	}
	return out;
}

/* ---- valid headers ------------------------------------------------------ */

struct ok {
	const char *raw;
	size_t len;
	size_t hlen;		/* header bytes; the rest is the request */
	int version;
	int local;
	const char *src;	/* addr_text of src and dst, when !local */
	const char *dst;
};

static const struct ok ok[] = {
	/* version 1 */
	{ LIT("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n" REQ), 47, 1, 0,
	    "192.168.0.1 56324", "192.168.0.11 443" },
	{ LIT("PROXY TCP4 0.0.0.0 255.255.255.255 0 65535\r\n"), 44, 1, 0,
	    "0.0.0.0 0", "255.255.255.255 65535" },
	{ LIT("PROXY TCP4 10.20.0.100 10.0.0.1 1 80\r\n"), 38, 1, 0, "10.20.0.100 1", "10.0.0.1 80" },
	{ LIT("PROXY TCP6 2001:db8::1 ::1 40000 8080\r\n" REQ), 39, 1, 0,
	    "[2001:db8::1] 40000", "[::1] 8080" },
	{ LIT("PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF 65535 65535\r\n"), 104, 1, 0,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff] 65535",
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff] 65535" },
	{ LIT("PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1234 80\r\n"), 52, 1, 0,
	    "[::ffff:10.0.0.1] 1234", "[::ffff:10.0.0.2] 80" },
	{ LIT("PROXY UNKNOWN\r\n" REQ), 15, 1, 1, NULL, NULL },
	{ LIT("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n"), 107, 1, 1, NULL, NULL },
	{ LIT("PROXY UNKNOWN whatever ~!@ 1.2.3.4\r\n"), 36, 1, 1, NULL, NULL },
	/* version 2 */
	{ LIT(SIG "\x21\x11\x00\x0c" "\xc0\xa8\x00\x01" "\x0a\x00\x00\x01" "\xdc\x04" "\x01\xbb" REQ),
	    28, 2, 0, "192.168.0.1 56324", "10.0.0.1 443" },
	{ LIT(SIG "\x21\x21\x00\x24"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01" "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\x9c\x40" "\x1f\x90"), 52, 2, 0, "[2001:db8::1] 40000", "[::1] 8080" },
	/* TLVs: an ALPN and an empty NOOP after the addresses, filling the length exactly */
	{ LIT(SIG "\x21\x11\x00\x16" "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x50" "\x00\x51"
	    "\x01\x00\x04" "http" "\x04\x00\x00" REQ),
	    38, 2, 0, "1.2.3.4 80", "5.6.7.8 81" },
	/* LOCAL: the block is skipped unread, whatever its family claims */
	{ LIT(SIG "\x20\x00\x00\x00" REQ), 16, 2, 1, NULL, NULL },
	{ LIT(SIG "\x20\x11\x00\x05" "\xff\xff\xff\xff\xff"), 21, 2, 1, NULL, NULL },
	/* PROXY with UNSPEC, UNIX or DGRAM: valid, but no TCP address to use */
	{ LIT(SIG "\x21\x00\x00\x03" "abc"), 19, 2, 1, NULL, NULL },
	{ LIT(SIG "\x21\x12\x00\x0c" "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x50" "\x00\x51"),
	    28, 2, 1, NULL, NULL },
};

static void
check_ok(const struct ok *t, const char *buf, size_t len)
{
	struct proxyproto_hdr h;
	char text[128];
	int rc = parse_copy(buf, len, &h);

	ck_assert_msg(rc == PP_OK, "entry %.20s...: %s", t->raw, proxyproto_strerror(rc));
	ck_assert_uint_eq(h.len, t->hlen);
	ck_assert_int_eq(h.version, t->version);
	ck_assert_int_eq(h.local, t->local);
	if (t->local) {
		ck_assert_int_eq(h.srclen, 0);
		ck_assert_int_eq(h.dstlen, 0);
		return;
	}
	ck_assert_str_eq(addr_text(&h.src, text, sizeof(text)), t->src);
	ck_assert_str_eq(addr_text(&h.dst, text, sizeof(text)), t->dst);
	ck_assert_int_eq(h.srclen, h.src.ss_family == AF_INET ? sizeof(struct sockaddr_in) :
	    sizeof(struct sockaddr_in6));
	ck_assert_int_eq(h.dstlen, h.srclen);
}

START_TEST(test_ok_whole_and_split)
{
	const struct ok *t = &ok[_i];
	struct proxyproto_hdr h;
	size_t k;

	check_ok(t, t->raw, t->len);
	check_ok(t, t->raw, t->hlen);	/* nothing after it */
	for (k = 0; k < t->hlen; k++)
		ck_assert_msg(parse_copy(t->raw, k, &h) == PP_AGAIN, "entry %d, prefix %zu", _i, k);
}
END_TEST

/* ---- invalid headers ---------------------------------------------------- */

struct bad {
	const char *raw;
	size_t len;
	int rc;
};

static const struct bad bad[] = {
	/* not a PROXY header at all */
	{ LIT(REQ), PP_E_NOT_PROXY },
	{ LIT("proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_NOT_PROXY },
	{ LIT("PROXx"), PP_E_NOT_PROXY },
	{ LIT("\r\n\r\n\0\r\nQUIX"), PP_E_NOT_PROXY },
	{ LIT("\r\nGET / HTTP/1.1\r\n"), PP_E_NOT_PROXY },
	/* v1 syntax */
	{ LIT("PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1  2\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX"), PP_E_V1_SYNTAX },
	{ LIT("PROXY TCP4 1.2.3.4\t5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY UNKNOWN\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY UNKNOWN 1.2.3.4\n5.6.7.8\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY UNKNOWN \x01\r\n"), PP_E_V1_SYNTAX },
	{ LIT("PROXY UNKNOWN \xc3\xa9\r\n"), PP_E_V1_SYNTAX },
	/* v1 length: the CRLF must be within 107 bytes */
	{ LIT("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 655355\r\n"), PP_E_V1_TOO_LONG },
	{ LIT("PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535xxx"), PP_E_V1_TOO_LONG },
	/* v1 protocol */
	{ LIT("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_FAMILY },
	{ LIT("PROXY TCP 1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_FAMILY },
	{ LIT("PROXY TCP44 1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_FAMILY },
	{ LIT("PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n"), PP_E_FAMILY },
	{ LIT("PROXY UNKNOWNS\r\n"), PP_E_FAMILY },
	/* v1 addresses */
	{ LIT("PROXY TCP4 01.2.3.4 5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1.2.3.4.5 5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1..3.4 5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1.2.3. 5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.0x8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1.2.3.4 ::1 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP4 1.2.3.1234 5.6.7.8 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP6 1.2.3.4 ::1 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP6 ::1 1:2:3:4:5:6:7:8:9 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP6 ::1 1::2::3 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP6 ::1 fe80::1%eth0 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP6 ::1 12345::1 1 2\r\n"), PP_E_ADDRESS },
	{ LIT("PROXY TCP6 ::1 0000000000000000000000000000000000000000000000::1 1 2\r\n"),
	    PP_E_ADDRESS },
	/* v1 ports */
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"), PP_E_PORT },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 00\r\n"), PP_E_PORT },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n"), PP_E_PORT },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 999999\r\n"), PP_E_PORT },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n"), PP_E_PORT },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 +1 2\r\n"), PP_E_PORT },
	{ LIT("PROXY TCP4 1.2.3.4 5.6.7.8 1 2x\r\n"), PP_E_PORT },
	/* v2 fixed part */
	{ LIT(SIG "\x11\x11\x00\x0c"), PP_E_VERSION },
	{ LIT(SIG "\x31\x11\x00\x0c"), PP_E_VERSION },
	{ LIT(SIG "\x22\x11\x00\x0c"), PP_E_COMMAND },
	{ LIT(SIG "\x2f\x11\x00\x0c"), PP_E_COMMAND },
	{ LIT(SIG "\x21\x41\x00\x0c"), PP_E_FAMILY },
	{ LIT(SIG "\x21\x13\x00\x0c"), PP_E_FAMILY },
	{ LIT(SIG "\x21\x10\x00\x0c"), PP_E_FAMILY },
	{ LIT(SIG "\x21\x01\x00\x0c"), PP_E_FAMILY },
	{ LIT(SIG "\x20\x44\x00\x00"), PP_E_FAMILY },
	/* v2 lengths, decided on the 16 fixed bytes alone */
	{ LIT(SIG "\x21\x11\x03\xf1"), PP_E_V2_TOO_LONG },
	{ LIT(SIG "\x20\x00\xff\xff"), PP_E_V2_TOO_LONG },
	{ LIT(SIG "\x21\x11\x00\x0b"), PP_E_V2_SHORT },
	{ LIT(SIG "\x21\x21\x00\x0c"), PP_E_V2_SHORT },
	{ LIT(SIG "\x21\x31\x00\x24"), PP_E_V2_SHORT },
	/* v2 TLVs: one past the end, one byte or two left over */
	{ LIT(SIG "\x21\x11\x00\x10" "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x50" "\x00\x51"
	    "\x04\x00\x02" "x"), PP_E_TLV },
	{ LIT(SIG "\x21\x11\x00\x10" "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x50" "\x00\x51"
	    "\x04\xff\xff"), PP_E_TLV },
	{ LIT(SIG "\x21\x11\x00\x0d" "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x50" "\x00\x51"
	    "\x04"), PP_E_TLV },
	{ LIT(SIG "\x21\x11\x00\x11" "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x50" "\x00\x51"
	    "\x04\x00\x00" "\x04\x00"), PP_E_TLV },
	{ LIT(SIG "\x21\x21\x00\x27"
	    "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01" "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01"
	    "\x9c\x40" "\x1f\x90" "\x05\x00\x01"), PP_E_TLV },
};

START_TEST(test_bad_whole_and_split)
{
	const struct bad *t = &bad[_i];
	struct proxyproto_hdr h;
	size_t k;
	int rc;

	rc = parse_copy(t->raw, t->len, &h);
	ck_assert_msg(rc == t->rc, "entry %d: %d (%s), not %d (%s)", _i, rc,
	    proxyproto_strerror(rc), t->rc, proxyproto_strerror(t->rc));
	for (k = 0; k < t->len; k++) {
		rc = parse_copy(t->raw, k, &h);
		ck_assert_msg(rc == PP_AGAIN || rc == t->rc, "entry %d, prefix %zu: %d", _i, k, rc);
	}
}
END_TEST

/* A bad line is refused at its first bad byte, not once 107 bytes or a CRLF came. */
START_TEST(test_early_refusal)
{
	struct proxyproto_hdr h;

	ck_assert_int_eq(parse_copy(LIT("G"), &h), PP_E_NOT_PROXY);
	ck_assert_int_eq(parse_copy(LIT("PROXY U"), &h), PP_AGAIN);
	ck_assert_int_eq(parse_copy(LIT("PROXY UD"), &h), PP_E_FAMILY);
	ck_assert_int_eq(parse_copy(LIT("PROXY TCP4 1.2.3.04"), &h), PP_E_ADDRESS);
	ck_assert_int_eq(parse_copy(LIT("PROXY TCP4 1.2.3.4 5.6.7.8 70000"), &h), PP_E_PORT);
	ck_assert_int_eq(parse_copy(LIT(SIG "\x21\x11\x04"), &h), PP_AGAIN);
	ck_assert_int_eq(parse_copy(LIT(SIG "\x21\x11\x04\x00"), &h), PP_E_V2_TOO_LONG);
	/* a TLV running past the end is seen before the rest of the header arrives */
	ck_assert_int_eq(parse_copy(LIT(SIG "\x21\x11\x00\x20" "\x01\x02\x03\x04" "\x05\x06\x07\x08"
	    "\x00\x50" "\x00\x51" "\x04\x00\x12"), &h), PP_E_TLV);
	ck_assert_int_eq(parse_copy(LIT(SIG "\x21\x11\x00\x20" "\x01\x02\x03\x04" "\x05\x06\x07\x08"
	    "\x00\x50" "\x00\x51" "\x04\x00\x11"), &h), PP_AGAIN);
}
END_TEST

/* The longest v2 header taken is PROXYPROTO_V2_MAX bytes, TLVs and all. */
START_TEST(test_v2_max)
{
	char buf[PROXYPROTO_V2_MAX + 1];
	struct proxyproto_hdr h;
	size_t tlv = PROXYPROTO_V2_MAX - 16 - 12 - 3;

	memcpy(buf, SIG "\x21\x11", 14);
	buf[14] = (char)((PROXYPROTO_V2_MAX - 16) >> 8);
	buf[15] = (char)((PROXYPROTO_V2_MAX - 16) & 0xff);
	memcpy(buf + 16, "\x01\x02\x03\x04" "\x05\x06\x07\x08" "\x00\x50" "\x00\x51", 12);
	buf[28] = 0x04;		/* one big NOOP */
	buf[29] = (char)(tlv >> 8);
	buf[30] = (char)(tlv & 0xff);
	memset(buf + 31, 'n', tlv);
	ck_assert_int_eq(parse_copy(buf, PROXYPROTO_V2_MAX, &h), PP_OK);
	ck_assert_uint_eq(h.len, PROXYPROTO_V2_MAX);
	ck_assert_int_eq(parse_copy(buf, PROXYPROTO_V2_MAX - 1, &h), PP_AGAIN);

	buf[15]++;		/* one byte more, and the NOOP grows with it */
	buf[30]++;
	buf[PROXYPROTO_V2_MAX] = 'n';
	ck_assert_int_eq(parse_copy(buf, PROXYPROTO_V2_MAX + 1, &h), PP_E_V2_TOO_LONG);
	ck_assert_int_eq(parse_copy(buf, 16, &h), PP_E_V2_TOO_LONG);
}
END_TEST

/* A UNIX header is long (216 bytes of addresses), valid, and carries no TCP address. */
START_TEST(test_v2_unix)
{
	char buf[16 + 216 + 4];
	struct proxyproto_hdr h;

	memcpy(buf, SIG "\x21\x31\x00\xd8", 16);
	memset(buf + 16, 0, 216);
	ck_assert_int_eq(parse_copy(buf, 16 + 216, &h), PP_OK);
	ck_assert_int_eq(h.local, 1);
	ck_assert_uint_eq(h.len, 16 + 216);
	buf[15] = (char)0xdb;	/* with a 3-byte TLV after the addresses */
	memcpy(buf + 16 + 216, "\x04\x00\x00", 3);
	ck_assert_int_eq(parse_copy(buf, 16 + 219, &h), PP_OK);
	buf[15] = (char)0xdc;	/* one byte more: left over after the TLV */
	buf[16 + 219] = 0;
	ck_assert_int_eq(parse_copy(buf, 16 + 220, &h), PP_E_TLV);
}
END_TEST

START_TEST(test_strerror)
{
	int rc, other;

	for (rc = PP_E_TLV; rc <= PP_AGAIN; rc++) {
		ck_assert_ptr_nonnull(proxyproto_strerror(rc));
		for (other = PP_E_TLV; other < rc; other++)
			ck_assert_str_ne(proxyproto_strerror(rc), proxyproto_strerror(other));
	}
	ck_assert_str_eq(proxyproto_strerror(PP_E_PORT), "bad v1 port");
	ck_assert_str_eq(proxyproto_strerror(-100), "unknown PROXY protocol error");
}
END_TEST

/* ---- writers ------------------------------------------------------------ */

static struct sockaddr_storage
sa(const char *host, unsigned port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, host, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
	}
	return ss;
}

struct trip {
	const char *src, *dst;
	unsigned sport, dport;
	const char *v1;		/* the line written */
	const char *psrc, *pdst;	/* addr_text of what is read back */
};

static const struct trip trips[] = {
	{ "192.168.0.1", "10.0.0.1", 56324, 443, "PROXY TCP4 192.168.0.1 10.0.0.1 56324 443\r\n",
	    "192.168.0.1 56324", "10.0.0.1 443" },
	{ "2001:db8::1", "::1", 0, 65535, "PROXY TCP6 2001:db8::1 ::1 0 65535\r\n",
	    "[2001:db8::1] 0", "[::1] 65535" },
	/* what a dual-stack listener sees for an IPv4 client goes out as IPv4 */
	{ "::ffff:203.0.113.9", "::ffff:10.0.0.1", 1000, 80,
	    "PROXY TCP4 203.0.113.9 10.0.0.1 1000 80\r\n", "203.0.113.9 1000", "10.0.0.1 80" },
	{ "203.0.113.9", "::ffff:10.0.0.1", 1000, 80,
	    "PROXY TCP4 203.0.113.9 10.0.0.1 1000 80\r\n", "203.0.113.9 1000", "10.0.0.1 80" },
	/* one of each: IPv6, the IPv4 one mapped */
	{ "203.0.113.9", "2001:db8::2", 1, 2, "PROXY TCP6 ::ffff:203.0.113.9 2001:db8::2 1 2\r\n",
	    "[::ffff:203.0.113.9] 1", "[2001:db8::2] 2" },
	{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe",
	    65535, 65535, "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe 65535 65535\r\n",
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff] 65535",
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe] 65535" },
};

static void
read_back(const struct trip *t, const char *buf, int n, int version)
{
	struct proxyproto_hdr h;
	char both[PROXYPROTO_WRITE_MAX + sizeof(REQ)], text[128];

	ck_assert_int_gt(n, 0);
	memcpy(both, buf, (size_t)n);
	memcpy(both + n, REQ, sizeof(REQ) - 1);
	ck_assert_int_eq(parse_copy(both, (size_t)n + sizeof(REQ) - 1, &h), PP_OK);
	ck_assert_int_eq(h.len, n);
	ck_assert_int_eq(h.version, version);
	ck_assert_int_eq(h.local, 0);
	ck_assert_str_eq(addr_text(&h.src, text, sizeof(text)), t->psrc);
	ck_assert_str_eq(addr_text(&h.dst, text, sizeof(text)), t->pdst);
}

START_TEST(test_write_round_trip)
{
	const struct trip *t = &trips[_i];
	struct sockaddr_storage s = sa(t->src, t->sport), d = sa(t->dst, t->dport);
	char buf[PROXYPROTO_WRITE_MAX];
	int n;

	n = proxyproto_write_v1(buf, sizeof(buf), (struct sockaddr *)&s, (struct sockaddr *)&d);
	ck_assert_int_eq(n, (int)strlen(t->v1));
	ck_assert(memcmp(buf, t->v1, (size_t)n) == 0);
	read_back(t, buf, n, 1);
	ck_assert_int_eq(proxyproto_write_v1(buf, (size_t)n - 1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d), -1);

	n = proxyproto_write_v2(buf, sizeof(buf), (struct sockaddr *)&s, (struct sockaddr *)&d);
	ck_assert_int_eq(n, strncmp(t->v1, "PROXY TCP4", 10) == 0 ? 28 : 52);
	read_back(t, buf, n, 2);
	ck_assert_int_eq(proxyproto_write_v2(buf, (size_t)n - 1, (struct sockaddr *)&s,
	    (struct sockaddr *)&d), -1);
}
END_TEST

START_TEST(test_write_local_forms)
{
	struct sockaddr_storage s = sa("127.0.0.1", 1);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct proxyproto_hdr h;
	char buf[PROXYPROTO_WRITE_MAX];
	int n;

	n = proxyproto_write_v1_unknown(buf, sizeof(buf));
	ck_assert_int_eq(n, 15);
	ck_assert(memcmp(buf, "PROXY UNKNOWN\r\n", 15) == 0);
	ck_assert_int_eq(parse_copy(buf, (size_t)n, &h), PP_OK);
	ck_assert_int_eq(h.local, 1);
	ck_assert_int_eq(h.version, 1);
	ck_assert_int_eq(proxyproto_write_v1_unknown(buf, 14), -1);

	n = proxyproto_write_v2_local(buf, sizeof(buf));
	ck_assert_int_eq(n, 16);
	ck_assert_int_eq(parse_copy(buf, (size_t)n, &h), PP_OK);
	ck_assert_int_eq(h.local, 1);
	ck_assert_int_eq(h.version, 2);
	ck_assert_int_eq(proxyproto_write_v2_local(buf, 15), -1);

	/* no header for a family that has no place in one */
	ck_assert_int_eq(proxyproto_write_v1(buf, sizeof(buf), (struct sockaddr *)&un,
	    (struct sockaddr *)&s), -1);
	ck_assert_int_eq(proxyproto_write_v2(buf, sizeof(buf), (struct sockaddr *)&s,
	    (struct sockaddr *)&un), -1);
}
END_TEST

/* ppin_read takes the header off a socket and not one byte more, in pieces too. */
START_TEST(test_ppin_read)
{
	static const char hdr[] = "PROXY TCP4 192.0.2.1 192.0.2.2 1000 80\r\n";
	struct proxyproto_hdr h;
	char buf[PROXYPROTO_V2_MAX], rest[16];
	size_t have = 0;
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	/* a piece: taken, nothing left behind for a level-triggered watcher */
	ck_assert_int_eq(write(sv[1], hdr, 14), 14);
	ck_assert_int_eq(ppin_read(sv[0], buf, sizeof(buf), &have, &h), PP_AGAIN);
	ck_assert_uint_eq(have, 14);
	ck_assert_int_eq(recv(sv[0], rest, sizeof(rest), MSG_PEEK | MSG_DONTWAIT), -1);
	ck_assert_int_eq(errno, EAGAIN);
	ck_assert_int_eq(ppin_read(sv[0], buf, sizeof(buf), &have, &h), PP_AGAIN);
	/* the rest, with the first bytes of what follows (a TLS hello, say) */
	ck_assert_int_eq(write(sv[1], hdr + 14, sizeof(hdr) - 1 - 14), (ssize_t)(sizeof(hdr) - 1 - 14));
	ck_assert_int_eq(write(sv[1], "\x16\x03\x01", 3), 3);
	ck_assert_int_eq(ppin_read(sv[0], buf, sizeof(buf), &have, &h), PP_OK);
	ck_assert_uint_eq(have, sizeof(hdr) - 1);
	ck_assert_uint_eq(h.len, sizeof(hdr) - 1);
	ck_assert_int_eq(recv(sv[0], rest, sizeof(rest), MSG_DONTWAIT), 3);
	ck_assert_int_eq(memcmp(rest, "\x16\x03\x01", 3), 0);
	/* not a header; then the peer closing */
	have = 0;
	ck_assert_int_eq(write(sv[1], "GET / HTTP/1.1\r\n", 16), 16);
	ck_assert_int_eq(ppin_read(sv[0], buf, sizeof(buf), &have, &h), PP_E_NOT_PROXY);
	ck_assert_int_eq(recv(sv[0], rest, sizeof(rest), MSG_DONTWAIT), 16);
	close(sv[1]);
	have = 0;
	ck_assert_int_eq(ppin_read(sv[0], buf, sizeof(buf), &have, &h), PPIN_E_CLOSED);
	ck_assert_str_eq(ppin_strerror(PPIN_E_CLOSED), "connection closed before the PROXY header");
	close(sv[0]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("proxyproto");
	TCase *tc = tcase_create("parse");
	TCase *tw = tcase_create("write");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_ok_whole_and_split, 0, NELEM(ok));
	tcase_add_loop_test(tc, test_bad_whole_and_split, 0, NELEM(bad));
	tcase_add_test(tc, test_early_refusal);
	tcase_add_test(tc, test_v2_max);
	tcase_add_test(tc, test_v2_unix);
	tcase_add_test(tc, test_strerror);
	tcase_add_test(tc, test_ppin_read);
	suite_add_tcase(s, tc);
	tcase_set_timeout(tw, 10);
	tcase_add_loop_test(tw, test_write_round_trip, 0, NELEM(trips));
	tcase_add_test(tw, test_write_local_forms);
	suite_add_tcase(s, tw);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
