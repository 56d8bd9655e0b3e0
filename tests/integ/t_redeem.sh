#!/usr/bin/env bash
# t_redeem.sh: redemption codes (issue 18, money): an admin makes a batch (the codes shown
# once, stored hashed, never listed); 16 users redeem one single-use code at once and exactly
# one is credited, once; a code with uses=3 raced by 10 users credits exactly 3; a user
# redeems a code once; expired and wrong codes are refused, and wrong ones count toward a
# throttle (429) that then refuses even a good code; the ledger names the batch and
# reconciles to the nano-USD. On a scratch database: the failure counters are per address.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin nginx curl jq mariadb
cp_scratch_db redeem
stack_up "db.name=$SCRATCH" auth.login_max_failures=5 auth.login_max_failures_per_address=1000

cp_admin radm 0
AK=$ADMIN_KEY
pids=()

# codes_ok: every code of the last answer has the shown shape (Crockford base32, 4 groups).
codes_ok() {
	jq -e --argjson n "$1" '(.codes | length) == $n and
		all(.codes[]; test("^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$"))' \
		"$T/body" >/dev/null
}
# entries REF: ledger entries that name this batch (or event).
entries() { q "SELECT COUNT(*) FROM ledger_entries WHERE source = 'code' AND source_ref = '$1'"; }
# redeem CRED CODE: POST /user/redeem.
redeem() { req POST /user/redeem "$1" "{\"code\":\"$2\"}"; }

# --- making a batch -----------------------------------------------------------------------
req POST /admin/redeem-codes "$AK" '{"amount":"0","count":1}'
expect_err "amount 0" 400 invalid_amount
req POST /admin/redeem-codes "$AK" '{"amount":"1.00","count":0}'
expect_err "count 0" 400 invalid_value
req POST /admin/redeem-codes "$AK" '{"amount":"1.00","count":1001}'
expect_err "count 1001" 400 invalid_value
req POST /admin/redeem-codes "$AK" '{"amount":"1.00","count":1,"uses":0}'
expect_err "uses 0" 400 invalid_value
req POST /admin/redeem-codes "$AK" '{"amount":"1.00","count":1,"expires_at":"2001-01-01T00:00:00Z"}'
expect_err "expires_at in the past" 400 invalid_value
req POST /admin/redeem-codes "$AK" '{"amount":"1.00","count":1,"balance":5}'
expect_err "an unknown field" 400 unknown_field
check "nothing was made by the refused requests" test "$(q 'SELECT COUNT(*) FROM redeem_batches')" = 0

cp_register plain || bail "register ($code)"
P_KEY=$REG_KEY P_ID=$REG_ID
req POST /admin/redeem-codes "$P_KEY" '{"amount":"1.00","count":1}'
expect_err "a user who is not an admin" 403 insufficient_permissions
req GET /admin/redeem-codes "$P_KEY"
expect_err "  nor may list them" 403 insufficient_permissions

req POST /admin/redeem-codes "$AK" '{"amount":"2.50","count":3,"note":"launch"}'
expect_status "a batch of 3 single-use codes of 2.50" 201
check "  Cache-Control: no-store (the codes are shown once)" no_store
check "  3 codes like XXXX-XXXX-XXXX-XXXX" codes_ok 3
check "  the batch: amount 2.50, count 3, uses_per_code 1, used 0, note" json_is \
	'.batch.amount == "2.50" and .batch.count == 3 and .batch.uses_per_code == 1 and .batch.used == 0 and .batch.note == "launch" and (.batch.id | startswith("rcb_"))'
B1=$(jv .batch.id)
C1=$(jv '.codes[0]') C2=$(jv '.codes[1]') C3=$(jv '.codes[2]')
raw1=$(echo "$C1" | tr -d -)
check "stored as SHA-256 of the code only" test "$(q "SELECT COUNT(*) FROM redeem_codes WHERE code_hash = UNHEX(SHA2('$raw1', 256))")" = 1
check "  the code's text is in no audit row" test "$(q "SELECT COUNT(*) FROM audit_log WHERE after_json LIKE '%${C1:0:9}%' OR after_json LIKE '%$raw1%'")" = 0
check "  one redeem.create audit row names the batch" test "$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'redeem.create' AND target_id = '$B1'")" = 1
req GET /admin/redeem-codes "$AK"
check "GET /admin/redeem-codes lists the batch" json_is ".total == 1 and .data[0].id == \"$B1\" and .data[0].amount == \"2.50\" and .data[0].count == 3 and .data[0].used == 0 and .data[0].expires_at == null"
check "  and never a code" sh -c "! grep -q -e '${C1:0:9}' -e '${C2:0:9}' -e '${C3:0:9}' '$T/body'"

# --- 16 users race for one single-use code --------------------------------------------------
declare -a UK UI
for i in $(seq 16); do
	cp_register "r$i" || bail "register user r$i ($code)"
	UK[$i]=$REG_KEY UI[$i]=$REG_ID
done
for i in $(seq 16); do
	curl -s -m 30 -o "$T/race1-$i.json" -w '%{http_code}\n' -H "Authorization: Bearer ${UK[$i]}" \
		-H 'Content-Type: application/json' --data-binary "{\"code\":\"$C1\"}" \
		"$URL/user/redeem" >"$T/race1-$i.code" &
	pids+=($!)
done
wait "${pids[@]}" || true
pids=()
n200=$(cat "$T"/race1-*.code | grep -c '^200$' || true)
n409=$(for i in $(seq 16); do [ "$(cat "$T/race1-$i.code")" = 409 ] &&
	jq -e '.error.code == "code_used_up"' "$T/race1-$i.json" >/dev/null && echo x; done | wc -l)
note "16 redeems of one code: $n200 x 200, $n409 x 409 code_used_up"
check "16 users at once, one single-use code: exactly one 200" test "$n200" = 1
check "  the 15 others: 409 code_used_up" test "$n409" = 15
check "  exactly one ledger entry names the batch" test "$(entries "$B1")" = 1
check "  the code has no use left" test "$(q "SELECT uses_left FROM redeem_codes WHERE code_hash = UNHEX(SHA2('$raw1', 256))")" = 0
total=$(q "SELECT COALESCE(SUM(a.balance), 0) FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.public_id LIKE 'usr_%' AND u.email REGEXP '^r[0-9]+-$CP_U@example[.]com$'")
check "  the 16 balances add up to 2.50 exactly ($total nano)" test "$total" = 2500000000
for i in $(seq 16); do
	[ "$(cat "$T/race1-$i.code")" = 200 ] && W=$i
done
check "  the winner's answer: amount 2.50, balance 2.50, the batch" jq_file "$T/race1-$W.json" \
	".amount == \"2.50\" and .balance == \"2.50\" and .batch_id == \"$B1\""
check "  one credits.redeem audit row for the winner" test "$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'credits.redeem' AND target_id = '${UI[$W]}'")" = 1
req GET /user/topups "${UK[$W]}"
check "GET /user/topups of the winner: the code's top-up, naming the batch" json_is \
	".data | length == 1 and .[0].kind == \"topup\" and .[0].source == \"code\" and .[0].reference == \"$B1\" and .[0].amount == \"2.50\""
check "ledger of the winner reconciles (and tollgate ledger check)" ledger_check "${UI[$W]}"

# --- a code with uses=3, raced by 10 users --------------------------------------------------
req POST /admin/redeem-codes "$AK" '{"amount":"1.25","count":1,"uses":3}'
expect_status "a batch of one code with 3 uses" 201
B2=$(jv .batch.id) M=$(jv '.codes[0]')
for i in $(seq 10); do
	curl -s -m 30 -o "$T/race2-$i.json" -w '%{http_code}\n' -H "Authorization: Bearer ${UK[$i]}" \
		-H 'Content-Type: application/json' --data-binary "{\"code\":\"$M\"}" \
		"$URL/user/redeem" >"$T/race2-$i.code" &
	pids+=($!)
done
wait "${pids[@]}" || true
pids=()
n200=$(cat "$T"/race2-*.code | grep -c '^200$' || true)
n409=$(cat "$T"/race2-*.code | grep -c '^409$' || true)
note "10 redeems of a 3-use code: $n200 x 200, $n409 x 409"
check "10 users at once, a code with 3 uses: exactly 3 credited" test "$n200" = 3
check "  the 7 others 409" test "$n409" = 7
check "  exactly 3 ledger entries name the batch" test "$(entries "$B2")" = 3
req GET /admin/redeem-codes "$AK"
check "  the listing: used 3, remaining 0" json_is ".data[0].id == \"$B2\" and .data[0].used == 3 and .data[0].remaining == 0"

# --- each user once; typed loosely ----------------------------------------------------------
req POST /admin/redeem-codes "$AK" '{"amount":"0.000000001","count":1,"uses":5}'
B3=$(jv .batch.id) M5=$(jv '.codes[0]')
loose=$(echo "$M5" | tr -d - | tr 'A-Z' 'a-z' | sed 's/0/o/g; s/1/l/g')
redeem "${UK[11]}" "$loose"
check "a code typed in lower case without dashes, O for 0 and l for 1: 200, 1 nano-USD" json_is '.amount == "0.000000001"'
redeem "${UK[11]}" "$M5"
expect_err "the same user again (4 uses left)" 409 code_already_redeemed
check "  nothing spent by the refusal" test "$(q "SELECT uses_left FROM redeem_codes WHERE batch_id = (SELECT id FROM redeem_batches WHERE public_id = '$B3')")" = 4

# --- expired ----------------------------------------------------------------------------------
req POST /admin/redeem-codes "$AK" "{\"amount\":\"9.00\",\"count\":1,\"expires_at\":\"$(iso_in 3600)\"}"
expect_status "a batch that expires in an hour" 201
B4=$(jv .batch.id) X=$(jv '.codes[0]')
q "UPDATE redeem_batches SET expires_at = NOW(6) - INTERVAL 1 SECOND WHERE public_id = '$B4'"
redeem "${UK[12]}" "$X"
expect_err "redeemed after its expiry" 400 code_expired
check "  nothing credited" test "$(entries "$B4")" = 0
req GET /admin/redeem-codes "$AK"
check "  listed as expired" json_is "any(.data[]; .id == \"$B4\" and .expired == true and .used == 0)"

# --- wrong codes are throttled (login_max_failures = 5 per user) ------------------------------
# A user of its own: the race's losers each have one failure counted (used up).
cp_register guess || bail "register ($code)"
G=$REG_KEY
redeem "$G" "ABCD"
expect_err "a code of the wrong length" 400 invalid_code
for i in 2 3 4 5; do
	redeem "$G" "ZZZZ-ZZZZ-ZZZZ-ZZZ$i"
	expect_err "wrong code $i" 400 invalid_code
done
redeem "$G" "ZZZZ-ZZZZ-ZZZZ-ZZZ6"
expect_err "a 6th wrong code" 429 too_many_attempts
ra=$(hdr retry-after)
check "  with Retry-After in seconds ($ra)" sh -c "echo '$ra' | grep -Eqx '[0-9]+' && [ '$ra' -ge 1 ]"
redeem "$G" "$C2"
expect_err "  then even a good code" 429 too_many_attempts
check "  credits nothing" test "$(entries "$B1")" = 1
redeem "${UK[14]}" "$C2"
check "another user redeems the good code" json_is '.amount == "2.50"'
redeem "${UK[14]}" ""
expect_err "an empty code" 400 invalid_code
redeem "${UK[15]}" "$C1"
expect_err "the raced code, later" 409 code_used_up

# --- the books --------------------------------------------------------------------------------
check "entries of the first batch: 2 (the race's and the later one)" test "$(entries "$B1")" = 2
sum=$(q "SELECT SUM(amount) FROM ledger_entries WHERE source = 'code'")
check "codes credited 2.50 + 2.50 + 3 x 1.25 + 1 nano ($sum)" test "$sum" = 8750000001
check "one credits.redeem audit row per credited use" test \
	"$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'credits.redeem'")" = 6
for i in $(seq 16); do
	ledger_check "${UI[$i]}" >/dev/null || not_ok "ledger of user r$i"
done
check "every ledger reconciles (tollgate ledger check)" tg_cli ledger check
check "the audit chain verifies" tg_cli audit verify

finish
