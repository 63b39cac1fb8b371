# l4d black-box tests: health checks.  Active checks (tcp, tls,
# send-expect against a real redis-server) run in the health process;
# passive ones in the relays; backups and no-server; the health process's
# confinement and restart; its cost with 500 servers; config errors.
#
# Figures the issue asks to measure are printed as "measured: ..." lines
# (kyua report --verbose shows them).

setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	CTL="$L4CTL -s $PWD/l4d.sock"
}

fail()
{
	echo "--- l4d.log" >&2
	tail -n 40 l4d.log >&2
	echo "--- l4d.log, sessions that did not end well" >&2
	grep 'access ' l4d.log | grep -v 'cause=client-closed$' | tail -n 20 >&2
	atf_fail "$1"
}

# health_is ADDR up|down: show summary says so for the server ADDR.
health_is()
{
	$CTL show summary | grep -Eq "^  server $1 .* health $2 "
}

# summary_has ERE: a line of show summary matches.
summary_has()
{
	$CTL show summary | grep -Eq -- "$1"
}

# health_running: l4d.pid has a health process.
health_running()
{
	[ -n "$(kind_pids "$(cat l4d.pid)" health)" ]
}

# now_ms: a wall clock in milliseconds.
now_ms()
{
	echo $(($(date +%s%N) / 1000000))
}

# start_monitor: l4ctl monitor into mon.out (mon.pid).
start_monitor()
{
	$CTL monitor >mon.out 2>mon.err </dev/null &
	echo $! >mon.pid
	wait_log '^monitor: generation' 10 mon.out ||
	    fail "no monitor header: $(cat mon.out mon.err)"
}

# redis NAME PORT [redis-server options]: a real redis on 127.0.0.1.
start_redis()
{
	_rn=$1
	_rp=$2
	shift 2
	redis-server --port "$_rp" --bind 127.0.0.1 --save '' \
	    --appendonly no --daemonize no "$@" >"$_rn.log" 2>&1 </dev/null &
	echo $! >"$_rn.pid"
	wait_for 10 sh -c "redis-cli -p $_rp ping 2>&1 | grep -q ." ||
	    atf_fail "redis $_rn did not start: $(cat "$_rn.log")"
}

common_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case kill_restart cleanup
kill_restart_head()
{
	atf_set descr "a killed server is down within fall x interval + timeout, avoided, back after rise checks; monitor shows both"
	atf_set require.user root
	atf_set timeout 90
}
kill_restart_body()
{
	setup
	lp=$(free_ports 1)
	set -- $(free_ports 2)
	a=$1 b=$2
	start_server a echo "127.0.0.1:$a"
	start_server b echo "127.0.0.1:$b"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    retries: 1
    servers:
      - address: "127.0.0.1:$a"
      - address: "127.0.0.1:$b"
    check:
      type: tcp
      interval: 500ms
      timeout: 200ms
      rise: 2
      fall: 3
      observe: { errors: 0 }
EOF
	} >l4d.conf
	start_l4d
	start_monitor
	wait_for 10 health_is "127.0.0.1:$a" up || fail "a never up"
	wait_for 10 health_is "127.0.0.1:$b" up || fail "b never up"

	t0=$(now_ms)
	kill -TERM "$(cat b.pid)"
	wait_for 10 log_has "server pool 127\.0\.0\.1:$b down: connect refused \(3/3\)$" ||
	    fail "b not marked down"
	t1=$(now_ms)
	dt=$((t1 - t0))
	# fall x interval + timeout = 1700 ms; the jitter (5%) and the
	# 50 ms poll get 200 ms more.
	echo "measured: down after ${dt} ms (fall 3 x interval 500 ms + timeout 200 ms = 1700 ms)"
	[ "$dt" -le 1900 ] || fail "down after $dt ms, more than 1900"
	health_is "127.0.0.1:$b" down || fail "summary does not say down"
	$CTL show summary | grep -Eq "^  server 127\.0\.0\.1:$b .*state down health down check \"connect refused\"" ||
	    fail "summary: $($CTL show summary)"

	# New sessions avoid it: none fails, none tries b.
	before=$(log_count "access .*cause=connect-refused")
	atf_check -s exit:0 -o match:'sessions [0-9]+ failures 0' -e ignore \
	    timeout 30 sh -c "(sleep 2; touch stop) & $PY $CLIENT loop --connect 127.0.0.1:$lp --parallel 4 --stop stop --timeout 20"
	[ "$(log_count "access .*cause=connect-refused")" -eq "$before" ] ||
	    fail "a session met the dead server"
	$CTL show stats | grep -Eq "^  server 127\.0\.0\.1:$b sessions 0 .*connect-failures 0" ||
	    fail "b was tried: $($CTL show stats)"

	start_server b echo "127.0.0.1:$b"
	wait_for 10 log_has "server pool 127\.0\.0\.1:$b up \(2/2\)$" ||
	    fail "b not back up"
	wait_log "^server pool 127\.0\.0\.1:$b down: connect refused \(3/3\)$" 5 mon.out ||
	    fail "monitor: no down event: $(cat mon.out)"
	wait_log "^server pool 127\.0\.0\.1:$b up \(2/2\)$" 5 mon.out ||
	    fail "monitor: no up event: $(cat mon.out)"
	$CTL -j show summary | grep -q "\"address\":\"127.0.0.1:$b\",\"weight\":1,\"backup\":false,\"state\":\"up\",\"disabled\":false,\"health\":\"up\",\"check\":\"ok\",\"state_ms\":[0-9]*,\"state_changes\":3," ||
	    fail "json: $($CTL -j show summary)"

	# disable and health compose: a disabled server that is down shows both
	atf_check -s exit:0 -o ignore -e empty $CTL server disable pool "127.0.0.1:$b"
	kill -TERM "$(cat b.pid)"
	wait_for 10 health_is "127.0.0.1:$b" down || fail "b not down"
	$CTL show summary | grep -Eq "^  server 127\.0\.0\.1:$b .*state disabled health down " ||
	    fail "disabled+down: $($CTL show summary)"
}
kill_restart_cleanup()
{
	common_cleanup
}

atf_test_case redis cleanup
redis_head()
{
	atf_set descr "send-expect: PING/+PONG to redis-server is up, -NOAUTH is down, silence is down after the timeout and delays no one"
	atf_set require.user root
	atf_set timeout 90
}
redis_body()
{
	setup
	command -v redis-server >/dev/null || atf_skip "redis-server is not installed (scripts/deps.sh)"
	lp=$(free_ports 1)
	set -- $(free_ports 3)
	good=$1 err=$2 mute=$3
	start_redis good "$good"
	start_redis err "$err" --requirepass secret
	start_server mute hold "127.0.0.1:$mute"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: kv
    listen: "127.0.0.1:$lp"
    backend: redis
backends:
  - name: redis
    servers:
      - address: "127.0.0.1:$good"
      - address: "127.0.0.1:$err"
      - address: "127.0.0.1:$mute"
    check:
      type: send-expect
      interval: 400ms
      timeout: 350ms
      rise: 1
      fall: 1
      send: 'PING\r\n'
      expect: "+PONG"
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 health_is "127.0.0.1:$good" up || fail "redis not up"
	wait_for 10 summary_has "^  server 127\.0\.0\.1:$err .*health down check \"expect: got '-NOAUTH Authentication required'\"" ||
	    fail "the -NOAUTH redis is not down: $($CTL show summary)"
	wait_for 10 summary_has "^  server 127\.0\.0\.1:$mute .*health down check \"timeout \(reply\)\"" ||
	    fail "the silent server is not down after the timeout: $($CTL show summary)"
	# Traffic goes to the good one only.
	atf_check -s exit:0 -o inline:'PONG\n' -e ignore \
	    timeout 5 redis-cli -p "$lp" ping

	# The good server's checks keep their pace beside one that times out
	# every time: count its connections over 4 s (10 intervals).
	c0=$(redis-cli -p "$good" info stats | sed -n 's/^total_connections_received:\([0-9]*\).*/\1/p')
	t0=$(now_ms)
	wait_for 10 sh -c "[ \$(( \$(date +%s%N) / 1000000 - $t0 )) -ge 4000 ]"
	c1=$(redis-cli -p "$good" info stats | sed -n 's/^total_connections_received:\([0-9]*\).*/\1/p')
	n=$((c1 - c0 - 1))
	echo "measured: $n checks of the healthy redis in 4 s at a 400 ms interval (10 due), beside a server that times out after 350 ms"
	[ "$n" -ge 9 ] || fail "only $n checks of the healthy server in 4 s"
	[ "$n" -le 12 ] || fail "$n checks of the healthy server in 4 s"
	# A regex expect against the same redis.
	sed -i "s/expect: \"+PONG\"/expect: '~^\\\\+P[O]NG'/" l4d.conf
	grep -F "expect: '~^\+P[O]NG'" l4d.conf || fail "test bug: sed"
	atf_check -s exit:0 -o match:'backend redis: changed' -e empty $CTL reload
	wait_for 10 health_is "127.0.0.1:$good" up || fail "regex: not up"
}
redis_cleanup()
{
	common_cleanup
}

atf_test_case passive cleanup
passive_head()
{
	atf_set descr "passive: a server that starts refusing is down after fall failed connects, long before the next 10 s check; clients see no failure"
	atf_set require.user root
	atf_set timeout 90
}
passive_body()
{
	setup
	lp=$(free_ports 1)
	set -- $(free_ports 2)
	a=$1 b=$2
	start_server a echo "127.0.0.1:$a"
	start_server b echo "127.0.0.1:$b"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    retries: 1
    servers:
      - address: "127.0.0.1:$a"
      - address: "127.0.0.1:$b"
    check:
      interval: 10s
      timeout: 1s
      fall: 3
      rise: 1
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 health_is "127.0.0.1:$a" up || fail "a never up"
	wait_for 10 health_is "127.0.0.1:$b" up || fail "b never up"
	$PY "$CLIENT" loop --connect "127.0.0.1:$lp" --parallel 4 --stop stop \
	    --ready loop.ready --timeout 40 >loop.out 2>loop.err &
	echo $! >loop.pid
	wait_for 10 test -e loop.ready || fail "the client loop did not start"
	t0=$(now_ms)
	kill -USR1 "$(cat b.pid)"	# b refuses new connects from now on
	wait_for 9 log_has "server pool 127\.0\.0\.1:$b down: connect failures \(relay [01]\) \(3/3\)$" ||
	    fail "b not marked down passively"
	t1=$(now_ms)
	echo "measured: passive down after $((t1 - t0)) ms (active checks every 10 s)"
	[ $((t1 - t0)) -lt 5000 ] || fail "passive down took $((t1 - t0)) ms"
	refused=$(log_count "access .*server=-.*cause=connect-refused")
	failed_over=$($CTL show stats | sed -n "s/^  server 127\.0\.0\.1:$b .*connect-failures \([0-9]*\).*/\1/p")
	echo "measured: $failed_over connects to b failed, all failed over"
	[ "${failed_over:-0}" -ge 3 ] || fail "fewer than 3 connect failures at b"
	touch stop
	wait_for 20 not_alive "$(cat loop.pid)" || fail "the loop did not stop"
	cat loop.out
	grep -Eq '^sessions [0-9]+ failures 0$' loop.out ||
	    fail "client-visible failures: $(cat loop.out loop.err)"
	[ "$refused" -eq 0 ] || fail "$refused sessions ended connect-refused"
}
passive_cleanup()
{
	common_cleanup
}

atf_test_case backup cleanup
backup_head()
{
	atf_set descr "every primary down: the backup serves; the backup down too: no-server at once (a close within 50 ms)"
	atf_set require.user root
	atf_set timeout 90
}
backup_body()
{
	setup
	lp=$(free_ports 1)
	set -- $(free_ports 3)
	p1=$1 p2=$2 bk=$3
	start_server p1 id "127.0.0.1:$p1" --id p1
	start_server p2 id "127.0.0.1:$p2" --id p2
	start_server bk id "127.0.0.1:$bk" --id backup
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
    timeouts: { connect: 5s }
backends:
  - name: pool
    retries: 2
    servers:
      - address: "127.0.0.1:$p1"
      - address: "127.0.0.1:$p2"
      - { address: "127.0.0.1:$bk", backup: true }
    check: { interval: 200ms, timeout: 100ms, rise: 1, fall: 1 }
EOF
	} >l4d.conf
	start_l4d
	for p in $p1 $p2 $bk; do
		wait_for 10 health_is "127.0.0.1:$p" up || fail "$p never up"
	done
	atf_check -s exit:0 -o not-match:backup -e ignore \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 6 --timeout 10
	kill -TERM "$(cat p1.pid)" "$(cat p2.pid)"
	wait_for 10 health_is "127.0.0.1:$p1" down || fail "p1 not down"
	wait_for 10 health_is "127.0.0.1:$p2" down || fail "p2 not down"
	atf_check -s exit:0 -o inline:'6 backup\n' -e ignore \
	    $PY "$CLIENT" ids --connect "127.0.0.1:$lp" --count 6 --timeout 10
	kill -TERM "$(cat bk.pid)"
	wait_for 10 health_is "127.0.0.1:$bk" down || fail "backup not down"
	atf_check -s exit:0 -o save:idle.out -e ignore \
	    $PY "$CLIENT" idle --connect "127.0.0.1:$lp" --min 0 --max 0.05 --timeout 5
	echo "measured: no-server close $(cat idle.out)"
	wait_for 5 log_has "access .*listener=web .*server=- .*cause=no-server$" ||
	    fail "no access line with cause=no-server"
	$CTL show stats | grep -Eq '^backend pool .* no-server [1-9]' ||
	    fail "no-server not counted: $($CTL show stats)"
}
backup_cleanup()
{
	common_cleanup
}

atf_test_case process cleanup
process_head()
{
	atf_set descr "the health process runs unprivileged and chrooted; killed, it is restarted and the states stay meanwhile"
	atf_set require.user root
	atf_set timeout 90
}
process_body()
{
	setup
	lp=$(free_ports 1)
	set -- $(free_ports 2)
	a=$1 b=$2
	start_server a echo "127.0.0.1:$a"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.1:$a"
      - address: "127.0.0.1:$b"
    check: { interval: 300ms, timeout: 200ms, rise: 1, fall: 1 }
EOF
	} >l4d.conf
	start_l4d
	hp=$(kind_pids "$(cat l4d.pid)" health)
	[ -n "$hp" ] || fail "no health process"
	echo "$hp" >health.pid
	atf_check -s exit:0 -o inline:"_l4d\n" ps -o user= -p "$hp"
	atf_check -s exit:0 -o inline:"/var/empty\n" readlink "/proc/$hp/root"
	grep -q '^Uid:.*\b0\b' "/proc/$hp/status" && fail "uid 0 left in $(grep Uid /proc/$hp/status)"
	wait_for 10 health_is "127.0.0.1:$a" up || fail "a never up"
	wait_for 10 health_is "127.0.0.1:$b" down || fail "b not down"
	changes=$(log_count "server pool ")

	kill -KILL "$hp"
	# Meanwhile: b comes alive, a dies; nobody checks, nothing changes.
	start_server b echo "127.0.0.1:$b"
	kill -TERM "$(cat a.pid)"
	health_is "127.0.0.1:$a" up || fail "a changed while the health process was down"
	health_is "127.0.0.1:$b" down || fail "b changed while the health process was down"
	wait_log "health 0 \(pid $hp\) killed by signal 9; restarting" 10 ||
	    fail "no restart logged"
	wait_for 10 health_running ||
	    fail "the health process was not restarted"
	wait_log "health 0 running, pid [0-9]+, generation 1" 10 ||
	    fail "the new health process did not say it runs"
	# Nothing changed between its death and its successor's start.
	sed -n "/health 0 (pid $hp) killed/,/health 0 running/p" l4d.log >gap.log
	cat gap.log
	[ "$(log_count "server pool " gap.log)" -eq 0 ] ||
	    fail "a state changed while the health process was down"
	[ "$(log_count "server pool ")" -ge "$changes" ] || fail "log shrank"
	# The new one goes on from the states it was given.
	wait_for 10 health_is "127.0.0.1:$b" up || fail "b not up after the restart"
	wait_for 10 health_is "127.0.0.1:$a" down || fail "a not down after the restart"
	kind_pids "$(cat l4d.pid)" health >health.pid
}
process_cleanup()
{
	common_cleanup
}

atf_test_case scale cleanup
scale_head()
{
	atf_set descr "500 servers with 1 s checks: the health process uses under 5% of a core"
	atf_set require.user root
	atf_set timeout 120
}
scale_body()
{
	setup
	lp=$(free_ports 1)
	sp=$(free_ports 1)
	start_server wide hold "0.0.0.0:$sp"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: many
backends:
  - name: many
    check: { interval: 1s, timeout: 500ms }
    servers:
EOF
		i=0
		while [ $i -lt 500 ]; do
			echo "      - address: \"127.0.$((i / 250 + 1)).$((i % 250 + 1)):$sp\""
			i=$((i + 1))
		done
	} >l4d.conf
	start_l4d
	hp=$(kind_pids "$(cat l4d.pid)" health)
	[ -n "$hp" ] || fail "no health process"
	wait_for 20 sh -c "[ \$($CTL show summary | grep -c ' health up ') -eq 500 ]" ||
	    fail "not all 500 up: $($CTL show summary | grep -c ' health up ')"
	hz=$(getconf CLK_TCK)
	t0=$(now_ms)
	k0=$(cpu_ticks "$hp")
	wait_for 20 sh -c "[ \$(( \$(date +%s%N) / 1000000 - $t0 )) -ge 10000 ]"
	k1=$(cpu_ticks "$hp")
	t1=$(now_ms)
	pct=$(( (k1 - k0) * 100000 / hz / (t1 - t0) ))
	echo "measured: health process $((k1 - k0)) ticks ($hz/s) in $((t1 - t0)) ms: ${pct}% of a core (500 servers, 1 s checks)"
	[ "$pct" -lt 5 ] || fail "the health process used ${pct}% of a core"
	[ "$($CTL show summary | grep -c ' health up ')" -eq 500 ] ||
	    fail "a server went down"
}
scale_cleanup()
{
	common_cleanup
}

atf_test_case reload cleanup
reload_head()
{
	atf_set descr "a reload keeps the state of unchanged servers; a new server is up after its first check; a changed check starts over"
	atf_set require.user root
	atf_set timeout 90
}
reload_body()
{
	setup
	lp=$(free_ports 1)
	set -- $(free_ports 3)
	a=$1 b=$2 c=$3
	start_server a echo "127.0.0.1:$a"
	start_server c echo "127.0.0.1:$c"
	conf()
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.1:$a"
      - address: "127.0.0.1:$b"
$1
    check: { interval: $2, timeout: 200ms, rise: 2, fall: 1 }
EOF
	}
	conf "" 300ms >l4d.conf
	start_l4d
	wait_for 10 health_is "127.0.0.1:$a" up || fail "a never up"
	wait_for 10 summary_has "^  server 127\.0\.0\.1:$b .*health down check \"connect refused\"" ||
	    fail "b not checked down: $($CTL show summary)"
	summary_has "^  server 127\.0\.0\.1:$a .* changes 1 " || fail "a: $($CTL show summary)"

	# c is added: it starts down, pending, and is up after one check.
	conf "      - address: \"127.0.0.1:$c\"" 300ms >l4d.conf
	atf_check -s exit:0 -o match:'backend pool: changed' -e empty $CTL reload
	$CTL show summary
	summary_has "^  server 127\.0\.0\.1:$a .*state up health up check \"ok\" .* changes 1 " ||
	    fail "a lost its state: $($CTL show summary)"
	summary_has "^  server 127\.0\.0\.1:$b .*state down health down check \"connect refused\"" ||
	    fail "b lost its state: $($CTL show summary)"
	wait_for 10 log_has "server pool 127\.0\.0\.1:$c up \(1/1\)$" ||
	    fail "c not up after its first check"
	[ "$(log_count "server pool 127\.0\.0\.1:$a up")" -eq 1 ] ||
	    fail "a came up again after the reload"
	# Traffic reaches c: the relays got its state with generation 2.
	wait_for 10 sh -c "$PY $CLIENT ping --connect 127.0.0.1:$lp --count 6 --timeout 5 && grep -q 'server=127.0.0.1:$c ' l4d.log" ||
	    fail "no session reached c"

	# The check changes: every server starts over.
	conf "      - address: \"127.0.0.1:$c\"" 400ms >l4d.conf
	atf_check -s exit:0 -o match:'backend pool: changed' -e empty $CTL reload
	wait_for 10 sh -c "[ \$(grep -c 'server pool 127.0.0.1:$a up (1/1)' l4d.log) -eq 2 ]" ||
	    fail "a did not start over with the new check"
}
reload_cleanup()
{
	common_cleanup
}

# check_error CODE: the configuration on stdin, with one line marked "#<",
# is rejected with CODE at that line.
check_error()
{
	cat >cfg.yaml
	line=$(grep -n '#<' cfg.yaml | cut -d: -f1)
	echo "--- expecting L4D-$1 at line $line of:"
	cat -n cfg.yaml
	atf_check -s exit:1 -o empty \
	    -e match:"cfg\.yaml:$line:[0-9]+: L4D-$1: [^ ].* \(hint: .+\)$" \
	    "$L4D" -n -f cfg.yaml
}

# backend_with CHECK-LINES: a valid file but for its check: block.
backend_with()
{
	cat <<EOF
user: _l4d
chroot: /var/empty
relays: 1
control: $PWD/l4d.sock
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
    check:
EOF
	sed 's/^/      /'
}

atf_test_case config cleanup
config_head()
{
	atf_set descr "check: errors E035-E041 with line and column; a valid check passes"
	atf_set require.user root
	atf_set timeout 30
}
config_body()
{
	setup
	printf 'type: send-expect  #<\nexpect: "+PONG"\n' | backend_with |
	    check_error E035
	printf 'type: send-expect  #<\nsend: "PING"\n' | backend_with |
	    check_error E035
	printf 'type: send-expect\nsend: "PING"\nexpect: "~(+PONG"  #<\n' |
	    backend_with | check_error E036
	printf 'rise: 0  #<\n' | backend_with | check_error E037
	printf 'fall: 101  #<\n' | backend_with | check_error E037
	printf 'observe: { errors: 101 }  #<\n' | backend_with | check_error E037
	printf 'interval: 1s\ntimeout: 2s  #<\n' | backend_with | check_error E038
	printf 'interval: 50ms  #<\n' | backend_with | check_error E039
	printf "type: send-expect\nsend: 'PING\\\\q'  #<\nexpect: x\n" |
	    backend_with | check_error E040
	printf "type: send-expect\nsend: 'A\\\\x4'  #<\nexpect: x\n" |
	    backend_with | check_error E040
	printf 'type: tcp\nsend: "PING"  #<\n' | backend_with | check_error E041
	printf 'typ: tcp  #<\n' | backend_with | check_error E002
	printf 'type: http  #<\n' | backend_with | check_error E014
	printf 'port: 70000  #<\n' | backend_with | check_error E013
	printf "type: send-expect\nsend: 'PING\\\\r\\\\n\\\\x00'\nexpect: '+PONG'\ninterval: 100ms\nport: 6380\nobserve: { errors: 0 }\n" |
	    backend_with >cfg.yaml
	cat cfg.yaml
	atf_check -s exit:0 -o empty -e match:'configuration OK' \
	    "$L4D" -n -f cfg.yaml
}
config_cleanup()
{
	common_cleanup
}

atf_test_case tls cleanup
tls_head()
{
	atf_set descr "tls checks: a TLS server is up, a plain one down; verify uses the backend's CA"
	atf_set require.user root
	atf_set timeout 90
}
tls_body()
{
	setup
	mkdir pki
	{ sh "$TOOLS/mkcerts.sh" ca pki && sh "$TOOLS/mkcerts.sh" leaf pki db.test &&
	    sh "$TOOLS/mkcerts.sh" self pki other.test; } >mkcerts.log 2>&1 ||
	    atf_fail "mkcerts.sh failed: $(cat mkcerts.log)"
	set -- $(free_ports 5)
	lp=$1 t=$2 p=$3 s=$4 lp2=$5
	start_server t echo "127.0.0.1:$t" --tls-cert pki/db.test.crt --tls-key pki/db.test.key
	start_server p echo "127.0.0.1:$p"
	start_server s echo "127.0.0.2:$s" --tls-cert pki/other.test.crt --tls-key pki/other.test.key
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: verified
  - name: web2
    listen: "127.0.0.1:$lp2"
    backend: plain
backends:
  - name: verified
    servers:
      - address: "127.0.0.1:$t"
      - address: "127.0.0.1:$p"
      - address: "127.0.0.2:$s"
    tls: { verify: true, ca: $PWD/pki/ca.crt, server_name: db.test }
    check: { type: tls, interval: 300ms, timeout: 250ms, rise: 1, fall: 1 }
  - name: plain
    servers:
      - address: "127.0.0.2:$s"
    check: { type: tls, interval: 300ms, timeout: 250ms, rise: 1, fall: 1 }
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 health_is "127.0.0.1:$t" up || fail "the TLS server is not up: $($CTL show summary)"
	wait_for 10 summary_has "^  server 127\.0\.0\.1:$p .*health down check \"(tls: |timeout)" ||
	    fail "the plain server is not down: $($CTL show summary)"
	# verify: a certificate of another CA fails; without tls: the same
	# server passes a plain handshake.
	wait_for 10 sh -c "$CTL show summary | sed -n '/^backend verified/,/^backend plain/p' | grep -Eq '^  server 127\.0\.0\.2:$s .*health down check \"tls: '" ||
	    fail "an unverified certificate passed: $($CTL show summary)"
	wait_for 10 sh -c "$CTL show summary | sed -n '/^backend plain/,\$p' | grep -Eq '^  server 127\.0\.0\.2:$s .*health up '" ||
	    fail "a plain handshake failed: $($CTL show summary)"
}
tls_cleanup()
{
	common_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case config
	atf_add_test_case kill_restart
	atf_add_test_case redis
	atf_add_test_case passive
	atf_add_test_case backup
	atf_add_test_case process
	atf_add_test_case reload
	atf_add_test_case tls
	atf_add_test_case scale
}
