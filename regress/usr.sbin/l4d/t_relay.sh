# l4d black-box tests: the data path.  Every case runs twice, with
# zero_copy true (splice) and zero_copy false (a plain copy).
#
# Clients connect to 127.0.0.1, the backends listen on 127.0.0.2.

BULK=$((64 * 1024 * 1024))

# relay_cfg ZERO_COPY LISTEN_PORT SERVER_PORT [LISTENER_NAME]
relay_cfg()
{
	cfg_head 2 "$1"
	cat <<EOF
listeners:
  - name: ${4:-front}
    listen: "127.0.0.1:$2"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:$3"
EOF
}

# 64 MiB each way at the same time; each side hashes what it got.
do_bulk()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server sink sinksource "127.0.0.2:$sp" \
	    --bytes $BULK --seed 7 --report sink.report
	relay_cfg "$1" "$lp" "$sp" bulk >l4d.conf
	start_l4d

	atf_check -s exit:0 -o save:client.out -e empty \
	    $PY "$CLIENT" bulk --connect "127.0.0.1:$lp" --timeout 120 \
	    --bytes $BULK --seed 3 --peer-bytes $BULK --peer-seed 7
	wait_for 10 test -s sink.report ||
	    atf_fail "the server did not report what it received"
	want=$(client genhash --bytes $BULK --seed 3)
	got=$(cat sink.report)
	[ "$got" = "$want" ] ||
	    atf_fail "server received '$got'; the client sent '$want'"
	wait_log "access .*listener=bulk .*in=$BULK out=$BULK " ||
	    atf_fail "no access line with in=$BULK out=$BULK: $(grep access l4d.log)"
}

# 200 sessions opened at once, distinct random data on each, echoed back.
do_concurrent()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	relay_cfg "$1" "$lp" "$sp" >l4d.conf
	start_l4d

	atf_check -s exit:0 -o match:'^ok 200 sessions' -e empty \
	    $PY "$CLIENT" concurrent --connect "127.0.0.1:$lp" --timeout 90 \
	    --sessions 200 --size 131072
	wait_for 10 log_count_is 200 'access .* in=131072 out=131072 ' ||
	    atf_fail "expected 200 access lines with in=out=131072, got $(log_count 'access .* in=131072 out=131072 ')"
}

# The client shuts down its write side; the server replies only after it
# saw that EOF (and a pause); the whole reply must arrive.
do_halfclose()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server rae rae "127.0.0.2:$sp" --delay 0.5 \
	    --bytes 4194304 --seed 11
	relay_cfg "$1" "$lp" "$sp" >l4d.conf
	start_l4d

	atf_check -s exit:0 -o match:'^ok' -e empty \
	    $PY "$CLIENT" halfclose --connect "127.0.0.1:$lp" --timeout 30 \
	    --bytes 1048576 --seed 5 --peer-bytes 4194304 --peer-seed 11
	# 65 = a sha256 in hex and a newline.
	wait_log "access .* in=1048576 out=$((4194304 + 65)) " ||
	    atf_fail "no access line in=1048576 out=$((4194304 + 65)): $(grep access l4d.log)"
}

# Server speaks first: the client sends nothing and must get the banner.
do_banner()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server banner banner "127.0.0.2:$sp" --id smtp-like
	relay_cfg "$1" "$lp" "$sp" >l4d.conf
	start_l4d

	for i in 1 2 3; do
		atf_check -s exit:0 -o inline:'BANNER smtp-like\n' -e empty \
		    $PY "$CLIENT" banner --connect "127.0.0.1:$lp" --timeout 5 \
		    --expect 'BANNER smtp-like'
	done
}

# The server resets the connection (SO_LINGER 0): the client must see a
# reset, not an orderly EOF.
do_reset()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server reset reset "127.0.0.2:$sp"
	relay_cfg "$1" "$lp" "$sp" >l4d.conf
	start_l4d

	for i in 1 2 3; do
		atf_check -s exit:0 -o inline:'reset\n' -e empty \
		    $PY "$CLIENT" reset --connect "127.0.0.1:$lp" --timeout 10
	done
}

# The client resets the connection: the server must see a reset too.
do_client_reset()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server observe observe "127.0.0.2:$sp" --report observe.report
	relay_cfg "$1" "$lp" "$sp" >l4d.conf
	start_l4d

	for i in 1 2 3; do
		atf_check -s exit:0 -o inline:'sent reset\n' -e empty \
		    $PY "$CLIENT" rst --connect "127.0.0.1:$lp" --timeout 10
	done
	wait_for 10 log_count_is 3 '.' observe.report ||
	    atf_fail "the server saw $(wc -l <observe.report) of 3 sessions end"
	[ "$(sort -u observe.report)" = reset ] ||
	    atf_fail "the server saw: $(tr '\n' ' ' <observe.report), expected 3 resets"
}

cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

meta()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set timeout "${2:-60}"
}

atf_test_case bulk_splice cleanup
bulk_splice_head() { meta "64 MiB each way at once, byte-exact, zero_copy true" 180; }
bulk_splice_body() { do_bulk true; }
bulk_splice_cleanup() { cleanup; }

atf_test_case bulk_copy cleanup
bulk_copy_head() { meta "64 MiB each way at once, byte-exact, zero_copy false" 180; }
bulk_copy_body() { do_bulk false; }
bulk_copy_cleanup() { cleanup; }

atf_test_case concurrent_splice cleanup
concurrent_splice_head() { meta "200 concurrent sessions, byte-exact, zero_copy true" 120; }
concurrent_splice_body() { do_concurrent true; }
concurrent_splice_cleanup() { cleanup; }

atf_test_case concurrent_copy cleanup
concurrent_copy_head() { meta "200 concurrent sessions, byte-exact, zero_copy false" 120; }
concurrent_copy_body() { do_concurrent false; }
concurrent_copy_cleanup() { cleanup; }

atf_test_case halfclose_splice cleanup
halfclose_splice_head() { meta "half-close propagated, reply after client EOF arrives, zero_copy true"; }
halfclose_splice_body() { do_halfclose true; }
halfclose_splice_cleanup() { cleanup; }

atf_test_case halfclose_copy cleanup
halfclose_copy_head() { meta "half-close propagated, reply after client EOF arrives, zero_copy false"; }
halfclose_copy_body() { do_halfclose false; }
halfclose_copy_cleanup() { cleanup; }

atf_test_case banner_splice cleanup
banner_splice_head() { meta "server speaks first, zero_copy true"; }
banner_splice_body() { do_banner true; }
banner_splice_cleanup() { cleanup; }

atf_test_case banner_copy cleanup
banner_copy_head() { meta "server speaks first, zero_copy false"; }
banner_copy_body() { do_banner false; }
banner_copy_cleanup() { cleanup; }

atf_test_case reset_splice cleanup
reset_splice_head() { meta "a server reset reaches the client as a reset, zero_copy true"; }
reset_splice_body() { do_reset true; }
reset_splice_cleanup() { cleanup; }

atf_test_case reset_copy cleanup
reset_copy_head() { meta "a server reset reaches the client as a reset, zero_copy false"; }
reset_copy_body() { do_reset false; }
reset_copy_cleanup() { cleanup; }

atf_test_case client_reset_splice cleanup
client_reset_splice_head() { meta "a client reset reaches the server as a reset, zero_copy true"; }
client_reset_splice_body() { do_client_reset true; }
client_reset_splice_cleanup() { cleanup; }

atf_test_case client_reset_copy cleanup
client_reset_copy_head() { meta "a client reset reaches the server as a reset, zero_copy false"; }
client_reset_copy_body() { do_client_reset false; }
client_reset_copy_cleanup() { cleanup; }

# IPv6 on both sides, and an IPv4 listener on the same port beside it:
# IPv6 listeners are V6ONLY, so the two do not conflict.
do_ipv6()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1 ::1)
	sp=$(free_ports 1 ::1)
	start_server echo6 echo "[::1]:$sp"
	cfg_head 2 "$1" >l4d.conf
	cat >>l4d.conf <<EOF
listeners:
  - { name: six, listen: "[::1]:$lp", backend: pool }
  - { name: four, listen: "127.0.0.1:$lp", backend: pool }
backends:
  - name: pool
    servers:
      - address: "[::1]:$sp"
EOF
	start_l4d

	atf_check -s exit:0 -o match:'^ok 20 sessions' -e empty \
	    $PY "$CLIENT" concurrent --connect "[::1]:$lp" --timeout 30 \
	    --sessions 20 --size 65536
	atf_check -s exit:0 -o match:'^ok 20 sessions' -e empty \
	    $PY "$CLIENT" concurrent --connect "127.0.0.1:$lp" --timeout 30 \
	    --sessions 20 --size 65536
	wait_for 10 log_count_is 20 \
	    'access .*listener=six client=\[::1\]:[0-9]+ .*server=\[::1\]:'"$sp"' in=65536 out=65536 ' ||
	    atf_fail "expected 20 IPv6 access lines: $(grep access l4d.log | head -n 3)"
	wait_for 10 log_count_is 20 \
	    'access .*listener=four client=127\.0\.0\.1:[0-9]+ .* in=65536 out=65536 ' ||
	    atf_fail "expected 20 IPv4 access lines: $(grep access l4d.log | head -n 3)"
}

# The portable poller (libevent, poll_event.c) through the same cases,
# in l4d-event, a build the tests alone use.  Its relay has one epoll
# set (libevent's) where poll_epoll.c adds a second one.
epoll_sets()
{
	ls -l /proc/$1/fd 2>/dev/null | grep -c 'anon_inode:\[eventpoll\]'
}

check_pollers()
{
	for pid in $(relay_pids "$(cat l4d.pid)"); do
		n=$(epoll_sets "$pid")
		[ "$n" = "$1" ] ||
		    atf_fail "relay $pid has $n epoll sets, expected $1"
	done
}

atf_test_case poller_epoll cleanup
poller_epoll_head() { meta "the Linux build watches sessions in an epoll set of its own"; }
poller_epoll_body() { do_banner true; check_pollers 2; }
poller_epoll_cleanup() { cleanup; }

atf_test_case poller_event_bulk cleanup
poller_event_bulk_head() { meta "libevent poller: 64 MiB each way, zero_copy true"; }
poller_event_bulk_body() { L4D_DAEMON=l4d-event; do_bulk true; check_pollers 1; }
poller_event_bulk_cleanup() { cleanup; }

atf_test_case poller_event_halfclose cleanup
poller_event_halfclose_head() { meta "libevent poller: half-close, zero_copy false"; }
poller_event_halfclose_body() { L4D_DAEMON=l4d-event; do_halfclose false; check_pollers 1; }
poller_event_halfclose_cleanup() { cleanup; }

atf_test_case poller_event_concurrent cleanup
poller_event_concurrent_head() { meta "libevent poller: 200 concurrent sessions, zero_copy false"; }
poller_event_concurrent_body() { L4D_DAEMON=l4d-event; do_concurrent false; check_pollers 1; }
poller_event_concurrent_cleanup() { cleanup; }

atf_test_case poller_event_reset cleanup
poller_event_reset_head() { meta "libevent poller: a server reset reaches the client as a reset, zero_copy true"; }
poller_event_reset_body()
{
	L4D_DAEMON=l4d-event
	do_reset true
	check_pollers 1
}
poller_event_reset_cleanup() { cleanup; }

atf_test_case ipv6_splice cleanup
ipv6_splice_head() { meta "IPv6 listener and server, beside IPv4 on the same port, zero_copy true"; }
ipv6_splice_body() { do_ipv6 true; }
ipv6_splice_cleanup() { cleanup; }

atf_test_case ipv6_copy cleanup
ipv6_copy_head() { meta "IPv6 listener and server, beside IPv4 on the same port, zero_copy false"; }
ipv6_copy_body() { do_ipv6 false; }
ipv6_copy_cleanup() { cleanup; }

atf_init_test_cases()
{
	atf_add_test_case ipv6_splice
	atf_add_test_case ipv6_copy
	atf_add_test_case bulk_splice
	atf_add_test_case bulk_copy
	atf_add_test_case concurrent_splice
	atf_add_test_case concurrent_copy
	atf_add_test_case halfclose_splice
	atf_add_test_case halfclose_copy
	atf_add_test_case banner_splice
	atf_add_test_case banner_copy
	atf_add_test_case reset_splice
	atf_add_test_case reset_copy
	atf_add_test_case client_reset_splice
	atf_add_test_case client_reset_copy
	atf_add_test_case poller_epoll
	atf_add_test_case poller_event_bulk
	atf_add_test_case poller_event_halfclose
	atf_add_test_case poller_event_concurrent
	atf_add_test_case poller_event_reset
}
