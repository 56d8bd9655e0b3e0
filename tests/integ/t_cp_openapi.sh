#!/usr/bin/env bash
# t_cp_openapi.sh: GET /openapi.json documents every control-plane endpoint of the contract
# with its methods, and every one of them is routed (no credential -> 401, not 404/405).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp

test_begin nginx curl jq
stack_up

# METHOD PATH AUTH: AUTH is "key" when a credential is required.
endpoints=(
	"POST /auth/register none"
	"POST /auth/login none"
	"POST /auth/logout key"
	"GET /user/profile key"
	"PUT /user/profile key"
	"DELETE /user/account key"
	"GET /user/balance key"
	"GET /user/limit key"
	"GET /user/monitor key"
	"POST /user/api-keys key"
	"GET /user/api-keys key"
	"PUT /user/api-keys/{id} key"
	"DELETE /user/api-keys/{id} key"
	"POST /user/api-keys/{id}/rotate key"
	"GET /user/api-keys/usage key"
	"POST /admin/add_credits key"
	"GET /admin/balance key"
	"GET /admin/users key"
	"GET /admin/users/{id} key"
	"PUT /admin/users/{id} key"
	"POST /admin/limit key"
	"GET /admin/limit key"
	"GET /admin/monitor key"
	"POST /admin/invites key"
	"GET /admin/audit key"
	"GET /user/usage/summary key"
	"GET /user/credits key"
	"GET /admin/audit/verify key"
	"GET /auth/session none"
	"GET /auth/config none"
	# issue 18: money
	"POST /admin/redeem-codes key"
	"GET /admin/redeem-codes key"
	"POST /user/redeem key"
	"GET /user/topups key"
	"POST /billing/webhook none"
)

http GET "$URL/openapi.json"
expect_status "GET /openapi.json" 200
check "openapi.json is JSON with paths" json_is '.paths | type == "object"'
# Path parameters may have any name: compare with {...} normalised to {id}.
jq '.paths | with_entries(.key |= gsub("\\{[^}]*\\}"; "{id}"))' "$T/body" >"$T/paths.json" 2>/dev/null ||
	echo '{}' >"$T/paths.json"
for e in "${endpoints[@]}"; do
	read -r m p a <<<"$e"
	lm=$(echo "$m" | tr 'A-Z' 'a-z')
	check "openapi: $m $p documented" jq_file "$T/paths.json" ".[\"$p\"][\"$lm\"] | type == \"object\""
done

# Routed: without a credential the protected ones say missing_api_key.
for e in "${endpoints[@]}"; do
	read -r m p a <<<"$e"
	[ "$a" = key ] || continue
	path=${p//\{id\}/key_AAAAAAAAAAAAAAAAAAAA}
	case $p in /admin/users/*) path=${p//\{id\}/usr_AAAAAAAAAAAAAAAAAAAA} ;; esac
	if [ "$m" = GET ]; then req "$m" "$path"; else req "$m" "$path" "" '{}'; fi
	expect_err "$m $p without a credential" 401 missing_api_key
done
# The session probe answers without a credential: nobody is signed in.
req GET /auth/session
check "GET /auth/session without a credential -> 200 with user null" \
	sh -c "[ $code = 200 ] && jq -e '.user == null' '$T/body' >/dev/null"

finish
