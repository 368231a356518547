"""What `dialer status` shows: counts by state, calls/s per broker against its limit, ETA."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from dialer.engine import Engine
from dialer.models import TERMINAL_STATES, CampaignStatus, RowState
from dialer.store import text


@dataclass(frozen=True)
class BrokerStatus:
    number: str
    limit_per_s: float
    dispatched: int
    achieved_per_s: float
    waiting: int
    down: str


@dataclass(frozen=True)
class CampaignReport:
    id: str
    name: str
    status: CampaignStatus
    pause_reason: str
    resumes_at: float | None
    total: int
    counts: dict[str, int]
    brokers: list[BrokerStatus] = field(default_factory=list)
    eta_s: float | None = None

    @property
    def done_rows(self) -> int:
        return sum(n for s, n in self.counts.items() if s in TERMINAL_STATES)

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "pause_reason": self.pause_reason,
            "resumes_at": self.resumes_at,
            "total": self.total,
            "done": self.done_rows,
            "counts": self.counts,
            "eta_s": self.eta_s,
            "brokers": [b.__dict__ for b in self.brokers],
        }


def campaign_report(engine: Engine, cid: str, max_qps: float | None = None) -> CampaignReport:
    store, keys, r = engine.store, engine.keys, engine.r
    campaign = store.campaign(cid)
    counts = store.counts(cid)
    dialed = {text(k): float(v) for k, v in r.hgetall(keys.dialed(cid)).items()}
    down = {text(k): text(v) for k, v in r.hgetall(keys.broker_down(cid)).items()}
    brokers = []
    for b in engine.brokers(cid):
        n = int(dialed.get(f"n:{b}", 0))
        span_s = (dialed.get(f"last:{b}", 0) - dialed.get(f"first:{b}", 0)) / 1000.0
        brokers.append(
            BrokerStatus(
                number=b,
                limit_per_s=campaign.settings.rate_for(b),
                dispatched=n,
                achieved_per_s=(n - 1) / span_s if n > 1 and span_s > 0 else 0.0,
                waiting=int(r.llen(keys.queue(cid, b))),
                down=down.get(b, ""),
            )
        )
    remaining = sum(counts.get(s.value, 0) for s in (
        RowState.PENDING, RowState.QUEUED, RowState.DIALING, RowState.RETRY_WAIT))  # fmt: skip
    capacity = sum(b.limit_per_s for b in brokers if not b.down and (b.waiting or remaining))
    if max_qps:
        capacity = min(capacity, max_qps)
    eta = remaining / capacity if capacity and remaining else (0.0 if not remaining else None)
    return CampaignReport(
        id=cid,
        name=campaign.settings.name,
        status=campaign.status,
        pause_reason=campaign.pause_reason,
        resumes_at=campaign.resumes_at if (campaign.resumes_at or 0) > time.time() else None,
        total=campaign.total,
        counts=counts,
        brokers=brokers,
        eta_s=eta,
    )


def render(report: CampaignReport) -> str:
    lines = [f"campaign {report.id} ({report.name}): {report.status.value}"]
    if report.pause_reason and report.status is CampaignStatus.PAUSED:
        lines.append(f"  paused: {report.pause_reason}")
    if report.resumes_at and report.status is CampaignStatus.RUNNING:
        when = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(report.resumes_at))
        lines.append(f"  outside calling hours: dialling resumes at {when}")
    order = [s.value for s in RowState]
    lines.append("  " + "  ".join(f"{s} {report.counts[s]}" for s in order if report.counts.get(s)))
    for b in report.brokers:
        note = f"  DOWN ({b.down})" if b.down else ""
        lines.append(
            f"  broker {b.number}: {b.dispatched} dispatched, {b.achieved_per_s:.2f}/s "
            f"(limit {b.limit_per_s:g}/s), {b.waiting} waiting{note}"
        )
    if report.eta_s:
        lines.append(f"  ETA {time.strftime('%H:%M:%S', time.gmtime(report.eta_s))}")
    return "\n".join(lines)
