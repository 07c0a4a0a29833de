/* The access log line of a session's exchange; see session_log.h. */
#include "config.h"

#include <string.h>

#include "accesslog.h"
#include "buf.h"
#include "clock.h"
#include "conf.h"
#include "conn.h"
#include "session.h"
#include "session_log.h"

/*
 * The method, target and version of a request line as received (rejected):
 * split at the first and the last space; a part that is missing is "-".
 */
static void
session_log_line(struct accesslog_entry *e, const char *line, size_t len)
{
	const char *sp1 = memchr(line, ' ', len), *sp2 = NULL, *q;

	for (q = line + len; sp1 != NULL && q > sp1 + 1; q--)
		if (q[-1] == ' ') {
			sp2 = q - 1;
			break;
		}
	e->method = line;
	e->method_len = sp1 != NULL ? (size_t)(sp1 - line) : len;
	e->target = "-";
	e->target_len = 1;
	e->protocol = "-";
	e->protocol_len = 1;
	if (sp1 == NULL)
		return;
	e->target = sp1 + 1;
	e->target_len = (size_t)((sp2 != NULL ? sp2 : line + len) - e->target);
	if (sp2 != NULL && sp2 + 1 < line + len) {
		e->protocol = sp2 + 1;
		e->protocol_len = (size_t)(line + len - e->protocol);
	}
	if (e->method_len == 0) {
		e->method = "-";
		e->method_len = 1;
	}
	if (e->target_len == 0) {
		e->target = "-";
		e->target_len = 1;
	}
}

void
session_log(struct session *s)
{
	struct proxy *px = s->px;
	struct accesslog_entry e;
	const char *head;

	if (!s->in_exchange)
		return;
	s->in_exchange = 0;
	if (px->alog == NULL)
		return;
	memset(&e, 0, sizeof(e));
	e.time = s->t_wall;
	e.client = s->client_ip;
	if (s->rq_parsed && s->rqh != NULL) {
		head = s->rqh->data;
		e.method = head;
		e.method_len = strcspn(head, " ");
		e.target = head + e.method_len + 1;
		e.target_len = strcspn(e.target, " ");
		e.referer = head + s->ref_off;
		e.referer_len = s->ref_len;
		e.agent = head + s->ua_off;
		e.agent_len = s->ua_len;
	} else if (s->rq_line_len > 0 && s->rqh != NULL) {
		session_log_line(&e, s->rqh->data, s->rq_line_len);
	} else {
		e.method = e.target = "-";
		e.method_len = e.target_len = 1;
	}
	e.minor = s->rq_minor;
	e.status = s->rs_status;
	e.bytes = s->sent;
	e.body_bytes = s->sent_body;
#ifdef HAVE_TLS
	{
		struct conn_tls_info ti;

		if (conn_tls_info(&s->cc, &ti) == 0) {
			e.tls_version = ti.version;
			e.tls_cipher = ti.cipher;
			e.sni = ti.sni;
			e.tls_resumed = ti.resumed;
		}
	}
#endif
	e.backend = s->t_pick >= 0 && s->backend >= 0 ? px->conf->backends[s->backend].url : NULL;
	e.upstream_s = s->t_pick >= 0 && s->t_head >= 0 ? s->t_head - s->t_pick : -1;
	e.total_s = clock_mono() - s->t_start;
	e.request_id = s->req_id[0] != '\0' ? s->req_id : "-";
	accesslog_write(px->alog, &e);
}
