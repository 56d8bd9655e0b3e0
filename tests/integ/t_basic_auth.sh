#!/usr/bin/env bash
# t_basic_auth.sh: HTTP Basic for admins (issue 18, seed 004; [auth] basic): an admin's email
# and password work on admin routes, /api/status and /api/keys; a non-admin's correct Basic
# credential is 403; Basic on a non-admin route is 401 saying it is for admin routes; a wrong
# password is 401 and counts toward the login throttle exactly like /auth/login (the 4th
# failure with login_max_failures=3 is 429 with Retry-After, for Basic and for /auth/login
# alike, and the right password is then refused too); nothing changes on a refusal; a
# non-Bearer Authorization header does not shadow X-API-Key; [auth] basic = off refuses it.
# On a scratch database: the per-address failure counter must not lock out parallel tests.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
cp_scratch_db basic
stack_up "db.name=$SCRATCH" auth.login_max_failures=3 auth.login_max_failures_per_address=100

# basic EMAIL PASSWORD: the Authorization header value.
basic() { printf 'Basic %s' "$(printf '%s:%s' "$1" "$2" | base64 -w0)"; }
# bget PATH EMAIL PASSWORD [curl args]: GET with Basic.
bget() {
	local p=$1 e=$2 pw=$3
	shift 3
	http GET "$URL$p" -H "Authorization: $(basic "$e" "$pw")" "$@"
}
# nkeys: live API keys in the database (a refusal must create none).
nkeys() { sql "$SCRATCH" -e "SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL"; }

AD_EMAIL="adm-$CP_U@example.com"
AK=$(echo "$CP_PW" | "$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$AD_EMAIL" --admin \
	--password-stdin --credits 10 2>"$T/log/create.err") || true
key_format "$AK" || bail "admin create-user with a password ($(head -c 300 "$T/log/create.err"))"
cp_register plain || bail "register a user ($code)"
U_EMAIL=$REG_EMAIL U_KEY=$REG_KEY

# --- an admin's password on admin routes --------------------------------------------------
bget /api/status "$AD_EMAIL" "$CP_PW"
check "GET /api/status with the admin's Basic -> 200" status_is 200
bget /admin/users "$AD_EMAIL" "$CP_PW"
check "GET /admin/users with Basic -> 200, listing the user" sh -c \
	"[ $code = 200 ] && grep -q '$U_EMAIL' '$T/body'"
bget /api/keys "$AD_EMAIL" "$CP_PW"
check "GET /api/keys with Basic -> 200" status_is 200
bget /api/status "$(echo "$AD_EMAIL" | tr a-z A-Z)" "$CP_PW"
check "the email is matched case-insensitively, as by /auth/login" status_is 200

# --- refusals -----------------------------------------------------------------------------
k0=$(nkeys)
bget /api/status "$U_EMAIL" "$CP_PW"
expect_err "a non-admin's correct Basic credential" 403 insufficient_permissions
bget /user/profile "$AD_EMAIL" "$CP_PW"
expect_err "Basic on a non-admin route, even an admin's" 401 invalid_api_key
check "  its message says Basic is for admin routes" json_is '.error.message | test("admin routes")'
http POST "$URL/v1/chat/completions" -H "Authorization: $(basic "$AD_EMAIL" "$CP_PW")" \
	-H 'Content-Type: application/json' --data-binary '{"model":"x","messages":[]}'
expect_err "Basic on the data plane" 401 invalid_api_key
http GET "$URL/api/status" -H 'Authorization: Basic !!!notbase64'
expect_err "a Basic value that is no base64" 401 invalid_credentials
http GET "$URL/api/status" -H "Authorization: Basic $(printf 'no-colon' | base64 -w0)"
expect_err "a Basic value without a colon" 401 invalid_credentials
http POST "$URL/api/keys" -H "Authorization: $(basic "$U_EMAIL" "$CP_PW")" \
	-H 'Content-Type: application/json' --data-binary '{"name":"nope","rateLimit":5}'
expect_err "a non-admin creating a key on /api/keys" 403 insufficient_permissions
check "no key was created by the refusals" eq "$(nkeys)" "$k0"

# --- a non-Bearer Authorization header does not shadow X-API-Key --------------------------
http GET "$URL/user/profile" -H "Authorization: Basic $(printf 'x:y' | base64 -w0)" -H "X-API-Key: $U_KEY"
check "Basic + X-API-Key on a user route -> 200 by the key" sh -c \
	"[ $code = 200 ] && jq -e '.email == \"$U_EMAIL\"' '$T/body' >/dev/null"
http GET "$URL/user/profile" -H "Authorization: Token abc" -H "X-API-Key: $U_KEY"
check "another scheme + X-API-Key -> 200 by the key" status_is 200
http GET "$URL/user/profile" -H "Authorization: Token abc"
expect_err "another scheme alone" 401 missing_api_key
http GET "$URL/api/status" -H "Authorization: $(basic "$U_EMAIL" "$CP_PW")" -H "X-API-Key: $AK"
check "Basic of a user + the admin's X-API-Key on /api/status -> 200 (the key comes first)" status_is 200

# --- wrong passwords count toward the login throttle --------------------------------------
for i in 1 2 3; do
	bget /api/status "$AD_EMAIL" "Wrong-password-$i"
	expect_err "wrong Basic password $i of 3" 401 invalid_credentials
done
bget /api/status "$AD_EMAIL" "Wrong-password-4"
expect_err "the 4th wrong Basic password" 429 too_many_attempts
check "  with Retry-After" test -n "$(hdr retry-after)"
bget /api/status "$AD_EMAIL" "$CP_PW"
expect_err "the right Basic password during the lockout" 429 too_many_attempts
req POST /auth/login "" "{\"email\":\"$AD_EMAIL\",\"password\":\"$CP_PW\"}"
expect_err "POST /auth/login during the lockout Basic caused" 429 too_many_attempts
http GET "$URL/api/status" -H "Authorization: Bearer $AK"
check "the admin's API key still works during the lockout" status_is 200
check "the failures are in the login counter (auth_failures)" test \
	"$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM auth_failures WHERE subject LIKE 'pw:$AD_EMAIL|%'")" -ge 1

# ... and the other way round: /auth/login failures lock Basic out.
cp_admin second 1
A2=$ADMIN_EMAIL
echo "$CP_PW" | "$TOLLGATE_BIN" -c "$CONF" admin reset-password "$A2" >/dev/null 2>&1 ||
	bail "set the second admin's password"
bget /api/status "$A2" "$CP_PW"
check "a second admin's Basic -> 200" status_is 200
for i in 1 2 3; do
	req POST /auth/login "" "{\"email\":\"$A2\",\"password\":\"Wrong-password-$i\"}"
done
bget /api/status "$A2" "$CP_PW"
expect_err "Basic after 3 failed /auth/login" 429 too_many_attempts

# --- [auth] basic = off -------------------------------------------------------------------
cp_restart "db.name=$SCRATCH" auth.basic=off
cp_admin third 1
A3=$ADMIN_EMAIL
echo "$CP_PW" | "$TOLLGATE_BIN" -c "$CONF" admin reset-password "$A3" >/dev/null 2>&1 ||
	bail "set the third admin's password"
bget /api/status "$A3" "$CP_PW"
expect_err "[auth] basic = off: an admin's Basic" 401 invalid_api_key
check "  its message names the setting" json_is '.error.message | test("basic")'

finish
