/*
 * The client address behind trusted proxies ("trustedProxies"): when the
 * peer is one of them, the address that X-Forwarded-For names last before
 * the trusted hops is the client's, for ip-hash and the logs. No I/O, no
 * libev.
 */
#ifndef RONDO_XFF_H
#define RONDO_XFF_H

#include <sys/socket.h>

struct conf_cidrs;
struct http_msg;

/*
 * Walks the X-Forwarded-For fields of m (all of them, as one list, hop-by-hop
 * ones left out) from the right: each address in trusted is a proxy and the
 * walk goes on; the first that is not is the client, copied to *out. When
 * every address is trusted, the leftmost is. An element that is not an IP
 * address (a name, "unknown", garbage) stops the walk: the client is then
 * the last address passed, as nothing left of a bad entry can be believed.
 * Returns 1 with *out set (AF_INET or AF_INET6, port 0), 0 when no usable
 * address was found (*out untouched).
 */
int xff_client(const struct http_msg *m, const struct conf_cidrs *trusted,
    struct sockaddr_storage *out);

#endif
