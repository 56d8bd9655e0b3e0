#!/usr/bin/env bash
# t_body_caps.sh: a JSON element bomb costs a worker no memory: control-plane bodies are capped
# at http.max_control_body before they are read, and every body's elements are counted
# (http.max_json_elements) before jansson builds anything.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

need_db
need_bin
need_cmd nginx curl jq
if ldd "$TOLLGATE_BIN" 2>/dev/null | grep -q libasan; then
	skip "RSS is not meaningful under AddressSanitizer"
fi
make_tmp
# One worker so every request lands in the process we measure. nginx passes bodies up to 1m.
stack_up server.workers=1 server.threads=2 http.max_body=1000000

# bomb FILE N: [{},{},...] with N elements (3 bytes each).
bomb() {
	{
		printf '['
		yes '{},' | head -n "$(($2 - 1))" | tr -d '\n'
		printf '{}]'
	} >"$1"
}
bomb "$T/bomb.json" 330000
note "bomb: $(stat -c %s "$T/bomb.json") bytes, 330000 elements"

rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

cp_register caps || bail "register ($code)"
KEY=$REG_KEY
worker=$(children "$tg_pid" | head -1)
check "one worker to measure (pid $worker)" test -n "$worker"
before=$(rss_kb "$worker")

# post_bombs PATH CRED: four bombs at once (two per slot); each status to $T/bomb.N.
post_bombs() {
	local i
	local -a pids=()
	for i in 1 2 3 4; do
		curl -s -m 60 -o "$T/bomb.$i.body" -w '%{http_code}' -H 'Expect:' \
			-H 'Content-Type: application/json' ${2:+-H "Authorization: Bearer $2"} \
			--data-binary @"$T/bomb.json" "$URL$1" >"$T/bomb.$i" &
		pids+=($!)
	done
	wait "${pids[@]}" || true
}

t0=$(date +%s%N)
post_bombs /auth/login ""
ms=$((($(date +%s%N) - t0) / 1000000))
for i in 1 2 3 4; do
	check "login bomb $i: 413 (got $(cat "$T/bomb.$i"))" test "$(cat "$T/bomb.$i")" = 413
done
check "login bomb: the OpenAI error shape" jq_file "$T/bomb.1.body" '.error.code == "body_too_large" and (.error.message|test("65536"))'
check "four login bombs answered in ${ms} ms (< 5000)" test "$ms" -lt 5000

t0=$(date +%s%N)
post_bombs /v1/chat/completions "$KEY"
ms=$((($(date +%s%N) - t0) / 1000000))
for i in 1 2 3 4; do
	check "chat bomb $i: 413 (got $(cat "$T/bomb.$i"))" test "$(cat "$T/bomb.$i")" = 413
done
check "chat bomb: the message names the element limit" jq_file "$T/bomb.1.body" '.error.type == "invalid_request_error" and (.error.message|test("100000"))'
check "four chat bombs answered in ${ms} ms (< 5000)" test "$ms" -lt 5000

after=$(rss_kb "$worker")
grown=$((after - before))
note "worker $worker RSS ${before} kB -> ${after} kB after 8 bombs"
check "same worker served everything" test "$(children "$tg_pid" | head -1)" = "$worker"
check "RSS grew by ${grown} kB, under 16 MiB" test "$grown" -lt 16384

# A small control-plane body over the element bound is refused too; a normal one still works.
bomb "$T/small.json" 20000
http POST "$URL/auth/login" -H 'Content-Type: application/json' --data-binary @"$T/small.json"
check "a 60 kB login bomb: 413" status_is 413
check "  the OpenAI error shape" error_shape
cp_login "$REG_EMAIL"
check "a normal login still works" test -n "$TOKEN"
http POST "$URL/auth/login" -H 'Content-Type: application/json' \
	--data-binary '{"email":"x@example.com","password":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}'
check "nesting deeper than max_json_depth: 400 (got $code)" status_is 400
check "  invalid_json" json_is '.error.code == "invalid_json"'

finish
