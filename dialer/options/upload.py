"""The options `dialer upload` (and `run`, and the console's and API's upload fields) take,
and the CampaignSettings they make: one table (UPLOAD_OPTIONS) from which the CLI's argparse
and the API's fields and OpenAPI description are built, so every way in validates alike."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dialer.calendar import Calendar
from dialer.errors import DialerError, OptionError
from dialer.models import CampaignSettings
from dialer.options import values as opt
from dialer.phones import is_phone, mask_number
from dialer.settings import Settings
from dialer.sheets.validate import load_dnc


@dataclass(frozen=True)
class Option:
    """One option of an upload, as `dialer upload --flag` and as the console's and API's field
    `name`: the same value check (`parse`) and the same default for both."""

    name: str  # the form/JSON field, and the argparse dest
    flag: str
    help: str = ""
    parse: Callable[[str], Any] = str
    default: Any = None
    repeatable: bool = False
    switch: bool = False  # a flag without a value (store_true)
    metavar: str | None = None
    web: bool = True  # False: a local file's path, which a remote client cannot name

    @property
    def json_type(self) -> str:
        """The field's type in the API's OpenAPI document."""
        if self.switch:
            return "boolean"
        return {int: "integer", float: "number"}.get(type(self.default), "string")


UPLOAD_OPTIONS: tuple[Option, ...] = (
    Option("name", "--name", "campaign name (default: the sheet's file name)"),
    Option("instance_id", "--instance-id", "CCC instance (default: CCC_INSTANCE_ID)"),
    Option("broker", "--broker", "pool number (repeatable)", opt.broker_number, repeatable=True),
    Option("additional_broker", "--additional-broker", "", opt.broker_number),
    Option("timeout_seconds", "--timeout-seconds", "1 to 600", opt.timeout_seconds, 30),
    Option(
        "rate",
        "--rate",
        "per-broker limit: N/s, N/m or N/h, to 1000/s (default 1/s)",
        opt.rate,
        1.0,
    ),
    Option(
        "broker_rate",
        "--broker-rate",
        "override",
        opt.broker_rate,
        repeatable=True,
        metavar="NUMBER=RATE",
    ),
    Option("max_attempts", "--max-attempts", "", opt.attempts, 3),
    Option(
        "window",
        "--window",
        "calling window, repeatable (default 09:00-21:00, the carriers' rule)",
        opt.window,
        repeatable=True,
        metavar="HH:MM-HH:MM",
    ),
    Option("timezone", "--timezone", "zone of the windows and caps", opt.timezone, "Asia/Shanghai"),
    Option("callee_daily_cap", "--callee-daily-cap", "0 = off", opt.cap, 3),
    Option("callee_monthly_cap", "--callee-monthly-cap", "0 = off", opt.cap, 5),
    Option("broker_daily_cap", "--broker-daily-cap", "0 = off", opt.cap, 0),
    Option(
        "no_outcomes",
        "--no-outcomes",
        "do not fetch call records (for keys without CDR permission)",
        switch=True,
    ),
    Option(
        "pair_guard_s",
        "--pair-guard-s",
        "no repeat of a caller+callee pair within this many seconds",
        opt.pair_guard_s,
        60.0,
    ),
    Option(
        "reconcile_horizon",
        "--reconcile-horizon",
        "how long after a call its record is looked for (default 6h); an UNKNOWN row not "
        "found by then stays UNKNOWN, with the reason",
        opt.horizon,
        6 * 3600.0,
        metavar="TIME",
    ),
    Option(
        "caller",
        "--caller",
        "an agent of the pool (repeatable): rows without a caller go to the agent free longest",
        opt.phone_number,
        repeatable=True,
    ),
    Option("callers", "--callers", "file of agents' numbers, one a line (like --dnc)", web=False),
    Option(
        "caller_concurrency",
        "--caller-concurrency",
        "calls one caller may be in at once (default 1)",
        opt.int_in(1, 100),
        1,
    ),
    Option(
        "wrap_up_s",
        "--wrap-up-s",
        "a caller rests this long after a call ends (default 10)",
        opt.float_in(0, 3600, unit=" s"),
        10.0,
    ),
    Option(
        "caller_max_hold_s",
        "--caller-max-hold-s",
        "a call whose record never comes frees its caller after this long (default 900)",
        opt.float_in(60, 86400, unit=" s"),
        900.0,
    ),
    Option(
        "no_caller_pacing",
        "--no-caller-pacing",
        "pace by broker numbers only (callers may be rung mid-call)",
        switch=True,
    ),
    Option("dnc", "--dnc", "do-not-call file, one number a line", web=False),
    Option("sheet", "--sheet", "XLSX sheet name (default: the first)"),
)
BY_NAME = {o.name: o for o in UPLOAD_OPTIONS}
_TRUE = {"1", "true", "on", "yes"}


def add_upload_options(p: argparse.ArgumentParser) -> None:
    """`dialer upload`'s arguments: the sheet, then every option of UPLOAD_OPTIONS."""
    p.add_argument("sheet_path", metavar="sheet", type=Path, help="CSV or XLSX campaign sheet")
    for o in UPLOAD_OPTIONS:
        if o.switch:
            p.add_argument(o.flag, dest=o.name, action="store_true", help=o.help or None)
        elif o.repeatable:
            p.add_argument(
                o.flag,
                dest=o.name,
                action="append",
                default=[],
                type=o.parse,
                metavar=o.metavar,
                help=o.help or None,
            )
        else:
            p.add_argument(
                o.flag,
                dest=o.name,
                type=o.parse,
                default=o.default,
                metavar=o.metavar,
                help=o.help or None,
            )
    p.add_argument("--json", action="store_true")


def options_from_fields(fields: Mapping[str, Sequence[str]], sheet: Path) -> argparse.Namespace:
    """The console's and API's fields (as sent: text, repeatable) checked by the same value
    types as the CLI's, into what the CLI's parser makes. A mistake is an OptionError in the
    CLI's words (naming the option as `dialer upload` does)."""
    values: dict[str, Any] = {
        o.name: [] if o.repeatable else (False if o.switch else o.default) for o in UPLOAD_OPTIONS
    }
    for name, given in fields.items():
        o = BY_NAME.get(name)
        if o is None or not o.web:
            raise DialerError(f"unknown option {name!r}")
        texts = [v.strip() for v in given if v.strip()]
        if o.switch:
            values[name] = any(v.lower() in _TRUE for v in texts)
            continue
        if len(texts) > 1 and not o.repeatable:
            raise OptionError(o.flag, "may be given once")
        try:
            parsed = [o.parse(v) for v in texts]
        except argparse.ArgumentTypeError as exc:
            raise OptionError(o.flag, str(exc)) from None
        if parsed:
            values[name] = parsed if o.repeatable else parsed[0]
    return argparse.Namespace(sheet_path=sheet, json=False, **values)


def settings_from_args(args: argparse.Namespace, settings: Settings) -> CampaignSettings:
    """The campaign's settings; every option value was checked as it was parsed."""
    instance = args.instance_id or settings.instance_id
    if not instance:
        raise DialerError("no CCC instance: pass --instance-id or set CCC_INSTANCE_ID")
    windows = tuple(args.window) or CampaignSettings.windows
    Calendar.of(windows, args.timezone)  # refuse a bad window or zone before storing anything
    return CampaignSettings(
        name=args.name or args.sheet_path.stem,
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
        agents=tuple(dict.fromkeys([*args.caller, *_agents_file(args.callers)])),
        caller_concurrency=args.caller_concurrency,
        wrap_up_s=args.wrap_up_s,
        caller_max_hold_s=args.caller_max_hold_s,
        caller_pacing=not args.no_caller_pacing,
    )


def _agents_file(path: str | None) -> list[str]:
    """Agents' numbers from --callers: read like a do-not-call file; each must be a phone."""
    if not path:
        return []
    numbers = sorted(load_dnc(path))
    bad = [n for n in numbers if not is_phone(n)]
    if bad:
        raise DialerError(f"--callers {path}: {mask_number(bad[0])} is not a phone number")
    return numbers
