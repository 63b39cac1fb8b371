# Runtime servers: l4ctl server add and server remove.  Added servers
# take sessions at once in every relay, show as runtime, outlive a
# relay's restart and a reload that keeps their backend; a removed one
# drains (its open sessions go on) and is gone once they end; a reload
# that drops the backend drops them with a line saying so.

rt_setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	ctl="$L4CTL -s $PWD/l4d.sock"
}

# ids_have FILE N ID: the ids client saw N sessions reach ID.
ids_have()
{
	grep -qx "$2 $3" "$1"
}

atf_test_case add_remove cleanup
add_remove_head()
{
	atf_set descr "server add balances over the new server in every relay; remove drains it; runtime in show summary and -j; bad requests exit 1"
	atf_set require.user root
	atf_set timeout 90
}
add_remove_body()
{
	rt_setup
	lp=$(free_ports 1)
	pa=$(free_ports 1 127.0.0.2)
	pb=$(free_ports 1 127.0.0.3)
	lh=$(free_ports 1)
	pe=$(free_ports 1 127.0.0.4)
	pr=$(free_ports 1 127.0.0.5)
	start_server a id "127.0.0.2:$pa" --id A
	start_server b id "127.0.0.3:$pb" --id B
	start_server e echo "127.0.0.4:$pe"
	start_server r echo "127.0.0.5:$pr"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - { name: front, listen: "127.0.0.1:$lp", backend: pool }
  - { name: held, listen: "127.0.0.1:$lh", backend: echoes }
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:$pa" }
  - name: echoes
    servers:
      - { address: "127.0.0.4:$pe" }
EOF
	} >l4d.conf
	start_l4d

	atf_check -s exit:0 -o match:"^server 127.0.0.3:$pb of backend pool added$" \
	    $ctl server add pool "127.0.0.3:$pb"
	atf_check -s exit:0 -o match:"server 127.0.0.3:$pb weight 1 runtime state up" \
	    $ctl show summary
	atf_check -s exit:0 -o match:"\"address\":\"127.0.0.3:$pb\",.*\"runtime\":true" \
	    $ctl -j show summary
	# both relays pick it: round robin over the two in each
	atf_check -s exit:0 -o save:ids1.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 40 --timeout 10
	grep -q ' B$' ids1.out && grep -q ' A$' ids1.out ||
	    atf_fail "not both servers: $(cat ids1.out)"

	# bad requests: clear errors, exit 1
	atf_check -s exit:1 -o match:'already' $ctl server add pool "127.0.0.3:$pb"
	atf_check -s exit:1 -o match:'already' $ctl server add pool "127.0.0.2:$pa"
	atf_check -s exit:1 -o match:'no backend' $ctl server add nosuch 127.0.0.5:1
	atf_check -s exit:1 -o match:'bad address' $ctl server add pool 127.0.0.5
	atf_check -s exit:1 -o match:'weight' $ctl server add pool 127.0.0.5:1 weight 0
	atf_check -s exit:1 -o match:'configuration file' \
	    $ctl server remove pool "127.0.0.2:$pa"
	atf_check -s exit:1 -o match:'no server' $ctl server remove pool 127.0.0.5:1
	# longer than any request can be: refused whole, never cut
	long=$(printf '%0400d' 0)
	atf_check -s exit:1 -o match:'request too long' \
	    $ctl server add pool "$long:1"
	atf_check -s exit:1 -o match:'request too long' \
	    $ctl server remove pool "$long:1"

	# a weighted runtime backup: only when the primaries are gone
	atf_check -s exit:0 -o ignore $ctl server add pool 127.0.0.6:9 weight 3 backup
	atf_check -s exit:0 -o match:"server 127.0.0.6:9 weight 3 backup runtime state up" \
	    $ctl show summary
	atf_check -s exit:0 -o ignore $ctl server remove pool 127.0.0.6:9

	# remove: B takes no new session
	atf_check -s exit:0 -o match:"removed; its sessions go on" \
	    $ctl server remove pool "127.0.0.3:$pb"
	atf_check -s exit:0 -o save:ids2.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 20 --timeout 10
	ids_have ids2.out 20 A || atf_fail "after remove: $(cat ids2.out)"
	wait_for 10 sh -c "! $ctl show summary | grep -q '127.0.0.3:$pb'" ||
	    atf_fail "removed idle server still shown: $($ctl show summary)"
	# and it can come back
	atf_check -s exit:0 -o match:'added' $ctl server add pool "127.0.0.3:$pb"
	atf_check -s exit:0 -o save:ids3.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 20 --timeout 10
	grep -q ' B$' ids3.out || atf_fail "B is not back: $(cat ids3.out)"

	# remove drains: a session open on the runtime echo server R goes
	# on, shown as removed while it lasts, gone after
	atf_check -s exit:0 -o ignore $ctl server disable echoes "127.0.0.4:$pe"
	atf_check -s exit:0 -o ignore $ctl server add echoes "127.0.0.5:$pr"
	$PY "$CLIENT" keep --connect "127.0.0.1:$lh" --count 1 --size 16 \
	    --after echo --report keep.json --go go --timeout 20 \
	    >keep.out 2>&1 &
	echo $! >keep.pid
	wait_for 10 test -s keep.json || atf_fail "keep: $(cat keep.out)"
	atf_check -s exit:0 -o ignore $ctl server remove echoes "127.0.0.5:$pr"
	atf_check -s exit:0 -o match:"server 127.0.0.5:$pr weight 1 runtime state removed( .*)? active 1 " \
	    $ctl show summary
	atf_check -s exit:0 -o match:'\(empty\)' -e empty \
	    $PY "$CLIENT" ids --allow-empty --connect "127.0.0.1:$lh" \
	    --count 1 --timeout 10
	wait_log 'access .*listener=held .*server=- .*cause=no-server' ||
	    atf_fail "no no-server line: $(grep access l4d.log)"
	touch go
	wait_for 20 grep -q '^ok 1 sessions still echo' keep.out ||
	    atf_fail "held session: $(cat keep.out)"
	wait_for 10 sh -c "! $ctl show summary | grep -q '127.0.0.5:$pr'" ||
	    atf_fail "drained server still shown: $($ctl show summary)"
}
add_remove_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case keep cleanup
keep_head()
{
	atf_set descr "runtime servers outlive a relay's restart and a reload that keeps their backend; one that drops it drops them with a log line"
	atf_set require.user root
	atf_set timeout 90
}
keep_body()
{
	rt_setup
	lp=$(free_ports 1)
	pa=$(free_ports 1 127.0.0.2)
	pb=$(free_ports 1 127.0.0.3)
	start_server a id "127.0.0.2:$pa" --id A
	start_server b id "127.0.0.3:$pb" --id B
	conf()
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - { name: front, listen: "127.0.0.1:$lp", backend: $1 }
backends:
  - name: $1
    servers:
      - { address: "127.0.0.2:$pa" }
EOF
	}
	conf pool >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore $ctl server add pool "127.0.0.3:$pb"

	# a relay killed: its successor gets the runtime server with the model
	set -- $(relay_pids "$(cat l4d.pid)")
	kill -9 "$1"
	wait_log 'relay 0 running' || atf_fail "no restarted relay: $(tail -n 5 l4d.log | tr '\n' '|')"
	atf_check -s exit:0 -o save:ids1.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 20 --timeout 10
	ids_have ids1.out 10 B || atf_fail "after the restart: $(cat ids1.out)"

	# a reload keeps it
	atf_check -s exit:0 -o match:'generation 2' $ctl reload
	atf_check -s exit:0 -o match:"server 127.0.0.3:$pb weight 1 runtime state up" \
	    $ctl show summary
	atf_check -s exit:0 -o save:ids2.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 20 --timeout 10
	ids_have ids2.out 10 B || atf_fail "after the reload: $(cat ids2.out)"

	# a reload that renames the backend drops it, and says so
	conf other >l4d.conf
	atf_check -s exit:0 -o match:"backend pool is gone: runtime server 127.0.0.3:$pb dropped" \
	    $ctl reload
	$ctl show summary | grep -q "127.0.0.3:$pb" &&
	    atf_fail "dropped server still shown: $($ctl show summary)"
	log_has "backend pool is gone: runtime server 127.0.0.3:$pb dropped" ||
	    atf_fail "no log line: $(grep reload l4d.log)"
}
keep_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case add_remove
	atf_add_test_case keep
}
