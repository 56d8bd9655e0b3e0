# /etc/cron.d/tollgate: `tollgate maintain` once a day: the daily usage rollups caught up,
# usage_records' monthly partitions made ahead, old months retired by [maintain] usage_months
# (nothing is retired unless it is set).  Safe on every node at once (it takes a lock).
SHELL=/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
17 4 * * * tollgate [ -x /usr/sbin/tollgate ] && [ -r /etc/tollgate/tollgate.conf ] && tollgate -c /etc/tollgate/tollgate.conf maintain 2>&1 | logger -t tollgate-maintain -p daemon.info
