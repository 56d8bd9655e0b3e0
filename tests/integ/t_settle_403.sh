#!/usr/bin/env bash
# t_settle_403.sh: a provider's 403 disables a shared upstream key only when the provider
# says the key itself is invalid or revoked (doc/api-data-plane.md); OpenRouter's moderation
# 403 and a region 403 fail that request only: 403 in the OpenAI error shape, nothing
# charged, no other key of the pool tried, every key still enabled and serving.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
cp_scratch_db p403
start_bg mock "$MOCK_BIN" -p 0 -k "$MOCK_KEY" -x sk-mock-second0002= \
	-x sk-mock-revoked0003=status=403_revoked -l "$T/mock.jsonl"
wait_for "the mock prints its port" 10 mock_has_port mock || bail "mock starts"
MOCK_PORT=$(mock_port mock)
MOCK_URL=http://127.0.0.1:$MOCK_PORT/v1
tg_cli provider add orp openrouter "$MOCK_URL" "OpenRouter-like" >/dev/null || bail "provider orp"
echo "$MOCK_KEY" | tg_cli provider key-add orp one >/dev/null || bail "key one"
echo sk-mock-second0002 | tg_cli provider key-add orp two >/dev/null || bail "key two"
tg_cli model add test/or orp m-or 1.00 2.00 >/dev/null || bail "model test/or"
# A provider whose only key's account is deactivated: that 403 does disable it.
tg_cli provider add dead openai "$MOCK_URL" "Deactivated" >/dev/null || bail "provider dead"
echo sk-mock-revoked0003 | tg_cli provider key-add dead gone >/dev/null || bail "key gone"
tg_cli model add test/dead dead m-dead 1.00 2.00 >/dev/null || bail "model test/dead"
stack_up "db.name=$SCRATCH" server.workers=1 server.threads=4
cp_admin p403 1
AK=$ADMIN_KEY

enabled_keys() { q "SELECT COUNT(*) FROM upstream_keys WHERE provider_id = 'orp' AND enabled = 1"; }
cp_register u403 || bail "register ($code)"
UKEY=$REG_KEY UPUB=$REG_ID
UID_=$(q "SELECT id FROM users WHERE public_id = '$UPUB'")
F=1000000000
req POST /admin/add_credits "$AK" "{\"user_id\":\"$UPUB\",\"amount_usd\":\"$(usd_of $F)\"}"

for what in 403_moderation 403; do
	n0=$(n_mock)
	chat "$UKEY" "{\"model\":\"test/or\",\"messages\":[{\"role\":\"user\",\"content\":\"hey [mock:status=$what]\"}]}"
	expect_status "$what: the client gets 403" 403
	check "$what: in the OpenAI error shape, permission_error" \
		sh -c 'error_shape() { jq -e ".error | has(\"message\") and has(\"type\") and has(\"param\") and has(\"code\")" "$1" >/dev/null; }; error_shape "$1" && jq -e ".error.type == \"permission_error\"" "$1" >/dev/null' _ "$T/body"
	check "$what: one upstream request, no other key of the pool tried ($(( $(n_mock) - n0 )))" \
		test $(($(n_mock) - n0)) = 1
	check "$what: both upstream keys still enabled" test "$(enabled_keys)" = 2
	check "$what: nothing charged, nothing reserved" test "$(acct_row "$UID_")" = "$F 0"
done
check "the usage records say charge 0, http 403" \
	test "$(q "SELECT COUNT(*), SUM(charge), MIN(http_status), MAX(http_status) FROM usage_records WHERE user_id = $UID_" | tr '\t' ' ')" = "2 0 403 403"
chat "$UKEY" '{"model":"test/or","messages":[{"role":"user","content":"hello"}]}'
expect_status "the pool still serves" 200
chat "$UKEY" '{"model":"test/dead","messages":[{"role":"user","content":"hello"}]}'
# The pool has no other key: as after a 401, no key is left for the model.
expect_err "a 403 saying the key's account is deactivated: the pool is empty" 503 provider_unavailable
check "...and that key is disabled" \
	test "$(q "SELECT enabled FROM upstream_keys WHERE provider_id = 'dead'")" = 0
check "ledger reconciles" ledger_check "$UPUB"
finish
