#!/usr/bin/env python3
"""Backends over TLS: https:// servers with certificates made at test time
(test_tls.PKI), served by a small threaded Python ssl server that reports
what each connection negotiated (SNI, session resumption), the real rondo in
front of them."""

import hashlib
import json
import os
import socket
import ssl
import sys
import threading
import types

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402
from test_tls import PKI  # noqa: E402

suite = lib.Suite("test_tls_backend")
MiB = 1 << 20


class TLSBackend:
    """An HTTPS backend on 127.0.0.1, in threads of the test process. Answers
    every request with X-Backend and, as JSON, what its connection negotiated
    (/echo: the request body instead). Records each connection: SNI, TLS
    version, session reuse, requests carried (health checks apart)."""

    def __init__(self, ctx, name, cert, close_each=False):
        self.name = name
        self.close_each = close_each    # one response per connection
        self.lock = threading.Lock()
        self.conns = []                 # one dict per handshake that succeeded
        self.failed = 0                 # handshakes that did not
        self.set_cert(cert)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.port = lib.free_port()
        self.sock.bind((lib.LOOPBACK, self.port))
        self.sock.listen(128)
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()
        ctx.backends.append(self)       # stopped with the test (kill)

    def url(self, host="localhost"):
        return "https://%s:%d" % (host, self.port)

    def set_cert(self, cert):
        """Serves cert from now on: a new context, so earlier sessions do not resume."""
        c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        c.load_cert_chain(*cert)
        c.sni_callback = self._sni
        self.ctx = c

    @staticmethod
    def _sni(sslsock, name, ctx):
        sslsock.rondo_sni = name
        return None

    def kill(self):
        self.stopped = True
        try:
            self.sock.close()
        except OSError:
            pass

    def served(self):
        """The connections that carried requests other than health checks."""
        with self.lock:
            return [dict(c) for c in self.conns if c["requests"] > 0]

    def _accept(self):
        while not self.stopped:
            try:
                raw, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw):
        raw.settimeout(10 * lib.SLOW)
        try:
            s = self.ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            with self.lock:
                self.failed += 1
            raw.close()
            return
        rec = {"sni": getattr(s, "rondo_sni", None), "version": s.version(),
               "reused": s.session_reused, "requests": 0}
        with self.lock:
            self.conns.append(rec)
        f = s.makefile("rb")
        try:
            for _ in range(10000):
                line = f.readline(65537)
                if not line:
                    break
                method, target, _ = line.decode("latin-1").split(" ", 2)
                headers = []
                for _ in range(200):
                    h = f.readline(65537)
                    if h in (b"\r\n", b"\n", b""):
                        break
                    k, _, v = h.decode("latin-1").partition(":")
                    headers.append((k.strip(), v.strip()))
                hd = {k.lower(): v for k, v in headers}
                n = int(hd.get("content-length", "0"))
                body = f.read(n) if n else b""
                if hd.get("user-agent") != "rondo-health":
                    with self.lock:
                        rec["requests"] += 1
                close = self.close_each or hd.get("connection", "").lower() == "close"
                if target in ("/eof-clean", "/eof-ragged"):
                    # a body delimited by the close, then close_notify or a bare close
                    s.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n" + b"e" * 1000)
                    if target == "/eof-clean":
                        s = s.unwrap()
                    break
                if target == "/echo":
                    out = body
                else:
                    out = json.dumps({"backend": self.name, "sni": rec["sni"],
                                      "version": rec["version"], "reused": rec["reused"],
                                      "headers": headers}).encode()
                head = "HTTP/1.1 200 OK\r\nX-Backend: %s\r\nContent-Length: %d\r\n%s\r\n" % (
                    self.name, len(out), "Connection: close\r\n" if close else "")
                s.sendall(head.encode() + (b"" if method == "HEAD" else out))
                if close:
                    break
        except (OSError, ValueError, ssl.SSLError):
            pass
        finally:
            f.close()
            s.close()


def other_pki(ctx):
    """A second CA, which rondo is not told about."""
    return PKI(types.SimpleNamespace(tmpdir=os.path.join(ctx.tmpdir, "other")))


def established_to(port):
    """Established TCP connections to a loopback port, from /proc/net/tcp."""
    n = 0
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        f = line.split()
        if f[2].endswith(":%04X" % port) and f[3] == "01":
            n += 1
    return n


def config(servers, pki, **extra):
    conf = {"healthCheckInterval": "500ms", "workers": 1, "servers": servers,
            "tls": {"backendCA": pki.ca}}
    conf.update(extra)
    return conf


@suite.test
def round_robin_over_https_backends(ctx):
    pki = PKI(ctx)
    bs = [TLSBackend(ctx, "t%d" % i, pki.leaf("be%d" % i, ["localhost"])) for i in (1, 2)]
    r = ctx.rondo(config([b.url() for b in bs], pki))
    lib.warm_up(r, [b.name for b in bs])
    counts = {b.name: 0 for b in bs}
    for i in range(20):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d to an https backend" % i)
        counts[resp.header("X-Backend")] += 1
        got = resp.json()
        expect_eq((got["sni"], got["version"]), ("localhost", "TLSv1.3"),
                  "SNI and version the backend saw")
    expect_eq(sorted(counts.values()), [10, 10], "20 requests over two https backends")
    for b in bs:
        expect(all(c["sni"] == "localhost" for c in b.served()),
               "backend %s: a connection without the right SNI: %s", b.name, b.served())


@suite.test
def untrusted_backend_is_down(ctx):
    pki, other = PKI(ctx), other_pki(ctx)
    b = TLSBackend(ctx, "bad", other.leaf("bad", ["localhost"]))
    r = ctx.rondo(config([b.url()], pki))
    r.wait_log(r"health: (warning: )?backend https://localhost:%d is down \(certificate verify failed: "
               r"unable to get local issuer certificate\)" % b.port, 10 * lib.SLOW)
    for i in range(3):
        resp = r.get("/")
        expect_eq((resp.status, resp.body), (503, b"No healthy server available"),
                  "request %d with the only backend untrusted" % i)
    expect_eq(b.served(), [], "requests the untrusted backend received")


@suite.test
def verify_false(ctx):
    pki, other = PKI(ctx), other_pki(ctx)
    b = TLSBackend(ctx, "loose", other.leaf("loose", ["elsewhere.test"]))
    r = ctx.rondo(config([{"url": b.url(), "verify": False}], pki))
    expect(r.find_log(r"not verified") is not None, "no warning about \"verify\": false")
    lib.warm_up(r, ["loose"])
    expect_eq(r.get("/").status, 200, "a request to an unverified backend")
    expect(b.served(), "the backend saw no request")


@suite.test
def keepalive_pool_over_tls(ctx):
    pki = PKI(ctx)
    b = TLSBackend(ctx, "ka", pki.leaf("ka", ["localhost"]))
    r = ctx.rondo(config([b.url()], pki))
    lib.warm_up(r, ["ka"])
    for i in range(30):
        expect_eq(r.get("/").status, 200, "request %d" % i)   # a new client connection each
    served = b.served()
    expect(sum(c["requests"] for c in served) >= 30, "requests seen: %s", served)
    expect(len(served) <= 3, "30 requests took %d backend connections: pooled TLS connections "
           "are not reused", len(served))


@suite.test
def sessions_resume(ctx):
    pki = PKI(ctx)
    b = TLSBackend(ctx, "rs", pki.leaf("rs", ["localhost"]), close_each=True)
    r = ctx.rondo(config([b.url()], pki))
    lib.warm_up(r, ["rs"])
    for i in range(10):
        expect_eq(r.get("/").status, 200, "request %d" % i)
    served = b.served()
    expect(len(served) >= 10, "one connection per request: %s", served)
    resumed = sum(1 for c in served[1:] if c["reused"])
    expect(resumed >= len(served) - 2, "only %d of %d connections resumed a session",
           resumed, len(served))


@suite.test
def health_checks_resume_sessions(ctx):
    """Health probes of an https backend resume the session of the probe
    before rather than making the backend do a full handshake each time."""
    pki = PKI(ctx)
    b = TLSBackend(ctx, "hc", pki.leaf("hc", ["localhost"]))
    r = ctx.rondo(config([b.url()], pki, healthCheckInterval="100ms"))
    lib.warm_up(r, ["hc"])

    def probes():
        with b.lock:
            return [dict(c) for c in b.conns if c["requests"] == 0]
    lib.wait_until(lambda: len(probes()) >= 10, 10 * lib.SLOW, "10 health probes")
    got = probes()
    resumed = sum(1 for c in got[1:] if c["reused"])
    expect(resumed >= len(got) - 2, "only %d of %d health probes resumed a session",
           resumed, len(got))


@suite.test
def certificate_changed_at_runtime(ctx):
    pki, other = PKI(ctx), other_pki(ctx)
    b = TLSBackend(ctx, "sw", pki.leaf("sw", ["localhost"]), close_each=True)
    # Health checks far apart: the request meets the new certificate first.
    r = ctx.rondo(config([b.url()], pki, healthCheckInterval="1h", retries=0, maxFails=1,
                         failTimeout="30s"))
    lib.warm_up(r, ["sw"])
    expect_eq(r.get("/").status, 200, "before the swap")
    b.set_cert(other.leaf("sw2", ["localhost"]))
    mark = r.mark()
    expect_eq(r.get("/").status, 502, "a request after the backend's certificate changed")
    r.wait_log(r"backend https://localhost:%d: certificate verify failed: unable to get local "
               r"issuer certificate" % b.port, 5 * lib.SLOW, since=mark)
    r.wait_log(r"backend https://localhost:%d is down for 30\.0s: 1 failures" % b.port,
               5 * lib.SLOW, since=mark)
    # Once by the worker that met it (the health child's first probe may
    # also come after the swap on a slow machine, and says so on its own).
    expect_eq(len([l for l in r.lines[mark:] if "certificate verify failed" in l and
                   " worker " in l]), 1, "worker log lines about the failure")
    expect_eq(r.get("/").status, 503, "the backend taken out by passive health checks")


@suite.test
def sessions_resume_on_rondo_behind_rondo(ctx):
    # Two tiers: the front rondo's https server is another rondo's TLS
    # listener. Backend connections end without a TLS close (idle timeout),
    # which must not spoil the session kept to resume the next one.
    import re
    pki = PKI(ctx)
    cert = pki.leaf("back", ["localhost"])
    bs = ctx.backends_n(1)
    aaddr = (lib.LOOPBACK, lib.free_port())
    tls_port = lib.free_port()
    back = lib.Rondo(ctx, {"healthCheckInterval": "1h", "workers": 1, "servers": [bs[0].url],
                           "admin": lib.admin_conf(aaddr),
                           "tls": {"port": "127.0.0.1:%d" % tls_port,
                                   "certificates": [{"cert": cert[0], "key": cert[1]}]}})
    back.conf_path = os.path.join(ctx.tmpdir, "back.json")
    back.log_path = os.path.join(ctx.tmpdir, "back.log")
    ctx.rondos.append(back)
    back.start()
    front = ctx.rondo(config(["https://localhost:%d" % tls_port], pki,
                             healthCheckInterval="1h", timeouts={"idle": "100ms"}))
    lib.warm_up(front, [bs[0].name])

    def resumed():
        text = lib.admin_request(aaddr, "GET", "/metrics").body.decode()
        m = re.search(r'^rondo_tls_resumed_handshakes_total\{listener="tls"\} (\d+)', text, re.M)
        return int(m.group(1))
    lib.wait_until(lambda: established_to(tls_port) == 0, 5 * lib.SLOW,
                   "the warm-up's backend connection to close")
    before = resumed()
    for i in range(10):
        expect_eq(front.get("/").status, 200, "request %d through two tiers" % i)
        # the front's pooled connection closes after 100 ms idle: the next one is new
        lib.wait_until(lambda: established_to(tls_port) == 0, 5 * lib.SLOW,
                       "the pooled backend connection to close")
    expect(resumed() - before >= 10, "backend connections resumed: %d of 10", resumed() - before)


def read_to_end(c):
    """Everything until the end of the stream; "clean" (close_notify) or "cut"."""
    data = b""
    try:
        while True:
            d = c.recv(65536)
            if not d:
                return data, "clean"
            data += d
    except ssl.SSLEOFError:
        return data, "cut"


@suite.test
def close_notify_only_for_whole_responses(ctx):
    # TLS on both sides. A body delimited by the close is whole only if the
    # backend ended with close_notify: then the client gets one too; after a
    # bare close it must not (its close must look cut, as the backend's did).
    pki = PKI(ctx)
    b = TLSBackend(ctx, "eof", pki.leaf("eof", ["localhost"]))
    front = pki.leaf("front", ["a.test"])
    tls_port = lib.free_port()
    r = ctx.rondo(config([b.url()], pki, tls={"backendCA": pki.ca,
                                              "port": "127.0.0.1:%d" % tls_port,
                                              "certificates": [{"cert": front[0],
                                                                "key": front[1]}]}))
    lib.warm_up(r, ["eof"])
    cctx = ssl.create_default_context(cafile=pki.ca)
    for path, want in (("/eof-clean", "clean"), ("/eof-ragged", "cut"), ("/", "clean")):
        with socket.create_connection(("127.0.0.1", tls_port), timeout=10 * lib.SLOW) as raw:
            with cctx.wrap_socket(raw, server_hostname="a.test",
                                  suppress_ragged_eofs=False) as c:
                c.sendall(("GET %s HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
                           % path).encode())
                data, end = read_to_end(c)
        expect(data.startswith(b"HTTP/1.1 200"), "%s: %r", path, data[:60])
        expect_eq(end, want, "how the TLS stream of %s ended" % path)


@suite.test
def big_bodies_through_tls_backend(ctx):
    pki = PKI(ctx)
    b = TLSBackend(ctx, "big", pki.leaf("big", ["localhost"]))
    r = ctx.rondo(config([b.url()], pki))
    lib.warm_up(r, ["big"])
    body = os.urandom(16 * MiB)
    h = hashlib.sha256()
    with r.client(timeout=60) as c:
        resp = c.request("POST", "/echo", body=body, sink=h.update)
        expect_eq(resp.status, 200, "16 MiB echo")
        expect_eq(h.hexdigest(), hashlib.sha256(body).hexdigest(), "16 MiB came back intact")
        expect_eq(c.request("GET", "/").status, 200, "the same client connection afterwards")


if __name__ == "__main__":
    suite.main()
