/* q_user.h: typed queries on users, accounts, sessions, sign-in failures and invites */
/* SPDX-License-Identifier: MIT */
#ifndef Q_USER_H
#define Q_USER_H

#include <stddef.h>
#include <stdint.h>

#include "core/tollgate.h"

struct db_conn;
struct arena;

/* The user of a live session (STMT_SESSION_AUTH). */
struct session_row {
	int64_t id;
	int64_t user_id;
	const char *user_pub;
	const char *role;
	const char *status;
	const char *expires; /* "YYYY-MM-DDTHH:MM:SSZ" */
};

/* The live session whose token hashes to hash; TG_ENOENT. */
enum tg_err q_session_auth(struct db_conn *, struct arena *,
    const unsigned char *hash, size_t hash_len, struct session_row *);

/* A users row (STMT_USER_GET); strings NULL when SQL NULL. */
struct user_row {
	int64_t id;
	const char *pub, *email, *username, *name, *role, *status, *group;
	int has_commission;
	int64_t commission_bp;
	const char *settings; /* JSON object text */
	const char *created;  /* "YYYY-MM-DDTHH:MM:SSZ" */
	const char *conv_log; /* issue 18: convlog: users.conversation_log */
};
/* The new user of a registration (STMT_USER_INSERT). */
struct user_new_row {
	const char *pub, *email, *username, *name, *password_hash, *role;
};
/* What a sign-in compares (STMT_USER_LOGIN). */
struct login_row {
	int64_t id;
	const char *pub, *password_hash, *status;
};
/* An account's money in nano-USD (STMT_ACCOUNT_GET). */
struct account_row {
	int64_t balance, reserved, overdraft;
};

/* TG_ENOENT when no such user. */
enum tg_err q_user_get(
    struct db_conn *, struct arena *, int64_t id, struct user_row *);
enum tg_err q_user_id_by_public(
    struct db_conn *, struct arena *, const char *pub, int64_t *id);
enum tg_err q_user_id_by_email(
    struct db_conn *, struct arena *, const char *email, int64_t *id);
/* TG_ECONFLICT with *dup "email" or "username" when taken. */
enum tg_err q_user_insert(struct db_conn *, struct arena *,
    const struct user_new_row *, int64_t *id, const char **dup);
enum tg_err q_user_login(
    struct db_conn *, struct arena *, const char *email, struct login_row *);
enum tg_err q_user_update_profile(struct db_conn *, struct arena *, int64_t id,
    const char *name, const char *email, const char *settings);
/* TG_ENOENT when the user is gone (deleted). */
enum tg_err q_user_set_password(
    struct db_conn *, struct arena *, int64_t id, const char *password_hash);
enum tg_err q_user_delete(struct db_conn *, struct arena *, int64_t id);
/* An operator's change (STMT_USER_ADMIN_UPDATE). */
enum tg_err q_user_admin_update(struct db_conn *, struct arena *, int64_t id,
    const char *status, const char *role, const char *group,
    int64_t commission_bp);
/* How many users' email or username holds q ("" all; like: q LIKE-escaped). */
enum tg_err q_user_count(struct db_conn *, struct arena *, const char *q,
    const char *like, int64_t *total);
/* Users whose email or username holds q ("" all; like: q LIKE-escaped), by id. */
enum tg_err q_user_list(struct db_conn *, struct arena *, const char *q,
    const char *like, int64_t limit, int64_t offset, int64_t **ids, size_t *n,
    int64_t *total);

enum tg_err q_account_insert(struct db_conn *, struct arena *, int64_t user);
enum tg_err q_account_get(
    struct db_conn *, struct arena *, int64_t user, struct account_row *);
/* Add amount; TG_ECONFLICT when the balance would pass the overdraft. */
enum tg_err q_account_add(
    struct db_conn *, struct arena *, int64_t user, int64_t amount);
/*
 * The ledger entry of a credit (store/q_ledger.c): kind "topup" or "adjust",
 * actor 0 for none; *entry its id.
 */
enum tg_err q_ledger_credit(struct db_conn *, struct arena *, int64_t user,
    const char *kind, int64_t amount, const char *dedupe, const char *note,
    int64_t actor, int64_t *entry);

/* One line of the operator's balance sheet (STMT_ADMIN_BALANCES, in q_ledger.c). */
struct balance_row {
	const char *user_pub, *email;
	int64_t balance, reserved;
};
enum tg_err q_admin_balances(struct db_conn *, struct arena *, int64_t limit,
    int64_t offset, struct balance_row **, size_t *n);
/* The user's group as the data plane reads it (STMT_CHAT_PAYER, in q_payer.c). */
enum tg_err q_payer_group(
    struct db_conn *, struct arena *, int64_t user, const char **group);

/* A session for user until ttl seconds from now; *expires its end (or NULL). */
enum tg_err q_session_insert(struct db_conn *, struct arena *,
    const unsigned char *hash, size_t hash_len, int64_t user, const char *ip,
    int64_t ttl, const char **expires);
enum tg_err q_session_revoke(
    struct db_conn *, struct arena *, const unsigned char *hash, size_t len);
enum tg_err q_session_revoke_all(
    struct db_conn *, struct arena *, int64_t user);
/* Every session of user but the one of keep (a token hash). */
enum tg_err q_session_revoke_others(struct db_conn *, struct arena *,
    int64_t user, const unsigned char *keep, size_t keep_len);

/* Failures of subject within window seconds and when that window ends. */
enum tg_err q_authfail_get(struct db_conn *, struct arena *,
    const char *subject, int64_t window, int64_t *count, int64_t *retry);
enum tg_err q_authfail_hit(
    struct db_conn *, struct arena *, const char *subject, int64_t window);
enum tg_err q_authfail_clear(
    struct db_conn *, struct arena *, const char *subject);

/* Use an invite (by code hash) for user: TG_ENOENT when used or unknown. */
enum tg_err q_invite_use(struct db_conn *, struct arena *, int64_t user,
    const unsigned char *hash, size_t len);
enum tg_err q_invite_insert(struct db_conn *, struct arena *,
    const unsigned char *hash, size_t len, int64_t creator, int64_t days);
/* The expiry of an invite made now for days ("YYYY-MM-DDTHH:MM:SSZ"). */
enum tg_err q_invite_expires(
    struct db_conn *, struct arena *, int64_t days, const char **at);

#endif
