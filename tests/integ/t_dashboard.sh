#!/usr/bin/env bash
# t_dashboard.sh: the dashboard (www/app) in chromium behind nginx with the contract's CSP:
# sign up (the primary key shown once), sign out and in, the overview's figures after a real
# request (mock provider), the keys page
# (a restricted key made through the form and shown once, rotate with grace, disable, enable,
# revoke), the CSRF token required (from the page and from curl with the cookie), the account
# page (password change), axe on every page, no offsite request, no console error, and
# screenshots of each page light/dark, desktop/390 px into var/screenshots/; then the sign-up
# page with registration closed and by invite (tests/browser/signup_modes.mjs).
# The browser side is tests/browser/dashboard.mjs; this script checks what it did against the
# database and with curl.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat browser

test_begin --mock nginx curl jq
browser_setup
# A database of its own (the catalogue is global state) with the mock provider's models, so
# the overview shows a real request and its cost.
cp_scratch_db dash
mock_up
chat_catalog
browser_stack "db.name=$SCRATCH"
cp_admin dashadm 100
DB=$SCRATCH

# The static files carry the contract's headers.
http GET "$APP"
check "GET /app/ -> 200 from nginx (www/app/index.html)" status_is 200
check "/app/ has the contract's CSP" header_has content-security-policy "default-src 'none'; script-src 'self'; style-src 'self'"
check "/app/ index.html is not cached" header_has cache-control 'no-cache'
check "the shell has no inline script or style attribute" \
	sh -c "! grep -Eqi '<script>|<script [^>]*>[^<]|style=| on[a-z]+=' '$TOLLGATE_SRCDIR/www/app/index.html'"

export DASH_EMAIL="dash-$CP_U@example.com" DASH_PW=$CP_PW DASH_PW2="Pw2-$CP_PW" \
	ADMIN_KEY COOKIE_FILE=$T/cookie
browser_run dashboard.mjs

# What the browser did, as the database has it. The user and its keys exist.
uid=$(sql "$DB" -e "SELECT id FROM users WHERE email = '$DASH_EMAIL'")
check "the user signed up in the browser exists" test -n "$uid"
restricted=$(sql "$DB" -e "SELECT CONCAT_WS(' ', environment, max_requests,
	credit_limit, JSON_LENGTH(ip_allowlist), JSON_LENGTH(allowed_models), expires_at IS NOT NULL,
	revoked_at IS NOT NULL) FROM api_keys WHERE user_id = '$uid' AND name = 'ci-restricted'")
note "the restricted key's row: $restricted"
check "the restricted key made in the browser has its restrictions and was revoked (one row)" \
	test "$restricted" = "test 100 1500000000 2 1 1 1"

# CSRF: the session cookie without the X-CSRF-Token header changes nothing (403 csrf_failed).
if [ -s "$COOKIE_FILE" ]; then
	nkeys() { sql "$DB" -e "SELECT COUNT(*) FROM api_keys WHERE user_id = '$uid'"; }
	before=$(nkeys)
	req POST /user/api-keys "" '{"name":"csrf-curl"}' -H "Cookie: tollgate_session=$(cat "$COOKIE_FILE")"
	expect_err "curl with the session cookie and no X-CSRF-Token: 403" 403 csrf_failed
	check "... and no key was made ($before keys before, $(nkeys) after)" test "$(nkeys)" = "$before"
	req GET /user/api-keys "" "" -H "Cookie: tollgate_session=$(cat "$COOKIE_FILE")"
	check "the same cookie reads (GET needs no CSRF token)" status_is 200
else
	not_ok "the browser script left the session cookie in $COOKIE_FILE"
fi
# The sign-up page under the other registration modes (a restart with each).
cp_restart "db.name=$SCRATCH" "auth.registration=closed"
export SIGNUP_MODE=closed SIGNUP_EMAIL="inv-$CP_U@example.com" SIGNUP_PW=$CP_PW INVITE_CODE=""
browser_run signup_modes.mjs
cp_restart "db.name=$SCRATCH" "auth.registration=invite"
req POST /admin/invites "$ADMIN_KEY" '{"count":1}'
INVITE_CODE=$(jv '.codes[0] // empty')
check "an admin makes an invite code" test -n "$INVITE_CODE"
SIGNUP_MODE=invite browser_run signup_modes.mjs
req GET /auth/config
check "(the server is in invite mode)" json_is '.registration == "invite"'
check "the invited user exists" test -n "$(sql "$DB" -e "SELECT id FROM users WHERE email = '$SIGNUP_EMAIL'")"

ls "$TOLLGATE_SHOTS"/dashboard-*.png 2>/dev/null | sed 's/^/# screenshot: /'
check "16 screenshots (4 pages, light/dark, desktop/phone) in $TOLLGATE_SHOTS" \
	test "$(ls "$TOLLGATE_SHOTS"/dashboard-*.png 2>/dev/null | wc -l)" -ge 16

finish
