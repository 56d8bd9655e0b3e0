/* admin.h: operator views and changes across users */
/* SPDX-License-Identifier: MIT */
#ifndef ADMIN_H
#define ADMIN_H

#include <stdint.h>
#include <jansson.h>

#include "core/tollgate.h"

struct db_conn;
struct op;

/* Users matching q (email/username substring, "" = all), newest last. */
enum tg_err admin_users(struct db_conn *, struct op *, const char *q,
    int64_t limit, int64_t offset, json_t **data, int64_t *total);
/* Change status, role, group or commission of a user (audited). */
enum tg_err admin_user_update(struct db_conn *, struct op *, int64_t user_id,
    const json_t *body, json_t **out);
enum tg_err admin_balances(struct db_conn *, struct op *, int64_t limit,
    int64_t offset, json_t **data, int64_t *total);
enum tg_err admin_monitor(struct db_conn *, struct op *, json_t **out);
/* Charges past their hold in the last day: how many, and how much (nano-USD). */
enum tg_err admin_overrun(
    struct db_conn *, struct op *, int64_t *count, int64_t *total);
/* count new invite codes valid for days (audited); codes shown once. */
enum tg_err admin_invites(struct db_conn *, struct op *, int64_t count,
    int64_t days, json_t **codes, json_t **expires);
/* when: from and to ("YYYY-MM-DD HH:MM:SS", to excluded; "" any). */
enum tg_err admin_audit(struct db_conn *, struct op *, const char *action,
    const char *actor, const char *target, const char *const when[2],
    int64_t limit, int64_t offset, json_t **data, int64_t *total);

#endif
