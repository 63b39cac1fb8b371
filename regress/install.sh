#!/bin/sh
# l4d: install the programs, the manual pages and the example
# configuration (`make install`).
#   sh regress/install.sh DESTDIR SBINDIR MANDIR SYSCONFDIR
# An existing $DESTDIR$SYSCONFDIR/l4d.conf is never overwritten.
set -eu

if [ $# -ne 4 ]; then
	echo "usage: install.sh DESTDIR SBINDIR MANDIR SYSCONFDIR" >&2
	exit 1
fi
destdir=$1
sbindir=$2
mandir=$3
sysconfdir=$4

cd "$(dirname "$0")/.."

for f in usr.sbin/l4d/l4d usr.sbin/l4ctl/l4ctl usr.sbin/l4d-docker/l4d-docker; do
	if [ ! -f "$f" ]; then
		echo "install: $f is not built; run make first" >&2
		exit 1
	fi
done

install -d "$destdir$sbindir" "$destdir$mandir/man5" "$destdir$mandir/man8" \
    "$destdir$sysconfdir"

install -m 555 usr.sbin/l4d/l4d usr.sbin/l4ctl/l4ctl \
    usr.sbin/l4d-docker/l4d-docker "$destdir$sbindir"
install -m 444 share/man/man5/l4d.conf.5 "$destdir$mandir/man5"
install -m 444 share/man/man8/l4d.8 share/man/man8/l4ctl.8 \
    share/man/man8/l4d-docker.8 "$destdir$mandir/man8"

conf="$destdir$sysconfdir/l4d.conf"
if [ -e "$conf" ]; then
	echo "install: $conf exists, left as it is (example: etc/l4d.conf)"
else
	install -m 644 etc/l4d.conf "$conf"
fi
