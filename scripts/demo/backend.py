#!/usr/bin/env python3
"""Demo backend for `make run`.

Listens on 127.0.0.1:9001 and 127.0.0.1:9002 (or the ports given as
arguments).  For every connection it first sends a one-line banner,
"hello from demo backend PORT", without waiting for the client (a
server-speaks-first protocol), then echoes every line it receives in
upper case.  It stops on SIGTERM or SIGINT.
"""

import signal
import socket
import sys
import threading

HOST = "127.0.0.1"
DEFAULT_PORTS = (9001, 9002)


def serve_client(conn, port):
    with conn:
        try:
            conn.sendall(b"hello from demo backend %d\n" % port)
            pending = b""
            while True:
                data = conn.recv(65536)
                if not data:
                    break
                pending += data
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    conn.sendall(line.upper() + b"\n")
            if pending:
                conn.sendall(pending.upper())
            # The client closed its half: close ours too.
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass


def listen(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind((HOST, port))
    except OSError as e:
        sys.exit("backend.py: %s:%d: %s" % (HOST, port, e.strerror))
    s.listen(128)
    return s


def accept_loop(s, port):
    while True:
        try:
            conn, _ = s.accept()
        except OSError:
            return
        threading.Thread(target=serve_client, args=(conn, port),
                         daemon=True).start()


def main():
    ports = [int(p) for p in sys.argv[1:]] or list(DEFAULT_PORTS)
    socks = [(listen(p), p) for p in ports]

    def stop(signum, frame):
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    # Keep SIGINT ignored if the shell started us with it ignored
    # (background job): run-demo.sh stops us with SIGTERM.
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, stop)

    for s, p in socks:
        threading.Thread(target=accept_loop, args=(s, p),
                         daemon=True).start()
    print("demo backend: listening on %s" %
          ", ".join("%s:%d" % (HOST, p) for _, p in socks),
          file=sys.stderr, flush=True)
    while True:
        signal.pause()


if __name__ == "__main__":
    main()
