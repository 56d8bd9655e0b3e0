#!/usr/bin/env bash
# t_cp_dashboard_api.sh: the JSON endpoints the dashboard reads (doc/api-control-plane.md,
# doc/api-data-plane.md "Usage"): /user/usage?status=, /user/usage/summary (totals and
# per-day lines equal, to the nano-USD, the usage records and the ledger's charges of real
# chats through the mock), /user/credits (top-ups and adjustments only, paged),
# /admin/audit/verify (ok, then a row broken by SQL), /admin/audit?from=&to=. Bad input is a
# 4xx in the OpenAI shape and changes nothing.
# shellcheck disable=SC2317 # helpers run through check
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack dash chat.default_max_tokens=64 upstream.failures_to_open=100
cp_admin dash 1000
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY
export LC_ALL=C

TODAY=$(date -u +%Y-%m-%d)
TOMORROW=$(date -u -d tomorrow +%Y-%m-%d)

# --- a user with money and a few requests of each kind ------------------------------------
new_user alice 10000000000 "first top-up" # $10
A_KEY=$UKEY A_PUB=$UPUB A_UID=$UID_
# A key that chats once, then is made read-only (a read key cannot chat).
cp_new_key "$A_KEY" '{"name":"ro","permissions":["read","write"]}' || bail "second key ($code)"
RO_KEY=$NEW_KEY RO_ID=$NEW_KEY_ID
cb() { echo "{\"model\":\"$1\",$(msgs "$2")}"; }
for body in "$(cb test/cheap 'hello there')" "$(cb test/cheap 'hi [mock:words=30]')" \
	"$(cb test/dear 'hello there')"; do
	chat "$A_KEY" "$body"
	[ "$code" = 200 ] || bail "chat ($code: $(head -c 200 "$T/body"))"
done
chat "$RO_KEY" "$(cb test/cheap 'from the read-only key')"
[ "$code" = 200 ] || bail "chat with the second key ($code)"
req PUT "/user/api-keys/$RO_ID" "$A_KEY" '{"permissions":["read"]}'
[ "$code" = 200 ] || bail "the second key made read-only ($code: $(head -c 200 "$T/body"))"
chat "$A_KEY" "$(cb test/cheap 'hello [mock:status=500]')"
check "an upstream 500 is a failed request ($code)" test "$code" -ge 500
chat_sse "$A_KEY" "{\"model\":\"test/cheap\",\"stream\":true,$(msgs 'hello there [mock:error_at=3,words=20]')}"
check "a mid-stream failure is delivered (200)" eq "$code" 200
check "the ledger reconciles after the chats" ledger_check "$A_PUB"

# The records as the database has them.
rec() { q "SELECT $1 FROM usage_records WHERE user_id = $A_UID ${2:+AND $2}"; }
N_ALL=$(rec "COUNT(*)")
N_ERR=$(rec "COUNT(*)" "status = 'error'")
check "six records, two of them errors ($N_ALL, $N_ERR)" eq "$N_ALL/$N_ERR" 6/2
SUM_CHARGE=$(rec "CAST(SUM(charge) AS SIGNED)")
SUM_BASE=$(rec "CAST(SUM(base_cost) AS SIGNED)")
SUM_COMM=$(rec "CAST(SUM(commission) AS SIGNED)")
SUM_PT=$(rec "CAST(SUM(prompt_tokens) AS SIGNED)")
SUM_CT=$(rec "CAST(SUM(completion_tokens) AS SIGNED)")
# What the ledger charged this account: the sum of its entries less the top-ups.
LEDGER_SPENT=$(q "SELECT -CAST(SUM(amount) AS SIGNED) FROM ledger_entries
	WHERE account_id = $A_UID AND kind NOT IN ('topup', 'adjust')")
check "the records' charges are what the ledger charged ($SUM_CHARGE = $LEDGER_SPENT)" \
	eq "$SUM_CHARGE" "$LEDGER_SPENT"
check "something was charged" test "$SUM_CHARGE" -gt 0

# --- 1. /user/usage?status= ----------------------------------------------------------------
req GET "/user/usage?status=error" "$A_KEY"
check "status=error lists the two failed records" json_is \
	'(.data | length) == 2 and (.data | all(.status == "error"))'
req GET "/user/usage?status=ok" "$A_KEY"
check "status=ok lists the other four" json_is '(.data | length) == 4 and (.data | all(.status == "ok"))'
req GET "/user/usage?status=client_gone" "$A_KEY"
check "status=client_gone: none" json_is '.data == []'
req GET "/user/usage?status=error&format=csv" "$A_KEY"
check "CSV with status=error: a header and two lines" eq "$(tr -d '\r' <"$T/body" | wc -l)" 3
check "CSV with status=error: every line says error" sh -c \
	"tail -n +2 '$T/body' | grep -c ',error,' | grep -qx 2"
req GET "/user/usage?status=ok&limit=2" "$A_KEY"
C1=$(jv .next_cursor)
req GET "/user/usage?status=ok&limit=2&cursor=$C1" "$A_KEY"
check "status=ok pages by cursor: 2 more, then the end" json_is \
	'(.data | length) == 2 and .next_cursor == null and (.data | all(.status == "ok"))'
for bad in bogus OK "ok,error" "error%20"; do
	req GET "/user/usage?status=$bad" "$A_KEY"
	check "status=$bad -> 400 invalid_value, param status" sh -c \
		"[ $code = 400 ] && jq -e '.error.code == \"invalid_value\" and .error.param == \"status\" and (.error.type|type==\"string\") and (.error.message|type==\"string\")' '$T/body' >/dev/null"
done
req GET "/user/usage?status=bogus&format=csv" "$A_KEY"
expect_err "CSV with a bad status" 400 invalid_value

# --- 2. /user/usage/summary -----------------------------------------------------------------
req GET /user/usage/summary "$A_KEY"
expect_status "summary, default range" 200
cp "$T/body" "$T/summary.json"
check "default range: the 30 days up to the end of today (UTC)" json_is \
	".to == \"${TOMORROW}T00:00:00Z\" and .from == \"$(date -u -d "$TOMORROW -30 days" +%Y-%m-%d)T00:00:00Z\""
check "totals.requests = the records ($N_ALL)" eq "$(jv .totals.requests)" "$N_ALL"
check "totals.cost = the records' charges = the ledger's, exactly" eq "$(jn .totals.cost)" "$SUM_CHARGE"
check "totals.base_cost, commission = the records'" eq "$(jn .totals.base_cost)/$(jn .totals.commission)" \
	"$SUM_BASE/$SUM_COMM"
check "totals tokens = the records'" eq \
	"$(jv .totals.prompt_tokens)/$(jv .totals.completion_tokens)/$(jv .totals.total_tokens)" \
	"$SUM_PT/$SUM_CT/$((SUM_PT + SUM_CT))"
check "by_day: one line per model today, oldest first" json_is \
	"[.by_day[] | [.day, .model]] == [[\"$TODAY\",\"test/cheap\"],[\"$TODAY\",\"test/dear\"]]"
DEAR=$(rec "CAST(SUM(charge) AS SIGNED)" "model_id = 'test/dear'")
check "by_day: test/dear's cost and requests" sh -c \
	"[ \"\$(jq -r '.by_day[] | select(.model == \"test/dear\") | .requests' '$T/summary.json')\" = 1 ]"
dear_cost=$(jq -r '.by_day[] | select(.model == "test/dear") | .cost' "$T/summary.json")
check "by_day: test/dear's cost = its record's charge ($DEAR)" eq "$(nano "$dear_cost")" "$DEAR"
sum_days=0
for c in $(jq -r '.by_day[].cost' "$T/summary.json"); do sum_days=$((sum_days + $(nano "$c"))); done
check "by_day costs add up to the total" eq "$sum_days" "$SUM_CHARGE"
check "USD amounts are strings" json_is '(.totals.cost | type) == "string" and (.by_day | all(.cost | type == "string"))'

req GET "/user/usage/summary?model=test/dear" "$A_KEY"
check "model filter: only test/dear" json_is '.totals.requests == 1 and (.by_day | length) == 1'
req GET "/user/usage/summary?status=error" "$A_KEY"
ERR_CHARGE=$(rec "CAST(SUM(charge) AS SIGNED)" "status = 'error'")
check "status filter: the two errors and their charge" sh -c \
	"jq -e '.totals.requests == 2' '$T/body' >/dev/null && [ \"\$(jq -r .totals.cost '$T/body')\" != null ]"
check "status=error: cost = their records' charge" eq "$(jn .totals.cost)" "$ERR_CHARGE"
req GET "/user/usage/summary?key_id=$RO_ID" "$A_KEY"
check "key_id filter: the read-only key's one request" json_is '.totals.requests == 1'
req GET "/user/usage/summary" "$RO_KEY"
check "a read-only key sees its own key only" json_is '.totals.requests == 1'
req GET "/user/usage/summary?key_id=$(jq -r .key.id "$T/reg-alice.json")" "$RO_KEY"
expect_err "a read-only key asking for another key" 403 insufficient_permissions
req GET "/user/usage/summary?from=$TOMORROW&to=$(date -u -d "$TOMORROW +1 day" +%Y-%m-%d)" "$A_KEY"
check "a range without records: zero totals, no lines" json_is \
	'.totals.requests == 0 and (.totals.cost | tonumber) == 0 and .by_day == []'
req GET "/user/usage/summary?from=${TODAY}T00:00:00Z&to=$TOMORROW" "$A_KEY"
check "from as a time, to as a date: today's records" json_is ".totals.requests == $N_ALL and .from == \"${TODAY}T00:00:00Z\""
req GET "/user/usage/summary?from=2025-01-01&to=2026-01-03" "$A_KEY"
check "366 days is the most (367 -> 400 invalid_value)" is_err 400 invalid_value
req GET "/user/usage/summary?from=2025-01-01&to=2026-01-02" "$A_KEY"
expect_status "366 days" 200
for bad in "from=yesterday" "to=2026-1-1" "from=2026-12-06T10:00" "from=$TOMORROW&to=$TODAY" \
	"status=fine" "key_id=key_AAAAAAAAAAAAAAAAAAAA"; do
	req GET "/user/usage/summary?$bad" "$A_KEY"
	check "summary?$bad -> 400 in the OpenAI shape" is_err 400 invalid_value
done
req GET /user/usage/summary
expect_err "summary without a credential" 401 missing_api_key
check "bad input changed nothing: the records" eq "$(rec "COUNT(*)")" "$N_ALL"

# --- 3. /user/credits -----------------------------------------------------------------------
req POST /admin/add_credits "$AK" "{\"user_id\":\"$A_PUB\",\"amount_usd\":\"2.5\",\"note\":\"second\"}"
check "admin adds \$2.50" status_is 200
req POST /admin/add_credits "$AK" "{\"user_id\":\"$A_PUB\",\"amount_usd\":\"-0.75\",\"note\":\"refund of an error\"}"
check "admin takes \$0.75 back" status_is 200
ADMIN_PUB=$(q "SELECT public_id FROM users WHERE email = '$ADMIN_EMAIL'")
req GET /user/credits "$A_KEY"
expect_status "GET /user/credits" 200
cp "$T/body" "$T/credits.json"
check "three entries, newest first: the adjust, the top-up, the first top-up" json_is \
	'[.data[] | .kind] == ["adjust","topup","topup"] and (.data | map(.id)) == (.data | map(.id) | sort | reverse)'
check "the adjustment: signed amount, note, who" json_is \
	".data[0] | (.amount | tonumber) == -0.75 and .note == \"refund of an error\" and .who == \"$ADMIN_PUB\""
check "the top-ups' amounts and notes" json_is \
	'(.data[1] | (.amount|tonumber) == 2.5 and .note == "second") and (.data[2] | (.amount|tonumber) == 10 and .note == "first top-up")'
check "no hold or charge is listed" json_is 'all(.data[]; .kind == "topup" or .kind == "adjust") and .next_cursor == null'
N_LEDGER=$(q "SELECT COUNT(*) FROM ledger_entries WHERE account_id = $A_UID")
check "the ledger has holds and charges besides ($N_LEDGER entries)" test "$N_LEDGER" -gt 6
req GET "/user/credits?limit=2" "$A_KEY"
C1=$(jv .next_cursor)
check "limit=2: two, and a cursor" json_is '(.data | length) == 2 and (.next_cursor | type) == "string"'
req GET "/user/credits?limit=2&cursor=$C1" "$A_KEY"
check "the next page: the first top-up, the end" json_is \
	'(.data | length) == 1 and .data[0].note == "first top-up" and .next_cursor == null'
req GET /user/credits "$RO_KEY"
expect_err "a read-only key" 403 insufficient_permissions
for bad in "limit=0" "limit=1001" "limit=x" "cursor=abc" "cursor=-1" "cursor=0"; do
	req GET "/user/credits?$bad" "$A_KEY"
	expect_err "credits?$bad" 400 invalid_value
done
req GET /user/credits
expect_err "credits without a credential" 401 missing_api_key

# --- 4. /admin/audit/verify -----------------------------------------------------------------
req GET /admin/audit/verify "$AK"
expect_status "audit verify" 200
ROWS=$(q "SELECT COUNT(*) FROM audit_log")
check "ok with every row ($ROWS)" json_is ".ok == true and .rows == $ROWS"
check "the CLI agrees" sh -c "'$TOLLGATE_BIN' -c '$CONF' audit verify | grep -q 'audit chain ok'"
req GET /admin/audit/verify "$A_KEY"
expect_err "a user's key" 403 insufficient_permissions
req GET /admin/audit/verify
expect_err "no credential" 401 missing_api_key
MID=$(q "SELECT MIN(id) + 1 FROM audit_log")
q "UPDATE audit_log SET target_id = 'tampered' WHERE id = $MID" >/dev/null
req GET /admin/audit/verify "$AK"
check "a row changed by SQL: ok false, broken_at that row, a reason" json_is \
	".ok == false and .broken_at == $MID and .rows == $((MID - 1)) and (.reason | test(\"row $MID\"))"
check "the CLI says the same" sh -c "'$TOLLGATE_BIN' -c '$CONF' audit verify | grep -q 'broken at row $MID'"

# --- 5. /admin/audit?from=&to= --------------------------------------------------------------
req GET "/admin/audit?from=$TODAY&to=$TOMORROW&limit=200" "$AK"
check "today's rows: all of them" json_is ".total == $ROWS"
req GET "/admin/audit?from=$TOMORROW" "$AK"
check "from tomorrow: none" json_is '.total == 0 and .data == []'
req GET "/admin/audit?to=$TODAY" "$AK"
check "to today (excluded): none" json_is '.total == 0'
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
req GET "/admin/audit?action=credits.add&from=${TODAY}T00:00:00Z&to=$TOMORROW" "$AK"
check "with action: the credit additions (the user's three and more)" json_is \
	'.total >= 3 and (.data | all(.action == "credits.add"))'
for bad in "from=today" "to=2026-12-06%2010:00:00" "from=$NOW.5"; do
	req GET "/admin/audit?$bad" "$AK"
	expect_err "audit?$bad" 400 invalid_value
done

# --- 6. provider keys: what the provider page shows ------------------------------------------
UK_ID=$(q "SELECT id FROM upstream_keys WHERE provider_id = 'mock'")
UK_TOK=$(q "SELECT CAST(COALESCE(SUM(prompt_tokens + completion_tokens), 0) AS SIGNED) FROM usage_records
	WHERE upstream_key_id = $UK_ID AND created_at >= CURRENT_DATE")
UK_N=$(q "SELECT COUNT(*) FROM usage_records WHERE upstream_key_id = $UK_ID AND created_at >= CURRENT_DATE")
check "the mock's key carried requests today ($UK_N, $UK_TOK tokens)" test "$UK_TOK" -gt 0
for path in /admin/providers/mock/keys "/admin/upstream-keys?provider_id=mock"; do
	req GET "$path" "$AK"
	check "$path: one key with health, circuit, cool-down, use today, enabled" json_is \
		"(.data | length) == 1 and (.data[0] | .health == \"ok\" and .circuit == \"closed\" and
		 has(\"cooldown_until\") and .enabled == true and (.used_today | type) == \"number\" and
		 .requests_today == $UK_N and .tokens_today == $UK_TOK)"
done
req GET /admin/providers/mock/keys "$AK"
check "the list keeps its own members (created_at, limits)" json_is '.data[0] | has("created_at") and has("requests_per_minute")'
UK_PUB=$(jv '.data[0].id')
req GET /admin/providers/nosuch/keys "$AK"
expect_err "an unknown provider" 404 not_found
req PUT "/admin/providers/mock/keys/$UK_PUB" "$AK" '{"enabled":false}'
check "the key disabled" status_is 200
req GET /admin/providers/mock/keys "$AK"
check "a disabled key's health says disabled" json_is '.data[0].health == "disabled" and .data[0].enabled == false'
req GET /admin/providers/mock/keys "$A_KEY"
expect_err "a user's key" 403 insufficient_permissions

finish
