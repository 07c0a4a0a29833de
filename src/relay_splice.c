/*
 * The splice relay of a session's bodies; see relay_splice.h. The pipes
 * (splice.h) are the session's rq_pipe and rs_pipe, taken from the worker's
 * pool when a direction starts splicing and given back once its body is
 * through; the rest of the exchange is proxy.c's.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "conf.h"
#include "conn.h"
#include "log.h"
#include "net.h"
#include "relay_splice.h"
#include "session.h"
#include "shm.h"
#include "splice.h"
#include "upstream.h"

#ifndef SPLICE_MIN		/* body bytes left to move for splice(2) to pay off; -D to tune */
#define SPLICE_MIN	32768
#endif
#define PIPE_POOL_MAX	16	/* empty pipes kept by the worker */

void
relay_splice_init(struct proxy *px)
{
	const struct conf *c = px->conf;
	size_t i;

	splice_pool_init(&px->pipes, PIPE_POOL_MAX);
	px->splice = c->splice;
	px->splice_rq = c->splice;
	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i].tls)
			px->splice_rq = 0;
}

void
relay_splice_fini(struct proxy *px)
{
	splice_pool_fini(&px->pipes);
}

/* The kernel would not splice (an old kernel, a seccomp filter...): copy from now on. */
static void
proxy_splice_refused(struct proxy *px, const char *what)
{
	if (px->splice)
		log_warnx("worker %u: splice refused (%s: %s): bodies are copied",
		    px->worker + 1, what, strerror(errno));
	px->splice = px->splice_rq = 0;
}

int
request_splices(const struct session *s)
{
	if (s->rq != RQ_BODY || s->rq_all_in || s->lingering || s->local || s->tunnel)
		return 0;
	if (s->rq_pipe != NULL)
		return 1;
	return s->px->splice_rq && s->rq_body == HTTP_BODY_LENGTH && s->rq_left >= SPLICE_MIN &&
	    buf_len(s->cin) == 0 && conn_can_splice(&s->cc);
}

int
response_splices(const struct session *s)
{
	if (s->rs != RS_BODY || s->rs_all_in || s->tunnel)
		return 0;
	if (s->rs_pipe != NULL)
		return 1;
	return s->px->splice && s->rs_body == HTTP_BODY_LENGTH && s->rs_left >= SPLICE_MIN &&
	    buf_len(s->sin) == 0 && conn_can_splice(&s->cc) && conn_can_splice(&s->up->conn);
}

void
backend_splice_write(struct session *s)
{
	ssize_t n = splice_out(s->rq_pipe, s->up->fd, s->rq_pipe->len);

	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (splice_unsupported(errno))
			proxy_splice_refused(s->px, "to a backend");
		backend_write_failed(s);
		return;
	}
	session_touch_upstream(s);
	shm_counter_add(&s->px->slot->spliced_bytes, (uint64_t)n);
	s->rq_wrote += (size_t)n;
	s->rq_left -= (uint64_t)n;
	s->rq_pipe_full = 0;
	if (s->rq_all_in && s->rq_pipe->len == 0)
		splice_put(&s->px->pipes, &s->rq_pipe);
	request_check_sent(s);
}

int
client_splice_read(struct session *s)
{
	uint64_t want;
	ssize_t n;

	if (s->rq_pipe == NULL && (s->rq_pipe = splice_get(&s->px->pipes)) == NULL)
		return -1;
	want = s->rq_left - s->rq_pipe->len;
	s->read_full = 0;
	n = splice_in(s->rq_pipe, s->cfd, want < SIZE_MAX ? (size_t)want : SIZE_MAX);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		s->rq_pipe_full = errno == EAGAIN && s->rq_pipe->len > 0;
		return 0;
	}
	if (n == -1 && splice_unsupported(errno) && s->rq_pipe->len == 0) {
		proxy_splice_refused(s->px, "from a client");
		splice_put(&s->px->pipes, &s->rq_pipe);
		return -1;
	}
	if (n <= 0) {
		if (n == -1)
			log_debug("%s: read: %s", s->client_ip, strerror(errno));
		log_client("%s: client closed during the request body", s->client_ip);
		session_close(s);
		return 0;
	}
	session_touch_client(s);
	s->read_full = (uint64_t)n == want;
	if (s->rq_pipe->len == s->rq_left) {
		s->rq_all_in = 1;
		if (s->up != NULL && !s->up->connecting)
			session_timeout(s, T_SERVER);	/* now the backend's turn */
	}
	backend_flush(s);
	return 0;
}

void
client_splice_write(struct session *s)
{
	ssize_t n = splice_out(s->rs_pipe, s->cfd, s->rs_pipe->len);

	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (splice_unsupported(errno))
			proxy_splice_refused(s->px, "to a client");
		log_debug("%s: write: %s", s->client_ip, strerror(errno));
		session_close(s);	/* the bytes in the pipe cannot be had back */
		return;
	}
	session_touch_client(s);
	shm_counter_add(&s->px->slot->spliced_bytes, (uint64_t)n);
	s->rs_started = 1;
	s->sent += (uint64_t)n;
	s->sent_body += (uint64_t)n;
	s->rs_left -= (uint64_t)n;
	s->rs_pipe_full = 0;
	if (s->rs_all_in && s->rs_pipe->len == 0)
		splice_put(&s->px->pipes, &s->rs_pipe);
	exchange_check_done(s);
}

int
backend_splice_read(struct session *s)
{
	uint64_t want;
	ssize_t n;

	if (s->rs_pipe == NULL && (s->rs_pipe = splice_get(&s->px->pipes)) == NULL)
		return -1;
	want = s->rs_left - s->rs_pipe->len;
	s->read_full = 0;
	n = splice_in(s->rs_pipe, s->up->fd, want < SIZE_MAX ? (size_t)want : SIZE_MAX);
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		s->rs_pipe_full = errno == EAGAIN && s->rs_pipe->len > 0;
		return 0;
	}
	if (n == -1 && splice_unsupported(errno) && s->rs_pipe->len == 0) {
		proxy_splice_refused(s->px, "from a backend");
		splice_put(&s->px->pipes, &s->rs_pipe);
		return -1;
	}
	if (n <= 0) {
		response_lost(s, n == 0 ? "connection closed" : strerror(errno));
		return 0;
	}
	session_touch_upstream(s);
	s->read_full = (uint64_t)n == want;
	if (s->rs_pipe->len == s->rs_left)
		s->rs_all_in = 1;
	if (!s->rs_all_in && !s->rs_quickack) {
		net_quickack(s->up->fd);
		s->rs_quickack = 1;
	}
	client_flush(s);
	return 0;
}
