"""The simulator's HTTP server: threaded, HTTP/1.1 keep-alive, JSON answers like CCC's."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from dialer.ccc.client import API_VERSION
from dialer.ccc.simulator.actions import ACTIONS, ApiError, Reply
from dialer.ccc.simulator.auth import GatewayError, NonceRegistry, authenticate
from dialer.ccc.simulator.faults import Faults
from dialer.ccc.simulator.state import SimulatorConfig, SimulatorState

log = logging.getLogger(__name__)
ADMIN_PREFIX = "/_simulator/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        state: SimulatorState,
        nonces: NonceRegistry,
        offline_for: Any,
    ) -> None:
        super().__init__(address, _Handler)
        self.state = state
        self.nonces = nonces
        self.offline_for = offline_for
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def cut_connections(self) -> None:
        with self.connections_lock:
            connections, self.connections = self.connections, set()
        for conn in connections:
            with contextlib.suppress(OSError):  # closed meanwhile
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away before its answer (a read timeout, a stopped worker) is how
        the real CCC sees clients too: logged, never a traceback on the process's stderr."""
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError):
            log.debug("client %s went away: %s", client_address, exc)
            return
        log.exception("simulator: request from %s failed", client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without NODELAY, Nagle plus the client's
        # delayed ACK stall every keep-alive answer by ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        # The request line carries phone numbers in its query: log only method, path, status.
        log.debug(
            "%s %s %s", self.command, urlsplit(self.path).path, args[1] if len(args) > 1 else ""
        )

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        if url.path.startswith(ADMIN_PREFIX):
            self._admin(url.path[len(ADMIN_PREFIX) :], body)
            return
        state = self.server.state
        request_id = state.new_request_id()
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        if body and "form-urlencoded" in (self.headers.get("Content-Type") or ""):
            params.update(parse_qsl(body.decode(), keep_blank_values=True))
        # The request is acted on as it arrives (so the calls log times are arrival times);
        # the configured latency delays the answer.
        fate = "answer"
        try:
            reply = self._dispatch(url.path or "/", params, body, request_id)
        except GatewayError as exc:
            status, payload = exc.status, _gateway_body(exc, request_id)
        except ApiError as exc:
            status = exc.status
            payload = _envelope(exc.status, exc.code, exc.message, request_id, exc.params)
        else:
            status, payload, fate = 200, _envelope(200, "OK", "", request_id, []), reply.fate
            payload["Data"] = reply.data
        if state.faults.latency_ms > 0:
            time.sleep(state.faults.latency_ms / 1000.0)
        if fate == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fate == "hang":
            time.sleep(state.faults.hang_s)
        self._send_json(status, payload)

    def _dispatch(self, path: str, params: dict[str, str], body: bytes, request_id: str) -> Reply:
        state = self.server.state
        now = time.time()
        auth = authenticate(
            self.command,
            path,
            self.headers,  # type: ignore[arg-type]
            params,
            body,
            state.config.access_keys,
            self.server.nonces,
            now,
        )
        state.count_request(auth.action)
        if state.over_qps(now):
            raise GatewayError(
                400, "Throttling.User", "Request was denied due to user flow control."
            )
        if auth.version != API_VERSION:
            raise GatewayError(400, "InvalidVersion", "Specified parameter Version is not valid.")
        if auth.action in state.config.forbidden_actions:
            raise GatewayError(
                403, "Forbidden.RAM", "User not authorized to operate on the specified resource."
            )
        handler = ACTIONS.get(auth.action)
        if handler is None:
            raise GatewayError(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )
        return handler(state, auth.params, request_id)

    def _admin(self, what: str, body: bytes) -> None:
        state = self.server.state
        if what == "faults" and self.command == "POST":
            try:
                changes = json.loads(body or b"{}")
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object of fault: value")
                state.faults.update(changes)
            except ValueError as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, state.faults_dict())
        elif what == "faults":
            self._send_json(200, state.faults_dict())
        elif what == "calls":
            self._send_json(200, state.log_entries())
        elif what == "numbers" and self.command == "POST":
            try:
                added = [str(n) for n in json.loads(body or b"{}").get("add", [])]
            except (ValueError, AttributeError, TypeError):
                self._send_json(400, {"error": 'expected {"add": [NUMBER, ...]}'})
                return
            state.config.numbers = tuple(dict.fromkeys((*state.config.numbers, *added)))
            self._send_json(200, list(state.config.numbers))
        elif what == "numbers":
            self._send_json(200, list(state.config.numbers))
        elif what == "offline" and self.command == "POST":
            try:
                seconds = float(json.loads(body or b"{}").get("seconds", 0))
            except (ValueError, AttributeError, TypeError):
                seconds = -1.0
            if not 0 < seconds <= 3600:
                self._send_json(400, {"error": 'expected {"seconds": S}, 0 < S <= 3600'})
                return
            self._send_json(200, {"offline_s": seconds})
            self.server.offline_for(seconds)
        elif what == "requests":
            self._send_json(200, state.request_counts())
        else:
            self._send_json(404, {"error": "no such admin path"})

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _envelope(
    status: int, code: str, message: str, request_id: str, params: list[str]
) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "Code": code,
        "Message": message,
        "HttpStatusCode": status,
        "Params": params,
    }


def _gateway_body(exc: GatewayError, request_id: str) -> dict[str, Any]:
    return {
        "RequestId": request_id,
        "HostId": "ccc.cn-shanghai.aliyuncs.com",
        "Code": exc.code,
        "Message": exc.message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={exc.code}&product=CCC",
    }


class Simulator:
    """Run the simulator on a background thread: `with Simulator(config) as sim: sim.url`."""

    def __init__(
        self, config: SimulatorConfig | None = None, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config or SimulatorConfig()
        self.state = SimulatorState(self.config)
        self._nonces = NonceRegistry()
        self._server = self._new_server(host, port)
        self._thread: threading.Thread | None = None
        self._online = threading.Event()
        self._online.set()

    def _new_server(self, host: str, port: int) -> _Server:
        return _Server((host, port), self.state, self._nonces, self._offline_later)

    @property
    def faults(self) -> Faults:
        return self.state.faults

    def calls(self) -> list[dict[str, Any]]:
        """Every accepted call as its calls-log line says, timeline included (see
        `caller_overlaps` for the check that no caller was in two calls at once)."""
        return self.state.log_entries()

    def requests(self) -> dict[str, int]:
        """Signed requests received so far, by action (also GET /_simulator/requests)."""
        return self.state.request_counts()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}"

    def start(self) -> Simulator:
        # See serve_forever: arrival times should not wait 5 ms for the GIL.
        sys.setswitchinterval(0.001)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="ccc-simulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        # One thread per keep-alive connection: with the default 5 ms GIL switch interval a
        # request can wait that long before its arrival is even seen.
        sys.setswitchinterval(0.001)
        self._server.serve_forever()

    def add_number(self, number: str) -> None:
        """Make `number` an outbound number of every instance (as if bought on it)."""
        self.config.numbers = tuple(dict.fromkeys((*self.config.numbers, number)))

    def go_offline(self) -> None:
        """Stop answering, as a CCC that is down: new connections are refused and open ones
        are cut. What the simulator knows (calls, records) is kept for go_online()."""
        if not self._online.is_set():
            return
        self._online.clear()
        self._server.shutdown()
        self._server.server_close()
        self._server.cut_connections()

    def go_online(self) -> None:
        """Answer again, on the same port."""
        if self._online.is_set():
            return
        host, port = str(self._server.server_address[0]), self.port
        self._server = self._new_server(host, port)
        self._online.set()
        self.start()

    def _offline_later(self, seconds: float) -> None:
        # Asked over HTTP (POST /_simulator/offline): the answer leaves first.
        def outage() -> None:
            time.sleep(0.2)
            self.go_offline()
            time.sleep(seconds)
            self.go_online()

        threading.Thread(target=outage, name="ccc-simulator-outage", daemon=True).start()

    def stop(self) -> None:
        if self._online.is_set():
            self._server.shutdown()
            self._server.server_close()
        self.state.close()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
