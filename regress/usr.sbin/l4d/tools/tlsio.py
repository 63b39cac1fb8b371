"""TLS over a non-blocking socket, driven by one thread, for the l4d
tests' clients and servers (tlsclient.py, servers.py --tls-cert).

Python's ssl.SSLSocket cannot read in one thread while another writes,
and it has no way to send a close_notify and go on reading.  TLSStream
runs the TLS state machine on memory BIOs (ssl.SSLObject) and moves the
bytes itself, so that one thread can send and receive at the same time
(64 MiB each way), half-close (close_notify, then read on: TLS 1.3 and
OpenSSL allow it) and see exactly how the peer ended: "close_notify",
"eof" (a TCP FIN without close_notify), "reset" or an alert.

Every call takes an absolute deadline (time.monotonic()) and raises
TLSTimeout when it passes.
"""

import hashlib
import selectors
import socket
import ssl
import time

RECV = 1 << 18          # bytes read from the socket at a time
WBUF_MAX = 1 << 20      # ciphertext queued before we wait for the socket
PLAIN = 1 << 16         # plaintext written to the TLS object at a time


class TLSTimeout(Exception):
    pass


class TLSStream:
    def __init__(self, sock, ctx, server_side=False, server_hostname=None):
        sock.setblocking(False)
        self.sock = sock
        self.inc = ssl.MemoryBIO()
        self.out = ssl.MemoryBIO()
        self.obj = ctx.wrap_bio(self.inc, self.out, server_side=server_side,
                                server_hostname=server_hostname)
        self.wbuf = bytearray()
        self.sock_eof = False       # the peer's FIN (or reset) came
        self.reset = False
        self.ended = None           # how the peer's stream ended
        self.sent_close = False
        self.rbuf = bytearray()     # plaintext nobody took yet
        self.sel = selectors.DefaultSelector()
        self.sel.register(sock, selectors.EVENT_READ)
        self.events = selectors.EVENT_READ

    # -- the socket --------------------------------------------------

    def _want(self, read, write):
        ev = (selectors.EVENT_READ if read else 0) | \
            (selectors.EVENT_WRITE if write else 0)
        if ev != self.events:
            if ev:
                if self.events:
                    self.sel.modify(self.sock, ev)
                else:
                    self.sel.register(self.sock, ev)
            else:
                self.sel.unregister(self.sock)
            self.events = ev

    def _wait(self, deadline, read=True):
        """Send what is queued, wait for the socket, read what came
        into the incoming BIO.  Returns when something happened."""
        self.wbuf += self.out.read()
        read = read and not self.sock_eof
        write = bool(self.wbuf)
        if not read and not write:
            return
        left = deadline - time.monotonic()
        if left <= 0:
            raise TLSTimeout()
        self._want(read, write)
        for _, ev in self.sel.select(min(left, 1.0)):
            if ev & selectors.EVENT_WRITE:
                try:
                    n = self.sock.send(self.wbuf[:RECV])
                    del self.wbuf[:n]
                except BlockingIOError:
                    pass
                except (BrokenPipeError, ConnectionResetError):
                    # The peer is gone: what we queued will never go.
                    self.wbuf.clear()
                    self._eof(reset=True)
            if ev & selectors.EVENT_READ:
                self._read_sock()

    def _read_sock(self):
        try:
            b = self.sock.recv(RECV)
        except BlockingIOError:
            return
        except ConnectionResetError:
            self._eof(reset=True)
            return
        if b:
            self.inc.write(b)
        else:
            self._eof()

    def _eof(self, reset=False):
        if not self.sock_eof:
            self.sock_eof = True
            self.reset = reset
            self.inc.write_eof()

    def flush(self, deadline):
        """Wait until every queued ciphertext byte went to the socket."""
        self.wbuf += self.out.read()
        while self.wbuf:
            self._wait(deadline, read=False)

    # -- TLS ---------------------------------------------------------

    def handshake(self, deadline):
        while True:
            try:
                self.obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                if self.sock_eof:
                    raise ssl.SSLEOFError(
                        "the peer closed during the handshake (%s)" %
                        ("reset" if self.reset else "eof"))
                self._wait(deadline)
        self.wbuf += self.out.read()

    def _read_plain(self, on_data):
        """Hand every plaintext byte the incoming BIO holds to on_data;
        notice the end of the peer's stream."""
        while self.ended is None:
            try:
                b = self.obj.read(PLAIN)
            except ssl.SSLWantReadError:
                if self.sock_eof and self.inc.pending == 0:
                    self.ended = "reset" if self.reset else "eof"
                return
            except ssl.SSLZeroReturnError:
                self.ended = "close_notify"
                return
            except ssl.SSLEOFError:
                self.ended = "reset" if self.reset else "eof"
                return
            except ssl.SSLError as e:
                self.ended = "error: %s" % (e.reason or e)
                return
            if not b:
                self.ended = "close_notify"
                return
            on_data(b)

    def close_notify(self):
        """Queue our close_notify; reading goes on.  Only when nothing
        unread is in the incoming BIO: OpenSSL's SSL_shutdown would
        fail on application data it finds there."""
        if self.sent_close:
            return
        self.sent_close = True
        try:
            self.obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError:
            pass
        self.wbuf += self.out.read()

    def pump(self, deadline, chunks=(), on_data=None, close=True,
             shut_wr=False, until_eof=True, stop=None):
        """Send every chunk of chunks while reading; then, with close,
        our close_notify (with shut_wr, a TCP FIN after it); read until
        the peer's stream ends (until_eof) or stop() is true.  on_data
        gets every plaintext byte received.  Returns how the peer's
        stream ended (None: it has not)."""
        on_data = on_data or self.rbuf.extend
        it = iter(chunks)
        pending = b""
        sending = True
        shut = False
        while True:
            while sending and len(self.wbuf) < WBUF_MAX:
                if not pending:
                    pending = next(it, None)
                    if pending is None:
                        sending = False
                        pending = b""
                        break
                try:
                    n = self.obj.write(pending[:PLAIN])
                except ssl.SSLWantReadError:
                    break
                except ssl.SSLError as e:
                    raise OSError("TLS write: %s" % e)
                pending = pending[n:]
                self.wbuf += self.out.read()
            self._read_plain(on_data)
            if not sending and close and not self.sent_close and \
                    self.inc.pending == 0:
                self.close_notify()
            self.wbuf += self.out.read()
            if not sending and shut_wr and not shut and not self.wbuf and \
                    (self.sent_close or not close):
                try:
                    self.sock.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                shut = True
            sent = not sending and not self.wbuf and \
                (self.sent_close or not close) and (shut or not shut_wr)
            received = not until_eof or self.ended is not None or \
                (stop is not None and stop())
            if sent and received:
                return self.ended
            if sending and self.reset:
                raise OSError("the peer reset the connection with data "
                              "left to send")
            self._wait(deadline, read=self.ended is None)

    def recv_line(self, deadline):
        """Read until a newline came; returns the line without it, or
        None if the stream ended first (what came is in self.rbuf)."""
        buf = self.rbuf
        while b"\n" not in buf:
            self._read_plain(buf.extend)
            if b"\n" in buf or self.ended is not None:
                break
            self._wait(deadline)
        if b"\n" not in buf:
            return None
        i = buf.index(b"\n")
        line = bytes(buf[:i])
        del buf[:i + 1]
        return line

    def recv_some(self, deadline):
        """The plaintext that came (waiting until some does); b"" once
        the peer's stream ended."""
        while not self.rbuf and self.ended is None:
            self._read_plain(self.rbuf.extend)
            if self.rbuf or self.ended is not None:
                break
            self._wait(deadline)
        b = bytes(self.rbuf)
        self.rbuf.clear()
        return b

    def send(self, data, deadline):
        """Send data (what arrives meanwhile goes to self.rbuf)."""
        self.pump(deadline, [data], close=False, until_eof=False)

    def wait_end(self, deadline):
        """Read (into self.rbuf) until the peer's stream ends; returns
        how it ended."""
        while self.ended is None:
            self._read_plain(self.rbuf.extend)
            if self.ended is not None:
                break
            self._wait(deadline)
        return self.ended

    def close(self, deadline):
        """close_notify (best effort: the peer may be gone), then close."""
        try:
            if self.ended is None:
                self._read_plain(self.rbuf.extend)
            if not self.sent_close and self.inc.pending == 0:
                self.close_notify()
            self.flush(deadline)
        except (OSError, TLSTimeout):
            pass
        self.sel.close()
        self.sock.close()

    # -- what was negotiated -----------------------------------------

    def info(self):
        der = self.obj.getpeercert(binary_form=True)
        return {
            "version": self.obj.version(),
            "cipher": (self.obj.cipher() or ("-",))[0],
            "reused": self.obj.session_reused,
            "peer_sha256": fingerprint(der) if der else "-",
        }


def fingerprint(der):
    """SHA-256 of a DER certificate, as openssl x509 -fingerprint prints
    it: upper-case hex pairs joined by colons."""
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def tls_version(name):
    return {"1.2": ssl.TLSVersion.TLSv1_2,
            "1.3": ssl.TLSVersion.TLSv1_3}[name]


def client_context(ca=None, verify=True, cert=None, key=None,
                   version=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        if ca:
            ctx.load_verify_locations(ca)
        else:
            ctx.load_default_certs()
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(cert, key)
    if version:
        ctx.minimum_version = ctx.maximum_version = tls_version(version)
    return ctx


def server_context(cert, key, client_ca=None, require=False):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    if client_ca:
        ctx.load_verify_locations(client_ca)
        ctx.verify_mode = ssl.CERT_REQUIRED if require else \
            ssl.CERT_OPTIONAL
    return ctx
