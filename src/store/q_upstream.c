/* q_upstream.c: providers and their upstream keys: statements and typed queries */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "io/db.h"
#include "store/q_upstream.h"
#include "store/stmt.h"

/* clang-format off */
const struct stmt_row q_upstream_stmts[] = {
	{ STMT_PROVIDER_SEED, "INSERT IGNORE INTO providers (id, kind, name, base_url) VALUES (?, ?, ?, ?)", 0 },
	{ STMT_PROVIDER_LIST, "SELECT p.id, p.name, p.kind, p.enabled, (SELECT COUNT(*) FROM model_routes r WHERE r.provider_id = p.id AND r.enabled = 1) FROM providers p ORDER BY p.id", DB_SF_READ },
	{ STMT_UKEY_PICK, "SELECT id, public_id, secret_enc FROM upstream_keys WHERE provider_id = ? AND enabled = 1 AND secret_enc IS NOT NULL ORDER BY RAND() LIMIT 1", DB_SF_READ },
	{ STMT_PROVIDER_ADMIN_LIST, "SELECT p.id, p.kind, p.name, p.base_url, p.enabled, (SELECT COUNT(*) FROM upstream_keys k WHERE k.provider_id = p.id AND k.enabled = 1), (SELECT COUNT(*) FROM model_routes r WHERE r.provider_id = p.id AND r.enabled = 1) FROM providers p WHERE (? = '' OR p.id = ?) ORDER BY p.id", DB_SF_READ },
	{ STMT_PROVIDER_ADD, "INSERT INTO providers (id, kind, name, base_url, enabled) VALUES (?, ?, ?, ?, ?)", 0 },
	{ STMT_PROVIDER_UPDATE, "UPDATE providers SET base_url = COALESCE(?, base_url), name = COALESCE(?, name), enabled = COALESCE(?, enabled) WHERE id = ?", 0 },
	{ STMT_UKEY_INSERT, "INSERT INTO upstream_keys (public_id, provider_id, label, secret_enc, seal_version, last4, rpm_limit, rpd_limit, min_interval_ms) VALUES (?, ?, ?, ?, 2, ?, ?, ?, ?)", 0 },
	{ STMT_UKEY_GET, "SELECT public_id, provider_id, label, last4, enabled, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(last_used_at, '%Y-%m-%dT%H:%i:%sZ'), rpm_limit, rpd_limit, min_interval_ms, disabled_reason, id FROM upstream_keys WHERE public_id = ?", DB_SF_READ },
	{ STMT_UKEY_LIST, "SELECT public_id, provider_id, label, last4, enabled, DATE_FORMAT(created_at, '%Y-%m-%dT%H:%i:%sZ'), DATE_FORMAT(last_used_at, '%Y-%m-%dT%H:%i:%sZ'), rpm_limit, rpd_limit, min_interval_ms, disabled_reason FROM upstream_keys WHERE provider_id = ? ORDER BY id", DB_SF_READ },
	{ STMT_UKEY_DELETE, "DELETE FROM upstream_keys WHERE public_id = ? AND (? = '' OR provider_id = ?)", 0 },
	{ STMT_UKEY_DISABLE, "UPDATE upstream_keys SET enabled = 0 WHERE public_id = ? AND (? = '' OR provider_id = ?) AND enabled = 1", 0 },
	{ STMT_UKEY_POOL, "SELECT id, public_id, secret_enc, rpm_limit, rpd_limit, min_interval_ms, seal_version FROM upstream_keys WHERE provider_id = ? AND enabled = 1 AND secret_enc IS NOT NULL ORDER BY id LIMIT 64", DB_SF_READ | DB_SF_CACHE },
	{ STMT_UKEY_DEAD, "UPDATE upstream_keys SET enabled = 0, disabled_reason = ?, disabled_at = NOW(6) WHERE id = ? AND enabled = 1", 0 },
	{ STMT_UKEY_ALL, "SELECT k.id, k.public_id, k.provider_id, k.label, k.last4, k.enabled, k.disabled_reason, DATE_FORMAT(k.disabled_at, '%Y-%m-%dT%H:%i:%sZ'), k.rpm_limit, k.rpd_limit, k.min_interval_ms, CAST(COALESCE(t.tokens, 0) AS SIGNED), CAST(COALESCE(t.n, 0) AS SIGNED) FROM upstream_keys k LEFT JOIN (SELECT upstream_key_id, SUM(prompt_tokens + completion_tokens) AS tokens, COUNT(*) AS n FROM usage_records WHERE created_at >= CURRENT_DATE AND upstream_key_id IS NOT NULL GROUP BY upstream_key_id) t ON t.upstream_key_id = k.id WHERE (? = '' OR k.provider_id = ?) ORDER BY k.provider_id, k.id", DB_SF_READ },
	{ STMT_UKEY_UPDATE, "UPDATE upstream_keys SET label = COALESCE(?, label), enabled = COALESCE(?, enabled), disabled_reason = IF(? = 1, NULL, disabled_reason), disabled_at = IF(? = 1, NULL, disabled_at), rpm_limit = IF(? = 1, ?, rpm_limit), rpd_limit = IF(? = 1, ?, rpd_limit), min_interval_ms = COALESCE(?, min_interval_ms) WHERE public_id = ? AND provider_id = ?", 0 },
	{ STMT_PROVIDER_LOCK, "SELECT kind, base_url FROM providers WHERE id = ? FOR UPDATE", 0 },
	{ STMT_UKEY_SEALED, "SELECT id, public_id, secret_enc, seal_version FROM upstream_keys WHERE provider_id = ? AND secret_enc IS NOT NULL ORDER BY id FOR UPDATE", 0 },
	{ STMT_UKEY_RESEAL, "UPDATE upstream_keys SET secret_enc = ?, seal_version = 2 WHERE id = ?", 0 },
	{ STMT__MAX, NULL, 0 },
};
/* clang-format on */

/* NULL for a NULL column. */
static const char *
opt_s(const struct db_val *v)
{
	return v->type == DBT_NULL ? NULL : v->s;
}

/* -1 for a NULL column. */
static int64_t
opt_i(const struct db_val *v)
{
	return v->type == DBT_I64 ? v->i : -1;
}

static struct db_val
str_or_null(const char *s)
{
	return s != NULL ? DB_STR(s) : DB_NULLV;
}

/* Rows of a NULL-or-value filter ("? = '' OR col = ?"). */
static void
filter(struct db_val p[2], const char *v)
{
	p[0] = DB_STR(v != NULL ? v : "");
	p[1] = p[0];
}

enum tg_err
q_provider_list(struct db_conn *c, struct arena *a, const char *id,
    struct q_provider **out, size_t *n)
{
	struct db_val p[2];
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	filter(p, id);
	if ((rc = db_exec(c, STMT_PROVIDER_ADMIN_LIST, p, 2, &rows, a)) !=
	    TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		(*out)[i] = (struct q_provider){v[0].s, v[1].s, v[2].s, v[3].s,
		    (int)v[4].i, v[5].i, v[6].i};
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_provider_add(struct db_conn *c, struct arena *a, const struct q_provider *pr)
{
	struct db_val p[5] = {DB_STR(pr->id), DB_STR(pr->kind),
	    DB_STR(pr->name), DB_STR(pr->base_url),
	    DB_I64(pr->enabled ? 1 : 0)};

	return db_exec(c, STMT_PROVIDER_ADD, p, 5, NULL, a);
}

enum tg_err
q_provider_update(struct db_conn *c, struct arena *a, const char *id,
    const char *base_url, const char *name, int enabled, uint64_t *affected)
{
	struct db_val p[4] = {str_or_null(base_url), str_or_null(name),
	    enabled >= 0 ? DB_I64(enabled) : DB_NULLV, DB_STR(id)};
	struct db_rows rows;
	enum tg_err rc;

	*affected = 0;
	if ((rc = db_exec(c, STMT_PROVIDER_UPDATE, p, 4, &rows, a)) == TG_OK)
		*affected = rows.affected;
	return rc;
}

enum tg_err
q_provider_lock(
    struct db_conn *c, struct arena *a, const char *id, struct q_endpoint *out)
{
	struct db_val p = DB_STR(id);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_PROVIDER_LOCK, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	out->kind = rows.v[0].s;
	out->base_url = rows.v[1].s;
	return TG_OK;
}

/* Rows of STMT_UKEY_POOL (pool) or STMT_UKEY_SEALED. */
static enum tg_err
sealed_rows(struct db_conn *c, struct arena *a, unsigned stmt, int pool,
    const char *provider_id, struct q_ukey_sealed **out, size_t *n)
{
	struct db_val p = DB_STR(provider_id);
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, stmt, &p, 1, &rows, a)) != TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		(*out)[i] = (struct q_ukey_sealed){.id = v[0].i,
		    .pub = v[1].s,
		    .enc = v[2].s,
		    .enc_len = v[2].len,
		    .seal_version = pool ? v[6].i : v[3].i,
		    .rpm = pool ? opt_i(&v[3]) : -1,
		    .rpd = pool ? opt_i(&v[4]) : -1,
		    .min_interval_ms = pool ? v[5].i : 0};
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_ukey_pool(struct db_conn *c, struct arena *a, const char *provider_id,
    struct q_ukey_sealed **out, size_t *n)
{
	return sealed_rows(c, a, STMT_UKEY_POOL, 1, provider_id, out, n);
}

enum tg_err
q_ukey_sealed(struct db_conn *c, struct arena *a, const char *provider_id,
    struct q_ukey_sealed **out, size_t *n)
{
	return sealed_rows(c, a, STMT_UKEY_SEALED, 0, provider_id, out, n);
}

enum tg_err
q_ukey_reseal(struct db_conn *c, struct arena *a, int64_t id, const void *enc,
    size_t enc_len)
{
	struct db_val p[2] = {
	    {.type = DBT_STR, .s = enc, .len = enc_len}, DB_I64(id)};

	return db_exec(c, STMT_UKEY_RESEAL, p, 2, NULL, a);
}

enum tg_err
q_ukey_dead(struct db_conn *c, struct arena *a, int64_t id, const char *reason)
{
	struct db_val p[2] = {
	    {.type = DBT_STR, .s = reason, .len = strnlen(reason, 255)},
	    DB_I64(id)};

	return db_exec(c, STMT_UKEY_DEAD, p, 2, NULL, a);
}

enum tg_err
q_ukey_all(struct db_conn *c, struct arena *a, const char *provider_id,
    struct q_ukey **out, size_t *n)
{
	struct db_val p[2];
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	filter(p, provider_id);
	if ((rc = db_exec(c, STMT_UKEY_ALL, p, 2, &rows, a)) != TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		(*out)[i] = (struct q_ukey){.id = v[0].i,
		    .pub = v[1].s,
		    .provider_id = v[2].s,
		    .label = v[3].s,
		    .last4 = v[4].s,
		    .enabled = (int)v[5].i,
		    .disabled_reason = opt_s(&v[6]),
		    .disabled_at = opt_s(&v[7]),
		    .rpm = opt_i(&v[8]),
		    .rpd = opt_i(&v[9]),
		    .tokens_today = v[11].i,
		    .records_today = v[12].i,
		    .min_interval_ms = v[10].i};
	}
	*n = rows.nrows;
	return TG_OK;
}

/* A row of STMT_UKEY_GET or STMT_UKEY_LIST (which has no id column). */
static void
ukey_row(const struct db_val *v, size_t ncols, struct q_ukey *k)
{
	*k = (struct q_ukey){.id = ncols > 11 ? v[11].i : 0,
	    .pub = v[0].s,
	    .provider_id = v[1].s,
	    .label = v[2].s,
	    .last4 = v[3].s,
	    .enabled = (int)v[4].i,
	    .created_at = v[5].s,
	    .last_used_at = opt_s(&v[6]),
	    .rpm = opt_i(&v[7]),
	    .rpd = opt_i(&v[8]),
	    .min_interval_ms = v[9].i,
	    .disabled_reason = opt_s(&v[10])};
}

enum tg_err
q_ukey_list(struct db_conn *c, struct arena *a, const char *provider_id,
    struct q_ukey **out, size_t *n)
{
	struct db_val p = DB_STR(provider_id);
	struct db_rows rows;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_UKEY_LIST, &p, 1, &rows, a)) != TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++)
		ukey_row(&rows.v[i * rows.ncols], rows.ncols, &(*out)[i]);
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_ukey_get(
    struct db_conn *c, struct arena *a, const char *pub, struct q_ukey *out)
{
	struct db_val p = DB_STR(pub);
	struct db_rows rows;
	enum tg_err rc;

	if ((rc = db_exec(c, STMT_UKEY_GET, &p, 1, &rows, a)) != TG_OK)
		return rc;
	if (rows.nrows != 1)
		return TG_ENOENT;
	ukey_row(rows.v, rows.ncols, out);
	return TG_OK;
}

enum tg_err
q_ukey_insert(struct db_conn *c, struct arena *a, const struct q_ukey_new *k)
{
	struct db_val p[8] = {DB_STR(k->pub), DB_STR(k->provider_id),
	    DB_STR(k->label), {.type = DBT_STR, .s = k->enc, .len = k->enc_len},
	    DB_STR(k->last4), k->rpm >= 0 ? DB_I64(k->rpm) : DB_NULLV,
	    k->rpd >= 0 ? DB_I64(k->rpd) : DB_NULLV,
	    DB_I64(k->min_interval_ms)};

	return db_exec(c, STMT_UKEY_INSERT, p, 8, NULL, a);
}

enum tg_err
q_ukey_update(struct db_conn *c, struct arena *a, const struct q_ukey_change *k)
{
	struct db_val p[11] = {str_or_null(k->label),
	    k->enabled >= 0 ? DB_I64(k->enabled) : DB_NULLV,
	    DB_I64(k->enabled == 1), DB_I64(k->enabled == 1),
	    DB_I64(k->set_rpm), k->rpm >= 0 ? DB_I64(k->rpm) : DB_NULLV,
	    DB_I64(k->set_rpd), k->rpd >= 0 ? DB_I64(k->rpd) : DB_NULLV,
	    k->min_interval_ms >= 0 ? DB_I64(k->min_interval_ms) : DB_NULLV,
	    DB_STR(k->pub), DB_STR(k->provider_id)};
	struct db_rows rows;

	return db_exec(c, STMT_UKEY_UPDATE, p, 11, &rows, a);
}

enum tg_err
q_ukey_remove(struct db_conn *c, struct arena *a, const char *pub,
    const char *provider_id, int del, uint64_t *affected)
{
	struct db_val p[3];
	struct db_rows rows;
	enum tg_err rc;

	p[0] = DB_STR(pub);
	filter(&p[1], provider_id);
	*affected = 0;
	if ((rc = db_exec(c, del ? STMT_UKEY_DELETE : STMT_UKEY_DISABLE, p, 3,
		 &rows, a)) == TG_OK)
		*affected = rows.affected;
	return rc;
}

enum tg_err
q_provider_served(
    struct db_conn *c, struct arena *a, struct q_provider **out, size_t *n)
{
	struct db_rows rows;
	const struct db_val *v;
	enum tg_err rc;
	size_t i;

	*n = 0;
	if ((rc = db_exec(c, STMT_PROVIDER_LIST, NULL, 0, &rows, a)) != TG_OK)
		return rc;
	*out = arena_calloc(a, rows.nrows + 1, sizeof(**out));
	for (i = 0; i < rows.nrows; i++) {
		v = &rows.v[i * rows.ncols];
		(*out)[i] = (struct q_provider){.id = v[0].s,
		    .name = v[1].s,
		    .kind = v[2].s,
		    .enabled = (int)v[3].i,
		    .models = v[4].i};
	}
	*n = rows.nrows;
	return TG_OK;
}

enum tg_err
q_provider_seed(struct db_conn *c, struct arena *a, const struct q_provider *pr)
{
	struct db_val p[4] = {DB_STR(pr->id), DB_STR(pr->kind),
	    DB_STR(pr->name), DB_STR(pr->base_url)};

	return db_exec(c, STMT_PROVIDER_SEED, p, 4, NULL, a);
}
