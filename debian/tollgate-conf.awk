# tollgate-conf.awk: the sample configuration as the Debian package installs it in
# /etc/tollgate/tollgate.conf: the keys below set (uncommented) in their section, the rest
# left as commented defaults; sysconfdir is /etc/tollgate, so the sample's
# /etc/tollgate/tollgate/... paths lose the doubled folder.
BEGIN {
	set["log", "file"] = "/var/log/tollgate/error.log"
	set["log", "access_file"] = "/var/log/tollgate/access.log"
	set["server", "pid_file"] = "/run/tollgate/tollgate.pid"
	set["server", "state_dir"] = "/var/lib/tollgate"
	set["security", "master_key_file"] = "/etc/tollgate/master.key"
	done = 0
}
{ gsub("/etc/tollgate/tollgate/", "/etc/tollgate/") }
/^\[[a-z_]+\]$/ { section = substr($0, 2, length($0) - 2) }
/^;[a-z_]+ =/ {
	key = substr($1, 2)
	if ((section, key) in set) {
		print key " = " set[section, key]
		done++
		next
	}
}
{ print }
END {
	if (done != 5) {
		print "tollgate-conf.awk: set " done " of 5 keys" > "/dev/stderr"
		exit 1
	}
}
