/* The shared queue of requests waiting for a backend; see queue.h. */
#include "config.h"

#include <stdatomic.h>

#include "queue.h"
#include "shm.h"

int
queue_enter(struct shm_seg *seg, unsigned w, unsigned max, uint64_t *ticket)
{
	struct shm_worker *me = &seg->workers[w % SHM_MAX_WORKERS];

	if (atomic_fetch_add(&seg->q_len, 1) >= max) {
		atomic_fetch_sub(&seg->q_len, 1);
		return -1;
	}
	/*
	 * Until the ticket is published, hold everyone back (ticket 0 is the
	 * earliest), so that a later ticket cannot take its turn in between.
	 */
	if (atomic_load(&me->q_first) == 0)
		atomic_store(&me->q_first, 1);
	*ticket = atomic_fetch_add(&seg->q_tickets, 1) + 1;	/* from 1: 0 is "none" */
	atomic_fetch_add_explicit(&me->q_waiting, 1, memory_order_relaxed);
	return 0;
}

void
queue_publish(struct shm_seg *seg, unsigned w, int has, uint64_t ticket)
{
	atomic_store(&seg->workers[w % SHM_MAX_WORKERS].q_first, has ? ticket : 0);
}

int
queue_turn(const struct shm_seg *seg, uint64_t ticket)
{
	uint64_t t;
	unsigned i;

	for (i = 0; i < SHM_MAX_WORKERS; i++)
		if ((t = atomic_load(&seg->workers[i].q_first)) != 0 && t < ticket)
			return 0;
	return 1;
}

void
queue_leave(struct shm_seg *seg, unsigned w)
{
	atomic_fetch_sub(&seg->q_len, 1);
	atomic_fetch_sub_explicit(&seg->workers[w % SHM_MAX_WORKERS].q_waiting, 1,
	    memory_order_relaxed);
}

unsigned
queue_length(const struct shm_seg *seg)
{
	return atomic_load_explicit(&seg->q_len, memory_order_relaxed);
}

void
queue_worker_reset(struct shm_seg *seg, unsigned w)
{
	struct shm_worker *me = &seg->workers[w % SHM_MAX_WORKERS];
	uint32_t n = atomic_exchange(&me->q_waiting, 0);

	atomic_store(&me->q_first, 0);
	if (n != 0)
		atomic_fetch_sub(&seg->q_len, n);
}
