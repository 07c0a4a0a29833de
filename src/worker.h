/*
 * A worker process: its own libev loop, accepting on the listening socket it
 * shares with the other workers, running the proxy sessions it accepted.
 *
 * SIGTERM/SIGINT: exit at once. SIGQUIT: stop accepting, let the sessions in
 * flight finish (idle keep-alive clients are closed), exit when none is left
 * or at the drain deadline.
 */
#ifndef RONDO_WORKER_H
#define RONDO_WORKER_H

#include <sys/types.h>

struct conf;
struct lb;
struct shm_seg;
struct tls_ctx;

/* What a worker gets from the master. */
struct worker_args {
	int id;				/* 1-based */
	pid_t master;			/* the master's pid, taken before fork() */
	int listen_fd;			/* plain HTTP; -1: none (TLS only) */
	int tls_fd;			/* TLS; -1: none */
	struct tls_ctx *tls;		/* the generation's TLS contexts (with tls_fd) */
	const struct conf *conf;
	struct shm_seg *seg;
	const struct lb *lb;
	const int (*handoff)[2];	/* per worker: [0] others send to it, [1] it receives */
};

/* Runs a worker in a freshly forked child. Returns the exit status. */
int worker_main(const struct worker_args *a);

#endif
