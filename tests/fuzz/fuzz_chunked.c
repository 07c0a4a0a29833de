/*
 * libFuzzer target: http_chunked_feed.
 *
 * Parameters (fuzz.h): bytes 0-1 the split point, 2 and 3 unused. Feeds
 * the body whole, in two pieces split there, and a byte at a time, and
 * checks that:
 *  - consumed never exceeds what was fed; HTTP_AGAIN consumes everything,
 *    an error stops before the offending byte, HTTP_OK ends with CRLF;
 *  - every way of feeding ends with the same result after the same total;
 *  - once finished, the decoder says so again and consumes nothing;
 *  - where it said HTTP_OK, a plain reading of RFC 9112 7.1 (written here,
 *    without limits or extension grammar) finds the body ending at the same
 *    byte: a backend decoding what rondo forwarded sees the same message end.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"

static int
chunked_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Whether b[p..len) starts with CRLF. */
static int
chunked_crlf(const unsigned char *b, size_t len, size_t p)
{
	return p < len && len - p >= 2 && b[p] == '\r' && b[p + 1] == '\n';
}

/*
 * The offset just past a complete chunked body at the start of b[0..len), or
 * 0 when it is incomplete or malformed: sizes of hex digits, anything but CR
 * and LF up to the CRLF of a size line, data and CRLF, a last chunk of size
 * 0, then "name:" trailer lines up to an empty line.
 */
static size_t
chunked_reference_end(const unsigned char *b, size_t len)
{
	size_t p = 0, s, digits;
	uint64_t size;
	int d;

	do {
		for (size = 0, digits = 0; p < len && (d = chunked_hex(b[p])) >= 0; p++, digits++) {
			if (size > (UINT64_C(1) << 62) / 16)
				return 0;
			size = size * 16 + (uint64_t)d;
		}
		if (digits == 0)
			return 0;
		while (p < len && b[p] != '\r' && b[p] != '\n')
			p++;
		if (!chunked_crlf(b, len, p))
			return 0;
		p += 2;
		if (size > 0) {
			if (len - p < size)
				return 0;
			p += (size_t)size;
			if (!chunked_crlf(b, len, p))
				return 0;
			p += 2;
		}
	} while (size > 0);
	for (;;) {
		s = p;
		while (p < len && fuzz_tchar(b[p]))
			p++;
		if (p == s)
			return chunked_crlf(b, len, p) ? p + 2 : 0;
		if (p == len || b[p] != ':')
			return 0;
		while (p < len && b[p] != '\r' && b[p] != '\n')
			p++;
		if (!chunked_crlf(b, len, p))
			return 0;
		p += 2;
	}
}

/* One feed and the checks that hold for any feed; returns the result. */
static int
chunked_feed(struct http_chunked *c, const char *buf, size_t len, size_t *consumed)
{
	int rc;

	*consumed = SIZE_MAX;
	rc = http_chunked_feed(c, buf, len, consumed);
	FUZZ_CHECK(rc == HTTP_OK || rc == HTTP_AGAIN || rc == HTTP_E_BAD ||
	    rc == HTTP_E_TOO_LARGE);
	FUZZ_CHECK(*consumed <= len);
	if (rc == HTTP_AGAIN)
		FUZZ_CHECK(*consumed == len);
	else if (rc < 0)
		FUZZ_CHECK(*consumed < len || len == 0);
	return rc;
}

/* After a final answer: the same answer, nothing consumed, whatever comes. */
static void
chunked_check_final(struct http_chunked *c, int rc, const char *buf, size_t len)
{
	size_t n;

	FUZZ_CHECK(chunked_feed(c, buf, len, &n) == rc && n == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_chunked c;
	const char *buf;
	char *copy;
	size_t len, split, n, n2, total;
	int rc, rc2;

	if (size < FUZZ_PARAMS)
		return 0;
	buf = (const char *)data + FUZZ_PARAMS;
	len = size - FUZZ_PARAMS;
	split = fuzz_split(data, len);

	/* Whole. */
	http_chunked_init(&c);
	rc = chunked_feed(&c, buf, len, &total);
	if (rc == HTTP_OK) {
		FUZZ_CHECK(total >= 5 && memcmp(buf + total - 2, "\r\n", 2) == 0);
		FUZZ_CHECK(chunked_reference_end((const unsigned char *)buf, len) == total);
	}
	if (rc != HTTP_AGAIN)
		chunked_check_final(&c, rc, buf, len);

	/* Two pieces, each in a block of its own size. */
	http_chunked_init(&c);
	copy = fuzz_dup(buf, split);
	rc2 = chunked_feed(&c, copy, split, &n);
	free(copy);
	if (rc2 == HTTP_AGAIN) {
		copy = fuzz_dup(buf + split, len - split);
		rc2 = chunked_feed(&c, copy, len - split, &n2);
		free(copy);
		n += n2;
	}
	FUZZ_CHECK(rc2 == rc && n == total);

	/* A byte at a time. */
	http_chunked_init(&c);
	rc2 = HTTP_AGAIN;
	for (n = 0; n < len && rc2 == HTTP_AGAIN; n++)
		rc2 = chunked_feed(&c, buf + n, 1, &n2);
	if (rc2 != HTTP_AGAIN)
		n -= 1 - n2;	/* the last byte fed was consumed or not */
	FUZZ_CHECK(rc2 == rc && n == total);
	return 0;
}
