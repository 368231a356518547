"""Log lines and the live progress bar share the terminal: on a TTY a log line clears the
bar's line first; into a pipe or file it is written as is."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

SCRIPT = (
    "import logging\n"
    "from dialer.cli.main import _setup_logging\n"
    "_setup_logging(False)\n"
    "logging.getLogger('dialer.test').warning('row 7: Simulated failure')\n"
)


def _stderr_of(on_tty: bool) -> bytes:
    if not on_tty:
        done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, timeout=60)
        return done.stderr
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stderr=slave)
        proc.wait(timeout=60)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the pty's other end is closed and drained
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        os.close(master)


def test_on_a_terminal_a_log_line_clears_the_progress_line_first() -> None:
    out = _stderr_of(on_tty=True)
    assert out.startswith(b"\r\x1b[K")
    assert b"WARNING dialer.test: row 7: Simulated failure" in out


def test_into_a_pipe_log_lines_carry_no_terminal_codes() -> None:
    out = _stderr_of(on_tty=False)
    assert b"\x1b" not in out and b"\r" not in out.replace(b"\r\n", b"\n")
    assert b"WARNING dialer.test: row 7: Simulated failure" in out
