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
	# The whole line, as documented ("second\n" is 7 bytes).
	log_has "^relay\[[01]\]: access id=[01]-[0-9]+ listener=fo client=127\.0\.0\.1:[0-9]+ backend=pool server=127\.0\.0\.3:$sp in=0 out=7 duration=[0-9]+\.[0-9]{3}s cause=(client|server)-closed\$" ||
	    atf_fail "no access line of the documented form: $(grep access l4d.log | head -n 3)"
}
failover_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case all_refused cleanup
all_refused_head()
{
	atf_set descr "every server refuses: the client is closed, server=- cause=connect-refused"
	atf_set require.user root
	atf_set timeout 60
}
all_refused_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)	# nothing listens there
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: nowhere
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    retries: 2
    servers:
      - address: "127.0.0.2:$1"
      - address: "127.0.0.2:$2"
EOF
	} >l4d.conf
	start_l4d

	atf_check -s exit:0 -o inline:'3 (empty)\n' -e empty \
	    $PY "$CLIENT" ids --allow-empty --connect "127.0.0.1:$lp" \
	    --count 3 --timeout 10
	wait_for 10 log_count_is 3 \
	    'access .*listener=nowhere .*server=- .*cause=connect-refused' ||
	    atf_fail "expected 3 access lines server=- cause=connect-refused: $(grep access l4d.log)"
}
all_refused_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case connect_timeout cleanup
connect_timeout_head()
{
	atf_set descr "a server that never answers the SYN: connect-timeout, then the next server"
	atf_set require.user root
	atf_set timeout 60
}
connect_timeout_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 2)
	lfo=$1
	lonly=$2
	bh=$(free_ports 1 127.0.0.2)
	sp=$(free_ports 1 127.0.0.3)
	start_server bh blackhole "127.0.0.2:$bh"
	start_server second id "127.0.0.3:$sp" --id second
	{
		cfg_head 1 true
		cat <<EOF
timeouts: { connect: 500ms }
listeners:
  - name: fo
    listen: "127.0.0.1:$lfo"
    backend: pool
  - name: only
    listen: "127.0.0.1:$lonly"
    backend: hole
backends:
  - name: pool
    retries: 1
    servers:
      - address: "127.0.0.2:$bh"
      - address: "127.0.0.3:$sp"
  - name: hole
    servers:
      - address: "127.0.0.2:$bh"
EOF
	} >l4d.conf
	start_l4d

	# Round robin offers the silent server first to every other session.
	atf_check -s exit:0 -o inline:'4 second\n' -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lfo" --count 4 --timeout 10
	# Only the silent server: closed after about 500 ms.
	atf_check -s exit:0 -o match:'^(eof|reset) after' -e empty \
	    $PY "$CLIENT" idle --connect "127.0.0.1:$lonly" --min 0.3 --max 3 \
	    --timeout 10
	wait_log 'access .*listener=only .*server=- .*cause=connect-timeout' 5 ||
	    atf_fail "no access line server=- cause=connect-timeout: $(grep access l4d.log)"
}
connect_timeout_cleanup()
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

atf_test_case source_hash cleanup
source_hash_head()
{
	atf_set descr "source-hash: one client address always lands on one server, whichever relay accepts"
	atf_set require.user root
	atf_set timeout 60
}
source_hash_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	set -- $(free_ports 3 127.0.0.2)
	start_server a id "127.0.0.2:$1" --id A
	start_server b id "127.0.0.2:$2" --id B
	start_server c id "127.0.0.2:$3" --id C
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: sh
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    balance: source-hash
    servers:
      - address: "127.0.0.2:$1"
      - address: "127.0.0.2:$2"
      - address: "127.0.0.2:$3"
EOF
	} >l4d.conf
	start_l4d

	# 40 sessions from each of 8 source addresses (distinct source
	# ports spread them over both relays): one server per address.
	: >servers.seen
	for i in 1 2 3 4 5 6 7 8; do
		atf_check -s exit:0 -o save:ids.out -e empty \
		    $PY "$CLIENT" ids --bind "127.0.1.$i" \
		    --connect "127.0.0.1:$lp" --count 40 --timeout 10
		[ "$(wc -l <ids.out)" -eq 1 ] ||
		    atf_fail "client 127.0.1.$i was spread over servers: $(cat ids.out)"
		awk '{ print $2 }' ids.out >>servers.seen
	done
	# 8 addresses over 3 servers: more than one server is used.
	[ "$(sort -u servers.seen | wc -l)" -ge 2 ] ||
	    atf_fail "8 client addresses all hashed to $(sort -u servers.seen)"
}
source_hash_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case leastconn cleanup
leastconn_head()
{
	atf_set descr "leastconn: open sessions are spread evenly"
	atf_set require.user root
	atf_set timeout 60
}
leastconn_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	pa=$1
	pb=$2
	start_server a hold "127.0.0.2:$pa"
	start_server b hold "127.0.0.2:$pb"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: lc
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    balance: leastconn
    servers:
      - address: "127.0.0.2:$pa"
      - address: "127.0.0.2:$pb"
EOF
	} >l4d.conf
	start_l4d

	# 10 sessions that stay open, opened one after the other.
	for i in 0 1 2 3 4 5 6 7 8 9; do
		$PY "$CLIENT" hold --connect "127.0.0.1:$lp" --count 1 \
		    --timeout 30 --ready "holder$i.ready" \
		    >"holder$i.log" 2>&1 </dev/null &
		echo $! >"holder$i.pid"
		wait_for 10 test -e "holder$i.ready" ||
		    atf_fail "holder $i did not start"
		wait_for 10 sessions_at_server $((i + 1)) "$pa" "$pb" ||
		    atf_fail "session $i did not reach a server"
	done
	na=$(ss -Htn state established "( sport = :$pa )" | wc -l)
	nb=$(ss -Htn state established "( sport = :$pb )" | wc -l)
	echo "A=$na B=$nb"
	[ "$na" -eq 5 ] && [ "$nb" -eq 5 ] ||
	    atf_fail "10 open sessions split A=$na B=$nb, expected 5/5"
}
leastconn_cleanup()
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

# l4ctl server disable: new sessions avoid the server while its open
# session goes on; the setting survives a reload; enable restores it.
atf_test_case server_disable cleanup
server_disable_head()
{
	atf_set descr "server disable drains a server, survives a reload, enable restores it"
	atf_set require.user root
	atf_set timeout 60
}
server_disable_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	lh=$(free_ports 1)
	pa=$(free_ports 1 127.0.0.2)
	pb=$(free_ports 1 127.0.0.3)
	pe=$(free_ports 1 127.0.0.4)
	start_server a id "127.0.0.2:$pa" --id A
	start_server b id "127.0.0.3:$pb" --id B
	start_server e echo "127.0.0.4:$pe"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - { name: front, listen: "127.0.0.1:$lp", backend: pool }
  - { name: held, listen: "127.0.0.1:$lh", backend: echoes }
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:$pa" }
      - { address: "127.0.0.3:$pb" }
  - name: echoes
    servers:
      - { address: "127.0.0.4:$pe" }
EOF
	} >l4d.conf
	start_l4d
	ctl="$L4CTL -s $PWD/l4d.sock"

	# open sessions on the echo server, which is then disabled
	$PY "$CLIENT" keep --connect "127.0.0.1:$lh" --count 3 --size 16 \
	    --after echo --report keep.json --go go --timeout 20 \
	    >keep.out 2>&1 &
	echo $! >keep.pid
	wait_for 10 test -s keep.json ||
	    atf_fail "the held sessions did not start: $(cat keep.out)"
	# 16, 17 and 18 bytes each way, counted while the sessions live
	atf_check -s exit:0 \
	    -o match:'^listener held sessions 3 active 3 in 51 out 51 ' \
	    $L4CTL -s "$PWD/l4d.sock" show stats

	atf_check -s exit:0 -o match:"^server 127.0.0.4:$pe of backend echoes disabled$" \
	    $ctl server disable echoes "127.0.0.4:$pe"
	atf_check -s exit:0 -o match:"^server 127.0.0.2:$pa of backend pool disabled$" \
	    $ctl server disable pool "127.0.0.2:$pa"
	atf_check -s exit:0 -o match:"server 127.0.0.2:$pa weight 1 state disabled" \
	    $ctl show summary
	atf_check -s exit:0 -o save:ids1.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 20 --timeout 10
	grep -qx "20 B" ids1.out || atf_fail "with A and E disabled: $(cat ids1.out)"

	# the setting outlives a reload
	atf_check -s exit:0 -o match:'generation 2' $ctl reload
	atf_check -s exit:0 -o save:ids2.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 10 --timeout 10
	grep -qx "10 B" ids2.out || atf_fail "after the reload: $(cat ids2.out)"

	atf_check -s exit:0 -o match:"enabled$" \
	    $ctl server enable pool "127.0.0.2:$pa"
	atf_check -s exit:0 -o save:ids3.out -e empty \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 20 --timeout 10
	grep -qx "10 A" ids3.out && grep -qx "10 B" ids3.out ||
	    atf_fail "after enable: $(cat ids3.out)"

	# a new session to the disabled echo server finds none; the
	# sessions opened before the disable still echo
	atf_check -s exit:0 -o match:'\(empty\)' -e empty \
	    $PY "$CLIENT" ids --allow-empty --connect "127.0.0.1:$lh" \
	    --count 1 --timeout 10
	wait_log 'access .*listener=held .*server=- .*cause=no-server' ||
	    atf_fail "no no-server access line: $(grep access l4d.log)"
	touch go
	wait_for 20 grep -q '^ok 3 sessions still echo' keep.out ||
	    atf_fail "held sessions: $(cat keep.out)"

	atf_check -s exit:1 -o match:'has no server' \
	    $ctl server disable pool 127.0.0.9:1
	atf_check -s exit:1 -o match:'no backend' \
	    $ctl server disable nosuch "127.0.0.2:$pa"
}
server_disable_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# lb_pair LP A B: a listener on LP over servers A (weight 100: the first
# pick, nearly always) and B (weight 1), with retries.
lb_pair()
{
	cfg_head 1 true
	cat <<EOF
listeners:
  - name: rd
    listen: "127.0.0.1:$1"
    backend: pool
backends:
  - name: pool
    retries: 1
    servers:
      - address: "$2"
        weight: 100
      - address: "$3"
        weight: 1
EOF
}

# A server whose listener takes no byte (servers.py deaf) resets every
# connection it accepts: it never saw the session, which goes to the
# next server with the client's first bytes (read ahead: the relays are
# stopped while the client connects and sends), and the server's
# handshake had the last ACK held back for them.
atf_test_case reset_redispatch cleanup
reset_redispatch_head()
{
	atf_set descr "a server that resets before it took a byte: the session goes to the next server with its first bytes"
	atf_set require.user root
	atf_set timeout 90
}
reset_redispatch_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	pa=$(free_ports 1 127.0.0.2)
	pb=$(free_ports 1 127.0.0.3)
	start_server deaf deaf "127.0.0.2:$pa" --id deaf --report deaf.report
	start_server echo echo "127.0.0.3:$pb"
	lb_pair "$lp" "127.0.0.2:$pa" "127.0.0.3:$pb" >l4d.conf
	start_l4d

	early_sessions 3 "$lp" 'early line'
	wait_for 10 log_count_is 3 \
	    "access .*server=127\.0\.0\.3:$pb in=11 out=11 .*cause=client-closed\$" ||
	    atf_fail "expected 3 sessions on the second server: $(grep access l4d.log)"
	[ "$(log_count 'accepted' deaf.report)" -eq 3 ] ||
	    atf_fail "the deaf server accepted $(log_count . deaf.report) of 3 sessions"
	if log_has "access .*server=127\.0\.0\.2:$pa"; then
		atf_fail "a session stayed on the deaf server: $(grep access l4d.log)"
	fi
	# counted as failed connects; the backend's sessions once each
	$L4CTL -s "$PWD/l4d.sock" show stats >stats.out
	grep -Eq "^  server 127\.0\.0\.2:$pa sessions 3 active 0 in 0 out 0 connect-failures 3 connect-refused 3\$" stats.out ||
	    atf_fail "the deaf server's counts: $(cat stats.out)"
	grep -Eq "^backend pool sessions 3 active 0 in 33 out 33 connect-failures 3 client-closed 3\$" stats.out ||
	    atf_fail "the backend's counts: $(cat stats.out)"
}
reset_redispatch_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# A server that read the first bytes before its reset may have acted on
# them: the client gets the reset, and no other server the bytes.
atf_test_case reset_taken cleanup
reset_taken_head()
{
	atf_set descr "a server that took the first bytes, then reset: the client gets the reset, no other server the bytes"
	atf_set require.user root
	atf_set timeout 60
}
reset_taken_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	pa=$(free_ports 1 127.0.0.2)
	pb=$(free_ports 1 127.0.0.3)
	start_server reset reset "127.0.0.2:$pa"
	start_server observe observe "127.0.0.3:$pb" --report observe.report
	lb_pair "$lp" "127.0.0.2:$pa" "127.0.0.3:$pb" >l4d.conf
	start_l4d

	early_sessions 3 "$lp" reset --reset
	wait_for 10 log_count_is 3 \
	    "access .*server=127\.0\.0\.2:$pa in=11 out=0 .*cause=server-closed reset\$" ||
	    atf_fail "expected 3 reset sessions on the first server: $(grep access l4d.log)"
	[ ! -s observe.report ] ||
	    atf_fail "the second server got sessions: $(cat observe.report)"
}
reset_taken_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case server_disable
	atf_add_test_case failover
	atf_add_test_case all_refused
	atf_add_test_case connect_timeout
	atf_add_test_case weighted
	atf_add_test_case source_hash
	atf_add_test_case leastconn
	atf_add_test_case backup
	atf_add_test_case reset_redispatch
	atf_add_test_case reset_taken
}
