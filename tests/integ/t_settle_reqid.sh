#!/usr/bin/env bash
# t_settle_reqid.sh: a client's X-Request-Id is for tracing only (doc/api-data-plane.md):
# x-request-id is always tollgate's own unique id, x-client-request-id echoes the client's,
# and usage_records.client_request_id keeps it; two requests with one client id are two
# requests, both answered, recorded and charged, with exact holds and with leases.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
chat_stack reqid server.workers=1 server.threads=4
cp_admin reqid 1
AK=$ADMIN_KEY
export LC_ALL=C
BODY='{"model":"test/cheap","max_tokens":16,"messages":[{"role":"user","content":"hi [mock:words=4]"}]}'
C=$(charge_cheap 5 4)

# two_chats TAG: a new user sends BODY twice with one X-Request-Id
two_chats() {
	local tag=$1 cid="trace-$1-$CP_U" uid r1 r2 recorded
	new_user "$tag" "$ONE"
	uid=$UID_
	chat "$REG_KEY" "$BODY" -H "X-Request-Id: $cid"
	expect_status "$tag: first chat with X-Request-Id $cid" 200
	r1=$(hdr x-request-id)
	check "$tag: x-client-request-id echoes the client's id" test "$(hdr x-client-request-id)" = "$cid"
	check "$tag: x-request-id is tollgate's own ($r1)" test -n "$r1" -a "$r1" != "$cid"
	chat "$REG_KEY" "$BODY" -H "X-Request-Id: $cid"
	expect_status "$tag: second chat with the same X-Request-Id" 200
	r2=$(hdr x-request-id)
	check "$tag: the second has its own x-request-id ($r2 != $r1)" test -n "$r2" -a "$r2" != "$r1"
	recorded() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $uid")" -ge 2 ]; }
	wait_for "$tag: two usage records" 5 recorded || true
	check "$tag: two records, both with client_request_id $cid and their own request_id" \
		test "$(q "SELECT COUNT(*), COUNT(DISTINCT request_id), SUM(client_request_id = '$cid'), SUM(request_id IN ('$r1','$r2')) FROM usage_records WHERE user_id = $uid" | tr '\t' ' ')" = "2 2 2 2"
	check "$tag: both charged ($C each)" \
		test "$(q "SELECT SUM(charge) FROM usage_records WHERE user_id = $uid")" = $((2 * C))
}
two_chats exact
check "exact: balance down by both charges" \
	test "$(q "SELECT balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.public_id = '$REG_ID'")" = $((ONE - 2 * C))
cp_restart "db.name=$SCRATCH" server.workers=1 server.threads=4 billing.lease=0.05 billing.lease_idle=2
two_chats leased
finish
