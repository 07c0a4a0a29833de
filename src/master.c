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
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "accesslog.h"
#include "admin.h"
#include "balance.h"
#include "conf.h"
#include "health.h"
#include "log.h"
#include "master.h"
#include "net.h"
#include "proc.h"
#include "queue.h"
#include "shm.h"
#ifdef HAVE_TLS
#include "tls.h"
#endif
#include "worker.h"

#define MASTER_MAX_CHILDREN	512
#define LISTEN_BACKLOG		4096
#define RESPAWN_MIN		1.0	/* the second death in a row waits this long, */
#define RESPAWN_MAX		30.0	/* doubling up to this, */
#define RESPAWN_HEALTHY		60.0	/* until a child lives this long again */
#define STOP_TIMEOUT		10.0	/* SIGTERM: SIGKILL whatever is left after this */
#define QUIT_SLACK		5.0	/* SIGQUIT: shutdownTimeout plus this, then SIGKILL */

enum child_role { ROLE_WORKER, ROLE_HEALTH };

/*
 * One per child a generation needs (index 0: the health child, i: worker i).
 * A death is only recorded here; what to do about it is decided on the next
 * loop iteration, once the master has seen its own signals: a Ctrl-C reaches
 * the whole process group at once, and a child that exits because of it must
 * not be restarted by a master that is about to stop.
 */
struct respawn {
	pid_t dead;			/* pid of a death not yet handled, else 0 */
	int status;			/* its wait status */
	int initial;			/* it was started with the server */
	ev_tstamp lived;		/* seconds it ran */
	double backoff;			/* delay for the next death in a row: 0, then 1..30 s */
	ev_tstamp due;			/* not restarted before this */
};

struct generation {
	unsigned id;
	struct conf *conf;
	struct shm_seg *seg;
	struct lb *lb;			/* the policy's tables, inherited by the workers */
	int (*handoff)[2];		/* a socketpair per worker, for passing connections */
	int lfd;			/* plain HTTP listener; -1: none */
	int tlsfd;			/* TLS listener; -1: none */
	unsigned workers;
	unsigned live;			/* children of this generation still running */
	struct respawn *respawn;	/* workers + 1 entries, see struct respawn */
	struct generation *next;	/* older generations, still draining */
	struct tls_ctx *tls;		/* TLS contexts, inherited by the workers; NULL: none */
};

struct child {
	pid_t pid;			/* 0: free slot */
	enum child_role role;
	int id;				/* worker number, 1-based; 0 for health */
	struct generation *gen;
	ev_tstamp started;
	int initial;			/* started before the server was ready */
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
	ev_timer grace_w;		/* SIGQUIT: the "stopGrace" before the workers stop */
	int stopping;			/* 0, or the signal that asked for it */
	int ready;			/* the first children are started */
	int ready_fd;			/* -D: tells the waiting parent; -1 once done */
	int keeper_fd;			/* write end of the pid file keeper's pipe, or -1 */
	int exit_status;
#ifdef HAVE_TLS
	struct tls_keys *tls_keys;	/* session ticket keys, shared with every generation */
	ev_timer ticket_w;		/* rotates them every tls.sessionTicketRotation */
#endif
};

static int master_admin_update(struct master *, const struct conf *);
static int master_accesslog_check(const struct conf *, char *, size_t);

/* "1 backend", "3 backends". */
static const char *
plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Logs each line of a multi-line error (conf_load's, one problem per line) as a line of its own. */
static void
master_log_lines(const char *prefix, const char *err)
{
	const char *nl;

	do {
		nl = strchr(err, '\n');
		log_errx("%s%.*s", prefix, nl != NULL ? (int)(nl - err) : (int)strlen(err), err);
		err = nl + 1;
	} while (nl != NULL && *err != '\0');
}

/*
 * The respawn table of a new generation; -1 when out of memory.
 */
static int
generation_respawn_init(struct generation *g)
{
	return (g->respawn = calloc(g->workers + 1, sizeof(*g->respawn))) == NULL ? -1 : 0;
}

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
	pid_t pid, master = getpid();
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
			if (o->tlsfd != -1 && o->tlsfd != g->tlsfd)
				close(o->tlsfd);
			for (i = 0; o != g && o->handoff != NULL && i < o->workers; i++) {
				close(o->handoff[i][0]);
				close(o->handoff[i][1]);
			}
		}
		admin_close_fds(m->admin);
		if (m->ready_fd != -1)
			close(m->ready_fd);
		if (m->keeper_fd != -1)
			close(m->keeper_fd);
		if (role == ROLE_WORKER) {
			struct worker_args wa = { .id = id, .master = master, .listen_fd = g->lfd,
			    .tls_fd = g->tlsfd, .tls = g->tls, .conf = g->conf,
			    .seg = g->seg, .lb = g->lb, .handoff = (const int (*)[2])g->handoff };

			status = worker_main(&wa);
		} else
			status = health_main(g->conf, g->seg, g->lb, master, g->tls);
		_exit(status);
	}
	slot->pid = pid;
	slot->role = role;
	slot->id = id;
	slot->gen = g;
	slot->started = ev_now(m->loop);
	slot->initial = !m->ready;
	g->live++;
	return 0;
}

/*
 * Starts whatever child of the current generation is missing and due; arms
 * the respawn timer for the next one that is not due yet.
 */
static void
master_fill(struct master *m)
{
	struct generation *g = m->cur;
	ev_tstamp now = ev_now(m->loop), next = 0.;
	unsigned i;

	if (m->stopping)
		return;
	for (i = 0; i <= g->workers; i++) {
		enum child_role role = i == 0 ? ROLE_HEALTH : ROLE_WORKER;
		struct respawn *r = &g->respawn[i];

		if (r->dead != 0 || master_child_exists(m, g, role, (int)i))
			continue;
		if (r->due > now) {
			if (next == 0. || r->due < next)
				next = r->due;
			continue;
		}
		if (master_spawn(m, g, role, (int)i) == -1) {
			/* Out of processes or memory: try again later. */
			r->backoff = r->backoff == 0. ? RESPAWN_MIN : r->backoff;
			r->due = now + r->backoff;
			if (next == 0. || r->due < next)
				next = r->due;
		}
	}
	if (next != 0.) {
		ev_timer_stop(m->loop, &m->respawn_w);
		ev_timer_set(&m->respawn_w, next - now, 0.);
		ev_timer_start(m->loop, &m->respawn_w);
	}
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

	free(g->respawn);
	if (g->handoff != NULL) {
		for (i = 0; i < g->workers; i++) {
			close(g->handoff[i][0]);
			close(g->handoff[i][1]);
		}
		free(g->handoff);
	}
	if (close_listener && g->lfd != -1)
		close(g->lfd);
	if (close_listener && g->tlsfd != -1)
		close(g->tlsfd);
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
	struct respawn *r;
	char name[32];
	int st = w->rstatus;

	if (ch == NULL || w->rpid == 0)
		return;
	g = ch->gen;
	child_name(ch, name, sizeof(name));
	ch->pid = 0;
	g->live--;
	/* Whatever it had in flight is gone: no phantom connections for the policies. */
	if (ch->role == ROLE_WORKER) {
		balance_worker_reset(g->lb, g->seg, (unsigned)(ch->id - 1));
		queue_worker_reset(g->seg, (unsigned)(ch->id - 1));
	}
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
	r = &g->respawn[ch->id];
	r->dead = w->rpid;
	r->status = st;
	r->initial = ch->initial;
	r->lived = ev_now(loop) - ch->started;
	/* Decided on the next iteration, after any stop signal pending with this death. */
	ev_timer_stop(loop, &m->respawn_w);
	ev_timer_set(&m->respawn_w, 0., 0.);
	ev_timer_start(loop, &m->respawn_w);
}

/* Deaths in the current generation: stop (a child that could not start with the server) or restart. */
static void
master_respawn_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct master *m = w->data;
	struct generation *g = m->cur;
	struct child ch = { .gen = g };
	char name[32], delay[32];
	unsigned i;

	if (m->stopping)
		return;
	for (i = 0; i <= g->workers; i++) {
		struct respawn *r = &g->respawn[i];
		int st = r->status;
		double wait;

		if (r->dead == 0)
			continue;
		ch.role = i == 0 ? ROLE_HEALTH : ROLE_WORKER;
		ch.id = (int)i;
		child_name(&ch, name, sizeof(name));
		if (r->initial && WIFEXITED(st) && WEXITSTATUS(st) == PROC_EXIT_FATAL) {
			log_errx("%s (pid %d) failed at startup, stopping", name, (int)r->dead);
			r->dead = 0;
			m->exit_status = 2;
			m->stopping = SIGTERM;
			master_signal_children(m, NULL, 3, SIGTERM);
			ev_timer_start(loop, &m->stop_w);
			if (master_live(m) == 0)
				ev_break(loop, EVBREAK_ALL);
			return;
		}
		/* Back off from a child that keeps dying; a minute of health forgives. */
		if (r->lived >= RESPAWN_HEALTHY)
			r->backoff = 0.;
		wait = r->backoff;
		r->backoff = wait == 0. ? RESPAWN_MIN : wait * 2 > RESPAWN_MAX ? RESPAWN_MAX : wait * 2;
		r->due = ev_now(loop) + wait;
		if (wait > 0.)
			snprintf(delay, sizeof(delay), " in %.0fs", wait);
		else
			delay[0] = '\0';
		if (WIFSIGNALED(st))
			log_warnx("%s (pid %d) killed by signal %d, restarting%s", name, (int)r->dead,
			    WTERMSIG(st), delay);
		else
			log_warnx("%s (pid %d) exited with status %d, restarting%s", name,
			    (int)r->dead, WEXITSTATUS(st), delay);
		r->dead = 0;
	}
	master_fill(m);
}

static void
master_stop_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct master *m = w->data;

	log_warnx("children still running after the stop timeout: killing them");
	master_signal_children(m, NULL, 3, SIGKILL);
}

/*
 * Opens g's listening sockets, plain and TLS, each one the configuration
 * asks for; an address that old (the running generation, or NULL) already
 * listens on is shared rather than bound again. 0, or -1 with err filled and
 * nothing of g's own left open.
 */
static int
generation_listen(struct generation *g, const struct generation *old, char *err, size_t errlen)
{
	const struct conf *c = g->conf;
	const struct {
		const struct net_addr *addr;
		const char *name;
		int *fd;
		const struct net_addr *old_addr;
		int old_fd;
	} ls[2] = {
		{ &c->listen, c->listen_name, &g->lfd,
		  old != NULL ? &old->conf->listen : NULL, old != NULL ? old->lfd : -1 },
		{ c->tls.enabled ? &c->tls.listen : NULL, c->tls.listen_name, &g->tlsfd,
		  old != NULL && old->conf->tls.enabled ? &old->conf->tls.listen : NULL,
		  old != NULL ? old->tlsfd : -1 },
	};
	char why[256];
	size_t i;

	for (i = 0; i < 2; i++) {
		const struct net_addr *a = ls[i].addr, *o = ls[i].old_addr;

		*ls[i].fd = -1;
		if (a == NULL || a->len == 0)
			continue;
		if (o != NULL && ls[i].old_fd != -1 && a->len == o->len &&
		    memcmp(&a->ss, &o->ss, a->len) == 0) {
			*ls[i].fd = ls[i].old_fd;
			continue;
		}
		if ((*ls[i].fd = net_listen(a, LISTEN_BACKLOG, why, sizeof(why))) == -1) {
			snprintf(err, errlen, "listen on %s: %s", ls[i].name, why);
			if (i == 1 && g->lfd != -1 && (old == NULL || g->lfd != old->lfd))
				close(g->lfd);
			g->lfd = -1;
			return -1;
		}
	}
	return 0;
}

/* Forgets the sockets g shares with old, so that freeing g leaves them open. */
static void
generation_unshare(struct generation *g, const struct generation *old)
{
	if (g->lfd == old->lfd)
		g->lfd = -1;
	if (g->tlsfd == old->tlsfd)
		g->tlsfd = -1;
}

/* "127.0.0.1:8080", "127.0.0.1:8080 and 127.0.0.1:8443 (TLS)", "[::]:8443 (TLS)" */
static const char *
master_listen_names(const struct conf *c, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s%s", c->listen.len != 0 ? c->listen_name : "",
	    c->listen.len != 0 && c->tls.enabled ? " and " : "",
	    c->tls.enabled ? c->tls.listen_name : "", c->tls.enabled ? " (TLS)" : "");
	return out;
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
	char err[4096], names[2 * CONF_HOST_MAX + 32];

	log_info("reloading %s", m->opts->conf_path);
	admin_reload_started(m->admin);
	if (conf_load(&c, m->opts->conf_path, err, sizeof(err)) == -1 ||
	    master_conf_check(c, err, sizeof(err)) == -1) {
		if (strchr(err, '\n') == NULL) {
			log_errx("reload failed, keeping the running configuration: %s", err);
		} else {
			log_errx("reload failed, keeping the running configuration:");
			master_log_lines("", err);
		}
		conf_free(c);
		return;
	}
	if (master_accesslog_check(c, err, sizeof(err)) == -1) {
		log_errx("reload failed, keeping the running configuration: %s", err);
		conf_free(c);
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
	if (generation_respawn_init(g) == -1) {
		conf_free(c);
		free(g);
		log_errx("reload failed: out of memory");
		return;
	}
	g->lfd = g->tlsfd = -1;
	if (master_tls_prepare(m, g, err, sizeof(err)) == -1) {
		log_errx("reload failed, keeping the running configuration: %s", err);
		generation_free(g, 0);
		return;
	}
	if (generation_listen(g, old, err, sizeof(err)) == -1) {
		log_errx("reload failed: %s", err);
		generation_free(g, 0);
		return;
	}
	if ((g->seg = shm_create(c, g->workers, err, sizeof(err))) == NULL ||
	    (g->lb = balance_new(c, err, sizeof(err))) == NULL) {
		log_errx("reload failed: %s", err);
		generation_unshare(g, old);
		generation_free(g, 1);
		return;
	}
	shm_carry_health(g->seg, old->seg);
	balance_set_previous(g->lb, g->seg, old->seg);
	generation_handoff_open(g);
	atomic_store(&g->seg->generation, g->id);
	shm_seal(g->seg);
	g->next = old;
	m->cur = g;
	master_fill(m);
	/* The new workers accept from now on; the old ones finish what they have. */
	master_signal_children(m, old, 1 << ROLE_WORKER, SIGQUIT);
	master_signal_children(m, old, 1 << ROLE_HEALTH, SIGTERM);
	for (; old != NULL; old = old->next) {
		/* The new generation owns the sockets; old workers hold their own copies. */
		if (old->lfd != g->lfd && old->lfd != -1)
			close(old->lfd);
		if (old->tlsfd != g->tlsfd && old->tlsfd != -1)
			close(old->tlsfd);
		old->lfd = old->tlsfd = -1;
	}
	master_admin_update(m, g->next->conf);
	log_info("reload done, generation %u: listening on %s, %u %s, %zu %s, %s",
	    g->id, master_listen_names(c, names, sizeof(names)), g->workers, plural(g->workers, "worker", "workers"),
	    c->nbackends, plural(c->nbackends, "backend", "backends"),
	    c->algorithm);
}

/*
 * Points the admin listener at the current generation; opens, moves or closes
 * it as the configuration says (old: the previous configuration, or NULL).
 * -1 when it could not be opened (logged).
 */
static int
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
		if ((m->admin = admin_new(m->loop, &c->admin_listen, err, sizeof(err))) == NULL) {
			log_errx("admin listener on %s: %s", c->admin_name, err);
			return -1;
		}
		log_info("admin listener on %s", c->admin_name);
	}
	if (m->admin != NULL)
		admin_set_target(m->admin, c, m->cur->seg, m->cur->lb, m->cur->id);
	return 0;
}

/*
 * Becomes c's "user"/"group" for good: 0, or -1 with err filled. Nothing to
 * do (0) without either.
 */
static int
master_become(const struct conf *c, char *err, size_t errlen)
{
	struct passwd *pw = NULL;
	struct group *gr = NULL;
	gid_t gid;

	if (c->user == NULL && c->group == NULL)
		return 0;
	if (c->user != NULL && (pw = getpwnam(c->user)) == NULL) {
		snprintf(err, errlen, "user %s: no such user", c->user);
		return -1;
	}
	if (c->group != NULL && (gr = getgrnam(c->group)) == NULL) {
		snprintf(err, errlen, "group %s: no such group", c->group);
		return -1;
	}
	gid = gr != NULL ? gr->gr_gid : pw->pw_gid;
	if (setgid(gid) == -1 ||
	    (pw != NULL ? initgroups(pw->pw_name, gid) : setgroups(1, &gid)) == -1 ||
	    (pw != NULL && setuid(pw->pw_uid) == -1)) {
		snprintf(err, errlen, "dropping privileges to %s:%s: %s", c->user ? c->user : "-",
		    c->group ? c->group : "-", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * "user"/"group": after the sockets are bound (a port below 1024 needs root),
 * before any child exists, the master gives up root for good.
 */
static int
master_drop_privileges(const struct conf *c)
{
	char err[256];

	if (master_become(c, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		return -1;
	}
	if (c->user != NULL || c->group != NULL)
		log_info("running as %s:%s", c->user ? c->user : "-", c->group ? c->group : "-");
	return 0;
}

/* The graceful stop (SIGQUIT): workers drain, the health child goes, the master waits. */
static void
master_quit(struct master *m)
{
	log_info("graceful stop: draining workers");
	master_signal_children(m, NULL, 1 << ROLE_WORKER, SIGQUIT);
	master_signal_children(m, NULL, 1 << ROLE_HEALTH, SIGTERM);
	ev_timer_set(&m->stop_w,
	    (double)m->cur->conf->shutdown_timeout_ms / 1000. + QUIT_SLACK, 0.);
	ev_timer_stop(m->loop, &m->respawn_w);
	ev_timer_start(m->loop, &m->stop_w);
	if (master_live(m) == 0)
		ev_break(m->loop, EVBREAK_ALL);
}

static void
master_grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	master_quit(w->data);
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
	ev_timer_stop(loop, &m->grace_w);
	if (w->signum == SIGQUIT && m->cur->conf->stop_grace_ms > 0) {
		/*
		 * "stopGrace": first the monitor path says 503 while everything
		 * is served as before, so that the balancer in front stops
		 * sending connections before the listeners close.
		 */
		shm_monitor_set(m->cur->seg, SHM_MONITOR_STOPPING, 1);
		log_info("graceful stop: failing the monitor for %.1fs first",
		    (double)m->cur->conf->stop_grace_ms / 1000.);
		ev_timer_stop(loop, &m->respawn_w);
		ev_timer_set(&m->grace_w, (double)m->cur->conf->stop_grace_ms / 1000., 0.);
		ev_timer_start(loop, &m->grace_w);
		return;
	}
	if (w->signum == SIGQUIT) {
		master_quit(m);
		return;
	}
	log_info("stopping");
	master_signal_children(m, NULL, 3, SIGTERM);
	ev_timer_set(&m->stop_w, STOP_TIMEOUT, 0.);
	ev_timer_stop(loop, &m->respawn_w);
	ev_timer_start(loop, &m->stop_w);
	if (master_live(m) == 0)
		ev_break(loop, EVBREAK_ALL);
}

/*
 * 0 if this process may write <path>, or create it in its directory (dir: a
 * copy of path, which dirname changes); else the errno that says why not.
 */
static int
master_writable(const char *path, char *dir)
{
	if (access(path, W_OK) == 0 ||
	    (errno == ENOENT && access(dirname(dir), W_OK | X_OK) == 0))
		return 0;
	return errno;
}

/*
 * Whether the access log can be opened for writing by the user rondo will
 * run as (root with "user" or "group": asked in a child that becomes them;
 * else as this process): the file if it exists, else its directory. Nothing
 * is created. 0, or -1 with err filled.
 */
static int
master_accesslog_writable(const struct conf *c, char *err, size_t errlen)
{
	char dir[PATH_MAX], why[256];
	int fds[2], st, e = 0;
	const char *as;
	ssize_t n;
	pid_t pid;

	if (c->access_log == NULL || strcmp(c->access_log, "-") == 0)
		return 0;
	snprintf(dir, sizeof(dir), "%s", c->access_log);
	as = c->user != NULL ? c->user : c->group;
	if (geteuid() != 0 || as == NULL) {
		e = master_writable(c->access_log, dir);
		as = NULL;
	} else if (pipe(fds) == -1 || (pid = fork()) == -1) {
		return 0;	/* cannot ask: the start will tell */
	} else if (pid == 0) {
		close(fds[0]);
		if (master_become(c, why, sizeof(why)) == -1)
			e = EPERM;
		else
			e = master_writable(c->access_log, dir);
		n = write(fds[1], &e, sizeof(e));
		_exit(n == (ssize_t)sizeof(e) ? 0 : 1);
	} else {
		close(fds[1]);
		if (read(fds[0], &e, sizeof(e)) != (ssize_t)sizeof(e))
			e = 0;
		close(fds[0]);
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	if (e == 0)
		return 0;
	snprintf(err, errlen, "%s: accessLog: %s%s%s cannot write %s: %s", c->path,
	    as != NULL ? "user " : "", as != NULL ? as : "", as != NULL ? "" : "rondo",
	    c->access_log, strerror(e));
	return -1;
}

int
master_conf_check(const struct conf *c, char *err, size_t errlen)
{
	const char *paths[] = { c->access_log, c->pid_file };
	const char *keys[] = { "accessLog", "pidFile" };
	char buf[PATH_MAX];
	struct stat st;
	size_t i, len = 0;

	/* Both keys are looked at, so that one run shows every problem, a line each. */
	if (errlen > 0)
		err[0] = '\0';
	for (i = 0; i < 2; i++) {
		if (paths[i] == NULL || strcmp(paths[i], "-") == 0)
			continue;
		snprintf(buf, sizeof(buf), "%s", paths[i]);
		if (stat(dirname(buf), &st) == -1)
			len += (size_t)snprintf(err + len, len < errlen ? errlen - len : 0,
			    "%s%s: %s: directory %s: %s", len > 0 ? "\n" : "", c->path, keys[i], buf,
			    strerror(errno));
		else if (!S_ISDIR(st.st_mode))
			len += (size_t)snprintf(err + len, len < errlen ? errlen - len : 0,
			    "%s%s: %s: %s is not a directory", len > 0 ? "\n" : "", c->path, keys[i], buf);
		if (len >= errlen)
			len = errlen > 0 ? errlen - 1 : 0;
	}
	if (len == 0 && master_accesslog_writable(c, err, errlen) == -1)
		return -1;
	return len > 0 ? -1 : 0;
}

/*
 * The access log opens in every worker, as the user the master runs as: the
 * master opens it once first, so that a file that cannot be opened stops the
 * start (or the reload) instead of leaving rondo running without its log.
 */
static int
master_accesslog_check(const struct conf *c, char *err, size_t errlen)
{
	struct accesslog *l;

	if (c->access_log == NULL)
		return 0;
	if ((l = accesslog_open(c->access_log, (enum accesslog_format)c->access_log_format,
	    err, errlen)) == NULL)
		return -1;
	accesslog_close(l);
	return 0;
}

/*
 * Writes the pid to a temporary file beside path, then renames it over path:
 * a reader never sees a half-written file, and a symbolic link planted at
 * path (or at the temporary name) is replaced, never followed.
 */
static int
master_write_pidfile(const char *path, char *err, size_t errlen)
{
	char tmp[PATH_MAX], line[32];
	int fd, n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "pid file %s: name too long", path);
		return -1;
	}
	(void)unlink(tmp);	/* left by a crash; a link is removed, not followed */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd == -1)
		goto fail;
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (write(fd, line, (size_t)n) != n) {
		close(fd);
		goto fail_unlink;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1)
		goto fail_unlink;
	return 0;
fail_unlink:
	snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
	unlink(tmp);
	return -1;
fail:
	snprintf(err, errlen, "pid file %s: %s", path, strerror(errno));
	return -1;
}

/*
 * With "user", the master may not be allowed to remove the pid file it wrote
 * as root (a directory such as /run). A small process forked while still
 * root does it: it holds nothing but a pipe from the master, and when that
 * pipe closes (the master exited, however) it removes the file if it still
 * names the master. It is forked twice so that it is not the master's child.
 * Returns the pipe's write end, or -1 (logged).
 */
static int
master_pidfile_keeper(const char *path)
{
	char want[32], got[32];
	pid_t master = getpid(), pid;
	int p[2], st, fd, n;

	if (pipe2(p, O_CLOEXEC) == -1) {
		log_err("pid file keeper: pipe");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_err("pid file keeper: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		struct sigaction sa = { .sa_handler = SIG_IGN };

		if (fork() != 0)
			_exit(0);
		/* A Ctrl-C to the group must leave it to wait for the master. */
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGQUIT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		sigaction(SIGUSR1, &sa, NULL);
		if (dup2(p[0], 3) == -1)
			_exit(1);
		close_range(4, ~0U, 0);
		while (read(3, got, sizeof(got)) > 0)
			;
		snprintf(want, sizeof(want), "%ld\n", (long)master);
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) != -1) {
			n = (int)read(fd, got, sizeof(got) - 1);
			close(fd);
			if (n > 0 && (got[n] = '\0', strcmp(got, want) == 0))
				unlink(path);
		}
		_exit(0);
	}
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	return p[1];
}

/* Undoes what master_run set up, for a start that failed half-way. */
static int
master_abort(struct master *m, struct generation *g)
{
	if (m->pidfile != NULL && m->keeper_fd == -1)
		unlink(m->pidfile);
	free(m->pidfile);
	if (m->keeper_fd != -1)
		close(m->keeper_fd);
	admin_free(m->admin);
	generation_free(g, 1);
	return 1;
}

int
master_run(struct conf *c, const struct master_opts *o)
{
	static struct master m;
	struct generation *g;
	char err[4096], names[2 * CONF_HOST_MAX + 32];

	memset(&m, 0, sizeof(m));
	m.opts = o;
	m.ready_fd = o->ready_fd;
	m.keeper_fd = -1;
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
	g->lfd = g->tlsfd = -1;
	if (generation_respawn_init(g) == -1) {
		log_errx("out of memory");
		generation_free(g, 0);
		return 1;
	}
	/* Everything the configuration asks for is set up, or rondo does not start. */
	if (master_conf_check(c, err, sizeof(err)) == -1) {
		master_log_lines("", err);
		generation_free(g, 0);
		return 1;
	}
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
	if (generation_listen(g, NULL, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		generation_free(g, 0);
		return 1;
	}
	if ((g->seg = shm_create(c, g->workers, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		generation_free(g, 1);
		return 1;
	}
	if ((g->lb = balance_new(c, err, sizeof(err))) == NULL) {
		log_errx("%s", err);
		generation_free(g, 1);
		return 1;
	}
	atomic_store(&g->seg->generation, 1);
	shm_seal(g->seg);
	generation_handoff_open(g);
	m.cur = g;
	if (master_admin_update(&m, NULL) == -1)
		return master_abort(&m, g);
	if (o->pidfile != NULL || c->pid_file != NULL) {
		if ((m.pidfile = strdup(o->pidfile != NULL ? o->pidfile : c->pid_file)) == NULL) {
			log_errx("out of memory");
			return master_abort(&m, g);
		}
		if (master_write_pidfile(m.pidfile, err, sizeof(err)) == -1) {
			log_errx("%s", err);
			free(m.pidfile);
			m.pidfile = NULL;
			return master_abort(&m, g);
		}
		if (c->user != NULL && (m.keeper_fd = master_pidfile_keeper(m.pidfile)) == -1)
			return master_abort(&m, g);
	}
	if (master_drop_privileges(c) == -1)
		return master_abort(&m, g);
	if (master_accesslog_check(c, err, sizeof(err)) == -1) {
		log_errx("%s", err);
		return master_abort(&m, g);
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
	ev_timer_init(&m.respawn_w, master_respawn_cb, 0., 0.);
	m.respawn_w.data = &m;
	ev_timer_init(&m.stop_w, master_stop_timeout_cb, STOP_TIMEOUT, 0.);
	m.stop_w.data = &m;
	ev_init(&m.grace_w, master_grace_cb);
	m.grace_w.data = &m;

	log_info("rondo %s starting: %zu %s, %u %s", PACKAGE_VERSION, c->nbackends,
	    plural(c->nbackends, "backend", "backends"), g->workers,
	    plural(g->workers, "worker", "workers"));
	master_fill(&m);
	m.ready = 1;
	log_info("ready: listening on %s, %u %s, %zu %s, %s",
	    master_listen_names(c, names, sizeof(names)), g->workers,
	    plural(g->workers, "worker", "workers"), c->nbackends,
	    plural(c->nbackends, "backend", "backends"), c->algorithm);
	if (m.ready_fd != -1) {
		/* -D: the command that started rondo exits 0 now. */
		if (write(m.ready_fd, "", 1) != 1)
			log_warn("telling the parent that rondo is ready");
		close(m.ready_fd);
		m.ready_fd = -1;
	}

	ev_run(m.loop, 0);

	admin_free(m.admin);
	while ((g = m.cur) != NULL) {
		m.cur = g->next;
		generation_free(g, 1);
	}
	/* With a keeper, the file goes when its pipe closes, at this process's exit. */
	if (m.pidfile != NULL && m.keeper_fd == -1 && unlink(m.pidfile) == -1)
		log_warn("removing the pid file %s", m.pidfile);
	free(m.pidfile);
#ifdef HAVE_TLS
	tls_keys_free(m.tls_keys);
#endif
	log_info("stopped");
	return m.exit_status;
}
