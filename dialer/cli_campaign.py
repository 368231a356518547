"""Campaign commands of the `dialer` CLI (upload, start, pause, status, export, ...)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from dialer.calendar import Calendar
from dialer.engine import PAUSED_BY_USER, Engine
from dialer.errors import DialerError
from dialer.export import export
from dialer.ingest import load_dnc
from dialer.models import CampaignSettings, CampaignStatus, format_rate, parse_rate
from dialer.runtime import open_store
from dialer.settings import Settings
from dialer.status import CampaignReport, campaign_report, render
from dialer.upload import UploadReport, upload


def add_upload_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("sheet", type=Path, help="CSV or XLSX campaign sheet")
    p.add_argument("--name")
    p.add_argument("--instance-id")
    p.add_argument("--broker", action="append", default=[], help="pool number (repeatable)")
    p.add_argument("--additional-broker")
    p.add_argument("--timeout-seconds", type=int, default=30)
    p.add_argument("--rate", default="1/s", help="per-broker limit, N/s or N/m (default 1/s)")
    p.add_argument(
        "--broker-rate", action="append", default=[], metavar="NUMBER=RATE", help="override"
    )
    p.add_argument("--max-attempts", type=int, default=3)
    p.add_argument(
        "--window", action="append", default=[], metavar="HH:MM-HH:MM",
        help="calling window, repeatable (default 09:00-21:00, the carriers' rule)",
    )  # fmt: skip
    p.add_argument("--timezone", default="Asia/Shanghai", help="zone of the windows and caps")
    p.add_argument("--callee-daily-cap", type=int, default=3, help="0 = off")
    p.add_argument("--callee-monthly-cap", type=int, default=5, help="0 = off")
    p.add_argument("--broker-daily-cap", type=int, default=0, help="0 = off")
    p.add_argument("--no-outcomes", action="store_true",
                   help="do not fetch call records (for keys without CDR permission)")  # fmt: skip
    p.add_argument("--pair-guard-s", type=float, default=60.0,
                   help="no repeat of a caller+callee pair within this many seconds")  # fmt: skip
    p.add_argument("--dnc", help="do-not-call file, one number a line")
    p.add_argument("--sheet", dest="sheet_name", help="XLSX sheet name (default: the first)")
    p.add_argument("--json", action="store_true")


def settings_from_args(args: argparse.Namespace, settings: Settings) -> CampaignSettings:
    instance = args.instance_id or settings.instance_id
    if not instance:
        raise DialerError("no CCC instance: pass --instance-id or set CCC_INSTANCE_ID")
    if args.timeout_seconds < 1:
        raise DialerError("--timeout-seconds must be at least 1")
    if args.max_attempts < 1:
        raise DialerError("--max-attempts must be at least 1")
    broker_rates: dict[str, float] = {}
    for item in args.broker_rate:
        number, sep, rate = item.partition("=")
        if not sep:
            raise DialerError(f"--broker-rate takes NUMBER=RATE, not {item!r}")
        broker_rates[number.strip()] = parse_rate(rate)
    windows = tuple(args.window) or CampaignSettings.windows
    Calendar.of(windows, args.timezone)  # refuse a bad window or zone before storing anything
    return CampaignSettings(
        name=args.name or args.sheet.stem,
        instance_id=instance,
        pool=tuple(dict.fromkeys(args.broker)),
        additional_broker=args.additional_broker,
        timeout_seconds=args.timeout_seconds,
        rate_per_s=parse_rate(args.rate),
        broker_rates=broker_rates,
        max_attempts=args.max_attempts,
        windows=windows,
        timezone=args.timezone,
        callee_daily_cap=args.callee_daily_cap,
        callee_monthly_cap=args.callee_monthly_cap,
        broker_daily_cap=args.broker_daily_cap,
        pair_guard_s=args.pair_guard_s,
        outcomes=not args.no_outcomes,
    )


def do_upload(args: argparse.Namespace, settings: Settings) -> tuple[str, UploadReport]:
    campaign = settings_from_args(args, settings)
    dnc = load_dnc(args.dnc) if args.dnc else frozenset()
    store = open_store(settings)
    report = upload(store, args.sheet, campaign, dnc=dnc, sheet_name=args.sheet_name)
    return report.campaign_id, report


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


def cmd_upload(args: argparse.Namespace, settings: Settings) -> int:
    campaign = settings_from_args(args, settings)
    _, report = do_upload(args, settings)
    print_upload(report, campaign, args.json)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the campaign subcommands to the `dialer` parser."""
    p = sub.add_parser("upload", help="validate and store a campaign sheet")
    add_upload_options(p)
    p.set_defaults(handler=cmd_upload)
    register_engine(sub)


def _engine(settings: Settings) -> Engine:
    return Engine(open_store(settings), settings.timing())


def cmd_control(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    if args.command == "start":
        engine.start(args.id)
    elif args.command == "pause":
        engine.pause(args.id)
    elif args.command == "resume":
        engine.resume(args.id)
    else:
        cancelled = engine.cancel(args.id)
        print(f"{cancelled} waiting rows cancelled")
    print(f"campaign {args.id}: {engine.store.campaign(args.id).status.value}")
    return 0


def _progress_line(report: CampaignReport) -> str:
    width = 30
    done = report.done_rows
    filled = int(width * done / report.total) if report.total else width
    rate = sum(b.achieved_per_s for b in report.brokers)
    eta = f" ETA {int(report.eta_s)}s" if report.eta_s else ""
    counts = " ".join(f"{k} {v}" for k, v in sorted(report.counts.items()))
    return (
        f"[{'#' * filled}{'.' * (width - filled)}] {done}/{report.total} "
        f"{report.status.value} {rate:.1f} calls/s{eta} | {counts}"
    )


def watch(engine: Engine, cid: str, settings: Settings, *, interval_s: float = 0.5,
          stream: TextIO = sys.stdout, until_done: bool = True) -> CampaignReport:  # fmt: skip
    """Show a live progress line until the campaign is DONE or CANCELLED (or PAUSED by a
    fatal error: the operator must act)."""
    last_len = 0
    while True:
        report = campaign_report(engine, cid, settings.max_qps)
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


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    if args.watch:
        watch(engine, args.id, settings)
        return 0
    report = campaign_report(engine, args.id, settings.max_qps)
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else render(report))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    n = export(store, args.id, args.output, masked=args.masked, encoding=args.encoding)
    print(f"{n} rows written to {args.output}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    campaign = settings_from_args(args, settings)
    cid, report = do_upload(args, settings)
    print_upload(report, campaign, as_json=False)
    engine = _engine(settings)
    engine.start(cid)
    if args.workers:
        from tasks.embedded import in_process_workers

        with in_process_workers(args.workers):
            final = watch(engine, cid, settings)
    else:
        final = watch(engine, cid, settings)
    if args.export:
        n = export(engine.store, cid, args.export)
        print(f"{n} rows written to {args.export}")
    return 0 if final.status is CampaignStatus.DONE else 1


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.report import write_report

    write_report(open_store(settings), args.id, args.output)
    print(f"report written to {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.demo import run_demo

    return run_demo(args.output, args.sheet, args.rate, web=args.web)


def register_engine(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    for name, text in (
        ("start", "start dialing an uploaded campaign"),
        ("pause", "stop dialing within a second; queued rows wait"),
        ("resume", "continue a paused campaign"),
        ("cancel", "stop for good; every waiting row becomes CANCELLED"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("id")
        p.set_defaults(handler=cmd_control)

    p = sub.add_parser("status", help="counts by state, calls/s per broker, ETA")
    p.add_argument("id")
    p.add_argument("--watch", action="store_true", help="live progress bar until done")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("export", help="write the results sheet (.csv or .xlsx)")
    p.add_argument("id")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--masked", action="store_true", help="mask phone numbers (1391814****)")
    p.add_argument("--encoding", default="utf-8", help="CSV encoding: utf-8 (with BOM) or gbk")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("report", help="write a self-contained HTML report")
    p.add_argument("id")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("demo", help="run a sample campaign on a private Redis and simulator")
    p.add_argument("--output", type=Path, default=Path("demo-output"))
    p.add_argument("--sheet", type=Path, help="campaign sheet (default: campaigns/sample.csv)")
    p.add_argument("--rate", default="2/s", help="per-broker rate (4 brokers)")
    p.add_argument("--web", action="store_true", help="open the web console on the demo "
                   "campaign; it stays open until Ctrl-C")  # fmt: skip
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("run", help="upload, start, watch until done, export")
    add_upload_options(p)
    p.add_argument("--export", type=Path)
    p.add_argument(
        "--workers", type=int, default=16,
        help="threads of an in-process worker (0: rely on workers already running)",
    )  # fmt: skip
    p.set_defaults(handler=cmd_run)
