/* Counters: carried over reloads and printed as /status and /metrics; see stats.h. */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "pool.h"
#include "queue.h"
#include "shm.h"
#include "stats.h"

const char *const stats_class_names[STATS_NCLASSES] = { NULL, "1xx", "2xx", "3xx", "4xx", "5xx" };

static unsigned
stats_class(int status)
{
	return status >= 100 && status < 600 ? (unsigned)status / 100 : 0;
}

void
stats_local_response(struct shm_worker *w, int status)
{
	shm_counter_add(&w->local_responses[stats_class(status)], 1);
}

void
stats_health_probe(struct shm_backend *b, int ok, double seconds)
{
	uint64_t us = seconds > 0 ? (uint64_t)(seconds * 1e6) : 0;

	atomic_store_explicit(&b->last_check_us, us, memory_order_relaxed);
	shm_counter_add(&b->checks, 1);
	shm_counter_add(&b->check_time_us, us);
	if (!ok)
		shm_counter_add(&b->check_failures, 1);
}

/* Loads a counter of the segment; they only ever grow. */
static uint64_t
stats_load(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void
stats_carry_backend(struct shm_backend *n, const struct shm_backend *o)
{
	unsigned k;

#define STATS_CARRY(f, ...)	atomic_store(&n->f, stats_load(&o->f));
#define STATS_CARRY_CLASSES(f, ...)					\
	for (k = 0; k < STATS_NCLASSES; k++)				\
		atomic_store(&n->f[k], stats_load(&o->f[k]));
	STATS_BACKEND_COUNTERS(STATS_CARRY)
	STATS_BACKEND_CLASSES(STATS_CARRY_CLASSES)
#undef STATS_CARRY
#undef STATS_CARRY_CLASSES
	/* The response time histogram is one more set of counters. */
	for (k = 0; k < SHM_LATENCY_BUCKETS; k++)
		atomic_store(&n->latency[k], stats_load(&o->latency[k]));
	atomic_store(&n->latency_sum_us, stats_load(&o->latency_sum_us));
}

unsigned long long
stats_worker_total(const struct shm_seg *seg, size_t off)
{
	unsigned long long sum;
	uint32_t i;

#define STATS_AT(w)	((const _Atomic uint64_t *)(const void *)((const char *)(w) + off))
	sum = stats_load(STATS_AT(&seg->base));
	for (i = 0; i < SHM_MAX_WORKERS; i++)
		sum += stats_load(STATS_AT(&seg->workers[i]));
#undef STATS_AT
	return sum;
}

void
stats_carry(struct shm_seg *seg, const struct shm_seg *old)
{
	uint32_t i, j;
	unsigned k;

	for (i = 0; i < seg->nbackends; i++) {
		for (j = 0; j < old->nbackends; j++) {
			if (strcmp(seg->backends[i].name, old->backends[j].name) == 0) {
				stats_carry_backend(&seg->backends[i], &old->backends[j]);
				break;
			}
		}
	}
	/*
	 * Worker totals: every slot of the old segment (a slot past today's
	 * worker count may still hold a count) into the base. What the old
	 * workers count while they drain stays in the old segment.
	 */
#define STATS_CARRY(f, ...)						\
	atomic_store(&seg->base.f, stats_worker_total(old, offsetof(struct shm_worker, f)));
#define STATS_CARRY_CLASSES(f, ...)					\
	for (k = 0; k < STATS_NCLASSES; k++)				\
		atomic_store(&seg->base.f[k], stats_worker_total(old,	\
		    offsetof(struct shm_worker, f) + k * sizeof(uint64_t)));
	STATS_WORKER_COUNTERS(STATS_CARRY)
	STATS_WORKER_TLS(STATS_CARRY)
	STATS_WORKER_QUEUE(STATS_CARRY)
	STATS_WORKER_CLASSES(STATS_CARRY_CLASSES)
#undef STATS_CARRY
#undef STATS_CARRY_CLASSES
}

/* --- documents ---------------------------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	const char *family;		/* the last metric family announced (/metrics) */
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

/* {"1xx": n, ..., "5xx": n} */
static void
out_classes(struct out *o, const unsigned long long v[STATS_NCLASSES])
{
	unsigned k;

	out_printf(o, "{");
	for (k = 1; k < STATS_NCLASSES; k++)
		out_printf(o, "%s\"%s\":%llu", k > 1 ? "," : "", stats_class_names[k], v[k]);
	out_printf(o, "}");
}

/* The class counters at c[0..STATS_NCLASSES), loaded. */
static void
stats_classes_load(const _Atomic uint64_t *c, unsigned long long v[STATS_NCLASSES])
{
	unsigned k;

	for (k = 0; k < STATS_NCLASSES; k++)
		v[k] = stats_load(&c[k]);
}

/* The worker class counters at offset off, summed like stats_worker_total. */
static void
stats_classes_total(const struct shm_seg *seg, size_t off, unsigned long long v[STATS_NCLASSES])
{
	unsigned k;

	for (k = 0; k < STATS_NCLASSES; k++)
		v[k] = stats_worker_total(seg, off + k * sizeof(uint64_t));
}

/* The part of its weight backend i has now (slowStart, for the policies that ramp). */
static unsigned
stats_ramp(const struct conf *c, const struct shm_seg *seg, unsigned i)
{
	if (c->policy == NULL || !(c->policy->flags & LB_RAMPS))
		return SHM_RAMP_ONE;
	return shm_backend_ramp(seg, i, c->slow_start_ms, shm_now_ms());
}

static double
stats_effective_weight(const struct conf *c, const struct shm_seg *seg, unsigned i)
{
	return (double)shm_backend_weight(seg, i) * stats_ramp(c, seg, i) / SHM_RAMP_ONE;
}

size_t
stats_status_json(const struct conf *c, const struct shm_seg *seg, const struct stats_info *in,
    char *buf, size_t buflen)
{
	struct out o = { buf, 0, buflen, NULL };
	unsigned long long v[STATS_NCLASSES];
	uint32_t i;

	if (buflen == 0)
		return 0;
	buf[0] = '\0';
	out_printf(&o, "{\"version\":\"%s\",\"uptime_seconds\":%.0f,\"generation\":%u,"
	    "\"last_reload_successful\":%s,\"listen\":", PACKAGE_VERSION, in->now - in->started,
	    in->generation, in->reload_ok ? "true" : "false");
	out_quoted(&o, c->listen_name);
	out_printf(&o, ",\"queue_length\":%u", queue_length(seg));
#define STATS_JSON(f, metric, scale, help, col)					\
	out_printf(&o, ",\"" #f "\":%llu", stats_worker_total(seg, offsetof(struct shm_worker, f)));
#define STATS_JSON_CLASSES(f, ...)						\
	stats_classes_total(seg, offsetof(struct shm_worker, f), v);		\
	out_printf(&o, ",\"" #f "\":");						\
	out_classes(&o, v);
	STATS_WORKER_COUNTERS(STATS_JSON)
	STATS_WORKER_TLS(STATS_JSON)
	STATS_WORKER_QUEUE(STATS_JSON)
	STATS_WORKER_CLASSES(STATS_JSON_CLASSES)
#undef STATS_JSON
#undef STATS_JSON_CLASSES
	out_printf(&o, ",\"backends\":[");
	for (i = 0; i < seg->nbackends; i++) {
		const struct shm_backend *b = &seg->backends[i];

		out_printf(&o, "%s{\"name\":", i ? "," : "");
		out_quoted(&o, c->backends[i].hostport);
		out_printf(&o, ",\"url\":");
		out_quoted(&o, b->name);
		out_printf(&o, ",\"health\":\"%s\",\"state\":\"%s\",\"checked\":%s,"
		    "\"active\":%lld,\"last_check_ms\":%.3f",
		    shm_backend_up(seg, i) ? "up" : "down",
		    atomic_load(&b->drain) ? "drain" : "ready",
		    atomic_load(&b->checked) ? "true" : "false",
		    (long long)atomic_load(&b->active),
		    (double)atomic_load(&b->last_check_us) / 1000.);
		out_printf(&o, ",\"weight\":%u", shm_backend_weight(seg, i));
		if (stats_ramp(c, seg, i) < SHM_RAMP_ONE)
			out_printf(&o, ",\"effectiveWeight\":%.3f", stats_effective_weight(c, seg, i));
#define STATS_JSON(f, ...)	out_printf(&o, ",\"" #f "\":%llu", (unsigned long long)stats_load(&b->f));
#define STATS_JSON_CLASSES(f, ...)						\
	stats_classes_load(b->f, v);						\
	out_printf(&o, ",\"" #f "\":");						\
	out_classes(&o, v);
		STATS_BACKEND_COUNTERS(STATS_JSON)
		STATS_BACKEND_CLASSES(STATS_JSON_CLASSES)
#undef STATS_JSON
#undef STATS_JSON_CLASSES
		out_printf(&o, "}");
	}
	out_printf(&o, "],\"workers\":[");
	for (i = 0; i < seg->nworkers; i++) {
		const struct shm_worker *w = &seg->workers[i];

		out_printf(&o, "%s{\"id\":%u,\"connections\":%u", i ? "," : "", i + 1,
		    atomic_load(&w->sessions));
#define STATS_JSON(f, ...)	out_printf(&o, ",\"" #f "\":%llu", (unsigned long long)stats_load(&w->f));
#define STATS_JSON_CLASSES(f, ...)						\
	stats_classes_load(w->f, v);						\
	out_printf(&o, ",\"" #f "\":");						\
	out_classes(&o, v);
		STATS_WORKER_COUNTERS(STATS_JSON)
		STATS_WORKER_TLS(STATS_JSON)
		STATS_WORKER_QUEUE(STATS_JSON)
		STATS_WORKER_CLASSES(STATS_JSON_CLASSES)
#undef STATS_JSON
#undef STATS_JSON_CLASSES
		out_printf(&o, "}");
	}
	out_printf(&o, "]}\n");
	return o.len;
}

/*
 * Announces the family of metric name (what precedes any "{labels}"), once:
 * several entries of a list may be one family told apart by their labels.
 */
static void
out_family(struct out *o, const char *name, const char *type, const char *help)
{
	size_t n = strcspn(name, "{");

	if (o->family != NULL && strncmp(o->family, name, n) == 0 &&
	    (o->family[n] == '\0' || o->family[n] == '{'))
		return;
	o->family = name;
	out_printf(o, "# HELP %.*s %s\n# TYPE %.*s %s\n", (int)n, name, help, (int)n, name, type);
}

/* One sample "name{backend="url"[,code="2xx"]} value" per backend. */
static void
out_backend(struct out *o, const char *name, const struct shm_backend *b, const char *code)
{
	out_printf(o, "%s{backend=", name);
	out_quoted(o, b->name);
	if (code != NULL)
		out_printf(o, ",code=\"%s\"", code);
	out_printf(o, "} ");
}

size_t
stats_metrics(const struct conf *c, const struct shm_seg *seg, const struct stats_info *in,
    char *buf, size_t buflen)
{
	struct out o = { buf, 0, buflen, NULL };
	uint32_t i, k;

	(void)c;
	if (buflen == 0)
		return 0;
	buf[0] = '\0';
	out_family(&o, "rondo_build_info", "gauge", "Always 1; the version of rondo in its label.");
	out_printf(&o, "rondo_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
	out_family(&o, "process_start_time_seconds", "gauge",
	    "When the master process started, in seconds since the epoch.");
	out_printf(&o, "process_start_time_seconds %.3f\n", in->started);
	out_family(&o, "rondo_config_generation", "gauge",
	    "Generation of the running configuration: 1 at start, one more per successful reload.");
	out_printf(&o, "rondo_config_generation %u\n", in->generation);
	out_family(&o, "rondo_config_last_reload_successful", "gauge",
	    "1 when the last reload (or the start) succeeded, 0 when it failed.");
	out_printf(&o, "rondo_config_last_reload_successful %d\n", in->reload_ok ? 1 : 0);
	out_family(&o, "rondo_config_last_reload_success_timestamp_seconds", "gauge",
	    "When the running configuration was loaded, in seconds since the epoch.");
	out_printf(&o, "rondo_config_last_reload_success_timestamp_seconds %.3f\n", in->reload_time);

	out_family(&o, "rondo_backend_up", "gauge", "1 when the backend passes its health checks.");
	for (i = 0; i < seg->nbackends; i++) {
		out_backend(&o, "rondo_backend_up", &seg->backends[i], NULL);
		out_printf(&o, "%d\n", shm_backend_up(seg, i));
	}
	out_family(&o, "rondo_backend_drained", "gauge",
	    "1 when the backend was set to drain through the admin interface.");
	for (i = 0; i < seg->nbackends; i++) {
		out_backend(&o, "rondo_backend_drained", &seg->backends[i], NULL);
		out_printf(&o, "%u\n", atomic_load(&seg->backends[i].drain) ? 1u : 0u);
	}
	out_family(&o, "rondo_backend_requests_in_flight", "gauge",
	    "Requests sent to the backend and not answered yet, all workers.");
	for (i = 0; i < seg->nbackends; i++) {
		out_backend(&o, "rondo_backend_requests_in_flight", &seg->backends[i], NULL);
		out_printf(&o, "%lld\n", (long long)atomic_load(&seg->backends[i].active));
	}
	out_family(&o, "rondo_backend_weight", "gauge",
	    "The backend's weight: configured, or set through the admin interface.");
	for (i = 0; i < seg->nbackends; i++) {
		out_backend(&o, "rondo_backend_weight", &seg->backends[i], NULL);
		out_printf(&o, "%u\n", shm_backend_weight(seg, i));
	}
	out_family(&o, "rondo_backend_effective_weight", "gauge",
	    "The weight the backend has now: less while its slow start ramps.");
	for (i = 0; i < seg->nbackends; i++) {
		out_backend(&o, "rondo_backend_effective_weight", &seg->backends[i], NULL);
		out_printf(&o, "%.3f\n", stats_effective_weight(c, seg, i));
	}
	out_family(&o, "rondo_backend_health_check_last_seconds", "gauge",
	    "How long the last health check probe of the backend took.");
	for (i = 0; i < seg->nbackends; i++) {
		out_backend(&o, "rondo_backend_health_check_last_seconds", &seg->backends[i], NULL);
		out_printf(&o, "%.6f\n", (double)atomic_load(&seg->backends[i].last_check_us) / 1e6);
	}
#define STATS_METRIC(f, metric, scale, help, col)				\
	out_family(&o, metric, "counter", help);				\
	for (i = 0; i < seg->nbackends; i++) {					\
		out_backend(&o, metric, &seg->backends[i], NULL);		\
		if ((scale) == 1)						\
			out_printf(&o, "%llu\n",				\
			    (unsigned long long)stats_load(&seg->backends[i].f));	\
		else								\
			out_printf(&o, "%.6f\n",				\
			    (double)stats_load(&seg->backends[i].f) / (scale));	\
	}
#define STATS_METRIC_CLASSES(f, metric, help)					\
	out_family(&o, metric, "counter", help);				\
	for (i = 0; i < seg->nbackends; i++) {					\
		for (k = 1; k < STATS_NCLASSES; k++) {				\
			out_backend(&o, metric, &seg->backends[i], stats_class_names[k]); \
			out_printf(&o, "%llu\n",				\
			    (unsigned long long)stats_load(&seg->backends[i].f[k]));	\
		}								\
	}
	STATS_BACKEND_COUNTERS(STATS_METRIC)
	STATS_BACKEND_CLASSES(STATS_METRIC_CLASSES)
#undef STATS_METRIC
#undef STATS_METRIC_CLASSES
	out_family(&o, "rondo_backend_response_seconds", "histogram",
	    "Time from the choice of the backend to its response head.");
	for (i = 0; i < seg->nbackends; i++) {
		const struct shm_backend *b = &seg->backends[i];
		uint64_t cum = 0;

		for (k = 0; k < SHM_LATENCY_BUCKETS; k++) {
			cum += stats_load(&b->latency[k]);
			out_printf(&o, "rondo_backend_response_seconds_bucket{backend=");
			out_quoted(&o, b->name);
			if (k == SHM_LATENCY_BUCKETS - 1)
				out_printf(&o, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
			else
				out_printf(&o, ",le=\"%g\"} %llu\n", shm_latency_bounds_ms[k] / 1000.,
				    (unsigned long long)cum);
		}
		out_backend(&o, "rondo_backend_response_seconds_sum", b, NULL);
		out_printf(&o, "%.6f\n", (double)stats_load(&b->latency_sum_us) / 1e6);
		out_backend(&o, "rondo_backend_response_seconds_count", b, NULL);
		out_printf(&o, "%llu\n", (unsigned long long)cum);
	}

	out_family(&o, "rondo_client_connections_open", "gauge",
	    "Client connections open in each worker.");
	for (i = 0; i < seg->nworkers; i++)
		out_printf(&o, "rondo_client_connections_open{worker=\"%u\"} %u\n", i + 1,
		    atomic_load(&seg->workers[i].sessions));
	out_family(&o, "rondo_queue_length", "gauge",
	    "Requests waiting in the queue for a backend, all workers.");
	out_printf(&o, "rondo_queue_length %u\n", queue_length(seg));
#define STATS_METRIC(f, metric, scale, help, col)				\
	out_family(&o, metric, "counter", help);				\
	if ((scale) == 1)							\
		out_printf(&o, metric " %llu\n",				\
		    stats_worker_total(seg, offsetof(struct shm_worker, f)));	\
	else									\
		out_printf(&o, metric " %.6f\n", (double)stats_worker_total(seg,	\
		    offsetof(struct shm_worker, f)) / (scale));
#define STATS_METRIC_CLASSES(f, metric, help)					\
	out_family(&o, metric, "counter", help);				\
	for (k = 1; k < STATS_NCLASSES; k++)					\
		out_printf(&o, metric "{code=\"%s\"} %llu\n", stats_class_names[k],	\
		    stats_worker_total(seg, offsetof(struct shm_worker, f) +	\
		    k * sizeof(uint64_t)));
	STATS_WORKER_COUNTERS(STATS_METRIC)
	STATS_WORKER_TLS(STATS_METRIC)
	STATS_WORKER_QUEUE(STATS_METRIC)
	STATS_WORKER_CLASSES(STATS_METRIC_CLASSES)
#undef STATS_METRIC
#undef STATS_METRIC_CLASSES
	return o.len;
}
