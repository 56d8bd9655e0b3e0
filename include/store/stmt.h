/* stmt.h: every statement the store runs, by name; the SQL sits in the q_*.c that uses it */
/* SPDX-License-Identifier: MIT */
#ifndef STMT_H
#define STMT_H

#include <stddef.h>

/* Prepared statements; each q_<table>.c holds the rows of its own. */
enum stmt {
	STMT_SCHEMA_VERSION,   /* SELECT MAX(version) FROM schema_migrations */
	STMT_MIGRATION_LIST,   /* SELECT version, name FROM schema_migrations */
	STMT_MIGRATION_RECORD, /* INSERT INTO schema_migrations */
	STMT_LOCK_GET,	       /* SELECT GET_LOCK(?, ?) */
	STMT_LOCK_RELEASE,     /* SELECT RELEASE_LOCK(?) */
	STMT_CONNECTION_ID,    /* SELECT CONNECTION_ID() */
	STMT_USER_INSERT,
	STMT_ACCOUNT_INSERT,
	STMT_USER_LOGIN,
	STMT_USER_GET,
	STMT_USER_GET_PUBLIC,
	STMT_USER_GET_EMAIL,
	STMT_USER_UPDATE_PROFILE,
	STMT_USER_DELETE,
	STMT_USER_ADMIN_UPDATE,
	STMT_USER_LIST,
	STMT_USER_COUNT,
	STMT_ACCOUNT_GET,
	STMT_ACCOUNT_ADD,
	STMT_LEDGER_INSERT,
	STMT_KEY_INSERT,
	STMT_KEY_AUTH,
	STMT_KEY_TOUCH,
	STMT_KEY_TOUCH_N,
	STMT_KEY_LIST,
	STMT_KEY_GET,
	STMT_KEY_UPDATE,
	STMT_KEY_CLEAR_PRIMARY,
	STMT_KEY_REVOKE,
	STMT_KEY_REVOKE_ALL,
	STMT_KEY_ROTATE,
	STMT_KEY_PREV_UNTIL,
	STMT_KEY_COUNT_ACTIVE,
	STMT_SESSION_INSERT,
	STMT_SESSION_EXPIRES,
	STMT_SESSION_AUTH,
	STMT_SESSION_REVOKE,
	STMT_SESSION_REVOKE_ALL,
	STMT_SESSION_REVOKE_OTHERS, /* a user's sessions but one (token hash) */
	STMT_USER_SET_PASSWORD,
	STMT_AUTHFAIL_GET,
	STMT_AUTHFAIL_HIT,
	STMT_AUTHFAIL_CLEAR,
	STMT_INVITE_INSERT,
	STMT_INVITE_EXPIRES,
	STMT_INVITE_USE,
	STMT_LIMIT_UPSERT,
	STMT_LIMIT_GET,
	STMT_LIMIT_LIST_KEYS,
	STMT_AUDIT_HEAD_LOCK,
	STMT_AUDIT_INSERT,
	STMT_AUDIT_HEAD_SET,
	STMT_AUDIT_SCAN,
	STMT_AUDIT_LIST,
	STMT_AUDIT_COUNT,
	STMT_ADMIN_MONITOR,
	STMT_MONITOR_OVERRUN,
	STMT_ADMIN_BALANCES,
	STMT_KEY_OWNER,
	STMT_HOLD_BY_IDEM,
	STMT_HOLD_EXPIRED,
	STMT_LEDGER_RECONCILE,
	STMT_PROVIDER_SEED,
	STMT_MODEL_SEED,
	STMT_ROUTE_SEED,
	STMT_MODEL_LIST,
	STMT_PROVIDER_LIST,
	STMT_AUDIT_HEAD_GET,
	STMT_MODEL_ENABLED,
	STMT_ROUTE_CANDIDATES,
	STMT_UKEY_PICK,
	STMT_PROVIDER_ADMIN_LIST,
	STMT_PROVIDER_ADD,
	STMT_PROVIDER_UPDATE,
	STMT_UKEY_INSERT,
	STMT_UKEY_GET,
	STMT_UKEY_LIST,
	STMT_UKEY_DELETE,
	STMT_UKEY_DISABLE,
	STMT_MODEL_UPSERT,
	STMT_ROUTE_UPSERT,
	STMT_MODEL_UPDATE,
	STMT_ROUTE_UPDATE,
	STMT_CHAT_PAYER,
	STMT_KEY_SPENT,
	STMT_LEDGER_RESERVE,	  /* CALL tg_reserve */
	STMT_LEDGER_RESERVE_MANY, /* CALL tg_reserve_many */
	STMT_LEDGER_SETTLE,	  /* CALL tg_settle */
	STMT_LEASE_CHARGE,	  /* CALL tg_lease_charge */
	STMT_LEASE_CLOSE,	  /* CALL tg_lease_close */
	STMT_LEASE_CHARGED,
	STMT_LEASE_GRANT, /* issue 20: holds.granted of an open lease */
	STMT_LEASE_RENEW, /* issue 20: an open lease's expiry moved on */
	STMT_CARVE_SETTLED,
	STMT_JOURNAL_LEASE,
	STMT_JOURNAL_HOLD, /* issue 20: an exact hold settled in a write-out */
	STMT_JOURNAL_ACCOUNT,
	STMT_JOURNAL_KEY,
	STMT_JOURNAL_MARK_SET,
	STMT_JOURNAL_MARK_GET,
	STMT_JOURNAL_MARK_DEL,
	STMT_CHECK_SUM, /* tollgate ledger check: one statement per proof */
	STMT_CHECK_RESERVED,
	STMT_CHECK_USAGE,
	STMT_CHECK_SPENT,
	STMT_CHECK_OLD,
	STMT_USAGE_SET_REPLAY,
	STMT_USAGE_BY_IDEM,
	STMT_USAGE_LIST,
	STMT_USAGE_SUMMARY,
	STMT_CREDIT_LIST,
	STMT_USAGE_METRICS,
	STMT_USAGE_TOP_MODEL,
	STMT_BILL_MODELS,
	STMT_BILL_USERS,
	STMT_RATE_RULES,
	STMT_UKEY_POOL,
	STMT_UKEY_DEAD,
	STMT_UKEY_ALL,
	STMT_UKEY_UPDATE,
	STMT_RATE_TAKE,
	STMT_RATE_PRUNE,
	STMT_MODEL_IMAGE,
	STMT_MODEL_IMAGE_SEED,
	STMT_MODEL_IMAGE_SET,
	STMT_PROVIDER_LOCK,
	STMT_UKEY_SEALED,
	STMT_UKEY_RESEAL,
	STMT_HOLD_MINE,	    /* a resent tg_reserve: is the hold there? */
	STMT_HOLD_CLOSED,   /* a resent tg_settle: how was the hold closed? */
	STMT_CARVE_CHARGED, /* a resent tg_lease_charge: what was charged? */
	STMT_MODEL_RESOLVE, /* a model id or alias: the model's id and enabled */
	STMT_ALIAS_SEED,
	STMT_ALIAS_SET,
	STMT_ALIAS_DELETE,
	STMT_ALIAS_LIST,
	/* issue 18: compat */
	STMT_COMPAT_KEYS_ALL,
	STMT_COMPAT_KEY_IMPORTED,
	/* issue 18: s001 */
	STMT_REFRESH_ROWS,
	STMT_REFRESH_MODEL_ADD,
	STMT_REFRESH_ROUTE_ADD,
	STMT_REFRESH_MODEL_PRICE,
	STMT_REFRESH_ROUTE_PRICE,
	STMT_MONITOR_BY_DAY,
	/* issue 18: did */
	STMT_DID_USER,
	STMT_DID_USER_INSERT,
	/* issue 18: openrouter */
	STMT_ORKEY_GET,
	STMT_ORKEY_INSERT,
	STMT_ORKEY_STALE,
	STMT_ORKEY_SYNCED,
	STMT_ORKEY_DELETE,
	STMT_ORKEY_CLAIM,
	/* issue 18: money */
	STMT_REDEEM_BATCH_INSERT,
	STMT_REDEEM_CODE_INSERT,
	STMT_REDEEM_BATCH_LIST,
	STMT_REDEEM_BATCH_COUNT,
	STMT_REDEEM_BATCH_GET,
	STMT_REDEEM_CODE_GET,
	STMT_REDEEM_CODE_SPEND,
	STMT_REDEEM_USE_INSERT,
	STMT_BILLING_EVENT_INSERT,
	STMT_TOPUP_INSERT,
	/* issue 18: convlog */
	STMT_CONV_LIST,
	STMT_CONV_GET,
	STMT_CONV_DELETE,
	STMT_CONV_DELETE_USER,
	STMT_CONV_PURGE,
	STMT_CONV_PURGE_GONE,
	STMT_CONV_USER_SET,
	/* issue 18: testmode */
	STMT_SANDBOX_REFILL, /* tg_sandbox_refill: create, grant once a day */
	STMT_SANDBOX_GET,    /* the sandbox account and its grant date */
	/* issue 19: scale */
	STMT_ROLLUP_MARK_LOCK,
	STMT_ROLLUP_FILL,
	STMT_ROLLUP_MAX_ID,
	STMT_ROLLUP_MARK_SET,
	/* issue 19: monthly partitions */
	STMT_PART_LIST,
	STMT_PART_RANGE,
	STMT_PART_ROLLED,
	STMT_PART_TABLE,
	STMT_RETIRE_OPEN,
	STMT_RETIRE_START,
	STMT_RETIRE_FORGET,
	STMT_RETIRING_STAT,
	STMT_RETIRE_SUM,
	STMT_RETIRE_SUMMED,
	STMT_RETIRE_KEYS,
	STMT_RETIRE_DONE,
	STMT_HOLDS_GAUGE, /* issue 19: obs: open holds, and those past TTL */
	STMT__MAX
};

/* Multi-row INSERTs (db_exec_rows), by table. */
enum batch {
	BATCH_USAGE,
	BATCH_USAGE_REPLAY, /* issue 20: with an Idempotency-Key's answer */
	BATCH_LEDGER,
	BATCH_CONV,	  /* issue 18: convlog */
	BATCH_REFUSED,	  /* issue 18: refused requests' usage records */
	BATCH_HOLD_CLOSE, /* issue 20: the write-out's exact holds closed */
	BATCH__MAX
};

/* One row of a q_*.c statement table, ended by {STMT__MAX, NULL, 0}. */
struct stmt_row {
	enum stmt id;
	const char *sql;
	unsigned
	    flags; /* DB_SF_*; DB_SF_RETRY only for what runs twice harmlessly */
};

extern const struct stmt_row q_schema_stmts[], q_user_stmts[], q_key_stmts[],
    q_payer_stmts[], q_ledger_stmts[], q_limit_stmts[], q_audit_stmts[],
    q_usage_stmts[], q_upstream_stmts[], q_catalog_stmts[];
/* issue 18: compat */
extern const struct stmt_row q_compat_stmts[];
/* issue 18: s001 */
extern const struct stmt_row q_refresh_stmts[], q_monitor_stmts[];
/* issue 18: did */
extern const struct stmt_row q_did_stmts[];
/* issue 18: openrouter */
extern const struct stmt_row q_or_key_stmts[];
/* issue 18: money */
extern const struct stmt_row q_money_stmts[];
/* issue 19: scale */
extern const struct stmt_row q_rollup_stmts[];
extern const struct stmt_row q_partition_stmts[];
extern const struct stmt_row q_conv_stmts[]; /* issue 18: convlog */
/* issue 18: testmode */
extern const struct stmt_row q_sandbox_stmts[];

#endif
