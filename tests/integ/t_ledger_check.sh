#!/usr/bin/env bash
# t_ledger_check.sh: `tollgate ledger check` proves the books for every user (issue 15):
# balance + reserved = the ledger's sum; reserved = open holds and leases; usage records =
# the ledger's charges less sweeps; each key's spent = its charges; no hold open past its
# time plus a grace. Clean books (chats, an open hold, a swept one) exit 0; each kind of
# corruption made by hand in SQL exits 1 naming the user, what, expected and found; a
# database it cannot reach exits 2.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock curl jq nginx mariadb
chat_stack lcheck server.workers=1 server.threads=2
cp_admin lcheck 1
AK=$ADMIN_KEY
export LC_ALL=C

new_user alice "$ONE"
A_KEY=$UKEY A_PUB=$UPUB A_UID=$UID_
new_user bob "$ONE"
B_KEY=$UKEY B_PUB=$UPUB B_UID=$UID_
BODY="{\"model\":\"test/cheap\",$(msgs 'hi [mock:words=5]')}"
for k in "$A_KEY" "$A_KEY" "$B_KEY"; do
	chat "$k" "$BODY"
	expect_status "a chat" 200
done
A_KID=$(q "SELECT api_key_id FROM usage_records WHERE user_id = $A_UID LIMIT 1")
A_KPUB=$(q "SELECT public_id FROM api_keys WHERE id = $A_KID")

# holds made by the ledger's own procedure: one swept, one left open (bob's)
hold() { # UID KEY_ID AMOUNT TTL: prints the new hold's hex id
	local id
	id=$(q "SELECT LOWER(HEX(RANDOM_BYTES(16)))")
	q "CALL tg_reserve(UNHEX('$id'), $1, $2, NULL, $3, $4, 0)" >/dev/null
	echo "$id"
}
hold "$A_UID" "$A_KID" 4000 0 >/dev/null
sleep 1.1
tg_cli sweep >"$T/sweep.out" 2>&1 || true
check "a hold of alice's swept ($(cat "$T/sweep.out"))" grep -q 'settled 1 ' "$T/sweep.out"
OPEN=$(hold "$B_UID" 0 3000 3600)
check "bob has an open hold" test "$(open_holds "$B_UID")" = 1

# lcheck [ARGS]: runs the check; $lc_rc its exit status, $T/lc.out what it printed
lcheck() {
	lc_rc=0
	tg_cli ledger check "$@" >"$T/lc.out" 2>&1 || lc_rc=$?
	note "ledger check: exit $lc_rc: $(tr '\n' ' ' <"$T/lc.out")"
}
# caught WHAT USER_PUB EXPECTED FOUND: exit 1, naming the user, what, both figures
caught() {
	[ "$lc_rc" = 1 ] && grep -q "user $2.*$1" "$T/lc.out" &&
		grep -q "expected.*: $3\b" "$T/lc.out" && grep -q "found.*: $4\b" "$T/lc.out"
}

lcheck
check "clean books (chats, a sweep, an open hold): exit 0" test "$lc_rc" = 0
check "the shell's ledger_check agrees for alice" ledger_check "$A_PUB"

# --- a balance changed ------------------------------------------------------------------
read -r bal res <<<"$(acct_row "$A_UID")"
q "UPDATE accounts SET balance = balance + 17 WHERE user_id = $A_UID"
lcheck
check "balance + 17: caught, alice named, expected $((bal + res)), found $((bal + res + 17))" \
	caught "balance + reserved" "$A_PUB" $((bal + res)) $((bal + res + 17))
q "UPDATE accounts SET balance = balance - 17 WHERE user_id = $A_UID"
lcheck
check "put back: exit 0" test "$lc_rc" = 0

# --- an open hold deleted ---------------------------------------------------------------
read -r bbal bres <<<"$(acct_row "$B_UID")"
q "CREATE TABLE hbak AS SELECT * FROM holds WHERE id = UNHEX('$OPEN')"
q "DELETE FROM holds WHERE id = UNHEX('$OPEN')"
lcheck
check "an open hold deleted: caught as reserved ($bres held, 0 in holds)" \
	caught "reserved" "$B_PUB" 0 "$bres"
q "INSERT INTO holds SELECT * FROM hbak"
# --- a settled hold deleted: its charge no longer counts as a settled request's ----------
SETTLED=$(q "SELECT LOWER(HEX(hold_id)) FROM usage_records WHERE user_id = $A_UID LIMIT 1")
a_usage=$(q "SELECT SUM(charge) FROM usage_records WHERE user_id = $A_UID")
one=$(q "SELECT charge FROM usage_records WHERE hold_id = UNHEX('$SETTLED')")
q "DROP TABLE hbak; CREATE TABLE hbak AS SELECT * FROM holds WHERE id = UNHEX('$SETTLED')"
q "DELETE FROM holds WHERE id = UNHEX('$SETTLED')"
lcheck
check "a settled hold deleted: caught (usage $a_usage, the ledger's settled charges $((a_usage - one)))" \
	caught "usage records" "$A_PUB" $((a_usage - one)) "$a_usage"
q "INSERT INTO holds SELECT * FROM hbak; DROP TABLE hbak"
lcheck
check "put back: exit 0" test "$lc_rc" = 0

# --- a usage record's charge changed ----------------------------------------------------
q "UPDATE usage_records SET charge = charge + 5 WHERE hold_id = UNHEX('$SETTLED')"
lcheck
check "a usage charge + 5: caught, expected $a_usage, found $((a_usage + 5))" \
	caught "usage records" "$A_PUB" "$a_usage" $((a_usage + 5))
q "UPDATE usage_records SET charge = charge - 5 WHERE hold_id = UNHEX('$SETTLED')"

# --- a key's spent changed --------------------------------------------------------------
spent=$(q "SELECT spent FROM api_keys WHERE id = $A_KID")
q "UPDATE api_keys SET spent = spent + 9 WHERE id = $A_KID"
lcheck
check "spent + 9: caught, the key $A_KPUB named, expected $spent, found $((spent + 9))" \
	sh -c "[ $lc_rc = 1 ] && grep -q 'user $A_PUB $A_KPUB: API key spent' '$T/lc.out' &&
		grep -q 'expected.*: $spent ' '$T/lc.out' && grep -q 'found.*: $((spent + 9)) ' '$T/lc.out'"
q "UPDATE api_keys SET spent = spent - 9 WHERE id = $A_KID"
lcheck
check "put back: exit 0" test "$lc_rc" = 0

# --- an old hold --------------------------------------------------------------------------
q "UPDATE holds SET expires_at = NOW(6) - INTERVAL 1 HOUR WHERE id = UNHEX('$OPEN')"
lcheck --grace 60
check "an open hold an hour past its time: caught (bob, the hold's id)" \
	sh -c "[ $lc_rc = 1 ] && grep -q 'user $B_PUB $OPEN: hold open past its time' '$T/lc.out'"
q "UPDATE holds SET expires_at = NOW(6) + INTERVAL 1 HOUR WHERE id = UNHEX('$OPEN')"
lcheck --grace 60
check "an open hold within its time: exit 0" test "$lc_rc" = 0

# --- usage and errors -----------------------------------------------------------------------
lcheck --grace x
check "a bad --grace: exit 2" test "$lc_rc" = 2
tg_conf "$T/nodb.conf" "db.name=$SCRATCH" "db.socket=$T/run/no-such.sock" "db.host=" "log.file="
lc_rc=0
"$TOLLGATE_BIN" -c "$T/nodb.conf" ledger check >"$T/lc.out" 2>&1 || lc_rc=$?
check "the database unreachable: exit 2 ($(head -c 120 "$T/lc.out"))" test "$lc_rc" = 2
finish
