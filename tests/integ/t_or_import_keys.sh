#!/usr/bin/env bash
# t_or_import_keys.sh: seed 004's OPENROUTER_API_KEYS brought over with `tollgate provider
# import-keys` (doc/openrouter.md): keys from stdin (one a line) or the environment
# (comma-separated), deduplicated against each other and the pool, sealed like key-add, each
# given [upstream] default_key_limits; the output says how many, never a key.  Then the pool
# observes those limits: no key used twice within min_interval_ms, none over its rpd.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
K1=sk-or-v1-import0000000000000000000000000000000000000000000000000000aa01
K2=sk-or-v1-import0000000000000000000000000000000000000000000000000000bb02
K3=sk-or-v1-import0000000000000000000000000000000000000000000000000000cc03
cp_scratch_db orimp
start_bg mock "$MOCK_BIN" -p 0 -k "$MOCK_KEY" -x "$K1=" -x "$K2=" -x "$K3=" -l "$T/mock.jsonl"
wait_for "the mock prints its port" 10 mock_has_port mock || bail "mock starts"
MOCK_PORT=$(mock_port mock)
tg_cli provider add ormock openrouter "http://127.0.0.1:$MOCK_PORT/api/v1" "OpenRouter (mock)" \
	>/dev/null || bail "provider ormock"
tg_cli model add test/orimp ormock m-or 1.00 2.00 >/dev/null || bail "model test/orimp"
INTERVAL=1500
stack_up "db.name=$SCRATCH" "upstream.default_key_limits=rpd=2, min_interval_ms=$INTERVAL" \
	server.workers=1 server.threads=4

ukeys() { q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'ormock'"; }
rc=0
printf '%s\n  %s  \n%s\n\n# a comment\n' "$K1" "$K2" "$K1" |
	tg_cli provider import-keys ormock >"$T/imp1.out" 2>&1 || rc=$?
check "stdin: exit 0 ($rc)" test "$rc" = 0
check "stdin: 2 added, 1 skipped ($(cat "$T/imp1.out"))" grep -q '^2 added, 1 skipped' "$T/imp1.out"
check "stdin: two keys in the pool" test "$(ukeys)" = 2
rc=0
OPENROUTER_API_KEYS="$K2, $K3" tg_cli provider import-keys ormock </dev/null >"$T/imp2.out" 2>&1 || rc=$?
check "env: exit 0 ($rc)" test "$rc" = 0
check "env: 1 added, 1 skipped (already in the pool) ($(cat "$T/imp2.out"))" \
	grep -q '^1 added, 1 skipped' "$T/imp2.out"
check "three keys in the pool" test "$(ukeys)" = 3
check "the output never shows a key" sh -c '! grep -q "sk-or" "$1" "$2"' _ "$T/imp1.out" "$T/imp2.out"
check "each key got the default limits (rpm none, rpd 2, min_interval_ms $INTERVAL)" \
	test "$(q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'ormock' AND rpm_limit IS NULL
		AND rpd_limit = 2 AND min_interval_ms = $INTERVAL AND enabled = 1")" = 3
check "sealed: no secret stored in the clear" \
	test "$(q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'ormock'
		AND (secret_enc IS NULL OR LOCATE('sk-or-v1', secret_enc) > 0)")" = 0
check "audited as upstream_key.add" \
	test "$(q "SELECT COUNT(*) FROM audit_log WHERE action = 'upstream_key.add'")" -ge 3
tg_cli provider import-keys ormock </dev/null >"$T/imp3.out" 2>&1
check "nothing to import: 0 added, 0 skipped" grep -q '^0 added, 0 skipped' "$T/imp3.out"
rc=0
printf '%s\n' "$K1" | tg_cli provider import-keys nosuch >"$T/imp4.out" 2>&1 || rc=$?
check "an unknown provider: exit 1 ($rc: $(cat "$T/imp4.out"))" test "$rc" = 1

cp_admin orimp 1
AK=$ADMIN_KEY
new_user orimpu "$ONE"
# Six requests one after the other: three keys of rpd 2 serve six, each key twice, never
# twice within min_interval_ms (the later ones wait for a key's spacing).
mock_clear
for i in 1 2 3 4 5 6; do
	chat "$UKEY" "{\"model\":\"test/orimp\",$MSGS}"
	check "request $i served (within the keys' limits)" status_is 200
done
mock_requests >/dev/null
jq '[.[] | select(.path == "/api/v1/chat/completions")]' "$T/mockreq.json" >"$T/chats.json"
check "six upstream calls, two per key" jq_file "$T/chats.json" \
	'length == 6 and ([group_by(.key_label)[] | length] == [2, 2, 2])'
GAP=$(jq '[group_by(.key_label)[] | sort_by(.t_ms) | .[1].t_ms - .[0].t_ms] | min' "$T/chats.json")
# The spacing is kept on tollgate's clock; the mock sees arrivals, so allow a little jitter
# (without spacing the gap is a few milliseconds): half the interval is the bound.
check "no key used twice within ${INTERVAL} ms (smallest gap $GAP ms)" test "$GAP" -ge $((INTERVAL / 2))
chat "$UKEY" "{\"model\":\"test/orimp\",$MSGS}"
expect_err "a seventh: every key at its rpd of 2: 429" 429 upstream_rate_limited
check "...no upstream call for it" test "$(jq length <<<"$(curl -s -m 5 "http://127.0.0.1:$MOCK_PORT/_mock/requests")")" = 6
check "ledger reconciles" ledger_check "$UPUB"
finish
