/* test_chat.c: hold and cost arithmetic, usage parsing, upstream request building */
#include "test_common.h"

#include "core/arena.h"
#include "domain/pricing.h"
#include "core/json.h"
#include "prov/params.h"
#include "prov/prov.h"
#include "domain/routing.h"

static void
t_cost_exact(void **state)
{
	/* $1 in, $2 out per million (micro-USD per million). */
	struct prices p = {1000000, 2000000, 500000, 0};
	struct token_counts u = {.prompt = 12, .completion = 12};
	struct cost c;

	(void)state;
	chat_cost(&p, &u, 500, &c);
	/* 12 x 1000 + 12 x 2000 nano-USD */
	assert_int_equal(c.base, 36000);
	assert_int_equal(c.commission, 1800);
	assert_int_equal(c.charge, 37800);
	/* Commission rounds up to a whole nano-USD. */
	u.prompt = 1;
	u.completion = 0;
	chat_cost(&p, &u, 500, &c);
	assert_int_equal(c.base, 1000);
	assert_int_equal(c.commission, 50);
	p.input = 1; /* one micro-USD per million: 0.001 nano a token */
	chat_cost(&p, &u, 333, &c);
	assert_int_equal(c.base, 1);
	assert_int_equal(c.commission, 1);
	assert_int_equal(c.charge, 2);
	/* Zero commission, zero usage. */
	u.prompt = 0;
	chat_cost(&p, &u, 0, &c);
	assert_int_equal(c.charge, 0);
}

static void
t_cost_cached(void **state)
{
	struct prices p = {2500000, 10000000, 1250000, 0}; /* gpt-4o-like */
	struct token_counts u = {
	    .prompt = 1000, .completion = 100, .cached = 400};
	struct cost c;

	(void)state;
	chat_cost(&p, &u, 0, &c);
	/* 600 x 2500 + 400 x 1250 + 100 x 10000 */
	assert_int_equal(c.base, 1500000 + 500000 + 1000000);
	/* cached above prompt is clamped */
	u.cached = 5000;
	chat_cost(&p, &u, 0, &c);
	assert_int_equal(c.base, 1000 * 1250 + 100 * 10000);
}

/*
 * Anthropic-like prices: $3 in, $15 out, $0.30 cache read, $3.75 cache write
 * per million.  Each part at its own price, each rounded up on its own.
 */
static void
t_cost_cache_write(void **state)
{
	struct prices p = {3000000, 15000000, 300000, 3750000};
	struct token_counts u = {.prompt = 1000,
	    .completion = 100,
	    .cached = 400,
	    .cache_write = 200};
	struct cost c;

	(void)state;
	chat_cost(&p, &u, 0, &c);
	/* 400 x 3000 + 400 x 300 + 200 x 3750 + 100 x 15000 nano-USD */
	assert_int_equal(c.base, 1200000 + 120000 + 750000 + 1500000);
	/* Commission on the whole, rounded up. */
	chat_cost(&p, &u, 333, &c);
	assert_int_equal(c.commission, (3570000 * 333 + 9999) / 10000);
	/* No cache-write price: those tokens at the input price. */
	p.cache_write = 0;
	chat_cost(&p, &u, 0, &c);
	assert_int_equal(c.base, 1200000 + 120000 + 200 * 3000 + 1500000);
	/* Rounded up per part: 1 token at 1 micro-USD/M is 1 nano each. */
	p = (struct prices){1, 1, 1, 1};
	u = (struct token_counts){
	    .prompt = 3, .completion = 1, .cached = 1, .cache_write = 1};
	chat_cost(&p, &u, 0, &c);
	assert_int_equal(c.base, 4);
	/* Cached + cache_write above prompt: clamped to the prompt. */
	p = (struct prices){3000000, 15000000, 300000, 3750000};
	u = (struct token_counts){
	    .prompt = 100, .cached = 70, .cache_write = 50};
	chat_cost(&p, &u, 0, &c);
	assert_int_equal(c.base, 70 * 300 + 30 * 3750);
	u = (struct token_counts){
	    .prompt = 100, .cached = 0, .cache_write = 500};
	chat_cost(&p, &u, 0, &c);
	assert_int_equal(c.base, 100 * 3750);
	u.cache_write = -5; /* never a credit */
	chat_cost(&p, &u, 0, &c);
	assert_int_equal(c.base, 100 * 3000);
}

/* The hold prices each prompt token at the dearest prompt price. */
static void
t_hold_cache_write(void **state)
{
	struct prices p = {3000000, 15000000, 300000, 3750000};
	struct token_counts u = {
	    .prompt = 200, .completion = 100, .cache_write = 200};
	struct cost c;

	(void)state;
	assert_int_equal(
	    chat_hold(&p, 200, 100, 1, 0), 200 * 3750 + 100 * 15000);
	/* A prompt written to the cache in full still fits in the hold. */
	chat_cost(&p, &u, 500, &c);
	assert_true(c.charge <= chat_hold(&p, 200, 100, 1, 500));
	assert_int_equal(c.charge, chat_hold(&p, 200, 100, 1, 500));
	/* cache_write 0 (none) or below input: the input price. */
	p.cache_write = 0;
	assert_int_equal(
	    chat_hold(&p, 200, 100, 1, 0), 200 * 3000 + 100 * 15000);
	p.cache_write = 1000000;
	assert_int_equal(
	    chat_hold(&p, 200, 100, 1, 0), 200 * 3000 + 100 * 15000);
}

static void
t_hold(void **state)
{
	struct prices p = {1000000, 2000000, 500000, 0};

	(void)state;
	/* 200 body bytes at $1/M + 2 x 100 at $2/M, plus 5 % */
	assert_int_equal(chat_hold(&p, 200, 100, 2, 500),
	    (200 * 1000 + 200 * 2000) * 105 / 100);
	/* The hold covers any answer within the bounds. */
	{
		struct token_counts u = {.prompt = 200, .completion = 200};
		struct cost c;

		chat_cost(&p, &u, 500, &c);
		assert_true(c.charge <= chat_hold(&p, 200, 100, 2, 500));
	}
	/* Saturates instead of wrapping. */
	p.input = INT64_MAX / 2;
	assert_int_equal(
	    chat_hold(&p, INT64_MAX, INT64_MAX, 16, 10000), INT64_MAX);
	assert_true(chat_hold(&p, 1, 0, 1, 0) > 0);
}

static void
t_usage_parse(void **state)
{
	struct token_counts u;
	json_t *o;

	(void)state;
	o = json_loads("{\"prompt_tokens\":12,\"completion_tokens\":30,"
		       "\"total_tokens\":42,\"prompt_tokens_details\":{"
		       "\"cached_tokens\":4},\"completion_tokens_details\":{"
		       "\"reasoning_tokens\":6}}",
	    0, NULL);
	assert_int_equal(chat_usage_parse(o, &u), 0);
	assert_int_equal(u.prompt, 12);
	assert_int_equal(u.completion, 30);
	assert_int_equal(u.cached, 4);
	assert_int_equal(u.reasoning, 6);
	assert_int_equal(u.upstream_cost, -1);
	assert_true(u.present);
	json_decref(o);
	/* DeepSeek's cache fields; OpenRouter's cost */
	o = json_loads("{\"prompt_tokens\":10,\"completion_tokens\":2,"
		       "\"prompt_cache_hit_tokens\":7,"
		       "\"prompt_cache_miss_tokens\":3,\"cost\":0.000014}",
	    0, NULL);
	assert_int_equal(chat_usage_parse(o, &u), 0);
	assert_int_equal(u.cached, 7);
	assert_int_equal(u.upstream_cost, 14000);
	json_decref(o);
	/* OpenRouter's cache writes, clamped so cached + written <= prompt */
	o = json_loads("{\"prompt_tokens\":100,\"completion_tokens\":2,"
		       "\"prompt_tokens_details\":{\"cached_tokens\":30,"
		       "\"cache_write_tokens\":50}}",
	    0, NULL);
	assert_int_equal(chat_usage_parse(o, &u), 0);
	assert_int_equal(u.cached, 30);
	assert_int_equal(u.cache_write, 50);
	json_decref(o);
	o = json_loads("{\"prompt_tokens\":100,\"completion_tokens\":2,"
		       "\"prompt_tokens_details\":{\"cached_tokens\":70,"
		       "\"cache_write_tokens\":50}}",
	    0, NULL);
	assert_int_equal(chat_usage_parse(o, &u), 0);
	assert_int_equal(u.cached, 70);
	assert_int_equal(u.cache_write, 30);
	json_decref(o);
	/* embeddings: prompt and total only */
	o = json_loads("{\"prompt_tokens\":8,\"total_tokens\":8}", 0, NULL);
	assert_int_equal(chat_usage_parse(o, &u), 0);
	assert_int_equal(u.prompt, 8);
	assert_int_equal(u.completion, 0);
	json_decref(o);
	/* not usage */
	o = json_loads("{\"foo\":1}", 0, NULL);
	assert_int_equal(chat_usage_parse(o, &u), -1);
	assert_int_equal(chat_usage_parse(NULL, &u), -1);
	json_decref(o);
	/* negative and non-integer counts count 0 */
	o = json_loads(
	    "{\"prompt_tokens\":-5,\"completion_tokens\":\"7\"}", 0, NULL);
	assert_int_equal(chat_usage_parse(o, &u), 0);
	assert_int_equal(u.prompt, 0);
	assert_int_equal(u.completion, 0);
	json_decref(o);
}

static void
t_estimate(void **state)
{
	(void)state;
	assert_int_equal(chat_estimate_tokens(0), 0);
	assert_int_equal(chat_estimate_tokens(1), 1);
	assert_int_equal(chat_estimate_tokens(4), 1);
	assert_int_equal(chat_estimate_tokens(5), 2);
}

/*
 * The pivot's members for Anthropic (a part's cache_control, an assistant's
 * thinking_blocks, the request's thinking) never reach OpenAI, which refuses
 * unknown members; OpenRouter keeps cache_control; the client's body stays.
 */
static void
t_prov_build_pivot_only(void **state)
{
	struct arena *a = arena_new(4096);
	struct deployment rt = {.provider_id = "oa",
	    .kind = PROV_OPENAI,
	    .base_url = "https://api.openai.com/v1",
	    .upstream_model = "gpt-4o-mini"};
	struct prov_call pc;
	json_t *body, *sent;
	char *orig, *now;

	(void)state;
	body = json_loads(
	    "{\"model\":\"x/y\",\"thinking\":{\"type\":\"enabled\"},"
	    "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"hi\",\"cache_control\":{\"type\":"
	    "\"ephemeral\"}}]},{\"role\":\"assistant\",\"content\":\"ok\","
	    "\"thinking_blocks\":[{\"type\":\"thinking\"}]}],"
	    "\"tools\":[{\"type\":\"function\",\"cache_control\":{}}]}",
	    0, NULL);
	assert_non_null(body);
	orig = json_dumps(body, JSON_SORT_KEYS);
	assert_int_equal(
	    prov_build(a, EP_CHAT, &rt, body, 0, 100, "k", NULL, NULL, &pc), 0);
	assert_null(strstr(pc.body, "cache_control"));
	assert_null(strstr(pc.body, "thinking"));
	assert_non_null(strstr(pc.body, "\"text\":\"hi\""));
	now = json_dumps(body, JSON_SORT_KEYS);
	assert_string_equal(now, orig);
	free(now);
	rt.kind = PROV_OPENROUTER;
	assert_int_equal(
	    prov_build(a, EP_CHAT, &rt, body, 0, 100, "k", NULL, NULL, &pc), 0);
	sent = json_loads(pc.body, 0, NULL);
	assert_non_null(strstr(pc.body, "cache_control"));
	assert_null(strstr(pc.body, "thinking"));
	json_decref(sent);
	free(orig);
	json_decref(body);
	arena_free(a);
}

static void
t_prov_build(void **state)
{
	struct arena *a = arena_new(4096);
	struct deployment rt = {.provider_id = "or",
	    .kind = PROV_OPENROUTER,
	    .base_url = "https://openrouter.ai/api/v1/",
	    .upstream_model = "openai/gpt-4o-mini"};
	struct prov_call pc;
	json_t *body, *b2, *sent;
	char *orig, *now;
	size_t i;
	int saw_ref = 0, saw_auth = 0;

	(void)state;
	body = json_loads("{\"model\":\"x/y\",\"messages\":[],\"tools\":[1],"
			  "\"custom\":{\"a\":1}}",
	    0, NULL);
	assert_int_equal(prov_build(a, EP_CHAT, &rt, body, 1, 4096, "sk-secret",
			     NULL, "My App", &pc),
	    0);
	assert_string_equal(
	    pc.url, "https://openrouter.ai/api/v1/chat/completions");
	sent = json_loads(pc.body, 0, NULL);
	assert_non_null(sent);
	assert_string_equal(json_string_value(json_object_get(sent, "model")),
	    "openai/gpt-4o-mini");
	assert_int_equal(
	    json_integer_value(json_object_get(sent, "max_tokens")), 4096);
	assert_true(json_is_true(json_object_get(
	    json_object_get(sent, "stream_options"), "include_usage")));
	assert_true(json_is_true(
	    json_object_get(json_object_get(sent, "usage"), "include")));
	/* Unknown members pass through untouched. */
	assert_non_null(json_object_get(sent, "tools"));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(sent, "custom"), "a")),
	    1);
	for (i = 0; i < pc.nheaders; i++) {
		if (strcmp(pc.headers[i], "X-Title: My App") == 0)
			saw_ref++;
		if (strncmp(pc.headers[i], "HTTP-Referer: ", 14) == 0)
			saw_ref++;
		if (strcmp(pc.headers[i], "Authorization: Bearer sk-secret") ==
		    0)
			saw_auth = 1;
	}
	assert_int_equal(saw_ref, 2);
	assert_true(saw_auth);
	/* The client's body is not modified. */
	assert_string_equal(
	    json_string_value(json_object_get(body, "model")), "x/y");
	json_decref(sent);

	/*
	 * The copy is shallow: the nested objects we add to are copied first,
	 * so the client's own stream_options and usage stay as they were.
	 */
	b2 = json_loads("{\"model\":\"x/y\",\"messages\":[{\"role\":\"user\"}],"
			"\"provider\":{\"order\":[\"a\"]},"
			"\"stream_options\":{\"x\":1},\"usage\":{\"y\":2}}",
	    0, NULL);
	orig = json_dumps(b2, JSON_SORT_KEYS);
	assert_int_equal(prov_build(a, EP_CHAT, &rt, b2, 1, 4096, "sk-secret",
			     NULL, NULL, &pc),
	    0);
	now = json_dumps(b2, JSON_SORT_KEYS);
	assert_string_equal(now, orig);
	free(now);
	free(orig);
	sent = json_loads(pc.body, 0, NULL);
	assert_true(json_is_true(json_object_get(
	    json_object_get(sent, "stream_options"), "include_usage")));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(sent, "stream_options"), "x")),
	    1);
	assert_true(json_is_true(
	    json_object_get(json_object_get(sent, "usage"), "include")));
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(sent, "usage"), "y")),
	    2);
	assert_null(json_object_get(sent, "provider"));
	json_decref(b2);
	json_decref(sent);

	/* OpenAI: max_completion_tokens; a client max is not overridden. */
	rt.kind = PROV_OPENAI;
	rt.base_url = "https://api.openai.com/v1";
	assert_int_equal(
	    prov_build(a, EP_CHAT, &rt, body, 0, 4096, "k", NULL, NULL, &pc),
	    0);
	sent = json_loads(pc.body, 0, NULL);
	assert_int_equal(
	    json_integer_value(json_object_get(sent, "max_completion_tokens")),
	    4096);
	assert_null(json_object_get(sent, "stream_options"));
	assert_null(json_object_get(sent, "usage"));
	json_decref(sent);
	assert_int_equal(
	    prov_build(a, EP_EMBEDDINGS, &rt, body, 0, 0, "k", NULL, NULL, &pc),
	    0);
	assert_string_equal(pc.url, "https://api.openai.com/v1/embeddings");
	/* A header value with a line break from a client is not sent. */
	rt.kind = PROV_OPENROUTER;
	assert_int_equal(prov_build(a, EP_CHAT, &rt, body, 0, 0, "k",
			     "http://x\r\nEvil: 1", NULL, &pc),
	    0);
	for (i = 0; i < pc.nheaders; i++)
		assert_null(strstr(pc.headers[i], "Evil"));
	json_decref(body);
	arena_free(a);
}

/*
 * One output cap upstream: every cap the client sent is stripped and the one
 * held is sent under the name the provider kind reads (audit C1).
 */
static void
t_prov_build_one_cap(void **state)
{
	struct arena *a = arena_new(4096);
	struct deployment rt = {.provider_id = "p",
	    .kind = PROV_OPENAI,
	    .base_url = "https://api.openai.com/v1",
	    .upstream_model = "gpt-4o"};
	static const struct {
		enum prov_kind kind;
		enum endpoint ep;
		const char *field; /* the one cap sent, NULL none */
	} cases[] = {
	    {PROV_OPENAI, EP_CHAT, "max_completion_tokens"},
	    {PROV_OPENAI, EP_COMPLETIONS, "max_tokens"},
	    {PROV_DEEPSEEK, EP_CHAT, "max_tokens"},
	    {PROV_OPENROUTER, EP_CHAT, "max_tokens"},
	    {PROV_COMPATIBLE, EP_CHAT, "max_tokens"},
	    {PROV_COMPATIBLE, EP_COMPLETIONS, "max_tokens"},
	    {PROV_OPENAI, EP_EMBEDDINGS, NULL},
	};
	static const char *const caps[] = {
	    "max_tokens", "max_completion_tokens", "max_output_tokens"};
	struct prov_call pc;
	json_t *body, *sent;
	size_t i, k, ncaps;

	(void)state;
	body =
	    json_loads("{\"model\":\"x\",\"messages\":[],\"max_tokens\":32000,"
		       "\"max_completion_tokens\":1,"
		       "\"max_output_tokens\":7}",
		0, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rt.kind = cases[i].kind;
		assert_int_equal(prov_build(a, cases[i].ep, &rt, body, 0,
				     cases[i].ep == EP_EMBEDDINGS ? 0 : 32000,
				     "k", NULL, NULL, &pc),
		    0);
		sent = json_loads(pc.body, 0, NULL);
		assert_non_null(sent);
		for (k = 0, ncaps = 0; k < 3; k++)
			if (json_object_get(sent, caps[k]) != NULL)
				ncaps++;
		assert_int_equal(ncaps, cases[i].field != NULL ? 1 : 0);
		if (cases[i].field != NULL)
			assert_int_equal(json_integer_value(json_object_get(
					     sent, cases[i].field)),
			    32000);
		json_decref(sent);
	}
	/* The client's own body keeps its members. */
	assert_int_equal(
	    json_integer_value(json_object_get(body, "max_completion_tokens")),
	    1);
	json_decref(body);
	arena_free(a);
}

/* judge BODY on ep: the return of params_check; param and code when refused. */
static int
judge(const char *body, int ep, const struct param_allow *allow, size_t n,
    struct param_cost *pc, const char **param, const char **code)
{
	json_t *b = json_loads(body, 0, NULL);
	char msg[256];
	int rc;

	assert_non_null(b);
	*param = *code = NULL;
	rc = params_check(b, ep, allow, n, pc, param, code, msg, sizeof(msg));
	if (rc != 0)
		assert_non_null(strstr(msg, *param));
	/* param points into b: a refusal's name is copied for the caller */
	*param = rc != 0 ? strdup(*param) : NULL;
	json_decref(b);
	return rc;
}

/* The parameter table: refusals name the member; the operator's allow list. */
static void
t_params(void **state)
{
	struct param_allow allow[PARAMS_MAX_ALLOW];
	struct param_cost pc;
	const char *param, *code, *name, *rule;
	char err[256];
	size_t n, i, k;
	unsigned eps;
	static const char *const refused[] = {"{\"models\":[]}",
	    "{\"route\":\"fallback\"}", "{\"plugins\":[]}",
	    "{\"web_search_options\":{}}", "{\"service_tier\":\"auto\"}",
	    "{\"modalities\":[\"text\",\"audio\"]}", "{\"audio\":{}}",
	    "{\"prediction\":{}}", "{\"frobnicate\":1}", "{\"echo\":true}"};

	(void)state;
	assert_int_equal(judge("{\"model\":\"m\",\"messages\":[],"
			       "\"temperature\":1,\"service_tier\":\"default\","
			       "\"modalities\":[\"text\"],\"n\":2}",
			     EP_CHAT, NULL, 0, &pc, &param, &code),
	    0);
	assert_int_equal(pc.times, 1);
	assert_int_equal(pc.fee, 0);
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(
		    judge(refused[i], EP_CHAT, NULL, 0, &pc, &param, &code),
		    -1);
		assert_string_equal(code, "unsupported_parameter");
		free((char *)param);
	}
	/* echo is a completions parameter; dimensions an embeddings one */
	assert_int_equal(judge("{\"echo\":true,\"best_of\":2}", EP_COMPLETIONS,
			     NULL, 0, &pc, &param, &code),
	    0);
	assert_int_equal(judge("{\"dimensions\":8}", EP_EMBEDDINGS, NULL, 0,
			     &pc, &param, &code),
	    0);
	assert_int_equal(judge("{\"temperature\":1}", EP_EMBEDDINGS, NULL, 0,
			     &pc, &param, &code),
	    -1);
	assert_string_equal(param, "temperature");
	free((char *)param);
	/* allowed by the operator, with prices */
	assert_int_equal(params_allow_parse("plugins:add_usd=0.02, k:times, "
					    "j:times, x:add_usd=0.000000005",
			     allow, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 4);
	assert_int_equal(judge("{\"plugins\":[],\"k\":2,\"j\":4,\"x\":null}",
			     EP_CHAT, allow, n, &pc, &param, &code),
	    0);
	assert_int_equal(pc.times, 8);
	assert_int_equal(pc.fee, 20000000); /* x is null: no fee */
	assert_int_equal(
	    judge("{\"k\":4,\"j\":8}", EP_CHAT, allow, n, &pc, &param, &code),
	    -1); /* 32 completions: beyond CHAT_MAX_N */
	assert_string_equal(code, "invalid_value");
	free((char *)param);
	assert_int_equal(
	    judge("{\"k\":\"2\"}", EP_CHAT, allow, n, &pc, &param, &code), -1);
	assert_string_equal(param, "k");
	free((char *)param);
	/* the table: names unique, each documented in doc/api-data-plane.md */
	{
		const char *src = getenv("TOLLGATE_SRCDIR");
		char path[4096], *doc = NULL, want[80];
		size_t len = 0;
		FILE *fp;

		snprintf(path, sizeof(path), "%s/doc/api-data-plane.md",
		    src != NULL ? src : ".");
		assert_non_null(fp = fopen(path, "r"));
		assert_true(getdelim(&doc, &len, '\0', fp) > 0);
		fclose(fp);
		for (i = 0; params_row(i, &name, &eps, &rule) == 0; i++) {
			const char *other;
			unsigned e2;

			assert_true(eps != 0);
			for (k = 0; k < i; k++) {
				assert_int_equal(
				    params_row(k, &other, &e2, &rule), 0);
				assert_string_not_equal(other, name);
			}
			snprintf(want, sizeof(want), "`%s`", name);
			if (strstr(doc, want) == NULL)
				fail_msg("%s is not in %s", want, path);
		}
		assert_true(i > 40);
		free(doc);
	}
}

static struct deployment
dep(const char *id, int64_t in, int64_t out)
{
	struct deployment d;

	memset(&d, 0, sizeof(d));
	snprintf(d.provider_id, sizeof(d.provider_id), "%s", id);
	d.input_price = in;
	d.output_price = out;
	return d;
}

static size_t
apply(const char *prefs, struct deployment *d, size_t n, const double *ttft)
{
	struct route_prefs rp;
	const char *param = NULL;
	char msg[160];
	json_t *p = prefs != NULL ? json_loads(prefs, 0, NULL) : NULL;
	size_t m;

	assert_int_equal(
	    routing_prefs_parse(p, &rp, &param, msg, sizeof(msg)), TG_OK);
	m = routing_apply(d, n, &rp, ttft); /* rp borrows the strings of p */
	json_decref(p);
	return m;
}

static void
t_route(void **state)
{
	struct deployment d[3];
	double ttft[3] = {900, -1, 100};
	struct route_prefs rp;
	const char *param = NULL;
	char msg[160];
	json_t *bad;

	(void)state;
	/* The database order (price, then priority, weight) stands by default. */
	d[0] = dep("a", 1, 1), d[1] = dep("b", 2, 2), d[2] = dep("c", 3, 3);
	assert_int_equal(apply(NULL, d, 3, NULL), 3);
	assert_string_equal(d[0].provider_id, "a");
	/* order pins, the rest follow by price */
	d[0] = dep("a", 1, 1), d[1] = dep("b", 2, 2), d[2] = dep("c", 3, 3);
	assert_int_equal(apply("{\"order\":[\"c\"]}", d, 3, NULL), 3);
	assert_string_equal(d[0].provider_id, "c");
	assert_string_equal(d[1].provider_id, "a");
	/* without fallbacks only the ordered ones */
	d[0] = dep("a", 1, 1), d[1] = dep("b", 2, 2), d[2] = dep("c", 3, 3);
	assert_int_equal(
	    apply("{\"order\":[\"c\",\"b\"],\"allow_fallbacks\":false}", d, 3,
		NULL),
	    2);
	assert_string_equal(d[0].provider_id, "c");
	assert_string_equal(d[1].provider_id, "b");
	/* only, ignore, max_price (USD per million: 2 = 2000000 micro) */
	d[0] = dep("a", 1000000, 1000000), d[1] = dep("b", 3000000, 1000000),
	d[2] = dep("c", 1000000, 1000000);
	assert_int_equal(
	    apply("{\"ignore\":[\"a\"],\"max_price\":{\"prompt\":2}}", d, 3,
		NULL),
	    1);
	assert_string_equal(d[0].provider_id, "c");
	/* latency: measured first, fastest first; unknown last */
	d[0] = dep("a", 1, 1), d[1] = dep("b", 2, 2), d[2] = dep("c", 3, 3);
	assert_int_equal(apply("{\"sort\":\"latency\"}", d, 3, ttft), 3);
	assert_string_equal(d[0].provider_id, "c");
	assert_string_equal(d[1].provider_id, "a");
	assert_string_equal(d[2].provider_id, "b");
	/* refusals name the member */
	bad = json_loads("{\"sort\":\"nope\"}", 0, NULL);
	assert_int_equal(
	    routing_prefs_parse(bad, &rp, &param, msg, sizeof(msg)), TG_EINVAL);
	assert_string_equal(param, "provider.sort");
	json_decref(bad);
	bad = json_loads("{\"order\":[1]}", 0, NULL);
	assert_int_equal(
	    routing_prefs_parse(bad, &rp, &param, msg, sizeof(msg)), TG_EINVAL);
	assert_string_equal(param, "provider.order");
	json_decref(bad);
	bad = json_loads("{\"max_price\":{\"prompt\":\"x\"}}", 0, NULL);
	assert_int_equal(
	    routing_prefs_parse(bad, &rp, &param, msg, sizeof(msg)), TG_EINVAL);
	json_decref(bad);
	/* unknown members are OpenRouter's business: ignored */
	bad =
	    json_loads("{\"data_collection\":\"deny\",\"zdr\":true}", 0, NULL);
	assert_int_equal(
	    routing_prefs_parse(bad, &rp, &param, msg, sizeof(msg)), TG_OK);
	json_decref(bad);
}

/*
 * chat_usage_scan reads the text with the rules chat_usage_parse applies to
 * the tree: on every text it judges, the two agree.  The corpus, and every
 * single-byte change, deletion and truncation of it that jx_valid passes.
 */
static const char *const usage_corpus[] = {
    "{\"prompt_tokens\":12,\"completion_tokens\":30,\"total_tokens\":42,"
    "\"prompt_tokens_details\":{\"cached_tokens\":4},"
    "\"completion_tokens_details\":{\"reasoning_tokens\":6}}",
    "{ \"prompt_tokens\" : 10 , \"completion_tokens\" : 2 ,"
    "\"prompt_cache_hit_tokens\":7,\"prompt_cache_miss_tokens\":3 }",
    "{\"prompt_tokens\":8,\"total_tokens\":19}",
    "{\"prompt_tokens\":-5,\"completion_tokens\":\"7\",\"total_tokens\":1.5}",
    "{\"prompt_tokens\":9,\"prompt_tokens\":11,\"completion_tokens\":1e2}",
    "{\"prompt_tokens\":3,\"prompt_tokens_details\":[1,2],"
    "\"completion_tokens_details\":null,\"completion_tokens\":0}",
    "{\"prompt_tokens\":9223372036854775807,\"completion_tokens\":-0}",
    "{\"prompt_tokens_details\":{\"cached_tokens\":4}}",
    "{\"prompt_tokens\":9,\"prompt_tokens_details\":{\"cached_tokens\":4,"
    "\"cache_write_tokens\":7},\"completion_tokens\":1}",
    "{}",
    "{\"completion_tokens\":5,\"prompt_tokens_details\":{\"cached_tokens\""
    ":{\"n\":1},\"x\":[{\"cached_tokens\":9}]}}",
};

static int
agree(const char *t, size_t len, int *judged)
{
	struct token_counts a, b;
	json_t *o;
	int ra, rb;

	if (!jx_valid(t, len))
		return 1;
	if ((ra = chat_usage_scan(t, len, &a)) == -2)
		return 1;
	(*judged)++;
	if ((o = json_loadb(t, len, 0, NULL)) == NULL)
		return 0; /* jx_valid passed what jansson refuses */
	rb = chat_usage_parse(o, &b);
	json_decref(o);
	return ra == rb && memcmp(&a, &b, sizeof(a)) == 0;
}

static int
scan_str(const char *t, struct token_counts *u)
{
	return chat_usage_scan(t, strlen(t), u);
}

static void
t_usage_scan_agrees(void **state)
{
	char m[512];
	size_t i, k, len;
	int judged = 0, base = 0, c;
	struct token_counts u;

	(void)state;
	for (i = 0; i < sizeof(usage_corpus) / sizeof(*usage_corpus); i++) {
		const char *t = usage_corpus[i];

		len = strlen(t);
		assert_true(len < sizeof(m));
		assert_true(agree(t, len, &base));
		for (k = 0; k < len; k++) {
			static const char alt[] = "0-9.e\"{}[],: \\x";

			for (c = 0; alt[c] != '\0'; c++) {
				memcpy(m, t, len);
				m[k] = alt[c];
				if (!agree(m, len, &judged))
					fail_msg(
					    "scan and parse differ on %.*s",
					    (int)len, m);
			}
			memcpy(m, t, k);
			memcpy(m + k, t + k + 1, len - k - 1);
			if (!agree(m, len - 1, &judged))
				fail_msg("scan and parse differ on %.*s",
				    (int)(len - 1), m);
			if (!agree(t, k, &judged))
				fail_msg("truncated at %zu: differ", k);
		}
	}
	/* Every text of the corpus is judged from its bytes... */
	assert_int_equal(base, sizeof(usage_corpus) / sizeof(*usage_corpus));
	assert_true(judged > 1000);
	/* ...but not an escaped key, a cost, or what is not an object. */
	assert_int_equal(scan_str("{\"prompt\\u005ftokens\":1}", &u), -2);
	assert_int_equal(
	    scan_str("{\"prompt_tokens\":1,\"cost\":0.1}", &u), -2);
	assert_int_equal(scan_str("{\"cost\":0.1}", &u), -2);
	assert_int_equal(scan_str("[1]", &u), -2);
	assert_int_equal(scan_str("{\"a\":1}", &u), -1);
	assert_int_equal(
	    chat_usage_scan(usage_corpus[0], strlen(usage_corpus[0]), &u), 0);
	assert_int_equal(u.prompt, 12);
	assert_int_equal(u.completion, 30);
	assert_int_equal(u.cached, 4);
	assert_int_equal(u.reasoning, 6);
	assert_int_equal(u.upstream_cost, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_cost_exact),
	    cmocka_unit_test(t_cost_cached),
	    cmocka_unit_test(t_hold),
	    cmocka_unit_test(t_cost_cache_write),
	    cmocka_unit_test(t_hold_cache_write),
	    cmocka_unit_test(t_usage_parse),
	    cmocka_unit_test(t_usage_scan_agrees),
	    cmocka_unit_test(t_estimate),
	    cmocka_unit_test(t_prov_build),
	    cmocka_unit_test(t_prov_build_pivot_only),
	    cmocka_unit_test(t_prov_build_one_cap),
	    cmocka_unit_test(t_params),
	    cmocka_unit_test(t_route),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
