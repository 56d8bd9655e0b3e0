#!/usr/bin/env bash
# t_request_states.sh: the request log's states (issue 18, seed 003's request logs): a request
# is listed "pending" by GET /user/usage while in flight (from shared memory, no statement),
# then "completed" with requested_at/responded_at; a provider's 500 is "failed" with its
# error; refused requests (401, 402, 429) are counted and shown in /admin/monitor, and an
# identified caller's 402 and 429 are in their own request log as status "refused" (charge 0,
# counted apart in the summary, left out of bills); an ordinary chat makes no more statements
# for it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack states
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
user st 1.00
UKEY=$U_KEY UKEY_ID=$REG_KEY_ID
pending_of() { jq -r "[.data[] | select(.request_id == \"$1\")][0] | \"\(.status) \(.state)\"" "$T/body" 2>/dev/null; }

# --- pending while in flight, then completed ---------------------------------------------
SLOW_RID="slow-$CP_U"
curl -s -m 60 -o "$T/slow.body" -w '%{http_code}' -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' -H "X-Request-Id: $SLOW_RID" \
	--data-binary '{"model":"test/cheap","messages":[{"role":"user","content":"hello [mock:latency=4000]"}]}' \
	"$URL/v1/chat/completions" >"$T/slow.code" 2>/dev/null &
slow_pid=$!
owned_pids+=($slow_pid)
seen_pending() {
	req GET /user/usage "$UKEY"
	json_is '.data[0].status == "pending" and .data[0].state == "pending" and .data[0].model == "test/cheap"'
}
check "while the slow chat runs, GET /user/usage lists it first as pending" wait_for "a pending record" 10 seen_pending
check "the pending entry has requested_at, no responded_at, no error, the key" json_is \
	"(.data[0].requested_at | test(\"^[0-9-]+T[0-9:]+Z$\")) and .data[0].responded_at == null and .data[0].error == null and .data[0].key_id == \"$REG_KEY_ID\""
PRID=$(jv '.data[0].request_id')
req GET "/user/usage?status=pending" "$UKEY"
check "?status=pending lists only the pending one" json_is "(.data | length) == 1 and .data[0].request_id == \"$PRID\""
cp_register other || bail "another user"
req GET /user/usage "$REG_KEY"
check "another user does not see it" json_is '[.data[] | select(.status == "pending")] | length == 0'
wait "$slow_pid" || true
check "the slow chat answered 200" eq "$(cat "$T/slow.code")" 200
req GET /user/usage "$UKEY"
check "after: no pending entry; the record is ok, state completed" json_is \
	"([.data[] | select(.status == \"pending\")] | length == 0) and ([.data[] | select(.request_id == \"$PRID\")][0] | .status == \"ok\" and .state == \"completed\" and .error == null)"
check "requested_at is at least the latency before responded_at" json_is \
	"[.data[] | select(.request_id == \"$PRID\")][0] | (.responded_at | sub(\"\\\\.[0-9]+Z$\"; \"Z\") | fromdate) - (.requested_at | fromdate) >= 3"

# --- a provider's 500: failed, with the error --------------------------------------------
chat "$UKEY" '{"model":"test/cheap","messages":[{"role":"user","content":"hi [mock:status=500]"}]}'
check "a provider 500 -> 5xx to the client" sh -c "[ $code -ge 500 ]"
FRID=$(hdr x-request-id)
req GET /user/usage "$UKEY"
check "the failed request: status error, state failed, with its error" json_is \
	"[.data[] | select(.request_id == \"$FRID\")][0] | .status == \"error\" and .state == \"failed\" and (.error | type == \"string\" and length > 0) and (.responded_at | type == \"string\")"
req GET "/user/usage?status=bogus" "$UKEY"
expect_err "status=bogus" 400 invalid_value

# --- refusals counted: 401, 402, 429 ------------------------------------------------------
refused() { req GET /admin/monitor "$AK_ADMIN"; jv ".usage.refused.$1"; }
r401=$(refused unauthenticated_401) r402=$(refused insufficient_credit_402) r429=$(refused rate_limited_429)
check "monitor shows the node's refusals" json_is '.usage.refused.scope == "node"'
chat "gw_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "{\"model\":\"test/cheap\",$MSGS}"
check "an unknown key -> 401" status_is 401
check "401 counted ($r401 -> +1)" test "$(refused unauthenticated_401)" -ge $((r401 + 1))
cp_register poor || bail "a user without credit"
POOR_KEY=$REG_KEY
chat "$POOR_KEY" "{\"model\":\"test/dear\",\"max_tokens\":1000,$MSGS}"
expect_err "no credit" 402 insufficient_quota
R402=$(hdr x-request-id)
check "402 counted ($r402 -> +1)" test "$(refused insufficient_credit_402)" -ge $((r402 + 1))
# In the user's own log: written by the journal's write-out, so it may take a tick.
refused_listed() {
	req GET /user/usage "$1"
	json_is "[.data[] | select(.request_id == \"$2\")] | length == 1"
}
check "the 402 is in the user's request log" wait_for "the refused record" 10 refused_listed "$POOR_KEY" "$R402"
check "...status refused, state refused, http 402, model test/dear, cost 0, no tokens, the reason" json_is \
	"[.data[] | select(.request_id == \"$R402\")][0] | .status == \"refused\" and .state == \"refused\" and .http_status == 402 and .model == \"test/dear\" and (.cost | tonumber) == 0 and .total_tokens == 0 and (.error | test(\"credit\"))"
check "...no money moved" test "$(q "SELECT CONCAT(balance, ' ', reserved) FROM accounts WHERE user_id = $(uid_of "$REG_ID")")" = "0 0"
req GET "/user/usage/summary?from=$(date -u +%Y-%m-%d)" "$POOR_KEY"
check "the summary counts it apart: 0 requests, 1 refused" json_is '.totals.requests == 0 and .totals.refused == 1'
req GET /user/bill "$POOR_KEY"
check "the bill leaves it out" json_is '[.data[]? | .requests] | add // 0 | . == 0'
req POST /admin/limit "$AK_ADMIN" "{\"user_id\":\"$U_ID\",\"rate_limits\":{\"requests_per_minute\":1}}"
check "limit the user to 1 request a minute" status_is 200
chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
check "over the limit -> 429" status_is 429
R429=$(hdr x-request-id)
check "429 counted ($r429 -> +1)" test "$(refused rate_limited_429)" -ge $((r429 + 1))
check "the 429 is in the user's request log" wait_for "the refused record" 10 refused_listed "$UKEY" "$R429"
check "...status refused, http 429, its key, the limit named" json_is \
	"[.data[] | select(.request_id == \"$R429\")][0] | .status == \"refused\" and .http_status == 429 and .key_id == \"$UKEY_ID\" and (.error | test(\"rate limit\"))"
req GET "/user/usage?status=refused" "$UKEY"
check "?status=refused lists only refusals" json_is '(.data | length) >= 1 and all(.data[]; .status == "refused")'
check "a refused record holds nothing and charged nothing" \
	test "$(q "SELECT CONCAT(COUNT(*), ' ', COALESCE(SUM(charge), 0), ' ', COUNT(hold_id)) FROM usage_records WHERE request_id IN ('$R402', '$R429')")" = "2 0 0"

# --- an ordinary chat: no statement for the states ----------------------------------------
req POST /admin/limit "$AK_ADMIN" "{\"user_id\":\"$U_ID\",\"rate_limits\":{}}"
stmts() { curl -s -m 5 "$URL/_debug/stats" | jq -r '.pid as $p | "\($p) \(.statements)"'; }
# Per process: two chats in a row on one worker, measured between /_debug/stats calls.
n_same=0
for i in 1 2 3 4 5 6; do
	a=$(stmts)
	chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
	b=$(stmts)
	if [ "${a%% *}" = "${b%% *}" ]; then
		d=$((${b##* } - ${a##* }))
		note "chat $i: $d statements in process ${a%% *} (the stats calls and any other request on it included)"
		n_same=$((n_same + 1))
		min=${min:-$d}
		[ "$d" -lt "$min" ] && min=$d
	fi
done
check "an ordinary chat makes 2 statements, its hold and its settlement (key, payer and routes are cached): none for the states (fewest seen ${min:-?})" \
	test "${min:-99}" -le 2
finish
