# privdb.sh: a private MariaDB server for fault tests (lib/init.sh ... privdb): one mariadbd
# of the test's own, in $T/privdb, that the test may kill -9, stop, restart and freeze without
# touching the shared test server that other tests run against in parallel.
#
#     privdb_up          install (first time), start, create the database and user, and point
#                        TOLLGATE_TEST_DB_* (so tg_conf, sql, chat_stack) at it
#     privdb_kill        kill -9 the server (no shutdown, InnoDB recovers at the next start)
#     privdb_stop        SIGTERM and wait (a clean shutdown)
#     privdb_start       start again on the same data directory; waits until it answers
#     privdb_freeze / privdb_thaw   SIGSTOP / SIGCONT (a server that hangs)
#     privdb_alive       true while it answers a ping
# Sets PRIVDB_PID (the running mariadbd).

privdb_dir() { echo "$T/privdb"; }

privdb_alive() {
	mariadb-admin --no-defaults --connect-timeout=2 --socket="$T/run/privdb.sock" -uroot ping \
		>/dev/null 2>&1
}

privdb_start() {
	start_bg privdb mariadbd --no-defaults --user="$(id -un)" --datadir="$(privdb_dir)" \
		--skip-networking --socket="$T/run/privdb.sock" --pid-file="$T/run/privdb.pid" \
		--log-error="$T/log/privdb.err" --tmpdir="$T/privdb.tmp" --innodb-buffer-pool-size=32M --skip-log-bin \
		--max-connections=200
	PRIVDB_PID=$bg_pid
	wait_for "private mariadbd answers" 60 privdb_alive || {
		tail -n 20 "$T/log/privdb.err" 2>/dev/null | sed 's/^/#   /'
		return 1
	}
}

privdb_kill() {
	kill -KILL "$PRIVDB_PID" 2>/dev/null || true
	wait_for "private mariadbd dies" 10 gone "$PRIVDB_PID"
}

privdb_stop() {
	kill -TERM "$PRIVDB_PID" 2>/dev/null || true
	wait_for "private mariadbd stops" 60 gone "$PRIVDB_PID"
}

privdb_freeze() { kill -STOP "$PRIVDB_PID"; }
privdb_thaw() { kill -CONT "$PRIVDB_PID"; }

privdb_up() {
	need_cmd mariadb-install-db mariadbd mariadb-admin mariadb
	# A tmpdir of its own (scripts/dev db_start says why).
	mkdir -p "$(privdb_dir)" "$T/privdb.tmp"
	chmod 0700 "$(privdb_dir)"
	mariadb-install-db --no-defaults --user="$(id -un)" --datadir="$(privdb_dir)" \
		--auth-root-authentication-method=normal --skip-test-db --tmpdir="$T/privdb.tmp" \
		>"$T/log/privdb-install.out" 2>&1 || bail "mariadb-install-db for the private server"
	privdb_start || bail "private mariadbd starts"
	TOLLGATE_TEST_DB_SOCKET=$T/run/privdb.sock
	TOLLGATE_TEST_DB_USER=tollgate
	TOLLGATE_TEST_DB_PASSWORD=privdb-$RANDOM$RANDOM
	TOLLGATE_TEST_DB_NAME=tollgate
	export TOLLGATE_TEST_DB_SOCKET TOLLGATE_TEST_DB_USER TOLLGATE_TEST_DB_PASSWORD \
		TOLLGATE_TEST_DB_NAME
	mariadb --no-defaults --socket="$TOLLGATE_TEST_DB_SOCKET" -uroot -e "
		CREATE DATABASE tollgate CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
		CREATE USER 'tollgate'@'localhost' IDENTIFIED BY '$TOLLGATE_TEST_DB_PASSWORD';
		GRANT ALL PRIVILEGES ON \`tollgate\`.* TO 'tollgate'@'localhost';
		GRANT ALL PRIVILEGES ON \`tollgate\\_%\`.* TO 'tollgate'@'localhost';" ||
		bail "private database and user"
}
