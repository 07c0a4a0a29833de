/*
 * The transport seam: how a session reads and writes the bytes of one
 * connection, without knowing whether they travel plain or inside TLS.
 *
 * The session state machine only ever calls conn_recv, conn_send,
 * conn_handshake and conn_shutdown. A call that cannot make progress returns
 * -1 with errno EAGAIN (or CONN_AGAIN) and sets c->wants to the readiness it
 * waits for: for plain TCP a read waits for readability and a write for
 * writability, but a TLS read may have to write first (and a TLS write may
 * have to read), so the caller arms what c->wants says rather than guessing.
 * A TLS connection may also hold decrypted bytes that the socket no longer
 * signals: conn_pending tells the caller to read again without waiting.
 *
 * No libev here: CONN_WANT_READ and CONN_WANT_WRITE have libev's values of
 * EV_READ and EV_WRITE so that callers can pass them on (checked where ev.h
 * is included).
 */
#ifndef RONDO_CONN_H
#define RONDO_CONN_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

#define CONN_WANT_READ	0x01u
#define CONN_WANT_WRITE	0x02u

enum conn_status { CONN_OK = 0, CONN_AGAIN = 1, CONN_ERR = -1 };

/* Why a handshake failed, for counters and for the answer (if any) before closing. */
enum conn_fail {
	CONN_FAIL_NONE = 0,
	CONN_FAIL_CLOSED,		/* the peer closed or reset the connection */
	CONN_FAIL_PROTOCOL,		/* no common version or cipher, or not TLS at all */
	CONN_FAIL_HTTP,			/* ... plain HTTP, precisely */
	CONN_FAIL_CERTIFICATE,		/* a certificate was missing or did not verify */
};

struct conn;

struct conn_ops {
	const char *name;					/* "tcp", "tls" */
	ssize_t (*recv)(struct conn *, void *, size_t);	/* >0; 0 = EOF; -1 + errno */
	ssize_t (*send)(struct conn *, const struct iovec *, int);	/* >0; -1 + errno */
	int (*handshake)(struct conn *);			/* enum conn_status; NULL: none */
	int (*shutdown)(struct conn *);				/* end of our writes: 0 or -1 */
	int (*pending)(const struct conn *);			/* readable without the socket */
	void (*notify)(struct conn *);				/* a clean end (TLS close_notify); NULL: none */
	void (*close)(struct conn *);				/* closes the fd, frees the rest */
	int splice;		/* the socket carries the bytes as they are: splice(2) may move them */
};

struct conn {
	int fd;				/* -1 once closed */
	const struct conn_ops *ops;
	void *tls;			/* the TLS state (an SSL *), NULL for plain TCP */
	unsigned wants;			/* CONN_WANT_* the last blocked call waits for */
	int handshaken;			/* the handshake (if any) is complete */
	const char *error;		/* why the last call failed, for logs; static text */
	enum conn_fail fail;		/* why the handshake failed */
	size_t blocked;			/* TLS: bytes of a write that blocked, to offer again first */
	int eof_clean;			/* the last EOF read was a clean end (TLS: close_notify came) */
};

/* Makes c a plain TCP connection over fd (which it owns from now on). */
void conn_plain_init(struct conn *c, int fd);

static inline ssize_t
conn_recv(struct conn *c, void *p, size_t len)
{
	return c->ops->recv(c, p, len);
}

static inline ssize_t
conn_send(struct conn *c, const struct iovec *iov, int cnt)
{
	return c->ops->send(c, iov, cnt);
}

/* CONN_OK once the connection can carry data (at once for plain TCP). */
static inline int
conn_handshake(struct conn *c)
{
	if (c->handshaken)
		return CONN_OK;
	if (c->ops->handshake == NULL) {
		c->handshaken = 1;
		return CONN_OK;
	}
	return c->ops->handshake(c);
}

static inline int
conn_shutdown(struct conn *c)
{
	return c->ops->shutdown(c);
}

static inline int
conn_pending(const struct conn *c)
{
	return c->ops->pending != NULL && c->ops->pending(c);
}

/*
 * Whether bytes may bypass conn_recv/conn_send, moved by splice(2) straight
 * between c->fd and a pipe: plain TCP only (TLS bytes must be decrypted).
 */
static inline int
conn_can_splice(const struct conn *c)
{
	return c->ops->splice;
}

/*
 * Says the stream ends here on purpose before a close: TLS sends
 * close_notify, so the peer can tell a complete stream from a cut one. Not
 * called after an error or a truncated response: their close must look cut.
 */
static inline void
conn_notify(struct conn *c)
{
	if (c->fd != -1 && c->ops->notify != NULL)
		c->ops->notify(c);
}

/* Closes the connection (no-op when already closed); c->fd is -1 afterwards. */
static inline void
conn_close(struct conn *c)
{
	if (c->fd != -1)
		c->ops->close(c);
	c->fd = -1;
	c->tls = NULL;
}

/* What a TLS connection negotiated, for logs and counters (static strings or the SSL's own). */
struct conn_tls_info {
	const char *version;		/* "TLSv1.3"... */
	const char *cipher;		/* OpenSSL's name of the cipher suite */
	const char *sni;		/* the server name the client asked for; NULL: none */
	int resumed;			/* the handshake resumed an earlier session */
};

#ifdef HAVE_TLS
/*
 * Fills info for a TLS connection whose handshake is done; returns -1 for a
 * plain connection (info untouched). The strings live as long as the connection.
 */
int conn_tls_info(const struct conn *c, struct conn_tls_info *info);

/*
 * Makes c a TLS connection over fd with ssl, an SSL object already set up for
 * its side (accept or connect state, SNI...): c owns both from now on, and
 * frees them in conn_close. The handshake runs on the first conn_handshake.
 */
void conn_tls_init(struct conn *c, int fd, void *ssl);

/*
 * Why the handshake of c failed, for a log line, into buf (len bytes):
 * "certificate verify failed: <OpenSSL's reason>" when the peer's
 * certificate did not verify, else "TLS handshake failed (<reason>)". Call
 * it right after the failed conn_handshake: it may read errno. Returns buf.
 */
const char *conn_tls_why(const struct conn *c, char *buf, size_t len);
#endif

#endif
