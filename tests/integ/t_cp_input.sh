#!/usr/bin/env bash
# t_cp_input.sh: hostile input on the control plane. SQL metacharacters, control characters,
# LIKE wildcards, backslashes, emoji/4-byte UTF-8 in every string field: stored and returned
# verbatim, or refused with a 400, never interpreted. Oversized and malformed bodies.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
# A scratch database: this script makes failed logins, and the per-IP failure counter (every
# test connects from 127.0.0.1) would otherwise lock out the logins of the parallel tests.
cp_scratch_db input
stack_up "db.name=$SCRATCH"

cp_register ia || bail "register ($code: $(head -c 200 "$T/body"))"
A_KEY=$REG_KEY A_ID=$REG_ID
cp_register ib || bail "register a bystander ($code)"
B_KEY=$REG_KEY
req GET /user/profile "$B_KEY"
cp "$T/body" "$T/b-before.json"
cp_admin iadm 10

# JSON string literals (as they appear in a request body).
vals=(
	'"Robert'"'"'); DROP TABLE users;--"'
	'"x'"'"' OR '"'"'1'"'"'='"'"'1"'
	'"\" OR 1=1 -- "'
	'"nul\u0000byte"'
	'"\u001b[31mred\u001b[0m"'
	'"100% _ LIKE '"'"'%'"'"'"'
	'"back\\\\slash \\\\'"'"' \\\\\" \\\\0 \\\\n \\\\"'
	'"tab\tnl\ncr\r bell\u0007 del\u007f"'
	'"emoji 😀 𝄞 🇩🇪 ﷽"'
	'"\ud83d\ude00 escaped pair"'
	'"<script>alert(1)</script> ${jndi:ldap://x} {{7*7}}"'
	'"; SELECT SLEEP(5); -- \\\\x00 \\\\Z"'
)

# verbatim_or_400 LABEL JQ_PATH LITERAL: after a write, the last response was 200/201 and a
# read (already done by the caller into $T/body) returns exactly LITERAL at JQ_PATH, or the
# write was a 400.
nv=0
for v in "${vals[@]}"; do
	nv=$((nv + 1))
	short=$(printf '%s' "$v" | head -c 24)

	# profile name
	req PUT /user/profile "$A_KEY" "{\"name\":$v}"
	wc=$code
	if [ "$wc" = 200 ]; then
		req GET /user/profile "$A_KEY"
		check "profile name $short: stored verbatim" json_is ".name == $v"
	else
		check "profile name $short: 200 or 400 (got $wc)" test "$wc" = 400
	fi

	# settings value and settings key
	req PUT /user/profile "$A_KEY" "{\"settings\":{\"k\":$v}}"
	wc=$code
	if [ "$wc" = 200 ]; then
		req GET /user/profile "$A_KEY"
		check "settings value $short: stored verbatim" json_is ".settings.k == $v"
	else
		check "settings value $short: 200 or 400 (got $wc)" test "$wc" = 400
	fi
	req PUT /user/profile "$A_KEY" "{\"settings\":{$v:1}}"
	wc=$code
	if [ "$wc" = 200 ]; then
		req GET /user/profile "$A_KEY"
		check "settings key $short: stored verbatim" json_is ".settings[$v] == 1"
	else
		check "settings key $short: 200 or 400 (got $wc)" test "$wc" = 400
	fi

	# key name
	req POST /user/api-keys "$A_KEY" "{\"name\":$v}"
	wc=$code
	if [ "$wc" = 201 ]; then
		kid=$(jv .key.id)
		check "key name $short: echoed verbatim" json_is ".key.name == $v"
		req GET /user/api-keys "$A_KEY"
		check "key name $short: listed verbatim" json_is "[.data[] | select(.id == \"$kid\")][0].name == $v"
		req GET /user/api-keys/usage "$A_KEY"
		check "key name $short: usage verbatim" json_is "[.keys[] | select(.key_id == \"$kid\")][0].key_name == $v"
		req DELETE /user/api-keys/"$kid" "$A_KEY"
	else
		check "key name $short: 201 or 400 (got $wc)" test "$wc" = 400
	fi

	# register name (a fresh user per value)
	req POST /auth/register "" "{\"email\":\"in$nv-$CP_U@example.com\",\"password\":\"$CP_PW\",\"name\":$v}"
	wc=$code
	if [ "$wc" = 201 ]; then
		check "register name $short: echoed verbatim" json_is ".user.name == $v"
		rk=$(jv .api_key)
		req GET /user/profile "$rk"
		check "register name $short: profile verbatim" json_is ".name == $v"
	else
		check "register name $short: 201 or 400 (got $wc)" test "$wc" = 400
	fi

	# note on a credit entry, read back from the audit log
	req POST /admin/add_credits "$ADMIN_KEY" "{\"user_id\":\"$A_ID\",\"amount_usd\":\"0.01\",\"note\":$v}"
	wc=$code
	if [ "$wc" = 200 ]; then
		req GET "/admin/audit?action=credits.add&target=$A_ID&limit=1" "$ADMIN_KEY"
		check "note $short: accepted, audit row written" json_is '.data[0].action == "credits.add"'
		check "note $short: if the audit row carries the note, it is verbatim" \
			json_is "[.data[0] | .. | objects | select(has(\"note\")) | .note] | all(. == $v)"
	else
		check "note $short: 200 or 400 (got $wc)" test "$wc" = 400
	fi

	# username with metacharacters: always refused by the pattern
	req POST /auth/register "" "{\"email\":\"iu$nv-$CP_U@example.com\",\"password\":\"$CP_PW\",\"username\":$v}"
	expect_status "username $short" 400
done

# Email local parts with characters that are valid there but special to SQL or LIKE.
for local in "o'brien-$CP_U" "pct%_under-$CP_U" "plus+tag-$CP_U" "back\\\\sl-$CP_U"; do
	req POST /auth/register "" "{\"email\":\"$local@example.com\",\"password\":\"$CP_PW\"}"
	wc=$code
	dec=$(printf '"%s@example.com"' "$local" | jq -r .)
	if [ "$wc" = 201 ]; then
		check "email $dec: echoed verbatim" json_is ".user.email == $(jq -n --arg e "$dec" '$e')"
		cp_login "$local@example.com"
		check "email $dec: can log in with it" status_is 200
	else
		check "email $dec: 201 or 400 (got $wc)" test "$wc" = 400
	fi
done
# A LIKE wildcard in a login email must not match someone else's account.
req POST /auth/login "" "{\"email\":\"ia-$CP_U@example.co_\",\"password\":\"$CP_PW\"}"
expect_err "login with a _ wildcard in the email" 401 invalid_credentials
req POST /auth/login "" "{\"email\":\"ia-$CP_U%\",\"password\":\"$CP_PW\"}"
check "login with a % wildcard in the email -> 400 or 401" sh -c "[ $code = 400 ] || [ $code = 401 ]"
# Admin search: q is text, not a LIKE pattern.
req GET "/admin/users?q=%25&limit=100" "$ADMIN_KEY"
check "admin users ?q=%: only users with a literal %" json_is \
	'.data | all((.email + " " + (.username // "") + " " + (.name // "")) | contains("%"))'
req GET "/admin/users?q=_&limit=100" "$ADMIN_KEY"
check "admin users ?q=_: only users with a literal _" json_is \
	'.data | all((.email + " " + (.username // "") + " " + (.name // "")) | contains("_"))'
req GET "/admin/users?q=%27%29%3B%20DROP%20TABLE%20users%3B--" "$ADMIN_KEY"
expect_status "admin users ?q=SQL" 200

# Invalid Unicode: lone surrogates and raw invalid UTF-8 are refused.
req PUT /user/profile "$A_KEY" '{"name":"lone \ud800 surrogate"}'
expect_status "name with a lone surrogate escape" 400
printf '{"name":"bad \xff\xfe utf8"}' >"$T/bad-utf8.json"
req PUT /user/profile "$A_KEY" "" --data-binary "@$T/bad-utf8.json" -H 'Content-Type: application/json'
expect_status "name with raw invalid UTF-8" 400
printf '{"name":"overlong \xc0\xaf"}' >"$T/overlong.json"
req PUT /user/profile "$A_KEY" "" --data-binary "@$T/overlong.json" -H 'Content-Type: application/json'
expect_status "name with an overlong UTF-8 sequence" 400

# --- oversized and malformed bodies -------------------------------------------------------
big_json "$T/big.json" 70000
for ep in "POST /auth/register" "PUT /user/profile" "POST /user/api-keys"; do
	read -r m p <<<"$ep"
	req "$m" "$p" "$A_KEY" "" --data-binary "@$T/big.json" -H 'Content-Type: application/json'
	expect_err "$ep with a 70 kB body (max_body 64 KiB)" 413 body_too_large
	check "  413 is JSON from tollgate" content_type_json

	req "$m" "$p" "$A_KEY" '{"name": "x",'
	expect_err "$ep truncated JSON" 400 invalid_json
	req "$m" "$p" "$A_KEY" '{"name":"x"} trailing'
	expect_err "$ep trailing garbage" 400 invalid_json
	req "$m" "$p" "$A_KEY" "{'name':'x'}"
	expect_err "$ep single-quoted JSON" 400 invalid_json
	req "$m" "$p" "$A_KEY" '{"name":"a","name":"b"}'
	check "$ep duplicate keys -> 400" status_is 400
	check "  with the error shape" error_shape
	for nonobj in '[]' '"name"' '42' 'null' 'true'; do
		req "$m" "$p" "$A_KEY" "$nonobj"
		check "$ep non-object body $nonobj -> 400" status_is 400
		check "  with the error shape" error_shape
	done
	req "$m" "$p" "$A_KEY" "" -H 'Content-Type: application/json' --data-binary ''
	check "$ep empty body -> 400" status_is 400
	nest=$(printf '%.0s[' $(seq 5000))$(printf '%.0s]' $(seq 5000))
	req "$m" "$p" "$A_KEY" "{\"settings\":{\"deep\":$nest}}"
	check "$ep 5000-deep nesting -> 400" status_is 400
done
req POST /auth/register "" "{\"email\":123,\"password\":\"$CP_PW\"}"
expect_err "register email 123" 400 invalid_type
req POST /auth/register "" "{\"email\":\"t-$CP_U@example.com\",\"password\":[\"$CP_PW\"]}"
expect_err "register password array" 400 invalid_type
req POST /auth/register "" "{\"email\":\"t-$CP_U@example.com\",\"password\":\"$CP_PW\",\"username\":null}"
check "register username null -> 201 or 400 invalid_type" sh -c "[ $code = 201 ] || { [ $code = 400 ] && jq -e '.error.code == \"invalid_type\"' '$T/body' >/dev/null; }"
req POST /auth/login "" '{"email":["a"],"password":"x"}'
expect_err "login email array" 400 invalid_type
req POST /auth/login "" "{\"email\":\"ia-$CP_U@example.com\",\"password\":\"$CP_PW\",\"remember\":true}"
expect_err "login with an unknown field" 400 unknown_field
req POST /user/api-keys "$A_KEY" '{"max_requests":1.5}'
expect_err "max_requests 1.5" 400 invalid_type
req POST /user/api-keys "$A_KEY" '{"ip_allowlist":"127.0.0.1"}'
expect_err "ip_allowlist a string" 400 invalid_type
req POST /user/api-keys "$A_KEY" '{"ip_allowlist":[127]}'
expect_err "ip_allowlist [127]" 400 invalid_type

# --- the body's charset: JSON is UTF-8 (RFC 8259); any other charset is refused, not misread --
utf16=$(printf '{"name":"utf16"}' | iconv -f UTF-8 -t UTF-16LE | base64 -w0)
printf '%s' "$utf16" | base64 -d >"$T/utf16.json"
for ct in 'application/json; charset=utf-16' 'application/json;charset="UTF-16LE"' \
	'application/json; charset=iso-8859-1' 'application/json; charset=' \
	'Application/JSON; Charset=UTF-32'; do
	for ep in "PUT /user/profile" "POST /user/api-keys" "POST /auth/login"; do
		read -r m p <<<"$ep"
		req "$m" "$p" "$A_KEY" "" -H "Content-Type: $ct" --data-binary '{"name":"charset"}'
		expect_err "$ep with Content-Type '$ct'" 415 unsupported_media_type
	done
done
req PUT /user/profile "$A_KEY" "" -H 'Content-Type: application/json; charset=utf-16' --data-binary "@$T/utf16.json"
expect_err "a UTF-16 body labelled utf-16" 415 unsupported_media_type
req GET /user/profile "$A_KEY"
check "  the refused bodies changed nothing" json_is '.name != "charset" and .name != "utf16"'
for ct in 'application/json; charset=utf-8' 'application/json;charset="UTF-8"' \
	'application/json; Charset=utf8' 'application/json ; charset = UTF-8'; do
	req PUT /user/profile "$A_KEY" "" -H "Content-Type: $ct" --data-binary '{"name":"utf8 ok"}'
	expect_status "PUT /user/profile with Content-Type '$ct'" 200
done

# --- afterwards everything still works and the bystander is untouched ----------------------
check "tollgate is alive" kill -0 "$tg_pid"
req GET /health
check "health still 200 with the database reachable" json_is '.database.reachable == true'
req GET /user/profile "$B_KEY"
check "bystander B's profile unchanged" same_json "$T/b-before.json" "$T/body"
cp_register iz || true
check "registration still works (users table intact)" status_is 201
req GET /user/profile "$A_KEY"
check "A still works" json_is ".id == \"$A_ID\""

finish
