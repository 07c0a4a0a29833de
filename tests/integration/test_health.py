#!/usr/bin/env python3
"""Health checks: 503 with nobody healthy, down/up transitions, failover."""

import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_health")

INTERVAL_MS = 200
FAST = {"healthCheckInterval": "%dms" % INTERVAL_MS,
        "healthCheck": {"rise": 1, "fall": 1, "timeout": "200ms"}}
SLOW_CHECKS = {"healthCheckInterval": "1m",
               "healthCheck": {"rise": 1, "fall": 1, "timeout": "200ms"}}
# A transition must show within a couple of intervals plus the probe timeout;
# the margin covers a loaded machine.
TRANSITION_S = (3 * INTERVAL_MS + 200) / 1000.0 + 1.5


def down_rx(port):
    return r"backend http://127\.0\.0\.1:%d is down" % port


def up_rx(port):
    return r"backend http://127\.0\.0\.1:%d is up" % port


@suite.test
def all_dead_503(ctx):
    ports = [lib.free_port(), lib.free_port()]         # nothing listens there
    r = ctx.rondo(lib.config(servers=["http://127.0.0.1:%d" % p for p in ports], **FAST))
    last = []

    def got_503():
        resp = r.get("/")
        last[:] = [resp]
        return resp.status == 503 and resp
    resp = lib.wait_until(got_503, TRANSITION_S * lib.SLOW, lambda: "a 503 (last: %r)" % last)
    expect(resp.body in (b"No healthy server available", b"No healthy server available\n"),
           "503 body %r", resp.body)
    expect_eq(resp.framing, "length", "503 framing")
    expect_eq(int(resp.header("Content-Length")), len(resp.body), "503 Content-Length")
    # Keeps answering the same way, request after request.
    for i in range(20):
        resp = r.get("/anything")
        expect_eq(resp.status, 503, "request %d status" % i)


@suite.test
def down_then_up(ctx):
    bs = ctx.backends_n(3)
    r = ctx.rondo(lib.config(bs, **FAST))
    lib.warm_up(r, [b.name for b in bs])
    victim = bs[1]
    mark = r.mark()
    t0 = time.monotonic()
    victim.kill()
    r.wait_log(down_rx(victim.port), TRANSITION_S * lib.SLOW, since=mark)
    took = time.monotonic() - t0
    expect(took <= TRANSITION_S * lib.SLOW, "marked down after %.2fs", took)
    seen = {}
    for i in range(30):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d after the kill: status" % i)
        name = resp.header("X-Backend")
        seen[name] = seen.get(name, 0) + 1
    expect(victim.name not in seen, "dead backend %s still chosen: %s", victim.name, seen)
    expect_eq(sorted(seen), sorted([bs[0].name, bs[2].name]), "backends serving")

    mark = r.mark()
    victim.start()                      # same port again
    r.wait_log(up_rx(victim.port), TRANSITION_S * lib.SLOW, since=mark)
    seen = {}
    for i in range(30):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d after the restart: status" % i)
        name = resp.header("X-Backend")
        seen[name] = seen.get(name, 0) + 1
    expect(seen.get(victim.name, 0) >= 5, "restarted backend %s gets too little: %s",
           victim.name, seen)


@suite.test
def dead_but_marked_up_fails_over(ctx):
    bs = ctx.backends_n(3)
    r = ctx.rondo(lib.config(bs, **SLOW_CHECKS))
    lib.warm_up(r, [b.name for b in bs])
    bs[0].kill()                        # the next check is a minute away
    seen = {}
    for i in range(30):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d with a dead backend still marked up" % i)
        seen[resp.header("X-Backend")] = seen.get(resp.header("X-Backend"), 0) + 1
    expect(bs[0].name not in seen, "answer from a killed backend? %s", seen)


@suite.test
def all_dead_but_marked_up_502(ctx):
    bs = ctx.backends_n(2)
    r = ctx.rondo(lib.config(bs, **SLOW_CHECKS))
    lib.warm_up(r, [b.name for b in bs])
    for b in bs:
        b.kill()
    for i in range(10):
        resp = r.get("/")
        expect_eq(resp.status, 502, "request %d with every backend dead but marked up" % i)
        expect_eq(int(resp.header("Content-Length", "-1")), len(resp.body), "502 Content-Length")


@suite.test
def backend_dies_mid_request(ctx):
    # /die closes without answering: with a single backend, whatever rondo
    # does (retry or not), the client gets a 502 and the next request works.
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, **SLOW_CHECKS))
    lib.warm_up(r, [b.name for b in bs])
    resp = r.get("/die")
    expect_eq(resp.status, 502, "status when the backend closes without answering")
    resp = r.get("/")
    expect_eq(resp.status, 200, "the next request")


if __name__ == "__main__":
    suite.main()
