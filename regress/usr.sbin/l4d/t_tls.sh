# l4d black-box tests: TLS terminated and originated by l4d's TLS
# engines -- certificates chosen by SNI, client certificates, session
# resumption across engines, TLS to backends (with verification), STARTTLS
# for PostgreSQL with l4d's own certificate, key isolation (no relay ever
# holds a private key), reloads and a killed engine, 64 MiB and 200
# sessions, and clients that misbehave.
#
# Real clients and servers: openssl s_client, curl, psql, nginx, a
# PostgreSQL cluster, Python's ssl (tools/tlsclient.py, servers.py
# --tls-cert, over tools/tlsio.py).  Certificates are ECDSA P-256, made
# with openssl in the case's work directory (tools/mkcerts.sh).  Clients
# connect to 127.0.0.1, the backends listen on 127.0.0.2 (PostgreSQL:
# 127.0.0.1).

BULK=$((64 * 1024 * 1024))

tls_init()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
	need_cmd openssl
	TLSC=$TOOLS/tlsclient.py
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

ctl()
{
	"$L4CTL" -s "$PWD/l4d.sock" "$@"
}

# alog: the access lines so far, on one line (atf_fail takes one).
alog()
{
	grep access l4d.log | tr '\n' '|'
}

oneline()
{
	tr '\n' '|' <"$1"
}

# access_count_is N ERE: exactly N access lines match ERE.
access_count_is()
{
	log_count_is "$1" "access .*$2"
}

# stats_has ERE: l4ctl show stats prints a line matching ERE (stats.out).
stats_has()
{
	ctl show stats >stats.out 2>&1 && grep -Eq -- "$1" stats.out
}

# mkcert ARGS...: tools/mkcerts.sh ARGS, into certs/.
mkcert()
{
	_mc=$1
	shift
	sh "$TOOLS/mkcerts.sh" "$_mc" certs "$@" ||
	    atf_fail "mkcerts.sh $_mc $*: failed"
}

# fp FILE: the SHA-256 fingerprint of the (first) certificate in FILE.
fp()
{
	openssl x509 -noout -fingerprint -sha256 -in "$1" | sed 's/.*=//'
}

# fingerprint: the same of the first certificate on stdin (s_client).
fingerprint()
{
	openssl x509 -noout -fingerprint -sha256 | sed 's/.*=//'
}

# cert_of NAME [MORE]: the YAML flow mapping of a certificate entry for
# certs/NAME.crt and .key; MORE (", names: [...]") goes inside.
cert_of()
{
	echo "{ cert: $PWD/certs/$1.crt, key: $PWD/certs/$1.key$2 }"
}

# cfg_tls RELAYS ZERO_COPY [ENGINES]: cfg_head and tls_engines.
cfg_tls()
{
	cfg_head "$1" "$2"
	[ -z "${3:-}" ] || echo "tls_engines: $3"
}

# start_tls_server NAME MODE ADDR:PORT CERTNAME [servers.py options]:
# servers.py MODE speaking TLS with certs/CERTNAME; NAME.pid, NAME.log,
# the handshakes it saw in NAME.tls.
start_tls_server()
{
	_ts_name=$1 _ts_mode=$2 _ts_addr=$3 _ts_cert=$4
	shift 4
	start_server "$_ts_name" "$_ts_mode" "$_ts_addr" \
	    --tls-cert "certs/$_ts_cert.crt" --tls-key "certs/$_ts_cert.key" \
	    --tls-report "$_ts_name.tls" "$@"
}

# listening ADDR:PORT: something listens there.
listening()
{
	[ -n "$(ss -Hltn "src $1")" ]
}

# children PARENT: all the parent's children, one pid a line.
children()
{
	pgrep -P "$1" | sort -n
}

# children_titled PARENT ERE: the parent's children whose title
# (/proc/PID/cmdline) matches ERE, one pid a line.
children_titled()
{
	for _ct in $(children "$1"); do
		tr '\0' ' ' <"/proc/$_ct/cmdline" 2>/dev/null |
		    grep -Eq -- "$2" && echo "$_ct"
	done
	return 0
}

engines()
{
	children_titled "$(cat l4d.pid)" '^l4d: tls [0-9]+'
}

relays()
{
	children_titled "$(cat l4d.pid)" '^l4d: relay [0-9]+'
}

# count_is N COMMAND...: COMMAND prints N lines.
count_is()
{
	_ci_n=$1
	shift
	[ "$("$@" | wc -l)" -eq "$_ci_n" ]
}

# check_unpriv PID WHAT: the process runs as _l4d (real, effective,
# saved and fs uid and gid), chrooted to /var/empty.
check_unpriv()
{
	_uid=$(id -u _l4d)
	_gid=$(id -g _l4d)
	_uids=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status")
	_gids=$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "/proc/$1/status")
	[ "$_uids" = "$_uid $_uid $_uid $_uid" ] ||
	    atf_fail "$2 $1: Uid $_uids, expected $_uid (_l4d) four times"
	[ "$_gids" = "$_gid $_gid $_gid $_gid" ] ||
	    atf_fail "$2 $1: Gid $_gids, expected $_gid four times"
	_root=$(readlink "/proc/$1/root")
	[ "$_root" = /var/empty ] ||
	    atf_fail "$2 $1: root is $_root, expected /var/empty"
}

# The access log's TLS fields of a terminated session (relay.c's
# session_log): tls=VERSION cipher=NAME resumed=0|1 subject="..."
# issuer="..." (empty without a client certificate).
TLS13='tls=TLSv1\.3 cipher=TLS_[A-Z0-9_]+ resumed=0'
NOCERT='subject="" issuer=""'

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

# ---------------------------------------------------------------------
# 1. The certificate by SNI: two certificates with three names between
#    them (one a wildcard), a third chosen by names:; the first is the
#    default.  The backend gets plaintext.

atf_test_case sni_certs cleanup
sni_certs_head()
{
	meta "s_client gets l4d's certificate chosen by SNI (SAN, wildcard, names:, default), its OCSP staple; protocols:; the backend gets plaintext"
}
sni_certs_body()
{
	tls_init
	set -- $(free_ports 3)
	lp=$1 lp2=$2 lp3=$3
	set -- $(free_ports 2 127.0.0.2)
	pid_=$1 pe=$2
	mkcert ca
	mkcert leaf a.tls.test '*.wild.tls.test'
	mkcert ocsp ca a.tls.test
	mkcert leaf b.tls.test
	mkcert leaf c.tls.test alias.tls.test
	start_server idsrv id "127.0.0.2:$pid_" --id backend-id
	start_server lines lineecho "127.0.0.2:$pe" --id lines \
	    --report lines.report
	certs="
        - $(cert_of a.tls.test ", ocsp_staple: $PWD/certs/a.tls.test.ocsp")
        - $(cert_of b.tls.test)
        - $(cert_of c.tls.test ", names: [ alias.tls.test ]")"
	{
		cfg_tls 2 true
		cat <<EOF
listeners:
  - name: certs
    listen: "127.0.0.1:$lp"
    backend: idsrv
    tls:
      certificates:$certs
  - name: plain
    listen: "127.0.0.1:$lp2"
    backend: lines
    tls:
      certificates:$certs
  - name: only13
    listen: "127.0.0.1:$lp3"
    backend: idsrv
    tls:
      certificates: [ $(cert_of b.tls.test) ]
      protocols: "tlsv1.3"
backends:
  - { name: idsrv, servers: [ { address: "127.0.0.2:$pid_" } ] }
  - { name: lines, servers: [ { address: "127.0.0.2:$pe" } ] }
EOF
	} >l4d.conf
	atf_check -s exit:0 -o ignore -e ignore "$L4D" -n -f l4d.conf
	start_l4d
	# No tls_engines: one engine.
	wait_for 10 count_is 1 engines ||
	    atf_fail "expected 1 engine (the default): $(engines | tr '\n' ' ')"
	check_unpriv "$(engines)" "tls engine"

	# NAME CERT VERIFY: the client asks for NAME and gets CERT; with
	# VERIFY, s_client checks it against the CA for that name.
	while read -r name cert verify; do
		if [ "$name" = - ]; then
			sn=-noservername
		else
			sn="-servername $name"
		fi
		# Not -quiet: s_client prints the certificate it got.
		# shellcheck disable=SC2086
		openssl s_client -ign_eof -connect "127.0.0.1:$lp" $sn \
		    </dev/null >s_client.out 2>&1 || true
		grep -q '^backend-id$' s_client.out ||
		    atf_fail "$name: no line from the backend: $(oneline s_client.out)"
		got=$(fingerprint <s_client.out)
		want=$(fp certs/$cert.crt)
		[ -n "$got" ] && [ "$got" = "$want" ] ||
		    atf_fail "SNI $name: got certificate $got, expected $cert's $want"
		echo "SNI $name: $cert's certificate"
		[ "$verify" = yes ] || continue
		# shellcheck disable=SC2086
		atf_check -s exit:0 -e ignore -o match:'^backend-id$' \
		    $SCLIENT "127.0.0.1:$lp" $sn -CAfile certs/ca.crt \
		    -verify_return_error -verify_hostname "$name" </dev/null
	done <<EOF
a.tls.test a.tls.test yes
A.TLS.Test a.tls.test no
x.wild.tls.test a.tls.test yes
b.tls.test b.tls.test yes
alias.tls.test c.tls.test yes
c.tls.test a.tls.test no
deep.x.wild.tls.test a.tls.test no
other.test a.tls.test no
- a.tls.test no
EOF

	# The OCSP response goes with a.tls.test's certificate, none with
	# b.tls.test's.
	openssl s_client -ign_eof -connect "127.0.0.1:$lp" -status \
	    -servername x.wild.tls.test </dev/null >status.out 2>&1 || true
	grep -q 'OCSP Response Status: successful' status.out &&
	    grep -q 'Cert Status: good' status.out ||
	    atf_fail "no OCSP staple with a.tls.test: $(grep -i ocsp status.out | tr '\n' '|')"
	openssl s_client -ign_eof -connect "127.0.0.1:$lp" -status \
	    -servername b.tls.test </dev/null >status.out 2>&1 || true
	grep -q 'OCSP response: no response sent' status.out ||
	    atf_fail "an OCSP staple with b.tls.test: $(grep -i ocsp status.out | tr '\n' '|')"

	# TLS 1.2 too; and only the protocols the listener allows.
	atf_check -s exit:0 -e ignore -o match:'^backend-id$' \
	    $SCLIENT "127.0.0.1:$lp" -servername b.tls.test -tls1_2 \
	    -CAfile certs/ca.crt -verify_return_error </dev/null
	atf_check -s exit:0 -e ignore -o match:'^backend-id$' \
	    $SCLIENT "127.0.0.1:$lp3" -servername b.tls.test -tls1_3 \
	    -CAfile certs/ca.crt -verify_return_error </dev/null
	atf_check -s not-exit:0 -e ignore -o not-match:'backend-id' \
	    $SCLIENT "127.0.0.1:$lp3" -servername b.tls.test -tls1_2 \
	    -CAfile certs/ca.crt </dev/null
	wait_log 'access .*listener=only13 .*sni=b\.tls\.test .*tls_error="[^"]+" .*cause=tls-error' ||
	    atf_fail "TLS 1.2 to a TLS 1.3 listener: no tls-error line: $(alog)"

	# The backend gets the plaintext: every line, as sent, echoed.
	for name in a.tls.test b.tls.test; do
		atf_check -s exit:0 -e empty -o save:line.out \
		    -o match:"^cert $(fp certs/$name.crt)\$" \
		    -o match:"^reply plain $name 1\$" \
		    -o match:"^reply plain $name 2\$" -o match:'^end ' \
		    $PY "$TLSC" line --connect "127.0.0.1:$lp2" --name $name \
		    --ca certs/ca.crt --data "plain $name 1\nplain $name 2\n"
	done
	cat >lines.want <<EOF
lines plain a.tls.test 1
lines plain a.tls.test 2
lines plain b.tls.test 1
lines plain b.tls.test 2
EOF
	wait_for 5 log_count_is 4 . lines.report ||
	    atf_fail "the backend logged $(oneline lines.report)"
	diff -u lines.want lines.report >lines.diff ||
	    atf_fail "the backend did not get the plaintext: $(oneline lines.diff)"

	# The access log: the name asked for and the TLS session.
	wait_for 10 access_count_is 2 'listener=plain ' ||
	    atf_fail "expected 2 access lines on listener plain: $(alog)"
	for name in a.tls.test b.tls.test; do
		n=$(($(printf 'plain %s 1\nplain %s 2\n' $name $name | wc -c)))
		re="access id=[0-9]+-[0-9]+ listener=plain client=127\.0\.0\.1:[0-9]+ backend=lines server=127\.0\.0\.2:$pe sni=$name alpn=- $TLS13 $NOCERT in=$n out=$n duration=[0-9.]+s cause=(client|server)-closed"
		log_has "$re" ||
		    atf_fail "no access line matching '$re': $(alog)"
	done
	log_has 'access .*listener=certs .*sni=- alpn=- tls=TLSv1\.3 ' ||
	    atf_fail "no access line for the session without SNI: $(alog)"
	wait_for 5 stats_has '^listener plain sessions 2 .*tls-handshakes 2 tls-resumed 0' ||
	    atf_fail "show stats: $(oneline stats.out)"
}
sni_certs_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 2. Client certificates: client_auth require and optional, against
#    client_ca; a certificate from another CA; bytes that are no TLS.

atf_test_case client_auth cleanup
client_auth_head()
{
	meta "client_auth require and optional: no certificate, one from client_ca, one it revoked (crl:), one from another CA; subject in the log and show sessions" 90
}
client_auth_body()
{
	tls_init
	set -- $(free_ports 3)
	lr=$1 lo=$2 ln=$3
	pe=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert ca clients
	mkcert ca rogue
	mkcert leaf mtls.test
	mkcert client clients alice
	mkcert client clients eve
	mkcert crl clients eve
	mkcert client rogue mallory
	start_server lines lineecho "127.0.0.2:$pe" --id lines \
	    --report lines.report
	{
		cfg_tls 2 true
		cat <<EOF
listeners:
  - name: req
    listen: "127.0.0.1:$lr"
    backend: lines
    tls:
      certificates: [ $(cert_of mtls.test) ]
      client_auth: require
      client_ca: $PWD/certs/clients.crt
      crl: $PWD/certs/clients.crl
  - name: opt
    listen: "127.0.0.1:$lo"
    backend: lines
    tls:
      certificates: [ $(cert_of mtls.test) ]
      client_auth: optional
      client_ca: $PWD/certs/clients.crt
  - name: none
    listen: "127.0.0.1:$ln"
    backend: lines
    tls:
      certificates: [ $(cert_of mtls.test) ]
backends:
  - { name: lines, servers: [ { address: "127.0.0.2:$pe" } ] }
EOF
	} >l4d.conf
	start_l4d
	alice="--cert certs/alice.crt --key certs/alice.key"
	mallory="--cert certs/mallory.crt --key certs/mallory.key"
	tc="line --name mtls.test --ca certs/ca.crt"
	subj='subject="/O=l4d tests/CN=alice" issuer="/CN=l4d test CA clients"'

	# require: without a certificate, refused.  TLS 1.3: the client's
	# handshake is done before the server's verdict, which comes as an
	# alert on the first read.
	atf_check -s exit:1 -o ignore -e match:'CERTIFICATE_REQUIRED|alert|handshake' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lr" --data 'req none\n'
	wait_log 'access .*listener=req .*backend=lines server=- .*tls_error="[^"]+" in=0 out=0 .*cause=tls-error' ||
	    atf_fail "no tls-error line with a reason for require without a certificate: $(alog)"
	# TLS 1.2: the handshake itself fails.
	atf_check -s exit:1 -o ignore -e match:'handshake' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lr" --tls 1.2 \
	    --data 'req none 1.2\n'
	# From client_ca: accepted; the subject is logged.
	atf_check -s exit:0 -e empty -o match:'^reply req alice$' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lr" $alice --data 'req alice\n'
	wait_log "access .*listener=req .*backend=lines server=127\.0\.0\.2:$pe sni=mtls\.test alpn=- $TLS13 $subj in=10 out=10 .*cause=(client|server)-closed" ||
	    atf_fail "no access line with alice's subject: $(alog)"
	# From another CA: refused.
	atf_check -s exit:1 -o ignore -e match:'UNKNOWN_CA|alert|handshake|certificate' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lr" $mallory \
	    --data 'req mallory\n'
	# From client_ca, but revoked by the listener's crl:.
	atf_check -s exit:1 -o ignore -e match:'REVOKED|alert|handshake|certificate' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lr" \
	    --cert certs/eve.crt --key certs/eve.key --data 'req eve\n'
	wait_for 10 access_count_is 4 'listener=req .*tls_error="[^"]+" .*cause=tls-error' ||
	    atf_fail "eve (revoked): no tls-error line: $(alog)"
	# (the reasons, for the record: libtls says no more than "certificate
	# verify failed" for a revoked certificate or an unknown CA)
	sed -n 's/.*listener=req .*\(tls_error="[^"]*"\).*/\1/p' l4d.log
	wait_for 10 access_count_is 4 'listener=req .*cause=tls-error' ||
	    atf_fail "expected 4 tls-error lines on listener req: $(alog)"
	access_count_is 4 'listener=req .*server=- .*tls_error="[^"]+" .*cause=tls-error' ||
	    atf_fail "a refused session without a reason or with a server: $(alog)"
	! log_has 'CN=eve' || atf_fail "eve's subject was logged: $(alog)"
	# and counted by reason: 2 without a certificate, 2 that did not verify
	wait_for 5 stats_has '^listener req .* tls-failed-no-client-cert 2 tls-failed-bad-client-cert 2( |$)' ||
	    atf_fail "tls failures by reason: $(grep "^listener req" stats.out)"

	# optional: with and without a certificate.
	atf_check -s exit:0 -e empty -o match:'^reply opt none$' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lo" --data 'opt none\n'
	wait_log "access .*listener=opt .*sni=mtls\.test alpn=- $TLS13 $NOCERT in=9 out=9 .*cause=(client|server)-closed" ||
	    atf_fail "optional without a certificate: $(alog)"
	atf_check -s exit:0 -e empty -o match:'^reply opt alice$' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lo" $alice --data 'opt alice\n'
	wait_log "access .*listener=opt .*sni=mtls\.test alpn=- $TLS13 $subj in=10 out=10 .*cause=(client|server)-closed" ||
	    atf_fail "optional with alice: $(alog)"
	# optional is no licence for a certificate that does not verify: a
	# session must not carry a subject nobody vouches for.
	atf_check -s exit:1 -o ignore -e match:'UNKNOWN_CA|alert|handshake|certificate' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$lo" $mallory \
	    --data 'opt mallory\n'
	wait_log 'access .*listener=opt .*tls_error="[^"]+" .*cause=tls-error' ||
	    atf_fail "optional with mallory: no tls-error line: $(alog)"
	! log_has 'CN=mallory' ||
	    atf_fail "mallory's subject was logged: $(alog)"
	# No client_auth: a client certificate is not asked for.
	atf_check -s exit:0 -e empty -o match:'^reply none alice$' \
	    $PY "$TLSC" $tc --connect "127.0.0.1:$ln" $alice --data 'none alice\n'
	wait_log "access .*listener=none .*$TLS13 $NOCERT in=11 out=11 " ||
	    atf_fail "listener without client_auth: $(alog)"

	# show sessions: a live session's TLS, text and JSON.
	$PY "$TLSC" keep --connect "127.0.0.1:$lr" --name mtls.test \
	    --ca certs/ca.crt $alice --count 1 --ready keep.ready --go keep.go \
	    --timeout 60 >keep.out 2>&1 </dev/null &
	echo $! >keep.pid
	wait_for 10 test -e keep.ready || atf_fail "keep: $(oneline keep.out)"
	atf_check -s exit:0 -o save:sessions.json -e empty $CTL -j show sessions
	$PY - sessions.json <<'EOF' || atf_fail "show sessions -j: $(oneline sessions.json)"
import json, sys
doc = json.load(open(sys.argv[1]))
rows = doc["sessions"]
if len(rows) != 1:
    sys.exit("%d sessions" % len(rows))
r = rows[0]
want = {"listener": "req", "tls_version": "TLSv1.3", "tls_resumed": False,
        "tls_subject": "/O=l4d tests/CN=alice",
        "tls_issuer": "/CN=l4d test CA clients", "sni": "mtls.test"}
for k, v in want.items():
    if r.get(k) != v:
        sys.exit("%s is %r, expected %r" % (k, r.get(k), v))
if not (r.get("tls_cipher") or "").startswith("TLS_"):
    sys.exit("tls_cipher %r" % r.get("tls_cipher"))
EOF
	touch keep.go
	wait_for 15 not_alive "$(cat keep.pid)" || atf_fail "keep did not end"
	grep -q '^alive 1 ended 0$' keep.out || atf_fail "keep: $(oneline keep.out)"

	# The backend got the accepted sessions' lines, no other.
	cat >lines.want <<'EOF'
lines req alice
lines opt none
lines opt alice
lines none alice
lines hello 0
lines again 0
EOF
	diff -u lines.want lines.report >lines.diff ||
	    atf_fail "the backend got: $(oneline lines.diff)"
	wait_for 5 stats_has '^listener req sessions 6 .*tls-error 4( |$)' ||
	    atf_fail "show stats: $(oneline stats.out)"

	# Bytes that are no TLS at all must not reach the backend of a
	# listener that requires a certificate: that would be a way
	# around TLS and the client certificate.
	atf_check -s exit:0 -o match:'^end (eof|reset)' -o match:'^reply -$' \
	    -e ignore $PY "$HELLO" send --connect "127.0.0.1:$lr" \
	    --data 'req plaintext\n' --no-shut --max 3 --timeout 10
	wait_log 'access .*listener=req .*server=- sni=- alpn=- (.* )?in=14 out=0 .*cause=(bad-hello|tls-error)' ||
	    atf_fail "the plaintext session: $(alog)"
	! grep -q plaintext lines.report ||
	    atf_fail "plaintext reached the backend through listener req (client_auth: require): $(oneline lines.report)"
}
client_auth_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 3. Session resumption across engines: the parent's ticket keys are
#    every engine's, so a session from one engine resumes on another.

# resumes N FILE.pem [s_client options]: N sessions with -sess_in, each
# must be "Reused".
resumes()
{
	_rs_n=$1 _rs_sess=$2
	shift 2
	_rs_i=0
	while [ $_rs_i -lt "$_rs_n" ]; do
		openssl s_client -connect "127.0.0.1:$lp" -servername r.tls.test \
		    -CAfile certs/ca.crt -verify_return_error -ign_eof \
		    -sess_in "$_rs_sess" "$@" </dev/null >resume.out 2>&1 ||
		    atf_fail "s_client -sess_in: $(oneline resume.out)"
		grep -Eq '^Reused, TLSv1\.[23]' resume.out ||
		    atf_fail "session $_rs_i was not resumed: $(grep -E '^(New|Reused),' resume.out)"
		grep -q '^backend-id$' resume.out ||
		    atf_fail "resumed session $_rs_i did not reach the backend"
		_rs_i=$((_rs_i + 1))
	done
}

# engine_io PID: read and write system calls of a process so far
# (/proc/PID/io syscr + syscw).
# engine_io PID: how often an engine woke up.  It reads and writes with
# recv(2) and send(2), which /proc/PID/io does not count; its context
# switches count every wake-up (an idle engine has one a second).
engine_io()
{
	awk '/ctxt_switches:/ { n += $2 } END { print n }' "/proc/$1/status"
}

atf_test_case resumption cleanup
resumption_head()
{
	meta "tls_engines: 2: s_client -sess_out then -sess_in resumes (TLS 1.3 and 1.2) whichever engine gets it" 90
}
resumption_body()
{
	tls_init
	lp=$(free_ports 1)
	ps_=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert leaf r.tls.test
	start_server idsrv id "127.0.0.2:$ps_" --id backend-id
	{
		cfg_tls 2 true 2
		cat <<EOF
listeners:
  - name: res
    listen: "127.0.0.1:$lp"
    backend: idsrv
    tls:
      certificates: [ $(cert_of r.tls.test) ]
backends:
  - { name: idsrv, servers: [ { address: "127.0.0.2:$ps_" } ] }
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 count_is 2 engines ||
	    atf_fail "expected 2 engines: $(engines | tr '\n' ' ')"
	set -- $(engines)
	e0=$1 e1=$2
	io0=$(engine_io "$e0")
	io1=$(engine_io "$e1")

	for v in 1.3 1.2; do
		openssl s_client -connect "127.0.0.1:$lp" -servername r.tls.test \
		    -CAfile certs/ca.crt -verify_return_error -ign_eof \
		    -tls${v%.*}_${v#*.} -sess_out s$v.pem -msg </dev/null \
		    >first.out 2>&1 || atf_fail "s_client: $(oneline first.out)"
		grep -Eq "^New, TLSv$v" first.out ||
		    atf_fail "the first TLS $v session: $(grep -E '^(New|Reused),' first.out)"
		# one ticket after a TLS 1.3 handshake (OpenSSL's default: 2)
		[ "$v" = 1.2 ] ||
		    [ "$(grep -c '^<<< .*NewSessionTicket' first.out)" = 1 ] ||
		    atf_fail "TLS 1.3 tickets: $(grep -c '^<<< .*NewSessionTicket' first.out), expected 1"
		[ -s s$v.pem ] || atf_fail "s_client saved no TLS $v session"
		resumes 10 s$v.pem -tls${v%.*}_${v#*.}
	done
	# A TLS 1.3 ticket is used once: a resumed session gets a new one
	# (TLS 1.2 reuses its ticket, and gets none), and a chain of
	# sessions, each resumed with the ticket of the one before, resumes
	# every time.
	cp s1.3.pem chain.pem
	for i in 1 2 3; do
		openssl s_client -connect "127.0.0.1:$lp" -servername r.tls.test \
		    -CAfile certs/ca.crt -verify_return_error -ign_eof -tls1_3 \
		    -sess_in chain.pem -sess_out next.pem -msg </dev/null \
		    >chain.out 2>&1 || atf_fail "s_client: $(oneline chain.out)"
		grep -q '^Reused, TLSv1\.3' chain.out ||
		    atf_fail "chained session $i was not resumed: $(grep -E '^(New|Reused),' chain.out)"
		[ "$(grep -c '^<<< .*NewSessionTicket' chain.out)" = 1 ] ||
		    atf_fail "chained session $i: $(grep -c '^<<< .*NewSessionTicket' chain.out) tickets, expected 1"
		! cmp -s chain.pem next.pem ||
		    atf_fail "chained session $i saved the ticket it came with"
		mv next.pem chain.pem
	done
	openssl s_client -connect "127.0.0.1:$lp" -servername r.tls.test \
	    -CAfile certs/ca.crt -verify_return_error -ign_eof -tls1_2 \
	    -sess_in s1.2.pem -msg </dev/null >t12.out 2>&1 ||
	    atf_fail "s_client: $(oneline t12.out)"
	grep -q '^Reused, TLSv1\.2' t12.out && ! grep -q NewSessionTicket t12.out ||
	    atf_fail "a resumed TLS 1.2 session: $(grep -E '^(New|Reused),|NewSessionTicket' t12.out | tr '\n' '|')"
	# Both engines carried sessions: 11 each, a few wake-ups a session,
	# against one a second for an idle engine.
	[ "$(engine_io "$e0")" -ge $((io0 + 20)) ] &&
	    [ "$(engine_io "$e1")" -ge $((io1 + 20)) ] ||
	    atf_fail "not both engines were used (wake-ups: $io0 -> $(engine_io "$e0"), $io1 -> $(engine_io "$e1"))"
	wait_for 10 access_count_is 24 "listener=res .*tls=TLSv1\.[23] cipher=[^ ]+ resumed=1 " ||
	    atf_fail "expected 24 access lines with resumed=1: $(alog)"
	access_count_is 2 "listener=res .*tls=TLSv1\.[23] cipher=[^ ]+ resumed=0 " ||
	    atf_fail "expected 2 access lines with resumed=0: $(alog)"
	wait_for 5 stats_has '^listener res sessions 26 .*tls-handshakes 26 tls-resumed 24( |$)' ||
	    atf_fail "show stats: $(oneline stats.out)"
}
resumption_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 4. TLS to the backends: verification by name and CA (and by IP), a
#    client certificate, verify: false; curl's plain HTTP reaches nginx's
#    HTTPS through l4d.

# start_nginx ID ADDR:PORT CERTNAME: nginx serving HTTPS with
# certs/CERTNAME, answering "nginx ID" with the SNI and protocol it saw;
# nginx-ID/, ID.pid.
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
    log_format tls '\$request sni=\$ssl_server_name proto=\$ssl_protocol';
    access_log $_ng/access.log tls;
    client_body_temp_path $_ng/body;
    proxy_temp_path $_ng/proxy;
    fastcgi_temp_path $_ng/fastcgi;
    uwsgi_temp_path $_ng/uwsgi;
    scgi_temp_path $_ng/scgi;
    default_type text/plain;
    server {
        listen $2 ssl;
        server_name $3;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_certificate $PWD/certs/$3.crt;
        ssl_certificate_key $PWD/certs/$3.key;
        location / { return 200 "nginx $1 sni=\$ssl_server_name \$ssl_protocol\n"; }
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

atf_test_case backend_tls cleanup
backend_tls_head()
{
	meta "backend tls: a wrong name or CA fails with tls-error and the reason, the right ones work; by IP; client certificate; verify false; curl http -> l4d -> nginx https" 90
}
backend_tls_body()
{
	tls_init
	need_cmd curl nginx
	set -- $(free_ports 8)
	lw=$1 lr=$2 lc=$3 li=$4 lv=$5 lm=$6 lg=$7 ln=$8
	set -- $(free_ports 4 127.0.0.2)
	pr=$1 pi=$2 pm=$3 pn=$4
	mkcert ca
	mkcert ca rogue
	mkcert ca clients
	mkcert leaf right.tls.test
	mkcert leaf ip.tls.test IP:127.0.0.2
	mkcert leaf www.tls.test
	mkcert client clients l4d-client
	start_tls_server right id "127.0.0.2:$pr" right.tls.test --id right
	start_tls_server byip id "127.0.0.2:$pi" ip.tls.test --id byip
	start_tls_server mtls id "127.0.0.2:$pm" right.tls.test --id mtls \
	    --tls-client-ca certs/clients.crt
	start_nginx web "127.0.0.2:$pn" www.tls.test
	ca=$PWD/certs/ca.crt
	{
		cfg_tls 2 true
		cat <<EOF
listeners:
  - { name: wrongname, listen: "127.0.0.1:$lw", backend: wrongname }
  - { name: right, listen: "127.0.0.1:$lr", backend: right }
  - { name: rogueca, listen: "127.0.0.1:$lc", backend: rogueca }
  - { name: byip, listen: "127.0.0.1:$li", backend: byip }
  - { name: noverify, listen: "127.0.0.1:$lv", backend: noverify }
  - { name: mtls, listen: "127.0.0.1:$lm", backend: mtls }
  - { name: nocert, listen: "127.0.0.1:$lg", backend: nocert }
  - { name: web, listen: "127.0.0.1:$ln", backend: web }
backends:
  - name: wrongname
    servers: [ { address: "127.0.0.2:$pr" } ]
    tls: { verify: true, ca: $ca, server_name: wrong.tls.test }
  - name: right
    servers: [ { address: "127.0.0.2:$pr" } ]
    tls: { verify: true, ca: $ca, server_name: right.tls.test }
  - name: rogueca
    servers: [ { address: "127.0.0.2:$pr" } ]
    tls: { ca: $PWD/certs/rogue.crt, server_name: right.tls.test }
  - name: byip
    servers: [ { address: "127.0.0.2:$pi" } ]
    tls: { ca: $ca }
  - name: noverify
    servers: [ { address: "127.0.0.2:$pr" } ]
    tls: { verify: false, server_name: wrong.tls.test }
  - name: mtls
    servers: [ { address: "127.0.0.2:$pm" } ]
    tls:
      ca: $ca
      server_name: right.tls.test
      cert: $PWD/certs/l4d-client.crt
      key: $PWD/certs/l4d-client.key
  - name: nocert
    servers: [ { address: "127.0.0.2:$pm" } ]
    tls: { ca: $ca, server_name: right.tls.test }
  - name: web
    servers: [ { address: "127.0.0.2:$pn" } ]
    tls: { ca: $ca, server_name: www.tls.test }
EOF
	} >l4d.conf
	start_l4d

	# The right name and CA: the server's line arrives in plaintext.
	for l in "$lr right" "$li byip" "$lv right" "$lm mtls"; do
		set -- $l
		atf_check -s exit:0 -o inline:"$2\n" -e empty \
		    $PY "$CLIENT" banner --connect "127.0.0.1:$1" --timeout 10 \
		    --expect "$2"
	done
	# What the servers saw: SNI = server_name (none for an IP), TLS 1.3,
	# and l4d's client certificate where one was configured.
	grep -q '^right sni=right\.tls\.test version=TLSv1\.3 client=-$' right.tls ||
	    atf_fail "right: $(oneline right.tls)"
	grep -q '^byip sni=- version=TLSv1\.3 client=-$' byip.tls ||
	    atf_fail "byip: $(oneline byip.tls)"
	grep -q '^right sni=wrong\.tls\.test version=TLSv1\.3 client=-$' right.tls ||
	    atf_fail "noverify: $(oneline right.tls)"
	grep -q '^mtls sni=right\.tls\.test version=TLSv1\.3 client=l4d-client$' mtls.tls ||
	    atf_fail "mtls: $(oneline mtls.tls)"
	wait_log "access .*listener=right .*backend=right server=127\.0\.0\.2:$pr server_tls=TLSv1\.3 in=0 out=6 .*cause=(client|server)-closed" ||
	    atf_fail "no access line for right: $(alog)"

	# A wrong name, another CA: the client gets nothing (an EOF or a
	# reset, which can come before its connect(2) has returned), the log
	# says why.
	for l in "$lw wrongname" "$lc rogueca"; do
		set -- $l
		atf_check -s exit:1 -o empty -e match:"got b?''|reset by peer" \
		    $PY "$CLIENT" banner --connect "127.0.0.1:$1" --timeout 10 \
		    --expect never
		wait_log "access .*listener=$2 .*backend=$2 server=127\.0\.0\.2:[0-9]+ .*tls_error=\"[^\"]+\" in=0 out=0 .*cause=tls-error" ||
		    atf_fail "no tls-error line with a reason for $2: $(alog)"
		echo "$2: $(sed -n "s/.*listener=$2 .*tls_error=\"\([^\"]*\)\".*/\1/p" l4d.log | head -n 1)"
	done
	log_has 'listener=wrongname .*tls_error="[^"]*(name|wrong\.tls\.test)[^"]*"' ||
	    atf_fail "the wrong name's reason does not say so: $(alog)"
	log_has 'listener=rogueca .*tls_error="[^"]*(verif|certificate|issuer)[^"]*"' ||
	    atf_fail "the wrong CA's reason does not say so: $(alog)"
	grep -q '^right sni=wrong\.tls\.test' right.tls ||
	    atf_fail "noverify: the server saw no session for wrong.tls.test"

	# curl, plain HTTP, to l4d; l4d to nginx over HTTPS.
	atf_check -s exit:0 -e empty \
	    -o inline:"nginx web sni=www.tls.test TLSv1.3\n" \
	    curl -sS --max-time 10 "http://127.0.0.1:$ln/"
	wait_for 5 log_count_is 1 'GET / HTTP/1\.1 sni=www\.tls\.test proto=TLSv1\.3' \
	    nginx-web/access.log ||
	    atf_fail "nginx: $(oneline nginx-web/access.log)"
	wait_for 5 stats_has '^backend wrongname sessions 1 .*tls-error 1( |$)' ||
	    atf_fail "show stats: $(oneline stats.out)"
	for l in wrongname rogueca; do
		stats_has "^listener $l .* tls-failed-server-verify 1( |\$)" ||
		    atf_fail "server-verify failures of $l: $(grep "^listener $l " stats.out)"
	done

	# A server that wants a client certificate l4d does not have: with
	# TLS 1.3 its refusal (an alert) comes after l4d's handshake is
	# done, on the first read; that is still a TLS failure, and the log
	# must say so, not "server-closed".
	atf_check -s exit:1 -o empty -e match:"got b?''|reset by peer" \
	    $PY "$CLIENT" banner --connect "127.0.0.1:$lg" --timeout 10 \
	    --expect never
	grep -q '^mtls handshake-failed ' mtls.tls ||
	    atf_fail "the server did not refuse l4d: $(oneline mtls.tls)"
	wait_log 'access .*listener=nocert .*backend=nocert server=127\.0\.0\.2:[0-9]+ .*tls_error="[^"]+" in=0 out=0 .*cause=tls-error' ||
	    atf_fail "no tls-error line with a reason for nocert: $(alog)"
}
backend_tls_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 5. PostgreSQL: starttls: postgres with l4d's certificate; psql with
#    sslmode=verify-full checks l4d's certificate; the cluster gets
#    plaintext.

atf_test_case postgres cleanup
postgres_head()
{
	meta "starttls: postgres, terminated: psql verify-full against l4d's certificate, plaintext to the cluster" 90
}
postgres_body()
{
	tls_init
	need_cmd psql pg_createcluster pg_dropcluster pg_ctlcluster
	sh "$TOOLS/pgclusters.sh" version >/dev/null ||
	    atf_skip "no PostgreSQL server installed (make deps installs it)"
	set -- $(free_ports 2)
	lp=$1 pa=$2
	mkcert ca
	mkcert ca other
	mkcert leaf pg.tls.test
	mkcert server other cluster.tls.test
	: >pg.state
	sh "$TOOLS/pgclusters.sh" create "$PWD/pg.state" "l4dt_$$_t" "$pa" \
	    certs/cluster.tls.test.crt certs/cluster.tls.test.key \
	    >pg.log 2>&1 || atf_fail "cluster: $(oneline pg.log)"
	{
		cfg_tls 2 true
		cat <<EOF
listeners:
  - name: pg
    listen: "127.0.0.1:$lp"
    backend: pg
    starttls: postgres
    tls:
      certificates: [ $(cert_of pg.tls.test) ]
backends:
  - { name: pg, servers: [ { address: "127.0.0.1:$pa" } ] }
EOF
	} >l4d.conf
	start_l4d
	q="select current_setting('port'), coalesce((select ssl from pg_stat_ssl where pid = pg_backend_pid()), false), version() is not null"
	conn="host=pg.tls.test hostaddr=127.0.0.1 port=$lp sslmode=verify-full sslrootcert=$PWD/certs/ca.crt user=postgres dbname=postgres connect_timeout=10 gssencmode=disable"
	# l4d's certificate verified for pg.tls.test; the cluster (whose
	# own certificate is from another CA) sees a session without SSL.
	atf_check -s exit:0 -o inline:"$pa|f|t\n" -e empty psql "$conn" -XAtc "$q"
	wait_log "access .*listener=pg .*backend=pg server=127\.0\.0\.1:$pa sni=pg\.tls\.test alpn=[^ ]+ $TLS13 $NOCERT in=[1-9][0-9]* out=[1-9][0-9]* .*cause=(client|server)-closed" ||
	    atf_fail "no access line for psql: $(alog)"
	# The cluster's own certificate is not what psql sees: with the
	# cluster's CA only, verify-full fails.
	atf_check -s not-exit:0 -o empty -e match:'certificate' \
	    psql "host=pg.tls.test hostaddr=127.0.0.1 port=$lp sslmode=verify-full sslrootcert=$PWD/certs/other.crt user=postgres dbname=postgres connect_timeout=10 gssencmode=disable" -XAtc "$q"
	# Several statements in one session, a larger result.
	atf_check -s exit:0 -o inline:"5000\n" -e empty psql "$conn" -XAtc \
	    "select count(*) from (select repeat('x', 1000) from generate_series(1, 5000)) s"
}
postgres_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 6. Key isolation: no relay's memory holds a private key, neither as
#    PEM nor DER nor the bare scalar; an engine's does (which shows the
#    scan finds what is there); engines run as _l4d in the chroot.

atf_test_case key_isolation cleanup
key_isolation_head()
{
	meta "as root: the private keys are in no relay's memory (PEM, DER, scalar), they are in the engines', which run as _l4d in /var/empty" 120
}
key_isolation_body()
{
	tls_init
	# AddressSanitizer's shadow maps terabytes: a scan of every page
	# would not end, and proves nothing a plain build does not
	if grep -q __asan_init "$L4D" 2>/dev/null; then
		atf_skip "the memory scan runs in the plain build (make check)"
	fi
	set -- $(free_ports 2)
	lp=$1 lb=$2
	set -- $(free_ports 2 127.0.0.2)
	pe=$1 pm=$2
	mkcert ca
	mkcert ca clients
	mkcert leaf k1.tls.test
	mkcert leaf k2.tls.test
	mkcert leaf backend.tls.test
	mkcert client clients l4d-client
	start_server echo echo "127.0.0.2:$pe"
	start_tls_server mtls echo "127.0.0.2:$pm" backend.tls.test \
	    --tls-client-ca certs/clients.crt
	{
		cfg_tls 2 true 2
		cat <<EOF
listeners:
  - name: tls
    listen: "127.0.0.1:$lp"
    backend: echo
    tls:
      certificates: [ $(cert_of k1.tls.test), $(cert_of k2.tls.test) ]
  - { name: out, listen: "127.0.0.1:$lb", backend: mtls }
backends:
  - { name: echo, servers: [ { address: "127.0.0.2:$pe" } ] }
  - name: mtls
    servers: [ { address: "127.0.0.2:$pm" } ]
    tls:
      ca: $PWD/certs/ca.crt
      server_name: backend.tls.test
      cert: $PWD/certs/l4d-client.crt
      key: $PWD/certs/l4d-client.key
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 count_is 2 engines || atf_fail "expected 2 engines: $(engines)"
	wait_for 10 count_is 2 relays || atf_fail "expected 2 relays: $(relays)"
	# Sessions of both kinds first, on every relay and engine (the
	# kernel spreads them over the relays, the relays over the engines).
	for n in k1 k2 k1 k2 k1 k2; do
		atf_check -s exit:0 -e empty \
		    -o match:"^cert $(fp certs/$n.tls.test.crt)\$" \
		    -o match:'^reply x$' $PY "$TLSC" line \
		    --connect "127.0.0.1:$lp" --name $n.tls.test \
		    --ca certs/ca.crt --data 'x\n'
	done
	atf_check -s exit:0 -o match:'^ok 6 sessions' -e empty \
	    $PY "$CLIENT" concurrent --connect "127.0.0.1:$lb" --timeout 30 \
	    --sessions 6 --size 1000
	# Sessions open while we look.
	$PY "$TLSC" keep --connect "127.0.0.1:$lp" --name k1.tls.test \
	    --ca certs/ca.crt --count 2 --ready keep.ready --go keep.go \
	    --timeout 60 >keep.out 2>&1 </dev/null &
	echo $! >keep.pid
	wait_for 10 test -e keep.ready || atf_fail "keep: $(oneline keep.out)"

	keys="--key k1=certs/k1.tls.test.key --key k2=certs/k2.tls.test.key"
	keys="$keys --key client=certs/l4d-client.key"
	# shellcheck disable=SC2046,SC2086
	atf_check -s exit:0 -o save:scan.out -e empty $PY "$TOOLS/keyscan.py" \
	    $keys $(relays) $(engines)
	cat scan.out
	for r in $(relays); do
		check_unpriv "$r" relay
		grep -q "^scanned $r [1-9]" scan.out ||
		    atf_fail "relay $r: nothing scanned"
		bad=$(awk -v p="$r" '$1 == p && $3 != "-"' scan.out)
		[ -z "$bad" ] || atf_fail "a private key in relay $r's memory: $bad"
	done
	for e in $(engines); do
		check_unpriv "$e" "tls engine"
		for k in k1 k2 client; do
			awk -v p="$e" -v k="$k" '$1 == p && $2 == k && $3 != "-"' \
			    scan.out | grep -q . ||
			    atf_fail "engine $e: key $k not found: the scan proves nothing"
		done
	done
	# The engines' titles: tls 0 and tls 1 (what follows, as for the
	# relays, is setproctitle's padding).
	for e in $(engines); do
		{ tr '\0' ' ' <"/proc/$e/cmdline"; echo; } |
		    sed -n 's/^\(l4d: tls [0-9][0-9]*\)\( .*\)*$/\1/p'
	done | sort >titles.out
	printf 'l4d: tls 0\nl4d: tls 1\n' >titles.want
	diff -u titles.want titles.out >titles.diff ||
	    atf_fail "engine titles: $(oneline titles.diff)"
	# The parent, which reads the files, for the record.
	# shellcheck disable=SC2086
	$PY "$TOOLS/keyscan.py" $keys "$(cat l4d.pid)" | sed 's/^/parent: /'
	touch keep.go
	wait_for 15 not_alive "$(cat keep.pid)" || atf_fail "keep did not end"
	grep -q '^alive 2 ended 0$' keep.out || atf_fail "keep: $(oneline keep.out)"
}
key_isolation_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 7. A reload with a new certificate: new sessions get it (the files
#    overwritten in place and the same configuration, as certbot does;
#    then a configuration naming other files); sessions opened before
#    go on.

# reload_conf CERTNAME: the configuration of reload_cert.
reload_conf()
{
	cfg_tls 2 true
	cat <<EOF
listeners:
  - name: site
    listen: "127.0.0.1:$lp"
    backend: echo
    tls:
      certificates: [ $(cert_of "$1") ]
backends:
  - { name: echo, servers: [ { address: "127.0.0.2:$pe" } ] }
EOF
}

atf_test_case reload_cert cleanup
reload_cert_head()
{
	meta "reload with a new certificate (in place, then new paths): new sessions get it, older sessions still echo" 90
}
reload_cert_body()
{
	tls_init
	lp=$(free_ports 1)
	pe=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert leaf site.tls.test
	cp certs/site.tls.test.crt v1.crt
	start_server echo echo "127.0.0.2:$pe"
	reload_conf site.tls.test >l4d.conf
	start_l4d
	relays_before=$(relays | tr '\n' ' ')
	tc="line --connect 127.0.0.1:$lp --name site.tls.test --ca certs/ca.crt --data x\n"
	# shellcheck disable=SC2086
	atf_check -s exit:0 -e empty -o match:"^cert $(fp v1.crt)\$" \
	    $PY "$TLSC" $tc

	# Two sessions opened on the first certificate stay open.
	$PY "$TLSC" keep --connect "127.0.0.1:$lp" --name site.tls.test \
	    --ca certs/ca.crt --count 2 --report keep.json --ready keep.ready \
	    --go keep.go --timeout 60 >keep.out 2>&1 </dev/null &
	echo $! >keep.pid
	wait_for 10 test -e keep.ready || atf_fail "keep: $(oneline keep.out)"

	# New files at the same paths, the same configuration.
	mkcert leaf site.tls.test
	cp certs/site.tls.test.crt v2.crt
	[ "$(fp v1.crt)" != "$(fp v2.crt)" ] || atf_fail "the same certificate twice"
	atf_check -s exit:0 -e empty -o match:'^reloaded ' -o save:reload1.out \
	    $CTL reload
	cat reload1.out
	# shellcheck disable=SC2086
	atf_check -s exit:0 -e empty -o match:"^cert $(fp v2.crt)\$" \
	    $PY "$TLSC" $tc

	# Other files, named by a new configuration.
	mkcert leaf new.tls.test site.tls.test
	reload_conf new.tls.test >l4d2.conf
	atf_check -s exit:0 -e empty -o match:'^reloaded ' -o save:reload2.out \
	    $CTL reload -f "$PWD/l4d2.conf"
	cat reload2.out
	# The listener's certificate is another file: the report says so.
	grep -Eq '^listener site: (tls )?changed$' reload2.out ||
	    echo "reload with another certificate file: $(oneline reload2.out)" >>failures
	# shellcheck disable=SC2086
	atf_check -s exit:0 -e empty \
	    -o match:"^cert $(fp certs/new.tls.test.crt)\$" $PY "$TLSC" $tc

	# The old sessions still echo; they had the first certificate.
	touch keep.go
	wait_for 15 not_alive "$(cat keep.pid)" || atf_fail "keep did not end"
	grep -q '^alive 2 ended 0$' keep.out ||
	    atf_fail "old sessions: $(oneline keep.out)"
	had=$($PY -c 'import json, sys
print(" ".join(sorted({r["cert"] for r in json.load(open(sys.argv[1]))})))' \
	    keep.json)
	[ "$had" = "$(fp v1.crt)" ] || atf_fail "the old sessions had $had"
	[ "$(relays | tr '\n' ' ')" = "$relays_before" ] ||
	    atf_fail "the relays changed: $relays_before -> $(relays | tr '\n' ' ')"
	! log_has 'restart' || atf_fail "a process was restarted: $(grep restart l4d.log)"
	[ ! -s failures ] || atf_fail "$(oneline failures)"
}
reload_cert_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 8. A killed engine: the parent starts another; the sessions it carried
#    end with tls-error, the relays and every other session go on.

# engine_replaced OLD: the parent has $ENGINES engines again, OLD gone.
engine_replaced()
{
	_er=$(engines)
	[ "$(echo "$_er" | wc -w)" -eq "$ENGINES" ] || return 1
	for _p in $_er; do
		[ "$_p" -ne "$1" ] || return 1
	done
}

do_engine_kill()
{
	tls_init
	ENGINES=$1
	set -- $(free_ports 2)
	lt=$1 lp=$2
	pe=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert leaf kill.tls.test
	start_server echo echo "127.0.0.2:$pe"
	{
		cfg_tls 2 true "$ENGINES"
		cat <<EOF
listeners:
  - name: tls
    listen: "127.0.0.1:$lt"
    backend: echo
    tls:
      certificates: [ $(cert_of kill.tls.test) ]
  - { name: plain, listen: "127.0.0.1:$lp", backend: echo }
backends:
  - { name: echo, servers: [ { address: "127.0.0.2:$pe" } ] }
EOF
	} >l4d.conf
	start_l4d
	wait_for 10 count_is "$ENGINES" engines ||
	    atf_fail "expected $ENGINES engines: $(engines)"
	relays_before=$(relays | tr '\n' ' ')
	n=6
	$PY "$TLSC" keep --connect "127.0.0.1:$lt" --name kill.tls.test \
	    --ca certs/ca.crt --count $n --ready tkeep.ready --go keep.go \
	    --after observe --max 5 --timeout 60 >tkeep.out 2>&1 </dev/null &
	echo $! >tkeep.pid
	$PY "$CLIENT" keep --connect "127.0.0.1:$lp" --count 2 --size 100 \
	    --ready pkeep.ready --go keep.go --after echo --timeout 60 \
	    >pkeep.out 2>&1 </dev/null &
	echo $! >pkeep.pid
	wait_for 10 test -e tkeep.ready -a -e pkeep.ready ||
	    atf_fail "the sessions did not open: $(oneline tkeep.out) $(oneline pkeep.out)"

	victim=$(engines | head -n 1)
	kill -KILL "$victim"
	wait_log '^parent: .*restart' 10 ||
	    atf_fail "the parent did not log a restart: $(oneline l4d.log)"
	wait_for 10 engine_replaced "$victim" ||
	    atf_fail "engine $victim was not replaced: $(engines | tr '\n' ' ')"
	engines >engines.pid
	for e in $(engines); do
		check_unpriv "$e" "tls engine"
	done
	[ "$(relays | tr '\n' ' ')" = "$relays_before" ] ||
	    atf_fail "the relays changed: $relays_before -> $(relays | tr '\n' ' ')"
	# The killed engine's sessions end with tls-error, without waiting
	# for the client.
	if [ "$ENGINES" -eq 1 ]; then
		wait_for 10 access_count_is $n 'listener=tls .*cause=tls-error' ||
		    atf_fail "expected $n tls-error lines: $(alog)"
	else
		wait_log 'listener=tls .*cause=tls-error' 10 ||
		    atf_fail "no tls-error line: $(alog)"
	fi
	# New handshakes work (on every engine: the relays take turns).
	for i in 1 2 3 4 5 6; do
		atf_check -s exit:0 -e empty -o match:"^reply new $i\$" \
		    $PY "$TLSC" line --connect "127.0.0.1:$lt" \
		    --name kill.tls.test --ca certs/ca.crt --data "new $i\n"
	done
	touch keep.go
	wait_for 40 not_alive "$(cat tkeep.pid)" || atf_fail "tkeep did not end"
	wait_for 10 not_alive "$(cat pkeep.pid)" || atf_fail "pkeep did not end"
	wait "$(cat pkeep.pid)" || atf_fail "the plain sessions: $(oneline pkeep.out)"
	cat tkeep.out
	alive=$(sed -n 's/^alive \([0-9]*\) ended [0-9]*$/\1/p' tkeep.out)
	ended=$(sed -n 's/^alive [0-9]* ended \([0-9]*\)$/\1/p' tkeep.out)
	errs=$(log_count 'access .*listener=tls .*cause=tls-error')
	[ -n "$ended" ] && [ "$ended" = "$errs" ] ||
	    atf_fail "$ended sessions ended, $errs tls-error lines: $(alog)"
	if [ "$ENGINES" -eq 1 ]; then
		[ "$ended" -eq $n ] || atf_fail "only $ended of $n sessions ended"
	else
		[ "$ended" -ge 1 ] && [ "$alive" -ge 1 ] ||
		    atf_fail "alive $alive ended $ended: expected some of each"
	fi
	echo "killed engine $victim: $ended sessions ended with tls-error, $alive went on"
}

atf_test_case engine_kill cleanup
engine_kill_head()
{
	meta "tls_engines 1: kill -9 the engine: restarted, its sessions end with tls-error, relays and plain sessions untouched" 90
}
engine_kill_body() { do_engine_kill 1; }
engine_kill_cleanup() { cleanup; }

atf_test_case engine_kill_two cleanup
engine_kill_two_head()
{
	meta "tls_engines 2: kill -9 one engine: its sessions end with tls-error, the other engine's go on" 90
}
engine_kill_two_body() { do_engine_kill 2; }
engine_kill_two_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 9. 64 MiB each way, byte-exact: terminated (a Python TLS client to a
#    plain server) and originated (a plain client to a Python TLS
#    server).

do_bulk_terminate()
{
	tls_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert leaf bulk.tls.test
	start_server sink sinksource "127.0.0.2:$sp" \
	    --bytes $BULK --seed 7 --report sink.report
	{
		cfg_tls 2 "$1"
		cat <<EOF
listeners:
  - name: bulk
    listen: "127.0.0.1:$lp"
    backend: sink
    tls:
      certificates: [ $(cert_of bulk.tls.test) ]
backends:
  - { name: sink, servers: [ { address: "127.0.0.2:$sp" } ] }
EOF
	} >l4d.conf
	start_l4d
	# The client sends its close_notify after its 64 MiB and reads on:
	# the server must see the end of the data, and its own end must
	# come back as a close_notify.
	atf_check -s exit:0 -o save:client.out -e empty \
	    -o match:'^end close_notify$' \
	    $PY "$TLSC" bulk --connect "127.0.0.1:$lp" --name bulk.tls.test \
	    --ca certs/ca.crt --timeout 150 --bytes $BULK --seed 3 \
	    --peer-bytes $BULK --peer-seed 7
	wait_for 10 test -s sink.report ||
	    atf_fail "the server did not report what it received"
	want=$(client genhash --bytes $BULK --seed 3)
	got=$(cat sink.report)
	[ "$got" = "$want" ] ||
	    atf_fail "server received '$got'; the client sent '$want'"
	wait_log "access .*listener=bulk .*$TLS13 $NOCERT in=$BULK out=$BULK " ||
	    atf_fail "no access line with in=$BULK out=$BULK: $(alog)"
}

do_bulk_originate()
{
	tls_init
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert leaf sink.tls.test
	start_tls_server sink sinksource "127.0.0.2:$sp" sink.tls.test \
	    --bytes $BULK --seed 7 --report sink.report
	{
		cfg_tls 2 "$1"
		cat <<EOF
listeners:
  - { name: bulk, listen: "127.0.0.1:$lp", backend: sink }
backends:
  - name: sink
    servers: [ { address: "127.0.0.2:$sp" } ]
    tls: { ca: $PWD/certs/ca.crt, server_name: sink.tls.test }
EOF
	} >l4d.conf
	start_l4d
	atf_check -s exit:0 -o save:client.out -e empty \
	    $PY "$CLIENT" bulk --connect "127.0.0.1:$lp" --timeout 150 \
	    --bytes $BULK --seed 3 --peer-bytes $BULK --peer-seed 7
	wait_for 10 test -s sink.report ||
	    atf_fail "the server did not report what it received"
	want=$(client genhash --bytes $BULK --seed 3)
	got=$(cat sink.report)
	[ "$got" = "$want" ] ||
	    atf_fail "server received '$got'; the client sent '$want'"
	wait_log "access .*listener=bulk .*server_tls=TLSv1\.3 in=$BULK out=$BULK " ||
	    atf_fail "no access line with in=$BULK out=$BULK: $(alog)"
}

both_modes bulk_terminate do_bulk_terminate 200 "64 MiB each way through a terminated listener, byte-exact"
both_modes bulk_originate do_bulk_originate 200 "64 MiB each way to a TLS backend, byte-exact"

# ---------------------------------------------------------------------
# 10. 200 TLS sessions at once, each way: 200 handshakes with l4d, and
#     200 from l4d to a TLS echo server.

do_concurrent()
{
	tls_init
	zc=$1
	set -- $(free_ports 2)
	lt=$1 lo=$2
	set -- $(free_ports 2 127.0.0.2)
	pe=$1 pt=$2
	mkcert ca
	mkcert leaf many.tls.test
	mkcert leaf echo.tls.test
	start_server echo echo "127.0.0.2:$pe"
	start_tls_server techo echo "127.0.0.2:$pt" echo.tls.test
	{
		cfg_tls 2 "$zc" 2
		cat <<EOF
listeners:
  - name: tls
    listen: "127.0.0.1:$lt"
    backend: echo
    tls:
      certificates: [ $(cert_of many.tls.test) ]
  - { name: out, listen: "127.0.0.1:$lo", backend: techo }
backends:
  - { name: echo, servers: [ { address: "127.0.0.2:$pe" } ] }
  - name: techo
    servers: [ { address: "127.0.0.2:$pt" } ]
    tls: { ca: $PWD/certs/ca.crt, server_name: echo.tls.test }
EOF
	} >l4d.conf
	start_l4d
	atf_check -s exit:0 -o match:'^ok 200 sessions 131072 bytes each' \
	    -e empty $PY "$TLSC" concurrent --connect "127.0.0.1:$lt" \
	    --name many.tls.test --ca certs/ca.crt --sessions 200 \
	    --size 131072 --timeout 120
	wait_for 20 access_count_is 200 "listener=tls .*$TLS13 $NOCERT in=131072 out=131072 " ||
	    atf_fail "expected 200 access lines with in=out=131072, got $(log_count 'listener=tls .* in=131072 out=131072 ')"
	atf_check -s exit:0 -o match:'^ok 200 sessions' -e empty \
	    $PY "$CLIENT" concurrent --connect "127.0.0.1:$lo" --timeout 120 \
	    --sessions 200 --size 131072
	wait_for 20 access_count_is 200 "listener=out .*server_tls=TLSv1\.3 in=131072 out=131072 " ||
	    atf_fail "expected 200 access lines on out, got $(log_count 'listener=out .* in=131072 out=131072 ')"
	[ "$(grep -c 'version=TLSv1\.3' techo.tls)" -eq 200 ] ||
	    atf_fail "the TLS server saw $(grep -c . techo.tls) handshakes"
}

both_modes concurrent do_concurrent 180 "200 concurrent TLS sessions each way, byte-exact"

# poller_event NAME FUNCTION ZERO_COPY TIMEOUT DESCRIPTION: case
# poller_event_NAME runs FUNCTION against l4d-event (libevent's poller,
# poll_event.c), whose relays watch the engines' socketpairs too.
poller_event()
{
	atf_test_case "poller_event_$1" cleanup
	eval "poller_event_${1}_head() {
		meta \"libevent poller: $5, zero_copy $3\" $4; }
	poller_event_${1}_body() { L4D_DAEMON=l4d-event; $2 $3; }
	poller_event_${1}_cleanup() { cleanup; }"
}

poller_event bulk_terminate do_bulk_terminate true 200 "64 MiB each way through a terminated listener"
poller_event concurrent do_concurrent false 180 "200 concurrent TLS sessions each way"

# ---------------------------------------------------------------------
# 10a. Short sessions: bytes and their end come together (the client's
#      close_notify and FIN right behind its bytes, the echo server's FIN
#      behind the echo), where the engine takes a short read for a dry
#      socket: none may wait for its idle timeout.  Through a terminated
#      listener to a plain server (the engine holds both sockets) and to
#      a TLS server (two legs, the relay between them).

atf_test_case short_sessions cleanup
short_sessions_head()
{
	meta "300 short sessions, their ends right behind their bytes" 120
}
short_sessions_body()
{
	tls_init
	set -- $(free_ports 2)
	lt=$1 l2=$2
	set -- $(free_ports 2 127.0.0.2)
	pe=$1 pt=$2
	mkcert ca
	mkcert leaf short.tls.test
	mkcert leaf echo.tls.test
	start_server echo echo "127.0.0.2:$pe"
	start_tls_server techo echo "127.0.0.2:$pt" echo.tls.test
	{
		cfg_tls 1 true 1
		cat <<EOF
listeners:
  - name: plain
    listen: "127.0.0.1:$lt"
    backend: echo
    tls: { certificates: [ $(cert_of short.tls.test) ] }
  - name: legs
    listen: "127.0.0.1:$l2"
    backend: techo
    tls: { certificates: [ $(cert_of short.tls.test) ] }
backends:
  - { name: echo, servers: [ { address: "127.0.0.2:$pe" } ] }
  - name: techo
    servers: [ { address: "127.0.0.2:$pt" } ]
    tls: { ca: $PWD/certs/ca.crt, server_name: echo.tls.test }
EOF
	} >l4d.conf
	start_l4d
	for l in $lt $l2; do
		atf_check -s exit:0 -o match:'^ok 150 sessions' -e empty \
		    $PY "$TLSC" short --connect "127.0.0.1:$l" \
		    --name short.tls.test --ca certs/ca.crt --sessions 150 \
		    --size 20000 --timeout 5
	done
	wait_for 20 access_count_is 300 "listener=(plain|legs) .*$TLS13 $NOCERT " ||
	    atf_fail "expected 300 access lines: $(alog)"
}
short_sessions_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 10b. A terminated session to a plain server connects alongside the
#      handshake: a server that speaks first is heard once the handshake
#      is done, a failed handshake ends a connected server's session as
#      tls-error, and with client_auth: require no server hears of a
#      client before its certificate is checked.

atf_test_case early_connect cleanup
early_connect_head()
{
	meta "connect alongside the handshake: a server that speaks first, a failed handshake after the connect, none before client_auth require" 90
}
early_connect_body()
{
	tls_init
	set -- $(free_ports 2)
	lf=$1 lr=$2
	pb=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert leaf early.tls.test
	start_server first id "127.0.0.2:$pb" --id b1
	{
		cfg_tls 1 true
		cat <<EOF
listeners:
  - name: fast
    listen: "127.0.0.1:$lf"
    backend: first
    tls:
      certificates: [ $(cert_of early.tls.test) ]
  - name: req
    listen: "127.0.0.1:$lr"
    backend: first
    tls:
      certificates: [ $(cert_of early.tls.test) ]
      client_auth: require
      client_ca: $PWD/certs/ca.crt
backends:
  - { name: first, servers: [ { address: "127.0.0.2:$pb" } ] }
EOF
	} >l4d.conf
	start_l4d

	# What the server says at the connect comes as the first TLS data.
	atf_check -s exit:0 -e empty -o match:'^reply b1$' \
	    $PY "$TLSC" line --connect "127.0.0.1:$lf" \
	    --name early.tls.test --ca certs/ca.crt --expect b1
	wait_log "access .*listener=fast .*server=127\.0\.0\.2:$pb sni=early\.tls\.test .*tls=TLSv1\.3 .*in=0 out=3 .*cause=(client|server)-closed" ||
	    atf_fail "fast: $(alog)"

	# Garbage after a real hello: the server was connected, the session
	# is a tls-error with a reason and counts as a handshake failure.
	atf_check -s exit:0 -o match:'^end (eof|reset)' -e empty \
	    $PY "$TLSC" garbage --connect "127.0.0.1:$lf" \
	    --name early.tls.test --bytes 3000 --max 5 --timeout 10
	wait_log "access .*listener=fast .*server=127\.0\.0\.2:$pb sni=early\.tls\.test .*tls_error=\"[^\"]+\" in=0 out=0 .*cause=tls-error" ||
	    atf_fail "fast, garbage: $(alog)"
	wait_for 5 stats_has '^listener fast .* tls-failed-handshake 1( |$)' ||
	    atf_fail "fast's failures: $(grep '^listener fast ' stats.out)"

	# No certificate where one is required: no server was connected.
	atf_check -s not-exit:0 -o ignore -e ignore \
	    $PY "$TLSC" line --connect "127.0.0.1:$lr" \
	    --name early.tls.test --ca certs/ca.crt --data 'ok\n'
	wait_log 'access .*listener=req .*backend=first server=- .*cause=tls-error' ||
	    atf_fail "req: $(alog)"
}
early_connect_cleanup() { cleanup; }

# ---------------------------------------------------------------------
# 11. Clients that misbehave: bytes that are no TLS, a malformed hello,
#     garbage after a real hello, a handshake that stops half way, a
#     renegotiation, a chain of 100 client certificates.  Each ends one
#     session with a cause; l4d goes on serving.

# good: one good TLS session through listener tls of bad_input.
good()
{
	atf_check -s exit:0 -e empty -o match:'^reply ok$' \
	    $PY "$TLSC" line --connect "127.0.0.1:$lp" \
	    --name bad.tls.test --ca certs/ca.crt --data 'ok\n'
}

atf_test_case bad_input cleanup
bad_input_head()
{
	meta "garbage, a stalled handshake (handshake-timeout), renegotiation refused, 100 client certificates: each session ends with a cause, l4d serves on" 120
}
bad_input_body()
{
	tls_init
	set -- $(free_ports 2)
	lp=$1 lm=$2
	pe=$(free_ports 1 127.0.0.2)
	mkcert ca
	mkcert leaf bad.tls.test
	mkcert chain long 100
	start_server echo echo "127.0.0.2:$pe"
	{
		cfg_tls 1 true
		cat <<EOF
listeners:
  - name: tls
    listen: "127.0.0.1:$lp"
    backend: echo
    timeouts: { handshake: 2s }
    tls:
      certificates: [ $(cert_of bad.tls.test) ]
  - name: mtls
    listen: "127.0.0.1:$lm"
    backend: echo
    timeouts: { handshake: 2s }
    tls:
      certificates: [ $(cert_of bad.tls.test) ]
      client_auth: require
      client_ca: $PWD/certs/long-root.crt
backends:
  - { name: echo, servers: [ { address: "127.0.0.2:$pe" } ] }
EOF
	} >l4d.conf
	start_l4d
	procs=$(children "$(cat l4d.pid)" | tr '\n' ' ')
	good

	# 0x16 and then garbage: the hello reader's bad-hello.
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --kind garbage --out garbage.hello
	atf_check -s exit:0 -o match:'^end (eof|reset)' -e ignore \
	    $PY "$HELLO" send --connect "127.0.0.1:$lp" --hello garbage.hello \
	    --no-shut --max 1.5 --timeout 10
	wait_log 'access .*listener=tls .*cause=bad-hello' ||
	    atf_fail "malformed hello: $(alog)"
	# A real hello, then garbage records: the engine's tls-error.
	atf_check -s exit:0 -o match:'^end (eof|reset)' -o save:garbage.out \
	    -e empty $PY "$TLSC" garbage --connect "127.0.0.1:$lp" \
	    --name bad.tls.test --bytes 3000 --max 1.5 --timeout 10
	wait_log 'access .*listener=tls .*sni=bad\.tls\.test .*tls_error="[^"]+" .*cause=tls-error' ||
	    atf_fail "garbage after the hello: $(alog)"
	good

	# A handshake that stops half way (the hello, never the Finished):
	# cut after timeouts.handshake, as handshake-timeout.  Its server
	# was connected alongside the handshake (client_auth is none).
	atf_check -s exit:0 -o match:'^end (eof|reset)' -o save:stall.out \
	    -e empty $PY "$TLSC" stall --connect "127.0.0.1:$lp" \
	    --name bad.tls.test --min 1.8 --max 4 --timeout 10
	echo "stalled handshake: closed after $(sed -n 's/^elapsed //p' stall.out) s (handshake timeout 2 s)"
	wait_log 'access .*listener=tls .*server=127\.0\.0\.2:[0-9]+ sni=bad\.tls\.test .*in=0 out=0 .*cause=handshake-timeout' 5 ||
	    atf_fail "stalled handshake: no handshake-timeout line: $(alog)"
	# A hello cut short: the hello reader's own timeout.
	atf_check -s exit:0 -o ignore -e empty $PY "$HELLO" build \
	    --sni bad.tls.test --out full.hello
	atf_check -s exit:0 -o match:'^end (eof|reset)' -e ignore \
	    $PY "$HELLO" send --connect "127.0.0.1:$lp" --hello full.hello \
	    --cut 40 --no-shut --min 1.8 --max 4 --timeout 10
	wait_log 'access .*listener=tls .*in=40 out=0 .*cause=handshake-timeout' 5 ||
	    atf_fail "cut hello: $(alog)"
	good

	# Renegotiation (TLS 1.2, "R" to s_client): refused.  s_client reads
	# its commands from a fifo that we hold open.
	rm -f reneg.fifo
	mkfifo reneg.fifo
	openssl s_client -connect "127.0.0.1:$lp" -servername bad.tls.test \
	    -tls1_2 -CAfile certs/ca.crt <reneg.fifo >reneg.out 2>&1 &
	echo $! >reneg.pid
	exec 3>reneg.fifo
	wait_for 10 grep -q '^    Verify return code: 0' reneg.out ||
	    atf_fail "s_client: $(oneline reneg.out)"
	echo R >&3
	wait_for 10 grep -q '^RENEGOTIATING' reneg.out ||
	    atf_fail "s_client did not renegotiate: $(oneline reneg.out)"
	if ! wait_for 10 not_alive "$(cat reneg.pid)"; then
		# Still up: the renegotiation went through, or nothing came.
		echo reneg-ping >&3
		wait_for 5 not_alive "$(cat reneg.pid)" || true
	fi
	exec 3>&-
	wait_for 5 not_alive "$(cat reneg.pid)" ||
	    atf_fail "s_client still runs: $(tail -n 5 reneg.out | tr '\n' '|')"
	sed -n '/^RENEGOTIATING/,$p' reneg.out >reneg.after
	cat reneg.after
	# Refused: an alert, an error, and no second handshake.
	grep -q 'error:' reneg.after && ! grep -Eq '^depth=|Verify return code' reneg.after ||
	    atf_fail "the renegotiation was not refused: $(oneline reneg.after)"
	wait_for 10 access_count_is 1 'listener=tls .*tls=TLSv1\.2 .*cause=' ||
	    atf_fail "no access line for the renegotiating session: $(alog)"
	echo "renegotiation: $(grep 'listener=tls .*tls=TLSv1\.2 ' l4d.log | sed 's/.*\(tls=.*\)/\1/')"
	# The engine refused it: the session ended on a TLS error.
	access_count_is 1 'listener=tls .*tls=TLSv1\.2 .*tls_error="[^"]*renegotiation[^"]*" .*cause=tls-error' ||
	    echo "the renegotiating session did not end with tls-error and the reason: $(grep 'listener=tls .*tls=TLSv1\.2 ' l4d.log)" >>failures
	good

	# 100 certificates in the client's chain.
	[ "$(grep -c 'BEGIN CERTIFICATE' certs/long.crt)" -eq 100 ] ||
	    atf_fail "certs/long.crt is no chain of 100"
	atf_check -s exit:1 -o not-match:'^reply' -e ignore \
	    $PY "$TLSC" line --connect "127.0.0.1:$lm" --name bad.tls.test \
	    --ca certs/ca.crt --cert certs/long.crt --key certs/long.key \
	    --data 'long\n'
	wait_log 'access .*listener=mtls .*tls_error="[^"]+" .*cause=tls-error' ||
	    atf_fail "100 certificates: no tls-error line: $(alog)"
	echo "100 certificates: $(sed -n 's/.*listener=mtls .* \(tls_error=.*\)/\1/p' l4d.log)"
	good

	# The same processes all along; every session counted.
	[ "$(children "$(cat l4d.pid)" | tr '\n' ' ')" = "$procs" ] ||
	    atf_fail "processes changed: $procs -> $(children "$(cat l4d.pid)" | tr '\n' ' ')"
	! log_has 'restart|fatal' || atf_fail "$(grep -E 'restart|fatal' l4d.log)"
	atf_check -s exit:0 -o save:stats.out -e empty $CTL show stats
	cat stats.out
	grep -Eq '^listener tls sessions 10 .*handshake-timeout 2( |$)' stats.out ||
	    atf_fail "show stats: $(oneline stats.out)"

	# Not TLS at all: closed at once, never passed to the backend in
	# the clear (a listener with tls: terminates every session).
	$PY "$HELLO" send --connect "127.0.0.1:$lp" \
	    --data 'GET / HTTP/1.0\r\n\r\n' --no-shut --max 1.5 --timeout 5 \
	    >plain.out 2>&1
	grep -Eq '^end (eof|reset)' plain.out && grep -q '^reply -$' plain.out ||
	    echo "plaintext on a tls: listener: $(oneline plain.out)" >>failures
	wait_log 'access .*listener=tls .*server=- sni=- alpn=- (.* )?in=18 out=0 .*cause=(bad-hello|tls-error)' ||
	    echo "plaintext: no bad-hello or tls-error line: $(grep 'in=18 ' l4d.log)" >>failures
	[ ! -s failures ] || atf_fail "$(oneline failures)"
}
bad_input_cleanup() { cleanup; }

atf_init_test_cases()
{
	atf_add_test_case sni_certs
	atf_add_test_case client_auth
	atf_add_test_case resumption
	atf_add_test_case backend_tls
	atf_add_test_case postgres
	atf_add_test_case key_isolation
	atf_add_test_case reload_cert
	atf_add_test_case engine_kill
	atf_add_test_case engine_kill_two
	for _c in bulk_terminate bulk_originate concurrent; do
		atf_add_test_case ${_c}_splice
		atf_add_test_case ${_c}_copy
	done
	atf_add_test_case poller_event_bulk_terminate
	atf_add_test_case poller_event_concurrent
	atf_add_test_case short_sessions
	atf_add_test_case early_connect
	atf_add_test_case bad_input
}
