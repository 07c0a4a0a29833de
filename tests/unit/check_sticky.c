/*
 * Sticky sessions: the cookie read, stripped and written, and a round trip
 * through a balancer: the id in the cookie brings the request back to its
 * backend while it can take it, and is ignored when forged.
 */
#include "config.h"

#include <check.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "buf.h"
#include "conf.h"
#include "http.h"
#include "policy.h"
#include "shm.h"
#include "sticky.h"

static struct http_msg msg;
static char head[2048];

static struct http_msg *
parse(const char *h)
{
	snprintf(head, sizeof(head), "%s", h);
	ck_assert_int_eq(http_parse_request(&msg, head, strlen(head), sizeof(head)), HTTP_OK);
	return &msg;
}

/* The Cookie fields of msg, joined by " | ". */
static const char *
cookies(char *out, size_t len)
{
	size_t h, used = 0;

	out[0] = '\0';
	for (h = 0; h < msg.nheaders; h++)
		if (msg.headers[h].name.len == 6 && strncasecmp(msg.headers[h].name.p, "cookie", 6) == 0)
			used += (size_t)snprintf(out + used, len - used, "%s%.*s", used ? " | " : "",
			    (int)msg.headers[h].value.len, msg.headers[h].value.p);
	return out;
}

START_TEST(test_get)
{
	struct conf_sticky st = { .cookie = "RONDOSRV" };
	uint64_t id = 0;

	ck_assert_int_eq(sticky_get(&st, parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: x=1; RONDOSRV=00000000deadbeef\r\n\r\n"), &id), 1);
	ck_assert_uint_eq(id, 0xdeadbeefu);
	/* Forged or mangled values are ignored. */
	ck_assert_int_eq(sticky_get(&st, parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: RONDOSRV=00000000DEADBEEF\r\n\r\n"), &id), 0);
	ck_assert_int_eq(sticky_get(&st, parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: RONDOSRV=deadbeef\r\n\r\n"), &id), 0);
	ck_assert_int_eq(sticky_get(&st, parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: RONDOSRV=127.0.0.1:5001\r\n\r\n"), &id), 0);
	ck_assert_int_eq(sticky_get(&st, parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Cookie: rondosrv=00000000deadbeef\r\n\r\n"), &id), 0);
	ck_assert_int_eq(sticky_get(&st, parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), &id), 0);
}
END_TEST

START_TEST(test_strip)
{
	struct conf_sticky st = { .cookie = "S" };
	char out[256];

	parse("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1; S=0123456789abcdef; b=2\r\n"
	    "X-After: y\r\n\r\n");
	sticky_strip(&st, &msg);
	ck_assert_str_eq(cookies(out, sizeof(out)), "a=1; b=2");
	ck_assert_uint_eq(msg.nheaders, 3);
	parse("GET / HTTP/1.1\r\nHost: a\r\nCookie: S=1\r\nCookie: SS=2;S=3 ; c=4\r\n"
	    "X-After: y\r\n\r\n");
	sticky_strip(&st, &msg);
	ck_assert_str_eq(cookies(out, sizeof(out)), "SS=2; c=4");
	ck_assert_uint_eq(msg.nheaders, 3);	/* the first Cookie field is gone */
	ck_assert(msg.headers[2].name.len == 7 && memcmp(msg.headers[2].name.p, "X-After", 7) == 0);
	ck_assert(msg.headers[2].value.len == 1 && msg.headers[2].value.p[0] == 'y');
	parse("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=S=1\r\n\r\n");
	sticky_strip(&st, &msg);
	ck_assert_str_eq(cookies(out, sizeof(out)), "a=S=1");
}
END_TEST

START_TEST(test_set_cookie)
{
	struct conf_sticky st = { .cookie = "RONDOSRV" };
	static struct buf b;
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

	buf_reset(&b);
	memcpy(b.data, resp, sizeof(resp) - 1);
	b.end = sizeof(resp) - 1;
	ck_assert_int_eq(sticky_set_cookie(&b, &st, 0xabcdefu, 0), 0);
	b.data[b.end] = '\0';
	ck_assert_str_eq(b.data, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "Set-Cookie: RONDOSRV=0000000000abcdef; Path=/; HttpOnly; SameSite=Lax\r\n\r\n");

	st.max_age_ms = 3600 * 1000;
	st.path = "/app";
	st.domain = "example.com";
	memcpy(b.data, resp, sizeof(resp) - 1);
	b.end = sizeof(resp) - 1;
	ck_assert_int_eq(sticky_set_cookie(&b, &st, 1, 1), 0);
	b.data[b.end] = '\0';
	ck_assert_str_eq(b.data, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
	    "Set-Cookie: RONDOSRV=0000000000000001; Path=/app; Max-Age=3600; Domain=example.com; "
	    "HttpOnly; SameSite=Lax; Secure\r\n\r\n");
	/* Not after a whole head: refused, b unchanged. */
	b.end = 10;
	ck_assert_int_eq(sticky_set_cookie(&b, &st, 1, 1), -1);
	ck_assert_uint_eq(b.end, 10);
}
END_TEST

/*
 * Round trip: the id a response would carry brings the next request back,
 * under every policy; down or drained, another is picked (stuck = 0, so a
 * new cookie is set); a forged id names no backend.
 */
START_TEST(test_round_trip)
{
	static const char *const names[] = { "round-robin", "weighted-round-robin",
	    "least-connections", "hash", "random-two-choices" };
	struct conf_backend bk[4];
	struct conf c = { .nbackends = 4, .backends = bk, .hash_seed = "seed" };
	struct conf_sticky st = { .cookie = "RONDOSRV" };
	struct pick_ctx ctx;
	struct shm_seg *seg;
	struct lb *lb;
	char err[128], req[256];
	uint64_t id;
	int i, b;

	memset(bk, 0, sizeof(bk));
	for (i = 0; i < 4; i++) {
		snprintf(req, sizeof(req), "http://10.2.0.%d:8080", i + 1);
		ck_assert_int_eq(conf_parse_url(req, &bk[i], err, sizeof(err)), 0);
		bk[i].weight = 1;
	}
	c.policy = policy_find(names[_i], NULL);
	ck_assert_ptr_nonnull(seg = shm_create(&c, 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(lb = balance_new(&c, err, sizeof(err)));
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nCookie: RONDOSRV=%016" PRIx64
	    "\r\n\r\n", balance_backend_id(lb, 2));
	ck_assert_int_eq(sticky_get(&st, parse(req), &id), 1);
	ck_assert_int_eq(balance_backend_by_id(lb, id), 2);
	for (i = 0; i < 50; i++) {
		memset(&ctx, 0, sizeof(ctx));
		ctx.has_sticky = 1;
		ctx.sticky = 2;
		ctx.has_key = 1;
		ctx.key = (uint64_t)i;
		ck_assert_int_eq(b = balance_pick(lb, seg, &ctx), 2);
		ck_assert_int_eq(ctx.stuck, 1);
		balance_release(lb, seg, 0, b);
	}
	shm_backend_set_up(seg, 2, 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.has_sticky = 1;
	ctx.sticky = 2;
	b = balance_pick(lb, seg, &ctx);
	ck_assert(b >= 0 && b != 2);
	ck_assert_int_eq(ctx.stuck, 0);
	balance_release(lb, seg, 0, b);
	shm_backend_set_up(seg, 2, 1);
	atomic_store(&seg->backends[2].drain, 1);
	b = balance_pick(lb, seg, &ctx);
	ck_assert(b >= 0 && b != 2);
	ck_assert_int_eq(ctx.stuck, 0);
	balance_release(lb, seg, 0, b);
	/* Full: the request waits for it when it may (a queue), else goes elsewhere. */
	atomic_store(&seg->backends[2].drain, 0);
	balance_free(lb);
	bk[2].max_connections = 1;
	ck_assert_ptr_nonnull(lb = balance_new(&c, err, sizeof(err)));
	memset(&ctx, 0, sizeof(ctx));
	ctx.has_sticky = 1;
	ctx.sticky = 2;
	ck_assert_int_eq(balance_pick(lb, seg, &ctx), 2);	/* held */
	ctx.sticky_wait = 1;
	ck_assert_int_eq(balance_pick(lb, seg, &ctx), PICK_ALL_FULL);
	ctx.sticky_wait = 0;
	b = balance_pick(lb, seg, &ctx);
	ck_assert(b >= 0 && b != 2);
	ck_assert_int_eq(ctx.stuck, 0);
	balance_release(lb, seg, 0, b);
	balance_release(lb, seg, 0, 2);
	ctx.sticky_wait = 1;
	ck_assert_int_eq(balance_pick(lb, seg, &ctx), 2);
	ck_assert_int_eq(ctx.stuck, 1);
	balance_release(lb, seg, 0, 2);
	ck_assert_int_eq(balance_backend_by_id(lb, id ^ 1), -1);
	for (i = 0; i < 4; i++)
		ck_assert_int_eq(balance_backend_by_id(lb, balance_backend_id(lb, i)), i);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("sticky");
	TCase *tc = tcase_create("sticky");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_get);
	tcase_add_test(tc, test_strip);
	tcase_add_test(tc, test_set_cookie);
	tcase_add_loop_test(tc, test_round_trip, 0, 5);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
