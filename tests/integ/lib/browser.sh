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
	CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
	[ -x "$CHROMIUM" ] || skip "no chromium at $CHROMIUM (Debian package chromium)"
	export CHROMIUM
	BROWSER_DIR=${TOLLGATE_BUILDDIR:-$TOLLGATE_SRCDIR}/tests/browser-cache
	npm_install "$TOLLGATE_SRCDIR/tests/browser" "$BROWSER_DIR" tests/browser/package.json
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
	node_checks browser "$BROWSER_DIR/$1" "${BROWSER_TIMEOUT:-600}" \
		TOLLGATE_URL="$URL" TOLLGATE_APP="$APP"
}
