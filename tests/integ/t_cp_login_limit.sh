#!/usr/bin/env bash
# t_cp_login_limit.sh: more than 10 failed logins within the window -> 429 too_many_attempts
# with Retry-After. On a scratch database, because the per-IP counter (every test connects
# from 127.0.0.1) would otherwise lock out the parallel tests' logins.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/cp_lib.sh"

need_db
need_bin
need_cmd nginx curl jq mariadb
make_tmp
cp_scratch_db login
stack_up "db.name=$SCRATCH"

cp_register ll || bail "register ($code: $(head -c 200 "$T/body"))"
EM=$REG_EMAIL
cp_login "$EM"
expect_status "correct password before any failure" 200
req POST /auth/logout "$TOKEN"

for i in $(seq 10); do
	req POST /auth/login "" "{\"email\":\"$EM\",\"password\":\"Wrong-password-$i\"}"
	expect_err "failed login $i of 10" 401 invalid_credentials
done
req POST /auth/login "" "{\"email\":\"$EM\",\"password\":\"Wrong-password-11\"}"
expect_err "failed login 11" 429 too_many_attempts
ra=$(hdr retry-after)
check "429 has Retry-After in seconds, 1..900 ($ra)" sh -c "echo '$ra' | grep -Eqx '[0-9]+' && [ '$ra' -ge 1 ] && [ '$ra' -le 900 ]"
cp_login "$EM"
expect_err "the right password during the lockout" 429 too_many_attempts
check "  also with Retry-After" test -n "$(hdr retry-after)"
# The same IP has 10+ failures too: another account from it is refused as well.
cp_register lm || not_ok "register a second user ($code)"
cp_login "$REG_EMAIL"
expect_err "another email from the locked-out IP" 429 too_many_attempts
# Keys are not affected by login lockouts.
req GET /user/profile "$REG_KEY"
check "API keys still work during a login lockout" status_is 200

finish
