#!/bin/sh
# l4d: install what the build and the tests need (`make deps`).
#
# Debian/Ubuntu: as root, apt-get installs only the packages that are
# missing; not root, it prints the command to run and exits 1.
# OpenBSD/FreeBSD: prints what to install when something is missing.
# As root it also creates the system user _l4d and the empty directory
# /var/empty, which the relay processes run as and chroot to.
set -eu

# The routing tests (t_route) talk to real TLS servers and clients:
# openssl (certificates, s_client), curl and nginx (HTTPS through a
# passthrough route), PostgreSQL (server and psql, STARTTLS routing).
# The health tests (t_health) run send-expect checks against redis-server;
# the access tests (t_acl) put HAProxy in front of l4d and behind it;
# t_ops checks the systemd unit with systemd-analyze verify.
# l4d-docker reads Docker's JSON with jansson; its end-to-end test
# (t_docker) starts its own dockerd (docker.io) and runs containers of an
# image made from busybox-static.
PKGS="build-essential pkg-config libevent-dev libtls-dev libyaml-dev
libbsd-dev libatf-dev atf-sh kyua mandoc python3 socat procps iproute2
util-linux openssl curl nginx postgresql postgresql-client
redis-server haproxy systemd libjansson-dev docker.io busybox-static"

L4D_USER=_l4d
L4D_CHROOT=/var/empty

is_root() {
	[ "$(id -u)" -eq 0 ]
}

# The unprivileged user and the chroot directory (Linux, as root).
setup_user() {
	if ! id "$L4D_USER" >/dev/null 2>&1; then
		echo "deps: creating system user $L4D_USER"
		useradd -r -M -s /usr/sbin/nologin -d "$L4D_CHROOT" "$L4D_USER"
	fi
	if [ ! -d "$L4D_CHROOT" ]; then
		echo "deps: creating $L4D_CHROOT"
		mkdir -p "$L4D_CHROOT"
	fi
	chown root:root "$L4D_CHROOT"
	chmod 755 "$L4D_CHROOT"
	if [ -n "$(ls -A "$L4D_CHROOT")" ]; then
		echo "deps: warning: $L4D_CHROOT is not empty" >&2
	fi
}

debian() {
	missing=
	for p in $PKGS; do
		st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) || st=
		[ "$st" = "install ok installed" ] || missing="$missing $p"
	done

	if [ -n "$missing" ]; then
		if ! is_root; then
			echo "deps: missing packages:$missing" >&2
			echo "deps: run as root:" >&2
			echo "    apt-get update && apt-get install -y$missing" >&2
			exit 1
		fi
		echo "deps: installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		# The packaged nginx and postgresql services must not start
		# (port 80, a cluster on 5432): the tests start their own.
		policy=
		if [ ! -e /usr/sbin/policy-rc.d ]; then
			policy=/usr/sbin/policy-rc.d
			# shellcheck disable=SC2064
			trap "rm -f $policy" EXIT
			printf '#!/bin/sh\nexit 101\n' >"$policy"
			chmod 755 "$policy"
		fi
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq $missing
		if [ -n "$policy" ]; then
			rm -f "$policy"
			trap - EXIT
		fi
	fi

	if is_root; then
		setup_user
	elif ! id "$L4D_USER" >/dev/null 2>&1 || [ ! -d "$L4D_CHROOT" ]; then
		echo "deps: note: user $L4D_USER or $L4D_CHROOT is missing;" \
		    "run 'make deps' as root to create them" >&2
	fi
}

# On the BSDs, look for the tools and libraries and say what to install.
bsd() {
	pkgcmd=$1
	ok=1
	for t in kyua mandoc pkg-config python3; do
		command -v "$t" >/dev/null 2>&1 || ok=0
	done
	# atf-sh is in /usr/libexec on FreeBSD, in PATH elsewhere.
	command -v atf-sh >/dev/null 2>&1 || [ -x /usr/libexec/atf-sh ] ||
	    ok=0
	pkg-config --exists yaml-0.1 2>/dev/null || ok=0
	pkg-config --exists jansson 2>/dev/null || ok=0
	if [ $ok -eq 1 ]; then
		return 0
	fi
	echo "deps: something is missing; as root, run:" >&2
	echo "    $pkgcmd" >&2
	echo "deps: and create the user $L4D_USER if it does not exist" >&2
	exit 1
}

case "$(uname -s)" in
Linux)
	if command -v dpkg-query >/dev/null 2>&1 &&
	    command -v apt-get >/dev/null 2>&1; then
		debian
	else
		echo "deps: not Debian or Ubuntu; install the equivalents of:" >&2
		# shellcheck disable=SC2086
		echo "   " $PKGS >&2
		exit 1
	fi
	;;
OpenBSD)
	# libtls and mandoc are in base; base libevent (1.4) has no EV_ET.
	bsd "pkg_add libevent libyaml jansson kyua atf python%3"
	;;
FreeBSD)
	bsd "pkg install libevent libyaml jansson libressl atf kyua pkgconf python3"
	;;
*)
	echo "deps: unsupported system $(uname -s); see README" >&2
	exit 1
	;;
esac
