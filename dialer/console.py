"""What the terminal shows while a campaign is uploaded and dialled (the CLI and the demo)."""

from __future__ import annotations

import json
import sys
import time
from typing import TextIO

from dialer.engine import PAUSED_BY_USER, Engine
from dialer.models import CampaignSettings, CampaignStatus, format_rate
from dialer.status import CampaignReport, campaign_report, format_duration, not_dialling
from dialer.upload import UploadReport


def print_upload(report: UploadReport, campaign: CampaignSettings, as_json: bool) -> None:
    rates = {b: campaign.rate_for(b) for b in sorted(report.per_broker)}
    if as_json:
        print(
            json.dumps(
                {
                    "id": report.campaign_id,
                    "total": report.total,
                    "accepted": report.accepted,
                    "rejected": sum(report.rejected.values()),
                    "rejected_by_reason": dict(report.rejected),
                    "brokers": {b: {"rows": report.per_broker[b], "rate_per_s": r}
                                for b, r in rates.items()},
                },
                ensure_ascii=False,
            )
        )  # fmt: skip
        return
    print(f"rows: {report.total}  accepted: {report.accepted}  "
          f"rejected: {sum(report.rejected.values())}")  # fmt: skip
    for code, n in report.rejected.most_common():
        print(f"  {code}: {n}")
        for example in report.examples.get(code, []):
            print(f"    {example}")
    for broker, rate in rates.items():
        print(f"broker {broker}: {report.per_broker[broker]} rows at {format_rate(rate)}")
    print(report.campaign_id)


def _progress_line(report: CampaignReport) -> str:
    width = 30
    done = report.done_rows
    filled = int(width * done / report.total) if report.total else width
    rate = sum(b.achieved_per_s for b in report.brokers)
    eta = f" ETA ≈ {format_duration(report.eta_s)}" if report.eta_s else ""
    counts = " ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
    # Not dialling: say why instead of a rate and a time left as if calls were going out.
    doing = not_dialling(report) or f"{rate:.1f} calls/s{eta}"
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {done}/{report.total} "
        f"{report.status.value} {doing} | {counts}"
    )


def watch(engine: Engine, cid: str, *, interval_s: float = 0.5,
          stream: TextIO = sys.stdout, until_done: bool = True) -> CampaignReport:  # fmt: skip
    """Show a live progress line until the campaign is DONE or CANCELLED (or PAUSED by a
    fatal error: the operator must act)."""
    last_len = 0
    while True:
        report = campaign_report(engine, cid)
        line = _progress_line(report)
        stream.write("\r" + line + " " * max(0, last_len - len(line)))
        stream.flush()
        last_len = len(line)
        stopped = report.status in (CampaignStatus.DONE, CampaignStatus.CANCELLED)
        fatal = report.status is CampaignStatus.PAUSED and report.pause_reason != PAUSED_BY_USER
        if stopped or fatal or not until_done:
            stream.write("\n")
            if fatal:
                stream.write(f"campaign paused: {report.pause_reason}\n")
            return report
        time.sleep(interval_s)
