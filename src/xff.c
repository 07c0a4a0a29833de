/* The client address behind trusted proxies; see xff.h. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "cidr.h"
#include "conf.h"
#include "http.h"
#include "xff.h"

/* Parses one list element p[0..len) (blanks around it allowed) as an IP address. */
static int
xff_parse(const char *p, size_t len, struct sockaddr_storage *ss)
{
	char tmp[INET6_ADDRSTRLEN];
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	while (len > 0 && (p[0] == ' ' || p[0] == '\t')) {
		p++;
		len--;
	}
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
		len--;
	if (len == 0 || len >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, tmp, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, tmp, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

int
xff_client(const struct http_msg *m, const struct conf_cidrs *trusted,
    struct sockaddr_storage *out)
{
	struct sockaddr_storage cand;
	const struct http_header *h;
	const char *p, *end, *comma;
	size_t i;
	int found = 0;

	for (i = m->nheaders; i-- > 0;) {
		h = &m->headers[i];
		if (h->id != HTTP_H_X_FORWARDED_FOR || http_header_is_hop(m, h))
			continue;
		p = h->value.p;
		end = p + h->value.len;
		for (;;) {
			/* The element after the last comma of p[0..end), or all of it. */
			for (comma = end; comma > p && comma[-1] != ','; comma--)
				;
			if (xff_parse(comma, (size_t)(end - comma), &cand) == -1)
				return found;
			*out = cand;
			found = 1;
			if (!cidr_match_list(trusted->v, trusted->n, (struct sockaddr *)&cand))
				return 1;
			if (comma == p)
				break;
			end = comma - 1;
		}
	}
	return found;
}
