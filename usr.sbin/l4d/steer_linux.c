/*
 * Linux: one SO_REUSEPORT socket per relay spreads the accepts by a
 * hash of the connection's addresses and ports, so the connections of
 * one source land on every relay.  A listener with rate_limit wants
 * them on one: a classic BPF program attached to the group picks the
 * socket (the relay) from the source address alone, IPv6 by the
 * prefix the rate limit counts by, so that each source has one bucket.
 *
 * The program reads the IP header (SKF_NET_OFF), mixes the address and
 * takes it modulo the number of sockets; the group's sockets are in
 * the order they were listen()ed, which is the relays' order.  Should
 * the program fail, the kernel falls back to its own hash.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <linux/filter.h>
#include <netinet/in.h>

#include <errno.h>
#include <string.h>

#include "l4d.h"

#define MIX	0x9e3779b1U	/* odd: a multiplication that spreads */

static uint32_t
prefix_mask(uint32_t prefix, uint32_t word)
{
	uint32_t	 bits;

	if (prefix >= 32 * (word + 1))
		return 0xffffffffU;
	if (prefix <= 32 * word)
		return 0;
	bits = prefix - 32 * word;
	return 0xffffffffU << (32 - bits);
}

int
listen_steer(int fd, int family, uint32_t nsocks, uint32_t v6_prefix,
    int on)
{
	struct sock_filter	 v4[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, MIX),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, nsocks),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_filter	 v6[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 8),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, prefix_mask(v6_prefix, 0)),
		BPF_STMT(BPF_MISC | BPF_TAX, 0),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, SKF_NET_OFF + 12),
		BPF_STMT(BPF_ALU | BPF_AND | BPF_K, prefix_mask(v6_prefix, 1)),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, MIX),
		BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
		BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, MIX),
		BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
		BPF_STMT(BPF_ALU | BPF_MOD | BPF_K, nsocks),
		BPF_STMT(BPF_RET | BPF_A, 0),
	};
	struct sock_fprog	 prog;
	int			 dummy = 0;

	if (!on) {
		/* nothing attached is no error */
		if (setsockopt(fd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF,
		    &dummy, sizeof(dummy)) == -1 && errno != ENOENT)
			return -1;
		return 0;
	}
	if (nsocks < 2)
		return 0;
	memset(&prog, 0, sizeof(prog));
	if (family == AF_INET) {
		prog.len = nitems(v4);
		prog.filter = v4;
	} else {
		prog.len = nitems(v6);
		prog.filter = v6;
	}
	return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog,
	    sizeof(prog));
}
