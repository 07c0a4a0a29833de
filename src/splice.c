/* Zero-copy relaying through pipes with splice(2); see splice.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "splice.h"

void
splice_pool_init(struct splice_pool *p, unsigned max)
{
	p->free = NULL;
	p->nfree = 0;
	p->max = max;
}

static void
spipe_free(struct spipe *sp)
{
	close(sp->fd[0]);
	close(sp->fd[1]);
	free(sp);
}

void
splice_pool_fini(struct splice_pool *p)
{
	struct spipe *sp;

	while ((sp = p->free) != NULL) {
		p->free = sp->next;
		spipe_free(sp);
	}
	p->nfree = 0;
}

struct spipe *
splice_get(struct splice_pool *p)
{
	struct spipe *sp = p->free;
	int size;

	if (sp != NULL) {
		p->free = sp->next;
		p->nfree--;
		return sp;
	}
	if ((sp = malloc(sizeof(*sp))) == NULL)
		return NULL;
	if (pipe2(sp->fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		free(sp);
		return NULL;
	}
	/*
	 * A bigger pipe moves more per call. Refused past /proc/sys/fs/pipe-max-size
	 * or the user's pipe-user-pages limits: the pipe keeps its default size.
	 */
	(void)fcntl(sp->fd[1], F_SETPIPE_SZ, SPLICE_PIPE_SIZE);
	if ((size = fcntl(sp->fd[1], F_GETPIPE_SZ)) <= 0) {
		spipe_free(sp);
		errno = EINVAL;
		return NULL;
	}
	sp->cap = (size_t)size;
	sp->len = 0;
	sp->next = NULL;
	return sp;
}

void
splice_put(struct splice_pool *p, struct spipe **pp)
{
	struct spipe *sp = *pp;

	if (sp == NULL)
		return;
	*pp = NULL;
	if (sp->len > 0 || p->nfree >= p->max) {
		spipe_free(sp);
		return;
	}
	sp->next = p->free;
	p->free = sp;
	p->nfree++;
}

ssize_t
splice_in(struct spipe *sp, int fd, size_t max)
{
	size_t room = sp->cap - sp->len;
	ssize_t n;

	if (room == 0) {
		errno = EAGAIN;
		return -1;
	}
	n = splice(fd, NULL, sp->fd[1], NULL, max < room ? max : room,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0)
		sp->len += (size_t)n;
	return n;
}

ssize_t
splice_out(struct spipe *sp, int fd, size_t max)
{
	ssize_t n;

	n = splice(sp->fd[0], NULL, fd, NULL, max < sp->len ? max : sp->len,
	    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (n > 0)
		sp->len -= (size_t)n;
	return n;
}

int
splice_unsupported(int err)
{
	return err == EINVAL || err == ENOSYS || err == EOPNOTSUPP;
}
