"""TLS ClientHellos, well-formed or not, for the l4d routing tests.

    python3 hello.py COMMAND [options]

Every command that connects exits 0 when what it checked held, 1
otherwise, and says why on stderr.  Every wait is bounded (--timeout,
default 30 s).

Commands:
  build   write a ClientHello to --out: TLS 1.3 style (supported_versions,
          key_share x25519, ...), with --sni NAME (none with --no-sni),
          --alpn P1,P2, a padding extension of --pad bytes (or as many
          as make it --size bytes in all), the handshake message split
          over --records TLS records of about equal size.
          --minimal: TLS 1.2 style, two cipher suites, no session id and
          no extension but server_name, supported_groups and
          signature_algorithms (about 85 bytes).
          --kind garbage: a record that starts like a hello (0x16 0x03
          0x01, ClientHello type) but whose body is malformed (its session
          id length runs past the message).  --seed makes it
          reproducible.  Prints the size.
  send    connect, send --hello FILE (or --data TEXT, "\\n" escapes
          understood) in --writes pieces --gap seconds apart (--byte-gap:
          one byte at a time), optionally only its first --cut bytes;
          then, unless --no-shut, shut down the write side; read until
          the peer closes (or until --lines lines came).  Prints
          "reply <line>" for each line received
          (or "reply -" if none), "end eof|reset" and "elapsed S" (from
          connect to the end, or to the first reply line with --first).
          --expect STR: the first line must be STR.  --max S: fail if
          elapsed is above S; --min S: below S.
  hold    open --count connections, send each the first --cut bytes of
          --hello and keep them open until killed or --timeout; pid in
          --pidfile, --ready created once all bytes are sent.  Prints,
          on exit, how many the peer closed.
  bulk    send --hello FILE followed by --bytes of deterministic data
          (--seed, tools/gendata.py) while reading until EOF, then shut
          down the write side; check that what came back is --peer-bytes
          of deterministic data (--peer-seed).  Prints "sent <n> <sha256>"
          of everything sent (hello included).
  hash    print "<n> <sha256>" of --hello FILE followed by --bytes of
          deterministic data (--seed); no connection.
  pgclient  the start of libpq's STARTTLS: with --gssenc first a
          GSSENCRequest (prints "gssenc <answer>"), then an SSLRequest
          (prints "ssl <answer>"); after an 'S' it sends --hello FILE and
          prints "reply <line>" for the first line that comes back, or
          "reply -" if the connection ends first.
  pgserve   a fake PostgreSQL server for pgclient: reads an SSLRequest,
          answers --answer S|N; after 'S' reads one TLS record (the
          hello), saves all it got to --save-dir/ID-K.bin and answers
          "ID\n"; then reads until EOF.  After 'N' (or anything but an
          SSLRequest) it saves what came until EOF.
  serve   a recording backend: --listen ADDR:PORT; for each connection
          read until EOF, save the bytes to --save-dir/ID-K.bin (K from
          1), reply "ID <n> <sha256>\\n" and close.  --pidfile, --ready,
          --lifetime (default 300 s) as in servers.py.
"""

import argparse
import hashlib
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

from gendata import gen


def fail(msg):
    sys.stderr.write("hello: %s\n" % msg)
    sys.exit(1)


def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def ext(etype, body):
    return u16(etype) + u16(len(body)) + body


def client_hello_body(rng, sni, alpn, pad, minimal=False):
    """The body of a ClientHello handshake message."""
    exts = b""
    if sni is not None:
        name = sni.encode()
        entry = u8(0) + u16(len(name)) + name
        exts += ext(0, u16(len(entry)) + entry)
    if minimal:
        exts += ext(10, u16(2) + u16(0x0017))   # secp256r1
        exts += ext(13, u16(2) + u16(0x0403))   # ecdsa_secp256r1_sha256
        body = u16(0x0303) + rng.randbytes(32) + u8(0)
        body += u16(4) + u16(0xc02b) + u16(0xc02f) + u8(1) + u8(0)
        return body + u16(len(exts)) + exts
    exts += ext(10, u16(4) + u16(0x001d) + u16(0x0017))     # groups
    exts += ext(11, u8(1) + u8(0))                           # ec formats
    sigalgs = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501]
    exts += ext(13, u16(2 * len(sigalgs)) +
                b"".join(u16(a) for a in sigalgs))
    if alpn:
        lst = b"".join(u8(len(p)) + p.encode() for p in alpn)
        exts += ext(16, u16(len(lst)) + lst)
    exts += ext(43, u8(4) + u16(0x0304) + u16(0x0303))      # versions
    share = u16(0x001d) + u16(32) + rng.randbytes(32)
    exts += ext(51, u16(len(share)) + share)                 # key_share
    if pad is not None:
        exts += ext(21, bytes(pad))                          # padding
    suites = [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030]
    body = u16(0x0303) + rng.randbytes(32)
    body += u8(32) + rng.randbytes(32)
    body += u16(2 * len(suites)) + b"".join(u16(s) for s in suites)
    body += u8(1) + u8(0)
    body += u16(len(exts)) + exts
    return body


def records(msg, n):
    """msg split over n TLS handshake records of about equal size."""
    out = b""
    size = max(1, -(-len(msg) // n))
    for off in range(0, len(msg), size):
        frag = msg[off:off + size]
        out += b"\x16\x03\x01" + u16(len(frag)) + frag
    return out


def build(args):
    rng = random.Random(args.seed)
    if args.kind == "garbage":
        body = u16(0x0303) + rng.randbytes(32) + u8(200) + \
            rng.randbytes(40)
        msg = u8(1) + u24(len(body)) + body
        return records(msg, 1)
    alpn = [p for p in args.alpn.split(",") if p] if args.alpn else []
    sni = None if args.no_sni else args.sni

    def one(pad):
        body = client_hello_body(random.Random(args.seed), sni, alpn, pad,
                                 args.minimal)
        return records(u8(1) + u24(len(body)) + body, args.records)

    if args.size is None:
        return one(args.pad or None)
    # The padding extension grows the hello byte for byte.
    pad = args.size - len(one(0))
    if pad < 0 or len(one(pad)) != args.size:
        fail("build: cannot make a hello of exactly %d bytes" % args.size)
    return one(pad)


def cmd_build(args):
    if not args.out:
        fail("build: --out is required")
    if args.sni is None and not args.no_sni and args.kind != "garbage":
        fail("build: --sni NAME or --no-sni")
    data = build(args)
    with open(args.out, "wb") as f:
        f.write(data)
    print(len(data))
    return 0


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def connect(args):
    s = socket.create_connection(addr(args.connect), timeout=args.timeout)
    s.settimeout(args.timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def payload(args):
    if args.hello:
        with open(args.hello, "rb") as f:
            data = f.read()
    elif args.data is not None:
        data = args.data.encode().decode("unicode_escape").encode("latin-1")
    else:
        fail("--hello FILE or --data TEXT")
    if args.cut is not None:
        data = data[:args.cut]
    return data


def pieces(data, n):
    size = max(1, -(-len(data) // n))
    return [data[i:i + size] for i in range(0, len(data), size)]


def cmd_send(args):
    data = payload(args)
    t0 = time.monotonic()
    s = connect(args)
    parts = [data[i:i + 1] for i in range(len(data))] \
        if args.byte_gap is not None else pieces(data, args.writes)
    gap = args.byte_gap if args.byte_gap is not None else args.gap
    try:
        for i, p in enumerate(parts):
            if i > 0 and gap > 0:
                time.sleep(gap)
            s.sendall(p)
        if not args.no_shut:
            s.shutdown(socket.SHUT_WR)
    except OSError as e:
        # The proxy may close early (a bad hello); what it did shows in
        # how the read ends.
        sys.stderr.write("hello: send: %s\n" % e)
    buf = b""
    end = "eof"
    first = None
    try:
        while args.lines is None or buf.count(b"\n") < args.lines:
            b = s.recv(65536)
            if not b:
                break
            if first is None and b"\n" in buf + b:
                first = time.monotonic()
            buf += b
        if args.lines is not None and buf.count(b"\n") >= args.lines:
            end = "lines"
    except ConnectionResetError:
        end = "reset"
    except socket.timeout:
        fail("send: neither reply nor close within %.1f s (got %r)" %
             (args.timeout, buf[:200]))
    t1 = time.monotonic()
    s.close()
    lines = buf.decode(errors="replace").splitlines()
    for line in lines or ["-"]:
        print("reply %s" % line)
    print("end %s" % end)
    elapsed = (first if args.first and first is not None else t1) - t0
    print("elapsed %.3f" % elapsed)
    if args.expect is not None:
        got = lines[0] if lines else ""
        if got != args.expect:
            fail("send: first line %r, expected %r" % (got, args.expect))
    if args.max is not None and elapsed > args.max:
        fail("send: took %.3f s, expected at most %.3f" % (elapsed, args.max))
    if args.min is not None and elapsed < args.min:
        fail("send: took %.3f s, expected at least %.3f" %
             (elapsed, args.min))
    return 0


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def cmd_hold(args):
    data = payload(args)
    if args.pidfile:
        write_atomic(args.pidfile, "%d\n" % os.getpid())
    socks = []
    for i in range(args.count):
        try:
            s = connect(args)
            s.sendall(data)
        except OSError as e:
            fail("hold: session %d: %s" % (i, e))
        socks.append(s)
    if args.ready:
        write_atomic(args.ready, "%d\n" % len(socks))
    closed = [0]

    def done(*a):
        sys.stdout.write("closed %d of %d\n" % (closed[0], len(socks)))
        sys.stdout.flush()
        os._exit(0)

    signal.signal(signal.SIGTERM, done)
    deadline = time.monotonic() + args.timeout
    alive = list(socks)
    while alive and time.monotonic() < deadline:
        for s in list(alive):
            s.settimeout(0.05)
            try:
                if s.recv(4096) == b"":
                    closed[0] += 1
                    alive.remove(s)
            except socket.timeout:
                pass
            except OSError:
                closed[0] += 1
                alive.remove(s)
    done()


def cmd_bulk(args):
    with open(args.hello, "rb") as f:
        hello = f.read()
    s = connect(args)
    err = []
    sent = hashlib.sha256()
    nsent = [0]

    def sender():
        try:
            s.sendall(hello)
            sent.update(hello)
            nsent[0] += len(hello)
            for c in gen(args.seed, args.bytes):
                s.sendall(c)
                sent.update(c)
                nsent[0] += len(c)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    h = hashlib.sha256()
    n = 0
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            n += len(b)
            h.update(b)
    except OSError as e:
        fail("bulk: read: %s" % e)
    t.join(args.timeout)
    s.close()
    if err:
        fail("bulk: send: %s" % err[0])
    print("sent %d %s" % (nsent[0], sent.hexdigest()))
    want = hashlib.sha256()
    for c in gen(args.peer_seed, args.peer_bytes):
        want.update(c)
    if n != args.peer_bytes or h.hexdigest() != want.hexdigest():
        fail("bulk: received %d bytes sha256 %s, expected %d bytes %s" %
             (n, h.hexdigest(), args.peer_bytes, want.hexdigest()))
    return 0


def cmd_hash(args):
    with open(args.hello, "rb") as f:
        hello = f.read()
    h = hashlib.sha256(hello)
    for c in gen(args.seed, args.bytes):
        h.update(c)
    print("%d %s" % (len(hello) + args.bytes, h.hexdigest()))
    return 0


def cmd_serve(args):
    def handle(conn, k):
        try:
            conn.settimeout(args.timeout)
            buf = bytearray()
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                buf += b
            path = os.path.join(args.save_dir, "%s-%d.bin" % (args.id, k))
            with open(path + ".tmp", "wb") as f:
                f.write(buf)
            os.rename(path + ".tmp", path)
            conn.sendall(("%s %d %s\n" % (args.id, len(buf),
                          hashlib.sha256(buf).hexdigest())).encode())
        except OSError:
            pass
        finally:
            conn.close()

    listen_loop(args, handle)


SSL_REQUEST = struct.pack("!II", 8, 80877103)
GSSENC_REQUEST = struct.pack("!II", 8, 80877104)


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def cmd_pgclient(args):
    with open(args.hello, "rb") as f:
        hello = f.read()
    s = connect(args)
    try:
        if args.gssenc:
            s.sendall(GSSENC_REQUEST)
            a = recv_exact(s, 1)
            print("gssenc %s" % (a.decode(errors="replace") or "-"))
            if a != b"N":
                return 0
        s.sendall(SSL_REQUEST)
        a = recv_exact(s, 1)
        print("ssl %s" % (a.decode(errors="replace") or "-"))
        if a != b"S":
            return 0
        s.sendall(hello)
        buf = b""
        while b"\n" not in buf:
            b = s.recv(4096)
            if not b:
                break
            buf += b
    except ConnectionResetError:
        buf = b""
    except socket.timeout:
        fail("pgclient: no answer within %.1f s" % args.timeout)
    s.close()
    line = buf.split(b"\n")[0].decode(errors="replace") if buf else "-"
    print("reply %s" % line)
    return 0


def cmd_pgserve(args):
    def handle(conn, k):
        got = b""
        try:
            conn.settimeout(args.timeout)
            got = recv_exact(conn, 8)
            if got == SSL_REQUEST:
                conn.sendall(args.answer.encode())
                if args.answer == "S":
                    head = recv_exact(conn, 5)
                    got += head
                    if len(head) == 5:
                        got += recv_exact(conn, struct.unpack("!H",
                                                              head[3:])[0])
                    save(k, got)
                    got = None
                    conn.sendall(("%s\n" % args.id).encode())
            while True:
                b = conn.recv(65536)
                if not b:
                    break
                if got is not None:
                    got += b
        except OSError:
            pass
        finally:
            if got is not None:
                save(k, got)
            conn.close()

    def save(k, data):
        path = os.path.join(args.save_dir, "%s-%d.bin" % (args.id, k))
        with open(path + ".tmp", "wb") as f:
            f.write(data)
        os.rename(path + ".tmp", path)

    listen_loop(args, handle)


def listen_loop(args, handle):
    if not args.listen or not args.save_dir:
        fail("--listen and --save-dir are required")
    host, port = addr(args.listen)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if args.pidfile:
        write_atomic(args.pidfile, "%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    signal.signal(signal.SIGALRM, lambda *a: os._exit(2))
    signal.setitimer(signal.ITIMER_REAL, args.lifetime)
    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, port))
    ls.listen(256)
    if args.ready:
        write_atomic(args.ready, "%s\n" % args.listen)
    k = 0
    while True:
        try:
            conn, _ = ls.accept()
        except InterruptedError:
            continue
        k += 1
        threading.Thread(target=handle, args=(conn, k), daemon=True).start()


COMMANDS = {"pgclient": cmd_pgclient, "pgserve": cmd_pgserve,
            "build": cmd_build, "send": cmd_send, "hold": cmd_hold,
            "bulk": cmd_bulk, "hash": cmd_hash, "serve": cmd_serve}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("--connect")
    p.add_argument("--listen")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--sni")
    p.add_argument("--no-sni", action="store_true")
    p.add_argument("--alpn", default="")
    p.add_argument("--pad", type=int, default=0)
    p.add_argument("--size", type=int)
    p.add_argument("--records", type=int, default=1)
    p.add_argument("--minimal", action="store_true")
    p.add_argument("--kind", choices=["hello", "garbage"], default="hello")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out")
    p.add_argument("--hello")
    p.add_argument("--data")
    p.add_argument("--cut", type=int)
    p.add_argument("--writes", type=int, default=1)
    p.add_argument("--gap", type=float, default=0.05)
    p.add_argument("--byte-gap", type=float)
    p.add_argument("--no-shut", action="store_true")
    p.add_argument("--first", action="store_true")
    p.add_argument("--lines", type=int)
    p.add_argument("--gssenc", action="store_true")
    p.add_argument("--answer", choices=["S", "N"], default="S")
    p.add_argument("--expect")
    p.add_argument("--min", type=float)
    p.add_argument("--max", type=float)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--pidfile")
    p.add_argument("--ready")
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--peer-bytes", type=int, default=0)
    p.add_argument("--peer-seed", type=int, default=2)
    p.add_argument("--id", default="server")
    p.add_argument("--save-dir")
    p.add_argument("--lifetime", type=float, default=300.0)
    args = p.parse_args()
    if args.command in ("send", "hold", "bulk", "pgclient") and \
            not args.connect:
        p.error("--connect is required")
    if args.command in ("bulk", "hash", "pgclient") and not args.hello:
        p.error("--hello is required")
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
