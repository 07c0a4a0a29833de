#!/usr/bin/env python3
"""Hardening: client and server timeouts, size limits, slowloris, retries
(never a duplicated POST), passive health (maxFails/failTimeout) and the
global maxConnections cap."""

import re
import resource
import select
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_hardening")

SLOW_CHECKS = {"healthCheckInterval": "1m",
               "healthCheck": {"rise": 1, "fall": 1, "timeout": "500ms"}}


def delayed_backend(ctx, name, delay_ms, record=False):
    return ctx.backend(name, record=record, delay_ms=delay_ms)


def wait_readable(sock, timeout):
    r, _, _ = select.select([sock], [], [], timeout)
    return bool(r)


def read_answer(c, what):
    """The response rondo sends on connection c, and the time it came."""
    try:
        resp = c.read_response()
    except lib.ConnectionClosed as e:
        raise lib.TestFailure("%s: connection closed without a response (%s)" % (what, e))
    return resp, time.monotonic()


def records_of(backends):
    return b"".join(lib.strip_health_checks(b.records()) for b in backends)


# ---------------------------------------------------------------------------
# Client timeouts
# ---------------------------------------------------------------------------

@suite.test
def client_header_timeout_partial_head(ctx):
    bs = ctx.backends_n(1, record=True)
    r = ctx.rondo(lib.config(bs, timeouts={"clientHeader": "1s"}))
    lib.warm_up(r, [b.name for b in bs])
    mark = r.mark()
    c = r.client(timeout=5)
    t0 = time.monotonic()
    c.send(b"GET /half-head HTTP/1.1\r\nHost: rondo.test\r\nX-Some: thing\r\n")
    resp, t1 = read_answer(c, "half a head, then silence")
    took = t1 - t0
    expect_eq(resp.status, 408, "status after half a head")
    expect(0.8 <= took <= 1.0 + 1.5 * lib.SLOW, "408 after %.2fs with clientHeader 1s", took)
    expect(resp.framing == "close" or "close" in resp.tokens("connection") or c.closed_by_peer(2),
           "connection left open after the 408")
    c.close()
    r.wait_log(r"request head timeout", 2 * lib.SLOW, since=mark)
    expect(b"/half-head" not in records_of(bs), "the partial head reached the backend")
    # A complete head in time is still served, on a fresh connection.
    expect_eq(r.get("/").status, 200, "request after the timeout")


@suite.test
def client_header_timeout_not_extended_by_trickle(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, timeouts={"clientHeader": "1s"}))
    lib.warm_up(r, [b.name for b in bs])
    head = b"GET /trickle HTTP/1.1\r\nHost: rondo.test\r\nX-Long: " + b"a" * 100 + b"\r\n\r\n"
    c = r.client(timeout=5)
    t0 = time.monotonic()
    sent = 0
    answered = None
    try:
        while sent < len(head) and time.monotonic() - t0 < 5 * lib.SLOW:
            if wait_readable(c.sock, 0.3):
                answered = time.monotonic()
                break
            c.send(head[sent:sent + 1])
            sent += 1
        if answered is None:
            expect(wait_readable(c.sock, 3 * lib.SLOW), "no answer %.1fs into a trickled head",
                   time.monotonic() - t0)
            answered = time.monotonic()
        resp, _ = read_answer(c, "a head trickled a byte every 300ms")
    finally:
        c.close()
    took = answered - t0
    expect_eq(resp.status, 408, "status of a trickled head")
    expect(sent < len(head), "the whole head (%d bytes) went through", len(head))
    expect(0.8 <= took <= 1.0 + 1.0 * lib.SLOW,
           "408 came %.2fs after the first byte (%d bytes sent) with clientHeader 1s", took, sent)


@suite.test
def client_header_timeout_on_keepalive_second_request(ctx):
    # The clock starts with the first byte of each head, not at the connection
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, timeouts={"clientHeader": "1s", "idle": "10s"}))
    lib.warm_up(r, [b.name for b in bs])
    with r.client(timeout=5) as c:
        expect_eq(c.request("GET", "/").status, 200, "first request")
        time.sleep(1.3)         # idle, no byte: the head clock is not running
        expect_eq(c.request("GET", "/").status, 200, "second request after 1.3s idle")
        t0 = time.monotonic()
        c.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        resp, t1 = read_answer(c, "half a second head")
        expect_eq(resp.status, 408, "status after half a head on a kept-alive connection")
        expect(0.8 <= t1 - t0 <= 1.0 + 1.0 * lib.SLOW, "408 after %.2fs", t1 - t0)


@suite.test
def client_body_timeout(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, timeouts={"clientBody": "500ms"}))
    lib.warm_up(r, [b.name for b in bs])
    # A body with gaps shorter than the timeout goes through, however long it takes.
    with r.client(timeout=5) as c:
        c.send(lib.build_request("POST", "/sha", headers=[("Content-Length", "100")]))
        for i in range(10):
            time.sleep(0.3)
            c.send(b"%010d" % i)
        resp, _ = read_answer(c, "a body sent 10 bytes every 300ms")
        expect_eq(resp.status, 200, "status of a slow but steady body")
        expect_eq(resp.header("X-Body-Len"), "100", "body length the backend got")
    # A stalled body gets 408.
    mark = r.mark()
    c = r.client(timeout=5)
    try:
        c.send(lib.build_request("POST", "/echo", headers=[("Content-Length", "100")]) + b"0123456789")
        t0 = time.monotonic()
        resp, t1 = read_answer(c, "10 of 100 body bytes, then silence")
        expect_eq(resp.status, 408, "status of a stalled body")
        expect(0.4 <= t1 - t0 <= 0.5 + 1.5 * lib.SLOW, "408 after %.2fs with clientBody 500ms", t1 - t0)
        expect(resp.framing == "close" or "close" in resp.tokens("connection") or c.closed_by_peer(2),
               "connection left open after the 408")
    finally:
        c.close()
    r.wait_log(r"request body timeout", 2 * lib.SLOW, since=mark)
    expect_eq(r.get("/").status, 200, "request after the body timeout")


@suite.test
def server_timeout_504(ctx):
    slow = delayed_backend(ctx, "slow", 2000)
    r = ctx.rondo(lib.config([slow], timeouts={"server": "300ms"}, retries=0))
    wait_all_checked(r, [slow])         # probes (HEAD) are not delayed
    mark = r.mark()
    t0 = time.monotonic()
    resp = r.get("/", timeout=10)
    took = time.monotonic() - t0
    expect_eq(resp.status, 504, "status of a request to a backend taking 2s")
    expect(0.25 <= took <= 0.3 + 1.0 * lib.SLOW, "504 after %.2fs with timeouts.server 300ms", took)
    r.wait_log(r"backend %s: no response within" % re.escape(slow.url), 2 * lib.SLOW, since=mark)


@suite.test
def server_timeout_only_waits_for_the_head(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, timeouts={"server": "500ms"}))
    lib.warm_up(r, [b.name for b in bs])
    expect_eq(r.get("/delay?ms=200").status, 200, "backend answering in 200ms (server 500ms)")
    t0 = time.monotonic()
    resp = r.get("/delay?ms=3000")
    took = time.monotonic() - t0
    expect_eq(resp.status, 504, "backend answering in 3s (server 500ms)")
    expect(took <= 0.5 + 1.0 * lib.SLOW, "504 after %.2fs", took)


@suite.test
def idle_timeout(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, timeouts={"idle": "300ms"}))
    lib.warm_up(r, [b.name for b in bs])
    # requests every 150ms keep the connection for 1.2s: idle is a gap
    with r.client(timeout=5) as c:
        for i in range(8):
            expect_eq(c.request("GET", "/").status, 200, "request %d, 150ms apart" % i)
            time.sleep(0.15)
        expect_eq(c.request("GET", "/").status, 200, "last request")
        t0 = time.monotonic()
        expect(c.closed_by_peer(3), "keep-alive connection still open 3s after its last response")
        took = time.monotonic() - t0
    expect(0.25 <= took <= 0.3 + 1.0 * lib.SLOW, "idle connection closed after %.2fs with idle 300ms", took)


def established_to(port):
    """Established TCP connections (IPv4, loopback tests) whose remote port is port."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            if int(fields[2].split(":")[1], 16) == port and fields[3] == "01":
                n += 1
    return n


@suite.test
def pooled_backend_connection_idle_timeout(ctx):
    # After a response the backend connection waits in the worker's pool; it
    # is closed once idle for timeouts.idle (checked a quarter of it apart).
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, workers=1, healthCheckInterval="30s", timeouts={"idle": "1s"}))
    lib.warm_up(r, [b.name for b in bs])
    expect_eq(lib.http_get(r.addr, "/").status, 200, "request")
    t0 = time.monotonic()
    expect(established_to(bs[0].port) >= 1, "no pooled connection to the backend after a request")
    time.sleep(0.5)
    still = established_to(bs[0].port) >= 1
    if time.monotonic() - t0 < 0.9:    # a loaded machine may have slept past the timeout
        expect(still, "pooled connection closed within 0.5s (idle 1s)")
    lib.wait_until(lambda: established_to(bs[0].port) == 0, 5 * lib.SLOW,
                   "pooled backend connections closed after idle 1s")
    took = time.monotonic() - t0
    expect(took <= 1.25 + 0.5 * lib.SLOW, "pooled connection closed after %.2fs (idle 1s)", took)


# ---------------------------------------------------------------------------
# Limits
# ---------------------------------------------------------------------------

@suite.test
def limits_431_414(ctx):
    bs = ctx.backends_n(1, record=True)
    r = ctx.rondo(lib.config(bs, limits={"headerSize": 2048, "uriSize": 512, "headers": 10}))
    lib.warm_up(r, [b.name for b in bs])

    def fields(n, tag):
        # n fields in all with Host
        return [("X-F%d" % i, tag) for i in range(n - 1)]

    ok_cases = [
        ("header of 1200 bytes", "/ok-big-header", [("X-Big", "b" * 1200)]),
        # uriSize bounds the request line: "GET " + 480 + " HTTP/1.1" = 493 bytes
        ("URI of 480 bytes", "/ok-long-uri?" + "u" * (480 - len("/ok-long-uri?")), []),
        ("10 fields", "/ok-ten-fields", fields(10, "ok")),
    ]
    bad_cases = [
        ("header of 3000 bytes", "/bad-big-header", [("X-Big", "b" * 3000)], 431),
        ("head of 3000 bytes in 30 small fields", "/bad-big-head",
         [("X-%d" % i, "c" * 90) for i in range(30)], 431),
        ("URI of 600 bytes", "/bad-long-uri?" + "u" * (600 - len("/bad-long-uri?")), [], 414),
        ("11 fields", "/bad-eleven-fields", fields(11, "bad"), 431),
        ("50 fields", "/bad-fifty-fields", fields(50, "bad"), 431),
    ]
    for what, path, hdrs in ok_cases:
        resp = r.get(path, headers=hdrs)
        expect_eq(resp.status, 200, "status of a request with a %s (within the limits)" % what)
    for what, path, hdrs, want in bad_cases:
        c = r.client(timeout=5)
        try:
            c.send(lib.build_request("GET", path, headers=hdrs))
            resp, _ = read_answer(c, what)
            expect_eq(resp.status, want, "status of a request with a %s" % what)
            expect(resp.framing == "close" or "close" in resp.tokens("connection") or c.closed_by_peer(2),
                   "connection left open after the %d" % want)
        finally:
            c.close()
    expect_eq(r.get("/after").status, 200, "request after the refusals")
    rec = records_of(bs)
    for what, path, hdrs in ok_cases:
        expect(path.split("?")[0].encode() in rec, "%s: accepted request not in the record", what)
    for what, path, hdrs, want in bad_cases:
        expect(path.split("?")[0].encode() not in rec, "%s: the refused request reached the backend", what)


@suite.test
def client_log_lines_limited(ctx):
    """A client can cause a log line per connection at will (here with bad
    requests): past 100 a second per worker the lines are counted instead of
    written, and the next line written says how many were left out."""
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, workers=1))
    lib.warm_up(r, [b.name for b in bs])
    bad = b"GET / HTTP/1.1\r\nHost: rondo.test\r\nBad Header\r\n\r\n"

    def one_bad():
        c = r.client(timeout=5)
        try:
            c.send(bad)
            resp, _ = read_answer(c, "a bad request")
            expect_eq(resp.status, 400, "status of a bad request")
        finally:
            c.close()
    mark = r.mark()
    t0 = time.monotonic()
    for _ in range(300):
        one_bad()
    took = time.monotonic() - t0
    time.sleep(1.1)                 # the budget fills up again
    one_bad()

    def tally():
        text = "\n".join(r.lines[mark:])
        return (len(re.findall(r"bad request \(400\)", text)),
                sum(int(n) for n in re.findall(r"(\d+) lines about clients left out", text)))
    try:
        lib.wait_until(lambda: sum(tally()) >= 301, 5 * lib.SLOW, "the log lines of the last one")
    except lib.TestFailure:
        pass                        # reported below, with the numbers
    written, left_out = tally()
    sys.stderr.write("  301 bad requests in %.2fs: %d lines written, %d left out\n"
                     % (took + 1.1, written, left_out))
    expect_eq(written + left_out, 301, "lines written and left out for 301 bad requests")
    expect(written <= 100 + 100 * took + 2, "%d lines written in %.2fs: not limited", written, took)
    expect(left_out > 0, "no line left out")
    expect_eq(r.get("/after").status, 200, "a good request after them")


# ---------------------------------------------------------------------------
# Slowloris
# ---------------------------------------------------------------------------

def latencies(r, n):
    out = []
    for i in range(n):
        t0 = time.monotonic()
        resp = r.get("/", timeout=5)
        out.append(time.monotonic() - t0)
        expect_eq(resp.status, 200, "normal request %d" % i)
        time.sleep(0.02)
    return sorted(out)


def p99(xs):
    return xs[min(len(xs) - 1, int(len(xs) * 0.99))]


@suite.test
def memory_returns_after_a_burst(ctx):
    """800 requests in flight at once on 800 connections, then the
    connections close: the sessions and buffers the burst needed go back to
    the system within seconds, instead of staying on the worker's free lists."""
    if lib.SANITIZERS:
        raise lib.TestSkip("the sanitizers' allocator keeps freed memory (quarantine)")
    n = 800
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * n + 500             # ours, and rondo's (it inherits the limit)
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            raise lib.TestSkip("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    bs = [delayed_backend(ctx, "slow", 0)]
    r = ctx.rondo(lib.config(bs, workers=1))
    lib.warm_up(r, ["slow"])
    base = {p: lib.rss_kib(p) for p in r.children()}
    socks = []
    try:
        for _ in range(n):
            c = r.client(timeout=30)
            c.send(lib.build_request("GET", "/delay?ms=1500"))
            socks.append(c)
        for c in socks:
            resp, _ = read_answer(c, "a request of the burst")
            expect_eq(resp.status, 200, "a request of the burst")
    finally:
        for c in socks:
            c.close()
    lib.wait_until(lambda: r.get("/").status == 200, 5 * lib.SLOW, "a request after the burst")
    worker = max(base, key=lambda p: lib.rss_kib(p) - base[p])     # the one that served them
    base, peak = base[worker], lib.rss_kib(worker)
    expect(peak - base > 2000, "the burst grew the worker by %d KiB only: no burst to measure"
           % (peak - base))
    time.sleep(6)                   # three looks at the free lists
    after = lib.rss_kib(worker)
    sys.stderr.write("  worker RSS: %d KiB before, %d after the burst, %d six seconds later\n"
                     % (base, peak, after))
    expect(after - base < (peak - base) * 0.4,
           "the worker kept %d of the %d KiB the burst took" % (after - base, peak - base))


@suite.test
def slowloris_does_not_starve_clients(ctx):
    nslow = 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 2 * nslow + 500             # ours, and rondo's (it inherits the limit)
    if soft < want:
        if hard != resource.RLIM_INFINITY and hard < want:
            raise lib.TestSkip("RLIMIT_NOFILE hard limit %d < %d" % (hard, want))
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    bs = ctx.backends_n(2)
    aaddr = (lib.LOOPBACK, lib.free_port())
    r = ctx.rondo(lib.config(bs, workers=2, timeouts={"clientHeader": "60s"},
                         admin={"listen": "%s:%d" % aaddr}))
    lib.warm_up(r, [b.name for b in bs])
    base = latencies(r, 50)

    def open_in_rondo():
        with lib.Client(aaddr, timeout=5) as c:
            return sum(w["connections"] for w in c.request("GET", "/status", host="%s:%d" % aaddr)
                       .json()["workers"])

    socks = []
    stop = threading.Event()
    trickle_errors = []

    def trickle():
        # one byte to every connection every second, for as long as the test needs
        while not stop.wait(1.0):
            for s in list(socks):
                try:
                    s.send(b"a")
                except BlockingIOError:
                    pass
                except OSError as e:
                    trickle_errors.append(e)
                    if len(trickle_errors) > 10:
                        return

    t = threading.Thread(target=trickle, daemon=True)
    try:
        t0 = time.monotonic()
        for i in range(nslow):
            if time.monotonic() - t0 > 10 * lib.SLOW:
                raise lib.TestFailure("opening %d connections took over %.0fs (%d open)" %
                                      (nslow, 10 * lib.SLOW, len(socks)))
            s = socket.create_connection(r.addr, timeout=5)
            s.sendall(b"GET /slowloris HTTP/1.1\r\nHost: rondo.test\r\nX-Pad: ")
            s.setblocking(False)
            socks.append(s)
        t.start()
        # rondo holds them all (they are not just waiting in the accept queue)
        lib.wait_until(lambda: open_in_rondo() >= nslow, 5 * lib.SLOW,
                       lambda: "rondo to hold the %d slowloris connections (%d)" % (nslow, open_in_rondo()))
        loaded = latencies(r, 50)
        # the slow connections are still there, unanswered
        answered = [s for s in socks[:200] if wait_readable(s, 0)]
    finally:
        stop.set()
        t.join(5)
        for s in socks:
            s.close()
    expect(not trickle_errors, "slowloris connections failed while trickling: %s", trickle_errors[:3])
    expect(not answered, "%d of the first 200 slowloris connections were answered or closed", len(answered))
    limit = 10 * p99(base) + 0.02 * lib.SLOW
    if lib.VERBOSE:
        sys.stderr.write("  slowloris: p99 %.1fms loaded, %.1fms base, limit %.1fms\n"
                         % (p99(loaded) * 1e3, p99(base) * 1e3, limit * 1e3))
    expect(p99(loaded) <= limit,
           "p99 latency %.1fms with %d slowloris connections open, %.1fms without (limit %.1fms); "
           "median %.1fms", p99(loaded) * 1e3, nslow, p99(base) * 1e3, limit * 1e3,
           loaded[len(loaded) // 2] * 1e3)
    expect_eq(r.get("/").status, 200, "request after the slowloris connections closed")


# ---------------------------------------------------------------------------
# Retries
# ---------------------------------------------------------------------------

@suite.test
def retry_connect_failure_any_method(ctx):
    bs = ctx.backends_n(2, record=True)
    r = ctx.rondo(lib.config(bs, **SLOW_CHECKS))
    wait_all_checked(r, bs)             # a kill during the first probe would mark it down
    lib.warm_up(r, [b.name for b in bs])
    dead, alive = bs
    dead.kill()                         # still "up": the next check is a minute away
    mark = r.mark()
    for i in range(6):
        resp = r.get("/", timeout=5)
        expect_eq((resp.status, resp.header("X-Backend")), (200, alive.name), "GET %d" % i)
        body = b"post-body-%d-" % i + b"x" * 100
        resp = r.get("/echo?post=%d" % i, method="POST", body=body, timeout=5)
        expect_eq((resp.status, resp.header("X-Backend")), (200, alive.name), "POST %d" % i)
        expect_eq(resp.body, body, "POST %d echoed body" % i)
    r.wait_log(r"backend %s: .*retrying on another backend" % re.escape(dead.url), 2 * lib.SLOW, since=mark)
    rec = records_of([alive])
    for i in range(6):
        expect_eq(rec.count(b"POST /echo?post=%d " % i), 1, "POST %d received by the live backend" % i)
        expect_eq(rec.count(b"post-body-%d-" % i), 1, "body of POST %d received" % i)


def wait_all_checked(r, backends):
    """Waits for the health checker's first verdict on every backend without a
    request through rondo (which would leave pooled connections behind)."""
    for b in backends:
        r.wait_log(r"backend %s is up" % re.escape(b.url), 5 * lib.SLOW)


@suite.test
def post_reset_after_sending_not_retried(ctx):
    bs = ctx.backends_n(2, record=True)
    r = ctx.rondo(lib.config(bs, **SLOW_CHECKS))
    wait_all_checked(r, bs)
    for i in range(4):          # round robin: each backend comes first twice
        body = b"z" * 1000
        resp = r.get("/die?post=%d" % i, method="POST", body=body, timeout=5)
        expect_eq(resp.status, 502, "POST %d to /die (the backend closes after reading it)" % i)
        rec = records_of(bs)
        n = rec.count(b"POST /die?post=%d " % i)
        expect_eq(n, 1, "copies of POST %d received by the backends (a retried POST runs twice)" % i)
    # the backends live on
    for i in range(4):
        expect_eq(r.get("/").status, 200, "GET %d after the POSTs" % i)


@suite.test
def get_retried_at_most_retries_plus_one(ctx):
    bs = ctx.backends_n(3, record=True)
    retries = 1
    r = ctx.rondo(lib.config(bs, retries=retries, **SLOW_CHECKS))
    wait_all_checked(r, bs)
    for i in range(3):
        mark = r.mark()
        resp = r.get("/die?get=%d" % i, timeout=5)
        expect_eq(resp.status, 502, "GET %d to /die on every backend" % i)
        n = records_of(bs).count(b"GET /die?get=%d " % i)
        expect_eq(n, retries + 1, "attempts of GET %d with retries %d (3 backends, all fail)"
                  % (i, retries))
        r.wait_log(r"retrying on another backend", 2 * lib.SLOW, since=mark)


@suite.test
def get_retried_with_pooled_connections(ctx):
    # After warm-up traffic rondo holds kept-alive connections to the
    # backends (a failure on one of those may be replayed on a new connection
    # to the same backend): still no more than 1 + retries sends in all.
    bs = ctx.backends_n(3, record=True)
    r = ctx.rondo(lib.config(bs, retries=2, **SLOW_CHECKS))
    lib.warm_up(r, [b.name for b in bs])
    for i in range(3):
        resp = r.get("/die?again=%d" % i, timeout=5)
        expect_eq(resp.status, 502, "GET %d to /die, retries 2" % i)
        counts = [lib.strip_health_checks(b.records()).count(b"GET /die?again=%d " % i) for b in bs]
        expect(1 <= sum(counts) <= 3,
               "GET %d to /die reached the backends %s times with retries 2", i, counts)


@suite.test
def backend_killed_under_load(ctx):
    bs = ctx.backends_n(3)
    aaddr = (lib.LOOPBACK, lib.free_port())
    r = ctx.rondo(lib.config(bs, admin={"listen": "%s:%d" % aaddr}))
    wait_all_checked(r, bs)
    lib.warm_up(r, [b.name for b in bs])
    victim = bs[1]
    mark = r.mark()
    errors = []
    seen_after = {}
    killed_at = None
    ka = r.client(timeout=5)
    try:
        for i in range(300):
            if i == 100:
                victim.kill()
                killed_at = i
            try:
                # half on fresh connections, half on a kept-alive one
                resp = r.get("/", timeout=5) if i % 2 == 0 else ka.request("GET", "/")
            except (OSError, lib.TestFailure) as e:
                errors.append("request %d (%s): %s" % (i, "fresh" if i % 2 == 0 else "keep-alive", e))
                if i % 2:
                    ka.close()
                    ka = r.client(timeout=5)
                continue
            if resp.status != 200:
                errors.append("request %d: status %d" % (i, resp.status))
            elif killed_at is not None and i > killed_at + 50:
                name = resp.header("X-Backend")
                seen_after[name] = seen_after.get(name, 0) + 1
    finally:
        ka.close()
    expect(not errors, "%d of 300 requests failed around the kill of a backend: %s",
           len(errors), errors[:3])
    expect(victim.name not in seen_after, "killed backend still answering? %s", seen_after)
    r.wait_log(r"%s" % re.escape(victim.url), 2 * lib.SLOW, since=mark)
    with lib.Client(aaddr, timeout=5) as c:
        st = c.request("GET", "/status", host="%s:%d" % aaddr).json()
    sb = [x for x in st["backends"] if x["url"] == victim.url]
    expect(sb and (sb[0]["failures"] > 0 or sb[0]["health"] == "down"),
           "the killed backend in /status: %s", sb)


# ---------------------------------------------------------------------------
# Passive health
# ---------------------------------------------------------------------------

def down_line_rx(b):
    return r"backend %s is down for [\d.]+s: (\d+) failures in a row" % re.escape(b.url)


@suite.test
def passive_health_takes_backend_out(ctx):
    fast = ctx.backend("fast")
    slow = delayed_backend(ctx, "slow", 1500)
    r = ctx.rondo(lib.config([fast, slow], workers=2, timeouts={"server": "200ms"},
                         maxFails=2, failTimeout="3s", **SLOW_CHECKS))
    wait_all_checked(r, [fast, slow])
    mark = r.mark()
    # requests until the slow backend has failed twice
    sent = 0
    while not r.find_log(down_line_rx(slow), since=mark):
        expect(sent < 12, "slow backend not taken out after %d requests (%d timeouts logged)",
               sent, len(re.findall(r"no response within", r.log_text())))
        r.get("/", timeout=5)
        sent += 1
    m = r.wait_log(down_line_rx(slow), 1, since=mark)
    expect_eq(m.group(1), "2", "failures named in the down line")
    t_down = time.monotonic()
    nfail = len([l for l in r.lines[mark:] if "no response within" in l and slow.url in l])
    expect_eq(nfail, 2, "timeouts of the slow backend before it was taken out")
    timeout_rx = r"backend %s: no response within" % re.escape(slow.url)
    mark_out = r.mark()
    for i in range(20):
        resp = r.get("/", timeout=5)
        expect_eq((resp.status, resp.header("X-Backend")), (200, fast.name), "request %d while out" % i)
    out_for = time.monotonic() - t_down
    expect(out_for < 2.7, "the 20 requests took %.1fs: too long to tell (failTimeout 3s)", out_for)
    expect(not r.find_log(timeout_rx, since=mark_out),
           "the slow backend got a request while out: %s", r.find_log(timeout_rx, since=mark_out))
    downs = re.findall(down_line_rx(slow), "\n".join(r.lines[mark:]))
    expect_eq(len(downs), 1, "down lines for the slow backend")
    # failTimeout over: back in rotation (and timing out again)
    time.sleep(max(0, t_down + 3.2 - time.monotonic()))
    mark2 = r.mark()
    for i in range(4):
        r.get("/", timeout=5)
        if r.find_log(timeout_rx, since=mark2):
            break
    expect(r.find_log(timeout_rx, since=mark2), "the slow backend got no request after its failTimeout")


@suite.test
def passive_health_health_check_brings_back_early(ctx):
    fast = ctx.backend("fast")
    slow = delayed_backend(ctx, "slow", 1500)
    r = ctx.rondo(lib.config([fast, slow], workers=2, timeouts={"server": "200ms"}, maxFails=1,
                         failTimeout="1m", healthCheckInterval="300ms",
                         healthCheck={"rise": 1, "fall": 1, "timeout": "500ms"}))
    wait_all_checked(r, [fast, slow])
    mark = r.mark()
    for i in range(4):
        r.get("/", timeout=5)
        if r.find_log(down_line_rx(slow), since=mark):
            break
    r.wait_log(down_line_rx(slow), 1, since=mark)
    t0 = time.monotonic()
    r.wait_log(r"backend %s passed its health check: back in rotation" % re.escape(slow.url),
               3 * lib.SLOW, since=mark)
    expect(time.monotonic() - t0 < 2 * lib.SLOW, "back after %.1fs", time.monotonic() - t0)
    # and it gets requests again (which time out again)
    mark2 = r.mark()
    timeout_rx = r"backend %s: no response within" % re.escape(slow.url)
    for i in range(4):
        r.get("/", timeout=5)
        if r.find_log(timeout_rx, since=mark2):
            break
    # The worker logs the timeout before the retry answers, but the line may
    # reach this process a little after the answer: wait for it.
    try:
        r.wait_log(timeout_rx, 2 * lib.SLOW, since=mark2)
    except lib.TestFailure:
        raise lib.TestFailure("the slow backend got no request once back in rotation")


@suite.test
def passive_health_ignores_5xx_by_default(ctx):
    """A 5xx is the backend answering: unless passiveHealth.statuses lists it,
    clients asking for error pages cannot take backends out."""
    bs = ctx.backends_n(2)
    r = ctx.rondo(lib.config(bs, maxFails=2, failTimeout="1m", **SLOW_CHECKS))
    wait_all_checked(r, bs)
    mark = r.mark()
    for i in range(8):
        expect_eq(r.get("/status?code=500", timeout=5).status, 500, "GET /status?code=500 #%d" % i)
    for code in (502, 503, 504):
        expect_eq(r.get("/status?code=%d" % code, timeout=5).status, code, "GET /status?code=%d" % code)
    seen = set()
    for i in range(8):
        resp = r.get("/", timeout=5)
        expect_eq(resp.status, 200, "request %d after the 5xx answers" % i)
        seen.add(resp.header("X-Backend"))
    expect_eq(seen, {b.name for b in bs}, "backends answering after the 5xx answers")
    expect(not r.find_log(r"is down for", since=mark),
           "a backend was taken out by 5xx answers: %s", r.find_log(r"is down for", since=mark))


@suite.test
def passive_health_statuses_opt_in(ctx):
    """passiveHealth.statuses: the listed codes count, the others still do not."""
    b1, b2 = ctx.backends_n(2)
    r = ctx.rondo(lib.config([b1, b2], workers=1, maxFails=2, failTimeout="1m",
                         passiveHealth={"statuses": [503]}, **SLOW_CHECKS))
    wait_all_checked(r, [b1, b2])
    mark = r.mark()
    for i in range(4):
        expect_eq(r.get("/status?code=500", timeout=5).status, 500, "GET /status?code=500 #%d" % i)
    expect(not r.find_log(r"is down for", since=mark), "a 500 (not listed) took a backend out")
    # round robin, one worker: two 503 from each backend in a row
    for i in range(4):
        expect_eq(r.get("/status?code=503", timeout=5).status, 503, "GET /status?code=503 #%d" % i)
    for b in (b1, b2):
        r.wait_log(down_line_rx(b), 2 * lib.SLOW, since=mark)


# ---------------------------------------------------------------------------
# maxConnections
# ---------------------------------------------------------------------------

@suite.test
def max_connections_global_cap(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, workers=2, maxConnections=2, timeouts={"idle": "30s"}))
    lib.warm_up(r, [b.name for b in bs])
    # the warm-up's connections must be gone, or they count
    lib.wait_until(lambda: lib.accepted_open(r.port) == 0, 5 * lib.SLOW,
                   "rondo closing the warm-up's connections")
    held = [r.client(timeout=5) for _ in range(2)]
    third = None
    try:
        for i, c in enumerate(held):
            expect_eq(c.request("GET", "/").status, 200, "held connection %d" % i)
        third = r.client(timeout=5)          # the kernel completes the handshake
        third.send(lib.build_request("GET", "/"))
        expect(not wait_readable(third.sock, 0.5),
               "a third connection was answered while 2 (maxConnections 2) were open")
        # and not a fourth either, which then waits behind the third
        held[0].close()
        t0 = time.monotonic()
        expect(wait_readable(third.sock, 3 * lib.SLOW),
               "the third connection not answered 3s after one of the 2 closed")
        resp = third.read_response()
        expect_eq(resp.status, 200, "third connection's request")
        expect(time.monotonic() - t0 < 1.0 * lib.SLOW, "third answered %.2fs after the close",
               time.monotonic() - t0)
        # the remaining held connection still works
        expect_eq(held[1].request("GET", "/").status, 200, "held connection 1, again")
    finally:
        for c in held:
            c.close()
        if third is not None:
            third.close()
    expect_eq(r.get("/").status, 200, "request once everything closed")


if __name__ == "__main__":
    suite.main()
