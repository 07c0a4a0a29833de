/*
 * The PROXY protocol at the session's two ends (the headers themselves are
 * proxyproto.h's, the careful read off the socket ppin.h's): the header a
 * trusted balancer in front sends before anything else ("proxyProtocol"),
 * which says who the client is, and the one rondo sends first on a new
 * backend connection ("sendProxy"), which says it on.
 */
#ifndef RONDO_SESSION_PP_H
#define RONDO_SESSION_PP_H

struct session;
struct upstream;

/*
 * "proxyProtocol": the PROXY header, read off the socket before anything
 * else (a TLS handshake included) under the request head's deadline, into
 * cin, emptied again once it is whole. 0 once the header is read (its
 * address is the client's from now on), -1 while it waits for more bytes or
 * when the session was closed: a connection without a valid header gets no
 * answer at all (the spec: never guess).
 */
int client_proxy_header(struct session *s);

/*
 * "sendProxy": the PROXY header goes first on a new backend connection,
 * with the client's address (the one a PROXY header gave rondo, if any).
 * Written at once into the fresh socket's empty buffer (a hundred bytes at
 * most), before any TLS handshake. 0, or -1 when it could not be.
 */
int session_send_proxy(struct session *s, struct upstream *up);

#endif
