/*
 * The client side's TLS handshake as a step of its session; see
 * session_tls.h. The handshake itself is the transport's (conn_tls.c).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "conn.h"
#include "log.h"
#include "session.h"
#include "session_tls.h"
#include "shm.h"

/* Counts a finished client handshake (plain connections have none to count). */
static void
proxy_tls_handshake_done(struct proxy *px, const struct conn *c)
{
#ifdef HAVE_TLS
	struct conn_tls_info ti;

	if (conn_tls_info(c, &ti) == -1)
		return;
	shm_counter_add(&px->slot->tls_handshakes, 1);
	if (ti.resumed)
		shm_counter_add(&px->slot->tls_resumed, 1);
#endif
}

static void
proxy_tls_handshake_failed(struct proxy *px, enum conn_fail why)
{
	struct shm_worker *w = px->slot;

	switch (why) {
	case CONN_FAIL_CERTIFICATE:
		shm_counter_add(&w->tls_fail_certificate, 1);
		break;
	case CONN_FAIL_PROTOCOL:
	case CONN_FAIL_HTTP:
		shm_counter_add(&w->tls_fail_protocol, 1);
		break;
	default:
		shm_counter_add(&w->tls_fail_closed, 1);
		break;
	}
}

/* What a plain HTTP client on the TLS port reads before the close. */
static const char tls_plain_answer[] =
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 49\r\n"
    "Connection: close\r\n\r\nThis port speaks HTTPS: use an https:// address.\n";

int
client_handshake(struct session *s)
{
	int r = conn_handshake(&s->cc);

	if (r == CONN_ERR) {
		log_client("%s: TLS handshake failed: %s", s->client_ip,
		    s->cc.error != NULL ? s->cc.error : strerror(errno));
		proxy_tls_handshake_failed(s->px, s->cc.fail);
		if (s->cc.fail == CONN_FAIL_HTTP)
			(void)send(s->cfd, tls_plain_answer, sizeof(tls_plain_answer) - 1,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
		session_close(s);
	} else if (r == CONN_OK) {
		proxy_tls_handshake_done(s->px, &s->cc);
	}
	return r;
}
