#!/usr/bin/env python3
"""TLS configuration through the real binary: `rondo -t` reads the
certificates (made here with the openssl command) and prints their names and
expiry, names each broken file and why, warns about one that expires soon;
a reload with a broken certificate keeps the running configuration. Skipped
when rondo was built without TLS or the openssl command is missing.
"""

import os
import shutil
import socket
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_tls_config")


def need_tls(ctx):
    if shutil.which("openssl") is None:
        raise lib.TestSkip("no openssl command")
    conf = {"port": 8080, "tls": {"backendCA": "/nonexistent"}, "servers": ["http://127.0.0.1:1"]}
    rc, out, err = ctx.run_rondo(["-t", "-c", "probe.json"], config=conf, name="probe.json")
    if "built without TLS" in err:
        raise lib.TestSkip("rondo was built without TLS")


def make_cert(ctx, name, names, days=30):
    """Self-signed ECDSA certificate NAME.pem and key NAME.key for the DNS names."""
    san = ",".join("DNS:" + n for n in names)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", name + ".key",
                    "-out", name + ".pem", "-days", str(days), "-subj", "/CN=" + names[0],
                    "-addext", "subjectAltName=" + san],
                   cwd=ctx.tmpdir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def tls_conf(certs, port=None):
    conf = {"tls": {"port": "127.0.0.1:%d" % lib.free_port(),
                    "certificates": [{"cert": c + ".pem", "key": k + ".key"} for c, k in certs]},
            "servers": ["http://127.0.0.1:%d" % lib.free_port()]}
    conf["port"] = port or "127.0.0.1:%d" % lib.free_port()
    return conf


@suite.test
def configtest_lists_certificates(ctx):
    need_tls(ctx)
    make_cert(ctx, "a", ["example.com", "*.example.com"])
    make_cert(ctx, "b", ["other.org"], days=5)
    rc, out, err = ctx.run_rondo(["-t", "-c", "t.json"], config=tls_conf([("a", "a"), ("b", "b")]),
                                 name="t.json")
    expect_eq(rc, 0, "exit status of rondo -t (stderr %r)" % err.strip())
    expect("tls.certificates[0]: a.pem (ECDSA): example.com, *.example.com; expires 20" in out,
           "first certificate not listed: %r", out)
    expect("tls.certificates[1]: b.pem (ECDSA): other.org; expires 20" in out,
           "second certificate not listed: %r", out)
    expect("warning: t.json: tls.certificates[1].cert: b.pem: expires on " in err and
           "in less than 14 days" in err, "no warning for a certificate expiring in 5 days: %r", err)
    expect("tls.certificates[0]" not in err, "a warning for the certificate valid 30 days: %r", err)


@suite.test
def configtest_names_bad_files(ctx):
    need_tls(ctx)
    make_cert(ctx, "a", ["example.com"])
    make_cert(ctx, "b", ["other.org"])
    with open(os.path.join(ctx.tmpdir, "junk.pem"), "w") as f:
        f.write("hello\n")
    cases = [
        ([("a", "a"), ("b", "a")], "t.json: tls.certificates[1].key: a.key: does not match the certificate b.pem"),
        ([("a", "a"), ("junk", "b")], "t.json: tls.certificates[1].cert: junk.pem: not a PEM file"),
        ([("missing", "a")], "t.json: tls.certificates[0].cert: missing.pem: cannot read: No such file"),
        ([("a", "a"), ("b", "junk")], "t.json: tls.certificates[1].key: junk.key: cannot read"),
        ([("a", "a"), ("a", "a")], None),
    ]
    for certs, says in cases:
        conf = tls_conf(certs)
        if says is not None and "junk.key" in says:
            shutil.copy(os.path.join(ctx.tmpdir, "junk.pem"), os.path.join(ctx.tmpdir, "junk.key"))
            says = "t.json: tls.certificates[1].key: junk.key: not a PEM file"
        rc, out, err = ctx.run_rondo(["-t", "-c", "t.json"], config=conf, name="t.json")
        if says is None:
            expect_eq(rc, 0, "exit status of rondo -t with %r (stderr %r)" % (certs, err.strip()))
            continue
        expect_eq(rc, 1, "exit status of rondo -t with %r" % (certs,))
        expect(says in err, "expected %r in %r", says, err)
        expect("configuration t.json is invalid" in err, "no verdict in %r", err)


@suite.test
def configtest_reports_directories_and_certificates(ctx):
    # Past the file itself, -t checks the directories it names and the TLS
    # files: one run shows the problems of both, not only the first found.
    need_tls(ctx)
    make_cert(ctx, "a", ["example.com"])
    conf = tls_conf([("missing", "a")])
    conf["accessLog"] = "nodir/access.log"
    conf["pidFile"] = "nodir2/rondo.pid"
    rc, out, err = ctx.run_rondo(["-t", "-c", "t.json"], config=conf, name="t.json")
    expect_eq(rc, 1, "exit status of rondo -t (stderr %r)" % err.strip())
    for says in ("t.json: accessLog: directory nodir: No such file or directory",
                 "t.json: pidFile: directory nodir2: No such file or directory",
                 "t.json: tls.certificates[0].cert: missing.pem: cannot read: No such file"):
        expect(says in err, "expected %r in %r", says, err)
    expect(err.rstrip().endswith("rondo: configuration t.json is invalid"), "no verdict last in %r", err)


@suite.test
def reload_with_broken_certificate_keeps_old(ctx):
    need_tls(ctx)
    make_cert(ctx, "a", ["example.com"])
    b = ctx.backend("b1")
    conf = tls_conf([("a", "a")])
    del conf["port"]                    # lib picks it (and knows it)
    conf["servers"] = [b.url]
    conf["healthCheckInterval"] = "200ms"
    conf["workers"] = 1
    r = ctx.rondo(conf)
    lib.warm_up(r, ["b1"])
    kids = r.children()
    with open(os.path.join(ctx.tmpdir, "a.pem"), "w") as f:
        f.write("broken\n")
    mark = r.mark()
    r.signal(signal.SIGHUP)
    r.wait_log(r"master: .*reload failed, keeping the running configuration: .*"
               r"tls\.certificates\[0\]\.cert: a\.pem: not a PEM file", 5 * lib.SLOW, since=mark)
    expect_eq(r.children(), kids, "children after a failed reload")
    expect_eq(r.get("/").status, 200, "status after the failed reload")


@suite.test
def tls_only_listener(ctx):
    import ssl
    need_tls(ctx)
    make_cert(ctx, "a", ["example.com"])
    b = ctx.backend("b1")
    conf = tls_conf([("a", "a")])
    conf["servers"] = [b.url]
    del conf["port"]
    rc, out, err = ctx.run_rondo(["-t", "-c", "t.json"], config=conf, name="t.json")
    expect_eq(rc, 0, "exit status of rondo -t on a TLS-only configuration (stderr %r)" % err.strip())
    expect("listen (none), tls 127.0.0.1:" in out, "rondo -t output: %r", out)
    tls_port = conf["tls"]["port"]
    r = lib.Rondo(ctx, conf, port=None)
    r.start = lambda wait_ready=True: None
    ctx.rondos.append(r)
    r.proc = lib.spawn([lib.RONDO_BIN, "-c", os.path.join(ctx.tmpdir, "t.json")],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, cwd=ctx.tmpdir)
    logf = open(r.log_path, "ab")
    lib.threading.Thread(target=r._reader, args=(r.proc.stdout, logf), daemon=True).start()
    m = r.wait_log(r"master: ready: listening on (\S+) \(TLS\)", 10 * lib.SLOW)
    expect_eq(m.group(1), tls_port, "the ready line names the TLS listener alone")
    cctx = ssl.create_default_context(cafile=os.path.join(ctx.tmpdir, "a.pem"))
    host, _, port = tls_port.rpartition(":")

    def answered():
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            with cctx.wrap_socket(raw, server_hostname="example.com") as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")
                data = b""
                while True:
                    d = s.recv(65536)
                    if not d:
                        break
                    data += d
        return data.startswith(b"HTTP/1.1 200") and b"hello from b1" in data
    lib.wait_until(answered, 10 * lib.SLOW, "a request over the TLS-only listener")


if __name__ == "__main__":
    suite.main()
