# l4d black-box tests: zero_copy: sockmap, plain sessions forwarded in
# the kernel (sockmap_linux.c), and zero_copy: adaptive, the same for
# the sessions that go back and forth (SM_MODE=adaptive, adaptive_*).  The other data path cases run with
# sockmap in t_relay (NAME_sockmap), the timeouts, control and reload
# cases in t_timeout, t_control and t_reload (NAME_sockmap).
#
# Clients connect to 127.0.0.1, the backends listen on 127.0.0.2.

BULK=$((64 * 1024 * 1024))

fail()
{
	atf_fail "$(printf '%s' "$*" | tr '\n' '|')"
}

meta()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set timeout "${2:-60}"
}

ctl()
{
	"$L4CTL" -s "$PWD/l4d.sock" "$@"
}

# sm_cfg LISTEN_PORT SERVER_ADDR [EXTRA]: one plain listener "sm",
# debug log (which says what went to the kernel); zero_copy: $SM_MODE.
sm_cfg()
{
	cat <<EOF
user: _l4d
chroot: /var/empty
relays: 2
zero_copy: ${SM_MODE:-sockmap}
control: $PWD/l4d.sock
log: { level: debug, access: true }
${3:-}
listeners:
  - name: sm
    listen: "127.0.0.1:$1"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "$2"
EOF
}

# in_kernel: the log says sessions went to the kernel, both ways.
in_kernel()
{
	if [ "${SM_MODE:-sockmap}" = adaptive ]; then
		log_has 'zero_copy: adaptive: plain sessions that go back and forth are forwarded in the kernel' ||
		    fail "adaptive not set up: $(grep -i adaptive l4d.log)"
	else
		log_has 'zero_copy: sockmap: plain sessions are forwarded in the kernel' ||
		    fail "sockmap not set up: $(grep -i sockmap l4d.log)"
	fi
	log_has 'in the kernel \(c2s s2c\)' ||
	    fail "no session went to the kernel: $(grep -i 'session' l4d.log | head -n 5)"
}

sm_init()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	SMTOOL=$TOOLS/smtool.py
}

# echo_start [EXTRA]: l4d ($lp) in front of an echo server ($sp).
echo_start()
{
	sm_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	sm_cfg "$lp" "127.0.0.2:$sp" "${1:-}" >l4d.conf
	start_l4d
}

# pingpong_long: 20000 redis-like exchanges on one session, which goes
# to the kernel.
pingpong_long()
{
	atf_check -s exit:0 -o inline:'ok 20000 exchanges\n' -e empty \
	    $PY "$SMTOOL" pingpong --connect "127.0.0.1:$lp" --count 20000 \
	    --timeout 60
	in_kernel
}

# bulk_case: 64 MiB each way at once, byte-exact, counted; in_kernel
# then says where it went (with SM_MODE=adaptive: nowhere near).
bulk_case()
{
	sm_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server sink sinksource "127.0.0.2:$sp" \
	    --bytes $BULK --seed 7 --report sink.report
	sm_cfg "$lp" "127.0.0.2:$sp" >l4d.conf
	start_l4d

	atf_check -s exit:0 -o save:client.out -e empty \
	    $PY "$CLIENT" bulk --connect "127.0.0.1:$lp" --timeout 120 \
	    --bytes $BULK --seed 3 --peer-bytes $BULK --peer-seed 7
	wait_for 10 test -s sink.report || fail "the server reported nothing"
	want=$(client genhash --bytes $BULK --seed 3)
	[ "$(cat sink.report)" = "$want" ] ||
	    fail "server received '$(cat sink.report)', the client sent '$want'"
	# the bytes the kernel moved are counted
	wait_log "access .*listener=sm .*in=$BULK out=$BULK " ||
	    fail "no access line with in=out=$BULK: $(grep access l4d.log)"
}

atf_test_case bulk cleanup
bulk_head() { meta "64 MiB each way at once through the kernel, byte-exact, counted" 180; }
bulk_body()
{
	bulk_case
	in_kernel
}
bulk_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

atf_test_case halfclose_client cleanup
halfclose_client_head() { meta "the client's FIN reaches the server after its last byte; the reply after it comes back whole"; }
halfclose_client_body()
{
	sm_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server rae rae "127.0.0.2:$sp" --delay 0.3 \
	    --bytes 4194304 --seed 11
	sm_cfg "$lp" "127.0.0.2:$sp" >l4d.conf
	start_l4d

	for i in 1 2 3; do
		atf_check -s exit:0 -o match:'^ok' -e empty \
		    $PY "$CLIENT" halfclose --connect "127.0.0.1:$lp" \
		    --timeout 30 --bytes 3145728 --seed 5 \
		    --peer-bytes 4194304 --peer-seed 11
	done
	in_kernel
	wait_for 10 log_count_is 3 \
	    "access .* in=3145728 out=$((4194304 + 65)) .*cause=client-closed" ||
	    fail "expected 3 access lines in=3145728 out=$((4194304 + 65)): $(grep access l4d.log)"
}
halfclose_client_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

atf_test_case halfclose_server cleanup
halfclose_server_head() { meta "the server's FIN reaches the client after its last byte; the client then sends, the server gets it all"; }
halfclose_server_body()
{
	sm_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	sm_cfg "$lp" "127.0.0.2:$sp" >l4d.conf
	start_l4d

	for n in 1 65536 3145728; do
		atf_check -s exit:0 -o match:'^ok' -e empty \
		    $PY "$SMTOOL" serverfin --listen "127.0.0.2:$sp" \
		    --connect "127.0.0.1:$lp" --bytes $n --timeout 30
	done
	in_kernel
	wait_for 10 log_count_is 1 \
	    "access .* in=3145728 out=3145728 .*cause=server-closed" ||
	    fail "no access line in=out=3145728 server-closed: $(grep access l4d.log)"
}
halfclose_server_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

atf_test_case pingpong cleanup
pingpong_head() { meta "20,000 small request/response exchanges (redis-like) on one session, then 10 sessions at once" 120; }
pingpong_body()
{
	echo_start

	pingpong_long
	for i in $(seq 10); do
		$PY "$SMTOOL" pingpong --connect "127.0.0.1:$lp" --count 2000 \
		    --timeout 60 >pp.$i.out 2>&1 </dev/null &
		echo $! >pp.$i.pid
	done
	for i in $(seq 10); do
		wait "$(cat pp.$i.pid)" || fail "pingpong $i: $(cat pp.$i.out)"
		rm -f pp.$i.pid
	done
	wait_for 10 log_count_is 11 'access .*listener=sm .*cause=client-closed' ||
	    fail "expected 11 access lines: $(grep access l4d.log)"
	# every session went to the kernel and stopped for nothing
	[ "$(log_count 'in the kernel \(c2s s2c\)')" -eq 11 ] ||
	    fail "not every session in the kernel: $(grep 'in the kernel' l4d.log)"
	log_has 'c2s state [0-9] gen 1: redirected [0-9]+, passed 0, read 0' ||
	    fail "c2s did not stay in the kernel: $(grep 'state' l4d.log | head -n 4)"
}
pingpong_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# The first server never answers the SYN: the relay tries it until the
# connect timeout, then the second; whatever the client sent meanwhile
# waits in its socket, before the socket joins the maps.
atf_test_case before_insertion cleanup
before_insertion_head() { meta "bytes the client sent before its socket entered the map are forwarded, in order"; }
before_insertion_body()
{
	sm_init
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	start_server hole blackhole "127.0.0.2:$1"
	start_server echo echo "127.0.0.2:$2"
	cat >l4d.conf <<EOF
user: _l4d
chroot: /var/empty
relays: 1
zero_copy: ${SM_MODE:-sockmap}
control: $PWD/l4d.sock
log: { level: debug, access: true }
timeouts: { connect: 500ms }
listeners:
  - { name: sm, listen: "127.0.0.1:$lp", backend: pool }
backends:
  - name: pool
    retries: 1
    servers:
      - { address: "127.0.0.2:$1", weight: 256 }
      - { address: "127.0.0.2:$2", weight: 1 }
EOF
	start_l4d

	# 256 KiB sent at once, then 1 MiB more, echoed and compared
	atf_check -s exit:0 -o match:'^ok 1 sessions' -e empty \
	    $PY "$CLIENT" concurrent --connect "127.0.0.1:$lp" --timeout 30 \
	    --sessions 1 --size 1310720
	in_kernel
	log_has "connect 127\.0\.0\.2:$1: timed out" ||
	    fail "the first server was not tried: $(grep connect l4d.log)"
	wait_log 'access .* in=1310720 out=1310720 ' ||
	    fail "no access line in=out=1310720: $(grep access l4d.log)"
}
before_insertion_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# stall_case DIR: 200 sessions whose receivers read nothing while the
# senders push 16 MiB each; memory must stop growing, then every byte
# arrives.
# stall_case DIR [TURNS]: TURNS 8-byte exchanges each way come first.
stall_case()
{
	sm_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	sm_cfg "$lp" "127.0.0.2:$sp" >l4d.conf
	start_l4d

	turns=${2:-0}
	relays=$(tr '\n' ',' <relays.pid)
	atf_check -s exit:0 -o save:stall.out -e save:stall.err \
	    $PY "$SMTOOL" stall --listen "127.0.0.2:$sp" \
	    --connect "127.0.0.1:$lp" --sessions 200 --bytes 16777216 \
	    --dir "$1" --relays "$relays" --hold 3 --max-mb 2800 --timeout 150 \
	    --turns "$turns"
	grep -q '^ok 200 sessions' stall.out ||
	    fail "$(cat stall.out stall.err)"
	in_kernel
	[ "$(log_count 'in the kernel \(c2s s2c\)')" -eq 200 ] ||
	    fail "not 200 sessions in the kernel: $(grep -c 'in the kernel' l4d.log)"
	# the bound did its work: directions stopped, and came back
	log_has "$1 state [0-9] gen [2-9]" ||
	    log_has "$1 state [0-9] gen [0-9][0-9]" ||
	    fail "no direction stopped: $(grep state l4d.log | head -n 3)"
	total=$((16777216 + 8 * turns))
	wait_for 20 log_count_is 200 \
	    "access .*listener=sm .*(in|out)=$total " ||
	    fail "expected 200 access lines with $total: $(log_count "access .*$total")"
}

atf_test_case stalled_readers cleanup
stalled_readers_head() { meta "200 clients read nothing while the servers flood: kernel and relay memory stay bounded, then every byte arrives" 300; }
stalled_readers_body() { stall_case s2c; }
stalled_readers_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

atf_test_case stalled_servers cleanup
stalled_servers_head() { meta "200 servers read nothing while the clients flood: memory stays bounded, then every byte arrives" 300; }
stalled_servers_body() { stall_case c2s; }
stalled_servers_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# ns_script: ns.sh L4D PY SMTOOL CMD [ARG ...], run by unshare -n: l4d
# in a network namespace of its own (lo up, no TCP timestamps: injected
# segments carry none), then smtool CMD between 127.0.0.1:7001 and
# 127.0.0.2:7002.  With two CPUs or more, l4d runs on the second and the
# tool on the first, where the loopback's softirq runs the verdicts: the
# relay then sees what the kernel does while the softirq is not over.
ns_script()
{
	cat >ns.sh <<'EOF'
ip link set lo up && sysctl -qw net.ipv4.tcp_timestamps=0 || exit 1
# NS_DROP=N: one packet in N to the server's port is lost
if [ -n "${NS_DROP:-}" ]; then
	nft add table ip loss &&
	    nft add chain ip loss out '{ type filter hook output priority 0; }' &&
	    nft add rule ip loss out tcp dport 7002 numgen random mod "$NS_DROP" 0 drop ||
	    exit 1
fi
pin_l4d= pin_tool=
if command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
	pin_l4d="taskset -c 1" pin_tool="taskset -c 0"
fi
: >l4d.log
$pin_l4d "$1" -d -f l4d.conf >l4d.log 2>&1 </dev/null &
echo $! >l4d.pid
i=0
while ! grep -q 'ready:' l4d.log; do
	i=$((i + 1))
	[ $i -lt 200 ] || exit 1
	sleep 0.05
done
py=$2 tool=$3 cmd=$4
shift 4
$pin_tool "$py" "$tool" "$cmd" --listen 127.0.0.2:7002 --connect 127.0.0.1:7001 \
    --timeout 20 "$@"
EOF
}

# A retransmission whose head the relay's server socket has already
# (its ACK lost, a segment resent cut otherwise): the verdict is handed
# the whole skb, and the head must not go out again.  In a network
# namespace of its own, where the segment can be injected and TCP
# timestamps are off (it carries none).
atf_test_case overlap cleanup
overlap_head() { meta "a retransmission over bytes already received reaches the client once (the program cuts its head off)"; }
overlap_body()
{
	sm_init
	command -v unshare >/dev/null || atf_skip "no unshare(1)"
	sm_cfg 7001 127.0.0.2:7002 >l4d.conf
	ns_script
	atf_check -s exit:0 -o match:'^ok 1048576 bytes once' -e empty \
	    unshare -n sh ns.sh "$L4D" "$PY" "$SMTOOL" overlap --bytes 20000 \
	    --log l4d.log
	in_kernel
	# its head (20000) and the server's next segment's (1000) cut off
	wait_log 's2c state [0-9] gen [0-9]+: redirected [0-9]+, passed [0-9]+, read [0-9]+, cut 21000' ||
	    fail "no cut of 21000 bytes: $(grep 'state' l4d.log)"
}
overlap_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# The FIN of the stream and the bytes before it leave the out-of-order
# queue at once: TCP raises the FIN (EPOLLRDHUP) before the verdict
# judges them.  The relay must count them before it finds the direction
# drained, or its shutdown(2) overtakes them: the client gets the end
# with the last bytes missing.  A race: without the count, each of 6
# runs of 300 sessions here (2 CPUs, a compile running) lost one.
atf_test_case ofofin cleanup
ofofin_head() { meta "bytes judged after the FIN that ends them reach the client before the end"; }
ofofin_body()
{
	sm_init
	command -v unshare >/dev/null || atf_skip "no unshare(1)"
	sm_cfg 7001 127.0.0.2:7002 >l4d.conf
	ns_script
	atf_check -s exit:0 \
	    -o match:'^ok 300 sessions, 343000 bytes each, then the end' \
	    -e empty unshare -n sh ns.sh "$L4D" "$PY" "$SMTOOL" ofofin \
	    --log l4d.log --count 300
	in_kernel
}
ofofin_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

atf_test_case kill_idle cleanup
kill_idle_head() { meta "show sessions counts the kernel's bytes; kill closes a session in the kernel; bytes the kernel moves keep a session from the idle timeout, silence does not" 90; }
kill_idle_body()
{
	echo_start 'timeouts: { idle: 2s }'
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"

	# a held session that exchanged 10 bytes (keep echoes, then waits)
	$PY "$CLIENT" keep --connect "127.0.0.1:$lp" --size 10 \
	    --ready victim.ready --go victim.go --after close --max 2 \
	    --timeout 30 >victim.out 2>&1 </dev/null &
	echo $! >victim.pid
	wait_for 10 test -e victim.ready || fail "victim: $(cat victim.out)"
	in_kernel
	id=$(ctl show sessions | awk 'NR > 1 && $1 ~ /^[01]-/ { print $1 }')
	echo "$id" | grep -Eq '^[01]-[0-9]+$' ||
	    fail "no session: $(ctl show sessions)"
	ctl -j show sessions | grep -q '"bytes_in": *10' ||
	    fail "show sessions does not count the kernel's bytes: $(ctl -j show sessions)"
	atf_check -s exit:0 -e empty -o inline:"killed $id\n" \
	    "$L4CTL" -s "$PWD/l4d.sock" kill "$id"
	touch victim.go
	wait_for 10 not_alive "$(cat victim.pid)" || fail "victim hangs"
	wait "$(cat victim.pid)" || fail "victim not closed: $(cat victim.out)"
	wait_log "access id=$id .*cause=killed" 5 ||
	    fail "no access line with cause=killed: $(grep access l4d.log)"

	# traffic every 0.5 s for 5 s: longer than idle, never idle
	cat >talk.py <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
t0 = time.monotonic()
i = 0
while time.monotonic() - t0 < 5.0:
    m = b"tick %d\n" % i
    s.sendall(m)
    got = b""
    while len(got) < len(m):
        b = s.recv(100)
        if not b:
            sys.exit("closed after %.2f s" % (time.monotonic() - t0))
        got += b
    i += 1
    time.sleep(0.5)
t1 = time.monotonic()
try:
    b = s.recv(100)
except ConnectionResetError:
    b = b""
dt = time.monotonic() - t1
if b or dt < 1.5 or dt > 6:
    sys.exit("idle end after %.2f s (%r)" % (dt, b))
print("ok %d ticks, closed %.1f s after the last" % (i, dt))
EOF
	atf_check -s exit:0 -o match:'^ok' -e empty $PY talk.py "$lp"
	wait_log 'access .*cause=idle-timeout' 5 ||
	    fail "no idle-timeout: $(grep access l4d.log)"
}
kill_idle_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# An unprivileged parent cannot load BPF (unprivileged_bpf_disabled, or
# no CAP_BPF): l4d says so once and splices.
atf_test_case refused cleanup
refused_head() { meta "a kernel that refuses bpf(2) is said once, and the sessions splice"; }
refused_body()
{
	sm_init
	command -v setpriv >/dev/null || atf_skip "no setpriv(1)"
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server echo echo "127.0.0.2:$sp"
	chmod 777 .
	sm_cfg "$lp" "127.0.0.2:$sp" >l4d.conf
	# the daemon runs from here: the tree may be in a directory only
	# root can enter (a clone in mktemp -d)
	cp "$L4D" l4d.bin
	chmod 755 l4d.bin
	setpriv --reuid=65534 --regid=65534 --clear-groups \
	    "$PWD/l4d.bin" -d -f l4d.conf >l4d.log 2>&1 </dev/null &
	echo $! >l4d.pid
	l4d_wait_ready
	atf_check -s exit:0 -o match:'^ok 20 sessions' -e empty \
	    $PY "$CLIENT" concurrent --connect "127.0.0.1:$lp" --timeout 30 \
	    --sessions 20 --size 200000
	[ "$(log_count 'zero_copy: sockmap: the kernel refused bpf\(BPF_[A-Z_]+\): .*; the relays splice instead')" -eq 1 ] ||
	    fail "no single refusal line: $(grep -i sockmap l4d.log)"
	if log_has 'in the kernel \('; then
		fail "a session went to the kernel: $(grep 'in the kernel' l4d.log)"
	fi
	log_has 'generation 1 loaded: 1 listeners, splice' ||
	    fail "the relays do not splice: $(grep 'loaded' l4d.log)"
}
refused_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# One packet in 20 to the servers is lost: TCP times out and sends
# again from the last byte acknowledged.  The relay must not take bytes
# queued for redirect as delivered (bytes sent less resent, plus unsent,
# counted those twice), or its copy overtakes them.
atf_test_case lossy cleanup
lossy_head() { meta "20 clients flood servers that read late, over a loopback that loses 1 packet in 20: every byte arrives, in order" 180; }
lossy_body()
{
	sm_init
	command -v unshare >/dev/null || atf_skip "no unshare(1)"
	command -v nft >/dev/null || atf_skip "no nft(8)"
	sm_cfg 7001 127.0.0.2:7002 >l4d.conf
	ns_script
	NS_DROP=20 atf_check -s exit:0 \
	    -o match:'^ok 20 sessions, 8388608 bytes each, c2s' \
	    -e empty unshare -n sh ns.sh "$L4D" "$PY" "$SMTOOL" stall \
	    --sessions 20 --bytes 8388608 --dir c2s --hold 1 --timeout 120
	in_kernel
}
lossy_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# zero_copy: adaptive.  Sessions splice or copy until their bytes have
# changed way 16 times in messages that never filled the buffer; then
# they go to the kernel.  7 echoes (14 changes) stay, 9 (18) go.
atf_test_case adaptive_pingpong cleanup
adaptive_pingpong_head() { meta "zero_copy adaptive: a session that goes back and forth goes to the kernel, one that asks 7 times does not" 120; }
adaptive_pingpong_body()
{
	SM_MODE=adaptive
	echo_start

	log_has 'generation 1 loaded: 1 listeners, adaptive' ||
	    fail "the relays are not adaptive: $(grep 'loaded' l4d.log)"
	pingpong_long
	for n in 7 9; do
		for i in $(seq 5); do
			atf_check -s exit:0 -o inline:"ok $n exchanges\n" \
			    -e empty $PY "$SMTOOL" pingpong \
			    --connect "127.0.0.1:$lp" --count "$n" --timeout 30
		done
	done
	wait_for 10 log_count_is 11 'access .*listener=sm .*cause=client-closed' ||
	    fail "expected 11 access lines: $(grep access l4d.log)"
	# the long one and the five of 9, not the five of 7
	[ "$(log_count 'in the kernel \(c2s s2c\)')" -eq 6 ] ||
	    fail "not 6 sessions in the kernel: $(grep -c 'in the kernel' l4d.log)"
	log_has 'c2s state [0-9] gen 1: redirected [0-9]+, passed 0, read [0-9]+,' ||
	    fail "c2s did not stay in the kernel: $(grep 'state' l4d.log | head -n 4)"
}
adaptive_pingpong_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

atf_test_case adaptive_bulk cleanup
adaptive_bulk_head() { meta "zero_copy adaptive: 64 MiB each way at once splice, byte-exact, and stay out of the kernel" 180; }
adaptive_bulk_body()
{
	SM_MODE=adaptive
	bulk_case
	if log_has 'in the kernel \('; then
		fail "a bulk session went to the kernel: $(grep 'in the kernel' l4d.log)"
	fi
}
adaptive_bulk_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

# 12 exchanges take each session to the kernel, then the flood: the
# bound holds as with sockmap.
atf_test_case adaptive_stalled_readers cleanup
adaptive_stalled_readers_head() { meta "zero_copy adaptive: 200 sessions go back and forth, then their clients read nothing while the servers flood: memory stays bounded" 300; }
adaptive_stalled_readers_body() { SM_MODE=adaptive; stall_case s2c 12; }
adaptive_stalled_readers_cleanup() { . "$(atf_get_srcdir)/tools/lib.sh"; l4d_cleanup; }

atf_init_test_cases()
{
	atf_add_test_case bulk
	atf_add_test_case halfclose_client
	atf_add_test_case halfclose_server
	atf_add_test_case pingpong
	atf_add_test_case before_insertion
	atf_add_test_case stalled_readers
	atf_add_test_case stalled_servers
	atf_add_test_case overlap
	atf_add_test_case ofofin
	atf_add_test_case kill_idle
	atf_add_test_case refused
	atf_add_test_case lossy
	atf_add_test_case adaptive_pingpong
	atf_add_test_case adaptive_bulk
	atf_add_test_case adaptive_stalled_readers
}
