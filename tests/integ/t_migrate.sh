#!/usr/bin/env bash
# t_migrate.sh: migrations apply forward-only and once; serve refuses an unexpected schema.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

test_begin mariadb

# A scratch database (the test user may create ${NAME}_*), dropped at exit.
SCRATCH=${TOLLGATE_TEST_DB_NAME}_migrate_$$
sql() {
	mariadb --socket="$TOLLGATE_TEST_DB_SOCKET" -u"$TOLLGATE_TEST_DB_USER" \
		-p"$TOLLGATE_TEST_DB_PASSWORD" -N -B "$@"
}
sql -e "CREATE DATABASE \`$SCRATCH\`" || bail "create scratch database $SCRATCH"
# cleanup turns the exit status into the verdict: keep it across the DROP.
trap 'rc=$?; set +e; sql -e "DROP DATABASE IF EXISTS \`$SCRATCH\`" >/dev/null 2>&1; (exit $rc); cleanup' EXIT
CONF=$T/tg.conf
tg_conf "$CONF" "db.name=$SCRATCH" "server.listen=unix:$T/run/m.sock" "log.file="

out=$("$TOLLGATE_BIN" -c "$CONF" serve 2>&1 </dev/null) && rc=0 || rc=$?
check "serve refuses an empty database (exit $rc)" test "$rc" -eq 1
check "and says to run tollgate migrate" sh -c "echo \"\$1\" | grep -q 'run .tollgate -c .* migrate'" _ "$out"

out=$("$TOLLGATE_BIN" -c "$CONF" migrate 2>&1) && rc=0 || rc=$?
check "migrate applies the schema (exit $rc)" test "$rc" -eq 0
for f in "$TOLLGATE_SRCDIR"/schema/[0-9][0-9][0-9][0-9]_*.sql; do
	check "applied $(basename "$f")" sh -c "echo \"\$1\" | grep -qx 'applied $(basename "$f")'" _ "$out"
done
n=$(ls "$TOLLGATE_SRCDIR"/schema/[0-9][0-9][0-9][0-9]_*.sql | wc -l)
# The version is the highest file's number (numbers may skip while branches are merged).
top=$(ls "$TOLLGATE_SRCDIR"/schema/[0-9][0-9][0-9][0-9]_*.sql | sed 's|.*/0*\([0-9]*\)_.*|\1|' | sort -n | tail -1)
check "schema_migrations records each file once ($n)" \
	test "$(sql "$SCRATCH" -e 'SELECT COUNT(*) FROM schema_migrations')" -eq "$n"

out=$("$TOLLGATE_BIN" -c "$CONF" migrate 2>&1) && rc=0 || rc=$?
check "a second migrate is a no-op (exit $rc)" sh -c "[ $rc -eq 0 ] && echo \"\$1\" | grep -q 'up to date'" _ "$out"
check "still one row per file" \
	test "$(sql "$SCRATCH" -e 'SELECT COUNT(*) FROM schema_migrations')" -eq "$n"

# Two migrations at once: the lock serialises them, neither fails, nothing is applied twice.
sql -e "DROP DATABASE \`$SCRATCH\`; CREATE DATABASE \`$SCRATCH\`"
"$TOLLGATE_BIN" -c "$CONF" migrate >"$T/m1" 2>&1 &
p1=$!
"$TOLLGATE_BIN" -c "$CONF" migrate >"$T/m2" 2>&1 &
p2=$!
wait $p1 && r1=0 || r1=$?
wait $p2 && r2=0 || r2=$?
check "concurrent migrations both succeed ($r1, $r2)" test "$r1" -eq 0 -a "$r2" -eq 0
check "exactly one of them applied the files" \
	test "$(cat "$T/m1" "$T/m2" | grep -c '^applied ')" -eq "$n"

# Now the schema matches: serve starts (standalone) and answers.
start_tollgate tollgate "$CONF" || bail "tollgate starts after migrate"
check "serve starts once migrated" kill -0 "$tg_pid"
out=$(env -i REQUEST_METHOD=GET REQUEST_URI=/health "$TOLLGATE_BIN" -c "$CONF" </dev/null 2>/dev/null)
check "health reports the schema version ($top)" sh -c "echo \"\$1\" | grep -q '\"schema_version\":$top'" _ "$out"
kill -TERM "$tg_pid"
wait_for "master exit" 10 gone "$tg_pid" || true

# A migration longer than [db] read_timeout (a large table's ALTER runs for minutes): the
# admin connection waits for it instead of dropping it mid-statement, which would leave the
# server to finish a file the migration then fails to record.
cp -r "$TOLLGATE_SRCDIR/schema" "$T/schema"
last=$(ls "$T/schema" | grep '^[0-9][0-9][0-9][0-9]_.*\.sql$' | sort | tail -1)
printf '\nDO SLEEP(3);\n' >>"$T/schema/$last"
sql -e "DROP DATABASE \`$SCRATCH\`; CREATE DATABASE \`$SCRATCH\`"
tg_conf "$T/slow.conf" "db.name=$SCRATCH" "db.schema_dir=$T/schema" "db.read_timeout=1" "log.file="
out=$("$TOLLGATE_BIN" -c "$T/slow.conf" migrate 2>&1) && rc=0 || rc=$?
check "a migration outlasting db.read_timeout = 1 s completes (exit $rc)" test "$rc" -eq 0
check "... and is recorded ($last)" sh -c "echo \"\$1\" | grep -qx 'applied $last'" _ "$out"

# A schema file newer than this tollgate (a schema dir of the next release, or a migration
# added without raising TG_SCHEMA_VERSION) is not applied, and migrate says so.
next=$(printf '%04d_future.sql' $((10#${last%%_*} + 1)))
printf 'CREATE TABLE tg_future_probe (id INT);\n' >"$T/schema/$next"
out=$("$TOLLGATE_BIN" -c "$T/slow.conf" migrate 2>&1) && rc=0 || rc=$?
check "a schema file above this tollgate's version is skipped (exit $rc)" test "$rc" -eq 0
check "...and migrate names it" sh -c "echo \"\$1\" | grep -q 'skipping $next: newer than this tollgate'" _ "$out"
check "...not applied" test "$(sql "$SCRATCH" -e "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$SCRATCH' AND table_name = 'tg_future_probe'")" = 0

# A database from a newer tollgate: both migrate and serve refuse it.
sql "$SCRATCH" -e "INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')"
out=$("$TOLLGATE_BIN" -c "$CONF" migrate 2>&1) && rc=0 || rc=$?
check "migrate refuses a newer schema (exit $rc)" sh -c "[ $rc -eq 1 ] && echo \"\$1\" | grep -q 'newer than this tollgate'" _ "$out"
out=$("$TOLLGATE_BIN" -c "$CONF" serve 2>&1 </dev/null) && rc=0 || rc=$?
check "serve refuses a newer schema (exit $rc)" test "$rc" -eq 1
out=$(env -i REQUEST_METHOD=GET REQUEST_URI=/health "$TOLLGATE_BIN" -c "$CONF" </dev/null 2>/dev/null)
check "health says schema_mismatch with 503" sh -c "echo \"\$1\" | grep -q 'Status: 503' && echo \"\$1\" | grep -q schema_mismatch" _ "$out"

finish
