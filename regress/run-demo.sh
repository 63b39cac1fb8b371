#!/bin/sh
# l4d demo (`make run`): start a demo backend on 127.0.0.1:9001 and :9002,
# then run l4d in the foreground on regress/demo/l4d-demo.conf, which
# forwards 127.0.0.1:8040 to them.  Ctrl-C stops both.
set -eu

cd "$(dirname "$0")/.."

L4D=usr.sbin/l4d/l4d
L4CTL=usr.sbin/l4ctl/l4ctl
CONF=regress/demo/l4d-demo.conf
SOCK=/tmp/l4d-demo.sock
BACKEND=regress/demo/backend.py

for f in "$L4D" "$L4CTL"; do
	if [ ! -x "$f" ]; then
		echo "run-demo: $f is not built; run make first" >&2
		exit 1
	fi
done

bpid=
tmpconf=
# shellcheck disable=SC2317	# called from the trap
cleanup() {
	if [ -n "$bpid" ]; then
		kill "$bpid" 2>/dev/null || true
		wait "$bpid" 2>/dev/null || true
	fi
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

# Wait until the backend accepts on both ports (5 s at most).
ports_up() {
	python3 - <<'EOF'
import socket, sys
for port in (9001, 9002):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
    except OSError:
        sys.exit(1)
EOF
}

python3 "$BACKEND" &
bpid=$!
i=0
until ports_up; do
	if ! kill -0 "$bpid" 2>/dev/null; then
		wait "$bpid" 2>/dev/null || true
		bpid=
		echo "run-demo: the demo backend did not start" >&2
		exit 1
	fi
	i=$((i + 1))
	if [ $i -ge 50 ]; then
		echo "run-demo: the demo backend does not answer on 9001/9002" >&2
		exit 1
	fi
	sleep 0.1
done

cat <<EOF

  l4d demo: 127.0.0.1:8040 -> demo backends 127.0.0.1:9001, 127.0.0.1:9002
  (roundrobin).  In another terminal, connect and type a line or two:

      socat - TCP:127.0.0.1:8040        (or: nc 127.0.0.1 8040)

  Each connection gets the banner of one backend, then its lines back in
  upper case; the backends take turns.  Look at the daemon with:

      $L4CTL -s $SOCK show summary

  Every finished session is logged below as an access line.
  Ctrl-C stops l4d and the demo backend.

EOF

rc=0
"$L4D" -d -f "$CONF" || rc=$?
exit $rc
