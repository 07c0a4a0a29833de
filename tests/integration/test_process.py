#!/usr/bin/env python3
"""Processes: master + workers + health child, respawn after a crash, reload
on SIGHUP, clean shutdown on SIGTERM/SIGINT with nothing left behind, drain
on SIGQUIT."""

import os
import re
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_process")

WORKERS = 2


def start(ctx, workers=WORKERS, record=False):
    bs = ctx.backends_n(2, record=record)
    r = ctx.rondo(lib.config(bs, healthCheckInterval="200ms",
                             healthCheck={"rise": 1, "fall": 1, "timeout": "200ms"},
                             workers=workers))
    wait_children(r, workers + 1)
    lib.warm_up(r, [b.name for b in bs])
    return r, bs


def wait_children(r, n, exclude=()):
    """Waits until the master has exactly n live children, none in exclude."""
    def ok():
        kids = r.children()
        return len(kids) == n and not set(kids) & set(exclude) and kids
    return lib.wait_until(ok, 10 * lib.SLOW,
                          "%d children of the master (now %s)" % (n, r.children()))


def health_pid(r, bs):
    """The health child's pid: from its name if it has one, else from the
    pid in its log lines, provoked by taking a backend down if need be."""
    kids = r.children()
    named = [p for p in kids if "health" in lib.proc_name(p).lower()]
    if len(named) == 1:
        return named[0]
    rx = r"rondo\[(\d+)\]:? health\b"

    def from_log():
        pids = [int(m.group(1)) for m in re.finditer(rx, r.log_text())]
        pids = [p for p in pids if p in r.children()]
        return pids[-1] if pids else None
    pid = from_log()
    if pid is None:
        victim = bs[-1]
        mark = r.mark()
        victim.kill()
        r.wait_log(r"backend http://127\.0\.0\.1:%d is down" % victim.port, 5 * lib.SLOW, since=mark)
        mark = r.mark()
        victim.start()
        r.wait_log(r"backend http://127\.0\.0\.1:%d is up" % victim.port, 5 * lib.SLOW, since=mark)
        pid = from_log()
    expect(pid is not None, "cannot tell which child is the health checker: %s",
           [(p, lib.proc_name(p)) for p in kids])
    return pid


def requests_work(r, n=20):
    for i in range(n):
        resp = r.get("/")
        expect_eq(resp.status, 200, "request %d status" % i)


@suite.test
def process_tree(ctx):
    r, bs = start(ctx)
    kids = r.children()
    expect_eq(len(kids), WORKERS + 1, "children of the master (%d workers + health)" % WORKERS)
    expect_eq(r.descendants(), kids, "descendants of the master (grandchildren?)")
    hp = health_pid(r, bs)
    expect(hp in kids, "health pid %d is not a child of the master", hp)
    # with -w the count follows the command line
    ctx.close()
    r = ctx.rondo({"healthCheckInterval": "1s", "servers": [b.url for b in ctx.backends_n(1, "c")],
                   "workers": 2}, args=["-w", "3"])
    wait_children(r, 3 + 1)


@suite.test
def worker_killed_is_respawned(ctx):
    r, bs = start(ctx)
    hp = health_pid(r, bs)
    workers = [p for p in r.children() if p != hp]
    expect_eq(len(workers), WORKERS, "workers")
    victim = workers[0]
    mark = r.mark()
    os.kill(victim, signal.SIGKILL)
    r.wait_log(r"master: .*worker \d+ \(pid %d\) killed by signal 9" % victim, 5 * lib.SLOW, since=mark)
    kids = wait_children(r, WORKERS + 1, exclude=[victim])
    expect(hp in kids, "the health child changed when a worker died")
    requests_work(r, 30)
    # and again: the respawned worker can die and come back too
    new = [p for p in kids if p not in workers and p != hp]
    expect_eq(len(new), 1, "new worker pids")
    mark = r.mark()
    os.kill(new[0], signal.SIGKILL)
    r.wait_log(r"master: .*worker \d+ \(pid %d\) killed by signal 9" % new[0], 5 * lib.SLOW, since=mark)
    wait_children(r, WORKERS + 1, exclude=[victim, new[0]])
    requests_work(r, 10)


@suite.test
def requests_survive_worker_kill(ctx):
    # A client hammering rondo while a worker dies: only requests that were
    # on the dying worker may fail; new connections all succeed right after.
    r, bs = start(ctx)
    hp = health_pid(r, bs)
    workers = [p for p in r.children() if p != hp]
    os.kill(workers[0], signal.SIGKILL)
    failures = 0
    for i in range(100):
        try:
            if r.get("/").status != 200:
                failures += 1
        except (OSError, lib.TestFailure):
            failures += 1
    expect(failures <= 1, "%d of 100 requests failed after a worker was killed", failures)
    wait_children(r, WORKERS + 1, exclude=[workers[0]])
    requests_work(r, 20)


@suite.test
def health_child_killed_is_respawned(ctx):
    r, bs = start(ctx)
    hp = health_pid(r, bs)
    mark = r.mark()
    os.kill(hp, signal.SIGKILL)
    r.wait_log(r"master: .*\(pid %d\).*signal 9" % hp, 5 * lib.SLOW, since=mark)
    wait_children(r, WORKERS + 1, exclude=[hp])
    requests_work(r)
    # the new health child does its job: a backend going down is noticed
    victim = bs[0]
    mark = r.mark()
    victim.kill()
    m = r.wait_log(r"rondo\[(\d+)\]:? health: (?:\w+: )?backend http://127\.0\.0\.1:%d is down" % victim.port,
                   5 * lib.SLOW, since=mark)
    expect(int(m.group(1)) != hp, "the down line came from the dead health child?")
    for i in range(10):
        resp = r.get("/")
        expect_eq((resp.status, resp.header("X-Backend")), (200, bs[1].name), "request %d" % i)


class Hammer(threading.Thread):
    """Requests on fresh connections, one after the other, until stopped;
    counts the answering backends and every failure."""

    def __init__(self, r):
        super().__init__(daemon=True)
        self.r = r
        self.stop = threading.Event()
        self.seen = {}
        self.failures = []
        self.sent = 0

    def run(self):
        while not self.stop.is_set():
            self.sent += 1
            try:
                resp = self.r.get("/")
                if resp.status != 200:
                    self.failures.append("status %d" % resp.status)
                name = resp.header("X-Backend")
                self.seen[name] = self.seen.get(name, 0) + 1
            except Exception as e:
                self.failures.append("%s: %s" % (type(e).__name__, e))

    def finish(self):
        self.stop.set()
        self.join(10)


@suite.test
def sighup_adds_backend_without_failures(ctx):
    r, bs = start(ctx)
    new = ctx.backend("b3")
    old_kids = r.children()
    h = Hammer(r)
    h.start()
    try:
        lib.wait_until(lambda: h.sent > 20, 5 * lib.SLOW, "requests before the reload")
        mark = r.mark()
        r.rewrite_config(dict(r.config, servers=[b.url for b in bs + [new]]))
        r.signal(signal.SIGHUP)
        r.wait_log(r"master: reload done, generation \d+", 5 * lib.SLOW, since=mark)
        lib.wait_until(lambda: h.seen.get("b3"), 5 * lib.SLOW, "the new backend to get requests")
        count = h.sent
        lib.wait_until(lambda: h.sent > count + 20, 5 * lib.SLOW, "requests after the reload")
    finally:
        h.finish()
    expect(not h.failures, "%d of %d requests failed across the reload: %s",
           len(h.failures), h.sent, h.failures[:3])
    # the old generation drains and goes; a new one takes its place
    wait_children(r, WORKERS + 1, exclude=old_kids)
    r.wait_log(r"master: generation \d+ finished", 5 * lib.SLOW, since=mark)
    requests_work(r)


@suite.test
def sighup_broken_config_keeps_old(ctx):
    r, bs = start(ctx)
    kids = r.children()
    good = dict(r.config)
    for broken in ('{"port": "%s", "servers": [' % r.config["port"],
                   dict(good, servers=["ftp://127.0.0.1:1"]),
                   dict(good, unknownKey=True)):
        mark = r.mark()
        r.rewrite_config(broken)
        r.signal(signal.SIGHUP)
        r.wait_log(r"master: .*reload failed", 5 * lib.SLOW, since=mark)
        expect_eq(r.children(), kids, "children after a failed reload")
        requests_work(r, 10)
    r.config = good
    r.rewrite_config(good)


def shutdown(ctx, sig):
    r, bs = start(ctx)
    # a keep-alive client idle on a worker must not hold the shutdown up
    idle = r.client()
    expect_eq(idle.request("GET", "/").status, 200, "idle client's request")
    procs = lib.all_procs()
    tree = {p: procs[p][3] for p in [r.pid] + r.descendants(procs) if p in procs}
    expect_eq(len(tree), WORKERS + 2, "processes in rondo's tree")
    t0 = time.monotonic()
    r.signal(sig)
    rc = r.wait_exit(5 * lib.SLOW)
    took = time.monotonic() - t0
    idle.close()
    expect(rc is not None, "master still running %.0fs after %s", 5 * lib.SLOW, sig.name)
    expect_eq(rc, 0, "master's exit status after %s" % sig.name)

    # The master reaps its children before it exits: none may be left,
    # neither under the master's pid nor re-parented (to us, the subreaper).
    left = [p for p, start_time in tree.items() if p != r.pid and lib.alive(p, start_time)]
    lib.reap_strays(kill=False)
    expect(not left, "still running after the master exited: %s",
           [(p, lib.proc_name(p)) for p in left])
    expect(took < 5 * lib.SLOW, "shutdown took %.1fs", took)
    # Its port is free again.
    try:
        c = lib.Client(r.addr, timeout=1)
    except OSError:
        return
    c.close()
    raise lib.TestFailure("something still accepts connections on rondo's port")


@suite.test
def sigterm_clean_exit(ctx):
    shutdown(ctx, signal.SIGTERM)


@suite.test
def sigint_clean_exit(ctx):
    shutdown(ctx, signal.SIGINT)


@suite.test
def sigquit_drains_request_in_flight(ctx):
    # SIGQUIT is the graceful stop: a request being served is completed,
    # then everything exits 0. (SIGTERM and SIGINT stop at once, like nginx.)
    r, bs = start(ctx, record=True)
    c = r.client(timeout=10)
    c.send(lib.build_request("GET", "/delay?ms=700"))
    lib.wait_until(lambda: any(b"GET /delay?ms=700 " in b.records() for b in bs), 5 * lib.SLOW,
                   "the request to reach a backend")
    mark = r.mark()
    r.signal(signal.SIGQUIT)
    try:
        resp = c.read_response()
    except lib.ConnectionClosed as e:
        raise lib.TestFailure("request in flight during SIGQUIT not completed: %s" % e)
    expect_eq(resp.status, 200, "request in flight during SIGQUIT")
    expect(resp.framing == "close" or "close" in resp.tokens("connection") or c.closed_by_peer(),
           "the drained connection stays open")
    c.close()
    rc = r.wait_exit(10 * lib.SLOW)
    expect_eq(rc, 0, "exit status after SIGQUIT")
    expect(r.find_log(r"drain", since=mark), "no drain in the log")


@suite.test
def connections_spread_across_workers(ctx):
    # The kernel wakes one worker per readiness and that one would accept the
    # whole queue; a worker holding more connections than the least loaded
    # one hands new ones over, so connections opened at once end up spread.
    r, bs = start(ctx, workers=2)
    clients = []
    try:
        # Connect all first: the connections wait in the accept queue together.
        clients = [r.client(timeout=10) for _ in range(40)]
        for c in clients:
            c.send(lib.build_request("GET", "/"))
        for i, c in enumerate(clients):
            expect_eq(c.read_response().status, 200, "request %d" % i)
    finally:
        for c in clients:
            c.close()
    r.signal(signal.SIGTERM)
    expect_eq(r.wait_exit(10 * lib.SLOW), 0, "exit status after SIGTERM")
    rx = r"worker \d+: exiting: served (\d+) connections"
    # The log reader may still be catching up with the last lines.
    lib.wait_until(lambda: len(re.findall(rx, r.log_text())) >= 2, 5 * lib.SLOW,
                   "the exit lines of the 2 workers")
    served = [int(n) for n in re.findall(rx, r.log_text())]
    expect_eq(len(served), 2, "exit lines of the 2 workers")
    # The warm-up requests also count; both workers must have a fair share.
    expect(min(served) >= 15, "connections per worker %s: one worker took most", served)



def cpu_seconds(pids):
    """utime + stime of the live processes in pids, in seconds."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


@suite.test
def busy_poll_stops_when_idle(ctx):
    # With the longest busy-poll window, a worker polls for 1 ms after I/O
    # and then sleeps: once traffic stops, its processes use no CPU. (A
    # worker that kept polling would use a whole CPU second per second.)
    bs = ctx.backends_n(1)
    r = ctx.rondo({"servers": [b.url for b in bs], "workers": 2, "busyPoll": 1000,
                   "healthCheckInterval": "10s"})
    wait_children(r, 3)
    lib.warm_up(r, [b.name for b in bs])
    with r.client() as c:
        for i in range(200):
            c.send(lib.build_request("GET", "/"))
            expect_eq(c.read_response().status, 200, "request %d" % i)
    lib.wait_until(lambda: lib.accepted_open(r.port) == 0, 5 * lib.SLOW,
                   "rondo closing the client connections")
    kids = r.children()
    before = cpu_seconds(kids)
    time.sleep(1.5)
    used = cpu_seconds(kids) - before
    expect(used < 0.15, "rondo's processes used %.2f CPU seconds in 1.5 idle seconds", used)
    r.signal(signal.SIGTERM)
    expect_eq(r.wait_exit(10 * lib.SLOW), 0, "exit status after SIGTERM")



@suite.test
def runs_as_pid1(ctx):
    # A container's entrypoint is PID 1: the children must not take the
    # master for dead (and exit at once, to be restarted in a loop).
    import shutil
    import subprocess
    unshare = shutil.which("unshare")
    if unshare is None:
        raise lib.TestSkip("no unshare(1)")
    probe = subprocess.run([unshare, "-fp", "--mount-proc", "true"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=10)
    if probe.returncode != 0:
        raise lib.TestSkip("cannot make a PID namespace here (unshare -fp: status %d)"
                           % probe.returncode)
    wrapper = os.path.join(ctx.tmpdir, "as-pid1")
    with open(wrapper, "w") as f:
        f.write('#!/bin/sh\nexec %s -fp --mount-proc %s "$@"\n' % (unshare, lib.RONDO_BIN))
    os.chmod(wrapper, 0o755)
    saved, lib.RONDO_BIN = lib.RONDO_BIN, wrapper
    try:
        bs = ctx.backends_n(2)
        r = ctx.rondo({"healthCheckInterval": "200ms", "servers": [b.url for b in bs],
                       "workers": WORKERS})
    finally:
        lib.RONDO_BIN = saved
    expect(r.find_log(r"rondo\[1\] master: ready"), "the master is not PID 1: %s", r.log_text())
    lib.warm_up(r, [b.name for b in bs])
    requests_work(r, 20)
    expect(not r.find_log(r"restarting"), "children restarted as PID 1's: %s",
           [l for l in r.lines if "restarting" in l][:3])


@suite.test
def sigint_to_group_never_restarts(ctx):
    # Ctrl-C in a terminal: SIGINT to the master and every child at once.
    # The children exit 0; the master, stopping too, must not restart them.
    bs = ctx.backends_n(1)
    for i in range(12):
        r = ctx.rondo({"healthCheckInterval": "1s", "servers": [b.url for b in bs],
                       "workers": 3})
        wait_children(r, 4)
        os.killpg(r.pid, signal.SIGINT)
        expect_eq(r.wait_exit(10 * lib.SLOW), 0, "exit status after a group SIGINT (try %d)" % i)
        lib.wait_until(lambda: r.done, 5 * lib.SLOW, "the end of rondo's output")
        expect(not r.find_log(r"restarting"), "try %d: children restarted while stopping: %s",
               i, [l for l in r.lines if "restarting" in l][:3])
        ctx.rondos.remove(r)


@suite.test
def fatal_exit_at_run_time_is_restarted(ctx):
    # A worker restarted later that cannot set itself up (here: no file
    # descriptor left) exits with status 2; that must not stop the server:
    # it is restarted with backoff, and serves once the cause is gone.
    import resource
    r, bs = start(ctx)
    hp = health_pid(r, bs)
    workers = [p for p in r.children() if p != hp]
    nfds = len(os.listdir("/proc/%d/fd" % r.pid))
    soft, hard = resource.prlimit(r.pid, resource.RLIMIT_NOFILE)
    mark = r.mark()
    resource.prlimit(r.pid, resource.RLIMIT_NOFILE, (nfds, hard))
    try:
        os.kill(workers[0], signal.SIGKILL)
        # killed: restarted at once; then status 2 in a row: 1 s, then 2 s
        r.wait_log(r"master: .*worker \d+ \(pid %d\) killed by signal 9, restarting$" % workers[0],
                   5 * lib.SLOW, since=mark)
        r.wait_log(r"master: .*worker \d+ \(pid \d+\) exited with status 2, restarting in 1s",
                   5 * lib.SLOW, since=mark)
        r.wait_log(r"master: .*worker \d+ \(pid \d+\) exited with status 2, restarting in 2s",
                   5 * lib.SLOW, since=mark)
        expect(r.proc.poll() is None, "the master stopped: %s", r.log_text()[-300:])
    finally:
        resource.prlimit(r.pid, resource.RLIMIT_NOFILE, (soft, hard))
    kids = wait_children(r, WORKERS + 1, exclude=[workers[0]])
    expect(hp in kids, "the health child changed")
    requests_work(r, 20)
    expect(not r.find_log(r"failed at startup", since=mark), "the server stopped")

if __name__ == "__main__":
    suite.main()
