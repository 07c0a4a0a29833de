/*
 * least-connections over large groups, where a pick looks only at the blocks
 * whose floor (pool_words) is low enough: every pick is the exact lightest
 * one a look at every backend would find, through random requests, health
 * changes, drains, run-time weights, slow starts and limits; ties still go
 * round; what lowers a load reaches the floors (the done and changed hooks);
 * and floors stay lower bounds with two processes picking at once.
 */
#include "config.h"

#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balance.h"
#include "conf.h"
#include "policy.h"
#include "policy/policies.h"
#include "shm.h"

#define FLOOR_BITS	40	/* least_conn.c: the floor is the low 40 bits of its word */

static struct conf_backend backends[256];
static struct conf conf;
static uint64_t fake_now_ms = 1000000;

static uint64_t
fake_clock(void)
{
	return fake_now_ms;
}

/* n backends at http://127.0.0.1:6000+i, weight 1, up, with least-connections. */
static struct shm_seg *
seg_with(size_t n)
{
	struct conf c = { .nbackends = n, .backends = backends };
	char err[128];
	struct shm_seg *seg;
	size_t i;

	memset(backends, 0, sizeof(backends));
	for (i = 0; i < n; i++) {
		snprintf(err, sizeof(err), "http://127.0.0.1:%zu", 6000 + i);
		ck_assert_msg(conf_parse_url(err, &backends[i], err, sizeof(err)) == 0, "%s", err);
		backends[i].weight = 1;
	}
	seg = shm_create(&c, 2, err, sizeof(err));
	ck_assert_msg(seg != NULL, "%s", err);
	c.policy = &policy_least_conn;
	conf = c;
	return seg;
}

static struct lb *
lb_new(void)
{
	char err[128];
	struct lb *lb = balance_new(&conf, err, sizeof(err));

	ck_assert_msg(lb != NULL, "%s", err);
	balance_set_clock(lb, fake_clock);
	return lb;
}

static int
take(const struct lb *lb, struct shm_seg *seg, unsigned w)
{
	struct pick_ctx ctx = { .worker = w };

	return balance_pick(lb, seg, &ctx);
}

static int64_t
active(const struct shm_seg *seg, unsigned i)
{
	return atomic_load(&seg->backends[i].active);
}

/* Holds k requests on backend i. */
static void
hold(struct shm_seg *seg, unsigned i, int k)
{
	while (k-- > 0)
		balance_acquire(seg, 0, (int)i);
}

/* Weight times slow start, as the policy counts it. */
static uint64_t
weight_now(const struct shm_seg *seg, unsigned i)
{
	return (uint64_t)shm_backend_weight(seg, i) *
	    shm_backend_ramp(seg, i, conf.slow_start_ms, fake_now_ms);
}

/*
 * What a look at every backend finds: whether backend b is eligible and at
 * the lowest load per weight of all eligible ones (slow start included).
 */
static int
lightest(const struct shm_seg *seg, int b, char *why, size_t len)
{
	uint64_t best_a = 0, best_w = 0, a, w;
	uint32_t i;
	int found = 0, ok = 0;

	for (i = 0; i < seg->nbackends; i++) {
		if (!shm_backend_up(seg, i) || atomic_load(&seg->backends[i].drain) ||
		    shm_backend_passive_down(seg, i) ||
		    (backends[i].max_connections != 0 &&
		    active(seg, i) >= (int64_t)backends[i].max_connections))
			continue;
		a = (uint64_t)active(seg, i);
		w = weight_now(seg, i);
		if (!found || a * best_w < best_a * w) {
			best_a = a;
			best_w = w;
			found = 1;
		}
		if ((int)i == b)
			ok = 1;
	}
	if (b < 0) {
		snprintf(why, len, "no pick (%d) though some are eligible", b);
		return !found;
	}
	a = (uint64_t)active(seg, (unsigned)b);
	w = weight_now(seg, (unsigned)b);
	snprintf(why, len, "picked %d at %llu/%llu, lightest %llu/%llu", b,
	    (unsigned long long)a, (unsigned long long)w, (unsigned long long)best_a,
	    (unsigned long long)best_w);
	return ok && a * best_w == best_a * w;
}

/* A small generator of its own, so a failure can be replayed. */
static uint64_t rng_state;

static unsigned
rnd(unsigned n)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((rng_state >> 33) % n);
}

/*
 * Random requests taken and ended, backends going down and up, drained and
 * made ready, reweighted, passive-down, slow-starting, some with a limit:
 * every pick is the lightest. Group sizes 256, 40 (a short last block) and 17.
 */
START_TEST(test_exact)
{
	static const size_t sizes[] = { 256, 40, 17, 256 };
	size_t n = sizes[_i];
	struct shm_seg *seg = seg_with(n);
	static int held[4096];
	unsigned nheld = 0, i, op, picks = 0;
	struct lb *lb;
	char why[160];
	int b, step;

	rng_state = 0x5eed0000u + (unsigned)_i;
	for (i = 0; i < n; i++) {
		backends[i].weight = _i == 3 ? 1 : 1 + rnd(5);
		backends[i].max_connections = i % 7 == 3 ? 4 : 0;
	}
	shm_destroy(seg);	/* again, with those weights */
	seg = shm_create(&conf, 2, why, sizeof(why));
	ck_assert_msg(seg != NULL, "%s", why);
	conf.slow_start_ms = 20000;
	lb = lb_new();
	for (step = 0; step < 40000; step++) {
		op = rnd(100);
		if (op < 50 && nheld < 4096) {
			b = take(lb, seg, 0);
			ck_assert_msg(b >= 0 || lightest(seg, b, why, sizeof(why)), "step %d: %s", step, why);
			if (b >= 0) {
				/* Checked after the acquire: one request more than at the pick. */
				atomic_fetch_sub(&seg->backends[b].active, 1);
				ck_assert_msg(lightest(seg, b, why, sizeof(why)),
				    "step %d: %s", step, why);
				atomic_fetch_add(&seg->backends[b].active, 1);
				held[nheld++] = b;
				picks++;
			}
		} else if (op < 92 && nheld > 0) {
			i = rnd(nheld);
			balance_release(lb, seg, 0, held[i]);
			held[i] = held[--nheld];
		} else if (op < 94) {
			i = rnd((unsigned)n);
			shm_backend_set_up(seg, i, !shm_backend_up(seg, i));
			if (shm_backend_up(seg, i))
				atomic_store(&seg->backends[i].up_since_ms, fake_now_ms);
			balance_backend_changed(lb, seg, (int)i);
		} else if (op < 95) {
			i = rnd((unsigned)n);
			atomic_store(&seg->backends[i].drain, !atomic_load(&seg->backends[i].drain));
			balance_backend_changed(lb, seg, (int)i);
		} else if (op < 96) {
			i = rnd((unsigned)n);
			shm_backend_set_weight(seg, i, 1 + rnd(8));
			balance_backend_changed(lb, seg, (int)i);
		} else if (op < 97) {
			/* Passive health: in and out without telling the policy. */
			i = rnd((unsigned)n);
			atomic_store(&seg->backends[i].down_until_ms,
			    atomic_load(&seg->backends[i].down_until_ms) != 0 ? 0 : shm_now_ms() + 3600000);
		} else {
			fake_now_ms += 500;
		}
	}
	ck_assert_uint_gt(picks, 10000);
	while (nheld > 0)
		balance_release(lb, seg, 0, held[--nheld]);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* 64 idle backends: a rotation through all of them, each once per 64 picks. */
START_TEST(test_ties_rotate)
{
	struct shm_seg *seg = seg_with(64);
	struct lb *lb = lb_new();
	unsigned count[64] = { 0 }, round, i;
	int b;

	for (round = 0; round < 10; round++) {
		for (i = 0; i < 64; i++) {
			b = take(lb, seg, 0);
			ck_assert_int_ge(b, 0);
			ck_assert_uint_eq(count[b], round);	/* none twice before all once */
			count[b]++;
			balance_release(lb, seg, 0, b);
		}
	}
	/* The even ones busy: the odd ones take turns. */
	for (i = 0; i < 64; i += 2)
		hold(seg, i, 1);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 320; i++) {
		b = take(lb, seg, 0);
		ck_assert_int_eq(b % 2, 1);
		count[b]++;
		balance_release(lb, seg, 0, b);
	}
	for (i = 1; i < 64; i += 2)
		ck_assert_uint_eq(count[i], 10);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/*
 * 32 backends: the first block holds 3 each, the second 5 each, and a pick
 * has raised the second block's floor. Whatever makes a member of the second
 * block lighter must reach its floor, or the pick keeps to the first block.
 * Backend <out> (if any) holds nothing, and is taken out first by <take_out>:
 * set down, or drained.
 */
static struct shm_seg *
two_blocks(struct lb **lbp, unsigned out, void (*take_out)(struct shm_seg *, unsigned))
{
	struct shm_seg *seg = seg_with(32);
	struct lb *lb = lb_new();
	unsigned i;
	int b;

	if (take_out != NULL)
		take_out(seg, out);
	for (i = 0; i < 32; i++)
		if (i != out)
			hold(seg, i, i < 16 ? 3 : 5);
	b = take(lb, seg, 0);		/* looks at both blocks: raises the second one's floor */
	ck_assert_int_lt(b, 16);
	balance_release(lb, seg, 0, b);
	ck_assert_uint_ge(atomic_load(&seg->pick[1]) & ((UINT64_C(1) << FLOOR_BITS) - 1), 5u << 16);
	*lbp = lb;
	return seg;
}

static void
set_down(struct shm_seg *seg, unsigned i)
{
	shm_backend_set_up(seg, i, 0);
}

static void
set_drained(struct shm_seg *seg, unsigned i)
{
	atomic_store(&seg->backends[i].drain, 1);
}

START_TEST(test_hook_release)
{
	struct lb *lb;
	struct shm_seg *seg = two_blocks(&lb, 99, NULL);

	balance_release(lb, seg, 0, 30);
	balance_release(lb, seg, 0, 30);
	balance_release(lb, seg, 0, 30);	/* 2 now: the lightest */
	ck_assert_int_eq(take(lb, seg, 0), 30);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* 20 idle but down when the floor was raised; it comes up: picked at once. */
START_TEST(test_hook_health)
{
	struct lb *lb;
	struct shm_seg *seg = two_blocks(&lb, 20, set_down);

	shm_backend_set_up(seg, 20, 1);
	balance_backend_changed(lb, seg, 20);
	ck_assert_int_eq(take(lb, seg, 0), 20);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* 25 goes from weight 1 to 10 (5/10 < 3/1): picked until it holds 30. */
START_TEST(test_hook_weight)
{
	struct lb *lb;
	struct shm_seg *seg = two_blocks(&lb, 99, NULL);
	int i;

	shm_backend_set_weight(seg, 25, 10);
	balance_backend_changed(lb, seg, 25);
	for (i = 0; i < 25; i++)
		ck_assert_int_eq(take(lb, seg, 0), 25);
	ck_assert_int_eq(active(seg, 25), 30);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* 26 was drained (and empty) when the floor was raised; made ready: picked at once. */
START_TEST(test_hook_ready)
{
	struct lb *lb;
	struct shm_seg *seg = two_blocks(&lb, 26, set_drained);

	atomic_store(&seg->backends[26].drain, 0);
	balance_backend_changed(lb, seg, 26);
	ck_assert_int_eq(take(lb, seg, 0), 26);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* A worker died holding requests on 17: its count drops, and so does the floor. */
START_TEST(test_hook_worker_reset)
{
	struct lb *lb;
	struct shm_seg *seg = two_blocks(&lb, 99, NULL);
	int i;

	for (i = 0; i < 4; i++)
		balance_acquire(seg, 1, 17);
	balance_release(lb, seg, 0, 17);	/* 17: 5 of worker 0 and 4 of worker 1, then 4 + 4 */
	balance_worker_reset(lb, seg, 1);	/* 4 left: still not the lightest */
	ck_assert_int_lt(take(lb, seg, 0), 16);
	for (i = 0; i < 4; i++)
		balance_acquire(seg, 1, 17);
	for (i = 0; i < 4; i++)
		balance_release(lb, seg, 0, 17);	/* 0 of worker 0, 4 of worker 1 */
	balance_worker_reset(lb, seg, 1);	/* 0 */
	ck_assert_int_eq(take(lb, seg, 0), 17);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/*
 * After a reload, the previous generation's requests count in a member's load
 * but not in its block's floor (they end without this generation hearing of
 * it): 20 holds 4 old requests, the others 2 (first block) or 3 (second
 * block) new ones; once the old ones end, 20 is the lightest at once.
 */
START_TEST(test_previous_generation)
{
	struct shm_seg *seg = seg_with(32), *old;
	struct lb *lb = lb_new(), *lb_old = lb_new();
	char err[128];
	unsigned i;
	int b;

	old = shm_create(&conf, 2, err, sizeof(err));
	ck_assert_msg(old != NULL, "%s", err);
	hold(old, 20, 4);
	balance_set_previous(lb, seg, old);
	for (i = 0; i < 32; i++)
		if (i != 20)
			hold(seg, i, i < 16 ? 2 : 3);
	b = take(lb, seg, 0);	/* looks at both blocks */
	ck_assert_int_lt(b, 16);
	balance_release(lb, seg, 0, b);
	for (i = 0; i < 4; i++)
		balance_release(lb_old, old, 0, 20);
	ck_assert_int_eq(take(lb, seg, 0), 20);
	balance_set_previous(lb, seg, NULL);
	balance_free(lb);
	balance_free(lb_old);
	shm_destroy(old);
	shm_destroy(seg);
}
END_TEST

/*
 * Two processes take and end requests at random over 256 backends: when
 * both are done every count is back to 0, and every floor is at most what
 * its members allow (here: 0).
 */
START_TEST(test_two_processes)
{
	struct shm_seg *seg = seg_with(256);
	struct lb *lb = lb_new();
	int p, st, b, k, held[64], nheld;
	pid_t pid[2];
	unsigned i;

	for (p = 0; p < 2; p++) {
		pid[p] = fork();
		ck_assert_int_ge(pid[p], 0);
		if (pid[p] == 0) {
			rng_state = (uint64_t)p + 7;
			for (nheld = 0, k = 0; k < 100000; k++) {
				if (nheld < 64 && rnd(2) == 0) {
					if ((b = take(lb, seg, (unsigned)p)) < 0)
						_exit(2);
					held[nheld++] = b;
				} else if (nheld > 0) {
					i = rnd((unsigned)nheld);
					balance_release(lb, seg, (unsigned)p, held[i]);
					held[i] = held[--nheld];
				}
			}
			while (nheld > 0)
				balance_release(lb, seg, (unsigned)p, held[--nheld]);
			_exit(0);
		}
	}
	for (p = 0; p < 2; p++) {
		ck_assert_int_eq(waitpid(pid[p], &st, 0), pid[p]);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (i = 0; i < 256; i++)
		ck_assert_int_eq(active(seg, i), 0);
	for (i = 0; i < 256 / 16; i++)
		ck_assert_uint_eq(atomic_load(&seg->pick[i]) & ((UINT64_C(1) << FLOOR_BITS) - 1), 0);
	/* And the picks go on from there: idle, so the first block answers. */
	b = take(lb, seg, 0);
	ck_assert_int_ge(b, 0);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("leastconn");
	TCase *tc = tcase_create("large groups");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, test_exact, 0, 4);
	tcase_add_test(tc, test_ties_rotate);
	tcase_add_test(tc, test_hook_release);
	tcase_add_test(tc, test_hook_health);
	tcase_add_test(tc, test_hook_weight);
	tcase_add_test(tc, test_hook_ready);
	tcase_add_test(tc, test_hook_worker_reset);
	tcase_add_test(tc, test_previous_generation);
	tcase_add_test(tc, test_two_processes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
