/* Creation of the shared backend table; see shm.h for the layout and its writers. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "shm.h"
#include "stats.h"

struct shm_seg *
shm_create(const struct conf *c, unsigned nworkers, char *err, size_t errlen)
{
	struct shm_seg *seg;
	size_t size, i;

	size = sizeof(*seg) + c->nbackends * sizeof(struct shm_backend);
	seg = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (seg == MAP_FAILED) {
		snprintf(err, errlen, "shared memory (%zu bytes): %s", size, strerror(errno));
		return NULL;
	}
	/* Fresh anonymous pages are zero: only the non-zero fields need setting. */
	seg->magic = SHM_MAGIC;
	seg->layout_version = SHM_LAYOUT_VERSION;
	seg->size = size;
	seg->nbackends = (uint32_t)c->nbackends;
	seg->nworkers = nworkers < SHM_MAX_WORKERS ? nworkers : SHM_MAX_WORKERS;
	for (i = 0; i < c->nbackends; i++) {
		snprintf(seg->backends[i].name, sizeof(seg->backends[i].name), "%s",
		    c->backends[i].url);
		atomic_init(&seg->backends[i].up, 1);
		seg->backends[i].conf_weight = c->backends[i].weight != 0 ? c->backends[i].weight : 1;
		atomic_init(&seg->backends[i].accept, SHM_RAMP_ONE);
	}
	return seg;
}

void
shm_destroy(struct shm_seg *seg)
{
	if (seg != NULL)
		munmap(seg, seg->size);
}

void
shm_seal(struct shm_seg *seg)
{
	long page = sysconf(_SC_PAGESIZE);

	/* A page larger than the header would take the counters with it. */
	if (page > 0 && SHM_HEADER_SIZE % page == 0)
		(void)mprotect(seg, SHM_HEADER_SIZE, PROT_READ);
}

static void shm_accept_update(struct shm_seg *seg);

void
shm_carry_health(struct shm_seg *seg, const struct shm_seg *old)
{
	uint32_t i, j;

	for (i = 0; i < seg->nbackends; i++) {
		/* A backend the reload adds comes into service now (slowStart). */
		atomic_store(&seg->backends[i].up_since_ms, shm_now_ms());
		for (j = 0; j < old->nbackends; j++) {
			if (strcmp(seg->backends[i].name, old->backends[j].name) != 0)
				continue;
			const struct shm_backend *o = &old->backends[j];
			struct shm_backend *n = &seg->backends[i];

			atomic_store(&n->up, atomic_load(&o->up));
			atomic_store(&n->checked, atomic_load(&o->checked));
			atomic_store(&n->down_until_ms, atomic_load(&o->down_until_ms));
			atomic_store(&n->drain, atomic_load(&o->drain));
			atomic_store(&n->up_since_ms, atomic_load(&o->up_since_ms));
			/* A run-time weight stays unless the configuration changed that weight. */
			if (o->conf_weight == n->conf_weight)
				atomic_store(&n->weight, atomic_load(&o->weight));
			break;
		}
	}
	/* An instance drained by the admin stays so over a reload. */
	shm_monitor_set(seg, SHM_MONITOR_DRAIN, (shm_monitor(old) & SHM_MONITOR_DRAIN) != 0);
	stats_carry(seg, old);
	shm_accept_update(seg);
}

void
shm_backend_set_weight(struct shm_seg *seg, unsigned i, unsigned weight)
{
	atomic_store(&seg->backends[i].weight, weight);
	shm_accept_update(seg);
}

/* Every backend's accept from the run-time weights. */
static void
shm_accept_update(struct shm_seg *seg)
{
	uint64_t best_num = 0, best_den = 1, num, den, a;
	uint32_t k;

	/* The largest run-time / configured ratio takes every turn; the others in proportion. */
	for (k = 0; k < seg->nbackends; k++) {
		num = shm_backend_weight(seg, k);
		den = seg->backends[k].conf_weight;
		if (num * best_den > best_num * den) {
			best_num = num;
			best_den = den;
		}
	}
	for (k = 0; k < seg->nbackends && best_num != 0; k++) {
		num = shm_backend_weight(seg, k);
		den = seg->backends[k].conf_weight;
		a = (num * best_den * SHM_RAMP_ONE + best_num * den / 2) / (best_num * den);
		atomic_store(&seg->backends[k].accept, (uint32_t)(a < 1 ? 1 : a));
	}
}

const double shm_latency_bounds_ms[SHM_LATENCY_BUCKETS] = {
	1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 1e300,
};

void
shm_backend_response(struct shm_seg *seg, unsigned i, int status, double seconds)
{
	struct shm_backend *b = &seg->backends[i];
	double ms = seconds * 1000.;
	unsigned k = 0;

	shm_counter_add(&b->responses[status >= 100 && status < 600 ? status / 100 : 0], 1);
	if (seconds < 0)
		return;
	while (k < SHM_LATENCY_BUCKETS - 1 && ms > shm_latency_bounds_ms[k])
		k++;
	shm_counter_add(&b->latency[k], 1);
	shm_counter_add(&b->latency_sum_us, (uint64_t)(seconds * 1e6));
}

uint64_t
shm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
shm_backend_failed(struct shm_seg *seg, unsigned i, unsigned max_fails, uint64_t fail_timeout_ms)
{
	struct shm_backend *b = &seg->backends[i];
	uint64_t now, until;

	shm_counter_add(&b->failures, 1);
	if (max_fails == 0 || atomic_fetch_add(&b->fails, 1) + 1 < max_fails)
		return 0;
	now = shm_now_ms();
	until = atomic_load(&b->down_until_ms);
	if (until > now)
		return 0;	/* already out */
	if (!atomic_compare_exchange_strong(&b->down_until_ms, &until, now + fail_timeout_ms))
		return 0;	/* another worker took it out first */
	atomic_store(&b->fails, 0);
	return 1;
}
