"""A small TLS server for the l4d routing tests (Python's ssl module).

    python3 tlsserver.py --listen ADDR:PORT --cert F --key F --id NAME
        [--ready F] [--pidfile F] [--report F] [--lifetime SEC]

For every connection it completes the TLS handshake, sends one line,
"hello from NAME sni=SNI alpn=PROTO\\n" (what the client asked for, "-"
when absent), then closes the TLS session (close_notify) and the
connection.  With --report it appends "NAME SNI" to that file for every
session whose handshake completed, so a test can tell which backend a
client reached.  It offers the ALPN protocols h2 and http/1.1.

The pid is written to --pidfile before listen(); --ready is created
after listen().  It exits on SIGTERM or after --lifetime seconds
(default 300), so nothing outlives a broken test for long.
"""

import argparse
import os
import signal
import socket
import ssl
import sys
import threading


def write_atomic(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)


report_lock = threading.Lock()


def handle(conn, ctx, args):
    try:
        conn.settimeout(30)
        tls = ctx.wrap_socket(conn, server_side=True)
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("tlsserver %s: handshake: %s\n" % (args.id, e))
        conn.close()
        return
    try:
        sni = getattr(tls, "l4d_sni", None) or "-"
        alpn = tls.selected_alpn_protocol() or "-"
        if args.report:
            with report_lock:
                with open(args.report, "a") as f:
                    f.write("%s %s\n" % (args.id, sni))
        tls.sendall(("hello from %s sni=%s alpn=%s\n" %
                     (args.id, sni, alpn)).encode())
        try:
            tls = tls.unwrap()
        except (OSError, ssl.SSLError):
            pass
    except (OSError, ssl.SSLError) as e:
        sys.stderr.write("tlsserver %s: %s\n" % (args.id, e))
    finally:
        tls.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--listen", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--id", required=True)
    p.add_argument("--ready")
    p.add_argument("--pidfile")
    p.add_argument("--report")
    p.add_argument("--lifetime", type=float, default=300.0)
    args = p.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["h2", "http/1.1"])

    def on_sni(sock, name, context):
        sock.l4d_sni = name

    ctx.sni_callback = on_sni

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
    ls.listen(128)
    if args.ready:
        write_atomic(args.ready, "%s\n" % args.listen)
    while True:
        try:
            conn, _ = ls.accept()
        except InterruptedError:
            continue
        threading.Thread(target=handle, args=(conn, ctx, args),
                         daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
