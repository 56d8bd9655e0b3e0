#!/usr/bin/env bash
# t_examples.sh: the operator snippets etc/*.conf.example, pasted as written behind real servers.
#
# The other web-server tests run from their own templates (*.conf.in); this one takes each
# example file itself, changes only what a deployment in a temp dir must change (with sed:
# the socket, binary and config paths, `listen 80`), pastes it into a minimal top-level config
# of its server, and checks the result through that server. Each example's commented
# "serve tollgate under a prefix" alternative is uncommented mechanically in place of the
# block it replaces and checked too, and so are the tollgate.conf lines the examples show. Each
# pasted example serves the dashboard and the API reference from www/ (web_static).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib/init.sh"

need_db
need_bin
need_cmd nginx apache2 lighttpd curl jq
[ -f /usr/lib/apache2/modules/mod_fcgid.so ] || skip "mod_fcgid not installed"
[ -f /usr/lib/apache2/modules/mod_proxy_fcgi.so ] || skip "mod_proxy_fcgi not installed"
[ -f /etc/nginx/fastcgi_params ] || skip "no /etc/nginx/fastcgi_params"
make_tmp

EX=$TOLLGATE_SRCDIR/etc
mkdir -p "$T/ex" "$T/snip"
MODS=/usr/lib/apache2/modules

# --- turning an example into a config -----------------------------------------------------

# paste_example IN OUT: IN with the mechanical substitutions, to OUT. Production paths become
# the staged copies ($SOCK: the standalone pool's socket; $ETC: the directory that stands in
# for /etc/tollgate; the binaries in $T/bin), and `listen 80;` becomes a loopback listener on
# @PORT@ (rendered once the port is chosen). Comments are substituted too, so that nothing
# but the paths differs. Afterwards no directive may still name a production path.
paste_example() {
	local in=$1 out=$2 left
	sed -e "s|unix:/run/tollgate/tollgate\.sock|unix:$SOCK|g" \
		-e "s|/run/lighttpd/|$T/wrun/|g" \
		-e "s|/usr/local/lib/tollgate|$T/bin|g" \
		-e "s|/usr/local/sbin/tollgate|$T/bin/tollgate|g" \
		-e "s|/etc/tollgate/|$ETC/|g" \
		-e "s|/usr/local/share/tollgate/www|$T/www|g" \
		-e 's|^\([[:space:]]*listen\) 80;|\1 127.0.0.1:@PORT@;|' \
		"$in" >"$out"
	left=$(sed "s|$T/||g" "$out" |
		grep -nE '^[[:space:]]*[^#[:space:]].*(/run/|/etc/|/usr/|/var/|/srv/|/opt/|[[:space:]]80;)' || true)
	if [ -n "$left" ]; then
		note "$(basename "$in"): a directive still names a production path (the example changed shape?):"
		echo "$left" | sed 's/^/#   /'
		return 1
	fi
}

# alt_block IN START: the commented block of IN that begins with the line START (a literal
# "#    ..." line), uncommented: the run of lines that start with "#" and four spaces.
alt_block() {
	awk -v start="$2" '
		on && !/^#    / { exit }
		!on && $0 == start { on = 1 }
		on { sub(/^#    /, ""); print }' "$1"
}

# prefix_variant NAME START RANGE FIRST [RANGE...]: etc/NAME.conf.example with the lines RANGE
# (a sed address range; FIRST is its first address) replaced by the uncommented block that
# begins with START, and any further RANGEs deleted, as the example's "Alternative: serve
# tollgate under a prefix" tells the reader. Writes $T/ex/NAME-prefix.example.
prefix_variant() {
	local name=$1 start=$2 range=$3 first=$4 in=$EX/$1.conf.example r
	local alt=$T/ex/$name.alt out=$T/ex/$name-prefix.example
	shift 4
	local -a expr=(-e "$range{" -e "${first}r $alt" -e 'd' -e '}')
	alt_block "$in" "$start" >"$alt"
	[ -s "$alt" ] || {
		note "$name: no commented block starting with '$start'"
		return 1
	}
	for r in "$range" "$@"; do
		if [ -z "$(sed -n "${r}p" "$in")" ]; then
			note "$name: no lines match $r"
			return 1
		fi
		[ "$r" = "$range" ] || expr+=(-e "${r}d")
	done
	sed "${expr[@]}" "$in" >"$out"
}

# --- the tollgate.conf lines the examples show --------------------------------------------

# Every example shows tollgate.conf lines in comments ("#     [server]" and the "#     " lines
# after it); an operator copies them, so each such block must pass `tollgate -t`.
for name in nginx apache-fcgid apache-proxy_fcgi lighttpd; do
	rm -f "$T/snip/$name".*
	awk -v out="$T/snip/$name" '
		/^#     \[server\]$/ { n++; on = 1 }
		on && /^#     / { sub(/^#     /, ""); print > (out "." n); next }
		{ on = 0 }' "$EX/$name.conf.example"
	n=0
	for f in "$T/snip/$name".*; do
		[ -f "$f" ] || continue
		n=$((n + 1))
		if "$TOLLGATE_BIN" -t -c "$f" >"$f.out" 2>&1; then
			ok "$name example: tollgate.conf lines #$n pass tollgate -t"
		else
			not_ok "$name example: tollgate.conf lines #$n pass tollgate -t"
			sed 's/^/#   | /' "$f"
			sed 's/^/#   /' "$f.out"
		fi
	done
	check "$name example: shows the tollgate.conf lines it needs" test "$n" -ge 1
done

# --- tollgate: two standalone pools and the configs of the spawned ones --------------------

# Standalone (nginx, mod_proxy_fcgi): one pool at the root, one with mount_prefix=/tollgate.
# http.max_body is left at its default (8M), which every example says its server's body limit
# stays above.
mkdir -p "$T/run/root" "$T/run/prefix"
tg_conf "$T/root.conf" "server.listen=unix:$T/run/root.sock" "server.pid_file=$T/run/root.pid" \
	"server.run_dir=$T/run/root" "log.file=$T/log/root.log" "http.max_body="
tg_conf "$T/prefix.conf" "server.listen=unix:$T/run/prefix.sock" \
	"server.pid_file=$T/run/prefix.pid" "server.run_dir=$T/run/prefix" \
	"log.file=$T/log/prefix.log" "http.max_body=" "server.mount_prefix=/tollgate"
start_tollgate root "$T/root.conf" || bail "tollgate (root pool) starts"
start_tollgate prefix "$T/prefix.conf" || bail "tollgate (prefix pool) starts"

# Spawned (mod_fcgid, lighttpd bin-path): the server's user runs the binary from $T/bin and
# reads the config from a stand-in for /etc/tollgate. The fcgid example's "two mounts" lines
# use a second binary (tollgate-b) and config (b.conf).
stage_for_www
cp "$stage_bin" "$T/bin/tollgate-b"
spawned_conf() {
	local file=$1 name=$2
	shift 2
	tg_conf "$file" "http.www_dir=$T/www" "server.run_dir=$T/wrun" \
		"log.file=$T/wlog/$name.log" "server.pid_file=" "http.max_body=" "$@"
	chmod 0644 "$file"
}
mkdir -p "$T/etc-root" "$T/etc-prefix"
chmod 0755 "$T/etc-root" "$T/etc-prefix"
spawned_conf "$T/etc-root/tollgate.conf" spawned-root
spawned_conf "$T/etc-prefix/tollgate.conf" spawned-prefix "server.mount_prefix=/tollgate"
spawned_conf "$T/etc-prefix/b.conf" spawned-b "server.mount_prefix=/b"
# lighttpd creates its backend sockets there, and buffers request bodies in wtmp.
mkdir -p "$T/wtmp"
chown "$(www_user)" "$T/wtmp"
WWW_USER=$(www_user)
WWW_GROUP=$(id -gn "$WWW_USER")

# --- the checks ---------------------------------------------------------------------------

big_json "$T/big.json" 9000000

# probe BASE LABEL [gzip]: what every pasted example must give through its server. With
# "gzip", the wrapper compresses JSON site-wide and the example must keep it off.
probe() {
	local base=$1 l=$2 gz=${3:-}

	http GET "$base/health" -H 'Accept-Encoding: gzip'
	check "$l: GET /health is 200" status_is 200
	check "$l: /health says database reachable" json_is '.database.reachable == true'
	check "$l: x-request-id on /health" test -n "$(hdr x-request-id)"
	if [ -n "$gz" ]; then
		check "$l: response is not compressed" test -z "$(hdr content-encoding)"
	fi

	http GET "$base/nope"
	check "$l: GET /nope is 404" status_is 404
	check "$l: 404 is JSON" content_type_json
	check "$l: 404 has the OpenAI error shape" error_shape
	check "$l: 404 code is not_found" json_is '.error.code == "not_found"'
	check "$l: x-request-id on the 404" test -n "$(hdr x-request-id)"

	# Every example says its server's body limit stays above tollgate's default 8M.
	CURL_TIMEOUT=30 http POST "$base/_debug/echo" -H 'Content-Type: application/json' \
		--data-binary "@$T/big.json"
	check "$l: a 9 MB body gets tollgate's JSON 413" json_is '.error.code == "body_too_large"'

	# The server's own refusal of a header over its limit is JSON too (issue 15 item 9).
	timed_http GET "$base/health" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
	check "$l: a 20 kB header is refused with a 4xx (got $code)" \
		sh -c 'case $1 in 400|413|431|494) exit 0;; esac; exit 1' _ "$code"
	json_error_quick "$l: 20 kB header" 5000
}

# running PATTERN: some process's command line matches PATTERN.
running() {
	pgrep -f -- "$1" >/dev/null
}

# stop_last: stops the server started last (its process group: spawned backends included) and
# forgets its pid file, so the next one starts clean.
stop_last() {
	stop_groups "${owned_pgids[-1]}"
	rm -f "$T/run/nginx.pid" "$T/run/apache.pid" "$T/run/lighttpd.pid"
}

# --- nginx --------------------------------------------------------------------------------

# The example's upstream and server blocks go into http { }; `include fastcgi_params` is
# relative, so the file sits next to the config as in /etc/nginx. gzip is on for JSON
# site-wide (as a site may have it), which the example's `gzip off` must override.
mkdir -p "$T/nginx"
cp /etc/nginx/fastcgi_params "$T/nginx/"
nginx_wrap() {
	cat <<EOF
# nginx.conf generated by $test_name around $1
daemon on;
worker_processes 1;
pid $T/run/nginx.pid;
error_log $T/log/nginx-error.log warn;
events {
    worker_connections 256;
}
http {
    access_log $T/log/nginx-access.log;
    client_body_temp_path $T/tmp/nginx-client_body;
    fastcgi_temp_path $T/tmp/nginx-fastcgi;
    proxy_temp_path $T/tmp/nginx-proxy;
    uwsgi_temp_path $T/tmp/nginx-uwsgi;
    scgi_temp_path $T/tmp/nginx-scgi;
    gzip on;
    gzip_types application/json;
    # As Debian's nginx.conf: the dashboard's files need their types.
    include /etc/nginx/mime.types;
    default_type application/octet-stream;

# ---- pasted: $1
EOF
	cat "$2"
	echo "}"
}

start_nginx_with() {
	render "$1" "$T/nginx/nginx.conf" || return 1
	nginx -t -q -p "$T/nginx/" -e "$T/log/nginx-error.log" -c "$T/nginx/nginx.conf" \
		>>"$T/log/nginx.out" 2>&1 || return 1
	nginx -p "$T/nginx/" -e "$T/log/nginx-error.log" -c "$T/nginx/nginx.conf" \
		>>"$T/log/nginx.out" 2>&1 || return 1
	own_daemon "$T/run/nginx.pid"
}

SOCK=$T/run/root.sock ETC=/nonexistent
paste_example "$EX/nginx.conf.example" "$T/ex/nginx.pasted" || bail "nginx example: paths substituted"
nginx_wrap nginx.conf.example "$T/ex/nginx.pasted" >"$T/ex/nginx.conf.in"
start_web start_nginx_with "$T/ex/nginx.conf.in" || bail "nginx starts with nginx.conf.example"
wait_http "http://127.0.0.1:$PORT/health" || bail "nginx answers"
probe "http://127.0.0.1:$PORT" "nginx example" gzip
web_static "http://127.0.0.1:$PORT" "nginx example"
stop_last

prefix_variant nginx '#    location ~ ^/tollgate/(app|docs|redoc)/(.*)$ {' \
	'/^    location \/ {$/,/^    }$/' '/^    location \/ {$/' '/^    location ~ ^\/(app|docs|redoc)\/ {$/,/^    }$/' ||
	bail "nginx example: prefix alternative uncommented"
SOCK=$T/run/prefix.sock
paste_example "$T/ex/nginx-prefix.example" "$T/ex/nginx-prefix.pasted" ||
	bail "nginx prefix example: paths substituted"
nginx_wrap "nginx.conf.example (prefix alternative)" "$T/ex/nginx-prefix.pasted" \
	>"$T/ex/nginx-prefix.conf.in"
start_web start_nginx_with "$T/ex/nginx-prefix.conf.in" || bail "nginx starts with the prefix alternative"
wait_http "http://127.0.0.1:$PORT/tollgate/health" || bail "nginx answers"
probe "http://127.0.0.1:$PORT/tollgate" "nginx example /tollgate/" gzip
web_static "http://127.0.0.1:$PORT/tollgate" "nginx example /tollgate/"
http GET "http://127.0.0.1:$PORT/tollgate"
check "nginx example /tollgate/: /tollgate redirects to /tollgate/" \
	test "$code:$(hdr location | sed 's|^https\?://[^/]*||')" = "301:/tollgate/"
stop_last

# --- Apache -------------------------------------------------------------------------------

# apache_wrap LABEL PASTED MODULE...: a whole httpd.conf for `apache2 -f` (as Debian's
# apache2.conf: nothing on disk is served unless allowed) with the pasted example inside a
# <VirtualHost>, as its header says. mod_deflate compresses JSON site-wide; the example's
# `SetEnv no-gzip 1` must keep it off.
apache_wrap() {
	local label=$1 pasted=$2 m
	shift 2
	cat <<EOF
# httpd.conf generated by $test_name around $label
ServerRoot "$T"
ServerName 127.0.0.1
Listen 127.0.0.1:@PORT@
PidFile "$T/run/apache.pid"
DefaultRuntimeDir "$T/run"
ErrorLog "$T/log/apache-error.log"
LogLevel warn
LogFormat "%h %t \"%r\" %>s %b %D" tg
CustomLog "$T/log/apache-access.log" tg
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule env_module $MODS/mod_env.so
LoadModule filter_module $MODS/mod_filter.so
LoadModule deflate_module $MODS/mod_deflate.so
LoadModule mime_module $MODS/mod_mime.so
LoadModule reqtimeout_module $MODS/mod_reqtimeout.so
# As Debian's mime.conf and dir.conf (mod_dir is enabled by default there).
TypesConfig /etc/mime.types
LoadModule dir_module $MODS/mod_dir.so
EOF
	for m in "$@"; do
		echo "LoadModule ${m}_module $MODS/mod_$m.so"
	done
	cat <<EOF
User @WWW_USER@
Group @WWW_GROUP@
StartServers 1
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
<Directory />
    Options FollowSymLinks
    AllowOverride None
    Require all denied
</Directory>
AddOutputFilterByType DEFLATE application/json
<IfModule fcgid_module>
    # Debian keeps these in /var/lib/apache2/fcgid; here in the temp dir.
    FcgidIPCDir "$T/fcgid"
    FcgidProcessTableFile "$T/fcgid/shm"
</IfModule>

<VirtualHost *:@PORT@>
    ServerName localhost
    DocumentRoot "$T/www"
# ---- pasted: $label
EOF
	cat "$pasted"
	echo "</VirtualHost>"
}

# Apache with mod_proxy_fcgi, in front of the standalone pools.
SOCK=$T/run/root.sock ETC=/nonexistent
paste_example "$EX/apache-proxy_fcgi.conf.example" "$T/ex/proxy_fcgi.pasted" ||
	bail "apache-proxy_fcgi example: paths substituted"
apache_wrap apache-proxy_fcgi.conf.example "$T/ex/proxy_fcgi.pasted" proxy proxy_fcgi headers \
	>"$T/ex/proxy_fcgi.conf.in"
start_web start_apache "$T/ex/proxy_fcgi.conf.in" || bail "apache2 starts with apache-proxy_fcgi.conf.example"
wait_http "http://127.0.0.1:$PORT/health" || bail "apache2 (mod_proxy_fcgi) answers"
probe "http://127.0.0.1:$PORT" "proxy_fcgi example" gzip
web_static "http://127.0.0.1:$PORT" "proxy_fcgi example"
stop_last

prefix_variant apache-proxy_fcgi \
	'#    AliasMatch "^/tollgate/(app|docs|redoc)/(.*)$" "/usr/local/share/tollgate/www/$1/$2"' \
	'/^    ProxyPass "\/" /' '/^    ProxyPass "\/" /' '/^    <Location "\/">$/,/^    <\/Location>$/' \
	'/^    AliasMatch "^\/(app|docs|redoc)\//' '/^    ProxyPassMatch "^\/(app|docs|redoc)\//' ||
	bail "apache-proxy_fcgi example: prefix alternative uncommented"
SOCK=$T/run/prefix.sock
paste_example "$T/ex/apache-proxy_fcgi-prefix.example" "$T/ex/proxy_fcgi-prefix.pasted" ||
	bail "apache-proxy_fcgi prefix example: paths substituted"
apache_wrap "apache-proxy_fcgi.conf.example (prefix alternative)" "$T/ex/proxy_fcgi-prefix.pasted" \
	proxy proxy_fcgi headers >"$T/ex/proxy_fcgi-prefix.conf.in"
start_web start_apache "$T/ex/proxy_fcgi-prefix.conf.in" ||
	bail "apache2 starts with the proxy_fcgi prefix alternative"
wait_http "http://127.0.0.1:$PORT/tollgate/health" || bail "apache2 (mod_proxy_fcgi) answers"
probe "http://127.0.0.1:$PORT/tollgate" "proxy_fcgi example /tollgate/" gzip
web_static "http://127.0.0.1:$PORT/tollgate" "proxy_fcgi example /tollgate/"
http GET "http://127.0.0.1:$PORT/tollgate"
check "proxy_fcgi example /tollgate/: /tollgate redirects to /tollgate/" \
	test "$code:$(hdr location | sed 's|^https\?://[^/]*||')" = "301:/tollgate/"
stop_last

# Apache with mod_fcgid, which spawns tollgate from the staged binary as the server user.
mkdir -p "$T/fcgid"
chown "$WWW_USER" "$T/fcgid"
SOCK=/nonexistent ETC=$T/etc-root
paste_example "$EX/apache-fcgid.conf.example" "$T/ex/fcgid.pasted" ||
	bail "apache-fcgid example: paths substituted"
apache_wrap apache-fcgid.conf.example "$T/ex/fcgid.pasted" fcgid headers >"$T/ex/fcgid.conf.in"
start_web start_apache "$T/ex/fcgid.conf.in" || bail "apache2 starts with apache-fcgid.conf.example"
wait_http "http://127.0.0.1:$PORT/health" || bail "apache2 (mod_fcgid) answers"
probe "http://127.0.0.1:$PORT" "fcgid example" gzip
web_static "http://127.0.0.1:$PORT" "fcgid example"
owner=$(ps -o user= -p "$(pgrep -f -- "$T/bin/tollgate" | head -n 1)" 2>/dev/null || true)
check "fcgid example: spawned tollgate runs as $WWW_USER" test "$owner" = "$WWW_USER"
stop_last

# The prefix alternative replaces `ScriptAlias /` and <Location "/">; the "two mounts" lines after it are pasted
# as well (a second binary and config under /b/).
prefix_variant apache-fcgid \
	'#    AliasMatch "^/tollgate/(app|docs|redoc)/(.*)$" "/usr/local/share/tollgate/www/$1/$2"' \
	'/^    ScriptAlias \/ /' '/^    ScriptAlias \/ /' '/^    <Location "\/">$/,/^    <\/Location>$/' \
	'/^    AliasMatch "^\/(app|docs|redoc)\//' ||
	bail "apache-fcgid example: prefix alternative uncommented"
alt_block "$EX/apache-fcgid.conf.example" '#    FcgidCmdOptions /usr/local/lib/tollgate/tollgate-b InitialEnv TOLLGATE_CONF=/etc/tollgate/b.conf' \
	>>"$T/ex/apache-fcgid-prefix.example"
check "fcgid example: has the two-mounts lines" grep -q '^ScriptAlias /b/' "$T/ex/apache-fcgid-prefix.example"
ETC=$T/etc-prefix
paste_example "$T/ex/apache-fcgid-prefix.example" "$T/ex/fcgid-prefix.pasted" ||
	bail "apache-fcgid prefix example: paths substituted"
apache_wrap "apache-fcgid.conf.example (prefix and two-mounts alternatives)" \
	"$T/ex/fcgid-prefix.pasted" fcgid headers >"$T/ex/fcgid-prefix.conf.in"
start_web start_apache "$T/ex/fcgid-prefix.conf.in" ||
	bail "apache2 starts with the fcgid prefix alternative"
wait_http "http://127.0.0.1:$PORT/tollgate/health" || bail "apache2 (mod_fcgid) answers"
probe "http://127.0.0.1:$PORT/tollgate" "fcgid example /tollgate/" gzip
web_static "http://127.0.0.1:$PORT/tollgate" "fcgid example /tollgate/"
probe "http://127.0.0.1:$PORT/b" "fcgid example /b/ (second mount)" gzip
check "fcgid example: the second mount runs its own binary" running "$T/bin/tollgate-b"
stop_last

# --- lighttpd -----------------------------------------------------------------------------

# lighttpd_wrap LABEL PASTED: a whole lighttpd.conf for `lighttpd -D -f`, with the main
# settings of Debian's lighttpd.conf (server.modules defined before the example's +=).
lighttpd_wrap() {
	cat <<EOF
# lighttpd.conf generated by $test_name around $1
server.modules = ( "mod_indexfile", "mod_access", "mod_alias", "mod_redirect" )
server.document-root = "$T/www"
server.bind = "127.0.0.1"
server.port = @PORT@
server.pid-file = "$T/run/lighttpd.pid"
# lighttpd opens its error log after dropping privileges.
server.errorlog = "$T/wlog/lighttpd-error.log"
server.upload-dirs = ( "$T/wtmp" )
server.username = "@WWW_USER@"
server.groupname = "@WWW_GROUP@"

# ---- pasted: $1
EOF
	cat "$2"
}

start_lighttpd_with() {
	mkdir -p "$T/lighttpd"
	render "$1" "$T/lighttpd/lighttpd.conf" || return 1
	lighttpd -tt -f "$T/lighttpd/lighttpd.conf" >>"$T/log/lighttpd.out" 2>&1 || return 1
	start_bg lighttpd lighttpd -D -f "$T/lighttpd/lighttpd.conf"
	wait_for "lighttpd on port $PORT" 10 lighttpd_up "$bg_pid"
}

SOCK=/nonexistent ETC=$T/etc-root
paste_example "$EX/lighttpd.conf.example" "$T/ex/lighttpd.pasted" ||
	bail "lighttpd example: paths substituted"
lighttpd_wrap lighttpd.conf.example "$T/ex/lighttpd.pasted" >"$T/ex/lighttpd.conf.in"
start_web start_lighttpd_with "$T/ex/lighttpd.conf.in" || bail "lighttpd starts with lighttpd.conf.example"
wait_http "http://127.0.0.1:$PORT/health" || bail "lighttpd answers"
probe "http://127.0.0.1:$PORT" "lighttpd example"
web_static "http://127.0.0.1:$PORT" "lighttpd example"
owner=$(ps -o user= -p "$(pgrep -f -- "$T/bin/tollgate" | head -n 1)" 2>/dev/null || true)
check "lighttpd example: spawned tollgate runs as $WWW_USER" test "$owner" = "$WWW_USER"
stop_last

prefix_variant lighttpd '#    fastcgi.server += (' \
	'/^fastcgi\.server += ($/,/^)$/' '/^fastcgi\.server += ($/' \
	'/^\$HTTP\["url"\] =~ "^\/(app|docs|redoc)\/" {$/,/^}$/' ||
	bail "lighttpd example: prefix alternative uncommented"
ETC=$T/etc-prefix
paste_example "$T/ex/lighttpd-prefix.example" "$T/ex/lighttpd-prefix.pasted" ||
	bail "lighttpd prefix example: paths substituted"
lighttpd_wrap "lighttpd.conf.example (prefix alternative)" "$T/ex/lighttpd-prefix.pasted" \
	>"$T/ex/lighttpd-prefix.conf.in"
start_web start_lighttpd_with "$T/ex/lighttpd-prefix.conf.in" ||
	bail "lighttpd starts with the prefix alternative"
wait_http "http://127.0.0.1:$PORT/tollgate/health" || bail "lighttpd answers"
probe "http://127.0.0.1:$PORT/tollgate" "lighttpd example /tollgate/"
web_static "http://127.0.0.1:$PORT/tollgate" "lighttpd example /tollgate/"
stop_last

finish
