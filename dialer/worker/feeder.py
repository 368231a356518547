"""The feeder: moves rows into the worker queue only as their broker's slots come due.

Every worker process runs one feeder thread; per campaign, whichever holds the lease leads
and the others stand by, so a dead leader is replaced within a lease period. Between ticks
the leader blocks on its campaigns' wake lists until the earliest broker slot, so a campaign
waiting on slots, calls in flight or retries costs Redis nothing; campaigns outside their
calling windows and paused ones are not in the running set at all. While CCC is unreachable
(the breaker of the campaign's instance is open) nothing is fed."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from dialer.calendar import Calendar
from dialer.campaign.manage import expire_campaigns
from dialer.engine import Campaign, Engine, Job
from dialer.errors import StoreError
from dialer.worker.monitor import Breaker

log = logging.getLogger(__name__)
BREAKER_RECHECK_MS = 500


class Feeder:
    def __init__(
        self,
        engine: Engine,
        enqueue: Callable[[list[Job]], None],
        *,
        upkeep_max_s: float = 5.0,
        refresh_s: float = 1.0,
        max_feed_gap_s: float = 2.0,
        max_wait_s: float = 1.0,
        lease_ms: int = 3000,
        owner: str | None = None,
        clock: Callable[[], float] | None = None,
        breaker: Breaker | None = None,
        retention_days: float | None = None,
        sweep_every_s: float = 600.0,
    ) -> None:
        self.engine = engine
        self.breaker = breaker
        self.enqueue = enqueue
        self.upkeep_max_s = upkeep_max_s
        self.refresh_s = refresh_s
        self.max_feed_gap_s = max_feed_gap_s
        self.max_wait_s = max_wait_s
        self.lease_ms = lease_ms
        self.owner = owner or uuid.uuid4().hex
        self.clock = clock or engine.clock  # epoch s on the Redis clock; tests inject one
        self._led: dict[str, Campaign] = {}
        self._next_refresh = 0.0
        self._next_upkeep: dict[str, float] = {}
        self._next_due_ms: dict[str, int | None] = {}
        self.retention_days = retention_days
        self.sweep_every_s = sweep_every_s
        self._next_sweep = 0.0
        self._last_feed: dict[str, float] = {}
        self._forget = threading.Event()

    def forget(self) -> None:
        """Redis failed over (worker.failover): on its next tick the feeder drops what it
        believed (leases held, when brokers are due) and takes, sweeps and feeds at once."""
        self._forget.set()

    def refresh(self) -> None:
        """Wake campaigns whose window opened; take or renew the leases of running ones."""
        engine = self.engine
        engine.wake_sleeping(int(self.clock() * 1000))
        led = engine.led_campaigns(self.owner, self.lease_ms, known=self._led)
        self._led = {c.id: c for c in led}
        for cid in self._led:
            self._next_due_ms.setdefault(cid, 0)  # a campaign just taken over: feed at once
        for gone in (set(self._next_upkeep) | set(self._next_due_ms)) - set(self._led):
            self._drop(gone)
        self.sweep()

    def sweep(self) -> list[str]:
        """Delete finished campaigns past DIALER_RETENTION_DAYS: at most once per
        `sweep_every_s` across every worker (whoever takes the sweep key first)."""
        now = time.monotonic()
        if self.retention_days is None or now < self._next_sweep:
            return []
        self._next_sweep = now + self.sweep_every_s
        if not self.engine.claim_retention_sweep(self.owner, int(self.sweep_every_s * 1000)):
            return []
        gone = expire_campaigns(self.engine, self.retention_days, int(self.clock() * 1000))
        for cid in gone:
            log.info("deleted campaign %s: finished over %g days ago", cid, self.retention_days)
        return gone

    def tick(self) -> int:
        """Feed every campaign this feeder leads whose next broker is due; rows enqueued."""
        now = time.monotonic()
        if self._forget.is_set():
            self._forget.clear()
            for cid in list(self._led):
                self._drop(cid)
            self._next_refresh = 0.0
        if now >= self._next_refresh:
            self._next_refresh = now + self.refresh_s
            self.refresh()
        fed = 0
        for cid, campaign in list(self._led.items()):
            if now >= self._next_upkeep.get(cid, 0.0):
                upkept = self.engine.upkeep(campaign)
                if upkept.finished:
                    self._drop(cid)
                    continue
                # Again when the next lease or retry falls due, and now and then regardless
                # (a broker may go down meanwhile; completion is checked there too).
                wait_s = self.upkeep_max_s
                if upkept.next_due_ms is not None:
                    wait_s = (upkept.next_due_ms - self.engine.now_ms()) / 1000.0
                self._next_upkeep[cid] = now + min(self.upkeep_max_s, max(0.05, wait_s))
            settings = campaign.settings
            calendar = Calendar.of(settings.windows, settings.timezone)
            wall = self.clock()
            if settings.end_at_ms and wall * 1000 >= settings.end_at_ms:
                ended = self.engine.end(cid)
                log.info("campaign %s: its end time passed; %d rows waiting ended", cid, ended)
                self._drop(cid)
                continue
            if wall * 1000 < settings.start_at_ms:
                # Started before its --start-at: off the feeders' list until then.
                self.engine.sleep(cid, settings.start_at_ms)
                self._drop(cid)
                continue
            if not calendar.is_open(wall):
                # Nothing is fed outside the windows, so no call and no retry lands there.
                self.engine.sleep(cid, int(calendar.next_open(wall) * 1000))
                self._drop(cid)
                continue
            due = self._next_due_ms.get(cid)
            # Besides when a broker is due, now and then regardless: a caller this campaign
            # waits for may be freed by another campaign's call, which wakes only its own.
            stale = now - self._last_feed.get(cid, 0.0) >= self.max_feed_gap_s
            if not stale and (due is None or due > self.engine.now_ms()):
                continue
            if self.breaker is not None and self.breaker.is_open(settings.instance_id):
                # CCC unreachable: look again in a moment, and feed as soon as it answers.
                self._next_due_ms[cid] = self.engine.now_ms() + BREAKER_RECHECK_MS
                continue
            self._last_feed[cid] = now
            jobs, self._next_due_ms[cid] = self.engine.feed(campaign, calendar, now=wall)
            if jobs:
                self.enqueue(jobs)
                fed += len(jobs)
        return fed

    def _drop(self, cid: str) -> None:
        self._led.pop(cid, None)
        self._next_upkeep.pop(cid, None)
        self._next_due_ms.pop(cid, None)
        self._last_feed.pop(cid, None)

    def wait(self) -> None:
        """Until a broker is due, upkeep or a refresh is due, or a script says a broker of
        one of our campaigns is due earlier than we knew."""
        now = time.monotonic()
        deadlines = [
            self._next_refresh,
            *self._next_upkeep.values(),
            *(t + self.max_feed_gap_s for t in self._last_feed.values()),
        ]
        due = [d for d in self._next_due_ms.values() if d is not None]
        if due:
            deadlines.append(now + (min(due) - self.engine.now_ms()) / 1000.0)
        timeout = min(self.max_wait_s, max(0.005, min(deadlines) - now))
        woken = self.engine.wait_for_wake(list(self._led), timeout)
        if woken is not None:
            cid, at = woken
            known = self._next_due_ms.get(cid)
            self._next_due_ms[cid] = at if known is None else min(known, at)

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
                self.wait()
            except StoreError as exc:
                log.warning("feeder: Redis unavailable (%s); retrying", exc)
                stop.wait(0.5)
            except Exception:
                log.exception("feeder tick failed")
                stop.wait(1.0)

    def start_thread(self) -> tuple[threading.Thread, threading.Event]:
        stop = threading.Event()
        thread = threading.Thread(target=self.run, args=(stop,), name="dialer-feeder", daemon=True)
        thread.start()
        return thread, stop
