#!/usr/bin/env bash
# t_cp_password.sh: PUT /user/password (current password, registration's rules, other sessions
# ended, audit row) and `tollgate admin reset-password EMAIL` (new password from stdin); no CLI
# command takes a password on argv.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq mariadb
# A scratch database: wrong passwords here count as failures of 127.0.0.1.
cp_scratch_db pw
stack_up "db.name=$SCRATCH"

cp_admin pwadm 10
AK=$ADMIN_KEY
cp_register pa || bail "register P ($code: $(head -c 200 "$T/body"))"
P_KEY=$REG_KEY P_ID=$REG_ID P_EMAIL=$REG_EMAIL
cp_login "$P_EMAIL"
TOK1=$TOKEN
cp_login "$P_EMAIL"
TOK2=$TOKEN
[ -n "$TOK1" ] && [ -n "$TOK2" ] || bail "two logins of P ($code)"
NEW_PW="Nw8-changed-Pq4z!"

# --- refusals change nothing --------------------------------------------------------------
pw() { req PUT /user/password "$1" "$2"; }
pw "$TOK1" "{\"current_password\":\"wrong-Password-1\",\"new_password\":\"$NEW_PW\"}"
check "wrong current_password -> 401 invalid_credentials param current_password" sh -c \
	"[ $code = 401 ] && jq -e '.error.code == \"invalid_credentials\" and .error.param == \"current_password\"' '$T/body' >/dev/null"
pw "$TOK1" "{\"new_password\":\"$NEW_PW\"}"
check "no current_password -> 400" sh -c "[ $code = 400 ] && jq -e '.error.param == \"current_password\"' '$T/body' >/dev/null"
for bad in short aaaaaaaaaaaaaa password123 "xx${P_EMAIL%@*}yy"; do
	pw "$TOK1" "{\"current_password\":\"$CP_PW\",\"new_password\":\"$bad\"}"
	check "new_password '$bad' -> 400 weak_password param new_password" sh -c \
		"[ $code = 400 ] && jq -e '.error.code == \"weak_password\" and .error.param == \"new_password\"' '$T/body' >/dev/null"
done
pw "$TOK1" "{\"current_password\":\"$CP_PW\",\"new_password\":\"$NEW_PW\",\"email\":\"x@example.com\"}"
expect_err "unknown field" 400 unknown_field
cp_login "$P_EMAIL"
check "after the refusals the old password still logs in" status_is 200
check "  and the other session still works" test "$(status_of "$TOK2")" = 200

# --- the change -----------------------------------------------------------------------------
pw "$TOK1" "{\"current_password\":\"$CP_PW\",\"new_password\":\"$NEW_PW\"}"
expect_status "PUT /user/password" 204
check "the session that changed it still works" test "$(status_of "$TOK1")" = 200
check "every other session of the user ended (401)" test "$(status_of "$TOK2")" = 401
check "API keys keep working" test "$(status_of "$P_KEY")" = 200
cp_login "$P_EMAIL"
check "the old password no longer logs in" status_is 401
cp_login "$P_EMAIL" "$NEW_PW"
check "the new one does" status_is 200
TOK3=$TOKEN
req GET "/admin/audit?action=user.password_change&target=$P_ID" "$AK"
check "an audit row user.password_change for P, no password or hash in it" sh -c \
	"[ $code = 200 ] && jq -e '.total == 1' '$T/body' >/dev/null && ! grep -q -e '$NEW_PW' -e argon2 '$T/body'"
# A key changes it too (with the current password); every session ends then.
pw "$P_KEY" "{\"current_password\":\"$NEW_PW\",\"new_password\":\"$CP_PW\"}"
expect_status "PUT /user/password with the primary key" 204
check "  every session ended" test "$(status_of "$TOK3")" = 401

# --- tollgate admin reset-password EMAIL (stdin) --------------------------------------------
cp_login "$P_EMAIL"
TOK4=$TOKEN
reset() { printf '%s\n' "$2" | "$TOLLGATE_BIN" -c "$CONF" admin reset-password "$1" >"$T/reset.out" 2>"$T/reset.err"; }
reset "$P_EMAIL" "aaaaaaaaaaaa" && rc=0 || rc=$?
check "reset-password with a weak password fails (exit $rc)" test "$rc" -ne 0
reset "$P_EMAIL" "" && rc=0 || rc=$?
check "reset-password with nothing on stdin fails (exit $rc)" test "$rc" -ne 0
reset "nobody-$CP_U@example.com" "$NEW_PW" && rc=0 || rc=$?
check "reset-password of an unknown email fails (exit $rc)" test "$rc" -ne 0
cp_login "$P_EMAIL"
check "after the failed resets the password is unchanged" status_is 200
reset "$P_EMAIL" "$NEW_PW" && rc=0 || rc=$?
check "reset-password EMAIL with the password on stdin (exit $rc; $(head -c 200 "$T/reset.err"))" test "$rc" -eq 0
check "  no password in its output" sh -c "! grep -q -e '$NEW_PW' '$T/reset.out' '$T/reset.err'"
check "  every session ended" test "$(status_of "$TOK4")" = 401
cp_login "$P_EMAIL" "$NEW_PW"
check "  the new password logs in" status_is 200
req GET "/admin/audit?action=user.password_reset&target=$P_ID" "$AK"
check "  an audit row user.password_reset" json_is '.total == 1'

# --- no password on argv --------------------------------------------------------------------
E1="argv-$CP_U@example.com"
"$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$E1" --password "$CP_PW" >/dev/null 2>"$T/argv.err" && rc=0 || rc=$?
check "create-user --password P is refused (exit $rc)" test "$rc" -eq 2
check "  saying to use --password-stdin" grep -q -- '--password-stdin' "$T/argv.err"
cp_login "$E1"
check "  and made no user" status_is 401
E2="stdin-$CP_U@example.com"
printf '%s\n' "$CP_PW" | "$TOLLGATE_BIN" -c "$CONF" admin create-user --email "$E2" --password-stdin \
	>"$T/stdin.out" 2>"$T/stdin.err" && rc=0 || rc=$?
check "create-user --password-stdin (exit $rc)" test "$rc" -eq 0
check "  prints a key" key_format "$(head -n 1 "$T/stdin.out")"
cp_login "$E2"
check "  the user logs in with the password from stdin" status_is 200

finish
