/*
 * A worker's side of the queue (queue.h): when every eligible backend is at
 * its maxConnections, a request waits in the worker's list, in ticket order,
 * until its turn comes (the first over all workers, polled every few
 * milliseconds), its sticky backend has room, or queue.timeout passes (503
 * with Retry-After). A request that gets its turn tries the pick again
 * (session_pick_and_connect, session.h).
 */
#ifndef RONDO_QWAIT_H
#define RONDO_QWAIT_H

struct proxy;
struct session;

/* The worker's poll of the queue, stopped while nothing waits. */
void qwait_init(struct proxy *px);

/* Stops the poll. */
void qwait_fini(struct proxy *px);

/*
 * Has s wait for a backend, at the end of the queue: 1 when it waits (or
 * already did) or was refused with a 503 because the queue is full, 0
 * when there is no queue.
 */
int qwait_enter(struct session *s);

/* Takes s out of the queue (served, timed out, or its client gone), if it waits. */
void qwait_leave(struct session *s);

/*
 * The timer of a waiting session fired: set again for the time left, or
 * queue.timeout passed and the request gets a 503 with Retry-After.
 */
void qwait_timer(struct session *s);

#endif
