/* accounts.c: users and their accounts: registration, login, profile, credits, limits */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/accounts.h"
#include "core/arena.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/json.h"
#include "domain/keys.h"
#include "core/money.h"
#include "domain/limits.h"
#include "http/req.h"
#include "http/resp.h"
#include "domain/op.h"

/* The audit actor of r (until this file's services take a struct op). */
static const struct op *
audit_actor(const struct tg_req *r)
{
	struct op *op;

	if (r == NULL || (op = arena_alloc(r->arena, sizeof(*op))) == NULL)
		return NULL;
	req_op((struct tg_req *)r, op);
	return op;
}

#define PASSWORD_MIN	   10
#define PASSWORD_MAX	   128
#define SETTINGS_MAX_KEYS  32
#define SETTINGS_MAX_BYTES 8192
#define PHC_MAX		   160
#define REGISTER_WINDOW	   3600 /* seconds: [auth] register_per_hour */

/* Columns of STMT_USER_GET. */
enum {
	UC_ID,
	UC_PUB,
	UC_EMAIL,
	UC_USERNAME,
	UC_NAME,
	UC_ROLE,
	UC_STATUS,
	UC_GROUP,
	UC_COMMISSION,
	UC_SETTINGS,
	UC_CREATED
};

/* A short list of the passwords every cracker tries first. */
static const char *const common_passwords[] = {
    "1234567890",
    "12345678910",
    "0123456789",
    "qwertyuiop",
    "password1",
    "password12",
    "password123",
    "iloveyou12",
    "1q2w3e4r5t",
    "qwerty1234",
    "abcdefghij",
    "letmein123",
    "welcome123",
    "administrator",
    "passw0rd12",
    "changeme123",
    "trustno1234",
    "monkey1234",
    "dragon1234",
    "football12",
    "baseball12",
    "sunshine12",
    "princess12",
    "0987654321",
    "1111111111",
    "aaaaaaaaaa",
    "qwertyuiop1",
    "zaq12wsxcde",
    "asdfghjkl1",
    "superman12",
};

static const char *const limit_names[] = {
    "requests_per_minute",
    "requests_per_hour",
    "requests_per_day",
    "tokens_per_minute",
    "tokens_per_hour",
    "tokens_per_day",
    "max_concurrent",
};
#define NLIMITS (sizeof(limit_names) / sizeof(limit_names[0]))

static const char *
col(const struct db_val *v)
{
	return v->type == DBT_STR ? v->s : NULL;
}

static json_t *
opt(const struct db_val *v)
{
	return v->type == DBT_STR ? json_string(v->s) : json_null();
}

static struct db_val
opt_str(const char *s)
{
	return s != NULL && *s != '\0' ? DB_STR(s) : DB_NULLV;
}

static const char *
lower(struct tg_req *r, const char *s)
{
	char *e = arena_strdup(r->arena, s);
	size_t i;

	for (i = 0; e[i] != '\0'; i++)
		e[i] = (char)tolower((unsigned char)e[i]);
	return e;
}

static int
valid_email(const char *e)
{
	const char *at = strchr(e, '@');
	size_t i, n = strlen(e);

	if (n < 3 || n > 254 || at == NULL || at == e || strchr(at + 1, '@') ||
	    strchr(at + 1, '.') == NULL || at[1] == '.' || e[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)e[i] <= 0x20 || e[i] == 0x7f ||
		    strchr("<>()[]\\,;:\"", e[i]) != NULL)
			return 0;
	return 1;
}

static int
valid_username(const char *u)
{
	size_t i, n = strlen(u);

	if (n < 3 || n > 32)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)u[i]) &&
		    strchr("_.-", u[i]) == NULL)
			return 0;
	return 1;
}

/* NULL when acceptable, else why not. */
static const char *
password_problem(const char *pw, const char *email, const char *username)
{
	char local[256];
	size_t n = strlen(pw), i, ll;

	if (n < PASSWORD_MIN)
		return "the password must have at least 10 characters";
	if (n > PASSWORD_MAX)
		return "the password may have at most 128 characters";
	for (i = 1; i < n && pw[i] == pw[0]; i++)
		;
	if (i == n)
		return "the password may not be one character repeated";
	ll = strcspn(email, "@");
	if (ll >= sizeof(local))
		ll = sizeof(local) - 1;
	memcpy(local, email, ll);
	local[ll] = '\0';
	if (ll >= 3 && strcasestr(pw, local) != NULL)
		return "the password may not contain your email address";
	if (username != NULL && strlen(username) >= 3 &&
	    strcasestr(pw, username) != NULL)
		return "the password may not contain your username";
	for (i = 0; i < sizeof(common_passwords) / sizeof(common_passwords[0]);
	     i++)
		if (strcasecmp(pw, common_passwords[i]) == 0)
			return "this password is among the most common ones; "
			       "choose another";
	return NULL;
}

enum tg_err
account_check_new(struct tg_req *r, struct tg_resp *resp, struct new_user *u)
{
	const char *why, *e;

	u->email = e = lower(r, u->email);
	if (!valid_email(e))
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_email",
		    "email", "the email address is not valid");
	if (u->username != NULL && !valid_username(u->username))
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_username",
		    "username",
		    "a username has 3 to 32 letters, digits, '_', "
		    "'.' or '-'");
	if (u->name != NULL && strlen(u->name) > 128)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "name", "name may be at most 128 bytes");
	if ((why = password_problem(u->password, e, u->username)) != NULL)
		return resp_fail_code(
		    r, resp, TG_EINVAL, "weak_password", "password", "%s", why);
	return TG_OK;
}

enum tg_err
account_user(struct db_conn *c, struct tg_req *r, int64_t user_id, int full,
    json_t **out)
{
	struct db_val p = DB_I64(user_id);
	struct db_rows rows;
	const struct db_val *v;
	json_t *u;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_USER_GET, &p, 1, &rows, r->arena)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	v = rows.v;
	u = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o}", "id",
	    col(&v[UC_PUB]), "email", col(&v[UC_EMAIL]), "username",
	    opt(&v[UC_USERNAME]), "name", opt(&v[UC_NAME]), "role",
	    col(&v[UC_ROLE]), "status", col(&v[UC_STATUS]), "group",
	    col(&v[UC_GROUP]), "created_at", opt(&v[UC_CREATED]));
	if (full) {
		json_object_set_new(
		    u, "settings", json_loads(col(&v[UC_SETTINGS]), 0, NULL));
		json_object_set_new(u, "commission_percent",
		    v[UC_COMMISSION].type == DBT_I64
			? json_real((double)v[UC_COMMISSION].i / 100.0)
			: json_null());
	}
	arena_defer_json(r->arena, u);
	*out = u;
	return TG_OK;
}

enum tg_err
account_find(struct db_conn *c, struct tg_req *r, const char *pub,
    const char *email, const char *api_key, int64_t *user_id)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct db_val p[2];
	struct db_rows rows;
	enum stmt s;
	size_t idcol = 0;
	enum tg_err rc;

	if (pub != NULL) {
		s = STMT_USER_GET_PUBLIC;
		p[0] = DB_STR(pub);
	} else if (email != NULL) {
		s = STMT_USER_GET_EMAIL;
		p[0] = DB_STR(email);
	} else {
		if (crypto_key_check(api_key) < 0)
			return TG_ENOENT;
		crypto_secret_hash(api_key, hash);
		s = STMT_KEY_AUTH;
		p[0] = (struct db_val){.type = DBT_STR,
		    .s = (const char *)hash,
		    .len = sizeof(hash)};
		p[1] = p[0];
		idcol = 2; /* KA_USER */
	}
	rc = db_exec(c, s, p, s == STMT_KEY_AUTH ? 2 : 1, &rows, r->arena);
	if (rc != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*user_id = rows.v[idcol].i;
	return TG_OK;
}

enum tg_err
account_balance(struct db_conn *c, struct tg_req *r, int64_t user_id,
    int64_t *balance, int64_t *reserved, int64_t *overdraft)
{
	struct db_val p = DB_I64(user_id);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_ACCOUNT_GET, &p, 1, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	*balance = rows.v[0].i;
	if (reserved != NULL)
		*reserved = rows.v[1].i;
	if (overdraft != NULL)
		*overdraft = rows.v[2].i;
	return TG_OK;
}

/* Ledger entry and balance change; in the caller's transaction. */
static enum tg_err
credit(struct db_conn *c, struct tg_req *r, int64_t user_id, int64_t amount,
    const char *kind, const char *note, int64_t *entry_id)
{
	struct db_val p[6];
	struct db_rows rows;
	char dedupe[48];
	enum tg_err rc;

	p[0] = DB_I64(amount);
	p[1] = DB_I64(user_id);
	p[2] = DB_I64(amount);
	if ((rc = db_exec(c, STMT_ACCOUNT_ADD, p, 3, &rows, r->arena)) != TG_OK)
		return rc;
	if (rows.affected != 1)
		return TG_ECONFLICT;
	memcpy(dedupe, "credit:", 7);
	if (crypto_base62(dedupe + 7, 32) == -1)
		return TG_ESYSTEM;
	p[0] = DB_I64(user_id);
	p[1] = DB_STR(kind);
	p[2] = DB_I64(amount);
	p[3] = DB_STR(dedupe);
	p[4] = opt_str(note);
	p[5] = r->who != NULL ? DB_I64(r->who->user_id) : DB_NULLV;
	if ((rc = db_exec(c, STMT_LEDGER_INSERT, p, 6, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	if (entry_id != NULL)
		*entry_id = (int64_t)rows.insert_id;
	return TG_OK;
}

static enum tg_err
audit_credits(struct db_conn *c, struct tg_req *r, const char *user_pub,
    int64_t before, int64_t amount, const char *note)
{
	json_t *b, *a;

	b = json_pack("{s:o}", "balance", money_json(before));
	a = json_pack("{s:o, s:o, s:o}", "balance", money_json(before + amount),
	    "amount", money_json(amount), "note",
	    note != NULL ? json_string(note) : json_null());
	arena_defer_json(r->arena, b);
	arena_defer_json(r->arena, a);
	return audit_append(c, r->arena, audit_actor(r), "credits.add", "user", user_pub, b, a);
}

enum tg_err
account_create(struct db_conn *c, struct tg_req *r, const struct new_user *u,
    char secret[KEY_MAX_LEN], json_t **user, json_t **key, const char **which)
{
	unsigned char ih[CRYPTO_SHA256_LEN];
	char pub[32], phc[PHC_MAX];
	struct db_val p[6];
	struct db_rows rows;
	struct key_spec ks;
	int64_t uid;
	enum tg_err rc;

	/* The slow hash runs before the transaction, not inside it. */
	if (crypto_password_hash(u->password, phc, sizeof(phc)) == -1 ||
	    crypto_public_id("usr_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	p[0] = DB_STR(pub);
	p[1] = DB_STR(u->email);
	p[2] = opt_str(u->username);
	p[3] = opt_str(u->name);
	p[4] = DB_STR(phc);
	p[5] = DB_STR(u->admin ? "admin" : "user");
	if ((rc = db_exec(c, STMT_USER_INSERT, p, 6, &rows, r->arena)) !=
	    TG_OK) {
		if (rc == TG_ECONFLICT)
			*which =
			    strstr(db_error(c), "uq_users_username") != NULL
			    ? "username"
			    : "email";
		goto fail;
	}
	uid = (int64_t)rows.insert_id;
	p[0] = DB_I64(uid);
	if ((rc = db_exec(c, STMT_ACCOUNT_INSERT, p, 1, NULL, r->arena)) !=
	    TG_OK)
		goto fail;
	if (u->invite_code != NULL) {
		crypto_secret_hash(u->invite_code, ih);
		p[1] = (struct db_val){
		    .type = DBT_STR, .s = (const char *)ih, .len = sizeof(ih)};
		if ((rc = db_exec(c, STMT_INVITE_USE, p, 2, &rows, r->arena)) !=
		    TG_OK)
			goto fail;
		if (rows.affected != 1) {
			rc = TG_EPERM;
			goto fail;
		}
	}
	if (u->credits != 0 &&
	    ((rc = credit(c, r, uid, u->credits, "topup", "initial credits",
		  NULL)) != TG_OK ||
		(rc = audit_credits(
		     c, r, pub, 0, u->credits, "initial credits")) != TG_OK))
		goto fail;
	key_spec_init(&ks);
	ks.name = "primary";
	ks.primary = 1;
	/* The registration key manages the others, as a session does. */
	ks.perms = u->admin ? "read,write,admin,keys" : "read,write,keys";
	if ((rc = key_create(c, r, uid, &ks, secret, key)) != TG_OK)
		goto fail;
	if ((rc = account_user(c, r, uid, 0, user)) != TG_OK)
		goto fail;
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "user.register", "user", pub,
		 NULL, *user)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	crypto_wipe(phc, sizeof(phc));
	return rc;
}

enum tg_err
account_add_credits(struct db_conn *c, struct tg_req *r, int64_t user_id,
    int64_t amount, const char *note, int64_t *balance, int64_t *entry_id)
{
	int64_t before;
	json_t *u;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	if ((rc = account_balance(c, r, user_id, &before, NULL, NULL)) != TG_OK)
		goto fail;
	if ((rc = credit(c, r, user_id, amount,
		 amount >= 0 ? "topup" : "adjust", note, entry_id)) != TG_OK)
		goto fail;
	if ((rc = account_balance(c, r, user_id, balance, NULL, NULL)) != TG_OK)
		goto fail;
	if ((rc = account_user(c, r, user_id, 0, &u)) != TG_OK)
		goto fail;
	if ((rc = audit_credits(c, r,
		 json_string_value(json_object_get(u, "id")), before, amount,
		 note)) != TG_OK)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return rc;
}

/* Failures of one subject within window seconds; *retry: when it ends. */
static enum tg_err
failures(struct db_conn *c, struct tg_req *r, const char *subject,
    unsigned window, int64_t *count, int64_t *retry)
{
	struct db_val p[3];
	struct db_rows rows;
	enum tg_err rc;

	p[0] = DB_I64(window);
	p[1] = DB_STR(subject);
	p[2] = DB_I64(window);
	if ((rc = db_exec(c, STMT_AUTHFAIL_GET, p, 3, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	*count = rows.nrows == 1 ? rows.v[0].i : 0;
	*retry = rows.nrows == 1 ? rows.v[1].i : 0;
	return TG_OK;
}

static void
fail_hit(
    struct db_conn *c, struct tg_req *r, const char *subject, unsigned window)
{
	struct db_val p[2] = {DB_STR(subject), DB_I64(window)};

	(void)db_exec(c, STMT_AUTHFAIL_HIT, p, 2, NULL, r->arena);
}

/*
 * The client's address as a throttling subject: IPv4 as it is, IPv6 by its
 * /64 (one host can use every address of its /64, so one address is no
 * unit), IPv4-mapped IPv6 as IPv4.
 */
static const char *
addr_subject(struct tg_req *r, const char *kind)
{
	const char *a = r->remote_addr != NULL ? r->remote_addr : "-";
	unsigned char b[16];
	char out[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, a, b) == 1) {
		if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
		    inet_ntop(AF_INET, b + 12, out, sizeof(out)) != NULL)
			return arena_printf(r->arena, "%s:%s", kind, out);
		memset(b + 8, 0, 8);
		if (inet_ntop(AF_INET6, b, out, sizeof(out)) != NULL)
			return arena_printf(r->arena, "%s:%s/64", kind, out);
	}
	return arena_printf(r->arena, "%s:%.64s", kind, a);
}

/*
 * Password attempts are counted per (email, address) and per address, never
 * per email alone: failures from one address cannot lock the user out from
 * another.  TG_ERATE with *retry when either is over its limit.
 */
struct attempt {
	const char *pair, *addr;
};

static enum tg_err
attempt_open(struct db_conn *c, struct tg_req *r, const char *email,
    struct attempt *at, int64_t *retry)
{
	const struct conf *cf = r->ctx->conf;
	int64_t n1, n2, t1, t2;
	enum tg_err rc;

	at->addr = addr_subject(r, "ip");
	at->pair = arena_printf(r->arena, "pw:%.200s|%s", email, at->addr + 3);
	if ((rc = failures(c, r, at->pair, cf->login_window, &n1, &t1)) !=
		TG_OK ||
	    (rc = failures(c, r, at->addr, cf->login_window, &n2, &t2)) !=
		TG_OK)
		return rc;
	/* Over either limit: wait for the later of the windows that are. */
	*retry = 0;
	if (n1 >= cf->login_max_failures)
		*retry = t1;
	if (n2 >= cf->login_max_failures_per_address && t2 > *retry)
		*retry = t2;
	return *retry > 0 ? TG_ERATE : TG_OK;
}

static void
attempt_close(
    struct db_conn *c, struct tg_req *r, const struct attempt *at, int ok)
{
	struct db_val p;

	if (ok) {
		p = DB_STR(at->pair);
		(void)db_exec(c, STMT_AUTHFAIL_CLEAR, &p, 1, NULL, r->arena);
		return;
	}
	fail_hit(c, r, at->pair, r->ctx->conf->login_window);
	fail_hit(c, r, at->addr, r->ctx->conf->login_window);
}

enum tg_err
account_register_allowed(struct db_conn *c, struct tg_req *r, int64_t *retry)
{
	unsigned max = r->ctx->conf->register_per_hour;
	int64_t n;
	enum tg_err rc;

	if (max == 0)
		return TG_OK;
	if ((rc = failures(c, r, addr_subject(r, "reg"), REGISTER_WINDOW, &n,
		 retry)) != TG_OK)
		return rc;
	return n >= max ? TG_ERATE : TG_OK;
}

void
account_register_count(struct db_conn *c, struct tg_req *r)
{
	if (r->ctx->conf->register_per_hour > 0)
		fail_hit(c, r, addr_subject(r, "reg"), REGISTER_WINDOW);
}

enum tg_err
account_login(struct db_conn *c, struct tg_req *r, const char *email,
    const char *password, char token[KEY_MAX_LEN], json_t **user,
    json_t **expires, int64_t *retry_after)
{
	/* Verified against when the email is unknown, so both paths cost alike. */
	static const char dummy[] =
	    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
	    "d2hhdGV2ZXJ3aGF0ZXZlcndoYXRldmVyd2hhdGV2ZXI";
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct attempt at;
	struct db_val p[4];
	struct db_rows rows;
	int64_t uid = 0;
	int ok;
	enum tg_err rc;

	/* Emails are stored lower-cased; match them the same way. */
	email = lower(r, email);
	if ((rc = attempt_open(c, r, email, &at, retry_after)) != TG_OK)
		return rc;
	p[0] = DB_STR(email);
	if ((rc = db_exec(c, STMT_USER_LOGIN, p, 1, &rows, r->arena)) != TG_OK)
		return rc;
	ok = crypto_password_verify(
	    rows.nrows == 1 ? col(&rows.v[2]) : dummy, password);
	if (rows.nrows != 1 || !ok || strcmp(col(&rows.v[3]), "deleted") == 0) {
		attempt_close(c, r, &at, 0);
		return TG_EAUTH;
	}
	uid = rows.v[0].i;
	if (strcmp(col(&rows.v[3]), "active") != 0)
		return TG_EPERM;
	attempt_close(c, r, &at, 1);
	if (crypto_token_new(token) == -1)
		return TG_ESYSTEM;
	crypto_secret_hash(token, hash);
	p[0] = (struct db_val){
	    .type = DBT_STR, .s = (const char *)hash, .len = sizeof(hash)};
	p[1] = DB_I64(uid);
	p[2] = opt_str(r->remote_addr);
	p[3] = DB_I64(r->ctx->conf->session_ttl);
	if ((rc = db_exec(c, STMT_SESSION_INSERT, p, 4, NULL, r->arena)) !=
	    TG_OK)
		return rc;
	if ((rc = db_exec(c, STMT_SESSION_EXPIRES, p, 1, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	*expires = rows.nrows == 1 ? opt(&rows.v[0]) : json_null();
	arena_defer_json(r->arena, *expires);
	return account_user(c, r, uid, 0, user);
}

enum tg_err
account_logout(struct db_conn *c, struct tg_req *r, const char *token)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct db_val p;

	crypto_secret_hash(token, hash);
	p = (struct db_val){
	    .type = DBT_STR, .s = (const char *)hash, .len = sizeof(hash)};
	return db_exec(c, STMT_SESSION_REVOKE, &p, 1, NULL, r->arena);
}

/* Record the 429 of a throttled password check. */
static enum tg_err
too_many(struct tg_req *r, struct tg_resp *resp, int64_t retry)
{
	resp_header(resp, "Retry-After",
	    arena_printf(r->arena, "%lld", (long long)retry));
	return resp_fail_code(r, resp, TG_ERATE, "too_many_attempts", NULL,
	    "too many wrong passwords; try again in %lld seconds",
	    (long long)retry);
}

/*
 * The user's password, throttled as logins are: TG_EAUTH when wrong (not
 * recorded: callers name their field), TG_ERATE recorded in resp.
 */
static enum tg_err
check_password(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const char *password)
{
	struct db_val p;
	struct db_rows lr;
	struct attempt at;
	const char *email;
	int64_t retry = 0;
	json_t *u;
	int ok;
	enum tg_err rc;

	if ((rc = account_user(c, r, user_id, 0, &u)) != TG_OK)
		return rc;
	email = json_string_value(json_object_get(u, "email"));
	if ((rc = attempt_open(c, r, email, &at, &retry)) == TG_ERATE)
		return too_many(r, resp, retry);
	if (rc != TG_OK)
		return rc;
	p = DB_STR(email);
	if ((rc = db_exec(c, STMT_USER_LOGIN, &p, 1, &lr, r->arena)) != TG_OK)
		return rc;
	ok = lr.nrows == 1 && crypto_password_verify(col(&lr.v[2]), password);
	attempt_close(c, r, &at, ok);
	return ok ? TG_OK : TG_EAUTH;
}

enum tg_err
account_set_password(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const char *pw, const char *keep_token, const char *action)
{
	unsigned char keep[CRYPTO_SHA256_LEN] = {0};
	char phc[PHC_MAX];
	struct db_val p[2];
	struct db_rows rows;
	const char *why;
	json_t *u;
	enum tg_err rc;

	if ((rc = account_user(c, r, user_id, 0, &u)) != TG_OK)
		return rc;
	/* The rules of registration, against this user's email and name. */
	if ((why = password_problem(pw,
		 json_string_value(json_object_get(u, "email")),
		 json_string_value(json_object_get(u, "username")))) != NULL)
		return resp_fail_code(r, resp, TG_EINVAL, "weak_password",
		    "new_password", "%s", why);
	if (crypto_password_hash(pw, phc, sizeof(phc)) == -1)
		return TG_ESYSTEM;
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	p[0] = DB_STR(phc);
	p[1] = DB_I64(user_id);
	if ((rc = db_exec(c, STMT_USER_SET_PASSWORD, p, 2, &rows, r->arena)) !=
	    TG_OK)
		goto fail;
	if (rows.affected != 1) {
		rc = TG_ENOENT;
		goto fail;
	}
	/* Whoever knew the old password is logged out (no hash matches 0s). */
	if (keep_token != NULL)
		crypto_secret_hash(keep_token, keep);
	p[0] = DB_I64(user_id);
	p[1] = (struct db_val){
	    .type = DBT_STR, .s = (const char *)keep, .len = sizeof(keep)};
	if ((rc = db_exec(
		 c, STMT_SESSION_REVOKE_OTHERS, p, 2, NULL, r->arena)) != TG_OK)
		goto fail;
	/* No before/after: neither the password nor its hash goes in. */
	if ((rc = audit_commit(c, r->arena, audit_actor(r), action, "user",
		 json_string_value(json_object_get(u, "id")), NULL, NULL)) !=
	    TG_OK)
		goto fail;
	crypto_wipe(phc, sizeof(phc));
	return TG_OK;
fail:
	db_rollback(c);
	crypto_wipe(phc, sizeof(phc));
	return rc;
}

enum tg_err
account_change_password(struct db_conn *c, struct tg_req *r,
    struct tg_resp *resp, int64_t user_id, const char *current, const char *pw,
    const char *keep_token)
{
	enum tg_err rc;

	if ((rc = check_password(c, r, resp, user_id, current)) == TG_EAUTH)
		return resp_fail_code(r, resp, rc, "invalid_credentials",
		    "current_password", "current_password is not correct");
	if (rc != TG_OK)
		return rc;
	return account_set_password(
	    c, r, resp, user_id, pw, keep_token, "user.password_change");
}

/* clang-format off */
static const struct jx_field profile_fields[] = {
	{ "name",		JX_STRING | JX_NULL,	0 },
	{ "email",		JX_STRING,		0 },
	{ "current_password",	JX_STRING,		0 },
	{ "settings",		JX_OBJECT,		0 },
	{ NULL,			0,			0 },
};
/* clang-format on */

enum tg_err
account_update_profile(struct db_conn *c, struct tg_req *r,
    struct tg_resp *resp, int64_t user_id, const json_t *b, json_t **out)
{
	const char *name, *email, *pw, *e;
	char *settings = NULL;
	json_t *before, *v, *full;
	struct db_val p[4];
	enum tg_err rc;

	if ((rc = resp_check(r, resp, b, profile_fields)) != TG_OK)
		return rc;
	if ((rc = account_user(c, r, user_id, 1, &before)) != TG_OK)
		return rc;
	name = json_string_value(json_object_get(before, "name"));
	if ((v = json_object_get(b, "name")) != NULL) {
		name = json_string_value(v);
		if (name != NULL && strlen(name) > 128)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "name",
			    "name may be at most 128 bytes");
	}
	email = json_string_value(json_object_get(before, "email"));
	if ((v = json_object_get(b, "email")) != NULL) {
		e = lower(r, json_string_value(v));
		if (!valid_email(e))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_email", "email",
			    "the email address is not valid");
		if (strcmp(e, email) != 0) {
			pw = json_string_value(
			    json_object_get(b, "current_password"));
			if (pw == NULL)
				return resp_fail_code(r, resp, TG_EPERM,
				    "password_required", "current_password",
				    "changing the email needs "
				    "current_password");
			if ((rc = check_password(c, r, resp, user_id, pw)) ==
			    TG_EAUTH)
				return resp_fail_code(r, resp, rc,
				    "invalid_credentials", "current_password",
				    "current_password is not correct");
			if (rc != TG_OK)
				return rc;
		}
		email = e;
	}
	if ((v = json_object_get(b, "settings")) != NULL) {
		settings = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		arena_defer_free(r->arena, settings);
		if (json_object_size(v) > SETTINGS_MAX_KEYS ||
		    settings == NULL || strlen(settings) > SETTINGS_MAX_BYTES)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "settings",
			    "settings may hold at most %d keys and %d bytes",
			    SETTINGS_MAX_KEYS, SETTINGS_MAX_BYTES);
	} else {
		settings = json_dumps(json_object_get(before, "settings"),
		    JSON_COMPACT | JSON_SORT_KEYS);
		arena_defer_free(r->arena, settings);
	}
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	p[0] = opt_str(name);
	p[1] = DB_STR(email);
	p[2] = DB_STR(settings != NULL ? settings : "{}");
	p[3] = DB_I64(user_id);
	if ((rc = db_exec(c, STMT_USER_UPDATE_PROFILE, p, 4, NULL, r->arena)) !=
	    TG_OK) {
		if (rc == TG_ECONFLICT)
			resp_fail_code(r, resp, rc, "email_taken", "email",
			    "another account uses this email address");
		goto fail;
	}
	if ((rc = account_user(c, r, user_id, 1, &full)) != TG_OK)
		goto fail;
	if ((rc = audit_append(c, r->arena, audit_actor(r), "user.update", "user",
		 r->who->user_pub, before, full)) != TG_OK)
		goto fail;
	*out = full;
	return db_commit(c);
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
account_delete(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const char *password)
{
	struct db_val p = DB_I64(user_id);
	json_t *before;
	enum tg_err rc;

	if ((rc = check_password(c, r, resp, user_id, password)) != TG_OK)
		return rc;
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	if ((rc = account_user(c, r, user_id, 0, &before)) != TG_OK)
		goto fail;
	if ((rc = db_exec(c, STMT_USER_DELETE, &p, 1, NULL, r->arena)) !=
		TG_OK ||
	    (rc = db_exec(c, STMT_KEY_REVOKE_ALL, &p, 1, NULL, r->arena)) !=
		TG_OK ||
	    (rc = db_exec(c, STMT_SESSION_REVOKE_ALL, &p, 1, NULL, r->arena)) !=
		TG_OK)
		goto fail;
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "user.delete", "user",
		 json_string_value(json_object_get(before, "id")), before,
		 NULL)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

static json_t *
limits_json(const struct db_val *v)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < NLIMITS; i++)
		json_object_set_new(o, limit_names[i],
		    v != NULL && v[i].type == DBT_I64 ? json_integer(v[i].i)
						      : json_null());
	return o;
}

enum tg_err
limits_get(struct db_conn *c, struct tg_req *r, int64_t user_id, int64_t key_id,
    const char *model, json_t **out)
{
	struct db_val p[3] = {DB_I64(user_id), DB_I64(key_id),
	    DB_STR(model != NULL ? model : "")};
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LIMIT_GET, p, 3, &rows, r->arena)) != TG_OK)
		return rc;
	*out = limits_json(rows.nrows == 1 ? rows.v : NULL);
	arena_defer_json(r->arena, *out);
	return TG_OK;
}

enum tg_err
limits_of_keys(
    struct db_conn *c, struct tg_req *r, int64_t user_id, json_t **out)
{
	struct db_val p = DB_I64(user_id);
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_LIMIT_LIST_KEYS, &p, 1, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	*out = json_array();
	arena_defer_json(r->arena, *out);
	for (i = 0; i < rows.nrows; i++)
		json_array_append_new(*out,
		    json_pack("{s:s, s:s?, s:o}", "key_id",
			col(&rows.v[i * rows.ncols]), "model",
			rows.v[i * rows.ncols + 1 + NLIMITS].len > 0
			    ? col(&rows.v[i * rows.ncols + 1 + NLIMITS])
			    : NULL,
			"rate_limits",
			limits_json(&rows.v[i * rows.ncols + 1])));
	return TG_OK;
}

enum tg_err
limits_set(struct db_conn *c, struct tg_req *r, int64_t user_id, int64_t key_id,
    const char *model, const char *target, const json_t *limits, json_t **out)
{
	struct db_val p[3 + NLIMITS];
	json_t *before, *v;
	size_t i;
	enum tg_err rc;

	if (model == NULL)
		model = "";
	p[0] = DB_I64(user_id);
	p[1] = DB_I64(key_id);
	p[2] = DB_STR(model);
	for (i = 0; i < NLIMITS; i++) {
		v = json_object_get(limits, limit_names[i]);
		p[3 + i] = json_is_integer(v) ? DB_I64(json_integer_value(v))
					      : DB_NULLV;
	}
	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	if ((rc = limits_get(c, r, user_id, key_id, model, &before)) != TG_OK)
		goto fail;
	if ((rc = db_exec(c, STMT_LIMIT_UPSERT, p, 3 + NLIMITS, NULL,
		 r->arena)) != TG_OK)
		goto fail;
	if ((rc = limits_get(c, r, user_id, key_id, model, out)) != TG_OK)
		goto fail;
	if (*model != '\0')
		target = arena_printf(r->arena, "%s %s", target, model);
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "limits.set",
		 key_id != 0 ? "api_key" : "user", target, before, *out)) !=
	    TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

const char *const *
accounts_limit_names(size_t *n)
{
	*n = NLIMITS;
	return limit_names;
}

enum tg_err
limits_in_force(struct db_conn *c, struct tg_req *r, int64_t user_id,
    int64_t key_id, const char *model, const char *group, struct rate_set *user,
    struct rate_set *key, struct rate_set *key_model, int *has_model)
{
	struct db_val p[3] = {DB_I64(user_id), DB_I64(key_id),
	    DB_STR(model != NULL ? model : "")};
	struct rate_set *dst;
	const struct db_val *v;
	struct db_rows rows;
	size_t i, j;
	enum tg_err rc;

	*user = *conf_group_limits(r->ctx->conf, group);
	rate_set_none(key);
	rate_set_none(key_model);
	*has_model = 0;
	if ((rc = db_exec(c, STMT_RATE_RULES, p, 3, &rows, r->arena)) != TG_OK)
		return rc;
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		if (v[0].i == 0) {
			dst = user;
		} else if (v[1 + RL__MAX].len == 0) {
			dst = key;
		} else {
			dst = key_model;
			*has_model = 1;
		}
		for (j = 0; j < RL__MAX; j++)
			dst->v[j] = v[1 + j].type == DBT_I64 ? v[1 + j].i : -1;
	}
	return TG_OK;
}
