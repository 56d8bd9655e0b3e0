#!/usr/bin/env bash
# t_dashboard_admin.sh: the admin pages and the API reference in Chromium (tests/browser/
# admin.mjs): an admin adds credits on the Users page and the user's balance moves (in a second
# browser, and by the API), a non-admin has no admin nav, a refusal at #/admin-users and 403
# from the API, the audit chain verifies, /docs (Swagger UI, try-it-out with a key) and /redoc
# render, /docs and /redoc redirect; axe, no offsite request, no console error, screenshots.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat browser

test_begin --mock curl jq nginx
need_cmd cgi-fcgi
browser_setup
[ -f "$TOLLGATE_SRCDIR/www/docs/vendor/swagger-ui-bundle.js" ] ||
	"$TOLLGATE_SRCDIR/scripts/vendor-www" >"$T/log/vendor-www.log" 2>&1 ||
	skip "swagger-ui-dist is not vendored and scripts/vendor-www could not fetch it"
need_cmd mariadb
chat_backend dadm
browser_stack "db.name=$SCRATCH"

# The admin: made with the CLI (admin role, a password for the sign-in page).
ADMIN_EMAIL="dadm-admin-$CP_U@example.com"
AK=$(printf '%s\n' "$CP_PW" | tg_cli admin create-user --email "$ADMIN_EMAIL" --password-stdin \
	--admin --credits 10 2>"$T/log/admin-create.err") || true
key_format "$AK" || bail "tollgate admin create-user prints a key ($(head -c 300 "$T/log/admin-create.err"))"
# The user: registered, funded with 3 USD by the API.
cp_register dusr || bail "register ($code: $(head -c 200 "$T/body"))"
U_EMAIL=$REG_EMAIL U_KEY=$REG_KEY U_ID=$REG_ID
req POST /admin/add_credits "$AK" "{\"user_id\":\"$U_ID\",\"amount_usd\":\"3\"}"
check "the user is funded with 3 USD" status_is 200

read_balance "$U_KEY"
BAL0=$BAL
req GET /admin/audit/verify "$AK"
check "GET /admin/audit/verify before the browser: ok" json_is '.ok == true and .rows > 0'

export ADMIN_EMAIL USER_EMAIL=$U_EMAIL USER_KEY=$U_KEY ADMIN_PASSWORD=$CP_PW USER_PASSWORD=$CP_PW
browser_run admin.mjs

# What the browser did, seen from the API and the database: exactly one top-up of 12.50 with
# the note typed in the dialog, by the admin.
read_balance "$U_KEY"
check "the user's balance moved by 12.50 USD (the browser's top-up)" eq "$((BAL - BAL0))" 12500000000
req GET "/admin/audit?action=credits.add&limit=5" "$AK"
check "the audit log has the browser's credits.add with its note" \
	json_is "[.data[] | select(.after.note == \"browser test top-up\")] | length == 1"
req GET /admin/audit/verify "$AK"
check "GET /admin/audit/verify after the browser: ok" json_is '.ok == true'
req GET /admin/users "$U_KEY"
check "the user's own key gets 403 from /admin/users" status_is 403
req GET "/admin/upstream-keys?provider_id=mock" "$AK"
check "the key added in the browser is stored, disabled, and no answer carries its secret" \
	json_is '[.data[] | select(.label == "browser" and .enabled == false)] | length == 1'
check "the upstream secret typed in the browser is not in tollgate's log" \
	sh -c "! grep -q 'sk-browser-test-' '$LOG'"

finish
