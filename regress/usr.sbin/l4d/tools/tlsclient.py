"""TLS clients for the l4d TLS tests (Python's ssl, tools/tlsio.py).

    python3 tlsclient.py COMMAND --connect ADDR:PORT [options]

TLS options: --name NAME (SNI and the name the certificate must have;
without it no SNI is sent), --ca FILE (verify the server's certificate
against FILE; without it nothing is verified), --cert FILE --key FILE
(a client certificate; FILE may hold a chain after it), --tls 1.2|1.3
(only that version).  Every wait is bounded (--timeout, default 30 s).
Every command exits 0 when what it checked held, 1 otherwise, and says
why on stderr.

Commands:
  line        handshake; print "version V", "cipher C", "reused 0|1",
              "cert SHA256-FINGERPRINT" (the server's); then for each
              line of --data ("\\n" escapes understood) send it and
              expect it back (an echo server); print "reply LINE".
              --expect STR: the first line the server sends (a banner
              or an id) must be STR, before --data is sent.  Then send
              close_notify and wait until the server ends; print
              "end close_notify|eof|reset|error: ...".
  bulk        send --bytes of deterministic data (--seed) while reading,
              then close_notify (with --shut also a TCP FIN); read until
              the server ends; what came must be --peer-bytes of
              deterministic data (--peer-seed).  Prints "sent N SHA256",
              "received N SHA256", "end HOW".
  concurrent  open --sessions TLS sessions (handshakes done), and only
              then send distinct random data (--size bytes each) on all
              of them at once to an echo server, and check every echo
              byte for byte.  Prints "ok N sessions S bytes each".
  keep        open --count TLS sessions to an echo server, each sends
              "hello K" and gets it back; write a JSON list of
              {"k", "port" (local), "version", "cert"} to --report,
              create --ready, wait (bounded by --timeout) for the --go
              file, then on each send "again K" and expect the echo
              within --max seconds.  Prints "session K ok" or
              "session K ended HOW" and "alive A ended E".  --after echo
              (default): every session must echo; --after observe: any
              outcome, only printed.
  stall       send a real ClientHello, read what the server answers but
              never go on (no Finished); wait until the server closes.
              Prints "end eof|reset", "elapsed S"; --min S / --max S.
  garbage     send a real ClientHello, read the server's answer, then
              send --bytes random bytes (--seed); wait until the server
              closes.  Prints "end eof|reset|alert ...", "elapsed S".
  short       --sessions sessions one after the other to an echo server,
              each sending 1 to --size bytes with its close_notify and
              FIN right behind them; each must get its bytes back and end
              within --timeout.  Prints "ok N sessions".
"""

import argparse
import hashlib
import json
import os
import random
import select
import socket
import ssl
import sys
import threading
import time

from gendata import gen
import tlsio


def fail(msg):
    sys.stderr.write("tlsclient: %s\n" % msg)
    sys.exit(1)


def addr(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def deadline(args):
    return time.monotonic() + args.timeout


def context(args):
    try:
        return tlsio.client_context(ca=args.ca, verify=bool(args.ca),
                                    cert=args.cert, key=args.key,
                                    version=args.tls)
    except (OSError, ssl.SSLError) as e:
        fail("context: %s" % e)


def connect(args):
    return socket.create_connection(addr(args.connect), timeout=args.timeout)


def stream(args, ctx=None, sock=None):
    """A connected TLSStream, its handshake done."""
    sock = sock or connect(args)
    st = tlsio.TLSStream(sock, ctx or context(args),
                         server_hostname=args.name)
    st.handshake(deadline(args))
    return st


def unescape(s):
    return s.encode().decode("unicode_escape").encode("latin-1")


def genhash(seed, nbytes):
    h = hashlib.sha256()
    for c in gen(seed, nbytes):
        h.update(c)
    return h.hexdigest()


def cmd_line(args):
    try:
        st = stream(args)
    except (OSError, ssl.SSLError, tlsio.TLSTimeout) as e:
        fail("handshake: %s" % (e if str(e) else type(e).__name__))
    inf = st.info()
    print("version %s" % inf["version"])
    print("cipher %s" % inf["cipher"])
    print("reused %d" % inf["reused"])
    print("cert %s" % inf["peer_sha256"])
    sys.stdout.flush()
    dl = deadline(args)
    try:
        if args.expect is not None:
            line = st.recv_line(dl)
            if line is None:
                fail("expected %r, the server ended (%s)" %
                     (args.expect, st.ended))
            print("reply %s" % line.decode(errors="replace"))
            if line.decode(errors="replace") != args.expect:
                fail("first line %r, expected %r" % (line, args.expect))
        if args.data:
            data = unescape(args.data)
            st.send(data, dl)
            for want in data.splitlines():
                line = st.recv_line(dl)
                if line is None:
                    fail("the server ended (%s) before echoing %r" %
                         (st.ended, want))
                print("reply %s" % line.decode(errors="replace"))
                if line != want:
                    fail("got %r, expected %r" % (line, want))
        st.close_notify()
        how = st.wait_end(dl)
    except tlsio.TLSTimeout:
        fail("timeout after %.0f s" % args.timeout)
    except OSError as e:
        fail("%s" % e)
    print("end %s" % how)
    st.close(dl)
    if how is not None and how.startswith("error"):
        fail("the session ended with %s" % how)
    return 0


def cmd_bulk(args):
    try:
        st = stream(args)
    except (OSError, ssl.SSLError, tlsio.TLSTimeout) as e:
        fail("handshake: %s" % e)
    h = hashlib.sha256()
    n = [0]

    def got(b):
        n[0] += len(b)
        h.update(b)

    try:
        how = st.pump(deadline(args), gen(args.seed, args.bytes), got,
                      close=True, shut_wr=args.shut)
    except tlsio.TLSTimeout:
        fail("bulk: timeout after %.0f s, received %d bytes" %
             (args.timeout, n[0]))
    except OSError as e:
        fail("bulk: %s (received %d bytes)" % (e, n[0]))
    st.close(deadline(args))
    print("sent %d %s" % (args.bytes, genhash(args.seed, args.bytes)))
    print("received %d %s" % (n[0], h.hexdigest()))
    print("end %s" % how)
    want = genhash(args.peer_seed, args.peer_bytes)
    if n[0] != args.peer_bytes or h.hexdigest() != want:
        fail("bulk: received %d bytes sha256 %s, expected %d bytes %s" %
             (n[0], h.hexdigest(), args.peer_bytes, want))
    if how is not None and how.startswith("error"):
        fail("bulk: the session ended with %s" % how)
    return 0


def cmd_concurrent(args):
    ctx = context(args)
    n = args.sessions
    barrier = threading.Barrier(n + 1, timeout=args.timeout)
    results = [None] * n

    def one(k):
        st = None
        try:
            st = stream(args, ctx)
            barrier.wait()
            data = os.urandom(args.size)
            got = bytearray()
            st.pump(deadline(args), [data], got.extend, close=False,
                    stop=lambda: len(got) >= len(data))
            results[k] = "ok" if bytes(got) == data else \
                "got %d of %d bytes%s" % (len(got), len(data),
                                          " (different)" if
                                          len(got) == len(data) else "")
        except threading.BrokenBarrierError:
            results[k] = "another session failed before the data"
        except (OSError, ssl.SSLError, tlsio.TLSTimeout) as e:
            results[k] = "%s: %s" % (type(e).__name__, e)
            barrier.abort()
        finally:
            if st is not None:
                st.close(deadline(args))

    threads = [threading.Thread(target=one, args=(k,), daemon=True)
               for k in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        pass
    hs = time.monotonic() - t0
    for t in threads:
        t.join(args.timeout)
    bad = [(k, r) for k, r in enumerate(results) if r != "ok"]
    for k, r in bad[:10]:
        sys.stderr.write("tlsclient: session %d: %s\n" % (k, r))
    if bad:
        fail("concurrent: %d of %d sessions failed" % (len(bad), n))
    print("ok %d sessions %d bytes each (handshakes %.1f s)" %
          (n, args.size, hs))
    return 0


def wait_file(path, timeout):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def touch_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


def cmd_keep(args):
    ctx = context(args)
    sts, rows = [], []
    for k in range(args.count):
        try:
            st = stream(args, ctx)
            line = "hello %d" % k
            st.send((line + "\n").encode(), deadline(args))
            got = st.recv_line(deadline(args))
        except (OSError, ssl.SSLError, tlsio.TLSTimeout) as e:
            fail("session %d: %s" % (k, e))
        if got != line.encode():
            fail("session %d: got %r, expected %r" % (k, got, line))
        inf = st.info()
        rows.append({"k": k, "port": st.sock.getsockname()[1],
                     "version": inf["version"], "cert": inf["peer_sha256"]})
        sts.append(st)
    if args.report:
        touch_atomic(args.report, json.dumps(rows) + "\n")
    if args.ready:
        touch_atomic(args.ready, "%d\n" % len(sts))
    if not args.go or not wait_file(args.go, args.timeout):
        fail("no --go file within %.0f s" % args.timeout)
    alive = ended = 0
    for k, st in enumerate(sts):
        dl = time.monotonic() + args.max
        line = "again %d" % k
        try:
            st.send((line + "\n").encode(), dl)
            got = st.recv_line(dl)
        except tlsio.TLSTimeout:
            got, st.ended = None, "timeout"
        except OSError as e:
            got, st.ended = None, "error: %s" % e
        if got == line.encode():
            print("session %d ok" % k)
            alive += 1
        else:
            print("session %d ended %s" % (k, st.ended or "got %r" % got))
            ended += 1
        st.close(time.monotonic() + 5)
    print("alive %d ended %d" % (alive, ended))
    if args.after == "echo" and ended:
        fail("%d of %d sessions did not echo" % (ended, len(sts)))
    return 0


def first_flight(args):
    """Connect and send a real ClientHello; return the socket, the TLS
    object (for nothing more) and the time of the connect."""
    ctx = context(args)
    s = connect(args)
    t0 = time.monotonic()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname=args.name)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s.sendall(out.read())
    return s, obj, t0


def wait_close(s, t0, args, then=None):
    """Read and drop until the peer closes; 'then' runs once the first
    bytes came (the server's answer)."""
    s.settimeout(None)
    end = t0 + args.timeout
    how = None
    first = True
    while how is None:
        left = end - time.monotonic()
        if left <= 0:
            fail("the server did not close within %.0f s" % args.timeout)
        r, _, _ = select.select([s], [], [], left)
        if not r:
            continue
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            how = "reset"
            break
        if not b:
            how = "eof"
            break
        if first and then is not None:
            first = False
            then()
    el = time.monotonic() - t0
    print("end %s" % how)
    print("elapsed %.2f" % el)
    if args.min is not None and el < args.min:
        fail("closed after %.2f s, expected at least %.2f" % (el, args.min))
    if args.max is not None and el > args.max:
        fail("closed after %.2f s, expected at most %.2f" % (el, args.max))
    return 0


def cmd_stall(args):
    s, _, t0 = first_flight(args)
    return wait_close(s, t0, args)


def cmd_garbage(args):
    s, _, t0 = first_flight(args)
    junk = random.Random(args.seed).randbytes(args.bytes)

    def send_junk():
        try:
            s.sendall(junk)
        except OSError:
            pass

    return wait_close(s, t0, args, then=send_junk)


def cmd_short(args):
    """--sessions sessions one after the other, each sending a few
    bytes (1 to --size, by --seed) and at once its close_notify and FIN,
    then reading to the end: an echo server's reply must come back
    whole, and the end, each within --timeout (a FIN read with the
    bytes in front of it and forgotten would hang the session)."""
    ctx = context(args)
    rnd = random.Random(args.seed)
    for k in range(args.sessions):
        data = os.urandom(rnd.randint(1, args.size))
        got = bytearray()
        try:
            st = stream(args, ctx)
            how = st.pump(deadline(args), [data], got.extend, close=True,
                          shut_wr=True)
            st.close(deadline(args))
        except (OSError, ssl.SSLError, tlsio.TLSTimeout) as e:
            fail("session %d (%d bytes): %s: %s, %d bytes back" %
                 (k, len(data), type(e).__name__, e, len(got)))
        if bytes(got) != data:
            fail("session %d: %d bytes back of %d" % (k, len(got),
                                                      len(data)))
        if how is None or how.startswith("error"):
            fail("session %d ended with %s" % (k, how))
    print("ok %d sessions" % args.sessions)
    return 0


COMMANDS = {
    "line": cmd_line,
    "bulk": cmd_bulk,
    "concurrent": cmd_concurrent,
    "keep": cmd_keep,
    "stall": cmd_stall,
    "garbage": cmd_garbage,
    "short": cmd_short,
}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("--connect", required=True)
    p.add_argument("--name")
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--tls", choices=["1.2", "1.3"])
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--data")
    p.add_argument("--expect")
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--peer-bytes", type=int, default=0)
    p.add_argument("--peer-seed", type=int, default=2)
    p.add_argument("--shut", action="store_true")
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--size", type=int, default=65536)
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--report")
    p.add_argument("--ready")
    p.add_argument("--go")
    p.add_argument("--after", choices=["echo", "observe"], default="echo")
    p.add_argument("--min", type=float)
    p.add_argument("--max", type=float, default=None)
    args = p.parse_args()
    if args.command == "keep" and args.max is None:
        args.max = 10.0
    if args.cert and not args.key:
        p.error("--cert needs --key")
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
