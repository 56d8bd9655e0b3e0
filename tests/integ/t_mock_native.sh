#!/usr/bin/env bash
# t_mock_native.sh: the mock upstream's Anthropic and Gemini wires against their contract
# (tests/mock-provider/README.md "Anthropic" and "Gemini"), over real sockets with curl.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

: "${TOLLGATE_BUILDDIR:=$TOLLGATE_SRCDIR}"
MOCK=$TOLLGATE_BUILDDIR/tests/mock-provider/mock-provider
[ -x "$MOCK" ] || skip "mock provider $MOCK not built"
need_cmd curl jq
make_tmp

KEY=sk-mock-0123456789
OVL=sk-mock-overloaded-ovld
GQ=sk-mock-gemini-quota-gquo
start_bg mock "$MOCK" -p 0 -l "$T/requests.jsonl" -x "$OVL=overloaded" \
	-x "$GQ=status=429,retry_after=3"
mock_port() { sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/log/mock.out"; }
has_port() { [ -n "$(mock_port)" ]; }
wait_for "mock prints its port" 10 has_port || bail "mock provider starts"
M=http://127.0.0.1:$(mock_port)
AV=(-H 'anthropic-version: 2023-06-01' -H 'content-type: application/json')

# amsg BODY [curl args...]: POST /v1/messages with the key and anthropic-version.
amsg() {
	local body=$1
	shift
	http POST "$M/v1/messages" -H "x-api-key: $KEY" "${AV[@]}" --data-binary "$body" "$@"
}
# chat BODY: the same prompt through the OpenAI wire, to compare counts.
chat() {
	http POST "$M/v1/chat/completions" -H "Authorization: Bearer $KEY" \
		-H 'content-type: application/json' --data-binary "$1"
}
# gen BODY [curl args...]: POST gemini-2.5-flash:generateContent with x-goog-api-key.
GM=$M/v1beta/models/gemini-2.5-flash
gen() {
	local body=$1
	shift
	http POST "$GM:generateContent" -H "x-goog-api-key: $KEY" \
		-H 'content-type: application/json' --data-binary "$body" "$@"
}

# stream URL BODY [curl args...]: into $T/sse (raw); $T/names the event: names, $T/events
# one data JSON a line; $sse_rc is curl's exit status.
stream() {
	local url=$1 body=$2
	shift 2
	sse_rc=0
	curl -sSN -m 20 -o "$T/sse" -D "$T/hdr.raw" "$url" -H 'content-type: application/json' \
		--data-binary "$body" "$@" 2>"$T/curl.err" || sse_rc=$?
	tr -d '\r' <"$T/hdr.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$T/hdr"
	tr -d '\r' <"$T/sse" | sed -n 's/^event: //p' >"$T/names"
	tr -d '\r' <"$T/sse" | sed -n 's/^data: //p' >"$T/events"
	last_req="STREAM $url $body -> rc $sse_rc"
	cp "$T/sse" "$T/body"
}
asse() { stream "$M/v1/messages" "$1" -H "x-api-key: $KEY" "${AV[@]}" "${@:2}"; }
gsse() { stream "$GM:streamGenerateContent?alt=sse" "$1" -H "x-goog-api-key: $KEY" "${@:2}"; }
names() { tr '\n' ' ' <"$T/names" | sed 's/ $//'; }
ev_is() { sed -n "${1}p" "$T/events" | jq -e "$2" >/dev/null 2>&1; }
events_are() { jq -se "$1" "$T/events" >/dev/null 2>&1; }
nev() { wc -l <"$T/events" | tr -d ' '; }

# corrupt_is N: the last answer is a 200 spoilt as corrupt=N says (jq itself takes the 0xff
# byte and the lone surrogate, so those are looked for as bytes).
corrupt_is() {
	[ "$code" = 200 ] || return 1
	case $1 in
	1) ! body_is_json ;;
	2) LC_ALL=C grep -q $'\xff' "$T/body" ;;
	3) grep -qF '\ud800' "$T/body" ;;
	4) grep -Eq '[0-9]{20}' "$T/body" ;;
	esac
}

SYS_USER='"system":"be terse","messages":[{"role":"user","content":"hello there"}]'
REPLY12="mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10"
TOOLS='"tools":[{"name":"get_weather","description":"w","input_schema":{"type":"object"}}]'

# === Anthropic ================================================================================
# --- auth and headers -------------------------------------------------------------------------
http POST "$M/v1/messages" -H 'x-api-key: sk-wrong-key-abcdef1234' "${AV[@]}" \
	--data-binary "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}"
check "anthropic: wrong key is 401 authentication_error" json_is \
	'.type == "error" and .error.type == "authentication_error" and .error.message == "invalid x-api-key"'
check "anthropic: status 401" status_is 401
check "anthropic: request_id in the body is the request-id header" \
	test "$(jq -r .request_id "$T/body")" = "$(hdr request-id)"
http POST "$M/v1/messages" -H "Authorization: Bearer $KEY" "${AV[@]}" \
	--data-binary "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}"
check "anthropic: a Bearer key is no x-api-key (401 header required)" json_is \
	'.error.type == "authentication_error" and (.error.message | test("x-api-key header is required"))'
http POST "$M/v1/messages" -H "x-api-key: $KEY" -H 'content-type: application/json' \
	--data-binary "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}"
check "anthropic: no anthropic-version is 400" test "$code/$(jq -r .error.message "$T/body")" = \
	"400/anthropic-version: header is required"

# --- non-stream answer and counts -------------------------------------------------------------
# input: system 4 + 2 ("be terse") + user 4 + 2 ("hello there") = 12, as the OpenAI wire counts.
amsg "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":100,$SYS_USER}"
check "anthropic: 200 JSON" test "$code/$(hdr content-type)" = 200/application/json
check "anthropic: message shape" json_is \
	'(.id|startswith("msg_")) and .type == "message" and .role == "assistant" and .model == "claude-sonnet-4-5"'
check "anthropic: one text block with the 12-word reply" json_is \
	".content == [{\"type\":\"text\",\"text\":\"$REPLY12\"}]"
check "anthropic: end_turn, stop_sequence null" json_is '.stop_reason == "end_turn" and .stop_sequence == null'
check "anthropic: usage 12 in, 12 out, no cache" json_is \
	'.usage.input_tokens == 12 and .usage.output_tokens == 12 and .usage.cache_creation_input_tokens == 0 and .usage.cache_read_input_tokens == 0'
check "anthropic: ratelimit headers, reset as RFC 3339" \
	grep -Eq '^anthropic-ratelimit-requests-reset: [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "$T/hdr"
chat '{"model":"m","messages":[{"role":"system","content":"be terse"},{"role":"user","content":"hello there"}]}'
check "anthropic input_tokens == OpenAI prompt_tokens for the same text" json_is '.usage.prompt_tokens == 12'

http POST "$M/messages" -H "x-api-key: $KEY" "${AV[@]}" \
	--data-binary "{\"model\":\"c\",\"max_tokens\":3,$SYS_USER}"
check "anthropic: /messages without /v1; max_tokens caps (max_tokens stop)" json_is \
	'.content[0].text == "mock reply word1" and .stop_reason == "max_tokens" and .usage.output_tokens == 3'
amsg "{\"model\":\"c\",\"max_tokens\":50,\"stop_sequences\":[\"word2\"],$SYS_USER}"
check "anthropic: a stop sequence ends the reply before it" json_is \
	'.content[0].text == "mock reply word1" and .stop_reason == "stop_sequence" and .stop_sequence == "word2" and .usage.output_tokens == 3'

amsg "{\"model\":\"c\",\"max_tokens\":50,$SYS_USER}" -H 'X-Mock: cache_read=5,cache_write=4'
check "anthropic: cache_read/cache_write split the input (3 + 4 + 5 = 12)" json_is \
	'.usage.input_tokens == 3 and .usage.cache_creation_input_tokens == 4 and .usage.cache_read_input_tokens == 5 and .usage.cache_creation.ephemeral_5m_input_tokens == 4'
amsg '{"model":"c","max_tokens":50,"system":[{"type":"text","text":"be terse","cache_control":{"type":"ephemeral"}}],"messages":[{"role":"user","content":[{"type":"text","text":"hello there","cache_control":{"type":"ephemeral"}}]}]}'
check "anthropic: cache_control blocks count as text (12)" json_is '.usage.input_tokens == 12'
amsg "{\"model\":\"c\",\"max_tokens\":50,$SYS_USER}" -H 'X-Mock: cache_read=10,cache_write=10'
check "anthropic: cache counts capped at the input (0 + 2 + 10)" json_is \
	'.usage.input_tokens == 0 and .usage.cache_creation_input_tokens == 2 and .usage.cache_read_input_tokens == 10'

amsg "{\"model\":\"c\",\"max_tokens\":4096,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},$SYS_USER}"
check "anthropic: thinking enabled: a thinking block with a signature, then the text" json_is \
	'.content[0].type == "thinking" and .content[0].thinking == "think1 think2 think3 think4 think5 think6" and (.content[0].signature|length) > 0 and .content[1].type == "text"'
check "anthropic: thinking is billed as output (12 + 6)" json_is '.usage.output_tokens == 18'
amsg '{"model":"c","max_tokens":50,"messages":[{"role":"user","content":"hi [mock:reasoning=2,words=3]"}]}'
check "anthropic: reasoning=R directive without the thinking param" json_is \
	'.content[0].thinking == "think1 think2" and .content[1].text == "mock reply word1" and .usage.output_tokens == 5 and .usage.input_tokens == 5'

amsg "{\"model\":\"c\",\"max_tokens\":50,$TOOLS,\"messages\":[{\"role\":\"user\",\"content\":\"weather? call a tool\"}]}"
check "anthropic: tools + 'call a tool': one tool_use block" json_is \
	'.content | length == 1 and .[0].type == "tool_use" and (.[0].id|startswith("toolu_")) and .[0].name == "get_weather" and .[0].input == {"location":"Paris","unit":"celsius"}'
check "anthropic: tool_use stop, 4 output tokens" json_is '.stop_reason == "tool_use" and .usage.output_tokens == 4'
amsg "{\"model\":\"c\",\"max_tokens\":50,$TOOLS,\"messages\":[{\"role\":\"user\",\"content\":\"weather\"}]}" \
	-H 'X-Mock: tool_call'
check "anthropic: tool_call directive calls the tool too" json_is '.content[0].type == "tool_use"'
amsg "{\"model\":\"c\",\"max_tokens\":50,$TOOLS,\"messages\":[{\"role\":\"user\",\"content\":\"weather\"}]}"
check "anthropic: tools alone do not call" json_is '.content[0].type == "text" and .stop_reason == "end_turn"'
amsg "{\"model\":\"c\",\"max_tokens\":50,$SYS_USER}" -H 'X-Mock: safety'
check "anthropic: safety is a refusal with no content" json_is \
	'.stop_reason == "refusal" and .content == [] and .usage.output_tokens == 0'
amsg "{\"model\":\"c\",\"max_tokens\":50,$SYS_USER}" -H 'X-Mock: no_usage'
check "anthropic: no_usage drops usage" json_is 'has("usage") | not'
amsg "{\"model\":\"c\",\"max_tokens\":50,$SYS_USER}" -H 'X-Mock: empty_usage'
check "anthropic: empty_usage is usage {}" json_is '.usage == {}'
for n in 1 2 3 4; do
	amsg "{\"model\":\"c\",\"max_tokens\":50,$SYS_USER}" -H "X-Mock: corrupt=$n"
	check "anthropic: corrupt=$n is a 200 no strict JSON parser accepts" corrupt_is "$n"
done

# tool_result blocks count 4 each, like the OpenAI tool messages they translate.
ACONV='"system":[{"type":"text","text":"a b"},{"type":"text","text":"c"}],"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"f","input":{}},{"type":"tool_use","id":"t2","name":"f","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"15C sunny"},{"type":"tool_result","tool_use_id":"t2","content":[{"type":"text","text":"x"}]},{"type":"text","text":"ok then"}]}]'
OCONV='"messages":[{"role":"system","content":"a b"},{"role":"system","content":"c"},{"role":"user","content":"hi"},{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"f","arguments":"{}"}},{"id":"t2","type":"function","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"t1","content":"15C sunny"},{"role":"tool","tool_call_id":"t2","content":"x"},{"role":"user","content":"ok then"}]'
http POST "$M/v1/messages/count_tokens" -H "x-api-key: $KEY" "${AV[@]}" --data-binary "{\"model\":\"c\",$ACONV}"
check "anthropic: count_tokens answers {input_tokens} (37)" json_is '. == {"input_tokens":37}'
chat "{\"model\":\"m\",$OCONV}"
check "anthropic: the same conversation in OpenAI form counts 37 too" json_is '.usage.prompt_tokens == 37'

# --- validation -------------------------------------------------------------------------------
# bad400 NAME BODY MESSAGE-REGEX: POST /v1/messages gives 400 invalid_request_error matching.
anth_400() {
	[ "$code" = 400 ] && jq -e --arg re "$1" \
		'.type == "error" and .error.type == "invalid_request_error" and (.error.message|test($re))' \
		"$T/body" >/dev/null
}
bad400() {
	amsg "$2"
	check "anthropic 400: $1" anth_400 "$3"
}
bad400 "max_tokens required" '{"model":"c","messages":[{"role":"user","content":"x"}]}' '^max_tokens: Field required'
bad400 "messages required" '{"model":"c","max_tokens":5}' '^messages: Field required'
bad400 "model required" '{"max_tokens":5,"messages":[{"role":"user","content":"x"}]}' '^model: Field required'
bad400 "no system role in messages" \
	'{"model":"c","max_tokens":5,"messages":[{"role":"system","content":"s"},{"role":"user","content":"x"}]}' \
	"^messages.0.role: Input should be 'user' or 'assistant'"
bad400 "OpenAI-only members are extra inputs" \
	'{"model":"c","max_tokens":5,"stop":["x"],"messages":[{"role":"user","content":"x"}]}' '^stop: Extra inputs'
bad400 "temperature above 1" \
	'{"model":"c","max_tokens":5,"temperature":1.5,"messages":[{"role":"user","content":"x"}]}' '^temperature:'
bad400 "thinking budget under 1024" \
	'{"model":"c","max_tokens":5000,"thinking":{"type":"enabled","budget_tokens":100},"messages":[{"role":"user","content":"x"}]}' \
	'budget_tokens: Input should be greater than or equal to 1024'
bad400 "max_tokens must exceed the thinking budget" \
	'{"model":"c","max_tokens":1024,"thinking":{"type":"enabled","budget_tokens":1024},"messages":[{"role":"user","content":"x"}]}' \
	'must be greater than `thinking.budget_tokens`'
bad400 "whitespace-only stop sequence" \
	'{"model":"c","max_tokens":5,"stop_sequences":[" "],"messages":[{"role":"user","content":"x"}]}' '^stop_sequences:'
bad400 "a tool_result needs its tool_use in the message before" \
	'{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_x","content":"r"}]}]}' \
	'^messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x'
bad400 "a tool_use needs its tool_result in the next message" \
	'{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_y","name":"f","input":{}}]},{"role":"user","content":"y"}]}' \
	'^messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_y'
bad400 "empty content (not the final assistant message)" \
	'{"model":"c","max_tokens":5,"messages":[{"role":"user","content":""}]}' 'must have non-empty content'
bad400 "an empty text block" \
	'{"model":"c","max_tokens":5,"messages":[{"role":"user","content":[{"type":"text","text":""}]}]}' \
	'text content blocks must be non-empty'
amsg '{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"x"},{"role":"assistant","content":""}]}'
check "anthropic: a final assistant message may be empty (prefill)" status_is 200
bad400 "malformed JSON" '{"model":' 'parsing the body'
bad400 "unknown directive" '{"model":"c","max_tokens":5,"messages":[{"role":"user","content":"x [mock:wordz=1]"}]}' \
	"bad directive 'wordz=1'"

# --- scripted errors --------------------------------------------------------------------------
amsg "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}" -H 'X-Mock: overloaded'
check "anthropic: overloaded is 529 overloaded_error" test \
	"$code/$(jq -r '.type + "/" + .error.type' "$T/body")" = 529/error/overloaded_error
http POST "$M/v1/messages" -H "x-api-key: $OVL" "${AV[@]}" --data-binary "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}"
check "anthropic: an -x key's script (overloaded) applies to x-api-key" status_is 529
amsg "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}" -H 'X-Mock: status=429,retry_after=2'
check "anthropic: 429 rate_limit_error with retry-after" test \
	"$code/$(jq -r .error.type "$T/body")/$(hdr retry-after)/$(hdr anthropic-ratelimit-requests-remaining)" = \
	429/rate_limit_error/2/0
amsg "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}" -H 'X-Mock: status=429_quota'
check "anthropic: 429_quota is the spend limit (not to retry)" json_is \
	'.error.details.error_code == "enforced_spend_limit_reached"'
for s in 402:billing_error 403:permission_error 404:not_found_error 500:api_error 504:timeout_error; do
	amsg "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}" -H "X-Mock: status=${s%%:*}"
	check "anthropic: status=${s%%:*} is ${s#*:}" test "$code/$(jq -r .error.type "$T/body")" = "${s%%:*}/${s#*:}"
done
amsg "{\"model\":\"c\",\"max_tokens\":9,$SYS_USER}" -H 'X-Mock: status=503'
check "anthropic: status=503 is a proxy's HTML page" test "$code/$(hdr content-type)" = 503/text/html

# --- streaming --------------------------------------------------------------------------------
asse "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,$SYS_USER}" -H 'X-Mock: words=3'
check "anthropic stream: ends cleanly, text/event-stream" test "$sse_rc/$(hdr content-type)" = \
	"0/text/event-stream; charset=utf-8"
check "anthropic stream: Anthropic's event order" test "$(names)" = \
	"message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
check "anthropic stream: every data.type repeats its event: name" test \
	"$(jq -r .type "$T/events" | tr '\n' ' ' | sed 's/ $//')" = "$(names)"
check "anthropic stream: every event is 'event:' + 'data:' + blank line" test \
	"$(grep -c '^event: ' "$T/sse")/$(grep -c '^data: ' "$T/sse")/$(grep -c '^$' "$T/sse")" = 9/9/9
check "anthropic stream: no [DONE]" test "$(grep -c 'DONE' "$T/sse")" -eq 0
check "anthropic stream: message_start has the input usage and output_tokens 1" ev_is 1 \
	'.message.usage.input_tokens == 12 and .message.usage.output_tokens == 1 and .message.content == [] and .message.stop_reason == null and (.message.id|startswith("msg_"))'
check "anthropic stream: text block starts empty" ev_is 2 '.index == 0 and .content_block == {"type":"text","text":""}'
check "anthropic stream: one text_delta per word" events_are \
	'[.[] | select(.type == "content_block_delta") | .delta | select(.type == "text_delta") | .text] == ["mock", " reply", " word1"]'
check "anthropic stream: message_delta has stop_reason and output_tokens only" ev_is 8 \
	'.delta == {"stop_reason":"end_turn","stop_sequence":null} and .usage == {"output_tokens":3}'

asse "{\"model\":\"c\",\"max_tokens\":4096,\"stream\":true,\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":1024},$TOOLS,\"messages\":[{\"role\":\"user\",\"content\":\"call a tool\"}]}" \
	-H 'X-Mock: reasoning=2,cache_read=2,cache_write=1'
check "anthropic stream: thinking block then tool_use block" test "$(names)" = \
	"message_start content_block_start ping content_block_delta content_block_delta content_block_delta content_block_stop content_block_start content_block_delta content_block_delta content_block_delta content_block_delta content_block_delta content_block_stop message_delta message_stop"
check "anthropic stream: cache counts in message_start (7 = 4 + 1 + 2)" ev_is 1 \
	'.message.usage.input_tokens == 4 and .message.usage.cache_creation_input_tokens == 1 and .message.usage.cache_read_input_tokens == 2'
check "anthropic stream: thinking_delta words then a signature_delta" events_are \
	'[.[] | select(.type == "content_block_delta" and .index == 0) | .delta.type] == ["thinking_delta","thinking_delta","signature_delta"]'
check "anthropic stream: tool_use starts with input {} at index 1" ev_is 8 \
	'.index == 1 and .content_block.type == "tool_use" and .content_block.name == "get_weather" and .content_block.input == {}'
check "anthropic stream: input_json_delta starts with \"\" and joins to the input" events_are \
	'[.[] | select(.delta.type? == "input_json_delta") | .delta.partial_json] | (.[0] == "") and (join("") | fromjson) == {"location":"Paris","unit":"celsius"}'
check "anthropic stream: tool_use stop, output 4 + 2 thinking" ev_is 15 \
	'.delta.stop_reason == "tool_use" and .usage.output_tokens == 6'

asse "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,$SYS_USER}" -H 'X-Mock: words=5,error_at=2'
check "anthropic stream error_at=2: two deltas, then event: error" test "$(names)" = \
	"message_start content_block_start ping content_block_delta content_block_delta error"
check "anthropic stream error_at: overloaded_error body, clean end" ev_is 6 \
	'.type == "error" and .error.type == "overloaded_error" and .error.message == "Overloaded"'
check "anthropic stream error_at: curl ends cleanly" test "$sse_rc" -eq 0
asse "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,$SYS_USER}" -H 'X-Mock: words=5,reset_at=1'
check "anthropic stream reset_at=1: connection cut (curl 18) after one delta" test \
	"$sse_rc/$(grep -c '^event: content_block_delta' "$T/sse")" = 18/1
asse "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,$SYS_USER}" -H 'X-Mock: words=2,cache_read=3,delta_usage=1'
check "anthropic stream delta_usage=1: message_delta repeats the input counts" ev_is 7 \
	'.usage == {"output_tokens":2,"input_tokens":9,"cache_creation_input_tokens":0,"cache_read_input_tokens":3}'
asse "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,$SYS_USER}" -H 'X-Mock: words=2,delta_usage=2'
check "anthropic stream delta_usage=2: null cache fields" ev_is 7 \
	'.usage.cache_read_input_tokens == null and .usage.cache_creation_input_tokens == null and .usage.input_tokens == 12'
asse "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,$SYS_USER}" -H 'X-Mock: words=3,chunk_bytes=1'
check "anthropic stream chunk_bytes=1: same events" test "$(names | wc -w)/$sse_rc" = 9/0
asse "{\"model\":\"c\",\"max_tokens\":100,\"stream\":true,$SYS_USER}" -H 'X-Mock: safety'
check "anthropic stream safety: no block, a ping, refusal" test "$(names)" = \
	"message_start ping message_delta message_stop"

# === Gemini ===================================================================================
GBODY='"systemInstruction":{"parts":[{"text":"be terse"}]},"contents":[{"role":"user","parts":[{"text":"hello there"}]}]'
# --- auth -------------------------------------------------------------------------------------
http POST "$GM:generateContent" -H 'x-goog-api-key: AIzaWrongKey0123456789' --data-binary "{$GBODY}"
check "gemini: a wrong key is 400 API_KEY_INVALID (as Google answers)" json_is \
	'.error.code == 400 and .error.status == "INVALID_ARGUMENT" and .error.details[0].reason == "API_KEY_INVALID"'
check "gemini: status 400" status_is 400
http POST "$GM:generateContent" -H 'content-type: application/json' --data-binary "{$GBODY}"
check "gemini: no key is 403 PERMISSION_DENIED" test "$code/$(jq -r .error.status "$T/body")" = 403/PERMISSION_DENIED
http POST "$GM:generateContent?key=$KEY" -H 'content-type: application/json' --data-binary "{$GBODY}"
check "gemini: ?key= authenticates" status_is 200
http POST "$GM:generateContent" -H "Authorization: Bearer $KEY" --data-binary "{$GBODY}"
check "gemini: a Bearer key is not a Gemini key (403)" status_is 403

# --- non-stream -------------------------------------------------------------------------------
gen "{$GBODY}"
check "gemini: one candidate, role model, the reply as one text part" json_is \
	".candidates[0].content == {\"parts\":[{\"text\":\"$REPLY12\"}],\"role\":\"model\"} and .candidates[0].index == 0"
check "gemini: finishReason STOP; modelVersion and responseId" json_is \
	'.candidates[0].finishReason == "STOP" and .modelVersion == "gemini-2.5-flash" and (.responseId|type) == "string"'
check "gemini: usageMetadata 12 + 12 = 24, no thoughts or cache keys" json_is \
	'.usageMetadata.promptTokenCount == 12 and .usageMetadata.candidatesTokenCount == 12 and .usageMetadata.totalTokenCount == 24 and (.usageMetadata | has("thoughtsTokenCount") or has("cachedContentTokenCount") | not)'
gen '{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"maxOutputTokens":5}}'
check "gemini: maxOutputTokens caps the reply (MAX_TOKENS)" json_is \
	'.candidates[0].content.parts[0].text == "mock reply word1 word2 word3" and .candidates[0].finishReason == "MAX_TOKENS" and .usageMetadata.candidatesTokenCount == 5'
gen '{"contents":[{"parts":[{"text":"x"}]}],"generation_config":{"max_output_tokens":2}}'
check "gemini: snake_case spellings are accepted" json_is '.candidates[0].content.parts[0].text == "mock reply"'
gen '{"contents":[{"parts":[{"text":"x"}]}],"generationConfig":{"stopSequences":["word1"]}}'
check "gemini: a stop sequence ends the reply (STOP)" json_is \
	'.candidates[0].content.parts[0].text == "mock reply" and .candidates[0].finishReason == "STOP"'
gen "{$GBODY}" -H 'X-Mock: reasoning=3,words=2'
check "gemini: reasoning=3: a thought part, then the text" json_is \
	'.candidates[0].content.parts == [{"text":"think1 think2 think3","thought":true},{"text":"mock reply"}]'
check "gemini: thoughtsTokenCount outside candidatesTokenCount (12 + 2 + 3)" json_is \
	'.usageMetadata.thoughtsTokenCount == 3 and .usageMetadata.candidatesTokenCount == 2 and .usageMetadata.totalTokenCount == 17'
gen "{$GBODY,\"generationConfig\":{\"thinkingConfig\":{\"includeThoughts\":true}}}" -H 'X-Mock: words=1'
check "gemini: includeThoughts gives 6 thought words" json_is '.usageMetadata.thoughtsTokenCount == 6 and .candidates[0].content.parts[0].thought == true'
gen "{$GBODY,\"generationConfig\":{\"thinkingConfig\":{\"includeThoughts\":false}}}" -H 'X-Mock: words=1,reasoning=2'
check "gemini: includeThoughts false: thoughts counted, not shown" json_is \
	'.usageMetadata.thoughtsTokenCount == 2 and .candidates[0].content.parts == [{"text":"mock"}]'
gen "{$GBODY}" -H 'X-Mock: empty_usage'
check "gemini: empty_usage is usageMetadata {}" json_is '.usageMetadata == {}'
gen "{$GBODY}" -H 'X-Mock: no_usage'
check "gemini: no_usage drops usageMetadata" json_is 'has("usageMetadata") | not'
for n in 1 2 3 4; do
	gen "{$GBODY}" -H "X-Mock: corrupt=$n"
	check "gemini: corrupt=$n is a 200 no strict JSON parser accepts" corrupt_is "$n"
done
gen "{$GBODY}" -H 'X-Mock: cache_read=5'
check "gemini: cache_read: cachedContentTokenCount within promptTokenCount" json_is \
	'.usageMetadata.cachedContentTokenCount == 5 and .usageMetadata.promptTokenCount == 12'
GTOOLS='"tools":[{"functionDeclarations":[{"name":"get_weather","parameters":{"type":"object"}}]}]'
gen "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"weather? call a tool\"}]}],$GTOOLS}"
check "gemini: a functionCall part, whole, with a thoughtSignature" json_is \
	'.candidates[0].content.parts | length == 1 and .[0].functionCall == {"name":"get_weather","args":{"location":"Paris","unit":"celsius"}} and (.[0].thoughtSignature|length) > 0'
check "gemini: a function call finishes with STOP, 4 candidate tokens" json_is \
	'.candidates[0].finishReason == "STOP" and .usageMetadata.candidatesTokenCount == 4'
gen "{\"contents\":[{\"parts\":[{\"text\":\"weather\"}]}],$GTOOLS}" -H 'X-Mock: tool_call'
check "gemini: tool_call directive" json_is '.candidates[0].content.parts[0].functionCall.name == "get_weather"'
gen "{$GBODY}" -H 'X-Mock: safety'
check "gemini: safety: finishReason SAFETY, no content, a blocked rating" json_is \
	'.candidates[0].finishReason == "SAFETY" and (.candidates[0] | has("content") | not) and any(.candidates[0].safetyRatings[]; .blocked == true)'
check "gemini: safety: no candidatesTokenCount" json_is '.usageMetadata | has("candidatesTokenCount") | not'
gen "{$GBODY}" -H 'X-Mock: safety=prompt'
check "gemini: safety=prompt: promptFeedback.blockReason, no candidates" json_is \
	'.promptFeedback.blockReason == "SAFETY" and (has("candidates") | not) and .usageMetadata.promptTokenCount == 12'

# functionResponse parts count 4 each, like the OpenAI tool messages they translate.
GCONV='"systemInstruction":{"parts":[{"text":"a b"},{"text":"c"}]},"contents":[{"role":"user","parts":[{"text":"hi"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}},{"functionCall":{"name":"f","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"content":"15C sunny"}}},{"functionResponse":{"name":"f","response":{"content":"x"}}},{"text":"ok then"}]}]'
http POST "$GM:countTokens" -H "x-goog-api-key: $KEY" --data-binary "{$GCONV}"
check "gemini: countTokens totalTokens 37, as the OpenAI form counts" json_is '.totalTokens == 37'
http POST "$GM:countTokens" -H "x-goog-api-key: $KEY" \
	--data-binary "{\"generateContentRequest\":{\"model\":\"models/gemini-2.5-flash\",$GCONV}}"
check "gemini: countTokens takes a whole generateContentRequest too" json_is '.totalTokens == 37'

# --- validation -------------------------------------------------------------------------------
gem_400() {
	[ "$code" = 400 ] && jq -e --arg re "$1" \
		'.error.code == 400 and .error.status == "INVALID_ARGUMENT" and (.error.message|test($re))' \
		"$T/body" >/dev/null
}
gbad() {
	gen "$2"
	check "gemini 400: $1" gem_400 "$3"
}
gbad "contents required" '{"generationConfig":{}}' 'contents is not specified'
gbad "roles are user and model" '{"contents":[{"role":"assistant","parts":[{"text":"x"}]}]}' 'valid role: user, model'
gbad "an unknown member (OpenAI's messages)" '{"contents":[{"parts":[{"text":"x"}]}],"messages":[]}' \
	'Unknown name "messages": Cannot find field'
gbad "empty parts" '{"contents":[{"role":"user","parts":[]}]}' 'parts must not be empty'
gbad "a function response turn follows a function call turn" \
	'{"contents":[{"role":"user","parts":[{"functionResponse":{"name":"f","response":{"content":"r"}}}]}]}' \
	'function response turn comes immediately after a function call turn'
gbad "as many function responses as calls" \
	'{"contents":[{"role":"user","parts":[{"text":"x"}]},{"role":"model","parts":[{"functionCall":{"name":"f","args":{}}}]},{"role":"user","parts":[{"functionResponse":{"name":"f","response":{}}},{"functionResponse":{"name":"f","response":{}}}]}]}' \
	'number of function response parts is equal to the number of function call parts'
gbad "malformed JSON" '{"contents":' 'Invalid JSON payload'
http POST "$M/v1beta/models/google/gemini-2.5-flash:generateContent" -H "x-goog-api-key: $KEY" \
	--data-binary '{"contents":[{"parts":[{"text":"x"}]}]}'
check "gemini: a model id with a slash is 404 NOT_FOUND" test "$code/$(jq -r .error.status "$T/body")" = 404/NOT_FOUND
http POST "$GM:embedText" -H "x-goog-api-key: $KEY" --data-binary '{"contents":[]}'
check "gemini: an unknown method is 404" status_is 404

# --- scripted errors --------------------------------------------------------------------------
http POST "$GM:generateContent" -H "x-goog-api-key: $GQ" --data-binary "{$GBODY}"
check "gemini: -x key 429 RESOURCE_EXHAUSTED with RetryInfo 3s" json_is \
	'.error.code == 429 and .error.status == "RESOURCE_EXHAUSTED" and any(.error.details[]; .retryDelay == "3s")'
check "gemini: no Retry-After header (Google does not send one)" test -z "$(hdr retry-after)"
gen "{$GBODY}" -H 'X-Mock: overloaded'
check "gemini: overloaded is 503 UNAVAILABLE JSON" test "$code/$(jq -r .error.status "$T/body")" = 503/UNAVAILABLE
gen "{$GBODY}" -H 'X-Mock: status=500'
check "gemini: status=500 is INTERNAL" test "$code/$(jq -r .error.status "$T/body")" = 500/INTERNAL

# --- streaming --------------------------------------------------------------------------------
gsse "{$GBODY}" -H 'X-Mock: words=3'
check "gemini sse: 200 text/event-stream, clean end" test "$sse_rc/$(hdr content-type)" = \
	"0/text/event-stream; charset=utf-8"
check "gemini sse: one chunk per word, no event: names" test "$(nev)/$(wc -l <"$T/names")" = 3/0
check "gemini sse: events end in CRLF CRLF" test "$(grep -c $'^data: .*\r$' "$T/sse")" -eq 3
check "gemini sse: no [DONE]" test "$(grep -c DONE "$T/sse")" -eq 0
check "gemini sse: the texts join to the reply" events_are \
	'[.[].candidates[0].content.parts[0].text] | join("") == "mock reply word1"'
check "gemini sse: finishReason only on the last chunk" events_are \
	'[.[].candidates[0].finishReason] == [null, null, "STOP"]'
check "gemini sse: usageMetadata on every chunk, cumulative" events_are \
	'[.[].usageMetadata.candidatesTokenCount] == [1,2,3] and .[-1].usageMetadata.totalTokenCount == 15'
gsse "{$GBODY}" -H 'X-Mock: words=1,reasoning=2'
check "gemini sse: thought chunks first, thoughtsTokenCount cumulative" events_are \
	'[.[].candidates[0].content.parts[0] | .thought // false] == [true, true, false] and [.[].usageMetadata.thoughtsTokenCount] == [1,2,2]'
gsse "{\"contents\":[{\"parts\":[{\"text\":\"call a tool\"}]}],$GTOOLS}"
check "gemini sse: the functionCall arrives whole in one chunk" test "$(nev)" -eq 1
check "gemini sse: that chunk finishes STOP" ev_is 1 \
	'.candidates[0].content.parts[0].functionCall.args == {"location":"Paris","unit":"celsius"} and .candidates[0].finishReason == "STOP"'
gsse "{$GBODY}" -H 'X-Mock: words=5,error_at=2'
check "gemini sse error_at=2: two chunks, then a top-level error" test "$(nev)/$sse_rc" = 3/0
check "gemini sse error_at: UNAVAILABLE" ev_is 3 '.error.code == 503 and .error.status == "UNAVAILABLE"'
gsse "{$GBODY}" -H 'X-Mock: words=5,reset_at=1'
check "gemini sse reset_at=1: one chunk, then the connection breaks (curl 18)" test "$(nev)/$sse_rc" = 1/18
gsse "{$GBODY}" -H 'X-Mock: safety=prompt'
check "gemini sse safety=prompt: one chunk with promptFeedback" test \
	"$(nev)/$(jq -r .promptFeedback.blockReason "$T/events")" = 1/SAFETY
stream "$GM:streamGenerateContent" "{$GBODY}" -H "x-goog-api-key: $KEY" -H 'X-Mock: words=3'
check "gemini stream without alt=sse: one JSON array of 3 responses" jq_file "$T/sse" \
	'type == "array" and length == 3 and .[2].candidates[0].finishReason == "STOP"'

# --- the request log --------------------------------------------------------------------------
http GET "$M/_mock/requests"
cp "$T/body" "$T/log.json"
check "log: anthropic entries mask x-api-key and show anthropic-version" jq_file "$T/log.json" \
	'[.[] | select(.path == "/v1/messages" and .status == 200)][0] | .headers["x-api-key"] == "sk-mo****6789" and .headers["anthropic-version"] == "2023-06-01" and .key_label == "6789"'
check "log: anthropic body summarized (n_messages), system and max_tokens kept" jq_file "$T/log.json" \
	'[.[] | select(.path == "/v1/messages" and .status == 200)][0].body | .n_messages == 1 and .system == "be terse" and .max_tokens == 100 and (has("messages") | not)'
check "log: -x key labelled on the anthropic wire" jq_file "$T/log.json" \
	'any(.[]; .key_label == "ovld" and .status == 529)'
check "log: gemini ?key= logged masked in query, alt kept" jq_file "$T/log.json" \
	'any(.[]; .query.key == "sk-mo****6789" and .key_label == "6789") and any(.[]; .query.alt == "sse")'
check "log: gemini contents summarized, systemInstruction kept" jq_file "$T/log.json" \
	'[.[] | select(.path | endswith(":generateContent"))][-1].body | (has("contents") | not) and .n_messages >= 1'
check "log: gemini x-goog-api-key masked" jq_file "$T/log.json" \
	'any(.[]; .headers["x-goog-api-key"] == "sk-mo****6789")'
check "log: message shapes (Anthropic blocks) without the text" jq_file "$T/log.json" \
	'any(.[]; .path == "/v1/messages/count_tokens" and .body.shape == ["user:string","assistant:tool_use,tool_use","user:tool_result,tool_result,text"])'
check "log: message shapes (Gemini parts)" jq_file "$T/log.json" \
	'any(.[]; (.path|endswith(":countTokens")) and .body.shape == ["user:text","model:functionCall,functionCall","user:functionResponse,functionResponse,text"])'
check "log: message shapes (OpenAI messages, tool_calls)" jq_file "$T/log.json" \
	'any(.[]; .path == "/v1/chat/completions" and .body.shape == ["system:string","system:string","user:string","assistant:tool_calls","tool:string","tool:string","user:string"])'
check "log: cache_control members counted" jq_file "$T/log.json" \
	'any(.[]; .body.n_cache_control == 2) and ([.[] | select(.path == "/v1/chat/completions")] | all(has("n_cache_control") | not))'
check "log file never holds a full key" test \
	"$(grep -c -e "$KEY" -e "$OVL" -e "$GQ" -e AIzaWrongKey0123456789 "$T/requests.jsonl")" -eq 0

finish
