/*
 * Address ranges ("10.0.0.0/8", "::1/128", "127.0.0.1") and whether a
 * socket address lies in one: which peers rondo trusts to send a PROXY
 * header. No I/O, no libev.
 *
 * Every range is kept in IPv6 form, IPv4 ones as ::ffff:a.b.c.d/(96 + n),
 * because the dual-stack listener sees IPv4 clients as IPv4-mapped IPv6
 * addresses: "10.0.0.0/8" must match ::ffff:10.1.2.3 as well as 10.1.2.3.
 * A consequence worth knowing: an IPv6 range covering ::ffff:0:0/96 (such
 * as "::/0") covers every IPv4 client too.
 */
#ifndef RONDO_CIDR_H
#define RONDO_CIDR_H

#include <stddef.h>

struct sockaddr;

struct cidr {
	unsigned char addr[16];	/* network address, host bits zero */
	unsigned prefix;	/* 0..128, in IPv6 bits */
};

/*
 * Parses s: an IPv4 or IPv6 address as inet_pton reads it (no leading
 * zeros, no zone, no spaces), with an optional "/n", n in decimal without
 * leading zeros, 0..32 for IPv4 and 0..128 for IPv6; a bare address is a
 * single host. Host bits set ("10.0.0.1/8") are refused, not masked: such
 * an entry is more likely a typo than a wish, and trust should be what was
 * written. Returns 0 with *out set, or -1 with err filled.
 */
int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen);

/* 1 if sa (AF_INET or AF_INET6) lies in c, else 0 (any other family included). */
int cidr_match(const struct cidr *c, const struct sockaddr *sa);

/* 1 if sa lies in any of list[0..n), else 0. */
int cidr_match_list(const struct cidr *list, size_t n, const struct sockaddr *sa);

#endif
