#!/usr/bin/env bash
# t_exact_journal.sh: issue 20: exact holds settled through the journal ([billing]
# exact_journal, on by default): a request without a lease reserves in the database (one
# round trip) and settles by a line its worker writes out with the next batch. Sequential
# and concurrent requests end with the money exact (balance = funds - the announced costs,
# nothing reserved, the key's spend = its charges, the ledger reconciled); a user whose
# balance fits two holds is not refused (402) for what the last requests' unwritten lines
# still hold; a key with a credit limit still stops at it; lines written out a second time
# (their marks lost, the files adopted again) move nothing and add no record; a request with
# an Idempotency-Key makes one round trip too: its settle and its answer go into the journal
# together, and the same key sent right after is replayed.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
chat_stack xjournal server.workers=2 server.threads=4 billing.lease=0 billing.exact_journal=on \
	chat.default_max_tokens=64
cp_admin xjournal 1
AK=$ADMIN_KEY
export LC_ALL=C

settled() { no_open "$1"; }
key_spent() { q "SELECT spent FROM api_keys WHERE public_id = '$1'"; }
key_charges() {
	q "SELECT COALESCE(SUM(u.charge), 0) FROM usage_records u JOIN api_keys k ON k.id = u.api_key_id
		WHERE k.public_id = '$1' AND u.status <> 'refused'"
}
# metric NAME: its value on /metrics (the admin's scrape).
metric() {
	http GET "$URL/metrics" -H "Authorization: Bearer $AK"
	awk -v s="$1" '$1 == s { v = $2 } END { print v + 0 }' "$T/body"
}
hold_lines() { cat "$T"/run/journal/*.j 2>/dev/null | grep -c '^h ' || true; }
B='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"exact [mock:words=9]"}]}'

# --- one at a time: each answer tells the balance the database will have ---------------------
new_user seq 1000000000
h0=$(hold_lines)
: >"$T/seq.costs"
prev=$F
for i in $(seq 8); do
	chat "$UKEY" "$B"
	expect_status "exact chat $i" 200
	cost=$(nano "$(hdr x-tollgate-cost)") bal=$(nano "$(hdr x-tollgate-balance)")
	echo "$cost" >>"$T/seq.costs"
	check "chat $i: the balance told ($bal) is the last one less its cost ($prev - $cost)" \
		test "$bal" = $((prev - cost))
	prev=$bal
done
check "the 8 settlements went through the journal as exact holds' lines" \
	test $(($(hold_lines) - h0)) -ge 8
wait_for "the 8 records in the database" 10 recorded "$UID_" 8 || true
wait_for "no hold of the user open" 10 settled "$UID_" || true
announced=0
while read -r c; do announced=$((announced + c)); done <"$T/seq.costs"
read -r n usum <<<"$(usage_sum "$UID_")"
check "8 records, charged what was announced ($n; $usum = $announced)" test "$n" = 8 -a "$usum" = "$announced"
check "balance = funds - charges, nothing reserved" test "$(acct_row "$UID_")" = "$((F - announced)) 0"
check "the last balance told is the database's" test "$prev" = $((F - announced))
check "each hold settled with its record's charge" \
	test "$(q "SELECT COUNT(*) FROM holds h JOIN usage_records u ON u.hold_id = h.id
		WHERE h.account_id = $UID_ AND h.state = 'settled' AND h.charged = u.charge")" = 8
check "each hold has its charge and release entries" \
	test "$(q "SELECT COUNT(*) FROM ledger_entries WHERE account_id = $UID_ AND kind IN ('charge', 'release')")" = 16
check "the ledger reconciles" ledger_check "$UPUB"

# --- at once: 48 requests from 16 clients -------------------------------------------------------
new_user burst 1000000000
KID=$(q "SELECT k.public_id FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.public_id = '$UPUB' LIMIT 1")
for r in 1 2 3; do chat_burst xb$r 16 "$UKEY" "$B"; done
ok=$(cat "$T"/xb?.*.code | grep -c '^200$' || true)
check "48 concurrent exact chats answered 200 ($ok)" test "$ok" = 48
announced=0
for f in "$T"/xb?.*.hdr; do
	c=$(awk -F': ' 'tolower($1) == "x-tollgate-cost" {gsub("\r", "", $2); print $2}' "$f")
	announced=$((announced + $(nano "$c")))
done
wait_for "48 records" 20 recorded "$UID_" 48 || true
wait_for "no hold open" 20 settled "$UID_" || true
read -r n usum <<<"$(usage_sum "$UID_")"
check "48 records, their charges the announced sum ($usum = $announced)" test "$n" = 48 -a "$usum" = "$announced"
check "balance = funds - charges, nothing reserved" test "$(acct_row "$UID_")" = "$((F - announced)) 0"
check "the key's spend is its charges ($(key_spent "$KID"))" test "$(key_spent "$KID")" = "$(key_charges "$KID")"
check "the ledger reconciles after the burst" ledger_check "$UPUB"

# --- holds waiting at once go to the database together (holdq.c) ------------------------------
# 160 requests over 16 connections kept open (one curl, --parallel): the holds of the user a
# process has waiting at once are taken in one transaction; the money is as exact.
new_user together 1000000000
b0=$(metric tollgate_hold_batches_total) n0=$(metric tollgate_holds_batched_total)
for i in $(seq 160); do
	printf 'url = "%s"\noutput = "%s"\n' "$URL/v1/chat/completions" "$T/xt.$i.body"
done >"$T/xt.cfg"
curl -s -m 120 -Z --parallel-max 16 -K "$T/xt.cfg" -X POST -H 'Expect:' \
	-H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' --data-binary "$B" \
	-w '%{http_code}\n' >"$T/xt.codes" 2>"$T/xt.err" || true
ok=$(grep -c '^200$' "$T/xt.codes" || true)
check "160 chats over 16 connections answered 200 ($ok)" test "$ok" = 160
# (Each process publishes its counters every tick, 100 ms.)
batched() { [ "$(metric tollgate_hold_batches_total)" -gt "$b0" ]; }
wait_for "holds taken together on /metrics" 5 batched || true
sleep 0.3
b1=$(metric tollgate_hold_batches_total) n1=$(metric tollgate_holds_batched_total)
check "some of the holds were taken together: $((n1 - n0)) in $((b1 - b0)) transactions" \
	test $((b1 - b0)) -ge 1 -a $((n1 - n0)) -ge $((2 * (b1 - b0)))
wait_for "160 records" 20 recorded "$UID_" 160 || true
wait_for "no hold open" 20 settled "$UID_" || true
read -r n usum <<<"$(usage_sum "$UID_")"
check "160 records; balance = funds - charges, nothing reserved" \
	test "$n" = 160 -a "$(acct_row "$UID_")" = "$((F - usum)) 0"
check "the ledger reconciles" ledger_check "$UPUB"

# Holds with Idempotency-Keys queue and go together too (issue 20): 48 chats with keys of
# their own over 16 connections, then 8 keys each sent twice at once. A key sent twice holds
# once: the other request is replayed, or told the first still runs (409).
# keyed_cfg TAG N KEYOF: a curl config of N transfers (next-separated), key KEYOF(i)
keyed_cfg() {
	local i
	printf '%s' "$B" >"$T/$1.req"
	for i in $(seq "$2"); do
		[ "$i" = 1 ] || echo next
		printf 'url = "%s"\noutput = "%s"\nrequest = "POST"\n' "$URL/v1/chat/completions" "$T/$1.$i.body"
		printf 'header = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' "$UKEY"
		printf 'header = "Expect:"\nheader = "Idempotency-Key: %s"\n' "$($3 "$i")"
		printf 'data-binary = "@%s"\nwrite-out = "%%{http_code}\\n"\nsilent\nmax-time = 120\n' "$T/$1.req"
	done >"$T/$1.cfg"
}
own_key() { echo "xt-own-$1"; }
pair_key() { echo "xt-pair-$((($1 + 1) / 2))"; }
new_user keyed 1000000000
b0=$(metric tollgate_hold_batches_total)
keyed_cfg xk 48 own_key
curl -Z --parallel-max 16 -K "$T/xk.cfg" >"$T/xk.codes" 2>"$T/xk.err" || true
check "48 chats with keys of their own over 16 connections: 200 ($(grep -c '^200$' "$T/xk.codes"))" \
	test "$(grep -c '^200$' "$T/xk.codes")" = 48
wait_for "holds taken together on /metrics" 5 batched || true
check "holds with keys were taken together ($(($(metric tollgate_hold_batches_total) - b0)) transactions)" \
	test "$(metric tollgate_hold_batches_total)" -gt "$b0"
keyed_cfg xp 16 pair_key
curl -Z --parallel-max 16 -K "$T/xp.cfg" >"$T/xp.codes" 2>"$T/xp.err" || true
check "8 keys sent twice at once: 200 or 409, at least 8 200s ($(tr '\n' ' ' <"$T/xp.codes"))" \
	sh -c "! grep -qv -e '^200$' -e '^409$' '$T/xp.codes' && [ \$(grep -c '^200$' '$T/xp.codes') -ge 8 ]"
wait_for "56 records" 20 recorded "$UID_" 56 || true
wait_for "no hold open" 20 settled "$UID_" || true
check "one record a key, each with its answer (56)" \
	test "$(q "SELECT COUNT(*), COUNT(DISTINCT idem_key), SUM(response IS NOT NULL) FROM usage_records WHERE user_id = $UID_" | tr '\t' ' ')" = "56 56 56"
read -r n usum <<<"$(usage_sum "$UID_")"
check "balance = funds - charges, nothing reserved" \
	test "$(acct_row "$UID_")" = "$((1000000000 - usum)) 0"
check "the ledger reconciles" ledger_check "$UPUB"

# --- near the balance: unwritten lines do not refuse the user -----------------------------------
# BE's hold (from a quote) is for 4000 tokens, its answer 2 words; the user gets two and a
# half holds, so every one of 10 requests fits the true balance. The database still counts a
# hold for each answered request until its line is written out (within 100 ms): a request
# refused meanwhile waits for the user's lines and reserves again.
BE='{"model":"test/cheap","max_tokens":4000,"messages":[{"role":"user","content":"edge [mock:words=2]"}]}'
req POST /v1/quote "$UKEY" "$BE"
expect_status "quote" 200
HE=$(usd_nano "$(jv .hold)")
req POST /v1/quote "$UKEY" "$B"
expect_status "quote" 200
H=$(usd_nano "$(jv .hold)")
check "the holds are positive ($HE, $H)" test "$HE" -gt 0 -a "$H" -gt 0
new_user edge $((HE * 5 / 2))
codes=""
for i in $(seq 10); do
	chat "$UKEY" "$BE"
	codes="$codes$code "
done
note "10 chats back to back on a balance of 2.5 holds: $codes"
check "all 10 answered 200, none refused for unwritten lines ($codes)" \
	test "$(tr ' ' '\n' <<<"$codes" | grep -c '^200$')" = 10
wait_for "10 records" 10 recorded "$UID_" 10 || true
wait_for "no hold open" 10 settled "$UID_" || true
read -r n usum <<<"$(usage_sum "$UID_")"
check "10 records; balance = funds - charges, nothing reserved" \
	test "$n" = 10 -a "$(acct_row "$UID_")" = "$((F - usum)) 0"
check "the 10 charges were within half a hold, so no refusal was due ($usum)" \
	test $((usum * 2)) -lt "$HE"

# --- a key with a credit limit: still stops there ---------------------------------------------
new_user limited 1000000000
LIMIT=$((H * 3))
cp_new_key "$UKEY" "{\"name\":\"capped\",\"credit_limit\":\"$(usd_of "$LIMIT")\"}" ||
	bail "create a key with a credit limit ($code)"
LK=$NEW_KEY LK_ID=$NEW_KEY_ID
n200=0 n402=0
for i in $(seq 40); do
	chat "$LK" "$B"
	case $code in 200) n200=$((n200 + 1)) ;; 402) n402=$((n402 + 1)) && break ;; esac
done
check "served until the key's limit ($n200 x 200), then 402" test "$n200" -ge 3 -a "$n402" = 1
wait_for "the key's records" 10 recorded "$UID_" "$n200" || true
wait_for "no hold open" 10 settled "$UID_" || true
spent=$(key_spent "$LK_ID")
check "spent $spent <= the limit $LIMIT and = the key's charges" \
	test "$spent" -le "$LIMIT" -a "$spent" = "$(key_charges "$LK_ID")"

# At once, 16 requests on a key with room for 5 holds: a batch whose sum passes the limit
# holds nothing and each of its holds is tried alone, so the key still stops at its limit and
# at least the 5 that fit are served.
new_user limited2 1000000000
LIMIT=$((H * 5))
cp_new_key "$UKEY" "{\"name\":\"capped2\",\"credit_limit\":\"$(usd_of "$LIMIT")\"}" ||
	bail "create a key with a credit limit ($code)"
LK=$NEW_KEY LK_ID=$NEW_KEY_ID
chat_burst xl 16 "$LK" "$B"
n200=$(cat "$T"/xl.*.code | grep -c '^200$' || true)
n402=$(cat "$T"/xl.*.code | grep -c '^402$' || true)
check "16 at once on a key with room for 5 holds: $n200 x 200, $n402 x 402, nothing else" \
	test "$n200" -ge 5 -a $((n200 + n402)) = 16
wait_for "the key's records" 10 recorded "$UID_" "$n200" || true
wait_for "no hold open" 10 settled "$UID_" || true
spent=$(key_spent "$LK_ID")
check "spent $spent <= the limit $LIMIT and = the key's charges" \
	test "$spent" -le "$LIMIT" -a "$spent" = "$(key_charges "$LK_ID")"
check "the ledger reconciles" ledger_check "$UPUB"

# --- an Idempotency-Key: one round trip, its answer in its line, replayed at once ---------------
# Right after two plain chats (one curl, the three a few ms apart: their lines are not written
# out yet), the balance it tells still counts what they give back. Its settle goes into the
# journal with its answer (one write-out puts both on the record); the same key sent at once
# after is replayed (it waits for the write-out), the same answer, no second charge.
new_user idem 1000000000
H=(-s -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' --data-binary "$B")
curl "${H[@]}" -D "$T/i1.hdr" -o /dev/null "$URL/v1/chat/completions" --next \
	"${H[@]}" -D "$T/i2.hdr" -o /dev/null "$URL/v1/chat/completions" --next \
	"${H[@]}" -H 'Idempotency-Key: xj-1' -D "$T/i3.hdr" -o "$T/i3.body" "$URL/v1/chat/completions" --next \
	"${H[@]}" -H 'Idempotency-Key: xj-1' -D "$T/i4.hdr" -o "$T/i4.body" "$URL/v1/chat/completions"
hval() { awk -F': ' -v k="$2" 'tolower($1) == k {gsub("\r", "", $2); print $2}' "$1"; }
prev=$(nano "$(hval "$T/i2.hdr" x-tollgate-balance)")
cost=$(nano "$(hval "$T/i3.hdr" x-tollgate-cost)") bal=$(nano "$(hval "$T/i3.hdr" x-tollgate-balance)")
check "the four answered 200" test "$(cat "$T"/i?.hdr | grep -c '^HTTP/1.1 200')" = 4
check "the Idempotency-Key's balance told ($bal) is the last one less its cost ($prev - $cost)" \
	test "$bal" = $((prev - cost))
first=$(jq -r .choices[0].message.content "$T/i3.body")
check "the same key right after: replayed (x-idempotent-replay), the same answer" \
	test "$(hval "$T/i4.hdr" x-idempotent-replay)" = true -a \
	"$(jq -r .choices[0].message.content "$T/i4.body")" = "$first"
wait_for "its record in the database" 10 recorded "$UID_" 3 || true
check "one record for the key, with its answer" \
	test "$(q "SELECT COUNT(*), SUM(response IS NOT NULL), MIN(http_status) FROM usage_records WHERE user_id = $UID_ AND idem_key = 'xj-1'" | tr '\t' ' ')" = "1 1 200"
check "the record keeps the answer as it was sent" \
	test "$(q "SELECT response FROM usage_records WHERE user_id = $UID_ AND idem_key = 'xj-1'" | jq -r .choices[0].message.content)" = "$first"
chat "$UKEY" "$B" -H 'Idempotency-Key: xj-1'
expect_status "the same key again" 200
check "replayed, the same answer" test "$(jv .choices[0].message.content)" = "$first"
wait_for "no hold of the user open" 10 settled "$UID_" || true
read -r n usum <<<"$(usage_sum "$UID_")"
check "three records, one charge each; balance = funds - charges, nothing reserved" \
	test "$n" = 3 -a "$(acct_row "$UID_")" = "$((1000000000 - usum)) 0"
check "the ledger reconciles" ledger_check "$UPUB"

# --- written out twice: the second time moves nothing ----------------------------------------
# Every file's mark is set back to 0 and the workers are killed: the next workers adopt the
# files from the start. Each exact hold's line finds its hold settled already.
snap() { q "SELECT (SELECT COUNT(*) FROM usage_records), (SELECT COUNT(*) FROM ledger_entries), (SELECT COALESCE(SUM(balance), 0) FROM accounts), (SELECT COALESCE(SUM(reserved), 0) FROM accounts), (SELECT COALESCE(SUM(spent), 0) FROM api_keys)" | tr '\t' ' '; }
nothing_pending() { [ "$(q "SELECT COUNT(*) FROM holds WHERE state = 'open' AND lease = 0")" = 0 ]; }
wait_for "every hold settled" 20 nothing_pending || true
before=$(snap)
dead=$(children "$tg_pid" | tr '\n' ' ')
journals_of "$dead" >"$T/dead.files"
check "the workers have journal files with exact holds' lines" test -s "$T/dead.files"
for v in $dead; do kill -KILL "$v" 2>/dev/null || true; done
while read -r f; do q "UPDATE journal_marks SET off = 0 WHERE name LIKE '%/$f'" >/dev/null; done <"$T/dead.files"
gone_files() {
	local f
	while read -r f; do [ ! -e "$T/run/journal/$f" ] || return 1; done <"$T/dead.files"
}
check "the files are adopted again from the start, and removed" wait_for "files adopted" 60 gone_files
check "the lines written a second time moved nothing, added no row ($before)" test "$(snap)" = "$before"
check "the log says each such hold moved nothing" log_has "was closed before its line was written out"
check "the ledger still reconciles" ledger_check "$UPUB"
# --- one round trip for an Idempotency-Key's request -------------------------------------------
# The goal of issue 20: one synchronous round trip on the request path, the hold, for a
# request with an Idempotency-Key as for any exact one (its settle and its answer go through
# the journal). One worker, so its /_debug/stats (statements made, and the write-out's)
# speaks for every request; keys and payers cached for the whole run (an entry expiring in
# the middle is a lookup on the request path: one statement more, allowed once a check).
# Before: four statements a request (the Idempotency-Key looked up, the hold, the settle, the
# answer kept).
cp_restart "db.name=$SCRATCH" server.workers=1 server.threads=4 billing.lease=0 \
	billing.exact_journal=on chat.default_max_tokens=64 cache.ttl=3600
new_user rt 1000000000
chat "$UKEY" "$B" -H "Idempotency-Key: xj-rt-0"
expect_status "warm-up" 200
wait_for "its record in the database" 10 recorded "$UID_" 1 || true
stats() { curl -s -m 5 "$URL/_debug/stats" | jq -r '"\(.statements) \(.statements_background)"'; }
read -r s0 b0 <<<"$(stats)"
for i in $(seq 10); do
	chat "$UKEY" "$B" -H "Idempotency-Key: xj-rt-$i"
	expect_status "a new key, $i" 200
done
wait_for "the ten records in the database" 10 recorded "$UID_" 11 || true
read -r s1 b1 <<<"$(stats)"
check "ten requests with new Idempotency-Keys made $((s1 - s0 - b1 + b0)) statements on the request path (<= 10 + 1)" \
	test $((s1 - s0 - b1 + b0)) -le 11
check "each of them has its answer on the record" \
	test "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND idem_key LIKE 'xj-rt-%' AND response IS NOT NULL")" = 11
# Streams too: the closing events (with the cost) go out once the line holding the whole
# stream is written; the same key right after replays the stream byte for byte.
SB='{"model":"test/cheap","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"stream [mock:words=12]"}]}'
read -r s0 b0 <<<"$(stats)"
for i in $(seq 5); do
	chat_sse "$UKEY" "$SB" -H "Idempotency-Key: xj-st-$i"
	check "stream $i: ends with its usage (cost) and [DONE]" \
		sh -c "grep -q '\"cost\"' '$T/events' && tail -1 '$T/events' | grep -qx '\[DONE\]'"
done
read -r s1 b1 <<<"$(stats)"
check "five streams with new Idempotency-Keys made $((s1 - s0 - b1 + b0)) statements on the request path (<= 5 + 1)" \
	test $((s1 - s0 - b1 + b0)) -le 6
cp "$T/sse" "$T/sse.first"
chat_sse "$UKEY" "$SB" -H "Idempotency-Key: xj-st-5"
check "the last key right after: its stream replayed byte for byte" cmp -s "$T/sse" "$T/sse.first"
check "... said to be a replay" grep -qi '^x-idempotent-replay: true' "$T/hdr"

# The other client APIs go the same way: Anthropic's Messages, answered and streamed.
MB='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"msg [mock:words=4]"}]}'
MS='{"model":"test/cheap","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"msg [mock:words=4]"}]}'
msgs() { curl -s -m 30 -D "$T/m.hdr" -o "$T/m.$1" "$URL/v1/messages" -H "x-api-key: $UKEY" \
	-H 'anthropic-version: 2023-06-01' -H 'Content-Type: application/json' -H "Idempotency-Key: $2" \
	--data-binary "$3"; }
read -r s0 b0 <<<"$(stats)"
msgs 1 xj-m-1 "$MB"
msgs 2 xj-m-2 "$MS"
read -r s1 b1 <<<"$(stats)"
check "a Messages answer and a Messages stream: $((s1 - s0 - b1 + b0)) statements (<= 2 + 1)" \
	test $((s1 - s0 - b1 + b0)) -le 3
check "the answer is Anthropic's, with its cost" jq -e '.type == "message" and (.usage.cost | type) == "number"' "$T/m.1"
msgs 3 xj-m-1 "$MB"
msgs 4 xj-m-2 "$MS"
check "both replayed byte for byte" sh -c "cmp -s '$T/m.1' '$T/m.3' && cmp -s '$T/m.2' '$T/m.4'"
check "the stream ends with message_stop" grep -q 'message_stop' "$T/m.4"

# An answer too long for a journal's line (over about 120 KiB): settled in place and kept on
# the record by the request itself (three statements: the hold, the settle, the answer), and
# replayed whole.
BIG='{"model":"test/cheap","max_tokens":30000,"messages":[{"role":"user","content":"long [mock:words=25000]"}]}'
read -r s0 b0 <<<"$(stats)"
chat "$UKEY" "$BIG" -H "Idempotency-Key: xj-big"
expect_status "a long answer" 200
big=$(jv '.choices[0].message.content | length')
read -r s1 b1 <<<"$(stats)"
check "its answer is long ($big characters > 122880)" test "$big" -gt 122880
check "it settled in place: $((s1 - s0 - b1 + b0)) statements (the hold, the settle, the answer: 3 + 1)" \
	test $((s1 - s0 - b1 + b0)) -ge 3 -a $((s1 - s0 - b1 + b0)) -le 4
chat "$UKEY" "$BIG" -H "Idempotency-Key: xj-big"
expect_status "its key again" 200
check "replayed whole" test "$(hdr x-idempotent-replay)" = true -a "$(jv '.choices[0].message.content | length')" = "$big"
wait_for "no hold of the user open" 10 settled "$UID_" || true
check "the ledger reconciles" ledger_check "$UPUB"
finish
