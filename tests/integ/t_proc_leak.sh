#!/usr/bin/env bash
# t_proc_leak.sh: a long-running worker's memory stays flat over thousands of mixed requests.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

need_db
need_bin
need_cmd nginx curl jq
# ASan holds freed memory in quarantine, so RSS says nothing there; LeakSanitizer checks
# every worker at exit in that build instead.
if ldd "$TOLLGATE_BIN" 2>/dev/null | grep -q libasan; then
	skip "RSS is not meaningful under AddressSanitizer (LSan covers leaks there)"
fi
make_tmp
# One worker so every request lands in the process we measure.
stack_up server.workers=1 server.threads=2

# batch N: N requests of each kind (health with DB queries, 404, JSON echo, 400, 405)
# over keep-alive connections, one curl process per kind.
batch() {
	local n=$1 i
	printf '{"messages":[{"role":"user","content":"hello"}],"n":%s}' 1 >"$T/ok.json"
	printf '{"a":1,"a":2}' >"$T/dup.json"
	: >"$T/urls"
	for ((i = 0; i < n; i++)); do
		printf 'url = "%s"\noutput = "/dev/null"\n' "$URL/health" \
			"$URL/no/such/route" >>"$T/urls"
	done
	curl -s -K "$T/urls" || true
	: >"$T/posts"
	for ((i = 0; i < n; i++)); do
		printf 'url = "%s"\noutput = "/dev/null"\n' "$URL/_debug/echo" \
			>>"$T/posts"
	done
	curl -s -H 'Content-Type: application/json' \
		--data-binary @"$T/ok.json" -K "$T/posts" || true
	curl -s -H 'Content-Type: application/json' \
		--data-binary @"$T/dup.json" -K "$T/posts" || true
}

rss_kb() {
	awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

worker=$(children "$tg_pid" | head -1)
check "one worker to measure (pid $worker)" test -n "$worker"
batch 300
before=$(rss_kb "$worker")
batch 1500
after=$(rss_kb "$worker")
grown=$((after - before))
note "worker $worker RSS ${before} kB -> ${after} kB after 6000 more requests"
check "same worker served everything (not recycled)" test "$(children "$tg_pid" | head -1)" = "$worker"
check "RSS grew by ${grown} kB, under 512 kB over 6000 requests" test "$grown" -lt 512
http GET "$URL/health"
check "still healthy" status_is 200

finish
