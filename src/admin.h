/*
 * The admin listener, served by the master from its own event loop (never by
 * a worker, so a flood of traffic cannot starve it):
 *
 *   GET  /status                  JSON: backends, workers, uptime, generation
 *   GET  /metrics                 Prometheus text format
 *   POST /backends/<name>/drain   no new requests for that backend
 *   POST /backends/<name>/ready   back in rotation
 *   POST /instance/drain          the monitor path answers 503 (monitor.h)
 *   POST /instance/ready          ... and 200 again
 *
 * <name> is the backend's host:port as in its URL ("127.0.0.1:5001"), or its
 * position in the servers list (0-based). Every figure comes from the shared
 * segment, so it covers all workers. One request per connection.
 *
 * A request is refused (403) unless its Host names the listener and its
 * Origin, if any, is the listener's own: a web page cannot drive it. POSTs
 * need "Authorization: Bearer <admin.token>" (401 without it), and so does
 * every request to a listener beyond loopback. A known path with the wrong
 * method gets 405 with Allow.
 */
#ifndef RONDO_ADMIN_H
#define RONDO_ADMIN_H

#include <stddef.h>

struct admin;
struct conf;
struct lb;
struct net_addr;
struct ev_loop;
struct shm_seg;

/*
 * Listens on addr in loop. Returns NULL with err filled when the socket
 * cannot be opened. admin_set_target must be called before the first request.
 */
struct admin *admin_new(struct ev_loop *loop, const struct net_addr *addr, char *err,
    size_t errlen);

/*
 * What the admin reports and acts on: the current generation, its segment and
 * its balancer (called again on each reload).
 */
void admin_set_target(struct admin *a, const struct conf *c, struct shm_seg *seg,
    const struct lb *lb, unsigned generation);

/* In a forked child: closes the inherited sockets, touches nothing else. NULL is fine. */
void admin_close_fds(struct admin *a);

/* Closes the listener and every admin connection. NULL is fine. */
void admin_free(struct admin *a);

/*
 * A reload begins: /metrics says the last reload failed until
 * admin_set_target names the new generation. NULL is fine.
 */
void admin_reload_started(struct admin *a);

/*
 * Whether a request's Host value (host[0..len)) names the admin listener at
 * listen: "host:port" with the listener's port (no port: 80) and as host an
 * address literal the listener answers on (its own; any loopback one for a
 * loopback listener; any one for a wildcard), or "localhost" for a loopback
 * listener. Other names are refused: a page whose name was re-pointed at this
 * machine (DNS rebinding) must not read it.
 */
int admin_host_allowed(const struct net_addr *listen, const char *host, size_t len);

/* Whether an Origin value is the listener's own origin ("http://" and an allowed Host). */
int admin_origin_allowed(const struct net_addr *listen, const char *origin, size_t len);

/*
 * Whether an Authorization value ("Bearer <token>", scheme in any case) holds
 * token. Takes as long whatever the first difference, so that the token
 * cannot be guessed byte by byte from the answer's timing.
 */
int admin_token_matches(const char *token, const char *authz, size_t len);

/* Whether the listener is on a loopback address (GETs need no token there). */
int admin_addr_loopback(const struct net_addr *listen);

#endif
