/* worker.c: a worker process: slots accepting and serving requests */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "proc/wctx.h"
#include "io/db.h"
#include "io/fcgi_io.h"
#include "io/http_client.h"
#include "core/log.h"
#include "http/router.h"
#include "core/util.h"
#include "proc/worker.h"

#define ARENA_CHUNK (64 * 1024)
#define WAKE_SIGNAL SIGUSR2
/*
 * How long the fast lane of a busy process leaves a new connection to the
 * idle slots of the other workers: what it accepts waits for this process's
 * slots (unless it is /health).  A /health probe can wait this much more.
 */
#define LANE_GRACE_MS 250

struct worker;

struct slot {
	pthread_t tid;
	int started;
	int idle; /* blocked (or about to block) in accept */
	int done;
	struct fcgi_slot *fs;
	struct arena *arena;
	struct http_client *http;
	struct worker *w;
};

struct worker {
	const struct conf *conf;
	struct tg_ctx ctx;
	int listen_fd;
	struct fcgi_door *door;
	int spawned;
	unsigned nslots; /* serving any request */
	unsigned nall;	 /* and the fast lane after them */
	struct slot *slots;
	int quit;
	unsigned long served;
	unsigned long *shared_served;
};

/* Control signals are blocked everywhere and taken by sigtimedwait in main. */
static void
control_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGHUP);
}

static void
on_wake(int sig)
{
	/* Only interrupts accept(); the quit flag carries the meaning. */
	(void)sig;
}

static void
install_signals(sigset_t *ctl)
{
	struct sigaction sa;

	control_set(ctl);
	pthread_sigmask(SIG_BLOCK, ctl, NULL);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/*
	 * No SA_RESTART, so the wake signal fails a blocked accept with EINTR.
	 * Handlers on TERM/USR1 also keep libfcgi from installing its own.
	 */
	sa.sa_handler = on_wake;
	sigaction(WAKE_SIGNAL, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGALRM, &sa, NULL);
}

static int
get_quit(struct worker *w)
{
	return __atomic_load_n(&w->quit, __ATOMIC_ACQUIRE);
}

static void
set_quit(struct worker *w)
{
	__atomic_store_n(&w->quit, 1, __ATOMIC_RELEASE);
	fcgi_shutdown_pending(w->door);
}

static void *
slot_main(void *arg)
{
	struct slot *s = arg;
	struct worker *w = s->w;
	struct tg_io io;
	unsigned long n;

	db_thread_init();
	for (;;) {
		__atomic_store_n(&s->idle, 1, __ATOMIC_RELEASE);
		/*
		 * Checked after going idle so a waker cannot slip in between.
		 * A request already sent on our connection is served first: the
		 * web server would answer 502 for it.
		 */
		if (get_quit(w) && !fcgi_has_next(s->fs))
			break;
		if (fcgi_accept(s->fs, &io) == -1) {
			if (!get_quit(w)) {
				log_msg(LOG_ERR, "accept failed; worker stops");
				set_quit(w);
			}
			break;
		}
		__atomic_store_n(&s->idle, 0, __ATOMIC_RELEASE);
		router_serve(&io, s->arena, &w->ctx, s->http);
		fcgi_finish(s->fs);
		arena_reset(s->arena);
		n = __atomic_add_fetch(&w->served, 1, __ATOMIC_ACQ_REL);
		if (w->shared_served != NULL)
			__atomic_store_n(w->shared_served, n, __ATOMIC_RELEASE);
		if (w->conf->max_requests != 0 && n >= w->conf->max_requests)
			set_quit(w);
	}
	__atomic_store_n(&s->idle, 0, __ATOMIC_RELEASE);
	db_thread_end();
	__atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Nudge slots that sit in accept(); repeated until they have all left. */
static void
wake_idle(struct worker *w)
{
	unsigned i;

	for (i = 0; i < w->nall; i++)
		if (w->slots[i].started &&
		    __atomic_load_n(&w->slots[i].idle, __ATOMIC_ACQUIRE) &&
		    !__atomic_load_n(&w->slots[i].done, __ATOMIC_ACQUIRE))
			pthread_kill(w->slots[i].tid, WAKE_SIGNAL);
}

static int
all_done(struct worker *w)
{
	unsigned i;

	for (i = 0; i < w->nall; i++)
		if (w->slots[i].started &&
		    !__atomic_load_n(&w->slots[i].done, __ATOMIC_ACQUIRE))
			return 0;
	return 1;
}

static unsigned
busy_slots(struct worker *w)
{
	unsigned i, n = 0;

	for (i = 0; i < w->nslots; i++)
		n += w->slots[i].started &&
		    !__atomic_load_n(&w->slots[i].idle, __ATOMIC_ACQUIRE);
	return n;
}

static void
supervise(struct worker *w, const sigset_t *ctl)
{
	struct timespec tick = {0, 100 * 1000 * 1000};
	siginfo_t si;
	double last = util_now();
	int sig;

	db_thread_background();
	while (!all_done(w)) {
		if (get_quit(w))
			wake_idle(w);
		else if (util_now() - last >= 0.1) {
			/* Housekeeping, off the request path. */
			ctx_tick(&w->ctx, 2 * busy_slots(w) > w->nslots);
			last = util_now();
		}
		sig = sigtimedwait(ctl, &si, &tick);
		switch (sig) {
		case SIGQUIT:
		case SIGTERM:
		case SIGINT:
			if (!get_quit(w))
				log_msg(LOG_INFO,
				    "stopping on signal %d after "
				    "in-flight requests",
				    sig);
			set_quit(w);
			break;
		case SIGUSR1:
			if (log_reopen() == -1)
				log_sys(LOG_ERR, "reopening logs");
			break;
		default:
			break; /* timeout, SIGHUP: the master reloads, not us */
		}
	}
}

static const char *
env_get(char **envp, const char *name)
{
	size_t n = strlen(name);

	for (; envp != NULL && *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

/*
 * The fast lane's routes: GET or HEAD /health (under the mount prefix), which
 * a load balancer asks every few seconds with a short timeout: a probe that
 * waits for a slot behind chats reports a healthy node as down.  It costs one
 * small query.  Everything else waits for a slot as before.
 */
static int
fast_route(char **envp, void *arg)
{
	const struct conf *c = arg;
	const char *m = env_get(envp, "REQUEST_METHOD");
	const char *u = env_get(envp, "REQUEST_URI");
	size_t n;

	if (m == NULL || u == NULL || (strcmp(m, "GET") && strcmp(m, "HEAD")))
		return 0;
	n = c->mount_prefix != NULL ? strlen(c->mount_prefix) : 0;
	if (n > 0 && strncmp(u, c->mount_prefix, n) == 0)
		u += n;
	n = strcspn(u, "?");
	return n == strlen("/health") && strncmp(u, "/health", n) == 0;
}

int
worker_run(
    const struct conf *conf, int listen_fd, int spawned, unsigned long *served)
{
	struct worker w;
	sigset_t ctl;
	unsigned i;
	int rc = EXIT_FAILURE;

	memset(&w, 0, sizeof(w));
	w.conf = conf;
	w.listen_fd = listen_fd;
	w.spawned = spawned;
	w.shared_served = served;
	/*
	 * A spawned process serves one request at a time (mod_fcgid's model);
	 * standalone adds the fast lane for /health.
	 */
	w.nslots = spawned ? 1 : conf->threads;
	w.nall = spawned ? 1 : conf->threads + 1;
	log_set_role(spawned ? "spawned" : "worker");
	install_signals(&ctl);
	if (fcgi_init() == -1 || db_library_init() == -1) {
		log_msg(LOG_ERR, "library initialisation failed");
		return EXIT_FAILURE;
	}
	if (ctx_init(&w.ctx, conf) == -1)
		goto out;
	if ((w.door = fcgi_door_new(listen_fd)) == NULL) {
		log_sys(LOG_ERR, "fcgi door");
		goto out;
	}
	if ((w.slots = calloc(w.nall, sizeof(*w.slots))) == NULL)
		goto out;
	for (i = 0; i < w.nall; i++) {
		w.slots[i].w = &w;
		w.slots[i].arena = arena_new(ARENA_CHUNK);
		if ((w.slots[i].http = http_client_new()) == NULL)
			goto stop;
		if ((w.slots[i].fs = i < w.nslots
			    ? fcgi_slot_new(w.door)
			    : fcgi_lane_new(w.door, fast_route, (void *)conf,
				  conf->workers > 1 ? LANE_GRACE_MS : 0)) ==
		    NULL)
			goto stop;
		/* Slots inherit the blocked control signals from this thread. */
		if (pthread_create(
			&w.slots[i].tid, NULL, slot_main, &w.slots[i]) != 0) {
			log_sys(LOG_ERR, "pthread_create");
			goto stop;
		}
		w.slots[i].started = 1;
	}
	log_msg(LOG_DEBUG, "serving with %u slot(s)", w.nslots);
	rc = EXIT_SUCCESS;
	goto run;
stop:
	rc = EXIT_FAILURE;
	set_quit(&w);
run:
	supervise(&w, &ctl);
	for (i = 0; i < w.nall; i++)
		if (w.slots[i].started)
			pthread_join(w.slots[i].tid, NULL);
out:
	if (w.slots != NULL) {
		for (i = 0; i < w.nall; i++) {
			fcgi_slot_free(w.slots[i].fs);
			http_client_free(w.slots[i].http);
			arena_free(w.slots[i].arena);
		}
		free(w.slots);
	}
	fcgi_door_free(w.door);
	log_msg(LOG_DEBUG, "worker exits after %lu requests", w.served);
	ctx_fini(&w.ctx);
	db_library_end();
	return rc;
}

int
worker_cgi(const struct conf *conf)
{
	extern char **environ;
	struct tg_ctx ctx;
	struct tg_io io;
	struct arena *a;
	struct http_client *http;
	struct conf one = *conf;

	log_set_role("cgi");
	/* A process per request: a lease would be taken and closed each time. */
	one.lease_nano = 0;
	if (db_library_init() == -1 || ctx_init(&ctx, &one) == -1)
		return EXIT_FAILURE;
	a = arena_new(ARENA_CHUNK);
	http = http_client_new();
	cgi_io(&io, environ);
	router_serve(&io, a, &ctx, http);
	http_client_free(http);
	arena_free(a);
	ctx_fini(&ctx);
	db_library_end();
	return EXIT_SUCCESS;
}
