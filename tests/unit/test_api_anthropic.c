/* test_api_anthropic.c: the Anthropic Messages codec: requests to the pivot, chunks and answers back */
#include "test_common.h"

#include "core/json.h"
#include "prov/api.h"
#include "prov/api_anthropic.h"

/*
 * Until the Gemini and Responses codecs are merged, api.c's table needs
 * their symbols: weak stand-ins that the real ones replace.
 */
__attribute__((weak))
const struct api_ops api_gemini_ops = {.wire = WIRE_GEMINI};
__attribute__((weak))
const struct api_ops api_responses_ops = {.wire = WIRE_RESPONSES};

static const struct api_ops *A = &api_anthropic_ops;

static json_t *
load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (j == NULL)
		fail_msg("bad fixture: %s: %s", e.text, text);
	return j;
}

/* to_pivot of text must succeed and equal want (JSON, compared as trees). */
static void
pivot_is(const char *text, const char *want)
{
	json_t *in = load(text), *w = load(want), *out;
	struct api_refusal why;
	char *got;

	out = A->to_pivot(in, &why);
	if (out == NULL)
		fail_msg("refused: %s (param %s)", why.msg,
		    why.param != NULL ? why.param : "-");
	if (!json_equal(out, w)) {
		got = jx_dump(out);
		fail_msg("pivot\n got %s\nwant %s", got, want);
	}
	json_decref(in);
	json_decref(w);
	json_decref(out);
}

/* to_pivot of text must refuse with param, code and a message containing msg. */
static void
refused(const char *text, const char *param, const char *code, const char *msg)
{
	json_t *in = load(text), *out;
	struct api_refusal why;

	out = A->to_pivot(in, &why);
	if (out != NULL) {
		char *got = jx_dump(out);

		fail_msg("not refused: %s -> %s", text, got);
	}
	if (param == NULL)
		assert_null(why.param);
	else
		assert_str(why.param, param);
	assert_str(why.code, code);
	assert_contains(why.msg, msg);
	json_decref(in);
}

#define M1 "\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024"

/* protocols.md 2.2's example request, whole. */
static void
test_pivot_example(void **state)
{
	(void)state;
	pivot_is(
	    "{" M1 ",\"system\":\"You are terse.\",\"messages\":["
	    "{\"role\":\"user\",\"content\":\"What's the weather in "
	    "Paris?\"},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"Let me check.\"},{\"type\":\"tool_use\",\"id\":"
	    "\"toolu_01A\",\"name\":\"get_weather\",\"input\":{\"city\":"
	    "\"Paris\"}}]},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
	    "\"tool_use_id\":\"toolu_01A\",\"content\":\"15C, sunny\"}]}],"
	    "\"tools\":[{\"name\":\"get_weather\",\"description\":\"d\","
	    "\"input_schema\":{\"type\":\"object\",\"properties\":{"
	    "\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}}],"
	    "\"tool_choice\":{\"type\":\"auto\"},\"temperature\":0.7,"
	    "\"top_p\":0.9,\"top_k\":40,\"stop_sequences\":[\"\\n\\nHuman:\"],"
	    "\"metadata\":{\"user_id\":\"opaque-id\"},\"stream\":false}",
	    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
	    "\"stream\":false,\"temperature\":0.7,\"top_p\":0.9,\"top_k\":40,"
	    "\"messages\":["
	    "{\"role\":\"system\",\"content\":\"You are terse.\"},"
	    "{\"role\":\"user\",\"content\":\"What's the weather in Paris?\"},"
	    "{\"role\":\"assistant\",\"content\":\"Let me check.\","
	    "\"tool_calls\":[{\"id\":\"toolu_01A\",\"type\":\"function\","
	    "\"function\":{\"name\":\"get_weather\",\"arguments\":"
	    "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"toolu_01A\",\"content\":"
	    "\"15C, sunny\"}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"description\":\"d\",\"parameters\":{\"type\":"
	    "\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
	    "\"required\":[\"city\"]}}}],"
	    "\"tool_choice\":\"auto\",\"stop\":[\"\\n\\nHuman:\"],"
	    "\"user\":\"opaque-id\"}");
}

/* stream asks for usage; system blocks keep cache_control; images. */
static void
test_pivot_stream_system_images(void **state)
{
	(void)state;
	pivot_is(
	    "{" M1 ",\"stream\":true,\"system\":[{\"type\":\"text\","
	    "\"text\":\"S1\",\"cache_control\":{\"type\":\"ephemeral\"}},"
	    "{\"type\":\"text\",\"text\":\"S2\"}],\"messages\":[{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":"
	    "\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBO\"}},"
	    "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":"
	    "\"https://x.test/a.jpg\"},\"cache_control\":{\"type\":"
	    "\"ephemeral\",\"ttl\":\"1h\"}},{\"type\":\"text\",\"text\":"
	    "\"what?\"}]}]}",
	    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
	    "\"stream\":true,\"stream_options\":{\"include_usage\":true},"
	    "\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":"
	    "\"text\","
	    "\"text\":\"S1\",\"cache_control\":{\"type\":\"ephemeral\"}},"
	    "{\"type\":\"text\",\"text\":\"S2\"}]},{\"role\":\"user\","
	    "\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/png;base64,iVBO\"}},{\"type\":\"image_url\","
	    "\"image_url\":{\"url\":\"https://x.test/a.jpg\"},"
	    "\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}},"
	    "{\"type\":\"text\",\"text\":\"what?\"}]}]}");
}

/*
 * Documents: a PDF, a plain text (a text part: its bytes bound its tokens)
 * and a URL.
 */
static void
test_pivot_documents(void **state)
{
	(void)state;
	pivot_is("{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":["
		 "{\"type\":\"document\",\"source\":{\"type\":\"base64\","
		 "\"media_type\":\"application/pdf\",\"data\":\"JVBERi0\"},"
		 "\"title\":\"a.pdf\",\"cache_control\":{\"type\":"
		 "\"ephemeral\"}},"
		 "{\"type\":\"document\",\"source\":{\"type\":\"text\","
		 "\"media_type\":\"text/plain\",\"data\":\"hello\"},"
		 "\"context\":\"c\"},"
		 "{\"type\":\"document\",\"source\":{\"type\":\"url\",\"url\":"
		 "\"https://x.test/d.pdf\"}}]}]}",
	    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
	    "\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":["
	    "{\"type\":\"file\",\"file\":{\"file_data\":"
	    "\"data:application/pdf;base64,JVBERi0\",\"filename\":\"a.pdf\"},"
	    "\"cache_control\":{\"type\":\"ephemeral\"}},"
	    "{\"type\":\"text\",\"text\":\"hello\"},"
	    "{\"type\":\"file\",\"file\":{\"file_data\":"
	    "\"https://x.test/d.pdf\"}}]}]}");
}

/*
 * tool_result: error noted, block content, its image to the user message
 * after the tool messages, the user's own text last.
 */
static void
test_pivot_tool_results(void **state)
{
	(void)state;
	pivot_is(
	    "{" M1 ",\"messages\":[{\"role\":\"assistant\",\"content\":["
	    "{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":\"a\",\"input\":"
	    "{}},{\"type\":\"tool_use\",\"id\":\"t2\",\"name\":\"b\","
	    "\"input\":{\"x\":[1,2]}}]},{\"role\":\"user\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"and?\"},"
	    "{\"type\":\"tool_result\",\"tool_use_id\":\"t1\",\"content\":"
	    "\"boom\",\"is_error\":true},"
	    "{\"type\":\"tool_result\",\"tool_use_id\":\"t2\",\"content\":["
	    "{\"type\":\"text\",\"text\":\"r\"},{\"type\":\"image\","
	    "\"source\":{\"type\":\"base64\",\"media_type\":\"image/gif\","
	    "\"data\":\"R0lG\"}}]},"
	    "{\"type\":\"tool_result\",\"tool_use_id\":\"t3\"}]}]}",
	    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
	    "\"stream\":false,\"messages\":[{\"role\":\"assistant\","
	    "\"content\":null,\"tool_calls\":[{\"id\":\"t1\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"a\",\"arguments\":\"{}\"}},"
	    "{\"id\":\"t2\",\"type\":\"function\",\"function\":{\"name\":\"b\","
	    "\"arguments\":\"{\\\"x\\\":[1,2]}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":"
	    "\"Error: boom\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"t2\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"r\"}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"t3\",\"content\":\"\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"and?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/gif;base64,R0lG\"}}]}]}");
}

/* Thinking in history: reasoning_content plus the signed blocks; thinking kept. */
static void
test_pivot_thinking(void **state)
{
	(void)state;
	pivot_is(
	    "{\"model\":\"m\",\"max_tokens\":4096,\"thinking\":{\"type\":"
	    "\"enabled\",\"budget_tokens\":2048},\"messages\":[{\"role\":"
	    "\"user\",\"content\":\"q\"},{\"role\":\"assistant\",\"content\":"
	    "[{\"type\":\"thinking\",\"thinking\":\"hmm \",\"signature\":"
	    "\"SIG1\"},{\"type\":\"redacted_thinking\",\"data\":\"RED\"},"
	    "{\"type\":\"thinking\",\"thinking\":\"ok\",\"signature\":"
	    "\"SIG2\"},{\"type\":\"text\",\"text\":\"A\"},{\"type\":\"text\","
	    "\"text\":\"B\"}]}]}",
	    "{\"model\":\"m\",\"max_tokens\":4096,\"stream\":false,"
	    "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048},"
	    "\"messages\":[{\"role\":\"user\",\"content\":\"q\"},{\"role\":"
	    "\"assistant\",\"content\":\"AB\",\"reasoning_content\":\"hmm ok\","
	    "\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"hmm \","
	    "\"signature\":\"SIG1\"},{\"type\":\"redacted_thinking\",\"data\":"
	    "\"RED\"},{\"type\":\"thinking\",\"thinking\":\"ok\",\"signature\":"
	    "\"SIG2\"}]}]}");
	/* A cached assistant text stays a part list. */
	pivot_is(
	    "{" M1 ",\"thinking\":{\"type\":\"disabled\"},\"messages\":["
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"A\",\"cache_control\":{\"type\":\"ephemeral\"}}]}]}",
	    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
	    "\"stream\":false,\"thinking\":{\"type\":\"disabled\"},"
	    "\"messages\":[{\"role\":\"assistant\",\"content\":[{\"type\":"
	    "\"text\",\"text\":\"A\",\"cache_control\":{\"type\":"
	    "\"ephemeral\"}}]}]}");
}

static void
test_pivot_tool_choice(void **state)
{
	static const char *const cases[][2] = {
	    {"{\"type\":\"any\"}", "\"tool_choice\":\"required\""},
	    {"{\"type\":\"none\"}", "\"tool_choice\":\"none\""},
	    {"{\"type\":\"tool\",\"name\":\"f\"}",
		"\"tool_choice\":{\"type\":\"function\",\"function\":{"
		"\"name\":\"f\"}}"},
	    {"{\"type\":\"auto\",\"disable_parallel_tool_use\":true}",
		"\"tool_choice\":\"auto\",\"parallel_tool_calls\":false"},
	    {"{\"type\":\"any\",\"disable_parallel_tool_use\":false}",
		"\"tool_choice\":\"required\""},
	};
	char in[512], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(in, sizeof(in),
		    "{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":"
		    "\"x\"}],\"tool_choice\":%s}",
		    cases[i][0]);
		snprintf(want, sizeof(want),
		    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,"
		    "\"stream\":false,\"messages\":[{\"role\":\"user\","
		    "\"content\":\"x\"}],%s}",
		    cases[i][1]);
		pivot_is(in, want);
	}
}

/* Strings pass through byte for byte: quotes, SQL, control characters, UTF-8. */
static void
test_pivot_hostile_strings(void **state)
{
	static const char s[] =
	    "'); DROP TABLE users; -- \\\" \\u0001\\u001f\\n\\t \\u00e9\\u4e2d "
	    "\\ud83d\\ude00 %s %n";
	char in[1024], want[1024];

	(void)state;
	snprintf(in, sizeof(in),
	    "{\"model\":\"%s\",\"max_tokens\":5,\"system\":\"%s\","
	    "\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
	    "\"text\":\"%s\"}]}],\"metadata\":{\"user_id\":\"%s\"}}",
	    s, s, s, s);
	snprintf(want, sizeof(want),
	    "{\"model\":\"%s\",\"max_tokens\":5,\"stream\":false,"
	    "\"messages\":[{\"role\":\"system\",\"content\":\"%s\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
	    "\"%s\"}]}],\"user\":\"%s\"}",
	    s, s, s, s);
	pivot_is(in, want);
}

#define MSG "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]"

/* Every rule Anthropic's schema enforces, each a 400 naming the member. */
static void
test_refusals(void **state)
{
	static const struct {
		const char *body, *param, *code, *msg;
	} cases[] = {
	    {"{\"max_tokens\":1," MSG "}", "model", "missing_field",
		"model: Field required"},
	    {"{\"model\":\"\",\"max_tokens\":1," MSG "}", "model",
		"invalid_value", "at least 1 character"},
	    {"{\"model\":3,\"max_tokens\":1," MSG "}", "model", "invalid_type",
		"model: Input should be a valid string"},
	    {"{\"model\":\"m\"," MSG "}", "max_tokens", "missing_field",
		"max_tokens: Field required"},
	    {"{\"model\":\"m\",\"max_tokens\":0," MSG "}", "max_tokens",
		"invalid_value", "greater than or equal to 1"},
	    {"{\"model\":\"m\",\"max_tokens\":1.5," MSG "}", "max_tokens",
		"invalid_type", "valid integer"},
	    {"{\"model\":\"m\",\"max_tokens\":\"9\"," MSG "}", "max_tokens",
		"invalid_type", "valid integer"},
	    {"{" M1 "}", "messages", "missing_field", "Field required"},
	    {"{" M1 ",\"messages\":[]}", "messages", "invalid_value",
		"at least one message"},
	    {"{" M1 ",\"messages\":{}}", "messages", "invalid_type",
		"valid list"},
	    /* An empty key has no path to name (found by the fuzzer). */
	    {"{\"\":\"aK\"," M1 "," MSG "}", NULL, "unknown_field",
		"Extra inputs are not permitted"},
	    {"{" M1 "," MSG ",\"n\":2}", "n", "unknown_field",
		"n: Extra inputs are not permitted"},
	    {"{" M1 "," MSG ",\"max_completion_tokens\":2}",
		"max_completion_tokens", "unknown_field", "Extra inputs"},
	    {"{" M1 ",\"messages\":[\"hi\"]}", "messages[0]", "invalid_type",
		"messages.0: Input should be a valid dictionary"},
	    {"{" M1 ",\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
		"messages[0].role", "invalid_value",
		"messages.0.role: Input should be 'user' or 'assistant'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\"}]}",
		"messages[0].content", "missing_field", "Field required"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
		"messages[0].content", "invalid_type", "valid string or"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":\"x\","
	     "\"name\":\"n\"}]}",
		"messages[0].name", "unknown_field", "Extra inputs"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"text\":"
	     "\"x\"}]}]}",
		"messages[0].content[0].type", "missing_field",
		"Field required"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"video\"}]}]}",
		"messages[0].content[0].type", "invalid_value",
		"'video' is not supported"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"tool_use\",\"id\":\"a\",\"name\":\"b\",\"input\":{}}]}]}",
		"messages[0].content[0].type", "invalid_value",
		"not allowed in user messages"},
	    {"{" M1 ",\"messages\":[{\"role\":\"assistant\",\"content\":[{"
	     "\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":"
	     "\"https://a\"}}]}]}",
		"messages[0].content[0].type", "invalid_value",
		"not allowed in assistant messages"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"text\",\"text\":\"x\",\"bogus\":1}]}]}",
		"messages[0].content[0].bogus", "unknown_field",
		"messages.0.content.0.bogus: Extra inputs"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"text\",\"text\":7}]}]}",
		"messages[0].content[0].text", "invalid_type", "valid string"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"text\",\"text\":\"x\",\"cache_control\":{\"type\":\"forever\""
	     "}}]}]}",
		"messages[0].content[0].cache_control.type", "invalid_value",
		"'ephemeral'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"text\",\"text\":\"x\",\"cache_control\":{\"type\":"
	     "\"ephemeral\",\"ttl\":\"2h\"}}]}]}",
		"messages[0].content[0].cache_control.ttl", "invalid_value",
		"'5m' or '1h'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"image\",\"source\":{\"type\":\"file\",\"file_id\":\"f\"}}]}]}",
		"messages[0].content[0].source.type", "invalid_value",
		"'base64' or 'url'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
	     "\"image/bmp\",\"data\":\"x\"}}]}]}",
		"messages[0].content[0].source.media_type", "invalid_value",
		"'image/jpeg'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
	     "\"image/png\"}}]}]}",
		"messages[0].content[0].source.data", "missing_field",
		"Field required"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"image\",\"source\":{\"type\":\"url\",\"url\":"
	     "\"file:///etc/passwd\"}}]}]}",
		"messages[0].content[0].source.url", "invalid_value",
		"http and https"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"image\"}]}]}",
		"messages[0].content[0].source", "missing_field",
		"Field required"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"document\",\"source\":{\"type\":\"base64\",\"media_type\":"
	     "\"image/png\",\"data\":\"x\"}}]}]}",
		"messages[0].content[0].source.media_type", "invalid_value",
		"'application/pdf'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"document\",\"source\":{\"type\":\"text\",\"media_type\":"
	     "\"text/html\",\"data\":\"x\"}}]}]}",
		"messages[0].content[0].source.media_type", "invalid_value",
		"'text/plain'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"tool_result\"}]}]}",
		"messages[0].content[0].tool_use_id", "missing_field",
		"Field required"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"tool_result\",\"tool_use_id\":\"t\",\"is_error\":\"yes\"}]}]}",
		"messages[0].content[0].is_error", "invalid_type",
		"valid boolean"},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
	     "\"tool_result\",\"tool_use_id\":\"t\",\"content\":[{\"type\":"
	     "\"tool_use\"}]}]}]}",
		"messages[0].content[0].content[0].type", "invalid_value",
		"'text' or 'image'"},
	    {"{" M1 ",\"messages\":[{\"role\":\"assistant\",\"content\":[{"
	     "\"type\":\"tool_use\",\"id\":\"a\",\"name\":\"b\",\"input\":"
	     "\"{}\"}]}]}",
		"messages[0].content[0].input", "invalid_type",
		"valid dictionary"},
	    {"{" M1 ",\"messages\":[{\"role\":\"assistant\",\"content\":[{"
	     "\"type\":\"thinking\",\"thinking\":\"t\"}]}]}",
		"messages[0].content[0].signature", "missing_field",
		"Field required"},
	    {"{" M1 ",\"messages\":[{\"role\":\"assistant\",\"content\":[{"
	     "\"type\":\"redacted_thinking\"}]}]}",
		"messages[0].content[0].data", "missing_field",
		"Field required"},
	    {"{" M1 "," MSG ",\"system\":5}", "system", "invalid_type",
		"valid string or"},
	    {"{" M1 "," MSG ",\"system\":[{\"type\":\"image\"}]}",
		"system[0].type", "invalid_value", "'text'"},
	    {"{" M1 "," MSG ",\"temperature\":1.5}", "temperature",
		"invalid_value", "less than or equal to 1"},
	    {"{" M1 "," MSG ",\"temperature\":\"hot\"}", "temperature",
		"invalid_type", "valid number"},
	    {"{" M1 "," MSG ",\"top_p\":-0.1}", "top_p", "invalid_value",
		"greater than or equal to 0"},
	    {"{" M1 "," MSG ",\"top_k\":-1}", "top_k", "invalid_value",
		"greater than or equal to 0"},
	    {"{" M1 "," MSG ",\"stream\":\"yes\"}", "stream", "invalid_type",
		"valid boolean"},
	    {"{" M1 "," MSG ",\"stop_sequences\":\"x\"}", "stop_sequences",
		"invalid_type", "valid list"},
	    {"{" M1 "," MSG ",\"stop_sequences\":[\"a\",1]}",
		"stop_sequences[1]", "invalid_type", "valid string"},
	    {"{" M1 "," MSG ",\"metadata\":{\"user\":\"x\"}}", "metadata.user",
		"unknown_field", "Extra inputs"},
	    {"{" M1 "," MSG ",\"thinking\":{\"type\":\"enabled\"}}",
		"thinking.budget_tokens", "missing_field", "Field required"},
	    {"{" M1 "," MSG
	     ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":100}}",
		"thinking.budget_tokens", "invalid_value", "1024"},
	    {"{" M1 "," MSG
	     ",\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2000}}",
		"max_tokens", "invalid_value",
		"greater than `thinking.budget_tokens`"},
	    {"{" M1 "," MSG ",\"thinking\":{\"type\":\"on\"}}", "thinking.type",
		"invalid_value", "'enabled'"},
	    {"{" M1 "," MSG ",\"tool_choice\":{\"type\":\"tool\"}}",
		"tool_choice.name", "missing_field", "Field required"},
	    {"{" M1 "," MSG ",\"tool_choice\":{\"type\":\"required\"}}",
		"tool_choice.type", "invalid_value", "'auto', 'any'"},
	    {"{" M1 "," MSG ",\"tool_choice\":{\"type\":\"none\","
	     "\"disable_parallel_tool_use\":true}}",
		"tool_choice.disable_parallel_tool_use", "unknown_field",
		"Extra inputs"},
	    {"{" M1 "," MSG ",\"tools\":[{\"type\":\"web_search_20250305\","
	     "\"name\":\"web_search\",\"max_uses\":5}]}",
		"tools[0].type", "unsupported_value",
		"server tool 'web_search_20250305'"},
	    {"{" M1 "," MSG ",\"tools\":[{\"name\":\"f\"}]}",
		"tools[0].input_schema", "missing_field", "Field required"},
	    {"{" M1 "," MSG ",\"tools\":[{\"name\":\"bad name\","
	     "\"input_schema\":{\"type\":\"object\"}}]}",
		"tools[0].name", "invalid_value", "should match pattern"},
	    {"{" M1 "," MSG ",\"tools\":[{\"name\":\"f\",\"input_schema\":{"
	     "\"type\":\"array\"}}]}",
		"tools[0].input_schema.type", "invalid_value",
		"Input should be 'object'"},
	    {"{" M1 "," MSG ",\"tools\":[{\"name\":\"f\",\"input_schema\":{"
	     "\"type\":\"object\"}},{\"name\":\"f\",\"input_schema\":{"
	     "\"type\":\"object\"}}]}",
		"tools", "invalid_value", "unique"},
	    {"{" M1 "," MSG ",\"tools\":[{\"name\":\"f\",\"parameters\":{}}]}",
		"tools[0].parameters", "unknown_field", "Extra inputs"},
	    {"{" M1 "," MSG ",\"service_tier\":\"priority\"}", "service_tier",
		"invalid_value", "'auto' or 'standard_only'"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refused(
		    cases[i].body, cases[i].param, cases[i].code, cases[i].msg);
	/* Not an object at all. */
	{
		json_t *a = json_array();
		struct api_refusal why;

		assert_null(A->to_pivot(a, &why));
		assert_str(why.code, "invalid_type");
		json_decref(a);
	}
}

/* A body with n copies of item in the array member (a JSON text). */
static char *
repeat(const char *head, const char *item, size_t n, const char *tail)
{
	size_t len = strlen(head) + n * (strlen(item) + 1) + strlen(tail) + 1;
	char *s = malloc(len), *p;
	size_t i;

	assert_non_null(s);
	p = s + sprintf(s, "%s", head);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s%s", i > 0 ? "," : "", item);
	strcpy(p, tail);
	return s;
}

/* Each array member has a cap; one past it is a 400, at it is not. */
static void
test_caps(void **state)
{
	static const struct {
		const char *head, *item, *tail, *param;
		size_t cap;
	} cases[] = {
	    {"{" M1 ",\"messages\":[", "{\"role\":\"user\",\"content\":\"x\"}",
		"]}", "messages", AA_MAX_MESSAGES},
	    {"{" M1 ",\"messages\":[{\"role\":\"user\",\"content\":[",
		"{\"type\":\"text\",\"text\":\"x\"}", "]}]}",
		"messages[0].content", AA_MAX_BLOCKS},
	    {"{" M1 "," MSG ",\"system\":[",
		"{\"type\":\"text\",\"text\":\"x\"}", "]}", "system",
		AA_MAX_BLOCKS},
	    {"{" M1 "," MSG ",\"stop_sequences\":[", "\"s\"", "]}",
		"stop_sequences", AA_MAX_STOPS},
	};
	struct api_refusal why;
	json_t *in, *out;
	char *s;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s = repeat(cases[i].head, cases[i].item, cases[i].cap + 1,
		    cases[i].tail);
		in = load(s);
		assert_null(A->to_pivot(in, &why));
		assert_str(why.param, cases[i].param);
		assert_str(why.code, "too_many");
		json_decref(in);
		free(s);
		s = repeat(
		    cases[i].head, cases[i].item, cases[i].cap, cases[i].tail);
		in = load(s);
		out = A->to_pivot(in, &why);
		if (out == NULL)
			fail_msg("at the cap refused: %s", why.msg);
		json_decref(out);
		json_decref(in);
		free(s);
	}
	/* Tools: distinct names up to the cap. */
	{
		char *body = malloc(AA_MAX_TOOLS * 80 + 200), *p;

		assert_non_null(body);
		p = body + sprintf(body, "{" M1 "," MSG ",\"tools\":[");
		for (i = 0; i <= AA_MAX_TOOLS; i++)
			p += sprintf(p,
			    "%s{\"name\":\"t%zu\",\"input_schema\":{\"type\":"
			    "\"object\"}}",
			    i > 0 ? "," : "", i);
		strcpy(p, "]}");
		in = load(body);
		assert_null(A->to_pivot(in, &why));
		assert_str(why.param, "tools");
		assert_str(why.code, "too_many");
		json_decref(in);
		free(body);
	}
}

/* Recorded events: "event\ndata" per emit. */
struct rec {
	char *ev[64];
	size_t n;
	int fail_at; /* emit returns -1 on this call (1-based); 0 never */
};

static int
rec_emit(void *arg, const char *event, const char *data, size_t len)
{
	struct rec *r = arg;
	char *s;

	if (r->fail_at != 0 && (int)r->n + 1 == r->fail_at)
		return -1;
	assert_true(r->n < 64);
	assert_int_equal(strlen(data), len);
	assert_true(
	    asprintf(&s, "%s\n%s", event != NULL ? event : "-", data) > 0);
	r->ev[r->n++] = s;
	return 0;
}

static void
rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->ev[i]);
	memset(r, 0, sizeof(*r));
}

/*
 * Event i is named name and its data equals want (as trees); the data's
 * "type" repeats the name.
 */
static void
event_is(const struct rec *r, size_t i, const char *name, const char *want)
{
	const char *nl;
	json_t *got, *w;

	if (i >= r->n)
		fail_msg("event %zu missing (%zu sent)", i, r->n);
	nl = strchr(r->ev[i], '\n');
	assert_non_null(nl);
	if (strncmp(r->ev[i], name, strlen(name)) != 0 ||
	    r->ev[i] + strlen(name) != nl)
		fail_msg("event %zu: %s, want %s", i, r->ev[i], name);
	got = load(nl + 1);
	w = load(want);
	assert_str(jx_str(got, "type"), name);
	if (!json_equal(got, w))
		fail_msg("event %zu\n got %s\nwant %s", i, nl + 1, want);
	json_decref(got);
	json_decref(w);
}

static void
feed(struct api_state *st, const char *const *chunks, size_t n, struct rec *r)
{
	size_t i;
	json_t *c;

	for (i = 0; i < n; i++) {
		c = load(chunks[i]);
		assert_int_equal(A->chunk(st, c, rec_emit, r), 0);
		json_decref(c);
	}
}

#define CH(delta, fin)                                                         \
	"{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\","         \
	"\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,"            \
	"\"delta\":" delta ",\"finish_reason\":" fin "}]}"

static const struct token_counts usage1 = {.prompt = 25 + 10 + 5,
    .completion = 89,
    .cached = 10,
    .cache_write = 5,
    .reasoning = 0,
    .upstream_cost = -1,
    .present = 1};

static const struct api_meta meta1 = {.request_id = "req1",
    .provider = "p",
    .model = "anthropic/claude-sonnet-4.5",
    .charged = 1234500,
    .balance_after = 5000000000,
    .u = &usage1};

#define GW                                                                     \
	"\"gateway_usage\":{\"cost\":\"0.0012345\",\"balance_after\":"         \
	"\"5.00\",\"request_id\":\"req1\",\"provider\":\"p\",\"model\":"       \
	"\"anthropic/claude-sonnet-4.5\"}"
#define USAGE1                                                                 \
	"\"usage\":{\"input_tokens\":25,\"output_tokens\":89,"                 \
	"\"cache_creation_input_tokens\":5,\"cache_read_input_tokens\":10,"    \
	"\"cost\":0.0012345}"

/*
 * The OpenAI stream of a text then a tool call, as Anthropic's documented
 * example sends it (protocols.md 2.4): message_start, ping, the text block,
 * the tool_use block with its argument fragments, message_delta with the
 * usage and the cost, message_stop.
 */
static void
test_stream_text_tool(void **state)
{
	static const char *const chunks[] = {
	    CH("{\"role\":\"assistant\",\"content\":\"\"}", "null"),
	    CH("{\"content\":\"Hello\"}", "null"),
	    CH("{\"content\":\" there\"}", "null"),
	    CH("{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_01A\",\"type\":"
	       "\"function\",\"function\":{\"name\":\"get_weather\","
	       "\"arguments\":\"\"}}]}",
		"null"),
	    CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	       "\"{\\\"city\\\": \"}}]}",
		"null"),
	    CH("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":"
	       "\"\\\"Paris\\\"}\"}}]}",
		"null"),
	    CH("{}", "\"tool_calls\""),
	};
	struct api_state st = {
	    .model = "anthropic/claude-sonnet-4.5", .request_id = "req1"};
	struct rec r = {0};

	(void)state;
	feed(&st, chunks, 7, &r);
	assert_int_equal(A->end(&st, &meta1, rec_emit, &r), 0);
	assert_int_equal(r.n, 12);
	event_is(&r, 0, "message_start",
	    "{\"type\":\"message_start\",\"message\":{\"id\":\"msg_req1\","
	    "\"type\":\"message\",\"role\":\"assistant\",\"model\":"
	    "\"anthropic/claude-sonnet-4.5\",\"content\":[],\"stop_reason\":"
	    "null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,"
	    "\"output_tokens\":0,\"cache_creation_input_tokens\":0,"
	    "\"cache_read_input_tokens\":0}}}");
	event_is(&r, 1, "ping", "{\"type\":\"ping\"}");
	event_is(&r, 2, "content_block_start",
	    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
	    "{\"type\":\"text\",\"text\":\"\"}}");
	event_is(&r, 3, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\"Hello\"}}");
	event_is(&r, 4, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"text_delta\",\"text\":\" there\"}}");
	event_is(&r, 5, "content_block_stop",
	    "{\"type\":\"content_block_stop\",\"index\":0}");
	event_is(&r, 6, "content_block_start",
	    "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
	    "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":"
	    "\"get_weather\",\"input\":{}}}");
	event_is(&r, 7, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
	    "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}");
	event_is(&r, 8, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
	    "\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}");
	event_is(&r, 9, "content_block_stop",
	    "{\"type\":\"content_block_stop\",\"index\":1}");
	event_is(&r, 10, "message_delta",
	    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"tool_use\",\"stop_sequence\":null}," USAGE1 "," GW "}");
	event_is(&r, 11, "message_stop", "{\"type\":\"message_stop\"}");
	/* The cost is a JSON number, exactly the charge, not a float's print. */
	assert_contains(r.ev[10], "\"cost\":0.0012345}");
	rec_free(&r);
}

/* reasoning -> a thinking block before the text; two tool calls, two blocks. */
static void
test_stream_thinking_tools(void **state)
{
	static const char *const chunks[] = {
	    CH("{\"role\":\"assistant\",\"reasoning_content\":\"Let me\"}",
		"null"),
	    CH("{\"reasoning_content\":\" think\"}", "null"),
	    CH("{\"content\":\"Yes\"}", "null"),
	    CH("{\"tool_calls\":[{\"index\":0,\"id\":\"c1\",\"type\":"
	       "\"function\",\"function\":{\"name\":\"a\",\"arguments\":"
	       "\"{}\"}}]}",
		"null"),
	    CH("{\"tool_calls\":[{\"index\":1,\"id\":\"c2\",\"type\":"
	       "\"function\",\"function\":{\"name\":\"b\",\"arguments\":"
	       "\"\"}}]}",
		"null"),
	    CH("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":"
	       "\"{\\\"k\\\":1}\"}}]}",
		"null"),
	    CH("{}", "\"length\""),
	};
	struct api_state st = {.model = "m", .request_id = "r"};
	struct rec r = {0};

	(void)state;
	feed(&st, chunks, 7, &r);
	assert_int_equal(A->end(&st, &meta1, rec_emit, &r), 0);
	assert_int_equal(r.n, 17);
	event_is(&r, 2, "content_block_start",
	    "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
	    "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}");
	event_is(&r, 3, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"thinking_delta\",\"thinking\":\"Let me\"}}");
	event_is(&r, 4, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"thinking_delta\",\"thinking\":\" think\"}}");
	event_is(&r, 5, "content_block_stop",
	    "{\"type\":\"content_block_stop\",\"index\":0}");
	event_is(&r, 6, "content_block_start",
	    "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
	    "{\"type\":\"text\",\"text\":\"\"}}");
	event_is(&r, 8, "content_block_stop",
	    "{\"type\":\"content_block_stop\",\"index\":1}");
	event_is(&r, 9, "content_block_start",
	    "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":"
	    "{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"a\",\"input\":{}}"
	    "}");
	event_is(&r, 10, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
	    "\"input_json_delta\",\"partial_json\":\"{}\"}}");
	event_is(&r, 11, "content_block_stop",
	    "{\"type\":\"content_block_stop\",\"index\":2}");
	event_is(&r, 12, "content_block_start",
	    "{\"type\":\"content_block_start\",\"index\":3,\"content_block\":"
	    "{\"type\":\"tool_use\",\"id\":\"c2\",\"name\":\"b\",\"input\":{}}"
	    "}");
	event_is(&r, 13, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
	    "\"input_json_delta\",\"partial_json\":\"{\\\"k\\\":1}\"}}");
	event_is(&r, 14, "content_block_stop",
	    "{\"type\":\"content_block_stop\",\"index\":3}");
	event_is(&r, 15, "message_delta",
	    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"max_tokens\",\"stop_sequence\":null}," USAGE1 "," GW "}");
	rec_free(&r);
}

/* finish_reason mapping, an empty stream, emit failures, the error event. */
static void
test_stream_edges(void **state)
{
	static const char *const fins[][2] = {{"\"stop\"", "end_turn"},
	    {"\"content_filter\"", "refusal"}, {"\"tool_calls\"", "tool_use"},
	    {"null", "end_turn"}};
	struct api_state st;
	struct rec r = {0};
	char c[256], want[64];
	size_t i;
	json_t *j;

	(void)state;
	for (i = 0; i < 4; i++) {
		memset(&st, 0, sizeof(st));
		snprintf(
		    c, sizeof(c), CH("{\"content\":\"x\"}", "%s"), fins[i][0]);
		j = load(c);
		assert_int_equal(A->chunk(&st, j, rec_emit, &r), 0);
		json_decref(j);
		assert_int_equal(A->end(&st, &meta1, rec_emit, &r), 0);
		snprintf(
		    want, sizeof(want), "\"stop_reason\":\"%s\"", fins[i][1]);
		assert_contains(r.ev[r.n - 2], want);
		rec_free(&r);
	}
	/* No chunk at all: still a whole, well-formed message. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(A->end(&st, &meta1, rec_emit, &r), 0);
	assert_int_equal(r.n, 4);
	assert_contains(r.ev[0], "message_start\n");
	assert_contains(r.ev[1], "ping\n");
	assert_contains(r.ev[2], "message_delta\n");
	assert_contains(r.ev[3], "message_stop\n");
	rec_free(&r);
	/* The client gone: -1 at once. */
	for (i = 1; i <= 3; i++) {
		memset(&st, 0, sizeof(st));
		r.fail_at = (int)i;
		j = load(CH("{\"content\":\"x\"}", "null"));
		assert_int_equal(A->chunk(&st, j, rec_emit, &r), -1);
		json_decref(j);
		rec_free(&r);
	}
	/* An error after the start. */
	memset(&st, 0, sizeof(st));
	assert_int_equal(A->stream_error(&st, 529, "server_error", NULL,
			     "Overloaded", rec_emit, &r),
	    0);
	event_is(&r, 0, "error",
	    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	    "\"message\":\"Overloaded\"}}");
	rec_free(&r);
	/* After the 200 there is no error status: the OpenAI type says. */
	{
		static const char *const kinds[][3] = {
		    {"server_error", NULL, "api_error"},
		    {"requests", "rate_limit_exceeded", "rate_limit_error"},
		    {"insufficient_quota", "insufficient_quota",
			"billing_error"},
		    {"invalid_request_error", NULL, "invalid_request_error"},
		};

		for (i = 0; i < 4; i++) {
			memset(&st, 0, sizeof(st));
			assert_int_equal(A->stream_error(&st, 0, kinds[i][0],
					     kinds[i][1], "m", rec_emit, &r),
			    0);
			snprintf(want, sizeof(want),
			    "\"error\":{\"type\":\"%s\"", kinds[i][2]);
			assert_contains(r.ev[0], want);
			rec_free(&r);
		}
	}
	/* OpenRouter names the reasoning "reasoning": a thinking block too. */
	memset(&st, 0, sizeof(st));
	j = load(CH("{\"reasoning\":\"hm\"}", "null"));
	assert_int_equal(A->chunk(&st, j, rec_emit, &r), 0);
	json_decref(j);
	assert_int_equal(r.n, 4);
	event_is(&r, 3, "content_block_delta",
	    "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	    "\"thinking_delta\",\"thinking\":\"hm\"}}");
	rec_free(&r);
	/* A server that repeats id and name on every fragment: one block. */
	memset(&st, 0, sizeof(st));
	for (i = 0; i < 2; i++) {
		j = load(CH("{\"tool_calls\":[{\"index\":0,\"id\":\"c\","
			    "\"type\":\"function\",\"function\":{\"name\":"
			    "\"f\",\"arguments\":\"{}\"}}]}",
		    "null"));
		assert_int_equal(A->chunk(&st, j, rec_emit, &r), 0);
		json_decref(j);
	}
	assert_int_equal(r.n, 5); /* start, ping, block start, 2 deltas */
	rec_free(&r);
	/* A chunk without choices (an error or a usage) adds nothing. */
	memset(&st, 0, sizeof(st));
	j = load("{\"error\":{\"message\":\"x\"}}");
	assert_int_equal(A->chunk(&st, j, rec_emit, &r), 0);
	json_decref(j);
	assert_int_equal(r.n, 2); /* message_start, ping */
	rec_free(&r);
}

/* A whole completion as a message: thinking, text, tool_use, usage, cost. */
static void
test_answer(void **state)
{
	json_t *c, *a, *w;
	char *s;

	(void)state;
	c = load(
	    "{\"id\":\"chatcmpl-9\",\"object\":\"chat.completion\","
	    "\"created\":1,\"model\":\"up\",\"choices\":[{\"index\":0,"
	    "\"message\":{\"role\":\"assistant\",\"content\":\"It's 15C.\","
	    "\"reasoning_content\":\"hot?\",\"tool_calls\":[{\"id\":"
	    "\"toolu_01B\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Lyon\\\"}\"}},"
	    "{\"id\":\"t2\",\"type\":\"function\",\"function\":{\"name\":"
	    "\"x\",\"arguments\":\"not json\"}}]},\"finish_reason\":"
	    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":40}}");
	a = A->answer(c, &meta1);
	assert_non_null(a);
	s = api_dump(a, &meta1);
	w = load(
	    "{\"id\":\"msg_req1\",\"type\":\"message\",\"role\":"
	    "\"assistant\",\"model\":\"anthropic/claude-sonnet-4.5\","
	    "\"content\":[{\"type\":\"thinking\",\"thinking\":\"hot?\","
	    "\"signature\":\"\"},{\"type\":\"text\",\"text\":\"It's 15C.\"},"
	    "{\"type\":\"tool_use\",\"id\":\"toolu_01B\",\"name\":"
	    "\"get_weather\",\"input\":{\"city\":\"Lyon\"}},{\"type\":"
	    "\"tool_use\",\"id\":\"t2\",\"name\":\"x\",\"input\":{}}],"
	    "\"stop_reason\":\"tool_use\",\"stop_sequence\":null," USAGE1 "," GW
	    "}");
	{
		json_t *got = load(s);

		if (!json_equal(got, w))
			fail_msg("answer\n got %s", s);
		json_decref(got);
	}
	free(s);
	json_decref(a);
	json_decref(w);
	json_decref(c);
	/* Signed thinking blocks come back as they were; parts are joined. */
	c = load(
	    "{\"id\":\"x\",\"choices\":[{\"message\":{\"content\":[{"
	    "\"type\":\"text\",\"text\":\"a\"},{\"type\":\"refusal\","
	    "\"refusal\":\"b\"}],\"reasoning_content\":\"r\","
	    "\"thinking_blocks\":[{\"type\":\"thinking\",\"thinking\":\"r\","
	    "\"signature\":\"S\"}]},\"finish_reason\":\"stop\"}]}");
	a = A->answer(c, &meta1);
	w = load("[{\"type\":\"thinking\",\"thinking\":\"r\",\"signature\":"
		 "\"S\"},{\"type\":\"text\",\"text\":\"ab\"}]");
	assert_true(json_equal(json_object_get(a, "content"), w));
	assert_str(jx_str(a, "stop_reason"), "end_turn");
	json_decref(a);
	json_decref(w);
	json_decref(c);
}

static void
test_error(void **state)
{
	static const struct {
		int status;
		const char *type;
	} cases[] = {{400, "invalid_request_error"},
	    {401, "authentication_error"}, {402, "billing_error"},
	    {403, "permission_error"}, {404, "not_found_error"},
	    {413, "request_too_large"}, {429, "rate_limit_error"},
	    {500, "api_error"}, {502, "api_error"}, {503, "overloaded_error"},
	    {529, "overloaded_error"}, {409, "invalid_request_error"}};
	json_t *e, *w;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = A->error(cases[i].status, "x", "c", "p", "m");
		assert_str(jx_str(e, "type"), "error");
		assert_str(
		    jx_str(json_object_get(e, "error"), "type"), cases[i].type);
		json_decref(e);
	}
	e = A->error(400, "invalid_request_error", "invalid_value",
	    "messages[0].role", "bad role");
	w = load("{\"type\":\"error\",\"error\":{\"type\":"
		 "\"invalid_request_error\",\"message\":\"bad role\",\"param\":"
		 "\"messages[0].role\",\"code\":\"invalid_value\"}}");
	assert_true(json_equal(e, w));
	json_decref(e);
	json_decref(w);
}

/* Native streams: message_delta and message_stop wait, then get the cost. */
static void
test_native(void **state)
{
	json_t *held, *a, *w;
	struct api_state st = {0};
	struct rec r = {0};

	(void)state;
	assert_int_equal(A->native_hold("message_delta", NULL), 1);
	assert_int_equal(A->native_hold("message_stop", NULL), 1);
	assert_int_equal(A->native_hold("content_block_delta", NULL), 0);
	assert_int_equal(A->native_hold("ping", NULL), 0);
	a = load("{\"type\":\"message_delta\"}");
	assert_int_equal(A->native_hold(NULL, a), 1);
	json_decref(a);
	held =
	    load("[{\"event\":\"message_delta\",\"data\":{\"type\":"
		 "\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
		 "\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}},"
		 "{\"event\":\"message_stop\",\"data\":{\"type\":"
		 "\"message_stop\"}}]");
	assert_int_equal(A->native_end(&st, held, &meta1, rec_emit, &r), 0);
	assert_int_equal(r.n, 2);
	event_is(&r, 0, "message_delta",
	    "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
	    "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":"
	    "89,\"cost\":0.0012345}," GW "}");
	event_is(&r, 1, "message_stop", "{\"type\":\"message_stop\"}");
	rec_free(&r);
	json_decref(held);
	a = load("{\"id\":\"msg_1\",\"type\":\"message\",\"usage\":{"
		 "\"input_tokens\":3,\"output_tokens\":4}}");
	A->native_answer(a, &meta1);
	{
		char *s = api_dump(a, &meta1);

		w = load("{\"id\":\"msg_1\",\"type\":\"message\",\"usage\":{"
			 "\"input_tokens\":3,\"output_tokens\":4,\"cost\":"
			 "0.0012345}," GW "}");
		json_decref(a);
		a = load(s);
		assert_true(json_equal(a, w));
		free(s);
	}
	json_decref(a);
	json_decref(w);
	assert_ptr_equal(api_ops_of(WIRE_ANTHROPIC), A);
	assert_str(A->name, "messages");
}

/*
 * A round trip: a completion answered as a message, that message sent back
 * as the assistant's turn, gives the pivot the completion's content and
 * tool calls again.
 */
static void
test_round_trip(void **state)
{
	json_t *c, *a, *req, *p, *msg, *w;
	struct api_refusal why;

	(void)state;
	c = load("{\"id\":\"chatcmpl-9\",\"choices\":[{\"index\":0,"
		 "\"message\":{\"role\":\"assistant\",\"content\":\"On it.\","
		 "\"tool_calls\":[{\"id\":\"toolu_7\",\"type\":\"function\","
		 "\"function\":{\"name\":\"f\",\"arguments\":"
		 "\"{\\\"a\\\":[1,{\\\"b\\\":null}]}\"}}]},\"finish_reason\":"
		 "\"tool_calls\"}]}");
	a = A->answer(c, &meta1);
	req = json_pack("{s:s, s:i, s:[{s:s, s:s}, {s:s, s:O}]}", "model", "m",
	    "max_tokens", 10, "messages", "role", "user", "content", "q",
	    "role", "assistant", "content", json_object_get(a, "content"));
	p = A->to_pivot(req, &why);
	if (p == NULL)
		fail_msg("refused: %s", why.msg);
	msg = json_array_get(json_object_get(p, "messages"), 1);
	w = json_object_get(
	    json_array_get(json_object_get(c, "choices"), 0), "message");
	assert_true(json_equal(msg, w));
	json_decref(p);
	json_decref(req);
	json_decref(a);
	json_decref(c);
}

/* jansson's allocator failing its n-th call (0: never). */
static size_t alloc_calls, alloc_fail_at;

static void *
failing_malloc(size_t n)
{
	if (++alloc_calls == alloc_fail_at)
		return NULL;
	return malloc(n);
}

/*
 * Out of memory anywhere in a translation: the request is refused as out of
 * memory (never a 400 for the client's fault, never a partial pivot), the
 * stream reports -1, the answer is NULL; nothing leaks (valgrind, ASan).
 */
static void
test_out_of_memory(void **state)
{
	static const char req[] =
	    "{" M1 ",\"stream\":true,\"system\":[{\"type\":\"text\",\"text\":"
	    "\"S\",\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":["
	    "{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{"
	    "\"type\":\"base64\",\"media_type\":\"image/"
	    "png\",\"data\":\"iV\"}},"
	    "{\"type\":\"document\",\"source\":{\"type\":\"text\","
	    "\"media_type\":\"text/plain\",\"data\":\"hi\"},\"title\":\"t\"}]},"
	    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	    "\"thinking\":\"h\",\"signature\":\"S\"},{\"type\":\"tool_use\","
	    "\"id\":\"t1\",\"name\":\"f\",\"input\":{\"a\":1}}]},{\"role\":"
	    "\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
	    "\"t1\",\"content\":\"x\",\"is_error\":true}]}],\"tools\":[{"
	    "\"name\":\"f\",\"input_schema\":{\"type\":\"object\"}}],"
	    "\"tool_choice\":{\"type\":\"tool\",\"name\":\"f\"},"
	    "\"stop_sequences\":[\"s\"],\"metadata\":{\"user_id\":\"u\"},"
	    "\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1000}}";
	json_t *in, *full, *out, *c;
	struct api_refusal why;
	struct api_state st;
	struct rec r = {0};
	size_t k;
	int rc;

	(void)state;
	in = load(req);
	/* budget 1000 < 1024 is refused: use a valid one. */
	json_object_set_new(json_object_get(in, "thinking"), "budget_tokens",
	    json_integer(512 * 2));
	json_object_set_new(in, "max_tokens", json_integer(4096));
	full = A->to_pivot(in, &why);
	if (full == NULL)
		fail_msg("refused: %s", why.msg);
	c = load(CH("{\"reasoning_content\":\"r\",\"content\":\"x\","
		    "\"tool_calls\":[{\"index\":0,\"id\":\"c\",\"function\":{"
		    "\"name\":\"f\",\"arguments\":\"{}\"}}]}",
	    "\"stop\""));
	json_set_alloc_funcs(failing_malloc, free);
	for (k = 1;; k++) {
		alloc_calls = 0;
		alloc_fail_at = k;
		out = A->to_pivot(in, &why);
		if (alloc_calls < k) {
			alloc_fail_at = 0;
			assert_non_null(out);
			json_decref(out);
			break;
		}
		if (out != NULL) {
			alloc_fail_at = 0;
			if (!json_equal(out, full))
				fail_msg("partial pivot at allocation %zu", k);
			json_decref(out);
		} else
			assert_str(why.code, "out_of_memory");
	}
	for (k = 1;; k++) {
		memset(&st, 0, sizeof(st));
		alloc_calls = 0;
		alloc_fail_at = k;
		rc = A->chunk(&st, c, rec_emit, &r);
		if (rc == 0)
			rc = A->end(&st, &meta1, rec_emit, &r);
		out = A->answer(c, &meta1);
		alloc_fail_at = 0;
		rec_free(&r);
		json_decref(out);
		if (alloc_calls < k) {
			assert_int_equal(rc, 0);
			break;
		}
	}
	json_set_alloc_funcs(malloc, free);
	json_decref(c);
	json_decref(full);
	json_decref(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pivot_example),
	    cmocka_unit_test(test_pivot_stream_system_images),
	    cmocka_unit_test(test_pivot_documents),
	    cmocka_unit_test(test_pivot_tool_results),
	    cmocka_unit_test(test_pivot_thinking),
	    cmocka_unit_test(test_pivot_tool_choice),
	    cmocka_unit_test(test_pivot_hostile_strings),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_stream_text_tool),
	    cmocka_unit_test(test_stream_thinking_tools),
	    cmocka_unit_test(test_stream_edges),
	    cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_error),
	    cmocka_unit_test(test_native),
	    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_out_of_memory),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
