"""Helpers shared by the tests (importable: pytest puts tests/ on sys.path)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

NUMBERS = ("02151234567", "02151234568", "02151234569", "02151234570")
# Tests run at any hour; the carriers' 09:00-21:00 default is tested on its own.
ALWAYS = ("00:00-24:00",)


class WorkerPool:
    """Real `celery worker` subprocesses (kill -9 works on them, unlike an in-thread worker)."""

    def __init__(self, env: dict[str, str], log_dir) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, concurrency: int = 8) -> subprocess.Popen:
        n = len(self.procs)
        log = open(self.log_dir / f"worker{n}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tasks", "worker", "--pool", "threads",
             "--concurrency", str(concurrency), "--loglevel", "INFO", "-n", f"w{n}@%h",
             "--without-heartbeat", "--without-mingle", "--without-gossip"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
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
    )
    env.update(extra)
    return env
