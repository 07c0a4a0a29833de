/*
 * The state of a session and of the worker's proxy, private to the files of
 * the data path: proxy.c (the session state machine) and the modules it hands
 * steps to. The rest of rondo goes through proxy.h and never sees these.
 */
#ifndef RONDO_SESSION_H
#define RONDO_SESSION_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>

#include "balance.h"
#include "buf.h"
#include "conn.h"
#include "http.h"
#include "rewrite.h"
#include "splice.h"

struct accesslog;
struct conf;
struct lb;
struct shm_seg;
struct shm_worker;
struct upstream;
struct upstream_pool;

/*
 * Timeouts in seconds, from "timeouts" in the configuration (conf.h):
 * inactivity in the phase named.
 */
#define MS(v)		((double)(v) / 1000.)
#define T_CLIENT_HEADER	MS(s->px->conf->timeouts.client_header_ms)
#define T_CLIENT_BODY	MS(s->px->conf->timeouts.client_body_ms)
#define T_CLIENT_IDLE	MS(s->px->conf->timeouts.idle_ms)
#define T_CONNECT	MS(s->px->conf->timeouts.connect_ms)
#define T_SERVER	MS(s->px->conf->timeouts.server_ms)
#define T_TUNNEL	MS(s->px->conf->timeouts.tunnel_ms)
#define T_UPSTREAM_IDLE	MS(px->conf->timeouts.idle_ms)
#define T_LINGER	2.0	/* draining the client after an error response */

enum rq_state { RQ_HEAD, RQ_BODY, RQ_DONE };
enum rs_state { RS_WAIT, RS_HEAD, RS_BODY, RS_DONE };

/* An IPv4 or IPv6 address and port: all a client or its PROXY header can be. */
union session_addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
};

struct session {
	struct proxy *px;
	int cfd;			/* the client's socket (cc.fd); -1 once the session closed */
	unsigned cevents;		/* EV_READ/EV_WRITE currently watched on cfd */
	struct conn cc;			/* the client connection, plain or TLS */
	ev_io cio;
	ev_timer timer;			/* fires at or before the last progress + timeout */
	double timeout;			/* current inactivity timeout */
	double c_last;			/* the client side last made progress (clock_mono) */
	double u_last;			/* the backend side last made progress (clock_mono) */
	struct session *prev, *next;	/* the worker's list of sessions */

	struct buf *cin, *sin, *rqh, *rsh;
	struct upstream *up;
	int backend;			/* chosen backend, -1 before */
	struct pick_ctx pick;	/* tried backends, client key, worker slot */
	uint64_t q_ticket;		/* its place in the queue, over all workers */
	double q_since;			/* when it started waiting (clock_mono) */
	struct session *q_prev, *q_next;	/* the worker's queue, in ticket order */
	uint8_t queued;		/* waiting in the queue for a backend (queue.h) */
	uint8_t retry_after;	/* the 503 of our own says Retry-After: 1 */
	uint8_t counted;		/* holds what balance_pick acquired */

	/* request */
	enum rq_state rq;
	enum http_body rq_body;
	uint64_t rq_left;		/* LENGTH: body bytes not yet sent */
	size_t rq_ready;		/* validated body bytes at the head of cin */
	size_t rq_held;			/* CHUNKED: trailer bytes after those, held until whole */
	uint8_t rq_all_in;		/* the whole body is in cin (or sent) */
	unsigned rq_flags;
	int rq_minor;
	uint8_t rq_idempotent;	/* GET, HEAD, OPTIONS, TRACE, PUT, DELETE */
	uint8_t rq_upgrade;		/* asks to switch protocols (Connection: upgrade + Upgrade) */
	struct http_chunked rq_chunk;
	struct spipe *rq_pipe;		/* splicing the body: its bytes from the client, not yet sent */
	uint8_t rq_pipe_full;	/* the kernel said the pipe is full: wait until it drains */

	/* response */
	enum rs_state rs;
	enum http_body rs_body;
	uint64_t rs_left;
	size_t rs_ready;
	size_t rs_held;			/* as rq_held */
	uint8_t rs_all_in;
	uint8_t rs_started;		/* some response byte went to the client */
	uint8_t rs_cut;		/* the backend's end of a close-delimited body was not clean */
	int rs_status;
	struct http_chunked rs_chunk;
	struct spipe *rs_pipe;		/* as rq_pipe, from the backend to the client */
	uint8_t rs_pipe_full;

	uint8_t client_close;	/* close the client after this response */
	uint8_t local;		/* sending a response of our own, then close */
	uint8_t lingering;		/* response sent, discarding client input */
	int attempts;			/* backend connections tried for this request */
	uint8_t head_clock;		/* the request head deadline is running */
	uint8_t tunnel;		/* upgraded (101): bytes relayed both ways as they come */
	uint8_t c_eof;		/* the client closed its side (half-close) */
	size_t rq_wrote;		/* bytes written to the current backend connection */

	/* for the access log: strings live in rqh (the rewritten head) */
	double t_wall;			/* the request began, wall clock (the log's timestamp) */
	double t_start;			/* the request began (clock_mono, as t_pick and t_head) */
	double t_pick;			/* the backend was chosen */
	double t_head;			/* its response head arrived */
	uint64_t sent;			/* bytes written to the client in this exchange */
	uint64_t sent_body;		/* ... of them, response body */
	size_t rsh_head;		/* head bytes (not body) at the start of what rsh has to send */
	uint8_t in_exchange;	/* a request was read and is not logged yet */
	uint8_t rq_parsed;		/* ... and its head was valid (rqh holds it) */
	size_t rq_line_len;		/* rejected: its request line, as received, at the start of rqh */
	size_t ref_off, ref_len;	/* Referer value in rqh */
	size_t ua_off, ua_len;		/* User-Agent value in rqh */
	size_t upg_off, upg_len;	/* the Upgrade offer in rqh, to check a 101 against */
	char req_id[REWRITE_ID_MAX + 1];	/* X-Request-Id, received or made */
	unsigned up_gen;		/* bumped whenever up changes */
	unsigned nreq;			/* exchanges completed on this connection */
	uint8_t read_full;		/* the last read filled all the room it was given */
	uint8_t rs_quickack;	/* quick ACKs asked for while this response streams in */
	char client_ip[INET6_ADDRSTRLEN];	/* the client for logs and hashing: conn_ip, or
					   what a trusted proxy's X-Forwarded-For says */

	/* who the client is (PROXY protocol, trusted proxies) */
	uint8_t pp_wait;		/* a PROXY header must come first ("proxyProtocol") */
	union session_addr peer;	/* the client: the PROXY header's, else the socket's */
	union session_addr dst;		/* the address it came to, once known (dst_len) */
	socklen_t dst_len;
	char conn_ip[INET6_ADDRSTRLEN];	/* peer as text: what X-Forwarded-For gets */
	uint8_t trusted;		/* peer is in "trustedProxies" */
	struct upstream *kept;		/* sendProxy: this client's idle backend connection */
};

struct proxy {
	struct ev_loop *loop;
	const struct conf *conf;
	struct shm_seg *seg;
	struct session *sessions;	/* all live sessions */
	unsigned nsessions;
	struct shm_worker *slot;	/* this worker's counters in the segment */
	struct accesslog *alog;		/* NULL: no access log */
	uint32_t id_prefix;		/* random, per worker start: request ids stay unique */
	uint64_t id_seq;
	const struct lb *lb;
	unsigned worker;		/* 0-based slot */
	struct session *free_sessions;
	unsigned nfree_sessions;	/* on that list */
	unsigned free_sessions_low;	/* the fewest on it since the last reclaim */
	struct buf_pool bufs;		/* free buffers */
	ev_timer reclaim_w;		/* frees what the free lists kept unused, while they hold more */
	struct upstream_pool *pool;	/* idle backend connections */
	int draining;
	void (*busy)(void *, double);	/* proxy_busy_fn: called after I/O (busy polling); NULL: none */
	void *busy_arg;
	double now;			/* clock_mono() at the start of the current callback */
	struct http_msg msg;		/* scratch: a head is parsed and rewritten at once */
	unsigned redirect_port;		/* "redirectHttp": the TLS port plain requests go to; 0: off */
	struct splice_pool pipes;	/* empty pipes for splicing */
	int splice;			/* "splice" and the kernel has not refused it */
	int splice_rq;			/* ... and every backend is plain (a retry keeps the pipe) */
	struct session *q_first, *q_last;	/* requests of this worker in the queue */
	ev_timer queue_w;		/* looks whether the first one's turn came, while any waits */
};

/* Progress on the client side: called on every read or write there. */
static inline void
session_touch_client(struct session *s)
{
	s->c_last = s->px->now;
}

/* Progress on the backend side. */
static inline void
session_touch_upstream(struct session *s)
{
	s->u_last = s->px->now;
}

/*
 * Steps of the state machine (proxy.c) that the other files of the data path
 * take too; each is described where it is defined. Those that do I/O or
 * answer may close the session: s->cfd is -1 afterwards.
 */
void session_arm(struct session *s, double after);	/* the timer fires after that many s */
void session_timeout(struct session *s, double t);	/* starts a phase: t s without progress */
void session_update_io(struct session *s);	/* watches what the state calls for */
void session_set_peer(struct session *s, const struct sockaddr *peer);	/* the client is peer */
void session_pick_and_connect(struct session *s, int fresh);	/* a backend for the request */
void backend_flush(struct session *s);		/* sends the backend what it may have now */
void request_check_sent(struct session *s);	/* RQ_DONE once the whole request went */
void backend_write_failed(struct session *s);	/* the backend takes no more of the request */
void client_flush(struct session *s);		/* sends the client what it may have now */
void response_lost(struct session *s, const char *why);	/* the backend failed mid-response */
void exchange_check_done(struct session *s);	/* all went both ways: next request or close */
void respond_local(struct session *s, int status, const char *body);	/* answer, then close */
void session_close(struct session *s);		/* the only way out of a session */

#endif
