#!/usr/bin/env python3
"""Malformed requests: the right status, the connection closed, and not one
byte of them at the backend (which records everything it receives)."""

import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_malformed")

H = b"Host: rondo.test\r\n"

# name, raw request, expected status
CASES = [
    ("bare_lf", b"GET / HTTP/1.1\nHost: rondo.test\n\n", 400),
    ("bare_lf_in_header", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\nX-B: 2\r\n\r\n", 400),
    ("bare_cr", b"GET / HTTP/1.1\r\n" + H + b"X-A: 1\rX-B: 2\r\n\r\n", 400),
    ("obs_fold", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\r\n  folded\r\n\r\n", 400),
    ("cl_and_te", b"POST /echo HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("te_and_cl", b"POST /echo HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n", 400),
    ("two_different_cl", b"POST /echo HTTP/1.1\r\n" + H +
     b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", 400),
    ("cl_list_different", b"POST /echo HTTP/1.1\r\n" + H +
     b"Content-Length: 5, 6\r\n\r\nhello!", 400),
    ("cl_negative", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: -1\r\n\r\n", 400),
    ("cl_plus", b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: +5\r\n\r\nhello", 400),
    ("cl_overflow", b"POST /echo HTTP/1.1\r\n" + H +
     b"Content-Length: 99999999999999999999999\r\n\r\n", 400),
    # RFC 9112 6.3: chunked not the final coding of a request is a 400;
    # chunked last after a coding rondo does not implement is a 501.
    ("te_gzip", b"POST /echo HTTP/1.1\r\n" + H + b"Transfer-Encoding: gzip\r\n\r\nxxxx", 400),
    ("te_chunked_then_gzip", b"POST /echo HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", 400),
    ("te_gzip_then_chunked", b"POST /echo HTTP/1.1\r\n" + H +
     b"Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
    ("target_fragment", b'GET http://good.test#"<svg>,evil.test@x/p HTTP/1.1\r\n' + H + b"\r\n",
     400),
    ("te_in_http10", b"POST /echo HTTP/1.0\r\n" + H +
     b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
    ("http_2_0", b"GET / HTTP/2.0\r\n" + H + b"\r\n", 505),
    ("http_1_2", b"GET / HTTP/1.2\r\n" + H + b"\r\n", 505),
    ("garbage_version", b"GET / HTTX/1.1\r\n" + H + b"\r\n", 400),
    ("missing_host_11", b"GET / HTTP/1.1\r\nX-A: b\r\n\r\n", 400),
    ("two_hosts", b"GET / HTTP/1.1\r\n" + H + b"Host: other.test\r\n\r\n", 400),
    ("nul_in_header", b"GET / HTTP/1.1\r\n" + H + b"X-A: a\x00b\r\n\r\n", 400),
    ("nul_in_target", b"GET /a\x00b HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("space_before_colon", b"GET / HTTP/1.1\r\n" + H + b"X-A : b\r\n\r\n", 400),
    ("empty_header_name", b"GET / HTTP/1.1\r\n" + H + b": b\r\n\r\n", 400),
    ("bad_target", b"GET nopath HTTP/1.1\r\n" + H + b"\r\n", 400),
    ("connect", b"CONNECT rondo.test:443 HTTP/1.1\r\n" + H + b"\r\n", 501),
    ("header_20k", b"GET / HTTP/1.1\r\n" + H + b"X-Big: " + b"a" * 20480 + b"\r\n\r\n", 431),
    ("many_headers", b"GET / HTTP/1.1\r\n" + H +
     b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n", 431),
    ("uri_20k", b"GET /" + b"a" * 20480 + b" HTTP/1.1\r\n" + H + b"\r\n", 414),
]


def start(ctx):
    """rondo in front of a recording backend; with RONDO_ADDR, the external
    rondo and no backend of ours (what reached its backends is not checked)."""
    if lib.EXTERNAL:
        return ctx.rondo({}), None
    b = ctx.backend("rec", record=True)
    r = ctx.rondo({"healthCheckInterval": "300ms", "servers": [b.url], "workers": 1})
    lib.warm_up(r, [b.name])
    return r, b


def records(b):
    return b.records() if b is not None else b""


def valid_request_works(r, b, tag):
    before = records(b)
    resp = r.get("/valid-" + tag)
    expect_eq(resp.status, 200, "valid request after the malformed one")
    expect_eq(resp.header("X-Path"), "/valid-" + tag, "X-Path of the valid request")
    if b is None:
        return
    rec = lib.strip_health_checks(b.records()[len(before):])
    expect(rec.startswith(b"GET /valid-" + tag.encode() + b" HTTP/1.1\r\n"),
           "the backend recorded %r for the valid request", rec[:100])


def make_case(name, raw, status):
    def case(ctx):
        r, b = start(ctx)
        before = records(b)
        with r.client() as c:
            c.send(raw)
            try:
                resp = c.read_response()
            except lib.ConnectionClosed as e:
                raise lib.TestFailure("no %d response: %s" % (status, e))
            expect_eq(resp.status, status, "status")
            expect("close" in resp.tokens("connection"),
                   "no Connection: close in the %d response: %s", resp.status, resp.headers)
            expect_eq(int(resp.header("Content-Length", "-1")), len(resp.body),
                      "Content-Length of the error response")
            expect(c.closed_by_peer(), "connection still open after the %d", resp.status)
        leaked = lib.strip_health_checks(records(b)[len(before):])
        expect(leaked == b"", "the backend received %d bytes: %r", len(leaked), leaked[:120])
        valid_request_works(r, b, name)
    case.__name__ = name
    return case


for _name, _raw, _status in CASES:
    suite.test(make_case(_name, _raw, _status), external_ok=True)


@suite.test(external_ok=True)
def many_in_a_row(ctx):
    # All the cases against one rondo, then a valid request: nothing leaks,
    # nothing is left in a bad state.
    r, b = start(ctx)
    before = records(b)
    for name, raw, status in CASES:
        with r.client() as c:
            c.send(raw)
            resp = c.read_response()
            expect_eq(resp.status, status, "%s: status" % name)
            expect(c.closed_by_peer(), "%s: connection still open", name)
    leaked = lib.strip_health_checks(records(b)[len(before):])
    expect(leaked == b"", "the backend received %d bytes: %r", len(leaked), leaked[:120])
    valid_request_works(r, b, "after-all")


@suite.test(external_ok=True)
def malformed_after_a_valid_request(ctx):
    # Same connection, one request after the other (no pipelining): the
    # error answer must not depend on the request being the first.
    r, b = start(ctx)
    with r.client() as c:
        resp = c.request("GET", "/first")
        expect_eq(resp.status, 200, "first request")
        before = records(b)
        c.send(b"GET / HTTP/1.1\nHost: rondo.test\n\n")
        try:
            resp = c.read_response()
            closed = c.closed_by_peer()
        except lib.ConnectionClosed as e:
            resp, closed = e, True
    leaked = lib.strip_health_checks(records(b)[len(before):])
    expect(leaked == b"", "the backend received %r", leaked[:120])
    expect(not isinstance(resp, Exception),
           "no 400 for a bare-LF request after a valid one: %s", resp)
    expect_eq(resp.status, 400, "status")
    expect(closed, "connection still open after the 400")


@suite.test(external_ok=True)
def smuggled_request_not_forwarded(ctx):
    # A valid request followed on the same connection by a CL+TE one: the
    # first is answered, the second refused, and only the first is recorded.
    r, b = start(ctx)
    before = records(b)
    first = b"GET /first HTTP/1.1\r\n" + H + b"\r\n"
    second = (b"POST /echo HTTP/1.1\r\n" + H + b"Content-Length: 44\r\n"
              b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + H + b"\r\n")
    with r.client() as c:
        c.send(first + second)
        resp = c.read_response()
        expect_eq((resp.status, resp.header("X-Path")), (200, "/first"), "first response")
        try:
            resp = c.read_response()
            closed = c.closed_by_peer()
        except lib.ConnectionClosed as e:
            resp, closed = e, True
    if b is not None:
        rec = lib.strip_health_checks(records(b)[len(before):])
        expect(rec.startswith(b"GET /first ") and rec.count(b"HTTP/1.1\r\n") == 1,
               "the backend received %r", rec[:300])
    expect(not isinstance(resp, Exception),
           "no 400 for the CL+TE request pipelined after a valid one: %s", resp)
    expect_eq(resp.status, 400, "status of the CL+TE request")
    expect(closed, "connection still open after the 400")


if __name__ == "__main__":
    suite.main()
