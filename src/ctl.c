/*
 * rondo -s status: asks a running rondo's admin listener for /status and
 * prints it as a table for a human. Plain blocking I/O: it is a client.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "conf.h"
#include "ctl.h"
#include "net.h"
#include "stats.h"

#define CTL_TIMEOUT_MS	5000
#define CTL_MAX		(1024 * 1024)

/* Waits until fd is ready for events; 0, or -1 with errno ETIMEDOUT. */
static int
ctl_wait(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	while ((n = poll(&p, 1, CTL_TIMEOUT_MS)) == -1 && errno == EINTR)
		;
	if (n == 0)
		errno = ETIMEDOUT;
	return n > 0 ? 0 : -1;
}

/*
 * An answer other than 200, in words: a refused token says so and names the
 * file it came from; any other answer shows its status line alone.
 */
static void
ctl_refused(const struct conf *c, const char *buf, char *err, size_t errlen)
{
	size_t n = strcspn(buf, "\r\n");
	int code = 0;

	if (strncmp(buf, "HTTP/1.", 7) == 0 && n >= 12 && buf[8] == ' ')
		code = atoi(buf + 9);
	if ((code == 401 || code == 403) && c->admin_token != NULL)
		snprintf(err, errlen, "admin listener %s refused the token in %s (%d)",
		    c->admin_name, c->path, code);
	else if (code == 401 || code == 403)
		snprintf(err, errlen, "admin listener %s asks for a token, and %s gives none (%d): "
		    "set admin.token or admin.tokenFile", c->admin_name, c->path, code);
	else if (code != 0)
		snprintf(err, errlen, "admin listener %s answered %.*s", c->admin_name,
		    (int)(n > 80 ? 80 : n), buf);
	else
		snprintf(err, errlen, "admin listener %s did not answer in HTTP", c->admin_name);
}

/*
 * GET path from the admin listener of c, with its address as Host and its
 * token if it has one; returns the body (malloc'd) or NULL with err (a whole
 * message, naming the listener).
 */
static char *
ctl_get(const struct conf *c, const char *path, char *err, size_t errlen)
{
	const struct net_addr *a = &c->admin_listen;
	char req[8192], *buf = NULL, *body, tmp[256];
	size_t len = 0;
	ssize_t n;
	int fd;

	if ((fd = net_connect(a)) == -1 || ctl_wait(fd, POLLOUT) == -1 ||
	    net_connect_result(fd) == -1) {
		snprintf(err, errlen, "connect: %s", strerror(errno));
		goto fail;
	}
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: %s\r\n%s%s%sConnection: close\r\n\r\n",
	    path, c->admin_name, c->admin_token != NULL ? "Authorization: Bearer " : "",
	    c->admin_token != NULL ? c->admin_token : "", c->admin_token != NULL ? "\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(req)) {
		snprintf(err, errlen, "request too long");
		goto fail;
	}
	if (write(fd, req, (size_t)n) != n) {
		snprintf(err, errlen, "write: %s", strerror(errno));
		goto fail;
	}
	if ((buf = malloc(CTL_MAX + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		if (ctl_wait(fd, POLLIN) == -1) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			goto fail;
		}
		n = read(fd, buf + len, CTL_MAX - len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (len == CTL_MAX)
			break;
	}
	buf[len] = '\0';
	close(fd);
	fd = -1;
	if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || (body = strstr(buf, "\r\n\r\n")) == NULL) {
		ctl_refused(c, buf, err, errlen);
		free(buf);
		return NULL;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
	snprintf(tmp, sizeof(tmp), "%s", err);
	snprintf(err, errlen, "admin listener %s: %s", c->admin_name, tmp);
	return NULL;
}

static const char *
jstr(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "-";
}

static long long
jint(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) ? (long long)json_object_get_int64(v) : 0;
}

/*
 * The classes of counter key in o ({"1xx": n, ...}): as columns (a heading
 * each when o is NULL, "1XX", or "LOCAL-1XX" for local_responses, which
 * counts the responses rondo made itself), or inline as "1xx n 2xx n ...".
 */
static void
ctl_classes(FILE *out, json_object *o, const char *key, int columns)
{
	json_object *c = NULL;
	char head[16];
	unsigned k;

	if (o != NULL && !json_object_object_get_ex(o, key, &c))
		c = NULL;
	for (k = 1; k < STATS_NCLASSES; k++) {
		if (columns && o == NULL) {
			snprintf(head, sizeof(head), "%s%cXX",
			    strcmp(key, "local_responses") == 0 ? "LOCAL-" : "", stats_class_names[k][0]);
			fprintf(out, " %9s", head);
		} else if (columns) {
			fprintf(out, " %9lld", c != NULL ? jint(c, stats_class_names[k]) : 0);
		} else {
			fprintf(out, " %s %lld", stats_class_names[k],
			    c != NULL ? jint(c, stats_class_names[k]) : 0);
		}
	}
}

int
ctl_status(const struct conf *c, FILE *out, char *err, size_t errlen)
{
	json_object *root, *arr, *b;
	char *body;
	size_t i, n;

	if (!c->admin) {
		snprintf(err, errlen, "%s has no \"admin\" listener to ask", c->path);
		return -1;
	}
	if ((body = ctl_get(c, "/status", err, errlen)) == NULL)
		return -1;
	root = json_tokener_parse(body);
	free(body);
	if (root == NULL) {
		snprintf(err, errlen, "admin listener %s: the status is not JSON", c->admin_name);
		return -1;
	}
	fprintf(out, "rondo %s, listening on %s, generation %lld%s, up %llds\n",
	    jstr(root, "version"), jstr(root, "listen"), jint(root, "generation"),
	    json_object_object_get_ex(root, "last_reload_successful", &b) &&
	    !json_object_get_boolean(b) ? " (the last reload failed)" : "",
	    jint(root, "uptime_seconds"));
	/* The admin address is all that ties this file to that rondo: say when they disagree. */
	if (c->listen_name[0] != '\0' && strcmp(jstr(root, "listen"), c->listen_name) != 0)
		fprintf(out, "note: %s says port %s, but the rondo answering on %s listens on %s: "
		    "another instance, or a change not reloaded yet\n", c->path, c->listen_name,
		    c->admin_name, jstr(root, "listen"));
	/* Since the start, over every generation. */
#define CTL_TOTAL(f, metric, scale, help, col)	fprintf(out, "%s %s %lld", sep, col, jint(root, #f)); sep = ",";
#define CTL_TOTAL_CLASSES(f, ...)						\
	fprintf(out, "%s %s", sep, #f);						\
	ctl_classes(out, root, #f, 0);						\
	sep = ",";
	{
		const char *sep = "totals:";

		STATS_WORKER_COUNTERS(CTL_TOTAL)
		if (c->tls.enabled) {
			STATS_WORKER_TLS(CTL_TOTAL)
		}
		if (c->queue.max > 0) {
			STATS_WORKER_QUEUE(CTL_TOTAL)
		}
		STATS_WORKER_CLASSES(CTL_TOTAL_CLASSES)
		fprintf(out, "\n\n");
	}
#undef CTL_TOTAL
#undef CTL_TOTAL_CLASSES
#define CTL_HEAD(f, metric, scale, help, col)	fprintf(out, " %10s", col);
#define CTL_HEAD_CLASSES(f, ...)	ctl_classes(out, NULL, #f, 1);
#define CTL_COL(f, ...)		fprintf(out, " %10lld", jint(b, #f));
#define CTL_COL_CLASSES(f, ...)	ctl_classes(out, b, #f, 1);
	fprintf(out, "%-28s %-6s %-6s %7s %7s", "BACKEND", "HEALTH", "STATE", "ACTIVE", "WEIGHT");
	STATS_BACKEND_COUNTERS(CTL_HEAD)
	STATS_BACKEND_CLASSES(CTL_HEAD_CLASSES)
	fprintf(out, "\n");
	if (json_object_object_get_ex(root, "backends", &arr)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			b = json_object_array_get_idx(arr, i);
			fprintf(out, "%-28s %-6s %-6s %7lld %7lld", jstr(b, "name"), jstr(b, "health"),
			    jstr(b, "state"), jint(b, "active"), jint(b, "weight"));
			STATS_BACKEND_COUNTERS(CTL_COL)
			STATS_BACKEND_CLASSES(CTL_COL_CLASSES)
			fprintf(out, "\n");
		}
	}
	fprintf(out, "\n%-8s %12s", "WORKER", "CONNECTIONS");
	STATS_WORKER_COUNTERS(CTL_HEAD)
	if (c->tls.enabled) {
		STATS_WORKER_TLS(CTL_HEAD)
	}
	if (c->queue.max > 0) {
		STATS_WORKER_QUEUE(CTL_HEAD)
	}
	STATS_WORKER_CLASSES(CTL_HEAD_CLASSES)
	fprintf(out, "\n");
	if (json_object_object_get_ex(root, "workers", &arr)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			b = json_object_array_get_idx(arr, i);
			fprintf(out, "%-8lld %12lld", jint(b, "id"), jint(b, "connections"));
			STATS_WORKER_COUNTERS(CTL_COL)
			if (c->tls.enabled) {
				STATS_WORKER_TLS(CTL_COL)
			}
			if (c->queue.max > 0) {
				STATS_WORKER_QUEUE(CTL_COL)
			}
			STATS_WORKER_CLASSES(CTL_COL_CLASSES)
			fprintf(out, "\n");
		}
	}
#undef CTL_HEAD
#undef CTL_HEAD_CLASSES
#undef CTL_COL
#undef CTL_COL_CLASSES
	json_object_put(root);
	return 0;
}
