/* Sticky session cookies; see sticky.h. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "hashkey.h"
#include "http.h"
#include "sticky.h"

int
sticky_get(const struct conf_sticky *st, const struct http_msg *m, uint64_t *id)
{
	struct http_str v;
	uint64_t x = 0;
	size_t i;
	char c;

	if (!hashkey_cookie(m, st->cookie, strlen(st->cookie), &v) || v.len != STICKY_ID_LEN)
		return 0;
	for (i = 0; i < v.len; i++) {
		c = v.p[i];
		if (c >= '0' && c <= '9')
			x = x << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			x = x << 4 | (uint64_t)(c - 'a' + 10);
		else
			return 0;
	}
	*id = x;
	return 1;
}

/*
 * Removes the pairs <name>=... from the cookie-string v (in place, v->p's
 * bytes are writable: they are the request buffer's), keeping "; " between
 * the others.
 */
static void
sticky_strip_value(struct http_str *v, const char *name, size_t len)
{
	char *p = (char *)(uintptr_t)v->p, *out = p, *end = p + v->len, *semi, *q;

	while (p < end) {
		while (p < end && (*p == ' ' || *p == '\t' || *p == ';'))
			p++;
		if (p == end)
			break;
		if ((semi = memchr(p, ';', (size_t)(end - p))) == NULL)
			semi = end;
		q = semi;
		while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
			q--;
		if (!((size_t)(q - p) > len && memcmp(p, name, len) == 0 && p[len] == '=')) {
			if (out != (char *)(uintptr_t)v->p) {
				*out++ = ';';
				*out++ = ' ';
			}
			memmove(out, p, (size_t)(q - p));
			out += q - p;
		}
		p = semi;
	}
	v->len = (size_t)(out - (char *)(uintptr_t)v->p);
}

void
sticky_strip(const struct conf_sticky *st, struct http_msg *m)
{
	size_t h = 0, len = strlen(st->cookie);

	while (h < m->nheaders) {
		struct http_header *f = &m->headers[h];

		if (f->name.len == 6 && strncasecmp(f->name.p, "cookie", 6) == 0) {
			sticky_strip_value(&f->value, st->cookie, len);
			if (f->value.len == 0) {
				memmove(f, f + 1, (m->nheaders - h - 1) * sizeof(*f));
				m->nheaders--;
				continue;
			}
		}
		h++;
	}
}

int
sticky_set_cookie(struct buf *b, const struct conf_sticky *st, uint64_t id, int tls)
{
	char line[512], age[32] = "";
	int n;

	if (buf_len(b) < 4 || memcmp(b->data + b->end - 4, "\r\n\r\n", 4) != 0)
		return -1;
	if (st->max_age_ms != 0)
		snprintf(age, sizeof(age), "; Max-Age=%" PRIu64, (st->max_age_ms + 999) / 1000);
	n = snprintf(line, sizeof(line), "Set-Cookie: %s=%016" PRIx64 "; Path=%s%s%s%s; HttpOnly; "
	    "SameSite=Lax%s\r\n\r\n", st->cookie, id, st->path != NULL ? st->path : "/", age,
	    st->domain != NULL ? "; Domain=" : "", st->domain != NULL ? st->domain : "",
	    tls ? "; Secure" : "");
	if (n < 0 || (size_t)n >= sizeof(line) || buf_space(b) + 2 < (size_t)n)
		return -1;
	b->end -= 2;	/* the empty line goes after the new field */
	memcpy(b->data + b->end, line, (size_t)n);
	b->end += (size_t)n;
	return 0;
}
