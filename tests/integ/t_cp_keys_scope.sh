#!/usr/bin/env bash
# t_cp_keys_scope.sh: who may manage API keys (doc/api-control-plane.md, "Who may manage keys"):
# a session or a key with the 'keys' permission; a key never creates or changes a key wider
# than itself (permissions, allowlists, models, credit limit, expiry), never touches a wider
# key, and 'admin' comes only from a credential that holds it.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq
stack_up

cp_register sa || bail "register user S ($code: $(head -c 200 "$T/body"))"
S_KEY=$REG_KEY S_KID=$REG_KEY_ID S_EMAIL=$REG_EMAIL S_ID=$REG_ID
check "the registration key holds 'keys'" jq_file "$T/reg-sa.json" '.key.permissions == ["read","write","keys"]'

nkeys() { req GET /user/api-keys "$S_KEY"; jv '.data | length'; }
# refused DESC METHOD PATH CRED JSON FIELD: 403 insufficient_permissions naming FIELD (sent
# from a site every referrer-locked key here allows, so only the permission can refuse it).
refused() {
	req "$2" "$3" "$4" "$5" -H 'Origin: https://app.example.com'
	check "$1 -> 403 insufficient_permissions${6:+ param ${6:-}}" sh -c \
		"[ $code = 403 ] && jq -e '.error.type != null and .error.message != null and .error.code == \"insufficient_permissions\" and (\"${6:-}\" == \"\" or .error.param == \"${6:-}\")' '$T/body' >/dev/null"
}

# --- a key without 'keys' (read+write) manages no key ---------------------------------------
cp_new_key "$S_KEY" '{"name":"widget","permissions":["read","write"],"referrer_allowlist":["app.example.com"]}' ||
	not_ok "S's primary key creates a read+write key ($code: $(head -c 200 "$T/body"))"
W=$NEW_KEY W_ID=$NEW_KEY_ID
n0=$(nkeys)
refused "write key: create" POST /user/api-keys "$W" '{"name":"minted"}'
refused "write key: create without a body" POST /user/api-keys "$W" ''
refused "write key: update the primary" PUT /user/api-keys/"$S_KID" "$W" '{"name":"pwned"}'
refused "write key: update itself" PUT /user/api-keys/"$W_ID" "$W" '{"referrer_allowlist":[]}'
refused "write key: rotate the primary" POST /user/api-keys/"$S_KID"/rotate "$W" '{"grace_seconds":0}'
refused "write key: delete the primary" DELETE /user/api-keys/"$S_KID" "$W" ''
check "the write key made no key" test "$(nkeys)" = "$n0"
check "the primary still works" test "$(status_of "$S_KEY")" = 200
req GET /user/api-keys "$S_KEY"
check "the write key's own allowlist is unchanged, the primary's name too" json_is \
	"([.data[] | select(.id == \"$W_ID\")][0].referrer_allowlist == [\"app.example.com\"]) and ([.data[] | select(.id == \"$S_KID\")][0].name == \"primary\")"

# --- a 'keys' key with restrictions ---------------------------------------------------------
cp_new_key "$S_KEY" '{"name":"mgr","permissions":["read","write","keys"],"allowed_models":["m-one","m-two"],
	"credit_limit":"2.00","ip_allowlist":["127.0.0.0/8"],"referrer_allowlist":["*.example.com"],
	"expires_at":"'"$(iso_in 86400)"'"}' || not_ok "create a restricted keys key ($code: $(head -c 200 "$T/body"))"
K=$NEW_KEY K_ID=$NEW_KEY_ID
kexp=$(jv .key.expires_at)
H=(-H 'Origin: https://app.example.com')
n1=$(nkeys)

# Nothing wider.
refused "keys key: grant admin" POST /user/api-keys "$K" '{"permissions":["read","admin"]}' permissions
refused "keys key: a model it lacks" POST /user/api-keys "$K" '{"allowed_models":["m-one","m-other"]}' allowed_models
refused "keys key: every model ([])" POST /user/api-keys "$K" '{"allowed_models":[]}' allowed_models
refused "keys key: a larger credit limit" POST /user/api-keys "$K" '{"credit_limit":"2.01"}' credit_limit
refused "keys key: no credit limit" POST /user/api-keys "$K" '{"credit_limit":null}' credit_limit
refused "keys key: a wider IP range" POST /user/api-keys "$K" '{"ip_allowlist":["0.0.0.0/0"]}' ip_allowlist
refused "keys key: any address ([])" POST /user/api-keys "$K" '{"ip_allowlist":[]}' ip_allowlist
refused "keys key: another site" POST /user/api-keys "$K" '{"referrer_allowlist":["*.other.com"]}' referrer_allowlist
refused "keys key: the parent domain" POST /user/api-keys "$K" '{"referrer_allowlist":["example.com"]}' referrer_allowlist
refused "keys key: a later expiry" POST /user/api-keys "$K" "{\"expires_at\":\"$(iso_in 172800)\"}" expires_at
refused "keys key: no expiry" POST /user/api-keys "$K" '{"expires_at":null}' expires_at
check "nothing wider was made" test "$(nkeys)" = "$n1"

# Unset fields inherit the caller's restrictions.
cp_new_key "$K" '{"name":"child"}' "${H[@]}" || not_ok "keys key creates a key with {} ($code: $(head -c 300 "$T/body"))"
C_ID=$NEW_KEY_ID C=$NEW_KEY
check "  it inherits models, credit, IPs, referrers, expiry; read+write" json_is \
	".key | .allowed_models == [\"m-one\",\"m-two\"] and .credit_limit == \"2.00\" and .ip_allowlist == [\"127.0.0.0/8\"]
	and .referrer_allowlist == [\"*.example.com\"] and .expires_at == \"$kexp\" and .permissions == [\"read\",\"write\"]"
# Narrower is fine.
cp_new_key "$K" '{"name":"narrow","permissions":["read"],"allowed_models":["m-two"],"credit_limit":"0.50",
	"ip_allowlist":["127.0.0.1"],"referrer_allowlist":["a.example.com"],"expires_at":"'"$(iso_in 3600)"'"}' "${H[@]}" ||
	not_ok "keys key creates a narrower key ($code: $(head -c 300 "$T/body"))"
N_ID=$NEW_KEY_ID
check "  with the values sent" json_is '.key | .permissions == ["read"] and .allowed_models == ["m-two"]
	and .credit_limit == "0.50" and .ip_allowlist == ["127.0.0.1"] and .referrer_allowlist == ["a.example.com"]'
cp_new_key "$K" '{"name":"sub-mgr","permissions":["read","keys"],"referrer_allowlist":["*.a.example.com"]}' "${H[@]}" ||
	not_ok "keys key creates another keys key, narrower ($code: $(head -c 300 "$T/body"))"

# Changes: never wider, never on a wider key.
refused "keys key: widen a child's models" PUT /user/api-keys/"$N_ID" "$K" '{"allowed_models":["m-three"]}' allowed_models
refused "keys key: raise a child's credit" PUT /user/api-keys/"$N_ID" "$K" '{"credit_limit":"5.00"}' credit_limit
refused "keys key: give a child admin" PUT /user/api-keys/"$N_ID" "$K" '{"permissions":["read","admin"]}' permissions
refused "keys key: lift its own IP list" PUT /user/api-keys/"$K_ID" "$K" '{"ip_allowlist":[]}' ip_allowlist
refused "keys key: change the wider primary" PUT /user/api-keys/"$S_KID" "$K" '{"name":"pwned"}'
refused "keys key: rotate the wider primary" POST /user/api-keys/"$S_KID"/rotate "$K" '{"grace_seconds":0}'
refused "keys key: delete the wider primary" DELETE /user/api-keys/"$S_KID" "$K" ''
refused "keys key: change the wider write key" PUT /user/api-keys/"$W_ID" "$K" '{"is_active":false}'
check "the primary still works after the refusals" test "$(status_of "$S_KEY")" = 200
req PUT /user/api-keys/"$N_ID" "$K" '{"name":"renamed","credit_limit":"0.25"}' "${H[@]}"
check "keys key: rename and lower a narrower key -> 200" sh -c "[ $code = 200 ] && jq -e '.name == \"renamed\" and .credit_limit == \"0.25\"' '$T/body' >/dev/null"
req POST /user/api-keys/"$C_ID"/rotate "$K" '{}' "${H[@]}"
expect_status "keys key: rotate a key within its scope" 200
req DELETE /user/api-keys/"$N_ID" "$K" "" "${H[@]}"
expect_status "keys key: delete a key within its scope" 204

# --- admin comes only from a credential that holds it ---------------------------------------
cp_admin sadm
AK=$ADMIN_KEY
cp_new_key "$AK" '{"name":"adm-keys","permissions":["read","write","keys"]}' ||
	not_ok "admin key creates a keys key without admin ($code: $(head -c 300 "$T/body"))"
AKK=$NEW_KEY
refused "an admin user's keys key without admin: grant admin" POST /user/api-keys "$AKK" '{"permissions":["read","admin"]}' permissions
cp_new_key "$AK" '{"name":"adm2","permissions":["read","admin"]}' ||
	not_ok "an admin key (admin user) may create an admin key ($code: $(head -c 300 "$T/body"))"

# --- a session manages every key; no admin for a non-admin user -----------------------------
cp_login "$S_EMAIL"
[ -n "$TOKEN" ] || bail "login S ($code)"
cp_new_key "$TOKEN" '{"name":"from-session"}' || not_ok "session creates an unrestricted key ($code)"
check "  with no restrictions, read+write" json_is '.key | .allowed_models == [] and .credit_limit == null and .permissions == ["read","write"]'
refused "session of a non-admin user: grant admin" POST /user/api-keys "$TOKEN" '{"permissions":["read","admin"]}' permissions
req PUT /user/api-keys/"$W_ID" "$TOKEN" '{"permissions":["read","write","keys"]}'
expect_status "session gives the write key 'keys'" 200
req POST /user/api-keys "$W" '{"name":"now-allowed"}' -H 'Origin: https://app.example.com'
check "  then it may create a key, inheriting its referrer list" sh -c \
	"[ $code = 201 ] && jq -e '.key.referrer_allowlist == [\"app.example.com\"]' '$T/body' >/dev/null"

# --- a read-only key sees its own key and the balance, not the account ----------------------
cp_new_key "$S_KEY" '{"name":"ro","permissions":["read"]}' || not_ok "create a read-only key ($code)"
RO=$NEW_KEY RO_ID=$NEW_KEY_ID
req POST /admin/limit "$AK" "{\"api_key\":\"$RO_ID\",\"rate_limits\":{\"requests_per_minute\":50}}"
expect_status "admin sets a limit on the read-only key" 200
req POST /admin/limit "$AK" "{\"api_key\":\"$S_KID\",\"rate_limits\":{\"requests_per_minute\":70}}"
expect_status "admin sets a limit on the primary key" 200
req GET /user/profile "$RO"
check "read key: GET /user/profile -> 200 with the id, no email, name or settings" sh -c \
	"[ $code = 200 ] && jq -e '.id == \"$S_ID\" and (has(\"email\") or has(\"username\") or has(\"name\") or has(\"settings\") | not)' '$T/body' >/dev/null"
req GET /user/balance "$RO"
check "read key: GET /user/balance -> 200 with the balance" sh -c "[ $code = 200 ] && jq -e '.balance == \"0.00\"' '$T/body' >/dev/null"
req GET /user/api-keys "$RO"
check "read key: GET /user/api-keys lists only itself" sh -c "[ $code = 200 ] && jq -e '[.data[].id] == [\"$RO_ID\"]' '$T/body' >/dev/null"
req GET /user/api-keys/usage "$RO"
check "read key: GET /user/api-keys/usage has only itself" sh -c \
	"[ $code = 200 ] && jq -e '.total_keys == 1 and [.keys[].key_id] == [\"$RO_ID\"]' '$T/body' >/dev/null"
req GET /user/usage "$RO"
expect_status "read key: GET /user/usage (its own)" 200
req GET "/user/usage?key_id=$S_KID" "$RO"
check "read key: GET /user/usage?key_id=<another key> -> 403 param key_id" is_err 403 insufficient_permissions
req GET /user/limit "$RO"
check "read key: GET /user/limit shows its own key's rule only" sh -c \
	"[ $code = 200 ] && jq -e '[.keys[].key_id] == [\"$RO_ID\"]' '$T/body' >/dev/null"
req GET /user/bill "$RO"
expect_err "read key: GET /user/bill (the whole account)" 403 insufficient_permissions
req GET /user/monitor "$RO"
expect_err "read key: GET /user/monitor (the whole account)" 403 insufficient_permissions
# Sessions and keys with write or keys keep the account view.
req GET /user/profile "$TOKEN"
check "session: GET /user/profile has the email and settings" json_is ".email == \"$S_EMAIL\" and has(\"settings\")"
req GET /user/api-keys "$S_KEY"
check "primary key: GET /user/api-keys lists every key" json_is "[.data[].id] | index(\"$RO_ID\") != null and index(\"$S_KID\") != null"
req GET /user/limit "$S_KEY"
check "primary key: GET /user/limit shows both keys' rules" json_is "[.keys[].key_id] | index(\"$RO_ID\") != null and index(\"$S_KID\") != null"

# --- GET /admin/limit names a key by its id; a key in the URL is refused ---------------------
req GET "/admin/limit?key_id=$RO_ID" "$AK"
check "GET /admin/limit?key_id=<id> -> 200, the key's rule and its user" sh -c \
	"[ $code = 200 ] && jq -e '.rate_limits.requests_per_minute == 50 and .user_id == \"$S_ID\"' '$T/body' >/dev/null"
for v in "$RO" "$RO_ID"; do
	req GET "/admin/limit?api_key=$v" "$AK"
	check "GET /admin/limit?api_key=${v:0:12}... -> 400 param api_key, naming key_id" sh -c \
		"[ $code = 400 ] && jq -e '.error.param == \"api_key\" and (.error.message | test(\"key_id\"))' '$T/body' >/dev/null"
done
req GET "/admin/limit?key_id=$RO" "$AK"
check "GET /admin/limit?key_id=<a full key> -> 400 (no secret is looked up from a URL)" sh -c \
	"[ $code = 400 ] && jq -e '.error.param == \"key_id\"' '$T/body' >/dev/null"
req GET "/admin/limit?key_id=key_ZZZZZZZZZZZZZZZZZZZZ" "$AK"
expect_err "GET /admin/limit?key_id=<unknown id>" 404 not_found

finish
