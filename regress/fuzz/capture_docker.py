#!/usr/bin/env python3
"""Capture real Docker API responses for the fuzz_dockerhttp seed corpus.

Talks to a running dockerd on its unix socket with the request
l4d-docker's http.c sends, and keeps each response as the bytes came,
framing and all: /containers/json with labelled containers (chunked
once it is over 2 KiB, as Go's server does), with none (a
Content-Length body), an /events stream while containers start, die
and stop (chunked, cut where the capture ends), /version and a 404.
The docker client (DOCKER_HOST set to the socket) makes the
containers, from an image of a static busybox.  Usage:

    python3 capture_docker.py SOCKET [DIR]    (default: corpus/dockerhttp)

A seed is a mode byte and a split byte (see fuzz_dockerhttp.c) and the
response; each response is written with a few modes.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

# http.c's request, as l4d-docker sends it
REQUEST = ("GET %s HTTP/1.1\r\nHost: docker\r\nUser-Agent: l4d-docker\r\n"
           "Accept: application/json\r\nConnection: close\r\n\r\n")
EVENTS = ("/events?filters=%7B%22type%22%3A%5B%22container%22%5D%2C%22"
          "event%22%3A%5B%22start%22%2C%22die%22%2C%22stop%22%5D%7D")
IMAGE = "l4dfuzz/busybox:1"

MODE_STREAM = 0x01
MODE_SMALL = 0x02
MODE_STOP = 0x04
MODE_RESET = 0x08


def get(sock, path, seconds=None):
    """The raw response to GET path, whole or (seconds) what came by then."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    s.sendall((REQUEST % path).encode())
    s.settimeout(0.2)
    out = b""
    end = time.time() + (seconds if seconds is not None else 30)
    while time.time() < end:
        try:
            b = s.recv(65536)
        except socket.timeout:
            continue
        if not b:
            break
        out += b
    s.close()
    return out


def docker(*args):
    subprocess.run(["docker"] + list(args), check=True,
                   stdout=subprocess.DEVNULL)


def image():
    if subprocess.run(["docker", "image", "inspect", IMAGE],
                      stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode == 0:
        return
    tmp = tempfile.mkdtemp()
    try:
        os.makedirs(os.path.join(tmp, "bin"))
        shutil.copy("/bin/busybox", os.path.join(tmp, "bin", "busybox"))
        subprocess.run(["tar", "-C", tmp, "-cf", tmp + ".tar", "."],
                       check=True)
        docker("import", tmp + ".tar", IMAGE)
    finally:
        shutil.rmtree(tmp)
        os.unlink(tmp + ".tar")


def run(name, *labels):
    args = ["run", "-d", "--name", name, "--network", "host"]
    for lab in labels:
        args += ["--label", lab]
    docker(*(args + [IMAGE, "/bin/busybox", "sleep", "3600"]))


def save(d, name, resp, modes):
    for mode, split in modes:
        with open(os.path.join(d, "real-%s-%02x%02x" % (name, mode, split)),
                  "wb") as f:
            f.write(bytes([mode, split]) + resp)
        print("real-%s-%02x%02x: %d bytes" % (name, mode, split, len(resp)))


def main():
    sock = sys.argv[1]
    d = sys.argv[2] if len(sys.argv) > 2 else "corpus/dockerhttp"
    os.makedirs(d, exist_ok=True)
    os.environ["DOCKER_HOST"] = "unix://" + sock
    image()
    names = ["web1", "web2", "web3", "db1", "nolabels"]
    subprocess.run(["docker", "rm", "-f"] + names,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    save(d, "list-empty", get(sock, "/containers/json"),
         [(0x00, 0x00), (0x08, 0x41)])
    save(d, "version", get(sock, "/version"), [(0x00, 0x20)])
    save(d, "404", get(sock, "/containers/nosuch/json"), [(0x00, 0x61)])

    # the events stream while containers come and go
    events = {}
    t = threading.Thread(target=lambda: events.update(
        resp=get(sock, EVENTS, seconds=12)))
    t.start()
    time.sleep(1)
    run("web1", "l4d.backend=pool", "l4d.port=8080")
    run("web2", "l4d.backend=pool", "l4d.port=8081", "l4d.weight=3")
    run("web3", "l4d.backend=pool", "l4d.port=8082", "l4d.backup=true",
        "l4d.network=host")
    run("db1", "l4d.backend=db", "l4d.port=5432", "com.example.team=data",
        "org.opencontainers.image.title=postgres")
    run("nolabels")
    time.sleep(1)
    docker("stop", "-t", "1", "web2")
    docker("kill", "web3")
    t.join()
    save(d, "events", events["resp"],
         [(0x01, 0x00), (0x01, 0xe7), (0x05, 0x33), (0x03, 0x7f),
          (0x09, 0xa5)])

    save(d, "list-all", get(sock, "/containers/json?all=1"),
         [(0x00, 0x00), (0x00, 0xc3), (0x02, 0xff), (0x08, 0x12)])
    save(d, "list-running", get(sock, "/containers/json"),
         [(0x00, 0x55)])
    subprocess.run(["docker", "rm", "-f"] + names,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
