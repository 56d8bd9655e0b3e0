/* test_conf.c: unit tests for INI configuration loading, defaults and errors */
#include "test_common.h"

#include "core/conf.h"
#include "core/log.h"
#include "domain/limits.h"
#include "prov/params.h"

#define MAXERR 16

/* Every error conf_load reported. */
struct errs {
	int n;
	char file[MAXERR][256];
	unsigned line[MAXERR];
	char msg[MAXERR][512];
};

static void
rec(void *arg, const char *file, unsigned line, const char *msg)
{
	struct errs *e = arg;

	assert_non_null(msg);
	if (e->n < MAXERR) {
		snprintf(e->file[e->n], sizeof(e->file[0]), "%s",
		    file != NULL ? file : "(null)");
		e->line[e->n] = line;
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	}
	e->n++;
}

static void
dump(const struct errs *e)
{
	int i;

	for (i = 0; i < e->n && i < MAXERR; i++)
		print_message(
		    "  %s:%u: %s\n", e->file[i], e->line[i], e->msg[i]);
}

/* Load content from a temporary file; the file name goes into path. */
static struct conf *
load_as(const char *content, struct errs *e, char *path, size_t pathlen)
{
	struct conf *c;

	memset(e, 0, sizeof(*e));
	test_tmpfile(path, pathlen, content, 0600);
	c = conf_load(path, rec, e);
	unlink(path);
	return c;
}

static struct conf *
load(const char *content, struct errs *e)
{
	char path[256];

	return load_as(content, e, path, sizeof(path));
}

/* A file that must load without any error. */
static struct conf *
load_ok(const char *content)
{
	struct errs e;
	struct conf *c;

	c = load(content, &e);
	if (e.n != 0 || c == NULL) {
		dump(&e);
		fail_msg("%d errors loading:\n%s", e.n, content);
	}
	return c;
}

/* A file that must fail with exactly one error, at line. */
static void
load_fails_at(const char *content, unsigned line)
{
	struct errs e;
	struct conf *c;

	c = load(content, &e);
	if (c != NULL) {
		conf_free(c);
		fail_msg("loaded, but should fail:\n%s", content);
	}
	if (e.n != 1 || e.line[0] != line) {
		dump(&e);
		fail_msg("want 1 error at line %u, got %d", line, e.n);
	}
}

/* Unset string options are NULL or "". */
#define assert_unset(s)                                                        \
	do {                                                                   \
		const char *u_ = (s);                                          \
		if (u_ != NULL && *u_ != '\0')                                 \
			fail_msg("%s = \"%s\", want unset", #s, u_);           \
	} while (0)

static void
check_defaults(const struct conf *c)
{
	assert_str(c->listen, "unix:/run/tollgate/tollgate.sock");
	assert_uint_equal(c->listen_mode, 0660);
	assert_uint_equal(c->listen_backlog, 4096);
	assert_uint_equal(c->workers, 2);
	assert_uint_equal(c->threads, 4);
	assert_uint_equal(c->max_requests, 0);
	assert_uint_equal(c->graceful_timeout, 600);
	assert_uint_equal(c->stop_timeout, 5);
	assert_uint_equal(c->respawn_threshold, 10);
	assert_uint_equal(c->respawn_interval, 60);
	assert_unset(c->pid_file);
	assert_str(c->run_dir, "/run/tollgate");
	assert_str(c->mount_prefix, "");

	assert_uint_equal(c->max_body, 8388608);
	assert_uint_equal(c->max_json_depth, 64);
	assert_uint_equal(c->max_control_body, 65536);
	assert_uint_equal(c->max_json_elements, 100000);
	assert_unset(c->cors_origins_raw);
	assert_uint_equal(c->ncors_origins, 0);
	assert_int_equal(c->cors_any, 0);
	assert_uint_equal(c->cors_max_age, 600);
	assert_str(c->www_dir, TG_PKGDATADIR "/www");

	assert_int_equal(c->log_level, LOG_INFO);
	assert_unset(c->log_file);
	assert_unset(c->access_file);

	assert_str(c->db_host, "localhost");
	assert_uint_equal(c->db_port, 3306);
	assert_unset(c->db_socket);
	assert_str(c->db_user, "tollgate");
	assert_unset(c->db_password);
	assert_unset(c->db_password_file);
	assert_str(c->db_name, "tollgate");
	assert_uint_equal(c->db_pool_size, 0);
	assert_uint_equal(c->db_batch_rows, 16);
	assert_uint_equal(c->db_connect_timeout, 3);
	assert_uint_equal(c->db_read_timeout, 30);
	assert_uint_equal(c->db_write_timeout, 30);
	assert_str(c->schema_dir, TG_PKGDATADIR "/schema");

	assert_int_equal(c->debug_routes, 0);
	/* issue 20: credit leases on by default, 1.00 USD. */
	assert_int_equal(c->lease_nano, 1000000000);
	assert_uint_equal(c->lease_idle, 10);
	assert_int_equal(c->journal_sync, 0);
	assert_unset(c->allow_params_raw);
	assert_int_equal(c->nallow_params, 0);
}

/* [chat] allow_params: name:rule items, each rule's price, clear refusals. */
static void
t_chat_allow_params(void **state)
{
	struct conf *c;
	struct errs e;

	(void)state;
	c = load_ok("[chat]\nallow_params = plugins:add_usd=0.02, top_z:free,"
		    "my_param:times\n");
	assert_int_equal(c->nallow_params, 3);
	assert_string_equal(c->allow_params[0].name, "plugins");
	assert_int_equal(c->allow_params[0].rule, ALLOW_ADD);
	assert_int_equal(c->allow_params[0].fee, 20000000);
	assert_string_equal(c->allow_params[1].name, "top_z");
	assert_int_equal(c->allow_params[1].rule, ALLOW_FREE);
	assert_string_equal(c->allow_params[2].name, "my_param");
	assert_int_equal(c->allow_params[2].rule, ALLOW_TIMES);
	conf_free(c);
	c = load_ok("[chat]\nallow_params =\n");
	assert_int_equal(c->nallow_params, 0);
	conf_free(c);
	c = load_ok("[chat]\n");
	assert_int_equal(c->nallow_params, 0);
	conf_free(c);
	/* the fee: more than 0, at most 100 USD, 9 decimals */
	c = load_ok("[chat]\nallow_params = x:add_usd=100\n");
	assert_int_equal(c->allow_params[0].fee, 100000000000LL);
	conf_free(c);
	c = load_ok("[chat]\nallow_params = x:add_usd=0.000000001\n");
	assert_int_equal(c->allow_params[0].fee, 1);
	conf_free(c);
	load_fails_at("[chat]\nallow_params = x:add_usd=100.000000001\n", 2);
	load_fails_at("[chat]\nallow_params = x:add_usd=0\n", 2);
	load_fails_at("[chat]\nallow_params = x:add_usd=-1\n", 2);
	load_fails_at("[chat]\nallow_params = x:add_usd=\n", 2);
	/* not name:rule, an unknown rule, a name twice, a bad name */
	load_fails_at("[chat]\n\nallow_params = plugins\n", 3);
	load_fails_at("[chat]\nallow_params = plugins:cheap\n", 2);
	load_fails_at("[chat]\nallow_params = :free\n", 2);
	load_fails_at("[chat]\nallow_params = a:free, a:times\n", 2);
	load_fails_at("[chat]\nallow_params = a/b:free\n", 2);
	/* what tollgate forwards or prices itself cannot be re-priced */
	load_fails_at("[chat]\nallow_params = temperature:free\n", 2);
	load_fails_at("[chat]\nallow_params = max_tokens:free\n", 2);
	load_fails_at("[chat]\nallow_params = n:times\n", 2);
	/* at most 16 */
	c = load(
	    "[chat]\nallow_params = a1:free,a2:free,a3:free,a4:free,a5:free,"
	    "a6:free,a7:free,a8:free,a9:free,a10:free,a11:free,a12:free,"
	    "a13:free,a14:free,a15:free,a16:free,a17:free\n",
	    &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.msg[0], "16"));
	/* the message names the item */
	c = load("[chat]\nallow_params = plugins:cheap\n", &e);
	assert_null(c);
	assert_non_null(strstr(e.msg[0], "plugins:cheap"));
}

/* Leases and the journal's sync: values, and a bad value named at its line. */
static void
t_billing_leases(void **state)
{
	struct conf *c;

	c = load_ok(
	    "[billing]\nlease = 1.50\nlease_idle = 30\njournal_sync = on\n");
	assert_int_equal(c->lease_nano, 1500000000);
	assert_uint_equal(c->lease_idle, 30);
	assert_int_equal(c->journal_sync, 1);
	conf_free(c);
	c = load_ok("[billing]\njournal_sync = off\n");
	assert_int_equal(c->journal_sync, 0);
	conf_free(c);
	/* issue 20: 0 or an empty value turns the default leases off. */
	c = load_ok("[billing]\nlease = 0\n");
	assert_int_equal(c->lease_nano, 0);
	conf_free(c);
	c = load_ok("[billing]\nlease =\n");
	assert_int_equal(c->lease_nano, 0);
	conf_free(c);
	c = load_ok("[server]\nrun_dir = /tmp/r\nstate_dir = /var/lib/x\n");
	assert_str(c->state_dir, "/var/lib/x");
	conf_free(c);
	load_fails_at("[billing]\nlease = 1.00\njournal_sync = maybe\n", 3);
	load_fails_at("[billing]\nlease_idle = 0\n", 2);
	/* The write-out's rows per INSERT: 1 to 128. */
	c = load_ok("[db]\nbatch_rows = 128\n");
	assert_uint_equal(c->db_batch_rows, 128);
	conf_free(c);
	c = load_ok("[db]\nbatch_rows = 1\n");
	assert_uint_equal(c->db_batch_rows, 1);
	conf_free(c);
	load_fails_at("[db]\nbatch_rows = 0\n", 2);
	load_fails_at("[db]\n\nbatch_rows = 129\n", 3);
	load_fails_at("[db]\nbatch_rows = 16 rows\n", 2);
}

/* Endings without usage (issue 13): values, defaults and bounds. */
static void
t_chat_endings(void **state)
{
	struct conf *c;

	c = load_ok("");
	assert_uint_equal(c->drain_timeout, 30);
	assert_uint_equal(c->max_stream_seconds, 600);
	assert_int_equal(c->retry_after_timeout, 0);
	assert_int_equal(c->charge_client_gone, CHARGE_HOLD);
	assert_int_equal(c->charge_cut, CHARGE_HOLD);
	assert_int_equal(c->charge_timeout, CHARGE_HOLD);
	conf_free(c);
	c = load_ok("[chat]\ndrain_timeout = 0\nmax_stream_seconds = 86400\n"
		    "retry_after_timeout = on\ncharge_client_gone = estimate\n"
		    "charge_cut = estimate\ncharge_timeout = hold\n");
	assert_uint_equal(c->drain_timeout, 0);
	assert_uint_equal(c->max_stream_seconds, 86400);
	assert_int_equal(c->retry_after_timeout, 1);
	assert_int_equal(c->charge_client_gone, CHARGE_ESTIMATE);
	assert_int_equal(c->charge_cut, CHARGE_ESTIMATE);
	assert_int_equal(c->charge_timeout, CHARGE_HOLD);
	conf_free(c);
	load_fails_at("[chat]\ndrain_timeout = 3601\n", 2);
	load_fails_at("[chat]\nmax_stream_seconds = 0\n", 2);
	load_fails_at("[chat]\nmax_stream_seconds = 86401\n", 2);
	load_fails_at("[chat]\nretry_after_timeout = maybe\n", 2);
	load_fails_at("[chat]\n\ncharge_cut = nothing\n", 3);
	load_fails_at("[chat]\ncharge_client_gone = HOLD\n", 2);
}

static void
t_defaults_empty_file(void **state)
{
	char path[256];
	struct errs e;
	struct conf *c;

	c = load_as("", &e, path, sizeof(path));
	assert_int_equal(e.n, 0);
	assert_non_null(c);
	assert_str(c->path, path);
	check_defaults(c);
	/* issue 20: no state_dir: the journal stays in run_dir (conf_load). */
	assert_str(c->state_dir, "/run/tollgate");
	conf_free(c);
}

static void
t_defaults_sections_without_keys(void **state)
{
	struct conf *c;

	c = load_ok("# nothing but comments\n"
		    "; and the other comment style\n"
		    "[server]\n"
		    "\n"
		    "[http]\n"
		    "[log]\n"
		    "[db]\n"
		    "[debug]\n");
	check_defaults(c);
	conf_free(c);
}

static void
t_defaults_function(void **state)
{
	struct conf *c = conf_defaults();

	assert_non_null(c);
	check_defaults(c);
	conf_free(c);
}

static void
t_server_section(void **state)
{
	struct conf *c;

	c = load_ok("[server]\n"
		    "listen = 127.0.0.1:9000\n"
		    "listen_mode = 0600\n"
		    "listen_backlog = 128\n"
		    "workers = 3\n"
		    "threads = 8\n"
		    "max_requests = 5000\n"
		    "graceful_timeout = 30\n"
		    "stop_timeout = 2\n"
		    "respawn_threshold = 4\n"
		    "respawn_interval = 20\n"
		    "pid_file = /tmp/tg.pid\n"
		    "run_dir = /tmp/tg-run\n"
		    "mount_prefix = /tollgate\n");
	assert_str(c->listen, "127.0.0.1:9000");
	assert_uint_equal(c->listen_mode, 0600);
	assert_uint_equal(c->listen_backlog, 128);
	assert_uint_equal(c->workers, 3);
	assert_uint_equal(c->threads, 8);
	assert_uint_equal(c->max_requests, 5000);
	assert_uint_equal(c->graceful_timeout, 30);
	assert_uint_equal(c->stop_timeout, 2);
	assert_uint_equal(c->respawn_threshold, 4);
	assert_uint_equal(c->respawn_interval, 20);
	assert_str(c->pid_file, "/tmp/tg.pid");
	assert_str(c->run_dir, "/tmp/tg-run");
	assert_str(c->mount_prefix, "/tollgate");
	/* Other sections keep their defaults. */
	assert_uint_equal(c->max_body, 8388608);
	assert_uint_equal(c->db_port, 3306);
	conf_free(c);
}

static void
t_http_section(void **state)
{
	struct conf *c;

	c = load_ok("[http]\n"
		    "max_body = 65536\n"
		    "max_json_depth = 10\n"
		    "cors_origins = https://a.example\n"
		    "cors_max_age = 60\n"
		    "www_dir = /srv/www\n");
	assert_uint_equal(c->max_body, 65536);
	assert_uint_equal(c->max_json_depth, 10);
	assert_str(c->cors_origins_raw, "https://a.example");
	assert_uint_equal(c->ncors_origins, 1);
	assert_str(c->cors_origins[0], "https://a.example");
	assert_int_equal(c->cors_any, 0);
	assert_uint_equal(c->cors_max_age, 60);
	assert_str(c->www_dir, "/srv/www");
	assert_uint_equal(c->workers, 2);
	conf_free(c);
}

static void
t_log_section(void **state)
{
	struct conf *c;

	c = load_ok("[log]\n"
		    "level = debug\n"
		    "file = /tmp/tg-error.log\n"
		    "access_file = off\n");
	assert_int_equal(c->log_level, LOG_DEBUG);
	assert_str(c->log_file, "/tmp/tg-error.log");
	assert_str(c->access_file, "off");
	conf_free(c);
}

/* issue 19: obs: [log] format and [metrics] allow. */
static void
t_log_format_metrics_allow(void **state)
{
	struct conf *c;

	c = load_ok("[log]\nlevel = info\n");
	assert_int_equal(c->log_json, 0);
	assert_unset(c->metrics_allow);
	conf_free(c);
	c = load_ok(
	    "[log]\nformat = json\n[metrics]\nallow = 10.0.0.0/8, ::1\n");
	assert_int_equal(c->log_json, 1);
	assert_str(c->metrics_allow, "10.0.0.0/8, ::1");
	conf_free(c);
	c = load_ok("[log]\nformat = text\n");
	assert_int_equal(c->log_json, 0);
	conf_free(c);
	load_fails_at("[log]\nlevel = info\nformat = xml\n", 3);
}

static void
t_log_levels(void **state)
{
	static const struct {
		const char *name;
		int level;
	} lv[] = {
	    {"error", LOG_ERR},
	    {"warn", LOG_WARN},
	    {"info", LOG_INFO},
	    {"debug", LOG_DEBUG},
	};
	char text[64];
	struct conf *c;
	size_t i;

	for (i = 0; i < sizeof(lv) / sizeof(lv[0]); i++) {
		snprintf(text, sizeof(text), "[log]\nlevel = %s\n", lv[i].name);
		c = load_ok(text);
		assert_int_equal(c->log_level, lv[i].level);
		conf_free(c);
	}
}

static void
t_log_level_bad(void **state)
{
	load_fails_at("[log]\nlevel = loud\n", 2);
}

static void
t_db_section(void **state)
{
	struct conf *c;

	c = load_ok("[db]\n"
		    "host = db.example\n"
		    "port = 3307\n"
		    "socket = /run/mysqld/mysqld.sock\n"
		    "user = tg\n"
		    "password = hunter2\n"
		    "name = tgdb\n"
		    "pool_size = 8\n"
		    "connect_timeout = 1\n"
		    "read_timeout = 10\n"
		    "write_timeout = 11\n"
		    "schema_dir = /srv/schema\n");
	assert_str(c->db_host, "db.example");
	assert_uint_equal(c->db_port, 3307);
	assert_str(c->db_socket, "/run/mysqld/mysqld.sock");
	assert_str(c->db_user, "tg");
	assert_str(c->db_password, "hunter2");
	assert_str(c->db_name, "tgdb");
	assert_uint_equal(c->db_pool_size, 8);
	assert_uint_equal(c->db_connect_timeout, 1);
	assert_uint_equal(c->db_read_timeout, 10);
	assert_uint_equal(c->db_write_timeout, 11);
	assert_str(c->schema_dir, "/srv/schema");
	conf_free(c);
}

static void
t_db_port_range(void **state)
{
	load_fails_at("[db]\nport = 0\n", 2);
	load_fails_at("[db]\nport = 65536\n", 2);
}

/*
 * issue 19 (multinode): [db] replica_*: none by default; its password from a
 * file not readable by others, kept apart from the primary's; bounds.
 */
static void
t_db_replica(void **state)
{
	char pw[256], text[1024];
	struct errs e;
	struct conf *c;

	c = load_ok("");
	assert_null(c->db_replica_host);
	assert_null(c->db_replica_socket);
	assert_uint_equal(c->db_replica_port, 3306);
	assert_uint_equal(c->db_replica_pool_size, 2);
	assert_uint_equal(c->db_replica_max_lag, 5);
	conf_free(c);
	test_tmpfile(pw, sizeof(pw), "replica-secret\n", 0600);
	snprintf(text, sizeof(text),
	    "[db]\npassword = primary\nreplica_host = r.example\n"
	    "replica_port = 3307\nreplica_user = ro\n"
	    "replica_password_file = %s\nreplica_pool_size = 3\n"
	    "replica_max_lag = 0\n",
	    pw);
	c = load_ok(text);
	assert_str(c->db_replica_host, "r.example");
	assert_uint_equal(c->db_replica_port, 3307);
	assert_str(c->db_replica_user, "ro");
	assert_str(c->db_replica_password, "replica-secret");
	assert_str(c->db_password, "primary");
	assert_uint_equal(c->db_replica_pool_size, 3);
	assert_uint_equal(c->db_replica_max_lag, 0);
	conf_free(c);
	/* A password file others may read is refused, as db.password_file. */
	chmod(pw, 0644);
	snprintf(text, sizeof(text), "[db]\nreplica_password_file = %s\n", pw);
	c = load(text, &e);
	unlink(pw);
	assert_null(c);
	assert_int_equal(e.n, 1);
	load_fails_at("[db]\nreplica_pool_size = 0\n", 2);
	load_fails_at("[db]\nreplica_port = 70000\n", 2);
}

/* Issue 13's throttles: defaults that hold a small host up, and their bounds. */
static void
t_auth_throttles(void **state)
{
	struct conf *c;

	c = load_ok("");
	assert_uint_equal(c->register_per_hour, 10);
	assert_uint_equal(c->login_max_failures, 10);
	assert_uint_equal(c->login_max_failures_per_address, 50);
	conf_free(c);
	c = load_ok("[auth]\nregister_per_hour = 0\n"
		    "login_max_failures_per_address = 100000\n");
	assert_uint_equal(c->register_per_hour, 0);
	assert_uint_equal(c->login_max_failures_per_address, 100000);
	conf_free(c);
	load_fails_at("[auth]\nregister_per_hour = 100001\n", 2);
	load_fails_at("[auth]\nregister_per_hour = -1\n", 2);
	load_fails_at("[auth]\nlogin_max_failures_per_address = 0\n", 2);
	load_fails_at("[auth]\nlogin_max_failures_per_address = 100001\n", 2);
}

/* Issue 13: per-user limits by default, sized by the slots; "none" lifts them. */
static void
t_limits_builtin(void **state)
{
	struct conf *c;

	c = load_ok("");
	assert_int_equal(c->limits_default.v[RL_RPM], 60);
	assert_int_equal(c->limits_default.v[RL_CONC], 2); /* 2 x 4 slots */
	assert_int_equal(c->limits_default.v[RL_TPD], -1);
	conf_free(c);
	c = load_ok("[server]\nworkers = 4\nthreads = 16\n");
	assert_int_equal(c->limits_default.v[RL_CONC], 16);
	conf_free(c);
	c = load_ok("[limits]\ndefaults = none\n");
	assert_int_equal(c->limits_default.v[RL_RPM], -1);
	assert_int_equal(c->limits_default.v[RL_CONC], -1);
	conf_free(c);
	c = load_ok("[limits]\ndefaults = max_concurrent=5\n");
	assert_int_equal(c->limits_default.v[RL_RPM], -1);
	assert_int_equal(c->limits_default.v[RL_CONC], 5);
	conf_free(c);
}

static void
t_debug_section(void **state)
{
	struct conf *c;

	c = load_ok("[debug]\nroutes = on\n");
	assert_int_equal(c->debug_routes, 1);
	conf_free(c);
	c = load_ok("[debug]\nroutes = off\n");
	assert_int_equal(c->debug_routes, 0);
	conf_free(c);
}

static void
t_debug_routes_bad(void **state)
{
	load_fails_at("[debug]\n\nroutes = maybe\n", 3);
}

static void
t_size_suffixes(void **state)
{
	struct conf *c;

	c = load_ok("[http]\nmax_body = 64K\n");
	assert_uint_equal(c->max_body, 65536);
	conf_free(c);
	c = load_ok("[http]\nmax_body = 2M\n");
	assert_uint_equal(c->max_body, 2097152);
	conf_free(c);
	c = load_ok("[http]\nmax_body = 100000\n");
	assert_uint_equal(c->max_body, 100000);
	conf_free(c);
}

static void
t_body_caps_bounds(void **state)
{
	struct conf *c;

	c = load_ok("[http]\nmax_control_body = 1K\nmax_json_elements = 16\n");
	assert_uint_equal(c->max_control_body, 1024);
	assert_uint_equal(c->max_json_elements, 16);
	conf_free(c);
	c = load_ok("[http]\nmax_control_body = 1G\n"
		    "max_json_elements = 100000000\n");
	assert_uint_equal(c->max_control_body, 1ull << 30);
	assert_uint_equal(c->max_json_elements, 100000000);
	conf_free(c);
	load_fails_at("[http]\nmax_control_body = 1023\n", 2);
	load_fails_at("[http]\nmax_control_body = 2G\n", 2);
	load_fails_at("[http]\nmax_json_elements = 15\n", 2);
	load_fails_at("[http]\nmax_json_elements = 100000001\n", 2);
}

static void
t_allow_plain_http(void **state)
{
	struct conf *c;

	c = load_ok("");
	assert_int_equal(c->allow_plain_http, 0);
	conf_free(c);
	c = load_ok("[security]\nallow_plain_http = on\n");
	assert_int_equal(c->allow_plain_http, 1);
	conf_free(c);
	load_fails_at("[security]\nallow_plain_http = sometimes\n", 2);
}

static void
t_size_bad(void **state)
{
	load_fails_at("[http]\nmax_body = 8X\n", 2);
	load_fails_at("[http]\nmax_body = -1\n", 2);
	load_fails_at("[http]\nmax_body = \n", 2);
}

static void
t_bad_number_line(void **state)
{
	char path[256];
	struct errs e;
	struct conf *c;

	c = load_as("# tollgate\n"
		    "[server]\n"
		    "threads = 4\n"
		    "workers = banana\n",
	    &e, path, sizeof(path));
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_uint_equal(e.line[0], 4);
	assert_str(e.file[0], path);
	/* The message quotes the offending text. */
	assert_contains(e.msg[0], "banana");
}

static void
t_syntax_error(void **state)
{
	load_fails_at("[server]\nworkers 3\n", 2);
	load_fails_at("[server]\nworkers = 3\n[http\n", 3);
}

static void
t_number_trailing_garbage(void **state)
{
	load_fails_at("[server]\nworkers = 3x\n", 2);
	load_fails_at("[server]\nworkers = -3\n", 2);
	load_fails_at("[server]\nmax_requests = 99999999999999999999999\n", 2);
}

static void
t_unknown_key(void **state)
{
	struct errs e;
	struct conf *c;

	c = load("[server]\n"
		 "workers = 2\n"
		 "\n"
		 "wrokers = 3\n",
	    &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_uint_equal(e.line[0], 4);
	assert_contains(e.msg[0], "wrokers");
}

static void
t_key_in_wrong_section(void **state)
{
	/* workers exists, but in [server]. */
	load_fails_at("[http]\nworkers = 3\n", 2);
}

static void
t_unknown_section(void **state)
{
	struct errs e;
	struct conf *c;

	c = load("[server]\n"
		 "workers = 2\n"
		 "[nope]\n"
		 "key = 1\n",
	    &e);
	assert_null(c);
	assert_true(e.n >= 1);
	/* The section header or its key. */
	assert_true(e.line[0] == 3 || e.line[0] == 4);
}

static void
t_key_outside_section(void **state)
{
	load_fails_at("workers = 3\n", 1);
}

static void
t_workers_range(void **state)
{
	load_fails_at("[server]\nworkers = 0\n", 2);
	load_fails_at("[server]\nworkers = 100000\n", 2);
}

static void
t_threads_range(void **state)
{
	load_fails_at("[server]\nthreads = 0\n", 2);
}

static void
t_multiple_errors(void **state)
{
	struct errs e;
	struct conf *c;

	c = load("[server]\n"
		 "workers = banana\n"
		 "threads = 4\n"
		 "bogus = 1\n"
		 "[http]\n"
		 "max_body = lots\n"
		 "[log]\n"
		 "level = loud\n",
	    &e);
	assert_null(c);
	if (e.n != 4)
		dump(&e);
	assert_int_equal(e.n, 4);
	assert_uint_equal(e.line[0], 2);
	assert_uint_equal(e.line[1], 4);
	assert_uint_equal(e.line[2], 6);
	assert_uint_equal(e.line[3], 8);
}

static void
t_listen_forms(void **state)
{
	static const char *forms[] = {
	    "unix:/x",
	    "/x",
	    "127.0.0.1:9000",
	    "[::1]:9000",
	    "localhost:9000",
	};
	char text[128];
	struct conf *c;
	size_t i;

	for (i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		snprintf(
		    text, sizeof(text), "[server]\nlisten = %s\n", forms[i]);
		c = load_ok(text);
		assert_str(c->listen, forms[i]);
		conf_free(c);
	}
}

static void
t_listen_bad(void **state)
{
	load_fails_at("[server]\nlisten = nonsense\n", 2);
	load_fails_at("[server]\nlisten = 127.0.0.1:99999\n", 2);
	load_fails_at("[server]\nlisten = 127.0.0.1:\n", 2);
	load_fails_at("[server]\nlisten = [::1]\n", 2);
	load_fails_at("[server]\nlisten = unix:relative.sock\n", 2);
}

static void
t_mount_prefix_normalised(void **state)
{
	struct conf *c;

	c = load_ok("[server]\nmount_prefix = /tollgate/\n");
	assert_str(c->mount_prefix, "/tollgate");
	conf_free(c);
	c = load_ok("[server]\nmount_prefix = /api/llm\n");
	assert_str(c->mount_prefix, "/api/llm");
	conf_free(c);
	c = load_ok("[server]\nmount_prefix = /\n");
	assert_str(c->mount_prefix, "");
	conf_free(c);
}

static void
t_mount_prefix_needs_slash(void **state)
{
	load_fails_at("[server]\nmount_prefix = tollgate\n", 2);
}

static void
t_cors_any(void **state)
{
	struct conf *c;

	c = load_ok("[http]\ncors_origins = *\n");
	assert_int_equal(c->cors_any, 1);
	assert_true(conf_origin_allowed(c, "https://anything.example"));
	conf_free(c);
}

static void
t_cors_list(void **state)
{
	struct conf *c;

	c = load_ok("[http]\n"
		    "cors_origins = https://a.example, https://b.example\n");
	assert_int_equal(c->cors_any, 0);
	assert_uint_equal(c->ncors_origins, 2);
	assert_str(c->cors_origins[0], "https://a.example");
	assert_str(c->cors_origins[1], "https://b.example");
	assert_true(conf_origin_allowed(c, "https://a.example"));
	assert_true(conf_origin_allowed(c, "https://b.example"));
	assert_false(conf_origin_allowed(c, "https://c.example"));
	assert_false(conf_origin_allowed(c, "https://a.example.evil"));
	assert_false(conf_origin_allowed(c, "https://a.exampl"));
	assert_false(conf_origin_allowed(c, "http://a.example"));
	assert_false(conf_origin_allowed(c, ""));
	conf_free(c);
}

static void
t_cors_space_list(void **state)
{
	struct conf *c;

	c = load_ok("[http]\n"
		    "cors_origins = https://a.example  https://b.example,"
		    "https://c.example\n");
	assert_uint_equal(c->ncors_origins, 3);
	assert_str(c->cors_origins[2], "https://c.example");
	assert_true(conf_origin_allowed(c, "https://c.example"));
	conf_free(c);
}

static void
t_long_line(void **state)
{
	char text[2048];
	struct conf *c;
	size_t o;
	int i;

	/* A realistic CORS list is longer than a 200-byte line buffer. */
	o = (size_t)snprintf(text, sizeof(text), "[http]\ncors_origins =");
	for (i = 0; i < 12; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o,
		    " https://app%02d.customer.example.com", i);
	snprintf(text + o, sizeof(text) - o, "\n[server]\nworkers = 3\n");
	c = load_ok(text);
	assert_uint_equal(c->ncors_origins, 12);
	assert_str(c->cors_origins[11], "https://app11.customer.example.com");
	assert_uint_equal(c->workers, 3);
	conf_free(c);
}

static void
t_cors_off(void **state)
{
	struct conf *c = conf_defaults();

	assert_false(conf_origin_allowed(c, "https://a.example"));
	conf_free(c);
}

static void
t_password_file(void **state)
{
	char pwpath[256], text[512];
	struct conf *c;

	test_tmpfile(pwpath, sizeof(pwpath), "s3cret pass\n", 0600);
	snprintf(text, sizeof(text), "[db]\npassword_file = %s\n", pwpath);
	c = load_ok(text);
	unlink(pwpath);
	assert_str(c->db_password, "s3cret pass");
	assert_str(c->db_password_file, pwpath);
	conf_free(c);
}

static void
t_password_file_world_readable(void **state)
{
	char pwpath[256], text[512];
	struct errs e;
	struct conf *c;

	test_tmpfile(pwpath, sizeof(pwpath), "s3cret\n", 0644);
	snprintf(text, sizeof(text), "[db]\npassword_file = %s\n", pwpath);
	c = load(text, &e);
	unlink(pwpath);
	assert_null(c);
	assert_int_equal(e.n, 1);
	/* The key's line, or 0 when checked after parsing. */
	assert_true(e.line[0] == 2 || e.line[0] == 0);
}

static void
t_password_file_missing(void **state)
{
	struct errs e;
	struct conf *c;

	c = load("[db]\npassword_file = /nonexistent/tollgate/pw\n", &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_true(e.line[0] == 2 || e.line[0] == 0);
}

static void
t_missing_file(void **state)
{
	const char *path = "/nonexistent/tollgate.conf";
	struct errs e;
	struct conf *c;

	memset(&e, 0, sizeof(e));
	c = conf_load(path, rec, &e);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_uint_equal(e.line[0], 0);
	assert_str(e.file[0], path);
}

static void
t_default_path_env(void **state)
{
	const char *p;

	assert_int_equal(setenv("TOLLGATE_CONF", "/tmp/tg-test.conf", 1), 0);
	p = conf_default_path();
	assert_str(p, "/tmp/tg-test.conf");
	assert_int_equal(unsetenv("TOLLGATE_CONF"), 0);
	p = conf_default_path();
	assert_str(p, TG_SYSCONFDIR "/tollgate.conf");
}

static void
t_free_null(void **state)
{
	conf_free(NULL);
}

/*
 * etc/tollgate.conf.sample.in documents every key, commented out with its
 * default, under its section; and with the comments removed it is valid.
 */
static void
t_sample_documents_every_key(void **state)
{
	const char *src = getenv("TOLLGATE_SRCDIR");
	const char *sec, *name;
	char path[4096], line[4096], cur[64] = "", want[160], tmp[64];
	char *uncommented = NULL;
	size_t i, ulen = 0, n;
	FILE *fp, *mem;
	struct conf *c;
	int found;

	snprintf(path, sizeof(path), "%s/etc/tollgate.conf.sample.in",
	    src != NULL ? src : ".");
	for (i = 0; conf_key_at(i, &sec, &name) == 0; i++) {
		assert_non_null(fp = fopen(path, "r"));
		snprintf(want, sizeof(want), ";%s = ", name);
		found = 0;
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (sscanf(line, "[%63[^]]]", cur) == 1)
				continue;
			if (strcmp(cur, sec) == 0 &&
			    strncmp(line, want, strlen(want) - 1) == 0)
				found = 1;
		}
		fclose(fp);
		if (!found)
			fail_msg(
			    "%s.%s is not documented in %s", sec, name, path);
	}
	assert_true(i > 20);
	/* Every ";key = default" line, uncommented, must parse. */
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(mem = open_memstream(&uncommented, &ulen));
	while (fgets(line, sizeof(line), fp) != NULL) {
		n = strlen(line);
		if (line[0] == ';' && n > 1 && line[1] != ' ')
			fputs(line + 1, mem);
		else if (line[0] == '[')
			fputs(line, mem);
	}
	fclose(fp);
	fclose(mem);
	/* @pkgdatadir@ is substituted at build time; any path will do here. */
	for (char *at; (at = strstr(uncommented, "@pkgdatadir@")) != NULL;)
		memcpy(at, "/usr/share/x", 12);
	test_tmpfile(tmp, sizeof(tmp), uncommented, 0600);
	c = conf_load(tmp, NULL, NULL);
	unlink(tmp);
	free(uncommented);
	assert_non_null(c);
	/* The documented defaults are the real ones. */
	assert_int_equal(c->workers, 2);
	assert_int_equal(c->threads, 4);
	assert_int_equal(c->max_body, 8u << 20);
	conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_defaults_empty_file),
	    cmocka_unit_test(t_defaults_sections_without_keys),
	    cmocka_unit_test(t_defaults_function),
	    cmocka_unit_test(t_server_section),
	    cmocka_unit_test(t_http_section),
	    cmocka_unit_test(t_log_section),
	    cmocka_unit_test(t_log_levels),
	    cmocka_unit_test(t_log_level_bad),
	    cmocka_unit_test(t_db_section),
	    cmocka_unit_test(t_db_port_range),
	    cmocka_unit_test(t_db_replica),
	    cmocka_unit_test(t_auth_throttles),
	    cmocka_unit_test(t_limits_builtin),
	    cmocka_unit_test(t_debug_section),
	    cmocka_unit_test(t_debug_routes_bad),
	    cmocka_unit_test(t_size_suffixes),
	    cmocka_unit_test(t_size_bad),
	    cmocka_unit_test(t_body_caps_bounds),
	    cmocka_unit_test(t_allow_plain_http),
	    cmocka_unit_test(t_bad_number_line),
	    cmocka_unit_test(t_syntax_error),
	    cmocka_unit_test(t_number_trailing_garbage),
	    cmocka_unit_test(t_unknown_key),
	    cmocka_unit_test(t_key_in_wrong_section),
	    cmocka_unit_test(t_unknown_section),
	    cmocka_unit_test(t_key_outside_section),
	    cmocka_unit_test(t_workers_range),
	    cmocka_unit_test(t_threads_range),
	    cmocka_unit_test(t_multiple_errors),
	    cmocka_unit_test(t_listen_forms),
	    cmocka_unit_test(t_listen_bad),
	    cmocka_unit_test(t_mount_prefix_normalised),
	    cmocka_unit_test(t_mount_prefix_needs_slash),
	    cmocka_unit_test(t_cors_any),
	    cmocka_unit_test(t_cors_list),
	    cmocka_unit_test(t_cors_space_list),
	    cmocka_unit_test(t_long_line),
	    cmocka_unit_test(t_cors_off),
	    cmocka_unit_test(t_password_file),
	    cmocka_unit_test(t_password_file_world_readable),
	    cmocka_unit_test(t_password_file_missing),
	    cmocka_unit_test(t_missing_file),
	    cmocka_unit_test(t_default_path_env),
	    cmocka_unit_test(t_free_null),
	    cmocka_unit_test(t_sample_documents_every_key),
	    cmocka_unit_test(t_log_format_metrics_allow),
	    cmocka_unit_test(t_chat_allow_params),
	    cmocka_unit_test(t_billing_leases),
	    cmocka_unit_test(t_chat_endings),
	};

	test_init();
	conf_set_allow_parser(params_allow_parse);
	return cmocka_run_group_tests_name("conf", tests, NULL, NULL);
}
