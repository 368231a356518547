"""Serving the console with uvicorn on a socket bound here (so port 0 works and the printed
address is the real one), in the foreground for `dialer web` or in a thread for
`dialer demo --web` and the tests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from urllib.parse import quote

import uvicorn
from fastapi import FastAPI

from dialer.settings import Settings
from dialer.web.settings import WebSettings


class ConsoleServer:
    def __init__(self, app: FastAPI, host: str = "127.0.0.1", port: int = 8000) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        # Listening before uvicorn starts: a link printed now already answers.
        self.sock.listen(2048)
        self.host, self.port = host, int(self.sock.getsockname()[1])
        # uvicorn's own access log would record query strings (a sign-in link's token):
        # the app logs requests itself, path only.
        config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{f'[{shown}]' if ':' in shown else shown}:{self.port}"

    def sign_in_url(self, web: WebSettings, next_path: str = "") -> str:
        """The link a person opens: with the token when it was generated (as Jupyter does),
        else the sign-in page, which asks for DIALER_WEB_TOKEN."""
        url = f"{self.url}/login"
        params = []
        if web.token_generated:
            params.append(f"token={quote(web.token)}")
        if next_path:
            params.append(f"next={quote(next_path)}")
        return url + ("?" + "&".join(params) if params else "")

    def run(self) -> None:
        self.server.run(sockets=[self.sock])

    def start(self) -> ConsoleServer:
        self._thread = threading.Thread(target=self.run, name="dialer-web", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError("the console did not start within 10 s")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sock.close()


def log_requests() -> None:
    """The console's access log (method, path, status, time) on stderr."""
    access = logging.getLogger("dialer.web")
    access.setLevel(logging.INFO)


def open_console(settings: Settings, next_path: str = "", port: int = 8000) -> ConsoleServer:
    """Start the console in a thread (for `dialer demo --web`) and print how to sign in."""
    from dialer.web.app import create_app

    web = WebSettings.from_env()
    app = create_app(settings, web)
    try:
        server = ConsoleServer(app, "127.0.0.1", port)
    except OSError:  # the port is taken: any free one will do
        server = ConsoleServer(app, "127.0.0.1", 0)
    server.start()
    log_requests()
    print(f"web console: {server.sign_in_url(web, next_path)}", flush=True)
    return server


def wait_until_interrupted(server: ConsoleServer) -> None:
    """Keep the console open until Ctrl-C, then stop it."""
    print(f"the console stays open at {server.url}/ — Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
