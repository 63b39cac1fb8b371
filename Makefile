# l4d - top-level Makefile.
# Only syntax that both BSD make and GNU make (4.0 and later) accept.

PREFIX ?=	/usr/local
SBINDIR ?=	${PREFIX}/sbin
MANDIR ?=	${PREFIX}/share/man
SYSCONFDIR ?=	/etc
DESTDIR ?=
# The service file: a systemd unit on Linux, rc.d elsewhere (empty: the
# system's usual place, see scripts/install.sh).
SYSTEMDUNITDIR ?= /etc/systemd/system
RCDIR ?=

CC ?=		cc
PKG_CONFIG ?=	pkg-config
PKGS =		libevent yaml-0.1 libtls
PKG_CFLAGS !=	${PKG_CONFIG} --cflags ${PKGS} 2>/dev/null; \
		${PKG_CONFIG} --cflags libbsd-overlay 2>/dev/null || true
PKG_LIBS !=	${PKG_CONFIG} --libs ${PKGS} 2>/dev/null; \
		${PKG_CONFIG} --libs libbsd-overlay 2>/dev/null || true

OPTFLAGS ?=	-O2 -g
WARNFLAGS ?=	-Wall -Wextra -Werror -Wno-unused-parameter \
		-Wmissing-prototypes -Wstrict-prototypes -Wshadow \
		-Wpointer-arith -Wformat=2
SANFLAGS ?=
SAN_OBJS ?=
CFLAGS +=	-std=c11 -D_GNU_SOURCE -D_DEFAULT_SOURCE ${OPTFLAGS} \
		${WARNFLAGS} ${SANFLAGS} -Icompat -Iusr.sbin/l4d ${PKG_CFLAGS}
LDLIBS +=	${PKG_LIBS}
LDFLAGS +=	${SANFLAGS}

# Zero-copy: splice(2) on Linux, a plain copy where nothing like it exists.
SPLICE !=	[ "$$(uname -s)" = Linux ] && echo splice || echo splice_none
# zero_copy: sockmap: sk_skb verdict program and maps on Linux.
SOCKMAP !=	[ "$$(uname -s)" = Linux ] && echo sockmap_linux || echo sockmap_none
# A source's connections to one relay: a reuseport BPF program on Linux.
STEER !=	[ "$$(uname -s)" = Linux ] && echo steer_linux || echo steer_none
# Session sockets: a private epoll set on Linux, libevent elsewhere.
POLL !=		[ "$$(uname -s)" = Linux ] && echo poll_epoll || echo poll_event
# The children's syscall sandbox: seccomp-bpf on Linux, pledge on OpenBSD.
SANDBOX !=	case "$$(uname -s)" in Linux) echo sandbox_linux;; \
		OpenBSD) echo sandbox_openbsd;; *) echo sandbox_none;; esac
# LibreTLS (Linux) issues no session tickets without compat/tls_tickets.c.
TICKETS !=	[ "$$(uname -s)" = Linux ] && echo compat/tls_tickets.o || true
# The uid of a control socket's peer: SO_PEERCRED or getpeereid(2).
PEER !=		[ "$$(uname -s)" = Linux ] && echo peer_linux || echo peer_bsd
# The bytes a peer acknowledged: TCP_INFO, or unknown.
ACKED !=	[ "$$(uname -s)" = Linux ] && echo acked_linux || echo acked_none

# The configuration: the model, addresses, the YAML layer, the schema
# (its top level, tls: blocks, backends, listeners), the files its tls:
# blocks name.
PARSE_OBJS =	usr.sbin/l4d/conf.o usr.sbin/l4d/addr.o \
		usr.sbin/l4d/yamlconf.o usr.sbin/l4d/parse.o \
		usr.sbin/l4d/parse_tls.o usr.sbin/l4d/parse_backend.o \
		usr.sbin/l4d/parse_listener.o \
		usr.sbin/l4d/tlsconf.o usr.sbin/l4d/acl.o \
		usr.sbin/l4d/ratelimit.o
L4D_OBJS =	usr.sbin/l4d/l4d.o usr.sbin/l4d/proc.o usr.sbin/l4d/imsg.o \
		${PARSE_OBJS} usr.sbin/l4d/config.o \
		usr.sbin/l4d/control.o usr.sbin/l4d/relay.o \
		usr.sbin/l4d/balance.o usr.sbin/l4d/flow.o \
		usr.sbin/l4d/${SPLICE}.o usr.sbin/l4d/${POLL}.o \
		usr.sbin/l4d/${SOCKMAP}.o \
		usr.sbin/l4d/stats.o usr.sbin/l4d/sni.o usr.sbin/l4d/route.o \
		usr.sbin/l4d/peek.o usr.sbin/l4d/handoff.o \
		usr.sbin/l4d/proxy_protocol.o usr.sbin/l4d/${STEER}.o \
		usr.sbin/l4d/tlsparent.o usr.sbin/l4d/tls.o \
		usr.sbin/l4d/tls_ctx.o \
		usr.sbin/l4d/healthparent.o usr.sbin/l4d/health.o \
		usr.sbin/l4d/runtime.o \
		usr.sbin/l4d/check_tcp.o usr.sbin/l4d/check_tls.o \
		usr.sbin/l4d/sock.o \
		usr.sbin/l4d/check_send.o \
		usr.sbin/l4d/promtext.o usr.sbin/l4d/metricsparent.o \
		usr.sbin/l4d/metrics.o \
		usr.sbin/l4d/${SANDBOX}.o usr.sbin/l4d/debug_none.o \
		usr.sbin/l4d/log.o compat/setproctitle.o ${TICKETS} \
		usr.sbin/l4d/accesslog.o usr.sbin/l4d/notify.o \
		compat/${PEER}.o compat/defer_accept.o compat/timer_slack.o \
		compat/${ACKED}.o
L4CTL_OBJS =	usr.sbin/l4ctl/l4ctl.o usr.sbin/l4d/imsg.o \
		usr.sbin/l4d/log.o compat/setproctitle.o
HDRS =		usr.sbin/l4d/l4d.h usr.sbin/l4d/parse.h compat/compat.h

L4D =		usr.sbin/l4d/l4d
# The same daemon with libevent's poller, so that the tests keep the
# portable path honest on Linux too; it is not installed.
L4D_EVENT =	usr.sbin/l4d/l4d-event
L4D_EVENT_OBJS = ${L4D_OBJS:poll_epoll.o=poll_event.o}
L4CTL =		usr.sbin/l4ctl/l4ctl
# The same daemon with debug.c's hooks (L4D_DEBUG_FORBIDDEN), for the
# tests that make a child misbehave; it is not installed.
L4D_DEBUG =	usr.sbin/l4d/l4d-debug
L4D_DEBUG_OBJS = ${L4D_OBJS:debug_none.o=debug.o}

# l4d-docker: servers from Docker containers' labels, through l4ctl.
# jansson only here: l4d and l4ctl do not link it.
L4DD =		usr.sbin/l4d-docker/l4d-docker
L4DD_OBJS =	usr.sbin/l4d-docker/l4d-docker.o usr.sbin/l4d-docker/http.o \
		usr.sbin/l4d-docker/ctl.o usr.sbin/l4d-docker/labels.o \
		usr.sbin/l4d/log.o compat/setproctitle.o
L4DD_HDRS =	usr.sbin/l4d-docker/l4d-docker.h ${HDRS}
JANSSON_CFLAGS != ${PKG_CONFIG} --cflags jansson 2>/dev/null || true
JANSSON_LIBS !=	${PKG_CONFIG} --libs jansson 2>/dev/null || echo -ljansson
L4DD_CFLAGS =	${CFLAGS} ${JANSSON_CFLAGS} -Iusr.sbin/l4d-docker \
		-DL4CTL_PATH=\"${SBINDIR}/l4ctl\"

REGRESS =	regress/usr.sbin/l4d
UNIT_TESTS =	${REGRESS}/t_imsg ${REGRESS}/t_parse ${REGRESS}/t_balance \
		${REGRESS}/t_sni ${REGRESS}/t_sni_asan ${REGRESS}/t_access \
		${REGRESS}/t_access_asan
ATF_C_FLAGS !=	${PKG_CONFIG} --cflags atf-c 2>/dev/null || true
ATF_C_LIBS !=	${PKG_CONFIG} --libs atf-c 2>/dev/null || echo -latf-c
ATF_SH !=	command -v atf-sh 2>/dev/null || echo /usr/libexec/atf-sh
SH_TESTS_SRC !=	ls ${REGRESS}/t_*.sh 2>/dev/null || true
SH_TESTS =	${SH_TESTS_SRC:.sh=}
L4DD_TESTS =	${REGRESS}/t_dlabels

all: ${L4D} ${L4CTL} ${L4DD}

.SUFFIXES: .c .o
.c.o:
	${CC} ${CFLAGS} -c $< -o $@

${L4D_OBJS} ${L4CTL_OBJS}: ${HDRS}
# The TLS engine's private header, between its two files.
usr.sbin/l4d/tls.o usr.sbin/l4d/tls_ctx.o: usr.sbin/l4d/tls_engine.h

${L4D}: ${L4D_OBJS} ${SAN_OBJS}
	${CC} ${LDFLAGS} -o $@ ${L4D_OBJS} ${SAN_OBJS} ${LDLIBS}

${L4D_EVENT}: ${L4D_EVENT_OBJS} ${SAN_OBJS}
	${CC} ${LDFLAGS} -o $@ ${L4D_EVENT_OBJS} ${SAN_OBJS} ${LDLIBS}

usr.sbin/l4d/poll_event.o: ${HDRS}

${L4D_DEBUG}: ${L4D_DEBUG_OBJS} ${SAN_OBJS}
	${CC} ${LDFLAGS} -o $@ ${L4D_DEBUG_OBJS} ${SAN_OBJS} ${LDLIBS}

usr.sbin/l4d/debug.o: ${HDRS}

${L4CTL}: ${L4CTL_OBJS}
	${CC} ${LDFLAGS} -o $@ ${L4CTL_OBJS} ${LDLIBS}

usr.sbin/l4d-docker/l4d-docker.o: usr.sbin/l4d-docker/l4d-docker.c ${L4DD_HDRS}
	${CC} ${L4DD_CFLAGS} -c usr.sbin/l4d-docker/l4d-docker.c -o $@
usr.sbin/l4d-docker/http.o: usr.sbin/l4d-docker/http.c ${L4DD_HDRS}
	${CC} ${L4DD_CFLAGS} -c usr.sbin/l4d-docker/http.c -o $@
usr.sbin/l4d-docker/ctl.o: usr.sbin/l4d-docker/ctl.c ${L4DD_HDRS}
	${CC} ${L4DD_CFLAGS} -c usr.sbin/l4d-docker/ctl.c -o $@
usr.sbin/l4d-docker/labels.o: usr.sbin/l4d-docker/labels.c ${L4DD_HDRS}
	${CC} ${L4DD_CFLAGS} -c usr.sbin/l4d-docker/labels.c -o $@

${L4DD}: ${L4DD_OBJS} ${SAN_OBJS}
	${CC} ${LDFLAGS} -o $@ ${L4DD_OBJS} ${SAN_OBJS} ${LDLIBS} \
	    ${JANSSON_LIBS}

# The labels of a container made into a server (with ASan and UBSan).
L4DD_TEST_SRCS = ${REGRESS}/t_dlabels.c usr.sbin/l4d-docker/labels.c \
		usr.sbin/l4d/log.c compat/setproctitle.c
${REGRESS}/t_dlabels: ${L4DD_TEST_SRCS} ${L4DD_HDRS}
	${CC} ${L4DD_CFLAGS} ${ASAN_FLAGS} ${ATF_C_FLAGS} -o $@ \
	    ${L4DD_TEST_SRCS} ${LDFLAGS} ${ASAN_FLAGS} ${ATF_C_LIBS} \
	    ${LDLIBS} ${JANSSON_LIBS}

# Unit tests link the module under test with the helpers it needs.
TEST_LIB_OBJS = usr.sbin/l4d/log.o compat/setproctitle.o

${REGRESS}/t_imsg: ${REGRESS}/t_imsg.c usr.sbin/l4d/imsg.o ${TEST_LIB_OBJS} ${HDRS}
	${CC} ${CFLAGS} ${ATF_C_FLAGS} -o $@ ${REGRESS}/t_imsg.c \
	    usr.sbin/l4d/imsg.o ${TEST_LIB_OBJS} ${LDFLAGS} ${ATF_C_LIBS} ${LDLIBS}

${REGRESS}/t_parse: ${REGRESS}/t_parse.c ${PARSE_OBJS} ${TEST_LIB_OBJS} ${HDRS}
	${CC} ${CFLAGS} ${ATF_C_FLAGS} -o $@ ${REGRESS}/t_parse.c \
	    ${PARSE_OBJS} ${TEST_LIB_OBJS} ${LDFLAGS} ${ATF_C_LIBS} ${LDLIBS}

# The ClientHello reader and the route matcher, with the model they use.
SNI_TEST_OBJS =	usr.sbin/l4d/sni.o usr.sbin/l4d/route.o ${PARSE_OBJS}
${REGRESS}/t_sni: ${REGRESS}/t_sni.c ${SNI_TEST_OBJS} ${TEST_LIB_OBJS} ${HDRS}
	${CC} ${CFLAGS} ${ATF_C_FLAGS} -o $@ ${REGRESS}/t_sni.c \
	    ${SNI_TEST_OBJS} ${TEST_LIB_OBJS} ${LDFLAGS} ${ATF_C_LIBS} ${LDLIBS}

# The same tests of the code that reads what clients send, built with
# AddressSanitizer and UBSan so that even a plain `make check' runs them
# (and the fuzz corpus) there; from the sources, as the shared objects
# are built without.
ASAN_FLAGS =	-fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
SNI_ASAN_SRCS =	${REGRESS}/t_sni.c usr.sbin/l4d/sni.c usr.sbin/l4d/route.c
${REGRESS}/t_sni_asan: ${SNI_ASAN_SRCS} ${HDRS}
	${CC} ${CFLAGS} ${ASAN_FLAGS} ${ATF_C_FLAGS} -o $@ ${SNI_ASAN_SRCS} \
	    ${LDFLAGS} ${ASAN_FLAGS} ${ATF_C_LIBS} ${LDLIBS}

# Access lists, rate limits and the PROXY header, the latter two also
# with AddressSanitizer (from the sources, like t_sni_asan).
ACCESS_SRCS =	usr.sbin/l4d/acl.c usr.sbin/l4d/ratelimit.c \
		usr.sbin/l4d/proxy_protocol.c
ACCESS_OBJS =	${ACCESS_SRCS:.c=.o}
${REGRESS}/t_access: ${REGRESS}/t_access.c ${ACCESS_OBJS} ${TEST_LIB_OBJS} ${HDRS}
	${CC} ${CFLAGS} ${ATF_C_FLAGS} -o $@ ${REGRESS}/t_access.c \
	    ${ACCESS_OBJS} ${TEST_LIB_OBJS} ${LDFLAGS} ${ATF_C_LIBS} ${LDLIBS}

${REGRESS}/t_access_asan: ${REGRESS}/t_access.c ${ACCESS_SRCS} ${HDRS}
	${CC} ${CFLAGS} ${ASAN_FLAGS} ${ATF_C_FLAGS} -o $@ \
	    ${REGRESS}/t_access.c ${ACCESS_SRCS} usr.sbin/l4d/log.c \
	    compat/setproctitle.c ${LDFLAGS} ${ASAN_FLAGS} ${ATF_C_LIBS} \
	    ${LDLIBS}

${REGRESS}/t_balance: ${REGRESS}/t_balance.c usr.sbin/l4d/balance.o ${TEST_LIB_OBJS} ${HDRS}
	${CC} ${CFLAGS} ${ATF_C_FLAGS} -o $@ ${REGRESS}/t_balance.c \
	    usr.sbin/l4d/balance.o ${TEST_LIB_OBJS} ${LDFLAGS} ${ATF_C_LIBS} ${LDLIBS}

# atf-sh lives in /usr/bin on Debian and /usr/libexec on FreeBSD.
sh-tests:
	for t in ${SH_TESTS}; do \
		{ echo "#! ${ATF_SH}"; cat $$t.sh; } > $$t && chmod 755 $$t; \
	done

regress: all ${L4D_EVENT} ${L4D_DEBUG} ${UNIT_TESTS} ${L4DD_TESTS} sh-tests

deps:
	sh scripts/deps.sh

check: deps
	${MAKE} regress
	cd regress && { kyua test || { kyua report --verbose; exit 1; }; }

# Tests built with AddressSanitizer and UndefinedBehaviorSanitizer.
# Every finding stops its process and goes to its stderr: a unit test or
# l4ctl then fails its case, and the daemon's (relays too, whom the
# parent would quietly restart, and whom a chroot keeps from any log
# file) lands in the case's l4d.log, which the cleanup checks.
check-sanitize: clean
	${MAKE} SANFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer" \
	    SAN_OBJS=regress/sanitizer.o regress
	cd regress && \
	    LSAN_OPTIONS=suppressions=$$PWD/lsan.supp:print_suppressions=0 \
	    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    kyua test || { kyua report --verbose; exit 1; }

run: all
	sh scripts/run-demo.sh

bench: all
	sh regress/bench/bench.sh

# Build every target, then fuzz each for a minute: the ClientHello
# reader, the PROXY header reader, the frame reader, the configuration
# parser, l4d-docker's HTTP reader and the server add/remove requests.
fuzz:
	${MAKE} -C regress/fuzz all
	${MAKE} -C regress/fuzz run-sni SECONDS=60
	${MAKE} -C regress/fuzz run-proxy SECONDS=60
	${MAKE} -C regress/fuzz run-imsg SECONDS=60
	${MAKE} -C regress/fuzz run-parse SECONDS=60
	${MAKE} -C regress/fuzz run-dockerhttp SECONDS=60
	${MAKE} -C regress/fuzz run-ctlargs SECONDS=60

INSTALL_ENV =	DESTDIR="${DESTDIR}" PREFIX="${PREFIX}" SBINDIR="${SBINDIR}" \
		MANDIR="${MANDIR}" SYSCONFDIR="${SYSCONFDIR}" \
		SYSTEMDUNITDIR="${SYSTEMDUNITDIR}" RCDIR="${RCDIR}"

install: all
	${INSTALL_ENV} sh scripts/install.sh install

uninstall:
	${INSTALL_ENV} sh scripts/install.sh uninstall

lint:
	mandoc -Tlint -W warning share/man/man5/l4d.conf.5 \
	    share/man/man8/l4d.8 share/man/man8/l4ctl.8 \
	    share/man/man8/l4d-docker.8

clean:
	rm -f ${L4D} ${L4D_EVENT} ${L4D_DEBUG} ${L4CTL} usr.sbin/l4d/*.o regress/*.o compat/*.o \
	    ${L4CTL_OBJS} ${UNIT_TESTS} \
	    ${L4DD} usr.sbin/l4d-docker/*.o ${L4DD_TESTS} \
	    ${SH_TESTS}

.PHONY: all deps check check-sanitize run bench fuzz install uninstall \
	lint clean \
	regress sh-tests
