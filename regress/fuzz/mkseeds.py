#!/usr/bin/env python3
"""Write the crafted seeds of the fuzz_sni corpus (the real ones come
from capture.py): record splits, GREASE, sizes near the limits, and one
of each malformation hello_parse() must refuse, so that the fuzzer
starts next to every branch.  Usage:

    python3 mkseeds.py [DIR]        (default: corpus/sni)
"""

import os
import struct
import sys

RECORD_MAX = 16384
HELLO_MAX = 16 * 1024


def u8(n):
    return struct.pack("!B", n)


def u16(n):
    return struct.pack("!H", n)


def u24(n):
    return struct.pack("!I", n)[1:]


def vec8(b):
    return u8(len(b)) + b


def vec16(b):
    return u16(len(b)) + b


def ext(t, body):
    return u16(t) + vec16(body)


def sni(*names, kind=0):
    return ext(0, vec16(b"".join(u8(kind) + vec16(n) for n in names)))


def alpn(*protos):
    return ext(16, vec16(b"".join(vec8(p) for p in protos)))


def versions(*vs):
    return ext(43, vec8(b"".join(u16(v) for v in vs)))


def key_share(group, size):
    return ext(51, vec16(u16(group) + vec16(bytes(size))))


def body(exts, ciphers=(0x1301, 0x1302, 0xc02f), sid=bytes(32),
         legacy=0x0303, raw_exts=None, raw_ciphers=None):
    if raw_ciphers is None:
        raw_ciphers = b"".join(u16(c) for c in ciphers)
    b = u16(legacy) + bytes(range(32)) + vec8(sid)
    b += vec16(raw_ciphers) + vec8(b"\x00")
    if raw_exts is not None:
        return b + raw_exts
    return b + vec16(b"".join(exts))


def message(b, hs_type=1):
    return u8(hs_type) + u24(len(b)) + b


def records(msg, sizes=(), types=()):
    """msg cut into records of the given sizes (the last takes the rest),
    of the given content types (22, handshake, for the others)."""
    out, off, i = b"", 0, 0
    while off < len(msg):
        n = sizes[i] if i < len(sizes) else RECORD_MAX
        ctype = types[i] if i < len(types) else 22
        chunk = msg[off:off + n]
        out += u8(ctype) + u16(0x0301) + vec16(chunk)
        off += len(chunk)
        i += 1
    return out


def hello(exts, **kw):
    return records(message(body(exts, **kw)))


TLS13 = [versions(0x0304, 0x0303), key_share(0x001d, 32)]


def seeds():
    s = {}
    base = [sni(b"db.example.com"), alpn(b"h2", b"http/1.1")] + TLS13
    msg = message(body(base))
    s["ok-basic"] = records(msg)
    s["ok-split-2"] = records(msg, [len(msg) // 2])
    s["ok-split-5"] = records(msg, [7, 1, 30, 60])
    s["ok-split-header"] = records(msg, [1, 1, 1, 1])
    s["ok-tail-in-record"] = records(msg + message(b"\x00" * 8, 20))
    s["ok-no-sni"] = hello([alpn(b"h2")] + TLS13)
    s["ok-no-extensions"] = records(message(body([], raw_exts=b"")))
    s["ok-empty-extensions"] = hello([])
    s["ok-upper-dot"] = hello([sni(b"DB.Example.COM.")] + TLS13)
    s["ok-grease"] = hello([ext(0x0a0a, b""), sni(b"g.example.com"),
                            versions(0x7a7a, 0x0304, 0x0303),
                            alpn(b"\x1a\x1a", b"h2"), ext(0xfafa, b"\x00")]
                           + [key_share(0x001d, 32)],
                           ciphers=(0x2a2a, 0x1301))
    s["ok-many-extensions"] = hello([sni(b"many.example.com")] + TLS13 +
                                    [ext(1000 + i, bytes(i % 5))
                                     for i in range(45)])
    s["ok-mlkem-1500"] = hello([sni(b"pq.example.com"),
                                versions(0x0304),
                                key_share(0x11ec, 1216)])
    s["ok-8k"] = hello([sni(b"big.example.com"), versions(0x0304),
                        key_share(0x11ec, 1216),
                        ext(21, bytes(8192 - 1400))])
    # the largest hello that fits: 5 + 4 + body == HELLO_MAX
    near = HELLO_MAX - 5 - 4 - len(body([ext(21, b"")]))
    s["ok-max"] = hello([ext(21, bytes(near))])
    s["ok-other-name-type"] = hello([sni(b"x", kind=7)])
    s["ok-name-255"] = hello([sni(b".".join([b"a" * 63] * 4))])
    s["ok-tls10-record-3-0"] = records(message(body([sni(b"old.example")],
                                                    legacy=0x0301)))
    s["bad-too-big"] = hello([ext(21, bytes(near + 1))])
    s["bad-too-big-split"] = records(message(body([ext(21,
                                                       bytes(near))])),
                                     [8000, 8000])
    # three records whose last header starts at HELLO_MAX - 1
    m = message(body([ext(21, bytes(near - 5))]))
    s["bad-no-end-16k"] = records(m, [8000, len(m) - 8001])
    s["bad-alpn-1025"] = hello([alpn(*([b"p" * 255] * 3 + [b"p" * 254,
                                                         b"x"]))])
    s["ok-route-regex"] = hello([sni(b"read-12.example.com")] + TLS13)
    s["ok-route-alpn"] = hello([alpn(b"h2", b"postgresql")] + TLS13)
    s["bad-zero-name"] = hello([sni(b"")])
    s["bad-name-256"] = hello([sni(b"a" * 256)])
    s["bad-non-ascii"] = hello([sni("bücher.example".encode())])
    s["bad-empty-label"] = hello([sni(b"a..example.com")])
    s["bad-two-names"] = hello([sni(b"a.example", b"b.example")])
    s["bad-dup-ext"] = hello([sni(b"a.example"), ext(23, b""),
                              ext(23, b"")])
    s["bad-ext-overrun"] = hello([], raw_exts=vec16(u16(0) + u16(9) +
                                                    b"abc"))
    s["bad-trailing"] = records(message(body(base) + b"\x00"))
    s["bad-sni-list-lies"] = hello([ext(0, u16(40) + u8(0) +
                                        vec16(b"a.example"))])
    s["bad-alpn-empty-proto"] = hello([ext(16, vec16(b"\x00"))])
    s["bad-alpn-lies"] = hello([ext(16, u16(3) + vec8(b"h2x"))])
    s["bad-record-middle"] = records(msg, [20, 20], [22, 23])
    s["bad-not-client-hello"] = records(message(body(base), 2))
    s["bad-empty-record"] = u8(22) + u16(0x0301) + u16(0) + msg
    s["bad-session-id-33"] = hello(base, sid=bytes(33))
    s["bad-odd-ciphers"] = hello(base, raw_ciphers=b"\x13\x01\x13")
    s["not-tls-http"] = b"GET / HTTP/1.1\r\nHost: db.example.com\r\n\r\n"
    s["not-tls-sslv2"] = bytes.fromhex("802b0103010012000000100000"
                                       "0000") + bytes(32)
    s["not-tls-pg-sslrequest"] = bytes.fromhex("0000000804d2162f")
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "corpus/sni"
    os.makedirs(out, exist_ok=True)
    for name, data in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)
        print("%-24s %d bytes" % (name, len(data)))


if __name__ == "__main__":
    main()
