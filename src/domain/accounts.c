/* accounts.c: users and their accounts: registration, login, profile, credits */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/json.h"
#include "core/money.h"
#include "io/db.h"
#include "store/q_conv.h"
#include "store/q_key.h"
#include "store/q_did.h"
#include "store/q_user.h"
#include "domain/accounts.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/convlog.h"
#include "domain/keys.h"
#include "domain/op.h"

#define PASSWORD_MIN	   10
#define PASSWORD_MAX	   128
#define SETTINGS_MAX_KEYS  32
#define SETTINGS_MAX_BYTES 8192
#define PHC_MAX		   160
#define REGISTER_WINDOW	   3600 /* seconds: [auth] register_per_hour */

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

static json_t *
opt(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static const char *
lower(struct op *op, const char *s)
{
	char *e = arena_strdup(op->arena, s);
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
account_check_new(struct op *op, struct new_user *u)
{
	const char *why, *e;

	u->email = e = lower(op, u->email);
	if (!valid_email(e))
		return op_fail(op, TG_EINVAL, "invalid_email", "email",
		    "the email address is not valid");
	if (u->username != NULL && !valid_username(u->username))
		return op_fail(op, TG_EINVAL, "invalid_username", "username",
		    "a username has 3 to 32 letters, digits, '_', "
		    "'.' or '-'");
	if (u->name != NULL && strlen(u->name) > 128)
		return op_fail(op, TG_EINVAL, "invalid_value", "name",
		    "name may be at most 128 bytes");
	if ((why = password_problem(u->password, e, u->username)) != NULL)
		return op_fail(
		    op, TG_EINVAL, "weak_password", "password", "%s", why);
	return TG_OK;
}

enum tg_err
account_user(
    struct db_conn *c, struct op *op, int64_t user_id, int full, json_t **out)
{
	struct user_row v;
	json_t *u;
	enum tg_err rc;

	if ((rc = q_user_get(c, op->arena, user_id, &v)) != TG_OK)
		return rc;
	u = json_pack("{s:s, s:s, s:o, s:o, s:s, s:s, s:s, s:o}", "id", v.pub,
	    "email", v.email, "username", opt(v.username), "name", opt(v.name),
	    "role", v.role, "status", v.status, "group", v.group, "created_at",
	    opt(v.created));
	if (full) {
		json_object_set_new(
		    u, "settings", json_loads(v.settings, 0, NULL));
		json_object_set_new(u, "conversation_log", /* issue 18 */
		    json_string(v.conv_log != NULL ? v.conv_log : "off"));
		json_object_set_new(u, "commission_percent",
		    v.has_commission
			? json_real((double)v.commission_bp / 100.0)
			: json_null());
	}
	arena_defer_json(op->arena, u);
	*out = u;
	return TG_OK;
}

enum tg_err
account_find(struct db_conn *c, struct op *op, const char *pub,
    const char *email, const char *api_key, int64_t *user_id)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct key_auth_row k;
	enum tg_err rc;

	if (pub != NULL)
		return q_user_id_by_public(c, op->arena, pub, user_id);
	/* Registration stores emails lower-cased: look them up the same way. */
	if (email != NULL)
		return q_user_id_by_email(
		    c, op->arena, lower(op, email), user_id);
	if (crypto_key_check(api_key) < 0)
		return TG_ENOENT;
	crypto_secret_hash(api_key, hash);
	if ((rc = q_key_auth(c, op->arena, hash, sizeof(hash), &k)) != TG_OK)
		return rc;
	*user_id = k.user_id;
	return TG_OK;
}

enum tg_err
account_balance(struct db_conn *c, struct op *op, int64_t user_id,
    int64_t *balance, int64_t *reserved, int64_t *overdraft)
{
	struct account_row a;
	enum tg_err rc;

	if ((rc = q_account_get(c, op->arena, user_id, &a)) != TG_OK)
		return rc;
	*balance = a.balance;
	if (reserved != NULL)
		*reserved = a.reserved;
	if (overdraft != NULL)
		*overdraft = a.overdraft;
	return TG_OK;
}

enum tg_err
account_group(
    struct db_conn *c, struct op *op, int64_t user_id, const char **group)
{
	return q_payer_group(c, op->arena, user_id, group);
}

/* Ledger entry and balance change; in the caller's transaction. */
static enum tg_err
credit(struct db_conn *c, struct op *op, int64_t user_id, int64_t amount,
    const char *kind, const char *note, int64_t *entry_id)
{
	char dedupe[48];
	enum tg_err rc;

	if ((rc = q_account_add(c, op->arena, user_id, amount)) != TG_OK)
		return rc;
	memcpy(dedupe, "credit:", 7);
	if (crypto_base62(dedupe + 7, 32) == -1)
		return TG_ESYSTEM;
	return q_ledger_credit(c, op->arena, user_id, kind, amount, dedupe,
	    note, op->who != NULL ? op->who->user_id : 0, entry_id);
}

static enum tg_err
audit_credits(struct db_conn *c, struct op *op, const char *user_pub,
    int64_t before, int64_t amount, const char *note)
{
	json_t *b, *a;

	b = json_pack("{s:o}", "balance", money_json(before));
	a = json_pack("{s:o, s:o, s:o}", "balance", money_json(before + amount),
	    "amount", money_json(amount), "note",
	    note != NULL ? json_string(note) : json_null());
	arena_defer_json(op->arena, b);
	arena_defer_json(op->arena, a);
	return audit_append(
	    c, op->arena, op, "credits.add", "user", user_pub, b, a);
}

/* The rows of a new user: user, account and the used invite. */
static enum tg_err
create_rows(struct db_conn *c, struct op *op, const struct new_user *u,
    const char *pub, const char *phc, int64_t *uid, const char **which)
{
	unsigned char ih[CRYPTO_SHA256_LEN];
	struct user_new_row row = {pub, u->email, u->username, u->name, phc,
	    u->admin ? "admin" : "user"};
	enum tg_err rc;

	if ((rc = q_user_insert(c, op->arena, &row, uid, which)) != TG_OK ||
	    (rc = q_account_insert(c, op->arena, *uid)) != TG_OK)
		return rc;
	if (u->invite_code == NULL)
		return TG_OK;
	crypto_secret_hash(u->invite_code, ih);
	rc = q_invite_use(c, op->arena, *uid, ih, sizeof(ih));
	return rc == TG_ENOENT ? TG_EPERM : rc;
}

enum tg_err
account_create(struct db_conn *c, struct op *op, const struct new_user *u,
    char secret[KEY_MAX_LEN], json_t **user, json_t **key, const char **which)
{
	char pub[32], phc[PHC_MAX];
	struct key_spec ks;
	int64_t uid;
	enum tg_err rc;

	/* The slow hash runs before the transaction, not inside it. */
	if (crypto_password_hash(u->password, phc, sizeof(phc)) == -1 ||
	    crypto_public_id("usr_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = create_rows(c, op, u, pub, phc, &uid, which)) != TG_OK)
		goto fail;
	if (u->credits != 0 &&
	    ((rc = credit(c, op, uid, u->credits, "topup", "initial credits",
		  NULL)) != TG_OK ||
		(rc = audit_credits(
		     c, op, pub, 0, u->credits, "initial credits")) != TG_OK))
		goto fail;
	key_spec_init(&ks);
	ks.name = "primary";
	ks.primary = 1;
	/* The registration key manages the others, as a session does. */
	ks.perms = u->admin ? "read,write,admin,keys" : "read,write,keys";
	if ((rc = key_create(c, op, uid, &ks, secret, key)) != TG_OK)
		goto fail;
	if ((rc = account_user(c, op, uid, 0, user)) != TG_OK)
		goto fail;
	if ((rc = audit_commit(c, op->arena, op, "user.register", "user", pub,
		 NULL, *user)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	crypto_wipe(phc, sizeof(phc));
	return rc;
}

enum tg_err
account_add_credits(struct db_conn *c, struct op *op, int64_t user_id,
    int64_t amount, const char *note, int64_t *balance, int64_t *entry_id)
{
	int64_t before;
	json_t *u;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	if ((rc = account_balance(c, op, user_id, &before, NULL, NULL)) !=
	    TG_OK)
		goto fail;
	if ((rc = credit(c, op, user_id, amount,
		 amount >= 0 ? "topup" : "adjust", note, entry_id)) != TG_OK)
		goto fail;
	if ((rc = account_balance(c, op, user_id, balance, NULL, NULL)) !=
	    TG_OK)
		goto fail;
	if ((rc = account_user(c, op, user_id, 0, &u)) != TG_OK)
		goto fail;
	if ((rc = audit_credits(c, op,
		 json_string_value(json_object_get(u, "id")), before, amount,
		 note)) != TG_OK)
		goto fail;
	return db_commit(c);
fail:
	db_rollback(c);
	return rc;
}

/*
 * The client's address as a throttling subject: IPv4 as it is, IPv6 by its
 * /64 (one host can use every address of its /64, so one address is no
 * unit), IPv4-mapped IPv6 as IPv4.
 */
static const char *
addr_subject(struct op *op, const char *kind)
{
	const char *a = op->addr != NULL ? op->addr : "-";
	unsigned char b[16];
	char out[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, a, b) == 1) {
		if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0 &&
		    inet_ntop(AF_INET, b + 12, out, sizeof(out)) != NULL)
			return arena_printf(op->arena, "%s:%s", kind, out);
		memset(b + 8, 0, 8);
		if (inet_ntop(AF_INET6, b, out, sizeof(out)) != NULL)
			return arena_printf(op->arena, "%s:%s/64", kind, out);
	}
	return arena_printf(op->arena, "%s:%.64s", kind, a);
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
attempt_open(struct db_conn *c, struct op *op, const char *email,
    struct attempt *at, int64_t *retry)
{
	const struct conf *cf = op->conf;
	int64_t n1, n2, t1, t2;
	enum tg_err rc;

	at->addr = addr_subject(op, "ip");
	at->pair = arena_printf(op->arena, "pw:%.200s|%s", email, at->addr + 3);
	if ((rc = q_authfail_get(c, op->arena, at->pair, cf->login_window, &n1,
		 &t1)) != TG_OK ||
	    (rc = q_authfail_get(
		 c, op->arena, at->addr, cf->login_window, &n2, &t2)) != TG_OK)
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
    struct db_conn *c, struct op *op, const struct attempt *at, int ok)
{
	if (ok) {
		(void)q_authfail_clear(c, op->arena, at->pair);
		return;
	}
	(void)q_authfail_hit(c, op->arena, at->pair, op->conf->login_window);
	(void)q_authfail_hit(c, op->arena, at->addr, op->conf->login_window);
}

/* A 429 that says when to come back (Retry-After). */
static enum tg_err
throttled(struct op *op, int64_t retry, const char *code, const char *what)
{
	op_fail(op, TG_ERATE, code, NULL, "%s; try again in %lld seconds", what,
	    (long long)retry);
	op->fail.retry_after = retry;
	return TG_ERATE;
}

enum tg_err
account_register_allowed(struct db_conn *c, struct op *op)
{
	unsigned max = op->conf->register_per_hour;
	int64_t n, retry;
	enum tg_err rc;

	if (max == 0)
		return TG_OK;
	if ((rc = q_authfail_get(c, op->arena, addr_subject(op, "reg"),
		 REGISTER_WINDOW, &n, &retry)) != TG_OK)
		return rc;
	if (n >= max)
		return throttled(op, retry, "too_many_registrations",
		    "too many accounts were registered from this address");
	return TG_OK;
}

void
account_register_count(struct db_conn *c, struct op *op)
{
	if (op->conf->register_per_hour > 0)
		(void)q_authfail_hit(
		    c, op->arena, addr_subject(op, "reg"), REGISTER_WINDOW);
}

enum tg_err
account_password_check(struct db_conn *c, struct op *op, const char *email,
    const char *password, int64_t *user_id)
{
	/* Verified against when the email is unknown, so both paths cost alike. */
	static const char dummy[] =
	    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$"
	    "d2hhdGV2ZXJ3aGF0ZXZlcndoYXRldmVyd2hhdGV2ZXI";
	struct attempt at;
	struct login_row l;
	int64_t retry;
	int found, ok;
	enum tg_err rc;

	/* Emails are stored lower-cased; match them the same way. */
	email = lower(op, email);
	if ((rc = attempt_open(c, op, email, &at, &retry)) == TG_ERATE)
		return throttled(
		    op, retry, "too_many_attempts", "too many failed logins");
	if (rc != TG_OK)
		return rc;
	if ((rc = q_user_login(c, op->arena, email, &l)) != TG_OK &&
	    rc != TG_ENOENT)
		return rc;
	found = rc == TG_OK;
	ok = crypto_password_verify(found ? l.password_hash : dummy, password);
	if (!found || !ok || strcmp(l.status, "deleted") == 0) {
		attempt_close(c, op, &at, 0);
		return op_fail(op, TG_EAUTH, "invalid_credentials", NULL,
		    "the email or the password is not correct");
	}
	if (strcmp(l.status, "active") != 0)
		return op_fail(op, TG_EPERM, "account_suspended", NULL,
		    "this account is suspended");
	attempt_close(c, op, &at, 1);
	*user_id = l.id;
	return TG_OK;
}

enum tg_err
account_by_password(struct op *op, struct db_conn *c, const char *email,
    const char *password, struct principal *p)
{
	json_t *u;
	const char *pub, *role;
	enum tg_err rc;

	if ((rc = account_password_check(
		 c, op, email, password, &p->user_id)) != TG_OK ||
	    (rc = account_user(c, op, p->user_id, 0, &u)) != TG_OK)
		return rc;
	pub = json_string_value(json_object_get(u, "id"));
	role = json_string_value(json_object_get(u, "role"));
	snprintf(
	    p->user_pub, sizeof(p->user_pub), "%s", pub != NULL ? pub : "");
	p->admin_role = role != NULL && strcmp(role, "admin") == 0;
	p->perms = PERM_READ | PERM_WRITE | PERM_KEYS |
	    (p->admin_role ? PERM_ADMIN : 0);
	p->basic = 1;
	return TG_OK;
}

enum tg_err
account_login(struct db_conn *c, struct op *op, const char *email,
    const char *password, char token[KEY_MAX_LEN], json_t **user,
    json_t **expires)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	const char *until;
	int64_t id;
	enum tg_err rc;

	if ((rc = account_password_check(c, op, email, password, &id)) != TG_OK)
		return rc;
	if (crypto_token_new(token) == -1)
		return TG_ESYSTEM;
	crypto_secret_hash(token, hash);
	if ((rc = q_session_insert(c, op->arena, hash, sizeof(hash), id,
		 op->addr, op->conf->session_ttl, &until)) != TG_OK)
		return rc;
	*expires = opt(until);
	arena_defer_json(op->arena, *expires);
	return account_user(c, op, id, 0, user);
}

enum tg_err
account_logout(struct db_conn *c, struct op *op, const char *token)
{
	unsigned char hash[CRYPTO_SHA256_LEN];

	crypto_secret_hash(token, hash);
	return q_session_revoke(c, op->arena, hash, sizeof(hash));
}

/* Record the 429 of a throttled password check. */
static enum tg_err
too_many(struct op *op, int64_t retry)
{
	return throttled(
	    op, retry, "too_many_attempts", "too many wrong passwords");
}

/*
 * The user's password, throttled as logins are: TG_EAUTH when wrong (not
 * recorded: callers name their field), TG_ERATE recorded in op.
 */
static enum tg_err
check_password(
    struct db_conn *c, struct op *op, int64_t user_id, const char *password)
{
	struct login_row l;
	struct attempt at;
	const char *email;
	int64_t retry = 0;
	json_t *u;
	int ok;
	enum tg_err rc;

	if ((rc = account_user(c, op, user_id, 0, &u)) != TG_OK)
		return rc;
	email = json_string_value(json_object_get(u, "email"));
	if ((rc = attempt_open(c, op, email, &at, &retry)) == TG_ERATE)
		return too_many(op, retry);
	if (rc != TG_OK)
		return rc;
	if ((rc = q_user_login(c, op->arena, email, &l)) != TG_OK &&
	    rc != TG_ENOENT)
		return rc;
	ok = rc == TG_OK && crypto_password_verify(l.password_hash, password);
	attempt_close(c, op, &at, ok);
	return ok ? TG_OK : TG_EAUTH;
}

enum tg_err
account_set_password(struct db_conn *c, struct op *op, int64_t user_id,
    const char *pw, const char *keep_token, const char *action)
{
	unsigned char keep[CRYPTO_SHA256_LEN] = {0};
	char phc[PHC_MAX];
	const char *why;
	json_t *u;
	enum tg_err rc;

	if ((rc = account_user(c, op, user_id, 0, &u)) != TG_OK)
		return rc;
	/* The rules of registration, against this user's email and name. */
	if ((why = password_problem(pw,
		 json_string_value(json_object_get(u, "email")),
		 json_string_value(json_object_get(u, "username")))) != NULL)
		return op_fail(
		    op, TG_EINVAL, "weak_password", "new_password", "%s", why);
	if (crypto_password_hash(pw, phc, sizeof(phc)) == -1)
		return TG_ESYSTEM;
	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = q_user_set_password(c, op->arena, user_id, phc)) != TG_OK)
		goto fail;
	/* Whoever knew the old password is logged out (no hash matches 0s). */
	if (keep_token != NULL)
		crypto_secret_hash(keep_token, keep);
	if ((rc = q_session_revoke_others(
		 c, op->arena, user_id, keep, sizeof(keep))) != TG_OK)
		goto fail;
	/* No before/after: neither the password nor its hash goes in. */
	if ((rc = audit_commit(c, op->arena, op, action, "user",
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
account_change_password(struct db_conn *c, struct op *op, int64_t user_id,
    const char *current, const char *pw, const char *keep_token)
{
	enum tg_err rc;

	if ((rc = check_password(c, op, user_id, current)) == TG_EAUTH)
		return op_fail(op, rc, "invalid_credentials",
		    "current_password", "current_password is not correct");
	if (rc != TG_OK)
		return rc;
	return account_set_password(
	    c, op, user_id, pw, keep_token, "user.password_change");
}

/* clang-format off */
static const struct jx_field profile_fields[] = {
	{ "name",		JX_STRING | JX_NULL,	0 },
	{ "email",		JX_STRING,		0 },
	{ "current_password",	JX_STRING,		0 },
	{ "settings",		JX_OBJECT,		0 },
	{ "conversation_log",	JX_STRING,		0 }, /* issue 18: convlog */
	{ NULL,			0,			0 },
};
/* clang-format on */

/* The new email of b (*email unchanged without one), the password checked. */
static enum tg_err
profile_email(struct db_conn *c, struct op *op, int64_t user_id,
    const json_t *b, const char **email)
{
	const char *pw, *e;
	json_t *v;
	enum tg_err rc;

	if ((v = json_object_get(b, "email")) == NULL)
		return TG_OK;
	e = lower(op, json_string_value(v));
	if (!valid_email(e))
		return op_fail(op, TG_EINVAL, "invalid_email", "email",
		    "the email address is not valid");
	if (strcmp(e, *email) != 0) {
		pw = json_string_value(json_object_get(b, "current_password"));
		if (pw == NULL)
			return op_fail(op, TG_EPERM, "password_required",
			    "current_password",
			    "changing the email needs current_password");
		if ((rc = check_password(c, op, user_id, pw)) == TG_EAUTH)
			return op_fail(op, rc, "invalid_credentials",
			    "current_password",
			    "current_password is not correct");
		if (rc != TG_OK)
			return rc;
	}
	*email = e;
	return TG_OK;
}

/* The settings text to store: b's when sent (bounded), else before's. */
static enum tg_err
profile_settings(
    struct op *op, const json_t *b, const json_t *before, const char **out)
{
	char *settings;
	json_t *v;

	if ((v = json_object_get(b, "settings")) == NULL) {
		settings = json_dumps(json_object_get(before, "settings"),
		    JSON_COMPACT | JSON_SORT_KEYS);
		arena_defer_free(op->arena, settings);
		*out = settings != NULL ? settings : "{}";
		return TG_OK;
	}
	settings = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	arena_defer_free(op->arena, settings);
	if (json_object_size(v) > SETTINGS_MAX_KEYS || settings == NULL ||
	    strlen(settings) > SETTINGS_MAX_BYTES)
		return op_fail(op, TG_EINVAL, "invalid_value", "settings",
		    "settings may hold at most %d keys and %d bytes",
		    SETTINGS_MAX_KEYS, SETTINGS_MAX_BYTES);
	*out = settings;
	return TG_OK;
}

enum tg_err
account_update_profile(struct db_conn *c, struct op *op, int64_t user_id,
    const json_t *b, json_t **out)
{
	const char *name, *email, *settings = NULL;
	json_t *before, *v, *full;
	enum tg_err rc;

	if ((rc = op_check(op, b, profile_fields)) != TG_OK)
		return rc;
	if ((rc = account_user(c, op, user_id, 1, &before)) != TG_OK)
		return rc;
	name = json_string_value(json_object_get(before, "name"));
	if ((v = json_object_get(b, "name")) != NULL) {
		name = json_string_value(v);
		if (name != NULL && strlen(name) > 128)
			return op_fail(op, TG_EINVAL, "invalid_value", "name",
			    "name may be at most 128 bytes");
	}
	email = json_string_value(json_object_get(before, "email"));
	if ((rc = profile_email(c, op, user_id, b, &email)) != TG_OK ||
	    (rc = profile_settings(op, b, before, &settings)) != TG_OK ||
	    (rc = convlog_check_level(op, b)) != TG_OK)
		return rc;
	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = convlog_set_level(c, op, user_id, b)) != TG_OK)
		goto fail;
	if ((rc = q_user_update_profile(
		 c, op->arena, user_id, name, email, settings)) != TG_OK) {
		if (rc == TG_ECONFLICT)
			op_fail(op, rc, "email_taken", "email",
			    "another account uses this email address");
		goto fail;
	}
	if ((rc = account_user(c, op, user_id, 1, &full)) != TG_OK)
		goto fail;
	if ((rc = audit_append(c, op->arena, op, "user.update", "user",
		 op->who->user_pub, before, full)) != TG_OK)
		goto fail;
	*out = full;
	return db_commit(c);
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
account_delete(
    struct db_conn *c, struct op *op, int64_t user_id, const char *password)
{
	enum tg_err rc;

	if ((rc = check_password(c, op, user_id, password)) != TG_OK)
		return rc;
	return account_delete_proven(c, op, user_id);
}

enum tg_err
account_delete_proven(struct db_conn *c, struct op *op, int64_t user_id)
{
	json_t *before;
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK)
		goto fail;
	if ((rc = account_user(c, op, user_id, 0, &before)) != TG_OK)
		goto fail;
	if ((rc = q_user_delete(c, op->arena, user_id)) != TG_OK ||
	    (rc = q_key_revoke_all(c, op->arena, user_id)) != TG_OK ||
	    (rc = q_session_revoke_all(c, op->arena, user_id)) != TG_OK ||
	    (rc = q_conv_delete_user(c, op->arena, user_id)) != TG_OK)
		goto fail;
	if ((rc = audit_commit(c, op->arena, op, "user.delete", "user",
		 json_string_value(json_object_get(before, "id")), before,
		 NULL)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

/* issue 18 (did) */
enum tg_err
account_create_did(struct db_conn *c, struct op *op,
    const struct did_user_new *u, const char **which)
{
	char pub[32];
	int64_t uid;
	json_t *user;
	enum tg_err rc;

	if (crypto_public_id("usr_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	/* The chain's lock orders racing first contacts: one inserts. */
	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = q_did_user_insert(c, op->arena, pub, u, &uid, which)) !=
		TG_OK ||
	    (rc = q_account_insert(c, op->arena, uid)) != TG_OK)
		goto fail;
	if (u->credits != 0 &&
	    ((rc = credit(c, op, uid, u->credits, "topup", "initial credits",
		  NULL)) != TG_OK ||
		(rc = audit_credits(
		     c, op, pub, 0, u->credits, "initial credits")) != TG_OK))
		goto fail;
	if ((rc = account_user(c, op, uid, 0, &user)) != TG_OK)
		goto fail;
	json_object_set_new(user, "did", json_string(u->did));
	if ((rc = audit_commit(c, op->arena, op, "user.register", "user", pub,
		 NULL, user)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

/* issue 18: money: redemption codes are throttled by the same subjects. */
const char *
account_addr_subject(struct op *op, const char *kind)
{
	return addr_subject(op, kind);
}
