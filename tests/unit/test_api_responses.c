/* test_api_responses.c: the Responses API codec: requests to the pivot, chunks to events, answers */
#include "test_common.h"

#include "core/json.h"
#include "prov/api.h"

/*
 * api.c names every client codec; until the others are merged, these stand
 * in for them (weak: the real ones win once they are in the library).
 */
__attribute__((weak))
const struct api_ops api_anthropic_ops = {.wire = WIRE_ANTHROPIC};
__attribute__((weak))
const struct api_ops api_gemini_ops = {.wire = WIRE_GEMINI};

static const struct api_ops *R = &api_responses_ops;

static json_t *
load(const char *s)
{
	json_t *o = json_loads(s, JSON_DECODE_ANY, NULL);

	if (o == NULL)
		fail_msg("bad test JSON: %s", s);
	return o;
}

/* The pivot of a body is exactly want. */
static void
pivot_is(const char *body, const char *want)
{
	struct api_refusal why;
	json_t *in = load(body), *w = load(want), *p;
	char *s;

	p = R->to_pivot(in, &why);
	if (p == NULL)
		fail_msg("refused %s: %s (param %s)", body, why.msg,
		    why.param ? why.param : "-");
	if (!json_equal(p, w)) {
		s = json_dumps(p, JSON_COMPACT);
		fail_msg("pivot of %s\n is %s\n not %s", body, s, want);
	}
	json_decref(p);
	json_decref(w);
	json_decref(in);
}

/* The body is refused (a 400) naming param, with code and msg saying so. */
static void
refused(
    const char *body, const char *param, const char *code, const char *msg_part)
{
	struct api_refusal why;
	json_t *in = load(body), *p;

	p = R->to_pivot(in, &why);
	if (p != NULL)
		fail_msg("not refused: %s", body);
	if (param == NULL)
		assert_null(why.param);
	else
		assert_str(why.param, param);
	if (code != NULL)
		assert_str(why.code, code);
	assert_contains(why.msg, msg_part);
	json_decref(in);
}

static void
t_input_string(void **state)
{
	(void)state;
	pivot_is("{\"model\":\"m\",\"input\":\"hi\"}",
	    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	    "\"model\":\"m\"}");
	/* instructions come first whatever the member order */
	pivot_is("{\"input\":\"hi\",\"instructions\":\"be terse\","
		 "\"model\":\"m\"}",
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"system\",\"content\":"
	    "\"be terse\"},{\"role\":\"user\",\"content\":\"hi\"}]}");
}

static void
t_input_items(void **state)
{
	(void)state;
	pivot_is(
	    "{\"model\":\"m\",\"input\":["
	    "{\"role\":\"developer\",\"content\":\"sys\"},"
	    "{\"type\":\"message\",\"role\":\"user\",\"content\":["
	    "{\"type\":\"input_text\",\"text\":\"what is this?\"},"
	    "{\"type\":\"input_image\",\"image_url\":"
	    "\"data:image/png;base64,iVBO\",\"detail\":\"low\"}]},"
	    "{\"type\":\"message\",\"role\":\"assistant\",\"id\":\"msg_1\","
	    "\"status\":\"completed\",\"content\":[{\"type\":"
	    "\"output_text\",\"text\":\"a cat\",\"annotations\":[]}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"c1\",\"name\":\"f\","
	    "\"arguments\":\"{\\\"a\\\":1}\",\"id\":\"fc_1\"},"
	    "{\"type\":\"function_call\",\"call_id\":\"c2\",\"name\":\"g\","
	    "\"arguments\":\"{}\"},"
	    "{\"type\":\"reasoning\",\"id\":\"rs_1\",\"summary\":[],"
	    "\"encrypted_content\":\"xx\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"c1\","
	    "\"output\":\"42\"},"
	    "{\"type\":\"function_call_output\",\"call_id\":\"c2\","
	    "\"output\":[{\"type\":\"input_text\",\"text\":\"ok\"}]},"
	    "{\"type\":\"function_call\",\"call_id\":\"c3\",\"name\":\"h\","
	    "\"arguments\":\"\"}]}",
	    "{\"model\":\"m\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"sys\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"what is this?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,iVBO\",\"detail\":\"low\"}}]},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"a cat\"}],\"tool_calls\":["
	    "{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
	    "\"arguments\":\"{\\\"a\\\":1}\"}},"
	    "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"g\","
	    "\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"42\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"ok\"}]},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
	    "{\"id\":\"c3\",\"type\":\"function\",\"function\":{\"name\":\"h\","
	    "\"arguments\":\"\"}}]}]}");
}

static void
t_params(void **state)
{
	(void)state;
	pivot_is("{\"model\":\"m\",\"input\":\"q\",\"stream\":true,"
		 "\"max_output_tokens\":100,\"temperature\":0.5,\"top_p\":1,"
		 "\"parallel_tool_calls\":false,\"user\":\"u1\","
		 "\"metadata\":{\"k\":\"v\"},\"store\":false,"
		 "\"previous_response_id\":null,\"background\":false,"
		 "\"reasoning\":{\"effort\":\"low\",\"summary\":\"auto\"},"
		 "\"include\":[\"reasoning.encrypted_content\"],"
		 "\"truncation\":\"disabled\",\"prompt_cache_key\":\"pk\","
		 "\"safety_identifier\":\"s\",\"service_tier\":\"default\","
		 "\"stream_options\":{\"include_obfuscation\":false},"
		 "\"text\":{\"format\":{\"type\":\"json_object\"},"
		 "\"verbosity\":\"low\"}}",
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"q\"}],\"stream\":true,\"stream_options\":{\"include_usage\":"
	    "true},\"max_tokens\":100,\"temperature\":0.5,\"top_p\":1,"
	    "\"parallel_tool_calls\":false,\"user\":\"u1\","
	    "\"reasoning_effort\":\"low\",\"prompt_cache_key\":\"pk\","
	    "\"safety_identifier\":\"s\",\"service_tier\":\"default\","
	    "\"verbosity\":\"low\",\"response_format\":{\"type\":"
	    "\"json_object\"}}");
	/* stream false: no stream_options (OpenAI refuses them then) */
	pivot_is("{\"model\":\"m\",\"input\":\"q\",\"stream\":false}",
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"q\"}],\"stream\":false}");
	pivot_is("{\"model\":\"m\",\"input\":\"q\",\"text\":{\"format\":{"
		 "\"type\":\"json_schema\",\"name\":\"s\",\"strict\":true,"
		 "\"description\":\"d\",\"schema\":{\"type\":\"object\"}}}}",
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"q\"}],\"response_format\":{\"type\":\"json_schema\","
	    "\"json_schema\":{\"name\":\"s\",\"schema\":{\"type\":\"object\"},"
	    "\"description\":\"d\",\"strict\":true}}}");
}

static void
t_tools(void **state)
{
	(void)state;
	pivot_is("{\"model\":\"m\",\"input\":\"q\",\"tools\":[{\"type\":"
		 "\"function\",\"name\":\"get\",\"description\":\"d\","
		 "\"parameters\":{\"type\":\"object\"},\"strict\":true},"
		 "{\"type\":\"function\",\"name\":\"bare\"}],"
		 "\"tool_choice\":{\"type\":\"function\",\"name\":\"get\"}}",
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"q\"}],\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get\",\"description\":\"d\",\"parameters\":{\"type\":"
	    "\"object\"},\"strict\":true}},{\"type\":\"function\","
	    "\"function\":{\"name\":\"bare\"}}],\"tool_choice\":{\"type\":"
	    "\"function\",\"function\":{\"name\":\"get\"}}}");
	pivot_is("{\"model\":\"m\",\"input\":\"q\",\"tool_choice\":"
		 "\"required\"}",
	    "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":"
	    "\"q\"}],\"tool_choice\":\"required\"}");
}

static void
t_refusals(void **state)
{
	(void)state;
	refused("[1]", NULL, "invalid_type", "JSON object");
	refused("{\"input\":\"q\"}", "model", "missing_required_parameter",
	    "model");
	refused("{\"model\":\"m\"}", "input", "missing_required_parameter",
	    "input");
	refused("{\"model\":\"m\",\"input\":\"q\",\"store\":true}", "store",
	    "unsupported_parameter", "keeps no responses");
	refused("{\"model\":\"m\",\"input\":\"q\",\"previous_response_id\":"
		"\"resp_1\"}",
	    "previous_response_id", "unsupported_parameter",
	    "keeps no responses");
	refused("{\"model\":\"m\",\"input\":\"q\",\"background\":true}",
	    "background", "unsupported_parameter", "background");
	refused("{\"model\":\"m\",\"input\":\"q\",\"conversation\":\"c\"}",
	    "conversation", "unsupported_parameter", "conversation");
	refused("{\"model\":\"m\",\"input\":\"q\",\"top_logprobs\":2}",
	    "top_logprobs", "unknown_parameter", "top_logprobs");
	refused("{\"model\":\"m\",\"input\":\"q\",\"max_output_tokens\":"
		"\"9\"}",
	    "max_output_tokens", "invalid_type", "a string");
	refused("{\"model\":\"m\",\"input\":\"q\",\"max_output_tokens\":0}",
	    "max_output_tokens", "invalid_value", "at least 1");
	refused(
	    "{\"model\":7,\"input\":\"q\"}", "model", "invalid_type", "model");
	refused("{\"model\":\"m\",\"input\":[]}", "input", "invalid_value",
	    "no messages");
	refused("{\"model\":\"m\",\"input\":[\"x\"]}", "input[0]",
	    "invalid_type", "an object");
	refused("{\"model\":\"m\",\"input\":[{\"role\":\"tool\","
		"\"content\":\"x\"}]}",
	    "input[0].role", "invalid_value", "'tool'");
	refused("{\"model\":\"m\",\"input\":[{\"content\":\"x\"}]}",
	    "input[0].role", "missing_required_parameter", "role");
	refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\"}]}",
	    "input[0].content", "missing_required_parameter", "content");
	refused("{\"model\":\"m\",\"input\":[{\"type\":\"item_reference\","
		"\"id\":\"x\"}]}",
	    "input[0]", "invalid_value", "item_reference");
	refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":"
		"[{\"type\":\"input_file\",\"file_id\":\"f\"}]}]}",
	    "input[0].content[0]", "invalid_value", "keeps no files");
	refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":"
		"[{\"type\":\"input_image\",\"file_id\":\"f\"}]}]}",
	    "input[0].content[0]", "unsupported_parameter", "file_id");
	refused("{\"model\":\"m\",\"input\":[{\"role\":\"system\",\"content\":"
		"[{\"type\":\"input_image\",\"image_url\":\"https://x/i\"}]}]}",
	    "input[0].content[0]", "invalid_value", "user messages");
	refused("{\"model\":\"m\",\"input\":[{\"role\":\"user\",\"content\":"
		"[{\"type\":\"input_text\",\"text\":5}]}]}",
	    "input[0].content[0].text", "invalid_type", "an integer");
	refused("{\"model\":\"m\",\"input\":[{\"type\":\"function_call\","
		"\"name\":\"f\",\"arguments\":\"{}\"}]}",
	    "input[0].call_id", "missing_required_parameter", "call_id");
	refused("{\"model\":\"m\",\"input\":[{\"type\":"
		"\"function_call_output\",\"call_id\":\"c\",\"output\":[{"
		"\"type\":\"input_image\",\"image_url\":\"https://x/i\"}]}]}",
	    "input[0].output[0]", "invalid_value", "input_image");
	refused("{\"model\":\"m\",\"input\":\"q\",\"tools\":[{\"type\":"
		"\"web_search\"}]}",
	    "tools[0].type", "invalid_value", "'web_search'");
	refused("{\"model\":\"m\",\"input\":\"q\",\"tools\":[{\"type\":"
		"\"function\"}]}",
	    "tools[0].name", "missing_required_parameter", "name");
	refused("{\"model\":\"m\",\"input\":\"q\",\"tools\":[{\"type\":"
		"\"function\",\"name\":\"f\",\"parameters\":[]}]}",
	    "tools[0].parameters", "invalid_type", "an array");
	refused("{\"model\":\"m\",\"input\":\"q\",\"tool_choice\":\"any\"}",
	    "tool_choice", "invalid_value", "'any'");
	refused("{\"model\":\"m\",\"input\":\"q\",\"tool_choice\":{\"type\":"
		"\"web_search\"}}",
	    "tool_choice.type", "invalid_value", "web_search");
	refused("{\"model\":\"m\",\"input\":\"q\",\"text\":{\"format\":{"
		"\"type\":\"xml\"}}}",
	    "text.format.type", "invalid_value", "'xml'");
	refused("{\"model\":\"m\",\"input\":\"q\",\"text\":{\"format\":{"
		"\"type\":\"json_schema\",\"name\":\"s\"}}}",
	    "text.format.schema", "missing_required_parameter", "schema");
	refused("{\"model\":\"m\",\"input\":\"q\",\"metadata\":{\"k\":1}}",
	    "metadata.k", "invalid_type", "a string");
	refused("{\"model\":\"m\",\"input\":\"q\",\"truncation\":\"x\"}",
	    "truncation", "invalid_value", "'x'");
	refused("{\"model\":\"m\",\"input\":\"q\",\"reasoning\":{\"effort\":"
		"1}}",
	    "reasoning.effort", "invalid_type", "an integer");
}

/* Arrays past their caps are refused before anything is built. */
static void
t_caps(void **state)
{
	struct api_refusal why;
	json_t *in, *arr;
	int i;

	(void)state;
	in = load("{\"model\":\"m\"}");
	arr = json_array();
	for (i = 0; i < 4097; i++)
		json_array_append_new(arr, json_string("x"));
	json_object_set_new(in, "input", arr);
	assert_null(R->to_pivot(in, &why));
	assert_str(why.param, "input");
	assert_str(why.code, "array_above_max_length");
	arr = json_array();
	for (i = 0; i < 129; i++)
		json_array_append_new(arr,
		    json_pack("{s:s, s:s}", "type", "function", "name", "f"));
	json_object_set_new(in, "input", json_string("q"));
	json_object_set_new(in, "tools", arr);
	assert_null(R->to_pivot(in, &why));
	assert_str(why.param, "tools");
	json_decref(in);
}

/* ---- streams ------------------------------------------------------- */

/* What the codec emitted: [{"event": name, "data": parsed}] */
static int
record(void *arg, const char *event, const char *data, size_t len)
{
	json_t *ev = json_loadb(data, len, 0, NULL);

	if (ev == NULL)
		fail_msg("emitted data is not JSON: %.*s", (int)len, data);
	json_array_append_new((json_t *)arg,
	    json_pack("{s:s?, s:o, s:s%}", "event", event, "data", ev, "raw",
		data, len));
	return 0;
}

static int
gone(void *arg, const char *event, const char *data, size_t len)
{
	return -1;
}

static void
state_init(struct api_state *st, struct arena *a)
{
	memset(st, 0, sizeof(*st));
	st->model = "openai/gpt-4o-mini";
	st->request_id = "0123abcd";
	st->created = 1735689600;
	st->arena = a;
}

static void
feed(struct api_state *st, json_t *rec, const char *chunk)
{
	json_t *c = load(chunk);

	assert_int_equal(R->chunk(st, c, record, rec), 0);
	json_decref(c);
}

/*
 * The event names in order, and for each: the SSE event name is its type,
 * sequence numbers count up from 0.
 */
static void
names_are(const json_t *rec, const char *const *want, size_t n)
{
	const json_t *e, *d;
	size_t i;

	json_array_foreach(rec, i, e) {
		d = json_object_get(e, "data");
		if (i >= n)
			fail_msg(
			    "more events than expected: %s", jx_str(d, "type"));
		assert_str(jx_str(e, "event"), want[i]);
		assert_str(jx_str(d, "type"), want[i]);
		assert_int_equal(
		    json_integer_value(json_object_get(d, "sequence_number")),
		    (json_int_t)i);
	}
	assert_int_equal(json_array_size(rec), n);
}

static const json_t *
ev_data(const json_t *rec, size_t i)
{
	return json_object_get(json_array_get(rec, i), "data");
}

/* ev[i].data at path (dot separated, numbers index arrays) equals want. */
static void
at_is(const json_t *rec, size_t i, const char *path, const char *want)
{
	const json_t *v = ev_data(rec, i);
	char buf[256], *tok, *save = NULL;
	json_t *w = load(want);
	char *s;

	snprintf(buf, sizeof(buf), "%s", path);
	for (tok = strtok_r(buf, ".", &save); tok != NULL;
	     tok = strtok_r(NULL, ".", &save))
		v = isdigit((unsigned char)tok[0])
		    ? json_array_get(v, strtoul(tok, NULL, 10))
		    : json_object_get(v, tok);
	if (v == NULL || !json_equal(v, w)) {
		s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)
			      : NULL;
		fail_msg("event %zu %s is %s, not %s", i, path,
		    s ? s : "(absent)", want);
	}
	json_decref(w);
}

static const struct token_counts usage7 = {.prompt = 19,
    .completion = 10,
    .cached = 4,
    .cache_write = 2,
    .reasoning = 3,
    .upstream_cost = -1,
    .present = 1};

/* The last event's text as emitted. */
static const char *
end_text(const json_t *rec)
{
	return jx_str(json_array_get(rec, json_array_size(rec) - 1), "raw");
}

#define C0                                                                     \
	"{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"choices\":[{"    \
	"\"index\":0,\"delta\":"

static void
t_stream_text(void **state)
{
	static const char *const want[] = {
	    "response.created",
	    "response.in_progress",
	    "response.output_item.added",
	    "response.content_part.added",
	    "response.output_text.delta",
	    "response.output_text.delta",
	    "response.output_text.done",
	    "response.content_part.done",
	    "response.output_item.done",
	    "response.completed",
	};
	struct arena *a = arena_new(0);
	struct api_state st;
	struct api_meta m = {"0123abcd", "prov", "openai/gpt-4o-mini", 1234567,
	    98765, &usage7, NULL};
	json_t *rec = json_array();

	(void)state;
	state_init(&st, a);
	feed(&st, rec,
	    C0 "{\"role\":\"assistant\",\"content\":\"\"},"
	       "\"finish_reason\":null}],\"usage\":null}");
	feed(&st, rec, C0 "{\"content\":\"Hel\"},\"finish_reason\":null}]}");
	feed(&st, rec, C0 "{\"content\":\"lo!\"},\"finish_reason\":null}]}");
	feed(&st, rec, C0 "{},\"finish_reason\":\"stop\"}]}");
	assert_int_equal(R->end(&st, &m, record, rec), 0);
	names_are(rec, want, 10);
	at_is(rec, 0, "response.id", "\"resp_0123abcd\"");
	at_is(rec, 0, "response.status", "\"in_progress\"");
	at_is(rec, 0, "response.object", "\"response\"");
	at_is(rec, 0, "response.created_at", "1735689600");
	at_is(rec, 0, "response.output", "[]");
	at_is(rec, 0, "response.store", "false");
	at_is(rec, 0, "response.model", "\"openai/gpt-4o-mini\"");
	at_is(rec, 2, "item",
	    "{\"id\":\"msg_0123abcd_0\",\"type\":\"message\",\"status\":"
	    "\"in_progress\",\"role\":\"assistant\",\"content\":[]}");
	at_is(rec, 2, "output_index", "0");
	at_is(rec, 3, "part",
	    "{\"type\":\"output_text\",\"annotations\":[],\"logprobs\":[],"
	    "\"text\":\"\"}");
	at_is(rec, 4, "delta", "\"Hel\"");
	at_is(rec, 4, "item_id", "\"msg_0123abcd_0\"");
	at_is(rec, 4, "content_index", "0");
	at_is(rec, 5, "delta", "\"lo!\"");
	at_is(rec, 6, "text", "\"Hello!\"");
	at_is(rec, 7, "part.text", "\"Hello!\"");
	at_is(rec, 8, "item.status", "\"completed\"");
	at_is(rec, 8, "item.content.0.text", "\"Hello!\"");
	at_is(rec, 9, "response.status", "\"completed\"");
	at_is(rec, 9, "response.output.0.content.0.text", "\"Hello!\"");
	at_is(rec, 9, "response.usage",
	    "{\"input_tokens\":19,\"input_tokens_details\":{\"cached_tokens\":"
	    "4,\"cache_write_tokens\":2},\"output_tokens\":10,"
	    "\"output_tokens_details\":{\"reasoning_tokens\":3},"
	    "\"total_tokens\":29,\"cost\":0.001234567}");
	at_is(rec, 9, "response.gateway_usage.cost", "\"0.001234567\"");
	at_is(rec, 9, "response.gateway_usage.request_id", "\"0123abcd\"");
	at_is(rec, 9, "response.incomplete_details", "null");
	/* the cost is an exact decimal in the text, not a binary float */
	assert_contains(end_text(rec), "\"cost\":0.001234567}");
	json_decref(rec);
	arena_free(a);
}

static void
t_stream_tools_reasoning(void **state)
{
	static const char *const want[] = {
	    "response.created",
	    "response.in_progress",
	    "response.output_item.added",
	    "response.content_part.added",
	    "response.reasoning_text.delta",
	    "response.reasoning_text.done",
	    "response.content_part.done",
	    "response.output_item.done",
	    "response.output_item.added",
	    "response.function_call_arguments.delta",
	    "response.function_call_arguments.delta",
	    "response.output_item.added",
	    "response.function_call_arguments.delta",
	    "response.function_call_arguments.done",
	    "response.output_item.done",
	    "response.function_call_arguments.done",
	    "response.output_item.done",
	    "response.completed",
	};
	struct api_state st;
	struct api_meta m = {"0123abcd", "prov", "x/m", 5, 0, &usage7, NULL};
	json_t *rec = json_array();

	(void)state;
	/* no arena: the codec mallocs, and end frees (ASan would tell) */
	state_init(&st, NULL);
	feed(&st, rec,
	    C0 "{\"role\":\"assistant\",\"reasoning_content\":"
	       "\"think\"}}]}");
	feed(&st, rec,
	    C0 "{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\","
	       "\"type\":\"function\",\"function\":{\"name\":"
	       "\"get\",\"arguments\":\"{\\\"c\\\":\"}}]}}]}");
	feed(&st, rec,
	    C0 "{\"tool_calls\":[{\"index\":0,\"function\":{"
	       "\"arguments\":\"1}\"}}]}}]}");
	feed(&st, rec,
	    C0 "{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\","
	       "\"type\":\"function\",\"function\":{\"name\":"
	       "\"put\",\"arguments\":\"{}\"}}]}}]}");
	feed(&st, rec, C0 "{},\"finish_reason\":\"tool_calls\"}]}");
	assert_int_equal(R->end(&st, &m, record, rec), 0);
	names_are(rec, want, sizeof(want) / sizeof(want[0]));
	at_is(rec, 2, "item",
	    "{\"id\":\"rs_0123abcd_0\",\"type\":\"reasoning\",\"status\":"
	    "\"in_progress\",\"summary\":[],\"content\":[]}");
	at_is(rec, 3, "part", "{\"type\":\"reasoning_text\",\"text\":\"\"}");
	at_is(rec, 5, "text", "\"think\"");
	at_is(rec, 8, "item",
	    "{\"id\":\"fc_0123abcd_1\",\"type\":\"function_call\",\"status\":"
	    "\"in_progress\",\"arguments\":\"\",\"call_id\":\"call_a\","
	    "\"name\":\"get\"}");
	at_is(rec, 8, "output_index", "1");
	at_is(rec, 10, "delta", "\"1}\"");
	at_is(rec, 11, "item.call_id", "\"call_b\"");
	at_is(rec, 13, "arguments", "\"{\\\"c\\\":1}\"");
	at_is(rec, 13, "name", "\"get\"");
	at_is(rec, 13, "item_id", "\"fc_0123abcd_1\"");
	at_is(rec, 15, "arguments", "\"{}\"");
	at_is(rec, 17, "response.output.0.content.0.text", "\"think\"");
	at_is(rec, 17, "response.output.1.arguments", "\"{\\\"c\\\":1}\"");
	at_is(rec, 17, "response.output.2.name", "\"put\"");
	at_is(rec, 17, "response.status", "\"completed\"");
	json_decref(rec);
}

/* finish_reason length: response.incomplete, items incomplete. */
static void
t_stream_incomplete(void **state)
{
	struct arena *a = arena_new(0);
	struct api_state st;
	struct api_meta m = {"r", "p", "x/m", 5, 0, &usage7, NULL};
	json_t *rec = json_array();
	size_t last;

	(void)state;
	state_init(&st, a);
	feed(&st, rec, C0 "{\"content\":\"abc\"},\"finish_reason\":null}]}");
	feed(&st, rec, C0 "{},\"finish_reason\":\"length\"}]}");
	assert_int_equal(R->end(&st, &m, record, rec), 0);
	last = json_array_size(rec) - 1;
	assert_str(jx_str(ev_data(rec, last), "type"), "response.incomplete");
	at_is(rec, last, "response.status", "\"incomplete\"");
	at_is(rec, last, "response.incomplete_details",
	    "{\"reason\":\"max_output_tokens\"}");
	at_is(rec, last, "response.output.0.status", "\"incomplete\"");
	at_is(rec, last - 1, "item.status", "\"incomplete\"");
	json_decref(rec);
	arena_free(a);
}

static void
t_stream_error(void **state)
{
	static const char *const want[] = {
	    "response.created",
	    "response.in_progress",
	    "response.output_item.added",
	    "response.content_part.added",
	    "response.output_text.delta",
	    "error",
	    "response.failed",
	};
	struct api_state st;
	json_t *rec = json_array();

	(void)state;
	state_init(&st, NULL);
	feed(&st, rec, C0 "{\"content\":\"par\"}}]}");
	assert_int_equal(
	    R->stream_error(&st, 502, "server_error", "upstream_error",
		"the provider went away", record, rec),
	    0);
	names_are(rec, want, 7);
	at_is(rec, 5, "code", "\"upstream_error\"");
	at_is(rec, 5, "message", "\"the provider went away\"");
	at_is(rec, 5, "param", "null");
	at_is(rec, 6, "response.status", "\"failed\"");
	at_is(rec, 6, "response.error",
	    "{\"code\":\"upstream_error\",\"message\":\"the provider went "
	    "away\"}");
	at_is(rec, 6, "response.output.0.content.0.text", "\"par\"");
	json_decref(rec);
}

/* A client that left: -1 passes up; nothing leaks (ASan). */
static void
t_stream_gone(void **state)
{
	struct api_state st;
	struct api_meta m = {"r", "p", "x/m", 5, 0, &usage7, NULL};
	json_t *c = load(C0 "{\"content\":\"x\"}}]}");

	(void)state;
	state_init(&st, NULL);
	assert_int_equal(R->chunk(&st, c, gone, NULL), -1);
	assert_int_equal(R->end(&st, &m, gone, NULL), -1);
	json_decref(c);
}

/* The request's parameters are echoed; the API's defaults otherwise. */
static void
t_stream_echo(void **state)
{
	struct api_state st;
	json_t *rec = json_array(),
	       *req =
		   load("{\"model\":\"m\",\"input\":\"q\",\"instructions\":"
			"\"be\",\"max_output_tokens\":9,\"tools\":[{\"type\":"
			"\"function\",\"name\":\"f\"}],\"temperature\":0.5}");
	struct api_meta m = {"r", "p", "x/m", 5, 0, NULL, req};

	(void)state;
	state_init(&st, NULL);
	st.request = req;
	assert_int_equal(R->end(&st, &m, record, rec), 0);
	at_is(rec, 0, "response.instructions", "\"be\"");
	at_is(rec, 0, "response.max_output_tokens", "9");
	at_is(rec, 0, "response.temperature", "0.5");
	at_is(rec, 0, "response.tools.0.name", "\"f\"");
	at_is(rec, 0, "response.tool_choice", "\"auto\"");
	at_is(rec, 0, "response.parallel_tool_calls", "true");
	at_is(rec, 0, "response.text", "{\"format\":{\"type\":\"text\"}}");
	at_is(rec, 0, "response.previous_response_id", "null");
	/* an empty stream still completes, with no output and zero usage */
	at_is(rec, 2, "response.output", "[]");
	at_is(rec, 2, "response.usage.input_tokens", "0");
	json_decref(rec);
	json_decref(req);
}

/* ---- whole answers and errors -------------------------------------- */

static void
t_answer(void **state)
{
	json_t *c = load(
	    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":"
	    "1735689600,\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"Hi\","
	    "\"reasoning_content\":\"hmm\",\"tool_calls\":[{\"id\":\"call_1\","
	    "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
	    "\"{}\"}}]},\"finish_reason\":\"tool_calls\"}],\"usage\":{}}");
	struct api_meta m = {
	    "0123abcd", "prov", "openai/gpt-4o", 1000000000, 5, &usage7, NULL};
	json_t *r, *w;
	char *s;

	(void)state;
	r = R->answer(c, &m);
	assert_non_null(r);
	w = load("[{\"id\":\"rs_0123abcd_0\",\"type\":\"reasoning\",\"status\":"
		 "\"completed\",\"summary\":[],\"content\":[{\"type\":"
		 "\"reasoning_text\",\"text\":\"hmm\"}]},"
		 "{\"id\":\"msg_0123abcd_1\",\"type\":\"message\",\"status\":"
		 "\"completed\",\"role\":\"assistant\",\"content\":[{\"type\":"
		 "\"output_text\",\"annotations\":[],\"logprobs\":[],\"text\":"
		 "\"Hi\"}]},"
		 "{\"id\":\"fc_0123abcd_2\",\"type\":\"function_call\","
		 "\"status\":\"completed\",\"arguments\":\"{}\",\"call_id\":"
		 "\"call_1\",\"name\":\"f\"}]");
	assert_true(json_equal(json_object_get(r, "output"), w));
	assert_str(jx_str(r, "id"), "resp_0123abcd");
	assert_str(jx_str(r, "object"), "response");
	assert_str(jx_str(r, "status"), "completed");
	assert_str(jx_str(r, "model"), "openai/gpt-4o");
	assert_int_equal(
	    json_integer_value(json_object_get(r, "created_at")), 1735689600);
	assert_true(json_is_false(json_object_get(r, "store")));
	assert_true(json_is_null(json_object_get(r, "error")));
	/* output_text is the SDKs' own convenience, not the API's */
	assert_null(json_object_get(r, "output_text"));
	s = api_dump(r, &m);
	assert_contains(s, "\"total_tokens\":29,\"cost\":1.00}");
	assert_contains(s, "\"gateway_usage\":{\"cost\":\"1.00\"");
	free(s);
	json_decref(w);
	json_decref(r);
	json_decref(c);
}

/*
 * The defaults are parsed once and copied into each response (issue 20's
 * bench): one response's default trees are its own, so a change to them
 * (a caller's, or a codec's) shows in no other response.
 */
/* o's member key equals the JSON text want. */
static void
member_is(const json_t *o, const char *key, const char *want)
{
	json_t *w = load(want);

	assert_true(json_equal(json_object_get(o, key), w));
	json_decref(w);
}

static void
t_answer_defaults_own(void **state)
{
	json_t *c = load("{\"choices\":[{\"message\":{\"content\":\"Hi\"},"
			 "\"finish_reason\":\"stop\"}]}");
	struct api_meta m = {"r1", "p", "x/m", 5, 0, &usage7, NULL};
	json_t *a, *b;

	(void)state;
	a = R->answer(c, &m);
	assert_non_null(a);
	json_object_set_new(
	    json_object_get(json_object_get(a, "text"), "format"), "type",
	    json_string("json_object"));
	json_object_set_new(json_object_get(a, "metadata"), "k", json_true());
	json_object_set_new(
	    json_object_get(a, "reasoning"), "effort", json_string("high"));
	b = R->answer(c, &m);
	assert_non_null(b);
	member_is(b, "text", "{\"format\":{\"type\":\"text\"}}");
	member_is(b, "metadata", "{}");
	member_is(b, "reasoning", "{\"effort\":null,\"summary\":null}");
	member_is(b, "tools", "[]");
	member_is(b, "tool_choice", "\"auto\"");
	json_decref(a);
	json_decref(b);
	json_decref(c);
}

/*
 * api_dump writes the cost wherever a string is API_COST_MARK: a string a
 * client or a provider chose (a key of an echoed schema, an answer's text)
 * that is exactly the mark must stay a string, and the text JSON.  Found by
 * fuzz_api_responses (a key of text.format in the echoed request).
 */
static void
t_cost_mark_injected(void **state)
{
	json_t *req = json_pack("{s:s, s:s, s:{s:{s:s, s:s}}}", "model", "m",
		   "input", "q", "text", "format", API_COST_MARK, "x", "type",
		   "text"),
	       *c = json_pack("{s:[{s:i, s:{s:s, s:s}, s:s}]}", "choices",
		   "index", 0, "message", "role", "assistant", "content",
		   API_COST_MARK, "finish_reason", "stop"),
	       *r, *back, *chunk;
	struct api_meta m = {"r", "p", "x/m", 5, 0, &usage7, req};
	struct api_state st;
	json_t *rec = json_array();
	const char *raw;
	char *s;

	(void)state;
	r = R->answer(c, &m);
	s = api_dump(r, &m);
	assert_non_null((back = json_loads(s, 0, NULL)));
	assert_true(json_is_string(json_object_get(
	    json_array_get(
		json_object_get(
		    json_array_get(json_object_get(back, "output"), 0),
		    "content"),
		0),
	    "text")));
	assert_true(json_is_number(
	    json_object_get(json_object_get(back, "usage"), "cost")));
	free(s);
	json_decref(back);
	json_decref(r);
	/* the same in a stream's closing event */
	state_init(&st, NULL);
	st.request = req;
	chunk = json_pack("{s:[{s:i, s:{s:s}}]}", "choices", "index", 0,
	    "delta", "content", API_COST_MARK);
	assert_int_equal(R->chunk(&st, chunk, record, rec), 0);
	assert_int_equal(R->end(&st, &m, record, rec), 0);
	raw = end_text(rec);
	assert_non_null((back = json_loads(raw, 0, NULL)));
	assert_true(json_is_string(json_object_get(
	    json_array_get(
		json_object_get(
		    json_array_get(
			json_object_get(
			    json_object_get(back, "response"), "output"),
			0),
		    "content"),
		0),
	    "text")));
	json_decref(back);
	json_decref(chunk);
	json_decref(rec);
	json_decref(c);
	json_decref(req);
}

static void
t_answer_length(void **state)
{
	json_t *c = load("{\"choices\":[{\"index\":0,\"message\":{\"role\":"
			 "\"assistant\",\"content\":null},\"finish_reason\":"
			 "\"length\"}]}");
	struct api_meta m = {"r", NULL, "x/m", 0, 0, NULL, NULL};
	json_t *r;

	(void)state;
	r = R->answer(c, &m);
	assert_non_null(r);
	assert_str(jx_str(r, "status"), "incomplete");
	assert_str(jx_str(json_object_get(r, "incomplete_details"), "reason"),
	    "max_output_tokens");
	/* no text and no calls: one empty message, as the API sends */
	assert_int_equal(json_array_size(json_object_get(r, "output")), 1);
	assert_str(
	    jx_str(json_array_get(json_object_get(r, "output"), 0), "status"),
	    "incomplete");
	json_decref(r);
	json_decref(c);
}

static void
t_error(void **state)
{
	json_t *e = R->error(400, "invalid_request_error", "invalid_value",
		   "input", "bad"),
	       *w = load("{\"error\":{\"message\":\"bad\",\"type\":"
			 "\"invalid_request_error\",\"param\":\"input\","
			 "\"code\":\"invalid_value\"}}");

	(void)state;
	assert_true(json_equal(e, w));
	json_decref(e);
	json_decref(w);
	e = R->error(503, "server_error", NULL, NULL, "busy");
	assert_true(json_is_null(
	    json_object_get(json_object_get(e, "error"), "param")));
	assert_true(
	    json_is_null(json_object_get(json_object_get(e, "error"), "code")));
	json_decref(e);
	assert_int_equal(R->wire, WIRE_RESPONSES);
	assert_str(R->name, "responses");
	assert_null(R->native_hold);
	assert_ptr_equal(api_ops_of(WIRE_RESPONSES), R);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_input_string),
	    cmocka_unit_test(t_input_items),
	    cmocka_unit_test(t_params),
	    cmocka_unit_test(t_tools),
	    cmocka_unit_test(t_refusals),
	    cmocka_unit_test(t_caps),
	    cmocka_unit_test(t_stream_text),
	    cmocka_unit_test(t_stream_tools_reasoning),
	    cmocka_unit_test(t_stream_incomplete),
	    cmocka_unit_test(t_stream_error),
	    cmocka_unit_test(t_stream_gone),
	    cmocka_unit_test(t_stream_echo),
	    cmocka_unit_test(t_answer),
	    cmocka_unit_test(t_answer_defaults_own),
	    cmocka_unit_test(t_cost_mark_injected),
	    cmocka_unit_test(t_answer_length),
	    cmocka_unit_test(t_error),
	};

	test_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
