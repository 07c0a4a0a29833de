/*
 * Unit tests of the address ranges (src/cidr.c): what parses, the message
 * for what does not, and which addresses match, IPv4 clients seen through
 * the dual-stack listener (::ffff:a.b.c.d) included.
 */
#include "config.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "cidr.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

static struct sockaddr_storage
sa(const char *host)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, host, &s6->sin6_addr), 1);
		s6->sin6_family = AF_INET6;
	}
	return ss;
}

static int
match(const char *range, const char *host)
{
	struct cidr c;
	struct sockaddr_storage ss = sa(host);
	char err[128];

	ck_assert_msg(cidr_parse(range, &c, err, sizeof(err)) == 0, "%s: %s", range, err);
	return cidr_match(&c, (struct sockaddr *)&ss);
}

START_TEST(test_match)
{
	/* hosts */
	ck_assert(match("127.0.0.1", "127.0.0.1"));
	ck_assert(!match("127.0.0.1", "127.0.0.2"));
	ck_assert(match("::1", "::1"));
	ck_assert(!match("::1", "::2"));
	ck_assert(match("127.0.0.1/32", "127.0.0.1"));
	ck_assert(match("::1/128", "::1"));
	/* networks, at and around their edges */
	ck_assert(match("10.0.0.0/8", "10.0.0.0"));
	ck_assert(match("10.0.0.0/8", "10.255.255.255"));
	ck_assert(!match("10.0.0.0/8", "11.0.0.0"));
	ck_assert(!match("10.0.0.0/8", "9.255.255.255"));
	ck_assert(match("192.168.4.0/22", "192.168.7.200"));
	ck_assert(!match("192.168.4.0/22", "192.168.8.0"));
	ck_assert(match("172.16.0.0/12", "172.31.1.1"));
	ck_assert(!match("172.16.0.0/12", "172.32.0.0"));
	ck_assert(match("0.0.0.0/0", "203.0.113.9"));
	ck_assert(match("2001:db8::/32", "2001:db8:ffff::1"));
	ck_assert(!match("2001:db8::/32", "2001:db9::"));
	ck_assert(match("2001:db8:0:80::/57", "2001:db8:0:ff::1"));
	ck_assert(!match("2001:db8:0:80::/57", "2001:db8:0:7f::1"));
	ck_assert(match("::/0", "2001:db8::1"));
	/* the dual-stack listener's view of IPv4 clients */
	ck_assert(match("10.0.0.0/8", "::ffff:10.1.2.3"));
	ck_assert(!match("10.0.0.0/8", "::ffff:11.1.2.3"));
	ck_assert(match("127.0.0.1", "::ffff:127.0.0.1"));
	ck_assert(match("::ffff:10.0.0.0/104", "10.9.9.9"));
	ck_assert(match("0.0.0.0/0", "::ffff:1.2.3.4"));
	ck_assert(!match("0.0.0.0/0", "::1"));
	ck_assert(!match("0.0.0.0/0", "::1.2.3.4"));	/* IPv4-compatible is not IPv4 */
	ck_assert(match("::/0", "1.2.3.4"));		/* documented in cidr.h */
	ck_assert(!match("::1", "0.0.0.1"));
}
END_TEST

START_TEST(test_match_list_and_family)
{
	struct cidr list[3];
	struct sockaddr_storage ss;
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	char err[128];

	ck_assert_int_eq(cidr_parse("10.0.0.0/8", &list[0], err, sizeof(err)), 0);
	ck_assert_int_eq(cidr_parse("fd00::/8", &list[1], err, sizeof(err)), 0);
	ck_assert_int_eq(cidr_parse("192.0.2.7", &list[2], err, sizeof(err)), 0);
	ss = sa("fd12::1");
	ck_assert_int_eq(cidr_match_list(list, 3, (struct sockaddr *)&ss), 1);
	ss = sa("::ffff:192.0.2.7");
	ck_assert_int_eq(cidr_match_list(list, 3, (struct sockaddr *)&ss), 1);
	ss = sa("192.0.2.8");
	ck_assert_int_eq(cidr_match_list(list, 3, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(cidr_match_list(list, 0, (struct sockaddr *)&ss), 0);
	ck_assert_int_eq(cidr_match_list(list, 3, (struct sockaddr *)&un), 0);
	ck_assert_int_eq(cidr_match(&list[0], (struct sockaddr *)&un), 0);
}
END_TEST

static const struct {
	const char *in;
	const char *err;
} bad[] = {
	{ "", "\"\": not an IPv4 or IPv6 address" },
	{ "/8", "\"/8\": not an IPv4 or IPv6 address" },
	{ "10.0.0", "\"10.0.0\": not an IPv4 or IPv6 address" },
	{ "010.0.0.0/8", "\"010.0.0.0/8\": not an IPv4 or IPv6 address" },
	{ "10.0.0.256", "\"10.0.0.256\": not an IPv4 or IPv6 address" },
	{ " 10.0.0.1", "\" 10.0.0.1\": not an IPv4 or IPv6 address" },
	{ "10.0.0.1 ", "\"10.0.0.1 \": not an IPv4 or IPv6 address" },
	{ "fe80::1%eth0", "\"fe80::1%eth0\": not an IPv4 or IPv6 address" },
	{ "example.com", "\"example.com\": not an IPv4 or IPv6 address" },
	{ "1::2::3/64", "\"1::2::3/64\": not an IPv4 or IPv6 address" },
	{ "0000000000000000000000000000000000000000000000::1",
	    "\"0000000000000000000000000000000000000000000000::1\": not an IPv4 or IPv6 address" },
	{ "10.0.0.0/", "\"10.0.0.0/\": prefix length must be 0..32" },
	{ "10.0.0.0/33", "\"10.0.0.0/33\": prefix length must be 0..32" },
	{ "10.0.0.0/08", "\"10.0.0.0/08\": prefix length must be 0..32" },
	{ "10.0.0.0/-8", "\"10.0.0.0/-8\": prefix length must be 0..32" },
	{ "10.0.0.0/8x", "\"10.0.0.0/8x\": prefix length must be 0..32" },
	{ "10.0.0.0/8/8", "\"10.0.0.0/8/8\": prefix length must be 0..32" },
	{ "10.0.0.0/99999999999", "\"10.0.0.0/99999999999\": prefix length must be 0..32" },
	{ "::/129", "\"::/129\": prefix length must be 0..128" },
	{ "::/ 1", "\"::/ 1\": prefix length must be 0..128" },
	/* host bits: refused rather than masked */
	{ "10.0.0.1/8", "\"10.0.0.1/8\": host bits set after the /8 prefix" },
	{ "192.168.5.0/22", "\"192.168.5.0/22\": host bits set after the /22 prefix" },
	{ "1.0.0.0/0", "\"1.0.0.0/0\": host bits set after the /0 prefix" },
	{ "2001:db8::1/64", "\"2001:db8::1/64\": host bits set after the /64 prefix" },
	{ "2001:db8:0:81::/57", "\"2001:db8:0:81::/57\": host bits set after the /57 prefix" },
};

START_TEST(test_bad)
{
	struct cidr c;
	char err[160];

	memset(err, 0, sizeof(err));
	ck_assert_int_eq(cidr_parse(bad[_i].in, &c, err, sizeof(err)), -1);
	ck_assert_str_eq(err, bad[_i].err);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cidr");
	TCase *tc = tcase_create("ranges");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_match);
	tcase_add_test(tc, test_match_list_and_family);
	tcase_add_loop_test(tc, test_bad, 0, NELEM(bad));
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
