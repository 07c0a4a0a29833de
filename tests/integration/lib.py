"""Harness for rondo's integration tests: real daemon, real backends, loopback only.

A test file builds a Suite, registers functions with @suite.test and calls
suite.main(). Each test gets a Context that starts stub backends
(backend.py) and rondo itself from a config dict written to a temporary
directory, and kills everything it started when the test ends. The whole
file runs under a watchdog: past RONDO_TEST_TIMEOUT seconds (120 by default)
every process is killed and the file fails. This process makes itself a
child subreaper, so a worker left behind by a dying master is re-parented
here, where it is seen and killed: nothing outlives the run.

Output: one line per test, "PASS name", "FAIL name: reason" or "SKIP name:
reason", then "N passed, M failed" alone on a line. Exit status 0, 1 if
anything failed, 77 if everything was skipped (automake's SKIP). After a
failure the temporary directory (configs, rondo logs, backend records) is
kept, its path printed with the tail of rondo's log on stderr.

Environment:
    RONDO_BIN           the daemon to test (default: $RONDO_SRCDIR/rondo)
    RONDO_SRCDIR        the source tree (default: two levels up from here)
    RONDO_ADDR          host:port of an already running rondo: the tests that
                        do not need their own configuration aim at it (run it
                        in front of backend.py instances), the others are skipped
    RONDO_SANITIZERS    1 if rondo was built with --enable-sanitizers (else guessed)
    RONDO_TEST_TIMEOUT  the watchdog, in seconds
    RONDO_TEST_VERBOSE  1: copy rondo's log to stderr as it comes
Arguments: substrings selecting which tests of the file to run.
"""

import atexit
import ctypes
import hashlib
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("RONDO_SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
RONDO_BIN = os.environ.get("RONDO_BIN") or os.path.join(SRCDIR, "rondo")
BACKEND = os.path.join(HERE, "backend.py")
LOOPBACK = "127.0.0.1"
FILE_TIMEOUT = float(os.environ.get("RONDO_TEST_TIMEOUT") or 120)
VERBOSE = os.environ.get("RONDO_TEST_VERBOSE") == "1"
EXTERNAL = os.environ.get("RONDO_ADDR") or ""


class TestFailure(Exception):
    """A check did not hold: the message is the reason printed after FAIL."""


class TestSkip(Exception):
    """The test cannot run here: the message is printed after SKIP."""


def expect(cond, msg, *args):
    """Fails the current test with msg % args unless cond holds."""
    if not cond:
        raise TestFailure(msg % args if args else msg)


def expect_eq(got, want, what):
    if got != want:
        raise TestFailure("%s: got %r, expected %r" % (what, got, want))


def _sanitizers():
    v = os.environ.get("RONDO_SANITIZERS")
    if v is not None and v != "":
        return v.lower() in ("1", "yes", "true")
    try:
        with open(RONDO_BIN, "rb") as f:
            data = f.read()
    except OSError:
        return False
    return b"__asan_init" in data or b"__ubsan_handle_" in data


SANITIZERS = _sanitizers()
SLOW = 3.0 if SANITIZERS else 1.0       # scales every deadline


# ---------------------------------------------------------------------------
# Processes: /proc helpers, registry, cleanup
# ---------------------------------------------------------------------------

def proc_stat(pid):
    """(state, ppid, pgrp, starttime) of pid from /proc, or None if it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            s = f.read().decode("latin-1")
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2]), int(rest[19])


def all_procs():
    """{pid: (state, ppid, pgrp, starttime)} of every process visible now."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None:
                out[int(d)] = st
    return out


def children_of(pid, procs=None, live_only=True):
    procs = procs if procs is not None else all_procs()
    return sorted(p for p, st in procs.items()
                  if st[1] == pid and not (live_only and st[0] in ("Z", "X")))


def descendants_of(pid, procs=None, live_only=True):
    procs = procs if procs is not None else all_procs()
    out, todo = [], [pid]
    while todo:
        for c in children_of(todo.pop(), procs, live_only):
            out.append(c)
            todo.append(c)
    return sorted(out)


def alive(pid, starttime=None):
    """True if pid exists, is not a zombie and (if given) started at starttime."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[3] == starttime


def proc_name(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            comm = f.read().strip()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode("latin-1").strip()
        return comm + " | " + cmd
    except OSError:
        return ""


def rss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def accepted_open(port):
    """Connections accepted on the loopback (IPv4) listener at port that the
    server has not closed yet: established, or closed by the peer only."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[1].split(":")[1], 16) == port and fields[3] in ("01", "08"):
                n += 1
    return n


def holding_open(pids, path):
    """Which of pids have path open (as /proc/PID/fd shows its name now)."""
    out = []
    for pid in pids:
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%d/fd/%s" % (pid, fd)) == path:
                    out.append(pid)
                    break
            except OSError:
                pass
    return out


_registry_lock = threading.Lock()
_registry = []          # every Popen started by this file


def _become_subreaper():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)          # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def spawn(argv, **kw):
    """Popen in a new session (own process group), remembered for cleanup."""
    with _registry_lock:
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        _registry.append(p)
    return p


def kill_tree(p):
    """SIGKILLs p, its process group and every descendant; reaps p."""
    if p.poll() is None:
        procs = all_procs()
        victims = descendants_of(p.pid, procs, live_only=False)
        for sig_target in [p.pid] + victims:
            try:
                os.kill(sig_target, signal.SIGKILL)
            except OSError:
                pass
    try:
        os.killpg(p.pid, signal.SIGKILL)    # the group outlives its leader
    except OSError:
        pass
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    for f in (p.stdin, p.stdout, p.stderr):
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
    reap_strays()


def reap_strays(kill=True):
    """Kills and reaps processes re-parented to us (we are a subreaper) that we
    did not start ourselves: orphans of a rondo master. Returns their pids."""
    mine = {p.pid for p in _registry}
    strays = [pid for pid in children_of(os.getpid(), live_only=False) if pid not in mine]
    for pid in strays:
        if kill:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(pid, 0 if kill else os.WNOHANG)
        except ChildProcessError:
            pass
    return strays


_cleanup_hooks = []     # run by cleanup_all once the processes are gone


def at_cleanup(fn):
    """Registers fn() to run at the end of every cleanup_all (end of the file,
    atexit, the watchdog), after the processes are killed: for what a test
    makes that is not a process (network namespaces). fn must be idempotent
    and quick; its exceptions are ignored."""
    _cleanup_hooks.append(fn)


def cleanup_all(final=False):
    """Kills everything started by this file. final: keeps the registry
    locked afterwards, so that no other thread starts anything new."""
    _registry_lock.acquire()
    try:
        for p in list(_registry):
            kill_tree(p)
        reap_strays()
        for fn in list(_cleanup_hooks):
            try:
                fn()
            except Exception:
                pass
    finally:
        if not final:
            _registry_lock.release()


atexit.register(cleanup_all)


# ---------------------------------------------------------------------------
# Ports and polling
# ---------------------------------------------------------------------------

_ports_given = set()


def free_port():
    """A loopback port nobody listens on, outside the ephemeral range (so that
    the client sides of our own connections never take it) and random (so
    that test files running in parallel rarely pick the same)."""
    for _ in range(500):
        port = random.randint(20000, 32000)
        if port in _ports_given:
            continue
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            continue
        finally:
            s.close()
        _ports_given.add(port)
        return port
    raise TestFailure("no free loopback port found")


def wait_until(pred, timeout, what, interval=0.02):
    """Polls pred() until it returns a true value (returned) or timeout seconds
    pass (TestFailure naming what was awaited: a string, or a function
    returning one, called then)."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s" % (
                timeout, what() if callable(what) else what))
        time.sleep(interval)


def _readline_deadline(f, deadline):
    """One line from a pipe before the deadline, b"" on EOF, None on timeout."""
    fd = f.fileno()
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return None
        c = os.read(fd, 1)
        if not c:
            return buf
        buf += c
    return buf


# ---------------------------------------------------------------------------
# HTTP over raw sockets
# ---------------------------------------------------------------------------

class ConnectionClosed(TestFailure):
    pass


class Response:
    def __init__(self, version, status, reason, headers, raw_head):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers          # [(name, value)] in order
        self.raw_head = raw_head
        self.body = b""
        self.body_len = 0
        self.framing = None             # "length", "chunked", "close" or "none"
        self.interim = []               # 1xx responses seen before this one

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def header_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def tokens(self, name):
        return [t.strip().lower() for v in self.header_all(name) for t in v.split(",") if t.strip()]

    def json(self):
        return json.loads(self.body.decode())

    def __repr__(self):
        return "<%d %s, %d body bytes, X-Backend %s>" % (
            self.status, self.reason, self.body_len, self.header("X-Backend"))


def build_request(method, path, headers=None, body=None, version="HTTP/1.1", host="rondo.test"):
    """Request bytes. headers: list of (name, value); Host is added first unless
    given (host=None: none at all); Content-Length is added for a body unless a
    framing header is given."""
    headers = list(headers or [])
    names = {k.lower() for k, _ in headers}
    if host is not None and "host" not in names:
        headers.insert(0, ("Host", host))
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        headers.append(("Content-Length", str(len(body))))
    head = "%s %s %s\r\n" % (method, path, version)
    head += "".join("%s: %s\r\n" % kv for kv in headers) + "\r\n"
    return head.encode("latin-1") + (body or b"")


def chunked(data, sizes=(1000,)):
    """data in the chunked coding, with chunk sizes cycling through sizes."""
    out, i, k = [], 0, 0
    while i < len(data):
        piece = data[i:i + sizes[k % len(sizes)]]
        k += 1
        out.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
        i += len(piece)
    out.append(b"0\r\n\r\n")
    return b"".join(out)


class Client:
    """One client connection to rondo, reading responses with their framing."""

    def __init__(self, addr, timeout=10.0):
        self.addr = addr
        self.timeout = timeout * SLOW
        self.sock = socket.create_connection(addr, timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.rbuf = bytearray(1 << 20)
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, path, headers=None, body=None, version="HTTP/1.1",
                host="rondo.test", sink=None):
        self.send(build_request(method, path, headers, body, version, host))
        return self.read_response(method, sink=sink)

    def _fill(self):
        if self.eof:
            return False
        try:
            data = self.sock.recv(1 << 18)
        except socket.timeout:
            raise TestFailure("no answer from rondo within %.0fs" % self.timeout)
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def _take(self, n):
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _line(self, limit=64 * 1024):
        while True:
            i = self.buf.find(b"\n")
            if i != -1:
                return self._take(i + 1)
            if len(self.buf) > limit:
                raise TestFailure("line longer than %d bytes" % limit)
            if not self._fill():
                raise ConnectionClosed("connection closed inside a line (%d bytes pending)" % len(self.buf))

    def _read_head(self):
        while True:
            i = self.buf.find(b"\r\n\r\n")
            if i != -1:
                return self._take(i + 4)
            if len(self.buf) > 1 << 20:
                raise TestFailure("response head over 1 MiB")
            if not self._fill():
                if self.buf:
                    raise ConnectionClosed("connection closed inside a response head: %r" % bytes(self.buf[:200]))
                raise ConnectionClosed("connection closed before a response")

    def _body_exact(self, n, sink):
        """n body bytes to sink (or returned), read into a reused buffer."""
        parts = []
        out = sink or parts.append
        if self.buf:
            k = min(n, len(self.buf))
            out(self._take(k))
            n -= k
        view = memoryview(self.rbuf)
        while n > 0:
            try:
                got = self.sock.recv_into(view, min(n, len(self.rbuf)))
            except socket.timeout:
                raise TestFailure("body stalled with %d bytes missing" % n)
            if got == 0:
                self.eof = True
                raise ConnectionClosed("connection closed with %d body bytes missing" % n)
            out(bytes(view[:got]) if sink is None else view[:got])
            n -= got
        return b"".join(parts)

    def read_response(self, method="GET", sink=None):
        """Reads one response (skipping 1xx but 101). sink(piece) receives the
        body instead of Response.body when given (for bodies too big to keep)."""
        interim = []
        while True:
            raw = self._read_head()
            lines = raw.decode("latin-1").split("\r\n")
            parts = lines[0].split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
                raise TestFailure("bad status line %r" % lines[0])
            headers = []
            for line in lines[1:]:
                if not line:
                    continue
                k, sep, v = line.partition(":")
                if not sep:
                    raise TestFailure("bad response header line %r" % line)
                headers.append((k, v.strip()))
            resp = Response(parts[0], int(parts[1]), parts[2] if len(parts) > 2 else "", headers, raw)
            if 100 <= resp.status < 200 and resp.status != 101:
                interim.append(resp)
                continue
            break
        resp.interim = interim
        store = []
        counting = [0]

        def collect(piece):
            counting[0] += len(piece)
            if sink is not None:
                sink(piece)
            else:
                store.append(bytes(piece))

        te = resp.tokens("transfer-encoding")
        cl = resp.header_all("content-length")
        if method == "HEAD" or resp.status in (101, 204, 304):
            resp.framing = "none"
        elif te:
            expect(te[-1] == "chunked", "response Transfer-Encoding %r", te)
            expect(not cl, "response has both Transfer-Encoding and Content-Length")
            resp.framing = "chunked"
            while True:
                size_line = self._line().rstrip(b"\r\n")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    while self._line().rstrip(b"\r\n"):
                        pass
                    break
                self._body_exact(size, collect)
                expect(self._line() == b"\r\n", "no CRLF after a chunk of the response")
        elif cl:
            expect(len(set(cl)) == 1 and cl[0].isdigit(), "bad response Content-Length %r", cl)
            resp.framing = "length"
            self._body_exact(int(cl[0]), collect)
        else:
            resp.framing = "close"
            while self._fill():
                collect(self._take(len(self.buf)))
            if self.buf:
                collect(self._take(len(self.buf)))
        resp.body = b"".join(store)
        resp.body_len = counting[0]
        return resp

    def closed_by_peer(self, timeout=3.0):
        """True if the peer closes (EOF or reset) within timeout with no
        further bytes; False if it stays open. Extra bytes are a failure."""
        if self.buf:
            raise TestFailure("unexpected bytes after the response: %r" % bytes(self.buf[:200]))
        self.sock.settimeout(timeout * SLOW)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
        finally:
            self.sock.settimeout(self.timeout)
        if data:
            raise TestFailure("unexpected bytes after the response: %r" % data[:200])
        return True


def http_get(addr, path="/", headers=None, timeout=10.0, method="GET", body=None):
    """One request on a fresh connection, closed afterwards."""
    with Client(addr, timeout) as c:
        return c.request(method, path, headers, body)


def config(backends=(), servers=None, **extra):
    """A configuration for ctx.rondo: the backends' URLs as servers (or the
    servers given: URLs or objects), a 500 ms health check interval, two
    workers; extra keys are added or replace these, None leaves one out
    (rondo's default)."""
    conf = {"healthCheckInterval": "500ms",
            "servers": servers if servers is not None else [b.url for b in backends],
            "workers": 2}
    conf.update(extra)
    return {k: v for k, v in conf.items() if v is not None}


ADMIN_TOKEN = "t0k3n-for-the-admin-tests"


def admin_conf(addr, token=ADMIN_TOKEN):
    """The "admin" object for a listener on addr, with the tests' token."""
    conf = {"listen": "%s:%d" % addr}
    if token is not None:
        conf["token"] = token
    return conf


def admin_request(addr, method, path, token=None, host=None, headers=None):
    """One admin request, Host naming the listener unless host is given."""
    headers = list(headers or [])
    if token is not None:
        headers.append(("Authorization", "Bearer " + token))
    with Client(addr, timeout=5) as c:
        return c.request(method, path, headers=headers, host=host or "%s:%d" % addr)


PATTERN_BLOCK = bytes(range(256)) * 4096         # 1 MiB of the backend's /stream pattern
_pattern_sha_cache = {}


def pattern_sha(n):
    """sha256 hex of the first n bytes of the backend's /stream pattern."""
    if n not in _pattern_sha_cache:
        h = hashlib.sha256()
        view = memoryview(PATTERN_BLOCK)
        left = n
        while left > 0:
            k = min(left, len(PATTERN_BLOCK))
            h.update(view[:k])
            left -= k
        _pattern_sha_cache[n] = h.hexdigest()
    return _pattern_sha_cache[n]


def strip_health_checks(data):
    """The recorded bytes without the heads of well-formed HEAD requests
    (health probes): anything else that reached the backend stays."""
    return re.sub(rb"HEAD /[!-~]* HTTP/1\.[01]\r\n(?:[!-9;-~]+:[\t -~]*\r\n)*\r\n", b"", data)


# ---------------------------------------------------------------------------
# Backends and rondo
# ---------------------------------------------------------------------------

class RawServer:
    """A TCP server on the loopback interface, in threads of the test
    process: for scripted backends that answer on raw sockets. A subclass
    answers each connection in serve(conn, number, *extra), where number
    counts connections from 1 and extra is what accepted(number) returned
    (called in accept order, under self.lock)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((LOOPBACK, 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = "http://%s:%d" % (LOOPBACK, self.port)
        self.lock = threading.Lock()
        self.nconn = 0
        self.stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self):
        self.stop = True
        try:
            self.sock.close()
        except OSError:
            pass

    def accepted(self, number):
        return ()

    def serve(self, conn, number, *extra):
        raise NotImplementedError

    def _accept(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.nconn += 1
                n = self.nconn
                extra = self.accepted(n)
            threading.Thread(target=self.serve, args=(c, n) + tuple(extra), daemon=True).start()


class Backend:
    """A backend.py process on 127.0.0.1; can be killed and started again on
    the same port."""

    def __init__(self, ctx, name, port=None, record=False, delay_ms=0):
        self.ctx = ctx
        self.name = name
        self.delay_ms = delay_ms        # backend.py --delay-ms: every request but HEAD waits
        self.fixed_port = port is not None
        self.port = port
        self.record_path = os.path.join(ctx.tmpdir, "record-%s.bin" % name) if record else None
        self.proc = None
        self.log_path = os.path.join(ctx.tmpdir, "backend-%s.log" % name)

    @property
    def url(self):
        return "http://%s:%d" % (LOOPBACK, self.port)

    @property
    def addr(self):
        return (LOOPBACK, self.port)

    def start(self):
        """Starts the process; once it has run, always on the same port."""
        for attempt in range(5):
            if self.port is None:
                self.port = free_port()
            argv = [sys.executable, BACKEND, "--port", str(self.port), "--name", self.name]
            if self.delay_ms:
                argv += ["--delay-ms", str(self.delay_ms)]
            if self.record_path:
                argv += ["--record", self.record_path]
            with open(self.log_path, "ab") as log:
                self.proc = spawn(argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
            line = _readline_deadline(self.proc.stdout, time.monotonic() + 10 * SLOW)
            if line and b"listening" in line:
                self.fixed_port = True
                return self
            kill_tree(self.proc)
            self.proc = None
            if self.fixed_port:
                time.sleep(0.1)     # polling: the port may take a moment to be free
            else:
                self.port = None
        raise TestFailure("backend %s did not start on port %s: %s" % (
            self.name, self.port, self.log_tail()))

    def log_tail(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-500:].decode("latin-1").strip()
        except OSError:
            return ""

    def kill(self, sig=signal.SIGKILL):
        """Stops the backend (SIGKILL by default) and waits for it to be gone."""
        if self.proc is not None:
            if self.proc.poll() is None:
                try:
                    os.kill(self.proc.pid, sig)
                    self.proc.wait(timeout=5)
                except (OSError, subprocess.TimeoutExpired):
                    pass
            kill_tree(self.proc)
            self.proc = None

    def records(self):
        if not self.record_path:
            return b""
        try:
            with open(self.record_path, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""


class Rondo:
    """The daemon under test, in the foreground, its log read by a thread."""

    def __init__(self, ctx, config, args=(), port=None):
        self.ctx = ctx
        self.config = dict(config)
        self.args = list(args)
        self.port = port
        self.proc = None
        self.lines = []
        self.cond = threading.Condition()
        self.done = False
        self.conf_path = os.path.join(ctx.tmpdir, "config.json")
        self.log_path = os.path.join(ctx.tmpdir, "rondo.log")
        self.external = False

    @property
    def addr(self):
        return (LOOPBACK, self.port)

    @property
    def pid(self):
        return self.proc.pid

    def _reader(self, f, logf):
        try:
            self._read_lines(f, logf)
        except (ValueError, OSError):
            pass        # the pipe was closed under us by kill_tree: the process is gone
        with self.cond:
            self.done = True
            self.cond.notify_all()
        logf.close()

    def _read_lines(self, f, logf):
        for raw in iter(f.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            logf.write(raw)
            logf.flush()
            if VERBOSE:
                sys.stderr.write("    rondo| %s\n" % line)
            with self.cond:
                self.lines.append(line)
                self.cond.notify_all()

    def start(self, wait_ready=True):
        for attempt in range(4):
            if self.port is None or attempt > 0:
                self.port = free_port()
            if "port" not in self.config or attempt > 0:
                self.config["port"] = "%s:%d" % (LOOPBACK, self.port)
            with open(self.conf_path, "w") as f:
                json.dump(self.config, f, indent=2)
            with self.cond:
                self.lines, self.done = [], False
            self.proc = spawn([RONDO_BIN, "-c", self.conf_path] + self.args,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=self.ctx.tmpdir)
            logf = open(self.log_path, "ab")
            threading.Thread(target=self._reader, args=(self.proc.stdout, logf), daemon=True).start()
            if not wait_ready:
                return self
            try:
                self.wait_log(r"master: ready", 10 * SLOW)
                return self
            except TestFailure:
                in_use = any("in use" in l.lower() for l in self.lines)
                kill_tree(self.proc)
                if in_use and attempt < 3:
                    continue
                raise TestFailure("rondo not ready (exit %s): %s" % (
                    self.proc.returncode, " / ".join(self.lines[-5:]) or "no output"))
        return self

    def rewrite_config(self, config):
        """Replaces the config file (a dict, keeping the port unless it has
        one, or raw text) for a reload with SIGHUP."""
        if isinstance(config, dict):
            config = dict(config)
            config.setdefault("port", self.config["port"])
            self.config = config
            config = json.dumps(config, indent=2)
        tmp = self.conf_path + ".new"
        with open(tmp, "w") as f:
            f.write(config)
        os.rename(tmp, self.conf_path)

    def mark(self):
        """Index of the next log line: pass as since= to wait_log."""
        with self.cond:
            return len(self.lines)

    def find_log(self, regex, since=0):
        rx = re.compile(regex)
        with self.cond:
            for i in range(since, len(self.lines)):
                m = rx.search(self.lines[i])
                if m:
                    return m
        return None

    def wait_log(self, regex, timeout, since=0):
        """The first match of regex in a log line at index >= since, waiting up
        to timeout seconds for it to appear."""
        rx = re.compile(regex)
        deadline = time.monotonic() + timeout
        i = since
        with self.cond:
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        return m
                    i += 1
                left = deadline - time.monotonic()
                if left <= 0 or self.done:
                    break
                self.cond.wait(left)
        tail = " / ".join(self.lines[-4:]) or "no output"
        why = "rondo exited" if self.done else "timed out after %.1fs" % timeout
        raise TestFailure("%s waiting for log /%s/; last lines: %s" % (why, regex, tail))

    def log_text(self):
        with self.cond:
            return "\n".join(self.lines)

    def children(self, procs=None):
        return children_of(self.pid, procs)

    def descendants(self, procs=None):
        return descendants_of(self.pid, procs)

    def total_rss_kib(self):
        return sum(rss_kib(p) for p in [self.pid] + self.descendants())

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait_exit(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc is not None:
            kill_tree(self.proc)

    # shortcuts
    def client(self, timeout=10.0):
        return Client(self.addr, timeout)

    def get(self, path="/", headers=None, timeout=10.0, method="GET", body=None):
        return http_get(self.addr, path, headers, timeout, method, body)


class ExternalRondo(Rondo):
    """RONDO_ADDR: an instance somebody else runs; only its address is known."""

    def __init__(self, ctx, addr):
        super().__init__(ctx, {})
        host, _, port = addr.rpartition(":")
        self.host = host.strip("[]") or LOOPBACK
        self.port = int(port)
        self.external = True

    @property
    def addr(self):
        return (self.host, self.port)

    def start(self, wait_ready=True):
        return self

    def stop(self):
        pass


class Context:
    """What one test started: stopped when the test ends."""

    def __init__(self, suite, name, external_ok):
        self.name = name
        self.external_ok = external_ok
        self.tmpdir = tempfile.mkdtemp(prefix="%s-" % name, dir=suite.tmpdir)
        self.backends = []
        self.rondos = []

    def backend(self, name, port=None, record=False, start=True, delay_ms=0):
        b = Backend(self, name, port, record, delay_ms)
        self.backends.append(b)
        return b.start() if start else b

    def backends_n(self, n, prefix="b", record=False):
        return [self.backend("%s%d" % (prefix, i + 1), record=record) for i in range(n)]

    def rondo(self, config, args=(), wait_ready=True):
        """Starts rondo with config (a dict; "port" is filled in with a free
        loopback port unless present). With RONDO_ADDR set, returns the
        external instance instead (only for tests marked external_ok)."""
        if EXTERNAL:
            if not self.external_ok:
                raise TestSkip("needs its own rondo (RONDO_ADDR is set)")
            r = ExternalRondo(self, EXTERNAL)
        else:
            r = Rondo(self, config, args)
        self.rondos.append(r)
        return r.start(wait_ready)

    def run_rondo(self, args, timeout=10.0, config=None, name="config.json"):
        """Runs rondo to completion (e.g. -t, -V): (exit status, output)."""
        if EXTERNAL:
            raise TestSkip("runs the rondo binary (RONDO_ADDR is set)")
        if config is not None:
            path = os.path.join(self.tmpdir, name)
            with open(path, "w") as f:
                f.write(config if isinstance(config, str) else json.dumps(config, indent=2))
        p = spawn([RONDO_BIN] + list(args), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE, cwd=self.tmpdir)
        try:
            out, err = p.communicate(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            kill_tree(p)
            raise TestFailure("rondo %s did not exit within %.0fs" % (" ".join(args), timeout))
        return p.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")

    def sanitizer_reports(self):
        bad = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")
        out = []
        for r in self.rondos:
            out += [l for l in r.lines if bad.search(l)]
        return out

    def close(self):
        for r in self.rondos:
            r.stop()
        for b in self.backends:
            b.kill()


# ---------------------------------------------------------------------------
# The runner
# ---------------------------------------------------------------------------

def warm_up(rondo, names, timeout=10.0, path="/"):
    """Sends requests (fresh connection each) until every backend in names
    answered once, i.e. health checks have them up. Returns the count sent."""
    seen, sent = set(), 0
    deadline = time.monotonic() + timeout * SLOW
    last = None
    while not set(names) <= seen:
        if time.monotonic() > deadline:
            raise TestFailure("backends %s never answered (seen %s; last %r)" % (
                sorted(set(names) - seen), sorted(seen), last))
        try:
            last = rondo.get(path)
            sent += 1
            if last.status == 200:
                seen.add(last.header("X-Backend"))
            else:
                time.sleep(0.02)
        except (OSError, TestFailure) as e:
            last = e
            time.sleep(0.02)
    return sent


def _exit_on_signal(signum, frame):
    raise SystemExit(1)


class Suite:
    def __init__(self, title):
        self.title = title
        self.tests = []
        self.passed = 0
        self.failed = 0
        self.skipped = 0
        self.tmpdir = None
        self.lock = threading.Lock()

    def test(self, fn=None, external_ok=False):
        """Decorator registering fn(ctx) as a test; external_ok: can run against
        RONDO_ADDR (does not depend on rondo's configuration or processes)."""
        def reg(f):
            self.tests.append((f.__name__, f, external_ok))
            return f
        return reg(fn) if fn is not None else reg

    def say(self, line):
        with self.lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def _watchdog(self):
        # Never releases the lock: the test thread cannot print after this.
        self.lock.acquire()
        try:
            cleanup_all(final=True)
            sys.stdout.write("FAIL watchdog: %s exceeded %.0fs, everything killed\n" % (
                self.title, FILE_TIMEOUT))
            sys.stdout.write("%d passed, %d failed\n" % (self.passed, self.failed + 1))
            sys.stdout.flush()
        finally:
            os._exit(1)

    def main(self):
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        # Killed from outside: still clean up (atexit), as for the watchdog.
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, _exit_on_signal)
        if not EXTERNAL and not os.access(RONDO_BIN, os.X_OK):
            print("SKIP %s: no rondo binary at %s (set RONDO_BIN)" % (self.title, RONDO_BIN))
            sys.exit(77)
        _become_subreaper()
        dog = threading.Timer(FILE_TIMEOUT, self._watchdog)
        dog.daemon = True
        dog.start()
        self.tmpdir = tempfile.mkdtemp(prefix="rondo-it-")
        keep = False
        selected = sys.argv[1:]
        for name, fn, external_ok in self.tests:
            if selected and not any(s in name for s in selected):
                continue
            ctx = Context(self, name, external_ok)
            t0 = time.monotonic()
            try:
                if EXTERNAL and not external_ok:
                    raise TestSkip("needs its own rondo (RONDO_ADDR is set)")
                fn(ctx)
                reports = ctx.sanitizer_reports()
                if reports:
                    raise TestFailure("sanitizer report in rondo's log: %s" % reports[0])
                self.passed += 1
                self.say("PASS %s" % name)
                if VERBOSE:
                    sys.stderr.write("  (%s took %.1fs)\n" % (name, time.monotonic() - t0))
            except TestSkip as e:
                self.skipped += 1
                self.say("SKIP %s: %s" % (name, e))
            except Exception as e:
                self.failed += 1
                keep = True
                if isinstance(e, TestFailure):
                    reason = str(e)
                else:
                    tb = traceback.extract_tb(e.__traceback__)[-1]
                    reason = "%s: %s (%s:%d)" % (type(e).__name__, e,
                                                 os.path.basename(tb.filename), tb.lineno)
                self.say("FAIL %s: %s" % (name, reason.replace("\n", " ")))
                for r in ctx.rondos:
                    if r.lines:
                        sys.stderr.write("  rondo log of %s (last 15 lines, full log in %s):\n"
                                         % (name, r.log_path))
                        for l in r.lines[-15:]:
                            sys.stderr.write("  | %s\n" % l)
                sys.stderr.flush()
            finally:
                ctx.close()
        dog.cancel()
        cleanup_all()
        if not keep:
            shutil.rmtree(self.tmpdir, ignore_errors=True)
        self.say("%d passed, %d failed" % (self.passed, self.failed))
        if self.failed:
            sys.exit(1)
        if self.passed == 0 and self.skipped:
            sys.exit(77)
        sys.exit(0)
