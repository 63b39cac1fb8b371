#!/bin/sh
# l4d demo (`make run`): start a demo backend on 127.0.0.1:9001 and :9002
# and two TLS demo backends, a.demo on 127.0.0.1:9443 and b.demo on
# :9444 (their self-signed certificates are made with openssl at the
# first run, in scripts/demo/certs/), then run l4d in the foreground on
# scripts/demo/l4d-demo.conf, which forwards 127.0.0.1:8040 to the
# first two and routes 127.0.0.1:8443 to a.demo or b.demo by SNI.
# Ctrl-C stops them all.
set -eu

cd "$(dirname "$0")/.."

L4D=usr.sbin/l4d/l4d
L4CTL=usr.sbin/l4ctl/l4ctl
CONF=scripts/demo/l4d-demo.conf
SOCK=/tmp/l4d-demo.sock
BACKEND=scripts/demo/backend.py
TLSBACKEND=scripts/demo/tlsbackend.py
CERTS=scripts/demo/certs
MKCERTS=regress/usr.sbin/l4d/tools/mkcerts.sh

for f in "$L4D" "$L4CTL"; do
	if [ ! -x "$f" ]; then
		echo "run-demo: $f is not built; run make first" >&2
		exit 1
	fi
done

if ! command -v openssl >/dev/null 2>&1; then
	echo "run-demo: openssl is missing (it makes the demo certificates);" \
	    "run 'make deps' first" >&2
	exit 1
fi

bpid=
tpid=
tmpconf=
# shellcheck disable=SC2317	# called from the trap
cleanup() {
	for p in $bpid $tpid; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[ -z "$tmpconf" ] || rm -f "$tmpconf"
}
trap cleanup EXIT
# While l4d runs in the foreground, Ctrl-C reaches it too; let it stop
# cleanly, then clean up behind it.
trap 'echo "run-demo: interrupted" >&2' INT TERM

if [ "$(id -u)" -eq 0 ]; then
	if ! id _l4d >/dev/null 2>&1 || [ ! -d /var/empty ]; then
		echo "run-demo: user _l4d or /var/empty is missing;" \
		    "run 'make deps' first" >&2
		exit 1
	fi
	echo "run-demo: running as root: the relays drop to _l4d in /var/empty"
else
	echo "run-demo: not root: l4d cannot drop privileges and runs" \
	    "everything as $(id -un) (it logs a warning saying so)"
	if ! id _l4d >/dev/null 2>&1 || [ ! -d /var/empty ]; then
		# Same configuration, with a user and directory that exist.
		tmpconf=$(mktemp "${TMPDIR:-/tmp}/l4d-demo.XXXXXX")
		sed -e "s|^user: _l4d |user: $(id -un) |" \
		    -e "s|^chroot: /var/empty |chroot: / |" "$CONF" >"$tmpconf"
		CONF=$tmpconf
	fi
fi

# Is something still answering on the demo control socket?
sock_alive() {
	python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
except OSError:
    sys.exit(1)
EOF
}
if [ -S "$SOCK" ]; then
	if sock_alive "$SOCK"; then
		echo "run-demo: an l4d is already using $SOCK; stop it first" >&2
		exit 1
	fi
	rm -f "$SOCK"	# left over by a demo that did not exit cleanly
fi

# The TLS backends' certificates, made once (delete the directory to
# make new ones).
for name in a.demo b.demo; do
	if [ ! -s "$CERTS/$name.crt" ] || [ ! -s "$CERTS/$name.key" ]; then
		echo "run-demo: making a self-signed certificate for $name in $CERTS"
		sh "$MKCERTS" self "$CERTS" "$name"
	fi
	if [ ! -r "$CERTS/$name.key" ]; then
		echo "run-demo: cannot read $CERTS/$name.key (made by another" \
		    "user?); remove $CERTS to make new ones" >&2
		exit 1
	fi
done

# ports_up PORT...: something accepts on each of them.
ports_up() {
	python3 - "$@" <<'EOF'
import socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=0.2).close()
    except OSError:
        sys.exit(1)
EOF
}

# wait_up NAME PID PORT...: wait until the backend PID accepts on its
# ports (5 s at most).
wait_up() {
	_name=$1
	_pid=$2
	shift 2
	i=0
	until ports_up "$@"; do
		if ! kill -0 "$_pid" 2>/dev/null; then
			echo "run-demo: the $_name did not start" >&2
			exit 1
		fi
		i=$((i + 1))
		if [ $i -ge 50 ]; then
			echo "run-demo: the $_name does not answer on $*" >&2
			exit 1
		fi
		sleep 0.1
	done
}

python3 "$BACKEND" &
bpid=$!
wait_up "demo backend" "$bpid" 9001 9002
python3 "$TLSBACKEND" "$CERTS" a.demo:9443 b.demo:9444 &
tpid=$!
wait_up "TLS demo backend" "$tpid" 9443 9444

cat <<EOF

  l4d demo: 127.0.0.1:8040 -> demo backends 127.0.0.1:9001, 127.0.0.1:9002
  (roundrobin).  In another terminal, connect and type a line or two:

      socat - TCP:127.0.0.1:8040        (or: nc 127.0.0.1 8040)

  Each connection gets the banner of one backend, then its lines back in
  upper case; the backends take turns.

  127.0.0.1:8443 -> a.demo (127.0.0.1:9443) or b.demo (127.0.0.1:9444),
  chosen by the name the client asks for (SNI); TLS passes through:

      openssl s_client -connect 127.0.0.1:8443 -servername a.demo
      openssl s_client -connect 127.0.0.1:8443 -servername b.demo

  Each prints its backend's own certificate (CN = a.demo or b.demo) and
  its greeting; type a line, it comes back in upper case.  Without
  -servername the session is closed (no_sni: none, cause no-route).
  Look at the daemon with:

      $L4CTL -s $SOCK show summary
      $L4CTL -s $SOCK show sessions
      $L4CTL -s $SOCK show stats

  Every finished session is logged below as an access line.
  Ctrl-C stops l4d and the demo backends.

EOF

rc=0
"$L4D" -d -f "$CONF" || rc=$?
exit $rc
