"""How call-record lookups are planned, with no Redis and no HTTP (dialer.records.poller does both):
which StartTime windows of ListCallDetailRecords to list, which rows to look up on their own,
when each row is looked at again, and how many requests lookups may spend.

Cost model: a request is a request, whatever it returns. Listing a window costs one request per
100 records in it (the records of every call started then and already ended, ours or not); a
lone row costs one request (GetCallDetailRecord for a known ContactId, or a listing filtered on
the callee for an UNKNOWN row). Rows whose windows are close share a listing when that is
cheaper than listing them apart; a window holding fewer rows than it has pages is not listed,
its rows are looked up one by one."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field, replace
from enum import StrEnum

PAGE_SIZE = 100
# Our times are the Redis clock's, a record's StartTime is CCC's; a request also spends time
# in flight before CCC starts the call. A call is looked for this far either side ...
SKEW_MS = 30_000
# ... unless the instance's offset (StartTime minus our start, from records matched by
# ContactId) has been measured: a young DISPATCHED row is then looked for this far either side
# of it. An UNKNOWN row (its request may have been held up) and a row not found within
# WIDE_AFTER_MS keep the wide margin; a lone row is looked up by ContactId, no clock needed.
OFFSET_MARGIN_MS = 2_000
WIDE_AFTER_MS = 300_000
MIN_OFFSETS = 5
# A row not found is looked at again after this share of its age: a call is checked every few
# seconds while it is young, less often the longer it goes on ...
BACKOFF_SHARE = 0.2
# ... but at least every five minutes.
MAX_BACKOFF_MS = 300_000
# A lookup that fails at the horizon is tried again for this long (or the horizon, if
# shorter): a row's fate is never decided by an answer that could not be read.
GRACE_MS = 900_000
START = 10.0  # requests a new poller may spend before calls have earned any
PRIOR_DENSITY_PER_S = 1.0  # records per second of StartTime, until a listing measures it
DENSITY_WEIGHT = 0.3  # of each new measurement
# Paced callers wait on lookups to be free again. Their calls are looked for every tenth of a
# mean call (an agent idles about 5 % of a call, on average, before the record that frees it
# is seen), never less often than CALLER_MAX_LAG_S (a free agent waits seconds, not tens of
# seconds) and never more often than the poll floor. A poll costs a request however many
# callers it frees, so this costs about (mean call / cadence) / agents busy requests per call:
# ~0.5 with 20 agents, ~0.1 with 100 (bench/agents.py).
CALLER_LAG_SHARE = 0.1
CALLER_MAX_LAG_S = 10.0
CALL_LENGTH_WEIGHT = 0.1  # of each call found


class Kind(StrEnum):
    WINDOW = "window"  # ListCallDetailRecords over a StartTime window, every page
    RECORD = "record"  # GetCallDetailRecord of one ContactId
    CALLEE = "callee"  # ListCallDetailRecords of one callee's calls in a window


@dataclass(frozen=True)
class Pending:
    """A row waiting for its call record. A DISPATCHED row has its JobId (= ContactId) and
    waits for its outcome; an UNKNOWN row has none, and its call is searched for by callee,
    broker and time. Times are epoch ms on the Redis clock."""

    campaign_id: str
    row: int
    start_ms: int  # the attempt began
    end_ms: int  # the latest CCC can have started the call (the answer came back)
    horizon_ms: int  # the campaign's reconcile horizon: how long to keep looking
    due_ms: int = 0  # when this lookup fell due
    held_until_ms: int = 0  # a caller may be held by this call (waiting for it to end) until
    lo_ms: int = 0  # the StartTime window its record is looked for in (see `window`)
    hi_ms: int = 0
    job_id: str = ""
    callee: str = ""
    broker: str = ""
    member: str = ""  # an UNKNOWN row's reconcile member
    exclude: frozenset[str] = frozenset()  # ContactIds of this row's earlier attempts
    tries: int = 0  # complete lookups that did not find it
    failures: int = 0  # lookups that failed
    code: str = ""  # the error that made the row UNKNOWN

    @property
    def key(self) -> tuple[str, int]:
        return (self.campaign_id, self.row)

    @property
    def unknown(self) -> bool:
        return not self.job_id

    def window(self, now_ms: int, offsets: tuple[int, int] | None) -> Pending:
        """This row with the StartTime window its record is looked for in: around its
        attempt, by the instance's measured clock offset (lowest, highest) when it has one."""
        end = max(self.end_ms, self.start_ms)
        if self.unknown or offsets is None or now_ms - self.start_ms > WIDE_AFTER_MS:
            lo, hi = self.start_ms - SKEW_MS, end + SKEW_MS
        else:
            lo = self.start_ms + offsets[0] - OFFSET_MARGIN_MS
            hi = max(end, self.start_ms + offsets[1]) + OFFSET_MARGIN_MS
        return replace(self, lo_ms=lo, hi_ms=hi)


@dataclass
class Lookup:
    kind: Kind
    lo_ms: int
    hi_ms: int
    items: list[Pending] = field(default_factory=list)

    @property
    def due_ms(self) -> int:
        return min(p.due_ms for p in self.items)


def window_cost(lo_ms: int, hi_ms: int, density_per_s: float) -> int:
    """Estimated requests to list a window: its pages."""
    return max(1, math.ceil(density_per_s * (hi_ms - lo_ms) / 1000 / PAGE_SIZE))


def plan(items: list[Pending], density_per_s: float) -> list[Lookup]:
    """The lookups that find every item (in its window) for the fewest requests, greedily;
    the longest overdue first, so when the budget runs short no row waits for ever."""
    windows: list[Lookup] = []
    for p in sorted(items, key=lambda p: p.lo_ms):
        if windows:
            last = windows[-1]
            hi = max(last.hi_ms, p.hi_ms)
            apart = window_cost(last.lo_ms, last.hi_ms, density_per_s) + window_cost(
                p.lo_ms, p.hi_ms, density_per_s
            )
            if window_cost(last.lo_ms, hi, density_per_s) <= apart:
                last.hi_ms = hi
                last.items.append(p)
                continue
        windows.append(Lookup(Kind.WINDOW, p.lo_ms, p.hi_ms, [p]))
    lookups: list[Lookup] = []
    for w in windows:
        if window_cost(w.lo_ms, w.hi_ms, density_per_s) < len(w.items):
            lookups.append(w)
            continue
        for p in w.items:  # as cheap or cheaper one by one, and exact
            lookups.append(Lookup(Kind.CALLEE if p.unknown else Kind.RECORD, p.lo_ms, p.hi_ms, [p]))
    return sorted(lookups, key=lambda lk: lk.due_ms)


def next_lookup_ms(
    now_ms: int, p: Pending, min_ms: int, *, failed: bool = False, held_cap_ms: int = MAX_BACKOFF_MS
) -> int | None:
    """When to look for a row not found now: after a share of its age (growing as the call
    goes on, at least `min_ms`, at most five minutes — or `held_cap_ms` while a caller may be
    held by the call), the last time exactly at its horizon; None once the horizon has passed.
    After a failed lookup the row gets a grace period past the horizon, so the last word is a
    lookup that could be read."""
    deadline = p.start_ms + p.horizon_ms
    if failed:
        deadline += min(p.horizon_ms, GRACE_MS)
    if now_ms >= deadline:
        return None
    cap = min(held_cap_ms, MAX_BACKOFF_MS) if now_ms < p.held_until_ms else MAX_BACKOFF_MS
    delay = max(min_ms, min(cap, int((now_ms - p.start_ms) * BACKOFF_SHARE)))
    return min(now_ms + delay, deadline)


@dataclass
class Budget:
    """Requests lookups may spend: `per_call` for each call placed on the instance. What polls
    do not spend while calls are placed is kept for the calls still going on when dialling
    stops (earned per call, so the total stays within `per_call` a call). Spending may run
    into debt (a listing has as many pages as it has); no new poll starts until it is paid
    back, unless lookups have waited `max_lag_s`."""

    per_call: float
    tokens: float = START
    placed: int | None = None

    def earn(self, placed: int) -> None:
        """`placed`: calls placed so far on the instance (it may drop when a campaign settles:
        only growth earns)."""
        if self.placed is not None and placed > self.placed:
            self.tokens += (placed - self.placed) * self.per_call
        self.placed = placed

    def spend(self, requests: int = 1) -> None:
        self.tokens -= requests

    def may_poll(self, since_s: float, poll_s: float, max_lag_s: float) -> bool:
        return since_s >= poll_s and (self.tokens >= 1 or since_s >= max_lag_s)


@dataclass
class Density:
    """Records per second of StartTime on an instance, from the windows listed."""

    per_s: float = PRIOR_DENSITY_PER_S
    measured: bool = False

    def update(self, records: int, lo_ms: int, hi_ms: int) -> None:
        sample = records * 1000 / max(1, hi_ms - lo_ms)
        weight = DENSITY_WEIGHT if self.measured else 1.0
        self.per_s += weight * (sample - self.per_s)
        self.measured = True


@dataclass
class CallLength:
    """How long a call holds its caller (start to release), from the records found."""

    mean_s: float | None = None

    def update(self, busy_ms: int) -> None:
        sample = busy_ms / 1000
        if self.mean_s is None:
            self.mean_s = sample
        else:
            self.mean_s += CALL_LENGTH_WEIGHT * (sample - self.mean_s)

    def cadence_s(self, floor_s: float) -> float:
        """How often paced callers' calls are looked for; the floor until a call is measured."""
        if self.mean_s is None:
            return floor_s
        return max(floor_s, min(CALLER_MAX_LAG_S, CALLER_LAG_SHARE * self.mean_s))


@dataclass
class Offsets:
    """How far CCC's StartTime of a call lies from our record of its start, over the last
    calls matched by ContactId: our clock against CCC's, plus the request's time in flight."""

    recent: deque[int] = field(default_factory=lambda: deque(maxlen=200))

    def add(self, offset_ms: int) -> None:
        self.recent.append(offset_ms)

    def range(self) -> tuple[int, int] | None:
        """(lowest, highest) seen, once there are enough to go by."""
        if len(self.recent) < MIN_OFFSETS:
            return None
        return min(self.recent), max(self.recent)


def format_span(seconds: float) -> str:
    """6 h, 90 min, 45 s: a horizon as a person reads it."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
