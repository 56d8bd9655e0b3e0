#!/usr/bin/env bash
# t_partitions.sh: usage_records partitioned by month (issue 19, schema 0022). A request id
# (and an Idempotency-Key) stays unique across months through usage_keys: two writers racing
# the same ids in two months leave one record each, in SQL and through the journal's real
# write-out (two dead processes' journals holding the same lines, one of them dated a month
# later, adopted at once; the batch that meets a duplicate goes on row by row). `tollgate
# maintain` makes partitions ahead and retires old months by [maintain] usage_months: the
# records move to an archive table (or are dropped), `tollgate ledger check` and /user/monitor
# stay exact, a late record of a retired month is kept and retired by the next run, and a run
# that stopped half way is finished by the next.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
chat_stack parts server.workers=2 billing.lease=0.05 billing.lease_idle=60 chat.default_max_tokens=64
cp_admin parts 100
AK=$ADMIN_KEY
MSGS='"messages":[{"role":"user","content":"partition me"}]'

month() { date -u -d "$(date -u +%Y-%m-15) $1 month" +%Y%m; }
first() { date -u -d "$(date -u +%Y-%m-15) $1 month" +%Y-%m-01; }
parts() { q "SELECT GROUP_CONCAT(PARTITION_NAME ORDER BY PARTITION_ORDINAL_POSITION) FROM information_schema.PARTITIONS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'usage_records'"; }

# --- the layout schema 0022 made ------------------------------------------------------------
P=$(parts)
note "partitions: $P"
check "usage_records is partitioned p_old, this month and three ahead, p_future" \
	test "$P" = "p_old,p$(month 0),p$(month 1),p$(month 2),p$(month 3),p_future"
check "no UNIQUE key is left on usage_records but its primary key" test \
	"$(q "SELECT COUNT(DISTINCT INDEX_NAME) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'usage_records' AND NON_UNIQUE = 0")" = 1

# --- duplicates across a month boundary, in SQL ---------------------------------------------
# Without usage_keys the partitioned table takes the same request id twice, once per month:
# the guarantee is the trigger's, not the table's.
q "CREATE TABLE dup_probe LIKE usage_records"
q "INSERT INTO dup_probe (request_id, user_id, api_key_id, endpoint, model_id, status, http_status, created_at) VALUES ('probe', 1, 0, 'chat', 'm', 'ok', 200, '$(first 0)'), ('probe', 1, 0, 'chat', 'm', 'ok', 200, '$(first 1)')"
check "a partitioned copy without the trigger keeps a duplicate in two months (what usage_keys prevents)" \
	test "$(q "SELECT COUNT(*) FROM dup_probe WHERE request_id = 'probe'")" = 2
q "DROP TABLE dup_probe"

# Two writers insert the same 120 ids, in batches of 40 as the write-out does, one in this
# month and one in the next; a batch that fails goes row by row. Exactly one record per id.
racer() {
	local when=$1 b i rows sql
	for b in 0 1 2; do
		rows=
		for i in $(seq $((b * 40 + 1)) $((b * 40 + 40))); do
			rows+="${rows:+,}('race-$i', 1, 0, 'chat', 'race/m', 'refused', 429, '$when')"
		done
		sql="INSERT IGNORE INTO usage_records (request_id, user_id, api_key_id, endpoint, model_id, status, http_status, created_at) VALUES $rows"
		if ! sql "$SCRATCH" -e "$sql" 2>/dev/null; then
			for i in $(seq $((b * 40 + 1)) $((b * 40 + 40))); do
				sql "$SCRATCH" -e "INSERT INTO usage_records (request_id, user_id, api_key_id, endpoint, model_id, status, http_status, created_at) VALUES ('race-$i', 1, 0, 'chat', 'race/m', 'refused', 429, '$when')" 2>/dev/null || true
			done
		fi
	done
}
for round in 1 2 3; do
	q "DELETE FROM usage_records WHERE request_id LIKE 'race-%'"
	racer "$(first 0) 10:00:00" & r1=$!
	racer "$(first 1) 10:00:00" & r2=$!
	wait $r1 $r2
	check "round $round: 120 ids raced in two months -> 120 records" \
		test "$(q "SELECT COUNT(*), COUNT(DISTINCT request_id) FROM usage_records WHERE request_id LIKE 'race-%'" | tr '\t' ' ')" = "120 120"
	check "round $round: usage_keys holds each id once" \
		test "$(q "SELECT COUNT(*) FROM usage_keys WHERE request_id LIKE 'race-%'")" = 120
done
q "DELETE FROM usage_records WHERE request_id LIKE 'race-%'"
check "a record deleted frees its id in usage_keys" \
	test "$(q "SELECT COUNT(*) FROM usage_keys WHERE request_id LIKE 'race-%'")" = 0

# The same Idempotency-Key (user, key) in two months: one record.
q "INSERT INTO usage_records (request_id, user_id, api_key_id, endpoint, model_id, status, http_status, idem_key, created_at) VALUES ('idem-a', 1, 7, 'chat', 'm', 'ok', 200, 'k1', '$(first 0)')"
q "INSERT INTO usage_records (request_id, user_id, api_key_id, endpoint, model_id, status, http_status, idem_key, created_at) VALUES ('idem-b', 1, 7, 'chat', 'm', 'ok', 200, 'k1', '$(first 1)')"
check "an Idempotency-Key used again in another month is refused" \
	test "$(q "SELECT COUNT(*) FROM usage_records WHERE idem_key = 'k1' AND api_key_id = 7")" = 1
q "DELETE FROM usage_records WHERE request_id LIKE 'idem-%'"

# --- duplicates through the journal's write-out ---------------------------------------------
new_user poor 1
KP=$UKEY IP=$UID_
for i in 1 2 3 4; do chat "$KP" "{\"model\":\"test/dear\",\"max_tokens\":100000,$MSGS}"; done
check "a user without credit is refused (402)" status_is 402
refused() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $IP AND status = 'refused'")" -ge "$1" ]; }
check "the four refusals are written out" wait_for "refused records" 20 refused 4
JD=$T/run/journal
LINES=$(cat "$JD"/*.j 2>/dev/null | grep '^r ' | head -4)
check "the refusals' journal lines are found ($JD)" test "$(grep -c '^r ' <<<"$LINES")" = 4
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
NOW_HEX=$(hex "$(date -u +%Y-%m)")
NEXT_HEX=$(hex "$(date -u -d "$(date -u +%Y-%m-15) 1 month" +%Y-%m)")
# One new line beside the replayed ones: the first line with another request id.
RID=$(head -1 <<<"$LINES" | cut -d' ' -f2)
NEW_RID=s$(hex "journal-new-$$")
NEWLINE=$(head -1 <<<"$LINES" | sed "s/^r $RID /r $NEW_RID /")
before=$(q "SELECT COUNT(*) FROM usage_records")
{ echo "$LINES"; echo "$NEWLINE"; } >"$T/dup.a"
sed "s/$NOW_HEX/$NEXT_HEX/" "$T/dup.a" >"$T/dup.b"
check "the second copy is dated a month later" sh -c "! cmp -s '$T/dup.a' '$T/dup.b'"
cp "$T/dup.a" "$JD/999990-1-0.j.tmp" && mv "$JD/999990-1-0.j.tmp" "$JD/999990-1-0.j"
cp "$T/dup.b" "$JD/999991-1-0.j.tmp" && mv "$JD/999991-1-0.j.tmp" "$JD/999991-1-0.j"
adopted() { [ ! -e "$JD/999990-1-0.j" ] && [ ! -e "$JD/999991-1-0.j" ]; }
check "both copies are adopted and written out" wait_for "adoption" 30 adopted
check "the replayed lines added one record: the new line's, once" \
	test "$(q "SELECT COUNT(*) FROM usage_records")" = "$((before + 1))"
check "the new line's record is there once" \
	test "$(q "SELECT COUNT(*) FROM usage_records WHERE request_id = 'journal-new-$$'")" = 1
check "every request id is one record" \
	test "$(q "SELECT COUNT(*) - COUNT(DISTINCT request_id) FROM usage_records")" = 0
chat "$KP" "{\"model\":\"test/dear\",\"max_tokens\":100000,$MSGS}"
check "the write-out goes on after the duplicates" wait_for "a fifth refusal" 20 refused 5

# --- traffic with money: exact holds, leases, an Idempotency-Key ----------------------------
new_user rich 1000000000
KR=$UKEY IR=$UID_
for i in 1 2 3 4 5 6; do chat "$KR" "{\"model\":\"test/cheap\",$MSGS}"; done
chat "$KR" "{\"model\":\"test/cheap\",$MSGS}" -H "Idempotency-Key: part-$$"
check "the paid chats answer 200" status_is 200
settled() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $IR")" -ge 7 ]; }
check "the seven records are written" wait_for "records" 30 settled
check "some were settled through a credit lease" test \
	"$(q "SELECT COUNT(*) FROM usage_records r JOIN holds h ON h.id = r.hold_id AND h.lease = 1 WHERE r.user_id = $IR")" -ge 1
# said: maintain's output has the line.
said() { grep -qF -- "$1" <<<"$mout"; }
mout=$(tg_cli maintain 2>&1) && mrc=0 || mrc=$?
note "maintain: $mout"
check "tollgate maintain with the defaults exits 0" test "$mrc" = 0
check "... keeps every record" said "retention: off"
check "... finds its three months ahead made" said "3 month(s) ahead already made"
lc() { tg_cli ledger check >"$T/lc.out" 2>&1; }
check "ledger check holds before any retirement" lc
MON0=$(curl -s -H "Authorization: Bearer $KR" "$URL/user/monitor" | jq -c '.usage_metrics | [.total_requests, .total_tokens, .total_cost]')
note "monitor before: $MON0"
check "/user/monitor counts the seven paid requests" test "$(jq '.[0]' <<<"$MON0")" -ge 7
N0=$(q "SELECT COUNT(*) FROM usage_records WHERE created_at >= '$(first 0)' AND created_at < '$(first 1)'")

# --- retirement: archive ----------------------------------------------------------------------
cp "$T/migrate.conf" "$T/maint.conf"
printf '\n[maintain]\nusage_months = 1\npartitions_ahead = 2\n' >>"$T/maint.conf"
ASOF=$(date -u -d "$(date -u +%Y-%m-15) 2 month" +%Y-%m-%d)
# Two nodes' cron at the same minute: one retires, the other finds it done or left to it.
(CONF=$T/maint.conf tg_cli maintain --as-of="$ASOF" >"$T/m1.out" 2>&1; echo $? >"$T/m1.rc") &
m1=$!
(CONF=$T/maint.conf tg_cli maintain --as-of="$ASOF" >"$T/m2.out" 2>&1; echo $? >"$T/m2.rc") &
m2=$!
wait $m1 $m2
mout=$(cat "$T/m1.out" "$T/m2.out") mrc=$(cat "$T/m1.rc").$(cat "$T/m2.rc")
note "two maintain --as-of=$ASOF at once: $mout"
check "two maintain runs at once both exit 0" test "$mrc" = 0.0
check "... and the month is retired once" test "$(grep -c 'archived as' <<<"$mout")" = 1
mrc=0
check "... retires this month's $N0 records into an archive" \
	said "retention: p$(month 0): $N0 record(s) archived as usage_archive_p$(month 0)"
check "... makes partitions two months past the as-of date" said "p$(month 4) made"
check "the archive table has the month's records" \
	test "$(q "SELECT COUNT(*) FROM usage_archive_p$(month 0)")" = "$N0"
check "usage_records has none of them" \
	test "$(q "SELECT COUNT(*) FROM usage_records WHERE created_at < '$(first 1)'")" = 0
check "their request ids left usage_keys" \
	test "$(q "SELECT COUNT(*) FROM usage_keys k JOIN usage_archive_p$(month 0) a USING (request_id)")" = 0
check "the emptied months folded into p_old ($(parts))" \
	test "$(parts)" = "p_old,p$(month 1),p$(month 2),p$(month 3),p$(month 4),p_future"
check "ledger check holds after the retirement" lc
MON1=$(curl -s -H "Authorization: Bearer $KR" "$URL/user/monitor" | jq -c '.usage_metrics | [.total_requests, .total_tokens, .total_cost]')
check "/user/monitor's totals are unchanged (the daily rollup keeps them): $MON1" test "$MON0" = "$MON1"
mout=$(CONF=$T/maint.conf tg_cli maintain --as-of="$ASOF" 2>&1) && mrc=0 || mrc=$?
check "a second run exits 0 and retires nothing" test "$mrc.$(grep -c 'archived\|dropped' <<<"$mout")" = 0.0

# --- a late record of a retired month, then drop --------------------------------------------
# Today is inside the retired range now: new traffic lands in p_old, counted raw, then retired.
for i in 1 2; do chat "$KR" "{\"model\":\"test/cheap\",$MSGS}"; done
late() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $IR")" -ge "$1" ]; }
check "late records are written into the retired range" wait_for "late records" 30 late 2
check "ledger check holds with late records" lc
tg_cli maintain >/dev/null 2>&1 # folded into the rollup first
sed -i 's/^usage_months = 1$/usage_months = 1\narchive = off/' "$T/maint.conf"
mout=$(CONF=$T/maint.conf tg_cli maintain --as-of="$ASOF" 2>&1) && mrc=0 || mrc=$?
note "maintain (archive off): $mout"
check "the late records are retired again, dropped" test "$mrc" = 0
check "... two of them, from p_old" said "retention: p_old: 2 record(s) dropped"
check "no archive table for a drop" test "$(q "SHOW TABLES LIKE 'usage_archive_p_old%'")" = ""
check "ledger check holds after the drop" lc

# --- a run stopped half way ------------------------------------------------------------------
for i in 1 2 3; do chat "$KR" "{\"model\":\"test/cheap\",$MSGS}"; done
check "three more records" wait_for "records" 30 late 3
tg_cli maintain >/dev/null 2>&1
# What retire_one does up to the exchange, then "the process died".
q "DROP TABLE IF EXISTS usage_retiring"
q "CREATE TABLE usage_retiring LIKE usage_records"
q "ALTER TABLE usage_retiring REMOVE PARTITIONING"
q "INSERT INTO usage_retire_log (part, state) VALUES ('p_old_crash', 'exchanging')"
q "ALTER TABLE usage_records EXCHANGE PARTITION p_old WITH TABLE usage_retiring"
lc_short() { ! tg_cli ledger check >/dev/null 2>&1; }
check "the stopped run left the books short (what the next run must put right)" lc_short
mout=$(CONF=$T/maint.conf tg_cli maintain --as-of="$ASOF" 2>&1) && mrc=0 || mrc=$?
note "maintain after a stop: $mout"
check "the next run exits 0" test "$mrc" = 0
check "... and finishes the stopped retirement" said "retention: p_old_crash: 3 record(s) dropped"
check "ledger check holds after the recovery" lc
check "the log says done" test "$(q "SELECT state FROM usage_retire_log WHERE part = 'p_old_crash'")" = done
# A start whose exchange never happened is forgotten, nothing moved.
q "INSERT INTO usage_retire_log (part, state) VALUES ('p_old_never', 'exchanging')"
mout=$(CONF=$T/maint.conf tg_cli maintain --as-of="$ASOF" 2>&1) && mrc=0 || mrc=$?
check "a start without its exchange is forgotten" test "$mrc.$(q "SELECT COUNT(*) FROM usage_retire_log WHERE part = 'p_old_never'")" = "0.0"
check "ledger check holds at the end" lc
finish
