#!/usr/bin/env bash
# t_dashboard_conv.sh (issue 18: convlog): the dashboard's Conversations page in chromium
# (tests/browser/conversations.mjs) against tollgate with [logging] conversations = full: the
# list, one conversation's request and answer shown as text (a prompt with markup makes no
# element), its deletion, and the user's level saved from the page.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat browser

test_begin --mock nginx curl jq mariadb
need_db
need_bin
need_mock
browser_setup
chat_backend conv
browser_stack "db.name=$SCRATCH" logging.conversations=full

cp_admin admin 100
AK_ADMIN=$ADMIN_KEY
user conv 1.00
UIDN=$(uid_of "$U_ID")
req PUT /user/profile "$U_KEY" '{"conversation_log":"full"}'
check "the user opts in (full)" status_is 200
MARK="mark-$CP_U"
chat "$U_KEY" "{\"model\":\"test/cheap\",$(msgs "$MARK <img src=x onerror=alert(1)>")}"
check "a chat with markup in its prompt" status_is 200
RID=$(hdr x-request-id)
chat "$U_KEY" "{\"model\":\"test/cheap\",$(msgs "a second one")}"
check "a second chat" status_is 200
two() { [ "$(q "SELECT COUNT(*) FROM conversations WHERE user_id = $UIDN")" -ge 2 ]; }
wait_for "both are written" 10 two || true

CONV_EMAIL=$REG_EMAIL CONV_PASSWORD=$CP_PW CONV_RID=$RID CONV_MARK=$MARK
export CONV_EMAIL CONV_PASSWORD CONV_RID CONV_MARK
browser_run conversations.mjs
check "the page's deletion removed the row" \
	test "$(q "SELECT COUNT(*) FROM conversations WHERE request_id = '$RID'")" = 0
check "the page's level is stored" \
	test "$(q "SELECT conversation_log FROM users WHERE id = $UIDN")" = metadata
finish
