/* Request and response heads as rondo sends them; see rewrite.h. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "http.h"
#include "rewrite.h"

/* One field line as received: "name: value". */
static inline int
rewrite_field(struct buf *b, const struct http_header *h)
{
	return buf_append_field(b, h->name.p, h->name.len, h->value.p, h->value.len);
}

int
rewrite_request_id_valid(struct http_str v)
{
	size_t i;

	if (v.len == 0 || v.len > REWRITE_ID_MAX)
		return 0;
	for (i = 0; i < v.len; i++) {
		char c = v.p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == ':' || c == '-'))
			return 0;
	}
	return 1;
}

void
rewrite_request_id_make(uint32_t prefix, uint64_t seq, char *out)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 8; i++)
		out[i] = hex[(prefix >> (28 - 4 * i)) & 15];
	for (i = 0; i < 16; i++)
		out[8 + i] = hex[(seq >> (60 - 4 * i)) & 15];
	out[REWRITE_ID_LEN] = '\0';
}

int
rewrite_request(struct buf *b, const struct http_msg *m, struct rewrite_request *rq)
{
	struct http_str target = m->target, host = m->host, authority;
	size_t i, nxff = 0, nupgrade = 0;
	int r = 0, absolute = 0, kept_proto = 0, kept_host = 0;

	rq->id[0] = '\0';
	rq->referer_len = rq->agent_len = 0;
	rq->upgrade_off = rq->upgrade_len = 0;
	/*
	 * An absolute-form target names the host itself, and RFC 9112 3.2.2 has a
	 * server use it and ignore Host. Backends do not all do that, so rondo
	 * sends origin-form with Host set to the target's authority: one reading.
	 * The split is the parser's, which validated that authority.
	 */
	if (http_target_authority(m->target, &authority, &target)) {
		host = authority;
		absolute = 1;
	}
	r |= buf_append(b, m->method.p, m->method.len);
	r |= buf_append(b, " ", 1);
	if (target.len == 0 || target.p[0] == '?')
		r |= buf_append(b, "/", 1);
	r |= buf_append(b, target.p, target.len);
	/*
	 * An HTTP/1.0 request goes on in HTTP/1.0: the backend then answers
	 * without chunked coding or interim responses, which a 1.0 client could
	 * not read. Everything else goes in HTTP/1.1.
	 */
	r |= buf_append(b, m->minor == 0 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n", 11);
	if (absolute && host.len > 0) {
		r |= buf_append(b, "Host: ", 6);
		r |= buf_append(b, host.p, host.len);
		r |= buf_append(b, "\r\n", 2);
	}
	for (i = 0; i < m->nheaders && r == 0; i++) {
		const struct http_header *h = &m->headers[i];

		switch (h->id) {
		case HTTP_H_HOST:
			/* Host is never hop-by-hop, whatever Connection says. */
			if (!absolute)
				r |= rewrite_field(b, h);
			continue;
		case HTTP_H_TRAILER:
			/* trailers pass inside the chunked body */
			r |= rewrite_field(b, h);
			continue;
		case HTTP_H_UPGRADE:
			nupgrade++;	/* offered on below, when rq->upgrade */
			continue;
		case HTTP_H_CONTENT_LENGTH:
			continue;	/* rondo writes its own */
		case HTTP_H_X_FORWARDED_PROTO:
		case HTTP_H_X_FORWARDED_HOST:
			/* A trusted proxy's are kept; anyone else's are replaced by rondo's. */
			if (!rq->trusted || http_header_is_hop(m, h))
				continue;
			if (h->id == HTTP_H_X_FORWARDED_PROTO)
				kept_proto = 1;
			else
				kept_host = 1;
			r |= rewrite_field(b, h);
			continue;
		case HTTP_H_X_FORWARDED_FOR:
			/* A trusted proxy's are joined into one field below, the client's address last. */
			if (rq->trusted && !http_header_is_hop(m, h))
				nxff++;
			continue;
		default:
			break;
		}
		if (http_header_is_hop(m, h))
			continue;
		/*
		 * CGI and WSGI servers turn '-' and '_' alike into '_': X_Forwarded_For
		 * would be read as rondo's X-Forwarded-For (nginx drops them too).
		 */
		if (rq->drop_underscore && memchr(h->name.p, '_', h->name.len) != NULL)
			continue;
		switch (h->id) {
		case HTTP_H_X_REQUEST_ID:
			if (rq->id[0] != '\0' || !rewrite_request_id_valid(h->value))
				continue;	/* one id, a fresh one if the client's is unusable */
			memcpy(rq->id, h->value.p, h->value.len);
			rq->id[h->value.len] = '\0';
			break;
		case HTTP_H_REFERER:
			rq->referer_off = b->end + h->name.len + 2;
			rq->referer_len = h->value.len;
			break;
		case HTTP_H_USER_AGENT:
			rq->agent_off = b->end + h->name.len + 2;
			rq->agent_len = h->value.len;
			break;
		default:
			break;
		}
		r |= rewrite_field(b, h);
	}
	if (rq->id[0] == '\0') {
		size_t n = strlen(rq->fresh_id);

		if (n > REWRITE_ID_MAX)
			n = REWRITE_ID_MAX;
		memcpy(rq->id, rq->fresh_id, n);
		rq->id[n] = '\0';
		r |= buf_append(b, "X-Request-Id: ", 14);
		r |= buf_append_str(b, rq->id);
		r |= buf_append(b, "\r\n", 2);
	}
	/* "Content-Length: 0" goes on: some servers want a length on every POST (411). */
	if (m->body == HTTP_BODY_LENGTH || (m->body == HTTP_BODY_NONE && m->has_content_length)) {
		r |= buf_append(b, "Content-Length: ", 16);
		r |= buf_append_u64(b, m->content_length);
		r |= buf_append(b, "\r\n", 2);
	} else if (m->body == HTTP_BODY_CHUNKED) {
		r |= buf_append(b, "Transfer-Encoding: chunked\r\n", 28);
	}
	r |= buf_append(b, "X-Forwarded-For: ", 17);
	for (i = 0; nxff > 0 && i < m->nheaders && r == 0; i++) {
		if (m->headers[i].id != HTTP_H_X_FORWARDED_FOR || http_header_is_hop(m, &m->headers[i]))
			continue;
		r |= buf_append(b, m->headers[i].value.p, m->headers[i].value.len);
		r |= buf_append(b, ", ", 2);
	}
	r |= buf_append_str(b, rq->client_ip);
	r |= buf_append(b, "\r\n", 2);
	if (!kept_proto)
		r |= buf_append_str(b, rq->tls ? "X-Forwarded-Proto: https\r\n" :
		    "X-Forwarded-Proto: http\r\n");
	if (rq->upgrade && nupgrade > 0) {
		/* The client's offer, all its Upgrade fields in one, kept to check the 101 against. */
		r |= buf_append(b, "Upgrade: ", 9);
		rq->upgrade_off = b->end;
		for (i = 0; i < m->nheaders && r == 0; i++) {
			if (m->headers[i].id != HTTP_H_UPGRADE || m->headers[i].value.len == 0)
				continue;
			if (b->end > rq->upgrade_off)
				r |= buf_append(b, ", ", 2);
			r |= buf_append(b, m->headers[i].value.p, m->headers[i].value.len);
		}
		rq->upgrade_len = b->end - rq->upgrade_off;
		r |= buf_append(b, "\r\nConnection: upgrade\r\n", 23);
	}
	if (host.len > 0 && !kept_host) {
		r |= buf_append(b, "X-Forwarded-Host: ", 18);
		r |= buf_append(b, host.p, host.len);
		r |= buf_append(b, "\r\n", 2);
	}
	r |= buf_append(b, "\r\n", 2);
	return r ? -1 : 0;
}

int
rewrite_response(struct buf *b, const struct http_msg *m, const struct rewrite_response *rs)
{
	size_t i;
	int r = 0, cl_done = 0;

	r |= buf_append(b, "HTTP/1.1 ", 9);
	r |= buf_append_u64(b, (uint64_t)m->status);
	r |= buf_append(b, " ", 1);
	r |= buf_append(b, m->reason.p, m->reason.len);
	r |= buf_append(b, "\r\n", 2);
	for (i = 0; i < m->nheaders && r == 0; i++) {
		const struct http_header *h = &m->headers[i];

		/*
		 * The body is relayed as it came, so its Transfer-Encoding (which the
		 * parser checked ends in chunked, or delimits by close) and Trailer
		 * fields go with it.
		 */
		if (h->id == HTTP_H_TRANSFER_ENCODING || h->id == HTTP_H_TRAILER ||
		    (m->status == 101 && h->id == HTTP_H_UPGRADE)) {
			r |= rewrite_field(b, h);
			continue;
		}
		if (http_header_is_hop(m, h))
			continue;
		/* Duplicate Content-Length fields were checked to be equal: send one. */
		if (h->id == HTTP_H_CONTENT_LENGTH && cl_done++)
			continue;
		r |= rewrite_field(b, h);
	}
	if (m->status == 101)
		r |= buf_append(b, "Connection: upgrade\r\n", 21);
	if (m->status >= 200) {
		if (rs->server != NULL) {
			r |= buf_append(b, "X-Forwarded-Server: ", 20);
			r |= buf_append_str(b, rs->server);
			r |= buf_append(b, "\r\n", 2);
		}
		if (rs->close)
			r |= buf_append(b, "Connection: close\r\n", 19);
		else if (rs->client_minor == 0)
			r |= buf_append(b, "Connection: keep-alive\r\n", 24);
	}
	r |= buf_append(b, "\r\n", 2);
	return r ? -1 : 0;
}

int
rewrite_redirect(struct buf *b, const struct http_msg *m, unsigned port)
{
	static const char body[] = "Moved to https\n";
	struct http_str target = m->target, host = m->host, authority;
	size_t n;
	int r = 0;

	if (http_target_authority(m->target, &authority, &target))
		host = authority;
	/* The parser checked the host: "name", "name:port", "[v6]" or "[v6]:port". */
	for (n = host.len; n > 0 && host.p[n - 1] >= '0' && host.p[n - 1] <= '9'; n--)
		;
	if (n > 0 && n < host.len && host.p[n - 1] == ':')
		host.len = n - 1;
	else if (n > 0 && host.p[n - 1] == ':' && n == host.len)
		host.len = n - 1;	/* "name:" (an empty port) */
	if (host.len == 0)
		return -1;
	r |= buf_append_str(b, "HTTP/1.1 308 Permanent Redirect\r\nLocation: https://");
	r |= buf_append(b, host.p, host.len);
	if (port != 443) {
		r |= buf_append(b, ":", 1);
		r |= buf_append_u64(b, port);
	}
	if (target.len == 0 || target.p[0] != '/')
		r |= buf_append(b, "/", 1);
	r |= buf_append(b, target.p, target.len);
	r |= buf_append_str(b, "\r\nContent-Type: text/plain\r\nContent-Length: ");
	r |= buf_append_u64(b, sizeof(body) - 1);
	r |= buf_append_str(b, "\r\nConnection: close\r\n\r\n");
	r |= buf_append(b, body, sizeof(body) - 1);
	return r ? -1 : 0;
}
