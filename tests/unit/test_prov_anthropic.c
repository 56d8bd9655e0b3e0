/* test_prov_anthropic.c: the Anthropic adapter: requests built, answers, events and errors read */
#include "test_common.h"

#include "core/json.h"
#include "prov/prov.h"

static const struct deployment rt = {.provider_id = "anth",
    .kind = PROV_ANTHROPIC,
    .base_url = "https://api.anthropic.com/v1//",
    .upstream_model = "claude-sonnet-4-5-20250929"};

/*
 * A JSON fixture written with ' for " (the fixtures hold no apostrophe),
 * so that the expected trees read like the documents they come from.
 */
static json_t *
J(const char *s)
{
	char *t = strdup(s), *p;
	json_error_t e;
	json_t *o;

	assert_non_null(t);
	for (p = t; *p != '\0'; p++)
		if (*p == '\'')
			*p = '"';
	o = json_loads(t, JSON_REJECT_DUPLICATES, &e);
	if (o == NULL)
		fail_msg("fixture: %s: %s", e.text, t);
	free(t);
	return o;
}

/* got equals the fixture want, or the test fails showing both. */
static void
assert_json(const json_t *got, const char *want)
{
	json_t *w = J(want);
	char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT),
	     *x = json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT);

	if (!json_equal((json_t *)got, w))
		fail_msg("got  %s\nwant %s", g ? g : "(null)", x);
	free(g);
	free(x);
	json_decref(w);
}

/* Build from a pivot fixture; the upstream body as a tree. */
static json_t *
built(struct arena *a, const char *pivot, int stream, int64_t max_out,
    struct prov_call *pc)
{
	json_t *in = J(pivot), *body;

	assert_int_equal(prov_anthropic_ops.build(a, EP_CHAT, &rt, in, stream,
			     max_out, "sk-ant-secret", NULL, NULL, pc),
	    0);
	json_decref(in);
	body = json_loadb(pc->body, pc->body_len, 0, NULL);
	assert_non_null(body);
	return body;
}

static void
test_kind_row(void **state)
{
	(void)state;
	assert_ptr_equal(prov_ops_of(PROV_ANTHROPIC), &prov_anthropic_ops);
	assert_int_equal(prov_anthropic_ops.wire, WIRE_ANTHROPIC);
}

/* URL, headers, the secret only in its header; other endpoints refused. */
static void
test_build_call(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call pc;
	json_t *b, *in = J("{'model':'m','messages':[]}");
	size_t i;
	int saw_key = 0, saw_ver = 0, saw_sse = 0;

	(void)state;
	b = built(a,
	    "{'model':'m','messages':[{'role':'user','content':'hi'}]}", 1,
	    1234, &pc);
	assert_string_equal(pc.url, "https://api.anthropic.com/v1/messages");
	for (i = 0; i < pc.nheaders; i++) {
		saw_key +=
		    strcmp(pc.headers[i], "x-api-key: sk-ant-secret") == 0;
		saw_ver +=
		    strcmp(pc.headers[i], "anthropic-version: 2023-06-01") == 0;
		saw_sse +=
		    strcmp(pc.headers[i], "Accept: text/event-stream") == 0;
		assert_null(strstr(pc.headers[i], "Authorization"));
	}
	assert_int_equal(saw_key + saw_ver + saw_sse, 3);
	assert_string_equal(pc.secret_header, "x-api-key: sk-ant-secret");
	assert_null(strstr(pc.body, "sk-ant"));
	assert_json(b,
	    "{'model':'claude-sonnet-4-5-20250929','max_tokens':1234,"
	    "'stream':true,'messages':[{'role':'user','content':"
	    "[{'type':'text','text':'hi'}]}]}");
	json_decref(b);
	assert_int_equal(prov_anthropic_ops.build(a, EP_COMPLETIONS, &rt, in, 0,
			     10, "k", NULL, NULL, &pc),
	    -1);
	assert_int_equal(prov_anthropic_ops.build(a, EP_EMBEDDINGS, &rt, in, 0,
			     10, "k", NULL, NULL, &pc),
	    -1);
	/* No cap from the caller: Anthropic requires one all the same. */
	b = built(a, "{'messages':[{'role':'user','content':'x'}]}", 0, 0, &pc);
	assert_int_equal(
	    json_integer_value(json_object_get(b, "max_tokens")), 4096);
	assert_null(json_object_get(b, "stream"));
	json_decref(b);
	json_decref(in);
	arena_free(a);
}

/*
 * A whole conversation: system and developer to the top, parts and images,
 * thinking kept with its signature, tool calls and results both ways, the
 * same roles merged, tools, tool_choice and the sampling members.
 */
static void
test_build_conversation(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call pc;
	json_t *b;

	(void)state;
	b = built(a,
	    "{'model':'anthropic/claude-sonnet-4.5','messages':["
	    "{'role':'system','content':'You are terse.'},"
	    "{'role':'developer','content':[{'type':'text','text':'Use SI.'}]},"
	    "{'role':'user','content':[{'type':'text','text':'Weather?'},"
	    " {'type':'image_url','image_url':{'url':'data:image/"
	    "png;base64,iVBO',"
	    "  'detail':'low'}},"
	    " {'type':'image_url','image_url':{'url':'https://x.test/a.jpg'}},"
	    " {'type':'image_url','image_url':{'url':'ftp://x.test/a.jpg'}},"
	    " {'type':'file','file':{'file_data':'data:application/"
	    "pdf;base64,JVBE',"
	    "  'filename':'a.pdf'}},"
	    " {'type':'input_audio','input_audio':{}}]},"
	    "{'role':'user','content':'In Paris.'},"
	    "{'role':'assistant','content':'Let me check.',"
	    " 'reasoning_content':'They want weather.',"
	    " 'thinking_blocks':[{'type':'thinking','thinking':'They want "
	    "weather.',"
	    "  "
	    "'signature':'EqQBCgIYAh'},{'type':'redacted_thinking','data':'"
	    "EmwKA'},"
	    "  {'type':'thinking','thinking':'unsigned'}],"
	    " 'tool_calls':[{'id':'toolu_01A','type':'function','function':"
	    "  {'name':'get_weather','arguments':'{\\'city\\':\\'Paris\\'}'}},"
	    "  {'id':'toolu_01B','type':'function','function':"
	    "  {'name':'get_time','arguments':'not json'}}]},"
	    "{'role':'tool','tool_call_id':'toolu_01A','content':'15C, sunny'},"
	    "{'role':'tool','tool_call_id':'toolu_01B','content':"
	    " [{'type':'text','text':'12:00'}]},"
	    "{'role':'user','content':'Thanks'}],"
	    "'tools':[{'type':'function','function':{'name':'get_weather',"
	    " 'description':'Weather','parameters':{'type':'object','"
	    "properties':"
	    " {'city':{'type':'string'}},'required':['city']}},"
	    " 'cache_control':{'type':'ephemeral'}},"
	    " {'type':'function','function':{'name':'get_time'}}],"
	    "'tool_choice':'required','parallel_tool_calls':false,"
	    "'stop':['  ','END'],'temperature':1.7,'top_p':0.9,'top_k':40,"
	    "'user':'u-42','thinking':{'type':'enabled','budget_tokens':2048},"
	    "'response_format':{'type':'json_object'},'n':1,"
	    "'stream_options':{'include_usage':true}}",
	    0, 4096, &pc);
	assert_json(b,
	    "{'model':'claude-sonnet-4-5-20250929','max_tokens':4096,"
	    "'system':'You are terse.\\n\\nUse SI.',"
	    "'messages':["
	    "{'role':'user','content':[{'type':'text','text':'Weather?'},"
	    " {'type':'image','source':{'type':'base64','media_type':'image/"
	    "png',"
	    "  'data':'iVBO'}},"
	    " {'type':'image','source':{'type':'url','url':'https://x.test/"
	    "a.jpg'}},"
	    " {'type':'document','source':{'type':'base64',"
	    "  'media_type':'application/pdf','data':'JVBE'},'title':'a.pdf'},"
	    " {'type':'text','text':'In Paris.'}]},"
	    "{'role':'assistant','content':["
	    " {'type':'thinking','thinking':'They want weather.',"
	    "  "
	    "'signature':'EqQBCgIYAh'},{'type':'redacted_thinking','data':'"
	    "EmwKA'},"
	    " {'type':'text','text':'Let me check.'},"
	    " {'type':'tool_use','id':'toolu_01A','name':'get_weather',"
	    "  'input':{'city':'Paris'}},"
	    " {'type':'tool_use','id':'toolu_01B','name':'get_time','input':{}}"
	    "]},"
	    "{'role':'user','content':["
	    " {'type':'tool_result','tool_use_id':'toolu_01A','content':'15C, "
	    "sunny'},"
	    " {'type':'tool_result','tool_use_id':'toolu_01B','content':"
	    "  [{'type':'text','text':'12:00'}]},"
	    " {'type':'text','text':'Thanks'}]}],"
	    "'tools':[{'name':'get_weather','description':'Weather','input_"
	    "schema':"
	    " {'type':'object','properties':{'city':{'type':'string'}},"
	    " 'required':['city']},'cache_control':{'type':'ephemeral'}},"
	    " {'name':'get_time','input_schema':{'type':'object','properties':{"
	    "}}}],"
	    "'tool_choice':{'type':'any','disable_parallel_tool_use':true},"
	    "'stop_sequences':['END'],'metadata':{'user_id':'u-42'},"
	    "'thinking':{'type':'enabled','budget_tokens':2048}}");
	json_decref(b);
	arena_free(a);
}

/*
 * cache_control survives: on a system part the system goes in block form,
 * on a message it lands on its last block; a tool result put before the
 * user text it follows; reasoning with a bare signature.
 */
static void
test_build_cache_and_order(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call pc;
	json_t *b;

	(void)state;
	b = built(a,
	    "{'messages':[{'role':'system','content':[{'type':'text','text':"
	    " 'Long doc','cache_control':{'type':'ephemeral'}}]},"
	    "{'role':'system','content':'Be brief.'},"
	    "{'role':'user','content':'a','cache_control':{'type':'ephemeral',"
	    " 'ttl':'1h'}},"
	    "{'role':'assistant','content':null,'reasoning_content':'hmm',"
	    " 'reasoning_signature':'sig1','tool_calls':[{'type':'function',"
	    " 'function':{'name':'f','arguments':'[1]'}}]},"
	    "{'role':'user','content':'also'},"
	    "{'role':'tool','tool_call_id':'toolu_tg_0','content':''},"
	    "{'role':'assistant','content':'','reasoning_content':'no sig'},"
	    "{'role':'assistant','content':'ok'}],"
	    "'tools':[{'type':'function','function':{'name':'f'}}],"
	    "'tool_choice':{'type':'function','function':{'name':'f'}},"
	    "'stop':'STOP','temperature':-1}",
	    0, 100, &pc);
	assert_json(b,
	    "{'model':'claude-sonnet-4-5-20250929','max_tokens':100,"
	    "'system':[{'type':'text','text':'Long doc','cache_control':"
	    " {'type':'ephemeral'}},{'type':'text','text':'Be brief.'}],"
	    "'messages':["
	    "{'role':'user','content':[{'type':'text','text':'a','cache_"
	    "control':"
	    " {'type':'ephemeral','ttl':'1h'}}]},"
	    "{'role':'assistant','content':[{'type':'thinking','thinking':'hmm'"
	    ","
	    " 'signature':'sig1'},{'type':'tool_use','id':'toolu_tg_0','name':'"
	    "f',"
	    " 'input':{}}]},"
	    "{'role':'user','content':[{'type':'tool_result','tool_use_id':"
	    " 'toolu_tg_0'},{'type':'text','text':'also'}]},"
	    "{'role':'assistant','content':[{'type':'text','text':'ok'}]}],"
	    "'tools':[{'name':'f','input_schema':{'type':'object','properties':"
	    "{}}}],"
	    "'tool_choice':{'type':'tool','name':'f'},"
	    "'stop_sequences':['STOP'],'temperature':0.0}");
	json_decref(b);
	/* tool_choice none keeps no parallel flag; no tools, no tool_choice. */
	b = built(a,
	    "{'messages':[],'tools':[{'type':'function','function':{'name':'f'}"
	    "}],"
	    "'tool_choice':'none','parallel_tool_calls':false}",
	    0, 5, &pc);
	assert_json(json_object_get(b, "tool_choice"), "{'type':'none'}");
	json_decref(b);
	b = built(
	    a, "{'messages':[],'tools':[],'tool_choice':'auto'}", 0, 5, &pc);
	assert_null(json_object_get(b, "tool_choice"));
	assert_null(json_object_get(b, "tools"));
	json_decref(b);
	/* Sampling kept without thinking (temperature clamped), or with it off. */
	b = built(a,
	    "{'messages':[],'temperature':1.7,'top_p':0.5,'top_k':40,"
	    "'thinking':{'type':'disabled'}}",
	    0, 5, &pc);
	assert_json(b,
	    "{'model':'claude-sonnet-4-5-20250929','max_tokens':5,'messages':[]"
	    ","
	    "'temperature':1.0,'top_p':0.5,'top_k':40,'thinking':{'type':"
	    "'disabled'}}");
	json_decref(b);
	/* With thinking on, only a top_p of 0.95 or more is accepted. */
	b = built(a,
	    "{'messages':[],'temperature':0.2,'top_p':0.95,'top_k':40,"
	    "'thinking':{'type':'adaptive'}}",
	    0, 5, &pc);
	assert_json(b,
	    "{'model':'claude-sonnet-4-5-20250929','max_tokens':5,'messages':[]"
	    ","
	    "'top_p':0.95,'thinking':{'type':'adaptive'}}");
	json_decref(b);
	/* reasoning_effort as a budget, kept below the cap, or none. */
	b = built(a, "{'messages':[],'reasoning_effort':'high','top_k':3}", 0,
	    8192, &pc);
	assert_json(json_object_get(b, "thinking"),
	    "{'type':'enabled','budget_tokens':4096}");
	assert_null(json_object_get(b, "top_k"));
	json_decref(b);
	b = built(
	    a, "{'messages':[],'reasoning_effort':'medium'}", 0, 1500, &pc);
	assert_json(json_object_get(b, "thinking"),
	    "{'type':'enabled','budget_tokens':1499}");
	json_decref(b);
	b = built(a,
	    "{'messages':[],'reasoning_effort':'low','temperature':0.5}", 0,
	    1024, &pc);
	assert_null(json_object_get(b, "thinking"));
	assert_non_null(json_object_get(b, "temperature"));
	json_decref(b);
	b = built(a,
	    "{'messages':[],'reasoning_effort':'high','thinking':{'type':"
	    "'disabled'}}",
	    0, 8192, &pc);
	assert_json(json_object_get(b, "thinking"), "{'type':'disabled'}");
	json_decref(b);
	b = built(a,
	    "{'messages':[],'tools':[{'type':'function','function':{'name':'f'}"
	    "}],"
	    "'parallel_tool_calls':false}",
	    0, 5, &pc);
	assert_json(json_object_get(b, "tool_choice"),
	    "{'type':'auto','disable_parallel_tool_use':true}");
	json_decref(b);
	arena_free(a);
}

/* The client's own body: model, cap and stream set, the rest untouched. */
static void
test_build_native(void **state)
{
	struct arena *a = arena_new(0);
	struct prov_call pc;
	json_t *in, *b;
	char *before, *after;

	(void)state;
	in = J("{'model':'anthropic/claude-sonnet-4.5','max_tokens':64000,"
	       "'system':[{'type':'text','text':'S','cache_control':"
	       " {'type':'ephemeral'}}],"
	       "'messages':[{'role':'assistant','content':[{'type':'thinking',"
	       " 'thinking':'t','signature':'sig'}]}],"
	       "'thinking':{'type':'enabled','budget_tokens':1024},"
	       "'service_tier':'auto','stream':false}");
	before = json_dumps(in, JSON_SORT_KEYS);
	assert_int_equal(prov_anthropic_ops.build_native(
			     a, &rt, in, 1, 2048, "sk-ant-secret", &pc),
	    0);
	b = json_loadb(pc.body, pc.body_len, 0, NULL);
	assert_json(b,
	    "{'model':'claude-sonnet-4-5-20250929','max_tokens':2048,"
	    "'system':[{'type':'text','text':'S','cache_control':"
	    " {'type':'ephemeral'}}],"
	    "'messages':[{'role':'assistant','content':[{'type':'thinking',"
	    " 'thinking':'t','signature':'sig'}]}],"
	    "'thinking':{'type':'enabled','budget_tokens':1024},"
	    "'service_tier':'auto','stream':true}");
	assert_string_equal(pc.url, "https://api.anthropic.com/v1/messages");
	assert_string_equal(pc.secret_header, "x-api-key: sk-ant-secret");
	/* The client's tree is kept for a retry elsewhere. */
	after = json_dumps(in, JSON_SORT_KEYS);
	assert_string_equal(before, after);
	free(after);
	json_decref(b);
	json_decref(in);
	free(before);
	arena_free(a);
}

/* Anthropic's documented answer with text and a tool call, cache usage. */
static void
test_answer_tools_cache(void **state)
{
	json_t *an, *o;
	struct token_counts u;

	(void)state;
	an = J(
	    "{'id':'msg_01XYZ','type':'message','role':'assistant',"
	    "'model':'claude-sonnet-4-5-20250929','content':["
	    "{'type':'text','text':'It is 15C.','citations':null},"
	    "{'type':'text','text':' Lyon next.'},"
	    "{'type':'tool_use','id':'toolu_01B','name':'get_weather',"
	    " 'input':{'city':'Lyon'}}],"
	    "'stop_reason':'tool_use','stop_sequence':null,"
	    "'usage':{'input_tokens':412,'output_tokens':58,"
	    "'cache_creation_input_tokens':100,'cache_read_input_tokens':2048,"
	    "'cache_creation':{'ephemeral_5m_input_tokens':100,"
	    "'ephemeral_1h_input_tokens':0},'server_tool_use':null,"
	    "'service_tier':'standard'}}");
	o = prov_anthropic_ops.answer_to_openai(
	    an, "anthropic/claude-sonnet-4.5");
	assert_non_null(o);
	assert_true(json_integer_value(json_object_get(o, "created")) > 0);
	json_object_del(o, "created");
	assert_json(o,
	    "{'id':'chatcmpl-msg_01XYZ','object':'chat.completion',"
	    "'model':'anthropic/claude-sonnet-4.5','choices':[{'index':0,"
	    "'message':{'role':'assistant','content':'It is 15C. Lyon next.',"
	    "'tool_calls':[{'id':'toolu_01B','type':'function','function':"
	    "{'name':'get_weather','arguments':'{\\'city\\':\\'Lyon\\'}'}}]},"
	    "'logprobs':null,'finish_reason':'tool_calls'}],"
	    "'usage':{'prompt_tokens':2560,'completion_tokens':58,"
	    "'total_tokens':2618,'prompt_tokens_details':{'cached_tokens':2048,"
	    "'cache_write_tokens':100},'completion_tokens_details':"
	    "{'reasoning_tokens':0}}}");
	/* The native reader: the same counts, in token_counts. */
	assert_int_equal(prov_anthropic_ops.answer_usage(an, &u), PU_COUNTS);
	assert_true(u.present);
	assert_int_equal(u.prompt, 2560);
	assert_int_equal(u.cached, 2048);
	assert_int_equal(u.cache_write, 100);
	assert_int_equal(u.completion, 58);
	assert_int_equal(u.upstream_cost, -1);
	/* Text bytes: both texts and the tool's input as its arguments. */
	assert_int_equal(prov_anthropic_ops.text(an, NULL),
	    strlen("It is 15C.") + strlen(" Lyon next.") +
		strlen("{\"city\":\"Lyon\"}"));
	json_decref(o);
	json_decref(an);
	an = J("{'type':'message','content':[],'usage':{'service_tier':'x'}}");
	assert_int_equal(prov_anthropic_ops.answer_usage(an, &u), PU_NO_COUNTS);
	json_decref(an);
	an = J("{'type':'error','error':{'type':'x','message':'y'}}");
	assert_null(prov_anthropic_ops.answer_to_openai(an, "m"));
	json_decref(an);
}

/* Extended thinking: reasoning_content, the blocks kept, billed as output. */
static void
test_answer_thinking(void **state)
{
	json_t *an, *o, *m;
	struct token_counts u;
	struct buf sink;

	(void)state;
	an = J(
	    "{'id':'msg_02','type':'message','role':'assistant','content':["
	    "{'type':'thinking','thinking':'Let me add.','signature':'EqQB'},"
	    "{'type':'redacted_thinking','data':'EmwKAhgB'},"
	    "{'type':'text','text':'4'}],'stop_reason':'end_turn',"
	    "'usage':{'input_tokens':20,'output_tokens':90,"
	    "'cache_creation_input_tokens':null,'cache_read_input_tokens':null,"
	    "'output_tokens_details':{'thinking_tokens':80}}}");
	o = prov_anthropic_ops.answer_to_openai(an, "m");
	m = json_object_get(
	    json_array_get(json_object_get(o, "choices"), 0), "message");
	assert_json(m,
	    "{'role':'assistant','content':'4','reasoning_content':"
	    "'Let me add.','thinking_blocks':[{'type':'thinking','thinking':"
	    "'Let me add.','signature':'EqQB'},{'type':'redacted_thinking',"
	    "'data':'EmwKAhgB'}]}");
	assert_json(json_object_get(o, "usage"),
	    "{'prompt_tokens':20,'completion_tokens':90,'total_tokens':110,"
	    "'prompt_tokens_details':{'cached_tokens':0,'cache_write_tokens':0}"
	    ","
	    "'completion_tokens_details':{'reasoning_tokens':80}}");
	assert_int_equal(prov_anthropic_ops.answer_usage(an, &u), PU_COUNTS);
	assert_int_equal(u.completion, 90);
	assert_int_equal(u.reasoning, 80);
	/* The text sink keeps its cap and whole characters. */
	buf_init(&sink, 6);
	assert_int_equal(
	    prov_anthropic_ops.text(an, &sink), strlen("Let me add.") + 1);
	assert_int_equal(sink.len, 5);
	assert_memory_equal(sink.data, "Let m", 5);
	buf_free(&sink);
	json_decref(o);
	json_decref(an);
}

static void
test_stop_reasons(void **state)
{
	static const char *const cases[][2] = {
	    {"end_turn", "stop"},
	    {"stop_sequence", "stop"},
	    {"pause_turn", "stop"},
	    {"max_tokens", "length"},
	    {"model_context_window_exceeded", "length"},
	    {"tool_use", "tool_calls"},
	    {"refusal", "content_filter"},
	    {"something_new", "stop"},
	};
	json_t *an, *o;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		an = json_pack("{s:s, s:[], s:s}", "type", "message", "content",
		    "stop_reason", cases[i][0]);
		o = prov_anthropic_ops.answer_to_openai(an, "m");
		assert_string_equal(
		    jx_str(json_array_get(json_object_get(o, "choices"), 0),
			"finish_reason"),
		    cases[i][1]);
		assert_true(json_is_null(json_object_get(
		    json_object_get(
			json_array_get(json_object_get(o, "choices"), 0),
			"message"),
		    "content")));
		json_decref(o);
		json_decref(an);
	}
}

/*
 * A recorded stream (Anthropic's documented example, with thinking, a ping,
 * an unknown event and cumulative usage with null cache fields), split into
 * its SSE events as the relay does.
 */
static const char stream_text[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_01XYZ\","
    "\"type\":\"message\",\"role\":\"assistant\",\"model\":"
    "\"claude-sonnet-4-5\",\"content\":[],\"stop_reason\":null,"
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
    "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":2000,"
    "\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\":\"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
    "{\"type\":\"thinking_delta\",\"thinking\":\"Check the weather.\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
    "{\"type\":\"signature_delta\",\"signature\":\"EqQBCgIYAh\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
    "{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
    "{\"type\":\"text_delta\",\"text\":\"Hello\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":"
    "{\"type\":\"text_delta\",\"text\":\" there\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: future_event\n"
    "data: {\"type\":\"future_event\",\"x\":1}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01A\",\"name\":\"get_weather\","
    "\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
    "{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
    "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":2,\"delta\":"
    "{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":3,\"content_block\":"
    "{\"type\":\"tool_use\",\"id\":\"toolu_01B\",\"name\":\"get_time\","
    "\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":3,\"delta\":"
    "{\"type\":\"input_json_delta\",\"partial_json\":\"{}\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":3}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"tool_use\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":70,"
    "\"cache_read_input_tokens\":null}}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"tool_use\"},\"usage\":{\"output_tokens\":89,\"input_tokens\":25}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n"
    "event: ping\n"
    "data: {\"type\":\"ping\"}\n\n";

/* Each event of text as {"event": name, "data": tree}, in order. */
static json_t *
split_events(const char *text)
{
	json_t *evs = json_array();
	const char *p = text, *nl;
	char name[64] = "";

	for (; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		assert_non_null(nl);
		if (strncmp(p, "event: ", 7) == 0)
			snprintf(name, sizeof(name), "%.*s", (int)(nl - p - 7),
			    p + 7);
		else if (strncmp(p, "data: ", 6) == 0)
			json_array_append_new(evs,
			    json_pack("{s:s, s:o}", "event", name, "data",
				json_loadb(
				    p + 6, (size_t)(nl - p - 6), 0, NULL)));
	}
	return evs;
}

/* The chunk each event gave (as JSON text without id, created, model). */
static void
test_stream_to_openai(void **state)
{
	struct prov_xlate xl;
	json_t *evs = split_events(stream_text), *out = json_array(), *ev, *c;
	size_t i;

	(void)state;
	memset(&xl, 0, sizeof(xl));
	xl.model = "anthropic/claude-sonnet-4.5";
	xl.created = 1700000000;
	json_array_foreach(evs, i, ev)
		assert_int_equal(
		    prov_anthropic_ops.event_to_openai(&xl, jx_str(ev, "event"),
			json_object_get(ev, "data"), out),
		    0);
	json_array_foreach(out, i, c) {
		assert_string_equal(jx_str(c, "id"), "chatcmpl-msg_01XYZ");
		assert_string_equal(
		    jx_str(c, "object"), "chat.completion.chunk");
		assert_string_equal(
		    jx_str(c, "model"), "anthropic/claude-sonnet-4.5");
		assert_int_equal(
		    json_integer_value(json_object_get(c, "created")),
		    1700000000);
		json_object_del(c, "id");
		json_object_del(c, "object");
		json_object_del(c, "model");
		json_object_del(c, "created");
	}
#define CH(d, f)                                                               \
	"{'choices':[{'index':0,'delta':" d ",'logprobs':null,"                \
	"'finish_reason':" f "}]}"
	assert_json(out,
	    "[" CH("{'role':'assistant','content':''}", "null") "," CH(
		"{'reasoning_content':'Check the weather.'}",
		"null") "," CH("{'thinking_blocks':[{'type':'thinking','"
			       "thinking':'',"
			       "'signature':'EqQBCgIYAh'}]}",
		"null") "," CH("{'content':'Hello'}",
		"null") "," CH("{'content':' there'}",
		"null") "," CH("{'tool_calls':[{'index':0,'id':'toolu_01A','"
			       "type':'function',"
			       "'function':{'name':'get_weather','arguments':''"
			       "}}]}",
		"null") "," CH("{'tool_calls':[{'index':0,'function':{'"
			       "arguments':"
			       "'{\\'city\\': '}}]}",
		"null") "," CH("{'tool_calls':[{'index':0,'function':{'"
			       "arguments':"
			       "'\\'Paris\\'}'}}]}",
		"null") "," CH("{'tool_calls':[{'index':1,'id':'toolu_01B','"
			       "type':'function',"
			       "'function':{'name':'get_time','arguments':''}}]"
			       "}",
		"null") "," CH("{'tool_calls':[{'index':1,'function':{'"
			       "arguments':'{}'}}]}",
		"null") "," CH("{}",
		"'tool_calls'") ","
				"{'choices':[],'usage':{'prompt_tokens':2035,'"
				"completion_tokens':89,"
				"'total_tokens':2124,'prompt_tokens_details':{'"
				"cached_tokens':2000,"
				"'cache_write_tokens':10},'completion_tokens_"
				"details':"
				"{'reasoning_tokens':0}}}]");
#undef CH
	json_decref(out);
	json_decref(evs);
}

/* The relay's own id wins; a stream cut before message_delta still ends. */
static void
test_stream_id_and_end(void **state)
{
	struct prov_xlate xl;
	json_t *out = json_array(), *ev;

	(void)state;
	memset(&xl, 0, sizeof(xl));
	xl.id = "chatcmpl-tg1";
	ev = J("{'type':'message_start','message':{'id':'msg_9','usage':"
	       "{'input_tokens':5,'output_tokens':1}}}");
	assert_int_equal(
	    prov_anthropic_ops.event_to_openai(&xl, NULL, ev, out), 0);
	json_decref(ev);
	/* The SSE name when the data has no type. */
	ev = J("{}");
	assert_int_equal(
	    prov_anthropic_ops.event_to_openai(&xl, "message_stop", ev, out),
	    0);
	assert_int_equal(
	    prov_anthropic_ops.event_to_openai(&xl, "message_stop", ev, out),
	    0);
	json_decref(ev);
	assert_int_equal(json_array_size(out), 3);
	assert_string_equal(
	    jx_str(json_array_get(out, 0), "id"), "chatcmpl-tg1");
	assert_true(
	    json_is_null(json_object_get(json_array_get(out, 0), "model")));
	assert_string_equal(
	    jx_str(json_array_get(
		       json_object_get(json_array_get(out, 1), "choices"), 0),
		"finish_reason"),
	    "stop");
	assert_json(json_object_get(json_array_get(out, 2), "usage"),
	    "{'prompt_tokens':5,'completion_tokens':1,'total_tokens':6,"
	    "'prompt_tokens_details':{'cached_tokens':0,'cache_write_tokens':0}"
	    ","
	    "'completion_tokens_details':{'reasoning_tokens':0}}");
	json_decref(out);
}

/*
 * Found by fuzz_anthropic: an event before message_start (a broken
 * upstream) gave a chunk whose id was "", not "chatcmpl-...".
 */
static void
test_stream_no_start(void **state)
{
	struct prov_xlate xl;
	json_t *out = json_array(), *ev;

	(void)state;
	memset(&xl, 0, sizeof(xl));
	ev = J("{'type':'content_block_delta','index':0,'delta':{'type':"
	       "'text_delta','text':'Hi'}}");
	assert_int_equal(
	    prov_anthropic_ops.event_to_openai(&xl, NULL, ev, out), 0);
	json_decref(ev);
	assert_int_equal(json_array_size(out), 1);
	assert_string_equal(jx_str(json_array_get(out, 0), "id"), "chatcmpl-");
	json_decref(out);
}

/* error events in OpenAI's shape, by Anthropic's types; nothing after. */
static void
test_stream_error(void **state)
{
	static const char *const cases[][3] = {
	    {"overloaded_error", "server_error", "overloaded"},
	    {"rate_limit_error", "requests", "rate_limit_exceeded"},
	    {"authentication_error", "invalid_request_error",
		"invalid_api_key"},
	    {"billing_error", "insufficient_quota", "insufficient_quota"},
	    {"api_error", "server_error", "upstream_error"},
	    {"brand_new_error", "server_error", "upstream_error"},
	};
	struct prov_xlate xl;
	json_t *out, *ev, *e;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&xl, 0, sizeof(xl));
		out = json_array();
		ev = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error",
		    "type", cases[i][0], "message", "Overloaded");
		assert_int_equal(
		    prov_anthropic_ops.event_to_openai(&xl, "error", ev, out),
		    0);
		json_decref(ev);
		ev = J("{'type':'message_stop'}");
		assert_int_equal(
		    prov_anthropic_ops.event_to_openai(&xl, NULL, ev, out), 0);
		json_decref(ev);
		assert_int_equal(json_array_size(out), 1);
		e = json_object_get(json_array_get(out, 0), "error");
		assert_string_equal(jx_str(e, "message"), "Overloaded");
		assert_string_equal(jx_str(e, "type"), cases[i][1]);
		assert_string_equal(jx_str(e, "code"), cases[i][2]);
		assert_true(json_is_null(json_object_get(e, "param")));
		json_decref(out);
	}
}

/*
 * The native readers on the same stream: the usage of message_start and
 * the message_deltas (last non-null value per field), content events
 * counted, the error event flagged.
 */
static void
test_native_events(void **state)
{
	json_t *evs = split_events(stream_text), *ev, *err;
	struct token_counts u;
	struct prov_event pe;
	size_t i, bytes = 0, content = 0, usage = 0;

	(void)state;
	memset(&u, 0, sizeof(u));
	json_array_foreach(evs, i, ev) {
		prov_anthropic_ops.event(json_object_get(ev, "data"), &u, &pe);
		assert_false(pe.error);
		assert_false(pe.strip);
		assert_false(pe.choices_array);
		bytes += pe.delta_bytes;
		content += pe.nchoices;
		usage += pe.usage;
		if (strcmp(jx_str(ev, "event"), "message_start") == 0) {
			assert_int_equal(u.prompt, 2035);
			assert_int_equal(u.completion, 1);
		}
	}
	assert_int_equal(usage, 3);
	assert_int_equal(content, 12);
	assert_int_equal(bytes,
	    strlen("Check the weather.") + strlen("Hello there") +
		strlen("{\"city\": \"Paris\"}") + 2);
	assert_true(u.present);
	assert_int_equal(u.prompt, 2035);
	assert_int_equal(u.cached, 2000);
	assert_int_equal(u.cache_write, 10);
	assert_int_equal(u.completion, 89);
	err = J("{'type':'error','error':{'type':'overloaded_error',"
		"'message':'Overloaded'}}");
	prov_anthropic_ops.event(err, &u, &pe);
	assert_true(pe.error);
	assert_int_equal(u.completion, 89);
	prov_anthropic_ops.strip_usage(err);
	assert_non_null(json_object_get(err, "error"));
	json_decref(err);
	json_decref(evs);
}

/*
 * What the relay reads from the translation (chat_usage_parse on the last
 * chunk) is what the native reader reads from the events: the same tokens
 * billed whichever API the client speaks.
 */
static void
test_usage_both_ways(void **state)
{
	json_t *evs = split_events(stream_text), *out = json_array(), *ev;
	struct token_counts native, translated;
	struct prov_xlate xl;
	struct prov_event pe;
	size_t i;

	(void)state;
	memset(&xl, 0, sizeof(xl));
	memset(&native, 0, sizeof(native));
	json_array_foreach(evs, i, ev) {
		prov_anthropic_ops.event(
		    json_object_get(ev, "data"), &native, &pe);
		assert_int_equal(prov_anthropic_ops.event_to_openai(&xl, NULL,
				     json_object_get(ev, "data"), out),
		    0);
	}
	assert_int_equal(
	    chat_usage_parse(
		json_object_get(
		    json_array_get(out, json_array_size(out) - 1), "usage"),
		&translated),
	    PU_COUNTS);
	assert_int_equal(translated.prompt, native.prompt);
	assert_int_equal(translated.cached, native.cached);
	assert_int_equal(translated.completion, native.completion);
	assert_int_equal(translated.reasoning, native.reasoning);
	assert_int_equal(native.prompt, 2035);
	json_decref(out);
	json_decref(evs);
}

static void
test_errors_and_retry(void **state)
{
	static const char body[] =
	    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
	    "\"message\":\"Overloaded\\nnow\"},\"request_id\":\"req_011CS\"}";
	static const char nf[] =
	    "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\","
	    "\"message\":\"model: claude-x\"}}";
	struct arena *a = arena_new(0);
	char big[1200];
	const char *m;
	struct jx_where w;
	struct token_counts u;

	(void)state;
	assert_string_equal(
	    prov_anthropic_ops.error_message(a, body, sizeof(body) - 1),
	    "Overloaded now");
	assert_string_equal(
	    prov_anthropic_ops.error_message(a, nf, sizeof(nf) - 1),
	    "model: claude-x");
	assert_null(prov_anthropic_ops.error_message(a, "<html>", 6));
	assert_null(prov_anthropic_ops.error_message(a, "", 0));
	snprintf(big, sizeof(big), "{\"error\":{\"message\":\"%01100d\"}}", 7);
	m = prov_anthropic_ops.error_message(a, big, strlen(big));
	assert_int_equal(strlen(m), 300);
	assert_true(prov_anthropic_ops.retryable(529, "", 0));
	assert_true(prov_anthropic_ops.retryable(503, body, sizeof(body) - 1));
	assert_false(prov_anthropic_ops.retryable(404, nf, sizeof(nf) - 1));
	assert_false(prov_anthropic_ops.retryable(400, "x", 1));
	assert_false(prov_anthropic_ops.retryable(200, NULL, 0));
	/* Native whole answers are read from their tree. */
	assert_int_equal(
	    prov_anthropic_ops.answer_scan(nf, sizeof(nf) - 1, &w, &u),
	    PU_LOAD_TREE);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kind_row),
	    cmocka_unit_test(test_build_call),
	    cmocka_unit_test(test_build_conversation),
	    cmocka_unit_test(test_build_cache_and_order),
	    cmocka_unit_test(test_build_native),
	    cmocka_unit_test(test_answer_tools_cache),
	    cmocka_unit_test(test_answer_thinking),
	    cmocka_unit_test(test_stop_reasons),
	    cmocka_unit_test(test_stream_to_openai),
	    cmocka_unit_test(test_stream_id_and_end),
	    cmocka_unit_test(test_stream_no_start),
	    cmocka_unit_test(test_stream_error),
	    cmocka_unit_test(test_native_events),
	    cmocka_unit_test(test_usage_both_ways),
	    cmocka_unit_test(test_errors_and_retry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
