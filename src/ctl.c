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
 * GET path from the admin listener of c, with its address as Host and its
 * token if it has one; returns the body (malloc'd) or NULL with err.
 */
static char *
ctl_get(const struct conf *c, const char *path, char *err, size_t errlen)
{
	const struct conf_addr *a = &c->admin_listen;
	char req[8192], *buf = NULL, *body;
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
		snprintf(err, errlen, "unexpected answer: %.60s", buf);
		goto fail;
	}
	memmove(buf, body + 4, strlen(body + 4) + 1);
	return buf;
fail:
	if (fd != -1)
		close(fd);
	free(buf);
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

int
ctl_status(const struct conf *c, FILE *out, char *err, size_t errlen)
{
	json_object *root, *arr, *b, *resp;
	char *body;
	size_t i, n;

	if (!c->admin) {
		snprintf(err, errlen, "%s has no \"admin\" listener to ask", c->path);
		return -1;
	}
	if ((body = ctl_get(c, "/status", err, errlen)) == NULL) {
		char tmp[256];

		snprintf(tmp, sizeof(tmp), "%s", err);
		snprintf(err, errlen, "admin listener %s: %s", c->admin_name, tmp);
		return -1;
	}
	root = json_tokener_parse(body);
	free(body);
	if (root == NULL) {
		snprintf(err, errlen, "admin listener %s: the status is not JSON", c->admin_name);
		return -1;
	}
	fprintf(out, "rondo %s, listening on %s, generation %lld, up %llds\n\n",
	    jstr(root, "version"), jstr(root, "listen"), jint(root, "generation"),
	    jint(root, "uptime_seconds"));
	fprintf(out, "%-28s %-6s %-6s %7s %10s %9s %8s %8s\n", "BACKEND", "HEALTH", "STATE",
	    "ACTIVE", "REQUESTS", "FAILURES", "2XX", "5XX");
	if (json_object_object_get_ex(root, "backends", &arr)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			b = json_object_array_get_idx(arr, i);
			if (!json_object_object_get_ex(b, "responses", &resp))
				resp = NULL;
			fprintf(out, "%-28s %-6s %-6s %7lld %10lld %9lld %8lld %8lld\n",
			    jstr(b, "name"), jstr(b, "health"), jstr(b, "state"), jint(b, "active"),
			    jint(b, "requests"), jint(b, "failures"),
			    resp ? jint(resp, "2xx") : 0, resp ? jint(resp, "5xx") : 0);
		}
	}
	fprintf(out, "\n%-8s %12s %10s %10s\n", "WORKER", "CONNECTIONS", "ACCEPTED", "REQUESTS");
	if (json_object_object_get_ex(root, "workers", &arr)) {
		n = json_object_array_length(arr);
		for (i = 0; i < n; i++) {
			b = json_object_array_get_idx(arr, i);
			fprintf(out, "%-8lld %12lld %10lld %10lld\n", jint(b, "id"),
			    jint(b, "connections"), jint(b, "accepted"), jint(b, "requests"));
		}
	}
	json_object_put(root);
	return 0;
}
