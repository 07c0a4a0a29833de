/*
 * rondo's configuration: config.json parsed with json-c into an immutable
 * struct conf, validated whole before anything uses it.
 *
 * Leaf module: it never logs, it fills the caller's error buffer with one line
 * per problem ("config.json: servers[2]: expected an http:// URL").
 */
#ifndef RONDO_CONF_H
#define RONDO_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "hashkey.h"
#include "net.h"
#include "sticky.h"

struct lb_policy;

#define CONF_MAX_BACKENDS 256
#define CONF_URL_MAX 256
#define CONF_HOST_MAX 256
#define CONF_PATH_MAX 256
#define CONF_WEIGHT_MAX 1000
#define CONF_MAX_CONNECTIONS_MAX 1000000
#define CONF_TLS_CERTS_MAX 64
#define CONF_TLS_V1_2 0x1		/* conf_tls.protocols */
#define CONF_TLS_V1_3 0x2

struct cidr;

/* A list of address ranges ("proxyProtocol.trusted", "trustedProxies"); cidr.h. */
struct conf_cidrs {
	struct cidr *v;			/* NULL when n is 0 */
	size_t n;
};

struct conf_backend {
	char url[CONF_URL_MAX];		/* as written in the config, e.g. "http://localhost:5001" */
	char host[CONF_HOST_MAX];	/* host part as written: "localhost", "127.0.0.1", "::1" */
	uint16_t port;
	char hostport[CONF_HOST_MAX + 8];	/* for the Host header of probes: "localhost:5001", "[::1]:5001" */
	struct net_addr addr;		/* resolved at load time */
	unsigned weight;		/* 1..CONF_WEIGHT_MAX: 1 (a plain URL string) */
	unsigned max_connections;	/* requests in flight over all workers; 0: unlimited */
	int backup;			/* 1: used only while no primary is up */
	int tls;			/* 1: an https:// URL (port 443 by default); host goes in SNI */
	int no_verify;			/* "verify": false: its certificate is not checked (https only) */
	int send_proxy;			/* "sendProxy": 0 none, 1 "v1", 2 "v2": a PROXY header starts
					   each connection, which then serves only its client */
};

struct conf_health {
	char path[CONF_PATH_MAX];	/* "/" */
	uint64_t timeout_ms;		/* 1000 */
	unsigned rise;			/* consecutive successes to go up: 1 */
	unsigned fall;			/* consecutive failures to go down: 1 */
	int expect_status;		/* 0: any 2xx or 3xx; else exactly this code */
};

/*
 * "timeouts": each expiry has its answer (408 to the client, 504 for a backend)
 * and a log line. Each is a duration from 1ms to 24h.
 */
struct conf_timeouts {
	uint64_t connect_ms;		/* "connect": backend connect: 5s */
	uint64_t client_header_ms;	/* "clientHeader": the whole request head, from its first byte: 10s */
	uint64_t client_body_ms;	/* "clientBody": between two reads of a request body: 30s */
	uint64_t server_ms;		/* "server": backend response head, and between reads of its body: 60s */
	uint64_t idle_ms;		/* "idle": keep-alive between requests, both sides: 60s */
	uint64_t tunnel_ms;		/* "tunnel": upgraded connection without traffic: 1h */
};

/* "limits" on one request head. */
struct conf_limits {
	unsigned header_size;		/* "headerSize": bytes of the whole head: 8192 (1024..14336); more: 431 */
	unsigned uri_size;		/* "uriSize": bytes of the request line: 4096 (256..header_size); more: 414 */
	unsigned headers;		/* "headers": header fields: 100 (1..100); more: 431 */
};

/*
 * "passiveHealth": which responses count as a backend failure for maxFails.
 * Transport failures (connect errors, resets, timeouts, malformed responses)
 * always count; a status only when listed, so that clients cannot take
 * backends out by asking for error pages.
 */
struct conf_passive_health {
	uint32_t statuses[4];		/* "statuses": bit (code - 500) set for each 5xx listed; none by default */
};

/* One of "tls.certificates": PEM files, read by tls.c (conf only stores the names). */
struct conf_tls_cert {
	char *cert;			/* "cert": the leaf certificate, then its chain */
	char *key;			/* "key": its private key */
};

/*
 * "tls": a TLS listener beside (or instead of) "port", and the settings for
 * https:// backends. Parsed and checked here; the files are read and the
 * ciphers checked when tls.c builds its contexts.
 */
struct conf_tls {
	int enabled;			/* "port" given: a TLS listener */
	struct net_addr listen;	/* "port": every form the plain "port" takes */
	char listen_name[CONF_HOST_MAX + 8];	/* "[::]:8443" for logs */
	size_t ncerts;
	struct conf_tls_cert *certs;	/* "certificates": 1..CONF_TLS_CERTS_MAX with a listener */
	unsigned protocols;		/* "protocols": CONF_TLS_V1_2 | CONF_TLS_V1_3 (both by default) */
	char *ciphers;			/* "ciphers": TLS 1.2 cipher list; NULL: rondo's default */
	char *ciphersuites;		/* "ciphersuites": TLS 1.3 suites; NULL: OpenSSL's default */
	uint64_t ticket_rotation_ms;	/* "sessionTicketRotation": 12h (1s..24h) */
	int redirect_http;		/* "redirectHttp": answer plain HTTP with a redirect to https */
	char *client_ca;		/* "clientCA": require client certificates signed by these */
	char *backend_ca;		/* "backendCA": verify https backends against these; NULL:
					   the system's CA store */
};

/* "queue": requests wait for a backend when every eligible one is full. */
struct conf_queue {
	unsigned max;			/* "max": requests waiting at most, all workers; 0: no queue */
	uint64_t timeout_ms;		/* "timeout": the longest wait: 5s */
};

struct conf {
	char *path;			/* the file it came from */
	struct conf_timeouts timeouts;
	struct conf_limits limits;
	unsigned retries;		/* "retries": more attempts on other backends: 2 (0..10) */
	unsigned busy_poll_us;		/* "busyPoll": microseconds a worker polls without sleeping
					   after I/O: 20 (0 = off, ..1000) */
	unsigned max_connections;	/* "maxConnections": client connections, all workers: 0 = no cap (0..1000000) */
	unsigned max_fails;		/* "maxFails": failures in a row that take a backend out: 0 = never (0..1000) */
	uint64_t fail_timeout_ms;	/* "failTimeout": how long it stays out: 10s */
	struct conf_passive_health passive_health;	/* "passiveHealth" */
	uint64_t shutdown_timeout_ms;	/* "shutdownTimeout": drain on reload or SIGQUIT: 30s */
	char *pid_file;			/* "pidFile": NULL = none (-p wins) */
	char *user;			/* "user": drop to this user after binding; NULL = stay */
	char *group;			/* "group": and this group; NULL = the user's */
	char *access_log;		/* "accessLog": NULL = off, "-" = standard output, else a path */
	int access_log_format;		/* "accessLogFormat": enum accesslog_format: "combined" (0, the default) or "json" (1) */
	int admin;			/* "admin" is an object (absent or false: 0) */
	struct net_addr admin_listen;	/* "admin": {"listen": "127.0.0.1:9090"} (the default) */
	char admin_name[CONF_HOST_MAX + 8];	/* "127.0.0.1:9090" for logs; "" when admin is 0 */
	char *admin_token;		/* "admin": {"token"} or the content of {"tokenFile"}; NULL = none */
	struct net_addr listen;		/* "port"; listen.len is 0 when it is left out (TLS only) */
	char listen_name[CONF_HOST_MAX + 8];	/* "127.0.0.1:8080", "[::]:8080" for logs */
	struct conf_tls tls;		/* "tls" */
	unsigned workers;		/* resolved: "auto" is the CPU count */
	uint64_t health_interval_ms;	/* healthCheckInterval: 2000 */
	struct conf_health health;
	int expose_server_header;	/* exposeServerHeader: 1 */
	int drop_underscore_headers;	/* dropUnderscoreHeaders: 1 */
	int splice;			/* "splice": bodies relayed by splice(2) where possible: 1 */
	const struct lb_policy *policy;	/* "algorithm": round-robin (policy.h) */
	char algorithm[32];		/* its name as written, for messages */
	struct hashkey hash_key;	/* "hashKey": kind 0 unless the policy needs a key; then
					   "clientIp" by default */
	char *hash_seed;		/* "hashSeed": keys the hash tables and sticky ids; NULL: "" */
	struct conf_sticky sticky;	/* "sticky" (sticky.h); cookie NULL: off */
	struct conf_queue queue;	/* "queue" */
	uint64_t slow_start_ms;		/* "slowStart": a backend back up ramps its weight; 0: off */
	int proxy_protocol;		/* "proxyProtocol" given: client connections start with a
					   PROXY header, and come from its "trusted" ranges */
	struct conf_cidrs pp_trusted;	/* "proxyProtocol": {"trusted": [...]} */
	struct conf_cidrs trusted_proxies;	/* "trustedProxies": their X-Forwarded-* are kept */
	char monitor_path[CONF_PATH_MAX];	/* "monitor": {"path"}: answered by rondo; "" = none */
	uint64_t stop_grace_ms;		/* "stopGrace": SIGQUIT fails the monitor this long first: 0 */
	size_t nbackends;
	struct conf_backend *backends;
};

/*
 * Reads and validates the file at path. On success returns 0 and *out owns a
 * new conf (free with conf_free). On failure returns -1, *out is NULL, and err
 * holds every problem found, one per line, each naming the file and the JSON
 * path ("config.json: healthCheck.rise: must be between 1 and 100").
 */
int conf_load(struct conf **out, const char *path, char *err, size_t errlen);

/* Same as conf_load on a string; name is used in messages in place of a file name. */
int conf_load_string(struct conf **out, const char *json, const char *name, char *err, size_t errlen);

void conf_free(struct conf *c);

/* Whether a response with <status> counts as a backend failure ("passiveHealth.statuses"). */
int conf_passive_status(const struct conf *c, int status);

/*
 * Go-style duration: "500ms", "2s", "1m30s", "1h", "1.5s", "250us" is refused
 * (below a millisecond). A bare number is refused (unit required). 0 and
 * negative values are refused. Returns 0 with *ms set, or -1.
 */
int conf_parse_duration(const char *s, uint64_t *ms);

/*
 * Listen address: ":8080", "8080" (all addresses, IPv6 dual-stack when
 * available else IPv4), "127.0.0.1:8080", "[::1]:8080", "localhost:8080".
 * Port 1..65535. Returns 0 or -1 with err filled.
 */
int conf_parse_listen(const char *s, struct net_addr *a, char *name, size_t namelen,
    char *err, size_t errlen);

/*
 * Backend URL "http://host[:port][/]" or "https://host[:port][/]" (port
 * defaults to 80 or 443; host an IPv4 literal, [IPv6] literal, or a name
 * resolved now with getaddrinfo). Anything else (user info, a path other than
 * "/", query) is refused. https sets b->tls.
 * Returns 0 with b filled, or -1 with err filled.
 */
int conf_parse_url(const char *s, struct conf_backend *b, char *err, size_t errlen);

#endif
