#!/bin/sh
# l4d: install or uninstall the programs, the manual pages, the example
# configuration and the service file of this system (`make install`,
# `make uninstall`).
#   sh scripts/install.sh install|uninstall
# The Makefile passes the layout in the environment: DESTDIR, SBINDIR,
# MANDIR, SYSCONFDIR, SYSTEMDUNITDIR, RCDIR; INSTALL_OS overrides
# uname -s (Linux, OpenBSD, FreeBSD) to install another system's
# service file into a DESTDIR.
#
# An existing $DESTDIR$SYSCONFDIR/l4d.conf is never overwritten, and
# uninstall never removes l4d.conf: it may be the operator's.  Outside
# a DESTDIR, install creates the user and group _l4d and the directory
# /var/empty when they are missing; uninstall leaves them (other
# software may own them, and files may belong to the user).
set -eu

usage() {
	echo "usage: install.sh install|uninstall" >&2
	exit 1
}

[ $# -eq 1 ] || usage
action=$1

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
MANDIR=${MANDIR:-$PREFIX/share/man}
SYSCONFDIR=${SYSCONFDIR:-/etc}
os=${INSTALL_OS:-$(uname -s)}

L4D_USER=_l4d
L4D_CHROOT=/var/empty

cd "$(dirname "$0")/.."

# The service file of this system: its source and where it goes.
case "$os" in
Linux)
	svc_src=etc/systemd/l4d.service
	svc_dir=${SYSTEMDUNITDIR:-/etc/systemd/system}
	svc_name=l4d.service
	svc_mode=644
	;;
OpenBSD)
	svc_src=etc/rc.d/l4d
	svc_dir=${RCDIR:-/etc/rc.d}
	svc_name=l4d
	svc_mode=555
	;;
FreeBSD)
	svc_src=etc/rc.d/l4d.freebsd
	svc_dir=${RCDIR:-$PREFIX/etc/rc.d}
	svc_name=l4d
	svc_mode=555
	;;
*)
	svc_src=
	svc_dir=
	svc_name=
	;;
esac

# Every file install puts, but l4d.conf: what uninstall removes.
files() {
	echo "$SBINDIR/l4d"
	echo "$SBINDIR/l4ctl"
	echo "$SBINDIR/l4d-docker"
	echo "$MANDIR/man5/l4d.conf.5"
	echo "$MANDIR/man8/l4d.8"
	echo "$MANDIR/man8/l4ctl.8"
	echo "$MANDIR/man8/l4d-docker.8"
	[ -z "$svc_name" ] || echo "$svc_dir/$svc_name"
}

dirs() {
	echo "$SBINDIR"
	echo "$MANDIR/man5"
	echo "$MANDIR/man8"
	[ -z "$svc_dir" ] || echo "$svc_dir"
}

# The service file, with the paths of this installation.
install_service() {
	[ -n "$svc_src" ] || {
		echo "install: no service file for $os"
		return 0
	}
	sed -e "s|/usr/local/sbin|$SBINDIR|g" \
	    -e "s|/etc/l4d.conf|$SYSCONFDIR/l4d.conf|g" "$svc_src" \
	    >"$DESTDIR$svc_dir/$svc_name.tmp"
	chmod "$svc_mode" "$DESTDIR$svc_dir/$svc_name.tmp"
	mv "$DESTDIR$svc_dir/$svc_name.tmp" "$DESTDIR$svc_dir/$svc_name"
}

# The unprivileged user and group, and the chroot directory.
create_user() {
	if ! command -v id >/dev/null 2>&1; then
		return 0
	fi
	if [ "$(id -u)" -ne 0 ]; then
		id "$L4D_USER" >/dev/null 2>&1 || echo "install: not root:" \
		    "create the user $L4D_USER and its group yourself" >&2
		return 0
	fi
	case "$os" in
	Linux)
		getent group "$L4D_USER" >/dev/null 2>&1 ||
		    groupadd -r "$L4D_USER"
		id "$L4D_USER" >/dev/null 2>&1 ||
		    useradd -r -M -g "$L4D_USER" -d "$L4D_CHROOT" \
		    -s /usr/sbin/nologin -c "l4d unprivileged user" \
		    "$L4D_USER"
		;;
	FreeBSD)
		pw groupshow "$L4D_USER" >/dev/null 2>&1 ||
		    pw groupadd "$L4D_USER"
		pw usershow "$L4D_USER" >/dev/null 2>&1 ||
		    pw useradd "$L4D_USER" -g "$L4D_USER" -d "$L4D_CHROOT" \
		    -s /usr/sbin/nologin -c "l4d unprivileged user"
		;;
	OpenBSD)
		grep -q "^$L4D_USER:" /etc/group ||
		    groupadd "$L4D_USER"
		id "$L4D_USER" >/dev/null 2>&1 ||
		    useradd -g "$L4D_USER" -d "$L4D_CHROOT" -s /sbin/nologin \
		    -c "l4d unprivileged user" "$L4D_USER"
		;;
	*)
		echo "install: create the user $L4D_USER yourself" >&2
		return 0
		;;
	esac
	if [ ! -d "$L4D_CHROOT" ]; then
		mkdir -p "$L4D_CHROOT"
		chmod 755 "$L4D_CHROOT"
	fi
}

do_install() {
	for f in usr.sbin/l4d/l4d usr.sbin/l4ctl/l4ctl \
	    usr.sbin/l4d-docker/l4d-docker; do
		if [ ! -f "$f" ]; then
			echo "install: $f is not built; run make first" >&2
			exit 1
		fi
	done
	dirs | while read -r d; do
		install -d "$DESTDIR$d"
	done
	install -d "$DESTDIR$SYSCONFDIR"
	install -m 555 usr.sbin/l4d/l4d usr.sbin/l4ctl/l4ctl \
	    usr.sbin/l4d-docker/l4d-docker "$DESTDIR$SBINDIR"
	install -m 444 share/man/man5/l4d.conf.5 "$DESTDIR$MANDIR/man5"
	install -m 444 share/man/man8/l4d.8 share/man/man8/l4ctl.8 \
	    share/man/man8/l4d-docker.8 "$DESTDIR$MANDIR/man8"
	install_service

	conf="$DESTDIR$SYSCONFDIR/l4d.conf"
	if [ -e "$conf" ]; then
		echo "install: $conf exists, left as it is" \
		    "(example: etc/l4d.conf)"
	else
		install -m 644 etc/l4d.conf "$conf"
	fi
	if [ -z "$DESTDIR" ]; then
		create_user
	fi
}

# rmdir DIR and its parents while they are empty, up to DESTDIR.
prune() {
	d=$1
	while [ -n "$d" ] && [ "$d" != "/" ] && [ "$d" != "." ]; do
		rmdir "$DESTDIR$d" 2>/dev/null || return 0
		d=$(dirname "$d")
	done
}

do_uninstall() {
	files | while read -r f; do
		rm -f "$DESTDIR$f"
	done
	# Directories only inside a DESTDIR: a system's own are left.
	if [ -n "$DESTDIR" ]; then
		{ dirs; echo "$SYSCONFDIR"; } | while read -r d; do
			prune "$d"
		done
	fi
	conf="$DESTDIR$SYSCONFDIR/l4d.conf"
	if [ -e "$conf" ]; then
		echo "uninstall: $conf left as it is"
	fi
}

case "$action" in
install)
	do_install
	;;
uninstall)
	do_uninstall
	;;
*)
	usage
	;;
esac
