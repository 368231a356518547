"""Dispositions: what the agent says a call came to, and what that does to the row.

A campaign defines its codes (`--disposition CODE=ACTION`); ACTION is `done` (the row ends),
`recycle:DELAY` (the customer is tried again DELAY after the call ended), `callback` (at the
time the agent gives, for them or for anyone) or `dnc` (the number goes on the do-not-call
list and the row ends). The row's fate still rests on its call record: a disposition only
changes what happens once the record says a conversation took place; a call whose agent leg
rang out is decided by the strategy alone (dialer.strategy.rules)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dialer.errors import ConfigError


class Action(StrEnum):
    DONE = "done"
    RECYCLE = "recycle"
    CALLBACK = "callback"
    DNC = "dnc"


# What a campaign offers its agents when it names no codes of its own.
DEFAULT_DISPOSITIONS = {
    "INTERESTED": "done",
    "NOT_INTERESTED": "done",
    "CALLBACK": "callback",
    "TRY_LATER": "recycle:3600",
    "WRONG_NUMBER": "done",
    "DO_NOT_CALL": "dnc",
}
# The code a wrap-up left open past --wrap-up-max-s gets: it changes nothing of the row's.
AUTO = "AUTO"
_CODE = re.compile(r"^[A-Z][A-Z0-9_]{0,31}$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Code:
    code: str
    action: Action
    delay_s: float | None = None  # recycle only

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "action": self.action.value, "delay_s": self.delay_s}


def parse_code(text: str) -> tuple[str, str]:
    """'TRY_LATER=recycle:2h' -> ('TRY_LATER', 'recycle:7200'): one --disposition value."""
    name, sep, action = unicodedata.normalize("NFKC", text).partition("=")
    code = name.strip().upper()
    if not sep or not _CODE.match(code):
        raise ConfigError(
            f"{text!r}: must be CODE=ACTION, CODE in capitals, digits and _ (at most 32)"
        )
    return code, _spec(action.strip().lower(), text).spec


@dataclass(frozen=True)
class _Parsed:
    action: Action
    delay_s: float | None

    @property
    def spec(self) -> str:
        if self.action is Action.RECYCLE:
            return f"recycle:{self.delay_s:g}"
        return self.action.value


def _spec(action: str, text: str) -> _Parsed:
    kind, _, delay = action.partition(":")
    if kind == Action.RECYCLE.value:
        match = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", delay.strip())
        if not match:
            raise ConfigError(f"{text!r}: recycle needs a delay, e.g. recycle:2h")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
        if not 1 <= seconds <= 30 * 86400:
            raise ConfigError(f"{text!r}: the recycle delay must be from 1s to 30d")
        return _Parsed(Action.RECYCLE, seconds)
    try:
        parsed = Action(kind)
    except ValueError:
        raise ConfigError(
            f"{text!r}: ACTION must be done, recycle:DELAY, callback or dnc"
        ) from None
    if delay:
        raise ConfigError(f"{text!r}: only recycle takes a delay")
    return _Parsed(parsed, None)


def codes(dispositions: dict[str, str]) -> list[Code]:
    """A campaign's codes in the order given (the defaults when it gave none)."""
    chosen = dispositions or DEFAULT_DISPOSITIONS
    out = []
    for code, spec in chosen.items():
        parsed = _spec(spec, f"{code}={spec}")
        out.append(Code(code, parsed.action, parsed.delay_s))
    return out


def find(dispositions: dict[str, str], code: str) -> Code | None:
    return next((c for c in codes(dispositions) if c.code == code), None)


def for_this_call(result: dict[str, Any]) -> dict[str, Any] | None:
    """The disposition an agent saved for the row's current call, if any (AUTO counts as
    none: it was nobody's decision)."""
    saved = result.get("disposition")
    if not isinstance(saved, dict) or saved.get("code") == AUTO:
        return None
    if saved.get("job_id") != result.get("job_id"):
        return None
    return saved
