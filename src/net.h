/* Socket helpers shared by the master, workers and the health child. No libev here. */
#ifndef RONDO_NET_H
#define RONDO_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct in6_addr;

/* A resolved socket address and its length, as bind() and connect() take it. */
struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/*
 * Opens a non-blocking listening socket on a (SO_REUSEADDR, dual-stack for
 * "::"). Returns the fd, or -1 with err filled; no fd leaks.
 */
int net_listen(const struct net_addr *a, int backlog, char *err, size_t errlen);

/*
 * Starts a non-blocking connect to a with TCP_NODELAY set. Returns the fd
 * (connected or in progress: wait for writability, then net_connect_result),
 * or -1 with errno set.
 */
int net_connect(const struct net_addr *a);

/* After writability: 0 if the connect succeeded, else -1 with errno set to the reason. */
int net_connect_result(int fd);

/*
 * Asks the kernel to acknowledge at once what arrives on the TCP socket fd,
 * best effort. A connection that carries requests and responses is in the
 * kernel's "pingpong" mode, where an ACK waits (up to 40 ms) to ride on the
 * next reply. While a response longer than one read streams in, the backend
 * may run out of send buffer and stop until those ACKs come: the 64 KiB
 * responses of the benchmark had a p99 latency of 20 to 35 ms for that
 * alone. Asking once per response leaves that mode until the next exchange.
 * (Request bodies showed no such stalls.)
 */
void net_quickack(int fd);

/*
 * Fills ip with the IPv6 form of a's address (an IPv4 one as
 * ::ffff:a.b.c.d, so that both families compare alike) and returns a's port.
 * a is AF_INET or AF_INET6.
 */
uint16_t net_addr_v6(const struct net_addr *a, struct in6_addr *ip);

/* Whether ip, in the form net_addr_v6 gives, is a loopback address (::1, 127.0.0.0/8). */
int net_ip_loopback(const struct in6_addr *ip);

/* The port of a (host order); 0 for a family without ports. */
unsigned net_addr_port(const struct net_addr *a);

/* Numeric text of an address without the port ("127.0.0.1", "::1"). */
void net_addr_host(const struct sockaddr *sa, char *out, size_t outlen);

#endif
