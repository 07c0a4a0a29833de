/* Worker process: accept loop, signals, graceful drain; see worker.h. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <ev.h>

#include "accesslog.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "proc.h"
#include "proxy.h"
#include "shm.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif
#include "worker.h"

#define ACCEPT_BATCH	64	/* accepts per readiness event, so one worker cannot hog the queue */
#define ACCEPT_PAUSE	1.0	/* seconds without accepting after EMFILE/ENFILE */
#define FULL_PAUSE	0.01	/* seconds without accepting while maxConnections is reached */
#define ACCEPT_SLACK	2	/* connections this worker may hold above the least loaded one */

/* A listening socket the worker accepts on: the plain one, the TLS one. */
struct listener {
	struct worker *wk;
	int fd;				/* -1: none (or closed by a graceful stop) */
	int tls;			/* connections start with a TLS handshake */
	ev_io w;
};

struct worker {
	struct ev_loop *loop;
	int id;
	struct listener ls[2];		/* plain, TLS */
	int quitting;			/* stopped accepting: drain, then exit */
	struct tls_ctx *tls;		/* this generation's TLS contexts; NULL: no TLS */
	const struct conf *conf;
	struct shm_seg *seg;
	const int (*handoff)[2];	/* see worker_args */
	ev_io handoff_w;
	int sfd;
	struct proxy *px;
	ev_timer pause_w;
	ev_io signal_w;
	ev_timer drain_w;		/* checks whether the drain is over */
	ev_prepare flush_w;		/* writes the access log before the loop sleeps */
	struct accesslog *alog;
	unsigned max_connections;	/* all workers together; 0: no cap */
	ev_tstamp drain_deadline;
};

/* Connections a worker holds or is about to receive. */
static uint32_t
worker_load(const struct shm_seg *seg, unsigned i)
{
	return atomic_load_explicit(&seg->workers[i].sessions, memory_order_relaxed) +
	    atomic_load_explicit(&seg->workers[i].incoming, memory_order_relaxed);
}

/*
 * Spreading connections over workers. The kernel wakes one of the workers
 * waiting on the shared socket, and the one woken accepts the whole queue: a
 * burst of new connections (a client opening its pool) lands on one worker.
 * So a worker holding more than ACCEPT_SLACK connections above the least
 * loaded one accepts, then hands the connection to that worker over a
 * socketpair (SCM_RIGHTS). Returns the worker slot to hand to, or -1 to keep.
 */
static int
worker_handoff_target(const struct worker *wk)
{
	const struct shm_seg *seg = wk->seg;
	uint32_t mine, least = UINT32_MAX, v;
	unsigned i, me = (unsigned)wk->id - 1;
	int target = -1;

	if (seg->nworkers < 2 || wk->handoff == NULL)
		return -1;
	mine = worker_load(seg, me);
	for (i = 0; i < seg->nworkers; i++) {
		if (i == me || atomic_load(&seg->workers[i].quitting))
			continue;
		v = worker_load(seg, i);
		if (v < least) {
			least = v;
			target = (int)i;
		}
	}
	return mine > least + ACCEPT_SLACK ? target : -1;
}

/*
 * Sends fd to worker slot i, with one byte saying whether it came to the TLS
 * listener. 0 when it went (the caller closes its copy).
 */
static int
worker_handoff_send(struct worker *wk, unsigned i, int fd, int tls)
{
	char cbuf[CMSG_SPACE(sizeof(int))], byte = (char)tls;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
	    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	/*
	 * Announce, then check that it is not quitting; it sets quitting, then
	 * waits for incoming to reach 0 (both sequentially consistent): either
	 * this sees it quitting, or it sees the connection coming.
	 */
	atomic_fetch_add(&wk->seg->workers[i].incoming, 1);
	if (atomic_load(&wk->seg->workers[i].quitting) ||
	    sendmsg(wk->handoff[i][0], &msg, MSG_DONTWAIT | MSG_NOSIGNAL) == -1) {
		/* Quitting, or its queue is full (it is slow too): keep the connection. */
		atomic_fetch_sub(&wk->seg->workers[i].incoming, 1);
		return -1;
	}
	return 0;
}

/* Starts a session for an accepted connection; tls: it came to the TLS listener. */
static void
worker_serve(struct worker *wk, int fd, const struct sockaddr *peer, int tls)
{
	void *ssl = NULL;

#ifdef HAVE_TLS
	if (tls && (ssl = tls_server_new(wk->tls)) == NULL) {
		log_warnx("no TLS state for a new connection: closing it");
		close(fd);
		return;
	}
#else
	(void)tls;
#endif
	proxy_accept(wk->px, fd, peer, ssl);
}

static void
worker_accept_pause(struct worker *wk, double t)
{
	unsigned i;

	for (i = 0; i < 2; i++)
		ev_io_stop(wk->loop, &wk->ls[i].w);
	ev_timer_set(&wk->pause_w, t, 0.);
	ev_timer_start(wk->loop, &wk->pause_w);
}

/* Connections handed over by other workers. */
static void
worker_handoff_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct worker *wk = w->data;
	struct sockaddr_storage ss;
	socklen_t len;
	char cbuf[CMSG_SPACE(sizeof(int))], byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	struct msghdr msg;
	struct cmsghdr *cm;
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if (recvmsg(w->fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == -1)
			return;
		atomic_fetch_sub_explicit(&wk->seg->workers[wk->id - 1].incoming, 1,
		    memory_order_relaxed);
		cm = CMSG_FIRSTHDR(&msg);
		if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
			continue;
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
		len = sizeof(ss);
		if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1) {
			close(fd);	/* the client left meanwhile */
			continue;
		}
		worker_serve(wk, fd, (struct sockaddr *)&ss, byte == 1);
	}
}

/* Client connections open in all workers, against "maxConnections". */
static int
worker_full(const struct worker *wk)
{
	uint32_t n = 0;
	unsigned i;

	if (wk->max_connections == 0)
		return 0;
	for (i = 0; i < wk->seg->nworkers; i++)
		n += worker_load(wk->seg, i);
	return n >= wk->max_connections;
}

static void
worker_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct worker *wk = l->wk;
	struct sockaddr_storage ss;
	socklen_t len;
	int i, fd;

	for (i = 0; i < ACCEPT_BATCH; i++) {
		int target;

		if (worker_full(wk)) {
			/*
			 * At the cap: leave new connections in the kernel's queue
			 * and look again shortly, rather than accept and refuse.
			 */
			worker_accept_pause(wk, FULL_PAUSE);
			return;
		}
		len = sizeof(ss);
		fd = accept4(l->fd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
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
				worker_accept_pause(wk, ACCEPT_PAUSE);
				return;
			default:
				log_warn("accept");
				return;
			}
		}
		if ((target = worker_handoff_target(wk)) != -1 &&
		    worker_handoff_send(wk, (unsigned)target, fd, l->tls) == 0) {
			close(fd);
			continue;
		}
		worker_serve(wk, fd, (struct sockaddr *)&ss, l->tls);
	}
}

/* Before the loop sleeps: what was logged in this iteration goes to the file. */
static void
worker_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct worker *wk = w->data;

	accesslog_flush(wk->alog);
}

static void
worker_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct worker *wk = w->data;
	unsigned i;

	for (i = 0; i < 2; i++)
		if (wk->ls[i].fd != -1)
			ev_io_start(loop, &wk->ls[i].w);
}

static void
worker_drain_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct worker *wk = w->data;

	if (proxy_sessions(wk->px) == 0 &&
	    atomic_load(&wk->seg->workers[wk->id - 1].incoming) == 0) {
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
	unsigned i;

	if (wk->quitting)
		return;
	wk->quitting = 1;
	atomic_store(&wk->seg->workers[wk->id - 1].quitting, 1);
	ev_timer_stop(wk->loop, &wk->pause_w);
	for (i = 0; i < 2; i++) {
		ev_io_stop(wk->loop, &wk->ls[i].w);
		if (wk->ls[i].fd != -1)
			close(wk->ls[i].fd);
		wk->ls[i].fd = -1;
	}
	proxy_drain(wk->px);
	wk->drain_deadline = ev_now(wk->loop) + (double)wk->conf->shutdown_timeout_ms / 1000.;
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
		case SIGUSR1:
			if (wk->alog != NULL && accesslog_reopen(wk->alog) == -1)
				log_warn("reopening the access log %s", wk->conf->access_log);
			break;
		default:
			break;		/* SIGHUP, SIGUSR1: the master's business */
		}
	}
}

/* --- busy polling ----------------------------------------------------------------------- */

/*
 * After any I/O the worker keeps polling without sleeping for busy_poll_us
 * (an active idle watcher makes libev poll with a zero timeout), then
 * blocks again. Under load the next event usually comes within that window:
 * catching it by polling saves the worker a sleep and the process that sent
 * it (client or backend) the cost of waking the worker, which on a machine
 * where the proxy, its clients and its backends share the CPUs is what
 * otherwise limits throughput. At low load it costs at most the window of
 * polling after each burst of I/O. See docs/PERFORMANCE.md for measurements.
 */

struct worker_spin {
	struct ev_loop *loop;
	ev_idle w;			/* active: libev polls with a zero timeout */
	double window;			/* seconds */
	double last_io;			/* when the proxy last did I/O (clock_mono) */
};

static void
worker_spin_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct worker_spin *sp = w->data;

	if (clock_mono() - sp->last_io >= sp->window)
		ev_idle_stop(loop, w);
}

/* The proxy's hook (proxy_set_busy): polls on for the window from now. */
static void
worker_busy(void *arg, double now)
{
	struct worker_spin *sp = arg;

	sp->last_io = now;
	if (!ev_is_active(&sp->w))
		ev_idle_start(sp->loop, &sp->w);
}

/* Busy polling for "busyPoll" microseconds after I/O; none when 0. */
static void
worker_spin_init(struct worker_spin *sp, struct worker *wk)
{
	sp->loop = wk->loop;
	sp->window = (double)wk->conf->busy_poll_us / 1e6;
	sp->last_io = 0.;
	ev_idle_init(&sp->w, worker_spin_cb);
	sp->w.data = sp;
	if (sp->window > 0.)
		proxy_set_busy(wk->px, worker_busy, sp);
}

int
worker_main(const struct worker_args *a)
{
	struct worker wk = { .id = a->id, .seg = a->seg, .tls = a->tls,
	    .handoff = a->handoff, .conf = a->conf, .max_connections = a->conf->max_connections };
	char err[512];
	const struct conf *c = a->conf;
	struct shm_seg *seg = a->seg;
	int id = a->id;
	unsigned i;
	unsigned long long conns, reqs;
	char name[32];
	struct worker_spin spin;

	snprintf(name, sizeof(name), "worker %d", id);
	/* A predecessor that died left its count behind ("incoming" stays: the queue does). */
	atomic_store(&seg->workers[(id - 1) % SHM_MAX_WORKERS].sessions, 0);
	atomic_store(&seg->workers[(id - 1) % SHM_MAX_WORKERS].quitting, 0);
	log_set_procname(name);
	if ((wk.sfd = proc_child_init(a->master)) == -1) {
		log_err("signal setup");
		return PROC_EXIT_FATAL;
	}
	if ((wk.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL) {
		log_errx("cannot create an event loop");
		return PROC_EXIT_FATAL;
	}
	if ((wk.px = proxy_new(wk.loop, c, seg, a->lb, id, a->tls)) == NULL) {
		log_errx("out of memory");
		return PROC_EXIT_FATAL;
	}
	worker_spin_init(&spin, &wk);
	if (c->access_log != NULL) {
		wk.alog = accesslog_open(c->access_log, (enum accesslog_format)c->access_log_format,
		    err, sizeof(err));
		if (wk.alog == NULL)
			log_errx("%s: requests will not be logged", err);
		proxy_set_accesslog(wk.px, wk.alog);
		ev_prepare_init(&wk.flush_w, worker_flush_cb);
		wk.flush_w.data = &wk;
		ev_prepare_start(wk.loop, &wk.flush_w);
	}
	wk.ls[0].fd = a->listen_fd;
	wk.ls[1].fd = a->tls_fd;
	wk.ls[1].tls = 1;
	for (i = 0; i < 2; i++) {
		wk.ls[i].wk = &wk;
		ev_io_init(&wk.ls[i].w, worker_accept_cb, wk.ls[i].fd, EV_READ);
		wk.ls[i].w.data = &wk.ls[i];
		if (wk.ls[i].fd != -1)
			ev_io_start(wk.loop, &wk.ls[i].w);
	}
	ev_timer_init(&wk.pause_w, worker_pause_cb, ACCEPT_PAUSE, 0.);
	wk.pause_w.data = &wk;
	ev_io_init(&wk.signal_w, worker_signal_cb, wk.sfd, EV_READ);
	wk.signal_w.data = &wk;
	ev_init(&wk.drain_w, worker_drain_cb);
	wk.drain_w.data = &wk;
	ev_io_start(wk.loop, &wk.signal_w);
	if (wk.handoff != NULL) {
		ev_io_init(&wk.handoff_w, worker_handoff_cb, wk.handoff[id - 1][1], EV_READ);
		wk.handoff_w.data = &wk;
		ev_io_start(wk.loop, &wk.handoff_w);
	}

	ev_run(wk.loop, 0);

	proxy_totals(wk.px, &conns, &reqs);
	log_info("exiting: served %llu connections, %llu requests", conns, reqs);
	proxy_free(wk.px);
	accesslog_close(wk.alog);
	for (i = 0; i < 2; i++)
		if (wk.ls[i].fd != -1)
			close(wk.ls[i].fd);
	close(wk.sfd);
	ev_loop_destroy(wk.loop);
	return 0;
}
