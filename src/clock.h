/*
 * Monotonic time in seconds, for deadlines that must not move when the
 * system clock is set (libev's ev_now() is wall-clock time; its timers
 * themselves run on the monotonic clock).
 */
#ifndef RONDO_CLOCK_H
#define RONDO_CLOCK_H

#include <time.h>

static inline double
clock_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
