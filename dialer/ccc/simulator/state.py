"""What the simulated contact centre knows: instances, numbers, keys, placed calls, CDRs."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from dialer.ccc.client import utc_timestamp


@dataclass
class Faults:
    """Fault injection; mutable at run time (also over HTTP at /_simulator/faults).

    fail_rate:   share of StartBack2BackCall answered 500 InternalService.CTI, no call placed.
    hang_rate:   share of calls placed and then answered only after hang_s (client read timeout).
    drop_rate:   share of calls placed and then the connection closed with no answer.
    latency_ms:  added to every answer.
    max_qps:     account-wide throttle; over it the gateway answers Throttling.User.
    """

    latency_ms: float = 0.0
    fail_rate: float = 0.0
    hang_rate: float = 0.0
    drop_rate: float = 0.0
    hang_s: float = 30.0
    max_qps: float = 0.0


@dataclass
class SimulatorConfig:
    instance_ids: tuple[str, ...] = ("ccc-test",)
    numbers: tuple[str, ...] = ("02151234567",)
    access_keys: dict[str, str] = field(default_factory=lambda: {"testid": "testsecret"})
    seed: int | None = None
    calls_log: Path | None = None
    cdr_delay_ms: float = 0.0
    # Actions the access keys may not call (a RAM policy without them): 403 Forbidden.RAM.
    forbidden_actions: frozenset[str] = frozenset()
    faults: Faults = field(default_factory=Faults)


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

    def log_line(self) -> str:
        return json.dumps(
            {
                "time": utc_timestamp(self.accepted_at),
                "ts": round(self.accepted_at, 6),
                "instance": self.instance_id,
                "caller": self.caller,
                "callee": self.callee,
                "broker": self.broker,
                "additional_broker": self.additional_broker,
                "job_id": self.job_id,
                "request_id": self.request_id,
            },
            ensure_ascii=False,
        )


# (weight, ContactDisposition, ReleaseReason, established?, initiator)
_OUTCOMES = (
    (60, "Success", "200 OK", True, "customer"),
    (10, "NoAnswer", "480 Temporarily Unavailable", False, "caller"),
    (15, "NoAnswer", "408 Request Timeout", False, "callee"),
    (10, "Reject", "486 Busy Here", False, "callee"),
    (5, "Reject", "473 CALLED_FREQUENCY_LIMIT", False, "carrier"),
)


class SimulatorState:
    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.faults = config.faults
        self.rng = random.Random(config.seed)
        self.calls: list[PlacedCall] = []
        self._by_job: dict[str, PlacedCall] = {}
        self._lock = threading.Lock()
        self._recent: deque[float] = deque()
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

    def new_request_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4)).upper()

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
        with self._lock:
            self._job_counter += 1
            job_id = f"job-{self._job_counter}"
            cdr = self._simulate_cdr(job_id, caller, callee, broker, additional_broker, now)
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
                cdr,
            )
            self.calls.append(call)
            self._by_job[job_id] = call
            if self._log_file:
                self._log_file.write(call.log_line() + "\n")
                self._log_file.flush()
        return call

    def call_by_job(self, job_id: str) -> PlacedCall | None:
        with self._lock:
            return self._by_job.get(job_id)

    def cdr_ready(self, call: PlacedCall, now: float) -> bool:
        return now - call.accepted_at >= self.config.cdr_delay_ms / 1000.0

    def snapshot(self) -> list[PlacedCall]:
        with self._lock:
            return list(self.calls)

    def faults_dict(self) -> dict[str, float]:
        return asdict(self.faults)

    def _simulate_cdr(
        self,
        job_id: str,
        caller: str,
        callee: str,
        broker: str,
        additional_broker: str | None,
        now: float,
    ) -> dict[str, Any]:
        weights = [o[0] for o in _OUTCOMES]
        _, disposition, reason, established, initiator = self.rng.choices(_OUTCOMES, weights)[0]
        start_ms = int(now * 1000)
        ring_ms = self.rng.randint(3_000, 20_000)
        talk_s = self.rng.randint(10, 300) if established else 0
        established_ms = start_ms + ring_ms if established else None
        release_ms = start_ms + ring_ms + talk_s * 1000
        return {
            "ContactId": job_id,
            "ContactType": "BACK2BACK",
            "CallingNumber": broker,
            "CalledNumber": callee,
            "Caller": caller,
            "Broker": broker,
            "AdditionalBroker": additional_broker or "",
            "StartTime": start_ms,
            "EstablishedTime": established_ms,
            "ReleaseTime": release_ms,
            "CallDuration": (release_ms - start_ms) // 1000,
            "ReleaseInitiator": initiator,
            "ReleaseReason": reason,
            "ContactDisposition": disposition,
        }
