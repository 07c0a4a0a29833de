/*
 * Who may talk to the admin listener: Host and Origin checks against each
 * kind of listen address, and the bearer token comparison.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "conf.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char	*listen;
	const char	*host;
	int		 ok;
} hosts[] = {
	{ "127.0.0.1:9090",	"127.0.0.1:9090",		1 },
	{ "127.0.0.1:9090",	"localhost:9090",		1 },
	{ "127.0.0.1:9090",	"LocalHost:9090",		1 },
	{ "127.0.0.1:9090",	"[::1]:9090",			1 },
	{ "127.0.0.1:9090",	"127.0.0.2:9090",		1 },	/* loopback either way */
	{ "127.0.0.1:9090",	"127.0.0.1:9091",		0 },
	{ "127.0.0.1:9090",	"127.0.0.1",			0 },	/* port 80 */
	{ "127.0.0.1:80",	"127.0.0.1",			1 },
	{ "127.0.0.1:9090",	"evil.example:9090",		0 },
	{ "127.0.0.1:9090",	"localhost.evil.example:9090",	0 },
	{ "127.0.0.1:9090",	"10.0.0.1:9090",		0 },
	{ "127.0.0.1:9090",	"",				0 },
	{ "127.0.0.1:9090",	":9090",			0 },
	{ "127.0.0.1:9090",	"127.0.0.1:",			0 },
	{ "127.0.0.1:9090",	"127.0.0.1:09090",		1 },
	{ "127.0.0.1:9090",	"127.0.0.1:909000",		0 },
	{ "127.0.0.1:9090",	"127.0.0.1:9090x",		0 },
	{ "127.0.0.1:9090",	"[::1",				0 },
	{ "127.0.0.1:9090",	"[::1]x9090",			0 },
	{ "127.0.0.1:9090",	"[127.0.0.1]:9090",		0 },
	{ "127.0.0.1:9090",	"[::ffff:127.0.0.1]:9090",	1 },
	{ "[::1]:9090",		"[::1]:9090",			1 },
	{ "[::1]:9090",		"localhost:9090",		1 },
	{ "[::1]:9090",		"[::2]:9090",			0 },
	{ "[::1]:9090",		"evil.example:9090",		0 },
	{ "10.0.0.1:9090",	"10.0.0.1:9090",		1 },
	{ "10.0.0.1:9090",	"localhost:9090",		0 },
	{ "10.0.0.1:9090",	"127.0.0.1:9090",		0 },
	{ "10.0.0.1:9090",	"10.0.0.2:9090",		0 },
	{ "10.0.0.1:9090",	"lb.example:9090",		0 },
	{ "0.0.0.0:9090",	"10.0.0.2:9090",		1 },
	{ "0.0.0.0:9090",	"0.0.0.0:9090",			1 },
	{ "0.0.0.0:9090",	"[2001:db8::1]:9090",		0 },
	{ "0.0.0.0:9090",	"lb.example:9090",		0 },
	{ "[::]:9090",		"[2001:db8::1]:9090",		1 },
	{ "[::]:9090",		"[::]:9090",			1 },
	{ "[::]:9090",		"192.0.2.1:9090",		1 },
	{ "[::]:9090",		"lb.example:9090",		0 },
};

START_TEST(test_host)
{
	struct net_addr a;
	char name[300], err[256];

	ck_assert_msg(conf_parse_listen(hosts[_i].listen, &a, name, sizeof(name), err,
	    sizeof(err)) == 0, "%s: %s", hosts[_i].listen, err);
	ck_assert_msg(admin_host_allowed(&a, hosts[_i].host, strlen(hosts[_i].host)) == hosts[_i].ok,
	    "listen %s, Host \"%s\": expected %d", hosts[_i].listen, hosts[_i].host, hosts[_i].ok);
	/* No Host field at all: refused (and never read through a NULL). */
	ck_assert_int_eq(admin_host_allowed(&a, NULL, 0), 0);
}
END_TEST

START_TEST(test_origin)
{
	struct net_addr a;
	char name[300], err[256];

	ck_assert_int_eq(conf_parse_listen("127.0.0.1:9090", &a, name, sizeof(name), err,
	    sizeof(err)), 0);
	ck_assert_int_eq(admin_origin_allowed(&a, "http://127.0.0.1:9090", 21), 1);
	ck_assert_int_eq(admin_origin_allowed(&a, "HTTP://localhost:9090", 21), 1);
	ck_assert_int_eq(admin_origin_allowed(&a, "https://127.0.0.1:9090", 22), 0);
	ck_assert_int_eq(admin_origin_allowed(&a, "http://evil.example", 19), 0);
	ck_assert_int_eq(admin_origin_allowed(&a, "http://127.0.0.1:9090/", 22), 0);
	ck_assert_int_eq(admin_origin_allowed(&a, "null", 4), 0);
	ck_assert_int_eq(admin_origin_allowed(&a, "http://", 7), 0);
	ck_assert_int_eq(admin_origin_allowed(&a, "", 0), 0);
}
END_TEST

START_TEST(test_token)
{
	static const struct {
		const char	*authz;
		int		 ok;
	} cases[] = {
		{ "Bearer 0123456789abcdef",	1 },
		{ "bearer 0123456789abcdef",	1 },
		{ "BEARER   0123456789abcdef",	1 },
		{ "Bearer 0123456789abcdeF",	0 },
		{ "Bearer 0123456789abcde",	0 },
		{ "Bearer 0123456789abcdefg",	0 },
		{ "Bearer 0123456789abcdef ",	0 },
		{ "Bearer ",			0 },
		{ "Bearer",			0 },
		{ "Basic 0123456789abcdef",	0 },
		{ "0123456789abcdef",		0 },
		{ "Bearer0123456789abcdef",	0 },
		{ "",				0 },
	};
	size_t i;

	for (i = 0; i < NELEM(cases); i++)
		ck_assert_msg(admin_token_matches("0123456789abcdef", cases[i].authz,
		    strlen(cases[i].authz)) == cases[i].ok, "\"%s\"", cases[i].authz);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("admin");
	TCase *tc = tcase_create("access");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_host, 0, NELEM(hosts));
	tcase_add_test(tc, test_origin);
	tcase_add_test(tc, test_token);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
