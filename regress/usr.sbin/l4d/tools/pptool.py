"""Clients and a server for the access-control and PROXY protocol tests.

    python3 pptool.py COMMAND [options]

Every wait is bounded (--timeout).  Exit status 0 when what was checked
held, 1 otherwise, with the reason on stderr.

Commands:
  server    accept connections on --listen; on each, read an optional
            PROXY header (v1 or v2, TLVs decoded), then a line, and
            answer one line:
              "src=IP:PORT via=v1|v2|local|none [authority=NAME]
               [alpn=P] [ssl=VERSION] [cn=CN] [verified=0|1]"
            where src is the header's source address (or the peer's).
            Each answer is also appended to --log.  --ready is created
            once it listens.  --header-only: answer once the header
            came, without waiting for a line.
  connect   connect to --connect from --bind, optionally send a PROXY
            header (--send-proxy v1|v2 with --proxy-src IP:PORT and
            --proxy-dst IP:PORT, or --send-proxy local), send "hello",
            print the line answered; exit 1 if the connection closed
            without one.
  flood     --count connects one after another from --bind, each sends a
            line and reads the answer or EOF; prints
            "admitted A refused R".  With --stop FILE: until FILE
            exists (bounded by --timeout), --ready created after the
            first.
  burst     --count connects from --bind opened back to back, then a
            line sent on each and the answers read; prints
            "admitted A refused R".
  tlshello  a TLS handshake with --sni and --alpn (it fails: the
            server is no TLS server); for the server's log.
  latency   --count connects one after another from --bind; prints
            "median_ms M p90_ms P max_ms X failures F" of the time from
            connect to answer.
  spray     --count connections, each from its own address of
            127.0.0.0/8 (from --base, 127.1.0.0 by default), opened and
            closed one after another (each read until the server closes
            it, so that one session at a time is alive); prints
            "done N".
  garbage   --count connections, each sending one bad PROXY header
            (garbage, truncated, oversized in turn) then waiting for the
            close; prints "closed N"; fails if l4d answered anything.
"""

import argparse
import ipaddress
import os
import random
import socket
import statistics
import struct
import sys
import threading
import time

V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def fail(msg):
    print(msg, file=sys.stderr)
    sys.exit(1)


def split_addr(s):
    host, _, port = s.rpartition(":")
    host = host.strip("[]")
    return host, int(port)


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def recv_until(conn, pred, limit, deadline):
    buf = b""
    while not pred(buf):
        if len(buf) > limit or time.monotonic() > deadline:
            return None
        conn.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            b = conn.recv(65536)
        except (socket.timeout, OSError):
            return None
        if not b:
            return buf if buf else None
        buf += b
    return buf


def parse_tlvs(data, out):
    off = 0
    while off + 3 <= len(data):
        t = data[off]
        n = struct.unpack("!H", data[off + 1:off + 3])[0]
        v = data[off + 3:off + 3 + n]
        off += 3 + n
        if t == 0x01:
            out["alpn"] = v.decode(errors="replace")
        elif t == 0x02:
            out["authority"] = v.decode(errors="replace")
        elif t == 0x20 and len(v) >= 5:
            out["verified"] = "1" if struct.unpack("!I", v[1:5])[0] == 0 \
                else "0"
            sub = {}
            parse_ssl_sub(v[5:], sub)
            out.update(sub)


def parse_ssl_sub(data, out):
    off = 0
    while off + 3 <= len(data):
        t = data[off]
        n = struct.unpack("!H", data[off + 1:off + 3])[0]
        v = data[off + 3:off + 3 + n]
        off += 3 + n
        if t == 0x21:
            out["ssl"] = v.decode(errors="replace")
        elif t == 0x22:
            out["cn"] = v.decode(errors="replace")


def header_complete(buf):
    """Length of a complete PROXY header at the start of buf, 0 if none
    is there, -1 if one is still incomplete."""
    if buf.startswith(V2SIG):
        if len(buf) < 16:
            return -1
        n = struct.unpack("!H", buf[14:16])[0]
        return 16 + n if len(buf) >= 16 + n else -1
    if V2SIG.startswith(buf[:12]) and len(buf) < 12:
        return -1
    if buf.startswith(b"PROXY "):
        i = buf.find(b"\r\n")
        return i + 2 if i >= 0 else -1
    if b"PROXY ".startswith(buf[:6]) and len(buf) < 6:
        return -1
    return 0


def read_header(buf, peer):
    info = {"src": "%s:%d" % (peer[0], peer[1]), "via": "none"}
    n = header_complete(buf)
    if n <= 0:
        return info, buf
    hdr, rest = buf[:n], buf[n:]
    if hdr.startswith(b"PROXY "):
        f = hdr[:-2].decode().split(" ")
        if f[1] == "UNKNOWN":
            info["via"] = "local"
        else:
            info["via"] = "v1"
            ip = f[2]
            info["src"] = ("[%s]:%s" if ":" in ip else "%s:%s") % (ip, f[4])
        return info, rest
    cmd = hdr[12] & 0x0f
    fam = hdr[13]
    body = hdr[16:]
    if cmd == 0:
        info["via"] = "local"
        return info, rest
    info["via"] = "v2"
    if fam == 0x11:
        ip = socket.inet_ntop(socket.AF_INET, body[0:4])
        port = struct.unpack("!H", body[8:10])[0]
        info["src"] = "%s:%d" % (ip, port)
        parse_tlvs(body[12:], info)
    elif fam == 0x21:
        ip = socket.inet_ntop(socket.AF_INET6, body[0:16])
        port = struct.unpack("!H", body[32:34])[0]
        info["src"] = "[%s]:%d" % (ip, port)
        parse_tlvs(body[36:], info)
    return info, rest


def serve_one(conn, peer, args, lock):
    deadline = time.monotonic() + args.timeout
    try:
        def done(b):
            n = header_complete(b)
            if n < 0:
                return False
            if args.header_only:
                return n > 0
            return b"\n" in b[n:]
        buf = recv_until(conn, done, 70000, deadline)
        if buf is None:
            return
        info, _ = read_header(buf, peer)
        words = ["src=" + info["src"], "via=" + info["via"]]
        for k in ("authority", "alpn", "ssl", "cn", "verified"):
            if k in info:
                words.append("%s=%s" % (k, info[k]))
        line = " ".join(words)
        if args.id:
            line = "id=%s %s" % (args.id, line)
        conn.sendall((line + "\n").encode())
        if args.log:
            with lock:
                with open(args.log, "a") as f:
                    f.write(line + "\n")
    except OSError:
        pass
    finally:
        conn.close()


def cmd_server(args):
    host, port = split_addr(args.listen)
    s = socket.socket(family_of(host), socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1024)
    if args.ready:
        open(args.ready, "w").close()
    lock = threading.Lock()
    end = time.monotonic() + args.lifetime
    s.settimeout(1.0)
    while time.monotonic() < end:
        try:
            conn, peer = s.accept()
        except socket.timeout:
            continue
        threading.Thread(target=serve_one, args=(conn, peer, args, lock),
                         daemon=True).start()


def proxy_header(kind, src, dst):
    if kind == "local":
        return V2SIG + bytes([0x20, 0x00]) + struct.pack("!H", 0)
    sh, sp = split_addr(src)
    dh, dp = split_addr(dst)
    v6 = ":" in sh
    if kind == "v1":
        return ("PROXY %s %s %s %d %d\r\n" % ("TCP6" if v6 else "TCP4",
                sh, dh, sp, dp)).encode()
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    body = socket.inet_pton(fam, sh) + socket.inet_pton(fam, dh) + \
        struct.pack("!HH", sp, dp)
    return V2SIG + bytes([0x21, 0x21 if v6 else 0x11]) + \
        struct.pack("!H", len(body)) + body


def open_conn(args, bind=None):
    host, port = split_addr(args.connect)
    c = socket.socket(family_of(host), socket.SOCK_STREAM)
    if args.rst:
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
    b = bind if bind is not None else args.bind
    if b:
        c.bind((b, 0))
    c.settimeout(args.timeout)
    c.connect((host, port))
    return c


def exchange(args, bind=None):
    """The answer line, or None when the connection closed without one."""
    c = open_conn(args, bind)
    try:
        if args.send_proxy:
            c.sendall(proxy_header(args.send_proxy, args.proxy_src,
                                   args.proxy_dst))
        c.sendall(b"hello\n")
        deadline = time.monotonic() + args.timeout
        buf = recv_until(c, lambda b: b"\n" in b, 4096, deadline)
    except OSError:
        buf = None
    finally:
        c.close()
    if not buf or b"\n" not in buf:
        return None
    return buf.split(b"\n")[0].decode()


def cmd_connect(args):
    line = exchange(args)
    if line is None:
        print("closed")
        sys.exit(1)
    print(line)


def cmd_flood(args):
    admitted = refused = 0
    end = time.monotonic() + args.timeout
    i = 0
    while True:
        if args.stop:
            if os.path.exists(args.stop) or time.monotonic() > end:
                break
        elif i >= args.count:
            break
        i += 1
        try:
            ok = exchange(args) is not None
        except OSError:
            ok = False
        if ok:
            admitted += 1
        else:
            refused += 1
        if args.ready and i == 1:
            open(args.ready, "w").close()
    print("admitted %d refused %d" % (admitted, refused))


def cmd_burst(args):
    conns = []
    for _ in range(args.count):
        conns.append(open_conn(args))
    admitted = refused = 0
    for c in conns:
        try:
            c.sendall(b"hello\n")
        except OSError:
            pass
    deadline = time.monotonic() + args.timeout
    for c in conns:
        buf = recv_until(c, lambda b: b"\n" in b, 4096, deadline)
        c.close()
        if buf and b"\n" in buf:
            admitted += 1
        else:
            refused += 1
    print("admitted %d refused %d" % (admitted, refused))


def cmd_tlshello(args):
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if args.alpn:
        ctx.set_alpn_protocols(args.alpn.split(","))
    c = open_conn(args)
    try:
        s = ctx.wrap_socket(c, server_hostname=args.sni)
        s.close()
    except (OSError, ssl.SSLError) as e:
        print("handshake: %s" % e)


def cmd_latency(args):
    times = []
    failures = 0
    for _ in range(args.count):
        t0 = time.monotonic()
        if exchange(args) is None:
            failures += 1
            continue
        times.append((time.monotonic() - t0) * 1000)
    if not times:
        fail("no session answered")
    times.sort()
    print("median_ms %.3f p90_ms %.3f max_ms %.3f failures %d" % (
        statistics.median(times), times[int(len(times) * 0.9)],
        times[-1], failures))
    if failures:
        sys.exit(1)


def cmd_spray(args):
    host, port = split_addr(args.connect)
    base = int(ipaddress.IPv4Address(args.base))
    n = 0
    for i in range(args.count):
        src = str(ipaddress.IPv4Address(base + i))
        c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        try:
            c.bind((src, 0))
            c.settimeout(args.timeout)
            c.connect((host, port))
            while c.recv(4096):
                pass
            n += 1
        except OSError as e:
            print("connect from %s: %s" % (src, e), file=sys.stderr)
        finally:
            c.close()
    print("done %d" % n)
    if n != args.count:
        sys.exit(1)


def bad_headers(i):
    kinds = [
        lambda: bytes(random.randrange(256) for _ in range(64)).replace(
            b"P", b"Q").replace(b"\r", b"R") or b"x",
        lambda: b"PROXY TCP4 127.0.0.2 127.0.0.1 1234",       # truncated
        lambda: b"PROXY TCP4 " + b"9" * 200 + b"\r\n",        # oversized v1
        lambda: V2SIG + b"\x21\x11\xff\xff" + b"\x00" * 100,  # truncated v2
        lambda: V2SIG + b"\x21\x11\x00\x04" + b"\x00" * 4,    # short block
        lambda: V2SIG + b"\x21\x11\x00\x10" + b"\x7f\x00\x00\x02" * 3 +
        b"\x01\xff\xff\x00",                                  # bad TLV
        lambda: b"PROXY TCP4 300.0.0.1 127.0.0.1 1 2\r\n",    # bad address
        lambda: b"PROXY FOO\r\n",
        lambda: V2SIG[:7] + b"X",                             # bad signature
    ]
    return kinds[i % len(kinds)]()


def cmd_garbage(args):
    closed = 0
    for i in range(args.count):
        c = open_conn(args)
        try:
            c.sendall(bad_headers(i))
            c.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + args.timeout
            buf = recv_until(c, lambda b: False, 4096, deadline)
        except OSError:
            buf = b""
        finally:
            c.close()
        if buf:
            fail("header %d: l4d answered %r" % (i, buf[:80]))
        closed += 1
    print("closed %d" % closed)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["server", "connect", "flood",
                                       "burst", "latency", "spray",
                                       "garbage", "tlshello"])
    p.add_argument("--header-only", action="store_true")
    p.add_argument("--stop")
    p.add_argument("--sni")
    p.add_argument("--alpn")
    p.add_argument("--listen")
    p.add_argument("--ready")
    p.add_argument("--log")
    p.add_argument("--id")
    p.add_argument("--lifetime", type=float, default=600.0)
    p.add_argument("--connect")
    p.add_argument("--bind")
    p.add_argument("--base", default="127.1.0.0")
    p.add_argument("--send-proxy", choices=["v1", "v2", "local"])
    p.add_argument("--proxy-src", default="127.0.0.2:40000")
    p.add_argument("--proxy-dst", default="127.0.0.1:5432")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--rst", action="store_true")
    p.add_argument("--timeout", type=float, default=10.0)
    args = p.parse_args()
    random.seed(1)
    globals()["cmd_" + args.command](args)


if __name__ == "__main__":
    main()
