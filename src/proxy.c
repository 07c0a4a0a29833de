/*
 * Sessions: client connection -> request head -> backend -> relay -> next request.
 *
 * Each session owns up to four fixed buffers taken from the worker's pool:
 *   cin  bytes from the client (request head, body, pipelined requests)
 *   sin  bytes from the backend (response head, body)
 *   rqh  the rewritten request head, kept until the response starts (for a retry)
 *   rsh  the rewritten response head, or a response rondo makes itself
 * Bodies are not copied: validated body bytes are written straight from
 * cin/sin with writev, together with the head that precedes them (only a
 * response body of at most COALESCE_MAX bytes is copied behind its head, so
 * that a small response goes out in one send).
 *
 * A long Content-Length body between plain sockets ("splice", on by default)
 * skips user space: once the bytes that came with the head are sent, the
 * rest moves socket -> pipe -> socket (relay_splice.h).
 *
 * Each direction has a small state machine (request: HEAD, BODY, DONE;
 * response: WAIT, HEAD, BODY, DONE). After every event the session's watcher
 * interests are recomputed from that state by session_update_io(), so
 * backpressure is simply "no room in the buffer, no read interest".
 *
 * The session's state (session.h) is shared with the files that take some
 * of its steps: the splice relay (relay_splice.c), the wait in the queue
 * when every backend is full (qwait.c), the client's TLS handshake
 * (session_tls.c), the PROXY headers in and out (session_pp.c) and the
 * access log line (session_log.c). The state machine stays here.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/random.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "balance.h"
#include "buf.h"
#include "cidr.h"
#include "clock.h"
#include "conf.h"
#include "conn.h"
#include "hashkey.h"
#include "http.h"
#include "log.h"
#include "monitor.h"
#include "net.h"
#include "proxy.h"
#include "queue.h"
#include "qwait.h"
#include "relay_splice.h"
#include "rewrite.h"
#include "session.h"
#include "session_log.h"
#include "session_pp.h"
#include "session_tls.h"
#include "shm.h"
#include "splice.h"
#include "stats.h"
#include "sticky.h"
#include "upstream.h"
#include "xff.h"

#define HEAD_MAX		(BUF_SIZE - 2048)	/* room left in rqh/rsh for added fields */
#define REQ_HEAD_MAX	(px->conf->limits.header_size < HEAD_MAX ? \
			    px->conf->limits.header_size : HEAD_MAX)
#define POOL_MAX_PER_BACKEND	1024	/* idle backend connections kept per backend */
#define BUF_POOL_MAX		256	/* free buffers kept by the worker */
#define RECLAIM_EVERY		2.0	/* seconds between looks at the free lists, while they hold more */
#define RECLAIM_KEEP_BUFS	16	/* ... than this many buffers */
#define RECLAIM_KEEP_SESSIONS	64	/* ... or sessions */

#define RETRIES		((int)s->px->conf->retries)	/* more attempts after a failure */
#define COALESCE_MAX	4096	/* response body bytes copied behind their head */
#define READ_AGAIN	8	/* reads in a row on one readiness event while a body streams */

static void client_cb(struct ev_loop *, ev_io *, int);
static void backend_cb(struct ev_loop *, ev_io *, int);
static void timer_cb(struct ev_loop *, ev_timer *, int);
static void reclaim_cb(struct ev_loop *, ev_timer *, int);
static void request_start(struct session *);
static void respond_prepared(struct session *, int);
static void respond_send(struct session *, int);
static void session_keep_upstream(struct session *, struct upstream *);

/* A free list grew: look at them in RECLAIM_EVERY s, unless already due to. */
static inline void
reclaim_later(struct proxy *px)
{
	if (!ev_is_active(&px->reclaim_w) && (px->nfree_sessions > RECLAIM_KEEP_SESSIONS ||
	    px->bufs.nfree > RECLAIM_KEEP_BUFS))
		ev_timer_again(px->loop, &px->reclaim_w);
}

/*
 * The free lists keep sessions and buffers for the next connections, so that
 * steady traffic allocates nothing. What stayed unused for a whole period
 * (the fewest a list held since the last look) is what a burst left behind:
 * it goes back to the system, so that a worker's memory follows its load
 * down as well as up. Runs from the loop, when no session callback is on
 * the stack, so a session freed lazily (session_close) is no longer looked at.
 */
static void
reclaim_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct proxy *px = w->data;
	struct session *s;
	unsigned n;

	(void)revents;
	n = buf_pool_trim(&px->bufs, RECLAIM_KEEP_BUFS);
	while (px->free_sessions_low > RECLAIM_KEEP_SESSIONS && (s = px->free_sessions) != NULL) {
		px->free_sessions = s->next;
		free(s);
		px->nfree_sessions--;
		px->free_sessions_low--;
		n++;
	}
	px->free_sessions_low = px->nfree_sessions;
#ifdef __GLIBC__
	if (n > 0)
		malloc_trim(0);		/* free() alone keeps the pages of the heap's middle */
#endif
	if (px->nfree_sessions <= RECLAIM_KEEP_SESSIONS && px->bufs.nfree <= RECLAIM_KEEP_BUFS)
		ev_timer_stop(loop, w);
}

/* Called first by every I/O callback: takes the time for the session timers, tells the worker. */
static void
proxy_busy(struct proxy *px)
{
	px->now = clock_mono();
	if (px->busy != NULL)
		px->busy(px->busy_arg, px->now);
}

/* --- watchers ------------------------------------------------------------------------- */

static void
client_set_events(struct session *s, unsigned ev)
{
	if (ev == s->cevents)
		return;
	ev_io_stop(s->px->loop, &s->cio);
	s->cevents = ev;
	if (ev) {
		ev_io_set(&s->cio, s->cfd, (int)ev);
		ev_io_start(s->px->loop, &s->cio);
	}
}

/*
 * Inactivity timeouts. Progress only records the time (c_last or u_last, one
 * per side, see session_last): the timer
 * is moved in the event loop's heap only when a phase brings the deadline
 * closer, and when it fires early it is set again for the time left. So a
 * busy keep-alive connection costs no timer work per read or write.
 */
void
session_arm(struct session *s, double after)
{
	ev_timer_stop(s->px->loop, &s->timer);
	ev_timer_set(&s->timer, after, 0.);
	ev_timer_start(s->px->loop, &s->timer);
}

/* Starts a phase that may last t seconds without progress. */
void
session_timeout(struct session *s, double t)
{
	struct ev_loop *loop = s->px->loop;

	s->timeout = t;
	s->c_last = s->u_last = s->px->now;
	if (!ev_is_active(&s->timer) || ev_timer_remaining(loop, &s->timer) > t)
		session_arm(s, t);
}

/*
 * When the current phase last made progress. While the backend owes the
 * response head (connecting, or the whole request in), only the backend's
 * side counts: a client that keeps pipelining requests must not keep a
 * silent backend from its 504. Otherwise progress on either side does (a
 * slow client reading a response holds the backend back, and the reverse).
 */
static double
session_last(const struct session *s)
{
	if (s->up != NULL && s->rs == RS_HEAD && (s->up->connecting || s->rq_all_in))
		return s->u_last;
	return s->c_last > s->u_last ? s->c_last : s->u_last;
}

/* --- backend connections -------------------------------------------------------------- */

/*
 * A connection that began with a PROXY header ("sendProxy") speaks for this
 * client alone: between its requests it waits on the session, unwatched,
 * never in the worker's pool, and is closed with the session. A backend
 * that closed it meanwhile is noticed on the next request, which then goes
 * again on a new connection (a reused connection's usual race).
 */
static void
session_keep_upstream(struct session *s, struct upstream *up)
{
	if (s->kept != NULL)
		upstream_destroy(s->kept);
	upstream_set_events(up, 0);
	ev_clear_pending(s->px->loop, &up->io);
	s->kept = up;
}

/* An idle connection to backend b for this session: its own (sendProxy), else from the pool. */
static struct upstream *
session_take_upstream(struct session *s, int b)
{
	struct upstream *up = s->kept;

	if (!s->px->conf->backends[b].send_proxy)
		return upstream_take(s->px->pool, b, backend_cb, s->px->now);
	if (up == NULL || up->backend != b)
		return NULL;
	s->kept = NULL;
	return up;
}

/* Drops the session's backend connection: back to the pool when reusable, else closed. */
static void
session_drop_upstream(struct session *s, int reusable)
{
	struct upstream *up = s->up;

	splice_put(&s->px->pipes, &s->rs_pipe);	/* bytes of that backend's answer: moot */
	s->rs_pipe_full = 0;
	if (s->counted) {
		balance_release(s->px->lb, s->px->seg, s->px->worker, s->backend);
		s->counted = 0;
	}
	if (up == NULL)
		return;
	s->up = NULL;
	s->up_gen++;		/* callbacks holding the old up must not touch it */
	if (reusable && s->px->conf->backends[up->backend].send_proxy)
		session_keep_upstream(s, up);
	else if (reusable)
		upstream_release(up, s->px->now);
	else
		upstream_destroy(up);
}

static void
backend_failed(struct session *s)
{
	const struct conf *c = s->px->conf;

	if (shm_backend_failed(s->px->seg, (unsigned)s->backend, c->max_fails, c->fail_timeout_ms))
		log_warnx("backend %s is down for %.1fs: %u failures in a row",
		    c->backends[s->backend].url, MS(c->fail_timeout_ms), c->max_fails);
}

/*
 * Connects the session to a backend: a pooled connection to the policy's
 * choice when there is one, else a new connect. A backend that refuses at once
 * is skipped. Sends 503 when no backend is healthy or all are full, 502 when
 * all failed.
 */
void
session_pick_and_connect(struct session *s, int fresh)
{
	struct proxy *px = s->px;
	struct upstream *up;
	int b;

	for (;;) {
		if (++s->attempts > RETRIES + 1) {
			respond_local(s, 502, "Bad Gateway");
			return;
		}
		if (fresh && s->backend != -1) {
			b = s->backend;		/* same backend, a new connection */
			balance_acquire(px->seg, px->worker, b);	/* no limit: a retry */
		} else {
			/* First come, first served: behind those already waiting. */
			if (px->conf->queue.max > 0 && !s->queued && s->attempts == 1 &&
			    !s->pick.has_sticky && queue_length(px->seg) > 0) {
				s->attempts--;
				qwait_enter(s);
				return;
			}
			b = balance_pick(px->lb, px->seg, &s->pick);
			if (b == PICK_ALL_FULL && qwait_enter(s)) {
				if (s->queued)
					s->attempts--;	/* waits; tries again on its turn */
				return;
			}
			qwait_leave(s);
			if (b == PICK_NONE_HEALTHY) {
				respond_local(s, 503, "No healthy server available");
				return;
			}
			if (b == PICK_ALL_FULL) {
				respond_local(s, 503, "All servers are at their connection limit");
				return;
			}
			if (b < 0) {
				respond_local(s, 502, "Bad Gateway");
				return;
			}
		}
		s->backend = b;
		up = fresh ? NULL : session_take_upstream(s, b);
		fresh = 0;
		s->counted = 1;
		if (up == NULL && (up = upstream_connect(px->pool, b, &px->conf->backends[b].addr,
		    backend_cb)) == NULL) {
			log_warn("connect to %s", px->conf->backends[b].url);
			backend_failed(s);
			session_drop_upstream(s, 0);
			pick_tried_add(&s->pick.tried, b);
			continue;
		}
		if (up->connecting && px->conf->backends[b].send_proxy &&
		    session_send_proxy(s, up) == -1) {
			log_warnx("backend %s: cannot make the PROXY header", px->conf->backends[b].url);
			upstream_destroy(up);
			up = NULL;
			session_drop_upstream(s, 0);
			pick_tried_add(&s->pick.tried, b);
			continue;
		}
		break;
	}
	up->s = s;
	s->up = up;
	s->up_gen++;
	s->rq_wrote = 0;
	s->t_pick = px->now;
	up->nreq++;
	shm_counter_add(&px->seg->backends[b].requests, 1);
	s->rs = RS_HEAD;
	s->rs_quickack = 0;
	session_timeout(s, up->connecting ? T_CONNECT : s->rq_all_in ? T_SERVER : T_CLIENT_BODY);
	if (!up->connecting)
		backend_flush(s);
}

/*
 * The backend connection failed before any response byte reached the client.
 * The request goes again, on another backend, up to RETRIES times, when that
 * cannot run it twice: nothing of it was sent (connect failure, or a reset
 * before the first byte), or it is idempotent and has no body. A reused
 * keep-alive connection that the backend had closed (the usual race) is
 * retried on a new connection to the same backend. Otherwise 502.
 */
static void
backend_failed_early(struct session *s, const char *why, int connect_failed)
{
	struct upstream *up = s->up;
	const char *url = s->px->conf->backends[s->backend].url;
	int reused = up != NULL && up->nreq > 1 && !connect_failed;
	/* A 1xx head still waiting for the client would be mixed with the next answer. */
	int replayable = buf_len(s->rsh) == 0 && (connect_failed || s->rq_wrote == 0 ||
	    (s->rq_idempotent && s->rq_body == HTTP_BODY_NONE));

	if (!reused)
		backend_failed(s);
	session_drop_upstream(s, 0);
	if (!s->rs_started && replayable && s->attempts <= RETRIES) {
		s->rqh->start = 0;
		buf_reset(s->sin);	/* what the failed backend had begun to answer */
		if (reused) {
			log_debug("backend %s: reused connection %s, retrying", url, why);
			session_pick_and_connect(s, 1);
			return;
		}
		log_warnx("backend %s: %s, retrying on another backend", url, why);
		pick_tried_add(&s->pick.tried, s->backend);
		session_pick_and_connect(s, 0);
		return;
	}
	log_warnx("backend %s: %s before the response", url, why);
	respond_local(s, 502, "Bad Gateway");
}

/* --- responses of our own --------------------------------------------------------------- */

/*
 * Answers the client with status and a short text body, then closes (after
 * lingering so that the client reads the answer before any reset). When part
 * of a backend response was already sent the client is just closed: anything
 * else would look like a complete response.
 */
void
respond_local(struct session *s, int status, const char *body)
{
	struct proxy *px = s->px;

	session_drop_upstream(s, 0);
	if (s->rs_started) {
		session_close(s);
		return;
	}
	if (s->rsh == NULL && (s->rsh = buf_get(&px->bufs)) == NULL) {
		session_close(s);
		return;
	}
	buf_reset(s->rsh);
	if (buf_printf(s->rsh, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n%s",
	    status, http_reason(status), strlen(body), s->retry_after ? "Retry-After: 1\r\n" : "",
	    body) == -1) {
		session_close(s);
		return;
	}
	s->rsh_head = buf_len(s->rsh) - strlen(body);
	respond_prepared(s, status);
}

/* Sends the response of our own that s->rsh holds (rsh_head its head's length), then closes. */
static void
respond_prepared(struct session *s, int status)
{
	stats_local_response(s->px->slot, status);
	respond_send(s, status);
}

/* As respond_prepared, for an answer that is not counted as a local response. */
static void
respond_send(struct session *s, int status)
{
	s->local = 1;
	s->client_close = 1;
	s->rs_status = status;
	s->rs = RS_DONE;
	s->rs_ready = 0;
	s->rq = RQ_DONE;
	session_timeout(s, T_SERVER);
	client_flush(s);
}

/* --- request side ----------------------------------------------------------------------- */

/*
 * Writes the head to send to the backend into s->rqh (rewrite.h) and keeps
 * what the access log needs. Returns -1 when it does not fit.
 */
static int
request_rewrite(struct session *s, const struct http_msg *m)
{
	char fresh[REWRITE_ID_LEN + 1];
	struct rewrite_request rq = { .client_ip = s->conn_ip, .trusted = s->trusted,
	    .upgrade = s->rq_upgrade,
	    .tls = s->cc.tls != NULL,
	    .fresh_id = fresh, .id = s->req_id,
	    .drop_underscore = s->px->conf->drop_underscore_headers };

	rewrite_request_id_make(s->px->id_prefix, ++s->px->id_seq, fresh);
	if (rewrite_request(s->rqh, m, &rq) == -1)
		return -1;
	s->ref_off = rq.referer_off;
	s->ref_len = rq.referer_len;
	s->ua_off = rq.agent_off;
	s->ua_len = rq.agent_len;
	s->upg_off = rq.upgrade_off;
	s->upg_len = rq.upgrade_len;
	return 0;
}

/*
 * Feeds the bytes of a chunked body in past *ready + *held to the decoder.
 * *ready grows by what may be sent on; trailer bytes are held back until the
 * trailer section is whole, then the fields that must not pass are cut out
 * of the buffer (what follows the body moves down) and the rest is ready.
 * Returns what http_chunked_feed said.
 */
static int
chunked_scan(struct http_chunked *ch, struct buf *in, size_t *ready, size_t *held)
{
	size_t n = 0, seen, tl, kept, at;
	int r;

	at = in->start + *ready + *held;
	r = http_chunked_feed(ch, in->data + at, in->end - at, &n);
	if (r != HTTP_OK && r != HTTP_AGAIN)
		return r;
	seen = *ready + *held + n;
	tl = http_chunked_trailer_len(ch);
	if (r == HTTP_OK && tl > 0) {
		at = in->start + seen - tl;
		kept = http_trailers_strip(in->data + at, tl);
		memmove(in->data + at + kept, in->data + at + tl, in->end - (at + tl));
		in->end -= tl - kept;
		seen -= tl - kept;
		tl = 0;
	}
	*ready = seen - tl;
	*held = tl;
	return r;
}

/* Finds how many body bytes at the head of cin are validated and may be sent. */
static int
request_scan_body(struct session *s)
{
	struct buf *in = s->cin;
	size_t avail = buf_len(in);
	int r;

	if (s->rq != RQ_BODY || s->rq_all_in)
		return 0;
	if (s->rq_body == HTTP_BODY_LENGTH) {
		s->rq_ready = avail < s->rq_left ? avail : (size_t)s->rq_left;
		s->rq_all_in = s->rq_ready == s->rq_left;
		if (s->rq_all_in && s->up != NULL && !s->up->connecting)
			session_timeout(s, T_SERVER);	/* now the backend's turn */
		return 0;
	}
	if (s->rq_body == HTTP_BODY_EOF) {
		s->rq_ready = avail;	/* tunnel */
		return 0;
	}
	r = chunked_scan(&s->rq_chunk, in, &s->rq_ready, &s->rq_held);
	if (r == HTTP_OK) {
		s->rq_all_in = 1;
		if (s->up != NULL && !s->up->connecting)
			session_timeout(s, T_SERVER);
	} else if (r != HTTP_AGAIN) {
		return -1;
	}
	return 0;
}

/* RFC 9110 9.2.2: a repeated request has the same effect as one. */
static int
method_idempotent(struct http_str m)
{
	static const char *const idem[] = { "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE" };
	size_t i;

	for (i = 0; i < sizeof(idem) / sizeof(idem[0]); i++)
		if (m.len == strlen(idem[i]) && memcmp(m.p, idem[i], m.len) == 0)
			return 1;	/* methods are case-sensitive */
	return 0;
}

/*
 * For the log line of a rejected request: when its request line came whole,
 * copies it as received into rqh (cin is discarded while the answer goes
 * out), and the line shows what was asked rather than "-".
 */
static void
request_keep_line(struct session *s)
{
	const char *p = s->cin->data + s->cin->start, *end = p + buf_len(s->cin), *eol;
	size_t n;

	while (p < end && (*p == '\r' || *p == '\n'))	/* empty lines before it are allowed */
		p++;
	if ((eol = memchr(p, '\n', (size_t)(end - p))) == NULL)
		return;
	n = (size_t)(eol - p);
	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (n == 0 || (s->rqh == NULL && (s->rqh = buf_get(&s->px->bufs)) == NULL))
		return;
	buf_reset(s->rqh);
	if (n > buf_space(s->rqh))
		n = buf_space(s->rqh);
	memcpy(s->rqh->data, p, n);
	s->rqh->end = n;
	s->rq_line_len = n;
}

/*
 * A "hashKey" other than the client address is read from each request's
 * head, while m still points into cin. A request without it goes round robin.
 */
static void
request_hash_key(struct session *s, const struct http_msg *m)
{
	const struct hashkey *k = &s->px->conf->hash_key;
	struct http_str v;

	if (k->kind == 0 || k->kind == HASHKEY_CLIENT_IP)
		return;
	if ((s->pick.has_key = hashkey_get(k, m, &v)) != 0)
		s->pick.key = balance_key(s->px->lb, v.p, v.len);
	else
		log_debug("%s: request without its hash key, round robin", s->client_ip);
}

/*
 * "sticky": the backend the request's cookie names, if any, for the pick;
 * the cookie is then taken out of m (before it is rewritten) unless kept.
 */
static void
request_sticky(struct session *s, struct http_msg *m)
{
	const struct conf_sticky *st = &s->px->conf->sticky;
	uint64_t id;
	int b;

	s->pick.has_sticky = 0;
	if (st->cookie == NULL)
		return;
	s->pick.sticky_wait = s->px->conf->queue.max > 0;
	if (sticky_get(st, m, &id) && (b = balance_backend_by_id(s->px->lb, id)) >= 0) {
		s->pick.has_sticky = 1;
		s->pick.sticky = (unsigned)b;
	}
	if (!st->keep_in_request)
		sticky_strip(st, m);
}

/*
 * The client address for hashing and logs: the socket's (or the PROXY
 * header's), unless that is a trusted proxy: then the rightmost address of
 * X-Forwarded-For that is not one (xff.h), for this request only.
 */
static void
session_client_from_xff(struct session *s, const struct http_msg *m)
{
	const struct sockaddr *sa = (const struct sockaddr *)&s->peer;
	struct sockaddr_storage ss;

	memcpy(s->client_ip, s->conn_ip, sizeof(s->client_ip));
	if (xff_client(m, &s->px->conf->trusted_proxies, &ss)) {
		sa = (const struct sockaddr *)&ss;
		net_addr_host(sa, s->client_ip, sizeof(s->client_ip));
	}
	s->pick.key = balance_client_key(s->px->lb, sa);
	s->pick.has_key = 1;
}

/* "monitor": rondo answers its path itself (monitor.h), never a backend; then closes. */
static void
request_answer_monitor(struct session *s, const struct http_msg *m)
{
	int status;

	request_keep_line(s);		/* the log shows the line as asked */
	s->rq = RQ_DONE;
	buf_reset(s->rsh);
	status = monitor_answer(s->rsh, s->px->conf, s->px->seg, m, &s->rsh_head);
	shm_counter_add(&s->px->slot->monitor_requests, 1);
	respond_send(s, status);
}

/* A request head may be complete in cin: parse it and start the exchange. */
/*
 * A request head is in, or will never be: from here on the exchange leaves a
 * line in the access log, and nothing of the previous one may show in it.
 */
static void
exchange_begin(struct session *s)
{
	s->head_clock = 0;
	s->t_wall = ev_now(s->px->loop);
	s->t_start = s->px->now;
	s->t_pick = s->t_head = -1;
	s->sent = 0;
	s->sent_body = 0;
	s->rsh_head = 0;
	s->in_exchange = 1;
	s->rq_parsed = 0;	/* until rqh holds the rewritten head */
	s->rs_status = 0;
	s->ref_len = s->ua_len = 0;
	s->req_id[0] = '\0';
	s->rq_line_len = 0;
}

static void
request_start(struct session *s)
{
	struct proxy *px = s->px;
	struct http_msg *m = &px->msg;
	int r;

	s->rs_started = 0;	/* nothing of this exchange's response was sent yet */
	s->rs_cut = 0;
	r = http_parse_request(m, s->cin->data + s->cin->start, buf_len(s->cin), REQ_HEAD_MAX);
	if (r == HTTP_OK && m->target.len + m->method.len + 10 > px->conf->limits.uri_size)
		r = HTTP_E_URI_TOO_LONG;
	else if (r == HTTP_OK && m->nheaders > px->conf->limits.headers)
		r = HTTP_E_TOO_LARGE;
	if (r == HTTP_AGAIN) {
		/*
		 * The whole head must arrive within T_CLIENT_HEADER of its first
		 * byte: more bytes do not extend it, or a client trickling a byte at
		 * a time could hold the connection for ever (slowloris).
		 */
		if (buf_len(s->cin) > 0 && !s->head_clock) {
			s->head_clock = 1;
			session_timeout(s, T_CLIENT_HEADER);
		}
		return;
	}
	exchange_begin(s);
	if (r != HTTP_OK) {
		log_client("%s: bad request (%d), closing", s->client_ip, http_status_code(r));
		request_keep_line(s);
		respond_local(s, http_status_code(r), http_reason(http_status_code(r)));
		return;
	}
	s->rq_flags = m->flags;
	s->rq_minor = m->minor;
	s->rq_idempotent = method_idempotent(m->method);
	s->rq_upgrade = (m->flags & HTTP_F_CONN_UPGRADE) && (m->flags & HTTP_F_UPGRADE) &&
	    m->body == HTTP_BODY_NONE;
	s->rq_body = m->body;
	s->rq_left = m->body == HTTP_BODY_LENGTH ? m->content_length : 0;
	s->rq_ready = 0;
	s->rq_held = 0;
	s->rq_all_in = m->body == HTTP_BODY_NONE ||
	    (m->body == HTTP_BODY_LENGTH && m->content_length == 0);
	http_chunked_init(&s->rq_chunk);
	if (m->flags & HTTP_F_CONN_CLOSE)
		s->client_close = 1;
	s->backend = -1;
	s->attempts = 0;
	memset(&s->pick.tried, 0, sizeof(s->pick.tried));
	s->rs = RS_WAIT;
	s->rs_all_in = 0;
	s->rs_ready = 0;

	if ((s->rqh == NULL && (s->rqh = buf_get(&px->bufs)) == NULL) ||
	    (s->sin == NULL && (s->sin = buf_get(&px->bufs)) == NULL) ||
	    (s->rsh == NULL && (s->rsh = buf_get(&px->bufs)) == NULL)) {
		session_close(s);
		return;
	}
	buf_reset(s->rqh);
	buf_reset(s->rsh);
	buf_reset(s->sin);
	if (s->trusted)
		session_client_from_xff(s, m);
	request_hash_key(s, m);
	request_sticky(s, m);
	if (px->conf->monitor_path[0] != '\0' && monitor_match(px->conf, m)) {
		request_answer_monitor(s, m);
		return;
	}
	if (request_rewrite(s, m) == -1) {
		request_keep_line(s);	/* rqh holds a part of a head */
		respond_local(s, 431, http_reason(431));
		return;
	}
	s->rq_parsed = 1;
	if (px->redirect_port != 0 && s->cc.tls == NULL) {
		/* "redirectHttp": plain HTTP only ever gets sent to https. */
		s->rq = RQ_DONE;
		if (rewrite_redirect(s->rsh, m, px->redirect_port) == -1) {
			respond_local(s, 400, "A Host is needed for the redirect to https\n");
			return;
		}
		s->rsh_head = buf_len(s->rsh) - (sizeof("Moved to https\n") - 1);
		respond_prepared(s, 308);
		return;
	}
	buf_consume(s->cin, m->head_len);
	/* RQ_DONE comes once backend_flush has sent the head and the whole body. */
	s->rq = RQ_BODY;
	if (request_scan_body(s) == -1) {
		respond_local(s, 400, http_reason(400));
		return;
	}
	session_pick_and_connect(s, 0);
}

/* The whole request went to the backend: RQ_DONE. */
void
request_check_sent(struct session *s)
{
	if (s->rq_all_in && s->rq_ready == 0 && buf_len(s->rqh) == 0 && piped(s->rq_pipe) == 0) {
		s->rq = RQ_DONE;
		if (s->c_eof && s->tunnel)
			conn_shutdown(&s->up->conn);
	}
}

/*
 * The backend will not take more of the request. When it is answering
 * already, the response goes on and the client is closed afterwards (the
 * rest of its body is lost); otherwise, the request fails (backend_failed_early).
 */
void
backend_write_failed(struct session *s)
{
	if (s->rs_started || s->rs == RS_BODY) {
		s->up->noreuse = 1;
		s->rq_ready = 0;
		splice_put(&s->px->pipes, &s->rq_pipe);
		s->rq = RQ_DONE;
		s->rq_all_in = 1;
		s->client_close = 1;
		return;
	}
	backend_failed_early(s, strerror(errno), 0);
}

/* Writes the request head and ready body bytes to the backend, then what the pipe holds. */
void
backend_flush(struct session *s)
{
	struct upstream *up = s->up;
	struct iovec iov[2];
	size_t head, body;
	ssize_t n;
	int cnt = 0;

	if (up == NULL || up->connecting)
		return;
	head = buf_len(s->rqh);
	body = s->rq_ready;
	if (head == 0 && body == 0) {
		if (piped(s->rq_pipe) > 0)
			backend_splice_write(s);
		return;
	}
	if (head > 0) {
		iov[cnt].iov_base = s->rqh->data + s->rqh->start;
		iov[cnt++].iov_len = head;
	}
	if (body > 0) {
		iov[cnt].iov_base = s->cin->data + s->cin->start;
		iov[cnt++].iov_len = body;
	}
	n = conn_send(&up->conn, iov, cnt);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		backend_write_failed(s);
		return;
	}
	session_touch_upstream(s);
	s->rq_wrote += (size_t)n;
	if ((size_t)n >= head) {
		s->rqh->start = s->rqh->end;	/* kept (not reset) so a retry can rewind */
		n -= (ssize_t)head;
		if (n > 0) {
			buf_consume(s->cin, (size_t)n);
			s->rq_ready -= (size_t)n;
			if (s->rq_body == HTTP_BODY_LENGTH)
				s->rq_left -= (uint64_t)n;
		}
	} else {
		s->rqh->start += (size_t)n;
	}
	if (s->rq_ready == 0 && buf_len(s->rqh) == 0 && piped(s->rq_pipe) > 0) {
		backend_splice_write(s);
		return;
	}
	request_check_sent(s);
}

/* --- response side ---------------------------------------------------------------------- */

/* Writes the client's view of the response head m into s->rsh (rewrite.h). */
static int
response_rewrite(struct session *s, const struct http_msg *m)
{
	const struct conf *c = s->px->conf;
	struct rewrite_response rs = {
		.server = c->expose_server_header ? c->backends[s->backend].url : NULL,
		.close = s->client_close, .client_minor = s->rq_minor };
	size_t before = buf_len(s->rsh);

	if (rewrite_response(s->rsh, m, &rs) == -1)
		return -1;
	/* "sticky": a final response from a backend the cookie did not choose names it. */
	if (c->sticky.cookie != NULL && !s->pick.stuck && m->status >= 200 &&
	    sticky_set_cookie(s->rsh, &c->sticky, balance_backend_id(s->px->lb, s->backend),
	    s->cc.tls != NULL) == -1)
		return -1;
	s->rsh_head += buf_len(s->rsh) - before;	/* heads come before any body in rsh */
	return 0;
}

static int
response_scan_body(struct session *s)
{
	struct buf *in = s->sin;
	size_t avail = buf_len(in);
	int r;

	if (s->rs != RS_BODY || s->rs_all_in)
		return 0;
	switch (s->rs_body) {
	case HTTP_BODY_LENGTH:
		s->rs_ready = avail < s->rs_left ? avail : (size_t)s->rs_left;
		s->rs_all_in = s->rs_ready == s->rs_left;
		return 0;
	case HTTP_BODY_EOF:
		s->rs_ready = avail;
		return 0;
	case HTTP_BODY_CHUNKED:
		r = chunked_scan(&s->rs_chunk, in, &s->rs_ready, &s->rs_held);
		if (r == HTTP_OK)
			s->rs_all_in = 1;
		else if (r != HTTP_AGAIN)
			return -1;
		return 0;
	default:
		s->rs_all_in = 1;
		return 0;
	}
}

/*
 * The backend agreed to switch protocols (WebSocket...): from now on bytes go
 * both ways as they come, until one side closes or T_TUNNEL passes without
 * traffic. The connection is not reused afterwards.
 */
static void
tunnel_start(struct session *s)
{
	s->tunnel = 1;
	s->client_close = 1;
	s->up->noreuse = 1;
	s->rs = RS_BODY;
	s->rs_body = HTTP_BODY_EOF;
	s->rs_all_in = 0;
	s->rs_ready = 0;
	s->rq = RQ_BODY;
	s->rq_body = HTTP_BODY_EOF;
	s->rq_all_in = 0;
	s->rq_ready = 0;
	session_timeout(s, T_TUNNEL);
	log_debug("%s: tunnel to %s", s->client_ip, s->px->conf->backends[s->backend].url);
}

/* Parses response heads in sin (1xx ones are passed on) until the final one. */
static void
response_start(struct session *s)
{
	struct proxy *px = s->px;
	struct http_msg *m = &px->msg;
	int r;

	while (s->rs == RS_HEAD) {
		r = http_parse_response(m, s->sin->data + s->sin->start, buf_len(s->sin),
		    HEAD_MAX, s->rq_flags);
		if (r == HTTP_AGAIN)
			return;
		/* A 101 switches only to what the client offered (RFC 9110 7.8). */
		if (r != HTTP_OK || (m->status == 101 && (!s->rq_upgrade ||
		    !http_upgrade_offered(m, (struct http_str){ s->rqh->data + s->upg_off,
		    s->upg_len })))) {
			log_warnx("backend %s: malformed response", px->conf->backends[s->backend].url);
			backend_failed(s);
			session_drop_upstream(s, 0);
			respond_local(s, 502, "Bad Gateway");
			return;
		}
		if (m->status >= 200) {
			s->rs_status = m->status;
			s->t_head = px->now;
			shm_backend_response(px->seg, (unsigned)s->backend, m->status,
			    s->t_head - s->t_pick);
			/*
			 * A response shows the backend alive: a 5xx counts as a
			 * failure only when the configuration says so, or any
			 * client could take backends out by asking for errors.
			 */
			if (conf_passive_status(px->conf, m->status))
				backend_failed(s);
			else
				shm_backend_ok(px->seg, (unsigned)s->backend);
			s->rs_body = m->body;
			s->rs_left = m->body == HTTP_BODY_LENGTH ? m->content_length : 0;
			s->rs_ready = 0;
			s->rs_held = 0;
			s->rs_all_in = m->body == HTTP_BODY_NONE ||
			    (m->body == HTTP_BODY_LENGTH && m->content_length == 0);
			http_chunked_init(&s->rs_chunk);
			/* A body delimited by the close can only be relayed the same way. */
			if (m->body == HTTP_BODY_EOF || px->draining)
				s->client_close = 1;
			/* A 1.0 request went as 1.0: the backend need not keep the connection. */
			if ((m->flags & HTTP_F_CONN_CLOSE) || m->body == HTTP_BODY_EOF ||
			    s->rq_minor == 0)
				s->up->noreuse = 1;
		}
		if (m->status < 200 && m->status != 101 && s->rq_minor == 0) {
			/* An HTTP/1.0 client cannot read interim responses: drop them. */
			buf_consume(s->sin, m->head_len);
			continue;
		}
		if (response_rewrite(s, m) == -1) {
			log_warnx("backend %s: response head too large",
			    px->conf->backends[s->backend].url);
			session_drop_upstream(s, 0);
			respond_local(s, 502, "Bad Gateway");
			return;
		}
		buf_consume(s->sin, m->head_len);
		if (m->status == 101) {
			tunnel_start(s);
			break;
		}
		if (m->status >= 200)
			s->rs = RS_BODY;
	}
	if (response_scan_body(s) == -1) {
		log_warnx("backend %s: malformed chunked body", px->conf->backends[s->backend].url);
		backend_failed(s);
		s->client_close = 1;
		session_close(s);
	}
}

/* Writes the response head and ready body bytes to the client, then what the pipe holds. */
void
client_flush(struct session *s)
{
	struct iovec iov[2];
	size_t head, body;
	ssize_t n;
	int cnt = 0;

	head = s->rsh != NULL ? buf_len(s->rsh) : 0;
	body = s->rs == RS_BODY ? s->rs_ready : 0;
	if (head == 0 && body == 0) {
		if (s->rs == RS_BODY && piped(s->rs_pipe) > 0) {
			client_splice_write(s);
			return;
		}
		exchange_check_done(s);
		return;
	}
	if (head > 0 && body > 0 && body <= COALESCE_MAX && body <= buf_space(s->rsh)) {
		/* A small body joins its head: one send instead of a writev of two. */
		memcpy(s->rsh->data + s->rsh->end, s->sin->data + s->sin->start, body);
		s->rsh->end += body;
		buf_consume(s->sin, body);
		s->rs_ready -= body;
		if (s->rs_body == HTTP_BODY_LENGTH)
			s->rs_left -= (uint64_t)body;
		head += body;
		body = 0;
	}
	if (head > 0) {
		iov[cnt].iov_base = s->rsh->data + s->rsh->start;
		iov[cnt++].iov_len = head;
	}
	if (body > 0) {
		iov[cnt].iov_base = s->sin->data + s->sin->start;
		iov[cnt++].iov_len = body;
	}
	n = conn_send(&s->cc, iov, cnt);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		log_debug("%s: write: %s", s->client_ip, strerror(errno));
		session_close(s);
		return;
	}
	session_touch_client(s);
	s->rs_started = 1;
	s->sent += (uint64_t)n;
	if ((size_t)n <= s->rsh_head) {
		s->rsh_head -= (size_t)n;
	} else {
		s->sent_body += (uint64_t)n - s->rsh_head;
		s->rsh_head = 0;
	}
	if ((size_t)n >= head) {
		if (head > 0)
			buf_reset(s->rsh);
		n -= (ssize_t)head;
		if (n > 0) {
			buf_consume(s->sin, (size_t)n);
			s->rs_ready -= (size_t)n;
			if (s->rs_body == HTTP_BODY_LENGTH)
				s->rs_left -= (uint64_t)n;
		}
	} else {
		s->rsh->start += (size_t)n;
	}
	if (buf_len(s->rsh) == 0 && s->rs_ready == 0 && s->rs == RS_BODY && piped(s->rs_pipe) > 0) {
		client_splice_write(s);
		return;
	}
	exchange_check_done(s);
}

/* --- end of an exchange ----------------------------------------------------------------- */

/* Everything was sent back and forth: reuse both connections or close. */
void
exchange_check_done(struct session *s)
{
	struct proxy *px = s->px;
	int up_reusable;

	if (s->rsh != NULL && buf_len(s->rsh) > 0)
		return;
	if (s->local) {
		/* Our own response went out: close, reading what the client still sends. */
		if (!s->lingering) {
			s->lingering = 1;
			conn_shutdown(&s->cc);
			session_timeout(s, T_LINGER);
		}
		return;
	}
	if (s->rs != RS_BODY || !s->rs_all_in || s->rs_ready > 0 || piped(s->rs_pipe) > 0 ||
	    s->rs_body == HTTP_BODY_EOF)
		return;
	if (s->rq != RQ_DONE) {
		/* The response is complete before the request body: stop here. */
		s->client_close = 1;
		up_reusable = 0;
	} else {
		up_reusable = s->up != NULL && !s->up->noreuse && buf_len(s->sin) == 0;
	}
	s->rs = RS_DONE;
	session_log(s);
	s->nreq++;
	atomic_fetch_add_explicit(&px->slot->requests, 1, memory_order_relaxed);
	session_drop_upstream(s, up_reusable);
	if (s->client_close || px->draining) {
		if (!s->rs_cut)
			conn_notify(&s->cc);	/* the response is whole: say so (TLS) */
		session_close(s);
		return;
	}
	/* Ready for the next request; a pipelined one may already be in cin. */
	s->rq = RQ_HEAD;
	s->rs = RS_WAIT;
	buf_put(&px->bufs, &s->rqh);
	buf_put(&px->bufs, &s->rsh);
	buf_put(&px->bufs, &s->sin);
	reclaim_later(px);
	splice_put(&px->pipes, &s->rq_pipe);	/* empty by now, unless the body was cut */
	s->rq_pipe_full = 0;
	if (buf_len(s->cin) == 0) {
		buf_put(&px->bufs, &s->cin);
		s->head_clock = 0;
		session_timeout(s, T_CLIENT_IDLE);
	} else {
		buf_compact(s->cin);
		s->head_clock = 1;
		session_timeout(s, T_CLIENT_HEADER);
		request_start(s);
	}
}

/* --- events ----------------------------------------------------------------------------- */

static void
client_read(struct session *s)
{
	struct proxy *px = s->px;
	ssize_t n;

	if (s->pp_wait && client_proxy_header(s) != 0)
		return;
	if (!s->cc.handshaken && client_handshake(s) != CONN_OK)
		return;
	if (s->cin == NULL && (s->cin = buf_get(&px->bufs)) == NULL) {
		session_close(s);
		return;
	}
	if (request_splices(s) && client_splice_read(s) == 0)
		return;
	if (buf_space(s->cin) == 0)
		buf_compact(s->cin);
	if (buf_space(s->cin) == 0)
		return;		/* full: wait until the backend takes some */
	s->read_full = 0;
	n = conn_recv(&s->cc, s->cin->data + s->cin->end, buf_space(s->cin));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	s->read_full = n > 0 && (size_t)n == buf_space(s->cin);
	if (n <= 0) {
		if (n == -1)
			log_debug("%s: read: %s", s->client_ip, strerror(errno));
		if (s->tunnel && n == 0 && s->up != NULL) {
			/* The backend still may answer: pass the half-close on. */
			s->rq_all_in = 1;
			s->c_eof = 1;
			if (s->rq_ready == 0)
				conn_shutdown(&s->up->conn);
			return;
		}
		if (s->queued) {
			log_client("%s: client left the queue", s->client_ip);
			session_close(s);
			return;
		}
		if (n == 0 && !s->local && (s->rq == RQ_DONE || (s->rq == RQ_BODY && s->rq_all_in))) {
			/* The request is in: a half-closed client still gets its answer. */
			s->c_eof = 1;
			s->client_close = 1;
			return;
		}
		if (s->rq == RQ_BODY && !s->rq_all_in)
			log_client("%s: client closed during the request body", s->client_ip);
		session_close(s);
		return;
	}
	if (s->lingering) {
		buf_reset(s->cin);
		return;
	}
	s->cin->end += (size_t)n;
	if (s->rq == RQ_HEAD) {
		request_start(s);
		return;
	}
	session_touch_client(s);
	if (request_scan_body(s) == -1) {
		log_client("%s: malformed chunked request body", s->client_ip);
		session_drop_upstream(s, 0);
		if (s->rs_started)
			session_close(s);
		else
			respond_local(s, 400, http_reason(400));
		return;
	}
	backend_flush(s);
}

/*
 * The backend closed or failed in the middle of a response: the client is
 * closed when part of it went out (never let a truncated response look
 * complete), else gets a 502.
 */
void
response_lost(struct session *s, const char *why)
{
	log_warnx("backend %s: %s in the middle of the response",
	    s->px->conf->backends[s->backend].url, why);
	backend_failed(s);
	if (s->rs_started) {
		session_close(s);
		return;
	}
	session_drop_upstream(s, 0);
	respond_local(s, 502, "Bad Gateway");
}

static void
backend_read(struct session *s)
{
	struct upstream *up = s->up;
	ssize_t n;

	if (response_splices(s) && backend_splice_read(s) == 0)
		return;
	if (buf_space(s->sin) == 0)
		buf_compact(s->sin);
	if (buf_space(s->sin) == 0)
		return;
	s->read_full = 0;
	n = conn_recv(&up->conn, s->sin->data + s->sin->end, buf_space(s->sin));
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	s->read_full = n > 0 && (size_t)n == buf_space(s->sin);
	if (n <= 0) {
		const char *why = n == 0 ? "connection closed" : strerror(errno);

		if (s->rs == RS_HEAD && buf_len(s->sin) == 0 && !s->rs_started) {
			backend_failed_early(s, why, 0);
			return;
		}
		if (s->rs == RS_BODY && s->rs_body == HTTP_BODY_EOF && n == 0) {
			/*
			 * A body delimited by the close ends with the backend's close.
			 * Over TLS only a close_notify says it is whole; without one,
			 * the TLS client is not told it is either.
			 */
			if (!up->conn.eof_clean) {
				s->rs_cut = 1;
				log_info("backend %s: TLS closed without close_notify: the response "
				    "may be cut", s->px->conf->backends[s->backend].url);
			}
			s->rs_all_in = 1;
			s->rs_body = HTTP_BODY_LENGTH;	/* now delimited: what is in sin */
			s->rs_left = s->rs_ready;
			s->client_close = 1;
			s->up->noreuse = 1;
			client_flush(s);
			return;
		}
		response_lost(s, why);
		return;
	}
	s->sin->end += (size_t)n;
	session_touch_upstream(s);
	if (s->rs == RS_HEAD) {
		response_start(s);
		if (s->up == NULL || s->local)
			return;
	} else if (response_scan_body(s) == -1) {
		log_warnx("backend %s: malformed chunked body", s->px->conf->backends[s->backend].url);
		backend_failed(s);
		session_close(s);
		return;
	}
	if (s->rs == RS_BODY && !s->rs_all_in && !s->rs_quickack && !s->tunnel) {
		net_quickack(up->fd);
		s->rs_quickack = 1;
	}
	client_flush(s);
}

/* Recomputes which events each side waits for, from the state of the exchange. */
void
session_update_io(struct session *s)
{
	struct upstream *up = s->up;
	unsigned cev = 0, uev = 0;

	if (!s->cc.handshaken) {
		cev = s->cc.wants != 0 ? s->cc.wants : EV_READ;
	} else if (s->lingering) {
		cev = EV_READ;
	} else {
		/*
		 * Reading goes on while a response is awaited, as long as cin has
		 * room: pipelined requests queue up, and the interest need not be
		 * switched off and on (two epoll_ctl calls) for every request.
		 */
		if (!s->local && !s->c_eof &&
		    (s->cin == NULL || buf_space(s->cin) > 0 || s->cin->start > 0) &&
		    !(request_splices(s) && pipe_blocked(s->rq_pipe, s->rq_pipe_full)))
			cev |= EV_READ;
		if ((s->rsh != NULL && buf_len(s->rsh) > 0) ||
		    (s->rs == RS_BODY && (s->rs_ready > 0 || piped(s->rs_pipe) > 0)))
			cev |= EV_WRITE;
		/* TLS: a blocked read may wait to write, and a blocked write to read. */
		if (cev != 0)
			cev |= s->cc.wants;
	}
	client_set_events(s, cev);
	/* Bytes TLS has decrypted already: the socket will not say so again. */
	if ((cev & EV_READ) && conn_pending(&s->cc))
		ev_feed_event(s->px->loop, &s->cio, EV_READ);
	if (up == NULL)
		return;
	if (up->connecting) {
		uev = up->conn.wants;	/* the connect, then the TLS handshake */
	} else {
		if ((s->rs == RS_HEAD || (s->rs == RS_BODY && !s->rs_all_in)) &&
		    (s->rs_pipe != NULL ? !pipe_blocked(s->rs_pipe, s->rs_pipe_full) :
		    buf_space(s->sin) > 0 || s->sin->start > 0))
			uev |= EV_READ;
		if (buf_len(s->rqh) > 0 || s->rq_ready > 0 || piped(s->rq_pipe) > 0)
			uev |= EV_WRITE;
	}
	upstream_set_events(up, uev);
}

/*
 * Any step may close the session: callbacks check s->cfd (-1 once closed; the
 * struct itself is only reused by a later accept) before the next step.
 */
static void
client_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct session *s = w->data;
	int i;

	proxy_busy(s->px);
	if (!s->cc.handshaken) {
		client_read(s);		/* the handshake, then what follows it */
		if (s->cfd != -1)
			session_update_io(s);
		return;
	}
	if (s->cc.tls != NULL && s->cc.wants != 0)
		revents |= EV_READ | EV_WRITE;	/* retry what waited, whichever way */
	if (revents & EV_WRITE) {
		client_flush(s);
		if (s->cfd == -1)
			return;
	}
	if (revents & EV_READ) {
		/*
		 * While a body streams, a read that filled the buffer likely left
		 * more behind: read again at once (the bytes were just sent on,
		 * making room) rather than after another epoll_wait.
		 */
		for (i = 0; i < READ_AGAIN; i++) {
			client_read(s);
			if (s->cfd == -1)
				return;
			if (!s->read_full || s->rq != RQ_BODY || s->cin == NULL ||
			    buf_space(s->cin) < BUF_SIZE / 2)
				break;
		}
	}
	session_update_io(s);
}

static void
backend_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct upstream *up = w->data;
	struct session *s = up->s;
	unsigned gen = s->up_gen;
	int i;

	proxy_busy(s->px);
	if (up->connecting) {
		char why[160];
		int r = upstream_connected(up, why, sizeof(why));

		if (r == CONN_AGAIN) {
			session_update_io(s);
			return;
		}
		if (r == CONN_ERR) {
			backend_failed_early(s, why, 1);
			if (s->cfd != -1)
				session_update_io(s);
			return;
		}
		session_timeout(s, s->rq_all_in ? T_SERVER : T_CLIENT_BODY);
		revents |= EV_WRITE;	/* the request goes now */
	}
	if (up->conn.tls != NULL && up->conn.wants != 0)
		revents |= EV_READ | EV_WRITE;	/* retry what waited, whichever way */
	if (revents & EV_WRITE) {
		backend_flush(s);
		if (s->cfd == -1)
			return;
	}
	/* up may be gone (a retry replaced it): only read from the one that fired. */
	for (i = 0; i < READ_AGAIN && (revents & EV_READ) && s->up_gen == gen && s->up != NULL;
	    i++) {
		backend_read(s);	/* again while full reads are passed straight on */
		if (s->cfd == -1)
			return;
		if (!s->read_full || s->rs != RS_BODY || s->sin == NULL ||
		    buf_space(s->sin) < BUF_SIZE / 2)
			break;
	}
	/* Reading the response may have freed room in cin: read and send more of the body. */
	session_update_io(s);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct session *s = w->data;
	double left;

	s->px->now = clock_mono();
	if (s->queued) {
		qwait_timer(s);
		return;
	}
	left = session_last(s) + s->timeout - s->px->now;
	if (left > 0.) {
		session_arm(s, left < s->timeout ? left : s->timeout);	/* progress since */
		return;
	}

	if (s->pp_wait) {
		log_client("%s: PROXY header timeout (%.1fs)", s->client_ip, s->timeout);
		session_close(s);
		return;
	}
	if (!s->cc.handshaken) {
		log_client("%s: TLS handshake timeout (%.1fs)", s->client_ip, s->timeout);
		shm_counter_add(&s->px->slot->tls_fail_timeout, 1);
		session_close(s);
		return;
	}
	if (s->lingering || s->local) {
		session_close(s);
		return;
	}
	if (s->up != NULL && s->up->connecting) {
		backend_failed_early(s, "connect timeout", 1);
		if (s->cfd != -1)
			session_update_io(s);
		return;
	}
	if (s->rq == RQ_HEAD) {
		if (s->cin != NULL && buf_len(s->cin) > 0) {
			log_client("%s: request head timeout", s->client_ip);
			exchange_begin(s);	/* a 408 is logged like any refused request */
			request_keep_line(s);
			respond_local(s, 408, http_reason(408));
			if (s->cfd != -1)
				session_update_io(s);
			return;
		}
		conn_notify(&s->cc);
		session_close(s);	/* idle keep-alive client */
		return;
	}
	if (s->rq == RQ_BODY && !s->rq_all_in && !s->rs_started && !s->tunnel) {
		log_client("%s: request body timeout (%.1fs without data)", s->client_ip, s->timeout);
		session_drop_upstream(s, 0);
		respond_local(s, 408, http_reason(408));
		if (s->cfd != -1)
			session_update_io(s);
		return;
	}
	if (s->up != NULL && !s->rs_started && s->rs == RS_HEAD) {
		log_warnx("backend %s: no response within %.1fs", s->px->conf->backends[s->backend].url,
		    s->timeout);
		backend_failed(s);
		respond_local(s, 504, http_reason(504));
		if (s->cfd != -1)
			session_update_io(s);
		return;
	}
	log_client("%s: timeout while streaming, closing", s->client_ip);
	session_close(s);
}

/* --- sessions --------------------------------------------------------------------------- */

/*
 * The only way out of a session: stops its watchers, closes the client and the
 * backend connection (never pooled from here), gives back the buffers. The
 * struct goes to the free list with cfd = -1, which callbacks check after any
 * step that may have closed it.
 */
void
session_close(struct session *s)
{
	struct proxy *px = s->px;

	if (s->cfd == -1)
		return;
	qwait_leave(s);
	session_log(s);
	session_drop_upstream(s, 0);
	if (s->kept != NULL) {
		upstream_destroy(s->kept);
		s->kept = NULL;
	}
	ev_io_stop(px->loop, &s->cio);
	ev_timer_stop(px->loop, &s->timer);
	conn_close(&s->cc);
	s->cfd = -1;
	buf_put(&px->bufs, &s->cin);
	buf_put(&px->bufs, &s->sin);
	buf_put(&px->bufs, &s->rqh);
	buf_put(&px->bufs, &s->rsh);
	splice_put(&px->pipes, &s->rq_pipe);
	splice_put(&px->pipes, &s->rs_pipe);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		px->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	px->nsessions--;
	atomic_store_explicit(&px->slot->sessions, px->nsessions, memory_order_relaxed);
	/*
	 * Freed lazily: a callback further up the stack may still look at s->cfd.
	 * The slot is reused by the next accept, which happens from the loop, after
	 * every callback of this iteration returned.
	 */
	s->next = px->free_sessions;
	px->free_sessions = s;
	px->nfree_sessions++;
	reclaim_later(px);
}

/* Who the client is from now on: peer, its text, its hash key, whether it is a trusted proxy. */
void
session_set_peer(struct session *s, const struct sockaddr *peer)
{
	const struct conf *c = s->px->conf;

	memcpy(&s->peer, peer, peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
	s->pick.key = balance_client_key(s->px->lb, peer);
	s->pick.has_key = 1;
	if (peer->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, s->conn_ip,
		    sizeof(s->conn_ip));
	else
		net_addr_host(peer, s->conn_ip, sizeof(s->conn_ip));
	memcpy(s->client_ip, s->conn_ip, sizeof(s->client_ip));
	s->trusted = cidr_match_list(c->trusted_proxies.v, c->trusted_proxies.n, peer);
}

void
proxy_accept(struct proxy *px, int fd, const struct sockaddr *peer, void *tls)
{
	const struct conf *c = px->conf;
	struct session *s;
	struct conn cc;
	char ip[INET6_ADDRSTRLEN];

#ifdef HAVE_TLS
	if (tls != NULL)
		conn_tls_init(&cc, fd, tls);
	else
#endif
		conn_plain_init(&cc, fd);
	if (c->proxy_protocol && !cidr_match_list(c->pp_trusted.v, c->pp_trusted.n, peer)) {
		/* Only the balancers in front may say who the client is; no one else may talk. */
		net_addr_host(peer, ip, sizeof(ip));
		log_client("%s: not in proxyProtocol.trusted, closing", ip);
		conn_close(&cc);
		return;
	}
	px->now = clock_mono();
	if ((s = px->free_sessions) != NULL) {
		px->free_sessions = s->next;
		if (--px->nfree_sessions < px->free_sessions_low)
			px->free_sessions_low = px->nfree_sessions;
	} else if ((s = malloc(sizeof(*s))) == NULL) {
		log_warnx("out of memory for a new session");
		conn_close(&cc);
		return;
	}
	memset(s, 0, sizeof(*s));
	s->px = px;
	s->cfd = fd;
	s->cc = cc;
	s->backend = -1;
	s->rq = RQ_HEAD;
	s->rs = RS_WAIT;
	s->pick.worker = px->worker;
	session_set_peer(s, peer);
	s->pp_wait = c->proxy_protocol;
	ev_io_init(&s->cio, client_cb, fd, 0);
	s->cio.data = s;
	ev_init(&s->timer, timer_cb);
	s->timer.data = s;
	s->next = px->sessions;
	if (px->sessions != NULL)
		px->sessions->prev = s;
	px->sessions = s;
	px->nsessions++;
	atomic_store_explicit(&px->slot->sessions, px->nsessions, memory_order_relaxed);
	atomic_fetch_add_explicit(&px->slot->accepted, 1, memory_order_relaxed);
	session_timeout(s, T_CLIENT_HEADER);
	/*
	 * The listener defers accept until data is in: read now rather than
	 * after a trip through the event loop. Whatever happens, the watcher
	 * interests are set from the session's state afterwards.
	 */
	client_read(s);
	if (s->cfd != -1)
		session_update_io(s);
}

struct proxy *
proxy_new(struct ev_loop *loop, const struct conf *c, struct shm_seg *seg, const struct lb *lb,
    int worker_id, struct tls_ctx *tls)
{
	struct proxy *px;

	if ((px = calloc(1, sizeof(*px))) == NULL)
		return NULL;
	px->loop = loop;
	px->conf = c;
	px->seg = seg;
	px->worker = (unsigned)(worker_id - 1) % SHM_MAX_WORKERS;
	px->slot = &seg->workers[px->worker];
	px->lb = lb;
	buf_pool_init(&px->bufs, BUF_POOL_MAX);
	ev_timer_init(&px->reclaim_w, reclaim_cb, 0., RECLAIM_EVERY);
	px->reclaim_w.data = px;
	relay_splice_init(px);
	if (getrandom(&px->id_prefix, sizeof(px->id_prefix), 0) != sizeof(px->id_prefix))
		px->id_prefix = (uint32_t)getpid() ^ (uint32_t)time(NULL);
	px->pool = upstream_pool_new(loop, c, tls, POOL_MAX_PER_BACKEND, T_UPSTREAM_IDLE);
	if (px->pool == NULL) {
		free(px);
		return NULL;
	}
	qwait_init(px);
	if (c->tls.enabled && c->tls.redirect_http)
		px->redirect_port = net_addr_port(&c->tls.listen);
	return px;
}

void
proxy_set_accesslog(struct proxy *px, struct accesslog *l)
{
	px->alog = l;
}

void
proxy_set_busy(struct proxy *px, proxy_busy_fn fn, void *arg)
{
	px->busy = fn;
	px->busy_arg = arg;
}

void
proxy_drain(struct proxy *px)
{
	struct session *s, *next;

	px->draining = 1;
	for (s = px->sessions; s != NULL; s = next) {
		next = s->next;
		/*
		 * Idle between requests, nothing buffered: nothing to lose. A new
		 * connection whose first request has not arrived yet is served.
		 */
		if (s->nreq > 0 && s->rq == RQ_HEAD && (s->cin == NULL || buf_len(s->cin) == 0)) {
			conn_notify(&s->cc);
			session_close(s);
		}
	}
	upstream_pool_drain(px->pool);
}

unsigned
proxy_sessions(const struct proxy *px)
{
	return px->nsessions;
}

void
proxy_totals(const struct proxy *px, unsigned long long *connections,
    unsigned long long *requests)
{
	*connections = atomic_load_explicit(&px->slot->accepted, memory_order_relaxed);
	*requests = atomic_load_explicit(&px->slot->requests, memory_order_relaxed);
}

void
proxy_free(struct proxy *px)
{
	struct session *s;

	if (px == NULL)
		return;
	while (px->sessions != NULL)
		session_close(px->sessions);
	proxy_drain(px);
	qwait_fini(px);
	ev_timer_stop(px->loop, &px->reclaim_w);
	while ((s = px->free_sessions) != NULL) {
		px->free_sessions = s->next;
		free(s);
	}
	buf_pool_fini(&px->bufs);
	relay_splice_fini(px);
	upstream_pool_free(px->pool);
	free(px);
}
