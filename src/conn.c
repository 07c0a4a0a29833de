/* Plain TCP behind the transport seam (conn.h): each call is one system call. */
#include "config.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "conn.h"

static ssize_t
plain_recv(struct conn *c, void *p, size_t len)
{
	ssize_t n = recv(c->fd, p, len, 0);

	c->wants = n == -1 && errno == EAGAIN ? CONN_WANT_READ : 0;
	c->eof_clean = n == 0;		/* TCP's end is all there is */
	return n;
}

/* writev, or send for a single piece: a shorter path through the kernel. */
static ssize_t
plain_send(struct conn *c, const struct iovec *iov, int cnt)
{
	ssize_t n;

	if (cnt == 1)
		n = send(c->fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
	else
		n = writev(c->fd, iov, cnt);
	c->wants = n == -1 && errno == EAGAIN ? CONN_WANT_WRITE : 0;
	return n;
}

static int
plain_shutdown(struct conn *c)
{
	return shutdown(c->fd, SHUT_WR);
}

static void
plain_close(struct conn *c)
{
	close(c->fd);
}

static const struct conn_ops plain_ops = {
	.name = "tcp",
	.recv = plain_recv,
	.send = plain_send,
	.handshake = NULL,
	.shutdown = plain_shutdown,
	.pending = NULL,
	.notify = NULL,
	.close = plain_close,
	.splice = 1,
};

void
conn_plain_init(struct conn *c, int fd)
{
	/* Every field not named starts at zero: a field added later needs no reset here. */
	*c = (struct conn){ .fd = fd, .ops = &plain_ops, .handshaken = 1 };
}
