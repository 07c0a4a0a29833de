/* Reading a PROXY header off a client socket; see ppin.h. */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "ppin.h"
#include "proxyproto.h"

int
ppin_read(int fd, char *buf, size_t cap, size_t *have, struct proxyproto_hdr *out)
{
	ssize_t n, want;
	int r;

	if (*have >= cap)
		return PP_E_V2_TOO_LONG;	/* the parser refuses long before; never trust that */
	n = recv(fd, buf + *have, cap - *have, MSG_PEEK | MSG_DONTWAIT);
	if (n == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return PP_AGAIN;
		return errno == ECONNRESET ? PPIN_E_CLOSED : PPIN_E_IO;
	}
	if (n == 0)
		return PPIN_E_CLOSED;
	r = proxyproto_parse(buf, *have + (size_t)n, out);
	if (r == PP_AGAIN)
		want = n;			/* every byte seen belongs to the header */
	else if (r == PP_OK)
		want = (ssize_t)(out->len - *have);	/* the rest of it, not a byte more */
	else
		return r;
	/* Peeked bytes stay queued in order: receiving them cannot come up short. */
	if (want > 0 && recv(fd, buf + *have, (size_t)want, MSG_DONTWAIT) != want)
		return PPIN_E_IO;
	*have += (size_t)want;
	return r;
}

const char *
ppin_strerror(int rc)
{
	switch (rc) {
	case PPIN_E_CLOSED:
		return "connection closed before the PROXY header";
	case PPIN_E_IO:
		return "read error before the PROXY header";
	default:
		return proxyproto_strerror(rc);
	}
}
