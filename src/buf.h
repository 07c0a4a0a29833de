/*
 * Fixed-size I/O buffers. A connection never holds more than its buffers, so
 * memory stays flat whatever the size of the bodies that pass through.
 *
 * Bytes live in data[start..end); reading appends at end, writing consumes
 * from start. What runs per read, write or head field is inline here; buf.c
 * holds the rest (formatted output, emptying a pool). No libev, no I/O.
 */
#ifndef RONDO_BUF_H
#define RONDO_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifndef BUF_SIZE		/* -DBUF_SIZE=65536: bigger relays, more memory per active connection */
#define BUF_SIZE 16384
#endif

struct buf {
	size_t start;		/* first unread byte */
	size_t end;		/* one past the last byte */
	struct buf *next;	/* free list link while pooled */
	char data[BUF_SIZE];
};

/* Free buffers kept for reuse, so a busy worker does not malloc per request. */
struct buf_pool {
	struct buf *free;	/* linked through next */
	unsigned nfree;
	unsigned low;		/* the fewest free since the last buf_pool_trim */
	unsigned max;		/* more than this many free buffers are given back to malloc */
};

static inline size_t
buf_len(const struct buf *b)
{
	return b->end - b->start;
}

/* Free room at the tail (after buf_compact, all the free room). */
static inline size_t
buf_space(const struct buf *b)
{
	return BUF_SIZE - b->end;
}

static inline void
buf_reset(struct buf *b)
{
	b->start = b->end = 0;
}

/* Moves the unread bytes to the front so the whole free room is at the tail. */
static inline void
buf_compact(struct buf *b)
{
	if (b->start == 0)
		return;
	if (b->end > b->start)
		memmove(b->data, b->data + b->start, b->end - b->start);
	b->end -= b->start;
	b->start = 0;
}

static inline void
buf_consume(struct buf *b, size_t n)
{
	b->start += n;
	if (b->start == b->end)
		b->start = b->end = 0;
}

/*
 * Appends len bytes at p. Returns 0, or -1 (b unchanged) when they do not
 * fit. Callers may OR the results of a series and check once: a failed append
 * leaves the head incomplete, and the caller discards it.
 */
static inline int
buf_append(struct buf *b, const char *p, size_t len)
{
	if (len > buf_space(b))
		return -1;
	memcpy(b->data + b->end, p, len);
	b->end += len;
	return 0;
}

static inline int
buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

/* Appends n in decimal (no printf on the per-request path). */
static inline int
buf_append_u64(struct buf *b, uint64_t n)
{
	char tmp[20];
	size_t i = sizeof(tmp);

	do {
		tmp[--i] = (char)('0' + n % 10);
		n /= 10;
	} while (n != 0);
	return buf_append(b, tmp + i, sizeof(tmp) - i);
}

/* Appends a header field line "name: value\r\n", whole or not at all. */
static inline int
buf_append_field(struct buf *b, const char *name, size_t nlen, const char *value, size_t vlen)
{
	if (nlen + vlen + 4 > buf_space(b))
		return -1;
	memcpy(b->data + b->end, name, nlen);
	b->end += nlen;
	b->data[b->end++] = ':';
	b->data[b->end++] = ' ';
	memcpy(b->data + b->end, value, vlen);
	b->end += vlen;
	b->data[b->end++] = '\r';
	b->data[b->end++] = '\n';
	return 0;
}

/* Appends printf output; returns -1 when it does not fit (b->end unchanged). */
int buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* An empty pool that keeps at most max free buffers. */
static inline void
buf_pool_init(struct buf_pool *p, unsigned max)
{
	p->free = NULL;
	p->nfree = 0;
	p->low = 0;
	p->max = max;
}

/* An empty buffer: from the pool, else from malloc. NULL when out of memory. */
static inline struct buf *
buf_get(struct buf_pool *p)
{
	struct buf *b = p->free;

	if (b != NULL) {
		p->free = b->next;
		if (--p->nfree < p->low)
			p->low = p->nfree;
	} else if ((b = malloc(sizeof(*b))) == NULL) {
		return NULL;
	}
	buf_reset(b);
	return b;
}

/* Gives *bp back (to the pool, or to free() when the pool is full) and clears it; NULL is fine. */
static inline void
buf_put(struct buf_pool *p, struct buf **bp)
{
	struct buf *b = *bp;

	if (b == NULL)
		return;
	*bp = NULL;
	if (p->nfree >= p->max) {
		free(b);
		return;
	}
	b->next = p->free;
	p->free = b;
	p->nfree++;
}

/* Frees the pooled buffers; the pool is empty afterwards and may be used again. */
void buf_pool_fini(struct buf_pool *p);

/*
 * Frees the pooled buffers that stayed unused since the last call (the
 * fewest the pool held meanwhile), keeping at least <keep>: what a burst left
 * goes back, what steady traffic uses stays. Returns how many it freed.
 */
unsigned buf_pool_trim(struct buf_pool *p, unsigned keep);

#endif
