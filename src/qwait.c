/* A worker's requests waiting in the queue for a backend; see qwait.h. */
#include "config.h"

#include <stdint.h>

#include <ev.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "queue.h"
#include "qwait.h"
#include "session.h"
#include "shm.h"

#define QUEUE_POLL	0.002	/* seconds between two looks at the queue while requests wait */

/*
 * Shows this worker's first waiting ticket to the others (of the requests
 * waiting for any backend: those waiting for their sticky backend are in no
 * one's way); polls while any waits.
 */
static void
queue_sync(struct proxy *px)
{
	struct session *s = px->q_first;

	while (s != NULL && s->pick.has_sticky)
		s = s->q_next;
	queue_publish(px->seg, px->worker, s != NULL, s != NULL ? s->q_ticket : 0);
	if (px->q_first == NULL)
		ev_timer_stop(px->loop, &px->queue_w);
	else if (!ev_is_active(&px->queue_w))
		ev_timer_again(px->loop, &px->queue_w);
}

void
qwait_leave(struct session *s)
{
	struct proxy *px = s->px;

	if (!s->queued)
		return;
	s->queued = 0;
	if (s->q_prev != NULL)
		s->q_prev->q_next = s->q_next;
	else
		px->q_first = s->q_next;
	if (s->q_next != NULL)
		s->q_next->q_prev = s->q_prev;
	else
		px->q_last = s->q_prev;
	s->q_prev = s->q_next = NULL;
	queue_leave(px->seg, px->worker);
	shm_counter_add(&px->slot->queue_time_us, (uint64_t)((px->now - s->q_since) * 1e6));
	queue_sync(px);
}

int
qwait_enter(struct session *s)
{
	struct proxy *px = s->px;

	if (s->queued)
		return 1;
	if (px->conf->queue.max == 0)
		return 0;
	if (queue_enter(px->seg, px->worker, px->conf->queue.max, &s->q_ticket) == -1) {
		shm_counter_add(&px->slot->queue_rejected, 1);
		s->retry_after = 1;
		respond_local(s, 503, "All servers are busy and the queue is full");
		return 1;
	}
	s->queued = 1;
	s->q_since = px->now;
	s->q_prev = px->q_last;
	if (px->q_last != NULL)
		px->q_last->q_next = s;
	else
		px->q_first = s;
	px->q_last = s;
	shm_counter_add(&px->slot->queued, 1);
	queue_sync(px);
	session_arm(s, MS(px->conf->queue.timeout_ms));
	return 1;
}

/*
 * While requests wait: the first one waiting for any backend tries a pick
 * when no worker has an earlier one; each waiting for its sticky backend
 * tries that one.
 */
static void
queue_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proxy *px = w->data;
	struct session *s, *next;
	int blocked = 0;

	px->now = clock_mono();
	for (s = px->q_first; s != NULL; s = next) {
		next = s->q_next;
		if (!s->pick.has_sticky && (blocked || !queue_turn(px->seg, s->q_ticket))) {
			blocked = 1;
			continue;
		}
		session_pick_and_connect(s, 0);
		if (s->queued) {
			blocked |= !s->pick.has_sticky;	/* every backend is still full */
			continue;
		}
		if (s->cfd != -1)
			session_update_io(s);
	}
}

/* A queued request waited queue.timeout: 503 with Retry-After. */
static void
queue_expired(struct session *s)
{
	log_client("%s: no backend free after %.1fs in the queue", s->client_ip,
	    s->px->now - s->q_since);
	qwait_leave(s);
	shm_counter_add(&s->px->slot->queue_rejected, 1);
	s->retry_after = 1;
	respond_local(s, 503, "All servers are busy");
}

void
qwait_timer(struct session *s)
{
	double left = s->q_since + MS(s->px->conf->queue.timeout_ms) - s->px->now;

	if (left > 0.) {
		session_arm(s, left);
		return;
	}
	queue_expired(s);
	if (s->cfd != -1)
		session_update_io(s);
}

void
qwait_init(struct proxy *px)
{
	ev_init(&px->queue_w, queue_cb);
	px->queue_w.repeat = QUEUE_POLL;
	px->queue_w.data = px;
}

void
qwait_fini(struct proxy *px)
{
	ev_timer_stop(px->loop, &px->queue_w);
}
