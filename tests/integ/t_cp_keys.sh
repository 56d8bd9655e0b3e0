#!/usr/bin/env bash
# t_cp_keys.sh: API keys over HTTP (doc/api-control-plane.md): create/list/update/delete/
# rotate, usage arithmetic, ownership (404 like a missing id), read-only keys, expiry,
# disabled keys, IP and referrer allowlists, request caps, the 50-key limit; a key in use
# is refused by every worker at once after DELETE (the workers' row copies are dropped).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq
# Copies of key rows live long here: a change that failed to drop them would show for
# minutes, not for the default 5 s that a slow machine may spend between two requests.
stack_up cache.ttl=300

cp_register ka || bail "register user A ($code: $(head -c 200 "$T/body"))"
A_KEY=$REG_KEY A_ID=$REG_ID A_KID=$REG_KEY_ID
cp_register kb || bail "register user B ($code)"
B_KEY=$REG_KEY B_ID=$REG_ID B_KID=$REG_KEY_ID

key_fields='["id","name","api_key","prefix","last4","environment","permissions","is_active",
	"is_primary","expires_at","max_requests","requests_used","credit_limit","spent",
	"ip_allowlist","referrer_allowlist","allowed_models","created_at","last_used_at"]'

# --- create -------------------------------------------------------------------------------
req POST /user/api-keys "$A_KEY" '{"name":"ci key","environment":"test","permissions":["read","write"],
	"expires_at":null,"max_requests":10,"credit_limit":"5.00","ip_allowlist":[],
	"referrer_allowlist":[],"allowed_models":["gpt-4o-mini"]}'
expect_status "create key" 201
check "create: Cache-Control no-store" no_store
K1=$(jv '.api_key // empty')
K1_ID=$(jv '.key.id // empty')
check "create: gw_test_ key, 46 chars" sh -c "echo '$K1' | grep -Eqx 'gw_test_[A-Za-z0-9]{38}'"
check "create: KEY has every field" json_is ".key as \$k | $key_fields | all(. as \$f | \$k | has(\$f))"
check "create: values as sent" json_is '.key | .name == "ci key" and .environment == "test"
	and .permissions == ["read","write"] and .is_active == true and .is_primary == false
	and .expires_at == null and .max_requests == 10 and .requests_used == 0
	and .credit_limit == "5.00" and .ip_allowlist == [] and .referrer_allowlist == []
	and .allowed_models == ["gpt-4o-mini"] and .last_used_at == null'
check "create: spent is a USD string of zero" json_is '.key.spent | type=="string" and tonumber == 0'
check "create: masked key, prefix, last4" json_is \
	".key.api_key == \"$(masked_of "$K1")\" and .key.prefix == \"${K1:0:12}\" and .key.last4 == \"${K1: -4}\""
check "create: key id format" json_is '.key.id | test("^key_[A-Za-z0-9]{20}$")'
req GET /user/profile "$K1"
check "the new key authenticates as A" json_is ".id == \"$A_ID\""

# Defaults.
req POST /user/api-keys "$A_KEY" '{}'
expect_status "create key with {}" 201
check "defaults: live, read+write, active, no limits" json_is '.key | .environment == "live"
	and (.permissions|sort) == ["read","write"] and .is_active == true and .max_requests == null
	and .credit_limit == null and .expires_at == null'
check "defaults: gw_live_ key" sh -c "echo '$(jv .api_key)' | grep -Eqx 'gw_live_[A-Za-z0-9]{38}'"
KD_ID=$(jv .key.id)
req POST /user/api-keys "$A_KEY" '{"credit_limit":1.5}'
check "credit_limit as a JSON number 1.5 -> \"1.50\"" json_is '.key.credit_limit == "1.50"'

# Bad input.
bad_create() {
	req POST /user/api-keys "$A_KEY" "$1"
	check "create with $1 -> 400${2:+ $2}" sh -c "[ $code = 400 ] && { [ -z '$2' ] || jq -e '.error.code == \"$2\"' '$T/body' >/dev/null; }"
}
bad_create '{"max_requests":"ten"}' invalid_type
bad_create '{"permissions":"read"}' invalid_type
bad_create '{"name":7}' invalid_type
bad_create '{"is_active":"yes"}' ""
bad_create '{"user_id":"'"$B_ID"'"}' unknown_field
bad_create '{"permissions":["fly"]}' ""
bad_create '{"environment":"prod"}' ""
bad_create '{"ip_allowlist":["not-an-ip"]}' ""
bad_create '{"ip_allowlist":["10.0.0.0/33"]}' ""
bad_create '{"ip_allowlist":["300.1.1.1"]}' ""
bad_create '{"credit_limit":"1.0000000001"}' ""
bad_create '{"credit_limit":"1000000001"}' ""
req POST /user/api-keys "$A_KEY" '{"permissions":["read","write","admin"]}'
check "non-admin creating an admin key -> 403" sh -c "[ $code = 403 ]"
check "  with the error shape" error_shape

# --- list / update ------------------------------------------------------------------------
req GET /user/api-keys "$A_KEY"
expect_status "list keys" 200
check "list: data has A's keys, each with every KEY field" json_is \
	"(.data | map(.id) | index(\"$A_KID\") != null and index(\"$K1_ID\") != null) and (.data | all(. as \$k | $key_fields | all(. as \$f | \$k | has(\$f))))"
check "list: no other user's key" json_is ".data | map(.id) | index(\"$B_KID\") == null"
check "list: no full key anywhere" sh -c "! grep -Eq 'gw_[a-z]+_[A-Za-z0-9]{38}' '$T/body'"
check "list: exactly one primary" json_is '[.data[] | select(.is_primary)] | length == 1'

req PUT /user/api-keys/"$K1_ID" "$A_KEY" '{"name":"renamed","max_requests":20,"allowed_models":[]}'
expect_status "update key" 200
check "update: returns KEY with the changes" json_is \
	".id == \"$K1_ID\" and .name == \"renamed\" and .max_requests == 20 and .allowed_models == [] and .environment == \"test\""
check "update: no full key in the response" sh -c "! grep -Eq 'gw_[a-z]+_[A-Za-z0-9]{38}' '$T/body'"
req PUT /user/api-keys/"$K1_ID" "$A_KEY" '{"user_id":"'"$B_ID"'"}'
expect_err "update with user_id" 400 unknown_field
req PUT /user/api-keys/"$K1_ID" "$A_KEY" '{"requests_used":0}'
check "update requests_used -> 400" status_is 400
req PUT /user/api-keys/"$K1_ID" "$A_KEY" '{"max_requests":-1}'
check "update max_requests -1 -> 400" status_is 400
req GET /user/profile "$K1"
check "key still works after the updates" status_is 200

# is_primary moves.
req PUT /user/api-keys/"$KD_ID" "$A_KEY" '{"is_primary":true}'
expect_status "make another key primary" 200
req GET /user/api-keys "$A_KEY"
check "exactly one primary after the switch, the new one" json_is \
	"[.data[] | select(.is_primary) | .id] == [\"$KD_ID\"]"

# --- usage arithmetic ---------------------------------------------------------------------
cp_new_key "$A_KEY" '{"name":"metered","max_requests":10}' || not_ok "create metered key ($code)"
KM=$NEW_KEY KM_ID=$NEW_KEY_ID
for i in 1 2 3 4; do req GET /user/balance "$KM"; done
req GET /user/api-keys/usage "$A_KEY"
expect_status "GET /user/api-keys/usage" 200
check "usage: user_id, total_keys, keys array" json_is \
	".user_id == \"$A_ID\" and (.total_keys|type==\"number\") and .total_keys == (.keys|length) and .total_keys >= 4"
check "usage: every key entry has every field" json_is '.keys | all(has("key_id") and has("api_key")
	and has("key_name") and has("is_active") and has("is_primary") and has("requests_used")
	and has("max_requests") and has("requests_remaining") and has("usage_percentage")
	and has("environment_tag") and has("created_at") and has("last_used_at"))'
jq ".keys[] | select(.key_id == \"$KM_ID\")" "$T/body" >"$T/km.json" 2>/dev/null || true
check "usage: metered key used 4 of 10" jq_file "$T/km.json" '.requests_used == 4 and .max_requests == 10'
check "usage: requests_remaining 6" jq_file "$T/km.json" '.requests_remaining == 6'
check "usage: usage_percentage 40" jq_file "$T/km.json" '(.usage_percentage|tonumber) == 40'
check "usage: masked key, name, env, last_used_at set" jq_file "$T/km.json" \
	".api_key == \"$(masked_of "$KM")\" and .key_name == \"metered\" and .environment_tag == \"live\" and (.last_used_at|type==\"string\")"
jq ".keys[] | select(.key_id == \"$KD_ID\")" "$T/body" >"$T/kd.json" 2>/dev/null || true
check "usage: unlimited key has null max_requests and requests_remaining" jq_file "$T/kd.json" \
	'.max_requests == null and .requests_remaining == null'
check "usage: other user's keys absent" json_is ".keys | map(.key_id) | index(\"$B_KID\") == null"

# --- request cap --------------------------------------------------------------------------
cp_new_key "$A_KEY" '{"name":"capped","max_requests":3}' || not_ok "create capped key ($code)"
KC=$NEW_KEY
for i in 1 2 3; do
	req GET /user/balance "$KC"
	expect_status "capped key request $i of 3" 200
done
req GET /user/balance "$KC"
expect_err "capped key request 4" 403 request_cap_reached

# Checks run in order (permission before cap): a refused request does not use the cap.
cp_new_key "$A_KEY" '{"name":"ro-capped","permissions":["read"],"max_requests":2}' ||
	not_ok "create read-only capped key ($code)"
KRC=$NEW_KEY
for i in 1 2 3; do
	req POST /user/api-keys "$KRC" '{"name":"nope"}'
	expect_err "read-only capped key mutation $i -> 403 insufficient_permissions" 403 \
		insufficient_permissions
done
for i in 1 2; do
	req GET /user/balance "$KRC"
	expect_status "read-only capped key GET $i of 2 still allowed" 200
done
req GET /user/balance "$KRC"
expect_err "read-only capped key GET 3" 403 request_cap_reached
req GET /user/profile "$A_KEY"
check "the owner's other key is unaffected" status_is 200

# --- delete -------------------------------------------------------------------------------
cp_new_key "$A_KEY" '{"name":"doomed"}' || not_ok "create doomed key ($code)"
KX=$NEW_KEY KX_ID=$NEW_KEY_ID
req DELETE /user/api-keys/"$KX_ID" "$A_KEY"
expect_status "delete key" 204
req GET /user/profile "$KX"
expect_err "deleted key" 401 invalid_api_key
req DELETE /user/api-keys/"$KX_ID" "$A_KEY"
expect_err "delete it again" 404 not_found
req GET /user/api-keys "$A_KEY"
check "deleted key is not listed as active" json_is \
	"[.data[] | select(.id == \"$KX_ID\" and .is_active)] | length == 0"

# A key in use, then deleted: every worker has served it and keeps a copy of its row; the
# DELETE must drop the copies on the node, so the next request with it is 401 everywhere.
cp_new_key "$A_KEY" '{"name":"used-then-deleted"}' || not_ok "create a key to use and delete ($code)"
KU=$NEW_KEY KU_ID=$NEW_KEY_ID
# parallel_codes CRED N FILE: N GET /user/balance with CRED over 4 connections at once (so
# both workers serve some), their status codes in FILE.
parallel_codes() {
	curl -s --no-progress-meter --parallel --parallel-max 4 -m 30 -o /dev/null -w '%{http_code}\n' \
		-H "Authorization: Bearer $1" "$URL/user/balance?n=[1-$2]" >"$3" || true
}
parallel_codes "$KU" 24 "$T/ku.before"
check "the key serves 24 requests over 4 connections before the DELETE" \
	test "$(grep -c '^200$' "$T/ku.before")" = 24
req DELETE /user/api-keys/"$KU_ID" "$A_KEY"
expect_status "delete the key in use" 204
req GET /user/balance "$KU"
expect_err "the deleted key, at once" 401 invalid_api_key
parallel_codes "$KU" 24 "$T/ku.after"
check "the deleted key is refused by every worker: 24 of 24 requests 401 ($(sort "$T/ku.after" | uniq -c | tr -s ' \n' ' '))" \
	test "$(grep -c '^401$' "$T/ku.after")" = 24
req GET /user/api-keys "$A_KEY"
check "the deleted key is not listed as active" json_is \
	"[.data[] | select(.id == \"$KU_ID\" and .is_active)] | length == 0"
check "the owner's own key still works after the DELETE" test "$(status_of "$A_KEY")" = 200

# --- rotate -------------------------------------------------------------------------------
cp_new_key "$A_KEY" '{"name":"rot"}' || not_ok "create key to rotate ($code)"
KR=$NEW_KEY KR_ID=$NEW_KEY_ID
# 8 s of grace: the checks below run inside it even when a busy machine stalls for seconds
# (4 s can run out before "old key works during the grace period"). How far ahead the end
# is, measured first thing for the same reason.
req POST /user/api-keys/"$KR_ID"/rotate "$A_KEY" '{"grace_seconds":8}'
until_s=$(date -u -d "$(jv .previous_key_valid_until)" +%s 2>/dev/null || echo 0)
d=$((until_s - $(date +%s)))
expect_status "rotate with 8 s grace" 200
check "rotate: Cache-Control no-store" no_store
KR2=$(jv '.api_key // empty')
check "rotate: a new, different key" sh -c "echo '$KR2' | grep -Eqx 'gw_live_[A-Za-z0-9]{38}' && [ '$KR2' != '$KR' ]"
check "rotate: same key id, new masked form" json_is ".key.id == \"$KR_ID\" and .key.api_key == \"$(masked_of "$KR2")\""
check "rotate: previous_key_valid_until about 8 s ahead (${d}s)" test "$d" -ge 6 -a "$d" -le 9
check "rotate: old key works during the grace period" test "$(status_of "$KR")" = 200
check "rotate: new key works" test "$(status_of "$KR2")" = 200
# Until a second past the end of the grace period (shown rounded down to the second), not a
# fixed time from here: the checks since the rotation took a part of it.
if [ "$until_s" -gt 0 ]; then
	past_until() { [ "$(date +%s)" -ge $((until_s + 2)) ]; }
	wait_for "the grace period to end" 15 past_until || true
else
	sleep 9
fi
req GET /user/balance "$KR"
expect_err "rotate: old key after the grace period" 401 invalid_api_key
check "rotate: new key still works" test "$(status_of "$KR2")" = 200

req POST /user/api-keys/"$KR_ID"/rotate "$A_KEY" '{"grace_seconds":0}'
expect_status "rotate with grace 0" 200
KR3=$(jv '.api_key // empty')
check "rotate grace 0: previous_key_valid_until null" json_is '.previous_key_valid_until == null'
req GET /user/balance "$KR2"
expect_err "rotate grace 0: old key at once" 401 invalid_api_key
check "rotate grace 0: new key works" test "$(status_of "$KR3")" = 200
req POST /user/api-keys/"$KR_ID"/rotate "$A_KEY" '{}'
expect_status "rotate with no body fields (default grace 0)" 200
KR4=$(jv '.api_key // empty')
check "default grace: previous key invalid at once" test "$(status_of "$KR3")" = 401
for g in -1 604801 '"10"'; do
	req POST /user/api-keys/"$KR_ID"/rotate "$A_KEY" "{\"grace_seconds\":$g}"
	check "rotate grace_seconds $g -> 400" status_is 400
done
check "refused rotations left the key alone" test "$(status_of "$KR4")" = 200

# --- another user's key ids: 404 exactly like a missing id --------------------------------
missing=key_ZZZZZZZZZZZZZZZZZZZZ
xuser() { # METHOD PATH-WITH-ID ID JSON LABEL
	req "$1" "$2" "$A_KEY" "$4"
	cp "$T/body" "$T/x-$5-b.body"
	check "A $1 ${2/$3/B\'s id} -> 404 not_found" is_err 404 not_found
	req "$1" "${2/$3/$missing}" "$A_KEY" "$4"
	cp "$T/body" "$T/x-$5-m.body"
	check "A $1 on a missing id -> 404 not_found" is_err 404 not_found
	sed "s/$3/ID/g" "$T/x-$5-b.body" >"$T/x-$5-b.norm"
	sed "s/$missing/ID/g" "$T/x-$5-m.body" >"$T/x-$5-m.norm"
	check "A $1 ${2/$3/B\'s id}: body byte-identical to the missing id's (id itself aside)" \
		cmp -s "$T/x-$5-b.norm" "$T/x-$5-m.norm"
}
xuser PUT /user/api-keys/"$B_KID" "$B_KID" '{"name":"pwned","is_active":false}' put
xuser POST /user/api-keys/"$B_KID"/rotate "$B_KID" '{"grace_seconds":0}' rotate
xuser DELETE /user/api-keys/"$B_KID" "$B_KID" '' delete
req GET /user/api-keys "$B_KEY"
check "B's key untouched: still works, name unchanged, active" json_is \
	"[.data[] | select(.id == \"$B_KID\")][0] | .is_active == true and .name != \"pwned\""

# --- read-only key ------------------------------------------------------------------------
cp_new_key "$A_KEY" '{"name":"ro","permissions":["read"]}' || not_ok "create read-only key ($code)"
KRO=$NEW_KEY KRO_ID=$NEW_KEY_ID
for p in /user/profile /user/balance /user/api-keys /user/api-keys/usage /user/limit /user/usage; do
	req GET "$p" "$KRO"
	expect_status "read-only key GET $p" 200
done
# Issue 13: a read-only key no longer reads the whole account (t_cp_keys_scope.sh has the rest).
req GET /user/monitor "$KRO"
expect_err "read-only key GET /user/monitor" 403 insufficient_permissions
ro() {
	req "$1" "$2" "$KRO" "$3"
	expect_err "read-only key $1 $2" 403 insufficient_permissions
}
ro POST /user/api-keys '{"name":"x"}'
ro PUT /user/api-keys/"$KRO_ID" '{"permissions":["read","write"]}'
ro POST /user/api-keys/"$KRO_ID"/rotate '{}'
ro DELETE /user/api-keys/"$K1_ID" ''
ro PUT /user/profile '{"name":"ro was here"}'
ro DELETE /user/account "{\"password\":\"$CP_PW\"}"
req GET /user/api-keys "$A_KEY"
check "read-only key did not escalate itself" json_is \
	"[.data[] | select(.id == \"$KRO_ID\")][0].permissions == [\"read\"]"
req GET /user/profile "$A_KEY"
check "read-only key changed nothing in the profile" json_is '.name != "ro was here" and .status == "active"'

# --- expired ------------------------------------------------------------------------------
# 10 s ahead, each key its own: the checks before it need that long on a busy machine; then
# the test waits both out.
EXP=$(iso_in 10)
cp_new_key "$A_KEY" "{\"name\":\"short\",\"expires_at\":\"$EXP\"}" || not_ok "create expiring key ($code)"
KE=$NEW_KEY
check "expires_at echoed as a time" json_is '.key.expires_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")'
req GET /user/balance "$KE"
expect_status "expiring key before expiry" 200
# A key that had no expiry, given one by PUT: it is used before (so its row is cached).
cp_new_key "$A_KEY" '{"name":"later-short"}' || not_ok "create a key to expire by PUT ($code)"
KE2=$NEW_KEY KE2_ID=$NEW_KEY_ID
req GET /user/balance "$KE2"
expect_status "key without expiry" 200
EXP2=$(iso_in 10)
req PUT /user/api-keys/"$KE2_ID" "$A_KEY" "{\"expires_at\":\"$EXP2\"}"
expect_status "PUT expires_at 10 s ahead" 200
req GET /user/balance "$KE2"
expect_status "key given an expiry, before it" 200
# --- at most 50 active keys ---------------------------------------------------------------
# Here, while the two keys above run out their 10 s; on a user of its own.
cp_register kc || bail "register user C ($code)"
C_KEY=$REG_KEY
# Four at a time (one by one took a second each on a busy machine); each counts when it is a
# 201 with a key, as cp_new_key has it.
new_key_n() {
	curl -s -m 30 -H 'Expect:' -o "$T/kc.$1.body" -w '%{http_code}' -X POST "$URL/user/api-keys" \
		-H "Authorization: Bearer $C_KEY" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"k$1\"}" >"$T/kc.$1.code" 2>/dev/null
}
export -f new_key_n
export T URL C_KEY
seq 2 50 | xargs -P 4 -I{} bash -c 'new_key_n {}'
made=1 fail=0
for i in $(seq 2 50); do
	if [ "$(cat "$T/kc.$i.code" 2>/dev/null)" = 201 ] &&
		[ -n "$(jq -r '.api_key // empty' "$T/kc.$i.body" 2>/dev/null)" ]; then
		made=$((made + 1))
	else
		fail=$((fail + 1))
	fi
done
check "C has 50 active keys (the primary + 49; $fail creations failed)" test "$made" -eq 50
req POST /user/api-keys "$C_KEY" '{"name":"k51"}'
expect_err "the 51st active key" 409 too_many_keys

exp_s=$(date -u -d "$EXP2" +%s)
while [ "$(date +%s)" -le "$exp_s" ]; do sleep 0.5; done
req GET /user/balance "$KE"
expect_err "expiring key after expiry" 403 key_expired
req GET /user/profile "$KE"
expect_err "expired key on another control-plane route" 403 key_expired
req GET /v1/models "$KE"
expect_err "expired key on the data plane" 403 key_expired
req GET /user/balance "$KE2"
expect_err "key expired by PUT, after expiry" 403 key_expired
check "the owner's key is not affected by its other keys' expiry" test "$(status_of "$A_KEY")" = 200

# --- disabled -----------------------------------------------------------------------------
cp_new_key "$A_KEY" '{"name":"off"}' || not_ok "create key to disable ($code)"
KO=$NEW_KEY KO_ID=$NEW_KEY_ID
req PUT /user/api-keys/"$KO_ID" "$A_KEY" '{"is_active":false}'
check "disable key -> 200, is_active false" sh -c "[ $code = 200 ] && jq -e '.is_active == false' '$T/body' >/dev/null"
req GET /user/balance "$KO"
expect_err "disabled key" 403 key_disabled
req PUT /user/api-keys/"$KO_ID" "$A_KEY" '{"is_active":true}'
check "re-enabled key works" test "$(status_of "$KO")" = 200

# --- IP allowlist (nginx talks to tollgate for 127.0.0.1) ---------------------------------
cp_new_key "$A_KEY" '{"name":"ip-bad","ip_allowlist":["10.9.9.9"]}' || not_ok "create key with ip_allowlist 10.9.9.9 ($code)"
req GET /user/balance "$NEW_KEY"
expect_err "key allowed only from 10.9.9.9, client 127.0.0.1" 403 ip_not_allowed
cp_new_key "$A_KEY" '{"name":"ip-ok","ip_allowlist":["127.0.0.0/8"]}' || not_ok "create key with 127.0.0.0/8 ($code)"
req GET /user/balance "$NEW_KEY"
expect_status "key allowed from 127.0.0.0/8" 200
cp_new_key "$A_KEY" '{"name":"ip6","ip_allowlist":["2001:db8::/32","::1","127.0.0.1","fe80::1"]}' || true
check "IPv6 CIDR and addresses accepted" status_is 201
check "  and stored as sent" json_is '.key.ip_allowlist == ["2001:db8::/32","::1","127.0.0.1","fe80::1"]'
req GET /user/balance "$NEW_KEY"
expect_status "key allowed from 127.0.0.1 (mixed list)" 200
cp_new_key "$A_KEY" '{"name":"ip6-only","ip_allowlist":["2001:db8::/32"]}' || not_ok "create IPv6-only key ($code)"
req GET /user/balance "$NEW_KEY"
expect_err "key allowed only from 2001:db8::/32" 403 ip_not_allowed

# --- referrer allowlist -------------------------------------------------------------------
cp_new_key "$A_KEY" '{"name":"ref","referrer_allowlist":["app.example.com"]}' || not_ok "create key with referrer_allowlist ($code)"
KF=$NEW_KEY
req GET /user/balance "$KF" "" -H 'Origin: https://evil.example'
expect_err "Origin https://evil.example" 403 referrer_not_allowed
req GET /user/balance "$KF" "" -H 'Referer: https://app.example.com/x'
expect_status "Referer https://app.example.com/x" 200
req GET /user/balance "$KF" "" -H 'Origin: https://app.example.com'
expect_status "Origin https://app.example.com" 200
req GET /user/balance "$KF" "" -H 'Referer: https://app.example.com.evil.example/x'
expect_err "Referer https://app.example.com.evil.example/x" 403 referrer_not_allowed
cp_new_key "$A_KEY" '{"name":"wild","referrer_allowlist":["*.example.com"]}' || not_ok "create key with *.example.com ($code)"
KW=$NEW_KEY
req GET /user/balance "$KW" "" -H 'Origin: https://foo.example.com'
expect_status "*.example.com: Origin https://foo.example.com" 200
req GET /user/balance "$KW" "" -H 'Referer: https://a.b.example.com/page'
expect_status "*.example.com: Referer https://a.b.example.com/page" 200
req GET /user/balance "$KW" "" -H 'Origin: https://notexample.com'
expect_err "*.example.com: Origin https://notexample.com" 403 referrer_not_allowed
req GET /user/balance "$KW" "" -H 'Origin: https://example.com.evil.example'
expect_err "*.example.com: Origin https://example.com.evil.example" 403 referrer_not_allowed

# A is intact at the end.
req GET /user/profile "$A_KEY"
check "A's registration key still works" json_is ".id == \"$A_ID\""

finish
