/* test_prov_gemini.c: the Gemini adapter: requests from the pivot and native, answers, streams, usage, errors */
#include "test_common.h"

#include "core/buf.h"
#include "core/json.h"
#include "prov/gemini.h"
#include "prov/prov.h"

static const struct prov_ops *const g = &prov_gemini_ops;

static const struct deployment dep = {
    .provider_id = "google",
    .kind = PROV_GEMINI,
    .base_url = "https://generativelanguage.googleapis.com/v1beta/",
    .upstream_model = "models/gemini-2.5-flash",
};

/*
 * A member by a dotted path, numbers indexing arrays:
 * at(o, "contents.1.parts.0.text").  NULL when absent.
 */
static json_t *
at(const json_t *o, const char *path)
{
	char seg[128];
	const char *p = path, *e;
	size_t n;

	while (o != NULL && *p != '\0') {
		e = strchr(p, '.');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		assert_true(n < sizeof(seg));
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (json_is_array(o) && isdigit((unsigned char)seg[0]))
			o = json_array_get(o, strtoul(seg, NULL, 10));
		else
			o = json_object_get(o, seg);
		p += n + (e != NULL);
	}
	return (json_t *)o;
}

static const char *
str_at(const json_t *o, const char *path)
{
	json_t *v = at(o, path);

	if (!json_is_string(v))
		fail_msg("%s: not a string", path);
	return json_string_value(v);
}

static json_int_t
int_at(const json_t *o, const char *path)
{
	json_t *v = at(o, path);

	if (!json_is_integer(v))
		fail_msg("%s: not an integer", path);
	return json_integer_value(v);
}

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *o = json_loads(text, 0, &e);

	if (o == NULL)
		fail_msg("fixture: %s at %d", e.text, e.position);
	return o;
}

/* The body build (the pivot) sends, as a tree; the call into *call. */
static json_t *
build(struct arena *a, const char *pivot, int stream, int64_t max_out,
    struct prov_call *call)
{
	json_t *in = load(pivot), *out;

	assert_int_equal(g->build(a, EP_CHAT, &dep, in, stream, max_out,
			     "AIzaSECRET", NULL, NULL, call),
	    0);
	json_decref(in);
	out = json_loadb(call->body, call->body_len, 0, NULL);
	assert_non_null(out);
	return out;
}

/* --- requests ----------------------------------------------------------------------- */

static void
t_build_call(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call c;
	json_t *b;
	json_t *in = load("{\"model\":\"x\",\"messages\":[]}");

	(void)state;
	b = build(a,
	    "{\"model\":\"google/gemini-2.5-flash\",\"messages\":"
	    "[{\"role\":\"user\",\"content\":\"hi\"}]}",
	    0, 100, &c);
	/* The "models/" prefix is in the path once; the trailing / goes. */
	assert_str(c.url,
	    "https://generativelanguage.googleapis.com/v1beta/"
	    "models/gemini-2.5-flash:generateContent");
	assert_int_equal(c.nheaders, 3);
	assert_str(c.headers[0], "Content-Type: application/json");
	assert_str(c.headers[1], "Accept: application/json");
	assert_str(c.secret_header, "x-goog-api-key: AIzaSECRET");
	assert_ptr_equal(c.headers[2], c.secret_header);
	/* No OpenAI member leaks into Gemini's body (it refuses unknown names). */
	assert_null(at(b, "model"));
	assert_null(at(b, "messages"));
	assert_str(str_at(b, "contents.0.role"), "user");
	assert_str(str_at(b, "contents.0.parts.0.text"), "hi");
	assert_int_equal(int_at(b, "generationConfig.maxOutputTokens"), 100);
	json_decref(b);
	b = build(a, "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
	    1, 0, &c);
	assert_str(c.url,
	    "https://generativelanguage.googleapis.com/v1beta/"
	    "models/gemini-2.5-flash:streamGenerateContent?alt=sse");
	assert_str(c.headers[1], "Accept: text/event-stream");
	/* No cap held: none sent, and no empty generationConfig. */
	assert_null(at(b, "generationConfig"));
	json_decref(b);
	/* Only chat is translated. */
	assert_int_equal(
	    g->build(a, EP_COMPLETIONS, &dep, in, 0, 10, "k", NULL, NULL, &c),
	    -1);
	assert_int_equal(
	    g->build(a, EP_EMBEDDINGS, &dep, in, 0, 10, "k", NULL, NULL, &c),
	    -1);
	json_decref(in);
	arena_free(a);
}

static void
t_build_messages(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call c;
	json_t *b;

	(void)state;
	b = build(a,
	    "{\"messages\":["
	    "{\"role\":\"system\",\"content\":\"You are terse.\"},"
	    "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Answer in French.\"}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"What is in these?\"},{\"type\":\"image_url\",\"image_url\":"
	    "{\"url\":\"data:image/png;base64,iVBORw0KGgo=\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"https://example.com/cat.JPG?size=2\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"https://example.com/photo\"}},"
	    "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklGR\","
	    "\"format\":\"wav\"}}]},"
	    "{\"role\":\"assistant\",\"content\":\"A cat.\"},"
	    "{\"role\":\"user\",\"content\":\"And?\"}]}",
	    0, 64, &c);
	assert_str(
	    str_at(b, "systemInstruction.parts.0.text"), "You are terse.");
	assert_str(
	    str_at(b, "systemInstruction.parts.1.text"), "Answer in French.");
	assert_int_equal(json_array_size(at(b, "contents")), 3);
	assert_str(str_at(b, "contents.0.role"), "user");
	assert_str(str_at(b, "contents.0.parts.0.text"), "What is in these?");
	assert_str(
	    str_at(b, "contents.0.parts.1.inlineData.mimeType"), "image/png");
	assert_str(
	    str_at(b, "contents.0.parts.1.inlineData.data"), "iVBORw0KGgo=");
	assert_str(str_at(b, "contents.0.parts.2.fileData.fileUri"),
	    "https://example.com/cat.JPG?size=2");
	assert_str(
	    str_at(b, "contents.0.parts.2.fileData.mimeType"), "image/jpeg");
	/* A type the URL does not tell is left for Gemini to find. */
	assert_str(str_at(b, "contents.0.parts.3.fileData.fileUri"),
	    "https://example.com/photo");
	assert_null(at(b, "contents.0.parts.3.fileData.mimeType"));
	assert_str(
	    str_at(b, "contents.0.parts.4.inlineData.mimeType"), "audio/wav");
	assert_str(str_at(b, "contents.1.role"), "model");
	assert_str(str_at(b, "contents.1.parts.0.text"), "A cat.");
	assert_str(str_at(b, "contents.2.role"), "user");
	assert_str(str_at(b, "contents.2.parts.0.text"), "And?");
	json_decref(b);
	arena_free(a);
}

static void
t_build_tools(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call c;
	json_t *b;

	(void)state;
	b = build(a,
	    "{\"messages\":["
	    "{\"role\":\"user\",\"content\":\"Weather in Paris and Rome?\"},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"call_0__thought__CikB0e2Kb\",\"type\":\"function\","
	    "\"function\":{\"name\":\"get_weather\",\"arguments\":"
	    "\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
	    "{\"id\":\"abc\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_time\",\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_0__thought__"
	    "CikB0e2Kb\","
	    "\"content\":\"{\\\"temp\\\":15}\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"abc\",\"content\":"
	    "[{\"type\":\"text\",\"text\":\"12:\"},{\"type\":\"text\","
	    "\"text\":\"30\"}]},"
	    "{\"role\":\"user\",\"content\":\"Thanks\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"description\":\"Weather now\",\"parameters\":"
	    "{\"$schema\":\"http://json-schema.org/draft-07/schema#\","
	    "\"type\":\"object\",\"properties\":{\"city\":{\"type\":"
	    "\"string\"},\"unit\":{\"type\":[\"string\",\"null\"]},"
	    "\"n\":{\"type\":[\"integer\",\"string\"]},"
	    "\"day\":{\"anyOf\":[{\"type\":\"string\",\"format\":"
	    "\"date\"},{\"type\":\"null\"}],\"default\":null,\"title\":"
	    "\"Day\"}},"
	    "\"required\":[\"city\"],"
	    "\"additionalProperties\":false},\"strict\":true}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\"}}}",
	    0, 64, &c);
	assert_int_equal(json_array_size(at(b, "contents")), 4);
	assert_str(str_at(b, "contents.1.role"), "model");
	assert_int_equal(json_array_size(at(b, "contents.1.parts")), 2);
	assert_str(
	    str_at(b, "contents.1.parts.0.functionCall.name"), "get_weather");
	assert_str(
	    str_at(b, "contents.1.parts.0.functionCall.args.city"), "Paris");
	/* The signature the id carried is back on the part, the id bare. */
	assert_str(str_at(b, "contents.1.parts.0.functionCall.id"), "call_0");
	assert_str(
	    str_at(b, "contents.1.parts.0.thoughtSignature"), "CikB0e2Kb");
	assert_str(str_at(b, "contents.1.parts.1.functionCall.id"), "abc");
	assert_null(at(b, "contents.1.parts.1.thoughtSignature"));
	/* Both outputs in one user content, names found from the calls. */
	assert_str(str_at(b, "contents.2.role"), "user");
	assert_int_equal(json_array_size(at(b, "contents.2.parts")), 2);
	assert_str(str_at(b, "contents.2.parts.0.functionResponse.name"),
	    "get_weather");
	assert_str(
	    str_at(b, "contents.2.parts.0.functionResponse.id"), "call_0");
	assert_int_equal(
	    int_at(b, "contents.2.parts.0.functionResponse.response.temp"), 15);
	assert_str(
	    str_at(b, "contents.2.parts.1.functionResponse.name"), "get_time");
	assert_str(
	    str_at(b, "contents.2.parts.1.functionResponse.response.content"),
	    "12:30");
	assert_str(str_at(b, "contents.3.parts.0.text"), "Thanks");
	/* Declarations without the keys Gemini's schema subset refuses. */
	assert_str(
	    str_at(b, "tools.0.functionDeclarations.0.name"), "get_weather");
	assert_str(str_at(b, "tools.0.functionDeclarations.0.description"),
	    "Weather now");
	assert_str(str_at(b,
		       "tools.0.functionDeclarations.0.parameters."
		       "properties.city.type"),
	    "string");
	assert_str(
	    str_at(b, "tools.0.functionDeclarations.0.parameters.required.0"),
	    "city");
	assert_null(at(b, "tools.0.functionDeclarations.0.parameters.$schema"));
	assert_null(at(b,
	    "tools.0.functionDeclarations.0.parameters."
	    "additionalProperties"));
	assert_null(at(b, "tools.0.functionDeclarations.0.strict"));
	/* A nullable type as Gemini's Schema says it (one type, nullable). */
	assert_str(str_at(b,
		       "tools.0.functionDeclarations.0.parameters."
		       "properties.unit.type"),
	    "string");
	assert_true(json_is_true(at(b,
	    "tools.0.functionDeclarations.0."
	    "parameters.properties.unit.nullable")));
	/* Pydantic's Optional: anyOf [schema, null] as that schema, nullable. */
	assert_str(str_at(b,
		       "tools.0.functionDeclarations.0.parameters."
		       "properties.day.type"),
	    "string");
	assert_str(str_at(b,
		       "tools.0.functionDeclarations.0.parameters."
		       "properties.day.format"),
	    "date");
	assert_str(str_at(b,
		       "tools.0.functionDeclarations.0.parameters."
		       "properties.day.title"),
	    "Day");
	assert_true(json_is_true(at(b,
	    "tools.0.functionDeclarations.0."
	    "parameters.properties.day.nullable")));
	assert_null(at(b,
	    "tools.0.functionDeclarations.0.parameters."
	    "properties.day.anyOf"));
	/* Several types are left as they are: nothing to say them by. */
	assert_int_equal(json_array_size(at(b,
			     "tools.0.functionDeclarations.0."
			     "parameters.properties.n.type")),
	    2);
	assert_str(str_at(b, "toolConfig.functionCallingConfig.mode"), "ANY");
	assert_str(
	    str_at(
		b, "toolConfig.functionCallingConfig.allowedFunctionNames.0"),
	    "get_weather");
	json_decref(b);
	arena_free(a);
}

/*
 * Gemini 3 refuses a replayed call without its signature (400 "Function call
 * is missing a thought_signature"); a history from another route has none.
 * The first call of such a turn gets Google's documented sentinel; a real
 * signature is kept, and older models get nothing.
 */
static void
t_build_sentinel(void **state)
{
	static const char pivot[] =
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
	    "{\"role\":\"assistant\",\"tool_calls\":["
	    "{\"id\":\"call_a\",\"type\":\"function\",\"function\":"
	    "{\"name\":\"f\",\"arguments\":\"{}\"}},"
	    "{\"id\":\"call_b\",\"type\":\"function\",\"function\":"
	    "{\"name\":\"g\",\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_a\",\"content\":\"1\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_b\",\"content\":\"2\"},"
	    "{\"role\":\"assistant\",\"tool_calls\":["
	    "{\"id\":\"call_0__thought__RealSig\",\"type\":\"function\","
	    "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_0__thought__RealSig\","
	    "\"content\":\"3\"}]}";
	struct deployment d3 = dep;
	struct arena *a = arena_new(0);
	struct prov_call c;
	json_t *in = load(pivot), *b;

	(void)state;
	d3.upstream_model = "models/gemini-3-pro-preview";
	assert_int_equal(
	    g->build(a, EP_CHAT, &d3, in, 0, 100, "k", NULL, NULL, &c), 0);
	b = json_loadb(c.body, c.body_len, 0, NULL);
	assert_str(str_at(b, "contents.1.parts.0.thoughtSignature"),
	    "skip_thought_signature_validator");
	assert_null(at(b, "contents.1.parts.1.thoughtSignature"));
	assert_str(str_at(b, "contents.3.parts.0.thoughtSignature"), "RealSig");
	json_decref(b);
	assert_int_equal(
	    g->build(a, EP_CHAT, &dep, in, 0, 100, "k", NULL, NULL, &c), 0);
	b = json_loadb(c.body, c.body_len, 0, NULL);
	assert_null(at(b, "contents.1.parts.0.thoughtSignature"));
	assert_str(str_at(b, "contents.3.parts.0.thoughtSignature"), "RealSig");
	json_decref(b);
	json_decref(in);
	arena_free(a);
}

/* An output whose call is not in the history keeps the name it gives. */
static void
t_build_tool_name(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call c;
	json_t *b;

	(void)state;
	b = build(a,
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"gone\",\"name\":"
	    "\"lookup\",\"content\":\"42\"}]}",
	    0, 10, &c);
	assert_str(
	    str_at(b, "contents.1.parts.0.functionResponse.name"), "lookup");
	assert_str(str_at(b, "contents.1.parts.0.functionResponse.id"), "gone");
	/* 42 is JSON but not an object: wrapped as text. */
	assert_str(
	    str_at(b, "contents.1.parts.0.functionResponse.response.content"),
	    "42");
	json_decref(b);
	arena_free(a);
}

static void
t_build_tool_choice(void **state)
{
	static const char *const cases[][2] = {
	    {"\"auto\"", "AUTO"},
	    {"\"none\"", "NONE"},
	    {"\"required\"", "ANY"},
	};
	struct arena *a = arena_new(0);
	struct prov_call c;
	char pivot[256];
	json_t *b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(pivot, sizeof(pivot),
		    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
		    "\"tool_choice\":%s}",
		    cases[i][0]);
		b = build(a, pivot, 0, 0, &c);
		assert_str(str_at(b, "toolConfig.functionCallingConfig.mode"),
		    cases[i][1]);
		assert_null(at(b,
		    "toolConfig.functionCallingConfig."
		    "allowedFunctionNames"));
		json_decref(b);
	}
	arena_free(a);
}

static void
t_build_config(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call c;
	json_t *b;

	(void)state;
	b = build(a,
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"temperature\":0.7,\"top_p\":0.95,\"top_k\":40,\"n\":2,"
	    "\"seed\":7,\"presence_penalty\":0.5,\"frequency_penalty\":-0.5,"
	    "\"stop\":\"END\",\"max_tokens\":99999,\"response_format\":"
	    "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"w\","
	    "\"schema\":{\"type\":\"object\",\"properties\":{\"t\":{\"type\":"
	    "\"number\"}},\"additionalProperties\":false}}}}",
	    0, 1024, &c);
	assert_true(
	    json_real_value(at(b, "generationConfig.temperature")) == 0.7);
	assert_true(json_real_value(at(b, "generationConfig.topP")) == 0.95);
	assert_int_equal(int_at(b, "generationConfig.topK"), 40);
	assert_int_equal(int_at(b, "generationConfig.candidateCount"), 2);
	assert_int_equal(int_at(b, "generationConfig.seed"), 7);
	assert_true(
	    json_real_value(at(b, "generationConfig.presencePenalty")) == 0.5);
	assert_true(json_real_value(
			at(b, "generationConfig.frequencyPenalty")) == -0.5);
	assert_str(str_at(b, "generationConfig.stopSequences.0"), "END");
	/* The one held cap, not the client's. */
	assert_int_equal(int_at(b, "generationConfig.maxOutputTokens"), 1024);
	assert_null(at(b, "max_tokens"));
	assert_str(
	    str_at(b, "generationConfig.responseMimeType"), "application/json");
	assert_str(
	    str_at(b, "generationConfig.responseSchema.properties.t.type"),
	    "number");
	assert_null(
	    at(b, "generationConfig.responseSchema.additionalProperties"));
	assert_null(at(b, "generationConfig.thinkingConfig"));
	json_decref(b);
	b = build(a,
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"stop\":[\"a\",\"b\"],\"response_format\":{\"type\":"
	    "\"json_object\"}}",
	    0, 0, &c);
	assert_str(str_at(b, "generationConfig.stopSequences.1"), "b");
	assert_str(
	    str_at(b, "generationConfig.responseMimeType"), "application/json");
	assert_null(at(b, "generationConfig.responseSchema"));
	json_decref(b);
	b = build(a,
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"response_format\":{\"type\":\"text\"}}",
	    0, 0, &c);
	assert_null(at(b, "generationConfig"));
	json_decref(b);
	arena_free(a);
}

/* reasoning_effort and its kin as thinkingConfig; budgets as documented. */
static void
t_build_thinking(void **state)
{
	static const struct {
		const char *extra;
		int64_t max_out;
		json_int_t budget; /* -1: no thinkingConfig */
		int thoughts;
	} cases[] = {
	    {"\"reasoning_effort\":\"low\"", 30000, 1024, 1},
	    {"\"reasoning_effort\":\"medium\"", 30000, 8192, 1},
	    {"\"reasoning_effort\":\"high\"", 30000, 24576, 1},
	    {"\"reasoning_effort\":\"none\"", 30000, 0, 0},
	    /* A budget past the held cap is cut to it. */
	    {"\"reasoning_effort\":\"high\"", 2000, 2000, 1},
	    {"\"reasoning\":{\"effort\":\"medium\"}", 30000, 8192, 1},
	    {"\"reasoning\":{\"max_tokens\":3000,\"exclude\":true}", 30000,
		3000, 0},
	    {"\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":5000}",
		30000, 5000, 1},
	    {"\"thinking\":{\"type\":\"disabled\"}", 30000, 0, 0},
	    {"\"reasoning_effort\":\"bogus\"", 30000, -1, 0},
	};
	struct arena *a = arena_new(0);
	struct prov_call c;
	char pivot[256];
	json_t *b;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(pivot, sizeof(pivot),
		    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],%s}",
		    cases[i].extra);
		b = build(a, pivot, 0, cases[i].max_out, &c);
		if (cases[i].budget < 0) {
			assert_null(at(b, "generationConfig.thinkingConfig"));
		} else {
			assert_int_equal(int_at(b,
					     "generationConfig."
					     "thinkingConfig.thinkingBudget"),
			    cases[i].budget);
			assert_int_equal(json_is_true(at(b,
					     "generationConfig."
					     "thinkingConfig."
					     "includeThoughts")),
			    cases[i].thoughts);
		}
		json_decref(b);
	}
	arena_free(a);
}

/* A Gemini client's body: only the cap changes, in either spelling. */
static void
t_build_native(void **state)
{
	const char *body =
	    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hi\"}]}],"
	    "\"safetySettings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
	    "\"threshold\":\"BLOCK_NONE\"}],"
	    "\"generationConfig\":{\"maxOutputTokens\":100000,"
	    "\"max_output_tokens\":5,\"temperature\":0.2,"
	    "\"thinkingConfig\":{\"thinkingBudget\":512}}}";
	struct arena *a = arena_new(0);
	struct prov_call c;
	json_t *in = load(body), *orig = json_deep_copy(in), *b, *want;

	(void)state;
	assert_int_equal(g->build_native(a, &dep, in, 1, 2048, "AIzaK", &c), 0);
	assert_true(json_equal(in, orig)); /* the client's tree kept */
	assert_str(c.url,
	    "https://generativelanguage.googleapis.com/v1beta/"
	    "models/gemini-2.5-flash:streamGenerateContent?alt=sse");
	assert_str(c.secret_header, "x-goog-api-key: AIzaK");
	b = json_loadb(c.body, c.body_len, 0, NULL);
	want = json_deep_copy(in);
	json_object_set_new(json_object_get(want, "generationConfig"),
	    "maxOutputTokens", json_integer(2048));
	json_object_del(
	    json_object_get(want, "generationConfig"), "max_output_tokens");
	assert_true(json_equal(b, want));
	json_decref(b);
	json_decref(want);
	json_decref(in);
	json_decref(orig);

	/* snake_case: the cap goes where the client put its config. */
	in = load("{\"contents\":[],\"generation_config\":"
		  "{\"max_output_tokens\":100000,\"top_k\":3}}");
	assert_int_equal(g->build_native(a, &dep, in, 0, 77, "k", &c), 0);
	assert_str(c.url,
	    "https://generativelanguage.googleapis.com/v1beta/"
	    "models/gemini-2.5-flash:generateContent");
	b = json_loadb(c.body, c.body_len, 0, NULL);
	assert_int_equal(int_at(b, "generation_config.maxOutputTokens"), 77);
	assert_null(at(b, "generation_config.max_output_tokens"));
	assert_int_equal(int_at(b, "generation_config.top_k"), 3);
	assert_null(at(b, "generationConfig"));
	json_decref(b);
	json_decref(in);

	/* No config: one is made for the cap. */
	in = load("{\"contents\":[]}");
	assert_int_equal(g->build_native(a, &dep, in, 0, 50, "k", &c), 0);
	b = json_loadb(c.body, c.body_len, 0, NULL);
	assert_int_equal(int_at(b, "generationConfig.maxOutputTokens"), 50);
	json_decref(b);
	json_decref(in);
	arena_free(a);
}

/* --- whole answers ------------------------------------------------------------------ */

/* Recorded from gemini-2.5-flash (protocols.md 3.3). */
static const char ans_text[] =
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
    "\"It is 15C.\"}]},\"finishReason\":\"STOP\",\"index\":0,"
    "\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
    "\"probability\":\"NEGLIGIBLE\"}]}],\"usageMetadata\":{"
    "\"promptTokenCount\":83,\"candidatesTokenCount\":14,"
    "\"thoughtsTokenCount\":104,\"totalTokenCount\":201,"
    "\"cachedContentTokenCount\":0,\"promptTokensDetails\":[{\"modality\":"
    "\"TEXT\",\"tokenCount\":83}]},\"modelVersion\":\"gemini-2.5-flash\","
    "\"responseId\":\"qpc2afWVFJK4vr0Pq6WiyAU\"}";

/* A thinking model's function call, with its thought summary and signature. */
static const char ans_call[] =
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
    "{\"text\":\"**Checking the weather**\\nThe user wants Paris.\","
    "\"thought\":true},"
    "{\"functionCall\":{\"name\":\"get_weather\",\"args\":{\"city\":"
    "\"Paris\",\"unit\":\"c\"}},\"thoughtSignature\":\"CikB0e2Kb/+x=\"},"
    "{\"functionCall\":{\"id\":\"fc-7\",\"name\":\"get_time\",\"args\":{}}}"
    "]},\"finishReason\":\"STOP\",\"index\":0,\"finishMessage\":"
    "\"Model generated function call(s).\"}],\"usageMetadata\":{"
    "\"promptTokenCount\":60,\"candidatesTokenCount\":16,"
    "\"thoughtsTokenCount\":50,\"totalTokenCount\":126},"
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"r2\"}";

/* Context caching and a tool-use prompt. */
static const char ans_cached[] =
    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":"
    "\"Chapter 3 says so.\"}]},\"finishReason\":\"MAX_TOKENS\",\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":12000,"
    "\"cachedContentTokenCount\":10000,\"candidatesTokenCount\":20,"
    "\"toolUsePromptTokenCount\":30,\"totalTokenCount\":12050,"
    "\"cacheTokensDetails\":[{\"modality\":\"TEXT\",\"tokenCount\":10000}]},"
    "\"modelVersion\":\"gemini-2.5-pro\",\"responseId\":\"r3\"}";

/* A prompt blocked before any candidate. */
static const char ans_blocked[] =
    "{\"promptFeedback\":{\"blockReason\":\"SAFETY\",\"safetyRatings\":[{"
    "\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\",\"probability\":"
    "\"HIGH\",\"blocked\":true}]},\"usageMetadata\":{\"promptTokenCount\":8,"
    "\"totalTokenCount\":8},\"modelVersion\":\"gemini-2.5-flash\"}";

/* A candidate stopped by the filter, and a second one (n=2) that was not. */
static const char ans_two[] =
    "{\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0,"
    "\"safetyRatings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
    "\"probability\":\"HIGH\",\"blocked\":true}]},"
    "{\"content\":{\"role\":\"model\",\"parts\":[{\"text\":\"Hel\"},"
    "{\"text\":\"lo\"}]},\"finishReason\":\"RECITATION\",\"index\":1}],"
    "\"usageMetadata\":{\"promptTokenCount\":10,\"candidatesTokenCount\":2,"
    "\"totalTokenCount\":12}}";

static void
t_answer_text(void **state)
{
	json_t *in = load(ans_text), *o;

	(void)state;
	o = g->answer_to_openai(in, "google/gemini-2.5-flash");
	assert_non_null(o);
	assert_str(str_at(o, "object"), "chat.completion");
	assert_str(str_at(o, "id"), "chatcmpl-qpc2afWVFJK4vr0Pq6WiyAU");
	assert_str(str_at(o, "model"), "google/gemini-2.5-flash");
	assert_true(int_at(o, "created") > 1700000000);
	assert_int_equal(json_array_size(at(o, "choices")), 1);
	assert_int_equal(int_at(o, "choices.0.index"), 0);
	assert_str(str_at(o, "choices.0.message.role"), "assistant");
	assert_str(str_at(o, "choices.0.message.content"), "It is 15C.");
	assert_null(at(o, "choices.0.message.tool_calls"));
	assert_null(at(o, "choices.0.message.reasoning_content"));
	assert_str(str_at(o, "choices.0.finish_reason"), "stop");
	/* Thoughts are output: 14 + 104; the total agrees with Google's. */
	assert_int_equal(int_at(o, "usage.prompt_tokens"), 83);
	assert_int_equal(int_at(o, "usage.completion_tokens"), 118);
	assert_int_equal(int_at(o, "usage.total_tokens"), 201);
	assert_int_equal(
	    int_at(o, "usage.completion_tokens_details.reasoning_tokens"), 104);
	assert_int_equal(
	    int_at(o, "usage.prompt_tokens_details.cached_tokens"), 0);
	json_decref(o);
	json_decref(in);
}

static void
t_answer_call(void **state)
{
	json_t *in = load(ans_call), *o, *args;

	(void)state;
	o = g->answer_to_openai(in, "m");
	assert_non_null(o);
	/* Gemini finishes a call with STOP: OpenAI's clients wait for this. */
	assert_str(str_at(o, "choices.0.finish_reason"), "tool_calls");
	assert_true(json_is_null(at(o, "choices.0.message.content")));
	assert_str(str_at(o, "choices.0.message.reasoning_content"),
	    "**Checking the weather**\nThe user wants Paris.");
	assert_int_equal(
	    json_array_size(at(o, "choices.0.message.tool_calls")), 2);
	assert_str(str_at(o, "choices.0.message.tool_calls.0.id"),
	    "call_0" GEM_SIG_MARK "CikB0e2Kb/+x=");
	assert_str(
	    str_at(o, "choices.0.message.tool_calls.0.type"), "function");
	assert_str(str_at(o, "choices.0.message.tool_calls.0.function.name"),
	    "get_weather");
	args = load(
	    str_at(o, "choices.0.message.tool_calls.0.function.arguments"));
	assert_str(str_at(args, "city"), "Paris");
	assert_str(str_at(args, "unit"), "c");
	json_decref(args);
	assert_str(str_at(o, "choices.0.message.tool_calls.1.id"), "fc-7");
	assert_str(
	    str_at(o, "choices.0.message.tool_calls.1.function.arguments"),
	    "{}");
	assert_int_equal(int_at(o, "usage.completion_tokens"), 66);
	assert_int_equal(
	    int_at(o, "usage.completion_tokens_details.reasoning_tokens"), 50);
	json_decref(o);
	json_decref(in);
}

/* The ids tollgate gives calls bring their signatures back to Gemini. */
static void
t_call_round_trip(void **state)
{
	struct arena *a = arena_new(0);
	json_t *in = load(ans_call), *o, *pivot, *msg, *b;
	struct prov_call c;

	(void)state;
	o = g->answer_to_openai(in, "m");
	msg = json_deep_copy(at(o, "choices.0.message"));
	json_object_del(msg, "reasoning_content");
	pivot = json_pack("{s:[{s:s,s:s},o,{s:s,s:O,s:s},{s:s,s:O,s:s}]}",
	    "messages", "role", "user", "content", "Weather?", msg, "role",
	    "tool", "tool_call_id", at(msg, "tool_calls.0.id"), "content",
	    "sunny", "role", "tool", "tool_call_id", at(msg, "tool_calls.1.id"),
	    "content", "[1,2]");
	assert_non_null(pivot);
	assert_int_equal(
	    g->build(a, EP_CHAT, &dep, pivot, 0, 100, "k", NULL, NULL, &c), 0);
	b = json_loadb(c.body, c.body_len, 0, NULL);
	assert_str(
	    str_at(b, "contents.1.parts.0.functionCall.name"), "get_weather");
	assert_str(str_at(b, "contents.1.parts.0.functionCall.args.unit"), "c");
	assert_str(
	    str_at(b, "contents.1.parts.0.thoughtSignature"), "CikB0e2Kb/+x=");
	assert_str(str_at(b, "contents.1.parts.1.functionCall.id"), "fc-7");
	assert_str(str_at(b, "contents.2.parts.0.functionResponse.name"),
	    "get_weather");
	assert_str(
	    str_at(b, "contents.2.parts.0.functionResponse.response.content"),
	    "sunny");
	/* JSON that is not an object is wrapped too. */
	assert_str(
	    str_at(b, "contents.2.parts.1.functionResponse.response.content"),
	    "[1,2]");
	assert_str(str_at(b, "contents.2.parts.1.functionResponse.id"), "fc-7");
	json_decref(b);
	json_decref(pivot);
	json_decref(o);
	json_decref(in);
	arena_free(a);
}

static void
t_answer_cached(void **state)
{
	json_t *in = load(ans_cached), *o;
	struct token_counts u;

	(void)state;
	o = g->answer_to_openai(in, "m");
	assert_str(str_at(o, "choices.0.finish_reason"), "length");
	assert_int_equal(int_at(o, "usage.prompt_tokens"), 12030);
	assert_int_equal(
	    int_at(o, "usage.prompt_tokens_details.cached_tokens"), 10000);
	assert_int_equal(int_at(o, "usage.completion_tokens"), 20);
	assert_int_equal(int_at(o, "usage.total_tokens"), 12050);
	/* What the relay bills reads the same from the OpenAI answer. */
	assert_int_equal(
	    chat_usage_parse(json_object_get(o, "usage"), &u), PU_COUNTS);
	assert_int_equal(u.prompt, 12030);
	assert_int_equal(u.cached, 10000);
	assert_int_equal(u.completion, 20);
	assert_int_equal(u.reasoning, 0);
	json_decref(o);
	json_decref(in);
}

static void
t_answer_blocked(void **state)
{
	json_t *in = load(ans_blocked), *o;

	(void)state;
	o = g->answer_to_openai(in, "m");
	assert_non_null(o);
	assert_int_equal(json_array_size(at(o, "choices")), 1);
	assert_str(str_at(o, "choices.0.message.content"), "");
	assert_str(str_at(o, "choices.0.finish_reason"), "content_filter");
	assert_int_equal(int_at(o, "usage.prompt_tokens"), 8);
	assert_int_equal(int_at(o, "usage.completion_tokens"), 0);
	assert_true(strncmp(str_at(o, "id"), "chatcmpl-", 9) == 0);
	json_decref(o);
	json_decref(in);

	in = load(ans_two);
	o = g->answer_to_openai(in, "m");
	assert_int_equal(json_array_size(at(o, "choices")), 2);
	assert_str(str_at(o, "choices.0.message.content"), "");
	assert_str(str_at(o, "choices.0.finish_reason"), "content_filter");
	assert_int_equal(int_at(o, "choices.1.index"), 1);
	assert_str(str_at(o, "choices.1.message.content"), "Hello");
	assert_str(str_at(o, "choices.1.finish_reason"), "content_filter");
	json_decref(o);
	json_decref(in);
}

/* Every finishReason as the table in doc/api-data-plane.md says. */
static void
t_finish_reasons(void **state)
{
	static const char *const cases[][2] = {
	    {"STOP", "stop"},
	    {"MAX_TOKENS", "length"},
	    {"SAFETY", "content_filter"},
	    {"RECITATION", "content_filter"},
	    {"BLOCKLIST", "content_filter"},
	    {"PROHIBITED_CONTENT", "content_filter"},
	    {"SPII", "content_filter"},
	    {"IMAGE_SAFETY", "content_filter"},
	    {"LANGUAGE", "content_filter"},
	    {"OTHER", "stop"},
	    {"MALFORMED_FUNCTION_CALL", "stop"},
	    {"FINISH_REASON_UNSPECIFIED", "stop"},
	    {"SOMETHING_NEW", "stop"},
	};
	char text[256];
	json_t *in, *o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text),
		    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
		    "\"x\"}]},\"finishReason\":\"%s\"}]}",
		    cases[i][0]);
		in = load(text);
		o = g->answer_to_openai(in, "m");
		assert_str(str_at(o, "choices.0.finish_reason"), cases[i][1]);
		/* No usageMetadata: no usage, the relay estimates. */
		assert_null(at(o, "usage"));
		json_decref(o);
		json_decref(in);
	}
}

/* What is not an answer is not translated. */
static void
t_answer_not(void **state)
{
	static const char *const cases[] = {
	    "{\"error\":{\"code\":400,\"message\":\"bad\",\"status\":"
	    "\"INVALID_ARGUMENT\"}}",
	    "{}",
	    "[]",
	    "3",
	    "{\"candidates\":{}}",
	};
	json_t *in;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in = json_loads(cases[i], JSON_DECODE_ANY, NULL);
		assert_null(g->answer_to_openai(in, "m"));
		json_decref(in);
	}
	assert_null(g->answer_to_openai(NULL, "m"));
}

/* --- native readers ----------------------------------------------------------------- */

static void
t_native_usage(void **state)
{
	struct token_counts u;
	struct jx_where w;
	json_t *in;

	(void)state;
	/* The text is never spliced: Gemini's usage has no cost member. */
	assert_int_equal(
	    g->answer_scan(ans_text, strlen(ans_text), &w, &u), PU_LOAD_TREE);
	in = load(ans_text);
	assert_int_equal(g->answer_usage(in, &u), PU_COUNTS);
	assert_int_equal(u.present, 1);
	assert_int_equal(u.prompt, 83);
	assert_int_equal(u.completion, 118);
	assert_int_equal(u.reasoning, 104);
	assert_int_equal(u.cached, 0);
	assert_int_equal(u.cache_write, 0);
	assert_true(u.upstream_cost == -1);
	json_decref(in);
	in = load(ans_cached);
	assert_int_equal(g->answer_usage(in, &u), PU_COUNTS);
	assert_int_equal(u.prompt, 12030);
	assert_int_equal(u.cached, 10000);
	json_decref(in);
	/* Counts missing, negative or not integers are 0; none: no counts. */
	in = load(
	    "{\"usageMetadata\":{\"promptTokenCount\":-5,"
	    "\"candidatesTokenCount\":2.5,\"cachedContentTokenCount\":9}}");
	assert_int_equal(g->answer_usage(in, &u), PU_COUNTS);
	assert_int_equal(u.prompt, 0);
	assert_int_equal(u.completion, 0);
	assert_int_equal(u.cached, 0); /* never more than the prompt */
	json_decref(in);
	in = load("{\"usageMetadata\":{\"promptTokensDetails\":[]}}");
	assert_int_equal(g->answer_usage(in, &u), PU_NO_COUNTS);
	json_decref(in);
	in = load("{\"candidates\":[]}");
	assert_int_equal(g->answer_usage(in, &u), PU_NO_COUNTS);
	json_decref(in);
	/* Thoughts are output even when no total says so. */
	in = load("{\"usageMetadata\":{\"promptTokenCount\":5,"
		  "\"candidatesTokenCount\":7,\"thoughtsTokenCount\":11}}");
	assert_int_equal(g->answer_usage(in, &u), PU_COUNTS);
	assert_int_equal(u.completion, 18);
	assert_int_equal(u.reasoning, 11);
	json_decref(in);
	/* A total past the named members: the rest billed as output. */
	in = load("{\"usageMetadata\":{\"promptTokenCount\":10,"
		  "\"candidatesTokenCount\":5,\"totalTokenCount\":40}}");
	assert_int_equal(g->answer_usage(in, &u), PU_COUNTS);
	assert_int_equal(u.prompt, 10);
	assert_int_equal(u.completion, 30);
	json_decref(in);
}

static void
t_native_event(void **state)
{
	struct token_counts u;
	struct prov_event ev;
	json_t *in;

	(void)state;
	memset(&u, 0, sizeof(u));
	in = load("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
		  "\"Okay, let's\"}],\"role\":\"model\"},\"index\":0}],"
		  "\"usageMetadata\":{\"promptTokenCount\":4,"
		  "\"candidatesTokenCount\":49,\"totalTokenCount\":2095,"
		  "\"thoughtsTokenCount\":2042}}");
	g->event(in, &u, &ev);
	assert_int_equal(ev.usage, 1);
	assert_int_equal(ev.strip, 0);
	assert_int_equal(ev.error, 0);
	assert_int_equal(ev.choices_array, 1);
	assert_int_equal(ev.nchoices, 1);
	assert_int_equal(ev.delta_bytes, strlen("Okay, let's"));
	assert_int_equal(u.prompt, 4);
	assert_int_equal(u.completion, 49 + 2042);
	json_decref(in);
	/* Cumulative: the next replaces, never adds. */
	in = load("{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":"
		  "{\"name\":\"f\",\"args\":{\"a\":1}}}],\"role\":\"model\"},"
		  "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{"
		  "\"promptTokenCount\":4,\"candidatesTokenCount\":97,"
		  "\"thoughtsTokenCount\":2042,\"totalTokenCount\":2143}}");
	g->event(in, &u, &ev);
	assert_int_equal(u.prompt, 4);
	assert_int_equal(u.completion, 97 + 2042);
	assert_int_equal(u.reasoning, 2042);
	assert_int_equal(ev.delta_bytes, strlen("{\"a\":1}"));
	g->strip_usage(in); /* a no-op: Gemini clients always get usage */
	assert_non_null(at(in, "usageMetadata"));
	json_decref(in);
	/* A usageMetadata without counts leaves the last one standing. */
	in = load("{\"candidates\":[],\"usageMetadata\":{}}");
	g->event(in, &u, &ev);
	assert_int_equal(ev.usage, 0);
	assert_int_equal(ev.nchoices, 0);
	assert_int_equal(u.completion, 97 + 2042);
	json_decref(in);
	in = load("{\"error\":{\"code\":503,\"message\":\"The model is "
		  "overloaded.\",\"status\":\"UNAVAILABLE\"}}");
	g->event(in, &u, &ev);
	assert_int_equal(ev.error, 1);
	assert_int_equal(ev.choices_array, 0);
	json_decref(in);
}

static void
t_native_text(void **state)
{
	struct buf sink;
	json_t *in = load(ans_call);
	size_t n;

	(void)state;
	buf_init(&sink, 1 << 16);
	n = g->text(in, &sink);
	assert_int_equal(n, sink.len);
	assert_contains(sink.data, "**Checking the weather**");
	assert_contains(sink.data, "\"city\":\"Paris\"");
	assert_int_equal(g->text(in, NULL), n);
	buf_free(&sink);
	/* A sink's cap is kept, whole characters only. */
	json_decref(in);
	in = load("{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
		  "\"ab\\u00e9\"}]}}]}");
	buf_init(&sink, 4);
	assert_int_equal(g->text(in, &sink), 4);
	assert_int_equal(sink.len, 2);
	buf_free(&sink);
	json_decref(in);
}

static void
t_error_message(void **state)
{
	static const char key_invalid[] =
	    "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please "
	    "pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\","
	    "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc."
	    "ErrorInfo\",\"reason\":\"API_KEY_INVALID\",\"domain\":"
	    "\"googleapis.com\"}]}}";
	static const char wrapped[] =
	    "[{\"error\":{\"code\":429,\"message\":\"Resource has been "
	    "exhausted\\n(e.g. check quota).\",\"status\":"
	    "\"RESOURCE_EXHAUSTED\"}}]";
	struct arena *a = arena_new(0);
	char big[1200];

	(void)state;
	assert_str(g->error_message(a, key_invalid, strlen(key_invalid)),
	    "API key not valid. Please pass a valid API key.");
	assert_str(g->error_message(a, wrapped, strlen(wrapped)),
	    "Resource has been exhausted (e.g. check quota).");
	assert_null(g->error_message(a, "<html>503</html>", 16));
	assert_null(g->error_message(a, "", 0));
	assert_null(g->error_message(a, "{\"error\":{}}", 12));
	snprintf(big, sizeof(big), "{\"error\":{\"message\":\"%0900d\"}}", 0);
	assert_int_equal(strlen(g->error_message(a, big, strlen(big))), 300);
	arena_free(a);
}

/* --- streams ------------------------------------------------------------------------ */

/* Each event through event_to_openai of one fresh stream; all chunks out. */
static json_t *
xlate(const char *const *events, size_t n, const char *id)
{
	struct prov_xlate xl;
	json_t *out = json_array(), *ev, *c;
	size_t i, j;

	memset(&xl, 0, sizeof(xl));
	xl.model = "google/gemini-2.5-flash";
	xl.created = 1733000000;
	xl.id = id;
	for (i = 0; i < n; i++) {
		ev = load(events[i]);
		assert_int_equal(g->event_to_openai(&xl, NULL, ev, out), 0);
		json_decref(ev);
	}
	/* Every chunk is OpenAI's chat.completion.chunk, all of one answer. */
	json_array_foreach(out, j, c) {
		if (at(c, "error") != NULL)
			continue;
		assert_str(str_at(c, "object"), "chat.completion.chunk");
		assert_str(str_at(c, "model"), "google/gemini-2.5-flash");
		assert_int_equal(int_at(c, "created"), 1733000000);
		assert_str(str_at(c, "id"), str_at(out, "0.id"));
		assert_true(json_is_array(at(c, "choices")));
	}
	return out;
}

/* Recorded from gemini-2.5-flash (protocols.md 3.4). */
static const char *const rec_stream[] = {
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Okay, let's\"}],"
    "\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{"
    "\"promptTokenCount\":4,\"candidatesTokenCount\":49,"
    "\"totalTokenCount\":2095,\"thoughtsTokenCount\":2042},"
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"IZI2aeK\"}",
    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\" build it.\"}],"
    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
    "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":97,"
    "\"totalTokenCount\":2143,\"thoughtsTokenCount\":2042},"
    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"IZI2aeK\"}",
};

static void
t_stream_text(void **state)
{
	json_t *out = xlate(rec_stream, 2, NULL);
	struct token_counts u;

	(void)state;
	assert_int_equal(json_array_size(out), 5);
	assert_str(str_at(out, "0.id"), "chatcmpl-IZI2aeK");
	assert_str(str_at(out, "0.choices.0.delta.role"), "assistant");
	assert_true(json_is_null(at(out, "0.choices.0.finish_reason")));
	assert_str(str_at(out, "1.choices.0.delta.content"), "Okay, let's");
	assert_str(str_at(out, "2.choices.0.delta.content"), " build it.");
	assert_null(at(out, "2.usage"));
	assert_str(str_at(out, "3.choices.0.finish_reason"), "stop");
	assert_int_equal(json_object_size(at(out, "3.choices.0.delta")), 0);
	/* The end: no choices, the last cumulative usage, thoughts as output. */
	assert_int_equal(json_array_size(at(out, "4.choices")), 0);
	assert_int_equal(chat_usage_parse(at(out, "4.usage"), &u), PU_COUNTS);
	assert_int_equal(u.prompt, 4);
	assert_int_equal(u.completion, 97 + 2042);
	assert_int_equal(u.reasoning, 2042);
	assert_int_equal(int_at(out, "4.usage.total_tokens"), 2143);
	json_decref(out);
	/* The relay's id wins over Gemini's. */
	out = xlate(rec_stream, 2, "chatcmpl-tollgate1");
	assert_str(str_at(out, "4.id"), "chatcmpl-tollgate1");
	json_decref(out);
}

static void
t_stream_call(void **state)
{
	static const char *const ev[] = {
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Let me "
	    "check.\",\"thought\":true}],\"role\":\"model\"},\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":60,"
	    "\"thoughtsTokenCount\":50,\"totalTokenCount\":110}}",
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{"
	    "\"name\":\"get_weather\",\"args\":{\"city\":\"Paris\"}},"
	    "\"thoughtSignature\":\"Sig1\"},{\"functionCall\":{\"name\":"
	    "\"get_time\",\"args\":{\"tz\":\"CET\"}}}],\"role\":\"model\"},"
	    "\"finishReason\":\"STOP\",\"index\":0}],\"usageMetadata\":{"
	    "\"promptTokenCount\":60,\"candidatesTokenCount\":16,"
	    "\"thoughtsTokenCount\":50,\"totalTokenCount\":126}}",
	};
	json_t *out = xlate(ev, 2, NULL);

	(void)state;
	assert_int_equal(json_array_size(out), 6);
	assert_str(str_at(out, "1.choices.0.delta.reasoning_content"),
	    "Let me check.");
	assert_null(at(out, "1.choices.0.delta.content"));
	/* Each call whole in one delta, numbered from 0. */
	assert_int_equal(
	    int_at(out, "2.choices.0.delta.tool_calls.0.index"), 0);
	assert_str(str_at(out, "2.choices.0.delta.tool_calls.0.id"),
	    "call_0" GEM_SIG_MARK "Sig1");
	assert_str(
	    str_at(out, "2.choices.0.delta.tool_calls.0.type"), "function");
	assert_str(str_at(out, "2.choices.0.delta.tool_calls.0.function.name"),
	    "get_weather");
	assert_str(
	    str_at(out, "2.choices.0.delta.tool_calls.0.function.arguments"),
	    "{\"city\":\"Paris\"}");
	assert_int_equal(
	    int_at(out, "3.choices.0.delta.tool_calls.0.index"), 1);
	assert_str(str_at(out, "3.choices.0.delta.tool_calls.0.id"), "call_1");
	assert_str(str_at(out, "4.choices.0.finish_reason"), "tool_calls");
	assert_int_equal(int_at(out, "5.usage.completion_tokens"), 66);
	assert_int_equal(int_at(out, "5.usage.prompt_tokens"), 60);
	json_decref(out);
}

static void
t_stream_blocked(void **state)
{
	static const char *const ev[] = {
	    "{\"promptFeedback\":{\"blockReason\":\"PROHIBITED_CONTENT\"},"
	    "\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9},"
	    "\"modelVersion\":\"gemini-2.5-flash\",\"responseId\":\"b1\"}",
	};
	json_t *out = xlate(ev, 1, NULL);

	(void)state;
	assert_int_equal(json_array_size(out), 2);
	assert_str(str_at(out, "0.choices.0.delta.role"), "assistant");
	assert_str(str_at(out, "0.choices.0.finish_reason"), "content_filter");
	assert_int_equal(json_array_size(at(out, "1.choices")), 0);
	assert_int_equal(int_at(out, "1.usage.prompt_tokens"), 9);
	assert_int_equal(int_at(out, "1.usage.completion_tokens"), 0);
	json_decref(out);
}

/* An error chunk mid-stream becomes OpenAI's error object. */
static void
t_stream_error(void **state)
{
	static const char *const ev[] = {
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hi\"}],"
	    "\"role\":\"model\"},\"index\":0}]}",
	    "{\"error\":{\"code\":503,\"message\":\"The model is overloaded.\","
	    "\"status\":\"UNAVAILABLE\"}}",
	};
	static const char *const statuses[][3] = {
	    {"INVALID_ARGUMENT", "invalid_request_error", NULL},
	    {"NOT_FOUND", "invalid_request_error", "model_not_found"},
	    {"RESOURCE_EXHAUSTED", "requests", "rate_limit_exceeded"},
	    {"PERMISSION_DENIED", "permission_error", NULL},
	    {"INTERNAL", "server_error", "upstream_error"},
	};
	json_t *out = xlate(ev, 2, NULL), *e, *o;
	size_t i;
	char text[200];

	(void)state;
	assert_int_equal(json_array_size(out), 3);
	assert_str(str_at(out, "2.error.message"), "The model is overloaded.");
	assert_str(str_at(out, "2.error.type"), "server_error");
	assert_str(str_at(out, "2.error.code"), "overloaded");
	assert_true(json_is_null(at(out, "2.error.param")));
	json_decref(out);
	for (i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
		snprintf(text, sizeof(text),
		    "{\"code\":1,\"message\":\"m\",\"status\":\"%s\"}",
		    statuses[i][0]);
		e = load(text);
		o = gem_error_to_openai(e);
		assert_str(str_at(o, "type"), statuses[i][1]);
		if (statuses[i][2] == NULL)
			assert_true(json_is_null(at(o, "code")));
		else
			assert_str(str_at(o, "code"), statuses[i][2]);
		json_decref(o);
		json_decref(e);
	}
}

/*
 * Two candidates (n=2) finish in different chunks: the usage chunk comes
 * once both have; a usage that changes after it comes again, whole.
 */
static void
t_stream_candidates(void **state)
{
	static const char *const ev[] = {
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"A\"}],"
	    "\"role\":\"model\"},\"index\":0},{\"content\":{\"parts\":[{"
	    "\"text\":\"B\"}],\"role\":\"model\"},\"index\":1}]}",
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}],"
	    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":3,"
	    "\"candidatesTokenCount\":3}}",
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}],"
	    "\"role\":\"model\"},\"finishReason\":\"MAX_TOKENS\",\"index\":1}],"
	    "\"usageMetadata\":{\"promptTokenCount\":3,"
	    "\"candidatesTokenCount\":4}}",
	    "{\"usageMetadata\":{\"promptTokenCount\":3,"
	    "\"candidatesTokenCount\":4}}",
	    "{\"usageMetadata\":{\"promptTokenCount\":3,"
	    "\"candidatesTokenCount\":6}}",
	};
	json_t *out = xlate(ev, 5, NULL), *c;
	size_t i, ends = 0;

	(void)state;
	/* role 0, A, role 1, B, a, stop 0, b, length 1, usage, usage again */
	assert_int_equal(json_array_size(out), 10);
	assert_int_equal(int_at(out, "2.choices.0.index"), 1);
	assert_str(str_at(out, "2.choices.0.delta.role"), "assistant");
	assert_str(str_at(out, "5.choices.0.finish_reason"), "stop");
	assert_int_equal(int_at(out, "7.choices.0.index"), 1);
	assert_str(str_at(out, "7.choices.0.finish_reason"), "length");
	json_array_foreach(out, i, c)
		ends += json_array_size(at(c, "choices")) == 0;
	assert_int_equal(ends, 2);
	assert_int_equal(int_at(out, "8.usage.completion_tokens"), 4);
	assert_int_equal(int_at(out, "9.usage.completion_tokens"), 6);
	json_decref(out);
}

/* A stream cut before its finishReason has no usage chunk: the relay sees it unfinished. */
static void
t_stream_truncated(void **state)
{
	json_t *out = xlate(rec_stream, 1, NULL), *c;
	size_t i;

	(void)state;
	json_array_foreach(out, i, c) {
		assert_int_equal(json_array_size(at(c, "choices")), 1);
		assert_null(at(c, "usage"));
	}
	json_decref(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_build_call),
	    cmocka_unit_test(t_build_messages),
	    cmocka_unit_test(t_build_tools),
	    cmocka_unit_test(t_build_sentinel),
	    cmocka_unit_test(t_build_tool_name),
	    cmocka_unit_test(t_build_tool_choice),
	    cmocka_unit_test(t_build_config),
	    cmocka_unit_test(t_build_thinking),
	    cmocka_unit_test(t_build_native),
	    cmocka_unit_test(t_answer_text),
	    cmocka_unit_test(t_answer_call),
	    cmocka_unit_test(t_call_round_trip),
	    cmocka_unit_test(t_answer_cached),
	    cmocka_unit_test(t_answer_blocked),
	    cmocka_unit_test(t_finish_reasons),
	    cmocka_unit_test(t_answer_not),
	    cmocka_unit_test(t_native_usage),
	    cmocka_unit_test(t_native_event),
	    cmocka_unit_test(t_native_text),
	    cmocka_unit_test(t_error_message),
	    cmocka_unit_test(t_stream_text),
	    cmocka_unit_test(t_stream_call),
	    cmocka_unit_test(t_stream_blocked),
	    cmocka_unit_test(t_stream_error),
	    cmocka_unit_test(t_stream_candidates),
	    cmocka_unit_test(t_stream_truncated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
