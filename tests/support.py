"""Helpers shared by the tests (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any
from unittest import mock

from dialer.calendar import Calendar
from dialer.cli.main import main
from dialer.engine import Engine, Job
from dialer.engine.events import EventStore, OutboxEvent
from dialer.models import CampaignSettings
from dialer.sheets.upload import upload

NUMBERS = ("02151234567", "02151234568", "02151234569", "02151234570")
# Tests run at any hour; the carriers' 09:00-21:00 default is tested on its own.
ALWAYS = ("00:00-24:00",)


def write_sheet(
    path: Path,
    callees: list[str] | int,
    *,
    brokers: tuple[str, ...] = (),
    caller: str | None = None,
    timeout_seconds: int | None = None,
) -> Path:
    """A campaign sheet: one row per callee (or N generated callees), brokers round robin
    (none: the campaign's pool assigns them). Each row has a caller of its own unless
    `caller` names one for all (callers are people: one call at a time each)."""
    if isinstance(callees, int):
        callees = [f"139{i:08d}" for i in range(callees)]
    header = "Caller,Callee,Broker" + (",TimeoutSeconds" if timeout_seconds else "")
    lines = [header]
    for i, callee in enumerate(callees):
        broker = brokers[i % len(brokers)] if brokers else ""
        extra = f",{timeout_seconds}" if timeout_seconds else ""
        lines.append(f"{caller or f'1380{i:07d}'},{callee},{broker}{extra}")
    path.write_text("\n".join(lines) + "\n")
    return path


def new_campaign(engine: Engine, sheet: Path, *, start: bool = True, **settings: Any) -> str:
    """Upload `sheet` with CampaignSettings(**settings) (name, instance, always-open windows
    and one agent miss by default) and start it."""
    settings.setdefault("name", "t")
    settings.setdefault("instance_id", "ccc-test")
    settings.setdefault("windows", ALWAYS)
    # One call per row, as these tests were written for: a test of the contact strategy
    # (tests/integration/test_strategy.py) says how many agent misses it allows.
    settings.setdefault("max_agent_misses", 1)
    cid = upload(engine.store, sheet, CampaignSettings(**settings)).campaign_id
    if start:
        engine.start(cid)
    return cid


def live_worker(engine: Engine, name: str = "w0@test") -> None:
    """A heartbeat as a live, healthy worker writes it (status says nothing dials without
    one)."""
    from dialer.engine.health import WorkerBeat
    from dialer.worker.monitor import HEARTBEAT_TTL_S

    now = engine.now_ms()
    beat = WorkerBeat(f"{name}/1", name, "test", 1, (), 8, True, "", 0, now, now)
    engine.health.beat(beat, HEARTBEAT_TTL_S)


def feed_now(engine: Engine, cid: str, now: float | None = None) -> list[Job]:
    """One FEED of the campaign, as its leading feeder would do it (at `now`, epoch s)."""
    campaign = engine.store.campaign(cid)
    calendar = Calendar.of(campaign.settings.windows, campaign.settings.timezone)
    jobs, _ = engine.feed(campaign, calendar, now=now)
    return jobs


def emitted(engine: Engine) -> list[OutboxEvent]:
    """The events written to the outbox since the last call (where no dispatcher runs)."""
    events = EventStore(engine.store.r, engine.store.keys)
    events.ensure_group()
    return events.read("test", count=10_000, block_ms=1, claim_idle_ms=3_600_000)


def wait_until(
    condition: Callable[[], Any],
    timeout_s: float,
    what: str,
    tick: Callable[[], object] = lambda: None,
) -> Any:
    """Poll `condition` until it returns something truthy (which is returned)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        tick()
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")


def calls_log(path: Path) -> list[dict]:
    """The simulator's calls log: what was dialled, and when."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


class WorkerPool:
    """Real `celery worker` subprocesses (kill -9 works on them, unlike an in-thread worker)."""

    def __init__(self, env: dict[str, str], log_dir, name: str = "w") -> None:
        self.env = env
        self.log_dir = log_dir
        self.name = name  # workers are NAME0@host, NAME1@host ...; logs NAME0.log ...
        self.procs: list[subprocess.Popen] = []
        self.started = 0

    def log(self, n: int) -> Path:
        return Path(self.log_dir) / f"{self.name}{n}.log"

    def start(self, concurrency: int = 8, extra: tuple[str, ...] = ()) -> subprocess.Popen:
        """One more worker; `extra`: more `celery worker` options (`-Q QUEUE`)."""
        n = self.started
        self.started += 1
        log = open(self.log(n), "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tasks",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(concurrency),
                "--loglevel",
                "INFO",
                "-n",
                f"{self.name}{n}@%h",
                "--without-heartbeat",
                "--without-mingle",
                "--without-gossip",
                *extra,
            ],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def revive(self) -> int:
        """Restart workers that exited, as a process supervisor (systemd, Docker) would."""
        dead = [p for p in self.procs if p.poll() is not None]
        for proc in dead:
            self.procs.remove(proc)
            self.start()
        return len(dead)

    def kill(self, proc: subprocess.Popen) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def engine_env(redis_url: str, namespace: str, sim_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_"))}
    env.update(
        DIALER_REDIS_URL=redis_url,
        DIALER_NAMESPACE=namespace,
        CCC_ENDPOINT=sim_url,
        CCC_INSTANCE_ID="ccc-test",
        ALIBABA_CLOUD_ACCESS_KEY_ID="testid",
        ALIBABA_CLOUD_ACCESS_KEY_SECRET="testsecret",
        # Short leases so crash recovery is visible within a test.
        DIALER_VISIBILITY_TIMEOUT_S="6",
        DIALER_QUEUED_LEASE_S="5",
        DIALER_DIALING_LEASE_S="5",
        CCC_READ_TIMEOUT_S="2",
        # Worker health a few times faster than in production (5 s heartbeat, 30 s alive
        # window, 15 s grace, 20 s stall), with room for a worker slowed by a busy machine.
        DIALER_HEARTBEAT_S="1",
        DIALER_ALIVE_WINDOW_S="8",
        DIALER_NO_HEALTHY_GRACE_S="8",
        DIALER_STALL_S="10",
    )
    env.update(extra)
    return env


def run_dialer(
    *args: str, env: Mapping[str, str], stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """`dialer ARGS` through the real entry point, in this process (a Python start-up costs
    more than most commands): settings from `env` only, stdin given, stdout and stderr
    captured, as `subprocess.run(..., capture_output=True, text=True)` reports them.
    A few smoke tests still start `python -m dialer.cli` as a process."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # main() sets logging up, for a process
    try:
        with (
            redirect_stdout(out),
            redirect_stderr(err),
            mock.patch("sys.stdin", io.StringIO(stdin)),
        ):
            try:
                status = main(list(args), env=env)
            except SystemExit as exc:  # argparse: --help, or a usage error
                if isinstance(exc.code, str):
                    print(exc.code, file=sys.stderr)
                status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
    finally:
        root.handlers[:], root.level = handlers, level
    return subprocess.CompletedProcess(["dialer", *args], status, out.getvalue(), err.getvalue())


def cli_env(redis_url: str, namespace: str, **extra: str) -> dict[str, str]:
    """The environment of a `dialer` command on this Redis and namespace (nothing else of
    the caller's DIALER_/CCC_ settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIALER_", "CCC_"))}
    env.update(DIALER_REDIS_URL=redis_url, DIALER_NAMESPACE=namespace, **extra)
    return env
