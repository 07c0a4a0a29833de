/*
 * rondo's counters, listed once.
 *
 * Each list below is an X-macro: the shared segment declares its fields from
 * it (shm.h), the reload carries them (stats_carry), /status and /metrics
 * print them (stats_status_json, stats_metrics) and "rondo -s status" makes
 * its columns from it (ctl.c). A counter added to a list appears in all five.
 *
 * Scalar lists: X(field, metric, scale, help, column)
 *   field   the _Atomic uint64_t member, and its key in /status
 *   metric  its Prometheus name, with labels when several entries are one
 *           family (they then share one help text); the value printed is
 *           field / scale
 *   column  its heading in "rondo -s status"
 * Class lists: X(field, metric, help): an array of STATS_NCLASSES counters by
 *   status class ([1] 1xx .. [5] 5xx; [0] no status, never printed), printed
 *   as {"1xx": n, ...} in /status and with a code="1xx" label in /metrics.
 *
 * State that is not a counter (health, drain, requests in flight, open
 * connections) has its own fields in shm.h and is printed as is.
 */
#ifndef RONDO_STATS_H
#define RONDO_STATS_H

#include <stddef.h>

#define STATS_NCLASSES 6

/* Counters of each backend, written by the workers and the health child. */
#define STATS_BACKEND_COUNTERS(X)						\
	X(requests, "rondo_backend_requests_total", 1,				\
	    "Requests sent to the backend, each retry counted.", "REQUESTS")	\
	X(failures, "rondo_backend_failures_total", 1,				\
	    "Connect errors, resets, timeouts, malformed and 5xx responses.", "FAILURES") \
	X(checks, "rondo_backend_health_checks_total", 1,			\
	    "Health check probes done.", "CHECKS")				\
	X(check_failures, "rondo_backend_health_check_failures_total", 1,	\
	    "Health check probes that failed.", "CHK-FAIL")			\
	X(check_time_us, "rondo_backend_health_check_seconds_total", 1e6,	\
	    "Time spent in health check probes.", "CHK-US")

#define STATS_BACKEND_CLASSES(X)						\
	X(responses, "rondo_backend_responses_total",				\
	    "Responses from the backend, by status class.")

/* Counters of each worker slot: printed summed over the workers and the generations before. */
#define STATS_WORKER_COUNTERS(X)						\
	X(accepted, "rondo_client_connections_total", 1,			\
	    "Client connections accepted.", "ACCEPTED")				\
	X(requests, "rondo_proxied_requests_total", 1,				\
	    "Requests answered by a backend and relayed whole.", "REQUESTS")	\
	X(monitor_requests, "rondo_monitor_requests_total", 1,			\
	    "Requests to the monitor path, answered by rondo itself.", "MONITOR") \
	X(spliced_bytes, "rondo_spliced_bytes_total", 1,			\
	    "Body bytes relayed with splice(2), both ways (never copied through rondo).", "SPLICED")

/* Queue counters of each worker slot, as STATS_WORKER_COUNTERS ("rondo -s" shows them with a queue). */
#define STATS_WORKER_QUEUE(X)							\
	X(queued, "rondo_queued_requests_total", 1,				\
	    "Requests that waited in the queue for a backend.", "QUEUED")	\
	X(queue_time_us, "rondo_queue_wait_seconds_total", 1e6,			\
	    "Time requests spent in the queue.", "QUEUE-US")			\
	X(queue_rejected, "rondo_queue_rejected_total", 1,			\
	    "Requests refused with 503: the queue was full or they waited too long.", \
	    "Q-REJECT")

/* TLS counters of each worker slot, as STATS_WORKER_COUNTERS ("rondo -s" shows them with TLS on). */
#define STATS_WORKER_TLS(X)							\
	X(tls_handshakes, "rondo_tls_handshakes_total{listener=\"tls\"}", 1,	\
	    "TLS handshakes completed with clients.", "TLS")			\
	X(tls_resumed, "rondo_tls_resumed_handshakes_total{listener=\"tls\"}", 1, \
	    "TLS handshakes that resumed a session (a ticket).", "TLS-RESUMED")	\
	X(tls_fail_closed,							\
	    "rondo_tls_handshake_failures_total{listener=\"tls\",cause=\"closed\"}", 1, \
	    "TLS handshakes that failed, by cause.", "TLS-CLOSED")		\
	X(tls_fail_timeout,							\
	    "rondo_tls_handshake_failures_total{listener=\"tls\",cause=\"timeout\"}", 1, \
	    "TLS handshakes that failed, by cause.", "TLS-TIMEOUT")		\
	X(tls_fail_protocol,							\
	    "rondo_tls_handshake_failures_total{listener=\"tls\",cause=\"protocol\"}", 1, \
	    "TLS handshakes that failed, by cause.", "TLS-PROTO")		\
	X(tls_fail_certificate,							\
	    "rondo_tls_handshake_failures_total{listener=\"tls\",cause=\"certificate\"}", 1, \
	    "TLS handshakes that failed, by cause.", "TLS-CERT")

#define STATS_WORKER_CLASSES(X)							\
	X(local_responses, "rondo_local_responses_total",			\
	    "Responses rondo made itself (no backend could answer, or the request was refused), by status class.")

/* Declares the fields of a list (in shm.h). */
#define STATS_FIELD(f, ...)		_Atomic uint64_t f;
#define STATS_CLASS_FIELD(f, ...)	_Atomic uint64_t f[STATS_NCLASSES];

struct conf;
struct shm_backend;
struct shm_seg;
struct shm_worker;

/* The names of the classes: "1xx" .. "5xx" ([0] is NULL). */
extern const char *const stats_class_names[STATS_NCLASSES];

/* What the documents say beyond the segment. */
struct stats_info {
	unsigned generation;		/* the configuration's */
	double started;			/* the master's start, seconds since the epoch */
	double now;
	int reload_ok;			/* 0 when the last reload failed */
	double reload_time;		/* when the running configuration was loaded */
};

/* Counts a response rondo made itself in worker slot w. Safe in any worker callback. */
void stats_local_response(struct shm_worker *w, int status);

/* Counts one health probe of b (in the health child): its outcome and duration. */
void stats_health_probe(struct shm_backend *b, int ok, double seconds);

/*
 * Carries every counter from old to seg on a reload: backends matched by
 * name, worker totals summed into seg's base. Call before seg's workers run.
 */
void stats_carry(struct shm_seg *seg, const struct shm_seg *old);

/* The total of worker counter field f (offset in struct shm_worker) over the base and the workers. */
unsigned long long stats_worker_total(const struct shm_seg *seg, size_t off);

/*
 * Formats /status (JSON) or /metrics (Prometheus text) into out; returns the
 * length (output cut short stays within outlen, NUL-terminated).
 */
size_t stats_status_json(const struct conf *c, const struct shm_seg *seg,
    const struct stats_info *in, char *out, size_t outlen);
size_t stats_metrics(const struct conf *c, const struct shm_seg *seg,
    const struct stats_info *in, char *out, size_t outlen);

#endif
