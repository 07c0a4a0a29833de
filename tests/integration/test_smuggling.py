#!/usr/bin/env python3
"""Request smuggling: every classic desync vector, sent raw to rondo in front
of a backend that records the bytes it receives.

Each vector is one test. Its request is followed on the same connection by a
valid pipelined GET /pipelined-NAME. rondo may do one of two things:

  - reject it: a 4xx or 5xx with Connection: close, the connection closed
    without an answer to the pipelined request, and not one byte of either
    at the backend (health-check HEADs aside);
  - forward it, when the vector is a valid request (its table entry gives the
    body the client meant; REJECT marks those that must be refused): then
    the backend must have received, read strictly by RFC 9112, exactly that
    request with one framing header (Content-Length or Transfer-Encoding:
    chunked, never both, none for no body) and the body the client meant,
    then the pipelined request, and nothing else: no GET /smuggled hidden in
    a body ever shows up as a request of its own. Also one Host field, agreeing
    with an absolute-form target (RFC 9112 3.2.2).

All vectors run against one rondo and one backend, started by the first test.
What happened to each vector goes to stderr ("rejected 400", "forwarded").
"""

import re
import sys

sys.dont_write_bytecode = True     # no __pycache__ in the source tree
import lib  # noqa: E402
from lib import expect, expect_eq  # noqa: E402

suite = lib.Suite("test_smuggling")

REJECT = None                       # the vector must be refused
HOST = b"Host: rondo.test"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: rondo.test\r\n\r\n"
SAN = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer")


def req(line, fields=(), body=b"", host=True):
    """Raw request bytes: line, Host (first, unless host=False), fields (each a
    line without its CRLF, sent as is), the empty line, body."""
    lines = [line] + ([HOST] if host else []) + list(fields)
    return b"".join(l + b"\r\n" for l in lines) + b"\r\n" + body


def post(fields, body, path=b"/echo", version=b"HTTP/1.1"):
    return req(b"POST " + path + b" " + version, fields, body)


def cl(body):
    return b"Content-Length: %d" % len(body)


def chunk(*pieces, last=b"0\r\n\r\n"):
    """pieces in the chunked coding, one chunk each, then last."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + last


TE = b"Transfer-Encoding: chunked"
CH_SMUGGLED = chunk(SMUGGLED)       # a chunked body holding a whole request

# Obfuscated Transfer-Encoding fields: name, field line(s), whether it is a
# valid "chunked" coding (True), an invalid Transfer-Encoding (False), or no
# Transfer-Encoding at all (None).
TE_VARIANTS = [
    ("te_extra_space", b"Transfer-Encoding:  chunked", True),
    ("te_trailing_space", b"Transfer-Encoding: chunked ", True),
    ("te_tab_value", b"Transfer-Encoding:\tchunked", True),
    ("te_capital", b"Transfer-Encoding: Chunked", True),
    ("te_lowercase_name", b"transfer-encoding: chunked", True),
    ("te_x_chunked", b"Transfer-Encoding: x-chunked", False),
    ("te_chunked_x", b"Transfer-Encoding: chunkedx", False),
    ("te_nul", b"Transfer-Encoding: chunked\x00", False),
    ("te_vtab", b"Transfer-Encoding: \x0bchunked", False),
    ("te_quoted", b'Transfer-Encoding: "chunked"', False),
    ("te_params", b"Transfer-Encoding: chunked;q=1", False),
    ("te_fold", b"Transfer-Encoding: x\r\n chunked", False),
    ("te_fold_empty", b"Transfer-Encoding:\r\n chunked", False),
    ("te_leading_space_line", b" Transfer-Encoding: chunked", False),
    ("te_space_before_colon", b"Transfer-Encoding : chunked", False),
    ("te_tab_before_colon", b"Transfer-Encoding\t: chunked", False),
    ("te_bare_lf_before", b"X-A: 1\nTransfer-Encoding: chunked", False),
    ("te_duplicate", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked", False),
    ("te_dup_identity", b"Transfer-Encoding: chunked\r\nTransfer-Encoding: identity", False),
    ("te_identity_dup", b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked", False),
    ("te_chunked_identity", b"Transfer-Encoding: chunked, identity", False),
    ("te_identity_chunked", b"Transfer-Encoding: identity, chunked", False),
    ("te_chunked_chunked", b"Transfer-Encoding: chunked, chunked", False),
    # Not a Transfer-Encoding: with a Content-Length, the length frames the body.
    ("te_underscore", b"Transfer_Encoding: chunked", None),
]

VECTORS = [
    # CL.TE and TE.CL: both framings at once.
    ("cl_te", post([cl(b"0\r\n\r\n" + SMUGGLED), TE], b"0\r\n\r\n" + SMUGGLED), REJECT),
    ("te_cl", post([TE, b"Content-Length: 4"], CH_SMUGGLED), REJECT),
    ("cl_te_http10", post([cl(CH_SMUGGLED), TE], CH_SMUGGLED, version=b"HTTP/1.0"), REJECT),
    ("te_http10", post([TE], CH_SMUGGLED, version=b"HTTP/1.0"), REJECT),
]

# TE.TE: each obfuscation alone (the body chunked), then beside a
# Content-Length (the classic TE.TE, where one side sees only the length).
for _name, _field, _valid in TE_VARIANTS:
    if _valid is not None:
        VECTORS.append((_name, post([_field], CH_SMUGGLED), SMUGGLED if _valid else REJECT))
    VECTORS.append((_name + "_with_cl", post([cl(CH_SMUGGLED), _field], CH_SMUGGLED),
                    CH_SMUGGLED if _valid is None else REJECT))

HELLO_SMUGGLED = b"hello" + SMUGGLED
VECTORS += [
    # Content-Length: duplicates, lists, signs, spaces, zeros, overflow.
    ("cl_duplicate_equal", post([b"Content-Length: 5", b"content-length: 5"], b"hello"), b"hello"),
    ("cl_list_equal", post([b"Content-Length: 5, 5"], b"hello"), b"hello"),
    ("cl_duplicate_different", post([b"Content-Length: 5", cl(HELLO_SMUGGLED)], HELLO_SMUGGLED),
     REJECT),
    ("cl_duplicate_different_rev", post([cl(HELLO_SMUGGLED), b"Content-Length: 5"],
                                        HELLO_SMUGGLED), REJECT),
    ("cl_list_different", post([b"Content-Length: 5, %d" % len(HELLO_SMUGGLED)], HELLO_SMUGGLED),
     REJECT),
    ("cl_plus", post([b"Content-Length: +5"], b"hello"), REJECT),
    ("cl_minus", post([b"Content-Length: -5"], b"hello"), REJECT),
    ("cl_leading_spaces", post([b"Content-Length:    5"], b"hello"), b"hello"),
    ("cl_trailing_spaces", post([b"Content-Length: 5 \t "], b"hello"), b"hello"),
    ("cl_inner_space", post([b"Content-Length: 4 9"], HELLO_SMUGGLED), REJECT),
    ("cl_leading_zeros", post([b"Content-Length: 0005"], b"hello"), b"hello"),
    ("cl_hex", post([b"Content-Length: 0x5"], b"hello"), REJECT),
    ("cl_decimal_point", post([b"Content-Length: 5.0"], b"hello"), REJECT),
    ("cl_empty", post([b"Content-Length:"], b"hello"), REJECT),
    ("cl_trailing_comma", post([b"Content-Length: 5,"], b"hello"), b"hello"),
    ("cl_overflow_wraps_to_5", post([b"Content-Length: 18446744073709551621"], HELLO_SMUGGLED),
     REJECT),
    ("cl_space_before_colon", post([b"Content-Length : 5"], HELLO_SMUGGLED), REJECT),
    ("cl_no_colon", post([b"Content-Length 5"], HELLO_SMUGGLED), REJECT),
    ("cl_obs_fold", post([b"Content-Length: 5", b" 0"], HELLO_SMUGGLED), REJECT),
    ("cl_nul", post([b"Content-Length: 5\x00"], HELLO_SMUGGLED), REJECT),

    # Chunk sizes.
    ("chunk_size_overflow", post([TE], b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"), REJECT),
    ("chunk_size_wraps_to_5", post([TE], b"10000000000000005\r\nhello\r\n0\r\n\r\n" + SMUGGLED),
     REJECT),
    ("chunk_size_0x", post([TE], b"0x5\r\nhello\r\n0\r\n\r\n"), REJECT),
    ("chunk_size_negative", post([TE], b"-5\r\nhello\r\n0\r\n\r\n"), REJECT),
    ("chunk_size_leading_space", post([TE], b" 5\r\nhello\r\n0\r\n\r\n"), REJECT),
    ("chunk_size_trailing_space", post([TE], b"5 \r\nhello\r\n0\r\n\r\n"), b"hello"),
    ("chunk_size_leading_zeros", post([TE], b"0000000000000000000005\r\nhello\r\n0\r\n\r\n"),
     b"hello"),
    ("chunk_size_upper_hex", post([TE], b"A\r\n0123456789\r\n0\r\n\r\n"), b"0123456789"),
    ("chunk_size_missing", post([TE], b"\r\nhello\r\n0\r\n\r\n"), REJECT),
    # Chunk extensions.
    ("chunk_ext_token", post([TE], b"5;ext=val\r\nhello\r\n0\r\n\r\n"), b"hello"),
    ("chunk_ext_quoted", post([TE], b'5;ext="a;b\\"c"\r\nhello\r\n0;last\r\n\r\n'), b"hello"),
    ("chunk_ext_bws", post([TE], b"5 ; ext = val\r\nhello\r\n0\r\n\r\n"), b"hello"),
    ("chunk_ext_empty", post([TE], b"5;\r\nhello\r\n0\r\n\r\n"), b"hello"),
    ("chunk_ext_crlf_in_quotes", post([TE], b'5;a="\r\n0\r\n\r\n' + SMUGGLED +
                                      b'"\r\nhello\r\n0\r\n\r\n'), REJECT),
    ("chunk_ext_bare_lf", post([TE], b"5;a\nb\r\nhello\r\n0\r\n\r\n"), REJECT),
    ("chunk_ext_nul", post([TE], b"5;a=\x00\r\nhello\r\n0\r\n\r\n"), REJECT),
    # Bare LF and CR, missing or misplaced CRLF in the chunk framing.
    ("chunk_bare_lf_after_size", post([TE], b"5\nhello\r\n0\r\n\r\n"), REJECT),
    ("chunk_bare_lf_after_data", post([TE], b"5\r\nhello\n0\r\n\r\n"), REJECT),
    ("chunk_bare_lf_last_chunk", post([TE], b"5\r\nhello\r\n0\n\r\n" + SMUGGLED), REJECT),
    ("chunk_bare_lf_final", post([TE], b"5\r\nhello\r\n0\r\n\n" + SMUGGLED), REJECT),
    ("chunk_bare_cr_after_size", post([TE], b"5\rhello\r\n0\r\n\r\n"), REJECT),
    ("chunk_data_no_crlf", post([TE], b"5\r\nhello" + SMUGGLED + b"0\r\n\r\n"), REJECT),
    ("chunk_data_longer_than_size", post([TE], b"3\r\nhello\r\n0\r\n\r\n"), REJECT),
    # Trailers.
    ("trailer_content_length", post([TE], b"5\r\nhello\r\n0\r\nContent-Length: 50\r\n\r\n"),
     b"hello"),
    ("trailer_transfer_encoding", post([TE], b"5\r\nhello\r\n0\r\nTransfer-Encoding: chunked"
                                       b"\r\n\r\n"), b"hello"),
    ("trailer_obs_fold", post([TE], b"5\r\nhello\r\n0\r\nX-A: a\r\n b\r\n\r\n"), REJECT),
    ("trailer_bare_lf", post([TE], b"5\r\nhello\r\n0\r\nX-A: a\n\r\n" + SMUGGLED), REJECT),
    ("trailer_no_colon", post([TE], b"5\r\nhello\r\n0\r\nX-A\r\n\r\n"), REJECT),
    # A whole request inside a valid body is data, nothing more.
    ("chunked_body_holds_request", post([TE], CH_SMUGGLED), SMUGGLED),
    ("cl_body_holds_request", post([cl(SMUGGLED)], SMUGGLED), SMUGGLED),
    ("get_with_body", req(b"GET /echo HTTP/1.1", [cl(SMUGGLED)], SMUGGLED), SMUGGLED),

    # NUL and other control bytes in the head.
    ("nul_in_value", req(b"GET / HTTP/1.1", [b"X-A: a\x00b"]), REJECT),
    ("nul_in_name", req(b"GET / HTTP/1.1", [b"X-A\x00: b"]), REJECT),
    ("nul_in_target", req(b"GET /a\x00b HTTP/1.1"), REJECT),
    ("bare_cr_in_value", req(b"GET / HTTP/1.1", [b"X-A: a\rContent-Length: 44"]) + SMUGGLED,
     REJECT),
    ("bare_lf_head", b"GET / HTTP/1.1\nHost: rondo.test\nContent-Length: 44\n\n" + SMUGGLED,
     REJECT),

    # Request line tricks.
    ("absolute_form_other_host", req(b"GET http://evil.test/abs HTTP/1.1"), b""),
    ("absolute_form_same_host", req(b"GET http://rondo.test/abs HTTP/1.1"), b""),
    ("absolute_form_userinfo", req(b"GET http://rondo.test@evil.test/ HTTP/1.1"), REJECT),
    ("absolute_form_no_host", req(b"GET http://rondo.test/ HTTP/1.1", host=False), REJECT),
    ("tab_separators", req(b"GET\t/\tHTTP/1.1"), REJECT),
    ("double_space_after_method", req(b"GET  / HTTP/1.1"), REJECT),
    ("double_space_before_version", req(b"GET /  HTTP/1.1"), REJECT),
    ("space_after_version", req(b"GET / HTTP/1.1 "), REJECT),
    ("space_before_method", req(b" GET / HTTP/1.1"), REJECT),
    ("space_in_target", req(b"GET /a HTTP/1.1 /b HTTP/1.1"), REJECT),
    ("lowercase_method", req(b"get /lower HTTP/1.1"), b""),
    ("lowercase_version", req(b"GET / http/1.1"), REJECT),
    ("version_1_10", req(b"GET / HTTP/1.10"), REJECT),
    ("http_0_9", b"GET /\r\n" + SMUGGLED, REJECT),
    ("cr_in_target", req(b"GET /a\rb HTTP/1.1"), REJECT),
    ("leading_empty_lines", b"\r\n\r\n" + req(b"GET /after-crlf HTTP/1.1"), b""),
    ("host_duplicate", req(b"GET / HTTP/1.1", [b"Host: evil.test"]), REJECT),
    ("host_missing", req(b"GET / HTTP/1.1", host=False), REJECT),
    ("host_space_before_colon", req(b"GET / HTTP/1.1", [b"Host : evil.test"]), REJECT),

    # Hop-by-hop fields named in Connection: framing and Host must survive.
    ("connection_names_content_length",
     post([b"Connection: Content-Length", b"Content-Length: 5"], b"hello"), b"hello"),
    ("connection_names_transfer_encoding",
     post([b"Connection: Transfer-Encoding", TE], CH_SMUGGLED), SMUGGLED),
    ("connection_names_host", req(b"GET /hop HTTP/1.1", [b"Connection: Host"]), b""),
    ("connection_long_list", req(b"GET /long HTTP/1.1", [b"Connection: " + b"a," * 3700 +
                                                         b"x-gone", b"X-Gone: 1"]), b""),

    # A fragment is no part of a request target: nothing after '#' may become a Host.
    ("absolute_form_fragment", req(b'GET http://good.test#"<svg>,evil.test@x/p HTTP/1.1'), REJECT),
    ("origin_form_fragment", req(b"GET /a#b HTTP/1.1"), REJECT),

    # Names with '_' read as '-' by CGI-style servers never reach the backend.
    ("underscore_xff", req(b"GET /u HTTP/1.1", [b"X_Forwarded_For: 6.6.6.6"]), b""),
    ("underscore_content_length", post([b"Content_Length: 5", b"Content-Length: 5"], b"hello"),
     b"hello"),

    # An explicit empty body keeps its length (some servers want one: 411).
    ("cl_zero_post", post([b"Content-Length: 0"], b""), b""),
]


# ---------------------------------------------------------------------------
# What the backend recorded, read strictly (RFC 9112)
# ---------------------------------------------------------------------------

TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Fields a trailer section must not carry on (RFC 9110 6.5.1).
TRAILER_FORBIDDEN = {b"content-length", b"transfer-encoding", b"host", b"connection",
                     b"upgrade", b"trailer", b"keep-alive", b"te"}


class Recorded:
    def __init__(self, line, headers):
        self.line = line                # the request line, bytes
        self.target = line.split(b" ")[1] if line.count(b" ") == 2 else b""
        self.headers = headers          # [(name, value)], bytes
        self.body = b""                 # decoded
        self.trailers = []

    def all(self, name):
        return [v for k, v in self.headers if k.lower() == name]


class Unparsable(Exception):
    pass


def parse_head(data):
    """(Recorded, offset of the body) for the head at the start of data, or
    None when it is incomplete; Unparsable when it is not strict HTTP/1.1."""
    end = data.find(b"\r\n\r\n")
    if end == -1:
        if b"\n\n" in data:
            raise Unparsable("bare LF ends a head")
        return None
    head = data[:end + 2]
    if re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", head.replace(b"\r\n", b"")):
        raise Unparsable("control byte or bare CR/LF in the head %r" % head[:200])
    lines = head.split(b"\r\n")[:-1]
    if not re.match(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+ [!-~\x80-\xff]+ HTTP/1\.1$", lines[0]):
        raise Unparsable("request line %r" % lines[0])
    headers = []
    for l in lines[1:]:
        name, sep, value = l.partition(b":")
        if not sep or not TOKEN.match(name):
            raise Unparsable("field line %r" % l)
        headers.append((name, value.strip(b" \t")))
    return Recorded(lines[0], headers), end + 4


def parse_chunked(data, pos, r):
    """Decodes a chunked body from data[pos:] into r: the offset after it, or
    None when incomplete; Unparsable when malformed."""
    out = []
    while True:
        eol = data.find(b"\r\n", pos)
        if eol == -1:
            return None
        m = re.match(rb"^([0-9A-Fa-f]+)([ \t]*;[^\r\n]*)?$", data[pos:eol])
        if not m:
            raise Unparsable("chunk size line %r" % data[pos:eol][:100])
        size = int(m.group(1), 16)
        pos = eol + 2
        if size == 0:
            break
        if len(data) < pos + size + 2:
            return None
        out.append(data[pos:pos + size])
        if data[pos + size:pos + size + 2] != b"\r\n":
            raise Unparsable("no CRLF after chunk data")
        pos += size + 2
    while True:
        eol = data.find(b"\r\n", pos)
        if eol == -1:
            return None
        line = data[pos:eol]
        pos = eol + 2
        if not line:
            break
        name, sep, value = line.partition(b":")
        if not sep or not TOKEN.match(name) or re.search(rb"[\x00-\x08\x0a-\x1f\x7f]", line):
            raise Unparsable("trailer line %r" % line)
        r.trailers.append((name, value.strip(b" \t")))
    r.body = b"".join(out)
    return pos


def parse_requests(data):
    """The complete requests at the start of data, read strictly, and what is
    left: ([Recorded], leftover bytes). Checks the framing of each."""
    out, pos = [], 0
    while pos < len(data):
        got = parse_head(data[pos:])
        if got is None:
            break
        r, n = got
        start = pos + n
        cls, tes = r.all(b"content-length"), r.all(b"transfer-encoding")
        if len(cls) + len(tes) > 1:
            raise Unparsable("%d framing fields in %r: %r" % (len(cls) + len(tes), r.line,
                                                              cls + tes))
        if tes:
            if tes[0].lower() != b"chunked":
                raise Unparsable("Transfer-Encoding %r" % tes[0])
            end = parse_chunked(data, start, r)
            if end is None:
                break
        elif cls:
            if not cls[0].isdigit():
                raise Unparsable("Content-Length %r" % cls[0])
            end = start + int(cls[0])
            if end > len(data):
                break
            r.body = data[start:end]
        else:
            end = start
        out.append(r)
        pos = end
    return out, data[pos:]


# ---------------------------------------------------------------------------
# The shared rondo and backend
# ---------------------------------------------------------------------------

class Shared:
    ctx = None
    rondo = None
    backend = None
    log_seen = 0


def shared():
    """rondo (one worker) in front of one recording backend, for every vector;
    with RONDO_ADDR, the external rondo and no backend of ours."""
    if Shared.ctx is None:
        ctx = lib.Context(suite, "shared", external_ok=True)
        Shared.ctx = ctx
        if lib.EXTERNAL:
            Shared.rondo = ctx.rondo({})
        else:
            Shared.backend = ctx.backend("rec", record=True)
            Shared.rondo = ctx.rondo({"healthCheckInterval": "300ms", "workers": 1,
                                      "servers": [Shared.backend.url]})
            lib.warm_up(Shared.rondo, [Shared.backend.name])
    return Shared.rondo, Shared.backend


def records(b):
    return lib.strip_health_checks(b.records()) if b is not None else b""


def check_sanitizers(r):
    """No sanitizer report in the shared rondo's log since the last call."""
    with r.cond:
        lines = r.lines[Shared.log_seen:]
        Shared.log_seen = len(r.lines)
    bad = [l for l in lines if SAN.search(l)]
    expect(not bad, "sanitizer report in rondo's log (%s): %s", r.log_path,
           bad[0] if bad else "")


def request_target(raw):
    line = raw.lstrip(b"\r\n").split(b"\r\n", 1)[0]
    return line.split(b" ")[1]


ABSOLUTE = re.compile(rb"^https?://([^/?#]*)(.*)$", re.I | re.S)


def forwarded_target(raw):
    """What the backend should see: rondo sends absolute-form as origin-form."""
    target = request_target(raw)
    m = ABSOLUTE.match(target)
    if not m:
        return target
    path = m.group(2)
    return path if path.startswith(b"/") else b"/" + path


def check_host(rec, raw):
    hosts = rec.all(b"host")
    expect_eq(len(hosts), 1, "Host fields the backend received for %r" % rec.line)
    for target in (rec.target, request_target(raw)):
        m = ABSOLUTE.match(target)
        if m:
            # RFC 9112 3.2.2: the authority in the target wins over Host; the
            # backend must be told that one host, whatever form it reads.
            expect(m.group(1).lower() == hosts[0].lower(),
                   "the client sent target %r, the backend received target %r with Host %r: "
                   "two readings of the host", request_target(raw), rec.target, hosts[0])


def outcome(name, what):
    sys.stderr.write("  %-40s %s\n" % (name, what))
    sys.stderr.flush()


def run_vector(name, raw, want):
    r, b = shared()
    pipelined = b"GET /pipelined-%s HTTP/1.1\r\nHost: rondo.test\r\n\r\n" % name.encode()
    before = len(records(b))
    with lib.Client(r.addr, timeout=5.0) as c:
        c.send(raw + pipelined)
        method = raw.lstrip(b"\r\n").split(b" ", 1)[0].decode("latin-1")
        try:
            resp = c.read_response(method)
        except lib.ConnectionClosed as e:
            raise lib.TestFailure("no answer to the vector: %s" % e)
        forwarded = resp.header("X-Backend") is not None
        if not forwarded:
            outcome(name, "rejected %d" % resp.status)
            expect(400 <= resp.status <= 599, "rondo answered %d itself", resp.status)
            expect("close" in resp.tokens("connection"),
                   "no Connection: close in the %d: %s", resp.status, resp.headers)
            try:
                closed = c.closed_by_peer()
            except lib.TestFailure as e:
                raise lib.TestFailure("the request pipelined after the rejected one was "
                                      "answered: %s" % e)
            expect(closed, "connection still open after the %d", resp.status)
            second = None
        else:
            outcome(name, "forwarded (%d)" % resp.status)
            expect(want is not REJECT, "forwarded to the backend, which answered %d: %s",
                   resp.status, resp.headers)
            expect_eq(resp.status, 200, "status of the forwarded vector")
            expect_eq(resp.header("X-Path").encode("latin-1"), forwarded_target(raw),
                      "X-Path of the forwarded vector")
            if request_target(raw).endswith(b"/echo"):
                expect_eq(resp.body, want, "body echoed by the backend")
            second = c.read_response()
            expect_eq((second.status, second.header("X-Path")),
                      (200, "/pipelined-%s" % name), "answer to the pipelined request")

    # A request on a fresh connection marks the end of what this vector sent.
    sentinel = "/sentinel-%s" % name
    resp = r.get(sentinel)
    expect_eq((resp.status, resp.header("X-Path")), (200, sentinel), "sentinel request")
    check_sanitizers(r)
    if b is None:
        return
    rec = records(b)[before:]
    end = rec.find(b"GET %s HTTP/1.1\r\n" % sentinel.encode())
    expect(end != -1, "sentinel not recorded by the backend: %r", rec[-300:])
    rec = rec[:end]

    if not forwarded:
        expect(rec == b"", "rejected, yet the backend received %d bytes: %r", len(rec), rec[:300])
        return
    try:
        reqs, left = parse_requests(rec)
    except Unparsable as e:
        raise lib.TestFailure("the backend received a message it cannot read strictly (%s): %r"
                              % (e, rec[:400]))
    targets = [x.target for x in reqs]
    expect(b"/smuggled" not in targets, "the smuggled request reached the backend: %r", rec[:400])
    expect(left == b"", "the backend received trailing bytes %r after %r", left[:200], targets)
    expect_eq(targets, [forwarded_target(raw), b"/pipelined-" + name.encode()],
              "requests received by the backend")
    first = reqs[0]
    nframing = len(first.all(b"content-length")) + len(first.all(b"transfer-encoding"))
    sent_cl = re.search(rb"\r\ncontent-length:", raw.split(b"\r\n\r\n", 1)[0], re.I)
    expect_eq(nframing, 1 if want or sent_cl else 0, "framing fields the backend received")
    underscored = [k for k, _ in first.headers if b"_" in k]
    expect(not underscored, "fields with '_' reached the backend: %r", underscored)
    bad = [k for k, _ in first.trailers if k.lower() in TRAILER_FORBIDDEN]
    expect(not bad, "trailer fields the backend must not get: %r", bad)
    expect_eq(first.body, want, "body the backend received")
    check_host(first, raw)


def make_case(name, raw, want):
    def case(ctx):
        try:
            run_vector(name, raw, want)
        except lib.TestFailure as e:
            where = []
            if Shared.rondo is not None and not Shared.rondo.external:
                where.append("rondo log %s" % Shared.rondo.log_path)
            if Shared.backend is not None:
                where.append("backend record %s" % Shared.backend.record_path)
            raise type(e)("%s [%s]" % (e, ", ".join(where)) if where else str(e))
    case.__name__ = name
    return case


_names = set()
for _name, _raw, _want in VECTORS:
    assert _name not in _names, _name
    _names.add(_name)
    suite.test(make_case(_name, _raw, _want), external_ok=True)


if __name__ == "__main__":
    suite.main()
