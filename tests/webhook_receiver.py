"""A real HTTP receiver on 127.0.0.1 for webhook tests: it records what it is sent and can
answer 500 for its first N requests, answer 410, hang past the sender's read timeout, or go
away (its socket closed) and come back on the same port."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Behaviour:
    fail_first: int = 0  # answer 500 to this many requests first
    status: int = 200
    hang_s: float = 0.0  # sleep this long before answering
    delay_s: float = 0.0  # answer after this long (a receiver's own work)


@dataclass
class Receiver:
    behaviour: Behaviour = field(default_factory=Behaviour)
    received: list[Received] = field(default_factory=list)  # answered 2xx
    requests: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                b = receiver.behaviour
                with receiver._lock:
                    receiver.requests += 1
                    n = receiver.requests
                if b.hang_s:
                    time.sleep(b.hang_s)
                if b.delay_s:
                    time.sleep(b.delay_s)
                status = 500 if n <= b.fail_first else b.status
                if 200 <= status < 300:
                    with receiver._lock:
                        receiver.received.append(
                            Received(
                                {k.lower(): v for k, v in self.headers.items()}, body, time.time()
                            )
                        )
                try:
                    self.send_response(status)
                    self.send_header("content-length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()

    def go_away(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def come_back(self) -> None:
        self.start()

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return [r.event for r in self.received]

    def close(self) -> None:
        self.go_away()
