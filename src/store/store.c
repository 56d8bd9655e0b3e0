/* store.c: the store's start: gathers the q_*.c statement tables for the database layer */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "io/db.h"
#include "store/q_schema.h"
#include "store/stmt.h"
#include "store/store.h"

static const struct stmt_row *const tables[] = {
    q_schema_stmts,
    q_user_stmts,
    q_key_stmts,
    q_payer_stmts,
    q_ledger_stmts,
    q_limit_stmts,
    q_audit_stmts,
    q_usage_stmts,
    q_upstream_stmts,
    q_catalog_stmts,
    q_compat_stmts,
    q_refresh_stmts,
    q_monitor_stmts,
    /* issue 18: did */
    q_did_stmts,
    q_schema_stmts,
    q_user_stmts,
    q_key_stmts,
    q_payer_stmts,
    q_ledger_stmts,
    q_limit_stmts,
    q_audit_stmts,
    q_usage_stmts,
    q_upstream_stmts,
    q_catalog_stmts,
    q_or_key_stmts, /* issue 18: openrouter */
    q_money_stmts,
    /* issue 18: convlog */
    q_conv_stmts,
    q_sandbox_stmts,
    /* issue 19: scale */
    q_rollup_stmts,
    q_partition_stmts,
};

/*
 * Multi-row INSERTs (db_exec_rows): the statement up to VALUES and the width
 * of one row.
 */
static const struct db_batch_def batches[BATCH__MAX] = {
    /* IGNORE: a line written out twice must not stop the journal. */
    [BATCH_USAGE] = {"INSERT IGNORE INTO usage_records (request_id, user_id, "
		     "api_key_id, hold_id, endpoint, model_id, provider_id, "
		     "upstream_key_id, upstream_model, prompt_tokens, "
		     "completion_tokens, cached_tokens, reasoning_tokens, "
		     "input_price, output_price, cached_price, commission_bp, "
		     "base_cost, commission, charge, status, http_status, "
		     "error, latency_ms, ttft_ms, stream, estimated, attempts, "
		     "idem_key, upstream_cost, overrun, charge_basis, "
		     "client_request_id, api, cache_write_tokens, "
		     "cache_write_price) VALUES ",
	36},
    /*
     * issue 20: a usage record with its Idempotency-Key's answer (the
     * journal's line carried it): both on the record in one statement.
     */
    [BATCH_USAGE_REPLAY] = {"INSERT IGNORE INTO usage_records (request_id, "
			    "user_id, api_key_id, hold_id, endpoint, model_id, "
			    "provider_id, upstream_key_id, upstream_model, "
			    "prompt_tokens, completion_tokens, cached_tokens, "
			    "reasoning_tokens, input_price, output_price, "
			    "cached_price, commission_bp, base_cost, "
			    "commission, charge, status, http_status, error, "
			    "latency_ms, ttft_ms, stream, estimated, attempts, "
			    "idem_key, upstream_cost, overrun, charge_basis, "
			    "client_request_id, api, cache_write_tokens, "
			    "cache_write_price, response, response_type) "
			    "VALUES ",
	38},
    [BATCH_LEDGER] = {"INSERT INTO ledger_entries (account_id, hold_id, "
		      "kind, amount, dedupe_key) VALUES ",
	5},
    /* issue 18: convlog; IGNORE: a line written out twice is one row. */
    [BATCH_CONV] = {"INSERT IGNORE INTO conversations (request_id, user_id, "
		    "api_key_id, level, api, model_id, stream, status, "
		    "http_status, prompt_tokens, completion_tokens, charge, "
		    "latency_ms, body, body_bytes, truncated, created_at) "
		    "VALUES ",
	17},
    /*
     * issue 18: a refused request's usage record; IGNORE: a line written
     * out twice is one row (request_id is unique).
     */
    [BATCH_REFUSED] = {"INSERT IGNORE INTO usage_records (request_id, "
		       "client_request_id, user_id, api_key_id, endpoint, api, "
		       "model_id, status, http_status, error, latency_ms, "
		       "stream, created_at) VALUES ",
	13},
    /*
     * issue 20: the exact holds of a write-out closed in one statement
     * rather than one UPDATE each.  Every hold named exists and is open
     * (a row is changed: 2 affected rows each), else the write-out takes
     * its holds one by one (journal_out.c close_holds): a row it inserts
     * or leaves alone (1 or 0) sends the transaction back.  The columns
     * before charged only make the INSERT well-formed.  state last: the
     * other assignments test its old value.
     */
    [BATCH_HOLD_CLOSE] = {"INSERT INTO holds (id, account_id, api_key_id, "
			  "amount, expires_at, charged) VALUES ",
	6,
	" ON DUPLICATE KEY UPDATE "
	"charged = IF(state = 'open' AND lease = 0, VALUES(charged), charged), "
	"settled_at = IF(state = 'open' AND lease = 0, NOW(6), settled_at), "
	"state = IF(state = 'open' AND lease = 0, 'settled', state)"},
};

static struct db_stmt_def all[STMT__MAX];

void
store_init(void)
{
	const struct stmt_row *r;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		for (r = tables[i]; r->sql != NULL; r++)
			all[r->id] = (struct db_stmt_def){r->sql, r->flags};
	for (i = 0; i < STMT__MAX; i++)
		if (all[i].sql == NULL) {
			/* A statement named in stmt.h but in no table: a build bug. */
			fprintf(stderr,
			    "store_init: statement %zu has no SQL\n", i);
			abort();
		}
	db_set_statements(
	    all, STMT__MAX, batches, BATCH__MAX, q_schema_version);
}
