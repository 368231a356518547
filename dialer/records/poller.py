"""Call records: each dispatched call's outcome, and the calls of UNKNOWN rows, read in bulk
from CCC's ListCallDetailRecords.

The rule: a call that is not in the records proves nothing. A call whose answer was lost may
still be ringing or in conversation, and its record is written only after it ends and is
indexed; an answer that does not read as call records is a failed lookup. So no row is ever
dialled again here: an UNKNOWN row found in the records becomes DISPATCHED with its JobId and
outcome, one still not found at its campaign's horizon stays UNKNOWN with the reason, and
`dialer redial` is the operator's decision.

One worker polls each CCC instance (a lease), for every campaign on it: the rows due are
planned into as few requests as can find them (dialer.records.plan), as often as every
DIALER_RECORDS_POLL_S while lookups stay within DIALER_RECORDS_BUDGET requests per call
placed, and never in a busy account budget's way (DIALER_MAX_QPS)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dialer.calendar import Calendar
from dialer.ccc.client import CccClient
from dialer.ccc.records import CallRecord, get_record, iter_call_records, matches
from dialer.engine import Campaign, DialEntry, Engine
from dialer.engine.codec import split_member
from dialer.errors import (
    CampaignFatal,
    CampaignNotFound,
    CccError,
    PermanentCallError,
    StoreError,
)
from dialer.records.plan import (
    Budget,
    CallLength,
    Density,
    Kind,
    Lookup,
    Offsets,
    Pending,
    next_lookup_ms,
    plan,
)
from dialer.records.rules import classify, outcome_item, reconcile_item, unavailable
from dialer.strategy import AGENT_MISSED, next_step

__all__ = ["RecordsPoller", "classify"]

log = logging.getLogger(__name__)

LEASE_MS = 10_000
MAX_DUE = 2_000  # rows of each kind per campaign per poll


class _NoSlot(Exception):
    """The account budget has no idle slot: stop this poll, nothing is wrong."""


@dataclass
class _Instance:
    """What the leader of one CCC instance remembers between polls."""

    budget: Budget
    density: Density = field(default_factory=Density)
    offsets: Offsets = field(default_factory=Offsets)
    calls: CallLength = field(default_factory=CallLength)
    last_poll_s: float = float("-inf")
    # How often a lookup waits at most while paced callers may be held by the calls looked
    # for (dialer.records.plan.CallLength); the poller's max lag when no caller is paced.
    lag_s: float = float("inf")


@dataclass
class _Round:
    """What one poll learnt, per row key."""

    found: dict[tuple[str, int], CallRecord] = field(default_factory=dict)
    failed: dict[tuple[str, int], str] = field(default_factory=dict)
    looked: set[tuple[str, int]] = field(default_factory=set)
    claimed: set[str] = field(default_factory=set)  # ContactIds taken by a row


class RecordsPoller:
    def __init__(
        self,
        engine: Engine,
        client: CccClient,
        *,
        qps: float = 10.0,
        max_qps: float | None = None,
        owner: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_agent_break: Callable[[str, str], None] = lambda cid, agent: None,
    ) -> None:
        timing = engine.timing
        # Told (campaign, agent) when a call record puts its agent on break: missed rings.
        self.on_agent_break = on_agent_break
        self.engine = engine
        self.client = client
        self.interval_s = 1.0 / qps
        self.account_interval_ms = 1000.0 / max_qps if max_qps else 0.0
        self.poll_s = timing.records_poll_s
        self.max_lag_s = timing.records_max_lag_s
        self.caller_poll_s = max(timing.records_poll_s, timing.caller_lookup_ms / 1000)
        self.budget_per_call = timing.records_budget
        self.reconcile_wait_ms = int(timing.reconcile_wait_s * 1000)
        self.owner = owner or uuid.uuid4().hex
        self.sleep = sleep
        self.clock = clock
        self.requests = 0  # made by this poller, for tests and benchmarks
        self._next_request = 0.0
        self._lease_renewed = 0.0
        self._instances: dict[str, _Instance] = {}
        self._campaigns: dict[str, Campaign] = {}

    # --- the loop ---------------------------------------------------------------------------

    def poll_once(self) -> int:
        """One tick: every instance this worker leads is polled if its cadence and budget
        allow and something is due. Returns rows settled (outcome written, or found)."""
        settled = 0
        for instance, campaigns in self._by_instance().items():
            if not self.engine.acquire_records_lease(instance, self.owner, LEASE_MS):
                self._instances.pop(instance, None)
                continue
            self._lease_renewed = self.clock()
            state = self._instances.setdefault(instance, _Instance(Budget(self.budget_per_call)))
            state.budget.earn(self.engine.store.calls_placed([c.id for c in campaigns]))
            now = self.clock()
            state.lag_s = self.max_lag_s
            if any(c.settings.waits_on_records for c in campaigns):
                # Paced callers wait on these records to be free again: a free agent waits
                # seconds, not the budget's tens of seconds. The price: more lookups per call
                # when agents, not brokers, are the limit (bench/agents.py measures it).
                state.lag_s = min(self.max_lag_s, state.calls.cadence_s(self.caller_poll_s))
            if not state.budget.may_poll(now - state.last_poll_s, self.poll_s, state.lag_s):
                continue
            due = self._due(campaigns, state)
            if due:
                state.last_poll_s = now
                try:
                    settled += self._poll(instance, due, state)
                except CampaignFatal as exc:
                    for campaign in campaigns:
                        self._give_up(campaign, exc)
            for campaign in campaigns:  # nothing left to look up: off the records set
                self.engine.forget_if_settled(campaign.id)
        return settled

    def run(self, stop: threading.Event) -> None:
        tick_s = min(0.5, max(0.05, self.poll_s / 2))
        while not stop.is_set():
            try:
                if not self.poll_once():
                    stop.wait(tick_s)
            except StoreError as exc:  # Redis away: the lookups wait for it, as the feeder does
                log.warning("call records: Redis unavailable (%s); retrying", exc)
                stop.wait(1.0)
            except Exception:
                log.exception("call record poll failed")
                stop.wait(2.0)

    def start_thread(self) -> threading.Event:
        stop = threading.Event()
        threading.Thread(target=self.run, args=(stop,), name="dialer-records", daemon=True).start()
        return stop

    def _by_instance(self) -> dict[str, list[Campaign]]:
        grouped: dict[str, list[Campaign]] = defaultdict(list)
        for cid in self.engine.store.records_campaigns():
            campaign = self._campaigns.get(cid)
            if campaign is None:
                try:
                    campaign = self._campaigns[cid] = self.engine.store.campaign(cid)
                except CampaignNotFound:
                    self.engine.forget_if_settled(cid)  # deleted: nothing left to look up
                    continue
            grouped[campaign.settings.instance_id].append(campaign)
        return grouped

    # --- what is due ------------------------------------------------------------------------

    def _due(self, campaigns: list[Campaign], state: _Instance) -> list[Pending]:
        store = self.engine.store
        now = self.engine.now_ms()
        due: list[Pending] = []
        for campaign in campaigns:
            cid, horizon = campaign.id, int(campaign.settings.reconcile_horizon_s * 1000)
            # A paced caller may be held by a call (waiting for it to end) up to the max hold.
            paced = campaign.settings.waits_on_records
            hold_ms = int(campaign.settings.caller_max_hold_s * 1000)
            # Once one of its calls is due, every call of a paced campaign due before the next
            # poll is looked for too: one listing finds them all, and their callers' calls are
            # then looked for together, once a cadence, rather than each on its own.
            ahead_ms = int(state.lag_s * 1000) if paced else 0
            rows, members = store.due_lookups(cid, now, MAX_DUE, ahead_ms)
            if not members and all(at > now for at in rows.values()):
                continue
            unknown = {
                DialEntry.unpack(split_member(m)[1], split_member(m)[0]): (m, at)
                for m, at in members.items()
            }
            results = store.results_of(cid, list(rows) + [e.row for e in unknown])
            no_job = []
            for row in rows:
                r = results[row]
                job_id = str(r.get("job_id") or "")
                if not job_id:
                    patch = {
                        "outcome_note": "no JobId to look up",
                        "outcome_code": "Records.NoJobId",
                    }
                    no_job.append({"row": row, "job_id": "", "act": "stop", "patch": patch})
                    continue
                end = _ms(r.get("dispatched_at")) or now
                start = _ms(r.get("last_attempt_at")) or end
                due.append(
                    Pending(
                        cid,
                        row,
                        start,
                        end,
                        horizon,
                        rows[row],
                        job_id=job_id,
                        held_until_ms=start + hold_ms if paced else 0,
                    )
                )
            self.engine.settle_records(cid, no_job)
            for entry, (member, at) in unknown.items():
                r = results[entry.row]
                start = _ms(r.get("last_attempt_at")) or now - self.reconcile_wait_ms
                previous = r.get("previous_job_ids")
                due.append(
                    Pending(
                        cid,
                        entry.row,
                        start,
                        start,
                        horizon,
                        at,
                        callee=entry.callee,
                        broker=entry.broker,
                        member=member,
                        exclude=frozenset(previous if isinstance(previous, list) else ()),
                        tries=int(r.get("reconcile_tries") or 0),
                        failures=int(r.get("reconcile_failures") or 0),
                        code=str(r.get("error_code") or ""),
                    )
                )
        offsets = state.offsets.range()
        return [p.window(now, offsets) for p in due]

    # --- one poll ---------------------------------------------------------------------------

    def _poll(self, instance: str, due: list[Pending], state: _Instance) -> int:
        done = _Round(claimed={p.job_id for p in due if p.job_id})
        failures: dict[str, Counter[str]] = defaultdict(Counter)
        client = _Paced(self, instance, state)
        for i, lookup in enumerate(plan(due, state.density.per_s)):
            if i and state.budget.tokens < 1:
                break  # the rest stay due for the next poll
            try:
                self._lookup(client, instance, lookup, state, done)
            except _NoSlot:
                break
            except CampaignFatal:
                raise
            except CccError as exc:  # RecordsUnreadable included: a failure, never "absent"
                for p in lookup.items:
                    done.failed[p.key] = exc.code
                for cid in {p.campaign_id for p in lookup.items}:
                    failures[cid][exc.code] += 1
                log.info("call-record lookup failed: %s", exc)
        for cid, codes in failures.items():
            self.engine.store.count_lookup_failures(cid, dict(codes))
        return self._apply(due, done, state)

    def _lookup(
        self, client: _Paced, instance: str, lookup: Lookup, state: _Instance, done: _Round
    ) -> None:
        if lookup.kind is Kind.RECORD:
            [p] = lookup.items
            try:
                records = [get_record(client, instance, p.job_id)]
            except PermanentCallError as exc:
                if not exc.code.startswith("NotExists"):
                    raise
                records = []  # not written yet
        elif lookup.kind is Kind.CALLEE:
            [p] = lookup.items
            records = list(
                iter_call_records(
                    client,
                    instance,
                    start_ms=lookup.lo_ms,
                    end_ms=lookup.hi_ms,
                    called_number=p.callee,
                )
            )
        else:
            records = self._list_window(client, instance, lookup, state)
        by_id = {r.contact_id: r for r in records}
        for p in lookup.items:
            done.looked.add(p.key)
            if not p.unknown:
                if p.job_id in by_id:
                    done.found[p.key] = by_id[p.job_id]
                    state.offsets.add(by_id[p.job_id].start_time_ms - p.start_ms)
                continue
            candidates = [
                r
                for r in records
                if p.lo_ms <= r.start_time_ms <= p.hi_ms
                and r.contact_id not in done.claimed | p.exclude
                and matches(r, callee=p.callee, broker=p.broker)
            ]
            if candidates:
                best = min(candidates, key=lambda r: abs(r.start_time_ms - p.start_ms))
                done.found[p.key] = best
                done.claimed.add(best.contact_id)

    def _list_window(
        self, client: _Paced, instance: str, lookup: Lookup, state: _Instance
    ) -> list[CallRecord]:
        """Every record in the window; only DISPATCHED rows there: stop once all are found."""
        wanted = None if any(p.unknown for p in lookup.items) else {p.job_id for p in lookup.items}
        records = []
        for record in iter_call_records(
            client, instance, start_ms=lookup.lo_ms, end_ms=lookup.hi_ms
        ):
            records.append(record)
            if wanted is not None and record.contact_id in wanted:
                wanted.discard(record.contact_id)
                if not wanted:
                    return records
        state.density.update(len(records), lookup.lo_ms, lookup.hi_ms)
        return records

    # --- writing down what was found ---------------------------------------------------------

    def _apply(self, due: list[Pending], done: _Round, state: _Instance) -> int:
        now = self.engine.now_ms()
        min_ms = int(self.poll_s * 1000)
        settle: dict[str, list[dict[str, Any]]] = defaultdict(list)
        reconcile: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for p in due:
            if p.key not in done.looked and p.key not in done.failed:
                continue  # not reached this poll: still due
            record = done.found.get(p.key)
            at = next_lookup_ms(
                now, p, min_ms, failed=p.key in done.failed, held_cap_ms=int(state.lag_s * 1000)
            )
            if not p.unknown:
                settle[p.campaign_id].append(outcome_item(p, record, at, now))
            else:
                cdr_at = now + self.engine.cdr_wait_ms(self._campaigns[p.campaign_id].settings)
                reconcile[p.campaign_id].append(
                    reconcile_item(p, record, at, done.failed.get(p.key), cdr_at, now)
                )
        ended: list[tuple[str, int]] = []
        for cid, items in settle.items():
            self._strategy(self._campaigns[cid], items, now)
            ended += [(cid, row) for row in self.engine.settle_records(cid, items)]
        for cid, items in reconcile.items():
            ended += [(cid, row) for row in self.engine.reconcile(cid, items)]
        for cid, row in ended:
            record = done.found[(cid, row)]
            if record.release_time_ms:
                if record.start_time_ms:
                    state.calls.update(record.release_time_ms - record.start_time_ms)
                self._call_ended(self._campaigns[cid], row, record)
        return len(ended)

    def _strategy(self, campaign: Campaign, items: list[dict[str, Any]], now: int) -> None:
        """Each outcome found gets its row's next step (dialer.strategy): the result fields it
        writes and, when the customer is to be tried again, when and as which entry."""
        found = [item for item in items if item["act"] == "found"]
        if not found:
            return
        rows = [int(item["row"]) for item in found]
        store = self.engine.store
        results = store.results_of(campaign.id, rows)
        entries = store.dial_entries(campaign, rows)
        settings = campaign.settings
        calendar = Calendar.of(settings.windows, settings.timezone)
        for item in found:
            row = int(item["row"])
            if row not in entries:
                continue
            result, patch = results[row], item["patch"]
            if patch.get("outcome") == AGENT_MISSED:
                # The customer's leg was never set up: the call does not count against the
                # callee's caps (BEGIN_DIAL counted it on the day it began).
                begun_s = int(result.get("last_attempt_at") or now) / 1000
                item["uncount"] = {
                    "callee": entries[row].callee,
                    "day": calendar.day_key(begun_s),
                    "month": calendar.month_key(begun_s),
                }
            step = next_step(settings, calendar, result, patch, entries[row], now)
            patch.update(step.patch)
            if step.entry is not None:
                item["next"] = step.next_item()

    def _call_ended(self, campaign: Campaign, row: int, record: CallRecord) -> None:
        """The call is over: its caller is free after wrap-up, and its figures count. An agent
        whose leg rang out rests --agent-miss-wait-s (longer than the wrap-up, if it is) before
        another row is theirs: an agent away from the phone is not handed row after row."""
        released = record.release_time_ms or 0
        outcome = classify(record)
        missed = outcome["outcome"] == AGENT_MISSED
        _free_at, broke = self.engine.call_ended(
            campaign,
            row,
            released,
            connected=outcome["outcome"] == "CONNECTED",
            talk_s=int(outcome["talk_seconds"]),
            busy_ms=max(0, released - record.start_time_ms),
            missed=missed,
        )
        if broke:
            agent = str(self.engine.store.result_of(campaign.id, row).get("caller") or "")
            self.on_agent_break(campaign.id, agent)

    def _give_up(self, campaign: Campaign, exc: CccError) -> None:
        """No permission to read call records: every waiting row says so; dialling goes on."""
        note, dispatched, unknown = unavailable(exc.code)
        self.engine.forget_records(campaign.id, note, dispatched=dispatched, unknown=unknown)
        log.warning("campaign %s: %s", campaign.id, note)

    # --- requests ---------------------------------------------------------------------------

    def _pace(self) -> bool:
        """Space requests; False when the account budget has no idle slot right now."""
        now = time.monotonic()
        slot = max(now, self._next_request)
        self._next_request = slot + self.interval_s
        if slot > now:
            self.sleep(slot - now)
        return not self.account_interval_ms or self.engine.take_idle_account_slot(
            self.account_interval_ms
        )


class _Paced:
    """The client as lookups use it: each request spaced, spent from the instance's budget,
    counted, and the instance's lease kept while a long listing pages."""

    def __init__(self, poller: RecordsPoller, instance: str, state: _Instance) -> None:
        self.poller = poller
        self.instance = instance
        self.state = state

    def call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        poller = self.poller
        if not poller._pace():
            raise _NoSlot
        if poller.clock() - poller._lease_renewed > LEASE_MS / 3000:
            poller.engine.acquire_records_lease(self.instance, poller.owner, LEASE_MS)
            poller._lease_renewed = poller.clock()
        self.state.budget.spend()
        poller.requests += 1
        return poller.client.call(action, params)


def _ms(value: object) -> int:
    try:
        return int(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0
