"""Command-line option values, checked as strictly as a sheet's cells.

Each type function turns the text into the value or raises argparse.ArgumentTypeError, which
`Parser` reports as one line naming the option, exit status 2."""

from __future__ import annotations

import argparse
import codecs
import datetime as dt
import math
import re
import unicodedata
from collections.abc import Callable
from typing import NoReturn, TypeVar

from dialer.calendar import Calendar, parse_window
from dialer.errors import ConfigError, OptionError, clip
from dialer.models import CampaignStatus, RowState, format_rate, parse_rate
from dialer.phones import is_broker, is_phone, normalise_number
from dialer.sheets.validate import MAX_TIMEOUT_S
from dialer.strategy import dispositions

T = TypeVar("T")
MIN_RATE_PER_S = 1 / 3600  # 1/h
MAX_RATE_PER_S = 1000.0  # far above what one CCC number may place; a typo, not a plan
MAX_ATTEMPTS = 100
MAX_PAIR_GUARD_S = 7 * 24 * 3600.0
MAX_WORKERS = 1024
# Encodings a results sheet may be written in: what Excel opens, on any Windows of China.
EXPORT_ENCODINGS = ("utf-8", "gbk", "gb18030", "utf-16", "utf-16-le", "utf-16-be")


class Parser(argparse.ArgumentParser):
    """An argument parser whose mistakes are one line: the problem and where to look."""

    def error(self, message: str) -> NoReturn:
        if len(message) > 160:  # an unknown command: argparse lists every command; --help does
            message = re.sub(r" \(choose from [^)]*\)$", "", message)
        self.exit(2, f"{self.prog}: {clip(message)} (see {self.prog} --help)\n")


def _shown(text: str) -> str:
    return repr(clip(text, 40))


def _fail(text: str, expected: str) -> NoReturn:
    raise argparse.ArgumentTypeError(f"{expected}, not {_shown(text)}")


def _integer(text: str, expected: str) -> int:
    try:
        return int(unicodedata.normalize("NFKC", text).strip())
    except ValueError:
        _fail(text, expected)


def int_in(
    low: int, high: int | None = None, *, what: str = "a whole number", note: str = ""
) -> Callable[[str], int]:
    """A whole number from `low` to `high` (no upper bound when None)."""
    span = f" from {low} to {high}" if high is not None else f", {low} or more"
    expected = f"must be {what}{span}{note}"

    def parse(text: str) -> int:
        value = _integer(text, expected)
        if value < low or (high is not None and value > high):
            _fail(text, expected)
        return value

    return parse


def float_in(low: float, high: float, *, unit: str = "") -> Callable[[str], float]:
    """A finite number from `low` to `high` (nan and inf refused)."""
    expected = f"must be a number from {low:g} to {high:g}{unit}"

    def parse(text: str) -> float:
        try:
            value = float(unicodedata.normalize("NFKC", text).strip())
        except ValueError:
            _fail(text, expected)
        if not math.isfinite(value) or not low <= value <= high:
            _fail(text, expected)
        return value

    return parse


timeout_seconds = int_in(1, MAX_TIMEOUT_S, what="a whole number of seconds")
cap = int_in(0, note=" (0 = off)")
attempts = int_in(1, MAX_ATTEMPTS)
workers = int_in(0, MAX_WORKERS)
pair_guard_s = float_in(0, MAX_PAIR_GUARD_S, unit=" seconds")


_DURATION_UNITS = {"s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
MAX_HORIZON_S = 7 * 86400.0


def horizon(text: str) -> float:
    """A duration in seconds from '6h', '90m', '45s', '1d' or plain seconds: how long call
    records are looked for after an attempt."""
    expected = "must be a duration such as 6h, 90m or 600s, from 1s to 7d"
    raw = unicodedata.normalize("NFKC", text).strip().lower()
    number = raw.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
    unit = raw[len(number) :].strip() or "s"
    try:
        value = float(number) * _DURATION_UNITS[unit]
    except (KeyError, ValueError):
        _fail(text, expected)
    if not math.isfinite(value) or not 1 <= value <= MAX_HORIZON_S:
        _fail(text, expected)
    return value


# Outcomes --recycle may name (dialer.strategy.RECYCLABLE, spelled here so options need not
# import the strategy): the customer's leg was rung and not taken.
RECYCLABLE = ("CALLEE_NO_ANSWER", "BUSY", "REJECTED_BY_CARRIER", "FAILED_OTHER")
MAX_CONTACTS = 20


def recycle(text: str) -> tuple[str, list[float]]:
    """'CALLEE_NO_ANSWER=30m,2h' -> ('CALLEE_NO_ANSWER', [1800.0, 7200.0]): the delays before
    the 2nd, 3rd… contact after that outcome (the last repeats)."""
    expected = f"must be OUTCOME=DELAY[,DELAY…] with OUTCOME one of {', '.join(RECYCLABLE)}"
    name, sep, delays = unicodedata.normalize("NFKC", text).partition("=")
    name = name.strip().upper()
    if not sep or name not in RECYCLABLE or not delays.strip():
        _fail(text, expected)
    try:
        return name, [horizon(d) for d in delays.split(",")]
    except argparse.ArgumentTypeError as exc:
        raise argparse.ArgumentTypeError(f"{name}: each delay {exc}") from None


def disposition(text: str) -> tuple[str, str]:
    """'TRY_LATER=recycle:2h' -> ('TRY_LATER', 'recycle:7200'): a code agents may give."""
    try:
        return dispositions.parse_code(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


MAX_AGENT_NOTES = 2000


def agent_notes(text: str) -> str:
    notes = text.strip()  # as written: NFKC would turn the full-width ；into ;
    if len(notes) > MAX_AGENT_NOTES:
        _fail(text[:40] + "…", f"must be at most {MAX_AGENT_NOTES} characters")
    return notes


def local_datetime(text: str) -> dt.datetime:
    """'2026-12-05 09:30' (or ISO 8601, 'T' and seconds allowed; with an offset it is taken
    as written): a wall-clock time, placed in the campaign's zone by the upload options."""
    try:
        return dt.datetime.fromisoformat(unicodedata.normalize("NFKC", text).strip())
    except ValueError:
        _fail(text, "must be a date and time such as 2026-12-05 09:30")


def rate(text: str) -> float:
    """Calls per second from '2/s', '30/m' or '100/h', within a sane range."""
    try:
        value = parse_rate(unicodedata.normalize("NFKC", text))
    except ConfigError:
        _fail(text, "must look like 2/s, 30/m or 100/h")
    if not MIN_RATE_PER_S <= value <= MAX_RATE_PER_S:
        _fail(text, f"must be from 1/h to {format_rate(MAX_RATE_PER_S)}")
    return value


def rate_text(text: str) -> str:
    """A rate checked as `rate` does, kept as written."""
    rate(text)
    return text


def broker_number(text: str) -> str:
    """A broker (middle) number normalised as a sheet's Broker cell: full-width digits, spaces,
    dashes and +86 removed; 5 to 15 digits."""
    number = normalise_number(text)
    if not is_broker(number):
        _fail(text, "must be a phone number of 5 to 15 digits")
    return number


def phone_number(text: str) -> str:
    """A caller or callee normalised as a sheet's cell: mobile (11 digits, starts with 1) or
    landline (starts with 0, 10 to 12 digits)."""
    number = normalise_number(text)
    if not is_phone(number):
        _fail(text, "must be a mobile (11 digits, starting 1) or landline (starting 0) number")
    return number


def broker_rate(text: str) -> tuple[str, float]:
    """NUMBER=RATE: one broker's own rate."""
    number, sep, value = text.partition("=")
    if not sep:
        _fail(text, "must be NUMBER=RATE, e.g. 02151234567=2/s")
    return broker_number(number), rate(value)


def window(text: str) -> str:
    try:
        parse_window(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text.strip()


def timezone(text: str) -> str:
    try:
        Calendar.of(("09:00-21:00",), text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (an IANA name, e.g. Asia/Shanghai)") from None
    return text


def export_encoding(text: str) -> str:
    """One of EXPORT_ENCODINGS (any of their aliases: utf8, GBK, cp936, UTF-16LE ...)."""
    try:
        name = codecs.lookup(text).name
    except LookupError:
        name = ""
    name = "utf-8" if name == "utf-8-sig" else name  # the CSV export writes UTF-8 with a BOM
    if name not in EXPORT_ENCODINGS:
        _fail(text, f"must be one of {', '.join(EXPORT_ENCODINGS)}")
    return name


def _one_of(text: str, names: list[str]) -> list[str]:
    """Comma-separated names, each one of `names` (any case)."""
    chosen = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not chosen or any(c not in names for c in chosen):
        _fail(text, f"must be one of {', '.join(names)}")
    return chosen


def campaign_statuses(text: str) -> list[CampaignStatus]:
    """'RUNNING' or 'done,cancelled': campaign statuses (repeatable)."""
    names = [s.value for s in CampaignStatus if s is not CampaignStatus.UPLOADING]
    return [CampaignStatus(name) for name in _one_of(text, names)]


def row_states(text: str) -> list[RowState]:
    """'FAILED' or 'failed,unknown': row states (repeatable)."""
    return [RowState(name) for name in _one_of(text, [s.value for s in RowState])]


limit = int_in(0, note=" (0 = every one)")


def checked(label: str, text: str, parse: Callable[[str], T]) -> T:
    """`parse(text)` for a value checked outside argparse (a field of the API, a value checked
    after parsing): its mistake an OptionError naming `label`."""
    try:
        return parse(text)
    except argparse.ArgumentTypeError as exc:
        raise OptionError(label, str(exc)) from None
