#!/usr/bin/env bash
# t_or_provision.sh: seed 003's per-user OpenRouter keys (doc/openrouter.md).  With
# [openrouter] provisioning_key_file set, a user's OpenRouter traffic (pass-through and
# metered) goes with a key of their own, created on first use through OpenRouter's
# provisioning API (POST /keys {name, limit}) with the limit at the user's spendable balance,
# stored sealed; one key even when first requests race; the limit follows the balance after
# charges and top-ups (batched by the housekeeping job, not per request: one sync of a key per
# SYNC_EVERY across all workers, however many run it); the key is deleted at OpenRouter once
# the account is.  The mock refuses the provisioning API to any other key.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C
PKEY=sk-or-prov-mock-0123456789abcdef # the mock's (MOCK_OR_PROVISIONING_KEY)
chat_backend orprov
OR_URL=http://127.0.0.1:$MOCK_PORT/api/v1
tg_cli provider add ormock openrouter "$OR_URL" "OpenRouter (mock)" >/dev/null || bail "provider ormock"
echo "$MOCK_KEY" | tg_cli provider key-add ormock pool >/dev/null || bail "pool key"
echo "$PKEY" >"$T/or-prov.key"
chmod 600 "$T/or-prov.key"
# Four workers: each runs the housekeeping jobs, and the sync must still be one per key.
stack_up "db.name=$SCRATCH" openrouter.provider=ormock openrouter.passthrough_unknown=on \
	"openrouter.provisioning_key_file=$T/or-prov.key" server.workers=4
cp_admin orprov 1
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY
UNKNOWN=vendorx/some-model

# mock_keys: the mock's provisioned keys in $T/orkeys.json.
mock_keys() { curl -s -m 5 "http://127.0.0.1:$MOCK_PORT/_mock/or/keys" >"$T/orkeys.json"; }
# key_of UID: the mock's record of the key named for users.id UID (live or deleted), JSON.
key_of() { mock_keys; jq -c "[.data[] | select(.name == \"tollgate user $1\")]" "$T/orkeys.json"; }
# limit_is UID NANO: the user's live key's limit at the mock is NANO nano-USD.
limit_is() {
	local l
	l=$(key_of "$1" | jq -r '[.[] | select(.deleted | not)][0].limit')
	[ "$(usd_nano "$l")" = "$2" ]
}
rows() { q "SELECT COUNT(*) FROM or_user_keys WHERE user_id = $1"; }

http POST "$OR_URL/keys" -H "Authorization: Bearer $MOCK_KEY" -H 'Content-Type: application/json' \
	--data-binary '{"name":"x","limit":1}'
check "the mock's provisioning API refuses a key that is not a provisioning key ($code)" status_is 401

new_user orpu $((5 * ONE))
check "no key before the first OpenRouter request" test "$(rows "$UID_")" = 0
req GET /api/v1/openrouter/key "$UKEY"
expect_status "first use: GET /key through the pass-through: 200" 200
check "...answered for a provisioned key" json_is '.data.label == "sk-or-v1-...provisioned"'
check "...one key created at OpenRouter, limit \$5 (the balance)" \
	sh -c '[ "$(echo "$1" | jq length)" = 1 ]' _ "$(key_of "$UID_")"
check "...its limit is the balance" limit_is "$UID_" $((5 * ONE))
L4=$(key_of "$UID_" | jq -r '.[0].last4')
check "...stored for the user: one row, its last 4 ($L4)" \
	test "$(q "SELECT COUNT(*), MAX(last4) FROM or_user_keys WHERE user_id = $UID_" | tr '\t' ' ')" = "1 $L4"
check "...sealed: the secret is not in the clear" \
	test "$(q "SELECT LOCATE('sk-or-v1', secret_enc) FROM or_user_keys WHERE user_id = $UID_")" = 0
mock_requests >/dev/null
check "...the upstream call went with the user's key, not the pool's" \
	jq_file "$T/mockreq.json" "[.[] | select(.path == \"/api/v1/key\")][-1].key_label == \"$L4\""
req GET /api/v1/openrouter/models "$UKEY"
expect_status "second use: 200" 200
check "...no second key" sh -c '[ "$(echo "$1" | jq length)" = 1 ]' _ "$(key_of "$UID_")"

# Metered chat goes with the user's key too, and its limit then follows the balance.
mock_clear
for i in 1 2 3 4; do
	req POST /api/v1/openrouter/chat/completions "$UKEY" \
		"{\"model\":\"$UNKNOWN\",$(msgs "chat $i [mock:flavor=openrouter]")}"
	check "metered chat $i: 200" status_is 200
done
mock_requests >/dev/null
check "...every chat went upstream with the user's key" \
	jq_file "$T/mockreq.json" "[.[] | select(.path == \"/api/v1/chat/completions\") | .key_label] == [\"$L4\",\"$L4\",\"$L4\",\"$L4\"]"
BAL=$(acct_row "$UID_" | cut -d' ' -f1)
check "...charged (balance $BAL below \$5)" test "$BAL" -lt $((5 * ONE))
wait_for "the key's limit follows the balance ($BAL)" 20 limit_is "$UID_" "$BAL"
check "...the limit at OpenRouter is the balance after the charges" limit_is "$UID_" "$BAL"
fund "$UPUB" "2.00"
wait_for "after a top-up of \$2 the limit follows" 20 limit_is "$UID_" $((BAL + 2 * ONE))
check "...and says the new balance" limit_is "$UID_" $((BAL + 2 * ONE))
check "...the record of the synced balance" \
	test "$(q "SELECT synced_nano FROM or_user_keys WHERE user_id = $UID_")" = $((BAL + 2 * ONE))

# A stream of charges over a few seconds: the limit is synced at most once per 1.5 s
# (or_provision.c SYNC_EVERY_MS) whichever of the four workers' housekeeping gets there,
# so at most floor(D / 1.5 s) + 1 updates in D, from the first chat to the limit caught up.
npatch() { key_of "$UID_" | jq '.[0].limits | length'; }
# Workers forked together run their jobs in step; in service they are replaced one by one
# (max_requests, crashes, reloads) and out of step.  Replace three of them, 0.4 s apart.
for i in 1 2 3; do
	w=$(children "$tg_pid" | head -1)
	kill -TERM "$w"
	wait_for "worker $w replaced" 10 sh -c '! kill -0 "$1" 2>/dev/null && [ "$(pgrep -P "$2" | wc -l)" = 4 ]' _ "$w" "$tg_pid"
	sleep 0.4
done
P0=$(npatch) T0=$(now_ms)
for i in $(seq 1 12); do
	req POST /api/v1/openrouter/chat/completions "$UKEY" \
		"{\"model\":\"$UNKNOWN\",$(msgs "burst $i [mock:flavor=openrouter]")}"
	[ "$code" = 200 ] || break
	sleep 0.25
done
check "a burst of 12 chats: 200" status_is 200
BAL2=$(acct_row "$UID_" | cut -d' ' -f1)
wait_for "the key's limit follows the burst ($BAL2)" 20 limit_is "$UID_" "$BAL2"
D=$(($(now_ms) - T0)) NP=$(($(npatch) - P0))
check "...in few updates: $NP in ${D} ms (at most $((D / 1500 + 1)))" test "$NP" -le $((D / 1500 + 1))
check "...and at least one" test "$NP" -ge 1

# Five first requests at once: one key is kept; any other made in the race is deleted.
new_user orpu2 "$ONE"
U2=$UID_ K2=$UKEY
pids=()
for i in 1 2 3 4 5; do
	curl -s -m 30 -o /dev/null -H "Authorization: Bearer $K2" \
		"$URL/api/v1/openrouter/models" &
	pids+=($!)
	owned_pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
check "racing first requests: one row" test "$(rows "$U2")" = 1
check "...one live key at OpenRouter" \
	sh -c '[ "$(echo "$1" | jq "[.[] | select(.deleted | not)] | length")" = 1 ]' _ "$(key_of "$U2")"
check "...the stored key is the live one" \
	test "$(q "SELECT last4 FROM or_user_keys WHERE user_id = $U2")" = \
	"$(key_of "$U2" | jq -r '[.[] | select(.deleted | not)][0].last4')"

# Deleted with the account.
req DELETE /user/account "$K2" "{\"password\":\"$CP_PW\"}"
expect_status "the account is deleted" 204
key_gone() { key_of "$U2" | jq -e 'all(.deleted)' >/dev/null && [ "$(rows "$U2")" = 0 ]; }
wait_for "its OpenRouter key is deleted" 20 key_gone
check "...at OpenRouter and here" key_gone
check "the other user's key stays" limit_is "$(uid_of "$(jq -r .user.id "$T/reg-orpu.json")")" "$BAL2"

# Provisioning off: the pool key serves again (same database, same users).
cp_restart "db.name=$SCRATCH" openrouter.provider=ormock
new_user orpu3 "$ONE"
req GET /api/v1/openrouter/key "$UKEY"
expect_status "provisioning off: 200" 200
check "...with the pool's key" json_is '.data.label == "sk-or-v1-..."'
check "...no key made for the user" test "$(rows "$UID_")" = 0
check "ledger reconciles" ledger_check "$(jq -r .user.id "$T/reg-orpu.json")"
finish
