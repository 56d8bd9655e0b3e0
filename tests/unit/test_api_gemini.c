/* test_api_gemini.c: the Gemini API codec: requests to the pivot, chunks, answers and errors back */
#include "test_common.h"

#include "core/json.h"
#include "prov/api.h"

/*
 * api.c names every codec; the ones other branches bring are weak here so
 * this test links before and after they are merged (theirs win then).
 */
__attribute__((weak)) const struct api_ops api_anthropic_ops = {0};
__attribute__((weak)) const struct api_ops api_responses_ops = {0};

static const struct api_ops *G = &api_gemini_ops;

/* --- helpers -------------------------------------------------------------------------- */

static json_t *
load(const char *s)
{
	json_error_t e;
	json_t *o = json_loads(s, 0, &e);

	if (o == NULL)
		fail_msg("bad test JSON: %s: %s", e.text, s);
	return o;
}

/* The pivot of a Gemini body, which must be accepted. */
static json_t *
pivot(const char *body)
{
	struct api_refusal why;
	json_t *in = load(body), *out;

	out = G->to_pivot(in, &why);
	json_decref(in);
	if (out == NULL)
		fail_msg("refused (%s, %s): %s", why.code ? why.code : "-",
		    why.param ? why.param : "-", why.msg);
	return out;
}

/* The pivot equals the expected JSON exactly (every member). */
static void
assert_pivot(const char *body, const char *want)
{
	json_t *got = pivot(body), *w = load(want);
	char *gs;

	if (!json_equal(got, w)) {
		gs = jx_dump(got);
		fail_msg("pivot of %s\n got  %s\n want %s", body, gs, want);
	}
	json_decref(got);
	json_decref(w);
}

/* A body the API refuses, with its param and code. */
static void
assert_refused(
    const char *body, const char *param, const char *code, const char *in_msg)
{
	struct api_refusal why;
	json_t *in = load(body), *out;

	memset(&why, 0x5a, sizeof(why));
	out = G->to_pivot(in, &why);
	json_decref(in);
	if (out != NULL) {
		json_decref(out);
		fail_msg("accepted: %s", body);
	}
	assert_true(strlen(why.msg) > 0);
	if (param == NULL)
		assert_null(why.param);
	else if (why.param == NULL || strcmp(why.param, param) != 0)
		fail_msg("%s: param %s, want %s (%s)", body,
		    why.param ? why.param : "NULL", param, why.msg);
	assert_str(why.code, code);
	if (in_msg != NULL)
		assert_contains(why.msg, in_msg);
}

/* Every event emitted, as the wire would carry it. */
struct sink {
	char buf[65536];
	size_t len;
	int fail_after; /* emits before the client is gone; -1 never */
};

static int
sink_emit(void *arg, const char *event, const char *data, size_t len)
{
	struct sink *s = arg;

	if (s->fail_after == 0)
		return -1;
	if (s->fail_after > 0)
		s->fail_after--;
	if (event != NULL)
		s->len += (size_t)snprintf(s->buf + s->len,
		    sizeof(s->buf) - s->len, "event: %s\n", event);
	s->len += (size_t)snprintf(s->buf + s->len, sizeof(s->buf) - s->len,
	    "data: %.*s\n\n", (int)len, data);
	return 0;
}

static const struct token_counts usage = {.prompt = 120,
    .completion = 50,
    .cached = 100,
    .cache_write = 0,
    .reasoning = 20,
    .upstream_cost = -1,
    .present = 1};
static const struct api_meta meta = {
    "req-9", "mock", "google/gemini-2.5-flash", 30450, 999969550, &usage, NULL};

static void
chunk_in(struct api_state *st, struct sink *s, const char *chunk)
{
	json_t *c = load(chunk);

	assert_int_equal(G->chunk(st, c, sink_emit, s), 0);
	json_decref(c);
}

/* --- requests ------------------------------------------------------------------------- */

static void
t_text(void **state)
{
	(void)state;
	assert_pivot("{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":"
		     "\"Hi\"}]}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
	    "\"stream_options\":{\"include_usage\":true}}");
	/* A missing role is the user's; snake_case names are read too. */
	assert_pivot(
	    "{\"system_instruction\":{\"parts\":[{\"text\":\"Be\"},"
	    "{\"text\":\"terse\"}]},\"contents\":[{\"parts\":[{"
	    "\"text\":\"a\"},{\"text\":\"b\"}]}],\"generation_config\":"
	    "{\"max_output_tokens\":9}}",
	    "{\"messages\":[{\"role\":\"system\",\"content\":\"Be\\nterse\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"}"
	    ","
	    "{\"type\":\"text\",\"text\":\"b\"}]}],\"max_tokens\":9,"
	    "\"stream_options\":{\"include_usage\":true}}");
	assert_pivot("{\"systemInstruction\":\"plain\",\"contents\":[{\"role\":"
		     "\"user\",\"parts\":[{\"text\":\"x\"}]}],\"model\":\"m\"}",
	    "{\"messages\":[{\"role\":\"system\",\"content\":\"plain\"},"
	    "{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"stream_options\":{\"include_usage\":true}}");
}

/* Calls get Gemini's id or call_<n>; answers find them by id or by name and order. */
static void
t_function_calls(void **state)
{
	(void)state;
	assert_pivot(
	    "{\"contents\":["
	    "{\"role\":\"user\",\"parts\":[{\"text\":\"Weather?\"}]},"
	    "{\"role\":\"model\",\"parts\":[{\"text\":\"hmm\",\"thought\":true}"
	    ","
	    "{\"text\":\"Let me look.\"},"
	    "{\"functionCall\":{\"name\":\"w\",\"args\":{\"city\":\"Paris\"}},"
	    "\"thoughtSignature\":\"Cik\"},"
	    "{\"functionCall\":{\"name\":\"w\",\"args\":{\"city\":\"Rome\"}}},"
	    "{\"functionCall\":{\"name\":\"t\",\"id\":\"abc\"}}]},"
	    "{\"role\":\"user\",\"parts\":["
	    "{\"functionResponse\":{\"name\":\"t\",\"id\":\"abc\",\"response\":"
	    "{\"r\":3}}},"
	    "{\"functionResponse\":{\"name\":\"w\",\"response\":{\"t\":15}}},"
	    "{\"functionResponse\":{\"name\":\"w\",\"response\":{\"t\":20}}},"
	    "{\"text\":\"thanks\"}]}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"Weather?\"},"
	    "{\"role\":\"assistant\",\"content\":\"Let me "
	    "look.\",\"tool_calls\":["
	    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"w\","
	    "\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
	    "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"w\","
	    "\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}},"
	    "{\"id\":\"abc\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"t\","
	    "\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"abc\",\"content\":\"{"
	    "\\\"r\\\":3}\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":"
	    "\"{\\\"t\\\":15}\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":"
	    "\"{\\\"t\\\":20}\"},"
	    "{\"role\":\"user\",\"content\":\"thanks\"}],"
	    "\"stream_options\":{\"include_usage\":true}}");
	/* A model turn of calls only has content null. */
	assert_pivot("{\"contents\":[{\"role\":\"model\",\"parts\":[{"
		     "\"functionCall\":{\"name\":\"f\",\"args\":{}}}]}]}",
	    "{\"messages\":[{\"role\":\"assistant\",\"content\":null,"
	    "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}],"
	    "\"stream_options\":{\"include_usage\":true}}");
	/* An answer to no call, twice the answer to one call. */
	assert_refused(
	    "{\"contents\":[{\"role\":\"user\",\"parts\":[{"
	    "\"functionResponse\":{\"name\":\"f\",\"response\":{}}}]}]}",
	    "contents[0].parts[0].functionResponse", "invalid_value",
	    "answers no functionCall");
	assert_refused(
	    "{\"contents\":[{\"role\":\"model\",\"parts\":[{"
	    "\"functionCall\":{\"name\":\"f\"}}]},{\"role\":\"user\","
	    "\"parts\":[{\"functionResponse\":{\"name\":\"f\","
	    "\"response\":{}}},{\"functionResponse\":{\"name\":\"f\","
	    "\"response\":{}}}]}]}",
	    "contents[1].parts[1].functionResponse", "invalid_value", NULL);
	assert_refused("{\"contents\":[{\"role\":\"model\",\"parts\":[{"
		       "\"functionCall\":{\"name\":\"f\",\"id\":\"x\"}}]},{"
		       "\"parts\":[{\"functionResponse\":{\"name\":\"f\","
		       "\"id\":\"y\",\"response\":{}}}]}]}",
	    "contents[1].parts[0].functionResponse", "invalid_value", "(y)");
}

static void
t_media(void **state)
{
	(void)state;
	assert_pivot("{\"contents\":[{\"parts\":[{\"text\":\"what?\"},"
		     "{\"inlineData\":{\"mimeType\":\"image/"
		     "png\",\"data\":\"iVB-_w==\"}},"
		     "{\"fileData\":{\"mimeType\":\"image/jpeg\",\"fileUri\":"
		     "\"https://x.test/a.jpg\"}},"
		     "{\"inlineData\":{\"mimeType\":\"application/"
		     "pdf\",\"data\":\"JVBE\"}},"
		     "{\"inline_data\":{\"mime_type\":\"audio/"
		     "wav\",\"data\":\"UklG\"}}]}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"what?\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,iVB+/w==\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"https://x.test/a.jpg\"}},"
	    "{\"type\":\"file\",\"file\":{\"filename\":\"document.pdf\","
	    "\"file_data\":\"data:application/pdf;base64,JVBE\"}},"
	    "{\"type\":\"input_audio\",\"input_audio\":{\"data\":\"UklG\","
	    "\"format\":\"wav\"}}]}],"
	    "\"stream_options\":{\"include_usage\":true}}");
	assert_refused("{\"contents\":[{\"parts\":[{\"inlineData\":{"
		       "\"mimeType\":\"image/png\",\"data\":\"a b\"}}]}]}",
	    "contents[0].parts[0]", "invalid_value", "not base64");
	assert_refused("{\"contents\":[{\"parts\":[{\"inlineData\":{"
		       "\"mimeType\":\"image/png;x\",\"data\":\"ab\"}}]}]}",
	    "contents[0].parts[0]", "invalid_value", NULL);
	assert_refused("{\"contents\":[{\"parts\":[{\"inlineData\":{"
		       "\"mimeType\":\"video/mp4\",\"data\":\"ab\"}}]}]}",
	    "contents[0].parts[0]", "unsupported_value", "video/mp4");
	assert_refused("{\"contents\":[{\"parts\":[{\"fileData\":{"
		       "\"mimeType\":\"application/pdf\",\"fileUri\":"
		       "\"https://x/y\"}}]}]}",
	    "contents[0].parts[0]", "unsupported_value", NULL);
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"a\","
		       "\"inlineData\":{\"mimeType\":\"image/png\",\"data\":"
		       "\"ab\"}}]}]}",
	    "contents[0].parts[0]", "invalid_value", "more than one");
	assert_refused("{\"contents\":[{\"parts\":[{\"executableCode\":{}}]}]}",
	    "contents[0].parts[0]", "unsupported_parameter", "code execution");
	assert_refused("{\"contents\":[{\"parts\":[{\"toolCall\":{}}]}]}",
	    "contents[0].parts[0]", "unsupported_parameter", "built-in tool");
	assert_pivot("{\"contents\":[{\"parts\":[{\"text\":\"x\","
		     "\"partMetadata\":{\"k\":1},\"mediaResolution\":{"
		     "\"level\":\"MEDIA_RESOLUTION_LOW\"}}]}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"stream_options\":{\"include_usage\":true}}");
	assert_refused("{\"contents\":[{\"parts\":[{\"thought\":true}]}]}",
	    "contents[0].parts[0]", "invalid_value", "holds no data");
}

static void
t_tools(void **state)
{
	(void)state;
	assert_pivot(
	    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"tools\":[{"
	    "\"functionDeclarations\":[{\"name\":\"w\",\"description\":\"d\","
	    "\"parameters\":{\"type\":\"OBJECT\",\"properties\":{\"city\":{"
	    "\"type\":\"STRING\",\"nullable\":true},\"days\":{\"type\":"
	    "\"ARRAY\","
	    "\"items\":{\"type\":\"INTEGER\"}}},\"required\":[\"city\"]}},"
	    "{\"name\":\"j\",\"parametersJsonSchema\":{\"type\":\"object\","
	    "\"additionalProperties\":false,\"nullable\":true}},"
	    "{\"name\":\"n\"}]}],"
	    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\","
	    "\"allowedFunctionNames\":[\"j\"]}}}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"j\","
	    "\"parameters\":{\"type\":\"object\",\"additionalProperties\":"
	    "false,"
	    "\"nullable\":true}}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
	    "\"j\"}},"
	    "\"stream_options\":{\"include_usage\":true}}");
	assert_pivot(
	    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"tools\":[{"
	    "\"functionDeclarations\":[{\"name\":\"w\",\"description\":\"d\","
	    "\"parameters\":{\"type\":\"OBJECT\",\"properties\":{\"city\":{"
	    "\"type\":\"STRING\",\"nullable\":true},\"days\":{\"type\":"
	    "\"ARRAY\","
	    "\"items\":{\"type\":\"INTEGER\"}}}}},{\"name\":\"n\"}]}],"
	    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"NONE\"}}}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"w\","
	    "\"description\":\"d\",\"parameters\":{\"type\":\"object\","
	    "\"properties\":{\"city\":{\"type\":[\"string\",\"null\"]},"
	    "\"days\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}}}}}"
	    ","
	    "{\"type\":\"function\",\"function\":{\"name\":\"n\","
	    "\"parameters\":"
	    "{\"type\":\"object\",\"properties\":{}}}}],"
	    "\"tool_choice\":\"none\","
	    "\"stream_options\":{\"include_usage\":true}}");
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		       "\"tools\":[{\"googleSearch\":{}}]}",
	    "tools[0]", "unsupported_parameter", "googleSearch");
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		       "\"tools\":[{\"functionDeclarations\":[]},"
		       "{\"exaAiSearch\":{}}]}",
	    "tools[1]", "unsupported_parameter", "exaAiSearch");
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		       "\"tools\":[{\"functionDeclarations\":[{\"name\":\"a\","
		       "\"parameters\":{},\"parametersJsonSchema\":{}}]}]}",
	    "tools[0].functionDeclarations[0]", "invalid_value", "not both");
	assert_refused(
	    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	    "\"tools\":[{\"functionDeclarations\":[{\"name\":\"a\"}]}],"
	    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":"
	    "\"SOMETIMES\"}}}",
	    "toolConfig.functionCallingConfig.mode", "invalid_value", NULL);
	assert_refused(
	    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	    "\"tools\":[{\"functionDeclarations\":[{\"name\":\"a\"}]}],"
	    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":"
	    "\"ANY\",\"allowedFunctionNames\":[\"b\"]}}}",
	    "toolConfig.functionCallingConfig.allowedFunctionNames",
	    "invalid_value", "[0] names no");
	assert_refused(
	    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	    "\"tools\":[{\"functionDeclarations\":[{\"name\":\"\"}]}]}",
	    "tools[0].functionDeclarations[0]", "invalid_value", NULL);
}

static void
t_generation_config(void **state)
{
	(void)state;
	assert_pivot(
	    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	    "\"generationConfig\":{"
	    "\"maxOutputTokens\":100,\"temperature\":0.5,\"topP\":0.9,"
	    "\"topK\":40,\"stopSequences\":[\"END\"],\"candidateCount\":2,"
	    "\"seed\":7,\"presencePenalty\":0.1,\"frequencyPenalty\":-0.1,"
	    "\"responseMimeType\":\"application/json\",\"responseSchema\":{"
	    "\"type\":\"OBJECT\",\"properties\":{\"a\":{\"type\":\"NUMBER\"}}},"
	    "\"thinkingConfig\":{\"thinkingBudget\":1024,\"includeThoughts\":"
	    "true},\"responseModalities\":[\"TEXT\"]},"
	    "\"safetySettings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
	    "\"threshold\":\"BLOCK_NONE\"}]}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"max_tokens\":100,\"temperature\":0.5,\"top_p\":0.9,\"top_k\":40,"
	    "\"stop\":[\"END\"],\"n\":2,\"seed\":7,\"presence_penalty\":0.1,"
	    "\"frequency_penalty\":-0.1,\"reasoning_effort\":\"low\","
	    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{"
	    "\"name\":\"response\",\"schema\":{\"type\":\"object\","
	    "\"properties\":{\"a\":{\"type\":\"number\"}}}}},"
	    "\"safetySettings\":[{\"category\":\"HARM_CATEGORY_HARASSMENT\","
	    "\"threshold\":\"BLOCK_NONE\"}],"
	    "\"stream_options\":{\"include_usage\":true}}");
	assert_pivot(
	    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	    "\"generationConfig\":{\"responseMimeType\":"
	    "\"application/json\",\"responseJsonSchema\":{\"type\":"
	    "\"OBJECT\"},\"thinkingConfig\":{\"thinkingLevel\":\"high\"}}}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"reasoning_effort\":\"high\",\"response_format\":{\"type\":"
	    "\"json_schema\",\"json_schema\":{\"name\":\"response\",\"schema\":"
	    "{\"type\":\"OBJECT\"}}},\"stream_options\":{\"include_usage\":"
	    "true}}");
	assert_pivot("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		     "\"generationConfig\":{\"responseMimeType\":"
		     "\"application/json\"}}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"response_format\":{\"type\":\"json_object\"},"
	    "\"stream_options\":{\"include_usage\":true}}");
}

/* thinkingBudget by the documented budgets; -1 (dynamic) sets none. */
static void
t_thinking_budgets(void **state)
{
	static const struct {
		const char *budget, *effort;
	} v[] = {{"0", "none"}, {"1", "low"}, {"1024", "low"},
	    {"1025", "medium"}, {"8192", "medium"}, {"8193", "high"},
	    {"24576", "high"}, {"-1", NULL}};
	char body[256];
	json_t *p;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		snprintf(body, sizeof(body),
		    "{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		    "\"generationConfig\":{\"thinkingConfig\":{"
		    "\"thinkingBudget\":%s}}}",
		    v[i].budget);
		p = pivot(body);
		if (v[i].effort == NULL)
			assert_null(json_object_get(p, "reasoning_effort"));
		else
			assert_str(jx_str(p, "reasoning_effort"), v[i].effort);
		json_decref(p);
	}
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		       "\"generationConfig\":{\"thinkingConfig\":{"
		       "\"thinkingBudget\":-2}}}",
	    "generationConfig.thinkingConfig.thinkingBudget", "invalid_value",
	    NULL);
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		       "\"generationConfig\":{\"thinkingConfig\":{"
		       "\"thinkingBudget\":1,\"thinkingLevel\":\"LOW\"}}}",
	    "generationConfig.thinkingConfig", "invalid_value", "not both");
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		       "\"generationConfig\":{\"thinkingConfig\":{"
		       "\"thinkingLevel\":\"EXTREME\"}}}",
	    "generationConfig.thinkingConfig.thinkingLevel", "invalid_value",
	    NULL);
}

/* proto-JSON reads snake_case at every level; role "function" is the user's. */
static void
t_snake_case(void **state)
{
	(void)state;
	assert_pivot(
	    "{\"contents\":[{\"role\":\"model\",\"parts\":[{\"function_call\":"
	    "{\"name\":\"f\",\"args\":{\"a\":1}}}]},{\"role\":\"function\","
	    "\"parts\":[{\"function_response\":{\"name\":\"f\",\"response\":"
	    "{\"ok\":true}}}]}],\"tools\":[{\"function_declarations\":[{"
	    "\"name\":\"f\",\"parameters_json_schema\":{\"type\":\"object\"}}]}"
	    "],"
	    "\"tool_config\":{\"function_calling_config\":{\"mode\":\"any\","
	    "\"allowed_function_names\":[\"f\"]}},\"generation_config\":{"
	    "\"stop_sequences\":[\"x\"],\"thinking_config\":{"
	    "\"thinking_budget\":9000}},\"safety_settings\":[{\"category\":"
	    "\"C\",\"threshold\":\"T\"}]}",
	    "{\"messages\":[{\"role\":\"assistant\",\"content\":null,"
	    "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\","
	    "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":"
	    "\"{\\\"ok\\\":true}\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
	    "\"parameters\":{\"type\":\"object\"}}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":"
	    "\"f\"}},\"stop\":[\"x\"],\"reasoning_effort\":\"high\","
	    "\"safetySettings\":[{\"category\":\"C\",\"threshold\":\"T\"}],"
	    "\"stream_options\":{\"include_usage\":true}}");
	/* A snake_case name is still checked: an unknown one is refused. */
	assert_refused("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		       "\"generation_config\":{\"max_tokens\":5}}",
	    "generationConfig.max_tokens", "unknown_parameter", "max_tokens");
}

/*
 * Only ASCII capitals are lowered in a schema's type: '_' stays '_' and
 * UTF-8 stays UTF-8 (or'ing 0x20 into every byte made '_' a DEL).
 */
static void
t_schema_type_case(void **state)
{
	(void)state;
	assert_pivot("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		     "\"generationConfig\":{\"responseMimeType\":"
		     "\"application/json\",\"responseSchema\":{\"type\":"
		     "\"TYPE_UNSPECIFIED\",\"items\":{\"type\":\"\u00c9T\"}}}}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
	    "{\"name\":\"response\",\"schema\":{\"type\":"
	    "\"type_unspecified\",\"items\":{\"type\":\"\u00c9t\"}}}},"
	    "\"stream_options\":{\"include_usage\":true}}");
}

/* Every rule of the API a body can break: 400 naming the member. */
static void
t_refusals(void **state)
{
	static const struct {
		const char *body, *param, *code;
	} v[] = {
	    {"[]", NULL, "invalid_type"},
	    {"{}", NULL, "missing_required_parameter"},
	    {"{\"contents\":[]}", "contents", "empty_array"},
	    {"{\"contents\":{}}", "contents", "invalid_type"},
	    {"{\"contents\":[{\"parts\":[]}]}", "contents[0].parts",
		"empty_array"},
	    {"{\"contents\":[{\"role\":\"user\"}]}", "contents[0]",
		"missing_required_parameter"},
	    {"{\"contents\":[{\"role\":\"assistant\",\"parts\":[{\"text\":"
	     "\"x\"}]}]}",
		"contents[0].role", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":5}]}]}",
		"contents[0].parts[0].text", "invalid_type"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\",\"foo\":1}]}]}",
		"contents[0].parts[0].foo", "unknown_parameter"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],\"stream\":true}",
		"stream", "unknown_parameter"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"system_instruction\":\"a\",\"systemInstruction\":\"b\"}",
		"systemInstruction", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"cachedContent\":\"cachedContents/1\"}",
		"cachedContent", "unsupported_parameter"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"temperature\":3}}",
		"generationConfig.temperature", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"candidateCount\":17}}",
		"generationConfig.candidateCount", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"maxOutputTokens\":0}}",
		"generationConfig.maxOutputTokens", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"maxOutputTokens\":1.5}}",
		"generationConfig.maxOutputTokens", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"maxOutputTokens\":\"9\"}}",
		"generationConfig.maxOutputTokens", "invalid_type"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"stopSequences\":[\"a\",\"b\",\"c\","
	     "\"d\",\"e\",\"f\"]}}",
		"generationConfig.stopSequences", "array_above_max_length"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"stopSequences\":[1]}}",
		"generationConfig.stopSequences", "invalid_type"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"speechConfig\":{}}}",
		"generationConfig.speechConfig", "unknown_parameter"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"responseModalities\":[\"IMAGE\"]}}",
		"generationConfig.responseModalities", "unsupported_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"responseSchema\":{}}}",
		"generationConfig.responseMimeType", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"generationConfig\":{\"responseMimeType\":\"text/x.enum\"}}",
		"generationConfig.responseMimeType", "unsupported_value"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"safetySettings\":[{\"threshold\":\"BLOCK_NONE\"}]}",
		"safetySettings[0]", "missing_required_parameter"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"toolConfig\":{\"retrievalConfig\":{}}}",
		"toolConfig.retrievalConfig", "unsupported_parameter"},
	    {"{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
	     "\"systemInstruction\":{\"parts\":[{\"inlineData\":{"
	     "\"mimeType\":\"image/png\",\"data\":\"ab\"}}]}}",
		"systemInstruction.parts[0]", "invalid_value"},
	    {"{\"contents\":[{\"role\":\"model\",\"parts\":[{\"inlineData\":{"
	     "\"mimeType\":\"image/png\",\"data\":\"ab\"}}]}]}",
		"contents[0].parts[0]", "invalid_value"},
	    {"{\"contents\":[{\"parts\":[{\"functionCall\":{\"name\":\"f\"}}]}]"
	     "}",
		"contents[0].parts[0]", "invalid_value"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		assert_refused(v[i].body, v[i].param, v[i].code, NULL);
}

/* Arrays past their caps are refused before anything is built. */
static void
t_caps(void **state)
{
	json_t *in = load("{\"contents\":[{\"parts\":[]}]}"), *parts, *out;
	struct api_refusal why;
	size_t i;

	(void)state;
	parts = json_object_get(
	    json_array_get(json_object_get(in, "contents"), 0), "parts");
	for (i = 0; i < 1025; i++)
		json_array_append_new(parts, json_pack("{s:s}", "text", "a"));
	out = G->to_pivot(in, &why);
	assert_null(out);
	assert_str(why.param, "contents[0].parts");
	assert_str(why.code, "array_above_max_length");
	json_array_remove(parts, 0);
	out = G->to_pivot(in, &why);
	assert_non_null(out);
	json_decref(out);
	json_decref(in);
	/* 512 function declarations in all, however many tools hold them. */
	in = load("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		  "\"tools\":[{\"functionDeclarations\":[]},"
		  "{\"functionDeclarations\":[]}]}");
	for (i = 0; i < 512; i++)
		json_array_append_new(
		    json_object_get(
			json_array_get(json_object_get(in, "tools"), i % 2),
			"functionDeclarations"),
		    json_pack("{s:s}", "name", "f"));
	out = G->to_pivot(in, &why);
	assert_non_null(out);
	assert_int_equal(json_array_size(json_object_get(out, "tools")), 512);
	json_decref(out);
	json_array_append_new(
	    json_object_get(json_array_get(json_object_get(in, "tools"), 1),
		"functionDeclarations"),
	    json_pack("{s:s}", "name", "g"));
	assert_null(G->to_pivot(in, &why));
	assert_str(why.param, "tools[1].functionDeclarations");
	assert_str(why.code, "array_above_max_length");
	json_decref(in);
	/* A schema nested past its cap. */
	in = load("{\"contents\":[{\"parts\":[{\"text\":\"x\"}]}],"
		  "\"generationConfig\":{\"responseMimeType\":"
		  "\"application/json\",\"responseSchema\":{}}}");
	parts = json_object_get(
	    json_object_get(in, "generationConfig"), "responseSchema");
	for (i = 0; i < 70; i++) {
		json_object_set_new(parts, "items", json_object());
		parts = json_object_get(parts, "items");
	}
	assert_null(G->to_pivot(in, &why));
	assert_str(why.param, "generationConfig.responseSchema");
	assert_contains(why.msg, "too deep");
	json_decref(in);
}

/*
 * Answers find their calls in time linear in the calls: 16000 calls (what
 * the default 100000-element body cap admits) answered in reverse order by
 * id, then by name.  A scan of every earlier call per answer took about
 * 20 s here; linear takes well under 1 s, so 10 s only a defect breaks.
 */
static double
many_calls(int byid, int n)
{
	json_t *in = json_pack("{s:[]}", "contents"), *cs, *parts = NULL, *p;
	struct api_refusal why;
	struct timespec a, b;
	char id[32];
	int i;

	cs = json_object_get(in, "contents");
	for (i = 0; i < 2 * n; i++) {
		if (i % 1000 == 0) {
			parts = json_array();
			json_array_append_new(cs,
			    json_pack("{s:s, s:o}", "role",
				i < n ? "model" : "user", "parts", parts));
		}
		snprintf(id, sizeof(id), "i%d", i < n ? i : 2 * n - 1 - i);
		json_array_append_new(parts,
		    json_pack("{s:{s:s, s:s*}}",
			i < n ? "functionCall" : "functionResponse", "name",
			"f", "id", byid ? id : NULL));
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	p = G->to_pivot(in, &why);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (p == NULL)
		fail_msg("refused: %s", why.msg);
	assert_int_equal(json_array_size(json_object_get(p, "messages")),
	    (size_t)(n / 1000 + n));
	snprintf(id, sizeof(id), byid ? "i%d" : "call_1", n - 1);
	assert_str(jx_str(json_array_get(json_object_get(p, "messages"),
			      (size_t)(n / 1000)),
		       "tool_call_id"),
	    id);
	json_decref(p);
	json_decref(in);
	return (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
}

static void
t_many_calls(void **state)
{
	double small, big;
	int byid;

	(void)state;
	for (byid = 1; byid >= 0; byid--) {
		small = many_calls(byid, 1000);
		big = many_calls(byid, 8000);
		print_message("%s: 1000 in %.3f s, 8000 in %.3f s\n",
		    byid ? "by id" : "by name", small, big);
		/* Linear: 8 times as long; quadratic: 64. */
		if (big > 1 && big > 30 * small)
			fail_msg("answers found in quadratic time");
	}
}

/* --- streams -------------------------------------------------------------------------- */

#define CH(delta, finish)                                                      \
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","         \
	"\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"             \
	"\"delta\":" delta ",\"finish_reason\":" finish "}]}"

/* An OpenAI stream in, the exact Gemini chunks out. */
static void
t_stream_sequence(void **state)
{
	struct api_state st;
	struct sink s = {.fail_after = -1};

	(void)state;
	memset(&st, 0, sizeof(st));
	st.model = "google/gemini-2.5-flash";
	st.request_id = "req-9";
	chunk_in(
	    &st, &s, CH("{\"role\":\"assistant\",\"content\":\"\"}", "null"));
	chunk_in(&st, &s, CH("{\"reasoning_content\":\"think\"}", "null"));
	chunk_in(&st, &s, CH("{\"content\":\"Hel\"}", "null"));
	chunk_in(&st, &s, CH("{\"content\":\"lo\"}", "null"));
	chunk_in(&st, &s,
	    CH("{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":"
	       "\"function\",\"function\":{\"name\":\"w\",\"arguments\":\"\"}}]"
	       "}",
		"null"));
	chunk_in(&st, &s,
	    CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	       "\"{\\\"city\\\":\"}}]}",
		"null"));
	chunk_in(&st, &s,
	    CH("{\"tool_calls\":[{\"index\":1,\"function\":{\"name\":\"t\","
	       "\"arguments\":\"{}\"}}]}",
		"null"));
	chunk_in(&st, &s,
	    CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	       "\"\\\"Paris\\\"}\"}}]}",
		"null"));
	chunk_in(&st, &s, CH("{}", "\"tool_calls\""));
	assert_int_equal(G->end(&st, &meta, sink_emit, &s), 0);
	assert_string_equal(s.buf,
	    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
	    "[{\"text\":\"think\",\"thought\":true}]},\"index\":0}],"
	    "\"modelVersion\":\"google/gemini-2.5-flash\",\"responseId\":"
	    "\"req-9\"}\n\n"
	    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
	    "[{\"text\":\"Hel\"}]},\"index\":0}],\"modelVersion\":"
	    "\"google/gemini-2.5-flash\",\"responseId\":\"req-9\"}\n\n"
	    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
	    "[{\"text\":\"lo\"}]},\"index\":0}],\"modelVersion\":"
	    "\"google/gemini-2.5-flash\",\"responseId\":\"req-9\"}\n\n"
	    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
	    "[{\"functionCall\":{\"name\":\"w\",\"args\":{\"city\":\"Paris\"},"
	    "\"id\":\"call_a\"}},{\"functionCall\":{\"name\":\"t\",\"args\":{},"
	    "\"id\":\"call_2\"}}]},\"index\":0}],\"modelVersion\":"
	    "\"google/gemini-2.5-flash\",\"responseId\":\"req-9\"}\n\n"
	    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
	    "[{\"text\":\"\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":120,"
	    "\"candidatesTokenCount\":30,\"totalTokenCount\":170,"
	    "\"cachedContentTokenCount\":100,\"thoughtsTokenCount\":20,"
	    "\"cost\":0.00003045},\"gateway_usage\":{\"cost\":\"0.00003045\","
	    "\"balance_after\":\"0.99996955\",\"request_id\":\"req-9\","
	    "\"provider\":\"mock\",\"model\":\"google/gemini-2.5-flash\"},"
	    "\"modelVersion\":\"google/gemini-2.5-flash\",\"responseId\":"
	    "\"req-9\"}\n\n");
}

/* finish_reason to finishReason; a stream cut before one ends with STOP and its calls. */
static void
t_stream_finishes(void **state)
{
	static const struct {
		const char *openai, *gemini;
	} v[] = {{"\"stop\"", "STOP"}, {"\"length\"", "MAX_TOKENS"},
	    {"\"content_filter\"", "SAFETY"}, {"\"tool_calls\"", "STOP"},
	    {"\"weird\"", "OTHER"}, {"null", "STOP"}};
	struct api_state st;
	struct sink s;
	char want[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		memset(&st, 0, sizeof(st));
		memset(&s, 0, sizeof(s));
		s.fail_after = -1;
		if (strcmp(v[i].openai, "\"weird\"") == 0)
			chunk_in(&st, &s, CH("{}", "\"weird\""));
		else if (strcmp(v[i].openai, "null") == 0)
			chunk_in(&st, &s,
			    CH("{\"tool_calls\":[{\"index\":0,\"function\":{"
			       "\"name\":\"f\",\"arguments\":\"[1\"}}]}",
				"null"));
		else
			chunk_in(&st, &s,
			    "{\"choices\":[{\"index\":0,\"delta\":"
			    "{\"content\":\"x\"},\"finish_reason\":"
			    "null}]}");
		if (strcmp(v[i].openai, "\"weird\"") != 0 &&
		    strcmp(v[i].openai, "null") != 0) {
			char c[200];

			snprintf(c, sizeof(c),
			    "{\"choices\":[{\"index\":0,\"delta\":{},"
			    "\"finish_reason\":%s}]}",
			    v[i].openai);
			chunk_in(&st, &s, c);
		}
		assert_int_equal(G->end(&st, &meta, sink_emit, &s), 0);
		snprintf(
		    want, sizeof(want), "\"finishReason\":\"%s\"", v[i].gemini);
		assert_contains(s.buf, want);
		assert_null(
		    strstr(strstr(s.buf, want) + strlen(want), "finishReason"));
	}
	/* The cut call's arguments, not an object, are kept whole. */
	assert_contains(s.buf,
	    "{\"functionCall\":{\"name\":\"f\",\"args\":{"
	    "\"arguments\":\"[1\"},\"id\":\"call_1\"}}");
}

/* Two candidates (candidateCount 2) keep their indexes. */
static void
t_stream_candidates(void **state)
{
	struct api_state st;
	struct sink s = {.fail_after = -1};

	(void)state;
	memset(&st, 0, sizeof(st));
	chunk_in(&st, &s,
	    "{\"choices\":[{\"index\":1,\"delta\":{\"content\":"
	    "\"b\"},\"finish_reason\":\"length\"},{\"index\":0,"
	    "\"delta\":{\"content\":\"a\"},\"finish_reason\":"
	    "\"stop\"},{\"index\":99,\"delta\":{\"content\":"
	    "\"z\"}}]}");
	assert_int_equal(G->end(&st, &meta, sink_emit, &s), 0);
	assert_contains(s.buf,
	    "data: {\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":"
	    "[{\"text\":\"b\"}]},\"index\":1},{\"content\":{\"role\":\"model\","
	    "\"parts\":[{\"text\":\"a\"}]},\"index\":0}]}\n\n");
	assert_contains(s.buf, "\"finishReason\":\"STOP\",\"index\":0},{");
	assert_contains(s.buf, "\"finishReason\":\"MAX_TOKENS\",\"index\":1}]");
	assert_not_contains(s.buf, "\"z\"");
}

/* A client gone (emit fails) is -1; release frees what was buffered. */
static void
t_stream_gone(void **state)
{
	struct api_state st;
	struct sink s = {.fail_after = 0};
	json_t *c;

	(void)state;
	memset(&st, 0, sizeof(st));
	c = load(CH("{\"tool_calls\":[{\"index\":0,\"id\":\"x\",\"function\":{"
		    "\"name\":\"f\",\"arguments\":\"{\"}}]}",
	    "null"));
	assert_int_equal(G->chunk(&st, c, sink_emit, &s), 0); /* buffered */
	json_decref(c);
	c = load(CH("{\"content\":\"x\"}", "null"));
	assert_int_equal(G->chunk(&st, c, sink_emit, &s), -1);
	json_decref(c);
	G->release(&st);
	G->release(&st);
}

static void
t_stream_error(void **state)
{
	struct api_state st;
	struct sink s = {.fail_after = -1};

	(void)state;
	memset(&st, 0, sizeof(st));
	st.model = "m";
	assert_int_equal(
	    G->stream_error(&st, 502, "server_error", "upstream_error",
		"the provider failed", sink_emit, &s),
	    0);
	assert_string_equal(s.buf,
	    "data: {\"error\":{\"code\":502,\"message\":\"the provider "
	    "failed\","
	    "\"status\":\"UNAVAILABLE\",\"type\":\"server_error\","
	    "\"param\":null,\"details\":[{\"@type\":\"type.googleapis.com/"
	    "google.rpc."
	    "ErrorInfo\",\"reason\":\"upstream_error\",\"domain\":"
	    "\"tollgate\"}]}}\n\n");
}

/* --- answers and errors --------------------------------------------------------------- */

static void
t_answer(void **state)
{
	json_t *c, *a;
	char *s;

	(void)state;
	c = load(
	    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","
	    "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\","
	    "\"reasoning_content\":\"hmm\",\"tool_calls\":[{\"id\":"
	    "\"call_x\",\"type\":\"function\",\"function\":{\"name\":\"w\","
	    "\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":"
	    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1}}");
	a = G->answer(c, &meta);
	assert_non_null(a);
	s = api_dump(a, &meta);
	assert_string_equal(s,
	    "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
	    "{\"text\":\"hmm\",\"thought\":true},{\"text\":\"Hi\"},"
	    "{\"functionCall\":{\"name\":\"w\",\"args\":{\"a\":1},\"id\":"
	    "\"call_x\"}}]},\"finishReason\":\"STOP\",\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":120,"
	    "\"candidatesTokenCount\":30,\"totalTokenCount\":170,"
	    "\"cachedContentTokenCount\":100,\"thoughtsTokenCount\":20,"
	    "\"cost\":0.00003045},\"modelVersion\":\"google/gemini-2.5-flash\","
	    "\"responseId\":\"req-9\",\"gateway_usage\":{\"cost\":"
	    "\"0.00003045\",\"balance_after\":\"0.99996955\",\"request_id\":"
	    "\"req-9\",\"provider\":\"mock\",\"model\":"
	    "\"google/gemini-2.5-flash\"}}");
	free(s);
	json_decref(a);
	json_decref(c);
	/* An empty answer still has a text part; length is MAX_TOKENS. */
	c = load(
	    "{\"choices\":[{\"index\":0,\"message\":{\"role\":"
	    "\"assistant\",\"content\":null},\"finish_reason\":\"length\"}]}");
	a = G->answer(c, &meta);
	s = jx_dump(json_array_get(json_object_get(a, "candidates"), 0));
	assert_string_equal(s,
	    "{\"content\":{\"role\":\"model\",\"parts\":["
	    "{\"text\":\"\"}]},\"finishReason\":"
	    "\"MAX_TOKENS\",\"index\":0}");
	free(s);
	json_decref(a);
	json_decref(c);
}

static void
t_error(void **state)
{
	static const struct {
		int status;
		const char *name;
	} v[] = {{400, "INVALID_ARGUMENT"}, {401, "UNAUTHENTICATED"},
	    {402, "FAILED_PRECONDITION"}, {403, "PERMISSION_DENIED"},
	    {404, "NOT_FOUND"}, {413, "INVALID_ARGUMENT"},
	    {429, "RESOURCE_EXHAUSTED"}, {500, "INTERNAL"},
	    {503, "UNAVAILABLE"}, {504, "DEADLINE_EXCEEDED"},
	    {418, "FAILED_PRECONDITION"}, {599, "INTERNAL"}};
	json_t *e, *o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		e = G->error(v[i].status, "invalid_request_error", "bad",
		    "contents[0]", "nope");
		o = json_object_get(e, "error");
		assert_int_equal(json_integer_value(json_object_get(o, "code")),
		    v[i].status);
		assert_str(jx_str(o, "status"), v[i].name);
		assert_str(jx_str(o, "message"), "nope");
		assert_str(jx_str(o, "type"), "invalid_request_error");
		assert_str(jx_str(o, "param"), "contents[0]");
		json_decref(e);
	}
	e = G->error(401, "invalid_request_error", NULL, NULL, "who?");
	o = json_object_get(e, "error");
	assert_null(json_object_get(o, "details"));
	assert_true(json_is_null(json_object_get(o, "param")));
	json_decref(e);
}

/* --- native (a Gemini provider) ------------------------------------------------------- */

static void
t_native(void **state)
{
	const char *mid = "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
			  "\"a\"}],\"role\":\"model\"},\"index\":0}],"
			  "\"usageMetadata\":{\"promptTokenCount\":4}}";
	const char *last = "{\"candidates\":[{\"content\":{\"parts\":[{"
			   "\"text\":\"b\"}],\"role\":\"model\"},"
			   "\"finishReason\":\"STOP\",\"index\":0}],"
			   "\"usageMetadata\":{\"promptTokenCount\":4,"
			   "\"candidatesTokenCount\":2,\"totalTokenCount\":6}}";
	struct sink s = {.fail_after = -1};
	struct api_state st;
	json_t *m = load(mid), *l = load(last), *held, *a;
	char *d;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(G->native_hold(NULL, m), 0);
	assert_int_equal(G->native_hold(NULL, l), 1);
	a = load("{\"promptFeedback\":{\"blockReason\":\"SAFETY\"}}");
	assert_int_equal(G->native_hold(NULL, a), 1);
	json_decref(a);
	a = load("{\"error\":{\"code\":500}}");
	assert_int_equal(G->native_hold(NULL, a), 0);
	json_decref(a);
	held = json_pack(
	    "[{s:n, s:O}, {s:n, s:O}]", "event", "data", m, "event", "data", l);
	assert_int_equal(G->native_end(&st, held, &meta, sink_emit, &s), 0);
	assert_string_equal(s.buf,
	    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"a\"}],"
	    "\"role\":\"model\"},\"index\":0}],\"usageMetadata\":{"
	    "\"promptTokenCount\":4}}\n\n"
	    "data: {\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"b\"}],"
	    "\"role\":\"model\"},\"finishReason\":\"STOP\",\"index\":0}],"
	    "\"usageMetadata\":{\"promptTokenCount\":4,"
	    "\"candidatesTokenCount\":"
	    "2,\"totalTokenCount\":6,\"cost\":0.00003045},\"gateway_usage\":{"
	    "\"cost\":\"0.00003045\",\"balance_after\":\"0.99996955\","
	    "\"request_id\":\"req-9\",\"provider\":\"mock\",\"model\":"
	    "\"google/gemini-2.5-flash\"}}\n\n");
	/* The held events are the relay's: unchanged. */
	assert_null(json_object_get(
	    json_object_get(json_array_get(held, 1), "data"), "gateway_usage"));
	json_decref(held);
	/* Nothing held: the cost still reaches the client. */
	memset(&s, 0, sizeof(s));
	s.fail_after = -1;
	held = json_array();
	assert_int_equal(G->native_end(&st, held, &meta, sink_emit, &s), 0);
	assert_contains(s.buf, "\"usageMetadata\":{\"promptTokenCount\":120,");
	assert_contains(s.buf, "\"cost\":0.00003045}");
	json_decref(held);
	/* A whole answer. */
	G->native_answer(l, &meta);
	d = api_dump(l, &meta);
	assert_contains(d, "\"totalTokenCount\":6,\"cost\":0.00003045}");
	assert_contains(d, "\"gateway_usage\":{\"cost\":\"0.00003045\"");
	free(d);
	json_decref(m);
	json_decref(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_text),
	    cmocka_unit_test(t_function_calls),
	    cmocka_unit_test(t_media),
	    cmocka_unit_test(t_tools),
	    cmocka_unit_test(t_generation_config),
	    cmocka_unit_test(t_thinking_budgets),
	    cmocka_unit_test(t_snake_case),
	    cmocka_unit_test(t_schema_type_case),
	    cmocka_unit_test(t_refusals),
	    cmocka_unit_test(t_caps),
	    cmocka_unit_test(t_many_calls),
	    cmocka_unit_test(t_stream_sequence),
	    cmocka_unit_test(t_stream_finishes),
	    cmocka_unit_test(t_stream_candidates),
	    cmocka_unit_test(t_stream_gone),
	    cmocka_unit_test(t_stream_error),
	    cmocka_unit_test(t_answer),
	    cmocka_unit_test(t_error),
	    cmocka_unit_test(t_native),
	};

	return cmocka_run_group_tests_name("api_gemini", tests, NULL, NULL);
}
