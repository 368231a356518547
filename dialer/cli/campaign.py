"""Campaign commands of the `dialer` CLI (upload, start, pause, status, export, ...)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from dialer.campaign.redial import REDIALABLE, redial, select_rows
from dialer.campaign.status import render, status_view
from dialer.cli import manage
from dialer.cli.progress import exit_status, print_upload, watch
from dialer.cli.trail import audited
from dialer.engine import open_engine, open_store
from dialer.i18n.catalogue import DEFAULT, LOCALES
from dialer.models import CampaignStatus, RowState
from dialer.options import values as opt
from dialer.options.upload import add_upload_options, settings_from_args, webhooks_from_args
from dialer.results.calls import export_calls
from dialer.results.export import check_export, check_output, export
from dialer.settings import Settings
from dialer.sheets.append import append
from dialer.sheets.upload import UploadTally, upload
from dialer.sheets.validate import load_dnc


def do_upload(args: argparse.Namespace, settings: Settings) -> tuple[str, UploadTally, str | None]:
    """(campaign id, what was stored, the webhook secret made for it if one was)."""
    campaign = settings_from_args(args, settings)
    endpoints, new_secret = webhooks_from_args(args)
    dnc = load_dnc(args.dnc) if args.dnc else frozenset()
    store = open_store(settings)
    with audited(settings, "upload", file=str(args.sheet_path), name=campaign.name) as note:
        report = upload(
            store, args.sheet_path, campaign, dnc=dnc, sheet_name=args.sheet, webhooks=endpoints
        )
        note.update(
            target=report.campaign_id,
            total=report.total,
            accepted=report.accepted,
            rejected=sum(report.rejected.values()),
        )
    return report.campaign_id, report, new_secret


def cmd_upload(args: argparse.Namespace, settings: Settings) -> int:
    campaign = settings_from_args(args, settings)
    cid, report, secret = do_upload(args, settings)
    if campaign.start_at_ms:
        # It starts by itself: dialling waits for --start-at (the feeder sleeps it until then).
        with audited(settings, "start", cid):
            open_engine(settings).start(cid)
    print_upload(report, campaign, args.json, webhook_secret=secret)
    return 0


def cmd_append(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    dnc = load_dnc(args.dnc) if args.dnc else frozenset()
    with audited(settings, "append", args.id, file=str(args.sheet_path)) as note:
        report = append(engine, args.id, args.sheet_path, dnc=dnc, sheet_name=args.sheet)
        note.update(
            total=report.total, accepted=report.accepted, rejected=sum(report.rejected.values())
        )
    print_upload(report, engine.store.campaign(args.id).settings, args.json)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add the campaign subcommands to the `dialer` parser."""
    p = sub.add_parser("upload", help="validate and store a campaign sheet")
    add_upload_options(p)
    p.set_defaults(handler=cmd_upload)
    p = sub.add_parser("append", help="add a sheet's rows to a campaign (a DONE one runs again)")
    p.add_argument("id")
    p.add_argument("sheet_path", metavar="sheet", type=Path, help="CSV or XLSX, as for upload")
    p.add_argument("--dnc", help="do-not-call file, one number a line")
    p.add_argument("--sheet", help="XLSX sheet name (default: the first)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_append)
    register_engine(sub)
    manage.register(sub)


def cmd_control(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    with audited(settings, args.command, args.id) as note:
        if args.command == "start":
            engine.start(args.id)
        elif args.command == "pause":
            engine.pause(args.id)
        elif args.command == "resume":
            engine.resume(args.id)
        else:
            note["cancelled"] = engine.cancel(args.id)
            print(f"{note['cancelled']} waiting rows cancelled")
    print(f"campaign {args.id}: {engine.store.campaign(args.id).status.value}")
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    if args.watch:
        return exit_status(watch(engine, args.id))
    report = status_view(engine, args.id)
    print(json.dumps(report.as_dict(), ensure_ascii=False) if args.json else render(report))
    return 0


def cmd_redial(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    state = RowState(args.state)
    selection = select_rows(engine, args.id, state, args.code)
    which = f"{state} rows" + (f" (code {' or '.join(args.code)})" if args.code else "")
    n = len(selection.rows)
    if not n:
        print(f"campaign {args.id}: no {which}; nothing to dial again")
        return 0
    print(
        f"campaign {args.id}: {n} {which} to dial again as fresh attempts, paced and capped "
        "like any call:"
    )
    for reason, count in selection.reasons.most_common():
        print(f"  {count:>7}  {reason}")
    if state is RowState.UNKNOWN:
        print(
            "  (an UNKNOWN row's earlier call may have been placed: its callee may be called twice)"
        )
    if not args.yes and not _confirm(f"dial these {n} rows again? [y/N] "):
        print("nothing changed")
        return 1
    with audited(settings, "redial", args.id, rows=state.value, codes=args.code) as note:
        moved, status = redial(engine, args.id, selection)
        note.update(moved=moved, status=status.value)
    print(f"{moved} rows put back; campaign {args.id}: {status.value}")
    if status is CampaignStatus.PAUSED:
        print(f"  the campaign is paused: `dialer resume {args.id}` dials them")
    return 0


def _confirm(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        print()
        return False


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    check_export(args.output, args.encoding)  # option mistakes before Redis is asked
    write = export_calls if args.calls else export
    try:
        with audited(settings, "export", args.id, masked=args.masked, calls=args.calls) as note:
            note["rows"] = write(
                open_store(settings),
                args.id,
                args.output,
                masked=args.masked,
                encoding=args.encoding,
            )
        n = note["rows"]
    except OSError as exc:
        print(f"dialer: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"{n} {'calls' if args.calls else 'rows'} written to {args.output}")
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    campaign = settings_from_args(args, settings)
    if args.export:
        check_export(args.export, None)  # not after the whole campaign has run
    cid, report, secret = do_upload(args, settings)
    print_upload(report, campaign, as_json=False, webhook_secret=secret)
    engine = open_engine(settings)
    with audited(settings, "start", cid):
        engine.start(cid)
    if args.workers:
        from tasks.embedded import in_process_workers

        with in_process_workers(settings, args.workers):
            final = watch(engine, cid)
    else:
        final = watch(engine, cid)
    if args.export:
        with audited(settings, "export", cid, masked=False) as note:
            n = note["rows"] = export(engine.store, cid, args.export)
        print(f"{n} rows written to {args.export}")
    return exit_status(final)


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.results.report import REPORT_SUFFIXES, write_report

    check_output(args.output, REPORT_SUFFIXES, "the report")
    try:
        with audited(settings, "report", args.id, lang=args.lang):
            write_report(open_store(settings), args.id, args.output, args.lang)
    except OSError as exc:
        print(f"dialer: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"report written to {args.output}")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from dialer.cli.demo import run_demo
    from tasks.embedded import in_process_workers

    return run_demo(in_process_workers, args.output, args.sheet, args.rate, web=args.web)


def register_engine(sub: argparse._SubParsersAction) -> None:
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
    p.add_argument(
        "--watch",
        action="store_true",
        help="live progress bar until it ends; exit "
        "status 0 DONE, 1 paused by an error, 3 cancelled",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser("redial", help="dial UNKNOWN or FAILED rows again, as fresh attempts")
    p.add_argument("id")
    p.add_argument(
        "--state",
        "--status",
        dest="state",
        required=True,
        type=str.upper,
        help="which rows: UNKNOWN or FAILED",
        choices=[s.value for s in REDIALABLE],
    )
    p.add_argument(
        "--code",
        action="append",
        default=[],
        metavar="C",
        help="only rows with this error or reconcile code (repeatable)",
    )
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.set_defaults(handler=cmd_redial)

    p = sub.add_parser("export", help="write the results sheet (.csv or .xlsx)")
    p.add_argument("id")
    p.add_argument("-o", "--output", type=Path, required=True)
    p.add_argument("--masked", action="store_true", help="mask phone numbers (1391814****)")
    p.add_argument("--encoding", help="CSV encoding: utf-8 (with BOM, the default), gbk or gb18030")
    p.add_argument(
        "--calls",
        action="store_true",
        help="the call log instead: one line per call placed (agent, callee, "
        "broker, JobId, times, outcome, talk)",
    )
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("report", help="write a self-contained HTML report")
    p.add_argument("id")
    p.add_argument("-o", "--output", type=Path, required=True)
    # English unless asked: the same command writes the same file whoever's shell runs it.
    p.add_argument(
        "--lang",
        choices=LOCALES,
        default=DEFAULT,
        help="zh_CN (Simplified Chinese) or en (the default)",
    )
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("demo", help="run a sample campaign on a private Redis and simulator")
    p.add_argument("--output", type=Path, default=Path("demo-output"))
    p.add_argument(
        "--web",
        action="store_true",
        help="open the web console on the demo campaign; it stays open until Ctrl-C",
    )
    p.add_argument(
        "--sheet", type=Path, help="campaign sheet (default: the sample campaigns/sample-pool.csv)"
    )
    p.add_argument("--rate", default="2/s", type=opt.rate_text, help="per-broker rate (4 brokers)")
    p.set_defaults(handler=cmd_demo)

    p = sub.add_parser("run", help="upload, start, watch until done, export")
    add_upload_options(p)
    p.add_argument("--export", type=Path)
    p.add_argument(
        "--workers",
        type=opt.workers,
        default=16,
        help="threads of an in-process worker (0: rely on workers already running)",
    )
    p.set_defaults(handler=cmd_run)
