/*
 * The splice relay: once the bytes that came with its head are sent, a long
 * Content-Length body between plain sockets moves socket -> pipe -> socket
 * with splice(2) (splice.h), one pipe per direction while the body streams,
 * never more than the body's length (what follows it is read the usual way).
 * Chunked and close-delimited bodies, and anything over TLS, are copied; so
 * is everything once the kernel refused to splice.
 *
 * proxy.c asks whether a direction splices now and hands it the reads and
 * writes of that direction; the steps here call back into the session's
 * state machine (session.h) to pass the bytes on, as its copying steps do,
 * and like them may close the session (s->cfd is -1 then).
 */
#ifndef RONDO_RELAY_SPLICE_H
#define RONDO_RELAY_SPLICE_H

#include <stddef.h>

#include "splice.h"

struct proxy;
struct session;

/* The worker's pool of empty pipes, and whether it splices (per "splice" and its backends). */
void relay_splice_init(struct proxy *px);

/* Closes the pooled pipes. */
void relay_splice_fini(struct proxy *px);

/* Bytes in a direction's pipe; 0 without one. */
static inline size_t
piped(const struct spipe *sp)
{
	return sp != NULL ? sp->len : 0;
}

/* Whether a pipe being filled has no room: stop reading its source until it drains. */
static inline int
pipe_blocked(const struct spipe *sp, int full)
{
	return sp != NULL && (full || sp->len == sp->cap);
}

/*
 * Whether the request body's next bytes go from the client into a pipe:
 * a Content-Length body with at least SPLICE_MIN bytes still to come, none
 * of them in cin (bytes that came with the head go first, copied). Once
 * started, the rest of the body follows the same way.
 */
int request_splices(const struct session *s);

/* As request_splices, for the response body from the backend. */
int response_splices(const struct session *s);

/*
 * Moves request body bytes from the client into the pipe, then on to the
 * backend. 0, or -1 when the pipe cannot be had or the kernel refuses: the
 * caller reads into cin instead (nothing was taken from the socket).
 */
int client_splice_read(struct session *s);

/* Moves the spliced request body bytes from the pipe to the backend. */
void backend_splice_write(struct session *s);

/*
 * Moves response body bytes from the backend into the pipe, then on to the
 * client. 0, or -1 when the pipe cannot be had or the kernel refuses: the
 * caller reads into sin instead (nothing was taken from the socket).
 */
int backend_splice_read(struct session *s);

/* Moves the spliced response body bytes from the pipe to the client. */
void client_splice_write(struct session *s);

#endif
