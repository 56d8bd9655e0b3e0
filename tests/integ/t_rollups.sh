#!/usr/bin/env bash
# t_rollups.sh: daily usage rollups (issue 19, usage tables built for scale). The housekeeper
# folds usage_records into usage_daily from a watermark; /user/monitor, /user/bill,
# /admin/bill (by model, by user), /user/usage/summary and /admin/monitor's days read the
# rollup's whole days plus the records past the watermark and the partial days raw. Their
# answers must equal the raw records' sums to the nano-USD, before the rollup caught up,
# after it, after a backfill of old rows, with filters (key, model, status, mode) and with
# from/to inside a day; mixed traffic with refused, failed and test-mode rows. A changed
# rollup row changes the answer (so the rollup is what is read), and two folds at once count
# each record once.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
chat_stack rollups server.workers=2 billing.test_credits=0.01
cp_admin rol 100
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY

new_user ra 1000000000
KA=$UKEY PA=$UPUB IA=$UID_
cp_new_key "$KA" '{"name":"second"}' || bail "a second key ($code)"
KA2=$NEW_KEY KA2_PUB=$NEW_KEY_ID
KA2_ID=$(q "SELECT id FROM api_keys WHERE public_id = '$KA2_PUB'")
cp_new_key "$KA" '{"name":"sandbox","mode":"test"}' || bail "a test key ($code)"
KT=$NEW_KEY
new_user rb 1000000000
KB=$UKEY PB=$UPUB IB=$UID_
cp_register rpoor || bail "a user without credit"
KP=$REG_KEY IP=$(uid_of "$REG_ID")

# --- mixed traffic: two models, two keys, a failure, refusals, test mode ---------------------
traffic() {
	local i
	for i in 1 2; do
		chat "$KA" "{\"model\":\"test/cheap\",$MSGS}"
		chat "$KA2" "{\"model\":\"test/dear\",\"max_tokens\":20,$MSGS}"
		chat "$KB" "{\"model\":\"test/cheap\",$MSGS}"
	done
	chat "$KT" "{\"model\":\"test/echo\",$MSGS}"
	chat "$KA" '{"model":"test/cheap","messages":[{"role":"user","content":"hi [mock:status=500]"}]}'
	chat "$KP" "{\"model\":\"test/dear\",\"max_tokens\":1000,$MSGS}"
}
traffic
check "the traffic's last request (no credit) -> 402" status_is 402
written() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $IP AND status = 'refused'")" -ge 1 ]; }
check "the refusal is written out" wait_for "the refused record" 10 written
tested() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $IA AND mode = 'test'")" -ge 1 ]; }
check "the test key's chat is a test-mode record" wait_for "the test-mode record" 10 tested

# --- answers against the raw records ----------------------------------------------------------
# fmt: the endpoint's lines with the last field (USD) in nano-USD.
fmt() {
	local line
	while read -r line; do
		[ -n "$line" ] || continue
		echo "${line% *} $(nano "${line##* }")"
	done
}
# sq SQL: rows of the scratch database, fields joined by one space.
sq() { q "$1" | tr '\t' ' '; }
# same NAME GOT WANT: one check comparing two texts, both shown on failure.
same() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		note "got:  $(echo "$2" | head -20 | tr '\n' '|')"
		note "want: $(echo "$3" | head -20 | tr '\n' '|')"
	fi
}
TODAY=$(date -u +%Y-%m-%d)
# summary TAG KEY QUERY WHERE: /user/usage/summary?QUERY against the records WHERE.
summary() {
	req GET "/user/usage/summary?$3" "$2"
	same "$1: summary ?$3 = the records' sums" "$(jv '.by_day[] | "\(.day) \(.model) \(.requests) \(.refused) \(.tokens) \(.cost)"' | fmt)" \
		"$(sq "SELECT DATE_FORMAT(created_at, '%Y-%m-%d'), model_id, SUM(status <> 'refused'), SUM(status = 'refused'), SUM(prompt_tokens + completion_tokens), SUM(charge) FROM usage_records WHERE $4 GROUP BY 1, 2 ORDER BY 1, 2")"
}
# bill TAG KEY PATH WHERE [BY]: a bill against the live, served records WHERE, by model or user.
bill() {
	local by=${5:-r.model_id} name=${5:+u.public_id}
	req GET "$3" "$2"
	same "$1: bill $3 = the records' sums" "$(jv '.data[] | "\(.model // .user_id) \(.requests) \(.prompt_tokens) \(.completion_tokens) \(.base_cost) \(.commission) \(.charge)"' | fmt_all)" \
		"$(sq "SELECT ${name:-r.model_id}, COUNT(*), SUM(r.prompt_tokens), SUM(r.completion_tokens), SUM(r.base_cost), SUM(r.commission), SUM(r.charge) FROM usage_records r JOIN users u ON u.id = r.user_id WHERE $4 AND r.mode = 'live' AND r.status <> 'refused' GROUP BY $by ORDER BY ${5:+SUM(r.charge) DESC, }${name:-r.model_id}")"
}
# fmt_all: a bill line's three amounts in nano-USD.
fmt_all() {
	local n r p c b m ch
	while read -r n r p c b m ch; do
		echo "$n $r $p $c $(nano "$b") $(nano "$m") $(nano "$ch")"
	done
}
monitor() {
	req GET /user/monitor "$2"
	same "$1: /user/monitor's totals = the records'" \
		"$(jv '.usage_metrics | "\(.total_requests) \(.total_tokens) \(.requests_today) \(.tokens_today) \(.requests_this_month) \(.most_used_model) \(.last_request_time) \(.total_cost) \(.cost_today)"' | fmt_all2)" \
		"$(sq "SELECT COUNT(*), SUM(prompt_tokens + completion_tokens), SUM(created_at >= CURRENT_DATE), SUM(IF(created_at >= CURRENT_DATE, prompt_tokens + completion_tokens, 0)), SUM(created_at >= DATE_FORMAT(CURRENT_DATE, '%Y-%m-01')), (SELECT model_id FROM usage_records WHERE user_id = $3 AND status <> 'refused' GROUP BY model_id ORDER BY COUNT(*) DESC, model_id LIMIT 1), DATE_FORMAT(MAX(created_at), '%Y-%m-%dT%H:%i:%sZ'), SUM(charge), SUM(IF(created_at >= CURRENT_DATE, charge, 0)) FROM usage_records WHERE user_id = $3 AND status <> 'refused'")"
}
fmt_all2() {
	local a b c d e f g h i
	while read -r a b c d e f g h i; do echo "$a $b $c $d $e $f $g $(nano "$h") $(nano "$i")"; done
}
admin_days() {
	req GET "/admin/monitor?$2" "$AK"
	same "$1: /admin/monitor's days and models ?$2 = the records'" \
		"$(jv '.usage.by_day_model[] | "\(.day) \(.model) \(.requests) \(.refused) \(.tokens) \(.cost)"' | fmt)" \
		"$(sq "SELECT DATE_FORMAT(created_at, '%Y-%m-%d'), model_id, SUM(status <> 'refused'), SUM(status = 'refused'), SUM(prompt_tokens + completion_tokens), SUM(charge) FROM usage_records WHERE $3 GROUP BY 1, 2 ORDER BY 1, 2")"
}
FROM_OLD=$(date -u -d '60 days ago' +%Y-%m-%d)
TOMORROW=$(date -u -d tomorrow +%Y-%m-%d)
MID_FROM=$(date -u -d '3 days ago' +%Y-%m-%d)T12:00:00Z
MID_TO=$(date -u +%Y-%m-%d)T$(date -u -d '+1 hour' +%H):00:00Z
sqlt() { echo "${1%Z}" | tr T ' '; }
all_answers() {
	local t=$1
	summary "$t" "$KA" "from=$FROM_OLD&to=$TOMORROW" "user_id = $IA AND created_at >= '$FROM_OLD' AND created_at < '$TOMORROW'"
	summary "$t" "$KA" "from=$FROM_OLD&to=$TOMORROW&key_id=$KA2_PUB" "user_id = $IA AND api_key_id = $KA2_ID AND created_at >= '$FROM_OLD' AND created_at < '$TOMORROW'"
	summary "$t" "$KA" "from=$FROM_OLD&to=$TOMORROW&model=test/cheap&status=ok" "user_id = $IA AND model_id = 'test/cheap' AND status = 'ok' AND created_at >= '$FROM_OLD' AND created_at < '$TOMORROW'"
	summary "$t" "$KA" "from=$FROM_OLD&to=$TOMORROW&mode=test" "user_id = $IA AND mode = 'test' AND created_at >= '$FROM_OLD' AND created_at < '$TOMORROW'"
	summary "$t" "$KA" "from=$MID_FROM&to=$MID_TO" "user_id = $IA AND created_at >= '$(sqlt "$MID_FROM")' AND created_at < '$(sqlt "$MID_TO")'"
	summary "$t" "$KP" "from=$FROM_OLD&to=$TOMORROW&status=refused" "user_id = $IP AND status = 'refused' AND created_at >= '$FROM_OLD' AND created_at < '$TOMORROW'"
	bill "$t" "$KA" /user/bill "r.user_id = $IA"
	bill "$t" "$KA" "/user/bill?from=$MID_FROM&to=$MID_TO" "r.user_id = $IA AND r.created_at >= '$(sqlt "$MID_FROM")' AND r.created_at < '$(sqlt "$MID_TO")'"
	bill "$t" "$AK" /admin/bill "1" "r.user_id, u.public_id"
	bill "$t" "$AK" "/admin/bill?from=$MID_FROM" "r.created_at >= '$(sqlt "$MID_FROM")'" "r.user_id, u.public_id"
	monitor "$t" "$KA" "$IA"
	monitor "$t" "$KB" "$IB"
	admin_days "$t" "from=$FROM_OLD&to=$TOMORROW" "created_at >= '$FROM_OLD' AND created_at < '$TOMORROW'"
	admin_days "$t" "from=$MID_FROM&to=$MID_TO" "created_at >= '$(sqlt "$MID_FROM")' AND created_at < '$(sqlt "$MID_TO")'"
}
mark() { q "SELECT last_id FROM usage_rollup_mark WHERE id = 1"; }
top_id() { q "SELECT COALESCE(MAX(id), 0) FROM usage_records"; }
caught_up() { [ "$(mark)" = "$(top_id)" ]; }

# Old rows written late (a backfill): some days back, one just before midnight, one inside
# the mid-day range, a test-mode row and a refusal among them.
backfill() {
	local tag=$1
	q "INSERT INTO usage_records (request_id, user_id, api_key_id, endpoint, model_id, prompt_tokens, completion_tokens, base_cost, commission, charge, status, http_status, created_at) VALUES
		('bf-$tag-1', $IA, $KA2_ID, 'chat', 'test/dear', 100, 20, 1600000, 160000, 1760000, 'ok', 200, NOW(6) - INTERVAL 40 DAY),
		('bf-$tag-2', $IA, $KA2_ID, 'chat', 'test/cheap', 7, 3, 13001, 1300, 14301, 'ok', 200, DATE(NOW() - INTERVAL 2 DAY) + INTERVAL 86399.999999 SECOND),
		('bf-$tag-3', $IA, $KA2_ID, 'chat', 'test/cheap', 11, 5, 21003, 2100, 23103, 'client_gone', 499, DATE(NOW() - INTERVAL 3 DAY) + INTERVAL 11 HOUR),
		('bf-$tag-4', $IA, $KA2_ID, 'chat', 'test/cheap', 13, 1, 15007, 1500, 16507, 'ok', 200, DATE(NOW() - INTERVAL 3 DAY) + INTERVAL 13 HOUR),
		('bf-$tag-5', $IA, $KA2_ID, 'chat', 'test/dear', 0, 0, 0, 0, 0, 'refused', 429, NOW(6) - INTERVAL 5 DAY)"
	q "INSERT INTO usage_records (request_id, user_id, api_key_id, endpoint, model_id, prompt_tokens, completion_tokens, base_cost, commission, charge, status, http_status, mode, created_at)
		SELECT 'bf-$tag-6', $IA, k.id, 'chat', 'test/cheap', 5, 5, 9, 1, 10, 'ok', 200, 'test', NOW(6) - INTERVAL 6 DAY FROM api_keys k WHERE k.user_id = $IA AND k.environment = 'test' LIMIT 1"
	[ "$(q "SELECT COUNT(*) FROM usage_records WHERE request_id LIKE 'bf-$tag-%'")" = 6 ] || bail "backfill $tag"
}

note "records $(top_id), watermark $(mark)"
all_answers "as written"
check "the housekeeper's rollup catches up with the records" wait_for "the watermark" 30 caught_up
check "usage_daily holds the records' sums (requests, charge)" test \
	"$(q "SELECT CONCAT(SUM(requests), ' ', SUM(charge)) FROM usage_daily")" = "$(q "SELECT CONCAT(COUNT(*), ' ', SUM(charge)) FROM usage_records")"
check "refused and test-mode rows are rolled up under their status and mode" test \
	"$(q "SELECT CONCAT(SUM(status = 'refused'), ' ', SUM(mode = 'test')) FROM usage_daily WHERE requests > 0")" != "0 0"
all_answers "rolled up"

backfill one
note "backfill: records $(top_id), watermark $(mark)"
all_answers "backfill past the watermark"
# tollgate maintain folds it at once (after the rollup's few seconds), whatever the housekeeper did.
mout=$(tg_cli maintain 2>&1) && mrc=0 || mrc=$?
check "tollgate maintain exits 0 and says what it folded ($mout)" sh -c "[ $mrc = 0 ] && echo '$mout' | grep -Eq '^rollup: [0-9]+ usage record'"
check "after tollgate maintain every record is under the watermark" caught_up
all_answers "backfill rolled up"

# A changed rollup row changes the answers: the rollup is what they read.
q "UPDATE usage_daily SET charge = charge + 1 WHERE user_id = $IA AND day = DATE(NOW() - INTERVAL 40 DAY)"
req GET /user/bill "$KA"
got=$(jv '.total.charge')
want=$(q "SELECT SUM(charge) + 1 FROM usage_records WHERE user_id = $IA AND mode = 'live' AND status <> 'refused'")
check "a nano-USD added to a rolled-up day shows in /user/bill ($(nano "$got") = $want)" test "$(nano "$got")" = "$want"
q "UPDATE usage_daily SET charge = charge - 1 WHERE user_id = $IA AND day = DATE(NOW() - INTERVAL 40 DAY)"

# --- two folds at once: each record counted once ---------------------------------------------
# The same step the housekeeper runs, from two sessions: the watermark row's lock orders them.
more() { traffic >/dev/null 2>&1; backfill "$1"; }
more two
fold_sql="START TRANSACTION;
SELECT last_id, seen_id INTO @l, @s FROM usage_rollup_mark WHERE id = 1 FOR UPDATE;
SET @h = (SELECT COALESCE(MAX(id), 0) FROM usage_records);
INSERT INTO usage_daily (day, user_id, model_id, api_key_id, mode, status, requests, prompt_tokens, completion_tokens, cached_tokens, base_cost, commission, charge, last_at) SELECT DATE(created_at), user_id, model_id, api_key_id, mode, status, COUNT(*), SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(base_cost), SUM(commission), SUM(charge), MAX(created_at) FROM usage_records WHERE id > @l AND id <= @h GROUP BY DATE(created_at), user_id, model_id, api_key_id, mode, status ON DUPLICATE KEY UPDATE requests = requests + VALUES(requests), prompt_tokens = prompt_tokens + VALUES(prompt_tokens), completion_tokens = completion_tokens + VALUES(completion_tokens), cached_tokens = cached_tokens + VALUES(cached_tokens), base_cost = base_cost + VALUES(base_cost), commission = commission + VALUES(commission), charge = charge + VALUES(charge), last_at = GREATEST(last_at, VALUES(last_at));
DO SLEEP(1);
UPDATE usage_rollup_mark SET last_id = GREATEST(@h, last_id), seen_id = GREATEST(seen_id, @h) WHERE id = 1;
COMMIT;"
sql "$SCRATCH" -e "$fold_sql" & p1=$!
sql "$SCRATCH" -e "$fold_sql" & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
check "two folds at once both finish" test "$r1.$r2" = "0.0"
more three # the housekeeper's own fold runs on top of them
check "the housekeeper catches up after them" wait_for "the watermark" 30 caught_up
check "usage_daily still holds each record once" test \
	"$(q "SELECT CONCAT(SUM(requests), ' ', SUM(charge), ' ', SUM(prompt_tokens)) FROM usage_daily")" = "$(q "SELECT CONCAT(COUNT(*), ' ', SUM(charge), ' ', SUM(prompt_tokens)) FROM usage_records")"
all_answers "after concurrent folds"

# The backfilled rows had no money behind them (no hold, no ledger entry): out before the check.
q "DELETE FROM usage_records WHERE request_id LIKE 'bf-%'"
for u in "$PA" "$PB"; do check "ledger of $u exact" ledger_check "$u"; done
finish
