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

atf_init_test_cases()
{
	atf_add_test_case idle
}
