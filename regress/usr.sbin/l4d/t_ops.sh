# Operations black-box tests: make install / uninstall into a DESTDIR,
# the service files (systemd-analyze verify, sh -n), the daemon mode
# and its pid file, the access log file (rotation under load, JSON),
# the read-only control socket and the root socket's peer check, and
# sd_notify (READY=1, RELOADING=1).

fail()
{
	atf_fail "$(printf '%s' "$*" | tr '\n' '|')"
}

# listing DIR: every file and symbolic link under DIR, relative, sorted.
listing()
{
	(cd "$1" && find . ! -type d | sed 's|^\./||' | sort)
}

# listing_is DIR TEXT: listing DIR is TEXT (lines, no final newline).
listing_is()
{
	printf '%s\n' "$2" >expected.list
	listing "$1" >got.list
	diff -u expected.list got.list >diff.list ||
	    fail "files in $1: $(cat diff.list)"
}

atf_test_case install_uninstall
install_uninstall_head()
{
	atf_set descr "make install into a DESTDIR puts exactly the expected files and keeps an existing l4d.conf; make uninstall leaves only that l4d.conf"
	atf_set timeout 120
}
install_uninstall_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	[ -x "$L4D" ] || atf_fail "$L4D is not built"
	d=$PWD/dest
	mkdir -p "$d/etc"
	echo "# the operator's own" >"$d/etc/l4d.conf"
	make -s -C "$TOP" install DESTDIR="$d" >install.out 2>&1 ||
	    fail "make install: $(cat install.out)"
	cat >expected <<EOF
etc/l4d.conf
etc/systemd/system/l4d.service
usr/local/sbin/l4ctl
usr/local/sbin/l4d
usr/local/sbin/l4d-docker
usr/local/share/man/man5/l4d.conf.5
usr/local/share/man/man8/l4ctl.8
usr/local/share/man/man8/l4d-docker.8
usr/local/share/man/man8/l4d.8
EOF
	listing "$d" >got
	diff -u expected got >diff.out || fail "installed files: $(cat diff.out)"
	atf_check -o inline:"# the operator's own\n" cat "$d/etc/l4d.conf"
	cmp -s "$L4D" "$d/usr/local/sbin/l4d" || fail "l4d is not the build's"
	[ -x "$d/usr/local/sbin/l4ctl" ] || fail "l4ctl is not executable"
	# The unit names the installed paths.
	grep -q '^ExecStart=/usr/local/sbin/l4d -d -f /etc/l4d.conf$' \
	    "$d/etc/systemd/system/l4d.service" ||
	    fail "unit: $(grep ^Exec "$d/etc/systemd/system/l4d.service")"

	make -s -C "$TOP" uninstall DESTDIR="$d" >uninstall.out 2>&1 ||
	    fail "make uninstall: $(cat uninstall.out)"
	listing_is "$d" etc/l4d.conf
	atf_check -o inline:'etc\netc/l4d.conf\n' \
	    sh -c "cd '$d' && find . -mindepth 1 | sed 's|^\./||' | sort"
	atf_check -o inline:"# the operator's own\n" cat "$d/etc/l4d.conf"

	# Into an empty DESTDIR, with another layout: the example
	# configuration is installed, and stays after uninstall.
	e=$PWD/dest2
	make -s -C "$TOP" install DESTDIR="$e" PREFIX=/opt/l4d \
	    SYSCONFDIR=/opt/l4d/etc SYSTEMDUNITDIR=/lib/systemd/system \
	    >install2.out 2>&1 || fail "make install: $(cat install2.out)"
	cat >expected2 <<EOF
lib/systemd/system/l4d.service
opt/l4d/etc/l4d.conf
opt/l4d/sbin/l4ctl
opt/l4d/sbin/l4d
opt/l4d/sbin/l4d-docker
opt/l4d/share/man/man5/l4d.conf.5
opt/l4d/share/man/man8/l4ctl.8
opt/l4d/share/man/man8/l4d-docker.8
opt/l4d/share/man/man8/l4d.8
EOF
	listing "$e" >got2
	diff -u expected2 got2 >diff2.out ||
	    fail "installed files: $(cat diff2.out)"
	cmp -s "$TOP/etc/l4d.conf" "$e/opt/l4d/etc/l4d.conf" ||
	    fail "the example configuration was not installed"
	grep -q '^ExecReload=/opt/l4d/sbin/l4ctl reload$' \
	    "$e/lib/systemd/system/l4d.service" || fail "unit paths"
	grep -q '^ExecStartPre=/opt/l4d/sbin/l4d -n -f /opt/l4d/etc/l4d.conf$' \
	    "$e/lib/systemd/system/l4d.service" || fail "unit paths"
	make -s -C "$TOP" uninstall DESTDIR="$e" PREFIX=/opt/l4d \
	    SYSCONFDIR=/opt/l4d/etc SYSTEMDUNITDIR=/lib/systemd/system \
	    >uninstall2.out 2>&1 || fail "make uninstall: $(cat uninstall2.out)"
	listing_is "$e" opt/l4d/etc/l4d.conf

	# The BSDs' layouts: their rc.d script, executable.
	for os in OpenBSD FreeBSD; do
		f=$PWD/dest-$os
		INSTALL_OS=$os make -s -C "$TOP" install DESTDIR="$f" \
		    >"install-$os.out" 2>&1 ||
		    fail "install $os: $(cat "install-$os.out")"
		case $os in
		OpenBSD) rc=etc/rc.d/l4d ;;
		FreeBSD) rc=usr/local/etc/rc.d/l4d ;;
		esac
		[ -x "$f/$rc" ] || fail "$os: no executable $rc: $(listing "$f")"
		listing "$f" | grep -c . >n
		atf_check -o inline:'9\n' cat n
		INSTALL_OS=$os make -s -C "$TOP" uninstall DESTDIR="$f" \
		    >"uninstall-$os.out" 2>&1 || fail "uninstall $os"
		listing_is "$f" etc/l4d.conf
	done
}

atf_test_case systemd_unit
systemd_unit_head()
{
	atf_set descr "the installed systemd unit passes systemd-analyze verify (a broken copy does not), and says notify, l4d -n, l4ctl reload"
	atf_set timeout 120
}
systemd_unit_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	command -v systemd-analyze >/dev/null ||
	    atf_skip "systemd-analyze is not installed (scripts/deps.sh installs systemd)"
	[ -x "$L4D" ] || atf_fail "$L4D is not built"
	# Installed for real in this directory, so that the paths the
	# unit names exist (verify checks them) and its man pages are found.
	r=$PWD/root
	make -s -C "$TOP" install DESTDIR= SBINDIR="$r/sbin" \
	    MANDIR="$r/man" SYSCONFDIR="$r/etc" SYSTEMDUNITDIR="$r/unit" \
	    >install.out 2>&1 || fail "make install: $(cat install.out)"
	u=$r/unit/l4d.service
	MANPATH=$r/man systemd-analyze verify "$u" >verify.out 2>&1 ||
	    fail "systemd-analyze verify: $(cat verify.out)"
	[ ! -s verify.out ] || fail "systemd-analyze verify warns: $(cat verify.out)"
	for re in '^Type=notify$' \
	    "^ExecStartPre=$r/sbin/l4d -n -f $r/etc/l4d.conf\$" \
	    "^ExecStart=$r/sbin/l4d -d -f $r/etc/l4d.conf\$" \
	    "^ExecReload=$r/sbin/l4ctl reload\$" '^Restart=on-failure$' \
	    '^CapabilityBoundingSet=.*CAP_NET_BIND_SERVICE' \
	    '^CapabilityBoundingSet=.*CAP_SYS_CHROOT' \
	    '^CapabilityBoundingSet=.*CAP_SETUID' '^ProtectSystem=' \
	    '^NoNewPrivileges=yes$'; do
		grep -Eq "$re" "$u" || fail "the unit has no line $re"
	done
	if grep -q 'SIGHUP is ignored' "$u"; then
		fail "the unit still says SIGHUP is ignored"
	fi
	# verify can fail: a relative ExecStart.
	sed 's|^ExecStart=.*|ExecStart=l4d -d|' "$u" >"$r/unit/broken.service"
	if MANPATH=$r/man systemd-analyze verify "$r/unit/broken.service" \
	    >broken.out 2>&1 && ! grep -q . broken.out; then
		fail "systemd-analyze verify accepted a broken unit"
	fi
	make -s -C "$TOP" uninstall DESTDIR= SBINDIR="$r/sbin" \
	    MANDIR="$r/man" SYSCONFDIR="$r/etc" SYSTEMDUNITDIR="$r/unit" \
	    >uninstall.out 2>&1 || fail "make uninstall"
	[ ! -e "$r/sbin/l4d" ] || fail "uninstall left l4d"
}

atf_test_case rc_scripts
rc_scripts_head()
{
	atf_set descr "the OpenBSD and FreeBSD rc.d scripts parse (sh -n, ksh -n where there is one) and reload through l4ctl"
}
rc_scripts_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	ob=$TOP/etc/rc.d/l4d
	fb=$TOP/etc/rc.d/l4d.freebsd
	atf_check -s exit:0 sh -n "$ob"
	atf_check -s exit:0 sh -n "$fb"
	for k in ksh ksh93 mksh oksh; do
		if command -v $k >/dev/null; then
			atf_check -s exit:0 $k -n "$ob"
			atf_check -s exit:0 $k -n "$fb"
		fi
	done
	# sh -n can fail.
	printf 'if then\n' >bad.sh
	atf_check -s not-exit:0 -e ignore sh -n bad.sh
	grep -q '^daemon_ctl="/usr/local/sbin/l4ctl"$' "$ob" ||
	    fail "OpenBSD: no daemon_ctl"
	grep -A2 '^rc_reload()' "$ob" | grep -q '{daemon_ctl} reload' ||
	    fail "OpenBSD: rc_reload does not run l4ctl reload"
	grep -A2 '^rc_pre()' "$ob" | grep -q -- '-n' ||
	    fail "OpenBSD: rc_pre does not run l4d -n"
	if grep -q 'rc_reload=NO' "$ob"; then
		fail "OpenBSD: reload is still disabled"
	fi
	for re in '^extra_commands="reload configtest"$' '^rcvar="l4d_enable"$' \
	    'l4d_flags' '^required_files=' '^reload_cmd="l4d_reload"$'; do
		grep -Eq "$re" "$fb" || fail "FreeBSD: no line $re"
	done
	grep -q '^l4ctl="/usr/local/sbin/l4ctl"$' "$fb" ||
	    fail "FreeBSD: no l4ctl"
	grep -A3 '^l4d_reload()' "$fb" | grep -q '{l4ctl} reload' ||
	    fail "FreeBSD: reload does not run l4ctl reload"
}

# ops_conf [EXTRA]: a configuration with one listener "web" on $LP to
# the echo server on 127.0.0.6:$SP, two relays, the root socket in this
# directory; EXTRA lines (top level) follow the head.
ops_conf()
{
	cat <<EOF
user: _l4d
chroot: /var/empty
relays: 2
control: $PWD/l4d.sock
$1
listeners:
  - name: web
    listen: "127.0.0.1:$LP"
    backend: pool
backends:
  - name: pool
    servers: [ { address: "127.0.0.6:$SP" } ]
EOF
}

ops_setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	[ -x "$L4CTL" ] || atf_fail "$L4CTL is not built"
	LP=$(free_ports 1)
	SP=$(free_ports 1 127.0.0.6)
	start_server echo echo "127.0.0.6:$SP"
}

# pid_gone PID: no such process (or a zombie).
pid_gone()
{
	not_alive "$1"
}

atf_test_case daemon_mode cleanup
daemon_mode_head()
{
	atf_set descr "without -d l4d returns once the daemon runs, prints nothing, writes its pid file; SIGTERM stops every child and removes the pid file; a start that fails, before or after detaching, exits 1"
	atf_set require.user root
	atf_set timeout 60
}
daemon_mode_body()
{
	ops_setup
	ops_conf "log: { level: info, access: true }" >l4d.conf
	# It returns once the daemon runs: the pid file is there, and the
	# children have their configuration.
	atf_check -s exit:0 -o empty -e empty timeout 20 "$L4D" \
	    -f l4d.conf -p "$PWD/l4d.pidfile"
	[ -s l4d.pidfile ] || fail "no pid file when l4d returned"
	pid=$(cat l4d.pidfile)
	echo "$pid" >l4d.pid		# for the cleanup
	alive "$pid" || fail "the pid file names $pid, which is not running"
	tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q '^l4d: parent' ||
	    fail "$pid is not the parent: $(tr '\0' ' ' <"/proc/$pid/cmdline")"
	# Detached: no controlling terminal's session, reparented.
	[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" != "$$" ] ||
	    fail "the parent is still our child"
	atf_check -s exit:0 -o match:'^generation 1, 2 relays$' \
	    "$L4CTL" -s "$PWD/l4d.sock" show summary
	# Its own session, in /, with nothing of ours open.
	[ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] ||
	    fail "not a session leader: $(ps -o sid= -p "$pid")"
	atf_check -o inline:'/\n' readlink "/proc/$pid/cwd"
	for n in 0 1 2; do
		atf_check -o inline:'/dev/null\n' readlink "/proc/$pid/fd/$n"
	done
	# It relays.
	atf_check -s exit:0 -o ignore -e ignore $PY "$CLIENT" ping \
	    --connect "127.0.0.1:$LP" --timeout 10
	wait_for 10 test "$(kind_pids "$pid" relay | wc -l)" -eq 2 ||
	    fail "not 2 relays"
	kids=$(pgrep -P "$pid" | tr '\n' ' ')
	[ "$(echo $kids | wc -w)" -ge 4 ] ||
	    fail "expected relays, an engine and health: $kids"
	echo "$kids" >children.pid
	kill -TERM "$pid"
	wait_for 10 pid_gone "$pid" || fail "the parent did not stop"
	for k in $kids; do
		wait_for 10 pid_gone "$k" || fail "child $k outlived SIGTERM"
	done
	[ ! -e l4d.pidfile ] || fail "the pid file was left"
	[ ! -e l4d.sock ] || fail "the control socket was left"

	# A start that fails before it detaches says why on stderr, and
	# fails: the port is taken now.
	"$PY" -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
open(sys.argv[2], "w").close()
time.sleep(60)
' "$LP" busy.ready </dev/null >/dev/null 2>&1 &
	echo $! >busy.pid
	wait_for 10 test -e busy.ready || fail "could not take port $LP"
	atf_check -s exit:1 -o empty -e match:"listen 127.0.0.1:$LP: address already in use" \
	    timeout 20 "$L4D" -f l4d.conf -p "$PWD/l4d.pidfile"
	kill "$(cat busy.pid)"
	wait_for 10 pid_gone "$(cat busy.pid)" || fail "busy did not stop"
	# One that fails after it detached, too: with 12 descriptors the
	# parent binds and detaches, then cannot make its children's
	# channels (socketpair: too many open files).
	atf_check -s exit:1 -o empty -e match:'exited while starting' \
	    timeout 20 sh -c "ulimit -n 12; exec '$L4D' -f l4d.conf -p '$PWD/l4d.pidfile'"
}
daemon_mode_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# The load of access_rotate: THREADS clients make sessions (8 bytes,
# echoed) until the file STOP exists, write the number done to PROGRESS
# now and then, and print the final number.  A session whose connect
# failed is counted apart (l4d did not see it).
LOADER='
import os, socket, sys, threading
addr, stop, progress, nthreads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
host, port = addr.rsplit(":", 1)
lock = threading.Lock()
done = [0]
def one():
    s = socket.create_connection((host, int(port)), timeout=10)
    s.sendall(b"12345678")
    got = b""
    while len(got) < 8:
        b = s.recv(8 - len(got))
        if not b:
            raise OSError("short echo")
        got += b
    s.close()
def run():
    n = 0
    while not os.path.exists(stop) and n < 100000:
        one()
        n += 1
        with lock:
            done[0] += 1
            if done[0] % 50 == 0:
                with open(progress + ".tmp", "w") as f:
                    f.write("%d\n" % done[0])
                os.rename(progress + ".tmp", progress)
ts = [threading.Thread(target=run) for _ in range(nthreads)]
for t in ts: t.start()
for t in ts: t.join()
print(done[0])
'

# progress_ge FILE N: the loader has done at least N sessions.
progress_ge()
{
	[ -s "$1" ] && [ "$(cat "$1")" -ge "$2" ]
}

# lines_are FILES N: the files hold N lines together.
lines_are()
{
	[ "$(cat access.log access.log.1 | wc -l)" -eq "$1" ]
}

atf_test_case access_rotate cleanup
access_rotate_head()
{
	atf_set descr "log.access_file under load, mv + SIGUSR1: every session's JSON line is in one of the two files exactly once, whole"
	atf_set require.user root
	atf_set timeout 120
}
access_rotate_body()
{
	ops_setup
	ops_conf "log: { level: info, access: true, access_file: $PWD/access.log, access_format: json }" >l4d.conf
	start_l4d
	$PY -c "$LOADER" "127.0.0.1:$LP" stop progress 8 >load.out \
	    2>load.err </dev/null &
	echo $! >load.pid
	wait_for 30 progress_ge progress 300 ||
	    fail "the load did not start: $(cat load.err)"
	mv access.log access.log.1
	kill -USR1 "$(cat l4d.pid)"
	wait_log 'SIGUSR1: reopened' 10 || fail "no reopen: $(tail -n 5 l4d.log)"
	before=$(cat progress)
	wait_for 30 progress_ge progress $((before + 300)) ||
	    fail "the load stalled after the reopen: $(cat load.err)"
	touch stop
	wait_for 30 pid_gone "$(cat load.pid)" || fail "the load did not end"
	[ ! -s load.err ] || fail "client errors: $(head -n 5 load.err)"
	n=$(cat load.out)
	[ "$n" -ge 600 ] || fail "only $n sessions"
	wait_for 20 lines_are "$n" ||
	    fail "$n sessions, $(cat access.log access.log.1 | wc -l) lines"
	[ -s access.log ] || fail "nothing in the new file"
	[ -s access.log.1 ] || fail "nothing in the old file"
	# Every line is a whole JSON object; the ids are unique.
	$PY - "$n" access.log.1 access.log >check.out 2>&1 <<'EOF' ||
import json, sys
n = int(sys.argv[1])
ids = []
for path in sys.argv[2:]:
    for line in open(path):
        o = json.loads(line)
        assert o["listener"] == "web", o
        assert o["bytes_in"] == 8 and o["bytes_out"] == 8, o
        assert o["cause"] == "client-closed", o
        ids.append(o["id"])
assert len(ids) == n, (len(ids), n)
assert len(set(ids)) == n, "duplicate ids"
print("ok")
EOF
	    fail "the access lines: $(cat check.out)"
	# Nothing reached the daemon's own log: the file has them.
	if log_has '^relay\[[01]\]: access '; then
		fail "access lines in the log too"
	fi
}
access_rotate_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case access_formats cleanup
access_formats_head()
{
	atf_set descr "log.access_file: kv lines start with a UTC time; access_format json documents each member; a reload switches the format"
	atf_set require.user root
	atf_set timeout 60
}
access_formats_body()
{
	ops_setup
	ops_conf "log: { level: info, access: true, access_file: $PWD/access.log }" >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore -e ignore $PY "$CLIENT" ping \
	    --connect "127.0.0.1:$LP" --timeout 10
	wait_for 10 test -s access.log || fail "no access line"
	grep -Eq "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z access id=[01]-1 listener=web client=127\.0\.0\.1:[0-9]+ backend=pool server=127\.0\.0\.6:$SP in=[0-9]+ out=[0-9]+ duration=[0-9]+\.[0-9]{3}s cause=[a-z-]+\$" access.log ||
	    fail "kv line: $(cat access.log)"
	ops_conf "log: { level: info, access: true, access_file: $PWD/access.json, access_format: json }" >l4d.conf
	atf_check -s exit:0 -o match:'generation 2' "$L4CTL" -s "$PWD/l4d.sock" reload
	printf 'hello' >data
	atf_check -s exit:0 -o ignore -e ignore $PY "$CLIENT" ping \
	    --connect "127.0.0.1:$LP" --timeout 10
	wait_for 10 test -s access.json || fail "no JSON line"
	atf_check -o inline:'1\n' sh -c 'wc -l <access.log'
	$PY - "$SP" access.json >check.out 2>&1 <<'EOF' ||
import json, re, sys
o = json.loads(open(sys.argv[2]).readline())
want = {"time", "relay", "id", "listener", "client", "backend", "server",
        "bytes_in", "bytes_out", "duration_ms", "cause", "reset"}
assert set(o) == want, sorted(o)
assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", o["time"]), o
assert o["relay"] in (0, 1) and o["id"].startswith("%d-" % o["relay"]), o
assert o["listener"] == "web" and o["backend"] == "pool", o
assert o["server"] == "127.0.0.6:" + sys.argv[1], o
assert o["client"].startswith("127.0.0.1:"), o
assert isinstance(o["bytes_in"], int) and o["bytes_in"] > 0, o
assert o["bytes_in"] == o["bytes_out"], o
assert isinstance(o["duration_ms"], int) and o["reset"] is False, o
print("ok")
EOF
	    fail "JSON line: $(cat check.out) $(cat access.json)"
	# A file that cannot be opened fails the reload, and nothing changes.
	ops_conf "log: { access_file: $PWD/no/such/dir/a.log }" >l4d.conf
	atf_check -s exit:1 -o match:'L4D-E061' -o match:'generation 2' \
	    "$L4CTL" -s "$PWD/l4d.sock" reload
}
access_formats_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case access_json_tls cleanup
access_json_tls_head()
{
	atf_set descr "log.access_format json on a terminating listener with routes: sni, alpn, tls_* members, a client certificate's subject with a quote escaped"
	atf_set require.user root
	atf_set timeout 90
}
access_json_tls_body()
{
	ops_setup
	command -v openssl >/dev/null || atf_skip "openssl is missing"
	mkdir certs
	sh "$TOOLS/mkcerts.sh" ca certs >mk.out 2>&1 || fail "mkcerts: $(cat mk.out)"
	sh "$TOOLS/mkcerts.sh" leaf certs json.test >>mk.out 2>&1 ||
	    fail "mkcerts: $(cat mk.out)"
	sh "$TOOLS/mkcerts.sh" client certs ca 'al"ice' >>mk.out 2>&1 ||
	    fail "mkcerts: $(cat mk.out)"
	cat >l4d.conf <<EOF
user: _l4d
chroot: /var/empty
relays: 1
control: $PWD/l4d.sock
log: { level: info, access: true, access_file: $PWD/access.log, access_format: json }
listeners:
  - name: tls
    listen: "127.0.0.1:$LP"
    backend: pool
    tls:
      certificates: [ { cert: $PWD/certs/json.test.crt, key: $PWD/certs/json.test.key } ]
      client_auth: optional
      client_ca: $PWD/certs/ca.crt
    routes:
      - { sni: json.test, backend: pool }
backends:
  - name: pool
    servers: [ { address: "127.0.0.6:$SP" } ]
EOF
	start_l4d
	atf_check -s exit:0 -o match:'^reply hello$' -e empty \
	    $PY "$TOOLS/tlsclient.py" line --connect "127.0.0.1:$LP" \
	    --name json.test --ca certs/ca.crt --cert 'certs/al"ice.crt' \
	    --key 'certs/al"ice.key' --data 'hello\n' --timeout 10
	wait_for 10 test -s access.log || fail "no access line: $(tail -n 3 l4d.log)"
	$PY - access.log >check.out 2>&1 <<'EOF' ||
import json, sys
o = json.loads(open(sys.argv[1]).readline())
assert o["listener"] == "tls" and o["backend"] == "pool", o
assert o["sni"] == "json.test" and o["alpn"] == "", o
assert o["tls_version"].startswith("TLSv1."), o
assert o["tls_cipher"], o
assert o["tls_resumed"] is False, o
assert o["tls_client_subject"].endswith('CN=al"ice'), o
assert "l4d test CA" in o["tls_client_issuer"], o
assert o["bytes_in"] == 6 and o["bytes_out"] == 6, o
print("ok")
EOF
	    fail "the JSON line: $(cat check.out) $(cat access.log)"
}
access_json_tls_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# $NOBODY COMMAND...: run it as the user nobody.
NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"

atf_test_case readonly_socket cleanup
readonly_socket_head()
{
	atf_set descr "control_readonly: anyone may show and monitor, reload, check, kill, server and log are refused; the root socket refuses a user that is not root even with mode 0666"
	atf_set require.user root
	atf_set timeout 60
}
readonly_socket_body()
{
	ops_setup
	command -v setpriv >/dev/null || atf_skip "setpriv (util-linux) is missing"
	id nobody >/dev/null 2>&1 || atf_skip "no user nobody"
	# The sockets in a directory that nobody may enter.
	mkdir -m 755 run
	RO=$PWD/run/ro.sock
	chmod 755 .
	ops_conf "control_readonly: $RO" >l4d.conf
	sed -i "s|^control: .*|control: $PWD/run/l4d.sock|" l4d.conf
	start_l4d
	ROOT=$PWD/run/l4d.sock
	atf_check -o inline:'666\n' stat -c %a "$RO"
	atf_check -o inline:'660\n' stat -c %a "$ROOT"

	atf_check -s exit:0 -o match:'^generation 1, 2 relays$' -e empty \
	    $NOBODY "$L4CTL" -s "$RO" show summary
	atf_check -s exit:0 -o match:'^listener web sessions' -e empty \
	    $NOBODY "$L4CTL" -s "$RO" show stats
	atf_check -s exit:0 -o match:'^ID ' -e empty \
	    $NOBODY "$L4CTL" -s "$RO" show sessions
	atf_check -s exit:0 -o match:'"listeners"' -e empty \
	    "$L4CTL" -s "$RO" -j show summary
	for cmd in reload check "kill 0-1" "log verbose" "log brief" \
	    "server disable pool 127.0.0.6:$SP"; do
		# shellcheck disable=SC2086
		atf_check -s exit:1 -e ignore \
		    -o match:'read-only control socket' \
		    "$L4CTL" -s "$RO" $cmd
	done
	# Nothing changed: still generation 1, the server enabled.
	atf_check -s exit:0 -o match:'^generation 1,' \
	    -o match:"server 127\.0\.0\.6:$SP weight 1 state up" \
	    "$L4CTL" -s "$ROOT" show summary
	# monitor works there.
	$NOBODY "$L4CTL" -s "$RO" monitor >monitor.out 2>&1 </dev/null &
	echo $! >monitor.pid
	wait_for 10 grep -q '^monitor: generation 1' monitor.out ||
	    fail "monitor on the read-only socket: $(cat monitor.out)"
	atf_check -s exit:0 -o ignore "$L4CTL" -s "$ROOT" reload
	wait_for 10 grep -q 'reload: generation 2' monitor.out ||
	    fail "monitor saw no reload: $(cat monitor.out)"
	kill "$(cat monitor.pid)"

	# Anyone may fill the read-only socket's connections, not root's.
	mkdir -m 1777 hog
	$NOBODY $PY - "$RO" 70 hog/ready >hog.out 2>&1 </dev/null <<'EOF' &
import os, socket, sys, time
conns = []
for _ in range(int(sys.argv[2])):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    conns.append(s)
open(sys.argv[3], "w").close()
time.sleep(60)
EOF
	echo $! >hog.pid
	wait_for 10 test -e hog/ready || fail "hog: $(cat hog.out)"
	wait_log 'control: too many connections on the read-only socket' 10 ||
	    fail "70 connections to the read-only socket were all taken"
	atf_check -s exit:0 -o match:'^generation 2,' \
	    "$L4CTL" -s "$ROOT" show summary
	kill "$(cat hog.pid)"

	# The root socket, loosened: the kernel's uid still decides.
	chmod 666 "$ROOT"
	atf_check -s exit:1 -e ignore -o match:'permission denied' \
	    $NOBODY "$L4CTL" -s "$ROOT" show summary
	atf_check -s exit:1 -e ignore -o match:'permission denied' \
	    $NOBODY "$L4CTL" -s "$ROOT" reload
	wait_log 'control: uid [0-9]+ refused' 5 || fail "no log of the refusal"
	atf_check -s exit:0 -o match:'^generation 2,' \
	    "$L4CTL" -s "$ROOT" show summary
}
readonly_socket_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

# A systemd notification socket: prints every datagram, one a line,
# with its newlines as "|".
NOTIFY='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
while True:
    d = s.recv(4096).decode()
    print(d.strip().replace("\n", "|"), flush=True)
'

# notified N ERE: at least N datagrams matched ERE.
notified()
{
	[ "$(grep -Ec -- "$2" notify.out)" -ge "$1" ]
}

atf_test_case sd_notify cleanup
sd_notify_head()
{
	atf_set descr "with NOTIFY_SOCKET, l4d sends READY=1 once its relays run, RELOADING=1 then READY=1 around a reload (applied or refused)"
	atf_set require.user root
	atf_set timeout 60
}
sd_notify_body()
{
	ops_setup
	$PY -c "$NOTIFY" "$PWD/notify.sock" notify.ready >notify.out 2>&1 &
	echo $! >notifyd.pid
	wait_for 10 test -e notify.ready || fail "notify socket"
	ops_conf "log: { level: info }" >l4d.conf
	NOTIFY_SOCKET=$PWD/notify.sock "$L4D" -d -f l4d.conf >l4d.log 2>&1 \
	    </dev/null &
	echo $! >l4d.pid
	wait_for 10 notified 1 '^READY=1' || fail "no READY=1: $(cat notify.out)"
	log_has 'ready: generation 1' || fail "READY=1 before the relays ran"
	grep -q "MAINPID=$(cat l4d.pid)" notify.out || fail "MAINPID: $(cat notify.out)"
	atf_check -o inline:'1\n' grep -c . notify.out
	atf_check -s exit:0 -o match:'generation 2' \
	    "$L4CTL" -s "$PWD/l4d.sock" reload
	wait_for 10 notified 2 '^READY=1' || fail "no READY=1 after reload: $(cat notify.out)"
	sed -n 2p notify.out | grep -Eq '^RELOADING=1\|MONOTONIC_USEC=[0-9]+$' ||
	    fail "no RELOADING=1 first: $(cat notify.out)"
	sed -n 3p notify.out | grep -q '^READY=1|STATUS=generation 2' ||
	    fail "not READY=1 with generation 2: $(cat notify.out)"
	# A refused reload: READY=1 again, generation 2 kept.
	echo "listeners: [" >l4d.conf
	atf_check -s exit:1 -o match:'L4D-E' "$L4CTL" -s "$PWD/l4d.sock" reload
	wait_for 10 notified 3 '^READY=1' || fail "no READY=1 after a refused reload: $(cat notify.out)"
	sed -n 5p notify.out | grep -q '^READY=1|STATUS=generation 2' ||
	    fail "after a refused reload: $(cat notify.out)"
	# The children did not get the variable.
	for k in $(pgrep -P "$(cat l4d.pid)"); do
		if tr '\0' '\n' <"/proc/$k/environ" | grep -q NOTIFY_SOCKET; then
			fail "child $k has NOTIFY_SOCKET"
		fi
	done
}
sd_notify_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case config_errors
config_errors_head()
{
	atf_set descr "control_readonly and log.access_file mistakes are L4D-E060 and L4D-E061 with their position; a bad access_format is an enum error"
	atf_set require.user root
}
config_errors_body()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	LP=$(free_ports 1)
	SP=1
	ops_conf "control_readonly: $PWD/l4d.sock" >a.conf
	atf_check -s exit:1 -e match:"^a\.conf:5:19: L4D-E060: control_readonly: .*is the control socket" \
	    "$L4D" -n -f a.conf
	ops_conf "log: { access_file: $PWD/nodir/x.log }" >b.conf
	atf_check -s exit:1 -e match:"^b\.conf:5:21: L4D-E061: log\.access_file: cannot open .*No such file or directory" \
	    "$L4D" -n -f b.conf
	ops_conf "log: { access_format: xml }" >c.conf
	atf_check -s exit:1 -e match:"^c\.conf:5:23: L4D-E014: log\.access_format: " \
	    -e match:'kv' -e match:'json' "$L4D" -n -f c.conf
	ops_conf "log: { access_file: relative.log }" >d.conf
	atf_check -s exit:1 -e match:"^d\.conf:5:21: L4D-E019: log\.access_file: bad path" \
	    "$L4D" -n -f d.conf
	ops_conf "control_readonly: $PWD/ro.sock
log: { access_file: $PWD/ok.log, access_format: json }" >e.conf
	atf_check -s exit:0 -e inline:'configuration OK\n' "$L4D" -n -f e.conf
}

# A syslog daemon of our own: /dev/log in a private mount namespace
# (a tmpfs over /dev with the few devices l4d opens bound into it), so
# that the system's /dev is not touched.
SYSLOG_RECV='
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[2], "w").close()
with open(sys.argv[3], "a") as out:
    while True:
        d = s.recv(8192).decode(errors="replace")
        out.write(d.rstrip("\n") + "\n")
        out.flush()
'

# The script run in the namespace: the receiver, then l4d without -d
# (both stay in the namespace after the script ends).
syslog_script()
{
	cat <<EOF
set -e
mkdir -p realdev
mount --bind /dev realdev
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero urandom random full; do
	touch /dev/\$n
	mount --bind realdev/\$n /dev/\$n
done
$PY recv.py /dev/log recv.ready syslog.out </dev/null >/dev/null 2>&1 &
echo \$! >recv.pid
i=0
while [ ! -e recv.ready ] && [ \$i -lt 200 ]; do
	sleep 0.05
	i=\$((i + 1))
done
[ -e recv.ready ]
"$L4D" -f l4d.conf -p "$PWD/l4d.pidfile"
EOF
}

# role_less FILE: the lines of FILE without "l4d[PID]: ROLE: ".
role_less()
{
	grep -v '^<[0-9]*>.* l4d\[[0-9]*\]: \(parent\|relay\[[01]\]\|tls\[0\]\|health\): ' "$1"
}

atf_test_case syslog_roles cleanup
syslog_roles_head()
{
	atf_set descr "without -d l4d logs to syslog, facility daemon, program l4d, with the role of each process in its lines"
	atf_set require.user root
	atf_set timeout 60
}
syslog_roles_body()
{
	ops_setup
	command -v unshare >/dev/null || atf_skip "unshare (util-linux) is missing"
	ops_conf "log: { level: info, access: true }" >l4d.conf
	printf '%s\n' "$SYSLOG_RECV" >recv.py
	syslog_script >run.sh
	if ! unshare --mount --propagation private sh run.sh >run.out 2>&1
	then
		if grep -q 'unshare failed' run.out; then
			atf_skip "no mount namespace here: $(cat run.out)"
		fi
		fail "run.sh: $(cat run.out)"
	fi
	wait_for 10 test -s l4d.pidfile || fail "no pid file"
	pid=$(cat l4d.pidfile)
	echo "$pid" >l4d.pid
	atf_check -s exit:0 -o ignore -e ignore $PY "$CLIENT" ping \
	    --connect "127.0.0.1:$LP" --timeout 10
	# daemon (3) * 8 + info (6) = 30; notice (5): 29
	wait_log "^<30>.* l4d\[$pid\]: parent: ready: generation 1" 10 \
	    syslog.out || fail "no parent line: $(head -n 5 syslog.out)"
	wait_log '^<29>.* l4d\[[0-9]+\]: relay\[[01]\]: access id=[01]-1 listener=web ' \
	    10 syslog.out || fail "no relay access line: $(cat syslog.out)"
	kill -TERM "$pid"
	wait_for 10 pid_gone "$pid" || fail "l4d did not stop"
	wait_log "^<30>.* l4d\[$pid\]: parent: stopped" 10 syslog.out ||
	    fail "no 'stopped': $(tail -n 5 syslog.out)"
	if role_less syslog.out | grep -q .; then
		fail "lines without a role: $(role_less syslog.out | head -n 3)"
	fi
}
syslog_roles_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case control_group cleanup
control_group_head()
{
	atf_set descr "control_group: the control socket is the group's (mode 0660), and a member of the group, as a supplementary group too, may use it; others are refused even with mode 0666"
	atf_set require.user root
	atf_set timeout 60
}
control_group_body()
{
	ops_setup
	command -v setpriv >/dev/null || atf_skip "setpriv (util-linux) is missing"
	id nobody >/dev/null 2>&1 || atf_skip "no user nobody"
	getent group l4dtestctl >/dev/null || groupadd -r l4dtestctl ||
	    atf_skip "cannot create a group"
	gid=$(getent group l4dtestctl | cut -d: -f3)
	mkdir -m 755 run
	chmod 755 .
	ops_conf "control_group: l4dtestctl" >l4d.conf
	sed -i "s|^control: .*|control: $PWD/run/l4d.sock|" l4d.conf
	start_l4d
	ROOT=$PWD/run/l4d.sock
	atf_check -o inline:"660 root l4dtestctl\n" stat -c '%a %U %G' "$ROOT"
	# a member (a supplementary group): the whole control
	member="setpriv --reuid=nobody --regid=nogroup --groups=$gid"
	atf_check -s exit:0 -o match:'^generation 1,' -e empty \
	    $member "$L4CTL" -s "$ROOT" show summary
	atf_check -s exit:0 -o match:'disabled$' -e empty \
	    $member "$L4CTL" -s "$ROOT" server disable pool "127.0.0.6:$SP"
	# not a member: the file says no; loosened, the daemon still does
	atf_check -s exit:1 -e match:'Permission denied' -o empty \
	    $NOBODY "$L4CTL" -s "$ROOT" show summary
	chmod 666 "$ROOT"
	atf_check -s exit:1 -e ignore -o match:'permission denied' \
	    $NOBODY "$L4CTL" -s "$ROOT" server enable pool "127.0.0.6:$SP"
	# an unknown group is a configuration error
	sed -i 's|^control_group: .*|control_group: no-such-group-l4d|' l4d.conf
	atf_check -s exit:1 -o empty -e match:'L4D-E062: control_group: unknown group' \
	    "$L4D" -n -f l4d.conf
}
control_group_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case install_uninstall
	atf_add_test_case systemd_unit
	atf_add_test_case rc_scripts
	atf_add_test_case daemon_mode
	atf_add_test_case access_rotate
	atf_add_test_case access_formats
	atf_add_test_case access_json_tls
	atf_add_test_case readonly_socket
	atf_add_test_case control_group
	atf_add_test_case sd_notify
	atf_add_test_case config_errors
	atf_add_test_case syslog_roles
}
