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
 *
 * An https:// backend gets TLS (SNI, the certificate checked unless
 * "verify": false): upstream_connected runs the TCP connect and then the
 * handshake, so that the session's connect phase (and its timeout) covers
 * both. Each pool keeps the latest TLS session per backend and offers it on
 * each new connection. An idle TLS connection may receive what is not data:
 * a TLS 1.3 session ticket, a key update; those are read and keep it in the
 * pool. Data, close_notify or EOF drop it, as for plain TCP.
 */
#ifndef RONDO_UPSTREAM_H
#define RONDO_UPSTREAM_H

#include <stddef.h>

#include <ev.h>

#include "conf.h"
#include "conn.h"

struct session;
struct tls_ctx;
struct upstream_pool;

typedef void upstream_cb_t(struct ev_loop *, ev_io *, int);

#define UPSTREAM_PREAMBLE_MAX	128	/* room for any PROXY protocol header */

struct upstream {
	struct upstream_pool *pool;
	struct session *s;		/* owner while in use, NULL when pooled */
	int fd;				/* conn.fd */
	struct conn conn;		/* how bytes go to and from the backend */
	int backend;			/* index in the config and the segment */
	int connecting;			/* 1: connect() in progress, 2: the TLS handshake; 0: ready */
	unsigned events;		/* EV_READ/EV_WRITE currently watched */
	unsigned nreq;			/* requests sent on this connection */
	int noreuse;			/* the backend said close, or framing by EOF */
	ev_io io;			/* io.data is the upstream */
	double idle_since;		/* pooled: when it was released */
	struct upstream *next;		/* pool list */
	char preamble[UPSTREAM_PREAMBLE_MAX];	/* sent first once connected (a PROXY header) */
	size_t preamble_len;
};

/*
 * A pool for the backends of c (kept, not owned); at most max_idle idle
 * connections each. tls (kept, not owned): the client context for https
 * backends, NULL when there are none.
 */
struct upstream_pool *upstream_pool_new(struct ev_loop *loop, const struct conf *c,
    struct tls_ctx *tls, unsigned max_idle, double idle_timeout);

/* Closes every idle connection; from now on released ones are closed too. */
void upstream_pool_drain(struct upstream_pool *p);

/* Drains, then frees the pool. Connections in use must be destroyed first. */
void upstream_pool_free(struct upstream_pool *p);

/*
 * Starts a non-blocking connection to addr, the address of backend, over TLS
 * for an https:// backend. up->connecting is set: wait for up->conn.wants,
 * then call upstream_connected. NULL with errno set on failure.
 */
struct upstream *upstream_connect(struct upstream_pool *p, int backend,
    const struct net_addr *addr, upstream_cb_t *cb);

/*
 * The next step of a connection that is connecting: the connect's result,
 * then the TLS handshake if any. CONN_OK: it can carry the request
 * (up->connecting is 0); CONN_AGAIN: wait for up->conn.wants; CONN_ERR:
 * failed, <why> says why for the log ("connect failed (Connection refused)",
 * "certificate verify failed: ..."). May run in a callback.
 */
int upstream_connected(struct upstream *up, char *why, size_t whylen);

/*
 * Bytes that a connection still connecting sends first, once connected and
 * before any TLS handshake (a PROXY protocol header). 0, or -1 when they do
 * not fit in UPSTREAM_PREAMBLE_MAX.
 */
int upstream_preamble(struct upstream *up, const void *p, size_t len);

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

/*
 * Watches up for ev (EV_READ, EV_WRITE, both or 0), touching epoll only on a
 * change. For TLS, also for what a blocked read or write waits for, and a
 * read event is fed when decrypted bytes wait in the connection (the socket
 * will not signal them).
 */
void upstream_set_events(struct upstream *up, unsigned ev);

#endif
