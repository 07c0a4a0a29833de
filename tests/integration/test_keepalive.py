#!/usr/bin/env python3
"""Persistent connections: client keep-alive, pipelining, upstream reuse, close."""

import os
import re
import signal
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_keepalive")


def start(ctx, nbackends=1, workers=2):
    bs = ctx.backends_n(nbackends)
    r = ctx.rondo(lib.config(bs, healthCheckInterval="1s", workers=workers))
    if not r.external:
        lib.warm_up(r, [b.name for b in bs])
    return r, bs


@suite.test(external_ok=True)
def fifty_on_one_connection(ctx):
    r, bs = start(ctx, nbackends=2)
    paths = ["/", "/conn", "/echo", "/status?code=404", "/stream?bytes=3000&chunked=1"]
    with r.client() as c:
        for i in range(50):
            path = paths[i % len(paths)]
            body = b"ping %d" % i if path == "/echo" else None
            resp = c.request("POST" if body else "GET", path, body=body)
            want = 404 if "404" in path else 200
            expect_eq(resp.status, want, "request %d (%s) status" % (i, path))
            expect_eq(resp.header("X-Path"), path, "request %d X-Path" % i)
            if body:
                expect_eq(resp.body, body, "request %d echo" % i)
            expect("close" not in resp.tokens("connection"),
                   "request %d: rondo announced Connection: close", i)


@suite.test(external_ok=True)
def pipelining_in_order(ctx):
    r, bs = start(ctx, nbackends=2)
    reqs, want = [], []
    for i in range(10):
        if i == 4:
            path = "/echo?i=4"
            reqs.append(lib.build_request("POST", path, body=b"body of request 4"))
            want.append(("POST", path, b"body of request 4"))
        elif i == 7:
            path = "/stream?bytes=5000&i=7"
            reqs.append(lib.build_request("HEAD", path))
            want.append(("HEAD", path, b""))
        else:
            # the first ones take longest: answers must still come in order
            path = "/delay?ms=%d&i=%d" % ((10 - i) * 15, i)
            reqs.append(lib.build_request("GET", path))
            want.append(("GET", path, None))
    with r.client() as c:
        c.send(b"".join(reqs))
        for i, (method, path, body) in enumerate(want):
            resp = c.read_response(method)
            expect_eq(resp.status, 200, "pipelined response %d status" % i)
            expect_eq(resp.header("X-Path"), path, "pipelined response %d is for" % i)
            if body is not None:
                expect_eq(resp.body, body, "pipelined response %d body" % i)
            else:
                expect(path.encode() in resp.body, "pipelined response %d body %r", i, resp.body)
        resp = c.request("GET", "/after")
        expect_eq((resp.status, resp.header("X-Path")), (200, "/after"), "request after the pipeline")


@suite.test
def upstream_reuse(ctx):
    r, bs = start(ctx, nbackends=1, workers=1)
    n = 100
    conns = set()
    with r.client() as c:
        for i in range(n):
            resp = c.request("GET", "/conn")
            expect_eq(resp.status, 200, "request %d status" % i)
            conns.add(resp.json()["conn"])
    expect(len(conns) <= 5, "%d requests on one client connection used %d backend connections",
           n, len(conns))


@suite.test
def upstream_reuse_across_clients(ctx):
    r, bs = start(ctx, nbackends=1, workers=1)
    n = 100
    conns = set()
    for i in range(n):
        resp = r.get("/conn")
        expect_eq(resp.status, 200, "request %d status" % i)
        conns.add(resp.json()["conn"])
    expect(len(conns) <= 10, "%d client connections in a row used %d backend connections",
           n, len(conns))


@suite.test
def pooled_connection_with_stray_bytes_not_reused(ctx):
    """Bytes a backend sends after a complete response stay in the pooled
    connection. When they and the next request are seen in the same turn of
    the worker's loop (made certain here by stopping the worker while both
    arrive), the connection must not carry the request: its answer would be
    those bytes."""
    b = ctx.backend("b1")
    r = ctx.rondo({"healthCheckInterval": "1m", "servers": [b.url], "workers": 1})
    r.wait_log(r"backend %s is up" % re.escape(b.url), 5 * lib.SLOW)
    health = {int(m) for m in re.findall(r"rondo\[(\d+)\] health", r.log_text())}
    workers = [p for p in r.children() if p not in health]
    expect(len(health) == 1 and len(workers) == 1, "cannot tell the worker: health %s, children %s",
           health, r.children())
    with r.client() as c:
        first = c.request("GET", "/stray?ms=300")
    expect_eq((first.status, first.header("X-Backend")), (200, b.name), "first response")
    conn = first.json()["conn"]
    os.kill(workers[0], signal.SIGSTOP)
    try:
        lib.wait_until(lambda: ("stray response sent on connection %d" % conn) in b.log_tail(),
                       5 * lib.SLOW, "the backend's stray response")
        c2 = r.client()
        c2.send(lib.build_request("GET", "/conn"))
    finally:
        os.kill(workers[0], signal.SIGCONT)
    with c2:
        resp = c2.read_response()
    expect_eq((resp.status, resp.header("X-Backend")), (200, b.name), "second client's response")
    expect(resp.json()["conn"] != conn, "the connection with stray bytes was reused (conn %d)", conn)


@suite.test(external_ok=True)
def http10_closes(ctx):
    r, bs = start(ctx)
    with r.client() as c:
        resp = c.request("GET", "/", version="HTTP/1.0")
        expect_eq(resp.status, 200, "HTTP/1.0 status")
        expect(resp.body.startswith(b"hello from"), "HTTP/1.0 body %r", resp.body)
        expect(resp.framing == "close" or c.closed_by_peer(),
               "rondo kept an HTTP/1.0 connection without keep-alive open")
    with r.client() as c:
        resp = c.request("GET", "/", version="HTTP/1.0", host=None)
        expect_eq(resp.status, 200, "HTTP/1.0 status without Host")


@suite.test(external_ok=True)
def connection_close_honoured(ctx):
    r, bs = start(ctx)
    with r.client() as c:
        resp = c.request("GET", "/", headers=[("Connection", "close")])
        expect_eq(resp.status, 200, "status")
        expect("close" in resp.tokens("connection"), "no Connection: close in the answer: %s",
               resp.headers)
        expect(resp.framing == "close" or c.closed_by_peer(),
               "rondo kept the connection open after Connection: close")
    # Second request of a connection, then close
    with r.client() as c:
        expect_eq(c.request("GET", "/a").status, 200, "first request")
        resp = c.request("POST", "/echo", headers=[("Connection", "close")], body=b"bye")
        expect_eq((resp.status, resp.body), (200, b"bye"), "closing request")
        expect(resp.framing == "close" or c.closed_by_peer(),
               "rondo kept the connection open after Connection: close")


@suite.test
def backend_close_does_not_close_client(ctx):
    # "close=1" makes the backend answer Connection: close and hang up: rondo
    # must keep the client connection, not relay that close, and never send
    # the next request on the closed upstream connection.
    r, bs = start(ctx, workers=1)
    with r.client() as c:
        ids = []
        for i in range(10):
            path = "/conn?close=1" if i % 2 else "/conn"
            resp = c.request("GET", path)
            expect_eq(resp.status, 200, "request %d (%s) status" % (i, path))
            expect("close" not in resp.tokens("connection"),
                   "request %d: the backend's Connection: close reached the client", i)
            ids.append(resp.json()["conn"])
    for i in range(1, 10, 2):
        if i + 1 < 10:
            expect(ids[i + 1] != ids[i], "request %d went on the backend connection closed by "
                   "request %d (ids %s)", i + 1, i, ids)


if __name__ == "__main__":
    suite.main()
