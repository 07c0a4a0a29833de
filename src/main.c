/* rondo: command line, configuration test, daemon mode; then the master takes over. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "conf.h"
#include "ctl.h"
#include "log.h"
#include "master.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif

#ifdef HAVE_TLS
/*
 * -t: reads every certificate and key as a start would, prints the problems
 * (0 when none), the warnings, and each certificate's names and expiry.
 */
static int
main_check_tls(const struct conf *c, char *err, size_t errlen)
{
	struct tls_keys *k;
	struct tls_ctx *t = NULL;
	const char *w;

	if ((k = tls_keys_new(err, errlen)) == NULL ||
	    (t = tls_ctx_new(c, k, err, errlen)) == NULL) {
		tls_keys_free(k);
		return -1;
	}
	for (w = tls_ctx_warnings(t); *w != '\0'; w += strcspn(w, "\n"), w += *w == '\n')
		fprintf(stderr, "rondo: warning: %.*s\n", (int)strcspn(w, "\n"), w);
	tls_ctx_describe(t, stdout);
	tls_ctx_free(t);
	tls_keys_free(k);
	return 0;
}
#endif

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: rondo [-c FILE] [-t] [-s status] [-w N] [-D] [-p PIDFILE] [-v] [-h] [-V]\n"
	    "  -c FILE     configuration file (default ./config.json)\n"
	    "  -t          check the configuration and exit (0 valid, 1 not)\n"
	    "  -s status   print the status of the rondo running with this configuration\n"
	    "  -w N        number of worker processes (overrides \"workers\")\n"
	    "  -D          run in the background (the log stays on stderr)\n"
	    "  -p PIDFILE  write the master's pid to PIDFILE\n"
	    "  -v          verbose: debug log lines\n"
	    "  -h          this help\n"
	    "  -V          print the version\n");
}

/*
 * -D: the command returns once rondo is ready, 0, or 1 when it could not
 * start (bind, shared memory, pid file, privileges...; the reason is on
 * stderr). The daemon is the child, in a session of its own, and it is the
 * master from the start (its pid is the one in the pid file): it writes a
 * byte on o->ready_fd when ready; the pipe closing without one means failure.
 * Returns 0 in the daemon, -1 when the fork failed; the parent never returns.
 */
static int
main_daemonize(struct master_opts *o)
{
	int p[2];
	pid_t pid;
	char c;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		fprintf(stderr, "rondo: daemon: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		if (setsid() == -1)
			_exit(1);
		o->ready_fd = p[1];
		return 0;
	}
	close(p[1]);
	while ((n = read(p[0], &c, 1)) == -1 && errno == EINTR)
		;
	if (n == 1)
		_exit(0);
	/* The pipe closed without a byte: it stopped before it was ready. */
	_exit(1);
}

int
main(int argc, char **argv)
{
	struct master_opts o = { .conf_path = "config.json", .ready_fd = -1 };
	int test = 0, daemonize = 0, status = 0, given = 0, ch;
	struct conf *c;
	char err[8192];
	char *end;
	long n;

	while ((ch = getopt(argc, argv, "c:ts:w:Dp:vhV")) != -1) {
		switch (ch) {
		case 'c':
			o.conf_path = optarg;
			given = 1;
			break;
		case 't':
			test = 1;
			break;
		case 's':
			if (strcmp(optarg, "status") != 0) {
				fprintf(stderr, "rondo: -s: the only command is \"status\"\n");
				return 1;
			}
			status = 1;
			break;
		case 'w':
			errno = 0;
			n = strtol(optarg, &end, 10);
			if (errno != 0 || *end != '\0' || n < 1 || n > 64) {
				fprintf(stderr, "rondo: -w: expected a number of workers from 1 to 64\n");
				return 1;
			}
			o.workers = (unsigned)n;
			break;
		case 'D':
			daemonize = 1;
			break;
		case 'p':
			o.pidfile = optarg;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rondo %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	log_init("master", o.verbose);
	if (conf_load(&c, o.conf_path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		/* Someone trying rondo out without -c: say where a configuration comes from. */
		if (!given && access(o.conf_path, F_OK) == -1 && errno == ENOENT)
			fprintf(stderr, "rondo: no configuration: give one with -c FILE "
			    "(see examples/config.json)\n");
		if (test)
			fprintf(stderr, "rondo: configuration %s is invalid\n", o.conf_path);
		return 1;
	}
	if (status) {
		int r = ctl_status(c, stdout, err, sizeof(err));

		if (r == -1)
			fprintf(stderr, "rondo: %s\n", err);
		conf_free(c);
		return r == -1 ? 1 : 0;
	}
	if (test) {
		/* The directories and the TLS files are checked apart: both print their problems. */
		int bad = 0;

		if (master_conf_check(c, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
		}
#ifdef HAVE_TLS
		if (main_check_tls(c, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			bad = 1;
		}
#endif
		if (bad) {
			fprintf(stderr, "rondo: configuration %s is invalid\n", o.conf_path);
			conf_free(c);
			return 1;
		}
		printf("rondo: configuration %s is valid: listen %s%s%s, %zu backend%s\n", o.conf_path,
		    c->listen.len != 0 ? c->listen_name : "(none)", c->tls.enabled ? ", tls " : "",
		    c->tls.listen_name, c->nbackends, c->nbackends == 1 ? "" : "s");
		conf_free(c);
		return 0;
	}
	if (daemonize && main_daemonize(&o) == -1) {
		conf_free(c);
		return 1;
	}
	return master_run(c, &o);
}
