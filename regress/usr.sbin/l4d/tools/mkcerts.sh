#!/bin/sh
# Test certificates, made with openssl(1) at test time (EC P-256 keys:
# fast to make, accepted by OpenSSL, Python's ssl, nginx and PostgreSQL).
#
#	sh mkcerts.sh self DIR NAME	DIR/NAME.crt, DIR/NAME.key: a
#					self-signed certificate for NAME
#					(CN and subjectAltName DNS:NAME)
#	sh mkcerts.sh ca DIR [CA]	DIR/CA.crt, DIR/CA.key: a test CA
#					(CA defaults to "ca", CN "l4d test
#					CA"; another CA's CN is "l4d test
#					CA CA")
#	sh mkcerts.sh leaf DIR NAME [SAN...]
#					DIR/NAME.crt, DIR/NAME.key for NAME,
#					signed by DIR/ca.crt
#	sh mkcerts.sh server DIR CA NAME [SAN...]
#					the same, signed by DIR/CA.crt
#	sh mkcerts.sh client DIR CA NAME
#					DIR/NAME.crt, DIR/NAME.key: a client
#					certificate (extendedKeyUsage
#					clientAuth), subject "/O=l4d
#					tests/CN=NAME", signed by DIR/CA.crt
#	sh mkcerts.sh ocsp DIR CA NAME	DIR/NAME.ocsp: a DER OCSP response
#					"good" for DIR/NAME.crt, signed by
#					its issuer DIR/CA (for ocsp_staple:)
#	sh mkcerts.sh crl DIR CA [NAME...]
#					DIR/CA.crl: CA's PEM CRL revoking
#					DIR/NAME.crt for every NAME
#	sh mkcerts.sh chain DIR NAME N	a chain of N certificates: a CA
#					DIR/NAME-root.crt (not among them),
#					N - 1 intermediates under it, one
#					under the other, and a client leaf
#					"/O=l4d tests/CN=NAME" under the
#					last; DIR/NAME.crt holds the leaf and
#					then the intermediates (N
#					certificates, what a client sends),
#					DIR/NAME.key the leaf's key
#
# A server certificate's subjectAltName is DNS:NAME, then each SAN:
# "IP:127.0.0.2" or "DNS:x" as given, a bare "*.example.test" or
# "x.test" as DNS.  Every certificate is valid for 2 days and has a
# random serial; the keys are mode 0600.  openssl's messages go to
# stderr only on failure.
set -eu

usage()
{
	echo "usage: mkcerts.sh self DIR NAME | ca DIR [CA] |" \
	    "leaf DIR NAME [SAN...] | server DIR CA NAME [SAN...] |" \
	    "client DIR CA NAME | ocsp DIR CA NAME | crl DIR CA [NAME...] |" \
	    "chain DIR NAME N" >&2
	exit 2
}

[ $# -ge 2 ] || usage
cmd=$1
dir=$2
mkdir -p "$dir"
log=$dir/.mkcerts.log

run()
{
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		echo "mkcerts: failed: $*" >&2
		exit 1
	fi
}

newkey()
{
	(umask 077; run openssl genpkey -algorithm EC \
	    -pkeyopt ec_paramgen_curve:P-256 -out "$1")
}

# mkca CA SUBJECT: a self-signed CA, DIR/CA.crt and DIR/CA.key.
mkca()
{
	newkey "$dir/$1.key"
	run openssl req -new -x509 -days 2 -key "$dir/$1.key" \
	    -out "$dir/$1.crt" -subj "$2" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# sign CA OUT SUBJECT EXTENSION...: a new key OUT.key and OUT.crt with
# SUBJECT and those extension lines, signed by CA (paths without .crt).
sign()
{
	_ca=$1 _out=$2 _subj=$3
	shift 3
	[ -f "$_ca.crt" ] || { echo "mkcerts: no $_ca.crt" >&2; exit 1; }
	newkey "$_out.key"
	run openssl req -new -key "$_out.key" -out "$_out.csr" -subj "$_subj"
	printf '%s\n' "$@" >"$_out.ext"
	run openssl x509 -req -days 2 -in "$_out.csr" \
	    -CA "$_ca.crt" -CAkey "$_ca.key" -set_serial \
	    "0x$(openssl rand -hex 16)" -extfile "$_out.ext" \
	    -out "$_out.crt"
	rm -f "$_out.csr" "$_out.ext"
}

# server CA NAME [SAN...]
server()
{
	_ca=$1 _name=$2
	shift 2
	_san=DNS:$_name
	for _s; do
		case $_s in
		*:*) _san=$_san,$_s ;;
		*) _san=$_san,DNS:$_s ;;
		esac
	done
	sign "$dir/$_ca" "$dir/$_name" "/CN=$_name" \
	    "subjectAltName=$_san" \
	    "basicConstraints=critical,CA:FALSE" \
	    "keyUsage=critical,digitalSignature" \
	    "extendedKeyUsage=serverAuth"
}

# index_line STATUS CERT: CERT's line in an openssl ca database (V: valid,
# R: revoked now).
index_line()
{
	_serial=$(openssl x509 -in "$2" -noout -serial | sed 's/.*=//')
	_end=$(openssl x509 -in "$2" -noout -enddate | sed 's/.*=//')
	_exp=$(date -u -d "$_end" +%y%m%d%H%M%SZ)
	_subj=$(openssl x509 -in "$2" -noout -subject -nameopt compat |
	    sed 's/^subject=//')
	if [ "$1" = R ]; then
		_rev=$(date -u +%y%m%d%H%M%SZ)
	else
		_rev=
	fi
	printf '%s\t%s\t%s\t%s\tunknown\t%s\n' "$1" "$_exp" "$_rev" \
	    "$_serial" "$_subj"
}

case $cmd in
self)
	[ $# -eq 3 ] || usage
	name=$3
	newkey "$dir/$name.key"
	run openssl req -new -x509 -days 2 -key "$dir/$name.key" \
	    -out "$dir/$name.crt" -subj "/CN=$name" \
	    -addext "subjectAltName=DNS:$name" \
	    -addext "basicConstraints=critical,CA:TRUE"
	;;
ca)
	[ $# -eq 2 ] || [ $# -eq 3 ] || usage
	if [ $# -eq 2 ] || [ "$3" = ca ]; then
		mkca ca "/CN=l4d test CA"
	else
		mkca "$3" "/CN=l4d test CA $3"
	fi
	;;
leaf)
	[ $# -ge 3 ] || usage
	shift 2
	server ca "$@"
	;;
server)
	[ $# -ge 4 ] || usage
	shift 2
	server "$@"
	;;
client)
	[ $# -eq 4 ] || usage
	sign "$dir/$3" "$dir/$4" "/O=l4d tests/CN=$4" \
	    "basicConstraints=critical,CA:FALSE" \
	    "keyUsage=critical,digitalSignature" \
	    "extendedKeyUsage=clientAuth"
	;;
ocsp)
	[ $# -eq 4 ] || usage
	ca=$dir/$3 name=$4
	index_line V "$dir/$name.crt" >"$dir/$name.ocsp.index"
	run openssl ocsp -issuer "$ca.crt" -cert "$dir/$name.crt" -no_nonce \
	    -reqout "$dir/$name.ocsp.req"
	run openssl ocsp -index "$dir/$name.ocsp.index" -rsigner "$ca.crt" \
	    -rkey "$ca.key" -CA "$ca.crt" -reqin "$dir/$name.ocsp.req" \
	    -respout "$dir/$name.ocsp" -ndays 2
	rm -f "$dir/$name.ocsp.index" "$dir/$name.ocsp.req"
	;;
crl)
	[ $# -ge 3 ] || usage
	ca=$dir/$3
	shift 3
	: >"$ca.crl.index"
	for _n; do
		index_line R "$dir/$_n.crt" >>"$ca.crl.index"
	done
	echo 01 >"$ca.crl.number"
	printf '%s\n' "[ ca ]" "default_ca = crl" "[ crl ]" \
	    "database = $ca.crl.index" "crlnumber = $ca.crl.number" \
	    "default_md = sha256" "default_crl_days = 2" >"$ca.crl.cnf"
	run openssl ca -gencrl -config "$ca.crl.cnf" -keyfile "$ca.key" \
	    -cert "$ca.crt" -out "$ca.crl"
	rm -f "$ca.crl.index"* "$ca.crl.number"* "$ca.crl.cnf"
	;;
chain)
	[ $# -eq 4 ] || usage
	name=$3 n=$4
	[ "$n" -ge 2 ] || usage
	mkca "$name-root" "/CN=$name root"
	tmp=$dir/$name.chain.d
	rm -rf "$tmp"
	mkdir "$tmp"
	up=$dir/$name-root
	i=1
	while [ $i -lt "$n" ]; do
		sign "$up" "$tmp/i$i" "/CN=$name intermediate $i" \
		    "basicConstraints=critical,CA:TRUE" \
		    "keyUsage=critical,keyCertSign,cRLSign"
		up=$tmp/i$i
		i=$((i + 1))
	done
	sign "$up" "$dir/$name" "/O=l4d tests/CN=$name" \
	    "basicConstraints=critical,CA:FALSE" \
	    "keyUsage=critical,digitalSignature" \
	    "extendedKeyUsage=clientAuth"
	# The leaf, then its issuer, then that one's issuer, ...
	i=$((n - 1))
	while [ $i -ge 1 ]; do
		cat "$tmp/i$i.crt" >>"$dir/$name.crt"
		i=$((i - 1))
	done
	rm -rf "$tmp"
	;;
*)
	usage
	;;
esac
rm -f "$log"
