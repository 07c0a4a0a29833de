/*
 * Master process: prefork, supervision, reload, stop; see master.h.
 *
 * Children belong to a generation (one per loaded configuration). A reload
 * starts a complete new generation (health child and workers, new segment
 * with the health state carried over) on the same listening socket, then asks
 * the old workers to drain (SIGQUIT). Only the current generation is respawned.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "admin.h"
#include "balance.h"
#include "conf.h"
#include "health.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "shm.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif
#include "worker.h"

#define MASTER_MAX_CHILDREN	512
#define LISTEN_BACKLOG		4096
#define RESPAWN_DELAY		1.0	/* a child that died this young is restarted after this */
#define STOP_TIMEOUT		10.0	/* SIGTERM: SIGKILL whatever is left after this */
#define QUIT_SLACK		5.0	/* SIGQUIT: shutdownTimeout plus this, then SIGKILL */

enum child_role { ROLE_WORKER, ROLE_HEALTH };

struct generation {
	unsigned id;
	struct conf *conf;
	struct shm_seg *seg;
	struct lb *lb;			/* the policy's tables, inherited by the workers */
	int (*handoff)[2];		/* a socketpair per worker, for passing connections */
	int lfd;
	unsigned workers;
	unsigned live;			/* children of this generation still running */
	struct generation *next;	/* older generations, still draining */
#ifdef HAVE_TLS
	struct tls_ctx *tls;		/* TLS contexts, inherited by the workers */
#endif
};

struct child {
	pid_t pid;			/* 0: free slot */
	enum child_role role;
	int id;				/* worker number, 1-based; 0 for health */
	struct generation *gen;
	ev_tstamp started;
};

struct master {
	struct ev_loop *loop;
	const struct master_opts *opts;
	struct generation *cur;
	struct child children[MASTER_MAX_CHILDREN];
	ev_signal sig_term, sig_int, sig_quit, sig_hup, sig_usr1;
	struct admin *admin;		/* NULL: no admin listener */
	char *pidfile;			/* -p, else "pidFile" (a copy: configurations come and go) */
	ev_child child_w;
	ev_timer respawn_w;
	ev_timer stop_w;
	uint8_t hash_key[16];		/* ip-hash key, drawn once, kept across reloads */
	int stopping;			/* 0, or the signal that asked for it */
	int exit_status;
#ifdef HAVE_TLS
	struct tls_keys *tls_keys;	/* session ticket keys, shared with every generation */
	ev_timer ticket_w;		/* rotates them every tls.sessionTicketRotation */
#endif
};

static void master_admin_update(struct master *, const struct conf *);

static struct child *
master_child_find(struct master *m, pid_t pid)
{
	size_t i;

	for (i = 0; i < MASTER_MAX_CHILDREN; i++)
		if (m->children[i].pid == pid)
			return &m->children[i];
	return NULL;
}

static int
master_child_exists(struct master *m, struct generation *g, enum child_role role, int id)
{
	size_t i;

	for (i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *ch = &m->children[i];

		if (ch->pid != 0 && ch->gen == g && ch->role == role && ch->id == id)
			return 1;
	}
	return 0;
}

static const char *
child_name(const struct child *ch, char *buf, size_t len)
{
	if (ch->role == ROLE_HEALTH)
		snprintf(buf, len, "health checker");
	else
		snprintf(buf, len, "worker %d", ch->id);
	return buf;
}

/* Forks one child of generation g. The child never returns. */
static int
master_spawn(struct master *m, struct generation *g, enum child_role role, int id)
{
	struct child *slot;
	sigset_t all, saved;
	pid_t pid;
	int status;

	if ((slot = master_child_find(m, 0)) == NULL) {
		log_errx("too many child processes");
		return -1;
	}
	/*
	 * Signals stay blocked across fork() until the child has replaced the
	 * master's handlers: one sent to a brand-new child (a reload right after
	 * start) must reach the child's signalfd, not the master's handler.
	 */
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, &saved);
	pid = fork();
	if (pid != 0)
		sigprocmask(SIG_SETMASK, &saved, NULL);
	if (pid == -1) {
		log_err("fork");
		return -1;
	}
	if (pid == 0) {
		/*
		 * The child: the master's loop is left alone and never run again.
		 * Listening sockets of other generations are not its to keep open
		 * (an old port must close when its own workers are gone).
		 */
		struct generation *o;

		for (o = m->cur; o != NULL; o = o->next) {
			unsigned i;

			if (o->lfd != -1 && o->lfd != g->lfd)
				close(o->lfd);
			for (i = 0; o != g && o->handoff != NULL && i < o->workers; i++) {
				close(o->handoff[i][0]);
				close(o->handoff[i][1]);
			}
		}
		admin_close_fds(m->admin);
		if (role == ROLE_WORKER) {
			struct worker_args wa = { .id = id, .listen_fd = g->lfd, .conf = g->conf,
			    .seg = g->seg, .lb = g->lb, .handoff = (const int (*)[2])g->handoff };

			status = worker_main(&wa);
		} else
			status = health_main(g->conf, g->seg);
		_exit(status);
	}
	slot->pid = pid;
	slot->role = role;
	slot->id = id;
	slot->gen = g;
	slot->started = ev_now(m->loop);
	g->live++;
	return 0;
}

/* Starts whatever child of the current generation is missing. */
static void
master_fill(struct master *m)
{
	struct generation *g = m->cur;
	unsigned i;

	if (m->stopping)
		return;
	if (!master_child_exists(m, g, ROLE_HEALTH, 0))
		master_spawn(m, g, ROLE_HEALTH, 0);
	for (i = 1; i <= g->workers; i++)
		if (!master_child_exists(m, g, ROLE_WORKER, (int)i))
			master_spawn(m, g, ROLE_WORKER, (int)i);
}

static void
master_signal_children(struct master *m, struct generation *g, int role_mask, int sig)
{
	size_t i;

	for (i = 0; i < MASTER_MAX_CHILDREN; i++) {
		struct child *ch = &m->children[i];

		if (ch->pid != 0 && (g == NULL || ch->gen == g) && (role_mask & (1 << ch->role)))
			kill(ch->pid, sig);
	}
}

static unsigned
master_live(const struct master *m)
{
	unsigned n = 0;
	size_t i;

	for (i = 0; i < MASTER_MAX_CHILDREN; i++)
		n += m->children[i].pid != 0;
	return n;
}

/*
 * One datagram socketpair per worker: others send on [0], the worker reads
 * [1]. The master keeps both ends, so what was sent to a worker that died
 * waits for the one that replaces it. NULL handoff (out of fds) only costs
 * the spreading of bursts.
 */
static void
generation_handoff_open(struct generation *g)
{
	unsigned i;

	if (g->workers < 2 || (g->handoff = calloc(g->workers, sizeof(*g->handoff))) == NULL)
		return;
	for (i = 0; i < g->workers; i++) {
		if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		    g->handoff[i]) == -1) {
			log_warn("socketpair: connections will not be handed between workers");
			while (i-- > 0) {
				close(g->handoff[i][0]);
				close(g->handoff[i][1]);
			}
			free(g->handoff);
			g->handoff = NULL;
			return;
		}
	}
}

static void
generation_free(struct generation *g, int close_listener)
{
	unsigned i;

	if (g->handoff != NULL) {
		for (i = 0; i < g->workers; i++) {
			close(g->handoff[i][0]);
			close(g->handoff[i][1]);
		}
		free(g->handoff);
	}
	if (close_listener && g->lfd != -1)
		close(g->lfd);
	shm_destroy(g->seg);
	balance_free(g->lb);
#ifdef HAVE_TLS
	tls_ctx_free(g->tls);
#endif
	conf_free(g->conf);
	free(g);
}

#ifdef HAVE_TLS
static void
master_ticket_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct master *m = w->data;
	char err[256];

	(void)loop;
	(void)revents;
	if (tls_keys_rotate(m->tls_keys, err, sizeof(err)) == -1)
		log_errx("%s", err);
	else
		log_debug("session ticket keys rotated");
}
#endif

/*
 * Builds the TLS contexts of <g> (certificates read now, so that a broken
 * one fails the start or the reload, not a worker), logs their warnings and
 * sets the ticket key rotation to the new configuration's period. Refuses a
 * configuration without a plain "port": the TLS listener serves no traffic
 * yet. Returns 0, or -1 with <err> filled.
 */
static int
master_tls_prepare(struct master *m, struct generation *g, char *err, size_t errlen)
{
#ifdef HAVE_TLS
	const char *w;
	size_t n;
#endif

	if (g->conf->listen.len == 0) {
		snprintf(err, errlen, "%s: \"port\" is required for now: the TLS listener "
		    "(tls.port) does not serve connections yet", g->conf->path);
		return -1;
	}
#ifdef HAVE_TLS
	if ((g->tls = tls_ctx_new(g->conf, m->tls_keys, err, errlen)) == NULL)
		return -1;
	for (w = tls_ctx_warnings(g->tls); *w != '\0'; w += n + (w[n] == '\n')) {
		n = strcspn(w, "\n");
		log_warnx("%.*s", (int)n, w);
	}
	m->ticket_w.repeat = (ev_tstamp)g->conf->tls.ticket_rotation_ms / 1000.;
	ev_timer_again(m->loop, &m->ticket_w);
#else
	(void)m;
#endif
	return 0;
}

/* An old generation whose last child exited is released. */
static void
master_reap_generations(struct master *m)
{
	struct generation **gp = &m->cur->next, *g, *n;

	while ((g = *gp) != NULL) {
		if (g->live > 0) {
			gp = &g->next;
			continue;
		}
		/* The newer generation counted its requests: workers it forks from now on must not. */
		for (n = m->cur; n != NULL; n = n->next)
			if (n->next == g && n->lb != NULL)
				balance_set_previous(n->lb, n->seg, NULL);
		*gp = g->next;
		log_info("generation %u finished", g->id);
		generation_free(g, 1);
	}
}

static void
master_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct master *m = w->data;
	struct child *ch = master_child_find(m, w->rpid);
	struct generation *g;
	char name[32];
	int st = w->rstatus;

	if (ch == NULL || w->rpid == 0)
		return;
	g = ch->gen;
	child_name(ch, name, sizeof(name));
	ch->pid = 0;
	g->live--;
	/* Whatever it had in flight is gone: no phantom connections for the policies. */
	if (ch->role == ROLE_WORKER)
		balance_worker_reset(g->seg, (unsigned)(ch->id - 1));
	if (m->stopping || g != m->cur) {
		if (WIFSIGNALED(st) && WTERMSIG(st) != SIGTERM && WTERMSIG(st) != SIGQUIT)
			log_warnx("%s (pid %d, generation %u) killed by signal %d", name,
			    (int)w->rpid, g->id, WTERMSIG(st));
		if (g != m->cur)
			master_reap_generations(m);
		if (m->stopping && master_live(m) == 0)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == WORKER_EXIT_FATAL) {
		log_errx("%s (pid %d) failed at startup, stopping", name, (int)w->rpid);
		m->exit_status = 2;
		m->stopping = SIGTERM;
		master_signal_children(m, NULL, 3, SIGTERM);
		ev_timer_start(loop, &m->stop_w);
		if (master_live(m) == 0)
			ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (WIFSIGNALED(st))
		log_warnx("%s (pid %d) killed by signal %d, restarting", name, (int)w->rpid,
		    WTERMSIG(st));
	else
		log_warnx("%s (pid %d) exited with status %d, restarting", name, (int)w->rpid,
		    WEXITSTATUS(st));
	if (ev_now(loop) - ch->started < RESPAWN_DELAY) {
		/* Dying young: do not spin, try again in a second. */
		if (!ev_is_active(&m->respawn_w))
			ev_timer_start(loop, &m->respawn_w);
		return;
	}
	master_fill(m);
}

static void
master_respawn_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	master_fill(w->data);
}

static void
master_stop_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct master *m = w->data;

	log_warnx("children still running after the stop timeout: killing them");
	master_signal_children(m, NULL, 3, SIGKILL);
}

/*
 * SIGHUP: load the file again. A bad file changes nothing. A good one becomes
 * a new generation; the old one drains.
 */
static void
master_reload(struct master *m)
{
	struct generation *g, *old = m->cur;
	struct conf *c;
	char err[4096];

	log_info("reloading %s", m->opts->conf_path);
	if (conf_load(&c, m->opts->conf_path, err, sizeof(err)) == -1) {
		log_errx("reload failed, keeping the running configuration: %s", err);
		return;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		conf_free(c);
		log_errx("reload failed: out of memory");
		return;
	}
	g->id = old->id + 1;
	g->conf = c;
	g->workers = m->opts->workers ? m->opts->workers : c->workers;
	if (master_tls_prepare(m, g, err, sizeof(err)) == -1) {
		log_errx("reload failed, keeping the running configuration: %s", err);
		g->lfd = -1;
		generation_free(g, 0);
		return;
	}
	if (c->listen.len == old->conf->listen.len &&
	    memcmp(&c->listen.ss, &old->conf->listen.ss, c->listen.len) == 0) {
		g->lfd = old->lfd;
	} else if ((g->lfd = net_listen(&c->listen, LISTEN_BACKLOG, err, sizeof(err))) == -1) {
		log_errx("reload failed: listen on %s: %s", c->listen_name, err);
		conf_free(c);
		free(g);
		return;
	}
	if ((g->seg = shm_create(c, g->workers, err, sizeof(err))) == NULL) {
		log_errx("reload failed: %s", err);
		if (g->lfd != old->lfd)
			close(g->lfd);
		conf_free(c);
		free(g);
		return;
	}
	if ((g->lb = balance_new(c, m->hash_key, err, sizeof(err))) == NULL) {
		log_errx("reload failed: %s", err);
		generation_free(g, g->lfd != old->lfd);
		return;
	}
	shm_carry_health(g->seg, old->seg);
	balance_set_previous(g->lb, g->seg, old->seg);
	generation_handoff_open(g);
	atomic_store(&g->seg->generation, g->id);
	g->next = old;
	m->cur = g;
	master_fill(m);
	/* The new workers accept from now on; the old ones finish what they have. */
	master_signal_children(m, old, 1 << ROLE_WORKER, SIGQUIT);
	master_signal_children(m, old, 1 << ROLE_HEALTH, SIGTERM);
	for (; old != NULL; old = old->next) {
		/* The new generation owns the socket; old workers hold their own copy. */
		if (old->lfd != g->lfd && old->lfd != -1)
			close(old->lfd);
		old->lfd = -1;
	}
	master_admin_update(m, g->next->conf);
	log_info("reload done, generation %u: listening on %s, %u workers, %zu backends, %s",
	    g->id, c->listen_name, g->workers, c->nbackends, conf_algorithm_name(c->algorithm));
}

/*
 * Points the admin listener at the current generation; opens, moves or closes
 * it as the configuration says (old: the previous configuration, or NULL).
 */
static void
master_admin_update(struct master *m, const struct conf *old)
{
	const struct conf *c = m->cur->conf;
	char err[256];

	if (m->admin != NULL && (!c->admin || old == NULL || !old->admin ||
	    c->admin_listen.len != old->admin_listen.len ||
	    memcmp(&c->admin_listen.ss, &old->admin_listen.ss, c->admin_listen.len) != 0)) {
		admin_free(m->admin);
		m->admin = NULL;
	}
	if (c->admin && m->admin == NULL) {
		if ((m->admin = admin_new(m->loop, &c->admin_listen, err, sizeof(err))) == NULL)
			log_errx("admin listener on %s: %s", c->admin_name, err);
		else
			log_info("admin listener on %s", c->admin_name);
	}
	if (m->admin != NULL)
		admin_set_target(m->admin, c, m->cur->seg, m->cur->id);
}

/*
 * "user"/"group": after the sockets are bound (a port below 1024 needs root),
 * before any child exists, the master gives up root for good.
 */
static int
master_drop_privileges(const struct conf *c)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	gid_t gid;

	if (c->user == NULL && c->group == NULL)
		return 0;
	if (c->user != NULL && (pw = getpwnam(c->user)) == NULL) {
		log_errx("user %s: no such user", c->user);
		return -1;
	}
	if (c->group != NULL && (gr = getgrnam(c->group)) == NULL) {
		log_errx("group %s: no such group", c->group);
		return -1;
	}
	gid = gr != NULL ? gr->gr_gid : pw->pw_gid;
	if (setgid(gid) == -1 ||
	    (pw != NULL ? initgroups(pw->pw_name, gid) : setgroups(1, &gid)) == -1 ||
	    (pw != NULL && setuid(pw->pw_uid) == -1)) {
		log_err("dropping privileges to %s:%s", c->user ? c->user : "-",
		    c->group ? c->group : "-");
		return -1;
	}
	log_info("running as %s:%s", c->user ? c->user : "-", c->group ? c->group : "-");
	return 0;
}

static void
master_signal_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct master *m = w->data;

	if (w->signum == SIGHUP) {
		if (!m->stopping)
			master_reload(m);
		return;
	}
	if (w->signum == SIGUSR1) {
		/* Log rotation: every worker reopens its access log. */
		log_info("reopening log files");
		master_signal_children(m, NULL, 1 << ROLE_WORKER, SIGUSR1);
		return;
	}
	if (m->stopping == w->signum)
		return;
	m->stopping = w->signum;
	if (w->signum == SIGQUIT) {
		log_info("graceful stop: draining workers");
		master_signal_children(m, NULL, 1 << ROLE_WORKER, SIGQUIT);
		master_signal_children(m, NULL, 1 << ROLE_HEALTH, SIGTERM);
		ev_timer_set(&m->stop_w,
		    (double)m->cur->conf->shutdown_timeout_ms / 1000. + QUIT_SLACK, 0.);
	} else {
		log_info("stopping");
		master_signal_children(m, NULL, 3, SIGTERM);
		ev_timer_set(&m->stop_w, STOP_TIMEOUT, 0.);
	}
	ev_timer_stop(loop, &m->respawn_w);
	ev_timer_start(loop, &m->stop_w);
	if (master_live(m) == 0)
		ev_break(loop, EVBREAK_ALL);
}

static int
master_write_pidfile(const char *path)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "%ld\n", (long)getpid());
	return fclose(f);
}

int
master_run(struct conf *c, const struct master_opts *o)
{
	static struct master m;
	struct generation *g;
	char err[4096];

	memset(&m, 0, sizeof(m));
	m.opts = o;
	if ((m.loop = ev_default_loop(EVFLAG_AUTO)) == NULL) {
		log_errx("cannot create the event loop (bad LIBEV_FLAGS?)");
		conf_free(c);
		return 1;
	}
	if ((g = calloc(1, sizeof(*g))) == NULL) {
		conf_free(c);
		return 1;
	}
	g->id = 1;
	g->conf = c;
	g->workers = o->workers ? o->workers : c->workers;
#ifdef HAVE_TLS
	ev_init(&m.ticket_w, master_ticket_cb);
	m.ticket_w.data = &m;
	if ((m.tls_keys = tls_keys_new(err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		generation_free(g, 0);
		return 1;
	}
#endif
	if (master_tls_prepare(&m, g, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		generation_free(g, 0);
		return 1;
	}
	if ((g->lfd = net_listen(&c->listen, LISTEN_BACKLOG, err, sizeof(err))) == -1) {
		log_errx("listen on %s: %s", c->listen_name, err);
		generation_free(g, 0);
		return 1;
	}
	if ((g->seg = shm_create(c, g->workers, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		generation_free(g, 1);
		return 1;
	}
	if (getrandom(m.hash_key, sizeof(m.hash_key), 0) != (ssize_t)sizeof(m.hash_key)) {
		log_err("getrandom");
		generation_free(g, 1);
		return 1;
	}
	if ((g->lb = balance_new(c, m.hash_key, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		generation_free(g, 1);
		return 1;
	}
	atomic_store(&g->seg->generation, 1);
	generation_handoff_open(g);
	m.cur = g;
	if (o->pidfile != NULL || c->pid_file != NULL) {
		m.pidfile = strdup(o->pidfile != NULL ? o->pidfile : c->pid_file);
		if (m.pidfile == NULL || master_write_pidfile(m.pidfile) == -1) {
			log_err("pid file %s", o->pidfile != NULL ? o->pidfile : c->pid_file);
			free(m.pidfile);
			generation_free(g, 1);
			return 1;
		}
	}
	master_admin_update(&m, NULL);
	if (master_drop_privileges(c) == -1) {
		if (m.pidfile != NULL)
			unlink(m.pidfile);
		free(m.pidfile);
		admin_free(m.admin);
		generation_free(g, 1);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);

	ev_signal_init(&m.sig_term, master_signal_cb, SIGTERM);
	ev_signal_init(&m.sig_int, master_signal_cb, SIGINT);
	ev_signal_init(&m.sig_quit, master_signal_cb, SIGQUIT);
	ev_signal_init(&m.sig_hup, master_signal_cb, SIGHUP);
	ev_signal_init(&m.sig_usr1, master_signal_cb, SIGUSR1);
	m.sig_term.data = m.sig_int.data = m.sig_quit.data = m.sig_hup.data = &m;
	m.sig_usr1.data = &m;
	ev_signal_start(m.loop, &m.sig_usr1);
	ev_signal_start(m.loop, &m.sig_term);
	ev_signal_start(m.loop, &m.sig_int);
	ev_signal_start(m.loop, &m.sig_quit);
	ev_signal_start(m.loop, &m.sig_hup);
	ev_child_init(&m.child_w, master_child_cb, 0, 0);
	m.child_w.data = &m;
	ev_child_start(m.loop, &m.child_w);
	ev_timer_init(&m.respawn_w, master_respawn_cb, RESPAWN_DELAY, 0.);
	m.respawn_w.data = &m;
	ev_timer_init(&m.stop_w, master_stop_timeout_cb, STOP_TIMEOUT, 0.);
	m.stop_w.data = &m;

	log_info("rondo %s starting: %zu backends, %u workers", PACKAGE_VERSION, c->nbackends,
	    g->workers);
	master_fill(&m);
	log_info("ready: listening on %s, %u workers, %zu backends, %s", c->listen_name,
	    g->workers, c->nbackends, conf_algorithm_name(c->algorithm));

	ev_run(m.loop, 0);

	admin_free(m.admin);
	while ((g = m.cur) != NULL) {
		m.cur = g->next;
		generation_free(g, 1);
	}
	if (m.pidfile != NULL && unlink(m.pidfile) == -1)
		log_warn("removing the pid file %s", m.pidfile);
	free(m.pidfile);
#ifdef HAVE_TLS
	tls_keys_free(m.tls_keys);
#endif
	log_info("stopped");
	return m.exit_status;
}
