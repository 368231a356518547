"""`dialer demo` stopped with SIGTERM or killed shuts everything down. The demo run to its end,
as a newcomer runs it (a fresh directory, no DIALER_REDIS_URL, nothing running; the three
files left), is tests/integration/test_packaging.py's: from the installed wheel."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil
import pytest
from support import calls_log, wait_until


def start_demo(tmp_path) -> tuple[subprocess.Popen, psutil.Process]:
    """`dialer demo` started in `tmp_path`, once it dials; and its redis-server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_", "ALIBABA"))}
    env["HOME"] = str(tmp_path / "home")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dialer.cli", "demo", "--rate", "5/s"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / "stderr.log", "w"),  # noqa: SIM115
    )
    calls = tmp_path / "demo-output" / "calls.jsonl"
    wait_until(lambda: calls_log(calls) or proc.poll() is not None, 120, "the demo dialling")
    assert proc.poll() is None, (tmp_path / "stderr.log").read_text()[-2000:]
    [server] = [p for p in psutil.Process(proc.pid).children() if p.name() == "redis-server"]
    return proc, server


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # dead, not yet reaped by init
    except psutil.NoSuchProcess:
        return True


@pytest.mark.timeout(180)
def test_sigterm_ends_the_demo_promptly_and_its_redis_server_with_it(tmp_path) -> None:
    proc, server = start_demo(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 130  # interrupted, as by Ctrl-C
    assert gone(server)
    said = (tmp_path / "stderr.log").read_text()
    assert "interrupted; shutting down" in said and "Traceback" not in said


@pytest.mark.timeout(180)
def test_a_demo_killed_with_sigkill_leaves_no_redis_server_behind(tmp_path) -> None:
    proc, server = start_demo(tmp_path)
    proc.kill()  # nothing of the demo runs: its redis-server must see to itself
    proc.wait(timeout=10)
    wait_until(lambda: gone(server), 10, "the demo's redis-server to exit")
