"""What the simulated contact centre knows: instances, numbers, keys, placed calls, records."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dialer.ccc.client import utc_timestamp
from dialer.ccc.simulator.calls import (
    Timeline,
    busy_timeline,
    call_record,
    instant_timeline,
    timed_timeline,
)
from dialer.ccc.simulator.faults import Faults


@dataclass
class SimulatorConfig:
    instance_ids: tuple[str, ...] = ("ccc-test",)
    numbers: tuple[str, ...] = ("02151234567",)
    access_keys: dict[str, str] = field(default_factory=lambda: {"testid": "testsecret"})
    seed: int | None = None
    calls_log: Path | None = None
    # Shorthand for faults.cdr_delay_ms (which is what the simulator reads, and can change).
    cdr_delay_ms: float | None = None
    # Actions the access keys may not call (a RAM policy without them): 403 Forbidden.RAM.
    forbidden_actions: frozenset[str] = frozenset()
    faults: Faults = field(default_factory=Faults)

    def __post_init__(self) -> None:
        if self.cdr_delay_ms is not None:
            self.faults.update({"cdr_delay_ms": self.cdr_delay_ms})


@dataclass(frozen=True)
class PlacedCall:
    job_id: str
    request_id: str
    instance_id: str
    caller: str
    callee: str
    broker: str
    additional_broker: str | None
    timeout_seconds: int
    tags: str | None
    accepted_at: float
    cdr: dict[str, Any]
    timeline: Timeline
    # How this call's record writes phone numbers (the fault in force when it was placed).
    number_format: str = "plain"

    def log_entry(self) -> dict[str, Any]:
        return {
            "time": utc_timestamp(self.accepted_at),
            "ts": round(self.accepted_at, 6),
            "instance": self.instance_id,
            "caller": self.caller,
            "callee": self.callee,
            "broker": self.broker,
            "additional_broker": self.additional_broker,
            "job_id": self.job_id,
            "request_id": self.request_id,
            **self.timeline.as_log(),
        }

    def log_line(self) -> str:
        return json.dumps(self.log_entry(), ensure_ascii=False)


class SimulatorState:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.faults = config.faults
        self.rng = random.Random(config.seed)
        # Call timelines draw from their own stream, so they depend only on the order calls
        # are placed, not on how many other requests (lookups, errors) came in between.
        self.call_rng = random.Random(None if config.seed is None else f"calls:{config.seed}")
        # Request ids too: fault rolls then depend only on the order of the requests they
        # apply to, however many lookups a poller happens to make in between.
        self._id_rng = random.Random(None if config.seed is None else f"ids:{config.seed}")
        self.calls: list[PlacedCall] = []
        self._by_job: dict[str, PlacedCall] = {}
        # Caller number -> epoch ms its current timed call is released.
        self._busy_until_ms: dict[str, int] = {}
        self._callee_rung: dict[str, int] = {}  # times each callee's leg was rung
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
        # Signed requests per action, answered or refused: what a run cost in API calls.
        self.requests: Counter[str] = Counter()
        self._job_counter = self.rng.randrange(10**17, 9 * 10**17)
        # Held open for the simulator's lifetime and closed in close().
        self._log_file = (
            open(config.calls_log, "a", encoding="utf-8")  # noqa: SIM115
            if config.calls_log
            else None
        )

    def close(self) -> None:
        if self._log_file:
            self._log_file.close()

    def count_request(self, action: str) -> None:
        with self._lock:
            self.requests[action] += 1

    def request_counts(self) -> dict[str, int]:
        """Signed requests per action so far (GET /_simulator/requests)."""
        with self._lock:
            return dict(self.requests)

    def new_request_id(self) -> str:
        with self._lock:
            bits = self._id_rng.getrandbits(128)
        return str(uuid.UUID(int=bits, version=4)).upper()

    def roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self.rng.random() < rate

    def over_qps(self, now: float) -> bool:
        limit = self.faults.max_qps
        if limit <= 0:
            return False
        with self._lock:
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= limit:
                return True
            self._recent.append(now)
            return False

    def place(
        self,
        *,
        request_id: str,
        instance_id: str,
        caller: str,
        callee: str,
        broker: str,
        additional_broker: str | None,
        timeout_seconds: int,
        tags: str | None,
    ) -> PlacedCall:
        now = time.time()
        start_ms = int(now * 1000)
        with self._lock:
            self._job_counter += 1
            job_id = f"job-{self._job_counter}"
            timeline = self._timeline(caller, callee, start_ms, timeout_seconds)
            call = PlacedCall(
                job_id,
                request_id,
                instance_id,
                caller,
                callee,
                broker,
                additional_broker,
                timeout_seconds,
                tags,
                now,
                call_record(job_id, caller, callee, broker, additional_broker, timeline),
                timeline,
                self.faults.cdr_number_format,
            )
            self.calls.append(call)
            self._by_job[job_id] = call
            if self._log_file:
                self._log_file.write(call.log_line() + "\n")
                self._log_file.flush()
        return call

    def _timeline(self, caller: str, callee: str, start_ms: int, timeout_seconds: int) -> Timeline:
        if not self.faults.timed:
            return instant_timeline(self.rng, start_ms)
        if self._busy_until_ms.get(caller, 0) > start_ms:
            return busy_timeline(start_ms)
        ring = self._callee_rung.get(callee, 0) + 1
        timeline = timed_timeline(
            self.call_rng, self.faults, start_ms, timeout_seconds, caller=caller, callee_ring=ring
        )
        if timeline.caller_answered_ms is not None:
            self._callee_rung[callee] = ring
        self._busy_until_ms[caller] = timeline.release_ms
        return timeline

    def call_by_job(self, job_id: str) -> PlacedCall | None:
        with self._lock:
            return self._by_job.get(job_id)

    def cdr_ready(self, call: PlacedCall, now: float) -> bool:
        """A timed call's record is visible cdr_delay_ms after the call is released; an
        instant call's, cdr_delay_ms after it was placed."""
        delay_ms = self.faults.cdr_delay_ms
        if call.timeline.timed:
            return now * 1000 >= call.timeline.release_ms + delay_ms
        return now - call.accepted_at >= delay_ms / 1000.0

    def snapshot(self) -> list[PlacedCall]:
        with self._lock:
            return list(self.calls)

    def log_entries(self) -> list[dict[str, Any]]:
        """Every accepted call as its calls-log line says, timeline included."""
        return [call.log_entry() for call in self.snapshot()]

    def faults_dict(self) -> dict[str, Any]:
        return self.faults.to_dict()
