"""The Lua scripts (dialer/engine/lua/*.lua), loaded once, each called through one typed
method with named arguments. Redis runs each script atomically, on its own clock.

Every script is compiled as: the tables generated below from the Python enums (so the Lua
and the Python can never disagree on a state, a status, a refusal code or an entry field),
then lua/prelude.lua, then the script itself."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from importlib import resources
from typing import Any

import redis

from dialer.engine.codec import ENTRY_FIELDS, SEP, member, row_of
from dialer.engine.keys import Keys
from dialer.errors import CampaignNotFound, DialerError
from dialer.models import ACTIVE_STATES, CampaignStatus, RowState

SCRIPT_NAMES = (
    "feed", "begin_dial", "finish", "upkeep", "redistribute", "cancel", "set_status", "sleep",
    "wake_sleeping", "reconcile", "patch_result", "take_idle_slot", "forget_if_settled",
    "acquire_lease",
)  # fmt: skip


class Refusal(IntEnum):
    """Why a script did nothing (or not what was asked)."""

    STALE = -1  # the row is not QUEUED with this token: a redelivered or superseded message
    NOT_RUNNING = -2  # the campaign stopped: the row went back to its queue (or CANCELLED)
    TOO_SOON = -4  # the broker's (or account's) previous call began less than an interval ago
    MONTHLY_CAP = -5  # the callee's monthly cap: the row FAILED
    DAILY_CAP = -6  # the callee's daily cap: the row waits for tomorrow's window
    PAIR_GUARD = -7  # this caller+callee pair was just called: the row waits out the guard
    BROKER_CAP = -8  # the broker's daily cap: the row went back, the broker rests until tomorrow
    NO_CAMPAIGN = -9
    WRONG_STATUS = -10


class Outcome(StrEnum):
    """What FINISH is told about a DIALING row."""

    DISPATCHED = "DISPATCHED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    RETRY_WAIT = "RETRY_WAIT"
    BROKER_DOWN = "BROKER_DOWN"  # refused for the broker: the row waits at its queue's head
    CAMPAIGN_FATAL = "CAMPAIGN_FATAL"  # refused for the campaign: it pauses, the row waits


def lua_literal(value: str | int) -> str:
    if isinstance(value, int):
        return str(value)
    # Lua 5.1 strings know decimal escapes, not JSON's \u: escape all but plain characters.
    body = "".join(c if c.isalnum() or c in " _.-:|" else f"\\{ord(c)}" for c in value)
    return f"'{body}'"


def lua_tables() -> str:
    """The Lua side of the enums and the entry codec."""

    def table(name: str, items: dict[str, str | int]) -> str:
        body = ", ".join(f"{k} = {lua_literal(v)}" for k, v in items.items())
        return f"local {name} = {{{body}}}\n"

    return (
        table("State", {s.name: s.value for s in RowState})
        + table("Status", {s.name: s.value for s in CampaignStatus})
        + table("Refusal", {r.name: int(r) for r in Refusal})
        + table("Outcome", {o.name: o.value for o in Outcome})
        + table("ENTRY", {name: i + 1 for i, name in enumerate(ENTRY_FIELDS)})
        + "local ACTIVE = {" + ", ".join(lua_literal(s.value) for s in ACTIVE_STATES) + "}\n"
        + f"local SEP = {lua_literal(SEP)}\n"
    )  # fmt: skip


def lua_source(name: str) -> str:
    lua = resources.files("dialer.engine") / "lua"
    return lua_tables() + (lua / "prelude.lua").read_text() + (lua / f"{name}.lua").read_text()


def refusal(code: int) -> Refusal:
    try:
        return Refusal(code)
    except ValueError:
        raise DialerError(f"a Lua script answered an unknown code {code}") from None


@dataclass(frozen=True)
class Queued:
    """A row FEED moved to QUEUED, with the slot (Redis clock) it was paced to."""

    broker: str
    packed: str
    token: str
    slot_ms: int

    @property
    def row(self) -> int:
        return row_of(self.packed)


@dataclass(frozen=True)
class Begun:
    """BEGIN_DIAL's answer: the attempt number, or why not (and for TOO_SOON, how long)."""

    attempt: int = 0
    refused: Refusal | None = None
    wait_ms: int = 0


@dataclass(frozen=True)
class Upkept:
    swept: int
    retries_released: int
    finished: bool
    brokers_down: int


class Scripts:
    """One method per script; each builds its KEYS from `Keys` and names its ARGV."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.keys = keys
        self._s = {name: client.register_script(lua_source(name)) for name in SCRIPT_NAMES}

    def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return self._s[name](keys=keys, args=args)

    # --- rows -----------------------------------------------------------------------------

    def feed(self, cid: str, *, depth: int, lookahead_ms: int, queued_lease_ms: int,
             day_key: str, next_day_ms: int, account_interval_ms: float,
             max_rows: int) -> tuple[list[Queued], int | None]:  # fmt: skip
        """(rows queued, epoch ms the campaign next has a broker due, None if none)."""
        k = self.keys
        out = self._run(
            "feed",
            [k.meta(cid), k.state(cid), k.counts(cid), k.lease(cid), k.inflight(cid),
             k.broker_down(cid), k.broker_capped(cid), k.due(cid), k.brokers(cid),
             k.pace_account()],
            [depth, lookahead_ms, queued_lease_ms, day_key, next_day_ms, account_interval_ms,
             k.queue_prefix(cid), k.pace_prefix(), max_rows],
        )  # fmt: skip
        rows = [
            Queued(out[i].decode(), out[i + 1].decode(), out[i + 2].decode(), int(out[i + 3]))
            for i in range(1, len(out), 4)
        ]
        return rows, int(out[0]) if int(out[0]) >= 0 else None

    def begin_dial(self, cid: str, *, row: int, token: str, broker: str, packed: str,
                   caller: str, callee: str, dialing_lease_ms: int, callee_daily_cap: int,
                   callee_monthly_cap: int, broker_daily_cap: int, pair_guard_ms: int,
                   next_day_ms: int, day_key: str, month_key: str,
                   account_interval_ms: float) -> Begun:  # fmt: skip
        k = self.keys
        out = self._run(
            "begin_dial",
            [k.meta(cid), k.state(cid), k.counts(cid), k.lease(cid), k.inflight(cid),
             k.queue(cid, broker), k.result(cid), k.last_dial(broker),
             k.callee_day(day_key, callee), k.callee_month(month_key, callee),
             k.broker_day(day_key, broker), k.pair_guard(caller, callee), k.retry(cid),
             k.broker_capped(cid), k.last_account_dial(), k.due(cid), k.wake(cid),
             k.brokers(cid)],
            [row, token, broker, packed, dialing_lease_ms, callee_daily_cap, callee_monthly_cap,
             broker_daily_cap, pair_guard_ms, next_day_ms, day_key, account_interval_ms],
        )  # fmt: skip
        code = int(out[0])
        if code > 0:
            return Begun(attempt=code)
        return Begun(refused=refusal(code), wait_ms=int(out[1]) if len(out) > 1 else 0)

    def finish(self, cid: str, *, row: int, token: str, broker: str, packed: str,
               caller: str, callee: str, day_key: str, month_key: str, outcome: Outcome,
               patch: dict[str, Any], retry_delay_ms: int, reason: str, cdr_wait_ms: int,
               reconcile_wait_ms: int) -> bool:  # fmt: skip
        """True when applied; False when the row was not DIALING with this token."""
        k = self.keys
        return bool(
            self._run(
                "finish",
                [
                    k.meta(cid),
                    k.state(cid),
                    k.counts(cid),
                    k.lease(cid),
                    k.inflight(cid),
                    k.queue(cid, broker),
                    k.result(cid),
                    k.retry(cid),
                    k.dialed(cid),
                    k.broker_down(cid),
                    k.callee_day(day_key, callee),
                    k.callee_month(month_key, callee),
                    k.broker_day(day_key, broker),
                    k.pair_guard(caller, callee),
                    k.records(),
                    k.cdr_due(cid),
                    k.reconcile(cid),
                    k.due(cid),
                    k.wake(cid),
                    k.running(),
                ],
                [
                    row,
                    token,
                    broker,
                    packed,
                    outcome.value,
                    json.dumps(patch, ensure_ascii=False),
                    retry_delay_ms,
                    reason,
                    cid,
                    cdr_wait_ms,
                    reconcile_wait_ms,
                ],
            )
        )

    # --- campaign upkeep ----------------------------------------------------------------

    def upkeep(self, cid: str, *, limit: int) -> Upkept:
        k = self.keys
        out = self._run(
            "upkeep",
            [k.meta(cid), k.state(cid), k.counts(cid), k.lease(cid), k.inflight(cid),
             k.result(cid), k.retry(cid), k.due(cid), k.wake(cid), k.running(),
             k.broker_down(cid)],
            [k.queue_prefix(cid), limit, cid],
        )  # fmt: skip
        return Upkept(int(out[0]), int(out[1]), bool(out[2]), int(out[3]))

    def redistribute(self, cid: str, *, broker: str, limit: int, reason: str,
                     live: list[str]) -> int:  # fmt: skip
        k = self.keys
        return int(
            self._run(
                "redistribute",
                [
                    k.state(cid),
                    k.counts(cid),
                    k.result(cid),
                    k.queue(cid, broker),
                    k.due(cid),
                    k.wake(cid),
                ],
                [k.queue_prefix(cid), limit, reason, *live],
            )
        )

    def cancel(self, cid: str, *, limit: int) -> tuple[int, bool]:
        """(rows cancelled by this call, whether rows are left to cancel)."""
        k = self.keys
        out = self._run(
            "cancel",
            [k.meta(cid), k.state(cid), k.counts(cid), k.lease(cid), k.inflight(cid),
             k.retry(cid), k.running(), k.sleeping(), k.brokers(cid)],
            [cid, k.queue_prefix(cid), limit],
        )  # fmt: skip
        if int(out[0]) < 0:
            self._refused(cid, refusal(int(out[0])))
        return int(out[0]), bool(out[1])

    def set_status(self, cid: str, *, allowed: set[CampaignStatus], new: CampaignStatus,
                   reason: str = "") -> bool:  # fmt: skip
        k = self.keys
        changed = int(
            self._run(
                "set_status",
                [k.meta(cid), k.running(), k.sleeping(), k.due(cid), k.wake(cid), k.brokers(cid)],
                [",".join(sorted(allowed)), new.value, reason, cid],
            )
        )
        if changed < 0:
            self._refused(cid, refusal(changed))
        return bool(changed)

    def sleep(self, cid: str, *, opens_at_ms: int) -> bool:
        k = self.keys
        return bool(
            self._run("sleep", [k.meta(cid), k.running(), k.sleeping()], [cid, opens_at_ms])
        )

    def wake_sleeping(self, *, now_ms: int) -> list[str]:
        k = self.keys
        woken = self._run("wake_sleeping", [k.sleeping(), k.running()], [now_ms])
        return [c.decode() for c in woken]

    def acquire_lease(self, lease_key: str, *, owner: str, ttl_ms: int) -> bool:
        return bool(self._run("acquire_lease", [lease_key], [owner, ttl_ms]))

    # --- call records ---------------------------------------------------------------------

    def reconcile(self, cid: str, *, broker: str, packed: str, found: bool,
                  patch: dict[str, Any], cdr_wait_ms: int) -> bool:  # fmt: skip
        k = self.keys
        return bool(
            self._run(
                "reconcile",
                [
                    k.meta(cid),
                    k.state(cid),
                    k.counts(cid),
                    k.result(cid),
                    k.cdr_due(cid),
                    k.queue(cid, broker),
                    k.running(),
                    k.due(cid),
                    k.wake(cid),
                ],
                [
                    row_of(packed),
                    "1" if found else "0",
                    json.dumps(patch, ensure_ascii=False),
                    cdr_wait_ms,
                    cid,
                    packed,
                    broker,
                ],
            )
        )

    def patch_result(self, cid: str, *, row: int, patch: dict[str, Any]) -> None:
        self._run(
            "patch_result", [self.keys.result(cid)], [row, json.dumps(patch, ensure_ascii=False)]
        )

    def take_idle_slot(self, *, interval_ms: float) -> bool:
        return bool(self._run("take_idle_slot", [self.keys.pace_account()], [interval_ms]))

    def forget_if_settled(self, cid: str) -> bool:
        k = self.keys
        return bool(
            self._run("forget_if_settled", [k.records(), k.cdr_due(cid), k.reconcile(cid)], [cid])
        )

    @staticmethod
    def _refused(cid: str, why: Refusal) -> None:
        if why is Refusal.NO_CAMPAIGN:
            raise CampaignNotFound(f"no campaign {cid!r}")
        raise DialerError(f"campaign {cid}: {why.name.lower().replace('_', ' ')}")


__all__ = ["Begun", "Outcome", "Queued", "Refusal", "Scripts", "Upkept", "member"]
