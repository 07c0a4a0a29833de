/*
 * Every policy over the shared segment: round robin, smooth weighted round
 * robin, least connections, ip-hash (Maglev), random two choices; the
 * rotations' even spread over the backends left when others are out; then
 * what they share: maxConnections across workers, backups, tried backends
 * and the cleanup after a worker dies.
 */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "balance.h"
#include "conf.h"
#include "policy.h"
#include "policy/policies.h"
#include "shm.h"

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* The policies by the names of the configuration, for loop tests. */
enum { ALGO_RR, ALGO_WRR, ALGO_LC, ALGO_IP_HASH, ALGO_TWO, NALGO };
static const char *const algo_names[NALGO] = {
	"round-robin", "weighted-round-robin", "least-connections", "ip-hash", "random-two-choices",
};

static struct conf_backend backends[256];
static struct conf conf;

/*
 * A segment for n backends at http://127.0.0.1:5000+i, all up, each of weight
 * 1, unlimited, primary; conf describes them (with round robin). Tests change
 * backends[] before lb_for().
 */
/* Fills b from url as the configuration would (an IP literal: nothing to resolve), weight 1. */
static void
url_backend(struct conf_backend *b, const char *url)
{
	char err[256];

	ck_assert_msg(conf_parse_url(url, b, err, sizeof(err)) == 0, "%s: %s", url, err);
	b->weight = 1;
}

static struct shm_seg *
seg_with(size_t n)
{
	struct conf c = { .nbackends = n, .backends = backends };
	char err[128];
	struct shm_seg *seg;
	size_t i;

	memset(backends, 0, sizeof(backends));
	for (i = 0; i < n; i++) {
		snprintf(err, sizeof(err), "http://127.0.0.1:%zu", 5000 + i);
		url_backend(&backends[i], err);
	}
	seg = shm_create(&c, 2, err, sizeof(err));
	ck_assert_msg(seg != NULL, "%s", err);
	conf = c;
	return seg;
}

/* Picks for a request that tried nothing yet, releasing at once. */
static int
pick(struct shm_seg *seg, const struct pick_tried *tried)
{
	struct pick_ctx ctx = { .worker = 0 };
	char err[128];
	struct lb *lb = balance_new(&conf, err, sizeof(err));
	int b;

	ck_assert_msg(lb != NULL, "%s", err);
	if (tried != NULL)
		ctx.tried = *tried;
	b = balance_pick(lb, seg, &ctx);
	if (b >= 0)
		balance_release(lb, seg, 0, b);
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

/* Number of backends up right now. */
static unsigned
healthy(const struct shm_seg *seg)
{
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < seg->nbackends; i++)
		n += shm_backend_up(seg, i);
	return n;
}

START_TEST(test_skips_unhealthy)
{
	struct shm_seg *seg = seg_with(3);
	unsigned count[3] = { 0 };
	int i;

	shm_backend_set_up(seg, 1, 0);
	ck_assert_uint_eq(healthy(seg), 2);
	for (i = 0; i < 300; i++)
		count[pick(seg, NULL)]++;
	ck_assert_uint_eq(count[1], 0);
	ck_assert_uint_eq(count[0] + count[2], 300);
	/* The down one's turns are shared, not all given to the one after it. */
	ck_assert_uint_eq(count[0], 150);
	ck_assert_uint_eq(count[2], 150);
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
	ck_assert_int_eq(pick(seg, NULL), PICK_NONE_HEALTHY);
	ck_assert_uint_eq(healthy(seg), 0);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_tried_excluded)
{
	struct shm_seg *seg = seg_with(3);
	struct pick_tried tried;
	int i;

	memset(&tried, 0, sizeof(tried));
	pick_tried_add(&tried, 0);
	pick_tried_add(&tried, 2);
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick(seg, &tried), 1);
	pick_tried_add(&tried, 1);
	ck_assert_int_eq(pick(seg, &tried), PICK_ALL_TRIED);
	ck_assert(pick_tried_has(&tried, 2));
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
	struct pick_ctx ctx = { .worker = 3 };
	char err[128];
	struct lb *lb = balance_new(&conf, err, sizeof(err));
	int i, b;

	for (i = 0; i < 10; i++) {
		b = balance_pick(lb, seg, &ctx);
		ck_assert_int_ge(b, 0);
	}
	ctx.worker = 1;
	b = balance_pick(lb, seg, &ctx);
	ck_assert_int_eq(atomic_load(&seg->backends[0].active) + atomic_load(&seg->backends[1].active), 11);
	balance_worker_reset(lb, seg, 3);
	ck_assert_int_eq(atomic_load(&seg->backends[0].active) + atomic_load(&seg->backends[1].active), 1);
	ck_assert_int_eq(atomic_load(&seg->backends[b].wactive[1]), 1);
	balance_release(lb, seg, 1, b);
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

/* The balancer for conf with algorithm a. */
static struct lb *
lb_for(int a)
{
	char err[128];
	struct lb *lb;

	conf.policy = policy_find(algo_names[a], NULL);
	lb = balance_new(&conf, err, sizeof(err));
	ck_assert_msg(lb != NULL, "%s", err);
	return lb;
}

/* One pick by worker slot w that keeps what it acquired. */
static int
take(const struct lb *lb, struct shm_seg *seg, unsigned w)
{
	struct pick_ctx ctx = { .worker = w };

	return balance_pick(lb, seg, &ctx);
}

/* One pick for client key k, released at once. */
static int
take_key(const struct lb *lb, struct shm_seg *seg, uint64_t k)
{
	struct pick_ctx ctx = { .has_key = 1, .key = k };
	int b = balance_pick(lb, seg, &ctx);

	if (b >= 0)
		balance_release(lb, seg, 0, b);
	return b;
}

/* One pick, released at once. */
static int
pick_lb(const struct lb *lb, struct shm_seg *seg)
{
	int b = take(lb, seg, 0);

	if (b >= 0)
		balance_release(lb, seg, 0, b);
	return b;
}

static int64_t
active(const struct shm_seg *seg, int i)
{
	return atomic_load(&seg->backends[i].active);
}

/* The key of client 10.a.b.c, where i = a<<16 | b<<8 | c. */
static uint64_t
client_key(const struct lb *lb, uint32_t i)
{
	struct sockaddr_in sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(0x0a000000u | (i & 0xffffffu));
	return balance_client_key(lb, (const struct sockaddr *)&sin);
}

/* Weighted round robin */

START_TEST(test_wrr_smooth)
{
	static const int want[] = { 0, 0, 1, 0, 2, 0, 0 };	/* a a b a c a a */
	struct shm_seg *seg = seg_with(3);
	struct lb *lb;
	int i, b;

	backends[0].weight = 5;
	lb = lb_for(ALGO_WRR);
	for (i = 0; i < 21; i++) {
		b = pick_lb(lb, seg);
		ck_assert_msg(b == want[i % 7], "pick %d: got %d, want %d", i, b, want[i % 7]);
	}
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_wrr_3_to_1)
{
	struct shm_seg *seg = seg_with(2);
	unsigned count[2] = { 0 };
	struct lb *lb;
	int i, run = 0, prev = -1;

	backends[0].weight = 3;
	lb = lb_for(ALGO_WRR);
	for (i = 0; i < 400; i++) {
		int b = pick_lb(lb, seg);

		count[b]++;
		run = b == prev ? run + 1 : 1;
		prev = b;
		ck_assert_int_le(run, 3);
	}
	ck_assert_uint_eq(count[0], 300);
	ck_assert_uint_eq(count[1], 100);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Equal weights are plain round robin; weights with a common divisor reduce. */
START_TEST(test_wrr_reduced)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb;
	int i;

	backends[0].weight = backends[1].weight = backends[2].weight = 400;
	lb = lb_for(ALGO_WRR);
	for (i = 0; i < 9; i++)
		ck_assert_int_eq(pick_lb(lb, seg), i % 3);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* A down backend's entries are passed over: the others keep their proportions. */
START_TEST(test_wrr_skips_unhealthy)
{
	struct shm_seg *seg = seg_with(3);
	unsigned count[3] = { 0 };
	struct lb *lb;
	int i;

	backends[0].weight = 5;
	lb = lb_for(ALGO_WRR);
	shm_backend_set_up(seg, 0, 0);
	for (i = 0; i < 700; i++)
		count[pick_lb(lb, seg)]++;
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_ge(count[1], 315);
	ck_assert_uint_ge(count[2], 315);
	shm_backend_set_up(seg, 0, 1);
	shm_backend_set_up(seg, 2, 0);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 600; i++)
		count[pick_lb(lb, seg)]++;
	ck_assert_uint_eq(count[2], 0);
	ck_assert_uint_eq(count[0], 500);	/* 5:1, exactly: every draw is one step */
	ck_assert_uint_eq(count[1], 100);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Workers in separate processes share one sequence: 3 x 70 picks of 5,1,1 = 150/30/30. */
START_TEST(test_wrr_across_processes)
{
	struct shm_seg *seg = seg_with(3);
	unsigned count[3] = { 0 };
	int fds[2], p, i, st;
	unsigned char b;
	struct lb *lb;

	backends[0].weight = 5;
	lb = lb_for(ALGO_WRR);
	ck_assert_int_eq(pipe(fds), 0);
	for (p = 0; p < 3; p++) {
		pid_t pid = fork();

		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			for (i = 0; i < 70; i++) {
				b = (unsigned char)take(lb, seg, (unsigned)p);
				balance_release(lb, seg, (unsigned)p, b);
				if (write(fds[1], &b, 1) != 1)
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	while (read(fds[0], &b, 1) == 1)
		count[b]++;
	close(fds[0]);
	for (p = 0; p < 3; p++) {
		ck_assert_int_ne(wait(&st), -1);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_uint_eq(count[0], 150);
	ck_assert_uint_eq(count[1], 30);
	ck_assert_uint_eq(count[2], 30);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Least connections */

START_TEST(test_leastconn_fewest)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb = lb_for(ALGO_LC);
	int i;

	balance_acquire(seg, 0, 0);
	balance_acquire(seg, 0, 0);
	balance_acquire(seg, 1, 1);	/* another worker's requests count as much */
	for (i = 0; i < 10; i++)
		ck_assert_int_eq(pick_lb(lb, seg), 2);
	/* Held 2, 1, 0: the idle one, then 1 and 2 tie, then the other of them. */
	ck_assert_int_eq(take(lb, seg, 0), 2);
	i = take(lb, seg, 0);
	ck_assert(i == 1 || i == 2);
	ck_assert_int_eq(take(lb, seg, 0), 3 - i);
	ck_assert_int_eq(active(seg, 0), 2);
	ck_assert_int_eq(active(seg, 1), 2);
	ck_assert_int_eq(active(seg, 2), 2);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/*
 * After a reload the previous generation's requests in flight count, matched
 * by URL: least-connections avoids the busy backends, maxConnections holds.
 */
START_TEST(test_previous_generation)
{
	struct shm_seg *old = seg_with(3), *seg;
	struct lb *lb;
	int i, b;

	balance_acquire(old, 0, 0);
	balance_acquire(old, 0, 0);
	balance_acquire(old, 1, 1);
	seg = seg_with(4);		/* the same three URLs and a new one */
	lb = lb_for(ALGO_LC);
	for (i = 0; i < 10; i++) {
		b = pick_lb(lb, seg);
		ck_assert(b == 0 || b == 1 || b == 2 || b == 3);
	}
	balance_set_previous(lb, seg, old);
	for (i = 0; i < 10; i++) {
		b = pick_lb(lb, seg);
		ck_assert_msg(b == 2 || b == 3, "picked %d, busy in the old generation", b);
	}
	ck_assert_int_eq(take(lb, seg, 0) + take(lb, seg, 0), 5);	/* 2 and 3 */
	b = pick_lb(lb, seg);
	ck_assert_msg(b == 1 || b == 2 || b == 3, "picked %d", b);
	ck_assert_int_eq(active(seg, 0), 0);
	balance_set_previous(lb, seg, NULL);	/* the old requests are forgotten: */
	for (i = 0, b = 0; i < 10; i++)
		b |= 1 << pick_lb(lb, seg);
	ck_assert_int_eq(b, 1 << 0 | 1 << 1);	/* 0 and 1 tie, below 2 and 3 */
	balance_free(lb);
	shm_destroy(seg);

	/* maxConnections 1 each: the old generation holds backends 0 and 1. */
	seg = seg_with(4);
	for (i = 0; i < 4; i++)
		backends[i].max_connections = 1;
	lb = lb_for(ALGO_RR);
	balance_release(lb, old, 0, 0);	/* old: 0 holds 1, 1 holds 1 */
	balance_set_previous(lb, seg, old);
	b = take(lb, seg, 0);
	ck_assert_int_eq(b + take(lb, seg, 0), 5);
	ck_assert(b == 2 || b == 3);
	ck_assert_int_eq(take(lb, seg, 0), PICK_ALL_FULL);
	balance_release(lb, old, 0, 0);	/* an old request ends */
	ck_assert_int_eq(take(lb, seg, 0), 0);
	ck_assert_int_eq(take(lb, seg, 0), PICK_ALL_FULL);
	balance_free(lb);
	shm_destroy(seg);
	shm_destroy(old);
}
END_TEST

/* Idle backends tie: the tie goes round, never always to the first one. */
START_TEST(test_leastconn_ties_rotate)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb = lb_for(ALGO_LC);
	unsigned count[3] = { 0 };
	int i, b, prev = -1;

	for (i = 0; i < 300; i++) {
		b = pick_lb(lb, seg);
		ck_assert_int_ne(b, prev);
		prev = b;
		count[b]++;
	}
	ck_assert_uint_eq(count[0], 100);
	ck_assert_uint_eq(count[1], 100);
	ck_assert_uint_eq(count[2], 100);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Weighted: requests held settle at active/weight equal, 3:1. */
START_TEST(test_leastconn_weighted)
{
	struct shm_seg *seg = seg_with(2);
	struct lb *lb;
	unsigned count[2] = { 0 };
	int i;

	backends[0].weight = 3;
	lb = lb_for(ALGO_LC);
	for (i = 0; i < 40; i++)
		ck_assert_int_ge(take(lb, seg, (unsigned)i % 4), 0);
	ck_assert_int_eq(active(seg, 0), 30);
	ck_assert_int_eq(active(seg, 1), 10);
	/* Idle, ties are broken by the weighted sequence: still 3:1. */
	balance_worker_reset(lb, seg, 0);
	balance_worker_reset(lb, seg, 1);
	balance_worker_reset(lb, seg, 2);
	balance_worker_reset(lb, seg, 3);
	ck_assert_int_eq(active(seg, 0) + active(seg, 1), 0);
	for (i = 0; i < 400; i++)
		count[pick_lb(lb, seg)]++;
	ck_assert_uint_eq(count[0], 300);
	ck_assert_uint_eq(count[1], 100);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Random two choices */

START_TEST(test_two_prefers_less_loaded)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb = lb_for(ALGO_TWO);
	unsigned count[3] = { 0 };
	int i;

	for (i = 0; i < 5; i++)
		balance_acquire(seg, 1, 0);
	/* Every pair holds 1 or 2, both lighter than 0. */
	for (i = 0; i < 3000; i++)
		count[pick_lb(lb, seg)]++;
	ck_assert_uint_eq(count[0], 0);
	ck_assert_uint_ge(count[1], 1200);
	ck_assert_uint_ge(count[2], 1200);
	/* Two backends: always the lighter. */
	balance_free(lb);
	shm_destroy(seg);
	seg = seg_with(2);
	lb = lb_for(ALGO_TWO);
	balance_acquire(seg, 0, 1);
	for (i = 0; i < 100; i++)
		ck_assert_int_eq(pick_lb(lb, seg), 0);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/*
 * Picks spread evenly, and held requests stay close to even: two choices keep
 * the spread small (in 3000 runs of 400 picks over 4 backends it never
 * passed 8, where placing at random drifts by about 20).
 */
START_TEST(test_two_balances_held)
{
	struct shm_seg *seg = seg_with(4);
	struct lb *lb = lb_for(ALGO_TWO);
	unsigned count[4] = { 0 };
	int64_t lo, hi;
	int i, j;

	for (i = 0; i < 4000; i++)
		count[pick_lb(lb, seg)]++;
	for (i = 0; i < 4; i++)
		ck_assert_msg(count[i] > 850 && count[i] < 1150, "backend %d: %u of 4000", i, count[i]);
	for (i = 0; i < 400; i++) {
		ck_assert_int_ge(take(lb, seg, 0), 0);
		lo = hi = active(seg, 0);
		for (j = 1; j < 4; j++) {
			lo = active(seg, j) < lo ? active(seg, j) : lo;
			hi = active(seg, j) > hi ? active(seg, j) : hi;
		}
		ck_assert_int_le(hi - lo, 12);
	}
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* ip-hash */

START_TEST(test_hash_stable)
{
	struct shm_seg *seg = seg_with(5);
	struct lb *lb = lb_for(ALGO_IP_HASH);
	uint32_t c;
	int i, b;

	for (c = 0; c < 200; c++) {
		b = take_key(lb, seg, client_key(lb, c));
		ck_assert_int_ge(b, 0);
		for (i = 0; i < 5; i++)
			ck_assert_int_eq(take_key(lb, seg, client_key(lb, c)), b);
	}
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_hash_distribution)
{
	struct shm_seg *seg = seg_with(5);
	struct lb *lb = lb_for(ALGO_IP_HASH);
	unsigned count[5] = { 0 };
	uint32_t c;
	int i;

	for (c = 0; c < 100000; c++)
		count[take_key(lb, seg, client_key(lb, c))]++;
	for (i = 0; i < 5; i++)
		ck_assert_msg(count[i] >= 18000 && count[i] <= 22000, "backend %d: %u of 100000",
		    i, count[i]);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_hash_weighted)
{
	struct shm_seg *seg = seg_with(2);
	struct lb *lb;
	unsigned count[2] = { 0 };
	uint32_t c;

	backends[1].weight = 3;
	lb = lb_for(ALGO_IP_HASH);
	for (c = 0; c < 100000; c++)
		count[take_key(lb, seg, client_key(lb, c))]++;
	ck_assert_msg(count[0] >= 23000 && count[0] <= 27000, "weight 1: %u of 100000", count[0]);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* A backend goes down: only its clients move, spread over all the others. */
START_TEST(test_hash_backend_down)
{
	struct shm_seg *seg = seg_with(5);
	struct lb *lb = lb_for(ALGO_IP_HASH);
	static unsigned char before[100000];
	unsigned moved_to[5] = { 0 }, orphans = 0;
	uint32_t c;
	int b, i;

	for (c = 0; c < 100000; c++)
		before[c] = (unsigned char)take_key(lb, seg, client_key(lb, c));
	shm_backend_set_up(seg, 2, 0);
	for (c = 0; c < 100000; c++) {
		b = take_key(lb, seg, client_key(lb, c));
		ck_assert_int_ne(b, 2);
		if (before[c] != 2) {
			ck_assert_int_eq(b, before[c]);
			continue;
		}
		orphans++;
		moved_to[b]++;
	}
	for (i = 0; i < 5; i++)
		if (i != 2)
			ck_assert_msg(moved_to[i] > orphans / 4 * 8 / 10 && moved_to[i] < orphans / 4 * 12 / 10,
			    "backend %d took %u of the %u clients of the down one", i, moved_to[i], orphans);
	/* Back up: everybody returns home. */
	shm_backend_set_up(seg, 2, 1);
	for (c = 0; c < 100000; c++)
		ck_assert_int_eq(take_key(lb, seg, client_key(lb, c)), before[c]);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* One of 5 removed from the configuration: its clients move, few others do. */
START_TEST(test_hash_backend_removed)
{
	static char from[100000][CONF_URL_MAX / 8];
	struct conf_backend five[5], four[4];
	struct conf c5 = { .nbackends = 5, .backends = five, .policy = &policy_hash };
	struct conf c4 = { .nbackends = 4, .backends = four, .policy = &policy_hash };
	struct shm_seg *s5, *s4;
	struct lb *l5, *l4;
	unsigned moved = 0, moved_other = 0;
	char err[128];
	uint32_t c;
	int i, b;

	memset(five, 0, sizeof(five));
	memset(four, 0, sizeof(four));
	for (i = 0; i < 5; i++) {
		snprintf(err, sizeof(err), "http://10.0.0.%d:8080", i + 1);
		url_backend(&five[i], err);
	}
	memcpy(&four[0], &five[0], 2 * sizeof(five[0]));	/* five[2] removed */
	memcpy(&four[2], &five[3], 2 * sizeof(five[0]));
	ck_assert_ptr_nonnull(s5 = shm_create(&c5, 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(s4 = shm_create(&c4, 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(l5 = balance_new(&c5, err, sizeof(err)));
	ck_assert_ptr_nonnull(l4 = balance_new(&c4, err, sizeof(err)));
	for (c = 0; c < 100000; c++) {
		b = take_key(l5, s5, client_key(l5, c));
		snprintf(from[c], sizeof(from[c]), "%s", five[b].url);
	}
	for (c = 0; c < 100000; c++) {
		b = take_key(l4, s4, client_key(l4, c));
		if (strcmp(from[c], four[b].url) == 0)
			continue;
		moved++;
		if (strcmp(from[c], five[2].url) != 0)
			moved_other++;
	}
	/* 1/5 must move; Maglev moves a few more (0.1% here), a modulo would move 4/5. */
	ck_assert_msg(moved <= 21000, "%u of 100000 clients moved", moved);
	ck_assert_msg(moved_other <= 1000, "%u clients of the remaining backends moved", moved_other);
	balance_free(l5);
	balance_free(l4);
	shm_destroy(s5);
	shm_destroy(s4);
}
END_TEST

/*
 * The rotations (round robin, weighted round robin with equal weights, ties
 * of least connections) with some backends out: loop tests over the first
 * three algorithms, _i.
 */

#define EVEN_WINDOW	30
#define EVEN_PICKS	300

/*
 * <picks> picks by worker slot w, each released at once (so least connections
 * sees nothing but ties): only the backends in the bit mask <want> may get
 * them, and each of those 1/k of every EVEN_WINDOW picks in a row, give or
 * take one.
 */
static void
assert_even(const struct lb *lb, struct shm_seg *seg, unsigned w, uint64_t want, int picks)
{
	int hist[EVEN_PICKS], count[64], i, j, b, k = __builtin_popcountll(want);

	ck_assert_int_le(picks, EVEN_PICKS);
	for (i = 0; i < picks; i++) {
		b = take(lb, seg, w);
		ck_assert_msg(b >= 0 && b < 64 && (want >> b & 1), "pick %d went to %d", i, b);
		balance_release(lb, seg, w, b);
		hist[i] = b;
	}
	for (i = 0; i + EVEN_WINDOW <= picks; i++) {
		memset(count, 0, sizeof(count));
		for (j = i; j < i + EVEN_WINDOW; j++)
			count[hist[j]]++;
		for (b = 0; b < 64; b++)
			ck_assert_msg(!(want >> b & 1) || abs(count[b] * k - EVEN_WINDOW) <= k,
			    "picks %d to %d: backend %d got %d (%d up)", i, i + EVEN_WINDOW - 1,
			    b, count[b], k);
	}
}

/* k of n up: each of the k gets 1/k, whichever ones are down. */
START_TEST(test_even_k_of_n)
{
	static const struct {
		size_t n;
		uint64_t up;
	} cases[] = {
		{ 5, 0x03 },		/* the tutorial: 5 servers, 5001 and 5002 up */
		{ 3, 0x05 },		/* 3, the middle one killed */
		{ 3, 0x03 },		/* 3, the last one killed */
		{ 5, 0x1a },
		{ 8, 0x81 },
		{ 40, 0x03 },		/* most of them down, two left side by side */
		{ 40, 0x8000000001ull },
	};
	struct shm_seg *seg;
	struct lb *lb;
	size_t c, i;

	for (c = 0; c < NELEM(cases); c++) {
		seg = seg_with(cases[c].n);
		lb = lb_for(_i);
		for (i = 0; i < cases[c].n; i++)
			shm_backend_set_up(seg, (unsigned)i, (cases[c].up >> i) & 1);
		assert_even(lb, seg, 0, cases[c].up, EVEN_PICKS);
		/* One more goes down: the rest share again. */
		for (i = 0; i < cases[c].n && !((cases[c].up >> i) & 1); i++)
			;
		if (__builtin_popcountll(cases[c].up) > 2) {
			shm_backend_set_up(seg, (unsigned)i, 0);
			assert_even(lb, seg, 1, cases[c].up & ~(1ull << i), EVEN_PICKS);
		}
		balance_free(lb);
		shm_destroy(seg);
	}
}
END_TEST

/* Drained by the admin, out by passive health: shared like down. */
START_TEST(test_even_drained)
{
	struct shm_seg *seg = seg_with(5);
	struct lb *lb = lb_for(_i);

	atomic_store(&seg->backends[1].drain, 1);
	assert_even(lb, seg, 0, 0x1d, EVEN_PICKS);
	atomic_store(&seg->backends[2].down_until_ms, shm_now_ms() + 60000);
	assert_even(lb, seg, 0, 0x19, EVEN_PICKS);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* A backend at maxConnections (another worker holds its place): the rest share. */
START_TEST(test_even_full)
{
	struct shm_seg *seg = seg_with(4);
	struct lb *lb;

	backends[0].max_connections = 1;
	lb = lb_for(_i);
	balance_acquire(seg, 1, 0);
	assert_even(lb, seg, 0, 0x0e, EVEN_PICKS);
	balance_release(lb, seg, 1, 0);
	assert_even(lb, seg, 0, 0x0f, EVEN_PICKS);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* The backups take over, one of them down: the other two share. */
START_TEST(test_even_backups)
{
	struct shm_seg *seg = seg_with(5);
	struct lb *lb;

	backends[2].backup = backends[3].backup = backends[4].backup = 1;
	lb = lb_for(_i);
	shm_backend_set_up(seg, 0, 0);
	shm_backend_set_up(seg, 1, 0);
	shm_backend_set_up(seg, 3, 0);
	assert_even(lb, seg, 0, 0x14, EVEN_PICKS);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Two processes picking at once over 2 of 5: one balancer, 150 each of 300. */
START_TEST(test_even_across_processes)
{
	struct shm_seg *seg = seg_with(5);
	unsigned count[5] = { 0 };
	int fds[2], p, i, st;
	unsigned char b;
	struct lb *lb = lb_for(_i);

	shm_backend_set_up(seg, 1, 0);
	shm_backend_set_up(seg, 2, 0);
	shm_backend_set_up(seg, 4, 0);
	ck_assert_int_eq(pipe(fds), 0);
	for (p = 0; p < 2; p++) {
		pid_t pid = fork();

		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			for (i = 0; i < 150; i++) {
				b = (unsigned char)take(lb, seg, (unsigned)p);
				balance_release(lb, seg, (unsigned)p, b);
				if (write(fds[1], &b, 1) != 1)
					_exit(1);
			}
			_exit(0);
		}
	}
	close(fds[1]);
	while (read(fds[0], &b, 1) == 1)
		count[b < 5 ? b : 1]++;
	close(fds[0]);
	for (p = 0; p < 2; p++) {
		ck_assert_int_ne(wait(&st), -1);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_uint_eq(count[1] + count[2] + count[4], 0);
	/* Least connections: a pick may see the other's request in flight. */
	ck_assert_uint_eq(count[0] + count[3], 300);
	ck_assert_msg((count[0] >= 149 && count[0] <= 151) ||
	    (_i == ALGO_LC && count[0] >= 135 && count[0] <= 165),
	    "300 picks over 0 and 3: %u and %u", count[0], count[3]);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/*
 * Weighted round robin with the heavy backends down: the light ones left
 * share evenly, and by weight, however far apart their entries are in the
 * sequence (1 in 3002 here).
 */
START_TEST(test_wrr_heavy_down)
{
	static const unsigned weights[][5] = {
		{ 1000, 1000, 1000, 1, 1 },
		{ 10, 10, 10, 1, 1 },
		{ 1000, 999, 7, 1, 1 },
	};
	struct shm_seg *seg;
	unsigned count[5];
	struct lb *lb;
	size_t c, i;

	for (c = 0; c < NELEM(weights); c++) {
		seg = seg_with(5);
		for (i = 0; i < 5; i++)
			backends[i].weight = weights[c][i];
		lb = lb_for(ALGO_WRR);
		shm_backend_set_up(seg, 0, 0);
		shm_backend_set_up(seg, 1, 0);
		shm_backend_set_up(seg, 2, 0);
		assert_even(lb, seg, 0, 0x18, EVEN_PICKS);
		/* Weights 2 and 1 left: 200 and 100 of 300. */
		backends[3].weight = 2;
		balance_free(lb);
		lb = lb_for(ALGO_WRR);
		memset(count, 0, sizeof(count));
		for (i = 0; i < 300; i++)
			count[pick_lb(lb, seg)]++;
		ck_assert_msg(count[3] >= 199 && count[3] <= 201 && count[4] + count[3] == 300,
		    "weights %u,%u,%u,2,1, the first three down: %u and %u of 300",
		    weights[c][0], weights[c][1], weights[c][2], count[3], count[4]);
		balance_free(lb);
		shm_destroy(seg);
	}
}
END_TEST

/* ip-hash: when most are down, the clients left over spread over all the rest. */
/* The backends of two balancers built alone: the URL (normalised) each key goes to. */
struct hash_pair {
	struct conf_backend a[8], b[8];
	struct conf ca, cb;
	struct shm_seg *sa, *sb;
	struct lb *la, *lb;
};

static void
hash_pair_build(struct hash_pair *h, const char *seed_a, const char *seed_b)
{
	/* Same servers, other order, written differently: same normalised URLs. */
	static const char *const ua[8] = {
		"http://10.0.0.1", "http://10.0.0.2:8080", "http://10.0.0.3:8080",
		"http://10.0.0.4:8080", "https://10.0.0.5", "http://[::1]:9000",
		"http://10.0.0.7:8080", "http://10.0.0.8:8080",
	};
	static const char *const ub[8] = {
		"http://10.0.0.8:8080/", "https://10.0.0.5:443", "http://10.0.0.3:8080",
		"http://10.0.0.1:80/", "http://[::1]:9000/", "http://10.0.0.7:8080",
		"http://10.0.0.2:8080", "http://10.0.0.4:8080",
	};
	char err[128];
	int i;

	memset(h, 0, sizeof(*h));
	for (i = 0; i < 8; i++) {
		url_backend(&h->a[i], ua[i]);
		url_backend(&h->b[i], ub[i]);
	}
	h->a[1].weight = h->b[6].weight = 3;	/* 10.0.0.2 weighs 3 in both */
	h->ca = (struct conf){ .nbackends = 8, .backends = h->a, .policy = &policy_hash,
	    .hash_seed = (char *)seed_a };
	h->cb = (struct conf){ .nbackends = 8, .backends = h->b, .policy = &policy_hash,
	    .hash_seed = (char *)seed_b };
	ck_assert_ptr_nonnull(h->sa = shm_create(&h->ca, 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(h->sb = shm_create(&h->cb, 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(h->la = balance_new(&h->ca, err, sizeof(err)));
	ck_assert_ptr_nonnull(h->lb = balance_new(&h->cb, err, sizeof(err)));
}

static void
hash_pair_free(struct hash_pair *h)
{
	balance_free(h->la);
	balance_free(h->lb);
	shm_destroy(h->sa);
	shm_destroy(h->sb);
}

/* How many of 20000 header values go to a different server under a and b. */
static unsigned
hash_pair_differ(struct hash_pair *h)
{
	char v[32];
	unsigned c, differ = 0;
	int x, y, n;

	for (c = 0; c < 20000; c++) {
		n = snprintf(v, sizeof(v), "user-%u", c);
		x = take_key(h->la, h->sa, balance_key(h->la, v, (size_t)n));
		y = take_key(h->lb, h->sb, balance_key(h->lb, v, (size_t)n));
		ck_assert_int_ge(x, 0);
		ck_assert_int_ge(y, 0);
		differ += h->a[x].port != h->b[y].port || h->a[x].tls != h->b[y].tls ||
		    strcmp(h->a[x].host, h->b[y].host) != 0;
	}
	return differ;
}

/* Two balancers built alone from the same servers in another order agree on every key. */
START_TEST(test_hash_identical)
{
	struct hash_pair h;
	unsigned differ;

	hash_pair_build(&h, "s3cret", "s3cret");
	ck_assert_uint_eq(hash_pair_differ(&h), 0);
	hash_pair_free(&h);
	hash_pair_build(&h, NULL, NULL);
	ck_assert_uint_eq(hash_pair_differ(&h), 0);
	hash_pair_free(&h);
	/* The seed is all that tells two such tables apart. */
	hash_pair_build(&h, "one", "two");
	differ = hash_pair_differ(&h);
	ck_assert_msg(differ > 10000, "only %u of 20000 keys moved with another seed", differ);
	hash_pair_free(&h);
}
END_TEST

/*
 * Removing one of N moves about 1/N of the keys (those of the one removed, and
 * few others); putting it back brings every key home. N = 5, 10 and 20.
 */
START_TEST(test_hash_one_of_n)
{
	static const size_t ns[] = { 5, 10, 20 };
	static uint8_t home[50000];
	size_t n = ns[_i], i;
	struct conf_backend all[20], less[20];
	struct conf call = { .nbackends = n, .backends = all, .policy = &policy_hash };
	struct conf cless = { .nbackends = n - 1, .backends = less, .policy = &policy_hash };
	struct shm_seg *sall, *sless;
	struct lb *lall, *lless, *lback;
	unsigned moved = 0, c;
	char err[128], v[40];
	int b, len;

	for (i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "http://10.1.0.%zu", i + 1);
		url_backend(&all[i], v);
	}
	memcpy(less, all, 3 * sizeof(all[0]));		/* all[3] removed */
	memcpy(less + 3, all + 4, (n - 4) * sizeof(all[0]));
	ck_assert_ptr_nonnull(sall = shm_create(&call, 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(sless = shm_create(&cless, 1, err, sizeof(err)));
	ck_assert_ptr_nonnull(lall = balance_new(&call, err, sizeof(err)));
	ck_assert_ptr_nonnull(lless = balance_new(&cless, err, sizeof(err)));
	for (c = 0; c < 50000; c++) {
		len = snprintf(v, sizeof(v), "%u", c);
		home[c] = (uint8_t)take_key(lall, sall, balance_key(lall, v, (size_t)len));
	}
	for (c = 0; c < 50000; c++) {
		len = snprintf(v, sizeof(v), "%u", c);
		b = take_key(lless, sless, balance_key(lless, v, (size_t)len));
		if (strcmp(less[b].host, all[home[c]].host) != 0)
			moved++;
		else
			ck_assert_int_ne(home[c], 3);
	}
	ck_assert_msg(moved <= 50000 / n * 11 / 10, "%u of 50000 keys moved, 1/%zu is %zu", moved,
	    n, 50000 / n);
	/* Back in the configuration: a new balancer, the same table. */
	ck_assert_ptr_nonnull(lback = balance_new(&call, err, sizeof(err)));
	for (c = 0; c < 50000; c++) {
		len = snprintf(v, sizeof(v), "%u", c);
		ck_assert_int_eq(take_key(lback, sall, balance_key(lback, v, (size_t)len)), home[c]);
	}
	balance_free(lall);
	balance_free(lless);
	balance_free(lback);
	shm_destroy(sall);
	shm_destroy(sless);
}
END_TEST

/* A request without its key goes round robin: every backend in turn. */
START_TEST(test_hash_no_key)
{
	struct shm_seg *seg = seg_with(4);
	struct lb *lb = lb_for(ALGO_IP_HASH);
	struct pick_ctx ctx = { .has_key = 0 };
	unsigned count[4] = { 0 };
	int i, b;

	for (i = 0; i < 400; i++) {
		b = balance_pick(lb, seg, &ctx);
		ck_assert_int_ge(b, 0);
		balance_release(lb, seg, 0, b);
		count[b]++;
	}
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(count[i], 100);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Slow start */

static uint64_t fake_now_ms;

static uint64_t
fake_clock(void)
{
	return fake_now_ms;
}

/* Picks out of 2000 that backend 1 gets, each released at once. */
static unsigned
share_of_1(const struct lb *lb, struct shm_seg *seg)
{
	unsigned n = 0;
	int i;

	for (i = 0; i < 2000; i++)
		n += pick_lb(lb, seg) == 1;
	return n;
}

/*
 * Backend 1 of 2 comes back up at t = 1000 s with slowStart 10 s: its weight
 * is about 10% of the other's at once, about 55% half-way, all of it at the
 * end; for each policy that ramps, on a fake clock. hash does not ramp.
 */
START_TEST(test_slow_start_ramp)
{
	static const int algos[] = { ALGO_RR, ALGO_WRR, ALGO_LC, ALGO_TWO, ALGO_IP_HASH };
	struct shm_seg *seg = seg_with(2);
	unsigned n0, n5, n10;
	struct lb *lb;

	conf.slow_start_ms = 10000;
	lb = lb_for(algos[_i]);
	balance_set_clock(lb, fake_clock);
	fake_now_ms = 1000000;
	atomic_store(&seg->backends[1].up_since_ms, fake_now_ms);
	ck_assert_uint_eq(balance_effective_weight(lb, seg, 0), 1000);
	n0 = share_of_1(lb, seg);
	fake_now_ms += 5000;
	n5 = share_of_1(lb, seg);
	fake_now_ms += 5000;
	n10 = share_of_1(lb, seg);
	ck_assert_uint_eq(balance_effective_weight(lb, seg, 1), 1000);
	if (algos[_i] == ALGO_IP_HASH) {
		/* Keys are not moved around by a ramp: the same share all along. */
		ck_assert_uint_eq(n0, n10);
		ck_assert_uint_eq(n5, n10);
	} else {
		/* Weights 1 and 0.1: 1/11 of 2000; 1 and 0.55: 0.55/1.55 (random two choices, less). */
		ck_assert_msg(n0 >= 60 && n0 <= 240, "%s: %u of 2000 at the start", algo_names[algos[_i]], n0);
		ck_assert_msg(n5 >= 500 && n5 <= 800, "%s: %u of 2000 half-way", algo_names[algos[_i]], n5);
		ck_assert_msg(n10 >= 900 && n10 <= 1100, "%s: %u of 2000 at the end", algo_names[algos[_i]],
		    n10);
	}
	/* At the start, its effective weight is about a tenth, in thousandths. */
	fake_now_ms -= 10000;
	if (algos[_i] != ALGO_IP_HASH)
		ck_assert_uint_eq(balance_effective_weight(lb, seg, 1), 100);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* The end of a passive-health timeout starts a ramp; a fresh start does not. */
START_TEST(test_slow_start_passive)
{
	struct shm_seg *seg = seg_with(2);
	struct lb *lb;

	conf.slow_start_ms = 10000;
	lb = lb_for(ALGO_RR);
	balance_set_clock(lb, fake_clock);
	fake_now_ms = 1000000;
	ck_assert_uint_eq(balance_effective_weight(lb, seg, 1), 1000);	/* never went down */
	ck_assert_uint_ge(share_of_1(lb, seg), 990);
	atomic_store(&seg->backends[1].down_until_ms, fake_now_ms - 2000);	/* back 2 s ago */
	ck_assert_uint_eq(balance_effective_weight(lb, seg, 1), 279);	/* 10% + 90% * 2/10 */
	fake_now_ms += 8000;
	ck_assert_uint_eq(balance_effective_weight(lb, seg, 1), 1000);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Slow start: the only backend that can take a request takes it, however early its ramp. */
START_TEST(test_slow_start_alone)
{
	struct shm_seg *seg = seg_with(2);
	struct lb *lb;
	int i;

	conf.slow_start_ms = 10000;
	lb = lb_for(_i);
	balance_set_clock(lb, fake_clock);
	fake_now_ms = 1000000;
	atomic_store(&seg->backends[1].up_since_ms, fake_now_ms);
	shm_backend_set_up(seg, 0, 0);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(pick_lb(lb, seg), 1);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Run-time weights */

/*
 * weighted-round-robin and least-connections built with weights 3 and 1
 * follow weights set at run time: 1 and 1, then 1 and 4; back to the
 * configured ones with 0.
 */
START_TEST(test_runtime_weight)
{
	static const int algos[] = { ALGO_WRR, ALGO_LC };
	struct shm_seg *seg = seg_with(2);
	struct lb *lb;
	unsigned n;

	backends[0].weight = 3;
	seg->backends[0].conf_weight = 3;
	lb = lb_for(algos[_i]);
	n = share_of_1(lb, seg);
	ck_assert_msg(n >= 480 && n <= 520, "configured 3:1: %u of 2000", n);
	shm_backend_set_weight(seg, 0, 1);
	ck_assert_uint_eq(atomic_load(&seg->backends[0].accept), 341);	/* 1/3 */
	ck_assert_uint_eq(atomic_load(&seg->backends[1].accept), 1024);
	n = share_of_1(lb, seg);
	ck_assert_msg(n >= 880 && n <= 1120, "1:1: %u of 2000", n);
	shm_backend_set_weight(seg, 1, 4);
	ck_assert_uint_eq(balance_effective_weight(lb, seg, 1), 4000);
	n = share_of_1(lb, seg);
	ck_assert_msg(n >= 1500 && n <= 1700, "1:4: %u of 2000", n);
	shm_backend_set_weight(seg, 0, 0);
	shm_backend_set_weight(seg, 1, 0);
	ck_assert_uint_eq(atomic_load(&seg->backends[0].accept), 1024);
	n = share_of_1(lb, seg);
	ck_assert_msg(n >= 480 && n <= 520, "configured again: %u of 2000", n);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* A reload keeps a run-time weight, unless the configuration changed that weight. */
START_TEST(test_runtime_weight_reload)
{
	struct conf_backend b[2];
	struct conf c = { .nbackends = 2, .backends = b };
	struct shm_seg *old, *seg;
	char err[128];

	memset(b, 0, sizeof(b));
	url_backend(&b[0], "http://10.3.0.1:80");
	url_backend(&b[1], "http://10.3.0.2:80");
	b[1].weight = 2;
	ck_assert_ptr_nonnull(old = shm_create(&c, 1, err, sizeof(err)));
	shm_backend_set_weight(old, 0, 5);
	shm_backend_set_weight(old, 1, 7);
	b[1].weight = 3;		/* the new configuration changes b's weight only */
	ck_assert_ptr_nonnull(seg = shm_create(&c, 1, err, sizeof(err)));
	shm_carry_health(seg, old);
	ck_assert_uint_eq(shm_backend_weight(seg, 0), 5);
	ck_assert_uint_eq(shm_backend_weight(seg, 1), 3);
	ck_assert_uint_eq(atomic_load(&seg->backends[0].accept), 1024);	/* 5/1 against 3/3 */
	ck_assert_uint_eq(atomic_load(&seg->backends[1].accept), 205);
	shm_destroy(old);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_hash_most_down)
{
	struct shm_seg *seg = seg_with(40);
	struct lb *lb = lb_for(ALGO_IP_HASH);
	unsigned count[40] = { 0 };
	uint32_t c;
	int i;

	for (i = 2; i < 40; i++)
		shm_backend_set_up(seg, (unsigned)i, 0);
	for (c = 0; c < 10000; c++)
		count[take_key(lb, seg, client_key(lb, c))]++;
	ck_assert_msg(count[0] > 4500 && count[1] > 4500, "10000 clients over 2 of 40: %u and %u",
	    count[0], count[1]);
	for (c = 0; c < 100; c++)	/* still sticky */
		ck_assert_int_eq(take_key(lb, seg, client_key(lb, c)),
		    take_key(lb, seg, client_key(lb, c)));
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Shared by every policy (loop tests: _i is the algorithm) */

START_TEST(test_all_none_healthy)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb = lb_for(_i);
	int i;

	for (i = 0; i < 3; i++)
		shm_backend_set_up(seg, (unsigned)i, 0);
	ck_assert_int_eq(pick_lb(lb, seg), PICK_NONE_HEALTHY);
	shm_backend_set_up(seg, 1, 1);
	for (i = 0; i < 20; i++)
		ck_assert_int_eq(pick_lb(lb, seg), 1);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_all_tried)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb = lb_for(_i);
	struct pick_ctx ctx = { .has_key = 1, .key = 42 };
	int i, b;

	for (i = 0; i < 3; i++) {
		b = balance_pick(lb, seg, &ctx);
		ck_assert_int_ge(b, 0);
		ck_assert(!pick_tried_has(&ctx.tried, b));
		balance_release(lb, seg, 0, b);
		pick_tried_add(&ctx.tried, b);
	}
	ck_assert_int_eq(balance_pick(lb, seg, &ctx), PICK_ALL_TRIED);
	ck_assert_int_eq(active(seg, 0) + active(seg, 1) + active(seg, 2), 0);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* A full backend is skipped like a down one; all full is PICK_ALL_FULL, over workers. */
START_TEST(test_all_max_connections)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb;
	struct pick_ctx ctx = { .has_key = 1, .key = 7 };
	int i, b, got[3] = { 0 };

	backends[0].max_connections = 1;
	backends[1].max_connections = 2;
	backends[2].max_connections = 3;
	lb = lb_for(_i);
	for (i = 0; i < 6; i++) {
		ctx.worker = (unsigned)i % 3;
		b = balance_pick(lb, seg, &ctx);
		ck_assert_int_ge(b, 0);
		got[b]++;
	}
	ck_assert_int_eq(got[0], 1);
	ck_assert_int_eq(got[1], 2);
	ck_assert_int_eq(got[2], 3);
	ck_assert_int_eq(take(lb, seg, 5), PICK_ALL_FULL);
	/* A free place is found wherever it is. */
	balance_release(lb, seg, 1, 1);
	ck_assert_int_eq(take(lb, seg, 5), 1);
	ck_assert_int_eq(take(lb, seg, 5), PICK_ALL_FULL);
	/* Down and full: full it is (503 either way); all down: none healthy. */
	shm_backend_set_up(seg, 0, 0);
	ck_assert_int_eq(take(lb, seg, 5), PICK_ALL_FULL);
	/* A worker dies: its places come back. */
	for (i = 0; i < 3; i++)
		got[i] = (int)active(seg, i) - atomic_load(&seg->backends[i].wactive[2]);
	balance_worker_reset(lb, seg, 2);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(active(seg, i), got[i]);
		ck_assert_int_eq(atomic_load(&seg->backends[i].wactive[2]), 0);
	}
	if (got[1] < 2 || got[2] < 3)
		ck_assert_int_ge(take(lb, seg, 5), 1);
	else
		ck_assert_int_eq(take(lb, seg, 5), PICK_ALL_FULL);
	for (i = 0; i < 3; i++)
		shm_backend_set_up(seg, (unsigned)i, 0);
	ck_assert_int_eq(take(lb, seg, 5), PICK_NONE_HEALTHY);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Processes racing for 5 places on one backend: exactly 5 win, whatever the timing. */
START_TEST(test_all_max_connections_race)
{
	struct shm_seg *seg = seg_with(2);
	struct lb *lb;
	int fds[2], p, i, st, wins = 0, b;
	unsigned char r;

	backends[0].max_connections = 5;
	backends[1].max_connections = 5;
	lb = lb_for(_i);
	ck_assert_int_eq(pipe(fds), 0);
	for (p = 0; p < 8; p++) {
		pid_t pid = fork();

		ck_assert_int_ne(pid, -1);
		if (pid == 0) {
			for (i = 0; i < 200; i++) {
				b = take(lb, seg, (unsigned)p);
				ck_assert_int_le(active(seg, 0), 5);
				ck_assert_int_le(active(seg, 1), 5);
				r = b >= 0;
				if (b < 0 && b != PICK_ALL_FULL)
					_exit(2);
				if (write(fds[1], &r, 1) != 1)
					_exit(1);
			}
			_exit(0);	/* holding its places: the test gives them back */
		}
	}
	close(fds[1]);
	while (read(fds[0], &r, 1) == 1)
		wins += r;
	close(fds[0]);
	for (p = 0; p < 8; p++) {
		ck_assert_int_ne(wait(&st), -1);
		ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	ck_assert_int_eq(wins, 10);
	ck_assert_int_eq(active(seg, 0), 5);
	ck_assert_int_eq(active(seg, 1), 5);
	for (p = 0; p < 8; p++)
		balance_worker_reset(lb, seg, (unsigned)p);
	ck_assert_int_eq(active(seg, 0) + active(seg, 1), 0);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/*
 * A backend one place short of its limit, taken and given back by two
 * processes at once: its count is never seen over the limit, not even for
 * an instant (an acquire that loses the race must not count first and take
 * back after, or least-connections could read the count in between).
 */
START_TEST(test_capped_never_over)
{
	struct shm_seg *seg = seg_with(1);
	struct lb *lb;
	int p, i, st, b;
	int64_t seen, most = 0;
	pid_t pid[3];

	backends[0].max_connections = 3;
	lb = lb_for(ALGO_RR);
	balance_acquire(seg, 0, 0);
	balance_acquire(seg, 0, 0);
	for (p = 0; p < 3; p++) {
		pid[p] = fork();
		ck_assert_int_ne(pid[p], -1);
		if (pid[p] == 0) {
			for (i = 0; i < 300000; i++)
				if ((b = take(lb, seg, (unsigned)p + 1)) >= 0)
					balance_release(lb, seg, (unsigned)p + 1, b);
			_exit(0);
		}
	}
	/* The parent watches the count until the three are done. */
	for (p = 0; p < 3; p++)
		while (waitpid(pid[p], &st, WNOHANG) == 0)
			for (i = 0; i < 10000; i++)
				if ((seen = active(seg, 0)) > most)
					most = seen;
	ck_assert_int_le(most, 3);
	ck_assert_int_eq(active(seg, 0), 2);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* Backups take traffic only when no primary is up, and all of it then. */
START_TEST(test_all_backup)
{
	struct shm_seg *seg = seg_with(4);
	struct lb *lb;
	unsigned count[4] = { 0 };
	int i;

	backends[2].backup = 1;
	backends[3].backup = 1;
	backends[0].max_connections = 1;
	backends[1].max_connections = 1;
	lb = lb_for(_i);
	for (i = 0; i < 200; i++)
		count[take_key(lb, seg, (uint64_t)i * 7919)]++;
	ck_assert_uint_eq(count[2] + count[3], 0);
	ck_assert_uint_gt(count[0], 0);
	ck_assert_uint_gt(count[1], 0);
	/* Primaries up but full: a 503, not a backup. */
	ck_assert_int_ge(take(lb, seg, 0), 0);
	ck_assert_int_ge(take(lb, seg, 0), 0);
	ck_assert_int_eq(take(lb, seg, 0), PICK_ALL_FULL);
	balance_worker_reset(lb, seg, 0);
	/* One primary left: still no backup. */
	shm_backend_set_up(seg, 0, 0);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(take_key(lb, seg, (uint64_t)i * 7919), 1);
	/* None: the backups share it. */
	shm_backend_set_up(seg, 1, 0);
	memset(count, 0, sizeof(count));
	for (i = 0; i < 200; i++)
		count[take_key(lb, seg, (uint64_t)i * 7919)]++;
	ck_assert_uint_eq(count[0] + count[1], 0);
	ck_assert_uint_gt(count[2], 0);
	ck_assert_uint_gt(count[3], 0);
	/* Backups down too: none healthy. */
	shm_backend_set_up(seg, 2, 0);
	shm_backend_set_up(seg, 3, 0);
	ck_assert_int_eq(take_key(lb, seg, 1), PICK_NONE_HEALTHY);
	/* A primary back: it has it all again. */
	shm_backend_set_up(seg, 3, 1);
	shm_backend_set_up(seg, 0, 1);
	for (i = 0; i < 50; i++)
		ck_assert_int_eq(take_key(lb, seg, (uint64_t)i * 7919), 0);
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* A retry goes elsewhere, under every policy, until nothing is left. */
START_TEST(test_all_tried_excluded)
{
	struct shm_seg *seg = seg_with(3);
	struct lb *lb = lb_for(_i);
	struct pick_tried tried;
	int i;

	memset(&tried, 0, sizeof(tried));
	pick_tried_add(&tried, 0);
	pick_tried_add(&tried, 2);
	for (i = 0; i < 10; i++) {
		struct pick_ctx ctx = { .tried = tried, .has_key = 1, .key = (uint64_t)i };
		int b = balance_pick(lb, seg, &ctx);

		ck_assert_int_eq(b, 1);
		balance_release(lb, seg, 0, b);
	}
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

START_TEST(test_new_errors)
{
	struct conf c = { .nbackends = BALANCE_MAX + 1, .backends = backends };
	char err[128] = "";

	ck_assert_ptr_null(balance_new(&c, err, sizeof(err)));
	ck_assert_str_eq(err, "balancer: 257 backends (at most 256)");
	balance_free(NULL);
}
END_TEST

/*
 * The cost of one pick among 256 backends, each policy in turn, 20000 picks
 * with every backend up and with half of them down: printed, and bounded
 * loosely (the machine may be shared) so that a pick that scans the whole
 * pool several times over, or allocates, shows.
 */
START_TEST(test_cost_256)
{
	struct shm_seg *seg = seg_with(256);
	struct lb *lb;
	static const char *const phase[] = { "all up", "half down", "half down, 512 in flight" };
	struct timespec t0, t1;
	static int ring[512];
	double ns;
	int i, b, half, failed;

	for (i = 0; i < 256; i++)
		backends[i].weight = (unsigned)(1 + i % 3);
	if (_i == ALGO_RR || _i == ALGO_TWO)
		for (i = 0; i < 256; i++)
			backends[i].weight = 1;
	lb = lb_for(_i);
	for (half = 0; half < 3; half++) {
		for (i = 0; half == 1 && i < 256; i += 2)
			shm_backend_set_up(seg, (unsigned)i, 0);
		/* Phase 2: each pick is held until 512 picks later (two per backend up). */
		for (i = 0; i < 512; i++)
			ring[i] = -1;
		/* No ck_assert in the loop: each one talks to the parent process. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (failed = 0, i = 0; i < 20000; i++) {
			struct pick_ctx ctx = { .has_key = 1, .key = (uint64_t)i * 0x9e3779b97f4a7c15ull };

			if ((b = balance_pick(lb, seg, &ctx)) < 0)
				failed++;
			else if (half < 2)
				balance_release(lb, seg, 0, b);
			else {
				if (ring[i % 512] >= 0)
					balance_release(lb, seg, 0, ring[i % 512]);
				ring[i % 512] = b;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		for (i = 0; i < 512; i++)
			if (half == 2 && ring[i] >= 0)
				balance_release(lb, seg, 0, ring[i]);
		ck_assert_int_eq(failed, 0);
		ns = ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / 20000;
		fprintf(stderr, "%s, 256 backends, %s: %.0f ns per pick\n", algo_names[_i],
		    phase[half], ns);
		ck_assert_msg(ns < 50000, "%s: %.0f ns per pick", algo_names[_i], ns);
	}
	balance_free(lb);
	shm_destroy(seg);
}
END_TEST

/* The registry: every name has a policy, aliases have their key, flags say what a policy uses. */
START_TEST(test_registry)
{
	const char *k = "x";
	char names[256];

	ck_assert_ptr_eq(policy_find("round-robin", &k), &policy_round_robin);
	ck_assert_ptr_null(k);
	ck_assert_ptr_eq(policy_find("ip-hash", &k), &policy_hash);
	ck_assert_str_eq(k, "clientIp");
	ck_assert_ptr_eq(policy_find("hash", &k), &policy_hash);
	ck_assert_ptr_null(k);
	ck_assert_ptr_null(policy_find("roundrobin", NULL));
	ck_assert(policy_hash.flags & LB_NEEDS_KEY);
	ck_assert(!(policy_round_robin.flags & (LB_WEIGHTED | LB_NEEDS_KEY)));
	ck_assert(policy_weighted.flags & LB_WEIGHTED);
	policy_names(names, sizeof(names));
	ck_assert_str_eq(names, "\"round-robin\", \"weighted-round-robin\", \"least-connections\", "
	    "\"hash\", \"ip-hash\" or \"random-two-choices\"");
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("balance");
	TCase *tc;
	SRunner *sr;
	int failed;

	tc = tcase_create("round-robin");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_rotation_even);
	tcase_add_test(tc, test_skips_unhealthy);
	tcase_add_test(tc, test_none_healthy);
	tcase_add_test(tc, test_tried_excluded);
	tcase_add_test(tc, test_rotation_across_processes);
	tcase_add_test(tc, test_carry_health);
	tcase_add_test(tc, test_worker_reset);
	tcase_add_test(tc, test_new_errors);
	tcase_add_test(tc, test_registry);
	suite_add_tcase(s, tc);

	tc = tcase_create("weighted-round-robin");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_wrr_smooth);
	tcase_add_test(tc, test_wrr_3_to_1);
	tcase_add_test(tc, test_wrr_reduced);
	tcase_add_test(tc, test_wrr_skips_unhealthy);
	tcase_add_test(tc, test_wrr_across_processes);
	tcase_add_test(tc, test_wrr_heavy_down);
	suite_add_tcase(s, tc);

	tc = tcase_create("least-connections");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_leastconn_fewest);
	tcase_add_test(tc, test_leastconn_ties_rotate);
	tcase_add_test(tc, test_leastconn_weighted);
	tcase_add_test(tc, test_previous_generation);
	suite_add_tcase(s, tc);

	tc = tcase_create("random-two-choices");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_two_prefers_less_loaded);
	tcase_add_test(tc, test_two_balances_held);
	suite_add_tcase(s, tc);

	tc = tcase_create("ip-hash");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_hash_stable);
	tcase_add_test(tc, test_hash_distribution);
	tcase_add_test(tc, test_hash_weighted);
	tcase_add_test(tc, test_hash_backend_down);
	tcase_add_test(tc, test_hash_backend_removed);
	tcase_add_test(tc, test_hash_most_down);
	tcase_add_test(tc, test_hash_identical);
	tcase_add_loop_test(tc, test_hash_one_of_n, 0, 3);
	tcase_add_test(tc, test_hash_no_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("even-spread");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_even_k_of_n, 0, ALGO_LC + 1);
	tcase_add_loop_test(tc, test_even_drained, 0, ALGO_LC + 1);
	tcase_add_loop_test(tc, test_even_full, 0, ALGO_LC + 1);
	tcase_add_loop_test(tc, test_even_backups, 0, ALGO_LC + 1);
	tcase_add_loop_test(tc, test_even_across_processes, 0, ALGO_LC + 1);
	suite_add_tcase(s, tc);

	tc = tcase_create("every-policy");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_all_none_healthy, 0, NALGO);
	tcase_add_loop_test(tc, test_all_tried, 0, NALGO);
	tcase_add_loop_test(tc, test_all_tried_excluded, 0, NALGO);
	tcase_add_loop_test(tc, test_all_max_connections, 0, NALGO);
	tcase_add_loop_test(tc, test_all_max_connections_race, 0, NALGO);
	tcase_add_test(tc, test_capped_never_over);
	tcase_add_loop_test(tc, test_all_backup, 0, NALGO);
	suite_add_tcase(s, tc);

	tc = tcase_create("slow-start");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_slow_start_ramp, 0, 5);
	tcase_add_test(tc, test_slow_start_passive);
	tcase_add_loop_test(tc, test_slow_start_alone, 0, NALGO);
	suite_add_tcase(s, tc);

	tc = tcase_create("runtime-weight");
	tcase_set_timeout(tc, 20);
	tcase_add_loop_test(tc, test_runtime_weight, 0, 2);
	tcase_add_test(tc, test_runtime_weight_reload);
	suite_add_tcase(s, tc);

	tc = tcase_create("cost");
	tcase_set_timeout(tc, 30);
	tcase_add_loop_test(tc, test_cost_256, 0, NALGO);
	suite_add_tcase(s, tc);

	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
