/*
 * The admin listener, served by the master from its own event loop (never by
 * a worker, so a flood of traffic cannot starve it):
 *
 *   GET  /status                  JSON: backends, workers, uptime, generation
 *   GET  /metrics                 Prometheus text format
 *   POST /backends/<name>/drain   no new requests for that backend
 *   POST /backends/<name>/ready   back in rotation
 *
 * <name> is the backend's host:port as in its URL ("127.0.0.1:5001"), or its
 * position in the servers list (0-based). Every figure comes from the shared
 * segment, so it covers all workers. One request per connection.
 */
#ifndef RONDO_ADMIN_H
#define RONDO_ADMIN_H

#include <stddef.h>

struct admin;
struct conf;
struct net_addr;
struct ev_loop;
struct shm_seg;

/*
 * Listens on addr in loop. Returns NULL with err filled when the socket
 * cannot be opened. admin_set_target must be called before the first request.
 */
struct admin *admin_new(struct ev_loop *loop, const struct net_addr *addr, char *err,
    size_t errlen);

/* What the admin reports and acts on: the current generation (called again on each reload). */
void admin_set_target(struct admin *a, const struct conf *c, struct shm_seg *seg,
    unsigned generation);

/* In a forked child: closes the inherited sockets, touches nothing else. NULL is fine. */
void admin_close_fds(struct admin *a);

/* Closes the listener and every admin connection. NULL is fine. */
void admin_free(struct admin *a);

/*
 * Formats the status document or the metrics into out; returns the length
 * (truncated output ends early but stays within outlen). started is the
 * master's start time (seconds since the epoch), now the current time.
 */
size_t admin_status_json(const struct conf *c, const struct shm_seg *seg, unsigned generation,
    double started, double now, char *out, size_t outlen);
size_t admin_metrics(const struct conf *c, const struct shm_seg *seg, double started, double now,
    char *out, size_t outlen);

#endif
