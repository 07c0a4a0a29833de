#!/usr/bin/env python3
"""Operating rondo: the access log (combined and JSON, reopened on SIGUSR1),
X-Request-Id, the pid file, and the admin listener (/status, /metrics,
draining a backend)."""

import datetime
import json
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_ops")

REQ_ID_RX = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
GENERATED_ID_RX = re.compile(r"^[0-9a-f]{24}$")


# ---------------------------------------------------------------------------
# Admin helpers
# ---------------------------------------------------------------------------

def admin_addr():
    return (lib.LOOPBACK, lib.free_port())


TOKEN = lib.ADMIN_TOKEN
admin_conf = lib.admin_conf
admin_request = lib.admin_request


def admin_status(addr):
    resp = admin_request(addr, "GET", "/status")
    expect_eq(resp.status, 200, "admin GET /status")
    ctype = resp.header("Content-Type", "")
    expect("json" in ctype, "admin /status Content-Type %r", ctype)
    try:
        return resp.json()
    except ValueError as e:
        raise lib.TestFailure("admin /status is not JSON (%s): %r" % (e, resp.body[:300]))


def backend_name(b):
    return "127.0.0.1:%d" % b.port


def status_backend(st, b):
    found = [x for x in st["backends"] if x.get("name") == backend_name(b)]
    expect(len(found) == 1, "backend %s in /status: %s", backend_name(b),
           [x.get("name") for x in st["backends"]])
    return found[0]


def wait_admin_up(addr, backends):
    """Waits until /status shows every backend checked and up: a warm-up that
    sends no request through rondo."""
    def ok():
        try:
            st = admin_status(addr)
        except (OSError, lib.TestFailure):
            return False
        return all(status_backend(st, b)["health"] == "up" and status_backend(st, b)["checked"]
                   for b in backends) and st
    return lib.wait_until(ok, 10 * lib.SLOW, "every backend up in /status")


METRIC_RX = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
LABEL_RX = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


METRIC_FAMILIES = (
    ("rondo_build_info", "gauge"), ("process_start_time_seconds", "gauge"),
    ("rondo_config_generation", "gauge"), ("rondo_config_last_reload_successful", "gauge"),
    ("rondo_config_last_reload_success_timestamp_seconds", "gauge"),
    ("rondo_backend_up", "gauge"), ("rondo_backend_drained", "gauge"),
    ("rondo_backend_requests_in_flight", "gauge"), ("rondo_backend_health_check_last_seconds", "gauge"),
    ("rondo_backend_requests_total", "counter"), ("rondo_backend_failures_total", "counter"),
    ("rondo_backend_health_checks_total", "counter"),
    ("rondo_backend_health_check_failures_total", "counter"),
    ("rondo_backend_health_check_seconds_total", "counter"),
    ("rondo_backend_responses_total", "counter"), ("rondo_backend_response_seconds", "histogram"),
    ("rondo_client_connections_open", "gauge"), ("rondo_client_connections_total", "counter"),
    ("rondo_proxied_requests_total", "counter"), ("rondo_local_responses_total", "counter"),
)


def admin_metrics(addr, token=None):
    resp = admin_request(addr, "GET", "/metrics", token=token)
    expect_eq(resp.status, 200, "admin GET /metrics")
    samples, types = parse_metrics(resp.body.decode("utf-8"))
    for fam, typ in METRIC_FAMILIES:
        expect_eq(types.get(fam), typ, "# TYPE of %s" % fam)
    return samples


def parse_metrics(text):
    """[(name, {label: value}, float)] of a Prometheus text exposition; fails
    on any line that is neither a comment nor a sample."""
    out = []
    types = {}
    for n, line in enumerate(text.split("\n")):
        if not line:
            continue
        if line.startswith("#"):
            parts = line.split(None, 3)
            if len(parts) >= 4 and parts[1] == "TYPE":
                types[parts[2]] = parts[3]
            continue
        m = METRIC_RX.match(line)
        expect(m, "metrics line %d does not parse: %r", n + 1, line)
        labels = {}
        raw = m.group(2) or ""
        pos = 0
        while pos < len(raw):
            lm = LABEL_RX.match(raw, pos)
            expect(lm and lm.end() > pos, "metrics line %d: bad labels %r", n + 1, raw)
            labels[lm.group(1)] = re.sub(r'\\(.)', lambda x: {"n": "\n"}.get(x.group(1), x.group(1)),
                                         lm.group(2))
            pos = lm.end()
        try:
            value = float(m.group(3))
        except ValueError:
            raise lib.TestFailure("metrics line %d: bad value %r" % (n + 1, line))
        out.append((m.group(1), labels, value))
    return out, types


def metric(samples, name, **labels):
    vals = [v for n, l, v in samples if n == name and all(l.get(k) == x for k, x in labels.items())]
    return vals


# ---------------------------------------------------------------------------
# Access log
# ---------------------------------------------------------------------------

COMBINED_RX = re.compile(
    r'^(?P<client>\S+) - - \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<target>\S+) (?P<protocol>[^"]+)" '
    r'(?P<status>\d+) (?P<bytes>\d+) "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)" '
    r'(?P<backend>\S+) (?P<upstream_time>\S+) (?P<total_time>\S+) (?P<request_id>\S+)$')


def unescape_combined(s):
    return re.sub(r'\\(x[0-9a-f]{2}|.)',
                  lambda m: chr(int(m.group(1)[1:], 16)) if len(m.group(1)) == 3 else m.group(1), s)


def parse_combined(line):
    """A combined line as the dict a JSON line would give."""
    m = COMBINED_RX.match(line)
    expect(m, "access log line does not parse as combined: %r", line)
    d = m.groupdict()
    try:
        t = datetime.datetime.strptime(d["time"], "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        raise lib.TestFailure("access log time %r is not dd/Mon/yyyy:HH:MM:SS +zzzz" % d["time"])
    out = {
        "epoch": t.timestamp(),
        "client": d["client"],
        "method": d["method"],
        "target": d["target"],
        "protocol": d["protocol"],
        "status": int(d["status"]),
        "bytes": int(d["bytes"]),
        "referer": None if d["referer"] == "-" else unescape_combined(d["referer"]),
        "agent": None if d["agent"] == "-" else unescape_combined(d["agent"]),
        "backend": None if d["backend"] == "-" else d["backend"],
        "upstream_time": None if d["upstream_time"] == "-" else float(d["upstream_time"]),
        "total_time": float(d["total_time"]),
        "request_id": d["request_id"],
    }
    return out


JSON_KEYS = {"time", "client", "method", "target", "protocol", "status", "bytes", "body_bytes",
             "referer", "agent", "backend", "upstream_time", "total_time", "request_id"}


def parse_json_line(line):
    try:
        d = json.loads(line)
    except ValueError as e:
        raise lib.TestFailure("access log line is not JSON (%s): %r" % (e, line))
    expect(isinstance(d, dict), "access log JSON line is not an object: %r", line)
    expect_eq(set(d), JSON_KEYS, "keys of a JSON access log line")
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)$", d["time"])
    expect(m, "JSON time %r is not ISO 8601", d["time"])
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    zone = m.group(3)
    if zone == "Z":
        tz = datetime.timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        hh, mm = int(zone[1:3]), int(zone[-2:])
        tz = datetime.timezone(sign * datetime.timedelta(hours=hh, minutes=mm))
    epoch = t.replace(tzinfo=tz).timestamp() + float(m.group(2) or 0)
    for k, typ in (("status", int), ("bytes", int), ("body_bytes", int), ("total_time", (int, float)),
                   ("client", str), ("method", str), ("target", str), ("protocol", str),
                   ("request_id", str), ("referer", str), ("agent", str)):
        expect(isinstance(d[k], typ) and not isinstance(d[k], bool),
               "JSON field %s has type %s: %r", k, type(d[k]).__name__, line)
    expect(d["backend"] is None or isinstance(d["backend"], str), "JSON backend %r", d["backend"])
    expect(d["upstream_time"] is None or isinstance(d["upstream_time"], (int, float)),
           "JSON upstream_time %r", d["upstream_time"])
    out = dict(d)
    out["epoch"] = epoch
    out["referer"] = d["referer"] or None
    out["agent"] = d["agent"] or None
    return out


def read_lines(path):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return []
    expect(not data or data.endswith(b"\n"), "access log %s ends inside a line: %r",
           path, data[-200:])
    return [l.decode("utf-8") for l in data.split(b"\n")[:-1]]


def wait_parsed(path, parse, keys):
    """{(method, target): [parsed line]} once every key has a line."""
    def ready():
        out = {}
        for line in read_lines(path):
            d = parse(line)
            out.setdefault((d["method"], d["target"]), []).append(d)
        return all(k in out for k in keys) and out
    return lib.wait_until(ready, 5 * lib.SLOW, lambda: "access log lines for %s in %s; have:\n%s" % (
        keys, path, "\n".join(read_lines(path))))


def exercise_access_log(ctx, fmt, explicit=True):
    bs = ctx.backends_n(1)
    path = os.path.join(ctx.tmpdir, "access.log")
    conf = lib.config(bs, accessLog=path)
    if explicit:
        conf["accessLogFormat"] = fmt
    r = ctx.rondo(conf)
    lib.warm_up(r, [b.name for b in bs])
    parse = parse_json_line if fmt == "json" else parse_combined

    agent = 'probe/1.0 (with "quotes" and \\ backslash)'
    cases = []      # (expected dict, response)
    t0 = time.time()

    # 1: GET with referer, agent and our own request id, on a keep-alive connection
    with r.client() as c:
        resp = c.request("GET", "/headers?x=1", headers=[
            ("Referer", "http://ref.example/page"), ("User-Agent", agent),
            ("X-Request-Id", "ops-log-1")])
        cases.append(({"method": "GET", "target": "/headers?x=1", "protocol": "HTTP/1.1",
                       "referer": "http://ref.example/page", "agent": agent,
                       "request_id": "ops-log-1"}, resp))
        # 2: a 404 from the backend, on the same connection, no id: one is made
        resp = c.request("GET", "/status?code=404", headers=[("User-Agent", "second")])
        cases.append(({"method": "GET", "target": "/status?code=404", "protocol": "HTTP/1.1",
                       "referer": None, "agent": "second", "request_id": None}, resp))
    # 3: POST with a body
    body = b"0123456789" * 50
    resp = r.get("/echo", method="POST", body=body, headers=[("X-Request-Id", "ops-log-3")])
    cases.append(({"method": "POST", "target": "/echo", "protocol": "HTTP/1.1", "referer": None,
                   "agent": None, "request_id": "ops-log-3"}, resp))
    # 4: HTTP/1.0, a slow backend answer (upstream time >= 0.2 s)
    with r.client() as c:
        resp = c.request("GET", "/delay?ms=200", version="HTTP/1.0",
                         headers=[("X-Request-Id", "ops-log-4")])
    cases.append(({"method": "GET", "target": "/delay?ms=200", "protocol": "HTTP/1.0",
                   "referer": None, "agent": None, "request_id": "ops-log-4", "slow": 0.2}, resp))
    # 5: HEAD
    resp = r.get("/", method="HEAD", headers=[("X-Request-Id", "ops-log-5")])
    cases.append(({"method": "HEAD", "target": "/", "protocol": "HTTP/1.1", "referer": None,
                   "agent": None, "request_id": "ops-log-5"}, resp))
    # 6: /headers without an id: the generated one must be the one the backend got
    resp = r.get("/headers")
    got_id = [v for k, v in resp.json()["headers"] if k.lower() == "x-request-id"]
    expect(len(got_id) == 1, "backend got X-Request-Id %r", got_id)
    cases.append(({"method": "GET", "target": "/headers", "protocol": "HTTP/1.1", "referer": None,
                   "agent": None, "request_id": got_id[0]}, resp))
    t1 = time.time()

    for exp, resp in cases:
        expect(resp.framing in ("length", "none"), "response framing %s (%r)", resp.framing, exp)

    # Each worker writes its own lines: match them to the requests by method
    # and target (all different here), not by order.
    by_key = wait_parsed(path, parse, [(e["method"], e["target"]) for e, _ in cases])
    for i, (exp, resp) in enumerate(cases):
        got = by_key[(exp["method"], exp["target"])]
        what = "line of request %d (%s %s)" % (i + 1, exp["method"], exp["target"])
        expect_eq(len(got), 1, what + ": lines")
        got = got[0]
        expect_eq(got["client"], "127.0.0.1", what + ": client")
        expect(t0 - 2 <= got["epoch"] <= t1 + 2, "%s: time %s is not between %s and %s",
               what, got["epoch"], t0, t1)
        for k in ("method", "target", "protocol", "referer", "agent"):
            expect_eq(got[k], exp[k], what + ": " + k)
        expect_eq(got["status"], resp.status, what + ": status")
        expect_bytes(fmt, got, resp, what)
        expect_eq(got["backend"], bs[0].url, what + ": backend")
        expect(got["upstream_time"] is not None and got["upstream_time"] >= 0,
               "%s: upstream_time %r", what, got["upstream_time"])
        expect(got["total_time"] >= got["upstream_time"] - 0.0015,
               "%s: total_time %r < upstream_time %r", what, got["total_time"], got["upstream_time"])
        expect(got["total_time"] < 5, "%s: total_time %r", what, got["total_time"])
        if exp.get("slow"):
            expect(got["upstream_time"] >= exp["slow"] - 0.002,
                   "%s: upstream_time %r for a backend taking %.1fs", what, got["upstream_time"], exp["slow"])
        if exp["request_id"] is None:
            expect(GENERATED_ID_RX.match(got["request_id"]), "%s: generated request id %r",
                   what, got["request_id"])
        else:
            expect_eq(got["request_id"], exp["request_id"], what + ": request_id")

    # A request rondo answers itself: no backend, no upstream time; its
    # request line, complete, is logged as received.
    with r.client() as c:
        c.send(b"GET /bad-header?y=2 HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n")
        resp = c.read_response()
    expect_eq(resp.status, 400, "status of a malformed request")
    lines = lib.wait_until(lambda: [p for p in map(parse, read_lines(path)) if p["status"] == 400],
                           5 * lib.SLOW, "the malformed request's line")
    expect_eq(len(lines), 1, "lines with status 400")
    got = lines[0]
    line = got
    expect_eq(got["status"], 400, "malformed request's line: status (%r)" % line)
    expect_eq(got["backend"], None, "malformed request's line: backend (%r)" % line)
    expect_eq(got["upstream_time"], None, "malformed request's line: upstream_time (%r)" % line)
    expect_bytes(fmt, got, resp, "malformed request's line")
    for k, v in (("method", "GET"), ("target", "/bad-header?y=2"), ("protocol", "HTTP/1.1")):
        expect_eq(got[k], v, "malformed request's line: %s (%r)" % (k, line))
    return r, path


def expect_bytes(fmt, got, resp, what):
    """combined: the body's bytes, as the format defines them; json: "bytes"
    is the whole response, "body_bytes" its body."""
    if fmt == "json":
        expect_eq(got["bytes"], len(resp.raw_head) + resp.body_len,
                  what + ": bytes (response head %d + body %d)" % (len(resp.raw_head), resp.body_len))
        expect_eq(got["body_bytes"], resp.body_len, what + ": body_bytes")
    else:
        expect_eq(got["bytes"], resp.body_len, what + ": bytes (the body's)")


@suite.test
def access_log_combined(ctx):
    exercise_access_log(ctx, "combined", explicit=False)


@suite.test
def access_log_combined_explicit(ctx):
    # "combined" is the default; naming it gives the same lines
    exercise_access_log(ctx, "combined")


@suite.test
def access_log_json(ctx):
    exercise_access_log(ctx, "json")


@suite.test
def access_log_json_long_fields_cut(ctx):
    """Lines have a size limit: long fields are cut with "...", never the record."""
    bs = ctx.backends_n(1)
    path = os.path.join(ctx.tmpdir, "access.log")
    r = ctx.rondo(lib.config(bs, accessLog=path, accessLogFormat="json",
                              limits={"headerSize": 14336, "uriSize": 8192}))
    lib.warm_up(r, [b.name for b in bs])
    target = "/long?" + "u" * 6000 + "end"
    agent = "agent-" + "\u00e9\"\\" * 300 + "z" * 1500     # escaped: 6, 2 and 2 bytes each
    resp = r.get(target, headers=[("User-Agent", agent), ("Referer", "r" * 1500),
                                  ("X-Request-Id", "ops-long-1")])
    expect_eq(resp.status, 200, "status of the long request")

    def line_of_long():
        for line in read_lines(path):
            d = parse_json_line(line)       # every line parses
            if d["request_id"] == "ops-long-1":
                return line, d
        return None
    line, d = lib.wait_until(line_of_long, 5 * lib.SLOW, "the long request's line")
    expect(len(line.encode()) < 4096, "line of %d bytes", len(line.encode()))
    for k, full in (("target", target), ("agent", agent), ("referer", "r" * 1500)):
        expect(d[k].endswith("...") and full.startswith(d[k][:-3]),
               "%s not cut with \"...\" at the end of a prefix: %r", k, d[k][-40:])
    expect_eq((d["method"], d["protocol"], d["status"]), ("GET", "HTTP/1.1", 200),
              "fields after the long ones")


@suite.test
def access_log_rejected_requests(ctx):
    """A 431 after a request with Referer and User-Agent on the same
    connection shows neither, and the request line it had."""
    bs = ctx.backends_n(1)
    path = os.path.join(ctx.tmpdir, "access.log")
    r = ctx.rondo(lib.config(bs, workers=1, accessLog=path, accessLogFormat="json",
                              limits={"headerSize": 14336}))
    lib.warm_up(r, [b.name for b in bs])
    with r.client() as c:
        resp = c.request("GET", "/first", headers=[("Referer", "http://ref.example/first"),
                                                    ("User-Agent", "first-agent")])
        expect_eq(resp.status, 200, "first request")
        # Fits headerSize, but not once X-Forwarded-Host repeats the long Host.
        big = lib.build_request("GET", "/second", headers=[("X-Pad", "p" * 6000)],
                                host="h" * 7000)
        c.send(big)
        resp = c.read_response()
        expect_eq(resp.status, 431, "request whose rewritten head does not fit")
    lines = lib.wait_until(lambda: [d for d in map(parse_json_line, read_lines(path))
                                    if d["status"] == 431], 5 * lib.SLOW, "the 431's line")
    d = lines[0]
    expect_eq((d["method"], d["target"], d["protocol"]), ("GET", "/second", "HTTP/1.1"),
              "request line of the 431")
    expect_eq((d["referer"], d["agent"]), (None, None), "referer and agent of the 431")
    expect_eq(d["body_bytes"], resp.body_len, "body bytes of the 431")


@suite.test
def access_log_request_head_timeout(ctx):
    """A head that never ends gets a 408 and a log line with what came of it."""
    bs = ctx.backends_n(1)
    path = os.path.join(ctx.tmpdir, "access.log")
    r = ctx.rondo(lib.config(bs, workers=1, accessLog=path, accessLogFormat="json",
                              timeouts={"clientHeader": "1s"}))
    lib.warm_up(r, [b.name for b in bs])
    with r.client() as c:
        c.send(b"GET /never-ends HTTP/1.1\r\nHost: x\r\nX-Half: ")
        resp = c.read_response()
        expect_eq(resp.status, 408, "a head that stops halfway")
    lines = lib.wait_until(lambda: [d for d in map(parse_json_line, read_lines(path))
                                    if d["status"] == 408], 5 * lib.SLOW, "the 408's line")
    d = lines[0]
    expect_eq((d["method"], d["target"], d["protocol"]), ("GET", "/never-ends", "HTTP/1.1"),
              "request line of the 408")


@suite.test
def access_log_reopen_on_sigusr1(ctx):
    bs = ctx.backends_n(2)
    path = os.path.join(ctx.tmpdir, "access.log")
    r = ctx.rondo(lib.config(bs, accessLog=path, accessLogFormat="json"))
    lib.warm_up(r, [b.name for b in bs])
    before = ["rot-a-%d" % i for i in range(20)]
    for rid in before:
        expect_eq(r.get("/", headers=[("X-Request-Id", rid)]).status, 200, "request " + rid)
    lib.wait_until(lambda: set(before) <= {json.loads(l)["request_id"] for l in read_lines(path)},
                   5 * lib.SLOW, "the first 20 lines")
    rotated = path + ".1"
    os.rename(path, rotated)
    mark = r.mark()
    r.signal(signal.SIGUSR1)
    r.wait_log(r"reopening log files", 5 * lib.SLOW, since=mark)
    # Every worker creates the file again and closes the old one.
    lib.wait_until(lambda: os.path.exists(path), 5 * lib.SLOW, "a new access log at " + path)
    lib.wait_until(lambda: not lib.holding_open(r.children(), rotated), 5 * lib.SLOW,
                   lambda: "workers closing the rotated log (still open in %s)"
                   % lib.holding_open(r.children(), rotated))
    after = ["rot-b-%d" % i for i in range(20)]
    for rid in after:
        expect_eq(r.get("/", headers=[("X-Request-Id", rid)]).status, 200, "request " + rid)
    lib.wait_until(lambda: set(after) <= {json.loads(l)["request_id"] for l in read_lines(path)},
                   5 * lib.SLOW, lambda: "the 20 lines after the rotation in the new file (it has %d)"
                   % len(read_lines(path)))
    old_ids = [json.loads(l)["request_id"] for l in read_lines(rotated)]
    new_ids = [json.loads(l)["request_id"] for l in read_lines(path)]
    expect(not set(after) & set(old_ids), "requests after the reopen written to the rotated file: %s",
           sorted(set(after) & set(old_ids)))
    expect(not set(before) & set(new_ids), "requests before the rotation in the new file: %s",
           sorted(set(before) & set(new_ids)))
    for rid in before + after:
        expect_eq(old_ids.count(rid) + new_ids.count(rid), 1, "lines for request " + rid)
    expect(r.find_log(r"reopening the access log", since=mark) is None,
           "a worker failed to reopen: %s" % r.find_log(r"reopening the access log", since=mark))


# ---------------------------------------------------------------------------
# X-Request-Id
# ---------------------------------------------------------------------------

def received_ids(resp):
    expect_eq(resp.status, 200, "status of /headers")
    return [v for k, v in resp.json()["headers"] if k.lower() == "x-request-id"]


@suite.test
def request_id_kept_replaced_generated(ctx):
    bs = ctx.backends_n(1)
    r = ctx.rondo(lib.config(bs))
    lib.warm_up(r, [b.name for b in bs])
    valid = ["abc", "A-Z_a.z:0-9", "x" * 64, "0", "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"]
    for v in valid:
        ids = received_ids(r.get("/headers", headers=[("X-Request-Id", v)]))
        expect_eq(ids, [v], "X-Request-Id received for the valid %r" % v)
    invalid = ["has space", "x" * 65, "y" * 100, "semi;colon", "slash/es", "quote\"d", "caf\xe9",
               "tab\there"]
    for v in invalid:
        ids = received_ids(r.get("/headers", headers=[("X-Request-Id", v)]))
        expect(len(ids) == 1 and GENERATED_ID_RX.match(ids[0]),
               "X-Request-Id %r from the client: backend got %r, expected one new 24-hex id", v, ids)
    # two ids from the client: one reaches the backend
    ids = received_ids(r.get("/headers", headers=[("X-Request-Id", "first-id"),
                                                  ("X-Request-Id", "second-id")]))
    expect_eq(ids, ["first-id"], "X-Request-Id received for two valid ids")
    ids = received_ids(r.get("/headers", headers=[("X-Request-Id", "bad id"),
                                                  ("X-Request-Id", "good-id")]))
    expect_eq(ids, ["good-id"], "X-Request-Id received for an invalid then a valid id")
    # an empty value is not an id
    ids = received_ids(r.get("/headers", headers=[("X-Request-Id", "")]))
    expect(len(ids) == 1 and GENERATED_ID_RX.match(ids[0]), "empty X-Request-Id: backend got %r", ids)


@suite.test
def request_id_generated_unique(ctx):
    bs = ctx.backends_n(2)
    r = ctx.rondo(lib.config(bs, workers=2))
    lib.warm_up(r, [b.name for b in bs])
    seen = {}
    n = 0
    # 100 on fresh connections (both workers), 100 over 4 keep-alive connections
    for i in range(100):
        ids = received_ids(r.get("/headers"))
        expect(len(ids) == 1 and GENERATED_ID_RX.match(ids[0]), "request %d: ids %r", i, ids)
        seen.setdefault(ids[0], []).append(i)
        n += 1
    clients = [r.client() for _ in range(4)]
    try:
        for i in range(100):
            ids = received_ids(clients[i % 4].request("GET", "/headers"))
            expect(len(ids) == 1 and GENERATED_ID_RX.match(ids[0]), "keep-alive request %d: ids %r",
                   i, ids)
            seen.setdefault(ids[0], []).append(100 + i)
            n += 1
    finally:
        for c in clients:
            c.close()
    dups = {k: v for k, v in seen.items() if len(v) > 1}
    expect(not dups, "request ids given to more than one request: %s", list(dups.items())[:5])
    expect_eq(len(seen), n, "distinct request ids")


# ---------------------------------------------------------------------------
# pid file
# ---------------------------------------------------------------------------

def pid_file_run(ctx, bs, path, reload, sig):
    r = ctx.rondo(lib.config(bs, pidFile=path))
    what = "%s%s" % ("reload, then " if reload else "", sig.name)
    expect(os.path.exists(path), "no pid file at %s once ready", path)
    with open(path) as f:
        text = f.read()
    expect(re.match(r"^\d+\n?$", text), "pid file content %r", text)
    expect_eq(int(text), r.pid, "pid in the pid file")
    if reload:
        mark = r.mark()
        r.signal(signal.SIGHUP)
        r.wait_log(r"master: reload done", 5 * lib.SLOW, since=mark)
        r.wait_log(r"master: generation \d+ finished", 5 * lib.SLOW, since=mark)
        with open(path) as f:
            expect_eq(int(f.read()), r.pid, "pid in the pid file after a reload")
    r.signal(sig)
    expect_eq(r.wait_exit(10 * lib.SLOW), 0, "exit status after %s" % what)
    lib.wait_until(lambda: r.done, 5 * lib.SLOW, "the end of rondo's output")
    expect(not os.path.exists(path), "pid file %s left behind after %s (master exited 0)", path, what)


@suite.test
def pid_file_written_and_removed(ctx):
    bs = ctx.backends_n(1)
    path = os.path.join(ctx.tmpdir, "run", "rondo.pid")
    os.makedirs(os.path.dirname(path))
    pid_file_run(ctx, bs, path, False, signal.SIGTERM)
    pid_file_run(ctx, bs, path, False, signal.SIGQUIT)


@suite.test
def pid_file_removed_after_reload(ctx):
    bs = ctx.backends_n(1)
    path = os.path.join(ctx.tmpdir, "rondo.pid")
    pid_file_run(ctx, bs, path, True, signal.SIGTERM)


# ---------------------------------------------------------------------------
# Admin: /status, /metrics, drain
# ---------------------------------------------------------------------------

@suite.test
def admin_status_and_metrics_count(ctx):
    bs = ctx.backends_n(2)
    aaddr = admin_addr()
    r = ctx.rondo(lib.config(bs, workers=2, admin=admin_conf(aaddr)))
    st = wait_admin_up(aaddr, bs)

    # Shape, before any request
    for k, typ in (("version", str), ("uptime_seconds", (int, float)), ("generation", int),
                   ("listen", (str, list)), ("backends", list), ("workers", list)):
        expect(k in st and isinstance(st[k], typ), "/status %s: %r", k, st.get(k))
    expect(st["version"], "/status version is empty")
    expect(st["uptime_seconds"] >= 0, "/status uptime_seconds %r", st["uptime_seconds"])
    expect(str(r.port) in json.dumps(st["listen"]), "/status listen %r does not name port %d",
           st["listen"], r.port)
    expect_eq(len(st["backends"]), 2, "backends in /status")
    expect_eq(len(st["workers"]), 2, "workers in /status")
    for b in bs:
        sb = status_backend(st, b)
        expect_eq(sb["url"], b.url, "url of %s" % b.name)
        expect_eq(sb["state"], "ready", "state of %s" % b.name)
        expect_eq(sb["requests"], 0, "requests of %s before any request" % b.name)
        expect_eq(sb["active"], 0, "active of %s" % b.name)
        expect_eq(sb["failures"], 0, "failures of %s" % b.name)
        expect(isinstance(sb["checks"], int) and sb["checks"] >= 1, "checks of %s: %r", b.name, sb["checks"])
        expect(isinstance(sb["last_check_ms"], (int, float)) and sb["last_check_ms"] >= 0,
               "last_check_ms of %s: %r", b.name, sb["last_check_ms"])
        expect_eq(sorted(sb["responses"]), ["1xx", "2xx", "3xx", "4xx", "5xx"],
                  "response classes of %s" % b.name)
        expect_eq(sum(sb["responses"].values()), 0, "responses of %s before any request" % b.name)
    expect_eq(sorted(w["id"] for w in st["workers"]), [1, 2], "worker ids")

    # Exactly counted traffic: 30 x 200 on fresh connections, 10 x 404 on one
    # keep-alive connection.
    per_backend = {b.name: {"2xx": 0, "4xx": 0} for b in bs}
    for i in range(30):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d" % i)
        per_backend[resp.header("X-Backend")]["2xx"] += 1
    with r.client() as c:
        for i in range(10):
            resp = c.request("GET", "/status?code=404")
            expect_eq(resp.status, 404, "keep-alive request %d" % i)
            per_backend[resp.header("X-Backend")]["4xx"] += 1
    sent, connections = 40, 31

    def settled():
        s = admin_status(aaddr)
        return sum(w["connections"] for w in s["workers"]) == 0 and \
            all(x["active"] == 0 for x in s["backends"]) and s
    st = lib.wait_until(settled, 5 * lib.SLOW, "no connection left open in /status")
    total = 0
    for b in bs:
        sb = status_backend(st, b)
        want = per_backend[b.name]
        expect_eq(sb["requests"], want["2xx"] + want["4xx"], "requests of %s in /status" % b.name)
        expect_eq(sb["responses"], {"1xx": 0, "2xx": want["2xx"], "3xx": 0, "4xx": want["4xx"],
                                    "5xx": 0}, "responses of %s in /status" % b.name)
        expect_eq(sb["failures"], 0, "failures of %s" % b.name)
        expect_eq(sb["health"], "up", "health of %s" % b.name)
        total += sb["requests"]
    expect_eq(total, sent, "sum of the backends' requests in /status")
    expect_eq(sum(w["requests"] for w in st["workers"]), sent, "sum of the workers' requests")
    expect_eq(sum(w["accepted"] for w in st["workers"]), connections, "sum of the workers' accepted")
    # (Which worker takes a connection is the kernel's choice: one after the
    # other, they may all go to the same worker; only the sums are fixed.)

    # /metrics agrees
    resp = admin_request(aaddr, "GET", "/metrics")
    expect_eq(resp.status, 200, "admin GET /metrics")
    expect(resp.header("Content-Type", "").startswith("text/plain"),
           "/metrics Content-Type %r", resp.header("Content-Type"))
    samples, types = parse_metrics(resp.body.decode("utf-8"))
    names = {n for n, _, _ in samples}
    for fam, typ in METRIC_FAMILIES:
        expect_eq(types.get(fam), typ, "# TYPE of %s" % fam)
        want = [fam + x for x in ("_bucket", "_sum", "_count")] if typ == "histogram" else [fam]
        for name in want:
            expect(name in names, "metric %s missing (have %s)", name, sorted(names))
    expect_eq(metric(samples, "rondo_build_info"), [1.0], "rondo_build_info")
    expect_eq([l for n, l, v in samples if n == "rondo_build_info"], [{"version": st["version"]}],
              "rondo_build_info labels")
    start = metric(samples, "process_start_time_seconds")
    expect(len(start) == 1 and time.time() - 120 < start[0] <= time.time(), "process_start_time_seconds %r",
           start)
    expect_eq(metric(samples, "rondo_config_generation"), [1.0], "rondo_config_generation")
    expect_eq(metric(samples, "rondo_config_last_reload_successful"), [1.0],
              "rondo_config_last_reload_successful")
    expect_eq(metric(samples, "rondo_proxied_requests_total"), [float(sent)], "rondo_proxied_requests_total")
    expect_eq(sum(metric(samples, "rondo_local_responses_total")), 0.0, "rondo_local_responses_total")
    ok_total = sum(v for n, l, v in samples if n == "rondo_backend_responses_total" and l.get("code") == "2xx")
    expect_eq(ok_total, 30, "rondo_backend_responses_total summed over code=\"2xx\"")
    all_total = sum(v for n, l, v in samples if n == "rondo_backend_responses_total")
    expect_eq(all_total, sent, "rondo_backend_responses_total summed over every code")
    for b in bs:
        want = per_backend[b.name]
        expect_eq(metric(samples, "rondo_backend_up", backend=b.url), [1.0], "rondo_backend_up of " + b.url)
        expect_eq(metric(samples, "rondo_backend_requests_in_flight", backend=b.url), [0.0],
                  "rondo_backend_requests_in_flight of " + b.url)
        expect_eq(metric(samples, "rondo_backend_drained", backend=b.url), [0.0],
                  "rondo_backend_drained of " + b.url)
        expect_eq(metric(samples, "rondo_backend_requests_total", backend=b.url),
                  [float(want["2xx"] + want["4xx"])], "rondo_backend_requests_total of " + b.url)
        checks = metric(samples, "rondo_backend_health_checks_total", backend=b.url)
        expect(len(checks) == 1 and checks[0] >= 1, "rondo_backend_health_checks_total of %s: %r",
               b.url, checks)
        expect_eq(metric(samples, "rondo_backend_health_check_failures_total", backend=b.url), [0.0],
                  "rondo_backend_health_check_failures_total of " + b.url)
        expect_eq(metric(samples, "rondo_backend_failures_total", backend=b.url), [0.0],
                  "rondo_backend_failures_total of " + b.url)
        expect_eq(metric(samples, "rondo_backend_responses_total", backend=b.url, code="2xx"),
                  [float(want["2xx"])], "rondo_backend_responses_total 2xx of " + b.url)
        expect_eq(metric(samples, "rondo_backend_responses_total", backend=b.url, code="4xx"),
                  [float(want["4xx"])], "rondo_backend_responses_total 4xx of " + b.url)
        buckets = [(l["le"], v) for n, l, v in samples
                   if n == "rondo_backend_response_seconds_bucket" and l.get("backend") == b.url]
        expect(buckets and buckets[-1][0] == "+Inf", "buckets of %s: %s", b.url, buckets)
        values = [v for _, v in buckets]
        expect(values == sorted(values), "buckets of %s not cumulative: %s", b.url, buckets)
        les = [float(le) for le, _ in buckets[:-1]]
        expect(les == sorted(les) and len(set(les)) == len(les), "le of %s: %s", b.url, les)
        count = metric(samples, "rondo_backend_response_seconds_count", backend=b.url)
        expect_eq(count, [values[-1]], "_count vs +Inf bucket of " + b.url)
        expect_eq(count, [float(want["2xx"] + want["4xx"])], "rondo_backend_response_seconds_count of " + b.url)
        ssum = metric(samples, "rondo_backend_response_seconds_sum", backend=b.url)
        expect(len(ssum) == 1 and 0 <= ssum[0] < 5 * count[0], "_sum of %s: %r", b.url, ssum)
    expect_eq(metric(samples, "rondo_client_connections_total"), [float(connections)],
              "rondo_client_connections_total")
    expect_eq(sorted(l.get("worker") for n, l, v in samples if n == "rondo_client_connections_open"),
              ["1", "2"], "workers of rondo_client_connections_open")
    expect_eq(sum(v for n, l, v in samples if n == "rondo_client_connections_open"), 0.0,
              "rondo_client_connections_open summed, nothing open")
    # one kind per family, classes labelled code="Nxx" wherever they are
    for n, l, v in samples:
        if "code" in l:
            expect(re.match(r"^[1-5]xx$", l["code"]), "%s code label %r", n, l["code"])
    expect_eq(st["accepted"], connections, "accepted in /status")
    expect_eq(st["requests"], sent, "requests in /status")
    expect_eq(st["local_responses"], {"1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 0},
              "local_responses in /status")


@suite.test
def admin_errors(ctx):
    bs = ctx.backends_n(1)
    aaddr = admin_addr()
    ctx.rondo(lib.config(bs, admin=admin_conf(aaddr)))
    wait_admin_up(aaddr, bs)
    name = backend_name(bs[0])
    for method, path, want in (
            ("GET", "/backends/%s/drain" % name, 405),
            ("GET", "/backends/%s/ready" % name, 405),
            ("POST", "/backends/127.0.0.1:1/drain", 404),
            ("POST", "/backends/nonsense/ready", 404),
            ("POST", "/backends/%s/explode" % name, 404),
            ("GET", "/nothing-here", 404),
            ("POST", "/status", 405),
            ("PUT", "/metrics", 405),
            ("DELETE", "/backends/%s/drain" % name, 405)):
        resp = admin_request(aaddr, method, path, token=TOKEN)
        expect_eq(resp.status, want, "admin %s %s" % (method, path))
        if want == 405:
            expect_eq(resp.header("Allow"), "POST" if "/backends/" in path else "GET",
                      "Allow of %s %s" % (method, path))
    st = admin_status(aaddr)
    expect_eq(status_backend(st, bs[0])["state"], "ready", "state after refused actions")


@suite.test
def admin_drain_and_ready(ctx):
    bs = ctx.backends_n(2)
    aaddr = admin_addr()
    r = ctx.rondo(lib.config(bs, workers=2, admin=admin_conf(aaddr)))
    lib.warm_up(r, [b.name for b in bs])
    a, b = bs
    mark = r.mark()
    resp = admin_request(aaddr, "POST", "/backends/%s/drain" % backend_name(a), token=TOKEN)
    expect_eq(resp.status, 200, "POST drain")
    st = admin_status(aaddr)
    expect_eq(status_backend(st, a)["state"], "drain", "state of the drained backend")
    expect_eq(status_backend(st, b)["state"], "ready", "state of the other backend")
    expect_eq(status_backend(st, a)["health"], "up", "health of the drained backend")
    before = status_backend(st, a)["requests"]
    r.wait_log(r"admin: backend %s set to drain" % re.escape(a.url), 5 * lib.SLOW, since=mark)
    for i in range(20):
        resp = r.get("/")
        expect_eq((resp.status, resp.header("X-Backend")), (200, b.name), "request %d while draining" % i)
    # keep-alive too
    with r.client() as c:
        for i in range(5):
            resp = c.request("GET", "/")
            expect_eq((resp.status, resp.header("X-Backend")), (200, b.name),
                      "keep-alive request %d while draining" % i)
    st = admin_status(aaddr)
    expect_eq(status_backend(st, a)["requests"], before, "requests of the drained backend")

    resp = admin_request(aaddr, "POST", "/backends/%s/ready" % backend_name(a), token=TOKEN)
    expect_eq(resp.status, 200, "POST ready")
    expect_eq(status_backend(admin_status(aaddr), a)["state"], "ready", "state after ready")
    seen = {}
    for i in range(20):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d after ready" % i)
        seen[resp.header("X-Backend")] = seen.get(resp.header("X-Backend"), 0) + 1
    expect_eq(sorted(seen), [a.name, b.name], "backends answering after ready (%s)" % seen)
    expect(min(seen.values()) >= 5, "uneven split after ready: %s", seen)



# ---------------------------------------------------------------------------
# Startup: whatever the configuration asks for is set up, or rondo exits 1
# ---------------------------------------------------------------------------

def wait_reaped(pid, timeout):
    """Waits for pid (re-parented to us, the subreaper) to exit; True once reaped."""
    def gone():
        try:
            got, _ = os.waitpid(pid, os.WNOHANG)
            return got == pid
        except ChildProcessError:
            return not os.path.exists("/proc/%d" % pid)
    try:
        return lib.wait_until(gone, timeout, "pid %d to exit" % pid)
    except lib.TestFailure:
        return False


def run_daemon(ctx, conf):
    """rondo -D: (exit status, stderr so far); its output goes to a file,
    since the daemon keeps it open after the command returned."""
    import subprocess
    with open(os.path.join(ctx.tmpdir, "config.json"), "w") as f:
        json.dump(conf, f)
    errpath = os.path.join(ctx.tmpdir, "daemon.err")
    with open(errpath, "wb") as err:
        p = lib.spawn([lib.RONDO_BIN, "-D", "-c", "config.json"], stdin=subprocess.DEVNULL,
                      stdout=err, stderr=err, cwd=ctx.tmpdir)
    try:
        rc = p.wait(timeout=10 * lib.SLOW)
    except subprocess.TimeoutExpired:
        raise lib.TestFailure("rondo -D did not return within %.0fs" % (10 * lib.SLOW))
    with open(errpath) as f:
        return rc, f.read()


@suite.test
def daemon_reports_startup_failure(ctx):
    # -D returns once rondo is ready: 1 when the port is taken, 0 and a
    # running daemon (the pid in the pid file) otherwise.
    import socket
    bs = ctx.backends_n(1)
    taken = socket.socket()
    taken.bind((lib.LOOPBACK, 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    conf = lib.config(bs, port="%s:%d" % (lib.LOOPBACK, port))
    rc, err = run_daemon(ctx, conf)
    taken.close()
    expect_eq(rc, 1, "exit status of -D with the port taken (stderr %r)" % err)
    expect("in use" in err, "no reason on stderr: %r", err)

    pidfile = os.path.join(ctx.tmpdir, "d.pid")
    conf = lib.config(bs, port="%s:%d" % (lib.LOOPBACK, lib.free_port()), pidFile=pidfile)
    rc, err = run_daemon(ctx, conf)
    expect_eq(rc, 0, "exit status of -D (stderr %r)" % err)
    with open(pidfile) as f:
        pid = int(f.read())
    try:
        expect("master: ready" in err, "-D returned before ready: %r", err)
        resp = lib.http_get((lib.LOOPBACK, int(conf["port"].rsplit(":", 1)[1])))
        expect_eq(resp.status, 200, "request to the daemon")
    finally:
        os.kill(pid, signal.SIGTERM)
        expect(wait_reaped(pid, 10 * lib.SLOW), "the daemon did not stop on SIGTERM")
    expect(not os.path.exists(pidfile), "pid file left behind")


@suite.test
def admin_port_in_use_is_fatal(ctx):
    import socket
    bs = ctx.backends_n(1)
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind((lib.LOOPBACK, 0))
    taken.listen(1)
    try:
        conf = lib.config(bs, port="%s:%d" % (lib.LOOPBACK, lib.free_port()),
                           admin=admin_conf(taken.getsockname()))
        rc, out, err = ctx.run_rondo(["-c", "config.json"], config=conf, timeout=5)
    finally:
        taken.close()
    expect_eq(rc, 1, "exit status with the admin port taken (stderr %r)" % err)
    expect(re.search(r"admin listener on .*in use", err), "no reason on stderr: %r", err)


@suite.test
def access_log_that_cannot_open_is_fatal(ctx):
    bs = ctx.backends_n(1)
    path = os.path.join(ctx.tmpdir, "no-such-dir", "access.log")
    conf = lib.config(bs, port="%s:%d" % (lib.LOOPBACK, lib.free_port()), accessLog=path)
    rc, out, err = ctx.run_rondo(["-t", "-c", "config.json"], config=conf)
    expect_eq(rc, 1, "rondo -t with the access log's directory missing (out %r)" % out)
    expect("accessLog: directory %s: No such file or directory" % os.path.dirname(path) in err,
           "rondo -t says %r", err)
    rc, out, err = ctx.run_rondo(["-c", "config.json"], config=conf, timeout=5)
    expect_eq(rc, 1, "exit status with the access log's directory missing (stderr %r)" % err)
    expect("requests will not be logged" not in err, "workers started: %r", err)
    # a file it cannot write: found at startup too (directory check passes)
    if os.geteuid() != 0:
        d = os.path.join(ctx.tmpdir, "ro")
        os.mkdir(d, 0o555)
        conf["accessLog"] = os.path.join(d, "access.log")
        rc, out, err = ctx.run_rondo(["-c", "config.json"], config=conf, timeout=5)
        expect_eq(rc, 1, "exit status with an access log it cannot create (stderr %r)" % err)


def need_root_and_nobody():
    """Skips a test that drops to "user" nobody unless it can."""
    if os.geteuid() != 0:
        raise lib.TestSkip("needs root (to drop to \"user\")")
    import pwd
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        raise lib.TestSkip("no user nobody")


@suite.test
def configtest_access_log_as_the_user(ctx):
    # rondo -t checks that the user rondo will run as ("user", as root) can
    # write the access log: the file if it exists, else its directory.
    need_root_and_nobody()
    bs = ctx.backends_n(1)
    private = os.path.join(ctx.tmpdir, "private")
    os.mkdir(private, 0o700)
    for d in (ctx.tmpdir, os.path.dirname(ctx.tmpdir)):
        os.chmod(d, 0o755)          # the way there is open to nobody: only private is shut
    conf = lib.config(bs, port="%s:%d" % (lib.LOOPBACK, lib.free_port()),
                      accessLog=os.path.join(private, "access.log"), user="nobody")
    rc, out, err = ctx.run_rondo(["-t", "-c", "config.json"], config=conf)
    expect_eq(rc, 1, "rondo -t with an access log nobody cannot create (out %r)" % out)
    expect("config.json: accessLog: user nobody cannot write %s: Permission denied"
           % conf["accessLog"] in err, "rondo -t says %r", err)
    # Without "user", root writes it: valid, and nothing was created.
    del conf["user"]
    rc, out, err = ctx.run_rondo(["-t", "-c", "config.json"], config=conf)
    expect_eq(rc, 0, "rondo -t as root (%s)" % err)
    expect(not os.path.exists(conf["accessLog"]), "rondo -t created the access log")
    # A directory nobody may write: valid with "user" too.
    os.chmod(private, 0o777)
    conf["user"] = "nobody"
    rc, out, err = ctx.run_rondo(["-t", "-c", "config.json"], config=conf)
    expect_eq(rc, 0, "rondo -t with a directory nobody can write (%s)" % err)


@suite.test
def pid_file_with_user_is_removed(ctx):
    # As root with "user": the pid file is written as root in a directory
    # the user cannot write, and still removed at exit.
    need_root_and_nobody()
    bs = ctx.backends_n(1)
    run = os.path.join(ctx.tmpdir, "run")
    os.mkdir(run, 0o755)
    os.chmod(ctx.tmpdir, 0o755)
    path = os.path.join(run, "rondo.pid")
    r = ctx.rondo(lib.config(bs, pidFile=path, user="nobody"))
    with open(path) as f:
        expect_eq(int(f.read()), r.pid, "pid in the pid file")
    r.signal(signal.SIGTERM)
    expect_eq(r.wait_exit(10 * lib.SLOW), 0, "exit status after SIGTERM")
    lib.wait_until(lambda: not os.path.exists(path), 5 * lib.SLOW,
                   "the pid file to be removed (rondo ran as nobody)")


@suite.test
def pid_file_does_not_follow_symlink(ctx):
    bs = ctx.backends_n(1)
    victim = os.path.join(ctx.tmpdir, "victim")
    with open(victim, "w") as f:
        f.write("keep me\n")
    path = os.path.join(ctx.tmpdir, "rondo.pid")
    os.symlink(victim, path)
    os.symlink(victim, path + ".tmp")
    r = ctx.rondo(lib.config(bs, pidFile=path))
    with open(victim) as f:
        expect_eq(f.read(), "keep me\n", "the symlink's target")
    expect(not os.path.islink(path), "the pid file is still a symlink")
    with open(path) as f:
        expect_eq(int(f.read()), r.pid, "pid in the pid file")


@suite.test
def admin_counts_local_responses_and_keeps_counters_over_reload(ctx):
    # Responses rondo makes itself (502, 503, 505) are counted; no counter
    # starts again at 0 on a reload.
    bs = ctx.backends_n(1)
    aaddr = admin_addr()
    r = ctx.rondo(lib.config(bs, workers=2, retries=0, admin=admin_conf(aaddr)))
    wait_admin_up(aaddr, bs)
    for i in range(3):
        expect_eq(r.get("/die").status, 502, "GET /die %d" % i)
    with r.client() as c:
        c.send(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n")
        expect_eq(c.read_response().status, 505, "an HTTP/1.2 request")
    expect_eq(admin_request(aaddr, "POST", "/backends/0/drain", token=TOKEN).status, 200, "drain")
    for i in range(5):
        expect_eq(r.get("/").status, 503, "request %d with every backend drained" % i)
    expect_eq(admin_request(aaddr, "POST", "/backends/0/ready", token=TOKEN).status, 200, "ready")
    for i in range(2):
        expect_eq(r.get("/").status, 200, "request %d after ready" % i)

    def settled():
        s = admin_status(aaddr)
        return sum(w["connections"] for w in s["workers"]) == 0 and s
    st = lib.wait_until(settled, 5 * lib.SLOW, "no connection left open in /status")
    expect_eq(st["local_responses"], {"1xx": 0, "2xx": 0, "3xx": 0, "4xx": 0, "5xx": 9},
              "local_responses in /status")
    expect_eq(st["accepted"], 11, "accepted in /status")
    expect_eq(st["requests"], 2, "requests relayed from a backend in /status")
    sb = status_backend(st, bs[0])
    expect_eq((sb["requests"], sb["failures"]), (5, 3), "requests and failures of the backend")

    def counters(samples):
        out = {}
        for n, l, v in samples:
            if n.endswith("_total") or n.startswith("rondo_backend_response_seconds"):
                out[(n, tuple(sorted(l.items())))] = v
        return out
    samples = admin_metrics(aaddr)
    expect_eq(metric(samples, "rondo_local_responses_total", code="5xx"), [9.0],
              "rondo_local_responses_total 5xx")
    expect_eq(metric(samples, "rondo_backend_responses_total", code="5xx"), [0.0],
              "rondo_backend_responses_total 5xx (no backend answered 5xx)")
    expect_eq(metric(samples, "rondo_backend_failures_total"), [3.0], "rondo_backend_failures_total")
    before = counters(samples)

    mark = r.mark()
    r.signal(signal.SIGHUP)
    r.wait_log(r"master: reload done, generation 2", 5 * lib.SLOW, since=mark)
    r.wait_log(r"master: generation 1 finished", 10 * lib.SLOW, since=mark)
    samples = admin_metrics(aaddr)
    after = counters(samples)
    changed = {k: (v, after.get(k)) for k, v in before.items()
               if after.get(k) != v and not k[0].startswith("rondo_backend_health_check")}
    expect(not changed, "counters changed by a reload (before, after): %s", changed)
    expect_eq(metric(samples, "rondo_config_generation"), [2.0], "rondo_config_generation after a reload")
    st = admin_status(aaddr)
    expect_eq((st["accepted"], st["requests"], st["local_responses"]["5xx"]), (11, 2, 9),
              "totals in /status after a reload")
    expect_eq(r.get("/status?code=503").status, 503, "a 503 from the backend")
    samples = admin_metrics(aaddr)
    expect_eq(metric(samples, "rondo_backend_responses_total", code="5xx"), [1.0],
              "rondo_backend_responses_total 5xx after a reload")
    expect_eq(metric(samples, "rondo_local_responses_total", code="5xx"), [9.0],
              "rondo_local_responses_total 5xx after a reload")
    expect_eq(metric(samples, "rondo_client_connections_total"), [12.0],
              "rondo_client_connections_total after a reload")

    # A reload that fails says so.
    mark = r.mark()
    r.rewrite_config('{"port": 1, "servers": []}')
    r.signal(signal.SIGHUP)
    r.wait_log(r"reload failed", 5 * lib.SLOW, since=mark)
    samples = admin_metrics(aaddr)
    expect_eq(metric(samples, "rondo_config_last_reload_successful"), [0.0],
              "rondo_config_last_reload_successful after a failed reload")
    expect_eq(metric(samples, "rondo_config_generation"), [2.0], "rondo_config_generation after it")
    expect_eq(admin_status(aaddr)["last_reload_successful"], False, "last_reload_successful in /status")
    rc, out, err = ctx.run_rondo(["-s", "status", "-c", "ok.json"], config=r.config, name="ok.json")
    expect_eq(rc, 0, "rondo -s status (%s)" % err)
    expect("the last reload failed" in out and re.search(r"totals: ACCEPTED 12, REQUESTS 3, "
           r"MONITOR 0, SPLICED 0, local_responses 1xx 0 2xx 0 3xx 0 4xx 0 5xx 9", out), "rondo -s status output:\n%s", out)
    # The worker table's classes are the responses rondo made itself, and say so.
    heads = [l.split() for l in out.splitlines() if l.startswith(("BACKEND ", "WORKER "))]
    expect(len(heads) == 2 and heads[0][-5:] == ["1XX", "2XX", "3XX", "4XX", "5XX"] and
           heads[1][-5:] == ["LOCAL-1XX", "LOCAL-2XX", "LOCAL-3XX", "LOCAL-4XX", "LOCAL-5XX"],
           "rondo -s status headings:\n%s", out)


@suite.test
def admin_token_host_origin(ctx):
    # A page in a browser on this machine must not drive the admin listener:
    # POSTs need the token, Host must name the listener, a foreign Origin is refused.
    bs = ctx.backends_n(1)
    aaddr = admin_addr()
    r = ctx.rondo(lib.config(bs, admin=admin_conf(aaddr)))
    wait_admin_up(aaddr, bs)
    drain = "/backends/%s/drain" % backend_name(bs[0])
    for token, want in ((None, 401), ("wrong-token-of-the-same-size", 401), (TOKEN + "x", 401),
                        (TOKEN[:-1], 401), ("", 401)):
        resp = admin_request(aaddr, "POST", drain, token=token)
        expect_eq(resp.status, want, "POST drain with token %r" % token)
        if want == 401:
            expect(resp.header("WWW-Authenticate", "").startswith("Bearer"),
                   "WWW-Authenticate of a 401: %r", resp.header("WWW-Authenticate"))
    resp = admin_request(aaddr, "POST", drain, headers=[("Authorization", "Basic " + TOKEN)])
    expect_eq(resp.status, 401, "POST drain with a Basic authorization")
    expect_eq(status_backend(admin_status(aaddr), bs[0])["state"], "ready", "state after refused POSTs")
    # a CSRF form post: right Host, the page's Origin, no token
    resp = admin_request(aaddr, "POST", drain, headers=[("Origin", "http://evil.example"),
                         ("Content-Type", "application/x-www-form-urlencoded")])
    expect(resp.status in (401, 403), "a cross-site form post got %d", resp.status)

    port = aaddr[1]
    for host in ("evil.example:%d" % port, "evil.example", "127.0.0.1:%d" % (port + 1), "127.0.0.1",
                 "localhost.evil.example:%d" % port, "10.1.2.3:%d" % port, "[::1]"):
        for method, path, token in (("GET", "/status", None), ("GET", "/metrics", TOKEN),
                                    ("POST", drain, TOKEN)):
            resp = admin_request(aaddr, method, path, token=token, host=host)
            expect_eq(resp.status, 403, "%s %s with Host %r" % (method, path, host))
    with lib.Client(aaddr, timeout=5) as c:
        resp = c.request("GET", "/status", version="HTTP/1.0", host=None)
    expect_eq(resp.status, 403, "GET /status without Host")
    for host in ("127.0.0.1:%d" % port, "localhost:%d" % port, "LOCALHOST:%d" % port,
                 "[::1]:%d" % port, "127.0.0.2:%d" % port):
        expect_eq(admin_request(aaddr, "GET", "/status", host=host).status, 200,
                  "GET /status with Host %r" % host)
    for origin in ("http://evil.example", "null", "https://127.0.0.1:%d" % port,
                   "http://127.0.0.1:%d" % (port + 1), "http://evil.example:%d" % port):
        resp = admin_request(aaddr, "GET", "/status", headers=[("Origin", origin)])
        expect_eq(resp.status, 403, "GET /status with Origin %r" % origin)
        resp = admin_request(aaddr, "POST", drain, token=TOKEN, headers=[("Origin", origin)])
        expect_eq(resp.status, 403, "POST drain with Origin %r and the token" % origin)
    expect_eq(status_backend(admin_status(aaddr), bs[0])["state"], "ready", "state after refused POSTs")
    resp = admin_request(aaddr, "GET", "/status", headers=[("Origin", "http://127.0.0.1:%d" % port)])
    expect_eq(resp.status, 200, "GET /status with its own Origin")

    # GET on a POST path, POST on a GET path: 405 with Allow
    resp = admin_request(aaddr, "GET", drain)
    expect_eq((resp.status, resp.header("Allow")), (405, "POST"), "GET on a POST path")
    resp = admin_request(aaddr, "POST", "/metrics", token=TOKEN)
    expect_eq((resp.status, resp.header("Allow")), (405, "GET"), "POST on a GET path")

    resp = admin_request(aaddr, "POST", drain, token=TOKEN)
    expect_eq(resp.status, 200, "POST drain with the token")
    expect_eq(status_backend(admin_status(aaddr), bs[0])["state"], "drain", "state after the POST")
    resp = admin_request(aaddr, "POST", "/backends/0/ready",
                         headers=[("Authorization", "bearer   " + TOKEN)])
    expect_eq(resp.status, 200, "POST ready, scheme in lower case and spaces")
    expect(r.find_log(TOKEN) is None, "the token is in rondo's log")


@suite.test
def admin_without_token_refuses_posts(ctx):
    # No token configured (loopback only): reading works, changing does not.
    bs = ctx.backends_n(1)
    aaddr = admin_addr()
    ctx.rondo(lib.config(bs, admin=admin_conf(aaddr, token=None)))
    wait_admin_up(aaddr, bs)
    for tok in (None, TOKEN):
        resp = admin_request(aaddr, "POST", "/backends/0/drain", token=tok)
        expect_eq(resp.status, 403, "POST drain with no admin token configured (sent %r)" % tok)
        expect("admin.token" in resp.body.decode(), "403 body %r", resp.body)
    expect_eq(status_backend(admin_status(aaddr), bs[0])["state"], "ready", "state after the POSTs")


@suite.test
def admin_beyond_loopback_needs_token(ctx):
    bs = ctx.backends_n(1)
    port = lib.free_port()
    conf = lib.config(bs, admin={"listen": "0.0.0.0:%d" % port})
    conf["port"] = "127.0.0.1:%d" % lib.free_port()
    rc, out, err = ctx.run_rondo(["-t", "-c", "open.json"], config=conf, name="open.json")
    expect_eq(rc, 1, "rondo -t exit status for a wildcard admin.listen without token (%s)" % err)
    expect("admin.listen: 0.0.0.0:%d is not a loopback address" % port in err and
           "admin.token" in err, "rondo -t message: %r", err)
    for listen in ("%d" % port, ":%d" % port, "[::]:%d" % port):
        conf["admin"] = {"listen": listen}
        rc, out, err = ctx.run_rondo(["-t", "-c", "open.json"], config=conf, name="open.json")
        expect_eq(rc, 1, "rondo -t exit status for admin.listen %r without token (%s)" % (listen, err))
        expect("is not a loopback address" in err, "rondo -t message for %r: %r", listen, err)

    # With a token in a file, every request needs it, GETs included.
    tpath = os.path.join(ctx.tmpdir, "admin.token")
    with open(tpath, "w") as f:
        f.write(TOKEN + "\n")
    conf["admin"] = {"listen": "0.0.0.0:%d" % port, "tokenFile": tpath}
    r = ctx.rondo(conf)
    aaddr = (lib.LOOPBACK, port)
    lib.wait_until(lambda: admin_request(aaddr, "GET", "/status", token=TOKEN).status == 200,
                   5 * lib.SLOW, "the admin listener")
    for path in ("/status", "/metrics"):
        for token in (None, "not-the-token-at-all"):
            resp = admin_request(aaddr, "GET", path, token=token)
            expect_eq(resp.status, 401, "GET %s with token %r beyond loopback" % (path, token))
        resp = admin_request(aaddr, "GET", path, token=TOKEN)
        expect_eq(resp.status, 200, "GET %s with the token" % path)
    resp = admin_request(aaddr, "GET", "/status", token=TOKEN, host="evil.example:%d" % port)
    expect_eq(resp.status, 403, "GET /status with the token and a foreign Host")

    # rondo -s status reads the same file: it sends the token
    rc, out, err = ctx.run_rondo(["-s", "status", "-c", r.conf_path])
    expect_eq(rc, 0, "rondo -s status exit status (%s)" % err)
    expect(bs[0].url.split("//")[1] in out, "rondo -s status output: %r", out)
    expect("note:" not in out, "rondo -s status of the right instance: %r", out)

    # A file that names the same admin listener but another port: another
    # instance answers (or a change not reloaded yet), and the output says so.
    other = dict(r.config, port="%s:%d" % (lib.LOOPBACK, lib.free_port()))
    rc, out, err = ctx.run_rondo(["-s", "status", "-c", "other.json"], config=other,
                                 name="other.json")
    expect_eq(rc, 0, "rondo -s status with another port (%s)" % err)
    expect("note: other.json says port %s, but the rondo answering on" % other["port"] in out,
           "rondo -s status with another port: %r", out)

    # A wrong token, or none, is said in words, not shown as a raw answer.
    with open(os.path.join(ctx.tmpdir, "wrong.token"), "w") as f:
        f.write("not-the-token-at-all\n")
    for name, admin, says in (
            ("wrong.json", {"listen": "0.0.0.0:%d" % port, "tokenFile": "wrong.token"},
             "rondo: admin listener 0.0.0.0:%d refused the token in wrong.json (401)\n" % port),
            ("none.json", {"listen": "127.0.0.1:%d" % port},
             "rondo: admin listener 127.0.0.1:%d asks for a token, and none.json gives none (401)" % port)):
        conf["admin"] = admin
        rc, out, err = ctx.run_rondo(["-s", "status", "-c", name], config=conf, name=name)
        expect_eq(rc, 1, "rondo -s status exit status with %s (%s)" % (name, err))
        expect(says in err and "\r" not in err and "HTTP/1.1" not in err,
               "rondo -s status with %s: %r", name, err)


if __name__ == "__main__":
    suite.main()
