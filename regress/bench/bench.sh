#!/bin/sh
# l4d benchmark (make bench): install the tools that are missing, then run
# the driver, which prints the table and writes results.json.
#   sh regress/bench/bench.sh [bench.py options]   see: python3 bench.py -h
#   WORKERS=2 sh regress/bench/bench.sh            two workers per peer
# Not part of `make check`. Needs root (apt, and l4d drops privileges).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
missing=

# need COMMAND PACKAGE: PACKAGE is missing when COMMAND is.
need() {
	command -v "$1" >/dev/null 2>&1 || missing="$missing $2"
}

need haproxy haproxy
need nginx nginx
need socat socat
need iperf3 iperf3
need wrk wrk
need redis-server redis-server
need redis-benchmark redis-tools
need python3 python3
need curl curl
need openssl openssl
# nginx without its stream module is no layer-4 proxy.
[ -e /usr/lib/nginx/modules/ngx_stream_module.so ] ||
	missing="$missing libnginx-mod-stream"

if [ -n "$missing" ]; then
	echo "bench: installing:$missing" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: run as root to install them" >&2
		exit 1
	fi
	# The packaged nginx, haproxy and redis services must not start and
	# compete with the bench: forbid service starts during the install.
	policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		trap 'rm -f "$policy"' EXIT
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	[ -z "$policy" ] || rm -f "$policy"
	trap - EXIT
fi

exec python3 "$here/bench.py" "$@"
