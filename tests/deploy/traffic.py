"""Just enough client code to drive a wsgw cluster from the live check, with the standard library
and curl only (no pip package, no node): a Socket.IO client over a raw WebSocket (EIO4, text
frames only), a JWT (HS256) for --auth jwt, and gRPC calls to ws-api through `curl --http2`
with the few protobuf messages hand-encoded (field numbers from proto/wsgw/v1/api.proto)."""
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import ssl
import struct
import subprocess
import threading
import time


# --- JWT --------------------------------------------------------------------------------------

def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_hs256(secret, claims):
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64url(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64url(sig)}"


# --- Socket.IO over a raw WebSocket -----------------------------------------------------------

class SocketIoClient:
    """One Engine.IO v4 WebSocket session with one Socket.IO socket on namespace '/'.
    A reader thread answers pings (so the gateway observes heartbeat RTTs) and server acks
    (`42<id>[...]` -> `43<id>["ok"]`), and records every event received."""

    def __init__(self, host, port, token, tls=False, timeout=5.0):
        raw = socket.create_connection((host, port), timeout=timeout)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE  # the live check's throwaway self-signed certificate
            raw = ctx.wrap_socket(raw, server_hostname="localhost")
        self.sock = raw
        self.lock = threading.Lock()
        self.events = []        # [event name, args...] of every received event
        self.acked = 0          # server acks answered
        self.sid = None         # the Socket.IO socket id, from CONNECT's answer
        self.closed = False
        self._buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {host}:{port}\r\n"
                           f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        while b"\r\n\r\n" not in self._buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("closed during the WebSocket handshake")
            self._buf += chunk
        head, self._buf = self._buf.split(b"\r\n\r\n", 1)
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"no WebSocket upgrade: {head.splitlines()[0]!r}")
        opened = self._read_message()
        if not opened.startswith("0"):
            raise ConnectionError(f"no Engine.IO open packet: {opened[:80]!r}")
        self.send("40" + json.dumps({"token": token}))
        answer = self._read_message()
        m = re.match(r'40(\{.*\})$', answer)
        if not m:
            raise ConnectionError(f"Socket.IO CONNECT refused: {answer[:200]!r}")
        self.sid = json.loads(m.group(1))["sid"]
        self.sock.settimeout(None)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _read_exact(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _read_message(self):
        """The next text message (pings of the WebSocket layer answered, fragments joined)."""
        parts = []
        while True:
            b0, b1 = self._read_exact(2)
            opcode, fin, length = b0 & 0x0F, b0 & 0x80, b1 & 0x7F
            if length == 126:
                length = struct.unpack(">H", self._read_exact(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self._read_exact(8))[0]
            payload = self._read_exact(length)  # server frames are not masked
            if opcode == 8:
                raise ConnectionError("WebSocket close")
            if opcode == 9:
                self._send_frame(0xA, payload)
                continue
            if opcode in (0, 1, 2):
                parts.append(payload)
                if fin:
                    return b"".join(parts).decode("utf-8", "replace")

    def _send_frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack(">H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack(">Q", n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        with self.lock:
            self.sock.sendall(head + mask + masked)

    def send(self, text):
        self._send_frame(1, text.encode())

    def emit(self, event, *args, ack_id=None):
        self.send("42" + ("" if ack_id is None else str(ack_id)) + json.dumps([event, *args]))

    def _run(self):
        try:
            while True:
                msg = self._read_message()
                if msg == "2":
                    self.send("3")
                    continue
                m = re.match(r"42(\d*)(\[.*)$", msg, re.S)
                if m:
                    self.events.append(json.loads(m.group(2)))
                    if m.group(1):
                        self.send(f"43{m.group(1)}" + json.dumps(["ok"]))
                        self.acked += 1
        except (OSError, ConnectionError, ValueError):
            self.closed = True

    def close(self):
        try:
            self.send("41")
            self._send_frame(8, struct.pack(">H", 1000))
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


# --- gRPC through curl ------------------------------------------------------------------------

def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_string(field, value):
    data = value.encode() if isinstance(value, str) else value
    return _varint(field << 3 | 2) + _varint(len(data)) + data


def pb_varint(field, value):
    return _varint(field << 3) + _varint(value)


def grpc_frame(message):
    return b"\0" + struct.pack(">I", len(message)) + message


def _curl_grpc(port, method, max_time, output="-"):
    return ["curl", "-s", "-N", "--max-time", str(max_time), "--http2-prior-knowledge",
            "-H", "content-type: application/grpc", "-H", "te: trailers", "--data-binary", "@-",
            "-D", "-" if output == "-" else output, f"http://127.0.0.1:{port}/wsgw.v1.WsApiService/{method}"]


def grpc_unary(port, method, message, max_time=5):
    """(grpc-status, response bytes) of one unary call; status None when curl got no answer.
    curl prints the trailers with the headers (-D -), so grpc-status is read from there."""
    out = subprocess.run(_curl_grpc(port, method, max_time), input=grpc_frame(message), capture_output=True)
    m = re.search(rb"grpc-status: *(\d+)", out.stdout)
    return (int(m.group(1)) if m else None), out.stdout


class Subscription:
    """A Subscribe stream held open by a curl process; counts the length-prefixed messages."""

    def __init__(self, port, group, subscriber, max_time=120):
        request = pb_string(1, group) + pb_string(5, subscriber)
        self.proc = subprocess.Popen(_curl_grpc(port, "Subscribe", max_time, output="/dev/null"),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.proc.stdin.write(grpc_frame(request))
        self.proc.stdin.close()
        self.messages = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        out = self.proc.stdout
        while True:
            head = out.read(5)
            if len(head) < 5:
                return
            length = struct.unpack(">I", head[1:])[0]
            if len(out.read(length)) < length:
                return
            self.messages += 1

    def wait(self, count, seconds):
        deadline = time.monotonic() + seconds
        while self.messages < count and time.monotonic() < deadline and self.proc.poll() is None:
            time.sleep(0.05)
        return self.messages >= count

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def emit_room(port, room, event, args_json):
    return grpc_unary(port, "Emit", pb_string(3, room) + pb_string(5, "/") + pb_string(6, event) + pb_string(7, args_json))


def emit_everyone(port, event, args_json):
    return grpc_unary(port, "Emit", pb_string(4, b"") + pb_string(5, "/") + pb_string(6, event) + pb_string(7, args_json))


def emit_sid(port, sid, event, args_json):
    return grpc_unary(port, "Emit", pb_string(1, sid) + pb_string(5, "/") + pb_string(6, event) + pb_string(7, args_json))


def emit_with_ack(port, sid, event, args_json, timeout_seconds=3):
    duration = pb_varint(1, timeout_seconds)
    return grpc_unary(port, "EmitWithAck", pb_string(1, sid) + pb_string(2, "/") + pb_string(3, event)
                      + pb_string(4, args_json) + pb_string(6, duration), max_time=timeout_seconds + 3)


def join_room(port, uid, room):
    return grpc_unary(port, "JoinRoom", pb_string(2, uid) + pb_string(3, "/") + pb_string(4, room))

