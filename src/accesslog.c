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

/*
 * The most bytes each field may take in a line, escaped: a longer one is cut
 * and ends with "...". With the field names, numbers and time, they add up
 * to well under ACCESSLOG_LINE_MAX, so a record is never cut (a JSON line
 * always parses).
 */
#define FIELD_CLIENT	64
#define FIELD_METHOD	32
#define FIELD_TARGET	1024
#define FIELD_PROTOCOL	32
#define FIELD_REFERER	512
#define FIELD_AGENT	512
#define FIELD_BACKEND	272	/* a configured URL: at most CONF_URL_MAX bytes, escaped */
#define FIELD_ID	80	/* at most REWRITE_ID_MAX bytes, of characters never escaped */
#define FIELD_FIXED	600	/* names, punctuation, time, status, byte counts, durations */
#define FIELD_TLS_VERSION 16	/* "TLSv1.3" */
#define FIELD_TLS_CIPHER 64	/* OpenSSL's name of a cipher suite */
#define FIELD_SNI	300	/* the server name a client asked for, cut like the others */
#define FIELD_TLS_FIXED	80	/* the TLS fields' names and punctuation (JSON only) */
#define CUT_MARK	"..."

_Static_assert(FIELD_CLIENT + FIELD_METHOD + FIELD_TARGET + FIELD_PROTOCOL + FIELD_REFERER +
    FIELD_AGENT + FIELD_BACKEND + FIELD_ID + FIELD_FIXED + FIELD_TLS_VERSION + FIELD_TLS_CIPHER +
    FIELD_SNI + FIELD_TLS_FIXED + 2 <= ACCESSLOG_LINE_MAX,
    "access log fields may not fit in a line");

struct accesslog {
	char *path;
	int fd;
	int own_fd;			/* 0 for standard output */
	enum accesslog_format fmt;
	size_t len;
	char buf[ACCESSLOG_BUF];
};

/* Bytes that byte c takes once escaped. */
static size_t
escaped_width(unsigned char c, int json)
{
	if (c == '"' || c == '\\')
		return 2;
	if (c < 0x20 || c == 0x7f || (json && c >= 0x80))
		return json ? 6 : 4;
	return 1;
}

/*
 * Appends s[0..n) to out at pos, escaped for a JSON string or a quoted log
 * field, in at most max bytes: a longer field is cut between two escapes
 * and ends with CUT_MARK. The caller has room for max bytes at pos.
 */
static size_t
put_escaped(char *out, size_t pos, size_t max, const char *s, size_t n, int json)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, w, total = 0, limit;

	for (i = 0; i < n && total <= max; i++)
		total += escaped_width((unsigned char)s[i], json);
	limit = total <= max ? total : max - (sizeof(CUT_MARK) - 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		w = escaped_width(c, json);
		if (w > limit)
			break;
		limit -= w;
		if (w == 1) {
			out[pos++] = (char)c;
		} else if (w == 2) {
			out[pos++] = '\\';
			out[pos++] = (char)c;
		} else {
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
		}
	}
	if (i < n) {
		memcpy(out + pos, CUT_MARK, sizeof(CUT_MARK) - 1);
		pos += sizeof(CUT_MARK) - 1;
	}
	return pos;
}

/* Appends s, which the line's budget (FIELD_FIXED) has room for. */
static size_t
put_str(char *out, size_t pos, const char *s)
{
	size_t n = strlen(s);

	memcpy(out + pos, s, n);
	return pos + n;
}

size_t
accesslog_format_entry(enum accesslog_format fmt, const struct accesslog_entry *e, char *out,
    size_t outlen)
{
	char num[160], when[64], version[16];
	time_t t = (time_t)e->time;
	struct tm tm;
	size_t pos = 0;
	int json = fmt == ACCESSLOG_JSON;
	const char *proto = e->protocol;
	size_t proto_len = e->protocol_len;

	if (outlen < ACCESSLOG_LINE_MAX) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	if (proto == NULL) {
		snprintf(version, sizeof(version), "HTTP/1.%d", e->minor);
		proto = version;
		proto_len = strlen(version);
	}
	if (json) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		snprintf(num, sizeof(num), "{\"time\":\"%s.%03dZ\",\"client\":\"", when,
		    (int)((e->time - (double)t) * 1000));
		pos = put_str(out, pos, num);
		pos = put_escaped(out, pos, FIELD_CLIENT, e->client, strlen(e->client), 1);
		pos = put_str(out, pos, "\",\"method\":\"");
		pos = put_escaped(out, pos, FIELD_METHOD, e->method, e->method_len, 1);
		pos = put_str(out, pos, "\",\"target\":\"");
		pos = put_escaped(out, pos, FIELD_TARGET, e->target, e->target_len, 1);
		pos = put_str(out, pos, "\",\"protocol\":\"");
		pos = put_escaped(out, pos, FIELD_PROTOCOL, proto, proto_len, 1);
		snprintf(num, sizeof(num), "\",\"status\":%d,\"bytes\":%llu,\"body_bytes\":%llu,"
		    "\"referer\":\"", e->status, (unsigned long long)e->bytes,
		    (unsigned long long)e->body_bytes);
		pos = put_str(out, pos, num);
		pos = put_escaped(out, pos, FIELD_REFERER, e->referer, e->referer_len, 1);
		pos = put_str(out, pos, "\",\"agent\":\"");
		pos = put_escaped(out, pos, FIELD_AGENT, e->agent, e->agent_len, 1);
		pos = put_str(out, pos, "\",\"backend\":");
		if (e->backend != NULL) {
			pos = put_str(out, pos, "\"");
			pos = put_escaped(out, pos, FIELD_BACKEND, e->backend, strlen(e->backend), 1);
			pos = put_str(out, pos, "\"");
		} else {
			pos = put_str(out, pos, "null");
		}
		if (e->upstream_s >= 0)
			snprintf(num, sizeof(num), ",\"upstream_time\":%.6f", e->upstream_s);
		else
			snprintf(num, sizeof(num), ",\"upstream_time\":null");
		pos = put_str(out, pos, num);
		snprintf(num, sizeof(num), ",\"total_time\":%.6f,\"request_id\":\"", e->total_s);
		pos = put_str(out, pos, num);
		pos = put_escaped(out, pos, FIELD_ID, e->request_id, strlen(e->request_id), 1);
		pos = put_str(out, pos, "\"");
		if (e->tls_version != NULL) {
			pos = put_str(out, pos, ",\"tls_version\":\"");
			pos = put_escaped(out, pos, FIELD_TLS_VERSION, e->tls_version,
			    strlen(e->tls_version), 1);
			pos = put_str(out, pos, "\",\"tls_cipher\":\"");
			pos = put_escaped(out, pos, FIELD_TLS_CIPHER, e->tls_cipher,
			    strlen(e->tls_cipher), 1);
			pos = put_str(out, pos, "\",\"sni\":");
			if (e->sni != NULL) {
				pos = put_str(out, pos, "\"");
				pos = put_escaped(out, pos, FIELD_SNI, e->sni, strlen(e->sni), 1);
				pos = put_str(out, pos, "\"");
			} else {
				pos = put_str(out, pos, "null");
			}
			pos = put_str(out, pos, e->tls_resumed ? ",\"tls_resumed\":true" :
			    ",\"tls_resumed\":false");
		}
		pos = put_str(out, pos, "}");
	} else {
		pos = put_escaped(out, pos, FIELD_CLIENT, e->client, strlen(e->client), 0);
		localtime_r(&t, &tm);
		strftime(when, sizeof(when), "%d/%b/%Y:%H:%M:%S %z", &tm);
		snprintf(num, sizeof(num), " - - [%s] \"", when);
		pos = put_str(out, pos, num);
		pos = put_escaped(out, pos, FIELD_METHOD, e->method, e->method_len, 0);
		pos = put_str(out, pos, " ");
		pos = put_escaped(out, pos, FIELD_TARGET, e->target, e->target_len, 0);
		pos = put_str(out, pos, " ");
		pos = put_escaped(out, pos, FIELD_PROTOCOL, proto, proto_len, 0);
		/* The format's size field is the body's, as in other servers' combined logs. */
		snprintf(num, sizeof(num), "\" %d %llu \"", e->status,
		    (unsigned long long)e->body_bytes);
		pos = put_str(out, pos, num);
		pos = put_escaped(out, pos, FIELD_REFERER, e->referer_len ? e->referer : "-",
		    e->referer_len ? e->referer_len : 1, 0);
		pos = put_str(out, pos, "\" \"");
		pos = put_escaped(out, pos, FIELD_AGENT, e->agent_len ? e->agent : "-",
		    e->agent_len ? e->agent_len : 1, 0);
		pos = put_str(out, pos, "\" ");
		pos = put_escaped(out, pos, FIELD_BACKEND, e->backend != NULL ? e->backend : "-",
		    e->backend != NULL ? strlen(e->backend) : 1, 0);
		if (e->upstream_s >= 0)
			snprintf(num, sizeof(num), " %.3f %.3f ", e->upstream_s, e->total_s);
		else
			snprintf(num, sizeof(num), " - %.3f ", e->total_s);
		pos = put_str(out, pos, num);
		pos = put_escaped(out, pos, FIELD_ID, e->request_id, strlen(e->request_id), 0);
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
	if (sizeof(l->buf) - l->len < ACCESSLOG_LINE_MAX)
		accesslog_flush(l);
	l->len += accesslog_format_entry(l->fmt, e, l->buf + l->len, ACCESSLOG_LINE_MAX);
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
