#!/usr/bin/env bash
# t_cp_throttle.sh: registration per client address (IPv6 by /64); login failures counted per
# (email, address) and per address, never per email alone, so failures from one address do not
# lock the email out from another; password checks (DELETE /user/account, PUT /user/password)
# throttled the same way. Other addresses come from one-shot CGI requests with REMOTE_ADDR.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
# A scratch database: the counters of 127.0.0.1 would lock out the parallel tests.
cp_scratch_db thr
stack_up "db.name=$SCRATCH" auth.login_max_failures=3 auth.login_max_failures_per_address=10 \
	auth.register_per_hour=3

# cgi METHOD PATH ADDR [JSON [CRED]]: one request served as CGI with REMOTE_ADDR=ADDR; sets
# $code and $T/body.
cgi() {
	local body=${4:-} cred=${5:-} out
	out=$(printf '%s' "$body" | env -i PATH="$PATH" REQUEST_METHOD="$1" REQUEST_URI="$2" \
		REMOTE_ADDR="$3" CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} \
		${cred:+HTTP_AUTHORIZATION="Bearer $cred"} "$TOLLGATE_BIN" -c "$CONF" 2>>"$T/log/cgi.err")
	code=$(printf '%s\n' "$out" | sed -n '1s/^Status: \([0-9]*\).*/\1/p')
	[ -n "$code" ] || code=200
	printf '%s\n' "$out" | sed '1,/^\r\?$/d' >"$T/body"
}
# cli_user TAG: a user made with the CLI (no registration counted); sets U_EMAIL, U_KEY.
cli_user() {
	U_EMAIL="$1-$CP_U@example.com"
	U_KEY=$(printf '%s\n' "$CP_PW" | "$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$U_EMAIL" \
		--password-stdin 2>>"$T/log/cli.err") || true
	key_format "$U_KEY" || bail "create user $1 ($(tail -n 2 "$T/log/cli.err"))"
}
login_json() { echo "{\"email\":\"$1\",\"password\":\"${2:-$CP_PW}\"}"; }
reg_json() { echo "{\"email\":\"$1-$CP_U@example.com\",\"password\":\"$CP_PW\"}"; }

# --- password checks: 3 wrong ones from an address, then 429 even with the right one ------
cli_user x
X_KEY=$U_KEY
for i in 1 2 3; do
	req DELETE /user/account "$X_KEY" '{"password":"Wrong-password-'$i'"}'
	expect_err "DELETE /user/account, wrong password $i of 3" 401 invalid_credentials
done
req DELETE /user/account "$X_KEY" "{\"password\":\"$CP_PW\"}"
expect_err "DELETE /user/account with the right password after 3 failures" 429 too_many_attempts
check "  with Retry-After" sh -c "echo '$(hdr retry-after)' | grep -Eqx '[0-9]+'"
req PUT /user/password "$X_KEY" "{\"current_password\":\"$CP_PW\",\"new_password\":\"Nw8-changed-Pq4z!\"}"
expect_err "PUT /user/password during the lockout" 429 too_many_attempts
check "the account was not deleted (its key works)" test "$(status_of "$X_KEY")" = 200
cgi PUT /user/password 10.20.30.40 "{\"current_password\":\"$CP_PW\",\"new_password\":\"Nw8-changed-Pq4z!\"}" "$X_KEY"
check "the same user from another address may change the password ($code)" status_is 204

# --- logins: (email, address) and address; never the email alone ---------------------------
cli_user v
V_EMAIL=$U_EMAIL
cli_user w
W_EMAIL=$U_EMAIL
for i in 1 2 3; do
	req POST /auth/login "" "$(login_json "$V_EMAIL" "Wrong-password-$i")"
	expect_err "V: failed login $i of 3 from 127.0.0.1" 401 invalid_credentials
done
req POST /auth/login "" "$(login_json "$V_EMAIL")"
expect_err "V from 127.0.0.1 after 3 failures" 429 too_many_attempts
cgi POST /auth/login 10.9.8.7 "$(login_json "$V_EMAIL")"
check "V from another address logs in (200, got $code)" sh -c "[ $code = 200 ] && jq -e '.token | startswith(\"gws_\")' '$T/body' >/dev/null"
req POST /auth/login "" "$(login_json "$W_EMAIL")"
expect_status "W from 127.0.0.1 (6 failures there, under the address's 10)" 200
for i in 1 2 3 4; do
	req POST /auth/login "" "$(login_json "nobody$i-$CP_U@example.com" "Wrong-password-$i")"
done
req POST /auth/login "" "$(login_json "$W_EMAIL")"
expect_err "W from 127.0.0.1 once the address has 10 failures" 429 too_many_attempts
cgi POST /auth/login 10.9.8.7 "$(login_json "$W_EMAIL")"
expect_status "W from another address" 200

# IPv6 counts by /64: ten failures from ten addresses of one /64 close the whole /64.
for i in 1 2 3 4 5 6 7 8 9 10; do
	cgi POST /auth/login "2001:db8:5:6::$i" "$(login_json "v6-$i-$CP_U@example.com" "Wrong-password-$i")"
done
cgi POST /auth/login 2001:db8:5:6::99 "$(login_json "$V_EMAIL")"
expect_err "V from 2001:db8:5:6::99 after 10 failures in 2001:db8:5:6::/64" 429 too_many_attempts
cgi POST /auth/login 2001:db8:5:7::1 "$(login_json "$V_EMAIL")"
expect_status "V from 2001:db8:5:7::1 (another /64)" 200

# --- registration: 3 an hour per address (IPv6: per /64) ------------------------------------
for i in 1 2 3; do
	req POST /auth/register "" "$(reg_json "r$i")"
	expect_status "registration $i of 3 from 127.0.0.1" 201
done
req POST /auth/register "" "$(reg_json r4)"
expect_err "the 4th registration from 127.0.0.1 in the hour" 429 too_many_registrations
check "  with Retry-After" sh -c "echo '$(hdr retry-after)' | grep -Eqx '[0-9]+'"
cgi POST /auth/login 10.77.0.1 "$(login_json "r4-$CP_U@example.com")"
check "  and no account was made (login from a fresh address: 401)" status_is 401
cgi POST /auth/register 10.1.2.3 "$(reg_json r5)"
expect_status "a registration from another address" 201
for i in 1 2 3; do
	cgi POST /auth/register "2001:db8:1:2::$i" "$(reg_json "s$i")"
	expect_status "registration $i of 3 from 2001:db8:1:2::/64" 201
done
cgi POST /auth/register 2001:db8:1:2:ffff::1 "$(reg_json s4)"
expect_err "a 4th from another address of the same /64" 429 too_many_registrations
cgi POST /auth/register 2001:db8:1:3::1 "$(reg_json s5)"
expect_status "one from the next /64" 201

finish
