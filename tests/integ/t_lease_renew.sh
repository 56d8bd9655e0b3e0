#!/usr/bin/env bash
# t_lease_renew.sh: a busy user's credit lease is renewed, not drained (issue 20). A lease
# carves for half its row's life (chat.hold_ttl) and then drains: it closes once its carves
# are back, and only then does its money return to the balance. A user whose whole balance
# is in that lease was refused (402) in between, though the lease held their money. Now the
# owner renews a lease in use before its carving ends, and a request that finds the lease
# drained renews it in one statement: every request is answered from the one lease.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
chat_stack lrenew server.workers=1 server.threads=4 billing.lease=1.00 billing.lease_idle=60 \
	chat.default_max_tokens=64 chat.hold_ttl=5 chat.sweep_interval=1
cp_admin lrenew 1
AK=$ADMIN_KEY
# Exactly one lease of money: the user can never spare a second lease.
new_user renew 1000000000
leases_taken() { q "SELECT COUNT(*) FROM holds WHERE account_id = $UID_ AND lease = 1"; }
BJ='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"renew [mock:words=3]"}]}'
SLOW='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"slow [mock:latency=7000,words=3]"}]}'
chat "$UKEY" "$BJ"
check "the first chat takes the lease (200)" status_is 200
check "one lease taken" test "$(leases_taken)" = 1
# A slow request keeps a carve open past the lease's 5 s of carving: the lease cannot close
# while it runs, so without a renewal its money stays out of reach until it ends.
curl -s -m 30 -o "$T/slow.body" -w '%{http_code}' -H "Authorization: Bearer $UKEY" \
	-H 'Content-Type: application/json' --data-binary "$SLOW" "$URL/v1/chat/completions" \
	>"$T/slow.code" &
slow_pid=$!
owned_pids+=("$slow_pid")
: >"$T/codes"
end=$(($(date +%s) + 9))
while [ "$(date +%s)" -lt "$end" ]; do
	chat "$UKEY" "$BJ"
	echo "$code" >>"$T/codes"
	sleep 0.2
done
n=$(grep -c . "$T/codes")
bad=$(grep -vc '^200$' "$T/codes" || true)
note "$n chats over 9 s past the lease's span: $bad not 200 ($(sort "$T/codes" | uniq -c | tr '\n' ' '))"
check "every chat across the lease's span is answered 200 ($bad of $n not)" test "$bad" = 0 -a "$n" -gt 10
check "still the one lease: renewed, not drained and taken again ($(leases_taken))" test "$(leases_taken)" = 1
wait "$slow_pid" || true
check "the slow request is answered 200" test "$(cat "$T/slow.code")" = 200
renewed() { [ "$(q "SELECT COUNT(*) FROM holds WHERE account_id = $UID_ AND lease = 1 AND state = 'open' AND expires_at > NOW(6) + INTERVAL 3 SECOND")" = 1 ]; }
check "the open lease's row expires later than its first 10 s" renewed
recorded() { [ "$(q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND status <> 'refused'")" -ge $((n + 2)) ]; }
check "every answer recorded" wait_for "the records" 10 recorded
kill -TERM "$tg_pid"
wait_for "tollgate stops" 30 sh -c "! kill -0 $tg_pid 2>/dev/null" || true
check "the ledger reconciles" ledger_check "$UPUB"
finish
