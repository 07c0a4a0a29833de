/*
 * "hashKey": every kind parsed and refused, and read from real request heads
 * (origin-form and absolute-form targets, repeated fields, several cookies).
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hashkey.h"
#include "http.h"

static struct http_msg msg;

/* Parses head (which must stay put) into msg. */
static const struct http_msg *
parse(const char *head)
{
	ck_assert_int_eq(http_parse_request(&msg, head, strlen(head), 8192), HTTP_OK);
	return &msg;
}

/* The key of spec in head as a NUL-terminated string in out, or NULL when absent. */
static const char *
key_of(const char *spec, const char *head, char *out, size_t outlen)
{
	struct hashkey k;
	struct http_str v;
	char err[128];

	ck_assert_msg(hashkey_parse(&k, spec, err, sizeof(err)) == 0, "%s: %s", spec, err);
	if (!hashkey_get(&k, parse(head), &v))
		return NULL;
	ck_assert_uint_lt(v.len, outlen);
	memcpy(out, v.p, v.len);
	out[v.len] = '\0';
	return out;
}

START_TEST(test_parse)
{
	struct hashkey k;
	char err[128];

	ck_assert_int_eq(hashkey_parse(&k, "clientIp", err, sizeof(err)), 0);
	ck_assert_int_eq(k.kind, HASHKEY_CLIENT_IP);
	ck_assert_int_eq(hashkey_parse(&k, "header:X-User", err, sizeof(err)), 0);
	ck_assert_int_eq(k.kind, HASHKEY_HEADER);
	ck_assert_str_eq(k.name, "X-User");
	ck_assert_uint_eq(k.len, 6);
	ck_assert_int_eq(hashkey_parse(&k, "cookie:sid", err, sizeof(err)), 0);
	ck_assert_int_eq(k.kind, HASHKEY_COOKIE);
	ck_assert_int_eq(hashkey_parse(&k, "path", err, sizeof(err)), 0);
	ck_assert_int_eq(k.kind, HASHKEY_PATH);
	ck_assert_int_eq(hashkey_parse(&k, "uri", err, sizeof(err)), 0);
	ck_assert_int_eq(k.kind, HASHKEY_URI);
	ck_assert_int_eq(hashkey_parse(&k, "query:id", err, sizeof(err)), 0);
	ck_assert_int_eq(k.kind, HASHKEY_QUERY);

	ck_assert_int_eq(hashkey_parse(&k, "clientip", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "must be \"clientIp\", \"header:NAME\", \"cookie:NAME\", \"path\", "
	    "\"uri\" or \"query:NAME\"");
	ck_assert_int_eq(hashkey_parse(&k, "header:", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "header: needs a name of 1 to 127 bytes");
	ck_assert_int_eq(hashkey_parse(&k, "header:X User", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "header:\"X User\": not a valid name");
	ck_assert_int_eq(hashkey_parse(&k, "cookie:a;b", err, sizeof(err)), -1);
	ck_assert_int_eq(hashkey_parse(&k, "query:a&b", err, sizeof(err)), -1);
	ck_assert_int_eq(hashkey_parse(&k, "path:x", err, sizeof(err)), -1);
}
END_TEST

START_TEST(test_header)
{
	char v[64];

	ck_assert_str_eq(key_of("header:X-User", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "x-user: alice\r\nX-User: bob\r\n\r\n", v, sizeof(v)), "alice");
	ck_assert_str_eq(key_of("header:X-User", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "X-User:\r\n\r\n", v, sizeof(v)), "");
	ck_assert_ptr_null(key_of("header:X-User", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "X-Users: carol\r\n\r\n", v, sizeof(v)));
}
END_TEST

START_TEST(test_cookie)
{
	char v[64];

	ck_assert_str_eq(key_of("cookie:sid", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: a=1; sid=xyz; b=2\r\n\r\n", v, sizeof(v)), "xyz");
	ck_assert_str_eq(key_of("cookie:sid", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: a=1\r\ncookie: sid=second\r\n\r\n", v, sizeof(v)), "second");
	ck_assert_str_eq(key_of("cookie:sid", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: sid=\r\n\r\n", v, sizeof(v)), "");
	ck_assert_ptr_null(key_of("cookie:sid", "GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: xsid=1; SID=2; sidx=3\r\n\r\n", v, sizeof(v)));
	ck_assert_ptr_null(key_of("cookie:sid", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", v, sizeof(v)));
}
END_TEST

/* Path, uri and query, as received: nothing decoded. */
START_TEST(test_target)
{
	char v[128];

	ck_assert_str_eq(key_of("path", "GET /a%2Fb/c?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", v,
	    sizeof(v)), "/a%2Fb/c");
	ck_assert_str_eq(key_of("uri", "GET /a%2Fb/c?x=1 HTTP/1.1\r\nHost: a\r\n\r\n", v,
	    sizeof(v)), "/a%2Fb/c?x=1");
	ck_assert_str_eq(key_of("path", "GET http://h.example:81/p/q?z HTTP/1.1\r\n"
	    "Host: h.example:81\r\n\r\n", v, sizeof(v)), "/p/q");
	ck_assert_str_eq(key_of("uri", "GET http://h.example:81/p/q?z HTTP/1.1\r\n"
	    "Host: h.example:81\r\n\r\n", v, sizeof(v)), "/p/q?z");
	ck_assert_str_eq(key_of("query:id", "GET /s?ids=1&id=42&id=7 HTTP/1.1\r\nHost: a\r\n\r\n",
	    v, sizeof(v)), "42");
	ck_assert_str_eq(key_of("query:id", "GET /s?id HTTP/1.1\r\nHost: a\r\n\r\n",
	    v, sizeof(v)), "");
	ck_assert_str_eq(key_of("query:id", "GET /s?a=1&id=%41 HTTP/1.1\r\nHost: a\r\n\r\n",
	    v, sizeof(v)), "%41");
	ck_assert_ptr_null(key_of("query:id", "GET /s?idx=1 HTTP/1.1\r\nHost: a\r\n\r\n",
	    v, sizeof(v)));
	ck_assert_ptr_null(key_of("query:id", "GET /s HTTP/1.1\r\nHost: a\r\n\r\n", v, sizeof(v)));
	ck_assert_ptr_null(key_of("clientIp", "GET /s HTTP/1.1\r\nHost: a\r\n\r\n", v, sizeof(v)));
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("hashkey");
	TCase *tc = tcase_create("hashkey");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_cookie);
	tcase_add_test(tc, test_target);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
