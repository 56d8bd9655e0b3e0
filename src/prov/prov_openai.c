/* prov_openai.c: the OpenAI wire format and its DeepSeek, OpenRouter and compatible kin */
#include "config.h"

#include <string.h>

#include "core/arena.h"
#include "core/json.h"
#include "prov/prov.h"

/* clang-format off */
static const char *const paths[EP__MAX] = {
	[EP_CHAT]	 = "/chat/completions",
	[EP_COMPLETIONS] = "/completions",
	[EP_EMBEDDINGS]	 = "/embeddings",
};

/*
 * How each kind differs: OpenAI's reasoning models refuse max_tokens and want
 * max_completion_tokens; DeepSeek, OpenRouter and local servers (vLLM,
 * llama.cpp, Ollama) all take max_tokens.  OpenRouter reports the cost it
 * charged when asked with usage.include and credits apps by two headers.
 */
static const struct kind_def {
	const char *max_field;
	int openrouter;
} kinds[PROV__MAX] = {
	[PROV_OPENAI]	  = { "max_completion_tokens", 0 },
	[PROV_DEEPSEEK]	  = { "max_tokens",	       0 },
	[PROV_OPENROUTER] = { "max_tokens",	       1 },
	[PROV_COMPATIBLE] = { "max_tokens",	       0 },
};
/* clang-format on */

const char *const prov_out_caps[PROV_OUT_CAPS] = {
    "max_tokens", "max_completion_tokens", "max_output_tokens"};

#define DEFAULT_REFERER "https://github.com/tollgate"
#define DEFAULT_TITLE	"tollgate"

const char *
prov_endpoint_path(enum endpoint ep)
{
	return (unsigned)ep < EP__MAX ? paths[ep] : "/";
}

/* A header value from a client must stay on one line and stay short. */
static int
header_safe(const char *v)
{
	size_t i;

	if (v == NULL || *v == '\0' || strlen(v) > 256)
		return 0;
	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

int
prov_build(struct arena *a, enum endpoint ep, const struct deployment *rt,
    const json_t *body, int stream, int64_t max_out, const char *secret,
    const char *referer, const char *title, struct prov_call *out)
{
	const struct kind_def *k = &kinds[rt->kind];
	json_t *b, *so;
	const char *base = rt->base_url;
	size_t blen = strlen(base), i;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	/*
	 * The client's body is kept for a retry on another deployment: the
	 * copy is of the top level, and a nested object is copied below
	 * before it changes.  (A deep copy of every message cost more than
	 * serializing them.)
	 */
	if ((b = json_copy((json_t *)body)) == NULL)
		return -1;
	json_object_set_new(b, "model", json_string(rt->upstream_model));
	/* tollgate's routing preferences, not the provider's business. */
	json_object_del(b, "provider");
	/*
	 * One output cap, the one held: a provider may read any of the names
	 * a client can send, so all are replaced by the one its kind reads.
	 */
	for (i = 0; i < PROV_OUT_CAPS; i++)
		json_object_del(b, prov_out_caps[i]);
	if (max_out > 0 && ep != EP_EMBEDDINGS)
		json_object_set_new(b,
		    ep == EP_CHAT ? k->max_field : "max_tokens",
		    json_integer(max_out));
	if (stream && ep != EP_EMBEDDINGS) {
		/* Always ask for usage; the relay strips it if unwanted. */
		so = json_object_get(b, "stream_options");
		so = json_is_object(so) ? json_copy(so) : json_object();
		json_object_set_new(b, "stream_options", so);
		json_object_set_new(so, "include_usage", json_true());
	}
	if (k->openrouter) {
		so = json_object_get(b, "usage");
		so = json_is_object(so) ? json_copy(so) : json_object();
		json_object_set_new(b, "usage", so);
		json_object_set_new(so, "include", json_true());
	}
	if ((out->body = jx_dump(b)) == NULL)
		goto out;
	arena_defer(a, free, out->body);
	out->body_len = strlen(out->body);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	out->url = arena_printf(a, "%.*s%s", (int)blen, base, paths[ep]);
	out->headers[out->nheaders++] = "Content-Type: application/json";
	out->headers[out->nheaders++] =
	    stream ? "Accept: text/event-stream" : "Accept: application/json";
	out->secret_header =
	    arena_printf(a, "Authorization: Bearer %s", secret);
	out->headers[out->nheaders++] = out->secret_header;
	if (k->openrouter) {
		out->headers[out->nheaders++] =
		    arena_printf(a, "HTTP-Referer: %s",
			header_safe(referer) ? referer : DEFAULT_REFERER);
		out->headers[out->nheaders++] = arena_printf(a, "X-Title: %s",
		    header_safe(title) ? title : DEFAULT_TITLE);
	}
	rc = 0;
out:
	json_decref(b);
	return rc;
}
