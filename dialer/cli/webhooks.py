"""`dialer webhooks ID`: a campaign's webhook endpoints and recent deliveries; redeliver."""

from __future__ import annotations

import argparse
import json

from dialer.cli.manage import table
from dialer.engine import open_events, open_store
from dialer.settings import Settings
from dialer.times import shown
from dialer.webhooks.log import parse_since, redeliver, webhooks_view


def cmd_webhooks(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    campaign = store.campaign(args.id)  # CampaignNotFound: one line
    events = open_events(settings)
    if args.redeliver or args.since:
        since = (
            parse_since(args.since, campaign.settings.timezone, store.now_ms())
            if (args.since)
            else None
        )
        n = redeliver(
            events,
            settings,
            args.id,
            event_ids=args.redeliver or [],
            since_ms=since,
            endpoint=args.endpoint,
        )
        print(f"campaign {args.id}: {n} deliveries queued again")
        return 0
    view = webhooks_view(events, settings, args.id, recent=args.limit)
    if args.json:
        print(json.dumps(view.as_dict(), ensure_ascii=False))
        return 0
    if not view.endpoints:
        print(f"campaign {args.id} has no webhook endpoints")
        return 0
    tz = campaign.settings.timezone
    print(
        table(
            ("endpoint", "state", "failures", "delivered", "pending", "held", "given up", "url"),
            [
                (
                    e.id,
                    f"DISABLED ({e.disabled})"
                    if e.disabled
                    else "PAUSED (probing)"
                    if e.paused
                    else "enabled",
                    str(e.failures),
                    str(e.delivered),
                    str(e.pending),
                    str(e.held),
                    str(e.given_up),
                    e.url + (f"  events={','.join(e.events)}" if e.events else ""),
                )
                for e in view.endpoints
            ],
        )
    )
    if view.deliveries:
        print()
        print(
            table(
                ("occurred", "event", "endpoint", "state", "tries", "status", "ms", "last error"),
                [
                    (
                        shown(d["occurred_at_ms"], tz),
                        d["event"],
                        d["endpoint"],
                        d["state"],
                        str(d["attempts"]),
                        str(d["last_status"] or ""),
                        str(d["latency_ms"] or ""),
                        d["last_error"] or "",
                    )
                    for d in view.deliveries
                ],
            )
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("webhooks", help="a campaign's webhook endpoints and deliveries; redeliver")
    p.add_argument("id")
    p.add_argument("--json", action="store_true")
    p.add_argument("--limit", type=int, default=50, help="recent deliveries shown (default 50)")
    p.add_argument(
        "--redeliver",
        action="append",
        metavar="EVENT_ID",
        help="deliver this event again (repeatable)",
    )
    p.add_argument(
        "--since", metavar="TIME", help="deliver every event since TIME again: 2h, 2026-12-04 10:00"
    )
    p.add_argument("--endpoint", metavar="ID", help="redeliver to this endpoint only")
    p.set_defaults(handler=cmd_webhooks)
