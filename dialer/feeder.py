"""The feeder: moves rows into the worker queue only as their broker's slots come due.

Every worker process runs one feeder thread; per campaign, whichever holds the lease leads
and the others stand by, so a dead leader is replaced within a lease period."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

import redis

from dialer.calendar import Calendar
from dialer.engine import Engine, Job
from dialer.models import CampaignStatus

log = logging.getLogger(__name__)


class Feeder:
    def __init__(
        self,
        engine: Engine,
        enqueue: Callable[[list[Job]], None],
        *,
        tick_s: float = 0.02,
        housekeeping_s: float = 0.5,
        lease_ms: int = 3000,
        owner: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.enqueue = enqueue
        self.tick_s = tick_s
        self.housekeeping_s = housekeeping_s
        self.lease_ms = lease_ms
        self.owner = owner or uuid.uuid4().hex
        self._next_housekeeping: dict[str, float] = {}
        self._brokers: dict[str, tuple[float, list[str]]] = {}
        self._closed: dict[str, float] = {}  # campaign -> when its calling window reopens
        self.clock = clock

    def tick(self) -> int:
        """One pass over every running campaign this feeder leads; rows enqueued."""
        engine = self.engine
        fed = 0
        led = engine.led_campaigns(
            engine.keys.running(), engine.keys.feeder_lease, self.owner, self.lease_ms
        )
        for campaign in led:
            cid = campaign.id
            if campaign.status is not CampaignStatus.RUNNING:
                continue
            now = time.monotonic()
            if now >= self._next_housekeeping.get(cid, 0.0):
                self._next_housekeeping[cid] = now + self.housekeeping_s
                if engine.housekeeping(campaign):
                    continue
            wall = self.clock()
            calendar = Calendar.of(campaign.settings.windows, campaign.settings.timezone)
            if not self._window_open(cid, calendar, wall):
                continue
            jobs = engine.feed(cid, self._brokers_of(cid, now), calendar.day_key(wall))
            if jobs:
                self.enqueue(jobs)
                fed += len(jobs)
        return fed

    def _window_open(self, cid: str, calendar: Calendar, wall: float) -> bool:
        """Outside the calling windows nothing is fed (so no call and no retry lands there);
        the campaign's meta says when dialling resumes, for `dialer status`."""
        meta = self.engine.keys.meta(cid)
        if calendar.is_open(wall):
            if self._closed.pop(cid, None) is not None:
                self.engine.r.hdel(meta, "resumes_at")
            return True
        resumes = calendar.next_open(wall)
        if self._closed.get(cid) != resumes:
            self._closed[cid] = resumes
            self.engine.r.hset(meta, "resumes_at", resumes)
        return False

    def _brokers_of(self, cid: str, now: float) -> list[str]:
        # Brokers change only when rows move off a down broker; refresh now and then.
        cached = self._brokers.get(cid)
        if cached is None or now - cached[0] > 5.0:
            cached = (now, self.engine.brokers(cid))
            self._brokers[cid] = cached
        return cached[1]

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                fed = self.tick()
            except redis.RedisError as exc:
                log.warning("feeder: Redis unavailable (%s); retrying", exc)
                stop.wait(0.5)
                continue
            except Exception:
                log.exception("feeder tick failed")
                stop.wait(1.0)
                continue
            if not fed:
                stop.wait(self.tick_s)

    def start_thread(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="dialer-feeder", daemon=True)
        thread.start()
        return thread, stop
