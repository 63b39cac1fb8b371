# l4d black-box tests: the processes -- privilege separation, a relay that
# dies, SIGTERM, running out of file descriptors.

# proc_cfg RELAYS LISTEN_PORT SERVER_PORT
proc_cfg()
{
	cfg_head "$1" true
	cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:$2"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:$3"
EOF
}

# check_relay PID: the relay runs as _l4d (real, effective, saved, fs uid
# and gid), chrooted to /var/empty, titled "l4d: relay N".
check_relay()
{
	uid=$(id -u _l4d)
	gid=$(id -g _l4d)
	uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status")
	gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$1/status")
	[ "$uids" = "$uid $uid $uid $uid" ] ||
	    atf_fail "relay $1: Uid $uids, expected $uid (_l4d) four times"
	[ "$gids" = "$gid $gid $gid $gid" ] ||
	    atf_fail "relay $1: Gid $gids, expected $gid four times"
	root=$(readlink "/proc/$1/root")
	[ "$root" = /var/empty ] ||
	    atf_fail "relay $1: root is $root, expected /var/empty"
	title=$(tr '\0' ' ' <"/proc/$1/cmdline")
	echo "$title" | grep -Eq '^l4d: relay [0-9]+' ||
	    atf_fail "relay $1: title '$title', expected 'l4d: relay N'"
}

# children_replaced PARENT OLDPID: the parent has 2 children again and
# OLDPID is not one of them.
children_replaced()
{
	_cr=$(relay_pids "$1")
	[ "$(echo "$_cr" | wc -w)" -eq 2 ] || return 1
	for _p in $_cr; do
		[ "$_p" -ne "$2" ] || return 1
	done
}

atf_test_case privsep cleanup
privsep_head()
{
	atf_set descr "relays run as _l4d in /var/empty; a killed relay is restarted"
	atf_set require.user root
	atf_set timeout 60
}
privsep_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	proc_cfg 2 "$lp" "$sp" >l4d.conf
	start_l4d
	parent=$(cat l4d.pid)

	title=$(tr '\0' ' ' <"/proc/$parent/cmdline")
	echo "$title" | grep -q '^l4d: parent' ||
	    atf_fail "parent title '$title', expected 'l4d: parent'"
	[ "$(wc -l <relays.pid)" -eq 2 ] ||
	    atf_fail "expected 2 relays (children of $parent), found: $(cat relays.pid)"
	for r in $(cat relays.pid); do
		check_relay "$r"
	done
	atf_check -s exit:0 -o inline:'ok 10\n' -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 10 --timeout 10

	# kill -9 one relay: the parent says so and starts another.
	victim=$(head -n 1 relays.pid)
	kill -KILL "$victim"
	wait_log '^parent: .*restart' 10 ||
	    atf_fail "the parent did not log a restart line: $(cat l4d.log)"
	wait_for 10 children_replaced "$parent" "$victim" ||
	    atf_fail "relay $victim was not replaced; children now: $(relay_pids "$parent")"
	relay_pids "$parent" >relays.pid
	for r in $(cat relays.pid); do
		check_relay "$r"
	done
	# Both relays serve again (the kernel spreads these over both).
	atf_check -s exit:0 -o inline:'ok 40\n' -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 40 --timeout 10
}
privsep_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case sigterm cleanup
sigterm_head()
{
	atf_set descr "SIGTERM: every process exits, the parent with status 0"
	atf_set require.user root
	atf_set timeout 60
}
sigterm_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server hold hold "127.0.0.2:$sp"
	proc_cfg 2 "$lp" "$sp" >l4d.conf
	start_l4d
	parent=$(cat l4d.pid)
	relays=$(cat relays.pid)
	[ "$(echo "$relays" | wc -w)" -eq 2 ] ||
	    atf_fail "expected 2 relays, found: $relays"

	# Two sessions are open when the signal comes.
	$PY "$CLIENT" hold --connect "127.0.0.1:$lp" --count 2 --timeout 60 \
	    --ready holder.ready >holder.log 2>&1 </dev/null &
	echo $! >holder.pid
	wait_for 10 test -e holder.ready || atf_fail "the holder did not start"
	# Wait until both sessions reached the server: l4d has 2 sessions.
	wait_for 10 sessions_at_server 2 "$sp" ||
	    atf_fail "the 2 sessions did not reach the server"

	kill -TERM "$parent"
	wait_for 10 not_alive "$parent" ||
	    atf_fail "the parent did not exit within 10 s of SIGTERM"
	wait "$parent"
	status=$?
	[ "$status" -eq 0 ] || atf_fail "the parent exited with status $status"
	for r in $relays; do
		wait_for 10 not_alive "$r" ||
		    atf_fail "relay $r still runs after the parent exited"
	done
	wait_for 5 log_count_is 2 'access .*listener=front .*cause=shutdown' ||
	    atf_fail "expected 2 access lines with cause=shutdown (the open sessions): $(cat l4d.log)"
	[ -e l4d.sock ] && atf_fail "the control socket $PWD/l4d.sock is left behind"
	return 0
}
sigterm_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case relays_auto cleanup
relays_auto_head()
{
	atf_set descr "relays: auto starts one relay per CPU"
	atf_set require.user root
	atf_set timeout 60
}
relays_auto_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	proc_cfg auto "$lp" "$sp" >l4d.conf
	start_l4d
	ncpu=$(getconf _NPROCESSORS_ONLN)
	[ "$(wc -l <relays.pid)" -eq "$ncpu" ] ||
	    atf_fail "$ncpu CPUs but $(wc -l <relays.pid) relays: $(cat relays.pid)"
	log_has "^parent: ready: .*$ncpu relays" ||
	    atf_fail "the ready line does not say $ncpu relays: $(grep ready: l4d.log)"
	atf_check -s exit:0 -o inline:'ok 10\n' -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 10 --timeout 10
}
relays_auto_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# flood LISTEN_PORT SERVER_PORT RELAY MIN_FDS: 150 clients connect and
# stay; wait until the relay's fd count is stable and at least MIN_FDS;
# the relay must then use under 0.5 s of CPU in 2 s; the clients leave and
# new sessions must work again.
flood()
{
	rm -f holder.ready
	$PY "$CLIENT" hold --connect "127.0.0.1:$1" --count 150 \
	    --timeout 60 --ready holder.ready >holder.log 2>&1 </dev/null &
	echo $! >holder.pid
	wait_for 10 test -e holder.ready || atf_fail "the holder did not start"
	# Let the relay fill up: wait until its fd count is stable.
	prev=-1
	same=0
	n=0
	while [ $same -lt 10 ] && [ $n -lt 200 ]; do
		cur=$(ls "/proc/$3/fd" | wc -l)
		if [ "$cur" -eq "$prev" ]; then
			same=$((same + 1))
		else
			same=0
		fi
		prev=$cur
		n=$((n + 1))
		sleep 0.05
	done
	echo "relay fds: $prev"
	[ "$prev" -ge "$4" ] ||
	    atf_fail "the relay holds $prev fds, expected at least $4"
	sessions_at_server 150 "$2" &&
	    atf_fail "all 150 clients reached the server: no fd shortage"

	t0=$(cpu_ticks "$3")
	sleep 2		# measurement window, not synchronisation
	t1=$(cpu_ticks "$3")
	hz=$(getconf CLK_TCK)
	echo "relay CPU over 2 s with clients waiting: $((t1 - t0))/$hz s"
	[ $(((t1 - t0) * 2)) -lt "$hz" ] ||
	    atf_fail "the relay used $((t1 - t0))/$hz s of CPU in 2 s while out of fds: it spins"
	alive "$3" || atf_fail "the relay died: $(cat l4d.log)"

	# The clients go away: new sessions work again.
	kill -TERM "$(cat holder.pid)"
	wait_for 10 not_alive "$(cat holder.pid)" ||
	    atf_fail "the holder did not exit"
	wait_for 20 $PY "$CLIENT" ping --connect "127.0.0.1:$1" --count 1 \
	    --timeout 2 ||
	    atf_fail "no new session works 20 s after the clients left"
	atf_check -s exit:0 -o inline:'ok 20\n' -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$1" --count 20 --timeout 10
	alive "$3" || atf_fail "the relay was replaced; it should have survived"
}

atf_test_case emfile cleanup
emfile_head()
{
	atf_set descr "out of file descriptors: accept backs off instead of spinning, then recovers"
	atf_set require.user root
	atf_set timeout 90
}
emfile_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	proc_cfg 1 "$lp" "$sp" >l4d.conf
	# l4d raises its soft limit to the hard limit: lower both.
	( ulimit -Sn 64 && ulimit -Hn 64 && exec "$L4D" -d -f l4d.conf ) \
	    >l4d.log 2>&1 </dev/null &
	echo $! >l4d.pid
	l4d_wait_ready
	relay=$(cat relays.pid)
	[ "$(echo "$relay" | wc -w)" -eq 1 ] ||
	    atf_fail "expected 1 relay, found: $relay"
	grep -Eq '^Max open files +64 +64 ' "/proc/$relay/limits" ||
	    atf_fail "the relay's fd limit is not 64: $(grep 'open files' /proc/$relay/limits)"
	atf_check -s exit:0 -o inline:'ok 3\n' -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 3 --timeout 10

	# 1. The limit l4d started with: 150 clients against 64 fds.
	flood "$lp" "$sp" "$relay" 20

	# 2. The relay sizes its session table from the limit it started
	# with, so that it may never meet EMFILE on accept.  Take fds away
	# behind its back (as other fds in use would): accept() itself must
	# now fail with EMFILE, and the relay must still not spin.
	base=$(ls "/proc/$relay/fd" | wc -l)
	lim=$((base + 10))
	# (As _l4d: another user's limits need CAP_SYS_RESOURCE, which root
	# may lack in a container.)
	setpriv --reuid=_l4d --regid=_l4d --clear-groups \
	    $PY -c "import resource; resource.prlimit($relay, resource.RLIMIT_NOFILE, ($lim, $lim))" ||
	    atf_fail "cannot lower the relay's fd limit"
	echo "relay fds: $base, limit now $lim"
	flood "$lp" "$sp" "$relay" $((lim - 1))
	grep 'relay\[0\]' l4d.log | grep -v ' access ' | tail -n 20
}
emfile_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case privsep
	atf_add_test_case sigterm
	atf_add_test_case relays_auto
	atf_add_test_case emfile
}
