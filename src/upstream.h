/*
 * Connections to backends, and each worker's pool of idle ones.
 *
 * While a request uses a connection, its watcher calls the callback the
 * session gave (upstream_connect, upstream_take) and up->s names the
 * session. Between requests the connection waits in the pool: still armed
 * for reading, so that a backend closing it is noticed (the connection is
 * then dropped), and closed once it has been idle for the pool's idle
 * timeout: one sweep timer per pool checks, a quarter of the timeout apart
 * (from 50 ms to 5 s), while the pool holds connections, and a connection
 * idle for longer than the timeout is never handed out, nor one with
 * input pending (bytes or EOF, checked by a peek when it is taken). Taking
 * a connection from the pool and giving it back costs no epoll_ctl call and
 * no timer operation.
 *
 * Connections are taken most recently used first: the one least likely to
 * have been closed by the backend meanwhile.
 */
#ifndef RONDO_UPSTREAM_H
#define RONDO_UPSTREAM_H

#include <stddef.h>

#include <ev.h>

#include "conf.h"
#include "conn.h"

struct session;
struct upstream_pool;

typedef void upstream_cb_t(struct ev_loop *, ev_io *, int);

struct upstream {
	struct upstream_pool *pool;
	struct session *s;		/* owner while in use, NULL when pooled */
	int fd;				/* conn.fd */
	struct conn conn;		/* how bytes go to and from the backend */
	int backend;			/* index in the config and the segment */
	int connecting;			/* connect() in progress */
	unsigned events;		/* EV_READ/EV_WRITE currently watched */
	unsigned nreq;			/* requests sent on this connection */
	int noreuse;			/* the backend said close, or framing by EOF */
	ev_io io;			/* io.data is the upstream */
	double idle_since;		/* pooled: when it was released */
	struct upstream *next;		/* pool list */
};

/* A pool for backends 0..nbackends-1; at most max_idle idle connections each. */
struct upstream_pool *upstream_pool_new(struct ev_loop *loop, size_t nbackends,
    unsigned max_idle, double idle_timeout);

/* Closes every idle connection; from now on released ones are closed too. */
void upstream_pool_drain(struct upstream_pool *p);

/* Drains, then frees the pool. Connections in use must be destroyed first. */
void upstream_pool_free(struct upstream_pool *p);

/*
 * Starts a non-blocking connection to addr (up->connecting is set; wait for
 * writability, then net_connect_result). NULL with errno set on failure.
 */
struct upstream *upstream_connect(struct upstream_pool *p, int backend,
    const struct net_addr *addr, upstream_cb_t *cb);

/*
 * An idle connection to backend from the pool, or NULL. Its watcher calls cb.
 * now: clock_mono() (the caller has it already, on the per-request path).
 */
struct upstream *upstream_take(struct upstream_pool *p, int backend, upstream_cb_t *cb,
    double now);

/* Gives a connection that can carry another request back to the pool (or closes it). */
void upstream_release(struct upstream *up, double now);

/* Closes the connection and frees it. */
void upstream_destroy(struct upstream *up);

/* Watches up for ev (EV_READ, EV_WRITE, both or 0), touching epoll only on a change. */
void upstream_set_events(struct upstream *up, unsigned ev);

#endif
