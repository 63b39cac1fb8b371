#!/usr/bin/env python3
"""Capture real ClientHellos on loopback for the fuzz_sni seed corpus.

Each client in CLIENTS connects to a one-shot listener on 127.0.0.1,
which keeps the first bytes it receives (until the handshake message is
complete, 16 KiB, or 5 s) and closes.  A client that is not installed,
or that sends nothing, is reported and skipped.  Usage:

    python3 capture.py [DIR]        (default: corpus/sni)
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile

HELLO_MAX = 16 * 1024
NAME = "db.example.com"

JAVA_SRC = r"""
import java.util.List;
import javax.net.ssl.*;

public class Hello {
    public static void main(String[] a) throws Exception {
        SSLSocketFactory f = (SSLSocketFactory) SSLSocketFactory.getDefault();
        SSLSocket s = (SSLSocket) f.createSocket("127.0.0.1",
            Integer.parseInt(a[0]));
        SSLParameters p = s.getSSLParameters();
        p.setServerNames(List.of(new SNIHostName(a[1])));
        p.setApplicationProtocols(new String[] { "h2", "http/1.1" });
        s.setSSLParameters(p);
        try { s.startHandshake(); } catch (Exception e) { }
    }
}
"""

PY_CLIENT = r"""
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
if sys.argv[3]:
    ctx.set_alpn_protocols(sys.argv[3].split(","))
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
try:
    ctx.wrap_socket(s, server_hostname=sys.argv[2] or None)
except (OSError, ssl.SSLError):
    pass
"""

NODE_CLIENT = r"""
const tls = require("tls");
tls.connect({host: "127.0.0.1", port: +process.argv[1],
    servername: process.argv[2], ALPNProtocols: ["h2", "http/1.1"],
    rejectUnauthorized: false}).on("error", () => {});
"""


def s_client(*args):
    return lambda port: ["openssl", "s_client", "-connect",
                         "127.0.0.1:%d" % port] + list(args)


def curl(*args):
    return lambda port: ["curl", "-sk", "--max-time", "5", "--resolve",
                         "%s:%d:127.0.0.1" % (NAME, port)] + list(args) + \
                        ["https://%s:%d/" % (NAME, port)]


def python(name, alpn):
    return lambda port: [sys.executable, "-c", PY_CLIENT, str(port), name,
                         alpn]


def java(tmp):
    return lambda port: ["java", os.path.join(tmp, "Hello.java"), str(port),
                         NAME]


# (seed name, argv maker, the client speaks PostgreSQL SSLRequest first)
def clients(tmp):
    return [
        ("openssl-tls13-sni", s_client("-tls1_3", "-servername", NAME), 0),
        ("openssl-tls12-sni", s_client("-tls1_2", "-servername", NAME), 0),
        ("openssl-tls13-nosni", s_client("-tls1_3", "-noservername"), 0),
        ("openssl-tls12-nosni", s_client("-tls1_2", "-noservername"), 0),
        ("openssl-alpn", s_client("-servername", "www.example.com",
                                  "-alpn", "h2,http/1.1"), 0),
        ("openssl-upper-dot", s_client("-servername", "DB.Example.COM.",
                                       "-alpn", "postgresql"), 0),
        ("openssl-tls10", s_client("-tls1", "-cipher", "DEFAULT@SECLEVEL=0",
                                   "-servername", NAME), 0),
        ("openssl-groups", s_client("-groups",
                                    "X25519:P-256:P-384:P-521:ffdhe2048",
                                    "-servername", NAME), 0),
        ("openssl-mlkem", s_client("-groups", "X25519MLKEM768",
                                   "-servername", NAME), 0),
        ("curl", curl(), 0),
        ("curl-http11-tls12", curl("--http1.1", "--tlsv1.2",
                                   "--tls-max", "1.2"), 0),
        ("python-ssl", python(NAME, "h2,http/1.1"), 0),
        ("python-ssl-nosni", python("", ""), 0),
        ("wget-gnutls", lambda port: [
            "wget", "-4", "-q", "-t", "1", "-T", "5",
            "--no-check-certificate", "-O", "/dev/null",
            "https://localhost:%d/" % port], 0),
        ("node", lambda port: ["node", "-e", NODE_CLIENT, str(port), NAME],
         0),
        ("java-jsse", java(tmp), 0),
        ("psql", lambda port: [
            "psql", "host=%s hostaddr=127.0.0.1 port=%d sslmode=require "
            "user=l4d dbname=l4d connect_timeout=5" % (NAME, port),
            "-c", "select 1"], 1),
    ]


def hello_complete(data):
    """True once the records hold the whole handshake message."""
    off, hs = 0, b""
    while off + 5 <= len(data):
        n = int.from_bytes(data[off + 3:off + 5], "big")
        hs += data[off + 5:off + 5 + n]
        off += 5 + n
        if len(hs) >= 4 and len(hs) >= 4 + int.from_bytes(hs[1:4], "big") \
                and off <= len(data):
            return True
    return False


def receive(conn, pg):
    conn.settimeout(5)
    data = b""
    if pg:
        # SSLRequest: length 8, code 80877103; answer 'S' as a server would
        while len(data) < 8:
            chunk = conn.recv(8 - len(data))
            if not chunk:
                return b""
            data += chunk
        if data != b"\x00\x00\x00\x08\x04\xd2\x16\x2f":
            return b""
        conn.sendall(b"S")
        data = b""
    while len(data) < HELLO_MAX and not hello_complete(data):
        chunk = conn.recv(HELLO_MAX - len(data))
        if not chunk:
            break
        data += chunk
    return data


def capture(argv_of, pg):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(15)  # java takes a while to start
    port = srv.getsockname()[1]
    env = dict(os.environ, PGPASSWORD="x", PGCONNECT_TIMEOUT="5")
    proc = subprocess.Popen(argv_of(port), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=env)
    data = b""
    try:
        conn, _ = srv.accept()
        with conn:
            data = receive(conn, pg)
    except OSError:
        pass
    finally:
        srv.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return data


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "corpus/sni"
    os.makedirs(out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    try:
        with open(os.path.join(tmp, "Hello.java"), "w") as f:
            f.write(JAVA_SRC)
        for name, argv_of, pg in clients(tmp):
            if shutil.which(argv_of(0)[0]) is None:
                print("%-22s not installed" % name)
                continue
            data = capture(argv_of, pg)
            if not data or data[0] != 0x16 or not hello_complete(data):
                print("%-22s no hello (%d bytes)" % (name, len(data)))
                continue
            with open(os.path.join(out, "real-" + name), "wb") as f:
                f.write(data)
            print("%-22s %d bytes" % (name, len(data)))
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
