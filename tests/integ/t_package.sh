#!/usr/bin/env bash
# t_package.sh: the packaging files, cheaply (no package build: that is make check-package).
# The unit passes systemd-analyze verify and keeps its sandbox and exposure score; the
# logrotate file rotates a running tollgate's log and USR1 makes it write a new one; the
# conffile the package makes from the sample is a valid configuration; debian/ agrees with
# configure.ac; the maintainer scripts parse.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

need_bin
need_cmd awk sed
make_tmp
S=$TOLLGATE_SRCDIR
UNIT=$S/etc/tollgate.service

# --- the unit ---------------------------------------------------------------------------------
for d in User=tollgate RuntimeDirectory=tollgate NoNewPrivileges=yes ProtectSystem=strict \
	PrivateTmp=yes ProtectHome=yes CapabilityBoundingSet= MemoryDenyWriteExecute=yes \
	'ExecReload=/bin/kill -HUP $MAINPID' KillSignal=SIGQUIT; do
	check "tollgate.service has $d" grep -qxF "$d" "$UNIT"
done
# The socket the unit's runtime folder holds is the one the snippets connect to.
listen=$(sed -n 's/^;listen = unix://p' "$S/etc/tollgate.conf.sample.in")
check "the default socket ($listen) is in RuntimeDirectory /run/tollgate" \
	test "$(dirname "$listen")" = /run/tollgate
check "the nginx snippet connects to that socket" grep -q "server unix:$listen;" "$S/etc/nginx.conf.example"
if command -v systemd-analyze >/dev/null; then
	# verify wants the programs it names to exist: the unit as it is, with the binary
	# built here in place of /usr/sbin/tollgate.
	mkdir -p "$T/unit"
	sed "s|/usr/sbin/tollgate|$TOLLGATE_BIN|g" "$UNIT" >"$T/unit/tollgate.service"
	systemd-analyze verify --man=no "$T/unit/tollgate.service" >"$T/verify.out" 2>&1 && rc=0 || rc=$?
	cat "$T/verify.out"
	check "systemd-analyze verify tollgate.service: exit 0" test "$rc" -eq 0
	check "systemd-analyze verify tollgate.service: no complaint" test ! -s "$T/verify.out"
	systemd-analyze security --offline=true "$T/unit/tollgate.service" >"$T/sec.out" 2>&1 || true
	score=$(sed -n 's/.*Overall exposure level for tollgate.service: \([0-9.]*\).*/\1/p' "$T/sec.out")
	note "systemd-analyze security --offline=true: exposure ${score:-?} (0 best, 10 worst)"
	# 1.1 when written; 2.0 leaves room for systemd versions that weigh things differently.
	check "exposure score at most 2.0" awk -v s="${score:-99}" 'BEGIN { exit !(s <= 2.0) }'
else
	note "SKIP unit checks: systemd-analyze not installed"
fi

# --- logrotate: rotate a running tollgate's log, USR1 reopens it ---------------------------
if command -v logrotate >/dev/null; then
	# The package's file with this test's folders; the pid-file branch of its postrotate
	# (the systemd one needs systemd as PID 1 and the unit installed).
	sed -e "s|/var/log/tollgate|$T/log|g" -e "s|/run/tollgate|$T/run|g" \
		-e "s|/run/systemd/system|$T/no-systemd|g" "$S/debian/tollgate.logrotate" >"$T/logrotate.conf"
	chmod 0644 "$T/logrotate.conf"
	logrotate -d -s "$T/lr.state" "$T/logrotate.conf" >"$T/lr-d.out" 2>&1 && rc=0 || rc=$?
	check "logrotate -d parses the file" test "$rc" -eq 0
	check "  without an error" sh -c "! grep -i 'error' '$T/lr-d.out'"
	cat >"$T/tollgate.conf" <<-CONF
		[server]
		listen = unix:$T/run/tollgate.sock
		workers = 1
		threads = 1
		pid_file = $T/run/tollgate.pid
		run_dir = $T/run
		[log]
		file = $T/log/error.log
		access_file = $T/log/access.log
		[db]
		socket = $T/run/no-database.sock
		connect_timeout = 1
		schema_dir = $S/schema
		[http]
		www_dir = $S/www
	CONF
	start_bg tollgate "$TOLLGATE_BIN" -c "$T/tollgate.conf" serve
	tg=$bg_pid
	check "tollgate started (pid file written)" wait_for "pid file" 10 test -s "$T/run/tollgate.pid"
	check "  and logged to error.log" wait_for "error.log" 10 grep -q started "$T/log/error.log"
	logrotate -f -s "$T/lr.state" "$T/logrotate.conf" >"$T/lr.out" 2>&1 && rc=0 || rc=$?
	cat "$T/lr.out"
	check "logrotate -f rotated: exit 0" test "$rc" -eq 0
	check "  error.log became error.log.1" test -s "$T/log/error.log.1"
	check "  tollgate opened a new error.log after USR1" wait_for "new error.log" 5 test -e "$T/log/error.log"
	check "  the master holds the new file, not the rotated one" \
		sh -c "ls -l /proc/$tg/fd | grep -q '$T/log/error.log\$'"
	kill -HUP "$tg"
	check "  and writes to it" wait_for "reload line" 5 grep -q reloading "$T/log/error.log"
	check "  nothing more went to the rotated file" sh -c "! grep -q reloading '$T/log/error.log.1'"
	kill -TERM "$tg"
else
	note "SKIP logrotate checks: logrotate not installed"
fi

# --- the conffile the package builds from the sample -------------------------------------
sed -e 's|@pkgdatadir@|/usr/share/tollgate|g; s|@sysconfdir@|/etc/tollgate|g' \
	"$S/etc/tollgate.conf.sample.in" | awk -f "$S/debian/tollgate-conf.awk" >"$T/pkg.conf" && rc=0 || rc=$?
check "debian/tollgate-conf.awk sets its keys in the sample" test "$rc" -eq 0
check "  master_key_file = /etc/tollgate/master.key" grep -qx 'master_key_file = /etc/tollgate/master.key' "$T/pkg.conf"
check "  no doubled /etc/tollgate/tollgate/" sh -c "! grep -q /etc/tollgate/tollgate/ '$T/pkg.conf'"
check "  tollgate -t accepts it" "$TOLLGATE_BIN" -c "$T/pkg.conf" -t

# --- debian/ -----------------------------------------------------------------------------------
ac_version=$(sed -n 's/^AC_INIT(\[tollgate\], \[\([^]]*\)\].*/\1/p' "$S/configure.ac")
if command -v dpkg-parsechangelog >/dev/null; then
	deb_version=$(cd "$S" && dpkg-parsechangelog -S Version) && rc=0 || rc=$?
	check "dpkg-parsechangelog reads debian/changelog" test "$rc" -eq 0
	check "debian/changelog's version ($deb_version) is configure.ac's ($ac_version)" \
		test "${deb_version%%-*}" = "$ac_version"
	check "debian/changelog's source is tollgate" test "$(cd "$S" && dpkg-parsechangelog -S Source)" = tollgate
else
	note "SKIP changelog checks: dpkg-parsechangelog not installed (dpkg-dev)"
fi
check "debian/control's source is tollgate" grep -qx 'Source: tollgate' "$S/debian/control"
check "debian/rules is executable" test -x "$S/debian/rules"
for f in postinst postrm; do
	check "debian/tollgate.$f parses (sh -n)" sh -n "$S/debian/tollgate.$f"
	check "  and keeps the #DEBHELPER# token" grep -qx '#DEBHELPER#' "$S/debian/tollgate.$f"
done
if command -v checkbashisms >/dev/null; then
	check "maintainer scripts are POSIX sh (checkbashisms)" \
		checkbashisms "$S/debian/tollgate.postinst" "$S/debian/tollgate.postrm"
fi

finish
