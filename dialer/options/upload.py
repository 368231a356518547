"""The options `dialer upload` (and `run`, and the console's and API's upload fields) take,
and the CampaignSettings they make: one table (UPLOAD_OPTIONS) from which the CLI's argparse
and the API's fields and OpenAPI description are built, so every way in validates alike."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dialer.calendar import Calendar
from dialer.engine.events import WebhookEndpoint
from dialer.errors import ConfigError, DialerError, OptionError
from dialer.models import CampaignSettings
from dialer.options import values as opt
from dialer.phones import is_phone, mask_number
from dialer.settings import Settings
from dialer.sheets.validate import load_dnc
from dialer.webhooks.endpoints import WebhookSpec, campaign_endpoints, parse_spec
from dialer.webhooks.signing import check_secret


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
    schema_type: str = ""  # the OpenAPI type, where the default does not show it

    @property
    def json_type(self) -> str:
        """The field's type in the API's OpenAPI document."""
        if self.schema_type:
            return self.schema_type
        if self.switch:
            return "boolean"
        return {int: "integer", float: "number"}.get(type(self.default), "string")


def _webhook(value: str) -> WebhookSpec:
    try:
        return parse_spec(value)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--webhook: ")) from None


def _webhook_secret(value: str) -> str:
    try:
        return check_secret(value.strip(), "the secret")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    Option(
        "recycle",
        "--recycle",
        f"try the customer again after this outcome ({', '.join(opt.RECYCLABLE)}), DELAY after "
        "the call ended (30s, 20m, 2h; the last delay repeats); repeatable",
        opt.recycle,
        repeatable=True,
        metavar="OUTCOME=DELAY[,DELAY…]",
    ),
    Option(
        "max_contacts",
        "--max-contacts",
        "calls that ring the customer, the first included (default 3 with --recycle, else 1)",
        opt.int_in(1, opt.MAX_CONTACTS),
        schema_type="integer",
    ),
    Option(
        "max_agent_misses",
        "--max-agent-misses",
        "a row whose agent's phone rang out this many times ends (default 3); a missed agent "
        "leg never counts as a contact",
        opt.int_in(1, 100),
        3,
    ),
    Option(
        "agent_miss_wait_s",
        "--agent-miss-wait-s",
        "after an agent's phone rang out, that agent rests this long, and a row naming them "
        "waits for them this long (default 30)",
        opt.float_in(0, 3600, unit=" s"),
        30.0,
    ),
    Option(
        "start_at",
        "--start-at",
        "in the campaign's --timezone: nothing is dialled before; an uploaded campaign starts "
        "by itself then",
        opt.local_datetime,
        metavar="'YYYY-MM-DD HH:MM'",
    ),
    Option(
        "end_at",
        "--end-at",
        "in the campaign's --timezone: no call begins after; calls in progress finish and "
        "rows still waiting end with Schedule.Ended",
        opt.local_datetime,
        metavar="'YYYY-MM-DD HH:MM'",
    ),
    Option(
        "agents_sign_in",
        "--agents-sign-in",
        "ring only agents signed in and Ready on their screen (docs/agents.md); they end each "
        "call's wrap-up with its disposition",
        switch=True,
    ),
    Option(
        "agent_missed_max",
        "--agent-missed-max",
        "rings an agent may miss in a row before they go on break (default 2; 0: never)",
        opt.int_in(0, 100),
        2,
    ),
    Option(
        "wrap_up_max_s",
        "--wrap-up-max-s",
        "a signed-in agent's wrap-up left open this long after the call gets the AUTO "
        "disposition and a break (default 300)",
        opt.float_in(10, 86400, unit=" s"),
        300.0,
    ),
    Option(
        "callback_grace",
        "--callback-grace",
        "a personal callback its agent has not taken this long after its time goes to anyone "
        "(15m, 1h; default 15m)",
        opt.horizon,
        900.0,
        schema_type="number",
    ),
    Option(
        "agent_notes",
        "--agent-notes",
        "what agents read on every customer card of this campaign (a script, an offer)",
        opt.agent_notes,
        "",
    ),
    Option(
        "disposition",
        "--disposition",
        "a code agents may give a call, CODE=ACTION with ACTION done, recycle:DELAY, callback "
        "or dnc; repeatable (default: INTERESTED, NOT_INTERESTED, CALLBACK, TRY_LATER, "
        "WRONG_NUMBER, DO_NOT_CALL)",
        opt.disposition,
        repeatable=True,
        metavar="CODE=ACTION",
    ),
    Option("dnc", "--dnc", "do-not-call file, one number a line", web=False),
    Option("sheet", "--sheet", "XLSX sheet name (default: the first)"),
    Option(
        "webhook",
        "--webhook",
        "send events to this http(s) URL, repeatable; 'URL events=call.*,row.finished' takes "
        "only those (docs/webhooks.md)",
        _webhook,
        repeatable=True,
        metavar="'URL [events=...]'",
    ),
    Option(
        "webhook_secret",
        "--webhook-secret",
        "signing secret of the --webhook endpoints, whsec_ + base64 (default: a new one, shown "
        "once)",
        _webhook_secret,
        metavar="whsec_...",
    ),
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
    start_at, end_at = (_epoch_ms(t, args.timezone) for t in (args.start_at, args.end_at))
    if start_at and end_at and end_at <= start_at:
        raise DialerError("--end-at must be after --start-at")
    if args.no_outcomes and not args.no_caller_pacing and not args.agents_sign_in:
        # Nothing would say when a call ended: each agent would be held --caller-max-hold-s
        # after every call. With sign-in, agents free themselves with their disposition.
        raise DialerError(
            "--no-outcomes with paced callers holds each agent --caller-max-hold-s after every "
            "call: add --agents-sign-in (agents end each call on their screen) or "
            "--no-caller-pacing"
        )
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
        max_agent_misses=args.max_agent_misses,
        agent_miss_wait_s=args.agent_miss_wait_s,
        recycle=dict(args.recycle),
        max_contacts=args.max_contacts or 0,
        start_at_ms=start_at,
        end_at_ms=end_at,
        agents_sign_in=args.agents_sign_in,
        agent_missed_max=args.agent_missed_max,
        wrap_up_max_s=args.wrap_up_max_s,
        callback_grace_s=args.callback_grace,
        agent_notes=args.agent_notes,
        dispositions=dict(args.disposition),
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


def webhooks_from_args(args: argparse.Namespace) -> tuple[list[WebhookEndpoint], str | None]:
    """The campaign's webhook endpoints, and the secret made for them when none was given
    (to be shown once, at upload: it is not shown again)."""
    endpoints, made = campaign_endpoints(list(args.webhook), args.webhook_secret)
    return endpoints, endpoints[0].secrets[0] if made else None
