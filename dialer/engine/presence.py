"""Agents at work, at rest in Redis: presence hashes, the calls that hold each agent, their
day's figures and the campaigns' callbacks. Plain storage and the scripts that change it;
what presence means and who may change it is dialer.agents'."""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from dialer.engine.codec import DialEntry, split_member
from dialer.engine.keys import Keys
from dialer.engine.scripts import Scripts
from dialer.engine.store import CampaignStore, text

Fields = dict[str, str]


@dataclass(frozen=True)
class Hold:
    """A call holding an agent: queued, dialling, talking or in wrap-up."""

    campaign: str
    row: int
    until_ms: int


@dataclass(frozen=True)
class Callback:
    campaign: str
    row: int
    owner: str  # "": anyone
    due_ms: int
    entry: DialEntry


class AgentStore:
    def __init__(self, store: CampaignStore) -> None:
        self.store = store
        self.r = store.r
        self.keys: Keys = store.keys
        self.scripts = Scripts(store.r, store.keys)

    def now_ms(self) -> int:
        return self.store.now_ms()

    def presence(self, number: str) -> Fields:
        raw = cast(dict[bytes, bytes], self.r.hgetall(self.keys.presence(number)))
        return {text(k): text(v) for k, v in raw.items()}

    def numbers(self) -> list[str]:
        """Every agent with a presence, the most recently changed first."""
        return [text(n) for n in cast(list[bytes], self.r.zrevrange(self.keys.presences(), 0, -1))]

    def presence_of(self, numbers: list[str]) -> dict[str, Fields]:
        """The presence hashes of `numbers` in one round trip (an empty dict: none)."""
        pipe = self.r.pipeline(transaction=False)
        for n in numbers:
            pipe.hgetall(self.keys.presence(n))
        raw = cast(list[dict[bytes, bytes]], pipe.execute())
        return {
            n: {text(k): text(v) for k, v in h.items()} for n, h in zip(numbers, raw, strict=True)
        }

    def beat(self, number: str) -> None:
        """The agent's screen is alive (only a presence kept by a screen has beats)."""
        self.r.hset(self.keys.presence(number), "seen", self.now_ms())

    def shown(self, number: str, cid: str, row: int) -> None:
        """The agent's own screen shows this reserved call's card: it may ring them now
        (BEGIN_DIAL waits for this, a little, when they sign in)."""
        self.r.hset(self.keys.presence(number), "shown", f"{cid}:{row}")

    def holds(self, number: str) -> list[Hold]:
        """The calls holding the agent now, the newest first."""
        now = self.now_ms()
        members = cast(
            list[tuple[bytes, float]],
            self.r.zrangebyscore(self.keys.caller(number), now, "+inf", withscores=True),
        )
        out = []
        for member, until in members:
            cid, _, row = text(member).rpartition(":")
            out.append(Hold(cid, int(row), int(until)))
        return sorted(out, key=lambda h: (h.campaign, h.row), reverse=True)

    def recent_calls(self, number: str) -> list[tuple[str, int]]:
        """(campaign, row) of the agent's last calls, newest first."""
        out = []
        for member in cast(list[bytes], self.r.lrange(self.keys.agent_calls(number), 0, -1)):
            cid, _, row = text(member).rpartition(":")
            out.append((cid, int(row)))
        return out

    def day_figures(self, day: str, number: str) -> dict[str, int]:
        raw = cast(dict[bytes, bytes], self.r.hgetall(self.keys.agent_day(day, number)))
        return {text(k): int(v) for k, v in raw.items()}

    def days_figures(self, days: list[str], numbers: list[str]) -> dict[str, list[dict[str, int]]]:
        """Each agent's figures for each of `days`, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for n in numbers:
            for day in days:
                pipe.hgetall(self.keys.agent_day(day, n))
        raw = iter(cast(list[dict[bytes, bytes]], pipe.execute()))
        return {n: [{text(k): int(v) for k, v in next(raw).items()} for _ in days] for n in numbers}

    def disposition_counts(self, cid: str) -> dict[str, int]:
        """Dispositions saved in the campaign so far, by code."""
        raw = cast(dict[bytes, bytes], self.r.hgetall(self.keys.caller_stats(cid)))
        prefix = "disposed:"
        return {
            text(k)[len(prefix) :]: int(v) for k, v in raw.items() if text(k).startswith(prefix)
        }

    def pool(self, cid: str) -> list[str]:
        """The campaign's pool agents."""
        return [text(n) for n in cast(list[bytes], self.r.zrange(self.keys.agents(cid), 0, -1))]

    def works_in(self, cid: str, number: str) -> bool:
        """The agent is in the campaign's pool, or has been rung by it."""
        if self.r.zscore(self.keys.agents(cid), number) is not None:
            return True
        return bool(self.r.hexists(self.keys.caller_stats(cid), f"n:{number}"))

    def callbacks(self, cid: str) -> list[Callback]:
        raw = cast(
            list[tuple[bytes, float]],
            self.r.zrange(self.keys.callbacks(cid), 0, -1, withscores=True),
        )
        out = []
        for member, due in raw:
            owner, rest = split_member(member)
            broker, packed = split_member(rest)
            entry = DialEntry.unpack(packed, broker)
            out.append(Callback(cid, entry.row, owner, int(due), entry))
        return out

    def row_pending_record(self, cid: str, row: int) -> bool:
        """The row's call record is still to be looked up."""
        return self.r.zscore(self.keys.cdr_due(cid), str(row)) is not None
