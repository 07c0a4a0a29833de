/*
 * Logging: one line per event on stderr (kept by -D), written with a
 * single write(2) so lines of the master, workers and health child never mix.
 *
 *   2026-11-24T22:52:15.123Z rondo[4242] worker 1: accept: Too many open files
 *
 * log_warn and log_err append strerror(errno); log_warnx and log_errx do not.
 */
#ifndef RONDO_LOG_H
#define RONDO_LOG_H

enum log_level {
	LOG_LVL_ERR,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/* Sets the name printed on every line ("master", "worker 2", "health") and the verbosity. */
void log_init(const char *procname, int verbose);
void log_set_procname(const char *procname);

void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * An info line about one client's connection (a bad request, a timeout, a
 * failed TLS handshake): what a client can cause at will, so at most
 * LOG_CLIENT_RATE of them a second per process (bursts of as many). The
 * lines over that are counted, and the next line written says how many were
 * left out.
 */
#define LOG_CLIENT_RATE 100
void log_client(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
