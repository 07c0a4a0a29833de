/* Line-at-a-time logging for all rondo processes; see log.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static char log_procname[32] = "rondo";
static int log_verbose;

/* log_client's budget: lines it may write now, refilled at LOG_CLIENT_RATE a second. */
static struct {
	double tokens;
	double last;			/* CLOCK_MONOTONIC of the last refill, in seconds */
	unsigned long left_out;		/* lines not written since the last one written */
} log_client_budget;

void
log_init(const char *procname, int verbose)
{
	log_set_procname(procname);
	log_verbose = verbose;
}

void
log_set_procname(const char *procname)
{
	snprintf(log_procname, sizeof(log_procname), "%s", procname);
}

static void
log_vwrite(enum log_level lvl, int errnum, const char *fmt, va_list ap)
{
	static const char *const tags[] = { "error: ", "warning: ", "", "debug: " };
	char line[1024];
	struct timeval tv;
	struct tm tm;
	size_t n;
	int r;

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof(line) - n, ".%03ldZ rondo[%ld] %s: %s",
	    (long)(tv.tv_usec / 1000), (long)getpid(), log_procname, tags[lvl]);
	if (r > 0)
		n += (size_t)r;
	if (n < sizeof(line)) {
		r = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		if (r > 0)
			n += (size_t)r;
	}
	if (errnum && n < sizeof(line)) {
		r = snprintf(line + n, sizeof(line) - n, ": %s", strerror(errnum));
		if (r > 0)
			n += (size_t)r;
	}
	if (n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	while (write(STDERR_FILENO, line, n) == -1 && errno == EINTR)
		;
}

#define LOG_FN(name, lvl, with_errno)				\
void								\
name(const char *fmt, ...)					\
{								\
	int saved = errno;					\
	va_list ap;						\
								\
	if ((lvl) == LOG_LVL_DEBUG && !log_verbose)		\
		return;						\
	va_start(ap, fmt);					\
	log_vwrite((lvl), (with_errno) ? saved : 0, fmt, ap);	\
	va_end(ap);						\
	errno = saved;						\
}

LOG_FN(log_err, LOG_LVL_ERR, 1)
LOG_FN(log_errx, LOG_LVL_ERR, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
log_client(const char *fmt, ...)
{
	int saved = errno;
	struct timespec ts;
	double now;
	va_list ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	log_client_budget.tokens += (now - log_client_budget.last) * LOG_CLIENT_RATE;
	if (log_client_budget.tokens > LOG_CLIENT_RATE)
		log_client_budget.tokens = LOG_CLIENT_RATE;
	log_client_budget.last = now;
	if (log_client_budget.tokens < 1) {
		log_client_budget.left_out++;
		errno = saved;
		return;
	}
	log_client_budget.tokens -= 1;
	if (log_client_budget.left_out > 0) {
		log_info("%lu lines about clients left out (more than %d a second)",
		    log_client_budget.left_out, LOG_CLIENT_RATE);
		log_client_budget.left_out = 0;
	}
	va_start(ap, fmt);
	log_vwrite(LOG_LVL_INFO, 0, fmt, ap);
	va_end(ap);
	errno = saved;
}
