/* conf.h: the INI configuration, parsed through a key table */
/* SPDX-License-Identifier: MIT */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>

#include "core/conf_rules.h"
#include "core/tollgate.h"

#define CONF_MAX_GROUPS	 32
#define CONF_MAX_ORIGINS 32

enum conf_registration { REG_OPEN = 0, REG_INVITE, REG_CLOSED };

/* What a request that reached the provider but got no usage is charged. */
enum conf_charge { CHARGE_HOLD = 0, CHARGE_ESTIMATE };

/*
 * issue 18: convlog.  How much of a conversation is kept ([logging]
 * conversations, and each user's own choice): ordered, the lower wins.
 */
enum conv_level { CONV_OFF = 0, CONV_METADATA, CONV_FULL };

struct conf {
	char *path; /* the file this came from */

	/* [server] */
	char *listen;
	unsigned listen_mode;
	unsigned listen_backlog;
	unsigned workers;
	unsigned threads;
	uint64_t max_requests;
	unsigned graceful_timeout;
	unsigned stop_timeout;
	unsigned respawn_threshold;
	unsigned respawn_interval;
	char *pid_file;
	char *run_dir;
	char *state_dir;    /* the journal: on disk, to outlive the machine */
	char *mount_prefix; /* "" or "/x" without trailing slash */

	/* [http] */
	uint64_t max_body;
	unsigned max_json_depth;
	uint64_t max_control_body;  /* bodies of routes outside /v1/ */
	uint64_t max_json_elements; /* values in a data-plane body */
	char *cors_origins_raw;
	char *cors_origins[CONF_MAX_ORIGINS];
	unsigned ncors_origins;
	int cors_any;
	unsigned cors_max_age;
	char *www_dir;

	/* [log] */
	int log_level;
	char *log_file;
	char *access_file;

	/* [db] */
	char *db_host;
	unsigned db_port;
	char *db_socket;
	char *db_user;
	char *db_password;
	char *db_password_file;
	char *db_name;
	unsigned db_pool_size;
	unsigned db_batch_rows; /* rows per multi-row INSERT of the write-out */
	unsigned db_connect_timeout;
	unsigned db_read_timeout;
	unsigned db_write_timeout;
	/* issue 19 (multinode): the read replica ([db] replica_*, io/db.c). */
	char *db_replica_host; /* empty host and socket: no replica */
	unsigned db_replica_port;
	char *db_replica_socket;
	char *db_replica_user;		/* NULL: db.user */
	char *db_replica_password_file; /* NULL: db's password */
	char *db_replica_password;	/* read from the file, not a key */
	unsigned db_replica_pool_size;
	/* s behind the primary before the reads go back to it */
	unsigned db_replica_max_lag;
	char *schema_dir;

	/* [auth] */
	int registration; /* enum conf_registration */
	int auth_allow_query_key;
	unsigned session_ttl;
	unsigned login_max_failures; /* per (email, address) */
	unsigned login_max_failures_per_address;
	unsigned login_window;
	unsigned register_per_hour; /* per address (IPv6: /64); 0 = no limit */
	unsigned max_keys_per_user;
	int auth_basic; /* issue 18: compat: HTTP Basic for admins on admin routes */

	/* [chat] */
	unsigned default_max_tokens;
	char *allow_params_raw; /* parameters the operator allows, priced */
	struct param_allow allow_params[PARAMS_MAX_ALLOW];
	size_t nallow_params;
	unsigned
	    hold_ttl; /* seconds a hold lives before the sweeper takes it */
	unsigned keepalive; /* seconds between SSE comments while waiting */
	unsigned connect_timeout;    /* seconds, upstream connect */
	unsigned first_byte_timeout; /* seconds, upstream headers */
	unsigned idle_timeout;	     /* seconds of upstream silence mid-body */
	unsigned
	    sweep_interval; /* seconds between opportunistic sweeps; 0 off */
	unsigned drain_timeout;	     /* s reading on after the client left */
	unsigned max_stream_seconds; /* a stream's whole life */
	int retry_after_timeout;     /* fail over a timeout after sending */
	/* enum conf_charge: what an ending without usage is charged */
	int charge_client_gone, charge_cut, charge_timeout;

	/* [billing] */
	unsigned commission_bp; /* basis points */
	char *group_commission_raw;
	char *group_names[CONF_MAX_GROUPS];
	unsigned group_bp[CONF_MAX_GROUPS];
	unsigned ngroups;
	int64_t flat_price;  /* micro-USD per million tokens; -1 off */
	int64_t lease_nano;  /* credit lease size per process and user; 0 off */
	unsigned lease_idle; /* seconds before an unused lease is returned */
	int journal_sync;    /* fdatasync each journal line before answering */
	int exact_journal; /* issue 20: exact holds settle through the journal */
	int hold_batch;	   /* issue 20: a process's waiting holds in one call */
	char *
	    tokenizer_dir; /* BPE ranks for estimates (tokenize.h); NULL none */
	/* issue 18: money */
	char *webhook_secret_file;  /* POST /billing/webhook; NULL: off */
	char *webhook_secret;	    /* its secrets, one a line (not a key) */
	unsigned webhook_tolerance; /* seconds a signature's time may be off */
	/* issue 18: testmode */
	int64_t test_credits; /* nano-USD a sandbox is refilled to each day */
	int test_real_models; /* test keys may use real models (sandbox pays) */

	/* [limits] */
	char *limits_defaults_raw;
	struct rate_set limits_default; /* users without a rule of their own */
	char *limits_groups_raw;
	char *limit_group_names[CONF_MAX_GROUPS];
	struct rate_set limit_group_sets[CONF_MAX_GROUPS];
	unsigned nlimit_groups;
	int limits_global; /* counted in the database for every machine */
	unsigned
	    global_share; /* percent of a limit a node takes per round trip */

	/* [cache] */
	unsigned cache_ttl; /* seconds a process trusts a copied row; 0 off */

	/* [upstream] */
	unsigned
	    failures_to_open; /* consecutive failures that open a key's circuit */
	unsigned open_seconds; /* first open period */

	/* [security] */
	char *master_key_file;
	int allow_plain_http; /* provider base URLs over http:// to any host */

	/* [debug] */
	int debug_routes;

	/* [did] (issue 18): did:key signatures as a credential */
	int did_enabled;
	unsigned did_window; /* s a signed timestamp may be off now */
	char *did_group;     /* the group of users made at first contact */
	int64_t did_initial_credits; /* nano-USD granted at first contact */
	/* issue 18: openrouter */
	int or_passthrough_unknown;	/* uncatalogued OpenRouter ids served */
	int64_t or_ceiling_nano;	/* the hold of such a request */
	char *or_provisioning_key_file; /* per-user keys when set */
	char *or_provider;		/* the OpenRouter provider's id */
	/* [upstream] default_key_limits: imported keys' limits, -1/0 none */
	struct conf_key_limits {
		int64_t rpm, rpd, min_interval_ms;
	} ukey_default_limits;
	/* issue 18: convlog: [logging] */
	int conversations;	 /* enum conv_level: the operator's ceiling */
	unsigned retention_days; /* conversations older are purged */
	/* issue 19: obs */
	char *metrics_allow; /* [metrics] allow: addresses/CIDRs, NULL none */
	int log_json;	     /* [log] format = json */
	/* issue 19: [maintain] (domain/partition.c) */
	unsigned maint_ahead;	     /* months with a partition ahead */
	unsigned maint_usage_months; /* months of records kept; 0: all */
	int maint_archive;	     /* retired months kept as tables */
};

/* Called once per problem found; line is 0 for file-level errors. */
typedef void (*conf_err_fn)(
    void *arg, const char *file, unsigned line, const char *msg);

/*
 * Parse path into a new conf (defaults first, then the file).  Every error is
 * reported through errfn; returns NULL if there was any.  Caller owns the
 * result (conf_free).
 */
struct conf *conf_load(const char *path, conf_err_fn errfn, void *arg);
/* A conf holding only the defaults (for tests and CGI without a file). */
struct conf *conf_defaults(void);
/* NULL-safe; scrubs the password. */
void conf_free(struct conf *);
/* The default config file path (TOLLGATE_CONF, else sysconfdir). */
const char *conf_default_path(void);
/* The i-th known key (for the sample-config test); 0, or -1 past the end. */
int conf_key_at(size_t i, const char **section, const char **name);
/* Limits of a user without a rule of its own: its group's, else the defaults. */
const struct rate_set *conf_group_limits(
    const struct conf *, const char *group);
/* Commission in basis points for a user group (its override or the default). */
unsigned conf_group_commission(const struct conf *, const char *group);
/* 1 if origin is allowed by http.cors_origins. */
int conf_origin_allowed(const struct conf *, const char *origin);

#endif
