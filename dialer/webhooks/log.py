"""A campaign's webhooks as the operator sees them (`dialer webhooks`, the console, the API,
`dialer status`): each endpoint's state, the recent deliveries, and redelivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dialer.engine.events import GLOBAL, EventStore, WebhookEndpoint
from dialer.errors import OptionError
from dialer.options.values import horizon
from dialer.settings import Settings
from dialer.times import zone
from dialer.webhooks.endpoints import global_endpoint

RECENT = 50


@dataclass(frozen=True)
class EndpointView:
    id: str
    url: str  # scheme, host, port and path: a query may carry a token
    events: list[str]
    failures: int
    disabled: str  # Webhook.Gone (410), Webhook.Failing (failures in a row); empty: enabled
    disabled_at_ms: int | None
    delivered: int = 0
    pending: int = 0
    held: int = 0  # waiting for a redelivery: the endpoint was disabled
    given_up: int = 0
    gone: int = 0
    paused: bool = False  # failing in a row: its deliveries wait for a probe to get through


@dataclass(frozen=True)
class WebhooksView:
    campaign: str
    endpoints: list[EndpointView]
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # newest first

    def as_dict(self) -> dict[str, Any]:
        return {
            "campaign": self.campaign,
            "endpoints": [asdict(e) for e in self.endpoints],
            "deliveries": self.deliveries,
        }

    @property
    def disabled(self) -> list[EndpointView]:
        return [e for e in self.endpoints if e.disabled]


def shown_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def all_endpoints(events: EventStore, settings: Settings, cid: str) -> list[WebhookEndpoint]:
    found = events.endpoints(cid)
    glob = global_endpoint(settings)
    return [*found, glob] if glob else found


def webhooks_view(
    events: EventStore, settings: Settings, cid: str, recent: int = RECENT
) -> WebhooksView:
    deliveries = events.deliveries(cid)
    times = events.event_times(cid)
    tally: dict[str, dict[str, int]] = {}
    rows = []
    for key, d in deliveries.items():
        event_id, _, eid = key.rpartition("|")
        state = str(d.get("state"))
        tally.setdefault(eid, {}).setdefault(state, 0)
        tally[eid][state] += 1
        last = d.get("last") or {}
        rows.append(
            {
                "event": event_id,
                "endpoint": eid,
                "state": state,
                "attempts": d.get("attempts", 0),
                "occurred_at_ms": times.get(event_id),
                "last_at_ms": last.get("at"),
                "last_status": last.get("status"),
                "latency_ms": last.get("latency_ms"),
                "last_error": last.get("error", ""),
                "next_at_ms": d.get("next_at") if state == "pending" else None,
            }
        )
    rows.sort(key=lambda r: (r["occurred_at_ms"] or 0, r["event"]), reverse=True)
    endpoints = []
    for e in all_endpoints(events, settings, cid):
        st = events.endpoint_state(cid, e.id)
        t = tally.get(e.id, {})
        endpoints.append(
            EndpointView(
                e.id,
                shown_url(e.url),
                list(e.events),
                st.failures,
                st.disabled,
                st.disabled_at_ms,
                t.get("delivered", 0),
                t.get("pending", 0),
                t.get("held", 0),
                t.get("given_up", 0),
                t.get("gone", 0),
                paused=st.paused,
            )
        )
    return WebhooksView(cid, endpoints, rows[:recent])


def parse_since(text: str, timezone: str, now_ms: int) -> int:
    """'2h' (that long ago), or a time '2026-12-04 10:00' (in the campaign's zone unless it
    names an offset): epoch ms."""
    raw = text.strip()
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        try:
            return now_ms - int(horizon(raw) * 1000)
        except Exception:
            raise OptionError(
                "--since", f"{raw!r} is neither a time (2026-12-04 10:00) nor a duration (2h, 30m)"
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone(timezone))
    return int(moment.timestamp() * 1000)


def redeliver(
    events: EventStore,
    settings: Settings,
    cid: str,
    *,
    event_ids: Sequence[str] = (),
    since_ms: int | None = None,
    endpoint: str | None = None,
) -> int:
    """Deliver events again (the given ones, or every one since `since_ms`) to every endpoint
    (or one); an endpoint disabled before is enabled again: the operator says it is back.
    Returns the deliveries queued."""
    targets = [e.id for e in all_endpoints(events, settings, cid)]
    if endpoint is not None:
        if endpoint not in targets:
            raise OptionError("--endpoint", f"campaign {cid} has no webhook endpoint {endpoint!r}")
        targets = [endpoint]
    times = events.event_times(cid, since_ms or 0)
    wanted = [e for e in event_ids if e in times] if event_ids else list(times)
    if event_ids and not wanted:
        raise OptionError("--redeliver", f"campaign {cid} keeps no event {event_ids[0]!r}")
    for eid in targets:
        if events.endpoint_state(cid, eid).disabled:
            events.enable(cid, eid)
    return events.redeliver(cid, [(e, eid) for e in wanted for eid in targets])


__all__ = ["GLOBAL", "WebhooksView", "parse_since", "redeliver", "webhooks_view"]
