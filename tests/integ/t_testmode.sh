#!/usr/bin/env bash
# t_testmode.sh: test mode (issue 18; doc/api-control-plane.md and doc/api-data-plane.md,
# "Test mode"). A gw_test_ key (POST /user/api-keys {"mode":"test"}) spends its user's
# sandbox, granted [billing] test_credits a day, and is answered by the built-in test/echo
# and test/stream models without any upstream call: the answers are exact, the sandbox moves
# by the announced cost and the real balance does not move a nano-USD. A live key cannot
# reach test/* (nor the sandbox); a test key cannot reach real models unless
# test_real_models is on, and then pays from the sandbox at the real price. The daily grant
# refills once a day; 8 test requests at once on a sandbox that covers 3 holds never take it
# below zero and the books stay exact; usage records say which mode paid.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
S=10000000 # the daily grant below, 0.01 USD, in nano-USD
STACK=(server.workers=2 server.threads=8 billing.test_credits=0.01)
chat_stack tm "${STACK[@]}"
cp_admin tm 1
AK=$ADMIN_KEY
SANDBOX_BASE=4611686018427387904

new_user tmu "$ONE"
LIVE=$UKEY
U1=$UID_
SB1=$((U1 + SANDBOX_BASE))
# sandbox_row UID: "balance reserved" of the user's sandbox ("" when it has none).
sandbox_row() { acct_row $(($1 + SANDBOX_BASE)); }
hdr_cost() { nano "$(hdr x-tollgate-cost)"; }
words() { echo "$1" | wc -w | tr -d ' '; }
# fnano FILE EXPR: the USD amount at jq EXPR of FILE (string or number) in nano-USD.
fnano() {
	local v
	v=$(jq -r "$2" "$1" 2>/dev/null)
	if [[ $v =~ ^[0-9]+([.][0-9]{1,9})?$ ]]; then
		usd_nano "$v"
	elif [[ $v =~ ^[0-9]*[.]?[0-9]+([eE][-+]?[0-9]+)?$ ]]; then
		usd_nano "$(printf '%.9f' "$v")"
	else
		echo "?$v"
	fi
}

# --- keys ---------------------------------------------------------------------------------
cp_new_key "$LIVE" '{"name":"sandbox","mode":"test"}' || bail "create a test key ($code)"
TKEY=$NEW_KEY TKEY_ID=$NEW_KEY_ID
check "mode test: a gw_test_ key" sh -c "echo '$TKEY' | grep -Eqx 'gw_test_[A-Za-z0-9]{38}'"
check "mode test: KEY says mode test, environment test" json_is '.key.mode == "test" and .key.environment == "test"'
req GET /user/api-keys "$LIVE"
check "the listing shows each key's mode" json_is \
	"(.data | map(select(.id == \"$TKEY_ID\"))[0].mode == \"test\") and (.data | map(select(.id != \"$TKEY_ID\")) | all(.mode == \"live\"))"
req POST "/user/api-keys/$TKEY_ID/rotate" "$LIVE" '{}'
expect_status "rotate the test key" 200
check "rotation keeps the mode" json_is '(.api_key | startswith("gw_test_")) and .key.mode == "test"'
TKEY=$(jv .api_key)
req POST /user/api-keys "$LIVE" '{"mode":"sandbox"}'
check "mode other than live|test: 400 invalid_value (mode)" is_err 400 invalid_value
check "... param mode" json_is '.error.param == "mode"'
req POST /user/api-keys "$LIVE" '{"mode":"test","environment":"live"}'
check "mode test with environment live: 400" is_err 400 invalid_value
req PUT "/user/api-keys/$TKEY_ID" "$LIVE" '{"mode":"live"}'
check "the mode cannot be changed on a key: 400" is_err 400 invalid_value
# A test key that manages keys makes test keys only, and cannot touch a live one.
cp_new_key "$LIVE" '{"mode":"test","permissions":["read","write","keys"]}' || bail "test key with keys ($code)"
TKK=$NEW_KEY
cp_new_key "$TKK" '{"name":"child"}'
check "a test key's new key (no mode given) is a test key" json_is '.key.mode == "test" and (.api_key | startswith("gw_test_"))'
req POST /user/api-keys "$TKK" '{"mode":"live"}'
check "a test key asking for a live key: 403" is_err 403 insufficient_permissions
LIVE_ID=$(q "SELECT public_id FROM api_keys WHERE user_id = $U1 AND environment = 'live' LIMIT 1")
req PUT "/user/api-keys/$LIVE_ID" "$TKK" '{"name":"renamed by a test key"}'
check "a test key changing a live key: 403" is_err 403 insufficient_permissions

# --- test/echo: exact answer, the sandbox pays, the real balance does not ------------------
n0=$(n_mock)
TEXT="the quick  brown fox jumps"
BODY="{\"model\":\"test/echo\",\"messages\":[{\"role\":\"system\",\"content\":\"be terse\"},{\"role\":\"user\",\"content\":\"$TEXT\"}]}"
chat "$TKEY" "$BODY"
expect_status "test key, test/echo: 200" 200
P=$(($(words "be terse") + $(words "$TEXT"))) C=$(words "$TEXT")
check "the answer is the last user message's text" json_is ".choices[0].message.content == \"$TEXT\" and .choices[0].finish_reason == \"stop\""
check "usage: prompt $P and completion $C tokens (words)" json_is \
	".usage.prompt_tokens == $P and .usage.completion_tokens == $C and .usage.total_tokens == $((P + C))"
check "the answer names test/echo, provider test" sh -c "[ \"\$(jq -r .model '$T/body')\" = test/echo ] && grep -qi '^x-tollgate-provider: test' '$T/hdr'"
COST=$(charge_at 1000 2000 "$P" "$C")
check "x-tollgate-cost is \$1/\$2 per million plus commission ($COST)" eq "$(hdr_cost)" "$COST"
check "the sandbox moved by the cost: granted $S, now $((S - COST)), nothing reserved" \
	eq "$(sandbox_row "$U1")" "$((S - COST)) 0"
check "x-tollgate-balance is the sandbox's" eq "$(nano "$(hdr x-tollgate-balance)")" "$((S - COST))"
check "the real balance did not move (to the nano)" eq "$(acct_row "$U1")" "$ONE 0"
check "no upstream request for test traffic" eq "$(n_mock)" "$n0"
check "one test_grant entry of $S on the sandbox" eq \
	"$(q "SELECT COUNT(*), SUM(amount) FROM ledger_entries WHERE account_id = $SB1 AND kind = 'test_grant'" | tr '\t' ' ')" "1 $S"
SPENT=$COST

# text parts, max_tokens cutting the answer
chat "$TKEY" '{"model":"test/echo","max_tokens":2,"messages":[{"role":"user","content":[{"type":"text","text":"one two"},{"type":"text","text":"three four"}]}]}'
expect_status "text parts, max_tokens 2: 200" 200
check "cut after 2 words, finish_reason length" json_is \
	'.choices[0].message.content == "one two" and .choices[0].finish_reason == "length" and .usage.prompt_tokens == 4 and .usage.completion_tokens == 2'
SPENT=$((SPENT + $(hdr_cost)))

# --- test/stream: OpenAI chunks, usage last when asked ---------------------------------------
TEXT2="alpha beta gamma delta"
chat_sse "$TKEY" "{\"model\":\"test/stream\",\"stream\":true,\"stream_options\":{\"include_usage\":true},\"messages\":[{\"role\":\"user\",\"content\":\"$TEXT2\"}]}"
check "test/stream: 200 event stream" sh -c "[ '$code' = 200 ] && grep -qi '^content-type: text/event-stream' '$T/hdr'"
check "one chunk per word, then [DONE]" sh -c "[ \"\$(grep -c '\"content\":\"[a-z]' '$T/events')\" = 4 ] && [ \"\$(tail -n 1 '$T/events')\" = '[DONE]' ]"
check "the chunks' text is the message" eq \
	"$(grep -v '^\[DONE\]' "$T/events" | jq -rj '.choices[0].delta.content // empty')" "$TEXT2"
check "every chunk is a chat.completion.chunk of test/stream" sh -c \
	"grep -v '^\[DONE\]' '$T/events' | jq -se 'all(.object == \"chat.completion.chunk\" and .model == \"test/stream\")' >/dev/null"
grep -v '^\[DONE\]' "$T/events" | tail -n 1 >"$T/usage.json"
SCOST=$(charge_at 1000 2000 4 4)
check "the last chunk: no choices, usage 4 + 4" jq_file "$T/usage.json" \
	'.choices == [] and .usage.prompt_tokens == 4 and .usage.completion_tokens == 4'
check "... and its cost, $SCOST" eq "$(fnano "$T/usage.json" .usage.cost)" "$SCOST"
SPENT=$((SPENT + SCOST))
chat_sse "$TKEY" "{\"model\":\"test/stream\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$TEXT2\"}]}"
check "without include_usage: no usage chunk" sh -c "[ '$code' = 200 ] && ! grep -q '\"usage\"' '$T/events' && [ \"\$(tail -n 1 '$T/events')\" = '[DONE]' ]"
SPENT=$((SPENT + SCOST))
chat_sse "$TKEY" "{\"model\":\"test/echo\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"$TEXT2\"}]}"
check "test/echo streamed: its text in one chunk" sh -c "[ '$code' = 200 ] && [ \"\$(grep -c '\"content\":\"[a-z]' '$T/events')\" = 1 ]"
SPENT=$((SPENT + SCOST))
check "after the streams: sandbox $((S - SPENT)), real balance untouched" sh -c \
	"[ '$(sandbox_row "$U1")' = '$((S - SPENT)) 0' ] && [ '$(acct_row "$U1")' = '$ONE 0' ]"
check "still no upstream request" eq "$(n_mock)" "$n0"

# An Anthropic client gets the same answer in its own shape (the OpenAI pivot, translated).
http POST "$URL/v1/messages" -H "x-api-key: $TKEY" -H 'anthropic-version: 2023-06-01' \
	-H 'Content-Type: application/json' \
	--data-binary "{\"model\":\"test/echo\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"$TEXT2\"}]}"
expect_status "POST /v1/messages with a test key on test/echo: 200" 200
check "... Anthropic's shape: the text, usage 4 in 4 out" json_is \
	".type == \"message\" and .content[0].text == \"$TEXT2\" and .usage.input_tokens == 4 and .usage.output_tokens == 4"
SPENT=$((SPENT + SCOST))
check "... paid from the sandbox" eq "$(sandbox_row "$U1")" "$((S - SPENT)) 0"

# --- who reaches what ------------------------------------------------------------------------
chat "$LIVE" "$BODY"
check "a live key asking test/echo: 404 model_not_found" is_err 404 model_not_found
chat "$TKEY" "{\"model\":\"test/dear\",$MSGS}"
check "a test key asking a real model (test_real_models off): 403 test_key_real_model" is_err 403 test_key_real_model
http POST "$URL/v1/completions" -H "Authorization: Bearer $TKEY" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/echo","prompt":"hello"}'
check "test models on /v1/completions: 400 unsupported_endpoint" is_err 400 unsupported_endpoint
check "refusals moved nothing: sandbox $((S - SPENT)), real $ONE, no upstream call" sh -c \
	"[ '$(sandbox_row "$U1")' = '$((S - SPENT)) 0' ] && [ '$(acct_row "$U1")' = '$ONE 0' ] && [ '$(n_mock)' = '$n0' ]"
chat "$LIVE" "{\"model\":\"test/cheap\",$MSGS}"
expect_status "the live key on a real model: 200" 200
LCOST=$(hdr_cost)
check "the live key paid from the real balance, the sandbox did not move" sh -c \
	"[ '$(acct_row "$U1")' = '$((ONE - LCOST)) 0' ] && [ '$(sandbox_row "$U1")' = '$((S - SPENT)) 0' ]"
REAL=$((ONE - LCOST))
req GET /user/sandbox "$TKEY"
check "GET /user/sandbox: its balance" eq "$(fnano "$T/body" .balance)" "$((S - SPENT))"
check "... daily_grant 0.01, granted today" json_is ".daily_grant == \"0.01\" and .granted_on == \"$(date -u +%F)\" and .reserved == \"0.00\""

# --- test_real_models = on: real models from the sandbox at the real price -----------------
cp_restart "db.name=$SCRATCH" "${STACK[@]}" billing.test_real_models=on
n1=$(n_mock)
chat "$TKEY" "{\"model\":\"test/dear\",\"max_tokens\":20,$MSGS}"
expect_status "test_real_models on: a test key on test/dear: 200" 200
RP=$(jv .usage.prompt_tokens) RC=$(jv .usage.completion_tokens)
RCOST=$(charge_at 10000 30000 "$RP" "$RC")
check "billed at test/dear's price (\$10/\$30): $RCOST" eq "$(hdr_cost)" "$RCOST"
check "the provider was called" eq "$(n_mock)" "$((n1 + 1))"
SPENT=$((SPENT + RCOST))
check "paid from the sandbox; the real balance did not move" sh -c \
	"[ '$(sandbox_row "$U1")' = '$((S - SPENT)) 0' ] && [ '$(acct_row "$U1")' = '$REAL 0' ]"
check "the test key's spent is sandbox money only" eq \
	"$(q "SELECT spent FROM api_keys WHERE public_id = '$TKEY_ID'")" "$SPENT"

# --- usage says which mode paid --------------------------------------------------------------
req GET "/user/usage?limit=100" "$LIVE"
check "GET /user/usage lists both modes, each record with its mode" json_is \
	'(.data | map(.mode) | unique) == ["live","test"] and (.data | map(select(.mode == "live")) | length) == 1'
req GET "/user/usage?mode=test&limit=100" "$LIVE"
check "mode=test: the sandbox's records only" json_is '(.data | length) == 7 and (.data | all(.mode == "test"))'
check "... their costs sum to what the sandbox spent" eq \
	"$(jq -r '.data[].cost' "$T/body" | while read -r c; do usd_nano "$c"; done | awk '{s += $1} END {print s}')" "$SPENT"
req GET "/user/usage?mode=live" "$LIVE"
check "mode=live: the live record only" json_is '(.data | length) == 1 and .data[0].mode == "live" and .data[0].model == "test/cheap"'
req GET "/user/usage/summary?mode=test" "$LIVE"
check "the summary takes mode too: 7 test requests, their cost the sandbox's spend" json_is \
	".totals.requests == 7 and ((.totals.cost | tonumber) * 1e9 | round) == $SPENT"
req GET /user/bill "$LIVE"
check "GET /user/bill counts real money only: the live request's $LCOST" eq "$(fnano "$T/body" .total.charge)" "$LCOST"
req GET "/user/usage?mode=sandbox" "$LIVE"
check "mode=sandbox: 400 invalid_value" is_err 400 invalid_value
check "tollgate ledger check: the books are exact, sandbox included" ledger_check "$UPUB"

# --- the daily grant ---------------------------------------------------------------------------
q "UPDATE accounts SET test_granted = test_granted - INTERVAL 1 DAY WHERE user_id = $SB1"
chat "$TKEY" "$BODY"
expect_status "the first test request of a new day: 200" 200
check "refilled to the grant, then charged: $((S - COST))" eq "$(sandbox_row "$U1")" "$((S - COST)) 0"
check "a second test_grant entry, of what was spent" eq \
	"$(q "SELECT COUNT(*), SUM(amount) FROM ledger_entries WHERE account_id = $SB1 AND kind = 'test_grant'" | tr '\t' ' ')" "2 $((S + SPENT))"
chat "$TKEY" "$BODY"
check "the same day again: no new grant" eq \
	"$(q "SELECT COUNT(*) FROM ledger_entries WHERE account_id = $SB1 AND kind = 'test_grant'")" 2
check "the real balance never moved for test traffic" eq "$(acct_row "$U1")" "$REAL 0"
check "tollgate ledger check after the refill" ledger_check "$UPUB"

# --- 8 at once on a sandbox that covers 3 holds -----------------------------------------------
new_user tmv "$ONE"
LIVE2=$UKEY U2=$UID_
cp_new_key "$LIVE2" '{"mode":"test"}' || bail "second test key ($code)"
TK2=$NEW_KEY
K=600 M=800
WORDS=$(printf 'w %.0s' $(seq $K))
WORDS=${WORDS% }
PB="{\"model\":\"test/echo\",\"max_tokens\":$M,\"messages\":[{\"role\":\"user\",\"content\":\"$WORDS\"}]}"
H=$(hold_at 1000 2000 ${#PB} $M)
CH=$(charge_at 1000 2000 $K $K)
note "hold $H, charge $CH, sandbox $S: 3 holds fit ($((3 * H))), 4 do not ($((4 * H)))"
check "the numbers: 3 holds fit the sandbox, 4 do not" test $((3 * H)) -le $S -a $((4 * H)) -gt $S
chat_burst par 8 "$TK2" "$PB"
ok200=0 n402=0 other=0
for i in $(seq 8); do
	case $(cat "$T/par.$i.code") in
	200) ok200=$((ok200 + 1)) ;;
	402) jq -e '.error.code == "insufficient_quota"' "$T/par.$i.body" >/dev/null && n402=$((n402 + 1)) ;;
	*) other=$((other + 1)) ;;
	esac
done
note "8 at once: $ok200 answered, $n402 refused 402"
check "at least the 3 that fit were answered, at most what the sandbox pays ($((S / CH)))" \
	test "$ok200" -ge 3 -a "$ok200" -le $((S / CH))
check "the rest: 402 insufficient_quota, nothing else" test $((ok200 + n402)) = 8 -a "$other" = 0
check "the sandbox: $S less $ok200 charges, never below 0, nothing reserved" \
	eq "$(sandbox_row "$U2")" "$((S - ok200 * CH)) 0"
check "one grant however many asked at once" eq \
	"$(q "SELECT COUNT(*) FROM ledger_entries WHERE account_id = $((U2 + SANDBOX_BASE)) AND kind = 'test_grant'")" 1
check "the second user's real balance did not move" eq "$(acct_row "$U2")" "$ONE 0"
check "tollgate ledger check: exact after the burst" ledger_check "$REG_ID"

finish
