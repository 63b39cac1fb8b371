# l4d black-box tests: the data path.  Every case runs three times, with
# zero_copy true (splice), zero_copy false (a plain copy) and zero_copy
# sockmap (forwarded in the kernel, sockmap_linux.c).
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
	# A connect that held its last ACK back for bytes that never come
	# would keep the server from accepting for the delayed-ACK timer's
	# 200 ms: the fastest of five must be well under that.
	atf_check -s exit:0 -o inline:'BANNER smtp-like\n' -e empty \
	    $PY "$CLIENT" banner --connect "127.0.0.1:$lp" --timeout 5 \
	    --expect 'BANNER smtp-like' --count 5 --max 0.1
}

# A client whose first bytes are there when it is accepted (the relays
# were stopped while it connected and sent): they reach the server with
# its handshake's last ACK, so the server's socket has received two
# segments at its first read (the SYN, then the ACK with the bytes),
# not three.  Not with zero_copy: sockmap, whose sessions cannot go to
# another server if this one resets before it took them (t_lb's
# reset_redispatch): there the ACK goes alone, and three.
do_first_bytes()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server segments segments "127.0.0.2:$sp" --report segs.report
	relay_cfg "$1" "$lp" "$sp" >l4d.conf
	start_l4d

	early_sessions 3 "$lp" 'early line'
	wait_for 10 log_count_is 3 '.' segs.report ||
	    atf_fail "the server reported $(wc -l <segs.report) of 3 sessions"
	segs=2
	[ "$1" = sockmap ] && segs=3
	[ "$(sort -u segs.report)" = "$segs early line" ] ||
	    atf_fail "the server's sockets got: $(tr '\n' ' ' <segs.report), expected '$segs early line' for each"
	wait_for 10 log_count_is 3 'access .* in=11 out=11 ' ||
	    atf_fail "expected 3 access lines in=11 out=11: $(grep access l4d.log)"
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

# The server's last bytes and its reset arrive together, in one event:
# the relay must read on to the reset rather than wait for an event
# that never comes.
do_reply_reset()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server replyreset replyreset "127.0.0.2:$sp"
	relay_cfg "$1" "$lp" "$sp" >l4d.conf
	start_l4d

	for i in $(seq 40); do
		atf_check -s exit:0 -o inline:'reset\n' -e empty \
		    $PY "$CLIENT" replyreset --connect "127.0.0.1:$lp" \
		    --timeout 5
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

# both_modes NAME FUNCTION TIMEOUT DESCRIPTION: cases NAME_splice,
# NAME_copy and NAME_sockmap run FUNCTION with zero_copy true, false and
# sockmap.
both_modes()
{
	for _bm in splice:true copy:false sockmap:sockmap; do
		_bm_case=${1}_${_bm%%:*}
		atf_test_case "$_bm_case" cleanup
		eval "${_bm_case}_head() { meta \"$4, zero_copy ${_bm#*:}\" $3; }
		${_bm_case}_body() { $2 ${_bm#*:}; }
		${_bm_case}_cleanup() { cleanup; }"
	done
}

both_modes bulk do_bulk 180 "64 MiB each way at once, byte-exact"
both_modes concurrent do_concurrent 120 "200 concurrent sessions, byte-exact"
both_modes halfclose do_halfclose 60 "half-close propagated, reply after client EOF arrives"
both_modes banner do_banner 60 "server speaks first, at once"
both_modes first_bytes do_first_bytes 60 "a client's first bytes leave with the server handshake's last ACK"
both_modes reset do_reset 60 "a server reset reaches the client as a reset"
both_modes client_reset do_client_reset 60 "a client reset reaches the server as a reset"
both_modes reply_reset do_reply_reset 90 "a reply and a reset that arrive together reach the client, reset last"

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

# poller_event NAME FUNCTION ZERO_COPY TIMEOUT DESCRIPTION: case
# poller_event_NAME runs FUNCTION against l4d-event.
poller_event()
{
	atf_test_case "poller_event_$1" cleanup
	eval "poller_event_${1}_head() {
		meta \"libevent poller: $5, zero_copy $3\" $4; }
	poller_event_${1}_body() {
		L4D_DAEMON=l4d-event; $2 $3; check_pollers 1; }
	poller_event_${1}_cleanup() { cleanup; }"
}

poller_event bulk do_bulk true 180 "64 MiB each way"
poller_event halfclose do_halfclose false 60 "half-close"
poller_event concurrent do_concurrent false 120 "200 concurrent sessions"
poller_event reset do_reset true 60 "a server reset reaches the client as a reset"

both_modes ipv6 do_ipv6 60 "IPv6 listener and server, beside IPv4 on the same port"

atf_init_test_cases()
{
	for _c in ipv6 bulk concurrent halfclose banner first_bytes reset \
	    client_reset reply_reset; do
		atf_add_test_case ${_c}_splice
		atf_add_test_case ${_c}_copy
		atf_add_test_case ${_c}_sockmap
	done
	atf_add_test_case poller_epoll
	for _c in bulk halfclose concurrent reset; do
		atf_add_test_case poller_event_${_c}
	done
}
