/*
 * Unit tests of the client address behind trusted proxies (src/xff.c): the
 * rightmost untrusted X-Forwarded-For entry, across fields, and where the
 * walk stops.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "conf.h"
#include "http.h"
#include "net.h"
#include "xff.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *fields;		/* X-Forwarded-For lines of the request */
	const char *want;		/* the client found; NULL: none */
} cases[] = {
	{ "X-Forwarded-For: 192.0.2.1\r\n", "192.0.2.1" },
	{ "X-Forwarded-For: 192.0.2.1, 198.51.100.1, 10.0.0.5\r\n", "198.51.100.1" },
	{ "X-Forwarded-For: 192.0.2.1\r\nX-Forwarded-For: 10.1.1.1,10.2.2.2\r\n", "192.0.2.1" },
	{ "X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n", "10.0.0.1" },	/* all trusted: the leftmost */
	{ "X-Forwarded-For: 2001:db8::7, 10.0.0.2\r\n", "2001:db8::7" },
	{ "X-Forwarded-For: 192.0.2.1, unknown, 10.0.0.2\r\n", "10.0.0.2" },	/* stops at garbage */
	{ "X-Forwarded-For: 192.0.2.1,,10.0.0.2\r\n", "10.0.0.2" },
	{ "X-Forwarded-For: garbage\r\n", NULL },
	{ "X-Forwarded-For: \r\n", NULL },
	{ "", NULL },
	/* a hop-by-hop field is not believed */
	{ "Connection: X-Forwarded-For\r\nX-Forwarded-For: 192.0.2.1\r\n", NULL },
};

START_TEST(test_cases)
{
	static struct http_msg m;
	struct cidr ranges[2];
	struct conf_cidrs trusted = { ranges, 2 };
	struct sockaddr_storage ss;
	char req[512], err[128], ip[INET6_ADDRSTRLEN];
	int found;

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &ranges[0], err, sizeof(err)), 0);
	ck_assert_int_eq(cidr_parse("127.0.0.1", &ranges[1], err, sizeof(err)), 0);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\n%s\r\n", cases[_i].fields);
	ck_assert_int_eq(http_parse_request(&m, req, strlen(req), sizeof(req)), HTTP_OK);
	found = xff_client(&m, &trusted, &ss);
	if (cases[_i].want == NULL) {
		ck_assert_msg(!found, "case %d: found a client", _i);
		return;
	}
	ck_assert_msg(found, "case %d: no client found", _i);
	net_addr_host((struct sockaddr *)&ss, ip, sizeof(ip));
	ck_assert_str_eq(ip, cases[_i].want);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("xff");
	TCase *tc = tcase_create("xff");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_cases, 0, NELEM(cases));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
