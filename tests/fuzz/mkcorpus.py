#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: tests/fuzz/corpus/{request,response,chunked,proxyproto}/.

    python3 tests/fuzz/mkcorpus.py

Each seed is the 4 parameter bytes of fuzz.h (split point, little-endian
16 bits; head limit selector; flags) then the message. The seeds here split
their message in the middle with rondo's own head limit; libFuzzer varies the
rest. Valid messages first, then the classic request smuggling vectors and
other malformed input. Rerun after editing; stale files are removed.
"""

import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
H = b"Host: rondo.test\r\n"
SMUGGLED = b"GET /smuggled HTTP/1.1\r\n" + H + b"\r\n"


def req(line, *fields, body=b""):
    return line + b"\r\n" + b"".join(f + b"\r\n" for f in fields) + b"\r\n" + body


REQUEST = {
    # valid
    "get": req(b"GET / HTTP/1.1", H[:-2]),
    "get_http10": req(b"GET /a/b?c=d HTTP/1.0"),
    "get_http10_keepalive": req(b"GET / HTTP/1.0", b"Connection: Keep-Alive"),
    "head": req(b"HEAD /x HTTP/1.1", b"Host: a"),
    "post_cl": req(b"POST /echo HTTP/1.1", b"Host: a", b"Content-Length: 5", body=b"hello"),
    "post_cl_zero": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 0"),
    "post_chunked": req(b"POST /echo HTTP/1.1", b"Host: a", b"Transfer-Encoding: chunked",
                        body=b"5\r\nhello\r\n0\r\n\r\n"),
    "options_star": req(b"OPTIONS * HTTP/1.1", b"Host: a"),
    "absolute_form": req(b"GET http://example.com:8080/x?y HTTP/1.1", b"Host: example.com:8080"),
    "absolute_https": req(b"GET https://[::1]:443/ HTTP/1.1", b"Host: [::1]:443"),
    "empty_host": req(b"GET / HTTP/1.1", b"Host:"),
    "leading_crlf": b"\r\n\r\n" + req(b"GET / HTTP/1.1", b"Host: a"),
    "many_fields": req(b"GET / HTTP/1.1", b"Host: a",
                       *[b"X-Field-%d: value %d" % (i, i) for i in range(30)]),
    "upgrade": req(b"GET /ws HTTP/1.1", b"Host: a", b"Connection: keep-alive, Upgrade",
                   b"Upgrade: websocket"),
    "expect_continue": req(b"PUT /f HTTP/1.1", b"Host: a", b"Expect: 100-continue",
                           b"Content-Length: 3", body=b"abc"),
    "cl_dup_equal": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 5",
                        b"content-length: 5", body=b"hello"),
    "cl_list_equal": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 5, 5", body=b"hello"),
    "te_case": req(b"POST / HTTP/1.1", b"Host: a", b"transfer-encoding: ChUnKeD",
                   body=b"0\r\n\r\n"),
    "te_ows": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding: \t chunked \t",
                  body=b"0\r\n\r\n"),
    "hop_fields": req(b"GET / HTTP/1.1", b"Host: a", b"Connection: X-Hop, close",
                      b"X-Hop: 1", b"Keep-Alive: timeout=5", b"TE: trailers"),
    "obs_text": req(b"GET /\xc3\xa9 HTTP/1.1", b"Host: a", b"X-Latin: caf\xe9"),
    "pipelined": req(b"GET /1 HTTP/1.1", b"Host: a") + req(b"GET /2 HTTP/1.1", b"Host: a"),
    # smuggling vectors and malformed requests
    "cl_te": req(b"POST / HTTP/1.1", H[:-2], b"Content-Length: 6", b"Transfer-Encoding: chunked",
                 body=b"0\r\n\r\nG"),
    "te_cl": req(b"POST / HTTP/1.1", H[:-2], b"Transfer-Encoding: chunked", b"Content-Length: 3",
                 body=b"8\r\nSMUGGLED\r\n0\r\n\r\n"),
    "te_http10": req(b"POST / HTTP/1.0", b"Transfer-Encoding: chunked", body=b"0\r\n\r\n"),
    "te_space_before_colon": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding : chunked",
                                 body=b"0\r\n\r\n"),
    "te_xchunked": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding: x-chunked"),
    "te_nul": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding: chunked\x00"),
    "te_vtab": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding:\x0bchunked"),
    "te_fold": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding: x", b" chunked",
                   body=b"0\r\n\r\n"),
    "te_dup": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding: chunked",
                  b"Transfer-Encoding: identity", body=b"0\r\n\r\n"),
    "te_chunked_identity": req(b"POST / HTTP/1.1", b"Host: a",
                               b"Transfer-Encoding: chunked, identity", body=b"0\r\n\r\n"),
    "te_gzip_chunked": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding: gzip, chunked",
                           body=b"0\r\n\r\n"),
    "te_quoted": req(b"POST / HTTP/1.1", b"Host: a", b'Transfer-Encoding: "chunked"'),
    "te_params": req(b"POST / HTTP/1.1", b"Host: a", b'Transfer-Encoding: chunked;q="a\\"b"'),
    "te_empty_element": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer-Encoding: ,chunked"),
    "te_underscore": req(b"POST / HTTP/1.1", b"Host: a", b"Transfer_Encoding: chunked",
                         b"Content-Length: 5", body=b"hello"),
    "cl_different": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 5",
                        b"Content-Length: 6", body=b"hello!"),
    "cl_plus": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: +5", body=b"hello"),
    "cl_minus": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: -1"),
    "cl_inner_space": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 1 5"),
    "cl_leading_zeros": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 0005",
                            body=b"hello"),
    "cl_hex": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 0x5"),
    "cl_overflow": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 18446744073709551621"),
    "cl_max": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length: 4611686018427387904"),
    "cl_empty": req(b"POST / HTTP/1.1", b"Host: a", b"Content-Length:"),
    "bare_lf": b"GET / HTTP/1.1\nHost: a\n\n",
    "bare_cr": req(b"GET / HTTP/1.1", b"Host: a", b"X-A: 1\rX-B: 2"),
    "nul_in_field": req(b"GET / HTTP/1.1", b"Host: a", b"X-A: a\x00b"),
    "tab_request_line": req(b"GET\t/\tHTTP/1.1", b"Host: a"),
    "double_space": req(b"GET  / HTTP/1.1", b"Host: a"),
    "trailing_space": req(b"GET / HTTP/1.1 ", b"Host: a"),
    "lower_version": req(b"GET / http/1.1", b"Host: a"),
    "lower_method": req(b"get / HTTP/1.1", b"Host: a"),
    "http2": req(b"GET / HTTP/2.0", b"Host: a"),
    "http09": b"GET /\r\n\r\n",
    "connect": req(b"CONNECT a:443 HTTP/1.1", b"Host: a:443"),
    "userinfo": req(b"GET http://u@evil/ HTTP/1.1", b"Host: a"),
    "host_dup": req(b"GET / HTTP/1.1", b"Host: a", b"Host: b"),
    "host_missing": req(b"GET / HTTP/1.1", b"X-A: b"),
    "host_bad": req(b"GET / HTTP/1.1", b"Host: a b"),
    "obs_fold_first": b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    "field_trailing_space": req(b"GET / HTTP/1.1", b"Host: a", b"Content-Length : 5"),
    "too_many_crlf": b"\r\n" * 5 + req(b"GET / HTTP/1.1", b"Host: a"),
}

RESPONSE = {
    # [flags] (bit 0: the request was HEAD), message
    "ok_cl": b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    "ok_cl_head": (1, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"),
    "ok_chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "ok_gzip_chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "ok_chunked_gzip": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
    "ok_eof": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close",
    "ok_http10": b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n",
    "ok_no_reason": b"HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "ok_empty_reason": b"HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    "ok_long_reason": b"HTTP/1.1 404 Not \tFound At All\r\nContent-Length: 0\r\n\r\n",
    "no_content": b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "not_modified": b"HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n",
    "continue": b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    "switching": b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\n\r\n",
    "cl_dup": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "leading_crlf": b"\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "te_cl": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    "te_http10": b"HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    "cl_different": b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
    "cl_plus": b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\n",
    "te_params": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked;a=b\r\n\r\n",
    "status_99": b"HTTP/1.1 099 Low\r\n\r\n",
    "status_600": b"HTTP/1.1 600 High\r\n\r\n",
    "status_short": b"HTTP/1.1 20 OK\r\n\r\n",
    "version_12": b"HTTP/1.2 200 OK\r\n\r\n",
    "version_2": b"HTTP/2 200 OK\r\n\r\n",
    "bare_lf": b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    "obs_fold": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 0\r\n\r\n",
    "nul": b"HTTP/1.1 200 OK\r\nX-A: \x00\r\n\r\n",
    "space_before_colon": b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
}

CHUNKED = {
    "last_only": b"0\r\n\r\n",
    "one": b"5\r\nhello\r\n0\r\n\r\n",
    "two": b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    "upper_hex": b"A\r\n0123456789\r\n0\r\n\r\n",
    "leading_zeros": b"0005\r\nhello\r\n000\r\n\r\n",
    "ext_token": b"5;name=value\r\nhello\r\n0;last\r\n\r\n",
    "ext_quoted": b'5 ; a = "q\\"uo;ted" ; b\r\nhello\r\n0\r\n\r\n',
    "trailers": b"5\r\nhello\r\n0\r\nX-Sum: 1\r\nX-Other:\r\n\r\n",
    "next_message": b"1\r\nx\r\n0\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    "size_max": b"4000000000000000\r\nxx",
    "overflow": b"ffffffffffffffffff\r\nhello\r\n0\r\n\r\n",
    "overflow_62": b"4000000000000001\r\n",
    "prefix_0x": b"0x5\r\nhello\r\n0\r\n\r\n",
    "negative": b"-5\r\nhello\r\n0\r\n\r\n",
    "space_first": b" 5\r\nhello\r\n0\r\n\r\n",
    "space_then_crlf": b"5 \r\nhello\r\n0\r\n\r\n",
    "empty_ext": b"5;\r\nhello\r\n0\r\n\r\n",
    "ext_no_value": b"5;a=\r\nhello\r\n0\r\n\r\n",
    "ext_cr_in_quote": b'5;a="x\rGET / HTTP/1.1\r\n"\r\nhello\r\n0\r\n\r\n',
    "bare_lf_size": b"5\nhello\r\n0\r\n\r\n",
    "bare_lf_data": b"5\r\nhello\n0\r\n\r\n",
    "bare_lf_last": b"5\r\nhello\r\n0\n\n",
    "bare_lf_final": b"5\r\nhello\r\n0\r\n\n",
    "bare_cr": b"5\rhello\r\n0\r\n\r\n",
    "missing_crlf": b"5\r\nhelloXX0\r\n\r\n",
    "data_too_long": b"3\r\nhello\r\n0\r\n\r\n",
    "trailer_cl": b"0\r\nContent-Length: 50\r\n\r\n",
    "trailer_fold": b"0\r\nX-A: a\r\n b\r\n\r\n",
    "trailer_no_colon": b"0\r\nX-A\r\n\r\n",
    "trailer_space_name": b"0\r\nX-A : a\r\n\r\n",
    "nul_in_size": b"5\x00\r\nhello\r\n0\r\n\r\n",
    "long_ext": b"1;" + b"e" * 9000 + b"\r\nx\r\n0\r\n\r\n",
    "smuggle_in_data": b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED),
}

V2SIG = b"\r\n\r\n\x00\r\nQUIT\n"
V2_4 = bytes([192, 168, 0, 1, 10, 0, 0, 1]) + struct.pack(">HH", 56324, 443)
V2_6 = bytes(15) + b"\x01" + bytes(15) + b"\x02" + struct.pack(">HH", 40000, 8080)
GET = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"


def v2(cmd_fam, block):
    return V2SIG + cmd_fam + struct.pack(">H", len(block)) + block


PROXYPROTO = {
    # [flags] (fuzz_proxyproto.c: families of the addresses written), header + request
    "v1_tcp4": (1 | 2, b"PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n" + GET),
    "v1_tcp6": (0, b"PROXY TCP6 2001:db8::1 ::1 40000 8080\r\n" + GET),
    "v1_tcp6_mapped": (4 | 8, b"PROXY TCP6 ::ffff:10.0.0.1 ::ffff:10.0.0.2 1234 80\r\n" + GET),
    "v1_unknown": (1, b"PROXY UNKNOWN\r\n" + GET),
    "v1_unknown_long": (2, b"PROXY UNKNOWN " + b"f" * 90 + b"\r\n"),
    "v1_bad_port": (0, b"PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n"),
    "v1_bad_addr": (0, b"PROXY TCP4 1.2.3.256 5.6.7.8 1 2\r\n"),
    "v2_tcp4": (1 | 2, v2(b"\x21\x11", V2_4) + GET),
    "v2_tcp6": (0, v2(b"\x21\x21", V2_6) + GET),
    "v2_tlvs": (1, v2(b"\x21\x11", V2_4 + b"\x01\x00\x02h2" + b"\x04\x00\x00"
                     + b"\x20\x00\x05\x01\x00\x00\x00\x00")),
    "v2_local": (0, v2(b"\x20\x00", b"") + GET),
    "v2_unspec": (0, v2(b"\x21\x00", b"abc")),
    "v2_unix": (0, v2(b"\x21\x31", bytes(216))),
    "v2_udp4": (0, v2(b"\x21\x12", V2_4)),
    "v2_tlv_past_end": (0, v2(b"\x21\x11", V2_4 + b"\x04\x00\x09abc")),
    "v2_too_long": (0, V2SIG + b"\x21\x11\x04\x00"),
    "not_proxy": (0, GET),
}


def write(kind, seeds):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        os.unlink(os.path.join(d, old))
    for name, msg in sorted(seeds.items()):
        flags = 0
        if isinstance(msg, tuple):
            flags, msg = msg
        params = struct.pack("<HBB", len(msg) // 2, 0, flags)
        with open(os.path.join(d, name), "wb") as f:
            f.write(params + msg)
    print("%s: %d seeds" % (d, len(seeds)))


if __name__ == "__main__":
    write("request", REQUEST)
    write("response", RESPONSE)
    write("chunked", CHUNKED)
    write("proxyproto", PROXYPROTO)
