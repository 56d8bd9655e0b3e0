#!/usr/bin/env bash
# t_replica.sh: [db] replica_* (issue 19): a private MariaDB primary (binary log, server_id 1)
# and a replica of it (server_id 2, GTID replication, read_only) on this machine, tollgate on
# the primary with the replica configured. The heavy reads (/user/usage, its summary, the
# bill) are answered by the replica: a row changed on the replica alone shows in them; the
# replica not replicating (its SQL thread stopped), lagging past replica_max_lag (replication
# delayed by 60 s) or stopped altogether sends them back to the primary at once or within
# the lag check's few seconds, every request still 200; and
# the replica's general log shows that tollgate never sent it anything but those reads (no
# hold, settle, key lookup or write). `tollgate ledger check` exact at the end.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock curl jq nginx mariadb python3
need_cmd mariadb-install-db mariadbd mariadb-admin
export LC_ALL=C
MARK=424242 # latency_ms of the one usage record changed on the replica alone

# srv NAME: root client of the private server NAME (prim, repl).
srv() { mariadb --no-defaults --socket="$T/run/$1.sock" -uroot -N -B "${@:2}"; }
alive() { mariadb-admin --no-defaults --connect-timeout=2 --socket="$T/run/$1.sock" -uroot ping >/dev/null 2>&1; }
# start_srv NAME ARGS...: mariadbd on $T/NAME's data directory (installed once).
start_srv() {
	local n=$1
	shift
	start_bg "$n" mariadbd --no-defaults --user="$(id -un)" --datadir="$T/$n" \
		--socket="$T/run/$n.sock" --pid-file="$T/run/$n.pid" --log-error="$T/log/$n.err" \
		--innodb-buffer-pool-size=32M --max-connections=100 "$@"
	eval "${n}_pid=\$bg_pid"
	wait_for "mariadbd $n answers" 60 alive "$n" || {
		tail -n 20 "$T/log/$n.err" | sed 's/^/#   /'
		return 1
	}
}
# One installation, copied: two mariadb-install-db at once collide on their temporary tables.
mkdir -p "$T/prim"
chmod 0700 "$T/prim"
mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$T/prim" \
	--auth-root-authentication-method=normal --skip-test-db >"$T/log/install.out" 2>&1 ||
	bail "mariadb-install-db ($(tail -n 3 "$T/log/install.out"))"
cp -a "$T/prim" "$T/repl"
PPORT=$(free_port)
start_srv prim --bind-address=127.0.0.1 --port="$PPORT" --server-id=1 --log-bin="$T/prim/bin" \
	--binlog-format=ROW --log-bin-trust-function-creators=1 || bail "the primary starts"
# The general log: every statement a client sent the replica (replication's own rows are not
# statements with binlog_format ROW).
start_srv repl --skip-networking --server-id=2 --read-only=1 --general-log=1 \
	--general-log-file="$T/log/repl-general.log" || bail "the replica starts"

PW=replica-$RANDOM$RANDOM
srv prim -e "
	CREATE USER 'repl'@'127.0.0.1' IDENTIFIED BY 'repl-$PW';
	GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.0.1';
	CREATE USER 'tollgate'@'localhost' IDENTIFIED BY '$PW';
	GRANT ALL PRIVILEGES ON \`tollgate\\_%\`.* TO 'tollgate'@'localhost';
	GRANT SLAVE MONITOR ON *.* TO 'tollgate'@'localhost';" || bail "users on the primary"
srv repl -e "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = $PPORT,
	MASTER_USER = 'repl', MASTER_PASSWORD = 'repl-$PW', MASTER_USE_GTID = slave_pos;
	START SLAVE;" || bail "replication starts"
caught_up() {
	local p r
	p=$(srv prim -e "SELECT @@gtid_binlog_pos")
	r=$(srv repl -e "SELECT @@gtid_slave_pos")
	[ -n "$p" ] && [ "$p" = "$r" ]
}
wait_for "the replica has the primary's users" 30 caught_up || bail "the replica catches up"

TOLLGATE_TEST_DB_SOCKET=$T/run/prim.sock TOLLGATE_TEST_DB_USER=tollgate
TOLLGATE_TEST_DB_PASSWORD=$PW TOLLGATE_TEST_DB_NAME=tollgate
echo "$PW" >"$T/replica.pw"
chmod 0600 "$T/replica.pw"
chat_stack replica chat.default_max_tokens=16 "db.replica_socket=$T/run/repl.sock" \
	db.replica_user=tollgate "db.replica_password_file=$T/replica.pw" db.replica_max_lag=2
wait_for "the replica has the migrated schema" 30 caught_up || bail "the schema replicates"
check "the replica has the stored procedures and trigger too" \
	test "$(srv repl -e "SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = '$SCRATCH'")" -gt 0
cp_admin replica 1
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY
user u 5.00
UK=$U_KEY UPUB=$U_ID
body='{"model":"test/cheap","messages":[{"role":"user","content":"hello there"}]}'
for i in 1 2 3; do
	chat "$UK" "$body"
	check "chat $i: 200" status_is 200
done
wait_for "the replica has the usage records" 30 caught_up || bail "usage replicates"
UID_=$(uid_of "$UPUB")
RID=$(q "SELECT MIN(id) FROM usage_records WHERE user_id = $UID_")
srv repl "$SCRATCH" -e "UPDATE usage_records SET latency_ms = $MARK,
	prompt_tokens = prompt_tokens + 1000000 WHERE id = $RID" ||
	bail "mark a record on the replica"
check "the primary's record is not marked" \
	test "$(q "SELECT latency_ms FROM usage_records WHERE id = $RID")" != "$MARK"

# usage_marked: /user/usage answers 200 and shows the replica's copy of the record.
# usage_primary: it answers 200 and shows the primary's.
usage_has() {
	code=$(curl -s -m 10 -o "$T/usage.json" -w '%{http_code}' -H "Authorization: Bearer $UK" \
		"$URL/user/usage?limit=100")
	[ "$code" = 200 ] && jq -e '.data | length > 0' "$T/usage.json" >/dev/null &&
		[ "$(jq "[.data[] | select(.latency_ms == $MARK)] | length" "$T/usage.json")" = "$1" ]
}
usage_marked() { usage_has 1; }
usage_primary() { usage_has 0; }
wait_for "/user/usage read from the replica" 15 usage_marked || true
check "/user/usage is read from the replica (the record changed there alone shows)" usage_marked
check "  with all 3 records" test "$(jq '.data | length' "$T/usage.json")" = 3
http GET "$URL/user/usage/summary" -H "Authorization: Bearer $UK"
check "/user/usage/summary is read from the replica too (200, 3 requests, its 1M prompt tokens)" \
	sh -c '[ "$1" = 200 ] && jq -e ".totals.requests == 3 and .totals.prompt_tokens >= 1000000" "$2" >/dev/null' \
	_ "$code" "$T/body"

# A chat while the replica is in use: its hold and settle go to the primary.
chat "$UK" "$body"
check "a chat while the replica serves reads: 200" status_is 200
check "  its usage record is on the primary at once" test "$(n_usage "$UID_")" = 4

# --- not replicating: the SQL thread stopped -----------------------------------------------
srv repl -e "STOP SLAVE SQL_THREAD" || bail "stop the replica's SQL thread"
chat "$UK" "$body"
check "a chat with replication stopped: 200" status_is 200
t0=$SECONDS
wait_for "/user/usage back on the primary" 15 usage_primary || true
check "replica not replicating: /user/usage goes back to the primary ($((SECONDS - t0)) s)" usage_primary
check "  and shows the newest record (5 of 5)" test "$(jq '.data | length' "$T/usage.json")" = 5
check "the replica has not got the newest record" \
	test "$(srv repl "$SCRATCH" -e "SELECT COUNT(*) FROM usage_records WHERE user_id = $UID_")" = 4
srv repl -e "START SLAVE SQL_THREAD" || bail "start the replica's SQL thread"
wait_for "the replica catches up" 30 caught_up || true
wait_for "/user/usage on the replica again" 15 usage_marked || true
check "replicating again: /user/usage is read from the replica again" usage_marked
check "  with the record it missed (5 of 5)" test "$(jq '.data | length' "$T/usage.json")" = 5

# --- lagging: replication delayed by 60 s, the lag grows past replica_max_lag (2 s) ----------
# sbm: the replica's Seconds_Behind_Master (vertical output keeps its names only without -N).
sbm() {
	mariadb --no-defaults --socket="$T/run/repl.sock" -uroot -E -e "SHOW SLAVE STATUS" |
		sed -n 's/^ *Seconds_Behind_Master: //p'
}
srv repl -e "STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = 60; START SLAVE;" || bail "delay the replica"
chat "$UK" "$body"
check "a chat with the replica delayed: 200" status_is 200
t0=$SECONDS
lagging() { local l; l=$(sbm); [ -n "$l" ] && [ "$l" != NULL ] && [ "$l" -gt 2 ]; }
wait_for "the replica lags more than 2 s" 20 lagging || true
note "the replica is $(sbm) s behind"
wait_for "/user/usage back on the primary" 15 usage_primary || true
check "replica $(sbm) s behind (max_lag 2): /user/usage goes back to the primary ($((SECONDS - t0)) s)" usage_primary
check "  with the newest record (6 of 6)" test "$(jq '.data | length' "$T/usage.json")" = 6
check "the log names the lag" log_has 'read replica .*: [0-9]+ s behind the primary \(max 2\)'

# --- the replica stopped: every read falls back at once ------------------------------------
kill -TERM "$repl_pid"
wait_for "the replica stops" 60 gone "$repl_pid" || bail "the replica stops"
bad=0
for i in 1 2 3 4 5 6; do usage_primary || bad=$((bad + 1)); done
check "replica down: 6 listings in a row answer 200 from the primary ($bad otherwise)" test "$bad" = 0
http GET "$URL/user/bill" -H "Authorization: Bearer $UK"
check "replica down: /user/bill answers 200" status_is 200
chat "$UK" "$body"
check "replica down: a chat answers 200" status_is 200
check "the log says the replica was dropped for the primary" log_has 'read replica .*primary'

# --- what tollgate sent the replica: its general log ---------------------------------------
# Statements of tollgate's connections (user tollgate) on the replica, one per line.
python3 - "$T/log/repl-general.log" >"$T/repl-stmts" <<'PYEOF'
import re, sys
mine, cur = set(), None
out = []
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"^(?:\d{6}\s+[\d:]+)?\s+(\d+) (\w[\w ]*?)\t(.*)$", line)
    if m:
        cur = m.group(1)
        cmd, arg = m.group(2), m.group(3)
        if cmd == "Connect" and arg.startswith("tollgate@"):
            mine.add(cur)
        if cur in mine and cmd in ("Query", "Prepare", "Execute"):
            out.append(cmd + " " + arg)
    elif cur in mine and out:
        out[-1] += " " + line.strip()
print("\n".join(out))
PYEOF
nrep=$(grep -c 'usage_records' "$T/repl-stmts" || true)
check "tollgate read usage records from the replica ($nrep statements)" test "$nrep" -gt 0
others=$(grep -Ev '^(Query|Prepare|Execute) (SET time_zone|SHOW SLAVE STATUS|SELECT CAST\(COALESCE\(MAX\(version\), 0\) AS SIGNED\) FROM schema_migrations|SELECT .* FROM usage_records)' \
	"$T/repl-stmts" | head -n 5 || true)
check "tollgate sent the replica nothing but the flagged reads (no hold, settle, key or write)" \
	test -z "$others"
[ -z "$others" ] || note "other statements: $others"
check "  in particular no CALL and no INSERT" sh -c '! grep -Eiq "^(Query|Prepare|Execute) (CALL|INSERT|UPDATE|DELETE)" "$1"' _ "$T/repl-stmts"

check "ledger reconciles on the primary" ledger_check "$UPUB"
finish
