#!/usr/bin/env bash
# t_lease_money.sh: what a request on a credit lease is charged, against the price formula
# rather than against the other figures: a leased request's charge is its tokens times the
# catalogue's prices plus the commission (never its carved hold); a key with a credit limit
# gets exact holds with leases on, so its limit still refuses (402) and its spent stays
# within the limit, one request at a time and in a burst; a dead worker's journal, half of it
# in the database, is adopted from its mark: the rest is written, nothing twice.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
chat_stack lmoney server.workers=2 server.threads=4 billing.lease=0.05 billing.lease_idle=60 \
	chat.default_max_tokens=64
cp_admin lmoney 1
AK=$ADMIN_KEY
export LC_ALL=C

leased_records() {
	q "SELECT COUNT(*) FROM usage_records u JOIN holds h ON h.id = u.hold_id
		WHERE u.user_id = $1 AND h.lease = 1"
}
# ceil_div A B: A / B rounded up (A, B >= 0).
ceil_div() { echo $((($1 + $2 - 1) / $2)); }
# micro USD: a price per million tokens ("1.00") in micro-USD per million tokens.
micro() { echo $(($(usd_nano "$1") / 1000)); }

# --- the price formula, from the catalogue ----------------------------------------------------
new_user priced 1000000000
B0='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"price me"}]}'
req POST /v1/quote "$UKEY" "$B0"
expect_status "quote test/cheap" 200
IN=$(micro "$(jv .prices.input)") OUT=$(micro "$(jv .prices.output)")
BP=$(jv '.commission_percent' | awk -F. '{ printf "%d", $1 * 100 + substr($2 "00", 1, 2) }')
note "catalogue: input $IN, output $OUT micro-USD per million tokens; commission $BP bp"
check "the catalogue prices and commission are read ($IN $OUT $BP)" \
	test "$IN" -gt 0 -a "$OUT" -gt 0 -a "$BP" -gt 0
# expect PROMPT COMPLETION: the charge the formula gives (pricing.c: each part rounded up to
# the nano, the commission rounded up): tokens x price x (1 + commission).
expect() {
	local base
	base=$(($(ceil_div $(($1 * IN)) 1000) + $(ceil_div $(($2 * OUT)) 1000)))
	echo $((base + $(ceil_div $((base * BP)) 10000)))
}
: >"$T/priced"
for w in 3 17 40 64; do
	body="{\"model\":\"test/cheap\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"say $w words [mock:words=$w]\"}]}"
	chat "$UKEY" "$body"
	expect_status "a leased chat of $w words" 200
	p=$(jv .usage.prompt_tokens) c=$(jv .usage.completion_tokens)
	echo "$(hdr x-request-id) ${p:-0} ${c:-0} $(nano "$(hdr x-tollgate-cost)")" >>"$T/priced"
done
wait_for "the journal reaches the database" 10 recorded "$UID_" 4 || true
check "the four chats ran on a lease" test "$(leased_records "$UID_")" = 4
total=0
while read -r rid p c cost; do
	e=$(expect "$p" "$c")
	total=$((total + e))
	got=$(q "SELECT charge FROM usage_records WHERE request_id = '$rid'")
	check "$rid: $p prompt + $c completion tokens: recorded charge $got = the formula's $e" \
		test "$got" = "$e"
	check "$rid: the announced cost $cost = the formula's $e" test "$cost" = "$e"
done <"$T/priced"
read -r n usum <<<"$(usage_sum "$UID_")"
check "4 records, their charges sum to the formula's $total ($usum)" test "$n" = 4 -a "$usum" = "$total"
check "the lease has charged exactly that sum" \
	test "$(q "SELECT COALESCE(SUM(charged), 0) FROM holds WHERE account_id = $UID_ AND lease = 1")" = "$total"
read -r bal res <<<"$(acct_row "$UID_")"
check "balance + reserved = funds - the formula's charges ($bal + $res)" test $((bal + res)) = $((F - total))

# --- a key with a credit limit, leases on: exact holds, the limit refuses ----------------------
new_user limited 1000000000
LIMIT=500000 # nano-USD: a few requests' holds
cp_new_key "$UKEY" "{\"name\":\"capped\",\"credit_limit\":\"$(usd_of "$LIMIT")\"}" ||
	bail "create a key with a credit limit ($code)"
LK=$NEW_KEY LK_ID=$NEW_KEY_ID
key_spent() { q "SELECT spent FROM api_keys k WHERE k.public_id = '$1'"; }
key_charges() {
	q "SELECT COALESCE(SUM(u.charge), 0) FROM usage_records u JOIN api_keys k ON k.id = u.api_key_id
		WHERE k.public_id = '$1'"
}
BL='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"limited [mock:words=20]"}]}'
n200=0 n402=0 other=0
for i in $(seq 20); do
	chat "$LK" "$BL"
	case $code in
	200) n200=$((n200 + 1)) ;;
	402)
		n402=$((n402 + 1))
		break
		;;
	*) other=$((other + 1)) ;;
	esac
done
check "one at a time: served until the limit ($n200 x 200), then refused" \
	test "$n200" -ge 1 -a "$n402" = 1 -a "$other" = 0
check "the refusal is 402 insufficient_quota, under the key's credit limit" \
	sh -c "[ $code = 402 ] && jq -e '.error.code == \"insufficient_quota\" and (.error.message | test(\"credit limit\"))' '$T/body' >/dev/null"
m0=$(mock_n)
chat "$LK" "$BL"
check "refused again, and the refusal sent nothing upstream" test "$code" = 402 -a "$(mock_n)" = "$m0"
check "the key's requests took exact holds, no lease" \
	test "$(q "SELECT COUNT(*), COALESCE(SUM(h.lease), 0) FROM holds h JOIN api_keys k ON k.id = h.api_key_id WHERE k.public_id = '$LK_ID'" | tr '\t' ' ')" = "$n200 0"
wait_for "the records reach the database" 10 recorded "$UID_" "$n200" || true
spent=$(key_spent "$LK_ID")
check "spent $spent <= the credit limit $LIMIT" test "$spent" -le "$LIMIT"
check "spent = the key's recorded charges ($spent = $(key_charges "$LK_ID"))" test "$spent" = "$(key_charges "$LK_ID")"
# The owner's own key has no limit: it is served on a lease meanwhile.
chat "$UKEY" "$BL"
expect_status "the owner's unlimited key is still served" 200

# A burst on a fresh limited key: concurrency does not get past the limit either.
cp_new_key "$UKEY" "{\"name\":\"capped-burst\",\"credit_limit\":\"$(usd_of "$LIMIT")\"}" ||
	bail "create a second key with a credit limit ($code)"
LK2=$NEW_KEY LK2_ID=$NEW_KEY_ID
chat_burst lb 16 "$LK2" "$BL"
b200=$(cat "$T"/lb.*.code | grep -c '^200$' || true)
b402=$(cat "$T"/lb.*.code | grep -c '^402$' || true)
note "burst of 16 on a key limited to $LIMIT nano: $b200 x 200, $b402 x 402"
check "burst: every answer 200 or 402, some of each ($b200 + $b402 = 16)" \
	test $((b200 + b402)) = 16 -a "$b200" -ge 1 -a "$b402" -ge 1
spent2=$(key_spent "$LK2_ID")
check "burst: spent $spent2 <= the credit limit $LIMIT" test "$spent2" -le "$LIMIT"
check "burst: spent = the key's recorded charges" test "$spent2" = "$(key_charges "$LK2_ID")"
# (The owner's lease is still open: lease_idle is 60 s here.)
read -r bal res <<<"$(acct_row "$UID_")"
check "the ledger sums to balance + reserved for the limited user" \
	test "$(q "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries WHERE account_id = $UID_")" = $((bal + res))

# --- a dead worker's journal, half written out: adopted from its mark, nothing twice ----------
# Six answers are written out; then a session holds the user's open lease rows locked
# (FOR UPDATE, by primary key), so the write-out of the next six blocks at its first
# statement (the answers still go out: carving and the journal need no SQL); the workers are
# killed with those lines only in their files. The next workers adopt the files from their
# marks: the missing lines are written, the written ones are not written again (a replay from
# the start would fail on their ledger rows, or charge them twice).
new_user journal 1000000000
BJ='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"journal [mock:words=5]"}]}'
: >"$T/j.costs"
jchat() {
	chat "$UKEY" "$BJ"
	if [ "$code" = 200 ]; then nano "$(hdr x-tollgate-cost)" >>"$T/j.costs"; else not_ok "journal: chat -> $code"; fi
}
for i in $(seq 6); do jchat; done
wait_for "the first 6 records in the database" 10 recorded "$UID_" 6 || true
check "6 records written out by the living workers" test "$(usage_sum "$UID_" | cut -d' ' -f1)" = 6
lease_lock "$UID_"
for i in $(seq 6); do jchat; done
sleep 1 # ticks of 100 ms: the write-outs start and block on the lock
n_db=$(usage_sum "$UID_" | cut -d' ' -f1)
check "12 answered, $n_db of them in the database while the write-out is blocked (< 12)" \
	test "$(grep -c . "$T/j.costs")" = 12 -a "$n_db" -lt 12
dead=$(children "$tg_pid" | tr '\n' ' ')
journals_of "$dead" >"$T/dead.files"
note "killing workers $dead; their journals: $(tr '\n' ' ' <"$T/dead.files")"
check "the workers have journal files" test -s "$T/dead.files"
for v in $dead; do kill -KILL "$v" 2>/dev/null || true; done
lease_unlock
mark_rows() { q "SELECT COUNT(*) FROM journal_marks WHERE name LIKE '%/$1'"; }
gone_files() {
	local f
	while read -r f; do [ ! -e "$T/run/journal/$f" ] || return 1; done <"$T/dead.files"
}
check "the dead workers' journals are adopted and removed" wait_for "journal files adopted" 60 gone_files
while read -r f; do
	check "$f: adopted as 'written out'" log_has "journal $f of a dead process written out"
	check "$f: its mark is gone" test "$(mark_rows "$f")" = 0
done <"$T/dead.files"
announced=0
while read -r c; do announced=$((announced + c)); done <"$T/j.costs"
wait_for "12 records" 30 recorded "$UID_" 12 || true
read -r n1 usum1 <<<"$(usage_sum "$UID_")"
check "12 records after the adoption, charged what was announced ($n1; $usum1 = $announced)" \
	test "$n1" = 12 -a "$usum1" = "$announced"
check "no request recorded twice" \
	test "$(q "SELECT COUNT(DISTINCT request_id) FROM usage_records WHERE user_id = $UID_ AND status <> 'refused'")" = 12
closed() { no_open "$UID_"; }
wait_for "the dead workers' leases close" 30 closed || true
lcharged=$(q "SELECT COALESCE(SUM(charged), 0) FROM holds WHERE account_id = $UID_ AND lease = 1")
check "the leases charged the 12 requests once ($lcharged = $announced)" test "$lcharged" = "$announced"
check "balance = funds - charges, nothing reserved" test "$(acct_row "$UID_")" = "$((F - announced)) 0"
check "the ledger reconciles after the adoption" ledger_check "$UPUB"
finish
