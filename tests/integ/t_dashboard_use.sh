#!/usr/bin/env bash
# t_dashboard_use.sh: the dashboard's Usage, Models, Playground and Top-ups pages in chromium
# (tests/browser/use.mjs) against tollgate + nginx serving www/ + the mock provider. The
# playground streams with a pasted restricted key; what it shows (tokens, cost) is the usage
# record's and the ledger's, to the nano-USD; Usage, the bill and the CSV export show that
# request; the catalogue searches and sorts; Top-ups lists the admin's top-up; a refused
# request and one in flight are rows of their own.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat browser

test_begin --mock nginx curl jq mariadb
need_db
need_bin
need_mock
browser_setup
chat_backend use
browser_stack "db.name=$SCRATCH"

cp_admin admin 100
AK_ADMIN=$ADMIN_KEY
user use 0
USE_NOTE="dashboard test top-up $$"
USE_TOPUP=5.00
req POST /admin/add_credits "$AK_ADMIN" "{\"user_id\":\"$U_ID\",\"amount_usd\":\"$USE_TOPUP\",\"note\":\"$USE_NOTE\"}"
check "admin tops the user up with a note" status_is 200
cp_new_key "$U_KEY" '{"name":"playground","permissions":["read","write"],"allowed_models":["test/cheap"],"credit_limit":"1.00"}' ||
	bail "create the restricted key ($code: $(head -c 200 "$T/body"))"
UIDN=$(uid_of "$U_ID")
# 50 earlier requests (another model, the primary key) so that Usage has a second page.
USE_PRIOR=50
# Four at a time: the machine is shared; the order among them does not matter.
seq "$USE_PRIOR" | xargs -P 4 -I{} curl -sS -m 20 -o /dev/null -w '%{http_code}\n' \
	"$URL/v1/chat/completions" -H "Authorization: Bearer $U_KEY" -H 'Content-Type: application/json' \
	--data-binary '{"model":"test/dear","messages":[{"role":"user","content":"hi {}"}]}' >"$T/prior.codes"
check "the $USE_PRIOR earlier requests are answered" test "$(grep -c '^200$' "$T/prior.codes")" = "$USE_PRIOR"

# What this tree serves: the summary and credits endpoints (helper api) and the Overview
# chart (helper ui-core) may not be merged yet; the script says SKIP for what is missing.
have() {
	req GET "$1" "$U_KEY"
	[ "$code" = 404 ] && jq -e '.error.code == "not_found"' "$T/body" >/dev/null 2>&1 && echo 0 || echo 1
}
HAVE_SUMMARY=$(have /user/usage/summary)
HAVE_CREDITS=$(have /user/credits)
req GET "/user/usage?status=bogus" "$U_KEY"
HAVE_STATUS=0
[ "$code" = 400 ] && HAVE_STATUS=1
HAVE_OVERVIEW=0
grep -q 'chart' "$TOLLGATE_SRCDIR/www/app/js/pages/overview.js" && HAVE_OVERVIEW=1
note "summary $HAVE_SUMMARY credits $HAVE_CREDITS status filter $HAVE_STATUS overview chart $HAVE_OVERVIEW"

# issue 18, money: a code for the Top-ups page's Redeem form (none where the route is missing).
USE_CODE='' USE_CODE_AMOUNT=2.00 USE_CODE_BATCH=''
req POST /admin/redeem-codes "$AK_ADMIN" "{\"amount\":\"$USE_CODE_AMOUNT\",\"count\":1}"
[ "$code" = 201 ] && USE_CODE=$(jv '.codes[0]') USE_CODE_BATCH=$(jv .batch.id)
USE_EMAIL=$REG_EMAIL USE_PASSWORD=$CP_PW USE_KEY=$NEW_KEY USE_KEY_NAME=playground USE_OUT=$T/use
export USE_EMAIL USE_PASSWORD USE_KEY USE_KEY_NAME USE_NOTE USE_TOPUP USE_OUT USE_PRIOR HAVE_SUMMARY HAVE_CREDITS HAVE_STATUS HAVE_OVERVIEW
export USE_CODE USE_CODE_AMOUNT USE_CODE_BATCH
browser_run use.mjs

# What the page showed against the database: the playground's request is one usage record of
# the restricted key, with those tokens and that charge; the CSV holds that record.
R=$T/use/result.json
RID=$(jq -r '.request_id // empty' "$R" 2>/dev/null)
row=$(q "SELECT r.prompt_tokens, r.completion_tokens, r.charge, k.public_id FROM usage_records r
	LEFT JOIN api_keys k ON k.id = r.api_key_id WHERE r.user_id = $UIDN AND r.request_id = '$RID'" | tr '\t' ' ')
note "record: $row; page: $(jq -c '{cost, prompt, completion}' "$R" 2>/dev/null)"
read -r p c charge kid <<<"${row:-x x x x}"
check "the playground's request is recorded for the pasted key" test "$kid" = "$NEW_KEY_ID"
check "the tokens shown are the record's" test "$p $c" = "$(jq -r '"\(.prompt) \(.completion)"' "$R")"
shown=$(jq -r '.cost // empty' "$R" 2>/dev/null)
[[ $shown =~ ^[0-9]+[.][0-9]+$ ]] && shown=$(usd_nano "$shown") || shown=none
check "the cost shown is the record's charge, to the nano-USD" test "$shown" = "$charge"
# The mock counts "hello there" as 6 prompt tokens and answers 12 words; test/cheap costs
# $1 and $2 per million; 5 % commission.
check "that charge is the price list's" test "$charge" = "$(charge_cheap 6 12)"
[[ $charge =~ ^[0-9]+$ ]] || charge=0
check "the CSV export holds the record's request id and charge" \
	grep -q "$RID.*,$(usd_of "$charge" | sed 's/0*$//')," "$T/use/usage.csv"
# The refusal the page listed is a record of its own: refused, 402, nothing charged or held.
REFID=$(jq -r '.refused_id // empty' "$R" 2>/dev/null)
check "the refused request's record: refused 402, charge 0, no hold" \
	test "$(q "SELECT CONCAT(status, ' ', http_status, ' ', charge, ' ', hold_id IS NULL) FROM usage_records WHERE request_id = '${REFID:-none}'")" = "refused 402 0 1"
# The stopped stream's hold settles once tollgate has drained it; then the books balance.
check "every hold of the user settles" wait_for "the holds settle" 60 no_open "$UIDN"
check "the ledger reconciles" ledger_check "$U_ID"
if [ -n "$USE_CODE" ]; then
	check "the Redeem form's code is credited once, naming its batch" test \
		"$(q "SELECT COUNT(*) FROM ledger_entries WHERE source = 'code' AND source_ref = '$USE_CODE_BATCH' AND account_id = $UIDN")" = 1
fi
finish
