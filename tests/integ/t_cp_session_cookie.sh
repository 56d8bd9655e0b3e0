#!/usr/bin/env bash
# t_cp_session_cookie.sh: the dashboard's cookie session: login with cookie:true, the cookie's
# attributes (HttpOnly, SameSite=Strict, Path, Secure only over TLS), /auth/session, the CSRF
# token on every state-changing request, header credentials winning over the cookie, logout
# clearing it, /auth/config, and the /app /docs /redoc redirects.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq
need_cmd cgi-fcgi
stack_up

cp_register sc || bail "register ($code: $(head -c 200 "$T/body"))"
K=$REG_KEY EMAIL=$REG_EMAIL
JAR=$T/jar

# cookie_of: the tollgate_session value of the last Set-Cookie.
cookie_of() { hdr set-cookie | sed -n 's/^tollgate_session=\([^;]*\);.*/\1/p'; }
# creq METHOD PATH [JSON [curl args]]: a request with the session cookie only.
creq() {
	local m=$1 p=$2
	local -a a=(-H "Cookie: tollgate_session=$SESS")
	if [ $# -ge 3 ]; then
		[ -z "$3" ] || a+=(-H 'Content-Type: application/json' --data-binary "$3")
		shift 3
	else
		shift 2
	fi
	http "$m" "$URL$p" "${a[@]}" "$@"
}
nkeys() { sql "$TOLLGATE_TEST_DB_NAME" -e "SELECT COUNT(*) FROM api_keys k JOIN users u ON u.id = k.user_id WHERE u.email = '$EMAIL'"; }

# --- login with cookie: true ----------------------------------------------------------------
req POST /auth/login "" "{\"email\":\"$EMAIL\",\"password\":\"$CP_PW\",\"cookie\":true}"
check "login with cookie:true -> 200" status_is 200
SESS=$(cookie_of)
CSRF=$(jv '.csrf_token // empty')
check "the Set-Cookie holds a session token" sh -c "echo '$SESS' | grep -Eqx 'gws_[A-Za-z0-9]{40}'"
check "the body has no token (the page's scripts never see it)" json_is 'has("token") | not'
check "the body has a 64-hex csrf_token, the user and expires_at" \
	json_is '(.csrf_token | test("^[0-9a-f]{64}$")) and .user.email != null and .expires_at != null'
check "the cookie is HttpOnly" header_has set-cookie 'HttpOnly'
check "the cookie is SameSite=Strict" header_has set-cookie 'SameSite=Strict'
check "the cookie's Path is the mount (/)" header_has set-cookie 'Path=/;'
check "the cookie lives as long as the session (Max-Age=43200)" header_has set-cookie 'Max-Age=43200'
check "no Secure over plain HTTP (the browser would drop it)" sh -c "! hdr set-cookie | grep -q Secure"
check "the login answer is not cached" no_store
check "the session token is not in the log" sh -c "! grep -q '$SESS' '$LOG'"

req POST /auth/login "" "{\"email\":\"$EMAIL\",\"password\":\"$CP_PW\",\"cookie\":\"yes\"}"
expect_err "cookie must be a boolean" 400 invalid_type
req POST /auth/login "" "{\"email\":\"$EMAIL\",\"password\":\"$CP_PW\"}"
check "login without cookie: the Bearer token as before, no Set-Cookie" \
	sh -c "[ $code = 200 ] && jq -e '.token | startswith(\"gws_\")' '$T/body' >/dev/null && [ -z \"\$(grep -i '^set-cookie' '$T/hdr')\" ]"
BEARER_SESS=$(jv .token)

# --- /auth/session ------------------------------------------------------------------------------
creq GET /auth/session
check "GET /auth/session with the cookie -> 200, the user and the same csrf_token" \
	sh -c "[ $code = 200 ] && jq -e '.user.email == \"$EMAIL\" and .csrf_token == \"$CSRF\" and (.expires_at | test(\"Z$\"))' '$T/body' >/dev/null"
check "/auth/session is not cached" no_store
http GET "$URL/auth/session"
check "GET /auth/session without any credential -> 200 with user null (nothing for a console to flag)" \
	sh -c "[ $code = 200 ] && jq -e '.user == null and .csrf_token == null and .expires_at == null' '$T/body' >/dev/null"
http GET "$URL/auth/session" -H "Authorization: Bearer $(flip_last "$K")"
expect_err "GET /auth/session with a bad key" 401 invalid_api_key
http GET "$URL/auth/session" -H "Cookie: tollgate_session=gws_$(printf 'x%.0s' {1..40})"
expect_err "an unknown session cookie" 401 invalid_session
http GET "$URL/auth/session" -H "Cookie: tollgate_session=$K"
expect_err "an API key in the cookie is not a session" 401 invalid_session
http GET "$URL/auth/session" -H "Cookie: a=1; tollgate_session=$SESS; b=2"
check "the cookie is found among others" status_is 200
req GET /auth/session "$K"
expect_err "/auth/session with an API key" 400 not_a_session
req GET /auth/session "$BEARER_SESS"
check "/auth/session with a Bearer session token -> 200 with its own csrf_token" \
	sh -c "[ $code = 200 ] && jq -e '.csrf_token != \"$CSRF\"' '$T/body' >/dev/null"
OTHER_CSRF=$(jv .csrf_token)

# --- CSRF --------------------------------------------------------------------------------------
creq GET /user/profile
check "a GET with the cookie needs no CSRF token" status_is 200
before=$(nkeys)
creq POST /user/api-keys '{"name":"no-csrf"}'
expect_err "POST with the cookie and no X-CSRF-Token" 403 csrf_failed
# The token with its last hex digit changed (0 <-> 1, else 0).
case ${CSRF: -1} in 0) BAD_CSRF=${CSRF%?}1 ;; *) BAD_CSRF=${CSRF%?}0 ;; esac
creq POST /user/api-keys '{"name":"bad-csrf"}' -H "X-CSRF-Token: $BAD_CSRF"
expect_err "POST with a wrong X-CSRF-Token" 403 csrf_failed
creq POST /user/api-keys '{"name":"short-csrf"}' -H "X-CSRF-Token: ${CSRF:0:32}"
expect_err "POST with a truncated X-CSRF-Token" 403 csrf_failed
creq POST /user/api-keys '{"name":"other-csrf"}' -H "X-CSRF-Token: $OTHER_CSRF"
expect_err "POST with another session's CSRF token" 403 csrf_failed
after=$(nkeys)
check "no key was created by the refused requests" [ "$after" = "$before" ]
creq POST /user/api-keys '{"name":"with-csrf"}' -H "X-CSRF-Token: $CSRF"
check "POST with the cookie and the CSRF token -> 201" status_is 201
KID=$(jv .key.id)
creq PUT "/user/api-keys/$KID" '{"name":"renamed"}'
expect_err "PUT with the cookie and no CSRF token" 403 csrf_failed
creq DELETE "/user/api-keys/$KID"
expect_err "DELETE with the cookie and no CSRF token" 403 csrf_failed
name=$(sql "$TOLLGATE_TEST_DB_NAME" -e "SELECT name FROM api_keys WHERE public_id = '$KID'")
check "the key is still there, unrenamed" [ "$name" = with-csrf ]
creq DELETE "/user/api-keys/$KID" "" -H "X-CSRF-Token: $CSRF"
check "DELETE with the CSRF token -> 204" status_is 204
creq POST /v1/quote '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}'
expect_err "the data plane (POST /v1/quote) with the cookie and no CSRF token" 403 csrf_failed
creq PUT /user/password "{\"current_password\":\"$CP_PW\",\"new_password\":\"Another-pass-123\"}"
expect_err "a password change with the cookie and no CSRF token" 403 csrf_failed

# A header credential wins over the cookie: no CSRF token needed, and it acts as the key.
before=$(nkeys)
http POST "$URL/user/api-keys" -H "Cookie: tollgate_session=$SESS" -H "Authorization: Bearer $K" \
	-H 'Content-Type: application/json' --data-binary '{"name":"by-key"}'
check "Bearer key + cookie: the key is the credential (201 without a CSRF token)" status_is 201
http POST "$URL/user/api-keys" -H "Cookie: tollgate_session=$SESS" -H "Authorization: Bearer $(flip_last "$K")" \
	-H 'Content-Type: application/json' --data-binary '{"name":"bad-key"}'
expect_err "a bad Bearer key + a good cookie: the key decides (no fallback)" 401 invalid_api_key

# --- admin routes through the cookie -----------------------------------------------------------
cp_admin scadm
printf '%s\n' "$CP_PW" | "$TOLLGATE_BIN" -c "$CONF" admin reset-password "$ADMIN_EMAIL" >/dev/null 2>&1 ||
	bail "set the admin's password"
req POST /auth/login "" "{\"email\":\"$ADMIN_EMAIL\",\"password\":\"$CP_PW\",\"cookie\":true}"
ASESS=$(cookie_of) ACSRF=$(jv .csrf_token)
bal() { sql "$TOLLGATE_TEST_DB_NAME" -e "SELECT a.balance FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.email = '$EMAIL'"; }
b0=$(bal)
http POST "$URL/admin/add_credits" -H "Cookie: tollgate_session=$ASESS" \
	-H 'Content-Type: application/json' --data-binary "{\"email\":\"$EMAIL\",\"amount_usd\":\"1.50\"}"
expect_err "admin add_credits with the cookie and no CSRF token" 403 csrf_failed
b1=$(bal)
check "the balance did not move" [ "$b1" = "$b0" ]
http POST "$URL/admin/add_credits" -H "Cookie: tollgate_session=$ASESS" -H "X-CSRF-Token: $ACSRF" \
	-H 'Content-Type: application/json' --data-binary "{\"email\":\"$EMAIL\",\"amount_usd\":\"1.50\"}"
check "admin add_credits with the cookie and its CSRF token -> 200" status_is 200
b1=$(bal)
check "the balance moved by exactly 1.50 USD" [ $((b1 - b0)) = 1500000000 ]
http POST "$URL/admin/add_credits" -H "Cookie: tollgate_session=$SESS" -H "X-CSRF-Token: $CSRF" \
	-H 'Content-Type: application/json' --data-binary "{\"email\":\"$EMAIL\",\"amount_usd\":\"1\"}"
expect_err "a non-admin's cookie on an admin route" 403 insufficient_permissions

# --- Secure over TLS (the web server's HTTPS param), straight to the FastCGI socket -------------
body="{\"email\":\"$EMAIL\",\"password\":\"$CP_PW\",\"cookie\":true}"
printf '%s' "$body" | env -i REQUEST_METHOD=POST REQUEST_URI=/auth/login SCRIPT_NAME= \
	CONTENT_TYPE=application/json CONTENT_LENGTH=${#body} HTTPS=on REMOTE_ADDR=127.0.0.1 \
	cgi-fcgi -bind -connect "$SOCK" >"$T/tls.out" 2>&1
check "over TLS the cookie is Secure" grep -qi '^set-cookie:.*SameSite=Strict; Secure' "$T/tls.out"

# --- a password change from the cookie session keeps that session and ends the others --------
creq PUT /user/password "{\"current_password\":\"$CP_PW\",\"new_password\":\"Another-pass-123\"}" -H "X-CSRF-Token: $CSRF"
check "a password change with the cookie and its CSRF token -> 204" status_is 204
creq GET /user/profile
check "the cookie session that changed the password still works" status_is 200
req GET /user/profile "$BEARER_SESS"
expect_err "the other (Bearer) session ended with the password change" 401 invalid_session

# --- logout --------------------------------------------------------------------------------------
creq POST /auth/logout
expect_err "logout with the cookie and no CSRF token" 403 csrf_failed
creq GET /user/profile
check "the session still works after the refused logout" status_is 200
creq POST /auth/logout "" -H "X-CSRF-Token: $CSRF"
check "logout with the CSRF token -> 204" status_is 204
check "logout clears the cookie (empty value, Max-Age=0)" header_has set-cookie '^tollgate_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict'
creq GET /auth/session
expect_err "the cookie after logout" 401 invalid_session

# --- /auth/config and the redirects -------------------------------------------------------------
http GET "$URL/auth/config"
check "/auth/config tells the registration mode without a credential" json_is '.registration == "open"'
for p in app docs redoc; do
	http GET "$URL/$p"
	loc=$(hdr location)
	check "/$p -> 301 to /$p/" [ "$code $loc" = "301 /$p/" ]
done
cp_restart "auth.registration=invite" "server.mount_prefix=/tollgate"
http GET "$URL/tollgate/auth/config"
check "/auth/config says invite when registration is by invite" json_is '.registration == "invite"'
http GET "$URL/tollgate/app"
loc=$(hdr location)
check "under a mount prefix /app -> 301 to /tollgate/app/" [ "$code $loc" = "301 /tollgate/app/" ]
req POST /tollgate/auth/login "" "{\"email\":\"$EMAIL\",\"password\":\"Another-pass-123\",\"cookie\":true}"
check "under a mount prefix the cookie's Path is the prefix" header_has set-cookie 'Path=/tollgate/;'

finish
