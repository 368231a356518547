"""`dialer demo` as a newcomer runs it: a fresh directory, no DIALER_REDIS_URL, nothing
running; it must leave the three files and shut everything down — also when it is stopped
with SIGTERM or killed."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys

import psutil
import pytest
from support import calls_log, wait_until

from dialer.ccc.simulator.calls import caller_overlaps


@pytest.mark.timeout(240)
def test_demo_runs_end_to_end_in_a_fresh_directory(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_", "ALIBABA"))}
    env["HOME"] = str(tmp_path / "home")  # nothing of the user's is touched or reused
    done = subprocess.run(
        [sys.executable, "-m", "dialer.cli", "demo"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    out = tmp_path / "demo-output"
    for name in ("results.csv", "results.xlsx", "report.html"):
        assert (out / name).stat().st_size > 0, name
        assert str((out / name).resolve()) in done.stdout
    with open(out / "results.csv", encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300
    assert {r["status"] for r in rows} <= {"DISPATCHED", "FAILED", "REJECTED"}
    assert sum(r["status"] == "REJECTED" for r in rows) == 7
    # Agents are paced: 20 of them share the rows, and none is rung mid-call.
    calls = calls_log(out / "calls.jsonl")
    assert caller_overlaps(calls) == [] and not any(c["caller_busy"] for c in calls)
    assert len({c["caller"] for c in calls}) == 20
    assert {r["caller"] for r in rows if r["status"] == "DISPATCHED"} == {
        c["caller"] for c in calls
    }
    # The demo waits for its call records, so every placed call has an outcome and the
    # report shows them.
    placed = [r for r in rows if r["status"] == "DISPATCHED"]
    assert placed and all(r["outcome"] for r in placed)
    assert {"CONNECTED", "CALLEE_NO_ANSWER"} <= {r["outcome"] for r in placed}
    # The demo's contact strategy tries customers again: more are reached than the 68.6 %
    # one pass reached (#21), and some rows took more than one call.
    reach = re.search(r"customers reached: (\d+) of (\d+) dialled", done.stdout)
    assert reach and int(reach[1]) / int(reach[2]) > 0.8, done.stdout[-500:]
    assert any(int(r["contacts"]) > 1 for r in placed)
    assert sum(r["outcome"] == "CONNECTED" for r in placed) == int(reach[1])
    page = (out / "report.html").read_text(encoding="utf-8")
    outcomes = page[page.index('<table id="outcomes">') :]
    assert "CONNECTED" in outcomes[: outcomes.index("</table>")]
    assert "Traceback" not in done.stderr
    leftover = subprocess.run(["pgrep", "-f", "dialer-demo-.*redis"], capture_output=True)
    assert leftover.stdout == b""
    # The demo never falls back to the shared embedded Redis (a daemon that would outlive it).
    assert not (tmp_path / "home" / ".local" / "share" / "b2b-dialer").exists()


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
