#!/bin/sh
# Throw-away PostgreSQL clusters for the l4d STARTTLS tests, made with
# Debian's postgresql-common (pg_createcluster, pg_ctlcluster,
# pg_dropcluster); the server runs as the user postgres, as those tools
# make it.
#
#	sh pgclusters.sh version
#		the newest installed server version (/usr/lib/postgresql/N);
#		exit 1 if there is none or postgresql-common is missing
#	sh pgclusters.sh create STATE NAME PORT CERT KEY
#		create cluster NAME (a unique name: the caller's pid in it)
#		with its data in a new directory under /tmp, listening on
#		127.0.0.1:PORT only, its socket in that directory, ssl = on
#		with CERT and KEY (copied there, owned by postgres, mode
#		0600), and trust authentication for local and 127.0.0.1
#		connections; start it and wait until it accepts connections.
#		Appends "VERSION NAME DIRECTORY" to STATE (a file in the test's
#		work directory) before anything else, so that drop finds it
#		even if the creation fails half way.
#	sh pgclusters.sh drop STATE
#		stop and drop every cluster STATE names (pg_dropcluster
#		--stop), remove its directory, then STATE itself.
#
# The clusters are created with start.conf "manual": a reboot does not
# start one that a killed test left behind.
set -eu

usage()
{
	echo "usage: pgclusters.sh version | create STATE NAME PORT CERT KEY" \
	    "| drop STATE" >&2
	exit 2
}

pg_version()
{
	command -v pg_createcluster >/dev/null 2>&1 || return 1
	# shellcheck disable=SC2012
	v=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n 1)
	[ -n "$v" ] && [ -x "/usr/lib/postgresql/$v/bin/postgres" ] || return 1
	echo "$v"
}

# run LOG COMMAND...: run it; on failure show its output and fail.
run()
{
	_log=$1
	shift
	if ! "$@" >"$_log" 2>&1; then
		cat "$_log" >&2
		echo "pgclusters: failed: $*" >&2
		exit 1
	fi
}

create()
{
	state=$1 name=$2 port=$3 cert=$4 key=$5
	v=$(pg_version) || { echo "pgclusters: no PostgreSQL server" >&2; exit 1; }
	dir=$(mktemp -d /tmp/l4d-pg.XXXXXX)
	echo "$v $name $dir" >>"$state"
	cp "$cert" "$dir/server.crt"
	cp "$key" "$dir/server.key"
	chmod 600 "$dir/server.key"
	chown -R postgres:postgres "$dir"
	chmod 700 "$dir"
	run "$dir.create.log" pg_createcluster --start-conf=manual \
	    --locale=C -u postgres -d "$dir/data" -s "$dir" -p "$port" \
	    -l "$dir/postgresql.log" "$v" "$name" -- --no-sync --auth=trust
	etc=/etc/postgresql/$v/$name
	# Appended, so these lines win over what pg_createcluster wrote.
	cat >>"$etc/postgresql.conf" <<EOF

# pgclusters.sh: a throw-away test cluster.
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
ssl = on
ssl_cert_file = '$dir/server.crt'
ssl_key_file = '$dir/server.key'
fsync = off
max_connections = 20
EOF
	hba=$etc/pg_hba.conf
	cat >"$hba" <<EOF
# pgclusters.sh: a throw-away test cluster; trust on loopback only.
local	all	all			trust
host	all	all	127.0.0.1/32	trust
EOF
	chown postgres:postgres "$hba"
	run "$dir.start.log" pg_ctlcluster "$v" "$name" start
	# Bounded wait until it accepts connections (10 s).
	i=0
	until "/usr/lib/postgresql/$v/bin/pg_isready" -q -h 127.0.0.1 \
	    -p "$port"; do
		i=$((i + 1))
		if [ $i -ge 100 ]; then
			cat "$dir/postgresql.log" >&2 || true
			echo "pgclusters: $name does not accept connections" \
			    "on 127.0.0.1:$port" >&2
			exit 1
		fi
		sleep 0.1
	done
	rm -f "$dir.create.log" "$dir.start.log"
}

drop()
{
	state=$1
	[ -f "$state" ] || return 0
	rc=0
	while read -r v name dir; do
		[ -n "$name" ] || continue
		if [ -d "/etc/postgresql/$v/$name" ]; then
			pg_dropcluster --stop "$v" "$name" || rc=1
		fi
		case $dir in
		/tmp/l4d-pg.*) rm -rf "$dir" "$dir.create.log" \
		    "$dir.start.log" ;;
		esac
	done <"$state"
	rm -f "$state"
	return $rc
}

[ $# -ge 1 ] || usage
case $1 in
version)
	[ $# -eq 1 ] || usage
	pg_version
	;;
create)
	[ $# -eq 6 ] || usage
	shift
	create "$@"
	;;
drop)
	[ $# -eq 2 ] || usage
	drop "$2"
	;;
*)
	usage
	;;
esac
