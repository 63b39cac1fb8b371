# Metrics: `l4ctl show metrics' in the Prometheus text format, checked by
# a parser of the format (tools/promcheck.py) and against what the test
# sent; the same at GET /metrics from the unprivileged, chrooted metrics
# process; hostile HTTP clients.

# metrics_cfg LISTENER_PORT SERVER_PORT METRICS_PORT: two relays, a plain
# listener, a routed one (whose regex route key has backslashes, which
# a label value escapes), a backend of one server.
metrics_cfg()
{
	cfg_head 2 true
	cat <<EOF2
metrics: { listen: "127.0.0.1:$3" }
listeners:
  - name: web
    listen: "127.0.0.1:$1"
    backend: pool
  - name: routed
    listen: "127.0.0.1:$4"
    backend: pool
    routes:
      - { sni: "~^read-[0-9]+\\\\.example\\\\.com\$", backend: pool }
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:$2" }
EOF2
}

metrics_of()
{
	"$L4CTL" -s "$PWD/l4d.sock" show metrics
}

# metrics_hold ASSERTION...: show metrics passes them now.
metrics_hold()
{
	metrics_of >m.now && $PY "$TOOLS/promcheck.py" m.now "$@"
}

atf_test_case show_metrics cleanup
show_metrics_head()
{
	atf_set descr "l4ctl show metrics: the format parses, the counters are what was sent, names and labels as documented"
	atf_set require.user root
	atf_set timeout 90
}
show_metrics_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 3)
	lp=$1 mp=$2 rp=$3
	sp=$(free_ports 1 127.0.0.2)
	start_server s sinksource "127.0.0.2:$sp" --bytes 3000
	metrics_cfg "$lp" "$sp" "$mp" "$rp" >l4d.conf
	start_l4d

	atf_check -s exit:0 -o save:m0.txt -e empty \
	    "$L4CTL" -s "$PWD/l4d.sock" show metrics
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" m0.txt \
	    'l4d_config_generation=1' 'l4d_reloads_total=0' 'l4d_relays=2' \
	    'l4d_relays_answered=2' \
	    'l4d_listener_sessions_total{listener="web"}=0' \
	    'l4d_server_up{backend="pool",server="127.0.0.2:'"$sp"'"}=1' \
	    'l4d_server_disabled{backend="pool",server="127.0.0.2:'"$sp"'"}=0' \
	    'l4d_server_check_enabled{backend="pool",server="127.0.0.2:'"$sp"'"}=0' \
	    'l4d_route_sessions_total{listener="routed",route="~^read-[0-9]+\\.example\\.com$"}=0' \
	    'l4d_route_sessions_total{listener="routed",route="no_sni"}=0' \
	    'l4d_route_sessions_total{listener="routed",route="default"}=0' \
	    'l4d_sessions_ended_total{listener="web",cause="client-closed"}=0' \
	    'l4d_tls_failures_total{listener="web",reason="handshake"}=0' \
	    'l4d_tls_handshakes_total{listener="web"}=0'
	# the escaped form, as it is on the wire: one backslash is two
	atf_check -s exit:0 -o ignore -e empty grep -F \
	    'route="~^read-[0-9]+\\.example\\.com$"' m0.txt
	# every family has its HELP and TYPE
	for f in l4d_listener_current_sessions l4d_listener_sessions_total \
	    l4d_listener_bytes_in_total l4d_listener_bytes_out_total \
	    l4d_server_up l4d_server_connection_errors_total \
	    l4d_sessions_ended_total l4d_tls_handshakes_total \
	    l4d_reloads_total l4d_config_generation \
	    l4d_process_start_time_seconds; do
		grep -q "^# HELP $f " m0.txt || atf_fail "no HELP for $f"
		grep -q "^# TYPE $f " m0.txt || atf_fail "no TYPE for $f"
	done
	now=$(date +%s)
	start=$(sed -n 's/^l4d_process_start_time_seconds //p' m0.txt)
	[ "$start" -le "$now" ] && [ "$start" -gt $((now - 600)) ] ||
	    atf_fail "start time $start, now $now"

	# 4 sessions of 1000 bytes up, 3000 down
	for i in 1 2 3 4; do
		atf_check -s exit:0 -o ignore -e empty $PY "$CLIENT" bulk \
		    --connect "127.0.0.1:$lp" --bytes 1000 --seed $i \
		    --peer-bytes 3000 --peer-seed 1 --timeout 20
	done
	wait_for 10 metrics_hold \
	    'l4d_listener_current_sessions{listener="web"}=0' \
	    'sum:l4d_sessions_ended_total{listener="web"}=4' ||
	    atf_fail "sessions did not end: $(grep -E 'web|ended' m.now)"
	s='backend="pool",server="127.0.0.2:'"$sp"'"'
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" m.now \
	    'l4d_listener_sessions_total{listener="web"}=4' \
	    'l4d_listener_bytes_in_total{listener="web"}=4000' \
	    'l4d_listener_bytes_out_total{listener="web"}=12000' \
	    'l4d_listener_connection_errors_total{listener="web"}=0' \
	    'l4d_backend_sessions_total{backend="pool"}=4' \
	    'l4d_backend_bytes_in_total{backend="pool"}=4000' \
	    "l4d_server_sessions_total{$s}=4" \
	    "l4d_server_bytes_out_total{$s}=12000" \
	    "l4d_server_current_sessions{$s}=0" \
	    'l4d_listener_sessions_total{listener="routed"}=0'

	# a refused connect: a connection error and a cause
	kill -TERM "$(cat s.pid)"
	wait_for 10 not_alive "$(cat s.pid)" || atf_fail "server did not stop"
	$PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 1 --timeout 10 \
	    >/dev/null 2>&1
	wait_for 10 metrics_hold \
	    'l4d_listener_sessions_total{listener="web"}=5' \
	    "l4d_server_connection_errors_total{$s}=1" \
	    'l4d_sessions_ended_total{listener="web",cause="connect-refused"}=1' ||
	    atf_fail "the refused connect is not counted: $(grep -E 'web|error' m.now)"

	# a reload: the generation and the counter
	atf_check -s exit:0 -o match:'generation 2' -e empty \
	    "$L4CTL" -s "$PWD/l4d.sock" reload
	echo 'listeners: [' >bad.conf
	atf_check -s exit:1 -o ignore -e ignore \
	    "$L4CTL" -s "$PWD/l4d.sock" reload -f "$PWD/bad.conf"
	atf_check -s exit:0 -o empty -e empty -x \
	    "'$L4CTL' -s '$PWD/l4d.sock' show metrics | $PY '$TOOLS/promcheck.py' - l4d_config_generation=2 l4d_reloads_total=1 l4d_reload_failures_total=1 'l4d_listener_sessions_total{listener=\"web\"}=5'"
}
show_metrics_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case http_endpoint cleanup
http_endpoint_head()
{
	atf_set descr "GET /metrics: the same text as l4ctl, from a chrooted process that is not root"
	atf_set require.user root
	atf_set timeout 90
}
http_endpoint_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 3)
	lp=$1 mp=$2 rp=$3
	sp=$(free_ports 1 127.0.0.2)
	start_server s echo "127.0.0.2:$sp"
	metrics_cfg "$lp" "$sp" "$mp" "$rp" >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 3 --timeout 10
	wait_for 10 metrics_hold \
	    'l4d_listener_sessions_total{listener="web"}=3' \
	    'l4d_listener_current_sessions{listener="web"}=0' ||
	    atf_fail "3 sessions not counted"

	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/httpprobe.py" get \
	    "127.0.0.1:$mp" --out http.txt
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" \
	    --http http.txt 'l4d_listener_sessions_total{listener="web"}=3' \
	    'l4d_config_generation=1'
	# the same body as l4ctl's (nothing moved in between)
	metrics_of >ctl.txt
	sed '1,/^\r$/d' http.txt >body.txt
	atf_check -s exit:0 -o empty -e empty cmp body.txt ctl.txt

	# the process: a child of the parent, not root, chrooted
	mpid=$(kind_pids "$(cat l4d.pid)" metrics)
	[ -n "$mpid" ] || atf_fail "no metrics process"
	echo "$mpid" >metrics.pid
	uid=$(id -u _l4d)
	atf_check -s exit:0 -o match:"^Uid:	$uid	$uid	$uid	$uid" \
	    -e empty grep '^Uid:' "/proc/$mpid/status"
	atf_check -s exit:0 -o inline:"/var/empty\n" -e empty \
	    readlink "/proc/$mpid/root"
	# it holds the metrics socket, the parent does too, nothing else does
	ino=$(ss -Htlnpe "sport = :$mp" | sed -n 's/.*ino:\([0-9]*\).*/\1/p')
	[ -n "$ino" ] || atf_fail "nothing listens on $mp"
	ls -l "/proc/$mpid/fd" | grep -q "socket:\[$ino\]" ||
	    atf_fail "the metrics process does not hold the socket"
	# and it holds no listener of the relays'
	lino=$(ss -Htlnpe "sport = :$lp" | sed -n 's/.*ino:\([0-9]*\).*/\1/p' |
	    head -1)
	! ls -l "/proc/$mpid/fd" | grep -q "socket:\[$lino\]" ||
	    atf_fail "the metrics process holds a listener's socket"
	# killed, it is restarted on the same socket, which never closed
	kill -KILL "$mpid"
	wait_for 10 metrics_restarted "$mpid" || atf_fail "not restarted"
	wait_log 'metrics 0 running' 10 || atf_fail "$(cat l4d.log)"
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/httpprobe.py" get \
	    "127.0.0.1:$mp" --out again.txt
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" \
	    --http again.txt 'l4d_listener_sessions_total{listener="web"}=3'
	# a reload keeps the socket, and says so when the file moves it
	np=$(free_ports 1)
	metrics_cfg "$lp" "$sp" "$np" "$rp" >l4d.conf
	atf_check -s exit:0 -e empty -o match:'generation 2' \
	    -o match:"warning: metrics.listen changes only with a restart; kept as it is \(127\.0\.0\.1:$mp\)" \
	    "$L4CTL" -s "$PWD/l4d.sock" reload
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/httpprobe.py" get \
	    "127.0.0.1:$mp" --out reloaded.txt
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" \
	    --http reloaded.txt l4d_config_generation=2 l4d_reloads_total=1
}

# metrics_restarted OLDPID: another metrics process runs.
metrics_restarted()
{
	_mr=$(kind_pids "$(cat l4d.pid)" metrics)
	[ -n "$_mr" ] && [ "$_mr" != "$1" ]
}
http_endpoint_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case http_hostile cleanup
http_hostile_head()
{
	atf_set descr "bad HTTP at /metrics is answered or closed: garbage, other methods and paths, oversized and slow requests, over the connection cap; the daemon goes on"
	atf_set require.user root
	atf_set timeout 120
}
http_hostile_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 3)
	lp=$1 mp=$2 rp=$3
	sp=$(free_ports 1 127.0.0.2)
	start_server s echo "127.0.0.2:$sp"
	metrics_cfg "$lp" "$sp" "$mp" "$rp" >l4d.conf
	start_l4d
	m=127.0.0.1:$mp
	mpid=$(kind_pids "$(cat l4d.pid)" metrics)
	[ -n "$mpid" ] || atf_fail "no metrics process"
	probe="$PY $TOOLS/httpprobe.py"

	atf_check -s exit:0 -o inline:"HTTP/1.1 400 Bad Request\n" -e empty \
	    $probe send "$m" --data 'garbage\r\n\r\n'
	atf_check -s exit:0 -o inline:"HTTP/1.1 400 Bad Request\n" -e empty \
	    $probe send "$m" --data '\x00\xff\x16\x03\x01\r\n\r\n'
	atf_check -s exit:0 -o inline:"HTTP/1.1 400 Bad Request\n" -e empty \
	    $probe send "$m" --data 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'
	atf_check -s exit:0 -o inline:"HTTP/1.1 405 Method Not Allowed\n" \
	    -e empty $probe send "$m" --data 'POST /metrics HTTP/1.1\r\n\r\n'
	atf_check -s exit:0 -o inline:"HTTP/1.1 404 Not Found\n" -e empty \
	    $probe send "$m" --data 'GET /metricsx HTTP/1.1\r\n\r\n'
	atf_check -s exit:0 -o inline:"HTTP/1.1 404 Not Found\n" -e empty \
	    $probe send "$m" --data 'GET /../etc/passwd HTTP/1.1\r\n\r\n'
	# oversized: a head of 64 KiB
	atf_check -s exit:0 -o inline:"HTTP/1.1 431 Request Header Fields Too Large\n" \
	    -e empty $probe send "$m" --data 'GET /metrics HTTP/1.1\r\nX: ' \
	    --repeat 1 --data "$(printf 'A%.0s' $(seq 1 65536))"
	# a client that says nothing is timed out
	atf_check -s exit:0 -o inline:"HTTP/1.1 408 Request Timeout\n" \
	    -e empty $probe send "$m" --data '' --timeout 15
	# slowloris: 16 connections fill the cap and drip bytes; the 17th
	# gets a 503; the 16 are cut at the head deadline (5 s) despite the
	# drip; then the endpoint answers again
	$probe slow "$m" --count 16 --ready slow.ready --timeout 30 \
	    >slow.out 2>&1 &
	echo $! >slow.pid
	wait_for 10 test -e slow.ready || atf_fail "slowloris did not connect"
	atf_check -s exit:0 -o inline:"HTTP/1.1 503 Service Unavailable\n" \
	    -e empty $probe send "$m" --data ''
	# the relays are not affected meanwhile
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 3 --timeout 10
	wait_for 20 not_alive "$(cat slow.pid)" || atf_fail "slowloris hangs"
	atf_check -s exit:0 -o inline:"16\n" -e empty \
	    grep -c '^HTTP/1.1 408 Request Timeout$' slow.out
	max=$(sed -n 's/^max //p' slow.out)
	awk -v m="$max" 'BEGIN { exit !(m >= 4.5 && m < 8) }' ||
	    atf_fail "the slow clients were cut after ${max}s, not ~5s"
	atf_check -s exit:0 -o empty -e empty $probe get "$m" --out ok.txt
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" \
	    --http ok.txt 'l4d_listener_sessions_total{listener="web"}=3'
	# the same process all along, and the parent logged no violation
	[ "$(kind_pids "$(cat l4d.pid)" metrics)" = "$mpid" ] ||
	    atf_fail "the metrics process was restarted"
	! log_has 'protocol violation|killed by signal|exited with' ||
	    atf_fail "$(cat l4d.log)"
}
http_hostile_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case no_metrics cleanup
no_metrics_head()
{
	atf_set descr "without metrics: there is no metrics process, and l4ctl show metrics still answers"
	atf_set require.user root
	atf_set timeout 60
}
no_metrics_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 3)
	lp=$1 mp=$2 rp=$3
	sp=$(free_ports 1 127.0.0.2)
	metrics_cfg "$lp" "$sp" "$mp" "$rp" | grep -v '^metrics:' >l4d.conf
	start_l4d
	[ -z "$(kind_pids "$(cat l4d.pid)" metrics)" ] ||
	    atf_fail "a metrics process runs without metrics:"
	[ -n "$(kind_pids "$(cat l4d.pid)" health)" ] ||
	    atf_fail "kind_pids finds nothing"
	atf_check -s exit:0 -o empty -e empty -x \
	    "'$L4CTL' -s '$PWD/l4d.sock' show metrics | $PY '$TOOLS/promcheck.py' - l4d_relays=2"
	! ss -Htln "sport = :$mp" | grep -q . ||
	    atf_fail "something listens on $mp"
}
no_metrics_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case config_errors
config_errors_head()
{
	atf_set descr "metrics: keys are checked: a listener's address is L4D-E070, an unknown key or a bad address a coded error"
	atf_set require.user root
	atf_set timeout 30
}
config_errors_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	{
		echo 'listeners:'
		echo '  - { name: web, listen: "127.0.0.1:7001", backend: pool }'
		echo 'backends:'
		echo '  - { name: pool, servers: [ { address: "127.0.0.2:7002" } ] }'
		echo 'metrics: { listen: "127.0.0.1:7001" }'
	} >c1.conf
	atf_check -s exit:1 -o empty \
	    -e match:'c1.conf:5:20: L4D-E070: metrics.listen: "127.0.0.1:7001" conflicts with listener "web"' \
	    "$L4D" -n -f c1.conf
	sed 's/listen: "127.0.0.1:7001" }$/listen: "127.0.0.1:99999", port: 1 }/' \
	    c1.conf >c2.conf
	atf_check -s exit:1 -o empty -e match:'L4D-E002: metrics: unknown key "port"' \
	    -e match:'L4D-E005: metrics.listen: bad address' "$L4D" -n -f c2.conf
	sed 's/^metrics: .*/metrics: { }/' c1.conf >c3.conf
	atf_check -s exit:1 -o empty -e match:'L4D-E006: .*metrics.*listen' \
	    "$L4D" -n -f c3.conf
	sed 's/^metrics: .*/metrics: { listen: "127.0.0.1:7003" }/' c1.conf \
	    >c4.conf
	atf_check -s exit:0 -o empty -e match:'configuration OK' \
	    "$L4D" -n -f c4.conf
}

atf_init_test_cases()
{
	atf_add_test_case show_metrics
	atf_add_test_case http_endpoint
	atf_add_test_case http_hostile
	atf_add_test_case no_metrics
	atf_add_test_case config_errors
}
