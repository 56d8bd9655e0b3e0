/* fuzz_router.c: the router's path and method matching */
/* SPDX-License-Identifier: MIT */
#include "fuzz.h"

#include <string.h>

#include "core/arena.h"
#include "http/req.h"
#include "http/router.h"

static struct arena *arena;

/* The pattern with its captures put back: what the path must have been. */
static char *
expand(const struct route *rt, const struct tg_req *r)
{
	const char *p = rt->pattern;
	char *out = arena_alloc(arena, strlen(p) + 1 + REQ_MAX_URI * 2), *o;
	size_t i = 0, n;

	for (o = out; *p != '\0';) {
		if (p[0] == '{') {
			FUZZ_CHECK(i < r->ncaptures);
			FUZZ_CHECK(r->captures[i][0] != '\0');
			FUZZ_CHECK(strchr(r->captures[i], '/') == NULL);
			n = strlen(r->captures[i]);
			memcpy(o, r->captures[i++], n);
			o += n;
			p = strchr(p, '}') + 1;
		} else
			*o++ = *p++;
	}
	*o = '\0';
	FUZZ_CHECK(i == r->ncaptures);
	return out;
}

/* 1 when path is want under one of the router's alias prefixes (/api/v1/, /api/proxy/). */
static int
aliased(const char *path, const char *want)
{
	static const char *const pre[] = {"/api/v1/", "/api/proxy/"};
	size_t i, n;

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		n = strlen(pre[i]);
		if (strncmp(path, pre[i], n) == 0 &&
		    strncmp(want, "/v1/", 4) == 0 &&
		    strcmp(path + n, want + 4) == 0)
			return 1;
	}
	return 0;
}

/*
 * Input: a flags byte (bit 0: debug routes), a method name, a newline and
 * the decoded path (as req_init leaves it: a C string).
 */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct route *rt, *all;
	struct tg_req r;
	enum tg_err err = TG_OK;
	enum tg_method m;
	char allow[128], *s, *nl, *path;
	size_t nroutes, i;
	int debug;

	if (size < 1 || size > REQ_MAX_URI)
		return 0;
	if (arena == NULL && (arena = arena_new(0)) == NULL)
		return 0;
	debug = data[0] & 1;
	s = arena_alloc(arena, size);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	nl = strchr(s, '\n');
	path = nl != NULL ? nl + 1 : s;
	if (nl != NULL)
		*nl = '\0';
	m = nl != NULL ? req_method_parse(s) : TG_M_GET;
	memset(&r, 0, sizeof(r));
	r.arena = arena;
	rt = router_match(&r, m, path, debug, &err, allow, sizeof(allow));
	if (rt != NULL) {
		FUZZ_CHECK(rt->method == m ||
		    (m == TG_M_HEAD && rt->method == TG_M_GET));
		FUZZ_CHECK(debug || !(rt->flags & RF_DEBUG));
		FUZZ_CHECK(r.ncaptures <= REQ_MAX_CAPTURES);
		FUZZ_CHECK(strcmp(expand(rt, &r), path) == 0 ||
		    aliased(path, expand(rt, &r)));
	} else {
		FUZZ_CHECK(err == TG_ENOENT || err == TG_EMETHOD);
		FUZZ_CHECK(strlen(allow) < sizeof(allow));
		/* 405 names what would match; 404 only when nothing would. */
		FUZZ_CHECK((err == TG_EMETHOD) == (allow[0] != '\0'));
		FUZZ_CHECK(err != TG_EMETHOD || strstr(allow, "OPTIONS"));
	}
	/* No route of the method matches when the router said none. */
	all = router_routes(&nroutes);
	for (i = 0; rt == NULL && i < nroutes; i++)
		FUZZ_CHECK(all[i].method != m ||
		    ((all[i].flags & RF_DEBUG) && !debug) ||
		    strcmp(all[i].pattern, path) != 0);
	arena_reset(arena);
	return 0;
}
