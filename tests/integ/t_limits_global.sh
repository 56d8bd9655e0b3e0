#!/usr/bin/env bash
# t_limits_global.sh: [limits] scope = global: two tollgate "machines" (separate masters, separate
# shared memory) on one database admit a key's 30 per minute once between them, not 30 each,
# and most requests cost no extra database round trip.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock curl jq nginx mariadb
chat_backend glob
mkdir -p "$T/runa" "$T/runb"
chmod 0755 "$T/runa" "$T/runb"
common=("db.name=$SCRATCH" limits.scope=global limits.global_share=10 chat.default_max_tokens=16
	server.workers=2 server.threads=4)
tg_conf "$T/a.conf" "${common[@]}" "server.listen=unix:$T/run/a.sock" "server.run_dir=$T/runa" \
	"server.pid_file=$T/runa/pid" "log.file=$T/log/a.log"
tg_conf "$T/b.conf" "${common[@]}" "server.listen=unix:$T/run/b.sock" "server.run_dir=$T/runb" \
	"server.pid_file=$T/runb/pid" "log.file=$T/log/b.log" server.mount_prefix=/tollgate
start_tollgate a "$T/a.conf" || bail "machine a starts"
start_tollgate b "$T/b.conf" || bail "machine b starts"
SOCK=$T/run/a.sock SOCK_PREFIX=$T/run/b.sock SOCK_NODB=$T/run/a.sock
start_web start_nginx || bail "nginx starts"
URL=http://127.0.0.1:$PORT
wait_for "$URL/health" 15 health_ok || bail "machine a answers"
CONF=$T/a.conf
cp_admin glob 1
AK=$ADMIN_KEY
cp_register u || bail "register"
UK=$REG_KEY U_ID=$REG_ID
req POST /admin/add_credits "$AK" "{\"user_id\":\"$U_ID\",\"amount_usd\":\"5.00\"}"
req POST /admin/limit "$AK" "{\"api_key\":\"$UK\",\"rate_limits\":{\"requests_per_minute\":30}}"
expect_status "key limited to 30 per minute" 200

# Windows are UTC minutes: start with at least 20 s of this one left.
sec=$((10#$(date -u +%S)))
[ "$sec" -lt 40 ] || sleep $((61 - sec))
body='{"model":"test/cheap","messages":[{"role":"user","content":"hello there [mock:latency=100]"}]}'
declare -a pids=()
for i in $(seq 100); do
	if [ $((i % 2)) = 0 ]; then base=$URL; else base=$URL/tollgate; fi
	curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H 'Expect:' -H "Authorization: Bearer $UK" \
		-H 'Content-Type: application/json' --data-binary "$body" "$base/v1/chat/completions" \
		>"$T/g.$i.code" 2>/dev/null &
	pids+=($!)
	owned_pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
ok=$(cat "$T"/g.*.code | grep -c '^200$' || true)
n429=$(cat "$T"/g.*.code | grep -c '^429$' || true)
check "100 requests over two machines: exactly 30 admitted ($ok)" test "$ok" -eq 30
check "  the other 70 got 429 ($n429)" test "$n429" -eq 70
a200=$(grep -c 'POST /v1/chat/completions 200' "$T/log/a.log" || true)
b200=$(grep -c 'POST /tollgate/v1/chat/completions 200\|POST /v1/chat/completions 200' "$T/log/b.log" || true)
check "  both machines admitted some (a $a200, b $b200)" sh -c '[ "$1" -gt 0 ] && [ "$2" -gt 0 ]' _ "$a200" "$b200"
used=$(sql "$SCRATCH" -e "SELECT COALESCE(SUM(used), 0) FROM rate_windows WHERE lim = 0")
check "  the database's window never passed the limit (used $used <= 30)" test "$used" -le 30

finish
