#!/usr/bin/env bash
# t_metrics.sh: GET /metrics (issue 19, observability): after known traffic the node's counters
# are exact (requests by route, status and model; upstream outcomes; tokens and nano-USD equal
# to the usage records' sums; histogram counts), refusals and rate limits are counted once, a
# scrape sends no statement to the database, the exposition parses (HELP/TYPE, escaping,
# cumulative buckets), and only an admin or an address in [metrics] allow may read it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

make_tmp
need_cmd python3
# Not our address: the credential decides until the restart below lists 127.0.0.1.
chat_stack metrics "metrics.allow=192.0.2.0/24, 2001:db8::/32"
export LC_ALL=C

cp_admin adm 100
AK_ADMIN=$ADMIN_KEY
user mx 1.00
UKEY=$U_KEY UPUB=$U_ID

scrape() { http GET "$URL/metrics" ${1:+-H "Authorization: Bearer $1"}; cp "$T/body" "$T/metrics.txt"; }
# m SAMPLE: the value of the sample line SAMPLE (name{labels} exactly), 0 when absent.
m() { awk -v s="$1" 'substr($0, 1, length(s) + 1) == s " " { v = $NF } END { print v + 0 }' "$T/metrics.txt"; }
# msum PREFIX: the sum of the samples whose line starts with PREFIX.
msum() { awk -v s="$1" 'index($0, s) == 1 { t += $NF } END { printf "%d\n", t }' "$T/metrics.txt"; }

# --- who may read it -----------------------------------------------------------------------
http GET "$URL/metrics"
check "anonymous, address not listed -> 401" status_is 401
check "...in the OpenAI error shape" error_shape
scrape "$UKEY"
check "a user's key (not admin) -> 403" status_is 403
check "...in the OpenAI error shape" error_shape
scrape "$AK_ADMIN"
check "an admin key -> 200" status_is 200
check "Content-Type is the text format 0.0.4" test "$(hdr content-type)" = "text/plain; version=0.0.4; charset=utf-8"
check "tollgate_up 1" test "$(m tollgate_up)" = 1
check "tollgate_build_info names the version" grep -q '^tollgate_build_info{version="[^"]*"} 1$' "$T/metrics.txt"

# --- known traffic ---------------------------------------------------------------------------
route='/v1/chat/completions'
base_ok=$(m "tollgate_requests_total{route=\"$route\",status=\"200\",model=\"test/cheap\"}")
for i in 1 2 3; do
	chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
	[ "$code" = 200 ] || bail "chat $i answered $code"
done
chat_sse "$UKEY" "{\"model\":\"test/cheap\",\"stream\":true,$MSGS}"
check "a streamed chat answered 200" status_is 200
chat "$UKEY" '{"model":"test/cheap","messages":[{"role":"user","content":"hi [mock:status=500]"}]}'
FAIL_CODE=$code
check "a provider 500 -> 5xx ($FAIL_CODE)" test "$FAIL_CODE" -ge 500
cp_register poor || bail "a user without credit"
chat "$REG_KEY" "{\"model\":\"test/dear\",\"max_tokens\":1000,$MSGS}"
check "no credit -> 402" status_is 402
chat "gw_live_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "{\"model\":\"test/cheap\",$MSGS}"
check "an unknown key -> 401" status_is 401
req POST /admin/limit "$AK_ADMIN" "{\"user_id\":\"$UPUB\",\"rate_limits\":{\"requests_per_minute\":1}}"
check "limit the user to 1 request a minute" status_is 200
# The first may still pass (this minute's count), the second is over the limit.
chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
LIM1=$code
chat "$UKEY" "{\"model\":\"test/cheap\",$MSGS}"
check "over the limit -> 429 (the first under it: $LIM1)" status_is 429
N429=$((1 + (LIM1 == 429))) N_OK=$((4 + (LIM1 == 200)))

# The usage records are written out by the journal: wait until every settled one is there.
settled() { [ "$(q "SELECT COUNT(*) FROM usage_records r JOIN users u ON u.id = r.user_id
	WHERE u.public_id = '$UPUB' AND r.status <> 'refused'")" -ge $((N_OK + 1)) ]; }
check "the user's usage records are written" wait_for "usage records" 15 settled
sleep 0.3 # one tick: every worker has published its figures
scrape "$AK_ADMIN"
cp "$T/metrics.txt" "$T/after-traffic.txt"
ok200=$(($(m "tollgate_requests_total{route=\"$route\",status=\"200\",model=\"test/cheap\"}") - base_ok))
# 3 + 1 streamed + the first under the limit (when it was not already over the minute).
check "requests_total{route,200,test/cheap}: $N_OK" test "$ok200" = "$N_OK"
check "requests_total{route,$FAIL_CODE,test/cheap}: 1" \
	test "$(m "tollgate_requests_total{route=\"$route\",status=\"$FAIL_CODE\",model=\"test/cheap\"}")" = 1
check "requests_total{route,402,test/dear}: 1" \
	test "$(m "tollgate_requests_total{route=\"$route\",status=\"402\",model=\"test/dear\"}")" = 1
check "requests_total{route,429,test/cheap}: $N429" \
	test "$(m "tollgate_requests_total{route=\"$route\",status=\"429\",model=\"test/cheap\"}")" = "$N429"
check "requests_total{route,401,\"\"}: 1 (no model before credentials)" \
	test "$(m "tollgate_requests_total{route=\"$route\",status=\"401\",model=\"\"}")" = 1
check "requests_total on the chat route: 9 in all" test "$(msum "tollgate_requests_total{route=\"$route\"")" = 9
check "the scrapes themselves: /metrics 200 x1 (admin), 401, 403" sh -c \
	"grep -q '^tollgate_requests_total{route=\"/metrics\",status=\"200\",model=\"\"} 1$' '$T/metrics.txt' &&
	 grep -q '^tollgate_requests_total{route=\"/metrics\",status=\"401\",model=\"\"} 1$' '$T/metrics.txt' &&
	 grep -q '^tollgate_requests_total{route=\"/metrics\",status=\"403\",model=\"\"} 1$' '$T/metrics.txt'"

# Upstream: the mock's answers (3 + stream + the one under the limit), the 500s errors.
attempts_err=$(q "SELECT COALESCE(SUM(attempts), 0) FROM usage_records r JOIN users u ON u.id = r.user_id
	WHERE u.public_id = '$UPUB' AND r.status = 'error'")
check "upstream ok from the mock: $N_OK" test "$(m 'tollgate_upstream_requests_total{provider="mock",outcome="ok"}')" = "$N_OK"
check "upstream errors: the failed record's attempts ($attempts_err)" \
	test "$(m 'tollgate_upstream_requests_total{provider="mock",outcome="error"}')" = "$attempts_err"
check "no timeouts, no client gone" test "$(m 'tollgate_upstream_requests_total{provider="mock",outcome="timeout"}')$(m 'tollgate_upstream_requests_total{provider="mock",outcome="client_gone"}')" = 00
n_up=$(msum 'tollgate_upstream_requests_total{provider="mock"')
check "upstream latency count = attempts ($n_up)" test "$(m 'tollgate_upstream_latency_seconds_count{provider="mock"}')" = "$n_up"
check "...and its +Inf bucket" test "$(m 'tollgate_upstream_latency_seconds_bucket{provider="mock",le="+Inf"}')" = "$n_up"

# Money: equal to the usage records' sums, to the nano-USD.
sums=$(q "SELECT SUM(prompt_tokens), SUM(completion_tokens), SUM(cached_tokens), SUM(reasoning_tokens), SUM(charge),
	SUM(ttft_ms IS NOT NULL) FROM usage_records r JOIN users u ON u.id = r.user_id WHERE u.public_id = '$UPUB'")
read -r s_p s_c s_ca s_r s_ch s_tt <<<"$sums"
note "usage sums: prompt $s_p completion $s_c cached $s_ca reasoning $s_r charge $s_ch ttft rows $s_tt"
check "tokens prompt = SUM(prompt_tokens) ($s_p)" test "$(m 'tollgate_tokens_total{kind="prompt"}')" = "$s_p"
check "tokens completion = SUM(completion_tokens) ($s_c)" test "$(m 'tollgate_tokens_total{kind="completion"}')" = "$s_c"
check "tokens cached = SUM(cached_tokens) ($s_ca)" test "$(m 'tollgate_tokens_total{kind="cached"}')" = "$s_ca"
check "tokens reasoning = SUM(reasoning_tokens) ($s_r)" test "$(m 'tollgate_tokens_total{kind="reasoning"}')" = "$s_r"
check "charged nano-USD = SUM(charge) ($s_ch > 0)" sh -c \
	"[ '$(m tollgate_charged_nano_usd_total)' = '$s_ch' ] && [ '$s_ch' -gt 0 ]"
check "ttft count = records with a time to first token ($s_tt)" test "$(m tollgate_ttft_seconds_count)" = "$s_tt"
check "...and the +Inf bucket" test "$(m 'tollgate_ttft_seconds_bucket{le="+Inf"}')" = "$s_tt"

# Refusals: inflight.c's counters, counted once.
check "refused 401: the unknown key and the anonymous scrape (2)" test "$(m 'tollgate_refused_total{status="401"}')" = 2
check "refused 402: 1" test "$(m 'tollgate_refused_total{status="402"}')" = 1
check "refused 429: $N429" test "$(m 'tollgate_refused_total{status="429"}')" = "$N429"
check "rate limited by tollgate: $N429" test "$(m tollgate_rate_limited_total)" = "$N429"
check "workers 2, slots 4 (2 x 2 threads), restarts 0" test \
	"$(m tollgate_workers) $(m tollgate_slots) $(m tollgate_worker_restarts_total)" = "2 4 0"
check "slots busy: the scrape itself (1)" test "$(m tollgate_slots_busy)" = 1
check "db pool size: 2 workers x (2 threads + 2)" test "$(m tollgate_db_pool_size)" = 8
check "statements on the request path counted" test "$(m 'tollgate_db_statements_total{path="request"}')" -gt 0
check "the mock's circuit is closed" test "$(m 'tollgate_provider_circuit_open{provider="mock"}')" = 0

# --- the format: every family typed, samples well formed, buckets cumulative ----------------
fmt_ok() {
	python3 - "$1" <<'EOF'
import re, sys
typed, helped, fams = {}, set(), {}
sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\[\\"n])*)"(,|$)')
for ln in open(sys.argv[1], encoding='utf-8'):
    ln = ln.rstrip('\n')
    if ln.startswith('# HELP '):
        helped.add(ln.split(' ')[2]); continue
    if ln.startswith('# TYPE '):
        _, _, n, t = ln.split(' ')
        assert t in ('counter', 'gauge', 'histogram'), ln
        assert n not in typed, 'two TYPE lines: ' + n
        typed[n] = t; continue
    mt = sample.match(ln); assert mt, 'bad line: ' + ln
    name, labels, val = mt.group(1), mt.group(3) or '', mt.group(4)
    float(val)
    pos, lab = 0, {}
    while pos < len(labels):
        ml = label.match(labels, pos); assert ml, 'bad labels: ' + ln
        lab[ml.group(1)] = ml.group(2); pos = ml.end()
    base = re.sub(r'_(bucket|sum|count)$', '', name)
    fam = name if name in typed else base
    assert fam in typed and fam in helped, 'untyped: ' + name
    if typed[fam] == 'counter': assert name.endswith('_total'), name
    if name.endswith('_bucket'):
        key = tuple(sorted((k, v) for k, v in lab.items() if k != 'le'))
        fams.setdefault((fam, key), []).append((lab['le'], float(val)))
    if typed[fam] == 'histogram' and name.endswith('_count'):
        key = tuple(sorted(lab.items()))
        fams.setdefault((fam, key, 'count'), []).append(float(val))
for k, b in fams.items():
    if len(k) == 3: continue
    vals = [v for _, v in b]
    assert vals == sorted(vals), 'not cumulative: %r' % (k,)
    assert b[-1][0] == '+Inf', 'no +Inf: %r' % (k,)
    assert fams[(k[0], k[1], 'count')] == [vals[-1]], 'count != +Inf: %r' % (k,)
EOF
}
check "the exposition parses (HELP, TYPE, labels, cumulative buckets, count = +Inf)" fmt_ok "$T/metrics.txt"
for name in tollgate_requests_total tollgate_upstream_requests_total tollgate_upstream_latency_seconds \
	tollgate_ttft_seconds tollgate_tokens_total tollgate_charged_nano_usd_total tollgate_holds_open \
	tollgate_holds_past_ttl tollgate_leases_open tollgate_journal_backlog_bytes tollgate_db_pool_in_use \
	tollgate_db_pool_size tollgate_db_statements_total tollgate_rate_limited_total tollgate_refused_total \
	tollgate_cache_hits_total tollgate_cache_misses_total tollgate_hold_batches_total tollgate_holds_batched_total \
	tollgate_worker_restarts_total tollgate_workers \
	tollgate_slots_busy tollgate_slots tollgate_provider_circuit_open tollgate_up tollgate_build_info; do
	grep -q "^# TYPE $name " "$T/metrics.txt" || not_ok "metric $name is exposed"
done
ok "every metric of the contract has its TYPE line"

# --- the housekeeper's gauges: a hold open while a slow chat runs, none after -----------------
req POST /admin/limit "$AK_ADMIN" "{\"user_id\":\"$UPUB\",\"rate_limits\":{}}"
curl -s -m 60 -o /dev/null -H "Authorization: Bearer $UKEY" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/cheap","messages":[{"role":"user","content":"slow [mock:latency=5000]"}]}' \
	"$URL/v1/chat/completions" &
slow_pid=$!
owned_pids+=($slow_pid)
gauge_is() { scrape "$AK_ADMIN"; [ "$(m "$1")" "$2" "$3" ]; }
check "tollgate_holds_open: 1 while the slow chat holds credit" \
	wait_for "an open hold" 5 gauge_is tollgate_holds_open -eq 1
check "...as the database has it" test "$(q "SELECT COUNT(*) FROM holds WHERE state = 'open'")" = 1
check "...and no hold past its TTL" test "$(m tollgate_holds_past_ttl)" = 0
check "...one slot busy besides the scrape (2)" test "$(m tollgate_slots_busy)" = 2
wait "$slow_pid" || true
check "tollgate_holds_open back to 0 once settled" wait_for "no open hold" 10 gauge_is tollgate_holds_open -eq 0
check "journal backlog 0 once written out" wait_for "no backlog" 5 gauge_is tollgate_journal_backlog_bytes -eq 0
check "no leases (off in this config)" test "$(m tollgate_leases_open)" = 0

# --- the allow list, and no statement per scrape ---------------------------------------------
cp_restart "db.name=$SCRATCH" "metrics.allow=10.0.0.0/8, 127.0.0.0/8, ::1"
http GET "$URL/metrics"
cp "$T/body" "$T/metrics.txt"
check "anonymous from 127.0.0.1, listed as 127.0.0.0/8 -> 200" status_is 200
check "the counters outlived the restart (they live in run_dir)" test \
	"$(m "tollgate_requests_total{route=\"$route\",status=\"402\",model=\"test/dear\"}")" = 1
check "...and the restart was not a crash" test "$(m tollgate_worker_restarts_total)" = 0
stmts() { curl -s -m 5 "$URL/_debug/stats" | jq -r '"\(.pid) \(.statements - .statements_background)"'; }
declare -A before=()
for i in $(seq 12); do s=$(stmts); before[${s%% *}]=${s##* }; done
sleep 0.3
http GET "$URL/metrics"
cp "$T/body" "$T/metrics.txt"
req_before=$(m 'tollgate_db_statements_total{path="request"}')
for i in $(seq 20); do http GET "$URL/metrics"; [ "$code" = 200 ] || bail "scrape $i: $code"; done
cp "$T/body" "$T/metrics.txt"
check "20 scrapes: request-path statements unchanged ($req_before)" \
	test "$(m 'tollgate_db_statements_total{path="request"}')" = "$req_before"
same=1
for i in $(seq 12); do
	s=$(stmts)
	[ -z "${before[${s%% *}]+set}" ] || [ "${before[${s%% *}]}" = "${s##* }" ] || same=0
done
check "...and per process by /_debug/stats" test "$same" = 1
check "a listed scrape counts no refusal" test "$(m 'tollgate_refused_total{status="401"}')" = 2
finish
