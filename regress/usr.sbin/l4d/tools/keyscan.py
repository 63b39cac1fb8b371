"""Look for private keys in the memory of running processes (as root).

    python3 keyscan.py --key NAME=FILE [--key NAME=FILE ...] PID...

For every key FILE (a PEM private key) it makes the byte strings that
would give the key away, the needles:
  pem        the file's text, as it was read
  pem-line   its second base64 line (the first is the same in every
             P-256 key: the algorithm's header)
  der        the key in DER as `openssl pkey -outform DER` prints it
             (OpenSSL 3: the SEC1 ECPrivateKey for an EC key)
  der-pem    the PEM body decoded (PKCS#8 for genpkey's keys)
  scalar-be  an EC key's private scalar, 32 bytes, big-endian (as in
             the DER)
  scalar-le  the same reversed: how OpenSSL's BIGNUM keeps it in memory
             on a little-endian machine
and reads every readable mapping of every PID (/proc/PID/maps, then
/proc/PID/mem) looking for them.

Prints one line per PID and key: "PID NAME FOUND TITLE", where FOUND is
the comma separated needles found ("-": none) and TITLE the process's
command line; then "scanned PID BYTES" per PID.  Exits 0 when it could
read every PID's memory, 1 when it could not (which is no proof of
anything), 2 on bad usage.
"""

import argparse
import base64
import re
import subprocess
import sys

CHUNK = 1 << 20


def needles_of(path):
    with open(path, "rb") as f:
        pem = f.read()
    m = re.search(rb"-----BEGIN ([A-Z ]+)-----\s+(.*?)-----END \1-----",
                  pem, re.S)
    if not m:
        raise SystemExit("keyscan: %s: no PEM block" % path)
    body = m.group(2)
    lines = [l for l in body.split(b"\n") if l.strip()]
    der = base64.b64decode(b"".join(lines))
    out = {"pem": pem.strip(), "der-pem": der}
    r = subprocess.run(["openssl", "pkey", "-in", path, "-outform", "DER"],
                       capture_output=True)
    if r.returncode == 0 and r.stdout and r.stdout != der:
        out["der"] = r.stdout
    if len(lines) > 1 and len(lines[1]) >= 32:
        out["pem-line"] = lines[1].strip()
    # ECPrivateKey inside PKCS#8 or alone: version 1, then the scalar
    # as an OCTET STRING of 32 bytes (P-256).
    i = der.find(b"\x02\x01\x01\x04\x20")
    if i != -1 and len(der) >= i + 5 + 32:
        d = der[i + 5:i + 5 + 32]
        out["scalar-be"] = d
        out["scalar-le"] = d[::-1]
    return out


def regions(pid):
    with open("/proc/%d/maps" % pid) as f:
        for line in f:
            fields = line.split()
            lo, hi = (int(x, 16) for x in fields[0].split("-"))
            perms = fields[1]
            name = fields[5] if len(fields) > 5 else ""
            if "r" not in perms or name in ("[vsyscall]", "[vvar]",
                                            "[vvar_vclock]"):
                continue
            yield lo, hi, name


def scan(pid, keys):
    """{key name: set of needle names found}, bytes read."""
    found = {k: set() for k in keys}
    longest = max(len(n) for nd in keys.values() for n in nd.values())
    total = 0
    with open("/proc/%d/mem" % pid, "rb", buffering=0) as mem:
        for lo, hi, _ in regions(pid):
            tail = b""
            off = lo
            while off < hi:
                n = min(CHUNK, hi - off)
                try:
                    mem.seek(off)
                    b = mem.read(n)
                except (OSError, OverflowError, ValueError):
                    break
                if not b:
                    break
                total += len(b)
                buf = tail + b
                for k, nd in keys.items():
                    for nn, needle in nd.items():
                        if nn not in found[k] and needle in buf:
                            found[k].add(nn)
                tail = buf[-(longest - 1):] if longest > 1 else b""
                off += len(b)
    return found, total


def title(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace") \
                .strip()
    except OSError:
        return "?"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--key", action="append", required=True,
                   help="NAME=FILE")
    p.add_argument("pids", nargs="+", type=int)
    args = p.parse_args()
    keys = {}
    for kv in args.key:
        name, _, path = kv.partition("=")
        if not name or not path:
            p.error("--key NAME=FILE")
        keys[name] = needles_of(path)
    rc = 0
    for pid in args.pids:
        try:
            found, total = scan(pid, keys)
        except OSError as e:
            sys.stderr.write("keyscan: pid %d: %s\n" % (pid, e))
            rc = 1
            continue
        t = title(pid)
        for k in keys:
            print("%d %s %s %s" % (pid, k,
                                   ",".join(sorted(found[k])) or "-", t))
        print("scanned %d %d" % (pid, total))
        if total == 0:
            rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
