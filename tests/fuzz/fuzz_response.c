/*
 * libFuzzer target: http_parse_response.
 *
 * Parameters (fuzz.h): bytes 0-1 the split point, byte 2 the head limit,
 * byte 3 bit 0 the request was HEAD. Beyond not crashing, checks that:
 *  - the result is one of the documented codes, never HTTP_AGAIN once
 *    len >= max_head, and the same for a HEAD request and another;
 *  - an accepted head is what the raw bytes say (fuzz_check_head), starts
 *    with "HTTP/1.x DDD[ reason] CRLF", and frames its body by RFC 9112 6.3
 *    as its fields do, read again here: never Transfer-Encoding with
 *    Content-Length or in HTTP/1.0, chunked only when it is the last coding;
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
response_rc_known(int rc)
{
	return rc == HTTP_OK || rc == HTTP_AGAIN || rc == HTTP_E_BAD || rc == HTTP_E_TOO_LARGE ||
	    rc == HTTP_E_VERSION;
}

/* The last element of the comma-separated list v, OWS trimmed. */
static struct http_str
response_last_element(struct http_str v)
{
	struct http_str e = v;
	size_t i;

	for (i = v.len; i > 0 && v.p[i - 1] != ','; i--)
		;
	e.p = v.p + i;
	e.len = v.len - i;
	while (e.len > 0 && (e.p[0] == ' ' || e.p[0] == '\t')) {
		e.p++;
		e.len--;
	}
	while (e.len > 0 && (e.p[e.len - 1] == ' ' || e.p[e.len - 1] == '\t'))
		e.len--;
	return e;
}

/* The status line and the framing of an accepted response, against its raw fields. */
static void
response_check(const struct http_msg *m, const char *buf, size_t len, size_t max_head,
    unsigned req_flags)
{
	size_t start, i, nte = 0, ncl = 0, te = 0;
	const char *p;
	uint64_t cl = 0, v;
	enum http_body want;

	start = fuzz_check_head(m, buf, len, max_head);
	p = buf + start;

	/* HTTP/1.minor SP 3DIGIT [SP reason] CRLF */
	FUZZ_CHECK(m->status >= 100 && m->status <= 599);
	FUZZ_CHECK(m->head_len - start >= 16);
	FUZZ_CHECK(memcmp(p, "HTTP/1.", 7) == 0 && p[7] == '0' + m->minor && p[8] == ' ');
	FUZZ_CHECK((p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0') == m->status);
	if (p[12] == ' ')
		FUZZ_CHECK(m->reason.p == p + 13);
	else
		FUZZ_CHECK(m->reason.p == p + 12 && m->reason.len == 0);
	FUZZ_CHECK(fuzz_inside(m->reason, buf, m->head_len));
	FUZZ_CHECK(memcmp(m->reason.p + m->reason.len, "\r\n", 2) == 0);
	FUZZ_CHECK(m->method.p == NULL && m->target.p == NULL && m->host.len == 0);
	FUZZ_CHECK(!(m->flags & HTTP_F_METHOD_HEAD));

	for (i = 0; i < m->nheaders; i++) {
		if (fuzz_eq(m->headers[i].name, "transfer-encoding")) {
			nte++;
			te = i;
		} else if (fuzz_eq(m->headers[i].name, "content-length")) {
			FUZZ_CHECK(fuzz_cl_value(m->headers[i].value, &v));
			FUZZ_CHECK(ncl++ == 0 || v == cl);
			cl = v;
		}
	}
	FUZZ_CHECK(m->content_length == cl);
	FUZZ_CHECK(nte == 0 || (ncl == 0 && m->minor == 1));

	if ((req_flags & HTTP_F_METHOD_HEAD) || m->status < 200 || m->status == 204 ||
	    m->status == 304)
		want = HTTP_BODY_NONE;
	else if (nte > 0)
		want = fuzz_eq(response_last_element(m->headers[te].value), "chunked") ?
		    HTTP_BODY_CHUNKED : HTTP_BODY_EOF;
	else if (ncl > 0)
		want = cl > 0 ? HTTP_BODY_LENGTH : HTTP_BODY_NONE;
	else
		want = HTTP_BODY_EOF;
	FUZZ_CHECK(m->body == want);
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
	unsigned req_flags;
	int rc, rc2;

	if (size < FUZZ_PARAMS)
		return 0;
	buf = (const char *)data + FUZZ_PARAMS;
	len = size - FUZZ_PARAMS;
	split = fuzz_split(data, len);
	max_head = fuzz_max_head(data);
	req_flags = data[3] & 1 ? HTTP_F_METHOD_HEAD : 0;

	rc = http_parse_response(&m, buf, len, max_head, req_flags);
	FUZZ_CHECK(response_rc_known(rc));
	FUZZ_CHECK(rc != HTTP_AGAIN || len < max_head);
	if (rc == HTTP_OK)
		response_check(&m, buf, len, max_head, req_flags);

	/* The request's method only changes the body. */
	rc2 = http_parse_response(&m2, buf, len, max_head, req_flags ^ HTTP_F_METHOD_HEAD);
	FUZZ_CHECK(rc2 == rc);
	if (rc == HTTP_OK) {
		FUZZ_CHECK(m2.head_len == m.head_len && m2.status == m.status);
		response_check(&m2, buf, len, max_head, req_flags ^ HTTP_F_METHOD_HEAD);
	}

	if (rc == HTTP_OK) {
		copy = fuzz_dup(buf, m.head_len);
		rc2 = http_parse_response(&m2, copy, m.head_len, max_head, req_flags);
		FUZZ_CHECK(rc2 == HTTP_OK);
		fuzz_same_msg(&m, buf, &m2, copy);
		rc2 = http_parse_response(&m2, copy, m.head_len - 1, max_head, req_flags);
		FUZZ_CHECK(rc2 == HTTP_AGAIN);
		free(copy);
	}

	copy = fuzz_dup(buf, split);
	rc2 = http_parse_response(&m2, copy, split, max_head, req_flags);
	FUZZ_CHECK(response_rc_known(rc2));
	FUZZ_CHECK(rc2 != HTTP_AGAIN || split < max_head);
	if (rc2 != HTTP_AGAIN) {
		FUZZ_CHECK(rc2 == rc);
		if (rc == HTTP_OK)
			fuzz_same_msg(&m, buf, &m2, copy);
	}
	free(copy);
	return 0;
}
