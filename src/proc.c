/* Child process setup; see proc.h. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "proc.h"

int
proc_child_init(pid_t master)
{
	static const int handled[] = { SIGTERM, SIGINT, SIGQUIT, SIGHUP, SIGUSR1, SIGCHLD };
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t set;
	size_t i;

	/* The master may die by SIGKILL: take the workers down with it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		return -1;
	/* Re-parented between fork() and the prctl: the master is gone already. */
	if (getppid() != master)
		_exit(PROC_EXIT_OK);
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]); i++)
		sigaction(handled[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	sigemptyset(&set);
	for (i = 0; i < sizeof(handled) / sizeof(handled[0]) - 1; i++)
		sigaddset(&set, handled[i]);
	if (sigprocmask(SIG_SETMASK, &set, NULL) == -1)
		return -1;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int
proc_signal_read(int sfd)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	return (int)si.ssi_signo;
}
