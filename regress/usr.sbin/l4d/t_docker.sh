# l4d-docker black-box tests: servers from containers' labels.
#
# The first cases use a fake Docker API (tools/dockerfake.py) and a
# stand-in l4ctl (tools/fakel4ctl.py, which keeps the backends in
# SOCKET.state and answers `-j show summary' in l4ctl's JSON shape), so
# that they test l4d-docker alone; the last one runs a real dockerd on
# loopback, l4d-docker and the real l4d, with sessions through it.

# dd_init: lib.sh, the binaries, the stand-in l4d.
dd_init()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	L4DD=$TOP/usr.sbin/l4d-docker/l4d-docker
	FAKEDOCKER=$TOOLS/dockerfake.py
	# l4d-docker runs it as a program: with the tests' python3, from
	# the work directory, which an unprivileged l4d-docker can read
	# where the source tree may not be (a clone in mktemp -d)
	cp "$TOOLS/fakel4ctl.py" fakel4ctl.py
	printf '#!/bin/sh\nexec %s %s "$@"\n' "$PY" "$PWD/fakel4ctl.py" \
	    >fakel4ctl
	chmod 755 fakel4ctl
	CTL=$PWD/fakel4ctl
	SOCK=$PWD/l4d.sock
	[ -x "$L4DD" ] || atf_fail "$L4DD is not built (make all)"
}

# l4_setup BACKEND...: an l4d with these backends, each with one server
# from its file (127.0.0.2:9, not a runtime one).
l4_setup()
{
	$PY - "$SOCK.state" "$@" <<'PYEOF'
import json, sys
json.dump({b: [{"address": "127.0.0.2:9", "weight": 1, "backup": False,
                "runtime": False}] for b in sys.argv[2:]},
          open(sys.argv[1], "w"))
PYEOF
	: >"$SOCK"
}

# servers BACKEND: its servers, "ADDRESS runtime|file weight N [backup]"
# one a line, from `l4ctl -j show summary'.
servers()
{
	"$CTL" -s "$SOCK" -j show summary | $PY -c '
import json, sys
doc = json.load(sys.stdin)
for be in doc["backends"]:
    if be["name"] != sys.argv[1]:
        continue
    for s in be["servers"]:
        print(s["address"], "runtime" if s.get("runtime") else "file",
              "weight", s["weight"], "backup" if s["backup"] else "")
' "$1"
}

# server_state BACKEND ADDRESS: its state in the summary ("gone" when
# the summary does not show it).
server_state()
{
	"$CTL" -s "$SOCK" -j show summary | $PY -c '
import json, sys
doc = json.load(sys.stdin)
for be in doc["backends"]:
    if be["name"] == sys.argv[1]:
        for s in be["servers"]:
            if s["address"] == sys.argv[2]:
                print(s.get("state", "?"))
                sys.exit(0)
print("gone")
' "$1" "$2"
}

# removed_or_gone BACKEND ADDRESS: no new session goes there.
removed_or_gone()
{
	case $(server_state "$1" "$2") in
	removed|gone) return 0 ;;
	esac
	return 1
}

# has_server BACKEND ADDRESS: a runtime server of the backend.
has_server()
{
	servers "$1" | grep -q "^$2 runtime"
}

lacks_server()
{
	! servers "$1" | grep -q "^$2 "
}

# nruntime BACKEND: how many runtime servers it has.
nruntime()
{
	servers "$1" | grep -c ' runtime' || true
}

fake_docker()
{
	rm -f docker.ready
	$PY "$FAKEDOCKER" serve --socket "$PWD/docker.sock" --dir "$PWD" \
	    --ready docker.ready >dockerfake.log 2>&1 </dev/null &
	echo $! >dockerfake.pid
	wait_for 10 test -e docker.ready ||
	    atf_fail "the fake Docker API did not start"
}

# container NAME [--label K=V]... [--network ...]: started (fake Docker).
container()
{
	$PY "$FAKEDOCKER" start "$PWD" "$@" || atf_fail "fake start $1"
}

stop_container()
{
	$PY "$FAKEDOCKER" stop "$PWD" "$1" || atf_fail "fake stop $1"
}

# start_dd [OPTION...]: l4d-docker in the foreground, in the background,
# until its first resync; the options (-H, -r) come after the defaults.
start_dd()
{
	touch l4d-docker.log
	_sd_n=$(log_count "resync: " l4d-docker.log)
	"$L4DD" -d -u root -c "$CTL" -s "$SOCK" -H "$PWD/docker.sock" "$@" \
	    >>l4d-docker.log 2>&1 </dev/null &
	echo $! >l4d-docker.pid
	wait_resync "$_sd_n"
}

# wait_resync N: more than N resyncs are in the log.
wait_resync()
{
	if ! wait_for 10 resynced "$1"; then
		cat l4d-docker.log >&2
		atf_fail "no resync after the $1th"
	fi
}

resynced()
{
	[ "$(log_count 'resync: ' l4d-docker.log)" -gt "$1" ]
}

# dd_fail MESSAGE: fail, with l4d-docker's log on stderr.
dd_fail()
{
	cat l4d-docker.log >&2
	atf_fail "$1"
}

dd_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_test_case check_labels cleanup
check_labels_head()
{
	atf_set descr "l4d-docker -n: every wrong label is an error naming its container"
	atf_set require.user root
	atf_set timeout 60
}
check_labels_body()
{
	dd_init
	l4_setup pool
	fake_docker
	container web1 --label l4d.backend=pool --label l4d.port=8081 \
	    --label l4d.weight=3
	container plain --label com.example.x=y
	atf_check -s exit:0 -e empty \
	    -o inline:"container web1: backend pool server 127.0.0.1:8081 weight 3\n" \
	    "$L4DD" -n -u root -c "$CTL" -s "$SOCK" -H "$PWD/docker.sock"

	container nobackend --label l4d.backend=nosuch --label l4d.port=80
	container noport --label l4d.backend=pool
	container badport --label l4d.backend=pool --label l4d.port=http
	container typo --label l4d.backend=pool --label l4d.port=80 \
	    --label l4d.wieght=2
	container twonets --label l4d.backend=pool --label l4d.port=80 \
	    --network a=172.18.0.2 --network b=172.19.0.2
	atf_check -s exit:1 -o match:'^container web1: ' \
	    -e match:'container nobackend \([0-9a-f]{12}\): label l4d.backend=nosuch: l4d has no backend nosuch' \
	    -e match:'container noport .*l4d.port is missing' \
	    -e match:'container badport .*l4d.port="http" is invalid' \
	    -e match:'container typo .*unknown label l4d.wieght' \
	    -e match:'container twonets .*addresses on 2 networks' \
	    -e not-match:'web1|plain' \
	    "$L4DD" -n -u root -c "$CTL" -s "$SOCK" -H "$PWD/docker.sock"
	# -n changes nothing
	atf_check_equal "$(nruntime pool)" 0

	# l4d not running: the backends cannot be checked, and that is said
	rm -f "$SOCK"
	atf_check -s exit:1 -o ignore \
	    -e match:"cannot read l4d's summary, backends not checked: .*is l4d running" \
	    "$L4DD" -n -u root -c "$CTL" -s "$SOCK" -H "$PWD/docker.sock"
	# Docker not running
	atf_check -s exit:1 -e match:'nosuch.sock' \
	    "$L4DD" -n -u root -c "$CTL" -s "$SOCK" -H "$PWD/nosuch.sock"
}
check_labels_cleanup()
{
	dd_cleanup
}

atf_test_case events cleanup
events_head()
{
	atf_set descr "a container's start adds its server within 2 s, stop and die remove it, wrong labels are logged"
	atf_set require.user root
	atf_set timeout 60
}
events_body()
{
	dd_init
	l4_setup pool other
	fake_docker
	start_dd
	atf_check_equal "$(nruntime pool)" 0

	container web1 --label l4d.backend=pool --label l4d.port=8081
	wait_for 2 has_server pool 127.0.0.1:8081 ||
	    atf_fail "web1's server not added within 2 s"
	container web2 --label l4d.backend=pool --label l4d.port=8082 \
	    --label l4d.weight=5 --label l4d.backup=true
	wait_for 2 has_server pool 127.0.0.1:8082 ||
	    atf_fail "web2's server not added within 2 s"
	servers pool | grep -q '^127.0.0.1:8082 runtime weight 5 backup' ||
	    atf_fail "web2's weight and backup: $(servers pool | tr "\n" ";")"
	container db --label l4d.backend=other --label l4d.port=5432 \
	    --network net1=172.18.0.7
	wait_for 2 has_server other 172.18.0.7:5432 ||
	    atf_fail "db's server (on its network) not added"

	stop_container web1
	wait_for 2 lacks_server pool 127.0.0.1:8081 ||
	    atf_fail "web1's server not removed within 2 s"
	has_server pool 127.0.0.1:8082 || atf_fail "web2's server went too"
	wait_log 'removed server 127.0.0.1:8081 from backend pool \(container web1 \([0-9a-f]{12}\): die\)' \
	    2 l4d-docker.log || atf_fail "no log line for web1's removal"
	# the server in the file is l4d-docker's to leave alone
	servers pool | grep -q '^127.0.0.2:9 file' ||
	    atf_fail "the file's server went: $(servers pool | tr "\n" ";")"

	# wrong labels: loud, named, nothing added
	n=$(servers pool | wc -l)
	container ghost --label l4d.backend=nosuch --label l4d.port=9000
	container portless --label l4d.backend=pool
	wait_log 'container ghost \([0-9a-f]{12}\): label l4d.backend=nosuch: l4d has no backend nosuch; no server added' \
	    5 l4d-docker.log || atf_fail "no error for ghost"
	wait_log 'container portless \([0-9a-f]{12}\): label l4d.port is missing .*no server added' \
	    5 l4d-docker.log || atf_fail "no error for portless"
	atf_check_equal "$(servers pool | wc -l)" "$n"
	grep -q 'server add nosuch' "$SOCK.log" &&
	    atf_fail "it tried to add to a backend l4d does not have"

	# a container that starts again comes back
	container web1 --label l4d.backend=pool --label l4d.port=8081
	wait_for 2 has_server pool 127.0.0.1:8081 ||
	    atf_fail "web1's server not added again"
	return 0
}
events_cleanup()
{
	dd_cleanup
}

atf_test_case resync cleanup
resync_head()
{
	atf_set descr "restarted, or back after losing Docker, l4d-docker adds what runs and removes the stale servers"
	atf_set require.user root
	atf_set timeout 90
}
resync_body()
{
	dd_init
	l4_setup pool
	fake_docker
	container web1 --label l4d.backend=pool --label l4d.port=8081
	container web2 --label l4d.backend=pool --label l4d.port=8082
	start_dd -r 1
	has_server pool 127.0.0.1:8081 || atf_fail "web1 not added at start"
	has_server pool 127.0.0.1:8082 || atf_fail "web2 not added at start"

	# l4d restarted (its runtime servers are gone): the next periodic
	# resync (-r 1) puts them back, without any event from Docker
	l4_setup pool
	wait_for 3 has_server pool 127.0.0.1:8081 ||
	    atf_fail "web1 not back after l4d's restart"
	wait_for 3 has_server pool 127.0.0.1:8082 ||
	    atf_fail "web2 not back after l4d's restart"

	# killed; meanwhile web1 stops and web3 starts
	adds=$(grep -c 'server add pool 127.0.0.1:8082' "$SOCK.log")
	kill -KILL "$(cat l4d-docker.pid)"
	wait_for 5 not_alive "$(cat l4d-docker.pid)" || atf_fail "not killed"
	stop_container web1
	container web3 --label l4d.backend=pool --label l4d.port=8083
	start_dd
	lacks_server pool 127.0.0.1:8081 ||
	    atf_fail "the stale server of web1 is still there: $(servers pool | tr "\n" ";")"
	has_server pool 127.0.0.1:8082 || atf_fail "web2 went"
	has_server pool 127.0.0.1:8083 || atf_fail "web3 not added"
	log_has 'removed server 127.0.0.1:8081 from backend pool \(resync' \
	    l4d-docker.log || atf_fail "no log line for the stale server"
	# web2 was there already: not added twice
	atf_check_equal "$(grep -c 'server add pool 127.0.0.1:8082' \
	    "$SOCK.log")" "$adds"

	# the events stream drops; web2 stops before it is back
	n=$(log_count 'resync: ' l4d-docker.log)
	$PY "$FAKEDOCKER" drop "$PWD"
	wait_log 'lost the events stream' 5 l4d-docker.log ||
	    atf_fail "the drop was not noticed"
	stop_container web2
	wait_resync "$n"
	wait_for 2 lacks_server pool 127.0.0.1:8082 ||
	    atf_fail "web2's server still there after the resync"

	# Docker itself goes away and comes back: bounded backoff
	kill "$(cat dockerfake.pid)"
	wait_for 5 not_alive "$(cat dockerfake.pid)"
	$PY "$FAKEDOCKER" drop "$PWD"
	stop_container web3
	n=$(log_count 'resync: ' l4d-docker.log)
	wait_log 'again in 1000 ms' 10 l4d-docker.log ||
	    atf_fail "no backoff: $(tail -5 l4d-docker.log | tr "\n" ";")"
	rm -f drop
	fake_docker
	wait_resync "$n"
	wait_for 2 lacks_server pool 127.0.0.1:8083 ||
	    atf_fail "web3's server still there after Docker came back"
	alive "$(cat l4d-docker.pid)" || atf_fail "l4d-docker died"
}
resync_cleanup()
{
	dd_cleanup
}

atf_test_case limits cleanup
limits_head()
{
	atf_set descr "an event line over 64 KiB or a broken response drops the stream, and l4d-docker goes on"
	atf_set require.user root
	atf_set timeout 60
}
limits_body()
{
	dd_init
	l4_setup pool
	fake_docker
	start_dd
	# 1 MB of short events in two chunks: many lines, none too long
	$PY -c '
import json
for i in range(5000):
    print(json.dumps({"Type": "container", "Action": "attach",
                      "Actor": {"ID": "%064x" % i}, "pad": "p" * 150}))
' >>events
	container web0 --label l4d.backend=pool --label l4d.port=8080
	wait_for 5 has_server pool 127.0.0.1:8080 ||
	    atf_fail "web0 not added after 1 MB of events"
	log_has 'lost the events stream' l4d-docker.log &&
	    atf_fail "the stream was dropped: $(grep lost l4d-docker.log | tr "\n" ";")"
	n=$(log_count 'resync: ' l4d-docker.log)
	$PY -c 'print("{\"x\":\"" + "a" * 70000 + "\"}")' >>events
	wait_log 'lost the events stream .*\(line too long\)' 5 \
	    l4d-docker.log || atf_fail "a 70 kB line was taken"
	wait_resync "$n"
	n=$(log_count 'resync: ' l4d-docker.log)
	echo '{"Type": not json' >>events
	wait_log 'events: bad JSON' 5 l4d-docker.log ||
	    atf_fail "bad JSON not reported"
	wait_resync "$n"
	container web1 --label l4d.backend=pool --label l4d.port=8081
	wait_for 2 has_server pool 127.0.0.1:8081 ||
	    atf_fail "no server added after the errors"
}
limits_cleanup()
{
	dd_cleanup
}

atf_test_case privileges cleanup
privileges_head()
{
	atf_set descr "started as root, l4d-docker runs as its own user (-u)"
	atf_set require.user root
	atf_set timeout 60
}
privileges_body()
{
	dd_init
	atf_check -s exit:1 -e match:'unknown user nosuchuser' \
	    "$L4DD" -n -u nosuchuser -H "$PWD/docker.sock"
	id _l4ddocker >/dev/null 2>&1 ||
	    useradd -r -M -s /usr/sbin/nologin -d /var/empty _l4ddocker ||
	    atf_fail "cannot create user _l4ddocker"
	# everything in a directory the user may use, as a docker group and
	# l4d's control socket group would allow
	mkdir -m 0755 run
	chown _l4ddocker run
	SOCK=$PWD/run/l4d.sock
	l4_setup pool
	: >"$SOCK.log"
	chown _l4ddocker "$SOCK.state" "$SOCK.log"
	$PY "$FAKEDOCKER" serve --socket "$PWD/run/docker.sock" \
	    --dir "$PWD" --ready docker.ready >dockerfake.log 2>&1 &
	echo $! >dockerfake.pid
	wait_for 10 test -e docker.ready || atf_fail "no fake Docker"
	chgrp "$(id -g _l4ddocker)" run/docker.sock
	container web1 --label l4d.backend=pool --label l4d.port=8081
	d=$PWD
	while [ "$d" != / ]; do
		[ "$(stat -c %a "$d" | cut -c3)" -ge 1 ] ||
		    atf_skip "$d is not searchable by other users"
		d=$(dirname "$d")
	done
	"$L4DD" -d -c "$CTL" -s "$SOCK" -H "$PWD/run/docker.sock" \
	    >>l4d-docker.log 2>&1 </dev/null &
	echo $! >l4d-docker.pid
	wait_for 5 has_server pool 127.0.0.1:8081 ||
	    atf_fail "nothing added as _l4ddocker: $(tail -1 l4d-docker.log)"
	atf_check_equal "$(stat -c %U /proc/$(cat l4d-docker.pid))" _l4ddocker
	grep -q "^Groups:.*\b0\b" /proc/$(cat l4d-docker.pid)/status &&
	    atf_fail "it kept root's group"
	return 0
}
privileges_cleanup()
{
	dd_cleanup
}

# docker_up: a dockerd of the case's own (its directories under a short
# /tmp path: unix socket paths are short), no bridge, no iptables, and an
# image made from busybox-static.  Skips with dockerd's own error lines
# if it cannot run here.
docker_up()
{
	command -v dockerd >/dev/null 2>&1 ||
	    atf_skip "no dockerd (apt-get install docker.io)"
	DOCKER=/usr/bin/docker
	[ -x "$DOCKER" ] || DOCKER=$(command -v docker) ||
	    atf_skip "no docker client"
	BB=/bin/busybox
	[ -x "$BB" ] && ldd "$BB" 2>&1 | grep -q 'not a dynamic' ||
	    atf_skip "no static busybox (apt-get install busybox-static)"
	DD_DIR=$(mktemp -d /tmp/l4dd.XXXXXX) || atf_fail "mktemp"
	echo "$DD_DIR" >dockerdir
	echo '{}' >"$DD_DIR/daemon.json"
	dockerd --config-file "$DD_DIR/daemon.json" \
	    --data-root "$DD_DIR/data" --exec-root "$DD_DIR/exec" \
	    --pidfile "$DD_DIR/dockerd.pid" -H "unix://$DD_DIR/docker.sock" \
	    --bridge none --iptables=false --ip6tables=false \
	    --storage-driver vfs >dockerd.log 2>&1 </dev/null &
	echo $! >dockerd.id
	export DOCKER_HOST="unix://$DD_DIR/docker.sock"
	if ! wait_for 30 "$DOCKER" version; then
		atf_skip "dockerd does not run here: $(grep -E \
		    'level=(error|fatal)|^failed' dockerd.log | tail -3)"
	fi
	mkdir -p image/bin
	cp "$BB" image/bin/busybox
	tar -C image -cf busybox.tar . || atf_fail "tar"
	"$DOCKER" import busybox.tar l4dtest/busybox:1 >/dev/null ||
	    atf_fail "docker import failed"
}

# docker_down: remove the containers, stop dockerd (and its containerd),
# unmount and remove what it made.
docker_down()
{
	[ -f dockerdir ] || return 0
	DD_DIR=$(cat dockerdir)
	export DOCKER_HOST="unix://$DD_DIR/docker.sock"
	if [ -f dockerd.id ]; then
		_dd_c=$(/usr/bin/docker ps -aq 2>/dev/null)
		[ -z "$_dd_c" ] || /usr/bin/docker rm -f $_dd_c >/dev/null 2>&1
		_dd_p=$(cat dockerd.id)
		kill -TERM "$_dd_p" 2>/dev/null
		wait_for 30 not_alive "$_dd_p" || kill -KILL "$_dd_p"
	fi
	if [ -f "$DD_DIR/exec/containerd/containerd.pid" ]; then
		_dd_p=$(cat "$DD_DIR/exec/containerd/containerd.pid")
		if alive "$_dd_p"; then
			kill -TERM "$_dd_p"
			wait_for 10 not_alive "$_dd_p" || kill -KILL "$_dd_p"
		fi
	fi
	# a shim left behind, and the container processes under it
	for _dd_p in $(pgrep -f "containerd-shim.* -address $DD_DIR/"); do
		for _dd_q in $(pgrep -P "$_dd_p"); do
			kill -KILL "$_dd_q"
		done
		kill -KILL "$_dd_p"
	done
	awk -v d="$DD_DIR/" 'index($2, d) == 1 { print $2 }' /proc/mounts |
	    sort -r | while read -r _dd_m; do
		umount "$_dd_m" || umount -l "$_dd_m"
	done
	case $DD_DIR in
	/tmp/l4dd.*) rm -rf "$DD_DIR" ;;
	esac
}

# run_web NAME PORT [docker run options]: a container with host
# networking whose busybox httpd on 127.0.0.1:PORT serves /id = NAME.
run_web()
{
	_rw_n=$1
	_rw_p=$2
	shift 2
	"$DOCKER" run -d --name "$_rw_n" --network host "$@" \
	    l4dtest/busybox:1 /bin/busybox sh -c "mkdir -p /w && echo $_rw_n \
	    >/w/id && exec /bin/busybox httpd -f -p 127.0.0.1:$_rw_p -h /w" \
	    >/dev/null || atf_fail "docker run $_rw_n failed"
}

# answers ADDRESS NAME: a session to the server reaches that container.
# (With the real l4d, the merger points this at l4d's listener.)
answers()
{
	$PY - "$1" "$2" <<'PYEOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(b"GET /id HTTP/1.0\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
sys.exit(0 if data.rstrip().endswith(sys.argv[2].encode()) else 1)
PYEOF
}

# l4_real LISTENPORT: the real l4d, a listener on 127.0.0.1:LISTENPORT to
# backend pool, whose one file server is disabled, so that sessions go to
# the containers' runtime servers only; CTL and SOCK become l4d's.
l4_real()
{
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - { name: front, listen: "127.0.0.1:$1", backend: pool }
backends:
  - name: pool
    retries: 1
    servers: [ { address: "127.0.0.2:9" } ]
EOF
	} >l4d.conf
	start_l4d
	CTL=$L4CTL
	SOCK=$PWD/l4d.sock
	"$CTL" -s "$SOCK" server disable pool 127.0.0.2:9 >/dev/null ||
	    atf_fail "server disable"
}

# spread N: which containers N sessions through l4d reach, "COUNT ID"
# a line.
spread()
{
	for _i in $(seq "$1"); do
		$PY - "127.0.0.1:$lp" <<'PYEOF'
import socket, sys
host, port = sys.argv[1].rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(b"GET /id HTTP/1.0\r\n\r\n")
data = b""
while True:
    b = s.recv(4096)
    if not b:
        break
    data += b
print(data.rstrip().split(b"\n")[-1].decode(errors="replace"))
PYEOF
	done | sort | uniq -c | sed 's/^ *//'
}

# The issue's end-to-end test: the real dockerd, l4d-docker and l4d;
# sessions go through l4d's listener to the containers.
atf_test_case real_docker cleanup
real_docker_head()
{
	atf_set descr "a real dockerd on loopback, l4d-docker and l4d: labelled containers come and go as servers, sessions through l4d are balanced over them, a resync removes a stale one"
	atf_set require.user root
	atf_set timeout 240
}
real_docker_body()
{
	dd_init
	docker_up
	set -- $(free_ports 3)
	p1=$1
	p2=$2
	lp=$3
	l4_real "$lp"
	start_dd -H "$DD_DIR/docker.sock"

	run_web c1 "$p1" --label l4d.backend=pool --label "l4d.port=$p1"
	wait_for 2 has_server pool "127.0.0.1:$p1" ||
	    atf_fail "c1's server not added within 2 s: $(servers pool | tr "\n" ";")"
	wait_for 5 answers "127.0.0.1:$lp" c1 ||
	    atf_fail "no session through l4d reaches c1"
	run_web c2 "$p2" --label l4d.backend=pool --label "l4d.port=$p2" \
	    --label l4d.weight=2
	wait_for 2 has_server pool "127.0.0.1:$p2" ||
	    atf_fail "c2's server not added within 2 s"
	wait_for 5 answers "127.0.0.1:$p2" c2 || atf_fail "c2 does not answer"
	# the balancer uses both, weight 1 and 2: 3 and 6 of 9
	spread 9 >spread1.out
	grep -qx '3 c1' spread1.out && grep -qx '6 c2' spread1.out ||
	    atf_fail "sessions through l4d: $(tr '\n' ';' <spread1.out)"

	# three sessions held open through l4d (a request not ended yet):
	# one on c1, two on c2, by the weights
	$PY - "127.0.0.1:$lp" 3 held.ready held.go >held.out 2>&1 <<'PYEOF' &
import os, socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
socks = []
for _ in range(int(sys.argv[2])):
    s = socket.create_connection((host, int(port)), timeout=20)
    s.sendall(b"GET /id HTTP/1.0\r\n")
    socks.append(s)
open(sys.argv[3], "w").close()
deadline = time.monotonic() + 20
while not os.path.exists(sys.argv[4]) and time.monotonic() < deadline:
    time.sleep(0.05)
for s in socks:
    try:
        s.sendall(b"\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        print(data.rstrip().split(b"\n")[-1].decode(errors="replace")
              if data else "closed")
    except OSError as e:
        print("error", e)
PYEOF
	echo $! >held.pid
	wait_for 10 test -e held.ready || atf_fail "held: $(cat held.out)"

	"$DOCKER" stop -t 1 c1 >/dev/null || atf_fail "docker stop c1"
	wait_for 2 removed_or_gone pool "127.0.0.1:$p1" ||
	    atf_fail "c1's server not removed within 2 s: $(server_state pool "127.0.0.1:$p1")"
	has_server pool "127.0.0.1:$p2" || atf_fail "c2's server went too"
	# the session on c1 ended with its server, as a close (no reset, no
	# kill by l4d); the two on c2 go on and answer
	wait_log "access .*listener=front .*server=127\\.0\\.0\\.1:$p1 .*cause=server-closed" 10 ||
	    atf_fail "c1's held session: $(grep access l4d.log | tail -n 3 | tr '\n' ';')"
	touch held.go
	wait_for 20 not_alive "$(cat held.pid)" || atf_fail "held sessions hang"
	[ "$(grep -cx c2 held.out)" -eq 2 ] ||
	    atf_fail "the sessions on c2: $(tr '\n' ';' <held.out)"
	# drained: c1's server is gone once its last session ended
	wait_for 10 lacks_server pool "127.0.0.1:$p1" ||
	    atf_fail "c1's server still shown: $(server_state pool "127.0.0.1:$p1")"
	# new sessions go to c2 alone
	spread 6 >spread2.out
	grep -qx '6 c2' spread2.out ||
	    atf_fail "after c1 stopped: $(tr '\n' ';' <spread2.out)"

	# wrong labels: the error names the container; nothing is added
	n=$(servers pool | wc -l)
	run_web bad1 "$p1" --label l4d.backend=nosuch --label "l4d.port=$p1"
	wait_log 'container bad1 \([0-9a-f]{12}\): label l4d.backend=nosuch: l4d has no backend nosuch' \
	    5 l4d-docker.log || atf_fail "no error for bad1"
	"$DOCKER" rm -f bad1 >/dev/null
	run_web bad2 "$p1" --label l4d.backend=pool
	wait_log 'container bad2 \([0-9a-f]{12}\): label l4d.port is missing' \
	    5 l4d-docker.log || atf_fail "no error for bad2"
	atf_check -s exit:1 -o match:"^container c2: backend pool server 127.0.0.1:$p2 weight 2" \
	    -e match:'container bad2 .*l4d.port is missing' \
	    "$L4DD" -n -u root -c "$CTL" -s "$SOCK" -H "$DD_DIR/docker.sock"
	atf_check_equal "$(servers pool | wc -l)" "$n"
	"$DOCKER" rm -f bad2 >/dev/null

	# l4d-docker killed; c2 stops meanwhile: the resync removes it
	kill -KILL "$(cat l4d-docker.pid)"
	wait_for 5 not_alive "$(cat l4d-docker.pid)" || atf_fail "not killed"
	"$DOCKER" stop -t 1 c2 >/dev/null || atf_fail "docker stop c2"
	has_server pool "127.0.0.1:$p2" || atf_fail "c2's server went early"
	start_dd -H "$DD_DIR/docker.sock"
	lacks_server pool "127.0.0.1:$p2" ||
	    atf_fail "the stale server of c2 is still there: $(servers pool | tr "\n" ";")"
	# and c1, started again, is back
	"$DOCKER" start c1 >/dev/null || atf_fail "docker start c1"
	wait_for 2 has_server pool "127.0.0.1:$p1" ||
	    dd_fail "c1's server not added again"
	wait_for 5 answers "127.0.0.1:$lp" c1 ||
	    atf_fail "no session through l4d reaches c1 after its restart"
	return 0
}
real_docker_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	docker_down
	l4d_cleanup
}

atf_init_test_cases()
{
	atf_add_test_case check_labels
	atf_add_test_case events
	atf_add_test_case resync
	atf_add_test_case limits
	atf_add_test_case privileges
	atf_add_test_case real_docker
}
