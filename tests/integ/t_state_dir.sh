#!/usr/bin/env bash
# t_state_dir.sh: the journal lives in server.state_dir (on disk: the package's
# /var/lib/tollgate), not in run_dir (a tmpfs under systemd, gone with the machine): a leased
# request's line is written there; `tollgate -t` and the start warn when state_dir is in
# memory; and a journal an older version left in run_dir/journal (a dead process's lines not
# yet in the database) is still written out by the new processes, once, then removed.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock nginx curl jq mariadb
export LC_ALL=C

# --- -t: a state_dir in memory is warned about, one on disk is not --------------------------
mem=/dev/shm/tollgate-t-state.$$
mkdir -p "$mem"
tg_conf "$T/mem.conf" "server.state_dir=$mem"
"$TOLLGATE_BIN" -c "$T/mem.conf" -t >"$T/t.mem" 2>&1
check "-t: state_dir on a tmpfs ($(stat -f -c %T "$mem")) is warned about" \
	grep -q "server.state_dir $mem is in memory" "$T/t.mem"
rm -rf "$mem"
disk=$T/state
if [ "$(stat -f -c %T "$T")" != tmpfs ]; then
	tg_conf "$T/disk.conf" "server.state_dir=$disk"
	"$TOLLGATE_BIN" -c "$T/disk.conf" -t >"$T/t.disk" 2>&1
	check "-t: state_dir on disk ($(stat -f -c %T "$T")): no warning" \
		sh -c "! grep -q 'is in memory' '$T/t.disk'"
else
	skip "-t: state_dir on disk: $T is itself a tmpfs"
fi

# --- an older version's journal in run_dir/journal, with lines not yet written out ----------
# As t_lease_money: a session holds the user's open lease rows locked, so the write-out of
# the next answers blocks; then the whole tollgate (master and workers) is killed, leaving
# their files in run_dir/journal as a version without state_dir would.
chat_stack statedir server.workers=2 server.threads=4 billing.lease=0.05 billing.lease_idle=60 \
	chat.default_max_tokens=64
cp_admin statedir 1
AK=$ADMIN_KEY
new_user journal 1000000000
usage_n() { q "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_ AND status <> 'refused'"; }
recorded() { [ "$(usage_n)" -ge "$1" ]; }
BJ='{"model":"test/cheap","max_tokens":64,"messages":[{"role":"user","content":"journal [mock:words=5]"}]}'
: >"$T/j.costs"
jchat() {
	chat "$UKEY" "$BJ"
	if [ "$code" = 200 ]; then nano "$(hdr x-tollgate-cost)" >>"$T/j.costs"; else not_ok "journal: chat -> $code"; fi
}
for i in 1 2 3; do jchat; done
wait_for "the first 3 records in the database" 10 recorded 3 || true
check "without state_dir the journal is in run_dir/journal" sh -c "ls '$T/run/journal/'*.j >/dev/null 2>&1"
lease_lock "$UID_"
for i in 1 2 3 4 5; do jchat; done
sleep 1 # the write-outs start and block on the lock
n_db=$(usage_n)
check "8 answered, $n_db of them in the database (< 8)" test "$(grep -c . "$T/j.costs")" = 8 -a "$n_db" -lt 8
workers=$(children "$tg_pid" | tr '\n' ' ')
kill -KILL "$tg_pid" $workers 2>/dev/null || true
check "master and workers are gone" wait_for "the processes gone" 10 sh -c "! kill -0 $tg_pid $workers 2>/dev/null"
# (A worker told of its master's death in the instant before its own may close a file that
# holds nothing unwritten: the files left are those to adopt; the blocked lines are in one.)
ls "$T/run/journal" | grep '\.j$' >"$T/old.files" || true
check "journal files left in run_dir/journal ($(tr '\n' ' ' <"$T/old.files"))" test -s "$T/old.files"
lease_unlock
rm -f "$T/run/tollgate.sock"

# --- the new version, state_dir set: its journal on disk, the old files adopted -------------
tg_conf "$CONF" "db.name=$SCRATCH" server.workers=2 server.threads=4 billing.lease=0.05 \
	billing.lease_idle=60 chat.default_max_tokens=64 "server.state_dir=$disk"
start_tollgate tollgate "$CONF" || bail "tollgate starts again with state_dir"
wait_for "$URL/health" 15 health_ok || bail "health after the restart"
old_gone() {
	local f
	while read -r f; do [ ! -e "$T/run/journal/$f" ] || return 1; done <"$T/old.files"
}
check "the old files in run_dir/journal are written out and removed" \
	wait_for "old journal files adopted" 60 old_gone
while read -r f; do
	check "$f: adopted as 'written out'" log_has "journal $f of a dead process written out"
done <"$T/old.files"
wait_for "8 records" 30 recorded 8 || true
announced=0
while read -r c; do announced=$((announced + c)); done <"$T/j.costs"
check "8 records, each request once" \
	test "$(q "SELECT COUNT(DISTINCT request_id) FROM usage_records WHERE user_id = $UID_ AND status <> 'refused'")" = 8 -a "$(usage_n)" = 8
check "charged what was announced ($announced)" \
	test "$(q "SELECT COALESCE(SUM(charge), 0) FROM usage_records WHERE user_id = $UID_ AND status <> 'refused'")" = "$announced"
for i in 1 2; do jchat; done
check "the new processes' journal is in state_dir/journal" sh -c "ls '$disk/journal/'*.j >/dev/null 2>&1"
check "and none of theirs in run_dir/journal" \
	sh -c "! ls '$T/run/journal/'*.j >/dev/null 2>&1"
wait_for "10 records" 30 recorded 10 || true
check "the two new requests are written out from state_dir (10 records)" test "$(usage_n)" = 10
check "no warning at start: state_dir is on disk" sh -c "! grep -q 'is in memory' '$LOG'"
# Graceful stop: the leases are returned, every line is in the database.
kill -TERM "$tg_pid"
wait_for "tollgate stops" 30 sh -c "! kill -0 $tg_pid 2>/dev/null" || true
closed() { no_open "$UID_"; }
wait_for "every lease closed" 30 closed || true
total=0
while read -r c; do total=$((total + c)); done <"$T/j.costs"
check "balance = funds - the ten charges, nothing reserved" test "$(acct_row "$UID_")" = "$((F - total)) 0"
check "the ledger reconciles" ledger_check "$UPUB"
finish
