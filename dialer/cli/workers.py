"""`dialer workers`: the worker processes of this namespace, from their heartbeats."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from dataclasses import asdict

from dialer.campaign.activity import format_duration
from dialer.engine import open_engine
from dialer.settings import Settings
from dialer.worker.monitor import live_workers


def cmd_workers(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    now = engine.now_ms()
    workers = live_workers(engine)
    if args.json:
        doc = {
            "workers_alive": workers.alive,
            "last_seen_ms": workers.last_seen_ms,
            "workers": [{**asdict(w), "queues": list(w.queues)} for w in workers.live],
        }
        print(json.dumps(doc, ensure_ascii=False))
        return 0
    if not workers.live:
        if workers.last_seen_ms is None:
            print("no live workers: none has been seen in this namespace")
        else:
            when = dt.datetime.fromtimestamp(workers.last_seen_ms / 1000).astimezone()
            print(f"no live workers since {when:%Y-%m-%d %H:%M:%S %Z}")
        return 0
    print(
        f"{workers.alive} live worker{'s' if workers.alive != 1 else ''} "
        f"({len(workers.healthy)} healthy):"
    )
    for w in workers.live:
        health = "healthy" if w.healthy else f"UNHEALTHY ({w.reason})"
        room = f"/{w.concurrency}" if w.concurrency else ""
        print(
            f"  {w.name}  pid {w.pid} on {w.host}  queues {','.join(w.queues) or '-'}  "
            f"{health}  {w.in_flight}{room} calls in flight  "
            f"up {format_duration((now - w.started_at_ms) / 1000)}, "
            f"seen {format_duration(max(0, now - w.seen_at_ms) / 1000)} ago"
        )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("workers", help="the worker processes alive, healthy or why not")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_workers)
