# The syscall sandbox of the children: every child runs under its
# filter; a child that makes a forbidden call dies of SIGSYS, the parent
# logs its role and the call, and restarts it.  The whole suite runs
# with the sandbox on, which is what shows the lists are complete.

# sandbox_cfg LISTENER_PORT SERVER_PORT METRICS_PORT: every kind of
# child: relays, the TLS engine, health (with a check), metrics.
sandbox_cfg()
{
	cfg_head 2 true
	cat <<EOF2
metrics: { listen: "127.0.0.1:$3" }
listeners:
  - { name: web, listen: "127.0.0.1:$1", backend: pool }
backends:
  - name: pool
    check: { type: tcp, interval: 1s, timeout: 500ms }
    servers:
      - { address: "127.0.0.2:$2" }
EOF2
}

# The number of acct(2) on this machine, from the kernel's headers.
acct_nr()
{
	printf '#include <sys/syscall.h>\nSYS_acct\n' | cc -E -P - | tail -1
}

atf_test_case confined cleanup
confined_head()
{
	atf_set descr "every child runs with a seccomp filter and no_new_privs; the parent does not"
	atf_set require.user root
	atf_set timeout 60
}
confined_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 2)
	lp=$1 mp=$2
	sp=$(free_ports 1 127.0.0.2)
	start_server s echo "127.0.0.2:$sp"
	sandbox_cfg "$lp" "$sp" "$mp" >l4d.conf
	start_l4d
	parent=$(cat l4d.pid)
	for kind in relay tls health metrics; do
		pids=$(kind_pids "$parent" "$kind")
		[ -n "$pids" ] || atf_fail "no $kind process"
		for p in $pids; do
			grep -q '^Seccomp:	2$' "/proc/$p/status" ||
			    atf_fail "$kind $p: $(grep Seccomp "/proc/$p/status")"
			grep -q '^NoNewPrivs:	1$' "/proc/$p/status" ||
			    atf_fail "$kind $p has no no_new_privs"
		done
	done
	grep -q '^Seccomp:	0$' "/proc/$parent/status" ||
	    atf_fail "the parent is filtered"
	# and they work under it, the check first (rise 2 before traffic)
	wait_for 10 summary_has_up "$sp" || atf_fail "the check never ran"
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 5 --timeout 10
	atf_check -s exit:0 -o empty -e empty \
	    $PY "$TOOLS/httpprobe.py" get "127.0.0.1:$mp" --out m.txt
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" \
	    --http m.txt 'l4d_listener_sessions_total{listener="web"}=5'
	! log_has 'SIGSYS|killed by signal|exited with' ||
	    atf_fail "$(cat l4d.log)"
}
confined_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# debug_kind_running PARENT TITLE: a child of PARENT is "l4d-debug: TITLE".
debug_kind_running()
{
	for _dk in $(pgrep -P "$1"); do
		tr '\0' ' ' <"/proc/$_dk/cmdline" 2>/dev/null |
		    grep -q "^l4d-debug: $2 " && return 0
	done
	return 1
}

summary_has_up()
{
	"$L4CTL" -s "$PWD/l4d.sock" show summary |
	    grep -Eq "server 127\.0\.0\.2:$1 .*health up check \"ok\""
}

atf_test_case network cleanup
network_head()
{
	atf_set descr "the TLS engine and the metrics process cannot open an AF_INET socket; relays and health can"
	atf_set require.user root
	atf_set timeout 60
}
network_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	L4D=$TOP/usr.sbin/l4d/l4d-debug
	[ -x "$L4D" ] || atf_fail "$L4D is not built (make regress)"
	set -- $(free_ports 2)
	lp=$1 mp=$2
	sp=$(free_ports 1 127.0.0.2)
	start_server s echo "127.0.0.2:$sp"
	sandbox_cfg "$lp" "$sp" "$mp" >l4d.conf
	L4D_DEBUG_SOCKET=relay,tls,health,metrics start_l4d
	for kind in tls metrics; do
		log_has "debug: $kind: socket\\(AF_INET\\): Permission denied" ||
		    atf_fail "$kind: $(grep debug: l4d.log)"
	done
	atf_check -s exit:0 -o inline:"2\n" -e empty \
	    grep -c 'debug: relay: socket(AF_INET): ok' l4d.log
	log_has 'debug: health: socket\(AF_INET\): ok' ||
	    atf_fail "health: $(grep debug: l4d.log)"
	! log_has 'SIGSYS' || atf_fail "$(cat l4d.log)"
}
network_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case forbidden cleanup
forbidden_head()
{
	atf_set descr "a child that makes a forbidden call (the test build's L4D_DEBUG_FORBIDDEN) dies of SIGSYS; the parent logs role and call number and restarts it"
	atf_set require.user root
	atf_set timeout 60
}
forbidden_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	L4D=$TOP/usr.sbin/l4d/l4d-debug
	[ -x "$L4D" ] || atf_fail "$L4D is not built (make regress)"
	nr=$(acct_nr)
	expr "$nr" : '[0-9][0-9]*$' >/dev/null || atf_fail "SYS_acct: $nr"
	set -- $(free_ports 2)
	lp=$1 mp=$2
	sp=$(free_ports 1 127.0.0.2)
	start_server s echo "127.0.0.2:$sp"
	sandbox_cfg "$lp" "$sp" "$mp" >l4d.conf
	L4D_DEBUG_FORBIDDEN=relay,tls,health,metrics start_l4d
	for kind in "relay 0" "relay 1" "tls 0" "health 0" "metrics 0"; do
		log_has "^parent: $kind \(pid [0-9]+\) killed by signal 31 \(SIGSYS\): sandbox: forbidden system call $nr \([a-z0-9_]+\); restarting" ||
		    atf_fail "no SIGSYS of $kind 0 in the log: $(cat l4d.log)"
	done
	atf_check -s exit:0 -o inline:"5\n" -e empty \
	    grep -c 'debug: [a-z]*: calling acct(2)' l4d.log
	! log_has 'acct\(2\) returned' || atf_fail "a child was not filtered"
	# restarted once each, without the variable, and working
	atf_check -s exit:0 -o inline:"5\n" -e empty \
	    grep -c 'SIGSYS' l4d.log
	wait_for 10 summary_has_up "$sp" || atf_fail "the check never ran"
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 3 --timeout 10
	atf_check -s exit:0 -o empty -e empty \
	    $PY "$TOOLS/httpprobe.py" get "127.0.0.1:$mp" --out m.txt
	atf_check -s exit:0 -o empty -e empty $PY "$TOOLS/promcheck.py" \
	    --http m.txt 'l4d_listener_sessions_total{listener="web"}=3'
	# (the test build's titles say l4d-debug)
	for kind in "relay 0" "relay 1" "tls 0" health metrics; do
		debug_kind_running "$(cat l4d.pid)" "$kind" ||
		    atf_fail "no $kind running"
	done
}
forbidden_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	# the kills this case caused on purpose are no finding
	[ -f l4d.log ] && mv l4d.log forbidden.txt
	l4d_cleanup
}

atf_test_case production_ignores cleanup
production_ignores_head()
{
	atf_set descr "the installed daemon has no such hook: L4D_DEBUG_FORBIDDEN does nothing there"
	atf_set require.user root
	atf_set timeout 60
}
production_ignores_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	set -- $(free_ports 2)
	lp=$1 mp=$2
	sp=$(free_ports 1 127.0.0.2)
	start_server s echo "127.0.0.2:$sp"
	sandbox_cfg "$lp" "$sp" "$mp" >l4d.conf
	L4D_DEBUG_FORBIDDEN=relay,tls,health,metrics start_l4d
	wait_for 10 summary_has_up "$sp" || atf_fail "the check never ran"
	atf_check -s exit:0 -o ignore -e empty \
	    $PY "$CLIENT" ping --connect "127.0.0.1:$lp" --count 3 --timeout 10
	atf_check -s exit:1 -o empty -e empty grep -E 'SIGSYS|debug:' l4d.log
	atf_check -s exit:1 -o inline:"0\n" -e empty \
	    grep -c L4D_DEBUG_FORBIDDEN "$L4D"
}
production_ignores_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case confined
	atf_add_test_case network
	atf_add_test_case forbidden
	atf_add_test_case production_ignores
}
