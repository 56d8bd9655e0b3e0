#!/usr/bin/env bash
# t_backup.sh: the backup procedure of doc/operations.md (issue 19): `mariadb-dump
# --single-transaction --routines --triggers` taken while chats are in flight, the database
# dropped, the dump restored: the stored procedures and the trigger come back, every table
# has its rows, `tollgate ledger check` is exact on the restored books (the dump is one
# consistent snapshot, holds in flight and all), and chats are served and charged after it.
# shellcheck disable=SC2317 # helpers run through check/wait_for
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh" cp chat

test_begin --mock curl jq nginx mariadb
need_cmd mariadb-dump
export LC_ALL=C
chat_stack backup chat.default_max_tokens=16 server.workers=2 server.threads=4
cp_admin backup 1
AK=$ADMIN_KEY AK_ADMIN=$ADMIN_KEY
user u 5.00
UK=$U_KEY UPUB=$U_ID
body='{"model":"test/cheap","messages":[{"role":"user","content":"hello there"}]}'
slow='{"model":"test/cheap","messages":[{"role":"user","content":"hello there [mock:latency=1500]"}]}'
for i in 1 2 3 4 5; do
	chat "$UK" "$body"
	check "chat $i before the backup: 200" status_is 200
done

# what DB: the figures a restore must bring back: rows per table, routines, triggers.
what() {
	{
		for t in users accounts api_keys holds ledger_entries usage_records audit_log models providers; do
			echo "$t=$(q "SELECT COUNT(*) FROM \`$t\`")"
		done
		echo "routines=$(q "SELECT COUNT(*) FROM information_schema.routines WHERE routine_schema = '$SCRATCH'")"
		echo "triggers=$(q "SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = '$SCRATCH'")"
		echo "money=$(q "SELECT SUM(balance), SUM(reserved) FROM accounts" | tr '\t' ' ')"
		echo "ledger=$(q "SELECT COALESCE(SUM(amount), 0) FROM ledger_entries")"
	}
}

# --- the dump, taken with chats in flight -------------------------------------------------
chat_burst inflight 6 "$UK" "$slow" &
burst=$!
owned_pids+=("$burst")
sleep 0.7
rc=0
mariadb-dump --no-defaults --socket="$TOLLGATE_TEST_DB_SOCKET" -u"$TOLLGATE_TEST_DB_USER" \
	-p"$TOLLGATE_TEST_DB_PASSWORD" --single-transaction --routines --triggers \
	--databases "$SCRATCH" >"$T/backup.sql" 2>"$T/log/dump.err" || rc=$?
wait "$burst" || true
check "mariadb-dump --single-transaction --routines --triggers ran (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/log/dump.err"
check "  the dump has the stored procedures" grep -q 'CREATE DEFINER=.* PROCEDURE `tg_settle`' "$T/backup.sql"
check "  and a trigger" grep -q 'CREATE.*TRIGGER' "$T/backup.sql"
n200=$(cat "$T"/inflight.*.code | grep -c '^200$' || true)
check "the 6 chats in flight during the dump were served ($n200)" test "$n200" = 6

# --- stop, drop, restore, start --------------------------------------------------------------
kill -TERM "$tg_pid"
wait_for "tollgate stops" 30 gone "$tg_pid" || bail "tollgate stops"
rm -f "$SOCK"
before=$(what)
sql -e "DROP DATABASE \`$SCRATCH\`" || bail "drop the database"
check "the database is gone" test -z "$(sql -e "SHOW DATABASES LIKE '$SCRATCH'")"
rc=0
sql <"$T/backup.sql" 2>"$T/log/restore.err" || rc=$?
check "the dump restores into an empty server (exit $rc)" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/log/restore.err"
after=$(what)
note "after restore: $(echo "$after" | tr '\n' ' ')"
# The dump is the snapshot at its start: what the in-flight chats did after it is gone, so
# the restored figures are checked for consistency (ledger check), and the things no chat
# changes for equality.
for k in users api_keys models providers routines triggers; do
	check "restored: $(echo "$after" | grep "^$k=")" \
		test "$(echo "$after" | grep "^$k=")" = "$(echo "$before" | grep "^$k=")"
done
check "restored: the procedures are there ($(echo "$after" | grep '^routines='))" \
	test "$(echo "$after" | sed -n 's/^routines=//p')" -gt 0
check "restored: the trigger is there ($(echo "$after" | grep '^triggers='))" \
	test "$(echo "$after" | sed -n 's/^triggers=//p')" -gt 0
nu=$(q "SELECT COUNT(*) FROM usage_records")
check "restored: at least the 5 usage records before the dump ($nu)" test "$nu" -ge 5
lrc=0
lc=$(tg_cli ledger check 2>&1) || lrc=$?
check "restored: tollgate ledger check exact (exit $lrc)" test "$lrc" = 0
[ "$lrc" = 0 ] || note "$lc"
mg=$(tg_cli migrate 2>&1) || true
note "tollgate migrate on the restored database: $(echo "$mg" | tail -n 1)"

start_tollgate tollgate "$CONF" || bail "tollgate starts on the restored database"
wait_for "$URL/health" 15 health_ok || bail "health after restore"
http GET "$URL/health"
check "after restore: /health says the database is reachable" json_is '.database.reachable == true'
read_balance "$UK"
b0=$BAL
chat "$UK" "$body"
check "after restore: a chat is 200" status_is 200
read_balance "$UK"
check "  and it is charged ($b0 -> $BAL)" test "$BAL" -lt "$b0"
# A hold the dump caught open is swept in full when its time comes (hold_ttl): until then
# ledger check allows it; the books are exact either way.
lrc=0
lc=$(tg_cli ledger check 2>&1) || lrc=$?
check "after restore and a chat: tollgate ledger check exact (exit $lrc)" test "$lrc" = 0
[ "$lrc" = 0 ] || note "$lc"
finish
