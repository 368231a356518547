"""Shared plumbing for the engine benchmarks: a private Redis, the simulator, worker
subprocesses, a generated campaign, and the figures read off the simulator's calls log."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import redis

from dialer.engine import CampaignStore, Engine, Keys
from dialer.engine.embedded import EmbeddedRedis
from dialer.engine.pacing import worst_window
from dialer.models import CampaignSettings
from dialer.sheets.upload import upload
from dialer.worker.monitor import live_workers

ROOT = Path(__file__).resolve().parent.parent


def brokers(n: int) -> tuple[str, ...]:
    return tuple(f"0215{i:07d}" for i in range(n))


def write_sheet(path: Path, rows: int, broker_numbers: tuple[str, ...]) -> None:
    """Rows whose callers are all different people: these benchmarks measure broker pacing
    (bench/agents.py measures callers)."""
    with open(path, "w") as f:
        f.write("Caller,Callee,Broker\n")
        for i in range(rows):
            number = f"{30 + i // 10**8 % 70}{i % 10**8:08d}"
            f.write(f"18{number[1:]},1{number},{broker_numbers[i % len(broker_numbers)]}\n")


@contextmanager
def environment(
    numbers: tuple[str, ...], latency_ms: float, sim_args: tuple[str, ...] = (), **worker_env: str
) -> Iterator[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis").start()
        log = Path(tmp) / "calls.jsonl"
        # The simulator gets a process of its own, as CCC would be: its arrival timestamps
        # must not wait on this process's GIL.
        sim = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "dialer.cli",
                "simulator",
                "--port",
                "0",
                "--latency-ms",
                str(latency_ms),
                "--calls-log",
                str(log),
                *sim_args,
                *[arg for n in numbers for arg in ("--number", n)],
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sim.stdout is not None
        sim_url = sim.stdout.readline().split(" on ", 1)[1].split()[0]
        namespace = f"bench{uuid.uuid4().hex[:6]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_"))}
        env.update(
            DIALER_REDIS_URL=server.url,
            DIALER_NAMESPACE=namespace,
            CCC_ENDPOINT=sim_url,
            CCC_INSTANCE_ID="ccc-test",
            ALIBABA_CLOUD_ACCESS_KEY_ID="testid",
            ALIBABA_CLOUD_ACCESS_KEY_SECRET="testsecret",
            PYTHONPATH=str(ROOT),
            DIALER_FEEDER_DEPTH=os.environ.get("BENCH_FEEDER_DEPTH", "2"),
            # Call records become due soon after each call, so lookups overlap the dialling.
            DIALER_CDR_MARGIN_S="0.5",
            DIALER_RECORDS_QPS="50",
        )
        env.update(worker_env)
        engine = Engine(CampaignStore(redis.Redis.from_url(server.url), Keys(namespace)))
        procs: list[subprocess.Popen] = []
        try:
            yield {
                "tmp": Path(tmp),
                "env": env,
                "engine": engine,
                "sim": sim,
                "log": log,
                "sim_url": sim_url,
                "procs": procs,
                "redis": server,
            }
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
            sim.terminate()
            sim.wait(timeout=10)
            server.cleanup()


def upload_sheet(engine: Engine, sheet: Path, settings: CampaignSettings) -> str:
    return upload(engine.store, sheet, settings).campaign_id


def wait_for_workers(ctx: dict, count: int, timeout_s: float = 120.0) -> None:
    """Until `count` workers have written their first heartbeat (they write it once ready to
    take calls): start-up is then not counted in what a benchmark measures, however long
    it took on a busy machine."""
    deadline = time.monotonic() + timeout_s
    while live_workers(ctx["engine"]).alive < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} workers did not start in {timeout_s:.0f} s")
        time.sleep(0.2)


def start_workers(
    ctx: dict,
    count: int,
    concurrency: int,
    app: str = "tasks",
    extra: tuple[str, ...] = (),
    name: str = "b",
) -> None:
    """`count` celery workers of `app`; `name` sets their node names and log files apart
    (a second kind of worker, e.g. delivery-only ones, needs its own)."""
    for i in range(count):
        ctx["procs"].append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    app,
                    "worker",
                    "--pool",
                    "threads",
                    "--concurrency",
                    str(concurrency),
                    "--loglevel",
                    "WARNING",
                    "-n",
                    f"{name}{i}@%h",
                    "--without-heartbeat",
                    "--without-mingle",
                    "--without-gossip",
                    *extra,
                ],
                env=ctx["env"],
                cwd=ROOT,
                stdout=open(ctx["tmp"] / f"{name}{i}.log", "wb"),  # noqa: SIM115
                stderr=subprocess.STDOUT,
            )
        )


def wait_calls(log: Path, expected: int, timeout_s: float) -> list[dict]:
    # Count lines while waiting and parse once at the end: parsing the growing log every
    # poll took a good share of a core away from the system being measured.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and log.read_bytes().count(b"\n") >= expected:
            break
        time.sleep(0.5)
    return read_calls(log)


def cpu_seconds(ctx: dict) -> dict[str, float]:
    """CPU time (user + system) spent so far by each part of the bench, in seconds."""

    def used(pid: int | None) -> float:
        if pid is None:
            return 0.0
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system

    return {
        "workers": sum(used(p.pid) for p in ctx["procs"] if p.poll() is None),
        "simulator": used(ctx["sim"].pid),
        "redis": used(ctx["redis"].pid),
    }


def read_calls(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def figures(calls: list[dict], rate: float, rows_per_broker: int) -> dict[str, float]:
    """Utilisation (ideal time / actual time per broker), worst 1 s window, duplicates."""
    by_broker: dict[str, list[float]] = defaultdict(list)
    for c in calls:
        by_broker[c["broker"]].append(c["ts"])
    ideal = (rows_per_broker - 1) / rate
    utils, worst = [], 0
    for times in by_broker.values():
        span = max(times) - min(times)
        utils.append(min(ideal, (len(times) - 1) / rate) / span if span else 0.0)
        worst = max(worst, worst_window(times))
    callees = [c["callee"] for c in calls]
    return {
        "calls": len(calls),
        "utilisation": sum(utils) / len(utils) if utils else 0.0,
        "worst_window": worst,
        "duplicates": len(callees) - len(set(callees)),
    }
