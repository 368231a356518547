"""What `dialer status` shows: counts by state, calls/s per broker against its limit, and what
the campaign is doing — dialling (with an ETA over its calling windows), or why not and when
that changes, in the campaign's zone. A rate or an ETA is shown only while it dials."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from dialer import times
from dialer.agents.presence import Presence, State
from dialer.calendar import Calendar
from dialer.campaign.activity import (
    Activity,
    BrokerStatus,
    Now,
    StallCause,
    Wait,
    activity,
    format_duration,
    pause_code,
)
from dialer.engine import BrokerFigures, Campaign, Engine
from dialer.engine.events import GLOBAL, EventStore
from dialer.engine.health import Workers
from dialer.engine.presence import AgentStore
from dialer.i18n.catalogue import N_
from dialer.models import ACTIVE_STATES, TERMINAL_STATES, CampaignStatus, RowState
from dialer.phones import mask_caller
from dialer.results.summary import Summary, summarise
from dialer.worker.dialing import REPLICATION_LAG
from dialer.worker.monitor import live_workers


class CallerNow(StrEnum):
    """What a paced caller is doing now (in the catalogue: the console shows it)."""

    IN_CALL = N_("in a call")  # rung, ringing or talking: held until the call's record ends it
    WRAP_UP = N_("wrap-up")
    FREE = N_("free")


@dataclass(frozen=True)
class CallerStatus:
    """One caller (a person): what they did in this campaign, and what they are doing now."""

    number: str
    calls: int
    connected: int
    talk_s: int
    busy_share: float  # time in this campaign's calls / time since it started
    now: CallerNow
    missed: int = 0  # calls whose leg to this caller rang out


@dataclass(frozen=True)
class AgentAway:
    """One of the campaign's agents on break or offline: who and why."""

    number: str
    state: str  # BREAK or OFFLINE
    reason: str
    since_ms: int


@dataclass(frozen=True)
class Outage:
    """CCC unreachable for the campaign's instance: its breaker is open."""

    endpoint: str
    since_ms: int
    next_probe_ms: int | None
    error: str


@dataclass(frozen=True)
class StatusView:
    id: str
    name: str
    status: CampaignStatus
    pause_reason: str
    resumes_at_ms: int | None  # when dialling resumes by itself, if it will
    timezone: str
    total: int
    counts: dict[str, int]
    brokers: list[BrokerStatus] = field(default_factory=list)
    callers: list[CallerStatus] = field(default_factory=list)
    eta_s: float | None = None  # wall-clock seconds to the end, over the calling windows
    activity: Activity = Activity.DIALLING
    reason: str = ""  # why it is not dialling, in words
    waits: tuple[Wait, ...] = ()  # WAITING: what every row left waits for
    stall: StallCause | None = None
    idle_s: float = 0.0  # STALLED: since the last call began
    windows: str = ""  # '09:00–21:00 Asia/Shanghai'
    rate_per_s: float | None = None  # calls/s, only while dialling
    finishes_at_ms: int | None = None
    # UNKNOWN rows by why they are still unknown (see unknown_reasons), and call-record
    # lookups that failed, by code.
    unknown_reasons: dict[str, int] = field(default_factory=dict)
    lookup_failures: dict[str, int] = field(default_factory=dict)
    now_ms: int = 0  # when the report was made (Redis clock)
    workers_alive: int = 0  # worker processes of this namespace seen in the last 30 s
    workers_last_seen_ms: int | None = None  # the latest heartbeat of any worker ever
    unhealthy_workers: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    outage: Outage | None = None
    # Webhook endpoints disabled (410, failures in a row): (endpoint id, reason code).
    webhooks_disabled: list[tuple[str, str]] = field(default_factory=list)
    replication_lag_at_ms: int | None = None  # a claim held back: replicas lagging (Redis clock)
    # Rows waiting to be dialled again (a recycle, another agent after a miss, a transient
    # failure's backoff) and when the first is due (Redis-clock ms).
    retry_waiting: int = 0
    retry_next_ms: int | None = None
    # Callers paced: those of its agents on break or offline; dispositions saved, by code.
    agents_away: list[AgentAway] = field(default_factory=list)
    dispositions: dict[str, int] = field(default_factory=dict)
    # What the calls came to, counted as the report counts them (dialer.results.summary).
    results: Summary = field(default_factory=Summary)

    @property
    def reached(self) -> int:
        return sum(self.results.reached_on.values())

    def funnel(self) -> list[tuple[int, int, int]]:
        """(contact, customers reached on it, reached by then) for the 1st, 2nd… contact."""
        out, so_far = [], 0
        for contact, n in sorted(self.results.reached_on.items()):
            so_far += n
            out.append((contact, n, so_far))
        return out

    @property
    def done_rows(self) -> int:
        return sum(n for s, n in self.counts.items() if s in TERMINAL_STATES)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "activity": self.activity.value,
            "reason": self.reason,
            "pause_reason": self.pause_reason,
            "pause_code": pause_code(self.pause_reason),
            "waits": [
                {"for": w.kind.value, "rows": w.rows, "cap": w.cap, "until_ms": w.until_ms}
                for w in self.waits
            ],
            "stalled": None
            if self.stall is None
            else {"cause": self.stall.value, "idle_s": round(self.idle_s)},
            "resumes_at_ms": self.resumes_at_ms,
            "timezone": self.timezone,
            "windows": self.windows,
            "total": self.total,
            "done": self.done_rows,
            "counts": self.counts,
            "rate_per_s": self.rate_per_s,
            "eta_s": self.eta_s,
            "finishes_at_ms": self.finishes_at_ms,
            "brokers": [b.__dict__ for b in self.brokers],
            "unknown_reasons": self.unknown_reasons,
            "retry_waiting": self.retry_waiting,
            "retry_next_ms": self.retry_next_ms,
            "outcomes": dict(self.results.outcomes.most_common()),
            "no_record": sum(self.results.no_record.values()),
            "customers": {
                "dialled": self.results.dialled,
                "reached": self.reached,
                "calls": self.results.calls,
                "agent_misses": self.results.agent_misses,
                "funnel": [
                    {"contact": c, "reached": n, "reached_so_far": so_far}
                    for c, n, so_far in self.funnel()
                ],
            },
            "lookup_failures": self.lookup_failures,
            "callers": [
                {**c.__dict__, "now": c.now.value, "masked": mask_caller(c.number)}
                for c in self.callers
            ],
            "agents_away": [
                {**a.__dict__, "masked": mask_caller(a.number)} for a in self.agents_away
            ],
            "dispositions": self.dispositions,
            "workers_alive": self.workers_alive,
            "workers_last_seen_ms": self.workers_last_seen_ms,
            "unhealthy_workers": [{"name": n, "reason": r} for n, r in self.unhealthy_workers],
            "webhooks_disabled": [{"endpoint": e, "reason": r} for e, r in self.webhooks_disabled],
            "replication_lag": None
            if self.replication_lag_at_ms is None
            else {"code": REPLICATION_LAG, "at_ms": self.replication_lag_at_ms},
            "ccc_unreachable": None
            if self.outage is None
            else {
                "endpoint": self.outage.endpoint,
                "since_ms": self.outage.since_ms,
                "next_probe_ms": self.outage.next_probe_ms,
                "next_probe_in_s": _seconds_until(self.outage.next_probe_ms, self.now_ms),
                "error": self.outage.error,
            },
        }


def status_view(engine: Engine, cid: str) -> StatusView:
    store = engine.store
    campaign = store.campaign(cid)
    counts = store.counts(cid)
    figures = store.broker_figures(cid)
    brokers = [_broker_status(campaign, b) for b in figures]
    callers = _callers(engine, campaign) if campaign.settings.caller_pacing else []
    calendar = Calendar.of(campaign.settings.windows, campaign.settings.timezone)
    now_ms = engine.now_ms()
    progress = None
    if campaign.status is CampaignStatus.RUNNING:
        progress = store.progress(cid, [b.number for b in figures])
    busy = any(c.now is not CallerNow.FREE for c in callers)
    now = activity(campaign, counts, brokers, progress, calendar, now_ms, callers_busy=busy)
    workers = live_workers(engine)
    outage = next(
        (
            Outage(b.endpoint, b.since_ms or now_ms, b.next_probe_ms, b.error)
            for b in engine.health.breakers()
            if b.open and b.instance == campaign.settings.instance_id
        ),
        None,
    )
    now = _unable(now, workers, outage, campaign.settings.timezone, now_ms)
    eta_s = finishes_at_ms = rate = None
    if now.activity is Activity.DIALLING:
        rate = sum(b.achieved_per_s for b in brokers)
        limit = _account_limit(engine, campaign, callers)
        dial_s = dialling_seconds(counts, brokers, limit)
        finish = None if dial_s is None else calendar.after_open_seconds(now_ms / 1000, dial_s)
        if finish is not None:
            finishes_at_ms = int(finish * 1000)
            eta_s = max(0.0, finish - now_ms / 1000)
    retry_waiting, retry_next_ms = store.next_retry(cid)
    agents = AgentStore(store)
    return StatusView(
        agents_away=_away(agents, callers),
        dispositions=agents.disposition_counts(cid) if campaign.settings.caller_pacing else {},
        retry_waiting=retry_waiting,
        retry_next_ms=retry_next_ms,
        results=summarise(store, cid),
        unknown_reasons=unknown_reasons(engine, cid, counts.get(RowState.UNKNOWN.value, 0)),
        lookup_failures=store.lookup_failures(cid),
        id=cid,
        name=campaign.settings.name,
        status=campaign.status,
        pause_reason=campaign.pause_reason,
        resumes_at_ms=now.resumes_at_ms,
        timezone=campaign.settings.timezone,
        total=campaign.total,
        counts=counts,
        brokers=brokers,
        callers=callers,
        eta_s=eta_s,
        activity=now.activity,
        reason=now.reason,
        waits=now.waits,
        stall=now.stall,
        idle_s=now.idle_s,
        windows=calendar.describe(),
        rate_per_s=rate,
        finishes_at_ms=finishes_at_ms,
        now_ms=now_ms,
        workers_alive=workers.alive,
        workers_last_seen_ms=workers.last_seen_ms,
        unhealthy_workers=[(w.name, w.reason) for w in workers.live if not w.healthy],
        outage=outage,
        webhooks_disabled=disabled_endpoints(engine, cid),
        replication_lag_at_ms=engine.replication_lag_at_ms(),
    )


def disabled_endpoints(engine: Engine, cid: str) -> list[tuple[str, str]]:
    """The campaign's webhook endpoints (and the global one) that are disabled."""
    events = EventStore(engine.store.r, engine.store.keys)
    ids = [e.id for e in events.endpoints(cid)] + [GLOBAL]
    states = [(eid, events.endpoint_state(cid, eid).disabled) for eid in ids]
    return [(eid, why) for eid, why in states if why]


# What a running campaign in its calling hours would be doing, were it not for this.
_OVERRIDDEN = (Activity.DIALLING, Activity.WAITING, Activity.STALLED)


def _unable(now: Now, workers: Workers, outage: Outage | None, zone: str, now_ms: int) -> Now:
    """No live worker, or CCC unreachable, come before what the campaign would be doing."""
    if now.activity not in _OVERRIDDEN:
        return now
    if not workers.alive:
        if workers.last_seen_ms is None:
            return Now(
                Activity.NO_WORKERS,
                "no live workers (none has been seen): start workers (celery -A tasks worker)",
            )
        since = times.clock(workers.last_seen_ms, zone, now_ms)
        return Now(
            Activity.NO_WORKERS,
            f"no live workers since {since}: start or restart workers (celery -A tasks worker)",
        )
    if outage is not None:
        since = times.clock(outage.since_ms, zone, now_ms)
        probe = _seconds_until(outage.next_probe_ms, now_ms)
        when = f"next probe in {probe} s" if probe is not None else "probing now"
        return Now(
            Activity.CCC_UNREACHABLE,
            f"CCC unreachable since {since}, {when} ({outage.error}): rows wait "
            "without using attempts; dialling resumes by itself",
        )
    return now


def _seconds_until(at_ms: int | None, now_ms: int) -> int | None:
    return None if at_ms is None else max(0, round((at_ms - now_ms) / 1000))


def _broker_status(campaign: Campaign, b: BrokerFigures) -> BrokerStatus:
    span_s = (b.last_ms - b.first_ms) / 1000.0
    return BrokerStatus(
        number=b.number,
        limit_per_s=campaign.settings.rate_for(b.number),
        dispatched=b.dispatched,
        achieved_per_s=(b.dispatched - 1) / span_s if b.dispatched > 1 and span_s else 0.0,
        waiting=b.waiting,
        down=b.down,
    )


def _account_limit(engine: Engine, campaign: Campaign, callers: list[CallerStatus]) -> float | None:
    """Calls/s the whole campaign cannot exceed whatever its brokers allow: the account's
    DIALER_MAX_QPS, and its agents when callers are paced — each takes a call per (average
    call so far + wrap-up)."""
    limits = [engine.timing.max_qps] if engine.timing.max_qps else []
    ended = [
        c for c in engine.store.caller_figures(campaign.id, campaign.settings.agents) if c.busy_ms
    ]
    if campaign.settings.caller_pacing and ended and callers:
        per_call_s = sum(c.busy_ms for c in ended) / 1000 / sum(c.calls for c in ended)
        concurrent = len(callers) * campaign.settings.caller_concurrency
        limits.append(concurrent / (per_call_s + campaign.settings.wrap_up_s))
    return min(limits, default=None)


def dialling_seconds(
    counts: dict[str, int], brokers: list[BrokerStatus], max_per_s: float | None
) -> float | None:
    """Seconds of dialling at full speed the rows left need: the busiest broker's queue at its
    rate, and never less than every row left over every usable broker (or `max_per_s`: the
    account cap, the agents' pace). None when no broker can dial."""
    remaining = sum(counts.get(s.value, 0) for s in ACTIVE_STATES)
    if not remaining:
        return 0.0
    live = [b for b in brokers if not b.down]
    capacity = sum(b.limit_per_s for b in live)
    if max_per_s:
        capacity = min(capacity, max_per_s)
    if not capacity:
        return None
    busiest = max((b.waiting / b.limit_per_s for b in live if b.limit_per_s), default=0.0)
    return max(busiest, remaining / capacity)


LOOKING = "looking in the call records"
NOT_LOOKED_UP = "not looked up (call records off)"


def unknown_reasons(engine: Engine, cid: str, unknown: int) -> dict[str, int]:
    """UNKNOWN rows by why: still being looked for in the call records, or the reason their
    lookups ended (Reconcile.NotFound, Reconcile.Unreadable, Reconcile.Unavailable)."""
    if not unknown:
        return {}
    ended, looking = engine.store.unknown_reasons(cid)
    reasons = {LOOKING: looking} if looking else {}
    reasons.update(ended)
    rest = unknown - looking - sum(ended.values())
    if rest > 0:
        reasons[NOT_LOOKED_UP] = rest
    return reasons


def _away(agents: AgentStore, callers: list[CallerStatus]) -> list[AgentAway]:
    """The callers on break or offline (an agent never signed in has no presence: not away)."""
    found = agents.presence_of([c.number for c in callers])
    away = [Presence.from_fields(n, fields) for n, fields in found.items()]
    return [
        AgentAway(p.number, p.state.value, p.reason, p.since_ms)
        for p in away
        if p.state in (State.BREAK, State.OFFLINE)
    ]


def busy_share(busy_ms: int, campaign: Campaign, now_ms: int) -> float:
    """A caller's occupancy: time in this campaign's calls (ring to release) over the
    campaign's life so far, which stops at its end; at most 1. The report counts the same."""
    elapsed_s = max(1.0, ((campaign.finished_at_ms or now_ms) - campaign.created_at_ms) / 1000)
    return min(1.0, busy_ms / 1000 / elapsed_s)


def _callers(engine: Engine, campaign: Campaign) -> list[CallerStatus]:
    now = engine.now_ms()
    wrap_up_ms = campaign.settings.wrap_up_s * 1000
    out = []
    for c in engine.store.caller_figures(campaign.id, campaign.settings.agents):
        if c.held_until_ms is None:
            doing = CallerNow.FREE
        elif c.held_until_ms - now <= wrap_up_ms:
            doing = CallerNow.WRAP_UP
        else:
            doing = CallerNow.IN_CALL
        out.append(
            CallerStatus(
                c.number,
                c.calls,
                c.connected,
                c.talk_s,
                busy_share(c.busy_ms, campaign, now),
                doing,
                c.missed,
            )
        )
    return out


def eta_text(report: StatusView) -> str:
    """'≈ 2 d 3 h, dialling 09:00–21:00 Asia/Shanghai' ('' unless it is dialling)."""
    if report.eta_s is None:
        return ""
    return f"≈ {format_duration(report.eta_s)}, dialling {report.windows}"


def _away_text(agent: AgentAway, report: StatusView) -> str:
    """'138****0001 BREAK (lunch, since 14:02:07 (Asia/Shanghai))'."""
    why = [agent.reason] if agent.reason else []
    if agent.since_ms:
        why.append("since " + times.clock(agent.since_ms, report.timezone, report.now_ms))
    return f"{mask_caller(agent.number)} {agent.state}" + (f" ({', '.join(why)})" if why else "")


def render(report: StatusView) -> str:
    lines = [f"campaign {report.id} ({report.name}): {report.status.value}"]
    if report.reason:
        lines.append(f"  {report.reason}")
    for name, why in report.unhealthy_workers:
        lines.append(f"  worker {name} unhealthy: {why}")
    if report.replication_lag_at_ms is not None:
        ago = max(0, report.now_ms - report.replication_lag_at_ms) // 1000
        lines.append(
            f"  calls held back: Redis replicas did not acknowledge a claim in time "
            f"({REPLICATION_LAG}, {ago} s ago); those rows are tried again"
        )
    order = [s.value for s in RowState]
    lines.append("  " + "  ".join(f"{s} {report.counts[s]}" for s in order if report.counts.get(s)))
    dialling = report.activity is Activity.DIALLING
    for b in report.brokers:
        note = f"  DOWN ({b.down})" if b.down else ""
        rate = f", {b.achieved_per_s:.2f}/s" if dialling else ""
        lines.append(
            f"  broker {b.number}: {b.dispatched} dispatched{rate} "
            f"(limit {b.limit_per_s:g}/s), {b.waiting} waiting{note}"
        )
    if report.unknown_reasons:
        why = ", ".join(f"{n} {r}" for r, n in sorted(report.unknown_reasons.items()))
        lines.append(f"  UNKNOWN: {why} (`dialer redial {report.id} --state UNKNOWN`)")
    if report.retry_waiting and report.retry_next_ms is not None:
        due = times.shown(report.retry_next_ms, report.timezone)
        lines.append(
            f"  {report.retry_waiting} rows waiting to be dialled again "
            f"(recycle, another agent, retry), the next at {due}"
        )
    r = report.results
    if r.calls:
        share = f" ({report.reached / r.dialled:.1%})" if r.dialled else ""
        lines.append(
            f"  customers: {report.reached} of {r.dialled} dialled reached{share}, "
            f"in {r.calls} calls placed"
            + (f"; {r.agent_misses} rang out at the agent (no contact)" if r.agent_misses else "")
        )
        funnel = ", ".join(f"{_nth(c)} {n} ({so_far} by then)" for c, n, so_far in report.funnel())
        if funnel:
            lines.append(f"  reached on contact: {funnel}")
    if r.outcomes or r.no_record:
        outcomes = [f"{o} {n}" for o, n in r.outcomes.most_common()]
        if r.no_record:
            outcomes.append(f"no record yet {sum(r.no_record.values())}")
        lines.append("  outcomes: " + ", ".join(outcomes))
    if report.lookup_failures:
        failed = ", ".join(f"{n} {c}" for c, n in sorted(report.lookup_failures.items()))
        lines.append(f"  call-record lookups failed: {failed}")
    for eid, why in report.webhooks_disabled:
        lines.append(f"  webhook endpoint {eid} disabled: {why} (`dialer webhooks {report.id}`)")
    shown = 20
    for c in report.callers[:shown]:
        lines.append(
            f"  caller {mask_caller(c.number)}: {c.calls} calls, {c.connected} connected, "
            f"talk {format_duration(c.talk_s)}, busy {c.busy_share:.0%}"
            + (f", {c.missed} missed (rang out)" if c.missed else "")
            + f" — {c.now}"
        )
    if len(report.callers) > shown:
        lines.append(f"  … and {len(report.callers) - shown} more callers (status --json)")
    if report.agents_away:
        away = ", ".join(_away_text(a, report) for a in report.agents_away)
        lines.append(f"  agents away: {away}")
    if report.dispositions:
        codes = ", ".join(f"{c} {n}" for c, n in sorted(report.dispositions.items()))
        lines.append(f"  dispositions: {codes}")
    if report.eta_s is not None and report.finishes_at_ms is not None:
        done_at = times.shown(report.finishes_at_ms, report.timezone)
        lines.append(f"  ETA {eta_text(report)} (done around {done_at})")
    return "\n".join(lines)


def _nth(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"
