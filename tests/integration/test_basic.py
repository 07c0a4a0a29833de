#!/usr/bin/env python3
"""Round robin over three backends, forwarded headers, and the command line."""

import os
import re
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_basic")


@suite.test
def round_robin_300(ctx):
    bs = ctx.backends_n(3)
    r = ctx.rondo(lib.config(bs, workers=2))
    lib.warm_up(r, [b.name for b in bs])
    url_of = {b.name: b.url for b in bs}
    counts = {b.name: 0 for b in bs}
    for i in range(300):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d status" % i)
        name = resp.header("X-Backend")
        expect(name in counts, "request %d: X-Backend %r", i, name)
        expect_eq(resp.body, b"hello from %s\n" % name.encode(), "request %d body" % i)
        expect_eq(resp.header("X-Forwarded-Server"), url_of[name],
                  "request %d X-Forwarded-Server (X-Backend %s)" % (i, name))
        counts[name] += 1
    expect(all(c == 100 for c in counts.values()),
           "300 requests should split 100/100/100, got %s", counts)


@suite.test(external_ok=True)
def forwarded_headers(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, workers=2))
    resp = r.get("/headers", headers=[("Host", "client.example:8443")])
    expect_eq(resp.status, 200, "status")
    got = resp.json()["headers"]

    def one(name):
        names = [k for k, _ in got]
        vals = [v for k, v in got if k.lower() == name.lower()]
        expect(len(vals) == 1, "backend got %s %r, expected exactly one (headers: %s)",
               name, vals, names)
        return vals[0]

    expect_eq(one("X-Forwarded-For"), "127.0.0.1", "X-Forwarded-For")
    expect_eq(one("X-Forwarded-Proto"), "http", "X-Forwarded-Proto")
    expect_eq(one("X-Forwarded-Host"), "client.example:8443", "X-Forwarded-Host")
    expect_eq(resp.json()["request_line"], "GET /headers HTTP/1.1", "request line")

    # What a client claims is replaced by rondo's view: without
    # "trustedProxies" no client may put an address in front of its own.
    resp = r.get("/headers", headers=[("Host", "real.example"),
                                      ("X-Forwarded-For", "10.1.2.3"),
                                      ("X-Forwarded-Proto", "https"),
                                      ("X-Forwarded-Host", "spoofed.example")])
    got = resp.json()["headers"]
    expect_eq(one("X-Forwarded-For"), "127.0.0.1", "X-Forwarded-For replaced")
    expect_eq(one("X-Forwarded-Proto"), "http", "X-Forwarded-Proto sent by the client")
    expect_eq(one("X-Forwarded-Host"), "real.example", "X-Forwarded-Host sent by the client")


@suite.test(external_ok=True)
def hop_by_hop_not_forwarded(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs, workers=1))
    sent = [
        ("Connection", "foo, keep-alive"),
        ("Foo", "bar"),
        ("Keep-Alive", "timeout=5, max=100"),
        ("TE", "trailers"),
        ("Upgrade", "example/1"),          # no "upgrade" token: nothing to switch to
        ("Proxy-Connection", "keep-alive"),
        ("X-End-To-End", "kept"),
    ]
    resp = r.get("/headers", headers=sent)
    expect_eq(resp.status, 200, "status")
    got = resp.json()["headers"]
    lower = [k.lower() for k, _ in got]
    for hop in ("foo", "keep-alive", "te", "upgrade", "proxy-connection"):
        expect(hop not in lower, "hop-by-hop field %r reached the backend: %s", hop, got)
    for k, v in got:
        if k.lower() == "connection":
            expect("foo" not in v.lower(), "client's Connection: foo forwarded: %r", v)
    expect(("X-End-To-End", "kept") in [tuple(kv) for kv in got],
           "end-to-end field X-End-To-End lost: %s", got)


@suite.test
def server_header_hidden(ctx):
    bs = ctx.backends_n(2)
    r = ctx.rondo(lib.config(bs, workers=1, exposeServerHeader=False))
    lib.warm_up(r, [b.name for b in bs])
    for i in range(10):
        resp = r.get("/")
        expect_eq(resp.status, 200, "status")
        expect(resp.header("X-Forwarded-Server") is None,
               "X-Forwarded-Server present with exposeServerHeader false: %r",
               resp.header("X-Forwarded-Server"))
        expect(resp.header("X-Backend") in ("b1", "b2"), "X-Backend %r", resp.header("X-Backend"))


@suite.test
def configtest_good(ctx):
    conf = {"port": "127.0.0.1:%d" % lib.free_port(), "healthCheckInterval": "2s",
            "servers": ["http://127.0.0.1:%d" % lib.free_port(), "http://127.0.0.1:%d" % lib.free_port()]}
    rc, out, err = ctx.run_rondo(["-t", "-c", "good.json"], config=conf, name="good.json")
    expect_eq(rc, 0, "exit status of rondo -t on a good config (stderr %r)" % err.strip())


@suite.test
def configtest_bad(ctx):
    base = {"port": "127.0.0.1:%d" % lib.free_port(), "healthCheckInterval": "2s",
            "servers": ["http://127.0.0.1:%d" % lib.free_port()]}
    cases = [
        ("unknown key", dict(base, bogusKey=1), "bogusKey"),
        ("bad duration", dict(base, healthCheckInterval="soon"), "healthCheckInterval"),
        ("bad server URL", dict(base, servers=["ftp://127.0.0.1:1"]), "servers"),
        ("bad port", dict(base, port="127.0.0.1:99999"), "port"),
    ]
    for what, conf, key in cases:
        rc, out, err = ctx.run_rondo(["-t", "-c", "bad.json"], config=conf, name="bad.json")
        expect_eq(rc, 1, "exit status of rondo -t (%s)" % what)
        expect(key in err, "%s: stderr does not name %r: %r", what, key, err.strip())
    rc, out, err = ctx.run_rondo(["-t", "-c", "syntax.json"], config='{"port": ":80",',
                                 name="syntax.json")
    expect_eq(rc, 1, "exit status of rondo -t on broken JSON")
    expect("syntax.json" in err, "error on broken JSON does not name the file: %r", err.strip())
    rc, out, err = ctx.run_rondo(["-t", "-c", "missing.json"])
    expect_eq(rc, 1, "exit status of rondo -t on a missing file")
    expect("no configuration" not in err, "a hint for a file named with -c: %r", err)


@suite.test
def no_configuration_hint(ctx):
    # Without -c and without ./config.json, rondo says how to give a configuration.
    expect(not os.path.exists(os.path.join(ctx.tmpdir, "config.json")), "config.json in %s", ctx.tmpdir)
    hint = "rondo: no configuration: give one with -c FILE (see examples/config.json)"
    for args in ([], ["-t"]):
        rc, out, err = ctx.run_rondo(args)
        expect_eq(rc, 1, "exit status of rondo %s without config.json" % " ".join(args))
        expect("config.json: cannot read: No such file or directory" in err and hint in err,
               "rondo %s without config.json: %r", " ".join(args), err)


@suite.test
def version_and_usage(ctx):
    rc, out, err = ctx.run_rondo(["-V"])
    expect_eq(rc, 0, "exit status of rondo -V")
    expect(re.search(r"\d+\.\d+", out + err), "rondo -V printed no version: %r", out + err)
    rc, out, err = ctx.run_rondo(["-Z"])
    expect(rc != 0, "rondo -Z (unknown option) exited 0")
    expect("usage" in (out + err).lower(), "rondo -Z printed no usage: %r", out + err)
    rc, out, err = ctx.run_rondo(["-h"])
    expect_eq(rc, 0, "exit status of rondo -h")
    expect("usage" in (out + err).lower(), "rondo -h printed no usage: %r", out + err)


if __name__ == "__main__":
    suite.main()
