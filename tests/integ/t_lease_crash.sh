#!/usr/bin/env bash
# t_lease_crash.sh: a crash of the whole machine with a credit lease open (issue 20). The
# lease's table lives in run_dir (memory under systemd) and is gone after the reboot, so the
# sweeper closes the lease with nothing to tell spent from unused. holds.granted bounds what
# the node may have had out (charges plus open holds): the sweeper charges up to that and
# gives the rest back, where it used to charge the whole unused lease. The crash is played by
# kill -9 of every process and removing the lease table; a request in flight at that moment
# is still charged (the operator paid its provider), the user loses at most the grant's
# headroom, and the books reconcile.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
LEASE=1000000000 # nano-USD: the lease (1.00 USD)
STACK=(server.workers=2 server.threads=4 billing.lease=1.00 billing.lease_idle=60
	chat.default_max_tokens=64 chat.hold_ttl=10 chat.sweep_interval=1)
chat_stack lcrash "${STACK[@]}"
cp_admin lcrash 1
AK=$ADMIN_KEY
new_user crash 5000000000
usage_n() { q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND status <> 'refused'"; }
recorded() { [ "$(usage_n)" -ge "$1" ]; }
BJ='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"crash [mock:words=5]"}]}'
: >"$T/costs"
for i in $(seq 8); do
	chat "$UKEY" "$BJ"
	if [ "$code" = 200 ]; then nano "$(hdr x-tollgate-cost)" >>"$T/costs"; else not_ok "chat $i -> $code"; fi
done
wait_for "8 records written out" 10 recorded 8 || true
lease_row() { q "SELECT amount, COALESCE(charged, 0), COALESCE(granted, -1) FROM holds WHERE account_id = $UID_ AND lease = 1 AND state = 'open' ORDER BY created_at DESC LIMIT 1" | tr '\t' ' '; }
granted_set() { read -r _ _ g <<<"$(lease_row)"; [ "${g:--1}" -ge 0 ]; }
check "the lease's row gets a grant" wait_for "a grant in holds.granted" 5 granted_set
read -r amount charged granted <<<"$(lease_row)"
note "lease: amount $amount, charged $charged, granted $granted"
check "the lease is the configured 1.00 USD" test "$amount" = "$LEASE"
check "its grant covers what was charged and leaves a headroom below the whole lease ($charged <= $granted < $LEASE / 4)" \
	test "$charged" -le "$granted" -a "$granted" -lt $((LEASE / 4))

# A request in flight when the machine dies: its provider is paid, so it must be charged.
SLOW='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"slow [mock:latency=5000,words=5]"}]}'
curl -s -m 20 -o /dev/null -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' \
	--data-binary "$SLOW" "$URL/v1/chat/completions" &
owned_pids+=($!)
sleep 1.5 # carved and sent upstream
read -r _ charged_pre granted_pre <<<"$(lease_row)"
workers=$(children "$tg_pid" | tr '\n' ' ')
kill -KILL "$tg_pid" $workers 2>/dev/null || true
check "the machine is down (master and workers killed)" \
	wait_for "the processes gone" 10 sh -c "! kill -0 $tg_pid $workers 2>/dev/null"
rm -f "$T/run/tollgate-leases.shm" "$T/run/tollgate.sock" # what a reboot clears
note "at the crash: charged $charged_pre, granted $granted_pre"

start_tollgate tollgate "$CONF" || bail "tollgate starts after the crash"
wait_for "$URL/health" 15 health_ok || bail "health after the crash"
closed() { no_open "$UID_"; }
check "the sweeper closes the orphaned lease" wait_for "no open hold" 60 closed
announced=0
while read -r c; do announced=$((announced + c)); done <"$T/costs"
read -r bal res <<<"$(acct_row "$UID_")"
lost=$((F - bal - announced))
dead=$(q "SELECT CAST(-COALESCE(SUM(amount), 0) AS SIGNED) FROM ledger_entries WHERE account_id = $UID_ AND dedupe_key LIKE 'charge:%'")
note "after the sweep: balance $bal, announced $announced, beyond it $lost, charged as unaccounted $dead"
check "nothing left reserved" test "$res" = 0
check "the request in flight is charged: the sweep charged something ($dead > 0)" test "$dead" -gt 0
check "the user paid the answered requests and at most the grant's headroom ($lost <= $granted_pre - $announced)" \
	test "$lost" -le $((granted_pre - announced))
check "far less than the unused lease the sweeper used to charge ($lost < $LEASE / 4)" \
	test "$lost" -lt $((LEASE / 4))
check "the ledger reconciles" ledger_check "$UPUB"
finish
