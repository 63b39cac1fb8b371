# Control plane black-box tests: show sessions / stats, kill, log,
# monitor and garbage on the control socket.  (show summary and a
# missing socket are in t_l4ctl.)

# fail MESSAGE: atf_fail with the message on one line (atf wants one).
fail()
{
	atf_fail "$(printf '%s' "$*" | tr '\n' '|')"
}

ctl()
{
	"$L4CTL" -s "$PWD/l4d.sock" "$@"
}

# ctl_setup RELAYS: helpers, binaries, an echo server on 127.0.0.6 and
# l4d with one listener "web" on 127.0.0.1 -> backend "pool".  Sets LP,
# SP and CTL (l4ctl with the socket, for atf_check).
ctl_setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"
	CTL="$L4CTL -s $PWD/l4d.sock"
	LP=$(free_ports 1)
	SP=$(free_ports 1 127.0.0.6)
	start_server echo echo "127.0.0.6:$SP"
	{
		cfg_head "$1" true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$LP"
    backend: pool
backends:
  - name: pool
    servers: [ { address: "127.0.0.6:$SP" } ]
EOF
	} >l4d.conf
	start_l4d
}

# active_is N: show stats says the listener has N active sessions.
active_is()
{
	ctl show stats | grep -Eq "^listener web sessions [0-9]+ active $1 "
}

# sessions_match REPORT: show sessions -j lists exactly the sessions of
# a "client.py keep" report, with their byte counts.
sessions_match()
{
	ctl -j show sessions >sessions.json || return 1
	$PY - sessions.json "$1" "127.0.0.6:$SP" <<'EOF'
import json, sys

doc = json.load(open(sys.argv[1]))
want = {r["client"]: r for r in json.load(open(sys.argv[2]))}
got = {s["client"]: s for s in doc["sessions"]}
errs = []
if set(got) != set(want):
    errs.append("clients %s, expected %s" % (sorted(got), sorted(want)))
for c, r in want.items():
    s = got.get(c)
    if s is None:
        continue
    if (s["bytes_in"], s["bytes_out"]) != (r["sent"], r["received"]):
        errs.append("%s: in/out %d/%d, expected %d/%d" %
                    (c, s["bytes_in"], s["bytes_out"], r["sent"],
                     r["received"]))
    if s["listener"] != "web" or s["backend"] != "pool" or \
            s["server"] != sys.argv[3] or s["generation"] != 1:
        errs.append("%s: %r" % (c, s))
if doc["generation"] != 1 or doc["answered"] != 2:
    errs.append("generation %r answered %r" % (doc["generation"],
                                               doc["answered"]))
if errs:
    sys.exit("; ".join(errs))
EOF
}

atf_test_case show_sessions cleanup
show_sessions_head()
{
	atf_set descr "show sessions lists exactly the open sessions, from several sources, across 2 relays; the JSON byte counts match"
	atf_set require.user root
	atf_set timeout 60
}
show_sessions_body()
{
	ctl_setup 2
	atf_check -s exit:0 -e empty \
	    -o match:'^ID +LISTENER +CLIENT +SERVER +AGE +IDLE +IN +OUT +SNI +ALPN +TLS$' \
	    -o not-match:'^[0-9]' $CTL show sessions

	# 3 sessions from each of 4 source addresses; session k sends
	# 100 + k bytes and gets them back.
	$PY "$CLIENT" keep --connect "127.0.0.1:$LP" \
	    --bind 127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5 --count 3 \
	    --size 100 --report keep.json --ready keep.ready --timeout 60 \
	    >keep.out 2>&1 </dev/null &
	echo $! >keep.pid
	wait_for 10 test -e keep.ready || fail "keep: $(cat keep.out)"

	# The relays count a byte after passing it on: poll until they match.
	if ! wait_for 10 sessions_match keep.json; then
		sessions_match keep.json
		fail "show sessions -j does not match: $(cat sessions.json) sent: $(cat keep.json)"
	fi
	atf_check -s exit:0 -o ignore -e empty $PY -m json.tool sessions.json
	# Both relays hold some of the 12 (SO_REUSEPORT spreads them).
	grep -q '"id":"0-' sessions.json || fail "no session on relay 0: $(cat sessions.json)"
	grep -q '"id":"1-' sessions.json || fail "no session on relay 1: $(cat sessions.json)"

	# Text: one line per session, with the client addresses.
	atf_check -s exit:0 -e empty -o save:sessions.txt $CTL show sessions
	[ "$(grep -Ec '^[0-9]+-[0-9]+ +web +127\.0\.0\.[2-5]:[0-9]+ +127\.0\.0\.6:'"$SP"' ' sessions.txt)" -eq 12 ] ||
	    fail "expected 12 session lines: $(cat sessions.txt)"
	[ "$(wc -l <sessions.txt)" -eq 13 ] || fail "$(cat sessions.txt)"
	for a in 2 3 4 5; do
		[ "$(grep -c " 127\.0\.0\.$a:" sessions.txt)" -eq 3 ] ||
		    fail "expected 3 sessions from 127.0.0.$a: $(cat sessions.txt)"
	done
	$PY - keep.json sessions.txt <<'EOF' || fail "text bytes differ: $(cat sessions.txt)"
import json, sys
want = {r["client"]: r for r in json.load(open(sys.argv[1]))}
for line in open(sys.argv[2]).readlines()[1:]:
    f = line.split()
    r = want[f[2]]
    if (int(f[6]), int(f[7])) != (r["sent"], r["received"]):
        sys.exit("%s: %s %s" % (f[2], f[6], f[7]))
EOF

	# They end: the list empties.
	kill -TERM "$(cat keep.pid)"
	wait_for 10 active_is 0 || fail "sessions did not end: $(ctl show stats)"
	atf_check -s exit:0 -e empty -o match:'"sessions":\[\]' \
	    $CTL -j show sessions
	atf_check -s exit:0 -e empty -o not-match:'^[0-9]' $CTL show sessions
}
show_sessions_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case show_stats cleanup
show_stats_head()
{
	atf_set descr "show stats: N finished sessions are counted with their cause and bytes, text and JSON"
	atf_set require.user root
	atf_set timeout 60
}
show_stats_body()
{
	ctl_setup 2
	atf_check -s exit:0 -e empty -o match:'^generation 1, 2 relays$' \
	    -o match:'^listener web sessions 0 active 0 in 0 out 0 connect-failures 0$' \
	    -o match:'^backend pool sessions 0 active 0 in 0 out 0 connect-failures 0$' \
	    -o match:"^  server 127\.0\.0\.6:$SP sessions 0 active 0 in 0 out 0 connect-failures 0$" \
	    $CTL show stats

	# 7 pings of 24 bytes each ("ping I <16 hex>\n"), echoed.
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$LP" --count 7 --timeout 10
	wait_for 10 active_is 0 || fail "sessions still active: $(ctl show stats)"
	line='sessions 7 active 0 in 168 out 168 connect-failures 0 client-closed 7'
	stats_ok()
	{
		ctl show stats >stats.txt &&
		grep -qx "listener web $line" stats.txt &&
		grep -qx "backend pool $line" stats.txt &&
		grep -qx "  server 127\.0\.0\.6:$SP $line" stats.txt
	}
	wait_for 5 stats_ok || fail "show stats: $(cat stats.txt)"

	atf_check -s exit:0 -o save:stats.json -e empty $CTL -j show stats
	atf_check -s exit:0 -o ignore -e empty $PY -m json.tool stats.json
	$PY - stats.json <<'EOF' || fail "show stats -j: $(cat stats.json)"
import json, sys
d = json.load(open(sys.argv[1]))
want = {"total": 7, "active": 0, "bytes_in": 168, "bytes_out": 168,
        "connect_failures": 0, "causes": {"client-closed": 7}}
objs = [d["listeners"][0], d["backends"][0], d["backends"][0]["servers"][0]]
for o in objs:
    for k, v in want.items():
        if o[k] != v:
            sys.exit("%s: %s is %r, expected %r" % (o.get("name",
                     o.get("address")), k, o[k], v))
if d["generation"] != 1:
    sys.exit("generation %r" % d["generation"])
EOF
}
show_stats_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case kill cleanup
kill_head()
{
	atf_set descr "l4ctl kill closes one session (cause killed); an unknown or malformed id is an error"
	atf_set require.user root
	atf_set timeout 60
}
kill_body()
{
	ctl_setup 2
	# Two sessions: one is killed, the other must survive.
	$PY "$CLIENT" keep --connect "127.0.0.1:$LP" --bind 127.0.0.2 \
	    --size 10 --report victim.json --ready victim.ready --go victim.go \
	    --after close --max 2 --timeout 30 >victim.out 2>&1 </dev/null &
	echo $! >victim.pid
	$PY "$CLIENT" keep --connect "127.0.0.1:$LP" --bind 127.0.0.3 \
	    --size 10 --ready other.ready --go other.go --after echo \
	    --timeout 30 >other.out 2>&1 </dev/null &
	echo $! >other.pid
	wait_for 10 test -e victim.ready || fail "victim: $(cat victim.out)"
	wait_for 10 test -e other.ready || fail "other: $(cat other.out)"
	wait_for 10 active_is 2 || fail "not 2 sessions: $(ctl show stats)"

	id=$(ctl show sessions | awk '$3 ~ /^127\.0\.0\.2:/ { print $1 }')
	echo "$id" | grep -Eq '^[01]-[0-9]+$' ||
	    fail "no session id for 127.0.0.2: $(ctl show sessions)"
	atf_check -s exit:0 -e empty -o inline:"killed $id\n" $CTL kill "$id"
	touch victim.go
	wait_for 10 not_alive "$(cat victim.pid)" || fail "victim hangs"
	wait "$(cat victim.pid)" || fail "victim not closed: $(cat victim.out)"
	wait_log "access id=$id listener=web client=127\.0\.0\.2:.* cause=killed" 5 ||
	    fail "no access line with cause=killed: $(grep access l4d.log)"

	# Again: it is gone.
	atf_check -s exit:1 -e empty -o inline:"no session $id\n" $CTL kill "$id"
	atf_check -s exit:1 -e empty -o inline:"no session 0-999999\n" \
	    $CTL kill 0-999999
	atf_check -s exit:1 -e empty -o inline:"no session 1-999999\n" \
	    $CTL kill 1-999999
	for bad in abc 0- -1 0-0 0-x 1-2-3 99999-1 '0-99999999999999999999' ''; do
		atf_check -s exit:1 -e ignore -o not-match:'^killed' \
		    $CTL kill "$bad"
	done
	# A relay that does not exist (2 relays: 0 and 1).
	atf_check -s exit:1 -e empty -o match:'relay' $CTL kill 7-1

	# The other session was not touched.
	touch other.go
	wait_for 10 not_alive "$(cat other.pid)" || fail "other hangs"
	wait "$(cat other.pid)" || fail "other session: $(cat other.out)"
	[ "$(log_count 'cause=killed')" -eq 1 ] ||
	    fail "expected one killed session: $(grep access l4d.log)"
}
kill_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case log_level cleanup
log_level_head()
{
	atf_set descr "l4ctl log verbose turns on debug lines, log brief turns them off"
	atf_set require.user root
	atf_set timeout 60
}
log_level_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"
	CTL="$L4CTL -s $PWD/l4d.sock"
	lp=$(free_ports 1)
	dead=$(free_ports 1 127.0.0.6)	# nobody listens there
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: web
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    retries: 0
    servers: [ { address: "127.0.0.6:$dead" } ]
EOF
	} >l4d.conf
	start_l4d
	dbg='relay\[0\]: session .*: connect '
	try()
	{
		_tn=$(log_count 'cause=connect-refused')
		$PY "$CLIENT" ping --connect "127.0.0.1:$lp" --timeout 5 \
		    >/dev/null 2>&1
		wait_for 5 log_count_is $((_tn + 1)) 'cause=connect-refused' ||
		    fail "no connect-refused access line: $(cat l4d.log)"
	}
	try
	log_has "$dbg" && fail "debug line at level info: $(cat l4d.log)"
	atf_check -s exit:0 -e empty -o inline:"log verbose\n" $CTL log verbose
	try
	wait_log "$dbg" 5 || fail "no debug line after log verbose: $(cat l4d.log)"
	atf_check -s exit:0 -e empty -o inline:"log brief\n" $CTL log brief
	n=$(log_count "$dbg")
	try
	[ "$(log_count "$dbg")" -eq "$n" ] ||
	    fail "debug lines after log brief: $(cat l4d.log)"
}
log_level_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case monitor cleanup
monitor_head()
{
	atf_set descr "l4ctl monitor streams reloads, failed reloads and relay restarts"
	atf_set require.user root
	atf_set timeout 60
}
monitor_body()
{
	ctl_setup 2
	"$L4CTL" -s "$PWD/l4d.sock" monitor >mon.out 2>mon.err </dev/null &
	echo $! >mon.pid
	wait_log '^monitor: generation 1, 2 relays$' 10 mon.out ||
	    fail "no monitor header: $(cat mon.out mon.err)"

	atf_check -s exit:0 -e empty -o ignore $CTL reload
	wait_log "^reload: generation 2 from (.*/)?l4d\.conf$" 10 mon.out ||
	    fail "no reload event: $(cat mon.out)"
	printf 'relays: [\n' >broken.conf
	atf_check -s exit:1 -e empty -o ignore $CTL reload -f broken.conf
	wait_log "^reload of $PWD/broken\.conf failed; generation 2 kept$" 10 mon.out ||
	    fail "no failed reload event: $(cat mon.out)"

	victim=$(head -1 relays.pid)
	[ -n "$victim" ] || fail "no relay pid"
	kill -KILL "$victim"
	wait_log "^relay [01] \(pid $victim\) killed by signal 9; restarting$" 10 mon.out ||
	    fail "no relay death event: $(cat mon.out)"
	inst=$(sed -n "s/^relay \([01]\) (pid $victim) killed.*/\1/p" mon.out)
	wait_log "^relay $inst running, pid [0-9]+, generation 2$" 10 mon.out ||
	    fail "no relay restart event: $(cat mon.out)"

	# The monitor is still running (it streams until interrupted).
	alive "$(cat mon.pid)" || fail "the monitor exited: $(cat mon.out mon.err)"
	kill -TERM "$(cat mon.pid)"
	wait_for 10 not_alive "$(cat mon.pid)" || fail "the monitor did not exit"
	# The daemon does not mind the monitor going away.
	atf_check -s exit:0 -e empty -o match:'^generation 2, 2 relays$' \
	    $CTL show summary
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$LP" --count 3 --timeout 10
}
monitor_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case monitor_unbuffered cleanup
monitor_unbuffered_head()
{
	atf_set descr "l4ctl monitor writing to a file: every event line is there as soon as it happens"
	atf_set require.user root
	atf_set timeout 60
}
monitor_unbuffered_body()
{
	ctl_setup 1
	"$L4CTL" -s "$PWD/l4d.sock" monitor >mon.out 2>mon.err </dev/null &
	echo $! >mon.pid
	wait_log '^monitor: generation 1, 1 relays$' 5 mon.out ||
	    fail "no monitor header within 5 s: $(cat mon.out mon.err)"
	atf_check -s exit:0 -e empty -o ignore $CTL reload
	wait_log "^reload: generation 2 from " 5 mon.out ||
	    fail "no reload event within 5 s: $(cat mon.out)"
}
monitor_unbuffered_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# enum_value NAME: the value of NAME in l4d.h's enum imsg_type.
enum_value()
{
	$PY - "$TOP/usr.sbin/l4d/l4d.h" "$1" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
body = re.search(r"enum imsg_type \{(.*?)\};", src, re.S).group(1)
body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
v = -1
for item in body.split(","):
    item = item.strip()
    if not item:
        continue
    name, _, val = item.partition("=")
    v = int(val, 0) if val.strip() else v + 1
    if name.strip() == sys.argv[2]:
        print(v)
        sys.exit(0)
sys.exit("%s not found" % sys.argv[2])
EOF
}

atf_test_case garbage cleanup
garbage_head()
{
	atf_set descr "1000 garbage and truncated control requests, several in parallel: the daemon keeps answering, no process dies"
	atf_set require.user root
	atf_set timeout 90
}
garbage_body()
{
	ctl_setup 2
	[ "$(stat -c %a l4d.sock)" = 660 ] ||
	    fail "control socket mode $(stat -c %a l4d.sock), expected 660"
	treq=$(enum_value IMSG_CTL_REQUEST) || fail "IMSG_CTL_REQUEST"
	cmd=$(sed -n 's/^#define CTL_CMD_SHOW_SUMMARY[[:space:]]*\([0-9]*\).*/\1/p' \
	    "$TOP/usr.sbin/l4d/l4d.h")
	[ -n "$cmd" ] || fail "no CTL_CMD_SHOW_SUMMARY in l4d.h"
	FUZZ="$PY $TOOLS/ctlfuzz.py --socket $PWD/l4d.sock --type-request $treq"

	# The frame layout of the tool is the daemon's: a good request works.
	atf_check -s exit:0 -e empty -o match:'^generation 1, 2 relays$' \
	    -o match:'^listener web ' -o match:'^status 0$' \
	    $FUZZ --probe "$cmd"
	atf_check -s exit:0 -e empty -o match:'unknown command' \
	    -o match:'^status 1$' $FUZZ --probe 999

	parent=$(cat l4d.pid)
	cp relays.pid relays.before
	atf_check -s exit:0 -e empty -o match:'^sent [0-9]+ cases$' \
	    $FUZZ --count 1000 --parallel 6 --seed "$$"

	atf_check -s exit:0 -e empty -o match:'^generation 1, 2 relays$' \
	    -o match:"^listener web 127\.0\.0\.1:$LP backend pool " \
	    -o match:"^  server 127\.0\.0\.6:$SP .*state up" \
	    $CTL show summary
	alive "$parent" || fail "the parent died"
	relay_pids "$parent" >relays.after
	cmp -s relays.before relays.after ||
	    fail "relays changed: $(cat relays.before) -> $(cat relays.after)"
	log_has 'restarting|fatal' && fail "$(grep -E 'restarting|fatal' l4d.log)"
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$LP" --count 3 --timeout 10
	# A second round with l4ctl requests in between.
	$FUZZ --count 300 --parallel 4 --seed 7 >fuzz2.out 2>&1 &
	echo $! >fuzz2.pid
	i=0
	while [ $i -lt 10 ]; do
		atf_check -s exit:0 -e empty -o match:'^generation 1, ' \
		    $CTL show stats
		i=$((i + 1))
	done
	wait_for 60 not_alive "$(cat fuzz2.pid)" || fail "fuzz round 2 hangs"
	wait "$(cat fuzz2.pid)" || fail "fuzz round 2: $(cat fuzz2.out)"
	atf_check -s exit:0 -e empty -o match:'^generation 1, 2 relays$' \
	    $CTL show summary
	alive "$parent" || fail "the parent died"
}
garbage_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

. "$(atf_get_srcdir)/tools/variants.sh"

sockmap_variants show_sessions show_stats kill

atf_init_test_cases()
{
	atf_add_test_case show_sessions
	atf_add_test_case show_stats
	atf_add_test_case kill
	atf_add_test_case log_level
	atf_add_test_case monitor
	atf_add_test_case monitor_unbuffered
	atf_add_test_case garbage
	atf_add_test_case show_sessions_sockmap
	atf_add_test_case show_stats_sockmap
	atf_add_test_case kill_sockmap
}
