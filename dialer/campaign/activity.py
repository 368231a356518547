"""What a campaign is doing now, whatever its status says, and why: dialling, or outside its
calling hours, waiting (for what, until when), stalled (why), paused (the reason's code).
Pure functions with the clock handed in; `dialer status` shows the words, the console the
same facts translated, so the why is kept as data (Wait, StallCause) beside its words."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from dialer import times
from dialer.calendar import Calendar
from dialer.engine import NO_USABLE_BROKER, PAUSED_BY_USER, Campaign, Progress
from dialer.i18n.catalogue import N_
from dialer.models import CampaignStatus, RowState
from dialer.worker.monitor import NO_HEALTHY_WORKER

# A running campaign in its window with rows to dial, on which no call has begun for this
# long (or three of its slowest broker's intervals, if longer), is stalled.
STALL_AFTER_S = 60.0


class Activity(StrEnum):
    NOT_STARTED = "not_started"
    DIALLING = "dialling"
    OUTSIDE_HOURS = "outside_hours"
    WAITING = "waiting"  # every row left waits: for its retry, a daily cap's reset, its caller
    STALLED = "stalled"
    PAUSED = "paused"
    FINISHED = "finished"
    NO_WORKERS = "no_workers"  # no worker process is alive to dial it
    CCC_UNREACHABLE = "ccc_unreachable"  # the breaker of its CCC instance is open


class WaitFor(StrEnum):
    BROKER_CAP = "broker_cap"
    RETRY = "retry"
    CALLER = "caller"
    RECORDS = "records"  # every row finished, but a call record may send one round again


# The words of each wait, with {rows}, {cap} and {time}: the CLI's English, the console's
# translation of the same message.
WAIT_TEXT = {
    WaitFor.BROKER_CAP: N_(
        "every broker with rows left reached its daily cap of {cap} calls (until {time})"
    ),
    WaitFor.RETRY: N_("{rows} row(s) wait to be tried again (the next at {time})"),
    WaitFor.CALLER: N_(
        "{rows} row(s) wait for their caller, busy on another call (the first is free at {time})"
    ),
    WaitFor.RECORDS: N_(
        "{rows} call record(s) awaited, which may send a customer round again (next lookup at "
        "{time})"
    ),
}


class StallCause(StrEnum):
    NO_FEEDER = "no_feeder"
    FEEDER_IDLE = "feeder_idle"


STALL_TEXT = {
    StallCause.NO_FEEDER: N_("no worker is feeding it (start workers: celery -A tasks worker)"),
    StallCause.FEEDER_IDLE: N_(
        "a worker leads its feeder, yet nothing dials (see the workers' logs)"
    ),
}

# The engine's pause reasons that are sentences, by how they begin; any other reason is
# "<CCC code>: <its message>".
PAUSE_CODES = {
    PAUSED_BY_USER: "Operator.Pause",
    NO_USABLE_BROKER: "Broker.NoneUsable",
    NO_HEALTHY_WORKER: "Worker.NoneHealthy",
}
_LEADING_CODE = re.compile(r"([A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)*): ")


def pause_code(reason: str) -> str:
    """The reason code of a campaign's pause reason ('' when it has none)."""
    for start, code in PAUSE_CODES.items():
        if reason.startswith(start):
            return code
    found = _LEADING_CODE.match(reason)
    return found.group(1) if found else ""


@dataclass(frozen=True)
class Wait:
    """One of the things every row left waits for: how many rows, and until when."""

    kind: WaitFor
    until_ms: int
    rows: int = 0
    cap: int = 0  # the broker's daily cap, for BROKER_CAP

    def text(self, zone: str) -> str:
        return WAIT_TEXT[self.kind].format(
            rows=self.rows, cap=self.cap, time=times.shown(self.until_ms, zone)
        )


@dataclass(frozen=True)
class Now:
    """What the campaign is doing: the activity, why (words, and the facts behind them), and
    when it resumes by itself."""

    activity: Activity
    reason: str = ""
    resumes_at_ms: int | None = None
    waits: tuple[Wait, ...] = ()
    stall: StallCause | None = None
    idle_s: float = 0.0  # STALLED: since the last call began (or it was set going)


@dataclass(frozen=True)
class BrokerStatus:
    number: str
    limit_per_s: float
    dispatched: int
    achieved_per_s: float  # average from its first call to its last
    waiting: int
    down: str


def activity(
    campaign: Campaign,
    counts: dict[str, int],
    brokers: list[BrokerStatus],
    progress: Progress | None,
    calendar: Calendar,
    now_ms: int,
    *,
    callers_busy: bool = False,
) -> Now:
    """What the campaign is doing at `now_ms` (Redis clock), and why. `callers_busy`: some
    of its callers are in a call or wrap-up (a long call is not a stall)."""
    status = campaign.status
    if status is CampaignStatus.READY:
        return Now(Activity.NOT_STARTED, f"not started: `dialer start {campaign.id}` starts it")
    if status in (CampaignStatus.DONE, CampaignStatus.CANCELLED):
        return Now(Activity.FINISHED)
    now_s = now_ms / 1000
    if status is CampaignStatus.PAUSED:
        return Now(Activity.PAUSED, _paused(campaign, calendar, now_s))
    if not calendar.is_open(now_s):
        opens = calendar.next_open(now_s)
        return Now(
            Activity.OUTSIDE_HOURS,
            f"outside calling hours ({calendar.describe()}): dialling resumes at "
            f"{times.shown(int(opens * 1000), calendar.tz.key)}",
            int(opens * 1000),
        )
    assert progress is not None
    waiting = _waiting(campaign, counts, brokers, progress, calendar, now_s)
    stalled = None if callers_busy else _stalled(campaign, brokers, progress, now_ms)
    return waiting or stalled or Now(Activity.DIALLING)


def _paused(campaign: Campaign, calendar: Calendar, now_s: float) -> str:
    resume = f"`dialer resume {campaign.id}`"
    if campaign.pause_reason == PAUSED_BY_USER:
        text = f"paused by the operator: it resumes when someone runs {resume}"
    else:
        text = f"paused by an error: {campaign.pause_reason}; fix it, then run {resume}"
    if not calendar.is_open(now_s):
        opens = times.shown(int(calendar.next_open(now_s) * 1000), calendar.tz.key)
        text += f" (calling hours resume at {opens})"
    return text


def _waiting(
    campaign: Campaign,
    counts: dict[str, int],
    brokers: list[BrokerStatus],
    progress: Progress,
    calendar: Calendar,
    now_s: float,
) -> Now | None:
    """Every row left waits for a time — a retry's backoff, a daily cap's reset, a busy
    caller — and none is being dialled: what for, and when the first wait ends."""
    zone = calendar.tz.key
    now_ms = int(now_s * 1000)
    in_flight = counts.get(RowState.QUEUED, 0) + counts.get(RowState.DIALING, 0)
    today = calendar.day_key(now_s)
    dialable = [
        b for b in brokers if b.waiting and not b.down and progress.capped.get(b.number) != today
    ]
    if in_flight or dialable:
        return None
    waits: list[Wait] = []
    capped = [b for b in brokers if b.waiting and progress.capped.get(b.number) == today]
    if capped:
        until = int(calendar.next_day_open(now_s) * 1000)
        rows = sum(b.waiting for b in capped)
        waits.append(Wait(WaitFor.BROKER_CAP, until, rows, campaign.settings.broker_daily_cap))
    if counts.get(RowState.RETRY_WAIT) and progress.next_retry_ms is not None:
        at = _in_hours(calendar, max(progress.next_retry_ms, now_ms))
        waits.append(Wait(WaitFor.RETRY, at, counts[RowState.RETRY_WAIT]))
    if progress.parked:
        at = max(progress.caller_free_ms or now_ms, now_ms)
        waits.append(Wait(WaitFor.CALLER, at, progress.parked))
    # A campaign that may try a row again is not DONE while such a record is awaited.
    if not waits and campaign.settings.tries_again and progress.records_awaited:
        at = max(progress.next_lookup_ms or now_ms, now_ms)
        waits.append(Wait(WaitFor.RECORDS, at, progress.records_awaited))
    if not waits:
        return None
    if waits[0].kind is WaitFor.RECORDS:  # nothing to dial unless a record says so
        return Now(
            Activity.WAITING, f"every row finished; {waits[0].text(zone)}", waits=tuple(waits)
        )
    # The earliest end, moved into the calling hours (a retry's time already is).
    at = _in_hours(calendar, min(w.until_ms for w in waits))
    return Now(
        Activity.WAITING,
        f"waiting: {'; '.join(w.text(zone) for w in waits)}. Dialling resumes at "
        f"{times.shown(at, zone)}",
        at,
        waits=tuple(waits),
    )


def _in_hours(calendar: Calendar, at_ms: int) -> int:
    """The first moment at or after `at_ms` inside the calling windows."""
    return int(calendar.next_open(at_ms / 1000) * 1000)


def _stalled(
    campaign: Campaign, brokers: list[BrokerStatus], progress: Progress, now_ms: int
) -> Now | None:
    """No call has begun for a while though the campaign should be dialling."""
    slowest_s = max(
        (1 / b.limit_per_s for b in brokers if b.waiting and b.limit_per_s), default=0.0
    )
    quiet_s = max(STALL_AFTER_S, 3 * slowest_s)
    # Its last call, start or resume, or the opening of its calling window (the feeder
    # notes when a sleeping campaign opens): a campaign just set going is not stalled.
    since = max(progress.last_call_ms, campaign.running_since_ms or 0, campaign.resumes_at_ms or 0)
    if now_ms - since < quiet_s * 1000:
        return None
    idle_s = (now_ms - since) / 1000
    cause = StallCause.FEEDER_IDLE if progress.fed else StallCause.NO_FEEDER
    return Now(
        Activity.STALLED,
        f"stalled: no call has begun for {format_duration(idle_s)}; "
        f"{STALL_TEXT[cause]}. It resumes once a worker picks it up",
        stall=cause,
        idle_s=idle_s,
    )


def format_duration(seconds: float) -> str:
    """3 d 4 h, 2 h 5 min, 7 min, 40 s, rounded to the last unit shown: never a clock face
    that wraps at 24 h."""
    s = round(seconds)
    if s >= 86400 - 1800:
        days, hours = divmod(round(s / 3600), 24)
        return f"{days} d {hours} h"
    if s >= 3600 - 30:
        hours, minutes = divmod(round(s / 60), 60)
        return f"{hours} h {minutes} min"
    if s >= 60:
        return f"{round(s / 60)} min"
    return f"{s} s"
