/* Round robin over the shared segment: rotation, unhealthy and tried backends. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balance.h"
#include "conf.h"
#include "shm.h"

static struct conf_backend backends[8];
static struct conf conf;
static const uint8_t key[16] = "0123456789abcdef";

static struct shm_seg *
seg_with(size_t n)
{
	struct conf c = { .nbackends = n, .backends = backends };
	char err[128];
	struct shm_seg *seg;
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(backends[i].url, sizeof(backends[i].url), "http://127.0.0.1:%zu", 5000 + i);
	seg = shm_create(&c, 2, err, sizeof(err));
	ck_assert_msg(seg != NULL, "%s", err);
	conf = c;
	return seg;
}

/* Picks for a request that tried nothing yet, releasing at once. */
static int
pick(struct shm_seg *seg, const struct balance_tried *tried)
{
	struct balance_ctx ctx = { .worker = 0 };
	char err[128];
	struct lb *lb = balance_new(&conf, key, err, sizeof(err));
	int b;

	ck_assert_msg(lb != NULL, "%s", err);
	if (tried != NULL)
		ctx.tried = *tried;
	b = balance_pick(lb, seg, &ctx);
	if (b >= 0)
		balance_release(seg, 0, b);
	balance_free(lb);
	return b;
}

START_TEST(test_rotation_even)
{
	struct shm_seg *seg = seg_with(3);
	unsigned count[3] = { 0 };
	int i, b, prev = -1;

	for (i = 0; i < 300; i++) {
		b = pick(seg, NULL);
		ck_assert_int_ge(b, 0);
		ck_assert_int_lt(b, 3);
		ck_assert_int_ne(b, prev);	/* never the same one twice in a row */
		prev = b;
		count[b]++;
	}
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(count[2], 100);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_skips_unhealthy)
{
	struct shm_seg *seg = seg_with(3);
	unsigned count[3] = { 0 };
	int i;

	shm_backend_set_up(seg, 1, 0);
	ck_assert_uint_eq(balance_healthy(seg), 2);
	for (i = 0; i < 300; i++)
		count[pick(seg, NULL)]++;
	ck_assert_uint_eq(count[1], 0);
	ck_assert_uint_eq(count[0] + count[2], 300);
	/* The backend after the down one takes its turn: 2/3 vs 1/3. */
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[2], 200);
	shm_backend_set_up(seg, 1, 1);
	for (i = 0; i < 3; i++)
		count[pick(seg, NULL)]++;
	ck_assert_uint_eq(count[1], 1);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_none_healthy)
{
	struct shm_seg *seg = seg_with(2);

	shm_backend_set_up(seg, 0, 0);
	shm_backend_set_up(seg, 1, 0);
	ck_assert_int_eq(pick(seg, NULL), BALANCE_NONE_HEALTHY);
	ck_assert_uint_eq(balance_healthy(seg), 0);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_tried_excluded)
{
	struct shm_seg *seg = seg_with(3);
	struct balance_tried tried;
	int i;

	memset(&tried, 0, sizeof(tried));
	balance_tried_add(&tried, 0);
	balance_tried_add(&tried, 2);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick(seg, &tried), 1);
	balance_tried_add(&tried, 1);
	ck_assert_int_eq(pick(seg, &tried), BALANCE_ALL_TRIED);
	ck_assert(balance_tried_has(&tried, 2));
	shm_destroy(seg);
}
END_TEST

/* Processes forked after the mapping share one counter: the rotation is global. */
START_TEST(test_rotation_across_processes)
{
	struct shm_seg *seg = seg_with(3);
	int fds[2], p, i, st;
	unsigned count[3] = { 0 };
	unsigned char b;

	ck_assert_int_eq(pipe(fds), 0);
	for (p = 0; p < 3; p++) {
		pid_t pid = fork();

		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			for (i = 0; i < 100; i++) {
				b = (unsigned char)pick(seg, NULL);
				if (write(fds[1], &b, 1) != 1)
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	while (read(fds[0], &b, 1) == 1)
		count[b]++;
	for (p = 0; p < 3; p++) {
		ck_assert_int_ne(wait(&st), -1);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(count[2], 100);
	ck_assert_uint_eq(atomic_load(&seg->rr), 300);
	shm_destroy(seg);
}
END_TEST

/* A dead worker's requests in flight are taken off every backend. */
START_TEST(test_worker_reset)
{
	struct shm_seg *seg = seg_with(2);
	struct balance_ctx ctx = { .worker = 3 };
	char err[128];
	struct lb *lb = balance_new(&conf, key, err, sizeof(err));
	int i, b;

	for (i = 0; i < 10; i++) {
		b = balance_pick(lb, seg, &ctx);
		ck_assert_int_ge(b, 0);
	}
	ctx.worker = 1;
	b = balance_pick(lb, seg, &ctx);
	ck_assert_int_eq(atomic_load(&seg->backends[0].active) + atomic_load(&seg->backends[1].active), 11);
	balance_worker_reset(seg, 3);
	ck_assert_int_eq(atomic_load(&seg->backends[0].active) + atomic_load(&seg->backends[1].active), 1);
	ck_assert_int_eq(atomic_load(&seg->backends[b].wactive[1]), 1);
	balance_release(seg, 1, b);
	ck_assert_int_eq(atomic_load(&seg->backends[b].active), 0);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_carry_health)
{
	struct shm_seg *a = seg_with(3), *b = seg_with(2);

	shm_backend_set_up(a, 1, 0);
	atomic_store(&a->backends[1].checked, 1);
	shm_backend_set_up(b, 1, 1);
	shm_carry_health(b, a);
	ck_assert(shm_backend_up(b, 0));
	ck_assert(!shm_backend_up(b, 1));
	ck_assert_uint_eq(atomic_load(&b->backends[1].checked), 1);
	ck_assert_str_eq(b->backends[1].name, "http://127.0.0.1:5001");
	shm_destroy(a);
	shm_destroy(b);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("balance");
	TCase *tc = tcase_create("round-robin");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_rotation_even);
	tcase_add_test(tc, test_skips_unhealthy);
	tcase_add_test(tc, test_none_healthy);
	tcase_add_test(tc, test_tried_excluded);
	tcase_add_test(tc, test_rotation_across_processes);
	tcase_add_test(tc, test_carry_health);
	tcase_add_test(tc, test_worker_reset);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
