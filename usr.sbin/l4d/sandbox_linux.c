/*
 * The syscall sandbox of the children on Linux: a seccomp-bpf filter
 * per process role, installed once the child has dropped its
 * privileges (proc_child_main), before it reads a byte from anyone.
 *
 * A filter checks the architecture of the call first (a call of
 * another ABI, x32 included, kills the process at once), then lets
 * through the calls its role's list allows, fails a few calls that
 * libraries make and do without (open(2) of files a chroot hides) with
 * an errno, and traps every other call: the kernel sends SIGSYS, whose
 * handler writes the call's number on the child's report pipe
 * (SANDBOX_REPORT_FD) and dies of SIGSYS.  The parent reads the number
 * when it reaps the child, and logs the role and the call.
 *
 * The lists were built with strace -f -c on every role under the
 * whole test suite, with the plain build and the sanitizer build
 * (`make check', `make check-sanitize'): glibc, libevent,
 * libtls/OpenSSL, libyaml and AddressSanitizer are what call most of
 * them.  Of the arguments, only the domain of socket(2), the command
 * of a relay's bpf(2) and the request of its ioctl(2) are filtered.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/sockios.h>

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH		AUDIT_ARCH_X86_64
#define SANDBOX_ARCH_NAME	"x86_64"
#elif defined(__aarch64__)
#define SANDBOX_ARCH		AUDIT_ARCH_AARCH64
#define SANDBOX_ARCH_NAME	"aarch64"
#elif defined(__i386__)
#define SANDBOX_ARCH		AUDIT_ARCH_I386
#define SANDBOX_ARCH_NAME	"i386"
#elif defined(__riscv) && __riscv_xlen == 64
#define SANDBOX_ARCH		AUDIT_ARCH_RISCV64
#define SANDBOX_ARCH_NAME	"riscv64"
#else
#error "sandbox_linux.c: no AUDIT_ARCH for this architecture"
#endif

#ifndef __X32_SYSCALL_BIT
#define __X32_SYSCALL_BIT	0x40000000
#endif

/* A call by its number; those some architectures lack are in #ifdef. */
#define SC(name)	__NR_##name

/*
 * What every child does: its event loop, frames to and from the
 * parent, memory, time, signals (the SIGSYS handler's own calls among
 * them), its exit, the log.
 */
static const int sc_base[] = {
	SC(read), SC(write), SC(readv), SC(writev), SC(close),
	SC(recvmsg), SC(sendmsg), SC(recvfrom), SC(sendto),
	SC(fcntl), SC(fstat), SC(newfstatat),
	SC(epoll_create1), SC(epoll_ctl), SC(epoll_wait), SC(epoll_pwait),
#ifdef __NR_poll
	SC(poll),
#endif
	SC(ppoll), SC(pipe2),
	SC(brk), SC(mmap), SC(munmap), SC(mremap), SC(mprotect), SC(madvise),
	SC(clock_gettime), SC(gettimeofday), SC(nanosleep),
	SC(clock_nanosleep),
	SC(getrandom),
	SC(rt_sigaction), SC(rt_sigprocmask), SC(rt_sigreturn),
	SC(sigaltstack), SC(restart_syscall),
	SC(getpid), SC(gettid), SC(getuid), SC(geteuid), SC(getgid),
	SC(getegid), SC(getppid),
	SC(tgkill),
	SC(exit), SC(exit_group),
	SC(futex), SC(sched_yield), SC(sched_getaffinity),
	SC(prlimit64), SC(getrlimit), SC(sysinfo),
	SC(getsockopt), SC(getsockname), SC(getpeername), SC(shutdown),
	SC(connect),		/* syslog(3) after a syslogd restart */
};

/* Relays: accept, connect, splice, socketpairs to the engines. */
static const int sc_relay[] = {
	SC(accept4), SC(socket), SC(setsockopt), SC(socketpair),
	SC(splice),
};

/*
 * Relays with zero_copy: sockmap put sockets in maps the parent made:
 * bpf(2) for those three commands only (sc_bpf_cmds), checked in build().
 */
static const int sc_bpf_cmds[] = {
	BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM,
};

/*
 * ... and ask a socket how much it holds to send, ioctl(2) SIOCOUTQ
 * only (sockmap_linux.c's sock_taken()), checked in build().
 */
static const int sc_ioctl_reqs[] = {
	SIOCOUTQ,
};

/* socket(2) for a role that has none in its list: syslog(3)'s only. */
static const int sc_unix[] = {
	AF_UNIX,
};

/* TLS engines: their sockets come from the relays. */
static const int sc_tls[] = {
	SC(setsockopt), SC(socketpair),
};

/* Health: one socket per check, connected without blocking. */
static const int sc_health[] = {
	SC(socket), SC(setsockopt),
};

/* Metrics: accept on the socket the parent bound. */
static const int sc_metrics[] = {
	SC(accept4), SC(setsockopt),
};

/*
 * Calls that fail with an errno rather than kill: libraries open files
 * (/etc/localtime, openssl.cnf, /proc/self/task for LeakSanitizer's
 * exit check) that a chroot hides anyway.
 */
static const int sc_enoent[] = {
	SC(openat),
#ifdef __NR_open
	SC(open),
#endif
#ifdef __NR_access
	SC(access),
#endif
	SC(faccessat),
#ifdef __NR_faccessat2
	SC(faccessat2),
#endif
#ifdef __NR_readlink
	SC(readlink),
#endif
	SC(readlinkat),
#ifdef __NR_stat
	SC(stat),
#endif
	SC(statx),
};

/*
 * A role that has no socket(2) in its list may still make AF_UNIX ones,
 * for syslog(3): a TLS engine, which holds keys, cannot reach the
 * network.
 */
struct sandbox_role {
	enum l4d_proc	 role;
	const int	*calls;
	size_t		 ncalls;
};

static const struct sandbox_role roles[] = {
	{ PROC_RELAY, sc_relay, nitems(sc_relay) },
	{ PROC_TLS, sc_tls, nitems(sc_tls) },
	{ PROC_HEALTH, sc_health, nitems(sc_health) },
	{ PROC_METRICS, sc_metrics, nitems(sc_metrics) },
};

#define SANDBOX_MAX_INSNS	512

struct bpf_prog_buf {
	struct sock_filter	 insn[SANDBOX_MAX_INSNS];
	size_t			 n;
};

static void
emit(struct bpf_prog_buf *b, struct sock_filter f)
{
	if (b->n >= SANDBOX_MAX_INSNS)
		fatalx("sandbox: filter too long");
	b->insn[b->n++] = f;
}

/* if (nr == call) return action; */
static void
emit_calls(struct bpf_prog_buf *b, const int *calls, size_t n,
    uint32_t action)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
		    (uint32_t)calls[i], 0, 1));
		emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, action));
	}
}

/*
 * if (nr == call) return (the low word of args[arg] is one of values) ?
 *     ALLOW : ERRNO(deny);
 * Every argument checked here is an int, and every architecture above
 * is little-endian.
 */
static void
emit_arg_in(struct bpf_prog_buf *b, int call, int arg, const int *values,
    size_t n, int deny)
{
	size_t	 i;

	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    (uint32_t)call, 0, (uint8_t)(2 * n + 2)));
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, args[0]) + arg * sizeof(uint64_t)));
	for (i = 0; i < n; i++) {
		emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ |
		    BPF_K, (uint32_t)values[i], 0, 1));
		emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_ALLOW));
	}
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_ERRNO | (deny & SECCOMP_RET_DATA)));
}

static void
build(struct bpf_prog_buf *b, const struct sandbox_role *r)
{
	b->n = 0;
	/* the ABI first: numbers mean nothing in another one */
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch)));
	emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
	    SANDBOX_ARCH, 1, 0));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_KILL_PROCESS));
	emit(b, (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr)));
	if (SANDBOX_ARCH == AUDIT_ARCH_X86_64) {
		emit(b, (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K,
		    __X32_SYSCALL_BIT, 0, 1));
		emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
		    SECCOMP_RET_KILL_PROCESS));
	}
	emit_calls(b, sc_base, nitems(sc_base), SECCOMP_RET_ALLOW);
	emit_calls(b, r->calls, r->ncalls, SECCOMP_RET_ALLOW);
	if (r->role == PROC_RELAY) {
		/* bpf(2): map commands; ioctl(2): SIOCOUTQ */
		emit_arg_in(b, __NR_bpf, 0, sc_bpf_cmds, nitems(sc_bpf_cmds),
		    EPERM);
		emit_arg_in(b, __NR_ioctl, 1, sc_ioctl_reqs,
		    nitems(sc_ioctl_reqs), EPERM);
	}
	/* socket(2) not allowed above: AF_UNIX only */
	emit_arg_in(b, __NR_socket, 0, sc_unix, nitems(sc_unix), EACCES);
	emit_calls(b, sc_enoent, nitems(sc_enoent),
	    SECCOMP_RET_ERRNO | (ENOENT & SECCOMP_RET_DATA));
	emit(b, (struct sock_filter)BPF_STMT(BPF_RET | BPF_K,
	    SECCOMP_RET_TRAP));
}

/*
 * A forbidden call: its number to the parent, then death by SIGSYS,
 * with nothing but async-signal-safe calls that every list allows.
 */
static void
sandbox_trap(int sig, siginfo_t *si, void *ctx)
{
	struct sandbox_report	 rep;
	struct sigaction	 sa;
	sigset_t		 set;

	memset(&rep, 0, sizeof(rep));
	rep.magic = SANDBOX_REPORT_MAGIC;
	rep.nr = si->si_syscall;
	rep.arch = si->si_arch;
	(void)write(SANDBOX_REPORT_FD, &rep, sizeof(rep));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGSYS, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	(void)sigprocmask(SIG_UNBLOCK, &set, NULL);
	(void)raise(SIGSYS);
	_exit(128 + SIGSYS);
}

void
sandbox_enter(enum l4d_proc role)
{
	struct bpf_prog_buf	 b;
	struct sock_fprog	 prog;
	struct sigaction	 sa;
	size_t			 i;

	for (i = 0; i < nitems(roles); i++)
		if (roles[i].role == role)
			break;
	if (i == nitems(roles))
		fatalx("sandbox: no list for process kind %d", (int)role);
	build(&b, &roles[i]);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_trap;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) == -1)
		fatal("sandbox: sigaction");
	prog.len = b.n;
	prog.filter = b.insn;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("sandbox: PR_SET_NO_NEW_PRIVS");
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == -1)
		fatal("sandbox: PR_SET_SECCOMP");
}

/* The parent: what a child that died of SIGSYS wrote, as text. */
int
sandbox_report_text(int fd, char *buf, size_t len)
{
	struct sandbox_report	 rep;
	ssize_t			 n;

	n = read(fd, &rep, sizeof(rep));
	if (n != (ssize_t)sizeof(rep) || rep.magic != SANDBOX_REPORT_MAGIC)
		return -1;
	if (rep.arch != SANDBOX_ARCH)
		snprintf(buf, len, "system call %d of another architecture "
		    "(0x%x)", rep.nr, rep.arch);
	else
		snprintf(buf, len, "forbidden system call %d (%s)", rep.nr,
		    SANDBOX_ARCH_NAME);
	return 0;
}

const char *
sandbox_kind(void)
{
	return "seccomp";
}
