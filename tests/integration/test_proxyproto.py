#!/usr/bin/env python3
"""The PROXY protocol in front of rondo ("proxyProtocol") and behind it
("sendProxy"), trusted forwarding headers ("trustedProxies"), the monitor path
and the graceful exit through it ("stopGrace", /instance/drain). Clients come
from 127.0.0.1 (trusted where a test says so) or 127.0.0.2 (never trusted)."""

import json
import os
import re
import signal
import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_proxyproto")
TRUSTED_IP, UNTRUSTED_IP = "127.0.0.1", "127.0.0.2"
V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def v1(src, dst="10.0.0.1", sport=40000, dport=80):
    return ("PROXY TCP4 %s %s %d %d\r\n" % (src, dst, sport, dport)).encode()


def v2(src, dst="10.0.0.1", sport=40000, dport=80, tlv=b""):
    """A v2 PROXY header for TCP over IPv4, with optional TLV bytes after the addresses."""
    addrs = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!HH", sport, dport)
    return V2_SIG + bytes([0x21, 0x11]) + struct.pack("!H", len(addrs) + len(tlv)) + addrs + tlv


def client_from(r, src_ip):
    """A lib.Client to rondo whose socket is bound to src_ip."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((src_ip, 0))
    s.settimeout(10 * lib.SLOW)
    s.connect(r.addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c = lib.Client.__new__(lib.Client)
    c.addr, c.timeout, c.sock = r.addr, 10 * lib.SLOW, s
    c.buf, c.rbuf, c.eof = bytearray(), bytearray(1 << 20), False
    return c


def xff(resp):
    vals = [v for k, v in resp.json()["headers"] if k.lower() == "x-forwarded-for"]
    expect_eq(len(vals), 1, "X-Forwarded-For fields")
    return vals[0]


def access_lines(path, needle):
    """The access log lines holding needle, polled until one is there."""
    def found():
        try:
            with open(path) as f:
                got = [ln for ln in f if needle in ln]
        except FileNotFoundError:
            return None
        return got or None
    return lib.wait_until(found, 5 * lib.SLOW, "access log line with %r" % needle)


class RawBackend(lib.RawServer):
    """A backend that records every connection's bytes: the PROXY header it
    began with (if any) and its requests. Answers each request (bodies are
    not expected) with 200 and the connection's number."""

    def __init__(self, ctx):
        self.conns = []             # [{"proxy": bytes, "requests": [head bytes]}]
        super().__init__()

    def accepted(self, number):
        rec = {"proxy": b"", "requests": []}
        self.conns.append(rec)
        return (rec,)

    def serve(self, c, n, rec):
        buf = b""
        c.settimeout(30)
        try:
            first = True
            while True:
                while b"\r\n\r\n" not in buf:
                    if first and buf.startswith(V2_SIG) and len(buf) >= 16:
                        hl = 16 + struct.unpack("!H", buf[14:16])[0]
                        if len(buf) >= hl:
                            break
                    if first and buf.startswith(b"PROXY ") and b"\r\n" in buf:
                        break
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                if first:
                    first = False
                    if buf.startswith(V2_SIG):
                        hl = 16 + struct.unpack("!H", buf[14:16])[0]
                        rec["proxy"], buf = buf[:hl], buf[hl:]
                        continue
                    if buf.startswith(b"PROXY "):
                        i = buf.index(b"\r\n") + 2
                        rec["proxy"], buf = buf[:i], buf[i:]
                        continue
                head, _, buf = buf.partition(b"\r\n\r\n")
                with self.lock:
                    rec["requests"].append(head)
                body = b"conn %d\n" % n
                if head.startswith(b"HEAD "):
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
                else:
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
                if b"onnection: close" in head:
                    return
        except OSError:
            return
        finally:
            c.close()

    def snapshot(self):
        with self.lock:
            return [{"proxy": r["proxy"], "requests": list(r["requests"])} for r in self.conns]

    def client_conns(self):
        """Connections that carried something else than health probes."""
        return [r for r in self.snapshot()
                if any(not q.startswith(b"HEAD ") for q in r["requests"])]


def pp_config(backends, trusted=(TRUSTED_IP + "/32",), **extra):
    """lib.config with one worker and the PROXY protocol from trusted."""
    opts = {"workers": 1, "proxyProtocol": {"trusted": list(trusted)}}
    opts.update(extra)
    return lib.config(backends, **opts)


# ---------------------------------------------------------------------------
# Accepting the PROXY protocol
# ---------------------------------------------------------------------------

@suite.test
def v1_and_v2_give_the_client_address(ctx):
    bs = ctx.backends_n(1)
    log = os.path.join(ctx.tmpdir, "access.log")
    r = ctx.rondo(pp_config(bs, accessLog=log))
    for name, hdr, ip in (("v1", v1("203.0.113.7"), "203.0.113.7"),
                          ("v2", v2("198.51.100.9"), "198.51.100.9"),
                          ("v2 with TLVs", v2("198.51.100.10", tlv=b"\x04\x00\x03abc"),
                           "198.51.100.10")):
        with client_from(r, TRUSTED_IP) as c:
            c.send(hdr)
            resp = c.request("GET", "/headers?%s" % name.replace(" ", "-"))
            expect_eq(resp.status, 200, "%s: status" % name)
            expect_eq(xff(resp), ip, "%s: X-Forwarded-For" % name)
            # the next request on the connection is the same client
            resp = c.request("GET", "/headers")
            expect_eq(xff(resp), ip, "%s: X-Forwarded-For of the second request" % name)
        line = access_lines(log, "/headers?%s " % name.replace(" ", "-"))[0]
        expect(line.startswith(ip + " "), "%s: access log line %r", name, line)
    # v2 LOCAL (a balancer's own check): the socket's address stands
    local = V2_SIG + bytes([0x20, 0x00, 0, 0])
    with client_from(r, TRUSTED_IP) as c:
        c.send(local)
        resp = c.request("GET", "/headers")
        expect_eq(xff(resp), TRUSTED_IP, "v2 LOCAL: X-Forwarded-For")


@suite.test
def header_split_across_packets(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(pp_config(bs))
    for hdr, ip in ((v1("192.0.2.44"), "192.0.2.44"), (v2("192.0.2.45"), "192.0.2.45")):
        with client_from(r, TRUSTED_IP) as c:
            for i in range(0, len(hdr), 5):
                c.send(hdr[i:i + 5])
                time.sleep(0.02)    # separate segments, not a wait for a state
            resp = c.request("GET", "/headers")
            expect_eq(resp.status, 200, "status")
            expect_eq(xff(resp), ip, "X-Forwarded-For")


@suite.test
def missing_or_bad_header_closes_without_answer(ctx):
    raw = RawBackend(ctx)
    r = ctx.rondo(pp_config([raw]))
    cases = (
        ("not a PROXY protocol header", b"GET /nothing HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("bad address",
         b"PROXY TCP4 1.2.3.999 10.0.0.1 1 2\r\nGET /bad HTTP/1.1\r\nHost: a\r\n\r\n"),
        ("unsupported v2 version", V2_SIG + bytes([0x11, 0x11, 0, 12]) + bytes(12) +
         b"GET /badv2 HTTP/1.1\r\nHost: a\r\n\r\n"),
    )
    for name, data in cases:
        mark = r.mark()
        with client_from(r, TRUSTED_IP) as c:
            c.send(data)
            expect(c.closed_by_peer(5), "%s: connection left open", name)
        r.wait_log(r"127\.0\.0\.1: %s, closing" % name, 5 * lib.SLOW, since=mark)
    expect_eq(raw.client_conns(), [], "connections the backend got from clients")


@suite.test
def untrusted_address_is_closed(ctx):
    raw = RawBackend(ctx)
    r = ctx.rondo(pp_config([raw]))
    mark = r.mark()
    with client_from(r, UNTRUSTED_IP) as c:
        c.send(v1("203.0.113.7") + b"GET /untrusted HTTP/1.1\r\nHost: a\r\n\r\n")
        expect(c.closed_by_peer(5), "connection from an untrusted address left open")
    r.wait_log(r"127\.0\.0\.2: not in proxyProtocol\.trusted", 5 * lib.SLOW, since=mark)
    expect_eq(raw.client_conns(), [], "connections the backend got from clients")
    # the trusted one still works
    with client_from(r, TRUSTED_IP) as c:
        c.send(v1("203.0.113.7"))
        expect_eq(c.request("GET", "/ok").status, 200, "trusted client")


@suite.test
def slow_header_closed_at_client_header_timeout(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(pp_config(bs, timeouts={"clientHeader": "500ms"}))
    mark = r.mark()
    with client_from(r, TRUSTED_IP) as c:
        t0 = time.monotonic()
        c.send(b"PROXY TCP4 203.0")
        expect(c.closed_by_peer(5), "a header that never ends: left open")
        took = time.monotonic() - t0
    expect(0.4 <= took <= 3 * lib.SLOW, "closed after %.2fs, clientHeader is 0.5s", took)
    r.wait_log(r"PROXY header timeout", 5 * lib.SLOW, since=mark)


@suite.test
def header_before_tls_handshake(ctx):
    import ssl
    import test_tls
    pki = test_tls.PKI(ctx)
    bs = ctx.backends_n(1)
    conf = test_tls.tls_config(bs, pki, [pki.leaf("a", ["a.test"])],
                               proxyProtocol={"trusted": [TRUSTED_IP + "/32"]}, workers=1)
    r = ctx.rondo(conf)
    cctx = test_tls.client_context(pki)
    for hdr, ip in ((v1("203.0.113.70"), "203.0.113.70"), (v2("203.0.113.71"), "203.0.113.71")):
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.bind((TRUSTED_IP, 0))
        raw.settimeout(10 * lib.SLOW)
        raw.connect(test_tls.tls_addr(r))
        raw.sendall(hdr)
        s = cctx.wrap_socket(raw, server_hostname="a.test")
        c = lib.Client.__new__(lib.Client)
        c.addr, c.timeout, c.sock = test_tls.tls_addr(r), 10 * lib.SLOW, s
        c.buf, c.rbuf, c.eof = bytearray(), bytearray(1 << 20), False
        with c:
            resp = c.request("GET", "/headers")
            expect_eq(resp.status, 200, "status over TLS")
            expect_eq(xff(resp), ip, "X-Forwarded-For over TLS")
            got = {k.lower(): v for k, v in resp.json()["headers"]}
            expect_eq(got.get("x-forwarded-proto"), "https", "X-Forwarded-Proto")
    # a TLS client that sends no header is closed, no handshake
    raw = socket.create_connection(test_tls.tls_addr(r), timeout=5 * lib.SLOW)
    try:
        cctx.wrap_socket(raw, server_hostname="a.test")
        raise lib.TestFailure("TLS handshake without a PROXY header succeeded")
    except (ssl.SSLError, OSError):
        pass
    finally:
        raw.close()


# ---------------------------------------------------------------------------
# Sending the PROXY protocol
# ---------------------------------------------------------------------------

def send_proxy_case(ctx, version):
    raw = RawBackend(ctx)
    conf = pp_config([], servers=[{"url": raw.url, "sendProxy": version}],
                     healthCheckInterval="200ms")
    r = ctx.rondo(conf)
    with client_from(r, TRUSTED_IP) as c:
        c.send(v1("203.0.113.7", sport=41000))
        b1 = c.request("GET", "/one").body
        b2 = c.request("GET", "/two").body
    expect_eq(b1, b2, "both requests of a client on one backend connection")
    with client_from(r, TRUSTED_IP) as c:
        c.send(v1("198.51.100.8", sport=42000))
        b3 = c.request("GET", "/three").body
    expect(b3 != b1, "a second client reused the first one's backend connection (%r)" % b3)
    conns = raw.client_conns()
    expect_eq(len(conns), 2, "backend connections that carried client requests")
    first = [cn for cn in conns if any(q.startswith(b"GET /one ") for q in cn["requests"])][0]
    second = [cn for cn in conns if any(q.startswith(b"GET /three ") for q in cn["requests"])][0]
    expect_eq([q.split(b"\r\n")[0] for q in first["requests"]],
              [b"GET /one HTTP/1.1", b"GET /two HTTP/1.1"], "requests on the first connection")
    if version == "v1":
        expect(first["proxy"].startswith(b"PROXY TCP4 203.0.113.7 ") and
               b" 41000 " in first["proxy"], "v1 header %r", first["proxy"])
        expect(second["proxy"].startswith(b"PROXY TCP4 198.51.100.8 "),
               "v1 header %r", second["proxy"])
    else:
        for cn, ip, port in ((first, "203.0.113.7", 41000), (second, "198.51.100.8", 42000)):
            h = cn["proxy"]
            expect(h.startswith(V2_SIG) and h[12] == 0x21 and h[13] == 0x11,
                   "v2 header %r", h)
            expect_eq(socket.inet_ntoa(h[16:20]), ip, "v2 source address")
            expect_eq(struct.unpack("!H", h[24:26])[0], port, "v2 source port")

    # Health checks say they speak for no client, and the backend stays up.
    def probes():
        got = [cn["proxy"] for cn in raw.snapshot()
               if cn["requests"] and cn["requests"][0].startswith(b"HEAD ")]
        return len(got) >= 2 and got
    got = lib.wait_until(probes, 5 * lib.SLOW, "two health probes")
    want = b"PROXY UNKNOWN\r\n" if version == "v1" else V2_SIG + bytes([0x20, 0x00, 0, 0])
    expect(all(h == want for h in got), "health probe headers %r, want %r", got, want)
    expect("is down" not in r.log_text(), "a backend went down:\n%s" % r.log_text())
    with client_from(r, TRUSTED_IP) as c:
        c.send(v1("203.0.113.7"))
        expect_eq(c.request("GET", "/after").status, 200, "after the probes")


@suite.test
def send_proxy_v1(ctx):
    send_proxy_case(ctx, "v1")


@suite.test
def send_proxy_v2(ctx):
    send_proxy_case(ctx, "v2")


# ---------------------------------------------------------------------------
# Trusted forwarding headers
# ---------------------------------------------------------------------------

@suite.test
def trusted_proxies(ctx):
    bs = ctx.backends_n(1)
    log = os.path.join(ctx.tmpdir, "access.log")
    r = ctx.rondo({"healthCheckInterval": "500ms", "servers": [b.url for b in bs],
                   "workers": 1, "accessLog": log,
                   "trustedProxies": [TRUSTED_IP + "/32", "10.0.0.0/8"]})
    spoof = [("X-Forwarded-For", "6.6.6.6"), ("X-Forwarded-Proto", "https"),
             ("X-Forwarded-Host", "spoofed.example")]
    with client_from(r, UNTRUSTED_IP) as c:
        resp = c.request("GET", "/headers?untrusted", headers=spoof)
    got = {k.lower(): v for k, v in resp.json()["headers"]}
    expect_eq(xff(resp), UNTRUSTED_IP, "untrusted client: X-Forwarded-For replaced")
    expect_eq(got.get("x-forwarded-proto"), "http", "untrusted client: X-Forwarded-Proto")
    expect_eq(got.get("x-forwarded-host"), "rondo.test", "untrusted client: X-Forwarded-Host")
    line = access_lines(log, "/headers?untrusted ")[0]
    expect(line.startswith(UNTRUSTED_IP + " "), "access log line %r", line)

    with client_from(r, TRUSTED_IP) as c:
        resp = c.request("GET", "/headers?trusted", headers=[
            ("X-Forwarded-For", "192.0.2.1, 198.51.100.1, 10.0.0.5"),
            ("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "front.example")])
    got = {k.lower(): v for k, v in resp.json()["headers"]}
    expect_eq(xff(resp), "192.0.2.1, 198.51.100.1, 10.0.0.5, 127.0.0.1",
              "trusted client: X-Forwarded-For appended to")
    expect_eq(got.get("x-forwarded-proto"), "https", "trusted client: X-Forwarded-Proto kept")
    expect_eq(got.get("x-forwarded-host"), "front.example", "trusted client: X-Forwarded-Host kept")
    line = access_lines(log, "/headers?trusted ")[0]
    expect(line.startswith("198.51.100.1 "), "access log shows the rightmost untrusted: %r", line)


@suite.test
def trusted_proxies_with_proxy_protocol(ctx):
    # The PROXY header's address is the one checked against trustedProxies.
    bs = ctx.backends_n(1)
    r = ctx.rondo(pp_config(bs, trustedProxies=["192.0.2.0/24"]))
    with client_from(r, TRUSTED_IP) as c:
        c.send(v1("192.0.2.9"))
        resp = c.request("GET", "/headers", headers=[("X-Forwarded-For", "203.0.113.1")])
        expect_eq(xff(resp), "203.0.113.1, 192.0.2.9", "trusted by its PROXY address")
    with client_from(r, TRUSTED_IP) as c:
        c.send(v1("198.51.100.3"))
        resp = c.request("GET", "/headers", headers=[("X-Forwarded-For", "203.0.113.1")])
        expect_eq(xff(resp), "198.51.100.3", "untrusted PROXY address: replaced")


# ---------------------------------------------------------------------------
# The monitor path, stopGrace, /instance/drain
# ---------------------------------------------------------------------------

def monitor_get(r, method="GET"):
    with r.client() as c:
        return c.request(method, "/rondo/health")


@suite.test
def monitor_path(ctx):
    raw = RawBackend(ctx)
    b2 = ctx.backend("b2")
    admin = (lib.LOOPBACK, lib.free_port())
    r = ctx.rondo({"healthCheckInterval": "200ms", "workers": 2,
                   "servers": [raw.url, {"url": b2.url, "backup": True}],
                   "monitor": {"path": "/rondo/health"}, "admin": lib.admin_conf(admin)})
    resp = monitor_get(r)
    expect_eq((resp.status, resp.body), (200, b"ready\n"), "GET")
    resp = monitor_get(r, "HEAD")
    expect_eq((resp.status, resp.body), (200, b""), "HEAD")
    with r.client() as c:
        resp = c.request("GET", "/rondo/health?x=1")
    expect_eq(resp.status, 200, "with a query")
    with r.client() as c:
        resp = c.request("POST", "/rondo/health", body=b"")
    expect_eq(resp.status, 405, "POST")
    # Methods are case-sensitive: "get" is not GET (and is no method rondo knows here).
    with r.client() as c:
        resp = c.request("get", "/rondo/health")
    expect_eq(resp.status, 405, "lower-case get")
    # The same path asked in absolute form is the monitor's too, never forwarded.
    with r.client() as c:
        resp = c.request("GET", "http://rondo.test/rondo/health")
    expect_eq((resp.status, resp.body), (200, b"ready\n"), "absolute-form GET")
    expect_eq(raw.client_conns(), [], "monitor requests that reached a backend")
    expect_eq(r.get("/other").status, 200, "other paths are proxied")

    # Drained primary: the backup still counts. Both out: 503.
    rsp = lib.admin_request(admin, "POST", "/backends/0/drain", token=lib.ADMIN_TOKEN)
    expect_eq(rsp.status, 200, "drain backend 0")
    expect_eq(monitor_get(r).status, 200, "primary drained, backup up")
    rsp = lib.admin_request(admin, "POST", "/backends/1/drain", token=lib.ADMIN_TOKEN)
    resp = monitor_get(r)
    expect_eq((resp.status, resp.body), (503, b"no backend can take a request\n"),
              "all drained")
    lib.admin_request(admin, "POST", "/backends/0/ready", token=lib.ADMIN_TOKEN)
    lib.admin_request(admin, "POST", "/backends/1/ready", token=lib.ADMIN_TOKEN)
    expect_eq(monitor_get(r).status, 200, "ready again")
    # All down (health checks): 503.
    raw.close()
    b2.kill()
    lib.wait_until(lambda: monitor_get(r).status == 503, 5 * lib.SLOW, "503 with all backends down")

    # Counted apart from proxied requests.
    m = lib.admin_request(admin, "GET", "/metrics")
    n = re.search(rb"^rondo_monitor_requests_total (\d+)$", m.body, re.M)
    expect(n is not None and int(n.group(1)) >= 8, "monitor counter in /metrics: %r", n)
    p = re.search(rb"^rondo_proxied_requests_total (\d+)$", m.body, re.M)
    expect(p is not None and int(p.group(1)) == 1, "proxied requests: %r", p)


@suite.test
def admin_instance_drain(ctx):
    bs = ctx.backends_n(1)
    admin = (lib.LOOPBACK, lib.free_port())
    r = ctx.rondo({"healthCheckInterval": "500ms", "workers": 2,
                   "servers": [b.url for b in bs],
                   "monitor": {"path": "/rondo/health"}, "admin": lib.admin_conf(admin)})
    expect_eq(monitor_get(r).status, 200, "before")
    rsp = lib.admin_request(admin, "POST", "/instance/drain")
    expect_eq(rsp.status, 401, "drain without the token")
    rsp = lib.admin_request(admin, "POST", "/instance/drain", token=lib.ADMIN_TOKEN)
    expect_eq(rsp.status, 200, "drain")
    resp = monitor_get(r)
    expect_eq((resp.status, resp.body), (503, b"drained by the admin\n"), "drained")
    expect_eq(r.get("/").status, 200, "requests are still served")
    # a reload keeps it drained
    mark = r.mark()
    r.signal(signal.SIGHUP)
    r.wait_log(r"reload done", 10 * lib.SLOW, since=mark)
    expect_eq(monitor_get(r).status, 503, "drained after a reload")
    rsp = lib.admin_request(admin, "POST", "/instance/ready", token=lib.ADMIN_TOKEN)
    expect_eq(rsp.status, 200, "ready")
    # Just after a reload an old worker may still accept a connection (it has
    # its SIGQUIT, not yet acted on) and answer for its own, drained, generation.
    lib.wait_until(lambda: monitor_get(r).status == 200, 2 * lib.SLOW, "ready again")


@suite.test
def stop_grace(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo({"healthCheckInterval": "500ms", "workers": 2,
                   "servers": [b.url for b in bs], "stopGrace": "2s",
                   "monitor": {"path": "/rondo/health"}})
    expect_eq(monitor_get(r).status, 200, "before SIGQUIT")
    t0 = time.monotonic()
    r.signal(signal.SIGQUIT)
    resp = lib.wait_until(lambda: (lambda x: x.status == 503 and x)(monitor_get(r)),
                          1 * lib.SLOW, "monitor 503 after SIGQUIT")
    expect_eq(resp.body, b"stopping\n", "monitor body")
    served = 0
    while time.monotonic() - t0 < 1.5:
        expect_eq(r.get("/").status, 200, "a request during the grace period")
        served += 1
    expect(served > 0, "no request made during the grace period")
    r.wait_log(r"graceful stop: draining workers", 5 * lib.SLOW)
    rc = r.wait_exit(10 * lib.SLOW)
    took = time.monotonic() - t0
    expect_eq(rc, 0, "exit status")
    expect(took >= 1.9, "stopped after %.2fs, before the 2s grace" % took)


if __name__ == "__main__":
    suite.main()
