/* The heads rondo sends: each case parses what a client or backend sent,
 * rewrites it, then parses the result again and looks at every field. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "rewrite.h"

static struct http_msg in, out;
static struct buf b;
static char id[REWRITE_ID_MAX + 1];
static struct rewrite_request rq;

static int drop_underscore = 1;
static int trusted;		/* the client is a trusted proxy */

/* Rewrites request text req; returns the result's parse. */
static const struct http_msg *
request(const char *req, int upgrade)
{
	ck_assert_int_eq(http_parse_request(&in, req, strlen(req), 8192), HTTP_OK);
	buf_reset(&b);
	memset(&rq, 0, sizeof(rq));
	rq.client_ip = "192.0.2.7";
	rq.upgrade = upgrade;
	rq.drop_underscore = drop_underscore;
	rq.trusted = trusted;
	rq.fresh_id = "00000000000000000000002a";
	rq.id = id;
	ck_assert_int_eq(rewrite_request(&b, &in, &rq), 0);
	ck_assert_msg(http_parse_request(&out, b.data, b.end, 8192) == HTTP_OK,
	    "the rewritten head does not parse: %.*s", (int)b.end, b.data);
	ck_assert_uint_eq(out.head_len, b.end);
	return &out;
}

/* The values of every field named name, joined with "|". */
static const char *
fields(const struct http_msg *m, const char *name)
{
	static char joined[1024];
	size_t i, n = 0;

	joined[0] = '\0';
	for (i = 0; i < m->nheaders; i++) {
		if (!http_str_eq(m->headers[i].name, name))
			continue;
		if (n > 0)
			joined[n++] = '|';
		memcpy(joined + n, m->headers[i].value.p, m->headers[i].value.len);
		n += m->headers[i].value.len;
		joined[n] = '\0';
	}
	return n > 0 ? joined : NULL;
}

static int
str_is(struct http_str s, const char *lit)
{
	return s.len == strlen(lit) && memcmp(s.p, lit, s.len) == 0;
}

START_TEST(test_hop_by_hop_dropped)
{
	const struct http_msg *m = request("GET /a?b=1 HTTP/1.1\r\nHost: site.test\r\n"
	    "Connection: keep-alive, X-Secret\r\nKeep-Alive: timeout=5\r\nX-Secret: 1\r\n"
	    "TE: trailers\r\nUpgrade: h2c\r\nProxy-Connection: keep-alive\r\n"
	    "Accept: */*\r\nX-Custom: kept\r\n\r\n", 0);

	ck_assert(str_is(m->method, "GET"));
	ck_assert(str_is(m->target, "/a?b=1"));
	ck_assert_int_eq(m->minor, 1);
	ck_assert_str_eq(fields(m, "Host"), "site.test");
	ck_assert_str_eq(fields(m, "Accept"), "*/*");
	ck_assert_str_eq(fields(m, "X-Custom"), "kept");
	ck_assert_ptr_null(fields(m, "Connection"));
	ck_assert_ptr_null(fields(m, "Keep-Alive"));
	ck_assert_ptr_null(fields(m, "X-Secret"));
	ck_assert_ptr_null(fields(m, "TE"));
	ck_assert_ptr_null(fields(m, "Upgrade"));
	ck_assert_ptr_null(fields(m, "Proxy-Connection"));
}
END_TEST

START_TEST(test_forwarded_fields)
{
	const struct http_msg *m = request("GET / HTTP/1.1\r\nHost: site.test:8080\r\n"
	    "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n"
	    "X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\nX-Forwarded-Host: evil.test\r\n\r\n", 0);

	/* From anyone but a trusted proxy, what the client says is replaced. */
	ck_assert_str_eq(fields(m, "X-Forwarded-For"), "192.0.2.7");
	ck_assert_str_eq(fields(m, "X-Forwarded-Proto"), "http");
	ck_assert_str_eq(fields(m, "X-Forwarded-Host"), "site.test:8080");
	m = request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Forwarded-For"), "192.0.2.7");
	/* a hop-by-hop X-Forwarded-For (listed in Connection) is not passed on */
	m = request("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\n"
	    "X-Forwarded-For: 10.9.9.9\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Forwarded-For"), "192.0.2.7");
}
END_TEST

/* A trusted proxy's fields are kept: X-Forwarded-For appended to, -Proto and -Host as sent. */
START_TEST(test_forwarded_fields_trusted)
{
	const struct http_msg *m;

	trusted = 1;
	m = request("GET / HTTP/1.1\r\nHost: site.test:8080\r\n"
	    "X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-Proto: https\r\n"
	    "X-Forwarded-For: 10.0.0.2, 10.0.0.3\r\nX-Forwarded-Host: front.test\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Forwarded-For"), "10.0.0.1, 10.0.0.2, 10.0.0.3, 192.0.2.7");
	ck_assert_str_eq(fields(m, "X-Forwarded-Proto"), "https");
	ck_assert_str_eq(fields(m, "X-Forwarded-Host"), "front.test");
	/* none sent: rondo's own */
	m = request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Forwarded-For"), "192.0.2.7");
	ck_assert_str_eq(fields(m, "X-Forwarded-Proto"), "http");
	ck_assert_str_eq(fields(m, "X-Forwarded-Host"), "a");
	/* hop-by-hop ones are not kept, even from a trusted proxy */
	m = request("GET / HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-Proto\r\n"
	    "X-Forwarded-Proto: https\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Forwarded-Proto"), "http");
	trusted = 0;
}
END_TEST

START_TEST(test_absolute_form)
{
	const struct http_msg *m = request("GET http://other.test:81/p?q HTTP/1.1\r\n"
	    "Host: site.test\r\n\r\n", 0);

	ck_assert(str_is(m->target, "/p?q"));
	ck_assert_str_eq(fields(m, "Host"), "other.test:81");
	ck_assert_str_eq(fields(m, "X-Forwarded-Host"), "other.test:81");
	m = request("GET http://other.test?x HTTP/1.1\r\nHost: other.test\r\n\r\n", 0);
	ck_assert(str_is(m->target, "/?x"));
	ck_assert_str_eq(fields(m, "Host"), "other.test");
}
END_TEST

/* The authority sent is the one the parser checked: it ends at '/' or '?', '#' never came. */
START_TEST(test_absolute_form_authority)
{
	const struct http_msg *m = request("GET https://[::1]:8443?q=/x HTTP/1.1\r\n"
	    "Host: site.test\r\n\r\n", 0);

	ck_assert(str_is(m->target, "/?q=/x"));
	ck_assert_str_eq(fields(m, "Host"), "[::1]:8443");
	ck_assert_str_eq(fields(m, "X-Forwarded-Host"), "[::1]:8443");
	ck_assert_int_eq(http_parse_request(&in, "GET http://good.test#\"<svg>,evil.test@x/p "
	    "HTTP/1.1\r\nHost: a\r\n\r\n", 63, 8192), HTTP_E_BAD);
}
END_TEST

/* CGI-style servers read X_Forwarded_For as X-Forwarded-For: such names go, unless kept. */
START_TEST(test_underscore_dropped)
{
	static const char req[] = "GET / HTTP/1.1\r\nHost: a\r\nX_Forwarded_For: 6.6.6.6\r\n"
	    "x_real_ip: 6.6.6.6\r\n_: 1\r\nX-Ok: 1\r\n\r\n";
	const struct http_msg *m;

	m = request(req, 0);
	ck_assert_ptr_null(fields(m, "X_Forwarded_For"));
	ck_assert_ptr_null(fields(m, "x_real_ip"));
	ck_assert_ptr_null(fields(m, "_"));
	ck_assert_str_eq(fields(m, "X-Ok"), "1");
	ck_assert_str_eq(fields(m, "X-Forwarded-For"), "192.0.2.7");
	drop_underscore = 0;
	m = request(req, 0);
	drop_underscore = 1;
	ck_assert_str_eq(fields(m, "X_Forwarded_For"), "6.6.6.6");
	ck_assert_str_eq(fields(m, "x_real_ip"), "6.6.6.6");
	ck_assert_str_eq(fields(m, "_"), "1");
}
END_TEST

/* Some servers answer 411 to a POST without a length: an explicit 0 goes on. */
START_TEST(test_content_length_zero_kept)
{
	const struct http_msg *m;

	m = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "Content-Length"), "0");
	m = request("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 00, 0\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "Content-Length"), "0");
	m = request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	ck_assert_ptr_null(fields(m, "Content-Length"));
}
END_TEST

/* A Connection list of thousands of names is honoured whole. */
START_TEST(test_long_connection_list)
{
	static char req[16384];
	const struct http_msg *m;
	size_t n;
	int k;

	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nConnection: ");
	for (k = 0; k < 3700; k++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "a,");
	snprintf(req + n, sizeof(req) - n, "x-gone\r\nA: 1\r\nX-Gone: 1\r\nX-Kept: 1\r\n"
	    "X-Forwarded-For: 10.0.0.1\r\n\r\n");
	m = request(req, 0);
	ck_assert_ptr_null(fields(m, "A"));
	ck_assert_ptr_null(fields(m, "X-Gone"));
	ck_assert_ptr_null(fields(m, "Connection"));
	ck_assert_str_eq(fields(m, "X-Kept"), "1");
	ck_assert_str_eq(fields(m, "X-Forwarded-For"), "192.0.2.7");
}
END_TEST

START_TEST(test_connection_cannot_drop_host)
{
	const struct http_msg *m = request("GET / HTTP/1.1\r\nHost: site.test\r\n"
	    "Connection: Host\r\n\r\n", 0);

	ck_assert_str_eq(fields(m, "Host"), "site.test");
}
END_TEST

START_TEST(test_request_id)
{
	const struct http_msg *m;

	m = request("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: abc-123.x:y_z\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Request-Id"), "abc-123.x:y_z");
	ck_assert_str_eq(id, "abc-123.x:y_z");
	m = request("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: has space\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Request-Id"), "00000000000000000000002a");
	m = request("GET / HTTP/1.1\r\nHost: a\r\nX-Request-Id: one\r\nX-Request-Id: two\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Request-Id"), "one");
	m = request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "X-Request-Id"), "00000000000000000000002a");
	ck_assert_str_eq(id, "00000000000000000000002a");
}
END_TEST

START_TEST(test_request_id_make)
{
	char made[REWRITE_ID_LEN + 1];

	rewrite_request_id_make(0xdeadbeef, 0x1234, made);
	ck_assert_str_eq(made, "deadbeef0000000000001234");
	ck_assert(rewrite_request_id_valid((struct http_str){ made, strlen(made) }));
	ck_assert(!rewrite_request_id_valid((struct http_str){ "a/b", 3 }));
	ck_assert(!rewrite_request_id_valid((struct http_str){ "", 0 }));
}
END_TEST

START_TEST(test_framing_normalised)
{
	const struct http_msg *m;

	m = request("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "Content-Length"), "5");
	ck_assert_int_eq(m->body, HTTP_BODY_LENGTH);
	m = request("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:  chunked \r\n\r\n", 0);
	ck_assert_str_eq(fields(m, "Transfer-Encoding"), "chunked");
	ck_assert_ptr_null(fields(m, "Content-Length"));
	ck_assert_int_eq(m->body, HTTP_BODY_CHUNKED);
	/* An HTTP/1.0 request goes on in HTTP/1.0, so no chunks or 1xx come back. */
	m = request("GET / HTTP/1.0\r\n\r\n", 0);
	ck_assert_int_eq(m->minor, 0);
	ck_assert_ptr_null(fields(m, "Host"));
	m = request("GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0);
	ck_assert_int_eq(m->minor, 1);
}
END_TEST

START_TEST(test_upgrade_offer)
{
	const struct http_msg *m = request("GET /ws HTTP/1.1\r\nHost: a\r\n"
	    "Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n", 1);

	ck_assert_str_eq(fields(m, "Upgrade"), "websocket");
	ck_assert_str_eq(fields(m, "Connection"), "upgrade");
	ck_assert_uint_eq(rq.upgrade_len, 9);
	ck_assert_int_eq(memcmp(b.data + rq.upgrade_off, "websocket", 9), 0);
	/* several offers become one field, which a 101 is checked against */
	m = request("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
	    "X: 1\r\nUpgrade: websocket\r\n\r\n", 1);
	ck_assert_str_eq(fields(m, "Upgrade"), "h2c, websocket");
	ck_assert_uint_eq(rq.upgrade_len, 14);
	ck_assert_int_eq(memcmp(b.data + rq.upgrade_off, "h2c, websocket", 14), 0);
	m = request("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\n"
	    "Upgrade: websocket\r\n\r\n", 0);
	ck_assert_ptr_null(fields(m, "Upgrade"));
	ck_assert_uint_eq(rq.upgrade_len, 0);
}
END_TEST

START_TEST(test_access_log_offsets)
{
	request("GET / HTTP/1.1\r\nHost: a\r\nReferer: http://r.test/\r\nUser-Agent: t/1\r\n\r\n", 0);
	ck_assert_uint_eq(rq.referer_len, 14);
	ck_assert_int_eq(memcmp(b.data + rq.referer_off, "http://r.test/", 14), 0);
	ck_assert_uint_eq(rq.agent_len, 3);
	ck_assert_int_eq(memcmp(b.data + rq.agent_off, "t/1", 3), 0);
}
END_TEST

START_TEST(test_request_too_large)
{
	static char req[4096];
	size_t n;

	n = (size_t)snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(req + n, 'x', 3000);
	memcpy(req + n + 3000, "\r\n\r\n", 5);
	ck_assert_int_eq(http_parse_request(&in, req, strlen(req), sizeof(req)), HTTP_OK);
	buf_reset(&b);
	b.end = BUF_SIZE - 2000;	/* less room than the head needs */
	memset(&rq, 0, sizeof(rq));
	rq.client_ip = "192.0.2.7";
	rq.fresh_id = "x";
	rq.id = id;
	ck_assert_int_eq(rewrite_request(&b, &in, &rq), -1);
}
END_TEST

/* Rewrites response text resp (answering a request with req_flags). */
static const struct http_msg *
response(const char *resp, const char *server, int close, int minor)
{
	struct rewrite_response rs = { .server = server, .close = close, .client_minor = minor };

	ck_assert_int_eq(http_parse_response(&in, resp, strlen(resp), 8192, 0), HTTP_OK);
	buf_reset(&b);
	ck_assert_int_eq(rewrite_response(&b, &in, &rs), 0);
	ck_assert_int_eq(http_parse_response(&out, b.data, b.end, 8192, 0), HTTP_OK);
	ck_assert_uint_eq(out.head_len, b.end);
	return &out;
}

START_TEST(test_response)
{
	const struct http_msg *m;

	m = response("HTTP/1.1 200 Fine\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\n"
	    "Keep-Alive: 5\r\nContent-Length: 3\r\nContent-Length: 3\r\nX-App: a\r\n\r\n",
	    "http://10.0.0.5:8080", 0, 1);
	ck_assert_int_eq(m->status, 200);
	ck_assert(str_is(m->reason, "Fine"));
	ck_assert_str_eq(fields(m, "Content-Length"), "3");
	ck_assert_str_eq(fields(m, "X-App"), "a");
	ck_assert_str_eq(fields(m, "X-Forwarded-Server"), "http://10.0.0.5:8080");
	ck_assert_ptr_null(fields(m, "X-Hop"));
	ck_assert_ptr_null(fields(m, "Keep-Alive"));
	ck_assert_ptr_null(fields(m, "Connection"));	/* the backend's close is not the client's */

	m = response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nTrailer: X-Sum\r\n\r\n",
	    NULL, 1, 1);
	ck_assert_str_eq(fields(m, "Transfer-Encoding"), "gzip, chunked");
	ck_assert_str_eq(fields(m, "Trailer"), "X-Sum");
	ck_assert_str_eq(fields(m, "Connection"), "close");
	ck_assert_ptr_null(fields(m, "X-Forwarded-Server"));

	/* a backend cannot unframe its response by naming Content-Length in Connection */
	m = response("HTTP/1.1 200 OK\r\nConnection: Content-Length, Host\r\nContent-Length: 5\r\n"
	    "Host: h\r\n\r\n", NULL, 0, 1);
	ck_assert_str_eq(fields(m, "Content-Length"), "5");
	ck_assert_int_eq(m->body, HTTP_BODY_LENGTH);
	ck_assert_uint_eq(m->content_length, 5);
	ck_assert_str_eq(fields(m, "Host"), "h");
	m = response("HTTP/1.1 200 OK\r\nConnection: Transfer-Encoding\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", NULL, 0, 1);
	ck_assert_str_eq(fields(m, "Transfer-Encoding"), "chunked");
	ck_assert_int_eq(m->body, HTTP_BODY_CHUNKED);

	m = response("HTTP/1.1 204 No Content\r\n\r\n", NULL, 0, 0);
	ck_assert_str_eq(fields(m, "Connection"), "keep-alive");	/* HTTP/1.0 client kept */

	m = response("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\n\r\n", "http://b", 1, 1);
	ck_assert_str_eq(fields(m, "Upgrade"), "websocket");
	ck_assert_str_eq(fields(m, "Connection"), "upgrade");
	ck_assert_ptr_null(fields(m, "X-Forwarded-Server"));	/* not on interim responses */
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("rewrite");
	TCase *tc = tcase_create("heads");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_hop_by_hop_dropped);
	tcase_add_test(tc, test_forwarded_fields);
	tcase_add_test(tc, test_forwarded_fields_trusted);
	tcase_add_test(tc, test_absolute_form);
	tcase_add_test(tc, test_absolute_form_authority);
	tcase_add_test(tc, test_underscore_dropped);
	tcase_add_test(tc, test_content_length_zero_kept);
	tcase_add_test(tc, test_long_connection_list);
	tcase_add_test(tc, test_connection_cannot_drop_host);
	tcase_add_test(tc, test_request_id);
	tcase_add_test(tc, test_request_id_make);
	tcase_add_test(tc, test_framing_normalised);
	tcase_add_test(tc, test_upgrade_offer);
	tcase_add_test(tc, test_access_log_offsets);
	tcase_add_test(tc, test_request_too_large);
	tcase_add_test(tc, test_response);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
