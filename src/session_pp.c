/* The PROXY protocol headers of a session, in and out; see session_pp.h. */
#include "config.h"

#include <string.h>
#include <sys/socket.h>

#include "buf.h"
#include "conf.h"
#include "log.h"
#include "ppin.h"
#include "proxyproto.h"
#include "session.h"
#include "session_pp.h"
#include "upstream.h"

int
client_proxy_header(struct session *s)
{
	struct proxyproto_hdr h;
	int r;

	if (s->cin == NULL && (s->cin = buf_get(&s->px->bufs)) == NULL) {
		session_close(s);
		return -1;
	}
	r = ppin_read(s->cfd, s->cin->data, PROXYPROTO_V2_MAX, &s->cin->end, &h);
	if (r == PP_AGAIN)
		return -1;
	if (r != PP_OK) {
		log_client("%s: %s, closing", s->client_ip, ppin_strerror(r));
		session_close(s);
		return -1;
	}
	buf_reset(s->cin);
	s->pp_wait = 0;
	if (!h.local) {		/* LOCAL: the proxy speaks for itself, the socket's address stands */
		session_set_peer(s, (const struct sockaddr *)&h.src);
		memcpy(&s->dst, &h.dst, h.dstlen);
		s->dst_len = h.dstlen;
	}
	return 0;
}

int
session_send_proxy(struct session *s, struct upstream *up)
{
	char hdr[UPSTREAM_PREAMBLE_MAX];
	socklen_t len = sizeof(s->dst);
	int n;

	if (s->dst_len == 0 && getsockname(s->cfd, (struct sockaddr *)&s->dst, &len) == 0)
		s->dst_len = len;
	if (s->px->conf->backends[up->backend].send_proxy == 1)
		n = proxyproto_write_v1(hdr, sizeof(hdr), (struct sockaddr *)&s->peer,
		    (struct sockaddr *)&s->dst);
	else
		n = proxyproto_write_v2(hdr, sizeof(hdr), (struct sockaddr *)&s->peer,
		    (struct sockaddr *)&s->dst);
	if (n <= 0)
		return -1;
	return upstream_preamble(up, hdr, (size_t)n);
}
