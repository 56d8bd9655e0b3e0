#!/usr/bin/env bash
# t_chat.sh: the metered data plane through nginx (doc/api-data-plane.md): chat, streams,
# completions, embeddings, quote, holds and exact charges, Idempotency-Key, refusals that
# change nothing, upstream failures, usage records, monitor and bill.
#
# Upstream is the mock provider (tests/mock-provider/README.md), whose token counts are exact:
# system "be terse" + user "hello there" is 12 prompt tokens and the default reply 12 words.
# Catalogue (lib/chat.sh): test/cheap $1 in / $2 out / $0.50 cached per million tokens, i.e.
# 1000 / 2000 / 500 nano-USD per token; test/dear $10 / $30 (10000 / 30000). Commission 5%.
#
# Each concern runs on a user of its own, so that one section's records and balance cannot
# make another's figures pass or fail:
#   A  the happy paths; its usage list, monitor and bill are checked against every charge
#   V  refusals (400/401/404): nothing changes; a key restricted by allowed_models
#   Z  no money: 402; S  little money: max_tokens decides; a key credit limit
#   C  a commission override of 12.5% (rounding up)
#   E  upstream failures: nothing charged before the first byte; a mid-stream error
#   G  keep-alive comments; a client that goes away mid-stream
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
DEFMAX=256
# Section E scripts five upstream failures in a row on the one key: keep its circuit closed
# for the sections after it (t_pool.sh tests the breaker).
chat_stack chat "chat.default_max_tokens=$DEFMAX" "chat.keepalive=1" "upstream.failures_to_open=100"
export LC_ALL=C  # ${#body} counts bytes

# --- helpers ------------------------------------------------------------------------------

# between LO X HI: X is an integer with LO < X <= HI.
between() { [[ $2 =~ ^[0-9]+$ ]] && [ "$2" -gt "$1" ] && [ "$2" -le "$3" ]; }

# Per-token prices in nano-USD: model -> "input output cached".
declare -A PRICE=([test/cheap]="1000 2000 500" [test/dear]="10000 30000 10000")
# charge_of MODEL PROMPT COMPLETION [CACHED] [BP]: the contract's charge in nano-USD.
charge_of() {
	local in out cin cached=${4:-0}
	read -r in out cin <<<"${PRICE[$1]}"
	with_commission $((($2 - cached) * in + cached * cin + $3 * out)) "${5:-500}"
}
# hold_of MODEL BYTES MAX_OUT [N] [BP]: the contract's hold in nano-USD.
hold_of() {
	local in out cin
	read -r in out cin <<<"${PRICE[$1]}"
	hold_at "$in" "$out" "$2" "$3" "${4:-1}" "${5:-500}"
}

# reply_text N: the mock's reply of N words.
reply_text() {
	local s=mock i
	if [ "$1" -ge 2 ]; then s="$s reply"; fi
	for ((i = 1; i <= $1 - 2; i++)); do s="$s word$i"; done
	echo "$s"
}

# mlast EXPR: EXPR holds for the mock's last logged request.
mlast() { jq -e ".[-1] | $1" "$T/mockreq.json" >/dev/null 2>&1; }
# mock_sent_max N: the upstream got max_tokens (or max_completion_tokens) N.
mock_sent_max() { mlast "(.body.max_tokens // .body.max_completion_tokens) == $1"; }

# jnum_nano EXPR: nano-USD of the JSON number (USD) EXPR in the last body.
jnum_nano() { jq -r "$1 | if type == \"number\" then (. * 1e9 | round) else \"?\" end" "$T/body" 2>/dev/null || echo "?"; }

# evs: the JSON events of the last stream as one array in $T/ev.json.
evs() { grep -v '^\[DONE\]$' "$T/events" | jq -s . >"$T/ev.json" 2>/dev/null || echo '[]' >"$T/ev.json"; }
ev_is() { jq -e "$1" "$T/ev.json" >/dev/null 2>&1; }
sse_text() { jq -rj '[.[] | .choices[0]?.delta?.content // empty] | join("")' "$T/ev.json" 2>/dev/null || true; }
done_last() { [ "$(tail -n 1 "$T/events")" = "[DONE]" ] && [ "$(grep -c '^\[DONE\]$' "$T/events")" = 1 ]; }
is_sse() { hdr content-type | grep -qi '^text/event-stream'; }

# Usage records: the contract names the figures, not the members; these accept the
# obvious spellings.
UDEF='def pt: (.prompt_tokens // .tokens.prompt_tokens // .tokens.prompt // 0);
def ct: (.completion_tokens // .tokens.completion_tokens // .tokens.completion // 0);
def chg: (.charge // .cost); def mdl: (.model // .model_id); def prv: (.provider // .provider_id);'

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY

# =========================================================================================
# A: the happy paths.  EXP lists A's records, oldest first, as "model|prompt|completion|charge".
# =========================================================================================
user a 1.00
AK=$U_KEY A_ID=$U_ID
cp_new_key "$AK" '{"name":"second"}' || bail "user A creates a second key ($code)"
AK2=$NEW_KEY AK2_ID=$NEW_KEY_ID
declare -a EXP=()
rec() { EXP+=("$1|$2|$3|$(charge_of "$@")"); }

# --- quote: prices, hold, nothing held, nothing upstream ----------------------------------
read_balance "$AK"
b0=$BAL
m0=$(mock_n)
QB="{\"model\":\"test/cheap\",$MSGS}"
req POST /v1/quote "$AK" "$QB"
expect_status "quote" 200
check "quote: model, provider, upstream_model" json_is \
	'.model == "test/cheap" and .provider == "mock" and .upstream_model == "mock-cheap"'
check "quote: prices 1 / 2 / 0.5 USD per million" json_is \
	'(.prices.input|tostring|tonumber) == 1 and (.prices.output|tostring|tonumber) == 2 and (.prices.cached_input|tostring|tonumber) == 0.5'
check "quote: commission_percent 5 (the default)" json_is '(.commission_percent|tostring|tonumber) == 5'
check "quote: max_tokens is [chat] default_max_tokens ($DEFMAX)" json_is ".max_tokens == $DEFMAX"
check "quote: prompt_bound is the body's bytes (${#QB})" json_is ".prompt_bound == ${#QB}"
want=$(hold_of test/cheap ${#QB} $DEFMAX)
check "quote: hold = ceil(bytes x in + max x out) + 5% = $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
check "quote: available is the balance ($b0 nano; got $(jv .available))" eq "$(jn .available)" "$b0"
check "quote: fits" json_is '.fits == true'
QB2="{\"model\":\"test/cheap\",\"max_tokens\":100,\"max_completion_tokens\":50,$MSGS}"
req POST /v1/quote "$AK" "$QB2"
# The largest cap is held: the provider may honour either (issue 13; this used to hold 50).
check "quote: the larger cap, max_tokens 100, over max_completion_tokens 50" json_is '.max_tokens == 100'
want=$(hold_of test/cheap ${#QB2} 100)
check "quote: hold with max_tokens 100 = $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
QB3="{\"model\":\"test/dear\",\"n\":3,\"max_tokens\":10,$MSGS}"
req POST /v1/quote "$AK" "$QB3"
want=$(hold_of test/dear ${#QB3} 10 3)
check "quote: n=3 holds three completions on test/dear = $want nano (got $(jv .hold))" eq "$(jn .hold)" "$want"
req POST /v1/quote "$AK" "{\"model\":\"nobody/nothing\",$MSGS}"
expect_err "quote of an unknown model" 404 model_not_found
read_balance "$AK"
check "quote held nothing: balance and reserved unchanged ($BAL, $RES)" eq "$BAL/$RES" "$b0/0"
check "quote called nothing upstream" eq "$(mock_n)" "$m0"

# --- R1: non-stream chat, exact usage, cost, headers ---------------------------------------
read_balance "$AK"
b0=$BAL
m0=$(mock_n)
chat "$AK" "{\"model\":\"test/cheap\",$MSGS}"
rec test/cheap 12 12
c1=$(charge_of test/cheap 12 12)
expect_status "chat test/cheap" 200
check "chat: an OpenAI chat.completion from the mock" json_is \
	'.object == "chat.completion" and (.id|startswith("chatcmpl-mock")) and .choices[0].message.role == "assistant"'
check "chat: the mock's 12-word reply, finish_reason stop" json_is \
	".choices[0].message.content == \"$(reply_text 12)\" and .choices[0].finish_reason == \"stop\""
check "chat: the answer names the catalogue id asked for (test/cheap), not the upstream's mock-cheap" json_is '.model == "test/cheap"'
check "chat: usage 12 + 12 = 24 as counted upstream" json_is \
	'.usage.prompt_tokens == 12 and .usage.completion_tokens == 12 and .usage.total_tokens == 24'
check "chat: usage.cost is a JSON number" json_is '.usage.cost | type == "number"'
check "chat: usage.cost = (12x1000 + 12x2000) x 1.05 = $c1 nano (got $(jv .usage.cost))" eq "$(jnum_nano .usage.cost)" "$c1"
check "chat: gateway_usage.cost = $c1 nano (got $(jv .gateway_usage.cost))" eq "$(jn .gateway_usage.cost)" "$c1"
check "chat: gateway_usage.cost and balance_after are decimal strings" json_is \
	"(.gateway_usage.cost|test(\"$usd_re\")) and (.gateway_usage.balance_after|test(\"$usd_re\"))"
check "chat: gateway_usage provider mock, model test/cheap" json_is \
	'.gateway_usage.provider == "mock" and .gateway_usage.model == "test/cheap"'
rid=$(hdr x-request-id)
check "chat: x-request-id present" test -n "$rid"
check "chat: gateway_usage.request_id = x-request-id ($rid)" json_is ".gateway_usage.request_id == \"$rid\""
check "chat: x-tollgate-cost = $c1 nano ($(hdr x-tollgate-cost))" eq "$(nano "$(hdr x-tollgate-cost)")" "$c1"
check "chat: x-tollgate-provider: mock" eq "$(hdr x-tollgate-provider)" mock
xbal=$(nano "$(hdr x-tollgate-balance)")
check "chat: gateway_usage.balance_after = x-tollgate-balance" eq "$(jn .gateway_usage.balance_after)" "$xbal"
check "chat: gateway_usage seed 001 names: tokens_charged 24, user_balance_after = balance_after, user_api_key masked" json_is \
	".gateway_usage.tokens_charged == 24 and .gateway_usage.user_balance_after == .gateway_usage.balance_after and .gateway_usage.user_api_key == \"$(masked_of "$AK")\""
read_balance "$AK"
check "chat: balance went down by exactly $c1 nano (by $(minus "$b0" "$BAL"))" eq "$(minus "$b0" "$BAL")" "$c1"
check "chat: x-tollgate-balance = GET /user/balance afterwards ($xbal vs $BAL)" eq "$xbal" "$BAL"
check "chat: hold released (reserved 0)" eq "$RES" 0
check "chat: exactly one upstream request" eq "$(mock_n)" $((m0 + 1))
check "upstream: POST /v1/chat/completions with the deployment's model mock-cheap" mlast \
	'.method == "POST" and .path == "/v1/chat/completions" and .body.model == "mock-cheap"'
check "upstream: the provider's key (decrypted) in Authorization" mlast '.headers.authorization == "Bearer sk-mo****6789"'
check "upstream: default max_tokens $DEFMAX sent (client gave none)" mock_sent_max $DEFMAX
check "upstream: a non-stream request is not made a stream" mlast '(.body.stream // false) == false and .body.stream_options == null'
check "upstream: messages passed (2)" mlast '.body.n_messages == 2'

# --- R2/R3: unknown members pass through; response_format measured by the upstream body size
TOOLS='"tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"location":{"type":"string"}}}}}],"tool_choice":"auto"'
RF='"response_format":{"type":"json_object"}'
# usage.include is OpenRouter's vendor member (provider, OpenRouter's routing object, is read by
# tollgate itself and not passed on: t_pool.sh).
EXTRA='"temperature":0.25,"user":"end-user-7","usage":{"include":true}'
chat "$AK" "{\"model\":\"test/cheap\",$EXTRA,$RF,$TOOLS,$(msgs 'hello there [mock:words=3]')}"
rec test/cheap 12 3
expect_status "chat with tools, response_format and vendor members" 200
check "pass-through: reply of 3 words" json_is ".choices[0].message.content == \"$(reply_text 3)\""
mock_n >/dev/null
check "pass-through: temperature 0.25, user, vendor member usage.include reach the upstream" mlast \
	'.body.temperature == 0.25 and .body.user == "end-user-7" and .body.usage == {"include":true}'
check "pass-through: tools reach the upstream" mlast '.body.has_tools == true'
check "pass-through: still mock-cheap with the default max_tokens" mlast ".body.model == \"mock-cheap\" and (.body.max_tokens // .body.max_completion_tokens) == $DEFMAX"
bytes_rf=$(jq '.[-1].body_bytes' "$T/mockreq.json" 2>/dev/null || true)
[[ $bytes_rf =~ ^[0-9]+$ ]] || bytes_rf=0
chat "$AK" "{\"model\":\"test/cheap\",$EXTRA,$TOOLS,$(msgs 'hello there [mock:words=4]')}"
rec test/cheap 12 4
expect_status "the same without response_format" 200
mock_n >/dev/null
bytes_norf=$(jq '.[-1].body_bytes' "$T/mockreq.json" 2>/dev/null || true)
[[ $bytes_norf =~ ^[0-9]+$ ]] || bytes_norf=0
check "pass-through: response_format reaches the upstream (its body is >= ${#RF} bytes longer with it: $bytes_rf vs $bytes_norf)" \
	test "$((bytes_rf - bytes_norf))" -ge "${#RF}"

# --- R4: a tool call comes back --------------------------------------------------------------
read_balance "$AK"
b0=$BAL
chat "$AK" "{\"model\":\"test/cheap\",$TOOLS,$(msgs 'please call a tool')}"
rec test/cheap 14 4
expect_status "chat that calls a tool" 200
check "tool call relayed: get_weather with Paris, finish_reason tool_calls" json_is \
	'.choices[0].finish_reason == "tool_calls" and .choices[0].message.tool_calls[0].function.name == "get_weather"
	 and (.choices[0].message.tool_calls[0].function.arguments | fromjson | .location == "Paris")'
check "tool call: usage 14 + 4" json_is '.usage.prompt_tokens == 14 and .usage.completion_tokens == 4'
read_balance "$AK"
c=$(charge_of test/cheap 14 4)
check "tool call: charged $c nano" eq "$(minus "$b0" "$BAL")" "$c"

# --- R5: stream without include_usage -----------------------------------------------------
read_balance "$AK"
b0=$BAL
m0=$(mock_n)
SB="{\"model\":\"test/cheap\",\"stream\":true,$(msgs 'hello there [mock:words=6]')}"
chat_sse "$AK" "$SB"
evs
rec test/cheap 12 6
check "stream: 200, curl ok (rc $sse_rc)" eq "$code/$sse_rc" 200/0
check "stream: Content-Type text/event-stream" is_sse
check "stream: x-request-id present" test -n "$(hdr x-request-id)"
check "stream: role chunk, 6 deltas, finish chunk (>= 8 chunks)" ev_is 'length >= 8'
check "stream: every event is a chat.completion.chunk" ev_is 'all(.[]; .object == "chat.completion.chunk")'
check "stream: every chunk names the catalogue id asked for (test/cheap)" ev_is 'all(.[]; .model == "test/cheap")'
check "stream: deltas assemble '$(reply_text 6)' (got '$(sse_text)')" eq "$(sse_text)" "$(reply_text 6)"
check "stream: a finish_reason stop arrives" ev_is 'any(.[]; .choices[0]?.finish_reason == "stop")'
check "stream: data: [DONE] is last, once" done_last
check "stream: no usage reaches a client that did not ask (no non-null usage, no gateway_usage)" ev_is \
	'all(.[]; .usage == null and (has("gateway_usage") | not))'
check "stream: no choices:[] usage chunk" ev_is 'all(.[]; (.choices | length) > 0)'
check "stream: one upstream request" eq "$(mock_n)" $((m0 + 1))
check "upstream: stream true with stream_options.include_usage true (tollgate always asks)" mlast \
	'.body.stream == true and .body.stream_options.include_usage == true and .body.model == "mock-cheap"'
check "upstream: default max_tokens on a stream too" mock_sent_max $DEFMAX
read_balance "$AK"
c=$(charge_of test/cheap 12 6)
check "stream: charged exactly $c nano from the upstream's usage (by $(minus "$b0" "$BAL"))" eq "$(minus "$b0" "$BAL")" "$c"
check "stream: hold released" eq "$RES" 0

# --- R6: stream with include_usage --------------------------------------------------------
read_balance "$AK"
b0=$BAL
chat_sse "$AK" "{\"model\":\"test/cheap\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$(msgs 'hello there [mock:words=7]')}"
evs
rec test/cheap 12 7
c=$(charge_of test/cheap 12 7)
srid=$(hdr x-request-id)
check "stream+usage: 200 (rc $sse_rc)" eq "$code/$sse_rc" 200/0
check "stream+usage: text '$(reply_text 7)'" eq "$(sse_text)" "$(reply_text 7)"
check "stream+usage: [DONE] last" done_last
check "stream+usage: exactly one chunk carries usage, the last before [DONE]" ev_is \
	'([.[] | select(.usage != null)] | length) == 1 and (.[-1].usage != null)'
jq '.[-1]' "$T/ev.json" >"$T/body" 2>/dev/null || true
check "stream+usage: usage 12 + 7" json_is '.usage.prompt_tokens == 12 and .usage.completion_tokens == 7 and .usage.total_tokens == 19'
check "stream+usage: usage.cost = $c nano (got $(jv .usage.cost))" eq "$(jnum_nano .usage.cost)" "$c"
check "stream+usage: gateway_usage.cost = $c nano" eq "$(jn .gateway_usage.cost)" "$c"
check "stream+usage: gateway_usage provider/model/request_id" json_is \
	".gateway_usage.provider == \"mock\" and .gateway_usage.model == \"test/cheap\" and .gateway_usage.request_id == \"$srid\""
sbal=$(jn .gateway_usage.balance_after)
read_balance "$AK"
check "stream+usage: charged exactly $c nano" eq "$(minus "$b0" "$BAL")" "$c"
check "stream+usage: gateway_usage.balance_after = balance afterwards" eq "$sbal" "$BAL"
check "stream+usage: gateway_usage seed 001 names: tokens_charged 19, user_balance_after, user_api_key masked" json_is \
	".gateway_usage.tokens_charged == 19 and .gateway_usage.user_balance_after == .gateway_usage.balance_after and .gateway_usage.user_api_key == \"$(masked_of "$AK")\""

# --- R7: Idempotency-Key: one charge, the same answer replayed --------------------------------
IK="idem-$CP_U-1"
IB="{\"model\":\"test/cheap\",$(msgs 'hello there [mock:words=8]')}"
read_balance "$AK"
b0=$BAL
m0=$(mock_n)
chat "$AK" "$IB" -H "Idempotency-Key: $IK"
rec test/cheap 12 8
c=$(charge_of test/cheap 12 8)
expect_status "Idempotency-Key: first request" 200
check "Idempotency-Key: the first answer is not marked a replay" test "$(hdr x-idempotent-replay)" != true
id1=$(jv .id)
cp "$T/body" "$T/idem1.json"
chat "$AK" "$IB" -H "Idempotency-Key: $IK"
expect_status "Idempotency-Key: second request" 200
check "Idempotency-Key: x-idempotent-replay: true" eq "$(hdr x-idempotent-replay)" true
check "Idempotency-Key: the same body id ($id1)" json_is ".id == \"$id1\""
check "Idempotency-Key: the same content and usage" json_is \
	"(.choices[0].message.content == \"$(reply_text 8)\") and .usage.completion_tokens == 8 and .usage.prompt_tokens == 12"
check "Idempotency-Key: one upstream request for two" eq "$(mock_n)" $((m0 + 1))
read_balance "$AK"
check "Idempotency-Key: charged once ($c nano; by $(minus "$b0" "$BAL"))" eq "$(minus "$b0" "$BAL")" "$c"
# The same Idempotency-Key from another API key is another request.
b0=$BAL
chat "$AK2" "$IB" -H "Idempotency-Key: $IK"
rec test/cheap 12 8
expect_status "Idempotency-Key reused by another API key of the user" 200
check "  is not a replay (no x-idempotent-replay)" test "$(hdr x-idempotent-replay)" != true
check "  is a new answer (id $(jv .id) != $id1)" test "$(jv .id)" != "$id1"
read_balance "$AK"
check "  is charged ($c nano; by $(minus "$b0" "$BAL"))" eq "$(minus "$b0" "$BAL")" "$c"
check "  reached the upstream" eq "$(mock_n)" $((m0 + 2))

# --- R8: while the first request runs: the hold is placed, the same key gets 409 -----------
IK2="idem-$CP_U-2"
LB="{\"model\":\"test/cheap\",$(msgs 'hello there [mock:latency=5000,words=9]')}"
read_balance "$AK"
b0=$BAL
m0=$(mock_n)
curl -s -m 30 -o "$T/slow.body" -w '%{http_code}' -H 'Expect:' "$URL/v1/chat/completions" \
	-H "Authorization: Bearer $AK" -H 'Content-Type: application/json' -H "Idempotency-Key: $IK2" \
	--data-binary "$LB" >"$T/slow.code" 2>/dev/null &
slow=$!
owned_pids+=("$slow")
# Until the hold is placed (not a fixed second: a busy machine may take longer to get the
# request that far); the upstream's 5 s leave the checks and the second request in flight.
held() {
	read_balance "$AK"
	[ "${RES:-0}" != 0 ] && [ "${RES#\?}" = "$RES" ]
}
wait_for "the first request's hold" 5 held || true
want=$(hold_of test/cheap ${#LB} $DEFMAX)
check "in flight: reserved = the hold, ceil(${#LB} x 1000 + $DEFMAX x 2000) + 5% = $want nano (got $RES)" eq "$RES" "$want"
check "in flight: available is what the hold leaves (${b0} - $RES; got $AVAIL)" eq "$AVAIL" "$(minus "$b0" "$RES")"
chat "$AK" "$LB" -H "Idempotency-Key: $IK2"
expect_err "in flight: the same Idempotency-Key" 409 idempotency_in_progress
wait "$slow" || true
check "in flight: the first request finished 200" eq "$(cat "$T/slow.code")" 200
rec test/cheap 12 9
chat "$AK" "$LB" -H "Idempotency-Key: $IK2"
expect_status "after it: the same Idempotency-Key" 200
check "after it: x-idempotent-replay: true" eq "$(hdr x-idempotent-replay)" true
check "after it: the first answer's id" eq "$(jv .id)" "$(jq -r .id "$T/slow.body" 2>/dev/null || true)"
check "in flight: one upstream request for three" eq "$(mock_n)" $((m0 + 1))
read_balance "$AK"
c=$(charge_of test/cheap 12 9)
check "in flight: charged once ($c nano)" eq "$(minus "$b0" "$BAL")" "$c"
check "in flight: nothing stays reserved" eq "$RES" 0

# --- R9: the dear model ---------------------------------------------------------------------
read_balance "$AK"
b0=$BAL
chat "$AK" "{\"model\":\"test/dear\",$(msgs 'hello there [mock:words=2]')}"
rec test/dear 12 2
c=$(charge_of test/dear 12 2)
expect_status "chat test/dear" 200
mock_n >/dev/null
check "test/dear: upstream model mock-dear" mlast '.body.model == "mock-dear"'
check "test/dear: x-tollgate-cost (12x10000 + 2x30000) x 1.05 = $c nano" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
read_balance "$AK"
check "test/dear: charged $c nano" eq "$(minus "$b0" "$BAL")" "$c"

# --- R10: legacy completions ----------------------------------------------------------------
read_balance "$AK"
b0=$BAL
m0=$(mock_n)
http POST "$URL/v1/completions" -H "Authorization: Bearer $AK" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","prompt":"say something [mock:words=5]"}'
rec test/cheap 2 5
c=$(charge_of test/cheap 2 5)
expect_status "POST /v1/completions" 200
check "completions: text_completion with the 5-word text" json_is \
	".object == \"text_completion\" and .choices[0].text == \"$(reply_text 5)\""
check "completions: usage 2 + 5" json_is '.usage.prompt_tokens == 2 and .usage.completion_tokens == 5'
check "completions: usage.cost = $c nano" eq "$(jnum_nano .usage.cost)" "$c"
check "completions: x-tollgate-cost = $c nano" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
check "completions: x-tollgate-provider mock" eq "$(hdr x-tollgate-provider)" mock
check "completions: one upstream request" eq "$(mock_n)" $((m0 + 1))
check "completions: upstream POST /v1/completions with mock-cheap" mlast '.path == "/v1/completions" and .body.model == "mock-cheap"'
read_balance "$AK"
check "completions: charged $c nano" eq "$(minus "$b0" "$BAL")" "$c"

# --- R11: embeddings ------------------------------------------------------------------------
read_balance "$AK"
b0=$BAL
m0=$(mock_n)
http POST "$URL/v1/embeddings" -H "Authorization: Bearer $AK" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","input":"the quick brown fox"}'
rec test/cheap 4 0
c=$(charge_of test/cheap 4 0)
expect_status "POST /v1/embeddings" 200
check "embeddings: a list with one 8-dimension vector" json_is \
	'.object == "list" and (.data | length) == 1 and (.data[0].embedding | length) == 8'
check "embeddings: usage 4 prompt tokens" json_is '.usage.prompt_tokens == 4 and .usage.total_tokens == 4'
check "embeddings: usage.cost = $c nano" eq "$(jnum_nano .usage.cost)" "$c"
check "embeddings: x-tollgate-cost = $c nano" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
check "embeddings: one upstream request" eq "$(mock_n)" $((m0 + 1))
check "embeddings: upstream POST /v1/embeddings with mock-cheap" mlast '.path == "/v1/embeddings" and .body.model == "mock-cheap"'
read_balance "$AK"
check "embeddings: charged $c nano" eq "$(minus "$b0" "$BAL")" "$c"

# --- R12: cached prompt tokens are billed at the cached price -------------------------------
read_balance "$AK"
b0=$BAL
chat "$AK" "{\"model\":\"test/cheap\",$(msgs 'hello there [mock:cached=5,words=10]')}"
rec test/cheap 12 10 5
c=$(charge_of test/cheap 12 10 5)
expect_status "chat with 5 cached prompt tokens" 200
check "cached: usage says 5 cached" json_is '.usage.prompt_tokens_details.cached_tokens == 5'
check "cached: (7x1000 + 5x500 + 10x2000) x 1.05 = $c nano (header $(hdr x-tollgate-cost))" \
	eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
read_balance "$AK"
check "cached: charged $c nano" eq "$(minus "$b0" "$BAL")" "$c"

# --- A's usage records ----------------------------------------------------------------------
N=${#EXP[@]}
tot_tok=0
tot_chg=0
for e in "${EXP[@]}"; do
	IFS='|' read -r _m p cc ch <<<"$e"
	tot_tok=$((tot_tok + p + cc))
	tot_chg=$((tot_chg + ch))
done
# Newest first: the expected list reversed, as "model|prompt|completion".
want_seq=$(for ((i = N - 1; i >= 0; i--)); do echo "${EXP[$i]%|*}"; done)
want_chg=$(for ((i = N - 1; i >= 0; i--)); do echo "${EXP[$i]##*|}"; done)

req GET "/user/usage?limit=100" "$AK"
expect_status "GET /user/usage" 200
cp "$T/body" "$T/usage-all.json"
check "usage: $N records (one per charged request; quotes, refusals and replays leave none)" json_is "(.data | length) == $N"
got_seq=$(jq -r "$UDEF .data[] | \"\(mdl)|\(pt)|\(ct)\"" "$T/body" 2>/dev/null || true)
check "usage: newest first, with model and tokens of each request" eq "$got_seq" "$want_seq"
[ "$got_seq" = "$want_seq" ] || note "usage: want $(echo "$want_seq" | tr '\n' ' '); got $(echo "$got_seq" | tr '\n' ' ')"
got_chg=$(jq -r "$UDEF .data[] | chg" "$T/body" 2>/dev/null | while read -r v; do nano "$v"; done || true)
check "usage: each record's charge is the formula's" eq "$got_chg" "$want_chg"
check "usage: provider mock and status ok everywhere" json_is "$UDEF .data | all(prv == \"mock\" and .status == \"ok\")"
check "usage: two stream records" json_is '[.data[] | select(.stream == true or .stream == 1)] | length == 2'
check "usage: the oldest record has base_cost 36000 nano (got $(jv '.data[-1].base_cost'))" eq "$(jn '.data[-1].base_cost')" 36000
check "usage: the oldest record has commission 1800 nano (got $(jv '.data[-1].commission'))" eq "$(jn '.data[-1].commission')" 1800
check "usage: next_cursor null when everything fits" json_is '.next_cursor == null'

req GET /user/usage "$AK" "" -G --data-urlencode model=test/dear
check "usage?model=test/dear: the one dear record" json_is \
	"$UDEF (.data | length) == 1 and (.data[0] | mdl == \"test/dear\" and pt == 12 and ct == 2)"
req GET /user/usage "$AK" "" -G --data-urlencode "key_id=$AK2_ID"
check "usage?key_id=second key: its one record" json_is "$UDEF (.data | length) == 1 and (.data[0] | ct == 8)"
req GET /user/usage "$AK" "" -G --data-urlencode from=2099-01-01T00:00:00Z
check "usage?from=2099: nothing" json_is '(.data | length) == 0'
req GET /user/usage "$AK" "" -G --data-urlencode to=2000-01-01T00:00:00Z
check "usage?to=2000: nothing" json_is '(.data | length) == 0'

# Pages of 5 with the cursor, concatenated, are the whole list.
: >"$T/pages.jsonl"
cur="" npages=0 pages_ok=false
for i in $(seq 10); do
	if [ -n "$cur" ]; then
		req GET /user/usage "$AK" "" -G --data-urlencode limit=5 --data-urlencode "cursor=$cur"
	else
		req GET /user/usage "$AK" "" -G --data-urlencode limit=5
	fi
	[ "$code" = 200 ] || break
	npages=$((npages + 1))
	jq -c '.data' "$T/body" >>"$T/pages.jsonl"
	[ "$npages" != 1 ] || check "usage?limit=5: 5 records and a next_cursor" json_is \
		'(.data | length) == 5 and (.next_cursor | type == "string")'
	cur=$(jv '.next_cursor // empty')
	if [ -z "$cur" ]; then
		pages_ok=true
		break
	fi
done
check "usage pages: $npages pages (want $(((N + 4) / 5))) end with next_cursor null" sh -c \
	"$pages_ok && [ $npages = $(((N + 4) / 5)) ]"
check "usage pages: concatenated they are the full list, in order" sh -c \
	"jq -s 'add' '$T/pages.jsonl' | jq -e --slurpfile all '$T/usage-all.json' '. == \$all[0].data' >/dev/null"

req GET /user/usage "$AK" "" -G --data-urlencode format=csv --data-urlencode limit=100
expect_status "usage?format=csv" 200
check "usage csv: Content-Type text/csv" header_has content-type 'text/csv'
check "usage csv: a header line naming the model column" sh -c "head -n 1 '$T/body' | grep -qi 'model'"
check "usage csv: header + $N lines ($(grep -c . "$T/body" || true))" test "$(grep -c . "$T/body" || true)" = $((N + 1))
check "usage csv: the dear record is there" grep -q 'test/dear' "$T/body"

req GET /user/monitor "$AK"
expect_status "GET /user/monitor" 200
check "monitor: total_requests $N" json_is ".usage_metrics.total_requests == $N"
check "monitor: total_tokens $tot_tok" json_is ".usage_metrics.total_tokens == $tot_tok"
check "monitor: total_cost $tot_chg nano (got $(jv .usage_metrics.total_cost))" eq "$(jn .usage_metrics.total_cost)" "$tot_chg"
check "monitor: most_used_model test/cheap, last_request_time set" json_is \
	'.usage_metrics.most_used_model == "test/cheap" and (.usage_metrics.last_request_time | type == "string")'
read_balance "$AK"
check "monitor: current_credits is the balance" eq "$(jn .current_credits)" "$BAL"
check "A: balance = 1.00 - every charge ($tot_chg nano)" eq "$BAL" $((1000000000 - tot_chg))

dear_c=$(charge_of test/dear 12 2)
req GET /user/bill "$AK"
expect_status "GET /user/bill" 200
DEAR='[.data[] | select((.model // .model_id) == "test/dear")]'
check "bill: one line for test/dear" json_is "$DEAR | length == 1"
check "bill: test/dear base_cost 180000 nano" eq "$(jn "${DEAR}[0].base_cost")" 180000
check "bill: test/dear commission 9000 nano" eq "$(jn "${DEAR}[0].commission")" 9000
check "bill: test/dear charge $dear_c nano" eq "$(jn "${DEAR}[0].charge")" "$dear_c"
bill_sum=0
for v in $(jq -r '.data[].charge' "$T/body" 2>/dev/null); do
	n=$(nano "$v")
	if [[ $n =~ ^[0-9]+$ ]]; then bill_sum=$((bill_sum + n)); else bill_sum="?"; break; fi
done
check "bill: the charges sum to the total ($tot_chg nano; got $bill_sum)" eq "$bill_sum" "$tot_chg"
req GET /admin/bill "$AK_ADMIN"
expect_status "GET /admin/bill" 200
check "admin bill: A's charges sum to $tot_chg nano" eq \
	"$(nano "$(jq -r --arg id "$A_ID" '[.data[] | select(.user_id == $id)] | if length == 1 then .[0].charge else "?" end' "$T/body" 2>/dev/null)")" "$tot_chg"
check "A: the ledger reconciles, no open hold" ledger_check "$A_ID"

# =========================================================================================
# V: refused requests change nothing and reach no upstream.
# =========================================================================================
user v 1.00
VK=$U_KEY V_ID=$U_ID
cp_new_key "$VK" '{"name":"dear-only","allowed_models":["test/dear"]}' || bail "V creates a restricted key ($code)"
VK_DEAR=$NEW_KEY
read_balance "$VK"
vb0=$BAL
vm0=$(mock_n)
http POST "$URL/v1/chat/completions" -H 'Content-Type: application/json' --data-binary "{\"model\":\"test/cheap\",$MSGS}"
expect_err "chat without a key" 401 missing_api_key
chat "gw_live_notarealkey" "{\"model\":\"test/cheap\",$MSGS}"
expect_err "chat with a bad key" 401 invalid_api_key
chat "$VK" '{"model": "test/cheap", "messages": ['
check "malformed JSON -> 400 invalid_value (or invalid_json)" is_err_any 400 invalid_value invalid_json
chat "$VK" '[1,2]'
check "a JSON array body -> 400" is_err_any 400 invalid_value invalid_type invalid_json
chat "$VK" "{$MSGS}"
expect_err "missing model" 400 missing_field
chat "$VK" '{"model":"test/cheap"}'
expect_err "missing messages" 400 missing_field
chat "$VK" '{"model":"test/cheap","messages":"hello"}'
check "messages not an array -> 400 invalid_value" is_err_any 400 invalid_value invalid_type
chat "$VK" "{\"model\":42,$MSGS}"
check "model not a string -> 400 invalid_value" is_err_any 400 invalid_value invalid_type
chat "$VK" "{\"model\":\"test/cheap\",\"max_tokens\":\"lots\",$MSGS}"
check "max_tokens not an integer -> 400 invalid_value" is_err_any 400 invalid_value invalid_type
chat "$VK" "{\"model\":\"test/cheap\",\"stream\":\"yes\",$MSGS}"
check "stream not a boolean -> 400 invalid_value" is_err_any 400 invalid_value invalid_type
chat "$VK" "{\"model\":\"nobody/nothing\",$MSGS}"
expect_err "unknown model" 404 model_not_found
chat "$VK" "{\"model\":\"nobody/nothing\",\"stream\":true,$MSGS}"
expect_err "unknown model, streamed: a JSON error before any event" 404 model_not_found
http POST "$URL/v1/completions" -H "Authorization: Bearer $VK" -H 'Content-Type: application/json' \
	--data-binary '{"model":"nobody/nothing","prompt":"x"}'
expect_err "completions: unknown model" 404 model_not_found
http POST "$URL/v1/embeddings" -H "Authorization: Bearer $VK" -H 'Content-Type: application/json' \
	--data-binary '{"model":"nobody/nothing","input":"x"}'
expect_err "embeddings: unknown model" 404 model_not_found
chat "$VK_DEAR" "{\"model\":\"test/cheap\",$MSGS}"
expect_err "a key whose allowed_models lacks test/cheap" 404 model_not_found
read_balance "$VK"
check "refusals: balance unchanged, nothing reserved" eq "$BAL/$RES" "$vb0/0"
check "refusals: the upstream got nothing" eq "$(mock_n)" "$vm0"
req GET /user/usage "$VK"
check "refusals: no usage record (no hold was placed)" json_is '(.data | length) == 0'
check "V: the ledger reconciles" ledger_check "$V_ID"
chat "$VK_DEAR" "{\"model\":\"test/dear\",$(msgs 'hello there [mock:words=1]')}"
expect_status "the restricted key on its allowed model test/dear" 200
read_balance "$VK"
c=$(charge_of test/dear 12 1)
check "  charged $c nano" eq "$(minus "$vb0" "$BAL")" "$c"

# =========================================================================================
# Z: no money at all.
# =========================================================================================
user z 0
ZK=$U_KEY Z_ID=$U_ID
zm0=$(mock_n)
ZB="{\"model\":\"test/cheap\",$MSGS}"
zhold=$(hold_of test/cheap ${#ZB} $DEFMAX)
chat "$ZK" "$ZB"
expect_err "user with balance 0" 402 insufficient_quota
zmsg=$(jv .error.message)
note "402 message: $zmsg"
# msg_has NANO: the message names that amount (any decimal in it equal to NANO).
msg_has() {
	local v
	while read -r v; do
		[ "$(nano "$v")" = "$1" ] && return 0
	done < <(grep -oE '[0-9]+([.][0-9]+)?' <<<"$zmsg")
	return 1
}
check "402: the message names the amount needed ($zhold nano)" msg_has "$zhold"
check "402: the message names the amount available (0)" msg_has 0
check "402: the message hints at max_tokens" grep -q 'max_tokens' <<<"$zmsg"
chat_sse "$ZK" "{\"model\":\"test/cheap\",\"stream\":true,$MSGS}"
check "402 for a stream too (before any event)" eq "$code" 402
http POST "$URL/v1/completions" -H "Authorization: Bearer $ZK" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","prompt":"say something"}'
expect_err "completions with balance 0" 402 insufficient_quota
http POST "$URL/v1/embeddings" -H "Authorization: Bearer $ZK" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","input":"the quick brown fox"}'
expect_err "embeddings with balance 0" 402 insufficient_quota
req POST /v1/quote "$ZK" "$ZB"
expect_status "quote for the poor user" 200
check "  fits false, available 0" sh -c "jq -e '.fits == false' '$T/body' >/dev/null && [ '$(jn .available)' = 0 ]"
check "  hold $zhold nano (got $(jv .hold))" eq "$(jn .hold)" "$zhold"
read_balance "$ZK"
check "402s: balance still 0, nothing reserved" eq "$BAL/$RES" 0/0
check "402s: the upstream got nothing" eq "$(mock_n)" "$zm0"
# The four refusals (chat, stream, completions, embeddings) are in Z's own log as refused
# records (issue 18), nothing served, nothing charged; the write-out takes a moment.
z_refused() { req GET /user/usage "$ZK"; json_is '(.data | length) == 4'; }
check "402s: four records, written by the journal's write-out" wait_for "Z's refused records" 10 z_refused
check "402s: each refused, 402, charge 0, no tokens: no record of a served request" json_is \
	'all(.data[]; .status == "refused" and .http_status == 402 and (.cost | tonumber) == 0 and .total_tokens == 0)'

# =========================================================================================
# S: $0.001; max_tokens decides; then a key credit limit.
# =========================================================================================
user s 0.001
SK=$U_KEY S_ID=$U_ID
sm0=$(mock_n)
BIG="{\"model\":\"test/cheap\",\"max_tokens\":1000,$MSGS}"
shold=$(hold_of test/cheap ${#BIG} 1000)
chat "$SK" "$BIG"
expect_err "max_tokens 1000 on \$0.001 (hold $shold nano)" 402 insufficient_quota
zmsg=$(jv .error.message)
note "402 message: $zmsg"
check "402: the message names the amount needed ($shold nano)" msg_has "$shold"
check "402: the message names the amount available (1000000 nano)" msg_has 1000000
read_balance "$SK"
check "that 402 changed nothing (balance, reserved)" eq "$BAL/$RES" 1000000/0
check "that 402 sent nothing upstream" eq "$(mock_n)" "$sm0"
chat "$SK" "{\"model\":\"test/cheap\",\"max_tokens\":100,$MSGS}"
expect_status "max_tokens 100 fits the same balance" 200
mock_n >/dev/null
check "  the upstream got max_tokens 100" mock_sent_max 100
read_balance "$SK"
c=$(charge_of test/cheap 12 12)
check "  charged for what was used ($c nano), not the hold" eq "$(minus 1000000 "$BAL")" "$c"
# A key with a credit limit of $0.0002: the limit, not the balance, refuses.
cp_new_key "$SK" '{"name":"limited","credit_limit":"0.0002"}' || bail "S creates a key with a credit limit ($code)"
SKL=$NEW_KEY SKL_ID=$NEW_KEY_ID
read_balance "$SK"
sb1=$BAL
sm1=$(mock_n)
chat "$SKL" "{\"model\":\"test/cheap\",\"max_tokens\":100,$MSGS}"
expect_err "credit limit 0.0002 < the hold of max_tokens 100" 402 insufficient_quota
check "  nothing sent upstream" eq "$(mock_n)" "$sm1"
chat "$SKL" "{\"model\":\"test/cheap\",\"max_tokens\":10,$MSGS}"
expect_status "credit limit 0.0002 >= the hold of max_tokens 10" 200
check "  the reply is cut at 10 words (finish_reason length)" json_is \
	'.usage.completion_tokens == 10 and .choices[0].finish_reason == "length"'
c=$(charge_of test/cheap 12 10)
read_balance "$SK"
check "  charged $c nano" eq "$(minus "$sb1" "$BAL")" "$c"
req GET /user/api-keys "$SK"
check "  the key's spent is $c nano" eq "$(nano "$(jq -r --arg id "$SKL_ID" '.data[] | select(.id == $id) | .spent' "$T/body" 2>/dev/null)")" "$c"
check "S: the ledger reconciles" ledger_check "$S_ID"
check "Z: the ledger reconciles" ledger_check "$Z_ID"

# =========================================================================================
# C: the user's own commission override, 12.5% (bp 1250), rounded up.
# =========================================================================================
user c 1.00
CK=$U_KEY C_ID=$U_ID
req PUT "/admin/users/$C_ID" "$AK_ADMIN" '{"commission_percent":12.5}'
expect_status "admin sets C's commission to 12.5%" 200
req POST /v1/quote "$CK" "{\"model\":\"test/cheap\",$MSGS}"
check "quote shows commission_percent 12.5" json_is '(.commission_percent|tostring|tonumber) == 12.5'
read_balance "$CK"
cb0=$BAL
chat "$CK" "{\"model\":\"test/cheap\",$(msgs 'hello there [mock:cached=5]')}"
c=$(charge_of test/cheap 12 12 5 1250)
expect_status "chat at 12.5%" 200
check "12.5%: base 33500 + ceil(4187.5) = $c nano (header $(hdr x-tollgate-cost))" eq "$(nano "$(hdr x-tollgate-cost)")" "$c"
check "12.5%: gateway_usage.cost $c nano" eq "$(jn .gateway_usage.cost)" "$c"
read_balance "$CK"
check "12.5%: charged $c nano" eq "$(minus "$cb0" "$BAL")" "$c"
check "C: the ledger reconciles" ledger_check "$C_ID"

# =========================================================================================
# E: upstream failures.
# =========================================================================================
user e 1.00
EK=$U_KEY E_ID=$U_ID
read_balance "$EK"
eb0=$BAL
# upstream_fail DIRECTIVES STATUS CODE...: the upstream fails before the first byte.
upstream_fail() {
	local d=$1 st=$2 m
	shift 2
	m=$(mock_n)
	chat "$EK" "{\"model\":\"test/cheap\",$(msgs "hello there [mock:$d]")}"
	check "upstream $d -> $st ${*}" is_err_any "$st" "$@"
	check "  answered in JSON, not the upstream's page" content_type_json
	check "  the upstream was called" test "$(mock_n)" -gt "$m"
	read_balance "$EK"
	check "  nothing charged, nothing reserved" eq "$BAL/$RES" "$eb0/0"
}
upstream_fail status=429,retry_after=1 429 upstream_rate_limited
note "429 Retry-After passed on: '$(hdr retry-after)'"
check "  the mock did answer 429" mlast '.status == 429'
# A gateway may rest an upstream key for Retry-After: let that pass before the next call.
sleep 1.5
upstream_fail status=503 502 upstream_error
upstream_fail status=500 502 upstream_error
upstream_fail status=400 400 upstream_error
upstream_fail reset 502 upstream_error
check "E: after five failures the ledger reconciles, no hold open" ledger_check "$E_ID"
req GET /user/usage "$EK"
check "E: five records, status error, charge 0" json_is \
	"$UDEF (.data | length) == 5 and (.data | all(.status == \"error\" and (chg | tostring | tonumber) == 0))"
# After the first byte: an error event in the OpenAI shape, then [DONE]; what was delivered is paid.
EB="{\"model\":\"test/cheap\",\"stream\":true,$(msgs 'hello there [mock:error_at=3,words=20]')}"
chat_sse "$EK" "$EB"
evs
check "mid-stream failure: 200 and a clean end (rc $sse_rc)" eq "$code/$sse_rc" 200/0
check "mid-stream failure: the 3 delivered deltas" eq "$(sse_text)" "$(reply_text 3)"
check "mid-stream failure: an error event {error:{message,...}}" ev_is \
	'any(.[]; (.error | type == "object") and (.error.message | type == "string"))'
check "mid-stream failure: the error event is the last event, then [DONE]" sh -c \
	"jq -e '.[-1].error | type == \"object\"' '$T/ev.json' >/dev/null && [ \"\$(tail -n 1 '$T/events')\" = '[DONE]' ]"
read_balance "$EK"
ech=$(minus "$eb0" "$BAL")
ehold=$(hold_of test/cheap ${#EB} $DEFMAX)
check "mid-stream failure: what was delivered is charged (0 < $ech nano <= hold $ehold)" between 0 "$ech" "$ehold"
check "mid-stream failure: nothing stays reserved" eq "$RES" 0
req GET "/user/usage?limit=1" "$EK"
check "mid-stream failure: the newest record says error" json_is '.data[0].status == "error"'
check "mid-stream failure: the record's charge is what the balance lost" eq "$(jn '.data[0] | (.charge // .cost)')" "$ech"
check "E: the ledger reconciles" ledger_check "$E_ID"

# =========================================================================================
# G: keep-alive comments while waiting; a client that goes away.
# =========================================================================================
user g 1.00
GK=$U_KEY G_ID=$U_ID
chat_sse "$GK" "{\"model\":\"test/cheap\",\"stream\":true,$(msgs 'hello there [mock:latency=2500,words=3]')}"
evs
check "slow upstream: 200 (rc $sse_rc)" eq "$code/$sse_rc" 200/0
nka=$(tr -d '\r' <"$T/sse" | grep -c '^: *keep-alive' || true)
check "slow upstream: ': keep-alive' comments ([chat] keepalive = 1 s, 2.5 s wait; got $nka)" test "${nka:-0}" -ge 1
check "slow upstream: the content afterwards is intact" eq "$(sse_text)" "$(reply_text 3)"
check "slow upstream: [DONE] last" done_last
read_balance "$GK"
gb0=$BAL
# The client hangs up after ~1.5 s of a 10 s stream.
CURL_TIMEOUT=1.5 chat_sse "$GK" "{\"model\":\"test/cheap\",\"stream\":true,$(msgs 'hello there [mock:pace=250,words=40]')}"
check "client gone: curl timed out mid-stream (rc 28; got $sse_rc)" eq "$sse_rc" 28
g_settled() {
	read_balance "$GK"
	[ "$RES" = 0 ] && [ "$BAL" != "$gb0" ]
}
wait_for "the abandoned stream to settle" 30 g_settled || true
read_balance "$GK"
gch=$(minus "$gb0" "$BAL")
gfull=$(charge_of test/cheap 12 40)
check "client gone: the hold is settled (reserved 0)" eq "$RES" 0
# tollgate drains the upstream after the client left ([chat] drain_timeout, issue 13): the
# provider's usage decides the charge, the whole reply it produced.
check "client gone: charged what the provider reported, all 40 words ($gch = $gfull nano)" eq "$gch" "$gfull"
req GET "/user/usage?limit=1" "$GK"
check "client gone: the record says client_gone, measured (not estimated)" json_is \
	'.data[0].status == "client_gone" and (.data[0].estimated == false or .data[0].estimated == 0) and .data[0].completion_tokens == 40'
check "G: the ledger reconciles" ledger_check "$G_ID"

# =========================================================================================
# Isolation and secrets (DESIGN.md invariants 5 and 6).
# =========================================================================================
req GET /user/api-keys "$AK"
a_key_id=$(jq -r '.data[0].id // .keys[0].id // empty' "$T/body")
req GET /user/usage "$ZK"
check "Z sees none of A's usage records (only its own four refusals)" json_is \
	"(.data | length) == 4 and all(.data[]; .status == \"refused\" and .key_id != \"$a_key_id\")"
req GET "/user/usage?key_id=$a_key_id" "$ZK"
check "Z may not filter by A's key ($a_key_id) -> 400" is_err 400 invalid_value
req GET /user/bill "$ZK"
check "Z's bill is empty" json_is '.data | length == 0'
req GET /admin/bill "$ZK"
check "a user may not read the admin bill" is_err 403 insufficient_permissions
# secrets_in FILE...: lines holding the provider key, the master key or a user's API key.
secrets_in() {
	grep -F -e "$MOCK_KEY" -e "$TOLLGATE_MASTER_KEY" -e "$AK" -e "$ZK" "$@" 2>/dev/null | head -n 3
}
check "no secret in tollgate's logs" test -z "$(secrets_in "$T"/log/*)"

finish
