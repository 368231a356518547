"""What the terminal shows while a campaign is uploaded and dialled (the CLI and the demo)."""

from __future__ import annotations

import json
import sys
import time
from collections import deque
from typing import TextIO

from dialer import times
from dialer.campaign.activity import Activity
from dialer.campaign.status import StatusView, eta_text, status_view
from dialer.engine import PAUSED_BY_USER, Engine
from dialer.models import CampaignSettings, CampaignStatus, format_rate
from dialer.sheets.upload import UploadTally

WATCH_PAUSED_BY_ERROR = 1
WATCH_CANCELLED = 3


def print_upload(
    report: UploadTally,
    campaign: CampaignSettings,
    as_json: bool,
    *,
    webhook_secret: str | None = None,
) -> None:
    """What was stored; a webhook secret made at upload is shown here, once."""
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
                    "brokers": {
                        b: {"rows": report.per_broker[b], "rate_per_s": r} for b, r in rates.items()
                    },
                    **({"webhook_secret": webhook_secret} if webhook_secret else {}),
                },
                ensure_ascii=False,
            )
        )
        return
    print(
        f"rows: {report.total}  accepted: {report.accepted}  "
        f"rejected: {sum(report.rejected.values())}"
    )
    for code, n in report.rejected.most_common():
        print(f"  {code}: {n}")
        for example in report.examples.get(code, []):
            print(f"    {example}")
    for broker, rate in rates.items():
        print(f"broker {broker}: {report.per_broker[broker]} rows at {format_rate(rate)}")
    if webhook_secret:
        print(f"webhook secret (shown once; receivers verify with it): {webhook_secret}")
    print(report.campaign_id)


def _progress_line(report: StatusView, rate_per_s: float | None) -> str:
    width = 30
    done = report.done_rows
    filled = int(width * done / report.total) if report.total else width
    counts = " ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {done}/{report.total} "
        f"{report.status.value} {_doing(report, rate_per_s)} | {counts}"
    )


def _doing(report: StatusView, rate_per_s: float | None) -> str:
    """The rate and ETA while it dials; otherwise why not, and until when."""
    if report.activity is Activity.DIALLING:
        eta = f" ETA {eta_text(report)}" if report.eta_s else ""
        return f"{rate_per_s or 0.0:.1f} calls/s{eta}"
    if report.activity is Activity.OUTSIDE_HOURS and report.resumes_at_ms:
        return f"outside calling hours until {times.shown(report.resumes_at_ms, report.timezone)}"
    return report.reason


class RateMeter:
    """Calls placed per second over the last few seconds of watching (a campaign's average
    since its first call would count the nights and pauses in between)."""

    def __init__(self, span_s: float = 10.0) -> None:
        self.span_s = span_s
        self.samples: deque[tuple[float, int]] = deque()

    def rate(self, report: StatusView, now: float) -> float | None:
        if report.activity is not Activity.DIALLING:
            self.samples.clear()
            return None
        self.samples.append((now, sum(b.dispatched for b in report.brokers)))
        while len(self.samples) > 2 and now - self.samples[1][0] >= self.span_s:
            self.samples.popleft()
        (t0, n0), (t1, n1) = self.samples[0], self.samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 - t0 >= 1.0 else report.rate_per_s


def watch(
    engine: Engine,
    cid: str,
    *,
    interval_s: float = 0.5,
    stream: TextIO | None = None,
    until_done: bool = True,
) -> StatusView:
    """Show a live progress line (on stdout by default) until the campaign is DONE or
    CANCELLED (or PAUSED by a fatal error: the operator must act); `ending` says what its end
    means."""
    # sys.stdout as it is now, not at import: a caller may have redirected it.
    stream = stream or sys.stdout
    last_len = 0
    meter = RateMeter()
    while True:
        report = status_view(engine, cid)
        line = _progress_line(report, meter.rate(report, time.monotonic()))
        stream.write("\r" + line + " " * max(0, last_len - len(line)))
        stream.flush()
        last_len = len(line)
        if ending(report) is not None or not until_done:
            stream.write("\n")
            return report
        time.sleep(interval_s)


def ending(report: StatusView) -> tuple[int, str] | None:
    """(exit status, what happened) once a watched campaign has ended, None while it goes on:
    0 DONE, 1 paused by an error (someone must act), 3 cancelled."""
    if report.status is CampaignStatus.DONE:
        return 0, ""
    if report.status is CampaignStatus.CANCELLED:
        return WATCH_CANCELLED, f"campaign {report.id} was cancelled"
    if report.status is CampaignStatus.PAUSED and report.pause_reason != PAUSED_BY_USER:
        return WATCH_PAUSED_BY_ERROR, (
            f"campaign {report.id} paused by an error: {report.pause_reason} "
            f"(fix it, then dialer resume {report.id})"
        )
    return None


def exit_status(final: StatusView) -> int:
    """What `watch`'s last report means as an exit status; why, on stderr, unless DONE."""
    status, why = ending(final) or (1, f"campaign {final.id} stopped: {final.status.value}")
    if why:
        print(f"dialer: {why}", file=sys.stderr)
    return status
