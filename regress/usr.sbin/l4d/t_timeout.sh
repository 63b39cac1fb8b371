# l4d black-box tests: timeouts.

atf_test_case idle cleanup
idle_head()
{
	atf_set descr "a silent session is closed after the idle timeout, cause idle-timeout"
	atf_set require.user root
	atf_set timeout 60
}
idle_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 2)
	lp=$1
	lp2=$2
	sp=$(free_ports 1 127.0.0.2)
	start_server hold hold "127.0.0.2:$sp"
	{
		cfg_head 1 true
		cat <<EOF
timeouts: { idle: 1h }
listeners:
  - name: quick
    listen: "127.0.0.1:$lp"
    backend: pool
    timeouts: { idle: 1s }
  - name: slow
    listen: "127.0.0.1:$lp2"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:$sp"
EOF
	} >l4d.conf
	start_l4d

	# A session on the default (1 h) listener stays open meanwhile.
	$PY "$CLIENT" hold --connect "127.0.0.1:$lp2" --count 1 --timeout 30 \
	    --ready holder.ready >holder.log 2>&1 </dev/null &
	echo $! >holder.pid
	wait_for 10 test -e holder.ready || atf_fail "the holder did not start"

	atf_check -s exit:0 -o match:'^(eof|reset) after' -e empty \
	    $PY "$CLIENT" idle --connect "127.0.0.1:$lp" --min 0.8 --max 4 \
	    --timeout 10
	wait_log 'access .*listener=quick .*cause=idle-timeout' 5 ||
	    atf_fail "no access line with cause=idle-timeout: $(grep access l4d.log)"
	if log_has 'access .*listener=slow '; then
		atf_fail "the session on the 1 h listener was closed: $(grep access l4d.log)"
	fi
}
idle_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case half_closed cleanup
half_closed_head()
{
	atf_set descr "after the client's FIN the server may stay silent only half_closed long"
	atf_set require.user root
	atf_set timeout 60
}
half_closed_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	# The server reads the EOF and then neither answers nor closes.
	start_server stay stay "127.0.0.2:$sp"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: hc
    listen: "127.0.0.1:$lp"
    backend: pool
    timeouts: { half_closed: 1s, idle: 1h }
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:$sp"
EOF
	} >l4d.conf
	start_l4d

	atf_check -s exit:0 -o match:'^(eof|reset) after' -e empty \
	    $PY "$CLIENT" idle --shut --connect "127.0.0.1:$lp" --min 0.8 \
	    --max 4 --timeout 10
	wait_log 'access .*listener=hc .*cause=half-closed-timeout' 5 ||
	    atf_fail "no access line with cause=half-closed-timeout: $(grep access l4d.log)"
}
half_closed_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case max_sessions cleanup
max_sessions_head()
{
	atf_set descr "a listener's max_sessions: the session over it is closed, cause over-limit"
	atf_set require.user root
	atf_set timeout 60
}
max_sessions_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: small
    listen: "127.0.0.1:$lp"
    backend: pool
    max_sessions: 2
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:$sp"
EOF
	} >l4d.conf
	start_l4d

	$PY "$CLIENT" hold --connect "127.0.0.1:$lp" --count 2 --timeout 30 \
	    --ready holder.ready >holder.log 2>&1 </dev/null &
	echo $! >holder.pid
	wait_for 10 test -e holder.ready || atf_fail "the holder did not start"
	wait_for 10 sessions_at_server 2 "$sp" ||
	    atf_fail "the 2 allowed sessions did not reach the server"
	# The third is closed at once and never reaches the server.
	atf_check -s exit:0 -o match:'^(eof|reset) after' -e empty \
	    $PY "$CLIENT" idle --connect "127.0.0.1:$lp" --max 2 --timeout 5
	wait_log 'access .*listener=small .*server=- .*cause=over-limit' 5 ||
	    atf_fail "no access line with server=- cause=over-limit: $(grep access l4d.log)"
	sessions_at_server 3 "$sp" &&
	    atf_fail "a third session reached the server"
	# The holders leave: sessions are allowed again.
	kill -TERM "$(cat holder.pid)"
	wait_for 10 not_alive "$(cat holder.pid)" ||
	    atf_fail "the holder did not exit"
	wait_for 10 $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 2 \
	    --timeout 2 || atf_fail "no session works after the holders left"
}
max_sessions_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

. "$(atf_get_srcdir)/tools/variants.sh"

sockmap_variants idle half_closed max_sessions

atf_init_test_cases()
{
	atf_add_test_case idle
	atf_add_test_case half_closed
	atf_add_test_case max_sessions
	atf_add_test_case idle_sockmap
	atf_add_test_case half_closed_sockmap
	atf_add_test_case max_sessions_sockmap
}
