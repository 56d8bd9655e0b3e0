#!/usr/bin/env bash
# t_run_dir.sh: server.run_dir that cannot be had is reported (issue 19, shared hosting). It
# holds the node's shared counters and journal; without it tollgate serves on with rate limits
# counted per process. `-t` used to call such a config valid and /health said "ok": now -t
# fails naming it, /health is 200 with "status":"degraded" and the reason, and a missing
# run_dir whose parent is writable is created (mode 0700) at start.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin curl jq nginx

# A regular file as the parent: nobody, root included, can make a directory in it.
: >"$T/afile"
BAD=$T/afile/run

# --- -t ---------------------------------------------------------------------------------------
tg_conf "$T/bad.conf" "server.run_dir=$BAD"
rc=0
"$TOLLGATE_BIN" -t -c "$T/bad.conf" >"$T/t.out" 2>&1 || rc=$?
sed 's/^/#   /' "$T/t.out"
check "-t with a run_dir that cannot be made exits 1 (got $rc)" test "$rc" -eq 1
check "-t names server.run_dir and the path" grep -q "server.run_dir: $BAD" "$T/t.out"
check "-t does not call it successful" sh -c '! grep -q "test is successful" "$1"' _ "$T/t.out"

tg_conf "$T/file.conf" "server.run_dir=$T/afile"
rc=0
"$TOLLGATE_BIN" -t -c "$T/file.conf" >"$T/t.out" 2>&1 || rc=$?
check "-t with a run_dir that is a file exits 1 (got $rc)" test "$rc" -eq 1
check "-t says it is not a directory" grep -q "$T/afile is not a directory" "$T/t.out"

NEW=$T/made/run
mkdir -p "$T/made"
tg_conf "$T/new.conf" "server.run_dir=$NEW"
rc=0
"$TOLLGATE_BIN" -t -c "$T/new.conf" >"$T/t.out" 2>&1 || rc=$?
check "-t with a missing run_dir in a writable parent exits 0 (got $rc)" test "$rc" -eq 0
check "-t says it will be created at start" grep -q "$NEW does not exist; tollgate creates it" "$T/t.out"
check "-t made nothing" test ! -e "$NEW"

# The hosting customer's case: another user, the default /run/tollgate (which only root may
# make). Needs root to switch user; the binary and config are copied where that user reads.
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v runuser >/dev/null; then
	mkdir -p "$T/bin"
	cp "$TOLLGATE_BIN" "$T/bin/tollgate"
	chmod 0755 "$T/bin" "$T/bin/tollgate"
	tg_conf "$T/nobody.conf" "server.run_dir=" "log.file="
	chmod 0644 "$T/nobody.conf"
	rc=0
	runuser -u nobody -- "$T/bin/tollgate" -t -c "$T/nobody.conf" >"$T/t.out" 2>&1 || rc=$?
	sed 's/^/#   /' "$T/t.out"
	check "-t as nobody with the default run_dir (/run/tollgate) exits 1 (got $rc)" test "$rc" -eq 1
	check "-t as nobody names /run/tollgate" grep -q "server.run_dir: /run/tollgate" "$T/t.out"
else
	note "not root (or no nobody/runuser): the default run_dir as another user is not checked"
fi

# --- serving with a run_dir it could not have: degraded ----------------------------------------
stack_up "server.run_dir=$BAD"
http GET "$URL/health"
check "/health with a bad run_dir is 200 (the node serves)" status_is 200
check "/health says degraded" json_is '.status == "degraded"'
check "/health names the run_dir and why" \
	json_is ".run_dir.path == \"$BAD\" and (.run_dir.problem | contains(\"$BAD\") and contains(\"per process\"))"
check "/health still reports the database" json_is '.database.reachable == true'
check "the log says so at start" log_has "server.run_dir: .*$BAD.*degraded"
kill -TERM "$tg_pid"
wait_for "master exit" 15 gone "$tg_pid" || true
rm -f "$T/run/tollgate.sock"

# --- a missing run_dir in a writable parent: made 0700 at start, and ok ---------------------------
tg_conf "$CONF" "server.run_dir=$NEW"
start_tollgate tollgate2 "$CONF" || bail "tollgate starts with a run_dir to make"
wait_for "$URL/health" 15 health_ok || bail "$URL/health answers 200"
check "run_dir was created" test -d "$NEW"
check "run_dir is mode 0700 ($(stat -c %a "$NEW" 2>/dev/null))" test "$(stat -c %a "$NEW")" = 700
check "the rate counters live in it" test -f "$NEW/tollgate-rate.shm"
http GET "$URL/health"
check "/health with the made run_dir is ok" json_is '.status == "ok" and (has("run_dir") | not)'

# Taken away while serving: the next probe says so.
mv "$NEW" "$T/made/gone"
http GET "$URL/health"
check "/health after run_dir disappeared is degraded (200)" \
	sh -c '[ "$1" = 200 ] && jq -e ".status == \"degraded\"" "$2" >/dev/null' _ "$code" "$T/body"
check "/health says it does not exist" json_is ".run_dir.problem | contains(\"$NEW does not exist\")"
mv "$T/made/gone" "$NEW"

finish
