#!/usr/bin/env python3
"""A small HTTP/1.1 backend for trying rondo and for its integration tests.

    backend.py --port P --name NAME [--host 127.0.0.1] [--record FILE] [--delay-ms N]

It is written on raw sockets rather than http.server so that the bytes on
the wire are exactly the ones described here: HTTP/1.1 keep-alive, request
bodies framed by Content-Length or chunked, one thread per connection.

Every response carries "X-Backend: NAME" and "X-Path: <request target>".
What it answers depends on the path:

    /echo              200, the request body, with X-Body-Sha256 and X-Body-Len
    /sha               reads the body as a stream (never whole) and answers
                       {"sha256": ..., "len": ...} plus the same two headers
    /stream?bytes=N    N bytes of bytes(range(256)) repeated, generated on the
           [&chunked=1]  fly, framed by Content-Length (or chunked)
    /delay?ms=N        waits N ms, then 200
    /status?code=N     answers with status N
    /headers           JSON: the request line and the header fields exactly as
                       received (names as sent, in order), the connection id
    /conn              JSON: {"conn": id, "requests_on_conn": k}
    /die               closes the connection without answering
    /stray?ms=N        answers as /conn, then N ms later (default 0) sends a
                       second response nobody asked for ("X-Backend: stray")
                       on the same connection and says so on stderr: a
                       backend that leaves bytes on a kept-alive connection
    anything else      200 "hello from NAME\\n"

Any path with close=1 in its query answers "Connection: close" and closes.

HEAD gets the same status and headers without a body. The connection id
counts TCP connections accepted by this process, so a client can see whether
a proxy reuses upstream connections. With --record FILE the raw bytes of
every request received (head, then body as it arrives, chunk framing
included; unparsable leftovers too) are appended to FILE. With --delay-ms N
every request but HEAD (so health probes are not slowed) waits N ms before it
is answered: a slow backend, for comparing balancing algorithms.

It prints "listening on HOST:PORT" once bound (with --port 0 the kernel picks
the port) and exits 0 on SIGTERM or SIGINT.
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

MAX_HEAD = 64 * 1024            # a request head larger than this gets 431
IDLE_TIMEOUT = 60.0             # seconds a keep-alive connection may sit idle
IO_TIMEOUT = 60.0               # seconds a body read or a send may stall
BLOCK = 256 * 1024              # multiple of 256: every block starts the pattern over
PATTERN = bytes(range(256)) * (BLOCK // 256)

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 202: "Accepted",
    204: "No Content", 301: "Moved Permanently", 302: "Found",
    304: "Not Modified", 400: "Bad Request", 401: "Unauthorized",
    403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    408: "Request Timeout", 413: "Content Too Large", 418: "I'm a teapot",
    429: "Too Many Requests", 431: "Request Header Fields Too Large",
    500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


class BadRequest(Exception):
    """The peer sent something this backend cannot frame: answer 400 and close."""

    def __init__(self, msg, status=400):
        super().__init__(msg)
        self.status = status


class Recorder:
    """Appends raw request bytes to a file; one write() per call, O_APPEND."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if path else -1
        self.lock = threading.Lock()

    def write(self, data):
        if self.fd == -1 or not data:
            return
        with self.lock:
            view = memoryview(data)
            while view:
                n = os.write(self.fd, view)
                view = view[n:]


class Server:
    def __init__(self, name, recorder, delay_ms=0):
        self.name = name
        self.recorder = recorder
        self.delay_ms = delay_ms
        self.lock = threading.Lock()
        self.next_conn = 0

    def new_conn_id(self):
        with self.lock:
            self.next_conn += 1
            return self.next_conn


class Request:
    def __init__(self, method, target, version, headers, raw_line):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers          # [(name, value)] as received
        self.request_line = raw_line

    def get(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def get_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def tokens(self, name):
        out = []
        for v in self.get_all(name):
            out += [t.strip().lower() for t in v.split(",") if t.strip()]
        return out


class Connection:
    """One accepted TCP connection: reads requests one after the other."""

    def __init__(self, server, sock, conn_id):
        self.srv = server
        self.sock = sock
        self.id = conn_id
        self.buf = bytearray()          # received, not yet consumed
        self.nreq = 0

    # -- input ---------------------------------------------------------------

    def fill(self):
        """Reads more bytes into buf; False on EOF."""
        data = self.sock.recv(BLOCK)
        if not data:
            return False
        self.buf += data
        return True

    def take(self, n):
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def read_head(self):
        """Returns the raw head (through the empty line), or None on a clean EOF."""
        self.sock.settimeout(IDLE_TIMEOUT)
        start = 0
        while True:
            # Lenient on purpose: a bare-LF head is still a head here, so that
            # whatever a proxy lets through shows up in the record.
            crlf = self.buf.find(b"\r\n\r\n", max(0, start - 3))
            lf = self.buf.find(b"\n\n", max(0, start - 1))
            ends = [i + 4 for i in (crlf,) if i != -1] + [i + 2 for i in (lf,) if i != -1]
            if ends:
                return self.take(min(ends))
            if len(self.buf) > MAX_HEAD:
                raise BadRequest("head too large", 431)
            start = len(self.buf)
            if not self.fill():
                if self.buf:
                    raise BadRequest("connection closed inside a head")
                return None
            self.sock.settimeout(IO_TIMEOUT)

    def parse_head(self, raw):
        lines = raw.decode("latin-1").replace("\r\n", "\n").split("\n")
        while lines and lines[-1] == "":
            lines.pop()
        while lines and lines[0] == "":   # leading empty lines are allowed
            lines.pop(0)
        if not lines:
            raise BadRequest("empty head")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise BadRequest("bad request line")
        headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and headers:
                k, v = headers[-1]          # obs-fold: join, as old servers did
                headers[-1] = (k, v + " " + line.strip())
                continue
            name, sep, value = line.partition(":")
            if not sep or not name:
                raise BadRequest("bad header line")
            headers.append((name, value.strip(" \t")))
        return Request(parts[0], parts[1], parts[2], headers, lines[0])

    def body_reader(self, req):
        """A generator of the request body's decoded pieces, recording raw bytes."""
        te = req.tokens("transfer-encoding")
        if te:
            if te[-1] != "chunked":
                raise BadRequest("unsupported transfer coding", 501)
            return self.chunked_body()
        cls = req.get_all("content-length")
        if cls:
            values = set(v.strip() for c in cls for v in c.split(","))
            if len(values) != 1 or not next(iter(values)).isdigit():
                raise BadRequest("bad content-length")
            return self.length_body(int(next(iter(values))))
        return iter(())

    def length_body(self, n):
        self.sock.settimeout(IO_TIMEOUT)
        while n > 0:
            if not self.buf and not self.fill():
                raise BadRequest("connection closed inside a body")
            piece = self.take(min(n, len(self.buf)))
            n -= len(piece)
            self.srv.recorder.write(piece)
            yield piece

    def read_line(self):
        while True:
            i = self.buf.find(b"\n")
            if i != -1:
                line = self.take(i + 1)
                self.srv.recorder.write(line)
                return line
            if len(self.buf) > 16 * 1024:
                raise BadRequest("chunk line too long")
            if not self.fill():
                raise BadRequest("connection closed inside a chunked body")

    def chunked_body(self):
        self.sock.settimeout(IO_TIMEOUT)
        while True:
            line = self.read_line().rstrip(b"\r\n")
            size_txt = line.split(b";", 1)[0].strip()
            try:
                size = int(size_txt, 16)
            except ValueError:
                raise BadRequest("bad chunk size")
            if size == 0:
                while self.read_line().rstrip(b"\r\n"):    # trailers
                    pass
                return
            while size > 0:
                if not self.buf and not self.fill():
                    raise BadRequest("connection closed inside a chunk")
                piece = self.take(min(size, len(self.buf)))
                size -= len(piece)
                self.srv.recorder.write(piece)
                yield piece
            if self.read_line().rstrip(b"\r\n"):
                raise BadRequest("missing CRLF after chunk data")

    # -- output --------------------------------------------------------------

    def send_head(self, req, status, headers, length=None, chunked=False, close=False):
        lines = ["HTTP/1.1 %d %s" % (status, REASONS.get(status, "Unknown")),
                 "X-Backend: " + self.srv.name]
        if req is not None:
            lines.append("X-Path: " + req.target)
        lines += ["%s: %s" % kv for kv in headers]
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        elif length is not None:
            lines.append("Content-Length: %d" % length)
        if close:
            lines.append("Connection: close")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))

    def respond(self, req, status, body=b"", headers=(), close=False):
        no_body = status in (204, 304) or 100 <= status < 200
        self.send_head(req, status, headers, None if no_body else len(body), close=close)
        if req.method != "HEAD" and not no_body and body:
            self.sock.sendall(body)

    def send_stream(self, req, nbytes, chunked, close):
        self.send_head(req, 200, [("Content-Type", "application/octet-stream")],
                       length=nbytes, chunked=chunked, close=close)
        if req.method == "HEAD":
            return
        view = memoryview(PATTERN)
        left = nbytes
        while left > 0:
            n = min(left, BLOCK)
            if chunked:
                self.sock.sendall(b"%x\r\n" % n + view[:n] + b"\r\n")
            else:
                self.sock.sendall(view[:n])
            left -= n
        if chunked:
            self.sock.sendall(b"0\r\n\r\n")

    # -- the loop ------------------------------------------------------------

    def wants_close(self, req):
        conn = req.tokens("connection")
        if req.version == "HTTP/1.0":
            return "keep-alive" not in conn
        return "close" in conn

    def serve(self):
        try:
            while self.serve_one():
                pass
        except BadRequest as e:
            # Whatever could not be understood reached us all the same.
            self.srv.recorder.write(self.buf)
            try:
                body = ("bad request: %s\n" % e).encode()
                self.send_head(None, e.status, [("Content-Type", "text/plain")],
                               len(body), close=True)
                self.sock.sendall(body)
            except OSError:
                pass
        except OSError:
            self.srv.recorder.write(self.buf)
        finally:
            try:
                self.sock.close()
            except OSError:
                pass

    def serve_one(self):
        raw = self.read_head()
        if raw is None:
            return False
        self.srv.recorder.write(raw)
        req = self.parse_head(raw)
        self.nreq += 1
        url = urlsplit(req.target)
        path = url.path
        query = parse_qs(url.query)

        def qint(key, default):
            try:
                return int(query[key][0])
            except (KeyError, ValueError, IndexError):
                return default

        close = self.wants_close(req) or qint("close", 0) == 1

        if self.srv.delay_ms > 0 and req.method != "HEAD":
            time.sleep(self.srv.delay_ms / 1000.0)
        body = self.body_reader(req)
        if "100-continue" in req.tokens("expect") and req.version == "HTTP/1.1":
            self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")

        if path == "/sha":
            h, n = hashlib.sha256(), 0
            for piece in body:
                h.update(piece)
                n += len(piece)
            out = json.dumps({"sha256": h.hexdigest(), "len": n}).encode() + b"\n"
            self.respond(req, 200, out, [("Content-Type", "application/json"),
                                         ("X-Body-Sha256", h.hexdigest()),
                                         ("X-Body-Len", str(n))], close)
            return not close

        data = b"".join(body)           # small bodies only past this point
        if path == "/echo":
            self.respond(req, 200, data, [("Content-Type", "application/octet-stream"),
                                          ("X-Body-Sha256", hashlib.sha256(data).hexdigest()),
                                          ("X-Body-Len", str(len(data)))], close)
        elif path == "/stream":
            self.send_stream(req, max(0, qint("bytes", 0)), qint("chunked", 0) == 1, close)
        elif path == "/delay":
            ms = max(0, qint("ms", 0))
            time.sleep(ms / 1000.0)
            self.respond(req, 200, b"delayed %d ms: %s\n" % (ms, req.target.encode("latin-1")),
                         [("Content-Type", "text/plain")], close)
        elif path == "/status":
            code = qint("code", 200)
            if not 200 <= code <= 599:
                code = 400
            self.respond(req, code, b"status %d\n" % code, [("Content-Type", "text/plain")], close)
        elif path == "/headers":
            out = json.dumps({
                "request_line": req.request_line,
                "method": req.method, "target": req.target, "version": req.version,
                "headers": [[k, v] for k, v in req.headers],
                "body_len": len(data),
                "conn": self.id, "requests_on_conn": self.nreq,
            }, indent=1).encode() + b"\n"
            self.respond(req, 200, out, [("Content-Type", "application/json")], close)
        elif path == "/conn":
            out = json.dumps({"conn": self.id, "requests_on_conn": self.nreq}).encode() + b"\n"
            self.respond(req, 200, out, [("Content-Type", "application/json")], close)
        elif path == "/die":
            return False
        elif path == "/stray":
            out = json.dumps({"conn": self.id, "requests_on_conn": self.nreq}).encode() + b"\n"
            self.respond(req, 200, out, [("Content-Type", "application/json")], close)
            time.sleep(max(0, qint("ms", 0)) / 1000.0)
            self.sock.sendall(b"HTTP/1.1 200 OK\r\nX-Backend: stray\r\n"
                              b"Content-Length: 6\r\n\r\nstray\n")
            print("backend %s: stray response sent on connection %d" % (self.srv.name, self.id),
                  file=sys.stderr, flush=True)
        else:
            self.respond(req, 200, b"hello from %s\n" % self.srv.name.encode(),
                         [("Content-Type", "text/plain")], close)
        return not close


def on_signal(signum, frame):
    raise SystemExit(0)


def main(argv=None):
    ap = argparse.ArgumentParser(description="HTTP/1.1 stub backend for rondo")
    ap.add_argument("--port", type=int, required=True, help="port to listen on (0: any)")
    ap.add_argument("--name", required=True, help="value of the X-Backend header")
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ap.add_argument("--record", metavar="FILE", help="append raw request bytes to FILE")
    ap.add_argument("--delay-ms", type=int, default=0, metavar="N",
                    help="wait N ms before answering each request but HEAD (default 0)")
    args = ap.parse_args(argv)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)

    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    lsock = socket.socket(family, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        lsock.bind((args.host, args.port))
        lsock.listen(128)
    except OSError as e:
        print("backend %s: cannot listen on %s:%d: %s" % (args.name, args.host, args.port, e),
              file=sys.stderr, flush=True)
        return 1
    server = Server(args.name, Recorder(args.record), max(0, args.delay_ms))
    host, port = lsock.getsockname()[:2]
    shown = "[%s]" % host if family == socket.AF_INET6 else host
    print("listening on %s:%d" % (shown, port), flush=True)

    try:
        while True:
            sock, _ = lsock.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(server, sock, server.new_conn_id())
            threading.Thread(target=conn.serve, daemon=True).start()
    except SystemExit:
        pass
    finally:
        lsock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
