"""The do-not-call list: one for the whole namespace, every campaign, kept until a number is
removed. BEGIN_DIAL (lua/begin_dial.lua) refuses a callee on it at the moment the call would
begin, so a number added while a campaign runs is never rung after that."""

from __future__ import annotations

from collections.abc import Iterable

from dialer.engine.store import CampaignStore

BATCH = 1000


class DoNotCall:
    def __init__(self, store: CampaignStore) -> None:
        self.r = store.r
        self.key = store.keys.dnc()
        self.now_ms = store.now_ms

    def add(self, numbers: Iterable[str]) -> int:
        """Numbers (normalised as a sheet's callee is) put on the list; returns how many were
        not on it yet."""
        added = 0
        now = self.now_ms()
        batch: list[str] = []
        for number in numbers:
            batch.append(number)
            if len(batch) == BATCH:
                added += self._add(batch, now)
                batch = []
        return added + (self._add(batch, now) if batch else 0)

    def _add(self, numbers: list[str], now: int) -> int:
        pipe = self.r.pipeline(transaction=False)
        for number in numbers:
            pipe.hsetnx(self.key, number, now)
        return sum(int(n) for n in pipe.execute())

    def remove(self, numbers: Iterable[str]) -> int:
        wanted = list(numbers)
        return int(self.r.hdel(self.key, *wanted)) if wanted else 0

    def entries(self) -> list[tuple[str, int]]:
        """(number, epoch ms it was added), by number."""
        return sorted(
            (k.decode() if isinstance(k, bytes) else str(k), int(v))
            for k, v in self.r.hscan_iter(self.key, count=BATCH)
        )

    def __contains__(self, number: str) -> bool:
        return bool(self.r.hexists(self.key, number))

    def __len__(self) -> int:
        return int(self.r.hlen(self.key))
