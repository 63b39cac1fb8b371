"""Backend servers for the l4d black-box tests.

    python3 servers.py MODE --listen ADDR:PORT [--pidfile F] [--ready F]
        [--id STR] [--bytes N] [--seed S] [--report F] [--delay SEC]
        [--lifetime SEC] [--tls-cert F --tls-key F [--tls-client-ca F]
        [--tls-report F]]

Mode "blackhole" never accepts: it listens with a backlog of 0 and fills
that queue itself, so that the kernel drops further SYNs and a connect()
to it hangs until the connector's timeout.

SIGUSR1 closes the listening socket: new connects are refused while the
connections already accepted go on (a server that "starts refusing");
those the kernel completed but nobody accepted yet are accepted first,
until none has come for 50 ms, so that the close resets none of them.  A drop-all socket filter goes on
the listener before that: a SYN that comes while the queue is drained is
dropped (and refused when it is sent again, after the close) rather than
completed behind the last accept and then reset by the close.

The pid is written to --pidfile before listen(); the --ready file is
created after listen(), so a test polls for it instead of sleeping.  Every
accepted connection is served by its own thread.  The server exits on
SIGTERM or after --lifetime seconds (default 300), so nothing outlives a
broken test for long.

Modes:
  echo        send back everything received; on EOF shut down the write
              side and close.
  banner      speak first: send "BANNER <id>\\r\\n" on accept, then echo
              until EOF.
  id          send "<id>\\n", shut down the write side, read until EOF,
              close.
  sinksource  read until EOF hashing everything, and at the same time send
              --bytes of deterministic data (--seed), then shut down the
              write side.  Append "<bytes received> <sha256>" to --report.
  rae         reply after EOF: read until EOF, wait --delay seconds, then
              send "<sha256 of what was received>\\n" followed by --bytes of
              deterministic data (--seed), close.
  reset       read until the first bytes arrive, then close with SO_LINGER
              0 (the peer sees a reset).
  hold        read and discard until EOF; never send.
  observe     echo until the peer ends the stream, then append "eof" or
              "reset" (how it ended) to --report.
  stay        read and discard until EOF, then keep the connection open
              (neither send nor close) until the server exits.
  lineecho    for every line received append "<id> <line>" to --report,
              then send the line back; on EOF close.
  deaf        the listener drops every segment that carries bytes (a
              socket filter, which the connections it accepts inherit),
              so that none is ever acknowledged; every accepted
              connection appends "<id> accepted" to --report and is
              closed with SO_LINGER 0: a server that resets the
              connection before it took a byte.
  segments    read until the first bytes arrive, append "<segments>
              <bytes>" to --report (segments: how many TCP segments the
              accepted socket has received, its handshake's included, as
              TCP_INFO counts them), then echo them and what follows
              until EOF.

With --tls-cert and --tls-key the server speaks TLS (tools/tlsio.py) on
every connection, in the modes echo, banner, id, lineecho, sinksource
and hold: the same bytes, inside TLS; "shut down the write side" is a
close_notify, EOF the peer's close_notify or FIN.  --tls-client-ca F
requires a client certificate signed by F.  --tls-report F appends
"<id> sni=<name|-> version=<V> client=<subject CN|->" to F for every
completed handshake; a failed one appends "<id> handshake-failed
<reason>".
"""

import argparse
import ctypes
import hashlib
import os
import select
import signal
import socket
import ssl
import struct
import sys
import threading
import time

from gendata import CHUNK, gen
import tlsio


def write_atomic(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


SO_ATTACH_FILTER = 26


def drop_all(sock):
    """A classic BPF filter of one instruction, "return 0": the socket
    takes no more packets (on a listener: no SYN starts a handshake)."""
    insn = ctypes.create_string_buffer(struct.pack("HBBI", 0x06, 0, 0, 0))
    prog = struct.pack("HL", 1, ctypes.addressof(insn))
    try:
        sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, prog)
    except OSError:
        pass        # elsewhere: the close alone, with its small window


def drop_bytes(sock):
    """Classic BPF on a TCP socket sees the segment from its TCP header:
    A = 4 * (data offset), X = A, A = length; a segment longer than its
    header is dropped, a bare SYN, ACK or FIN passes."""
    prog = [(0x30, 0, 0, 12),          # ldb [12]
            (0x74, 0, 0, 4),           # rsh #4
            (0x64, 0, 0, 2),           # lsh #2
            (0x07, 0, 0, 0),           # tax
            (0x80, 0, 0, 0),           # ld len
            (0x2d, 0, 1, 0),           # jgt x: drop
            (0x06, 0, 0, 0),           # ret #0
            (0x06, 0, 0, 0xffffffff)]  # ret #-1
    insn = ctypes.create_string_buffer(
        b"".join(struct.pack("HBBI", *i) for i in prog))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER,
                    struct.pack("HL", len(prog), ctypes.addressof(insn)))


def read_to_eof(conn, h=None):
    n = 0
    while True:
        b = conn.recv(CHUNK)
        if not b:
            return n
        n += len(b)
        if h is not None:
            h.update(b)


def serve_echo(conn, args):
    while True:
        b = conn.recv(65536)
        if not b:
            break
        conn.sendall(b)
    conn.shutdown(socket.SHUT_WR)


def serve_banner(conn, args):
    conn.sendall(("BANNER %s\r\n" % args.id).encode())
    serve_echo(conn, args)


def serve_id(conn, args):
    conn.sendall(("%s\n" % args.id).encode())
    conn.shutdown(socket.SHUT_WR)
    read_to_eof(conn)


report_lock = threading.Lock()


def serve_sinksource(conn, args):
    err = []

    def sender():
        try:
            for chunk in gen(args.seed, args.bytes):
                conn.sendall(chunk)
            conn.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    h = hashlib.sha256()
    n = read_to_eof(conn, h)
    t.join()
    line = "%d %s%s\n" % (n, h.hexdigest(),
                          (" send-error %s" % err[0]) if err else "")
    if args.report:
        with report_lock:
            with open(args.report, "a") as f:
                f.write(line)


def serve_rae(conn, args):
    h = hashlib.sha256()
    read_to_eof(conn, h)
    if args.delay > 0:
        threading.Event().wait(args.delay)
    conn.sendall((h.hexdigest() + "\n").encode())
    for chunk in gen(args.seed, args.bytes):
        conn.sendall(chunk)


def serve_reset(conn, args):
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))


def serve_replyreset(conn, args):
    """The last reply and the reset leave together, as a PostgreSQL
    server that closes with unread bytes does."""
    conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))
    conn.sendall(b"bye\n")


def serve_deaf(conn, args):
    with report_lock:
        with open(args.report, "a") as f:
            f.write("%s accepted\n" % args.id)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                    struct.pack("ii", 1, 0))


def serve_hold(conn, args):
    read_to_eof(conn)


def serve_observe(conn, args):
    how = "eof"
    try:
        while True:
            b = conn.recv(65536)
            if not b:
                break
            conn.sendall(b)
    except ConnectionResetError:
        how = "reset"
    except OSError as e:
        how = "error %s" % e
    with report_lock:
        with open(args.report, "a") as f:
            f.write(how + "\n")


def serve_lineecho(conn, args):
    buf = b""
    while True:
        b = conn.recv(65536)
        if not b:
            break
        buf += b
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            with report_lock:
                with open(args.report, "a") as f:
                    f.write("%s %s\n" % (args.id,
                                          line.decode(errors="replace")))
            conn.sendall(line + b"\n")


TCPI_SEGS_IN = 140	# offset of tcpi_segs_in in Linux's struct tcp_info


def serve_segments(conn, args):
    b = conn.recv(65536)
    info = conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
    segs = struct.unpack_from("I", info, TCPI_SEGS_IN)[0]
    with report_lock:
        with open(args.report, "a") as f:
            f.write("%d %s\n" % (segs, b.decode(errors="replace").rstrip()))
    if b:
        conn.sendall(b)
        serve_echo(conn, args)


def serve_stay(conn, args):
    read_to_eof(conn)
    threading.Event().wait()


MODES = {
    "echo": serve_echo,
    "banner": serve_banner,
    "id": serve_id,
    "sinksource": serve_sinksource,
    "rae": serve_rae,
    "reset": serve_reset,
    "deaf": serve_deaf,
    "replyreset": serve_replyreset,
    "hold": serve_hold,
    "stay": serve_stay,
    "observe": serve_observe,
    "lineecho": serve_lineecho,
    "segments": serve_segments,
}


# The TLS variants: the same exchanges over a tlsio.TLSStream.

FAR = 3600.0


def far():
    return time.monotonic() + FAR


def tls_echo(st, args):
    while True:
        b = st.recv_some(far())
        if not b:
            break
        st.send(b, far())


def tls_banner(st, args):
    st.send(("BANNER %s\r\n" % args.id).encode(), far())
    tls_echo(st, args)


def tls_id(st, args):
    st.send(("%s\n" % args.id).encode(), far())
    st.close_notify()
    st.flush(far())
    st.wait_end(far())


def tls_lineecho(st, args):
    while True:
        line = st.recv_line(far())
        if line is None:
            break
        with report_lock:
            with open(args.report, "a") as f:
                f.write("%s %s\n" % (args.id, line.decode(errors="replace")))
        st.send(line + b"\n", far())


def tls_sinksource(st, args):
    h = hashlib.sha256()
    n = [0]

    def got(b):
        n[0] += len(b)
        h.update(b)

    err = ""
    try:
        st.pump(far(), gen(args.seed, args.bytes), got, close=True)
    except OSError as e:
        err = " send-error %s" % e
    if args.report:
        with report_lock:
            with open(args.report, "a") as f:
                f.write("%d %s%s\n" % (n[0], h.hexdigest(), err))


def tls_hold(st, args):
    st.wait_end(far())


TLS_MODES = {
    "echo": tls_echo,
    "banner": tls_banner,
    "id": tls_id,
    "lineecho": tls_lineecho,
    "sinksource": tls_sinksource,
    "hold": tls_hold,
}


def subject_cn(cert):
    for rdn in (cert or {}).get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return "-"


def tls_report(args, text):
    if args.tls_report:
        with report_lock:
            with open(args.tls_report, "a") as f:
                f.write("%s %s\n" % (args.id, text))


def handle_tls(conn, args):
    st = tlsio.TLSStream(conn, args.tls_ctx, server_side=True)
    try:
        try:
            st.handshake(time.monotonic() + 30)
        except (OSError, ssl.SSLError, tlsio.TLSTimeout) as e:
            tls_report(args, "handshake-failed %s" %
                       (getattr(e, "reason", None) or e or type(e).__name__))
            return
        tls_report(args, "sni=%s version=%s client=%s" % (
            getattr(st.obj, "l4d_sni", None) or "-", st.obj.version(),
            subject_cn(st.obj.getpeercert())))
        TLS_MODES[args.mode](st, args)
    except (OSError, ssl.SSLError, tlsio.TLSTimeout):
        pass
    finally:
        st.close(time.monotonic() + 5)


def handle(conn, args):
    if args.tls_cert:
        handle_tls(conn, args)
        return
    try:
        MODES[args.mode](conn, args)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=sorted(MODES) + ["blackhole"])
    p.add_argument("--listen", required=True)
    p.add_argument("--pidfile")
    p.add_argument("--ready")
    p.add_argument("--id", default="server")
    p.add_argument("--bytes", type=int, default=0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--report")
    p.add_argument("--delay", type=float, default=0.0)
    p.add_argument("--lifetime", type=float, default=300.0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--tls-client-ca")
    p.add_argument("--tls-report")
    args = p.parse_args()
    if args.tls_cert:
        if not args.tls_key:
            p.error("--tls-cert needs --tls-key")
        if args.mode not in TLS_MODES:
            p.error("mode %s has no TLS variant" % args.mode)
        args.tls_ctx = tlsio.server_context(args.tls_cert, args.tls_key,
                                            args.tls_client_ca,
                                            require=True)

        def on_sni(obj, name, ctx):
            obj.l4d_sni = name

        args.tls_ctx.sni_callback = on_sni

    host, port = args.listen.rsplit(":", 1)
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if args.pidfile:
        write_atomic(args.pidfile, "%d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    signal.signal(signal.SIGALRM, lambda *a: os._exit(2))
    signal.setitimer(signal.ITIMER_REAL, args.lifetime)

    ls = socket.socket(family, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    if args.mode == "blackhole":
        ls.listen(0)
        fillers = []
        for _ in range(3):
            f = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            f.setblocking(False)
            f.connect_ex((host, int(port)))
            fillers.append(f)
        # Bounded wait until the queue is full: a probe connect must hang.
        for _ in range(50):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.settimeout(0.2)
            try:
                probe.connect((host, int(port)))
                fillers.append(probe)
            except socket.timeout:
                probe.close()
                break
        if args.ready:
            write_atomic(args.ready, "%s\n" % args.listen)
        threading.Event().wait()
    if args.mode == "deaf":
        drop_bytes(ls)
    ls.listen(1024)
    def stop_listening(*a):
        # A segment that passed the filter just before it went on may
        # still be on its way into the queue (another CPU's softirq):
        # drain until the queue has been empty for 50 ms.
        drop_all(ls)
        ls.setblocking(False)
        while True:
            try:
                conn, _ = ls.accept()
            except (BlockingIOError, InterruptedError):
                if select.select([ls], [], [], 0.05)[0]:
                    continue
                break
            conn.setblocking(True)
            threading.Thread(target=handle, args=(conn, args),
                             daemon=True).start()
        ls.close()

    signal.signal(signal.SIGUSR1, stop_listening)
    if args.ready:
        write_atomic(args.ready, "%s\n" % args.listen)
    while True:
        try:
            conn, _ = ls.accept()
        except InterruptedError:
            continue
        except OSError:
            if ls.fileno() != -1:
                raise
            threading.Event().wait()
        threading.Thread(target=handle, args=(conn, args),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
