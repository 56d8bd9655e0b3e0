#!/usr/bin/env bash
# t_mem_return.sh: a worker gives back the memory a large body cost it. Large chats (one
# 3 MB string, 3 MB of many small messages) and 7.9 MB strings, four at a time on four slots,
# must leave the worker's RSS within a bound of what it was before them, not at the high
# water (issue 15 item 8: 3.1 MB bodies left ~64 MB each, levelling near 262 MB).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

need_cmd python3
make_tmp
if ldd "$TOLLGATE_BIN" 2>/dev/null | grep -q libasan; then
	skip "RSS is not meaningful under AddressSanitizer (LSan covers leaks there)"
fi
# One worker so every request lands in the process we measure; four slots, as glibc gives
# each thread that allocates at once a malloc arena of its own. nginx passes 16 MiB.
NGX_MAX_BODY=16m
chat_stack mem server.workers=1 server.threads=4 http.max_body=8M \
	chat.default_max_tokens=16
cp_admin mem 100000
KEY=$ADMIN_KEY

# The bodies: a 3 MB string; 30000 short messages (90000 JSON values, under the element cap);
# a 7.9 MB string.
python3 - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
big = "word " * 620000
json.dump({"model": "test/dear", "messages": [{"role": "user", "content": big}]},
          open(t + "/str.json", "w"))
msgs = [{"role": "user", "content": "m%05d " % i + "x" * 80} for i in range(30000)]
json.dump({"model": "test/dear", "messages": msgs}, open(t + "/many.json", "w"))
json.dump({"model": "test/dear", "messages": [{"role": "user", "content": "word " * 1580000}]},
          open(t + "/big.json", "w"))
EOF
note "bodies: $(stat -c '%n %s' "$T/str.json" "$T/many.json" "$T/big.json" | sed "s|$T/||g" | tr '\n' ' ')"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# post4 PATH FILE: four POSTs of FILE at once; statuses to $T/p.N.
post4() {
	local i p
	local -a pids=()
	for i in 1 2 3 4; do
		curl -s -m 120 -o "$T/p.$i.body" -w '%{http_code}\n' -H 'Expect:' \
			-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
			--data-binary @"$2" "$URL$1" >"$T/p.$i" 2>/dev/null &
		pids+=($!)
		owned_pids+=($!)
	done
	for p in "${pids[@]}"; do wait "$p" || true; done
	cat "$T"/p.[1-4] | tr '\n' ' '
}

# small: small requests on every slot, so each slot ends a request after the large ones.
small() {
	local i
	for i in 1 2 3 4 5 6 7 8; do
		chat "$KEY" "{\"model\":\"test/dear\",$MSGS}" >/dev/null
		http POST "$URL/_debug/echo" -H 'Content-Type: application/json' --data-binary '{"a":1}'
	done
}

worker=$(children "$tg_pid" | head -1)
check "one worker to measure (pid $worker)" test -n "$worker"
small
chat "$KEY" "{\"model\":\"test/dear\",$MSGS}"
check "a small chat: 200" status_is 200
base=$(rss_kb "$worker")
peak=$base
statuses=
for round in 1 2 3; do
	statuses+="$(post4 /v1/chat/completions "$T/str.json")"
	r=$(rss_kb "$worker")
	[ "$r" -gt "$peak" ] && peak=$r
	statuses+="$(post4 /v1/chat/completions "$T/many.json")"
	r=$(rss_kb "$worker")
	[ "$r" -gt "$peak" ] && peak=$r
	statuses+="$(post4 /v1/chat/completions "$T/big.json")"
	r=$(rss_kb "$worker")
	[ "$r" -gt "$peak" ] && peak=$r
done
check "36 large requests all 200 (got: $statuses)" \
	test "$(echo "$statuses" | tr ' ' '\n' | grep -c '^200$')" = 36
check "the 7.9 MB prompt was counted (1580000 words)" \
	jq_file "$T/p.1.body" '.usage.prompt_tokens >= 1580000'
small
sleep 1
after=$(rss_kb "$worker")
grown=$((after - base))
note "worker $worker RSS: baseline ${base} kB, highest seen ${peak} kB, after ${after} kB (+${grown} kB)"
check "same worker served everything (not recycled)" \
	test "$(children "$tg_pid" | head -1)" = "$worker"
# The bodies alone are 3-8 MB each, 4 at a time: holding one round's worth is 30+ MB.
check "RSS after is within 24 MiB of the baseline (+${grown} kB)" test "$grown" -lt 24576
http GET "$URL/health"
check "still healthy" status_is 200

finish
