/*
 * libFuzzer target: http_parse_request.
 *
 * Parameters (fuzz.h): bytes 0-1 the split point, byte 2 the head limit,
 * byte 3 unused. Beyond not crashing, checks that:
 *  - the result is one of the documented codes, and never HTTP_AGAIN once
 *    len >= max_head;
 *  - an accepted head is what the raw bytes say (fuzz_check_head), starts
 *    with "method SP target SP HTTP/1.x CRLF", and frames its body exactly as
 *    its fields do, read again here: one "chunked" Transfer-Encoding field
 *    and no Content-Length, or Content-Length fields that all agree, never
 *    both; one Host field in HTTP/1.1, the one m->host points to;
 *  - parsing buf[0..head_len) gives the same, and buf[0..head_len-1) AGAIN;
 *  - a prefix of the input gives AGAIN or the same answer as the whole.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"

static int
request_rc_known(int rc)
{
	switch (rc) {
	case HTTP_OK:
	case HTTP_AGAIN:
	case HTTP_E_BAD:
	case HTTP_E_TOO_LARGE:
	case HTTP_E_URI_TOO_LONG:
	case HTTP_E_NOT_IMPLEMENTED:
	case HTTP_E_VERSION:
		return 1;
	}
	return 0;
}

/* The request line and the framing of an accepted request, against its raw fields. */
static void
request_check(const struct http_msg *m, const char *buf, size_t len, size_t max_head)
{
	size_t start, i, nte = 0, ncl = 0, nhost = 0, te = 0, host = 0;
	const char *p;
	uint64_t cl = 0, v;

	start = fuzz_check_head(m, buf, len, max_head);

	/* method SP target SP HTTP/1.minor CRLF, nothing else on the line */
	FUZZ_CHECK(m->method.p == buf + start && m->method.len > 0);
	for (i = 0; i < m->method.len; i++)
		FUZZ_CHECK(fuzz_tchar((unsigned char)m->method.p[i]));
	FUZZ_CHECK(m->target.p == m->method.p + m->method.len + 1 && m->target.len > 0);
	FUZZ_CHECK(m->method.p[m->method.len] == ' ');
	for (i = 0; i < m->target.len; i++)
		FUZZ_CHECK((unsigned char)m->target.p[i] > 0x20 && m->target.p[i] != 0x7f);
	p = m->target.p + m->target.len;
	FUZZ_CHECK(fuzz_inside((struct http_str){ p, 11 }, buf, m->head_len));
	FUZZ_CHECK(memcmp(p, " HTTP/1.", 8) == 0 && p[8] == '0' + m->minor &&
	    memcmp(p + 9, "\r\n", 2) == 0);
	FUZZ_CHECK(m->target.p[0] == '/' ||
	    (m->target.len == 1 && m->target.p[0] == '*' && m->method.len == 7 &&
	     memcmp(m->method.p, "OPTIONS", 7) == 0) ||
	    (m->target.len > 7 && fuzz_eq((struct http_str){ m->target.p, 7 }, "http://")) ||
	    (m->target.len > 8 && fuzz_eq((struct http_str){ m->target.p, 8 }, "https://")));
	FUZZ_CHECK(!(m->method.len == 7 && memcmp(m->method.p, "CONNECT", 7) == 0));
	FUZZ_CHECK(!!(m->flags & HTTP_F_METHOD_HEAD) ==
	    (m->method.len == 4 && memcmp(m->method.p, "HEAD", 4) == 0));
	FUZZ_CHECK(m->reason.p == NULL && m->status == 0);
	FUZZ_CHECK(m->nheaders > 0 || m->head_len == (size_t)(p + 11 - buf) + 2);

	for (i = 0; i < m->nheaders; i++) {
		if (fuzz_eq(m->headers[i].name, "transfer-encoding")) {
			nte++;
			te = i;
		} else if (fuzz_eq(m->headers[i].name, "content-length")) {
			FUZZ_CHECK(fuzz_cl_value(m->headers[i].value, &v));
			FUZZ_CHECK(ncl++ == 0 || v == cl);
			cl = v;
		} else if (fuzz_eq(m->headers[i].name, "host")) {
			nhost++;
			host = i;
		}
	}

	/* Framing: never two ways to read where the body ends. */
	FUZZ_CHECK(nte == 0 || ncl == 0);
	FUZZ_CHECK(m->body != HTTP_BODY_EOF);
	FUZZ_CHECK(m->content_length == cl);
	if (nte > 0) {
		FUZZ_CHECK(nte == 1 && m->minor == 1 && fuzz_eq(m->headers[te].value, "chunked"));
		FUZZ_CHECK(m->body == HTTP_BODY_CHUNKED);
	} else if (cl > 0) {
		FUZZ_CHECK(m->body == HTTP_BODY_LENGTH);
	} else {
		FUZZ_CHECK(m->body == HTTP_BODY_NONE);
	}

	FUZZ_CHECK(nhost <= 1 && (m->minor == 0 || nhost == 1));
	if (nhost == 1) {
		FUZZ_CHECK(m->host.p == m->headers[host].value.p);
		FUZZ_CHECK(m->host.len == m->headers[host].value.len);
	} else {
		FUZZ_CHECK(m->host.len == 0);
	}
	for (i = 0; i < m->nheaders; i++)
		(void)http_header_is_hop(m, &m->headers[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct http_msg m, m2;
	const char *buf;
	char *copy;
	size_t len, split, max_head;
	int rc, rc2;

	if (size < FUZZ_PARAMS)
		return 0;
	buf = (const char *)data + FUZZ_PARAMS;
	len = size - FUZZ_PARAMS;
	split = fuzz_split(data, len);
	max_head = fuzz_max_head(data);

	rc = http_parse_request(&m, buf, len, max_head);
	FUZZ_CHECK(request_rc_known(rc));
	FUZZ_CHECK(rc != HTTP_AGAIN || len < max_head);
	if (rc < 0) {
		int code = http_status_code(rc);

		FUZZ_CHECK(code == 400 || code == 414 || code == 431 || code == 501 || code == 505);
	}

	if (rc == HTTP_OK) {
		request_check(&m, buf, len, max_head);

		/* The head alone is the same head... */
		copy = fuzz_dup(buf, m.head_len);
		rc2 = http_parse_request(&m2, copy, m.head_len, max_head);
		FUZZ_CHECK(rc2 == HTTP_OK);
		fuzz_same_msg(&m, buf, &m2, copy);
		/* ...and without its last byte, not one yet. */
		rc2 = http_parse_request(&m2, copy, m.head_len - 1, max_head);
		FUZZ_CHECK(rc2 == HTTP_AGAIN);
		free(copy);
	}

	/* A prefix, as a first read: not decided yet, or decided as the whole is. */
	copy = fuzz_dup(buf, split);
	rc2 = http_parse_request(&m2, copy, split, max_head);
	FUZZ_CHECK(request_rc_known(rc2));
	FUZZ_CHECK(rc2 != HTTP_AGAIN || split < max_head);
	if (rc2 != HTTP_AGAIN) {
		FUZZ_CHECK(rc2 == rc);
		if (rc == HTTP_OK)
			fuzz_same_msg(&m, buf, &m2, copy);
	}
	free(copy);
	return 0;
}
