#!/usr/bin/env bash
# t_openai_sdk.sh: the official openai npm package drives tollgate behind nginx: the model
# catalogue and its errors (models.mjs), then metered chat, streams, embeddings, completions
# and the error classes against the mock upstream (chat.mjs).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb node npm

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

# A scratch database with the seeded catalogue plus the mock provider's test/cheap and
# test/dear (lib/chat.sh), tollgate behind nginx.
chat_stack sdk
# A funded user for everything, and one with balance 0 for the 402.
KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "sdk-$$-$RANDOM@example.com" \
	--credits 10 2>/dev/null) || bail "admin create-user"
POOR_KEY=$("$TOLLGATE_BIN" -c "$CONF" admin create-user --email "sdk-poor-$$-$RANDOM@example.com" \
	2>/dev/null) || bail "admin create-user (unfunded)"

# sdk SCRIPT: runs one SDK script; its ok/not ok lines count as this test's.
sdk() {
	local out=$T/sdk-$1.out rc
	if TOLLGATE_URL=$URL TOLLGATE_KEY=$KEY TOLLGATE_POOR_KEY=$POOR_KEY node "$cache/$1" >"$out" 2>&1; then
		rc=0
	else
		rc=$?
	fi
	cat "$out"
	n_ok=$((n_ok + $(grep -c '^ok - ' "$out" || true)))
	n_fail=$((n_fail + $(grep -c '^not ok - ' "$out" || true)))
	check "the SDK script $1 ran to the end (exit $rc)" test "$rc" -eq 0
}
sdk models.mjs
sdk chat.mjs

finish
