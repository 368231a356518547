"""How fit the dialling side is, and the monitor thread every worker process runs.

- Breaker: this process's view of the circuit breaker of each CCC instance on its endpoint,
  shared in Redis (dialer/engine/lua/breaker_*.lua). A run of requests that found no CCC
  opens it for every worker: nothing is fed or dialled, one worker at a time probes with
  growing spacing, and the first answer closes it.
- WorkerHealth: this process's own fitness. CCC refusing its key or its clock makes it
  unhealthy: it stops taking calls, others carry on.
- Monitor: the heartbeat (who is alive, healthy or why not, calls in flight), the probes,
  re-checking a refused key, pausing the campaigns when no healthy worker is left, and the
  watchdog that ends a worker that is alive but no longer takes the calls waiting for it,
  and watching which Redis primary serves (a failover is repaired: dialer.worker.failover).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dialer.ccc.client import CccClient
from dialer.engine import Engine
from dialer.engine.health import BreakerState, WorkerBeat, Workers
from dialer.errors import CccError, CccUnreachable, DialerError, StoreError, WorkerFatal

log = logging.getLogger(__name__)

BREAKER_THRESHOLD = 5  # requests in a row, across workers, that found no CCC
FIRST_PROBE_MS = 1_000
PROBE_GROWTH = 1.5  # each failed probe waits this much longer for the next ...
PROBE_CAP_MS = 60_000  # ... up to a minute
PROBE_LEASE_MS = 20_000  # a probe's worker that vanished is replaced after this
BREAKER_REFRESH_S = 0.5
# The heartbeat's period, the alive window, the grace before pausing with no healthy worker
# (workers started together have time to write their first heartbeats) and the stall limit
# are the engine's Timing (settings: DIALER_HEARTBEAT_S ...), so tests can shorten them.
HEARTBEAT_TTL_S = 60  # the hash outlives the alive window: `dialer workers` can say why
CREDENTIALS_RECHECK_S = 60.0
# How the pause reason begins when no live worker is healthy.
NO_HEALTHY_WORKER = "no healthy worker"


def breaker_name(endpoint: str, instance_id: str) -> str:
    return f"{urlsplit(endpoint).netloc or endpoint}|{instance_id}"


def live_workers(engine: Engine) -> Workers:
    """The workers of this namespace seen within the alive window (30 s by default)."""
    return engine.health.workers(now_ms=engine.now_ms(), window_ms=engine.timing.alive_window_ms)


def heartbeat_ttl_s(engine: Engine) -> int:
    """How long a heartbeat is kept: past the alive window, so `dialer workers` can say why."""
    return max(HEARTBEAT_TTL_S, 2 * engine.timing.alive_window_ms // 1000)


class Breaker:
    """The breakers of one CCC endpoint as this process sees them: read from Redis at most
    every half second, so asking before every call costs no round trip."""

    def __init__(
        self, engine: Engine, endpoint: str, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.engine = engine
        self.endpoint = endpoint
        self._clock = clock
        self._seen: dict[str, tuple[float, BreakerState]] = {}
        self._lock = threading.Lock()

    def name(self, instance_id: str) -> str:
        return breaker_name(self.endpoint, instance_id)

    def state(self, instance_id: str) -> BreakerState:
        name = self.name(instance_id)
        with self._lock:
            seen = self._seen.get(name)
        if seen is not None and self._clock() - seen[0] < BREAKER_REFRESH_S:
            return seen[1]
        try:
            return self._store(self.engine.health.breaker(name))
        except StoreError:
            # Redis is away: go by what was known (the row scripts will wait for Redis).
            return seen[1] if seen is not None else BreakerState(name)

    def _store(self, state: BreakerState) -> BreakerState:
        with self._lock:
            self._seen[state.name] = (self._clock(), state)
        return state

    def is_open(self, instance_id: str) -> bool:
        return self.state(instance_id).open

    def answered(self, instance_id: str) -> None:
        """CCC answered a request: end a run of failures (one script call, only when this
        process knows of one)."""
        state = self.state(instance_id)
        if state.failures or state.open:
            if self.engine.health.breaker_answered(state.name):
                log.warning("CCC answers again (%s): dialling resumes", state.name)
            self._store(BreakerState(state.name))

    def failed(self, instance_id: str, code: str, *, owner: str = "") -> bool:
        """A request found no CCC; True when the breaker is (now) open."""
        name = self.name(instance_id)
        was_open = self.state(instance_id).open
        is_open, _ = self.engine.health.breaker_failed(
            name,
            threshold=BREAKER_THRESHOLD,
            first_spacing_ms=FIRST_PROBE_MS,
            spacing_cap_ms=PROBE_CAP_MS,
            growth=PROBE_GROWTH,
            code=code,
            owner=owner,
        )
        if is_open and not was_open:
            log.warning("CCC unreachable (%s, %s): dialling stops until it answers", name, code)
        self._store(self.engine.health.breaker(name))
        return is_open

    def open_here(self) -> list[BreakerState]:
        """The open breakers of this endpoint (read now, not cached)."""
        host = urlsplit(self.endpoint).netloc or self.endpoint
        return [b for b in self.engine.health.breakers() if b.open and b.endpoint == host]


class WorkerHealth:
    """This worker process's own fitness to dial, and its calls in flight."""

    def __init__(self, concurrency: int = 0) -> None:
        self.concurrency = concurrency
        self.healthy = True
        self.reason = ""
        self.unhealthy_since = 0.0  # monotonic
        self.in_flight = 0
        self.last_task_at = time.monotonic()
        self._lock = threading.Lock()
        self._listeners: list[Callable[[bool], None]] = []

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(healthy)` whenever the worker turns unhealthy or healthy again."""
        self._listeners.append(listener)

    def rejected(self, exc: WorkerFatal) -> None:
        """CCC refused this worker's key or clock."""
        self._set(False, f"{exc.code}: {exc.message}"[:300])

    def restored(self) -> None:
        self._set(True, "")

    def _set(self, healthy: bool, reason: str) -> None:
        with self._lock:
            changed = healthy != self.healthy
            self.healthy, self.reason = healthy, reason
            if changed and not healthy:
                self.unhealthy_since = time.monotonic()
        if changed:
            if healthy:
                log.warning("CCC accepts this worker's key again: taking calls")
            else:
                log.error("this worker stops taking calls: %s", reason)
            for listener in self._listeners:
                listener(healthy)

    @contextmanager
    def task(self) -> Iterator[None]:
        """Around one task: counts it in flight."""
        with self._lock:
            self.in_flight += 1
            self.last_task_at = time.monotonic()
        try:
            yield
        finally:
            with self._lock:
                self.in_flight -= 1


@dataclass(frozen=True)
class Identity:
    """Who a worker process is, for its heartbeat."""

    name: str
    queues: tuple[str, ...] = ()
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)

    @property
    def id(self) -> str:
        return f"{self.name}/{self.pid}"


class Monitor:
    """A worker process's background duties, once a second (see the module docstring).
    `consuming()` says whether the worker means to take calls now; `backlog()` how many wait
    in its queue; `on_stall()` is called (and should end the process) when calls have waited
    Timing.stall_s while this worker had room and took none."""

    def __init__(
        self,
        engine: Engine,
        client: CccClient,
        health: WorkerHealth,
        breaker: Breaker,
        identity: Identity,
        *,
        probe_instance: str,
        consuming: Callable[[], bool] = lambda: False,
        backlog: Callable[[], int] = lambda: 0,
        on_stall: Callable[[], None] = lambda: None,
        on_failover: Callable[[], None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        self.client = client
        self.health = health
        self.breaker = breaker
        self.identity = identity
        self.probe_instance = probe_instance
        self.consuming = consuming
        self.backlog = backlog
        self.on_stall = on_stall
        self.on_failover = on_failover
        self.clock = clock
        self._repair_due = False
        self.owner = uuid.uuid4().hex
        self.stop = threading.Event()
        self.started_at_ms = 0
        self._next_beat = 0.0
        self._next_credentials_check = 0.0
        self._waiting_since: float | None = None

    # --- credentials --------------------------------------------------------------------

    def check_credentials(self) -> None:
        """One probe: does CCC accept this worker's key and clock? (When CCC does not
        answer, nothing is learnt and the worker stays as it was.)"""
        try:
            self.client.probe(instance_id=self.probe_instance)
        except WorkerFatal as exc:
            self.health.rejected(exc)
        except CccUnreachable:
            pass
        else:
            self.health.restored()

    # --- one pass -----------------------------------------------------------------------

    def tick(self) -> None:
        now = self.clock()
        timing = self.engine.timing
        self.watch_primary()
        if now >= self._next_beat:
            self._next_beat = now + timing.heartbeat_s
            self.beat()
            unhealthy_for = now - self.health.unhealthy_since
            if not self.health.healthy and unhealthy_for >= timing.no_healthy_grace_s:
                self.pause_if_no_healthy_worker()
        if not self.health.healthy and now >= self._next_credentials_check:
            self._next_credentials_check = now + CREDENTIALS_RECHECK_S
            self.check_credentials()
        if self.health.healthy:
            self.probe_open_breakers()
        self.watch_for_stall(now)

    def watch_primary(self) -> None:
        """Which Redis primary is it now, with how many replicas (one INFO round trip)? A new
        one (a failover): `on_failover()` repairs what lost writes left (worker.failover),
        again next second if it could not finish."""
        before = self.engine.check_primary()
        if before is not None:
            now = self.engine.replication.seen
            log.warning(
                "Redis has a new primary (run id %s with %d replica(s), was %s): a failover "
                "or a restart; repairing what lost writes left",
                now.run_id[:8] if now else "?",
                now.replicas if now else 0,
                before.run_id[:8],
            )
            self._repair_due = True
        if self._repair_due:
            self.on_failover()
            self._repair_due = False

    def beat(self) -> None:
        now_ms = self.engine.now_ms()
        if not self.started_at_ms:
            self.started_at_ms = now_ms
        ident, h = self.identity, self.health
        beat = WorkerBeat(
            id=ident.id,
            name=ident.name,
            host=ident.host,
            pid=ident.pid,
            queues=ident.queues,
            concurrency=h.concurrency,
            healthy=h.healthy,
            reason=h.reason,
            in_flight=h.in_flight,
            started_at_ms=self.started_at_ms,
            seen_at_ms=now_ms,
        )
        self.engine.health.beat(beat, heartbeat_ttl_s(self.engine))

    def pause_if_no_healthy_worker(self) -> list[str]:
        """When every live worker is unhealthy, nothing can dial: pause the running
        campaigns, naming the workers and why. Returns the campaigns paused."""
        workers = live_workers(self.engine)
        if workers.healthy or not workers.live:
            return []
        why = "; ".join(f"{w.name} ({w.reason.split(':', 1)[0]})" for w in workers.live)
        reason = (
            f"{NO_HEALTHY_WORKER}: {why}; fix the key or the clock of the workers and "
            "restart them, then resume"
        )[:300]
        paused = []
        for cid in self.engine.running_ids_all():
            try:
                self.engine.pause(cid, reason)
                paused.append(cid)
            except DialerError:
                continue  # no longer RUNNING
        if paused:
            log.error("campaigns %s paused: %s", ", ".join(paused), reason)
        return paused

    def probe_open_breakers(self) -> None:
        for state in self.breaker.open_here():
            if state.next_probe_ms and state.next_probe_ms > self.engine.now_ms():
                continue
            mine, _ = self.engine.health.claim_probe(
                state.name, owner=self.owner, lease_ms=PROBE_LEASE_MS
            )
            if mine:
                self._probe(state)

    def _probe(self, state: BreakerState) -> None:
        try:
            self.client.probe(instance_id=state.instance)
        except CccUnreachable as exc:
            self.breaker.failed(state.instance, exc.code, owner=self.owner)
            return
        except WorkerFatal as exc:
            # The gateway answered, so CCC is there; this worker's key is the problem.
            self.health.rejected(exc)
        self.breaker.answered(state.instance)

    def watch_for_stall(self, now: float) -> None:
        """Calls waiting, this worker meaning to take them and with room for them, and none
        taken for Timing.stall_s: its consumer is stuck (a Celery/kombu fault after the broker
        connection dropped); only a restart helps."""
        h = self.health
        room = h.concurrency == 0 or h.in_flight < h.concurrency
        if not (self.consuming() and room and self.backlog() > 0):
            self._waiting_since = None
            return
        if self._waiting_since is None:
            self._waiting_since = now
        since = max(self._waiting_since, h.last_task_at)
        if now - since >= self.engine.timing.stall_s:
            log.critical(
                "calls have waited %.0f s and this worker took none: its consumer is stuck; "
                "exiting so that a supervisor restarts it",
                now - since,
            )
            self.on_stall()

    # --- the thread ---------------------------------------------------------------------

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.tick()
            except StoreError as exc:
                log.warning("monitor: Redis unavailable (%s); retrying", exc)
                self._waiting_since = None
            except CccError as exc:
                log.warning("monitor: %s", exc)
            except Exception:
                log.exception("monitor tick failed")
            self.stop.wait(1.0)
        with suppress(StoreError):
            self.engine.health.forget_beat(self.identity.id)

    def start_thread(self) -> threading.Thread:
        """Run in a daemon thread until `stop` is set."""
        thread = threading.Thread(target=self.run, name="dialer-monitor", daemon=True)
        thread.start()
        return thread
