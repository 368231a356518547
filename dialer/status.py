"""What `dialer status` shows: counts by state, calls/s per broker against its limit, ETA."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from dialer.engine import Campaign, Engine
from dialer.health import live_workers
from dialer.models import ACTIVE_STATES, TERMINAL_STATES, CampaignStatus, RowState
from dialer.phones import mask_caller


@dataclass(frozen=True)
class BrokerStatus:
    number: str
    limit_per_s: float
    dispatched: int
    achieved_per_s: float
    waiting: int
    down: str


@dataclass(frozen=True)
class Outage:
    """CCC unreachable for the campaign's instance: its breaker is open."""

    endpoint: str
    since_ms: int
    next_probe_ms: int | None
    error: str


@dataclass(frozen=True)
class CallerStatus:
    """One caller (a person): what they did in this campaign, and what they are doing now."""

    number: str
    calls: int
    connected: int
    talk_s: int
    busy_share: float  # time in this campaign's calls / time since it started
    now: str  # "in a call", "wrap-up", "free"


@dataclass(frozen=True)
class CampaignReport:
    id: str
    name: str
    status: CampaignStatus
    pause_reason: str
    resumes_at_ms: int | None
    timezone: str
    total: int
    counts: dict[str, int]
    brokers: list[BrokerStatus] = field(default_factory=list)
    callers: list[CallerStatus] = field(default_factory=list)
    eta_s: float | None = None
    # UNKNOWN rows by why they are still unknown (see unknown_reasons), and call-record
    # lookups that failed, by code.
    unknown_reasons: dict[str, int] = field(default_factory=dict)
    lookup_failures: dict[str, int] = field(default_factory=dict)
    now_ms: int = 0  # when the report was made (Redis clock)
    workers_alive: int = 0  # worker processes of this namespace seen in the last 30 s
    workers_last_seen_ms: int | None = None  # the latest heartbeat of any worker ever
    unhealthy_workers: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    outage: Outage | None = None

    @property
    def done_rows(self) -> int:
        return sum(n for s, n in self.counts.items() if s in TERMINAL_STATES)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "pause_reason": self.pause_reason,
            "resumes_at_ms": self.resumes_at_ms,
            "timezone": self.timezone,
            "total": self.total,
            "done": self.done_rows,
            "counts": self.counts,
            "eta_s": self.eta_s,
            "brokers": [b.__dict__ for b in self.brokers],
            "unknown_reasons": self.unknown_reasons,
            "lookup_failures": self.lookup_failures,
            "callers": [c.__dict__ for c in self.callers],
            "workers_alive": self.workers_alive,
            "workers_last_seen_ms": self.workers_last_seen_ms,
            "unhealthy_workers": [{"name": n, "reason": r} for n, r in self.unhealthy_workers],
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


def campaign_report(engine: Engine, cid: str) -> CampaignReport:
    store = engine.store
    campaign = store.campaign(cid)
    counts = store.counts(cid)
    brokers = []
    for b in store.broker_figures(cid):
        span_s = (b.last_ms - b.first_ms) / 1000.0
        brokers.append(
            BrokerStatus(
                number=b.number,
                limit_per_s=campaign.settings.rate_for(b.number),
                dispatched=b.dispatched,
                achieved_per_s=(b.dispatched - 1) / span_s if b.dispatched > 1 and span_s else 0.0,
                waiting=b.waiting,
                down=b.down,
            )
        )
    remaining = sum(counts.get(s.value, 0) for s in ACTIVE_STATES)
    capacity = sum(b.limit_per_s for b in brokers if not b.down and (b.waiting or remaining))
    if engine.timing.max_qps:
        capacity = min(capacity, engine.timing.max_qps)
    callers = _callers(engine, campaign) if campaign.settings.caller_pacing else []
    ended = [c for c in store.caller_figures(cid, campaign.settings.agents) if c.busy_ms]
    if campaign.settings.caller_pacing and ended and callers:
        # Agents, not brokers, may be the limit: each takes a call per (call + wrap-up).
        per_call_s = sum(c.busy_ms for c in ended) / 1000 / sum(c.calls for c in ended)
        concurrent = len(callers) * campaign.settings.caller_concurrency
        capacity = min(capacity, concurrent / (per_call_s + campaign.settings.wrap_up_s))
    eta = remaining / capacity if capacity and remaining else (0.0 if not remaining else None)
    resumes = campaign.resumes_at_ms
    now = engine.now_ms()
    workers = live_workers(engine)
    outage = next(
        (Outage(b.endpoint, b.since_ms or now, b.next_probe_ms, b.error)
         for b in engine.health.breakers()
         if b.open and b.instance == campaign.settings.instance_id),
        None,
    )  # fmt: skip
    if eta and (not workers.alive or outage is not None):
        eta = None  # nothing is being dialled: no time left can be told
    return CampaignReport(
        unknown_reasons=unknown_reasons(engine, cid, counts.get(RowState.UNKNOWN.value, 0)),
        lookup_failures=store.lookup_failures(cid),
        id=cid,
        name=campaign.settings.name,
        status=campaign.status,
        pause_reason=campaign.pause_reason,
        resumes_at_ms=resumes if resumes and resumes > engine.now_ms() else None,
        timezone=campaign.settings.timezone,
        total=campaign.total,
        counts=counts,
        brokers=brokers,
        callers=callers,
        eta_s=eta,
        now_ms=now,
        workers_alive=workers.alive,
        workers_last_seen_ms=workers.last_seen_ms,
        unhealthy_workers=[(w.name, w.reason) for w in workers.live if not w.healthy],
        outage=outage,
    )


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


def _seconds_until(at_ms: int | None, now_ms: int) -> int | None:
    return None if at_ms is None else max(0, round((at_ms - now_ms) / 1000))


def clock_time(ms: int, timezone: str, now_ms: int) -> str:
    """A recent time as 10:42:07 (Asia/Shanghai); an older one with its date."""
    when = dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone))
    if abs(now_ms - ms) < 86_400_000:
        return f"{when:%H:%M:%S} ({timezone})"
    return f"{when:%Y-%m-%d %H:%M:%S} ({timezone})"


def not_dialling(report: CampaignReport) -> str:
    """Why a running campaign dials nothing now ("" when it can dial)."""
    if report.status is not CampaignStatus.RUNNING:
        return ""
    if not report.workers_alive:
        if report.workers_last_seen_ms is None:
            return "no live workers (none has been seen): start workers"
        since = clock_time(report.workers_last_seen_ms, report.timezone, report.now_ms)
        return f"no live workers since {since}: start or restart workers"
    if report.outage is not None:
        since = clock_time(report.outage.since_ms, report.timezone, report.now_ms)
        probe = _seconds_until(report.outage.next_probe_ms, report.now_ms)
        when = f"next probe in {probe} s" if probe is not None else "probing now"
        return f"CCC unreachable since {since}, {when} ({report.outage.error})"
    return ""


def _callers(engine: Engine, campaign: Campaign) -> list[CallerStatus]:
    now = engine.now_ms()
    elapsed_s = max(1.0, (now - campaign.created_at_ms) / 1000)
    wrap_up_ms = campaign.settings.wrap_up_s * 1000
    out = []
    for c in engine.store.caller_figures(campaign.id, campaign.settings.agents):
        if c.held_until_ms is None:
            doing = "free"
        elif c.held_until_ms - now <= wrap_up_ms:
            doing = "wrap-up"
        else:
            doing = "in a call"
        out.append(CallerStatus(c.number, c.calls, c.connected, c.talk_s,
                                min(1.0, c.busy_ms / 1000 / elapsed_s), doing))  # fmt: skip
    return out


def local_time(ms: int, timezone: str) -> str:
    """A stored time as a person reads it: in the campaign's zone, the zone named."""
    when = dt.datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone))
    return f"{when:%Y-%m-%d %H:%M:%S} {timezone}"


def format_duration(seconds: float) -> str:
    """3 d 4 h, 2 h 5 min, 7 min, 40 s: never a clock face that wraps at 24 h."""
    s = round(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def render(report: CampaignReport) -> str:
    lines = [f"campaign {report.id} ({report.name}): {report.status.value}"]
    if report.pause_reason and report.status is CampaignStatus.PAUSED:
        lines.append(f"  paused: {report.pause_reason}")
    if report.resumes_at_ms and report.status is CampaignStatus.RUNNING:
        when = local_time(report.resumes_at_ms, report.timezone)
        lines.append(f"  outside calling hours: dialling resumes at {when}")
    idle = not_dialling(report)
    if idle:
        lines.append(f"  {idle}")
        if report.workers_alive and report.outage is not None:
            lines.append("  rows wait without using attempts; dialling resumes by itself")
    for name, why in report.unhealthy_workers:
        lines.append(f"  worker {name} unhealthy: {why}")
    order = [s.value for s in RowState]
    lines.append("  " + "  ".join(f"{s} {report.counts[s]}" for s in order if report.counts.get(s)))
    for b in report.brokers:
        note = f"  DOWN ({b.down})" if b.down else ""
        rate = f"{b.achieved_per_s:.2f}/s " if not idle else ""
        lines.append(
            f"  broker {b.number}: {b.dispatched} dispatched, {rate}"
            f"(limit {b.limit_per_s:g}/s), {b.waiting} waiting{note}"
        )
    if report.unknown_reasons:
        why = ", ".join(f"{n} {r}" for r, n in sorted(report.unknown_reasons.items()))
        lines.append(f"  UNKNOWN: {why} (`dialer redial {report.id} --status UNKNOWN`)")
    if report.lookup_failures:
        failed = ", ".join(f"{n} {c}" for c, n in sorted(report.lookup_failures.items()))
        lines.append(f"  call-record lookups failed: {failed}")
    shown = 20
    for c in report.callers[:shown]:
        lines.append(
            f"  caller {mask_caller(c.number)}: {c.calls} calls, {c.connected} connected, "
            f"talk {format_duration(c.talk_s)}, busy {c.busy_share:.0%} — {c.now}"
        )
    if len(report.callers) > shown:
        lines.append(f"  … and {len(report.callers) - shown} more callers (status --json)")
    if report.eta_s and not idle:
        lines.append(f"  ETA ≈ {format_duration(report.eta_s)}")
    return "\n".join(lines)
