# l4d black-box tests: server selection -- failover, weighted round robin,
# backup servers.  Backends answer with their id ("id" mode), so the
# client sees which server a session landed on.

# count_of ID FILE: the count client.py ids printed for ID (0 if none).
count_of()
{
	awk -v id="$1" '$2 == id { n = $1 } END { print n + 0 }' "$2"
}

atf_test_case failover cleanup
failover_head()
{
	atf_set descr "a refused connect fails over to the next server"
	atf_set require.user root
	atf_set timeout 60
}
failover_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	dead=$(free_ports 1 127.0.0.2)		# nothing listens there
	sp=$(free_ports 1 127.0.0.3)
	start_server second id "127.0.0.3:$sp" --id second
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: fo
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    balance: roundrobin
    retries: 1
    servers:
      - address: "127.0.0.2:$dead"
      - address: "127.0.0.3:$sp"
EOF
	} >l4d.conf
	start_l4d

	# Round robin offers the dead server first for about half of these.
	atf_check -s exit:0 -o inline:'10 second\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 10 --timeout 10
	wait_for 10 log_count_is 10 \
	    "access .*listener=fo .*server=127\.0\.0\.3:$sp .*cause=" ||
	    atf_fail "expected 10 access lines with server=127.0.0.3:$sp: $(grep access l4d.log)"
	if log_has "access .*server=127\.0\.0\.2:$dead"; then
		atf_fail "an access line names the refusing server: $(grep access l4d.log)"
	fi
}
failover_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case weighted cleanup
weighted_head()
{
	atf_set descr "roundrobin with weights 3:1 over 2 relays splits 400 sessions 3:1"
	atf_set require.user root
	atf_set timeout 90
}
weighted_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	pa=$(free_ports 1 127.0.0.2)
	pb=$(free_ports 1 127.0.0.3)
	start_server a id "127.0.0.2:$pa" --id A
	start_server b id "127.0.0.3:$pb" --id B
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: wrr
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    balance: roundrobin
    servers:
      - { address: "127.0.0.2:$pa", weight: 3 }
      - { address: "127.0.0.3:$pb", weight: 1 }
EOF
	} >l4d.conf
	start_l4d
	[ "$(wc -l <relays.pid)" -eq 2 ] ||
	    atf_fail "expected 2 relays, found: $(cat relays.pid)"

	atf_check -s exit:0 -o save:ids.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 400 --timeout 10
	a=$(count_of A ids.out)
	b=$(count_of B ids.out)
	echo "A=$a B=$b"
	[ $((a + b)) -eq 400 ] || atf_fail "A=$a B=$b: not 400 in all"
	[ "$a" -ge 270 ] && [ "$a" -le 330 ] ||
	    atf_fail "A (weight 3) got $a of 400, expected 300 +- 30"
	[ "$b" -ge 70 ] && [ "$b" -le 130 ] ||
	    atf_fail "B (weight 1) got $b of 400, expected 100 +- 30"
}
weighted_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case backup cleanup
backup_head()
{
	atf_set descr "a backup server is used only when no primary is usable"
	atf_set require.user root
	atf_set timeout 60
}
backup_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 2)
	lbad=$1
	lgood=$2
	set -- $(free_ports 2 127.0.0.2)
	dead1=$1				# nothing listens there
	pp=$2
	dead2=$(free_ports 1 127.0.0.3)		# nothing listens there
	set -- $(free_ports 2 127.0.0.4)
	pbk1=$1
	pbk2=$2
	start_server primary id "127.0.0.2:$pp" --id primary
	start_server backup1 id "127.0.0.4:$pbk1" --id backup1
	start_server backup2 id "127.0.0.4:$pbk2" --id backup2
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: allbad
    listen: "127.0.0.1:$lbad"
    backend: allbad
  - name: good
    listen: "127.0.0.1:$lgood"
    backend: good
backends:
  - name: allbad
    balance: roundrobin
    retries: 3
    servers:
      - address: "127.0.0.2:$dead1"
      - address: "127.0.0.3:$dead2"
      - { address: "127.0.0.4:$pbk1", backup: true }
  - name: good
    balance: roundrobin
    retries: 3
    servers:
      - address: "127.0.0.2:$pp"
      - { address: "127.0.0.4:$pbk2", backup: true }
EOF
	} >l4d.conf
	start_l4d

	# Both primaries refuse: every session ends up on the backup.
	atf_check -s exit:0 -o inline:'20 backup1\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lbad" --count 20 \
	    --timeout 10
	# A primary is up: the backup is never used.
	atf_check -s exit:0 -o inline:'50 primary\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lgood" --count 50 \
	    --timeout 10
	wait_for 10 log_count_is 20 \
	    "access .*listener=allbad .*server=127\.0\.0\.4:$pbk1 " ||
	    atf_fail "expected 20 access lines for allbad on the backup: $(grep access l4d.log)"
}
backup_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case failover
	atf_add_test_case weighted
	atf_add_test_case backup
}
