"""CampaignStore: every read and write of campaign data in Redis.

Layout (keys in dialer.keys): the source rows live compressed in blocks of ROWS_PER_BLOCK
(immutable, read back in order for the results sheet); each accepted row is also one packed
dial entry in its broker's queue list; per-row state and outcome exist only for rows that
have left PENDING. That keeps a million-row campaign around 100 bytes a row."""

from __future__ import annotations

import json
import time
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, cast

import pandas as pd
import redis

from dialer.errors import CampaignNotFound
from dialer.keys import Keys
from dialer.models import CampaignSettings, CampaignStatus, RowState

ROWS_PER_BLOCK = 1000
SEP = "\x1f"
ROW_FIELDS = ("row", "caller", "callee", "broker", "additional_broker", "timeout_seconds", "tags")


def text(value: bytes | str) -> str:
    """A Redis reply as str: redis-py types replies `bytes | str` (decode_responses decides);
    our clients get bytes."""
    return value.decode() if isinstance(value, bytes) else value


@dataclass(frozen=True)
class DialEntry:
    """What a worker needs to place one row's call; travels in queues and Celery messages."""

    row: int
    caller: str
    callee: str
    broker: str
    additional_broker: str
    timeout_seconds: int
    from_pool: bool
    tags: str

    def pack(self) -> str:
        """Without the broker: the queue a packed entry sits in names it."""
        return SEP.join(
            (
                str(self.row), self.caller, self.callee, self.additional_broker,
                str(self.timeout_seconds), "1" if self.from_pool else "0", self.tags,
            )
        )  # fmt: skip

    @classmethod
    def unpack(cls, packed: str | bytes, broker: str) -> DialEntry:
        text = packed.decode() if isinstance(packed, bytes) else packed
        row, caller, callee, extra, timeout, pool, tags = text.split(SEP, 6)
        return cls(int(row), caller, callee, broker, extra, int(timeout), pool == "1", tags)


@dataclass(frozen=True)
class Campaign:
    id: str
    settings: CampaignSettings
    status: CampaignStatus
    file: str
    created_at: float
    passthrough: tuple[str, ...]
    total: int
    accepted: int
    rejected: int
    pause_reason: str
    resumes_at: float | None = None  # set while outside the calling windows

    @property
    def brokers(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.settings.pool) | set(self.settings.broker_rates)))


class CampaignStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    # --- upload -------------------------------------------------------------------------

    def create(self, settings: CampaignSettings, file: str, passthrough: tuple[str, ...]) -> str:
        cid = uuid.uuid4().hex[:12]
        self.r.hset(
            self.keys.meta(cid),
            mapping={
                "settings": json.dumps(asdict(settings), ensure_ascii=False),
                "status": "UPLOADING",
                "file": file,
                "created_at": time.time(),
                "passthrough": json.dumps(list(passthrough), ensure_ascii=False),
                "total": 0,
                "accepted": 0,
                "rejected": 0,
                "pause_reason": "",
            },
        )
        return cid

    def add_rows(self, cid: str, frame: pd.DataFrame, passthrough: tuple[str, ...]) -> None:
        """Store one validated chunk (see dialer.ingest.validate_chunk)."""
        if frame.empty:
            return
        pipe = self.r.pipeline(transaction=False)
        records = frame[[*ROW_FIELDS, *passthrough]]
        first_block = (int(frame["row"].iloc[0]) - 1) // ROWS_PER_BLOCK
        for i, start in enumerate(range(0, len(records), ROWS_PER_BLOCK)):
            block = records.iloc[start : start + ROWS_PER_BLOCK].to_numpy().tolist()
            payload = zlib.compress(json.dumps(block, ensure_ascii=False).encode(), 1)
            pipe.hset(self.keys.rows(cid), str(first_block + i), payload)

        accepted = frame[frame["reason"] == ""]
        packed = (
            accepted["row"].astype(str) + SEP + accepted["caller"] + SEP + accepted["callee"]
            + SEP + accepted["additional_broker"] + SEP + accepted["timeout_seconds"]
            + SEP + accepted["pool"].map({True: "1", False: "0"}) + SEP + accepted["tags"]
        )  # fmt: skip
        for broker, entries in packed.groupby(accepted["broker"], sort=False):
            values = entries.tolist()
            for start in range(0, len(values), 10_000):
                pipe.rpush(self.keys.queue(cid, str(broker)), *values[start : start + 10_000])

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

    def finish_upload(self, cid: str) -> None:
        pipe = self.r.pipeline()
        pipe.hset(self.keys.meta(cid), "status", CampaignStatus.READY.value)
        pipe.zadd(self.keys.campaigns(), {cid: time.time()})
        pipe.execute()

    def delete(self, cid: str) -> None:
        keys = list(self.r.scan_iter(match=self.keys.campaign_keys(cid), count=1000))
        for start in range(0, len(keys), 500):
            self.r.delete(*keys[start : start + 500])
        self.r.zrem(self.keys.campaigns(), cid)

    # --- reading ------------------------------------------------------------------------

    def campaign(self, cid: str) -> Campaign:
        meta = {text(k): text(v) for k, v in self.r.hgetall(self.keys.meta(cid)).items()}
        if not meta or meta.get("status") == "UPLOADING":
            raise CampaignNotFound(f"no campaign {cid!r}")
        raw = json.loads(meta["settings"])
        raw["pool"] = tuple(raw["pool"])
        raw["windows"] = tuple(raw.get("windows") or CampaignSettings.windows)
        return Campaign(
            id=cid,
            settings=CampaignSettings(**raw),
            status=CampaignStatus(meta["status"]),
            file=meta["file"],
            created_at=float(meta["created_at"]),
            passthrough=tuple(json.loads(meta["passthrough"])),
            total=int(meta["total"]),
            accepted=int(meta["accepted"]),
            rejected=int(meta["rejected"]),
            pause_reason=meta.get("pause_reason", ""),
            resumes_at=float(meta["resumes_at"]) if meta.get("resumes_at") else None,
        )

    def counts(self, cid: str) -> dict[str, int]:
        raw = self.r.hgetall(self.keys.counts(cid))
        return {text(k): int(v) for k, v in raw.items() if int(v)}

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
