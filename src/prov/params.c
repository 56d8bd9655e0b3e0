/* params.c: which request members each endpoint forwards, prices or refuses */
/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "domain/pricing.h"
#include "core/money.h"
#include "prov/params.h"
#include "prov/prov.h"

#define C (1u << EP_CHAT)
#define P (1u << EP_COMPLETIONS)
#define E (1u << EP_EMBEDDINGS)
#define G (C | P) /* the endpoints that generate */
#define A (C | P | E)

enum rule {
	FORWARD, /* passed to the provider as is */
	PRICED,	 /* read by parse_body into the hold (caps, n, best_of) */
	OWN,	 /* read by tollgate, not forwarded (provider) */
	CHECKED, /* forwarded when ok() passes, else refused with why */
	REFUSED, /* would be billed beyond what the hold covers */
};

/* clang-format off */
static const char *const rule_names[] = {
	[FORWARD] = "forward", [PRICED] = "priced", [OWN] = "own",
	[CHECKED] = "checked", [REFUSED] = "refused",
};
/* clang-format on */

static int
tier_ok(const json_t *v)
{
	return json_is_null(v) ||
	    (json_is_string(v) && strcmp(json_string_value(v), "default") == 0);
}

static int
modalities_ok(const json_t *v)
{
	const json_t *e;
	size_t i;

	if (json_is_null(v))
		return 1;
	if (!json_is_array(v))
		return 0;
	json_array_foreach(v, i, e)
		if (!json_is_string(e) ||
		    strcmp(json_string_value(e), "text") != 0)
			return 0;
	return 1;
}

static const struct param_def {
	const char *name;
	unsigned eps;
	enum rule rule;
	int (*ok)(const json_t *);
	const char *why; /* CHECKED and REFUSED: the reason given */
} table[] = {
    /* the request itself */
    {"model", A, OWN, NULL, NULL},
    {"messages", C, OWN, NULL, NULL},
    {"prompt", P, OWN, NULL, NULL},
    {"input", E, OWN, NULL, NULL},
    {"stream", A, OWN, NULL, NULL},
    {"stream_options", G, OWN, NULL, NULL},
    {"provider", A, OWN, NULL, NULL},
    /* priced: what the provider may generate */
    {"max_tokens", G, PRICED, NULL, NULL},
    {"max_completion_tokens", G, PRICED, NULL, NULL},
    {"max_output_tokens", G, PRICED, NULL, NULL},
    {"n", G, PRICED, NULL, NULL},
    {"best_of", P, PRICED, NULL, NULL},
    {"reasoning", G, PRICED, NULL, NULL},
    /* sampling and control: no cost of their own */
    {"temperature", G, FORWARD, NULL, NULL},
    {"top_p", G, FORWARD, NULL, NULL},
    {"top_k", G, FORWARD, NULL, NULL},
    {"min_p", G, FORWARD, NULL, NULL},
    {"top_a", G, FORWARD, NULL, NULL},
    {"repetition_penalty", G, FORWARD, NULL, NULL},
    {"frequency_penalty", G, FORWARD, NULL, NULL},
    {"presence_penalty", G, FORWARD, NULL, NULL},
    {"min_tokens", G, FORWARD, NULL, NULL},
    {"stop", G, FORWARD, NULL, NULL},
    {"stop_token_ids", G, FORWARD, NULL, NULL},
    {"ignore_eos", G, FORWARD, NULL, NULL},
    {"seed", G, FORWARD, NULL, NULL},
    {"logit_bias", G, FORWARD, NULL, NULL},
    {"logprobs", G, FORWARD, NULL, NULL},
    {"top_logprobs", C, FORWARD, NULL, NULL},
    {"echo", P, FORWARD, NULL, NULL},
    {"suffix", P, FORWARD, NULL, NULL},
    {"user", A, FORWARD, NULL, NULL},
    {"safety_identifier", A, FORWARD, NULL, NULL},
    {"prompt_cache_key", G, FORWARD, NULL, NULL},
    {"tools", C, FORWARD, NULL, NULL},
    {"tool_choice", C, FORWARD, NULL, NULL},
    {"parallel_tool_calls", C, FORWARD, NULL, NULL},
    {"functions", C, FORWARD, NULL, NULL},
    {"function_call", C, FORWARD, NULL, NULL},
    {"response_format", C, FORWARD, NULL, NULL},
    {"reasoning_effort", C, FORWARD, NULL, NULL},
    {"include_reasoning", G, FORWARD, NULL, NULL},
    {"verbosity", C, FORWARD, NULL, NULL},
    {"metadata", C, FORWARD, NULL, NULL},
    {"store", C, FORWARD, NULL, NULL},
    {"chat_template_kwargs", C, FORWARD, NULL, NULL},
    {"transforms", G, FORWARD, NULL, NULL},
    {"usage", A, FORWARD, NULL, NULL},
    {"encoding_format", E, FORWARD, NULL, NULL},
    {"dimensions", E, FORWARD, NULL, NULL},
    /*
     * Extensions of the pivot for the native providers (prov.h): Anthropic's
     * thinking (its budget lies within max_tokens, which is held) and
     * Gemini's safety settings; OpenAI-format providers never see them.
     */
    {"thinking", C, FORWARD, NULL, NULL},
    {"safetySettings", C, FORWARD, NULL, NULL},
    /* forwarded only with a value the hold covers */
    {"service_tier", G, CHECKED, tier_ok,
	"only \"default\" is accepted: other tiers (auto, priority, flex, "
	"scale) may be billed at prices the catalogue does not carry"},
    {"modalities", C, CHECKED, modalities_ok,
	"only [\"text\"] is accepted: audio output is billed per audio token, "
	"which the catalogue does not price"},
    /* billed beyond what the hold covers */
    {"models", A, REFUSED, NULL,
	"OpenRouter's fallback list would reach models outside the "
	"catalogue's prices and the key's allowed_models"},
    {"route", A, REFUSED, NULL,
	"OpenRouter's fallback routing would reach models outside the "
	"catalogue's prices"},
    {"plugins", A, REFUSED, NULL,
	"plugins such as web search are billed per request beyond tokens"},
    {"web_search_options", C, REFUSED, NULL,
	"web search is billed per call beyond tokens"},
    {"audio", C, REFUSED, NULL,
	"audio output is billed per audio token, which the catalogue does "
	"not price"},
    {"prediction", C, REFUSED, NULL,
	"rejected prediction tokens are billed as output beyond max_tokens"},
};

static const char *const ep_paths[EP__MAX] = {
    [EP_CHAT] = "/v1/chat/completions",
    [EP_COMPLETIONS] = "/v1/completions",
    [EP_EMBEDDINGS] = "/v1/embeddings",
};

static const struct param_def *
find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i].name, name) == 0)
			return &table[i];
	return NULL;
}

int
params_row(size_t i, const char **name, unsigned *eps, const char **rule)
{
	if (i >= sizeof(table) / sizeof(table[0]))
		return -1;
	*name = table[i].name;
	*eps = table[i].eps;
	*rule = rule_names[table[i].rule];
	return 0;
}

static int
name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > PARAMS_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* One "name:rule" item of allow_params into a. */
static int
allow_item(char *tok, struct param_allow *a, char *err, size_t errlen)
{
	char *colon = strchr(tok, ':'), *rule;
	const struct param_def *d;
	int64_t fee;

	if (colon == NULL || !name_ok(tok, (size_t)(colon - tok))) {
		snprintf(err, errlen,
		    "'%s' is not name:rule (rule free, times or add_usd=USD)",
		    tok);
		return -1;
	}
	*colon = '\0';
	rule = colon + 1;
	if ((d = find(tok)) != NULL && d->rule != CHECKED &&
	    d->rule != REFUSED) {
		snprintf(err, errlen,
		    "'%s' is %s by tollgate already; only refused or unknown "
		    "parameters can be allowed",
		    tok, d->rule == FORWARD ? "forwarded" : "read and priced");
		return -1;
	}
	memset(a, 0, sizeof(*a));
	memcpy(a->name, tok, (size_t)(colon - tok));
	if (strcmp(rule, "free") == 0) {
		a->rule = ALLOW_FREE;
	} else if (strcmp(rule, "times") == 0) {
		a->rule = ALLOW_TIMES;
	} else if (strncmp(rule, "add_usd=", 8) == 0 &&
	    money_parse(rule + 8, &fee) == 0 && fee > 0 &&
	    fee <= 100 * NANO_PER_USD) {
		a->rule = ALLOW_ADD;
		a->fee = fee;
	} else {
		snprintf(err, errlen,
		    "'%s:%s': the rule must be free, times or add_usd=USD "
		    "(more than 0, at most 100, up to 9 decimals)",
		    tok, rule);
		return -1;
	}
	return 0;
}

int
params_allow_parse(const char *spec, struct param_allow *out, size_t *n,
    char *err, size_t errlen)
{
	char copy[2048], *tok, *save = NULL;
	size_t i;

	*n = 0;
	if (strlen(spec) >= sizeof(copy)) {
		snprintf(err, errlen, "allow_params is longer than %zu bytes",
		    sizeof(copy) - 1);
		return -1;
	}
	strcpy(copy, spec);
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	     tok = strtok_r(NULL, ", \t", &save)) {
		if (*n == PARAMS_MAX_ALLOW) {
			snprintf(err, errlen,
			    "more than %d parameters in allow_params",
			    PARAMS_MAX_ALLOW);
			return -1;
		}
		if (allow_item(tok, &out[*n], err, errlen) != 0)
			return -1;
		for (i = 0; i < *n; i++)
			if (strcmp(out[i].name, out[*n].name) == 0) {
				snprintf(err, errlen,
				    "'%s' is in allow_params twice",
				    out[i].name);
				return -1;
			}
		(*n)++;
	}
	return 0;
}

static const struct param_allow *
allowed(const struct param_allow *allow, size_t nallow, const char *name)
{
	size_t i;

	for (i = 0; i < nallow; i++)
		if (strcmp(allow[i].name, name) == 0)
			return &allow[i];
	return NULL;
}

/* An operator-allowed member: its price into cost. */
static int
apply_allow(const struct param_allow *a, const char *key, const json_t *v,
    struct param_cost *cost, const char **code, char *msg, size_t msglen)
{
	if (a->rule == ALLOW_TIMES) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > CHAT_MAX_N) {
			*code = "invalid_value";
			snprintf(msg, msglen,
			    "%s must be a whole number from 1 to %d", key,
			    CHAT_MAX_N);
			return -1;
		}
		/* n x best_of x these stays small: it multiplies the hold. */
		if (cost->times * json_integer_value(v) > CHAT_MAX_N) {
			*code = "invalid_value";
			snprintf(msg, msglen,
			    "%s multiplies the completions beyond %d", key,
			    CHAT_MAX_N);
			return -1;
		}
		cost->times *= json_integer_value(v);
	} else if (a->rule == ALLOW_ADD && !json_is_null(v)) {
		cost->fee += a->fee;
	}
	return 0;
}

int
params_check(const json_t *body, int ep, const struct param_allow *allow,
    size_t nallow, struct param_cost *cost, const char **param,
    const char **code, char *msg, size_t msglen)
{
	const struct param_allow *a;
	const struct param_def *d;
	const char *key;
	json_t *v;

	cost->times = 1;
	cost->fee = 0;
	json_object_foreach((json_t *)body, key, v) {
		*param = key;
		*code = "unsupported_parameter";
		/* The operator's word comes first: it may allow a refusal. */
		if ((a = allowed(allow, nallow, key)) != NULL) {
			if (apply_allow(a, key, v, cost, code, msg, msglen) !=
			    0)
				return -1;
			continue;
		}
		d = find(key);
		if (d == NULL || !(d->eps & (1u << ep))) {
			snprintf(msg, msglen,
			    "the parameter '%.64s' is not supported by %s; "
			    "the gateway forwards only parameters it can "
			    "price (see the documentation)",
			    key, ep_paths[ep]);
			return -1;
		}
		if (d->rule == REFUSED || (d->rule == CHECKED && !d->ok(v))) {
			snprintf(msg, msglen,
			    "the parameter '%s' is refused: %s", key, d->why);
			return -1;
		}
	}
	return 0;
}
