#!/usr/bin/env python3
"""Balancing algorithms with the real rondo (2 workers) and real backends:
weighted round robin, least connections, ip-hash, maxConnections, backups,
backends down shared evenly by the others, each one balancer across the
workers."""

import os
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_policies")

WORKERS = 2
SLOW_MS = 200                      # the slow backend's delay


def slow_backend(ctx, name, delay_ms, record=False):
    return ctx.backend(name, record=record, delay_ms=delay_ms)


class SourceClient(lib.Client):
    """A lib.Client whose socket is bound to a given loopback address first,
    so that rondo sees a distinct client (127.0.0.X) for ip-hash."""

    def __init__(self, addr, source, timeout=10.0):
        self.addr = addr
        self.timeout = timeout * lib.SLOW
        self.sock = socket.create_connection(addr, timeout=self.timeout,
                                             source_address=(source, 0))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.rbuf = bytearray(1 << 20)
        self.eof = False


def get_from(r, source, path="/"):
    with SourceClient(r.addr, source) as c:
        return c.request("GET", path)


def policy_config(bs, algorithm, servers=None, **extra):
    """lib.config with fast health checks, WORKERS workers and the algorithm."""
    opts = {"healthCheckInterval": "200ms",
            "healthCheck": {"rise": 1, "fall": 1, "timeout": "500ms"},
            "workers": WORKERS, "algorithm": algorithm}
    opts.update(extra)
    return lib.config(bs, servers, **opts)


def start(ctx, bs, algorithm, servers=None, **extra):
    r = ctx.rondo(policy_config(bs, algorithm, servers, **extra))
    lib.warm_up(r, [b.name for b in bs])
    return r


def count_backends(r, n, path="/"):
    """n requests one after the other, each on a fresh connection: {X-Backend: count}."""
    counts = {}
    for i in range(n):
        resp = r.get(path)
        expect_eq(resp.status, 200, "request %d status" % i)
        name = resp.header("X-Backend")
        counts[name] = counts.get(name, 0) + 1
    return counts


def concurrent(r, clients, per_client, path="/"):
    """clients threads, each sending per_client requests in turn: ({X-Backend:
    count}, [failures])."""
    lock = threading.Lock()
    counts, failures = {}, []

    def run():
        for _ in range(per_client):
            try:
                resp = r.get(path)
                why = None if resp.status == 200 else "status %d" % resp.status
            except Exception as e:      # noqa: BLE001 (reported by the caller)
                why = "%s: %s" % (type(e).__name__, e)
            with lock:
                if why is None:
                    name = resp.header("X-Backend")
                    counts[name] = counts.get(name, 0) + 1
                else:
                    failures.append(why)

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60 * lib.SLOW)
    return counts, failures


def tcp_peer_ports(pid):
    """Remote ports of the established TCP connections pid holds (from /proc)."""
    inodes = set()
    try:
        for fd in os.listdir("/proc/%d/fd" % pid):
            try:
                link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
    except OSError:
        return set()
    ports = set()
    for table in ("/proc/%d/net/tcp" % pid, "/proc/%d/net/tcp6" % pid):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "01" and fields[9] in inodes:    # ESTABLISHED
                        ports.add(int(fields[2].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return ports


def share(counts, name):
    total = sum(counts.values())
    return counts.get(name, 0) / total if total else 0.0


@suite.test
def weighted_exact_700(ctx):
    bs = ctx.backends_n(3)
    servers = [{"url": bs[0].url, "weight": 5}, bs[1].url, {"url": bs[2].url, "weight": 1}]
    r = start(ctx, bs, "weighted-round-robin", servers)
    # Whatever the warm-up took, 700 is a whole number of 7-long cycles.
    counts = count_backends(r, 700)
    expect_eq(counts, {"b1": 500, "b2": 100, "b3": 100}, "700 requests over weights 5,1,1")


@suite.test
def leastconn_avoids_slow_backend(ctx):
    bs = ctx.backends_n(2) + [slow_backend(ctx, "slow", SLOW_MS)]
    shares = {}
    for algorithm in ("round-robin", "least-connections"):
        r = start(ctx, bs, algorithm)
        counts, failures = concurrent(r, 6, 25)
        expect(not failures, "%s: %d requests failed: %s", algorithm, len(failures), failures[:3])
        expect_eq(sum(counts.values()), 150, "%s: answers (%s)" % (algorithm, counts))
        shares[algorithm] = share(counts, "slow")
    sys.stderr.write("  slow backend's share with 6 concurrent clients: round-robin %.3f, "
                     "least-connections %.3f\n" % (shares["round-robin"], shares["least-connections"]))
    expect(shares["round-robin"] > 0.3, "round robin gave the slow backend %.3f, not 1/3",
           shares["round-robin"])
    expect(shares["least-connections"] < shares["round-robin"] / 2,
           "least-connections gave the slow backend %.3f, round robin %.3f",
           shares["least-connections"], shares["round-robin"])


@suite.test
def ip_hash_sticky_and_failover(ctx):
    bs = ctx.backends_n(3)
    r = ctx.rondo(policy_config(bs, "ip-hash"))
    clients = ["127.0.0.%d" % i for i in range(2, 62)]
    # Warm up from every address: from one, only its own backend answers.
    lib.wait_until(lambda: {get_from(r, c).header("X-Backend") for c in clients} >= {"b1", "b2", "b3"},
                   10 * lib.SLOW, "every backend to answer")
    resp = get_from(r, clients[0], "/headers")
    got = [v for k, v in resp.json()["headers"] if k.lower() == "x-forwarded-for"]
    expect_eq(got, [clients[0]], "X-Forwarded-For of a client bound to %s" % clients[0])

    home = {}
    for c in clients:
        seen = {get_from(r, c).header("X-Backend") for _ in range(3)}
        expect(len(seen) == 1, "client %s went to %s", c, sorted(seen))
        home[c] = seen.pop()
    per = {b.name: sum(1 for h in home.values() if h == b.name) for b in bs}
    expect(min(per.values()) >= 5, "60 clients over 3 backends: %s", per)

    victim = bs[1]
    mark = r.mark()
    victim.kill()
    r.wait_log(r"backend http://127\.0\.0\.1:%d is down" % victim.port, 5 * lib.SLOW, since=mark)
    moved_to = {}
    for c in clients:
        seen = {get_from(r, c).header("X-Backend") for _ in range(2)}
        expect(len(seen) == 1, "after the kill, client %s went to %s", c, sorted(seen))
        now = seen.pop()
        if home[c] != victim.name:
            expect_eq(now, home[c], "client %s of a live backend" % c)
        else:
            moved_to[now] = moved_to.get(now, 0) + 1
    expect(victim.name not in moved_to, "requests reached the dead backend")
    expect(len(moved_to) == 2, "the %d clients of the dead backend all went to %s",
           per[victim.name], moved_to)

    # Back up: its clients come home.
    mark = r.mark()
    victim.start()
    r.wait_log(r"backend http://127\.0\.0\.1:%d is up" % victim.port, 5 * lib.SLOW, since=mark)
    for c in clients:
        expect_eq(get_from(r, c).header("X-Backend"), home[c], "client %s once all are up" % c)


@suite.test
def leastconn_no_phantoms_after_worker_kill(ctx):
    bs = ctx.backends_n(2, record=True)
    r = start(ctx, bs, "least-connections")
    ports = {b.port for b in bs}

    # Three slow requests: least connections puts 2 on one backend, 1 on the other.
    def hold():
        try:
            r.get("/delay?ms=60000", timeout=90)
        except Exception:       # noqa: BLE001 (its worker is killed: expected)
            pass
    for _ in range(3):
        threading.Thread(target=hold, daemon=True).start()
    lib.wait_until(lambda: sum(b.records().count(b"GET /delay?ms=60000") for b in bs) == 3,
                   5 * lib.SLOW, "the 3 slow requests to reach the backends")

    # SIGKILL every worker holding a connection to a backend (every slow request).
    holders = [p for p in r.children() if tcp_peer_ports(p) & ports]
    expect(holders, "no child of the master holds a backend connection")
    mark = r.mark()
    for p in holders:
        os.kill(p, signal.SIGKILL)
    for p in holders:
        r.wait_log(r"master: .*\(pid %d\) killed by signal 9" % p, 5 * lib.SLOW, since=mark)
    lib.wait_until(lambda: len(r.children()) == WORKERS + 1 and not set(r.children()) & set(holders),
                   10 * lib.SLOW, "the workers to be respawned")

    # Counts left behind (2 and 1) would send everything to one backend.
    # Idle backends tie and the ties rotate; not exactly 30/30, though: a
    # worker gives its count back just after the response went out, and the
    # next request, on the other worker, may come first.
    counts = count_backends(r, 60)
    expect(all(counts.get(b.name, 0) >= 15 for b in bs),
           "60 requests after the kill, nothing in flight: %s", counts)


def hold_one_each(ctx, r, bs, late, take_out, bring_back):
    """17 backends, more than one block of least-connections' floors: late
    (b17) is taken out, one slow request is held on each of the 16 others, a
    request sees late out (and raises the floors), late is brought back with
    none: it must be the lightest at once."""
    take_out()
    hold_ms = int(6000 * lib.SLOW)
    path = "/delay?ms=%d" % hold_ms
    done = []

    def hold():
        try:
            done.append(r.get(path, timeout=30 * lib.SLOW).status)
        except Exception as e:      # noqa: BLE001 (reported below)
            done.append(str(e))
    threads = [threading.Thread(target=hold, daemon=True) for _ in range(16)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    lib.wait_until(lambda: sum(b.records().count(path.encode()) for b in bs[:16]) == 16,
                   5 * lib.SLOW, "the 16 slow requests to reach the backends")
    per = {b.name: b.records().count(path.encode()) for b in bs[:16]}
    expect(set(per.values()) == {1}, "16 slow requests over 16 idle backends: %s", per)
    # A request now looks at every block, and sees b17 out.
    expect(late.name not in count_backends(r, 2), "a request reached the backend taken out")
    bring_back()
    first = r.get("/").header("X-Backend")
    got = count_backends(r, 8)
    expect(time.monotonic() - t0 < hold_ms / 1000.0,
           "the slow requests ended before the check: the machine is too slow for this test")
    expect_eq(first, late.name, "the first request while 16 backends hold one each")
    # Each of the next ones too, unless it came before the worker of the one
    # before gave its count back (just after the response went out): a tie.
    expect(got.get(late.name, 0) >= 4, "8 requests while 16 backends hold one each: %s", got)
    for t in threads:
        t.join(30 * lib.SLOW)
    expect_eq(sorted(done, key=str), [200] * 16, "the slow requests")
    # Nothing in flight: 17 tie, and every one of them gets some of 51.
    counts = count_backends(r, 51)
    expect(len(counts) == 17, "51 requests over 17 idle backends: %s", counts)


@suite.test
def leastconn_large_pool_health(ctx):
    """A backend that comes back up (health check) is the lightest at once."""
    bs = ctx.backends_n(17, record=True)
    r = start(ctx, bs, "least-connections")
    late = bs[16]

    def take_out():
        mark = r.mark()
        late.kill()
        r.wait_log(r"backend http://127\.0\.0\.1:%d is down" % late.port, 5 * lib.SLOW,
                   since=mark)

    def bring_back():
        mark = r.mark()
        late.start()
        r.wait_log(r"backend http://127\.0\.0\.1:%d is up" % late.port, 5 * lib.SLOW,
                   since=mark)
    hold_one_each(ctx, r, bs, late, take_out, bring_back)


@suite.test
def leastconn_large_pool_admin(ctx):
    """A backend made ready again by the admin is the lightest at once."""
    bs = ctx.backends_n(17, record=True)
    aaddr = (lib.LOOPBACK, lib.free_port())
    r = start(ctx, bs, "least-connections", admin=lib.admin_conf(aaddr))
    late = bs[16]
    where = "/backends/127.0.0.1:%d/" % late.port

    def admin(action):
        resp = lib.admin_request(aaddr, "POST", where + action, token=lib.ADMIN_TOKEN)
        expect_eq(resp.status, 200, "POST %s%s" % (where, action))
    hold_one_each(ctx, r, bs, late, lambda: admin("drain"), lambda: admin("ready"))


@suite.test
def max_connections_503_not_hang(ctx):
    bs = ctx.backends_n(2)
    servers = [{"url": b.url, "maxConnections": 1} for b in bs]
    r = start(ctx, bs, "round-robin", servers)
    results = []
    lock = threading.Lock()

    def slow():
        t0 = time.monotonic()
        try:
            resp = r.get("/delay?ms=1500", timeout=30)
            out = (resp.status, time.monotonic() - t0, resp.body)
        except Exception as e:      # noqa: BLE001
            out = (None, time.monotonic() - t0, str(e).encode())
        with lock:
            results.append(out)

    threads = [threading.Thread(target=slow, daemon=True) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30 * lib.SLOW)
    statuses = sorted(s for s, _, _ in results)
    expect_eq(statuses, [200, 200, 503, 503, 503], "5 concurrent slow requests, 2 places")
    for status, took, body in results:
        if status == 503:
            expect(took < 1.0 * lib.SLOW, "a 503 took %.2fs: it waited for a place", took)
            expect(b"connection limit" in body, "503 body %r", body)
        else:
            expect(took >= 1.4, "a 200 took %.2fs", took)
    # The places are given back (each just after its response went out: poll).
    def answered_by():
        resp = r.get("/")
        return resp.header("X-Backend") if resp.status == 200 else None
    seen = set()
    lib.wait_until(lambda: seen.add(answered_by()) or {"b1", "b2"} <= seen, 5 * lib.SLOW,
                   lambda: "both backends to answer again (seen %s)" % seen)


@suite.test
def backup_only_when_primaries_down(ctx):
    bs = ctx.backends_n(3)
    servers = [bs[0].url, bs[1].url, {"url": bs[2].url, "backup": True}]
    r = ctx.rondo(policy_config(bs, "least-connections", servers))
    lib.warm_up(r, ["b1", "b2"])
    counts = count_backends(r, 20)
    expect("b3" not in counts and len(counts) == 2, "primaries up: %s", counts)
    mark = r.mark()
    bs[0].kill()
    r.wait_log(r"backend http://127\.0\.0\.1:%d is down" % bs[0].port, 5 * lib.SLOW, since=mark)
    expect_eq(count_backends(r, 10), {"b2": 10}, "one primary up")
    bs[1].kill()
    r.wait_log(r"backend http://127\.0\.0\.1:%d is down" % bs[1].port, 5 * lib.SLOW, since=mark)
    expect_eq(count_backends(r, 10), {"b3": 10}, "no primary up")
    mark = r.mark()
    bs[0].start()
    r.wait_log(r"backend http://127\.0\.0\.1:%d is up" % bs[0].port, 5 * lib.SLOW, since=mark)
    expect_eq(count_backends(r, 10), {"b1": 10}, "a primary back")


def down_rx(port):
    return r"backend http://127\.0\.0\.1:%d is down" % port


def expect_halves(counts, names, what):
    """60 requests split evenly over two backends, give or take 2."""
    expect(sum(counts.values()) == 60 and all(28 <= counts.get(n, 0) <= 32 for n in names),
           "%s: 60 requests over %s, not 30/30: %s", what, names, counts)


@suite.test
def down_backends_share_evenly(ctx):
    # 5 servers, the last 3 with nothing listening: each of the 2 left gets
    # half, not the first one the turns of the 3 before it as well.
    bs = ctx.backends_n(2)
    dead = [lib.free_port() for _ in range(3)]
    servers = [b.url for b in bs] + ["http://127.0.0.1:%d" % p for p in dead]
    for algorithm in ("round-robin", "least-connections"):
        r = ctx.rondo(policy_config(bs, algorithm, servers))
        for p in dead:
            r.wait_log(down_rx(p), 5 * lib.SLOW)
        lib.warm_up(r, ["b1", "b2"])
        expect_halves(count_backends(r, 60), ["b1", "b2"], "%s, 2 of 5 up" % algorithm)
        r.stop()


@suite.test
def killed_backend_shared_evenly(ctx):
    # 3 backends, the middle one killed: the one after it must not take its turns.
    bs = ctx.backends_n(3)
    for algorithm in ("round-robin", "least-connections"):
        r = start(ctx, bs, algorithm)
        mark = r.mark()
        bs[1].kill()
        r.wait_log(down_rx(bs[1].port), 5 * lib.SLOW, since=mark)
        expect_halves(count_backends(r, 60), ["b1", "b3"], "%s, b2 killed" % algorithm)
        r.stop()
        bs[1].start()

def second_rondo(ctx, conf, name):
    """A second instance beside the first, with its own config and log files."""
    r = lib.Rondo(ctx, conf)
    r.conf_path = os.path.join(ctx.tmpdir, name + ".json")
    r.log_path = os.path.join(ctx.tmpdir, name + ".log")
    ctx.rondos.append(r)
    return r.start()


@suite.test
def hash_header_same_everywhere(ctx):
    """hash on a header: each key always on one backend, whichever worker
    takes the connection; a second rondo with the servers in another order
    (written differently) sends every key to the same backend."""
    bs = ctx.backends_n(4)
    extra = {"hashKey": "header:X-User", "hashSeed": "test-fleet"}
    r = start(ctx, bs, "hash", **extra)
    servers = [b.url + "/" for b in reversed(bs)]     # other order, other spelling
    r2 = second_rondo(ctx, policy_config(bs, "hash", servers=servers, **extra), "second")
    lib.warm_up(r2, [b.name for b in bs])
    keys = ["user-%d" % i for i in range(20)]
    home = {}
    for k in keys:
        seen = set()
        for _ in range(6):      # fresh connections: either worker may take each
            resp = r.get("/", headers=[("X-User", k)])
            expect_eq(resp.status, 200, "status for %s" % k)
            seen.add(resp.header("X-Backend"))
        expect(len(seen) == 1, "key %s went to %s", k, sorted(seen))
        home[k] = seen.pop()
    expect(len(set(home.values())) >= 3, "20 keys over 4 backends: %s", home)
    for k in keys:
        for _ in range(3):
            expect_eq(r2.get("/", headers=[("X-User", k)]).header("X-Backend"), home[k],
                      "backend of %s in the second rondo" % k)
    # Without the header: round robin over all of them.
    counts = count_backends(r, 40)
    expect(len(counts) == 4, "requests without the key went to %s", counts)


def sticky_cookie(resp, name="RONDOSRV"):
    """The value of the sticky cookie a response sets, and its attributes; (None, None) if none."""
    for v in resp.header_all("Set-Cookie"):
        if v.startswith(name + "="):
            first, _, attrs = v.partition(";")
            return first.split("=", 1)[1], attrs
    return None, None


@suite.test
def sticky_cookie_keeps_and_moves(ctx):
    """sticky: the cookie of the first response keeps 50 requests (on fresh
    connections, to either worker) on one backend, is not forwarded, and
    moves to another backend, with a new cookie, when that one is killed."""
    bs = ctx.backends_n(3)
    r = start(ctx, bs, "round-robin", sticky={"cookie": "RONDOSRV", "maxAge": "1h"})
    first = r.get("/")
    expect_eq(first.status, 200, "first status")
    value, attrs = sticky_cookie(first)
    expect(value is not None and len(value) == 16, "Set-Cookie of the first response: %s",
           first.header_all("Set-Cookie"))
    expect("127.0.0.1" not in value and str(bs[0].port) not in value, "cookie %r", value)
    for a in ("Path=/", "Max-Age=3600", "HttpOnly", "SameSite=Lax"):
        expect(a in attrs, "attribute %s in %r", a, attrs)
    expect("Secure" not in attrs, "Secure over plain HTTP: %r", attrs)
    home = first.header("X-Backend")
    cookie = [("Cookie", "a=1; RONDOSRV=%s; b=2" % value)]
    for i in range(50):
        resp = r.get("/", headers=cookie)
        expect_eq(resp.header("X-Backend"), home, "backend of sticky request %d" % i)
        expect_eq(sticky_cookie(resp)[0], None, "cookie set again on request %d" % i)
    sent = [v for k, v in r.get("/headers", headers=cookie).json()["headers"] if k.lower() == "cookie"]
    expect_eq(sent, ["a=1; b=2"], "Cookie the backend got")
    # A forged value is ignored: the policy picks, and a real cookie is set.
    resp = r.get("/", headers=[("Cookie", "RONDOSRV=0123456789abcdef")])
    expect(sticky_cookie(resp)[0] not in (None, "0123456789abcdef"), "cookie after a forged one")

    victim = next(b for b in bs if b.name == home)
    mark = r.mark()
    victim.kill()
    r.wait_log(down_rx(victim.port), 5 * lib.SLOW, since=mark)
    resp = r.get("/", headers=cookie)
    expect_eq(resp.status, 200, "status once the sticky backend is down")
    moved = resp.header("X-Backend")
    expect(moved != home, "still sent to the dead backend %s", home)
    value2, _ = sticky_cookie(resp)
    expect(value2 is not None and value2 != value, "new cookie %r (old %r)", value2, value)
    for i in range(10):
        expect_eq(r.get("/", headers=[("Cookie", "RONDOSRV=%s" % value2)]).header("X-Backend"),
                  moved, "backend of the new cookie, request %d" % i)


def status(aaddr):
    resp = lib.admin_request(aaddr, "GET", "/status")
    expect_eq(resp.status, 200, "admin /status")
    return resp.json()


def timed_get(r, path, results, lock, i):
    """GET path, appending (i, status, seconds since the start, headers, body) to results."""
    t0 = time.monotonic()
    try:
        resp = r.get(path, timeout=30)
        out = (i, resp.status, time.monotonic() - t0, resp, resp.body)
    except Exception as e:      # noqa: BLE001
        out = (i, None, time.monotonic() - t0, None, str(e).encode())
    with lock:
        results.append(out)


@suite.test
def queue_first_come_first_served(ctx):
    """queue: with maxConnections 1 on two backends, 6 concurrent slow
    requests all succeed, answered in the order they came."""
    bs = ctx.backends_n(2)
    servers = [{"url": b.url, "maxConnections": 1} for b in bs]
    aaddr = ("127.0.0.1", lib.free_port())
    r = start(ctx, bs, "round-robin", servers, queue={"max": 10, "timeout": "20s"},
              admin=lib.admin_conf(aaddr, None))
    results, lock, threads = [], threading.Lock(), []
    start_t = time.monotonic()
    for i in range(6):
        t = threading.Thread(target=timed_get, args=(r, "/delay?ms=700", results, lock, i),
                             daemon=True)
        t.start()
        threads.append(t)
        time.sleep(0.15)        # a known order of arrival
    for t in threads:
        t.join(30 * lib.SLOW)
    expect_eq(sorted(st for _, st, _, _, _ in results), [200] * 6, "statuses of the 6 requests")
    done = {i: start_t + 0.15 * i + took for i, _, took, _, _ in results}
    order = sorted(done, key=done.get)
    expect_eq(order, list(range(6)), "order of the answers (ends %s)" %
              ["%.2f" % (done[i] - start_t) for i in range(6)])
    st = status(aaddr)
    expect_eq((st["queued"], st["queue_rejected"], st["queue_length"]), (4, 0, 0),
              "queued, rejected and waiting in /status")
    expect(st["queue_time_us"] > 4 * 300000, "time queued %d us", st["queue_time_us"])
    metrics = lib.admin_request(aaddr, "GET", "/metrics").body.decode()
    expect("rondo_queue_length 0\n" in metrics and "rondo_queued_requests_total 4\n" in metrics,
           "queue metrics in:\n%s", metrics)


@suite.test
def queue_timeout_503(ctx):
    """A request that waits longer than queue.timeout gets 503 with Retry-After: 1."""
    bs = ctx.backends_n(2)
    servers = [{"url": b.url, "maxConnections": 1} for b in bs]
    aaddr = ("127.0.0.1", lib.free_port())
    r = start(ctx, bs, "round-robin", servers, queue={"max": 10, "timeout": "300ms"},
              admin=lib.admin_conf(aaddr, None))
    results, lock, threads = [], threading.Lock(), []
    for i in range(2):
        t = threading.Thread(target=timed_get, args=(r, "/delay?ms=2500", results, lock, i),
                             daemon=True)
        t.start()
        threads.append(t)
    lib.wait_until(lambda: sum(b["active"] for b in status(aaddr)["backends"]) == 2,
                   5 * lib.SLOW, "both backends busy")
    t0 = time.monotonic()
    resp = r.get("/")
    took = time.monotonic() - t0
    expect_eq(resp.status, 503, "status after the queue timeout")
    expect_eq(resp.header("Retry-After"), "1", "Retry-After")
    expect(0.25 <= took < 2.0 * lib.SLOW, "the 503 came after %.2fs", took)
    for t in threads:
        t.join(30 * lib.SLOW)
    expect_eq(sorted(st for _, st, _, _, _ in results), [200, 200], "the two slow requests")
    expect_eq(status(aaddr)["queue_rejected"], 1, "queue_rejected in /status")


@suite.test
def slow_start_ramps_a_backend_back(ctx):
    """slowStart: a backend back up gets a small share at first, its whole
    share once the ramp is over; at start, no ramp."""
    bs = ctx.backends_n(2)
    r = start(ctx, bs, "round-robin", slowStart="3s")
    expect_halves(count_backends(r, 60), ["b1", "b2"], "at start (no ramp)")
    mark = r.mark()
    bs[1].kill()
    r.wait_log(down_rx(bs[1].port), 5 * lib.SLOW, since=mark)
    mark = r.mark()
    bs[1].start()
    r.wait_log(r"backend http://127\.0\.0\.1:%d is up" % bs[1].port, 5 * lib.SLOW, since=mark)
    up_at = time.monotonic()
    early = count_backends(r, 40)
    took = time.monotonic() - up_at
    expect(took < 1.5, "40 requests took %.2fs: too slow to see the ramp", took)
    expect(early.get("b2", 0) <= 10, "b2 got %s of 40 in its first %.2fs", early.get("b2", 0), took)
    lib.wait_until(lambda: time.monotonic() >= up_at + 3.2, 5, "the end of the 3s ramp")
    expect_halves(count_backends(r, 60), ["b1", "b2"], "after the ramp")


def admin_post(aaddr, path, body, token=lib.ADMIN_TOKEN):
    """A POST with a body to the admin interface."""
    headers = [("Authorization", "Bearer " + token)] if token else []
    with lib.Client(aaddr, timeout=5) as c:
        return c.request("POST", path, headers=headers, body=body, host="%s:%d" % aaddr)


@suite.test
def runtime_weight(ctx):
    """POST /backends/<id>/weight: the share follows, /status and rondo -s
    show it, a reload keeps it unless the configuration changes that
    server's weight."""
    bs = ctx.backends_n(2)
    aaddr = ("127.0.0.1", lib.free_port())
    servers = [{"url": b.url, "weight": 1} for b in bs]
    r = start(ctx, bs, "weighted-round-robin", servers, admin=lib.admin_conf(aaddr))
    b2 = "127.0.0.1:%d" % bs[1].port

    def post(body, token=lib.ADMIN_TOKEN):
        return admin_post(aaddr, "/backends/%s/weight" % b2, body, token)

    def weight_of(st, name):
        return [x for x in st["backends"] if x["name"] == name][0]["weight"]

    expect_eq(post(b'{"weight": 4}', token=None).status, 401, "POST without the token")
    for bad in (b'{"weight": 0}', b'{"weight": 1001}', b'{"weight": "4"}', b'{"w": 4}', b'4'):
        expect_eq(post(bad).status, 400, "POST %r" % bad)
    resp = post(b'{"weight": 4}')
    expect_eq(resp.status, 200, "POST weight 4 (%r)" % resp.body)
    expect_eq(weight_of(status(aaddr), b2), 4, "weight in /status")
    counts = count_backends(r, 100)
    expect(70 <= counts.get("b2", 0) <= 90, "weights 1 and 4 over 100 requests: %s", counts)
    rc, out, err = ctx.run_rondo(["-s", "status", "-c", "ctl.json"], config=r.config, name="ctl.json")
    expect_eq(rc, 0, "rondo -s status (%s)" % err)
    line = [l for l in out.splitlines() if l.startswith(b2)]
    expect(len(line) == 1 and line[0].split()[4] == "4", "rondo -s status:\n%s", out)

    # A reload with the same file keeps it; one that changes this weight replaces it.
    mark = r.mark()
    r.signal(signal.SIGHUP)
    r.wait_log(r"reload done, generation 2", 10 * lib.SLOW, since=mark)
    expect_eq(weight_of(status(aaddr), b2), 4, "weight after a reload")
    conf = dict(r.config)
    conf["servers"] = [servers[0], {"url": bs[1].url, "weight": 2}]
    r.rewrite_config(conf)
    mark = r.mark()
    r.signal(signal.SIGHUP)
    r.wait_log(r"reload done, generation 3", 10 * lib.SLOW, since=mark)
    expect_eq(weight_of(status(aaddr), b2), 2, "weight once the configuration changed it")


@suite.test
def runtime_weight_refused_by_hash(ctx):
    bs = ctx.backends_n(2)
    aaddr = ("127.0.0.1", lib.free_port())
    ctx.rondo(policy_config(bs, "hash", admin=lib.admin_conf(aaddr)))
    resp = admin_post(aaddr, "/backends/0/weight", b'{"weight": 4}')
    expect_eq(resp.status, 409, "POST weight with hash (%r)" % resp.body)


@suite.test
def configtest_policy_errors(ctx):
    conf = {"port": "127.0.0.1:%d" % lib.free_port(),
            "servers": ["http://127.0.0.1:%d" % lib.free_port(),
                        {"url": "http://127.0.0.1:%d" % lib.free_port(), "weight": 3}]}
    rc, out, err = ctx.run_rondo(["-t", "-c", "config.json"], config=conf)
    expect_eq(rc, 1, "exit status of rondo -t (stderr %r)" % err.strip())
    expect("config.json: servers[1].weight: weight has no effect with algorithm round-robin\n"
           in err, "stderr %r", err)
    conf["algorithm"] = "weighted-round-robin"
    rc, out, err = ctx.run_rondo(["-t", "-c", "config.json"], config=conf)
    expect_eq(rc, 0, "exit status of rondo -t (stderr %r)" % err.strip())


if __name__ == "__main__":
    suite.main()
