"""A tiny threaded HTTP server on 127.0.0.1 with a random port, recording every request."""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, bytes]:
        """The fields of a multipart/form-data body (file fields as their bytes)."""
        return {name: data for name, (_, data) in self.form_files().items()}

    def form_parts(self) -> list[tuple[str, str | None, bytes]]:
        """(field name, filename, bytes) of every part, repeated fields (`image[]`) included."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return [
            (
                part.get_param("name", header="content-disposition"),
                part.get_filename(),
                part.get_payload(decode=True),
            )
            for part in message.iter_parts()
        ]

    def form_files(self) -> dict[str, tuple[str | None, bytes]]:
        """Field name -> (filename, bytes) for each part of a multipart/form-data body."""
        head = f"Content-Type: {self.headers['content-type']}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + self.body)
        return {
            part.get_param("name", header="content-disposition"): (
                part.get_filename(),
                part.get_payload(decode=True),
            )
            for part in message.iter_parts()
        }


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    chunks: list[bytes] | None = None  # sent one by one (server-sent events)
    # A websocket: called with the closed event once upgraded, it yields messages to send (bytes:
    # binary, str: text) until the client closes.
    websocket: Callable[[threading.Event], Iterator[bytes | str]] | None = None

    @classmethod
    def json(cls, payload: Any, status: int = 200, **headers: str) -> Reply:
        return cls(status, json.dumps(payload).encode(), {"content-type": "application/json", **headers})


_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def _frame(opcode: int, data: bytes) -> bytes:
    """One final, unmasked frame (the server's side)."""
    size = len(data)
    if size < 126:
        header = struct.pack("!BB", 0x80 | opcode, size)
    elif size < 1 << 16:
        header = struct.pack("!BBH", 0x80 | opcode, 126, size)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, size)
    return header + data


def _read_frame(stream) -> int | None:
    """Read one masked client frame; its opcode, or None at the end of the stream."""
    head = stream.read(2)
    if len(head) < 2:
        return None
    size = head[1] & 0x7F
    if size == 126:
        size = struct.unpack("!H", stream.read(2))[0]
    elif size == 127:
        size = struct.unpack("!Q", stream.read(8))[0]
    stream.read(4 + size)  # the mask and the payload
    return head[0] & 0x0F


class FakeServer:
    """Subclasses implement `answer(request) -> Reply`; `requests` holds what reached the server."""

    def __init__(self, port: int = 0) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                recorded = Recorded(
                    self.command,
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                )
                with fake._lock:
                    fake.requests.append(recorded)
                reply = fake.answer(recorded)
                if reply.websocket is not None:
                    self._websocket(reply.websocket)
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if reply.chunks is None:
                    self.send_header("content-length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                    return
                self.send_header("transfer-encoding", "chunked")
                self.end_headers()
                for chunk in [*reply.chunks, b""]:
                    self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                    self.wfile.flush()

            def _websocket(self, messages: Callable[[threading.Event], Iterator[bytes | str]]) -> None:
                """RFC 6455 as a server needs it: the handshake, unmasked frames out, a close answered."""
                accept = base64.b64encode(
                    hashlib.sha1((self.headers["sec-websocket-key"] + _WS_GUID).encode()).digest()
                ).decode()
                self.send_response(101)
                self.send_header("upgrade", "websocket")
                self.send_header("connection", "Upgrade")
                self.send_header("sec-websocket-accept", accept)
                self.end_headers()
                self.wfile.flush()
                closed = threading.Event()
                lock = threading.Lock()

                def send() -> None:
                    for message in messages(closed):
                        opcode, data = (
                            (0x2, message) if isinstance(message, bytes) else (0x1, message.encode())
                        )
                        with lock:
                            self.wfile.write(_frame(opcode, data))
                            self.wfile.flush()

                writer = threading.Thread(target=send, daemon=True)
                writer.start()
                try:
                    while _read_frame(self.rfile) not in (None, 0x8):
                        pass  # pings and texts from the client are not needed here
                    with lock:
                        self.wfile.write(_frame(0x8, b"\x03\xe8"))  # 1000: normal closure
                        self.wfile.flush()
                except OSError:
                    pass
                finally:
                    closed.set()
                    writer.join(timeout=5)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # bursts of connections (benchmarks) must not be reset

            def handle_error(self, request, client_address) -> None:
                pass  # a client that hangs up (a killed process' keep-alive connection) is not news

        self._server = Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, request: Recorded) -> Reply:
        raise NotImplementedError

    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
