"""Clients for the l4d black-box tests.

    python3 client.py COMMAND --connect ADDR:PORT [options]

Every command exits 0 when what it checked held, 1 otherwise, and says
why on stderr.  Every wait is bounded (--timeout, default 30 s).

Commands:
  bulk        send --bytes of deterministic data (--seed) while reading
              until EOF, then shut down the write side; check that what came
              back is --peer-bytes of deterministic data (--peer-seed).
              Prints "sent <bytes> <sha256>".
  concurrent  open --sessions connections first, then send distinct random
              data (--size bytes each) on all of them at once to an echo
              server and check every echo byte for byte.
  halfclose   send --bytes (--seed), shut down the write side, read until
              EOF; expect "<sha256 of what was sent>\\n" + --peer-bytes of
              deterministic data (--peer-seed) (the server's "rae" mode).
  banner      send nothing; read one line and compare it with --expect.
              With --count N, N sessions one after the other, and the
              fastest must have had its line within --max seconds of its
              connect (a proxy that delays the server's accept delays
              them all).
  early       stop the processes --pids (comma separated) with SIGSTOP,
              connect and send a line while they are stopped, resume them
              (SIGCONT) and read the line back (echo): a proxy that
              accepts finds the client's first bytes already there.
              Prints the line; with --reset, expects a reset instead
              and prints "reset".
  ids         --count sequential sessions, each read until EOF; prints
              "<count> <reply>" per distinct reply.  Fails if a session
              got nothing (unless --allow-empty).
  reset       send a line, then read: expect ECONNRESET (prints "reset");
              an EOF or a timeout is a failure.
  idle        send nothing (with --shut: shut down the write side at
              once); wait until the proxy closes; the time taken must be
              within [--min, --max] seconds.  Prints it.
  hold        open --count connections (without waiting for accept) and
              keep them open until killed or --timeout; pid in --pidfile,
              --ready created once all are opened.
  rst         send a line, read it back (echo), then close with SO_LINGER 0
              so that the peer gets a reset.
  ping        --count sequential sessions to an echo server: send a line,
              expect it back, close.
  genhash     print "<bytes> <sha256>" of --bytes of deterministic data
              (--seed); no connection.
  loop        --parallel workers open sessions one after another until
              the --stop file exists: each sends a few random bytes to an
              echo server and checks the echo.  --ready is created after
              the first good session.  Prints "sessions N failures F";
              fails if F > 0, if no session succeeded or if --stop did not
              appear within --timeout.
  keep        open --count sessions per --bind address (comma separated
              list; default: any), optionally read a first line and compare
              it with --expect (banner), then send --size + k bytes on
              session k and check the echo.  Writes a JSON list of
              {"client","sent","received"} to --report, creates --ready,
              then waits (bounded by --timeout) for the --go file and does
              --after: "echo" (every session echoes a new line), "close"
              (every session is closed by the peer within --max seconds
              after --go appeared; prints the time) or "hold" (keep them
              open until killed or --timeout).
"""

import argparse
import hashlib
import json
import os
import random
import selectors
import signal
import socket
import struct
import sys
import threading
import time

from gendata import CHUNK, gen


def genhash(seed, nbytes):
    h = hashlib.sha256()
    for c in gen(seed, nbytes):
        h.update(c)
    return h.hexdigest()


def fail(msg):
    sys.stderr.write("client: %s\n" % msg)
    sys.exit(1)


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def connect(args):
    src = (args.bind, 0) if args.bind else None
    s = socket.create_connection(addr(args.connect), timeout=args.timeout,
                                 source_address=src)
    s.settimeout(args.timeout)
    return s


def read_to_eof(s, h=None, keep=False):
    n = 0
    data = []
    while True:
        b = s.recv(CHUNK)
        if not b:
            break
        n += len(b)
        if h is not None:
            h.update(b)
        if keep:
            data.append(b)
    return n, b"".join(data)


def cmd_bulk(args):
    s = connect(args)
    err = []

    def sender():
        try:
            for c in gen(args.seed, args.bytes):
                s.sendall(c)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    h = hashlib.sha256()
    try:
        n, _ = read_to_eof(s, h)
    except OSError as e:
        fail("bulk: read: %s" % e)
    t.join(args.timeout)
    s.close()
    if err:
        fail("bulk: send: %s" % err[0])
    print("sent %d %s" % (args.bytes, genhash(args.seed, args.bytes)))
    want = genhash(args.peer_seed, args.peer_bytes)
    if n != args.peer_bytes or h.hexdigest() != want:
        fail("bulk: received %d bytes sha256 %s, expected %d bytes %s" %
             (n, h.hexdigest(), args.peer_bytes, want))
    return 0


def cmd_concurrent(args):
    socks = []
    for i in range(args.sessions):
        try:
            socks.append(connect(args))
        except OSError as e:
            fail("concurrent: connect %d: %s" % (i, e))
    sel = selectors.DefaultSelector()
    state = {}
    for s in socks:
        s.setblocking(False)
        st = {"out": os.urandom(args.size), "off": 0, "in": bytearray(),
              "eof": False}
        state[s] = st
        sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, st)
    deadline = time.monotonic() + args.timeout
    pending = len(socks)
    while pending > 0:
        left = deadline - time.monotonic()
        if left <= 0:
            fail("concurrent: timeout with %d sessions unfinished" % pending)
        for key, ev in sel.select(min(left, 1.0)):
            s, st = key.fileobj, key.data
            if ev & selectors.EVENT_WRITE and st["off"] < len(st["out"]):
                try:
                    st["off"] += s.send(st["out"][st["off"]:
                                                  st["off"] + 65536])
                except BlockingIOError:
                    pass
                except OSError as e:
                    fail("concurrent: send: %s" % e)
                if st["off"] == len(st["out"]):
                    s.shutdown(socket.SHUT_WR)
                    sel.modify(s, selectors.EVENT_READ, st)
            if ev & selectors.EVENT_READ:
                try:
                    b = s.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    fail("concurrent: recv: %s" % e)
                if b:
                    st["in"] += b
                else:
                    sel.unregister(s)
                    pending -= 1
    bad = 0
    for s, st in state.items():
        if bytes(st["in"]) != st["out"]:
            bad += 1
            sys.stderr.write("client: session %s: sent %d, got %d bytes%s\n"
                             % (s.getsockname(), len(st["out"]),
                                len(st["in"]),
                                "" if len(st["in"]) != len(st["out"])
                                else " (different bytes)"))
        s.close()
    if bad:
        fail("concurrent: %d of %d sessions not byte-exact" %
             (bad, len(socks)))
    print("ok %d sessions %d bytes each" % (len(socks), args.size))
    return 0


def cmd_halfclose(args):
    s = connect(args)
    for c in gen(args.seed, args.bytes):
        s.sendall(c)
    s.shutdown(socket.SHUT_WR)
    try:
        _, data = read_to_eof(s, keep=True)
    except OSError as e:
        fail("halfclose: read after shutdown: %s" % e)
    s.close()
    want = (genhash(args.seed, args.bytes) + "\n").encode() + \
        b"".join(gen(args.peer_seed, args.peer_bytes))
    if data != want:
        fail("halfclose: got %d bytes (head %r), expected %d bytes" %
             (len(data), data[:80], len(want)))
    print("ok %d bytes after shutdown" % len(data))
    return 0


def read_line(s, what):
    """Read up to a newline or EOF; a socket error fails the command."""
    buf = b""
    try:
        while not buf.endswith(b"\n"):
            b = s.recv(4096)
            if not b:
                break
            buf += b
    except OSError as e:
        fail("%s: %s (got %r)" % (what, e, buf))
    return buf


def banner_once(args):
    t0 = time.monotonic()
    s = connect(args)
    buf = read_line(s, "banner")
    took = time.monotonic() - t0
    s.close()
    line = buf.decode(errors="replace").rstrip("\r\n")
    if line != args.expect:
        fail("banner: got %r, expected %r" % (line, args.expect))
    return line, took


def cmd_banner(args):
    fastest = None
    for i in range(args.count):
        line, took = banner_once(args)
        fastest = took if fastest is None else min(fastest, took)
    if fastest > args.max:
        fail("banner: the fastest of %d sessions got its line after "
             "%.3f s, expected at most %.3f" % (args.count, fastest,
                                               args.max))
    print(line)
    return 0


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def stop_all(pids):
    """SIGSTOP each, then wait (bounded) until each is stopped."""
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    t0 = time.monotonic()
    for pid in pids:
        while proc_state(pid) not in ("T", "t"):
            if time.monotonic() - t0 > 5:
                fail("early: process %d did not stop" % pid)
            time.sleep(0.001)


def cmd_early(args):
    pids = [int(p) for p in args.pids.split(",") if p]
    line = b"early line\n"
    stop_all(pids)
    try:
        s = connect(args)
        s.sendall(line)
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)
    if args.reset:
        how = how_it_ends(s, "early: no reset")
        s.close()
        if how != "reset":
            fail("early: %s, expected a reset" % how)
        print("reset")
        return 0
    got = read_line(s, "early")
    s.close()
    if got != line:
        fail("early: got %r back, expected %r" % (got, line))
    print(got.decode().rstrip())
    return 0


def cmd_ids(args):
    counts = {}
    bad = 0
    for i in range(args.count):
        try:
            s = connect(args)
            _, data = read_to_eof(s, keep=True)
            s.close()
            reply = data.decode(errors="replace").strip() or "(empty)"
        except OSError as e:
            reply = "(error:%s)" % e.__class__.__name__
        if reply.startswith("("):
            bad += 1
        counts[reply] = counts.get(reply, 0) + 1
    for k in sorted(counts):
        print("%d %s" % (counts[k], k))
    if bad and not args.allow_empty:
        fail("ids: %d of %d sessions got no reply" % (bad, args.count))
    return 0


def cmd_reset(args):
    s = connect(args)
    s.sendall(b"hello\n")
    try:
        b = s.recv(4096)
    except ConnectionResetError:
        print("reset")
        return 0
    except socket.timeout:
        fail("reset: timeout, neither reset nor EOF")
    except OSError as e:
        fail("reset: unexpected error %s" % e)
    if b:
        fail("reset: unexpected data %r" % b)
    # An EOF first: a reset right behind it would still be a failure,
    # the client was told the stream ended cleanly.
    fail("reset: got EOF (FIN), expected a reset")


def cmd_replyreset(args):
    """A reply, then a reset: the reset must arrive, whatever came
    before it (a reset may take unread bytes with it)."""
    s = connect(args)
    s.sendall(b"hello\n")
    while True:
        how = how_it_ends(s, "replyreset: neither reset nor EOF")
        if not how.startswith("data"):
            break
    print(how)
    return 0


def how_it_ends(s, timeout_msg):
    """What the next recv meets: "eof", "reset" or "data ..."."""
    try:
        b = s.recv(4096)
        return "eof" if not b else "data %r" % b
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        fail(timeout_msg)


def cmd_idle(args):
    s = connect(args)
    if args.shut:
        s.shutdown(socket.SHUT_WR)
    t0 = time.monotonic()
    how = how_it_ends(s, "idle: not closed within %.1f s" % args.timeout)
    dt = time.monotonic() - t0
    print("%s after %.3f s" % (how, dt))
    if how.startswith("data"):
        fail("idle: unexpected %s" % how)
    if dt < args.min or dt > args.max:
        fail("idle: closed after %.3f s, expected between %.3f and %.3f" %
             (dt, args.min, args.max))
    return 0


def cmd_hold(args):
    if args.pidfile:
        with open(args.pidfile + ".tmp", "w") as f:
            f.write("%d\n" % os.getpid())
        os.rename(args.pidfile + ".tmp", args.pidfile)
    socks = []
    for _ in range(args.count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(addr(args.connect))
        socks.append(s)
    if args.ready:
        with open(args.ready, "w") as f:
            f.write("%d\n" % len(socks))
    time.sleep(args.timeout)
    return 0


def cmd_rst(args):
    s = connect(args)
    msg = b"about to reset\n"
    s.sendall(msg)
    got = b""
    while len(got) < len(msg):
        b = s.recv(4096)
        if not b:
            fail("rst: EOF before the echo")
        got += b
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    print("sent reset")
    return 0


def cmd_ping(args):
    for i in range(args.count):
        msg = ("ping %d %s\n" % (i, os.urandom(8).hex())).encode()
        try:
            s = connect(args)
            s.sendall(msg)
            got = b""
            while len(got) < len(msg):
                b = s.recv(4096)
                if not b:
                    break
                got += b
            s.close()
        except OSError as e:
            fail("ping %d: %s" % (i, e))
        if got != msg:
            fail("ping %d: sent %r, got %r" % (i, msg, got))
    print("ok %d" % args.count)
    return 0


def cmd_genhash(args):
    print("%d %s" % (args.bytes, genhash(args.seed, args.bytes)))
    return 0


def recv_exact(s, n):
    got = b""
    while len(got) < n:
        b = s.recv(n - len(got))
        if not b:
            break
        got += b
    return got


def wait_file(path, timeout):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def touch_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def cmd_loop(args):
    lock = threading.Lock()
    st = {"ok": 0, "fail": 0, "errors": []}
    deadline = time.monotonic() + args.timeout
    timed_out = []

    def one():
        msg = os.urandom(8 + random.randrange(56))
        s = connect(args)
        try:
            s.sendall(msg)
            got = recv_exact(s, len(msg))
            if got != msg:
                raise OSError("sent %d bytes, echo %d bytes%s" %
                              (len(msg), len(got),
                               "" if len(got) != len(msg) else " (differ)"))
        finally:
            s.close()

    def worker():
        while not os.path.exists(args.stop):
            if time.monotonic() >= deadline:
                timed_out.append(1)
                return
            try:
                one()
                with lock:
                    st["ok"] += 1
                    if st["ok"] == 1 and args.ready:
                        touch_atomic(args.ready, "1\n")
            except OSError as e:
                with lock:
                    st["fail"] += 1
                    if len(st["errors"]) < 10:
                        st["errors"].append("%s: %s" %
                                            (e.__class__.__name__, e))

    ts = [threading.Thread(target=worker, daemon=True)
          for _ in range(args.parallel)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(args.timeout + 5)
    print("sessions %d failures %d" % (st["ok"], st["fail"]))
    for e in st["errors"]:
        sys.stderr.write("client: loop: %s\n" % e)
    if st["fail"]:
        fail("loop: %d of %d sessions failed" %
             (st["fail"], st["fail"] + st["ok"]))
    if st["ok"] == 0:
        fail("loop: no session succeeded")
    if timed_out:
        fail("loop: %s did not appear within %.1f s" %
             (args.stop, args.timeout))
    return 0


def cmd_keep(args):
    binds = args.bind.split(",") if args.bind else [None]
    socks = []
    report = []
    k = 0
    for b in binds:
        for _ in range(args.count):
            src = (b, 0) if b else None
            try:
                s = socket.create_connection(addr(args.connect),
                                             timeout=args.timeout,
                                             source_address=src)
            except OSError as e:
                fail("keep: connect from %s: %s" % (b, e))
            s.settimeout(args.timeout)
            received = 0
            try:
                if args.expect:
                    buf = b""
                    while not buf.endswith(b"\n"):
                        c = s.recv(1)
                        if not c:
                            break
                        buf += c
                    received += len(buf)
                    line = buf.decode(errors="replace").rstrip("\r\n")
                    if line != args.expect:
                        fail("keep: first line %r, expected %r" %
                             (line, args.expect))
                msg = os.urandom(args.size + k)
                s.sendall(msg)
                got = recv_exact(s, len(msg))
            except OSError as e:
                fail("keep: session %d: %s" % (k, e))
            if got != msg:
                fail("keep: session %d: sent %d bytes, echo %d bytes" %
                     (k, len(msg), len(got)))
            received += len(got)
            host, port = s.getsockname()[:2]
            report.append({"client": "%s:%d" % (host, port),
                           "sent": len(msg), "received": received})
            socks.append(s)
            k += 1
    if args.report:
        touch_atomic(args.report, json.dumps(report) + "\n")
    if args.ready:
        touch_atomic(args.ready, "%d\n" % len(socks))
    if args.after == "hold" or not args.go:
        time.sleep(args.timeout)
        return 0
    if not wait_file(args.go, args.timeout):
        fail("keep: %s did not appear within %.1f s" % (args.go,
                                                         args.timeout))
    t0 = time.monotonic()
    if args.after == "echo":
        for i, s in enumerate(socks):
            msg = ("after %d %s\n" % (i, os.urandom(8).hex())).encode()
            try:
                s.sendall(msg)
                got = recv_exact(s, len(msg))
            except OSError as e:
                fail("keep: session %d after --go: %s" % (i, e))
            if got != msg:
                fail("keep: session %d after --go: sent %r, got %r" %
                     (i, msg, got))
        print("ok %d sessions still echo" % len(socks))
        return 0
    worst = 0.0
    for i, s in enumerate(socks):
        left = max(0.05, args.max + 1 - (time.monotonic() - t0))
        s.settimeout(left)
        how = how_it_ends(s, "keep: session %d not closed within %.1f s "
                          "after --go" % (i, args.max + 1))
        if how.startswith("data"):
            fail("keep: session %d: unexpected %s" % (i, how))
        worst = max(worst, time.monotonic() - t0)
    print("closed after %.3f s" % worst)
    if worst > args.max:
        fail("keep: closed after %.3f s, expected at most %.3f" %
             (worst, args.max))
    return 0


COMMANDS = {
    "bulk": cmd_bulk, "concurrent": cmd_concurrent,
    "halfclose": cmd_halfclose, "banner": cmd_banner, "ids": cmd_ids,
    "reset": cmd_reset, "idle": cmd_idle, "hold": cmd_hold,
    "ping": cmd_ping, "rst": cmd_rst, "genhash": cmd_genhash,
    "loop": cmd_loop, "keep": cmd_keep, "replyreset": cmd_replyreset,
    "early": cmd_early,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("--connect")
    p.add_argument("--bind", help="source address")
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--peer-bytes", type=int, default=0)
    p.add_argument("--peer-seed", type=int, default=2)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--size", type=int, default=65536)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--expect", default="")
    p.add_argument("--allow-empty", action="store_true")
    p.add_argument("--reset", action="store_true")
    p.add_argument("--shut", action="store_true")
    p.add_argument("--min", type=float, default=0.0)
    p.add_argument("--max", type=float, default=1e9)
    p.add_argument("--pids", default="")
    p.add_argument("--pidfile")
    p.add_argument("--ready")
    p.add_argument("--stop")
    p.add_argument("--go")
    p.add_argument("--report")
    p.add_argument("--parallel", type=int, default=2)
    p.add_argument("--after", choices=["echo", "close", "hold"],
                   default="hold")
    args = p.parse_args()
    if args.command != "genhash" and not args.connect:
        p.error("--connect is required")
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
