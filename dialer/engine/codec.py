"""The two encodings the engine stores: the packed dial entry and the campaign meta hash.

A packed entry is one row's dialling data, fields joined by SEP in ENTRY_FIELDS order; it is
what the broker queues, the lease/retry/reconcile sets and Celery messages carry. The Lua
side decodes it with the same table (`ENTRY` in the generated prelude), and a test
round-trips `pack_frame`'s output through the Lua decoder."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from dialer.errors import CampaignNotFound
from dialer.models import CampaignSettings, CampaignStatus

SEP = "\x1f"
# The broker is not a field: the queue (or set member) an entry sits in names it.
# `avoid`: the pool agent who last missed this row's call (dialer.strategy): FEED gives the row
# to any other agent. Empty for a row as uploaded.
ENTRY_FIELDS = (
    "row",
    "caller",
    "callee",
    "additional_broker",
    "timeout_seconds",
    "from_pool",
    "avoid",
    "tags",
)


@dataclass(frozen=True)
class DialEntry:
    """What a worker needs to place one row's call."""

    row: int
    caller: str
    callee: str
    broker: str
    additional_broker: str
    timeout_seconds: int
    from_pool: bool
    tags: str
    avoid: str = ""

    def pack(self) -> str:
        return SEP.join(
            (
                str(self.row),
                self.caller,
                self.callee,
                self.additional_broker,
                str(self.timeout_seconds),
                "1" if self.from_pool else "0",
                self.avoid,
                self.tags,
            )
        )

    @classmethod
    def unpack(cls, packed: str | bytes, broker: str) -> DialEntry:
        text = packed.decode() if isinstance(packed, bytes) else packed
        fields = text.split(SEP, len(ENTRY_FIELDS) - 1)
        if len(fields) == len(ENTRY_FIELDS) - 1:
            # Queued before entries had `avoid` (an upgrade with campaigns running).
            fields.insert(ENTRY_FIELDS.index("avoid"), "")
        row, caller, callee, extra, timeout, pool, avoid, tags = fields
        return cls(int(row), caller, callee, broker, extra, int(timeout), pool == "1", tags, avoid)


def row_of(packed: str) -> int:
    return int(packed.split(SEP, 1)[0])


def pack_frame(frame: pd.DataFrame) -> pd.Series:
    """Packed entries of validated rows (dialer.sheets.validate), vectorised: `DialEntry.pack`
    for a whole chunk at once."""
    columns = {
        "row": frame["row"].astype(str),
        "caller": frame["caller"],
        "callee": frame["callee"],
        "additional_broker": frame["additional_broker"],
        "timeout_seconds": frame["timeout_seconds"].astype(str),
        "from_pool": frame["pool"].map({True: "1", False: "0"}),
        "avoid": pd.Series("", index=frame.index),
        "tags": frame["tags"],
    }
    packed = columns[ENTRY_FIELDS[0]]
    for name in ENTRY_FIELDS[1:]:
        packed = packed + SEP + columns[name]
    return packed


def member(broker: str, packed: str) -> str:
    """How lease, retry and reconcile sets hold a row."""
    return broker + SEP + packed


def callback_member(owner: str, broker: str, packed: str) -> str:
    """How the callbacks set holds a row waiting for its callback (owner "": anyone)."""
    return owner + SEP + broker + SEP + packed


def split_member(value: str | bytes) -> tuple[str, str]:
    text = value.decode() if isinstance(value, bytes) else value
    broker, packed = text.split(SEP, 1)
    return broker, packed


@dataclass(frozen=True)
class Campaign:
    """Every field of a campaign's meta hash. Times are epoch ms on the Redis clock."""

    id: str
    settings: CampaignSettings
    status: CampaignStatus
    file: str
    created_at_ms: int
    passthrough: tuple[str, ...]
    total: int = 0
    accepted: int = 0
    rejected: int = 0
    pause_reason: str = ""
    resumes_at_ms: int | None = None  # set while outside the calling windows
    finished_at_ms: int | None = None
    running_since_ms: int | None = None  # the last start or resume
    outcomes_note: str = ""  # why call records are not fetched, when they are not
    token: int = 0  # the last token base FEED minted

    @property
    def brokers(self) -> tuple[str, ...]:
        return tuple(sorted(set(self.settings.pool) | set(self.settings.broker_rates)))


def encode_meta(
    settings: CampaignSettings, file: str, passthrough: tuple[str, ...], created_at_ms: int
) -> Mapping[Any, str | int]:
    """The meta hash of a campaign being uploaded."""
    return {
        "settings": json.dumps(asdict(settings), ensure_ascii=False),
        "status": CampaignStatus.UPLOADING.value,
        "file": file,
        "created_at": created_at_ms,
        "passthrough": json.dumps(list(passthrough), ensure_ascii=False),
        "total": 0,
        "accepted": 0,
        "rejected": 0,
        "pause_reason": "",
    }


def decode_meta(cid: str, meta: Mapping[str, str]) -> Campaign:
    if not meta or meta.get("status") == CampaignStatus.UPLOADING.value:
        raise CampaignNotFound(f"no campaign {cid!r}")
    raw: dict[str, Any] = json.loads(meta["settings"])
    raw["pool"] = tuple(raw["pool"])
    raw["agents"] = tuple(raw.get("agents") or ())
    raw["windows"] = tuple(raw.get("windows") or CampaignSettings.windows)
    return Campaign(
        id=cid,
        settings=CampaignSettings(**raw),
        status=CampaignStatus(meta["status"]),
        file=meta["file"],
        created_at_ms=int(float(meta["created_at"])),
        passthrough=tuple(json.loads(meta["passthrough"])),
        total=int(meta["total"]),
        accepted=int(meta["accepted"]),
        rejected=int(meta["rejected"]),
        pause_reason=meta.get("pause_reason", ""),
        resumes_at_ms=_ms(meta.get("resumes_at")),
        finished_at_ms=_ms(meta.get("finished_at")),
        running_since_ms=_ms(meta.get("running_since")),
        outcomes_note=meta.get("outcomes_note", ""),
        token=int(meta.get("token") or 0),
    )


def _ms(value: str | None) -> int | None:
    return int(float(value)) if value else None
