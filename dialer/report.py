"""A single self-contained HTML report of a campaign: its settings, totals, call outcomes and
the connect rate over time, retries and their reasons, failures explained, a per-broker table
and the first failed and UNKNOWN rows (numbers masked). Every time is in the campaign's zone
and says so; the one chart is inline SVG; nothing is loaded from elsewhere."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from dialer.engine import Campaign, CampaignStore
from dialer.export import local_time, mask_text, replacing, zone_of
from dialer.meanings import MEANINGS, OUTCOME_MEANINGS, STATUS_MEANINGS
from dialer.models import format_rate
from dialer.phones import mask_caller, mask_number
from dialer.report_charts import (
    NO_RECORD,
    OUTCOME_CATEGORY,
    REQUEST_FAILED,
    UNKNOWN,
    Timeline,
    render_timeline,
)

REPORT_SUFFIXES = (".html", ".htm")
_NUMERIC = re.compile(r"[\d.,]+%?|–")
MAX_LISTED = 100


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


def _retry_reason(status: str, result: dict) -> str:
    if result.get("retry_code"):
        return str(result["retry_code"])
    if result.get("redials"):
        return "Operator.Redial"
    if status != "DISPATCHED" and result.get("error_code"):
        return str(result["error_code"])
    return "(not recorded)"


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
                    Problem(int(record[0]), mask_number(str(record[1])),
                            mask_number(str(record[2])), str(result.get("broker") or record[3]),
                            status, attempts, code,
                            mask_text(_message(result))[:200], last_ms)
                )  # fmt: skip
            if last_ms:
                summary.timeline.add(last_ms, REQUEST_FAILED if status == "FAILED" else UNKNOWN)
        _count_broker(summary, campaign, status, result)
    summary.brokers = dict(sorted(summary.brokers.items()))
    return summary


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
        summary.no_record[str(result.get("outcome_note") or "")] += 1
    summary.timeline.add(at, OUTCOME_CATEGORY.get(outcome or "", NO_RECORD))


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


class _Page:
    """Formatting helpers bound to the campaign's zone."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone

    def time(self, ms: int | float | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
        moment = local_time(int(ms), self.zone) if ms else None
        return moment.strftime(fmt) if moment else "–"

    def offset(self, ms: float) -> str:
        moment = local_time(int(ms), self.zone)
        minutes = (
            int((moment.utcoffset() or dt.timedelta(0)).total_seconds() // 60) if moment else 0
        )
        sign = "+" if minutes >= 0 else "-"
        return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _rows(
    cells: Sequence[Sequence[object]], empty: str, width: int, *, numeric: bool = True
) -> str:
    """Table rows; with `numeric`, numbers (and percentages, "12 s", "–") align right."""
    if not cells:
        return f'<tr><td colspan="{width}" class="none">{html.escape(empty)}</td></tr>'
    out = []
    for row in cells:
        tds = "".join(
            f'<td class="num">{v}</td>'
            if numeric
            and (isinstance(v, int | float) or _NUMERIC.fullmatch(str(v).removesuffix(" s")))
            else f"<td>{v}</td>"
            for v in row
        )
        out.append(f"<tr>{tds}</tr>")
    return "".join(out)


def _code(code: str) -> str:
    return f"<code>{html.escape(code)}</code>"


def _settings_rows(campaign: Campaign, page: _Page) -> list[list[object]]:
    s, e = campaign.settings, html.escape
    overrides = ", ".join(f"{e(b)} {format_rate(r)}" for b, r in sorted(s.broker_rates.items()))

    def cap(n: int, per: str) -> str:
        return f"{n} a {per}" if n else {"day": "no daily cap", "month": "no monthly cap"}[per]

    caps = (
        f"per callee {cap(s.callee_daily_cap, 'day')}, {cap(s.callee_monthly_cap, 'month')}; "
        f"per broker {cap(s.broker_daily_cap, 'day')}; the same caller and callee not twice "
        f"within {s.pair_guard_s:g} s"
    )
    return [
        ["file", e(campaign.file)],
        ["uploaded", f"{page.time(campaign.created_at_ms, '%Y-%m-%d %H:%M:%S')} "
                     f"({e(s.timezone)})"],
        ["finished", f"{page.time(campaign.finished_at_ms)} ({e(s.timezone)})"
                     if campaign.finished_at_ms else "–"],
        ["rows", f"{campaign.total} ({campaign.accepted} accepted, "
                 f"{campaign.rejected} rejected)"],
        ["CCC instance", e(s.instance_id)],
        ["broker pool", e(", ".join(s.pool)) or "– (every row names its broker)"],
        ["rate per broker", format_rate(s.rate_per_s) + (f"; {overrides}" if overrides else "")],
        ["additional broker", e(s.additional_broker or "–")],
        ["timeout (rows without one)", f"{s.timeout_seconds} s"],
        ["attempts per row", f"at most {s.max_attempts} (retried only when certainly not placed)"],
        ["calling windows", f"{e(', '.join(s.windows))} ({e(s.timezone)})"],
        ["caps", caps],
        ["call records", "fetched for every placed call" if s.outcomes else "not fetched "
                         "(--no-outcomes)"],
    ]  # fmt: skip


def render_html(store: CampaignStore, cid: str) -> str:
    campaign = store.campaign(cid)
    zone = zone_of(campaign)
    summary = summarise(store, cid)
    page, e = _Page(zone), html.escape
    name = e(campaign.settings.name)

    placed = summary.by_status.get("DISPATCHED", 0)
    recorded = sum(summary.outcomes.values())
    connected = summary.outcomes.get("CONNECTED", 0)
    status_rows = [
        [e(s), n, _share(n, summary.total), e(STATUS_MEANINGS.get(s, ""))]
        for s, n in summary.by_status.most_common()
    ]
    outcome_rows: list[list[object]] = [
        [e(o), n, _share(n, recorded), e(OUTCOME_MEANINGS.get(o, ""))]
        for o, n in summary.outcomes.most_common()
    ]
    for why, n in summary.no_record.most_common():
        label = f"no record ({_code(why)})" if why else "no call record yet"
        outcome_rows.append([label, n, "", "placed; its call record was not fetched"
                             if why else "placed; the record was not fetched (yet)"])  # fmt: skip
    note = e(campaign.outcomes_note)
    if not campaign.settings.outcomes:
        note = "Call records are not fetched for this campaign (--no-outcomes)."

    retried = sum(summary.retried.values())
    retry_rows = [
        [_code(r), n, summary.retry_reasons_placed.get(r, 0), e(MEANINGS.get(r, ""))]
        for r, n in summary.retry_reasons.most_common()
    ]
    retried_ends = ", ".join(f"{n} {e(s)}" for s, n in summary.retried.most_common())
    error_rows = [[_code(c), n, e(MEANINGS.get(c, ""))] for c, n in summary.by_error.most_common()]
    broker_rows = [
        [e(b), s.calls, s.failures, f"{s.achieved_per_s:.2f}", format_rate(s.limit_per_s),
         _share(s.connected, s.with_outcome),
         f"{s.talk_s // s.connected} s" if s.connected else "–",
         page.time(s.first_ms, "%m-%d %H:%M:%S"), page.time(s.last_ms, "%m-%d %H:%M:%S")]
        for b, s in summary.brokers.items()
    ]  # fmt: skip
    problem_rows = [
        [p.row, e(p.caller), e(p.callee), e(p.broker), e(p.status), p.attempts, _code(p.code),
         e(p.message), page.time(p.at_ms, "%m-%d %H:%M:%S")]
        for p in summary.problems
    ]  # fmt: skip
    retries_html = "<p>No row was dialled more than once.</p>"
    if retried:
        retries_html = f"""<p>{retried} rows were dialled more than once \
({summary.extra_attempts} extra attempts); they ended {retried_ends}. A row is dialled again only
when the call was certainly not placed (a transient CCC error, a broker taken out of service, a
paused campaign) or an operator asked (`dialer redial`).</p>
<table id="retries"><tr><th>reason of the last retry</th><th>rows</th>
<th>then placed</th><th>meaning</th></tr>{_rows(retry_rows, "", 4)}</table>"""
    more = summary.problems_total - len(summary.problems)
    problems_html = "<p>No row FAILED or is UNKNOWN.</p>"
    if summary.problems_total:
        intro = (
            f"{f'The first {len(summary.problems)} of ' if more else ''}{summary.problems_total} "
            "rows, numbers masked. UNKNOWN rows may have been placed: they are never retried "
            "blindly."
            + (f" The other {more} are in the results sheet (<code>dialer export</code>)."
               if more else "")
        )  # fmt: skip
        problems_html = f"""<p>{intro}</p>
<table id="problems"><tr><th>row</th><th>caller</th><th>callee</th><th>broker</th>
<th>status</th><th>attempts</th><th>code</th><th>message</th>
<th>last attempt ({e(zone.key)})</th></tr>{_rows(problem_rows, "", 9)}</table>"""
    chart = render_timeline(summary.timeline, zone)
    callers_html = _callers_html(store, campaign)
    now_ms = dt.datetime.now(dt.UTC).timestamp() * 1000
    zone_name = f"{e(zone.key)}, {page.offset(now_ms)}"
    paused = (
        f" — paused: {e(campaign.pause_reason)}"
        if campaign.status.value == "PAUSED" and campaign.pause_reason
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Campaign {name} — report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1060px;
        padding: 0 1em; color: #1a202c; line-height: 1.4 }}
h1 {{ margin-bottom: .2em }}
h2 {{ margin-top: 1.6em; border-bottom: 1px solid #e2e8f0; padding-bottom: .2em }}
table {{ border-collapse: collapse; margin: .5em 0 1em; font-size: .92em }}
th, td {{ border: 1px solid #cbd5e0; padding: .25em .6em; text-align: left;
          vertical-align: top }}
th {{ background: #edf2f7 }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums }}
td.none {{ color: #718096; font-style: italic }}
#settings td:first-child {{ white-space: nowrap; color: #4a5568 }}
#problems {{ font-size: .85em }}
#problems td {{ white-space: nowrap }}
#problems td:nth-child(8) {{ white-space: normal; min-width: 12em }}
.lead {{ color: #4a5568 }}
.figures {{ display: flex; flex-wrap: wrap; gap: .8em; margin: 1em 0 }}
.figures div {{ border: 1px solid #cbd5e0; border-radius: 6px; padding: .4em .9em;
                min-width: 7em }}
.figures b {{ display: block; font-size: 1.5em }}
svg {{ max-width: 100%; height: auto }}
</style></head><body>
<h1>Campaign {name}</h1>
<p class="lead">Id <code>{e(cid)}</code> · status <b>{e(campaign.status.value)}</b>{paused} ·
report made {page.time(now_ms, "%Y-%m-%d %H:%M")} · all times {zone_name}</p>
<div class="figures">
<div><b>{summary.total}</b>rows</div>
<div><b>{placed}</b>calls placed</div>
<div><b>{connected}</b>connected ({_share(connected, recorded)} of {recorded} with a record)</div>
<div><b>{retried}</b>rows dialled again</div>
<div><b>{summary.problems_total}</b>FAILED or UNKNOWN</div>
<div><b>{summary.by_status.get("REJECTED", 0)}</b>rejected by the sheet check</div>
</div>
<h2>Settings</h2>
<table id="settings">{_rows(_settings_rows(campaign, page), "", 2, numeric=False)}</table>
<h2>Rows by status</h2>
<table id="totals"><tr><th>status</th><th>rows</th><th>share</th><th>meaning</th></tr>
{_rows(status_rows, "no rows", 4)}
<tr><th>total</th><th class="num">{summary.total}</th><th></th><th></th></tr></table>
<h2>Call outcomes</h2>
<p>Connect rate <b>{_share(connected, recorded)}</b> of the {recorded} placed calls whose call
record was fetched ({placed} placed in all). {note}</p>
<table id="outcomes"><tr><th>outcome</th><th>calls</th><th>share</th><th>meaning</th></tr>
{_rows(outcome_rows, "no call placed yet", 4)}</table>
<div id="timeline">{chart or "<p><i>Nothing dialled yet: no chart.</i></p>"}</div>
<h2>Retries</h2>
{retries_html}
<h2>Failures and rejections by code</h2>
<table id="failures"><tr><th>code</th><th>rows</th><th>meaning</th></tr>
{_rows(error_rows, "none", 3)}</table>
<h2>Per broker</h2>
<table id="brokers"><tr><th>broker</th><th>calls placed</th><th>FAILED or UNKNOWN</th>
<th>achieved calls/s</th><th>limit</th><th>connect rate</th><th>average talk</th>
<th>first call ({e(zone.key)})</th><th>last call ({e(zone.key)})</th></tr>{
        _rows(broker_rows, "no calls yet", 9)
    }</table>
{callers_html}
<h2>FAILED and UNKNOWN rows</h2>
{problems_html}
</body></html>
"""


def _callers_html(store: CampaignStore, campaign: Campaign) -> str:
    """Per caller (a person), when callers are paced: calls, connects, talk, time busy."""
    if not campaign.settings.caller_pacing:
        return ""
    figures = store.caller_figures(campaign.id, campaign.settings.agents, limit=100)
    span_s = max(1.0, ((campaign.finished_at_ms or store.now_ms()) - campaign.created_at_ms) / 1000)
    rows = [
        [html.escape(mask_caller(c.number)), c.calls, c.connected, _share(c.connected, c.calls),
         f"{c.talk_s} s", f"{c.busy_ms / 1000 / c.calls:.0f} s" if c.calls else "–",
         f"{min(1.0, c.busy_ms / 1000 / span_s):.0%}"]
        for c in figures
    ]  # fmt: skip
    more = " (the 100 with most calls)" if len(figures) == 100 else ""
    return f"""<h2>Per caller</h2>
<p>Each caller is rung for one call at a time (plus {campaign.settings.wrap_up_s:g} s of
wrap-up){more}; numbers masked.</p>
<table id="callers"><tr><th>caller</th><th>calls</th><th>connected</th><th>connect rate</th>
<th>talk</th><th>average call</th><th>share of time in calls</th></tr>{
        _rows(rows, "no call placed yet", 7)
    }</table>"""


def write_report(store: CampaignStore, cid: str, path: Path) -> None:
    """Write the report whole or not at all (a temporary file beside `path`, renamed)."""
    page = render_html(store, cid)
    with replacing(path) as out:
        out.write(page.encode("utf-8"))
