/*
 * The access log: one line per request, written by each worker to the same
 * file (opened O_APPEND, so lines from several workers never interleave).
 * Lines are gathered in a buffer and written when it fills or at the latest
 * a few milliseconds later (accesslog_flush from a timer), not one write(2)
 * per request. SIGUSR1 makes every worker reopen the file (log rotation).
 *
 * Formats:
 *   combined  client - - [time] "METHOD target HTTP/1.x" status bytes "referer" "agent"
 *             then backend, upstream seconds, total seconds, request id; bytes
 *             are the response body's, as in the format's definition
 *   json      one object per line with the same fields, named; "bytes" counts
 *             the whole response (head included), "body_bytes" its body; a
 *             request over TLS adds tls_version, tls_cipher, sni, tls_resumed
 * A line never exceeds ACCESSLOG_LINE_MAX: a long field (target, referer,
 * agent...) is cut and ends with "...", so that every line stays whole.
 */
#ifndef RONDO_ACCESSLOG_H
#define RONDO_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

#define ACCESSLOG_LINE_MAX	4096	/* longest line: long fields are cut to fit, with "..." */

enum accesslog_format {
	ACCESSLOG_COMBINED,
	ACCESSLOG_JSON,
};

struct accesslog;

/* What one request leaves in the log. Strings need not be NUL-terminated. */
struct accesslog_entry {
	double time;			/* when the request head arrived, seconds since the epoch */
	const char *client;		/* numeric address */
	const char *method;
	size_t method_len;
	const char *target;
	size_t target_len;
	int minor;			/* HTTP/1.<minor>, unless protocol is set */
	const char *protocol;		/* the version as received (a rejected request); NULL: minor */
	size_t protocol_len;
	int status;			/* as sent to the client; 0 if none was */
	uint64_t bytes;			/* response bytes sent to the client, head included */
	uint64_t body_bytes;		/* ... of which response body */
	const char *referer;
	size_t referer_len;
	const char *agent;
	size_t agent_len;
	const char *backend;		/* URL, or NULL when no backend answered */
	double upstream_s;		/* backend connect to response head; <0: none */
	double total_s;			/* request head to the last response byte */
	const char *request_id;
	const char *tls_version;	/* the client's TLS connection ("TLSv1.3"); NULL: plain */
	const char *tls_cipher;		/* ... its cipher suite */
	const char *sni;		/* ... the server name it asked for; NULL: none */
	int tls_resumed;		/* ... its handshake resumed a session */
};

/*
 * Opens path for appending ("-" is standard output). Returns NULL with err
 * filled on failure. The caller owns the result (accesslog_close).
 */
struct accesslog *accesslog_open(const char *path, enum accesslog_format fmt, char *err,
    size_t errlen);

/* Flushes, then closes. NULL is fine. */
void accesslog_close(struct accesslog *l);

/* Opens the file again by name (after rotation). Returns 0, or -1 with errno set. */
int accesslog_reopen(struct accesslog *l);

/* Adds one line; writes the buffer when it is nearly full. */
void accesslog_write(struct accesslog *l, const struct accesslog_entry *e);

/* Writes what is buffered. Returns 1 when something was pending. */
int accesslog_flush(struct accesslog *l);

/*
 * Formats one entry into out, NUL-terminated, long fields cut to fit.
 * outlen must be at least ACCESSLOG_LINE_MAX (else out is left empty).
 * Returns its length.
 */
size_t accesslog_format_entry(enum accesslog_format fmt, const struct accesslog_entry *e,
    char *out, size_t outlen);

/* Parses "combined" or "json". Returns 0, or -1 if it is neither. */
int accesslog_parse_format(const char *s, enum accesslog_format *fmt);

#endif
