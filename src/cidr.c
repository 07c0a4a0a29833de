/* Address ranges; see cidr.h. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"

/* addr with its bits from prefix on cleared, in place. */
static void
cidr_mask(unsigned char *addr, unsigned prefix)
{
	unsigned i;

	for (i = 0; i < 16; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		addr[i] &= prefix > 8 * i ? (unsigned char)(0xff << (8 - (prefix - 8 * i))) : 0;
	}
}

/* The 16-byte form of sa, IPv4 as IPv4-mapped; -1 for another family. */
static int
cidr_addr_of(const struct sockaddr *sa, unsigned char *a)
{
	if (sa->sa_family == AF_INET) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

int
cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen)
{
	char host[INET6_ADDRSTRLEN];
	unsigned char a[16], masked[16];
	const char *slash = strchr(s, '/'), *p;
	size_t hlen = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned prefix = 0, max;
	int v4;

	if (hlen == 0 || hlen >= sizeof(host))
		goto bad_addr;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, a + 12) == 1) {
		memset(a, 0, 10);
		a[10] = a[11] = 0xff;
		v4 = 1;
	} else if (inet_pton(AF_INET6, host, a) == 1) {
		v4 = 0;
	} else {
		goto bad_addr;
	}
	max = v4 ? 32 : 128;
	if (slash == NULL) {
		prefix = max;
	} else {
		p = slash + 1;
		if (*p == '\0' || (p[0] == '0' && p[1] != '\0'))
			goto bad_prefix;
		for (; *p != '\0'; p++) {
			if (*p < '0' || *p > '9')
				goto bad_prefix;
			prefix = prefix * 10 + (unsigned)(*p - '0');
			if (prefix > max)
				goto bad_prefix;
		}
	}
	if (v4)
		prefix += 96;
	memcpy(masked, a, 16);
	cidr_mask(masked, prefix);
	if (memcmp(masked, a, 16) != 0) {
		snprintf(err, errlen, "\"%s\": host bits set after the /%u prefix", s,
		    v4 ? prefix - 96 : prefix);
		return -1;
	}
	memcpy(out->addr, a, 16);
	out->prefix = prefix;
	return 0;
bad_addr:
	snprintf(err, errlen, "\"%s\": not an IPv4 or IPv6 address", s);
	return -1;
bad_prefix:
	snprintf(err, errlen, "\"%s\": prefix length must be 0..%u", s, max);
	return -1;
}

int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	unsigned char a[16];

	if (cidr_addr_of(sa, a) == -1)
		return 0;
	cidr_mask(a, c->prefix);
	return memcmp(a, c->addr, 16) == 0;
}

int
cidr_match_list(const struct cidr *list, size_t n, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (cidr_match(&list[i], sa))
			return 1;
	return 0;
}
