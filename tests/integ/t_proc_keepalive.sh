#!/usr/bin/env bash
# t_proc_keepalive.sh: kept-alive web server connections never starve new ones of slots.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_db
need_bin
need_cmd nginx curl
make_tmp
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

# After a pause longer than the idle limit, kept connections were given back.
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

finish
