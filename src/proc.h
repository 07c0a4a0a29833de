/*
 * What every child of the master does first: die with the master, forget the
 * master's signal handling, and take its own signals through a signalfd that
 * its event loop watches (so libev's global signal state, inherited from the
 * master's loop, is never touched in a child).
 */
#ifndef RONDO_PROC_H
#define RONDO_PROC_H

#include <sys/types.h>

/*
 * Exit statuses of the master's children. PROC_EXIT_FATAL: setting up failed
 * in a way a restart cannot fix; it stops the server only when it comes from
 * a child started with the server (at run time the master restarts it with
 * backoff).
 */
#define PROC_EXIT_OK	0
#define PROC_EXIT_FATAL	2

/*
 * Call right after fork() in a child, with master the pid of the process that
 * forked it (taken before fork(): a master that is PID 1 in a container must
 * not look like a dead one). Returns a non-blocking signalfd that reports
 * SIGTERM, SIGINT, SIGQUIT, SIGHUP and SIGUSR1, or -1 with errno set.
 * SIGPIPE is ignored. If the master is already gone the child exits.
 */
int proc_child_init(pid_t master);

/* Reads one signal number from the signalfd, or 0 when none is pending. */
int proc_signal_read(int sfd);

#endif
