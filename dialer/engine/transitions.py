"""Engine: the campaign lifecycle and every row transition, each one Lua script call."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from dialer.calendar import Calendar
from dialer.engine.codec import Campaign, DialEntry, row_of, split_member
from dialer.engine.health import HealthStore
from dialer.engine.replication import Primary, Replication
from dialer.engine.scripts import (
    AttemptEnd,
    Backoff,
    Begun,
    Feeding,
    Finished,
    Queued,
    Refusal,
    Scripts,
    Upkept,
)
from dialer.engine.store import CampaignStore, text
from dialer.errors import CampaignNotFound, DialerError, StoreUnavailable
from dialer.models import CampaignSettings, CampaignStatus, RowState, Timing
from dialer.phones import mask_number

T = TypeVar("T")
BATCH = 1000
PAUSED_BY_USER = "paused by operator"
# How the pause reason begins when CCC refused every broker a campaign had left.
NO_USABLE_BROKER = "no usable broker"
# The reason code of rows still waiting when a campaign's --end-at passes.
SCHEDULE_ENDED = "Schedule.Ended"
# A signed-in agent's hold outlasts --wrap-up-max-s by this much: the agents' upkeep closes
# the wrap-up (automatic disposition, break) before anything could offer them a call.
WRAP_UP_SWEEP_S = 10.0
# A signed-in agent's call waits at most this long after it was queued for their screen to
# show the customer's card (the screen polls every second): they know who they will talk to
# before their phone rings, which shows only the broker number.
CARD_FIRST_MS = 3000
CLOCK_SAMPLES = 5
CLOCK_REFRESH_S = 30.0
LAG_SHOWN_MS = 60_000  # status names replicas lagging this long after a claim held back


@dataclass(frozen=True)
class Job:
    """One queued row as it travels in a Celery message; `slot_ms` is the Redis-clock time
    FEED paced it to."""

    campaign_id: str
    broker: str
    packed: str
    token: str
    slot_ms: int = 0
    agent: str = ""  # the pool agent FEED gave a row without a caller of its own

    @property
    def entry(self) -> DialEntry:
        return DialEntry.unpack(self.packed, self.broker)

    @property
    def caller(self) -> str:
        """The person rung first."""
        return self.agent or self.entry.caller

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
    ends_at_ms: int = 0  # the campaign's --end-at: no call begins from then (0: none)
    sign_in: bool = False  # only agents signed in on their screen are rung (dialer.agents)

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
            ends_at_ms=settings.end_at_ms,
            sign_in=settings.agents_sign_in,
        )


class Engine:
    def __init__(self, store: CampaignStore, timing: Timing | None = None) -> None:
        self.store = store
        self.keys = store.keys
        self.timing = timing or Timing()
        self.scripts = Scripts(store.r, store.keys)
        self.health = HealthStore(store.r, store.keys)
        self.replication = Replication(
            store.r, min_replicas=self.timing.min_replicas, timeout_ms=self.timing.replica_wait_ms
        )
        self._offset_ms = 0.0
        self._offset_at = -CLOCK_REFRESH_S
        self._clock_lock = threading.Lock()

    # --- the Redis clock ------------------------------------------------------------------

    def now_ms(self) -> int:
        """Epoch ms on the Redis server's clock (every stored time is on it), estimated from
        this host's clock and an offset measured every 30 s: one round trip, not one a call."""
        return int(self.exact_now_ms())

    def exact_now_ms(self) -> float:
        with self._clock_lock:
            if time.monotonic() - self._offset_at >= CLOCK_REFRESH_S:
                # The quickest of a few round trips: a thread held up between reading this
                # clock and sending (GIL, scheduling) skews a sample by up to the delay, and
                # an estimate that runs ahead makes BEGIN_DIAL refuse as too soon.
                samples = []
                for _ in range(CLOCK_SAMPLES):
                    before = time.time()
                    seconds, micros = self.store.r.time()
                    after = time.time()
                    redis_ms = int(seconds) * 1000 + int(micros) / 1000
                    samples.append((after - before, redis_ms - (before + after) * 500.0))
                self._offset_ms = min(samples)[1]
                self._offset_at = time.monotonic()
            return time.time() * 1000 + self._offset_ms

    def clock(self) -> float:
        """Epoch seconds on the Redis clock."""
        return self.now_ms() / 1000.0

    # --- campaign control -----------------------------------------------------------------

    def _status(
        self, cid: str, allowed: set[CampaignStatus], new: CampaignStatus, reason: str = ""
    ) -> None:
        if not self.scripts.set_status(cid, allowed=allowed, new=new, reason=reason):
            status = self.store.campaign(cid).status
            wanted = " or ".join(sorted(allowed))
            raise DialerError(f"campaign {cid} is {status}, not {wanted}")

    def start(self, cid: str) -> None:
        self._status(cid, {CampaignStatus.READY}, CampaignStatus.RUNNING)

    def pause(self, cid: str, reason: str = PAUSED_BY_USER) -> None:
        self._status(cid, {CampaignStatus.RUNNING}, CampaignStatus.PAUSED, reason)

    def resume(self, cid: str) -> None:
        """Continue a paused campaign; brokers CCC refused are tried again (the operator may
        have added them to the instance)."""
        if self.store.campaign(cid).status is CampaignStatus.PAUSED:
            self.store.r.delete(self.keys.broker_down(cid))
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

    def end(self, cid: str) -> int:
        """The campaign's --end-at has passed: DONE; rows still waiting are CANCELLED with
        Schedule.Ended (BEGIN_DIAL already lets no call begin); calls in progress finish."""
        total, more = 0, True
        while more:
            n, more = self.scripts.cancel(
                cid,
                limit=BATCH,
                final=CampaignStatus.DONE,
                code=SCHEDULE_ENDED,
                message="the campaign's end time passed before this row was dialled",
            )
            total += n
        return total

    def delete(
        self, cid: str, *, allowed: set[CampaignStatus], finished_before_ms: int = -1
    ) -> Refusal | None:
        """Remove every key of the campaign in one step, if its status is in `allowed` (and
        it finished before `finished_before_ms`, unless -1) and no row is being dialled:
        None when deleted, else why not."""
        return self.scripts.delete(
            cid,
            brokers=self.store.brokers(cid),
            allowed=allowed,
            finished_before_ms=finished_before_ms,
        )

    # --- feeding (one leader per campaign) ----------------------------------------------

    def led_campaigns(
        self, owner: str, ttl_ms: int, *, known: Mapping[str, Campaign] | None = None
    ) -> Iterator[Campaign]:
        """The running campaigns whose feeder lease `owner` holds (taking free leases); ids
        of campaigns that no longer exist leave the running set. Campaigns in `known` are not
        read again (their settings never change; their status is checked in the scripts)."""
        members = self.keys.running()
        for raw in self.store.r.smembers(members):
            cid = text(raw)
            lease = self.keys.feeder_lease(cid)
            if not self.scripts.acquire_lease(lease, owner=owner, ttl_ms=ttl_ms):
                continue
            if known and cid in known:
                yield known[cid]
                continue
            try:
                yield self.store.campaign(cid)
            except CampaignNotFound:
                self.store.r.srem(members, cid)

    def claim_retention_sweep(self, owner: str, ttl_ms: int) -> bool:
        """Whether `owner` may sweep finished campaigns now: one worker per `ttl_ms`."""
        return self.store.claim(self.keys.retention_sweep(), owner, ttl_ms)

    def feed(
        self,
        campaign: Campaign,
        calendar: Calendar,
        *,
        now: float | None = None,
        max_rows: int = 500,
    ) -> tuple[list[Job], int | None]:
        """Queue rows whose broker slot is near: (jobs, Redis-clock ms when the campaign
        next has a broker due, or None when only a script can wake it). `now` (epoch s)
        decides the calendar day for the brokers' daily caps."""
        now = self.clock() if now is None else now
        feeding = self._feeding(
            campaign.settings, calendar.day_key(now), int(calendar.next_day_open(now) * 1000)
        )
        rows, next_due = self.scripts.feed(campaign.id, feeding=feeding, max_rows=max_rows)
        return [_job(campaign.id, q) for q in rows], next_due

    def _feeding(self, settings: CampaignSettings, day_key: str, next_day_ms: int) -> Feeding:
        t = self.timing
        return Feeding(
            t.depth,
            t.lookahead_ms,
            t.queued_lease_ms,
            day_key,
            next_day_ms,
            self.account_interval_ms(),
            settings.caller_pacing,
            settings.caller_concurrency,
            settings.agents_sign_in,
            int(settings.callback_grace_s * 1000),
            settings.priority,
            settings.weight,
        )

    def account_interval_ms(self) -> float:
        """Spacing of the account-wide QPS cap, with the same 2 % jitter margin as brokers."""
        return 1000.0 / self.timing.max_qps * 1.02 if self.timing.max_qps else 0.0

    def wait_for_wake(self, cids: list[str], timeout_s: float) -> tuple[str, int] | None:
        """Block until a script says one of these campaigns has a broker due earlier than
        its feeder knew: (campaign id, Redis-clock ms it is due); None after `timeout_s`
        (which must be > 0)."""
        if not cids:
            time.sleep(timeout_s)
            return None
        by_key = {self.keys.wake(c): c for c in cids}
        popped = self.store.r.blpop(list(by_key), timeout=timeout_s)
        if popped is None:
            return None
        key, at = popped
        return by_key[text(key)], int(float(at))

    def running_ids(self) -> list[str]:
        return sorted(text(c) for c in self.store.r.smembers(self.keys.running()))

    def sleep(self, cid: str, opens_at_ms: int) -> bool:
        """Take a campaign outside its calling windows off the feeders' list until then."""
        return self.scripts.sleep(cid, opens_at_ms=opens_at_ms)

    def wake_sleeping(self, now_ms: int) -> list[str]:
        """Campaigns whose calling window opened by `now_ms` go back to the running set."""
        return self.scripts.wake_sleeping(now_ms=now_ms)

    def upkeep(self, campaign: Campaign) -> Upkept:
        """Sweep expired leases, release due retries, move pool rows off brokers CCC refused,
        and mark the campaign DONE when nothing is left, or PAUSED when what is left waits
        only on refused brokers."""
        cid = campaign.id
        reconcile_wait = int(self.timing.reconcile_wait_s * 1000)
        upkept = self.scripts.upkeep(
            cid,
            limit=BATCH,
            dialing_lease_ms=self.timing.dialing_lease_ms,
            reconcile_wait_ms=reconcile_wait if campaign.settings.outcomes else -1,
            tries_again=campaign.settings.tries_again,
        )
        if upkept.brokers_down:
            down = {
                text(k): text(v)
                for k, v in self.store.r.hgetall(self.keys.broker_down(cid)).items()
            }
            live = [b for b in campaign.settings.pool if b not in down]
            for broker in down:
                if live and broker in campaign.settings.pool:
                    self.scripts.redistribute(cid, broker=broker, limit=BATCH, live=live)
            self._pause_if_only_refused_brokers_left(campaign, down)
        return upkept

    def _pause_if_only_refused_brokers_left(self, campaign: Campaign, down: dict[str, str]) -> None:
        counts = self.store.counts(campaign.id)
        moving = (RowState.QUEUED, RowState.DIALING, RowState.RETRY_WAIT)
        if not counts.get(RowState.PENDING) or any(counts.get(s) for s in moving):
            return
        pipe = self.store.r.pipeline(transaction=False)
        live = [b for b in self.store.brokers(campaign.id) if b not in down]
        for broker in live:
            pipe.llen(self.keys.queue(campaign.id, broker))
        if any(int(n) for n in (pipe.execute() if live else [])):
            return
        codes = ", ".join(sorted(set(down.values())))
        refused = ", ".join(mask_number(b) for b in sorted(down))
        reason = (
            f"{NO_USABLE_BROKER}: CCC refused {refused} ({codes}) on instance "
            f"{campaign.settings.instance_id}; add the number to the instance (or fix the "
            "sheet), then resume"
        )
        with contextlib.suppress(DialerError):  # no longer RUNNING: paused or cancelled
            self.pause(campaign.id, reason)

    # --- one row, in a worker -------------------------------------------------------------

    def begin_dial(
        self, job: Job, caps: Caps, interval_ms: float, *, caller_max_hold_s: float = 0.0
    ) -> Begun:
        """QUEUED -> DIALING just before the request leaves (see lua/begin_dial.lua), with the
        replicas' acknowledgement in the same round trip when there are replicas (see
        replication.py: a claim the replicas lack is `unreplicated`, its call must not leave);
        `interval_ms`: the broker's pacing interval (CampaignStore.interval_ms);
        `caller_max_hold_s`: how long the call holds its caller at most (0: not paced)."""
        entry = job.entry
        begun = self.scripts.begin_dial(
            job.campaign_id,
            row=job.row,
            token=job.token,
            broker=job.broker,
            packed=job.packed,
            caller=job.caller,
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
            interval_ms=interval_ms,
            caller_max_hold_ms=int(caller_max_hold_s * 1000),
            replicas=self.replication.required(),
            replica_wait_ms=self.replication.timeout_ms,
            ends_at_ms=caps.ends_at_ms,
            sign_in=caps.sign_in,
            card_first_ms=CARD_FIRST_MS,
        )
        if begun.unreplicated:
            # Fewer replicas than before, or a new primary the monitor has not read yet: the
            # next claim waits for what the primary has now. Status says why calls wait.
            self.replication.refresh()
            self.store.r.set(self.keys.replication_lag(), begun.begun_at_ms, px=LAG_SHOWN_MS)
        return begun

    def replication_lag_at_ms(self) -> int | None:
        """When a claim was last held back for want of the replicas' acknowledgement (Redis
        clock), if in the last minute."""
        at = self.store.r.get(self.keys.replication_lag())
        return int(at) if at is not None else None

    def check_primary(self) -> Primary | None:
        """Read which primary Redis is now (and how many replicas it has). After a failover
        (or a restart): the primary seen before, and the Redis clock is measured again at
        once (a new primary runs on another machine's clock). None when it is the same."""
        self.replication.refresh()
        before = self.replication.replaced()
        if before is not None:
            with self._clock_lock:
                self._offset_at = -CLOCK_REFRESH_S
        return before

    def give_back(self, job: Job, settings: CampaignSettings) -> bool:
        """A QUEUED row this worker will not dial now back to the head of its queue, no
        attempt counted (see lua/give_back.lua). False if the row had moved on."""
        return self.scripts.give_back(
            job.campaign_id,
            row=job.row,
            token=job.token,
            broker=job.broker,
            packed=job.packed,
            caller=job.caller,
            caller_pacing=settings.caller_pacing,
        )

    def running_ids_all(self) -> list[str]:
        """Every RUNNING campaign, in its calling window or not."""
        inside = {text(c) for c in self.store.r.smembers(self.keys.running())}
        sleeping = cast("list[bytes]", self.store.r.zrange(self.keys.sleeping(), 0, -1))
        outside = {text(c) for c in sleeping}
        return sorted(inside | outside)

    def ms_until_broker_free(self, broker: str, interval_ms: float) -> float:
        """How long until BEGIN_DIAL would let a call on this broker begin, as far as its
        last call tells (one GET): the scripts count whole ms of the Redis clock, so the
        next call may begin at the first whole ms an interval after the last."""
        last = float(self.store.r.get(self.keys.last_dial(broker)) or 0)
        return math.ceil(last + interval_ms) + 0.2 - self.exact_now_ms()

    def finish(
        self,
        job: Job,
        begun: Begun,
        outcome: AttemptEnd,
        patch: dict[str, Any],
        caps: Caps,
        *,
        settings: CampaignSettings,
        retry: Backoff,
        window_open: bool,
        reason: str = "",
    ) -> tuple[AttemptEnd | None, list[Job]]:
        """Record the call's fate (None: the row had moved on; nothing changed) and feed the
        broker's next rows into the place it leaves, while the campaign runs in its window.
        With call records on, a DISPATCHED row's record is looked up once the call can have
        ended, and an UNKNOWN row is reconciled later. A transient failure past the
        campaign's max attempts is FAILED."""
        entry = job.entry
        records = settings.outcomes
        finished: Finished = self.scripts.finish(
            job.campaign_id,
            row=job.row,
            token=job.token,
            broker=job.broker,
            packed=job.packed,
            caller=job.caller,
            callee=entry.callee,
            outcome=outcome,
            patch=patch,
            reason=reason,
            cdr_wait_ms=self.cdr_wait_ms(settings) if records else -1,
            reconcile_wait_ms=int(self.timing.reconcile_wait_s * 1000) if records else -1,
            begun_at_ms=begun.begun_at_ms,
            max_attempts=settings.max_attempts,
            retry=retry,
            feed=window_open,
            feeding=self._feeding(settings, caps.day, caps.next_day_ms),
            month_key=caps.month,
            interval_ms=self.store.interval_ms(settings, job.broker),
            tries_again=settings.tries_again,
        )
        return finished.outcome, [_job(job.campaign_id, q) for q in finished.fed]

    def call_ended(
        self,
        campaign: Campaign,
        row: int,
        released_at_ms: int,
        *,
        connected: bool = False,
        talk_s: int = 0,
        busy_ms: int = 0,
        missed: bool = False,
    ) -> tuple[int | None, bool]:
        """A call record says the row's call ended: its caller is free from release plus the
        campaign's wrap-up (the returned time; None if the row rang nobody it recorded), or
        plus --agent-miss-wait-s if longer when their leg rang out (`missed`). The call's
        figures count towards its caller's in `status`. Also says whether the call put its
        agent on break (--agent-missed-max rings missed in a row)."""
        settings = campaign.settings
        # A signed-in agent frees themselves with the call's disposition (dialer.agents); the
        # record holds them only until the longest wrap-up allowed, and a little over, so
        # the upkeep's automatic disposition comes first.
        wrap_up_s = settings.wrap_up_s
        if settings.agents_sign_in:
            wrap_up_s = settings.wrap_up_max_s + WRAP_UP_SWEEP_S
        if missed:
            wrap_up_s = max(wrap_up_s, settings.agent_miss_wait_s)
        return self.scripts.call_ended(
            campaign.id,
            row=row,
            released_at_ms=released_at_ms,
            wrap_up_ms=int(wrap_up_s * 1000),
            connected=connected,
            talk_s=talk_s,
            busy_ms=busy_ms,
            missed=missed,
            missed_max=settings.agent_missed_max,
            day=Calendar.of(settings.windows, settings.timezone).day_key(
                (released_at_ms - busy_ms) / 1000
            ),
        )

    def cdr_wait_ms(self, settings: CampaignSettings) -> int:
        """When a dispatched call's record is first looked for. A call can end within seconds
        (a busy or declining caller) or last an hour: the poller keeps looking. Sooner when
        its caller waits on it (a short call frees them in seconds)."""
        first_ms = self.timing.cdr_margin_s * 1000
        if settings.waits_on_records:
            first_ms = min(first_ms, self.timing.caller_lookup_ms)
        return max(0, int(first_ms))

    # --- call records (dialer.records.poller) ---------------------------------------------------

    def forget_if_settled(self, cid: str) -> bool:
        return self.scripts.forget_if_settled(cid)

    def take_idle_account_slot(self, interval_ms: float) -> bool:
        return self.scripts.take_idle_slot(interval_ms=interval_ms)

    def patch_result(self, cid: str, row: int, patch: dict[str, Any]) -> None:
        self.scripts.patch_result(cid, row=row, patch=patch)

    def acquire_records_lease(self, instance_id: str, owner: str, ttl_ms: int) -> bool:
        """Whether `owner` polls this CCC instance's call records now (taking or renewing)."""
        return self.scripts.acquire_lease(
            self.keys.records_lease(instance_id), owner=owner, ttl_ms=ttl_ms
        )

    def reconcile(self, cid: str, items: list[dict[str, Any]]) -> list[int]:
        """What lookups found for UNKNOWN rows (lua/reconcile.lua); the rows found."""
        return self.scripts.reconcile(cid, items=items) if items else []

    def settle_records(self, cid: str, items: list[dict[str, Any]]) -> list[int]:
        """What lookups found for DISPATCHED rows (lua/settle_records.lua); the rows whose
        outcome was written."""
        return self.scripts.settle_records(cid, items=items) if items else []

    def forget_records(
        self, cid: str, note: str, *, dispatched: dict[str, Any], unknown: dict[str, Any]
    ) -> int:
        """Stop every call-record lookup of the campaign, each waiting row patched to say why."""
        return self.scripts.forget_records(
            cid, note=note, dispatched_patch=dispatched, unknown_patch=unknown
        )

    def redial(self, cid: str, state: RowState, rows: list[int]) -> tuple[int, CampaignStatus]:
        """Put these rows, if still in `state` (UNKNOWN or FAILED), back as fresh attempts
        (lua/redial.lua): paced and capped like any row; a DONE campaign runs again. Returns
        (rows put back, the campaign's status after)."""
        campaign = self.store.campaign(cid)
        members = self.store.reconcile_members(cid)
        total, status = 0, campaign.status
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            entries = []
            for row, entry in self.store.dial_entries(campaign, batch).items():
                member = members.get(row, "")
                if member:  # exactly as FINISH wrote it
                    broker, packed = split_member(member)
                    entries.append((broker, packed, member))
                else:
                    entries.append((entry.broker, entry.pack(), ""))
            n, status = self.scripts.redial(cid, state=state, entries=entries)
            total += n
        return total, status


def _job(cid: str, q: Queued) -> Job:
    # A row's own caller travels in its packed entry; only a pool agent needs carrying.
    own = DialEntry.unpack(q.packed, q.broker).caller
    return Job(
        cid, q.broker, q.packed, q.token, q.slot_ms, "" if q.caller in ("", own) else q.caller
    )


def with_redis_retry(fn: Callable[[], T], *, attempts: int = 40, delay_s: float = 0.25) -> T:
    """Run a row script again if Redis drops out (a restart takes a second or two). The
    scripts are compare-and-set: a second run after a lost reply finds the row moved on and
    does nothing; it never lets a row dial twice."""
    for _ in range(attempts - 1):
        try:
            return fn()
        except StoreUnavailable:
            time.sleep(delay_s)
    return fn()
