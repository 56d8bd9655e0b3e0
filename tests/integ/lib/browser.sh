# browser.sh: the dashboard's browser tests (lib/init.sh ... browser): Debian chromium driven
# by playwright-core, axe-core for accessibility, both from tests/browser/package.json.
#
#   browser_setup             needs /usr/bin/chromium, node, npm; installs the npm packages
#                             once per build tree into $BROWSER_DIR (tests/browser-cache),
#                             with the scripts tests/browser/*.mjs beside them; else SKIPs
#   browser_stack [k=v ...]   tollgate (root mount) + nginx serving (a copy of) www/ at
#                             /app/ /docs/ /redoc/ with the contract's CSP (nginx-www.conf.in);
#                             sets URL, APP (= $URL/app/), CONF, LOG, SOCK, PORT
#   browser_run SCRIPT        runs tests/browser/SCRIPT with TOLLGATE_URL/APP/SHOTS and the
#                             caller's exported variables; its ok/not ok lines count here

# browser_setup: like sdk_install (lib/chat.sh) for the browser packages. Under a lock: two
# browser tests started at once must not run npm in one directory together.
browser_setup() {
	local src=$TOLLGATE_SRCDIR/tests/browser dep fd missing=""
	CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
	[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (Debian package chromium)"
	need_cmd node npm flock
	export CHROMIUM
	BROWSER_DIR=${TOLLGATE_BUILDDIR:-$TOLLGATE_SRCDIR}/tests/browser-cache
	mkdir -p "$BROWSER_DIR"
	exec {fd}>"$BROWSER_DIR/.lock"
	flock -w 600 "$fd" || skip "the npm install in $BROWSER_DIR stays locked"
	for dep in $(jq -r '.dependencies | keys[]' "$src/package.json"); do
		[ -f "$BROWSER_DIR/node_modules/$dep/package.json" ] || missing="$missing $dep"
	done
	if [ -n "$missing" ] || ! cmp -s "$src/package.json" "$BROWSER_DIR/package.json"; then
		cp "$src/package.json" "$BROWSER_DIR/package.json"
		if ! (cd "$BROWSER_DIR" && timeout 300 npm install --no-audit --no-fund --loglevel=error \
			>"$T/npm.log" 2>&1); then
			tail -n 20 "$T/npm.log"
			rm -f "$BROWSER_DIR/package.json" # the next run tries again
			exec {fd}>&-
			skip "npm install of tests/browser/package.json failed"
		fi
	fi
	cp "$src"/*.mjs "$BROWSER_DIR/"
	exec {fd}>&-
	# The screenshots stay after the run (var/ is ignored by git).
	: "${TOLLGATE_SHOTS:=${TOLLGATE_BUILDDIR:-$TOLLGATE_SRCDIR}/var/screenshots}"
	mkdir -p "$TOLLGATE_SHOTS"
	export TOLLGATE_SHOTS
}

# start_nginx_www: renders nginx-www.conf.in (needs PORT SOCK WWW_ROOT) and starts nginx.
start_nginx_www() {
	mkdir -p "$T/nginx"
	render "$integ_dir/nginx-www.conf.in" "$T/nginx/nginx.conf" || return 1
	if ! nginx -t -q -p "$T/nginx/" -e "$T/log/nginx-error.log" -c "$T/nginx/nginx.conf" \
		>>"$T/log/nginx.out" 2>&1; then
		return 1
	fi
	nginx -p "$T/nginx/" -e "$T/log/nginx-error.log" -c "$T/nginx/nginx.conf" \
		>>"$T/log/nginx.out" 2>&1 || return 1
	own_daemon "$T/run/nginx.pid"
}

# browser_stack [section.key=value ...]: like stack_up, with the static www/ served.
browser_stack() {
	need_cmd nginx
	CONF=$T/tg.conf
	LOG=$T/log/tollgate.log
	SOCK=$T/run/tollgate.sock
	# A copy inside $T: nginx's workers (nobody) reach $T (the sockets live there) but maybe
	# not a checkout under a private directory.
	WWW_ROOT=$T/www
	cp -R "$TOLLGATE_SRCDIR/www" "$WWW_ROOT" || bail "copy www/ into $T"
	chmod -R a+rX "$WWW_ROOT"
	tg_conf "$CONF" "$@"
	start_tollgate tollgate "$CONF" || bail "tollgate starts"
	start_web start_nginx_www || bail "nginx (with www/) starts"
	URL=http://127.0.0.1:$PORT
	APP=$URL/app/
	wait_for "$URL/health" 15 health_ok || bail "$URL/health answers 200"
}

# browser_run SCRIPT: runs one browser script; its ok/not ok lines count as this test's.
browser_run() {
	local out=$T/browser-${1%.mjs}.out rc
	if TOLLGATE_URL=$URL TOLLGATE_APP=$APP timeout "${BROWSER_TIMEOUT:-600}" \
		node "$BROWSER_DIR/$1" >"$out" 2>&1; then
		rc=0
	else
		rc=$?
	fi
	cat "$out"
	n_ok=$((n_ok + $(grep -c '^ok - ' "$out" || true)))
	n_fail=$((n_fail + $(grep -c '^not ok - ' "$out" || true)))
	check "the browser script $1 ran to the end (exit $rc)" test "$rc" -eq 0
}
