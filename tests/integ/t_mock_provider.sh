#!/usr/bin/env bash
# t_mock_provider.sh: the mock upstream against its own contract (tests/mock-provider/README.md).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

: "${TOLLGATE_BUILDDIR:=$TOLLGATE_SRCDIR}"
MOCK=$TOLLGATE_BUILDDIR/tests/mock-provider/mock-provider
[ -x "$MOCK" ] || skip "mock provider $MOCK not built"
need_cmd curl jq
make_tmp

KEY=sk-mock-0123456789
start_bg mock "$MOCK" -p 0 -l "$T/requests.jsonl"
# mock_port [NAME]: the port the mock started as NAME (default mock) printed.
mock_port() { sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/log/${1:-mock}.out"; }
has_port() { [ -n "$(mock_port "$@")" ]; }
wait_for "mock prints its port" 10 has_port || bail "mock provider starts"
M=http://127.0.0.1:$(mock_port)

# chat BODY [curl args...]: POST /v1/chat/completions with the right key.
chat() {
	local body=$1
	shift
	http POST "$M/v1/chat/completions" -H "Authorization: Bearer $KEY" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@"
}

# sse BODY [curl args...]: streams into $T/sse (raw) and $T/events (one JSON or [DONE] per
# line, comments dropped); $sse_rc is curl's exit status.
sse() {
	local body=$1
	shift
	sse_rc=0
	curl -sSN -m 20 -o "$T/sse" "$M/v1/chat/completions" -H "Authorization: Bearer $KEY" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@" 2>"$T/curl.err" ||
		sse_rc=$?
	sed -n 's/^data: //p' "$T/sse" >"$T/events"
	last_req="SSE $body -> rc $sse_rc"
	cp "$T/sse" "$T/body"
}
ev() { sed -n "${1}p" "$T/events"; }
nev() { wc -l <"$T/events" | tr -d ' '; }
ev_is() { ev "$1" | jq -e "$2" >/dev/null 2>&1; }
# all_chunks EXPR: EXPR holds for every JSON event.
all_chunks() { grep -v '^\[DONE\]$' "$T/events" | jq -se "all($1)" >/dev/null 2>&1; }

MSGS='"messages":[{"role":"system","content":"be terse"},{"role":"user","content":"hello there"}]'

# --- auth -----------------------------------------------------------------------------------
http POST "$M/v1/chat/completions" -H 'Authorization: Bearer sk-wrong-key-abcdef1234' \
	--data-binary "{\"model\":\"m\",$MSGS}"
check "wrong key is 401" status_is 401
check "401 has the OpenAI error shape" json_is \
	'.error.type == "invalid_request_error" and .error.param == null and .error.code == "invalid_api_key"'
check "401 message masks the key" json_is '.error.message | startswith("Incorrect API key provided: sk-wr****1234")'
check "401 never shows the full key" test "$(grep -c 'sk-wrong-key-abcdef1234' "$T/body")" -eq 0
http POST "$M/v1/chat/completions" --data-binary "{\"model\":\"m\",$MSGS}"
check "missing key is 401 invalid_api_key" json_is '.error.code == "invalid_api_key"'

# --- non-stream chat: shape and exact counts ------------------------------------------------
# prompt: (4 + 2 "be terse") + (4 + 2 "hello there") = 12; reply 12 words by default.
chat "{\"model\":\"gpt-4o-mini\",$MSGS}"
check "chat is 200" status_is 200
check "chat is JSON" content_type_json
check "chat object and model echo" json_is '.object == "chat.completion" and .model == "gpt-4o-mini" and (.id|startswith("chatcmpl-"))'
check "chat message and finish_reason" json_is \
	'.choices[0].message.role == "assistant" and .choices[0].finish_reason == "stop" and .choices[0].index == 0'
check "chat reply is 12 deterministic words" json_is \
	'.choices[0].message.content == "mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10"'
check "chat usage 12 + 12 = 24" json_is \
	'.usage.prompt_tokens == 12 and .usage.completion_tokens == 12 and .usage.total_tokens == 24'
check "chat usage details present" json_is \
	'.usage.prompt_tokens_details.cached_tokens == 0 and .usage.completion_tokens_details.reasoning_tokens == 0'
check "x-request-id and x-ratelimit headers" test -n "$(hdr x-request-id)" -a -n "$(hdr x-ratelimit-remaining-requests)"

chat '{"model":"m","max_tokens":3,"messages":[{"role":"user","content":[{"type":"text","text":"one two three"},{"type":"image_url","image_url":{"url":"x"}}]}]}'
check "max_tokens caps the reply (finish length)" json_is \
	'.choices[0].message.content == "mock reply word1" and .choices[0].finish_reason == "length" and .usage.completion_tokens == 3'
check "text parts count, other parts do not (4 + 3)" json_is '.usage.prompt_tokens == 7'

chat '{"model":"m","messages":[{"role":"user","content":"a b [mock:words=2,cached=5] c"}]}'
check "[mock:...] in the message: words=2" json_is '.choices[0].message.content == "mock reply" and .usage.completion_tokens == 2'
check "[mock:...] block is not counted; cached capped at prompt" json_is \
	'.usage.prompt_tokens == 7 and .usage.prompt_tokens_details.cached_tokens == 5'

chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: words=4,reasoning=3'
check "reasoning: reasoning_content and reasoning_tokens" json_is \
	'.choices[0].message.reasoning_content == "think1 think2 think3" and .usage.completion_tokens == 7 and .usage.completion_tokens_details.reasoning_tokens == 3'

chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: no_usage'
check "no_usage drops usage" json_is 'has("usage") | not'
chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: empty_usage'
check "empty_usage: usage is {}" json_is '.usage == {}'

chat "{\"model\":\"m\",\"stream_options\":{\"include_usage\":true},$MSGS}"
check "stream_options without stream is 400" status_is 400
check "that 400 names the param" json_is '.error.param == "stream_options" and .error.type == "invalid_request_error"'

chat '{"model": "m", "messages": [1, 2'
check "malformed JSON is 400" status_is 400
check "malformed JSON has the error shape" json_is '.error.type == "invalid_request_error" and (.error.message|type == "string")'

chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: wordz=3'
check "unknown directive is 400" status_is 400

# --- streaming ------------------------------------------------------------------------------
sse "{\"model\":\"m\",\"stream\":true,$MSGS}" -H 'X-Mock: words=3'
check "stream ends cleanly" test "$sse_rc" -eq 0
check "stream: role chunk first" ev_is 1 '.choices[0].delta.role == "assistant" and .object == "chat.completion.chunk"'
check "stream: 3 content deltas" test "$(grep -v DONE "$T/events" | jq -rs '[.[].choices[0].delta.content // empty] | join("")')" = "mock reply word1"
check "stream: finish chunk" ev_is 5 '.choices[0].finish_reason == "stop" and .choices[0].delta == {}'
check "stream: [DONE] last" test "$(ev '$')" = '[DONE]'
check "stream: no usage without include_usage" all_chunks 'has("usage") | not'
check "stream: same id on every chunk" test "$(grep -v DONE "$T/events" | jq -r .id | sort -u | wc -l)" -eq 1
check "stream: blank line after every event" test "$(grep -c '^data: ' "$T/sse")" -eq "$(grep -c '^$' "$T/sse")"

sse "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$MSGS}" -H 'X-Mock: words=3'
check "include_usage: 7 events" test "$(nev)" -eq 7
check "include_usage: usage:null before the last chunk" all_chunks '(.choices|length) == 0 or .usage == null'
check "include_usage: choices:[] usage chunk before [DONE]" ev_is 6 \
	'.choices == [] and .usage.prompt_tokens == 12 and .usage.completion_tokens == 3 and .usage.total_tokens == 15'
check "include_usage: [DONE] last" test "$(ev '$')" = '[DONE]'

sse "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$MSGS}" -H 'X-Mock: words=3,no_usage'
check "no_usage: no usage chunk even when asked" test "$(grep -v DONE "$T/events" | jq -s '[.[] | select(.usage != null)] | length')" -eq 0

sse "{\"model\":\"m\",\"stream\":true,$MSGS}" -H 'X-Mock: words=5,error_at=2'
check "error_at: role + 2 deltas + error" test "$(nev)" -eq 4
check "error_at: last event is a top-level error" ev_is 4 '.error.type == "server_error" and (has("choices") | not)'
check "error_at: no [DONE]" test "$(grep -c '^\[DONE\]$' "$T/events")" -eq 0

sse "{\"model\":\"m\",\"stream\":true,$MSGS}" -H 'X-Mock: words=5,reset_at=1'
check "reset_at: the connection breaks (curl 18)" test "$sse_rc" -eq 18
check "reset_at: role + 1 delta arrived first" test "$(nev)" -eq 2

sse "{\"model\":\"m\",\"stream\":true,$MSGS}" -H 'X-Mock: words=2,reasoning=2'
check "stream reasoning: reasoning deltas before content" test \
	"$(grep -v DONE "$T/events" | jq -rs '[.[].choices[0].delta | (.reasoning_content // "R") + "|" + (.content // "C")] | join(",")')" = \
	'|C,think1|C, think2|C,R|mock,R| reply,R|C'

sse "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$MSGS}" \
	-H 'X-Mock: words=3,flavor=openrouter,error_at=1'
check "openrouter: PROCESSING comments before the first data" test "$(head -n 1 "$T/sse")" = ': OPENROUTER PROCESSING'
check "openrouter: provider field" ev_is 1 '.provider == "MockProvider" and (.id|startswith("gen-"))'
check "openrouter: error chunk with finish_reason error" ev_is 3 \
	'.error.code == "server_error" and .choices[0].finish_reason == "error"'
sse "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$MSGS}" -H 'X-Mock: words=3,flavor=openrouter'
check "openrouter: usage.cost is a number" ev_is 6 '(.usage.cost|type) == "number" and .usage.cost > 0'

sse "{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$MSGS}" \
	-H 'X-Mock: words=3,flavor=deepseek,cached=4,chunk_bytes=1'
check "deepseek: keep-alive comments" grep -q '^: keep-alive$' "$T/sse"
check "deepseek: usage on the finish chunk with cache split" ev_is 5 \
	'.choices[0].finish_reason == "stop" and .usage.prompt_cache_hit_tokens == 4 and .usage.prompt_cache_miss_tokens == 8'
check "chunk_bytes=1: the stream still ends with [DONE]" test "$(ev '$')" = '[DONE]'

sse '{"model":"m","stream":true,"tools":[{"type":"function","function":{"name":"get_weather"}}],"messages":[{"role":"user","content":"please call a tool"}]}'
check "tools: first fragment has index, id and name" ev_is 1 \
	'.choices[0].delta.tool_calls[0] | .index == 0 and .id == "call_mock_0" and .function.name == "get_weather"'
check "tools: arguments concatenate to JSON" test \
	"$(grep -v DONE "$T/events" | jq -rs '[.[].choices[0].delta.tool_calls[0].function.arguments // empty] | join("")' | jq -r .location)" = Paris
check "tools: finish_reason tool_calls" test "$(grep -v DONE "$T/events" | jq -rs '.[-1].choices[0].finish_reason')" = tool_calls

# pace: 5 words = role + 5 deltas + finish, 6 gaps of 200 ms after the first byte.
curl -sSN -m 20 -o "$T/paced" -w '%{time_starttransfer} %{time_total}\n' "$M/v1/chat/completions" \
	-H "Authorization: Bearer $KEY" -H 'X-Mock: pace=200,words=5' \
	--data-binary "{\"model\":\"m\",\"stream\":true,$MSGS}" >"$T/times"
read -r t_first t_total <"$T/times"
note "pace: first byte ${t_first}s, total ${t_total}s"
check "pace spreads the chunks (>= 0.8 s after the first byte)" \
	awk -v a="$t_first" -v b="$t_total" 'BEGIN { exit !(b - a >= 0.8) }'
check "pace: the paced stream is complete" test "$(tail -n 2 "$T/paced" | head -n 1)" = 'data: [DONE]'

# --- scripted failures ----------------------------------------------------------------------
chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: status=429,retry_after=7'
check "429 status" status_is 429
check "429 Retry-After: 7" test "$(hdr retry-after)" = 7
check "429 x-ratelimit-remaining-requests: 0" test "$(hdr x-ratelimit-remaining-requests)" = 0
check "429 code rate_limit_exceeded" json_is '.error.code == "rate_limit_exceeded"'
chat '{"model":"m","messages":[{"role":"user","content":"hi [mock:status=429_quota]"}]}'
check "429_quota from the message: insufficient_quota" json_is '.error.code == "insufficient_quota" and .error.type == "insufficient_quota"'
check "429_quota status" status_is 429
chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: status=503'
check "503 status" status_is 503
check "503 body is HTML" grep -q '<html>' "$T/body"
check "503 content type is text/html" header_has content-type 'text/html'
chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: status=500'
check "500 server_error JSON" json_is '.error.type == "server_error"'
chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: status=402,flavor=openrouter'
check "openrouter 402 has a numeric code" json_is '.error.code == 402'
chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: reset'
check "reset: no response at all" status_is 000
chat "{\"model\":\"m\",$MSGS}" -H 'X-Mock: latency=300'
check "latency still answers 200" status_is 200

# --- other endpoints ------------------------------------------------------------------------
http POST "$M/v1/embeddings" -H "Authorization: Bearer $KEY" \
	--data-binary '{"model":"text-embedding-3-small","input":["a b c","d"],"dimensions":4}'
check "embeddings shape" json_is \
	'.object == "list" and (.data|length) == 2 and .data[1].index == 1 and (.data[0].embedding|length) == 4 and .data[0].object == "embedding"'
check "embeddings usage counts words" json_is '.usage.prompt_tokens == 4 and .usage.total_tokens == 4'
cp "$T/body" "$T/emb1"
http POST "$M/v1/embeddings" -H "Authorization: Bearer $KEY" \
	--data-binary '{"model":"text-embedding-3-small","input":["a b c","d"],"dimensions":4}'
check "embeddings are deterministic" cmp -s "$T/body" "$T/emb1"

http POST "$M/v1/completions" -H "Authorization: Bearer $KEY" --data-binary '{"model":"m","prompt":"a b c","max_tokens":2}'
check "legacy completions shape and counts" json_is \
	'.object == "text_completion" and .choices[0].text == "mock reply" and .usage.prompt_tokens == 3 and .usage.completion_tokens == 2'

http GET "$M/v1/models" -H "Authorization: Bearer $KEY"
check "models list shape" json_is '.object == "list" and (.data|length) > 0 and all(.data[]; .object == "model" and (.id|type) == "string")'
http GET "$M/v1/models/no-such" -H "Authorization: Bearer $KEY"
check "unknown model is 404 model_not_found" json_is '.error.code == "model_not_found"'

# --- request log ----------------------------------------------------------------------------
http DELETE "$M/_mock/requests"
check "DELETE /_mock/requests" status_is 200
chat '{"model":"gpt-x","max_tokens":9,"stream":true,"stream_options":{"include_usage":true},"messages":[]}' \
	-H 'X-Title: Tollgate' -H 'HTTP-Referer: https://example.test'
http GET "$M/_mock/requests"
check "log has exactly that request" json_is 'length == 1'
check "log: method, path and body fields" json_is \
	'.[0] | .method == "POST" and .path == "/v1/chat/completions" and .body.model == "gpt-x" and .body.stream == true and .body.max_tokens == 9 and .body.stream_options.include_usage == true'
check "log: attribution headers" json_is '.[0].headers["x-title"] == "Tollgate" and .[0].headers["http-referer"] == "https://example.test"'
check "log: authorization masked" json_is '.[0].headers.authorization == "Bearer sk-mo****6789"'
check "log: key_label is the key's last 4" json_is '.[0].key_label == "6789"'
check "log: t_ms is integer ms, ts its second" json_is \
	'.[0] | (.t_ms|type) == "number" and .t_ms == (.t_ms|floor) and .t_ms > 1600000000000 and .ts == ((.t_ms / 1000)|floor)'
check "log file never holds the full key" test "$(grep -c "$KEY" "$T/requests.jsonl")" -eq 0
check "log file has one JSON line after the clear" test "$(jq -s length "$T/requests.jsonl")" -eq 1
http GET "$M/_mock/health"
check "/_mock/health needs no key" json_is '.status == "ok"'

# --- per-key scripts (-x KEY=DIRECTIVES) ----------------------------------------------------
# A key pool upstream: one key rate-limited, one revoked, one healthy, plus the -k key.
RL=sk-mock-ratelimited
RV=sk-mock-revoked
OK=sk-mock-healthy
start_bg mockx "$MOCK" -p 0 -l "$T/requests-x.jsonl" \
	-x "$RL=status=429,retry_after=2" -x "$RV=status=401" -x "$OK=words=3"
wait_for "keyed mock prints its port" 10 has_port mockx || bail "mock provider with -x starts"
MX=http://127.0.0.1:$(mock_port mockx)

# xchat KEY BODY [curl args...]: POST /v1/chat/completions to the keyed mock with KEY.
xchat() {
	local key=$1 body=$2
	shift 2
	http POST "$MX/v1/chat/completions" -H "Authorization: Bearer $key" \
		-H 'Content-Type: application/json' --data-binary "$body" "$@"
}

http DELETE "$MX/_mock/requests"
xchat "$RL" "{\"model\":\"m\",$MSGS}"
check "-x rate-limited key: 429" status_is 429
check "-x rate-limited key: Retry-After: 2" test "$(hdr retry-after)" = 2
check "-x rate-limited key: retry-after-ms: 2000" test "$(hdr retry-after-ms)" = 2000
check "-x rate-limited key: x-ratelimit-remaining-requests: 0" test "$(hdr x-ratelimit-remaining-requests)" = 0
check "-x rate-limited key: OpenAI 429 error shape" json_is \
	'.error.type == "requests" and .error.code == "rate_limit_exceeded" and .error.param == null and (.error.message|type) == "string"'
check "-x rate-limited key: JSON body" content_type_json

xchat "$RV" "{\"model\":\"m\",$MSGS}"
check "-x revoked key: 401" status_is 401
check "-x revoked key: invalid_api_key shape" json_is \
	'.error.type == "invalid_request_error" and .error.code == "invalid_api_key" and .error.param == null'
check "-x revoked key: message masks that key" json_is \
	'.error.message | startswith("Incorrect API key provided: sk-mo****oked. ")'
cp "$T/body" "$T/revoked.json"
# A wrong key masked alike must get a byte-identical body.
xchat sk-mozzzzzzzoked "{\"model\":\"m\",$MSGS}"
check "-x revoked key: same body as a wrong key" cmp -s "$T/body" "$T/revoked.json"
http GET "$MX/v1/models" -H "Authorization: Bearer $RV"
check "-x revoked key: every endpoint is 401" status_is 401

xchat "$OK" "{\"model\":\"m\",$MSGS}"
check "-x key without status: 200" status_is 200
check "-x key without status: its words=3 applies" json_is \
	'.choices[0].message.content == "mock reply word1" and .usage.completion_tokens == 3'
xchat "$OK" "{\"model\":\"m\",$MSGS}" -H 'X-Mock: words=5'
check "-x key: the X-Mock header overrides the key's script" json_is '.usage.completion_tokens == 5'
xchat "$RL" '{"model":"m","messages":[{"role":"user","content":"hi [mock:retry_after=5]"}]}'
check "-x key: a [mock:...] block overrides too (Retry-After: 5)" test "$code/$(hdr retry-after)" = 429/5

xchat "$KEY" "{\"model\":\"m\",$MSGS}"
check "-k key next to -x keys: 200, default 12 words" json_is '.usage.completion_tokens == 12'
check "-k key next to -x keys: status 200, no Retry-After" test "$code/$(hdr retry-after)" = 200/
xchat sk-wrong-key-abcdef1234 "{\"model\":\"m\",$MSGS}"
check "-x does not open the door to other keys" test "$code/$(jq -r .error.code "$T/body")" = 401/invalid_api_key

# Spacing on one key: two requests on the rate-limited key ~300 ms apart.
xchat "$RL" "{\"model\":\"m\",$MSGS}"
sleep 0.3
xchat "$RL" "{\"model\":\"m\",$MSGS}"

http GET "$MX/_mock/requests"
cp "$T/body" "$T/xlog.json"
check "keyed log: one entry per request" json_is 'length == 11'
check "keyed log: key_label per request" test \
	"$(jq -r '[.[].key_label] | join(",")' "$T/xlog.json")" = \
	ited,oked,oked,oked,lthy,lthy,ited,6789,1234,ited,ited
check "keyed log: masked authorization tells the keys apart" test \
	"$(jq -r '[.[0,1,4,7].headers.authorization] | join(",")' "$T/xlog.json")" = \
	"Bearer sk-mo****ited,Bearer sk-mo****oked,Bearer sk-mo****lthy,Bearer sk-mo****6789"
check "keyed log: statuses" test "$(jq -r '[.[].status] | join(",")' "$T/xlog.json")" = \
	429,401,401,401,200,200,429,200,401,429,429
check "keyed log: t_ms are integers, in arrival order" jq_file "$T/xlog.json" \
	'all(.[]; (.t_ms|type) == "number" and .t_ms == (.t_ms|floor)) and ([.[].t_ms] == ([.[].t_ms] | sort))'
check "keyed log: t_ms measures the spacing on one key (>= 300 ms)" jq_file "$T/xlog.json" \
	'[.[] | select(.key_label == "ited") | .t_ms] | .[-1] - .[-2] >= 300'
check "keyed log file: same entries" test "$(jq -s length "$T/requests-x.jsonl")" -eq 11
check "keyed log file: t_ms written as a bare integer" grep -Eq '"t_ms":[0-9]{13},' "$T/requests-x.jsonl"
check "keyed log file never holds a full -x key" test "$(grep -c -e "$RL" -e "$RV" -e "$OK" "$T/requests-x.jsonl")" -eq 0

# -n (the benchmark's mock): answers as usual, keeps no log in memory, still writes -l's lines.
start_bg mockn "$MOCK" -p 0 -n -l "$T/requests-n.jsonl"
wait_for "mock -n prints its port" 10 has_port mockn || bail "mock provider with -n starts"
MN=http://127.0.0.1:$(mock_port mockn)
for _ in 1 2; do
	http POST "$MN/v1/chat/completions" -H "Authorization: Bearer $KEY" \
		-H 'Content-Type: application/json' --data-binary "{\"model\":\"m\",$MSGS}"
done
check "-n: chat still answers 200 with usage" json_is '.usage.completion_tokens == 12'
http GET "$MN/_mock/requests"
check "-n: the in-memory log is empty" json_is 'length == 0'
http GET "$MN/_mock/health"
check "-n: health counts no requests" json_is '.requests == 0'
check "-n: -l still has a line per request" test "$(jq -s length "$T/requests-n.jsonl")" -eq 2

# Startup validation: a bad -x makes the mock exit 2 before it listens.
# bad_start NAME ARGS...: the mock exits with status 2 and says why on stderr.
bad_start() {
	local name=$1 rc=0
	shift
	timeout 5 "$MOCK" -p 0 "$@" >"$T/log/$name.out" 2>&1 </dev/null || rc=$?
	[ "$rc" -eq 2 ] && grep -q '^mock-provider: ' "$T/log/$name.out" &&
		! grep -q '^listening' "$T/log/$name.out"
}
check "-x with a bad directive: exit 2 at startup" bad_start bad1 -x "$RV=status=401,wordz=3"
check "-x bad directive: stderr names it" grep -q "bad directive 'wordz=3'" "$T/log/bad1.out"
check "-x with a bad status value: exit 2" bad_start bad2 -x "$RV=status=1000"
check "-x without '=': exit 2" bad_start bad3 -x "$RV"
check "-x keys ending alike: exit 2" bad_start bad4 -x sk-mock-one-abcd= -x sk-mock-two-abcd=
check "-x key given twice: exit 2" bad_start bad5 -x "$RV=status=401" -x "$RV="

finish
