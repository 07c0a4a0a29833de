/*
 * The access log line of an exchange (accesslog.h): what was asked (from the
 * rewritten head in rqh, or the request line as received when it was
 * refused), the answer, the bytes, the backend and the times, and the TLS
 * parameters of the client connection.
 */
#ifndef RONDO_SESSION_LOG_H
#define RONDO_SESSION_LOG_H

struct session;

/* Writes the current exchange's access log line, once. Buffers must still be held. */
void session_log(struct session *s);

#endif
