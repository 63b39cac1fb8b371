#!/usr/bin/env python3
"""HTTP clients, polite and not, for the metrics endpoint's tests.

    httpprobe.py get ADDR:PORT [--path P] [--out FILE] [--timeout S]
        GET P (default /metrics) with Connection: close; write the whole
        answer (head and body) to --out (default stdout).
    httpprobe.py send ADDR:PORT [--data STR] [--repeat N] [--timeout S]
        send STR (Python escapes: "\\r\\n"), N times (default 1; none
        when STR is empty), then read until EOF; print the status line
        ("HTTP/1.1 400 Bad Request"), or "closed" when the server closed
        with no answer, "reset" when it reset, "timeout".
    httpprobe.py slow ADDR:PORT --count N [--ready FILE] [--timeout S]
        slowloris: open N connections, send each the first line of a
        request and then one header byte a second, never the end of the
        head; create --ready once all are connected; print one line per
        connection, as send does, and "max SECONDS" of the longest one.

Exit status 0 once the exchange is over (whatever the answer), 1 if the
connection could not be made.
"""

import argparse
import selectors
import socket
import sys
import time


def connect(addr, timeout):
    host, port = addr.rsplit(':', 1)
    s = socket.create_connection((host.strip('[]'), int(port)), timeout)
    s.settimeout(timeout)
    return s


def read_answer(s):
    data = b''
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            data += b
    except ConnectionResetError:
        if not data:
            return 'reset', data
    except socket.timeout:
        return 'timeout', data
    if not data:
        return 'closed', data
    return data.split(b'\r\n', 1)[0].decode('latin-1'), data


def cmd_get(args):
    s = connect(args.connect, args.timeout)
    s.sendall(('GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' %
               (args.path, args.connect)).encode())
    status, data = read_answer(s)
    s.close()
    out = open(args.out, 'wb') if args.out else sys.stdout.buffer
    out.write(data)
    out.flush()
    return 0


def cmd_send(args):
    s = connect(args.connect, args.timeout)
    data = args.data.encode('latin-1').decode('unicode_escape').encode(
        'latin-1')
    try:
        if data:
            s.sendall(data * args.repeat)
    except (BrokenPipeError, ConnectionResetError):
        pass
    status, _ = read_answer(s)
    s.close()
    print(status)
    return 0


def cmd_slow(args):
    conns = []
    for _ in range(args.count):
        s = connect(args.connect, args.timeout)
        s.setblocking(False)
        s.send(b'GET /metrics HTTP/1.1\r\n')
        conns.append([s, time.monotonic(), b'', None])
    if args.ready:
        open(args.ready, 'w').close()
    sel = selectors.DefaultSelector()
    for i, c in enumerate(conns):
        sel.register(c[0], selectors.EVENT_READ, i)
    deadline = time.monotonic() + args.timeout
    next_drip = time.monotonic() + 1
    left = len(conns)
    while left > 0 and time.monotonic() < deadline:
        for key, _ in sel.select(0.2):
            c = conns[key.data]
            try:
                b = c[0].recv(65536)
            except ConnectionResetError:
                b = None
            if b:
                c[2] += b
                continue
            c[3] = time.monotonic() - c[1]
            sel.unregister(c[0])
            left -= 1
        if time.monotonic() >= next_drip:
            next_drip += 1
            for c in conns:
                if c[3] is None:
                    try:
                        c[0].send(b'X')
                    except OSError:
                        pass
    longest = 0.0
    for c in conns:
        if c[3] is None:
            print('timeout')
            longest = args.timeout
        else:
            print(c[2].split(b'\r\n', 1)[0].decode('latin-1') if c[2]
                  else 'closed')
            longest = max(longest, c[3])
        c[0].close()
    print('max %.1f' % longest)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument('command', choices=['get', 'send', 'slow'])
    p.add_argument('connect')
    p.add_argument('--path', default='/metrics')
    p.add_argument('--out')
    p.add_argument('--data', default='')
    p.add_argument('--repeat', type=int, default=1)
    p.add_argument('--count', type=int, default=1)
    p.add_argument('--ready')
    p.add_argument('--timeout', type=float, default=20.0)
    args = p.parse_args()
    try:
        return {'get': cmd_get, 'send': cmd_send, 'slow': cmd_slow}[
            args.command](args)
    except OSError as e:
        sys.exit('httpprobe: %s: %s' % (args.connect, e))


if __name__ == '__main__':
    sys.exit(main())
