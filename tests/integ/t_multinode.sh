#!/usr/bin/env bash
# t_multinode.sh: two tollgate nodes on one database (issue 19, "several nodes on one
# database"): two masters (two configs, run_dirs, sockets, shared memories), each behind its
# own nginx, one MariaDB. Rate limits in scope = global hold across both nodes under
# concurrent traffic; a key disabled on one node is refused on the other within cache.ttl, a
# key revoked on the other is refused on the first within cache.ttl; credit leases and
# journals are per node, and `tollgate ledger check` is exact at the end.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

TTL=3
LIMIT=20
test_begin --mock curl jq nginx mariadb
chat_backend multi
export LC_ALL=C

# node NAME: a config, run_dir, socket and log of its own; what is shared is the database.
common=("db.name=$SCRATCH" limits.scope=global limits.global_share=5 cache.ttl=$TTL
	chat.default_max_tokens=16 server.workers=2 server.threads=4 billing.lease=0.05
	billing.lease_idle=2 chat.hold_ttl=60)
for n in a b; do
	mkdir -p "$T/node$n/run" "$T/node$n/log" "$T/node$n/tmp"
	chmod 0755 "$T/node$n" "$T/node$n/run" "$T/node$n/log"
	tg_conf "$T/$n.conf" "${common[@]}" "server.listen=unix:$T/node$n/run/tollgate.sock" \
		"server.run_dir=$T/node$n/run" "server.pid_file=$T/node$n/run/tollgate.pid" \
		"log.file=$T/log/$n.log"
	start_tollgate "$n" "$T/$n.conf" || bail "node $n starts"
done

# web NAME: nginx for node NAME, with its prefix, pid file and logs under $T/nodeNAME
# (start_nginx writes under $T: it runs with T pointing there, then T is restored at once).
web() {
	local top=$T rc=0
	SOCK=$T/node$1/run/tollgate.sock SOCK_PREFIX=$SOCK SOCK_NODB=$SOCK
	T=$T/node$1
	start_web start_nginx || rc=$?
	# own_daemon recorded the group; what the cleanup looks for under $T is under $top.
	T=$top
	return "$rc"
}
web a || bail "nginx for node a starts"
URL_A=http://127.0.0.1:$PORT
web b || bail "nginx for node b starts"
URL_B=http://127.0.0.1:$PORT
URL=$URL_A wait_for "node a answers" 15 health_ok || bail "node a answers"
URL=$URL_B wait_for "node b answers" 15 health_ok || bail "node b answers"
check "two masters, two nginx: node a and node b are different processes" \
	test "$(cat "$T/nodea/run/tollgate.pid")" != "$(cat "$T/nodeb/run/tollgate.pid")"
check "each node has its own shared memory (run_dir)" \
	sh -c 'ls "$1"/tollgate-*.shm >/dev/null && ls "$2"/tollgate-*.shm >/dev/null' _ \
	"$T/nodea/run" "$T/nodeb/run"

URL=$URL_A CONF=$T/a.conf
cp_admin multi 1
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY
user lim 5.00
LK=$U_KEY LPUB=$U_ID
req POST /admin/limit "$AK" "{\"api_key\":\"$LK\",\"rate_limits\":{\"requests_per_minute\":$LIMIT}}"
expect_status "key limited to $LIMIT per minute (through node a)" 200
user free 5.00
FK=$U_KEY FPUB=$U_ID

# post URL KEY TAG: one chat in the background, its status in $T/TAG.code.
body='{"model":"test/cheap","messages":[{"role":"user","content":"hello there [mock:latency=50]"}]}'
declare -a pids=()
post() {
	curl -s -m 60 -o /dev/null -w '%{http_code}\n' -H 'Expect:' -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "$body" "$1/v1/chat/completions" \
		>"$T/$3.code" 2>/dev/null &
	pids+=($!)
	owned_pids+=($!)
}
# codes_of GLOB STATUS: how many of $T/GLOB.*.code are STATUS (GLOB unquoted: a pattern).
codes_of() { cat "$T"/$1.*.code 2>/dev/null | grep -c "^$2\$" || true; }

# --- a global per-minute limit across both nodes, under concurrent traffic ----------------
# Windows are UTC minutes: start with at least 25 s of this one left.
sec=$((10#$(date -u +%S)))
[ "$sec" -lt 35 ] || sleep $((61 - sec))
for i in $(seq 60); do
	if [ $((i % 2)) = 0 ]; then post "$URL_A" "$LK" "lim.a.$i"; else post "$URL_B" "$LK" "lim.b.$i"; fi
	# The unlimited user at the same time, through both nodes: leases and journals per node.
	if [ $((i % 3)) = 0 ]; then
		if [ $((i % 2)) = 0 ]; then post "$URL_B" "$FK" "free.b.$i"; else post "$URL_A" "$FK" "free.a.$i"; fi
	fi
done
for p in "${pids[@]}"; do wait "$p" || true; done
pids=()
ok=$(codes_of 'lim.*' 200)
n429=$(codes_of 'lim.*' 429)
oka=$(codes_of 'lim.a' 200)
okb=$(codes_of 'lim.b' 200)
note "limited key: $ok admitted (a $oka, b $okb), $n429 refused with 429"
check "60 concurrent requests over two nodes: never more than $LIMIT admitted ($ok)" test "$ok" -le "$LIMIT"
check "  and the limit is used, not refused wholesale ($ok >= $((LIMIT / 2)))" test "$ok" -ge $((LIMIT / 2))
check "  the rest are 429 ($n429 = $((60 - ok)))" test "$n429" -eq $((60 - ok))
check "  both nodes admitted some (a $oka, b $okb)" sh -c '[ "$1" -gt 0 ] && [ "$2" -gt 0 ]' _ "$oka" "$okb"
used=$(q "SELECT COALESCE(SUM(used), 0) FROM rate_windows WHERE lim = 0")
check "  the database's global window never passed the limit (used $used <= $LIMIT)" \
	test "$used" -le "$LIMIT"
fok=$(codes_of 'free.*' 200)
check "the unlimited user's 20 chats, through both nodes at once, all 200 ($fok)" test "$fok" -eq 20
check "  both nodes served it (a log, b log)" \
	sh -c 'grep -q "POST /v1/chat/completions 200" "$1" && grep -q "POST /v1/chat/completions 200" "$2"' _ \
	"$T/log/a.log" "$T/log/b.log"

# --- a key changed on one node is refused on the other within cache.ttl --------------------
# one URL KEY: a single chat's status (sequential).
one() {
	curl -s -m 30 -o /dev/null -w '%{http_code}' -H 'Expect:' -H "Authorization: Bearer $2" \
		-H 'Content-Type: application/json' --data-binary "$body" "$1/v1/chat/completions" || true
}
# all_n URL KEY N WANT: N sequential chats all answer WANT (every worker of the node).
all_n() {
	local i
	for i in $(seq "$3"); do [ "$(one "$1" "$2")" = "$4" ] || return 1; done
}
URL=$URL_A
cp_new_key "$FK" '{"name":"second"}' || bail "second key ($code)"
K2=$NEW_KEY K2_ID=$NEW_KEY_ID
cp_new_key "$FK" '{"name":"third"}' || bail "third key ($code)"
K3=$NEW_KEY K3_ID=$NEW_KEY_ID
check "the second key is warm on node b (8 chats, 200)" all_n "$URL_B" "$K2" 8 200
check "the third key is warm on node a (8 chats, 200)" all_n "$URL_A" "$K3" 8 200

URL=$URL_A
req PUT "/user/api-keys/$K2_ID" "$FK" '{"is_active":false}'
expect_status "disable the second key through node a" 200
t0=$SECONDS
check "  node a refuses it at once (403)" test "$(one "$URL_A" "$K2")" = 403
refused_b() { all_n "$URL_B" "$K2" 4 403; }
wait_for "node b refuses the disabled key" $((TTL + 10)) refused_b || true
check "  node b refuses it within ttl + slack ($((SECONDS - t0)) s <= $((TTL + 10)))" refused_b

URL=$URL_B
req DELETE "/user/api-keys/$K3_ID" "$FK"
expect_status "revoke the third key through node b" 204
t0=$SECONDS
check "  node b refuses it at once (401)" test "$(one "$URL_B" "$K3")" = 401
refused_a() { all_n "$URL_A" "$K3" 4 401; }
wait_for "node a refuses the revoked key" $((TTL + 10)) refused_a || true
check "  node a refuses it within ttl + slack ($((SECONDS - t0)) s <= $((TTL + 10)))" refused_a
both_200() { [ "$(one "$URL_A" "$FK")" = 200 ] && [ "$(one "$URL_B" "$FK")" = 200 ]; }
check "the user's own key still works on both nodes" both_200

# --- the ledger: leases back, journals written out, exact ------------------------------------
idle() { [ "$(q "SELECT COUNT(*) FROM holds WHERE state = 'open'")" = 0 ]; }
wait_for "every lease and hold of both nodes closed (lease_idle 2 s)" 20 idle || true
check "no open hold or lease in the database" idle
URL=$URL_A CONF=$T/a.conf
check "limited user: ledger reconciles (tollgate ledger check exact)" ledger_check "$LPUB"
check "unlimited user: ledger reconciles" ledger_check "$FPUB"
nrec=$(n_usage_pub "$FPUB")
check "unlimited user: one usage record per 200 (>= 20 + 16 + 2: $nrec)" test "$nrec" -ge 38
check "limited user: usage records = admissions ($(n_usage_pub "$LPUB") = $ok)" \
	test "$(q "SELECT COUNT(*) FROM usage_records r JOIN users u ON u.id = r.user_id
		WHERE u.public_id = '$LPUB' AND r.status <> 'refused'")" = "$ok"

finish
