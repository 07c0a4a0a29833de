/* Active health checks; see health.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "balance.h"
#include "conf.h"
#include "conn.h"
#include "log.h"
#include "net.h"
#include "proc.h"
#include "proxyproto.h"
#include "shm.h"
#include "stats.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif
#include "health.h"

enum { PROBE_IDLE, PROBE_CONNECTING, PROBE_HANDSHAKE, PROBE_WRITING, PROBE_READING };

struct probe {
	struct health *h;
	unsigned idx;			/* backend index */
	struct conn conn;		/* plain, or TLS for an https backend; fd -1: none */
	int phase;
	ev_io io;
	ev_timer timeout;
	ev_tstamp started;
	char req[PROXYPROTO_WRITE_MAX + CONF_PATH_MAX + CONF_HOST_MAX + 128];
	size_t reqlen;
	size_t reqoff;			/* bytes of req sent */
	char resp[32];			/* enough for "HTTP/1.1 200" */
	size_t resplen;
	int state;			/* -1 unknown, 0 down, 1 up */
	unsigned ok_streak, fail_streak;
#ifdef HAVE_TLS
	SSL_SESSION *session;		/* https: the last session the backend granted, to resume */
#endif
};

struct health {
	struct ev_loop *loop;
	const struct conf *conf;
	struct shm_seg *seg;
	const struct lb *lb;		/* told of each backend going up or down */
	struct tls_ctx *tls;		/* client context for https backends; NULL: none */
	struct probe *probes;
	ev_timer tick;
	ev_io signal_w;
	int sfd;
};

static const char *
health_reason(int err)
{
	switch (err) {
	case ECONNREFUSED:
		return "connect refused";
	case ETIMEDOUT:
		return "timeout";
	case EHOSTUNREACH:
	case ENETUNREACH:
		return "unreachable";
	default:
		return strerror(err);
	}
}

static void
probe_finish(struct probe *p, int ok, const char *why)
{
	struct health *h = p->h;
	struct shm_backend *sb = &h->seg->backends[p->idx];
	const char *url = h->conf->backends[p->idx].url;
	int was = p->state;

	ev_io_stop(h->loop, &p->io);
	ev_timer_stop(h->loop, &p->timeout);
	conn_close(&p->conn);
	p->phase = PROBE_IDLE;
	stats_health_probe(sb, ok, ev_now(h->loop) - p->started);

	if (ok) {
		p->fail_streak = 0;
		p->ok_streak++;
		/* A backend that workers took out for failing answers again: back in. */
		if (atomic_load(&sb->down_until_ms) > shm_now_ms()) {
			atomic_store(&sb->down_until_ms, 0);
			atomic_store(&sb->fails, 0);
			shm_backend_ramp_from_now(h->seg, p->idx);
			log_info("backend %s passed its health check: back in rotation", url);
		}
	} else {
		p->ok_streak = 0;
		p->fail_streak++;
	}
	if (was == -1)
		p->state = ok;		/* the first probe decides at once */
	else if (was == 0 && ok && p->ok_streak >= h->conf->health.rise)
		p->state = 1;
	else if (was == 1 && !ok && p->fail_streak >= h->conf->health.fall)
		p->state = 0;
	if (p->state == was)
		return;
	if (was == 0)
		shm_backend_ramp_from_now(h->seg, p->idx);	/* not on the first probe: no ramp at start */
	shm_backend_set_up(h->seg, p->idx, p->state);
	balance_backend_changed(h->lb, h->seg, (int)p->idx);
	atomic_store_explicit(&sb->checked, 1, memory_order_release);
	if (p->state)
		log_info("backend %s is up", url);
	else
		log_warnx("backend %s is down (%s)", url, why);
}

/* Checks the status line once it is in: "HTTP/1.x NNN". */
static void
probe_check_status(struct probe *p, int eof)
{
	const struct conf_health *hc = &p->h->conf->health;
	char why[48];
	int status;

	if (p->resplen < 12) {
		if (eof)
			probe_finish(p, 0, p->resplen == 0 ? "connection closed" : "bad response");
		return;
	}
	if (memcmp(p->resp, "HTTP/1.", 7) != 0 || p->resp[8] != ' ' ||
	    p->resp[9] < '1' || p->resp[9] > '5' || p->resp[10] < '0' || p->resp[10] > '9' ||
	    p->resp[11] < '0' || p->resp[11] > '9') {
		probe_finish(p, 0, "bad response");
		return;
	}
	status = (p->resp[9] - '0') * 100 + (p->resp[10] - '0') * 10 + (p->resp[11] - '0');
	snprintf(why, sizeof(why), "status %d", status);
	if (hc->expect_status != 0)
		probe_finish(p, status == hc->expect_status, why);
	else
		probe_finish(p, status >= 200 && status < 400, why);
}

/* Watches the probe's connection for ev only. */
static void
probe_arm(struct probe *p, unsigned ev)
{
	ev_io_stop(p->h->loop, &p->io);
	ev_io_set(&p->io, p->conn.fd, (int)ev);
	ev_io_start(p->h->loop, &p->io);
}

/* Why a read or write failed: the socket's errno, or what TLS said. */
static const char *
probe_io_reason(const struct probe *p)
{
	return errno == EPROTO && p->conn.error != NULL ? p->conn.error : health_reason(errno);
}

/* Connect, TLS handshake (https), the request, the status line: each step as far as it goes. */
static void
probe_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct probe *p = w->data;
	struct iovec iov;
	ssize_t n;
	int r;

	if (p->phase == PROBE_CONNECTING) {
		if (net_connect_result(p->conn.fd) == -1) {
			probe_finish(p, 0, health_reason(errno));
			return;
		}
		p->phase = PROBE_HANDSHAKE;
	}
	if (p->phase == PROBE_HANDSHAKE) {
		if ((r = conn_handshake(&p->conn)) == CONN_AGAIN) {
			probe_arm(p, p->conn.wants);
			return;
		}
		if (r == CONN_ERR) {
#ifdef HAVE_TLS
			char why[160];

			probe_finish(p, 0, conn_tls_why(&p->conn, why, sizeof(why)));
#else
			probe_finish(p, 0, "handshake failed");
#endif
			return;
		}
		p->phase = PROBE_WRITING;
	}
	if (p->phase == PROBE_WRITING) {
		/* A few hundred bytes into an empty socket buffer: one write does it, mostly. */
		iov.iov_base = p->req + p->reqoff;
		iov.iov_len = p->reqlen - p->reqoff;
		if ((n = conn_send(&p->conn, &iov, 1)) == -1) {
			if (errno == EAGAIN || errno == EINTR)
				probe_arm(p, p->conn.wants != 0 ? p->conn.wants : EV_WRITE);
			else
				probe_finish(p, 0, probe_io_reason(p));
			return;
		}
		p->reqoff += (size_t)n;
		if (p->reqoff < p->reqlen) {
			probe_arm(p, EV_WRITE);
			return;
		}
		p->phase = PROBE_READING;
		probe_arm(p, EV_READ);
		return;
	}
	n = conn_recv(&p->conn, p->resp + p->resplen, sizeof(p->resp) - p->resplen);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			probe_arm(p, p->conn.wants != 0 ? p->conn.wants : EV_READ);
		else
			probe_finish(p, 0, probe_io_reason(p));
		return;
	}
	p->resplen += (size_t)n;
	probe_check_status(p, n == 0);
	/* Bytes TLS decrypted already: the socket will not say so again. */
	if (p->phase == PROBE_READING && conn_pending(&p->conn))
		ev_feed_event(loop, &p->io, EV_READ);
}

static void
probe_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	probe_finish(w->data, 0, "timeout");
}

static void
probe_start(struct probe *p)
{
	struct health *h = p->h;
	const struct conf_backend *b = &h->conf->backends[p->idx];
	int fd;

	if (p->phase != PROBE_IDLE)
		return;		/* the previous one is still running: its timeout ends it */
	p->started = ev_now(h->loop);
	p->resplen = 0;
	p->reqoff = 0;
	if ((fd = net_connect(&b->addr)) == -1) {
		probe_finish(p, 0, health_reason(errno));
		return;
	}
	conn_plain_init(&p->conn, fd);
#ifdef HAVE_TLS
	if (b->tls) {
		SSL *ssl = h->tls != NULL ? tls_client_new(h->tls, b->host, !b->no_verify) : NULL;

		if (ssl == NULL) {
			conn_close(&p->conn);
			probe_finish(p, 0, "no TLS state (out of memory)");
			return;
		}
		(void)tls_client_resume(ssl, &p->session);	/* else a full handshake */
		conn_tls_init(&p->conn, fd, ssl);
	}
#endif
	p->phase = PROBE_CONNECTING;
	probe_arm(p, EV_WRITE);
	ev_timer_set(&p->timeout, (double)h->conf->health.timeout_ms / 1000., 0.);
	ev_timer_start(h->loop, &p->timeout);
}

static void
health_tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct health *h = w->data;
	size_t i;

	ev_now_update(loop);
	for (i = 0; i < h->conf->nbackends; i++)
		probe_start(&h->probes[i]);
}

static void
health_signal_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct health *h = w->data;
	int sig;

	while ((sig = proc_signal_read(h->sfd)) != 0) {
		if (sig == SIGTERM || sig == SIGINT || sig == SIGQUIT)
			ev_break(loop, EVBREAK_ALL);
	}
}

int
health_main(const struct conf *c, struct shm_seg *seg, const struct lb *lb, pid_t master,
    struct tls_ctx *tls)
{
	struct health h = { .conf = c, .seg = seg, .lb = lb, .tls = tls };
	size_t i;

	log_set_procname("health");
	if ((h.sfd = proc_child_init(master)) == -1) {
		log_err("signal setup");
		return PROC_EXIT_FATAL;
	}
	if ((h.loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL ||
	    (h.probes = calloc(c->nbackends, sizeof(*h.probes))) == NULL) {
		log_errx("cannot create an event loop");
		return PROC_EXIT_FATAL;
	}
	for (i = 0; i < c->nbackends; i++) {
		struct probe *p = &h.probes[i];
		const struct conf_backend *b = &c->backends[i];
		int n, pp = 0;

		p->h = &h;
		p->idx = (unsigned)i;
		p->conn.fd = -1;
		/* A backend whose state is known (carried over a reload) keeps it. */
		p->state = atomic_load(&seg->backends[i].checked) ? shm_backend_up(seg, (unsigned)i) : -1;
		/*
		 * "sendProxy": a probe speaks for no client, so it says so, as the
		 * spec intends: a v2 LOCAL header, or v1's "PROXY UNKNOWN".
		 */
		if (b->send_proxy == 1)
			pp = proxyproto_write_v1_unknown(p->req, PROXYPROTO_WRITE_MAX);
		else if (b->send_proxy == 2)
			pp = proxyproto_write_v2_local(p->req, PROXYPROTO_WRITE_MAX);
		if (pp < 0)
			pp = 0;
		n = snprintf(p->req + pp, sizeof(p->req) - (size_t)pp, "HEAD %s HTTP/1.1\r\n"
		    "Host: %s\r\nUser-Agent: rondo-health\r\nConnection: close\r\n\r\n",
		    c->health.path, b->hostport);
		p->reqlen = n > 0 && (size_t)n < sizeof(p->req) - (size_t)pp ? (size_t)pp + (size_t)n : 0;
		ev_init(&p->io, probe_io_cb);
		p->io.data = p;
		ev_init(&p->timeout, probe_timeout_cb);
		p->timeout.data = p;
	}
	/*
	 * Probe at once when some state is unknown; after a reload, when every
	 * state was carried over, keep to the interval (a reload is no reason
	 * for a burst of probes, nor to trust a backend sooner).
	 */
	for (i = 0; i < c->nbackends; i++)
		if (h.probes[i].state == -1)
			break;
	ev_timer_init(&h.tick, health_tick_cb,
	    i < c->nbackends ? 0. : (double)c->health_interval_ms / 1000.,
	    (double)c->health_interval_ms / 1000.);
	h.tick.data = &h;
	ev_timer_start(h.loop, &h.tick);
	ev_io_init(&h.signal_w, health_signal_cb, h.sfd, EV_READ);
	h.signal_w.data = &h;
	ev_io_start(h.loop, &h.signal_w);

	ev_run(h.loop, 0);

	for (i = 0; i < c->nbackends; i++) {
		conn_close(&h.probes[i].conn);
#ifdef HAVE_TLS
		SSL_SESSION_free(h.probes[i].session);
#endif
	}
	free(h.probes);
	close(h.sfd);
	ev_loop_destroy(h.loop);
	return 0;
}
