/*
 * Shared by the libFuzzer targets of the HTTP parser (tests/fuzz/fuzz_*.c).
 *
 * An input is FUZZ_PARAMS parameter bytes followed by the message, so that
 * libFuzzer mutates where the message is split and what the head limit is
 * along with the message itself (see README). The targets check invariants
 * that hold whatever the bytes, and abort() naming the one that did not:
 * libFuzzer then saves the input as a crash. Copies of the message are made
 * to the byte, so that AddressSanitizer sees a read past any end.
 *
 * Everything here is static: each target is one translation unit with its
 * own copy of src/http.c, built with -fsanitize=fuzzer,address,undefined.
 */
#ifndef RONDO_FUZZ_H
#define RONDO_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

#define FUZZ_PARAMS	4		/* parameter bytes before the message */
#define FUZZ_HEAD_MAX	14336		/* proxy.c's HEAD_MAX: what rondo passes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
			fuzz_fail(__FILE__, __LINE__, #cond); \
	} while (0)

static inline void __attribute__((noreturn))
fuzz_fail(const char *file, int line, const char *what)
{
	fprintf(stderr, "%s:%d: invariant does not hold: %s\n", file, line, what);
	abort();
}

/* The split point from the first two parameter bytes: 0..len. */
static inline size_t
fuzz_split(const uint8_t *params, size_t len)
{
	return ((size_t)params[0] | (size_t)params[1] << 8) % (len + 1);
}

/*
 * The head limit from the third parameter byte: rondo's own most of the
 * time, else 0..508, small enough for libFuzzer to reach every limit.
 */
static inline size_t
fuzz_max_head(const uint8_t *params)
{
	return params[2] < 128 ? FUZZ_HEAD_MAX : (size_t)(params[2] - 128) * 4;
}

/* A copy of buf[0..len) in a block of exactly len bytes; the caller frees it. */
static inline char *
fuzz_dup(const char *buf, size_t len)
{
	char *p;

	if ((p = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(p, buf, len);
	return p;
}

static inline int
fuzz_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c;
}

/* Case-insensitive comparison of s with the NUL-terminated lit, written apart from http.c's. */
static inline int
fuzz_eq(struct http_str s, const char *lit)
{
	size_t i;

	if (strlen(lit) != s.len)
		return 0;
	for (i = 0; i < s.len; i++)
		if (fuzz_lower((unsigned char)s.p[i]) != fuzz_lower((unsigned char)lit[i]))
			return 0;
	return 1;
}

/* tchar (RFC 9110 5.6.2), spelled out rather than taken from http.c's table. */
static inline int
fuzz_tchar(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Whether s lies within buf[0..len); a NULL pointer only with length 0. */
static inline int
fuzz_inside(struct http_str s, const char *buf, size_t len)
{
	if (s.p == NULL)
		return s.len == 0;
	return s.p >= buf && s.len <= len && (size_t)(s.p - buf) <= len - s.len;
}

/* Offset of s in buf, or SIZE_MAX for a NULL s: compares results over copies. */
static inline size_t
fuzz_off(struct http_str s, const char *buf)
{
	return s.p == NULL ? SIZE_MAX : (size_t)(s.p - buf);
}

static inline void
fuzz_same_str(struct http_str a, const char *abuf, struct http_str b, const char *bbuf)
{
	FUZZ_CHECK(a.len == b.len);
	FUZZ_CHECK(fuzz_off(a, abuf) == fuzz_off(b, bbuf));
}

/* Two HTTP_OK results over identical bytes at abuf and bbuf say the same. */
static inline void
fuzz_same_msg(const struct http_msg *a, const char *abuf, const struct http_msg *b,
    const char *bbuf)
{
	size_t i;

	FUZZ_CHECK(a->head_len == b->head_len);
	FUZZ_CHECK(a->status == b->status);
	FUZZ_CHECK(a->minor == b->minor);
	FUZZ_CHECK(a->body == b->body);
	FUZZ_CHECK(a->content_length == b->content_length);
	FUZZ_CHECK(a->flags == b->flags);
	FUZZ_CHECK(a->nheaders == b->nheaders);
	fuzz_same_str(a->method, abuf, b->method, bbuf);
	fuzz_same_str(a->target, abuf, b->target, bbuf);
	fuzz_same_str(a->reason, abuf, b->reason, bbuf);
	fuzz_same_str(a->host, abuf, b->host, bbuf);
	for (i = 0; i < a->nheaders; i++) {
		fuzz_same_str(a->headers[i].name, abuf, b->headers[i].name, bbuf);
		fuzz_same_str(a->headers[i].value, abuf, b->headers[i].value, bbuf);
	}
}

/*
 * Parses a Content-Length value the plain way: a comma-separated list of
 * 1*DIGIT, OWS around elements. 1 with *v set when every element is the same
 * number (at most 2^62), else 0.
 */
static inline int
fuzz_cl_value(struct http_str s, uint64_t *v)
{
	size_t i = 0, n = 0;
	uint64_t x;

	for (;;) {
		while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\t'))
			i++;
		if (i == s.len || s.p[i] < '0' || s.p[i] > '9')
			return 0;
		for (x = 0; i < s.len && s.p[i] >= '0' && s.p[i] <= '9'; i++) {
			if (x > (UINT64_C(1) << 62) / 10)
				return 0;
			x = x * 10 + (uint64_t)(s.p[i] - '0');
		}
		if (x > UINT64_C(1) << 62 || (n++ > 0 && x != *v))
			return 0;
		*v = x;
		while (i < s.len && (s.p[i] == ' ' || s.p[i] == '\t'))
			i++;
		if (i == s.len)
			return 1;
		if (s.p[i++] != ',')
			return 0;
	}
}

/*
 * What holds for any head the parser accepted, request or response, read
 * again from the raw bytes: it lies in buf[0..len) within max_head, ends at
 * the first empty line after at most four leading ones, holds no bare CR or
 * LF and no control byte but HTAB, and every field it reports is a
 * "token: value" line of it, in order, value trimmed. Returns where the start
 * line begins.
 */
static inline size_t
fuzz_check_head(const struct http_msg *m, const char *buf, size_t len, size_t max_head)
{
	const unsigned char *u = (const unsigned char *)buf;
	size_t i, start = 0, h = m->head_len;
	const char *prev = buf;

	FUZZ_CHECK(h >= 4 && h <= len && h <= max_head);
	FUZZ_CHECK(memcmp(buf + h - 4, "\r\n\r\n", 4) == 0);
	while (start + 1 < h && buf[start] == '\r' && buf[start + 1] == '\n')
		start += 2;
	FUZZ_CHECK(start <= 8);
	for (i = start; i + 4 < h; i++)
		FUZZ_CHECK(memcmp(buf + i, "\r\n\r\n", 4) != 0);
	for (i = 0; i < h; i++) {
		FUZZ_CHECK(u[i] != '\n' || (i > 0 && u[i - 1] == '\r'));
		FUZZ_CHECK(u[i] != '\r' || (i + 1 < h && u[i + 1] == '\n'));
		FUZZ_CHECK(u[i] >= 0x20 || u[i] == '\t' || u[i] == '\r' || u[i] == '\n');
		FUZZ_CHECK(u[i] != 0x7f);
	}
	FUZZ_CHECK(m->minor == 0 || m->minor == 1);
	FUZZ_CHECK(m->nheaders <= HTTP_MAX_HEADERS);
	FUZZ_CHECK((m->flags & ~(unsigned)(HTTP_F_CONN_CLOSE | HTTP_F_CONN_KEEPALIVE |
	    HTTP_F_CONN_UPGRADE | HTTP_F_UPGRADE | HTTP_F_EXPECT_CONTINUE |
	    HTTP_F_METHOD_HEAD)) == 0);
	FUZZ_CHECK(m->minor == 1 || (m->flags & HTTP_F_CONN_KEEPALIVE) ||
	    (m->flags & HTTP_F_CONN_CLOSE));
	for (i = 0; i < m->nheaders; i++) {
		struct http_str n = m->headers[i].name, v = m->headers[i].value;
		size_t j;

		FUZZ_CHECK(fuzz_inside(n, buf, h) && fuzz_inside(v, buf, h));
		FUZZ_CHECK(n.len > 0 && n.p > prev && n.p[-1] == '\n' && n.p[n.len] == ':');
		for (j = 0; j < n.len; j++)
			FUZZ_CHECK(fuzz_tchar((unsigned char)n.p[j]));
		FUZZ_CHECK(v.p >= n.p + n.len + 1);
		for (j = (size_t)(n.p + n.len + 1 - buf); j < (size_t)(v.p - buf); j++)
			FUZZ_CHECK(buf[j] == ' ' || buf[j] == '\t');
		if (v.len > 0) {
			FUZZ_CHECK(v.p[0] != ' ' && v.p[0] != '\t');
			FUZZ_CHECK(v.p[v.len - 1] != ' ' && v.p[v.len - 1] != '\t');
		}
		for (j = 0; j < v.len; j++)
			FUZZ_CHECK(v.p[j] != '\r' && v.p[j] != '\n');
		for (j = (size_t)(v.p + v.len - buf); buf[j] != '\r'; j++)
			FUZZ_CHECK(buf[j] == ' ' || buf[j] == '\t');
		prev = v.p + v.len;
	}
	return start;
}

#endif
