/* The admin listener: status, metrics and drain, in the master; see admin.h. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "admin.h"
#include "balance.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "pool.h"
#include "shm.h"
#include "stats.h"

#define ADMIN_REQ_MAX	8192	/* an admin request head and its body (a weight's JSON) */
#define ADMIN_OUT_MAX	(512 * 1024)
#define ADMIN_TIMEOUT	5.0

struct admin_conn {
	struct admin *a;
	int fd;
	ev_io io;
	ev_timer timer;
	size_t inlen;
	char in[ADMIN_REQ_MAX];
	char *out;			/* the whole response, written as the socket allows */
	size_t outlen, outoff;
	struct admin_conn *next;
};

struct admin {
	struct ev_loop *loop;
	int fd;
	ev_io accept_w;
	ev_timer pause_w;		/* accepting again after running out of fds */
	const struct conf *conf;
	struct shm_seg *seg;
	const struct lb *lb;		/* told of drains, readies and weights */
	unsigned generation;
	double started;
	int reload_ok;			/* 0 from a reload's start until it succeeds */
	double reload_time;		/* when the running configuration was loaded */
	struct admin_conn *conns;
};

static const char *
admin_backend_name(const struct conf *c, size_t i)
{
	return c->backends[i].hostport;
}

/* --- connections -------------------------------------------------------------------------- */

static void
admin_conn_close(struct admin_conn *ac)
{
	struct admin *a = ac->a;
	struct admin_conn **pp;

	ev_io_stop(a->loop, &ac->io);
	ev_timer_stop(a->loop, &ac->timer);
	close(ac->fd);
	for (pp = &a->conns; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == ac) {
			*pp = ac->next;
			break;
		}
	}
	free(ac->out);
	free(ac);
}

/* Queues the response; <extra> is more header lines, each ending in CRLF ("" for none). */
static void
admin_reply(struct admin_conn *ac, int status, const char *extra, const char *type,
    const char *body, size_t len)
{
	char head[512];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n%s\r\n",
	    status, http_reason(status), type, len, extra);
	if (n < 0 || (size_t)n >= sizeof(head)) {
		admin_conn_close(ac);
		return;
	}
	if ((ac->out = malloc((size_t)n + len)) == NULL) {
		admin_conn_close(ac);
		return;
	}
	memcpy(ac->out, head, (size_t)n);
	memcpy(ac->out + n, body, len);
	ac->outlen = (size_t)n + len;
	ac->outoff = 0;
	ev_io_stop(ac->a->loop, &ac->io);
	ev_io_set(&ac->io, ac->fd, EV_WRITE);
	ev_io_start(ac->a->loop, &ac->io);
}

static void __attribute__((format(printf, 4, 5)))
admin_text(struct admin_conn *ac, int status, const char *extra, const char *fmt, ...)
{
	char body[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	admin_reply(ac, status, extra, "text/plain", body, (size_t)n < sizeof(body) ? (size_t)n :
	    sizeof(body) - 1);
}

/* The backend named by host:port or by its position, or -1. */
static int
admin_find_backend(const struct admin *a, const char *name, size_t len)
{
	char *end;
	long idx;
	size_t i;

	for (i = 0; i < a->conf->nbackends; i++) {
		const char *hp = admin_backend_name(a->conf, i);

		if (strlen(hp) == len && memcmp(hp, name, len) == 0)
			return (int)i;
	}
	if (len > 0 && len < 6) {
		char tmp[8];

		memcpy(tmp, name, len);
		tmp[len] = '\0';
		idx = strtol(tmp, &end, 10);
		if (*end == '\0' && idx >= 0 && (size_t)idx < a->conf->nbackends)
			return (int)idx;
	}
	return -1;
}

/* --- who may ask ---------------------------------------------------------------------- */

int
admin_addr_loopback(const struct net_addr *listen)
{
	struct in6_addr ip;

	(void)net_addr_v6(listen, &ip);
	return net_ip_loopback(&ip);
}

int
admin_host_allowed(const struct net_addr *listen, const char *host, size_t len)
{
	static const uint8_t any4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0 };
	struct in6_addr want, got;
	const char *name = host, *port = NULL, *end = host + len;
	char buf[INET6_ADDRSTRLEN + 1];
	size_t nlen;
	unsigned long p = 80;
	uint16_t lport;

	if (host == NULL || len == 0)
		return 0;	/* no Host: nothing to check it against */
	lport = net_addr_v6(listen, &want);
	if (host[0] == '[') {
		const char *rb = memchr(host, ']', len);

		if (rb == NULL)
			return 0;
		name = host + 1;
		nlen = (size_t)(rb - name);
		if (rb + 1 < end) {
			if (rb[1] != ':')
				return 0;
			port = rb + 2;
		}
	} else {
		const char *colon = memchr(host, ':', len);

		nlen = colon != NULL ? (size_t)(colon - host) : len;
		if (colon != NULL)
			port = colon + 1;
	}
	if (port != NULL) {
		const char *q;

		if (port == end || end - port > 5)
			return 0;
		for (p = 0, q = port; q < end; q++) {
			if (*q < '0' || *q > '9')
				return 0;
			p = p * 10 + (unsigned long)(*q - '0');
		}
	}
	if (p != lport || nlen == 0 || nlen >= sizeof(buf))
		return 0;
	memcpy(buf, name, nlen);
	buf[nlen] = '\0';
	if (name == host && strcasecmp(buf, "localhost") == 0)
		return net_ip_loopback(&want);
	if (name != host) {
		if (inet_pton(AF_INET6, buf, &got) != 1)
			return 0;
	} else {
		memset(&got, 0, sizeof(got));
		got.s6_addr[10] = 0xff;
		got.s6_addr[11] = 0xff;
		if (inet_pton(AF_INET, buf, &got.s6_addr[12]) != 1)
			return 0;
	}
	/*
	 * An address literal cannot be rebound by DNS: the listen address itself,
	 * any loopback one for a loopback listener, any one a wildcard covers.
	 */
	if (memcmp(&got, &want, sizeof(got)) == 0)
		return 1;
	if (net_ip_loopback(&want))
		return net_ip_loopback(&got);
	if (IN6_IS_ADDR_UNSPECIFIED(&want))
		return 1;
	return memcmp(&want, any4, sizeof(any4)) == 0 && IN6_IS_ADDR_V4MAPPED(&got);
}

int
admin_origin_allowed(const struct net_addr *listen, const char *origin, size_t len)
{
	return len > 7 && strncasecmp(origin, "http://", 7) == 0 &&
	    admin_host_allowed(listen, origin + 7, len - 7);
}

int
admin_token_matches(const char *token, const char *authz, size_t len)
{
	size_t tlen = strlen(token), i;
	unsigned char diff;

	if (len < 7 || strncasecmp(authz, "Bearer ", 7) != 0)
		return 0;
	for (i = 6; i < len && authz[i] == ' '; i++)
		;
	authz += i;
	len -= i;
	/* Every byte of the token is looked at, whatever matched before. */
	diff = len != tlen;
	for (i = 0; i < tlen; i++)
		diff |= (unsigned char)token[i] ^ (unsigned char)(i < len ? authz[i] : 0);
	return diff == 0;
}

/* The first field of m named name, or NULL. */
static const struct http_header *
admin_header(const struct http_msg *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->nheaders; i++)
		if (http_str_eq(m->headers[i].name, name))
			return &m->headers[i];
	return NULL;
}

/*
 * Why a request may not go on: 403 for a Host or Origin that is not this
 * listener (a page in a browser on this machine, DNS rebinding), 401 without
 * the token where it is required (every POST, every request beyond loopback),
 * or 0.
 */
static int
admin_refuse(struct admin_conn *ac, const struct http_msg *m, int post)
{
	const struct conf *c = ac->a->conf;
	const struct http_header *h;
	size_t i;

	if (!admin_host_allowed(&c->admin_listen, m->host.p, m->host.len)) {
		admin_text(ac, 403, "", "Host must name the admin listener (%s)\n", c->admin_name);
		return 403;
	}
	for (i = 0; i < m->nheaders; i++) {
		h = &m->headers[i];
		if (http_str_eq(h->name, "Origin") &&
		    !admin_origin_allowed(&c->admin_listen, h->value.p, h->value.len)) {
			admin_text(ac, 403, "", "cross-origin requests are refused\n");
			return 403;
		}
	}
	if (!post && admin_addr_loopback(&c->admin_listen))
		return 0;
	if (c->admin_token == NULL) {
		admin_text(ac, 403, "", "set admin.token or admin.tokenFile to change anything\n");
		return 403;
	}
	if ((h = admin_header(m, "Authorization")) == NULL ||
	    !admin_token_matches(c->admin_token, h->value.p, h->value.len)) {
		log_warnx("admin: request without the right token refused");
		admin_text(ac, 401, "WWW-Authenticate: Bearer realm=\"rondo\"\r\n",
		    "an Authorization: Bearer header with the admin token is required\n");
		return 401;
	}
	return 0;
}

/* --- routes ----------------------------------------------------------------------------- */

/*
 * POST /backends/<id>/weight, body {"weight": N} (1..CONF_WEIGHT_MAX): the
 * backend's weight from now on, for the policies that weigh backends and
 * keep no table by weight (not hash, whose keys it would move). It stays
 * over reloads unless the configuration changes that backend's weight.
 */
static void
admin_weight(struct admin_conn *ac, const struct http_msg *m, int b)
{
	struct admin *a = ac->a;
	const struct lb_policy *pol = a->conf->policy;
	struct json_tokener *tok;
	struct json_object *o = NULL, *w;
	int64_t n = 0;
	int ok = 0;

	if (pol == NULL || !(pol->flags & LB_WEIGHTED) || (pol->flags & LB_NEEDS_KEY)) {
		admin_text(ac, 409, "", "weights mean nothing to algorithm %s here\n",
		    a->conf->algorithm);
		return;
	}
	if (m->body == HTTP_BODY_LENGTH && (tok = json_tokener_new()) != NULL) {
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		o = json_tokener_parse_ex(tok, ac->in + m->head_len, (int)m->content_length);
		ok = o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
		    json_object_is_type(o, json_type_object) && json_object_object_length(o) == 1 &&
		    json_object_object_get_ex(o, "weight", &w) &&
		    json_object_is_type(w, json_type_int) &&
		    (n = json_object_get_int64(w)) >= 1 && n <= CONF_WEIGHT_MAX;
		json_tokener_free(tok);
	}
	json_object_put(o);
	if (!ok) {
		admin_text(ac, 400, "", "expected {\"weight\": N}, N from 1 to %d\n", CONF_WEIGHT_MAX);
		return;
	}
	shm_backend_set_weight(a->seg, (unsigned)b, (unsigned)n);
	balance_backend_changed(a->lb, a->seg, b);
	log_info("admin: backend %s weight set to %lld", a->conf->backends[b].url, (long long)n);
	admin_text(ac, 200, "", "%s weight %lld\n", admin_backend_name(a->conf, (size_t)b),
	    (long long)n);
}

/*
 * POST /instance/drain, /instance/ready: the monitor path answers 503 (or no
 * longer does) while requests are served as before, so that the balancer
 * in front takes this instance out (or back) without a stop.
 */
static void
admin_instance(struct admin_conn *ac, const char *action, size_t len)
{
	struct admin *a = ac->a;
	int drain;

	if (len == 5 && memcmp(action, "drain", 5) == 0)
		drain = 1;
	else if (len == 5 && memcmp(action, "ready", 5) == 0)
		drain = 0;
	else {
		admin_text(ac, 404, "", "actions: drain, ready\n");
		return;
	}
	shm_monitor_set(a->seg, SHM_MONITOR_DRAIN, drain);
	log_info("admin: instance set to %s", drain ? "drain" : "ready");
	admin_text(ac, 200, "", "instance %s%s\n", drain ? "drain" : "ready",
	    a->conf->monitor_path[0] == '\0' ? " (no monitor path is configured)" : "");
}

static void
admin_route(struct admin_conn *ac, const struct http_msg *m)
{
	struct admin *a = ac->a;
	static const char prefix[] = "/backends/", iprefix[] = "/instance/";
	const char *t = m->target.p, *slash = NULL;
	size_t tl = m->target.len, plen = sizeof(prefix) - 1;
	int is_post = http_method_is(m->method, "POST"), get_path, post_path;
	char *buf;
	size_t n;
	int b, drain, inst_path;

	get_path = (tl == 7 && memcmp(t, "/status", 7) == 0) ||
	    (tl == 8 && memcmp(t, "/metrics", 8) == 0);
	inst_path = tl > sizeof(iprefix) - 1 && memcmp(t, iprefix, sizeof(iprefix) - 1) == 0;
	post_path = inst_path || (tl > plen && memcmp(t, prefix, plen) == 0 &&
	    (slash = memchr(t + plen, '/', tl - plen)) != NULL);
	if (!get_path && !post_path) {
		if (admin_refuse(ac, m, is_post) == 0)
			admin_text(ac, 404, "", "endpoints: GET /status, GET /metrics, "
			    "POST /backends/<host:port>/drain, POST /backends/<host:port>/ready, "
			    "POST /backends/<host:port>/weight, "
			    "POST /instance/drain, POST /instance/ready\n");
		return;
	}
	if (get_path && !http_method_is(m->method, "GET")) {
		if (admin_refuse(ac, m, is_post) == 0)
			admin_text(ac, 405, "Allow: GET\r\n", "use GET\n");
		return;
	}
	if (post_path && !is_post) {
		if (admin_refuse(ac, m, 0) == 0)
			admin_text(ac, 405, "Allow: POST\r\n", "use POST\n");
		return;
	}
	if (admin_refuse(ac, m, is_post) != 0)
		return;
	if (get_path) {
		if ((buf = malloc(ADMIN_OUT_MAX)) == NULL) {
			admin_conn_close(ac);
			return;
		}
		struct stats_info in = { a->generation, a->started, ev_time(), a->reload_ok,
		    a->reload_time };

		if (tl == 7)
			n = stats_status_json(a->conf, a->seg, &in, buf, ADMIN_OUT_MAX);
		else
			n = stats_metrics(a->conf, a->seg, &in, buf, ADMIN_OUT_MAX);
		admin_reply(ac, 200, "", tl == 7 ? "application/json" :
		    "text/plain; version=0.0.4", buf, n);
		free(buf);
		return;
	}
	if (inst_path) {
		admin_instance(ac, t + sizeof(iprefix) - 1, tl - (sizeof(iprefix) - 1));
		return;
	}
	b = admin_find_backend(a, t + plen, (size_t)(slash - (t + plen)));
	if (b == -1) {
		admin_text(ac, 404, "", "no such backend\n");
		return;
	}
	n = tl - (size_t)(slash + 1 - t);
	if (n == 6 && memcmp(slash + 1, "weight", 6) == 0) {
		admin_weight(ac, m, b);
		return;
	}
	if (n == 5 && memcmp(slash + 1, "drain", 5) == 0)
		drain = 1;
	else if (n == 5 && memcmp(slash + 1, "ready", 5) == 0)
		drain = 0;
	else {
		admin_text(ac, 404, "", "actions: drain, ready, weight\n");
		return;
	}
	/* Back from a drain: its slow start begins (slowStart). */
	if (atomic_exchange(&a->seg->backends[b].drain, (uint32_t)drain) != 0 && !drain)
		shm_backend_ramp_from_now(a->seg, (unsigned)b);
	balance_backend_changed(a->lb, a->seg, b);
	log_info("admin: backend %s set to %s", a->conf->backends[b].url,
	    drain ? "drain" : "ready");
	admin_text(ac, 200, "", "%s %s\n", admin_backend_name(a->conf, (size_t)b),
	    drain ? "drain" : "ready");
}

static void
admin_conn_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin_conn *ac = w->data;
	struct http_msg *m;
	ssize_t n;
	int r;

	if (ac->out != NULL) {
		n = write(ac->fd, ac->out + ac->outoff, ac->outlen - ac->outoff);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0 || (ac->outoff += (size_t)n) == ac->outlen)
			admin_conn_close(ac);
		return;
	}
	n = read(ac->fd, ac->in + ac->inlen, sizeof(ac->in) - ac->inlen);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		admin_conn_close(ac);
		return;
	}
	ac->inlen += (size_t)n;
	if ((m = malloc(sizeof(*m))) == NULL) {
		admin_conn_close(ac);
		return;
	}
	r = http_parse_request(m, ac->in, ac->inlen, sizeof(ac->in));
	/* A body (POST .../weight) is read whole before the route runs. */
	if (r == HTTP_OK && m->body == HTTP_BODY_LENGTH &&
	    ac->inlen - m->head_len < m->content_length) {
		if (m->content_length > sizeof(ac->in) - m->head_len)
			admin_text(ac, 413, "", "request body too large\n");
		free(m);
		return;
	}
	if (r == HTTP_OK && m->body == HTTP_BODY_CHUNKED)
		admin_text(ac, 411, "", "send the body with a Content-Length\n");
	else if (r == HTTP_OK)
		admin_route(ac, m);
	else if (r != HTTP_AGAIN)
		admin_text(ac, http_status_code(r), "", "bad request\n");
	free(m);
}

static void
admin_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	admin_conn_close(w->data);
}

static void
admin_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct admin *a = w->data;
	struct admin_conn *ac;
	int fd;

	while ((fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1 ||
	    errno == EINTR || errno == ECONNABORTED) {
		if (fd == -1)
			continue;
		if ((ac = calloc(1, sizeof(*ac))) == NULL) {
			close(fd);
			continue;
		}
		ac->a = a;
		ac->fd = fd;
		ev_io_init(&ac->io, admin_conn_cb, fd, EV_READ);
		ac->io.data = ac;
		ev_timer_init(&ac->timer, admin_timeout_cb, ADMIN_TIMEOUT, 0.);
		ac->timer.data = ac;
		ev_io_start(loop, &ac->io);
		ev_timer_start(loop, &ac->timer);
		ac->next = a->conns;
		a->conns = ac;
	}
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		/* The socket stays readable: look again in a second, not in a busy loop. */
		log_warn("admin: accept");
		ev_io_stop(loop, &a->accept_w);
		ev_timer_start(loop, &a->pause_w);
	}
}

static void
admin_pause_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct admin *a = w->data;

	ev_io_start(loop, &a->accept_w);
}

struct admin *
admin_new(struct ev_loop *loop, const struct net_addr *addr, char *err, size_t errlen)
{
	struct admin *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((a->fd = net_listen(addr, 64, err, errlen)) == -1) {
		free(a);
		return NULL;
	}
	a->loop = loop;
	a->started = ev_time();
	ev_io_init(&a->accept_w, admin_accept_cb, a->fd, EV_READ);
	a->accept_w.data = a;
	ev_io_start(loop, &a->accept_w);
	ev_timer_init(&a->pause_w, admin_pause_cb, 1., 0.);
	a->pause_w.data = a;
	return a;
}

void
admin_set_target(struct admin *a, const struct conf *c, struct shm_seg *seg, const struct lb *lb,
    unsigned generation)
{
	a->conf = c;
	a->seg = seg;
	a->lb = lb;
	a->generation = generation;
	a->reload_ok = 1;
	a->reload_time = ev_time();
}

void
admin_reload_started(struct admin *a)
{
	if (a != NULL)
		a->reload_ok = 0;
}

void
admin_close_fds(struct admin *a)
{
	struct admin_conn *ac;

	if (a == NULL)
		return;
	close(a->fd);
	for (ac = a->conns; ac != NULL; ac = ac->next)
		close(ac->fd);
}

void
admin_free(struct admin *a)
{
	if (a == NULL)
		return;
	while (a->conns != NULL)
		admin_conn_close(a->conns);
	ev_io_stop(a->loop, &a->accept_w);
	ev_timer_stop(a->loop, &a->pause_w);
	close(a->fd);
	free(a);
}
