#!/usr/bin/env python3
"""l4d benchmark driver: l4d against HAProxy, nginx stream, socat and direct.

Run through `make bench` or `sh regress/bench/bench.sh`, which install the
tools first. Options (see --help) pick rounds, peers, tests and durations;
WORKERS=N in the environment (default 1) sets the workers of every peer and
of the HTTP backend.

Every measurement runs on a freshly started peer that has passed one real
request first. Rounds interleave the peers (A B C, B C A, C A B, ...) so
that drift of the machine, and what a test leaves behind for the next
(TIME_WAIT sockets after a connection test), spread over all of them. The table shows the median of the
rounds and its ratio to HAProxy and to direct; the same goes to a JSON file.

The TLS tests (tlscps, tlsfull, tlshttp, tlsbulk) put the proxy in front of the same
plaintext nginx, terminating TLS with one ECDSA P-256 certificate made at the
start of the run (tools/mkcerts.sh); "direct" is that nginx serving HTTPS
itself with the same certificate.

The budgeted rows (bcps, bhttp, bredis) run the same loads with every
process of the peer in one cgroup with a CPU quota (--budget percent of
one CPU per worker, 40 by default; cgroup v1 cpu.cfs_quota_us, or cgroup
v2 cpu.max where that is the machine's), the load generator and the
backends outside it: the proxy is then the bottleneck, and the rate is
what it does with that budget.  The quota is given per --period (10 ms by
default): the kernel stops a peer that has spent its quota until the
period ends, and that stop (60 ms at the kernel's default 100 ms period,
6 ms at 10) is every peer's p99. "added" rows are a peer's latency minus
direct's in the same round.

Everything listens on 127.0.0.1 only. Every process started here runs in its
own process group and is stopped by pid on exit, however the run ends.
"""

import argparse
import http.client
import json
import os
import platform
import pwd
import re
import resource
import select
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
L4D = os.path.join(TOP, "usr.sbin", "l4d", "l4d")
IDLE = os.path.join(HERE, "idle.py")
MKCERTS = os.path.join(TOP, "regress", "usr.sbin", "l4d", "tools",
                       "mkcerts.sh")
TLS_NAME = "localhost"          # the certificate's name, sent as SNI
                                # (wrk sends the URL's host)
BIG_FILE = "big.bin"            # served by the backend for tlsbulk
BIG_SIZE = 64 * 1024 * 1024
NGINX_STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"
HOST = "127.0.0.1"
PORT_BASE = 21000       # below the ephemeral range (32768-60999 on Linux)
PORT_SPAN = 4000
START_TIMEOUT = 10.0    # seconds for a peer or backend to listen
STOP_TIMEOUT = 5.0      # seconds between SIGTERM and SIGKILL
HAPROXY_MAXCONN = 7800  # 2 fds a session + maxconn/4 pipes of 2 fds (splice)
                        # fit the 20,000 fd hard limit

VERBOSE = False


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def debug(msg):
    if VERBOSE:
        log(msg)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Processes, ports, memory

class Cgroup:
    """A CPU quota for one peer's processes: joined by the peer's first
    process before it execs, so that every child it makes is in it."""

    def __init__(self, percent, workers, period_us):
        self.period_us = period_us
        self.quota_us = int(period_us * percent / 100.0 * workers)
        self.percent = percent
        self.workers = workers
        name = "l4d-bench-%d" % os.getpid()
        v1 = "/sys/fs/cgroup/cpu"
        if os.path.exists(os.path.join(v1, "cpu.cfs_quota_us")):
            self.kind = "cgroup v1 cpu.cfs_quota_us"
            self.path = os.path.join(v1, name)
            os.mkdir(self.path)
            self.write("cpu.cfs_period_us", self.period_us)
            self.write("cpu.cfs_quota_us", self.quota_us)
        elif "cpu" in read_text("/sys/fs/cgroup/cgroup.controllers").split():
            self.kind = "cgroup v2 cpu.max"
            self.path = os.path.join("/sys/fs/cgroup", name)
            os.mkdir(self.path)
            self.write("cpu.max", "%d %d" % (self.quota_us, self.period_us))
        else:
            raise BenchError("no cgroup cpu controller to set a budget with")

    def write(self, name, value):
        with open(os.path.join(self.path, name), "w") as f:
            f.write("%s\n" % value)

    def join(self):
        """In the child, between fork and exec."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write("%d\n" % os.getpid())

    def describe(self):
        return "%d%% of a CPU x %d worker(s) (%s %d/%d us)" % (
            self.percent, self.workers, self.kind, self.quota_us,
            self.period_us)

    def remove(self):
        deadline = time.monotonic() + STOP_TIMEOUT
        while True:
            try:
                os.rmdir(self.path)
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    log("bench: cannot remove %s" % self.path)
                    return
                time.sleep(0.05)    # its last processes exiting


def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


class Procs:
    """Every long-running process the bench starts, stopped by pid."""

    def __init__(self):
        self.live = []

    def spawn(self, argv, logpath, cgroup=None, **kw):
        debug("spawn: %s%s" % (" ".join(argv),
                               " in %s" % cgroup.path if cgroup else ""))
        if cgroup is not None:
            kw["preexec_fn"] = cgroup.join
        out = open(logpath, "ab")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT,
                                 start_new_session=True, **kw)
        finally:
            out.close()
        p.logpath = logpath
        self.live.append(p)
        return p

    def stop(self, p):
        """SIGTERM the leader, wait, then SIGKILL whatever is left of its
        process group (socat's forks, workers of a peer that hung)."""
        if p not in self.live:
            return None
        self.live.remove(p)
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                log("bench: pid %d ignored SIGTERM for %.0fs, killing it"
                    % (p.pid, STOP_TIMEOUT))
        deadline = time.monotonic() + STOP_TIMEOUT
        left = group_members(p.pid)
        while left and p.poll() is not None and time.monotonic() < deadline:
            time.sleep(0.05)    # children finishing their last session
            left = group_members(p.pid)
        if left or p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        return left

    def stop_all(self):
        for p in reversed(list(self.live)):
            self.stop(p)


def group_members(pgid):
    """Pids (other than pgid itself) still in process group pgid."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == pgid:
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            found.append(int(entry))
    return found


def tree_pids(pid):
    """pid and all its descendants."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            tasks = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (p, t)) as f:
                    todo.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    return pids


def tree_fds(pid):
    """Open fds of pid and all its descendants."""
    total = 0
    for p in tree_pids(pid):
        try:
            total += len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            pass
    return total


def tree_rss_kib(pid):
    """Summed VmRSS of pid and all its descendants, in KiB."""
    total = 0
    for p in tree_pids(pid):
        try:
            with open("/proc/%d/status" % p) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def tree_cpu_s(pid):
    """CPU seconds (user and system) of pid, its reaped children and its
    live descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in tree_pids(pid):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])      # utime, stime
        if p == pid:                                    # cutime, cstime
            total += int(fields[13]) + int(fields[14])
    return total / tick


def machine_cpu_s():
    """CPU seconds the whole machine has been busy (every CPU: user,
    nice, system, irq, softirq, steal), from /proc/stat.  Unlike a
    process tree's, it counts what the kernel does for a proxy outside
    it: kernel threads (a SOCKMAP's sends run in kworkers, outside any
    cgroup of the proxy's), softirq work charged to whoever was
    interrupted, and the clients' and backends' own share."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / os.sysconf("SC_CLK_TCK")


class Ports:
    """Hands out free 127.0.0.1 ports below the ephemeral range, a new one
    for every start so that no peer inherits another's TIME_WAIT."""

    def __init__(self):
        self.next = PORT_BASE

    def take(self):
        for _ in range(PORT_SPAN):
            port = self.next
            self.next = PORT_BASE + (self.next + 1 - PORT_BASE) % PORT_SPAN
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                s.bind((HOST, port))
                return port
            except OSError:
                continue
            finally:
                s.close()
        raise BenchError("no free port in %d-%d"
                         % (PORT_BASE, PORT_BASE + PORT_SPAN - 1))


def listening(port):
    """True when a socket listens on 127.0.0.1:port (or the wildcard)."""
    want = {"0100007F:%04X" % port, "00000000:%04X" % port}
    try:
        with open("/proc/net/tcp") as f:
            next(f)
            for line in f:
                fields = line.split()
                if fields[3] == "0A" and fields[1] in want:
                    return True
    except OSError:
        pass
    return False


def wait_listening(port, proc, what):
    """Poll until port listens; fail early if proc died. No connection is
    made: the first one through a peer is its warm-up request."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if listening(port):
            return
        if proc is not None and proc.poll() is not None:
            raise BenchError("%s exited with status %d%s"
                             % (what, proc.returncode, log_tail(proc)))
        time.sleep(0.02)
    raise BenchError("%s does not listen on %d after %.0fs%s"
                     % (what, port, START_TIMEOUT, log_tail(proc)))


def log_tail(proc, lines=8):
    path = getattr(proc, "logpath", None)
    if not path:
        return ""
    try:
        with open(path, errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
    except OSError:
        return ""
    return "".join("\n    | " + l for l in tail)


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


# --------------------------------------------------------------------------
# Backends: started once per run, shared by every peer

class Backends:
    """iperf3 server, nginx HTTP server with a small static file, redis, and
    the hold server for idle sessions."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.port = {}

    def start(self):
        ctx = self.ctx
        self.port = {k: ctx.ports.take()
                     for k in ("iperf", "http", "https", "redis", "hold")}
        d = ctx.subdir("backends")

        p = ctx.procs.spawn(["iperf3", "-s", "-B", HOST,
                             "-p", str(self.port["iperf"])],
                            os.path.join(d, "iperf3.log"))
        wait_listening(self.port["iperf"], p, "iperf3 server")

        p = ctx.procs.spawn(nginx_argv(self.nginx_http_conf(d), d),
                            os.path.join(d, "nginx-http.log"))
        wait_listening(self.port["http"], p, "nginx HTTP backend")

        p = ctx.procs.spawn(["redis-server", "--bind", HOST,
                             "--port", str(self.port["redis"]),
                             "--save", "", "--appendonly", "no",
                             "--protected-mode", "no",
                             "--maxclients", "10000", "--dir", d],
                            os.path.join(d, "redis.log"))
        wait_listening(self.port["redis"], p, "redis-server")

        p = ctx.procs.spawn([sys.executable, IDLE, "server",
                             str(self.port["hold"])],
                            os.path.join(d, "hold.log"))
        wait_listening(self.port["hold"], p, "hold server")

        for kind in WARMUPS:            # each answers directly
            WARMUPS[kind](self.port[kind])
        warm_https(ctx, self.port["https"])

    def nginx_http_conf(self, d):
        www = os.path.join(d, "www")
        os.mkdir(www)
        os.chmod(www, 0o755)
        write(os.path.join(www, "index.html"), "l4d bench\n" * 12)
        with open(os.path.join(www, BIG_FILE), "wb") as f:
            f.write(os.urandom(BIG_SIZE))
        os.chmod(os.path.join(www, BIG_FILE), 0o644)
        tls = self.ctx.tls()
        conf = os.path.join(d, "nginx-http.conf")
        write(conf, f"""\
daemon off;
worker_processes {self.ctx.workers};
worker_rlimit_nofile 20000;
pid {d}/nginx-http.pid;
error_log {d}/nginx-http.error.log warn;
events {{ worker_connections 10000; }}
http {{
    access_log off;
    default_type text/html;
    keepalive_requests 1000000;
    keepalive_timeout 1h;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen {HOST}:{self.port["http"]} reuseport;
        root {www};
    }}
    # "direct" for the TLS tests: the same files over HTTPS.
    server {{
        listen {HOST}:{self.port["https"]} ssl reuseport;
        ssl_certificate {tls["crt"]};
        ssl_certificate_key {tls["key"]};
        ssl_protocols TLSv1.2 TLSv1.3;
        root {www};
    }}
}}
""")
        return conf


def nginx_argv(conf, prefix):
    return ["nginx", "-p", prefix, "-c", conf,
            "-e", os.path.join(prefix, "nginx-startup.log")]


# One real request per backend kind, made right after a (re)start.

def warm_iperf(port):
    r = subprocess.run(["iperf3", "-c", HOST, "-p", str(port), "-n", "1M"],
                       capture_output=True, text=True, timeout=15)
    if r.returncode != 0:
        raise BenchError("iperf3 warm-up: " + (r.stderr or r.stdout).strip())


def warm_http(port):
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        c.request("GET", "/")
        resp = c.getresponse()
        resp.read()
        if resp.status != 200:
            raise BenchError("HTTP warm-up: status %d" % resp.status)
    finally:
        c.close()


def exchange(port, send, expect, greeting=b""):
    with socket.create_connection((HOST, port), timeout=10) as s:
        got = b""
        if greeting:
            while len(got) < len(greeting):
                chunk = s.recv(64)
                if not chunk:
                    break
                got += chunk
            if got != greeting:
                raise BenchError("warm-up: greeting %r" % got)
        s.sendall(send)
        got = b""
        while len(got) < len(expect):
            chunk = s.recv(64)
            if not chunk:
                break
            got += chunk
        if got != expect:
            raise BenchError("warm-up: sent %r, got %r" % (send, got))


def warm_https(ctx, port):
    """One HTTPS request, the certificate verified for TLS_NAME (sent as
    SNI); returns "VERSION CIPHER" of the session."""
    tctx = ssl.create_default_context(cafile=ctx.tls()["crt"])
    c = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        raw = socket.create_connection((HOST, port), timeout=10)
        c.sock = tctx.wrap_socket(raw, server_hostname=TLS_NAME)
        c.request("GET", "/", headers={"Host": TLS_NAME})
        resp = c.getresponse()
        resp.read()
        if resp.status != 200:
            raise BenchError("HTTPS warm-up: status %d" % resp.status)
        return "%s %s" % (c.sock.version(), c.sock.cipher()[0])
    except (OSError, ssl.SSLError) as e:
        raise BenchError("HTTPS warm-up on %d: %s" % (port, e))
    finally:
        c.close()


def warm_redis(port):
    exchange(port, b"PING\r\n", b"+PONG\r\n")


def warm_hold(port):
    exchange(port, b"ping", b"ping", greeting=b"+")


WARMUPS = {"iperf": warm_iperf, "http": warm_http,
           "redis": warm_redis, "hold": warm_hold}


# --------------------------------------------------------------------------
# Peers: one class each; start(backend_port) returns the port to talk to

class Peer:
    name = "?"
    note = ""
    idle_ok = True      # can hold the idle-session test
    tls_ok = True       # can terminate TLS (the tls* tests)
    forks = False       # a process per session: leftovers after stop are
                        # sessions still closing, not a bug

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None

    def available(self):
        """None when the peer can run here, else the reason it can't."""
        return None

    def start(self, backend_port, tls=False, budget=False):
        """tls: terminate TLS with ctx.tls()'s certificate; budget: run
        in the run's CPU quota."""
        port = self.ctx.ports.take()
        d = self.ctx.subdir(self.name)
        self.proc = self.ctx.procs.spawn(
            self.argv(d, port, backend_port, tls),
            os.path.join(d, "out.log"),
            cgroup=self.ctx.cgroup if budget else None)
        wait_listening(port, self.proc, self.name)
        return port

    def stop(self):
        if self.proc is None:
            return
        p, self.proc = self.proc, None
        if p.poll() is not None:
            log("bench: %s had exited with status %d%s"
                % (self.name, p.returncode, log_tail(p)))
        left = self.ctx.procs.stop(p)
        if left and not self.forks:
            log("bench: %s left %d process(es) behind after SIGTERM: %s"
                % (self.name, len(left), " ".join(map(str, left))))

    def rss_kib(self):
        return tree_rss_kib(self.proc.pid) if self.proc else None

    def fds(self):
        return tree_fds(self.proc.pid) if self.proc else None

    def cpu_s(self):
        return tree_cpu_s(self.proc.pid) if self.proc else None


class Direct(Peer):
    name = "direct"
    note = "no proxy: the client talks to the backend"
    idle_ok = False

    def start(self, backend_port, tls=False, budget=False):
        # TLS: the backend nginx's own HTTPS port, same files.
        return self.ctx.backends.port["https"] if tls else backend_port

    def rss_kib(self):
        return None

    def fds(self):
        return None

    def cpu_s(self):
        return None


def machine_per_op(before, count):
    """Microseconds of the whole machine's busy CPU per request."""
    if not count:
        return None
    return (machine_cpu_s() - before) / count * 1e6


def cpu_per_op(peer, before, count):
    """Microseconds of the proxy's CPU per connection or request: the
    rates of a 2-core run are shared with the clients and the backend,
    this is what the proxy itself spends."""
    after = peer.cpu_s()
    if before is None or after is None or not count:
        return None
    return (after - before) / count * 1e6


class L4d(Peer):
    name = "l4d"
    binary = L4D
    zero_copy = "true"

    def available(self):
        if not os.access(self.binary, os.X_OK):
            return "%s not built" % self.binary
        if os.geteuid() != 0:
            return "needs root (privilege separation)"
        return None

    def argv(self, d, port, backend_port, tls=False):
        ensure_user("_l4d")
        os.makedirs("/var/empty", exist_ok=True)
        conf = os.path.join(d, "l4d.conf")
        if tls:
            c = self.ctx.tls()
            engines = "tls_engines: %d\n" % self.ctx.workers
            listen_tls = (", tls: { certificates: [ { cert: %s, key: %s } ] }"
                          % (c["crt"], c["key"]))
        else:
            engines = listen_tls = ""
        write(conf, f"""\
user: _l4d
chroot: /var/empty
relays: {self.ctx.workers}
{engines}zero_copy: {self.zero_copy}
control: {d}/l4d.sock
log: {{ level: warning, access: false }}
timeouts: {{ connect: 5s, idle: 1h }}
listeners:
  - {{ name: bench, listen: "{HOST}:{port}", backend: b{listen_tls} }}
backends:
  - name: b
    servers:
      - {{ address: "{HOST}:{backend_port}" }}
""")
        return [self.binary, "-d", "-f", conf]


class L4dAB(L4d):
    """Another build of l4d, for an A/B of a change in the same run:
    L4D_AB=/path/to/other/l4d (a checkout of the base, built)."""
    name = "l4d-ab"
    binary = os.environ.get("L4D_AB", "")

    def available(self):
        self.note = "l4d at " + self.binary
        return super().available()


class L4dSockmap(L4d):
    """zero_copy: sockmap: plain sessions forwarded in the kernel; TLS
    ones (terminated here) splice as l4d does."""
    name = "l4d-sockmap"
    note = "zero_copy: sockmap"
    zero_copy = "sockmap"


class L4dAdaptive(L4d):
    """zero_copy: adaptive: splice, and a session that goes back and
    forth in small messages is handed to the kernel as with sockmap."""
    name = "l4d-adaptive"
    note = "zero_copy: adaptive"
    zero_copy = "adaptive"


def ensure_user(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "-r", "-s", "/usr/sbin/nologin",
                        "-d", "/var/empty", name], check=True)


class HAProxy(Peer):
    name = "haproxy"

    def __init__(self, ctx, splice=False):
        super().__init__(ctx)
        self.splice = splice
        if splice:
            self.name = "haproxy-splice"
            self.note = "option splice-auto"
            self.tls_ok = False     # nothing to splice under TLS

    def available(self):
        return None if shutil.which("haproxy") else "haproxy not installed"

    def argv(self, d, port, backend_port, tls=False):
        conf = os.path.join(d, "haproxy.cfg")
        splice = "    option splice-auto\n" if self.splice else ""
        ssl_bind = " ssl crt %s" % self.ctx.tls()["pem"] if tls else ""
        write(conf, f"""\
global
    nbthread {self.ctx.workers}
    maxconn {HAPROXY_MAXCONN}

defaults
    mode tcp
    maxconn {HAPROXY_MAXCONN}
    timeout connect 5s
    timeout client 1h
    timeout server 1h
{splice}
frontend bench
    bind {HOST}:{port}{ssl_bind}
    default_backend b

backend b
    server s1 {HOST}:{backend_port}
""")
        return ["haproxy", "-db", "-f", conf]


class NginxStream(Peer):
    name = "nginx"
    note = "stream module"

    def available(self):
        if not shutil.which("nginx"):
            return "nginx not installed"
        if not os.path.exists(NGINX_STREAM_MODULE):
            return NGINX_STREAM_MODULE + " missing (libnginx-mod-stream)"
        return None

    def argv(self, d, port, backend_port, tls=False):
        conf = os.path.join(d, "nginx.conf")
        if tls:
            c = self.ctx.tls()
            ssl_listen = " ssl"
            # nginx 1.22 leaves TLSv1.3 out by default.
            ssl_conf = ("        ssl_certificate %s;\n"
                        "        ssl_certificate_key %s;\n"
                        "        ssl_protocols TLSv1.2 TLSv1.3;\n"
                        % (c["crt"], c["key"]))
        else:
            ssl_listen = ssl_conf = ""
        write(conf, f"""\
load_module {NGINX_STREAM_MODULE};
daemon off;
worker_processes {self.ctx.workers};
worker_rlimit_nofile 20000;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 20000; }}
stream {{
    server {{
        listen {HOST}:{port}{ssl_listen} reuseport;
{ssl_conf}        proxy_pass {HOST}:{backend_port};
        proxy_connect_timeout 5s;
        proxy_timeout 1h;
    }}
}}
""")
        return nginx_argv(conf, d)


class Socat(Peer):
    name = "socat"
    note = "fork per connection, no workers setting"
    idle_ok = False     # 5,000 sessions would be 5,000 processes
    tls_ok = False
    forks = True

    def available(self):
        return None if shutil.which("socat") else "socat not installed"

    def argv(self, d, port, backend_port, tls=False):
        return ["socat",
                "TCP-LISTEN:%d,bind=%s,fork,reuseaddr,backlog=4096"
                % (port, HOST),
                "TCP:%s:%d" % (HOST, backend_port)]


def make_peers(ctx):
    ab = [L4dAB(ctx)] if L4dAB.binary else []
    return [Direct(ctx), L4d(ctx), L4dSockmap(ctx),
            L4dAdaptive(ctx)] + ab + [HAProxy(ctx),
            HAProxy(ctx, splice=True), NginxStream(ctx), Socat(ctx)]


# --------------------------------------------------------------------------
# Measurements: each takes the port to talk to and returns {metric: value}

def run_tool(argv, timeout):
    debug("run: %s" % " ".join(argv))
    try:
        r = subprocess.run(argv, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise BenchError("%s: no result after %ds" % (argv[0], timeout))
    if r.returncode != 0:
        raise BenchError("%s exited with %d: %s" % (
            argv[0], r.returncode, (r.stderr or r.stdout).strip()[-300:]))
    return r.stdout


def measure_iperf(ctx, peer, port, streams):
    out = run_tool(["iperf3", "-c", HOST, "-p", str(port),
                    "-t", str(ctx.args.duration), "-P", str(streams), "-J"],
                   timeout=ctx.args.duration + 30)
    res = json.loads(out)
    if "error" in res:
        raise BenchError("iperf3: " + res["error"])
    return {"gbps": res["end"]["sum_received"]["bits_per_second"] / 1e9}


def wrk(ctx, peer, port, close, tls=False):
    argv = ["wrk", "-t", str(ctx.args.wrk_threads),
            "-c", str(ctx.args.connections),
            "-d", "%ds" % ctx.args.duration, "--latency"]
    if close:
        argv += ["-H", "Connection: close"]
    cpu, mach = peer.cpu_s(), machine_cpu_s()
    # TLS: wrk verifies nothing and sends the URL's host as SNI; it
    # resolves localhost and uses the first address that connects.
    url = ("https://%s:%d/" % (TLS_NAME, port) if tls
           else "http://%s:%d/" % (HOST, port))
    out = run_tool(argv + [url], timeout=ctx.args.duration + 30)
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise BenchError("wrk: no Requests/sec in: " + out[-300:])
    res = {"rate": float(m.group(1))}
    m = re.search(r"(\d+) requests in", out)
    n = int(m.group(1)) if m else 0
    res["cpu_us"] = cpu_per_op(peer, cpu, n)
    res["mach_us"] = machine_per_op(mach, n)
    for pct in ("50", "99"):
        m = re.search(r"^\s+%s(?:\.0+)?%%\s+([\d.]+)(us|ms|s)\b" % pct,
                      out, re.M)
        if m:
            scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
            res["p" + pct] = float(m.group(1)) * scale
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                  r"timeout (\d+)", out)
    if m:       # a close after a complete response is not a read error
        errors += sum(int(g) for g in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    res["errors"] = errors
    return res


def measure_cps(ctx, peer, port):
    r = wrk(ctx, peer, port, close=True)
    return {"rate": r["rate"], "cpu_us": r["cpu_us"], "mach_us": r["mach_us"],
            "errors": r["errors"]}


def measure_wrk_keepalive(ctx, peer, port):
    r = wrk(ctx, peer, port, close=False)
    return {"rate": r["rate"], "p50": r.get("p50"), "p99": r.get("p99"),
            "cpu_us": r["cpu_us"], "mach_us": r["mach_us"],
            "errors": r["errors"]}


def measure_tlscps(ctx, peer, port):
    r = wrk(ctx, peer, port, close=True, tls=True)
    return {"rate": r["rate"], "cpu_us": r["cpu_us"], "errors": r["errors"]}


TLSFULL_CLIENTS = 2


def measure_tlsfull(ctx, peer, port):
    """Full handshakes: openssl s_time -new (no session is ever offered),
    TLSFULL_CLIENTS of them side by side for --duration seconds, each
    fetching / on every connection.  wrk resumes the session of its last
    connection wherever the server hands out a new ticket each time (all
    the peers here), so tlscps is mostly resumed handshakes."""
    cpu = peer.cpu_s()
    argv = ["openssl", "s_time", "-connect", "%s:%d" % (HOST, port),
            "-new", "-time", str(ctx.args.duration), "-www", "/"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
             for _ in range(TLSFULL_CLIENTS)]
    n, errors = 0, 0
    for p in procs:
        try:
            out, _ = p.communicate(timeout=ctx.args.duration + 30)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise BenchError("openssl s_time: no result")
        m = re.search(r"(\d+) connections in [\d.]+ real seconds", out)
        if p.returncode != 0 or not m:
            errors += 1
            continue
        n += int(m.group(1))
    if n == 0:
        raise BenchError("openssl s_time: no connections")
    return {"rate": n / ctx.args.duration,
            "cpu_us": cpu_per_op(peer, cpu, n), "errors": errors}


def measure_tlshttp(ctx, peer, port):
    r = wrk(ctx, peer, port, close=False, tls=True)
    return {"rate": r["rate"], "p50": r.get("p50"), "p99": r.get("p99"),
            "cpu_us": r["cpu_us"], "mach_us": r["mach_us"],
            "errors": r["errors"]}


MIB = 1024 * 1024


def measure_tlsbulk(ctx, peer, port):
    """The 64 MiB file over HTTPS with curl, one download after the
    other (each on a new connection) for --duration seconds, at least
    two: MiB/s over the downloads' own time, the proxy's CPU per MiB."""
    cpu = peer.cpu_s()
    total, secs, n = 0, 0.0, 0
    until = time.monotonic() + ctx.args.duration
    while n < 2 or time.monotonic() < until:
        out = run_tool(["curl", "-sS", "-o", "/dev/null",
                        "--cacert", ctx.tls()["crt"],
                        "--resolve", "%s:%d:%s" % (TLS_NAME, port, HOST),
                        "-w", "%{http_code} %{size_download} %{time_total}",
                        "https://%s:%d/%s" % (TLS_NAME, port, BIG_FILE)],
                       timeout=120)
        code, size, t = out.split()
        if code != "200" or int(size) != BIG_SIZE:
            raise BenchError("curl: status %s, %s of %d bytes"
                             % (code, size, BIG_SIZE))
        total += int(size)
        secs += float(t)
        n += 1
    return {"mibps": total / MIB / secs,
            "cpu_us": cpu_per_op(peer, cpu, total / MIB), "errors": 0}


def measure_redis(ctx, peer, port):
    cpu, mach = peer.cpu_s(), machine_cpu_s()
    out = run_tool(["redis-benchmark", "-h", HOST, "-p", str(port),
                    "-c", str(ctx.args.connections),
                    "-n", str(ctx.args.redis_requests),
                    "-t", "ping_mbulk", "--csv"], timeout=120)
    rows = [l.replace('"', "").split(",") for l in out.splitlines() if l]
    for row in rows[1:]:
        if row[0].startswith("PING"):
            col = dict(zip(rows[0], row))
            return {"rate": float(col["rps"]),
                    "p50": float(col["p50_latency_ms"]),
                    "p99": float(col["p99_latency_ms"]),
                    "cpu_us": cpu_per_op(peer, cpu,
                                         ctx.args.redis_requests),
                    "mach_us": machine_per_op(mach,
                                              ctx.args.redis_requests)}
    raise BenchError("redis-benchmark: no PING row in: " + out[-300:])


def measure_idle(ctx, peer, port):
    n = ctx.args.sessions
    before, fds_before = peer.rss_kib(), peer.fds()
    p = subprocess.Popen([sys.executable, IDLE, "client", str(port), str(n)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 180)
        line = p.stdout.readline() if ready else ""
        m = re.match(r"open (\d+)", line)
        opened = int(m.group(1)) if m else 0
        after, fds_after = peer.rss_kib(), peer.fds()
        p.stdin.close()
        p.wait(60)
        if opened < n:
            raise BenchError("idle: %d of %d sessions opened: %s"
                             % (opened, n, p.stderr.read().strip()))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    return {"kib": (after - before) / n, "fds": (fds_after - fds_before) / n,
            "rss_before": before, "rss_after": after}


class Test:
    def __init__(self, name, title, backend, measure, metrics, tls=False,
                 budget=False):
        self.name = name
        self.title = title
        self.budget = budget        # the peer runs in the CPU quota
        self.backend = backend      # key of Backends.port and WARMUPS
        self.measure = measure      # (ctx, peer, port) -> {key: value}
        self.metrics = metrics      # [(key, label, unit, higher_is_better)]
        self.tls = tls              # the peer terminates TLS


# Rates with latency: the latency added is the peer's minus direct's in
# the same round (direct: the client talks to the backend itself).
LATENCY_METRICS = [
    ("rate", "requests/s", "req/s", True),
    ("p50", "latency p50", "ms", False),
    ("p99", "latency p99", "ms", False),
    ("p50_added", "latency added p50 (minus direct's)", "ms", False),
    ("p99_added", "latency added p99 (minus direct's)", "ms", False),
    ("cpu_us", "proxy CPU per request", "us", False),
    ("mach_added", "machine CPU added per request (minus direct's)", "us",
     False),
]

CONNECTION_METRICS = [
    ("rate", "connections/s", "conn/s", True),
    ("cpu_us", "proxy CPU per connection", "us", False),
    ("mach_added", "machine CPU added per connection (minus direct's)", "us",
     False),
]

TESTS = [
    Test("iperf1", "bulk, iperf3 1 stream", "iperf",
         lambda ctx, peer, port: measure_iperf(ctx, peer, port, 1),
         [("gbps", "throughput", "Gbit/s", True)]),
    Test("iperf8", "bulk, iperf3 8 streams", "iperf",
         lambda ctx, peer, port: measure_iperf(ctx, peer, port, 8),
         [("gbps", "throughput", "Gbit/s", True)]),
    Test("cps", "new connections, wrk Connection: close", "http",
         measure_cps, CONNECTION_METRICS),
    Test("http", "HTTP keep-alive, wrk", "http",
         measure_wrk_keepalive, LATENCY_METRICS),
    Test("redis", "redis PING, redis-benchmark", "redis",
         measure_redis, LATENCY_METRICS),
    Test("bcps", "new connections, wrk Connection: close, at the budget",
         "http", measure_cps, CONNECTION_METRICS, budget=True),
    Test("bhttp", "HTTP keep-alive, wrk, at the budget", "http",
         measure_wrk_keepalive, LATENCY_METRICS, budget=True),
    Test("bredis", "redis PING, redis-benchmark, at the budget", "redis",
         measure_redis, LATENCY_METRICS, budget=True),
    Test("tlscps", "new TLS connections, wrk https Connection: close (resumed)",
         "http", measure_tlscps,
         [("rate", "connections/s", "conn/s", True),
          ("cpu_us", "proxy CPU per handshake", "us", False)], tls=True),
    Test("tlsfull", "full TLS handshakes, %d openssl s_time -new"
         % TLSFULL_CLIENTS, "http", measure_tlsfull,
         [("rate", "connections/s", "conn/s", True),
          ("cpu_us", "proxy CPU per handshake", "us", False)], tls=True),
    Test("tlshttp", "HTTPS keep-alive, wrk", "http",
         measure_tlshttp, LATENCY_METRICS, tls=True),
    Test("tlsbulk", "TLS terminated bulk, curl of a 64 MiB file over https",
         "http", measure_tlsbulk,
         [("mibps", "throughput", "MiB/s", True),
          ("cpu_us", "proxy CPU per MiB", "us", False)], tls=True),
    Test("idle", "idle sessions held open, all the proxy's processes",
         "hold",
         measure_idle,
         [("kib", "memory per session", "KiB", False),
          ("fds", "fds per session", "fds", False)]),
]


# --------------------------------------------------------------------------
# The run

class Context:
    def __init__(self, args):
        self.args = args
        self.workers = args.workers
        self.procs = Procs()
        self.ports = Ports()
        self.tmp = tempfile.mkdtemp(prefix="l4d-bench.")
        os.chmod(self.tmp, 0o755)       # nginx workers run as nobody
        self.seq = 0
        self._tls = None
        self.backends = None
        self.cgroup = None

    def tls(self):
        """The run's certificate (ECDSA P-256, self-signed, for
        TLS_NAME), made on first use: {"crt", "key", "pem" (both, for
        HAProxy)}."""
        if self._tls is None:
            d = os.path.join(self.tmp, "tls")
            os.mkdir(d)
            os.chmod(d, 0o755)
            r = subprocess.run(["sh", MKCERTS, "self", d, TLS_NAME],
                               capture_output=True, text=True)
            if r.returncode != 0:
                raise BenchError("mkcerts: " + r.stderr.strip())
            crt = os.path.join(d, TLS_NAME + ".crt")
            key = os.path.join(d, TLS_NAME + ".key")
            pem = os.path.join(d, TLS_NAME + ".pem")
            with open(pem, "w") as out:
                for part in (crt, key):
                    with open(part) as f:
                        out.write(f.read())
            os.chmod(pem, 0o600)
            self._tls = {"crt": crt, "key": key, "pem": pem}
        return self._tls

    def subdir(self, name):
        self.seq += 1
        d = os.path.join(self.tmp, "%03d-%s" % (self.seq, name))
        os.mkdir(d)
        os.chmod(d, 0o755)
        return d


def measure_once(ctx, test, peer, backends):
    """Fresh peer, one real request, the measurement, stop. A dict, or
    {"error": reason}."""
    try:
        port = peer.start(backends.port[test.backend], tls=test.tls,
                          budget=test.budget)
        if test.tls:
            session = warm_https(ctx, port)
        else:
            WARMUPS[test.backend](port)
        res = test.measure(ctx, peer, port)
        if test.tls:
            res["tls"] = session
        return res
    except (BenchError, OSError, subprocess.SubprocessError,
            ValueError, KeyError) as e:
        return {"error": str(e)}
    finally:
        peer.stop()


def run(ctx, peers, tests):
    """results[test][peer] = list of per-round dicts."""
    results = {t.name: {p.name: [] for p in peers} for t in tests}
    for rnd in range(1, ctx.args.rounds + 1):
        # each round starts with the next peer: none always follows the
        # previous test's last peer (TIME_WAIT sockets, a warm cache)
        k = (rnd - 1) % len(peers)
        order = peers[k:] + peers[:k]
        for test in tests:
            for peer in order:
                if test.name == "idle" and not peer.idle_ok:
                    continue
                if test.tls and not peer.tls_ok:
                    continue
                if test.budget and ctx.cgroup is None:
                    continue
                res = measure_once(ctx, test, peer, ctx.backends)
                results[test.name][peer.name].append(res)
                log("[round %d/%d] %-7s %-15s %s" % (
                    rnd, ctx.args.rounds, test.name, peer.name,
                    brief(test, res)))
            minus_direct(results[test.name])
    return results


def minus_direct(by_peer):
    """p50_added, p99_added: each peer's latency of this round minus
    direct's of the same round; mach_added, its machine CPU per request
    or connection minus direct's."""
    direct = by_peer.get("direct")
    if not direct or "error" in direct[-1]:
        return
    ref = direct[-1]
    for name, runs in by_peer.items():
        if not runs or len(runs) != len(direct) or "error" in runs[-1]:
            continue
        for k, out in (("p50", "p50_added"), ("p99", "p99_added"),
                       ("mach_us", "mach_added")):
            if runs[-1].get(k) is not None and ref.get(k) is not None:
                runs[-1][out] = runs[-1][k] - ref[k]


def brief(test, res):
    if "error" in res:
        return "FAILED: " + res["error"]
    parts = ["%s %s" % (fmt(res.get(k)), unit)
             for k, _, unit, _ in test.metrics]
    if res.get("errors"):
        parts.append("(%d errors)" % res["errors"])
    return ", ".join(parts)


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 1000:
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.1f" % v
    if abs(v) >= 10:
        return "%.2f" % v
    return "%.3f" % v


def ratio(v, ref):
    if v is None or not ref:
        return None
    return v / ref


def summarize(peers, tests, results):
    """{test: {metric: {peer: {...}}}} with medians and ratios."""
    out = {}
    for test in tests:
        out[test.name] = {}
        for key, label, unit, higher in test.metrics:
            rows = {}
            for peer in peers:
                runs = results[test.name][peer.name]
                vals = [r[key] for r in runs
                        if "error" not in r and r.get(key) is not None]
                rows[peer.name] = {
                    "runs": vals,
                    "median": statistics.median(vals) if vals else None,
                    "failed": [r["error"] for r in runs if "error" in r],
                    "errors": sum(r.get("errors", 0) for r in runs),
                    "na": not runs,
                }
            med = {p: r["median"] for p, r in rows.items()}
            haps = [med[p] for p in ("haproxy", "haproxy-splice")
                    if med.get(p) is not None]
            best = (max if higher else min)(haps) if haps else None
            for p, r in rows.items():
                r["vs_haproxy"] = ratio(r["median"], best)
                r["vs_haproxy_plain"] = ratio(r["median"], med.get("haproxy"))
                r["vs_haproxy_splice"] = ratio(r["median"],
                                               med.get("haproxy-splice"))
                r["vs_direct"] = ratio(r["median"], med.get("direct"))
            out[test.name][key] = {"label": label, "unit": unit,
                                   "higher_is_better": higher, "peers": rows}
    return out


def print_table(ctx, peers, tests, summary, meta):
    w = sys.stdout.write
    w("\nl4d bench: WORKERS=%d, %d round(s), median of rounds; "
      "%s, %d cores\n" % (ctx.workers, ctx.args.rounds, meta["kernel"],
                          meta["cpus"]))
    w("ratios are peer/reference: above 1 is better for rates, "
      "worse for latency and memory.\n")
    w("hap = the better HAProxy variant, hap-p = plain, hap-s = splice-auto.\n")
    for test in tests:
        for key, label, unit, higher in test.metrics:
            s = summary[test.name][key]
            w("\n%s: %s (%s, %s is better)\n" % (
                test.title + (" (%s)" % ctx.cgroup.describe()
                              if test.budget and ctx.cgroup else ""),
                label, unit, "higher" if higher else "lower"))
            w("  %-15s %10s %7s %7s %7s %7s   %s\n" % (
                "peer", "median", "/hap", "/hap-p", "/hap-s", "/direct",
                "runs"))
            for peer in peers:
                r = s["peers"][peer.name]
                if r["na"]:
                    w("  %-15s %10s\n" % (peer.name, "n/a"))
                    continue
                runs = " ".join(fmt(v) for v in r["runs"])
                if r["failed"]:
                    runs += "  (%d failed)" % len(r["failed"])
                if r["errors"]:
                    runs += "  (%d request errors)" % r["errors"]
                w("  %-15s %10s %7s %7s %7s %7s   %s\n" % (
                    peer.name, fmt(r["median"]),
                    fmt2(r["vs_haproxy"]), fmt2(r["vs_haproxy_plain"]),
                    fmt2(r["vs_haproxy_splice"]), fmt2(r["vs_direct"]),
                    runs))
    print_overview(w, peers, tests, summary)
    w("\nnotes:\n")
    for peer in peers:
        if peer.note:
            w("  %-15s %s\n" % (peer.name, peer.note))
    w("  %-15s %d sessions; RSS counts user memory only (not socket or "
      "pipe buffers);\n  %-15s n/a for direct (no proxy) and socat (a "
      "process per session)\n" % ("idle", ctx.args.sessions, ""))
    w("  %-15s wrk -t%d -c%d, redis-benchmark -c%d: the clients share the "
      "%d cores\n" % ("clients", ctx.args.wrk_threads, ctx.args.connections,
                        ctx.args.connections, os.cpu_count()))
    sessions = {}
    for t in tests:
        if t.tls:
            for p in peers:
                for r in ctx.results[t.name][p.name]:
                    if r.get("tls"):
                        sessions.setdefault(p.name, set()).add(r["tls"])
    if sessions:
        w("  %-15s ECDSA P-256 certificate, wrk and curl as clients; "
          "negotiated:\n" % "tls")
        for p in peers:
            if p.name in sessions:
                w("  %-15s   %s: %s\n" % ("", p.name,
                                           ", ".join(sorted(sessions[p.name]))))
        w("  %-15s l4d: relays %d and tls_engines %d (engines terminate "
          "TLS)\n" % ("", ctx.workers, ctx.workers))
    if ctx.cgroup is not None:
        w("  %-15s b* rows: every process of the peer in one cgroup of "
          "%s;\n  %-15s the clients and the backends outside it\n"
          % ("budget", ctx.cgroup.describe(), ""))
    for name, why in meta["skipped"].items():
        w("  %-15s SKIPPED: %s\n" % (name, why))
    failures = [(t, k, p, e) for t, ms in summary.items()
                for k, m in ms.items() for p, r in m["peers"].items()
                for e in r["failed"]]
    seen = set()
    for t, k, p, e in failures:
        if (t, p, e) not in seen:
            seen.add((t, p, e))
            w("  failed: %s %s: %s\n" % (t, p, e))


def print_overview(w, peers, tests, summary):
    """One line per metric: each peer's median over the better HAProxy."""
    w("\noverview: median / better HAProxy variant "
      "(rates: higher is better; ms, us, KiB, fds: lower)\n")
    w("  %-26s" % "" + "".join(" %9s" % p.name[:9] for p in peers) + "\n")
    for test in tests:
        for key, label, unit, _ in test.metrics:
            rows = summary[test.name][key]["peers"]
            cells = []
            for p in peers:
                r = rows[p.name]
                cells.append(" %9s" % ("n/a" if r["na"]
                                       else fmt2(r["vs_haproxy"])))
            name = test.name + (" " + key if key in ("p50", "p99")
                                else " +mach" if key == "mach_added"
                                else " +" + key[:3] if key.endswith("_added")
                                else " cpu" if key == "cpu_us" else "")
            w("  %-26s" % ("%s %s" % (name, unit))[:26]
              + "".join(cells) + "\n")


def fmt2(v):
    return "-" if v is None else "%.2f" % v


def tool_versions():
    probes = {
        "haproxy": (["haproxy", "-v"], 0),
        "nginx": (["nginx", "-v"], 0),
        "socat": (["socat", "-V"], 1),
        "iperf3": (["iperf3", "--version"], 0),
        "wrk": (["wrk", "-v"], 0),
        "redis-server": (["redis-server", "--version"], 0),
        "l4d": (["git", "-C", TOP, "describe", "--always", "--dirty"], 0),
    }
    out = {}
    for name, (argv, line) in probes.items():
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=10)
            lines = (r.stdout + r.stderr).splitlines()
            out[name] = lines[line].strip() if len(lines) > line else ""
        except (OSError, subprocess.SubprocessError):
            out[name] = None
    return out


def parse_args(argv):
    names = [t.name for t in TESTS]
    ap = argparse.ArgumentParser(
        description="Benchmark l4d against HAProxy, nginx, socat, direct.")
    ap.add_argument("--workers", type=int,
                    default=int(os.environ.get("WORKERS", "1")),
                    help="workers of every peer (default: $WORKERS or 1)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved rounds (default 3)")
    ap.add_argument("--duration", type=int, default=3,
                    help="seconds of each iperf3 and wrk run (default 3)")
    ap.add_argument("--connections", type=int, default=50,
                    help="wrk and redis-benchmark clients (default 50)")
    ap.add_argument("--wrk-threads", type=int, default=1,
                    help="wrk threads (default 1)")
    ap.add_argument("--redis-requests", type=int, default=100000,
                    help="redis-benchmark -n (default 100000)")
    ap.add_argument("--sessions", type=int, default=5000,
                    help="idle sessions (default 5000)")
    ap.add_argument("--peers", default="",
                    help="comma-separated subset of: direct,l4d,l4d-sockmap,"
                         "l4d-adaptive,"
                         "l4d-ab,haproxy,haproxy-splice,nginx,socat")
    ap.add_argument("--tests", default="",
                    help="comma-separated subset of: " + ",".join(names))
    ap.add_argument("--budget", type=float, default=40.0,
                    help="CPU quota of the budgeted rows, percent of one "
                         "CPU per worker (default 40); 0 skips them")
    ap.add_argument("--period", type=float, default=10.0,
                    help="ms over which the quota is given (default 10; "
                         "the kernel's own is 100)")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"),
                    help="where to write the results (default %(default)s)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    if args.workers < 1 or args.rounds < 1 or args.duration < 1:
        ap.error("--workers, --rounds and --duration must be at least 1")
    if not 1.0 <= args.period <= 1000.0:
        ap.error("--period must be from 1 to 1000 ms")
    if 0 < args.budget * args.period / 100.0 < 1.0:
        ap.error("--budget %g%% of --period %g ms is under 1 ms, the "
                 "kernel's least quota" % (args.budget, args.period))
    return args


def select_by_name(items, wanted, what):
    if not wanted:
        return items
    names = [n.strip() for n in wanted.split(",") if n.strip()]
    known = {i.name: i for i in items}
    bad = [n for n in names if n not in known]
    if bad:
        raise SystemExit("bench: unknown %s: %s (known: %s)"
                         % (what, ", ".join(bad), ", ".join(known)))
    return [known[n] for n in names]


def on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def main(argv):
    global VERBOSE
    args = parse_args(argv)
    VERBOSE = args.verbose
    # Children inherit this: 5,000 idle sessions need 10,000 fds in a proxy.
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    ctx = Context(args)
    tests = select_by_name(TESTS, args.tests, "test")
    peers, skipped = [], {}
    for peer in select_by_name(make_peers(ctx), args.peers, "peer"):
        why = peer.available()
        if why:
            log("bench: skipping %s: %s" % (peer.name, why))
            skipped[peer.name] = why
        else:
            peers.append(peer)
    if not peers:
        raise SystemExit("bench: no peer can run")

    meta = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "kernel": "Linux " + platform.release(),
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "rounds": args.rounds,
        "params": {k: getattr(args, k) for k in (
            "duration", "connections", "wrk_threads", "redis_requests",
            "sessions")},
        "versions": tool_versions(),
        "notes": {p.name: p.note for p in peers if p.note},
        "skipped": skipped,
    }
    log("bench: WORKERS=%d, %d rounds, peers: %s; scratch %s" % (
        args.workers, args.rounds, " ".join(p.name for p in peers), ctx.tmp))
    started = time.monotonic()
    if args.budget > 0 and any(t.budget for t in tests):
        try:
            ctx.cgroup = Cgroup(args.budget, args.workers,
                                int(args.period * 1000))
            meta["budget"] = ctx.cgroup.describe()
        except (BenchError, OSError) as e:
            log("bench: no budgeted rows: %s" % e)
            meta["skipped"]["budget"] = str(e)
    try:
        ctx.backends = Backends(ctx)
        ctx.backends.start()
        results = run(ctx, peers, tests)
        ctx.results = results
    except KeyboardInterrupt:
        log("bench: interrupted, cleaning up")
        shutil.rmtree(ctx.tmp, ignore_errors=True)
        return 130
    except BenchError as e:
        log("bench: %s" % e)
        return 1
    finally:
        for p in peers:
            p.stop()
        ctx.procs.stop_all()
        if ctx.cgroup is not None:
            ctx.cgroup.remove()
    meta["seconds"] = round(time.monotonic() - started, 1)

    summary = summarize(peers, tests, results)
    print_table(ctx, peers, tests, summary, meta)
    with open(args.json, "w") as f:
        json.dump({"meta": meta, "results": summary, "raw": results}, f,
                  indent=2)
        f.write("\n")
    failed = any("error" in r for t in results.values()
                 for runs in t.values() for r in runs)
    print("\nJSON: %s   (%.0fs in all)" % (args.json, meta["seconds"]))
    if failed:
        print("logs of the peers: %s" % ctx.tmp)
    else:
        shutil.rmtree(ctx.tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
