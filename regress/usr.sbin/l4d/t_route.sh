# l4d black-box tests: routing by the TLS ClientHello (SNI, ALPN), TLS
# passthrough, the hello reader's limits, and STARTTLS for PostgreSQL.
#
# Real clients and servers: openssl s_client, curl, nginx, psql and
# PostgreSQL clusters, Python TLS servers (tools/tlsserver.py), and
# crafted hellos (tools/hello.py).  Certificates are made in the case's
# work directory at test time (tools/mkcerts.sh).  Clients connect to
# 127.0.0.1, the backends listen on 127.0.0.2 (PostgreSQL: 127.0.0.1).

BULK=$((64 * 1024 * 1024))

# route_init: lib.sh, l4d_init, $HELLO (tools/hello.py) and $CTL.
route_init()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	HELLO=$TOOLS/hello.py
	# for atf_check, which runs programs, not functions
	CTL="$L4CTL -s $PWD/l4d.sock"
}

# need_cmd COMMAND...: skip the case if one of them is missing.
need_cmd()
{
	for _nc in "$@"; do
		command -v "$_nc" >/dev/null 2>&1 ||
		    atf_skip "$_nc is not installed (make deps installs it)"
	done
}

# alog: the access lines so far, on one line (atf_fail takes one).
alog()
{
	grep access l4d.log | tr '\n' '|'
}

# oneline FILE: FILE on one line.
oneline()
{
	tr '\n' '|' <"$1"
}

ctl()
{
	"$L4CTL" -s "$PWD/l4d.sock" "$@"
}

# stats_has ERE: l4ctl show stats prints a line matching ERE (saved in
# stats.out).
stats_has()
{
	ctl show stats >stats.out 2>&1 && grep -Eq -- "$1" stats.out
}

# sessions_ge N: l4ctl show sessions lists at least N sessions.
sessions_ge()
{
	[ "$(ctl show sessions | grep -Ec '^[0-9]+-[0-9]+ ')" -ge "$1" ]
}

# access_count_is N ERE: exactly N access lines match ERE.
access_count_is()
{
	log_count_is "$1" "access .*$2"
}

# elapsed FILE: the "elapsed S" that hello.py send printed.
elapsed()
{
	sed -n 's/^elapsed //p' "$1"
}

# selfcert NAME...: certs/NAME.crt and certs/NAME.key, self-signed.
selfcert()
{
	for _sc in "$@"; do
		sh "$TOOLS/mkcerts.sh" self certs "$_sc" ||
		    atf_fail "cannot make a certificate for $_sc"
	done
}

# start_tls ID ADDR:PORT CERTNAME: tools/tlsserver.py answering
# "hello from ID ..." with certs/CERTNAME.{crt,key}; ID.pid, ID.log.
start_tls()
{
	rm -f "$1.ready"
	$PY "$TOOLS/tlsserver.py" --listen "$2" --id "$1" \
	    --cert "certs/$3.crt" --key "certs/$3.key" --ready "$1.ready" \
	    --report tls.report >"$1.log" 2>&1 </dev/null &
	echo $! >"$1.pid"
	if ! wait_for 10 test -e "$1.ready"; then
		cat "$1.log" >&2
		atf_fail "TLS server $1 on $2 did not start"
	fi
}

# start_rec ID ADDR:PORT: hello.py serve, saving what each session sent
# to rec/ID-K.bin and answering "ID <n> <sha256>"; ID.pid, ID.log.
start_rec()
{
	mkdir -p rec
	rm -f "$1.ready"
	$PY "$HELLO" serve --listen "$2" --id "$1" --save-dir rec \
	    --ready "$1.ready" >"$1.log" 2>&1 </dev/null &
	echo $! >"$1.pid"
	if ! wait_for 10 test -e "$1.ready"; then
		cat "$1.log" >&2
		atf_fail "recording server $1 on $2 did not start"
	fi
}

# listening ADDR:PORT: something listens there.
listening()
{
	[ -n "$(ss -Hltn "src $1")" ]
}

# start_nginx ID ADDR:PORT CERTNAME: an nginx serving HTTPS with
# certs/CERTNAME, answering every request with "nginx ID CERTNAME";
# its prefix, configuration and logs in nginx-ID/, its master's pid in
# ID.pid (daemon off: the cleanup's TERM stops it and its worker).
start_nginx()
{
	_ng=$PWD/nginx-$1
	mkdir -p "$_ng"
	cat >"$_ng/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $_ng/nginx.pid;
error_log $_ng/error.log info;
events { worker_connections 64; }
http {
    access_log $_ng/access.log;
    client_body_temp_path $_ng/body;
    proxy_temp_path $_ng/proxy;
    fastcgi_temp_path $_ng/fastcgi;
    uwsgi_temp_path $_ng/uwsgi;
    scgi_temp_path $_ng/scgi;
    default_type text/plain;
    server {
        listen $2 ssl;
        server_name $3;
        ssl_certificate $PWD/certs/$3.crt;
        ssl_certificate_key $PWD/certs/$3.key;
        location / { return 200 "nginx $1 $3\n"; }
    }
}
EOF
	nginx -p "$_ng" -c "$_ng/nginx.conf" -e stderr >"$1.log" 2>&1 \
	    </dev/null &
	echo $! >"$1.pid"
	if ! wait_for 10 listening "$2"; then
		cat "$1.log" >&2
		atf_fail "nginx $1 did not listen on $2"
	fi
}

# fingerprint: the SHA-256 fingerprint of the first certificate on stdin.
fingerprint()
{
	openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
}

# $SCLIENT 127.0.0.1:PORT [options] </dev/null: one TLS session that
# sends nothing and reads until the server closes.
SCLIENT="openssl s_client -ign_eof -quiet -connect"

cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	_cu=0
	if [ -f pg.state ]; then
		sh "$TOOLS/pgclusters.sh" drop "$PWD/pg.state" || _cu=1
	fi
	l4d_cleanup || _cu=1
	return $_cu
}

meta()
{
	atf_set descr "$1"
	atf_set require.user root
	atf_set timeout "${2:-60}"
}

# poller_event NAME: case poller_event_NAME runs case NAME's body
# against l4d-event (libevent's poller, poll_event.c).
poller_event()
{
	atf_test_case "poller_event_$1" cleanup
	eval "poller_event_${1}_head() {
		meta \"libevent poller: \$(${1}_descr)\" 90; }
	poller_event_${1}_body() { L4D_DAEMON=l4d-event; ${1}_body; }
	poller_event_${1}_cleanup() { cleanup; }"
}

# ---------------------------------------------------------------------
# 1. openssl s_client reaches a backend by exact, wildcard and regex
#    name (priority before file order; ALPN with a name or alone), the
#    listener's backend without SNI or when no route matches; a
#    listener without a default closes a name that matches nothing
#    with cause no-route, and no_sni: none closes a hello without a
#    name and bytes that are no TLS.

atf_test_case sni_names cleanup
sni_names_head()
{
	meta "s_client -servername: exact, wildcard, regex, priority, ALPN, default, no-route"
}
sni_names_body()
{
	route_init
	need_cmd openssl
	set -- $(free_ports 3)
	lp=$1 lp2=$2 lp3=$3
	set -- $(free_ports 5 127.0.0.2)
	pe=$1 pw=$2 pr=$3 pd=$4 pa=$5
	selfcert a.test x.wild.test r1.re.test default.test alpn.test
	start_tls exact "127.0.0.2:$pe" a.test
	start_tls wild "127.0.0.2:$pw" x.wild.test
	start_tls regex "127.0.0.2:$pr" r1.re.test
	start_tls dflt "127.0.0.2:$pd" default.test
	start_tls h2only "127.0.0.2:$pa" alpn.test
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: tls
    listen: "127.0.0.1:$lp"
    backend: dflt
    routes:
      - { sni: a.test, tls: passthrough, backend: exact }
      - { sni: "*.wild.test", backend: wild }
      - { sni: "~^r[0-9]+\\\\.re\\\\.test\$", backend: regex }
      - { sni: "~^prio\\\\.wild\\\\.test\$", backend: regex, priority: 10 }
      - { sni: alpn.test, alpn: h2, backend: h2only }
      - { sni: alpn.test, backend: exact }
      - { alpn: acme-tls/1, backend: h2only }
  - name: strict
    listen: "127.0.0.1:$lp2"
    routes:
      - { sni: a.test, backend: exact }
  - name: nosni
    listen: "127.0.0.1:$lp3"
    backend: dflt
    no_sni: none
    routes:
      - { sni: a.test, backend: exact }
backends:
  - { name: exact, servers: [ { address: "127.0.0.2:$pe" } ] }
  - { name: wild, servers: [ { address: "127.0.0.2:$pw" } ] }
  - { name: regex, servers: [ { address: "127.0.0.2:$pr" } ] }
  - { name: dflt, servers: [ { address: "127.0.0.2:$pd" } ] }
  - { name: h2only, servers: [ { address: "127.0.0.2:$pa" } ] }
EOF
	} >l4d.conf
	start_l4d

	# NAME BACKEND [s_client options]: the backend names itself and the
	# SNI it got; "-": no SNI at all.
	while read -r name want opts; do
		if [ "$name" = - ]; then
			sn=-noservername
		else
			sn="-servername $name"
		fi
		# shellcheck disable=SC2086
		atf_check -s exit:0 -e ignore \
		    -o match:"^hello from $want sni=$name alpn=" \
		    $SCLIENT "127.0.0.1:$lp" $sn $opts </dev/null
	done <<EOF
a.test exact
A.Test exact
a.test. exact
x.wild.test wild
deep.y.z.wild.test wild
wild.test dflt
r1.re.test regex
r42.re.test regex
rx.re.test dflt
prio.wild.test regex
alpn.test h2only -alpn h2,http/1.1
alpn.test exact -alpn http/1.1
alpn.test exact
other.test dflt
- dflt
other.test h2only -alpn h2,acme-tls/1
- h2only -alpn acme-tls/1
EOF

	# The access log names the route's backend, the SNI (lower case, no
	# final dot) and the ALPN protocols offered.
	wait_for 10 access_count_is 17 "listener=tls " ||
	    atf_fail "expected 17 access lines on listener tls: $(alog)"
	al="access id=[0-9]+-[0-9]+ listener=tls client=127\.0\.0\.1:[0-9]+"
	for re in \
	    "$al backend=exact server=127\.0\.0\.2:$pe sni=a\.test alpn=- " \
	    "$al backend=wild server=127\.0\.0\.2:$pw sni=deep\.y\.z\.wild\.test alpn=- " \
	    "$al backend=regex server=127\.0\.0\.2:$pr sni=prio\.wild\.test alpn=- " \
	    "$al backend=h2only server=127\.0\.0\.2:$pa sni=alpn\.test alpn=h2,http/1\.1 " \
	    "$al backend=exact server=127\.0\.0\.2:$pe sni=alpn\.test alpn=http/1\.1 " \
	    "$al backend=dflt server=127\.0\.0\.2:$pd sni=- alpn=- in=[1-9][0-9]* out=[1-9][0-9]* duration=[0-9.]+s cause=(client|server)-closed" \
	    "$al backend=dflt server=127\.0\.0\.2:$pd sni=other\.test alpn=- " \
	    "$al backend=h2only server=127\.0\.0\.2:$pa sni=- alpn=acme-tls/1 "; do
		log_has "$re" || atf_fail "no access line matching '$re': $(alog)"
	done
	# a.test, A.Test, a.test. on the first route
	access_count_is 3 "listener=tls .*backend=exact .* sni=a\.test alpn=- " ||
	    atf_fail "expected 3 sessions for a.test: $(alog)"

	# No route and no default: closed, the backend never reached.
	atf_check -s not-exit:0 -o not-match:'hello from' -e ignore \
	    $SCLIENT "127.0.0.1:$lp2" -servername nomatch.test </dev/null
	wait_log "access id=[0-9-]+ listener=strict client=127\.0\.0\.1:[0-9]+ backend=- server=- sni=nomatch\.test alpn=- in=[0-9]+ out=0 duration=[0-9.]+s cause=no-route" ||
	    atf_fail "no access line with cause=no-route: $(alog)"
	# Without SNI: no_sni defaults to the listener's backend: none.
	atf_check -s not-exit:0 -o not-match:'hello from' -e ignore \
	    $SCLIENT "127.0.0.1:$lp2" -noservername </dev/null
	wait_log "access .*listener=strict .*backend=- server=- sni=- .*cause=no-route" ||
	    atf_fail "no no-route access line without SNI: $(alog)"
	atf_check -s exit:0 -e ignore -o match:'^hello from exact sni=a\.test' \
	    $SCLIENT "127.0.0.1:$lp2" -servername a.test </dev/null

	# no_sni: none beside a backend: an unknown name takes the backend,
	# a hello without SNI and bytes that are no TLS are closed.
	atf_check -s exit:0 -e ignore -o match:'^hello from dflt sni=other\.test' \
	    $SCLIENT "127.0.0.1:$lp3" -servername other.test </dev/null
	atf_check -s not-exit:0 -o not-match:'hello from' -e ignore \
	    $SCLIENT "127.0.0.1:$lp3" -noservername </dev/null
	atf_check -s exit:0 -o match:'^reply -$' -e empty \
	    $PY "$HELLO" send --connect "127.0.0.1:$lp3" --data 'PING\n' \
	    --no-shut --max 2 --timeout 5
	wait_for 10 access_count_is 2 "listener=nosni .*backend=- server=- sni=- alpn=- .*cause=no-route" ||
	    atf_fail "expected 2 no-route lines on listener nosni: $(alog)"

	atf_check -s exit:0 -o save:stats.out -e empty $CTL show stats
	grep -Eq '^listener strict sessions 3 .* no-route 2( |$)' stats.out ||
	    atf_fail "show stats: no 'listener strict ... no-route 2': $(oneline stats.out)"
	grep -Eq '^listener tls sessions 17 ' stats.out ||
	    atf_fail "show stats: no 'listener tls sessions 17': $(oneline stats.out)"
	grep -Eq '^listener nosni sessions 3 .* no-route 2( |$)' stats.out ||
	    atf_fail "show stats: no 'listener nosni ... no-route 2': $(oneline stats.out)"
	! grep -Eq '^listener tls .* no-route' stats.out ||
	    atf_fail "show stats: listener tls counts no-route: $(oneline stats.out)"
	# Each listener's route counters follow it, in match order.
	sed -n '/^listener tls /,/^listener strict /p' stats.out |
	    sed -n 's/^  route \(.*\) sessions \([0-9]*\) active .*/\1 \2/p' \
	    >route-stats.out
	cat >route-stats.want <<'EOF'
~^prio\.wild\.test$ 1
a.test 3
*.wild.test 2
~^r[0-9]+\.re\.test$ 2
alpn.test alpn=h2 1
alpn.test 2
alpn=acme-tls/1 2
no_sni 1
default 3
EOF
	diff -u route-stats.want route-stats.out >route-stats.diff ||
	    atf_fail "show stats route lines: $(oneline route-stats.diff)"

	# show summary: the routes in match order (priority 10 first).
	atf_check -s exit:0 -o save:summary.out -e empty $CTL show summary
	sed -n '/^listener tls /,/^[^ ]/p' summary.out |
	    grep -E '^  (route|no_sni)' >routes.out
	cat >routes.want <<'EOF'
  route ~^prio\.wild\.test$ backend regex passthrough priority 10
  route a.test backend exact passthrough priority 0
  route *.wild.test backend wild passthrough priority 0
  route ~^r[0-9]+\.re\.test$ backend regex passthrough priority 0
  route alpn.test alpn=h2 backend h2only passthrough priority 0
  route alpn.test backend exact passthrough priority 0
  route alpn=acme-tls/1 backend h2only passthrough priority 0
  no_sni backend dflt
EOF
	diff -u routes.want routes.out >routes.diff ||
	    atf_fail "show summary routes: $(oneline routes.diff)"
	[ "$(grep -c '^  no_sni none$' summary.out)" = 2 ] ||
	    atf_fail "show summary: strict and nosni have no 'no_sni none': $(oneline summary.out)"
}
sni_names_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 2. Passthrough: the client sees the backend's own certificate, and
#    curl reaches two nginx servers by name through one l4d port.

do_passthrough()
{
	route_init
	need_cmd openssl curl nginx
	zc=$1
	lp=$(free_ports 1)
	set -- $(free_ports 4 127.0.0.2)
	pa=$1 pb=$2 na=$3 nb=$4
	selfcert a.test b.test www.a.test www.b.test
	start_tls ta "127.0.0.2:$pa" a.test
	start_tls tb "127.0.0.2:$pb" b.test
	start_nginx a "127.0.0.2:$na" www.a.test
	start_nginx b "127.0.0.2:$nb" www.b.test
	{
		cfg_head 2 "$zc"
		cat <<EOF
listeners:
  - name: pass
    listen: "127.0.0.1:$lp"
    routes:
      - { sni: a.test, tls: passthrough, backend: a }
      - { sni: b.test, tls: passthrough, backend: b }
      - { sni: www.a.test, tls: passthrough, backend: nginx-a }
      - { sni: www.b.test, tls: passthrough, backend: nginx-b }
backends:
  - { name: a, servers: [ { address: "127.0.0.2:$pa" } ] }
  - { name: b, servers: [ { address: "127.0.0.2:$pb" } ] }
  - { name: nginx-a, servers: [ { address: "127.0.0.2:$na" } ] }
  - { name: nginx-b, servers: [ { address: "127.0.0.2:$nb" } ] }
EOF
	} >l4d.conf
	start_l4d

	for n in a b; do
		# Not -quiet: s_client prints the certificate it got.
		openssl s_client -ign_eof -connect "127.0.0.1:$lp" \
		    -servername $n.test </dev/null >s_client.$n 2>&1 || true
		grep -q "^hello from t$n sni=$n.test " s_client.$n ||
		    atf_fail "s_client for $n.test did not reach t$n: $(oneline s_client.$n)"
		got=$(fingerprint <s_client.$n)
		want=$(fingerprint <certs/$n.test.crt)
		if [ -z "$want" ] || [ "$got" != "$want" ]; then
			atf_fail "$n.test: the client got certificate '$got', the server has '$want'"
		fi
		echo "$n.test: the client got the server's certificate $got"
		# Verified against that certificate alone, with the name.
		atf_check -s exit:0 -e ignore -o match:"^hello from t$n " \
		    $SCLIENT "127.0.0.1:$lp" -servername $n.test \
		    -CAfile certs/$n.test.crt -verify_return_error \
		    -verify_hostname $n.test </dev/null
	done

	for n in a b; do
		atf_check -s exit:0 -e empty -o inline:"nginx $n www.$n.test\n" \
		    curl -sS --max-time 10 \
		    --resolve "www.$n.test:$lp:127.0.0.1" \
		    --cacert certs/www.$n.test.crt "https://www.$n.test:$lp/"
	done
	# The other server's certificate as the only trust anchor: curl
	# refuses, since l4d passes each server's own certificate on.
	atf_check -s not-exit:0 -o empty -e match:'SSL|certificate' \
	    curl -sS --max-time 10 --resolve "www.a.test:$lp:127.0.0.1" \
	    --cacert certs/www.b.test.crt "https://www.a.test:$lp/"
	wait_log "access .*listener=pass .*backend=nginx-b server=127\.0\.0\.2:$nb sni=www\.b\.test alpn=[^ ]*http/1\.1[^ ]* in=[1-9][0-9]* out=[1-9][0-9]* " ||
	    atf_fail "no access line for www.b.test: $(alog)"
	wait_for 10 log_count_is 1 'GET / ' nginx-a/access.log ||
	    atf_fail "nginx a logged $(log_count 'GET / ' nginx-a/access.log) requests, expected 1"
	wait_for 10 log_count_is 1 'GET / ' nginx-b/access.log ||
	    atf_fail "nginx b logged $(log_count 'GET / ' nginx-b/access.log) requests, expected 1"
}

# ---------------------------------------------------------------------
# 3. The hello reader: split over records and writes, slow, stalled,
#    malformed, oversize, truncated; stalled hellos delay nobody.

# hello_cfg HANDSHAKE [RELAYS]: listener "h" routes b.test to the
# recording server "b" ($pb), everything else to "other" ($po).
hello_cfg()
{
	cfg_head "${2:-1}" true
	cat <<EOF
listeners:
  - name: h
    listen: "127.0.0.1:$lp"
    backend: other
    timeouts: { handshake: $1 }
    routes:
      - { sni: b.test, backend: b }
backends:
  - { name: b, servers: [ { address: "127.0.0.2:$pb" } ] }
  - { name: other, servers: [ { address: "127.0.0.2:$po" } ] }
EOF
}

# hello_setup: route_init, $lp, the recording servers b ($pb) and other
# ($po).
hello_setup()
{
	route_init
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	pb=$1 po=$2
	start_rec b "127.0.0.2:$pb"
	start_rec other "127.0.0.2:$po"
}

atf_test_case hello_split cleanup
hello_split_descr()
{
	echo "a 4.5 KB hello in two TLS records and six writes routes, byte-exact"
}
hello_split_head() { meta "$(hello_split_descr)"; }
hello_split_body()
{
	hello_setup
	hello_cfg 5s >l4d.conf
	start_l4d
	atf_check -s exit:0 -o save:size -e empty $PY "$HELLO" build \
	    --sni b.test --alpn h2,http/1.1 --pad 4500 --records 2 \
	    --out big.hello
	n=$(cat size)
	[ "$n" -ge 4096 ] || atf_fail "the hello is only $n bytes"
	# Two records: the second header sits right after the first one.
	r1=$(od -An -tu1 -j3 -N2 big.hello | awk '{ print $1 * 256 + $2 }')
	[ "$(od -An -tx1 -j$((5 + r1)) -N1 big.hello | tr -d ' ')" = 16 ] ||
	    atf_fail "big.hello is not two records"
	sum=$(sha256sum big.hello | cut -d' ' -f1)
	# The writes do not fall on the record boundary (4705 / 6).
	atf_check -s exit:0 -o match:"^reply b $n $sum\$" -e empty \
	    $PY "$HELLO" send --connect "127.0.0.1:$lp" --hello big.hello \
	    --writes 6 --gap 0.05 --timeout 10
	atf_check -s exit:0 -o empty -e empty cmp big.hello rec/b-1.bin
	wait_log "access .*listener=h .*backend=b .*sni=b\.test alpn=h2,http/1\.1 in=$n out=$((${#sum} + ${#n} + 4)) " ||
	    atf_fail "no access line with in=$n: $(alog)"
	[ ! -e rec/other-1.bin ] || atf_fail "the other backend got a session"
}
hello_split_cleanup() { cleanup; }

atf_test_case hello_slow cleanup
hello_slow_head()
{
	meta "a hello sent one byte every 20 ms, within the handshake timeout, routes"
}
hello_slow_body()
{
	hello_setup
	hello_cfg 5s >l4d.conf
	start_l4d
	atf_check -s exit:0 -o save:size -e empty $PY "$HELLO" build \
	    --minimal --sni b.test --out slow.hello
	n=$(cat size)
	sum=$(sha256sum slow.hello | cut -d' ' -f1)
	atf_check -s exit:0 -o match:"^reply b $n $sum\$" -o save:slow.out \
	    -e empty $PY "$HELLO" send --connect "127.0.0.1:$lp" \
	    --hello slow.hello --byte-gap 0.02 --timeout 10
	atf_check -s exit:0 -o empty -e empty cmp slow.hello rec/b-1.bin
	echo "$n bytes, one every 20 ms: routed, $(elapsed slow.out) s in all"
	wait_log "access .*listener=h .*backend=b .*sni=b\.test .*in=$n .*cause=" ||
	    atf_fail "no access line: $(alog)"
}
hello_slow_cleanup() { cleanup; }

atf_test_case handshake_timeout cleanup
handshake_timeout_descr()
{
	echo "a hello that stalls is cut after timeouts.handshake (listener's or global), cause handshake-timeout"
}
handshake_timeout_head() { meta "$(handshake_timeout_descr)"; }
handshake_timeout_body()
{
	hello_setup
	set -- $(free_ports 2)
	lp=$1 lp2=$2
	# Listener h sets 1 s; listener g takes the global 2 s.
	{
		cfg_head 1 true
		cat <<EOF
timeouts: { handshake: 2s }
listeners:
  - name: h
    listen: "127.0.0.1:$lp"
    backend: other
    timeouts: { handshake: 1s }
    routes:
      - { sni: b.test, backend: b }
  - name: g
    listen: "127.0.0.1:$lp2"
    backend: other
    routes:
      - { sni: b.test, backend: b }
backends:
  - { name: b, servers: [ { address: "127.0.0.2:$pb" } ] }
  - { name: other, servers: [ { address: "127.0.0.2:$po" } ] }
EOF
	} >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --sni b.test --out full.hello
	atf_check -s exit:0 -o match:'^end (eof|reset)' -o save:stall.out \
	    -e empty $PY "$HELLO" send --connect "127.0.0.1:$lp" \
	    --hello full.hello --cut 40 --no-shut --min 0.9 --max 2 \
	    --timeout 10
	echo "listener h (1 s): cut after $(elapsed stall.out) s"
	atf_check -s exit:0 -o match:'^end (eof|reset)' -o save:stall2.out \
	    -e empty $PY "$HELLO" send --connect "127.0.0.1:$lp2" \
	    --hello full.hello --cut 100 --no-shut --min 1.9 --max 3 \
	    --timeout 10
	echo "listener g (global 2 s): cut after $(elapsed stall2.out) s"
	wait_log 'access .*listener=h .*backend=- server=- sni=- alpn=- in=40 out=0 duration=[0-9.]+s cause=handshake-timeout' 5 ||
	    atf_fail "no access line with cause=handshake-timeout: $(alog)"
	wait_log 'access .*listener=g .*backend=- server=- sni=- alpn=- in=100 out=0 duration=[0-9.]+s cause=handshake-timeout' 5 ||
	    atf_fail "no access line with cause=handshake-timeout on g: $(alog)"
	wait_for 5 stats_has '^listener h sessions 1 .* handshake-timeout 1( |$)' ||
	    atf_fail "show stats: $(oneline stats.out)"
	stats_has '^listener g sessions 1 .* handshake-timeout 1( |$)' ||
	    atf_fail "show stats: $(oneline stats.out)"
	[ -z "$(ls rec)" ] || atf_fail "a backend got a stalled session: $(ls rec)"
}
handshake_timeout_cleanup() { cleanup; }

atf_test_case bad_hello cleanup
bad_hello_head()
{
	meta "garbage after 0x16, hellos over 16 KiB, a truncated one: bad-hello; 16 KiB routes"
}
bad_hello_body()
{
	hello_setup
	hello_cfg 5s >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --kind garbage --out garbage.hello
	[ "$(od -An -tx1 -N1 garbage.hello | tr -d ' ')" = 16 ] ||
	    atf_fail "garbage.hello does not start with 0x16"
	for size in 16384 16385 17000; do
		atf_check -s exit:0 -o inline:"$size\n" -e empty \
		    $PY "$HELLO" build --sni b.test --records 2 \
		    --size $size --out $size.hello
	done
	atf_check -s exit:0 -o save:size -e empty $PY "$HELLO" build \
	    --sni b.test --pad 1000 --out trunc.hello
	half=$(($(cat size) / 2))

	# Exactly 16 KiB, in two records: it fits and routes.
	sum=$(sha256sum 16384.hello | cut -d' ' -f1)
	atf_check -s exit:0 -o match:"^reply b 16384 $sum\$" -e empty \
	    $PY "$HELLO" send --connect "127.0.0.1:$lp" --hello 16384.hello \
	    --writes 3 --timeout 10
	atf_check -s exit:0 -o empty -e empty cmp 16384.hello rec/b-1.bin
	rm rec/b-1.bin

	# Each of these is closed well before the 5 s handshake timeout.
	for h in garbage 16385 17000; do
		atf_check -s exit:0 -o match:'^end (eof|reset)' -e ignore \
		    $PY "$HELLO" send --connect "127.0.0.1:$lp" \
		    --hello $h.hello --no-shut --max 2 --timeout 10
	done
	atf_check -s exit:0 -o match:'^end (eof|reset)' -e ignore \
	    $PY "$HELLO" send --connect "127.0.0.1:$lp" --hello trunc.hello \
	    --cut $half --max 2 --timeout 10
	wait_for 5 access_count_is 4 'listener=h .*cause=bad-hello' ||
	    atf_fail "expected 4 lines with cause=bad-hello: $(alog)"
	access_count_is 4 'listener=h .*backend=- server=- sni=- alpn=- .*cause=bad-hello' ||
	    atf_fail "bad-hello lines with a backend, server or name: $(alog)"
	access_count_is 1 "listener=h .*in=$half out=0 .*cause=bad-hello" ||
	    atf_fail "truncated: no access line with in=$half: $(alog)"
	atf_check -s exit:0 -o match:'^listener h sessions 5 .* bad-hello 4( |$)' \
	    -e empty $CTL show stats
	[ -z "$(ls rec)" ] || atf_fail "a backend got a bad hello: $(ls rec)"
}
bad_hello_cleanup() { cleanup; }

atf_test_case stalled_others cleanup
stalled_others_descr()
{
	echo "20 stalled hellos on one relay delay no routed session"
}
stalled_others_head() { meta "$(stalled_others_descr)"; }
stalled_others_body()
{
	hello_setup
	hello_cfg 20s 1 >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --sni b.test --alpn h2 --out full.hello
	n=$(wc -c <full.hello)
	sum=$(sha256sum full.hello | cut -d' ' -f1)
	$PY "$HELLO" hold --connect "127.0.0.1:$lp" --hello full.hello \
	    --cut 50 --count 20 --timeout 60 --ready stalled.ready \
	    >stalled.log 2>&1 </dev/null &
	echo $! >stalled.pid
	wait_for 10 test -e stalled.ready ||
	    atf_fail "the stalled clients did not start: $(oneline stalled.log)"
	wait_for 10 sessions_ge 20 ||
	    atf_fail "l4d does not show the 20 stalled sessions: $(ctl show sessions | tr '\n' '|')"
	worst=0
	for i in 1 2 3 4 5; do
		atf_check -s exit:0 -o match:"^reply b $n $sum\$" -o save:rt.out \
		    -e empty $PY "$HELLO" send --connect "127.0.0.1:$lp" \
		    --hello full.hello --max 1 --timeout 10
		worst=$(echo "$(elapsed rt.out) $worst" |
		    awk '{ print ($1 > $2) ? $1 : $2 }')
	done
	echo "routed round trip with 20 stalled hellos open: worst of 5 ${worst} s"
	for f in rec/*; do
		case $f in
		rec/b-[1-5].bin) ;;
		*) atf_fail "a stalled session reached a backend: $(ls rec)" ;;
		esac
	done
	kill -TERM "$(cat stalled.pid)"
	wait_for 10 not_alive "$(cat stalled.pid)" ||
	    atf_fail "the stalled clients did not exit"
	grep -q '^closed 0 of 20$' stalled.log ||
	    atf_fail "l4d closed stalled sessions early: $(oneline stalled.log)"
}
stalled_others_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 4. PostgreSQL: two clusters with their own certificates behind one
#    l4d port with starttls: postgres; psql reaches each by name with
#    sslmode=verify-full; sslmode=disable lands on the no_sni backend.

# pg_conn NAME PORT SSLMODE: the libpq connection string for NAME at
# 127.0.0.1:PORT, verified against the test CA.
pg_conn()
{
	echo "host=$1 hostaddr=127.0.0.1 port=$2 sslmode=$3" \
	    "sslrootcert=$PWD/certs/ca.crt user=postgres dbname=postgres" \
	    "connect_timeout=10 gssencmode=disable"
}

PORT_QUERY="select current_setting('port')"
SSL_QUERY="select current_setting('port'), coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false)"

atf_test_case postgres cleanup
postgres_head()
{
	meta "psql verify-full reaches two PostgreSQL clusters by name through starttls: postgres" 90
}
postgres_body()
{
	route_init
	need_cmd openssl psql pg_createcluster pg_dropcluster pg_ctlcluster
	sh "$TOOLS/pgclusters.sh" version >/dev/null ||
	    atf_skip "no PostgreSQL server installed (make deps installs it)"
	# The clusters listen on 127.0.0.1 too: all three ports at once.
	set -- $(free_ports 3)
	lp=$1 pa=$2 pb=$3
	sh "$TOOLS/mkcerts.sh" ca certs &&
	    sh "$TOOLS/mkcerts.sh" leaf certs a.pg.test &&
	    sh "$TOOLS/mkcerts.sh" leaf certs b.pg.test ||
	    atf_fail "cannot make the certificates"
	# Both clusters at once (a few seconds each); pg.state names them
	# for the cleanup.
	: >pg.state
	sh "$TOOLS/pgclusters.sh" create "$PWD/pg.state" "l4dt_$$_a" "$pa" \
	    certs/a.pg.test.crt certs/a.pg.test.key >pg-a.log 2>&1 &
	ca=$!
	sh "$TOOLS/pgclusters.sh" create "$PWD/pg.state" "l4dt_$$_b" "$pb" \
	    certs/b.pg.test.crt certs/b.pg.test.key >pg-b.log 2>&1 &
	cb=$!
	wait $ca || atf_fail "cluster a: $(oneline pg-a.log)"
	wait $cb || atf_fail "cluster b: $(oneline pg-b.log)"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: pg
    listen: "127.0.0.1:$lp"
    starttls: postgres
    no_sni: plain
    routes:
      - { sni: a.pg.test, backend: pg-a }
      - { sni: b.pg.test, backend: pg-b }
backends:
  - { name: pg-a, servers: [ { address: "127.0.0.1:$pa" } ] }
  - { name: pg-b, servers: [ { address: "127.0.0.1:$pb" } ] }
  - { name: plain, servers: [ { address: "127.0.0.1:$pb" } ] }
EOF
	} >l4d.conf
	start_l4d

	# Directly first: the cluster works without l4d.
	atf_check -s exit:0 -o inline:"$pa\n" -e empty \
	    psql "$(pg_conn a.pg.test "$pa" verify-full)" -XAtc "$PORT_QUERY"
	# Through l4d, by name, the server's certificate verified for it.
	for n in a b; do
		eval p=\$p$n
		atf_check -s exit:0 -o inline:"$p|t\n" -e empty \
		    psql "$(pg_conn $n.pg.test "$lp" verify-full)" -XAtc \
		    "$SSL_QUERY"
		wait_log "access .*listener=pg .*backend=pg-$n server=127\.0\.0\.1:$p sni=$n\.pg\.test alpn=(-|postgresql) in=[1-9][0-9]* out=[1-9][0-9]* duration=[0-9.]+s cause=(client|server)-closed" ||
		    atf_fail "no access line for $n.pg.test: $(alog)"
	done
	# No TLS at all: the StartupMessage goes unchanged to no_sni.
	atf_check -s exit:0 -o inline:"$pb|f\n" -e empty \
	    psql "$(pg_conn a.pg.test "$lp" disable)" -XAtc "$SSL_QUERY"
	wait_log "access .*listener=pg .*backend=plain server=127\.0\.0\.1:$pb sni=- alpn=- in=[1-9][0-9]* out=[1-9][0-9]* duration=[0-9.]+s cause=(client|server)-closed" ||
	    atf_fail "no access line for the plain session: $(alog)"
	# A name that no route has, and no default: no-route.
	atf_check -s not-exit:0 -o empty -e ignore \
	    psql "$(pg_conn c.pg.test "$lp" require)" -XAtc "$PORT_QUERY"
	wait_log "access .*listener=pg .*backend=- server=- sni=c\.pg\.test .*cause=no-route" ||
	    atf_fail "no no-route line for c.pg.test: $(alog)"
}
postgres_cleanup() { cleanup; }

# The STARTTLS exchange in detail, against hello.py's fake PostgreSQL
# servers: a GSSENCRequest gets 'N' from l4d, an SSLRequest 'S'; the
# server is sent an SSLRequest first; a server that answers 'N' ends
# the session with cause starttls-refused.
atf_test_case postgres_exchange cleanup
postgres_exchange_descr()
{
	echo "starttls: postgres: GSSENCRequest answered N, SSLRequest to the server, refusal"
}
postgres_exchange_head() { meta "$(postgres_exchange_descr)"; }
postgres_exchange_body()
{
	route_init
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	ps=$1 pn=$2
	mkdir -p rec
	for m in "pg-yes $ps S" "pg-no $pn N"; do
		set -- $m
		rm -f "$1.ready"
		$PY "$HELLO" pgserve --listen "127.0.0.2:$2" --answer "$3" \
		    --id "$1" --save-dir rec --ready "$1.ready" \
		    >"$1.log" 2>&1 </dev/null &
		echo $! >"$1.pid"
		wait_for 10 test -e "$1.ready" ||
		    atf_fail "fake server $1 did not start: $(oneline "$1.log")"
	done
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: pg
    listen: "127.0.0.1:$lp"
    starttls: postgres
    timeouts: { handshake: 5s }
    routes:
      - { sni: yes.pg.test, backend: yes }
      - { sni: no.pg.test, backend: no }
backends:
  - { name: yes, servers: [ { address: "127.0.0.2:$ps" } ] }
  - { name: no, servers: [ { address: "127.0.0.2:$pn" } ] }
EOF
	} >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --sni yes.pg.test --out yes.hello
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --sni no.pg.test --out no.hello

	# GSSENCRequest -> N, SSLRequest -> S, then the hello: the server
	# gets an SSLRequest, answers S, and receives the hello unchanged.
	atf_check -s exit:0 -o inline:'gssenc N\nssl S\nreply pg-yes\n' \
	    -e empty $PY "$HELLO" pgclient --connect "127.0.0.1:$lp" \
	    --gssenc --hello yes.hello --timeout 10
	wait_for 10 test -e rec/pg-yes-1.bin ||
	    atf_fail "the server did not record the session"
	# What the server got: an SSLRequest (8 bytes), then the hello.
	printf '\000\000\000\010\004\322\026\057' >want.bin
	cat yes.hello >>want.bin
	atf_check -s exit:0 -o empty -e empty cmp want.bin rec/pg-yes-1.bin

	# The server refuses TLS: the client's session is closed.
	atf_check -s exit:0 -o inline:'ssl S\nreply -\n' -e empty \
	    $PY "$HELLO" pgclient --connect "127.0.0.1:$lp" \
	    --hello no.hello --timeout 10
	wait_log 'access .*listener=pg .*backend=no .*sni=no\.pg\.test .*cause=starttls-refused' ||
	    atf_fail "no access line with cause=starttls-refused: $(alog)"
	wait_for 5 stats_has '^listener pg sessions 2 .* starttls-refused 1( |$)' ||
	    atf_fail "show stats: $(oneline stats.out)"
}
postgres_exchange_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 5. Bytes that are not TLS go to no_sni at once, not after the
#    handshake timeout.

atf_test_case not_tls cleanup
not_tls_head()
{
	meta "non-TLS bytes on a routed listener reach no_sni at once"
}
not_tls_body()
{
	route_init
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	pe=$1 pt=$2
	start_server echo echo "127.0.0.2:$pe"
	start_rec tlsonly "127.0.0.2:$pt"
	{
		cfg_head 1 true
		cat <<EOF
listeners:
  - name: mixed
    listen: "127.0.0.1:$lp"
    backend: tlsonly
    no_sni: plain
    timeouts: { handshake: 5s }
    routes:
      - { sni: b.test, backend: tlsonly }
backends:
  - { name: plain, servers: [ { address: "127.0.0.2:$pe" } ] }
  - { name: tlsonly, servers: [ { address: "127.0.0.2:$pt" } ] }
EOF
	} >l4d.conf
	start_l4d

	# Without a FIN: l4d must not wait for more bytes or the end.
	for data in 'PING\n' 'GET / HTTP/1.0\r\n\r\n' 'x\n'; do
		first=$(printf "$data" | head -n 1 | tr -d '\r\n')
		atf_check -s exit:0 -o save:plain.out -e empty \
		    $PY "$HELLO" send --connect "127.0.0.1:$lp" \
		    --data "$data" --no-shut --lines 1 --max 1 --timeout 3 \
		    --expect "$first"
		echo "'$first' echoed after $(elapsed plain.out) s" \
		    "(handshake timeout 5 s)"
	done
	wait_for 10 access_count_is 3 'listener=mixed .*backend=plain .*sni=- alpn=- ' ||
	    atf_fail "expected 3 access lines on backend plain: $(alog)"
	[ -z "$(ls rec)" ] || atf_fail "the TLS backend got a session"
}
not_tls_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 6. 64 MiB each way through a passthrough route, byte-exact: the
#    client sends a hello and then the data, the server checks the
#    hash of all it got and sends 64 MiB back.

do_bulk()
{
	route_init
	zc=$1
	lp=$(free_ports 1)
	set -- $(free_ports 2 127.0.0.2)
	sp=$1 op=$2
	start_server sink sinksource "127.0.0.2:$sp" \
	    --bytes $BULK --seed 7 --report sink.report
	start_server other id "127.0.0.2:$op" --id other
	{
		cfg_head 2 "$zc"
		cat <<EOF
listeners:
  - name: bulk
    listen: "127.0.0.1:$lp"
    backend: other
    routes:
      - { sni: bulk.test, tls: passthrough, backend: sink }
backends:
  - { name: sink, servers: [ { address: "127.0.0.2:$sp" } ] }
  - { name: other, servers: [ { address: "127.0.0.2:$op" } ] }
EOF
	} >l4d.conf
	start_l4d
	atf_check -s exit:0 -o save:size -e empty $PY "$HELLO" build \
	    --sni bulk.test --alpn h2 --out bulk.hello
	n=$(cat size)
	atf_check -s exit:0 -o save:client.out -e empty \
	    $PY "$HELLO" bulk --connect "127.0.0.1:$lp" --timeout 120 \
	    --hello bulk.hello --bytes $BULK --seed 3 --peer-bytes $BULK \
	    --peer-seed 7
	wait_for 10 test -s sink.report ||
	    atf_fail "the server did not report what it received"
	want=$($PY "$HELLO" hash --hello bulk.hello --bytes $BULK --seed 3)
	got=$(cat sink.report)
	[ "$got" = "$want" ] ||
	    atf_fail "server received '$got'; the client sent '$want'"
	wait_log "access .*listener=bulk .*backend=sink .*sni=bulk\.test alpn=h2 in=$((BULK + n)) out=$BULK " ||
	    atf_fail "no access line with in=$((BULK + n)) out=$BULK: $(alog)"
}

# both_modes NAME FUNCTION TIMEOUT DESCRIPTION: cases NAME_splice and
# NAME_copy run FUNCTION with zero_copy true and false.
both_modes()
{
	for _bm in splice:true copy:false; do
		_bm_case=${1}_${_bm%%:*}
		atf_test_case "$_bm_case" cleanup
		eval "${_bm_case}_head() { meta \"$4, zero_copy ${_bm#*:}\" $3; }
		${_bm_case}_body() { $2 ${_bm#*:}; }
		${_bm_case}_cleanup() { cleanup; }"
	done
}

both_modes passthrough do_passthrough 60 "passthrough: the backend's own certificate; curl to two nginx by name"
both_modes bulk do_bulk 180 "64 MiB each way through a passthrough route, byte-exact"

bulk_event_descr() { echo "64 MiB each way through a passthrough route"; }
bulk_event_body() { do_bulk true; }

# ---------------------------------------------------------------------
# l4ctl show sessions: the SNI and ALPN of live sessions.

atf_test_case sessions cleanup
sessions_head()
{
	meta "l4ctl show sessions shows SNI, ALPN and route, text and JSON"
}
sessions_body()
{
	hello_setup
	hello_cfg 5s 2 >l4d.conf
	start_l4d
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --sni b.test --alpn h2,http/1.1 --out b.hello
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --no-sni --out nosni.hello
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --sni Zzz.Test --alpn http/1.1 --out zzz.hello
	# Whole hellos, no FIN: the sessions stay open at the recorders.
	for h in b nosni zzz; do
		$PY "$HELLO" hold --connect "127.0.0.1:$lp" --hello $h.hello \
		    --count 1 --timeout 60 --ready hold-$h.ready \
		    >hold-$h.log 2>&1 </dev/null &
		echo $! >hold-$h.pid
	done
	wait_for 10 test -e hold-b.ready -a -e hold-nosni.ready \
	    -a -e hold-zzz.ready || atf_fail "the holders did not start"
	wait_for 10 sessions_at_server 3 "$pb" "$po" ||
	    atf_fail "the sessions did not reach the servers"
	atf_check -s exit:0 -o save:sessions.out -e empty $CTL show sessions
	head -n 1 sessions.out | grep -Eq ' SNI +ALPN +TLS *$' ||
	    atf_fail "show sessions: the header does not end with SNI ALPN TLS: $(head -n 1 sessions.out)"
	grep -Eq "^[0-9]+-[0-9]+ +h +127\.0\.0\.1:[0-9]+ +127\.0\.0\.2:$pb .* b\.test +h2,http/1\.1 +- *\$" sessions.out ||
	    atf_fail "show sessions: no line for b.test with ALPN: $(oneline sessions.out)"
	grep -Eq "^[0-9]+-[0-9]+ +h +127\.0\.0\.1:[0-9]+ +127\.0\.0\.2:$po .* - +- +- *\$" sessions.out ||
	    atf_fail "show sessions: no line for the hello without SNI: $(oneline sessions.out)"
	grep -Eq "^[0-9]+-[0-9]+ +h +127\.0\.0\.1:[0-9]+ +127\.0\.0\.2:$po .* zzz\.test +http/1\.1 +- *\$" sessions.out ||
	    atf_fail "show sessions: no line for zzz.test: $(oneline sessions.out)"
	atf_check -s exit:0 -o save:sessions.json -e empty $CTL -j show sessions
	$PY - sessions.json <<'EOF' || atf_fail "show sessions -j: $(oneline sessions.json)"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = doc if isinstance(doc, list) else doc.get("sessions", [])
# Absent names are null.
got = sorted(((r["sni"], r["alpn"], r["route"], r["backend"]) for r in rows),
             key=repr)
want = sorted([("b.test", "h2,http/1.1", "b.test", "b"),
               (None, None, "no_sni", "other"),
               ("zzz.test", "http/1.1", "default", "other")], key=repr)
if got != want:
    sys.exit("got %r, want %r" % (got, want))
EOF
}
sessions_cleanup() { cleanup; }

poller_event hello_split
poller_event handshake_timeout
poller_event stalled_others
poller_event postgres_exchange
poller_event bulk_event

atf_init_test_cases()
{
	atf_add_test_case sni_names
	atf_add_test_case passthrough_splice
	atf_add_test_case passthrough_copy
	atf_add_test_case hello_split
	atf_add_test_case hello_slow
	atf_add_test_case handshake_timeout
	atf_add_test_case bad_hello
	atf_add_test_case stalled_others
	atf_add_test_case postgres
	atf_add_test_case postgres_exchange
	atf_add_test_case not_tls
	atf_add_test_case bulk_splice
	atf_add_test_case bulk_copy
	atf_add_test_case sessions
	for _c in hello_split handshake_timeout stalled_others \
	    postgres_exchange bulk_event; do
		atf_add_test_case poller_event_${_c}
	done
}
