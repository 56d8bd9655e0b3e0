#!/usr/bin/env bash
# t_cp_auth.sh: credential forms and their precedence, malformed credentials, the query-key
# switch (auth.allow_query_key), registration modes (auth.registration open|closed|invite).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq
stack_up

cp_register au || bail "register ($code: $(head -c 200 "$T/body"))"
K=$REG_KEY A_ID=$REG_ID
cp_register av || bail "register a second user ($code)"
K2=$REG_KEY

# --- the three header forms ---------------------------------------------------------------
http GET "$URL/user/profile" -H "Authorization: Bearer $K"
check "Authorization: Bearer -> 200 as the owner" sh -c "[ $code = 200 ] && jq -e '.id == \"$A_ID\"' '$T/body' >/dev/null"
http GET "$URL/user/profile" -H "X-API-Key: $K"
check "X-API-Key -> 200 as the owner" sh -c "[ $code = 200 ] && jq -e '.id == \"$A_ID\"' '$T/body' >/dev/null"
http GET "$URL/user/profile" -H "api-key: $K"
check "api-key -> 200 as the owner" sh -c "[ $code = 200 ] && jq -e '.id == \"$A_ID\"' '$T/body' >/dev/null"
http GET "$URL/user/profile" -H "api-key: $K" -H "user: av-$CP_U@example.com"
check "api-key with a user header naming someone else: the header is ignored" \
	sh -c "[ $code = 200 ] && jq -e '.id == \"$A_ID\"' '$T/body' >/dev/null"

# Order: Bearer, then X-API-Key, then api-key; the first present one is the credential.
http GET "$URL/user/profile" -H "Authorization: Bearer $K" -H "X-API-Key: gw_live_garbage"
check "valid Bearer + garbage X-API-Key -> 200 (Bearer wins)" status_is 200
http GET "$URL/user/profile" -H "Authorization: Bearer $(flip_last "$K")" -H "X-API-Key: $K"
expect_err "bad Bearer + valid X-API-Key (Bearer wins)" 401 invalid_api_key
http GET "$URL/user/profile" -H "X-API-Key: $K2" -H "api-key: $K"
check "X-API-Key (user B) + api-key (user A) -> the X-API-Key user" \
	sh -c "[ $code = 200 ] && jq -e '.id != \"$A_ID\"' '$T/body' >/dev/null"

# --- missing and malformed ----------------------------------------------------------------
http GET "$URL/user/profile"
expect_err "no credential" 401 missing_api_key
check "401 has a message that says what to do" json_is '.error.message | length > 10'
http GET "$URL/user/profile" -H "Authorization: Bearer"
check "Authorization: Bearer with nothing -> 401 missing/invalid_api_key" \
	sh -c "[ $code = 401 ] && jq -e '.error.code == \"missing_api_key\" or .error.code == \"invalid_api_key\"' '$T/body' >/dev/null"
http GET "$URL/user/profile" -H "Authorization: Bearer "
check "Authorization: 'Bearer ' (trailing space) -> 401" status_is 401
http GET "$URL/user/profile" -H "Authorization: Bearer Bearer $K"
expect_err "Authorization: Bearer Bearer KEY" 401 invalid_api_key
http GET "$URL/user/profile" -H "Authorization: Bearer $K $K"
expect_err "Authorization: Bearer KEY KEY" 401 invalid_api_key
http GET "$URL/user/profile" -H "Authorization: Basic $(printf 'u:%s' "$K" | base64 -w0)"
check "Authorization: Basic -> 401" status_is 401
flipped=$(flip_last "$K")
http GET "$URL/user/profile" -H "Authorization: Bearer $flipped"
expect_err "key with its last (checksum) character flipped" 401 invalid_api_key
msg_flip=$(jv .error.message)
for bad in "${K%?}" "${K}x" "gw_prod_${K#gw_live_}" "gw_live_" "sk-${K#gw_live_}" "$(echo "$K" | tr 'a-z' 'A-Z')"; do
	http GET "$URL/user/profile" -H "Authorization: Bearer $bad"
	expect_err "malformed key '${bad:0:14}...'" 401 invalid_api_key
done
check "401 messages do not echo the presented key" sh -c "! grep -q '$flipped' '$T/body'"
check "401 message for a bad checksum does not say whether another key exists" \
	sh -c "echo '$msg_flip' | grep -viqE 'exists|belongs|another user'"

# --- ?api_key= is off by default ----------------------------------------------------------
http GET "$URL/user/profile?api_key=$K"
check "?api_key= with allow_query_key off -> 401" status_is 401
check "  with the error shape" error_shape
check "  the message tells to use a header" json_is '.error.message | test("header|Authorization|X-API-Key"; "i")'

cp_restart auth.allow_query_key=on
http GET "$URL/user/profile?api_key=$K"
check "?api_key= with allow_query_key on -> 200 as the owner" \
	sh -c "[ $code = 200 ] && jq -e '.id == \"$A_ID\"' '$T/body' >/dev/null"
http GET "$URL/user/profile?api_key=$flipped"
expect_err "?api_key= with a bad checksum (on)" 401 invalid_api_key
http GET "$URL/user/profile?api_key=gw_live_garbage" -H "Authorization: Bearer $K"
check "header beats the query key" status_is 200

# --- registration modes -------------------------------------------------------------------
cp_restart auth.registration=closed
req POST /auth/register "" "{\"email\":\"closed-$CP_U@example.com\",\"password\":\"$CP_PW\"}"
expect_err "registration closed" 403 registration_closed
req GET /user/profile "$K"
check "existing keys work while registration is closed" status_is 200
cp_login "au-$CP_U@example.com"
check "login works while registration is closed" status_is 200

cp_restart auth.registration=invite
cp_admin inv-admin 0
req POST /auth/register "" "{\"email\":\"inv0-$CP_U@example.com\",\"password\":\"$CP_PW\"}"
expect_err "invite mode, no code" 403 invalid_invite
req POST /auth/register "" "{\"email\":\"inv0-$CP_U@example.com\",\"password\":\"$CP_PW\",\"invite_code\":\"not-a-real-code\"}"
expect_err "invite mode, bogus code" 403 invalid_invite
req POST /admin/invites "$K" '{"count":1}'
expect_err "a non-admin creating invites" 403 insufficient_permissions
req POST /admin/invites "$ADMIN_KEY" '{"count":2}'
expect_status "POST /admin/invites count 2" 201
check "invites: two distinct string codes" json_is '(.codes|length) == 2 and (.codes|all(type=="string" and length >= 8)) and .codes[0] != .codes[1]'
exp_s=$(date -u -d "$(jv .expires_at)" +%s 2>/dev/null || echo 0)
d=$((exp_s - $(date +%s)))
check "invites: default expiry 7 days (${d}s)" test "$d" -gt $((7 * 86400 - 120)) -a "$d" -le $((7 * 86400 + 60))
c1=$(jv '.codes[0]')
c2=$(jv '.codes[1]')
req POST /auth/register "" "{\"email\":\"inv1-$CP_U@example.com\",\"password\":\"$CP_PW\",\"invite_code\":\"$c1\"}"
expect_status "invite mode, valid code" 201
check "  the new account got a key" sh -c "echo '$(jv '.api_key // empty')' | grep -Eqx 'gw_live_[A-Za-z0-9]{38}'"
req POST /auth/register "" "{\"email\":\"inv2-$CP_U@example.com\",\"password\":\"$CP_PW\",\"invite_code\":\"$c1\"}"
expect_err "invite mode, the same code again" 403 invalid_invite
req POST /auth/register "" "{\"email\":\"inv2-$CP_U@example.com\",\"password\":\"$CP_PW\",\"invite_code\":\"$c2\"}"
expect_status "invite mode, the second code" 201
req POST /admin/invites "$ADMIN_KEY" '{}'
check "invites: default count 1" sh -c "[ $code = 201 ] && jq -e '.codes|length == 1' '$T/body' >/dev/null"
for n in 0 101 '"3"'; do
	req POST /admin/invites "$ADMIN_KEY" "{\"count\":$n}"
	check "invites: count $n -> 400" status_is 400
done
req POST /admin/invites "$ADMIN_KEY" '{"count":1,"expires_in_days":1}'
exp_s=$(date -u -d "$(jv .expires_at)" +%s 2>/dev/null || echo 0)
d=$((exp_s - $(date +%s)))
check "invites: expires_in_days 1 (${d}s)" test "$d" -gt $((86400 - 120)) -a "$d" -le $((86400 + 60))

finish
