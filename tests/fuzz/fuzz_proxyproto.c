/*
 * libFuzzer target: proxyproto_parse and the proxyproto_write_* functions.
 *
 * Parameters (fuzz.h): bytes 0-1 the split point; byte 3 picks the families
 * of the addresses written from the message bytes (bit 0: source IPv4, bit
 * 1: destination IPv4, bit 2: source IPv4-mapped when IPv6, bit 3: the
 * same for the destination); byte 2 unused. Checks that:
 *  - the result is one of the PP_* codes; PP_OK consumes at most what was
 *    given, within the version's limits, and reports addresses only of
 *    AF_INET or AF_INET6, both of one family, or none when local;
 *  - the answer on any prefix (every one of the first 128 bytes, the split
 *    point, just short of the header) is PP_AGAIN or the answer on the
 *    whole, and the header alone gives what the header with the rest gave:
 *    the parser may be fed in any pieces;
 *  - what was parsed, written again by either writer, reads back the same
 *    (IPv4-mapped and IPv4 being one address);
 *  - addresses made from the message bytes, written by either writer,
 *    read back the same, whatever bytes follow; and a buffer one byte short
 *    makes the writer fail rather than truncate.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxyproto.h"

#define PREFIX_ALL	128	/* every prefix up to this length is tried */

/* An address in one form for comparisons: IPv6 bytes (IPv4 mapped) and the port. */
struct norm {
	unsigned char a[16];
	uint16_t port;
};

static struct norm
norm_of(const struct sockaddr_storage *ss)
{
	struct norm n;

	memset(&n, 0, sizeof(n));
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		n.a[10] = n.a[11] = 0xff;
		memcpy(n.a + 12, &s4->sin_addr, 4);
		n.port = s4->sin_port;
	} else {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		FUZZ_CHECK(ss->ss_family == AF_INET6);
		memcpy(n.a, &s6->sin6_addr, 16);
		n.port = s6->sin6_port;
	}
	return n;
}

static int
same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
	struct norm x = norm_of(a), y = norm_of(b);

	return memcmp(&x, &y, sizeof(x)) == 0;
}

/* proxyproto_parse on an exact-size copy, with the checks that hold for any input. */
static int
parse(const char *buf, size_t len, struct proxyproto_hdr *h)
{
	char *copy = fuzz_dup(buf, len);
	int rc = proxyproto_parse(copy, len, h);

	free(copy);
	FUZZ_CHECK(rc >= PP_E_TLV && rc <= PP_AGAIN);
	if (rc != PP_OK)
		return rc;
	FUZZ_CHECK(h->len <= len);
	FUZZ_CHECK(h->version == 1 || h->version == 2);
	if (h->version == 1) {
		FUZZ_CHECK(h->len >= 15 && h->len <= PROXYPROTO_V1_MAX);
		FUZZ_CHECK(memcmp(buf, "PROXY ", 6) == 0);
		FUZZ_CHECK(memcmp(buf + h->len - 2, "\r\n", 2) == 0);
		FUZZ_CHECK(memchr(buf, '\n', h->len - 1) == NULL);
	} else {
		FUZZ_CHECK(h->len >= 16 && h->len <= PROXYPROTO_V2_MAX);
		FUZZ_CHECK(h->len == 16 + ((size_t)(unsigned char)buf[14] << 8 |
		    (unsigned char)buf[15]));
	}
	if (h->local) {
		FUZZ_CHECK(h->srclen == 0 && h->dstlen == 0);
	} else {
		FUZZ_CHECK(h->src.ss_family == h->dst.ss_family);
		FUZZ_CHECK((h->src.ss_family == AF_INET && h->srclen == sizeof(struct sockaddr_in)) ||
		    (h->src.ss_family == AF_INET6 && h->srclen == sizeof(struct sockaddr_in6)));
		FUZZ_CHECK(h->dstlen == h->srclen);
	}
	return rc;
}

static void
same_result(int rc, const struct proxyproto_hdr *a, int rc2, const struct proxyproto_hdr *b)
{
	FUZZ_CHECK(rc2 == rc);
	if (rc != PP_OK)
		return;
	FUZZ_CHECK(a->len == b->len && a->version == b->version && a->local == b->local);
	if (!a->local)
		FUZZ_CHECK(same_addr(&a->src, &b->src) && same_addr(&a->dst, &b->dst) &&
		    a->src.ss_family == b->src.ss_family);
}

/*
 * Writes src -> dst with wr (v1 or v2), then reads it back, alone and
 * followed by tail: the same addresses, all of the header consumed.
 */
static void
round_trip(int (*wr)(char *, size_t, const struct sockaddr *, const struct sockaddr *),
    int version, const struct sockaddr_storage *src, const struct sockaddr_storage *dst,
    const char *tail, size_t tlen)
{
	char out[PROXYPROTO_WRITE_MAX], *both;
	struct proxyproto_hdr h;
	int n;

	n = wr(out, sizeof(out), (const struct sockaddr *)src, (const struct sockaddr *)dst);
	FUZZ_CHECK(n > 0 && (size_t)n <= sizeof(out));
	FUZZ_CHECK(wr(out, (size_t)n - 1, (const struct sockaddr *)src,
	    (const struct sockaddr *)dst) == -1);
	n = wr(out, (size_t)n, (const struct sockaddr *)src, (const struct sockaddr *)dst);
	FUZZ_CHECK(parse(out, (size_t)n, &h) == PP_OK);
	FUZZ_CHECK(h.len == (size_t)n && h.version == version && !h.local);
	FUZZ_CHECK(same_addr(&h.src, src) && same_addr(&h.dst, dst));

	if ((both = malloc((size_t)n + tlen + 1)) == NULL)
		abort();
	memcpy(both, out, (size_t)n);
	memcpy(both + n, tail, tlen);
	FUZZ_CHECK(parse(both, (size_t)n + tlen, &h) == PP_OK && h.len == (size_t)n);
	free(both);
}

/* An address of the family flags pick, its bytes and port from the message. */
static struct sockaddr_storage
make_addr(const uint8_t *m, size_t len, size_t off, int v4, int mapped)
{
	struct sockaddr_storage ss;
	unsigned char b[18];
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = len > 0 ? m[(off + i) % len] : 0;
	memset(&ss, 0, sizeof(ss));
	if (v4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, b, 4);
		memcpy(&s4->sin_port, b + 16, 2);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, b, 16);
		if (mapped) {
			memset(&s6->sin6_addr, 0, 10);
			s6->sin6_addr.s6_addr[10] = s6->sin6_addr.s6_addr[11] = 0xff;
		}
		memcpy(&s6->sin6_port, b + 16, 2);
	}
	return ss;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxyproto_hdr whole, h;
	struct sockaddr_storage src, dst;
	const char *buf;
	size_t len, split, k;
	unsigned flags;
	int rc, rc2;

	if (size < FUZZ_PARAMS)
		return 0;
	buf = (const char *)data + FUZZ_PARAMS;
	len = size - FUZZ_PARAMS;
	split = fuzz_split(data, len);
	flags = data[3];

	/* Whole, then prefixes: each PP_AGAIN or the whole's answer. */
	rc = parse(buf, len, &whole);
	for (k = 0; k < len && k <= PREFIX_ALL; k++) {
		rc2 = parse(buf, k, &h);
		if (rc2 != PP_AGAIN)
			same_result(rc, &whole, rc2, &h);
	}
	rc2 = parse(buf, split, &h);
	if (rc2 != PP_AGAIN)
		same_result(rc, &whole, rc2, &h);

	if (rc == PP_OK) {
		/* The header alone, and one byte short of it. */
		rc2 = parse(buf, whole.len, &h);
		same_result(rc, &whole, rc2, &h);
		FUZZ_CHECK(parse(buf, whole.len - 1, &h) == PP_AGAIN);
		/* What was read, written again, reads back the same. */
		if (!whole.local) {
			round_trip(proxyproto_write_v1, 1, &whole.src, &whole.dst, buf, len);
			round_trip(proxyproto_write_v2, 2, &whole.src, &whole.dst, buf, len);
		}
	}

	/* Addresses from the message bytes, through both writers. */
	src = make_addr(data + FUZZ_PARAMS, len, 0, flags & 1, flags & 4);
	dst = make_addr(data + FUZZ_PARAMS, len, 18, flags & 2, flags & 8);
	round_trip(proxyproto_write_v1, 1, &src, &dst, buf, len);
	round_trip(proxyproto_write_v2, 2, &src, &dst, buf, len);
	return 0;
}
