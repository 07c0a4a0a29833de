/* Fixed-size I/O buffers: the parts that are not inline; see buf.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b->data + b->end, buf_space(b), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= buf_space(b))
		return -1;
	b->end += (size_t)n;
	return 0;
}

void
buf_pool_fini(struct buf_pool *p)
{
	struct buf *b;

	while ((b = p->free) != NULL) {
		p->free = b->next;
		free(b);
	}
	p->nfree = 0;
	p->low = 0;
}

unsigned
buf_pool_trim(struct buf_pool *p, unsigned keep)
{
	unsigned n = 0;
	struct buf *b;

	while (p->low > keep && (b = p->free) != NULL) {
		p->free = b->next;
		free(b);
		p->nfree--;
		p->low--;
		n++;
	}
	p->low = p->nfree;
	return n;
}
