/*
 * Reading the PROXY protocol header (proxyproto.h) off a client socket,
 * before anything else reads from it: not one byte past the header is
 * taken, so that what follows (a TLS handshake, a request) is read by its
 * own reader as if the header had never been there.
 *
 * The bytes are first peeked at (MSG_PEEK), then only the header's own are
 * received. A header that is not whole yet is received as far as it came
 * (all those bytes are header bytes, the parser says so), so the socket is
 * left empty and a level-triggered watcher does not fire again for bytes
 * already seen. No libev.
 */
#ifndef RONDO_PPIN_H
#define RONDO_PPIN_H

#include <stddef.h>

struct proxyproto_hdr;

#define PPIN_E_CLOSED	(-100)	/* the peer closed (or reset) before the header was whole */
#define PPIN_E_IO	(-101)	/* recv failed (errno) */

/*
 * Reads more of the header on fd into buf[0..cap) (cap at least
 * PROXYPROTO_V2_MAX), of which *have bytes came in earlier calls (0 the
 * first time; the caller keeps buf and *have between calls). Returns PP_OK
 * with *out filled once the header is whole (its bytes received, none
 * after them), PP_AGAIN when more must come (wait for readability), a
 * PP_E_* code for a malformed header, PPIN_E_CLOSED or PPIN_E_IO.
 */
int ppin_read(int fd, char *buf, size_t cap, size_t *have, struct proxyproto_hdr *out);

/* A short text for any result of ppin_read, for logs. */
const char *ppin_strerror(int rc);

#endif
