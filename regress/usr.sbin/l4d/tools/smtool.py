"""Clients and servers in one process for t_sockmap (zero_copy: sockmap).

    python3 smtool.py pingpong --connect ADDR --count N
        one session, N small request/response exchanges (redis-like
        "*1\\r\\n$4\\r\\nPING\\r\\n" out, the echo back), each checked.

    python3 smtool.py serverfin --listen ADDR --connect ADDR --bytes N
        the server sends N bytes and shuts down its write side at once;
        the client reads to EOF, then sends N bytes and shuts down; the
        server must get them all: half-close from the server's side.

    python3 smtool.py stall --listen ADDR --connect ADDR --sessions N
        --bytes B --dir s2c|c2s --relays PID,PID [--hold SEC]
        N sessions; on each the sender (the server for s2c) pushes B
        bytes as fast as it can while the receiver reads nothing.  Once
        every sender is blocked, the memory of the machine
        (/proc/meminfo MemAvailable, Slab; /proc/net/sockstat TCP mem)
        and of the relays (VmRSS) is sampled, then again after --hold
        seconds; then the receivers read and check every byte.  Prints
        the samples and "ok" or exits 1.

    python3 smtool.py overlap --listen ADDR --connect ADDR [--bytes D]
        a retransmission that overlaps what the relay's server socket
        has: the server sends 300000 bytes, then a segment is injected
        from its address (a raw socket; its sequence numbers read in
        TCP_REPAIR mode) that holds its last D bytes again and 1000
        new ones, then the server sends on from 300000 (its first 1000
        bytes the relay has now).  The client must get every byte
        once.  Root, in a network namespace of its own, without TCP
        timestamps (the segment carries none).

    python3 smtool.py ofofin --listen ADDR --connect ADDR --log FILE
        [--count N]
        N sessions (one after the other) whose end is judged after
        their FIN shows: the server
        sends 300000 bytes, then segments are injected from its address
        that hold the bytes from 301000 on, the last with a FIN, before
        the server sends the 1000 bytes of the hole.  The relay's server
        socket then takes the FIN and every injected segment off its
        out-of-order queue in one go, raises the FIN and only then runs
        the verdict on them.  The client must get every byte, then the
        end.  Root, in a network namespace, without TCP timestamps;
        FILE is l4d's log, which says when the session is in the kernel.

Every wait is bounded; nothing is left behind.
"""

import argparse
import hashlib
import os
import selectors
import socket
import struct
import sys
import time


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def fail(msg):
    sys.stderr.write("smtool: %s\n" % msg)
    sys.exit(1)


def pattern(i, n):
    """n deterministic bytes of stream i."""
    seed = hashlib.sha256(b"smtool %d" % i).digest()
    block = (seed * (65536 // len(seed) + 1))[:65536]
    out = bytearray()
    while len(out) < n:
        out += block
    return bytes(out[:n])


class Stream:
    """Stream i: a random 64 KiB block of its own, turned by another
    amount in each 64 KiB of the stream, so that bytes out of place
    (lost, repeated, reordered) never match; nothing held."""

    def __init__(self, i):
        seed = hashlib.sha256(b"smtool %d" % i).digest()
        self.ring = hashlib.shake_256(seed).digest(65536) * 2

    def at(self, off, n):
        """n bytes from offset off."""
        out = []
        while n > 0:
            k, o = divmod(off, 65536)
            take = min(n, 65536 - o)
            r = (o + k * 40503) % 65536
            out.append(self.ring[r:r + take])
            off += take
            n -= take
        return b"".join(out)

    def where(self, off, b):
        """Where b, read at off, goes wrong, and where in the stream
        its bytes from there are (None: not near).  A probe of more
        than 64 KiB spans a turn, which makes it unique."""
        want = self.at(off, len(b))
        p = next(j for j in range(len(b)) if b[j] != want[j])
        probe = b[p:p + 65536 + 64]
        back = max(0, off + p - (1 << 20))
        found = self.at(back, (2 << 20) + len(probe)).find(probe)
        return off + p, None if found == -1 else back + found


def cmd_pingpong(args):
    s = socket.create_connection(addr(args.connect), timeout=args.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(args.count):
        msg = b"*1\r\n$4\r\nPING\r\n" if i % 2 == 0 else \
            ("*2\r\n$4\r\nECHO\r\n$%d\r\n%d\r\n" % (len(str(i)), i)).encode()
        s.sendall(msg)
        got = b""
        while len(got) < len(msg):
            b = s.recv(4096)
            if not b:
                fail("pingpong %d: EOF" % i)
            got += b
        if got != msg:
            fail("pingpong %d: sent %r, got %r" % (i, msg, got))
    s.close()
    print("ok %d exchanges" % args.count)


def cmd_serverfin(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr(args.listen))
    ls.listen(4)
    ls.settimeout(args.timeout)
    c = socket.create_connection(addr(args.connect), timeout=args.timeout)
    srv, _ = ls.accept()
    srv.settimeout(args.timeout)
    data = pattern(1, args.bytes)
    srv.sendall(data)
    srv.shutdown(socket.SHUT_WR)
    got = recv_all(c)
    if bytes(got) != data:
        fail("serverfin: client got %d of %d bytes%s" %
             (len(got), len(data), "" if len(got) != len(data)
              else " (different)"))
    back = pattern(2, args.bytes)
    c.sendall(back)
    c.shutdown(socket.SHUT_WR)
    got = recv_all(srv)
    if bytes(got) != back:
        fail("serverfin: server got %d of %d bytes after its FIN" %
             (len(got), len(back)))
    # the client's FIN came after its bytes; now the whole close
    srv.close()
    if c.recv(1) != b"":
        fail("serverfin: data after the end")
    c.close()
    print("ok %d bytes each way, server closed first" % args.bytes)


def tcp_segment(src, dst, seq, ack, payload, fin=False):
    """A TCP segment (ACK|PSH, FIN if asked, no options) with its
    checksum."""
    hdr = struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4,
                      0x19 if fin else 0x18, 65535, 0, 0)
    b = struct.pack("!4s4sBBH", socket.inet_aton(src[0]),
                    socket.inet_aton(dst[0]), 0, socket.IPPROTO_TCP,
                    len(hdr) + len(payload)) + hdr + payload
    if len(b) % 2:
        b += b"\0"
    c = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while c >> 16:
        c = (c & 0xffff) + (c >> 16)
    return hdr[:16] + struct.pack("!H", ~c & 0xffff) + hdr[18:] + payload


def cmd_overlap(args):
    TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
    TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2
    first, new = 300000, 1000
    data = Stream(7).at(0, 1 << 20)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr(args.listen))
    ls.listen(4)
    ls.settimeout(args.timeout)
    with open(args.log) as f:
        before = f.read().count("in the kernel (c2s s2c)")
    c = socket.create_connection(addr(args.connect), timeout=args.timeout)
    srv, peer = ls.accept()
    srv.settimeout(args.timeout)

    def in_kernel():
        with open(args.log) as f:
            return f.read().count("in the kernel (c2s s2c)") > before
    wait_until("overlap: the session in the kernel", in_kernel, 10)
    srv.sendall(data[:first])
    got = bytearray()
    recv_until(c, got, first, "overlap")
    wait_until("overlap: the server's bytes acknowledged",
               lambda: unsent(srv) == 0, 10)
    srv.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    srv.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    snd = srv.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ) & 0xffffffff
    srv.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
    rcv = srv.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ) & 0xffffffff
    srv.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    raw.bind((srv.getsockname()[0], 0))
    d = args.bytes
    raw.sendto(tcp_segment(srv.getsockname(), peer, (snd - d) & 0xffffffff,
                           rcv, data[first - d:first + new]), (peer[0], 0))
    raw.close()
    # the injected segment's new bytes reach the client before the rest
    recv_until(c, got, first + new, "overlap")
    srv.sendall(data[first:])
    srv.shutdown(socket.SHUT_WR)
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        got += b
        if len(got) > len(data):
            break
    if bytes(got) != data:
        n = next((j for j in range(min(len(got), len(data)))
                  if got[j] != data[j]), min(len(got), len(data)))
        fail("overlap: got %d bytes of %d, different from %d" %
             (len(got), len(data), n))
    c.close()
    srv.close()
    print("ok %d bytes once, over a retransmission of %d" % (len(got), d))


def recv_until(sock, got, n, what):
    """Read into got until it holds n bytes (the socket's timeout bounds
    each read); EOF before that fails."""
    while len(got) < n:
        b = sock.recv(1 << 20)
        if not b:
            fail("%s: EOF after %d bytes" % (what, len(got)))
        got += b


def recv_all(sock):
    """Every byte until EOF."""
    got = bytearray()
    while True:
        b = sock.recv(65536)
        if not b:
            return got
        got += b


def wait_until(what, pred, timeout):
    """Poll pred until it holds, for at most timeout seconds."""
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            fail("%s: not within %.0f s" % (what, timeout))
        time.sleep(0.01)


def queue_seqs(sock):
    """The next sequence numbers of sock's send and receive queues
    (TCP_REPAIR)."""
    TCP_REPAIR, TCP_REPAIR_QUEUE, TCP_QUEUE_SEQ = 19, 20, 21
    TCP_RECV_QUEUE, TCP_SEND_QUEUE = 1, 2
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE)
    snd = sock.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ) & 0xffffffff
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE)
    rcv = sock.getsockopt(socket.IPPROTO_TCP, TCP_QUEUE_SEQ) & 0xffffffff
    sock.setsockopt(socket.IPPROTO_TCP, TCP_REPAIR, 0)
    return snd, rcv


def unsent(sock):
    """Bytes in sock's send queue, not acknowledged yet (SIOCOUTQ)."""
    import fcntl
    import termios
    b = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0" * 4)
    return struct.unpack("i", b)[0]


def cmd_ofofin(args):
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr(args.listen))
    ls.listen(4)
    ls.settimeout(args.timeout)
    for i in range(args.count):
        n = ofofin_once(args, ls, i)
    ls.close()
    print("ok %d sessions, %d bytes each, then the end" % (args.count, n))


def ofofin_once(args, ls, i):
    first, hole, seg, nseg = 300000, 1000, 1400, 30
    total = first + hole + seg * nseg
    data = Stream(9 + i).at(0, total)
    with open(args.log) as f:
        before = f.read().count("in the kernel (c2s s2c)")
    c = socket.create_connection(addr(args.connect), timeout=args.timeout)
    srv, peer = ls.accept()
    srv.settimeout(args.timeout)

    def in_kernel():
        with open(args.log) as f:
            return f.read().count("in the kernel (c2s s2c)") > before
    wait_until("ofofin: the session in the kernel", in_kernel, 10)
    srv.sendall(data[:first])
    got = bytearray()
    recv_until(c, got, first, "ofofin")
    wait_until("ofofin: the server's bytes acknowledged",
               lambda: unsent(srv) == 0, 10)
    snd, rcv = queue_seqs(srv)
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    raw.bind((srv.getsockname()[0], 0))
    for k in range(nseg):
        off = first + hole + k * seg
        raw.sendto(tcp_segment(srv.getsockname(), peer,
                               (snd + hole + k * seg) & 0xffffffff, rcv,
                               data[off:off + seg],
                               fin=k == nseg - 1), (peer[0], 0))
    raw.close()
    # the hole: the FIN and everything behind it come in at once
    srv.sendall(data[first:first + hole])
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        got += b
        if len(got) > total:
            break
    # the server's socket never sent what was injected: reset it
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                   struct.pack("ii", 1, 0))
    c.close()
    srv.close()
    if bytes(got) != data:
        n = next((j for j in range(min(len(got), len(data)))
                  if got[j] != data[j]), min(len(got), len(data)))
        fail("ofofin: session %d: got %d bytes of %d, different from %d" %
             (i, len(got), len(data), n))
    return len(got)


def meminfo():
    m = {}
    with open("/proc/meminfo") as f:
        for line in f:
            k, v = line.split(":", 1)
            m[k] = int(v.split()[0])
    tcp = 0
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                w = line.split()
                tcp = int(w[w.index("mem") + 1]) * 4
    return m["MemAvailable"], m["Slab"], tcp


def rss(pids):
    t = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        t += int(line.split()[1])
        except OSError:
            pass
    return t


def sample(tag, pids):
    avail, slab, tcp = meminfo()
    r = rss(pids)
    print("%s: MemAvailable %d kB, Slab %d kB, TCP mem %d kB, relays "
          "RSS %d kB" % (tag, avail, slab, tcp, r))
    return avail, slab, tcp, r


def cmd_stall(args):
    pids = [int(p) for p in args.relays.split(",") if p]
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(addr(args.listen))
    ls.listen(args.sessions + 16)
    ls.settimeout(args.timeout)
    base = sample("before", pids)
    pairs = []
    for i in range(args.sessions):
        c = socket.create_connection(addr(args.connect),
                                     timeout=args.timeout)
        s, _ = ls.accept()
        pairs.append((c, s))
    # zero_copy: adaptive takes a session to the kernel once it has
    # gone back and forth: small exchanges first
    for c, s in pairs:
        for i in range(args.turns):
            msg = b"turn%04d" % i
            for a, b in ((c, s), (s, c)):
                a.sendall(msg)
                got = b""
                while len(got) < len(msg):
                    r = b.recv(len(msg) - len(got))
                    if not r:
                        fail("stall: EOF in turn %d" % i)
                    got += r
                if got != msg:
                    fail("stall: turn %d: sent %r, got %r" % (i, msg, got))
    data = [Stream(i) for i in range(args.sessions)]
    chunk = 262144
    # sender/receiver of each pair
    snd = [s if args.dir == "s2c" else c for c, s in pairs]
    rcv = [c if args.dir == "s2c" else s for c, s in pairs]
    for x in snd + rcv:
        x.setblocking(False)
    off = [0] * args.sessions
    # push until every sender is blocked for a while (bounded)
    sel = selectors.DefaultSelector()
    for i, x in enumerate(snd):
        sel.register(x, selectors.EVENT_WRITE, i)
    deadline = time.monotonic() + args.timeout
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        moved = False
        for key, _ in sel.select(0.2):
            i = key.data
            try:
                n = snd[i].send(data[i].at(off[i], min(chunk, args.bytes - off[i])))
            except BlockingIOError:
                continue
            off[i] += n
            moved = moved or n > 0
            if off[i] == args.bytes:
                sel.unregister(snd[i])
                snd[i].shutdown(socket.SHUT_WR)
        if moved:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since > 1.0:
            break
    sent = sum(off)
    print("stalled: %d of %d bytes sent" % (sent, args.bytes *
                                            args.sessions))
    if sent == args.bytes * args.sessions:
        fail("stall: every byte went out: nothing stalled (make --bytes "
             "larger)")
    s1 = sample("stalled", pids)
    time.sleep(args.hold)
    # the senders try again: nothing must grow
    for i in range(args.sessions):
        if off[i] < args.bytes:
            try:
                off[i] += snd[i].send(data[i].at(off[i], min(chunk, args.bytes - off[i])))
            except BlockingIOError:
                pass
            if off[i] == args.bytes:
                snd[i].shutdown(socket.SHUT_WR)
    s2 = sample("held %.1fs" % args.hold, pids)
    limit = args.max_mb * 1024
    grew = s1[0] - s2[0]
    total = base[0] - s2[0]
    print("MemAvailable dropped %d kB while held, %d kB in all" %
          (grew, total))
    if total > limit:
        fail("stall: MemAvailable dropped %d kB, over %d kB" %
             (total, limit))
    if grew > limit // 4:
        fail("stall: MemAvailable dropped %d kB while nothing moved" % grew)
    if s2[3] - base[3] > 64 * 1024:
        fail("stall: the relays' RSS grew by %d kB" % (s2[3] - base[3]))
    # now everybody reads, senders finish, every byte checked
    got = [0] * args.sessions
    sel = selectors.DefaultSelector()
    for i in range(args.sessions):
        ev = selectors.EVENT_READ
        sel.register(rcv[i], ev, ("r", i))
        if off[i] < args.bytes:
            sel.register(snd[i], selectors.EVENT_WRITE, ("w", i))
    left = args.sessions
    deadline = time.monotonic() + args.timeout
    while left > 0:
        if time.monotonic() > deadline:
            fail("stall: %d sessions unfinished" % left)
        for key, _ in sel.select(1.0):
            kind, i = key.data
            if kind == "w":
                try:
                    off[i] += snd[i].send(data[i].at(off[i], min(chunk, args.bytes - off[i])))
                except BlockingIOError:
                    continue
                if off[i] == args.bytes:
                    sel.unregister(snd[i])
                    snd[i].shutdown(socket.SHUT_WR)
                continue
            try:
                b = rcv[i].recv(262144)
            except BlockingIOError:
                continue
            if b:
                if got[i] + len(b) > args.bytes:
                    fail("stall: session %d got too much" % i)
                if b != data[i].at(got[i], len(b)):
                    at, src = data[i].where(got[i], b)
                    fail("stall: session %d: different bytes at %d%s" %
                         (i, at, "" if src is None else
                          " (the stream's bytes at %d)" % src))
                got[i] += len(b)
                continue
            sel.unregister(rcv[i])
            left -= 1
            if got[i] != args.bytes:
                fail("stall: session %d got %d of %d bytes" %
                     (i, got[i], args.bytes))
    for c, s in pairs:
        c.close()
        s.close()
    print("ok %d sessions, %d bytes each, %s" % (args.sessions, args.bytes,
                                                 args.dir))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["pingpong", "serverfin", "stall",
                                   "overlap", "ofofin"])
    p.add_argument("--connect", required=True)
    p.add_argument("--listen")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--bytes", type=int, default=1048576)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--turns", type=int, default=0,
                   help="stall: 8-byte exchanges each way before the flood")
    p.add_argument("--dir", choices=["s2c", "c2s"], default="s2c")
    p.add_argument("--relays", default="")
    p.add_argument("--hold", type=float, default=3.0)
    p.add_argument("--max-mb", type=int, default=1536)
    p.add_argument("--log", default="l4d.log")
    p.add_argument("--timeout", type=float, default=60.0)
    args = p.parse_args()
    {"pingpong": cmd_pingpong, "serverfin": cmd_serverfin,
     "stall": cmd_stall, "overlap": cmd_overlap,
     "ofofin": cmd_ofofin}[args.cmd](args)


if __name__ == "__main__":
    main()
