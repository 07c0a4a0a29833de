/*
 * TLS behind the transport seam (conn.h), with OpenSSL on a non-blocking
 * socket.
 *
 * OpenSSL says what a blocked call waits for with SSL_ERROR_WANT_READ or
 * SSL_ERROR_WANT_WRITE, whichever call it was: that becomes c->wants, and
 * the call returns -1 with errno EAGAIN, as a plain socket would. The SSL
 * objects are set up by tls.c with SSL_MODE_ENABLE_PARTIAL_WRITE and
 * SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER: a write that blocked is retried with
 * the same bytes, but not always at the same address (a session may compact
 * or refill its buffers in between).
 */
#include "config.h"

#ifdef HAVE_TLS

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "conn.h"

/*
 * Pieces of a send are gathered into one record when they fit: a head and a
 * small body go out in one record and one system call, not two of each. One
 * scratch buffer is enough: a worker runs one callback at a time.
 */
#define TLS_GATHER_MAX	16384
static unsigned char gather[TLS_GATHER_MAX];

/* c->error for a failed system call: errno tells more (conn_tls_why). */
static const char tls_syscall_error[] = "connection error";

/*
 * Turns the failure of an SSL call into the seam's terms: -1 with errno
 * EAGAIN and c->wants set when it must wait, 0 for the peer's close, else -1
 * with errno set and c->error naming the reason.
 */
static ssize_t
tls_fail(struct conn *c, int ret)
{
	SSL *ssl = c->tls;
	int err = SSL_get_error(ssl, ret);
	unsigned long e;

	switch (err) {
	case SSL_ERROR_WANT_READ:
		c->wants = CONN_WANT_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		c->wants = CONN_WANT_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		c->wants = 0;
		c->eof_clean = 1;	/* close_notify */
		return 0;
	case SSL_ERROR_SYSCALL:
		c->wants = 0;
		if (errno == 0)
			errno = ECONNRESET;
		c->error = tls_syscall_error;
		ERR_clear_error();
		return -1;
	default:
		c->wants = 0;
		e = ERR_peek_last_error();
		if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
		    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			/*
			 * A bare TCP close: the end of the stream all the same (HTTP
			 * frames most messages itself), but not a clean one.
			 */
			ERR_clear_error();
			c->eof_clean = 0;
			return 0;
		}
		c->error = e != 0 && ERR_reason_error_string(e) != NULL ?
		    ERR_reason_error_string(e) : "TLS error";
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static ssize_t
tls_recv(struct conn *c, void *p, size_t len)
{
	size_t n = 0;
	int ret;

	ERR_clear_error();
	ret = SSL_read_ex(c->tls, p, len, &n);
	if (ret == 1) {
		c->wants = 0;
		return (ssize_t)n;
	}
	return tls_fail(c, ret);
}

static ssize_t
tls_write(struct conn *c, const void *p, size_t len)
{
	size_t n = 0;
	int ret;

	ERR_clear_error();
	ret = SSL_write_ex(c->tls, p, len, &n);
	if (ret == 1) {
		c->wants = 0;
		return (ssize_t)n;
	}
	if (tls_fail(c, ret) == 0)
		errno = EPIPE;	/* a write cannot meet the end of the stream */
	return -1;
}

/* Copies the first len bytes of iov (len <= TLS_GATHER_MAX, <= their total) into gather. */
static void
tls_gather(const struct iovec *iov, int cnt, size_t len)
{
	size_t room = 0, k;
	int i;

	for (i = 0; i < cnt && room < len; i++) {
		k = iov[i].iov_len < len - room ? iov[i].iov_len : len - room;
		memcpy(gather + room, iov[i].iov_base, k);
		room += k;
	}
}

/*
 * A write that blocked inside OpenSSL must be offered again with at least
 * the bytes it had (SSL_R_BAD_LENGTH otherwise): c->blocked remembers how
 * many, and the retry offers exactly those, whatever the caller gathered
 * since (a bigger body behind the same head), before anything new.
 */
static ssize_t
tls_write_blocked(struct conn *c, const struct iovec *iov, int cnt, size_t total)
{
	size_t len = c->blocked;
	ssize_t n;

	if (len > total) {
		errno = EPROTO;	/* the caller lost bytes it had offered: cannot happen */
		c->error = "write retried with fewer bytes";
		return -1;
	}
	if (len <= TLS_GATHER_MAX && (cnt > 1 || iov[0].iov_len < len)) {
		tls_gather(iov, cnt, len);
		n = tls_write(c, gather, len);
	} else {
		/* It was one piece, too long to have been gathered: it still comes first. */
		n = tls_write(c, iov[0].iov_base, len);
	}
	if (n >= 0)
		c->blocked = 0;
	return n;
}

static ssize_t
tls_send(struct conn *c, const struct iovec *iov, int cnt)
{
	size_t total = 0;
	ssize_t n;
	int i;

	for (i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	if (c->blocked > 0)
		return tls_write_blocked(c, iov, cnt, total);
	if (cnt > 1 && total <= TLS_GATHER_MAX) {
		tls_gather(iov, cnt, total);
		if ((n = tls_write(c, gather, total)) == -1 && errno == EAGAIN)
			c->blocked = total;
		return n;
	}
	/* Larger: piece by piece, stopping at the first that does not go whole. */
	total = 0;
	for (i = 0; i < cnt; i++) {
		if (iov[i].iov_len == 0)
			continue;
		n = tls_write(c, iov[i].iov_base, iov[i].iov_len);
		if (n == -1) {
			if (errno == EAGAIN)
				c->blocked = iov[i].iov_len;
			return total > 0 ? (ssize_t)total : -1;
		}
		total += (size_t)n;
		if ((size_t)n < iov[i].iov_len)
			break;
	}
	return (ssize_t)total;
}

/* Sorts a failed handshake by the reason OpenSSL gave (its last error). */
static enum conn_fail
tls_fail_cause(unsigned long e)
{
	if (e == 0 || ERR_GET_LIB(e) != ERR_LIB_SSL)
		return e == 0 ? CONN_FAIL_CLOSED : CONN_FAIL_PROTOCOL;
	switch (ERR_GET_REASON(e)) {
	case SSL_R_HTTP_REQUEST:
	case SSL_R_HTTPS_PROXY_REQUEST:
		return CONN_FAIL_HTTP;
	case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
	case SSL_R_CERTIFICATE_VERIFY_FAILED:
	case SSL_R_NO_CERTIFICATES_RETURNED:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		return CONN_FAIL_CERTIFICATE;
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return CONN_FAIL_CLOSED;
	default:
		return CONN_FAIL_PROTOCOL;
	}
}

static int
tls_handshake(struct conn *c)
{
	unsigned long e;
	int ret;

	ERR_clear_error();
	ret = SSL_do_handshake(c->tls);
	if (ret == 1) {
		c->wants = 0;
		c->handshaken = 1;
		return CONN_OK;
	}
	e = ERR_peek_last_error();
	if (tls_fail(c, ret) == -1 && errno == EAGAIN)
		return CONN_AGAIN;
	c->fail = tls_fail_cause(e);
	if (c->fail == CONN_FAIL_HTTP)
		c->error = "plain HTTP on the TLS port";
	if (c->error == NULL)
		c->error = "connection closed during the handshake";
	return CONN_ERR;
}

/* Sends close_notify, once (a second SSL_shutdown would wait for the peer's). */
static void
tls_notify(struct conn *c)
{
	if (c->handshaken && !(SSL_get_shutdown(c->tls) & SSL_SENT_SHUTDOWN)) {
		ERR_clear_error();
		(void)SSL_shutdown(c->tls);
		ERR_clear_error();
	}
}

/* Sends close_notify, then ends the TCP stream's writing side. */
static int
tls_shutdown(struct conn *c)
{
	tls_notify(c);
	return shutdown(c->fd, SHUT_WR);
}

/*
 * Bytes waiting in OpenSSL that the socket will not announce: decrypted
 * ones, or (with read-ahead, which takes many records from the socket in
 * one read) whole records not yet decrypted. SSL_has_pending also counts a
 * partial record, which only more bytes from the socket can complete: after
 * a read that asked for them (wants), reading again at once would spin.
 */
static int
tls_pending(const struct conn *c)
{
	return c->handshaken && (SSL_pending(c->tls) > 0 ||
	    (!(c->wants & CONN_WANT_READ) && SSL_has_pending(c->tls)));
}

/*
 * Frees the TLS state and closes. close_notify only if conn_notify sent it:
 * a close after an error or a cut response must look cut to the peer.
 */
static void
tls_close(struct conn *c)
{
	SSL_free(c->tls);
	close(c->fd);
}

static const struct conn_ops tls_ops = {
	.name = "tls",
	.recv = tls_recv,
	.send = tls_send,
	.handshake = tls_handshake,
	.shutdown = tls_shutdown,
	.pending = tls_pending,
	.notify = tls_notify,
	.close = tls_close,
};

int
conn_tls_info(const struct conn *c, struct conn_tls_info *info)
{
	const SSL *ssl = c->tls;

	if (ssl == NULL || c->ops != &tls_ops)
		return -1;
	info->version = SSL_get_version(ssl);
	info->cipher = SSL_get_cipher_name(ssl);
	info->sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	info->resumed = SSL_session_reused(ssl);
	return 0;
}

const char *
conn_tls_why(const struct conn *c, char *buf, size_t len)
{
	long v = c->tls != NULL ? SSL_get_verify_result(c->tls) : X509_V_OK;

	/* Not for a failure of another kind: with "verify": false a bad chain is no reason. */
	if (c->fail == CONN_FAIL_CERTIFICATE && v != X509_V_OK)
		snprintf(buf, len, "certificate verify failed: %s", X509_verify_cert_error_string(v));
	else if (c->error == tls_syscall_error)
		snprintf(buf, len, "TLS handshake failed (%s)", strerror(errno));
	else
		snprintf(buf, len, "TLS handshake failed (%s)", c->error != NULL ? c->error : "TLS error");
	return buf;
}

void
conn_tls_init(struct conn *c, int fd, void *ssl)
{
	*c = (struct conn){ .fd = fd, .ops = &tls_ops, .tls = ssl };	/* the rest zero */
	SSL_set_fd(ssl, fd);
}

#endif /* HAVE_TLS */
