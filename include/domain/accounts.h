/* accounts.h: users and their accounts: registration, login, profile, credits */
/* SPDX-License-Identifier: MIT */
#ifndef ACCOUNTS_H
#define ACCOUNTS_H

#include <stdint.h>
#include <jansson.h>

#include "core/crypto.h"
#include "core/tollgate.h"

struct db_conn;
struct op;

struct new_user {
	const char *email;    /* lower-cased, validated */
	const char *username; /* NULL or validated */
	const char *name;
	const char *password;
	int admin;
	const char *invite_code; /* NULL when not needed */
	int64_t credits;	 /* nano-USD to start with */
};

/*
 * Validate registration input (email shape, username pattern, password
 * policy); on failure records the 400 in op.
 */
enum tg_err account_check_new(struct op *, struct new_user *);
/*
 * Create user, account and primary key in one audited transaction.
 * TG_ECONFLICT with *which = "email"/"username"; TG_EPERM for a bad invite.
 */
enum tg_err account_create(struct db_conn *, struct op *,
    const struct new_user *, char secret[KEY_MAX_LEN], json_t **user,
    json_t **key, const char **which);
/* USER object (with settings when full) of an internal id. */
enum tg_err account_user(
    struct db_conn *, struct op *, int64_t user_id, int full, json_t **out);
/* Internal id from a public id, an email or an API key; TG_ENOENT. */
enum tg_err account_find(struct db_conn *, struct op *, const char *pub,
    const char *email, const char *api_key, int64_t *user_id);
/* Balance, reserved, overdraft in nano-USD. */
enum tg_err account_balance(struct db_conn *, struct op *, int64_t user_id,
    int64_t *balance, int64_t *reserved, int64_t *overdraft);
/* The user's group as the data plane sees it (NULL: none). */
enum tg_err account_group(
    struct db_conn *, struct op *, int64_t user_id, const char **group);
/*
 * Add (or with a negative amount, remove) credits: a ledger entry and an
 * audit row in one transaction.  TG_ECONFLICT when it would pass the overdraft.
 */
enum tg_err account_add_credits(struct db_conn *, struct op *, int64_t user_id,
    int64_t amount, const char *note, int64_t *balance, int64_t *entry_id);

/*
 * The password check of a login, throttled by the same failure counters
 * (per email and address, per address): TG_OK with *user_id; TG_EAUTH
 * invalid_credentials, TG_ERATE too_many_attempts (retry_after) or TG_EPERM
 * account_suspended in op.  Also HTTP Basic's check (account_by_password).
 */
enum tg_err account_password_check(struct db_conn *, struct op *,
    const char *email, const char *password, int64_t *user_id);
struct principal;
/*
 * The principal of an email and password (HTTP Basic on admin routes):
 * account_password_check, then the user's whole account like a session's
 * (p->basic set).  Failures are recorded in op->fail.
 */
enum tg_err account_by_password(struct op *, struct db_conn *,
    const char *email, const char *password, struct principal *p);
/*
 * Check email and password: TG_EAUTH for a wrong pair, TG_EPERM for a
 * suspended account, TG_ERATE (with op->fail.retry_after) when the email or
 * IP is over the failure limit; each recorded in op.  On success a new
 * session token in token and its expiry in *expires.
 */
enum tg_err account_login(struct db_conn *, struct op *, const char *email,
    const char *password, char token[KEY_MAX_LEN], json_t **user,
    json_t **expires);
enum tg_err account_logout(struct db_conn *, struct op *, const char *token);
/* name/email/settings change; email needs the current password. */
enum tg_err account_update_profile(struct db_conn *, struct op *,
    int64_t user_id, const json_t *body, json_t **out);
/*
 * Registrations from the client's address (IPv6: its /64) in the last hour
 * against [auth] register_per_hour: TG_ERATE recorded in op (with
 * retry_after) when over; count one with account_register_count once made.
 */
enum tg_err account_register_allowed(struct db_conn *, struct op *);
void account_register_count(struct db_conn *, struct op *);
/*
 * Set the password of user_id to pw (registration's rules: else TG_EINVAL,
 * recorded in op with param new_password), end every session of the user
 * but the one of keep_token (NULL: all), audit as action.  Keys stay.
 */
enum tg_err account_set_password(struct db_conn *, struct op *, int64_t user_id,
    const char *pw, const char *keep_token, const char *action);
/* account_set_password once current is the user's password (else 401). */
enum tg_err account_change_password(struct db_conn *, struct op *,
    int64_t user_id, const char *current, const char *pw,
    const char *keep_token);
/*
 * Mark deleted after checking the password (TG_EAUTH when wrong; a throttled
 * check is TG_ERATE recorded in op); revoke keys and sessions.
 */
enum tg_err account_delete(
    struct db_conn *, struct op *, int64_t user_id, const char *password);
/*
 * The same without a password check, for a caller that proved it already (a
 * session: the password was checked at login).
 */
enum tg_err account_delete_proven(
    struct db_conn *, struct op *, int64_t user_id);

/* issue 18 (did) */
struct did_user_new;
/*
 * The user of a DID at first contact: user and account rows, the initial
 * credits as a top-up, audited, in one transaction.  TG_ECONFLICT with
 * *which "did" (another request made it first) or "username".
 */
enum tg_err account_create_did(struct db_conn *, struct op *,
    const struct did_user_new *, const char **which);

/*
 * issue 18: money.  The client's address as a throttling subject
 * "kind:ADDR" (IPv6 by its /64), as the password checks count it.
 */
const char *account_addr_subject(struct op *, const char *kind);

#endif
