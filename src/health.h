/*
 * The health-check child: every healthCheckInterval it probes every backend at
 * once with "HEAD <path>" and writes the result to the shared segment, after
 * rise consecutive successes (down -> up) or fall consecutive failures
 * (up -> down). Each transition is logged once:
 *
 *   health: backend http://10.0.0.5:8080 is down (connect refused)
 *   health: backend http://10.0.0.5:8080 is up
 *   health: backend https://b.example:443 is down (certificate verify failed: ...)
 */
#ifndef RONDO_HEALTH_H
#define RONDO_HEALTH_H

#include <sys/types.h>

struct conf;
struct lb;
struct shm_seg;
struct tls_ctx;

/*
 * Runs the health checker in a freshly forked child; master is the master's
 * pid, taken before fork(); tls: the generation's TLS contexts, for https
 * backends (probed over TLS, their certificates checked as for requests),
 * NULL when there are none; lb: the generation's balancer, told of each
 * backend that goes up or down. Returns the exit status (proc.h).
 */
int health_main(const struct conf *c, struct shm_seg *seg, const struct lb *lb, pid_t master,
    struct tls_ctx *tls);

#endif
