/*
 * Zero-copy relaying: body bytes go from one socket into a pipe and from the
 * pipe into the other socket with splice(2), never through user space.
 *
 * A pipe belongs to one direction of one session while a body streams, and
 * goes back to the worker's small pool of empty pipes afterwards (a pipe that
 * still holds bytes is closed instead: they belong to a dead exchange). The
 * pool keeps pipe creation and F_SETPIPE_SZ off the per-request path.
 *
 * p->len counts the bytes in the pipe: a caller never asks for more than
 * p->cap - p->len, so a pipe never grows past its size (backpressure). The
 * kernel may still call a pipe full earlier (its slots hold pages, and a
 * socket may fill one with a partial page): splice_in then says CONN_AGAIN
 * with bytes in the pipe, and the caller waits for the pipe to drain rather
 * than for the socket.
 *
 * No libev here; plain sockets only (a TLS connection's bytes are not the
 * socket's).
 */
#ifndef RONDO_SPLICE_H
#define RONDO_SPLICE_H

#include <stddef.h>
#include <sys/types.h>

#ifndef SPLICE_PIPE_SIZE	/* asked of F_SETPIPE_SZ; the kernel may give less */
#define SPLICE_PIPE_SIZE (256 * 1024)
#endif

struct spipe {
	int fd[2];		/* read end, write end */
	size_t len;		/* bytes in the pipe */
	size_t cap;		/* its size, as the kernel set it */
	struct spipe *next;	/* free list link while pooled */
};

struct splice_pool {
	struct spipe *free;	/* empty pipes, linked through next */
	unsigned nfree;
	unsigned max;		/* more free pipes than this are closed */
};

/* An empty pool keeping at most max free pipes. */
void splice_pool_init(struct splice_pool *p, unsigned max);

/* Closes the pooled pipes; the pool is empty afterwards and may be used again. */
void splice_pool_fini(struct splice_pool *p);

/*
 * An empty pipe: from the pool, else a new one sized SPLICE_PIPE_SIZE (or
 * the system's default when that is refused). NULL with errno set when no
 * pipe can be made (EMFILE...): the caller copies instead.
 */
struct spipe *splice_get(struct splice_pool *p);

/* Gives *pp back (closed if it holds bytes or the pool is full) and clears it; NULL is fine. */
void splice_put(struct splice_pool *p, struct spipe **pp);

/*
 * Moves at most max bytes from the socket fd into the pipe (less when the
 * pipe has less room). >0 bytes moved; 0 at EOF; -1 with errno: EAGAIN when
 * the socket has nothing or the pipe is full, EINVAL (and the like) when the
 * kernel will not splice this socket.
 */
ssize_t splice_in(struct spipe *sp, int fd, size_t max);

/* Moves at most max bytes of the pipe into the socket fd: >0 moved; -1 with errno (EAGAIN). */
ssize_t splice_out(struct spipe *sp, int fd, size_t max);

/* Errors that mean "this cannot splice" rather than "this connection failed". */
int splice_unsupported(int err);

#endif
