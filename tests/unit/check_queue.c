/*
 * The shared queue: tickets in the order of arrival over workers, the turn
 * of the first one only, the limit, leaving out of order, and a dead
 * worker's requests cleared.
 */
#include "config.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "queue.h"
#include "shm.h"

static struct shm_seg *
seg_new(void)
{
	struct conf_backend b;
	struct conf c = { .nbackends = 1, .backends = &b };
	struct shm_seg *seg;
	char err[128];

	memset(&b, 0, sizeof(b));
	ck_assert_ptr_nonnull(seg = shm_create(&c, 3, err, sizeof(err)));
	return seg;
}

/* Three workers, requests arriving a (w0), b (w1), c (w0), d (w2): served a b c d. */
START_TEST(test_order)
{
	struct shm_seg *seg = seg_new();
	uint64_t a, b, c, d;

	ck_assert_int_eq(queue_enter(seg, 0, 10, &a), 0);
	queue_publish(seg, 0, 1, a);
	ck_assert_int_eq(queue_enter(seg, 1, 10, &b), 0);
	queue_publish(seg, 1, 1, b);
	ck_assert_int_eq(queue_enter(seg, 0, 10, &c), 0);	/* w0's first is still a */
	ck_assert_int_eq(queue_enter(seg, 2, 10, &d), 0);
	queue_publish(seg, 2, 1, d);
	ck_assert(a < b && b < c && c < d);
	ck_assert_uint_eq(queue_length(seg), 4);
	ck_assert(queue_turn(seg, a));
	ck_assert(!queue_turn(seg, b));
	ck_assert(!queue_turn(seg, d));
	queue_leave(seg, 0);		/* a served */
	queue_publish(seg, 0, 1, c);
	ck_assert(queue_turn(seg, b));
	ck_assert(!queue_turn(seg, c));
	queue_leave(seg, 1);		/* b served */
	queue_publish(seg, 1, 0, 0);
	ck_assert(queue_turn(seg, c));
	ck_assert(!queue_turn(seg, d));
	queue_leave(seg, 0);
	queue_publish(seg, 0, 0, 0);
	ck_assert(queue_turn(seg, d));
	queue_leave(seg, 2);
	queue_publish(seg, 2, 0, 0);
	ck_assert_uint_eq(queue_length(seg), 0);
	shm_destroy(seg);
}
END_TEST

/* A ticket taken but not yet published holds the later ones back. */
START_TEST(test_unpublished)
{
	struct shm_seg *seg = seg_new();
	uint64_t a, b;

	ck_assert_int_eq(queue_enter(seg, 1, 10, &b), 0);
	queue_publish(seg, 1, 1, b);
	ck_assert_int_eq(queue_enter(seg, 0, 10, &a), 0);	/* w0 not published yet */
	ck_assert(queue_turn(seg, b));
	ck_assert(!queue_turn(seg, a));
	queue_publish(seg, 0, 1, a);
	ck_assert(queue_turn(seg, b));
	shm_destroy(seg);
}
END_TEST

/* The limit counts every worker; one leaving makes room, out of order too. */
START_TEST(test_max)
{
	struct shm_seg *seg = seg_new();
	uint64_t t[3], x;

	ck_assert_int_eq(queue_enter(seg, 0, 3, &t[0]), 0);
	ck_assert_int_eq(queue_enter(seg, 1, 3, &t[1]), 0);
	ck_assert_int_eq(queue_enter(seg, 2, 3, &t[2]), 0);
	ck_assert_int_eq(queue_enter(seg, 0, 3, &x), -1);
	ck_assert_uint_eq(queue_length(seg), 3);
	queue_leave(seg, 2);		/* the last one's client went away */
	ck_assert_int_eq(queue_enter(seg, 0, 3, &x), 0);
	ck_assert(x > t[2]);
	shm_destroy(seg);
}
END_TEST

/* A worker died with requests queued: they are gone, nobody waits for them. */
START_TEST(test_worker_reset)
{
	struct shm_seg *seg = seg_new();
	uint64_t a, b, c;

	ck_assert_int_eq(queue_enter(seg, 0, 10, &a), 0);
	ck_assert_int_eq(queue_enter(seg, 0, 10, &b), 0);
	queue_publish(seg, 0, 1, a);
	ck_assert_int_eq(queue_enter(seg, 1, 10, &c), 0);
	queue_publish(seg, 1, 1, c);
	ck_assert(!queue_turn(seg, c));
	queue_worker_reset(seg, 0);
	ck_assert(queue_turn(seg, c));
	ck_assert_uint_eq(queue_length(seg), 1);
	shm_destroy(seg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("queue");
	TCase *tc = tcase_create("queue");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_unpublished);
	tcase_add_test(tc, test_max);
	tcase_add_test(tc, test_worker_reset);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
