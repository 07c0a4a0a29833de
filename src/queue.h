/*
 * The queue of requests waiting for a backend when every eligible one is at
 * its maxConnections ("queue": {"max", "timeout"}): first come, first served
 * across all workers.
 *
 * Each waiting request holds a ticket from a counter in the shared segment.
 * A worker keeps its own waiting requests in ticket order and publishes the
 * first one's ticket in its slot; a request may try a pick only when no
 * worker shows an earlier ticket. So the order is the order of arrival over
 * all workers, with no lock and nothing to clean up but a dead worker's slot.
 *
 * No event loop here: qwait.c keeps the list and polls; tests drive this on
 * a plain segment.
 */
#ifndef RONDO_QUEUE_H
#define RONDO_QUEUE_H

#include <stdint.h>

struct shm_seg;

/*
 * Takes a ticket for a request of worker slot w, unless <max> requests wait
 * already (over all workers). Returns 0 with *ticket set, or -1 when full.
 * The worker then lists the request and calls queue_publish.
 */
int queue_enter(struct shm_seg *seg, unsigned w, unsigned max, uint64_t *ticket);

/* Worker slot w's first waiting request has <ticket>; none when has is 0. */
void queue_publish(struct shm_seg *seg, unsigned w, int has, uint64_t ticket);

/* Whether the request with <ticket> is the first waiting over all workers: its turn. */
int queue_turn(const struct shm_seg *seg, uint64_t ticket);

/* One request of worker slot w leaves the queue (served, timed out, client gone). */
void queue_leave(struct shm_seg *seg, unsigned w);

/* Requests waiting now, over all workers. */
unsigned queue_length(const struct shm_seg *seg);

/* Master only, after worker slot w died: its waiting requests are gone. */
void queue_worker_reset(struct shm_seg *seg, unsigned w);

#endif
