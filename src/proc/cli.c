/* cli.c: operator commands: admin, audit, provider, model, sweep, ledger check, genkey */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/convlog.h"
#include "domain/accounts.h"
#include "core/arena.h"
#include "domain/audit.h"
#include "domain/catalog.h"
#include "store/q_catalog.h"
#include "domain/credit.h"
#include "domain/keys.h"
#include "proc/cli.h"
#include "proc/housekeep.h"
#include "core/conf.h"
#include "core/crypto.h"
#include "core/json.h"
#include "http/ctx.h"
#include "io/db.h"
#include "domain/ledger.h"
#include "domain/op.h"
#include "domain/openrouter.h"
#include "core/money.h"
#include "domain/upstream.h"
#include "http/resp.h"
#include "core/util.h"

/*
 * One command's operation for the domain services (op: no actor, address
 * "local"), its database connection, and the request-shaped context the
 * provider and catalog services still take.
 */
struct cli {
	struct tg_ctx ctx;
	struct arena *arena;
	struct op op;
	struct db_conn *c;
};

static int
cli_open(struct cli *x, const struct conf *conf)
{
	char err[256];
	enum tg_err rc;

	memset(x, 0, sizeof(*x));
	if (db_library_init() == -1)
		return -1;
	x->ctx.conf = conf;
	if ((x->ctx.db = db_pool_new(conf, 1)) == NULL)
		return -1;
	x->arena = arena_new(64 * 1024);
	/* The audit chain is keyed from the master key, when there is one. */
	if (upstream_master_load(conf, x->ctx.master, err, sizeof(err)) == 0) {
		audit_set_key(x->ctx.master);
		x->ctx.have_master = 1;
	}
	x->op = (struct op){
	    .arena = x->arena,
	    .conf = conf,
	    .addr = "local",
	    .request_id = "cli",
	    .master = x->ctx.have_master ? x->ctx.master : NULL,
	};
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
	arena_free(x->arena);
	db_pool_free(x->ctx.db);
	crypto_wipe(x->ctx.master, sizeof(x->ctx.master));
	db_library_end();
}

/* Read a secret from stdin (one line; never argv, which ps shows). */
static int
read_secret(char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, stdin) == NULL)
		return -1;
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

#define CREATE_USAGE                                                           \
	"usage: tollgate admin create-user --email E [--password-stdin] "      \
	"[--username U] [--admin] [--credits USD]\n"
#define IMPORT_USAGE                                                           \
	"       tollgate admin import-key --user EMAIL [--name NAME]  (the "   \
	"key on stdin: sk-or-v1-... or 32 hex)\n"
#define NO_ARGV_PASSWORD                                                       \
	"tollgate: passwords are not taken on the command line (ps shows "     \
	"them): use --password-stdin and send the password on stdin\n"

/*
 * create-user's options into u (the password from stdin into pw); 0, or the
 * exit status of a usage error.
 */
static int
create_args(int argc, char **argv, struct new_user *u, char *pw, size_t pwlen)
{
	static const struct option opts[] = {
	    {"email", required_argument, NULL, 'e'},
	    {"password", required_argument, NULL, 'p'},
	    {"password-stdin", no_argument, NULL, 's'},
	    {"username", required_argument, NULL, 'u'},
	    {"admin", no_argument, NULL, 'a'},
	    {"credits", required_argument, NULL, 'c'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
			u->email = optarg;
			break;
		case 'p':
			fputs(NO_ARGV_PASSWORD, stderr);
			return 2;
		case 's':
			if (read_secret(pw, pwlen) == -1) {
				fputs("tollgate: --password-stdin: no password "
				      "on stdin\n",
				    stderr);
				return 2;
			}
			u->password = pw;
			break;
		case 'u':
			u->username = optarg;
			break;
		case 'a':
			u->admin = 1;
			break;
		case 'c':
			if (money_parse(optarg, &u->credits) == -1 ||
			    u->credits < 0) {
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
	return 0;
}

static int
create_user(const struct conf *conf, int argc, char **argv)
{
	char secret[KEY_MAX_LEN], pw[256];
	struct new_user u;
	struct cli x;
	json_t *user, *key;
	const char *which = "email";
	int rc = EXIT_FAILURE, generated = 0;
	enum tg_err e;

	memset(&u, 0, sizeof(u));
	if ((rc = create_args(argc, argv, &u, pw, sizeof(pw))) != 0)
		return rc;
	rc = EXIT_FAILURE;
	if (u.email == NULL) {
		fputs(CREATE_USAGE, stderr);
		crypto_wipe(pw, sizeof(pw));
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
	if (account_check_new(&x.op, &u) != TG_OK) {
		fprintf(stderr, "tollgate: %s\n", x.op.fail.message);
		goto out;
	}
	e = account_create(x.c, &x.op, &u, secret, &user, &key, &which);
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

/* reset-password EMAIL: the new password from stdin; every session ends. */
static int
reset_password(const struct conf *conf, int argc, char **argv)
{
	char pw[256];
	struct cli x;
	int64_t uid;
	int rc = EXIT_FAILURE;
	enum tg_err e;

	if (argc != 2 || argv[1][0] == '-') {
		fputs("usage: tollgate admin reset-password EMAIL  (the new "
		      "password on stdin)\n",
		    stderr);
		return 2;
	}
	if (read_secret(pw, sizeof(pw)) == -1) {
		fputs("tollgate: no password on stdin\n", stderr);
		return 2;
	}
	if (cli_open(&x, conf) == -1)
		goto out;
	e = account_find(x.c, &x.op, NULL, argv[1], NULL, &uid);
	if (e == TG_OK)
		e = account_set_password(
		    x.c, &x.op, uid, pw, NULL, "user.password_reset");
	if (e == TG_ENOENT)
		fprintf(stderr, "tollgate: no user with this email\n");
	else if (e != TG_OK)
		fprintf(stderr, "tollgate: %s\n",
		    x.op.fail.message != NULL ? x.op.fail.message
					      : resp_err_code(e));
	else {
		fprintf(stderr,
		    "password of %s reset; every session of the user "
		    "ended (API keys unchanged)\n",
		    argv[1]);
		rc = EXIT_SUCCESS;
	}
out:
	crypto_wipe(pw, sizeof(pw));
	cli_close(&x);
	return rc;
}

static int import_key(const struct conf *, int, char **);

int
cli_admin(const struct conf *conf, int argc, char **argv)
{
	if (argc >= 1 && strcmp(argv[0], "create-user") == 0)
		return create_user(conf, argc, argv);
	/* issue 18: compat */
	if (argc >= 1 && strcmp(argv[0], "import-key") == 0)
		return import_key(conf, argc, argv);
	if (argc >= 1 && strcmp(argv[0], "reset-password") == 0)
		return reset_password(conf, argc, argv);
	fputs(CREATE_USAGE "       tollgate admin reset-password EMAIL  (the "
			   "new password on stdin)\n" IMPORT_USAGE,
	    stderr);
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

/* Print a JSON object as one line. */
static void
print_json(const json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);

	if (s != NULL)
		puts(s);
	free(s);
}

/*
 * issue 18: compat: admin import-key --user EMAIL [--name NAME]: another
 * gateway's key (stdin: ps shows argv) stored by hash for the user, so its
 * clients keep working unchanged.  gw_ keys and unknown formats are refused.
 */
static int
import_key(const struct conf *conf, int argc, char **argv)
{
	char key[256];
	const char *email = NULL, *name = NULL;
	struct cli x;
	json_t *out = NULL;
	int64_t uid;
	int i, rc = EXIT_FAILURE;
	enum tg_err e;

	for (i = 1; i + 1 < argc; i += 2)
		if (strcmp(argv[i], "--user") == 0)
			email = argv[i + 1];
		else if (strcmp(argv[i], "--name") == 0)
			name = argv[i + 1];
		else
			break;
	if (email == NULL || i != argc) {
		fputs(IMPORT_USAGE, stderr);
		return 2;
	}
	if (read_secret(key, sizeof(key)) == -1) {
		fputs("tollgate: no key on stdin\n", stderr);
		return 2;
	}
	if (cli_open(&x, conf) == -1)
		goto out;
	e = account_find(x.c, &x.op, NULL, email, NULL, &uid);
	if (e == TG_OK)
		e = key_import(x.c, &x.op, uid, key, name, &out);
	if (e == TG_ENOENT)
		fprintf(stderr, "tollgate: no user with this email\n");
	else if (e != TG_OK)
		fprintf(stderr, "tollgate: %s\n",
		    x.op.fail.message != NULL ? x.op.fail.message
					      : resp_err_code(e));
	else {
		print_json(out);
		rc = EXIT_SUCCESS;
	}
out:
	crypto_wipe(key, sizeof(key));
	cli_close(&x);
	return rc;
}

static int
fail(struct cli *x, enum tg_err rc, const char *why)
{
	fprintf(stderr, "tollgate: %s\n",
	    why != NULL		     ? why
		: rc == TG_ENOENT    ? "not found"
		: rc == TG_ECONFLICT ? "it exists already"
				     : resp_err_code(rc));
	cli_close(x);
	return EXIT_FAILURE;
}

static int
price_arg(const char *s, int64_t *out)
{
	json_t *v = json_string(s);
	int rc = upstream_price_parse(v, out);

	json_decref(v);
	return rc;
}

/* key-add's optional label and --rpm/--rpd/--min-interval-ms; 0 or -1. */
static int
key_limits(int argc, char **argv, const char **label, struct pool_key *lim)
{
	uint64_t n;
	int i;

	for (i = 2; i < argc; i++) {
		if (argv[i][0] != '-') {
			if (*label != NULL)
				return -1;
			*label = argv[i];
			continue;
		}
		if (i + 1 == argc ||
		    util_parse_u64(argv[i + 1], 0, 100000000, &n) == -1)
			return -1;
		if (strcmp(argv[i], "--rpm") == 0)
			lim->rpm = (int64_t)n;
		else if (strcmp(argv[i], "--rpd") == 0)
			lim->rpd = (int64_t)n;
		else if (strcmp(argv[i], "--min-interval-ms") == 0)
			lim->min_interval_ms = (int64_t)n;
		else
			return -1;
		i++;
	}
	return 0;
}

/* Whether argv is one of the provider commands; else the usage (2). */
static int
provider_usage(int argc, const char *sub)
{
	if ((strcmp(sub, "add") == 0 && (argc == 4 || argc == 5)) ||
	    (strcmp(sub, "list") == 0 && argc == 1) ||
	    (strcmp(sub, "key-add") == 0 && argc >= 2) ||
	    (strcmp(sub, "key-list") == 0 && argc == 2) ||
	    (strcmp(sub, "key-disable") == 0 && argc == 2) ||
	    (strcmp(sub, "reseal") == 0 && argc == 1))
		return 0;
	fprintf(stderr,
	    "usage: tollgate provider add ID KIND BASE_URL [NAME]\n"
	    "       tollgate provider list\n"
	    "       tollgate provider key-add PROVIDER_ID [LABEL] "
	    "[--rpm N] "
	    "[--rpd N] [--min-interval-ms N]  (the key on stdin)\n"
	    "       tollgate provider import-keys PROVIDER_ID  (keys on "
	    "stdin, one a line, or in OPENROUTER_API_KEYS=k1,k2)\n"
	    "       tollgate provider key-list PROVIDER_ID\n"
	    "       tollgate provider key-disable KEY_ID\n"
	    "       tollgate provider reseal  (seal version 1 keys "
	    "to their provider's endpoint)\n");
	return 2;
}

/*
 * key-add and reseal, which need the master key: the exit status when done
 * (reseal, or a failure), or -1 with *rc and *o for key-add's result.
 */
static int
provider_sealed(struct cli *x, const struct conf *conf, char **argv,
    const char *label, const struct pool_key *lim, enum tg_err *rc, json_t **o,
    const char **why)
{
	char secret[UPSTREAM_SECRET_MAX + 2], err[256] = "";
	unsigned char master[CRYPTO_MASTER_LEN];
	int64_t n;

	if (upstream_master_load(conf, master, err, sizeof(err)) != 0) {
		fprintf(stderr, "tollgate: %s\n",
		    err[0] != '\0' ? err
				   : "no master key: set [security] "
				     "master_key_file or "
				     "TOLLGATE_MASTER_KEY");
		cli_close(x);
		return EXIT_FAILURE;
	}
	if (strcmp(argv[0], "reseal") == 0) {
		*rc = upstream_reseal_v1(x->c, &x->op, master, &n);
		crypto_wipe(master, sizeof(master));
		if (*rc != TG_OK)
			return fail(x, *rc, x->op.fail.message);
		printf("resealed %lld key(s)\n", (long long)n);
		cli_close(x);
		return EXIT_SUCCESS;
	}
	if (read_secret(secret, sizeof(secret)) == -1) {
		crypto_wipe(master, sizeof(master));
		return fail(
		    x, TG_EINVAL, "give the provider key on stdin, one line");
	}
	*rc = upstream_key_add(
	    x->c, &x->op, master, argv[1], secret, label, lim, o);
	*why = x->op.fail.message;
	crypto_wipe(secret, sizeof(secret));
	crypto_wipe(master, sizeof(master));
	return -1;
}

/* --- issue 18: openrouter: provider import-keys ---------------------------------------- */

#define IMPORT_MAX 1000 /* keys one import reads */

/* One key of the input, trimmed, copied into keys (blank and # lines skipped). */
static int
import_take(char *s, char **keys, size_t *n)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strcspn(s, "\r\n");
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || *s == '#')
		return 0;
	if (*n == IMPORT_MAX || len > UPSTREAM_SECRET_MAX)
		return -1;
	if ((keys[*n] = strndup(s, len)) == NULL)
		return -1;
	(*n)++;
	return 0;
}

/*
 * The keys to import: OPENROUTER_API_KEYS=k1,k2 (seed 004's variable) when
 * set, else stdin, one a line.  0, or -1 when one is too long or there are
 * more than IMPORT_MAX.
 */
static int
import_read(char **keys, size_t *n)
{
	const char *env = getenv("OPENROUTER_API_KEYS");
	char line[UPSTREAM_SECRET_MAX + 2], *copy, *tok, *save = NULL;
	int rc = 0;

	*n = 0;
	if (env != NULL) {
		if ((copy = strdup(env)) == NULL)
			return -1;
		for (tok = strtok_r(copy, ",", &save); tok != NULL && rc == 0;
		     tok = strtok_r(NULL, ",", &save))
			rc = import_take(tok, keys, n);
		crypto_wipe(copy, strlen(env));
		free(copy);
		return rc;
	}
	while (rc == 0 && fgets(line, sizeof(line), stdin) != NULL)
		rc = strchr(line, '\n') == NULL && !feof(stdin)
		    ? -1 /* longer than any key */
		    : import_take(line, keys, n);
	crypto_wipe(line, sizeof(line));
	return rc;
}

/*
 * tollgate provider import-keys PROVIDER_ID: many keys at once, each with
 * [upstream] default_key_limits, the ones already in the pool skipped;
 * prints how many, never a key.
 */
static int
provider_import(const struct conf *conf, const char *provider)
{
	const struct conf_key_limits *d = &conf->ukey_default_limits;
	struct pool_key lim = {0, d->rpm, d->rpd, d->min_interval_ms};
	char *keys[IMPORT_MAX];
	struct or_import got;
	struct cli x;
	size_t n = 0, i;
	enum tg_err rc;
	int status = EXIT_FAILURE;

	if (import_read(keys, &n) == -1) {
		fprintf(stderr,
		    "tollgate: at most %d keys of at most %d "
		    "characters, one a line or comma-separated\n",
		    IMPORT_MAX, UPSTREAM_SECRET_MAX);
		goto out;
	}
	if (cli_open(&x, conf) == -1) {
		cli_close(&x);
		goto out;
	}
	if (!x.ctx.have_master) {
		status = fail(&x, TG_EUNAVAIL,
		    "no master key: set [security] master_key_file or "
		    "TOLLGATE_MASTER_KEY");
		goto out;
	}
	rc = or_keys_import(
	    x.c, &x.op, x.ctx.master, provider, keys, n, &lim, &got);
	if (rc == TG_OK || got.added > 0)
		printf("%lld added, %lld skipped (already in the pool or given "
		       "twice)\n",
		    (long long)got.added, (long long)got.skipped);
	if (rc != TG_OK) {
		status = fail(&x, rc, x.op.fail.message);
		goto out;
	}
	cli_close(&x);
	status = EXIT_SUCCESS;
out:
	for (i = 0; i < n; i++) {
		crypto_wipe(keys[i], strlen(keys[i]));
		free(keys[i]);
	}
	return status;
}

int
cli_provider(const struct conf *conf, int argc, char **argv)
{
	const char *why = NULL, *sub = argc > 0 ? argv[0] : "";
	struct pool_key lim = {0, -1, -1, 0};
	const char *label = NULL;
	struct cli x;
	json_t *o, *e;
	size_t i;
	enum tg_err rc;
	int done;

	if (strcmp(sub, "import-keys") == 0 && argc == 2)
		return provider_import(conf, argv[1]); /* issue 18 */
	if (strcmp(sub, "key-add") == 0 &&
	    key_limits(argc, argv, &label, &lim) == -1)
		argc = 0; /* usage */
	if (provider_usage(argc, sub) != 0)
		return 2;
	if (cli_open(&x, conf) == -1) {
		cli_close(&x);
		return EXIT_FAILURE;
	}
	if (strcmp(sub, "add") == 0) {
		rc = upstream_provider_add(x.c, &x.op, argv[1], argv[2],
		    argv[3], argc == 5 ? argv[4] : NULL, 1);
		why = x.op.fail.message;
		if (rc == TG_OK)
			rc = upstream_providers(x.c, x.arena, argv[1], &o);
	} else if (strcmp(sub, "list") == 0) {
		rc = upstream_providers(x.c, x.arena, NULL, &o);
	} else if (strcmp(sub, "key-add") == 0 || strcmp(sub, "reseal") == 0) {
		if ((done = provider_sealed(
			 &x, conf, argv, label, &lim, &rc, &o, &why)) != -1)
			return done;
	} else if (strcmp(sub, "key-list") == 0) {
		rc = upstream_keys(x.c, x.arena, argv[1], &o);
	} else {
		rc = upstream_key_remove(x.c, &x.op, NULL, argv[1], 0);
		why = x.op.fail.message;
		o = NULL;
		if (rc == TG_OK)
			printf("%s disabled\n", argv[1]);
	}
	if (rc != TG_OK)
		return fail(&x, rc, why);
	if (o != NULL && json_is_array(json_object_get(o, "data"))) {
		json_array_foreach(json_object_get(o, "data"), i, e)
			print_json(e);
	} else if (o != NULL) {
		print_json(o);
	}
	cli_close(&x);
	return EXIT_SUCCESS;
}

/*
 * tollgate model alias ALIAS MODEL_ID | unalias ALIAS | aliases: the other
 * names of catalogue models.
 */
static int
cli_alias(const struct conf *conf, int argc, char **argv)
{
	struct cli x;
	json_t *data = NULL, *e;
	size_t i;
	enum tg_err rc;

	if (!(strcmp(argv[0], "alias") == 0 && argc == 3) &&
	    !(strcmp(argv[0], "unalias") == 0 && argc == 2) &&
	    !(strcmp(argv[0], "aliases") == 0 && argc == 1)) {
		fprintf(stderr,
		    "usage: tollgate model alias ALIAS MODEL_ID | unalias "
		    "ALIAS | aliases\n");
		return 2;
	}
	if (cli_open(&x, conf) == -1) {
		cli_close(&x);
		return EXIT_FAILURE;
	}
	if (argc == 3)
		rc = catalog_alias_set(x.c, &x.op, argv[1], argv[2]);
	else if (argc == 2)
		rc = catalog_alias_remove(x.c, &x.op, argv[1]);
	else
		rc = catalog_aliases(x.c, x.arena, &data);
	if (rc != TG_OK)
		return fail(&x, rc, x.op.fail.message);
	json_array_foreach(data, i, e)
		printf("%s\t%s\n", jx_str(e, "alias"), jx_str(e, "model"));
	cli_close(&x);
	return EXIT_SUCCESS;
}

/* A parsed pricing document (pricing.json's shape) from f, as POST /admin/models/import. */
static int
import_json(struct cli *x, FILE *f, const char *path, size_t *added)
{
	json_error_t je;
	json_t *doc = json_loadf(f, 0, &je);
	int rc;

	if (doc == NULL) {
		fprintf(stderr, "tollgate: %s: line %d: %s\n", path, je.line,
		    je.text);
		return -1;
	}
	rc = catalog_seed_doc(x->c, &x->op, x->arena, doc,
	    "tollgate model import", stderr, added);
	json_decref(doc);
	return rc;
}

/*
 * issue 18: compat: model import FILE: a pricing document (JSON, as POST
 * /admin/models/import takes) or seed 000's pricing CSV (FILE ends in .csv).
 */
static int
model_import(const struct conf *conf, int argc, char **argv)
{
	size_t n, added = 0;
	struct cli x;
	FILE *f;
	int rc;

	if (argc != 2) {
		fputs("usage: tollgate model import FILE.json|FILE.csv\n",
		    stderr);
		return 2;
	}
	if ((f = fopen(argv[1], "r")) == NULL) {
		fprintf(stderr, "tollgate: %s: cannot open\n", argv[1]);
		return EXIT_FAILURE;
	}
	if (cli_open(&x, conf) == -1) {
		fclose(f);
		cli_close(&x);
		return EXIT_FAILURE;
	}
	n = strlen(argv[1]);
	rc = n > 4 && strcmp(argv[1] + n - 4, ".csv") == 0
	    ? catalog_import_csv(x.c, &x.op, f, stderr, &added)
	    : import_json(&x, f, argv[1], &added);
	fclose(f);
	cli_close(&x);
	if (rc == 0)
		printf("%zu models added\n", added);
	return rc == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int
cli_model(const struct conf *conf, int argc, char **argv)
{
	struct q_prices pr = {-1, -1, -1, -1};
	int64_t ctxlen = 128000;
	uint64_t n;
	const char *why = NULL;
	struct cli x;
	json_t *data;
	enum tg_err rc;

	/* issue 18: compat */
	if (argc >= 1 && strcmp(argv[0], "import") == 0)
		return model_import(conf, argc, argv);
	if (argc >= 1 && strcmp(argv[0], "add") != 0)
		return cli_alias(conf, argc, argv);
	if (argc < 6 || argc > 9 || price_arg(argv[4], &pr.input) == -1 ||
	    price_arg(argv[5], &pr.output) == -1 ||
	    (argc >= 7 && price_arg(argv[6], &pr.cached) == -1) ||
	    (argc >= 8 && util_parse_u64(argv[7], 1, 100000000, &n) == -1) ||
	    (argc == 9 && price_arg(argv[8], &pr.cache_write) == -1)) {
		fprintf(stderr,
		    "usage: tollgate model add MODEL_ID PROVIDER_ID "
		    "UPSTREAM_MODEL INPUT OUTPUT [CACHED] [CONTEXT] "
		    "[CACHE_WRITE]\n"
		    "  prices in USD per million tokens (2.50), at most 6 "
		    "decimals\n"
		    "       tollgate model alias ALIAS MODEL_ID | unalias "
		    "ALIAS | aliases\n");
		return 2;
	}
	if (argc >= 8)
		ctxlen = (int64_t)n;
	if (cli_open(&x, conf) == -1) {
		cli_close(&x);
		return EXIT_FAILURE;
	}
	rc = upstream_model_add(
	    x.c, &x.op, argv[1], NULL, argv[2], argv[3], &pr, ctxlen);
	why = x.op.fail.message;
	if (rc == TG_OK)
		rc = catalog_models(x.c, x.arena, argv[1], &data);
	if (rc != TG_OK)
		return fail(&x, rc, why);
	if (json_array_size(data) > 0)
		print_json(json_array_get(data, 0));
	cli_close(&x);
	return EXIT_SUCCESS;
}

/*
 * issue 18: convlog: conversations past [logging] retention_days, and those
 * of deleted accounts; said only when there were some.
 */
static enum tg_err
sweep_conversations(struct cli *x, const struct conf *conf)
{
	int64_t n = 0, total = 0;
	enum tg_err rc;

	do {
		rc = convlog_purge(
		    x->c, x->arena, conf->retention_days, 1000, &n);
		total += n;
		arena_reset(x->arena);
	} while (rc == TG_OK && n > 0);
	if (rc == TG_OK && total > 0)
		printf("purged %lld conversation(s)\n", (long long)total);
	return rc;
}

int
cli_sweep(const struct conf *conf, int argc, char **argv)
{
	struct cli x;
	const char *dirs[3];
	unsigned n = 0, total = 0;
	enum tg_err rc;

	if (argc != 0) {
		fprintf(stderr, "usage: tollgate sweep\n");
		return 2;
	}
	if (cli_open(&x, conf) == -1) {
		cli_close(&x);
		return EXIT_FAILURE;
	}
	do {
		housekeep_journal_dirs(conf, x.arena, dirs);
		rc = credit_sweep(x.c, x.arena,
		    conf->state_dir != NULL ? dirs : NULL, 500, &n);
		total += n;
		arena_reset(x.arena);
	} while (rc == TG_OK && n > 0);
	if (rc != TG_OK)
		return fail(&x, rc, NULL);
	printf("settled %u expired hold(s)\n", total);
	if ((rc = sweep_conversations(&x, conf)) != TG_OK)
		return fail(&x, rc, NULL);
	cli_close(&x);
	return EXIT_SUCCESS;
}

#define LEDGER_USAGE_MSG                                                       \
	"usage: tollgate ledger check [--grace SECONDS]\n"                     \
	"  exit 0: the books hold; 1: the first discrepancy is printed; "      \
	"2: an error\n"

/* A figure as the check prints it: nano-USD with USD beside, or seconds. */
static void
print_figure(const struct ledger_finding *f, const char *label, int64_t v)
{
	char usd[40];

	if (f->money) {
		money_format(v, usd, sizeof(usd));
		printf("  %s: %lld nano-USD ($%s)\n", label, (long long)v, usd);
	} else {
		printf("  %s: %lld\n", label, (long long)v);
	}
}

/*
 * tollgate ledger check: the books proved for every user (ledger_check);
 * for cron: exit 0 when they hold, 1 naming the first discrepancy, 2 when
 * the check cannot run (usage, the database).
 */
int
cli_ledger(const struct conf *conf, int argc, char **argv)
{
	struct ledger_finding f;
	struct cli x;
	unsigned grace = 0;
	char *end;
	enum tg_err rc;

	if (argc == 3 && strcmp(argv[1], "--grace") == 0) {
		unsigned long g = strtoul(argv[2], &end, 10);

		if (*argv[2] == '\0' || *end != '\0' || g > 86400) {
			fputs(LEDGER_USAGE_MSG, stderr);
			return 2;
		}
		grace = (unsigned)g;
	} else if (argc != 1) {
		fputs(LEDGER_USAGE_MSG, stderr);
		return 2;
	}
	if (strcmp(argv[0], "check") != 0) {
		fputs(LEDGER_USAGE_MSG, stderr);
		return 2;
	}
	/* Default grace: two sweeps and a minute past a hold's time. */
	if (argc == 1)
		grace = 2 * conf->sweep_interval + 60;
	if (cli_open(&x, conf) == -1) {
		cli_close(&x);
		return 2;
	}
	rc = ledger_check(x.c, x.arena, grace, &f);
	if (rc == TG_ECONFLICT) {
		printf("ledger check: user %s%s%s: %s\n", f.user,
		    f.detail[0] != '\0' ? " " : "", f.detail, f.what);
		print_figure(&f,
		    arena_printf(x.arena, "expected (%s)", f.expected_is),
		    f.expected);
		print_figure(&f,
		    arena_printf(x.arena, "found (%s)", f.found_is), f.found);
	} else if (rc == TG_OK) {
		printf("ledger check: the books hold for every user\n");
	} else {
		fprintf(
		    stderr, "tollgate: ledger check: %s\n", resp_err_code(rc));
	}
	cli_close(&x);
	return rc == TG_OK ? EXIT_SUCCESS : rc == TG_ECONFLICT ? 1 : 2;
}

int
cli_genkey(const struct conf *conf, int argc, char **argv)
{
	char hex[2 * CRYPTO_MASTER_LEN + 1];

	(void)conf;
	if (argc != 0) {
		fprintf(stderr, "usage: tollgate genkey\n");
		return 2;
	}
	if (crypto_master_new(hex) == -1)
		return EXIT_FAILURE;
	puts(hex);
	crypto_wipe(hex, sizeof(hex));
	return EXIT_SUCCESS;
}
