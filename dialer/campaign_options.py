"""The options `dialer upload` (and `run`, and the web console's upload form) take, and the
CampaignSettings they make: one definition, so every way in validates alike."""

from __future__ import annotations

import argparse
from pathlib import Path

from dialer.calendar import Calendar
from dialer.errors import DialerError
from dialer.models import CampaignSettings, parse_rate
from dialer.settings import Settings


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
