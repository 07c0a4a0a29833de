/*
 * Unit tests of the fixed-size buffers (src/buf.[ch]): appends are whole or
 * nothing, printf output that does not fit leaves the buffer as it was, and
 * the pool hands back what it was given, keeping no more than its maximum.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static struct buf *
buf_new(void)
{
	struct buf *b = malloc(sizeof(*b));

	ck_assert_ptr_nonnull(b);
	buf_reset(b);
	return b;
}

START_TEST(test_append)
{
	struct buf *b = buf_new();
	int r = 0;

	r |= buf_append_str(b, "Content-Length: ");
	r |= buf_append_u64(b, 0);
	r |= buf_append(b, " ", 1);
	r |= buf_append_u64(b, UINT64_MAX);
	r |= buf_append(b, "\r\n", 2);
	r |= buf_append_field(b, "Host", 4, "a.example", 9);
	ck_assert_int_eq(r, 0);
	ck_assert_uint_eq(buf_len(b), 57);
	ck_assert_int_eq(memcmp(b->data, "Content-Length: 0 18446744073709551615\r\n"
	    "Host: a.example\r\n", buf_len(b)), 0);
	free(b);
}
END_TEST

/* Near the end: what does not fit is not written at all. */
START_TEST(test_append_full)
{
	struct buf *b = buf_new();

	b->end = BUF_SIZE - 10;
	ck_assert_int_eq(buf_append_field(b, "Host", 4, "abcd", 4), -1);	/* 12 bytes */
	ck_assert_uint_eq(b->end, BUF_SIZE - 10);
	ck_assert_int_eq(buf_append_u64(b, 12345678901ULL), -1);
	ck_assert_uint_eq(b->end, BUF_SIZE - 10);
	ck_assert_int_eq(buf_append_field(b, "Ho", 2, "abcd", 4), 0);		/* 10 bytes */
	ck_assert_uint_eq(buf_space(b), 0);
	ck_assert_int_eq(buf_append(b, "", 0), 0);
	ck_assert_int_eq(buf_append(b, "x", 1), -1);
	free(b);
}
END_TEST

START_TEST(test_printf)
{
	struct buf *b = buf_new();

	ck_assert_int_eq(buf_printf(b, "HTTP/1.1 %d %s\r\n", 503, "Service Unavailable"), 0);
	ck_assert_uint_eq(buf_len(b), 34);
	ck_assert_int_eq(memcmp(b->data, "HTTP/1.1 503 Service Unavailable\r\n", 34), 0);
	/* Exactly the room left is one byte too many: vsnprintf needs its NUL. */
	b->end = BUF_SIZE - 4;
	ck_assert_int_eq(buf_printf(b, "%s", "abcd"), -1);
	ck_assert_uint_eq(b->end, BUF_SIZE - 4);
	ck_assert_int_eq(buf_printf(b, "%s", "abc"), 0);
	ck_assert_uint_eq(b->end, BUF_SIZE - 1);
	free(b);
}
END_TEST

START_TEST(test_pool)
{
	struct buf_pool p;
	struct buf *a, *b, *c;

	buf_pool_init(&p, 1);
	a = buf_get(&p);
	b = buf_get(&p);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	a->start = 3;
	a->end = 7;
	buf_put(&p, &a);
	ck_assert_ptr_null(a);		/* the caller's pointer is cleared */
	ck_assert_uint_eq(p.nfree, 1);
	buf_put(&p, &b);		/* beyond the maximum: freed */
	ck_assert_ptr_null(b);
	ck_assert_uint_eq(p.nfree, 1);
	buf_put(&p, &b);		/* NULL: nothing happens */
	ck_assert_uint_eq(p.nfree, 1);
	c = buf_get(&p);		/* the pooled one, emptied */
	ck_assert_uint_eq(p.nfree, 0);
	ck_assert_uint_eq(buf_len(c), 0);
	ck_assert_uint_eq(c->start, 0);
	buf_put(&p, &c);
	buf_pool_fini(&p);
	ck_assert_uint_eq(p.nfree, 0);
	ck_assert_ptr_null(p.free);
}
END_TEST

/*
 * buf_pool_trim frees what stayed in the pool since the last trim (the
 * fewest it held meanwhile), above <keep>: a burst's leftovers, not what
 * steady traffic takes and gives back.
 */
START_TEST(test_pool_trim)
{
	struct buf_pool p;
	struct buf *b[40];
	int i;

	buf_pool_init(&p, 64);
	for (i = 0; i < 40; i++)
		ck_assert_ptr_nonnull(b[i] = buf_get(&p));
	for (i = 0; i < 40; i++)
		buf_put(&p, &b[i]);
	ck_assert_uint_eq(p.nfree, 40);
	ck_assert_uint_eq(buf_pool_trim(&p, 4), 0);	/* the first look only marks */
	/* Steady traffic takes 10 at a time and gives them back: 30 stayed unused. */
	for (i = 0; i < 10; i++)
		b[i] = buf_get(&p);
	for (i = 0; i < 10; i++)
		buf_put(&p, &b[i]);
	ck_assert_uint_eq(buf_pool_trim(&p, 4), 26);	/* 30 unused, 4 kept of them */
	ck_assert_uint_eq(p.nfree, 14);
	/* Everything was used since: nothing goes. */
	for (i = 0; i < 14; i++)
		b[i] = buf_get(&p);
	for (i = 0; i < 14; i++)
		buf_put(&p, &b[i]);
	ck_assert_uint_eq(buf_pool_trim(&p, 4), 0);
	ck_assert_uint_eq(buf_pool_trim(&p, 4), 10);	/* then all 14 sat unused: 4 stay */
	ck_assert_uint_eq(p.nfree, 4);
	buf_pool_fini(&p);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buffers");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_append);
	tcase_add_test(tc, test_append_full);
	tcase_add_test(tc, test_printf);
	tcase_add_test(tc, test_pool);
	tcase_add_test(tc, test_pool_trim);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
