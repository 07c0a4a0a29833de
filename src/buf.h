/*
 * Fixed-size I/O buffers. A connection never holds more than its buffers, so
 * memory stays flat whatever the size of the bodies that pass through.
 *
 * Bytes live in data[start..end); reading appends at end, writing consumes
 * from start. Header-only: every function is a few instructions.
 */
#ifndef RONDO_BUF_H
#define RONDO_BUF_H

#include <stddef.h>
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

#endif
