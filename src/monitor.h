/*
 * The monitor path ("monitor": {"path"}): what the layer-4 balancer in front
 * asks to know whether to send this instance connections. rondo answers it
 * itself on the client listeners, never a backend: 200 while the instance is
 * ready and some backend can take a request, 503 otherwise (drained by the
 * admin, stopping under "stopGrace", no backend up), with a one-line body
 * saying why. No I/O, no libev: the state comes from the shared segment.
 */
#ifndef RONDO_MONITOR_H
#define RONDO_MONITOR_H

#include <stddef.h>

struct buf;
struct conf;
struct http_msg;
struct shm_seg;

/* 1 if the request m is for c's monitor path (any query string), else 0. */
int monitor_match(const struct conf *c, const struct http_msg *m);

/*
 * Appends the whole answer to m (GET, HEAD; other methods get 405) to b,
 * with Connection: close; *head_len is set to the length of its head.
 * Returns the status. A head that does not fit leaves b empty and returns
 * 500 (the buffers rondo gives are far larger).
 */
int monitor_answer(struct buf *b, const struct conf *c, const struct shm_seg *seg,
    const struct http_msg *m, size_t *head_len);

/* Why the instance is not ready, or NULL when it is (for the answer and for tests). */
const char *monitor_reason(const struct conf *c, const struct shm_seg *seg);

#endif
