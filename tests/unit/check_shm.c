/*
 * The shared segment: what a reload carries over, and the header that no
 * child may change once the master sealed it.
 */
#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "conf.h"
#include "shm.h"

static struct conf *
conf_with(const char *json)
{
	struct conf *c;
	char err[1024];

	ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0, "%s", err);
	return c;
}

/* Drained by the admin, still drained in the next generation: before its workers run. */
START_TEST(test_carry_drain)
{
	struct conf *c = conf_with("{\"port\": \":8080\", \"servers\": [\"http://127.0.0.1:5001\","
	    " \"http://127.0.0.1:5002\"]}");
	char err[256];
	struct shm_seg *old = shm_create(c, 2, err, sizeof(err)), *seg;

	ck_assert_ptr_nonnull(old);
	atomic_store(&old->backends[1].drain, 1);
	seg = shm_create(c, 2, err, sizeof(err));
	ck_assert_ptr_nonnull(seg);
	shm_carry_health(seg, old);
	ck_assert_uint_eq(atomic_load(&seg->backends[0].drain), 0);
	ck_assert_uint_eq(atomic_load(&seg->backends[1].drain), 1);
	shm_destroy(seg);
	shm_destroy(old);
	conf_free(c);
}
END_TEST

#define SEAL_FAULT_EXIT 42

/* Exits with a status of its own: under AddressSanitizer, a fault would otherwise abort. */
static void
seal_fault(int sig)
{
	(void)sig;
	_exit(SEAL_FAULT_EXIT);
}

/* A sealed header cannot be written: a child cannot make the master unmap or walk too much. */
START_TEST(test_seal)
{
	struct sigaction sa;
	struct conf *c = conf_with("{\"port\": \":8080\", \"servers\": [\"http://127.0.0.1:5001\"]}");
	char err[256];
	struct shm_seg *seg = shm_create(c, 1, err, sizeof(err));

	ck_assert_ptr_nonnull(seg);
	shm_seal(seg);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = seal_fault;
	ck_assert_int_eq(sigaction(SIGSEGV, &sa, NULL), 0);
	/* The counters stay writable. */
	atomic_fetch_add(&seg->rr, 1);
	atomic_store(&seg->backends[0].drain, 1);
	*(volatile uint32_t *)&seg->nbackends = 1000;	/* SIGSEGV: seal_fault */
}
END_TEST

static Suite *
shm_suite(void)
{
	Suite *s = suite_create("shm");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_carry_drain);
	tcase_add_exit_test(tc, test_seal, SEAL_FAULT_EXIT);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(shm_suite());
	int failed;

	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
