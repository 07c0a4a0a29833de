#!/usr/bin/env python3
"""Reloads under load: SIGHUP again and again, with the server list changing,
while clients keep sending requests; not one may fail."""

import re
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_reload")

RELOADS = 50


class Load(threading.Thread):
    """Requests one after the other until stopped, on a new connection each
    time or on one keep-alive connection. A keep-alive connection that the
    server closed while idle is reopened and the request sent again, only when
    no byte of a response had arrived (RFC 9112 9.3.1: what every client does);
    every other problem is a failure."""

    def __init__(self, r, keepalive):
        super().__init__(daemon=True)
        self.r = r
        self.keepalive = keepalive
        self.stop = threading.Event()
        self.sent = 0
        self.reopened = 0
        self.failures = []
        self.seen = {}

    def _one(self, c):
        resp = c.request("GET", "/")
        if resp.status != 200:
            self.failures.append("status %d" % resp.status)
        name = resp.header("X-Backend")
        self.seen[name] = self.seen.get(name, 0) + 1
        return resp

    def run(self):
        c = None
        deadline = lib.time.monotonic() + 120
        while not self.stop.is_set() and lib.time.monotonic() < deadline:
            self.sent += 1
            try:
                if not self.keepalive:
                    with self.r.client() as c1:
                        self._one(c1)
                    continue
                if c is None:
                    c = self.r.client()
                try:
                    resp = self._one(c)
                except (lib.ConnectionClosed, ConnectionResetError, BrokenPipeError) as e:
                    if getattr(e, "partial", b""):
                        raise
                    self.reopened += 1
                    c.close()
                    c = self.r.client()
                    resp = self._one(c)
                if "close" in resp.tokens("connection"):
                    c.close()
                    c = None
            except Exception as e:
                self.failures.append("%s: %s" % (type(e).__name__, e))
                if c is not None:
                    c.close()
                c = None
        if c is not None:
            c.close()

    def finish(self):
        self.stop.set()
        self.join(15)


@suite.test
def fifty_reloads_no_failure(ctx):
    bs = ctx.backends_n(3)
    lists = [[bs[0], bs[1], bs[2]], [bs[0], bs[1]], [bs[1], bs[2]], [bs[2], bs[0]]]
    r = ctx.rondo({"healthCheckInterval": "200ms", "servers": [b.url for b in lists[0]],
                   "healthCheck": {"rise": 1, "fall": 1, "timeout": "200ms"}, "workers": 2})
    lib.warm_up(r, [b.name for b in bs])
    loads = [Load(r, keepalive=False), Load(r, keepalive=False), Load(r, keepalive=True)]
    for ld in loads:
        ld.start()
    try:
        for i in range(1, RELOADS + 1):
            servers = lists[i % len(lists)]
            before = sum(ld.sent for ld in loads)
            mark = r.mark()
            r.rewrite_config(dict(r.config, servers=[b.url for b in servers]))
            r.signal(signal.SIGHUP)
            r.wait_log(r"master: reload done, generation %d\b" % (i + 1), 5 * lib.SLOW, since=mark)
            lib.wait_until(lambda: sum(ld.sent for ld in loads) >= before + 6, 5 * lib.SLOW,
                           "requests after reload %d" % i)
    finally:
        for ld in loads:
            ld.finish()
    total = sum(ld.sent for ld in loads)
    failures = [f for ld in loads for f in ld.failures]
    expect(not failures, "%d of %d requests failed across %d reloads: %s",
           len(failures), total, RELOADS, failures[:5])
    expect(total >= RELOADS * 6, "only %d requests were sent", total)
    # The last list is the one in force: only its backends answer now.
    last = {b.name for b in lists[RELOADS % len(lists)]}
    seen = set()
    for _ in range(12):
        seen.add(r.get("/").header("X-Backend"))
    expect_eq(seen, last, "backends answering after the last reload")
    # The old generations all drained and left: the master's children are
    # this generation's workers and health checker only.
    lib.wait_until(lambda: len(r.children()) == 3, 20 * lib.SLOW,
                   "old generations to exit (children now %s)" % r.children())
    print("  %d requests, %d keep-alive reconnects, over %d reloads" %
          (total, sum(ld.reopened for ld in loads), RELOADS))


@suite.test
def reload_keeps_down_backend_down(ctx):
    # Health state carries over: a backend known to be down gets no traffic
    # just because the configuration was reloaded.
    bs = ctx.backends_n(2)
    bs[1].kill()
    r2 = ctx.rondo({"healthCheckInterval": "30s", "servers": [b.url for b in bs],
                    "healthCheck": {"rise": 1, "fall": 1, "timeout": "200ms"}, "workers": 1})
    r2.wait_log(r"backend http://127\.0\.0\.1:%d is down" % bs[1].port, 5 * lib.SLOW)
    bs[1].start()      # answering again, but the next check is 30 s away
    mark = r2.mark()
    r2.signal(signal.SIGHUP)
    r2.wait_log(r"master: reload done", 5 * lib.SLOW, since=mark)
    names = {r2.get("/").header("X-Backend") for _ in range(10)}
    expect_eq(names, {bs[0].name}, "backends answering right after the reload")


@suite.test
def reload_changes_port(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo({"healthCheckInterval": "1s", "servers": [bs[0].url], "workers": 1})
    old_addr = r.addr
    new_port = lib.free_port()
    mark = r.mark()
    r.rewrite_config(dict(r.config, port="127.0.0.1:%d" % new_port))
    r.signal(signal.SIGHUP)
    r.wait_log(r"master: reload done", 5 * lib.SLOW, since=mark)
    resp = lib.http_get(("127.0.0.1", new_port), "/")
    expect_eq(resp.status, 200, "request on the new port")

    def old_closed():
        try:
            socket.create_connection(old_addr, timeout=1).close()
            return False
        except OSError:
            return True
    lib.wait_until(old_closed, 10 * lib.SLOW, "the old port to be closed")


@suite.test
def counters_carry_over(ctx):
    # /status and /metrics counters of a backend that stays go on from where
    # they were: a reload does not reset them.
    import json
    bs = ctx.backends_n(2)
    admin = lib.free_port()
    r = ctx.rondo({"healthCheckInterval": "1s", "servers": [b.url for b in bs], "workers": 2,
                   "admin": {"listen": "127.0.0.1:%d" % admin}})

    def requests_by_url():
        resp = lib.http_get(("127.0.0.1", admin), "/status", headers=[("Host", "127.0.0.1:%d" % admin)])
        expect_eq(resp.status, 200, "GET /status")
        return {b["url"]: b["requests"] for b in json.loads(resp.body)["backends"]}

    for _ in range(6):
        expect_eq(r.get("/").status, 200, "request before the reload")
    expect_eq(sum(requests_by_url().values()), 6, "requests counted before the reload")
    mark = r.mark()
    r.rewrite_config(dict(r.config, servers=[bs[0].url]))
    r.signal(signal.SIGHUP)
    r.wait_log(r"master: reload done", 5 * lib.SLOW, since=mark)
    # Old workers may still take a connection queued before the reload, and
    # count it in the old segment: look once they are gone.
    r.wait_log(r"master: generation 1 finished", 10 * lib.SLOW, since=mark)
    before = requests_by_url()
    expect_eq(list(before), [bs[0].url], "backends after the reload")
    expect_eq(before[bs[0].url], 3, "b1's count carried over")
    for _ in range(4):
        expect_eq(r.get("/").status, 200, "request after the reload")
    expect_eq(requests_by_url()[bs[0].url], 7, "b1's count after 4 more")


@suite.test
def requests_in_flight_count_after_reload(ctx):
    # A request still running on the old generation's worker counts against
    # its backend's maxConnections in the new generation.
    bs = ctx.backends_n(2, record=True)
    r = ctx.rondo({"healthCheckInterval": "30s", "workers": 1,
                   "servers": [{"url": b.url, "maxConnections": 1} for b in bs]})

    def arrive(target):
        line = b"GET %s HTTP/1.1" % target.encode()
        lib.wait_until(lambda: any(line in b.records() for b in bs), 5 * lib.SLOW,
                       "%s at a backend" % target)

    lib.warm_up(r, [b.name for b in bs])
    slow = r.client(timeout=20)
    other = r.client(timeout=20)
    try:
        slow.send(lib.build_request("GET", "/delay?ms=%d" % (3000 * lib.SLOW)))
        arrive("/delay?ms=%d" % (3000 * lib.SLOW))
        mark = r.mark()
        r.signal(signal.SIGHUP)
        r.wait_log(r"master: reload done", 5 * lib.SLOW, since=mark)
        # The new generation sees one backend busy: one more request fits, not two.
        other.send(lib.build_request("GET", "/delay?ms=%d" % (1500 * lib.SLOW)))
        arrive("/delay?ms=%d" % (1500 * lib.SLOW))
        third = lib.http_get(r.addr, "/")
        expect_eq(third.status, 503, "a third request while both backends hold one (%s)"
                  % third.header("X-Backend"))
        second = other.read_response()
        expect_eq(second.status, 200, "the request sent after the reload")
        first = slow.read_response()
        expect_eq(first.status, 200, "the request running across the reload")
        expect(first.header("X-Backend") != second.header("X-Backend"),
               "both requests went to %s", first.header("X-Backend"))
    finally:
        slow.close()
        other.close()



def drain_survives_reload(ctx, move_admin):
    bs = ctx.backends_n(2)
    aaddr = (lib.LOOPBACK, lib.free_port())
    r = ctx.rondo({"healthCheckInterval": "300ms", "servers": [b.url for b in bs], "workers": 2,
                   "admin": lib.admin_conf(aaddr)})
    lib.warm_up(r, [b.name for b in bs])
    a, b = bs
    expect_eq(lib.admin_request(aaddr, "POST", "/backends/127.0.0.1:%d/drain" % a.port,
                                token=lib.ADMIN_TOKEN).status, 200, "POST drain")
    conf = dict(r.config)
    if move_admin:
        aaddr = (lib.LOOPBACK, lib.free_port())
        conf["admin"] = lib.admin_conf(aaddr)
    r.rewrite_config(conf)
    mark = r.mark()
    r.signal(signal.SIGHUP)
    # at once: the new workers may answer any of these
    for i in range(40):
        resp = r.get("/")
        expect_eq((resp.status, resp.header("X-Backend")), (200, b.name),
                  "request %d after the reload" % i)
    r.wait_log(r"master: reload done", 5 * lib.SLOW, since=mark)
    for i in range(20):
        resp = r.get("/")
        expect_eq((resp.status, resp.header("X-Backend")), (200, b.name),
                  "request %d once the reload is done" % i)
    st = lib.admin_request(aaddr, "GET", "/status").json()
    state = [x["state"] for x in st["backends"] if x["name"] == "127.0.0.1:%d" % a.port]
    expect_eq(state, ["drain"], "state of the drained backend in /status after the reload")


@suite.test
def drain_survives_reload_same_admin(ctx):
    drain_survives_reload(ctx, False)


@suite.test
def drain_survives_reload_admin_moved(ctx):
    drain_survives_reload(ctx, True)


@suite.test
def failed_reload_logs_each_problem(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo({"healthCheckInterval": "1s", "servers": [bs[0].url], "workers": 1})
    r.wait_log(r"master: ready: listening on \S+, 1 worker, 1 backend, round-robin", 1)
    mark = r.mark()
    r.rewrite_config(dict(r.config, retries=-1, healthChek=1))
    r.signal(signal.SIGHUP)
    r.wait_log(r"reload failed", 5 * lib.SLOW, since=mark)
    lib.wait_until(lambda: r.find_log(r"healthChek", since=mark) and r.find_log(r"retries", since=mark),
                   5 * lib.SLOW, "both problems in the log")
    prefix = r"^\d{4}-\d\d-\d\dT[\d:.]+Z rondo\[%d\] master: " % r.pid
    for what in ("healthChek", "retries"):
        lines = [l for l in r.lines[mark:] if what in l]
        expect(lines and all(re.match(prefix, l) for l in lines),
               "the line about %s has no timestamp and process: %s", what, lines)

if __name__ == "__main__":
    suite.main()
