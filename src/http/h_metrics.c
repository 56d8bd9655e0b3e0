/* h_metrics.c: GET /metrics, the node's counters in Prometheus' text format */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/util.h"
#include "domain/auth.h"
#include "domain/metrics.h"
#include "http/ctx.h"
#include "http/handlers.h"
#include "http/pipeline.h"
#include "http/req.h"
#include "http/resp.h"
#include "http/router.h"
#include "io/db.h"

#define METRICS_BODY_MAX  (4u << 20)
#define ROUTER_MAX_ROUTES 512
#define ALLOW_MAX	  4096 /* longest [metrics] allow read */

/* An address as 16 bytes (IPv4 as ::ffff:a.b.c.d); 0 or -1. */
static int
addr16(const char *s, unsigned char out[16])
{
	unsigned char v4[4];

	if (inet_pton(AF_INET6, s, out) == 1)
		return 0;
	if (inet_pton(AF_INET, s, v4) != 1)
		return -1;
	memset(out, 0, 10);
	out[10] = out[11] = 0xff;
	memcpy(out + 12, v4, 4);
	return 0;
}

/* Whether addr is inside one "address[/bits]" entry. */
static int
in_entry(const unsigned char addr[16], const char *entry)
{
	char host[64];
	const char *slash = strchr(entry, '/');
	unsigned char net[16];
	uint64_t bits = 128;
	size_t n = slash != NULL ? (size_t)(slash - entry) : strlen(entry), i;

	if (n == 0 || n >= sizeof(host))
		return 0;
	memcpy(host, entry, n);
	host[n] = '\0';
	if (addr16(host, net) == -1)
		return 0;
	if (slash != NULL &&
	    util_parse_u64(slash + 1, 0, strchr(host, ':') ? 128 : 32, &bits) ==
		-1)
		return 0;
	if (slash != NULL && strchr(host, ':') == NULL)
		bits += 96; /* an IPv4 prefix inside the mapped form */
	for (i = 0; i < 16 && bits > 0; i++, bits = bits > 8 ? bits - 8 : 0) {
		unsigned char mask = bits >= 8 ? 0xff : (0xff << (8 - bits));

		if ((addr[i] & mask) != (net[i] & mask))
			return 0;
	}
	return 1;
}

/* Whether the client's address is in [metrics] allow (exact or CIDR). */
static int
allowed(const char *list, const char *remote)
{
	char copy[ALLOW_MAX], *tok, *save = NULL;
	unsigned char a[16];

	if (list == NULL || remote == NULL || strlen(list) >= sizeof(copy) ||
	    addr16(remote, a) == -1)
		return 0;
	memcpy(copy, list, strlen(list) + 1);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save))
		if (in_entry(a, tok))
			return 1;
	return 0;
}

/* This process's figures as of now (others publish theirs each tick). */
static void
publish_mine(struct tg_req *r)
{
	struct db_stats st;
	unsigned in_use, size;

	db_stats(r->ctx->db, &st);
	db_pool_use(r->ctx->db, &in_use, &size);
	metrics_db(in_use, size, st.executed, st.executed_bg, st.cache_hits,
	    st.cache_misses);
}

enum tg_err
h_metrics(struct tg_req *r, struct tg_resp *resp)
{
	const char *names[ROUTER_MAX_ROUTES];
	const struct route *rt;
	struct metrics_snap *s;
	struct buf b;
	size_t n, i;
	enum tg_err rc;

	/* Listed addresses need no credential; others an admin's. */
	if (!allowed(r->ctx->conf->metrics_allow, r->remote_addr) &&
	    (rc = auth_check(r, resp, PERM_ADMIN)) != TG_OK)
		return rc;
	publish_mine(r);
	rt = router_routes(&n);
	for (i = 0; i < n && i < ROUTER_MAX_ROUTES; i++)
		names[i] = rt[i].pattern;
	if ((s = malloc(sizeof(*s))) == NULL)
		return resp_fail(r, resp, TG_ESYSTEM, NULL, "out of memory");
	metrics_snapshot(s);
	buf_init(&b, METRICS_BODY_MAX);
	rc = metrics_write(&b, s, names, i, PACKAGE_VERSION) == 0 ? TG_OK
								  : TG_ESYSTEM;
	free(s);
	if (rc != TG_OK) {
		buf_free(&b);
		return resp_fail(
		    r, resp, rc, NULL, "the metrics did not fit in memory");
	}
	arena_defer_free(r->arena, b.data);
	resp->raw = b.data;
	resp->rawlen = b.len;
	resp->ctype = "text/plain; version=0.0.4; charset=utf-8";
	return TG_OK;
}
