/* keys.c: API keys of a user: create, list, update, revoke, rotate */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/money.h"
#include "io/db.h"
#include "store/q_key.h"
#include "domain/audit.h"
#include "domain/auth.h"
#include "domain/keys.h"
#include "domain/op.h"

#define KEY_MAX_LIST	 64 /* entries in an allowlist */
#define KEY_MAX_NAME	 128
#define KEY_MAX_ITEM_LEN 253

/* clang-format off */
static const struct jx_field key_fields[] = {
	{ "name",		JX_STRING,			0 },
	{ "environment",	JX_STRING,			0 },
	{ "mode",		JX_STRING,			0 },
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

static json_t *
opt(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

/* The KEY object of a stored key. */
static json_t *
key_json(const struct key_row *v)
{
	char masked[64];
	json_t *perms = json_array(), *k;
	char *set, *tok, *save = NULL;

	auth_mask(v->prefix, v->last4, masked, sizeof(masked));
	if ((set = strdup(v->perms != NULL ? v->perms : "")) != NULL) {
		for (tok = strtok_r(set, ",", &save); tok != NULL;
		     tok = strtok_r(NULL, ",", &save))
			json_array_append_new(perms, json_string(tok));
		free(set);
	}
	k = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:b}", "id",
	    v->pub, "name", v->name, "api_key", masked, "prefix", v->prefix,
	    "last4", v->last4, "environment", v->env, "permissions", perms,
	    "is_active", v->active, "is_primary", v->primary);
	/* issue 18: a gw_test_ key pays from the sandbox. */
	json_object_set_new(k, "mode",
	    json_string(v->env != NULL && strcmp(v->env, "test") == 0
		    ? "test"
		    : "live"));
	json_object_set_new(k, "expires_at", opt(v->expires));
	json_object_set_new(k, "max_requests",
	    v->max_requests >= 0 ? json_integer(v->max_requests) : json_null());
	json_object_set_new(k, "requests_used", json_integer(v->requests_used));
	json_object_set_new(k, "credit_limit",
	    v->credit_limit >= 0 ? money_json(v->credit_limit) : json_null());
	json_object_set_new(k, "spent", money_json(v->spent));
	json_object_set_new(k, "ip_allowlist", key_list_column(v->ips));
	json_object_set_new(k, "referrer_allowlist", key_list_column(v->refs));
	json_object_set_new(k, "allowed_models", key_list_column(v->models));
	json_object_set_new(k, "created_at", opt(v->created));
	json_object_set_new(k, "last_used_at", opt(v->last_used));
	/* issue 18: compat: a key of another gateway, stored by its hash */
	json_object_set_new(k, "imported", json_boolean(v->imported));
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
string_list(struct op *op, const json_t *arr, const char *param,
    int (*ok)(const char *), const char **out)
{
	json_t *v;
	size_t i;
	char *s;

	if (json_array_size(arr) > KEY_MAX_LIST)
		return op_fail(op, TG_EINVAL, "invalid_value", param,
		    "'%s' may hold at most %d entries", param, KEY_MAX_LIST);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return op_fail(op, TG_EINVAL, "invalid_type", param,
			    "entries of '%s' are strings", param);
		if (!ok(json_string_value(v)))
			return op_fail(op, TG_EINVAL, "invalid_value", param,
			    "entry %zu of '%s' is not valid", i, param);
	}
	/* Never store "no restriction" by accident: no string, no key. */
	if ((s = json_dumps(arr, JSON_COMPACT)) == NULL)
		return TG_ESYSTEM;
	*out = arena_strdup(op->arena, s);
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
perms_from(struct op *op, const json_t *arr, const char **out)
{
	unsigned mask = 0;
	json_t *v;
	size_t i, k;

	json_array_foreach(arr, i, v) {
		for (k = 0; k < NPERMS; k++)
			if (json_is_string(v) &&
			    strcmp(json_string_value(v), perm_names[k]) == 0)
				break;
		if (k == NPERMS)
			return op_fail(op, TG_EINVAL, "invalid_value",
			    "permissions",
			    "permissions are \"read\", \"write\", \"admin\" "
			    "and \"keys\"");
		mask |= 1u << k;
	}
	if (mask == 0)
		return op_fail(op, TG_EINVAL, "invalid_value", "permissions",
		    "a key needs at least one permission");
	/* Whether the caller may give them is key_scope's question. */
	*out = perms_set(op->arena, mask);
	return TG_OK;
}

/*
 * issue 18: "mode": "test" makes a gw_test_ key (the sandbox pays), "live"
 * any other; with an environment, the two must agree.
 */
static enum tg_err
mode_of(struct op *op, const json_t *b, int creating, struct key_spec *s)
{
	const char *m = json_string_value(json_object_get(b, "mode"));
	int test;

	if (m == NULL)
		return TG_OK;
	if (strcmp(m, "test") != 0 && strcmp(m, "live") != 0)
		return op_fail(op, TG_EINVAL, "invalid_value", "mode",
		    "mode is test or live");
	if (!creating)
		return op_fail(op, TG_EINVAL, "invalid_value", "mode",
		    "the mode is part of the key: create a new key instead");
	test = strcmp(m, "test") == 0;
	if (s->env < 0)
		s->env = test ? KEY_TEST : KEY_LIVE;
	else if ((s->env == KEY_TEST) != test)
		return op_fail(op, TG_EINVAL, "invalid_value", "mode",
		    "mode %s contradicts environment %s: a test key is "
		    "environment test, and only it",
		    m, crypto_key_env_name((enum key_env)s->env));
	return TG_OK;
}

enum tg_err
key_spec_from_json(
    struct op *op, const json_t *b, int creating, struct key_spec *s)
{
	char t[20];
	json_t *v;
	enum tg_err rc;

	key_spec_init(s);
	if ((rc = op_check(op, b, key_fields)) != TG_OK)
		return rc;
	if (creating &&
	    (json_object_get(b, "is_active") != NULL ||
		json_object_get(b, "is_primary") != NULL))
		return op_fail(op, TG_EINVAL, "unknown_field", "is_active",
		    "is_active and is_primary are set with PUT");
	if ((v = json_object_get(b, "name")) != NULL) {
		if (strlen(json_string_value(v)) > KEY_MAX_NAME)
			return op_fail(op, TG_EINVAL, "invalid_value", "name",
			    "name may be at most %d bytes", KEY_MAX_NAME);
		s->name = json_string_value(v);
	}
	if ((v = json_object_get(b, "environment")) != NULL &&
	    (s->env = crypto_key_env_parse(json_string_value(v))) < 0)
		return op_fail(op, TG_EINVAL, "invalid_value", "environment",
		    "environment is one of live, test, staging, dev");
	if ((rc = mode_of(op, b, creating, s)) != TG_OK)
		return rc;
	if (!creating && s->env >= 0)
		return op_fail(op, TG_EINVAL, "invalid_value", "environment",
		    "the environment is part of the key: create "
		    "a new key instead");
	if ((v = json_object_get(b, "permissions")) != NULL &&
	    (rc = perms_from(op, v, &s->perms)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "expires_at")) != NULL) {
		if (json_is_null(v))
			s->expires_at = "";
		else if (parse_time(json_string_value(v), t) == -1)
			return op_fail(op, TG_EINVAL, "invalid_value",
			    "expires_at",
			    "expires_at is a UTC time like "
			    "2027-01-31T23:59:59Z");
		else
			s->expires_at = arena_strdup(op->arena, t);
	}
	if ((v = json_object_get(b, "max_requests")) != NULL) {
		if (!json_is_null(v) && json_integer_value(v) < 1)
			return op_fail(op, TG_EINVAL, "invalid_value",
			    "max_requests",
			    "max_requests is a positive integer or null");
		s->max_requests = json_is_null(v) ? -1 : json_integer_value(v);
	}
	if ((v = json_object_get(b, "credit_limit")) != NULL) {
		if (json_is_null(v))
			s->credit_limit = -1;
		else if (money_from_json(v, &s->credit_limit) == -1 ||
		    s->credit_limit < 0)
			return op_fail(op, TG_EINVAL, "invalid_value",
			    "credit_limit",
			    "credit_limit is a USD amount such as \"25.00\"");
	}
	if ((v = json_object_get(b, "ip_allowlist")) != NULL &&
	    (rc = string_list(
		 op, v, "ip_allowlist", auth_cidr_valid, &s->ips)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "referrer_allowlist")) != NULL &&
	    (rc = string_list(op, v, "referrer_allowlist", valid_host_pattern,
		 &s->refs)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "allowed_models")) != NULL &&
	    (rc = string_list(
		 op, v, "allowed_models", valid_model, &s->models)) != TG_OK)
		return rc;
	if ((v = json_object_get(b, "is_active")) != NULL)
		s->active = json_is_true(v);
	if ((v = json_object_get(b, "is_primary")) != NULL)
		s->primary = json_is_true(v);
	return TG_OK;
}

static enum tg_err
fetch(struct db_conn *c, struct op *op, int64_t user_id, const char *key_pub,
    struct key_row *row)
{
	return q_key_get(c, op->arena, user_id, key_pub, row);
}

enum tg_err
key_create(struct db_conn *c, struct op *op, int64_t user_id,
    const struct key_spec *s, char secret[KEY_MAX_LEN], json_t **out)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	char pub[32], prefix[24], last4[5];
	struct key_write w;
	struct key_row row;
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
	w = (struct key_write){
	    .pub = pub,
	    .user_id = user_id,
	    .hash = hash,
	    .prefix = prefix,
	    .last4 = last4,
	    .env = crypto_key_env_name(env),
	    .name = s->name != NULL ? s->name : "",
	    .perms = s->perms != NULL ? s->perms : "read,write",
	    .primary = s->primary == 1,
	    .expires = s->expires_at,
	    .max_requests = s->max_requests >= 0 ? s->max_requests : -1,
	    .credit_limit = s->credit_limit >= 0 ? s->credit_limit : -1,
	    .ips = s->ips != NULL ? s->ips : "[]",
	    .refs = s->refs != NULL ? s->refs : "[]",
	    .models = s->models != NULL ? s->models : "[]",
	};
	if ((rc = q_key_insert(c, op->arena, &w)) != TG_OK)
		return rc;
	if ((rc = fetch(c, op, user_id, pub, &row)) != TG_OK)
		return rc;
	*out = key_json(&row);
	arena_defer_json(op->arena, *out);
	return audit_append(
	    c, op->arena, op, "key.create", "api_key", pub, NULL, *out);
}

enum tg_err
key_list(struct db_conn *c, struct op *op, int64_t user_id, json_t **out)
{
	struct key_row *rows;
	size_t i, n;
	enum tg_err rc;

	if ((rc = q_key_list(c, op->arena, user_id, &rows, &n)) != TG_OK)
		return rc;
	*out = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(*out, key_json(&rows[i]));
	arena_defer_json(op->arena, *out);
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
key_get(struct db_conn *c, struct op *op, int64_t user_id, const char *key_pub,
    int64_t *key_id, json_t **out)
{
	struct key_row row;
	enum tg_err rc;

	if ((rc = fetch(c, op, user_id, key_pub, &row)) != TG_OK)
		return rc;
	if (key_id != NULL)
		*key_id = row.id;
	if (out != NULL) {
		*out = key_json(&row);
		arena_defer_json(op->arena, *out);
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
scope_load(struct db_conn *c, struct op *op, struct scope *sc)
{
	struct key_row v;
	enum tg_err rc;

	memset(sc, 0, sizeof(*sc));
	sc->session = op->who->session;
	sc->perms = op->who->perms;
	sc->ips = sc->refs = sc->models = "[]";
	sc->limit = sc->left = -1;
	if (!sc->session) {
		/* The row now, not the cached one auth used: spent moves. */
		rc = fetch(c, op, op->who->user_id, op->who->key_pub, &v);
		if (rc != TG_OK)
			return rc == TG_ENOENT ? TG_EAUTH : rc;
		sc->perms = auth_perms_parse(v.perms);
		sc->ips = v.ips != NULL ? v.ips : "[]";
		sc->refs = v.refs != NULL ? v.refs : "[]";
		sc->models = v.models != NULL ? v.models : "[]";
		if (v.credit_limit >= 0) {
			sc->limit = v.credit_limit;
			sc->left =
			    sc->limit > v.spent ? sc->limit - v.spent : 0;
		}
		if (v.expires != NULL && parse_time(v.expires, sc->exp) == -1)
			return TG_ESYSTEM;
	}
	/* 'admin' only from a credential of an admin user that holds it. */
	if (!op->who->admin_role)
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
		json_array_foreach(in, i, a) {
			hit = 0;
			json_array_foreach(out, j, b) {
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
refuse_give(struct op *op, const char *field)
{
	if (strcmp(field, "permissions") == 0)
		return op_fail(op, TG_EPERM, "insufficient_permissions", field,
		    "a key's permissions may only be ones the caller holds; "
		    "'admin' comes only from an admin user's session or "
		    "admin key");
	return op_fail(op, TG_EPERM, "insufficient_permissions", field,
	    "the calling key may not give a key a wider %s than its own: "
	    "send the same or a narrower one (or use a dashboard session)",
	    field);
}

/* issue 18: what a test key hears when it reaches for a live key. */
static enum tg_err
test_key_refuses(struct op *op)
{
	return op_fail(op, TG_EPERM, "insufficient_permissions", "mode",
	    "a test key (gw_test_...) creates and changes test keys only; use "
	    "a live key or the dashboard for live keys");
}

enum tg_err
key_scope_create(struct db_conn *c, struct op *op, struct key_spec *s)
{
	struct scope sc;
	struct kval k;
	const char *f;
	unsigned fields, def;
	enum tg_err rc;

	/* issue 18: a test key makes test keys only: none reaches real money. */
	if (op->who != NULL && op->who->test && s->env < 0)
		s->env = KEY_TEST;
	if (op->who != NULL && op->who->test && s->env != KEY_TEST)
		return test_key_refuses(op);
	if ((rc = scope_load(c, op, &sc)) != TG_OK)
		return rc;
	/* Unset restrictions inherit the caller's: none would be wider. */
	if (s->perms == NULL &&
	    (def = sc.perms & (PERM_READ | PERM_WRITE)) != 0)
		s->perms = perms_set(op->arena, def);
	if (s->ips == NULL)
		s->ips = sc.ips;
	if (s->refs == NULL)
		s->refs = sc.refs;
	if (s->models == NULL)
		s->models = sc.models;
	if (s->credit_limit == -2 && sc.left >= 0)
		s->credit_limit = sc.left;
	if (s->expires_at == NULL && sc.exp[0] != '\0')
		s->expires_at = arena_strdup(op->arena, sc.exp);
	kval_of_spec(s, &k, &fields);
	if ((f = wider(&sc, &k, F_ALL, sc.left)) != NULL)
		return refuse_give(op, f);
	return TG_OK;
}

/*
 * A change (s), rotation or deletion (s NULL) of the key in row v: the key
 * may not be wider than the caller, nor the change give more than it may.
 */
static enum tg_err
scope_change(struct db_conn *c, struct op *op, const struct key_row *v,
    const struct key_spec *s)
{
	struct scope sc;
	struct kval t, k;
	char exp[20] = "";
	const char *f;
	unsigned fields;
	enum tg_err rc;

	if (op->who == NULL) /* not a request: the operator's own code */
		return TG_OK;
	if (op->who->test && (v->env == NULL || strcmp(v->env, "test") != 0))
		return test_key_refuses(op);
	if ((rc = scope_load(c, op, &sc)) != TG_OK)
		return rc;
	if (!sc.session) {
		if (v->expires != NULL && parse_time(v->expires, exp) == -1)
			return TG_ESYSTEM;
		t.perms = auth_perms_parse(v->perms);
		t.ips = v->ips != NULL ? v->ips : "[]";
		t.refs = v->refs != NULL ? v->refs : "[]";
		t.models = v->models != NULL ? v->models : "[]";
		t.limit = v->credit_limit;
		t.exp = exp;
		if ((f = wider(&sc, &t, F_ALL, sc.limit)) != NULL)
			return op_fail(op, TG_EPERM, "insufficient_permissions",
			    NULL,
			    "key %s has a wider %s than the calling key: "
			    "only a dashboard session or a wider key may "
			    "change, rotate or delete it",
			    v->pub, f);
	}
	if (s == NULL)
		return TG_OK;
	kval_of_spec(s, &k, &fields);
	if ((f = wider(&sc, &k, fields, sc.left)) != NULL)
		return refuse_give(op, f);
	return TG_OK;
}

/* Merge spec over the stored row and write it; in the caller's transaction. */
static enum tg_err
apply(struct db_conn *c, struct op *op, int64_t user_id,
    const struct key_row *v, const struct key_spec *s)
{
	struct key_write w;
	char t[20];
	const char *exp = NULL;
	enum tg_err rc;

	if (s->expires_at != NULL)
		exp = *s->expires_at != '\0' ? s->expires_at : NULL;
	else if (v->expires != NULL && parse_time(v->expires, t) == 0)
		exp = arena_strdup(op->arena, t);
	w = (struct key_write){
	    .id = v->id,
	    .name = s->name != NULL ? s->name : v->name,
	    .perms = s->perms != NULL ? s->perms : v->perms,
	    .expires = exp,
	    .max_requests =
		s->max_requests != -2 ? s->max_requests : v->max_requests,
	    .credit_limit =
		s->credit_limit != -2 ? s->credit_limit : v->credit_limit,
	    .ips = s->ips != NULL ? s->ips : v->ips,
	    .refs = s->refs != NULL ? s->refs : v->refs,
	    .models = s->models != NULL ? s->models : v->models,
	    .active = s->active >= 0 ? s->active : v->active,
	    .primary = s->primary >= 0 ? s->primary : v->primary,
	};
	if ((rc = q_key_update(c, op->arena, &w)) != TG_OK)
		return rc;
	if (s->primary == 1) /* One primary key per user. */
		rc = q_key_clear_primary(c, op->arena, user_id, v->id);
	return rc;
}

/*
 * Start an audited change of one key: its row and its KEY object as it was,
 * once the caller may make the change s (NULL: rotate or delete).
 */
static enum tg_err
begin_on(struct db_conn *c, struct op *op, int64_t user_id, const char *key_pub,
    const struct key_spec *s, struct key_row *row, json_t **before)
{
	enum tg_err rc;

	if ((rc = audit_begin(c)) != TG_OK ||
	    (rc = fetch(c, op, user_id, key_pub, row)) != TG_OK ||
	    (rc = scope_change(c, op, row, s)) != TG_OK)
		return rc;
	*before = key_json(row);
	arena_defer_json(op->arena, *before);
	return TG_OK;
}

enum tg_err
key_update(struct db_conn *c, struct op *op, int64_t user_id,
    const char *key_pub, const struct key_spec *s, json_t **out)
{
	struct key_row row;
	json_t *before;
	enum tg_err rc;

	if ((rc = begin_on(c, op, user_id, key_pub, s, &row, &before)) != TG_OK)
		goto fail;
	if ((rc = apply(c, op, user_id, &row, s)) != TG_OK)
		goto fail;
	if ((rc = fetch(c, op, user_id, key_pub, &row)) != TG_OK)
		goto fail;
	*out = key_json(&row);
	arena_defer_json(op->arena, *out);
	if ((rc = audit_commit(c, op->arena, op, "key.update", "api_key",
		 key_pub, before, *out)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
key_revoke(
    struct db_conn *c, struct op *op, int64_t user_id, const char *key_pub)
{
	struct key_row row;
	json_t *before;
	enum tg_err rc;

	if ((rc = begin_on(c, op, user_id, key_pub, NULL, &row, &before)) !=
	    TG_OK)
		goto fail;
	if ((rc = q_key_revoke(c, op->arena, row.id)) != TG_OK)
		goto fail;
	if ((rc = audit_commit(c, op->arena, op, "key.revoke", "api_key",
		 key_pub, before, NULL)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	return rc;
}

enum tg_err
key_rotate(struct db_conn *c, struct op *op, int64_t user_id,
    const char *key_pub, int64_t grace, char secret[KEY_MAX_LEN], json_t **out,
    json_t **prev_until)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	char prefix[24], last4[5], env[16];
	struct key_row row;
	const char *until;
	size_t n, plen;
	json_t *before;
	enum tg_err rc;

	if ((rc = begin_on(c, op, user_id, key_pub, NULL, &row, &before)) !=
	    TG_OK)
		goto fail;
	snprintf(env, sizeof(env), "%s", row.env);
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
	if ((rc = q_key_rotate(c, op->arena, row.id, grace, hash, sizeof(hash),
		 prefix, last4, &until)) != TG_OK)
		goto fail;
	*prev_until = opt(until);
	arena_defer_json(op->arena, *prev_until);
	if ((rc = fetch(c, op, user_id, key_pub, &row)) != TG_OK)
		goto fail;
	*out = key_json(&row);
	arena_defer_json(op->arena, *out);
	if ((rc = audit_commit(c, op->arena, op, "key.rotate", "api_key",
		 key_pub, before, *out)) != TG_OK)
		goto fail;
	return TG_OK;
fail:
	db_rollback(c);
	crypto_wipe(secret, KEY_MAX_LEN);
	return rc;
}

enum tg_err
key_count(struct db_conn *c, struct op *op, int64_t user_id, int64_t *n)
{
	return q_key_count_active(c, op->arena, user_id, n);
}

enum tg_err
key_owner(struct db_conn *c, struct op *op, const char *key, int64_t *key_id,
    int64_t *user_id)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct key_auth_row k;
	enum tg_err rc;

	if (strncmp(key, "key_", 4) == 0)
		return q_key_owner(c, op->arena, key, key_id, user_id);
	if (crypto_key_check(key) < 0)
		return TG_ENOENT;
	crypto_secret_hash(key, hash);
	if ((rc = q_key_auth(c, op->arena, hash, sizeof(hash), &k)) != TG_OK)
		return rc;
	*key_id = k.id;
	*user_id = k.user_id;
	return TG_OK;
}

enum tg_err
key_revoke_secret(
    struct db_conn *c, struct op *op, int64_t user_id, const char *key)
{
	unsigned char hash[CRYPTO_SHA256_LEN];
	struct key_auth_row k;
	enum tg_err rc;

	/* Hashed whatever its format: imported keys have no gw_ checksum. */
	crypto_secret_hash(key, hash);
	if ((rc = q_key_auth(c, op->arena, hash, sizeof(hash), &k)) != TG_OK)
		return rc;
	if (k.user_id != user_id)
		return TG_ENOENT;
	return key_revoke(c, op, user_id, k.pub);
}
