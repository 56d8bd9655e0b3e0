/* or_provision.h: per-user OpenRouter keys through OpenRouter's provisioning API */
/* SPDX-License-Identifier: MIT */
#ifndef DOMAIN_OR_PROVISION_H
#define DOMAIN_OR_PROVISION_H

#include <stdint.h>

#include "core/tollgate.h"
#include "domain/upstream.h"

struct conf;
struct db_conn;
struct http_client;
struct op;

/*
 * The user's own OpenRouter key for deployment d into secret (wipe after
 * use), created on first use with [openrouter] provisioning_key_file.
 * TG_ENOENT when provisioning is off (use the pool); another error with
 * op->fail set when the key cannot be had.
 */
enum tg_err or_user_key(struct db_conn *, struct op *, const struct conf *,
    struct http_client *, const struct deployment *d, int64_t user_id,
    char secret[UPSTREAM_SECRET_MAX + 1]);

/*
 * The housekeeping round: up to 16 users' keys brought in line with their
 * balances (GET its usage, PATCH limit = usage + spendable balance), and
 * deleted users' keys deleted at OpenRouter.  Logs, never fails.
 */
struct arena;
void or_provision_sync(struct db_conn *, struct arena *, const struct conf *,
    struct http_client *);

#endif
