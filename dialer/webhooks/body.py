"""The JSON body of an event, as every delivery of it sends it (the same bytes each time, so
a receiver verifies exactly what was signed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dialer.engine.events import EventStore, OutboxEvent


def event_body(events: EventStore, event: OutboxEvent) -> bytes:
    """id, type, timestamp, campaign, row, seq (per row, from 1), attempt, occurred_at (Redis
    clock, UTC), the row's caller, callee and the sheet's own columns, and the type's data."""
    at = datetime.fromtimestamp(event.occurred_at_ms / 1000, tz=UTC)
    occurred = at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    body: dict[str, Any] = {
        "id": event.id,
        "type": event.type,
        "timestamp": occurred,
        "campaign": event.campaign,
        "row": event.row,
        "seq": event.seq,
        "attempt": event.attempt,
        "occurred_at": occurred,
        "occurred_at_ms": event.occurred_at_ms,
    }
    if event.row is not None:
        if event.attempt is None:  # a row cancelled or capped: the attempts it had used
            body["attempt"] = events.attempts(event.campaign, event.row)
        body.update(events.sheet_columns(event.campaign, event.row))
    body["data"] = event.data
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
