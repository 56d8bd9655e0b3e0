#!/usr/bin/env bash
# t_seed003.sh: seed 003's README replayed (host and keys substituted): its clients sign each
# request with a did:key (x-did, x-did-timestamp, x-did-signature) and call
# /api/v1/openrouter/* (chat metered from OpenRouter's usage.cost, streamed or not; other
# paths passed through unbilled), GET /api/v1/usage (request logs: pending while in flight,
# then completed or failed with request and response times and the error) and
# GET /api/v1/health.  The DID's first request creates its user with [did] initial_credits.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb python3
python3 -c 'import cryptography' 2>/dev/null || skip "python3-cryptography not installed"
export LC_ALL=C
SIGN="python3 $integ_dir/lib/did_sign.py"
chat_backend seed003
OR_URL=http://127.0.0.1:$MOCK_PORT/api/v1
# The catalogue's own "openrouter" provider (seeded from schema/pricing.json, with a route for
# openai/gpt-3.5-turbo, seed 003's example model) pointed at the mock before it has a key.
q "UPDATE providers SET base_url = '$OR_URL' WHERE id = 'openrouter'" >/dev/null
echo "$MOCK_KEY" | tg_cli provider key-add openrouter main >/dev/null || bail "key main"
stack_up "db.name=$SCRATCH" did.enabled=on did.initial_credits=1.00 \
	server.workers=2 server.threads=4
ONE_USD=1000000000

# signed KEYFILE METHOD URI [BODY]: a request signed by KEYFILE's DID, as seed 003's client
# sends it; sets $code, $T/body, $T/hdr.  Each call signs anew (a signature is good once).
signed() {
	local key=$1 m=$2 uri=$3 body=${4:-} ts
	local -a a=()
	ts=$(date +%s)
	printf '%s' "$body" >"$T/signed.body"
	[ -z "$body" ] || a+=(-H 'Content-Type: application/json' --data-binary "$body")
	http "$m" "$URL$uri" -H "x-did: $DID" -H "x-did-timestamp: $ts" \
		-H "x-did-signature: $($SIGN sign "$key" "$ts" "$m" "$uri" "$T/signed.body")" "${a[@]}"
}
# rec FIELDS: the DID user's last usage record's FIELDS, space-separated.
rec() { q "SELECT $1 FROM usage_records WHERE user_id = $UID_D ORDER BY id DESC LIMIT 1" | tr '\t' ' '; }
nrec() { q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_D"; }
# Distinct query strings: two reads of one path in one second would carry one signature.
n_read=0
usage_read() { n_read=$((n_read + 1)); signed "$T/d.key" GET "/api/v1/usage?limit=10&n=$n_read"; }

note "--- health, open"
http GET "$URL/api/v1/health"
expect_status "GET /api/v1/health without a credential: 200" 200
check "...status ok and the database reachable" json_is '.status == "ok" and .database.reachable == true'
http GET "$URL/"
expect_status "GET /: 200" 200

note "--- first contact: a chat through the pass-through, signed"
$SIGN new "$T/d.key" >/dev/null
DID=$($SIGN did "$T/d.key")
BODY='{"model":"openai/gpt-3.5-turbo","messages":[{"role":"user","content":"Hello! How are you? [mock:flavor=openrouter]"}]}'
signed "$T/d.key" POST /api/v1/openrouter/chat/completions "$BODY"
expect_status "README's chat completion (DID-signed) -> 200" 200
UID_D=$(q "SELECT id FROM users WHERE did = '$DID'")
check "the DID's first request made its user" test -n "$UID_D"
check "...OpenRouter's answer, its model" json_is '.model == "openai/gpt-3.5-turbo" and (.choices[0].message.content | length > 0)'
check "...usage accounting was asked of OpenRouter" \
	sh -c 'curl -s -m 5 "http://127.0.0.1:$1/_mock/requests" | jq -e ".[-1].body.usage.include == true" >/dev/null' _ "$MOCK_PORT"
UP=$(rec upstream_cost)
C1=$(with_commission "$UP")
check "...charged OpenRouter's usage.cost ($UP nano) + 5% = $C1" test "$(rec 'charge, charge_basis')" = "$C1 measured"
check "...x-tollgate-cost says so" usd_eq "$(hdr x-tollgate-cost)" "$(usd_of "$C1")"
check "...from the initial credits: balance 1.00 - charge, nothing held" \
	test "$(acct_row "$UID_D")" = "$((ONE_USD - C1)) 0"

note "--- the streamed example"
SBODY='{"model":"openai/gpt-3.5-turbo","messages":[{"role":"user","content":"Write a short story about AI [mock:flavor=openrouter]"}],"stream":true}'
printf '%s' "$SBODY" >"$T/s.body"
ts=$(date +%s)
curl -sSN -m 30 -o "$T/sse" -w '%{http_code}' -H "x-did: $DID" -H "x-did-timestamp: $ts" \
	-H "x-did-signature: $($SIGN sign "$T/d.key" "$ts" POST /api/v1/openrouter/chat/completions "$T/s.body")" \
	-H 'Content-Type: application/json' --data-binary "$SBODY" \
	"$URL/api/v1/openrouter/chat/completions" >"$T/sse.code" 2>"$T/sse.err" || true
check "a signed stream -> 200 ending in [DONE] ($(cat "$T/sse.code"))" \
	sh -c "[ \"\$(cat '$T/sse.code')\" = 200 ] && grep -q '^data: \\[DONE\\]' '$T/sse'"
UP2=$(rec upstream_cost)
C2=$(with_commission "$UP2")
check "...charged its usage.cost ($UP2) + 5%, a stream" test "$(rec 'charge, charge_basis, stream')" = "$C2 measured 1"
check "...balance moved by both charges exactly" test "$(acct_row "$UID_D")" = "$((ONE_USD - C1 - C2)) 0"

note "--- unmetered paths pass through, signed"
n0=$(nrec)
signed "$T/d.key" GET /api/v1/openrouter/models
expect_status "GET /api/v1/openrouter/models -> 200" 200
check "...OpenRouter's model list" json_is '.data | length > 0'
signed "$T/d.key" GET "/api/v1/openrouter/generation?id=gen-s3"
expect_status "GET /api/v1/openrouter/generation?id= -> 200" 200
check "...no usage record, no charge" test "$(nrec) $(acct_row "$UID_D")" = "$n0 $((ONE_USD - C1 - C2)) 0"

note "--- request logs: pending, completed, failed"
SLOW='{"model":"openai/gpt-3.5-turbo","messages":[{"role":"user","content":"slow [mock:flavor=openrouter] [mock:latency=5000]"}]}'
printf '%s' "$SLOW" >"$T/slow.body"
ts=$(date +%s)
SIGS=$($SIGN sign "$T/d.key" "$ts" POST /api/v1/openrouter/chat/completions "$T/slow.body")
curl -s -m 60 -o "$T/slow.out" -w '%{http_code}' -H "x-did: $DID" -H "x-did-timestamp: $ts" \
	-H "x-did-signature: $SIGS" \
	-H 'Content-Type: application/json' --data-binary "$SLOW" \
	"$URL/api/v1/openrouter/chat/completions" >"$T/slow.code" 2>/dev/null &
slow_pid=$!
owned_pids+=($slow_pid)
seen_pending() {
	usage_read
	json_is '.data[0].status == "pending" and .data[0].model == "openai/gpt-3.5-turbo" and .data[0].response_time == null and (.data[0].request_time | test("Z$"))'
}
check "while the slow chat runs, /api/v1/usage lists it first as pending" wait_for "a pending log" 15 seen_pending
wait "$slow_pid" || true
check "the slow chat answered 200 ($(cat "$T/slow.code"))" test "$(cat "$T/slow.code")" = 200
usage_read
check "then completed, with request and response times" \
	json_is '.data[0].status == "completed" and .data[0].request_time <= .data[0].response_time and .data[0].error_message == null'
check "no pending left" json_is '[.data[] | select(.status == "pending")] | length == 0'

signed "$T/d.key" POST /api/v1/openrouter/chat/completions \
	'{"model":"openai/gpt-3.5-turbo","messages":[{"role":"user","content":"fail [mock:flavor=openrouter] [mock:status=500]"}]}'
check "an upstream 500 is not a 200 ($code)" test "$code" != 200
usage_read
check "the failed request is logged failed, with its error" \
	json_is '.data[0].status == "failed" and (.data[0].error_message | type == "string" and length > 0)'
check "README's usage view: four logs in seed 003's names, the DID's" \
	json_is "[.data[] | select(.did == \"$DID\" and has(\"input_tokens\") and has(\"output_tokens\") and has(\"total_cost\"))] | length == 4"
check "totals count the four requests" json_is '.totals.total_requests == 4'
check "the ledger reconciles" ledger_check "$(q "SELECT public_id FROM users WHERE id = $UID_D")"
finish
