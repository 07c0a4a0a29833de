/* Round robin over healthy backends with the shared atomic counter; see balance.h. */
#include "config.h"

#include <stdatomic.h>

#include "balance.h"
#include "shm.h"

int
balance_pick(struct shm_seg *seg, const struct balance_tried *tried)
{
	uint32_t n = seg->nbackends, i;
	uint64_t start;

	if (n == 0)
		return -1;
	start = atomic_fetch_add_explicit(&seg->rr, 1, memory_order_relaxed);
	for (i = 0; i < n; i++) {
		uint32_t b = (uint32_t)((start + i) % n);

		if (shm_backend_up(seg, b) && (tried == NULL || !balance_tried_has(tried, (int)b)))
			return (int)b;
	}
	return -1;
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
