/* keys.c: API keys of a user: create, list, update, revoke, rotate */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "core/conf.h"
#include "http/ctx.h"
#include "io/db.h"
#include "store/stmt.h"
#include "core/json.h"
#include "domain/keys.h"
#include "core/money.h"
#include "http/req.h"
#include "http/resp.h"
#include "domain/op.h"

/* The audit actor of r (until this file's services take a struct op). */
static const struct op *
audit_actor(const struct tg_req *r)
{
	struct op *op;

	if (r == NULL || (op = arena_alloc(r->arena, sizeof(*op))) == NULL)
		return NULL;
	req_op((struct tg_req *)r, op);
	return op;
}

#define KEY_MAX_LIST	 64 /* entries in an allowlist */
#define KEY_MAX_NAME	 128
#define KEY_MAX_ITEM_LEN 253

/* Columns of STMT_KEY_LIST and STMT_KEY_GET. */
enum {
	KC_ID,
	KC_PUB,
	KC_NAME,
	KC_PREFIX,
	KC_LAST4,
	KC_ENV,
	KC_PERMS,
	KC_ACTIVE,
	KC_PRIMARY,
	KC_EXPIRES,
	KC_MAXREQ,
	KC_USED,
	KC_CLIMIT,
	KC_SPENT,
	KC_IPS,
	KC_REFS,
	KC_MODELS,
	KC_CREATED,
	KC_LASTUSED
};

/* clang-format off */
static const struct jx_field key_fields[] = {
	{ "name",		JX_STRING,			0 },
	{ "environment",	JX_STRING,			0 },
	{ "permissions",	JX_ARRAY,			0 },
	{ "expires_at",		JX_STRING | JX_NULL,		0 },
	{ "max_requests",	JX_INT | JX_NULL,		0 },
	{ "credit_limit",	JX_STRING | JX_NUMBER | JX_NULL, 0 },
	{ "ip_allowlist",	JX_ARRAY,			0 },
	{ "referrer_allowlist",	JX_ARRAY,			0 },
	{ "allowed_models",	JX_ARRAY,			0 },
	{ "is_active",		JX_BOOL,			0 },
	{ "is_primary",		JX_BOOL,			0 },
	{ NULL,			0,				0 },
};
/* clang-format on */

void
key_spec_init(struct key_spec *s)
{
	memset(s, 0, sizeof(*s));
	s->env = -1;
	s->max_requests = -2;
	s->credit_limit = -2;
	s->active = -1;
	s->primary = -1;
}

json_t *
key_list_column(const char *s)
{
	json_t *j = s != NULL ? json_loads(s, 0, NULL) : NULL;

	if (!json_is_array(j)) {
		json_decref(j);
		return json_array();
	}
	return j;
}

static const char *
col(const struct db_val *v)
{
	return v->type == DBT_STR ? v->s : NULL;
}

static json_t *
opt_json_str(const struct db_val *v)
{
	return v->type == DBT_STR ? json_string(v->s) : json_null();
}

/* The KEY object of one STMT_KEY_LIST/GET row. */
static json_t *
key_json(const struct db_val *v)
{
	char masked[64];
	json_t *perms = json_array(), *k;
	char *set, *tok, *save = NULL;

	auth_mask(
	    col(&v[KC_PREFIX]), col(&v[KC_LAST4]), masked, sizeof(masked));
	if ((set = strdup(
		 col(&v[KC_PERMS]) != NULL ? col(&v[KC_PERMS]) : "")) != NULL) {
		for (tok = strtok_r(set, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save))
			json_array_append_new(perms, json_string(tok));
		free(set);
	}
	k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:b}", "id",
	    col(&v[KC_PUB]), "name", col(&v[KC_NAME]), "api_key", masked,
	    "prefix", col(&v[KC_PREFIX]), "last4", col(&v[KC_LAST4]),
	    "environment", col(&v[KC_ENV]), "permissions", perms, "is_active",
	    (int)v[KC_ACTIVE].i, "is_primary", (int)v[KC_PRIMARY].i);
	json_object_set_new(k, "expires_at", opt_json_str(&v[KC_EXPIRES]));
	json_object_set_new(k, "max_requests",
	    v[KC_MAXREQ].type == DBT_I64 ? json_integer(v[KC_MAXREQ].i)
					 : json_null());
	json_object_set_new(k, "requests_used", json_integer(v[KC_USED].i));
	json_object_set_new(k, "credit_limit",
	    v[KC_CLIMIT].type == DBT_I64 ? money_json(v[KC_CLIMIT].i)
					 : json_null());
	json_object_set_new(k, "spent", money_json(v[KC_SPENT].i));
	json_object_set_new(
	    k, "ip_allowlist", key_list_column(col(&v[KC_IPS])));
	json_object_set_new(
	    k, "referrer_allowlist", key_list_column(col(&v[KC_REFS])));
	json_object_set_new(
	    k, "allowed_models", key_list_column(col(&v[KC_MODELS])));
	json_object_set_new(k, "created_at", opt_json_str(&v[KC_CREATED]));
	json_object_set_new(k, "last_used_at", opt_json_str(&v[KC_LASTUSED]));
	return k;
}

static int
valid_host_pattern(const char *s)
{
	size_t i = strncmp(s, "*.", 2) == 0 ? 2 : 0;

	if (s[i] == '\0' || strlen(s) > KEY_MAX_ITEM_LEN)
		return 0;
	for (; s[i] != '\0'; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-')
			return 0;
	return 1;
}

static int
valid_model(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > KEY_MAX_ITEM_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* A JSON array of strings each accepted by ok, serialized into the arena. */
static enum tg_err
string_list(struct tg_req *r, struct tg_resp *resp, const json_t *arr,
    const char *param, int (*ok)(const char *), const char **out)
{
	json_t *v;
	size_t i;
	char *s;

	if (json_array_size(arr) > KEY_MAX_LIST)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    param, "'%s' may hold at most %d entries", param,
		    KEY_MAX_LIST);
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_type", param,
			    "entries of '%s' are strings", param);
		if (!ok(json_string_value(v)))
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", param,
			    "entry %zu of '%s' is not valid", i, param);
	}
	/* Never store "no restriction" by accident: no string, no key. */
	if ((s = json_dumps(arr, JSON_COMPACT)) == NULL)
		return TG_ESYSTEM;
	*out = arena_strdup(r->arena, s);
	free(s);
	return TG_OK;
}

/* "2026-11-25T10:11:12Z" (or without Z) into "2026-11-25 10:11:12". */
static int
parse_time(const char *s, char out[20])
{
	struct tm tm;
	const char *end;

	memset(&tm, 0, sizeof(tm));
	if ((end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) == NULL)
		return -1;
	if (*end == 'Z')
		end++;
	if (*end != '\0' || tm.tm_year < 70 || tm.tm_year > 1100)
		return -1;
	strftime(out, 20, "%Y-%m-%d %H:%M:%S", &tm);
	return 0;
}

static const char *const perm_names[] = {"read", "write", "admin", "keys"};
#define NPERMS (sizeof(perm_names) / sizeof(perm_names[0]))

/* The SET literal of PERM_* bits (perm_names is in bit order). */
static const char *
perms_set(struct arena *a, unsigned mask)
{
	char buf[32] = "";
	size_t k;

	for (k = 0; k < NPERMS; k++)
		if (mask & (1u << k)) {
			if (buf[0] != '\0')
				strcat(buf, ",");
			strcat(buf, perm_names[k]);
		}
	return arena_strdup(a, buf);
}

static enum tg_err
perms_from(
    struct tg_req *r, struct tg_resp *resp, const json_t *arr, const char **out)
{
	unsigned mask = 0;
	json_t *v;
	size_t i, k;

	json_array_foreach(arr, i, v)
	{
		for (k = 0; k < NPERMS; k++)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), perm_names[k]) == 0)
				break;
		if (k == NPERMS)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "permissions",
			    "permissions are \"read\", \"write\", \"admin\" "
			    "and \"keys\"");
		mask |= 1u << k;
	}
	if (mask == 0)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "permissions", "a key needs at least one permission");
	/* Whether the caller may give them is key_scope's question. */
	*out = perms_set(r->arena, mask);
	return TG_OK;
}

enum tg_err
key_spec_from_json(struct tg_req *r, struct tg_resp *resp, const json_t *b,
    int creating, struct key_spec *s)
{
	char t[20];
	json_t *v;
	enum tg_err rc;

	key_spec_init(s);
	if ((rc = resp_check(r, resp, b, key_fields)) != TG_OK)
		return rc;
	if (creating &&
	    (json_object_get(b, "is_active") != NULL ||
		json_object_get(b, "is_primary") != NULL))
		return resp_fail_code(r, resp, TG_EINVAL, "unknown_field",
		    "is_active", "is_active and is_primary are set with PUT");
	if ((v = json_object_get(b, "name")) != NULL) {
		if (strlen(json_string_value(v)) > KEY_MAX_NAME)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "name",
			    "name may be at most %d bytes", KEY_MAX_NAME);
		s->name = json_string_value(v);
	}
	if ((v = json_object_get(b, "environment")) != NULL &&
	    (s->env = crypto_key_env_parse(json_string_value(v))) < 0)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "environment",
		    "environment is one of live, test, staging, dev");
	if (!creating && s->env >= 0)
		return resp_fail_code(r, resp, TG_EINVAL, "invalid_value",
		    "environment",
		    "the environment is part of the key: create "
		    "a new key instead");
	if ((v = json_object_get(b, "permissions")) != NULL &&
	    (rc = perms_from(r, resp, v, &s->perms)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "expires_at")) != NULL) {
		if (json_is_null(v))
			s->expires_at = "";
		else if (parse_time(json_string_value(v), t) == -1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "expires_at",
			    "expires_at is a UTC time like "
			    "2027-01-31T23:59:59Z");
		else
			s->expires_at = arena_strdup(r->arena, t);
	}
	if ((v = json_object_get(b, "max_requests")) != NULL) {
		if (!json_is_null(v) && json_integer_value(v) < 1)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "max_requests",
			    "max_requests is a positive integer or null");
		s->max_requests = json_is_null(v) ? -1 : json_integer_value(v);
	}
	if ((v = json_object_get(b, "credit_limit")) != NULL) {
		if (json_is_null(v))
			s->credit_limit = -1;
		else if (money_from_json(v, &s->credit_limit) == -1 ||
		    s->credit_limit < 0)
			return resp_fail_code(r, resp, TG_EINVAL,
			    "invalid_value", "credit_limit",
			    "credit_limit is a USD amount such as \"25.00\"");
	}
	if ((v = json_object_get(b, "ip_allowlist")) != NULL &&
	    (rc = string_list(r, resp, v, "ip_allowlist", auth_cidr_valid,
		 &s->ips)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "referrer_allowlist")) != NULL &&
	    (rc = string_list(r, resp, v, "referrer_allowlist",
		 valid_host_pattern, &s->refs)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "allowed_models")) != NULL &&
	    (rc = string_list(r, resp, v, "allowed_models", valid_model,
		 &s->models)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "is_active")) != NULL)
		s->active = json_is_true(v);
	if ((v = json_object_get(b, "is_primary")) != NULL)
		s->primary = json_is_true(v);
	return TG_OK;
}

static struct db_val
nullable_i64(int64_t v)
{
	return v < 0 ? DB_NULLV : DB_I64(v);
}

static struct db_val
nullable_str(const char *s)
{
	return s == NULL || *s == '\0' ? DB_NULLV : DB_STR(s);
}

static enum tg_err
fetch(struct db_conn *c, struct tg_req *r, int64_t user_id, const char *key_pub,
    struct db_rows *rows)
{
	struct db_val p[2] = {DB_STR(key_pub), DB_I64(user_id)};
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_GET, p, 2, rows, r->arena)) != TG_OK)
		return rc;
	return rows->nrows == 1 ? TG_OK : TG_ENOENT;
}

enum tg_err
key_create(struct db_conn *c, struct tg_req *r, int64_t user_id,
    const struct key_spec *s, char secret[KEY_MAX_LEN], json_t **out)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	char pub[32], prefix[24], last4[5];
	struct db_val p[15];
	struct db_rows rows;
	enum key_env env = s->env >= 0 ? (enum key_env)s->env : KEY_LIVE;
	size_t n, plen;
	enum tg_err rc;

	if (crypto_key_new(env, secret) == -1 ||
	    crypto_public_id("key_", pub, sizeof(pub)) == -1)
		return TG_ESYSTEM;
	crypto_secret_hash(secret, hash);
	n = strlen(secret);
	plen = 4 + strlen(crypto_key_env_name(env)) + KEY_PREFIX_SHOWN;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)plen, secret);
	memcpy(last4, secret + n - 4, 5);
	p[0] = DB_STR(pub);
	p[1] = DB_I64(user_id);
	p[2] = (struct db_val){
	    .type = DBT_STR, .s = (const char *)hash, .len = sizeof(hash)};
	p[3] = DB_STR(prefix);
	p[4] = DB_STR(last4);
	p[5] = DB_STR(s->name != NULL ? s->name : "");
	p[6] = DB_STR(crypto_key_env_name(env));
	p[7] = DB_STR(s->perms != NULL ? s->perms : "read,write");
	p[8] = DB_I64(s->primary == 1);
	p[9] = nullable_str(s->expires_at);
	p[10] = s->max_requests >= 0 ? DB_I64(s->max_requests) : DB_NULLV;
	p[11] = s->credit_limit >= 0 ? DB_I64(s->credit_limit) : DB_NULLV;
	p[12] = DB_STR(s->ips != NULL ? s->ips : "[]");
	p[13] = DB_STR(s->refs != NULL ? s->refs : "[]");
	p[14] = DB_STR(s->models != NULL ? s->models : "[]");
	if ((rc = db_exec(c, STMT_KEY_INSERT, p, 15, NULL, r->arena)) != TG_OK)
		return rc;
	if ((rc = fetch(c, r, user_id, pub, &rows)) != TG_OK)
		return rc;
	*out = key_json(rows.v);
	arena_defer_json(r->arena, *out);
	return audit_append(c, r->arena, audit_actor(r), "key.create", "api_key", pub, NULL, *out);
}

enum tg_err
key_list(struct db_conn *c, struct tg_req *r, int64_t user_id, json_t **out)
{
	struct db_val p = DB_I64(user_id);
	struct db_rows rows;
	size_t i;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_LIST, &p, 1, &rows, r->arena)) != TG_OK)
		return rc;
	*out = json_array();
	for (i = 0; i < rows.nrows; i++)
		json_array_append_new(*out, key_json(&rows.v[i * rows.ncols]));
	arena_defer_json(r->arena, *out);
	return TG_OK;
}

void
key_list_keep(json_t *list, const char *field, const char *id)
{
	const char *v;
	size_t i = 0;

	while (i < json_array_size(list)) {
		v = json_string_value(
		    json_object_get(json_array_get(list, i), field));
		if (v == NULL || strcmp(v, id) != 0)
			json_array_remove(list, i);
		else
			i++;
	}
}

enum tg_err
key_get(struct db_conn *c, struct tg_req *r, int64_t user_id,
    const char *key_pub, int64_t *key_id, json_t **out)
{
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = fetch(c, r, user_id, key_pub, &rows)) != TG_OK)
		return rc;
	if (key_id != NULL)
		*key_id = rows.v[KC_ID].i;
	if (out != NULL) {
		*out = key_json(rows.v);
		arena_defer_json(r->arena, *out);
	}
	return TG_OK;
}

/*
 * Who may give what.  A session gives anything but 'admin' (which needs an
 * admin user); a key gives at most what it has itself: a subset of its
 * permissions, allowlists and models inside its own, a credit limit within
 * what it has left, an expiry no later than its own.
 */
struct scope {
	int session;
	unsigned perms;
	const char *ips, *refs, *models; /* JSON arrays; "[]" = none */
	int64_t limit, left;		 /* nano-USD; -1 = no limit */
	char exp[20];			 /* "YYYY-MM-DD HH:MM:SS"; "" = never */
};

/* A key's restrictions, as stored or as a change would make them. */
struct kval {
	unsigned perms;
	const char *ips, *refs, *models;
	int64_t limit; /* -1 = none */
	const char *exp;
};

enum {
	F_PERMS = 1 << 0,
	F_IPS = 1 << 1,
	F_REFS = 1 << 2,
	F_MODELS = 1 << 3,
	F_LIMIT = 1 << 4,
	F_EXP = 1 << 5,
	F_ALL = 0x3f
};

static enum tg_err
scope_load(struct db_conn *c, struct tg_req *r, struct scope *sc)
{
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;

	memset(sc, 0, sizeof(*sc));
	sc->session = r->who->session;
	sc->perms = r->who->perms;
	sc->ips = sc->refs = sc->models = "[]";
	sc->limit = sc->left = -1;
	if (!sc->session) {
		/* The row now, not the cached one auth used: spent moves. */
		rc = fetch(c, r, r->who->user_id, r->who->key_pub, &rows);
		if (rc != TG_OK)
			return rc == TG_ENOENT ? TG_EAUTH : rc;
		v = rows.v;
		sc->perms = auth_perms_parse(col(&v[KC_PERMS]));
		sc->ips = col(&v[KC_IPS]) != NULL ? col(&v[KC_IPS]) : "[]";
		sc->refs = col(&v[KC_REFS]) != NULL ? col(&v[KC_REFS]) : "[]";
		sc->models =
		    col(&v[KC_MODELS]) != NULL ? col(&v[KC_MODELS]) : "[]";
		if (v[KC_CLIMIT].type == DBT_I64) {
			sc->limit = v[KC_CLIMIT].i;
			sc->left = sc->limit > v[KC_SPENT].i
			    ? sc->limit - v[KC_SPENT].i
			    : 0;
		}
		if (v[KC_EXPIRES].type == DBT_STR &&
		    parse_time(v[KC_EXPIRES].s, sc->exp) == -1)
			return TG_ESYSTEM;
	}
	/* 'admin' only from a credential of an admin user that holds it. */
	if (!r->who->admin_role)
		sc->perms &= ~(unsigned)PERM_ADMIN;
	return TG_OK;
}

/*
 * 1 when every entry of the inner list is inside an entry of the outer one.
 * An empty outer list restricts nothing; an empty inner one allows all, so
 * it is inside only an empty outer one.  Damaged columns are never inside.
 */
static int
list_within(const char *inner, const char *outer,
    int (*within)(const char *, const char *))
{
	json_t *in = json_loads(inner, 0, NULL),
	       *out = json_loads(outer, 0, NULL);
	json_t *a, *b;
	size_t i, j;
	int ok, hit;

	ok = json_is_array(in) && json_is_array(out);
	if (ok && json_array_size(out) > 0) {
		ok = json_array_size(in) > 0;
		json_array_foreach(in, i, a)
		{
			hit = 0;
			json_array_foreach(out, j, b)
			{
				if (json_is_string(a) && json_is_string(b) &&
				    within(json_string_value(a),
					json_string_value(b)))
					hit = 1;
			}
			ok = ok && hit;
		}
	}
	json_decref(in);
	json_decref(out);
	return ok;
}

static int
same_model(const char *inner, const char *outer)
{
	return strcmp(inner, outer) == 0;
}

/* The first of fields where k is wider than the caller may give, or NULL. */
static const char *
wider(const struct scope *sc, const struct kval *k, unsigned fields,
    int64_t credit_cap)
{
	if ((fields & F_PERMS) && (k->perms & ~sc->perms))
		return "permissions";
	if (sc->session)
		return NULL;
	if ((fields & F_IPS) && !list_within(k->ips, sc->ips, auth_net_within))
		return "ip_allowlist";
	if ((fields & F_REFS) &&
	    !list_within(k->refs, sc->refs, auth_host_within))
		return "referrer_allowlist";
	if ((fields & F_MODELS) &&
	    !list_within(k->models, sc->models, same_model))
		return "allowed_models";
	if ((fields & F_LIMIT) && credit_cap >= 0 &&
	    (k->limit < 0 || k->limit > credit_cap))
		return "credit_limit";
	if ((fields & F_EXP) && sc->exp[0] != '\0' &&
	    (*k->exp == '\0' || strcmp(k->exp, sc->exp) > 0))
		return "expires_at";
	return NULL;
}

static void
kval_of_spec(const struct key_spec *s, struct kval *k, unsigned *fields)
{
	*fields = 0;
	k->perms = auth_perms_parse(s->perms != NULL ? s->perms : "read,write");
	k->ips = s->ips != NULL ? s->ips : "[]";
	k->refs = s->refs != NULL ? s->refs : "[]";
	k->models = s->models != NULL ? s->models : "[]";
	k->limit = s->credit_limit >= 0 ? s->credit_limit : -1;
	k->exp = s->expires_at != NULL ? s->expires_at : "";
	*fields |= s->perms != NULL ? F_PERMS : 0;
	*fields |= s->ips != NULL ? F_IPS : 0;
	*fields |= s->refs != NULL ? F_REFS : 0;
	*fields |= s->models != NULL ? F_MODELS : 0;
	*fields |= s->credit_limit != -2 ? F_LIMIT : 0;
	*fields |= s->expires_at != NULL ? F_EXP : 0;
}

static enum tg_err
refuse_give(struct tg_req *r, struct tg_resp *resp, const char *field)
{
	if (strcmp(field, "permissions") == 0)
		return resp_fail_code(r, resp, TG_EPERM,
		    "insufficient_permissions", field,
		    "a key's permissions may only be ones the caller holds; "
		    "'admin' comes only from an admin user's session or "
		    "admin key");
	return resp_fail_code(r, resp, TG_EPERM, "insufficient_permissions",
	    field,
	    "the calling key may not give a key a wider %s than its own: "
	    "send the same or a narrower one (or use a dashboard session)",
	    field);
}

enum tg_err
key_scope_create(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    struct key_spec *s)
{
	struct scope sc;
	struct kval k;
	const char *f;
	unsigned fields, def;
	enum tg_err rc;

	if ((rc = scope_load(c, r, &sc)) != TG_OK)
		return rc;
	/* Unset restrictions inherit the caller's: none would be wider. */
	if (s->perms == NULL &&
	    (def = sc.perms & (PERM_READ | PERM_WRITE)) != 0)
		s->perms = perms_set(r->arena, def);
	if (s->ips == NULL)
		s->ips = sc.ips;
	if (s->refs == NULL)
		s->refs = sc.refs;
	if (s->models == NULL)
		s->models = sc.models;
	if (s->credit_limit == -2 && sc.left >= 0)
		s->credit_limit = sc.left;
	if (s->expires_at == NULL && sc.exp[0] != '\0')
		s->expires_at = arena_strdup(r->arena, sc.exp);
	kval_of_spec(s, &k, &fields);
	if ((f = wider(&sc, &k, F_ALL, sc.left)) != NULL)
		return refuse_give(r, resp, f);
	return TG_OK;
}

/*
 * A change (s), rotation or deletion (s NULL) of the key in row v: the key
 * may not be wider than the caller, nor the change give more than it may.
 */
static enum tg_err
scope_change(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    const struct db_val *v, const struct key_spec *s)
{
	struct scope sc;
	struct kval t, k;
	char exp[20] = "";
	const char *f;
	unsigned fields;
	enum tg_err rc;

	if (r->who == NULL) /* not a request: the operator's own code */
		return TG_OK;
	if ((rc = scope_load(c, r, &sc)) != TG_OK)
		return rc;
	if (!sc.session) {
		if (v[KC_EXPIRES].type == DBT_STR &&
		    parse_time(v[KC_EXPIRES].s, exp) == -1)
			return TG_ESYSTEM;
		t.perms = auth_perms_parse(col(&v[KC_PERMS]));
		t.ips = col(&v[KC_IPS]) != NULL ? col(&v[KC_IPS]) : "[]";
		t.refs = col(&v[KC_REFS]) != NULL ? col(&v[KC_REFS]) : "[]";
		t.models =
		    col(&v[KC_MODELS]) != NULL ? col(&v[KC_MODELS]) : "[]";
		t.limit = v[KC_CLIMIT].type == DBT_I64 ? v[KC_CLIMIT].i : -1;
		t.exp = exp;
		if ((f = wider(&sc, &t, F_ALL, sc.limit)) != NULL)
			return resp_fail_code(r, resp, TG_EPERM,
			    "insufficient_permissions", NULL,
			    "key %s has a wider %s than the calling key: "
			    "only a dashboard session or a wider key may "
			    "change, rotate or delete it",
			    col(&v[KC_PUB]), f);
	}
	if (s == NULL)
		return TG_OK;
	kval_of_spec(s, &k, &fields);
	if ((f = wider(&sc, &k, fields, sc.left)) != NULL)
		return refuse_give(r, resp, f);
	return TG_OK;
}

/* Merge spec over the stored row and write it; in the caller's transaction. */
static enum tg_err
apply(struct db_conn *c, struct tg_req *r, int64_t user_id,
    const struct db_val *v, const struct key_spec *s)
{
	struct db_val p[11], clr[2];
	char t[20];
	const char *exp = NULL;
	enum tg_err rc;

	if (s->expires_at != NULL)
		exp = *s->expires_at != '\0' ? s->expires_at : NULL;
	else if (v[KC_EXPIRES].type == DBT_STR &&
	    parse_time(v[KC_EXPIRES].s, t) == 0)
		exp = arena_strdup(r->arena, t);
	p[0] = DB_STR(s->name != NULL ? s->name : col(&v[KC_NAME]));
	p[1] = DB_STR(s->perms != NULL ? s->perms : col(&v[KC_PERMS]));
	p[2] = nullable_str(exp);
	p[3] = s->max_requests != -2 ? nullable_i64(s->max_requests)
				     : v[KC_MAXREQ];
	p[4] = s->credit_limit != -2 ? nullable_i64(s->credit_limit)
				     : v[KC_CLIMIT];
	p[5] = DB_STR(s->ips != NULL ? s->ips : col(&v[KC_IPS]));
	p[6] = DB_STR(s->refs != NULL ? s->refs : col(&v[KC_REFS]));
	p[7] = DB_STR(s->models != NULL ? s->models : col(&v[KC_MODELS]));
	p[8] = DB_I64(s->active >= 0 ? s->active : v[KC_ACTIVE].i);
	p[9] = DB_I64(s->primary >= 0 ? s->primary : v[KC_PRIMARY].i);
	p[10] = DB_I64(v[KC_ID].i);
	if ((rc = db_exec(c, STMT_KEY_UPDATE, p, 11, NULL, r->arena)) != TG_OK)
		return rc;
	if (s->primary == 1) {
		/* One primary key per user. */
		clr[0] = DB_I64(user_id);
		clr[1] = DB_I64(v[KC_ID].i);
		rc = db_exec(c, STMT_KEY_CLEAR_PRIMARY, clr, 2, NULL, r->arena);
	}
	return rc;
}

/*
 * Start an audited change of one key: its row and its KEY object as it was,
 * once the caller may make the change s (NULL: rotate or delete).
 */
static enum tg_err
begin_on(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const char *key_pub, const struct key_spec *s,
    struct db_rows *rows, json_t **before)
{
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = fetch(c, r, user_id, key_pub, rows)) != TG_OK ||
	    (rc = scope_change(c, r, resp, rows->v, s)) != TG_OK)
		return rc;
	*before = key_json(rows->v);
	arena_defer_json(r->arena, *before);
	return TG_OK;
}

enum tg_err
key_update(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const char *key_pub, const struct key_spec *s,
    json_t **out)
{
	struct db_rows rows;
	json_t *before;
	enum tg_err rc;

	if ((rc = begin_on(c, r, resp, user_id, key_pub, s, &rows, &before)) !=
	    TG_OK)
		goto fail;
	if ((rc = apply(c, r, user_id, rows.v, s)) != TG_OK)
		goto fail;
	if ((rc = fetch(c, r, user_id, key_pub, &rows)) != TG_OK)
		goto fail;
	*out = key_json(rows.v);
	arena_defer_json(r->arena, *out);
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "key.update", "api_key", key_pub,
		 before, *out)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
key_revoke(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const char *key_pub)
{
	struct db_rows rows;
	struct db_val id;
	json_t *before;
	enum tg_err rc;

	if ((rc = begin_on(
		 c, r, resp, user_id, key_pub, NULL, &rows, &before)) != TG_OK)
		goto fail;
	id = DB_I64(rows.v[KC_ID].i);
	if ((rc = db_exec(c, STMT_KEY_REVOKE, &id, 1, NULL, r->arena)) != TG_OK)
		goto fail;
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "key.revoke", "api_key", key_pub,
		 before, NULL)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
key_rotate(struct db_conn *c, struct tg_req *r, struct tg_resp *resp,
    int64_t user_id, const char *key_pub, int64_t grace,
    char secret[KEY_MAX_LEN], json_t **out, json_t **prev_until)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	char prefix[24], last4[5], env[16];
	struct db_rows rows, until;
	struct db_val p[7], id;
	size_t n, plen;
	json_t *before;
	enum tg_err rc;

	if ((rc = begin_on(
		 c, r, resp, user_id, key_pub, NULL, &rows, &before)) != TG_OK)
		goto fail;
	snprintf(env, sizeof(env), "%s", col(&rows.v[KC_ENV]));
	if (crypto_key_new((enum key_env)crypto_key_env_parse(env), secret) ==
	    -1) {
		rc = TG_ESYSTEM;
		goto fail;
	}
	crypto_secret_hash(secret, hash);
	n = strlen(secret);
	plen = 4 + strlen(env) + KEY_PREFIX_SHOWN;
	snprintf(prefix, sizeof(prefix), "%.*s", (int)plen, secret);
	memcpy(last4, secret + n - 4, 5);
	p[0] = DB_I64(grace);
	p[1] = DB_I64(grace);
	p[2] = DB_I64(grace);
	p[3] = (struct db_val){
	    .type = DBT_STR, .s = (const char *)hash, .len = sizeof(hash)};
	p[4] = DB_STR(prefix);
	p[5] = DB_STR(last4);
	p[6] = DB_I64(rows.v[KC_ID].i);
	if ((rc = db_exec(c, STMT_KEY_ROTATE, p, 7, NULL, r->arena)) != TG_OK)
		goto fail;
	id = DB_I64(rows.v[KC_ID].i);
	if ((rc = db_exec(c, STMT_KEY_PREV_UNTIL, &id, 1, &until, r->arena)) !=
	    TG_OK)
		goto fail;
	*prev_until =
	    until.nrows == 1 ? opt_json_str(&until.v[0]) : json_null();
	arena_defer_json(r->arena, *prev_until);
	if ((rc = fetch(c, r, user_id, key_pub, &rows)) != TG_OK)
		goto fail;
	*out = key_json(rows.v);
	arena_defer_json(r->arena, *out);
	if ((rc = audit_commit(c, r->arena, audit_actor(r), "key.rotate", "api_key", key_pub,
		 before, *out)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	crypto_wipe(secret, KEY_MAX_LEN);
	return rc;
}

enum tg_err
key_count(struct db_conn *c, struct tg_req *r, int64_t user_id, int64_t *n)
{
	struct db_val p = DB_I64(user_id);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_KEY_COUNT_ACTIVE, &p, 1, &rows, r->arena)) !=
	    TG_OK)
		return rc;
	*n = rows.nrows == 1 ? rows.v[0].i : 0;
	return TG_OK;
}

enum tg_err
key_owner(struct db_conn *c, struct tg_req *r, const char *key, int64_t *key_id,
    int64_t *user_id)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct db_val p[2];
	struct db_rows rows;
	enum tg_err rc;

	if (strncmp(key, "key_", 4) == 0) {
		p[0] = DB_STR(key);
		rc = db_exec(c, STMT_KEY_OWNER, p, 1, &rows, r->arena);
		if (rc == TG_OK && rows.nrows == 1) {
			*key_id = rows.v[0].i;
			*user_id = rows.v[1].i;
		}
	} else {
		if (crypto_key_check(key) < 0)
			return TG_ENOENT;
		crypto_secret_hash(key, hash);
		p[0] = (struct db_val){.type = DBT_STR,
		    .s = (const char *)hash,
		    .len = sizeof(hash)};
		p[1] = p[0];
		rc = db_exec(c, STMT_KEY_AUTH, p, 2, &rows, r->arena);
		if (rc == TG_OK && rows.nrows == 1) {
			*key_id = rows.v[0].i;
			*user_id = rows.v[2].i;
		}
	}
	if (rc != TG_OK)
		return rc;
	return rows.nrows == 1 ? TG_OK : TG_ENOENT;
}
