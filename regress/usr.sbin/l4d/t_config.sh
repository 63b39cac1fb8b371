# l4d black-box tests: configuration checking (l4d -n) and bind failures.
#
# Every invalid configuration marks the line the error must name with a
# trailing "#<" comment; check_error finds that line and asserts
#	cfg.yaml:LINE:COL: L4D-ENNN: MESSAGE
# on stderr and exit status 1.

TAB=$(printf '\t')

# head: lines 1-4 of every configuration here.
head4()
{
	cat <<EOF
user: _l4d
chroot: /var/empty
relays: 1
control: $PWD/l4d.sock
EOF
}

# valid_rest: a valid remainder (listener "front" -> backend "pool").
valid_rest()
{
	cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
}

# check_error CODE: the configuration on stdin, with one line marked "#<",
# is rejected with CODE at that line.
check_error()
{
	cat >cfg.yaml
	line=$(grep -n '#<' cfg.yaml | cut -d: -f1)
	[ "$(echo "$line" | wc -w)" -eq 1 ] ||
	    atf_fail "test bug: cfg.yaml must mark exactly one line"
	check_error_at "$1" "$line"
}

# check_error_at CODE LINE: cfg.yaml is rejected with CODE at LINE.
check_error_at()
{
	echo "--- expecting L4D-$1 at line $2 of:"
	cat -n cfg.yaml
	atf_check -s exit:1 -o not-match:'configuration OK' \
	    -e not-match:'configuration OK' \
	    -e match:"cfg\.yaml:$2:[0-9]+: L4D-$1: [^ ].* \(hint: .+\)$" \
	    "$L4D" -n -f cfg.yaml
}

# check_ok: l4d -n accepts cfg.yaml (the message may go to either stream,
# relayd -n uses stderr).
check_ok()
{
	atf_check -s exit:0 -o match:'^configuration OK$' -e empty \
	    sh -c '"$0" -n -f cfg.yaml 2>&1' "$L4D"
}

setup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_init
}

tc()
{
	atf_test_case "$1"
	eval "$1_head() { atf_set descr '$2'; atf_set require.user root; atf_set timeout 30; }"
}

tc e001 "L4D-E001: YAML syntax errors"
e001_body()
{
	setup
	{ head4; echo "${TAB}listeners: []  #<"; } | check_error E001
	{ head4 | sed 3d; echo "  relays: 1  #<"; } | check_error E001
	{
		head4
		echo "log: { level: info"
		echo "backends: []  #<"
	} | check_error E001
}

tc e002 "L4D-E002: unknown keys, at every level"
e002_body()
{
	setup
	{ head4; echo "colour: blue  #<"; valid_rest; } | check_error E002
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
    bakend: pool  #<
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
	} | check_error E002
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:18002", wieght: 2 }  #<
EOF
	} | check_error E002
	{ head4; echo "timeouts: { conect: 5s }  #<"; valid_rest; } |
	    check_error E002
}

tc e003 "L4D-E003: wrong types"
e003_body()
{
	setup
	{ head4; echo "listeners: 42  #<"; } | check_error E003
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
backends:
  - name: pool
    servers: { address: "127.0.0.2:18002" }  #<
EOF
	} | check_error E003
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
    max_sessions: [1]  #<
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
	} | check_error E003
}

tc e004 "L4D-E004: bad durations"
e004_body()
{
	setup
	{ head4; echo "timeouts: { connect: 5x }  #<"; valid_rest; } |
	    check_error E004
	{ head4; echo "timeouts: { connect: infinite }  #<"; valid_rest; } |
	    check_error E004
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
    timeouts: { idle: "-1s" }  #<
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
	} | check_error E004
}

tc e005 "L4D-E005: bad addresses"
e005_body()
{
	setup
	{ head4; valid_rest | sed 's|"127.0.0.1:18001"|"127.0.0.1"  #<|'; } |
	    check_error E005
	{ head4; valid_rest | sed 's|"127.0.0.2:18002"|"127.0.0.2:"  #<|'; } |
	    check_error E005
}

tc e006 "L4D-E006: missing required keys"
e006_body()
{
	setup
	{
		head4
		cat <<EOF
listeners:
  - name: front  #<
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
	} | check_error E006
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
backends:
  - balance: roundrobin  #<
    servers:
      - address: "127.0.0.2:18002"
EOF
	} | check_error E006
}

tc e007 "L4D-E007: duplicate listener name"
e007_body()
{
	setup
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
  - name: front  #<
    listen: "127.0.0.1:18003"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
	} | check_error E007
}

tc e008 "L4D-E008: duplicate backend name"
e008_body()
{
	setup
	{
		head4
		valid_rest
		cat <<EOF
  - name: pool  #<
    servers:
      - address: "127.0.0.2:18004"
EOF
	} | check_error E008
}

tc e009 "L4D-E009: listener names an undefined backend"
e009_body()
{
	setup
	{ head4; valid_rest | sed 's|backend: pool|backend: nosuch  #<|'; } |
	    check_error E009
}

tc e010 "L4D-E010: two listeners on one address"
e010_body()
{
	setup
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
  - name: other
    listen: "127.0.0.1:18001"  #<
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
	} | check_error E010
}

tc e011 "L4D-E011: empty server list"
e011_body()
{
	setup
	{
		head4
		valid_rest | sed '/servers:/,$d'
		echo "    servers: []  #<"
	} | check_error E011
}

tc e012 "L4D-E012: weight out of range 1-256"
e012_body()
{
	setup
	for w in 0 257; do
		{
			head4
			valid_rest
			echo "      - { address: \"127.0.0.3:18002\", weight: $w }  #<"
		} | check_error E012
	done
	# The bounds themselves are fine.
	{
		head4
		valid_rest
		echo "      - { address: \"127.0.0.3:18002\", weight: 1 }"
		echo "      - { address: \"127.0.0.4:18002\", weight: 256 }"
	} >cfg.yaml
	check_ok
}

tc e013 "L4D-E013: integers out of range"
e013_body()
{
	setup
	{ head4 | sed 's|relays: 1|relays: 100000  #<|'; valid_rest; } |
	    check_error E013
	{
		head4
		valid_rest | sed 's|^  - name: pool$|&\n    retries: 99  #<|'
	} | check_error E013
	{
		head4
		valid_rest |
		    sed 's|^    backend: pool$|&\n    max_sessions: -1  #<|'
	} | check_error E013
}

tc e014 "L4D-E014: bad enum values"
e014_body()
{
	setup
	{
		head4
		valid_rest | sed 's|^  - name: pool$|&\n    balance: fastest  #<|'
	} | check_error E014
	{ head4; echo "log: { level: loud }  #<"; valid_rest; } |
	    check_error E014
}

tc e015 "L4D-E015: a server host name that does not resolve"
e015_body()
{
	setup
	{
		head4
		valid_rest |
		    sed 's|"127.0.0.2:18002"|"nonexistent.invalid:18002"  #<|'
	} | check_error E015
}

tc e016 "L4D-E016: unknown user"
e016_body()
{
	setup
	{ head4 | sed 's|user: _l4d|user: _nosuchuser_l4d  #<|'; valid_rest; } |
	    check_error E016
}

tc e017 "L4D-E017: the file cannot be read"
e017_body()
{
	setup
	atf_check -s exit:1 -o not-match:'configuration OK' \
	    -e match:'nonexistent\.yaml(:[0-9]+:[0-9]+)?: L4D-E017: ' \
	    "$L4D" -n -f nonexistent.yaml
}

tc e018 "L4D-E018: duplicate keys"
e018_body()
{
	setup
	{ head4; echo "user: _l4d  #<"; valid_rest; } | check_error E018
	{
		head4
		valid_rest | sed 's|^    backend: pool$|&\n    backend: pool  #<|'
	} | check_error E018
}

tc e019 "L4D-E019: bad names"
e019_body()
{
	setup
	{
		head4
		valid_rest | sed 's|^  - name: front$|  - name: "bad name!"  #<|'
	} | check_error E019
	long=$(printf 'x%.0s' $(seq 1 70))
	{
		head4
		valid_rest | sed "s|^  - name: front\$|  - name: $long  #<|"
	} | check_error E019
}

tc e020 "L4D-E020: the same server twice in a backend"
e020_body()
{
	setup
	{
		head4
		valid_rest
		echo "      - address: \"127.0.0.2:18002\"  #<"
	} | check_error E020
}

tc e021 "L4D-E021: empty document, top level not a mapping"
e021_body()
{
	setup
	echo "- user: _l4d  #<" | check_error E021
	echo "hello  #<" | check_error E021
	: >cfg.yaml
	check_error_at E021 1
}

tc e022 "L4D-E022: the chroot directory does not exist"
e022_body()
{
	setup
	{
		head4 | sed 's|chroot: /var/empty|chroot: /nonexistent/l4d-chroot  #<|'
		valid_rest
	} | check_error E022
}

tc e023 "L4D-E023: nesting too deep, refused at once"
e023_body()
{
	setup
	deep=$(printf '%*s' 100000 '' | tr ' ' '[')
	{ head4; echo "listeners: $deep  #<"; } >cfg.yaml
	start=$(date +%s%N)
	check_error_at E023 5
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "took ${ms}ms"
	[ "$ms" -lt 2000 ] || atf_fail "l4d -n took ${ms}ms on a deep file"
}

# routed_rest: listener "front" whose routes are on stdin, then the
# backends pool and spare.
routed_rest()
{
	cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    routes:
EOF
	cat
	cat <<EOF
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
  - name: spare
    servers:
      - address: "127.0.0.2:18003"
EOF
}

tc e024 "L4D-E024: a route regex that does not compile"
e024_body()
{
	setup
	{
		head4
		echo '      - { sni: "~^db-[0-9+$", backend: pool }  #<' |
		    routed_rest
	} | check_error E024
}

tc e025 "L4D-E025: a route with neither sni nor alpn"
e025_body()
{
	setup
	{ head4; echo '      - { backend: pool }  #<' | routed_rest; } |
	    check_error E025
}

tc e026 "L4D-E026: two routes with the same match"
e026_body()
{
	setup
	{
		head4
		printf '%s\n' '      - { sni: db.example.com, backend: pool }' \
		    '      - { sni: DB.example.com., backend: spare }  #<' |
		    routed_rest
	} | check_error E026
}

tc e027 "L4D-E027: no_sni on a listener without routes or starttls"
e027_body()
{
	setup
	{
		head4
		valid_rest |
		    sed 's|^    backend: pool$|&\n    no_sni: none  #<|'
	} | check_error E027
}

tc e028 "L4D-E028: tls: terminate on a listener without tls:"
e028_body()
{
	setup
	{
		head4
		echo '      - { alpn: h2, tls: terminate, backend: pool }  #<' |
		    routed_rest
	} | check_error E028
}

# mkcert NAME: NAME.crt and NAME.key here, a certificate for NAME.example.
mkcert()
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 2 -subj "/CN=$1.example" -keyout "$1.key" \
	    -out "$1.crt" 2>/dev/null || atf_fail "openssl req failed"
}

# tls_rest: listener "front" with tls:, the keys of its tls: on stdin,
# then the backend pool.
tls_rest()
{
	cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
    tls:
EOF
	cat
	cat <<EOF
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
EOF
}

tc e029 "L4D-E029: a key that does not match its certificate"
e029_body()
{
	setup
	mkcert a
	mkcert b
	{
		head4
		tls_rest <<EOF
      certificates:
        - cert: $PWD/a.crt
          key: $PWD/b.key  #<
EOF
	} | check_error E029
	atf_check -s exit:1 -e match:"bad key \"$PWD/b\.key\"" \
	    "$L4D" -n -f cfg.yaml
}

tc e030 "L4D-E030: a key file that does not exist, a directory"
e030_body()
{
	setup
	mkcert a
	{
		head4
		tls_rest <<EOF
      certificates:
        - cert: $PWD/a.crt
          key: $PWD/nosuch.key  #<
EOF
	} | check_error E030
	atf_check -s exit:1 -e match:'No such file or directory \(hint: ' \
	    "$L4D" -n -f cfg.yaml
	{
		head4
		tls_rest <<EOF
      certificates:
        - cert: $PWD  #<
          key: $PWD/a.key
EOF
	} | check_error E030
}

tc e031 "L4D-E031: protocols and ciphers that libtls refuses"
e031_body()
{
	setup
	mkcert a
	{
		head4
		tls_rest <<EOF
      certificates: [{ cert: $PWD/a.crt, key: $PWD/a.key }]
      ciphers: nope  #<
EOF
	} | check_error E031
	{
		head4
		valid_rest
		echo '    tls: { verify: false, protocols: "tlsv9" }  #<'
	} | check_error E031
}

tc e032 "L4D-E032: a client_ca file that holds no certificates"
e032_body()
{
	setup
	mkcert a
	{
		head4
		tls_rest <<EOF
      certificates: [{ cert: $PWD/a.crt, key: $PWD/a.key }]
      client_auth: require
      client_ca: $PWD/a.key  #<
EOF
	} | check_error E032
}

tc e033 "L4D-E033: tls: keys that the others make useless"
e033_body()
{
	setup
	{
		head4
		valid_rest
		echo '    tls: { verify: false, ca: /etc/ssl/cert.pem }  #<'
	} | check_error E033
}

tc e034 "L4D-E034: one name for two certificates"
e034_body()
{
	setup
	mkcert a
	mkcert b
	{
		head4
		tls_rest <<EOF
      certificates:
        - { cert: $PWD/a.crt, key: $PWD/a.key, names: [db.example] }
        - cert: $PWD/b.crt
          key: $PWD/b.key
          names:
            - DB.example  #<
EOF
	} | check_error E034
}

tc tls "tls: on listeners and backends, tls_engines: a valid file"
tls_body()
{
	setup
	mkcert a
	mkcert b
	{
		head4
		echo "tls_engines: 2"
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
    tls:
      certificates:
        - { cert: $PWD/a.crt, key: $PWD/a.key, names: ["*.a.example"] }
        - { cert: $PWD/b.crt, key: $PWD/b.key }
      client_auth: optional
      client_ca: $PWD/a.crt
      protocols: "tlsv1.2,tlsv1.3"
      ciphers: secure
    routes:
      - { sni: db.a.example, backend: pool }
      - { sni: b.example, tls: passthrough, backend: secure }
  - name: pg
    listen: "127.0.0.1:18005"
    backend: pool
    starttls: postgres
    tls: { certificates: [{ cert: $PWD/a.crt, key: $PWD/a.key }] }
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:18002"
  - name: secure
    servers:
      - address: "127.0.0.2:18003"
    tls:
      ca: $PWD/b.crt
      server_name: db.internal
      cert: $PWD/a.crt
      key: $PWD/a.key
      protocols: tlsv1.3
EOF
	} >cfg.yaml
	check_ok
	# A route may say terminate, since the listener has tls:.
	sed -i 's|tls: passthrough|tls: terminate|' cfg.yaml
	check_ok
}

tc routes "routes, no_sni and starttls: a valid file"
routes_body()
{
	setup
	{
		head4
		cat <<'EOF' | routed_rest
      - { sni: db.example.com, backend: pool }
      - { sni: "*.staging.example.com", tls: passthrough, backend: spare }
      - { sni: "~^read-[0-9]+\\.example\\.com$", backend: spare,
          priority: 10 }
      - { alpn: postgresql, backend: pool }
    no_sni: none
  - name: pg
    listen: "127.0.0.1:18005"
    backend: pool
    starttls: postgres
    no_sni: spare
EOF
	} >cfg.yaml
	check_ok
}

tc several "every error in a file is reported, each at its line"
several_body()
{
	setup
	{
		head4
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: nosuch
backends:
  - name: pool
    servers:
      - { address: "127.0.0.2:18002", weight: 0 }
EOF
	} >cfg.yaml
	check_error_at E009 8
	check_error_at E012 12
}

tc valid "a valid configuration using every key: exit 0, configuration OK"
valid_body()
{
	setup
	cat >cfg.yaml <<EOF
user: _l4d
chroot: /var/empty
relays: auto
zero_copy: false
control: $PWD/l4d.sock
log:
  level: debug
  access: true
timeouts:
  connect: 250ms
  idle: infinite
  half_closed: 2m
  handshake: 10
  drain: 1h
listeners:
  - name: front
    listen: "127.0.0.1:18001"
    backend: pool
    max_sessions: 100
    timeouts: { idle: 8h, half_closed: infinite }
  - name: other-1
    listen: "127.0.0.2:18001"
    backend: spare
backends:
  - name: pool
    balance: leastconn
    retries: 2
    servers:
      - { address: "127.0.0.2:18002", weight: 90 }
      - { address: "localhost:18003", weight: 10 }
      - { address: "127.0.0.3:18002", backup: true }
  - name: spare
    balance: source-hash
    servers:
      - address: "127.0.0.4:18002"
EOF
	check_ok
	sed -i 's/source-hash/random/; s/leastconn/roundrobin/' cfg.yaml
	check_ok
}

atf_test_case port_in_use cleanup
port_in_use_head()
{
	atf_set descr "a listen address already in use: exit 1 and say so"
	atf_set require.user root
	atf_set timeout 60
}
port_in_use_body()
{
	setup
	lp=$(free_ports 1)
	sp=$(free_ports 1 127.0.0.2)
	start_server squatter hold "127.0.0.1:$lp"
	{
		cfg_head 2 true
		cat <<EOF
listeners:
  - name: front
    listen: "127.0.0.1:$lp"
    backend: pool
backends:
  - name: pool
    servers:
      - address: "127.0.0.2:$sp"
EOF
	} >l4d.conf
	atf_check -s exit:1 -o ignore -e save:stderr \
	    timeout 20 "$L4D" -d -f l4d.conf
	cat stderr
	grep -Eqi "listen 127\.0\.0\.1:$lp: address already in use" stderr ||
	    atf_fail "stderr does not say 'listen 127.0.0.1:$lp: address already in use'"
}
port_in_use_cleanup()
{
	. "$(atf_get_srcdir)/tools/lib.sh"
	l4d_cleanup
}

atf_init_test_cases()
{
	for t in e001 e002 e003 e004 e005 e006 e007 e008 e009 e010 e011 \
	    e012 e013 e014 e015 e016 e017 e018 e019 e020 e021 e022 \
	    e023 e024 e025 e026 e027 e028 e029 e030 e031 e032 e033 e034 \
	    tls routes \
	    several valid port_in_use; do
		atf_add_test_case $t
	done
}
