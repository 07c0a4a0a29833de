/* The admin listener: status, metrics and drain, in the master; see admin.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "admin.h"
#include "conf.h"
#include "http.h"
#include "log.h"
#include "net.h"
#include "shm.h"

#define ADMIN_REQ_MAX	8192	/* an admin request head; no bodies are read */
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
	unsigned generation;
	double started;
	struct admin_conn *conns;
};

/* --- documents ---------------------------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len >= o->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = (size_t)n < o->cap - o->len ? o->len + (size_t)n : o->cap - 1;
}

/* Backend names are URLs as written in the config: escape for JSON and label values alike. */
static void
out_quoted(struct out *o, const char *s)
{
	out_printf(o, "\"");
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			out_printf(o, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			out_printf(o, "\\u%04x", (unsigned char)*s);
		else
			out_printf(o, "%c", *s);
	}
	out_printf(o, "\"");
}

static const char *
admin_backend_name(const struct conf *c, size_t i)
{
	return c->backends[i].hostport;
}

size_t
admin_status_json(const struct conf *c, const struct shm_seg *seg, unsigned generation,
    double started, double now, char *buf, size_t buflen)
{
	struct out o = { buf, 0, buflen };
	uint32_t i;

	if (buflen == 0)
		return 0;
	buf[0] = '\0';
	out_printf(&o, "{\"version\":\"%s\",\"uptime_seconds\":%.0f,\"generation\":%u,"
	    "\"listen\":", PACKAGE_VERSION, now - started, generation);
	out_quoted(&o, c->listen_name);
	out_printf(&o, ",\"backends\":[");
	for (i = 0; i < seg->nbackends; i++) {
		const struct shm_backend *b = &seg->backends[i];

		out_printf(&o, "%s{\"name\":", i ? "," : "");
		out_quoted(&o, admin_backend_name(c, i));
		out_printf(&o, ",\"url\":");
		out_quoted(&o, b->name);
		out_printf(&o, ",\"health\":\"%s\",\"state\":\"%s\",\"checked\":%s,"
		    "\"active\":%lld,\"requests\":%llu,\"failures\":%llu,\"checks\":%llu,"
		    "\"last_check_ms\":%.3f,\"responses\":{\"1xx\":%llu,\"2xx\":%llu,\"3xx\":%llu,"
		    "\"4xx\":%llu,\"5xx\":%llu}}",
		    shm_backend_up(seg, i) ? "up" : "down",
		    atomic_load(&b->drain) ? "drain" : "ready",
		    atomic_load(&b->checked) ? "true" : "false",
		    (long long)atomic_load(&b->active),
		    (unsigned long long)atomic_load(&b->requests),
		    (unsigned long long)atomic_load(&b->failures),
		    (unsigned long long)atomic_load(&b->checks),
		    (double)atomic_load(&b->last_check_us) / 1000.,
		    (unsigned long long)atomic_load(&b->responses[1]),
		    (unsigned long long)atomic_load(&b->responses[2]),
		    (unsigned long long)atomic_load(&b->responses[3]),
		    (unsigned long long)atomic_load(&b->responses[4]),
		    (unsigned long long)atomic_load(&b->responses[5]));
	}
	out_printf(&o, "],\"workers\":[");
	for (i = 0; i < seg->nworkers; i++) {
		const struct shm_worker *w = &seg->workers[i];

		out_printf(&o, "%s{\"id\":%u,\"connections\":%u,\"accepted\":%llu,\"requests\":%llu}",
		    i ? "," : "", i + 1, atomic_load(&w->sessions),
		    (unsigned long long)atomic_load(&w->accepted),
		    (unsigned long long)atomic_load(&w->requests));
	}
	out_printf(&o, "]}\n");
	return o.len;
}

size_t
admin_metrics(const struct conf *c, const struct shm_seg *seg, double started, double now,
    char *buf, size_t buflen)
{
	static const char *const codes[] = { "none", "1xx", "2xx", "3xx", "4xx", "5xx" };
	struct out o = { buf, 0, buflen };
	uint32_t i, k;

	if (buflen == 0)
		return 0;
	buf[0] = '\0';
	out_printf(&o, "# HELP rondo_uptime_seconds Seconds since the master started.\n"
	    "# TYPE rondo_uptime_seconds gauge\nrondo_uptime_seconds %.0f\n", now - started);
	out_printf(&o, "# HELP rondo_backend_up 1 when the backend passes its health checks.\n"
	    "# TYPE rondo_backend_up gauge\n");
	for (i = 0; i < seg->nbackends; i++) {
		out_printf(&o, "rondo_backend_up{backend=");
		out_quoted(&o, seg->backends[i].name);
		out_printf(&o, "} %d\n", shm_backend_up(seg, i));
	}
	out_printf(&o, "# HELP rondo_backend_active Requests in flight to the backend.\n"
	    "# TYPE rondo_backend_active gauge\n");
	for (i = 0; i < seg->nbackends; i++) {
		out_printf(&o, "rondo_backend_active{backend=");
		out_quoted(&o, seg->backends[i].name);
		out_printf(&o, "} %lld\n", (long long)atomic_load(&seg->backends[i].active));
	}
	out_printf(&o, "# HELP rondo_backend_failures_total Connect errors, resets and bad responses.\n"
	    "# TYPE rondo_backend_failures_total counter\n");
	for (i = 0; i < seg->nbackends; i++) {
		out_printf(&o, "rondo_backend_failures_total{backend=");
		out_quoted(&o, seg->backends[i].name);
		out_printf(&o, "} %llu\n", (unsigned long long)atomic_load(&seg->backends[i].failures));
	}
	out_printf(&o, "# HELP rondo_requests_total Responses from backends by status class.\n"
	    "# TYPE rondo_requests_total counter\n");
	for (i = 0; i < seg->nbackends; i++) {
		for (k = 1; k < 6; k++) {
			out_printf(&o, "rondo_requests_total{backend=");
			out_quoted(&o, seg->backends[i].name);
			out_printf(&o, ",code=\"%s\"} %llu\n", codes[k],
			    (unsigned long long)atomic_load(&seg->backends[i].responses[k]));
		}
	}
	out_printf(&o, "# HELP rondo_backend_response_seconds Time from the backend's choice to "
	    "its response head.\n# TYPE rondo_backend_response_seconds histogram\n");
	for (i = 0; i < seg->nbackends; i++) {
		const struct shm_backend *b = &seg->backends[i];
		uint64_t cum = 0;

		for (k = 0; k < SHM_LATENCY_BUCKETS; k++) {
			cum += atomic_load(&b->latency[k]);
			out_printf(&o, "rondo_backend_response_seconds_bucket{backend=");
			out_quoted(&o, b->name);
			if (k == SHM_LATENCY_BUCKETS - 1)
				out_printf(&o, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
			else
				out_printf(&o, ",le=\"%g\"} %llu\n", shm_latency_bounds_ms[k] / 1000.,
				    (unsigned long long)cum);
		}
		out_printf(&o, "rondo_backend_response_seconds_sum{backend=");
		out_quoted(&o, b->name);
		out_printf(&o, "} %.6f\n", (double)atomic_load(&b->latency_sum_us) / 1e6);
		out_printf(&o, "rondo_backend_response_seconds_count{backend=");
		out_quoted(&o, b->name);
		out_printf(&o, "} %llu\n", (unsigned long long)cum);
	}
	out_printf(&o, "# HELP rondo_worker_connections Client connections open in each worker.\n"
	    "# TYPE rondo_worker_connections gauge\n");
	for (i = 0; i < seg->nworkers; i++)
		out_printf(&o, "rondo_worker_connections{worker=\"%u\"} %u\n", i + 1,
		    atomic_load(&seg->workers[i].sessions));
	out_printf(&o, "# HELP rondo_connections_total Client connections accepted.\n"
	    "# TYPE rondo_connections_total counter\n");
	for (i = 0; i < seg->nworkers; i++)
		out_printf(&o, "rondo_connections_total{worker=\"%u\"} %llu\n", i + 1,
		    (unsigned long long)atomic_load(&seg->workers[i].accepted));
	return o.len;
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

static void
admin_reply(struct admin_conn *ac, int status, const char *type, const char *body, size_t len)
{
	char head[256];
	int n;

	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\nCache-Control: no-store\r\n\r\n",
	    status, http_reason(status), type, len);
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

static void
admin_text(struct admin_conn *ac, int status, const char *fmt, ...)
{
	char body[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	admin_reply(ac, status, "text/plain", body, (size_t)n < sizeof(body) ? (size_t)n :
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

static void
admin_route(struct admin_conn *ac, const struct http_msg *m)
{
	struct admin *a = ac->a;
	static const char prefix[] = "/backends/";
	const char *t = m->target.p, *slash;
	size_t tl = m->target.len, plen = sizeof(prefix) - 1;
	char *buf;
	size_t n;
	int b, drain;

	if (http_str_eq(m->method, "GET") &&
	    ((tl == 7 && memcmp(t, "/status", 7) == 0) || (tl == 8 && memcmp(t, "/metrics", 8) == 0))) {
		if ((buf = malloc(ADMIN_OUT_MAX)) == NULL) {
			admin_conn_close(ac);
			return;
		}
		if (tl == 7)
			n = admin_status_json(a->conf, a->seg, a->generation, a->started,
			    ev_time(), buf, ADMIN_OUT_MAX);
		else
			n = admin_metrics(a->conf, a->seg, a->started, ev_time(), buf, ADMIN_OUT_MAX);
		admin_reply(ac, 200, tl == 7 ? "application/json" :
		    "text/plain; version=0.0.4", buf, n);
		free(buf);
		return;
	}
	if (tl > plen && memcmp(t, prefix, plen) == 0 &&
	    (slash = memchr(t + plen, '/', tl - plen)) != NULL) {
		size_t action_len = tl - (size_t)(slash + 1 - t);

		if (!http_str_eq(m->method, "POST")) {
			admin_text(ac, 405, "use POST\n");
			return;
		}
		b = admin_find_backend(a, t + plen, (size_t)(slash - (t + plen)));
		if (b == -1) {
			admin_text(ac, 404, "no such backend\n");
			return;
		}
		if (action_len == 5 && memcmp(slash + 1, "drain", 5) == 0)
			drain = 1;
		else if (action_len == 5 && memcmp(slash + 1, "ready", 5) == 0)
			drain = 0;
		else {
			admin_text(ac, 404, "actions: drain, ready\n");
			return;
		}
		atomic_store(&a->seg->backends[b].drain, (uint32_t)drain);
		log_info("admin: backend %s set to %s", a->conf->backends[b].url,
		    drain ? "drain" : "ready");
		admin_text(ac, 200, "%s %s\n", admin_backend_name(a->conf, (size_t)b),
		    drain ? "drain" : "ready");
		return;
	}
	admin_text(ac, 404, "endpoints: GET /status, GET /metrics, "
	    "POST /backends/<host:port>/drain, POST /backends/<host:port>/ready\n");
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
	if (r == HTTP_OK)
		admin_route(ac, m);
	else if (r != HTTP_AGAIN)
		admin_text(ac, http_status_code(r), "bad request\n");
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
admin_set_target(struct admin *a, const struct conf *c, struct shm_seg *seg, unsigned generation)
{
	size_t i, j;

	/* A backend drained by hand stays drained over a reload. */
	if (a->seg != NULL && a->seg != seg) {
		for (i = 0; i < seg->nbackends; i++)
			for (j = 0; j < a->seg->nbackends; j++)
				if (strcmp(seg->backends[i].name, a->seg->backends[j].name) == 0)
					atomic_store(&seg->backends[i].drain,
					    atomic_load(&a->seg->backends[j].drain));
	}
	a->conf = c;
	a->seg = seg;
	a->generation = generation;
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
