/* Worker process: accept loop, signals, graceful drain; see worker.h. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "conf.h"
#include "log.h"
#include "proc.h"
#include "proxy.h"
#include "shm.h"
#include "worker.h"

#define ACCEPT_BATCH	64	/* accepts per readiness event, so one worker cannot hog the queue */
#define ACCEPT_PAUSE	1.0	/* seconds without accepting after EMFILE/ENFILE */
#define DRAIN_TIMEOUT	30.0	/* seconds a graceful stop may take */
#define ACCEPT_SLACK	2	/* connections this worker may hold above the least loaded one */
#define ACCEPT_YIELD	0.002	/* seconds a busier worker leaves new connections to the others */

struct worker {
	struct ev_loop *loop;
	int id;
	int lfd;
	struct shm_seg *seg;
	int force;			/* accept the next one even if busier (the yield ran out) */
	ev_timer yield_w;
	int sfd;
	struct proxy *px;
	ev_io accept_w;
	ev_timer pause_w;
	ev_io signal_w;
	ev_timer drain_w;		/* checks whether the drain is over */
	ev_tstamp drain_deadline;
};

/*
 * Every worker is woken for a new connection (one shared socket, level
 * triggered). The first to call accept() would take them all, so a worker
 * with clearly more open connections than the least loaded one lets the
 * others have it: it stops watching the socket for ACCEPT_YIELD (no busy
 * loop on a socket that stays readable), then accepts even if still busier,
 * so a stuck or dead peer cannot leave connections waiting.
 */
static int
worker_may_accept(struct worker *wk)
{
	const struct shm_seg *seg = wk->seg;
	uint32_t mine, least = UINT32_MAX, v;
	unsigned i;

	if (seg->nworkers < 2)
		return 1;
	mine = atomic_load_explicit(&seg->workers[wk->id - 1].sessions, memory_order_relaxed);
	for (i = 0; i < seg->nworkers; i++) {
		if (i == (unsigned)wk->id - 1)
			continue;
		v = atomic_load_explicit(&seg->workers[i].sessions, memory_order_relaxed);
		if (v < least)
			least = v;
	}
	return mine <= least + ACCEPT_SLACK;
}

static void
worker_yield_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct worker *wk = w->data;

	wk->force = 1;
	ev_io_start(loop, &wk->accept_w);
}

static void
worker_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct worker *wk = w->data;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd, one = 1;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (!wk->force && !worker_may_accept(wk)) {
			ev_io_stop(loop, &wk->accept_w);
			ev_timer_start(loop, &wk->yield_w);
			return;
		}
		wk->force = 0;
		len = sizeof(ss);
		fd = accept4(wk->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			switch (errno) {
			case EAGAIN:
				return;		/* another worker took it, or the queue is empty */
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				log_warn("accept (pausing %.0fs)", ACCEPT_PAUSE);
				ev_io_stop(loop, &wk->accept_w);
				ev_timer_start(loop, &wk->pause_w);
				return;
			default:
				log_warn("accept");
				return;
			}
		}
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		proxy_accept(wk->px, fd, (struct sockaddr *)&ss);
	}
}

static void
worker_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct worker *wk = w->data;

	ev_io_start(loop, &wk->accept_w);
}

static void
worker_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct worker *wk = w->data;

	if (proxy_sessions(wk->px) == 0) {
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (ev_now(loop) >= wk->drain_deadline) {
		log_warnx("drain timeout: closing %u connections", proxy_sessions(wk->px));
		ev_break(loop, EVBREAK_ALL);
	}
}

static void
worker_quit(struct worker *wk)
{
	if (wk->lfd == -1)
		return;
	ev_io_stop(wk->loop, &wk->accept_w);
	ev_timer_stop(wk->loop, &wk->pause_w);
	ev_timer_stop(wk->loop, &wk->yield_w);
	close(wk->lfd);
	wk->lfd = -1;
	proxy_drain(wk->px);
	wk->drain_deadline = ev_now(wk->loop) + DRAIN_TIMEOUT;
	ev_timer_set(&wk->drain_w, 0., 0.1);
	ev_timer_start(wk->loop, &wk->drain_w);
	log_info("stopping: draining %u connections", proxy_sessions(wk->px));
}

static void
worker_signal_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct worker *wk = w->data;
	int sig;

	while ((sig = proc_signal_read(wk->sfd)) != 0) {
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			ev_break(loop, EVBREAK_ALL);
			return;
		case SIGQUIT:
			worker_quit(wk);
			break;
		default:
			break;		/* SIGHUP, SIGUSR1: the master's business */
		}
	}
}

int
worker_main(int id, int listen_fd, const struct conf *c, struct shm_seg *seg,
    const struct lb *lb)
{
	struct worker wk = { .id = id, .lfd = listen_fd, .seg = seg };
	unsigned long long conns, reqs;
	char name[32];

	snprintf(name, sizeof(name), "worker %d", id);
	/* A predecessor that died left its count behind. */
	atomic_store(&seg->workers[(id - 1) % SHM_MAX_WORKERS].sessions, 0);
	log_set_procname(name);
	if ((wk.sfd = proc_child_init()) == -1) {
		log_err("signal setup");
		return WORKER_EXIT_FATAL;
	}
	if ((wk.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL) {
		log_errx("cannot create an event loop");
		return WORKER_EXIT_FATAL;
	}
	if ((wk.px = proxy_new(wk.loop, c, seg, lb, id)) == NULL) {
		log_errx("out of memory");
		return WORKER_EXIT_FATAL;
	}
	ev_io_init(&wk.accept_w, worker_accept_cb, listen_fd, EV_READ);
	wk.accept_w.data = &wk;
	ev_timer_init(&wk.pause_w, worker_pause_cb, ACCEPT_PAUSE, 0.);
	wk.pause_w.data = &wk;
	ev_timer_init(&wk.yield_w, worker_yield_cb, ACCEPT_YIELD, 0.);
	wk.yield_w.data = &wk;
	ev_io_init(&wk.signal_w, worker_signal_cb, wk.sfd, EV_READ);
	wk.signal_w.data = &wk;
	ev_init(&wk.drain_w, worker_drain_cb);
	wk.drain_w.data = &wk;
	ev_io_start(wk.loop, &wk.accept_w);
	ev_io_start(wk.loop, &wk.signal_w);

	ev_run(wk.loop, 0);

	proxy_totals(wk.px, &conns, &reqs);
	log_info("exiting: served %llu connections, %llu requests", conns, reqs);
	proxy_free(wk.px);
	if (wk.lfd != -1)
		close(wk.lfd);
	close(wk.sfd);
	ev_loop_destroy(wk.loop);
	return 0;
}
