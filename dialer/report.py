"""A single self-contained HTML report of a campaign: totals, failures explained, per-broker
table, a calls-per-minute timeline and a status breakdown, charts as inline SVG."""

from __future__ import annotations

import datetime as dt
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from dialer.engine import CampaignStore
from dialer.export import LOCAL_TZ
from dialer.phones import mask_number

# What the codes a results sheet can carry mean, in the vendor's words where it has them.
MEANINGS = {
    "Parameter.Blank": "A required parameter was empty (该参数不能为null或含有空白符的字符串).",
    "Parameter.Maximum": "A parameter exceeded its maximum.",
    "NotExists.InstanceId": "The CCC instance does not exist (指定的呼叫中心实例不存在).",
    "NotExists.Number": "The broker is not a number of the instance "
    "(呼叫中心实例中不存在指定的号码).",
    "InternalService.CTI": "CCC's telephony service failed internally (内部CTI服务错误); retried.",
    "Throttling.User": "CCC throttled the account; retried with backoff.",
    "Throttling": "CCC throttled the request; retried with backoff.",
    "SignatureDoesNotMatch": "The AccessKey secret is wrong: the campaign was paused.",
    "InvalidAccessKeyId.NotFound": "The AccessKey id is unknown: the campaign was paused.",
    "Forbidden.RAM": "The RAM user lacks permission: the campaign was paused.",
    "Client.ReadTimeout": "No answer in time after the request left: the call may have been "
    "placed, so it was not retried.",
    "Client.ConnectionLost": "The connection broke after the request left: outcome unknown.",
    "Client.TornResponse": "CCC's answer arrived incomplete: outcome unknown.",
    "Client.ConnectFailed": "CCC could not be reached; retried.",
    "Worker.Lost": "The worker stopped while the request may have been in flight: outcome unknown.",
    "Sheet.MissingValue": "The row lacked a caller, callee or broker.",
    "Sheet.InvalidNumber": "A phone number was not valid (scientific notation loses digits).",
    "Sheet.TagsTooLong": "Tags longer than 128 bytes UTF-8.",
    "Sheet.InvalidTimeout": "TimeoutSeconds was not a whole number from 1 to 600.",
    "Sheet.Duplicate": "The callee already appeared earlier in this campaign.",
    "Sheet.DoNotCall": "The callee is on the do-not-call list.",
}


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
class Summary:
    total: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_error: Counter[str] = field(default_factory=Counter)
    brokers: dict[str, BrokerStats] = field(default_factory=dict)
    per_bucket: Counter[int] = field(default_factory=Counter)  # 10-second buckets
    outcomes: Counter[str] = field(default_factory=Counter)
    unknown: list[tuple[int, str, str]] = field(default_factory=list)


def summarise(store: CampaignStore, cid: str) -> Summary:
    campaign = store.campaign(cid)
    summary = Summary()
    brokers: dict[str, BrokerStats] = {}
    for record, state, result in store.iter_rows(cid):
        status = state.split("|", 1)[0]
        summary.total += 1
        summary.by_status[status] += 1
        code = result.get("error_code")
        if code and status != "DISPATCHED":
            summary.by_error[code] += 1
        if status == "UNKNOWN" and len(summary.unknown) < MAX_UNKNOWN_LISTED:
            summary.unknown.append((int(record[0]), mask_number(str(record[2])), code or ""))
        broker = result.get("broker")
        if not broker or status == "REJECTED":
            continue
        stats = brokers.setdefault(broker, BrokerStats(campaign.settings.rate_for(broker)))
        if status == "DISPATCHED":
            stats.calls += 1
            at = int(result["dispatched_at"])
            stats.first_ms = min(stats.first_ms or at, at)
            stats.last_ms = max(stats.last_ms or at, at)
            summary.per_bucket[at // 10_000] += 1
            if result.get("outcome"):
                summary.outcomes[result["outcome"]] += 1
                stats.with_outcome += 1
                if result["outcome"] == "CONNECTED":
                    stats.connected += 1
                    stats.talk_s += int(result.get("talk_seconds") or 0)
        elif status in ("FAILED", "UNKNOWN"):
            stats.failures += 1
    summary.brokers = dict(sorted(brokers.items()))
    return summary


MAX_UNKNOWN_LISTED = 200


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def _svg(fig: object) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def _charts(summary: Summary) -> tuple[str, str]:
    import matplotlib
    import matplotlib.dates

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3))
    buckets = sorted(summary.per_bucket)
    # Short campaigns are drawn in 10-second steps, longer ones in whole minutes; the y axis
    # is calls per minute either way.
    step = 1 if not buckets or buckets[-1] - buckets[0] < 60 else 6
    if buckets:
        first, last = buckets[0] // step, buckets[-1] // step
        counts = Counter(b // step for b in summary.per_bucket.elements())
        times = [dt.datetime.fromtimestamp(k * step * 10, LOCAL_TZ) for k in range(first, last + 1)]
        ax.bar(matplotlib.dates.date2num(times),
               [counts.get(k, 0) * 6 / step for k in range(first, last + 1)],
               width=step * 10 / 86400 * 0.9, align="edge", color="#2b6cb0")  # fmt: skip
        ax.xaxis.set_major_formatter(matplotlib.dates.DateFormatter("%H:%M:%S", tz=LOCAL_TZ))
        ax.tick_params(axis="x", labelrotation=45)
    ax.set_title("Calls per minute" + (" (10-second steps)" if step == 1 else ""))
    ax.set_ylabel("calls / min")
    timeline = _svg(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3))
    statuses = summary.by_status.most_common()
    colours = {"DISPATCHED": "#38a169", "FAILED": "#e53e3e", "UNKNOWN": "#d69e2e",
               "REJECTED": "#718096", "CANCELLED": "#a0aec0"}  # fmt: skip
    ax.barh([s for s, _ in statuses], [n for _, n in statuses],
            color=[colours.get(s, "#4a5568") for s, _ in statuses])  # fmt: skip
    ax.invert_yaxis()
    ax.set_title("Rows by status")
    breakdown = _svg(fig)
    plt.close(fig)
    return timeline, breakdown


def render_html(store: CampaignStore, cid: str) -> str:
    campaign = store.campaign(cid)
    summary = summarise(store, cid)
    timeline, breakdown = _charts(summary)
    e = html.escape
    pct = (lambda n: f"{100 * n / summary.total:.1f}%") if summary.total else (lambda n: "-")
    status_rows = "".join(
        f"<tr><td>{e(s)}</td><td>{n}</td><td>{pct(n)}</td></tr>"
        for s, n in summary.by_status.most_common()
    )
    error_rows = (
        "".join(
            f"<tr><td><code>{e(code)}</code></td><td>{n}</td>"
            f"<td>{e(MEANINGS.get(code, ''))}</td></tr>"
            for code, n in summary.by_error.most_common()
        )
        or "<tr><td colspan=3>none</td></tr>"
    )
    broker_rows = "".join(
        f"<tr><td>{e(b)}</td><td>{s.calls}</td><td>{s.failures}</td>"
        f"<td>{s.achieved_per_s:.2f}</td><td>{s.limit_per_s:g}</td>"
        f"<td>{_share(s.connected, s.with_outcome)}</td>"
        f"<td>{s.talk_s // s.connected if s.connected else '-'}</td></tr>"
        for b, s in summary.brokers.items()
    )
    outcome_rows = (
        "".join(f"<tr><td>{e(o)}</td><td>{n}</td></tr>" for o, n in summary.outcomes.most_common())
        or "<tr><td colspan=2>no call records fetched (yet)</td></tr>"
    )
    unknown_rows = (
        "".join(
            f"<tr><td>{row}</td><td>{e(callee)}</td><td><code>{e(code)}</code></td></tr>"
            for row, callee, code in summary.unknown
        )
        or "<tr><td colspan=3>none</td></tr>"
    )
    connected = summary.outcomes.get("CONNECTED", 0)
    note = e(campaign.outcomes_note)
    created = dt.datetime.fromtimestamp(campaign.created_at_ms / 1000, LOCAL_TZ).strftime(
        "%Y-%m-%d %H:%M"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Campaign {e(campaign.settings.name)} — report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 960px; color: #1a202c }}
table {{ border-collapse: collapse; margin: .5em 0 1.5em }}
th, td {{ border: 1px solid #cbd5e0; padding: .3em .7em; text-align: left }}
th {{ background: #edf2f7 }}
.charts {{ display: flex; flex-wrap: wrap; gap: 1em }}
svg {{ max-width: 100%; height: auto }}
</style></head><body>
<h1>Campaign {e(campaign.settings.name)}</h1>
<p>Id <code>{e(cid)}</code> · file {e(campaign.file)} · created {created} ·
status <b>{e(campaign.status.value)}</b> · instance {e(campaign.settings.instance_id)}</p>
<h2>Totals</h2>
<table id="totals"><tr><th>status</th><th>rows</th><th>share</th></tr>{status_rows}
<tr><th>total</th><th>{summary.total}</th><th></th></tr></table>
<h2>Failures and rejections by code</h2>
<table id="failures"><tr><th>code</th><th>rows</th><th>meaning</th></tr>{error_rows}</table>
<h2>Call outcomes</h2>
<p>Connect rate {_share(connected, sum(summary.outcomes.values()))} of calls with a record.
{note}</p>
<table id="outcomes"><tr><th>outcome</th><th>calls</th></tr>{outcome_rows}</table>
<h2>Per broker</h2>
<table id="brokers"><tr><th>broker</th><th>calls</th><th>failures</th>
<th>achieved calls/s</th><th>limit calls/s</th><th>connect rate</th>
<th>avg talk s</th></tr>{broker_rows}</table>
<h2>Rows whose outcome is unknown</h2>
<p>The request may have reached CCC; these rows are never retried blindly.</p>
<table id="unknown"><tr><th>row</th><th>callee</th><th>code</th></tr>{unknown_rows}</table>
<h2>Charts</h2>
<div class="charts"><div id="timeline">{timeline}</div><div id="breakdown">{breakdown}</div></div>
</body></html>
"""


def write_report(store: CampaignStore, cid: str, path: Path) -> None:
    path.write_text(render_html(store, cid), encoding="utf-8")
