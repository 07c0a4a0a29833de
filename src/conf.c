/*
 * config.json -> struct conf. The strict json-c tokener reports syntax errors
 * as file:line:col; then a table of known keys per object is walked in file
 * order: unknown keys, wrong types and bad values are all collected, each with
 * its JSON path, before failing. Fields start UNSET (0, or CONF_UNSET where 0
 * means something) and a second pass fills the defaults.
 *
 * This file holds the load, the top-level keys, the defaults and cross-field
 * checks, and the error list; the kinds of values are read in conf_value.c,
 * single quotes and duplicate keys in the text found by conf_text.c, and
 * the keys of "servers", "tls", "admin" and the balancing ones ("algorithm",
 * "hashKey", "sticky", "queue") have files of their own (conf_server.c,
 * conf_tls.c, conf_admin.c, conf_balance.c). What the conf_*.c files share
 * is in conf_int.h.
 *
 * Leaf module: no logging, no exit, no event loop.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "accesslog.h"
#include "conf.h"
#include "conf_int.h"
#include "net.h"
#include "policy.h"
#include "pool.h"

#define CONF_FILE_MAX		(1024 * 1024)		/* bigger files are refused */
#define CONF_WORKERS_MAX	64
#define CONF_UNSET		(-1)
#define CONF_ADMIN_LISTEN	"127.0.0.1:9090"	/* "admin": {} */
#define CONF_RETRIES_MAX	10
#define CONF_BUSY_POLL_MAX	1000	/* "busyPoll", microseconds */
#define CONF_MAX_FAILS_MAX	1000
#define CONF_HEADER_SIZE_MIN	1024
#define CONF_HEADER_SIZE_MAX	14336	/* BUF_SIZE less room for the fields rondo adds */
#define CONF_URI_SIZE_MIN	256
#define CONF_HEADERS_MAX	100
#define CONF_PASSIVE_STATUS_MIN	500	/* "passiveHealth.statuses": 5xx codes only */
#define CONF_PASSIVE_STATUS_MAX	599
#define CONF_REQUIRED_NO_TLS	2	/* conf_key.required: unless tls.port is given */
#define CONF_TICKET_ROTATION_MS	(12ULL * 3600 * 1000)	/* "sessionTicketRotation" default */

static conf_set_fn conf_set_listen, conf_set_workers, conf_set_object,
    conf_set_file, conf_set_user, conf_set_group, conf_set_access_log,
    conf_set_access_log_format, conf_set_proxy_protocol;

static const struct conf_key conf_health_keys[] = {
	{ "path",		conf_set_http_path,	offsetof(struct conf_health, path),		0, 0, 0, NULL },
	{ "timeout",		conf_set_duration,	offsetof(struct conf_health, timeout_ms),	0, 0, 0, NULL },
	{ "rise",		conf_set_uint,		offsetof(struct conf_health, rise),		1, 100, 0, NULL },
	{ "fall",		conf_set_uint,		offsetof(struct conf_health, fall),		1, 100, 0, NULL },
	{ "expectStatus",	conf_set_status,	offsetof(struct conf_health, expect_status),	100, 599, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

static const struct conf_key conf_timeout_keys[] = {
	{ "connect",		conf_set_duration,	offsetof(struct conf_timeouts, connect_ms),	0, 0, 0, NULL },
	{ "clientHeader",	conf_set_duration,	offsetof(struct conf_timeouts, client_header_ms), 0, 0, 0, NULL },
	{ "clientBody",		conf_set_duration,	offsetof(struct conf_timeouts, client_body_ms),	0, 0, 0, NULL },
	{ "server",		conf_set_duration,	offsetof(struct conf_timeouts, server_ms),	0, 0, 0, NULL },
	{ "idle",		conf_set_duration,	offsetof(struct conf_timeouts, idle_ms),	0, 0, 0, NULL },
	{ "tunnel",		conf_set_duration,	offsetof(struct conf_timeouts, tunnel_ms),	0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

/* uriSize <= headerSize is checked in conf_check, once both have their value. */
static const struct conf_key conf_limit_keys[] = {
	{ "headerSize",		conf_set_uint,		offsetof(struct conf_limits, header_size),
	  CONF_HEADER_SIZE_MIN, CONF_HEADER_SIZE_MAX, 0, NULL },
	{ "uriSize",		conf_set_uint,		offsetof(struct conf_limits, uri_size),
	  CONF_URI_SIZE_MIN, CONF_HEADER_SIZE_MAX, 0, NULL },
	{ "headers",		conf_set_uint,		offsetof(struct conf_limits, headers),
	  1, CONF_HEADERS_MAX, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

/* "passiveHealth" object; base is its struct conf_passive_health. */
static const struct conf_key conf_passive_keys[] = {
	{ "statuses",		conf_set_statuses,	offsetof(struct conf_passive_health, statuses),
	  CONF_PASSIVE_STATUS_MIN, CONF_PASSIVE_STATUS_MAX, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

/* "proxyProtocol" object; base is the whole struct conf. */
static const struct conf_key conf_pp_keys[] = {
	{ "trusted",		conf_set_cidrs,		offsetof(struct conf, pp_trusted),		1, 0, 1, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

/* "monitor" object; base is the whole struct conf. */
static const struct conf_key conf_monitor_keys[] = {
	{ "path",		conf_set_http_path,	offsetof(struct conf, monitor_path),		0, 0, 1, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

static const struct conf_key conf_keys[] = {
	{ "port",		conf_set_listen,	offsetof(struct conf, listen),			0, 0, CONF_REQUIRED_NO_TLS, NULL },
	{ "healthCheckInterval", conf_set_duration,	offsetof(struct conf, health_interval_ms),	0, 0, 0, NULL },
	{ "servers",		conf_set_servers,	0,						1, CONF_MAX_BACKENDS, 1, NULL },
	{ "workers",		conf_set_workers,	offsetof(struct conf, workers),			1, CONF_WORKERS_MAX, 0, NULL },
	{ "healthCheck",	conf_set_object,	offsetof(struct conf, health),			0, 0, 0, conf_health_keys },
	{ "exposeServerHeader",	conf_set_bool,		offsetof(struct conf, expose_server_header),	0, 0, 0, NULL },
	{ "dropUnderscoreHeaders", conf_set_bool,	offsetof(struct conf, drop_underscore_headers),	0, 0, 0, NULL },
	{ "splice",		conf_set_bool,		offsetof(struct conf, splice),			0, 0, 0, NULL },
	{ "algorithm",		conf_set_algorithm,	0,						0, 0, 0, NULL },
	{ "hashKey",		conf_set_hash_key,	offsetof(struct conf, hash_key),		0, 0, 0, NULL },
	{ "hashSeed",		conf_set_hash_seed,	offsetof(struct conf, hash_seed),		0, 0, 0, NULL },
	{ "sticky",		conf_set_object,	offsetof(struct conf, sticky),			0, 0, 0, conf_sticky_keys },
	{ "slowStart",		conf_set_duration,	offsetof(struct conf, slow_start_ms),		0, 0, 0, NULL },
	{ "queue",		conf_set_object,	offsetof(struct conf, queue),			0, 0, 0, conf_queue_keys },
	{ "timeouts",		conf_set_object,	offsetof(struct conf, timeouts),		0, 0, 0, conf_timeout_keys },
	{ "limits",		conf_set_object,	offsetof(struct conf, limits),			0, 0, 0, conf_limit_keys },
	{ "retries",		conf_set_uint,		offsetof(struct conf, retries),			0, CONF_RETRIES_MAX, 0, NULL },
	{ "busyPoll",		conf_set_uint,		offsetof(struct conf, busy_poll_us),		0, CONF_BUSY_POLL_MAX, 0, NULL },
	{ "maxConnections",	conf_set_uint,		offsetof(struct conf, max_connections),		0, CONF_MAX_CONNECTIONS_MAX, 0, NULL },
	{ "maxFails",		conf_set_uint,		offsetof(struct conf, max_fails),		0, CONF_MAX_FAILS_MAX, 0, NULL },
	{ "failTimeout",	conf_set_duration,	offsetof(struct conf, fail_timeout_ms),		0, 0, 0, NULL },
	{ "passiveHealth",	conf_set_object,	offsetof(struct conf, passive_health),		0, 0, 0, conf_passive_keys },
	{ "shutdownTimeout",	conf_set_duration,	offsetof(struct conf, shutdown_timeout_ms),	0, 0, 0, NULL },
	{ "pidFile",		conf_set_file,		offsetof(struct conf, pid_file),		0, 0, 0, NULL },
	{ "user",		conf_set_user,		offsetof(struct conf, user),			0, 0, 0, NULL },
	{ "group",		conf_set_group,		offsetof(struct conf, group),			0, 0, 0, NULL },
	{ "accessLog",		conf_set_access_log,	offsetof(struct conf, access_log),		0, 0, 0, NULL },
	{ "accessLogFormat",	conf_set_access_log_format, offsetof(struct conf, access_log_format),	0, 0, 0, NULL },
	{ "admin",		conf_set_admin,		0,						0, 0, 0, conf_admin_keys },
	{ "tls",		conf_set_tls,		offsetof(struct conf, tls),			0, 0, 0, conf_tls_keys },
	{ "proxyProtocol",	conf_set_proxy_protocol, 0,						0, 0, 0, conf_pp_keys },
	{ "trustedProxies",	conf_set_cidrs,		offsetof(struct conf, trusted_proxies),		0, 0, 0, NULL },
	{ "monitor",		conf_set_object,	0,						0, 0, 0, conf_monitor_keys },
	{ "stopGrace",		conf_set_duration,	offsetof(struct conf, stop_grace_ms),		0, 0, 0, NULL },
	{ NULL, NULL, 0, 0, 0, 0, NULL }
};

_Static_assert(CONF_NKEYS(conf_keys) <= 64, "too many keys in conf_keys");
_Static_assert(CONF_NKEYS(conf_health_keys) <= 64, "too many keys in conf_health_keys");
_Static_assert(CONF_NKEYS(conf_timeout_keys) <= 64, "too many keys in conf_timeout_keys");
_Static_assert(CONF_NKEYS(conf_limit_keys) <= 64, "too many keys in conf_limit_keys");
_Static_assert(CONF_NKEYS(conf_passive_keys) <= 64, "too many keys in conf_passive_keys");
_Static_assert(sizeof(((struct conf_passive_health *)0)->statuses) * 8 >
    CONF_PASSIVE_STATUS_MAX - CONF_PASSIVE_STATUS_MIN, "passiveHealth.statuses bitmap too small");
_Static_assert(CONF_NKEYS(conf_pp_keys) <= 64, "too many keys in conf_pp_keys");
_Static_assert(CONF_NKEYS(conf_monitor_keys) <= 64, "too many keys in conf_monitor_keys");

static void
conf_errs_vadd(struct conf_errs *e, const char *fmt, va_list ap)
{
	size_t room;
	int r;

	if (e->len == 0 || e->used >= e->len - 1)
		return;
	room = e->len - e->used;
	if ((r = vsnprintf(e->buf + e->used, room, fmt, ap)) < 0)
		return;
	if ((size_t)r < room) {
		e->used += (size_t)r;
		return;
	}
	/* Cut off: say so where the reader will look, at the end. */
	e->used = e->len - 1;
	if (e->len > 4)
		memcpy(e->buf + e->len - 4, "...", 4);
}

static void conf_errs_add(struct conf_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
conf_errs_add(struct conf_errs *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_errs_vadd(e, fmt, ap);
	va_end(ap);
}

/* Records one problem: "name: jpath: message", or "name: message" when jpath is NULL. */
void
conf_err(struct conf_errs *e, const char *jpath, const char *fmt, ...)
{
	va_list ap;

	conf_errs_add(e, "%s%s: ", e->count++ ? "\n" : "", e->name);
	if (jpath != NULL)
		conf_errs_add(e, "%s: ", jpath);
	va_start(ap, fmt);
	conf_errs_vadd(e, fmt, ap);
	va_end(ap);
}

/*
 * Records a syntax problem at byte <off> of <buf> as "name:line:col: what";
 * columns count characters (UTF-8 continuation bytes and a leading byte order
 * mark don't move them), as editors do.
 */
void
conf_err_at(struct conf_errs *e, const char *buf, size_t off, size_t bom, const char *what)
{
	size_t i, line = 1, col = 1;

	for (i = bom; i < off; i++) {
		if (buf[i] == '\n') {
			line++;
			col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80)
			col++;
	}
	conf_errs_add(e, "%s%s:%zu:%zu: %s", e->count++ ? "\n" : "", e->name, line, col, what);
}

/* Appends <s> to the JSON path <parent>, printable ASCII kept, the rest as \xNN. */
static void
conf_jpath(char *dst, size_t dstlen, const char *parent, const char *s)
{
	size_t n;
	int r;

	r = snprintf(dst, dstlen, "%s%s", parent, *parent != '\0' ? "." : "");
	if (r < 0 || (size_t)r >= dstlen)
		return;
	for (n = (size_t)r; *s != '\0' && n + 5 < dstlen; s++) {
		if ((unsigned char)*s >= 0x20 && (unsigned char)*s < 0x7f)
			dst[n++] = *s;
		else
			n += (size_t)snprintf(dst + n, dstlen - n, "\\x%02x", (unsigned char)*s);
	}
	dst[n] = '\0';
}

/* "port": where clients come in. */
static void
conf_set_listen(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf *c = base;

	(void)k;
	conf_listen_value(e, v, jpath, &c->listen, c->listen_name, sizeof(c->listen_name),
	    "\":8080\" or \"127.0.0.1:8080\"");
}

/* "pidFile": a path, absolute or relative to the working directory. */
static void
conf_set_file(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_nonempty(e, v, jpath, "a file name such as \"/run/rondo.pid\"")) != NULL)
		conf_store_string(e, k, base, jpath, s);
}

/*
 * True when a failed getpwnam or getgrnam only means "no such entry": POSIX
 * leaves errno alone then, glibc may set one of these.
 */
static int
conf_notfound(int err)
{
	return err == 0 || err == ENOENT || err == ESRCH || err == EBADF || err == EPERM;
}

/* "user": a name in the user database, looked up now. */
static void
conf_set_user(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_nonempty(e, v, jpath, "a user name (a string)")) == NULL)
		return;
	errno = 0;
	if (getpwnam(s) == NULL) {
		if (conf_notfound(errno))
			conf_err(e, jpath, "no such user \"%s\"", s);
		else
			conf_err(e, jpath, "cannot look up user \"%s\": %s", s, strerror(errno));
		return;
	}
	conf_store_string(e, k, base, jpath, s);
}

/* "group": a name in the group database, looked up now. */
static void
conf_set_group(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_nonempty(e, v, jpath, "a group name (a string)")) == NULL)
		return;
	errno = 0;
	if (getgrnam(s) == NULL) {
		if (conf_notfound(errno))
			conf_err(e, jpath, "no such group \"%s\"", s);
		else
			conf_err(e, jpath, "cannot look up group \"%s\": %s", s, strerror(errno));
		return;
	}
	conf_store_string(e, k, base, jpath, s);
}

/* "accessLog": "off" (NULL), "-" (standard output), or a path. */
static void
conf_set_access_log(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;

	if ((s = conf_nonempty(e, v, jpath,
	    "a file name, \"-\" for standard output, or \"off\"")) == NULL)
		return;
	conf_store_string(e, k, base, jpath, strcmp(s, "off") == 0 ? NULL : s);
}

/* "accessLogFormat": an enum accesslog_format by name. */
static void
conf_set_access_log_format(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	int *dst = (int *)(void *)((char *)base + k->off);
	enum accesslog_format fmt;
	const char *s;

	if ((s = conf_string(v)) != NULL && accesslog_parse_format(s, &fmt) == 0)
		*dst = (int)fmt;
	else
		conf_err(e, jpath, "must be \"combined\" or \"json\"");
}

/* "proxyProtocol": an object of conf_pp_keys turns the PROXY header on for every listener. */
static void
conf_set_proxy_protocol(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf *c = base;

	if (!json_object_is_type(v, json_type_object)) {
		conf_err(e, jpath, "expected an object such as {\"trusted\": [\"10.0.0.0/8\"]}");
		return;
	}
	c->proxy_protocol = 1;
	conf_walk(e, k->sub, v, c, jpath);
}

/* "workers": a count, or "auto" (left UNSET for conf_defaults). */
static void
conf_set_workers(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s;
	int64_t n;

	if ((s = conf_string(v)) != NULL && strcmp(s, "auto") == 0)
		return;
	if (!json_object_is_type(v, json_type_int)) {
		conf_err(e, jpath, "expected a positive integer or \"auto\"");
		return;
	}
	n = json_object_get_int64(v);
	if (n < k->min || n > k->max)
		conf_err(e, jpath, "must be between %lld and %lld",
		    (long long)k->min, (long long)k->max);
	else
		*(unsigned *)((char *)base + k->off) = (unsigned)n;
}

static void
conf_set_object(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	if (!json_object_is_type(v, json_type_object))
		conf_err(e, jpath, "expected an object");
	else
		conf_walk(e, k->sub, v, (char *)base + k->off, jpath);
}

/*
 * Walks the members of <obj> in file order against the NULL-terminated table
 * <keys>: each known key's setter runs, each unknown key is a problem, and so
 * is each required key left out.
 */
void
conf_walk(struct conf_errs *e, const struct conf_key *keys, struct json_object *obj,
    void *base, const char *jpath)
{
	char kpath[CONF_JPATH_MAX];
	uint64_t seen = 0;
	size_t i;

	{
		json_object_object_foreach(obj, key, val) {
			conf_jpath(kpath, sizeof(kpath), jpath, key);
			for (i = 0; keys[i].name != NULL; i++)
				if (strcmp(keys[i].name, key) == 0)
					break;
			if (keys[i].name == NULL) {
				conf_err(e, kpath, "unknown key");
				continue;
			}
			seen |= UINT64_C(1) << i;
			keys[i].set(e, &keys[i], val, base, kpath);
		}
	}
	for (i = 0; keys[i].name != NULL; i++) {
		/* Only conf_keys has CONF_REQUIRED_NO_TLS: base is the struct conf. */
		if (keys[i].required == CONF_REQUIRED_NO_TLS && ((struct conf *)base)->tls.enabled)
			continue;
		if (keys[i].required && !(seen & (UINT64_C(1) << i))) {
			conf_jpath(kpath, sizeof(kpath), jpath, keys[i].name);
			conf_err(e, kpath, "required key is missing");
		}
	}
}

static unsigned
conf_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > CONF_WORKERS_MAX ? CONF_WORKERS_MAX : (unsigned)n;
}

/* Second pass: what was left UNSET gets its default. */
static void
conf_defaults(struct conf_errs *e, struct conf *c)
{
	char msg[CONF_MSG_MAX];
	size_t i;

	for (i = 0; i < c->nbackends; i++)
		if (c->backends[i].weight == 0)
			c->backends[i].weight = 1;
	if (c->workers == 0)
		c->workers = conf_cpus();
	if (c->queue.timeout_ms == 0)
		c->queue.timeout_ms = 5 * 1000;
	if (c->policy == NULL) {
		c->policy = policy_default();
		snprintf(c->algorithm, sizeof(c->algorithm), "%s", c->policy->name);
	}
	if (c->health_interval_ms == 0)
		c->health_interval_ms = 2000;
	if (c->health.path[0] == '\0')
		memcpy(c->health.path, "/", 2);
	if (c->health.timeout_ms == 0)
		c->health.timeout_ms = 1000;
	if (c->health.rise == 0)
		c->health.rise = 1;
	if (c->health.fall == 0)
		c->health.fall = 1;
	if (c->expose_server_header == CONF_UNSET)
		c->expose_server_header = 1;
	if (c->drop_underscore_headers == CONF_UNSET)
		c->drop_underscore_headers = 1;
	if (c->splice == CONF_UNSET)
		c->splice = 1;
	if (c->timeouts.connect_ms == 0)
		c->timeouts.connect_ms = 5 * 1000;
	if (c->timeouts.client_header_ms == 0)
		c->timeouts.client_header_ms = 10 * 1000;
	if (c->timeouts.client_body_ms == 0)
		c->timeouts.client_body_ms = 30 * 1000;
	if (c->timeouts.server_ms == 0)
		c->timeouts.server_ms = 60 * 1000;
	if (c->timeouts.idle_ms == 0)
		c->timeouts.idle_ms = 60 * 1000;
	if (c->timeouts.tunnel_ms == 0)
		c->timeouts.tunnel_ms = 3600 * 1000;
	if (c->limits.header_size == 0)
		c->limits.header_size = 8192;
	/* Not past a smaller headerSize: only a uriSize written so is an error. */
	if (c->limits.uri_size == 0)
		c->limits.uri_size = c->limits.header_size < 4096 ? c->limits.header_size : 4096;
	if (c->limits.headers == 0)
		c->limits.headers = CONF_HEADERS_MAX;
	if (c->retries == (unsigned)CONF_UNSET)
		c->retries = 2;
	if (c->busy_poll_us == (unsigned)CONF_UNSET)
		c->busy_poll_us = 20;
	if (c->fail_timeout_ms == 0)
		c->fail_timeout_ms = 10 * 1000;
	if (c->shutdown_timeout_ms == 0)
		c->shutdown_timeout_ms = 30 * 1000;
	if (c->tls.protocols == 0)
		c->tls.protocols = CONF_TLS_V1_2 | CONF_TLS_V1_3;
	if (c->tls.ticket_rotation_ms == 0)
		c->tls.ticket_rotation_ms = CONF_TICKET_ROTATION_MS;
	if (c->admin && c->admin_name[0] == '\0' &&
	    conf_parse_listen(CONF_ADMIN_LISTEN, &c->admin_listen, c->admin_name,
	    sizeof(c->admin_name), msg, sizeof(msg)) == -1)
		conf_err(e, "admin.listen", "%s", msg);	/* a literal: not expected */
}

/*
 * Cross-field checks, once every key is valid and defaulted: a weight the
 * algorithm would ignore, a list with no primary server, a request line
 * allowed to be longer than the whole head, and an admin listener on the
 * address of the main one or reachable beyond loopback without a token.
 */
static void
conf_check(struct conf_errs *e, struct conf *c)
{
	char jpath[CONF_JPATH_MAX];
	size_t i, nbackup = 0;

	for (i = 0; i < c->nbackends; i++) {
		nbackup += c->backends[i].backup != 0;
		if (c->backends[i].weight == 1 || (c->policy->flags & LB_WEIGHTED))
			continue;
		snprintf(jpath, sizeof(jpath), "servers[%zu].weight", i);
		conf_err(e, jpath, "weight has no effect with algorithm %s", c->algorithm);
	}
	if (nbackup == c->nbackends)
		conf_err(e, "servers", "every server is a backup: at least one must not be");
	conf_check_hash_key(e, c);
	if (c->limits.uri_size > c->limits.header_size)
		conf_err(e, "limits.uriSize", "must not be larger than limits.headerSize (%u)",
		    c->limits.header_size);
	if (c->group != NULL && c->user == NULL)
		conf_err(e, "group", "needs \"user\" too: without it rondo would keep running as root");
	if (c->admin && c->listen.len != 0 && conf_addr_overlap(&c->admin_listen, &c->listen))
		conf_err(e, "admin.listen", "%s is also where port (%s) listens: "
		    "the admin listener needs an address of its own", c->admin_name, c->listen_name);
	if (c->admin && c->admin_token == NULL && !conf_addr_is_loopback(&c->admin_listen))
		conf_err(e, "admin.listen", "%s is not a loopback address: anyone who can reach it "
		    "could drain the backends; set admin.token or admin.tokenFile, or listen on "
		    "127.0.0.1 or [::1]", c->admin_name);
	conf_check_tls(e, c);
}

/*
 * Parses and validates <len> bytes at <buf>, which must be followed by a NUL
 * (json-c needs it to end a top-level value). <name> prefixes every message.
 */
static int
conf_parse(struct conf **out, const char *buf, size_t len, const char *name,
    char *err, size_t errlen)
{
	struct conf_errs e = { err, errlen, 0, name, 0 };
	struct json_tokener *tok;
	struct json_object *root = NULL;
	enum json_tokener_error jerr;
	struct conf *c = NULL;
	const char *nul;
	size_t bom = 0, end;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
		bom = 3;
	if (bom + strspn(buf + bom, " \t\r\n") == len) {
		conf_err(&e, NULL, "empty configuration (expected a JSON object)");
		return -1;
	}
	if ((nul = memchr(buf, '\0', len)) != NULL) {
		conf_err_at(&e, buf, (size_t)(nul - buf), bom, "NUL byte in the file");
		return -1;
	}
	if ((tok = json_tokener_new()) == NULL) {
		conf_err(&e, NULL, "out of memory");
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, buf + bom, (int)(len - bom + 1));
	jerr = json_tokener_get_error(tok);
	end = bom + json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr != json_tokener_success) {
		conf_err_at(&e, buf, end, bom, json_tokener_error_desc(jerr));
		goto fail;
	}
	end += strspn(buf + end, " \t\r\n");
	if (end < len) {
		conf_err_at(&e, buf, end, bom, "unexpected data after the top-level object");
		goto fail;
	}
	if ((end = conf_find_squote(buf, len)) < len) {
		conf_err_at(&e, buf, end, bom, "strings must be in double quotes");
		goto fail;
	}
	if (!json_object_is_type(root, json_type_object)) {
		conf_err(&e, NULL, "expected a JSON object at the top level");
		goto fail;
	}
	switch (conf_dup_keys(&e, buf, len, bom)) {
	case 0:
		break;
	case -1:
		conf_err(&e, NULL, "out of memory");
		goto fail;
	default:
		goto fail;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		conf_err(&e, NULL, "out of memory");
		goto fail;
	}
	c->expose_server_header = CONF_UNSET;
	c->drop_underscore_headers = CONF_UNSET;
	c->splice = CONF_UNSET;
	c->retries = (unsigned)CONF_UNSET;
	c->busy_poll_us = (unsigned)CONF_UNSET;
	conf_walk(&e, conf_keys, root, c, "");
	if (e.count > 0)
		goto fail;
	conf_defaults(&e, c);
	conf_check(&e, c);
	if (e.count > 0)
		goto fail;
	if ((c->path = strdup(name)) == NULL) {
		conf_err(&e, NULL, "out of memory");
		goto fail;
	}
	json_object_put(root);
	*out = c;
	return 0;
fail:
	conf_free(c);
	json_object_put(root);
	return -1;
}

int
conf_load(struct conf **out, const char *path, char *err, size_t errlen)
{
	struct conf_errs e = { err, errlen, 0, path, 0 };
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, rc;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		conf_err(&e, NULL, "cannot read: %s", strerror(errno));
		return -1;
	}
	/* One byte more than allowed, to tell "exactly 1 MiB" from "more". */
	if ((buf = malloc(CONF_FILE_MAX + 2)) == NULL) {
		conf_err(&e, NULL, "out of memory");
		close(fd);
		return -1;
	}
	while (len <= CONF_FILE_MAX) {
		n = read(fd, buf + len, CONF_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			conf_err(&e, NULL, "cannot read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > CONF_FILE_MAX) {
		conf_err(&e, NULL, "file too large (more than 1 MiB)");
		goto fail;
	}
	buf[len] = '\0';
	rc = conf_parse(out, buf, len, path, err, errlen);
	free(buf);
	close(fd);
	return rc;
fail:
	free(buf);
	close(fd);
	return -1;
}

int
conf_load_string(struct conf **out, const char *json, const char *name, char *err, size_t errlen)
{
	struct conf_errs e = { err, errlen, 0, name, 0 };
	size_t len = strlen(json);

	*out = NULL;
	if (len > CONF_FILE_MAX) {
		if (errlen > 0)
			err[0] = '\0';
		conf_err(&e, NULL, "configuration too large (more than 1 MiB)");
		return -1;
	}
	return conf_parse(out, json, len, name, err, errlen);
}

int
conf_passive_status(const struct conf *c, int status)
{
	unsigned bit;

	if (status < CONF_PASSIVE_STATUS_MIN || status > CONF_PASSIVE_STATUS_MAX)
		return 0;
	bit = (unsigned)(status - CONF_PASSIVE_STATUS_MIN);
	return (c->passive_health.statuses[bit / 32] >> (bit % 32)) & 1;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	free(c->path);
	free(c->pid_file);
	free(c->user);
	free(c->group);
	free(c->access_log);
	free(c->hash_seed);
	free(c->sticky.cookie);
	free(c->sticky.path);
	free(c->sticky.domain);
	if (c->admin_token != NULL)
		explicit_bzero(c->admin_token, strlen(c->admin_token));
	free(c->admin_token);
	free(c->backends);
	for (i = 0; i < c->tls.ncerts; i++) {
		free(c->tls.certs[i].cert);
		free(c->tls.certs[i].key);
	}
	free(c->tls.certs);
	free(c->tls.ciphers);
	free(c->tls.ciphersuites);
	free(c->tls.client_ca);
	free(c->tls.backend_ca);
	free(c->pp_trusted.v);
	free(c->trusted_proxies.v);
	free(c);
}
