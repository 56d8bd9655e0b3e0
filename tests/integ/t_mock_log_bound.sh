#!/usr/bin/env bash
# t_mock_log_bound.sh: the mock provider's request log in memory is bounded (issue 19): a mock
# left running by `scripts/dev up` kept every request (4.7 GB resident after an hour of load).
# It keeps the last -m MAX (default 1000) in arrival order, and its memory stops growing.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

: "${TOLLGATE_BUILDDIR:=$TOLLGATE_SRCDIR}"
MOCK=$TOLLGATE_BUILDDIR/tests/mock-provider/mock-provider
[ -x "$MOCK" ] || skip "mock provider $MOCK not built"
need_cmd curl jq python3
make_tmp

KEY=sk-mock-0123456789
mock_port() { sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$T/log/$1.out"; }
has_port() { [ -n "$(mock_port "$1")" ]; }

# send PORT FIRST COUNT PAD: COUNT chats on one kept-alive connection, the i-th with
# "user":"req-i" (i from FIRST) and a member of PAD bytes (the log copies every member but
# the prompt, so PAD is what each entry costs). Prints how many were answered 200.
send() {
	python3 - "$@" "$KEY" <<'PYEOF'
import http.client, json, sys
port, first, count, pad, key = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
ok = 0
for i in range(first, first + count):
    body = {"model": "m", "user": "req-%d" % i, "max_tokens": 1,
            "messages": [{"role": "user", "content": "hi"}]}
    if pad:
        body["metadata"] = {"pad": "x" * pad}
    c.request("POST", "/v1/chat/completions", json.dumps(body),
              {"Authorization": "Bearer " + key, "Content-Type": "application/json"})
    r = c.getresponse()
    r.read()
    ok += r.status == 200
print(ok)
PYEOF
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --- the default bound: 1000 -----------------------------------------------------------------
start_bg mock "$MOCK" -p 0 -k "$KEY"
pid=$bg_pid
wait_for "mock prints its port" 10 has_port mock || bail "mock provider starts"
P=$(mock_port mock)
n=$(send "$P" 0 1500 0)
check "1500 chats answered 200 ($n)" test "$n" = 1500
http GET "http://127.0.0.1:$P/_mock/requests"
check "after 1500 requests the log holds the default 1000 ($(jq length "$T/body"))" \
	json_is 'length == 1000'
check "the kept ones are the last 1000, oldest first (req-500 .. req-1499)" \
	json_is '[.[].body.user] == [range(500;1500) | "req-\(.)"]'
http GET "http://127.0.0.1:$P/_mock/health"
check "/_mock/health: requests 1000, requests_total 1500, log_max 1000" \
	json_is '.requests == 1000 and .requests_total == 1500 and .log_max == 1000'
curl -s -m 5 -X DELETE "http://127.0.0.1:$P/_mock/requests" >/dev/null
send "$P" 2000 3 0 >/dev/null
http GET "http://127.0.0.1:$P/_mock/requests"
check "after a clear, the log starts again (3 entries, in order)" \
	json_is '[.[].body.user] == ["req-2000","req-2001","req-2002"]'

# --- memory: with the log full, thousands more requests do not grow it -------------------------
# 24 kB per entry: unbounded, 3000 more requests would add 72 MB or more; bounded, the log is a
# steady 1000 entries (about 24 MB) and what grows is allocator noise (measured: under 2 MB).
n=$(send "$P" 10000 1500 24000)
check "1500 padded chats answered 200 ($n)" test "$n" = 1500
before=$(rss_kb "$pid")
n=$(send "$P" 20000 3000 24000)
check "3000 more padded chats answered 200 ($n)" test "$n" = 3000
after=$(rss_kb "$pid")
note "mock RSS: $before kB with the log full, $after kB after 3000 more requests"
# ASan holds freed memory in quarantine, so RSS says nothing there (t_proc_leak does the same);
# the counts above and below still hold.
if ldd "$MOCK" 2>/dev/null | grep -q libasan; then
	note "AddressSanitizer build: the RSS bound is not checked"
else
	check "RSS grew less than 32 MB over 3000 requests of 24 kB ($before -> $after kB)" \
		test $((after - before)) -lt 32768
fi
http GET "http://127.0.0.1:$P/_mock/requests"
check "the log holds 1000, the last being req-22999" \
	json_is 'length == 1000 and .[-1].body.user == "req-22999" and .[0].body.user == "req-22000"'

# --- -m sets the bound ---------------------------------------------------------------------------
start_bg mock2 "$MOCK" -p 0 -k "$KEY" -m 50
wait_for "mock -m 50 prints its port" 10 has_port mock2 || bail "mock provider -m 50 starts"
P2=$(mock_port mock2)
send "$P2" 0 120 0 >/dev/null
http GET "http://127.0.0.1:$P2/_mock/requests"
check "-m 50: 120 requests leave the last 50 (req-70 .. req-119)" \
	json_is '[.[].body.user] == [range(70;120) | "req-\(.)"]'
rc=0
"$MOCK" -p 0 -m 0 >"$T/m0.out" 2>&1 || rc=$?
check "-m 0 is refused with usage (exit $rc)" test "$rc" = 2

finish
