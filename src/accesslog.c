/* Buffered access log lines in the combined or JSON format; see accesslog.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"

#define ACCESSLOG_BUF	65536	/* written when it would overflow, or by accesslog_flush */
#define ACCESSLOG_LINE	4096	/* longest line; longer fields are cut */

struct accesslog {
	char *path;
	int fd;
	int own_fd;			/* 0 for standard output */
	enum accesslog_format fmt;
	size_t len;
	char buf[ACCESSLOG_BUF];
};

/* Appends s[0..n) to out with pos, escaped for a JSON string or a quoted log field. */
static size_t
put_escaped(char *out, size_t pos, size_t outlen, const char *s, size_t n, int json)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n && pos + 7 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			out[pos++] = '\\';
			out[pos++] = (char)c;
		} else if (c < 0x20 || c == 0x7f || (json && c >= 0x80)) {
			/* Control bytes (and, in JSON, bytes that may not be UTF-8) as escapes. */
			out[pos++] = '\\';
			if (json) {
				memcpy(out + pos, "u00", 3);
				pos += 3;
			} else {
				out[pos++] = 'x';
			}
			out[pos++] = hex[c >> 4];
			out[pos++] = hex[c & 15];
		} else {
			out[pos++] = (char)c;
		}
	}
	return pos;
}

static size_t
put_str(char *out, size_t pos, size_t outlen, const char *s)
{
	size_t n = strlen(s);

	if (pos + n >= outlen)
		n = outlen - pos - 1;
	memcpy(out + pos, s, n);
	return pos + n;
}

size_t
accesslog_format_entry(enum accesslog_format fmt, const struct accesslog_entry *e, char *out,
    size_t outlen)
{
	char num[160], when[64];
	time_t t = (time_t)e->time;
	struct tm tm;
	size_t pos = 0;
	int json = fmt == ACCESSLOG_JSON;

	if (outlen < 64) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	outlen -= 2;	/* room for "\n" and NUL */
	if (json) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(num, sizeof(num), "{\"time\":\"%s.%03dZ\",\"client\":\"", when,
		    (int)((e->time - (double)t) * 1000));
		pos = put_str(out, pos, outlen, num);
		pos = put_escaped(out, pos, outlen, e->client, strlen(e->client), 1);
		pos = put_str(out, pos, outlen, "\",\"method\":\"");
		pos = put_escaped(out, pos, outlen, e->method, e->method_len, 1);
		pos = put_str(out, pos, outlen, "\",\"target\":\"");
		pos = put_escaped(out, pos, outlen, e->target, e->target_len, 1);
		snprintf(num, sizeof(num), "\",\"protocol\":\"HTTP/1.%d\",\"status\":%d,\"bytes\":%llu,"
		    "\"referer\":\"", e->minor, e->status, (unsigned long long)e->bytes);
		pos = put_str(out, pos, outlen, num);
		pos = put_escaped(out, pos, outlen, e->referer, e->referer_len, 1);
		pos = put_str(out, pos, outlen, "\",\"agent\":\"");
		pos = put_escaped(out, pos, outlen, e->agent, e->agent_len, 1);
		pos = put_str(out, pos, outlen, "\",\"backend\":");
		if (e->backend != NULL) {
			pos = put_str(out, pos, outlen, "\"");
			pos = put_escaped(out, pos, outlen, e->backend, strlen(e->backend), 1);
			pos = put_str(out, pos, outlen, "\"");
		} else {
			pos = put_str(out, pos, outlen, "null");
		}
		if (e->upstream_s >= 0)
			snprintf(num, sizeof(num), ",\"upstream_time\":%.6f", e->upstream_s);
		else
			snprintf(num, sizeof(num), ",\"upstream_time\":null");
		pos = put_str(out, pos, outlen, num);
		snprintf(num, sizeof(num), ",\"total_time\":%.6f,\"request_id\":\"", e->total_s);
		pos = put_str(out, pos, outlen, num);
		pos = put_escaped(out, pos, outlen, e->request_id, strlen(e->request_id), 1);
		pos = put_str(out, pos, outlen, "\"}");
	} else {
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
		pos = put_str(out, pos, outlen, e->client);
		snprintf(num, sizeof(num), " - - [%s] \"", when);
		pos = put_str(out, pos, outlen, num);
		pos = put_escaped(out, pos, outlen, e->method, e->method_len, 0);
		pos = put_str(out, pos, outlen, " ");
		pos = put_escaped(out, pos, outlen, e->target, e->target_len, 0);
		snprintf(num, sizeof(num), " HTTP/1.%d\" %d %llu \"", e->minor, e->status,
		    (unsigned long long)e->bytes);
		pos = put_str(out, pos, outlen, num);
		pos = put_escaped(out, pos, outlen, e->referer_len ? e->referer : "-",
		    e->referer_len ? e->referer_len : 1, 0);
		pos = put_str(out, pos, outlen, "\" \"");
		pos = put_escaped(out, pos, outlen, e->agent_len ? e->agent : "-",
		    e->agent_len ? e->agent_len : 1, 0);
		pos = put_str(out, pos, outlen, "\" ");
		pos = put_str(out, pos, outlen, e->backend != NULL ? e->backend : "-");
		if (e->upstream_s >= 0)
			snprintf(num, sizeof(num), " %.3f %.3f ", e->upstream_s, e->total_s);
		else
			snprintf(num, sizeof(num), " - %.3f ", e->total_s);
		pos = put_str(out, pos, outlen, num);
		pos = put_str(out, pos, outlen, e->request_id);
	}
	out[pos++] = '\n';
	out[pos] = '\0';
	return pos;
}

static int
accesslog_open_fd(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

struct accesslog *
accesslog_open(const char *path, enum accesslog_format fmt, char *err, size_t errlen)
{
	struct accesslog *l;

	if ((l = calloc(1, sizeof(*l))) == NULL || (l->path = strdup(path)) == NULL) {
		free(l);
		snprintf(err, errlen, "access log %s: out of memory", path);
		return NULL;
	}
	l->fmt = fmt;
	if (strcmp(path, "-") == 0) {
		l->fd = STDOUT_FILENO;
	} else if ((l->fd = accesslog_open_fd(path)) == -1) {
		snprintf(err, errlen, "access log %s: %s", path, strerror(errno));
		free(l->path);
		free(l);
		return NULL;
	} else {
		l->own_fd = 1;
	}
	return l;
}

int
accesslog_flush(struct accesslog *l)
{
	size_t off = 0;
	ssize_t n;

	if (l == NULL || l->len == 0)
		return 0;
	/* Whole lines in one write: O_APPEND keeps them apart from other workers'. */
	while (off < l->len) {
		n = write(l->fd, l->buf + off, l->len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;		/* disk full or gone: the lines are dropped, serving goes on */
		}
		off += (size_t)n;
	}
	l->len = 0;
	return 1;
}

void
accesslog_write(struct accesslog *l, const struct accesslog_entry *e)
{
	if (sizeof(l->buf) - l->len < ACCESSLOG_LINE)
		accesslog_flush(l);
	l->len += accesslog_format_entry(l->fmt, e, l->buf + l->len, ACCESSLOG_LINE);
}

int
accesslog_reopen(struct accesslog *l)
{
	int fd;

	accesslog_flush(l);
	if (!l->own_fd)
		return 0;
	if ((fd = accesslog_open_fd(l->path)) == -1)
		return -1;
	close(l->fd);
	l->fd = fd;
	return 0;
}

void
accesslog_close(struct accesslog *l)
{
	if (l == NULL)
		return;
	accesslog_flush(l);
	if (l->own_fd)
		close(l->fd);
	free(l->path);
	free(l);
}

int
accesslog_parse_format(const char *s, enum accesslog_format *fmt)
{
	if (strcmp(s, "combined") == 0)
		*fmt = ACCESSLOG_COMBINED;
	else if (strcmp(s, "json") == 0)
		*fmt = ACCESSLOG_JSON;
	else
		return -1;
	return 0;
}
