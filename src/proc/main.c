/* main.c: command line, config test, and the choice of process mode */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "proc/cli.h"
#include "proc/status.h"
#include "core/conf.h"
#include "io/http_client.h"
#include "io/db.h"
#include "store/stmt.h"
#include "store/store.h"
#include "http/ctx.h"
#include "proc/wctx.h"
#include "core/log.h"
#include "core/tokenize.h"
#include "proc/master.h"
#include "store/migrate.h"
#include "io/sock.h"
#include "io/rundir.h"
#include "domain/catalog.h"
#include "domain/upstream.h"
#include "domain/maintain.h" /* issue 19: scale */
#include "proc/worker.h"
#include "prov/params.h"

/*
 * Before anything holds a secret: no core file and no ptrace by our own
 * user (a core of a worker has the master key and provider keys in it),
 * and the master key out of the environment, where /proc/PID/environ and
 * every child would show it.  Forked workers inherit all of it.
 */
static void
harden(void)
{
	struct rlimit none = {0, 0};
	int rc = setrlimit(RLIMIT_CORE, &none);

#ifndef __SANITIZE_ADDRESS__
	/* LeakSanitizer stops the world with ptrace: not in a -fsanitize build. */
	if (rc == 0)
		rc = prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
	if (rc == -1)
		fprintf(stderr, "tollgate: hardening: %s\n", strerror(errno));
	upstream_master_env_take();
}

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: tollgate [-c FILE] [-t] [COMMAND]\n"
	    "\n"
	    "commands:\n"
	    "  serve     serve FastCGI (default): standalone pool, spawned by\n"
	    "            the web server (fd 0 is a socket), or one CGI "
	    "request\n"
	    "  migrate   apply pending schema migrations\n"
	    "  admin create-user --email E [--password-stdin] [--admin]\n"
	    "            [--credits USD]   create a user, print its API key\n"
	    "  admin reset-password EMAIL  new password on stdin; ends the\n"
	    "            user's sessions\n"
	    "  audit verify      check the audit log's hash chain\n"
	    "  provider add ID KIND BASE_URL [NAME] | list |\n"
	    "           key-add PROVIDER_ID [LABEL] (key on stdin) |\n"
	    "           key-list PROVIDER_ID | key-disable KEY_ID\n"
	    "  model add MODEL_ID PROVIDER_ID UPSTREAM_MODEL INPUT OUTPUT\n"
	    "           [CACHED] [CONTEXT]   prices in USD per million tokens\n"
	    "  sweep     settle credit holds whose time ran out\n"
	    "  maintain [--as-of=YYYY-MM-DD]  fold usage into the daily "
	    "rollup; make\n"
	    "            partitions ahead; retire old months ([maintain])\n"
	    "  ledger check [--grace S]  prove the books (exit 0 ok, 1 a "
	    "discrepancy, 2 error)\n"
	    "  genkey    print a new master key for [security] "
	    "master_key_file\n"
	    "  status [--json]  the running master: workers, slots busy, "
	    "requests\n"
	    "            served, uptime (exit 0 running, 3 not running)\n"
	    "  version   print the version\n"
	    "\n"
	    "options:\n"
	    "  -c FILE   configuration file (default: $TOLLGATE_CONF or %s)\n"
	    "  -t        check the configuration and exit\n"
	    "  -h        this help\n",
	    conf_default_path());
}

static void
print_conf_error(void *arg, const char *file, unsigned line, const char *msg)
{
	if (line > 0)
		fprintf(stderr, "%s:%u: %s\n", file, line, msg);
	else
		fprintf(stderr, "%s: %s\n", file, msg);
}

/*
 * Refuse to serve a schema we do not understand; a database that is down now
 * may come up later, so that only warns (health reports it).
 */
static int
check_schema(const struct conf *c)
{
	struct db_pool *p;
	int64_t ver = 0;
	enum tg_err rc;

	if ((p = db_pool_new(c, 1)) == NULL)
		return -1;
	rc = db_schema_version(p, &ver);
	db_pool_free(p);
	if (rc == TG_ESCHEMA) {
		log_msg(LOG_ERR,
		    "the database schema is version %lld but this "
		    "tollgate needs version %d: run `tollgate -c %s migrate`",
		    (long long)ver, TG_SCHEMA_VERSION, c->path);
		return -1;
	}
	if (rc != TG_OK)
		log_msg(LOG_WARN,
		    "the database is unreachable; serving anyway, "
		    "/health reports 503 until it is back");
	return 0;
}

/*
 * The BPE ranks for estimates, loaded once before the workers fork (they
 * share the pages).  Without them an estimate is about 4 bytes a token, and
 * the log says so.  A reload (SIGHUP) keeps what was loaded at start.
 */
static void
load_tokenizers(const struct conf *c)
{
	char err[512];
	int n, e;

	if (c->tokenizer_dir == NULL) {
		log_msg(LOG_INFO,
		    "tokenizers: none configured; estimates by "
		    "bytes (about 4 a token)");
		return;
	}
	n = tok_init(c->tokenizer_dir, err, sizeof(err));
	if (n == TOK__MAX) {
		log_msg(LOG_INFO, "tokenizers: %s, %s from %s",
		    tok_enc_name(TOK_O200K), tok_enc_name(TOK_CL100K),
		    c->tokenizer_dir);
		return;
	}
	for (e = 0; e < TOK__MAX; e++)
		if (tok_get((enum tok_enc)e) != NULL)
			log_msg(LOG_INFO, "tokenizers: %s from %s",
			    tok_enc_name((enum tok_enc)e), c->tokenizer_dir);
	log_msg(LOG_WARN,
	    "tokenizers: %s; models without their encoding are estimated by "
	    "bytes (about 4 a token); run `make tokenizers` or set [billing] "
	    "tokenizer_dir",
	    err);
}

/*
 * issue 20: the journal outlives a crash of the machine only on a disk; NULL
 * when it is on one.
 */
static const char *
state_volatile(const struct conf *c, char *buf, size_t len)
{
	if (c->state_dir == NULL || !rundir_volatile(c->state_dir))
		return NULL;
	snprintf(buf, len,
	    "server.state_dir %s is in memory (tmpfs): a crash of the machine "
	    "loses the journal's lines not yet in the database, journal_sync "
	    "or not; set it to a directory on disk, such as /var/lib/tollgate",
	    c->state_dir);
	return buf;
}

/*
 * issue 19 (hosting): server.run_dir is made when its parent lets us (a
 * hosting customer's run_dir under $HOME, a fresh /run); when it cannot be
 * had, tollgate serves on with per-process counters and says so here, in
 * `-t` and in /health.
 */
static void
prepare_run_dir(const struct conf *c)
{
	char why[512];

	if (c->run_dir != NULL &&
	    rundir_make(c->run_dir, why, sizeof(why)) != 0)
		log_msg(LOG_ERR,
		    "server.run_dir: %s; rate limits count per process, no "
		    "journal and no credit leases: /health says degraded",
		    why);
	if (c->state_dir == NULL || c->run_dir == NULL ||
	    strcmp(c->state_dir, c->run_dir) == 0)
		;
	else if (rundir_make(c->state_dir, why, sizeof(why)) != 0)
		log_msg(LOG_ERR, "server.state_dir: %s; no journal", why);
	if (state_volatile(c, why, sizeof(why)) != NULL)
		log_msg(LOG_WARN, "%s", why);
}

/* issue 19 (hosting): -t reports a run_dir this user cannot have; 0 if fine. */
static int
test_run_dir(const struct conf *c, const char *path)
{
	const char *dirs[2] = {c->run_dir, c->state_dir};
	char why[512];
	int i, ret = 0;

	for (i = 0; i < 2; i++) {
		if (dirs[i] == NULL ||
		    (i == 1 && dirs[0] != NULL &&
			strcmp(dirs[0], dirs[1]) == 0))
			continue;
		switch (rundir_check(dirs[i], why, sizeof(why))) {
		case RUNDIR_OK:
			break;
		case RUNDIR_ABSENT:
			fprintf(stderr, "%s: server.%s: %s\n", path,
			    i == 0 ? "run_dir" : "state_dir", why);
			break;
		default:
			fprintf(stderr, "%s: server.%s: %s\n", path,
			    i == 0 ? "run_dir" : "state_dir", why);
			ret = -1;
		}
	}
	if (state_volatile(c, why, sizeof(why)) != NULL)
		fprintf(stderr, "%s: warning: %s\n", path, why);
	return ret;
}

static int
serve(struct conf *c)
{
	int spawned, cgi, rc;

	spawned = sock_is_listener(STDIN_FILENO);
	cgi = !spawned && !sock_is_socket(STDIN_FILENO) &&
	    getenv("REQUEST_METHOD") != NULL;
	if (!cgi && log_open(c->log_file, c->access_file, c->log_level) == -1) {
		fprintf(stderr, "tollgate: cannot open log %s: %s\n",
		    c->log_file, strerror(errno));
		return EXIT_FAILURE;
	}
	log_set_json(c->log_json); /* issue 19: obs */
	if (cgi) {
		/* CGI: stdout is the response, logs stay on stderr. */
		log_level_now = c->log_level;
		rc = worker_cgi(c);
		conf_free(c);
		return rc;
	}
	prepare_run_dir(c);
	if (db_library_init() == -1 || check_schema(c) == -1 ||
	    ctx_shm_check(c) == -1) {
		conf_free(c);
		return EXIT_FAILURE;
	}
	load_tokenizers(c);
	if (spawned) {
		log_msg(
		    LOG_INFO, "tollgate %s spawned on fd 0", PACKAGE_VERSION);
		rc = worker_run(c, STDIN_FILENO, 1, NULL);
		conf_free(c);
		return rc;
	}
	return master_run(c);
}

static int
cmd_migrate(const struct conf *c, int argc, char **argv)
{
	return migrate_run(c, stdout, catalog_seed) == 0 ? EXIT_SUCCESS
							 : EXIT_FAILURE;
}

/* issue 19: scale: the usage tables' upkeep (the daily rollup caught up). */
static int
cmd_maintain(const struct conf *c, int argc, char **argv)
{
	struct tm tm;
	time_t now = time(NULL);
	char *end;

	/*
	 * --as-of=YYYY-MM-DD: the policy applied as on that day (to see what
	 * a [maintain] setting will do, and for the tests).
	 */
	if (argc > 0) {
		memset(&tm, 0, sizeof(tm));
		if (strncmp(argv[0], "--as-of=", 8) != 0 ||
		    (end = strptime(argv[0] + 8, "%Y-%m-%d", &tm)) == NULL ||
		    *end != '\0') {
			fprintf(stderr,
			    "usage: tollgate maintain "
			    "[--as-of=YYYY-MM-DD]\n");
			return 2;
		}
		tm.tm_hour = 12;
		now = timegm(&tm);
	}
	return maintain_run(c, now, stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* clang-format off */
static const struct command {
	const char *name;
	int (*fn)(const struct conf *, int argc, char **argv);
	int takes_args;
	int needs_conf;
} commands[] = {
	{ "serve",    NULL,	    0, 1 },
	{ "migrate",  cmd_migrate,  0, 1 },
	{ "version",  NULL,	    0, 0 },
	{ "admin",    cli_admin,    1, 1 },
	{ "audit",    cli_audit,    1, 1 },
	{ "provider", cli_provider, 1, 1 },
	{ "model",    cli_model,    1, 1 },
	{ "sweep",    cli_sweep,    0, 1 },
	{ "ledger",   cli_ledger,   1, 1 },
	{ "genkey",   cli_genkey,   0, 0 },
	{ "maintain", cmd_maintain, 1, 1 }, /* issue 19: scale */
	/* issue 19: obs */
	{ "status",   cli_status,   1, 1 },
};
/* clang-format on */

/* The command named cmd, given nargs arguments; NULL (usage printed) if none. */
static const struct command *
find_command(const char *cmd, int nargs)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, cmd) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		fprintf(stderr, "tollgate: unknown command '%s'\n", cmd);
		usage(stderr);
		return NULL;
	}
	if (nargs > 0 && !commands[i].takes_args) {
		usage(stderr);
		return NULL;
	}
	return &commands[i];
}

int
main(int argc, char *argv[])
{
	const char *path = NULL, *cmd = "serve";
	const struct command *cm;
	struct conf *c;
	char **args;
	int ch, test = 0, rc, nargs;

	harden();
	store_init();
	conf_set_allow_parser(params_allow_parse);
	/* "+": options stop at the command, which has options of its own. */
	while ((ch = getopt(argc, argv, "+c:th")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv[optind++];
	args = argv + optind;
	nargs = argc - optind;
	if ((cm = find_command(cmd, nargs)) == NULL)
		return 2;
	if (strcmp(cmd, "version") == 0) {
		printf("tollgate %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	if (!cm->needs_conf)
		return cm->fn(NULL, nargs, args);
	if (path == NULL)
		path = conf_default_path();
	if ((c = conf_load(path, print_conf_error, NULL)) == NULL) {
		if (test)
			fprintf(stderr,
			    "tollgate: configuration file %s test "
			    "failed\n",
			    path);
		return EXIT_FAILURE;
	}
	if (test && test_run_dir(c, path) == -1) {
		fprintf(stderr, "tollgate: configuration file %s test failed\n",
		    path);
		conf_free(c);
		return EXIT_FAILURE;
	}
	if (test) {
		printf("tollgate: configuration file %s test is successful\n",
		    path);
		conf_free(c);
		return EXIT_SUCCESS;
	}
	/* Once, before any thread or handle exists (curl_global_init(3)). */
	if (http_global_init() == -1) {
		fprintf(stderr, "tollgate: curl_global_init failed\n");
		conf_free(c);
		return EXIT_FAILURE;
	}
	if (cm->fn != NULL) {
		rc = cm->fn(c, nargs, args);
		conf_free(c);
	} else
		rc = serve(c);
	http_global_end();
	return rc;
}
