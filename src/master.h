/*
 * The master process: owns the configuration, the listening socket and the
 * shared segment; forks the workers and the health child, restarts them when
 * they die, reloads on SIGHUP and stops everything on SIGTERM/SIGINT (fast) or
 * SIGQUIT (graceful).
 */
#ifndef RONDO_MASTER_H
#define RONDO_MASTER_H

struct conf;

struct master_opts {
	const char *conf_path;
	unsigned workers;		/* -w: 0 = as configured */
	const char *pidfile;		/* NULL: none */
	int verbose;
	int ready_fd;			/* -D: one byte is written here once ready, then it is closed; -1: none */
};

/*
 * Runs the master until it is told to stop. Takes ownership of c. Returns the
 * process exit status: 0 after a requested stop, 1 when startup failed (the
 * reason is logged), 2 when a child failed in a way a restart cannot fix.
 */
int master_run(struct conf *c, const struct master_opts *o);

/*
 * What conf_load cannot see and the master would fail on: the directories of
 * "accessLog" and "pidFile" exist. No side effects, so "rondo -t" runs it too.
 * Returns 0, or -1 with err filled: a line for each problem, naming the file and the key.
 */
int master_conf_check(const struct conf *c, char *err, size_t errlen);

#endif
