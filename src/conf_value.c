/*
 * The kinds of values config.json holds, each read the same way wherever a
 * key takes it: durations, ports and listen addresses, backend URLs (those
 * three public, in conf.h), the address comparisons of the cross-field
 * checks, and the key-table setters for strings, integers, booleans, status
 * codes, request paths and address ranges.
 *
 * Leaf module: no logging, no exit, no event loop. Host names are resolved
 * here, once, with getaddrinfo (blocking: load time only).
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cidr.h"
#include "conf.h"
#include "conf_int.h"
#include "net.h"

#define CONF_NS_PER_MS		1000000ULL
#define CONF_DURATION_MAX_NS	(24ULL * 3600 * 1000 * CONF_NS_PER_MS)

static uint64_t
conf_sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
conf_sat_mul(uint64_t a, uint64_t b)
{
	return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static int
conf_isdigit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Parses a Go duration into *ms. Returns NULL, or why <s> is refused (for
 * the message). Units below the millisecond are refused rather than rounded.
 */
static const char *
conf_duration(const char *s, uint64_t *ms)
{
	static const struct {
		const char	*name;
		uint64_t	 ns;
	} units[] = {
		{ "ms",	CONF_NS_PER_MS },
		{ "s",	1000 * CONF_NS_PER_MS },
		{ "m",	60 * 1000 * CONF_NS_PER_MS },
		{ "h",	3600 * 1000 * CONF_NS_PER_MS },
	};
	const char *p = s, *u, *frac;
	uint64_t total = 0, whole, part, scale;
	size_t i, ulen, ndigits;

	if (*p == '-')
		return "must be greater than 0";
	if (*p == '\0')
		return "expected a duration such as \"500ms\", \"2s\" or \"1m30s\"";
	while (*p != '\0') {
		whole = 0;
		ndigits = 0;
		for (; conf_isdigit(*p); p++, ndigits++)
			whole = conf_sat_add(conf_sat_mul(whole, 10), (uint64_t)(*p - '0'));
		frac = NULL;
		if (*p == '.') {
			frac = ++p;
			for (; conf_isdigit(*p); p++)
				ndigits++;
		}
		if (ndigits == 0)
			return "expected a duration such as \"500ms\", \"2s\" or \"1m30s\"";
		for (u = p; *p != '\0' && *p != '.' && !conf_isdigit(*p); p++)
			;
		if ((ulen = (size_t)(p - u)) == 0)
			return "a unit is required, as in \"2s\" or \"500ms\"";
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].name) == ulen && memcmp(units[i].name, u, ulen) == 0)
				break;
		if (i == sizeof(units) / sizeof(units[0]))
			return "unit must be one of h, m, s or ms";
		part = conf_sat_mul(whole, units[i].ns);
		/* Fraction digits, exact down to the nanosecond like Go's. */
		for (scale = units[i].ns / 10; frac != NULL && conf_isdigit(*frac); frac++, scale /= 10)
			part = conf_sat_add(part, (uint64_t)(*frac - '0') * scale);
		total = conf_sat_add(total, part);
	}
	if (total == 0)
		return "must be greater than 0";
	if (total > CONF_DURATION_MAX_NS)
		return "must be at most 24h";
	if (total < CONF_NS_PER_MS)
		return "must be at least 1ms";
	if (total % CONF_NS_PER_MS != 0)
		return "must be a whole number of milliseconds";
	*ms = total / CONF_NS_PER_MS;
	return NULL;
}

int
conf_parse_duration(const char *s, uint64_t *ms)
{
	return conf_duration(s, ms) == NULL ? 0 : -1;
}

/* Parses the <n> bytes at <s> as a port 1..65535. Returns NULL, or why not. */
static const char *
conf_port(const char *s, size_t n, uint16_t *port)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return "missing port number";
	for (i = 0; i < n; i++) {
		if (!conf_isdigit(s[i]))
			return "port must be a number";
		v = conf_sat_add(conf_sat_mul(v, 10), (uint64_t)(s[i] - '0'));
	}
	if (v < 1 || v > 65535)
		return "port number must be between 1 and 65535";
	*port = (uint16_t)v;
	return NULL;
}

static void
conf_addr_set_port(struct net_addr *a, uint16_t port)
{
	if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
	else
		((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
}

/*
 * Fills <a> (port excepted) from <host>: an IPv6 literal when it was written
 * in brackets, a dotted IPv4 literal, or a name looked up now. A name's IPv4
 * result is preferred: "localhost" is 127.0.0.1, where the backends of the
 * tests listen. Returns 0, or -1 with <err> filled.
 */
static int
conf_resolve(const char *host, int bracketed, struct net_addr *a, char *err, size_t errlen)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	struct addrinfo hints, *res, *r, *pick;
	const char *p;
	int rc, numeric = 1;

	memset(a, 0, sizeof(*a));
	if (bracketed) {
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			snprintf(err, errlen, "invalid IPv6 address in brackets");
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		a->len = sizeof(*sin6);
		return 0;
	}
	if (*host == '\0') {
		snprintf(err, errlen, "missing host");
		return -1;
	}
	for (p = host; *p != '\0'; p++) {
		if (*p == ':') {
			snprintf(err, errlen, "IPv6 addresses must be written in brackets, as in \"[::1]\"");
			return -1;
		}
		if (!conf_isdigit(*p) && *p != '.')
			numeric = 0;
		if (!conf_isdigit(*p) && *p != '.' && *p != '-' && *p != '_' &&
		    !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z')) {
			snprintf(err, errlen, "invalid character in host name");
			return -1;
		}
	}
	if (numeric) {
		/* Refused here rather than half-accepted by getaddrinfo ("127.1"). */
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			snprintf(err, errlen, "invalid IPv4 address");
			return -1;
		}
		sin->sin_family = AF_INET;
		a->len = sizeof(*sin);
		return 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, NULL, &hints, &res)) != 0) {
		snprintf(err, errlen, "cannot resolve \"%s\": %s", host,
		    rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	pick = NULL;
	for (r = res; r != NULL; r = r->ai_next) {
		if (r->ai_family == AF_INET) {
			pick = r;
			break;
		}
		if (r->ai_family == AF_INET6 && pick == NULL)
			pick = r;
	}
	if (pick == NULL || pick->ai_addrlen > sizeof(a->ss)) {
		freeaddrinfo(res);
		snprintf(err, errlen, "cannot resolve \"%s\": no IPv4 or IPv6 address", host);
		return -1;
	}
	memcpy(&a->ss, pick->ai_addr, pick->ai_addrlen);
	a->len = pick->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * Fills <a> with the wildcard address: "::" when the kernel can make IPv6
 * sockets (the listener clears IPV6_V6ONLY, so IPv4 clients come too), else
 * 0.0.0.0.
 */
static void
conf_wildcard(struct net_addr *a)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
	int fd;

	memset(a, 0, sizeof(*a));
	if ((fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0)) != -1) {
		close(fd);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_any;
		a->len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_ANY);
		a->len = sizeof(*sin);
	}
}

int
conf_parse_listen(const char *s, struct net_addr *a, char *name, size_t namelen,
    char *err, size_t errlen)
{
	char host[CONF_HOST_MAX], ip[INET6_ADDRSTRLEN];
	const char *h = NULL, *port, *end, *colon;
	size_t hlen = 0;
	uint16_t portnum = 0;
	const char *why;
	int bracketed = 0;

	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		if ((end = strchr(s, ']')) == NULL) {
			snprintf(err, errlen, "missing \"]\" after the IPv6 address");
			return -1;
		}
		if (end[1] != ':') {
			snprintf(err, errlen, "expected \":PORT\" after \"]\"");
			return -1;
		}
		h = s + 1;
		hlen = (size_t)(end - h);
		port = end + 2;
		bracketed = 1;
	} else if ((colon = strrchr(s, ':')) != NULL) {
		h = s;
		hlen = (size_t)(colon - s);
		port = colon + 1;
	} else if (s[0] != '\0' && strspn(s, "0123456789") == strlen(s)) {
		port = s;
	} else {
		snprintf(err, errlen, "expected \"PORT\", \":PORT\" or \"HOST:PORT\"");
		return -1;
	}
	if ((why = conf_port(port, strlen(port), &portnum)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (hlen == 0 && !bracketed)
		conf_wildcard(a);
	else {
		if (hlen >= sizeof(host)) {
			snprintf(err, errlen, "host name too long");
			return -1;
		}
		memcpy(host, h, hlen);
		host[hlen] = '\0';
		if (conf_resolve(host, bracketed, a, err, errlen) == -1)
			return -1;
	}
	conf_addr_set_port(a, portnum);
	if (a->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&a->ss)->sin6_addr, ip, sizeof(ip));
		snprintf(name, namelen, "[%s]:%u", ip, (unsigned)portnum);
	} else {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&a->ss)->sin_addr, ip, sizeof(ip));
		snprintf(name, namelen, "%s:%u", ip, (unsigned)portnum);
	}
	return 0;
}

/*
 * hostport is the authority as written: "localhost:5001", "[::1]:5001", or
 * just "example" when the port was left to its default (what a Host header
 * carries for port 80).
 */
int
conf_parse_url(const char *s, struct conf_backend *b, char *err, size_t errlen)
{
	const char *auth, *rest, *host, *rb, *colon, *port = NULL;
	size_t slen, alen, hlen, plen = 0;
	uint16_t portnum = 80;
	const char *why;
	int bracketed = 0;
	size_t scheme = 7;

	memset(b, 0, sizeof(*b));
	if ((slen = strlen(s)) >= sizeof(b->url)) {
		snprintf(err, errlen, "URL too long (at most %zu bytes)", sizeof(b->url) - 1);
		return -1;
	}
	if (strncasecmp(s, "https://", 8) == 0) {
		b->tls = 1;
		portnum = 443;
		scheme = 8;
	} else if (strncasecmp(s, "http://", 7) != 0) {
		snprintf(err, errlen, "expected an http:// or https:// URL");
		return -1;
	}
	auth = s + scheme;
	alen = strcspn(auth, "/?#");
	rest = auth + alen;
	if (memchr(auth, '@', alen) != NULL) {
		snprintf(err, errlen, "user info (\"user@\") is not supported");
		return -1;
	}
	if (*rest == '/')
		rest++;
	if (*rest != '\0') {
		snprintf(err, errlen, "%s",
		    *rest == '?' ? "a query string is not supported" :
		    *rest == '#' ? "a fragment is not supported" :
		    "a path is not supported (only a trailing \"/\")");
		return -1;
	}
	if (alen > 0 && auth[0] == '[') {
		if ((rb = memchr(auth, ']', alen)) == NULL) {
			snprintf(err, errlen, "missing \"]\" after the IPv6 address");
			return -1;
		}
		host = auth + 1;
		hlen = (size_t)(rb - host);
		bracketed = 1;
		if (rb + 1 < auth + alen) {
			if (rb[1] != ':') {
				snprintf(err, errlen, "expected \":PORT\" after \"]\"");
				return -1;
			}
			port = rb + 2;
		}
	} else {
		host = auth;
		hlen = alen;
		if ((colon = memchr(auth, ':', alen)) != NULL) {
			hlen = (size_t)(colon - auth);
			port = colon + 1;
		}
	}
	if (port != NULL) {
		plen = (size_t)(auth + alen - port);
		if (memchr(port, ':', plen) != NULL) {
			snprintf(err, errlen, "IPv6 addresses must be written in brackets, as in \"[::1]\"");
			return -1;
		}
	}
	if (hlen == 0) {
		snprintf(err, errlen, "missing host");
		return -1;
	}
	if (port != NULL && (why = conf_port(port, plen, &portnum)) != NULL) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (hlen >= sizeof(b->host)) {
		snprintf(err, errlen, "host name too long");
		return -1;
	}
	memcpy(b->host, host, hlen);
	b->host[hlen] = '\0';
	if (conf_resolve(b->host, bracketed, &b->addr, err, errlen) == -1)
		return -1;
	conf_addr_set_port(&b->addr, portnum);
	b->port = portnum;
	memcpy(b->url, s, slen + 1);
	snprintf(b->hostport, sizeof(b->hostport), "%s%s%s%s%.*s",
	    bracketed ? "[" : "", b->host, bracketed ? "]" : "",
	    port != NULL ? ":" : "", (int)plen, port != NULL ? port : "");
	return 0;
}

/* Whether <w> (IPv6 form) is a wildcard covering <ip>: "::" covers all (dual stack). */
static int
conf_covers(const struct in6_addr *w, const struct in6_addr *ip)
{
	static const uint8_t any4[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0 };

	if (IN6_IS_ADDR_UNSPECIFIED(w))
		return 1;
	return memcmp(w->s6_addr, any4, 16) == 0 && IN6_IS_ADDR_V4MAPPED(ip);
}

/*
 * Whether listeners on <a> and <b> would take the same port of one address:
 * the same address, or a wildcard that includes the other (the listeners
 * clear IPV6_V6ONLY, so "::" includes every IPv4 address too).
 */
int
conf_addr_overlap(const struct net_addr *a, const struct net_addr *b)
{
	struct in6_addr ia, ib;

	if (net_addr_v6(a, &ia) != net_addr_v6(b, &ib))
		return 0;
	return memcmp(&ia, &ib, sizeof(ia)) == 0 || conf_covers(&ia, &ib) || conf_covers(&ib, &ia);
}

/* Whether <a> is a loopback address (127.0.0.0/8, ::1, or ::ffff:127.x.y.z). */
int
conf_addr_is_loopback(const struct net_addr *a)
{
	struct in6_addr ip;

	(void)net_addr_v6(a, &ip);
	return net_ip_loopback(&ip);
}

/* Returns the string in <v>, or NULL when <v> is no string or holds a NUL byte. */
const char *
conf_string(struct json_object *v)
{
	const char *s;

	if (!json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return NULL;
	return s;
}

/*
 * A listen address at <jpath>: a listen string, or a bare port number. Fills
 * <a> and <name>, or records a problem; <example> goes in the type error.
 */
void
conf_listen_value(struct conf_errs *e, struct json_object *v, const char *jpath,
    struct net_addr *a, char *name, size_t namelen, const char *example)
{
	char msg[CONF_MSG_MAX], buf[32];
	const char *s;
	int64_t n;

	if (json_object_is_type(v, json_type_int)) {
		n = json_object_get_int64(v);
		if (n < 1 || n > 65535) {
			conf_err(e, jpath, "port number must be between 1 and 65535");
			return;
		}
		snprintf(buf, sizeof(buf), "%d", (int)n);
		s = buf;
	} else if ((s = conf_string(v)) == NULL) {
		conf_err(e, jpath, "expected a port such as %s", example);
		return;
	}
	if (conf_parse_listen(s, a, name, namelen, msg, sizeof(msg)) == -1)
		conf_err(e, jpath, "%s", msg);
}

/*
 * Stores a copy of <s> in the char * at base + k->off, in place of what an
 * earlier value left there; NULL stores NULL.
 */
void
conf_store_string(struct conf_errs *e, const struct conf_key *k, void *base, const char *jpath,
    const char *s)
{
	char **dst = (char **)(void *)((char *)base + k->off);
	char *copy = NULL;

	if (s != NULL && (copy = strdup(s)) == NULL) {
		conf_err(e, jpath, "out of memory");
		return;
	}
	free(*dst);
	*dst = copy;
}

/*
 * The non-empty string in <v>, short enough to be a path, or NULL with a
 * problem recorded (<what> names the expected value in the type error).
 */
const char *
conf_nonempty(struct conf_errs *e, struct json_object *v, const char *jpath, const char *what)
{
	const char *s;

	if ((s = conf_string(v)) == NULL) {
		conf_err(e, jpath, "expected %s", what);
		return NULL;
	}
	if (*s == '\0') {
		conf_err(e, jpath, "must not be empty");
		return NULL;
	}
	if (strlen(s) >= PATH_MAX) {
		conf_err(e, jpath, "too long (at most %d bytes)", PATH_MAX - 1);
		return NULL;
	}
	return s;
}

void
conf_set_duration(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	const char *s, *why;

	if ((s = conf_string(v)) == NULL)
		conf_err(e, jpath, "expected a duration string such as \"500ms\", \"2s\" or \"1m30s\"");
	else if ((why = conf_duration(s, (uint64_t *)((char *)base + k->off))) != NULL)
		conf_err(e, jpath, "%s", why);
}

void
conf_set_bool(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	if (!json_object_is_type(v, json_type_boolean))
		conf_err(e, jpath, "expected true or false");
	else
		*(int *)((char *)base + k->off) = json_object_get_boolean(v) ? 1 : 0;
}

void
conf_set_uint(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int)) {
		conf_err(e, jpath, "expected an integer between %lld and %lld",
		    (long long)k->min, (long long)k->max);
		return;
	}
	n = json_object_get_int64(v);
	if (n < k->min || n > k->max)
		conf_err(e, jpath, "must be between %lld and %lld",
		    (long long)k->min, (long long)k->max);
	else
		*(unsigned *)((char *)base + k->off) = (unsigned)n;
}

/* "expectStatus": one code in k->min..k->max, or 0 for any 2xx or 3xx. */
void
conf_set_status(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int)) {
		conf_err(e, jpath, "expected an HTTP status code (an integer)");
		return;
	}
	n = json_object_get_int64(v);
	if (n != 0 && (n < k->min || n > k->max))
		conf_err(e, jpath, "must be between %lld and %lld (or 0 for any 2xx or 3xx)",
		    (long long)k->min, (long long)k->max);
	else
		*(int *)((char *)base + k->off) = (int)n;
}

/*
 * "passiveHealth.statuses": a list of status codes in k->min..k->max, kept
 * as a bitmap (bit code - k->min) at base + k->off. An empty list is fine.
 */
void
conf_set_statuses(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	uint32_t *bits = (uint32_t *)((char *)base + k->off);
	struct json_object *item;
	char ipath[CONF_JPATH_MAX];
	size_t i, n;
	int64_t code;

	if (!json_object_is_type(v, json_type_array)) {
		conf_err(e, jpath, "expected an array of status codes such as [502, 503, 504]");
		return;
	}
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", jpath, i);
		item = json_object_array_get_idx(v, i);
		if (!json_object_is_type(item, json_type_int)) {
			conf_err(e, ipath, "expected a status code between %lld and %lld",
			    (long long)k->min, (long long)k->max);
			continue;
		}
		code = json_object_get_int64(item);
		if (code < k->min || code > k->max) {
			conf_err(e, ipath, "must be between %lld and %lld",
			    (long long)k->min, (long long)k->max);
			continue;
		}
		code -= k->min;
		bits[code / 32] |= 1u << (code % 32);
	}
}

/* A request path for probes: it goes on the request line as is, so visible ASCII only. */
void
conf_set_http_path(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	char *dst = (char *)base + k->off;
	const char *s, *p;

	if ((s = conf_string(v)) == NULL) {
		conf_err(e, jpath, "expected a string such as \"/health\"");
		return;
	}
	if (s[0] != '/') {
		conf_err(e, jpath, "must start with \"/\"");
		return;
	}
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f) {
			conf_err(e, jpath, "must not contain spaces, control characters or non-ASCII bytes");
			return;
		}
		if (*p == '#') {
			conf_err(e, jpath, "must not contain \"#\"");
			return;
		}
	}
	if (strlen(s) >= CONF_PATH_MAX) {
		conf_err(e, jpath, "too long (at most %d bytes)", CONF_PATH_MAX - 1);
		return;
	}
	memcpy(dst, s, strlen(s) + 1);
}

/*
 * A list of address ranges (cidr.h) into the struct conf_cidrs at base +
 * k->off; k->min is the fewest entries allowed. Each bad entry is a problem
 * of its own.
 */
void
conf_set_cidrs(struct conf_errs *e, const struct conf_key *k, struct json_object *v,
    void *base, const char *jpath)
{
	struct conf_cidrs *l = (struct conf_cidrs *)((char *)base + k->off);
	char ipath[CONF_JPATH_MAX], msg[CONF_MSG_MAX];
	struct json_object *item;
	const char *s;
	size_t i, n;

	if (!json_object_is_type(v, json_type_array)) {
		conf_err(e, jpath, "expected an array of address ranges such as [\"10.0.0.0/8\"]");
		return;
	}
	n = json_object_array_length(v);
	if (n < (size_t)k->min) {
		conf_err(e, jpath, "must list at least one address range");
		return;
	}
	if (n == 0)
		return;
	if ((l->v = calloc(n, sizeof(*l->v))) == NULL) {
		conf_err(e, jpath, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		snprintf(ipath, sizeof(ipath), "%s[%zu]", jpath, i);
		item = json_object_array_get_idx(v, i);
		if ((s = conf_string(item)) == NULL)
			conf_err(e, ipath, "expected an address range such as \"10.0.0.0/8\"");
		else if (cidr_parse(s, &l->v[l->n], msg, sizeof(msg)) == -1)
			conf_err(e, ipath, "%s", msg);
		else
			l->n++;
	}
}
