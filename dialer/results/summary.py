"""What the report counts, read from a campaign's rows in one pass: rows by status and by error
code, call outcomes and why placed calls have none, retries and their reasons, per-broker
figures, the outcome timeline, the agents' dispositions by code and the first FAILED and
UNKNOWN rows (numbers masked). No words: dialer.results.report writes them in the operator's
language."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from dialer.engine import Campaign, CampaignStore
from dialer.phones import mask_number, mask_text
from dialer.results.charts import NO_RECORD, OUTCOME_CATEGORY, REQUEST_FAILED, UNKNOWN, Timeline

MAX_LISTED = 100
NOT_RECORDED = ""  # a retried row whose reason was not kept (written before reasons were)


@dataclass
class BrokerStats:
    limit_per_s: float
    calls: int = 0
    failures: int = 0
    with_outcome: int = 0
    connected: int = 0
    talk_s: int = 0
    first_ms: int | None = None
    last_ms: int | None = None

    @property
    def achieved_per_s(self) -> float:
        if self.calls < 2 or not self.first_ms or not self.last_ms or self.last_ms <= self.first_ms:
            return 0.0
        return (self.calls - 1) / ((self.last_ms - self.first_ms) / 1000.0)


@dataclass
class Problem:
    """A FAILED or UNKNOWN row as the report lists it (numbers masked)."""

    row: int
    caller: str
    callee: str
    broker: str
    status: str
    attempts: int
    code: str
    message: str
    at_ms: int | None


@dataclass
class Summary:
    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_error: Counter[str] = field(default_factory=Counter)
    brokers: dict[str, BrokerStats] = field(default_factory=dict)
    outcomes: Counter[str] = field(default_factory=Counter)
    no_record: Counter[str] = field(default_factory=Counter)  # why: "" = not fetched yet
    retried: Counter[str] = field(default_factory=Counter)  # final status of retried rows
    retry_reasons: Counter[str] = field(default_factory=Counter)
    retry_reasons_placed: Counter[str] = field(default_factory=Counter)
    extra_attempts: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_total: int = 0
    timeline: Timeline = field(default_factory=Timeline.empty)
    # The contact strategy: customers dialled (rows placed), calls placed (each recorded
    # call, the last one included), customers reached and on which contact, and calls that
    # rang out at the agent (no contact).
    dialled: int = 0
    calls: int = 0
    reached_on: Counter[int] = field(default_factory=Counter)
    agent_misses: int = 0
    # Every disposition saved (one per call disposed of): agent -> code -> count.
    dispositions: dict[str, Counter[str]] = field(default_factory=dict)


def _retry_reason(status: str, result: dict) -> str:
    if result.get("retry_code"):
        return str(result["retry_code"])
    if result.get("redials"):
        return "Operator.Redial"
    if status != "DISPATCHED" and result.get("error_code"):
        return str(result["error_code"])
    return NOT_RECORDED


def _message(result: dict) -> str:
    """The row's error message, and what reconciling it against the call records found."""
    parts = [str(result.get(k) or "") for k in ("error_message", "reconcile")]
    return " — ".join(p for p in parts if p)


def summarise(store: CampaignStore, cid: str) -> Summary:
    campaign = store.campaign(cid)
    summary = Summary()
    for record, state, result in store.iter_rows(cid):
        status = state.split("|", 1)[0]
        status = "PENDING" if status == "QUEUED" else status
        summary.total += 1
        summary.by_status[status] += 1
        code = result.get("error_code") or ""
        if code and status in ("FAILED", "UNKNOWN", "REJECTED"):
            summary.by_error[code] += 1
        attempts = int(result.get("attempts") or 0)
        if attempts > 1:
            reason = _retry_reason(status, result)
            summary.retried[status] += 1
            summary.retry_reasons[reason] += 1
            summary.extra_attempts += attempts - 1
            if status == "DISPATCHED":
                summary.retry_reasons_placed[reason] += 1
        last_ms = int(result.get("last_attempt_at") or 0) or None
        if status in ("FAILED", "UNKNOWN"):
            summary.problems_total += 1
            if len(summary.problems) < MAX_LISTED:
                summary.problems.append(
                    Problem(
                        int(record[0]),
                        mask_number(str(record[1])),
                        mask_number(str(record[2])),
                        str(result.get("broker") or record[3]),
                        status,
                        attempts,
                        code,
                        mask_text(_message(result))[:200],
                        last_ms,
                    )
                )
            if last_ms:
                summary.timeline.add(last_ms, REQUEST_FAILED if status == "FAILED" else UNKNOWN)
        _count_broker(summary, campaign, status, result)
        _count_contacts(summary, status, result)
        _count_dispositions(summary, result)
    summary.brokers = dict(sorted(summary.brokers.items()))
    return summary


def _count_contacts(summary: Summary, status: str, result: dict) -> None:
    history = result.get("history")
    recorded = len(history) if isinstance(history, list) else 0
    if status == "DISPATCHED":
        summary.dialled += 1
        # Its last call is in the history once its record came; not yet: one call more.
        summary.calls += max(recorded, 1) if result.get("outcome") else recorded + 1
        if result.get("outcome") == "CONNECTED":
            summary.reached_on[max(1, int(result.get("contacts") or 1))] += 1
    else:
        summary.calls += recorded
    summary.agent_misses += int(result.get("agent_misses") or 0)


def _count_dispositions(summary: Summary, result: dict) -> None:
    saved = result.get("dispositions")
    for d in saved if isinstance(saved, list) else []:
        if isinstance(d, dict) and d.get("code"):
            summary.dispositions.setdefault(str(d.get("agent") or ""), Counter())[
                str(d["code"])
            ] += 1


def _count_broker(summary: Summary, campaign: Campaign, status: str, result: dict) -> None:
    broker = result.get("broker")
    if not broker or status == "REJECTED":
        return
    stats = summary.brokers.get(broker)
    if stats is None:
        stats = summary.brokers[broker] = BrokerStats(campaign.settings.rate_for(broker))
    if status in ("FAILED", "UNKNOWN"):
        stats.failures += 1
    if status != "DISPATCHED" or not result.get("dispatched_at"):
        return
    stats.calls += 1
    at = int(result["dispatched_at"])
    stats.first_ms = min(stats.first_ms or at, at)
    stats.last_ms = max(stats.last_ms or at, at)
    outcome = result.get("outcome")
    if outcome:
        summary.outcomes[outcome] += 1
        stats.with_outcome += 1
        if outcome == "CONNECTED":
            stats.connected += 1
            stats.talk_s += int(result.get("talk_seconds") or 0)
    else:
        # By code, so the report can say it in the reader's language (the note is English).
        why = result.get("outcome_code") or result.get("outcome_note") or ""
        summary.no_record[str(why)] += 1
    summary.timeline.add(at, OUTCOME_CATEGORY.get(outcome or "", NO_RECORD))
