"""What the dialer knows about its surroundings, shared in Redis: the circuit breaker of each
CCC endpoint and instance, and the heartbeats of the worker processes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis

from dialer.engine.keys import Keys
from dialer.engine.scripts import lua_source
from dialer.engine.store import text

HEALTH_SCRIPTS = ("breaker_failed", "breaker_answered", "breaker_probe")
WORKERS_KEPT_MS = 7 * 86_400_000  # how long a dead worker's last heartbeat time is kept


@dataclass(frozen=True)
class BreakerState:
    """One breaker as stored: `name` is "endpoint host|instance id"."""

    name: str
    open: bool = False
    failures: int = 0
    since_ms: int | None = None  # when it opened
    next_probe_ms: int | None = None
    error: str = ""  # the code of the last failure

    @property
    def instance(self) -> str:
        return self.name.rsplit("|", 1)[-1]

    @property
    def endpoint(self) -> str:
        return self.name.rsplit("|", 1)[0]


@dataclass(frozen=True)
class WorkerBeat:
    """One worker process's heartbeat. Times are epoch ms on the Redis clock."""

    id: str
    name: str
    host: str
    pid: int
    queues: tuple[str, ...]
    concurrency: int
    healthy: bool
    reason: str  # why not healthy ("" when healthy)
    in_flight: int
    started_at_ms: int
    seen_at_ms: int

    def fields(self) -> Mapping[Any, str | int]:
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "queues": ",".join(self.queues),
            "concurrency": self.concurrency,
            "healthy": int(self.healthy),
            "reason": self.reason,
            "in_flight": self.in_flight,
            "started_at": self.started_at_ms,
            "seen_at": self.seen_at_ms,
        }

    @classmethod
    def from_fields(cls, wid: str, raw: dict[str, str]) -> WorkerBeat:
        return cls(
            id=wid,
            name=raw.get("name", wid),
            host=raw.get("host", ""),
            pid=int(raw.get("pid") or 0),
            queues=tuple(q for q in raw.get("queues", "").split(",") if q),
            concurrency=int(raw.get("concurrency") or 0),
            healthy=raw.get("healthy") == "1",
            reason=raw.get("reason", ""),
            in_flight=int(raw.get("in_flight") or 0),
            started_at_ms=int(float(raw.get("started_at") or 0)),
            seen_at_ms=int(float(raw.get("seen_at") or 0)),
        )


@dataclass(frozen=True)
class Workers:
    """The heartbeats of a namespace at one moment."""

    live: list[WorkerBeat]  # seen within the liveness window
    last_seen_ms: int | None  # the latest heartbeat of any worker ever seen (None: none)

    @property
    def alive(self) -> int:
        return len(self.live)

    @property
    def healthy(self) -> list[WorkerBeat]:
        return [w for w in self.live if w.healthy]


class HealthStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._s = {name: client.register_script(lua_source(name)) for name in HEALTH_SCRIPTS}

    # --- circuit breakers ---------------------------------------------------------------

    def breaker(self, name: str) -> BreakerState:
        raw = {text(k): text(v) for k, v in self.r.hgetall(self.keys.breaker(name)).items()}
        return _breaker(name, raw)

    def breakers(self) -> list[BreakerState]:
        names = sorted(text(n) for n in self.r.smembers(self.keys.breakers()))
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.hgetall(self.keys.breaker(name))
        return [
            _breaker(name, {text(k): text(v) for k, v in raw.items()})
            for name, raw in zip(names, pipe.execute(), strict=True)
        ]

    def breaker_failed(
        self,
        name: str,
        *,
        threshold: int,
        first_spacing_ms: int,
        spacing_cap_ms: int,
        growth: float,
        code: str,
        owner: str = "",
    ) -> tuple[bool, int]:
        """(open now, epoch ms of the next probe) after one more failure; see
        lua/breaker_failed.lua. `owner`: the probe's worker, when the probe failed."""
        out = self._s["breaker_failed"](
            keys=[self.keys.breaker(name), self.keys.breakers()],
            args=[name, threshold, first_spacing_ms, spacing_cap_ms, growth, code, owner],
        )
        return bool(int(out[0])), int(out[1])

    def breaker_answered(self, name: str) -> bool:
        """CCC answered: failures reset, the breaker closed. True if it had been open."""
        return bool(int(self._s["breaker_answered"](keys=[self.keys.breaker(name)], args=[])))

    def claim_probe(self, name: str, *, owner: str, lease_ms: int) -> tuple[bool, int]:
        """(whether `owner` sends the probe now, ms until the next probe: 0 when closed)."""
        out = self._s["breaker_probe"](keys=[self.keys.breaker(name)], args=[owner, lease_ms])
        return bool(int(out[0])), int(out[1])

    # --- worker heartbeats --------------------------------------------------------------

    def beat(self, beat: WorkerBeat, ttl_s: int) -> None:
        """Write one heartbeat; it lapses `ttl_s` after it was written."""
        key = self.keys.worker(beat.id)
        pipe = self.r.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping=beat.fields())
        pipe.expire(key, ttl_s)
        pipe.zadd(self.keys.workers(), {beat.id: beat.seen_at_ms})
        pipe.zremrangebyscore(self.keys.workers(), "-inf", beat.seen_at_ms - WORKERS_KEPT_MS)
        pipe.execute()

    def forget_beat(self, worker_id: str) -> None:
        """A worker stopping on purpose: no longer alive (its last time is kept)."""
        self.r.delete(self.keys.worker(worker_id))

    def workers(self, *, now_ms: int, window_ms: int) -> Workers:
        """Workers whose heartbeat is at most `window_ms` old, and the latest heartbeat."""
        seen = cast(
            "list[tuple[bytes, float]]", self.r.zrange(self.keys.workers(), 0, -1, withscores=True)
        )
        ids = [text(wid) for wid, _ in seen]
        last = max((int(score) for _, score in seen), default=None)
        pipe = self.r.pipeline(transaction=False)
        for wid in ids:
            pipe.hgetall(self.keys.worker(wid))
        live = []
        for wid, raw in zip(ids, pipe.execute() if ids else [], strict=True):
            if raw:
                beat = WorkerBeat.from_fields(wid, {text(k): text(v) for k, v in raw.items()})
                if beat.seen_at_ms >= now_ms - window_ms:
                    live.append(beat)
        return Workers(sorted(live, key=lambda w: w.name), last)

    def celery_backlog(self, queue: str) -> int:
        """Messages waiting in a Celery queue, not yet taken by any worker."""
        return int(self.r.llen(self.keys.celery_queue(queue)))


def _breaker(name: str, raw: dict[str, str]) -> BreakerState:
    def ms(field: str) -> int | None:
        value = raw.get(field)
        return int(float(value)) if value else None

    is_open = raw.get("state") == "open"
    return BreakerState(
        name=name,
        open=is_open,
        failures=int(raw.get("failures") or 0),
        since_ms=ms("since") if is_open else None,
        next_probe_ms=ms("next_probe") if is_open else None,
        error=raw.get("error", ""),
    )
