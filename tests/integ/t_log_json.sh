#!/usr/bin/env bash
# t_log_json.sh: [log] format = json (issue 19, observability): every line of the error and
# access log is one JSON object; an access line carries ts, level, request id, the user's and
# key's public ids, model, status, cost (nano-USD, the usage record's charge), latency in ms,
# method and the path without its query; an error line ts, level, msg and the request id
# when the message names one; no secret reaches the log (not the key from Authorization,
# not a credential in the query string).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack logjson "log.format=json"
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
user lj 1.00
UKEY=$U_KEY UPUB=$U_ID UKEY_PUB=$REG_KEY_ID
QSECRET="qsecret$RANDOM$RANDOM$RANDOM"

http POST "$URL/v1/chat/completions?api_key=$QSECRET&x=1" -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' --data-binary "{\"model\":\"test/cheap\",$MSGS}"
check "a chat with a query credential and Authorization -> 200" status_is 200
RID=$(hdr x-request-id)
chat "$UKEY" '{"model":"test/cheap","messages":[{"role":"user","content":"hi [mock:status=500]"}]}'
check "a provider 500 -> 5xx" test "$code" -ge 500
FRID=$(hdr x-request-id)
http GET "$URL/user/balance?api_key=$QSECRET" -H "x-api-key: $UKEY"
check "a control-plane read with x-api-key -> 200" status_is 200
BRID=$(hdr x-request-id)
charged() { [ -n "$(q "SELECT charge FROM usage_records WHERE request_id = '$RID'")" ]; }
check "the chat's usage record is written" wait_for "usage record" 15 charged
CHARGE=$(q "SELECT charge FROM usage_records WHERE request_id = '$RID'")
has_access() { grep -q "\"request_id\":\"$1\"" "$LOG"; }
check "its access line is written" wait_for "access line" 5 has_access "$BRID"

all_json() {
	local n=0 bad=0 line
	while IFS= read -r line; do
		n=$((n + 1))
		jq -e 'type == "object" and (.ts | test("^[0-9-]+T[0-9:]+Z$")) and (.level | type == "string")' \
			<<<"$line" >/dev/null 2>&1 || { bad=$((bad + 1)); note "not JSON: $line"; }
	done <"$LOG"
	note "$n log lines, $bad not JSON objects with ts and level"
	[ "$n" -gt 5 ] && [ "$bad" = 0 ]
}
check "every log line is a JSON object with ts and level" all_json
jq -c "select(.type == \"access\" and .request_id == \"$RID\")" "$LOG" >"$T/acc.json"
a() { jq -e "$1" "$T/acc.json" >/dev/null; }
check "one access line for the chat" test "$(wc -l <"$T/acc.json")" = 1
check "...method, path without the query, status" a '.method == "POST" and .path == "/v1/chat/completions" and .status == 200'
check "...the user's and the key's public ids" a ".user == \"$UPUB\" and .key == \"$UKEY_PUB\""
check "...model and the charge ($CHARGE nano-USD)" a ".model == \"test/cheap\" and .cost == $CHARGE and .cost > 0"
check "...latency in ms, bytes, level info" a '(.latency_ms | type == "number" and . >= 0) and .bytes > 0 and .level == "info"'
jq -c "select(.type == \"access\" and .request_id == \"$BRID\")" "$LOG" >"$T/acc.json"
check "a control-plane line: no model, no cost, the user and key" a \
	".path == \"/user/balance\" and .model == null and .cost == null and .user == \"$UPUB\" and .key == \"$UKEY_PUB\""
jq -c "select(.type != \"access\" and .request_id == \"$FRID\")" "$LOG" >"$T/err.json"
check "the 5xx has an error line naming its request id" test -s "$T/err.json"
check "...with level and msg" jq -e -s 'all(.[]; (.level | test("error|warn")) and (.msg | type == "string"))' "$T/err.json"
check "no line has the key" sh -c "! grep -qF -- '$UKEY' '$LOG'"
check "no line has the query's credential" sh -c "! grep -qF -- '$QSECRET' '$LOG'"
check "no line has a query string or an Authorization header" sh -c "! grep -qiE 'api_key=|Bearer ' '$LOG'"
finish
