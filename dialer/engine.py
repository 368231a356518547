"""Engine: the campaign lifecycle and every row transition, each one Lua script call."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import redis

from dialer import scripts, scripts_upkeep
from dialer.calendar import Calendar
from dialer.errors import CampaignNotFound, DialerError
from dialer.models import CampaignSettings, CampaignStatus, Timing
from dialer.store import SEP, Campaign, CampaignStore, DialEntry, text

T = TypeVar("T")
BATCH = 1000
PAUSED_BY_USER = "paused by operator"


@dataclass(frozen=True)
class Job:
    """One queued row as it travels in a Celery message."""

    campaign_id: str
    broker: str
    packed: str
    token: str

    @property
    def entry(self) -> DialEntry:
        return DialEntry.unpack(self.packed, self.broker)

    @property
    def row(self) -> int:
        return int(self.packed.split(SEP, 1)[0])


@dataclass(frozen=True)
class Caps:
    """The caps one call is counted against, with the campaign-zone day it falls on."""

    day: str
    month: str
    next_day_ms: int  # when a callee over today's cap may be tried again
    callee_daily: int
    callee_monthly: int
    broker_daily: int
    pair_guard_s: float

    @classmethod
    def for_campaign(cls, settings: CampaignSettings, calendar: Calendar, now: float) -> Caps:
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
        self.r: redis.Redis = store.r
        self.keys = store.keys
        self.timing = timing or Timing()
        self._s = {
            name: self.r.register_script(source)
            for module in (scripts, scripts_upkeep)
            for name, source in vars(module).items()
            if name.isupper() and not name.startswith("_") and name != "PRELUDE"
        }

    # --- campaign control (CLI) ---------------------------------------------------------

    def _set_status(self, cid: str, allowed: set[CampaignStatus], new: CampaignStatus,
                    reason: str = "") -> bool:  # fmt: skip
        changed = self._s["SET_STATUS"](
            keys=[self.keys.meta(cid)], args=[",".join(allowed), new.value, reason]
        )
        if changed == -1:
            raise CampaignNotFound(f"no campaign {cid!r}")
        return bool(changed)

    def start(self, cid: str) -> None:
        self.store.campaign(cid)
        if not self._set_status(cid, {CampaignStatus.READY}, CampaignStatus.RUNNING):
            raise DialerError(f"campaign {cid} is {self.store.campaign(cid).status}, not READY")
        self.r.sadd(self.keys.running(), cid)

    def pause(self, cid: str, reason: str = PAUSED_BY_USER) -> None:
        if not self._set_status(cid, {CampaignStatus.RUNNING}, CampaignStatus.PAUSED, reason):
            raise DialerError(f"campaign {cid} is {self.store.campaign(cid).status}, not RUNNING")

    def resume(self, cid: str) -> None:
        if not self._set_status(cid, {CampaignStatus.PAUSED}, CampaignStatus.RUNNING):
            raise DialerError(f"campaign {cid} is {self.store.campaign(cid).status}, not PAUSED")
        self.r.sadd(self.keys.running(), cid)

    def cancel(self, cid: str) -> int:
        """Stop the campaign and mark every row not yet dialling CANCELLED; rows whose request
        is already in flight finish as they would have."""
        campaign = self.store.campaign(cid)
        allowed = {CampaignStatus.READY, CampaignStatus.RUNNING, CampaignStatus.PAUSED}
        if not self._set_status(cid, allowed, CampaignStatus.CANCELLED):
            raise DialerError(f"campaign {cid} is {campaign.status}; nothing to cancel")
        self.r.srem(self.keys.running(), cid)
        state_keys = [self.keys.state(cid), self.keys.counts(cid)]
        total = 0
        targets = [(self.keys.queue(cid, b), "list") for b in self.brokers(cid)]
        targets.append((self.keys.retry(cid), "zset"))
        for key, kind in targets:
            while self.r.exists(key):
                total += self._s["CANCEL_WAITING"](keys=[*state_keys, key], args=[kind, BATCH])
        total += self._s["CANCEL_QUEUED"](
            keys=[*state_keys, self.keys.lease(cid), self.keys.inflight(cid)]
        )
        return total

    def brokers(self, cid: str) -> list[str]:
        """Every broker with a queue in this campaign (sheet brokers and the pool)."""
        prefix = self.keys.queue_prefix(cid)
        found = {k.decode()[len(prefix) :] for k in self.r.scan_iter(match=prefix + "*")}
        return sorted(found | set(self.store.campaign(cid).brokers))

    # --- feeding (one leader per campaign) ----------------------------------------------

    def led_campaigns(
        self, members: str, lease_of: Callable[[str], str], owner: str, ttl_ms: int
    ) -> Iterator[Campaign]:
        """The campaigns in set `members` whose lease `owner` holds (taking free leases);
        ids of campaigns that no longer exist leave the set."""
        for raw in self.r.smembers(members):
            cid = text(raw)
            if not self._s["ACQUIRE_LEASE"](keys=[lease_of(cid)], args=[owner, ttl_ms]):
                continue
            try:
                yield self.store.campaign(cid)
            except CampaignNotFound:
                self.r.srem(members, cid)

    def feed(self, cid: str, brokers: list[str], day_key: str = "") -> list[Job]:
        """Queue rows whose broker slot is near, skipping brokers down or capped today."""
        keys = [
            self.keys.meta(cid), self.keys.state(cid), self.keys.counts(cid),
            self.keys.lease(cid), self.keys.inflight(cid), self.keys.broker_down(cid),
            self.keys.broker_capped(cid),
        ]  # fmt: skip
        for b in brokers:
            keys += [self.keys.queue(cid, b), self.keys.pace(b)]
        t = self.timing
        out = self._s["FEED"](
            keys=keys, args=[t.depth, t.lookahead_ms, t.queued_lease_ms, day_key, *brokers]
        )
        return [
            Job(cid, out[i].decode(), out[i + 1].decode(), out[i + 2].decode())
            for i in range(0, len(out), 3)
        ]

    def housekeeping(self, campaign: Campaign) -> bool:
        """Sweep expired leases, release due retries, move rows off down brokers, and mark
        the campaign DONE when nothing is left. True when it just finished."""
        cid = campaign.id
        prefix = self.keys.queue_prefix(cid)
        self._s["SWEEP"](
            keys=[self.keys.state(cid), self.keys.counts(cid), self.keys.lease(cid),
                  self.keys.inflight(cid), self.keys.result(cid)],
            args=[prefix, BATCH],
        )  # fmt: skip
        self._s["RETRIES_DUE"](
            keys=[self.keys.state(cid), self.keys.counts(cid), self.keys.retry(cid)],
            args=[prefix, BATCH],
        )
        down = {text(k): text(v) for k, v in self.r.hgetall(self.keys.broker_down(cid)).items()}
        live = [b for b in campaign.settings.pool if b not in down]
        for broker, code in down.items():
            reason = (
                f"{code}: broker {broker} is not usable in instance {campaign.settings.instance_id}"
            )
            self._s["REDISTRIBUTE"](
                keys=[self.keys.state(cid), self.keys.counts(cid), self.keys.result(cid),
                      self.keys.queue(cid, broker)],
                args=[prefix, BATCH, reason, *live],
            )  # fmt: skip
        done = bool(self._s["COMPLETE_IF_DONE"](keys=[self.keys.meta(cid), self.keys.counts(cid)]))
        if done:
            self.r.srem(self.keys.running(), cid)
        return done

    # --- one row, in a worker -------------------------------------------------------------

    def _row_keys(self, job: Job) -> list[str]:
        cid = job.campaign_id
        return [
            self.keys.meta(cid), self.keys.state(cid), self.keys.counts(cid),
            self.keys.lease(cid), self.keys.inflight(cid), self.keys.queue(cid, job.broker),
        ]  # fmt: skip

    def reserve(self, job: Job, interval_ms: float, account_interval_ms: float,
                max_wait_ms: int) -> int:  # fmt: skip
        """Reserve the broker's next slot: ms to wait for it, or negative (nothing to do)."""
        keys = [*self._row_keys(job), self.keys.pace(job.broker), self.keys.pace_account()]
        args: list[Any] = [
            job.row, job.token, job.broker, job.packed, interval_ms, account_interval_ms,
            max_wait_ms,
        ]  # fmt: skip
        return int(self._s["RESERVE"](keys=keys, args=args))

    def _cap_keys(self, job: Job, caps: Caps) -> list[str]:
        entry = job.entry
        return [
            self.keys.callee_day(caps.day, entry.callee),
            self.keys.callee_month(caps.month, entry.callee),
            self.keys.broker_day(caps.day, job.broker),
            self.keys.pair_guard(entry.caller, entry.callee),
        ]

    def begin_dial(self, job: Job, interval_ms: float, caps: Caps,
                   account_interval_ms: float = 0.0) -> tuple[int, int]:  # fmt: skip
        """QUEUED -> DIALING just before the request leaves: (attempt number, 0); or
        (negative code, ms to wait): see scripts.BEGIN_DIAL."""
        cid = job.campaign_id
        keys = [*self._row_keys(job), self.keys.result(cid), self.keys.last_dial(job.broker),
                *self._cap_keys(job, caps), self.keys.retry(cid),
                self.keys.broker_capped(cid), self.keys.last_account_dial()]  # fmt: skip
        args: list[Any] = [
            job.row, job.token, job.broker, job.packed, self.timing.dialing_lease_ms,
            interval_ms, caps.callee_daily, caps.callee_monthly, caps.broker_daily,
            int(caps.pair_guard_s * 1000), caps.next_day_ms, caps.day, account_interval_ms,
        ]  # fmt: skip
        out = self._s["BEGIN_DIAL"](keys=keys, args=args)
        return int(out[0]), int(out[1]) if len(out) > 1 else 0

    def finish(self, job: Job, outcome: str, patch: dict[str, Any], caps: Caps, *,
               retry_delay_ms: int = 0, reason: str = "",
               records: bool = False) -> bool:  # fmt: skip
        """Record the call's fate. With `records`, a DISPATCHED row's call record is looked
        up once the call can have ended, and an UNKNOWN row is reconciled later."""
        cid = job.campaign_id
        keys = [
            *self._row_keys(job), self.keys.result(cid), self.keys.retry(cid),
            self.keys.dialed(cid), self.keys.broker_down(cid), *self._cap_keys(job, caps),
            self.keys.records(), self.keys.cdr_due(cid), self.keys.reconcile(cid),
        ]  # fmt: skip
        t = self.timing
        # -1: this campaign fetches no call records.
        cdr_wait = max(0, int((job.entry.timeout_seconds + t.cdr_margin_s) * 1000))
        reconcile_wait = max(0, int(t.reconcile_wait_s * 1000))
        if not records:
            cdr_wait = reconcile_wait = -1
        args: list[Any] = [
            job.row, job.token, job.broker, job.packed, outcome,
            json.dumps(patch, ensure_ascii=False), retry_delay_ms, reason, cid,
            cdr_wait, reconcile_wait,
        ]  # fmt: skip
        return bool(self._s["FINISH"](keys=keys, args=args))

    # --- call records (dialer.records) ---------------------------------------------------

    def forget_if_settled(self, cid: str) -> bool:
        keys = [self.keys.records(), self.keys.cdr_due(cid), self.keys.reconcile(cid)]
        return bool(self._s["FORGET_IF_SETTLED"](keys=keys, args=[cid]))

    def take_idle_account_slot(self, interval_ms: float) -> bool:
        return bool(self._s["TAKE_IDLE_SLOT"](keys=[self.keys.pace_account()], args=[interval_ms]))

    def patch_result(self, cid: str, row: int, patch: dict[str, Any]) -> None:
        self._s["PATCH_RESULT"](
            keys=[self.keys.result(cid)], args=[row, json.dumps(patch, ensure_ascii=False)]
        )

    def reconcile(self, cid: str, broker: str, packed: str, *, found: bool,
                  patch: dict[str, Any], cdr_wait_ms: int) -> bool:  # fmt: skip
        row = int(packed.split(SEP, 1)[0])
        keys = [self.keys.meta(cid), self.keys.state(cid), self.keys.counts(cid),
                self.keys.result(cid), self.keys.cdr_due(cid), self.keys.queue(cid, broker),
                self.keys.running()]  # fmt: skip
        args = [row, "1" if found else "0", json.dumps(patch, ensure_ascii=False), cdr_wait_ms,
                cid, packed]  # fmt: skip
        return bool(self._s["RECONCILE"](keys=keys, args=args))


def with_redis_retry(fn: Callable[[], T], *, attempts: int = 40, delay_s: float = 0.25) -> T:
    """Run a row script again if Redis drops out (a restart takes a second or two). The
    scripts are compare-and-set: a second run after a lost reply finds the row moved on and
    does nothing, or at worst wastes one pacing slot; it never lets a row dial twice."""
    for _ in range(attempts - 1):
        try:
            return fn()
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            time.sleep(delay_s)
    return fn()
