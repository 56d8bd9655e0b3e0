#!/usr/bin/env bash
# t_seed002.sh: the clients of seed 002 (and the OpenAI SDK's base URL http://host/api/v1 of
# seed 004) against tollgate unchanged: /api/v1/... and /api/proxy/... reach the /v1/ routes
# (chat, streamed chat, models, embeddings), billed exactly as the same call on /v1/; seed
# 002's `company/model` ids (anthropic/claude-3-5-sonnet) resolve through the alias table to
# the catalogue's model; /api/status is not an alias; unknown paths stay 404 in the OpenAI
# shape and change nothing; an aliased path has the data plane's body cap.
#
# The catalogue is schema/pricing.json as `tollgate migrate` seeds it, provider "anthropic"
# pointed at the mock's Anthropic wire; test/cheap ($1 / $2 per million) on provider "mock".
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
# max_body over max_control_body (64 KiB): the data plane's cap is the larger.
chat_stack seed002 http.max_body=1000000
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY

req PUT /admin/providers/anthropic "$AK_ADMIN" "{\"base_url\":\"$MOCK_ANTHROPIC_URL\"}"
check "provider anthropic pointed at the mock ($code)" status_is 200
echo "$MOCK_KEY" | tg_cli provider key-add anthropic main >/dev/null || bail "key-add anthropic"

user a 5.00
AK=$U_KEY A_ID=$U_ID

# api_chat PATH CRED BODY: a POST of BODY to PATH with the key as Bearer.
api_chat() {
	http POST "$URL$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
		--data-binary "$3"
}

# --- the same chat on /v1 and on its aliases costs the same --------------------------------
BODY="{\"model\":\"test/cheap\",$MSGS}"
read_balance "$AK"
b0=$BAL
api_chat /v1/chat/completions "$AK" "$BODY"
check "POST /v1/chat/completions -> 200" status_is 200
c_v1=$(nano "$(hdr x-tollgate-cost)")
for p in /api/v1/chat/completions /api/proxy/chat/completions; do
	read_balance "$AK"
	b1=$BAL
	m0=$(mock_n)
	api_chat "$p" "$AK" "$BODY"
	check "POST $p -> 200" status_is 200
	check "$p: a chat completion of test/cheap" json_is \
		'.object == "chat.completion" and .model == "test/cheap" and (.choices[0].message.content | length) > 0'
	check "$p: one upstream request" eq "$(mock_n)" $((m0 + 1))
	check "$p: costs what /v1 cost ($c_v1 nano)" eq "$(nano "$(hdr x-tollgate-cost)")" "$c_v1"
	read_balance "$AK"
	check "$p: the balance moved by that cost" eq $((b1 - BAL)) "$c_v1"
done
check "three usage records, all endpoint chat" eq \
	"$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $(uid_of "$A_ID") AND endpoint = 'chat'")" 3

# --- a stream through the alias ------------------------------------------------------------
read_balance "$AK"
b1=$BAL
rm -f "$T/sse"
curl -sSN -m 30 -o "$T/sse" -D "$T/hdr.raw" "$URL/api/v1/chat/completions" \
	-H "Authorization: Bearer $AK" -H 'Content-Type: application/json' \
	--data-binary "{\"model\":\"test/cheap\",\"stream\":true,\"stream_options\":{\"include_usage\":true},$MSGS}" \
	2>"$T/curl.err" || true
check "stream on /api/v1: event-stream ending in [DONE]" sh -c \
	"grep -qi '^content-type: text/event-stream' '$T/hdr.raw' && grep -q '^data: \[DONE\]' '$T/sse'"
sed -n 's/^data: //p' "$T/sse" | grep -v '^\[DONE\]$' >"$T/events"
scost=$(jq -r 'select(.usage != null) | .usage.cost // empty' "$T/events" | tail -n 1)
check "stream: a usage chunk with its cost ($scost)" test -n "$scost"
read_balance "$AK"
# usage.cost is a JSON number (maybe 3.78e-05): to nano-USD through printf.
check "stream: the balance moved by the announced cost" eq $((b1 - BAL)) \
	"$(usd_nano "$(LC_ALL=C printf '%.9f' "$scost")")"

# --- models and embeddings through the alias -----------------------------------------------
http GET "$URL/api/v1/models" -H "Authorization: Bearer $AK"
check "GET /api/v1/models -> 200, a list holding test/cheap" json_is \
	'.object == "list" and ([.data[].id] | index("test/cheap") != null)'
http GET "$URL/api/v1/models" -H "X-API-Key: $AK"
check "GET /api/v1/models with X-API-Key -> 200" status_is 200
http GET "$URL/api/v1/models/test/cheap" -H "Authorization: Bearer $AK"
check "GET /api/v1/models/test/cheap -> that model" json_is '.id == "test/cheap"'
read_balance "$AK"
b1=$BAL
api_chat /api/v1/embeddings "$AK" '{"model":"test/cheap","input":"the quick brown fox"}'
check "POST /api/v1/embeddings -> 200, one vector" json_is \
	'.object == "list" and (.data | length) == 1 and .usage.prompt_tokens == 4'
want=$(charge_at 1000 0 4 0)
check "embeddings: charged 4 tokens at \$1/M + 5% ($want nano)" eq "$(nano "$(hdr x-tollgate-cost)")" "$want"
read_balance "$AK"
check "embeddings: the balance moved by it" eq $((b1 - BAL)) "$want"

# --- seed 002's company/model ids through the alias table ----------------------------------
read_balance "$AK"
b1=$BAL
api_chat /api/v1/chat/completions "$AK" \
	'{"model":"anthropic/claude-3-5-sonnet","messages":[{"role":"user","content":"Hello"}]}'
check "seed 002's README call (anthropic/claude-3-5-sonnet) -> 200" status_is 200
check "answered as the catalogue's anthropic/claude-3.5-sonnet" json_is '.model == "anthropic/claude-3.5-sonnet"'
check "by provider anthropic (the mock's Anthropic wire)" eq "$(hdr x-tollgate-provider)" anthropic
pt=$(jv .usage.prompt_tokens) ct=$(jv .usage.completion_tokens)
want=$(charge_at 3000 15000 "$pt" "$ct")
check "charged at claude-3.5-sonnet's \$3/\$15 ($pt + $ct tokens: $want nano)" \
	eq "$(nano "$(hdr x-tollgate-cost)")" "$want"
read_balance "$AK"
check "the balance moved by it" eq $((b1 - BAL)) "$want"
mock_requests >/dev/null
check "the mock got the upstream's name over /v1/messages" jq_file "$T/mockreq.json" \
	'.[-1].path == "/v1/messages" and (.[-1].body.model | type == "string")'
for m in anthropic/claude-3-opus:beta anthropic/claude-3-5-sonnet:beta \
	google/gemini-2.5-pro-preview-03-25; do
	http POST "$URL/api/v1/quote" -H "Authorization: Bearer $AK" -H 'Content-Type: application/json' \
		--data-binary "{\"model\":\"$m\",\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}"
	check "seed 004's id $m resolves (quote -> 200)" status_is 200
done

# --- what is no alias ----------------------------------------------------------------------
n0=$(n_usage "$(uid_of "$A_ID")")
read_balance "$AK"
b1=$BAL
m0=$(mock_n)
for p in /api/v1/nothing /api/v2/chat/completions /apiv1/chat/completions /api/v1 /api/proxy; do
	api_chat "$p" "$AK" "$BODY"
	expect_err "POST $p" 404 not_found
done
http GET "$URL/api/proxy/chat/completions" -H "Authorization: Bearer $AK"
check "GET on an aliased POST route -> 405 naming POST" sh -c \
	"[ $code = 405 ] && grep -qi '^allow:.*POST' '$T/hdr'"
api_chat /api/v1/chat/completions "$AK" '{"model":"no/such-model","messages":[{"role":"user","content":"x"}]}'
expect_err "an unknown model on the alias" 404 model_not_found
http POST "$URL/api/v1/chat/completions" -H 'Content-Type: application/json' --data-binary "$BODY"
expect_err "no key on the alias" 401 missing_api_key
check "none of these reached the mock" eq "$(mock_n)" "$m0"
check "none of these left a usage record" eq "$(n_usage "$(uid_of "$A_ID")")" "$n0"
read_balance "$AK"
check "none of these moved the balance" eq "$BAL" "$b1"

# --- /api/status stays the admin status page -----------------------------------------------
req GET /api/status "$AK_ADMIN"
check "GET /api/status as admin -> 200 (not an alias)" status_is 200
req GET /api/status "$AK"
check "GET /api/status as a user -> 403" status_is 403

# --- the data plane's body cap on an aliased path ------------------------------------------
# 200 KiB of prompt: over [http] max_control_body (64 KiB), under max_body.
big=$(head -c 204800 /dev/zero | tr '\0' 'a')
printf '{"model":"test/cheap","max_tokens":4,"messages":[{"role":"user","content":"%s"}]}' "$big" >"$T/big.json"
http POST "$URL/api/v1/chat/completions" -H "Authorization: Bearer $AK" \
	-H 'Content-Type: application/json' --data-binary "@$T/big.json"
check "a 200 KiB prompt on /api/v1/chat/completions is not refused as too big ($code)" status_is 200

check "user A's ledger balances" ledger_check "$A_ID"
finish
