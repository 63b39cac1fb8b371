#!/usr/bin/env python3
"""A stand-in for l4ctl with the runtime server commands, for the
l4d-docker tests until l4d has them:

  fakel4ctl.py -s SOCKET [-j] show summary
  fakel4ctl.py -s SOCKET server add BACKEND ADDRESS [weight N] [backup]
  fakel4ctl.py -s SOCKET server remove BACKEND ADDRESS

The backends live in SOCKET.state (JSON: {"BACKEND": [server, ...]}),
which the test writes; every call is logged to SOCKET.log.  Errors go
to stderr with exit 1, in l4ctl's words: "already" for an address the
backend has, "no server" for one it has not.
"""

import json
import os
import sys


def fail(msg):
    print("l4ctl: " + msg, file=sys.stderr)
    sys.exit(1)


def main():
    args = sys.argv[1:]
    sock = "/var/run/l4d.sock"
    js = False
    while args and args[0].startswith("-"):
        if args[0] == "-s":
            sock = args[1]
            args = args[2:]
        elif args[0] == "-j":
            js = True
            args = args[1:]
        else:
            fail("usage")
    with open(sock + ".log", "a") as f:
        f.write(" ".join(args) + "\n")
    if not os.path.exists(sock):
        fail("%s: No such file or directory (is l4d running?)" % sock)
    path = sock + ".state"
    with open(path) as f:
        state = json.load(f)
    if args == ["show", "summary"]:
        doc = {"generation": 1, "listeners": [], "backends": [
            {"name": b, "servers": s} for b, s in state.items()]}
        if js:
            print(json.dumps(doc))
        else:
            for b, s in state.items():
                print("backend %s" % b)
                for x in s:
                    print("  server %s weight %d%s%s" % (
                        x["address"], x["weight"],
                        " backup" if x["backup"] else "",
                        " runtime" if x["runtime"] else ""))
        return
    if len(args) >= 4 and args[:2] == ["server", "add"]:
        b, a = args[2], args[3]
        rest = args[4:]
        w, backup = 1, False
        while rest:
            if rest[0] == "weight" and len(rest) > 1:
                w = int(rest[1])
                rest = rest[2:]
            elif rest[0] == "backup":
                backup = True
                rest = rest[1:]
            else:
                fail("usage")
        if b not in state:
            fail("server add: no backend %s" % b)
        if any(x["address"] == a for x in state[b]):
            fail("server add: backend %s has %s already" % (b, a))
        state[b].append({"address": a, "weight": w, "backup": backup,
                         "runtime": True})
    elif len(args) == 4 and args[:2] == ["server", "remove"]:
        b, a = args[2], args[3]
        if b not in state or not any(x["address"] == a and x["runtime"]
                                     for x in state[b]):
            fail("server remove: no server %s in backend %s" % (a, b))
        state[b] = [x for x in state[b] if x["address"] != a]
    else:
        fail("unknown command")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.rename(tmp, path)
    print("ok")


if __name__ == "__main__":
    main()
