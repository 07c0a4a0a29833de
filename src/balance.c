/* Backend selection policies over the shared segment; see balance.h. */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "balance.h"
#include "conf.h"
#include "shm.h"

struct lb {
	uint8_t hash_key[16];
};

struct lb *
balance_new(const struct conf *c, const uint8_t hash_key[16], char *err, size_t errlen)
{
	struct lb *lb;

	if ((lb = calloc(1, sizeof(*lb))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(lb->hash_key, hash_key, sizeof(lb->hash_key));
	return lb;
}

void
balance_free(struct lb *lb)
{
	free(lb);
}

uint64_t
balance_client_key(const struct lb *lb, const struct sockaddr *sa)
{
	const uint8_t *p;
	uint64_t h = 0xcbf29ce484222325ull;
	size_t n, i;

	if (sa->sa_family == AF_INET6) {
		p = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		n = 16;
	} else {
		p = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	}
	for (i = 0; i < sizeof(lb->hash_key); i++)
		h = (h ^ lb->hash_key[i]) * 0x100000001b3ull;
	for (i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

void
balance_acquire(struct shm_seg *seg, unsigned w, int i)
{
	atomic_fetch_add_explicit(&seg->backends[i].active, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
	    memory_order_relaxed);
}

void
balance_release(struct shm_seg *seg, unsigned w, int i)
{
	atomic_fetch_sub_explicit(&seg->backends[i].active, 1, memory_order_relaxed);
	atomic_fetch_sub_explicit(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 1,
	    memory_order_relaxed);
}

void
balance_worker_reset(struct shm_seg *seg, unsigned w)
{
	uint32_t i;
	int32_t n;

	for (i = 0; i < seg->nbackends; i++) {
		n = atomic_exchange(&seg->backends[i].wactive[w % SHM_MAX_WORKERS], 0);
		if (n != 0)
			atomic_fetch_sub(&seg->backends[i].active, n);
	}
}

int
balance_pick(const struct lb *lb, struct shm_seg *seg, struct balance_ctx *ctx)
{
	uint32_t n = seg->nbackends, i;
	uint64_t start;
	int up = 0;

	if (n == 0)
		return BALANCE_NONE_HEALTHY;
	start = atomic_fetch_add_explicit(&seg->rr, 1, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		uint32_t b = (uint32_t)((start + i) % n);

		if (!shm_backend_up(seg, b))
			continue;
		up = 1;
		if (balance_tried_has(&ctx->tried, (int)b))
			continue;
		balance_acquire(seg, ctx->worker, (int)b);
		return (int)b;
	}
	return up ? BALANCE_ALL_TRIED : BALANCE_NONE_HEALTHY;
}

unsigned
balance_healthy(const struct shm_seg *seg)
{
	unsigned n = 0;
	uint32_t i;

	for (i = 0; i < seg->nbackends; i++)
		n += shm_backend_up(seg, i);
	return n;
}
