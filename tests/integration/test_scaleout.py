#!/usr/bin/env python3
"""Scale-out: three rondo instances behind one virtual address, as
docs/SCALING.md describes, on a small network of namespaces.

    client (10.99.0.10-17) --+                 +-- l1 (10.99.11.2, VIP on lo) --+
                             |                 +-- l2 (10.99.12.2, VIP on lo) --+-- b1 (10.99.21.2:8080)
    haproxy (10.99.30.2) ----+---- router -----+-- l3 (10.99.13.2, VIP on lo) --+-- b2 (10.99.22.2:8080)

The router sends the VIP (10.99.100.1) to the three instances over an ECMP
route hashed on addresses and ports (fib_multipath_hash_policy=1), as a
switch fed by BGP would. The next hops are a resilient nexthop group where
the kernel has them, so that taking one out moves only its own flows (a
plain multipath route, used otherwise, re-spreads every flow). Each
instance has the same configuration; a poller in the test stands in for
the routing daemon: it withdraws an instance's next hop when its monitor
path answers anything but 200. The flows of the withdrawn next hop move
and break even with a resilient group, so the withdrawal waits for the
client loop's request in progress.

Needs root and "ip netns" (SKIP otherwise), and haproxy for the PROXY
protocol test (SKIP without it). The addresses exist only inside the
namespaces. Every namespace is named rso-<pid>-<random>-<role> and deleted
at the end, on failure and by the watchdog too (lib.at_cleanup); a run
killed outright leaves namespaces that the next run deletes (their pid is
gone).
"""

import atexit
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_scaleout")

RUN = "rso-%d-%04x" % (os.getpid(), random.getrandbits(16))
STALE = re.compile(r"^rso-(\d+)-[0-9a-f]{4}-[a-z0-9]+$")
VIP = "10.99.100.1"
PORT = 80
CLIENT_IPS = ["10.99.0.%d" % i for i in range(10, 18)]
INSTANCES = (1, 2, 3)
BACKENDS = (("b1", "10.99.21.2"), ("b2", "10.99.22.2"))
BACKEND_URLS = ["http://%s:8080" % ip for _, ip in BACKENDS]
HAPROXY_IP = "10.99.30.2"
ADMIN = ("127.0.0.1", 9090)
MONITOR = "/rondo/health"
CLONE_NEWNET = 0x40000000
ACCESS = re.compile(r'^(\d+\.\d+\.\d+\.\d+) - - \[[^]]*\] "(\S+) (\S+) HTTP/1\.\d" (\d{3}) ')

_libc = ctypes.CDLL(None, use_errno=True)


def ns_name(role):
    return "%s-%s" % (RUN, role)


def inst_ip(i):
    return "10.99.%d.2" % (10 + i)


def run(argv, check=True, timeout=10):
    """Runs a short command (ip, sysctl): (status, stderr); TestFailure when it fails and check."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout * lib.SLOW)
    except subprocess.TimeoutExpired:
        raise lib.TestFailure("%s: no exit within %.0fs" % (" ".join(argv), timeout))
    err = p.stderr.decode("utf-8", "replace").strip()
    if check and p.returncode != 0:
        raise lib.TestFailure("%s: exit %d: %s" % (" ".join(argv), p.returncode, err))
    return p.returncode, err


# ---------------------------------------------------------------------------
# Namespaces: creation, teardown, sockets inside them
# ---------------------------------------------------------------------------

_created = []               # namespace names, in creation order
_created_lock = threading.Lock()


def _delete_ns(name):
    """Kills what still runs in namespace name (only ours: the name is ours), then deletes it."""
    try:
        out = subprocess.run(["ip", "netns", "pids", name], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=10).stdout.split()
    except subprocess.TimeoutExpired:
        out = []
    for pid in out:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (OSError, ValueError):
            pass
    run(["ip", "netns", "del", name], check=False)


def teardown():
    """Deletes every namespace of this run (their veths go with them). Idempotent."""
    with _created_lock:
        names = list(reversed(_created))
        del _created[:]
    for name in names:
        _delete_ns(name)


def sweep_stale():
    """Deletes the namespaces of earlier runs of this file whose process is gone."""
    try:
        out = subprocess.run(["ip", "netns", "list"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, timeout=10).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return
    for line in out.splitlines():
        name = line.split(" ")[0]
        m = STALE.match(name)
        if m and not lib.alive(int(m.group(1))):
            _delete_ns(name)


def add_ns(role):
    name = ns_name(role)
    run(["ip", "netns", "add", name])
    with _created_lock:
        _created.append(name)
    run(["ip", "-n", name, "link", "set", "lo", "up"])
    return name


def in_ns(ns, fn):
    """fn() run with this thread in namespace ns (a socket made there stays
    there), then back in ours."""
    with open("/proc/thread-self/ns/net") as own, open("/run/netns/" + ns) as there:
        if _libc.setns(there.fileno(), CLONE_NEWNET) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (ns, os.strerror(e)))
        try:
            return fn()
        finally:
            if _libc.setns(own.fileno(), CLONE_NEWNET) != 0:
                os._exit(3)     # this thread would make every later socket in the wrong place


def ns_client(ns, dst, src=None, timeout=10.0):
    """A lib.Client connected to dst from namespace ns (bound to src if given)."""
    s = in_ns(ns, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
    try:
        if src:
            s.bind((src, 0))
        s.settimeout(timeout * lib.SLOW)
        s.connect(dst)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        s.close()
        raise
    c = lib.Client.__new__(lib.Client)
    c.addr, c.timeout, c.sock = dst, timeout * lib.SLOW, s
    c.buf, c.rbuf, c.eof = bytearray(), bytearray(1 << 16), False
    return c


def ns_get(ns, dst, path, src=None, headers=None, host="rondo.test", timeout=10.0):
    with ns_client(ns, dst, src, timeout) as c:
        return c.request("GET", path, headers=headers, host=host)


# ---------------------------------------------------------------------------
# The network, built once for the file
# ---------------------------------------------------------------------------

class Net:
    def __init__(self):
        self.router = self.client = self.haproxy = None
        self.inst = {}              # i -> namespace of instance i
        self.backend_ns = {}        # name -> namespace
        self.resilient = False      # a resilient nexthop group carries the VIP
        self.route_lock = threading.Lock()
        self.hops = list(INSTANCES)

    def link(self, role_ns, ifname, subnet):
        """A veth from the router (ifname, subnet.1) to role_ns (up0, subnet.2), default route back."""
        r = self.router
        run(["ip", "-n", r, "link", "add", ifname, "type", "veth", "peer", "name", "up0",
             "netns", role_ns])
        run(["ip", "-n", r, "addr", "add", subnet + ".1/24", "dev", ifname])
        run(["ip", "-n", role_ns, "addr", "add", subnet + ".2/24", "dev", "up0"])
        run(["ip", "-n", r, "link", "set", ifname, "up"])
        run(["ip", "-n", role_ns, "link", "set", "up0", "up"])
        run(["ip", "-n", role_ns, "route", "add", "default", "via", subnet + ".1"])

    def build(self):
        self.router = add_ns("r")
        run(["ip", "netns", "exec", self.router, "sysctl", "-qw", "net.ipv4.ip_forward=1",
             "net.ipv4.fib_multipath_hash_policy=1"])
        self.client = add_ns("c")
        self.link(self.client, "vc", "10.99.0")
        for ip in CLIENT_IPS:
            run(["ip", "-n", self.client, "addr", "add", ip + "/24", "dev", "up0"])
        for i in INSTANCES:
            self.inst[i] = add_ns("l%d" % i)
            self.link(self.inst[i], "vl%d" % i, "10.99.%d" % (10 + i))
            run(["ip", "-n", self.inst[i], "addr", "add", VIP + "/32", "dev", "lo"])
        for name, ip in BACKENDS:
            self.backend_ns[name] = add_ns(name)
            self.link(self.backend_ns[name], "v" + name, ip.rsplit(".", 1)[0])
        self.haproxy = add_ns("h")
        self.link(self.haproxy, "vh", HAPROXY_IP.rsplit(".", 1)[0])
        for i in INSTANCES:
            run(["ip", "-n", self.router, "nexthop", "add", "id", str(i), "via", inst_ip(i),
                 "dev", "vl%d" % i])
        rc, _ = run(["ip", "-n", self.router, "nexthop", "add", "id", "100", "group",
                     "/".join(str(i) for i in INSTANCES), "type", "resilient", "buckets", "64"],
                    check=False)
        if rc == 0:
            self.resilient = True
            run(["ip", "-n", self.router, "route", "add", VIP + "/32", "nhid", "100"])
        else:
            argv = ["ip", "-n", self.router, "route", "add", VIP + "/32"]
            for i in INSTANCES:
                argv += ["nexthop", "via", inst_ip(i)]
            run(argv)
        self.start_backends()

    def start_backends(self):
        for name, ip in BACKENDS:
            log = open(os.path.join(suite.tmpdir, "backend-%s.log" % name), "ab")
            p = lib.spawn(["ip", "netns", "exec", self.backend_ns[name], sys.executable,
                           lib.BACKEND, "--host", ip, "--port", "8080", "--name", name],
                          stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log)
            log.close()
            line = lib._readline_deadline(p.stdout, time.monotonic() + 10 * lib.SLOW)
            expect(line and b"listening" in line, "backend %s did not start: %r", name, line)

    def set_hops(self, hops):
        """Routes the VIP to instances hops (the routing daemon's announcement)."""
        if self.resilient:
            run(["ip", "-n", self.router, "nexthop", "replace", "id", "100", "group",
                 "/".join(str(i) for i in hops), "type", "resilient", "buckets", "64"])
        else:
            argv = ["ip", "-n", self.router, "route", "replace", VIP + "/32"]
            for i in hops:
                argv += ["nexthop", "via", inst_ip(i)]
            run(argv)
        self.hops = list(hops)


_net = None
_net_error = None


def net():
    """The network, built by the first test that needs it (a failed build
    is torn down and fails every later test with the same reason)."""
    global _net, _net_error
    if _net_error is not None:
        raise lib.TestFailure("the network could not be built: %s" % _net_error)
    if _net is None:
        n = Net()
        try:
            n.build()
        except Exception as e:
            _net_error = str(e)
            teardown()
            raise
        _net = n
    elif _net.hops != list(INSTANCES):
        _net.set_hops(INSTANCES)
    return _net


# ---------------------------------------------------------------------------
# rondo in a namespace
# ---------------------------------------------------------------------------

class NsRondo(lib.Rondo):
    """lib.Rondo run with "ip netns exec" (which execs: the pid is rondo's)."""

    def __init__(self, ctx, ns, config, name):
        super().__init__(ctx, config)
        self.ns = ns
        self.name = name
        self.conf_path = os.path.join(ctx.tmpdir, "%s.json" % name)
        self.log_path = os.path.join(ctx.tmpdir, "%s.log" % name)

    def start(self, wait_ready=True):
        with open(self.conf_path, "w") as f:
            json.dump(self.config, f, indent=2)
        self.proc = lib.spawn(["ip", "netns", "exec", self.ns, lib.RONDO_BIN, "-c", self.conf_path],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, cwd=self.ctx.tmpdir)
        logf = open(self.log_path, "ab")
        threading.Thread(target=self._reader, args=(self.proc.stdout, logf), daemon=True).start()
        self.wait_log(r"master: ready", 10 * lib.SLOW)
        return self

    def access(self, needle=""):
        """(client, method, target, status) of each access log line whose target holds needle."""
        out = []
        with self.cond:
            lines = list(self.lines)
        for line in lines:
            m = ACCESS.match(line)
            if m and needle in m.group(3):
                out.append((m.group(1), m.group(2), m.group(3), int(m.group(4))))
        return out

    def admin_get(self, path):
        host, _, port = self.config["admin"]["listen"].rpartition(":")
        return ns_get(self.ns, (host, int(port)), path, host="%s:%s" % (host, port), timeout=5)

    def monitor(self):
        """The monitor's status on this instance's own address, None if it does not answer."""
        try:
            return ns_get(self.ns, ("127.0.0.1", PORT), MONITOR, timeout=2).status
        except (OSError, lib.TestFailure):
            return None

    def backends_up(self):
        body = self.admin_get("/metrics").body.decode()
        up = re.findall(r'^rondo_backend_up\{backend="([^"]+)"\} 1$', body, re.M)
        return sorted(up) == sorted(BACKEND_URLS)


def config(**extra):
    """The configuration every instance runs (access log on rondo's standard output)."""
    conf = {"port": PORT, "workers": 1, "servers": list(BACKEND_URLS),
            "healthCheckInterval": "300ms", "monitor": {"path": MONITOR},
            "stopGrace": "%ds" % int(2 * lib.SLOW), "accessLog": "-",
            "admin": {"listen": "%s:%d" % ADMIN}}
    conf.update(extra)
    return conf


def start_instances(ctx, conf):
    n = net()
    rs = {}
    for i in INSTANCES:
        r = NsRondo(ctx, n.inst[i], conf, "rondo-l%d" % i)
        ctx.rondos.append(r)
        rs[i] = r.start()
    for i, r in rs.items():
        lib.wait_until(r.backends_up, 10 * lib.SLOW, "both backends up in instance %d" % i)
    return rs


def xff(resp):
    vals = [v for k, v in resp.json()["headers"] if k.lower() == "x-forwarded-for"]
    expect_eq(len(vals), 1, "X-Forwarded-For fields")
    return vals[0]


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------

@suite.test
def ecmp_spreads_connections(ctx):
    rs = start_instances(ctx, config())
    n = net()
    total = 90
    seen_backends = set()
    for k in range(total):
        src = CLIENT_IPS[k % len(CLIENT_IPS)]
        resp = ns_get(n.client, (VIP, PORT), "/headers?spread=%d" % k, src=src)
        expect_eq(resp.status, 200, "request %d through the VIP" % k)
        expect_eq(xff(resp), src, "X-Forwarded-For of request %d (the client's own address)" % k)
        seen_backends.add(resp.header("X-Backend"))
    expect_eq(sorted(seen_backends), ["b1", "b2"], "backends that answered")

    def counted():
        got = {i: r.access("?spread=") for i, r in rs.items()}
        return sum(len(v) for v in got.values()) == total and got
    got = lib.wait_until(counted, 5 * lib.SLOW, lambda: "%d access log lines in all" % total)
    for i, lines in got.items():
        expect(len(lines) > 0, "instance %d got none of %d connections (%s)", i, total,
               {j: len(v) for j, v in got.items()})
        for client, _, target, status in lines:
            expect(client in CLIENT_IPS and status == 200,
                   "instance %d logged %s %s %d", i, client, target, status)


def hash_supported(ctx, conf):
    rc, out, err = ctx.run_rondo(["-t", "-c", "hash.json"], config=conf, name="hash.json")
    return rc == 0, (out + err).strip()


@suite.test
def hash_same_backend_through_every_instance(ctx):
    n = net()
    hconf = config(algorithm="hash", hashKey="header:X-Key", hashSeed="scale-out test")
    ok, why = hash_supported(ctx, hconf)
    if ok:
        rs = start_instances(ctx, hconf)
        keys = ["user-%d" % k for k in range(24)]
        where = {}
        for key in keys:
            for i in INSTANCES:
                resp = ns_get(n.client, (inst_ip(i), PORT), "/?key=%s" % key,
                              src=CLIENT_IPS[0], headers=[("X-Key", key)])
                expect_eq(resp.status, 200, "key %s through instance %d" % (key, i))
                where.setdefault(key, {})[i] = resp.header("X-Backend")
            # and through the VIP, wherever ECMP sends it
            resp = ns_get(n.client, (VIP, PORT), "/?key=%s" % key, src=CLIENT_IPS[1],
                          headers=[("X-Key", key)])
            where[key]["vip"] = resp.header("X-Backend")
        split = {k: v for k, v in where.items() if len(set(v.values())) != 1}
        expect(not split, "keys sent to different backends by different instances: %s" % split)
        used = {v[1] for v in where.values()}
        expect_eq(sorted(used), ["b1", "b2"], "backends the %d keys went to" % len(keys))
        for i, r in rs.items():
            expect(len(r.access("?key=")) >= len(keys), "instance %d: access log lines", i)
        return
    # No "hash" here: ip-hash draws its key at start, so the instances disagree.
    rs = start_instances(ctx, config(algorithm="ip-hash"))
    split = 0
    for src in CLIENT_IPS:
        got = set()
        for i in INSTANCES:
            resp = ns_get(n.client, (inst_ip(i), PORT), "/", src=src)
            expect_eq(resp.status, 200, "client %s through instance %d" % (src, i))
            got.add(resp.header("X-Backend"))
        split += len(got) > 1
    raise lib.TestSkip("hash not identical across instances in this build "
                       "(rondo -t: %s; with ip-hash %d of %d clients got different backends "
                       "from different instances)" % (why.splitlines()[0] if why else "refused",
                                                     split, len(CLIENT_IPS)))


class Poller(threading.Thread):
    """The routing daemon's stand-in: withdraws the next hop of an instance
    whose monitor did not answer 200 twice in a row (one slow answer on a
    busy machine is not a verdict), polling every 100 ms until stopped."""

    def __init__(self, n, rs, deadline):
        super().__init__(daemon=True)
        self.n, self.rs, self.deadline = n, rs, deadline
        self.stop = threading.Event()
        self.withdrawn = {}         # i -> monotonic time of the withdrawal
        self.error = None

    def run(self):
        try:
            bad = {i: 0 for i in self.rs}
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                for i in list(self.n.hops):
                    bad[i] = bad[i] + 1 if self.rs[i].monitor() != 200 else 0
                    if len(self.n.hops) > 1 and bad[i] >= 2:
                        with self.n.route_lock:
                            self.n.set_hops([h for h in self.n.hops if h != i])
                        self.withdrawn[i] = time.monotonic()
                self.stop.wait(0.1)
        except Exception as e:      # reported by the test
            self.error = e


@suite.test
def drain_with_stop_grace_loses_no_request(ctx):
    n = net()
    rs = start_instances(ctx, config())
    grace = 2 * lib.SLOW
    deadline = time.monotonic() + 30 * lib.SLOW
    poller = Poller(n, rs, deadline)
    poller.start()
    victim = rs[3]
    failures, sent, after_exit = [], 0, 0
    t_quit = t_exit = None
    t0 = time.monotonic()
    try:
        while sent < 5000 and time.monotonic() < deadline:
            now = time.monotonic()
            if t_quit is None and now - t0 > 0.5:
                t_quit = now
                victim.signal(signal.SIGQUIT)
            if t_exit is None and victim.proc.poll() is not None:
                t_exit = now
            if t_exit is not None and now - t_exit > 0.5 and after_exit >= 20:
                break
            src = CLIENT_IPS[sent % len(CLIENT_IPS)]
            # Withdrawing a next hop sends the packets of its open flows
            # elsewhere, where they are reset: stateless ECMP does that to a
            # connection open at that instant, whatever rondo does. The
            # withdrawal waits for the request in progress; what is checked
            # is rondo's part: serving through stopGrace, out of the route
            # before its listeners close.
            with n.route_lock:
                try:
                    resp = ns_get(n.client, (VIP, PORT), "/drain?n=%d" % sent, src=src, timeout=5)
                    if resp.status != 200:
                        failures.append((sent, resp.status))
                except (OSError, lib.TestFailure) as e:
                    failures.append((sent, repr(e)))
            sent += 1
            if t_exit is not None:
                after_exit += 1
            time.sleep(0.001)   # pacing: leaves the poller a moment to take the lock
    finally:
        poller.stop.set()
        poller.join(5)
    expect(poller.error is None, "poller: %r" % poller.error)
    expect(t_exit is not None, "instance 3 still running after %d requests" % sent)
    expect_eq(failures, [], "failed requests (of %d)" % sent)
    expect_eq(victim.proc.returncode, 0, "exit status of the drained instance")
    expect(3 in poller.withdrawn, "the poller never withdrew instance 3")
    took = poller.withdrawn[3] - t_quit
    expect(took < grace, "next hop withdrawn %.2fs after SIGQUIT, stopGrace is %.1fs", took, grace)
    expect_eq(sorted(poller.withdrawn), [3], "next hops withdrawn")
    victim.wait_log(r"graceful stop", 1)
    served = {i: len(r.access("/drain?")) for i, r in rs.items()}
    expect(all(served[i] > 0 for i in INSTANCES), "requests served per instance: %s" % served)
    expect(after_exit >= 20, "only %d requests after instance 3 exited" % after_exit)


@suite.test
def client_address_through_haproxy(ctx):
    haproxy = shutil.which("haproxy")
    if not haproxy:
        raise lib.TestSkip("haproxy is not installed")
    n = net()
    # instance 1 also listens on 8081, behind HAProxy: the same configuration plus proxyProtocol
    conf = config(port=8081, admin={"listen": "127.0.0.1:9091"},
                  proxyProtocol={"trusted": [HAPROXY_IP + "/32"]})
    r = NsRondo(ctx, n.inst[1], conf, "rondo-l1-pp")
    ctx.rondos.append(r)
    r.start()
    lib.wait_until(r.backends_up, 10 * lib.SLOW,
                   "both backends up behind HAProxy")
    cfg = os.path.join(ctx.tmpdir, "haproxy.cfg")
    with open(cfg, "w") as f:
        f.write("global\n    nbthread 1\n    maxconn 256\n"
                "defaults\n    mode tcp\n    timeout connect 5s\n"
                "    timeout client 30s\n    timeout server 30s\n"
                "frontend in\n    bind %s:80\n    default_backend rondo\n"
                "backend rondo\n    server l1 %s:8081 send-proxy-v2\n" % (HAPROXY_IP, inst_ip(1)))
    hlog = open(os.path.join(ctx.tmpdir, "haproxy.log"), "ab")
    hp = lib.spawn(["ip", "netns", "exec", n.haproxy, haproxy, "-db", "-f", cfg],
                   stdin=subprocess.DEVNULL, stdout=hlog, stderr=subprocess.STDOUT)
    hlog.close()
    try:
        def listening():
            expect(hp.poll() is None, "haproxy exited with %s" % hp.returncode)
            s = in_ns(n.haproxy, lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            try:
                s.bind((HAPROXY_IP, 80))
                return False
            except OSError:
                return True     # in use: haproxy holds it
            finally:
                s.close()
        lib.wait_until(listening, 10 * lib.SLOW, "haproxy listening")
        for k, src in enumerate(CLIENT_IPS[:4]):
            resp = ns_get(n.client, (HAPROXY_IP, 80), "/headers?pp=%d" % k, src=src)
            expect_eq(resp.status, 200, "through HAProxy from %s" % src)
            expect_eq(xff(resp), src, "X-Forwarded-For through HAProxy")
        lines = lib.wait_until(lambda: len(r.access("?pp=")) == 4 and r.access("?pp="),
                               5 * lib.SLOW, "4 access log lines")
        expect_eq(sorted(l[0] for l in lines), sorted(CLIENT_IPS[:4]),
                  "client addresses in the access log")
        # Straight to the PROXY listener, bypassing HAProxy: not trusted, closed.
        mark = r.mark()
        with ns_client(n.client, (inst_ip(1), 8081), src=CLIENT_IPS[0]) as c:
            c.send(lib.build_request("GET", "/direct"))
            expect(c.closed_by_peer(5), "a client that bypassed HAProxy got an answer")
        r.wait_log(r"%s: not in proxyProtocol\.trusted" % re.escape(CLIENT_IPS[0]),
                   5 * lib.SLOW, since=mark)
    finally:
        lib.kill_tree(hp)


def precheck():
    """Exits with SKIP (77) where namespaces cannot be made."""
    why = None
    if os.geteuid() != 0:
        why = "needs root for network namespaces"
    elif not shutil.which("ip"):
        why = "no ip command (iproute2)"
    elif not os.path.exists("/proc/thread-self/ns/net"):
        why = "no network namespaces in this kernel"
    else:
        probe = ns_name("probe")
        rc, err = run(["ip", "netns", "add", probe], check=False)
        if rc != 0:
            why = "ip netns add failed: %s" % err
        else:
            run(["ip", "netns", "del", probe], check=False)
    if why:
        print("SKIP test_scaleout: %s" % why)
        sys.exit(77)


if __name__ == "__main__":
    if lib.EXTERNAL:
        print("SKIP test_scaleout: needs its own instances (RONDO_ADDR is set)")
        sys.exit(77)
    precheck()
    sweep_stale()
    lib.at_cleanup(teardown)
    atexit.register(teardown)
    try:
        suite.main()
    finally:
        lib.cleanup_all()
        teardown()
