"""`dialer audit`: the audit trail on the terminal."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence

from dialer.accounts.audit import PAGE, parse_since
from dialer.cli.manage import table
from dialer.cli.trail import open_trail
from dialer.errors import OptionError
from dialer.settings import Settings


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    trail = open_trail(settings)
    since_ms = None
    if args.since:
        try:
            since_ms = parse_since(args.since, trail.store.now_ms())
        except ValueError as exc:
            raise OptionError("--since", str(exc)) from None
    entries = trail.entries(since_ms=since_ms, who=args.who, limit=args.limit)
    if args.json:
        print(json.dumps([e.as_dict() for e in entries], ensure_ascii=False))
        return 0
    if not entries:
        print("no audit entries")
        return 0
    rows: list[Sequence[str]] = []
    for e in entries:
        at = e.as_dict()["at"]
        detail = ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items()))
        rows.append((at, e.who or "?", e.role, e.address, e.action, e.target, e.outcome, detail))
    print(
        table(
            ("when (UTC)", "who", "role", "address", "action", "target", "outcome", "detail"), rows
        )
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("audit", help="the audit trail: who changed what, when, from where")
    p.add_argument(
        "--since",
        metavar="WHEN",
        help="an age (30m, 12h, 7d) or a UTC date/time (2026-12-01, 2026-12-01T09:30)",
    )
    p.add_argument("--who", help="only this account (or OS user, for shell commands)")
    p.add_argument("--limit", type=int, default=PAGE, help=f"at most N entries (default {PAGE})")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_audit)
