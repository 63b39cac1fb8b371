/*
 * zero_copy: sockmap on Linux: a plain session (no TLS engine, no PROXY
 * header or hello to read, nothing held in user space) is forwarded in
 * the kernel.  An sk_skb stream verdict program, attached to a SOCKMAP,
 * sends each skb a session socket receives out of its peer socket;
 * the relay only watches.
 *
 * The parent, as root, makes one set of maps and one program per relay
 * process and hands the relay the maps' descriptors (IMSG_SOCKMAP), so
 * a relay sees only its own sessions.  The relay, unprivileged and in
 * its sandbox, adds and removes sockets: on this kernel a map whose
 * descriptor a process holds may be updated without privileges.  The
 * maps, by a socket's slot (2 * pair, + 1 for the server's):
 *
 *   targets   SOCKMAP, no program: where the verdict redirects to.  A
 *             socket joins it first, so that its peer's bytes never
 *             meet an empty slot (bpf_sk_redirect_map drops those).
 *   verdict   SOCKMAP with the program: a socket in it has what it
 *             receives judged.  A socket joins it once its peer is a
 *             target and its own entry (conf) is in place.
 *   conf      HASH, socket cookie -> struct sm_conf, written by the
 *             relay only: the socket's slot, its peer's, a generation,
 *             how many bytes it may redirect in all (limit), and how
 *             many passed bytes the relay has read (consumed).
 *   count     ARRAY, slot -> struct sm_count, written by the program
 *             only: bytes redirected, bytes passed, the generation in
 *             which it stopped redirecting, the TCP sequence number
 *             that follows the bytes it judged, bytes it cut off.
 *   ring      RINGBUF: the slot of a direction that stopped.
 *
 * The program, for each skb: an empty one is a bare FIN and is dropped
 * (redirected, it makes the peer's send fail with EPIPE, and the pipe
 * is reset).  The head of one that starts before the sequence number
 * it expects was judged already: it is cut off (below).  In a stopped
 * generation it passes the skb to the socket's own queue.  It stops,
 * and says so on the ring, when the bytes passed are not all read yet
 * (consumed) or when redirecting this skb would go over the limit;
 * otherwise it counts the bytes and redirects them to the peer's
 * egress.
 *
 * What the kernel does, found by experiment on 6.18 (the traps):
 *
 * - Redirected bytes wait in the peer's psock queue until its send
 *   buffer takes them, and the source's TCP window reopens as soon as
 *   they are queued: a peer that does not read makes them pile up in
 *   kernel memory without limit (2.6 GB in 3 s).  Hence the limit: a
 *   generation redirects at most SOCKMAP_LIMIT bytes more than had been
 *   sent on when it began, then the direction stops.  Passed bytes are
 *   charged to the receiving socket, whose window closes: TCP flow
 *   control holds, and a stopped direction costs no kernel work.
 * - Bytes passed to the socket's queue must be read while the socket
 *   is still in verdict: read(2) then takes them from the psock's queue
 *   and moves the socket's copied_seq.  Taken out of verdict first, the
 *   socket's read(2) returns them but its window never reopens (the
 *   sender waits with a zero window for ever), and taken out of the maps
 *   altogether its psock and the bytes in it are dropped.  So a socket
 *   stays in both maps until it is closed, and a stopped direction is
 *   copied with read(2) and write(2) (never splice(2), which reads the
 *   TCP queue behind the psock's back), then resumed: a new generation
 *   whose consumed is what was read; a byte passed in between is seen
 *   by the program (passed != consumed), which stops again, so no byte
 *   redirected ever overtakes one passed.
 * - A stopped direction resumes only once every byte it redirected is
 *   in the peer's send queue, or copied bytes would overtake them: the
 *   relay compares the program's count with what the peer socket took
 *   (bytes acknowledged, TCP_INFO, plus bytes queued, SIOCOUTQ).
 * - The same wait comes before a FIN is passed on: a shutdown(2) of the
 *   peer would overtake bytes still queued for redirect.  A FIN in
 *   verdict shows as EPOLLRDHUP; the direction stops, waits, is read
 *   to its end and the FIN goes on the usual way.
 * - The FIN shows before the bytes in front of it are judged: TCP wakes
 *   the poller in tcp_fin() and runs the verdict later, in
 *   sk_data_ready(), and when a segment fills a hole, every segment it
 *   frees from the out-of-order queue, the one with the FIN among them,
 *   is judged after the FIN.  A count read then misses them; the
 *   direction looked drained and the shutdown(2) went out in front of
 *   them (t_sockmap:ofofin lost the last 43000 bytes of 1 session in a
 *   few hundred).  The verdict runs under the socket's lock, so the
 *   relay takes it (a TCP_INFO of the source, sock_settle()) before it
 *   reads a count it acts on.
 * - Bytes that arrived before the socket entered verdict are judged
 *   only at the next receive or read: a recv(MSG_PEEK) after insertion
 *   has them judged (and redirected) at once.
 * - A retransmission may start before rcv_nxt and end after it (the
 *   sender resent a segment cut otherwise, or the receiver had taken
 *   a segment whose ACK was lost).  TCP queues it whole and its own
 *   reads skip the head by copied_seq, but the verdict is handed whole
 *   skbs (tcp_read_skb()), so the head, judged already, went on again:
 *   the peer got those bytes twice.  A segment injected over bytes
 *   received does it every time (t_sockmap:overlap); a loaded machine,
 *   where loopback retransmits spuriously, most likely did it in the
 *   one t_sockmap:stalled_readers of 19 that failed.  The program keeps
 *   the sequence number that follows what it judged (cb[0] and cb[1]
 *   of an sk_skb are the skb's TCP seq and end_seq) and cuts an
 *   overlapping head off with bpf_skb_adjust_room(), 4095 bytes a call;
 *   what it counts is what is left.  An skb it cannot cut (no memory,
 *   or longer than SOCKMAP_CUTS calls) breaks the direction: it and
 *   every later one are dropped and the relay resets the destination,
 *   which must not get a stream with a hole.  The first skb judged sets
 *   the number: a socket enters the maps before the relay read any of
 *   it.
 * - A socket that already got a FIN (CLOSE_WAIT) cannot be inserted
 *   (EOPNOTSUPP): that direction is copied.
 * - EPOLLIN fires after every redirected batch: a direction in the
 *   kernel is watched for EPOLLRDHUP only (and its errors), or every
 *   request of a ping-pong would wake the relay.
 * - A socket's close(2) takes it out of every map.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/bpf.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>

#include <errno.h>
#include <event.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "l4d.h"

#define SOCKMAP_PAIRS	8192		/* sessions per relay in the kernel */
#define SOCKMAP_SLOTS	(2 * SOCKMAP_PAIRS)
#define SOCKMAP_LIMIT	(512 * 1024)	/* bytes queued for redirect */
#define SOCKMAP_RING	(1024 * 1024)	/* >= 16 bytes per slot, twice */
#define SOCKMAP_INSNS	128
#define SOCKMAP_CUT	4095		/* bpf_skb_adjust_room()'s most */
#define SOCKMAP_CUTS	17		/* cuts an skb may take: > 64 KiB */
#define DRAIN_FIRST_MS	1
#define DRAIN_MAX_MS	64

enum { SM_TARGETS = 0, SM_VERDICT, SM_CONF, SM_COUNT, SM_RING, SM_NMAPS };

static const char *sm_names[SM_NMAPS] = {
	"targets", "verdict", "conf", "count", "ring"
};

struct sm_conf {
	uint32_t	 self;		/* this socket's slot */
	uint32_t	 peer;		/* where its bytes go */
	uint32_t	 gen;
	uint32_t	 pad;
	uint64_t	 limit;		/* redirected bytes, in all */
	uint64_t	 consumed;	/* passed bytes the relay read */
};

struct sm_count {
	uint64_t	 bytes;		/* redirected */
	uint64_t	 passed;
	uint32_t	 stop_gen;	/* stopped in this generation */
	uint32_t	 next_seq;	/* TCP sequence of the next byte judged */
	uint64_t	 cut;		/* bytes TCP queued twice, cut off */
	uint32_t	 seq_known;	/* next_seq is set */
	uint32_t	 broken;	/* a cut failed: nothing goes any more */
};

/* A direction, as the relay sees it. */
#define SM_USER		0	/* never in the kernel: copied */
#define SM_KERNEL	1	/* the program redirects it */
#define SM_DRAIN	2	/* stopped; redirected bytes still queued */
#define SM_COPY		3	/* stopped and drained: copied, then resumed */

struct sm_dir {
	uint8_t		 state;
	uint32_t	 src;		/* slot of the socket read */
	uint64_t	 cookie;
	uint32_t	 gen;
	uint64_t	 base;		/* what the peer socket had taken at
					   insertion */
	uint64_t	 user0;		/* flow bytes read by then */
	int		 error;		/* the source's, taken by our recv */
};

struct sockmap_pair {
	struct session	*s;
	uint32_t	 index;
	struct sm_dir	 d[2];		/* FLOW_C2S, FLOW_S2C */
	uint8_t		 mask[2];	/* READY_* watched, by side */
	uint8_t		 eof_wait[2];	/* a FIN read before passed bytes */
	uint8_t		 drain_armed;
	int		 drain_ms;
	struct poll_timer drain_timer;
};

/* relay side */
static int			 sm_fd[SM_NMAPS] = { -1, -1, -1, -1, -1 };
static int			 sm_ready;
static struct sockmap_pair	*sm_pairs[SOCKMAP_PAIRS];
static uint32_t			 sm_free[SOCKMAP_PAIRS];
static uint32_t			 sm_nfree;
static uint8_t			*sm_ring_cons;	/* consumer position page */
static uint8_t			*sm_ring_prod;	/* producer page, data */
static long			 sm_page;
static struct event		 sm_ring_ev;

static void	 sm_ring_read(int, short, void *);
static void	 sm_drain_timer(void *);
static void	 sm_dir_drain(struct session *, int);

static int
sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static int
map_update(int map, const void *key, const void *value)
{
	union bpf_attr	 a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (uintptr_t)key;
	a.value = (uintptr_t)value;
	a.flags = BPF_ANY;
	return sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

static int
map_lookup(int map, const void *key, void *value)
{
	union bpf_attr	 a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (uintptr_t)key;
	a.value = (uintptr_t)value;
	return sys_bpf(BPF_MAP_LOOKUP_ELEM, &a);
}

static int
map_delete(int map, const void *key)
{
	union bpf_attr	 a;

	memset(&a, 0, sizeof(a));
	a.map_fd = map;
	a.key = (uintptr_t)key;
	return sys_bpf(BPF_MAP_DELETE_ELEM, &a);
}

/*
 * The program, as raw instructions: libbpf is not a dependency.  Jumps
 * name a label; prog_fix() turns labels into offsets.
 */
struct prog {
	struct bpf_insn	 insn[SOCKMAP_INSNS];
	int		 label_at[16];
	int		 jump_label[SOCKMAP_INSNS];	/* -1: no jump */
	int		 n;
};

#define INSN(c, d, s, o, i)	((struct bpf_insn){ .code = (c), \
				    .dst_reg = (d), .src_reg = (s), \
				    .off = (o), .imm = (i) })
#define MOV_REG(d, s)		INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i)		INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_IMM(d, i)		INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define ADD_REG(d, s)		INSN(BPF_ALU64 | BPF_ADD | BPF_X, d, s, 0, 0)
#define LDX(sz, d, s, o)	INSN(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o)	INSN(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define CALL(f)			INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()			INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define JIMM(op, d, i)		INSN(BPF_JMP | (op) | BPF_K, d, 0, 0, i)
#define JREG(op, d, s)		INSN(BPF_JMP | (op) | BPF_X, d, s, 0, 0)
#define JA()			INSN(BPF_JMP | BPF_JA, 0, 0, 0, 0)
#define JIMM32(op, d, i)	INSN(BPF_JMP32 | (op) | BPF_K, d, 0, 0, i)
#define SUB_REG(d, s)		INSN(BPF_ALU64 | BPF_SUB | BPF_X, d, s, 0, 0)
#define SUB32_REG(d, s)		INSN(BPF_ALU | BPF_SUB | BPF_X, d, s, 0, 0)

/* registers */
#define R0	0
#define R1	1
#define R2	2
#define R3	3
#define R4	4
#define R6	6	/* the skb */
#define R7	7	/* its conf */
#define R8	8	/* its count */
#define R9	9	/* its length */
#define FP	10

/* labels */
#define L_STOP		0
#define L_PASS		1
#define L_PASS_QUIET	2
#define L_DROP		3
#define L_SEQ		4
#define L_CUT		5
#define L_CUT_ONE	6
#define L_CUT_DONE	7
#define L_BROKEN	8

static void
emit(struct prog *p, struct bpf_insn insn)
{
	if (p->n >= SOCKMAP_INSNS)
		fatalx("sockmap: program too long");
	p->jump_label[p->n] = -1;
	p->insn[p->n++] = insn;
}

static void
emit_jump(struct prog *p, struct bpf_insn insn, int label)
{
	emit(p, insn);
	p->jump_label[p->n - 1] = label;
}

static void
emit_map(struct prog *p, int reg, int fd)
{
	emit(p, INSN(BPF_LD | BPF_DW | BPF_IMM, reg, BPF_PSEUDO_MAP_FD, 0,
	    fd));
	emit(p, INSN(0, 0, 0, 0, 0));
}

static void
label(struct prog *p, int l)
{
	p->label_at[l] = p->n;
}

static void
prog_fix(struct prog *p)
{
	int	 i;

	for (i = 0; i < p->n; i++)
		if (p->jump_label[i] != -1)
			p->insn[i].off = p->label_at[p->jump_label[i]] - i - 1;
}

/*
 * R0 = the value of map fd whose key is reg, stored at fp + off as a
 * size; a socket without one is passed on, quietly.
 */
static void
emit_lookup(struct prog *p, int fd, int size, int reg, int off)
{
	emit(p, STX(size, FP, reg, off));
	emit(p, MOV_REG(R2, FP));
	emit(p, ADD_IMM(R2, off));
	emit_map(p, R1, fd);
	emit(p, CALL(BPF_FUNC_map_lookup_elem));
	emit_jump(p, JIMM(BPF_JEQ, R0, 0), L_PASS_QUIET);
}

static void
prog_build(struct prog *p, const int *fd)
{
	memset(p, 0, sizeof(*p));
	emit(p, MOV_REG(R6, R1));
	emit(p, LDX(BPF_W, R2, R6, offsetof(struct __sk_buff, len)));
	/* a bare FIN: dropped, TCP has seen it */
	emit_jump(p, JIMM(BPF_JEQ, R2, 0), L_DROP);
	emit(p, CALL(BPF_FUNC_get_socket_cookie));
	emit_lookup(p, fd[SM_CONF], BPF_DW, R0, -8);
	emit(p, MOV_REG(R7, R0));
	emit(p, LDX(BPF_W, R1, R7, offsetof(struct sm_conf, self)));
	emit_lookup(p, fd[SM_COUNT], BPF_W, R1, -16);
	emit(p, MOV_REG(R8, R0));
	emit(p, LDX(BPF_W, R9, R6, offsetof(struct __sk_buff, len)));
	/* a cut failed before: the session is reset, nothing goes */
	emit(p, LDX(BPF_W, R1, R8, offsetof(struct sm_count, broken)));
	emit_jump(p, JIMM(BPF_JNE, R1, 0), L_DROP);
	/*
	 * A retransmission TCP queued over bytes it had already (its
	 * head before rcv_nxt): the head was judged with the skb before,
	 * cut it.  cb[0] and cb[1] are the skb's TCP sequence and its end.
	 */
	emit(p, LDX(BPF_W, R1, R6, offsetof(struct __sk_buff, cb[0])));
	emit(p, LDX(BPF_W, R2, R8, offsetof(struct sm_count, next_seq)));
	emit(p, LDX(BPF_W, R3, R8, offsetof(struct sm_count, seq_known)));
	emit_jump(p, JIMM(BPF_JEQ, R3, 0), L_SEQ);
	emit(p, SUB32_REG(R2, R1));
	emit_jump(p, JIMM32(BPF_JSLE, R2, 0), L_SEQ);
	/* all of it judged already */
	emit_jump(p, JREG(BPF_JGE, R2, R9), L_DROP);
	emit(p, STX(BPF_DW, FP, R2, -24));
	emit(p, LDX(BPF_DW, R3, R8, offsetof(struct sm_count, cut)));
	emit(p, ADD_REG(R3, R2));
	emit(p, STX(BPF_DW, R8, R3, offsetof(struct sm_count, cut)));
	emit(p, MOV_IMM(R9, SOCKMAP_CUTS));
	label(p, L_CUT);
	emit(p, LDX(BPF_DW, R3, FP, -24));
	emit_jump(p, JIMM(BPF_JEQ, R3, 0), L_CUT_DONE);
	emit_jump(p, JIMM(BPF_JEQ, R9, 0), L_BROKEN);
	emit(p, ADD_IMM(R9, -1));
	emit_jump(p, JIMM(BPF_JLE, R3, SOCKMAP_CUT), L_CUT_ONE);
	emit(p, MOV_IMM(R3, SOCKMAP_CUT));
	label(p, L_CUT_ONE);
	emit(p, LDX(BPF_DW, R2, FP, -24));
	emit(p, SUB_REG(R2, R3));
	emit(p, STX(BPF_DW, FP, R2, -24));
	emit(p, MOV_REG(R1, R6));
	emit(p, MOV_IMM(R2, 0));
	emit(p, SUB_REG(R2, R3));		/* from the head */
	emit(p, MOV_IMM(R3, 0));
	emit(p, MOV_IMM(R4, 0));
	emit(p, CALL(BPF_FUNC_skb_adjust_room));
	emit_jump(p, JIMM(BPF_JNE, R0, 0), L_BROKEN);
	emit_jump(p, JA(), L_CUT);
	label(p, L_CUT_DONE);
	emit(p, LDX(BPF_W, R9, R6, offsetof(struct __sk_buff, len)));
	label(p, L_SEQ);
	emit(p, LDX(BPF_W, R1, R6, offsetof(struct __sk_buff, cb[1])));
	emit(p, STX(BPF_W, R8, R1, offsetof(struct sm_count, next_seq)));
	emit(p, MOV_IMM(R1, 1));
	emit(p, STX(BPF_W, R8, R1, offsetof(struct sm_count, seq_known)));
	/* stopped in this generation */
	emit(p, LDX(BPF_W, R1, R8, offsetof(struct sm_count, stop_gen)));
	emit(p, LDX(BPF_W, R2, R7, offsetof(struct sm_conf, gen)));
	emit_jump(p, JREG(BPF_JEQ, R1, R2), L_PASS);
	/* passed bytes the relay has not read yet go first */
	emit(p, LDX(BPF_DW, R1, R8, offsetof(struct sm_count, passed)));
	emit(p, LDX(BPF_DW, R2, R7, offsetof(struct sm_conf, consumed)));
	emit_jump(p, JREG(BPF_JNE, R1, R2), L_STOP);
	/* over the limit */
	emit(p, LDX(BPF_DW, R1, R8, offsetof(struct sm_count, bytes)));
	emit(p, ADD_REG(R1, R9));
	emit(p, LDX(BPF_DW, R2, R7, offsetof(struct sm_conf, limit)));
	emit_jump(p, JREG(BPF_JGT, R1, R2), L_STOP);
	emit(p, STX(BPF_DW, R8, R1, offsetof(struct sm_count, bytes)));
	emit(p, MOV_REG(R1, R6));
	emit_map(p, R2, fd[SM_TARGETS]);
	emit(p, LDX(BPF_W, R3, R7, offsetof(struct sm_conf, peer)));
	emit(p, MOV_IMM(R4, 0));		/* the peer's egress */
	emit(p, CALL(BPF_FUNC_sk_redirect_map));
	emit(p, EXIT());
	label(p, L_STOP);
	emit(p, LDX(BPF_W, R1, R7, offsetof(struct sm_conf, gen)));
	emit(p, STX(BPF_W, R8, R1, offsetof(struct sm_count, stop_gen)));
	emit_map(p, R1, fd[SM_RING]);
	emit(p, MOV_REG(R2, FP));
	emit(p, ADD_IMM(R2, -16));		/* the slot */
	emit(p, MOV_IMM(R3, sizeof(uint32_t)));
	emit(p, MOV_IMM(R4, 0));
	emit(p, CALL(BPF_FUNC_ringbuf_output));
	label(p, L_PASS);
	emit(p, LDX(BPF_DW, R1, R8, offsetof(struct sm_count, passed)));
	emit(p, ADD_REG(R1, R9));
	emit(p, STX(BPF_DW, R8, R1, offsetof(struct sm_count, passed)));
	label(p, L_PASS_QUIET);
	emit(p, MOV_IMM(R0, SK_PASS));
	emit(p, EXIT());
	label(p, L_BROKEN);
	emit(p, MOV_IMM(R1, 1));
	emit(p, STX(BPF_W, R8, R1, offsetof(struct sm_count, broken)));
	emit_map(p, R1, fd[SM_RING]);
	emit(p, MOV_REG(R2, FP));
	emit(p, ADD_IMM(R2, -16));		/* the slot */
	emit(p, MOV_IMM(R3, sizeof(uint32_t)));
	emit(p, MOV_IMM(R4, 0));
	emit(p, CALL(BPF_FUNC_ringbuf_output));
	label(p, L_DROP);
	emit(p, MOV_IMM(R0, SK_DROP));
	emit(p, EXIT());
	prog_fix(p);
}

static int
map_create(int type, uint32_t key, uint32_t value, uint32_t n,
    uint32_t flags)
{
	union bpf_attr	 a;

	memset(&a, 0, sizeof(a));
	a.map_type = type;
	a.key_size = key;
	a.value_size = value;
	a.max_entries = n;
	a.map_flags = flags;
	return sys_bpf(BPF_MAP_CREATE, &a);
}

/*
 * The parent: the maps and the program of one relay process.  Returns
 * 0 and fills fd, or -1 with *what set to the step the kernel refused.
 */
static int
sm_create(int *fd, const char **what)
{
	union bpf_attr	 a;
	struct prog	 p;
	char		 log[2048];
	int		 i, prog = -1;

	for (i = 0; i < SM_NMAPS; i++)
		fd[i] = -1;
	*what = "bpf(BPF_MAP_CREATE)";
	if ((fd[SM_TARGETS] = map_create(BPF_MAP_TYPE_SOCKMAP,
	    sizeof(uint32_t), sizeof(uint32_t), SOCKMAP_SLOTS, 0)) == -1 ||
	    (fd[SM_VERDICT] = map_create(BPF_MAP_TYPE_SOCKMAP,
	    sizeof(uint32_t), sizeof(uint32_t), SOCKMAP_SLOTS, 0)) == -1 ||
	    (fd[SM_CONF] = map_create(BPF_MAP_TYPE_HASH, sizeof(uint64_t),
	    sizeof(struct sm_conf), SOCKMAP_SLOTS, BPF_F_NO_PREALLOC)) == -1 ||
	    (fd[SM_COUNT] = map_create(BPF_MAP_TYPE_ARRAY, sizeof(uint32_t),
	    sizeof(struct sm_count), SOCKMAP_SLOTS, 0)) == -1 ||
	    (fd[SM_RING] = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0,
	    SOCKMAP_RING, 0)) == -1)
		goto fail;
	prog_build(&p, fd);
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_SKB;
	a.insns = (uintptr_t)p.insn;
	a.insn_cnt = p.n;
	a.license = (uintptr_t)"Dual BSD/GPL";
	*what = "bpf(BPF_PROG_LOAD)";
	if ((prog = sys_bpf(BPF_PROG_LOAD, &a)) == -1) {
		/* again, for the verifier's reasons */
		i = errno;
		log[0] = '\0';
		a.log_buf = (uintptr_t)log;
		a.log_size = sizeof(log);
		a.log_level = 1;
		if (sys_bpf(BPF_PROG_LOAD, &a) == -1 && log[0] != '\0')
			log_debug("sockmap: verifier: %s", log);
		errno = i;
		goto fail;
	}
	memset(&a, 0, sizeof(a));
	a.target_fd = fd[SM_VERDICT];
	a.attach_bpf_fd = prog;
	a.attach_type = BPF_SK_SKB_STREAM_VERDICT;
	*what = "bpf(BPF_PROG_ATTACH)";
	if (sys_bpf(BPF_PROG_ATTACH, &a) == -1)
		goto fail;
	/* the map holds the program now */
	close(prog);
	return 0;
fail:
	i = errno;
	if (prog != -1)
		close(prog);
	for (prog = 0; prog < SM_NMAPS; prog++)
		if (fd[prog] != -1)
			close(fd[prog]);
	errno = i;
	return -1;
}

/*
 * Before its first configuration, a relay process gets its maps, if
 * the configuration asks for sockmap.  A kernel that refuses is said
 * once; the relays splice.
 */
void
sockmap_parent_send(struct imsgev *iev, int instance, pid_t pid)
{
	static pid_t	 sent[L4D_MAX_RELAYS];
	static int	 refused;
	const char	*what;
	const char	*mode = relay_mode_sockmap(l4d_conf->relay_mode);
	uint32_t	 which;
	int		 fd[SM_NMAPS], i;

	if (mode == NULL || refused ||
	    instance < 0 || instance >= L4D_MAX_RELAYS ||
	    sent[instance] == pid)
		return;
	if (sm_create(fd, &what) == -1) {
		log_warnx("zero_copy: %s: the kernel refused %s: %s; "
		    "the relays splice instead", mode, what, strerror(errno));
		refused = 1;
		return;
	}
	for (i = 0; i < SM_NMAPS; i++) {
		which = i;
		if (imsgev_compose(iev, IMSG_SOCKMAP, 0, fd[i], &which,
		    sizeof(which)) == -1)
			fatal("sending relay %d its sockmap", instance);
	}
	sent[instance] = pid;
	if (instance == 0)
		log_info("zero_copy: %s: plain sessions %sare forwarded in "
		    "the kernel", mode, l4d_conf->relay_mode ==
		    RELAY_MODE_ADAPTIVE ? "that go back and forth " : "");
}

/* The relay: one of its maps from the parent. */
int
sockmap_receive(struct imsg *imsg)
{
	uint32_t	 which, i;
	size_t		 len;

	if (imsg->datalen != sizeof(which) || imsg->fd == -1)
		return -1;
	memcpy(&which, imsg->data, sizeof(which));
	if (which >= SM_NMAPS || sm_fd[which] != -1)
		return -1;
	sm_fd[which] = imsg->fd;
	imsg->fd = -1;
	for (i = 0; i < SM_NMAPS; i++)
		if (sm_fd[i] == -1)
			return 0;
	/* all here: the ring's pages, the free slots */
	sm_page = sysconf(_SC_PAGESIZE);
	len = sm_page + 2 * (size_t)SOCKMAP_RING;
	sm_ring_cons = mmap(NULL, sm_page, PROT_READ | PROT_WRITE,
	    MAP_SHARED, sm_fd[SM_RING], 0);
	sm_ring_prod = mmap(NULL, len, PROT_READ, MAP_SHARED,
	    sm_fd[SM_RING], sm_page);
	if (sm_ring_cons == MAP_FAILED || sm_ring_prod == MAP_FAILED) {
		log_warn("sockmap: ring");
		return 0;
	}
	for (i = 0; i < SOCKMAP_PAIRS; i++)
		sm_free[i] = SOCKMAP_PAIRS - 1 - i;
	sm_nfree = SOCKMAP_PAIRS;
	event_set(&sm_ring_ev, sm_fd[SM_RING], EV_READ | EV_PERSIST,
	    sm_ring_read, NULL);
	if (event_add(&sm_ring_ev, NULL) == -1) {
		log_warn("sockmap: ring event");
		return 0;
	}
	sm_ready = 1;
	log_debug("sockmap: %u sessions may be forwarded in the kernel",
	    SOCKMAP_PAIRS);
	for (i = 0; i < SM_NMAPS; i++)
		log_debug("sockmap: %s map is fd %d", sm_names[i], sm_fd[i]);
	return 0;
}

int
sockmap_available(void)
{
	return sm_ready;
}

static struct flow *
dir_flow(struct session *s, int dir)
{
	return dir == FLOW_C2S ? &s->c2s : &s->s2c;
}

static int
dir_dst_fd(struct session *s, int dir)
{
	return dir == FLOW_C2S ? s->sfd : s->cfd;
}

/*
 * What a socket has taken to send, as a count that grows with every
 * byte queued: what the peer acknowledged (TCP_INFO) plus what it holds
 * (SIOCOUTQ: write_seq - snd_una), read in that order, so that an
 * acknowledgment in between makes it smaller, never larger.  Bytes
 * sent less bytes resent, plus bytes not sent, is not such a count:
 * after a timeout TCP sends again from the last acknowledged byte, so
 * bytes sent once and queued to go again counted twice (95232 bytes in
 * a t_sockmap:stalled_readers run, under TCP memory pressure), the
 * relay took redirected bytes for delivered while the kernel still held
 * them, and its copy overtook them (t_sockmap:stalled_servers got a
 * session's bytes out of order).
 */
static int
sock_taken(int fd, uint64_t *taken)
{
	uint64_t	 acked;
	int		 outq;

	if (compat_tcp_acked(fd, &acked) == -1 ||
	    ioctl(fd, SIOCOUTQ, &outq) == -1)
		return -1;
	*taken = acked + (uint64_t)outq;
	return 0;
}

/*
 * A TCP_INFO of a socket takes the socket's lock, which the softirq (or
 * the process that owns the socket and runs its backlog) holds while it
 * queues a segment and runs the verdict on it.  TCP raises the FIN of a
 * segment (tcp_fin(), which wakes epoll with EPOLLRDHUP) before it calls
 * sk_data_ready(), where the verdict runs, and segments moved from the
 * out-of-order queue are judged after the FIN among them: the relay may
 * see the FIN while the last bytes are not counted yet.  Once this
 * returns, every verdict that began before it has counted its bytes.
 */
static void
sock_settle(int fd)
{
	struct tcp_info	 ti;
	socklen_t	 len = sizeof(ti);

	(void)getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len);
}

static uint64_t
sock_cookie(int fd)
{
	uint64_t	 c = 0;
	socklen_t	 len = sizeof(c);

	if (getsockopt(fd, SOL_SOCKET, SO_COOKIE, &c, &len) == -1)
		return 0;
	return c;
}

/* The epoll mask of each side follows the directions' states. */
static void
sm_apply(struct session *s)
{
	struct sockmap_pair	*p = s->sm;
	uint8_t			 mask[2];
	int			 side;

	/* client: source of c2s, destination of s2c */
	mask[SIDE_CLIENT] = (p->d[FLOW_C2S].state == SM_USER ||
	    p->d[FLOW_C2S].state == SM_COPY ? READY_READ : 0) |
	    (p->d[FLOW_S2C].state != SM_KERNEL ? READY_WRITE : 0);
	mask[SIDE_SERVER] = (p->d[FLOW_S2C].state == SM_USER ||
	    p->d[FLOW_S2C].state == SM_COPY ? READY_READ : 0) |
	    (p->d[FLOW_C2S].state != SM_KERNEL ? READY_WRITE : 0);
	for (side = 0; side < 2; side++) {
		if (mask[side] == p->mask[side] ||
		    (side == SIDE_CLIENT && !s->cpolled))
			continue;
		if (poll_watch(s, side, mask[side]) == -1)
			log_warn("session %s: poll", session_idstr(s));
		p->mask[side] = mask[side];
	}
}

static void
dir_set(struct session *s, int dir, int state)
{
	struct flow	*f = dir_flow(s, dir);

	s->sm->d[dir].state = state;
	f->kernel = state == SM_KERNEL || state == SM_DRAIN;
	if (state == SM_COPY) {
		/* the psock's queue may hold what was passed */
		if (dir == FLOW_C2S)
			s->cready |= READY_READ;
		else
			s->sready |= READY_READ;
	}
	sm_apply(s);
}

static int
sm_count_get(uint32_t slot, struct sm_count *c)
{
	memset(c, 0, sizeof(*c));
	return map_lookup(sm_fd[SM_COUNT], &slot, c);
}

static int
sm_conf_put(struct sockmap_pair *p, int dir, uint64_t limit,
    uint64_t consumed)
{
	struct sm_dir	*d = &p->d[dir];
	struct sm_conf	 c;

	memset(&c, 0, sizeof(c));
	c.self = d->src;
	c.peer = d->src ^ 1;
	c.gen = d->gen;
	c.limit = limit;
	c.consumed = consumed;
	return map_update(sm_fd[SM_CONF], &d->cookie, &c);
}

/*
 * Whether every byte the direction redirected is in the destination's
 * send queue; f->kbytes is brought up to date on the way.
 */
static int
dir_drained(struct session *s, int dir)
{
	struct sm_dir	*d = &s->sm->d[dir];
	struct flow	*f = dir_flow(s, dir);
	struct sm_count	 c;
	uint64_t	 taken, want;

	/* the verdicts on the source's last segments count first */
	sock_settle(dir == FLOW_C2S ? s->cfd : s->sfd);
	if (sm_count_get(d->src, &c) == -1 ||
	    sock_taken(dir_dst_fd(s, dir), &taken) == -1)
		return 1;	/* gone: the session will find out */
	f->kbytes = c.bytes;
	want = d->base + (f->bytes - d->user0 - (f->len - f->off)) + c.bytes;
	return taken >= want;
}

static void
drain_arm(struct session *s)
{
	struct sockmap_pair	*p = s->sm;

	if (p->drain_armed)
		return;
	if (poll_timer_add(&p->drain_timer, p->drain_ms) == -1)
		log_warn("session %s: sockmap timer", session_idstr(s));
	p->drain_armed = 1;
	if (p->drain_ms < DRAIN_MAX_MS)
		p->drain_ms *= 2;
}

/* A direction stopped, or its source finished: wait for its bytes. */
static void
sm_dir_drain(struct session *s, int dir)
{
	struct sockmap_pair	*p = s->sm;

	if (p->d[dir].state != SM_DRAIN)
		dir_set(s, dir, SM_DRAIN);
	if (dir_drained(s, dir)) {
		dir_set(s, dir, SM_COPY);
		return;
	}
	if (!p->drain_armed)
		p->drain_ms = DRAIN_FIRST_MS;
	drain_arm(s);
}

static void
sm_drain_check(struct session *s)
{
	struct sockmap_pair	*p = s->sm;
	int			 dir, waiting = 0;

	for (dir = 0; dir < 2; dir++)
		if (p->d[dir].state == SM_DRAIN) {
			if (dir_drained(s, dir))
				dir_set(s, dir, SM_COPY);
			else
				waiting = 1;
		}
	if (!waiting && p->drain_armed) {
		poll_timer_del(&p->drain_timer);
		p->drain_armed = 0;
	}
}

static void
sm_drain_timer(void *arg)
{
	struct session	*s = arg;
	struct sockmap_pair *p = s->sm;

	p->drain_armed = 0;
	relay_batch_begin();
	sm_drain_check(s);
	/* read again, for the passed bytes the FIN overtook */
	if (p->eof_wait[FLOW_C2S])
		s->cready |= READY_READ;
	if (p->eof_wait[FLOW_S2C])
		s->sready |= READY_READ;
	p->eof_wait[FLOW_C2S] = p->eof_wait[FLOW_S2C] = 0;
	if (s->sm != NULL &&
	    (p->d[FLOW_C2S].state == SM_DRAIN ||
	    p->d[FLOW_S2C].state == SM_DRAIN))
		drain_arm(s);
	session_kick(s);
	relay_batch_end();
}

/* A record on the ring: the slot of a direction that stopped. */
static void
sm_stopped(uint32_t slot)
{
	struct sockmap_pair	*p;
	struct sm_count		 c;
	int			 dir;

	if (slot >= SOCKMAP_SLOTS || (p = sm_pairs[slot / 2]) == NULL)
		return;
	dir = slot & 1 ? FLOW_S2C : FLOW_C2S;
	if (sm_count_get(slot, &c) == -1)
		return;
	if (c.broken && p->d[dir].error == 0) {
		/* the copy finds the error: the destination is reset */
		log_warnx("session %s: sockmap: %s: bytes received twice "
		    "could not be cut off, reset", session_idstr(p->s),
		    dir == FLOW_C2S ? "c2s" : "s2c");
		p->d[dir].error = EPROTO;
		dir_set(p->s, dir, SM_COPY);
		session_kick(p->s);
		return;
	}
	if (p->d[dir].state != SM_KERNEL || c.stop_gen != p->d[dir].gen)
		return;		/* stale */
	sm_dir_drain(p->s, dir);
	session_kick(p->s);
}

static void
sm_ring_read(int fd, short event, void *arg)
{
	uint64_t	 cons, prod;
	uint32_t	 len, slot;
	uint8_t		*rec;

	relay_batch_begin();
	cons = __atomic_load_n((uint64_t *)sm_ring_cons, __ATOMIC_ACQUIRE);
	prod = __atomic_load_n((uint64_t *)sm_ring_prod, __ATOMIC_ACQUIRE);
	while (cons < prod) {
		rec = sm_ring_prod + sm_page + (cons & (SOCKMAP_RING - 1));
		len = __atomic_load_n((uint32_t *)rec, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		if (!(len & BPF_RINGBUF_DISCARD_BIT) &&
		    (len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT)) ==
		    sizeof(slot)) {
			memcpy(&slot, rec + BPF_RINGBUF_HDR_SZ, sizeof(slot));
			sm_stopped(slot);
		}
		len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
		cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7ULL;
		__atomic_store_n((uint64_t *)sm_ring_cons, cons,
		    __ATOMIC_RELEASE);
	}
	relay_batch_end();
}

/*
 * Whether a direction may go to the kernel: its source not finished,
 * nothing of it held here.
 */
static int
flow_quiet(struct flow *f)
{
	return !f->eof && !f->shut && !flow_pending(f) && f->pipe[0] == -1;
}

/*
 * A relaying session that no one else needs to read goes to the
 * kernel.  Both sockets become targets first, then each is judged.
 */
void
sockmap_insert(struct session *s)
{
	struct sockmap_pair	*p;
	struct sm_count		 zero;
	struct sm_dir		*d;
	uint32_t		 slot;
	int			 fd[2], dir, in = 0;

	if (!sm_ready || s->sm != NULL || s->state != STATE_RELAYING ||
	    s->peek != NULL || s->backend->tls_originate || s->sfd == -1 ||
	    !flow_quiet(&s->c2s) || !flow_quiet(&s->s2c) || sm_nfree == 0)
		return;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return;
	p->s = s;
	p->index = sm_free[--sm_nfree];
	fd[SIDE_CLIENT] = s->cfd;
	fd[SIDE_SERVER] = s->sfd;
	memset(&zero, 0, sizeof(zero));
	for (dir = 0; dir < 2; dir++) {
		d = &p->d[dir];
		d->src = 2 * p->index + (dir == FLOW_C2S ? 0 : 1);
		slot = d->src;
		if (map_update(sm_fd[SM_COUNT], &slot, &zero) == -1 ||
		    map_update(sm_fd[SM_TARGETS], &slot,
		    &fd[dir == FLOW_C2S ? SIDE_CLIENT : SIDE_SERVER]) == -1)
			goto fail;
	}
	for (dir = 0; dir < 2; dir++) {
		d = &p->d[dir];
		d->gen = 1;
		d->user0 = dir_flow(s, dir)->bytes;
		if ((d->cookie = sock_cookie(fd[dir == FLOW_C2S ?
		    SIDE_CLIENT : SIDE_SERVER])) == 0 ||
		    sock_taken(dir_dst_fd(s, dir), &d->base) == -1 ||
		    sm_conf_put(p, dir, SOCKMAP_LIMIT, 0) == -1)
			goto fail;
	}
	/* a socket that saw a FIN already is refused: it is copied */
	for (dir = 0; dir < 2; dir++) {
		slot = p->d[dir].src;
		if (map_update(sm_fd[SM_VERDICT], &slot,
		    &fd[dir == FLOW_C2S ? SIDE_CLIENT : SIDE_SERVER]) == 0) {
			p->d[dir].state = SM_KERNEL;
			dir_flow(s, dir)->kernel = 1;
			in++;
		} else if (errno != EOPNOTSUPP)
			log_debug("session %s: sockmap: %s", session_idstr(s),
			    strerror(errno));
	}
	if (in == 0)
		goto fail;
	sm_pairs[p->index] = p;
	poll_timer_set(&p->drain_timer, sm_drain_timer, s);
	/* user-space watching as poll_add() set it */
	p->mask[SIDE_CLIENT] = p->mask[SIDE_SERVER] =
	    READY_READ | READY_WRITE;
	s->sm = p;
	sm_apply(s);
	/*
	 * What came before insertion is judged now.  A reset that came
	 * before is taken by this recv(2) (sk_err is read once): the copy
	 * passes it on.
	 */
	for (dir = 0; dir < 2; dir++) {
		char	 c;

		if (p->d[dir].state == SM_KERNEL &&
		    recv(dir == FLOW_C2S ? s->cfd : s->sfd, &c, 1,
		    MSG_PEEK | MSG_DONTWAIT) == -1 && flow_peer_gone(errno)) {
			p->d[dir].error = errno;
			dir_set(s, dir, SM_COPY);
		}
	}
	log_debug("session %s: in the kernel (%s%s)", session_idstr(s),
	    p->d[FLOW_C2S].state == SM_KERNEL ? "c2s" : "",
	    p->d[FLOW_S2C].state == SM_KERNEL ? " s2c" : "");
	return;
fail:
	/* sockets stay targets until their close: harmless */
	if (errno != EOPNOTSUPP)
		log_debug("session %s: not in the kernel: %s",
		    session_idstr(s), strerror(errno));
	for (dir = 0; dir < 2; dir++)
		if (p->d[dir].cookie != 0)
			(void)map_delete(sm_fd[SM_CONF], &p->d[dir].cookie);
	s->c2s.kernel = s->s2c.kernel = 0;
	sm_free[sm_nfree++] = p->index;
	free(p);
}

/* The client joined the poller: its mask follows the directions. */
void
sockmap_watch(struct session *s)
{
	if (s->sm != NULL)
		sm_apply(s);
}

/*
 * An event on a side, before the session moves bytes: a FIN or a hang-up
 * of a source in the kernel stops it (its bytes first), an error hands it
 * to the copy, which finds the error; a destination that can take more
 * may have drained.
 */
void
sockmap_events(struct session *s, int side, int events)
{
	struct sockmap_pair	*p = s->sm;
	int			 dir = side == SIDE_CLIENT ? FLOW_C2S : FLOW_S2C;

	if (p->d[dir].state == SM_KERNEL) {
		if (events & READY_ERROR)
			dir_set(s, dir, SM_COPY);
		else if (events & (READY_FIN | READY_HUP))
			sm_dir_drain(s, dir);
	}
	if ((events & READY_WRITE) && p->d[!dir].state == SM_DRAIN)
		sm_drain_check(s);
}

/* A direction the relay copies: what flow_copy() does, or a taken error. */
int
sockmap_copy(struct session *s, struct flow *f, int from, int to,
    uint8_t *rfrom, uint8_t *rto)
{
	if (s->sm->d[f->dir].error != 0)
		return FLOW_RESET_FROM;
	return flow_copy(f, from, to, rfrom, rto);
}

/*
 * A stopped direction was copied to the end of what its source holds:
 * back to the kernel, in a new generation that knows what was read.  A
 * byte passed in the meantime makes the program stop again at once, or
 * is seen here.
 */
void
sockmap_copied(struct session *s, struct flow *f)
{
	struct sockmap_pair	*p = s->sm;
	struct sm_dir		*d = &p->d[f->dir];
	struct sm_count		 c;
	uint8_t			 rfrom = f->dir == FLOW_C2S ? s->cready :
				    s->sready;
	uint64_t		 consumed;

	if (d->state != SM_COPY || !flow_quiet(f) || (rfrom & READY_READ) ||
	    !poll_exact)
		return;
	if (sm_count_get(d->src, &c) == -1)
		return;
	consumed = f->bytes - d->user0;
	d->gen++;
	if (sm_conf_put(p, f->dir, c.bytes + SOCKMAP_LIMIT, consumed) == -1) {
		d->gen--;
		return;
	}
	f->kbytes = c.bytes;
	/*
	 * A verdict that read the old generation may still be counting
	 * a byte it passed: it ends before this returns, and the count
	 * below sees the byte.
	 */
	sock_settle(f->dir == FLOW_C2S ? s->cfd : s->sfd);
	if (sm_count_get(d->src, &c) == -1 || c.passed != consumed) {
		/* passed meanwhile: read it first */
		if (f->dir == FLOW_C2S)
			s->cready |= READY_READ;
		else
			s->sready |= READY_READ;
		return;
	}
	dir_set(s, f->dir, SM_KERNEL);
}

/*
 * The source's FIN read: the end only once every byte the program
 * passed has been read.  Passed bytes may still wait in the psock's
 * backlog (the socket's receive buffer was full), which read(2) does
 * not see: it returns the end of the stream before them.  Returns 1
 * when the FIN must wait (and f->eof is cleared), 0 when it is the end.
 */
int
sockmap_eof(struct session *s, struct flow *f)
{
	struct sockmap_pair	*p = s->sm;
	struct sm_dir		*d = &p->d[f->dir];
	struct sm_count		 c;

	if (d->state != SM_COPY || sm_count_get(d->src, &c) == -1 ||
	    c.passed <= f->bytes - d->user0)
		return 0;
	f->eof = 0;
	p->eof_wait[f->dir] = 1;
	if (!p->drain_armed)
		p->drain_ms = DRAIN_FIRST_MS;
	drain_arm(s);
	return 1;
}

/*
 * The program's counts into the flows; a session whose bytes moved is
 * not idle.
 */
void
sockmap_sync(struct session *s)
{
	struct sockmap_pair	*p = s->sm;
	struct sm_count		 c;
	struct flow		*f;
	int			 dir, moved = 0;

	if (p == NULL)
		return;
	for (dir = 0; dir < 2; dir++) {
		f = dir_flow(s, dir);
		if (p->d[dir].state == SM_USER ||
		    sm_count_get(p->d[dir].src, &c) == -1)
			continue;
		if (c.bytes != f->kbytes)
			moved = 1;
		f->kbytes = c.bytes;
	}
	if (moved)
		s->last_ms = proc_now_ms();
}

/* The session ends: its counts are final, its slots free. */
void
sockmap_end(struct session *s)
{
	struct sockmap_pair	*p = s->sm;
	int			 dir;

	if (p == NULL)
		return;
	sockmap_sync(s);
	for (dir = 0; dir < 2; dir++) {
		struct sm_count	 c;

		if (sm_count_get(p->d[dir].src, &c) == 0)
			log_debug("session %s: %s state %d gen %u: redirected "
			    "%llu, passed %llu, read %llu, cut %llu",
			    session_idstr(s), dir == FLOW_C2S ? "c2s" : "s2c",
			    p->d[dir].state, p->d[dir].gen,
			    (unsigned long long)c.bytes,
			    (unsigned long long)c.passed, (unsigned long long)
			    (dir_flow(s, dir)->bytes - p->d[dir].user0),
			    (unsigned long long)c.cut);
	}
	poll_timer_free(&p->drain_timer);
	for (dir = 0; dir < 2; dir++)
		(void)map_delete(sm_fd[SM_CONF], &p->d[dir].cookie);
	sm_pairs[p->index] = NULL;
	sm_free[sm_nfree++] = p->index;
	free(p);
	s->sm = NULL;
	s->c2s.kernel = s->s2c.kernel = 0;
}
