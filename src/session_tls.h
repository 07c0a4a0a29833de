/*
 * The client side's TLS, as a step of the session: a connection to the TLS
 * listener handshakes before its first request is read. The outcome is
 * counted in the worker's slot (handshakes, resumptions, failures by cause),
 * and a client that speaks plain HTTP to the TLS port is told so before the
 * close. Plain connections have no handshake: the step passes at once.
 */
#ifndef RONDO_SESSION_TLS_H
#define RONDO_SESSION_TLS_H

struct session;

/*
 * Runs the client's TLS handshake (plain connections have none) under the
 * request head's deadline, which accept started: a client that handshakes
 * slowly is cut like one that sends its head slowly. CONN_OK once done,
 * CONN_AGAIN while it waits (cc.wants says for what); CONN_ERR closes the
 * session.
 */
int client_handshake(struct session *s);

#endif
