"""The options `dialer upload` (and `run`, and the web console's upload form) take, and the
CampaignSettings they make: one definition, so every way in validates alike."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from dialer.calendar import Calendar
from dialer.errors import DialerError
from dialer.models import CampaignSettings
from dialer.options import values as opt
from dialer.phones import is_phone, mask_number
from dialer.settings import Settings
from dialer.sheets.validate import load_dnc


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
    p.add_argument("--reconcile-horizon", type=opt.horizon, default=6 * 3600.0, metavar="TIME",
                   help="how long after a call its record is looked for (default 6h); an "
                   "UNKNOWN row not found by then stays UNKNOWN, with the reason")  # fmt: skip
    p.add_argument("--caller", action="append", default=[], type=opt.phone_number,
                   dest="agents", help="an agent of the pool (repeatable): rows without a "
                   "caller go to the agent free longest")  # fmt: skip
    p.add_argument("--callers", help="file of agents' numbers, one a line (like --dnc)")
    p.add_argument("--caller-concurrency", type=opt.int_in(1, 100), default=1,
                   help="calls one caller may be in at once (default 1)")  # fmt: skip
    p.add_argument("--wrap-up-s", type=opt.float_in(0, 3600, unit=" s"), default=10.0,
                   help="a caller rests this long after a call ends (default 10)")  # fmt: skip
    p.add_argument("--caller-max-hold-s", type=opt.float_in(60, 86400, unit=" s"),
                   default=900.0, help="a call whose record never comes frees its caller "
                   "after this long (default 900)")  # fmt: skip
    p.add_argument(
        "--no-caller-pacing",
        action="store_true",
        help="pace by broker numbers only (callers may be rung mid-call)",
    )
    p.add_argument("--recycle", action="append", default=[], type=opt.recycle,
                   metavar="OUTCOME=DELAY[,DELAY…]", help="try the customer again after this "
                   f"outcome ({', '.join(opt.RECYCLABLE)}), DELAY after the call ended "
                   "(30s, 20m, 2h; the last delay repeats); repeatable")  # fmt: skip
    p.add_argument("--max-contacts", type=opt.int_in(1, opt.MAX_CONTACTS), default=None,
                   help="calls that ring the customer, the first included (default 3 with "
                   "--recycle, else 1)")  # fmt: skip
    p.add_argument("--max-agent-misses", type=opt.int_in(1, 100), default=3,
                   help="a row whose agent's phone rang out this many times ends (default 3); "
                   "a missed agent leg never counts as a contact")  # fmt: skip
    p.add_argument("--agent-miss-wait-s", type=opt.float_in(0, 3600, unit=" s"), default=30.0,
                   help="after an agent's phone rang out, that agent rests this long, and a "
                   "row naming them waits for them this long (default 30)")  # fmt: skip
    p.add_argument("--start-at", type=opt.local_datetime, metavar="'YYYY-MM-DD HH:MM'",
                   help="in the campaign's --timezone: nothing is dialled before; an uploaded "
                   "campaign starts by itself then")  # fmt: skip
    p.add_argument("--end-at", type=opt.local_datetime, metavar="'YYYY-MM-DD HH:MM'",
                   help="in the campaign's --timezone: no call begins after; calls in progress "
                   "finish and rows still waiting end with Schedule.Ended")  # fmt: skip
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
    start_at, end_at = (_epoch_ms(t, args.timezone) for t in (args.start_at, args.end_at))
    if start_at and end_at and end_at <= start_at:
        raise DialerError("--end-at must be after --start-at")
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
        reconcile_horizon_s=args.reconcile_horizon,
        agents=tuple(dict.fromkeys([*args.agents, *_agents_file(args.callers)])),
        caller_concurrency=args.caller_concurrency,
        wrap_up_s=args.wrap_up_s,
        caller_max_hold_s=args.caller_max_hold_s,
        caller_pacing=not args.no_caller_pacing,
        max_agent_misses=args.max_agent_misses,
        agent_miss_wait_s=args.agent_miss_wait_s,
        recycle=dict(args.recycle),
        max_contacts=args.max_contacts or 0,
        start_at_ms=start_at,
        end_at_ms=end_at,
    )


def _epoch_ms(when: dt.datetime | None, timezone: str) -> int:
    """A --start-at/--end-at time (wall clock in the campaign's zone unless it names its
    offset) as epoch ms; 0 for none."""
    if when is None:
        return 0
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return int(when.timestamp() * 1000)


def _agents_file(path: str | None) -> list[str]:
    """Agents' numbers from --callers: read like a do-not-call file; each must be a phone."""
    if not path:
        return []
    numbers = sorted(load_dnc(path))
    bad = [n for n in numbers if not is_phone(n)]
    if bad:
        raise DialerError(f"--callers {path}: {mask_number(bad[0])} is not a phone number")
    return numbers
