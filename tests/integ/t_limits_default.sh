#!/usr/bin/env bash
# t_limits_default.sh: the built-in per-user limits that hold a small host up when the config
# sets none: requests_per_minute=60 and at most max(2, slots/4) requests in flight per user
# (here 2 workers x 4 threads = 8 slots -> 2). A third concurrent stream of one user is a 429
# with Retry-After in the OpenAI shape while another user is served.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
# "limits.defaults=" (empty) drops the suite's "none": the built-in defaults apply.
chat_stack limdef server.workers=2 server.threads=4 "limits.defaults="
cp_admin ld 1
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY

user la 5.00
A_KEY=$U_KEY
user lb 5.00
B_KEY=$U_KEY

req GET /user/limit "$A_KEY"
check "built-in defaults in force: 60 requests a minute, 2 in flight" json_is \
	'.effective.requests_per_minute == 60 and .effective.max_concurrent == 2 and .effective.tokens_per_day == null'

slow='{"model":"test/cheap","stream":true,"messages":[{"role":"user","content":"slow [mock:pace=400]"}]}'
for i in 1 2 3; do
	curl -s -m 60 -o "$T/s.$i.body" -D "$T/s.$i.hdr" -w '%{http_code}\n' -H "Authorization: Bearer $A_KEY" \
		-H 'Content-Type: application/json' --data-binary "$slow" "$URL/v1/chat/completions" >"$T/s.$i.code" &
	owned_pids+=($!)
	pids[$i]=$!
	sleep 0.5
done
chat "$B_KEY" '{"model":"test/cheap","messages":[{"role":"user","content":"hello"}]}'
check "another user is served while A holds its 2 slots" status_is 200
for i in 1 2 3; do wait "${pids[$i]}" || true; done
codes=$(cat "$T"/s.1.code "$T"/s.2.code "$T"/s.3.code | tr '\n' ' ')
check "A's three concurrent streams: 200 200 429 (got $codes)" test "$codes" = "200 200 429 "
cp "$T/s.3.body" "$T/body"
tr -d '\r' <"$T/s.3.hdr" | sed 's/^\([^:]*\):/\L\1:/' >"$T/hdr"
code=429
check "  the 429 in the OpenAI shape, rate_limit_exceeded, naming max_concurrent and the user" sh -c \
	"jq -e '.error.code == \"rate_limit_exceeded\" and .error.type != null and (.error.message | test(\"max_concurrent\") and test(\"user\"))' '$T/body' >/dev/null"
check "  with Retry-After" sh -c "echo '$(hdr retry-after)' | grep -Eqx '[0-9]+'"
check "  the admitted streams ended with [DONE]" sh -c "grep -q 'data: \[DONE\]' '$T/s.1.body' && grep -q 'data: \[DONE\]' '$T/s.2.body'"
chat "$A_KEY" '{"model":"test/cheap","messages":[{"role":"user","content":"again"}]}'
check "once they ended, A is admitted again (the slots were given back)" status_is 200
req GET /user/limit "$A_KEY"
check "  and nothing of A is counted in flight" json_is '.usage.max_concurrent == 0'

finish
