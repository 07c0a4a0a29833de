#!/usr/bin/env python3
"""Protocol corners through rondo: Upgrade tunnels, 100-continue, 1xx,
responses delimited by close, trailers, bodiless responses, and a backend
that dies in the middle of a response."""

import socket
import struct
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_protocol")


class RawBackend(lib.RawServer):
    """A backend scripted per path, on raw sockets, one thread per connection."""

    @staticmethod
    def _read_head(c, buf):
        while b"\r\n\r\n" not in buf:
            d = c.recv(65536)
            if not d:
                return None, buf
            buf += d
        head, rest = buf.split(b"\r\n\r\n", 1)
        return head.decode("latin-1"), rest

    def serve(self, c, number):
        c.settimeout(10)
        buf = b""
        try:
            while True:
                head, buf = self._read_head(c, buf)
                if head is None:
                    return
                line = head.split("\r\n")[0]
                method, path = line.split(" ")[:2]
                headers = {}
                for h in head.split("\r\n")[1:]:
                    k, v = h.split(":", 1)
                    headers[k.strip().lower()] = v.strip()
                if method == "HEAD":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n")
                    continue
                if path == "/version":
                    version = line.split(" ")[2]
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                              % (len(version), version.encode()))
                    return
                if path == "/reset-upload":
                    # Stops reading, lets the sender fill the window, then resets.
                    time.sleep(1.0)
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    c.close()
                    return
                if path == "/upgrade":
                    if headers.get("upgrade") != "echo" or \
                            "upgrade" not in headers.get("connection", "").lower():
                        c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 10\r\n\r\nno upgrade")
                        continue
                    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n"
                              b"Connection: Upgrade\r\n\r\n")
                    if buf:
                        c.sendall(buf.upper())
                    while True:
                        d = c.recv(65536)
                        if not d:
                            break
                        c.sendall(d.upper())
                    c.sendall(b"BYE")
                    return
                if path == "/upgrade-other":
                    # switches to a protocol nobody offered
                    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: other\r\n"
                              b"Connection: Upgrade\r\n\r\nOTHER PROTOCOL BYTES")
                    continue
                if path == "/unframe":
                    # tries to take its framing away by naming it in Connection
                    c.sendall(b"HTTP/1.1 200 OK\r\nConnection: Content-Length\r\n"
                              b"Content-Length: 5\r\n\r\nhello")
                    continue
                if path == "/trailers-framing":
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                              b"5\r\nhello\r\n0\r\nX-Sum: 42\r\nContent-Length: 50\r\n"
                              b"Transfer-Encoding: chunked\r\nHost: evil.test\r\n"
                              b"Connection: close\r\nTrailer: X\r\nX-After: 1\r\n\r\n")
                    continue
                if path == "/silent":
                    # reads on, never answers
                    while c.recv(65536):
                        pass
                    return
                if path == "/until-close":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                              + b"x" * 100000 + b"end")
                    return
                if path == "/trailers":
                    c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                              b"Trailer: X-Sum\r\n\r\n5\r\nhello\r\n6\r\n world\r\n"
                              b"0\r\nX-Sum: 42\r\n\r\n")
                    continue
                if path == "/continue":
                    # 100 first, then the body, then the answer
                    c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                    n = int(headers.get("content-length", "0"))
                    while len(buf) < n:
                        d = c.recv(65536)
                        if not d:
                            return
                        buf += d
                    body, buf = buf[:n], buf[n:]
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (n, body))
                    continue
                if path == "/info":
                    c.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n"
                              b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                    continue
                if path in ("/204", "/304"):
                    c.sendall(b"HTTP/1.1 %s X\r\nContent-Length: 0\r\n\r\n" % path[1:].encode())
                    continue
                if path == "/die-mid-body":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"y" * 5000)
                    c.shutdown(socket.SHUT_RDWR)
                    return
                if path == "/bad-response":
                    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
                    return
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()


def start(ctx):
    b = RawBackend()
    r = ctx.rondo({"healthCheckInterval": "1s", "servers": [b.url], "workers": 1})
    lib.wait_until(lambda: r.get("/").status == 200, 10 * lib.SLOW, "rondo to answer")
    return r, b


def raw_until_close(c, timeout=10):
    c.settimeout(timeout)
    out = b""
    while True:
        d = c.recv(65536)
        if not d:
            return out
        out += d


@suite.test
def upgrade_tunnel(ctx):
    r, b = start(ctx)
    try:
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /upgrade HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head:
            d = c.recv(1)
            expect(d, "connection closed before the 101")
            head += d
        expect(head.startswith(b"HTTP/1.1 101 "), "status line %r", head[:40])
        expect(b"upgrade: echo" in head.lower(), "Upgrade missing from the 101: %r", head)
        for word in (b"ping", b"second", b"x" * 200000):
            c.sendall(word)
            got = b""
            while len(got) < len(word):
                d = c.recv(65536)
                expect(d, "tunnel closed early")
                got += d
            expect_eq(got, word.upper(), "echo through the tunnel")
        c.shutdown(socket.SHUT_WR)   # half-close passes on; the backend answers BYE
        expect_eq(raw_until_close(c), b"BYE", "bytes after the client's half-close")
        c.close()
    finally:
        b.close()


@suite.test
def upgrade_not_offered_is_not_forwarded(ctx):
    # Upgrade without "Connection: upgrade" is hop-by-hop junk: not passed on.
    r, b = start(ctx)
    try:
        resp = r.get("/upgrade", headers=[("Upgrade", "echo")])
        expect_eq(resp.status, 400, "backend saw no upgrade offer")
    finally:
        b.close()


@suite.test
def expect_continue(ctx):
    r, b = start(ctx)
    try:
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"POST /continue HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        got = b""
        while b"\r\n\r\n" not in got:
            d = c.recv(65536)
            expect(d, "closed before 100 Continue")
            got += d
        expect(got.startswith(b"HTTP/1.1 100"), "interim response first: %r", got[:40])
        c.sendall(b"hello world")
        rest = got.split(b"\r\n\r\n", 1)[1]
        while b"hello world" not in rest:
            d = c.recv(65536)
            expect(d, "closed before the final response")
            rest += d
        expect(rest.startswith(b"HTTP/1.1 200"), "final response: %r", rest[:40])
        c.close()
    finally:
        b.close()


@suite.test
def informational_then_final(ctx):
    r, b = start(ctx)
    try:
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /info HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        out = raw_until_close(c)
        expect(out.startswith(b"HTTP/1.1 103 "), "103 passed on first: %r", out[:40])
        expect(b"\r\n\r\nHTTP/1.1 200 " in out, "then the 200: %r", out)
        expect(out.endswith(b"\r\n\r\nok"), "body of the 200: %r", out[-20:])
    finally:
        b.close()


@suite.test
def response_until_close(ctx):
    r, b = start(ctx)
    try:
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /until-close HTTP/1.1\r\nHost: t\r\n\r\n")
        out = raw_until_close(c)
        head, body = out.split(b"\r\n\r\n", 1)
        expect_eq(body, b"x" * 100000 + b"end", "body delimited by close")
        expect(b"connection: close" in head.lower(), "Connection: close announced: %r", head)
    finally:
        b.close()


@suite.test
def trailers_pass(ctx):
    r, b = start(ctx)
    try:
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /trailers HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        out = raw_until_close(c)
        head, body = out.split(b"\r\n\r\n", 1)
        expect(b"transfer-encoding: chunked" in head.lower(), "chunked kept: %r", head)
        expect(b"trailer: x-sum" in head.lower(), "Trailer field kept: %r", head)
        expect_eq(body, b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n", "chunked body")
    finally:
        b.close()


@suite.test
def trailers_lose_framing_fields(ctx):
    r, b = start(ctx)
    try:
        with r.client() as c:
            c.send(b"GET /trailers-framing HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            out = raw_until_close(c.sock)
        head, body = out.split(b"\r\n\r\n", 1)
        expect_eq(body, b"5\r\nhello\r\n0\r\nX-Sum: 42\r\nX-After: 1\r\n\r\n",
                  "chunked body, trailers without framing, routing or connection fields")
    finally:
        b.close()


@suite.test
def response_framing_survives_connection(ctx):
    # "Connection: Content-Length" must not strip the length: the client would
    # read the next response as part of this one.
    r, b = start(ctx)
    try:
        with r.client() as c:
            resp = c.request("GET", "/unframe")
            expect_eq(resp.header("Content-Length"), "5", "Content-Length of the response")
            expect_eq(resp.body, b"hello", "body")
            resp = c.request("GET", "/")
            expect_eq((resp.status, resp.body), (200, b"ok"), "next response on the connection")
    finally:
        b.close()


@suite.test
def upgrade_to_other_protocol_is_502(ctx):
    r, b = start(ctx)
    try:
        mark = r.mark()
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /upgrade-other HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\n"
                  b"Upgrade: echo\r\n\r\n")
        out = raw_until_close(c)
        c.close()
        expect(out.startswith(b"HTTP/1.1 502 "), "answer to a 101 nobody asked for: %r", out[:60])
        expect(b"OTHER PROTOCOL" not in out, "bytes of the other protocol relayed: %r", out)
        r.wait_log(r"malformed response|did not offer", 5 * lib.SLOW, since=mark)
        expect_eq(r.get("/").status, 200, "next request")
    finally:
        b.close()


@suite.test
def pipelining_does_not_delay_504(ctx):
    # The backend never answers; the client keeps sending pipelined requests.
    # Those are client activity: the backend still gets its timeouts.server.
    b = RawBackend()
    try:
        r = ctx.rondo({"healthCheckInterval": "1s", "servers": [b.url], "workers": 1,
                       "retries": 0, "timeouts": {"server": "1s"}})
        lib.wait_until(lambda: r.get("/").status == 200, 10 * lib.SLOW, "rondo to answer")
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /silent HTTP/1.1\r\nHost: t\r\n\r\n")
        c.setblocking(False)
        t0 = time.monotonic()
        got, limit = b"", 1.0 + 3.0 * lib.SLOW
        while time.monotonic() - t0 < limit + 1.0 and b"\r\n" not in got:
            try:
                c.send(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            except OSError:
                pass
            time.sleep(0.1)
            try:
                d = c.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                break
            if not d:
                break
            got += d
        took = time.monotonic() - t0
        c.close()
        expect(got.startswith(b"HTTP/1.1 504 "), "no 504 within %.1fs: %r", took, got[:60])
        expect(took <= limit, "504 after %.2fs with timeouts.server 1s", took)
    finally:
        b.close()


@suite.test
def bodiless_responses(ctx):
    r, b = start(ctx)
    try:
        with r.client() as c:
            for method, path, status in (("HEAD", "/", 200), ("GET", "/204", 204),
                                         ("GET", "/304", 304), ("GET", "/", 200)):
                resp = c.request(method, path)
                expect_eq(resp.status, status, "%s %s" % (method, path))
                expect_eq(resp.body, b"ok" if path == "/" and method == "GET" else b"",
                          "%s %s body" % (method, path))
    finally:
        b.close()


@suite.test
def backend_dies_mid_response(ctx):
    r, b = start(ctx)
    try:
        mark = r.mark()
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /die-mid-body HTTP/1.1\r\nHost: t\r\n\r\n")
        out = raw_until_close(c)
        head, body = out.split(b"\r\n\r\n", 1)
        expect(b"content-length: 100000" in head.lower(), "head passed on: %r", head)
        expect(len(body) < 100000, "a truncated body must not look complete")
        r.wait_log(r"in the middle of the response", 5 * lib.SLOW, since=mark)
        expect_eq(r.get("/").status, 200, "next request")
    finally:
        b.close()


@suite.test
def malformed_response_is_502(ctx):
    r, b = start(ctx)
    try:
        resp = r.get("/bad-response")
        expect_eq(resp.status, 502, "conflicting Content-Length from the backend")
        expect_eq(r.get("/").status, 200, "next request")
    finally:
        b.close()


@suite.test
def http10_client_goes_as_http10(ctx):
    # A backend told HTTP/1.1 may answer with chunks or a 100; an HTTP/1.0
    # client could read neither, so its request goes on in HTTP/1.0.
    r, b = start(ctx)
    try:
        c = socket.create_connection(r.addr, timeout=10)
        c.sendall(b"GET /version HTTP/1.0\r\n\r\n")
        out = raw_until_close(c)
        expect(out.endswith(b"\r\n\r\nHTTP/1.0"), "version the backend saw: %r", out[-60:])
        with r.client() as c2:
            resp = c2.request("GET", "/version")
            expect_eq(resp.body, b"HTTP/1.1", "an HTTP/1.1 request stays HTTP/1.1")
    finally:
        b.close()


@suite.test
def backend_resets_during_upload(ctx):
    # The backend stops reading an upload, then resets: the client gets an
    # error or a close, never a worker crash.
    r, b = start(ctx)
    try:
        mark = r.mark()
        c = socket.create_connection(r.addr, timeout=10)
        size = 8 * 1024 * 1024
        c.sendall(b"POST /reset-upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size)
        c.setblocking(False)
        chunk, deadline = b"a" * 65536, time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                c.send(chunk)
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                break
        c.setblocking(True)
        c.settimeout(5)
        try:
            out = c.recv(1000)
        except OSError:
            out = b""
        expect(out == b"" or out.startswith(b"HTTP/1.1 502"), "answer to the reset upload: %r",
               out[:60])
        c.close()
        time.sleep(0.2)
        expect(not r.find_log(r"killed by signal", since=mark), "a worker died: %s",
               r.log_text()[-400:])
        expect_eq(r.get("/").status, 200, "next request")
    finally:
        b.close()


if __name__ == "__main__":
    suite.main()
