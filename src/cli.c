/* cli.c: operator commands: admin create-user, audit verify */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "accounts.h"
#include "arena.h"
#include "audit.h"
#include "cli.h"
#include "conf.h"
#include "crypto.h"
#include "ctx.h"
#include "db.h"
#include "money.h"
#include "req.h"
#include "resp.h"

/* A request-shaped context for the domain functions, with no HTTP behind it. */
struct cli {
	struct tg_ctx ctx;
	struct tg_req req;
	struct db_conn *c;
};

static int
cli_open(struct cli *x, const struct conf *conf)
{
	enum tg_err rc;

	memset(x, 0, sizeof(*x));
	if (db_library_init() == -1)
		return -1;
	x->ctx.conf = conf;
	if ((x->ctx.db = db_pool_new(conf, 1)) == NULL)
		return -1;
	x->req.arena = arena_new(64 * 1024);
	x->req.ctx = &x->ctx;
	snprintf(x->req.request_id, sizeof(x->req.request_id), "cli");
	x->req.remote_addr = "local";
	if ((rc = db_get(x->ctx.db, &x->c)) != TG_OK) {
		fprintf(stderr, "tollgate: the database is %s\n",
		    rc == TG_ESCHEMA ? "not migrated: run tollgate migrate"
				     : "unreachable");
		return -1;
	}
	return 0;
}

static void
cli_close(struct cli *x)
{
	if (x->c != NULL)
		db_put(x->ctx.db, x->c);
	arena_free(x->req.arena);
	db_pool_free(x->ctx.db);
	db_library_end();
}

static int
create_user(const struct conf *conf, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"email", required_argument, NULL, 'e'},
	    {"password", required_argument, NULL, 'p'},
	    {"username", required_argument, NULL, 'u'},
	    {"admin", no_argument, NULL, 'a'},
	    {"credits", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	char secret[KEY_MAX_LEN], pw[24];
	struct new_user u;
	struct tg_resp resp;
	struct cli x;
	json_t *user, *key;
	const char *which = "email";
	int ch, rc = EXIT_FAILURE, generated = 0;
	enum tg_err e;

	memset(&u, 0, sizeof(u));
	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			u.email = optarg;
			break;
		case 'p':
			u.password = optarg;
			break;
		case 'u':
			u.username = optarg;
			break;
		case 'a':
			u.admin = 1;
			break;
		case 'c':
			if (money_parse(optarg, &u.credits) == -1 ||
			    u.credits < 0) {
				fprintf(stderr,
				    "tollgate: --credits takes a "
				    "USD amount such as 25.00\n");
				return 2;
			}
			break;
		default:
			return 2;
		}
	}
	if (u.email == NULL) {
		fprintf(stderr,
		    "usage: tollgate admin create-user --email E "
		    "[--password P] [--username U] [--admin] "
		    "[--credits USD]\n");
		return 2;
	}
	if (u.password == NULL) {
		if (crypto_base62(pw, 20) == -1)
			return EXIT_FAILURE;
		u.password = pw;
		generated = 1;
	}
	if (cli_open(&x, conf) == -1)
		goto out;
	resp_init(&resp);
	if (account_check_new(&x.req, &resp, &u) != TG_OK) {
		fprintf(stderr, "tollgate: %s\n", resp.errmsg);
		goto out;
	}
	e = account_create(x.c, &x.req, &u, secret, &user, &key, &which);
	if (e == TG_ECONFLICT) {
		fprintf(stderr, "tollgate: an account with this %s exists\n",
		    which);
		goto out;
	}
	if (e != TG_OK) {
		fprintf(stderr, "tollgate: creating the user failed (%s)\n",
		    resp_err_code(e));
		goto out;
	}
	printf("%s\n", secret);
	fprintf(stderr, "created %s %s (%s)%s%s\n", u.admin ? "admin" : "user",
	    json_string_value(json_object_get(user, "id")), u.email,
	    generated ? "; password: " : "", generated ? pw : "");
	crypto_wipe(secret, sizeof(secret));
	rc = EXIT_SUCCESS;
out:
	crypto_wipe(pw, sizeof(pw));
	cli_close(&x);
	return rc;
}

int
cli_admin(const struct conf *conf, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "create-user") == 0)
		return create_user(conf, argc, argv);
	fprintf(stderr,
	    "usage: tollgate admin create-user --email E "
	    "[--password P] [--admin] [--credits USD]\n");
	return 2;
}

int
cli_audit(const struct conf *conf, int argc, char **argv)
{
	struct cli x;
	int rc;

	if (argc != 1 || strcmp(argv[0], "verify") != 0) {
		fprintf(stderr, "usage: tollgate audit verify\n");
		return 2;
	}
	if (cli_open(&x, conf) == -1) {
		cli_close(&x);
		return EXIT_FAILURE;
	}
	rc = audit_verify(x.c, stdout);
	cli_close(&x);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
