/* The monitor path answered by rondo itself; see monitor.h. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "http.h"
#include "monitor.h"
#include "shm.h"

int
monitor_match(const struct conf *c, const struct http_msg *m)
{
	size_t n = strlen(c->monitor_path);
	struct http_str authority, t = m->target;

	/* "GET http://host/rondo/health" asks for the same path. */
	(void)http_target_authority(m->target, &authority, &t);
	return t.len >= n && memcmp(t.p, c->monitor_path, n) == 0 &&
	    (t.len == n || t.p[n] == '?');
}

const char *
monitor_reason(const struct conf *c, const struct shm_seg *seg)
{
	uint32_t flags = shm_monitor(seg);
	size_t i;

	if (flags & SHM_MONITOR_STOPPING)
		return "stopping";
	if (flags & SHM_MONITOR_DRAIN)
		return "drained by the admin";
	/* The same backends balance_pick would consider (backups included). */
	for (i = 0; i < c->nbackends && i < seg->nbackends; i++)
		if (shm_backend_up(seg, (unsigned)i) &&
		    !atomic_load_explicit(&seg->backends[i].drain, memory_order_relaxed) &&
		    !shm_backend_passive_down(seg, (unsigned)i))
			return NULL;
	return "no backend can take a request";
}

int
monitor_answer(struct buf *b, const struct conf *c, const struct shm_seg *seg,
    const struct http_msg *m, size_t *head_len)
{
	const char *why = NULL, *allow = "";
	char body[64];
	int status, n, head = http_method_is(m->method, "HEAD");

	if (!head && !http_method_is(m->method, "GET")) {
		status = 405;
		allow = "Allow: GET, HEAD\r\n";
		snprintf(body, sizeof(body), "use GET or HEAD\n");
	} else {
		why = monitor_reason(c, seg);
		status = why == NULL ? 200 : 503;
		snprintf(body, sizeof(body), "%s\n", why == NULL ? "ready" : why);
	}
	n = snprintf(b->data + b->end, buf_space(b), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\nCache-Control: no-store\r\n"
	    "%sConnection: close\r\n\r\n", status, http_reason(status), strlen(body), allow);
	if (n < 0 || (size_t)n + sizeof(body) >= buf_space(b)) {
		buf_reset(b);
		*head_len = 0;
		return 500;
	}
	b->end += (size_t)n;
	*head_len = (size_t)n;
	if (!head) {
		memcpy(b->data + b->end, body, strlen(body));
		b->end += strlen(body);
	}
	return status;
}
