#!/usr/bin/env python3
"""Helpers for bench/run: free ports, memory measurement, wrk output
parsing and the Markdown report.

    benchlib.py freeports N
    benchlib.py rss PID...
    benchlib.py idle --port P --conns N [--tls] --pid PID...
    benchlib.py tlsload --port P --conns N --duration S [--resume]
    benchlib.py stream --url URL --pid PID...
    benchlib.py wrksum FILE
    benchlib.py report --dir DIR --out FILE

Every command that measures prints one JSON object on stdout.
"""

import argparse
import errno
import json
import os
import re
import resource
import selectors
import multiprocessing
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time

HOST = "127.0.0.1"


# --------------------------------------------------------------------------
# ports

def cmd_freeports(args):
    socks = []
    try:
        for _ in range(args.n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------
# memory

def _children_map():
    kids = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: split after the last ')'
        fields = stat[stat.rfind(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(name))
    return kids


def process_tree(pids):
    """The given pids and all their descendants."""
    kids = _children_map()
    seen, todo = [], list(pids)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(kids.get(p, []))
    return seen


def vmrss_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pids, tree=None):
    return sum(vmrss_kib(p) for p in (tree or process_tree(pids)))


def cmd_rss(args):
    print(tree_rss_kib(args.pids))


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


class Conn:
    __slots__ = ("sock", "buf", "sent", "need")

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.sent = 0
        self.need = None  # total bytes of the response once the head is in


def open_idle(port, count, deadline, inflight=200):
    """Opens `count` keep-alive connections to port, each completing one
    GET / (response fully read), then left idle.  Returns the list of idle
    sockets and the number of failures."""
    sel = selectors.DefaultSelector()
    idle, failed, started, active = [], 0, 0, 0

    def start():
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        err = s.connect_ex((HOST, port))
        if err not in (0, errno.EINPROGRESS):
            s.close()
            return False
        sel.register(s, selectors.EVENT_WRITE, Conn(s))
        return True

    def drop(c):
        sel.unregister(c.sock)
        c.sock.close()

    while (started < count or active > 0) and time.monotonic() < deadline:
        while started < count and active < inflight:
            started += 1
            if start():
                active += 1
            else:
                failed += 1
        for key, ev in sel.select(timeout=0.5):
            c = key.data
            try:
                if ev & selectors.EVENT_WRITE:
                    n = c.sock.send(REQUEST[c.sent:])
                    c.sent += n
                    if c.sent == len(REQUEST):
                        sel.modify(c.sock, selectors.EVENT_READ, c)
                    continue
                data = c.sock.recv(65536)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                drop(c)
                active -= 1
                failed += 1
                continue
            if not data:
                drop(c)
                active -= 1
                failed += 1
                continue
            c.buf += data
            if c.need is None:
                end = c.buf.find(b"\r\n\r\n")
                if end < 0:
                    continue
                m = re.search(rb"(?im)^content-length:\s*(\d+)", c.buf[:end])
                c.need = end + 4 + (int(m.group(1)) if m else 0)
            if len(c.buf) >= c.need:
                ok = c.buf.startswith(b"HTTP/1.1 200")
                sel.unregister(c.sock)
                active -= 1
                if ok:
                    c.buf = b""
                    idle.append(c.sock)
                else:
                    c.sock.close()
                    failed += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        failed += 1
    sel.close()
    return idle, failed


def tls_client_context():
    """TLS 1.3 only, no verification (the bench certificate is self-signed);
    the cipher suite is set on the servers, the same for all."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    return ctx


def open_idle_tls(port, count, deadline, inflight=200):
    """open_idle over TLS: each connection completes a handshake and one
    GET /, then stays idle.  Returns the idle SSL sockets and the number of
    failures."""
    ctx = tls_client_context()
    sel = selectors.DefaultSelector()
    idle, failed, started, active = [], 0, 0, 0
    # per socket: [state, bytes sent, response bytes, bytes needed]
    # states: "connect", "handshake", "send", "recv"

    def start():
        raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        raw.setblocking(False)
        err = raw.connect_ex((HOST, port))
        if err not in (0, errno.EINPROGRESS):
            raw.close()
            return False
        sel.register(raw, selectors.EVENT_WRITE, ["connect", raw])
        return True

    def drop(sock):
        sel.unregister(sock)
        sock.close()

    while (started < count or active > 0) and time.monotonic() < deadline:
        while started < count and active < inflight:
            started += 1
            if start():
                active += 1
            else:
                failed += 1
        for key, _ in sel.select(timeout=0.5):
            st = key.data
            sock = key.fileobj
            try:
                if st[0] == "connect":
                    if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                        raise OSError("connect failed")
                    sel.unregister(sock)
                    sock = ctx.wrap_socket(sock, do_handshake_on_connect=False)
                    st = ["handshake", 0, b"", None]
                    sel.register(sock, selectors.EVENT_WRITE, st)
                if st[0] == "handshake":
                    sock.do_handshake()
                    st[0] = "send"
                if st[0] == "send":
                    st[1] += sock.send(REQUEST[st[1]:])
                    if st[1] == len(REQUEST):
                        st[0] = "recv"
                    else:
                        sel.modify(sock, selectors.EVENT_WRITE, st)
                        continue
                data = sock.recv(65536)
            except ssl.SSLWantReadError:
                sel.modify(sock, selectors.EVENT_READ, st)
                continue
            except ssl.SSLWantWriteError:
                sel.modify(sock, selectors.EVENT_WRITE, st)
                continue
            except (OSError, ValueError):
                drop(sock)
                active -= 1
                failed += 1
                continue
            if not data:
                drop(sock)
                active -= 1
                failed += 1
                continue
            st[2] += data
            if st[3] is None:
                end = st[2].find(b"\r\n\r\n")
                if end < 0:
                    sel.modify(sock, selectors.EVENT_READ, st)
                    continue
                m = re.search(rb"(?im)^content-length:\s*(\d+)", st[2][:end])
                st[3] = end + 4 + (int(m.group(1)) if m else 0)
            if len(st[2]) < st[3]:
                sel.modify(sock, selectors.EVENT_READ, st)
                continue
            ok = st[2].startswith(b"HTTP/1.1 200")
            sel.unregister(sock)
            active -= 1
            if ok:
                idle.append(sock)
            else:
                sock.close()
                failed += 1
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        failed += 1
    sel.close()
    return idle, failed


def settle_rss(pids, tree, wait=1.0):
    """RSS once it stops moving (at most `wait` seconds of sampling)."""
    last = tree_rss_kib(pids, tree)
    end = time.monotonic() + wait
    while time.monotonic() < end:
        time.sleep(0.2)
        cur = tree_rss_kib(pids, tree)
        if cur == last:
            break
        last = cur
    return last


def cmd_idle(args):
    limit = raise_nofile()
    conns = min(args.conns, max(0, limit - 64))
    tree = process_tree(args.pids)
    before = settle_rss(args.pids, tree)
    t0 = time.monotonic()
    opener = open_idle_tls if args.tls else open_idle
    idle, failed = opener(args.port, conns, t0 + args.timeout)
    open_s = time.monotonic() - t0
    time.sleep(0.5)
    # a process started meanwhile (none expected) would count too
    tree = process_tree(args.pids)
    after = settle_rss(args.pids, tree, 2.0)
    # check that the idle connections are still open (the server did not drop them)
    closed = 0
    for s in idle:
        # peek on the TCP socket under the TLS layer (an SSL socket takes no flags)
        raw = socket.socket(fileno=os.dup(s.fileno())) if args.tls else s
        try:
            if raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        finally:
            if raw is not s:
                raw.close()
    for s in idle:
        s.close()
    n = len(idle)
    print(json.dumps({
        "requested": args.conns, "attempted": conns, "idle": n,
        "failed": failed, "closed_by_server": closed,
        "before_kib": before, "after_kib": after,
        "per_conn_kib": (after - before) / n if n else None,
        "open_seconds": round(open_s, 2), "fd_limit": limit, "tls": args.tls,
    }))


def cmd_stream(args):
    tree = process_tree(args.pids)
    base = settle_rss(args.pids, tree)
    peak = base
    t0 = time.monotonic()
    p = subprocess.Popen(["curl", "-s", "-o", "/dev/null", "--max-time", str(args.max_time),
                          "-w", "%{http_code} %{size_download}", args.url],
                         stdout=subprocess.PIPE, text=True)

    def stop(signum, frame):
        p.kill()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while p.poll() is None:
        peak = max(peak, tree_rss_kib(args.pids, tree))
        time.sleep(args.interval)
    out = p.stdout.read().split()
    peak = max(peak, tree_rss_kib(args.pids, tree))
    secs = time.monotonic() - t0
    code, size = (out + ["000", "0"])[:2]
    print(json.dumps({
        "status": int(code), "bytes": int(float(size)), "curl_rc": p.returncode,
        "seconds": round(secs, 2), "baseline_kib": base, "peak_kib": peak,
        "growth_mib": (peak - base) / 1024.0,
    }))


# --------------------------------------------------------------------------
# TLS handshakes: wrk opens a new connection with SSL_clear() on the old
# one, which keeps the session, so part of its "new connections" resume;
# this client does either only full or only resumed handshakes.

CLOSE_REQUEST = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


def _tlsload_worker(port, deadline, resume, out):
    """One connection at a time until deadline: connect, handshake (resuming
    the last session received when `resume`), GET / with Connection: close,
    read to the end.  Sends (latencies in ms, resumed, connect errors, read
    errors, bad statuses) to `out`."""
    ctx = tls_client_context()
    lat, resumed, econn, eread, bad = [], 0, 0, 0, 0
    session = None
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            raw = socket.create_connection((HOST, port), timeout=5)
            # as browsers and curl do: else Nagle holds the request behind
            # the client's Finished until the server's delayed ACK
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            econn += 1
            time.sleep(0.01)
            continue
        try:
            with ctx.wrap_socket(raw, session=session if resume else None) as s:
                s.sendall(CLOSE_REQUEST)
                resp = b""
                while True:
                    data = s.recv(65536)
                    if not data:
                        break
                    resp += data
                if s.session_reused:
                    resumed += 1
                if resume and s.session is not None and s.session.has_ticket:
                    session = s.session
        except (OSError, ValueError):
            eread += 1
            continue
        if not resp.startswith(b"HTTP/1.1 200"):
            bad += 1
        lat.append((time.monotonic() - t0) * 1000.0)
    out.send((lat, resumed, econn, eread, bad))
    out.close()


def cmd_tlsload(args):
    """Prints its results in wrk's format, for parse_wrk and the report."""
    mp = multiprocessing.get_context("fork")
    t0 = time.monotonic()
    deadline = t0 + args.duration
    procs, pipes = [], []
    for _ in range(args.conns):
        rd, wr = mp.Pipe(duplex=False)
        pr = mp.Process(target=_tlsload_worker, args=(args.port, deadline, args.resume, wr))
        pr.daemon = True
        pr.start()
        wr.close()
        procs.append(pr)
        pipes.append(rd)

    def stop(signum, frame):
        for pr in procs:
            pr.kill()
        sys.exit(128 + signum)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    lat, resumed, econn, eread, bad = [], 0, 0, 0, 0
    for rd, pr in zip(pipes, procs):
        if rd.poll(args.duration + 30):
            r = rd.recv()
            lat += r[0]
            resumed += r[1]
            econn += r[2]
            eread += r[3]
            bad += r[4]
        else:
            eread += 1
        pr.join(5)
    secs = time.monotonic() - t0
    lat.sort()

    def pct(q):
        return "%.2fms" % lat[min(len(lat) - 1, int(q * len(lat)))] if lat else "n/a"
    print("tlsload %s handshakes, %d connections, %d s" % (
        "resumed" if args.resume else "full", args.conns, args.duration))
    print("  Latency Distribution")
    print("     50%%  %s" % pct(0.50))
    print("     99%%  %s" % pct(0.99))
    print("  %d requests in %.2fs" % (len(lat), secs))
    print("  Socket errors: connect %d, read %d, write 0, timeout 0" % (econn, eread))
    if bad:
        print("  Non-2xx or 3xx responses: %d" % bad)
    print("Requests/sec: %.2f" % (len(lat) / secs))
    print("Resumed handshakes: %d of %d" % (resumed, len(lat)))


# --------------------------------------------------------------------------
# CPU used by processes outside the benchmark

def _busy_jiffies():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal (guest is inside user).
    # irq and softirq are left out: with IRQ time accounting the loopback
    # traffic of the benchmark itself lands there rather than in its tasks.
    return v[0] + v[1] + v[2] + (v[7] if len(v) > 7 else 0)


def _tree_jiffies(root):
    """CPU time of root and its descendants, dead ones included (through
    the cutime/cstime of the parents that reaped them)."""
    total = 0
    for p in process_tree([root]):
        try:
            with open("/proc/%d/stat" % p) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return total


def cmd_cpusnap(args):
    snap = {"t": time.time(), "busy": _busy_jiffies(), "ours": _tree_jiffies(args.root)}
    if args.proxy:
        snap["proxy"] = _tree_jiffies(args.proxy)
    print(json.dumps(snap))


def cmd_cpudelta(args):
    with open(args.snap) as f:
        a = json.load(f)
    busy, ours = _busy_jiffies(), _tree_jiffies(args.root)
    secs = max(time.time() - a["t"], 0.001)
    hz = os.sysconf("SC_CLK_TCK")
    foreign = max(0, (busy - a["busy"]) - (ours - a["ours"]))
    r = {"seconds": round(secs, 2), "foreign_cpus": round(foreign / hz / secs, 3),
         "ours_cpus": round((ours - a["ours"]) / hz / secs, 3)}
    if args.proxy and "proxy" in a:
        r["proxy_cpu_s"] = round((_tree_jiffies(args.proxy) - a["proxy"]) / hz, 3)
    if args.out is None:
        print(json.dumps(r))
        return
    with open(args.out, "w") as f:
        json.dump(r, f)
    line = "other load %.2f CPUs" % r["foreign_cpus"]
    if args.wrk:
        with open(args.wrk, errors="replace") as f:
            w = parse_wrk(f.read())
        line = "%s req/s, p50 %s, p99 %s, errors %d, %s" % (
            _fmt_rps(w["rps"]), _fmt_ms(w["p50"]), _fmt_ms(w["p99"]), w["errors"], line)
    print(line)
    if args.max is not None and r["foreign_cpus"] > args.max:
        sys.exit(2)


# --------------------------------------------------------------------------
# wrk output

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m|h)$", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_wrk(text):
    r = {"rps": None, "p50": None, "p99": None, "requests": 0, "errors": 0}
    m = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if m:
        r["rps"] = float(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s(?:\.0+)?%%\s+(\S+)" % pct, text, re.M)
        if m:
            r[key] = _ms(m.group(1))
    m = re.search(r"^\s+(\d+) requests in", text, re.M)
    if m:
        r["requests"] = int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if m:
        r["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if m:
        r["errors"] += int(m.group(1))
    m = re.search(r"^Resumed handshakes: (\d+) of (\d+)", text, re.M)
    if m:
        r["resumed"] = (int(m.group(1)), int(m.group(2)))
    if r["rps"] is None:
        r["errors"] = max(r["errors"], 1)  # wrk failed outright
    return r


def cmd_wrksum(args):
    with open(args.file, errors="replace") as f:
        r = parse_wrk(f.read())
    print("%s req/s, p50 %s, p99 %s, errors %d" % (
        _fmt_rps(r["rps"]), _fmt_ms(r["p50"]), _fmt_ms(r["p99"]), r["errors"]))


# --------------------------------------------------------------------------
# report

PROXIES = ["rondo", "haproxy", "nginx"]


def _fmt_ms(v):
    if v is None:
        return "n/a"
    if v < 1:
        return "%.0f µs" % (v * 1000)
    if v < 100:
        return "%.2f ms" % v
    return "%.0f ms" % v


def _fmt_rps(v):
    return "n/a" if v is None else "{:,.0f}".format(v)


def _median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def _load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def cmd_report(args):
    d = args.dir
    meta = _load_json(os.path.join(d, "meta.json")) or {}
    scen = meta.get("scenarios", [])
    res, foreign = {}, []
    for s in scen:
        for p in PROXIES:
            rounds = []
            for i in range(1, meta.get("rounds", 1) + 1):
                path = os.path.join(d, "wrk", "%s-%s-%d.txt" % (s["id"], p, i))
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        rounds.append(parse_wrk(f.read()))
                cpu = _load_json(path[:-4] + ".cpu")
                if cpu:
                    foreign.append(cpu["foreign_cpus"])
                if cpu and rounds and cpu.get("proxy_cpu_s") is not None and rounds[-1]["requests"]:
                    rounds[-1]["cpu_us"] = cpu["proxy_cpu_s"] * 1e6 / rounds[-1]["requests"]
            if rounds:
                res[(s["id"], p)] = {
                    "rps": _median([r["rps"] for r in rounds]),
                    "p50": _median([r["p50"] for r in rounds]),
                    "p99": _median([r["p99"] for r in rounds]),
                    "errors": sum(r["errors"] for r in rounds),
                    "cpu_us": _median([r.get("cpu_us") for r in rounds]),
                    "rounds": len(rounds),
                    "rps_all": [r["rps"] for r in rounds],
                    "resumed": [r["resumed"] for r in rounds if "resumed" in r],
                }

    out = []
    w = out.append
    w("# rondo benchmark results%s" % (" (quick run)" if meta.get("quick") else ""))
    w("")
    w("Date: %s  " % meta.get("date", "?"))
    w("Command: `%s`  " % meta.get("command", "?"))
    w("Wall time of the run: %s" % meta.get("wall_time", "?"))
    w("")
    w("## Machine")
    w("")
    for k in ("cpus", "cpu", "kernel", "memory", "os", "load", "fd_limit", "rondo", "haproxy", "nginx", "wrk"):
        if k in meta:
            w("- %s: %s" % ({"fd_limit": "open files limit", "load": "load average"}.get(k, k), meta[k]))
    w("")
    w("## Throughput and latency")
    w("")
    w("%d round(s) of %s s per proxy and scenario, interleaved (rondo, haproxy, "
      "nginx, rondo, ...); %d worker(s) / thread(s) per proxy; wrk -t1. "
      "Requests/s, p50 and p99 are medians over the rounds; errors are "
      "totals over all rounds (socket errors plus responses with a status "
      ">= 400). CPU/req is the CPU time (user + system) of the proxy's own "
      "processes during the round divided by the requests served, median over "
      "the rounds: what one request costs the proxy, whatever the other "
      "processes on the machine left it. The last column is each peer's "
      "requests/s divided by rondo's."
      % (meta.get("rounds", 1), meta.get("duration", "?"), meta.get("workers", 1)))
    w("")
    w("| Scenario | Proxy | Requests/s | Range over rounds | p50 | p99 | Errors | CPU/req | Ratio |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for s in scen:
        base = res.get((s["id"], "rondo"), {}).get("rps")
        first = True
        for p in PROXIES:
            r = res.get((s["id"], p))
            if r is None:
                continue
            if p == "rondo":
                ratio = "-"
            elif base and r["rps"] is not None:
                ratio = "%s/rondo %.2f" % (p, r["rps"] / base)
            else:
                ratio = "n/a"
            got = [x for x in r["rps_all"] if x is not None]
            spread = "%s–%s" % (_fmt_rps(min(got)), _fmt_rps(max(got))) if len(got) > 1 else "-"
            cpu = "n/a" if r["cpu_us"] is None else "%.1f µs" % r["cpu_us"]
            w("| %s | %s | %s | %s | %s | %s | %d | %s | %s |" % (
                s["title"] if first else "", p, _fmt_rps(r["rps"]), spread, _fmt_ms(r["p50"]),
                _fmt_ms(r["p99"]), r["errors"], cpu, ratio))
            first = False
    w("")
    notes = []
    for s in scen:
        for p in PROXIES:
            r = res.get((s["id"], p))
            if r and r["resumed"]:
                got, n = sum(x[0] for x in r["resumed"]), sum(x[1] for x in r["resumed"])
                notes.append("%s %s of %s" % (p, "{:,}".format(got), "{:,}".format(n)))
        if notes:
            w("%s: handshakes that resumed a session: %s." % (s["title"], ", ".join(notes)))
            w("")
            notes = []
    if foreign:
        repeated = len([n for n in os.listdir(os.path.join(d, "wrk")) if ".try" in n and n.endswith(".txt")])
        text = ("CPU used by other processes on the machine during the rounds in "
                "the table (not wrk, the proxies or the backend): %.2f CPUs on "
                "average, %.2f at most in one round." % (statistics.mean(foreign), max(foreign)))
        if meta.get("max_other_load", "off") != "off":
            text += (" A round during which other processes used more than %s CPUs "
                     "was measured again (at most twice per round and %s times in "
                     "all): %d round(s) were repeated." % (
                         meta["max_other_load"], meta.get("max_repeats"), repeated))
        if max(foreign) > 0.1:
            text += (" With that much concurrent load on the machine the numbers "
                     "are noisy.")
        w(text)
        w("")

    mem = {}
    for p in PROXIES:
        mem[p] = {"idle": _load_json(os.path.join(d, "mem", "%s-idle.json" % p)),
                  "stream": _load_json(os.path.join(d, "mem", "%s-stream.json" % p))}
    if any(v["idle"] or v["stream"] for v in mem.values()):
        w("## Memory")
        w("")
        w("RSS is the sum of VmRSS over the proxy's processes (master, workers "
          "and any helper process). Idle: RSS before and after opening %s "
          "keep-alive connections that each complete one `GET /` and then stay "
          "open. Streaming: largest RSS growth over the baseline, sampled every "
          "100 ms, while curl downloads a %s MiB response through the proxy."
          % ("{:,}".format(meta.get("idle_conns", 0)), meta.get("stream_mib", "?")))
        w("")
        w("| Proxy | RSS before | RSS with idle conns | KiB per idle conn | Streaming growth | Stream time |")
        w("|---|---:|---:|---:|---:|---:|")
        for p in PROXIES:
            i, s = mem[p]["idle"], mem[p]["stream"]
            if not i and not s:
                continue
            if i and i.get("per_conn_kib") is not None:
                note = ""
                if i["idle"] < i["requested"] or i["closed_by_server"]:
                    note = " (%d open, %d failed, %d closed)" % (
                        i["idle"], i["failed"], i["closed_by_server"])
                idle = ("%.1f MiB" % (i["before_kib"] / 1024.0),
                        "%.1f MiB" % (i["after_kib"] / 1024.0),
                        "%.2f%s" % (i["per_conn_kib"], note))
            else:
                idle = ("n/a", "n/a", "n/a")
            if s and s.get("status") == 200 and s.get("curl_rc") == 0:
                st = ("%.1f MiB" % s["growth_mib"], "%.1f s (%.0f MiB/s)" % (
                    s["seconds"], s["bytes"] / 1048576.0 / max(s["seconds"], 0.01)))
            elif s:
                st = ("failed (HTTP %s, curl %s)" % (s.get("status"), s.get("curl_rc")), "")
            else:
                st = ("n/a", "")
            w("| %s | %s | %s | %s | %s | %s |" % ((p,) + idle + st))
        w("")
    tls = {p: _load_json(os.path.join(d, "mem", "%s-tls-idle.json" % p)) for p in PROXIES}
    if any(tls.values()):
        if not any(v["idle"] or v["stream"] for v in mem.values()):
            w("## Memory")
            w("")
        w("Idle TLS connections: RSS before and after opening %s connections "
          "that each complete a TLS 1.3 handshake and one `GET /` and then stay "
          "open." % "{:,}".format(meta.get("idle_conns", 0)))
        w("")
        w("| Proxy | RSS before | RSS with idle TLS conns | KiB per idle TLS conn |")
        w("|---|---:|---:|---:|")
        for p in PROXIES:
            i = tls[p]
            if not i or i.get("per_conn_kib") is None:
                w("| %s | n/a | n/a | n/a |" % p)
                continue
            note = ""
            if i["idle"] < i["requested"] or i["closed_by_server"]:
                note = " (%d open, %d failed, %d closed)" % (
                    i["idle"], i["failed"], i["closed_by_server"])
            w("| %s | %.1f MiB | %.1f MiB | %.2f%s |" % (
                p, i["before_kib"] / 1024.0, i["after_kib"] / 1024.0, i["per_conn_kib"], note))
        w("")

    # targets
    w("## Targets")
    w("")
    w("| Target | Measured | Met |")
    w("|---|---|---|")

    def verdict(ok):
        return "n/a" if ok is None else ("yes" if ok else "**no**")

    for s in scen:
        if s.get("target") is None:
            continue
        r = res.get((s["id"], "rondo"))
        for p in PROXIES[1:]:
            q = res.get((s["id"], p))
            if not r or not q or not r["rps"] or not q["rps"]:
                w("| %s: rondo >= %.2fx %s | n/a | n/a |" % (s["title"], s["target"], p))
                continue
            x = r["rps"] / q["rps"]
            ok = x >= s["target"]
            text = "%.2fx" % x
            if s.get("p99"):
                p99ok = r["p99"] is not None and q["p99"] is not None and r["p99"] <= q["p99"]
                text += ", p99 %s vs %s" % (_fmt_ms(r["p99"]), _fmt_ms(q["p99"]))
                ok = ok and p99ok
                label = "%s: rondo >= %.2fx %s, p99 no worse" % (s["title"], s["target"], p)
            else:
                label = "%s: rondo >= %.2fx %s" % (s["title"], s["target"], p)
            w("| %s | %s | %s |" % (label, text, verdict(ok)))
    i, st = mem["rondo"]["idle"], mem["rondo"]["stream"]
    if i and i.get("per_conn_kib") is not None:
        w("| rondo < 4 KiB per idle connection | %.2f KiB | %s |" % (
            i["per_conn_kib"], verdict(i["per_conn_kib"] < 4 and i["idle"] == i["requested"])))
    else:
        w("| rondo < 4 KiB per idle connection | not measured | n/a |")
    if st and st.get("status") == 200 and st.get("curl_rc") == 0:
        full = meta.get("stream_mib") == 1024
        w("| rondo < 16 MiB RSS growth streaming 1 GiB | %.1f MiB (%s MiB streamed) | %s |" % (
            st["growth_mib"], meta.get("stream_mib"), verdict(st["growth_mib"] < 16) if full
            else verdict(st["growth_mib"] < 16) + " (partial test)"))
    else:
        w("| rondo < 16 MiB RSS growth streaming 1 GiB | not measured | n/a |")
    w("")
    text = "\n".join(out)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("freeports")
    p.add_argument("n", type=int)
    p.set_defaults(fn=cmd_freeports)
    p = sub.add_parser("rss")
    p.add_argument("pids", type=int, nargs="+")
    p.set_defaults(fn=cmd_rss)
    p = sub.add_parser("idle")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=10000)
    p.add_argument("--timeout", type=float, default=40.0)
    p.add_argument("--tls", action="store_true", help="TLS 1.3 connections")
    p.add_argument("--pid", dest="pids", type=int, nargs="+", required=True)
    p.set_defaults(fn=cmd_idle)
    p = sub.add_parser("tlsload")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--conns", type=int, default=8, help="client processes, one connection each")
    p.add_argument("--duration", type=int, default=10)
    p.add_argument("--resume", action="store_true", help="resume the last session received")
    p.set_defaults(fn=cmd_tlsload)
    p = sub.add_parser("stream")
    p.add_argument("--url", required=True)
    p.add_argument("--interval", type=float, default=0.1)
    p.add_argument("--max-time", type=int, default=120)
    p.add_argument("--pid", dest="pids", type=int, nargs="+", required=True)
    p.set_defaults(fn=cmd_stream)
    p = sub.add_parser("cpusnap")
    p.add_argument("root", type=int)
    p.add_argument("--proxy", type=int, help="also the CPU time of this process tree")
    p.set_defaults(fn=cmd_cpusnap)
    p = sub.add_parser("cpudelta")
    p.add_argument("root", type=int)
    p.add_argument("snap")
    p.add_argument("--proxy", type=int, help="also the CPU time of this process tree")
    p.add_argument("--out", help="write the JSON here and print a summary line")
    p.add_argument("--wrk", help="wrk output to summarize in that line")
    p.add_argument("--max", type=lambda v: None if v == "off" else float(v),
                   help="exit with status 2 when other processes used more CPUs")
    p.set_defaults(fn=cmd_cpudelta)
    p = sub.add_parser("wrksum")
    p.add_argument("file")
    p.set_defaults(fn=cmd_wrksum)
    p = sub.add_parser("report")
    p.add_argument("--dir", required=True)
    p.add_argument("--out", required=True)
    p.set_defaults(fn=cmd_report)
    args = ap.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
