#!/usr/bin/env bash
# t_cp_accounts.sh: accounts over HTTP (doc/api-control-plane.md): register, login/logout,
# profile, balance, limit, monitor, delete; fields that must not be settable.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
# A scratch database: this script makes failed logins, and the per-IP failure counter (every
# test connects from 127.0.0.1) would otherwise lock out the logins of the parallel tests.
cp_scratch_db accou
stack_up "db.name=$SCRATCH"

user_shape='(.id|test("^usr_[A-Za-z0-9]{20}$")) and (.email|type=="string")
	and has("username") and has("name") and (.role|type=="string") and (.status|type=="string")
	and has("group") and (.created_at|test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))'
key_fields='["id","name","api_key","prefix","last4","environment","permissions","is_active",
	"is_primary","expires_at","max_requests","requests_used","credit_limit","spent",
	"ip_allowlist","referrer_allowlist","allowed_models","created_at","last_used_at"]'

# --- register -----------------------------------------------------------------------------
email_a="Mixed.Case-$CP_U@Example.COM"
lower_a=$(echo "$email_a" | tr 'A-Z' 'a-z')
req POST /auth/register "" "{\"email\":\"$email_a\",\"password\":\"$CP_PW\",\"username\":\"ua_$CP_U\",\"name\":\"Alice A\"}"
cp "$T/body" "$T/reg-a.json"
expect_status "register" 201
A_KEY=$(jv '.api_key // empty')
A_ID=$(jv '.user.id // empty')
A_KID=$(jv '.key.id // empty')
[ -n "$A_KEY" ] || bail "register returned no api_key; nothing below can work"
check "register: Cache-Control no-store" no_store
check "register: api_key has the gw_live_ format, 46 chars ($A_KEY)" \
	sh -c "echo '$A_KEY' | grep -Eqx 'gw_live_[A-Za-z0-9]{38}'"
check "register: user has the USER shape" json_is ".user | $user_shape"
check "register: email stored lower-cased" json_is ".user.email == \"$lower_a\""
check "register: username, name as sent" json_is ".user.username == \"ua_$CP_U\" and .user.name == \"Alice A\""
check "register: role user, status active" json_is '.user.role == "user" and .user.status == "active"'
check "register: key id is key_ + 20 base62" json_is '.key.id | test("^key_[A-Za-z0-9]{20}$")'
check "register: key has every KEY field" json_is ".key as \$k | $key_fields | all(. as \$f | \$k | has(\$f))"
check "register: key is the primary, active, masked" json_is \
	".key.is_primary == true and .key.is_active == true and .key.api_key == \"$(masked_of "$A_KEY")\""
check "register: key prefix and last4" json_is \
	".key.prefix == \"${A_KEY:0:12}\" and .key.last4 == \"${A_KEY: -4}\""
check "register: full key appears once in the body" \
	test "$(grep -o "$A_KEY" "$T/reg-a.json" | wc -l)" -eq 1

# The key is never shown again: not in the key list, not in the profile.
req GET /user/api-keys "$A_KEY"
expect_status "list keys with the new key" 200
check "key list does not contain the full key" sh -c "! grep -q '$A_KEY' '$T/body'"
check "key list shows the masked key" json_is ".data | map(.api_key) | index(\"$(masked_of "$A_KEY")\") != null"

# Duplicates.
req POST /auth/register "" "{\"email\":\"$lower_a\",\"password\":\"$CP_PW\"}"
expect_err "register the same email (lower-cased)" 409 email_taken
req POST /auth/register "" "{\"email\":\"other-$CP_U@example.com\",\"password\":\"$CP_PW\",\"username\":\"ua_$CP_U\"}"
expect_err "register a taken username" 409 username_taken

# Validation.
req POST /auth/register "" "{\"email\":\"not-an-email\",\"password\":\"$CP_PW\"}"
check "register: invalid email -> 400" status_is 400
check "register: invalid email has the error shape" error_shape
long_local=$(head -c 250 /dev/zero | tr '\0' a)
req POST /auth/register "" "{\"email\":\"$long_local@example.com\",\"password\":\"$CP_PW\"}"
check "register: 262-char email -> 400" status_is 400
for u in ab "has space" "x/y$CP_U" "$(head -c 33 /dev/zero | tr '\0' u)"; do
	req POST /auth/register "" "{\"email\":\"u$RANDOM-$CP_U@example.com\",\"password\":\"$CP_PW\",\"username\":\"$u\"}"
	check "register: username '$u' -> 400" status_is 400
done
# Password policy: too short, too long, all one character, contains the local part, contains
# the username, common.
wp() {
	req POST /auth/register "" "{\"email\":\"$1@example.com\",\"password\":\"$2\"${3:-}}"
	check "register: weak password ($4) -> 400 weak_password" is_err 400 weak_password
	check "register: weak password ($4) message says why" json_is '.error.message | length > 10'
}
wp "wp1-$CP_U" "Sh0rt-pw!" "" "9 chars"
wp "wp2-$CP_U" "$(head -c 129 /dev/zero | tr '\0' x)Ab1" "" "132 chars"
wp "wp3-$CP_U" "zzzzzzzzzzzzzz" "" "all one character"
wp "wp4-$CP_U" "xx-wp4-$CP_U-yy" "" "contains the email local part"
wp "wp5-$CP_U" "Q1-wpuser$CP_U-9" ",\"username\":\"wpuser$CP_U\"" "contains the username"
wp "wp6-$CP_U" "password123" "" "common password"
# Fields that are not registration fields.
for f in '"role":"admin"' '"balance":100' '"credits":"100.00"' '"status":"active"' '"group":"vip"' '"id":"usr_AAAAAAAAAAAAAAAAAAAA"'; do
	fname=${f%%\":*}
	fname=${fname#\"}
	req POST /auth/register "" "{\"email\":\"f$RANDOM-$CP_U@example.com\",\"password\":\"$CP_PW\",$f}"
	check "register with $f -> 400 unknown_field" is_err 400 unknown_field
	check "register with $f: param is $fname" json_is ".error.param == \"$fname\""
done
req POST /auth/register "" "{\"email\":\"role-$CP_U@example.com\",\"password\":\"$CP_PW\",\"role\":\"admin\"}"
req POST /auth/login "" "{\"email\":\"role-$CP_U@example.com\",\"password\":\"$CP_PW\"}"
expect_err "register with role admin created no account (login)" 401 invalid_credentials

# --- login / logout -----------------------------------------------------------------------
cp_login "$email_a"
expect_status "login with the email exactly as registered (mixed case)" 200
cp_login "$lower_a"
expect_status "login with the lower-cased email" 200
check "login: Cache-Control no-store" no_store
check "login: token is gws_ + 40 base62" json_is '.token | test("^gws_[A-Za-z0-9]{40}$")'
check "login: expires_at is a time" json_is '.expires_at | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T")'
check "login: user is A" json_is ".user.id == \"$A_ID\" and (.user | $user_shape)"
TOK1=$TOKEN
# expires_at is 12 h ahead (within a minute).
exp=$(jv .expires_at)
d=$(($(date -u -d "$exp" +%s 2>/dev/null || echo 0) - $(date +%s)))
check "login: session valid 12 h (expires in ${d}s)" test "$d" -gt 43140 -a "$d" -le 43260

req POST /auth/login "" "{\"email\":\"$lower_a\",\"password\":\"Wrong-password-123\"}"
expect_err "login: wrong password" 401 invalid_credentials
msg_wrong=$(jv .error.message)
req POST /auth/login "" "{\"email\":\"nobody-$CP_U@example.com\",\"password\":\"$CP_PW\"}"
expect_err "login: unknown email" 401 invalid_credentials
check "login: same message for unknown email and wrong password" test "$(jv .error.message)" = "$msg_wrong"

req GET /user/profile "$TOK1"
expect_status "session token works on GET /user/profile" 200
check "profile via session is A" json_is ".id == \"$A_ID\""
cp_login "$lower_a"
TOK2=$TOKEN
req POST /auth/logout "$TOK1"
expect_status "logout" 204
req GET /user/profile "$TOK1"
check "token after logout -> 401 (invalid_session/invalid_api_key)" is_session_401
req GET /user/profile "$TOK2"
expect_status "another session of the same user still works" 200
req POST /auth/logout "$TOK1"
check "logout again with the revoked token -> 401" is_session_401

# --- profile ------------------------------------------------------------------------------
req GET /user/profile "$A_KEY"
expect_status "GET /user/profile" 200
check "profile: USER shape plus settings object" json_is "($user_shape) and (.settings|type==\"object\")"
check "profile: values" json_is ".id == \"$A_ID\" and .email == \"$lower_a\" and .role == \"user\""
cp "$T/body" "$T/profile0.json"

req PUT /user/profile "$A_KEY" '{"name":"Alice B","settings":{"theme":"dark","n":3,"nested":{"a":[1,2]}}}'
expect_status "PUT /user/profile name+settings" 200
req GET /user/profile "$A_KEY"
check "profile: name updated" json_is '.name == "Alice B"'
check "profile: settings stored" json_is '.settings == {"theme":"dark","n":3,"nested":{"a":[1,2]}}'

# settings limits: 33 keys, > 8 KiB.
s33=$(jq -nc '[range(33)] | map({key:("k\(.)"), value:1}) | from_entries')
req PUT /user/profile "$A_KEY" "{\"settings\":$s33}"
check "profile: settings with 33 keys -> 400" status_is 400
big=$(head -c 8300 /dev/zero | tr '\0' s)
req PUT /user/profile "$A_KEY" "{\"settings\":{\"big\":\"$big\"}}"
check "profile: settings over 8 KiB -> 400" status_is 400
req PUT /user/profile "$A_KEY" '{"settings":"dark"}'
expect_err "profile: settings not an object" 400 invalid_type
req PUT /user/profile "$A_KEY" '{"name":5}'
expect_err "profile: name a number" 400 invalid_type
req GET /user/profile "$A_KEY"
check "profile: rejected updates changed nothing" json_is '.name == "Alice B" and .settings.theme == "dark" and (.settings|length) == 3'

# Email change needs the current password.
new_email="renamed-$CP_U@example.com"
req PUT /user/profile "$A_KEY" "{\"email\":\"$new_email\"}"
expect_err "profile: email change without current_password" 403 password_required
req PUT /user/profile "$A_KEY" "{\"email\":\"$new_email\",\"current_password\":\"Not-the-password-1\"}"
expect_err "profile: email change with a wrong current_password" 401 invalid_credentials
req GET /user/profile "$A_KEY"
check "profile: email unchanged after refused changes" json_is ".email == \"$lower_a\""
req PUT /user/profile "$A_KEY" "{\"email\":\"$new_email\",\"current_password\":\"$CP_PW\"}"
expect_status "profile: email change with current_password" 200
req GET /user/profile "$A_KEY"
check "profile: email changed" json_is ".email == \"$new_email\""
cp_login "$new_email"
expect_status "login with the new email" 200

# Fields no user may change: 400 unknown_field, nothing changes.
req GET /user/profile "$A_KEY"
cp "$T/body" "$T/profile1.json"
req GET /user/balance "$A_KEY"
cp "$T/body" "$T/balance1.json"
for f in '"role":"admin"' '"balance":"1000.00"' '"credits":1000' '"status":"suspended"' \
	'"group":"vip"' '"id":"usr_BBBBBBBBBBBBBBBBBBBB"' '"user_id":"usr_BBBBBBBBBBBBBBBBBBBB"' \
	'"created_at":"2020-01-01T00:00:00Z"' '"commission_percent":0'; do
	fname=${f%%\":*}
	fname=${fname#\"}
	req PUT /user/profile "$A_KEY" "{\"name\":\"Mallory\",$f}"
	check "profile PUT with $fname -> 400 unknown_field" is_err 400 unknown_field
	check "profile PUT with $fname: param is $fname" json_is ".error.param == \"$fname\""
done
req GET /user/profile "$A_KEY"
check "profile unchanged after the refused PUTs (name not applied either)" \
	same_json "$T/profile1.json" "$T/body"
req GET /user/balance "$A_KEY"
check "balance unchanged after the refused PUTs" same_json "$T/balance1.json" "$T/body"

# --- balance, limit, monitor --------------------------------------------------------------
req GET /user/balance "$A_KEY"
expect_status "GET /user/balance" 200
check "balance: user_id, currency USD" json_is ".user_id == \"$A_ID\" and .currency == \"USD\""
check "balance: balance/reserved/available are USD strings" json_is \
	"[.balance,.reserved,.available] | all(type==\"string\" and test(\"$usd_re\"))"
check "balance: new account has 0 balance, 0 reserved, 0 available" \
	sh -c "[ \"\$(jq -r '[.balance,.reserved,.available]|map(tonumber)|map(.==0)|all' '$T/body')\" = true ]"

req GET /user/limit "$A_KEY"
expect_status "GET /user/limit" 200
check "limit: user_id and every rate limit field (null = unlimited)" json_is \
	".user_id == \"$A_ID\" and (.rate_limits | has(\"requests_per_minute\") and has(\"requests_per_hour\") and has(\"requests_per_day\") and has(\"tokens_per_minute\") and has(\"tokens_per_hour\") and has(\"tokens_per_day\"))"
check "limit: new account is unlimited (all null)" json_is '[.rate_limits[]] | all(. == null)'
check "limit: keys is an array (empty: no key limits)" json_is '(.keys // []) | type == "array" and length == 0'

req GET /user/monitor "$A_KEY"
expect_status "GET /user/monitor" 200
check "monitor: status ok, user_id, timestamp" json_is \
	".status == \"ok\" and .user_id == \"$A_ID\" and (.timestamp|type==\"string\")"
check "monitor: api_key is the calling key, masked" json_is ".api_key == \"$(masked_of "$A_KEY")\""
check "monitor: current_credits is a USD string" json_is ".current_credits | type==\"string\" and test(\"$usd_re\")"
for f in total_requests total_tokens total_cost requests_today tokens_today cost_today \
	requests_this_month tokens_this_month cost_this_month average_tokens_per_request \
	most_used_model last_request_time; do
	check "monitor: usage_metrics.$f present" json_is ".usage_metrics | has(\"$f\")"
done
check "monitor: zero usage values" json_is '.usage_metrics | .total_requests == 0 and .total_tokens == 0
	and .total_cost == "0.00" and .requests_today == 0 and .tokens_today == 0
	and (.cost_today|tonumber) == 0 and .requests_this_month == 0 and .tokens_this_month == 0
	and (.cost_this_month|tonumber) == 0 and .average_tokens_per_request == 0
	and .most_used_model == null and .last_request_time == null'
check "monitor: rate_limits with the six fields" json_is \
	'.rate_limits | has("requests_per_minute") and has("requests_per_hour") and has("requests_per_day") and has("tokens_per_minute") and has("tokens_per_hour") and has("tokens_per_day")'

# --- delete account -----------------------------------------------------------------------
cp_register del || bail "register the user to delete ($code)"
D_KEY=$REG_KEY
D_EMAIL=$REG_EMAIL
cp_new_key "$D_KEY" '{"name":"second"}' || not_ok "delete: second key created ($code)"
D_KEY2=$NEW_KEY
cp_login "$D_EMAIL"
D_TOK=$TOKEN
req DELETE /user/account "$D_KEY" '{"password":"Wrong-password-99"}'
check "delete with a wrong password is refused (401/403)" sh -c "[ $code = 401 ] || [ $code = 403 ]"
req GET /user/profile "$D_KEY"
expect_status "account still usable after the refused delete" 200
req DELETE /user/account "$D_KEY" "{\"password\":\"$CP_PW\"}"
expect_status "DELETE /user/account" 204
for c in "$D_KEY" "$D_KEY2"; do
	req GET /user/profile "$c"
	expect_err "after delete: key ${c:0:12}... on GET /user/profile" 401 invalid_api_key
done
req GET /user/profile "$D_TOK"
check "after delete: session token on GET /user/profile -> 401" is_session_401
cp_login "$D_EMAIL"
expect_err "after delete: login" 401 invalid_credentials

# A is unaffected by all of that.
req GET /user/profile "$A_KEY"
check "A still works at the end" json_is ".id == \"$A_ID\""

finish
