"""Every benchmark still runs: each at a tiny size, as `python bench/NAME.py ...` is run, exits
0 and prints its figures. Only that is asserted — the figures themselves are for people to
read at full size (the machine running the suite is busy with other tests)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

# name: (tiny arguments, words its figures are printed with)
RUNS = {
    "agents": (
        [
            "--agents",
            "2",
            "--rows",
            "8",
            "--brokers",
            "1",
            "--rate",
            "20",
            "--time-scale",
            "1000",
            "--talk",
            "1-2",
            "--ring",
            "1-2",
            "--workbench",
        ],
        "disposition to the agent's next call placed",
    ),
    "ceiling": (
        ["--brokers", "2", "--rate", "20", "--rows", "40", "--workers", "1", "--concurrency", "4"],
        "CPU ms per call",
    ),
    "export": (["--rows", "300"], "xlsx"),
    "floor": (["--messages", "200", "--workers", "1", "--concurrency", "4"], "CPU us per message"),
    "ingest": (["--rows", "2000"], "ingest seconds="),
    "pacing": (
        [
            "--brokers",
            "1",
            "--rate",
            "10",
            "--seconds",
            "2",
            "--workers",
            "1",
            "--concurrency",
            "4",
        ],
        "worst 1s window",
    ),
    "records": (
        [
            "--rows",
            "20",
            "--brokers",
            "2",
            "--rate",
            "10",
            "--time-scale",
            "100",
            "--cdr-delay-ms",
            "100",
            "--workers",
            "1",
        ],
        "requests",
    ),
    "redis_cost": (
        [
            "--brokers",
            "1",
            "--rows-per-broker",
            "10",
            "--rate",
            "20",
            "--idle-campaigns",
            "2",
            "--idle-seconds",
            "1",
        ],
        "per placed call",
    ),
    "simulator": (["--threads", "2", "--seconds", "1"], "throughput="),
    "strategy": (
        [
            "--rows",
            "16",
            "--agents",
            "4",
            "--away",
            "1",
            "--brokers",
            "2",
            "--rate",
            "10",
            "--time-scale",
            "1000",
        ],
        "reached",
    ),
    "webhooks": (
        [
            "--calls",
            "16",
            "--brokers",
            "2",
            "--rate",
            "10",
            "--down-s",
            "1",
            "--workers",
            "1",
            "--concurrency",
            "4",
            "--backoff-base-s",
            "0.2",
        ],
        "deliveries/s",
    ),
}


def test_every_benchmark_has_a_smoke_run() -> None:
    scripts = {p.stem for p in BENCH.glob("*.py")} - {"__init__", "harness"}
    helpers = {"floor_tasks", "naive_tasks"}  # task modules the benchmarks load
    assert scripts - helpers == set(RUNS)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", sorted(RUNS))
def test_benchmark_runs_and_prints_its_figures(name: str, tmp_path) -> None:
    args, words = RUNS[name]
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{name}.py"), *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert words in done.stdout and re.search(r"\d", done.stdout), done.stdout
