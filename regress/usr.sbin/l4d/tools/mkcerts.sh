#!/bin/sh
# Test certificates, made with openssl(1) at test time (EC P-256 keys:
# fast to make, accepted by OpenSSL, Python's ssl, nginx and PostgreSQL).
#
#	sh mkcerts.sh self DIR NAME	DIR/NAME.crt, DIR/NAME.key: a
#					self-signed certificate for NAME
#					(CN and subjectAltName DNS:NAME)
#	sh mkcerts.sh ca DIR		DIR/ca.crt, DIR/ca.key: a test CA
#	sh mkcerts.sh leaf DIR NAME	DIR/NAME.crt, DIR/NAME.key for NAME,
#					signed by DIR/ca.crt
#
# Every certificate is valid for 2 days and has a random serial; the
# keys are mode 0600.  openssl's messages go to stderr only on failure.
set -eu

usage()
{
	echo "usage: mkcerts.sh self DIR NAME | ca DIR | leaf DIR NAME" >&2
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
	[ $# -eq 2 ] || usage
	newkey "$dir/ca.key"
	run openssl req -new -x509 -days 2 -key "$dir/ca.key" \
	    -out "$dir/ca.crt" -subj "/CN=l4d test CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign"
	;;
leaf)
	[ $# -eq 3 ] || usage
	name=$3
	[ -f "$dir/ca.crt" ] || { echo "mkcerts: no $dir/ca.crt" >&2; exit 1; }
	newkey "$dir/$name.key"
	run openssl req -new -key "$dir/$name.key" -out "$dir/$name.csr" \
	    -subj "/CN=$name"
	printf '%s\n' "subjectAltName=DNS:$name" \
	    "basicConstraints=critical,CA:FALSE" \
	    "keyUsage=critical,digitalSignature" \
	    "extendedKeyUsage=serverAuth" >"$dir/$name.ext"
	run openssl x509 -req -days 2 -in "$dir/$name.csr" \
	    -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial \
	    "0x$(openssl rand -hex 16)" -extfile "$dir/$name.ext" \
	    -out "$dir/$name.crt"
	rm -f "$dir/$name.csr" "$dir/$name.ext"
	;;
*)
	usage
	;;
esac
rm -f "$log"
