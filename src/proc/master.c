/* master.c: the standalone pool supervisor (php-fpm style static pool) */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "proc/master.h"
#include "io/sock.h"
#include "core/util.h"
#include "proc/worker.h"
#include "domain/metrics.h"

#define MAX_WORKERS 512 /* two generations of the largest pool, for reloads */
#define BACKOFF_MAX 30.0
#define RING_MAX    1000
#define TICK_USEC   200000

enum mstate { MS_NORMAL, MS_GRACEFUL, MS_FAST };

struct wslot {
	pid_t pid;	   /* 0: free */
	unsigned gen;	   /* generation it belongs to */
	int keep;	   /* respawn when it exits */
	double started;	   /* monotonic */
	double respawn_at; /* > 0: spawn at this time */
	double kill_at;	   /* > 0: SIGKILL if still alive then (reload) */
};

struct master {
	struct conf *conf;
	int listen_fd;
	char *listen_spec; /* as bound; a reload cannot move the socket */
	unsigned gen;
	enum mstate state;
	double deadline; /* escalate to SIGKILL at this time when stopping */
	struct wslot w[MAX_WORKERS];
	unsigned long *served; /* MAP_SHARED: one counter per wslot */
	double ring[RING_MAX]; /* times of recent abnormal exits */
	unsigned nring;
	unsigned backoff_level;
};

static volatile sig_atomic_t sig_chld, sig_hup, sig_usr1, sig_quit, sig_term,
    sig_alrm;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGCHLD:
		sig_chld = 1;
		break;
	case SIGHUP:
		sig_hup = 1;
		break;
	case SIGUSR1:
		sig_usr1 = 1;
		break;
	case SIGQUIT:
		sig_quit = 1;
		break;
	case SIGTERM:
	case SIGINT:
		sig_term = 1;
		break;
	case SIGALRM:
		sig_alrm = 1;
		break;
	default:
		break;
	}
}

static void
master_signals(sigset_t *blocked)
{
	static const int sigs[] = {
	    SIGCHLD, SIGHUP, SIGUSR1, SIGQUIT, SIGTERM, SIGINT, SIGALRM};
	struct sigaction sa;
	size_t i;

	sigemptyset(blocked);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigaddset(blocked, sigs[i]);
		sigaction(sigs[i], &sa, NULL);
	}
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/* Blocked except inside sigsuspend: no handler runs mid-update. */
	sigprocmask(SIG_BLOCK, blocked, NULL);
}

static const char *
signame(int sig)
{
	const char *s = sigabbrev_np(sig);

	return s != NULL ? s : "?";
}

static void
spawn(struct master *m, unsigned i)
{
	struct wslot *w = &m->w[i];
	pid_t pid, ppid = getpid();
	int rc;

	__atomic_store_n(&m->served[i], 0, __ATOMIC_RELEASE);
	if ((pid = fork()) == -1) {
		log_sys(LOG_ERR, "fork");
		w->respawn_at = util_now() + 1.0;
		return;
	}
	if (pid == 0) {
		/* Die with the master rather than serve unsupervised. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != ppid)
			_exit(EXIT_FAILURE);
		rc = worker_run(m->conf, m->listen_fd, 0, &m->served[i]);
		/* exit, not _exit: LeakSanitizer checks the worker at exit. */
		exit(rc);
	}
	w->pid = pid;
	w->started = util_now();
	w->respawn_at = 0;
	w->kill_at = 0;
	log_msg(
	    LOG_DEBUG, "worker %ld started (generation %u)", (long)pid, w->gen);
}

/* Claim free slots for a new generation of n workers and start them. */
static void
spawn_generation(struct master *m, unsigned n)
{
	unsigned i;

	m->gen++;
	for (i = 0; i < MAX_WORKERS && n > 0; i++) {
		if (m->w[i].pid != 0 || m->w[i].keep)
			continue;
		m->w[i].gen = m->gen;
		m->w[i].keep = 1;
		spawn(m, i);
		n--;
	}
	if (n > 0)
		log_msg(LOG_ERR, "no room for %u more workers", n);
}

/* Record an abnormal exit; returns the respawn delay in seconds. */
static double
crash_delay(struct master *m, double now)
{
	const struct conf *c = m->conf;
	unsigned i, k = 0, recent = 0;
	double delay;

	for (i = 0; i < m->nring; i++)
		if (now - m->ring[i] <= c->respawn_interval)
			m->ring[k++] = m->ring[i];
	m->nring = k;
	if (m->nring < RING_MAX)
		m->ring[m->nring++] = now;
	recent = m->nring;
	if (recent < c->respawn_threshold) {
		m->backoff_level = 0;
		return 0;
	}
	delay = 1.0;
	for (i = 0; i < m->backoff_level && delay < BACKOFF_MAX; i++)
		delay *= 2;
	if (delay > BACKOFF_MAX)
		delay = BACKOFF_MAX;
	m->backoff_level++;
	log_msg(LOG_ERR,
	    "crash loop: %u abnormal worker exits in %us; "
	    "delaying respawn by %.0fs",
	    recent, c->respawn_interval, delay);
	return delay;
}

static void
reap(struct master *m)
{
	struct wslot *w;
	double now, age;
	unsigned i;
	pid_t pid;
	int st, abnormal;
	char cause[96];

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < MAX_WORKERS && m->w[i].pid != pid; i++)
			;
		if (i == MAX_WORKERS)
			continue;
		w = &m->w[i];
		now = util_now();
		age = now - w->started;
		if (WIFSIGNALED(st)) {
			snprintf(cause, sizeof(cause), "on signal %d (SIG%s%s)",
			    WTERMSIG(st), signame(WTERMSIG(st)),
			    WCOREDUMP(st) ? " - core dumped" : "");
			abnormal = 1;
		} else {
			snprintf(cause, sizeof(cause), "with code %d",
			    WEXITSTATUS(st));
			abnormal = WEXITSTATUS(st) != 0;
		}
		log_msg(abnormal && m->state == MS_NORMAL ? LOG_WARN : LOG_INFO,
		    "worker %ld exited %s after %.1fs, %lu requests", (long)pid,
		    cause, age,
		    __atomic_load_n(&m->served[i], __ATOMIC_ACQUIRE));
		w->pid = 0;
		if (m->state != MS_NORMAL || !w->keep || w->gen != m->gen) {
			w->keep = 0;
			continue;
		}
		w->respawn_at = now + (abnormal ? crash_delay(m, now) : 0);
		if (abnormal)
			metrics_restart(); /* issue 19: obs */
	}
}

/*
 * issue 19: obs: the master's record in the metrics file, for
 * `tollgate status` and /metrics; pid 0 once it stops.
 */
static void
publish(struct master *m, int running)
{
	static double started;
	struct metrics_master mm;
	unsigned i, n = 0;

	if (started == 0)
		started = util_wall();
	for (i = 0; i < MAX_WORKERS; i++)
		n += m->w[i].pid != 0 && m->w[i].gen == m->gen;
	mm.pid = running ? (int64_t)getpid() : 0;
	mm.started = started;
	mm.generation = m->gen;
	mm.workers = n;
	mm.slots = (uint64_t)n * m->conf->threads;
	mm.restarts = 0;
	metrics_master_set(&mm);
}

static void
respawn_due(struct master *m)
{
	double now = util_now();
	unsigned i;

	if (m->state != MS_NORMAL)
		return;
	for (i = 0; i < MAX_WORKERS; i++)
		if (m->w[i].keep && m->w[i].pid == 0 &&
		    m->w[i].respawn_at <= now)
			spawn(m, i);
}

/* Old-generation workers that outlived their grace period after a reload. */
static void
kill_overdue(struct master *m)
{
	double now = util_now();
	unsigned i;

	for (i = 0; i < MAX_WORKERS; i++) {
		if (m->w[i].pid == 0 || m->w[i].kill_at == 0 ||
		    now < m->w[i].kill_at)
			continue;
		log_msg(LOG_WARN,
		    "worker %ld still busy %us after the reload; "
		    "killing it",
		    (long)m->w[i].pid, m->conf->graceful_timeout);
		kill(m->w[i].pid, SIGKILL);
		m->w[i].kill_at = 0;
	}
}

static unsigned
signal_workers(struct master *m, int sig, int old_only)
{
	unsigned i, n = 0;

	for (i = 0; i < MAX_WORKERS; i++) {
		if (m->w[i].pid == 0 || (old_only && m->w[i].gen == m->gen))
			continue;
		kill(m->w[i].pid, sig);
		n++;
	}
	return n;
}

static unsigned
nworkers(const struct master *m)
{
	unsigned i, n = 0;

	for (i = 0; i < MAX_WORKERS; i++)
		n += m->w[i].pid != 0;
	return n;
}

static void
log_conf_error(void *arg, const char *file, unsigned line, const char *msg)
{
	if (line > 0)
		log_msg(LOG_ERR, "%s:%u: %s", file, line, msg);
	else
		log_msg(LOG_ERR, "%s: %s", file, msg);
}

static void
reload(struct master *m)
{
	struct conf *nc;
	unsigned i;

	log_msg(LOG_INFO, "reloading %s", m->conf->path);
	if ((nc = conf_load(m->conf->path, log_conf_error, NULL)) == NULL) {
		log_msg(LOG_ERR,
		    "reload failed: the configuration is invalid; "
		    "keeping the running one");
		return;
	}
	if (strcmp(nc->listen, m->listen_spec) != 0) {
		log_msg(LOG_WARN,
		    "server.listen changed; the socket moves only "
		    "on a restart, keeping %s",
		    m->listen_spec);
		free(nc->listen);
		nc->listen = strdup(m->listen_spec);
	}
	if (log_open(nc->log_file, nc->access_file, nc->log_level) == -1)
		log_sys(LOG_ERR, "reopening logs for the new configuration");
	log_set_json(nc->log_json); /* issue 19: obs */
	conf_free(m->conf);
	m->conf = nc;
	/*
	 * Old workers finish what they serve, within graceful_timeout; the new
	 * generation takes over at once.
	 */
	for (i = 0; i < MAX_WORKERS; i++) {
		m->w[i].keep = 0;
		if (m->w[i].pid != 0)
			m->w[i].kill_at = util_now() + nc->graceful_timeout;
	}
	signal_workers(m, SIGQUIT, 0);
	spawn_generation(m, nc->workers);
	log_msg(LOG_INFO, "reloaded: generation %u, %u workers x %u threads",
	    m->gen, nc->workers, nc->threads);
}

static void
stop(struct master *m, int fast)
{
	enum mstate st = fast ? MS_FAST : MS_GRACEFUL;

	if (m->state == MS_FAST || m->state == st)
		return;
	m->state = st;
	m->deadline = util_now() +
	    (fast ? m->conf->stop_timeout : m->conf->graceful_timeout);
	log_msg(LOG_INFO, "%s stop: %u workers", fast ? "fast" : "graceful",
	    nworkers(m));
	/* Nothing new should reach this pool: stop listening now. */
	sock_close(m->listen_fd, m->listen_spec);
	m->listen_fd = -1;
	signal_workers(m, fast ? SIGTERM : SIGQUIT, 0);
}

static int
write_pid(const char *path)
{
	FILE *fp;

	if (path == NULL)
		return 0;
	if ((fp = fopen(path, "we")) == NULL) {
		log_sys(LOG_ERR, "pid file %s", path);
		return -1;
	}
	fprintf(fp, "%ld\n", (long)getpid());
	fclose(fp);
	return 0;
}

/* Act on the signals that arrived since the last turn of the loop. */
static void
handle_signals(struct master *m)
{
	if (sig_chld) {
		sig_chld = 0;
		reap(m);
	}
	if (sig_term) {
		sig_term = 0;
		stop(m, 1);
	}
	if (sig_quit) {
		sig_quit = 0;
		stop(m, 0);
	}
	if (sig_hup) {
		sig_hup = 0;
		if (m->state == MS_NORMAL)
			reload(m);
	}
	if (sig_usr1) {
		sig_usr1 = 0;
		if (log_reopen() == -1)
			log_sys(LOG_ERR, "reopening logs");
		signal_workers(m, SIGUSR1, 0);
	}
	sig_alrm = 0;
}

int
master_run(struct conf *conf)
{
	struct master *m;
	struct itimerval it = {{0, TICK_USEC}, {0, TICK_USEC}};
	sigset_t blocked, none;
	char *pid_file = NULL;
	int rc = EXIT_FAILURE;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return EXIT_FAILURE;
	m->conf = conf;
	m->listen_fd = -1;
	log_set_role("master");
	master_signals(&blocked);
	m->served = mmap(NULL, sizeof(unsigned long) * MAX_WORKERS,
	    PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (m->served == MAP_FAILED) {
		log_sys(LOG_ERR, "mmap");
		m->served = NULL;
		goto out;
	}
	m->listen_spec = strdup(conf->listen);
	if ((m->listen_fd = sock_listen(
		 conf->listen, conf->listen_mode, conf->listen_backlog)) == -1)
		goto out;
	if (conf->pid_file != NULL) {
		if (write_pid(conf->pid_file) == -1)
			goto out;
		pid_file = strdup(conf->pid_file);
	}
	log_msg(LOG_INFO, "tollgate %s started on %s: %u workers x %u threads",
	    PACKAGE_VERSION, conf->listen, conf->workers, conf->threads);
	metrics_open(conf->run_dir); /* issue 19: obs: workers inherit it */
	spawn_generation(m, conf->workers);
	setitimer(ITIMER_REAL, &it, NULL);
	sigemptyset(&none);
	for (;;) {
		if (!sig_chld && !sig_hup && !sig_usr1 && !sig_quit &&
		    !sig_term && !sig_alrm)
			sigsuspend(&none);
		handle_signals(m);
		respawn_due(m);
		kill_overdue(m);
		publish(m, m->state == MS_NORMAL);
		if (m->state != MS_NORMAL && nworkers(m) == 0)
			break;
		if (m->state != MS_NORMAL && util_now() > m->deadline) {
			log_msg(LOG_WARN, "stop timeout: killing %u workers",
			    signal_workers(m, SIGKILL, 0));
			m->deadline = util_now() + 3600;
		}
	}
	log_msg(LOG_INFO, "stopped");
	publish(m, 0);
	rc = EXIT_SUCCESS;
out:
	sock_close(m->listen_fd, m->listen_spec);
	if (pid_file != NULL)
		unlink(pid_file);
	free(pid_file);
	free(m->listen_spec);
	if (m->served != NULL)
		munmap(m->served, sizeof(unsigned long) * MAX_WORKERS);
	conf_free(m->conf);
	free(m);
	(void)blocked;
	return rc;
}
