#!/usr/bin/env python3
"""TLS demo backends for `make run`.

    tlsbackend.py CERTDIR [NAME:PORT ...]

Default: a.demo on 127.0.0.1:9443 and b.demo on 127.0.0.1:9444, each
with its own certificate, CERTDIR/NAME.crt and CERTDIR/NAME.key (which
run-demo.sh makes with openssl at the first run).  l4d routes
127.0.0.1:8443 to one or the other by the name the client asks for
(SNI) and passes the TLS session through: the client talks TLS with
the backend itself and sees its certificate.

For every connection a backend completes the handshake, sends one line,
"hello from NAME over TLS (you asked for SNI, ALPN ...)", then echoes
every line it receives in upper case.  It stops on SIGTERM or SIGINT.
"""

import os
import signal
import socket
import ssl
import sys
import threading

HOST = "127.0.0.1"
DEFAULT = ("a.demo:9443", "b.demo:9444")


def serve_client(conn, name, ctx):
    with conn:
        try:
            tls = ctx.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            return
        with tls:
            try:
                sni = getattr(tls, "demo_sni", None) or "no name"
                alpn = tls.selected_alpn_protocol() or "no protocol"
                tls.sendall(("hello from %s over TLS (you asked for %s, "
                             "ALPN %s)\n" % (name, sni, alpn)).encode())
                pending = b""
                while True:
                    data = tls.recv(65536)
                    if not data:
                        break
                    pending += data
                    while b"\n" in pending:
                        line, pending = pending.split(b"\n", 1)
                        tls.sendall(line.upper() + b"\n")
                if pending:
                    tls.sendall(pending.upper())
            except (OSError, ssl.SSLError):
                pass


def context(certdir, name):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(certdir, name + ".crt"),
                        os.path.join(certdir, name + ".key"))
    ctx.set_alpn_protocols(["h2", "http/1.1"])

    def on_sni(sock, server_name, c):
        sock.demo_sni = server_name

    ctx.sni_callback = on_sni
    return ctx


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((HOST, port))
    except OSError as e:
        sys.exit("tlsbackend.py: %s:%d: %s" % (HOST, port, e.strerror))
    s.listen(128)
    return s


def accept_loop(s, name, ctx):
    while True:
        try:
            conn, _ = s.accept()
        except OSError:
            return
        threading.Thread(target=serve_client, args=(conn, name, ctx),
                         daemon=True).start()


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: tlsbackend.py CERTDIR [NAME:PORT ...]")
    certdir = sys.argv[1]
    specs = sys.argv[2:] or list(DEFAULT)
    servers = []
    for spec in specs:
        name, port = spec.rsplit(":", 1)
        try:
            ctx = context(certdir, name)
        except (OSError, ssl.SSLError) as e:
            sys.exit("tlsbackend.py: %s: %s" % (name, e))
        servers.append((listen(int(port)), name, ctx, int(port)))

    def stop(signum, frame):
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    # Keep SIGINT ignored if the shell started us with it ignored
    # (background job): run-demo.sh stops us with SIGTERM.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, stop)

    for s, name, ctx, _ in servers:
        threading.Thread(target=accept_loop, args=(s, name, ctx),
                         daemon=True).start()
    print("demo TLS backends: %s" %
          ", ".join("%s on %s:%d" % (n, HOST, p) for _, n, _, p in servers),
          file=sys.stderr, flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
