/* main.c: command line, config test, and the choice of process mode */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "conf.h"
#include "db.h"
#include "log.h"
#include "master.h"
#include "migrate.h"
#include "sock.h"
#include "worker.h"

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
	    "  admin create-user --email E [--password P] [--admin]\n"
	    "            [--credits USD]   create a user, print its API key\n"
	    "  audit verify      check the audit log's hash chain\n"
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
	if (cgi) {
		/* CGI: stdout is the response, logs stay on stderr. */
		log_level_now = c->log_level;
		rc = worker_cgi(c);
		conf_free(c);
		return rc;
	}
	if (db_library_init() == -1 || check_schema(c) == -1) {
		conf_free(c);
		return EXIT_FAILURE;
	}
	if (spawned) {
		log_msg(
		    LOG_INFO, "tollgate %s spawned on fd 0", PACKAGE_VERSION);
		rc = worker_run(c, STDIN_FILENO, 1, NULL);
		conf_free(c);
		return rc;
	}
	return master_run(c);
}

int
main(int argc, char *argv[])
{
	const char *path = NULL, *cmd = "serve";
	struct conf *c;
	char **args;
	int ch, test = 0, rc, nargs;

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
	if (nargs > 0 && strcmp(cmd, "admin") != 0 &&
	    strcmp(cmd, "audit") != 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "version") == 0) {
		printf("tollgate %s\n", PACKAGE_VERSION);
		return EXIT_SUCCESS;
	}
	if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 &&
	    strcmp(cmd, "admin") != 0 && strcmp(cmd, "audit") != 0) {
		fprintf(stderr, "tollgate: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
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
	if (test) {
		printf("tollgate: configuration file %s test is successful\n",
		    path);
		conf_free(c);
		return EXIT_SUCCESS;
	}
	/* Once, before any thread or handle exists (curl_global_init(3)). */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "tollgate: curl_global_init failed\n");
		conf_free(c);
		return EXIT_FAILURE;
	}
	if (strcmp(cmd, "migrate") == 0) {
		rc = migrate_run(c, stdout) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
		conf_free(c);
	} else if (strcmp(cmd, "admin") == 0) {
		rc = cli_admin(c, nargs, args);
		conf_free(c);
	} else if (strcmp(cmd, "audit") == 0) {
		rc = cli_audit(c, nargs, args);
		conf_free(c);
	} else
		rc = serve(c);
	curl_global_cleanup();
	return rc;
}
