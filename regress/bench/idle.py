#!/usr/bin/env python3
"""Idle-session helper for the l4d benchmark.

    idle.py server PORT        accept and hold connections on 127.0.0.1:PORT
    idle.py client PORT COUNT  open COUNT sessions to 127.0.0.1:PORT and hold them

The server greets every new connection with one byte ("+"), echoes what it
receives and closes when the peer does; it runs until SIGTERM. It prints
"ready" once it listens.

The client opens the sessions in batches and waits for the greeting on each,
so a session only counts once it reaches the server through the proxy. It
then prints "open N" (N < COUNT when it failed, with the reason on stderr),
holds every session until its standard input closes, and resets them all.
"""

import resource
import select
import signal
import socket
import struct
import sys
import time

HOST = "127.0.0.1"
GREETING = b"+"
BATCH = 200             # connects in flight before reading their greetings
IO_TIMEOUT = 10.0       # seconds for one connect or one greeting
DEADLINE = 120.0        # seconds for the whole opening phase


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def serve(port):
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind((HOST, port))
    lsock.listen(4096)
    lsock.setblocking(False)
    ep = select.epoll()
    ep.register(lsock.fileno(), select.EPOLLIN)
    conns = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("ready", flush=True)
    while True:
        for fd, _ in ep.poll():
            if fd == lsock.fileno():
                accept_all(lsock, ep, conns)
                continue
            conn = conns[fd]
            try:
                data = conn.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                data = b""
            if data:
                try:
                    conn.send(data)
                except OSError:
                    pass
            else:
                ep.unregister(fd)
                del conns[fd]
                conn.close()


def accept_all(lsock, ep, conns):
    while True:
        try:
            conn, _ = lsock.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:         # e.g. EMFILE: leave it in the backlog
            return
        conn.setblocking(False)
        try:
            conn.send(GREETING)
        except OSError:
            conn.close()
            continue
        conns[conn.fileno()] = conn
        ep.register(conn.fileno(), select.EPOLLIN)


def open_sessions(port, count):
    """Open up to count greeted sessions; return (sockets, error or None)."""
    socks = []
    deadline = time.monotonic() + DEADLINE
    while len(socks) < count:
        if time.monotonic() > deadline:
            return socks, "deadline of %.0fs passed" % DEADLINE
        batch = []
        try:
            for _ in range(min(BATCH, count - len(socks))):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                batch.append(s)
                s.settimeout(IO_TIMEOUT)
                s.connect((HOST, port))
            for s in batch:
                if s.recv(1) != GREETING:
                    raise OSError("closed before the greeting")
        except OSError as e:
            for s in batch:
                s.close()
            return socks, "session %d: %s" % (len(socks) + len(batch), e)
        socks.extend(batch)
    return socks, None


def client(port, count):
    socks, err = open_sessions(port, count)
    print("open %d" % len(socks), flush=True)
    if err:
        print("idle.py: %s" % err, file=sys.stderr)
    sys.stdin.read()            # hold until the driver closes our stdin
    linger = struct.pack("ii", 1, 0)    # reset: leave no TIME_WAIT behind
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.close()
    return 1 if err else 0


def main(argv):
    raise_fd_limit()
    if len(argv) == 3 and argv[1] == "server":
        serve(int(argv[2]))
        return 0
    if len(argv) == 4 and argv[1] == "client":
        return client(int(argv[2]), int(argv[3]))
    print("\n".join(__doc__.strip().splitlines()[2:4]), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
