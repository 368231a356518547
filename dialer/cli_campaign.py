"""Campaign commands of the `dialer` CLI (upload, start, pause, status, export, ...)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from dialer.errors import DialerError
from dialer.ingest import load_dnc
from dialer.models import CampaignSettings, format_rate, parse_rate
from dialer.runtime import open_store
from dialer.settings import Settings
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
    return CampaignSettings(
        name=args.name or args.sheet.stem,
        instance_id=instance,
        pool=tuple(dict.fromkeys(args.broker)),
        additional_broker=args.additional_broker,
        timeout_seconds=args.timeout_seconds,
        rate_per_s=parse_rate(args.rate),
        broker_rates=broker_rates,
        max_attempts=args.max_attempts,
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
