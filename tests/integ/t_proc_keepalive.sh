#!/usr/bin/env bash
# t_proc_keepalive.sh: kept-alive web server connections never starve new ones of slots.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin nginx curl
# 4 slots behind an nginx that keeps up to 8 idle FastCGI connections: more
# kept connections than slots, the case where a naive keep-alive deadlocks.
stack_up server.workers=2 server.threads=2

declare -a pids=()
for i in $(seq 50); do
	curl -s -m 20 -o /dev/null -w '%{http_code}' "$URL/_debug/sleep?ms=60" \
		>"$T/s.$i.code" 2>/dev/null &
	pids+=($!)
	owned_pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
n200=$(cat "$T"/s.*.code | grep -o 200 | wc -l)
check "50 concurrent requests on 4 slots all answered 200 ($n200)" test "$n200" -eq 50

# After a pause, parked kept connections and new ones are all served.
sleep 1.5
declare -a pids2=()
for i in $(seq 20); do
	curl -s -m 20 -o /dev/null -w '%{http_code}' "$URL/health" >"$T/h.$i.code" \
		2>/dev/null &
	pids2+=($!)
	owned_pids+=($!)
done
for p in "${pids2[@]}"; do wait "$p" || true; done
n200=$(cat "$T"/h.*.code | grep -o 200 | wc -l)
check "20 more after an idle pause all answered 200 ($n200)" test "$n200" -eq 20

# nginx never retries a POST that it wrote to a cached connection, so tollgate
# must not close a kept connection that nginx may be reusing: bursts of POSTs
# with more clients than slots must all be answered, never 502.
bad=0
for round in $(seq 8); do
	declare -a pids3=()
	for i in $(seq 30); do
		curl -s -m 20 -o /dev/null -w '%{http_code}' -X POST -H 'Expect:' \
			-H 'Content-Type: application/json' --data-binary "{\"r\":$round,\"i\":$i}" \
			"$URL/_debug/echo" >"$T/p.$round.$i.code" 2>/dev/null &
		pids3+=($!)
		owned_pids+=($!)
	done
	for p in "${pids3[@]}"; do wait "$p" || true; done
	sleep 0.$((round % 3))
done
n200=$(cat "$T"/p.*.code | grep -o 200 | wc -l)
bad=$(cat "$T"/p.*.code | grep -v 200 | sort | uniq -c | tr '\n' ' ')
check "8 bursts of 30 POSTs all answered 200 ($n200; others: ${bad:-none})" test "$n200" -eq 240

finish
