"""The Lua scripts (dialer/engine/lua/*.lua), loaded once, each called through one typed
method with named arguments. Redis runs each script atomically, on its own clock.

Every script is compiled as: the tables generated below from the Python enums (so the Lua
and the Python can never disagree on a state, a status, a refusal code or an entry field),
then lua/prelude.lua, then the script itself."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from importlib import resources
from typing import Any

import redis

from dialer.engine.client import translate
from dialer.engine.codec import ENTRY_FIELDS, SEP, row_of
from dialer.engine.keys import Keys
from dialer.errors import CampaignNotFound, DialerError
from dialer.models import ACTIVE_STATES, CampaignStatus, RowState

SCRIPT_NAMES = (
    "feed",
    "begin_dial",
    "finish",
    "upkeep",
    "redistribute",
    "cancel",
    "set_status",
    "sleep",
    "wake_sleeping",
    "reconcile",
    "settle_records",
    "redial",
    "forget_records",
    "patch_result",
    "take_idle_slot",
    "forget_if_settled",
    "acquire_lease",
    "call_ended",
    "give_back",
    "delete",
    "dispose",
    "set_presence",
    "announce",
)


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
    IN_FLIGHT = -11  # rows of the campaign are being dialled right now
    DO_NOT_CALL = -12  # the callee is on the do-not-call list: the row FAILED
    AGENT_AWAY = -13  # the caller went on break or offline: the row went back to its queue


class AttemptEnd(StrEnum):
    """What FINISH is told about a DIALING row."""

    DISPATCHED = "DISPATCHED"
    FAILED = "FAILED"
    UNKNOWN = "UNKNOWN"
    RETRY_WAIT = "RETRY_WAIT"
    BROKER_DOWN = "BROKER_DOWN"  # refused for the broker: the row waits at its queue's head
    CAMPAIGN_FATAL = "CAMPAIGN_FATAL"  # refused for the campaign: it pauses, the row waits
    # Refused before anything was placed, for no reason of the row's (CCC unreachable,
    # throttled, this worker's key): the row waits its backoff without using an attempt.
    NOT_PLACED = "NOT_PLACED"


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
        + table("Outcome", {o.name: o.value for o in AttemptEnd})
        + table("ENTRY", {name: i + 1 for i, name in enumerate(ENTRY_FIELDS)})
        + "local ACTIVE = {"
        + ", ".join(lua_literal(s.value) for s in ACTIVE_STATES)
        + "}\n"
        + f"local SEP = {lua_literal(SEP)}\n"
    )


@functools.cache
def lua_source(name: str) -> str:
    """The script `name` as sent to Redis: the shared tables and prelude, then its own body.
    Read from the package once per process."""
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
    caller: str  # the person rung first: the row's own caller, or the pool agent it got

    @property
    def row(self) -> int:
        return row_of(self.packed)


@dataclass(frozen=True)
class Begun:
    """BEGIN_DIAL's answer: when the call began (Redis clock), or why not (and for
    TOO_SOON, how long to wait)."""

    begun_at_ms: int = 0
    refused: Refusal | None = None
    wait_ms: int = 0
    # The row is DIALING, but fewer replicas than required acknowledged it in time: a
    # failover could lose the claim, so the call must not leave (see replication.py).
    unreplicated: bool = False
    replicas: int = 0  # how many had to acknowledge it


@dataclass(frozen=True)
class Finished:
    outcome: AttemptEnd | None  # None: the row was not DIALING with this token
    fed: list[Queued]


@dataclass(frozen=True)
class Feeding:
    """How rows are queued: shared by FEED (the feeder) and FINISH (a finishing call)."""

    depth: int  # rows queued or dialling per broker at most
    lookahead_ms: int  # queue a row this long (plus depth intervals) before its slot
    queued_lease_ms: int
    day_key: str  # today in the campaign's zone: broker daily caps
    next_day_ms: int  # when today's capped brokers may be fed again (Redis clock)
    account_interval_ms: float  # 0: no account-wide cap
    caller_pacing: bool  # callers are people: one call at a time each (caller_concurrency)
    caller_concurrency: int
    sign_in: bool = False  # only agents signed in on their screen (and READY) are offered calls
    callback_grace_ms: int = 0  # a personal callback not taken by then goes to anyone
    priority: int = 0  # campaigns sharing pool agents: the higher goes first (free_agent)
    weight: float = 1.0  # and within a priority, agents in proportion to weight


@dataclass(frozen=True)
class Backoff:
    """A transient failure waits min(cap, base * 2^(attempt-1)) * jitter."""

    base_ms: int
    cap_ms: int
    jitter: float  # 0.5..1, drawn per failure


@dataclass(frozen=True)
class Upkept:
    swept: int
    retries_released: int
    finished: bool
    brokers_down: int
    next_due_ms: int | None  # when the next lease runs out or retry falls due


class Scripts:
    """One method per script; each builds its KEYS from `Keys` and names its ARGV."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.keys = keys
        self._client = client
        self._s = {name: client.register_script(lua_source(name)) for name in SCRIPT_NAMES}

    def _run(self, name: str, keys: list[str], args: list[Any], *, events: str = "") -> Any:
        """`events`: the campaign whose events the script may emit (see `emit` in
        prelude.lua): its outbox and sequence keys go last in KEYS, its id last in ARGV."""
        keys, args = self._with_events(keys, args, events)
        return self._s[name](keys=keys, args=args)

    def _with_events(
        self, keys: list[str], args: list[Any], events: str
    ) -> tuple[list[str], list[Any]]:
        if not events:
            return keys, args
        return [*keys, self.keys.outbox(), self.keys.event_seq(events)], [*args, events]

    def _acked(
        self,
        name: str,
        keys: list[str],
        args: list[Any],
        *,
        replicas: int,
        timeout_ms: int,
        events: str = "",
    ) -> tuple[Any, bool]:
        """Run a script and `WAIT replicas timeout_ms` on the same connection in one round trip
        (WAIT waits for what this connection wrote): (its answer, whether `replicas`
        replicas acknowledged it in time). With no replica required, just the script.
        `events` as for `_run`."""
        if replicas <= 0:
            return self._run(name, keys, args, events=events), True
        keys, args = self._with_events(keys, args, events)
        script = self._s[name]
        for _ in range(2):
            pipe = self._client.pipeline(transaction=False)
            pipe.evalsha(script.sha, len(keys), *keys, *args)
            pipe.wait(replicas, timeout_ms)
            out, acked = pipe.execute(raise_on_error=False)
            if isinstance(out, redis.exceptions.NoScriptError):
                # A new primary (a failover, a restart) has no scripts loaded yet.
                self._client.script_load(script.script)
                continue
            for answer in (out, acked):
                if isinstance(answer, Exception):
                    raise translate(answer) from answer
            return out, int(acked) >= replicas
        raise DialerError(f"Redis did not keep the {name} script loaded")

    # --- rows -----------------------------------------------------------------------------

    def _rows(self, out: list[Any], start: int) -> list[Queued]:
        return [
            Queued(
                out[i].decode(),
                out[i + 1].decode(),
                out[i + 2].decode(),
                int(out[i + 3]),
                out[i + 4].decode(),
            )
            for i in range(start, len(out), 5)
        ]

    def feed(self, cid: str, *, feeding: Feeding, max_rows: int) -> tuple[list[Queued], int | None]:
        """(rows queued, epoch ms the campaign next has a broker due, None if none)."""
        k = self.keys
        out = self._run(
            "feed",
            [
                k.meta(cid),
                k.state(cid),
                k.counts(cid),
                k.lease(cid),
                k.inflight(cid),
                k.broker_down(cid),
                k.broker_capped(cid),
                k.due(cid),
                k.brokers(cid),
                k.pace_account(),
                k.wake(cid),
                k.agents(cid),
                k.parked_callers(cid),
                k.retry(cid),
                k.callbacks(cid),
                k.result(cid),
                k.agent_shares(),
            ],
            [
                feeding.depth,
                feeding.lookahead_ms,
                feeding.queued_lease_ms,
                feeding.day_key,
                feeding.next_day_ms,
                feeding.account_interval_ms,
                k.queue_prefix(cid),
                k.pace_prefix(),
                max_rows,
                k.caller_prefix(),
                k.parked_prefix(cid),
                cid,
                "1" if feeding.caller_pacing else "0",
                feeding.caller_concurrency,
                k.presence_prefix(),
                "1" if feeding.sign_in else "0",
                feeding.callback_grace_ms,
                feeding.priority,
                feeding.weight,
            ],
        )
        return self._rows(out, 1), int(out[0]) if int(out[0]) >= 0 else None

    def begin_dial(
        self,
        cid: str,
        *,
        row: int,
        token: str,
        broker: str,
        packed: str,
        caller: str,
        callee: str,
        dialing_lease_ms: int,
        callee_daily_cap: int,
        callee_monthly_cap: int,
        broker_daily_cap: int,
        pair_guard_ms: int,
        next_day_ms: int,
        day_key: str,
        month_key: str,
        account_interval_ms: float,
        interval_ms: float,
        caller_max_hold_ms: int,
        ends_at_ms: int = 0,
        sign_in: bool = False,
        card_first_ms: int = 0,
        replicas: int = 0,
        replica_wait_ms: int = 1000,
    ) -> Begun:
        """`caller` is the person rung first; `caller_max_hold_ms` 0: callers not paced;
        `ends_at_ms` (0: none) the campaign's --end-at; `replicas`: how many must acknowledge
        the claim within `replica_wait_ms`."""
        k = self.keys
        out, acked = self._acked(
            "begin_dial",
            [
                k.meta(cid),
                k.state(cid),
                k.counts(cid),
                k.lease(cid),
                k.inflight(cid),
                k.queue(cid, broker),
                k.result(cid),
                k.last_dial(broker),
                k.callee_caps(callee),
                k.broker_day(day_key, broker),
                k.pair_guard(caller, callee),
                k.retry(cid),
                k.broker_capped(cid),
                k.last_account_dial(),
                k.due(cid),
                k.wake(cid),
                k.caller(caller),
                k.agents(cid),
                k.dnc(),
                k.presence(caller),
                k.agent_calls(caller),
            ],
            [
                row,
                token,
                broker,
                packed,
                dialing_lease_ms,
                callee_daily_cap,
                callee_monthly_cap,
                broker_daily_cap,
                pair_guard_ms,
                next_day_ms,
                day_key,
                month_key,
                account_interval_ms,
                interval_ms,
                f"{cid}:{row}",
                caller_max_hold_ms,
                caller,
                ends_at_ms,
                "1" if sign_in else "0",
                card_first_ms,
            ],
            events=cid,
            replicas=replicas,
            timeout_ms=replica_wait_ms,
        )
        code = int(out[0])
        if code > 0:
            return Begun(begun_at_ms=code, unreplicated=not acked, replicas=replicas)
        return Begun(refused=refusal(code), wait_ms=int(out[1]) if len(out) > 1 else 0)

    def finish(
        self,
        cid: str,
        *,
        row: int,
        token: str,
        broker: str,
        packed: str,
        caller: str,
        callee: str,
        outcome: AttemptEnd,
        patch: dict[str, Any],
        reason: str,
        cdr_wait_ms: int,
        reconcile_wait_ms: int,
        begun_at_ms: int,
        max_attempts: int,
        retry: Backoff,
        feed: bool,
        feeding: Feeding,
        month_key: str,
        interval_ms: float,
        tries_again: bool = False,
    ) -> Finished:
        """What became of the row (None: it was not DIALING with this token, nothing
        changed), and the rows fed into the place it left."""
        k = self.keys
        out = self._run(
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
                k.callee_caps(callee),
                k.broker_day(feeding.day_key, broker),
                k.pair_guard(caller, callee),
                k.records(),
                k.cdr_due(cid),
                k.reconcile(cid),
                k.due(cid),
                k.wake(cid),
                k.running(),
                k.broker_capped(cid),
                k.brokers(cid),
                k.pace_account(),
                k.caller(caller),
                k.agents(cid),
                k.parked_callers(cid),
                k.caller_stats(cid),
                k.agent_shares(),
            ],
            [
                row,
                token,
                broker,
                packed,
                outcome.value,
                json.dumps(patch, ensure_ascii=False),
                reason,
                cid,
                cdr_wait_ms,
                reconcile_wait_ms,
                begun_at_ms,
                max_attempts,
                retry.base_ms,
                retry.cap_ms,
                retry.jitter,
                feeding.day_key,
                month_key,
                "1" if feed else "0",
                feeding.depth,
                feeding.lookahead_ms,
                feeding.queued_lease_ms,
                feeding.next_day_ms,
                feeding.account_interval_ms,
                k.queue_prefix(cid),
                k.pace_prefix(),
                interval_ms,
                caller,
                "1" if feeding.caller_pacing else "0",
                feeding.caller_concurrency,
                k.caller_prefix(),
                k.parked_prefix(cid),
                k.presence_prefix(),
                "1" if feeding.sign_in else "0",
                feeding.priority,
                feeding.weight,
                "1" if tries_again else "0",
            ],
            events=cid,
        )
        if not int(out[0]):
            return Finished(None, [])
        return Finished(AttemptEnd(out[1].decode()), self._rows(out, 2))

    # --- campaign upkeep ----------------------------------------------------------------

    def upkeep(
        self,
        cid: str,
        *,
        limit: int,
        dialing_lease_ms: int,
        reconcile_wait_ms: int,
        tries_again: bool = False,
    ) -> Upkept:
        k = self.keys
        out = self._run(
            "upkeep",
            [
                k.meta(cid),
                k.state(cid),
                k.counts(cid),
                k.lease(cid),
                k.inflight(cid),
                k.result(cid),
                k.retry(cid),
                k.due(cid),
                k.wake(cid),
                k.running(),
                k.broker_down(cid),
                k.records(),
                k.reconcile(cid),
                k.cdr_due(cid),
            ],
            [
                k.queue_prefix(cid),
                limit,
                cid,
                dialing_lease_ms,
                reconcile_wait_ms,
                "1" if tries_again else "0",
            ],
            events=cid,
        )
        next_due = int(out[4])
        return Upkept(
            int(out[0]), int(out[1]), bool(out[2]), int(out[3]), next_due if next_due >= 0 else None
        )

    def redistribute(self, cid: str, *, broker: str, limit: int, live: list[str]) -> int:
        """Pool rows moved off a refused broker onto the `live` pool brokers (not empty)."""
        k = self.keys
        return int(
            self._run(
                "redistribute",
                [k.queue(cid, broker), k.due(cid), k.wake(cid)],
                [k.queue_prefix(cid), limit, *live],
            )
        )

    def give_back(
        self,
        cid: str,
        *,
        row: int,
        token: str,
        broker: str,
        packed: str,
        caller: str,
        caller_pacing: bool,
    ) -> bool:
        """A QUEUED row back to the head of its queue, undialled, its caller free again;
        False if it had moved on."""
        k = self.keys
        out = self._run(
            "give_back",
            [
                k.state(cid),
                k.counts(cid),
                k.lease(cid),
                k.inflight(cid),
                k.queue(cid, broker),
                k.due(cid),
                k.wake(cid),
                k.caller(caller),
                k.agents(cid),
                k.parked_callers(cid),
            ],
            [
                row,
                token,
                broker,
                packed,
                cid,
                caller,
                "1" if caller_pacing else "0",
                k.queue_prefix(cid),
                k.parked_prefix(cid),
            ],
        )
        return int(out) == 1

    def cancel(
        self,
        cid: str,
        *,
        limit: int,
        final: CampaignStatus = CampaignStatus.CANCELLED,
        code: str = "",
        message: str = "",
    ) -> tuple[int, bool]:
        """(rows cancelled by this call, whether rows are left to cancel). The campaign ends
        `final`; each row cancelled carries `code` and `message` when given."""
        k = self.keys
        out = self._run(
            "cancel",
            [
                k.meta(cid),
                k.state(cid),
                k.counts(cid),
                k.lease(cid),
                k.inflight(cid),
                k.retry(cid),
                k.running(),
                k.sleeping(),
                k.brokers(cid),
                k.parked_callers(cid),
                k.result(cid),
            ],
            [cid, k.queue_prefix(cid), limit, k.parked_prefix(cid), final.value, code, message],
            events=cid,
        )
        if int(out[0]) < 0:
            self._refused(cid, refusal(int(out[0])))
        return int(out[0]), bool(out[1])

    def set_status(
        self, cid: str, *, allowed: set[CampaignStatus], new: CampaignStatus, reason: str = ""
    ) -> bool:
        k = self.keys
        changed = int(
            self._run(
                "set_status",
                [k.meta(cid), k.running(), k.sleeping(), k.due(cid), k.wake(cid), k.brokers(cid)],
                [",".join(sorted(allowed)), new.value, reason, cid],
                events=cid,
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

    def reconcile(self, cid: str, *, items: list[dict[str, Any]]) -> list[int]:
        """Lookups' findings for UNKNOWN rows ({member, act, patch, at}: see reconcile.lua);
        returns the rows found."""
        k = self.keys
        return _ints(
            self._run(
                "reconcile",
                [
                    k.state(cid),
                    k.counts(cid),
                    k.result(cid),
                    k.reconcile(cid),
                    k.cdr_due(cid),
                    k.records_stats(cid),
                ],
                [json.dumps(items, ensure_ascii=False)],
                events=cid,
            )
        )

    def settle_records(self, cid: str, *, items: list[dict[str, Any]]) -> list[int]:
        """Lookups' findings for DISPATCHED rows ({row, job_id, act, patch, at, next, uncount}:
        see settle_records.lua; uncount names the callee); returns the rows whose outcome was
        written."""
        k = self.keys
        keys = [
            k.state(cid),
            k.result(cid),
            k.cdr_due(cid),
            k.counts(cid),
            k.retry(cid),
            k.meta(cid),
            k.running(),
            k.wake(cid),
            k.callbacks(cid),
        ]
        sent = []
        for item in items:
            uncount = item.get("uncount")
            if uncount:  # the callee's caps key goes in KEYS; the item names its index
                keys.append(k.callee_caps(uncount["callee"]))
                uncount = {"key": len(keys), "day": uncount["day"], "month": uncount["month"]}
                item = {**item, "uncount": uncount}
            sent.append(item)
        args = [json.dumps(sent, ensure_ascii=False), cid]
        return _ints(self._run("settle_records", keys, args, events=cid))

    def forget_records(
        self,
        cid: str,
        *,
        note: str,
        dispatched_patch: dict[str, Any],
        unknown_patch: dict[str, Any],
    ) -> int:
        k = self.keys
        return int(
            self._run(
                "forget_records",
                [
                    k.meta(cid),
                    k.state(cid),
                    k.result(cid),
                    k.cdr_due(cid),
                    k.reconcile(cid),
                    k.records_stats(cid),
                ],
                [
                    note,
                    json.dumps(dispatched_patch, ensure_ascii=False),
                    json.dumps(unknown_patch, ensure_ascii=False),
                ],
                events=cid,
            )
        )

    def redial(
        self, cid: str, *, state: RowState, entries: list[tuple[str, str, str]]
    ) -> tuple[int, CampaignStatus]:
        """Put rows in `state` back as fresh attempts; `entries`: (broker, packed, reconcile
        member or ""). Returns (rows put back, the campaign's status after)."""
        k = self.keys
        out = self._run(
            "redial",
            [
                k.meta(cid),
                k.state(cid),
                k.counts(cid),
                k.result(cid),
                k.reconcile(cid),
                k.cdr_due(cid),
                k.due(cid),
                k.wake(cid),
                k.running(),
                k.records_stats(cid),
            ],
            [cid, k.queue_prefix(cid), state.value, *(v for e in entries for v in e)],
        )
        if int(out[0]) < 0:
            self._refused(cid, refusal(int(out[0])))
        return int(out[0]), CampaignStatus(out[1].decode())

    def call_ended(
        self,
        cid: str,
        *,
        row: int,
        released_at_ms: int,
        wrap_up_ms: int,
        connected: bool,
        talk_s: int,
        busy_ms: int,
        missed: bool = False,
        missed_max: int = 0,
        day: str = "",
    ) -> tuple[int | None, bool]:
        """The caller of the row's call is free from release + wrap-up: that time, or None
        when the row names no caller it rang; and whether this call put them on break:
        `missed_max` rings missed in a row do (0: never). `day`: the day the call began, for
        the agent's figures."""
        k = self.keys
        out = self._run(
            "call_ended",
            [
                k.result(cid),
                k.agents(cid),
                k.due(cid),
                k.wake(cid),
                k.caller_stats(cid),
                k.presences(),
            ],
            [
                row,
                cid,
                released_at_ms,
                wrap_up_ms,
                k.caller_prefix(),
                k.parked_prefix(cid),
                "1" if connected else "0",
                talk_s,
                busy_ms,
                "1" if missed else "0",
                k.presence_prefix(),
                missed_max,
                k.agent_day(day, ""),
            ],
            events=cid,
        )
        free_at = int(out[0])
        return (free_at if free_at >= 0 else None), bool(int(out[1]))

    def dispose(
        self,
        cid: str,
        *,
        row: int,
        job_id: str,
        agent: str,
        disposition: dict[str, Any],
        after: dict[str, Any] | None,
    ) -> int:
        """Save an agent's disposition of the row's call `job_id` and end their hold on it;
        `after` ({at, member, callback, owner, patch}): the row's next contact, applied if its
        record is already in. -1: the row's call is another now; 1: `after` applied."""
        k = self.keys
        return int(
            self._run(
                "dispose",
                [
                    k.state(cid),
                    k.result(cid),
                    k.cdr_due(cid),
                    k.counts(cid),
                    k.retry(cid),
                    k.callbacks(cid),
                    k.meta(cid),
                    k.running(),
                    k.wake(cid),
                    k.caller(agent),
                    k.agents(cid),
                    k.due(cid),
                    k.parked_callers(cid),
                    k.caller_stats(cid),
                ],
                [
                    row,
                    job_id,
                    json.dumps(disposition, ensure_ascii=False),
                    json.dumps(after, ensure_ascii=False) if after else "",
                    cid,
                    agent,
                    k.queue_prefix(cid),
                    k.parked_prefix(cid),
                ],
                events=cid,
            )
        )

    def set_presence(
        self,
        agent: str,
        *,
        state: str,
        reason: str,
        day: str,
        account: str = "",
        screen: bool | None = None,
        only_if: str = "",
    ) -> tuple[bool, str, int]:
        """(changed, previous state or "", epoch ms the previous state began)."""
        k = self.keys
        screen_arg = "" if screen is None else "1" if screen else "0"
        out = self._run(
            "set_presence",
            [k.presence(agent), k.presences(), k.agent_day(day, agent)],
            [agent, state, reason, account, screen_arg, only_if],
        )
        previous = out[1].decode() if isinstance(out[1], bytes) else str(out[1])
        return bool(int(out[0])), previous, int(out[2])

    def announce(self, cid: str, kind: str, data: dict[str, Any], row: int | None = None) -> None:
        self._run(
            "announce",
            [],
            [kind, json.dumps(data, ensure_ascii=False), "" if row is None else row],
            events=cid,
        )

    def patch_result(self, cid: str, *, row: int, patch: dict[str, Any]) -> bool:
        k = self.keys
        patched = self._run(
            "patch_result",
            [k.state(cid), k.result(cid)],
            [row, json.dumps(patch, ensure_ascii=False)],
        )
        return bool(patched)

    def take_idle_slot(self, *, interval_ms: float) -> bool:
        return bool(self._run("take_idle_slot", [self.keys.pace_account()], [interval_ms]))

    def forget_if_settled(self, cid: str) -> bool:
        k = self.keys
        return bool(
            self._run("forget_if_settled", [k.records(), k.cdr_due(cid), k.reconcile(cid)], [cid])
        )

    def delete(
        self,
        cid: str,
        *,
        brokers: list[str],
        allowed: set[CampaignStatus],
        finished_before_ms: int = -1,
    ) -> Refusal | None:
        """Delete the campaign if it is in `allowed` (and finished before the given time);
        None when deleted, else why not."""
        k = self.keys
        first = [
            k.meta(cid),
            k.counts(cid),
            k.campaigns(),
            k.running(),
            k.sleeping(),
            k.records(),
            k.parked_callers(cid),
        ]
        rest = [key for key in k.campaign_keys(cid, brokers) if key not in first]
        args = [cid, ",".join(sorted(allowed)), finished_before_ms, k.parked_prefix(cid)]
        answer = int(self._run("delete", first + rest, args))
        return None if answer == 1 else refusal(answer)

    @staticmethod
    def _refused(cid: str, why: Refusal) -> None:
        if why is Refusal.NO_CAMPAIGN:
            raise CampaignNotFound(f"no campaign {cid!r}")
        raise DialerError(f"campaign {cid}: {why.name.lower().replace('_', ' ')}")


def _ints(reply: Any) -> list[int]:
    """A script's list of numbers (an empty Lua table comes back as an empty list)."""
    return [int(v) for v in reply or []]
