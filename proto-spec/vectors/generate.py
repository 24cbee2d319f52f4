#!/usr/bin/env python3
"""Generates the TensorWire v1 test vectors (proto-spec/vectors/*.tvec).

This is an encoder written independently of the Swift module, straight from PROTOCOL.md, so
the Swift tests that replay these files cross-check the two.  The expected `decoded:` lines
are rendered from the values used to build each frame, not by parsing the bytes.

Usage: python3 proto-spec/vectors/generate.py      (rewrites the .tvec files next to it)
Standard library only.
"""
import os
import struct

PREFACE = bytes([0x89, 0x54, 0x57, 0x52, 0x0D, 0x0A, 0x1A, 0x0A])
HELLO, HELLO_ACK, REQUEST, RESPONSE, CANCEL, PING, PONG, GOAWAY = range(1, 9)
TYPE_NAMES = {1: "HELLO", 2: "HELLO_ACK", 3: "REQUEST", 4: "RESPONSE", 5: "CANCEL",
              6: "PING", 7: "PONG", 8: "GOAWAY"}
CODES = ["OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
         "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
         "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
         "UNAUTHENTICATED"]
DT = {"FP32": (1, 4), "UINT8": (2, 1), "INT8": (3, 1), "UINT16": (4, 2), "INT16": (5, 2),
      "INT32": (6, 4), "INT64": (7, 8), "BOOL": (9, 1), "FP16": (10, 2), "FP64": (11, 8),
      "UINT32": (12, 4), "UINT64": (13, 8), "BF16": (16, 2)}
DEFAULT_SETTINGS = [(1, 4194304), (2, 256), (3, 8192)]


def code_name(c):
    return CODES[c] if c < len(CODES) else "UNKNOWN(%d)" % c


# ---------------------------------------------------------------- primitive encoders

def u8(v): return struct.pack("<B", v)
def u16(v): return struct.pack("<H", v)
def u32(v): return struct.pack("<I", v)
def u64(v): return struct.pack("<Q", v)
def i64(v): return struct.pack("<q", v)


def string(s):
    b = s.encode() if isinstance(s, str) else s
    return u16(len(b)) + b


def pad(buf):
    """Zero padding that brings len(buf) (an offset from the payload start) to a multiple of 64."""
    buf += bytes((-len(buf)) % 64)


def frame(ftype, stream, payload, flags=0, reserved=0, length=None):
    n = len(payload) if length is None else length
    return u32(n) + u8(ftype) + u8(flags) + u16(reserved) + u32(stream) + payload


def settings(entries=DEFAULT_SETTINGS):
    return u16(len(entries)) + b"".join(u16(i) + u64(v) for i, v in entries)


def metadata(pairs):
    return u16(len(pairs)) + b"".join(string(k) + string(v) for k, v in pairs)


# ---------------------------------------------------------------- frames + expected summaries

def settings_summary(entries):
    d = {1: 4194304, 2: 256, 3: 8192}
    for i, v in entries:
        if i in d:
            d[i] = v
    return "frame=%d streams=%d metadata=%d" % (d[1], d[2], d[3])


def hello(min_v=1, max_v=1, sets=DEFAULT_SETTINGS, token="", stream=0):
    p = u16(min_v) + u16(max_v) + settings(sets) + string(token)
    return frame(HELLO, stream, p), "HELLO stream=%d min=%d max=%d %s token=%s" % (
        stream, min_v, max_v, settings_summary(sets), token)


def hello_ack(version=1, sets=DEFAULT_SETTINGS, name="tensorwire"):
    p = u16(version) + settings(sets) + string(name)
    return frame(HELLO_ACK, 0, p), "HELLO_ACK stream=0 version=%d %s server=%s" % (
        version, settings_summary(sets), name)


def ping(opaque, ftype=PING, flags=0):
    return frame(ftype, 0, u64(opaque), flags=flags), "%s stream=0 opaque=%016x" % (TYPE_NAMES[ftype], opaque)


def goaway(last, code, message):
    p = u32(last) + u16(code) + string(message)
    return frame(GOAWAY, 0, p), "GOAWAY stream=0 last=%d code=%s message=%s" % (last, code_name(code), message)


def cancel(stream):
    return frame(CANCEL, stream, b""), "CANCEL stream=%d" % stream


def md_summary(pairs):
    return "{" + ",".join("%s=%s" % kv for kv in pairs) + "}"


def shape_summary(dims):
    return "x".join(str(d) for d in dims) if dims else "scalar"


def data_summary(data):
    """Tensor data in `decoded:` lines: hex up to 32 bytes, else FNV-1a 32-bit of the bytes."""
    if len(data) <= 32:
        return data.hex()
    h = 0x811C9DC5
    for b in data:
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return "fnv1a32=%08x" % h


def tensor(buf, name, dt, dims, data, byte_length=None, rank=None, dtype_code=None):
    """Appends a tensor to `buf` (which starts at the payload start); returns its summary."""
    code, _ = DT[dt] if dt in DT else (None, None)
    buf += string(name) + u8(dtype_code if dtype_code is not None else code)
    buf += u8(len(dims) if rank is None else rank)
    for d in dims:
        buf += i64(d)
    buf += u64(len(data) if byte_length is None else byte_length)
    pad(buf)
    buf += data
    return "%s:%s:%s:%s" % (name, dt, shape_summary(dims), data_summary(data))


def request(stream, method, body_fn, timeout=0, md=(), raw_method=None, no_pad=False):
    """body_fn(buf) appends the body to the payload buffer and returns the body summary."""
    buf = bytearray(string(raw_method if raw_method is not None else method) + u64(timeout) + metadata(list(md)))
    if not no_pad:
        pad(buf)
    body_offset = len(buf)
    body = body_fn(buf)
    s = "REQUEST stream=%d method=%s timeout=%d metadata=%s body_offset=%d" % (
        stream, method, timeout, md_summary(md), body_offset)
    return frame(REQUEST, stream, bytes(buf)), s + ((" " + body) if body else "")


def response(stream, body_fn, code=0, message="", md=()):
    buf = bytearray(u16(code) + string(message) + metadata(list(md)))
    pad(buf)
    body_offset = len(buf)
    body = body_fn(buf)
    s = "RESPONSE stream=%d status=%s message=%s metadata=%s body_offset=%d" % (
        stream, code_name(code), message, md_summary(md), body_offset)
    return frame(RESPONSE, stream, bytes(buf)), s + ((" " + body) if body else "")


def empty_body(buf):
    return ""


def infer_request_body(model, version, inputs, outputs, trailing=b""):
    def fn(buf):
        buf += string(model) + u64(version) + u16(len(inputs))
        ts = [tensor(buf, *t) for t in inputs]
        buf += u16(len(outputs)) + b"".join(string(o) for o in outputs)
        buf += trailing
        return "model=%s version=%d inputs=[%s] outputs=[%s]" % (model, version, ",".join(ts), ",".join(outputs))
    return fn


def infer_response_body(model, version, outputs):
    def fn(buf):
        buf += string(model) + u64(version) + u16(len(outputs))
        ts = [tensor(buf, *t) for t in outputs]
        return "model=%s version=%d outputs=[%s]" % (model, version, ",".join(ts))
    return fn


def f32(*xs):
    return b"".join(struct.pack("<f", x) for x in xs)


# ---------------------------------------------------------------- vector files

def hex_lines(c):
    """32 bytes per `hex:` line; runs of 256+ zero bytes become `zeros: N` lines."""
    out, i = [], 0
    while i < len(c):
        z = i
        while z < len(c) and c[z] == 0:
            z += 1
        if z - i >= 256:
            out.append("zeros: %d" % (z - i))
            i = z
            continue
        j = c.find(bytes(256), i + 1)
        end = min(i + 32, len(c)) if j < 0 else min(i + 32, j)
        h = c[i:end].hex()
        out.append("hex: " + " ".join(h[k:k + 8] for k in range(0, len(h), 8)))
        i = end
    return out


class VectorFile:
    def __init__(self, path, title):
        self.path, self.lines, self.names = path, ["# " + title, "# Generated by generate.py; do not edit."], set()

    def add(self, name, description, role, parts, result, frames=None, decoded=None, method=None,
            max_frame_size=None):
        """parts: list of bytes or (bytes, summary) tuples, concatenated in order."""
        assert name not in self.names, name
        self.names.add(name)
        chunks, summaries = [], []
        for p in parts:
            if isinstance(p, tuple):
                chunks.append(p[0]); summaries.append(p[1])
            else:
                chunks.append(p)
        out = ["", "vector: " + name, "description: " + description, "role: " + role]
        if max_frame_size is not None:
            out.append("max-frame-size: %d" % max_frame_size)
        if method is not None:
            out.append("method: " + method)
        for c in chunks:
            out += hex_lines(c)
        out.append("frames: " + (" ".join(frames) if frames else "-"))
        for d in (summaries if decoded is None else decoded):
            out.append("decoded: " + d)
        out.append("result: " + result)
        out.append("end")
        self.lines += out

    def write(self):
        with open(self.path, "w") as f:
            f.write("\n".join(self.lines) + "\n")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    h = hello()
    ha = hello_ack()
    start = [PREFACE, h]  # what every server-side vector after the handshake begins with

    # ------------------------------------------------------------ connection level
    c = VectorFile(os.path.join(here, "connection.tvec"), "Connection-level vectors: preface, header, HELLO, PING, CANCEL, GOAWAY")
    c.add("hello-minimal", "preface then HELLO with default settings", "server", start, "ok", ["HELLO"])
    c.add("hello-token-unknown-setting", "HELLO with auth token, custom settings and an ignored unknown setting id 99",
          "server", [PREFACE, hello(1, 3, [(1, 65536), (99, 12345), (2, 8), (3, 0)], token="Bearer.abc-123")],
          "ok", ["HELLO"])
    c.add("hello-no-settings", "HELLO with zero settings entries: defaults apply", "server",
          [PREFACE, hello(1, 1, [])], "ok", ["HELLO"])
    c.add("hello-ack", "client side: HELLO_ACK with custom settings", "client",
          [hello_ack(1, [(1, 16384), (2, 1), (3, 1048576)], "tw-1")], "ok", ["HELLO_ACK"])
    c.add("goaway-version-mismatch", "client side: server refuses the version range with GOAWAY before HELLO_ACK",
          "client", [goaway(0, 9, "no-common-version")], "ok", ["GOAWAY"])
    c.add("ping", "PING after the handshake", "server", start + [ping(0x0123456789ABCDEF)], "ok", ["HELLO", "PING"])
    c.add("pong", "PONG after the handshake", "server", start + [ping(0xFEDCBA9876543210, PONG)], "ok", ["HELLO", "PONG"])
    c.add("ping-flags-ignored", "unknown flag bits are ignored", "server", start + [ping(7, flags=0xFF)], "ok",
          ["HELLO", "PING"])
    c.add("client-ping-pong", "client side: PING and PONG from the server", "client",
          [ha, ping(1), ping(2, PONG)], "ok", ["HELLO_ACK", "PING", "PONG"])
    c.add("cancel", "REQUEST then CANCEL of the same stream", "server",
          start + [request(1, "ListModels", empty_body), cancel(1)], "ok", ["HELLO", "REQUEST", "CANCEL"])
    c.add("goaway-graceful", "client GOAWAY with OK after a request", "server",
          start + [request(5, "ServerInfo", empty_body), goaway(5, 0, "bye")], "ok", ["HELLO", "REQUEST", "GOAWAY"])
    c.add("goaway-unknown-code", "GOAWAY with status number 99 keeps the raw value", "client",
          [ha, goaway(3, 99, "future")], "ok", ["HELLO_ACK", "GOAWAY"])
    c.add("incomplete-header", "stream ends inside a frame header: decoder waits for more", "server",
          [PREFACE, h, ping(1)[0][:7]], "incomplete", ["HELLO"])
    c.add("incomplete-payload", "stream ends inside a payload: decoder waits for more", "server",
          [PREFACE, h[0][:20]], "incomplete")
    # Head pads to 64; body "m", version, count = 13 bytes; tensor header to 98, padded to 128;
    # data; u16 output count: 130 + N bytes of payload.
    exact = request(1, "Infer", infer_request_body("m", 0, [("x", "UINT8", [16254], bytes(16254))], []))
    assert len(exact[0]) == 12 + 16384
    c.add("max-frame-size-exact", "payload exactly at a 16 KiB limit is accepted", "server",
          start + [exact], "ok", ["HELLO", "REQUEST"], max_frame_size=16384)

    c.add("bad-preface-http", "an HTTP/1.1 client: rejected on the first byte", "server",
          [b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"], "connection-error INVALID_ARGUMENT")
    c.add("bad-preface-newline-mangled", "CR LF translated to LF by a text-mode channel", "server",
          [bytes([0x89, 0x54, 0x57, 0x52, 0x0A, 0x1A, 0x0A]), h[0]], "connection-error INVALID_ARGUMENT")
    c.add("bad-preface-missing", "client sends HELLO without the preface", "server", [h[0]],
          "connection-error INVALID_ARGUMENT")
    c.add("reserved-bits-set", "header reserved field 0x0100", "server",
          [PREFACE, frame(HELLO, 0, h[0][12:], reserved=0x0100)], "connection-error INVALID_ARGUMENT")
    c.add("unknown-frame-type", "frame type 9", "server", start + [frame(9, 0, b"")], "connection-error INVALID_ARGUMENT",
          ["HELLO"])
    c.add("frame-type-zero", "frame type 0", "server", start + [frame(0, 0, b"")], "connection-error INVALID_ARGUMENT",
          ["HELLO"])
    c.add("oversize-length", "payload_length 4194305 with the default limit: rejected from the header alone (no payload follows)",
          "server", start + [frame(REQUEST, 1, b"", length=4194305)], "connection-error RESOURCE_EXHAUSTED", ["HELLO"])
    c.add("oversize-max-length", "payload_length 0xFFFFFFFF", "server", [PREFACE, frame(HELLO, 0, b"", length=0xFFFFFFFF)],
          "connection-error RESOURCE_EXHAUSTED")
    c.add("oversize-small-limit", "payload of 16385 bytes against a 16 KiB limit", "server",
          start + [frame(REQUEST, 1, bytes(16385))], "connection-error RESOURCE_EXHAUSTED", ["HELLO"], max_frame_size=16384)
    c.add("hello-on-stream-5", "HELLO must use stream 0", "server", [PREFACE, hello(stream=5)[0]],
          "connection-error INVALID_ARGUMENT")
    c.add("ping-on-stream-1", "PING must use stream 0", "server", start + [frame(PING, 1, u64(0))],
          "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("request-on-stream-0", "REQUEST must use a nonzero stream", "server",
          start + [request(0, "ListModels", empty_body)[0]], "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("request-before-hello", "no frame may precede HELLO", "server", [PREFACE, request(1, "Health", empty_body)[0]],
          "connection-error INVALID_ARGUMENT")
    c.add("ping-before-hello", "not even PING may precede HELLO", "server", [PREFACE, ping(1)[0]],
          "connection-error INVALID_ARGUMENT")
    c.add("response-before-hello-ack", "client side: RESPONSE before HELLO_ACK", "client",
          [response(1, empty_body)[0]], "connection-error INVALID_ARGUMENT")
    c.add("duplicate-hello", "a second HELLO", "server", start + [h[0]], "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("stream-id-not-increasing", "REQUEST stream ids must strictly increase (3 then 3)", "server",
          start + [request(3, "ListModels", empty_body), request(3, "ListModels", empty_body)[0]],
          "connection-error INVALID_ARGUMENT", ["HELLO", "REQUEST"])
    c.add("stream-id-decreasing", "REQUEST stream 7 then 5", "server",
          start + [request(7, "ListModels", empty_body), request(5, "ListModels", empty_body)[0]],
          "connection-error INVALID_ARGUMENT", ["HELLO", "REQUEST"])
    c.add("response-to-server", "a client may not send RESPONSE", "server", start + [response(1, empty_body)[0]],
          "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("request-to-client", "a server may not send REQUEST", "client", [ha, request(1, "Health", empty_body)[0]],
          "connection-error INVALID_ARGUMENT", ["HELLO_ACK"])
    c.add("hello-truncated", "HELLO payload of 3 bytes", "server", [PREFACE, frame(HELLO, 0, h[0][12:15])],
          "connection-error INVALID_ARGUMENT", ["HELLO"], decoded=[])
    c.add("hello-trailing-bytes", "HELLO followed by an extra byte inside its payload", "server",
          [PREFACE, frame(HELLO, 0, h[0][12:] + b"\x00")], "connection-error INVALID_ARGUMENT", ["HELLO"], decoded=[])
    c.add("hello-version-range-inverted", "min_version 2 > max_version 1", "server", [PREFACE, hello(2, 1)[0]],
          "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("hello-setting-out-of-range", "MAX_FRAME_SIZE 1000 is below 16 KiB", "server",
          [PREFACE, hello(1, 1, [(1, 1000)])[0]], "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("hello-setting-huge", "MAX_FRAME_SIZE 2^64-1", "server",
          [PREFACE, hello(1, 1, [(1, 2**64 - 1)])[0]], "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("hello-setting-duplicate", "MAX_CONCURRENT_STREAMS twice", "server",
          [PREFACE, hello(1, 1, [(2, 4), (2, 5)])[0]], "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("hello-too-many-settings", "33 settings entries (limit 32)", "server",
          [PREFACE, hello(1, 1, [(100 + i, 0) for i in range(33)])[0]], "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("hello-bad-utf8-token", "auth_token bytes FF FE are not UTF-8", "server",
          [PREFACE, frame(HELLO, 0, u16(1) + u16(1) + settings() + string(b"\xff\xfe"))],
          "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("hello-overlong-utf8", "auth_token C0 80 (overlong NUL) is not valid UTF-8", "server",
          [PREFACE, frame(HELLO, 0, u16(1) + u16(1) + settings() + string(b"a\xc0\x80"))],
          "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("ping-wrong-length", "PING with a 4-byte payload", "server", start + [frame(PING, 0, u32(1))],
          "connection-error INVALID_ARGUMENT", ["HELLO"])
    c.add("cancel-with-payload", "CANCEL must be empty", "server",
          start + [request(1, "ListModels", empty_body), frame(CANCEL, 1, b"\x00")],
          "connection-error INVALID_ARGUMENT", ["HELLO", "REQUEST"])
    c.add("goaway-truncated", "GOAWAY message length runs past the payload", "client",
          [ha, frame(GOAWAY, 0, u32(0) + u16(0) + u16(10) + b"abc")], "connection-error INVALID_ARGUMENT",
          ["HELLO_ACK", "GOAWAY"])
    c.write()

    # ------------------------------------------------------------ requests (server side)
    r = VectorFile(os.path.join(here, "request.tvec"), "REQUEST vectors (server side)")
    infer = infer_request_body(
        "resnet-50", 0,
        [("input", "FP32", [2, 2], f32(1.0, -2.0, 0.5, 3.25)),
         ("mask", "BOOL", [3], b"\x01\x00\x01"),
         ("step", "INT64", [], i64(-7)),
         ("empty", "FP16", [0, 4], b"")],
        ["probs", "top-k"])
    r.add("request-infer", "Infer with four inputs (FP32 2x2, BOOL, INT64 scalar, empty FP16) and two requested outputs",
          "server", start + [request(1, "Infer", infer, timeout=250000, md=[("x-request-id", "abc-123"), ("trace", "t 1")])],
          "ok", ["HELLO", "REQUEST"])
    r.add("request-infer-all-types", "one tensor of every datatype", "server",
          start + [request(9, "Infer", infer_request_body("m", 3, [
              ("t-" + n.lower(), n, [2], bytes(range(2 * w))) for n, (_, w) in DT.items()], []))],
          "ok", ["HELLO", "REQUEST"])
    r.add("request-list-models", "ListModels: empty body", "server", start + [request(1, "ListModels", empty_body)],
          "ok", ["HELLO", "REQUEST"])
    r.add("request-server-info", "ServerInfo: empty body", "server", start + [request(2, "ServerInfo", empty_body)],
          "ok", ["HELLO", "REQUEST"])

    def model_md(buf):
        buf += string("bert") + u64(4)
        return "model=bert version=4"

    r.add("request-model-metadata", "ModelMetadata for bert version 4", "server",
          start + [request(3, "ModelMetadata", model_md)], "ok", ["HELLO", "REQUEST"])

    def stats_req(buf):
        buf += string("bert")
        return "model=bert"

    r.add("request-stats", "Stats for one model", "server", start + [request(5, "Stats", stats_req)], "ok",
          ["HELLO", "REQUEST"])

    def health(kind, model, version):
        def fn(buf):
            buf += u8(kind) + string(model) + u64(version)
            return "kind=%d model=%s version=%d" % (kind, model, version)
        return fn

    r.add("request-health", "Health model-ready for bert v2, after a live probe", "server",
          start + [request(4, "Health", health(0, "", 0)), request(6, "Health", health(2, "bert", 2))],
          "ok", ["HELLO", "REQUEST", "REQUEST"])
    r.add("request-unknown-method", "unknown method: stream error UNIMPLEMENTED, connection survives", "server",
          start + [request(1, "Train", empty_body)[0]], "stream-error UNIMPLEMENTED", ["HELLO", "REQUEST"])

    def bad(name, description, body_fn, md=(), raw_method=None, no_pad=False, method="Infer"):
        fr = request(1, method, body_fn, md=md, raw_method=raw_method, no_pad=no_pad)[0]
        r.add(name, description, "server", start + [fr], "stream-error INVALID_ARGUMENT", ["HELLO", "REQUEST"])

    one = [("x", "FP32", [1], f32(1.0))]
    bad("metadata-key-uppercase", "metadata key with an upper-case letter", infer_request_body("m", 0, one, []),
        md=[("X-Request-Id", "1")])
    bad("metadata-key-empty", "empty metadata key", infer_request_body("m", 0, one, []), md=[("", "1")])
    bad("metadata-key-too-long", "65-byte metadata key", infer_request_body("m", 0, one, []), md=[("k" * 65, "1")])
    bad("metadata-value-control-char", "metadata value containing a newline", infer_request_body("m", 0, one, []),
        md=[("k", "a\nb")])
    bad("metadata-too-many-entries", "65 metadata entries (limit 64)", infer_request_body("m", 0, one, []),
        md=[("k%d" % i, "v") for i in range(65)])
    bad("metadata-too-large", "metadata totalling 8193 bytes (limit 8192)", infer_request_body("m", 0, one, []),
        md=[("a", "v" * 4095), ("b", "v" * 4096)])
    bad("method-bad-utf8", "method name bytes are not ASCII", empty_body, raw_method=b"Inf\xe9r")
    bad("missing-head-padding", "payload ends before the 64-byte padded body offset", empty_body, no_pad=True,
        method="ListModels")
    bad("model-name-bad-utf8", "model name is invalid UTF-8",
        lambda b: (b.extend(string(b"\xc3\x28") + u64(0) + u16(0) + u16(0)), "")[1])
    bad("model-name-too-long", "257-byte model name (limit 256)", infer_request_body("m" * 257, 0, [], []))
    bad("tensor-byte-length-mismatch", "FP32 [2,2] declares 12 bytes instead of 16",
        infer_request_body("m", 0, [("x", "FP32", [2, 2], f32(1, 2, 3), 12)], []))
    bad("tensor-byte-length-huge", "byte_length 2^64-1 for a one-element tensor",
        infer_request_body("m", 0, [("x", "UINT8", [1], b"", 2**64 - 1)], []))
    bad("tensor-element-count-overflow", "dims 2^32 x 2^32 overflow a 64-bit element count",
        infer_request_body("m", 0, [("x", "UINT8", [2**32, 2**32], b"", 0)], []))
    bad("tensor-byte-size-overflow", "dims 2^31 x 2^31 x 2 INT64: element count fits, byte size overflows",
        infer_request_body("m", 0, [("x", "INT64", [2**31, 2**31, 2], b"", 0)], []))
    bad("tensor-negative-dim", "dimension -1 in a request tensor",
        infer_request_body("m", 0, [("x", "FP32", [-1], b"", 0)], []))
    bad("tensor-rank-9", "rank 9 (limit 8)", infer_request_body("m", 0, [("x", "UINT8", [1] * 9, b"\x00")], []))
    bad("tensor-unknown-datatype", "datatype 8 (ONNX STRING) is not supported",
        infer_request_body("m", 0, [("x", "UINT8", [1], b"\x00", None, None, 8)], []))
    bad("tensor-data-truncated", "payload ends inside the tensor data",
        lambda b: (b.extend(string("m") + u64(0) + u16(1)), tensor(b, "x", "FP32", [4], f32(1, 2, 3, 4)),
                   b.__delitem__(slice(len(b) - 3, None)), "")[3])
    bad("infer-trailing-bytes", "an extra byte after the Infer body", infer_request_body("m", 0, one, [], trailing=b"\x00"))
    bad("infer-too-many-inputs", "input_count 257 (limit 256)",
        lambda b: (b.extend(string("m") + u64(0) + u16(257)), "")[1])
    bad("list-models-trailing-bytes", "ListModels request body must be empty",
        lambda b: (b.extend(b"\x00"), "")[1], method="ListModels")
    bad("health-unknown-kind", "Health kind 3", health(3, "", 0), method="Health")
    r.write()

    # ------------------------------------------------------------ responses (client side)
    s = VectorFile(os.path.join(here, "response.tvec"), "RESPONSE vectors (client side)")
    s.add("response-infer", "Infer response with two outputs", "client",
          [ha, response(1, infer_response_body("resnet-50", 2, [
              ("probs", "FP32", [1, 3], f32(0.25, 0.5, 0.25)), ("label", "INT32", [1], struct.pack("<i", 1))]),
              md=[("server-timing", "infer;dur=1.5")])],
          "ok", ["HELLO_ACK", "RESPONSE"], method="Infer")
    s.add("response-error", "NOT_FOUND with a message and no body", "client",
          [ha, response(3, empty_body, code=5, message="model-not-found")], "ok", ["HELLO_ACK", "RESPONSE"], method="Infer")
    s.add("response-unknown-status", "status number 99 decodes as UNKNOWN(99), raw value kept", "client",
          [ha, response(3, empty_body, code=99, message="x")], "ok", ["HELLO_ACK", "RESPONSE"], method="Infer")

    def list_models(buf):
        models = [("bert", [1, 2], 1), ("resnet-50", [], 0)]
        buf += u16(len(models))
        for n, vs, ready in models:
            buf += string(n) + u16(len(vs)) + b"".join(u64(v) for v in vs) + u8(ready)
        return "models=[%s]" % ",".join("%s:%s:%d" % (n, "/".join(map(str, vs)), rd) for n, vs, rd in models)

    s.add("response-list-models", "two models, one not ready", "client", [ha, response(1, list_models)], "ok",
          ["HELLO_ACK", "RESPONSE"], method="ListModels")

    def spec(buf, name, dt, dims):
        buf += string(name) + u8(DT[dt][0]) + u8(len(dims)) + b"".join(i64(d) for d in dims)
        return "%s:%s:%s" % (name, dt, shape_summary(dims))

    def model_metadata(buf):
        buf += string("bert") + u16(2) + u64(1) + u64(2) + string("onnx") + u16(2)
        i = [spec(buf, "ids", "INT64", [-1, 128]), spec(buf, "mask", "INT64", [-1, 128])]
        buf += u16(1)
        o = [spec(buf, "logits", "FP32", [-1, 2])]
        config = [("max_batch_size", "64"), ("dynamic_batching", "on"), ("max_queue_delay_us", "100")]
        buf += metadata(config)
        return "model=bert versions=[1,2] platform=onnx inputs=[%s] outputs=[%s] config=%s" % (
            ",".join(i), ",".join(o), md_summary(config))

    s.add("response-model-metadata", "ModelMetadata with variable batch dimensions", "client",
          [ha, response(1, model_metadata)], "ok", ["HELLO_ACK", "RESPONSE"], method="ModelMetadata")

    def server_info(buf):
        buf += string("tensorwire") + string("0.1.0") + u16(1) + u16(2) + string("health") + string("metadata")
        return "name=tensorwire version=0.1.0 protocol=1 extensions=[health,metadata]"

    s.add("response-server-info", "ServerInfo", "client", [ha, response(1, server_info)], "ok",
          ["HELLO_ACK", "RESPONSE"], method="ServerInfo")
    s.add("response-health", "Health: serving", "client",
          [ha, response(1, lambda b: (b.extend(u8(1)), "serving=1")[1])], "ok", ["HELLO_ACK", "RESPONSE"], method="Health")

    def bad_resp(name, description, fr, method="Infer"):
        s.add(name, description, "client", [ha, fr], "stream-error INVALID_ARGUMENT", ["HELLO_ACK", "RESPONSE"],
              method=method)

    bad_resp("response-error-with-body", "a non-OK response must not carry a body",
             response(1, lambda b: (b.extend(b"\x01"), "")[1], code=13)[0])
    bad_resp("response-health-bad-bool", "serving byte 2", response(1, lambda b: (b.extend(u8(2)), "")[1])[0],
             method="Health")
    bad_resp("response-metadata-spec-dim", "TensorSpec dimension -2",
             response(1, lambda b: (b.extend(string("m") + u16(0) + string("onnx") + u16(1)), spec(b, "x", "FP32", [-2]),
                                    b.extend(u16(0) + u16(0)), "")[3])[0], method="ModelMetadata")
    def stats_entry(buf, name, version, outcomes, sizes, tail):
        buf += string(name) + u64(version) + u16(len(outcomes))
        for code, count in outcomes:
            buf += u16(code) + u64(count)
        buf += u64(tail[0]) + u64(tail[1]) + u16(len(sizes))
        for size, count in sizes:
            buf += u32(size) + u64(count)
        for v in tail[2:]:
            buf += u64(v)

    def stats(buf):
        buf += u16(1)
        stats_entry(buf, "bert", 1, [(0, 90), (4, 2)], [(1, 10), (8, 10)], [5, 20, 85, 5000, 20, 90000, 0, 2, 1])
        return "models=[bert:1 ok=90 failed=2 inline=5 executions=20 sizes=1:10,8:10 queue=85/5000 compute=20/90000 rejected=0 expired=2 cancelled=1]"

    s.add("response-stats", "Stats for one model", "client", [ha, response(1, stats)], "ok",
          ["HELLO_ACK", "RESPONSE"], method="Stats")

    def stats_duplicate_size(b):
        b.extend(u16(1))
        stats_entry(b, "bert", 1, [], [(8, 1), (8, 2)], [0] * 9)
        return ""

    bad_resp("response-stats-duplicate-batch-size", "batch size 8 listed twice",
             response(1, stats_duplicate_size)[0], method="Stats")
    bad_resp("response-list-models-forged-count", "model count 65535 in a 2-byte body",
             response(1, lambda b: (b.extend(u16(65535)), "")[1])[0], method="ListModels")
    bad_resp("response-infer-misaligned-tensor", "tensor data without its alignment padding (byte_length runs past the end)",
             response(1, lambda b: (b.extend(string("m") + u64(0) + u16(1) + string("y") + u8(1) + u8(1) + i64(1)
                                             + u64(4) + f32(1.0)), "")[1])[0])
    s.write()


if __name__ == "__main__":
    main()
