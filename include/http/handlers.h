/* handlers.h: request handlers, one resource per file (h_*.c) */
/* SPDX-License-Identifier: MIT */
#ifndef HANDLERS_H
#define HANDLERS_H

#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"

/* h_meta.c */
enum tg_err h_health(struct tg_req *, struct tg_resp *);
enum tg_err h_root(struct tg_req *, struct tg_resp *);
enum tg_err h_slash(struct tg_req *, struct tg_resp *);
enum tg_err h_openapi(struct tg_req *, struct tg_resp *);
/* h_debug.c: test-only routes, present only with debug.routes = on */
enum tg_err h_debug_sleep(struct tg_req *, struct tg_resp *);
enum tg_err h_debug_pid(struct tg_req *, struct tg_resp *);
enum tg_err h_debug_stats(struct tg_req *, struct tg_resp *);
/* issue 19: obs */
enum tg_err h_metrics(struct tg_req *, struct tg_resp *);
enum tg_err h_debug_echo(struct tg_req *, struct tg_resp *);
enum tg_err h_debug_crash(struct tg_req *, struct tg_resp *);

/* h_auth.c */
enum tg_err h_auth_register(struct tg_req *, struct tg_resp *);
enum tg_err h_auth_login(struct tg_req *, struct tg_resp *);
enum tg_err h_auth_logout(struct tg_req *, struct tg_resp *);
enum tg_err h_auth_session(struct tg_req *, struct tg_resp *);
enum tg_err h_auth_config(struct tg_req *, struct tg_resp *);
/* h_user.c */
enum tg_err h_user_profile(struct tg_req *, struct tg_resp *);
enum tg_err h_user_profile_update(struct tg_req *, struct tg_resp *);
enum tg_err h_user_delete(struct tg_req *, struct tg_resp *);
enum tg_err h_user_password(struct tg_req *, struct tg_resp *);
enum tg_err h_user_balance(struct tg_req *, struct tg_resp *);
enum tg_err h_user_limit(struct tg_req *, struct tg_resp *);
enum tg_err h_user_monitor(struct tg_req *, struct tg_resp *);
/* h_keys.c */
enum tg_err h_keys_create(struct tg_req *, struct tg_resp *);
enum tg_err h_keys_list(struct tg_req *, struct tg_resp *);
enum tg_err h_keys_update(struct tg_req *, struct tg_resp *);
enum tg_err h_keys_delete(struct tg_req *, struct tg_resp *);
enum tg_err h_keys_rotate(struct tg_req *, struct tg_resp *);
enum tg_err h_keys_usage(struct tg_req *, struct tg_resp *);
enum tg_err h_keys_get(struct tg_req *, struct tg_resp *);
/* h_models.c */
enum tg_err h_models_list(struct tg_req *, struct tg_resp *);
enum tg_err h_models_get(struct tg_req *, struct tg_resp *);
enum tg_err h_models_public(struct tg_req *, struct tg_resp *);
enum tg_err h_models_providers(struct tg_req *, struct tg_resp *);

/* h_chat.c */
enum tg_err h_chat(struct tg_req *, struct tg_resp *);
enum tg_err h_completions(struct tg_req *, struct tg_resp *);
enum tg_err h_embeddings(struct tg_req *, struct tg_resp *);
enum tg_err h_quote(struct tg_req *, struct tg_resp *);
/* h_native.c: the Anthropic, Responses and Gemini APIs over the same meter */
enum tg_err h_messages(struct tg_req *, struct tg_resp *);
enum tg_err h_messages_count(struct tg_req *, struct tg_resp *);
enum tg_err h_responses(struct tg_req *, struct tg_resp *);
enum tg_err h_gemini(struct tg_req *, struct tg_resp *);

/* h_usage.c */
/* One field of the usage CSV export into b (exposed for test_csv). */
struct buf;
void usage_csv_field(struct buf *b, const json_t *v);
enum tg_err h_user_usage(struct tg_req *, struct tg_resp *);
enum tg_err h_user_bill(struct tg_req *, struct tg_resp *);
enum tg_err h_user_usage_summary(struct tg_req *, struct tg_resp *);
enum tg_err h_user_credits(struct tg_req *, struct tg_resp *);
/*
 * The query's from and to as SQL times (NULL when absent); 400
 * invalid_value for anything but a UTC date or time.
 */
enum tg_err usage_when(struct tg_req *, struct tg_resp *, const char *out[2]);
enum tg_err h_admin_bill(struct tg_req *, struct tg_resp *);

/* h_upstream.c */
enum tg_err h_admin_providers(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_provider_add(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_provider_update(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_ukeys(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_ukey_add(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_ukey_delete(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_model_add(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_model_update(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_models_import(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_ukey_update(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_upstream_keys(struct tg_req *, struct tg_resp *);
enum tg_err h_api_status(struct tg_req *, struct tg_resp *);
/* h_admin.c */
enum tg_err h_admin_add_credits(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_balance(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_users(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_user_get(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_user_update(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_limit_set(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_limit_get(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_monitor(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_invites(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_audit(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_audit_verify(struct tg_req *, struct tg_resp *);
/* issue 18: compat (h_compat.c) */
enum tg_err h_layers_chat(struct tg_req *, struct tg_resp *);
enum tg_err h_seed_keys_list(struct tg_req *, struct tg_resp *);
enum tg_err h_seed_keys_generate(struct tg_req *, struct tg_resp *);
enum tg_err h_seed_keys_delete(struct tg_req *, struct tg_resp *);
enum tg_err h_seed_usage_check(struct tg_req *, struct tg_resp *);
enum tg_err h_api_keys_create(struct tg_req *, struct tg_resp *);
enum tg_err h_api_keys_list(struct tg_req *, struct tg_resp *);

/* h_seed001.c (issue 18: s001) */
enum tg_err h_admin_refresh_models(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_cache_status(struct tg_req *, struct tg_resp *);
struct db_conn;
/*
 * h_usage.c: the system-wide usage of ?from=&to= (default the last 30 days,
 * as /user/usage/summary) for /admin/monitor; a 400 in resp when bad.
 */
enum tg_err usage_system(
    struct tg_req *, struct tg_resp *, struct db_conn *, json_t **out);
/*
 * h_usage.c: the requests of f's user (and key, model, time) in flight on
 * this node, from shared memory, put first in data as records with status
 * "pending" (/user/usage and seed 003's /api/v1/usage).
 */
struct usage_filter;
void usage_pending(struct tg_req *, const struct usage_filter *, json_t *);
/* issue 18: did (h_did.c) */
enum tg_err h_did_usage(struct tg_req *, struct tg_resp *);

/* issue 18: openrouter (h_openrouter.c) */
enum tg_err h_openrouter(struct tg_req *, struct tg_resp *);
/* issue 18: money (h_money.c) */
enum tg_err h_admin_redeem_create(struct tg_req *, struct tg_resp *);
enum tg_err h_admin_redeem_list(struct tg_req *, struct tg_resp *);
enum tg_err h_user_redeem(struct tg_req *, struct tg_resp *);
enum tg_err h_billing_webhook(struct tg_req *, struct tg_resp *);
/* issue 18: convlog: h_conv.c */
enum tg_err h_user_conversations(struct tg_req *, struct tg_resp *);
enum tg_err h_user_conversation_get(struct tg_req *, struct tg_resp *);
enum tg_err h_user_conversation_delete(struct tg_req *, struct tg_resp *);
/* issue 18: testmode (h_testmode.c) */
enum tg_err h_user_sandbox(struct tg_req *, struct tg_resp *);

#endif
