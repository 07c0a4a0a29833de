/*
 * What every child of the master does first: die with the master, forget the
 * master's signal handling, and take its own signals through a signalfd that
 * its event loop watches (so libev's global signal state, inherited from the
 * master's loop, is never touched in a child).
 */
#ifndef RONDO_PROC_H
#define RONDO_PROC_H

/*
 * Call right after fork() in a child. Returns a non-blocking signalfd that
 * reports SIGTERM, SIGINT, SIGQUIT, SIGHUP and SIGUSR1, or -1 with errno set.
 * SIGPIPE is ignored. If the master is already gone the child exits.
 */
int proc_child_init(void);

/* Reads one signal number from the signalfd, or 0 when none is pending. */
int proc_signal_read(int sfd);

#endif
