/*
 * The per-worker data path: client sessions and pooled backend connections.
 *
 * A session reads a request head, picks a backend, forwards the rewritten head
 * and streams the body, then streams the response back, both directions at
 * once through fixed buffers (backpressure: a full buffer stops reading on the
 * side that fills it). Keep-alive and pipelining on the client side: requests
 * are answered in order, one at a time. Backend connections are kept alive and
 * reused by the worker.
 */
#ifndef RONDO_PROXY_H
#define RONDO_PROXY_H

#include <sys/socket.h>

struct accesslog;
struct conf;
struct ev_loop;
struct lb;
struct proxy;
struct shm_seg;
struct tls_ctx;

/*
 * Creates the proxy state of worker worker_id (1-based), which keeps its
 * counters in the segment's slot for that worker. tls (kept, not owned): the
 * generation's TLS contexts, for https backends; NULL: none. Returns NULL
 * when out of memory.
 */
struct proxy *proxy_new(struct ev_loop *loop, const struct conf *c, struct shm_seg *seg,
    const struct lb *lb, int worker_id, struct tls_ctx *tls);

/*
 * Takes ownership of the accepted, non-blocking client fd (and of tls, the
 * SSL object of a connection to the TLS listener, NULL for plain HTTP) and
 * starts a session; a TLS handshake runs first, under the request head timeout.
 * On failure (out of memory) the fd is closed. Runs inside the accept callback.
 */
void proxy_accept(struct proxy *px, int fd, const struct sockaddr *peer, void *tls);

/*
 * Graceful stop: idle keep-alive clients are closed now, busy ones after their
 * current response. proxy_sessions() tells when everything is done.
 */
void proxy_drain(struct proxy *px);
unsigned proxy_sessions(const struct proxy *px);

/* Connections accepted and requests answered by backends since proxy_new. */
void proxy_totals(const struct proxy *px, unsigned long long *connections,
    unsigned long long *requests);

/* Logs every request to l from now on (NULL: no access log). The caller keeps l. */
void proxy_set_accesslog(struct proxy *px, struct accesslog *l);

/*
 * fn(arg, now) runs at the start of every I/O callback of the data path, now
 * being clock_mono() then: the worker's busy polling starts from it. NULL: nothing.
 */
typedef void (*proxy_busy_fn)(void *arg, double now);
void proxy_set_busy(struct proxy *px, proxy_busy_fn fn, void *arg);

/* Closes every session and pooled connection and frees px. */
void proxy_free(struct proxy *px);

#endif
