#!/usr/bin/env bash
# t_pool.sh: upstream key pools: traffic leaves a rate-limited and a revoked key for the healthy
# one, the rate-limited key comes back after its cool-down, the revoked key stays out; per-key
# spacing and per-minute counts measured at the mock; the circuit breaker; /api/status.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
# open_seconds: the checks "while open" need the circuit still open after three requests and
# a listing; 3 s ran out on a loaded CI machine (the probe got through: 200, not 503).
chat_stack pool server.workers=2 server.threads=4 chat.default_max_tokens=16 \
	upstream.failures_to_open=3 upstream.open_seconds=8
cp_admin pool 1
AK=$ADMIN_KEY

# A second mock whose keys behave differently (distinct last 4 characters: the log's key_label).
RL=sk-mock-ratelimited-aaaa RV=sk-mock-revoked-bbbb HL=sk-mock-healthy-cccc
start_bg mock2 "$MOCK_BIN" -p 0 -k "$HL" -x "$RL=status=429,retry_after=15" -x "$RV=status=401" \
	-l "$T/mock2.jsonl"
m2_port() { sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/log/mock2.out"; }
m2_has_port() { [ -n "$(m2_port)" ]; }
wait_for "second mock" 10 m2_has_port || bail "second mock starts"
M2=http://127.0.0.1:$(m2_port)
m2_log() { curl -s -m 5 "$M2/_mock/requests" >"$T/m2.json"; }
# uses LABEL: requests the second mock got with the key ending in LABEL
uses() { m2_log; jq "[.[] | select(.key_label == \"$1\")] | length" "$T/m2.json"; }

req POST /admin/providers "$AK" "{\"id\":\"pool\",\"kind\":\"openai-compatible\",\"base_url\":\"$M2/v1\"}"
expect_status "provider pool on the second mock" 201
for k in "$RL" "$RV" "$HL"; do
	printf '%s\n' "$k" | tg_cli provider key-add pool "${k:8:8}" >/dev/null || bail "key-add $k"
done
tg_cli model add pool/m pool m 1.00 2.00 >/dev/null || bail "model add pool/m"
cp_register u || bail "register"
UK=$REG_KEY U_ID=$REG_ID
req POST /admin/add_credits "$AK" "{\"user_id\":\"$U_ID\",\"amount_usd\":\"5.00\"}"
body() { echo "{\"model\":\"$1\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}"; }

# --- a bad key never costs the client a failure -----------------------------------------------
n200=0
for i in 1 2 3 4 5 6; do
	chat "$UK" "$(body pool/m)"
	[ "$code" = 200 ] && n200=$((n200 + 1))
done
check "6 requests on a pool with a 429 key and a 401 key: all 200 ($n200)" test "$n200" -eq 6
check "  the revoked key was tried once ($(uses bbbb))" test "$(uses bbbb)" -eq 1
check "  the rate-limited key once, then it cooled down ($(uses aaaa))" test "$(uses aaaa)" -eq 1
check "  the healthy key served all six ($(uses cccc))" test "$(uses cccc)" -eq 6
req GET "/admin/upstream-keys?provider_id=pool" "$AK"
expect_status "GET /admin/upstream-keys" 200
check "  the revoked key is disabled, with the provider's 401 as the reason" json_is \
	'.data[] | select(.last4 == "bbbb") | .enabled == false and (.disabled_reason | test("401"))'
check "  the rate-limited key is enabled, cooling down, circuit closed" json_is \
	'.data[] | select(.last4 == "aaaa") | .enabled == true and .cooldown_until != null and .circuit == "closed" and (.last_error | test("429"))'
# When the cool-down ends (whole seconds, rounded down): waited for below instead of 15 s
# from here (the checks in between took a part of it).
cool_s=$(date -u -d "$(jv '.data[] | select(.last4 == "aaaa") | .cooldown_until // empty')" +%s 2>/dev/null || echo 0)
check "  the healthy key: used 6 today, no error" json_is \
	'.data[] | select(.last4 == "cccc") | .used_today == 6 and .last_error == null and .circuit == "closed"'
req GET /admin/upstream-keys "$UK"
expect_err "a user may not see the key pool" 403 insufficient_permissions
req GET /api/status "$AK"
check "GET /api/status: the compact summary" json_is \
	'.status == "ok" and .totalKeys >= 3 and (.keys | any(.key == "...cccc" and .available == true and .dailyUsage == 6)) and (.keys | any(.key == "...bbbb" and .available == false))'

# --- the cool-down ends; the revoked key stays out ----------------------------------------------
# past_s S: the clock is past second S (+1: the API shows the time rounded down).
past_s() { [ "$(date +%s)" -ge $(($1 + 1)) ]; }
if [ "$cool_s" -gt 0 ]; then
	wait_for "the cool-down to end" 30 past_s "$cool_s" || true
else
	sleep 15.5
fi
chat "$UK" "$(body pool/m)"
check "after Retry-After (15 s) the request still succeeds" status_is 200
check "  the rate-limited key was tried again, being least recently used ($(uses aaaa))" \
	test "$(uses aaaa)" -eq 2
m2_log
check "  its second try came >= 15 s after the first" \
	jq -e '[.[] | select(.key_label == "aaaa") | .t_ms] | (.[1] - .[0]) >= 15000' "$T/m2.json"
check "  the revoked key stayed out ($(uses bbbb))" test "$(uses bbbb)" -eq 1

# --- spacing and a per-minute count on one key ------------------------------------------------
req POST /admin/providers "$AK" "{\"id\":\"spaced\",\"kind\":\"openai-compatible\",\"base_url\":\"$M2/v1\"}"
req POST /admin/providers/spaced/keys "$AK" "{\"key\":\"$HL\",\"label\":\"free tier\",\"requests_per_minute\":3,\"min_interval_ms\":1000}"
expect_status "a key with 3 per minute and 1 s spacing" 201
check "  its limits are shown" json_is '.requests_per_minute == 3 and .min_interval_ms == 1000 and .requests_per_day == null'
tg_cli model add pool/spaced spaced m 1.00 2.00 >/dev/null || bail "model add pool/spaced"
curl -s -m 5 -X DELETE "$M2/_mock/requests" >/dev/null
# Per-minute counts are UTC minutes, and a request waits up to 10 s for a paced key: start
# with at least 20 s of the minute left so the 4th request below is refused, not delayed.
sec=$((10#$(date -u +%S)))
[ "$sec" -lt 40 ] || sleep $((61 - sec))
declare -a pids=()
for i in 1 2 3; do
	curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $UK" \
		-H 'Content-Type: application/json' --data-binary "$(body pool/spaced)" \
		"$URL/v1/chat/completions" >"$T/sp.$i.code" &
	pids+=($!)
	owned_pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
check "3 concurrent requests on the spaced key: all served ($(cat "$T"/sp.*.code | tr '\n' ' '))" \
	test "$(cat "$T"/sp.*.code | grep -c '^200$')" -eq 3
m2_log
check "  the mock saw them >= 1 s apart" jq -e \
	'[.[] | .t_ms] | sort | (.[1] - .[0]) >= 950 and (.[2] - .[1]) >= 950' "$T/m2.json"
chat "$UK" "$(body pool/spaced)"
check "a 4th within the minute: 429, the upstream key's own limit (not the client's)" is_err 429 upstream_rate_limited
ra=$(hdr retry-after)
check "  with Retry-After up to the end of the minute (1..60; got $ra)" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le 60 ]' _ "${ra:-0}"
check "  and the mock did not see it" test "$(uses cccc)" -eq 3

# --- the circuit breaker ---------------------------------------------------------------------
req POST /admin/providers "$AK" "{\"id\":\"flaky\",\"kind\":\"openai-compatible\",\"base_url\":\"$M2/v1\"}"
req POST /admin/providers/flaky/keys "$AK" "{\"key\":\"$HL\",\"label\":\"flaky\"}"
FK_ID=$(jv .id)
tg_cli model add pool/flaky flaky m 1.00 2.00 >/dev/null || bail "model add pool/flaky"
fail_body='{"model":"pool/flaky","messages":[{"role":"user","content":"hello [mock:status=503]"}]}'
chat "$UK" "$fail_body"
check "one 503 from the provider -> 502 to the client" is_err 502 upstream_error
req GET "/admin/upstream-keys?provider_id=flaky" "$AK"
check "  one transient error: still enabled, circuit closed, 1 failure" json_is \
	'.data[0].enabled == true and .data[0].circuit == "closed" and .data[0].consecutive_failures == 1'
chat "$UK" "$fail_body"
chat "$UK" "$fail_body"
req GET "/admin/upstream-keys?provider_id=flaky" "$AK"
check "three in a row open the circuit" json_is \
	'.data[0].circuit == "open" and .data[0].consecutive_failures == 3 and .data[0].enabled == true'
open_s=$(date -u -d "$(jv '.data[0].circuit_open_until // empty')" +%s 2>/dev/null || echo 0)
before=$(uses cccc)
chat "$UK" "$(body pool/flaky)"
check "  while open, requests are refused without calling the provider" \
	sh -c '[ "$1" = 503 ] && [ "$2" -eq "$3" ]' _ "$code" "$(uses cccc)" "$before"
check "  as 503 provider_circuit_open, not a rate limit" is_err 503 provider_circuit_open
check "  with Retry-After until the probe (1..9 s; got '$(hdr retry-after)')" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le 9 ]' _ "$(hdr retry-after)"
if [ "$open_s" -gt 0 ]; then
	wait_for "the circuit's open time to end" 10 past_s "$open_s" || true
else
	sleep 8.2
fi
chat "$UK" "$(body pool/flaky)"
check "after open_seconds one probe goes through and succeeds" status_is 200
req GET "/admin/upstream-keys?provider_id=flaky" "$AK"
check "  the successful probe closes the circuit" json_is \
	'.data[0].circuit == "closed" and .data[0].consecutive_failures == 0'
# --- routing: price by default, the client's provider preferences, measured latency -----------
for p in cheap fast dead; do
	req POST /admin/providers "$AK" "{\"id\":\"$p\",\"kind\":\"openai-compatible\",\"base_url\":\"$M2/v1\"}"
done
printf '%s\n' "$HL" | tg_cli provider key-add cheap >/dev/null || bail "key cheap"
printf '%s\n' "$HL" | tg_cli provider key-add fast >/dev/null || bail "key fast"
printf '%s\n' "$RV" | tg_cli provider key-add dead >/dev/null || bail "key dead"
tg_cli model add pool/r cheap r-cheap 1.00 2.00 >/dev/null &&
	tg_cli model add pool/r fast r-fast 3.00 4.00 >/dev/null &&
	tg_cli model add pool/r dead r-dead 0.50 0.50 >/dev/null || bail "model pool/r"
# rb [PROVIDER_JSON [TEXT]]: a chat body for pool/r.
rb() {
	local pr=${1:-} extra=${2:-}
	echo "{\"model\":\"pool/r\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there$extra\"}]${pr:+,\"provider\":$pr}}"
}
chat "$UK" "$(rb '')"
check "default: the cheapest deployment first; dead's key is refused, so cheap serves" \
	sh -c '[ "$1" = 200 ] && [ "$2" = cheap ]' _ "$code" "$(hdr x-tollgate-provider)"
chat "$UK" "$(rb '{"order":["fast"]}')"
check "provider.order [fast]: fast serves" sh -c '[ "$1" = 200 ] && [ "$2" = fast ]' _ "$code" "$(hdr x-tollgate-provider)"
m2_log
check "  the provider object is not sent upstream" jq -e '.[-1].body.provider == null and .[-1].body.model == "r-fast"' "$T/m2.json"
chat "$UK" "$(rb '{"only":["fast","dead"],"ignore":["dead"]}')"
check "provider.only / ignore: fast" test "$(hdr x-tollgate-provider)" = fast
chat "$UK" "$(rb '{"max_price":{"prompt":2}}')"
check "provider.max_price.prompt 2: fast (at 3 USD) is out; cheap serves" test "$(hdr x-tollgate-provider)" = cheap
chat "$UK" "$(rb '{"max_price":{"prompt":0.1}}')"
check "provider.max_price below every deployment -> 400 no_deployment" is_err 400 no_deployment
chat "$UK" "$(rb '{"sort":"fastest"}')"
check "an unknown provider.sort -> 400 naming it" sh -c '[ "$1" = 400 ] && grep -q "provider.sort" "$2"' _ "$code" "$T/body"
chat "$UK" "$(rb '"fast"')"
check "provider not an object -> 400" is_err 400 invalid_value
req PUT "/admin/providers/dead/keys/$(tg_cli provider key-list dead | jq -r .id)" "$AK" '{"enabled":true}'
chat "$UK" "$(rb '{"order":["dead"],"allow_fallbacks":false}')"
check "order [dead] without fallbacks: dead's refusal is final (502)" \
	sh -c '[ "$1" = 502 ] || [ "$1" = 503 ]' _ "$code"
req PUT "/admin/providers/dead/keys/$(tg_cli provider key-list dead | jq -r .id)" "$AK" '{"enabled":true}'
chat "$UK" "$(rb '{"order":["dead"]}')"
check "order [dead] with fallbacks: another deployment serves" sh -c '[ "$1" = 200 ] && [ "$2" != dead ]' _ "$code" "$(hdr x-tollgate-provider)"
# Latency: cheap answers in ~600 ms, fast at once; sort by latency picks fast.
for i in 1 2; do
	chat "$UK" "$(rb '{"order":["cheap"]}' ' [mock:latency=600]')"
	chat "$UK" "$(rb '{"order":["fast"]}')"
done
chat "$UK" "$(rb '{"sort":"latency"}')"
check "provider.sort latency: the measured faster deployment (fast) serves" test "$(hdr x-tollgate-provider)" = fast
req POST /v1/quote "$UK" "$(rb '{"order":["fast"]}')"
check "POST /v1/quote shows the choice the preferences make" json_is '.provider == "fast" and .upstream_model == "r-fast"'

check "U: the ledger reconciles" ledger_check "$U_ID"

finish
