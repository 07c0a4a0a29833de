/*
 * conf: durations, listen addresses and backend URLs as tables, then whole
 * files: the tutorial config, tests/fixtures/good (all load), and each
 * tests/fixtures/bad file with the message it must produce.
 */
#include "config.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <check.h>

#include "accesslog.h"
#include "conf.h"
#include "policy.h"
#include "pool.h"

#define GOOD_DIR	FIXTURES "/good"
#define BAD_DIR		FIXTURES "/bad"
#define EXAMPLE		FIXTURES "/../../examples/config.json"
#define EXAMPLE_FULL	FIXTURES "/../../examples/config-full.json"
#define MINIMAL		"\"port\": 8080, \"servers\": [\"http://127.0.0.1:5001\"]"
#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#define ck_assert_has(haystack, needle)						\
	ck_assert_msg(strstr((haystack), (needle)) != NULL,			\
	    "expected \"%s\" in \"%s\"", (needle), (haystack))

static uint16_t
addr_port(const struct net_addr *a)
{
	if (a->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

/* The numeric address in <a>, without the port. */
static const char *
addr_ip(const struct net_addr *a, char *buf, size_t len)
{
	if (a->ss.ss_family == AF_INET6)
		return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr, buf, len);
	return inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr, buf, len);
}

static int
have_ipv6(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd == -1)
		return 0;
	close(fd);
	return 1;
}

/* Durations */

static const struct {
	const char	*s;
	uint64_t	 ms;
} durations_ok[] = {
	{ "500ms",	500 },
	{ "2s",		2000 },
	{ "1m30s",	90000 },
	{ "1h",		3600000 },
	{ "1.5s",	1500 },
	{ ".5s",	500 },
	{ "1.s",	1000 },
	{ "0.5m",	30000 },
	{ "1.5h",	5400000 },
	{ "1.25m",	75000 },
	{ "1ms",	1 },
	{ "2s500ms",	2500 },
	{ "1h30m",	5400000 },
	{ "0.001s",	1 },
	{ "24h",	86400000 },
	{ "23h59m59.999s", 86399999 },
};

START_TEST(test_duration_ok)
{
	uint64_t ms = 0;

	ck_assert_msg(conf_parse_duration(durations_ok[_i].s, &ms) == 0,
	    "\"%s\" refused", durations_ok[_i].s);
	ck_assert_uint_eq(ms, durations_ok[_i].ms);
}
END_TEST

static const char *const durations_bad[] = {
	"",		/* empty */
	"2",		/* unit required */
	"1m30",
	"0",
	"0s",
	"0ms",
	"-1s",
	"+1s",
	"1x",
	"1S",
	"250us",	/* below a millisecond: refused */
	"1000us",
	"1µs",
	"5ns",
	"1.5ms",	/* not a whole millisecond */
	"0.0001s",
	"s",
	".s",
	"1.2.3s",
	" 1s",
	"1s ",
	"1 s",
	"25h",		/* over 24h */
	"24h1ms",
	"99999999999999999999999h",
};

START_TEST(test_duration_bad)
{
	uint64_t ms = 42;

	ck_assert_msg(conf_parse_duration(durations_bad[_i], &ms) == -1,
	    "\"%s\" accepted", durations_bad[_i]);
	ck_assert_uint_eq(ms, 42);
}
END_TEST

/* Listen addresses */

static const struct {
	const char	*s;
	int		 family;	/* 0: the wildcard, IPv6 if the kernel has it */
	const char	*ip;
	uint16_t	 port;
	const char	*name;
} listens_ok[] = {
	{ ":8080",		0,		NULL,		8080,	NULL },
	{ "8080",		0,		NULL,		8080,	NULL },
	{ ":1",			0,		NULL,		1,	NULL },
	{ "127.0.0.1:8080",	AF_INET,	"127.0.0.1",	8080,	"127.0.0.1:8080" },
	{ "0.0.0.0:65535",	AF_INET,	"0.0.0.0",	65535,	"0.0.0.0:65535" },
	{ "[::1]:8080",		AF_INET6,	"::1",		8080,	"[::1]:8080" },
	{ "[::]:8080",		AF_INET6,	"::",		8080,	"[::]:8080" },
	{ "localhost:8080",	AF_INET,	"127.0.0.1",	8080,	"127.0.0.1:8080" },
};

START_TEST(test_listen_ok)
{
	struct net_addr a;
	char name[64], err[256] = "", ip[INET6_ADDRSTRLEN];
	int family = listens_ok[_i].family;

	ck_assert_msg(conf_parse_listen(listens_ok[_i].s, &a, name, sizeof(name),
	    err, sizeof(err)) == 0, "\"%s\": %s", listens_ok[_i].s, err);
	if (family == 0) {
		family = have_ipv6() ? AF_INET6 : AF_INET;
		ck_assert_str_eq(addr_ip(&a, ip, sizeof(ip)), family == AF_INET6 ? "::" : "0.0.0.0");
		snprintf(err, sizeof(err), family == AF_INET6 ? "[::]:%u" : "0.0.0.0:%u",
		    (unsigned)listens_ok[_i].port);
		ck_assert_str_eq(name, err);
	} else {
		ck_assert_str_eq(addr_ip(&a, ip, sizeof(ip)), listens_ok[_i].ip);
		ck_assert_str_eq(name, listens_ok[_i].name);
	}
	ck_assert_int_eq(a.ss.ss_family, family);
	ck_assert_uint_eq(a.len, family == AF_INET6 ? sizeof(struct sockaddr_in6) :
	    sizeof(struct sockaddr_in));
	ck_assert_uint_eq(addr_port(&a), listens_ok[_i].port);
}
END_TEST

static const struct {
	const char	*s;
	const char	*why;
} listens_bad[] = {
	{ ":0",			"port number must be between 1 and 65535" },
	{ ":70000",		"port number must be between 1 and 65535" },
	{ "99999999999999999999999", "port number must be between 1 and 65535" },
	{ "abc",		"expected \"PORT\", \":PORT\" or \"HOST:PORT\"" },
	{ "",			"expected \"PORT\"" },
	{ "[::1",		"missing \"]\"" },
	{ "[::1]8080",		"expected \":PORT\" after \"]\"" },
	{ "[1.2.3.4]:80",	"invalid IPv6 address" },
	{ "[]:80",		"invalid IPv6 address" },
	{ "1.2.3.4:",		"missing port number" },
	{ ":",			"missing port number" },
	{ ":80x",		"port must be a number" },
	{ ":-1",		"port must be a number" },
	{ "::1:8080",		"IPv6 addresses must be written in brackets" },
	{ "1.2.3.256:80",	"invalid IPv4 address" },
	{ "127.1:80",		"invalid IPv4 address" },
	{ "bad host:80",	"invalid character in host name" },
};

START_TEST(test_listen_bad)
{
	struct net_addr a;
	char name[64], err[256] = "";

	ck_assert_msg(conf_parse_listen(listens_bad[_i].s, &a, name, sizeof(name),
	    err, sizeof(err)) == -1, "\"%s\" accepted", listens_bad[_i].s);
	ck_assert_has(err, listens_bad[_i].why);
}
END_TEST

/* Backend URLs */

static const struct {
	const char	*s;
	int		 family;
	const char	*ip;
	uint16_t	 port;
	const char	*host;
	const char	*hostport;
} urls_ok[] = {
	{ "http://127.0.0.1:5001",	AF_INET,  "127.0.0.1", 5001, "127.0.0.1", "127.0.0.1:5001" },
	{ "http://127.0.0.1:5001/",	AF_INET,  "127.0.0.1", 5001, "127.0.0.1", "127.0.0.1:5001" },
	{ "http://localhost:5002",	AF_INET,  "127.0.0.1", 5002, "localhost", "localhost:5002" },
	{ "http://localhost",		AF_INET,  "127.0.0.1", 80,   "localhost", "localhost" },
	{ "http://[::1]:5003",		AF_INET6, "::1",       5003, "::1",       "[::1]:5003" },
	{ "http://[::1]/",		AF_INET6, "::1",       80,   "::1",       "[::1]" },
	{ "http://10.1.2.3",		AF_INET,  "10.1.2.3",  80,   "10.1.2.3",  "10.1.2.3" },
	{ "HTTP://127.0.0.1:65535",	AF_INET,  "127.0.0.1", 65535, "127.0.0.1", "127.0.0.1:65535" },
};

START_TEST(test_url_ok)
{
	struct conf_backend b;
	char err[256] = "", ip[INET6_ADDRSTRLEN];

	ck_assert_msg(conf_parse_url(urls_ok[_i].s, &b, err, sizeof(err)) == 0,
	    "\"%s\": %s", urls_ok[_i].s, err);
	ck_assert_str_eq(b.url, urls_ok[_i].s);
	ck_assert_str_eq(b.host, urls_ok[_i].host);
	ck_assert_str_eq(b.hostport, urls_ok[_i].hostport);
	ck_assert_uint_eq(b.port, urls_ok[_i].port);
	ck_assert_int_eq(b.addr.ss.ss_family, urls_ok[_i].family);
	ck_assert_str_eq(addr_ip(&b.addr, ip, sizeof(ip)), urls_ok[_i].ip);
	ck_assert_uint_eq(addr_port(&b.addr), urls_ok[_i].port);
}
END_TEST

static const struct {
	const char	*s;
	const char	*why;
} urls_bad[] = {
	{ "ftp://127.0.0.1",		"expected an http:// or https:// URL" },
	{ "127.0.0.1:5001",		"expected an http:// or https:// URL" },
	{ "",				"expected an http:// or https:// URL" },
	{ "https://",			"missing host" },
	{ "https://u@127.0.0.1",	"user info" },
	{ "http://",			"missing host" },
	{ "http:///",			"missing host" },
	{ "http://:5001",		"missing host" },
	{ "http://user@127.0.0.1:5001",	"user info" },
	{ "http://u:p@127.0.0.1",	"user info" },
	{ "http://127.0.0.1:5001/api",	"a path is not supported" },
	{ "http://127.0.0.1:5001//",	"a path is not supported" },
	{ "http://127.0.0.1:5001?x=1",	"a query string is not supported" },
	{ "http://127.0.0.1:5001/?x=1",	"a query string is not supported" },
	{ "http://127.0.0.1:5001#top",	"a fragment is not supported" },
	{ "http://127.0.0.1:0",		"port number must be between 1 and 65535" },
	{ "http://127.0.0.1:65536",	"port number must be between 1 and 65535" },
	{ "http://127.0.0.1:",		"missing port number" },
	{ "http://127.0.0.1:http",	"port must be a number" },
	{ "http://[::1",		"missing \"]\"" },
	{ "http://[::1]5001",		"expected \":PORT\" after \"]\"" },
	{ "http://[::1]:",		"missing port number" },
	{ "http://[nope]:5001",		"invalid IPv6 address" },
	{ "http://::1:5001",		"IPv6 addresses must be written in brackets" },
	{ "http://1.2.3.999",		"invalid IPv4 address" },
	{ "http://bad_host!:80",	"invalid character in host name" },
	{ "http://a b:80",		"invalid character in host name" },
};

START_TEST(test_url_bad)
{
	struct conf_backend b;
	char err[256] = "";

	ck_assert_msg(conf_parse_url(urls_bad[_i].s, &b, err, sizeof(err)) == -1,
	    "\"%s\" accepted", urls_bad[_i].s);
	ck_assert_has(err, urls_bad[_i].why);
}
END_TEST

/* https:// sets the tls flag and moves the default port to 443. */
START_TEST(test_url_https)
{
	struct conf_backend b;
	char err[256] = "";

	ck_assert_msg(conf_parse_url("https://127.0.0.1", &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(b.tls, 1);
	ck_assert_uint_eq(b.port, 443);
	ck_assert_uint_eq(addr_port(&b.addr), 443);
	ck_assert_str_eq(b.host, "127.0.0.1");
	ck_assert_str_eq(b.hostport, "127.0.0.1");
	ck_assert_msg(conf_parse_url("HTTPS://localhost:8443/", &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(b.tls, 1);
	ck_assert_uint_eq(b.port, 8443);
	ck_assert_str_eq(b.host, "localhost");
	ck_assert_str_eq(b.hostport, "localhost:8443");
	ck_assert_int_eq(b.no_verify, 0);
	ck_assert_msg(conf_parse_url("http://127.0.0.1", &b, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(b.tls, 0);
	ck_assert_uint_eq(b.port, 80);
}
END_TEST

START_TEST(test_url_too_long)
{
	struct conf_backend b;
	char url[CONF_URL_MAX + 16], err[256] = "";

	memset(url, 'a', sizeof(url) - 1);
	url[sizeof(url) - 1] = '\0';
	memcpy(url, "http://", 7);
	ck_assert_int_eq(conf_parse_url(url, &b, err, sizeof(err)), -1);
	ck_assert_has(err, "URL too long");
}
END_TEST

/* A separate case: with a slow resolver this may take a few seconds. */
START_TEST(test_url_unresolvable)
{
	struct conf_backend b;
	char err[256] = "";

	ck_assert_int_eq(conf_parse_url("http://no-such-host.invalid:5001", &b, err, sizeof(err)), -1);
	ck_assert_has(err, "cannot resolve \"no-such-host.invalid\": ");
}
END_TEST

/* Whole files */

/* The tutorial's file loads as written, every default filled in. */
START_TEST(test_example)
{
	struct conf *c;
	char err[1024] = "", ip[INET6_ADDRSTRLEN], url[64];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	size_t i;

	ck_assert_msg(conf_load(&c, EXAMPLE, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(err, "");
	ck_assert_str_eq(c->path, EXAMPLE);
	ck_assert_uint_eq(addr_port(&c->listen), 8080);
	ck_assert_str_eq(c->listen_name, have_ipv6() ? "[::]:8080" : "0.0.0.0:8080");
	ck_assert_uint_eq(c->health_interval_ms, 2000);
	ck_assert_uint_eq(c->workers, cpus < 1 ? 1 : cpus > 64 ? 64 : (unsigned)cpus);
	ck_assert_str_eq(c->health.path, "/");
	ck_assert_uint_eq(c->health.timeout_ms, 1000);
	ck_assert_uint_eq(c->health.rise, 1);
	ck_assert_uint_eq(c->health.fall, 1);
	ck_assert_int_eq(c->health.expect_status, 0);
	ck_assert_int_eq(c->expose_server_header, 1);
	ck_assert_int_eq(c->drop_underscore_headers, 1);
	ck_assert_uint_eq(c->nbackends, 3);
	for (i = 0; i < 3; i++) {
		snprintf(url, sizeof(url), "http://localhost:%zu", 5001 + i);
		ck_assert_str_eq(c->backends[i].url, url);
		ck_assert_str_eq(c->backends[i].host, "localhost");
		ck_assert_uint_eq(c->backends[i].port, 5001 + i);
		ck_assert_int_eq(c->backends[i].addr.ss.ss_family, AF_INET);
		ck_assert_str_eq(addr_ip(&c->backends[i].addr, ip, sizeof(ip)), "127.0.0.1");
		ck_assert_uint_eq(addr_port(&c->backends[i].addr), 5001 + i);
	}
	conf_free(c);
}
END_TEST

START_TEST(test_full)
{
	struct conf *c;
	char err[1024] = "", ip[INET6_ADDRSTRLEN];

	ck_assert_msg(conf_load(&c, GOOD_DIR "/full.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->listen_name, "127.0.0.1:8080");
	ck_assert_int_eq(c->listen.ss.ss_family, AF_INET);
	ck_assert_uint_eq(c->health_interval_ms, 90000);
	ck_assert_uint_eq(c->workers, 4);
	ck_assert_int_eq(c->expose_server_header, 0);
	ck_assert_int_eq(c->drop_underscore_headers, 0);
	ck_assert_str_eq(c->health.path, "/healthz?full=1");
	ck_assert_uint_eq(c->health.timeout_ms, 500);
	ck_assert_uint_eq(c->health.rise, 2);
	ck_assert_uint_eq(c->health.fall, 3);
	ck_assert_int_eq(c->health.expect_status, 204);
	ck_assert_uint_eq(c->nbackends, 4);
	ck_assert_str_eq(c->backends[1].url, "http://localhost:5002/");
	ck_assert_str_eq(c->backends[1].hostport, "localhost:5002");
	ck_assert_str_eq(c->backends[2].hostport, "[::1]:5003");
	ck_assert_str_eq(addr_ip(&c->backends[2].addr, ip, sizeof(ip)), "::1");
	ck_assert_uint_eq(c->backends[3].port, 80);
	ck_assert_str_eq(c->backends[3].hostport, "10.0.0.7");
	conf_free(c);
}
END_TEST

/* Servers as objects, mixed with strings; keys in any order. */
START_TEST(test_policies)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, GOOD_DIR "/policies.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->algorithm, "weighted-round-robin");
	ck_assert_ptr_eq(c->policy, policy_find("weighted-round-robin", NULL));
	ck_assert_uint_eq(c->nbackends, 5);
	ck_assert_str_eq(c->backends[0].url, "http://127.0.0.1:5001");
	ck_assert_uint_eq(c->backends[0].weight, 1);
	ck_assert_uint_eq(c->backends[0].max_connections, 0);
	ck_assert_int_eq(c->backends[0].backup, 0);
	ck_assert_uint_eq(c->backends[1].weight, 3);
	ck_assert_uint_eq(c->backends[2].weight, 1000);
	ck_assert_uint_eq(c->backends[2].max_connections, 200);
	ck_assert_str_eq(c->backends[3].url, "http://127.0.0.1:5004/");
	ck_assert_str_eq(c->backends[3].hostport, "127.0.0.1:5004");
	ck_assert_uint_eq(c->backends[3].port, 5004);
	ck_assert_uint_eq(addr_port(&c->backends[3].addr), 5004);
	ck_assert_uint_eq(c->backends[3].weight, 1);
	ck_assert_int_eq(c->backends[3].backup, 1);
	ck_assert_int_eq(c->backends[4].backup, 0);
	conf_free(c);
}
END_TEST

/* "hash" on a header, with a seed; ip-hash and a bare hash hash on the client address. */
START_TEST(test_hash_key)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, GOOD_DIR "/hash.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_eq(c->policy, policy_find("hash", NULL));
	ck_assert_int_eq(c->hash_key.kind, HASHKEY_HEADER);
	ck_assert_str_eq(c->hash_key.name, "X-User");
	ck_assert_str_eq(c->hash_seed, "fleet-a");
	ck_assert_uint_eq(c->backends[0].weight, 2);
	conf_free(c);
	ck_assert_msg(conf_load_string(&c, "{\"port\": 8080, \"algorithm\": \"ip-hash\", "
	    "\"servers\": [\"http://127.0.0.1:1\"]}", "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->hash_key.kind, HASHKEY_CLIENT_IP);
	ck_assert_ptr_null(c->hash_seed);
	conf_free(c);
	ck_assert_msg(conf_load_string(&c, "{\"port\": 8080, \"algorithm\": \"hash\", "
	    "\"servers\": [\"http://127.0.0.1:1\"]}", "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->hash_key.kind, HASHKEY_CLIENT_IP);
	conf_free(c);
	ck_assert_msg(conf_load_string(&c, "{\"port\": 8080, \"algorithm\": \"ip-hash\", "
	    "\"hashKey\": \"clientIp\", \"servers\": [\"http://127.0.0.1:1\"]}", "x", err,
	    sizeof(err)) == 0, "%s", err);
	conf_free(c);
	ck_assert_msg(conf_load_string(&c, "{\"port\": 8080, \"servers\": [\"http://127.0.0.1:1\"]}",
	    "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->hash_key.kind, 0);
	conf_free(c);
}
END_TEST

/* "sticky" with every key; absent, it is off. */
START_TEST(test_sticky)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, GOOD_DIR "/sticky.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->sticky.cookie, "RONDOSRV");
	ck_assert_uint_eq(c->sticky.max_age_ms, 3600 * 1000);
	ck_assert_str_eq(c->sticky.path, "/app");
	ck_assert_str_eq(c->sticky.domain, "example.com");
	ck_assert_int_eq(c->sticky.keep_in_request, 1);
	conf_free(c);
	ck_assert_msg(conf_load(&c, EXAMPLE, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_null(c->sticky.cookie);
	ck_assert_int_eq(c->sticky.keep_in_request, 0);
	conf_free(c);
}
END_TEST

/* "queue": max and timeout; without it, no queue. */
START_TEST(test_queue)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, GOOD_DIR "/queue.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c->queue.max, 500);
	ck_assert_uint_eq(c->queue.timeout_ms, 2000);
	ck_assert_uint_eq(c->slow_start_ms, 30000);
	conf_free(c);
	ck_assert_msg(conf_load_string(&c, "{\"port\": 8080, \"queue\": {\"max\": 1}, "
	    "\"servers\": [\"http://127.0.0.1:1\"]}", "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c->queue.timeout_ms, 5000);
	conf_free(c);
	ck_assert_msg(conf_load(&c, EXAMPLE, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c->queue.max, 0);
	ck_assert_uint_eq(c->slow_start_ms, 0);
	conf_free(c);
}
END_TEST

/* Each algorithm by name, and where a weight is accepted. */
static const struct {
	const char		*name;
	int			 weighted;
} algorithms[] = {
	{ "round-robin",		0 },
	{ "weighted-round-robin",	1 },
	{ "least-connections",		1 },
	{ "hash",			1 },
	{ "ip-hash",			1 },
	{ "random-two-choices",		0 },
};

START_TEST(test_algorithm)
{
	struct conf *c;
	char json[512], err[1024] = "";
	int rc;

	ck_assert_ptr_nonnull(policy_find(algorithms[_i].name, NULL));
	snprintf(json, sizeof(json), "{\"port\": 8080, \"algorithm\": \"%s\", \"servers\":"
	    " [\"http://127.0.0.1:1\", {\"url\": \"http://127.0.0.1:2\", \"weight\": 1,"
	    " \"maxConnections\": 5}]}", algorithms[_i].name);
	ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->algorithm, algorithms[_i].name);
	ck_assert_ptr_eq(c->policy, policy_find(algorithms[_i].name, NULL));
	ck_assert_int_eq(!!(c->policy->flags & LB_WEIGHTED), algorithms[_i].weighted);
	ck_assert_uint_eq(c->backends[1].max_connections, 5);
	conf_free(c);
	snprintf(json, sizeof(json), "{\"port\": 8080, \"algorithm\": \"%s\", \"servers\":"
	    " [\"http://127.0.0.1:1\", {\"url\": \"http://127.0.0.1:2\", \"weight\": 7}]}",
	    algorithms[_i].name);
	rc = conf_load_string(&c, json, "x", err, sizeof(err));
	if (algorithms[_i].weighted) {
		ck_assert_msg(rc == 0, "%s", err);
		ck_assert_uint_eq(c->backends[1].weight, 7);
		conf_free(c);
	} else {
		ck_assert_int_eq(rc, -1);
		ck_assert_has(err, "x: servers[1].weight: weight has no effect with algorithm ");
	}
}
END_TEST

/* The default is round robin; the tutorial's plain strings get weight 1. */
START_TEST(test_algorithm_default)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, EXAMPLE, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->algorithm, "round-robin");
	ck_assert_ptr_eq(c->policy, policy_default());
	ck_assert_uint_eq(c->backends[0].weight, 1);
	ck_assert_uint_eq(c->backends[0].max_connections, 0);
	ck_assert_int_eq(c->backends[0].backup, 0);
	conf_free(c);
	ck_assert_ptr_null(policy_find("ip_hash", NULL));
}
END_TEST

/* Problems inside server objects come with the others, in file order. */
START_TEST(test_server_object_errors)
{
	struct conf *c;
	char err[2048];

	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": 8080, \"algorithm\": \"ip-hash\", \"servers\": ["
	    "{\"weight\": 0, \"url\": \"ftp://x\", \"backup\": 1, \"Weight\": 2},"
	    " {\"url\": \"http://127.0.0.1:1\", \"maxConnections\": 1000001}, 7]}",
	    "config.json", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "config.json: servers[0].weight: must be between 1 and 1000\n"
	    "config.json: servers[0].url: expected an http:// or https:// URL\n"
	    "config.json: servers[0].backup: expected true or false\n"
	    "config.json: servers[0].Weight: unknown key\n"
	    "config.json: servers[1].maxConnections: must be between 0 and 1000000\n"
	    "config.json: servers[2]: expected an http:// URL or an object such as "
	    "{\"url\": \"http://10.0.0.5:8080\", \"weight\": 2}");
	/* Cross-field checks come once the rest is valid, one per server. */
	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": 8080, \"servers\": [{\"url\": \"http://127.0.0.1:1\", \"weight\": 2,"
	    " \"backup\": true}, {\"url\": \"http://127.0.0.1:2\", \"weight\": 3, \"backup\": true}]}",
	    "config.json", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "config.json: servers[0].weight: weight has no effect with algorithm round-robin\n"
	    "config.json: servers[1].weight: weight has no effect with algorithm round-robin\n"
	    "config.json: servers: every server is a backup: at least one must not be");
}
END_TEST

/* Every key of the second generation at its default, on the tutorial's file. */
START_TEST(test_defaults)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, EXAMPLE, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c->timeouts.connect_ms, 5000);
	ck_assert_uint_eq(c->timeouts.client_header_ms, 10000);
	ck_assert_uint_eq(c->timeouts.client_body_ms, 30000);
	ck_assert_uint_eq(c->timeouts.server_ms, 60000);
	ck_assert_uint_eq(c->timeouts.idle_ms, 60000);
	ck_assert_uint_eq(c->timeouts.tunnel_ms, 3600000);
	ck_assert_uint_eq(c->limits.header_size, 8192);
	ck_assert_uint_eq(c->limits.uri_size, 4096);
	ck_assert_uint_eq(c->limits.headers, 100);
	ck_assert_uint_eq(c->retries, 2);
	ck_assert_uint_eq(c->busy_poll_us, 20);
	ck_assert_uint_eq(c->max_connections, 0);
	ck_assert_uint_eq(c->max_fails, 0);
	ck_assert_uint_eq(c->fail_timeout_ms, 10000);
	/* No status counts as a backend failure unless listed. */
	ck_assert_int_eq(conf_passive_status(c, 500), 0);
	ck_assert_int_eq(conf_passive_status(c, 502), 0);
	ck_assert_int_eq(conf_passive_status(c, 503), 0);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 30000);
	ck_assert_ptr_null(c->pid_file);
	ck_assert_ptr_null(c->user);
	ck_assert_ptr_null(c->group);
	ck_assert_ptr_null(c->access_log);
	ck_assert_int_eq(c->access_log_format, ACCESSLOG_COMBINED);
	ck_assert_int_eq(c->admin, 0);
	ck_assert_str_eq(c->admin_name, "");
	conf_free(c);
}
END_TEST

/* "splice" is on unless turned off. */
START_TEST(test_splice)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, GOOD_DIR "/minimal.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->splice, 1);
	conf_free(c);
	ck_assert_msg(conf_load(&c, GOOD_DIR "/splice-off.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->splice, 0);
	conf_free(c);
}
END_TEST

/* Every key of the second generation away from its default. */
START_TEST(test_tuning)
{
	struct conf *c;
	char err[1024] = "", ip[INET6_ADDRSTRLEN];

	ck_assert_msg(conf_load(&c, GOOD_DIR "/tuning.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c->timeouts.connect_ms, 250);
	ck_assert_uint_eq(c->timeouts.client_header_ms, 2000);
	ck_assert_uint_eq(c->timeouts.client_body_ms, 60000);
	ck_assert_uint_eq(c->timeouts.server_ms, 90000);
	ck_assert_uint_eq(c->timeouts.idle_ms, 5000);
	ck_assert_uint_eq(c->timeouts.tunnel_ms, 86400000);
	ck_assert_uint_eq(c->limits.header_size, 12288);
	ck_assert_uint_eq(c->limits.uri_size, 12288);
	ck_assert_uint_eq(c->limits.headers, 1);
	ck_assert_uint_eq(c->retries, 0);
	ck_assert_uint_eq(c->max_connections, 1000000);
	/* The global cap and a server's own are two things. */
	ck_assert_uint_eq(c->backends[0].max_connections, 50);
	ck_assert_uint_eq(c->backends[1].max_connections, 0);
	ck_assert_uint_eq(c->max_fails, 3);
	ck_assert_uint_eq(c->fail_timeout_ms, 1500);
	ck_assert_int_eq(conf_passive_status(c, 500), 0);
	ck_assert_int_eq(conf_passive_status(c, 501), 0);
	ck_assert_int_eq(conf_passive_status(c, 502), 1);
	ck_assert_int_eq(conf_passive_status(c, 503), 1);
	ck_assert_int_eq(conf_passive_status(c, 504), 1);
	ck_assert_int_eq(conf_passive_status(c, 505), 0);
	ck_assert_int_eq(conf_passive_status(c, 200), 0);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 120000);
	ck_assert_str_eq(c->pid_file, "run/rondo.pid");
	ck_assert_str_eq(c->user, "root");
	ck_assert_str_eq(c->group, "root");
	ck_assert_str_eq(c->access_log, "/var/log/rondo/access.log");
	ck_assert_int_eq(c->access_log_format, ACCESSLOG_JSON);
	ck_assert_int_eq(c->admin, 1);
	ck_assert_str_eq(c->admin_name, "127.0.0.1:8081");
	ck_assert_int_eq(c->admin_listen.ss.ss_family, AF_INET);
	ck_assert_uint_eq(c->admin_listen.len, sizeof(struct sockaddr_in));
	ck_assert_str_eq(addr_ip(&c->admin_listen, ip, sizeof(ip)), "127.0.0.1");
	ck_assert_uint_eq(addr_port(&c->admin_listen), 8081);
	conf_free(c);
}
END_TEST

/* Empty objects take every default; "admin": {} listens on 127.0.0.1:9090. */
START_TEST(test_admin_defaults)
{
	struct conf *c;
	char err[1024] = "", ip[INET6_ADDRSTRLEN];

	ck_assert_msg(conf_load(&c, GOOD_DIR "/admin-defaults.json", err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_uint_eq(c->timeouts.connect_ms, 5000);
	ck_assert_uint_eq(c->timeouts.tunnel_ms, 3600000);
	ck_assert_uint_eq(c->limits.header_size, 8192);
	ck_assert_uint_eq(c->limits.uri_size, 4096);
	ck_assert_uint_eq(c->limits.headers, 100);
	ck_assert_str_eq(c->access_log, "-");
	ck_assert_int_eq(c->access_log_format, ACCESSLOG_COMBINED);
	ck_assert_str_eq(c->user, "root");
	ck_assert_str_eq(c->group, "root");
	ck_assert_int_eq(c->admin, 1);
	ck_assert_str_eq(c->admin_name, "127.0.0.1:9090");
	ck_assert_int_eq(c->admin_listen.ss.ss_family, AF_INET);
	ck_assert_str_eq(addr_ip(&c->admin_listen, ip, sizeof(ip)), "127.0.0.1");
	ck_assert_uint_eq(addr_port(&c->admin_listen), 9090);
	conf_free(c);
}
END_TEST

#ifdef HAVE_TLS
/* fixtures/good/tls.json: every key of "tls" lands in struct conf_tls. */
START_TEST(test_tls_keys)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load(&c, GOOD_DIR "/tls.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->tls.enabled, 1);
	ck_assert_uint_eq(c->listen.len != 0, 1);
	ck_assert_uint_eq(addr_port(&c->tls.listen), 8443);
	ck_assert_uint_eq(c->tls.ncerts, 2);
	ck_assert_str_eq(c->tls.certs[0].cert, "/etc/rondo/example.com.pem");
	ck_assert_str_eq(c->tls.certs[1].key, "/etc/rondo/other.org.key");
	ck_assert_uint_eq(c->tls.protocols, CONF_TLS_V1_3);
	ck_assert_str_eq(c->tls.ciphers, "ECDHE+AESGCM");
	ck_assert_str_eq(c->tls.ciphersuites, "TLS_AES_256_GCM_SHA384");
	ck_assert_uint_eq(c->tls.ticket_rotation_ms, 3600 * 1000);
	ck_assert_int_eq(c->tls.redirect_http, 1);
	ck_assert_str_eq(c->tls.client_ca, "/etc/rondo/clients.pem");
	ck_assert_str_eq(c->tls.backend_ca, "/etc/rondo/backends.pem");
	ck_assert_int_eq(c->backends[0].tls, 0);
	ck_assert_int_eq(c->backends[1].tls, 1);
	ck_assert_int_eq(c->backends[1].no_verify, 0);
	conf_free(c);
}
END_TEST

/* Without "tls" nothing changes; TLS alone needs no "port"; "verify": false is kept. */
START_TEST(test_tls_defaults)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load_string(&c, "{" MINIMAL "}", "t", err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->tls.enabled, 0);
	ck_assert_uint_eq(c->tls.ncerts, 0);
	ck_assert_uint_eq(c->tls.protocols, CONF_TLS_V1_2 | CONF_TLS_V1_3);
	ck_assert_uint_eq(c->tls.ticket_rotation_ms, 12 * 3600 * 1000);
	ck_assert_ptr_null(c->tls.ciphers);
	ck_assert_int_eq(c->tls.redirect_http, 0);
	conf_free(c);
	ck_assert_msg(conf_load(&c, GOOD_DIR "/tls-only.json", err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(c->listen.len, 0);
	ck_assert_int_eq(c->tls.enabled, 1);
	ck_assert_str_eq(c->tls.listen_name, c->tls.listen.ss.ss_family == AF_INET6 ?
	    "[::]:8443" : "0.0.0.0:8443");
	conf_free(c);
	ck_assert_msg(conf_load(&c, GOOD_DIR "/tls-server-verify-off.json", err, sizeof(err)) == 0,
	    "%s", err);
	ck_assert_int_eq(c->backends[0].tls, 1);
	ck_assert_int_eq(c->backends[0].no_verify, 1);
	ck_assert_int_eq(c->backends[1].no_verify, 0);
	conf_free(c);
}
END_TEST
#else
/* A build without OpenSSL refuses whatever asks for TLS, and says why. */
START_TEST(test_tls_not_built)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_int_eq(conf_load(&c, GOOD_DIR "/tls.json", err, sizeof(err)), -1);
	ck_assert_has(err, ": tls: rondo was built without TLS");
	ck_assert_int_eq(conf_load(&c, GOOD_DIR "/server-https.json", err, sizeof(err)), -1);
	ck_assert_has(err, ": servers[1]: https:// needs TLS: rondo was built without TLS");
}
END_TEST
#endif

/* examples/config-full.json: every key, once. */
START_TEST(test_example_full)
{
	struct conf *c;
	char err[1024] = "";

#ifndef HAVE_TLS
	ck_assert_int_eq(conf_load(&c, EXAMPLE_FULL, err, sizeof(err)), -1);
	ck_assert_has(err, "tls: rondo was built without TLS");
	return;
#endif
	ck_assert_msg(conf_load(&c, EXAMPLE_FULL, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->listen_name, "127.0.0.1:8080");
	ck_assert_uint_eq(c->tls.ncerts, 2);
	ck_assert_str_eq(c->tls.listen_name, "127.0.0.1:8443");
	ck_assert_uint_eq(c->workers, 4);
	ck_assert_str_eq(c->algorithm, "least-connections");
	ck_assert_uint_eq(c->nbackends, 3);
	ck_assert_uint_eq(c->backends[0].weight, 2);
	ck_assert_uint_eq(c->backends[0].max_connections, 200);
	ck_assert_int_eq(c->backends[0].send_proxy, 0);
	ck_assert_int_eq(c->backends[1].send_proxy, 2);
	ck_assert_int_eq(c->backends[2].backup, 1);
	ck_assert_int_eq(c->proxy_protocol, 1);
	ck_assert_uint_eq(c->pp_trusted.n, 3);
	ck_assert_uint_eq(c->trusted_proxies.n, 1);
	ck_assert_str_eq(c->monitor_path, "/rondo/health");
	ck_assert_uint_eq(c->stop_grace_ms, 5000);
	ck_assert_uint_eq(c->health_interval_ms, 2000);
	ck_assert_str_eq(c->health.path, "/health");
	ck_assert_int_eq(c->health.expect_status, 200);
	ck_assert_int_eq(c->expose_server_header, 1);
	ck_assert_int_eq(c->drop_underscore_headers, 1);
	ck_assert_uint_eq(c->timeouts.connect_ms, 5000);
	ck_assert_uint_eq(c->timeouts.client_header_ms, 10000);
	ck_assert_uint_eq(c->timeouts.client_body_ms, 30000);
	ck_assert_uint_eq(c->timeouts.server_ms, 60000);
	ck_assert_uint_eq(c->timeouts.idle_ms, 60000);
	ck_assert_uint_eq(c->timeouts.tunnel_ms, 3600000);
	ck_assert_uint_eq(c->limits.header_size, 8192);
	ck_assert_uint_eq(c->limits.uri_size, 4096);
	ck_assert_uint_eq(c->limits.headers, 100);
	ck_assert_uint_eq(c->retries, 2);
	ck_assert_uint_eq(c->max_connections, 10000);
	ck_assert_uint_eq(c->max_fails, 3);
	ck_assert_uint_eq(c->fail_timeout_ms, 10000);
	ck_assert_uint_eq(c->shutdown_timeout_ms, 30000);
	ck_assert_str_eq(c->pid_file, "/run/rondo.pid");
	ck_assert_str_eq(c->user, "nobody");
	ck_assert_str_eq(c->group, "nogroup");
	ck_assert_str_eq(c->access_log, "/var/log/rondo/access.log");
	ck_assert_int_eq(c->access_log_format, ACCESSLOG_COMBINED);
	ck_assert_int_eq(c->admin, 1);
	ck_assert_str_eq(c->admin_name, "127.0.0.1:9090");
	ck_assert_str_eq(c->admin_token, "replace-with-a-long-random-secret");
	conf_free(c);
}
END_TEST

/* Values at the edges of their ranges, inline. */
static const struct {
	const char	*json;		/* after MINIMAL */
	size_t		 off;		/* offsetof the unsigned field in struct conf */
	unsigned	 want;
} edges[] = {
	{ "\"retries\": 0",				offsetof(struct conf, retries),		0 },
	{ "\"retries\": 10",				offsetof(struct conf, retries),		10 },
	{ "\"busyPoll\": 0",				offsetof(struct conf, busy_poll_us),	0 },
	{ "\"busyPoll\": 1000",				offsetof(struct conf, busy_poll_us),	1000 },
	{ "\"maxConnections\": 0",			offsetof(struct conf, max_connections),	0 },
	{ "\"maxConnections\": 1",			offsetof(struct conf, max_connections),	1 },
	{ "\"maxFails\": 0",				offsetof(struct conf, max_fails),	0 },
	{ "\"maxFails\": 1000",				offsetof(struct conf, max_fails),	1000 },
	{ "\"limits\": {\"headerSize\": 1024}",		offsetof(struct conf, limits.header_size), 1024 },
	{ "\"limits\": {\"headerSize\": 1024}",		offsetof(struct conf, limits.uri_size),	1024 },
	{ "\"limits\": {\"headerSize\": 4095}",		offsetof(struct conf, limits.uri_size),	4095 },
	{ "\"limits\": {\"headerSize\": 4097}",		offsetof(struct conf, limits.uri_size),	4096 },
	{ "\"limits\": {\"headerSize\": 14336}",	offsetof(struct conf, limits.header_size), 14336 },
	{ "\"limits\": {\"uriSize\": 256}",		offsetof(struct conf, limits.uri_size),	256 },
	{ "\"limits\": {\"uriSize\": 8192}",		offsetof(struct conf, limits.uri_size),	8192 },
	{ "\"limits\": {\"headerSize\": 14336, \"uriSize\": 14336}",
							offsetof(struct conf, limits.uri_size),	14336 },
	{ "\"limits\": {\"uriSize\": 1024, \"headerSize\": 1024}",
							offsetof(struct conf, limits.header_size), 1024 },
	{ "\"limits\": {\"headers\": 1}",		offsetof(struct conf, limits.headers),	1 },
	{ "\"limits\": {\"headers\": 100}",		offsetof(struct conf, limits.headers),	100 },
};

START_TEST(test_edges)
{
	struct conf *c;
	char json[512], err[1024] = "";

	snprintf(json, sizeof(json), "{" MINIMAL ", %s}", edges[_i].json);
	ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0, "%s: %s", json, err);
	ck_assert_uint_eq(*(const unsigned *)(const void *)((const char *)c + edges[_i].off),
	    edges[_i].want);
	conf_free(c);
}
END_TEST

/* Each timeout, at 1ms and at 24h, and the others stay at their defaults. */
START_TEST(test_timeouts)
{
	static const char *const names[] = {
		"connect", "clientHeader", "clientBody", "server", "idle", "tunnel",
	};
	static const uint64_t defaults[] = { 5000, 10000, 30000, 60000, 60000, 3600000 };
	struct conf *c;
	char json[512], err[1024] = "";
	uint64_t got[6];
	size_t i, j;

	ck_assert_uint_eq(NELEM(names), NELEM(defaults));
	for (i = 0; i < NELEM(names); i++) {
		for (j = 0; j < 2; j++) {
			snprintf(json, sizeof(json), "{" MINIMAL ", \"timeouts\": {\"%s\": \"%s\"}}",
			    names[i], j == 0 ? "1ms" : "24h");
			ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0,
			    "%s: %s", json, err);
			got[0] = c->timeouts.connect_ms;
			got[1] = c->timeouts.client_header_ms;
			got[2] = c->timeouts.client_body_ms;
			got[3] = c->timeouts.server_ms;
			got[4] = c->timeouts.idle_ms;
			got[5] = c->timeouts.tunnel_ms;
			conf_free(c);
			for (size_t k = 0; k < NELEM(names); k++)
				ck_assert_uint_eq(got[k], k != i ? defaults[k] : j == 0 ? 1 : 86400000);
		}
		snprintf(json, sizeof(json), "{" MINIMAL ", \"timeouts\": {\"%s\": \"24h1ms\"}}",
		    names[i]);
		ck_assert_int_eq(conf_load_string(&c, json, "x", err, sizeof(err)), -1);
		snprintf(json, sizeof(json), "x: timeouts.%s: must be at most 24h", names[i]);
		ck_assert_str_eq(err, json);
	}
}
END_TEST

/* "accessLog" and "accessLogFormat" values. */
static const struct {
	const char	*json;
	const char	*path;		/* NULL: off */
	int		 format;
} access_logs[] = {
	{ "\"accessLog\": \"off\"",				NULL,		ACCESSLOG_COMBINED },
	{ "\"accessLog\": \"-\"",				"-",		ACCESSLOG_COMBINED },
	{ "\"accessLog\": \"access.log\"",			"access.log",	ACCESSLOG_COMBINED },
	{ "\"accessLog\": \"/var/log/a b.log\"",		"/var/log/a b.log", ACCESSLOG_COMBINED },
	{ "\"accessLog\": \"OFF\"",				"OFF",		ACCESSLOG_COMBINED },
	{ "\"accessLogFormat\": \"json\"",			NULL,		ACCESSLOG_JSON },
	{ "\"accessLogFormat\": \"combined\"",			NULL,		ACCESSLOG_COMBINED },
	{ "\"accessLog\": \"-\", \"accessLogFormat\": \"json\"", "-",		ACCESSLOG_JSON },
};

START_TEST(test_access_log)
{
	struct conf *c;
	char json[512], err[1024] = "";

	snprintf(json, sizeof(json), "{" MINIMAL ", %s}", access_logs[_i].json);
	ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0, "%s: %s", json, err);
	if (access_logs[_i].path == NULL)
		ck_assert_ptr_null(c->access_log);
	else
		ck_assert_str_eq(c->access_log, access_logs[_i].path);
	ck_assert_int_eq(c->access_log_format, access_logs[_i].format);
	conf_free(c);
}
END_TEST

/* The user and group this test runs as exist, whoever that is. */
START_TEST(test_user_group)
{
	struct passwd *pw;
	struct group *gr;
	struct conf *c;
	char user[256], group[256], json[1024], err[1024] = "";

	ck_assert_ptr_nonnull(pw = getpwuid(getuid()));
	snprintf(user, sizeof(user), "%s", pw->pw_name);
	ck_assert_ptr_nonnull(gr = getgrgid(getgid()));
	snprintf(group, sizeof(group), "%s", gr->gr_name);

	snprintf(json, sizeof(json), "{" MINIMAL ", \"user\": \"%s\", \"group\": \"%s\"}",
	    user, group);
	ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->user, user);
	ck_assert_str_eq(c->group, group);
	conf_free(c);

	snprintf(json, sizeof(json), "{" MINIMAL ", \"user\": \"%s\"}", user);
	ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(c->user, user);
	ck_assert_ptr_null(c->group);
	conf_free(c);

	/* A group alone would leave the uid 0: refused. */
	snprintf(json, sizeof(json), "{" MINIMAL ", \"group\": \"%s\"}", group);
	ck_assert_int_eq(conf_load_string(&c, json, "x", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x: group: needs \"user\" too: without it rondo would keep running as root");

	/* Both looked up, both reported. */
	ck_assert_int_eq(conf_load_string(&c, "{" MINIMAL ", \"user\": \"rondo-nobody-1\","
	    " \"group\": \"rondo-nogroup-1\"}", "x", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x: user: no such user \"rondo-nobody-1\"\n"
	    "x: group: no such group \"rondo-nogroup-1\"");
}
END_TEST

/* "admin": where it listens, and the addresses it may not share with "port". */
static const struct {
	const char	*port;
	const char	*admin;
	const char	*name;		/* admin_name, or NULL: refused */
} admins[] = {
	{ "8080",		"{}",					"127.0.0.1:9090" },
	{ "8080",		"{\"listen\": \"127.0.0.1:9191\"}",	"127.0.0.1:9191" },
	{ "8080",		"{\"listen\": 9191, \"token\": \"0123456789abcdef\"}", "" },	/* wildcard */
	{ "8080",		"{\"listen\": \":9191\", \"token\": \"0123456789abcdef\"}", "" },
	{ "8080",		"{\"listen\": \"localhost:9191\"}",	"127.0.0.1:9191" },
	{ "\"127.0.0.1:8080\"",	"{\"listen\": \"127.0.0.2:8080\"}",	"127.0.0.2:8080" },
	{ "\"127.0.0.1:8080\"",	"{\"listen\": \"[::ffff:127.0.0.1]:9090\"}", "[::ffff:127.0.0.1]:9090" },
	{ "\"127.0.0.1:8080\"",	"{\"listen\": \"[::1]:8080\"}",		"[::1]:8080" },
	{ "\"0.0.0.0:8080\"",	"{\"listen\": \"[::1]:8080\"}",		"[::1]:8080" },
	{ "\"[::1]:8080\"",	"{\"listen\": \"127.0.0.1:8080\"}",	"127.0.0.1:8080" },
	{ "\"127.0.0.1:9090\"",	"{\"listen\": \"127.0.0.1:9091\"}",	"127.0.0.1:9091" },
	{ "\"127.0.0.1:8080\"",	"{\"listen\": \"127.0.0.1:8080\"}",	NULL },
	{ "8080",		"{\"listen\": 8080, \"token\": \"0123456789abcdef\"}", NULL },
	{ "\"127.0.0.1:9090\"",	"{}",					NULL },
	{ "8080",		"{\"listen\": \"127.0.0.1:8080\"}",	NULL },
	{ "\"127.0.0.1:8080\"",	"{\"listen\": \":8080\"}",		NULL },
	{ "\"127.0.0.1:8080\"",	"{\"listen\": \"[::]:8080\"}",		NULL },
	{ "\"[::]:8080\"",	"{\"listen\": \"10.0.0.1:8080\", \"token\": \"0123456789abcdef\"}", NULL },
	{ "\"0.0.0.0:8080\"",	"{\"listen\": \"127.0.0.1:8080\"}",	NULL },
	{ "\"[::1]:8080\"",	"{\"listen\": \"[::1]:8080\"}",		NULL },
	{ "\"127.0.0.1:8080\"",	"{\"listen\": \"[::ffff:127.0.0.1]:8080\"}", NULL },
};

START_TEST(test_admin)
{
	struct conf *c;
	char json[512], err[1024] = "";
	int rc;

	snprintf(json, sizeof(json), "{\"port\": %s, \"servers\": [\"http://127.0.0.1:5001\"],"
	    " \"admin\": %s}", admins[_i].port, admins[_i].admin);
	rc = conf_load_string(&c, json, "x", err, sizeof(err));
	if (admins[_i].name == NULL) {
		ck_assert_msg(rc == -1, "%s accepted", json);
		ck_assert_has(err, "x: admin.listen: ");
		ck_assert_has(err, " is also where port (");
		ck_assert_has(err, ") listens: the admin listener needs an address of its own");
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", json, err);
	ck_assert_int_eq(c->admin, 1);
	if (admins[_i].name[0] != '\0')
		ck_assert_str_eq(c->admin_name, admins[_i].name);
	else
		ck_assert_str_eq(c->admin_name, have_ipv6() ? "[::]:9191" : "0.0.0.0:9191");
	conf_free(c);
}
END_TEST

START_TEST(test_admin_off)
{
	struct conf *c;
	char err[1024] = "";

	ck_assert_msg(conf_load_string(&c, "{" MINIMAL ", \"admin\": false}", "x", err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->admin, 0);
	ck_assert_str_eq(c->admin_name, "");
	conf_free(c);
	/* Off, even on the main address: nothing to clash with. */
	ck_assert_msg(conf_load_string(&c, "{\"port\": \"127.0.0.1:9090\","
	    " \"servers\": [\"http://127.0.0.1:5001\"], \"admin\": false}", "x", err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(c->admin, 0);
	conf_free(c);
	ck_assert_int_eq(conf_load_string(&c, "{" MINIMAL ", \"admin\": null}", "x", err,
	    sizeof(err)), -1);
	ck_assert_str_eq(err, "x: admin: expected an object such as {\"listen\": \"127.0.0.1:9090\"}, "
	    "or false");
}
END_TEST

/*
 * "admin": a token, given inline or in a file; required beyond loopback.
 * why: NULL = accepted with token tok (NULL: none).
 */
static const struct {
	const char	*admin;
	const char	*tok;
	const char	*why;
} admin_tokens[] = {
	{ "{}",							NULL, NULL },
	{ "{\"listen\": \"[::1]:9191\"}",				NULL, NULL },
	{ "{\"listen\": \"127.0.0.5:9191\"}",			NULL, NULL },
	{ "{\"token\": \"0123456789abcdef\"}",			"0123456789abcdef", NULL },
	{ "{\"listen\": \":9191\", \"token\": \"0123456789abcdef!~\"}", "0123456789abcdef!~", NULL },
	{ "{\"listen\": \":9191\"}",					NULL,
	  "x: admin.listen: [::]:9191 is not a loopback address: anyone who can reach it could drain "
	  "the backends; set admin.token or admin.tokenFile, or listen on 127.0.0.1 or [::1]" },
	{ "{\"listen\": 9191}",					NULL, " is not a loopback address" },
	{ "{\"listen\": \"0.0.0.0:9191\"}",				NULL,
	  "x: admin.listen: 0.0.0.0:9191 is not a loopback address" },
	{ "{\"listen\": \"[::]:9191\"}",				NULL, " is not a loopback address" },
	{ "{\"token\": \"0123456789abcde\"}",			NULL,
	  "x: admin.token: the token must be 16 to 4096 characters long (it has 15)" },
	{ "{\"token\": \"\"}",					NULL, "x: admin.token: the token is empty" },
	{ "{\"token\": 1234567890123456789}",			NULL,
	  "x: admin.token: expected a string of at least 16 characters" },
	{ "{\"token\": \"0123456789 abcdef\"}",			NULL,
	  "x: admin.token: the token may hold only visible ASCII characters" },
	{ "{\"token\": \"0123456789abcdef\", \"tokenFile\": \"/nonexistent\"}", NULL,
	  "x: admin: token and tokenFile are exclusive: give one of them" },
	{ "{\"tokenFile\": \"/nonexistent/rondo.token\"}",		NULL,
	  "x: admin.tokenFile: cannot read /nonexistent/rondo.token: No such file or directory" },
	{ "{\"tokenFile\": \"\"}",					NULL, "x: admin.tokenFile: must not be empty" },
};

START_TEST(test_admin_token)
{
	struct conf *c;
	char json[512], err[1024] = "";
	int rc;

	snprintf(json, sizeof(json), "{" MINIMAL ", \"admin\": %s}", admin_tokens[_i].admin);
	rc = conf_load_string(&c, json, "x", err, sizeof(err));
	if (admin_tokens[_i].why != NULL) {
		ck_assert_msg(rc == -1, "%s accepted", json);
		ck_assert_has(err, admin_tokens[_i].why);
		return;
	}
	ck_assert_msg(rc == 0, "%s: %s", json, err);
	if (admin_tokens[_i].tok == NULL)
		ck_assert_ptr_null(c->admin_token);
	else
		ck_assert_str_eq(c->admin_token, admin_tokens[_i].tok);
	conf_free(c);
}
END_TEST

/* Writes <body> to a new temporary file, whose name goes to <path>. */
static void
write_temp(char *path, size_t pathlen, const char *body, size_t len)
{
	const char *tmpdir = getenv("TMPDIR");
	int fd;

	snprintf(path, pathlen, "%s/check_conf.XXXXXX", tmpdir != NULL ? tmpdir : "/tmp");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_int_eq(write(fd, body, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
}

/* "tokenFile": read at load, one trailing newline dropped; empty or short is refused. */
START_TEST(test_admin_token_file)
{
	static const struct {
		const char	*body;
		size_t		 len;
		const char	*tok;		/* NULL: refused with why */
		const char	*why;
	} files[] = {
		{ "0123456789abcdef\n", 17, "0123456789abcdef", NULL },
		{ "0123456789abcdef\r\n", 18, "0123456789abcdef", NULL },
		{ "0123456789abcdefgh", 18, "0123456789abcdefgh", NULL },
		{ "", 0, NULL, ": the token in the file is empty" },
		{ "\n", 1, NULL, ": the token in the file is empty" },
		{ "short\n", 6, NULL, ": the token in the file must be 16 to 4096 characters long (it has 5)" },
		{ "0123456789abcdef\n\n", 18, NULL, ": the token in the file may hold only visible ASCII" },
		{ "0123456789\0abcdef", 17, NULL, "may hold only visible ASCII characters" },
	};
	char path[1024], json[2048], err[2048];
	struct conf *c;
	size_t i;
	int rc;

	for (i = 0; i < NELEM(files); i++) {
		write_temp(path, sizeof(path), files[i].body, files[i].len);
		snprintf(json, sizeof(json), "{" MINIMAL ", \"admin\": {\"listen\": \":9191\","
		    " \"tokenFile\": \"%s\"}}", path);
		rc = conf_load_string(&c, json, "x", err, sizeof(err));
		unlink(path);
		if (files[i].tok == NULL) {
			ck_assert_msg(rc == -1, "file %zu accepted", i);
			ck_assert_has(err, "x: admin.tokenFile: ");
			ck_assert_has(err, files[i].why);
			continue;
		}
		ck_assert_msg(rc == 0, "file %zu: %s", i, err);
		ck_assert_str_eq(c->admin_token, files[i].tok);
		conf_free(c);
	}
}
END_TEST

/* Strings: a NUL inside is refused, the length is bounded, the last copy wins. */
START_TEST(test_strings)
{
	char json[PATH_MAX + 256], err[1024] = "";
	struct conf *c;
	size_t n;

	ck_assert_int_eq(conf_load_string(&c, "{" MINIMAL ", \"pidFile\": \"a\\u0000b\","
	    " \"accessLog\": \"a\\u0000b\", \"user\": \"root\\u0000\", \"group\": \"\\u0000\"}",
	    "x", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "x: pidFile: expected a file name such as \"/run/rondo.pid\"\n"
	    "x: accessLog: expected a file name, \"-\" for standard output, or \"off\"\n"
	    "x: user: expected a user name (a string)\n"
	    "x: group: expected a group name (a string)");

	n = (size_t)snprintf(json, sizeof(json), "{" MINIMAL ", \"pidFile\": \"");
	memset(json + n, 'p', PATH_MAX);
	snprintf(json + n + PATH_MAX, sizeof(json) - n - PATH_MAX, "\"}");
	ck_assert_int_eq(conf_load_string(&c, json, "x", err, sizeof(err)), -1);
	snprintf(json, sizeof(json), "x: pidFile: too long (at most %d bytes)", PATH_MAX - 1);
	ck_assert_str_eq(err, json);

	n = (size_t)snprintf(json, sizeof(json), "{" MINIMAL ", \"accessLog\": \"/");
	memset(json + n, 'a', PATH_MAX - 2);
	snprintf(json + n + PATH_MAX - 2, sizeof(json) - n - PATH_MAX + 2, "\"}");
	ck_assert_msg(conf_load_string(&c, json, "x", err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(strlen(c->access_log), PATH_MAX - 1);
	conf_free(c);

	/* A string given twice is not the last one winning: see test_duplicate_keys. */
	ck_assert_int_eq(conf_load_string(&c, "{" MINIMAL ", \"pidFile\": \"a.pid\","
	    " \"pidFile\": \"b.pid\", \"accessLog\": \"a.log\", \"accessLog\": \"off\"}",
	    "x", err, sizeof(err)), -1);
	ck_assert_ptr_null(c);
	ck_assert_has(err, ": duplicate key \"pidFile\"\n");
	ck_assert_has(err, ": duplicate key \"accessLog\"");
}
END_TEST

/* The new keys' problems come with the others, in file order; cross-field ones after. */
START_TEST(test_new_key_errors)
{
	struct conf *c;
	char err[2048];

	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": 8080, \"timeouts\": {\"server\": \"1\", \"Idle\": \"1s\", \"tunnel\": 5},"
	    " \"retries\": 99, \"limits\": {\"headers\": 0, \"uriSize\": 100000},"
	    " \"maxConnections\": -5, \"servers\": [{\"url\": \"http://127.0.0.1:1\","
	    " \"maxConnections\": 1.5}], \"maxFails\": null, \"failTimeout\": \"1us\","
	    " \"shutdownTimeout\": \"-1s\", \"accessLogFormat\": \"JSON\","
	    " \"admin\": {\"listen\": \"[::1\", \"name\": \"x\"}}",
	    "config.json", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "config.json: timeouts.server: a unit is required, as in \"2s\" or \"500ms\"\n"
	    "config.json: timeouts.Idle: unknown key\n"
	    "config.json: timeouts.tunnel: expected a duration string such as \"500ms\", \"2s\" or \"1m30s\"\n"
	    "config.json: retries: must be between 0 and 10\n"
	    "config.json: limits.headers: must be between 1 and 100\n"
	    "config.json: limits.uriSize: must be between 256 and 14336\n"
	    "config.json: maxConnections: must be between 0 and 1000000\n"
	    "config.json: servers[0].maxConnections: expected an integer between 0 and 1000000\n"
	    "config.json: maxFails: expected an integer between 0 and 1000\n"
	    "config.json: failTimeout: unit must be one of h, m, s or ms\n"
	    "config.json: shutdownTimeout: must be greater than 0\n"
	    "config.json: accessLogFormat: must be \"combined\" or \"json\"\n"
	    "config.json: admin.listen: missing \"]\" after the IPv6 address\n"
	    "config.json: admin.name: unknown key");
	/* Once the rest is valid: both cross-field problems together. */
	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": \"127.0.0.1:8080\", \"servers\": [\"http://127.0.0.1:1\"],"
	    " \"limits\": {\"headerSize\": 1024, \"uriSize\": 1025},"
	    " \"admin\": {\"listen\": \"127.0.0.1:8080\"}}",
	    "config.json", err, sizeof(err)), -1);
	ck_assert_str_eq(err,
	    "config.json: limits.uriSize: must not be larger than limits.headerSize (1024)\n"
	    "config.json: admin.listen: 127.0.0.1:8080 is also where port (127.0.0.1:8080) listens: "
	    "the admin listener needs an address of its own");
}
END_TEST

START_TEST(test_good_fixtures)
{
	struct conf *c;
	struct dirent *de;
	char path[1024], err[1024];
	size_t n, count = 0;
	DIR *d;

	ck_assert_ptr_nonnull(d = opendir(GOOD_DIR));
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
#ifndef HAVE_TLS
		/* test_tls_not_built checks that these are refused. */
		if (strncmp(de->d_name, "tls", 3) == 0 || strstr(de->d_name, "https") != NULL)
			continue;
#endif
		snprintf(path, sizeof(path), "%s/%s", GOOD_DIR, de->d_name);
		err[0] = '\0';
		ck_assert_msg(conf_load(&c, path, err, sizeof(err)) == 0, "%s", err);
		ck_assert_ptr_nonnull(c);
		ck_assert_uint_ge(c->nbackends, 1);
		conf_free(c);
		count++;
	}
	closedir(d);
	ck_assert_uint_ge(count, 5);
}
END_TEST

/* What each bad fixture must say, after its own path. */
static const struct {
	const char	*file;
	const char	*says;
} bad[] = {
	{ "empty.json",			": empty configuration (expected a JSON object)" },
	{ "nul-byte.json",		":2:18: NUL byte in the file" },
	{ "syntax-trailing-comma.json",	":3:38: unexpected character" },
	{ "syntax-eof.json",		":4:1: unexpected end of data" },
	{ "syntax-comment.json",	":2:2: quoted object property name expected" },
	{ "syntax-trailing-data.json",	":5:1: unexpected character" },
	{ "syntax-single-quote.json",	":2:2: strings must be in double quotes" },
	{ "syntax-utf8.json",		":4:32: invalid utf-8 string" },
	{ "duplicate-key.json",		":5:2: duplicate key \"workers\"" },
	{ "duplicate-key-nested.json",	":3:48: duplicate key \"path\"" },
	{ "duplicate-key-escaped.json",	":3:60: duplicate key \"weight\"" },
	{ "top-array.json",		": expected a JSON object at the top level" },
	{ "unknown-key.json",		": healthChek: unknown key" },
	{ "unknown-nested-key.json",	": healthCheck.paht: unknown key" },
	{ "missing-port.json",		": port: required key is missing" },
	{ "missing-servers.json",	": servers: required key is missing" },
	{ "port-zero.json",		": port: port number must be between 1 and 65535" },
	{ "port-number-range.json",	": port: port number must be between 1 and 65535" },
	{ "port-type.json",		": port: expected a port such as \":8080\"" },
	{ "port-bare-ipv6.json",	": port: IPv6 addresses must be written in brackets" },
	{ "interval-bare-number.json",	": healthCheckInterval: a unit is required" },
	{ "interval-number.json",	": healthCheckInterval: expected a duration string" },
	{ "interval-zero.json",		": healthCheckInterval: must be greater than 0" },
	{ "interval-too-long.json",	": healthCheckInterval: must be at most 24h" },
	{ "interval-micro.json",	": healthCheckInterval: unit must be one of h, m, s or ms" },
	{ "servers-empty.json",		": servers: must list at least one server" },
	{ "servers-not-array.json",	": servers: expected an array of http:// URLs" },
	{ "servers-too-many.json",	": servers: at most 256 servers are allowed" },
	{ "server-path.json",		": servers[0]: a path is not supported" },
	{ "server-query.json",		": servers[0]: a query string is not supported" },
	{ "server-userinfo.json",	": servers[0]: user info (\"user@\") is not supported" },
	{ "server-port.json",		": servers[0]: port number must be between 1 and 65535" },
	{ "server-empty-host.json",	": servers[0]: missing host" },
	{ "server-duplicate.json",	": servers[2]: duplicate of servers[0]" },
	{ "server-not-string.json",	": servers[0]: expected an http:// URL" },
	{ "workers-string.json",	": workers: expected a positive integer or \"auto\"" },
	{ "workers-float.json",		": workers: expected a positive integer or \"auto\"" },
	{ "workers-range.json",		": workers: must be between 1 and 64" },
	{ "workers-zero.json",		": workers: must be between 1 and 64" },
	{ "health-not-object.json",	": healthCheck: expected an object" },
	{ "health-path.json",		": healthCheck.path: must start with \"/\"" },
	{ "health-path-space.json",	": healthCheck.path: must not contain spaces" },
	{ "health-timeout.json",	": healthCheck.timeout: must be greater than 0" },
	{ "health-rise.json",		": healthCheck.rise: must be between 1 and 100" },
	{ "health-fall.json",		": healthCheck.fall: must be between 1 and 100" },
	{ "health-fall-type.json",	": healthCheck.fall: expected an integer between 1 and 100" },
	{ "health-status.json",		": healthCheck.expectStatus: must be between 100 and 599" },
	{ "expose-type.json",		": exposeServerHeader: expected true or false" },
	{ "underscore-type.json",	": dropUnderscoreHeaders: expected true or false" },
	{ "splice-type.json",		": splice: expected true or false" },
	{ "many-errors.json",		": port: port number must be between 1 and 65535\n" },
	{ "algorithm-unknown.json",	": algorithm: must be one of \"round-robin\", \"weighted-round-robin\", "
					  "\"least-connections\", \"hash\", \"ip-hash\" or \"random-two-choices\"" },
	{ "algorithm-type.json",	": algorithm: must be one of \"round-robin\"" },
	{ "hash-key-no-effect.json",	": hashKey: has no effect with algorithm round-robin" },
	{ "hash-key-ip-hash.json",	": hashKey: algorithm ip-hash always hashes on clientIp; use \"hash\"" },
	{ "hash-key-unknown.json",	": hashKey: must be \"clientIp\", \"header:NAME\", \"cookie:NAME\", "
					  "\"path\", \"uri\" or \"query:NAME\"" },
	{ "hash-seed-empty.json",	": hashSeed: " },
	{ "slow-start-number.json",	": slowStart: " },
	{ "queue-max-missing.json",	": queue.max: required key is missing" },
	{ "queue-max-range.json",	": queue.max: must be between 1 and 100000" },
	{ "sticky-no-cookie.json",	": sticky.cookie: required key is missing" },
	{ "sticky-cookie-name.json",	": sticky.cookie: must be a cookie name of 1 to 64 letters" },
	{ "sticky-path.json",		": sticky.path: must be 1 to 200 visible characters, without ';'" },
	{ "server-weight-range.json",	": servers[1].weight: must be between 1 and 1000" },
	{ "server-weight-zero.json",	": servers[0].weight: must be between 1 and 1000" },
	{ "server-weight-type.json",	": servers[0].weight: expected an integer between 1 and 1000" },
	{ "server-weight-rr.json",	": servers[1].weight: weight has no effect with algorithm round-robin" },
	{ "server-weight-two-choices.json", ": servers[0].weight: weight has no effect with algorithm "
					  "random-two-choices" },
	{ "server-max-connections.json", ": servers[0].maxConnections: must be between 0 and 1000000" },
	{ "server-max-connections-type.json", ": servers[0].maxConnections: expected an integer between 0 and 1000000" },
	{ "server-backup-type.json",	": servers[1].backup: expected true or false" },
	{ "server-unknown-key.json",	": servers[0].wieght: unknown key" },
	{ "server-missing-url.json",	": servers[0].url: required key is missing" },
	{ "server-url-type.json",	": servers[0].url: expected an http:// URL" },
	{ "server-object-duplicate.json", ": servers[1]: duplicate of servers[0]" },
	{ "tls-not-object.json",	": tls: expected an object such as {\"port\": \":8443\"" },
	{ "tls-unknown-key.json",	": tls.sni: unknown key" },
	{ "tls-port-type.json",		": tls.port: expected a port such as \":8443\"" },
	{ "tls-port-same.json",		": tls.port: 127.0.0.1:8080 is also where port (" },
	{ "tls-port-missing.json",	": tls.port: required key is missing (only backendCA may be given" },
	{ "tls-no-port-at-all.json",	": port: required key is missing" },
	{ "tls-certificates-missing.json", ": tls.certificates: required with tls.port" },
	{ "tls-certificates-empty.json", ": tls.certificates: must list from 1 to 64 certificates" },
	{ "tls-certificate-string.json", ": tls.certificates[0]: expected an object such as {\"cert\"" },
	{ "tls-certificate-no-key.json", ": tls.certificates[1].key: required key is missing" },
	{ "tls-certificate-empty-path.json", ": tls.certificates[0].cert: must not be empty" },
	{ "tls-protocol-old.json",	": tls.protocols[1]: TLSv1.1 is not secure and not supported" },
	{ "tls-protocol-unknown.json",	": tls.protocols[0]: must be \"TLSv1.2\" or \"TLSv1.3\"" },
	{ "tls-protocols-empty.json",	": tls.protocols: expected a list such as [\"TLSv1.2\", \"TLSv1.3\"]" },
	{ "tls-rotation-short.json",	": tls.sessionTicketRotation: must be at least 1s" },
	{ "tls-ciphers-type.json",	": tls.ciphers: expected a string in OpenSSL's cipher list syntax" },
	{ "tls-redirect-no-port.json",	": tls.redirectHttp: needs port" },
	{ "tls-verify-http.json",	": servers[0].verify: applies to https:// servers only" },
	{ "tls-verify-type.json",	": servers[0].verify: expected true or false" },
	{ "server-array.json",		": servers[0]: expected an http:// URL or an object such as "
					  "{\"url\": \"http://10.0.0.5:8080\", \"weight\": 2}" },
	{ "servers-all-backup.json",	": servers: every server is a backup: at least one must not be" },
	{ "timeouts-not-object.json",	": timeouts: expected an object" },
	{ "timeouts-unknown-key.json",	": timeouts.conect: unknown key" },
	{ "timeouts-connect.json",	": timeouts.connect: must be greater than 0" },
	{ "timeouts-client-header.json", ": timeouts.clientHeader: expected a duration string such as "
					  "\"500ms\", \"2s\" or \"1m30s\"" },
	{ "timeouts-client-body.json",	": timeouts.clientBody: a unit is required, as in \"2s\" or \"500ms\"" },
	{ "timeouts-server.json",	": timeouts.server: must be at most 24h" },
	{ "timeouts-idle.json",		": timeouts.idle: unit must be one of h, m, s or ms" },
	{ "timeouts-tunnel.json",	": timeouts.tunnel: must be at most 24h" },
	{ "limits-not-object.json",	": limits: expected an object" },
	{ "limits-unknown-key.json",	": limits.headerSIze: unknown key" },
	{ "limits-header-size-small.json", ": limits.headerSize: must be between 1024 and 14336" },
	{ "limits-header-size-large.json", ": limits.headerSize: must be between 1024 and 14336" },
	{ "limits-header-size-type.json", ": limits.headerSize: expected an integer between 1024 and 14336" },
	{ "limits-uri-size-small.json",	": limits.uriSize: must be between 256 and 14336" },
	{ "limits-uri-size-large.json",	": limits.uriSize: must be between 256 and 14336" },
	{ "limits-uri-over-default.json", ": limits.uriSize: must not be larger than limits.headerSize (8192)" },
	{ "limits-uri-over-header.json", ": limits.uriSize: must not be larger than limits.headerSize (2048)" },
	{ "limits-headers-zero.json",	": limits.headers: must be between 1 and 100" },
	{ "limits-headers-large.json",	": limits.headers: must be between 1 and 100" },
	{ "limits-headers-float.json",	": limits.headers: expected an integer between 1 and 100" },
	{ "retries-range.json",		": retries: must be between 0 and 10" },
	{ "retries-negative.json",	": retries: must be between 0 and 10" },
	{ "retries-type.json",		": retries: expected an integer between 0 and 10" },
	{ "busy-poll-range.json",	": busyPoll: must be between 0 and 1000" },
	{ "busy-poll-type.json",	": busyPoll: expected an integer between 0 and 1000" },
	{ "max-connections-range.json",	": maxConnections: must be between 0 and 1000000" },
	{ "max-connections-type.json",	": maxConnections: expected an integer between 0 and 1000000" },
	{ "max-fails-range.json",	": maxFails: must be between 0 and 1000" },
	{ "max-fails-type.json",	": maxFails: expected an integer between 0 and 1000" },
	{ "passive-health-not-object.json", ": passiveHealth: expected an object" },
	{ "passive-health-statuses-type.json", ": passiveHealth.statuses: expected an array of status codes "
					  "such as [502, 503, 504]" },
	{ "passive-health-status-range.json", ": passiveHealth.statuses[1]: must be between 500 and 599" },
	{ "passive-health-status-type.json", ": passiveHealth.statuses[0]: expected a status code between 500 and 599" },
	{ "passive-health-unknown-key.json", ": passiveHealth.status: unknown key" },
	{ "fail-timeout-zero.json",	": failTimeout: must be greater than 0" },
	{ "fail-timeout-type.json",	": failTimeout: expected a duration string" },
	{ "shutdown-timeout-unit.json",	": shutdownTimeout: a unit is required" },
	{ "shutdown-timeout-long.json",	": shutdownTimeout: must be at most 24h" },
	{ "pid-file-empty.json",	": pidFile: must not be empty" },
	{ "pid-file-type.json",		": pidFile: expected a file name such as \"/run/rondo.pid\"" },
	{ "user-unknown.json",		": user: no such user \"rondo-no-such-user\"" },
	{ "user-empty.json",		": user: must not be empty" },
	{ "user-type.json",		": user: expected a user name (a string)" },
	{ "group-unknown.json",		": group: no such group \"rondo-no-such-group\"" },
	{ "group-empty.json",		": group: must not be empty" },
	{ "group-type.json",		": group: expected a group name (a string)" },
	{ "group-without-user.json",	": group: needs \"user\" too: without it rondo would keep running as root" },
	{ "access-log-empty.json",	": accessLog: must not be empty" },
	{ "access-log-type.json",	": accessLog: expected a file name, \"-\" for standard output, or \"off\"" },
	{ "access-log-format.json",	": accessLogFormat: must be \"combined\" or \"json\"" },
	{ "access-log-format-type.json", ": accessLogFormat: must be \"combined\" or \"json\"" },
	{ "admin-true.json",		": admin: expected an object such as {\"listen\": \"127.0.0.1:9090\"}, or false" },
	{ "admin-string.json",		": admin: expected an object such as {\"listen\": \"127.0.0.1:9090\"}, or false" },
	{ "admin-unknown-key.json",	": admin.port: unknown key" },
	{ "admin-listen-port.json",	": admin.listen: port number must be between 1 and 65535" },
	{ "admin-listen-type.json",	": admin.listen: expected a port such as \"127.0.0.1:9090\" or \"[::1]:9090\"" },
	{ "admin-listen-bare-ipv6.json", ": admin.listen: IPv6 addresses must be written in brackets" },
	{ "admin-same-as-port.json",	": admin.listen: 127.0.0.1:8080 is also where port (127.0.0.1:8080) listens: "
					  "the admin listener needs an address of its own" },
	{ "admin-default-same-as-port.json", ": admin.listen: 127.0.0.1:9090 is also where port (127.0.0.1:9090) "
					  "listens: the admin listener needs an address of its own" },
	{ "admin-within-wildcard.json",	": admin.listen: 127.0.0.1:8080 is also where port (" },
	{ "admin-wildcard-no-token.json", ": admin.listen: " },	/* [::]:9090 or 0.0.0.0:9090 */
	{ "admin-token-short.json",	": admin.token: the token must be 16 to 4096 characters long (it has 6)" },
	{ "admin-token-and-file.json",	": admin: token and tokenFile are exclusive: give one of them" },
	{ "proxy-protocol-empty.json",	": proxyProtocol.trusted: must list at least one address range" },
	{ "proxy-protocol-missing.json", ": proxyProtocol.trusted: required key is missing" },
	{ "proxy-protocol-host-bits.json", ": proxyProtocol.trusted[1]: " },
	{ "trusted-proxies-type.json",	": trustedProxies: expected an array of address ranges such as [\"10.0.0.0/8\"]" },
	{ "trusted-proxies-entry.json",	": trustedProxies[0]: expected an address range such as \"10.0.0.0/8\"" },
	{ "send-proxy.json",		": servers[0].sendProxy: must be \"v1\" or \"v2\"" },
	{ "monitor-path.json",		": monitor.path: must start with \"/\"" },
	{ "monitor-no-path.json",	": monitor.path: required key is missing" },
	{ "stop-grace-zero.json",	": stopGrace: must be greater than 0" },
};

START_TEST(test_bad_fixture)
{
	static struct conf dummy;
	struct conf *c = &dummy;	/* must come back NULL */
	char path[1024], want[1024], err[4096];

	snprintf(path, sizeof(path), "%s/%s", BAD_DIR, bad[_i].file);
	snprintf(want, sizeof(want), "%s%s", path, bad[_i].says);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof(err)), -1);
	ck_assert_ptr_null(c);
	conf_free(c);	/* a caller's cleanup may free what a failed load left: NULL */
	ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "\"%s\" does not start with the path", err);
	ck_assert_has(err, want);
}
END_TEST

/* Every file in fixtures/bad has its expected message above. */
START_TEST(test_bad_fixtures_listed)
{
	struct dirent *de;
	size_t i, n;
	DIR *d;

	ck_assert_ptr_nonnull(d = opendir(BAD_DIR));
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 5 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		for (i = 0; i < NELEM(bad); i++)
			if (strcmp(bad[i].file, de->d_name) == 0)
				break;
		ck_assert_msg(i < NELEM(bad), "bad/%s has no expected message", de->d_name);
	}
	closedir(d);
}
END_TEST

/* All problems come back together, in file order, one per line. */
START_TEST(test_many_errors)
{
	static const char *const lines[] = {
		"port: port number must be between 1 and 65535",
		"healthCheckInterval: a unit is required, as in \"2s\" or \"500ms\"",
		"servers[0]: expected an http:// or https:// URL",
		"servers[2]: duplicate of servers[1]",
		"workers: expected a positive integer or \"auto\"",
		"healthChek: unknown key",
		"healthCheck.rise: must be between 1 and 100",
		"healthCheck.paht: unknown key",
	};
	const char *path = BAD_DIR "/many-errors.json";
	char err[4096], want[4096];
	struct conf *c;
	size_t i, n = 0;

	ck_assert_int_eq(conf_load(&c, path, err, sizeof(err)), -1);
	for (i = 0; i < NELEM(lines); i++)
		n += (size_t)snprintf(want + n, sizeof(want) - n, "%s%s: %s",
		    i > 0 ? "\n" : "", path, lines[i]);
	ck_assert_str_eq(err, want);
}
END_TEST

/*
 * json-c keeps the last of two members with one name: a duplicate is an
 * error, each reported at its second place, in file order; the same name in
 * two objects is fine.
 */
START_TEST(test_duplicate_keys)
{
	struct conf *c;
	char err[1024];

	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": 8080, \"servers\": [\"http://127.0.0.1:1\"],\n"
	    " \"healthCheck\": {\"rise\": 2, \"fall\": 2, \"rise\": 3},\n"
	    " \"maxFails\": 1, \"healthCheck\": {}, \"a\\n\\u0000\": 1, \"a\\n\\u0000\": 2}",
	    "config.json", err, sizeof(err)), -1);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "config.json:2:40: duplicate key \"rise\"\n"
	    "config.json:3:17: duplicate key \"healthCheck\"\n"
	    "config.json:3:52: duplicate key \"a\\x0a\\x00\"");
	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": 8080, \"servers\": [{\"url\": \"http://127.0.0.1:1\", \"maxConnections\": 2},"
	    " {\"url\": \"http://127.0.0.1:2\"}], \"maxConnections\": 3, \"accessLog\": \"url\"}",
	    "config.json", err, sizeof(err)), 0);
	ck_assert_uint_eq(c->max_connections, 3);
	conf_free(c);
}
END_TEST

START_TEST(test_missing_required)
{
	struct conf *c;
	char err[1024];

	ck_assert_int_eq(conf_load_string(&c, "{}", "test", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "test: port: required key is missing\n"
	    "test: servers: required key is missing");
}
END_TEST

START_TEST(test_unknown_keys)
{
	struct conf *c;
	char err[1024];

	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": 8080, \"servers\": [\"http://127.0.0.1:1\"], \"Port\": 1,"
	    " \"healthCheck\": {\"interval\": \"1s\"}, \"a\\nb\": 0}",
	    "config.json", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "config.json: Port: unknown key\n"
	    "config.json: healthCheck.interval: unknown key\n"
	    "config.json: a\\x0ab: unknown key");
}
END_TEST

START_TEST(test_syntax_line_col)
{
	struct conf *c;
	char err[1024];

	ck_assert_int_eq(conf_load_string(&c,
	    "{\n  \"port\": 8080,\n  \"servers\": [\"http://127.0.0.1:1\" \"x\"]\n}",
	    "config.json", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "config.json:3:36: array value separator ',' expected");
	/* Columns count characters, not bytes. */
	ck_assert_int_eq(conf_load_string(&c,
	    "{\"h\u00e9\u00e9\": 1,}", "config.json", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "config.json:1:11: unexpected character");
	ck_assert_int_eq(conf_load_string(&c, "null", "x", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x: expected a JSON object at the top level");
	ck_assert_int_eq(conf_load_string(&c, " \n\t", "x", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "x: empty configuration (expected a JSON object)");
}
END_TEST

START_TEST(test_load_string)
{
	struct conf *c = NULL;
	char err[1024] = "x";

	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": \"127.0.0.1:9000\", \"servers\": [\"http://127.0.0.1:9001\"],"
	    " \"workers\": 3, \"healthCheck\": {\"expectStatus\": 0}}",
	    "<inline>", err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->path, "<inline>");
	ck_assert_str_eq(c->listen_name, "127.0.0.1:9000");
	ck_assert_uint_eq(c->workers, 3);
	ck_assert_int_eq(c->health.expect_status, 0);
	ck_assert_uint_eq(c->nbackends, 1);
	conf_free(c);

	ck_assert_int_eq(conf_load_string(&c, "{\"port\": \":8080\", \"servers\": [\"http://x:0\"]}",
	    "<inline>", err, sizeof(err)), -1);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, "<inline>: servers[0]: port number must be between 1 and 65535");
	/* A NUL escaped inside a string cuts nothing short: refused. */
	ck_assert_int_eq(conf_load_string(&c,
	    "{\"port\": \":8080\", \"servers\": [\"http://127.0.0.1:1\\u0000/evil\"]}",
	    "<inline>", err, sizeof(err)), -1);
	ck_assert_str_eq(err, "<inline>: servers[0]: expected an http:// URL");
}
END_TEST

START_TEST(test_cannot_read)
{
	struct conf *c;
	char err[1024];

	ck_assert_int_eq(conf_load(&c, FIXTURES "/no-such.json", err, sizeof(err)), -1);
	ck_assert_ptr_null(c);
	ck_assert_str_eq(err, FIXTURES "/no-such.json: cannot read: No such file or directory");
	ck_assert_int_eq(conf_load(&c, FIXTURES, err, sizeof(err)), -1);
	ck_assert_str_eq(err, FIXTURES ": cannot read: Is a directory");
}
END_TEST

/* Exactly 1 MiB loads; one byte more is refused. */
START_TEST(test_size_limit)
{
	static const char body[] = "{\"port\": 8080, \"servers\": [\"http://127.0.0.1:1\"]}";
	const char *tmpdir = getenv("TMPDIR");
	char path[1024], err[1024];
	struct conf *c;
	size_t size;
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "%s/check_conf.XXXXXX", tmpdir != NULL ? tmpdir : "/tmp");
	ck_assert_int_ne(fd = mkstemp(path), -1);
	ck_assert_ptr_nonnull(f = fdopen(fd, "w"));
	fputs(body, f);
	for (size = sizeof(body) - 1; size < 1024 * 1024; size++)
		fputc(' ', f);
	ck_assert_int_eq(fflush(f), 0);
	ck_assert_msg(conf_load(&c, path, err, sizeof(err)) == 0, "%s", err);
	conf_free(c);
	fputc('\n', f);
	ck_assert_int_eq(fclose(f), 0);
	ck_assert_int_eq(conf_load(&c, path, err, sizeof(err)), -1);
	unlink(path);
	ck_assert_has(err, ": file too large (more than 1 MiB)");
}
END_TEST

/* A short buffer gets a cut, terminated message and nothing past its end. */
START_TEST(test_err_truncated)
{
	char err[64];
	struct conf *c;
	size_t i;

	memset(err, 'Z', sizeof(err));
	ck_assert_int_eq(conf_load(&c, BAD_DIR "/many-errors.json", err, 40), -1);
	ck_assert_uint_eq(strlen(err), 39);
	ck_assert_str_eq(err + 36, "...");
	for (i = 40; i < sizeof(err); i++)
		ck_assert_int_eq(err[i], 'Z');
	memset(err, 'Z', sizeof(err));
	ck_assert_int_eq(conf_load_string(&c, "{}", "x", err, 1), -1);
	ck_assert_int_eq(err[0], '\0');
	ck_assert_int_eq(err[1], 'Z');
	ck_assert_int_eq(conf_load_string(&c, "{}", "x", NULL, 0), -1);
	ck_assert_int_eq(conf_load(&c, "/nonexistent/x.json", NULL, 0), -1);
	ck_assert_ptr_null(c);
}
END_TEST

static Suite *
conf_suite(void)
{
	Suite *s = suite_create("conf");
	TCase *tc;

	tc = tcase_create("duration");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_duration_ok, 0, NELEM(durations_ok));
	tcase_add_loop_test(tc, test_duration_bad, 0, NELEM(durations_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("listen");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_listen_ok, 0, NELEM(listens_ok));
	tcase_add_loop_test(tc, test_listen_bad, 0, NELEM(listens_bad));
	suite_add_tcase(s, tc);

	tc = tcase_create("url");
	tcase_set_timeout(tc, 10);
	tcase_add_loop_test(tc, test_url_ok, 0, NELEM(urls_ok));
	tcase_add_loop_test(tc, test_url_bad, 0, NELEM(urls_bad));
	tcase_add_test(tc, test_url_too_long);
	tcase_add_test(tc, test_url_https);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolve");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_url_unresolvable);
	suite_add_tcase(s, tc);

	tc = tcase_create("files");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_example);
	tcase_add_test(tc, test_full);
	tcase_add_test(tc, test_policies);
	tcase_add_loop_test(tc, test_algorithm, 0, NELEM(algorithms));
	tcase_add_test(tc, test_algorithm_default);
	tcase_add_test(tc, test_hash_key);
	tcase_add_test(tc, test_sticky);
	tcase_add_test(tc, test_queue);
	tcase_add_test(tc, test_server_object_errors);
	tcase_add_test(tc, test_defaults);
	tcase_add_test(tc, test_tuning);
	tcase_add_test(tc, test_splice);
	tcase_add_test(tc, test_admin_defaults);
	tcase_add_test(tc, test_example_full);
	tcase_add_loop_test(tc, test_edges, 0, NELEM(edges));
	tcase_add_test(tc, test_timeouts);
	tcase_add_loop_test(tc, test_access_log, 0, NELEM(access_logs));
	tcase_add_test(tc, test_user_group);
	tcase_add_loop_test(tc, test_admin, 0, NELEM(admins));
	tcase_add_test(tc, test_admin_off);
	tcase_add_loop_test(tc, test_admin_token, 0, NELEM(admin_tokens));
	tcase_add_test(tc, test_admin_token_file);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_new_key_errors);
	tcase_add_test(tc, test_good_fixtures);
#ifdef HAVE_TLS
	tcase_add_test(tc, test_tls_keys);
	tcase_add_test(tc, test_tls_defaults);
#else
	tcase_add_test(tc, test_tls_not_built);
#endif
	tcase_add_loop_test(tc, test_bad_fixture, 0, NELEM(bad));
	tcase_add_test(tc, test_bad_fixtures_listed);
	tcase_add_test(tc, test_many_errors);
	tcase_add_test(tc, test_cannot_read);
	tcase_add_test(tc, test_size_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("messages");
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_duplicate_keys);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_unknown_keys);
	tcase_add_test(tc, test_syntax_line_col);
	tcase_add_test(tc, test_load_string);
	tcase_add_test(tc, test_err_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(conf_suite());
	int failed;

	/* Fork mode is Check's default; CK_FORK=no in the environment to debug. */
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
