#!/usr/bin/env python3
"""A fake Docker Engine API on a unix socket, for the l4d-docker tests.

  dockerfake.py serve --socket S --dir D [--ready F]
      GET /containers/json[?all=1]  the containers in D/state.json
      GET /events?...               a chunked stream of D/events lines
  dockerfake.py start D NAME [--label K=V]... [--network host|NET=IP]...
      a running container; its start event
  dockerfake.py stop D NAME         exited; its die and stop events
  dockerfake.py drop D              close every events stream once

Every request is logged to D/requests.log, one line each.
"""

import argparse
import hashlib
import json
import os
import socket
import sys
import threading
import time


def load(d):
    try:
        with open(os.path.join(d, "state.json")) as f:
            return json.load(f)
    except FileNotFoundError:
        return []


def save(d, state):
    tmp = os.path.join(d, "state.json.tmp")
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.rename(tmp, os.path.join(d, "state.json"))


def event(d, c, action):
    ev = {"status": action, "id": c["Id"], "Type": "container",
          "Action": action, "Actor": {"ID": c["Id"], "Attributes":
          dict(c["Labels"], name=c["Names"][0][1:])},
          "scope": "local", "time": int(time.time())}
    with open(os.path.join(d, "events"), "a") as f:
        f.write(json.dumps(ev) + "\n")


def cmd_start(a):
    state = [c for c in load(a.dir) if c["Names"][0] != "/" + a.name]
    labels = dict(x.split("=", 1) for x in a.label)
    nets = {}
    mode = "bridge"
    for n in a.network or ["host"]:
        if n == "host":
            mode = "host"
            nets["host"] = {"IPAddress": ""}
        else:
            name, ip = n.split("=", 1)
            nets[name] = {"IPAddress": ip} if ":" not in ip else \
                {"IPAddress": "", "GlobalIPv6Address": ip}
    cid = hashlib.sha256(a.name.encode()).hexdigest()
    c = {"Id": cid, "Names": ["/" + a.name], "Labels": labels,
         "State": "running", "HostConfig": {"NetworkMode": mode},
         "NetworkSettings": {"Networks": nets}}
    state.append(c)
    save(a.dir, state)
    event(a.dir, c, "start")


def cmd_stop(a):
    state = load(a.dir)
    for c in state:
        if c["Names"][0] == "/" + a.name:
            c["State"] = "exited"
            save(a.dir, state)
            event(a.dir, c, "die")
            event(a.dir, c, "stop")
            return
    sys.exit("no container " + a.name)


def cmd_drop(a):
    open(os.path.join(a.dir, "drop"), "w").close()


def send_json(conn, doc):
    body = json.dumps(doc).encode()
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Content-Length: %d\r\n\r\n" % len(body) + body)


def stream_events(conn, d):
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    path = os.path.join(d, "events")
    try:
        pos = os.path.getsize(path)
    except FileNotFoundError:
        pos = 0
    deadline = time.time() + 600
    while time.time() < deadline:
        drop = os.path.join(d, "drop")
        if os.path.exists(drop):
            os.unlink(drop)
            return
        try:
            with open(path, "rb") as f:
                f.seek(pos)
                data = f.read()
        except FileNotFoundError:
            data = b""
        if data:
            pos += len(data)
            # chunk boundaries in the middle of a line, as Docker may
            half = len(data) // 2 or 1
            for part in (data[:half], data[half:]):
                if part:
                    conn.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        time.sleep(0.02)


def handle(conn, d):
    try:
        req = b""
        while b"\r\n\r\n" not in req and len(req) < 65536:
            b = conn.recv(4096)
            if not b:
                return
            req += b
        line = req.split(b"\r\n", 1)[0].decode()
        with open(os.path.join(d, "requests.log"), "a") as f:
            f.write(line + "\n")
        path = line.split()[1]
        if path.startswith("/containers/json"):
            state = load(d)
            if "all=1" not in path:
                state = [c for c in state if c["State"] == "running"]
            send_json(conn, state)
        elif path.startswith("/events"):
            stream_events(conn, d)
        else:
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0"
                         b"\r\n\r\n")
    except OSError:
        pass
    finally:
        conn.close()


def cmd_serve(a):
    try:
        os.unlink(a.socket)
    except FileNotFoundError:
        pass
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(a.socket)
    os.chmod(a.socket, 0o660)
    s.listen(16)
    if a.ready:
        open(a.ready, "w").close()
    while True:
        conn, _ = s.accept()
        threading.Thread(target=handle, args=(conn, a.dir),
                         daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve")
    sp.add_argument("--socket", required=True)
    sp.add_argument("--dir", required=True)
    sp.add_argument("--ready")
    sp = sub.add_parser("start")
    sp.add_argument("dir")
    sp.add_argument("name")
    sp.add_argument("--label", action="append", default=[])
    sp.add_argument("--network", action="append")
    sp = sub.add_parser("stop")
    sp.add_argument("dir")
    sp.add_argument("name")
    sp = sub.add_parser("drop")
    sp.add_argument("dir")
    a = p.parse_args()
    {"serve": cmd_serve, "start": cmd_start, "stop": cmd_stop,
     "drop": cmd_drop}[a.cmd](a)


if __name__ == "__main__":
    main()
