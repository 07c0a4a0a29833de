/* Backend connections and the pool of idle ones; see upstream.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "clock.h"
#include "conf.h"
#include "net.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif
#include "upstream.h"

#define SWEEP_MIN	0.05	/* seconds between sweeps of the pool, at least */
#define SWEEP_MAX	5.	/* and at most */

struct upstream_pool {
	struct ev_loop *loop;
	const struct conf *conf;	/* the backends: URL host, https, verify */
	struct tls_ctx *tls;		/* client context for https backends; NULL: none */
#ifdef HAVE_TLS
	SSL_SESSION **sessions;		/* per backend: the latest TLS session, to resume */
#endif
	size_t nbackends;
	unsigned max_idle;		/* per backend */
	double idle_timeout;		/* seconds */
	int draining;			/* released connections are closed */
	ev_timer sweep;			/* closes connections idle for idle_timeout */
	struct upstream **idle;		/* per backend, most recently released first */
	unsigned *nidle;
};

static void pool_sweep_cb(struct ev_loop *, ev_timer *, int);

struct upstream_pool *
upstream_pool_new(struct ev_loop *loop, const struct conf *c, struct tls_ctx *tls,
    unsigned max_idle, double idle_timeout)
{
	size_t nbackends = c->nbackends;
	struct upstream_pool *p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->loop = loop;
	p->conf = c;
	p->tls = tls;
	p->nbackends = nbackends;
	p->max_idle = max_idle;
	p->idle_timeout = idle_timeout;
	p->idle = calloc(nbackends, sizeof(*p->idle));
	p->nidle = calloc(nbackends, sizeof(*p->nidle));
#ifdef HAVE_TLS
	p->sessions = calloc(nbackends, sizeof(*p->sessions));
	if (p->sessions == NULL) {
		free(p->idle);
		p->idle = NULL;
	}
#endif
	if (p->idle == NULL || p->nidle == NULL) {
#ifdef HAVE_TLS
		free(p->sessions);
#endif
		free(p->idle);
		free(p->nidle);
		free(p);
		return NULL;
	}
	ev_init(&p->sweep, pool_sweep_cb);
	p->sweep.repeat = idle_timeout / 4.;
	if (p->sweep.repeat < SWEEP_MIN)
		p->sweep.repeat = SWEEP_MIN;
	if (p->sweep.repeat > SWEEP_MAX)
		p->sweep.repeat = SWEEP_MAX;
	p->sweep.data = p;
	return p;
}

void
upstream_destroy(struct upstream *up)
{
	ev_io_stop(up->pool->loop, &up->io);
	conn_close(&up->conn);
	free(up);
}

void
upstream_set_events(struct upstream *up, unsigned ev)
{
	if (up->conn.tls != NULL && ev != 0 && !up->connecting)
		ev |= up->conn.wants;	/* a TLS read may wait to write, a write to read */
	if ((ev & EV_READ) && conn_pending(&up->conn))
		ev_feed_event(up->pool->loop, &up->io, EV_READ);
	if (ev == up->events)
		return;
	ev_io_stop(up->pool->loop, &up->io);
	up->events = ev;
	if (ev) {
		ev_io_set(&up->io, up->fd, (int)ev);
		ev_io_start(up->pool->loop, &up->io);
	}
}

static void
pool_remove(struct upstream *up)
{
	struct upstream_pool *p = up->pool;
	struct upstream **pp;

	for (pp = &p->idle[up->backend]; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == up) {
			*pp = up->next;
			p->nidle[up->backend]--;
			return;
		}
	}
}

/*
 * Reads what came on an idle TLS connection: 1 when it was only TLS
 * messages of its own (a session ticket, a key update) and the connection
 * waits for more, 0 for data, close_notify, EOF or an error.
 */
static int
upstream_tls_idle(struct upstream *up)
{
	char c;

	return conn_recv(&up->conn, &c, 1) == -1 && errno == EAGAIN &&
	    up->conn.wants == CONN_WANT_READ;
}

/* A pooled connection became readable (the backend closed it, or sent a TLS message). */
static void
pool_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct upstream *up = w->data;

	if (up->conn.tls != NULL && upstream_tls_idle(up))
		return;		/* still usable */
	pool_remove(up);
	upstream_destroy(up);
}

/*
 * Each list is ordered by release, most recent first: the connections idle
 * for too long are a tail, cut off whole.
 */
static void
pool_sweep_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct upstream_pool *p = w->data;
	struct upstream **pp, *up;
	double now = clock_mono();
	size_t b, left = 0;

	for (b = 0; b < p->nbackends; b++) {
		for (pp = &p->idle[b]; *pp != NULL && now - (*pp)->idle_since < p->idle_timeout;
		    pp = &(*pp)->next)
			;
		while ((up = *pp) != NULL) {
			*pp = up->next;
			p->nidle[b]--;
			upstream_destroy(up);
		}
		left += p->nidle[b];
	}
	if (left == 0)
		ev_timer_stop(loop, w);	/* upstream_release starts it again */
}

struct upstream *
upstream_connect(struct upstream_pool *p, int backend, const struct net_addr *addr,
    upstream_cb_t *cb)
{
	struct upstream *up;
	int fd;

	if ((fd = net_connect(addr)) == -1)
		return NULL;
	if ((up = calloc(1, sizeof(*up))) == NULL) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	up->pool = p;
	up->fd = fd;
	conn_plain_init(&up->conn, fd);
#ifdef HAVE_TLS
	if (p->conf->backends[backend].tls) {
		const struct conf_backend *b = &p->conf->backends[backend];
		SSL *ssl = p->tls != NULL ? tls_client_new(p->tls, b->host, !b->no_verify) : NULL;

		if (ssl == NULL) {
			close(fd);
			free(up);
			errno = ENOMEM;
			return NULL;
		}
		(void)tls_client_resume(ssl, &p->sessions[backend]);	/* else a full handshake */
		conn_tls_init(&up->conn, fd, ssl);
	}
#endif
	up->conn.wants = CONN_WANT_WRITE;	/* the connect's end */
	up->backend = backend;
	up->connecting = 1;
	ev_io_init(&up->io, cb, fd, 0);
	up->io.data = up;
	return up;
}

int
upstream_connected(struct upstream *up, char *why, size_t whylen)
{
	int r;

	if (up->connecting == 1) {
		if (net_connect_result(up->fd) == -1) {
			snprintf(why, whylen, "connect failed (%s)", strerror(errno));
			return CONN_ERR;
		}
		up->connecting = 2;
		/*
		 * The socket's buffer is empty and the preamble small: one send
		 * takes it whole, ahead of the TLS handshake's first byte.
		 */
		if (up->preamble_len > 0 && send(up->fd, up->preamble, up->preamble_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)up->preamble_len) {
			snprintf(why, whylen, "cannot send the PROXY header (%s)", strerror(errno));
			return CONN_ERR;
		}
		up->preamble_len = 0;
	}
	r = conn_handshake(&up->conn);
	if (r == CONN_AGAIN)
		return CONN_AGAIN;
	if (r == CONN_ERR) {
#ifdef HAVE_TLS
		conn_tls_why(&up->conn, why, whylen);
		/* No resuming what this backend may no longer honour: the next connection starts afresh. */
		SSL_SESSION_free(up->pool->sessions[up->backend]);
		up->pool->sessions[up->backend] = NULL;
#else
		snprintf(why, whylen, "handshake failed");
#endif
		return CONN_ERR;
	}
	up->connecting = 0;
	up->conn.wants = 0;
	return CONN_OK;
}

int
upstream_preamble(struct upstream *up, const void *p, size_t len)
{
	if (len > sizeof(up->preamble))
		return -1;
	memcpy(up->preamble, p, len);
	up->preamble_len = len;
	return 0;
}

void
upstream_release(struct upstream *up, double now)
{
	struct upstream_pool *p = up->pool;

	if (p->draining || p->nidle[up->backend] >= p->max_idle) {
		upstream_destroy(up);
		return;
	}
	up->s = NULL;
	/*
	 * The watcher stays armed for reading (stopping and starting it again
	 * costs epoll_ctl calls): only its callback changes. An event already
	 * queued for it belonged to the session.
	 */
	ev_clear_pending(p->loop, &up->io);
	ev_set_cb(&up->io, pool_io_cb);
	upstream_set_events(up, EV_READ);
	up->idle_since = now;
	if (!ev_is_active(&p->sweep))
		ev_timer_again(p->loop, &p->sweep);
	up->next = p->idle[up->backend];
	p->idle[up->backend] = up;
	p->nidle[up->backend]++;
}

/*
 * Whether an idle connection may carry a request: nothing to read on it. A
 * backend may send bytes after a complete response (a body after the head of
 * a HEAD response, a late error page) or close it; the pool's watcher sees
 * that, but only on the next turn of the loop, and a request handled in the
 * same turn would take the connection and read those bytes as its response.
 */
static int
upstream_clean(struct upstream *up)
{
	char c;

	if (up->conn.tls != NULL)
		return upstream_tls_idle(up);
	return recv(up->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == -1 &&
	    (errno == EAGAIN || errno == EWOULDBLOCK);
}

struct upstream *
upstream_take(struct upstream_pool *p, int backend, upstream_cb_t *cb, double now)
{
	struct upstream *up = p->idle[backend];

	if (up != NULL && now - up->idle_since >= p->idle_timeout) {
		/* Idle too long, and the rest of the list longer: the sweep is late. */
		while ((up = p->idle[backend]) != NULL) {
			p->idle[backend] = up->next;
			p->nidle[backend]--;
			upstream_destroy(up);
		}
	}
	/* Pending input or EOF: dropped, and the next one tried. */
	while ((up = p->idle[backend]) != NULL && !upstream_clean(up)) {
		p->idle[backend] = up->next;
		p->nidle[backend]--;
		upstream_destroy(up);
	}
	if (up == NULL)
		return NULL;
	p->idle[backend] = up->next;
	p->nidle[backend]--;
	ev_clear_pending(p->loop, &up->io);
	ev_set_cb(&up->io, cb);		/* still armed for reading: see upstream_release */
	up->next = NULL;
	return up;
}

void
upstream_pool_drain(struct upstream_pool *p)
{
	size_t b;

	p->draining = 1;
	ev_timer_stop(p->loop, &p->sweep);
	for (b = 0; b < p->nbackends; b++) {
		while (p->idle[b] != NULL) {
			struct upstream *up = p->idle[b];

			pool_remove(up);
			upstream_destroy(up);
		}
	}
}

void
upstream_pool_free(struct upstream_pool *p)
{
#ifdef HAVE_TLS
	size_t b;
#endif

	if (p == NULL)
		return;
	upstream_pool_drain(p);
#ifdef HAVE_TLS
	for (b = 0; b < p->nbackends; b++)
		SSL_SESSION_free(p->sessions[b]);
	free(p->sessions);
#endif
	free(p->idle);
	free(p->nidle);
	free(p);
}
