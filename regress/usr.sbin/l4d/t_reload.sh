# Reload black-box tests: l4ctl reload / check and SIGHUP against a running
# l4d (hitless reload, generations, rejected reloads, drain).

# ctl ARG...: l4ctl on this case's control socket ($CTL in atf_check).
ctl()
{
	"$L4CTL" -s "$PWD/l4d.sock" "$@"
}

# fail MESSAGE: fail with the message on one line (atf wants one).
fail()
{
	atf_fail "$(printf '%s' "$*" | tr '\n' '|')"
}

# generation_is N: show summary says "generation N".
generation_is()
{
	$CTL show summary | head -1 | grep -Eq "^generation $1,"
}

# more_access N: the log has at least N access lines.
more_access()
{
	[ "$(grep -c 'access ' l4d.log)" -ge "$1" ]
}

# reload_setup: the binaries, and l4ctl is built.
reload_setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"
	CTL="$L4CTL -s $PWD/l4d.sock"
}

# echo_conf FILE LISTENER_PORT SERVER_PORT WEIGHT: one listener "web" on
# 127.0.0.1 forwarding to backend "pool" with one echo server.
echo_conf()
{
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$2"
    backend: pool
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:$3", weight: $4 }
EOF
	} >"$1"
}

atf_test_case under_load cleanup
under_load_head()
{
	atf_set descr "20 reloads while clients open sessions: no refused or reset connection, every byte delivered, an old session survives, generation 21"
	atf_set require.user root
	atf_set timeout 90
}
under_load_body()
{
	reload_setup
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	echo_conf a.conf "$lp" "$sp" 1
	echo_conf b.conf "$lp" "$sp" 2
	start_l4d a.conf

	# A long-lived session opened before the reloads.
	$PY "$CLIENT" keep --connect "127.0.0.1:$lp" --size 100 \
	    --ready old.ready --go old.go --after echo --timeout 60 \
	    >old.out 2>&1 </dev/null &
	echo $! >old.pid
	wait_for 10 test -e old.ready || fail "old session: $(cat old.out)"

	# Clients opening sessions continuously, 3 at a time.
	$PY "$CLIENT" loop --connect "127.0.0.1:$lp" --parallel 3 \
	    --stop loop.stop --ready loop.ready --timeout 60 \
	    >loop.out 2>loop.err </dev/null &
	echo $! >loop.pid
	wait_for 10 test -e loop.ready ||
	    fail "the client loop did not start: $(cat loop.err)"

	i=1
	while [ $i -le 20 ]; do
		if [ $((i % 2)) -eq 1 ]; then f=b.conf; else f=a.conf; fi
		# Sessions between one reload and the next.
		n0=$(grep -c 'access ' l4d.log)
		wait_for 10 more_access $((n0 + 5)) ||
		    fail "no sessions before reload $i: $(cat loop.err)"
		atf_check -s exit:0 -e empty -o save:reload.$i \
		    -o match:"^backend pool: changed$" \
		    -o match:"^listener web: unchanged$" \
		    -o match:"^reloaded $PWD/$f: generation $((i + 1))$" \
		    $CTL reload -f "$f"
		i=$((i + 1))
	done

	# The loop must have kept going after the last reload: wait for
	# some more sessions, then stop it.
	n0=$(grep -c 'access ' l4d.log)
	wait_for 10 more_access $((n0 + 20)) ||
	    fail "no sessions after the last reload"
	touch loop.stop
	pid=$(cat loop.pid)
	wait_for 30 not_alive "$pid" || fail "the client loop did not stop"
	wait "$pid"
	rc=$?
	cat loop.out
	[ $rc -eq 0 ] || fail "client loop failed: $(cat loop.out loop.err)"
	grep -Eq '^sessions [0-9]+ failures 0$' loop.out ||
	    fail "client loop: $(cat loop.out)"
	n=$(sed -n 's/^sessions \([0-9]*\) .*/\1/p' loop.out)
	[ "$n" -ge 100 ] || fail "only $n sessions during the reloads"

	# The session opened before the reloads still echoes.
	touch old.go
	pid=$(cat old.pid)
	wait_for 15 not_alive "$pid" || fail "old session did not finish"
	wait "$pid" || fail "old session after 20 reloads: $(cat old.out)"

	atf_check -s exit:0 -e empty -o match:'^generation 21, 2 relays$' \
	    $CTL show summary
	log_has 'fatal|relay [0-9]+ \(pid [0-9]+\) .*restarting' &&
	    fail "a process died: $(grep -E 'fatal|restarting' l4d.log)"
	return 0
}
under_load_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case move_backend cleanup
move_backend_head()
{
	atf_set descr "a reload that points a listener at another backend: new sessions go there, an old session stays on its server"
	atf_set require.user root
	atf_set timeout 60
}
move_backend_body()
{
	reload_setup
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	sa=$1
	sb=$2
	start_server a banner "127.0.0.2:$sa" --id a
	start_server b banner "127.0.0.2:$sb" --id b
	for be in one two; do
		{
			cfg_head 2 true
			cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: $be
backends:
  - name: one
    servers: [ { address: "127.0.0.2:$sa" } ]
  - name: two
    servers: [ { address: "127.0.0.2:$sb" } ]
EOF
		} >$be.conf
	done
	start_l4d one.conf
	atf_check -s exit:0 -e empty -o match:'^BANNER a$' \
	    $PY "$CLIENT" banner --connect "127.0.0.1:$lp" --expect "BANNER a"

	$PY "$CLIENT" keep --connect "127.0.0.1:$lp" --expect "BANNER a" \
	    --count 3 --size 50 --ready old.ready --go old.go --after echo \
	    --timeout 30 >old.out 2>&1 </dev/null &
	echo $! >old.pid
	wait_for 10 test -e old.ready || fail "old sessions: $(cat old.out)"

	atf_check -s exit:0 -e empty \
	    -o match:'^listener web: backend one -> two$' \
	    -o match:'^backend one: unchanged$' \
	    -o match:'^backend two: unchanged$' \
	    -o match:"^reloaded $PWD/two.conf: generation 2$" \
	    $CTL reload -f two.conf

	# New sessions: all on b.
	for i in 1 2 3 4 5 6; do
		atf_check -s exit:0 -e empty -o match:'^BANNER b$' \
		    $PY "$CLIENT" banner --connect "127.0.0.1:$lp" \
		    --expect "BANNER b" --timeout 10
	done
	# The old sessions (banner a) still echo.
	touch old.go
	pid=$(cat old.pid)
	wait_for 10 not_alive "$pid" || fail "old sessions did not finish"
	wait "$pid" || fail "old sessions after the reload: $(cat old.out)"
	grep -q '^ok 3 sessions still echo$' old.out ||
	    fail "old sessions: $(cat old.out)"
	# They were counted on server a, backend one.
	wait_for 5 log_count_is 4 \
	    "access .*listener=web .*backend=one server=127\.0\.0\.2:$sa .*cause=client-closed" ||
	    fail "expected 4 sessions on a: $(grep access l4d.log)"
	wait_for 5 log_count_is 6 "access .*backend=two server=127\.0\.0\.2:$sb " ||
	    fail "expected 6 sessions on b: $(grep access l4d.log)"
}
move_backend_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case rejected cleanup
rejected_head()
{
	atf_set descr "a reload with a broken file or a busy new port fails with exit 1, prints why, and changes nothing"
	atf_set require.user root
	atf_set timeout 60
}
rejected_body()
{
	reload_setup
	set -- $(free_ports 2)
	lp=$1
	busy=$2
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	echo_conf l4d.conf "$lp" "$sp" 1
	start_l4d
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 2 --timeout 10

	# A session open across the failed reloads.
	$PY "$CLIENT" keep --connect "127.0.0.1:$lp" --size 10 \
	    --ready old.ready --go old.go --after echo --timeout 30 \
	    >old.out 2>&1 </dev/null &
	echo $! >old.pid
	wait_for 10 test -e old.ready || fail "old session: $(cat old.out)"

	# 1. Broken: an unknown key (line 10) and a dangling backend.
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: nosuch
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:$sp", weight: 1 }
    bogus: 1
EOF
	} >broken.conf
	atf_check -s exit:1 -e empty \
	    -o match:"^$PWD/broken.conf:15:[0-9]+: L4D-E[0-9]{3}: .*bogus" \
	    -o match:"^$PWD/broken.conf:[0-9]+:[0-9]+: L4D-E[0-9]{3}: .*nosuch" \
	    -o match:'^configuration unchanged, generation 1$' \
	    -o not-match:'^reloaded' \
	    $CTL reload -f broken.conf
	# Same for a file that does not parse as YAML at all.
	printf 'listeners: [\n  - name: web\n   bad' >yaml.conf
	atf_check -s exit:1 -e empty \
	    -o match:"^$PWD/yaml.conf:[0-9]+:[0-9]+: L4D-E[0-9]{3}: " \
	    -o match:'^configuration unchanged, generation 1$' \
	    $CTL reload -f yaml.conf
	atf_check -s exit:0 -e empty -o match:'^generation 1, 2 relays$' \
	    -o match:"^listener web 127\.0\.0\.1:$lp backend pool " \
	    $CTL show summary
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 3 --timeout 10

	# 2. A new listener on a port somebody else holds.
	start_server squatter hold "127.0.0.1:$busy"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
  - name: extra
    listen: "127.0.0.1:$busy"
    backend: pool
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:$sp", weight: 5 }
EOF
	} >busy.conf
	atf_check -s exit:1 -e empty \
	    -o match:"^listen 127\.0\.0\.1:$busy: address already in use$" \
	    -o match:'^configuration unchanged, generation 1$' \
	    -o not-match:'^reloaded' \
	    $CTL reload -f busy.conf
	atf_check -s exit:1 -e empty \
	    -o match:"^listen 127\.0\.0\.1:$busy: address already in use$" \
	    -o not-match:'^check OK' \
	    $CTL check -f busy.conf
	atf_check -s exit:0 -e empty -o match:'^generation 1, 2 relays$' \
	    -o not-match:'extra' -o match:'^  server .* weight 1 ' \
	    $CTL show summary
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 3 --timeout 10
	# The squatter still owns its port; l4d did not take half of it.
	atf_check -s exit:0 -o ignore -e ignore \
	    $PY "$CLIENT" idle --connect "127.0.0.1:$busy" --shut --timeout 5
	log_has "listener=extra" && fail "a session went through 'extra'"

	# The failures are logged for the operator too (SIGHUP path later).
	touch old.go
	pid=$(cat old.pid)
	wait_for 10 not_alive "$pid" || fail "old session did not finish"
	wait "$pid" || fail "old session after failed reloads: $(cat old.out)"

	# Once the port is free the same file applies.
	kill -TERM "$(cat squatter.pid)"
	wait_for 10 not_alive "$(cat squatter.pid)" ||
	    fail "the squatter did not exit"
	atf_check -s exit:0 -e empty \
	    -o match:"^listener extra: added, 127\.0\.0\.1:$busy$" \
	    -o match:"^reloaded $PWD/busy.conf: generation 2$" \
	    $CTL reload -f busy.conf
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$busy" --count 2 --timeout 10
}
rejected_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case check cleanup
check_head()
{
	atf_set descr "l4ctl check prints the plan and changes nothing"
	atf_set require.user root
	atf_set timeout 60
}
check_body()
{
	reload_setup
	set -- $(free_ports 2)
	lp=$1
	lp2=$2
	set -- $(free_ports 2 127.0.0.2)
	sa=$1
	sb=$2
	start_server a id "127.0.0.2:$sa" --id a
	start_server b id "127.0.0.2:$sb" --id b
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: one
  - name: old
    listen: "127.0.0.1:$lp2"
    backend: one
backends:
  - name: one
    servers: [ { address: "127.0.0.2:$sa" } ]
  - name: gone
    servers: [ { address: "127.0.0.2:$sb" } ]
EOF
	} >l4d.conf
	np=$(free_ports 1)
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: two
  - name: new
    listen: "127.0.0.1:$np"
    backend: one
backends:
  - name: one
    servers: [ { address: "127.0.0.2:$sa", weight: 7 } ]
  - name: two
    servers: [ { address: "127.0.0.2:$sb" } ]
EOF
	} >new.conf
	start_l4d

	atf_check -s exit:0 -e empty \
	    -o match:'^listener web: backend one -> two$' \
	    -o match:"^listener new: added, 127\.0\.0\.1:$np$" \
	    -o match:'^listener old: removed$' \
	    -o match:'^backend one: changed$' \
	    -o match:'^backend two: added$' \
	    -o match:'^backend gone: removed$' \
	    -o match:'^check OK: would become generation 2$' \
	    -o not-match:'^reloaded' \
	    $CTL check -f new.conf
	# check without -f: the running file, unchanged.
	atf_check -s exit:0 -e empty \
	    -o match:'^listener web: unchanged$' \
	    -o match:'^listener old: unchanged$' \
	    -o match:'^backend one: unchanged$' \
	    -o match:'^check OK: would become generation 2$' \
	    $CTL check
	# A broken file: errors, exit 1.
	printf 'relays: [\n' >broken.conf
	atf_check -s exit:1 -e empty -o match:'L4D-E[0-9]{3}' \
	    -o not-match:'check OK' $CTL check -f broken.conf

	# Nothing changed: generation 1, old listeners and routes as before,
	# the new port is not bound.
	atf_check -s exit:0 -e empty -o match:'^generation 1, 2 relays$' \
	    -o match:"^listener web .* backend one " \
	    -o match:"^listener old " -o not-match:'^listener new' \
	    $CTL show summary
	atf_check -s exit:0 -e empty -o inline:"3 a\n" \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 3 --timeout 10
	atf_check -s exit:0 -e empty -o inline:"2 a\n" \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp2" --count 2 --timeout 10
	atf_check -s exit:1 -o ignore -e match:'refused' \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$np" --timeout 5

	# And the plan is what reload then does.
	atf_check -s exit:0 -e empty -o match:'^listener old: removed$' \
	    -o match:"^reloaded $PWD/new.conf: generation 2$" \
	    $CTL reload -f new.conf
	atf_check -s exit:0 -e empty -o inline:"3 b\n" \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 3 --timeout 10
}
check_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case sighup cleanup
sighup_head()
{
	atf_set descr "SIGHUP reloads the running file; the outcome is in the log"
	atf_set require.user root
	atf_set timeout 60
}
sighup_body()
{
	reload_setup
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	echo_conf l4d.conf "$lp" "$sp" 1
	start_l4d
	echo_conf l4d.conf "$lp" "$sp" 3
	kill -HUP "$(cat l4d.pid)"
	wait_log "reload: reloaded (.*/)?l4d\.conf: generation 2" 10 ||
	    fail "no reload line in the log: $(cat l4d.log)"
	log_has 'reload: backend pool: changed' ||
	    fail "no plan in the log: $(grep reload l4d.log)"
	atf_check -s exit:0 -e empty -o match:'^generation 2, 2 relays$' \
	    -o match:'weight 3 ' $CTL show summary

	printf 'listeners: 1\n' >l4d.conf
	kill -HUP "$(cat l4d.pid)"
	wait_log 'reload: configuration unchanged, generation 2' 10 ||
	    fail "no failure line in the log: $(cat l4d.log)"
	log_has 'reload: .*L4D-E[0-9]{3}' ||
	    fail "no error in the log: $(grep reload l4d.log)"
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 2 --timeout 10
	alive "$(cat l4d.pid)" || fail "l4d died"
}
sighup_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case drain cleanup
drain_head()
{
	atf_set descr "a session on a removed listener: closed with cause drained after timeouts.drain, kept forever with drain infinite"
	atf_set require.user root
	atf_set timeout 60
}
drain_body()
{
	reload_setup
	set -- $(free_ports 2)
	lk=$1
	lx=$2
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	# keep: stays; gone: removed by the reload.
	conf()
	{
		cfg_head 2 true
		cat <<EOF
timeouts: { drain: $1 }
listeners:
  - name: keep
    listen: "127.0.0.1:$lk"
    backend: pool
EOF
		[ "$2" = both ] && cat <<EOF
  - name: gone
    listen: "127.0.0.1:$lx"
    backend: pool
EOF
		cat <<EOF
backends:
  - name: pool
    servers: [ { address: "127.0.0.2:$sp" } ]
EOF
	}
	conf infinite both >l4d.conf
	conf infinite one >inf.conf
	conf 1s both >drain-both.conf
	conf 1s one >drain.conf
	start_l4d

	# 1. drain infinite: the session on the removed listener goes on.
	$PY "$CLIENT" keep --connect "127.0.0.1:$lx" --size 10 \
	    --ready s1.ready --go s1.go --after echo --timeout 30 \
	    >s1.out 2>&1 </dev/null &
	echo $! >s1.pid
	wait_for 10 test -e s1.ready || fail "session 1: $(cat s1.out)"
	atf_check -s exit:0 -e empty -o match:'^listener gone: removed$' \
	    -o match:'generation 2$' $CTL reload -f inf.conf
	atf_check -s exit:1 -o ignore -e match:'refused' \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lx" --timeout 5
	# Longer than a 1 s drain would take (with its 10% jitter).
	if wait_for 2 log_has 'cause=drained'; then
		fail "drained with drain infinite: $(grep access l4d.log)"
	fi
	touch s1.go
	wait_for 10 not_alive "$(cat s1.pid)" || fail "session 1 hangs"
	wait "$(cat s1.pid)" ||
	    fail "session on a removed listener with drain infinite: $(cat s1.out)"
	log_has 'cause=drained' && fail "drained: $(grep access l4d.log)"

	# 2. drain 1s: back to both listeners, a session on "gone", reload
	# without it: closed 1 s (+ up to 10%) later, cause drained.
	atf_check -s exit:0 -e empty -o match:'generation 3$' \
	    $CTL reload -f drain-both.conf
	$PY "$CLIENT" keep --connect "127.0.0.1:$lx" --size 10 \
	    --ready s2.ready --go s2.go --after close --max 3 --timeout 30 \
	    >s2.out 2>&1 </dev/null &
	echo $! >s2.pid
	# And one on "keep", which stays.
	$PY "$CLIENT" keep --connect "127.0.0.1:$lk" --size 10 \
	    --ready s3.ready --go s3.go --after echo --timeout 30 \
	    >s3.out 2>&1 </dev/null &
	echo $! >s3.pid
	wait_for 10 test -e s2.ready || fail "session 2: $(cat s2.out)"
	wait_for 10 test -e s3.ready || fail "session 3: $(cat s3.out)"
	atf_check -s exit:0 -e empty -o match:'^listener gone: removed$' \
	    -o match:'generation 4$' $CTL reload -f drain.conf
	touch s2.go
	wait_for 10 not_alive "$(cat s2.pid)" || fail "session 2 hangs"
	wait "$(cat s2.pid)" || fail "drained session: $(cat s2.out)"
	cat s2.out
	t=$(sed -n 's/^closed after \([0-9.]*\) s$/\1/p' s2.out)
	awk -v t="$t" 'BEGIN { exit !(t >= 0.8) }' ||
	    fail "closed too early ($t s), drain is 1 s"
	wait_log "access .*listener=gone .*cause=drained" 2 ||
	    fail "no access line with cause=drained: $(grep access l4d.log)"
	touch s3.go
	wait_for 10 not_alive "$(cat s3.pid)" || fail "session 3 hangs"
	wait "$(cat s3.pid)" ||
	    fail "the session on the kept listener: $(cat s3.out)"
	[ "$(log_count 'cause=drained')" -eq 1 ] ||
	    fail "expected one drained session: $(grep access l4d.log)"
}
drain_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case drain_of_session cleanup
drain_of_session_head()
{
	atf_set descr "the drain that applies is the one the session's listener had when it started (global or the listener's own), not the reloaded file's"
	atf_set require.user root
	atf_set timeout 60
}
drain_of_session_body()
{
	reload_setup
	set -- $(free_ports 3)
	lk=$1
	lx=$2
	lo=$3
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	# old: global drain infinite; "gone" inherits it, "own" overrides
	# it with 1s.  new: global drain 1s, both listeners removed.
	for f in old new; do
		{
			cfg_head 2 true
			if [ $f = old ]; then
				echo "timeouts: { drain: infinite }"
			else
				echo "timeouts: { drain: 1s }"
			fi
			cat <<EOF
listeners:
  - name: keep
    listen: "127.0.0.1:$lk"
    backend: pool
EOF
			[ $f = old ] && cat <<EOF
  - name: gone
    listen: "127.0.0.1:$lx"
    backend: pool
  - name: own
    listen: "127.0.0.1:$lo"
    backend: pool
    timeouts: { drain: 1s }
EOF
			cat <<EOF
backends:
  - name: pool
    servers: [ { address: "127.0.0.2:$sp" } ]
EOF
		} >$f.conf
	done
	start_l4d old.conf
	$PY "$CLIENT" keep --connect "127.0.0.1:$lx" --size 10 \
	    --ready inf.ready --go inf.go --after echo --timeout 30 \
	    >inf.out 2>&1 </dev/null &
	echo $! >inf.pid
	$PY "$CLIENT" keep --connect "127.0.0.1:$lo" --size 10 \
	    --ready own.ready --go own.go --after close --max 3 --timeout 30 \
	    >own.out 2>&1 </dev/null &
	echo $! >own.pid
	wait_for 10 test -e inf.ready || fail "session on gone: $(cat inf.out)"
	wait_for 10 test -e own.ready || fail "session on own: $(cat own.out)"
	atf_check -s exit:0 -e empty -o match:'^listener gone: removed$' \
	    -o match:'^listener own: removed$' \
	    -o match:'generation 2$' $CTL reload -f new.conf
	touch own.go
	# "own" had drain 1s: closed about 1 s after the reload.
	wait_for 10 not_alive "$(cat own.pid)" || fail "session on own hangs"
	wait "$(cat own.pid)" ||
	    fail "session on a listener with its own drain 1s: $(cat own.out)"
	wait_log "access .*listener=own .*cause=drained" 2 ||
	    fail "no access line with cause=drained: $(grep access l4d.log)"
	# "gone" had drain infinite when its session started: the 1s of the
	# new file does not apply to it.
	if wait_for 1 log_has 'listener=gone .*cause=drained'; then
		fail "drained by the new file's drain: $(grep access l4d.log)"
	fi
	touch inf.go
	wait_for 10 not_alive "$(cat inf.pid)" || fail "session on gone hangs"
	wait "$(cat inf.pid)" ||
	    fail "session on gone after the reload: $(cat inf.out)"
	[ "$(log_count 'cause=drained')" -eq 1 ] ||
	    fail "expected one drained session: $(grep access l4d.log)"
}
drain_of_session_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# route_conf FILE LISTENER_PORT BACKEND PORT_ONE PORT_TWO: a listener
# routing a.test to BACKEND (one or two), everything else to two.
route_conf()
{
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: tls
    listen: "127.0.0.1:$2"
    backend: two
    routes:
      - { sni: a.test, backend: $3 }
backends:
  - name: one
    servers: [ { address: "127.0.0.2:$4" } ]
  - name: two
    servers: [ { address: "127.0.0.2:$5" } ]
EOF
	} >"$1"
}

atf_test_case routes cleanup
routes_head()
{
	atf_set descr "A reload that points a route at another backend routes new sessions by the new route; a session routed before goes on where it was"
	atf_set require.user root
	atf_set timeout 60
}
routes_body()
{
	reload_setup
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	start_server one banner "127.0.0.2:$1" --id one
	start_server two banner "127.0.0.2:$2" --id two
	route_conf a.conf "$lp" one "$1" "$2"
	route_conf b.conf "$lp" two "$1" "$2"
	start_l4d a.conf
	$PY "$TOOLS/hello.py" build --sni a.test --out a.hello >/dev/null ||
	    fail "cannot build a hello"
	# The old session: routed, then held open across the reload.
	$PY - "$lp" >old.out 2>&1 <<'EOF' &
import os, socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(open("a.hello", "rb").read())
f = s.makefile("rb")
print("first", f.readline().decode().strip(), flush=True)
open("old.ready", "w").close()
for _ in range(400):
    if os.path.exists("old.go"):
        break
    time.sleep(0.05)
s.sendall(b"after reload\n")
s.shutdown(socket.SHUT_WR)
print("then", f.read().decode(errors="replace").strip()[-12:], flush=True)
EOF
	echo $! >old.pid
	wait_for 10 test -e old.ready || fail "old session: $(cat old.out)"
	grep -q '^first BANNER one' old.out || fail "before: $(cat old.out)"
	atf_check -s exit:0 -o match:'listener tls: routes changed, 1 routes' \
	    -o match:'generation 2$' $CTL reload -f b.conf
	$CTL show summary | grep -q '^  route a.test backend two ' ||
	    fail "summary: $($CTL show summary)"
	$CTL show sessions | grep -q ' a.test - -$' ||
	    fail "sessions: $($CTL show sessions)"
	$PY "$TOOLS/hello.py" send --connect "127.0.0.1:$lp" --hello a.hello \
	    --expect "BANNER two" --timeout 10 >new.out 2>&1 ||
	    fail "new session not routed by the new file: $(cat new.out)"
	touch old.go
	wait_for 10 not_alive "$(cat old.pid)" || fail "old session hangs"
	# the banner server echoes: the old session still reaches "one"
	grep -q '^then after reload' old.out ||
	    fail "old session after the reload: $(cat old.out)"
}
routes_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

. "$(atf_get_srcdir)/tools/variants.sh"

sockmap_variants under_load move_backend drain drain_of_session

atf_init_test_cases()
{
	atf_add_test_case under_load
	atf_add_test_case move_backend
	atf_add_test_case rejected
	atf_add_test_case check
	atf_add_test_case sighup
	atf_add_test_case drain
	atf_add_test_case drain_of_session
	atf_add_test_case routes
	atf_add_test_case under_load_sockmap
	atf_add_test_case move_backend_sockmap
	atf_add_test_case drain_sockmap
	atf_add_test_case drain_of_session_sockmap
}
