#!/usr/bin/env python3
"""Bodies relayed with splice(2): every byte intact (sha256) whatever the
boundaries between the head, the bytes that came with it and the rest; cut
responses never look complete; connections reused and requests pipelined
afterwards; the threshold, the access log, timeouts and "splice": false.

A scripted backend on raw sockets decides how a response is split into
writes. rondo_spliced_bytes_total (admin /metrics) tells whether a body took
the splice path or was copied."""

import hashlib
import json
import os
import re
import socket
import struct
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_splice")

MiB = 1 << 20
SPLICE_MIN = 32768      # relay_splice.c: bodies with fewer bytes left to move are copied
PAUSE = 0.15            # between the writes of a split response: rondo reads them apart


def pattern(n):
    reps = n // len(lib.PATTERN_BLOCK) + 1
    return (lib.PATTERN_BLOCK * reps)[:n] if reps > 1 else lib.PATTERN_BLOCK[:n]


class ScriptBackend(lib.RawServer):
    """A keep-alive backend on raw sockets that writes each response in the
    pieces its query asks for:
      GET /body?n=N&first=K   head and the first K body bytes in one write
                              (K=-1: the whole body), a pause, then the rest
      GET /die?n=N&after=K    head and K bytes, a pause, then a close (rst=1: a reset)
      GET /status?code=C      a response without a body (204, 304)
      POST /sha               reads the Content-Length body, answers its sha256
      HEAD /...               Content-Length: n (or 5), no body
    Every response carries X-Conn: the number of the backend connection."""

    def serve(self, c, cid):
        c.settimeout(20)
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    d = c.recv(65536)
                    if not d:
                        return
                    buf += d
                head, buf = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target = lines[0].split(" ")[:2]
                hdrs = {}
                for h in lines[1:]:
                    k, v = h.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
                u = urlsplit(target)
                q = {k: int(v[0]) for k, v in parse_qs(u.query).items()}
                x = b"X-Conn: %d\r\n" % cid
                if method == "HEAD":
                    c.sendall(b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n" % (x, q.get("n", 5)))
                    continue
                if method == "POST":
                    n = int(hdrs.get("content-length", "0"))
                    h = hashlib.sha256()
                    got = len(buf[:n])
                    h.update(buf[:n])
                    buf = buf[n:]
                    while got < n:
                        d = c.recv(min(1 << 20, n - got))
                        if not d:
                            return
                        h.update(d)
                        got += len(d)
                    body = json.dumps({"len": n, "sha256": h.hexdigest()}).encode()
                    c.sendall(b"HTTP/1.1 200 OK\r\n%sX-Body-Len: %d\r\nX-Body-Sha256: %s\r\n"
                              b"Content-Length: %d\r\n\r\n%s" % (x, n, h.hexdigest().encode(),
                                                                 len(body), body))
                    continue
                if u.path == "/status":
                    code = q["code"]
                    extra = b"Content-Length: 100000\r\n" if code == 304 else b""
                    c.sendall(b"HTTP/1.1 %d X\r\n%s%s\r\n" % (code, x, extra))
                    continue
                if u.path in ("/body", "/die"):
                    n = q.get("n", 0)
                    body = pattern(n)
                    rhead = b"HTTP/1.1 200 OK\r\n%sContent-Length: %d\r\n\r\n" % (x, n)
                    k = q.get("first", q.get("after", 0))
                    if k < 0:
                        k = n
                    c.sendall(rhead + body[:k])
                    time.sleep(PAUSE)
                    if u.path == "/die":
                        if q.get("rst"):
                            c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                        c.close()
                        return
                    c.sendall(body[k:])
                    continue
                c.sendall(b"HTTP/1.1 200 OK\r\n%sX-Backend: script\r\nContent-Length: 2\r\n\r\nok" % x)
        except OSError:
            pass
        finally:
            c.close()


def start(ctx, **extra):
    b = ScriptBackend()
    admin = (lib.LOOPBACK, lib.free_port())
    conf = lib.config(servers=[b.url], workers=1, admin=lib.admin_conf(admin), **extra)
    r = ctx.rondo(conf)
    r.admin_addr = admin
    lib.wait_until(lambda: r.get("/").status == 200, 10, "the backend to be up")
    return r, b


def spliced(r):
    resp = lib.admin_request(r.admin_addr, "GET", "/metrics", token=lib.ADMIN_TOKEN)
    expect_eq(resp.status, 200, "admin /metrics")
    m = re.search(rb"^rondo_spliced_bytes_total (\d+)$", resp.body, re.M)
    expect(m is not None, "no rondo_spliced_bytes_total in /metrics")
    return int(m.group(1))


def get_checked(c, path, n, what):
    h = hashlib.sha256()
    resp = c.request("GET", path, sink=h.update)
    expect_eq(resp.status, 200, what + ": status")
    expect_eq(resp.framing, "length", what + ": framing")
    expect_eq(resp.body_len, n, what + ": length")
    expect_eq(h.hexdigest(), lib.pattern_sha(n), what + ": sha256")
    return resp


def post_checked(c, n, first, what, stall=0.0):
    """POSTs n pattern bytes to /sha: the head and the first bytes in one
    write, then the rest after a pause (and a stall halfway if asked)."""
    body = pattern(n)
    head = lib.build_request("POST", "/sha", [("Content-Length", str(n))])
    c.send(head + body[:first])
    time.sleep(PAUSE)
    half = first + (n - first) // 2
    c.send(body[first:half])
    time.sleep(stall)
    c.send(body[half:])
    resp = c.read_response("POST")
    expect_eq(resp.status, 200, what + ": status")
    expect_eq(resp.header("X-Body-Sha256"), hashlib.sha256(body).hexdigest(),
              what + ": sha256 the backend received")
    return resp


@suite.test
def downloads_split_at_every_boundary(ctx):
    # One client connection, one backend connection reused for every
    # response (X-Conn): a backend connection goes back to the pool only
    # once its spliced body was relayed whole.
    r, b = start(ctx)
    try:
        cases = [(200000, -1), (10000, -1), (200000, 0), (200000, 1), (200000, 1000),
                 (200000, 16000), (200000, 16384), (200000, 40000), (4 * MiB, 12345),
                 (4 * MiB + 1, 0)]
        with r.client(timeout=20) as c:
            conns = set()
            for n, first in cases:
                what = "%d bytes, %s" % (n, "whole" if first < 0 else "first %d" % first)
                before = spliced(r)
                resp = get_checked(c, "/body?n=%d&first=%d" % (n, first), n, what)
                conns.add(resp.header("X-Conn"))
                moved = spliced(r) - before
                # At most one buffer of it comes with the head and is copied.
                copied_max = 16384 if first < 0 else first
                if n - copied_max >= SPLICE_MIN:
                    expect(moved >= n - copied_max, "%s: %d bytes spliced", what, moved)
                expect(moved <= n, "%s: %d bytes spliced", what, moved)
            expect_eq(len(conns), 1, "backend connections used (%s)" % sorted(conns))
    finally:
        b.close()


@suite.test
def body_exactly_at_the_threshold(ctx):
    r, b = start(ctx)
    try:
        with r.client(timeout=20) as c:
            for n, want in ((SPLICE_MIN, SPLICE_MIN), (SPLICE_MIN - 1, 0)):
                before = spliced(r)
                get_checked(c, "/body?n=%d&first=0" % n, n, "download of %d bytes" % n)
                expect_eq(spliced(r) - before, want, "bytes spliced of a %d-byte response" % n)
                before = spliced(r)
                post_checked(c, n, 0, "upload of %d bytes" % n)
                expect_eq(spliced(r) - before, want, "bytes spliced of a %d-byte upload" % n)
    finally:
        b.close()


@suite.test
def uploads_split_at_every_boundary(ctx):
    r, b = start(ctx)
    try:
        with r.client(timeout=30) as c:
            for n, first in ((200000, 0), (200000, 1), (200000, 5000), (200000, 16000),
                             (200000, 100000), (10 * MiB, 777)):
                before = spliced(r)
                post_checked(c, n, first, "upload of %d, first %d" % (n, first))
                expect(spliced(r) - before >= n - max(first, 16384),
                       "upload of %d, first %d: not spliced", n, first)
                # the connection carries the next request
                expect_eq(c.request("GET", "/").status, 200, "GET after the upload")
    finally:
        b.close()


@suite.test
def client_stalls_mid_body(ctx):
    r, b = start(ctx)
    try:
        n = 8 * MiB
        with r.client(timeout=20) as c:
            c.send(lib.build_request("GET", "/body?n=%d&first=0" % n))
            got = bytearray()
            while b"\r\n\r\n" not in got:
                got += c.sock.recv(65536)
            head, _, rest = bytes(got).partition(b"\r\n\r\n")
            h = hashlib.sha256(rest)
            total = len(rest)
            stalled = False
            while total < n:
                if total >= MiB and not stalled:
                    time.sleep(1.0)         # the pipe stays bounded meanwhile
                    stalled = True
                d = c.sock.recv(min(1 << 20, n - total))
                expect(d, "EOF after %d body bytes", total)
                h.update(d)
                total += len(d)
            expect_eq(h.hexdigest(), lib.pattern_sha(n), "sha256 after a stall")
            post_checked(c, 4 * MiB, 0, "upload with a stall", stall=1.0)
            expect_eq(c.request("GET", "/").status, 200, "next request")
    finally:
        b.close()


def raw_until_close(sock, limit):
    out = bytearray()
    sock.settimeout(10 * lib.SLOW)
    while len(out) < limit:
        try:
            d = sock.recv(65536)
        except ConnectionResetError:
            break
        if not d:
            break
        out += d
    return bytes(out)


@suite.test
def backend_dies_mid_body(ctx):
    # The client must see a cut response (a close before Content-Length
    # bytes), never one that looks complete.
    r, b = start(ctx)
    try:
        n = 1000000
        for after, rst in ((0, 0), (100, 0), (300000, 0), (300000, 1)):
            mark = r.mark()
            before = spliced(r)
            c = socket.create_connection(r.addr, timeout=10)
            c.sendall(b"GET /die?n=%d&after=%d&rst=%d HTTP/1.1\r\nHost: t\r\n\r\n" % (n, after, rst))
            out = raw_until_close(c, n + 4096)
            c.close()
            head, _, body = out.partition(b"\r\n\r\n")
            expect(b"content-length: %d" % n in head.lower(), "head passed on: %r", head[:200])
            expect(len(body) < n, "after %d: a cut body must not look complete (%d bytes)",
                   after, len(body))
            expect(body == pattern(len(body)), "after %d: the bytes that came are the body's", after)
            if after >= SPLICE_MIN:
                expect(spliced(r) > before, "after %d: not spliced", after)
            r.wait_log(r"in the middle of the response", 5 * lib.SLOW, since=mark)
        expect_eq(r.get("/").status, 200, "next request")
    finally:
        b.close()


@suite.test
def pipelined_after_spliced_bodies(ctx):
    r, b = start(ctx)
    try:
        n = 300000
        up = pattern(n)
        with r.client(timeout=20) as c:
            before = spliced(r)
            c.send(lib.build_request("POST", "/sha", [("Content-Length", str(n))]) + up +
                   lib.build_request("GET", "/body?n=%d&first=0" % n) +
                   lib.build_request("HEAD", "/body?n=%d" % n) +
                   lib.build_request("GET", "/status?code=204") +
                   lib.build_request("GET", "/body?n=%d&first=-1" % n) +
                   lib.build_request("GET", "/status?code=304") +
                   lib.build_request("GET", "/"))
            resp = c.read_response("POST")
            expect_eq(resp.header("X-Body-Sha256"), hashlib.sha256(up).hexdigest(),
                      "pipelined upload's sha256")
            h = hashlib.sha256()
            resp = c.read_response("GET", sink=h.update)
            expect_eq((resp.status, resp.body_len, h.hexdigest()), (200, n, lib.pattern_sha(n)),
                      "pipelined download")
            resp = c.read_response("HEAD")
            expect_eq((resp.status, resp.header("Content-Length"), resp.body_len),
                      (200, str(n), 0), "HEAD after a spliced body")
            resp = c.read_response("GET")
            expect_eq((resp.status, resp.body_len), (204, 0), "204 after a spliced body")
            h = hashlib.sha256()
            resp = c.read_response("GET", sink=h.update)
            expect_eq((resp.status, resp.body_len, h.hexdigest()), (200, n, lib.pattern_sha(n)),
                      "download in one write")
            resp = c.read_response("GET")
            expect_eq((resp.status, resp.body_len), (304, 0), "304 after a spliced body")
            resp = c.read_response("GET")
            expect_eq((resp.status, resp.body), (200, b"ok"), "last pipelined request")
            expect(spliced(r) - before >= 2 * n, "pipelined bodies were not spliced")
            expect(not c.closed_by_peer(0.3), "the connection stays open")
    finally:
        b.close()


@suite.test
def access_log_counts_spliced_bytes(ctx):
    path = os.path.join(ctx.tmpdir, "access.log")
    r, b = start(ctx, accessLog=path, accessLogFormat="json")
    try:
        n = 500000
        with r.client(timeout=20) as c:
            resp = get_checked(c, "/body?n=%d&first=0" % n, n, "download")
        head_len = len(resp.raw_head)

        def line():
            try:
                with open(path) as f:
                    for ln in f:
                        e = json.loads(ln)
                        if e.get("target", "").startswith("/body"):
                            return e
            except (OSError, ValueError):
                pass
            return None
        e = lib.wait_until(line, 5, "the access log line")
        expect_eq(e["body_bytes"], n, "body_bytes logged")
        expect_eq(e["bytes"], n + head_len, "bytes logged (head %d)" % head_len)
    finally:
        b.close()


@suite.test
def progress_on_either_side_keeps_the_timeout(ctx):
    # A client that reads slowly but steadily for longer than the server
    # timeout keeps the exchange alive: while it drains the pipe the backend
    # side is idle, and the client's progress counts.
    # 2 s: a loaded machine may stall the client for a good part of a second.
    r, b = start(ctx, timeouts={"server": "2s"})
    try:
        n = 8 * MiB
        with r.client(timeout=20) as c:
            c.send(lib.build_request("GET", "/body?n=%d&first=0" % n))
            got = bytearray()
            while b"\r\n\r\n" not in got:
                got += c.sock.recv(65536)
            _, _, rest = bytes(got).partition(b"\r\n\r\n")
            h = hashlib.sha256(rest)
            total = len(rest)
            t0 = time.monotonic()
            while total < n:
                d = c.sock.recv(min(256 * 1024, n - total))
                expect(d, "EOF after %d body bytes (%.1fs)", total, time.monotonic() - t0)
                h.update(d)
                total += len(d)
                time.sleep(0.1)         # 32 reads at least: 3.2 s
            expect(time.monotonic() - t0 > 2.4, "the download was faster than the timeout")
            expect_eq(h.hexdigest(), lib.pattern_sha(n), "sha256 of the slow download")
    finally:
        b.close()


@suite.test
def splice_off(ctx):
    r, b = start(ctx, splice=False)
    try:
        with r.client(timeout=20) as c:
            get_checked(c, "/body?n=%d&first=0" % MiB, MiB, "download, splice off")
            post_checked(c, MiB, 0, "upload, splice off")
        expect_eq(spliced(r), 0, "bytes spliced with \"splice\": false")
    finally:
        b.close()


if __name__ == "__main__":
    suite.main()
