"""Engine: the campaign lifecycle and every row transition, each one Lua script call."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import redis

from dialer.calendar import Calendar
from dialer.engine.codec import Campaign, DialEntry, row_of, split_member
from dialer.engine.scripts import Begun, Outcome, Scripts
from dialer.engine.store import CampaignStore, text
from dialer.errors import CampaignNotFound, DialerError
from dialer.models import CampaignSettings, CampaignStatus, Timing

T = TypeVar("T")
BATCH = 1000
PAUSED_BY_USER = "paused by operator"
CLOCK_REFRESH_S = 30.0


@dataclass(frozen=True)
class Job:
    """One queued row as it travels in a Celery message; `slot_ms` is the Redis-clock time
    FEED paced it to."""

    campaign_id: str
    broker: str
    packed: str
    token: str
    slot_ms: int = 0

    @property
    def entry(self) -> DialEntry:
        return DialEntry.unpack(self.packed, self.broker)

    @property
    def row(self) -> int:
        return row_of(self.packed)


@dataclass(frozen=True)
class Caps:
    """The caps one call is counted against, with the campaign-zone day it falls on."""

    day: str
    month: str
    next_day_ms: int  # when a callee over today's cap may be tried again (Redis clock)
    callee_daily: int
    callee_monthly: int
    broker_daily: int
    pair_guard_s: float

    @classmethod
    def for_campaign(cls, settings: CampaignSettings, calendar: Calendar, now: float) -> Caps:
        """`now`: epoch seconds on the Redis clock (Engine.clock)."""
        return cls(
            day=calendar.day_key(now),
            month=calendar.month_key(now),
            next_day_ms=int(calendar.next_day_open(now) * 1000),
            callee_daily=settings.callee_daily_cap,
            callee_monthly=settings.callee_monthly_cap,
            broker_daily=settings.broker_daily_cap,
            pair_guard_s=settings.pair_guard_s,
        )


class Engine:
    def __init__(self, store: CampaignStore, timing: Timing | None = None) -> None:
        self.store = store
        self.keys = store.keys
        self.timing = timing or Timing()
        self.scripts = Scripts(store.r, store.keys)
        self._offset_ms = 0.0
        self._offset_at = -CLOCK_REFRESH_S
        self._clock_lock = threading.Lock()

    # --- the Redis clock ------------------------------------------------------------------

    def now_ms(self) -> int:
        """Epoch ms on the Redis server's clock (every stored time is on it), estimated from
        this host's clock and an offset measured every 30 s: one round trip, not one a call."""
        with self._clock_lock:
            if time.monotonic() - self._offset_at >= CLOCK_REFRESH_S:
                before = time.time()
                redis_ms = self.store.now_ms()
                after = time.time()
                self._offset_ms = redis_ms - (before + after) * 500.0
                self._offset_at = time.monotonic()
            return int(time.time() * 1000 + self._offset_ms)

    def clock(self) -> float:
        """Epoch seconds on the Redis clock."""
        return self.now_ms() / 1000.0

    # --- campaign control -----------------------------------------------------------------

    def _status(self, cid: str, allowed: set[CampaignStatus], new: CampaignStatus,
                reason: str = "") -> None:  # fmt: skip
        if not self.scripts.set_status(cid, allowed=allowed, new=new, reason=reason):
            status = self.store.campaign(cid).status
            wanted = " or ".join(sorted(allowed))
            raise DialerError(f"campaign {cid} is {status}, not {wanted}")

    def start(self, cid: str) -> None:
        self._status(cid, {CampaignStatus.READY}, CampaignStatus.RUNNING)

    def pause(self, cid: str, reason: str = PAUSED_BY_USER) -> None:
        self._status(cid, {CampaignStatus.RUNNING}, CampaignStatus.PAUSED, reason)

    def resume(self, cid: str) -> None:
        self._status(cid, {CampaignStatus.PAUSED}, CampaignStatus.RUNNING)

    def cancel(self, cid: str) -> int:
        """Stop the campaign and mark every row not yet dialling CANCELLED; rows whose request
        is already in flight finish as they would have. Safe to repeat: a cancel cut short
        (a crash, Redis gone) is completed by the next one."""
        total, more = self.scripts.cancel(cid, limit=BATCH)
        while more:
            n, more = self.scripts.cancel(cid, limit=BATCH)
            total += n
        return total

    # --- feeding (one leader per campaign) ----------------------------------------------

    def led_campaigns(
        self, members: str, lease_of: Callable[[str], str], owner: str, ttl_ms: int
    ) -> Iterator[Campaign]:
        """The campaigns in set `members` whose lease `owner` holds (taking free leases);
        ids of campaigns that no longer exist leave the set."""
        for raw in self.store.r.smembers(members):
            cid = text(raw)
            if not self.scripts.acquire_lease(lease_of(cid), owner=owner, ttl_ms=ttl_ms):
                continue
            try:
                yield self.store.campaign(cid)
            except CampaignNotFound:
                self.store.r.srem(members, cid)

    def feed(self, campaign: Campaign, calendar: Calendar, *, now: float | None = None,
             max_rows: int = 500) -> tuple[list[Job], int | None]:  # fmt: skip
        """Queue rows whose broker slot is near: (jobs, Redis-clock ms when the campaign
        next has a broker due, or None when only a script can wake it). `now` (epoch s)
        decides the calendar day for the brokers' daily caps."""
        now = self.clock() if now is None else now
        rows, next_due = self.scripts.feed(
            campaign.id,
            depth=self.timing.depth,
            lookahead_ms=self.timing.lookahead_ms,
            queued_lease_ms=self.timing.queued_lease_ms,
            day_key=calendar.day_key(now),
            next_day_ms=int(calendar.next_day_open(now) * 1000),
            account_interval_ms=self.account_interval_ms(),
            max_rows=max_rows,
        )
        jobs = [Job(campaign.id, q.broker, q.packed, q.token, q.slot_ms) for q in rows]
        return jobs, next_due

    def account_interval_ms(self) -> float:
        """Spacing of the account-wide QPS cap, with the same 2 % jitter margin as brokers."""
        return 1000.0 / self.timing.max_qps * 1.02 if self.timing.max_qps else 0.0

    def wait_for_wake(self, cids: list[str], timeout_s: float) -> None:
        """Block until a script says one of these campaigns has a broker due now, or for
        `timeout_s` (which must be > 0)."""
        if cids:
            self.store.r.blpop([self.keys.wake(c) for c in cids], timeout=timeout_s)
        else:
            time.sleep(timeout_s)

    def running_ids(self) -> list[str]:
        return sorted(text(c) for c in self.store.r.smembers(self.keys.running()))

    def sleep(self, cid: str, opens_at_ms: int) -> bool:
        """Take a campaign outside its calling windows off the feeders' list until then."""
        return self.scripts.sleep(cid, opens_at_ms=opens_at_ms)

    def wake_sleeping(self, now_ms: int) -> list[str]:
        """Campaigns whose calling window opened by `now_ms` go back to the running set."""
        return self.scripts.wake_sleeping(now_ms=now_ms)

    def upkeep(self, campaign: Campaign) -> bool:
        """Sweep expired leases, release due retries, move rows off down brokers, and mark
        the campaign DONE when nothing is left. True when it just finished."""
        cid = campaign.id
        upkept = self.scripts.upkeep(cid, limit=BATCH)
        if upkept.brokers_down:
            down = {
                text(k): text(v)
                for k, v in self.store.r.hgetall(self.keys.broker_down(cid)).items()
            }
            live = [b for b in campaign.settings.pool if b not in down]
            instance = campaign.settings.instance_id
            for broker, code in down.items():
                reason = f"{code}: broker {broker} is not usable in instance {instance}"
                self.scripts.redistribute(cid, broker=broker, limit=BATCH, reason=reason,
                                          live=live)  # fmt: skip
        return upkept.finished

    # --- one row, in a worker -------------------------------------------------------------

    def begin_dial(self, job: Job, caps: Caps) -> Begun:
        """QUEUED -> DIALING just before the request leaves (see lua/begin_dial.lua)."""
        entry = job.entry
        return self.scripts.begin_dial(
            job.campaign_id,
            row=job.row,
            token=job.token,
            broker=job.broker,
            packed=job.packed,
            caller=entry.caller,
            callee=entry.callee,
            dialing_lease_ms=self.timing.dialing_lease_ms,
            callee_daily_cap=caps.callee_daily,
            callee_monthly_cap=caps.callee_monthly,
            broker_daily_cap=caps.broker_daily,
            pair_guard_ms=int(caps.pair_guard_s * 1000),
            next_day_ms=caps.next_day_ms,
            day_key=caps.day,
            month_key=caps.month,
            account_interval_ms=self.account_interval_ms(),
        )

    def finish(self, job: Job, outcome: Outcome, patch: dict[str, Any], caps: Caps, *,
               retry_delay_ms: int = 0, reason: str = "",
               records: bool = False) -> bool:  # fmt: skip
        """Record the call's fate. With `records`, a DISPATCHED row's call record is looked
        up once the call can have ended, and an UNKNOWN row is reconciled later."""
        entry = job.entry
        t = self.timing
        cdr_wait = self.cdr_wait_ms(entry.timeout_seconds) if records else -1
        reconcile_wait = max(0, int(t.reconcile_wait_s * 1000)) if records else -1
        return self.scripts.finish(
            job.campaign_id,
            row=job.row,
            token=job.token,
            broker=job.broker,
            packed=job.packed,
            caller=entry.caller,
            callee=entry.callee,
            day_key=caps.day,
            month_key=caps.month,
            outcome=outcome,
            patch=patch,
            retry_delay_ms=retry_delay_ms,
            reason=reason,
            cdr_wait_ms=cdr_wait,
            reconcile_wait_ms=reconcile_wait,
        )

    def cdr_wait_ms(self, timeout_seconds: int) -> int:
        """When a dispatched call's record is first looked up: once the call can have ended."""
        return max(0, int((timeout_seconds + self.timing.cdr_margin_s) * 1000))

    # --- call records (dialer.records) ---------------------------------------------------

    def forget_if_settled(self, cid: str) -> bool:
        return self.scripts.forget_if_settled(cid)

    def take_idle_account_slot(self, interval_ms: float) -> bool:
        return self.scripts.take_idle_slot(interval_ms=interval_ms)

    def patch_result(self, cid: str, row: int, patch: dict[str, Any]) -> None:
        self.scripts.patch_result(cid, row=row, patch=patch)

    def reconcile(self, cid: str, member: str, *, found: bool, patch: dict[str, Any],
                  cdr_wait_ms: int) -> bool:  # fmt: skip
        broker, packed = split_member(member)
        return self.scripts.reconcile(cid, broker=broker, packed=packed, found=found,
                                      patch=patch, cdr_wait_ms=cdr_wait_ms)  # fmt: skip


def with_redis_retry(fn: Callable[[], T], *, attempts: int = 40, delay_s: float = 0.25) -> T:
    """Run a row script again if Redis drops out (a restart takes a second or two). The
    scripts are compare-and-set: a second run after a lost reply finds the row moved on and
    does nothing; it never lets a row dial twice."""
    for _ in range(attempts - 1):
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            time.sleep(delay_s)
    return fn()
