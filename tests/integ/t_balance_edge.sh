#!/usr/bin/env bash
# t_balance_edge.sh: the balance check at its boundary, over HTTP: a balance exactly equal to
# a request's hold is admitted (200, charged what it used), one nano-USD less is refused
# (402 insufficient_quota, nothing held, nothing sent upstream, nothing recorded); the same
# with leases on (a user who cannot spare a lease gets an exact hold) and with an overdraft
# (the balance plus the overdraft is what must cover the hold).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
chat_stack edge server.workers=2 server.threads=2 chat.default_max_tokens=64
cp_admin edge 1
AK=$ADMIN_KEY

BODY='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"edge [mock:words=8]"}]}'
# the hold of BODY, from the quote of a funded user (the quote holds nothing)
new_user quoter 1000000000
req POST /v1/quote "$UKEY" "$BODY"
expect_status "quote" 200
H=$(usd_nano "$(jv .hold)")
check "the hold is positive ($H nano)" test "$H" -gt 0

has_record() { [ "$(n_usage "$1")" = 1 ]; }
# unfunded TAG: a registered user with no credits; sets UKEY, UPUB, UID_.
unfunded() {
	cp_register "$1" || bail "$1: register ($code)"
	UKEY=$REG_KEY UPUB=$REG_ID
	UID_=$(uid_of "$UPUB")
}

# edge TAG MODE: one user funded with exactly H, one with H - 1.
edge() {
	local tag=$1 mode=$2 m0
	new_user "$tag-eq" "$H"
	check "$mode: funded exactly the hold: balance $H, nothing reserved" test "$(acct_row "$UID_")" = "$H 0"
	chat "$UKEY" "$BODY"
	expect_status "$mode: a balance equal to the hold is admitted" 200
	local cost left
	cost=$(nano "$(hdr x-tollgate-cost)")
	wait_for "$mode: the record" 10 has_record "$UID_" || true
	left=$(minus "$H" "$cost")
	check "$mode: charged what it used ($cost <= $H), the rest given back" \
		test "$left" != "?" -a "$left" -ge 0 -a "$left" -lt "$H" -a "$(acct_row "$UID_")" = "$left 0"
	check "$mode: the ledger reconciles" ledger_check "$UPUB"

	new_user "$tag-lt" $((H - 1))
	m0=$(mock_n)
	chat "$UKEY" "$BODY"
	expect_err "$mode: one nano less than the hold" 402 insufficient_quota
	check "$mode: the refusal sent nothing upstream" test "$(mock_n)" = "$m0"
	check "$mode: nothing held, nothing charged: balance $((H - 1)), nothing reserved" \
		test "$(acct_row "$UID_")" = "$((H - 1)) 0"
	check "$mode: no hold and no usage record of a served request" \
		test "$(q "SELECT (SELECT COUNT(*) FROM holds WHERE account_id = $UID_) + (SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND status <> 'refused')")" = 0
	one_refused() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND status = 'refused' AND http_status = 402 AND charge = 0 AND hold_id IS NULL")" = 1 ]; }
	check "$mode: the refusal is one refused record in the user's log, charge 0, no hold" \
		wait_for "the refused record" 10 one_refused
	# One more nano and the same request fits.
	req POST /admin/add_credits "$AK" "{\"user_id\":\"$UPUB\",\"amount_usd\":\"0.000000001\"}"
	expect_status "$mode: add one nano-USD" 200
	chat "$UKEY" "$BODY"
	expect_status "$mode: with that nano the balance equals the hold: admitted" 200
}

edge x "exact holds"

# Leases on: a balance of one hold cannot spare a lease, so the exact hold decides.
cp_restart "db.name=$SCRATCH" server.workers=2 server.threads=2 chat.default_max_tokens=64 \
	billing.lease=0.05 billing.lease_idle=60
edge l "leases on"

# An overdraft: balance + overdraft must cover the hold, exactly.
unfunded od
q "UPDATE accounts SET overdraft_limit = $H WHERE user_id = $UID_"
chat "$UKEY" "$BODY"
expect_status "overdraft: a balance of 0 with an overdraft equal to the hold is admitted" 200
unfunded od-lt
q "UPDATE accounts SET overdraft_limit = $((H - 1)) WHERE user_id = $UID_"
chat "$UKEY" "$BODY"
expect_err "overdraft: one nano less than the hold" 402 insufficient_quota
check "overdraft: nothing held or charged" test "$(acct_row "$UID_")" = "0 0"
finish
