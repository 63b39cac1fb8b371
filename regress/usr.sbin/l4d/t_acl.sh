# Access control black-box tests: allow/deny lists (IPv4, IPv6,
# v4-mapped, inherited), the per-source rate limit (a flood refused
# while other clients go on, a spray of sources in bounded memory),
# max_sessions, and the PROXY protocol both ways with HAProxy in front
# of l4d and behind it.  Clients bind to their own source address in
# 127.0.0.0/8; the servers (tools/pptool.py server) answer with the
# address they were told.

fail()
{
	atf_fail "$(printf '%s' "$*" | tr '\n' '|')"
}

ctl()
{
	"$L4CTL" -s "$PWD/l4d.sock" "$@"
}

acl_setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	PP="$PY $TOOLS/pptool.py"
	l4d_init
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"
}

# start_pp NAME ADDR:PORT [pptool server options]: a server that answers
# "src=... via=..." (NAME.pid, NAME.log: one line per session).
start_pp()
{
	_sp_name=$1
	_sp_addr=$2
	shift 2
	rm -f "$_sp_name.ready"
	$PP server --listen "$_sp_addr" --ready "$_sp_name.ready" \
	    --log "$_sp_name.log" "$@" >"$_sp_name.out" 2>&1 </dev/null &
	echo $! >"$_sp_name.pid"
	wait_for 10 test -e "$_sp_name.ready" ||
	    fail "server $_sp_name on $_sp_addr did not start: $(cat "$_sp_name.out")"
}

# start_haproxy NAME: HAProxy in the foreground with NAME.cfg.
start_haproxy()
{
	command -v haproxy >/dev/null || atf_skip "haproxy is not installed"
	haproxy -db -f "$1.cfg" >"$1.out" 2>&1 </dev/null &
	echo $! >"$1.pid"
}

# cause_is LISTENER CAUSE N: show stats counts N sessions of the
# listener that ended with CAUSE.
cause_is()
{
	ctl show stats | grep -E "^listener $1 " | grep -Eq " $2 $3( |\$)"
}

cause_of()
{
	ctl show stats | grep -E "^listener $1 " |
	    sed -n "s/.* $2 \([0-9]*\).*/\1/p"
}

# lines_at_least FILE N: FILE has N lines or more (for wait_for).
lines_at_least()
{
	[ "$(lines_of "$1")" -ge "$2" ]
}

lines_of()
{
	if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi
}

# rss_kb PID: the resident set of a process, in KiB.
rss_kb()
{
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

atf_test_case acl_v4 cleanup
acl_v4_head()
{
	atf_set descr "allow/deny: 127.0.0.2 in, 127.0.0.3 out before any connect, deny wins, global lists inherited, refusals logged once a second"
	atf_set require.user root
	atf_set timeout 120
}
acl_v4_body()
{
	acl_setup
	set -- $(free_ports 3)
	la=$1 lb=$2 sp=$3
	start_pp srv "127.0.0.1:$sp"
	{
		cfg_head 2 true
		cat <<EOF
allow: [127.0.0.2/32]
deny: [127.0.0.9]
listeners:
  - name: a
    listen: "127.0.0.1:$la"
    backend: b
    allow: [127.0.0.0/8]
    deny: [127.0.0.3/32, "10.0.0.0/8"]
  - name: g
    listen: "127.0.0.1:$lb"
    backend: b
backends:
  - name: b
    proxy_protocol: v1		# the server sees the client's address
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d

	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:[0-9]+ via=v1$' \
	    -e empty $PP connect --connect "127.0.0.1:$la" --bind 127.0.0.2
	atf_check -s exit:1 -o inline:'closed\n' -e empty \
	    $PP connect --connect "127.0.0.1:$la" --bind 127.0.0.3
	# its own allow lets 127.0.0.4 in; the global one would not
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.4:' \
	    $PP connect --connect "127.0.0.1:$la" --bind 127.0.0.4
	# g has no lists of its own: the global allow and deny
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:' \
	    $PP connect --connect "127.0.0.1:$lb" --bind 127.0.0.2
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lb" --bind 127.0.0.4
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lb" --bind 127.0.0.9
	# the server saw the three allowed sessions only
	wait_for 10 test "$(lines_of srv.log)" -eq 3 ||
	    fail "the server saw $(lines_of srv.log) sessions: $(cat srv.log)"
	grep -q '127\.0\.0\.[39]' srv.log && fail "a denied client reached the server"
	wait_for 10 cause_is a denied 1 || fail "stats: $(ctl show stats)"
	wait_for 10 cause_is g denied 2 || fail "stats: $(ctl show stats)"
	ctl show summary >summary.out
	grep -Eq '^  allow 1 networks deny 2 networks$' summary.out &&
	    grep -Eq '^  allow 1 networks deny 1 networks$' summary.out ||
	    fail "show summary: $(cat summary.out)"
	ctl -j show summary | $PY -c 'import json, sys
l = json.load(sys.stdin)["listeners"]
assert [(x["allow"], x["deny"], x["rate_limit"], x["proxy_trusted"])
    for x in l] == [(1, 2, None, None), (1, 1, None, None)], l' ||
	    fail "show summary -j"
	log_has 'listener a: denied 127\.0\.0\.3:[0-9]+' ||
	    fail "no log line for the refusal: $(grep denied l4d.log)"

	# a scan: 300 refusals within a few seconds, a line a second at most
	t0=$(date +%s)
	$PP flood --connect "127.0.0.1:$la" --bind 127.0.0.3 --count 300 \
	    >flood.out || fail "flood: $(cat flood.out)"
	t1=$(date +%s)
	grep -q '^admitted 0 refused 300$' flood.out || fail "$(cat flood.out)"
	wait_for 10 cause_is a denied 301 || fail "stats: $(ctl show stats)"
	n=$(log_count 'listener a: denied')
	# two relays, each its own second
	[ "$n" -le $((2 * (t1 - t0 + 2))) ] ||
	    fail "$n refusal lines for 300 refusals in $((t1 - t0)) s"
	log_has 'listener a: denied .*more refused' || fail "no count of quiet refusals"
	log_has 'access .*listener=a .*cause=denied' &&
	    fail "refusals have access lines: the log is flooded"
	return 0
}
acl_v4_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case acl_v6 cleanup
acl_v6_head()
{
	atf_set descr "allow/deny with IPv6: ::1 in by a v6 list, out by a list of IPv4 networks only"
	atf_set require.user root
	atf_set timeout 60
}
acl_v6_body()
{
	acl_setup
	ip -6 addr show lo | grep -q '::1/128' || atf_skip "no ::1 on lo"
	set -- $(free_ports 3)
	l6=$1 l4=$2 sp=$3
	start_pp srv "127.0.0.1:$sp"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: six
    listen: "[::1]:$l6"
    backend: b
    allow: ["2001:db8::/32", "::1/128"]
    deny: ["::2"]
    rate_limit: { per_source: 100, ipv6_prefix: 48 }
  - name: four
    listen: "[::1]:$l4"
    backend: b
    allow: [127.0.0.0/8]
backends:
  - name: b
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.1:' \
	    $PP connect --connect "[::1]:$l6" --bind ::1
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "[::1]:$l4" --bind ::1
	wait_for 10 cause_is four denied 1 || fail "stats: $(ctl show stats)"
	log_has 'listener four: denied \[::1\]:' || fail "$(grep denied l4d.log)"
	# the IPv6 program steers ::1 to one relay
	$PP flood --connect "[::1]:$l6" --bind ::1 --count 10 >flood.out
	grep -q '^admitted 10 refused 0$' flood.out || fail "$(cat flood.out)"
	wait_for 10 test "$(log_count 'access .*listener=six ')" -eq 11 ||
	    fail "$(grep -c 'listener=six' l4d.log) access lines"
	[ "$(grep 'access .*listener=six ' l4d.log | cut -d: -f1 | sort -u |
	    wc -l)" -eq 1 ] || fail "::1 on both relays"
	log_has steering && fail "$(grep steering l4d.log)"
	return 0
}
acl_v6_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case acl_v4mapped cleanup
acl_v4mapped_head()
{
	atf_set descr "a v4-mapped client (::ffff:127.0.0.2, as a PROXY TCP6 header gives it) is matched by IPv4 lists"
	atf_set require.user root
	atf_set timeout 60
}
acl_v4mapped_body()
{
	acl_setup
	set -- $(free_ports 2)
	lp=$1 sp=$2
	start_pp srv "127.0.0.1:$sp"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: m
    listen: "127.0.0.1:$lp"
    backend: b
    allow: [127.0.0.2/32]
    proxy_protocol: { trusted: [127.0.0.1] }
backends:
  - name: b
    proxy_protocol: v1
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	# sent on as the IPv4 address it is
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:40000 via=v1$' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.1 \
	    --send-proxy v1 --proxy-src "[::ffff:127.0.0.2]:40000" \
	    --proxy-dst "[::ffff:127.0.0.1]:$lp"
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:40001 via=v1$' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.1 \
	    --send-proxy v2 --proxy-src "[::ffff:127.0.0.2]:40001" \
	    --proxy-dst "[::ffff:127.0.0.1]:$lp"
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.1 \
	    --send-proxy v1 --proxy-src "[::ffff:127.0.0.3]:40000" \
	    --proxy-dst "[::ffff:127.0.0.1]:$lp"
	wait_for 10 cause_is m denied 1 || fail "stats: $(ctl show stats)"
}
acl_v4mapped_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case acl_reload cleanup
acl_reload_head()
{
	atf_set descr "a reload changes the lists at once (l4ctl says so) and keeps the rate buckets of a listener whose rate_limit it keeps"
	atf_set require.user root
	atf_set timeout 60
}
acl_reload_body()
{
	acl_setup
	set -- $(free_ports 2)
	lp=$1 sp=$2
	start_pp srv "127.0.0.1:$sp"
	for who in 2 3; do
		{
			cfg_head 1 true
			cat <<EOF
listeners:
  - name: a
    listen: "127.0.0.1:$lp"
    backend: b
    allow: [127.0.0.$who/32, 127.0.0.4]
    rate_limit: { per_source: 1, interval: 1h, burst: 2 }
backends:
  - name: b
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
		} >l4d.conf.$who
	done
	cp l4d.conf.2 l4d.conf
	start_l4d
	atf_check -s exit:0 -o match:'^src=' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.2
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.3
	atf_check -s exit:0 -o inline:'admitted 2 refused 0\n' \
	    $PP flood --connect "127.0.0.1:$lp" --bind 127.0.0.4 --count 2
	cp l4d.conf.3 l4d.conf
	atf_check -s exit:0 -o match:'^listener a: access control changed$' \
	    "$L4CTL" -s "$PWD/l4d.sock" reload
	atf_check -s exit:0 -o match:'^src=' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.3
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.2
	# 127.0.0.4 used its burst before the reload: still used
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.4
	wait_for 10 cause_is a rate-limited 1 || fail "stats: $(ctl show stats)"
}
acl_reload_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# flood_start ADDR: 127.0.0.4 connects to ADDR one connection after the
# other until flood_stop (flood.out: what it saw).
flood_start()
{
	rm -f stop flood.ready
	$PP flood --connect "$1" --bind 127.0.0.4 --stop stop \
	    --ready flood.ready --timeout 60 >flood.out 2>&1 &
	echo $! >flood.pid
	wait_for 10 test -e flood.ready || fail "the flood of $1 did not start"
}

flood_stop()
{
	touch stop
	wait_for 20 not_alive "$(cat flood.pid)" || fail "the flood did not stop"
}

atf_test_case rate_limit cleanup
rate_limit_head()
{
	atf_set descr "rate_limit: 100 quick connects at 10/s burst 10 admit 10-12 with two relays (a source is steered to one); another source meanwhile keeps its latency"
	atf_set require.user root
	atf_set timeout 180
}
rate_limit_body()
{
	acl_setup
	set -- $(free_ports 2)
	lp=$1 sp=$2
	start_pp srv "127.0.0.1:$sp"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: r
    listen: "127.0.0.1:$lp"
    backend: b
    rate_limit: { per_source: 10, interval: 1s, burst: 10 }
backends:
  - name: b
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	$PP burst --connect "127.0.0.1:$lp" --bind 127.0.0.4 --count 100 \
	    >burst.out || fail "burst: $(cat burst.out)"
	a=$(sed -n 's/^admitted \([0-9]*\) .*/\1/p' burst.out)
	[ "$a" -ge 10 ] && [ "$a" -le 12 ] || fail "admitted $a of 100: $(cat burst.out)"
	wait_for 10 cause_is r rate-limited $((100 - a)) ||
	    fail "stats: $(ctl show stats)"
	# exact with two relays: each source's sessions go to one of them,
	# and the sources to both
	for i in $(seq 20 39); do
		$PP flood --connect "127.0.0.1:$lp" --bind "127.0.0.$i" --count 2 \
		    >/dev/null || fail "flood from 127.0.0.$i"
	done
	wait_for 10 test "$(log_count 'access .*client=127\.0\.0\.[23][0-9]:')" -ge 40 ||
	    fail "$(grep -c access l4d.log) access lines"
	sed -n 's/^relay\[\([01]\)\]: access .*client=\(127\.0\.0\.[23][0-9]\):.*/\2 \1/p' \
	    l4d.log | sort -u >steer.txt
	[ "$(wc -l <steer.txt)" -eq 20 ] || fail "a source on two relays: $(tr '\n' ' ' <steer.txt)"
	[ "$(awk '{ print $2 }' steer.txt | sort -u | wc -l)" -eq 2 ] ||
	    fail "20 sources on one relay: $(tr '\n' ' ' <steer.txt)"

	# latency of another source (10 sessions: its burst) while a flood
	# runs against a closed port (the same load on the machine's two
	# cores, none on l4d), then of a third one while 127.0.0.4 floods l4d
	cp_=$(free_ports 1)
	flood_start "127.0.0.1:$cp_"
	$PP latency --connect "127.0.0.1:$lp" --bind 127.0.0.6 --count 10 \
	    >idle.out || fail "idle: $(cat idle.out)"
	flood_stop
	flood_start "127.0.0.1:$lp"
	before=$(cause_of r rate-limited)
	$PP latency --connect "127.0.0.1:$lp" --bind 127.0.0.7 --count 10 \
	    >busy.out || fail "busy: $(cat busy.out)"
	after=$(cause_of r rate-limited)
	flood_stop
	idle=$(awk '{ print $2 }' idle.out)
	busy=$(awk '{ print $2 }' busy.out)
	echo "idle $(cat idle.out) | during the flood $(cat busy.out) | flood $(cat flood.out), $((after - before)) refused meanwhile"
	[ "$((after - before))" -gt 10 ] || fail "the flood was not refused meanwhile"
	awk -v i="$idle" -v b="$busy" 'BEGIN { exit !(b <= 2 * i || b - i < 0.5) }' ||
	    fail "median latency $busy ms during the flood, $idle ms idle"
}
rate_limit_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case rate_spray cleanup
rate_spray_head()
{
	atf_set descr "rate_limit: a spray of 11,024 source addresses leaves the relay's RSS within the table's bound (table_size 1024)"
	atf_set require.user root
	atf_set timeout 240
}
rate_spray_body()
{
	acl_setup
	set -- $(free_ports 2)
	lp=$1 sp=$2
	# the server answers and closes: one session at a time is alive
	start_server srv id "127.0.0.1:$sp" --id x
	{
		cfg_head 1 true | grep -v '^log:'
		cat <<EOF
log: { level: info, access: false }
listeners:
  - name: s
    listen: "127.0.0.1:$lp"
    backend: b
    rate_limit: { per_source: 1, interval: 1h, burst: 1, table_size: 1024 }
backends:
  - name: b
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	relay=$(head -n 1 relays.pid)
	# the table of 1024 (~52 KiB) is all in use after the first 1,000
	$PP spray --connect "127.0.0.1:$lp" --base 127.1.0.0 --count 1024 \
	    >warm.out || fail "spray: $(cat warm.out)"
	r0=$(rss_kb "$relay")
	$PP spray --connect "127.0.0.1:$lp" --base 127.2.0.0 --count 10000 \
	    >spray.out || fail "spray: $(cat spray.out)"
	r1=$(rss_kb "$relay")
	# a table that grew would hold 11,024 entries of 48 bytes: 517 KiB.
	# AddressSanitizer keeps freed memory in quarantine: no bound there.
	echo "relay RSS $r0 KiB after 1,024 sources, $r1 KiB after 11,024"
	if ! grep -q __asan_init "$L4D" 2>/dev/null; then
		[ "$((r1 - r0))" -lt 128 ] ||
		    fail "the relay grew by $((r1 - r0)) KiB"
	fi
	# every source got its burst (the table recycled, never refused)...
	[ -z "$(cause_of s rate-limited)" ] || fail "stats: $(ctl show stats)"
	# ...and the last ones are still in it
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.2.39.15
	wait_for 10 cause_is s rate-limited 1 || fail "stats: $(ctl show stats)"
	# the first ones were pushed out: a full bucket again
	atf_check -s exit:0 -o match:'^x$' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.1.0.1
}
rate_spray_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case max_sessions cleanup
max_sessions_head()
{
	atf_set descr "max_sessions, global: the sessions beyond it end over-limit"
	atf_set require.user root
	atf_set timeout 60
}
max_sessions_body()
{
	acl_setup
	set -- $(free_ports 3)
	la=$1 lb=$2 sp=$3
	start_server hold hold "127.0.0.1:$sp"
	{
		cfg_head 1 true
		cat <<EOF
max_sessions: 3
listeners:
  - name: a
    listen: "127.0.0.1:$la"
    backend: b
  - name: c
    listen: "127.0.0.1:$lb"
    backend: b
backends:
  - name: b
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	client hold --connect "127.0.0.1:$la" --count 2 --pidfile h1.pid \
	    --ready h1.ready --timeout 60 &
	wait_for 10 test -e h1.ready || fail "no hold"
	client hold --connect "127.0.0.1:$lb" --count 1 --pidfile h2.pid \
	    --ready h2.ready --timeout 60 &
	wait_for 10 test -e h2.ready || fail "no hold"
	wait_for 10 sessions_at_server 3 "$sp" || fail "3 sessions did not reach the server"
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lb" --bind 127.0.0.2
	wait_for 10 cause_is c over-limit 1 || fail "stats: $(ctl show stats)"
}
max_sessions_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# haproxy_front NAME PORT TARGET VERSION: HAProxy on 127.0.0.1:PORT
# sending to TARGET with send-proxy (v1) or send-proxy-v2.
haproxy_front()
{
	_hf_opt=send-proxy
	[ "$4" = v2 ] && _hf_opt=send-proxy-v2
	cat >"$1.cfg" <<EOF
global
    maxconn 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:$2
    default_backend b
backend b
    server s $3 $_hf_opt
EOF
	start_haproxy "$1"
}

atf_test_case proxy_in cleanup
proxy_in_head()
{
	atf_set descr "PROXY in: HAProxy send-proxy and send-proxy-v2 -> l4d -> server; 127.0.0.2 arrives end to end; an untrusted sender is refused"
	atf_set require.user root
	atf_set timeout 120
}
proxy_in_body()
{
	acl_setup
	set -- $(free_ports 6)
	lp=$1 sp=$2 h1=$3 h2=$4 lh=$5 hp=$6
	start_pp srv "127.0.0.1:$sp"
	start_server hold hold "127.0.0.1:$hp"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: p
    listen: "127.0.0.1:$lp"
    backend: b
    allow: [127.0.0.2/32, 127.0.0.1/32]	# a client, the front
    proxy_protocol: { trusted: [127.0.0.1/32] }
  - name: ph
    listen: "127.0.0.1:$lh"
    backend: hold
    proxy_protocol: { trusted: [127.0.0.1/32] }
backends:
  - name: b
    proxy_protocol: v2
    servers: [ { address: "127.0.0.1:$sp" } ]
  - name: hold
    servers: [ { address: "127.0.0.1:$hp" } ]
EOF
	} >l4d.conf
	start_l4d
	haproxy_front ha1 "$h1" "127.0.0.1:$lp" v1
	haproxy_front ha2 "$h2" "127.0.0.1:$lp" v2
	for h in "$h1" "$h2"; do
		wait_for 10 $PP connect --connect "127.0.0.1:$h" --bind 127.0.0.2 ||
		    fail "nothing through HAProxy on $h: $(cat ha1.out ha2.out)"
		atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:[0-9]+ via=v2$' \
		    $PP connect --connect "127.0.0.1:$h" --bind 127.0.0.2
		# the allow list judges the PROXY address, not HAProxy's
		atf_check -s exit:1 -o inline:'closed\n' \
		    $PP connect --connect "127.0.0.1:$h" --bind 127.0.0.3
	done
	wait_for 10 cause_is p denied 2 || fail "stats: $(ctl show stats)"
	# the access log and show sessions name the client, and its sender
	log_has "access .*listener=p client=127\.0\.0\.2:[0-9]+ .*proxy=127\.0\.0\.1:[0-9]+ " ||
	    fail "$(grep access l4d.log | head -n 3)"
	# a sender outside trusted is refused, header or not
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.2 \
	    --send-proxy v1 --proxy-src 127.0.0.2:1
	wait_for 10 cause_is p denied 3 || fail "stats: $(ctl show stats)"
	# a trusted sender must send a header: no guessing
	atf_check -s exit:1 -o inline:'closed\n' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.1
	wait_for 10 cause_is p bad-proxy-header 1 || fail "stats: $(ctl show stats)"
	# LOCAL (a front balancer's health check) keeps the real peer
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.1:[0-9]+ via=v2$' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.1 \
	    --send-proxy local
	# show sessions names the client of the header
	$PP connect --connect "127.0.0.1:$lh" --bind 127.0.0.1 \
	    --send-proxy v2 --proxy-src 127.0.0.77:4242 --timeout 30 \
	    >held.out 2>&1 &
	echo $! >held.pid
	wait_for 10 sh -c "'$L4CTL' -s '$PWD/l4d.sock' show sessions |
	    grep -Eq '^[01]-[0-9]+ +ph +127\.0\.0\.77:4242 '" ||
	    fail "show sessions: $(ctl show sessions)"
}
proxy_in_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case proxy_out cleanup
proxy_out_head()
{
	atf_set descr "PROXY out: l4d proxy_protocol v1 and v2 -> HAProxy accept-proxy -> server; 127.0.0.2 arrives end to end"
	atf_set require.user root
	atf_set timeout 120
}
proxy_out_body()
{
	acl_setup
	set -- $(free_ports 5)
	l1=$1 l2=$2 sp=$3 h=$4 hv2=$5
	start_pp srv "127.0.0.1:$sp"
	cat >ha.cfg <<EOF
global
    maxconn 200
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f1
    bind 127.0.0.1:$h accept-proxy
    default_backend b
frontend f2
    bind 127.0.0.1:$hv2 accept-proxy
    default_backend b
backend b
    server s 127.0.0.1:$sp send-proxy
EOF
	start_haproxy ha
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: o1
    listen: "127.0.0.1:$l1"
    backend: v1
  - name: o2
    listen: "127.0.0.1:$l2"
    backend: v2
backends:
  - name: v1
    proxy_protocol: v1
    servers: [ { address: "127.0.0.1:$h" } ]
  - name: v2
    proxy_protocol: v2
    servers: [ { address: "127.0.0.1:$hv2" } ]
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 $PP connect --connect "127.0.0.1:$l1" --bind 127.0.0.2 ||
	    fail "nothing through HAProxy: $(cat ha.out)"
	for l in "$l1" "$l2"; do
		atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:[0-9]+ via=v1$' \
		    $PP connect --connect "127.0.0.1:$l" --bind 127.0.0.2
	done
	# directly: what l4d itself sends
	cat >>l4d.conf <<EOF
  - name: direct
    proxy_protocol: v2
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	sed -i "s/^    backend: v1\$/    backend: direct/" l4d.conf
	atf_check -s exit:0 -o ignore "$L4CTL" -s "$PWD/l4d.sock" reload
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:[0-9]+ via=v2$' \
	    $PP connect --connect "127.0.0.1:$l1" --bind 127.0.0.2
}
proxy_out_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case proxy_garbage cleanup
proxy_garbage_head()
{
	atf_set descr "1,000 garbage, truncated and oversized PROXY headers end one session each with bad-proxy-header; the daemon serves throughout"
	atf_set require.user root
	atf_set timeout 180
}
proxy_garbage_body()
{
	acl_setup
	set -- $(free_ports 2)
	lp=$1 sp=$2
	start_pp srv "127.0.0.1:$sp"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: g
    listen: "127.0.0.1:$lp"
    backend: b
    proxy_protocol: { trusted: [127.0.0.1] }
backends:
  - name: b
    proxy_protocol: v1
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	pids=$(cat relays.pid)
	$PP flood --connect "127.0.0.1:$lp" --bind 127.0.0.1 --send-proxy v2 \
	    --proxy-src 127.0.0.2:1 --stop stop --ready flood.ready \
	    --timeout 120 >flood.out 2>&1 &
	echo $! >flood.pid
	wait_for 10 test -e flood.ready || fail "no good session: $(cat flood.out)"
	atf_check -s exit:0 -o inline:'closed 1000\n' \
	    $PP garbage --connect "127.0.0.1:$lp" --bind 127.0.0.1 --count 1000
	touch stop
	wait_for 20 not_alive "$(cat flood.pid)" || fail "the good sessions did not stop"
	grep -q '^admitted [1-9][0-9]* refused 0$' flood.out ||
	    fail "good sessions failed meanwhile: $(cat flood.out)"
	wait_for 10 cause_is g bad-proxy-header 1000 || fail "stats: $(ctl show stats)"
	[ "$(relay_pids "$(cat l4d.pid)")" = "$pids" ] || fail "a relay restarted"
	grep -Ev '^src=127\.0\.0\.2:1 via=v1$' srv.log &&
	    fail "garbage reached the server"
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:7 via=v1$' \
	    $PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.1 \
	    --send-proxy v1 --proxy-src 127.0.0.2:7
	log_has 'cause=bad-proxy-header' || fail "no access line for a bad header"
}
proxy_garbage_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case proxy_source_hash cleanup
proxy_source_hash_head()
{
	atf_set descr "source-hash uses the PROXY address: clients of one front balancer map to their own servers"
	atf_set require.user root
	atf_set timeout 120
}
proxy_source_hash_body()
{
	acl_setup
	set -- $(free_ports 4)
	lp=$1 s1=$2 s2=$3 s3=$4
	start_pp srv1 "127.0.0.1:$s1" --id s1
	start_pp srv2 "127.0.0.1:$s2" --id s2
	start_pp srv3 "127.0.0.1:$s3" --id s3
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: h
    listen: "127.0.0.1:$lp"
    backend: b
    proxy_protocol: { trusted: [127.0.0.1] }
backends:
  - name: b
    balance: source-hash
    servers:
      - { address: "127.0.0.1:$s1" }
      - { address: "127.0.0.1:$s2" }
      - { address: "127.0.0.1:$s3" }
EOF
	} >l4d.conf
	start_l4d
	: >map.txt
	for round in 1 2 3; do
		for i in 10 11 12 13 14 15 16 17 18 19; do
			out=$($PP connect --connect "127.0.0.1:$lp" --bind 127.0.0.1 \
			    --send-proxy v2 --proxy-src "127.0.0.$i:$((1000 + round))") ||
			    fail "no answer for 127.0.0.$i"
			echo "127.0.0.$i ${out%% *}" >>map.txt
		done
	done
	# one server per client address, whatever the source port
	n=$(sort -u map.txt | wc -l)
	[ "$n" -eq 10 ] || fail "a client moved between servers: $(sort -u map.txt | tr '\n' ' ')"
	m=$(awk '{ print $2 }' map.txt | sort -u | wc -l)
	[ "$m" -ge 2 ] || fail "10 client addresses all on one server: $(sort -u map.txt | tr '\n' ' ')"
}
proxy_source_hash_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case proxy_out_sni cleanup
proxy_out_sni_head()
{
	atf_set descr "PROXY v2 out after an SNI peek: the header comes first, with AUTHORITY and ALPN TLVs"
	atf_set require.user root
	atf_set timeout 60
}
proxy_out_sni_body()
{
	acl_setup
	set -- $(free_ports 2)
	lp=$1 sp=$2
	start_pp srv "127.0.0.1:$sp" --header-only
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: t
    listen: "127.0.0.1:$lp"
    routes:
      - { sni: db.example.com, alpn: postgresql, backend: pg }
backends:
  - name: pg
    proxy_protocol: v2
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	$PP tlshello --connect "127.0.0.1:$lp" --bind 127.0.0.2 \
	    --sni db.example.com --alpn postgresql >/dev/null
	wait_for 10 test "$(lines_of srv.log)" -ge 1 || fail "nothing at the server"
	grep -Eq '^src=127\.0\.0\.2:[0-9]+ via=v2 authority=db\.example\.com alpn=postgresql$' srv.log ||
	    fail "the server was told: $(cat srv.log)"
}
proxy_out_sni_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case proxy_out_tls cleanup
proxy_out_tls_head()
{
	atf_set descr "PROXY v2 out for a session l4d terminated: PP2_TYPE_SSL with the TLS version and the client certificate's CN, AUTHORITY with the SNI"
	atf_set require.user root
	atf_set timeout 90
}
proxy_out_tls_body()
{
	acl_setup
	command -v openssl >/dev/null || atf_skip "no openssl"
	set -- $(free_ports 2)
	lp=$1 sp=$2
	for a in "ca" "ca clients" "leaf mtls.test" "client clients alice"; do
		sh "$TOOLS/mkcerts.sh" $(echo "$a" | cut -d' ' -f1) certs \
		    $(echo "$a" | cut -s -d' ' -f2-) || fail "mkcerts $a"
	done
	start_pp srv "127.0.0.1:$sp" --header-only
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: t
    listen: "127.0.0.1:$lp"
    backend: b
    tls:
      certificates: [ { cert: $PWD/certs/mtls.test.crt, key: $PWD/certs/mtls.test.key } ]
      client_auth: optional
      client_ca: $PWD/certs/clients.crt
backends:
  - name: b
    proxy_protocol: v2
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	# the server answers the header only, which is no line the client
	# expects: what counts is what the server was told
	for c in "--cert certs/alice.crt --key certs/alice.key" ""; do
		$PY "$TOOLS/tlsclient.py" line --connect "127.0.0.1:$lp" \
		    --name mtls.test --ca certs/ca.crt $c --tls 1.3 \
		    --expect - --timeout 10 >/dev/null 2>&1 || :
	done
	wait_for 10 test "$(lines_of srv.log)" -ge 2 || fail "server: $(cat srv.log)"
	grep -Eq '^src=127\.0\.0\.1:[0-9]+ via=v2 authority=mtls\.test ssl=TLSv1\.3 cn=alice verified=1$' srv.log ||
	    fail "with a certificate, the server was told: $(cat srv.log)"
	grep -Eq '^src=127\.0\.0\.1:[0-9]+ via=v2 authority=mtls\.test ssl=TLSv1\.3 verified=0$' srv.log ||
	    fail "without one, the server was told: $(cat srv.log)"
}
proxy_out_tls_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case check_proxy cleanup
check_proxy_head()
{
	atf_set descr "health checks to a backend with proxy_protocol send a v1 UNKNOWN or v2 LOCAL header first, unless the check says proxy_protocol: false"
	atf_set require.user root
	atf_set timeout 60
}
check_proxy_body()
{
	acl_setup
	set -- $(free_ports 4)
	l=$1 s2=$2 s1=$3 sn=$4
	start_pp pp2 "127.0.0.1:$s2"
	start_pp pp1 "127.0.0.1:$s1"
	start_pp ppn "127.0.0.1:$sn"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - { name: l, listen: "127.0.0.1:$l", backend: b2 }
backends:
  - name: b2
    proxy_protocol: v2
    servers: [ { address: "127.0.0.1:$s2" } ]
    check: { type: send-expect, send: 'hello\n', expect: "src=",
             interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }
  - name: b1
    proxy_protocol: v1
    servers: [ { address: "127.0.0.1:$s1" } ]
    check: { type: send-expect, send: 'hello\n', expect: "src=",
             interval: 200ms, timeout: 150ms, rise: 1, fall: 1 }
  - name: bn
    proxy_protocol: v2
    servers: [ { address: "127.0.0.1:$sn" } ]
    check: { type: send-expect, send: 'hello\n', expect: "src=",
             interval: 200ms, timeout: 150ms, rise: 1, fall: 1,
             proxy_protocol: false }
EOF
	} >l4d.conf
	start_l4d
	for n in pp2 pp1 ppn; do
		wait_for 10 lines_at_least $n.log 2 ||
		    fail "$n saw no checks: $(cat $n.log 2>/dev/null)"
	done
	# the checks said they carry no client, or (proxy_protocol: false)
	# sent nothing at all
	grep -v ' via=local$' pp2.log && fail "pp2: a check without LOCAL"
	grep -v ' via=local$' pp1.log && fail "pp1: a check without UNKNOWN"
	grep -v ' via=none$' ppn.log && fail "ppn: a check sent a header"
	wait_for 10 sh -c "[ \$(\"$L4CTL\" -s \"$PWD/l4d.sock\" show summary | grep -c ' health up ') -eq 3 ]" ||
	    fail "not all three up: $(ctl show summary)"
	# a session still carries its client
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:[0-9]+ via=v2$' \
	    -e empty $PP connect --connect "127.0.0.1:$l" --bind 127.0.0.2
}
check_proxy_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case dual_stack cleanup
dual_stack_head()
{
	atf_set descr "dual_stack: a listener on [::] takes IPv4 clients as v4-mapped addresses, matched as IPv4 by allow/deny, told to the server as IPv4; an IPv4 listener on its port is a conflict"
	atf_set require.user root
	atf_set timeout 60
}
dual_stack_body()
{
	acl_setup
	ip -6 addr show lo | grep -q '::1/128' || atf_skip "no ::1 on lo"
	set -- $(free_ports 2)
	l=$1 sp=$2
	start_pp srv "127.0.0.1:$sp"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: both
    listen: "[::]:$l"
    dual_stack: true
    backend: b
    allow: [127.0.0.2/32, "::1/128"]
backends:
  - name: b
    proxy_protocol: v1
    servers: [ { address: "127.0.0.1:$sp" } ]
EOF
	} >l4d.conf
	start_l4d
	# an IPv4 client reaches the IPv6 socket; the IPv4 list lets it in
	# and the server is told its IPv4 address
	atf_check -s exit:0 -o match:'^src=127\.0\.0\.2:[0-9]+ via=v1$' \
	    -e empty $PP connect --connect "127.0.0.1:$l" --bind 127.0.0.2
	atf_check -s exit:1 -o inline:'closed\n' -e empty \
	    $PP connect --connect "127.0.0.1:$l" --bind 127.0.0.3
	atf_check -s exit:0 -o match:'^src=\[::1\]:' -e empty \
	    $PP connect --connect "[::1]:$l" --bind ::1
	wait_for 10 cause_is both denied 1 || fail "stats: $(ctl show stats)"
	log_has 'listener both: denied .*127\.0\.0\.3' ||
	    fail "no denied line: $(grep denied l4d.log)"

	# an IPv4 listener on the same port conflicts
	sed -i "s|^backends:|  - { name: four, listen: \"127.0.0.1:$l\", backend: b }\nbackends:|" l4d.conf
	atf_check -s exit:1 -o empty -e match:'L4D-E010: .*conflicts with listener "both"' \
	    $L4D -n -f l4d.conf
}
dual_stack_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case acl_v4
	atf_add_test_case acl_v6
	atf_add_test_case acl_v4mapped
	atf_add_test_case acl_reload
	atf_add_test_case rate_limit
	atf_add_test_case rate_spray
	atf_add_test_case max_sessions
	atf_add_test_case proxy_in
	atf_add_test_case proxy_out
	atf_add_test_case proxy_garbage
	atf_add_test_case proxy_source_hash
	atf_add_test_case proxy_out_sni
	atf_add_test_case proxy_out_tls
	atf_add_test_case check_proxy
	atf_add_test_case dual_stack
}
