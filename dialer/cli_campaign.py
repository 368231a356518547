"""Campaign commands of the `dialer` CLI (upload, start, pause, status, export, ...)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dialer import cli_options as opt
from dialer.calendar import Calendar
from dialer.console import print_upload, watch
from dialer.engine import open_engine, open_store
from dialer.errors import DialerError
from dialer.export import check_export, check_output, export
from dialer.ingest import load_dnc
from dialer.models import CampaignSettings, CampaignStatus
from dialer.settings import Settings
from dialer.status import campaign_report, render
from dialer.upload import UploadReport, upload


def add_upload_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("sheet", type=Path, help="CSV or XLSX campaign sheet")
    p.add_argument("--name")
    p.add_argument("--instance-id")
    p.add_argument("--broker", action="append", default=[], type=opt.broker_number,
                   help="pool number (repeatable)")  # fmt: skip
    p.add_argument("--additional-broker", type=opt.broker_number)
    p.add_argument("--timeout-seconds", type=opt.timeout_seconds, default=30, help="1 to 600")
    p.add_argument("--rate", type=opt.rate, default=1.0,
                   help="per-broker limit: N/s, N/m or N/h, to 1000/s (default 1/s)")  # fmt: skip
    p.add_argument("--broker-rate", action="append", default=[], type=opt.broker_rate,
                   metavar="NUMBER=RATE", help="override")  # fmt: skip
    p.add_argument("--max-attempts", type=opt.attempts, default=3)
    p.add_argument(
        "--window", action="append", default=[], metavar="HH:MM-HH:MM", type=opt.window,
        help="calling window, repeatable (default 09:00-21:00, the carriers' rule)",
    )  # fmt: skip
    p.add_argument("--timezone", default="Asia/Shanghai", type=opt.timezone,
                   help="zone of the windows and caps")  # fmt: skip
    p.add_argument("--callee-daily-cap", type=opt.cap, default=3, help="0 = off")
    p.add_argument("--callee-monthly-cap", type=opt.cap, default=5, help="0 = off")
    p.add_argument("--broker-daily-cap", type=opt.cap, default=0, help="0 = off")
    p.add_argument("--no-outcomes", action="store_true",
                   help="do not fetch call records (for keys without CDR permission)")  # fmt: skip
    p.add_argument("--pair-guard-s", type=opt.pair_guard_s, default=60.0,
                   help="no repeat of a caller+callee pair within this many seconds")  # fmt: skip
    p.add_argument("--dnc", help="do-not-call file, one number a line")
    p.add_argument("--sheet", dest="sheet_name", help="XLSX sheet name (default: the first)")
    p.add_argument("--json", action="store_true")


def settings_from_args(args: argparse.Namespace, settings: Settings) -> CampaignSettings:
    """The campaign's settings; every option value was checked as it was parsed."""
    instance = args.instance_id or settings.instance_id
    if not instance:
        raise DialerError("no CCC instance: pass --instance-id or set CCC_INSTANCE_ID")
    windows = tuple(args.window) or CampaignSettings.windows
    Calendar.of(windows, args.timezone)  # refuse a bad window or zone before storing anything
    return CampaignSettings(
        name=args.name or args.sheet.stem,
        instance_id=instance,
        pool=tuple(dict.fromkeys(args.broker)),
        additional_broker=args.additional_broker,
        timeout_seconds=args.timeout_seconds,
        rate_per_s=args.rate,
        broker_rates=dict(args.broker_rate),
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


def cmd_control(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
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


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    if args.watch:
        watch(engine, args.id)
        return 0
    report = campaign_report(engine, args.id)
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else render(report))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    check_export(args.output, args.encoding)  # option mistakes before Redis is asked
    try:
        n = export(open_store(settings), args.id, args.output, masked=args.masked,
                   encoding=args.encoding)  # fmt: skip
    except OSError as exc:
        print(f"dialer: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{n} rows written to {args.output}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    campaign = settings_from_args(args, settings)
    if args.export:
        check_export(args.export, None)  # not after the whole campaign has run
    cid, report = do_upload(args, settings)
    print_upload(report, campaign, as_json=False)
    engine = open_engine(settings)
    engine.start(cid)
    if args.workers:
        from tasks.embedded import in_process_workers

        with in_process_workers(settings, args.workers):
            final = watch(engine, cid)
    else:
        final = watch(engine, cid)
    if args.export:
        n = export(engine.store, cid, args.export)
        print(f"{n} rows written to {args.export}")
    return 0 if final.status is CampaignStatus.DONE else 1


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.report import REPORT_SUFFIXES, write_report

    check_output(args.output, REPORT_SUFFIXES, "the report")
    try:
        write_report(open_store(settings), args.id, args.output)
    except OSError as exc:
        print(f"dialer: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"report written to {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.demo import run_demo
    from tasks.embedded import in_process_workers

    return run_demo(in_process_workers, args.output, args.sheet, args.rate)


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
    p.add_argument("--encoding", help="CSV encoding: utf-8 (with BOM, the default), gbk or gb18030")
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("report", help="write a self-contained HTML report")
    p.add_argument("id")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("demo", help="run a sample campaign on a private Redis and simulator")
    p.add_argument("--output", type=Path, default=Path("demo-output"))
    p.add_argument("--sheet", type=Path, help="campaign sheet (default: campaigns/sample.csv)")
    p.add_argument("--rate", default="2/s", type=opt.rate_text, help="per-broker rate (4 brokers)")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("run", help="upload, start, watch until done, export")
    add_upload_options(p)
    p.add_argument("--export", type=Path)
    p.add_argument(
        "--workers", type=opt.workers, default=16,
        help="threads of an in-process worker (0: rely on workers already running)",
    )  # fmt: skip
    p.set_defaults(handler=cmd_run)
