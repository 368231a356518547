"""CampaignStore: a campaign's data at rest — upload, reading back, listing, deleting.

Layout (keys in dialer.engine.keys): the source rows live compressed in blocks of
ROWS_PER_BLOCK (immutable, read back in order for the results sheet); each accepted row is
also one packed dial entry (dialer.engine.codec) in its broker's queue list; per-row state and
outcome exist only for rows that have left PENDING. That keeps a million-row campaign around
100 bytes a row. Row transitions are Lua scripts, called through dialer.engine.Engine."""

from __future__ import annotations

import json
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
import redis

from dialer.engine.codec import (
    Campaign,
    DialEntry,
    decode_meta,
    encode_meta,
    pack_frame,
    row_of,
    split_member,
)
from dialer.engine.keys import Keys
from dialer.engine.pacing import interval_ms
from dialer.errors import StoreError
from dialer.models import CampaignSettings, CampaignStatus, RowState

ROWS_PER_BLOCK = 1000
ROW_FIELDS = ("row", "caller", "callee", "broker", "additional_broker", "timeout_seconds", "tags")


def text(value: bytes | str) -> str:
    """A Redis reply as str: redis-py types replies `bytes | str` (decode_responses decides);
    our clients get bytes."""
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class CallerFigures:
    """What one caller (a person) has done in a campaign, and whether they are held now."""

    number: str
    calls: int
    connected: int
    talk_s: int
    busy_ms: int
    held_until_ms: int | None
    missed: int = 0  # calls whose leg to this caller rang out (the customer was not rung)


@dataclass(frozen=True)
class BrokerFigures:
    """What a campaign has done on one broker number so far."""

    number: str
    dispatched: int
    first_ms: int
    last_ms: int
    waiting: int
    down: str  # the error code that took it out of the campaign, if any


@dataclass(frozen=True)
class Progress:
    """What tells whether a running campaign is dialling, waiting, or stalled."""

    next_retry_ms: int | None  # the earliest RETRY_WAIT row's time
    capped: dict[str, str]  # broker -> day key (campaign zone) it reached its daily cap
    fed: bool  # a worker's feeder leads the campaign (its lease is held)
    last_call_ms: int  # a call last began on one of its brokers (any campaign), 0: never
    parked: int = 0  # PENDING rows waiting for their caller, busy on another call
    caller_free_ms: int | None = None  # when the first of those callers is free again


class CampaignStore:
    def __init__(self, client: redis.Redis, keys: Keys, *, pace_margin_ms: float = 10.0) -> None:
        self.r = client
        self.keys = keys
        self.pace_margin_ms = pace_margin_ms

    def now_ms(self) -> int:
        seconds, micros = self.r.time()
        return int(seconds) * 1000 + int(micros) // 1000

    # --- upload -------------------------------------------------------------------------

    def create(self, settings: CampaignSettings, file: str, passthrough: tuple[str, ...]) -> str:
        cid = uuid.uuid4().hex[:12]
        pipe = self.r.pipeline()
        pipe.hset(
            self.keys.meta(cid), mapping=encode_meta(settings, file, passthrough, self.now_ms())
        )
        for broker in set(settings.pool) | set(settings.broker_rates):
            pipe.hset(self.keys.brokers(cid), broker, self.interval_ms(settings, broker))
        if settings.agents:
            # All free from the start, in the order given.
            pipe.zadd(self.keys.agents(cid), {a: i for i, a in enumerate(settings.agents)})
        pipe.execute()
        return cid

    def interval_ms(self, settings: CampaignSettings, broker: str) -> float:
        return interval_ms(settings, broker, self.pace_margin_ms)

    def add_rows(
        self,
        cid: str,
        frame: pd.DataFrame,
        passthrough: tuple[str, ...],
        settings: CampaignSettings,
    ) -> None:
        """Store one validated chunk (see dialer.sheets.validate.validate_chunk)."""
        if frame.empty:
            return
        pipe = self.r.pipeline(transaction=False)
        records: list[Any] = frame[[*ROW_FIELDS, *passthrough]].to_numpy().tolist()
        first_block, offset = divmod(int(frame["row"].iloc[0]) - 1, ROWS_PER_BLOCK)
        if offset:  # rows appended to a campaign: the block they begin in holds earlier rows
            payload = self.r.hget(self.keys.rows(cid), str(first_block))
            earlier = json.loads(zlib.decompress(cast(bytes, payload))) if payload else []
            records = earlier[:offset] + records
        for i, start in enumerate(range(0, len(records), ROWS_PER_BLOCK)):
            block = records[start : start + ROWS_PER_BLOCK]
            payload = zlib.compress(json.dumps(block, ensure_ascii=False).encode(), 1)
            pipe.hset(self.keys.rows(cid), str(first_block + i), payload)

        accepted = frame[frame["reason"] == ""]
        packed = pack_frame(accepted)
        for broker, entries in packed.groupby(accepted["broker"], sort=False):
            values = entries.tolist()
            for start in range(0, len(values), 10_000):
                pipe.rpush(self.keys.queue(cid, str(broker)), *values[start : start + 10_000])
            pipe.hset(self.keys.brokers(cid), str(broker), self.interval_ms(settings, str(broker)))

        rejected = frame[frame["reason"] != ""]
        if len(rejected):
            rows = rejected["row"].astype(str).tolist()
            pipe.hset(self.keys.state(cid), mapping=dict.fromkeys(rows, RowState.REJECTED.value))
            results = [
                json.dumps({"error_code": code, "error_message": detail}, ensure_ascii=False)
                for code, detail in zip(rejected["reason"], rejected["detail"], strict=True)
            ]
            pipe.hset(self.keys.result(cid), mapping=dict(zip(rows, results, strict=True)))
        pipe.hincrby(self.keys.counts(cid), RowState.PENDING.value, len(accepted))
        pipe.hincrby(self.keys.counts(cid), RowState.REJECTED.value, len(rejected))
        pipe.hincrby(self.keys.meta(cid), "total", len(frame))
        pipe.hincrby(self.keys.meta(cid), "accepted", len(accepted))
        pipe.hincrby(self.keys.meta(cid), "rejected", len(rejected))
        pipe.execute()

    def release_lease(self, key: str, owner: str) -> None:
        """Give up a lease (acquire_lease) this owner holds; one another took is left alone."""
        if self.r.get(key) == owner.encode():
            self.r.delete(key)

    def finish_upload(self, cid: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self.keys.meta(cid), "status", CampaignStatus.READY.value)
        pipe.zadd(self.keys.campaigns(), {cid: self.now_ms()})
        pipe.execute()

    def delete(self, cid: str) -> None:
        """Every key of the campaign, and its place in the shared sets."""
        brokers = self.brokers(cid)
        parked = [text(c) for c in self.r.smembers(self.keys.parked_callers(cid))]
        keys = self.keys.campaign_keys(cid, brokers) + [self.keys.parked(cid, c) for c in parked]
        pipe = self.r.pipeline()
        for start in range(0, len(keys), 500):
            pipe.delete(*keys[start : start + 500])
        pipe.zrem(self.keys.campaigns(), cid)
        pipe.srem(self.keys.running(), cid)
        pipe.zrem(self.keys.sleeping(), cid)
        pipe.srem(self.keys.records(), cid)
        pipe.execute()

    # --- reading ------------------------------------------------------------------------

    def campaign(self, cid: str) -> Campaign:
        meta = {text(k): text(v) for k, v in self.r.hgetall(self.keys.meta(cid)).items()}
        return decode_meta(cid, meta)

    def running_ids(self) -> list[str]:
        """Campaigns RUNNING, inside their calling window or waiting for it to open."""
        running = cast("set[bytes]", self.r.smembers(self.keys.running()))
        sleeping = cast("list[bytes]", self.r.zrange(self.keys.sleeping(), 0, -1))
        return sorted({text(c) for c in (*running, *sleeping)})

    def source_row(self, cid: str, row: int) -> list[Any] | None:
        """The row as uploaded: ROW_FIELDS, then the sheet's own columns (passthrough)."""
        return self._source_records(cid, [row]).get(row)

    def campaign_ids(self) -> list[str]:
        """Every stored campaign, oldest first."""
        return [text(c) for c in cast("list[bytes]", self.r.zrange(self.keys.campaigns(), 0, -1))]

    def brokers(self, cid: str) -> list[str]:
        """Every broker of the campaign: the sheet's and the pool's."""
        return sorted(text(b) for b in self.r.hkeys(self.keys.brokers(cid)))

    def counts(self, cid: str) -> dict[str, int]:
        raw = self.r.hgetall(self.keys.counts(cid))
        return {text(k): int(v) for k, v in raw.items() if int(v)}

    def broker_figures(self, cid: str) -> list[BrokerFigures]:
        brokers = self.brokers(cid)
        pipe = self.r.pipeline(transaction=False)
        pipe.hgetall(self.keys.dialed(cid))
        pipe.hgetall(self.keys.broker_down(cid))
        for b in brokers:
            pipe.llen(self.keys.queue(cid, b))
        dialed_raw, down_raw, *waiting = pipe.execute()
        dialed = {text(k): int(float(v)) for k, v in dialed_raw.items()}
        down = {text(k): text(v) for k, v in down_raw.items()}
        return [
            BrokerFigures(
                b,
                dialed.get(f"n:{b}", 0),
                dialed.get(f"first:{b}", 0),
                dialed.get(f"last:{b}", 0),
                int(n),
                down.get(b, ""),
            )
            for b, n in zip(brokers, waiting, strict=True)
        ]

    def progress(self, cid: str, brokers: list[str]) -> Progress:
        callers = [text(c) for c in self.r.smembers(self.keys.parked_callers(cid))]
        pipe = self.r.pipeline(transaction=False)
        pipe.zrange(self.keys.retry(cid), 0, 0, withscores=True)
        pipe.hgetall(self.keys.broker_capped(cid))
        pipe.exists(self.keys.feeder_lease(cid))
        for c in callers:
            pipe.llen(self.keys.parked(cid, c))
            pipe.zrange(self.keys.caller(c), 0, 0, withscores=True)
        for b in brokers:
            pipe.get(self.keys.last_dial(b))
        retry, capped, fed, *rest = pipe.execute()
        parked, holds, last = (
            rest[0 : 2 * len(callers) : 2],
            rest[1 : 2 * len(callers) : 2],
            rest[2 * len(callers) :],
        )
        free = [int(hold[0][1]) for hold in holds if hold]
        return Progress(
            next_retry_ms=int(retry[0][1]) if retry else None,
            capped={text(k): text(v) for k, v in capped.items()},
            fed=bool(fed),
            last_call_ms=int(max((float(t) for t in last if t), default=0)),
            parked=sum(int(n) for n in parked),
            caller_free_ms=min(free, default=None),
        )

    def claim(self, key: str, owner: str, ttl_ms: int) -> bool:
        """Take `key` for `ttl_ms` if nobody holds it (a fleet-wide "once per period")."""
        return bool(self.r.set(key, owner, nx=True, px=ttl_ms))

    def ping(self) -> bool:
        """Whether Redis answers."""
        try:
            return bool(self.r.ping())
        except StoreError:
            return False

    def rows_in_states(
        self, cid: str, states: set[str], limit: int | None = None
    ) -> list[tuple[list[Any], str, dict[str, Any]]]:
        """(source record, state, outcome record) of up to `limit` rows in `states` (never
        PENDING: those rows have no state entry), in source order."""
        wanted = sum(n for s, n in self.counts(cid).items() if s in states)
        if limit is not None:
            wanted = min(wanted, limit)
        found: dict[int, str] = {}
        if wanted:
            for raw_row, raw_state in self.r.hscan_iter(self.keys.state(cid), count=1000):
                state = text(raw_state).split("|", 1)[0]
                if state in states:
                    found[int(text(raw_row))] = state
                    if len(found) >= wanted:
                        break
        rows = sorted(found)
        records: dict[int, list[Any]] = {}
        for block in sorted({(r - 1) // ROWS_PER_BLOCK for r in rows}):
            payload = self.r.hget(self.keys.rows(cid), str(block))
            for rec in json.loads(zlib.decompress(cast(bytes, payload))) if payload else []:
                records[int(rec[0])] = rec
        results = self.r.hmget(self.keys.result(cid), [str(r) for r in rows]) if rows else []
        return [
            (records.get(r, [r]), found[r], json.loads(res) if res else {})
            for r, res in zip(rows, results, strict=True)
        ]

    def caller_figures(
        self, cid: str, agents: tuple[str, ...], limit: int = 200
    ) -> list[CallerFigures]:
        """Calls, connected, talk and busy time of the campaign's callers (its agents and
        every caller it has rung; the `limit` with most calls), and until when each is held
        now by calls of any campaign (None: free)."""
        raw = self.r.hgetall(self.keys.caller_stats(cid))
        stats = {text(k): int(v) for k, v in raw.items()}
        every = set(agents) | {k[2:] for k in stats if k.startswith("n:")}
        callers = sorted(every, key=lambda c: (-stats.get(f"n:{c}", 0), c))[:limit]
        now = self.now_ms()
        pipe = self.r.pipeline(transaction=False)
        for c in callers:
            pipe.zrangebyscore(self.keys.caller(c), now, "+inf", withscores=True)
        holds = pipe.execute()
        return [
            CallerFigures(
                c,
                stats.get(f"n:{c}", 0),
                stats.get(f"connected:{c}", 0),
                stats.get(f"talk_s:{c}", 0),
                stats.get(f"busy_ms:{c}", 0),
                int(max(s for _, s in held)) if held else None,
                stats.get(f"missed:{c}", 0),
            )
            for c, held in zip(callers, holds, strict=True)
        ]

    def next_retry(self, cid: str) -> tuple[int, int | None]:
        """(rows waiting in RETRY_WAIT — a recycle, an agent's miss or a transient failure's
        backoff —, epoch ms the first is due; None if none)."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zcard(self.keys.retry(cid))
        pipe.zrange(self.keys.retry(cid), 0, 0, withscores=True)
        n, first = pipe.execute()
        return int(n), int(first[0][1]) if first else None

    def row_state(self, cid: str, row: int) -> str:
        """The row's RowState value (a row missing from the state hash is PENDING)."""
        raw = self.r.hget(self.keys.state(cid), str(row))
        return text(raw).split("|", 1)[0] if raw else RowState.PENDING.value

    def result_of(self, cid: str, row: int) -> dict[str, Any]:
        raw = self.r.hget(self.keys.result(cid), str(row))
        return json.loads(raw) if raw else {}

    def iter_rows(self, cid: str) -> Iterator[tuple[list[Any], str, dict[str, Any]]]:
        """(source record, state, outcome record) for every row in source order."""
        blocks = self.r.hlen(self.keys.rows(cid))
        for block in range(blocks):
            payload = self.r.hget(self.keys.rows(cid), str(block))
            if payload is None:
                continue
            records = json.loads(zlib.decompress(cast(bytes, payload)))
            rows = [str(rec[0]) for rec in records]
            states = self.r.hmget(self.keys.state(cid), rows)
            results = self.r.hmget(self.keys.result(cid), rows)
            for rec, state, result in zip(records, states, results, strict=True):
                yield (
                    rec,
                    text(state) if state else RowState.PENDING.value,
                    json.loads(result) if result else {},
                )

    # --- call-record bookkeeping (dialer.records.poller) -----------------------------------------

    def records_campaigns(self) -> list[str]:
        """Campaigns with call records still to look up (DISPATCHED rows without an outcome,
        UNKNOWN rows not yet found)."""
        return sorted(text(c) for c in self.r.smembers(self.keys.records()))

    def due_lookups(
        self, cid: str, now_ms: int, limit: int, ahead_ms: int = 0
    ) -> tuple[dict[int, int], dict[str, int]]:
        """({DISPATCHED row whose record is due for a lookup by `now_ms + ahead_ms`: when it
        falls due}, {reconcile member of an UNKNOWN row due for one by `now_ms`: when}), at
        most `limit` of each, the longest-waiting first."""
        pipe = self.r.pipeline(transaction=False)
        pipe.zrangebyscore(
            self.keys.cdr_due(cid), "-inf", now_ms + ahead_ms, start=0, num=limit, withscores=True
        )
        pipe.zrangebyscore(
            self.keys.reconcile(cid), "-inf", now_ms, start=0, num=limit, withscores=True
        )
        rows, members = pipe.execute()
        return ({int(r): int(at) for r, at in rows}, {text(m): int(at) for m, at in members})

    def results_of(self, cid: str, rows: list[int]) -> dict[int, dict[str, Any]]:
        if not rows:
            return {}
        raw = self.r.hmget(self.keys.result(cid), [str(r) for r in rows])
        return {r: json.loads(v) if v else {} for r, v in zip(rows, raw, strict=True)}

    def calls_placed(self, cids: list[str]) -> int:
        """Rows of these campaigns whose call was (or may have been) placed: DISPATCHED and
        UNKNOWN. It grows with every call placed: what call-record lookups are budgeted by."""
        pipe = self.r.pipeline(transaction=False)
        for cid in cids:
            pipe.hmget(self.keys.counts(cid), [RowState.DISPATCHED.value, RowState.UNKNOWN.value])
        return sum(int(n or 0) for counts in pipe.execute() for n in counts)

    def count_lookup_failures(self, cid: str, codes: dict[str, int]) -> None:
        """Lookups that failed (an error, or an answer that was not call records), by code."""
        pipe = self.r.pipeline(transaction=False)
        for code, n in codes.items():
            pipe.hincrby(self.keys.records_stats(cid), f"failed:{code}", n)
        pipe.execute()

    def lookup_failures(self, cid: str) -> dict[str, int]:
        return self._stats(cid, "failed:")

    def unknown_reasons(self, cid: str) -> tuple[dict[str, int], int]:
        """(UNKNOWN rows whose lookups ended, by reason; UNKNOWN rows still looked up)."""
        return self._stats(cid, "unknown:"), int(self.r.zcard(self.keys.reconcile(cid)))

    def _stats(self, cid: str, prefix: str) -> dict[str, int]:
        raw = self.r.hgetall(self.keys.records_stats(cid))
        return {
            text(k).removeprefix(prefix): int(v)
            for k, v in raw.items()
            if text(k).startswith(prefix) and int(v)
        }

    def reconcile_members(self, cid: str) -> dict[int, str]:
        """Row -> its reconcile member, for UNKNOWN rows still looked up."""
        members = cast("list[bytes]", self.r.zrange(self.keys.reconcile(cid), 0, -1))
        return {row_of(split_member(m)[1]): text(m) for m in members}

    def dial_entries(self, campaign: Campaign, rows: list[int]) -> dict[int, DialEntry]:
        """The dial entries of these rows, rebuilt from the source rows, on the broker of
        their last attempt. A row on a pool number counts as the pool's (it may move if its
        broker goes down): whether the sheet named that number itself is not kept."""
        records = self._source_records(campaign.id, rows)
        results = self.results_of(campaign.id, [r for r in rows if r in records])
        pool = set(campaign.settings.pool)
        entries = {}
        for row, rec in records.items():
            _, caller, callee, broker, extra, timeout, tags = rec[: len(ROW_FIELDS)]
            broker = str(results[row].get("broker") or broker)
            entries[row] = DialEntry(
                row,
                str(caller),
                str(callee),
                broker,
                str(extra or ""),
                int(timeout),
                broker in pool,
                str(tags or ""),
            )
        return entries

    def _source_records(self, cid: str, rows: list[int]) -> dict[int, list[Any]]:
        wanted = set(rows)
        records: dict[int, list[Any]] = {}
        for block in sorted({(r - 1) // ROWS_PER_BLOCK for r in wanted}):
            payload = self.r.hget(self.keys.rows(cid), str(block))
            for rec in json.loads(zlib.decompress(cast(bytes, payload))) if payload else []:
                if int(rec[0]) in wanted:
                    records[int(rec[0])] = rec
        return records
