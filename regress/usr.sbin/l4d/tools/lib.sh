# Shared shell helpers for the l4d black-box tests (t_*.sh), sourced by
# every test body and cleanup routine:
#
#	. "$(atf_get_srcdir)/tools/lib.sh"
#
# Conventions: atf runs each case in its own work directory; every process
# a case starts in the background writes its pid to a *.pid file there, and
# the cleanup routine (l4d_cleanup) kills exactly those pids.  Every wait
# is a bounded poll (wait_for), never a bare sleep.

SRCDIR=$(atf_get_srcdir)
TOP=$SRCDIR/../../..
# L4D_DAEMON=l4d-event: the build with libevent's poller (poll_event.c)
L4D=$TOP/usr.sbin/l4d/${L4D_DAEMON:-l4d}
L4CTL=$TOP/usr.sbin/l4ctl/l4ctl
TOOLS=$SRCDIR/tools
CLIENT=$TOOLS/client.py
if [ -x /usr/bin/python3 ]; then
	PY=/usr/bin/python3
else
	PY=python3
fi

# Check that the binaries are there and that the unprivileged user and the
# chroot directory exist (make deps creates them; create them if not).
l4d_init()
{
	[ -x "$L4D" ] || atf_fail "$L4D is not built (make all)"
	if ! id _l4d >/dev/null 2>&1; then
		useradd -r -M -s /usr/sbin/nologin -d /var/empty _l4d ||
		    atf_fail "cannot create user _l4d"
	fi
	[ -d /var/empty ] || mkdir -p /var/empty ||
	    atf_fail "cannot create /var/empty"
}

# wait_for SECONDS COMMAND [ARG...]: poll COMMAND every 50 ms until it
# succeeds; return 1 if it did not within SECONDS.
wait_for()
{
	_wf_n=$(($1 * 20))
	shift
	while ! "$@" >/dev/null 2>&1; do
		_wf_n=$((_wf_n - 1))
		[ "$_wf_n" -gt 0 ] || return 1
		sleep 0.05
	done
	return 0
}

# log_has ERE [FILE]: the log (default l4d.log) has a line matching ERE.
log_has()
{
	grep -Eq -- "$1" "${2:-l4d.log}"
}

# wait_log ERE [SECONDS] [FILE]
wait_log()
{
	wait_for "${2:-10}" log_has "$1" "${3:-l4d.log}"
}

# log_count ERE [FILE]: number of matching lines.
log_count()
{
	grep -Ec -- "$1" "${2:-l4d.log}" || true
}

# log_count_is N ERE [FILE]: exactly N lines match.
log_count_is()
{
	[ "$(log_count "$2" "${3:-l4d.log}")" -eq "$1" ]
}

# free_ports N [ADDRESS]: N distinct free ports, space separated.
free_ports()
{
	$PY "$TOOLS/freeport.py" "$1" "${2:-127.0.0.1}"
}

# start_server NAME MODE ADDR:PORT [servers.py options]: start a backend
# in the background (NAME.pid, NAME.log) and wait until it listens.
start_server()
{
	_ss_name=$1
	_ss_mode=$2
	_ss_addr=$3
	shift 3
	rm -f "$_ss_name.ready"
	$PY "$TOOLS/servers.py" "$_ss_mode" --listen "$_ss_addr" \
	    --ready "$_ss_name.ready" "$@" >"$_ss_name.log" 2>&1 </dev/null &
	echo $! >"$_ss_name.pid"
	if ! wait_for 10 test -e "$_ss_name.ready"; then
		cat "$_ss_name.log" >&2
		atf_fail "server $_ss_name ($_ss_mode on $_ss_addr) did not start"
	fi
}

# client COMMAND [client.py options]: run the client in the foreground.
client()
{
	$PY "$TOOLS/client.py" "$@"
}

# cfg_head RELAYS ZERO_COPY: the top of a configuration for a test;
# L4D_ZERO_COPY, when set, overrides ZERO_COPY (the _sockmap variants).
cfg_head()
{
	cat <<EOF
user: _l4d
chroot: /var/empty
relays: $1
zero_copy: ${L4D_ZERO_COPY:-$2}
control: $PWD/l4d.sock
log: { level: info, access: true }
EOF
}

# kind_pids PARENT KIND: the pids of the parent's children of a kind
# ("relay", "tls"), by their process title, one a line.
kind_pids()
{
	for _kp in $(pgrep -P "$1"); do
		tr '\0' ' ' <"/proc/$_kp/cmdline" 2>/dev/null |
		    grep -q "^l4d: $2 " && echo "$_kp"
	done | sort -n
}

# relay_pids PARENT: the pids of the parent's relays, one a line.
relay_pids()
{
	kind_pids "$1" relay
}

# early_sessions N LP OUT [ARGS]: N clients, one after the other,
# connect to 127.0.0.1:LP and send a line while the relays are stopped
# (client.py early: the line is there when they accept), and each
# prints OUT.
early_sessions()
{
	_es_pids=$(relay_pids "$(cat l4d.pid)" | paste -sd, -)
	_es_n=$1 _es_lp=$2 _es_out=$3
	shift 3
	for _es_i in $(seq "$_es_n"); do
		atf_check -s exit:0 -o inline:"$_es_out\n" -e empty \
		    $PY "$CLIENT" early --connect "127.0.0.1:$_es_lp" \
		    --timeout 20 --pids "$_es_pids" "$@"
	done
}

# engine_pids PARENT: the pids of its TLS engines.
engine_pids()
{
	kind_pids "$1" tls
}

# sessions_at_server N PORT...: at least N established TCP connections
# with one of these local ports (the server side of l4d's backend
# connections).
sessions_at_server()
{
	_sa_n=$1
	shift
	_sa_f=
	for _sa_p; do
		_sa_f="$_sa_f${_sa_f:+ or }sport = :$_sa_p"
	done
	[ "$(ss -Htn state established "( $_sa_f )" | wc -l)" -ge "$_sa_n" ]
}

# proc_state PID: the state letter from /proc/PID/stat (empty if gone).
proc_state()
{
	sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1
}

# alive PID: the process exists and is not a zombie.
alive()
{
	_al_s=$(proc_state "$1")
	[ -n "$_al_s" ] && [ "$_al_s" != Z ]
}

not_alive()
{
	! alive "$1"
}

# cpu_ticks PID: utime + stime of the process in clock ticks.
cpu_ticks()
{
	sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

# start_l4d [CONFIG]: start l4d in the foreground mode, in the background
# (l4d.pid, l4d.log), wait until it logs "ready:", record its children in
# relays.pid.
start_l4d()
{
	"$L4D" -d -f "${1:-l4d.conf}" >l4d.log 2>&1 </dev/null &
	echo $! >l4d.pid
	l4d_wait_ready
}

l4d_wait_ready()
{
	if ! wait_log 'ready:' 10; then
		cat l4d.log >&2
		atf_fail "l4d did not log 'ready:' within 10 s"
	fi
	relay_pids "$(cat l4d.pid)" >relays.pid
	engine_pids "$(cat l4d.pid)" >engines.pid
}

# TERM every recorded pid, wait up to 5 s, then KILL what is left.
l4d_stop_all()
{
	_cl_pids=
	for _cl_f in *.pid; do
		[ -f "$_cl_f" ] || continue
		_cl_pids="$_cl_pids $(cat "$_cl_f")"
	done
	[ -n "$_cl_pids" ] || return 0
	for _cl_p in $_cl_pids; do
		kill -TERM "$_cl_p" 2>/dev/null
	done
	_cl_n=100
	while [ $_cl_n -gt 0 ]; do
		_cl_alive=
		for _cl_p in $_cl_pids; do
			alive "$_cl_p" && _cl_alive="$_cl_alive $_cl_p"
		done
		[ -n "$_cl_alive" ] || return 0
		sleep 0.05
		_cl_n=$((_cl_n - 1))
	done
	for _cl_p in $_cl_alive; do
		kill -KILL "$_cl_p" 2>/dev/null
	done
	return 0
}

# Cleanup: stop everything, then fail the case (kyua reports a failed
# cleanup) if any l4d process printed a sanitizer report, or the parent
# logged a child killed by its syscall sandbox: relays are chrooted and
# restarted quietly, so both only reach the log.
l4d_cleanup()
{
	l4d_stop_all
	for _cl_log in l4d*.log; do
		[ -f "$_cl_log" ] || continue
		if grep -qE 'Sanitizer|runtime error:|\(SIGSYS\): sandbox' \
		    "$_cl_log"; then
			cat "$_cl_log" >&2
			return 1
		fi
	done
	return 0
}
