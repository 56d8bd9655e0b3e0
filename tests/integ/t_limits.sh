#!/usr/bin/env bash
# t_limits.sh: client-side rate limits, counted once per node across every worker process:
# requests, tokens and in-flight caps for keys and users, config group defaults, 429 with
# Retry-After and the x-ratelimit-* headers, and no charge for a refused request.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
# 4 processes x 4 slots: a per-process counter would admit up to 4 x the limit.
chat_stack limits server.workers=4 server.threads=4 chat.default_max_tokens=16 \
	"limits.group_defaults=slow: requests_per_minute=2"
cp_admin lim 1
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY
export LC_ALL=C

# limit TARGET_JSON LIMITS_JSON: POST /admin/limit; sets $code.
limit() {
	req POST /admin/limit "$AK" "{$1,\"rate_limits\":$2}"
}
body() { echo "{\"model\":\"test/cheap\",\"messages\":[{\"role\":\"user\",\"content\":\"hello there$1\"}]}"; }
# burst N KEY BODY TAG: N concurrent chats; codes in $T/TAG.N.code, headers in $T/TAG.N.hdr.
# One curl runs them all in parallel (--parallel, a config of N transfers): N curl processes
# take seconds to start on a slow machine, and a burst spread over seconds earns tokens back.
burst() {
	local n=$1 key=$2 b=$3 tag=$4 i cfg=$T/$4.curl
	printf '%s' "$b" >"$T/$tag.req"
	: >"$cfg"
	for i in $(seq "$n"); do
		[ "$i" -eq 1 ] || echo next >>"$cfg"
		printf 'url = "%s"\noutput = "%s"\ndump-header = "%s"\nmax-time = 60\n' \
			"$URL/v1/chat/completions" "$T/$tag.$i.body" "$T/$tag.$i.hdr" >>"$cfg"
		printf 'header = "Expect:"\nheader = "Authorization: Bearer %s"\n' "$key" >>"$cfg"
		printf 'header = "Content-Type: application/json"\ndata-binary = "@%s"\n' "$T/$tag.req" >>"$cfg"
	done
	curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$n" -K "$cfg" \
		2>/dev/null || true
	for i in $(seq "$n"); do
		sed -n '1s/^HTTP\/[0-9.]* \([0-9]*\).*/\1/p' "$T/$tag.$i.hdr" 2>/dev/null >"$T/$tag.$i.code"
	done
}
count() { cat "$T/$1".*.code 2>/dev/null | grep -c "^$2\$" || true; }

# --- 30 per minute for a key: exactly 30 of 100 concurrent, whatever process serves them ----
user burst 5.00
B_KEY=$U_KEY B_ID=$U_ID
limit "\"api_key\":\"$B_KEY\"" '{"requests_per_minute":30}'
expect_status "key limited to 30 requests per minute" 200
m0=$(mock_requests)
# The bucket refills 0.5 a second from its first admitted request, which comes after this
# (taken after the burst, it missed the refill during a slow burst: seen failing in CI).
t_burst=$(date +%s.%N)
burst 100 "$B_KEY" "$(body ' [mock:latency=200]')" b
ok200=$(count b 200) ok429=$(count b 429)
check "100 concurrent: exactly 30 admitted ($ok200)" test "$ok200" -eq 30
check "  the other 70 got 429 ($ok429)" test "$ok429" -eq 70
check "  exactly 30 reached the upstream" test "$(( $(mock_requests) - m0 ))" -eq 30
check "  exactly 30 usage records: refusals cost nothing" test "$(n_usage_pub "$B_ID")" -eq 30
first429=$(grep -l '^429$' "$T"/b.*.code | head -n 1)
first429=${first429%.code}
cp "$first429.body" "$T/body"
cp "$first429.hdr" "$T/hdr.raw"
tr -d '\r' <"$T/hdr.raw" | sed 's/^\([^:]*\):/\L\1:/' >"$T/hdr"
code=429
check "  a 429 in the OpenAI error shape, code rate_limit_exceeded" is_err 429 rate_limit_exceeded
check "  its message names the limit and the subject" json_is \
	'.error.message | test("requests_per_minute") and test("API key") and test("30")'
ra=$(hdr retry-after)
check "  Retry-After is a sensible number of seconds (1..60; got $ra)" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le 60 ]' _ "${ra:-0}"
check "  x-ratelimit-limit-requests: 30" test "$(hdr x-ratelimit-limit-requests)" = 30
check "  x-ratelimit-remaining-requests: 0" test "$(hdr x-ratelimit-remaining-requests)" = 0
check "  x-ratelimit-reset-requests in seconds" sh -c 'echo "$1" | grep -Eq "^[0-9]+s$"' _ "$(hdr x-ratelimit-reset-requests)"
ok1=$(grep -l '^200$' "$T"/b.*.code | head -n 1)
check "  an admitted answer carries x-ratelimit-limit-requests: 30 too" \
	grep -qi '^x-ratelimit-limit-requests: 30' "${ok1%.code}.hdr"
check "B: the ledger reconciles" ledger_check "$B_ID"
req GET /user/limit "$B_KEY"
# The bucket has earned back 30/60 a second since the burst began: the use shown is 30 less that,
# measured (the checks above take seconds on a busy machine), less one for rounding.
lo=$(awk -v t0="$t_burst" -v t1="$(date +%s.%N)" 'BEGIN { v = 30 - (t1 - t0) * 0.5 - 1; print (v < 0 ? 0 : int(v)) }')
check "GET /user/limit: the key's limit and its use (30, earned back since: >= $lo)" json_is \
	".key_effective.requests_per_minute == 30 and .key_usage.requests_per_minute >= $lo and .key_usage.requests_per_minute <= 30 and .counted == \"node\""
sleep 3
chat "$B_KEY" "$(body '')"
check "after Retry-After the key is admitted again" status_is 200

# --- tokens: the hold's estimate is checked first, the real count kept afterwards -------------
user tok 5.00
K_KEY=$U_KEY K_ID=$U_ID
tb=$(body ' [mock:latency=1500]')
need=$(( ${#tb} + 16 ))
limit "\"api_key\":\"$K_KEY\"" "{\"tokens_per_minute\":$((3 * need + need / 2))}"
expect_status "key limited to 3.5 holds' worth of tokens per minute" 200
burst 8 "$K_KEY" "$tb" t
check "8 concurrent: the holds of exactly 3 fit ($(count t 200))" test "$(count t 200)" -eq 3
check "  the other 5 got 429 naming tokens_per_minute" sh -c \
	"[ \$(grep -l tokens_per_minute '$T'/t.*.body | wc -l) -eq 5 ]"
req GET /user/limit "$K_KEY"
used=$(jv .key_usage.tokens_per_minute)
# mock: "hello there [mock:...]" is 4 + 2 prompt tokens; 12-word reply cut at 16 -> 12.
check "  after settling only the real tokens count (<= 3 x 18 = 54; got $used)" \
	sh -c '[ "$1" -ge 1 ] && [ "$1" -le 54 ]' _ "${used:-0}"
chat "$K_KEY" "$(body '')"
check "  so the next request fits again" status_is 200

# --- in flight at once ------------------------------------------------------------------------
user conc 5.00
C_KEY=$U_KEY C_ID=$U_ID
limit "\"api_key\":\"$C_KEY\"" '{"max_concurrent":2}'
burst 6 "$C_KEY" "$(body ' [mock:latency=1500]')" c
check "max_concurrent 2: 2 of 6 concurrent admitted ($(count c 200))" test "$(count c 200)" -eq 2
check "  4 refused, naming max_concurrent" sh -c "[ \$(grep -l max_concurrent '$T'/c.*.body | wc -l) -eq 4 ]"
burst 2 "$C_KEY" "$(body '')" c2
check "  once they ended, 2 more are admitted" test "$(count c2 200)" -eq 2
req GET /user/limit "$C_KEY"
check "  and nothing is counted in flight" json_is '.key_usage.max_concurrent == 0'

# A worker killed mid-request does not keep its slot forever.
limit "\"api_key\":\"$C_KEY\"" '{"max_concurrent":1}'
curl -s -m 30 -o /dev/null -H "Authorization: Bearer $C_KEY" -H 'Content-Type: application/json' \
	--data-binary "$(body ' [mock:latency=8000]')" "$URL/v1/chat/completions" &
slow=$!
owned_pids+=("$slow")
sleep 1
req GET /user/limit "$C_KEY"
check "a slow request is counted in flight" json_is '.key_usage.max_concurrent == 1'
for w in $(children "$tg_pid"); do kill -9 "$w" 2>/dev/null || true; done
wait "$slow" 2>/dev/null || true
wait_for "workers respawned" 15 sh -c "[ \$(children $tg_pid | wc -l) -ge 4 ]" || true
wait_for "health" 15 health_ok || true
chat "$C_KEY" "$(body '')"
check "after kill -9 of its worker, the dead request's slot is given back" status_is 200

# --- a user's limit binds all its keys; a key's may not exceed it -----------------------------
user two 5.00
T_KEY=$U_KEY T_ID=$U_ID
cp_new_key "$T_KEY" '{"name":"second"}' || bail "second key"
T_KEY2=$NEW_KEY
limit "\"user_id\":\"$T_ID\"" '{"requests_per_minute":5}'
expect_status "user limited to 5 per minute" 200
limit "\"api_key\":\"$T_KEY2\"" '{"requests_per_minute":10}'
expect_err "a key limit above its user's" 400 key_limit_above_user
n200=0
for i in 1 2 3 4 5 6 7 8; do
	if [ $((i % 2)) = 0 ]; then k=$T_KEY; else k=$T_KEY2; fi
	chat "$k" "$(body '')"
	[ "$code" = 200 ] && n200=$((n200 + 1))
done
check "two keys of one user share its 5 per minute ($n200 of 8)" test "$n200" -eq 5
check "  the refusal names the user" json_is '.error.message | test("user")'

# --- a key's limits for one model -------------------------------------------------------------
user mdl 5.00
M_KEY=$U_KEY M_ID=$U_ID
limit "\"api_key\":\"$M_KEY\",\"model\":\"test/cheap\"" '{"requests_per_minute":2}'
expect_status "key limited to 2 per minute on test/cheap only" 200
limit "\"user_id\":\"$M_ID\",\"model\":\"test/cheap\"" '{"requests_per_minute":2}'
expect_err "a model limit without a key" 400 invalid_value
n200=0
for i in 1 2 3; do
	chat "$M_KEY" "$(body '')"
	[ "$code" = 200 ] && n200=$((n200 + 1))
done
check "test/cheap: 2 of 3 admitted" test "$n200" -eq 2
check "  the refusal names the key's limit for this model" json_is '.error.message | test("for this model")'
chat "$M_KEY" '{"model":"test/dear","messages":[{"role":"user","content":"hello there"}]}'
check "  another model is not held by it" status_is 200
req GET /user/limit "$M_KEY"
check "GET /user/limit lists the per-model rule" json_is \
	'.keys | any(.model == "test/cheap" and .rate_limits.requests_per_minute == 2)'

# --- config defaults for a user group -----------------------------------------------------------
user grp 5.00
G_KEY=$U_KEY G_ID=$U_ID
req PUT "/admin/users/$G_ID" "$AK" '{"group":"slow"}'
expect_status "user moved to group slow" 200
n200=0
for i in 1 2 3; do
	chat "$G_KEY" "$(body '')"
	[ "$code" = 200 ] && n200=$((n200 + 1))
done
check "group slow (config: 2 per minute): 2 of 3 admitted" test "$n200" -eq 2
req GET /user/limit "$G_KEY"
check "GET /user/limit shows the group's default in force" json_is '.effective.requests_per_minute == 2'

finish
