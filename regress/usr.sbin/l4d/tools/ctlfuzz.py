"""Garbage for the l4d control socket.

    python3 ctlfuzz.py --socket PATH --type-request T [--count N]
        [--parallel P] [--seed S] [--timeout SEC]

Sends --count malformed or truncated requests, spread over --parallel
threads, each on its own connection: random bytes, truncated headers and
payloads, length fields that are too small or far too large, a valid
header with the wrong payload size, unknown frame types and unknown
command numbers, connections closed without sending anything.  Whatever
the daemon answers is read (bounded by --timeout per connection) and
thrown away; a closed connection or a reset is fine.  Every case ends by
closing its connection.

The frame header is 20 bytes, little-endian: uint32 type, uint32 len
(header + payload), uint16 flags, uint16 reserved, uint32 peerid,
uint32 pid.  The request payload (--type-request) is struct ctl_request:
uint32 cmd, uint32 flags, char arg[--arg-size].

Prints "sent N cases" and a count per case kind; exits 1 only if the
socket could not be reached at all (connect refused or missing), which
would mean the daemon is gone.

With --probe CMD it sends instead one well-formed request for command
number CMD and prints the text of the reply (the IMSG_CTL_DATA frames,
type --type-request + 1), then "status N" from the last frame: a check
that the frame layout used for the garbage is the daemon's.
"""

import argparse
import os
import random
import socket
import struct
import sys
import threading

HDR = struct.Struct("<IIHHII")


def frame(ftype, payload, length=None, flags=0, reserved=0, peerid=0,
          pid=0):
    if length is None:
        length = HDR.size + len(payload)
    return HDR.pack(ftype, length & 0xffffffff, flags, reserved, peerid,
                    pid) + payload


def request(args, cmd, flags=0, arg=b""):
    return struct.pack("<II", cmd, flags) + arg.ljust(args.arg_size, b"\0")


def make_case(args, rng, i):
    """(kind, bytes to send, close early) for case i."""
    t = args.type_request
    kinds = ["random", "trunc-header", "trunc-payload", "len-huge",
             "len-small", "len-zero", "wrong-size", "unknown-cmd",
             "unknown-type", "silent", "fd-flag", "arg-noterm",
             "many-frames", "reserved"]
    kind = kinds[i % len(kinds)]
    good = frame(t, request(args, 1))
    if kind == "random":
        data = os.urandom(rng.randrange(1, 200000))
    elif kind == "trunc-header":
        data = good[:rng.randrange(1, HDR.size)]
    elif kind == "trunc-payload":
        data = good[:rng.randrange(HDR.size, len(good))]
    elif kind == "len-huge":
        data = frame(t, request(args, 1),
                     length=rng.choice([0xffffffff, 0x7fffffff, 65537,
                                        1 << 20, rng.randrange(65537,
                                                               1 << 32)]))
    elif kind == "len-small":
        data = frame(t, request(args, 1), length=rng.randrange(1, HDR.size))
    elif kind == "len-zero":
        data = frame(t, b"", length=0)
    elif kind == "wrong-size":
        payload = request(args, 1)
        cut = rng.choice([0, 1, 4, 8, len(payload) - 1, len(payload) + 1,
                          len(payload) + 100])
        payload = (payload + os.urandom(200))[:cut]
        data = frame(t, payload)
    elif kind == "unknown-cmd":
        data = frame(t, request(args, rng.choice([0, 10, 11, 255, 1 << 31,
                                                  0xffffffff])))
    elif kind == "unknown-type":
        data = frame(rng.choice([0, 1, 4, 6, 10, t + 1, t + 2, 999,
                                 0xffffffff]), request(args, 1))
    elif kind == "silent":
        data = b""
    elif kind == "fd-flag":
        data = frame(t, request(args, 1), flags=1)
    elif kind == "arg-noterm":
        data = frame(t, struct.pack("<II", rng.choice([4, 5, 6]), 0) +
                     b"A" * args.arg_size)
    elif kind == "many-frames":
        data = b"".join(frame(t, request(args, rng.choice([0, 99, 1, 5])))
                        for _ in range(rng.randrange(2, 6)))
        data += os.urandom(rng.randrange(1, 64))
    else:  # reserved field set, random peerid/pid
        data = frame(t, request(args, 1), reserved=0xffff,
                     peerid=rng.randrange(1 << 32), pid=rng.randrange(1 << 32))
    return kind, data


def run_case(args, kind, data, stats, lock):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    try:
        s.connect(args.socket)
    except (FileNotFoundError, ConnectionRefusedError) as e:
        with lock:
            stats["unreachable"] = stats.get("unreachable", 0) + 1
            stats["last_error"] = str(e)
        s.close()
        return
    except OSError:
        # EAGAIN: the listen queue is full for a moment; not a failure.
        s.close()
        with lock:
            stats["busy"] = stats.get("busy", 0) + 1
        return
    try:
        if data:
            s.sendall(data)
        # Half of the cases wait a little for an answer; the others
        # hang up at once.
        if kind not in ("silent",) and random.random() < 0.5:
            s.settimeout(0.2)
            while s.recv(65536):
                pass
    except OSError:
        pass
    finally:
        s.close()
    with lock:
        stats[kind] = stats.get(kind, 0) + 1


def probe(args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(args.timeout)
    s.connect(args.socket)
    s.sendall(frame(args.type_request, request(args, args.probe),
                    pid=os.getpid()))
    buf = b""
    out = []
    while True:
        while len(buf) >= HDR.size:
            ftype, flen = HDR.unpack_from(buf)[:2]
            if flen < HDR.size or len(buf) < flen:
                break
            payload = buf[HDR.size:flen]
            buf = buf[flen:]
            if ftype == args.type_request + 1:
                out.append(payload)
            elif ftype == args.type_request + 2 and len(payload) == 4:
                sys.stdout.write(b"".join(out).decode(errors="replace"))
                print("status %d" % struct.unpack("<i", payload)[0])
                return 0
            else:
                sys.stderr.write("ctlfuzz: unexpected frame %d\n" % ftype)
                return 1
        b = s.recv(65536)
        if not b:
            sys.stderr.write("ctlfuzz: closed before the last frame\n")
            return 1
        buf += b


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--type-request", type=int, required=True)
    p.add_argument("--arg-size", type=int, default=4096)
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--timeout", type=float, default=5.0)
    p.add_argument("--probe", type=int)
    args = p.parse_args()

    if args.probe is not None:
        return probe(args)
    stats = {}
    lock = threading.Lock()
    cases = [make_case(args, random.Random(args.seed * 100003 + i), i)
             for i in range(args.count)]

    def worker(k):
        for i in range(k, len(cases), args.parallel):
            run_case(args, cases[i][0], cases[i][1], stats, lock)

    ts = [threading.Thread(target=worker, args=(k,), daemon=True)
          for k in range(args.parallel)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    n = sum(v for k, v in stats.items()
            if k not in ("unreachable", "busy", "last_error"))
    print("sent %d cases" % n)
    for k in sorted(stats):
        if k != "last_error":
            print("%s %d" % (k, stats[k]))
    if stats.get("unreachable"):
        sys.stderr.write("ctlfuzz: socket unreachable %d times: %s\n" %
                         (stats["unreachable"], stats["last_error"]))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
