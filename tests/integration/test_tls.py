#!/usr/bin/env python3
"""TLS termination: certificates made at test time with the openssl command,
clients from Python's ssl module, the real rondo in front of real backends."""

import hashlib
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_tls")
MiB = 1 << 20


def openssl(*args, cwd):
    p = subprocess.run(["openssl"] + list(args), cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise lib.TestFailure("openssl %s: %s" % (" ".join(args), p.stderr.strip()[-300:]))


class PKI:
    """A test CA in its own directory, and leaves it signs."""

    def __init__(self, ctx):
        if shutil.which("openssl") is None:
            raise lib.TestSkip("no openssl command")
        self.dir = os.path.join(ctx.tmpdir, "pki")
        os.makedirs(self.dir, exist_ok=True)
        self.ca = self.path("ca.pem")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "30",
                "-subj", "/CN=rondo test CA", cwd=self.dir)

    def path(self, name):
        return os.path.join(self.dir, name)

    def leaf(self, name, dns, key="ec", client=False):
        """Signs a leaf for the DNS names; returns (cert path, key path)."""
        if key == "ec":
            kargs = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        else:
            kargs = ["-newkey", "rsa:2048"]
        openssl("req", "-new", *kargs, "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                "-subj", "/CN=%s" % (dns[0] if dns else name), cwd=self.dir)
        ext = self.path(name + ".ext")
        with open(ext, "w") as f:
            if dns:
                f.write("subjectAltName=%s\n" % ",".join("DNS:" + d for d in dns))
            f.write("extendedKeyUsage=%s\n" % ("clientAuth" if client else "serverAuth"))
        openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", name + ".pem",
                cwd=self.dir)
        return self.path(name + ".pem"), self.path(name + ".key")

    @staticmethod
    def der(pem_path):
        with open(pem_path) as f:
            return ssl.PEM_cert_to_DER_cert(f.read())


def client_context(pki, verify=True, versions=None, cert=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if verify:
        ctx.load_verify_locations(pki.ca)
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if versions is not None:
        ctx.minimum_version, ctx.maximum_version = versions
    if cert is not None:
        ctx.load_cert_chain(*cert)
    return ctx


class TLSClient(lib.Client):
    """lib.Client over TLS: the same response reading, through an SSLSocket."""

    def __init__(self, addr, ctx, sni="a.test", session=None, timeout=10.0):
        self.addr = addr
        self.timeout = timeout * lib.SLOW
        raw = socket.create_connection(addr, timeout=self.timeout)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=sni, session=session)
        except BaseException:
            raw.close()
            raise
        self.buf = bytearray()
        self.rbuf = bytearray(1 << 20)
        self.eof = False


def tls_config(backends, pki, certs, **extra):
    """lib.config with a TLS listener for certs (rondo's default workers)."""
    tls = {"port": "127.0.0.1:%d" % lib.free_port(),
           "certificates": [{"cert": c, "key": k} for c, k in certs]}
    tls.update(extra.pop("tls", {}))
    opts = {"workers": None, "tls": tls}
    opts.update(extra)
    return lib.config(backends, **opts)


def tls_addr(r):
    host, _, port = r.config["tls"]["port"].rpartition(":")
    return (host, int(port))


def warm_up(r, pki, names):
    """Requests over TLS until every backend in names answered once."""
    cctx, seen = client_context(pki), set()

    def all_seen():
        with TLSClient(tls_addr(r), cctx) as c:
            resp = c.request("GET", "/")
            if resp.status == 200:
                seen.add(resp.header("X-Backend"))
        return set(names) <= seen

    lib.wait_until(all_seen, 10 * lib.SLOW, "backends %s to answer over TLS" % names)


def start(ctx, nbackends=1, workers=1, **extra):
    pki = PKI(ctx)
    ab = pki.leaf("ab", ["a.test", "b.test"])
    bs = ctx.backends_n(nbackends)
    r = ctx.rondo(tls_config(bs, pki, [ab], workers=workers, **extra))
    warm_up(r, pki, [b.name for b in bs])
    return r, bs, pki, ab


@suite.test
def round_robin_over_tls(ctx):
    r, bs, pki, _ = start(ctx, nbackends=3, workers=2)
    cctx = client_context(pki)
    counts = {b.name: 0 for b in bs}
    for i in range(30):
        with TLSClient(tls_addr(r), cctx) as c:
            resp = c.request("GET", "/")
            expect_eq(resp.status, 200, "request %d over TLS" % i)
            counts[resp.header("X-Backend")] += 1
    expect(all(n == 10 for n in counts.values()), "30 TLS requests should split 10/10/10: %s",
           counts)
    with TLSClient(tls_addr(r), cctx) as c:
        got = c.request("GET", "/headers").json()["headers"]
    protos = [v for k, v in got if k.lower() == "x-forwarded-proto"]
    expect_eq(protos, ["https"], "X-Forwarded-Proto seen by the backend")
    # The plain port still serves plain HTTP beside the TLS one.
    expect_eq(r.get("/").status, 200, "plain listener")


@suite.test
def keepalive_and_pipelining_over_tls(ctx):
    r, _, pki, _ = start(ctx)
    with TLSClient(tls_addr(r), client_context(pki)) as c:
        for i in range(50):
            expect_eq(c.request("GET", "/").status, 200, "keep-alive request %d" % i)
        c.send(lib.build_request("GET", "/") * 20)
        for i in range(20):
            expect_eq(c.read_response().status, 200, "pipelined request %d" % i)


@suite.test
def sni_selects_certificate(ctx):
    pki = PKI(ctx)
    ab = pki.leaf("ab", ["a.test", "b.test"])
    wild = pki.leaf("wild", ["*.w.test"])
    other = pki.leaf("other", ["c.test"], key="rsa")
    bs = ctx.backends_n(1)
    r = ctx.rondo(tls_config(bs, pki, [ab, wild, other]))
    lib.warm_up(r, [bs[0].name])
    loose = client_context(pki, verify=False)
    cases = [("a.test", ab), ("B.TEST", ab), ("x.w.test", wild), ("c.test", other),
             ("y.x.w.test", ab), ("w.test", ab), ("unknown.test", ab), (None, ab)]
    for sni, want in cases:
        with TLSClient(tls_addr(r), loose, sni=sni) as c:
            got = c.sock.getpeercert(binary_form=True)
            expect(got == PKI.der(want[0]), "SNI %r: served the wrong certificate", sni)
            expect_eq(c.request("GET", "/").status, 200, "request with SNI %r" % sni)
    # Verified for real: the names match what the client checks.
    strict = client_context(pki)
    for sni in ("a.test", "x.w.test", "c.test"):
        with TLSClient(tls_addr(r), strict, sni=sni) as c:
            expect_eq(c.request("GET", "/").status, 200, "verified request to %s" % sni)


def resumed_session(addr, cctx, session):
    with TLSClient(addr, cctx, session=session) as c:
        expect_eq(c.request("GET", "/").status, 200, "request on a resumed session")
        return c.sock.session_reused, c.sock.session


@suite.test
def tls13_resumption_issues_a_new_ticket(ctx):
    """A client that resumes with the newest ticket it holds, as browsers and
    wrk do (RFC 8446 advises using a ticket once), resumes every time: each
    resumed TLS 1.3 handshake brings a fresh ticket."""
    r, _, pki, _ = start(ctx, workers=2)
    cctx = client_context(pki, versions=(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3))
    with TLSClient(tls_addr(r), cctx) as c:
        expect_eq(c.request("GET", "/").status, 200, "first request")
        session = c.sock.session
    reused_list = []
    for _ in range(10):
        reused, newer = resumed_session(tls_addr(r), cctx, session)
        reused_list.append(bool(reused))
        expect(newer is not None, "no session after a resumed handshake")
        if reused:
            expect(newer.id != session.id, "a resumed handshake brought no new ticket")
        session = newer
    expect_eq(reused_list, [True] * 10, "10 handshakes, each with the newest ticket")


@suite.test
def resumption_on_every_worker_and_across_reload(ctx):
    r, _, pki, _ = start(ctx, workers=2)
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        cctx = client_context(pki, versions=(version, version))
        with TLSClient(tls_addr(r), cctx) as c:
            expect_eq(c.request("GET", "/").status, 200, "first request")
            expect(not c.sock.session_reused, "the first handshake cannot be a resumption")
            session = c.sock.session
        expect(session is not None and session.has_ticket, "%s: no session ticket" % version)
        resumed = 0
        for _ in range(20):
            reused, _ = resumed_session(tls_addr(r), cctx, session)
            resumed += bool(reused)
        expect_eq(resumed, 20, "%s: resumed handshakes out of 20 (2 workers)" % version)
        mark = r.mark()
        r.signal(lib.signal.SIGHUP)
        r.wait_log(r"reload done", 10 * lib.SLOW, since=mark)
        resumed = 0
        for _ in range(10):
            reused, _ = resumed_session(tls_addr(r), cctx, session)
            resumed += bool(reused)
        expect_eq(resumed, 10, "%s: resumed handshakes out of 10 after a reload" % version)


@suite.test
def renewed_certificate_on_reload(ctx):
    r, _, pki, ab = start(ctx, workers=2)
    cctx = client_context(pki)
    old = PKI.der(ab[0])
    stop, failures, served = threading.Event(), [], {}

    def loop():
        deadline = time.monotonic() + 30 * lib.SLOW
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                with TLSClient(tls_addr(r), cctx) as c:
                    der = c.sock.getpeercert(binary_form=True)
                    resp = c.request("GET", "/")
                    if resp.status != 200:
                        failures.append("status %d" % resp.status)
                    served[der] = served.get(der, 0) + 1
            except (OSError, lib.TestFailure) as e:
                failures.append(repr(e))

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    try:
        lib.wait_until(lambda: served.get(old, 0) >= 5, 10 * lib.SLOW, "the old certificate served")
        # Renewal: a new certificate and key for the same names, written in place.
        pki.leaf("ab-new", ["a.test", "b.test"])
        shutil.copy(pki.path("ab-new.pem"), ab[0])
        shutil.copy(pki.path("ab-new.key"), ab[1])
        new = PKI.der(ab[0])
        mark = r.mark()
        r.signal(lib.signal.SIGHUP)
        r.wait_log(r"reload done", 10 * lib.SLOW, since=mark)
        lib.wait_until(lambda: served.get(new, 0) >= 10, 15 * lib.SLOW,
                       "the renewed certificate served")
    finally:
        stop.set()
        t.join()
    expect(not failures, "requests failed across the certificate renewal: %s", failures[:3])
    expect(served.get(old, 0) >= 5 and served.get(new, 0) >= 10, "served: %s", list(served.values()))


@suite.test
def old_protocols_refused(ctx):
    r, _, pki, _ = start(ctx)
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        with TLSClient(tls_addr(r), client_context(pki, versions=(version, version))) as c:
            expect_eq(c.sock.version(), version.name.replace("_", "."), "negotiated version")
            expect_eq(c.request("GET", "/").status, 200, "request over %s" % version.name)
    old = client_context(pki, verify=False, versions=(ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1))
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    try:
        with TLSClient(tls_addr(r), old) as c:
            raise lib.TestFailure("a TLS 1.1 handshake succeeded (%s)" % c.sock.version())
    except ssl.SSLError as e:
        text = str(e).lower()
        expect("protocol version" in text or "unsupported protocol" in text or
               "no protocols" not in text, "TLS 1.1 refused for an unexpected reason: %s", e)
        expect("no protocols available" not in text, "the client could not offer TLS 1.1: %s", e)


@suite.test
def mutual_tls(ctx):
    pki = PKI(ctx)
    ab = pki.leaf("ab", ["a.test"])
    good = pki.leaf("client", ["client.test"], client=True)
    bs = ctx.backends_n(1)
    r = ctx.rondo(tls_config(bs, pki, [ab], tls={"clientCA": pki.ca}))
    lib.warm_up(r, [bs[0].name])
    with TLSClient(tls_addr(r), client_context(pki, cert=good)) as c:
        expect_eq(c.request("GET", "/").status, 200, "request with a client certificate")
    # Another CA's client certificate, and none at all: refused.
    rogue = PKI.__new__(PKI)
    rogue.dir = os.path.join(ctx.tmpdir, "rogue")
    os.makedirs(rogue.dir)
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "30", "-subj", "/CN=rogue",
            cwd=rogue.dir)
    rogue.ca = rogue.path("ca.pem")
    bad = rogue.leaf("client", ["client.test"], client=True)
    for what, cert in (("no client certificate", None), ("a foreign certificate", bad)):
        try:
            with TLSClient(tls_addr(r), client_context(pki, cert=cert)) as c:
                # TLS 1.3: the server's refusal arrives after the client's handshake.
                resp = c.request("GET", "/")
                raise lib.TestFailure("%s: got status %d" % (what, resp.status))
        except (ssl.SSLError, lib.ConnectionClosed, ConnectionResetError, BrokenPipeError):
            pass
    expect(r.find_log(r"TLS handshake failed") is not None, "refused handshakes not logged")


@suite.test
def garbage_and_plain_http_on_tls_port(ctx):
    r, _, pki, _ = start(ctx, **{"timeouts": {"clientHeader": "2s"}})
    for data in (lib.build_request("GET", "/"), b"\x00" * 100, b"\x16\x03\x01\x00\x05hello" * 3):
        s = socket.create_connection(tls_addr(r), timeout=5 * lib.SLOW)
        try:
            s.sendall(data)
            t0 = time.monotonic()
            got = b""
            try:
                while True:
                    d = s.recv(4096)
                    if not d:
                        break
                    got += d
            except ConnectionResetError:
                pass
            expect(time.monotonic() - t0 < 4 * lib.SLOW, "%r: not closed at once", data[:20])
            expect(b"200 OK" not in got and b"hello from" not in got,
                   "%r: got an answer from a backend: %r", data[:20], got[:100])
            if data.startswith(b"GET"):
                expect(got == b"" or got.startswith(b"HTTP/1.1 400"),
                       "plain HTTP on the TLS port: %r", got[:100])
        finally:
            s.close()
    with TLSClient(tls_addr(r), client_context(pki)) as c:
        expect_eq(c.request("GET", "/").status, 200, "TLS still served afterwards")


@suite.test
def slow_handshake_times_out(ctx):
    r, _, pki, _ = start(ctx, **{"timeouts": {"clientHeader": "1s"}})
    slow = socket.create_connection(tls_addr(r), timeout=10 * lib.SLOW)
    try:
        slow.sendall(b"\x16\x03\x01\x02\x00\x01")      # the start of a ClientHello, then nothing
        t0 = time.monotonic()
        cctx = client_context(pki)
        served = 0
        while time.monotonic() - t0 < 0.8:
            with TLSClient(tls_addr(r), cctx) as c:
                expect_eq(c.request("GET", "/").status, 200, "a normal client meanwhile")
                served += 1
        try:
            d = slow.recv(100)
        except ConnectionResetError:
            d = b""
        took = time.monotonic() - t0
        expect_eq(d, b"", "the slow handshake's connection")
        expect(0.8 <= took < 3.5 * lib.SLOW, "slow handshake closed after %.2fs (clientHeader 1s)",
               took)
        expect(served >= 3, "only %d requests served during the slow handshake", served)
    finally:
        slow.close()


@suite.test
def tunnel_over_tls(ctx):
    from test_protocol import RawBackend
    pki = PKI(ctx)
    ab = pki.leaf("ab", ["a.test"])
    raw = RawBackend()
    try:
        r = ctx.rondo({"healthCheckInterval": "1s", "workers": 1, "servers": [raw.url],
                       "tls": {"port": "127.0.0.1:%d" % lib.free_port(),
                               "certificates": [{"cert": ab[0], "key": ab[1]}]}})
        cctx = client_context(pki)
        lib.wait_until(lambda: r.get("/").status == 200, 10 * lib.SLOW, "rondo to answer")
        with TLSClient(tls_addr(r), cctx) as c:
            c.send(b"GET /upgrade HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                   b"Upgrade: echo\r\n\r\n")
            resp = c.read_response()
            expect_eq(resp.status, 101, "upgrade over TLS")
            for msg in (b"hello", b"x" * 100000):
                c.send(msg)
                got = bytes(c.buf)
                c.buf.clear()
                while len(got) < len(msg):
                    d = c.sock.recv(65536)
                    expect(d, "tunnel closed early")
                    got += d
                expect_eq(got, msg.upper(), "echo through the TLS tunnel")
    finally:
        raw.close()


@suite.test
def big_download_and_upload_over_tls(ctx):
    r, _, pki, _ = start(ctx)
    n = (64 if lib.SANITIZERS else 256) * MiB
    with TLSClient(tls_addr(r), client_context(pki), timeout=60) as c:
        c.request("GET", "/stream?bytes=1000000")
        base = r.total_rss_kib()
        h = hashlib.sha256()
        resp = c.request("GET", "/stream?bytes=%d" % n, sink=h.update)
        expect_eq(resp.body_len, n, "download length")
        expect_eq(h.hexdigest(), lib.pattern_sha(n), "download sha256")
        body = lib.PATTERN_BLOCK * 64
        c.send(lib.build_request("POST", "/sha", [("Content-Length", str(len(body)))]))
        c.send(body)
        resp = c.read_response("POST")
        expect_eq(resp.status, 200, "upload status")
        expect(hashlib.sha256(body).hexdigest() in resp.body.decode(),
               "upload sha256: %r", resp.body[:200])
        grew = r.total_rss_kib() - base
        # AddressSanitizer keeps freed memory in quarantine: OpenSSL's
        # released buffers would count as growth there.
        if not lib.SANITIZERS:
            expect(grew < 8 * 1024, "rondo's RSS grew by %d KiB over TLS transfers", grew)


@suite.test
def slow_reader_over_tls(ctx):
    # The client's socket fills: rondo's writes block mid-record while more
    # of the body arrives from the backend and its buffer moves. Every byte
    # must still arrive, in order.
    r, _, pki, _ = start(ctx)
    n = 8 * MiB
    with TLSClient(tls_addr(r), client_context(pki), timeout=60) as c:
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        c.send(lib.build_request("GET", "/stream?bytes=%d" % n))
        h, got, t0 = hashlib.sha256(), 0, time.monotonic()
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.sock.recv(1)
            expect(d, "closed inside the head")
            head += d
        expect(head.startswith(b"HTTP/1.1 200"), "status: %r", head[:40])
        while got < n:
            d = c.sock.recv(min(65536, n - got))
            expect(d, "closed after %d of %d body bytes" % (got, n))
            h.update(d)
            got += len(d)
            if got < MiB:
                time.sleep(0.001)      # slow at first: many blocked writes
            expect(time.monotonic() - t0 < 50 * lib.SLOW, "download too slow: %d of %d bytes", got, n)
        expect_eq(h.hexdigest(), lib.pattern_sha(n), "sha256 of a slowly read TLS download")


@suite.test
def redirect_http_to_https(ctx):
    r, _, pki, _ = start(ctx, tls={"redirectHttp": True})
    port = tls_addr(r)[1]
    resp = r.get("/a/b?x=1&y=2", headers=[("Host", "site.test:8080")])
    expect_eq(resp.status, 308, "plain request with redirectHttp")
    expect_eq(resp.header("Location"), "https://site.test:%d/a/b?x=1&y=2" % port, "Location")
    with TLSClient(tls_addr(r), client_context(pki)) as c:
        expect_eq(c.request("GET", "/").status, 200, "the TLS port serves")


@suite.test
def tls_metrics_and_access_log(ctx):
    import json
    aaddr = (lib.LOOPBACK, lib.free_port())
    log = os.path.join(ctx.tmpdir, "access.log")
    r, _, pki, _ = start(ctx, workers=2, admin=lib.admin_conf(aaddr), accessLog=log,
                         accessLogFormat="json", timeouts={"clientHeader": "1s"})
    cctx = client_context(pki, versions=(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3))
    with TLSClient(tls_addr(r), cctx, sni="b.test") as c:
        expect_eq(c.request("GET", "/first").status, 200, "first request")
        session = c.sock.session
    reused, _ = resumed_session(tls_addr(r), cctx, session)
    expect(reused, "second handshake not resumed")
    # One of each failure: plain HTTP (protocol), a stalled handshake (timeout).
    with socket.create_connection(tls_addr(r), timeout=5 * lib.SLOW) as s:
        s.sendall(lib.build_request("GET", "/"))
        got = s.recv(4096)
        expect(got.startswith(b"HTTP/1.1 400") and b"HTTPS" in got,
               "plain HTTP on the TLS port got %r", got[:80])
    with socket.create_connection(tls_addr(r), timeout=5 * lib.SLOW) as s:
        s.sendall(b"\x16\x03\x01")
        expect_eq(s.recv(10), b"", "stalled handshake closed")

    def value(samples, name):
        return sum(v for k, v in samples if k == name)

    def metrics():
        text = lib.admin_request(aaddr, "GET", "/metrics").body.decode()
        out = []
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                out.append((k, float(v)))
        return out

    want = {
        'rondo_tls_resumed_handshakes_total{listener="tls"}': 1,
        'rondo_tls_handshake_failures_total{listener="tls",cause="protocol"}': 1,
        'rondo_tls_handshake_failures_total{listener="tls",cause="timeout"}': 1,
        'rondo_tls_handshake_failures_total{listener="tls",cause="certificate"}': 0,
    }
    lib.wait_until(lambda: all(value(metrics(), k) == v for k, v in want.items()),
                   5 * lib.SLOW, "TLS counters in /metrics: %s" % want)
    samples = metrics()
    # warm-up handshakes count too: at least the two above
    expect(value(samples, 'rondo_tls_handshakes_total{listener="tls"}') >= 2,
           "handshakes counted: %s", [x for x in samples if "tls" in x[0]])
    text = lib.admin_request(aaddr, "GET", "/metrics").body.decode()
    expect_eq(text.count("# TYPE rondo_tls_handshake_failures_total counter"), 1,
              "one TYPE line for the failure family")
    lines = []

    def logged():
        with open(log) as f:
            lines[:] = [json.loads(x) for x in f if x.strip()]
        return any(x["target"] == "/first" for x in lines)
    lib.wait_until(logged, 5 * lib.SLOW, "the access log line of /first")
    first = [x for x in lines if x["target"] == "/first"][0]
    expect_eq((first.get("tls_version"), first.get("sni"), first.get("tls_resumed")),
              ("TLSv1.3", "b.test", False), "TLS fields of the first request's log line")
    expect(first.get("tls_cipher", "").startswith("TLS_"), "tls_cipher: %r", first.get("tls_cipher"))
    resumed = [x for x in lines if x["target"] == "/" and x.get("tls_resumed")]
    expect(resumed, "no log line with tls_resumed true")


if __name__ == "__main__":
    suite.main()
