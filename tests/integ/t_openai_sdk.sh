#!/usr/bin/env bash
# t_openai_sdk.sh: the official openai npm package drives tollgate behind nginx: the model
# catalogue and its errors (models.mjs), then metered chat, streams, embeddings, completions
# and the error classes against the mock upstream (chat.mjs).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb node npm

sdk_install

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
	if TOLLGATE_URL=$URL TOLLGATE_KEY=$KEY TOLLGATE_POOR_KEY=$POOR_KEY node "$SDK_DIR/$1" >"$out" 2>&1; then
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
