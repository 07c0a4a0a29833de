#!/usr/bin/env python3
"""Request and response bodies: Content-Length and chunked, small to 1 GiB,
intact, and streamed through rondo without growing its memory."""

import hashlib
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_bodies")

MiB = 1 << 20
BIG = (256 if lib.SANITIZERS else 1024) * MiB
RSS_LIMIT_KIB = 32 * 1024


def start(ctx, workers=2):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, healthCheckInterval="1s", workers=workers))
    if not r.external:
        lib.warm_up(r, [b.name for b in bs])
    return r


def send_pattern(sock, n, sha=None, block=lib.PATTERN_BLOCK):
    """Sends the first n bytes of the pattern, hashing them into sha if given."""
    view = memoryview(block)
    left = n
    while left > 0:
        k = min(left, len(block))
        sock.sendall(view[:k])
        if sha is not None:
            sha.update(view[:k])
        left -= k


def check_sha_answer(resp, sha_hex, n, what):
    expect_eq(resp.status, 200, "%s: status" % what)
    expect_eq(resp.header("X-Body-Len"), str(n), "%s: length the backend received" % what)
    expect_eq(resp.header("X-Body-Sha256"), sha_hex, "%s: sha256 of what the backend received" % what)
    j = resp.json()
    expect_eq((j["len"], j["sha256"]), (n, sha_hex), "%s: JSON answer" % what)


@suite.test(external_ok=True)
def upload_10mib_content_length(ctx):
    r = start(ctx)
    n = 10 * MiB
    with r.client(timeout=20) as c:
        c.send(lib.build_request("POST", "/sha", [("Content-Length", str(n))]))
        send_pattern(c.sock, n)
        resp = c.read_response("POST")
        check_sha_answer(resp, lib.pattern_sha(n), n, "10 MiB upload")
        # the connection is still usable afterwards
        resp = c.request("GET", "/")
        expect_eq(resp.status, 200, "request after the upload")


@suite.test(external_ok=True)
def upload_chunked(ctx):
    r = start(ctx)
    data = (lib.PATTERN_BLOCK * 4)[:3 * MiB + 12345]
    body = lib.chunked(data, sizes=(1, 100, 65536, 7, 300000, 4095, 1 << 20))
    with r.client(timeout=20) as c:
        head = lib.build_request("POST", "/sha", [("Transfer-Encoding", "chunked")])
        # Written in awkward pieces, so rondo sees chunk lines split anywhere.
        c.send(head)
        i, step = 0, 1
        while i < len(body):
            c.send(body[i:i + step])
            i += step
            step = 1 if step > 70000 else step * 3 + 1
        resp = c.read_response("POST")
        check_sha_answer(resp, hashlib.sha256(data).hexdigest(), len(data), "chunked upload")
        # A chunk extension is legal and must not break anything.
        body = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        c.send(lib.build_request("POST", "/echo", [("Transfer-Encoding", "chunked")]) + body)
        resp = c.read_response("POST")
        expect_eq((resp.status, resp.body), (200, b"hello world"), "echo of a chunked body")


@suite.test(external_ok=True)
def echo_small_bodies(ctx):
    r = start(ctx)
    with r.client() as c:
        for body in (b"", b"x", b"hello\r\n\r\nworld", bytes(range(256)) * 40):
            resp = c.request("POST", "/echo", body=body)
            expect_eq(resp.status, 200, "echo status")
            expect_eq(resp.body, body, "echo of %d bytes" % len(body))
            expect_eq(resp.header("X-Body-Len"), str(len(body)), "X-Body-Len")


@suite.test(external_ok=True)
def downloads(ctx):
    r = start(ctx)
    with r.client(timeout=20) as c:
        for n in (0, 1, 64 * 1024, 50 * MiB):
            for chunked in (0, 1):
                h = hashlib.sha256()
                resp = c.request("GET", "/stream?bytes=%d&chunked=%d" % (n, chunked), sink=h.update)
                what = "download of %d bytes%s" % (n, " (chunked)" if chunked else "")
                expect_eq(resp.status, 200, what + ": status")
                expect_eq(resp.body_len, n, what + ": length")
                expect_eq(h.hexdigest(), lib.pattern_sha(n), what + ": sha256")
                if not chunked:
                    expect_eq(resp.framing, "length", what + ": framing")


@suite.test(external_ok=True)
def head_has_no_body(ctx):
    r = start(ctx)
    with r.client() as c:
        resp = c.request("HEAD", "/stream?bytes=100000")
        expect_eq(resp.status, 200, "HEAD status")
        expect_eq(resp.header("Content-Length"), "100000", "HEAD Content-Length")
        # Had a body followed, this would read it as the next response.
        resp = c.request("GET", "/")
        expect_eq((resp.status, resp.body[:10]), (200, b"hello from"), "GET after HEAD")


def sample_rss(r, stop, peak):
    while not stop.wait(0.05):
        peak[0] = max(peak[0], r.total_rss_kib())


@suite.test
def big_transfers_flat_memory(ctx):
    r = start(ctx, workers=1)
    with r.client(timeout=30) as c:
        for _ in range(3):      # whatever rondo allocates once per connection
            c.request("POST", "/sha", body=b"x" * 100000)
            c.request("GET", "/stream?bytes=1000000")
        base = r.total_rss_kib()
        expect(base > 0, "no RSS read for rondo's processes")
        stop, peak = threading.Event(), [base]
        sampler = threading.Thread(target=sample_rss, args=(r, stop, peak), daemon=True)
        sampler.start()
        t0 = time.monotonic()
        try:
            sha = hashlib.sha256()
            c.send(lib.build_request("POST", "/sha", [("Content-Length", str(BIG))]))
            send_pattern(c.sock, BIG, sha)
            resp = c.read_response("POST")
            check_sha_answer(resp, sha.hexdigest(), BIG, "%d MiB upload" % (BIG // MiB))
            t_up = time.monotonic() - t0
            down = hashlib.sha256()
            resp = c.request("GET", "/stream?bytes=%d" % BIG, sink=down.update)
            expect_eq(resp.status, 200, "big download status")
            expect_eq(resp.body_len, BIG, "big download length")
            expect_eq(down.hexdigest(), sha.hexdigest(), "big download sha256")
        finally:
            stop.set()
            sampler.join()
        t_all = time.monotonic() - t0
        peak[0] = max(peak[0], r.total_rss_kib())
        grew = peak[0] - base
        expect(grew < RSS_LIMIT_KIB, "rondo's RSS grew by %d KiB (from %d KiB) during the %d MiB "
               "transfers", grew, base, BIG // MiB)
        limit = 60 * lib.SLOW
        expect(t_all < limit, "%d MiB up and down took %.1fs (upload %.1fs), over %.0fs",
               BIG // MiB, t_all, t_up, limit)


if __name__ == "__main__":
    suite.main()
