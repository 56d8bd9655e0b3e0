#!/usr/bin/env bash
# t_openai_sdk.sh: the official openai npm package drives tollgate behind nginx (models, errors).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

need_db
need_bin
need_cmd nginx curl node npm
make_tmp

# The SDK is installed once per build tree (npm's registry is reachable in CI).
client_src=$TOLLGATE_SRCDIR/tests/client
cache=${TOLLGATE_BUILDDIR:-$TOLLGATE_SRCDIR}/tests/client-cache
mkdir -p "$cache"
if ! cmp -s "$client_src/package.json" "$cache/package.json" || [ ! -d "$cache/node_modules/openai" ]; then
	cp "$client_src/package.json" "$cache/package.json"
	# No registry, no SDK: a missing prerequisite (skip), like a missing web server.
	if ! (cd "$cache" && timeout 300 npm install --no-audit --no-fund --loglevel=error \
		>"$T/npm.log" 2>&1); then
		tail -n 20 "$T/npm.log"
		skip "npm install of the openai package failed"
	fi
fi
cp "$client_src"/*.mjs "$cache/"

stack_up
KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "sdk-$$-$RANDOM@example.com" \
	2>/dev/null) || bail "admin create-user"

if TOLLGATE_URL=$URL TOLLGATE_KEY=$KEY node "$cache/models.mjs" >"$T/sdk.out" 2>&1; then
	sdk_rc=0
else
	sdk_rc=$?
fi
cat "$T/sdk.out"
n_ok=$((n_ok + $(grep -c '^ok - ' "$T/sdk.out" || true)))
n_fail=$((n_fail + $(grep -c '^not ok - ' "$T/sdk.out" || true)))
check "the SDK script ran to the end (exit $sdk_rc)" test "$sdk_rc" -eq 0

finish
