"""The audit trail: who changed what, when, from where — and who tried and was refused.

Entries are appended to a Redis stream (dialer.engine.accounts) and never edited; those older
than DIALER_AUDIT_RETENTION_DAYS are trimmed as new ones arrive. An entry's detail holds what
was changed (campaign, counts, options) and never a secret."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from dialer.engine.accounts import AccountStore

DAY_MS = 86_400_000
PAGE = 500
_RELATIVE = re.compile(r"(\d+(?:\.\d+)?)\s*([mhd])")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": DAY_MS}


class Outcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # the role may not do this: nothing changed
    FAILED = "failed"  # a failed sign-in, or a change that was allowed but did not happen


@dataclass(frozen=True)
class Entry:
    id: str
    at_ms: int
    who: str
    role: str
    address: str
    action: str
    target: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at_ms": self.at_ms,
            "at": dt.datetime.fromtimestamp(self.at_ms / 1000, dt.UTC).isoformat(
                timespec="seconds"
            ),
            "who": self.who,
            "role": self.role,
            "address": self.address,
            "action": self.action,
            "target": self.target,
            "outcome": self.outcome,
            "detail": self.detail,
        }


class Trail:
    def __init__(self, store: AccountStore, retention_days: float) -> None:
        self.store = store
        self.retention_ms = int(retention_days * DAY_MS)

    def record(
        self,
        who: str,
        action: str,
        *,
        role: str = "",
        address: str = "",
        target: str = "",
        outcome: Outcome = Outcome.OK,
        detail: dict[str, Any] | None = None,
    ) -> None:
        fields = {
            "who": who,
            "role": role,
            "address": address,
            "action": action,
            "target": target,
            "outcome": outcome.value,
            "detail": json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
        }
        self.store.append_audit(fields, self.store.now_ms() - self.retention_ms)

    def entries(
        self, *, since_ms: int | None = None, who: str | None = None, limit: int = PAGE
    ) -> list[Entry]:
        """Newest first: at most `limit` entries from `since_ms` on, by `who` if named."""
        if since_ms is None and who is None:
            raw = self.store.latest_audit(limit)
        else:
            found = self.store.audit_entries(since_ms)
            raw = [(i, f) for i, f in found if who in (None, f.get("who"))][-limit:][::-1]
        return [_entry(entry_id, fields) for entry_id, fields in raw]


def _entry(entry_id: str, fields: dict[str, str]) -> Entry:
    try:
        detail = json.loads(fields.get("detail") or "{}")
    except ValueError:
        detail = {}
    return Entry(
        id=entry_id,
        at_ms=int(entry_id.split("-")[0]),
        who=fields.get("who", ""),
        role=fields.get("role", ""),
        address=fields.get("address", ""),
        action=fields.get("action", ""),
        target=fields.get("target", ""),
        outcome=fields.get("outcome", ""),
        detail=detail,
    )


def parse_since(text: str, now_ms: int) -> int:
    """Epoch ms of `--since`: an age (30m, 12h, 7d) or a date/time in UTC (2026-12-01,
    2026-12-01T09:30). Raises ValueError with the reason."""
    text = text.strip()
    relative = _RELATIVE.fullmatch(text)
    if relative:
        return now_ms - int(float(relative[1]) * _UNIT_MS[relative[2]])
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is neither an age (30m, 12h, 7d) nor a date (2026-12-01T09:30)"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return int(when.timestamp() * 1000)
